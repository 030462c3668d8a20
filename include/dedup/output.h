/*
 * output.h - the write stage: result records in the supported formats.
 *
 * One record per document: its path, its cluster (the path of the cluster's
 * representative), its role and its similarity to the representative.
 * Writers are a small table of functions per format. Escaping keeps every
 * path, whatever bytes it holds, from breaking a format:
 *   tsv:   backslash escapes for \t \n \r and \\, other control bytes and
 *          bytes that are not valid UTF-8 as \xHH;
 *   jsonl: JSON string escapes; bytes that are not valid UTF-8 as the lone
 *          surrogate \udcHH (the "surrogateescape" convention);
 *   keep/dups lists: raw paths, one per line, or NUL-terminated with -0.
 * Writers never close the stream; write errors are reported as DEDUP_EIO.
 */
#ifndef DEDUP_OUTPUT_H
#define DEDUP_OUTPUT_H

#include <stdio.h>

#include "dedup/buf.h"
#include "dedup/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum dedup_format {
	DEDUP_FORMAT_TSV,
	DEDUP_FORMAT_JSONL,
	DEDUP_FORMAT_KEEP, /* paths of representatives only */
	DEDUP_FORMAT_DUPS, /* paths of duplicates only */
};

enum dedup_role { DEDUP_ROLE_KEEP, DEDUP_ROLE_DUP };

struct dedup_record {
	const char *path;
	const char *cluster; /* path of the representative */
	enum dedup_role role;
	double score;        /* 0..1, 1 for a representative */
};

struct dedup_writer;

/* nul: terminate records with NUL instead of newline. */
dedup_status dedup_writer_new(struct dedup_writer **out, enum dedup_format fmt,
			      FILE *f, int nul, struct dedup_error *err);
void dedup_writer_free(struct dedup_writer *w);
dedup_status dedup_writer_write(struct dedup_writer *w,
				const struct dedup_record *r,
				struct dedup_error *err);
/* Flush; reports any earlier write error on the stream. */
dedup_status dedup_writer_finish(struct dedup_writer *w,
				 struct dedup_error *err);

/* Escaping helpers, appending to out (exposed for tests and other tools). */
dedup_status dedup_escape_tsv(struct dedup_buf *out, const char *s);
dedup_status dedup_escape_json(struct dedup_buf *out, const char *s);

#ifdef __cplusplus
}
#endif
#endif
