#!/bin/sh
# Acceptance on the seed articles beside the repository (../shared/seeds):
# 000 to 003 report one event and form one cluster, 004 stands alone.
# Skipped (77) where ../shared is absent.
set -u
dedup=$1
seeds=../shared/seeds
[ -f "$seeds/labels.tsv" ] || { echo "no $seeds: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dedup-seeds.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
"$dedup" "$seeds" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
awk -v prefix="$seeds/" -f tests/scripts/partition.awk \
	"$seeds/labels.tsv" "$tmp/out" || { cat "$tmp/out"; exit 1; }
# Seed 000 is UTF-8 read as Windows-1254: cleaned, no mojibake is left.
"$dedup" clean "$seeds"/000_*.txt >"$tmp/clean" || exit 1
if grep -n 'â€\|Ã\|Â\|ðŸ\|ğŸ' "$tmp/clean"; then
	echo "mojibake left in seed 000"
	exit 1
fi
# ... and its body is there: the article has over a dozen long paragraphs.
long=$(awk 'length($0) >= 80' "$tmp/clean" | wc -l)
[ "$long" -ge 12 ] || { echo "article body lost from seed 000 ($long long lines)"; exit 1; }
