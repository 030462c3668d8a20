#!/bin/sh
# SIGINT and SIGTERM during a run that updates an index (issue 8): the
# index is the old one or the new one, never half-written, and no
# temporary file ("INDEX.tmp") is left behind. The signal arrives at a
# spread of moments, from start-up to the commit. Skipped (77) while the
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
for night, n in (("night1", 200), ("night2", 600)):
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

for delay in 0 0.02 0.05 0.1 0.2 0.3 0.5 0.8 1.2 2; do
	for sig in TERM INT; do
		cp "$tmp/old.idx" "$ix"
		"$dedup" -q --index "$ix" "$tmp/night2" >/dev/null 2>"$tmp/err" &
		pid=$!
		sleep "$delay"
		kill -s "$sig" "$pid" 2>/dev/null
		wait "$pid"
		[ -e "$ix.tmp" ] &&
			fail "SIG$sig after ${delay}s: '$ix.tmp' left behind"
		rm -f "$ix.tmp"
		if ! cmp -s "$ix" "$tmp/old.idx"; then
			# not the old index: then a complete, readable new one
			"$dedup" -q --index "$ix" "$tmp/night2" >/dev/null \
				2>"$tmp/err2" ||
				fail "SIG$sig after ${delay}s: index unusable: $(cat "$tmp/err2")"
		fi
	done
done

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
