#!/bin/sh
# File names with a newline, a tab, a carriage return, a backslash, control
# bytes and invalid UTF-8 (issue 8) round-trip through every output format:
# tsv and jsonl, newline- and NUL-terminated, and the --keep/--dups lists
# with -0. python3 undoes the documented escapes (output.h; jsonl with
# Python's surrogateescape) and compares with the names on disk, byte for
# byte. The same names go in through --files-from -0 too.
# Usage: sh tests/scripts/hostile_names.sh DEDUP  (from the repository root)
set -u
dedup=$1
command -v python3 >/dev/null || { echo "no python3: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dedup-hostile.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# Pairs of near-identical articles, so that both roles (keep, dup) and the
# cluster column carry odd names.
python3 - "$tmp/n" <<'PY' || { echo "cannot create the names: skipped"; exit 77; }
import os, sys
root = os.fsencode(sys.argv[1])
os.makedirs(root)
names = [b"new\nline.txt", b"tab\there.txt", b"cr\rret.txt", b"back\\slash.txt",
         b"ctrl\x01\x1b\x7f.txt", b"latin1-caf\xe9.txt", b"bad\xff\xfe.txt",
         "ünïcode-日本.txt".encode(), b"quote\"and'.txt", b"x\\n-not-newline.txt"]
texts = [
    "The night train to the coast will run again from May after a pause of "
    "three years, the rail company said on Monday, with four stops.",
    "Fishermen in the bay report the largest catch of herring in a decade, "
    "and the market hall has extended its opening hours to sell it.",
]
for i, n in enumerate(names):
    t = texts[i % 2] + (" Update %d." % (i // 2))
    with open(os.path.join(root, n), "w") as f:
        f.write(t + "\n")
PY

check() { # check FORMAT NUL FILE
	python3 - "$tmp/n" "$@" <<'PY'
import json, os, sys
root, fmt, nul, path = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
rootb = os.fsencode(root)
want = {os.path.join(rootb, n) for n in os.listdir(rootb)}
data = open(path, "rb").read()
term = b"\0" if nul else b"\n"
if not data.endswith(term):
    sys.exit("%s: output does not end with the record terminator" % fmt)
recs = data[:-1].split(term)

def tsv_unescape(s):
    out, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c != 0x5c:
            out.append(c); i += 1; continue
        e = s[i + 1:i + 2]
        if e in (b"t", b"n", b"r", b"\\"):
            out += {b"t": b"\t", b"n": b"\n", b"r": b"\r", b"\\": b"\\"}[e]
            i += 2
        elif e == b"x":
            out.append(int(s[i + 2:i + 4], 16)); i += 4
        else:
            raise ValueError("unknown escape \\%r" % e)
    return bytes(out)

got, clusters = [], []
for r in recs:
    if fmt == "tsv":
        f = r.split(b"\t")
        if len(f) != 4:
            sys.exit("tsv: %d fields in %r" % (len(f), r))
        r.decode("utf-8")  # escaped output is valid UTF-8
        got.append(tsv_unescape(f[0])); clusters.append(tsv_unescape(f[1]))
    elif fmt == "jsonl":
        o = json.loads(r.decode("utf-8"))
        got.append(o["path"].encode("utf-8", "surrogateescape"))
        clusters.append(o["cluster"].encode("utf-8", "surrogateescape"))
    else:
        got.append(r)
if fmt in ("tsv", "jsonl"):
    if set(got) != want:
        sys.exit("%s: paths differ:\n  extra %r\n  missing %r"
                 % (fmt, sorted(set(got) - want), sorted(want - set(got))))
    if not set(clusters) <= want:
        sys.exit("%s: cluster names not among the paths: %r"
                 % (fmt, sorted(set(clusters) - want)))
    if len(got) != len(want):
        sys.exit("%s: %d records for %d files" % (fmt, len(got), len(want)))
else:
    if not set(got) <= want or not got:
        sys.exit("%s: raw paths not among the files: %r"
                 % (fmt, sorted(set(got) - want)))
PY
}

fails=0
run() { # run NAME FORMAT NUL ARGS...
	name=$1 fmt=$2 nul=$3
	shift 3
	"$dedup" "$@" >"$tmp/$name" 2>"$tmp/$name.err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: $name: exit status $rc: $(cat "$tmp/$name.err")"
		fails=$((fails + 1))
	elif ! check "$fmt" "$nul" "$tmp/$name"; then
		echo "FAIL: $name: output does not round-trip"
		fails=$((fails + 1))
	fi
}
run tsv tsv 0 "$tmp/n"
run tsv0 tsv 1 -0 "$tmp/n"
run jsonl jsonl 0 -f jsonl "$tmp/n"
run jsonl0 jsonl 1 -0 -f jsonl "$tmp/n"
run keep0 keep 1 -0 --keep "$tmp/n"
run dups0 dups 1 -0 --dups "$tmp/n"

# The same names as a NUL-separated list read by --files-from.
python3 -c "
import os, sys
r = os.fsencode(sys.argv[1])
sys.stdout.buffer.write(b''.join(os.path.join(r, n) + b'\0'
                                 for n in sorted(os.listdir(r))))
" "$tmp/n" >"$tmp/names.list"
run list0 jsonl 1 -f jsonl -0 -T "$tmp/names.list"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
