#!/bin/sh
# SIGINT and SIGTERM during a run that updates an index (issue 8): the
# index is the old one or the new one, never half-written, and no
# temporary file ("INDEX.tmp") is left behind. The signal (TERM and INT
# in turn) arrives at six moments spread over the time of a whole run of
# 40 small documents, from start-up to the commit. Skipped (77) while the
# program has no --index option.
# Usage: sh tests/scripts/hostile_signals.sh DEDUP  (from the repository root)
set -u
dedup=$1
"$dedup" --help 2>/dev/null | grep -q -- '--index' ||
	{ echo "no --index option: skipped"; exit 77; }
command -v python3 >/dev/null || { echo "no python3: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dedup-hostile.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

python3 - "$tmp" <<'PY' || exit 1
import os, random, sys
r = random.Random(11)
w = ["w%04d" % i for i in range(3000)]
for night, n in (("night1", 40), ("night2", 40), ("night3", 1)):
    d = os.path.join(sys.argv[1], night)
    os.makedirs(d)
    for i in range(n):
        with open(os.path.join(d, "doc%04d.txt" % i), "w") as f:
            f.write(" ".join(r.choice(w) for _ in range(150)) + ".\n")
PY
ix=$tmp/seen.idx
"$dedup" -q --index "$ix" "$tmp/night1" >/dev/null 2>"$tmp/err" ||
	{ cat "$tmp/err"; echo "FAIL: first night"; exit 1; }
cp "$ix" "$tmp/old.idx"

# The time of an uninterrupted run sets the moments: kills at 0/4 to 5/4
# of it, so that some land in the commit whatever the build.
now() { python3 -c 'import time; print("%.3f" % time.time())'; }
cp "$tmp/old.idx" "$tmp/ref.idx"
t0=$(now)
"$dedup" -q --index "$tmp/ref.idx" "$tmp/night2" >/dev/null 2>&1
t1=$(now)
k=0
while [ $k -le 5 ]; do
	delay=$(python3 -c "print('%.3f' % (($t1 - $t0) * $k / 4))")
	sig=TERM
	[ $((k % 2)) -eq 1 ] && sig=INT
	cp "$tmp/old.idx" "$ix"
	"$dedup" -q --index "$ix" "$tmp/night2" >/dev/null 2>"$tmp/err" &
	pid=$!
	sleep "$delay"
	kill -s "$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -e "$ix.tmp" ] &&
		fail "SIG$sig after ${delay}s: '$ix.tmp' left behind"
	rm -f "$ix.tmp"
	if ! cmp -s "$ix" "$tmp/old.idx"; then
		# not the old index: then a complete new one (a commit checks
		# every section of the file it replaces)
		"$dedup" -q --index "$ix" "$tmp/night3" >/dev/null \
			2>"$tmp/err2" ||
			fail "SIG$sig after ${delay}s: index unusable: $(cat "$tmp/err2")"
	fi
	k=$((k + 1))
done

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
