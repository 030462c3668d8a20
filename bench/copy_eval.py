#!/usr/bin/env python3
"""Score `dedup --level copy` against exact word 5-shingle Jaccard.

usage: copy_eval.py CLEAN_DIR RESULT.tsv [--min 0.8] [--max-other 0.5]

CLEAN_DIR holds the documents as `dedup clean --out-dir` wrote them (the
text the clusterer sees); RESULT.tsv is `dedup --level copy` output for the
same documents. A pair is a copy when the Jaccard similarity of the two
documents' sets of word 5-shingles (lowercased \\w+ words) is at least
--min. Prints how many copy pairs dedup put in one cluster (recall), and
how many pairs it put together whose Jaccard is below --max-other (pairs
that are not even near copies).
"""
import itertools
import os
import re
import sys
from collections import defaultdict


def shingles(text, k=5):
    w = re.findall(r"\w+", text.lower())
    return {tuple(w[i:i + k]) for i in range(max(1, len(w) - k + 1))} if w else set()


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    clean_dir, result = argv[1], argv[2]
    jmin = float(argv[argv.index("--min") + 1]) if "--min" in argv else 0.8
    jother = float(argv[argv.index("--max-other") + 1]) if "--max-other" in argv else 0.5
    sh = {}
    for root, _, files in os.walk(clean_dir):
        for f in files:
            with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
                sh[f] = shingles(fh.read())
    cluster = {}
    with open(result, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            p = line.rstrip("\n").split("\t")
            cluster[os.path.basename(p[0])] = p[1]
    # candidate pairs: share at least one shingle (inverted index)
    post = defaultdict(list)
    for name, s in sh.items():
        for x in s:
            post[x].append(name)
    seen = set()
    copies = found = 0
    for names in post.values():
        if len(names) > 200:
            continue
        for a, b in itertools.combinations(sorted(names), 2):
            if (a, b) in seen:
                continue
            seen.add((a, b))
            A, B = sh[a], sh[b]
            j = len(A & B) / len(A | B) if A | B else 0
            if j >= jmin:
                copies += 1
                found += cluster.get(a) is not None and cluster.get(a) == cluster.get(b)
    together = bad = 0
    members = defaultdict(list)
    for name, c in cluster.items():
        members[c].append(name)
    for names in members.values():
        for a, b in itertools.combinations(sorted(names), 2):
            together += 1
            A, B = sh.get(a, set()), sh.get(b, set())
            j = len(A & B) / len(A | B) if A | B else 0
            bad += j < jother
    print(f"copy pairs (J >= {jmin}): {copies}, found {found}"
          f" (recall {found / copies if copies else 1:.4f})")
    print(f"pairs clustered: {together}, of which J < {jother}: {bad}")


if __name__ == "__main__":
    main(sys.argv)
