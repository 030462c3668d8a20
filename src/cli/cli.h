/* cli.h - pieces of the dedup command shared between its source files. */
#ifndef DEDUP_CLI_H
#define DEDUP_CLI_H

#include <stddef.h>

#include "dedup/pipeline.h"

/* The documents of one invocation, in input order. */
struct cli_input {
	char *path; /* as walked */
	char *rel;  /* relative to the PATH it was found under */
};

struct cli_inputs {
	struct cli_input *v;
	size_t n, alloc;
};

int cli_inputs_add(struct cli_inputs *in, const char *path, const char *rel);
void cli_inputs_release(struct cli_inputs *in);

/* "dedup: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The subcommands; each returns 0, or -1 after a fatal error (reported). */
int cli_clean(struct dedup_context *ctx, const struct cli_inputs *in,
	      const char *out_dir, int strip, int *failed);
/*
 * argv[0] and argv[1] are the two documents, the rest (argc > 2) a corpus
 * for document frequencies. Returns an exit status.
 */
int cli_explain(struct dedup_context *ctx, int argc, char **argv);

#endif
