#!/bin/sh
# Hostile file contents (issue 8): one 8 MB line over a lowered
# --max-doc-size (message, exit 1, the other files still processed, memory
# not growing with the file), a 0-byte file (warning, exit 0), a NUL-filled
# file and random bytes (binary: a message naming the file, exit 1), text
# that is almost UTF-8 (repaired and processed), a 2 MB line under the limit
# (processed), and procfs and sysfs files whose size stat() gets wrong.
# Usage: sh tests/scripts/hostile_inputs.sh DEDUP  (from the repository root)
set -u
dedup=$1
command -v python3 >/dev/null || { echo "no python3: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dedup-hostile.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# Two small articles of our own, so that every run has documents to keep.
mkdir "$tmp/c"
cat >"$tmp/c/a.txt" <<'TXT'
The harbour board agreed on Tuesday to add two morning ferry crossings from
the spring, after residents of the island complained for years about the
single early boat. The extra sailings will cost about forty thousand a year.
TXT
cat >"$tmp/c/b.txt" <<'TXT'
Schools in the valley will stay closed on Friday because the river is
expected to burst its banks overnight, the district council said, asking
parents to keep children away from the footpaths along the water.
TXT
run() { # run NAME ARGS...: stdout in $tmp/NAME.out, stderr in .err, $rc
	name=$1
	shift
	"$dedup" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
}
listed() { grep -q "^$1	" "$tmp/$2.out"; }

# ---- a single huge line over the limit ----
# memory: peak RSS with the 8 MB file must stay near the run without it
# (sanitizer builds are skipped for this part: their allocator skews it)
python3 -c "
import sys
line = b'word ' * (8 * 1024 * 1024 // 5)
sys.stdout.buffer.write(line + b'\n')" >"$tmp/huge.txt" || exit 1
mkdir "$tmp/h" && cp "$tmp/c/a.txt" "$tmp/c/b.txt" "$tmp/h/" &&
	mv "$tmp/huge.txt" "$tmp/h/huge.txt"
run huge --max-doc-size 1M "$tmp/h"
[ "$rc" -eq 1 ] || fail "huge line: exit status $rc, want 1"
grep -q "huge.txt" "$tmp/huge.err" ||
	fail "huge line: no message naming the file: $(cat "$tmp/huge.err")"
listed "$tmp/h/a.txt" huge && listed "$tmp/h/b.txt" huge ||
	fail "huge line: the other files were not processed"
listed "$tmp/h/huge.txt" huge && fail "huge line: a record for the file"
if [ -x /usr/bin/time ] && ! grep -qa __asan_init "$dedup"; then
	/usr/bin/time -f %M -o "$tmp/rss1" "$dedup" --max-doc-size 1M \
		"$tmp/c" >/dev/null 2>&1
	/usr/bin/time -f %M -o "$tmp/rss2" "$dedup" --max-doc-size 1M \
		"$tmp/h" >/dev/null 2>&1
	r1=$(tail -1 "$tmp/rss1")
	r2=$(tail -1 "$tmp/rss2")
	# an 8 MB buffer would add 8192 KB; allow 4 MB of noise
	[ "$r2" -lt $((r1 + 4096)) ] ||
		fail "huge line: peak RSS $r2 KB, $r1 KB without the file"
fi
rm -rf "$tmp/h"

# ---- a 2 MB line under the limit: processed, in reasonable time ----
python3 -c "
import sys, random
random.seed(7)
w = 'the river council ferry budget school bridge market harbour winter'.split()
sys.stdout.write(' '.join(random.choice(w) for _ in range(400000)) + '\n')
" >"$tmp/c/long.txt"
run long "$tmp/c/long.txt"
[ "$rc" -eq 0 ] || fail "2 MB line: exit status $rc: $(cat "$tmp/long.err")"
listed "$tmp/c/long.txt" long || fail "2 MB line: no record"
rm -f "$tmp/c/long.txt"

# ---- a 0-byte file: a warning, exit 0 ----
: >"$tmp/c/empty.txt"
run empty "$tmp/c"
[ "$rc" -eq 0 ] || fail "empty file: exit status $rc, want 0"
grep -q "warning: .*empty.txt" "$tmp/empty.err" ||
	fail "empty file: no warning naming it: $(cat "$tmp/empty.err")"
listed "$tmp/c/a.txt" empty || fail "empty file: other files not processed"
rm -f "$tmp/c/empty.txt"

# ---- a NUL-filled file: binary, a message naming it, exit 1 ----
head -c 65536 /dev/zero >"$tmp/c/zeros.txt"
run zeros "$tmp/c"
[ "$rc" -eq 1 ] || fail "NUL-filled file: exit status $rc, want 1"
grep -q "zeros.txt" "$tmp/zeros.err" ||
	fail "NUL-filled file: message does not name the file: $(cat "$tmp/zeros.err")"
listed "$tmp/c/zeros.txt" zeros && fail "NUL-filled file: a record for it"
listed "$tmp/c/a.txt" zeros || fail "NUL-filled: other files not processed"
rm -f "$tmp/c/zeros.txt"

# ---- random bytes, with NULs and without: refused by name or processed ----
python3 -c "
import random, sys
r = random.Random(8)
sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(65536)))
" >"$tmp/c/random.bin"
python3 -c "
import random, sys
r = random.Random(9)
sys.stdout.buffer.write(bytes(r.randrange(1, 256) for _ in range(65536)))
" >"$tmp/c/random-nonul.bin"
run random "$tmp/c"
[ "$rc" -le 1 ] || fail "random bytes: exit status $rc"
grep -q "random.bin" "$tmp/random.err" ||
	fail "random bytes: message does not name the file: $(cat "$tmp/random.err")"
if ! listed "$tmp/c/random-nonul.bin" random; then
	grep -q "random-nonul.bin" "$tmp/random.err" ||
		fail "random bytes without NUL: neither processed nor named"
fi
listed "$tmp/c/b.txt" random || fail "random bytes: other files not processed"
rm -f "$tmp/c/random.bin" "$tmp/c/random-nonul.bin"

# ---- almost UTF-8: stray Latin-1 bytes, truncated and overlong sequences ----
python3 -c "
import sys
t = ('Le conseil r\u00e9gional a vot\u00e9 mardi un budget pour la r\u00e9novation '
     'des \u00e9coles et du th\u00e9\u00e2tre municipal. ').encode() * 20
t = t[:500] + b'caf\xe9 ' + t[500:900] + b'\xe2\x82 ' + t[900:1300] + \
    b'\xc0\xaf\xed\xa0\x80 ' + t[1300:] + b'\xf0\x9f\x98\n'
sys.stdout.buffer.write(t)" >"$tmp/c/almost.txt"
run almost "$tmp/c"
[ "$rc" -eq 0 ] || fail "almost UTF-8: exit status $rc: $(cat "$tmp/almost.err")"
listed "$tmp/c/almost.txt" almost || fail "almost UTF-8: no record"
"$dedup" clean "$tmp/c/almost.txt" >"$tmp/almost.clean" 2>&1
python3 -c "
import sys
sys.exit(0 if open(sys.argv[1], 'rb').read().decode('utf-8', 'strict') else 1)
" "$tmp/almost.clean" 2>/dev/null ||
	fail "almost UTF-8: 'dedup clean' output is not valid UTF-8"
rm -f "$tmp/c/almost.txt"

# ---- a file whose stat() size is wrong (procfs reports 0 bytes) ----
if [ -r /proc/self/status ]; then
	run proc /proc/self/status
	[ "$rc" -eq 0 ] || fail "procfs file: exit status $rc: $(cat "$tmp/proc.err")"
	listed /proc/self/status proc ||
		fail "procfs file: not read past its 0-byte size"
	grep -q "no text left" "$tmp/proc.err" &&
		fail "procfs file: read as empty"
fi

# ---- a file shorter than stat() says (sysfs reports 4096 bytes): what a
# file that shrinks while it is read looks like to the reader ----
sysf=/sys/kernel/mm/transparent_hugepage/enabled
if [ -r "$sysf" ] && [ "$(wc -c <"$sysf")" -lt 4096 ]; then
	"$dedup" clean --no-strip "$sysf" >"$tmp/sys.out" 2>"$tmp/sys.err"
	rc=$?
	[ "$rc" -eq 0 ] || fail "sysfs file: exit status $rc: $(cat "$tmp/sys.err")"
	cat "$sysf" | cmp -s "$tmp/sys.out" - ||
		fail "sysfs file: not its real (shorter) content"
fi

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
