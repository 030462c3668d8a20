/*
 * walk.h - the read stage: find input files and read them.
 *
 * A walker takes roots (files, directories, "-" for standard input, and
 * lists of paths) and yields one entry per document in a stable order:
 * roots in the order given, each directory's entries sorted bytewise
 * (strcmp), recursively, depth first. Hidden entries (a name starting with
 * '.') inside a directory are skipped; a root is walked whatever its name.
 * Symbolic links are followed; a link back to a directory on the current
 * path is a loop, reported as an error for that link. Only regular files
 * inside directories are documents: FIFOs, sockets and devices met while
 * walking are skipped, never opened. A file named as a root is a document
 * whatever its type, so /dev/stdin or a process substitution (/dev/fd/63)
 * is read as cat would read it.
 *
 * Directories are listed whole and closed before their entries are
 * visited, so depth costs memory, not file descriptors. Paths longer than
 * PATH_MAX work, here and in dedup_read_file(): their leading directories
 * are opened piece by piece. Messages shorten very long paths to their
 * head and tail around "..." (the entry keeps the whole path).
 *
 * Globs (fnmatch) are matched against the path relative to its root with
 * FNM_PATHNAME ('*' stops at '/': "sub/a*.txt" matches "sub/ab.txt", not
 * "sub/x/ab.txt") and against the base name ("*.txt" matches anywhere).
 * With --include globs, a file is a document only if one matches;
 * directories are always descended. --exclude drops matching files and
 * prunes matching directories. Files named as roots are filtered by their
 * base name too; "-" never is.
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
	const char *path; /* as given or joined ("dir/sub/a.txt"), "-" for
			     stdin */
	const char *root; /* the root it was found under */
	const char *rel;  /* path relative to root ("sub/a.txt"); for a file
			     root, its base name */
	int is_stdin;
	int is_stream;    /* a root that is no regular file (pipe, device):
			     it can be read only once, cache its bytes */
};

dedup_status dedup_walk_new(struct dedup_walk **out, struct dedup_error *err);
void dedup_walk_free(struct dedup_walk *w);

/* Narrowing globs; may be called several times each. DEDUP_ENOMEM only. */
dedup_status dedup_walk_include(struct dedup_walk *w, const char *glob);
dedup_status dedup_walk_exclude(struct dedup_walk *w, const char *glob);

/*
 * Queue a root: a file, a directory, or "-" (standard input). The path is
 * copied; it is checked by dedup_walk_next(), so this fails only with
 * DEDUP_ENOMEM. A trailing slash is kept and not doubled: "corpus/" gives
 * "corpus/a.txt".
 */
dedup_status dedup_walk_add_root(struct dedup_walk *w, const char *path);

/*
 * Queue every path listed in `f`, one per line ('\n', with a final '\r'
 * dropped, empty lines ignored) or NUL-terminated when `nul` is set (the
 * last one may lack its NUL). Each path is a root, as with tar -T: a
 * directory is walked. "-" in a list is a file of that name, queued as
 * "./-", never standard input. `name` names the list in messages. Reads f
 * to its end. DEDUP_EFORMAT if a line holds a NUL byte without `nul` (a
 * -print0 list read as lines), DEDUP_EIO if reading f fails.
 */
dedup_status dedup_walk_add_list(struct dedup_walk *w, FILE *f, int nul,
				 const char *name, struct dedup_error *err);

/*
 * Step: DEDUP_OK with *e filled, DEDUP_DONE at the end (and on every later
 * call), or an error status for one path that cannot be walked: err names
 * the path and the reason, e->path is that path, and the caller may go on
 * calling dedup_walk_next(). DEDUP_EIO for
 *   "cannot open 'x': No such file or directory (broken symbolic link)",
 *   "cannot open 'x': <strerror>" (a missing root, a link that cannot be
 *   followed), "cannot read directory 'x': <strerror>",
 *   "cannot walk 'x/up': symbolic link loop back to 'x'";
 * DEDUP_ENOMEM when memory runs out.
 */
dedup_status dedup_walk_next(struct dedup_walk *w, struct dedup_walk_entry *e,
			     struct dedup_error *err);

/*
 * Read a whole document into out (reset first): a path, or standard input
 * when path is "-". More than max_size bytes (0: no limit) fails with
 * DEDUP_ETOOBIG. Errors name the path and carry strerror(errno), as
 * DEDUP_EIO: "cannot open 'x': ..." when the path does not lead to a file
 * (with " (broken symbolic link)" for a dangling link), "cannot read 'x':
 * ..." otherwise (permissions, a directory, an I/O error). A regular file
 * is read into a buffer sized once from fstat(); open() never blocks: a
 * FIFO waits for its writer in poll(), as cat would wait in open().
 */
dedup_status dedup_read_file(const char *path, size_t max_size,
			     struct dedup_buf *out, struct dedup_error *err);

#ifdef __cplusplus
}
#endif
#endif
