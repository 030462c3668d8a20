#!/bin/sh
# Score dedup's clustering of a labeled set (docs/ + labels.tsv, or a folder
# of files + labels.tsv) with ../shared/eval/eval_clusters.py.
#
#   sh bench/eval_clusters.sh [-b DEDUP] SET_DIR [DEDUP OPTIONS...]
#
# SET_DIR is e.g. ../shared/corpora/ecbplus_dev or ../shared/seeds. Prints
# the scorer's report (pairwise precision/recall/F1, ARI, B-cubed), the
# size of the largest predicted cluster and the CPU time of the run (with
# /usr/bin/time).
set -eu
dedup=./build/dedup
if [ "${1:-}" = "-b" ]; then
	dedup=$2
	shift 2
fi
set_dir=${1:?usage: eval_clusters.sh [-b DEDUP] SET_DIR [OPTIONS...]}
shift
scorer=$(dirname "$0")/../../shared/eval/eval_clusters.py
[ -f "$scorer" ] || scorer=../shared/eval/eval_clusters.py
docs=$set_dir/docs
[ -d "$docs" ] || docs=$set_dir
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dedup-eval.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cut -f1 "$set_dir/labels.tsv" | sed "s|^|$docs/|" >"$tmp/list"
# CPU time of the run (user + system), when /usr/bin/time is there: the
# per-document cost matters as much as the score
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f '%U %S' -o "$tmp/time" \
		"$dedup" -q "$@" --files-from "$tmp/list" >"$tmp/out"
else
	"$dedup" -q "$@" --files-from "$tmp/list" >"$tmp/out"
fi
# NAME<TAB>cluster with base names, as labels.tsv has them
awk -F'\t' '{ n = $1; sub(".*/", "", n); c = $2; sub(".*/", "", c); print n "\t" c }' \
	"$tmp/out" >"$tmp/pred.tsv"
python3 "$scorer" "$set_dir/labels.tsv" "$tmp/pred.tsv"
cut -f2 "$tmp/pred.tsv" | sort | uniq -c | sort -rn | head -1 |
	awk '{ print "largest predicted cluster: " $1 }'
[ -f "$tmp/time" ] && awk '{ printf "dedup CPU seconds: %.2f\n", $1 + $2 }' "$tmp/time"
exit 0
