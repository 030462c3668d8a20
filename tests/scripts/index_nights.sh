#!/bin/sh
# The persistent index from the command line: two nights of the sample
# corpus group as data/sample/labels.tsv says (as one run over both does); a
# repeated night adds nothing; the lock; refused settings; damaged and
# foreign files are reported and left as they were.
# Usage: sh tests/scripts/index_nights.sh DEDUP  (from the repository root)
# Skipped (77) while the program has no --index option.
set -u
dedup=$1
"$dedup" --help 2>/dev/null | grep -q -- '--index' ||
	{ echo "no --index option: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dedup-index.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "$*"; exit 1; }

# Alternate the articles between two nights, so that each event has reports
# on both nights.
mkdir "$tmp/night1" "$tmp/night2" || exit 1
i=0
for f in data/sample/articles/*.txt; do
	i=$((i + 1))
	cp "$f" "$tmp/night$((i % 2 + 1))/" || exit 1
done
ix=$tmp/seen.idx

"$dedup" --index "$ix" "$tmp/night1" >"$tmp/out1" 2>"$tmp/err" ||
	{ cat "$tmp/err"; fail "night 1 failed"; }
[ -s "$ix" ] || fail "night 1 wrote no index"
"$dedup" --index "$ix" "$tmp/night2" >"$tmp/out2" 2>"$tmp/err" ||
	{ cat "$tmp/err"; fail "night 2 failed"; }
# Records of both nights, with the night directories taken off both the
# path and the cluster column: one partition to compare with the labels.
cat "$tmp/out1" "$tmp/out2" | sed "s|$tmp/night[12]/||g" >"$tmp/both"
awk -v prefix= -f tests/scripts/partition.awk data/sample/labels.tsv \
	"$tmp/both" || { cat "$tmp/both"; fail "nights group differently"; }
# Night 2 prints records for night 2's documents only.
grep -q "^$tmp/night1/" "$tmp/out2" && fail "night 2 printed night 1"

# The same night again: the index does not change, the records are the same.
cp "$ix" "$tmp/before"
"$dedup" --index "$ix" "$tmp/night2" >"$tmp/out2b" 2>"$tmp/err" ||
	{ cat "$tmp/err"; fail "repeated night failed"; }
cmp -s "$ix" "$tmp/before" || fail "a repeated night changed the index"
cmp -s "$tmp/out2" "$tmp/out2b" || fail "a repeated night printed otherwise"

# One writer: a held lock fails at once, --wait waits for it.
flock "$ix.lock" sleep 2 &
holder=$!
sleep 0.5
"$dedup" --index "$ix" "$tmp/night2" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc != 0 ] || fail "ran while the index was locked"
grep -q "is locked by another dedup run" "$tmp/err" ||
	{ cat "$tmp/err"; fail "no lock message"; }
"$dedup" --index "$ix" --wait "$tmp/night2" >/dev/null 2>"$tmp/err" ||
	{ cat "$tmp/err"; fail "--wait did not get the lock"; }
wait $holder

# Other settings are refused and change nothing.
"$dedup" --level copy --index "$ix" "$tmp/night2" >/dev/null 2>"$tmp/err" &&
	fail "an event index was used at the copy level"
grep -q "was built with --level event" "$tmp/err" ||
	{ cat "$tmp/err"; fail "no settings message"; }
cmp -s "$ix" "$tmp/before" || fail "a refused run changed the index"

# A flipped byte, a truncation, a foreign file: reported, left as they were.
size=$(wc -c <"$ix")
cp "$ix" "$tmp/bad"
printf 'Z' | dd of="$tmp/bad" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
cp "$tmp/bad" "$tmp/bad.copy"
"$dedup" --index "$tmp/bad" "$tmp/night2" >/dev/null 2>"$tmp/err" &&
	fail "a corrupt index was used"
grep -q "corrupt" "$tmp/err" || { cat "$tmp/err"; fail "no corrupt message"; }
cmp -s "$tmp/bad" "$tmp/bad.copy" || fail "a corrupt index was modified"
head -c $((size - 7)) "$ix" >"$tmp/short"
"$dedup" --index "$tmp/short" "$tmp/night2" >/dev/null 2>"$tmp/err" &&
	fail "a truncated index was used"
grep -q "truncated" "$tmp/err" || { cat "$tmp/err"; fail "no truncated message"; }
[ "$(wc -c <"$tmp/short")" = $((size - 7)) ] || fail "truncated index modified"
printf 'a few words of plain text\n' >"$tmp/foreign"
"$dedup" --index "$tmp/foreign" "$tmp/night2" >/dev/null 2>"$tmp/err" &&
	fail "a foreign file was used as an index"
grep -q "is not a dedup index" "$tmp/err" ||
	{ cat "$tmp/err"; fail "no foreign message"; }
[ "$(cat "$tmp/foreign")" = "a few words of plain text" ] ||
	fail "a foreign file was modified"

# Statistics and compaction.
"$dedup" index stats "$ix" >"$tmp/stats" 2>"$tmp/err" ||
	{ cat "$tmp/err"; fail "index stats failed"; }
grep -q 13 "$tmp/stats" || { cat "$tmp/stats"; fail "stats do not show 13 entries"; }
"$dedup" index compact "$ix" 2>"$tmp/err" ||
	{ cat "$tmp/err"; fail "index compact failed"; }
"$dedup" --index "$ix" "$tmp/night2" >"$tmp/out2c" 2>/dev/null ||
	fail "the compacted index does not open"
cmp -s "$tmp/out2" "$tmp/out2c" || fail "compaction changed the records"
exit 0
