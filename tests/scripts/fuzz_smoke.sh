#!/bin/sh
# Short runs of every libFuzzer target (tests/fuzz/, issue 8): each target
# first replays its committed corpus (seeds and kept crash-* regression
# inputs), then fuzzes for FUZZ_SMOKE_SECONDS (default 10) seconds. Any
# crash, leak, sanitizer report, timeout (20 s per input) or failed property
# fails the test and prints the saved input.
#
# The targets come from a fuzz build (clang, see tests/fuzz/README.md):
# $DEDUP_FUZZ_BUILD, else build-fuzz/ in the repository. Without one the
# test is skipped (77).
# Usage: sh tests/scripts/fuzz_smoke.sh [DEDUP]  (from the repository root;
# the dedup argument of script tests is not used)
set -u
dir=${DEDUP_FUZZ_BUILD:-build-fuzz}
[ -d "$dir/tests/fuzz" ] && dir=$dir/tests/fuzz
secs=${FUZZ_SMOKE_SECONDS:-10}
found=0
for t in "$dir"/fuzz_*; do
	[ -x "$t" ] && found=1
done
[ "$found" -eq 1 ] || { echo "no fuzz build in '$dir': skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dedup-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
for t in "$dir"/fuzz_*; do
	[ -x "$t" ] || continue
	name=${t##*/fuzz_}
	seeds=tests/fuzz/corpus/$name
	mkdir -p "$tmp/$name/work" "$tmp/$name/art"
	# New inputs go to a scratch corpus, never into the repository.
	set -- "$tmp/$name/work"
	[ -d "$seeds" ] && set -- "$@" "$seeds"
	"$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
		-artifact_prefix="$tmp/$name/art/" -print_final_stats=1 \
		"$@" >"$tmp/$name.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$name.log")
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: fuzz_$name (exit status $rc):"
		grep -E "ERROR|SUMMARY|check failed|^(fast|icu)|in .*/src/" \
			"$tmp/$name.log" | head -20
		for a in "$tmp/$name/art"/*; do
			[ -f "$a" ] || continue
			echo "input ($(wc -c <"$a") bytes), base64:"
			head -c 4096 "$a" | base64
		done
		fails=$((fails + 1))
	else
		echo "fuzz_$name: ${runs:-?} runs in ${secs}s"
	fi
done
[ "$fails" -eq 0 ] || { echo "$fails target(s) failed"; exit 1; }
echo "ok"
