#!/bin/sh
# Hostile rule files (issue 8; syntax in docs/rules.md): a user rule with
# catastrophic backtracking is stopped by PCRE2's limits and reported with
# its name, file and line, the output still complete; a rule that needs
# more than the JIT's stack still matches or is reported; absurd files (100,000
# rules, a 1 MB pattern, a 1 MB line of junk, random bytes) end in success
# or a clean refusal naming the file, never a hang or a crash. Every run is
# under `timeout`.
# Usage: sh tests/scripts/hostile_rules.sh DEDUP  (from the repository root)
set -u
dedup=$1
command -v python3 >/dev/null || { echo "no python3: skipped"; exit 77; }
command -v timeout >/dev/null || { echo "no timeout: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dedup-hostile.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
limit=60

cat >"$tmp/doc.txt" <<'TXT'
The regional assembly approved the new cycling lanes on Wednesday evening,
after a debate that lasted more than four hours and ended in a narrow vote.
aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab
Work on the first lane along the canal is due to begin in the autumn and the
whole network should be finished within three years, officials said.
TXT

run() { # run NAME ARGS...
	name=$1
	shift
	timeout $limit "$dedup" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
	[ "$rc" -eq 124 ] && fail "$name: still running after ${limit}s"
	[ "$rc" -ge 128 ] && fail "$name: killed by signal $((rc - 128))"
}

# ---- catastrophic backtracking ----
cat >"$tmp/slow.rules" <<'RULES'
# nested quantifiers: exponential on a run of a's that ends in b
line runaway ^(?:a+)+$
line harmless ^never matches this line$
RULES
run slow --rules "$tmp/slow.rules" "$tmp/doc.txt"
case $rc in 0|1) ;; *) fail "runaway rule: exit status $rc" ;; esac
grep -q "^$tmp/doc.txt	" "$tmp/slow.out" ||
	fail "runaway rule: no record for the document"
grep "runaway" "$tmp/slow.err" | grep "slow.rules" | grep -q "line 2" ||
	fail "runaway rule: not reported with name, file and line: $(cat "$tmp/slow.err")"

# ---- a rule deeper than PCRE2's JIT stack ----
# The rule matches every line, but each repetition of its group keeps a
# backtracking frame: on a 3,700-byte line the JIT's default 32 KiB stack
# runs out. The long line must still go (a larger stack, or the
# interpreter) or the rule be reported; silently keeping it is wrong.
cat >"$tmp/deep.rules" <<'RULES'
line every-line ^(?:.Q?)+$
RULES
python3 -c "
s = ('The committee heard from residents of the northern estate, who said '
     'the bus service had become unreliable since the depot moved. ')
print('A short first line of the report.')
print(s * 30)
print('A closing line of the report.')" >"$tmp/deep.txt"
timeout $limit "$dedup" clean --no-builtin-rules --rules "$tmp/deep.rules" \
	"$tmp/deep.txt" >"$tmp/deep.out" 2>"$tmp/deep.err"
rc=$?
[ "$rc" -eq 124 ] && fail "deep rule: still running after ${limit}s"
grep -q "short first line" "$tmp/deep.out" &&
	fail "deep rule: does not match a short line"
if grep -q "committee" "$tmp/deep.out"; then
	grep -q "every-line" "$tmp/deep.err" ||
		fail "deep rule: a 3,700-byte line it matches was kept, unreported"
fi

# ---- 100,000 rules ----
python3 -c "
import sys
with open(sys.argv[1], 'w') as f:
    for i in range(100000):
        f.write('line rule-%d ^zq%06d marker word$\n' % (i, i))
" "$tmp/many.rules"
run many --rules "$tmp/many.rules" "$tmp/doc.txt"
case $rc in
0) grep -q "^$tmp/doc.txt	" "$tmp/many.out" ||
	fail "100,000 rules: no record" ;;
1|2) grep -q "many.rules" "$tmp/many.err" ||
	fail "100,000 rules: refused without naming the file" ;;
*) fail "100,000 rules: exit status $rc" ;;
esac

# ---- one 1 MB pattern ----
python3 -c "
import sys
with open(sys.argv[1], 'w') as f:
    f.write('line huge (?:' + '|'.join('w%07d' % i for i in range(120000)) + ')\n')
" "$tmp/huge.rules"
run huge --rules "$tmp/huge.rules" "$tmp/doc.txt"
case $rc in
0) grep -q "^$tmp/doc.txt	" "$tmp/huge.out" || fail "1 MB pattern: no record" ;;
1|2) grep "huge.rules" "$tmp/huge.err" | grep -q "huge" ||
	fail "1 MB pattern: refused without naming file and rule: $(cat "$tmp/huge.err")" ;;
*) fail "1 MB pattern: exit status $rc" ;;
esac

# ---- junk: a 1 MB line that is no rule, and random bytes ----
python3 -c "
import sys
open(sys.argv[1], 'w').write('x' * (1 << 20) + '\n')" "$tmp/junk.rules"
python3 -c "
import random, sys
r = random.Random(3)
open(sys.argv[1], 'wb').write(bytes(r.randrange(256) for _ in range(8192)))
" "$tmp/random.rules"
for name in junk random; do
	run "$name" --rules "$tmp/$name.rules" "$tmp/doc.txt"
	[ "$rc" -eq 2 ] || fail "$name rule file: exit status $rc, want 2"
	grep -q "$name.rules" "$tmp/$name.err" ||
		fail "$name rule file: message does not name it"
	n=$(wc -c <"$tmp/$name.err")
	[ "$n" -lt 2000 ] ||
		fail "$name rule file: a $n-byte message (echoes the input?)"
done

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
