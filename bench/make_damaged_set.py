#!/usr/bin/env python3
"""Make a half-damaged copy of a folder of articles, for timing repair.

usage: python3 bench/make_damaged_set.py --out DIR [--seed S] [--cp1252 R] SRC...

Every regular file under each SRC (walked in sorted order, names starting
with "." skipped) is written twice: as it is to DIR/clean/<n>-<name> and
damaged to DIR/damaged/<n>-<name>, <n> being the index of its SRC. So half
of the output is damaged, as in the folders issue 3 speaks of. The damage
is what scraped news text carries (the kinds bench/gen_corpus.py makes):

  - a share R (--cp1252, default 0.25 as in gen_corpus.py): stored as
    Windows-1252 bytes (what it cannot hold, such as emoji, becomes "?");
    those that are not ASCII are not UTF-8, and the repair asks ICU's
    charset detection what they are;
  - the others: mojibake, the UTF-8 bytes read as Windows-1252 and saved
    again as UTF-8 (bytes Windows-1252 leaves undefined kept as C1
    controls), once (5 in 8), twice (2 in 8) or three times (1 in 8), as
    tests/unit/damage.h draws its chains.

The output is a function of the input files and the seed. Python 3
standard library only. DIR is refused if it exists and is not empty.
"""
import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_corpus import mojibake  # noqa: E402


def files_under(root):
    if os.path.isfile(root):
        yield root
        return
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            p = os.path.join(dirpath, name)
            if not name.startswith(".") and os.path.isfile(p):
                yield p


def damage(rnd, text, cp1252):
    if rnd.random() < cp1252:
        return text.encode("cp1252", errors="replace")
    roll = rnd.randrange(8)
    for _ in range(1 if roll < 5 else 2 if roll < 7 else 3):
        text = mojibake(text)
    return text.encode("utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cp1252", type=float, default=0.25)
    ap.add_argument("src", nargs="+")
    args = ap.parse_args()
    if os.path.isdir(args.out) and os.listdir(args.out):
        sys.exit(f"make_damaged_set.py: '{args.out}' exists and is not empty")
    rnd = random.Random(args.seed)
    for sub in ("clean", "damaged"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    n = nbytes = 0
    for k, src in enumerate(args.src):
        for path in files_under(src):
            with open(path, "rb") as f:
                raw = f.read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                print(f"make_damaged_set.py: skipped '{path}': not UTF-8",
                      file=sys.stderr)
                continue
            name = f"{k}-{os.path.basename(path)}"
            bad = damage(rnd, text, args.cp1252)
            for sub, data in (("clean", raw), ("damaged", bad)):
                with open(os.path.join(args.out, sub, name), "wb") as f:
                    f.write(data)
                nbytes += len(data)
            n += 2
    print(f"{n} files, {nbytes} bytes in {args.out}")


if __name__ == "__main__":
    main()
