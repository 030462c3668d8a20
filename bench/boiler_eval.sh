#!/bin/sh
# boiler_eval.sh - score boilerplate stripping on ../shared/corpora/boiler_dev.
#
#   bench/boiler_eval.sh [BUILD_DIR] [extra cleaner options...]
#
# Cleans pages/ and pages_glued/ into temporary directories and prints the
# F1 of score_boiler.py for each (pages_glued/ is scored with
# --input-variant textcontent). Uses `dedup clean --out-dir` when the CLI has
# it, else the bench_strip program. Exits 77 when ../shared is absent.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
shared=$root/../shared
set_dir=$shared/corpora/boiler_dev
score=$shared/eval/score_boiler.py
if [ ! -d "$set_dir/pages" ] || [ ! -f "$score" ]; then
	echo "boiler_eval: $set_dir not found, skipped" >&2
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

for variant in pages pages_glued; do
	case $variant in
	pages) extra= ;;
	*) extra="--input-variant textcontent" ;;
	esac
	src=$set_dir/$variant out=$tmp/$variant
	mkdir -p "$out"
	if [ -x "$build/dedup" ] && "$build/dedup" clean --help 2>/dev/null |
	   grep -q -- --out-dir; then
		"$build/dedup" clean --out-dir "$out" "$@" "$src"/*.txt >/dev/null
	else
		"$build/bench_strip" -o "$out" "$@" "$src" >/dev/null
	fi
	printf '%s: ' "$variant"
	# shellcheck disable=SC2086
	python3 "$score" "$out" --expect "$set_dir/expect.jsonl" $extra |
		grep -E "content kept|boilerplate removed|F1\(kept" | tr -s " \n" " "
	echo
done
