#!/bin/sh
# Golden CLI test: run one case and compare exit status, stdout and stderr.
#
#   run.sh [--update] DEDUP CASE_DIR
#
# CASE_DIR/cmd is a shell snippet run from the repository root with $DEDUP
# naming the binary under test and $TMP a fresh scratch directory. The
# expected results are CASE_DIR/rc (exit status), CASE_DIR/stdout and
# CASE_DIR/stderr. With --update they are rewritten from this run instead
# (review the diff before committing). A case needing ../shared that is not
# there exits 77 from its cmd: skipped.
update=0
if [ "$1" = "--update" ]; then
	update=1
	shift
fi
DEDUP=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dir=$2
[ -x "$DEDUP" ] && [ -f "$dir/cmd" ] || {
	echo "usage: run.sh [--update] DEDUP CASE_DIR" >&2
	exit 2
}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dedup-cli.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM
export DEDUP TMP
sh "$dir/cmd" >"$TMP/.stdout" 2>"$TMP/.stderr"
rc=$?
[ "$rc" = 77 ] && exit 77
if [ $update = 1 ]; then
	echo "$rc" >"$dir/rc"
	cp "$TMP/.stdout" "$dir/stdout"
	cp "$TMP/.stderr" "$dir/stderr"
	echo "updated $dir"
	exit 0
fi
fail=0
want=$(cat "$dir/rc")
if [ "$rc" != "$want" ]; then
	echo "exit status: got $rc, want $want"
	fail=1
fi
for s in stdout stderr; do
	if ! cmp -s "$TMP/.$s" "$dir/$s"; then
		echo "$s differs (expected, then got):"
		diff -u "$dir/$s" "$TMP/.$s" | head -40
		fail=1
	fi
done
exit $fail
