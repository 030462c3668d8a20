#!/bin/sh
# The sample corpus in data/sample/articles clusters as data/sample/labels.tsv says,
# with default options, and the same with one thread and with two.
# Usage: sh tests/scripts/sample_corpus.sh DEDUP  (from the repository root)
set -u
dedup=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dedup-sample.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
"$dedup" data/sample/articles >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 0 ] || { echo "exit status $rc"; cat "$tmp/err"; exit 1; }
awk -v prefix=data/sample/articles/ -f tests/scripts/partition.awk \
	data/sample/labels.tsv "$tmp/out" || { cat "$tmp/out"; exit 1; }
"$dedup" -j1 data/sample/articles >"$tmp/out1" 2>/dev/null
"$dedup" -j2 data/sample/articles >"$tmp/out2" 2>/dev/null
cmp -s "$tmp/out" "$tmp/out1" && cmp -s "$tmp/out" "$tmp/out2" ||
	{ echo "output depends on the thread count"; exit 1; }
