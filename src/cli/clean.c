/*
 * clean.c - `dedup clean`: each document's text as the clusterer sees it,
 * on stdout or written under --out-dir.
 *
 * Documents are spread over threads; each thread reads, cleans and (with
 * --out-dir) writes whole documents. What goes to stdout and stderr is
 * emitted in input order by whichever thread finishes the oldest document
 * not yet emitted, so the output does not depend on the thread count.
 * Results wait in a ring of slots: a thread does not start a document
 * more than a ring's length ahead of the oldest one.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dedup/walk.h"
#include "cli.h"

#ifdef O_PATH
#define O_PATH_OR_RDONLY O_PATH
#else
#define O_PATH_OR_RDONLY O_RDONLY
#endif

/*
 * Slots per thread. With --out-dir a slot holds messages only (but for
 * the rare document written at its turn); on stdout it holds a whole
 * document's text.
 */
#define RING_FILES 64
#define RING_STDOUT 2
#define KEEP_BYTES (1u << 20) /* larger buffers are freed after use */

/* A directory of --out-dir, kept open while files are written into it. */
struct out_dir {
	const char *root;      /* --out-dir as given */
	struct dedup_buf path; /* of the open directory: root/sub/ */
	int fd;                /* open on path, or -1 */
	struct dedup_buf tmp;  /* temporary name of the file being written */
	int slot;              /* its slot in signals.c */
	long pid;              /* in temporary names: two runs never share one */
};

/* One document's outcome, waiting for its turn. */
struct result {
	int ready;             /* processed */
	int failed;            /* could not be processed or written */
	int to_stdout;         /* text goes to stdout */
	int write_late;        /* text is written under --out-dir at its turn */
	struct dedup_buf text;
	struct dedup_buf warning;
	struct dedup_buf error; /* the document failed: why */
};

struct clean {
	const struct cli_inputs *in;
	const struct dedup_options *o;
	const struct dedup_run *run; /* line counts and cached streams, or NULL */
	const char *out_dir;
	unsigned char *late;   /* per document: its file is another's too */
	int quiet, headers;

	pthread_mutex_t lock;  /* guards what follows */
	pthread_cond_t turn;   /* a slot was freed, or stop was set */
	size_t next;           /* next document to take */
	size_t done;           /* documents emitted */
	struct result *res;
	size_t nres;
	int stop;              /* take no more documents */
	int failed;            /* a document could not be processed or written */
	int out_failed;        /* stdout could not be written */
	dedup_status fatal;
	struct dedup_error fatal_err;
};

/* One thread's tools and buffers. */
struct cleaner {
	struct clean *c;
	struct dedup_worker *w;
	struct dedup_buf bytes;
	struct out_dir od;
	pthread_t tid;
};

static void out_dir_init(struct out_dir *od, const char *root, int slot)
{
	od->root = root;
	dedup_buf_init(&od->path);
	dedup_buf_init(&od->tmp);
	od->fd = -1;
	od->slot = slot;
	od->pid = (long)getpid();
}

static void out_dir_release(struct out_dir *od)
{
	if (od->fd >= 0)
		close(od->fd);
	dedup_buf_release(&od->path);
	dedup_buf_release(&od->tmp);
}

/* mkdir -p path (NUL-terminated, ends in '/'); the existing part is kept. */
static int make_dirs(char *path)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0777) && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

/*
 * Open the directory `sub` (dlen bytes, empty or ending in '/') of the
 * output root, making it when missing. Files come in walk order, so most
 * go into the directory of the file before: it stays open.
 */
static int open_dir(struct out_dir *od, const char *sub, size_t dlen)
{
	size_t rlen = strlen(od->root);

	if (od->fd >= 0 && od->path.len == rlen + 1 + dlen &&
	    !memcmp(od->path.buf + rlen + 1, sub, dlen))
		return 0;
	if (od->fd >= 0)
		close(od->fd);
	od->fd = -1;
	dedup_buf_reset(&od->path);
	if (dedup_buf_addf(&od->path, "%s/", od->root) ||
	    dedup_buf_add(&od->path, sub, dlen)) {
		dedup_buf_reset(&od->path);
		errno = ENOMEM;
		return -1;
	}
	od->fd = open(od->path.buf, O_PATH_OR_RDONLY | O_DIRECTORY |
		      O_CLOEXEC);
	if (od->fd < 0 && errno == ENOENT && !make_dirs(od->path.buf))
		od->fd = open(od->path.buf, O_PATH_OR_RDONLY | O_DIRECTORY |
			      O_CLOEXEC);
	return od->fd < 0 ? -1 : 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Write one document as `rel` under the output root, through a temporary
 * file renamed into place, so a reader never sees half a document. On
 * failure the reason naming the file goes to `why`.
 */
static int write_doc(struct out_dir *od, const char *rel, const char *data,
		     size_t len, struct dedup_buf *why)
{
	const char *base;
	int fd, e;

	while (rel[0] == '/')
		rel++;
	base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	if (open_dir(od, rel, (size_t)(base - rel)))
		goto fail;
	dedup_buf_reset(&od->tmp);
	if (dedup_buf_addf(&od->tmp, "%s.tmp%ld", base, od->pid)) {
		errno = ENOMEM;
		goto fail;
	}
	cli_tmp_set_at(od->slot, od->fd, od->tmp.buf);
	fd = openat(od->fd, od->tmp.buf, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0666);
	if (fd < 0)
		goto fail_clear;
	if (write_all(fd, data, len)) {
		e = errno;
		close(fd);
		errno = e;
		goto fail_unlink;
	}
	if (close(fd) || renameat(od->fd, od->tmp.buf, od->fd, base))
		goto fail_unlink;
	cli_tmp_clear(od->slot);
	return 0;
fail_unlink:
	e = errno;
	unlinkat(od->fd, od->tmp.buf, 0);
	errno = e;
fail_clear:
	cli_tmp_clear(od->slot);
fail:
	e = errno;
	dedup_buf_reset(why);
	dedup_buf_addf(why, "cannot write '%s/%s': %s", od->root, rel,
		       strerror(e));
	return -1;
}

static void result_reset(struct result *r)
{
	struct dedup_buf *b[] = { &r->text, &r->warning, &r->error };
	size_t k;

	r->ready = r->failed = r->to_stdout = r->write_late = 0;
	for (k = 0; k < sizeof(b) / sizeof(b[0]); k++) {
		if (b[k]->alloc > KEEP_BYTES)
			dedup_buf_release(b[k]);
		else
			dedup_buf_reset(b[k]);
	}
}

/* Print document i's messages and text; called under the lock. */
static void emit_one(struct clean *c, struct cleaner *t, size_t i,
		     struct result *r)
{
	const char *path = c->in->v[i].path;

	if (r->warning.len && !c->quiet)
		fprintf(stderr, "dedup: warning: '%s': %s\n", path,
			r->warning.buf);
	if (!r->failed && r->write_late)
		r->failed = write_doc(&t->od, c->in->v[i].rel, r->text.buf,
				      r->text.len, &r->error) < 0;
	if (r->failed) {
		cli_error("%s", r->error.len ? r->error.buf : "out of memory");
		c->failed = 1;
		return;
	}
	if (!r->to_stdout)
		return;
	if (c->headers)
		printf("%s==> %s <==\n", i ? "\n" : "", path);
	fwrite(r->text.buf, 1, r->text.len, stdout);
	if (ferror(stdout)) {
		/* a reader that went away (dedup clean | head) is no error */
		if (errno != EPIPE)
			cli_error("cannot write output: %s", strerror(errno));
		c->out_failed = 1;
		c->stop = 1;
	}
}

/* Emit every finished document whose turn has come; under the lock. */
static void emit(struct clean *c, struct cleaner *t)
{
	while (c->done < c->in->n) {
		struct result *r = &c->res[c->done % c->nres];

		if (!r->ready)
			break;
		if (!c->stop)
			emit_one(c, t, c->done, r);
		result_reset(r);
		c->done++;
	}
	pthread_cond_broadcast(&c->turn);
}

/* Read and clean document i into r; write its file when it is its own. */
static dedup_status process(struct cleaner *t, size_t i, struct result *r)
{
	struct clean *c = t->c;
	const char *path = c->in->v[i].path;
	struct dedup_error err;
	dedup_status st;

	dedup_error_clear(&err);
	if (c->run)
		st = dedup_run_read(c->run, i, &t->bytes, &err);
	else
		st = dedup_read_file(path, c->o->max_doc_size, &t->bytes,
				     &err);
	if (!st)
		st = dedup_worker_clean(t->w, t->bytes.buf, t->bytes.len,
					c->o->strip,
					c->run ? dedup_run_lines(c->run) : NULL,
					&r->text, NULL, &err);
	if (t->bytes.alloc > KEEP_BYTES)
		dedup_buf_release(&t->bytes);
	if (st == DEDUP_ENOMEM) {
		pthread_mutex_lock(&c->lock);
		if (!c->fatal) {
			c->fatal = st;
			c->fatal_err = err;
		}
		pthread_mutex_unlock(&c->lock);
		return st;
	}
	if (st) {
		r->failed = 1;
		/* every message names its file; a decoder's may not */
		if (strstr(err.msg, path))
			dedup_buf_addstr(&r->error, err.msg);
		else
			dedup_buf_addf(&r->error, "'%s': %s", path,
				       err.msg[0] ? err.msg :
				       dedup_strerror(st));
		return DEDUP_OK;
	}
	if (dedup_worker_warning(t->w))
		dedup_buf_addstr(&r->warning, dedup_worker_warning(t->w));
	if (!c->out_dir || !strcmp(path, "-"))
		r->to_stdout = 1;
	else if (c->late[i])
		r->write_late = 1;
	else
		r->failed = write_doc(&t->od, c->in->v[i].rel, r->text.buf,
				      r->text.len, &r->error) < 0;
	return DEDUP_OK;
}

static void *clean_thread(void *arg)
{
	struct cleaner *t = arg;
	struct clean *c = t->c;
	size_t n = c->in->n;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct result *r;
		size_t i;

		while (!c->stop && c->next < n && c->next >= c->done + c->nres)
			pthread_cond_wait(&c->turn, &c->lock);
		if (c->stop || c->next >= n)
			break;
		i = c->next++;
		r = &c->res[i % c->nres];
		pthread_mutex_unlock(&c->lock);
		if (process(t, i, r)) {
			pthread_mutex_lock(&c->lock);
			c->stop = 1;
			pthread_cond_broadcast(&c->turn);
			break;
		}
		pthread_mutex_lock(&c->lock);
		r->ready = 1;
		if (i == c->done)
			emit(c, t);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* An output path (relative, without leading slashes) and its document. */
struct out_name {
	const char *rel;
	size_t doc;
};

static int cmp_out_name(const void *a, const void *b)
{
	const struct out_name *x = a, *y = b;
	int d = strcmp(x->rel, y->rel);

	if (d)
		return d;
	return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/*
 * Documents whose output file is another document's too (the same
 * relative path under two roots) are written at their turn, in input
 * order, so that the last one wins as on one thread. Every other file is
 * written by the thread that cleaned it.
 */
static int find_late(struct clean *c)
{
	const struct cli_inputs *in = c->in;
	struct out_name *v;
	size_t k;

	c->late = calloc(in->n ? in->n : 1, 1);
	v = malloc((in->n ? in->n : 1) * sizeof(*v));
	if (!c->late || !v) {
		free(v);
		return -1;
	}
	for (k = 0; k < in->n; k++) {
		v[k].rel = in->v[k].rel;
		while (v[k].rel[0] == '/')
			v[k].rel++;
		v[k].doc = k;
	}
	qsort(v, in->n, sizeof(*v), cmp_out_name);
	for (k = 1; k < in->n; k++)
		if (!strcmp(v[k - 1].rel, v[k].rel))
			c->late[v[k - 1].doc] = c->late[v[k].doc] = 1;
	free(v);
	return 0;
}

static unsigned thread_count(const struct clean *c)
{
	unsigned t = c->o->threads;

	if (!t) {
		long k = sysconf(_SC_NPROCESSORS_ONLN);

		t = k > 0 ? (unsigned)k : 1;
	}
	if (t > CLI_CLEAN_THREADS)
		t = CLI_CLEAN_THREADS;
	if (t > c->in->n)
		t = c->in->n ? (unsigned)c->in->n : 1;
	return t;
}

int cli_clean(struct dedup_context *ctx, const struct cli_inputs *in,
	      const char *out_dir, int quiet, int *failed)
{
	struct clean c;
	struct cleaner *t = NULL;
	struct dedup_run *run = NULL;
	struct dedup_error err;
	unsigned nt = 0, k, started = 0;
	int ret = -1;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.in = in;
	c.o = dedup_context_options(ctx);
	c.out_dir = out_dir;
	c.quiet = quiet;
	c.headers = !out_dir && in->n > 1;
	dedup_error_clear(&err);
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.turn, NULL);

	/*
	 * Lines recurring across documents need a first pass over them all,
	 * which reads each file twice (what cannot be read twice is kept by
	 * the run). Otherwise each file is read once, here.
	 */
	if (c.o->strip && c.o->corpus_lines) {
		if (dedup_run_new(&run, ctx, &err))
			goto fail;
		for (i = 0; i < in->n; i++)
			if (dedup_run_add_walked(run, in->v[i].path,
						 in->v[i].stream, &err))
				goto fail;
		if (dedup_run_count_lines(run, &err))
			goto fail;
		c.run = run;
	}

	nt = thread_count(&c);
	c.nres = (size_t)nt * (out_dir ? RING_FILES : RING_STDOUT);
	c.res = calloc(c.nres, sizeof(*c.res));
	t = calloc(nt, sizeof(*t));
	if (!c.res || !t || (out_dir && find_late(&c))) {
		dedup_error_set(&err, DEDUP_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < c.nres; i++) {
		dedup_buf_init(&c.res[i].text);
		dedup_buf_init(&c.res[i].warning);
		dedup_buf_init(&c.res[i].error);
	}
	for (k = 0; k < nt; k++) {
		t[k].c = &c;
		dedup_buf_init(&t[k].bytes);
		out_dir_init(&t[k].od, out_dir, CLI_TMP_CLEAN + (int)k);
		if (dedup_worker_new_clean(&t[k].w, ctx, &err))
			goto fail;
	}
	/* the calling thread is thread 0 */
	for (k = 1; k < nt; k++) {
		if (pthread_create(&t[k].tid, NULL, clean_thread, &t[k]))
			break;
		started++;
	}
	clean_thread(&t[0]);
	for (k = 1; k <= started; k++)
		pthread_join(t[k].tid, NULL);
	if (c.fatal) {
		err = c.fatal_err;
		goto fail;
	}
	ret = c.out_failed ? -1 : 0;
	goto out;
fail:
	cli_error("%s", err.msg[0] ? err.msg : "out of memory");
out:
	if (c.failed)
		*failed = 1;
	for (i = 0; c.res && i < c.nres; i++) {
		dedup_buf_release(&c.res[i].text);
		dedup_buf_release(&c.res[i].warning);
		dedup_buf_release(&c.res[i].error);
	}
	for (k = 0; t && k < nt; k++) {
		dedup_worker_free(t[k].w);
		dedup_buf_release(&t[k].bytes);
		out_dir_release(&t[k].od);
	}
	free(t);
	free(c.res);
	free(c.late);
	pthread_cond_destroy(&c.turn);
	pthread_mutex_destroy(&c.lock);
	dedup_run_free(run);
	return ret;
}
