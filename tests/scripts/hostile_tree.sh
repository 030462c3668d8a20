#!/bin/sh
# Hostile trees (issue 8): many tiny files (20,000 by default, 10,000 in a
# sanitizer build, to keep CI time small; HOSTILE_MANY=100000 for the
# issue's full count), a tree 1,000 directories deep whose paths pass
# PATH_MAX, a symbolic-link loop, a dangling link, a FIFO, a socket and
# (as root) a character device like /dev/zero in the tree (skipped, never
# opened or blocked on: the run is under `timeout`), and a path in a
# --files-from list that does not exist (a file that vanished between
# listing and reading). Each problem is a message naming the path; the
# rest of the tree is still processed.
# Usage: sh tests/scripts/hostile_tree.sh DEDUP  (from the repository root)
set -u
dedup=$1
command -v python3 >/dev/null || { echo "no python3: skipped"; exit 77; }
command -v timeout >/dev/null || { echo "no timeout: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dedup-hostile.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
many=20000
grep -qa __asan_init "$dedup" && many=10000
many=${HOSTILE_MANY:-$many}
limit=120 # seconds for any one run: far above need, below a hang

# ---- many tiny files ----
python3 - "$tmp/many" "$many" <<'PY' || exit 1
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
w = ("river ferry council budget school bridge market harbour station "
     "winter storm festival").split()
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // 1000))
    if i % 1000 == 0:
        os.makedirs(d)
    with open(os.path.join(d, "f%06d.txt" % i), "w") as f:
        f.write("Note %d: the %s and the %s, report %d.\n"
                % (i, w[i % 12], w[i * 7 % 12], i * 31 % 997))
PY
timeout $limit "$dedup" -q "$tmp/many" >"$tmp/many.out" 2>"$tmp/many.err"
rc=$?
[ "$rc" -eq 0 ] || fail "$many tiny files: exit status $rc: $(head -3 "$tmp/many.err")"
n=$(wc -l <"$tmp/many.out")
[ "$n" -eq "$many" ] || fail "$many tiny files: $n records"
rm -rf "$tmp/many"

# ---- a tree 1,000 directories deep, paths past PATH_MAX ----
python3 - "$tmp/deep" <<'PY' || exit 1
import os, sys
os.makedirs(sys.argv[1])
os.chdir(sys.argv[1])
for i in range(1000):
    name = "level%04d" % i   # 10 bytes a level: paths of 10,000 bytes
    os.mkdir(name)
    os.chdir(name)
    if i in (0, 500, 999):
        with open("doc.txt", "w") as f:
            f.write("The old lighthouse at level %d was repainted white "
                    "and red by volunteers over the summer.\n" % i)
PY
timeout $limit "$dedup" "$tmp/deep" >"$tmp/deep.out" 2>"$tmp/deep.err"
rc=$?
[ "$rc" -eq 0 ] || fail "deep tree: exit status $rc: $(head -c 300 "$tmp/deep.err")"
n=$(grep -c 'doc\.txt	' "$tmp/deep.out")
[ "$n" -eq 3 ] || fail "deep tree: $n of 3 documents found"
grep -q 'level0999/doc\.txt	' "$tmp/deep.out" ||
	fail "deep tree: the deepest document is missing"
rm -rf "$tmp/deep"

# ---- a link loop, a dangling link, a FIFO and a socket ----
mkdir -p "$tmp/t/sub" && cd "$tmp/t" || exit 1
cat >a.txt <<'TXT'
The county fair opens on Saturday with a vintage tractor parade, a pie
contest and a brass band playing on the green until late evening.
TXT
cp a.txt sub/b.txt
ln -s .. sub/up          # a loop back to the root
ln -s nowhere.txt dangling.txt
mkfifo pipe.txt
python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])" sock.txt 2>/dev/null
# a device that never ends (like /dev/zero; needs root, else not made)
mknod zero.txt c 1 5 2>/dev/null
cd - >/dev/null || exit 1
timeout $limit "$dedup" "$tmp/t" >"$tmp/t.out" 2>"$tmp/t.err"
rc=$?
[ "$rc" -eq 124 ] && fail "tree with a FIFO: blocked (killed by timeout)"
[ "$rc" -eq 1 ] || fail "special files: exit status $rc, want 1"
grep -q "sub/up.*loop" "$tmp/t.err" ||
	fail "link loop: no message naming it: $(cat "$tmp/t.err")"
grep -q "dangling.txt" "$tmp/t.err" ||
	fail "dangling link: no message naming it"
grep -q "pipe.txt\|sock.txt\|zero.txt" "$tmp/t.out" "$tmp/t.err" &&
	fail "a FIFO, socket or device was opened"
grep -q "^$tmp/t/a.txt	" "$tmp/t.out" &&
	grep -q "^$tmp/t/sub/b.txt	" "$tmp/t.out" ||
	fail "special files: the regular files were not processed"
grep -q "sub/up/" "$tmp/t.out" && fail "link loop: walked into the loop"

# ---- a listed path that vanished ----
printf '%s\n%s\n' "$tmp/t/a.txt" "$tmp/t/gone.txt" >"$tmp/list"
timeout $limit "$dedup" -T "$tmp/list" >"$tmp/v.out" 2>"$tmp/v.err"
rc=$?
[ "$rc" -eq 1 ] || fail "vanished file: exit status $rc, want 1"
grep -q "'$tmp/t/gone.txt'.*No such file" "$tmp/v.err" ||
	fail "vanished file: no message naming it: $(cat "$tmp/v.err")"
grep -q "^$tmp/t/a.txt	" "$tmp/v.out" ||
	fail "vanished file: the other file was not processed"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
