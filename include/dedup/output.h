/*
 * output.h - the write stage: result records in the supported formats.
 *
 * One record per document: its path, its cluster (the path of the cluster's
 * representative), its role and its similarity to the representative.
 * Writers are a small table of functions per format:
 *   tsv:   path \t cluster \t role \t score, e.g. "a.txt\tb.txt\tdup\t0.8421"
 *   jsonl: {"path":"a.txt","cluster":"b.txt","role":"dup","score":0.8421}
 *   keep/dups lists: the raw path of each representative (keep) or each
 *          duplicate (dups); other records are left out.
 * Each record ends with '\n', or with '\0' when `nul` is set (-0). The
 * role is "keep" or "dup". The score is "1" for 1, otherwise printf "%.4f"
 * without trailing zeros ("0.5", "0.8421", "0"); scores past 0..1 are
 * clamped into it.
 *
 * Escaping keeps every path, whatever bytes it holds, from breaking a
 * format, and can be undone exactly:
 *   tsv:   backslash escapes for \t \n \r and \\, other control bytes
 *          (< 0x20, 0x7f) and bytes that are not valid UTF-8 as \xHH (two
 *          lowercase hex digits), each such byte alone; the output is valid
 *          UTF-8 without tabs or newlines;
 *   jsonl: JSON string escapes (\" \\ \b \f \n \r \t, \u00XX for other
 *          control bytes and 0x7f); bytes that are not valid UTF-8 as the
 *          lone surrogate \udcXX, XX the byte (Python's "surrogateescape",
 *          PEP 383), which valid UTF-8 never produces;
 *   keep/dups lists: not escaped; with names holding newlines use -0.
 * "Valid UTF-8" is RFC 3629: no overlong forms, surrogates or code points
 * past U+10FFFF.
 *
 * A writer is created by dedup_writer_new() and freed by the caller with
 * dedup_writer_free(); it never closes the stream. The first write error is
 * kept: that call, every later one and dedup_writer_finish() return
 * DEDUP_EIO with "cannot write output: <strerror>" (EPIPE included; the
 * caller decides to be quiet about a closed pipe).
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

/*
 * nul: terminate records with NUL instead of newline. DEDUP_EINVAL for an
 * unknown format or a NULL stream.
 */
dedup_status dedup_writer_new(struct dedup_writer **out, enum dedup_format fmt,
			      FILE *f, int nul, struct dedup_error *err);
void dedup_writer_free(struct dedup_writer *w);
/*
 * Format one record and hand it to the stream in one fwrite(). DEDUP_EINVAL
 * for a NULL path or cluster or a NaN score, DEDUP_EIO on a write error.
 */
dedup_status dedup_writer_write(struct dedup_writer *w,
				const struct dedup_record *r,
				struct dedup_error *err);
/* Flush; reports any earlier write error on the stream. */
dedup_status dedup_writer_finish(struct dedup_writer *w,
				 struct dedup_error *err);

/*
 * Escaping helpers, appending the escaped form of the string s to out
 * (without quotes); DEDUP_ENOMEM if out cannot grow. Exposed for tests and
 * other tools.
 */
dedup_status dedup_escape_tsv(struct dedup_buf *out, const char *s);
dedup_status dedup_escape_json(struct dedup_buf *out, const char *s);

#ifdef __cplusplus
}
#endif
#endif
