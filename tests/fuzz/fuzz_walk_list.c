/*
 * fuzz_walk_list.c - the path-list reader (dedup_walk_add_list, the parser
 * behind --files-from), through fmemopen.
 *
 * The first byte chooses newline (even) or NUL (odd) separated lists; the
 * rest is the list. The harness splits the list itself, as walk.h
 * documents it (a final '\r' dropped in line mode, empty lines ignored, "-"
 * queued as "./-"), then walks the queued roots from an empty directory with
 * every name excluded, so that nothing outside it is read: each listed path
 * must then come back as an error naming exactly that path, in list order,
 * or not at all (a path that exists, filtered out). A NUL byte in line mode
 * must be DEDUP_EFORMAT.
 */
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "dedup/walk.h"
#include "fuzz_util.h"

static char tmpdir[] = "/tmp/fuzz_walk_list.XXXXXX";
static int home = -1;

static void cleanup(void)
{
	rmdir(tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (!mkdtemp(tmpdir)) {
		perror("fuzz_walk_list: mkdtemp");
		abort();
	}
	atexit(cleanup);
	return 0;
}

struct list {
	char **v;
	size_t n;
};

static void expect(struct list *l, const char *s, size_t len)
{
	char *p;

	if (len == 1 && s[0] == '-') {
		s = "./-";
		len = 3;
	}
	p = malloc(len + 1);
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	FUZZ_CHECK(p && l->v, "out of memory");
	memcpy(p, s, len);
	p[len] = '\0';
	l->v[l->n++] = p;
}

/* The documented splitting; returns 0 when line mode meets a NUL byte. */
static int split(const char *s, size_t n, int nul, struct list *l)
{
	const char *end = s + n, *e;
	size_t len;

	while (s < end) {
		e = memchr(s, nul ? '\0' : '\n', (size_t)(end - s));
		len = (size_t)((e ? e : end) - s);
		if (!nul && len && s[len - 1] == '\r')
			len--;
		if (len) {
			if (!nul && memchr(s, '\0', len))
				return 0;
			expect(l, s, len);
		}
		s = e ? e + 1 : end;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct list l = { NULL, 0 };
	struct dedup_walk *w = NULL;
	struct dedup_walk_entry e;
	struct dedup_error err;
	dedup_status st;
	FILE *f;
	size_t i, next = 0;
	int nul, well_formed;

	if (size < 2)
		return 0;
	nul = data[0] & 1;
	data++;
	size--;
	well_formed = split((const char *)data, size, nul, &l);

	f = fmemopen((void *)data, size, "r");
	FUZZ_CHECK(f, "fmemopen failed");
	if (dedup_walk_new(&w, &err) || dedup_walk_exclude(w, "*"))
		goto out;
	st = dedup_walk_add_list(w, f, nul, "fuzz.list", &err);
	if (!well_formed) {
		FUZZ_CHECK(st == DEDUP_EFORMAT, "NUL in line mode: status %d",
			   st);
		FUZZ_CHECK(strstr(err.msg, "'fuzz.list'"),
			   "message without the list name: %s", err.msg);
		goto out;
	}
	if (st == DEDUP_ENOMEM)
		goto out;
	FUZZ_CHECK(st == DEDUP_OK, "status %d: %s", st, err.msg);

	home = open(".", O_RDONLY | O_DIRECTORY);
	FUZZ_CHECK(home >= 0 && chdir(tmpdir) == 0, "cannot enter %s",
		   tmpdir);
	while ((st = dedup_walk_next(w, &e, &err)) != DEDUP_DONE) {
		if (st == DEDUP_ENOMEM)
			break;
		FUZZ_CHECK(st != DEDUP_OK,
			   "entry '%s' passed an exclude of '*'", e.path);
		while (next < l.n && strcmp(l.v[next], e.path))
			next++;
		FUZZ_CHECK(next < l.n,
			   "error for '%s', not a listed path or out of order",
			   e.path);
		next++;
	}
	FUZZ_CHECK(fchdir(home) == 0, "cannot go back");
	close(home);
out:
	dedup_walk_free(w);
	fclose(f);
	for (i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return 0;
}
