#!/bin/sh
# Output errors (issue 8): writing to a full device (/dev/full) is an error
# with one message naming the cause and exit status 1, in every format and
# for `dedup clean`; a closed pipe (`dedup corpus | head -1`) ends quietly:
# no message on stderr, exit status 0 or 141 (SIGPIPE); and no message
# either when SIGPIPE is ignored (as under some CI runners and daemons: then
# EPIPE comes back from write() and is a closed pipe too; exit status 1 is
# allowed there).
# Usage: sh tests/scripts/hostile_output.sh DEDUP  (from the repository root)
set -u
dedup=$1
command -v python3 >/dev/null || { echo "no python3: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dedup-hostile.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# Enough records (3,000, some 300 KB of output) to overflow any pipe buffer.
python3 - "$tmp/c" <<'PY' || exit 1
import os, sys
root = sys.argv[1]
w = "harbour ferry council budget school bridge market station".split()
for i in range(3000):
    d = os.path.join(root, "part-%02d" % (i // 500))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "a-rather-long-file-name-%05d.txt" % i), "w") as f:
        f.write("Item %d: the %s met the %s on day %d.\n"
                % (i, w[i % 8], w[i * 3 % 8], i % 365))
PY

# ---- /dev/full ----
if [ -w /dev/full ]; then
	for args in "" "-f jsonl" "--keep" "-0"; do
		# shellcheck disable=SC2086
		"$dedup" -q $args "$tmp/c" >/dev/full 2>"$tmp/full.err"
		rc=$?
		[ "$rc" -eq 1 ] ||
			fail "/dev/full ($args): exit status $rc, want 1"
		grep -q "No space left on device" "$tmp/full.err" ||
			fail "/dev/full ($args): no message: $(cat "$tmp/full.err")"
		n=$(grep -c . "$tmp/full.err")
		[ "$n" -eq 1 ] ||
			fail "/dev/full ($args): $n lines on stderr, want 1"
		grep -q "cannot write output: cannot write output" \
			"$tmp/full.err" &&
			fail "/dev/full ($args): message repeats itself: $(cat "$tmp/full.err")"
	done
	"$dedup" clean "$tmp/c/part-00" >/dev/full 2>"$tmp/full.err"
	rc=$?
	[ "$rc" -eq 1 ] || fail "clean >/dev/full: exit status $rc, want 1"
	grep -q "No space left on device" "$tmp/full.err" ||
		fail "clean >/dev/full: no message: $(cat "$tmp/full.err")"
else
	echo "no writable /dev/full: that part skipped"
fi

# ---- a closed pipe ----
# The exit status of dedup is written to a file from inside the pipeline.
pipe() { # pipe NAME OK-STATUSES ARGS...
	name=$1 ok=$2
	shift 2
	{ "$dedup" "$@" 2>"$tmp/$name.err"; echo $? >"$tmp/$name.rc"; } |
		head -1 >"$tmp/$name.out"
	rc=$(cat "$tmp/$name.rc")
	[ -s "$tmp/$name.out" ] || fail "$name: no first record"
	case " $ok " in
	*" $rc "*) ;;
	*) fail "$name: exit status $rc, want one of $ok" ;;
	esac
	[ -s "$tmp/$name.err" ] &&
		fail "$name: message on a closed pipe: $(cat "$tmp/$name.err")"
}
pipe pipe-tsv "0 141" -q "$tmp/c"
pipe pipe-jsonl "0 141" -q -f jsonl "$tmp/c"
pipe pipe-clean "0 141" clean "$tmp/c"
# With SIGPIPE ignored (inherited across exec): EPIPE must stay quiet too.
trap '' PIPE
pipe pipe-nosig "0 1 141" -q "$tmp/c"
pipe pipe-nosig-clean "0 1 141" clean "$tmp/c"
trap - PIPE

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
