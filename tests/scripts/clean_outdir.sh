#!/bin/sh
# `dedup clean --out-dir` on several threads (issue 3): the folder written
# and the messages do not depend on the thread count (-j1, -j2 and -j3 give
# identical folders and stderr; on stdout the same text); files that cannot
# be read or written are each named once, in input order, the others are
# still written, and the status is 1; two inputs with the same relative
# path leave the later one's text whatever the thread count; '-' goes to
# stdout; -q silences warnings only; and SIGINT or SIGTERM while files are
# written leaves no temporary file in the output folder, whole files only.
# Usage: sh tests/scripts/clean_outdir.sh DEDUP  (from the repository root)
set -u
dedup=$1
command -v python3 >/dev/null || { echo "no python3: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dedup-clean.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# 300 small articles in three folders, one in four damaged (mojibake or
# Windows-1252 bytes), and three binary files among them.
python3 - "$tmp/c" <<'PY' || exit 1
import os, random, sys
root = sys.argv[1]
r = random.Random(3)
w = ("harbour ferry council budget school bridge market station café "
     "naïve “quoted” déjà résumé — Zürich").split()
for i in range(300):
    d = os.path.join(root, "part-%d" % (i % 3))
    os.makedirs(d, exist_ok=True)
    text = "\n".join(" ".join(r.choice(w) for _ in range(12)) + "."
                     for _ in range(r.randint(1, 8))) + "\n"
    k = i % 4
    if k == 1:
        data = text.encode("utf-8").decode("latin-1").encode("utf-8")
    elif k == 2:
        data = text.encode("cp1252", errors="replace")
    else:
        data = text.encode("utf-8")
    if i in (7, 150, 299):
        data = b"bin\0ary" + data
    with open(os.path.join(d, "doc%03d.txt" % i), "wb") as f:
        f.write(data)
PY

# ---- the thread count changes nothing ----
for j in 1 2 3; do
	"$dedup" clean --no-strip -j$j --out-dir "$tmp/o$j" "$tmp/c" \
		>"$tmp/o$j.out" 2>"$tmp/o$j.err"
	echo $? >"$tmp/o$j.rc"
	"$dedup" clean --no-strip -j$j "$tmp/c" >"$tmp/s$j.out" 2>"$tmp/s$j.err"
	echo $? >"$tmp/s$j.rc"
done
[ "$(cat "$tmp/o1.rc")" = 1 ] ||
	fail "binary files: exit status $(cat "$tmp/o1.rc"), want 1"
[ "$(grep -c . "$tmp/o1.err")" = 3 ] ||
	fail "binary files: want 3 messages: $(cat "$tmp/o1.err")"
for i in 007 150 299; do
	grep -q "doc$i.txt': NUL byte" "$tmp/o1.err" ||
		fail "binary file doc$i.txt not named: $(cat "$tmp/o1.err")"
done
n=$(find "$tmp/o1" -type f | wc -l)
[ "$n" -eq 297 ] || fail "-j1: $n files written, want 297"
for j in 2 3; do
	diff -r "$tmp/o1" "$tmp/o$j" >/dev/null ||
		fail "--out-dir: -j$j wrote other files than -j1"
	for f in o.rc o.err s.out s.err s.rc; do
		a=$tmp/${f%%.*}1.${f#*.} b=$tmp/${f%%.*}$j.${f#*.}
		cmp -s "$a" "$b" || fail "-j$j: ${f} differs from -j1"
	done
done
[ -s "$tmp/o1.out" ] && fail "--out-dir printed text on stdout"
# every file holds the text printed for it on stdout
python3 - "$tmp/c" "$tmp/o1" "$tmp/s1.out" <<'PY' || fail "out-dir and stdout disagree"
import os, sys
src, out, printed = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
for part in sorted(os.listdir(src)):
    for name in sorted(os.listdir(os.path.join(src, part))):
        p = os.path.join(out, part, name)
        if not os.path.exists(p):
            continue
        head = ("==> %s/%s/%s <==\n" % (src, part, name)).encode()
        i = printed.index(head) + len(head)
        j = printed.find(b"\n==> ", i)
        body = printed[i:] if j < 0 else printed[i:j]
        if open(p, "rb").read() != body:
            print("differs:", p)
            sys.exit(1)
        if b"\xc3\x83" in body:
            print("mojibake left in", p)
            sys.exit(1)
PY

# ---- files that cannot be written ----
# a directory where a file goes: that file fails, the others are written
mkdir -p "$tmp/w/part-1/doc001.txt" "$tmp/w/part-2/doc203.txt"
"$dedup" clean -q --no-strip -j2 --out-dir "$tmp/w" "$tmp/c" 2>"$tmp/w.err"
rc=$?
[ "$rc" -eq 1 ] || fail "unwritable files: exit status $rc, want 1"
grep -n "cannot write" "$tmp/w.err" >"$tmp/w.lines"
sed -n 1p "$tmp/w.lines" | grep -q "part-1/doc001.txt'" &&
	sed -n 2p "$tmp/w.lines" | grep -q "part-2/doc203.txt'" &&
	[ "$(wc -l <"$tmp/w.lines")" -eq 2 ] ||
	fail "unwritable files: want each named once, in order: $(cat "$tmp/w.err")"
[ "$(find "$tmp/w" -type f | wc -l)" -eq 295 ] ||
	fail "unwritable files: the others were not all written"
find "$tmp/w" -name '*.tmp*' | grep -q . &&
	fail "unwritable files: temporary files left"

# ---- two inputs, one output path: the later wins ----
mkdir -p "$tmp/x1/a" "$tmp/x2/a"
echo first >"$tmp/x1/a/same.txt"
echo second >"$tmp/x2/a/same.txt"
for j in 1 2; do
	"$dedup" clean --no-strip -j$j --out-dir "$tmp/x$j.o" "$tmp/x1" "$tmp/x2" \
		"$tmp/c/part-0" 2>/dev/null
	[ "$(cat "$tmp/x$j.o/a/same.txt")" = second ] ||
		fail "-j$j: one output path for two inputs: the later should win"
done

# ---- '-' goes to stdout; -q silences warnings, not errors ----
out=$(echo "from stdin" | "$dedup" clean --no-strip -j2 --out-dir "$tmp/d" - \
	"$tmp/c/part-0/doc000.txt")
[ "$out" = "from stdin" ] || fail "'-' with --out-dir: stdout is '$out'"
[ -f "$tmp/d/doc000.txt" ] || fail "'-' with --out-dir: the file was not written"
"$dedup" clean -q --no-strip -j2 --out-dir "$tmp/q" "$tmp/c" 2>"$tmp/q.err"
[ "$(grep -c . "$tmp/q.err")" = 3 ] || fail "-q: errors must stay: $(cat "$tmp/q.err")"

# ---- signals ----
# 2,000 files; SIGTERM and SIGINT in turn once the output folder holds 0,
# 1, 400, 800, 1,200 and 1,600 of them (counted, not timed, so that every
# kill lands while files are being written, whatever the machine's speed).
python3 - "$dedup" "$tmp" <<'PY' || fail "signals"
import os, signal, subprocess, sys, time
dedup, tmp = sys.argv[1], sys.argv[2]
src, full, out = (os.path.join(tmp, n) for n in ("big", "full", "sig"))
for i in range(2000):
    d = os.path.join(src, "p%d" % (i // 1000))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%04d.txt" % i), "w") as f:
        f.write("Item %d, caf\u00e9 and na\u00efve text.\n" % i * 20)
cmd = [dedup, "clean", "--no-strip", "-j2", "--out-dir"]
subprocess.run(cmd + [full, src], stderr=subprocess.DEVNULL, check=True)

def files(top):
    return [os.path.join(d, n) for d, _, ns in os.walk(top) for n in ns]

bad = 0
for k, at in enumerate((0, 1, 400, 800, 1200, 1600)):
    sig = signal.SIGINT if k % 2 else signal.SIGTERM
    subprocess.run(["rm", "-rf", out])
    p = subprocess.Popen(cmd + [out, src], stderr=subprocess.DEVNULL)
    while at and p.poll() is None and len(files(out)) < at:
        time.sleep(0.0005)
    ended = p.poll() is not None  # done before its moment: nothing to see
    p.send_signal(sig)
    p.wait()
    for f in files(out):
        whole = os.path.join(full, os.path.relpath(f, out))
        if ".tmp" in os.path.basename(f):
            print("%s at %d files: temporary file left: %s" % (sig.name, at, f))
            bad += 1
        elif open(f, "rb").read() != open(whole, "rb").read():
            print("%s at %d files: not whole: %s" % (sig.name, at, f))
            bad += 1
    if p.returncode != (0 if ended else -sig):
        print("%s at %d files: exit status %d" % (sig.name, at, p.returncode))
        bad += 1
sys.exit(1 if bad else 0)
PY

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
