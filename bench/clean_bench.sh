#!/bin/sh
# Whole-command speed of `dedup clean --no-strip --out-dir` (issue 3): a
# folder of articles, half of them damaged, repaired and written to another
# folder, against what ftfy would need for the repair alone.
#
#   sh bench/clean_bench.sh [OPTIONS] [SRC...]
#
#   -b DEDUP   the program to measure (default: build-rel/dedup, else
#              build/dedup); build it in Release
#   -d DIR     where the set and the outputs go (default: a new directory
#              under $TMPDIR or /tmp, deleted at exit); give a directory on
#              tmpfs (/dev/shm/...) to see the program's cost without the
#              disk's
#   -r RUNS    timed runs per setting (default: 5)
#   -j N       threads of the parallel runs (default: the online CPUs)
#   -c R       share of the damaged copies stored as Windows-1252 rather
#              than mojibake (default: 0; make_damaged_set.py --cp1252)
#   -k         keep DIR
#   -P         run in a new session whose scheduling group has nice -20
#              (needs root): on the shared machine other jobs then take
#              little of the CPUs, and wall times come near those of an idle
#              machine; CPU times do not need it
#
# SRC (default: ../shared/corpora/gva_dev/docs and ecbplus_dev/docs, 1,240
# articles): folders of UTF-8 articles; bench/make_damaged_set.py writes
# each article clean and damaged, so the set is twice their number.
#
# Each run is the whole command, start to exit, into an output folder
# removed before the run, timed with wait4() (CPU: user + system):
#   dedup clean -q --no-strip [-j N] --out-dir OUT SET
# and, as the file system's floor for the same files, `cp -r SET OUT`.
# Columns: best wall seconds, least and median CPU seconds (the load moves
# them less than wall time), MB/s from the best wall time.
# The -j1 and -jN output folders must be identical (diff -r).
# ftfy repairs 3 to 4 MB/s on one core here: at 3.5 MB/s its repair alone,
# Python's start and the file I/O not counted, takes MB / 3.5 seconds;
# issue 3 wants the whole command 25 times faster than that.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
dedup=
dir=
runs=5
jn=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
cp1252=0
keep=0
prio=0

usage() {
	sed -n '6,22s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while getopts b:d:r:j:c:kPh opt; do
	case $opt in
	b) dedup=$OPTARG ;;
	d) dir=$OPTARG ;;
	r) runs=$OPTARG ;;
	j) jn=$OPTARG ;;
	c) cp1252=$OPTARG ;;
	k) keep=1 ;;
	P) prio=1 ;;
	*) usage ;;
	esac
done
if [ "$prio" = 1 ] && [ -z "${CLEAN_BENCH_PRIO:-}" ]; then
	# autogroups: nice alone does not reach past this session's group
	exec setsid sh -c 'echo -20 >/proc/$$/autogroup &&
		CLEAN_BENCH_PRIO=1 exec sh "$0" "$@"' "$0" "$@"
fi
shift $((OPTIND - 1))
for n in "$runs" "$jn"; do
	case $n in
	'' | *[!0-9]* | 0) echo "clean_bench.sh: not a count: '$n'" >&2; exit 2 ;;
	esac
done
if [ -z "$dedup" ]; then
	for b in "$root/build-rel/dedup" "$root/build/dedup"; do
		[ -x "$b" ] && { dedup=$b; break; }
	done
fi
[ -n "$dedup" ] && [ -x "$dedup" ] ||
	{ echo "clean_bench.sh: no dedup program (use -b)" >&2; exit 2; }
[ $# -gt 0 ] || set -- "$root/../shared/corpora/gva_dev/docs" \
	"$root/../shared/corpora/ecbplus_dev/docs"

if [ -z "$dir" ]; then
	dir=$(mktemp -d "${TMPDIR:-/tmp}/dedup-clean-bench.XXXXXX")
elif [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
	echo "clean_bench.sh: '$dir' exists and is not empty" >&2
	exit 2
fi
mkdir -p "$dir"
[ "$keep" = 1 ] || trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM

python3 "$here/make_damaged_set.py" --cp1252 "$cp1252" --out "$dir/set" \
	"$@" >/dev/null
files=$(find "$dir/set" -type f | wc -l)
bytes=$(find "$dir/set" -type f -exec cat {} + | wc -c)
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1e6 }')

# time_runs NAME OUT CMD...: R runs of CMD into OUT (removed before each
# run); prints NAME, best wall, least CPU, median CPU, MB/s from the best
# wall time. Timed by wait4(): milliseconds, where /usr/bin/time rounds to
# hundredths.
time_runs() {
	name=$1 out=$2
	shift 2
	python3 - "$name" "$out" "$runs" "$mb" "$@" <<'PY'
import os, shutil, subprocess, sys, time
name, out, runs, mb, cmd = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    float(sys.argv[4]), sys.argv[5:]
walls, cpus = [], []
for _ in range(runs):
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    walls.append(time.perf_counter() - t0)
    cpus.append(ru.ru_utime + ru.ru_stime)
    if status:
        sys.stderr.write(err.decode(errors="replace"))
        sys.exit("clean_bench.sh: %s failed" % name)
cpus.sort()
n = len(cpus)
med = cpus[n // 2] if n % 2 else (cpus[n // 2 - 1] + cpus[n // 2]) / 2
print("%-12s %7.3f %7.3f %7.3f %8.1f" % (name, min(walls), cpus[0], med,
                                         mb / min(walls)))
PY
}

echo "set: $files files, $mb MB (damaged copies: share $cp1252 Windows-1252, the rest mojibake), in $dir"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)${CLEAN_BENCH_PRIO:+ (run at autogroup nice -20)}"
printf '%-12s %7s %7s %7s %8s\n' run "wall s" "CPU s" "CPU med" "MB/s"
time_runs cp-r "$dir/out-cp" cp -r "$dir/set" "$dir/out-cp" >>"$dir/results"
tail -1 "$dir/results"
time_runs dedup-j1 "$dir/out-j1" "$dedup" clean -q --no-strip -j1 \
	--out-dir "$dir/out-j1" "$dir/set" >>"$dir/results"
tail -1 "$dir/results"
best_j1=$(awk 'END { print $2 }' "$dir/results")
time_runs dedup-j"$jn" "$dir/out-jn" "$dedup" clean -q --no-strip -j"$jn" \
	--out-dir "$dir/out-jn" "$dir/set" >>"$dir/results"
tail -1 "$dir/results"
best_jn=$(awk 'END { print $2 }' "$dir/results")
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
if diff -r "$dir/out-j1" "$dir/out-jn" >/dev/null; then
	echo "-j1 and -j$jn outputs: identical"
else
	echo "-j1 and -j$jn outputs: DIFFERENT"
	exit 1
fi
awk -v mb="$mb" -v j1="$best_j1" -v jn="$best_jn" -v n="$jn" 'BEGIN {
	ftfy = mb / 3.5
	best = j1 < jn ? j1 : jn
	printf "ftfy at 3.5 MB/s, repair alone: %.3f s; 25 times faster: %.3f s\n",
		ftfy, ftfy / 25
	printf "whole command, best wall: %.3f s (-j%d %.3f s, -j1 %.3f s): %.1f times faster than ftfy\n",
		best, n, jn, j1, (best > 0 ? ftfy / best : 0)
}'
