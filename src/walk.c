/*
 * walk.c - the read stage: find input files and read them (see dedup/walk.h).
 *
 * Directories are walked with an explicit stack: a directory is listed
 * whole, sorted and closed before its entries are visited, so a tree
 * thousands of levels deep costs memory, not file descriptors or C stack.
 * Each stack frame remembers the (st_dev, st_ino) of its directory; meeting
 * one of them again below itself is a loop made by a symbolic link.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "dedup/walk.h"

/* What a root came from: the command line, or a list of paths. */
struct root {
	char *path;
	int from_list;
};

struct strvec {
	char **v;
	size_t n, alloc;
};

struct dent {
	char *name;
	unsigned char type; /* d_type, DT_UNKNOWN when the system cannot tell */
};

/* One directory being walked. */
struct frame {
	struct dent *ents; /* sorted, hidden ones left out */
	size_t n, next;
	size_t path_len;     /* length of the directory's path in w->path */
	dev_t dev;
	ino_t ino;
};

struct dedup_walk {
	struct strvec include, exclude;

	struct root *roots;
	size_t nroots, roots_alloc, next_root;

	/* The root being walked, if it is a directory. */
	char *root;
	size_t prefix_len; /* "root/" in path; rel starts there */
	struct frame *stack;
	size_t depth, stack_alloc;

	struct dedup_buf path;
};

#ifndef DT_UNKNOWN
#define DT_UNKNOWN 0
#endif

/* Directories crossed on the way are only searched, not read. */
#ifdef O_PATH
#define O_PATH_OR_RDONLY O_PATH
#else
#define O_PATH_OR_RDONLY O_RDONLY
#endif

/*
 * Paths longer than PATH_MAX: the kernel refuses them whole, so the leading
 * directories are opened piece by piece (each piece shorter than PATH_MAX,
 * cut at a '/') and the rest is used relative to the last one. Returns the
 * directory fd (AT_FDCWD when the path fits; the caller closes any other)
 * and sets *rest, or -1 with errno set.
 */
static int path_at(const char *path, const char **rest)
{
	char piece[PATH_MAX];
	const char *p = path;
	int dfd = AT_FDCWD, e;

	while (strlen(p) >= PATH_MAX) {
		const char *cut = p + PATH_MAX - 1;
		int nfd;

		while (cut > p && *cut != '/')
			cut--;
		if (cut == p) {
			e = ENAMETOOLONG;
			goto fail;
		}
		memcpy(piece, p, (size_t)(cut - p));
		piece[cut - p] = '\0';
		nfd = openat(dfd, piece, O_PATH_OR_RDONLY | O_DIRECTORY |
			     O_CLOEXEC);
		e = errno;
		if (dfd != AT_FDCWD)
			close(dfd);
		if (nfd < 0) {
			errno = e;
			return -1;
		}
		dfd = nfd;
		for (p = cut; *p == '/'; p++)
			;
	}
	*rest = *p ? p : ".";
	return dfd;
fail:
	if (dfd != AT_FDCWD)
		close(dfd);
	errno = e;
	return -1;
}

/* open(2), stat(2) and lstat(2) without the PATH_MAX limit. */
static int long_open(const char *path, int flags)
{
	const char *rest;
	int dfd = path_at(path, &rest), fd, e;

	if (dfd == -1)
		return -1;
	fd = openat(dfd, rest, flags);
	e = errno;
	if (dfd != AT_FDCWD)
		close(dfd);
	errno = e;
	return fd;
}

static int long_stat(const char *path, struct stat *st, int flags)
{
	const char *rest;
	int dfd = path_at(path, &rest), r, e;

	if (dfd == -1)
		return -1;
	r = fstatat(dfd, rest, st, flags);
	e = errno;
	if (dfd != AT_FDCWD)
		close(dfd);
	errno = e;
	return r;
}

/*
 * A path for a message: whole when short, else its head and tail around
 * "..." so that the reason after it still fits in struct dedup_error.
 */
#define SHOWN_HEAD 60
#define SHOWN_TAIL 140
struct shown {
	char s[SHOWN_HEAD + 3 + SHOWN_TAIL + 1];
};

static const char *shown_n(const char *p, size_t n, struct shown *sh)
{
	size_t head = SHOWN_HEAD, tail = SHOWN_TAIL;

	if (n <= head + 3 + tail) {
		if (!p[n])
			return p;
		memcpy(sh->s, p, n);
		sh->s[n] = '\0';
		return sh->s;
	}
	/* Cut between UTF-8 characters, not inside one. */
	while (head && ((unsigned char)p[head] & 0xc0) == 0x80)
		head--;
	while (tail && ((unsigned char)p[n - tail] & 0xc0) == 0x80)
		tail--;
	memcpy(sh->s, p, head);
	memcpy(sh->s + head, "...", 3);
	memcpy(sh->s + head + 3, p + n - tail, tail);
	sh->s[head + 3 + tail] = '\0';
	return sh->s;
}

/* "<what> '<path>': <reason>", the path shortened if need be. */
static dedup_status path_error(struct dedup_error *err, dedup_status code,
			       const char *what, const char *path,
			       const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static dedup_status path_error(struct dedup_error *err, dedup_status code,
			       const char *what, const char *path,
			       const char *fmt, ...)
{
	struct shown sh;
	char reason[256];
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return dedup_error_set(err, code, "%s '%s': %s", what,
			       shown_n(path, strlen(path), &sh), reason);
}

static int strvec_push(struct strvec *sv, const char *s)
{
	char *copy;

	if (sv->n == sv->alloc) {
		size_t na = sv->alloc ? sv->alloc * 2 : 8;
		char **nv = realloc(sv->v, na * sizeof(*nv));

		if (!nv)
			return -1;
		sv->v = nv;
		sv->alloc = na;
	}
	copy = strdup(s);
	if (!copy)
		return -1;
	sv->v[sv->n++] = copy;
	return 0;
}

static void strvec_clear(struct strvec *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->alloc = 0;
}

static void frame_release(struct frame *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->ents[i].name);
	free(f->ents);
	f->ents = NULL;
	f->n = f->next = 0;
}

dedup_status dedup_walk_new(struct dedup_walk **out, struct dedup_error *err)
{
	struct dedup_walk *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w)
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	dedup_buf_init(&w->path);
	*out = w;
	return DEDUP_OK;
}

static void end_root(struct dedup_walk *w)
{
	while (w->depth)
		frame_release(&w->stack[--w->depth]);
	free(w->root);
	w->root = NULL;
}

void dedup_walk_free(struct dedup_walk *w)
{
	size_t i;

	if (!w)
		return;
	end_root(w);
	free(w->stack);
	for (i = 0; i < w->nroots; i++)
		free(w->roots[i].path);
	free(w->roots);
	strvec_clear(&w->include);
	strvec_clear(&w->exclude);
	dedup_buf_release(&w->path);
	free(w);
}

dedup_status dedup_walk_include(struct dedup_walk *w, const char *glob)
{
	return strvec_push(&w->include, glob) ? DEDUP_ENOMEM : DEDUP_OK;
}

dedup_status dedup_walk_exclude(struct dedup_walk *w, const char *glob)
{
	return strvec_push(&w->exclude, glob) ? DEDUP_ENOMEM : DEDUP_OK;
}

static dedup_status push_root(struct dedup_walk *w, const char *path,
			      size_t len, int from_list)
{
	char *copy;

	if (w->nroots == w->roots_alloc) {
		size_t na = w->roots_alloc ? w->roots_alloc * 2 : 16;
		struct root *nr = realloc(w->roots, na * sizeof(*nr));

		if (!nr)
			return DEDUP_ENOMEM;
		w->roots = nr;
		w->roots_alloc = na;
	}
	/*
	 * "-" in a list is a file called "-", not standard input: the list
	 * itself may be standard input. "./-" keeps it from being taken for
	 * stdin by dedup_read_file().
	 */
	if (from_list && len == 1 && path[0] == '-') {
		copy = strdup("./-");
	} else {
		copy = malloc(len + 1);
		if (copy) {
			memcpy(copy, path, len);
			copy[len] = '\0';
		}
	}
	if (!copy)
		return DEDUP_ENOMEM;
	w->roots[w->nroots].path = copy;
	w->roots[w->nroots].from_list = from_list;
	w->nroots++;
	return DEDUP_OK;
}

dedup_status dedup_walk_add_root(struct dedup_walk *w, const char *path)
{
	return push_root(w, path, strlen(path), 0);
}

dedup_status dedup_walk_add_list(struct dedup_walk *w, FILE *f, int nul,
				 const char *name, struct dedup_error *err)
{
	char *line = NULL;
	size_t alloc = 0, lineno = 0;
	ssize_t n;
	dedup_status st = DEDUP_OK;

	errno = 0;
	while ((n = getdelim(&line, &alloc, nul ? '\0' : '\n', f)) >= 0) {
		size_t len = (size_t)n;

		lineno++;
		if (len && line[len - 1] == (nul ? '\0' : '\n'))
			len--;
		if (!nul && len && line[len - 1] == '\r')
			len--;
		if (!len)
			continue;
		if (!nul && memchr(line, '\0', len)) {
			st = dedup_error_set(err, DEDUP_EFORMAT,
				"line %zu in '%s' holds a NUL byte (a list made with -print0 needs -0)",
				lineno, name);
			goto out;
		}
		if (push_root(w, line, len, 1)) {
			st = dedup_error_set(err, DEDUP_ENOMEM,
					     "out of memory");
			goto out;
		}
		errno = 0;
	}
	if (ferror(f)) {
		int e = errno ? errno : EIO;

		st = dedup_error_set(err, DEDUP_EIO, "cannot read '%s': %s",
				     name, strerror(e));
	}
out:
	free(line);
	return st;
}

/* fnmatch against the path relative to its root, then the base name. */
static int glob_match(const struct strvec *sv, const char *rel)
{
	const char *base = strrchr(rel, '/');
	size_t i;

	base = base ? base + 1 : rel;
	for (i = 0; i < sv->n; i++) {
		if (!fnmatch(sv->v[i], rel, FNM_PATHNAME) ||
		    !fnmatch(sv->v[i], base, 0))
			return 1;
	}
	return 0;
}

static int included(const struct dedup_walk *w, const char *rel)
{
	return !w->include.n || glob_match(&w->include, rel);
}

static int want_file(const struct dedup_walk *w, const char *rel)
{
	return included(w, rel) && !glob_match(&w->exclude, rel);
}

static int cmp_dents(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name,
		      ((const struct dent *)b)->name);
}

/*
 * List the directory open on fd (consumed) into f: every entry but the
 * hidden ones, sorted bytewise. Returns 0 or an errno value.
 */
static int list_dir(int fd, struct frame *f)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	size_t alloc = 0;
	int ret = 0;

	if (!d) {
		ret = errno;
		close(fd);
		return ret;
	}
	for (;;) {
		char *copy;

		errno = 0;
		de = readdir(d);
		if (!de) {
			ret = errno;
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		if (f->n == alloc) {
			size_t na = alloc ? alloc * 2 : 32;
			struct dent *nd = realloc(f->ents, na * sizeof(*nd));

			if (!nd) {
				ret = ENOMEM;
				break;
			}
			f->ents = nd;
			alloc = na;
		}
		copy = strdup(de->d_name);
		if (!copy) {
			ret = ENOMEM;
			break;
		}
		f->ents[f->n].name = copy;
#ifdef _DIRENT_HAVE_D_TYPE
		f->ents[f->n].type = de->d_type;
#else
		f->ents[f->n].type = DT_UNKNOWN;
#endif
		f->n++;
	}
	closedir(d);
	if (!ret && f->n > 1)
		qsort(f->ents, f->n, sizeof(*f->ents), cmp_dents);
	return ret;
}

static void fill_entry(struct dedup_walk *w, struct dedup_walk_entry *e,
		       const char *root)
{
	e->path = w->path.buf;
	e->root = root;
	e->rel = w->path.buf + w->prefix_len;
	e->is_stdin = 0;
	e->is_stream = 0;
}

/* The error for a path that stat() could not follow. */
static dedup_status stat_error(const char *path, int e,
			       struct dedup_error *err)
{
	struct stat lst;

	if (e == ENOENT && !long_stat(path, &lst, AT_SYMLINK_NOFOLLOW) &&
	    S_ISLNK(lst.st_mode))
		return path_error(err, DEDUP_EIO, "cannot open", path,
				  "%s (broken symbolic link)", strerror(e));
	return path_error(err, DEDUP_EIO, "cannot open", path, "%s",
			  strerror(e));
}

/*
 * Open the directory at w->path and push it on the stack. On error, nothing
 * is pushed and err names the directory.
 */
static dedup_status enter_dir(struct dedup_walk *w, struct dedup_error *err)
{
	struct shown sh, ash;
	struct frame *f;
	struct stat st;
	size_t i, alen;
	int fd, e;

	/* O_NONBLOCK: if a FIFO took the directory's place, do not wait. */
	fd = long_open(w->path.buf, O_RDONLY | O_DIRECTORY | O_NONBLOCK |
		       O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return path_error(err, DEDUP_EIO, "cannot read directory",
				  w->path.buf, "%s", strerror(errno));
	if (fstat(fd, &st)) {
		e = errno;
		close(fd);
		return path_error(err, DEDUP_EIO, "cannot read directory",
				  w->path.buf, "%s", strerror(e));
	}
	for (i = 0; i < w->depth; i++) {
		if (w->stack[i].dev == st.st_dev &&
		    w->stack[i].ino == st.st_ino) {
			close(fd);
			/* The ancestor's path is a prefix of ours. */
			alen = w->stack[i].path_len;
			if (alen > 1 && w->path.buf[alen - 1] == '/')
				alen--;
			return dedup_error_set(err, DEDUP_EIO,
				"cannot walk '%s': symbolic link loop back to '%s'",
				shown_n(w->path.buf, w->path.len, &sh),
				shown_n(w->path.buf, alen, &ash));
		}
	}
	if (w->depth == w->stack_alloc) {
		size_t na = w->stack_alloc ? w->stack_alloc * 2 : 16;
		struct frame *ns = realloc(w->stack, na * sizeof(*ns));

		if (!ns) {
			close(fd);
			return dedup_error_set(err, DEDUP_ENOMEM,
					       "out of memory");
		}
		w->stack = ns;
		w->stack_alloc = na;
	}
	f = &w->stack[w->depth];
	memset(f, 0, sizeof(*f));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->path_len = w->path.len;
	e = list_dir(fd, f);
	if (e) {
		frame_release(f);
		if (e == ENOMEM)
			return dedup_error_set(err, DEDUP_ENOMEM,
					       "out of memory");
		return path_error(err, DEDUP_EIO, "cannot read directory",
				  w->path.buf, "%s", strerror(e));
	}
	w->depth++;
	return DEDUP_OK;
}

/* Start the next queued root; DEDUP_OK with *e filled if it is a document. */
static dedup_status start_root(struct dedup_walk *w,
			       struct dedup_walk_entry *e, int *is_entry,
			       struct dedup_error *err)
{
	const struct root *r = &w->roots[w->next_root++];
	const char *base;
	struct stat st;
	dedup_status s;
	size_t len;

	*is_entry = 0;
	/* Until better is known, errors name the root as queued. */
	e->path = e->root = e->rel = r->path;
	e->is_stdin = e->is_stream = 0;
	end_root(w);
	w->root = strdup(r->path);
	if (!w->root)
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	dedup_buf_reset(&w->path);
	if (dedup_buf_addstr(&w->path, w->root))
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	if (!r->from_list && !strcmp(w->root, "-")) {
		e->path = e->root = e->rel = w->root;
		e->is_stdin = 1;
		e->is_stream = 1;
		*is_entry = 1;
		return DEDUP_OK;
	}
	if (long_stat(w->root, &st, 0)) {
		int en = errno;

		w->prefix_len = 0;
		fill_entry(w, e, w->root);
		return stat_error(w->root, en, err);
	}
	if (!S_ISDIR(st.st_mode)) {
		/*
		 * A file named as a root is read whatever its type, like cat
		 * does: /dev/stdin or a process substitution is a pipe.
		 */
		len = strlen(w->root);
		while (len > 1 && w->root[len - 1] == '/')
			len--;
		base = w->root + len;
		while (base > w->root && base[-1] != '/')
			base--;
		w->prefix_len = (size_t)(base - w->root);
		fill_entry(w, e, w->root);
		e->is_stream = !S_ISREG(st.st_mode);
		if (!want_file(w, e->rel))
			return DEDUP_OK;
		*is_entry = 1;
		return DEDUP_OK;
	}
	if (w->path.len && w->path.buf[w->path.len - 1] != '/' &&
	    dedup_buf_addch(&w->path, '/'))
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	w->prefix_len = w->path.len;
	s = enter_dir(w, err);
	if (s)
		fill_entry(w, e, w->root);
	return s;
}

dedup_status dedup_walk_next(struct dedup_walk *w, struct dedup_walk_entry *e,
			     struct dedup_error *err)
{
	dedup_status s;
	struct stat st;
	int is_entry;

	for (;;) {
		struct frame *f;
		const char *name;
		unsigned char type;
		size_t dir_len;

		if (!w->depth) {
			if (w->next_root == w->nroots) {
				end_root(w);
				return DEDUP_DONE;
			}
			s = start_root(w, e, &is_entry, err);
			if (s || is_entry)
				return s;
			continue;
		}
		f = &w->stack[w->depth - 1];
		if (f->next == f->n) {
			frame_release(f);
			w->depth--;
			continue;
		}
		name = f->ents[f->next].name;
		type = f->ents[f->next].type;
		f->next++;

		/* "dir/" + name; the root's own slash is already there. */
		dir_len = f->path_len;
		dedup_buf_setlen(&w->path, dir_len);
		if ((dir_len && w->path.buf[dir_len - 1] != '/' &&
		     dedup_buf_addch(&w->path, '/')) ||
		    dedup_buf_addstr(&w->path, name)) {
			fill_entry(w, e, w->root);
			return dedup_error_set(err, DEDUP_ENOMEM,
					       "out of memory");
		}

		/*
		 * An excluded name is not looked at, whatever it is: a
		 * dangling link the user excluded is no error.
		 */
		if (glob_match(&w->exclude, w->path.buf + w->prefix_len))
			continue;
		if (type == DT_UNKNOWN || type == DT_LNK) {
			if (long_stat(w->path.buf, &st, 0)) {
				fill_entry(w, e, w->root);
				return stat_error(w->path.buf, errno, err);
			}
			if (S_ISDIR(st.st_mode))
				type = DT_DIR;
			else if (S_ISREG(st.st_mode))
				type = DT_REG;
			else
				continue;
		}
		if (type == DT_DIR) {
			s = enter_dir(w, err);
			if (s) {
				fill_entry(w, e, w->root);
				return s;
			}
			continue;
		}
		/* FIFOs, sockets and devices inside a tree: never opened. */
		if (type != DT_REG)
			continue;
		fill_entry(w, e, w->root);
		if (included(w, e->rel)) /* exclusion was tested above */
			return DEDUP_OK;
	}
}

/* Wait until fd is readable, for a descriptor left in non-blocking mode. */
static int wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, -1) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * Read fd to its end into out; size_hint bytes expected (0: unknown).
 * poll_first: wait for data or hang-up before every read.
 */
static dedup_status read_fd(int fd, const char *path, size_t size_hint,
			    int poll_first, size_t max_size,
			    struct dedup_buf *out, struct dedup_error *err)
{
	size_t chunk = 64 * 1024;

	/* One allocation of the right size for regular files. */
	if (size_hint && dedup_buf_grow(out, size_hint))
		return path_error(err, DEDUP_ENOMEM, "cannot read", path,
				  "out of memory");
	for (;;) {
		size_t room = out->alloc ? out->alloc - out->len - 1 : 0;
		ssize_t n;

		if (!room) {
			if (dedup_buf_grow(out, chunk))
				return path_error(err, DEDUP_ENOMEM,
						  "cannot read", path,
						  "out of memory");
			room = out->alloc - out->len - 1;
			if (chunk < 16u << 20)
				chunk *= 2;
		}
		/* One byte past the limit, to tell "at" from "over". */
		if (max_size && max_size - out->len < room - 1)
			room = max_size - out->len + 1;
		if (poll_first && wait_readable(fd))
			n = -1;
		else
			n = read(fd, out->buf + out->len, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    !wait_readable(fd))
				continue;
			out->buf[out->len] = '\0';
			return path_error(err, DEDUP_EIO, "cannot read", path,
					  "%s", strerror(errno));
		}
		if (!n)
			break;
		out->len += (size_t)n;
		if (max_size && out->len > max_size) {
			dedup_buf_setlen(out, max_size);
			return path_error(err, DEDUP_ETOOBIG, "cannot read",
					  path, "larger than %zu bytes",
					  max_size);
		}
		/*
		 * The size fstat() gave is the document (as git reads a
		 * blob): asking for EOF would cost a syscall per file.
		 */
		if (size_hint && out->len == size_hint)
			break;
	}
	if (out->alloc)
		out->buf[out->len] = '\0';
	return DEDUP_OK;
}

/* Failures to find the file say "open", the others "read". */
static dedup_status open_error(const char *path, int e,
			       struct dedup_error *err)
{
	if (e == ENOENT || e == ENOTDIR || e == ELOOP || e == ENAMETOOLONG)
		return stat_error(path, e, err);
	return path_error(err, DEDUP_EIO, "cannot read", path, "%s",
			  strerror(e));
}

dedup_status dedup_read_file(const char *path, size_t max_size,
			     struct dedup_buf *out, struct dedup_error *err)
{
	struct stat st;
	size_t hint = 0;
	dedup_status s;
	int fd, e;

	dedup_buf_reset(out);
	if (!strcmp(path, "-"))
		return read_fd(STDIN_FILENO, "-", 0, 0, max_size, out, err);

	/*
	 * Never block in open(): on a FIFO the walk did not see (it skips
	 * them) or one named as a root, the wait is in poll() below.
	 */
	fd = long_open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return open_error(path, errno, err);
	if (fstat(fd, &st)) {
		e = errno;
		close(fd);
		return path_error(err, DEDUP_EIO, "cannot read", path, "%s",
				  strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return path_error(err, DEDUP_EIO, "cannot read", path, "%s",
				  strerror(EISDIR));
	}
	if (S_ISREG(st.st_mode)) {
		if (max_size && (uintmax_t)st.st_size > max_size) {
			close(fd);
			return path_error(err, DEDUP_ETOOBIG, "cannot read",
					  path, "larger than %zu bytes",
					  max_size);
		}
		hint = (size_t)st.st_size;
	} else if (!S_ISFIFO(st.st_mode)) {
		int fl = fcntl(fd, F_GETFL);

		if (fl >= 0)
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	/*
	 * A FIFO named by the user is read as cat reads it, waiting for a
	 * writer: it stays non-blocking and read_fd() polls before each
	 * read, since a read before the first writer came would be EOF.
	 */
	s = read_fd(fd, path, hint, S_ISFIFO(st.st_mode), max_size, out, err);
	close(fd);
	return s;
}
