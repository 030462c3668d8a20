/* cli.h - pieces of the dedup command shared between its source files. */
#ifndef DEDUP_CLI_H
#define DEDUP_CLI_H

#include <stddef.h>

#include "dedup/pipeline.h"

/* Exit statuses, documented in README.md and --help. */
enum {
	EXIT_OK = 0,
	EXIT_SOME_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_LOCKED = 3,
};

struct dedup_index;

/* `dedup index stats|compact FILE`; returns an exit status. */
int cli_index_cmd(int argc, char **argv, long expire_days);
/* Commit with --expire DAYS (0: none); 0 or -1 (reported). */
int cli_index_commit(struct dedup_index *ix, const char *path, long days);

/* The documents of one invocation, in input order. */
struct cli_input {
	char *path; /* as walked */
	char *rel;  /* relative to the PATH it was found under */
	int stream; /* standard input, a pipe or a device: read once */
};

struct cli_inputs {
	struct cli_input *v;
	size_t n, alloc;
};

int cli_inputs_add(struct cli_inputs *in, const char *path, const char *rel,
		   int stream);
void cli_inputs_release(struct cli_inputs *in);

/*
 * Temporary files being written are removed when SIGINT, SIGTERM or SIGHUP
 * ends the program. Slot CLI_TMP_INDEX is an index's, CLI_TMP_CLEAN + k
 * the cleaned document thread k of `dedup clean` writes; a slot is used by
 * one thread at a time. cli_tmp_set() registers a path before the file is
 * created, cli_tmp_set_at() a name relative to an open directory (which
 * must stay open until cli_tmp_clear(), called once the file is renamed
 * or removed). When a signal is ending the program they do not return:
 * the file must not be created, and the thread waits for the end.
 */
enum {
	CLI_TMP_INDEX,
	CLI_TMP_CLEAN,
	CLI_CLEAN_THREADS = 31, /* at most, for `dedup clean` */
	CLI_TMP_SLOTS = CLI_TMP_CLEAN + CLI_CLEAN_THREADS,
};
void cli_signals_init(void);
void cli_tmp_set(int slot, const char *path);
void cli_tmp_set_at(int slot, int dirfd, const char *name);
void cli_tmp_clear(int slot);

/* "dedup: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The subcommands; each returns 0, or -1 after a fatal error (reported).
 * cli_clean() works on the context's thread count; what it writes and
 * prints does not depend on it.
 */
int cli_clean(struct dedup_context *ctx, const struct cli_inputs *in,
	      const char *out_dir, int quiet, int *failed);
/*
 * Explain documents a and b; `corpus` (may be empty) are more documents
 * whose frequencies weigh the terms. Returns an exit status.
 */
int cli_explain(struct dedup_context *ctx, const char *a, const char *b,
		const struct cli_inputs *corpus);

#endif
