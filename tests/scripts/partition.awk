# Compare a dedup TSV result with a labels file as partitions.
#   awk -v prefix=DIR/ -f partition.awk LABELS RESULT
# LABELS: NAME<TAB>label. RESULT: dedup's TSV (path, cluster, role, score);
# `prefix` is stripped from result paths to get NAME. Prints every pair that
# is split or wrongly joined, and exits 1 if any.
BEGIN { FS = "\t" }
FNR == NR { if ($0 !~ /^#/ && NF >= 2) label[$1] = $2; next }
{
	name = $1; sub("^" prefix, "", name)
	cl[name] = $2
}
END {
	bad = 0
	for (a in label) {
		if (!(a in cl)) { print "missing from output: " a; bad = 1; continue }
		for (b in label) {
			if (a >= b || !(b in cl)) continue
			same_l = label[a] == label[b]; same_c = cl[a] == cl[b]
			if (same_l && !same_c) { print "split:  " a "  " b; bad = 1 }
			if (!same_l && same_c) { print "joined: " a "  " b; bad = 1 }
		}
	}
	exit bad
}
