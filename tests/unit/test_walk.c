/* test_walk.c - unit tests of the read stage (src/walk.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dedup/output.h"
#include "dedup/walk.h"

/* ---- fixtures: a fresh directory per test, removed afterwards ---- */

struct fx {
	char dir[512]; /* short enough that every path built from it fits */
};

/*
 * rm -r that works on trees deeper than PATH_MAX: it moves with chdir()
 * instead of building long paths, and holds no descriptor per level.
 */
static void rm_tree(const char *name)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	DIR *d;

	if (lstat(name, &st))
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(name);
		return;
	}
	chmod(name, 0700); /* tests lock some directories */
	if (chdir(name)) {
		rmdir(name);
		return;
	}
	d = opendir(".");
	while (d && (de = readdir(d))) {
		char **nn;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn)
			break;
		names = nn;
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	if (d)
		closedir(d);
	for (i = 0; i < n; i++) {
		rm_tree(names[i]);
		free(names[i]);
	}
	free(names);
	if (chdir(".."))
		return;
	rmdir(name);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s/dedup-walk-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	int cwd = open(".", O_RDONLY | O_DIRECTORY);

	rm_tree(fx->dir);
	if (cwd >= 0) {
		if (fchdir(cwd))
			perror("fchdir");
		close(cwd);
	}
	free(fx);
	return 0;
}

static const char *at(struct fx *fx, const char *rel)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", fx->dir, rel);
	return path;
}

static void put(struct fx *fx, const char *rel, const char *text)
{
	FILE *f = fopen(at(fx, rel), "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void mkd(struct fx *fx, const char *rel)
{
	assert_int_equal(mkdir(at(fx, rel), 0755), 0);
}

static void lnk(struct fx *fx, const char *target, const char *rel)
{
	assert_int_equal(symlink(target, at(fx, rel)), 0);
}

/*
 * Walk everything and describe it: one line per entry, "rel" for a
 * document, "! message" for an error, with the temporary directory's path
 * replaced by "@" so that the expectations stay readable.
 */
static char *walk_all(struct fx *fx, struct dedup_walk *w)
{
	struct dedup_buf out = DEDUP_BUF_INIT;
	struct dedup_walk_entry e;
	struct dedup_error err;
	dedup_status st;
	size_t dl = strlen(fx->dir);

	while ((st = dedup_walk_next(w, &e, &err)) != DEDUP_DONE) {
		const char *m;

		if (st == DEDUP_OK) {
			assert_int_equal(dedup_buf_addstr(&out, e.rel), 0);
			/* path is root + rel, one slash between them. */
			assert_non_null(strstr(e.path, e.rel));
			assert_string_equal(e.path + strlen(e.path) -
					    strlen(e.rel), e.rel);
		} else {
			assert_int_equal(st, DEDUP_EIO);
			assert_int_equal(err.code, st);
			assert_int_equal(dedup_buf_addstr(&out, "! "), 0);
			for (m = err.msg; *m; m++) {
				if (!strncmp(m, fx->dir, dl)) {
					dedup_buf_addch(&out, '@');
					m += dl - 1;
				} else {
					dedup_buf_addch(&out, *m);
				}
			}
			/* The entry names the failed path too. */
			assert_non_null(strstr(err.msg, e.path));
		}
		assert_int_equal(dedup_buf_addch(&out, '\n'), 0);
	}
	return dedup_buf_detach(&out, NULL);
}

static struct dedup_walk *walker_of(const char *root)
{
	struct dedup_walk *w;

	assert_int_equal(dedup_walk_new(&w, NULL), DEDUP_OK);
	if (root)
		assert_int_equal(dedup_walk_add_root(w, root), DEDUP_OK);
	return w;
}

static void expect_walk(struct fx *fx, struct dedup_walk *w, const char *want)
{
	char *got = walk_all(fx, w);

	assert_string_equal(got, want);
	free(got);
	dedup_walk_free(w);
}

/* ---- walking ---- */

static void test_order_and_hidden(void **state)
{
	struct fx *fx = *state;

	put(fx, "b.txt", "b");
	put(fx, "a.txt", "a");
	put(fx, "B.txt", "upper case sorts first, bytewise");
	put(fx, ".hidden.txt", "skipped");
	mkd(fx, ".git");
	put(fx, ".git/config", "skipped");
	mkd(fx, "sub");
	put(fx, "sub/z.txt", "z");
	mkd(fx, "sub/inner");
	put(fx, "sub/inner/y.txt", "y");
	put(fx, "sub/a-b.txt", "'-' (0x2d) sorts before 'i'");
	put(fx, "sub.txt", "a directory sorts by its name: 'sub' < 'sub.txt'");
	expect_walk(fx, walker_of(fx->dir),
		    "B.txt\na.txt\nb.txt\n"
		    "sub/a-b.txt\nsub/inner/y.txt\nsub/z.txt\nsub.txt\n");
}

static void test_roots_in_order_and_slash(void **state)
{
	struct fx *fx = *state;
	struct dedup_walk *w;
	struct dedup_walk_entry e;
	char root[PATH_MAX + 2];
	char want[PATH_MAX + 16];

	mkd(fx, "corpus");
	put(fx, "corpus/x.txt", "x");
	put(fx, "single.txt", "s");
	mkd(fx, ".dot");
	put(fx, ".dot/in.txt", "a hidden root named by the user is walked");

	w = walker_of(NULL);
	snprintf(root, sizeof(root), "%s/single.txt", fx->dir);
	assert_int_equal(dedup_walk_add_root(w, root), DEDUP_OK);
	snprintf(root, sizeof(root), "%s/corpus/", fx->dir);
	assert_int_equal(dedup_walk_add_root(w, root), DEDUP_OK);
	snprintf(root, sizeof(root), "%s/.dot", fx->dir);
	assert_int_equal(dedup_walk_add_root(w, root), DEDUP_OK);
	assert_int_equal(dedup_walk_add_root(w, "-"), DEDUP_OK);

	assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_OK);
	assert_string_equal(e.rel, "single.txt");
	assert_string_equal(e.path, at(fx, "single.txt"));
	assert_false(e.is_stdin);
	assert_false(e.is_stream);

	assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_OK);
	snprintf(want, sizeof(want), "%s/corpus/x.txt", fx->dir);
	assert_string_equal(e.path, want); /* no doubled slash */
	assert_string_equal(e.rel, "x.txt");
	snprintf(root, sizeof(root), "%s/corpus/", fx->dir);
	assert_string_equal(e.root, root);

	assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_OK);
	assert_string_equal(e.rel, "in.txt");

	assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_OK);
	assert_true(e.is_stdin);
	assert_true(e.is_stream);
	assert_string_equal(e.path, "-");

	assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_DONE);
	assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_DONE);
	dedup_walk_free(w);
}

static void test_symlinks_followed(void **state)
{
	struct fx *fx = *state;
	char target[PATH_MAX];

	mkd(fx, "tree");
	mkd(fx, "elsewhere");
	put(fx, "elsewhere/far.txt", "reached through a link");
	put(fx, "tree/real.txt", "r");
	lnk(fx, "real.txt", "tree/alias.txt");
	snprintf(target, sizeof(target), "%s/elsewhere", fx->dir);
	lnk(fx, target, "tree/linked");
	expect_walk(fx, walker_of(at(fx, "tree")),
		    "alias.txt\nlinked/far.txt\nreal.txt\n");
}

static void test_loop_detected(void **state)
{
	struct fx *fx = *state;

	mkd(fx, "t");
	mkd(fx, "t/a");
	put(fx, "t/a/doc.txt", "d");
	lnk(fx, "..", "t/a/up");
	put(fx, "t/z.txt", "the walk goes on after the loop");
	expect_walk(fx, walker_of(at(fx, "t")),
		    "a/doc.txt\n"
		    "! cannot walk '@/t/a/up': symbolic link loop back to '@/t'\n"
		    "z.txt\n");
}

static void test_broken_link(void **state)
{
	struct fx *fx = *state;

	mkd(fx, "t");
	lnk(fx, "nowhere.txt", "t/dangling.txt");
	put(fx, "t/ok.txt", "ok");
	lnk(fx, "self", "t/self");
	expect_walk(fx, walker_of(at(fx, "t")),
		    "! cannot open '@/t/dangling.txt': No such file or directory (broken symbolic link)\n"
		    "ok.txt\n"
		    "! cannot open '@/t/self': Too many levels of symbolic links\n");
}

/* An excluded name is never looked at: an excluded broken link is quiet. */
static void test_excluded_link_quiet(void **state)
{
	struct fx *fx = *state;
	struct dedup_walk *w;

	mkd(fx, "t");
	lnk(fx, "nowhere", "t/exe");
	lnk(fx, "nowhere.txt", "t/dangling.txt");
	put(fx, "t/ok.txt", "ok");
	w = walker_of(at(fx, "t"));
	assert_int_equal(dedup_walk_exclude(w, "exe"), DEDUP_OK);
	expect_walk(fx, w,
		    "! cannot open '@/t/dangling.txt': No such file or directory (broken symbolic link)\n"
		    "ok.txt\n");
}

static void test_missing_root(void **state)
{
	struct fx *fx = *state;
	struct dedup_walk *w = walker_of(at(fx, "absent"));

	assert_int_equal(dedup_walk_add_root(w, at(fx, "t")), DEDUP_OK);
	mkd(fx, "t");
	put(fx, "t/after.txt", "a");
	expect_walk(fx, w,
		    "! cannot open '@/absent': No such file or directory\n"
		    "after.txt\n");
}

static void on_alarm(int sig)
{
	(void)sig;
	/* Blocked on a FIFO: fail loudly instead of hanging ctest. */
	_exit(3);
}

static void test_special_files_skipped(void **state)
{
	struct fx *fx = *state;
	struct sockaddr_un sa;
	int sock;

	signal(SIGALRM, on_alarm);
	alarm(10);
	mkd(fx, "t");
	assert_int_equal(mkfifo(at(fx, "t/pipe"), 0644), 0);
	lnk(fx, "pipe", "t/pipe-link");
	lnk(fx, "/dev/null", "t/device");
	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(sock >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(at(fx, "t/socket")) < sizeof(sa.sun_path)) {
		strcpy(sa.sun_path, at(fx, "t/socket"));
		assert_int_equal(bind(sock, (struct sockaddr *)&sa,
				      sizeof(sa)), 0);
	}
	put(fx, "t/text.txt", "t");
	expect_walk(fx, walker_of(at(fx, "t")), "text.txt\n");
	close(sock);
	alarm(0);
}

static void test_fifo_root_read(void **state)
{
	struct fx *fx = *state;
	struct dedup_buf b = DEDUP_BUF_INIT;
	struct dedup_walk *w;
	struct dedup_walk_entry e;
	const char *fifo = at(fx, "named");
	pid_t pid;
	int status;

	signal(SIGALRM, on_alarm);
	alarm(10);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(fifo, O_WRONLY);

		/* The reader may open late: the writer waits for it. */
		if (fd < 0 || write(fd, "through a pipe", 14) != 14)
			_exit(1);
		_exit(0);
	}
	w = walker_of(fifo);
	assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_OK);
	assert_true(e.is_stream);
	assert_false(e.is_stdin);
	assert_int_equal(dedup_read_file(e.path, 0, &b, NULL), DEDUP_OK);
	assert_string_equal(b.buf, "through a pipe");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	alarm(0);
	dedup_walk_free(w);
	dedup_buf_release(&b);
}

static void test_deep_tree(void **state)
{
	struct fx *fx = *state;
	struct dedup_buf p = DEDUP_BUF_INIT;
	struct dedup_buf want = DEDUP_BUF_INIT;
	int i;

	assert_int_equal(dedup_buf_addstr(&p, fx->dir), 0);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(dedup_buf_addstr(&p, "/d"), 0);
		assert_int_equal(mkdir(p.buf, 0755), 0);
		assert_int_equal(dedup_buf_addstr(&want, "d/"), 0);
		if (i == 499) {
			/* a file half-way down and one at the bottom */
			dedup_buf_addstr(&p, "/mid.txt");
			put(fx, p.buf + strlen(fx->dir) + 1, "m");
			dedup_buf_setlen(&p, p.len - 8);
		}
	}
	assert_int_equal(dedup_buf_addstr(&p, "/bottom.txt"), 0);
	put(fx, p.buf + strlen(fx->dir) + 1, "b");
	{
		struct dedup_walk *w = walker_of(fx->dir);
		struct dedup_walk_entry e;

		assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_OK);
		dedup_buf_addstr(&want, "bottom.txt");
		assert_string_equal(e.rel, want.buf);
		assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_OK);
		assert_int_equal(strlen(e.rel), 500 * 2 + strlen("mid.txt"));
		assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_DONE);
		dedup_walk_free(w);
	}
	dedup_buf_release(&p);
	dedup_buf_release(&want);
}

/* Deeper than PATH_MAX: built, walked and read without whole paths. */
static void test_longer_than_path_max(void **state)
{
	struct fx *fx = *state;
	struct dedup_buf b = DEDUP_BUF_INIT;
	struct dedup_walk *w;
	struct dedup_walk_entry e;
	struct dedup_error err;
	char name[32];
	int cwd = open(".", O_RDONLY | O_DIRECTORY), i, fd;

	assert_true(cwd >= 0);
	assert_int_equal(chdir(fx->dir), 0);
	for (i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "level-%04d", i);
		assert_int_equal(mkdir(name, 0755), 0);
		assert_int_equal(chdir(name), 0);
	}
	fd = open("deep.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "at the bottom", 13), 13);
	close(fd);
	assert_int_equal(symlink("../level-0399", "loop"), 0);
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);

	w = walker_of(fx->dir);
	assert_int_equal(dedup_walk_next(w, &e, &err), DEDUP_OK);
	assert_true(strlen(e.path) > PATH_MAX);
	assert_int_equal(strlen(e.rel), 400 * 11 + strlen("deep.txt"));
	assert_int_equal(dedup_read_file(e.path, 0, &b, &err), DEDUP_OK);
	assert_string_equal(b.buf, "at the bottom");
	/* the loop at the bottom, in a message that keeps its reason */
	assert_int_equal(dedup_walk_next(w, &e, &err), DEDUP_EIO);
	assert_true(strlen(err.msg) < sizeof(err.msg) - 1);
	assert_non_null(strstr(err.msg, "/level-0399/loop': symbolic link "
				"loop back to '"));
	assert_non_null(strstr(err.msg, "/level-0398/level-0399'"));
	assert_non_null(strstr(err.msg, "..."));
	assert_int_equal(dedup_walk_next(w, &e, &err), DEDUP_DONE);
	dedup_walk_free(w);
	dedup_buf_release(&b);
}

static void test_include_exclude(void **state)
{
	struct fx *fx = *state;
	struct dedup_walk *w;

	put(fx, "a.txt", "a");
	put(fx, "a.html", "h");
	mkd(fx, "sub");
	put(fx, "sub/b.txt", "b");
	put(fx, "sub/c.md", "c");
	mkd(fx, "sub/deeper");
	put(fx, "sub/deeper/d.txt", "d");
	mkd(fx, "drafts");
	put(fx, "drafts/e.txt", "e");

	w = walker_of(fx->dir);
	assert_int_equal(dedup_walk_include(w, "*.txt"), DEDUP_OK);
	assert_int_equal(dedup_walk_include(w, "*.md"), DEDUP_OK);
	expect_walk(fx, w, "a.txt\ndrafts/e.txt\nsub/b.txt\nsub/c.md\n"
			   "sub/deeper/d.txt\n");

	/* A directory pattern prunes; '*' does not cross '/' in rel. */
	w = walker_of(fx->dir);
	assert_int_equal(dedup_walk_exclude(w, "drafts"), DEDUP_OK);
	assert_int_equal(dedup_walk_exclude(w, "sub/*.txt"), DEDUP_OK);
	assert_int_equal(dedup_walk_exclude(w, "*.html"), DEDUP_OK);
	expect_walk(fx, w, "a.txt\nsub/c.md\nsub/deeper/d.txt\n");

	/* Relative-path patterns reach below the top level. */
	w = walker_of(fx->dir);
	assert_int_equal(dedup_walk_include(w, "sub/*/*.txt"), DEDUP_OK);
	expect_walk(fx, w, "sub/deeper/d.txt\n");

	/* Both, and a file root is filtered by its base name. */
	w = walker_of(fx->dir);
	assert_int_equal(dedup_walk_add_root(w, at(fx, "a.html")), DEDUP_OK);
	assert_int_equal(dedup_walk_include(w, "*.txt"), DEDUP_OK);
	assert_int_equal(dedup_walk_exclude(w, "deeper"), DEDUP_OK);
	expect_walk(fx, w, "a.txt\ndrafts/e.txt\nsub/b.txt\n");
}

static void test_list_newlines(void **state)
{
	struct fx *fx = *state;
	struct dedup_walk *w = walker_of(NULL);
	struct dedup_walk_entry e;
	struct dedup_error err;
	char list[4 * PATH_MAX], one[PATH_MAX];
	FILE *f;

	put(fx, "one.txt", "1");
	put(fx, "two.txt", "2");
	snprintf(one, sizeof(one), "%s", at(fx, "one.txt"));
	snprintf(list, sizeof(list), "%s\n\n%s\r\n-\n", one,
		 at(fx, "two.txt"));
	f = fmemopen(list, strlen(list), "r");
	assert_non_null(f);
	assert_int_equal(dedup_walk_add_list(w, f, 0, "list", &err), DEDUP_OK);
	fclose(f);
	assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_OK);
	assert_string_equal(e.path, at(fx, "one.txt"));
	assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_OK);
	assert_string_equal(e.path, at(fx, "two.txt"));
	/* "-" in a list is a file of that name, not standard input */
	assert_int_equal(dedup_walk_next(w, &e, &err), DEDUP_EIO);
	assert_string_equal(err.msg,
			    "cannot open './-': No such file or directory");
	assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_DONE);
	dedup_walk_free(w);

	/* A NUL list read as lines is refused, not split at random. */
	w = walker_of(NULL);
	f = fmemopen("a\0b\0", 4, "r");
	assert_non_null(f);
	assert_int_equal(dedup_walk_add_list(w, f, 0, "paths.lst", &err),
			 DEDUP_EFORMAT);
	assert_non_null(strstr(err.msg, "'paths.lst'"));
	fclose(f);
	dedup_walk_free(w);
}

static void test_list_nul(void **state)
{
	struct fx *fx = *state;
	struct dedup_walk *w = walker_of(NULL);
	struct dedup_walk_entry e;
	struct dedup_buf list = DEDUP_BUF_INIT;
	struct dedup_buf b = DEDUP_BUF_INIT;
	const char *odd = "new\nline\ttab\\back\xff\xfe.txt";
	FILE *f;

	put(fx, odd, "odd name");
	put(fx, "plain.txt", "plain");
	dedup_buf_addstr(&list, at(fx, odd));
	dedup_buf_addch(&list, '\0');
	dedup_buf_addch(&list, '\0'); /* empty entry: ignored */
	dedup_buf_addstr(&list, at(fx, "plain.txt")); /* no final NUL */
	f = fmemopen(list.buf, list.len, "r");
	assert_non_null(f);
	assert_int_equal(dedup_walk_add_list(w, f, 1, "-", NULL), DEDUP_OK);
	fclose(f);
	assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_OK);
	assert_string_equal(e.rel, odd);
	assert_int_equal(dedup_read_file(e.path, 0, &b, NULL), DEDUP_OK);
	assert_string_equal(b.buf, "odd name");
	assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_OK);
	assert_string_equal(e.rel, "plain.txt");
	assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_DONE);
	dedup_walk_free(w);
	dedup_buf_release(&list);
	dedup_buf_release(&b);
}

/* Undo dedup_escape_tsv(); returns 0 on a malformed escape. */
static int tsv_unescape(const char *s, struct dedup_buf *out)
{
	for (; *s; s++) {
		int c = (unsigned char)*s;

		if (c == '\\') {
			switch (*++s) {
			case 't': c = '\t'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case '\\': c = '\\'; break;
			case 'x':
				if (sscanf(s + 1, "%2x", (unsigned *)&c) != 1)
					return 0;
				s += 2;
				break;
			default:
				return 0;
			}
		}
		dedup_buf_addch(out, c);
	}
	return 1;
}

/* Names found on disk go through every output format intact. */
static void test_odd_names_every_format(void **state)
{
	struct fx *fx = *state;
	const char *odd = "tab\there\nnewline \\ \xc3\xa9t\xc3\xa9 \xe9t\xe9.txt";
	struct dedup_walk *w;
	struct dedup_walk_entry e;
	struct dedup_record r;
	struct dedup_writer *wr;
	struct dedup_buf un = DEDUP_BUF_INIT;
	char *mem;
	size_t memlen;
	FILE *f;
	int fmt;

	put(fx, odd, "x");
	w = walker_of(fx->dir);
	assert_int_equal(dedup_walk_next(w, &e, NULL), DEDUP_OK);
	assert_string_equal(e.rel, odd);
	r.path = e.path;
	r.cluster = e.path;
	r.role = DEDUP_ROLE_KEEP;
	r.score = 1.0;
	for (fmt = DEDUP_FORMAT_TSV; fmt <= DEDUP_FORMAT_DUPS; fmt++) {
		char *tab, *nl;

		f = open_memstream(&mem, &memlen);
		assert_non_null(f);
		assert_int_equal(dedup_writer_new(&wr, fmt, f, fmt >=
						  DEDUP_FORMAT_KEEP, NULL),
				 DEDUP_OK);
		assert_int_equal(dedup_writer_write(wr, &r, NULL), DEDUP_OK);
		assert_int_equal(dedup_writer_finish(wr, NULL), DEDUP_OK);
		dedup_writer_free(wr);
		fclose(f);
		switch (fmt) {
		case DEDUP_FORMAT_TSV:
			/* one line, four fields, the path comes back */
			nl = strchr(mem, '\n');
			assert_non_null(nl);
			assert_int_equal(nl - mem + 1, (long)memlen);
			tab = strchr(mem, '\t');
			*tab = '\0';
			dedup_buf_reset(&un);
			assert_true(tsv_unescape(mem, &un));
			assert_string_equal(un.buf, e.path);
			assert_non_null(strstr(tab + 1, "\tkeep\t1\n"));
			break;
		case DEDUP_FORMAT_JSONL:
			assert_int_equal(strchr(mem, '\n') - mem + 1,
					 (long)memlen);
			assert_non_null(strstr(mem,
				"tab\\there\\nnewline \\\\ \xc3\xa9t\xc3\xa9 "
				"\\udce9t\\udce9.txt\",\"cluster\":"));
			assert_non_null(strstr(mem,
				"\",\"role\":\"keep\",\"score\":1}\n"));
			break;
		case DEDUP_FORMAT_KEEP:
			assert_int_equal(memlen, strlen(e.path) + 1);
			assert_memory_equal(mem, e.path, memlen);
			break;
		case DEDUP_FORMAT_DUPS:
			assert_int_equal(memlen, 0);
			break;
		}
		free(mem);
	}
	dedup_walk_free(w);
	dedup_buf_release(&un);
}

/* ---- reading ---- */

static void test_read_file(void **state)
{
	struct fx *fx = *state;
	struct dedup_buf b = DEDUP_BUF_INIT;
	struct dedup_error err;
	char big[100000];
	size_t i;

	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + i % 26);
	big[sizeof(big) - 1] = '\0';
	put(fx, "big.txt", big);
	put(fx, "empty.txt", "");

	assert_int_equal(dedup_read_file(at(fx, "big.txt"), 0, &b, &err),
			 DEDUP_OK);
	assert_int_equal(b.len, sizeof(big) - 1);
	assert_string_equal(b.buf, big);

	/* out is reset first; an empty file is an empty string */
	assert_int_equal(dedup_read_file(at(fx, "empty.txt"), 0, &b, &err),
			 DEDUP_OK);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.buf, "");

	/* exactly the limit is fine, one byte more is not */
	assert_int_equal(dedup_read_file(at(fx, "big.txt"), sizeof(big) - 1,
					 &b, &err), DEDUP_OK);
	assert_int_equal(dedup_read_file(at(fx, "big.txt"), SIZE_MAX, &b, &err),
			 DEDUP_OK);
	assert_int_equal(b.len, sizeof(big) - 1);
	assert_int_equal(dedup_read_file(at(fx, "big.txt"), sizeof(big) - 2,
					 &b, &err), DEDUP_ETOOBIG);
	assert_non_null(strstr(err.msg, "big.txt': larger than 99998 bytes"));

	assert_int_equal(dedup_read_file(fx->dir, 0, &b, &err), DEDUP_EIO);
	assert_non_null(strstr(err.msg, "': Is a directory"));
	dedup_buf_release(&b);
}

static void test_read_errors(void **state)
{
	struct fx *fx = *state;
	struct dedup_buf b = DEDUP_BUF_INIT;
	struct dedup_error err;
	char want[PATH_MAX + 100];

	/* a file that vanished between listing and reading */
	put(fx, "gone.txt", "g");
	assert_int_equal(unlink(at(fx, "gone.txt")), 0);
	assert_int_equal(dedup_read_file(at(fx, "gone.txt"), 0, &b, &err),
			 DEDUP_EIO);
	snprintf(want, sizeof(want),
		 "cannot open '%s': No such file or directory",
		 at(fx, "gone.txt"));
	assert_string_equal(err.msg, want);

	lnk(fx, "gone.txt", "link.txt");
	assert_int_equal(dedup_read_file(at(fx, "link.txt"), 0, &b, &err),
			 DEDUP_EIO);
	snprintf(want, sizeof(want),
		 "cannot open '%s': No such file or directory (broken symbolic link)",
		 at(fx, "link.txt"));
	assert_string_equal(err.msg, want);
	dedup_buf_release(&b);
}

/* Read a private file as someone who may not; 0 if it could be checked. */
static int check_denied(struct fx *fx)
{
	struct dedup_buf b = DEDUP_BUF_INIT;
	struct dedup_walk *w;
	struct dedup_walk_entry e;
	struct dedup_error err;
	char want[PATH_MAX + 100];
	dedup_status st;
	int ok;

	st = dedup_read_file(at(fx, "secret.txt"), 0, &b, &err);
	snprintf(want, sizeof(want), "cannot read '%s': Permission denied",
		 at(fx, "secret.txt"));
	ok = st == DEDUP_EIO && !strcmp(err.msg, want);

	/* an unreadable directory is an error for it, the rest goes on */
	w = walker_of(fx->dir);
	st = dedup_walk_next(w, &e, &err);
	snprintf(want, sizeof(want),
		 "cannot read directory '%s': Permission denied",
		 at(fx, "locked"));
	ok = ok && st == DEDUP_EIO && !strcmp(err.msg, want) &&
	     !strcmp(e.path, at(fx, "locked"));
	ok = ok && dedup_walk_next(w, &e, &err) == DEDUP_OK &&
	     !strcmp(e.rel, "secret.txt");
	dedup_walk_free(w);
	dedup_buf_release(&b);
	return ok ? 0 : 1;
}

static void test_permission_denied(void **state)
{
	struct fx *fx = *state;
	pid_t pid;
	int status;

	put(fx, "secret.txt", "s");
	assert_int_equal(chmod(at(fx, "secret.txt"), 0), 0);
	mkd(fx, "locked");
	assert_int_equal(chmod(at(fx, "locked"), 0), 0);
	if (geteuid() != 0) {
		assert_int_equal(check_denied(fx), 0);
		return;
	}
	/* Root reads anything: check as an unprivileged user instead. */
	assert_int_equal(chmod(fx->dir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(77);
		_exit(check_denied(fx));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_read_stdin(void **state)
{
	struct dedup_buf b = DEDUP_BUF_INIT;
	struct dedup_error err;
	int saved = dup(0), p[2];
	char chunk[4096];
	pid_t pid;
	int i, status;

	(void)state;
	assert_true(saved >= 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		memset(chunk, 'q', sizeof(chunk));
		for (i = 0; i < 100; i++)
			if (write(p[1], chunk, sizeof(chunk)) !=
			    (ssize_t)sizeof(chunk))
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(dup2(p[0], 0), 0);
	close(p[0]);
	assert_int_equal(dedup_read_file("-", 0, &b, &err), DEDUP_OK);
	assert_int_equal(b.len, 100 * sizeof(chunk));
	assert_int_equal(b.buf[b.len - 1], 'q');
	assert_int_equal(b.buf[b.len], '\0');
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	dedup_buf_release(&b);
}

static void test_read_stdin_limit(void **state)
{
	struct dedup_buf b = DEDUP_BUF_INIT;
	struct dedup_error err;
	int saved = dup(0), p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "0123456789", 10), 10);
	close(p[1]);
	assert_int_equal(dup2(p[0], 0), 0);
	close(p[0]);
	assert_int_equal(dedup_read_file("-", 9, &b, &err), DEDUP_ETOOBIG);
	assert_string_equal(err.msg, "cannot read '-': larger than 9 bytes");
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	dedup_buf_release(&b);
}

/*
 * The shared corpora, when present: every file is found once, readable,
 * and consecutive paths in one directory come in strcmp order.
 */
static void test_shared_corpora(void **state)
{
	const char *src = getenv("DEDUP_SOURCE_DIR");
	struct dedup_buf b = DEDUP_BUF_INIT, prev = DEDUP_BUF_INIT;
	char root[PATH_MAX];
	struct dedup_walk *w;
	struct dedup_walk_entry e;
	struct dedup_error err;
	struct stat st;
	dedup_status s;
	size_t files = 0;

	(void)state;
	if (!src)
		skip();
	snprintf(root, sizeof(root), "%s/../shared/corpora", src);
	if (stat(root, &st) || !S_ISDIR(st.st_mode))
		skip();
	w = walker_of(root);
	while ((s = dedup_walk_next(w, &e, &err)) != DEDUP_DONE) {
		const char *slash = strrchr(e.rel, '/');
		size_t dl = slash ? (size_t)(slash - e.rel) + 1 : 0;

		if (s)
			fail_msg("%s", err.msg);
		assert_true(strncmp(e.rel, ".", 1) && !strstr(e.rel, "/."));
		if (prev.len >= dl && !strncmp(prev.buf, e.rel, dl) &&
		    !strchr(prev.buf + dl, '/'))
			assert_true(strcmp(prev.buf + dl, e.rel + dl) < 0);
		dedup_buf_reset(&prev);
		assert_int_equal(dedup_buf_addstr(&prev, e.rel), 0);
		assert_int_equal(dedup_read_file(e.path, 0, &b, &err),
				 DEDUP_OK);
		assert_int_equal(stat(e.path, &st), 0);
		assert_int_equal(b.len, (size_t)st.st_size);
		files++;
	}
	assert_true(files > 0);
	dedup_walk_free(w);
	dedup_buf_release(&b);
	dedup_buf_release(&prev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_and_hidden, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roots_in_order_and_slash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinks_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_excluded_link_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_files_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_root_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_longer_than_path_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_exclude, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_newlines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_names_every_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permission_denied, setup, teardown),
		cmocka_unit_test(test_read_stdin),
		cmocka_unit_test(test_read_stdin_limit),
		cmocka_unit_test(test_shared_corpora),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
