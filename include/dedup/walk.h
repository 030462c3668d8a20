/*
 * walk.h - the read stage: find input files and read them.
 *
 * A walker takes roots (files, directories, "-" for standard input, and
 * lists of paths) and yields one entry per document in a stable order:
 * roots in the order given, each directory's entries sorted bytewise,
 * recursively. Hidden entries (a name starting with '.') inside a directory
 * are skipped; symbolic links are followed, with loops detected; only
 * regular files inside directories are documents (FIFOs, sockets and
 * devices met while walking are skipped, never opened). --include and
 * --exclude globs (fnmatch, matched against the path relative to its root
 * and against the base name) narrow the set.
 *
 * The walker owns the strings in an entry; they stay valid until the next
 * call to dedup_walk_next() or dedup_walk_free().
 */
#ifndef DEDUP_WALK_H
#define DEDUP_WALK_H

#include <stdio.h>

#include "dedup/buf.h"
#include "dedup/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dedup_walk;

struct dedup_walk_entry {
	const char *path; /* as given or joined ("dir/sub/a.txt"), "-" for stdin */
	const char *root; /* the root it was found under */
	const char *rel;  /* path relative to root ("sub/a.txt"); for a file
			     root, its base name */
	int is_stdin;
};

dedup_status dedup_walk_new(struct dedup_walk **out, struct dedup_error *err);
void dedup_walk_free(struct dedup_walk *w);

/* Narrowing globs; may be called several times each. */
dedup_status dedup_walk_include(struct dedup_walk *w, const char *glob);
dedup_status dedup_walk_exclude(struct dedup_walk *w, const char *glob);

/* Queue a root: a file, a directory, or "-" (standard input). */
dedup_status dedup_walk_add_root(struct dedup_walk *w, const char *path);

/*
 * Queue every path listed in `f`, one per line ('\n', with a final '\r'
 * dropped, empty lines ignored) or NUL-terminated when `nul` is set.
 * `name` names the list in messages. Reads f to its end.
 */
dedup_status dedup_walk_add_list(struct dedup_walk *w, FILE *f, int nul,
				 const char *name, struct dedup_error *err);

/*
 * Step: DEDUP_OK with *e filled, DEDUP_DONE at the end, or an error status
 * for one path that cannot be walked (a broken symbolic link, a directory
 * that cannot be opened, a loop): err names the path and the reason, e->path
 * is that path, and the caller may go on calling dedup_walk_next().
 */
dedup_status dedup_walk_next(struct dedup_walk *w, struct dedup_walk_entry *e,
			     struct dedup_error *err);

/*
 * Read a whole document into out (reset first): a path, or standard input
 * when path is "-". More than max_size bytes (0: no limit) fails with
 * DEDUP_ETOOBIG. Errors name the path and carry strerror(errno).
 */
dedup_status dedup_read_file(const char *path, size_t max_size,
			     struct dedup_buf *out, struct dedup_error *err);

#ifdef __cplusplus
}
#endif
#endif
