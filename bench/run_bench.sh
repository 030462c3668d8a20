#!/bin/sh
# End-to-end speed, memory, thread scaling and clustering quality of dedup
# on synthetic corpora of several sizes (bench/gen_corpus.py).
#
#   sh bench/run_bench.sh [OPTIONS] SIZE...
#
#   -b DEDUP   the program to measure (default: build-bench/dedup, else
#              build/dedup); build it in Release
#   -d DIR     where corpora are generated and reused (default: out-bench)
#   -r RUNS    timed runs per setting, the best is kept (default: 3)
#   -j N       thread count of the main runs (default: none given, i.e.
#              dedup's default, the available cores)
#   -J         skip the -j1 runs (no thread scaling figure)
#   -E         skip the quality scoring
#   -s SEED    corpus seed (default: 1)
#   -g OPTS    more gen_corpus.py options, e.g. "--avg-bytes 4000"
#   -k         keep the corpora this script generated (default: delete them
#              at exit; corpora found already made are always kept)
#
# For each SIZE, the corpus DIR/cSIZE-sSEED is generated unless it exists
# with the same options (recorded next to it in DIR/cSIZE-sSEED.args).
# Each run is the whole command, start to exit, timed by /usr/bin/time:
#   dedup -q [-j N] --exclude '*.tsv' CORPUS > FILE
# The first run of a setting writes FILE (scored, and compared across thread
# counts: the output must not depend on them); the others write /dev/null.
#
# Columns: docs; MB of article files; best wall seconds; docs/s and MB/s
# from it; CPU seconds (user + system, least of the runs: the load moves
# them less than wall time); peak RSS in MiB (largest of the runs); RSS
# bytes per document beyond the previous size (the slope: what each extra
# document costs); seconds with -j1 and the speed-up (-j1 time / main
# time); whether the outputs are byte-identical; pairwise F1, ARI and
# B-cubed F1 of the event clusters against labels.tsv
# (../shared/eval/eval_clusters.py). Below the table: a least-squares line
# RSS = fixed + slope * docs over all sizes, the cost per document of the
# largest size relative to the smallest, the load average before and
# after, and how many CPUs a busy loop per core got (the machine is shared:
# note both with the figures; with fewer CPUs free than cores the speed-up
# cannot show).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
dedup=
dir="out-bench"
runs=3
jmain=
scale=1
quality=1
seed=1
genopts=
keep=0

usage() {
	sed -n '4,19s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while getopts b:d:r:j:JEs:g:kh opt; do
	case $opt in
	b) dedup=$OPTARG ;;
	d) dir=$OPTARG ;;
	r) runs=$OPTARG ;;
	j) jmain=$OPTARG ;;
	J) scale=0 ;;
	E) quality=0 ;;
	s) seed=$OPTARG ;;
	g) genopts=$OPTARG ;;
	k) keep=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || usage
for n in "$@" "$runs" "$seed" ${jmain:+"$jmain"}; do
	case $n in
	'' | *[!0-9]*) echo "run_bench.sh: not a number: '$n'" >&2; exit 2 ;;
	esac
done
[ "$runs" -ge 1 ] || { echo "run_bench.sh: -r must be at least 1" >&2; exit 2; }

if [ -z "$dedup" ]; then
	dedup=$root/build-bench/dedup
	[ -x "$dedup" ] || dedup=$root/build/dedup
fi
[ -x "$dedup" ] || { echo "run_bench.sh: no program '$dedup' (-b)" >&2; exit 2; }
[ -x /usr/bin/time ] ||
	{ echo "run_bench.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
scorer=$root/../shared/eval/eval_clusters.py
if [ "$quality" = 1 ] && [ ! -f "$scorer" ]; then
	echo "run_bench.sh: no scorer at '$scorer': quality not scored" >&2
	quality=0
fi

mkdir -p "$dir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dedup-bench.XXXXXX")
made=
cleanup() {
	rm -rf "$tmp"
	if [ "$keep" = 0 ]; then
		for c in $made; do
			rm -rf "$c" "$c.args"
		done
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Make (or reuse) the corpus of $1 documents into $c (not in a subshell:
# $made must remember what to delete).
corpus() {
	c=$dir/c$1-s$seed
	args="--docs $1 --seed $seed $genopts"
	if [ -d "$c" ] && [ -f "$c.args" ] && [ "$(cat "$c.args")" = "$args" ]; then
		return 0
	fi
	if [ -e "$c" ]; then
		echo "run_bench.sh: '$c' exists but was not made with '$args':" \
			"remove it" >&2
		return 1
	fi
	# about 6.5 KB of disk per 4 KB article (blocks), plus a margin
	need=$(($1 * 8))
	avail=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
	if [ "$avail" -lt $((need + 1048576)) ]; then
		echo "run_bench.sh: $1 documents need about $((need / 1024)) MB," \
			"only $((avail / 1024)) MB free under '$dir'" >&2
		return 1
	fi
	echo "generating $c ($args)" >&2
	# shellcheck disable=SC2086 # genopts are words on purpose
	python3 "$here/gen_corpus.py" --docs "$1" --seed "$seed" --out "$c" \
		$genopts >&2
	echo "$args" >"$c.args"
	made="$made $c"
}

# Best of $runs runs of dedup with options $1 over corpus $2; the first
# run's output goes to $3. Prints "WALL_SECONDS PEAK_KB CPU_SECONDS" (CPU:
# user + system, the least of the runs).
measure() {
	r=1
	best=
	cpu=
	peak=0
	while [ "$r" -le "$runs" ]; do
		out=/dev/null
		[ "$r" = 1 ] && out=$3
		# shellcheck disable=SC2086 # $1 is a list of options
		if ! /usr/bin/time -f '%e %M %U %S' -o "$tmp/time" \
			"$dedup" -q $1 --exclude '*.tsv' "$2" >"$out" \
			2>"$tmp/err"; then
			echo "run_bench.sh: dedup $1 $2 failed:" >&2
			tail -5 "$tmp/err" >&2
		fi
		read -r e m u s <"$tmp/time"
		best=$(awk -v a="${best:-$e}" -v b="$e" \
			'BEGIN { print (b < a ? b : a) }')
		cpu=$(awk -v a="$cpu" -v b="$u" -v c="$s" \
			'BEGIN { b += c; print (a != "" && a < b ? a : b) }')
		[ "$m" -gt "$peak" ] && peak=$m
		r=$((r + 1))
	done
	echo "$best $peak $cpu"
}

# Pairwise F1, ARI, B-cubed F1 of output $1 for corpus $2.
score() {
	awk -F'\t' -v p="$2/" '{
		n = $1; c = $2
		if (index(n, p) == 1) n = substr(n, length(p) + 1)
		if (index(c, p) == 1) c = substr(c, length(p) + 1)
		print n "\t" c
	}' "$1" >"$tmp/pred.tsv"
	python3 "$scorer" "$2/labels.tsv" "$tmp/pred.tsv" --json 2>/dev/null |
		python3 -c 'import json, sys
r = json.load(sys.stdin)
print("%.3f %.3f %.3f" % (r["pair_f1"], r["ari"], r["bcubed_f1"]))' ||
		echo "- - -"
}

# How many CPUs a CPU-bound job gets now: one busy loop per core, CPU time
# over wall time. Below the core count, other work shares the machine and
# wall times and the speed-up are understated.
probe() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	/usr/bin/time -f '%e %U %S' -o "$tmp/probe" sh -c '
		i=0
		while [ "$i" -lt "$1" ]; do
			awk "BEGIN { for (i = 0; i < 2e7; i++) s += i }" &
			i=$((i + 1))
		done
		wait' sh "$(nproc)"
	awk '{ printf "%.2f", ($1 > 0 ? ($2 + $3) / $1 : 0) }' "$tmp/probe"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
cpus0=$(probe)
jdesc=${jmain:-default ($(nproc) cores)}
echo "dedup: $dedup; threads: $jdesc; best of $runs; load $load0;" \
	"CPUs free: $cpus0 of $(nproc)" >&2
rows=$tmp/rows
: >"$rows"
for n in "$@"; do
	corpus "$n"
	bytes=$(find "$c" -type f -name 'd*.txt' -printf '%s\n' |
		awk '{ s += $1 } END { print s + 0 }')
	res=$(measure "${jmain:+-j $jmain}" "$c" "$tmp/out-main")
	set -f
	# shellcheck disable=SC2086 # split the three figures
	set -- $res
	set +f
	t=$1 kb=$2 cpu=$3
	t1=- same=-
	if [ "$scale" = 1 ]; then
		res=$(measure "-j 1" "$c" "$tmp/out-j1")
		t1=${res%% *}
		if cmp -s "$tmp/out-main" "$tmp/out-j1"; then
			same=yes
		else
			same=NO
		fi
	fi
	q="- - -"
	[ "$quality" = 1 ] && q=$(score "$tmp/out-main" "$c")
	echo "$n $bytes $t $kb $t1 $same $q $cpu" >>"$rows"
	echo "done: $n docs in $t s" >&2
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
cpus1=$(probe)

sort -n "$rows" | awk -v load0="$load0" -v load1="$load1" \
	-v cpus0="$cpus0" -v cpus1="$cpus1" -v ncpu="$(nproc)" '
BEGIN {
	printf "%8s %8s %8s %8s %7s %8s %8s %9s %8s %7s %5s %6s %6s %6s\n",
		"docs", "MB", "s", "docs/s", "MB/s", "CPU s", "RSS MiB", "B/doc+",
		"s -j1", "j1/jN", "same", "pairF1", "ARI", "B3F1"
}
{
	n[NR] = $1; mb = $2 / 1e6; t[NR] = $3; kb[NR] = $4
	slope = "-"
	if (NR > 1 && $1 > n[NR - 1])
		slope = sprintf("%.0f", ($4 - kb[NR - 1]) * 1024 / ($1 - n[NR - 1]))
	sp = "-"
	if ($5 != "-" && $3 > 0)
		sp = sprintf("%.2f", $5 / $3)
	printf "%8d %8.1f %8.2f %8.0f %7.1f %8.2f %8.1f %9s %8s %7s %5s %6s %6s %6s\n",
		$1, mb, $3, ($3 > 0 ? $1 / $3 : 0), ($3 > 0 ? mb / $3 : 0),
		$10, $4 / 1024, slope, $5, sp, $6, $7, $8, $9
}
END {
	if (NR >= 2) {
		for (i = 1; i <= NR; i++) {
			sx += n[i]; sy += kb[i] * 1024
		}
		mx = sx / NR; my = sy / NR
		for (i = 1; i <= NR; i++) {
			sxx += (n[i] - mx) * (n[i] - mx)
			sxy += (n[i] - mx) * (kb[i] * 1024 - my)
		}
		if (sxx > 0) {
			b = sxy / sxx; a = my - b * mx
			printf "peak RSS fit over %d sizes: %.1f MiB fixed + %.0f B per doc\n",
				NR, a / 1048576, b
			printf "  extrapolated (not measured) at 1,000,000 docs: %.0f MiB\n",
				(a + b * 1e6) / 1048576
		}
		printf "cost per doc at %d docs / at %d docs: %.2f\n",
			n[NR], n[1], (t[NR] / n[NR]) / (t[1] / n[1])
	}
	printf "load average before: %s, after: %s\n", load0, load1
	printf "CPUs a busy loop per core got before: %s, after: %s (of %d)\n",
		cpus0, cpus1, ncpu
}'
