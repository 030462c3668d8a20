/*
 * sig.h - stage 3b: a document's signature, the unit the clusterer needs.
 *
 * From the tokens of a cleaned body a signature keeps, in a fixed small
 * size whatever the document's length:
 *   - a MinHash of the document's feature set (content words for the event
 *     level, word 5-shingles for the copy level), for LSH candidates;
 *   - a bottom-k sample of its content terms with their counts, drawn by
 *     hash so that two documents sample the same terms consistently, for
 *     the verified (IDF-weighted cosine) similarity;
 *   - a few scalars: content word count, detected language, a date found in
 *     the text, the hash of the whole body (exact copies).
 * A signature is self-contained and serializable (dedup_sig_encode), so it
 * can be stored in an index, merged from shards, or computed on any thread.
 *
 * Ownership: dedup_sig_init() / dedup_sig_release() for a caller-embedded
 * struct; arrays are owned by the signature.
 */
#ifndef DEDUP_SIG_H
#define DEDUP_SIG_H

#include "dedup/buf.h"
#include "dedup/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dedup_tokens;
struct dedup_stopwords;

enum dedup_level {
	DEDUP_LEVEL_EVENT, /* reports of one event: rewrites too */
	DEDUP_LEVEL_COPY,  /* verbatim and lightly edited copies only */
};

struct dedup_sig_params {
	enum dedup_level level;
	uint32_t nperm;   /* MinHash permutations (1..1024) */
	uint32_t shingle; /* words per shingle at the copy level (1..16) */
	uint32_t kterms;  /* content terms kept for verification (1..4096) */
};

/* Default parameters for a level. */
void dedup_sig_params_default(struct dedup_sig_params *p,
			      enum dedup_level level);
/* DEDUP_EINVAL with a message when a parameter is out of range. */
dedup_status dedup_sig_params_check(const struct dedup_sig_params *p,
				    struct dedup_error *err);

#define DEDUP_DATE_NONE INT32_MIN

struct dedup_sig {
	uint32_t nperm;   /* entries in mins */
	uint32_t nterms;  /* entries in terms/tf */
	uint32_t nwords;  /* content words in the body */
	uint32_t ndistinct; /* distinct content terms (> nterms: sampled) */
	int32_t lang;     /* stopword language index, DEDUP_LANG_NONE */
	int32_t date;     /* days since 1970-01-01 of a date in the text */
	uint64_t body;    /* hash of the folded token stream (exact copies) */
	uint32_t *mins;   /* MinHash values, UINT32_MAX for an empty set */
	uint32_t *terms;  /* term hashes, ascending */
	uint16_t *tf;     /* occurrences of terms[i] in the body (saturated) */
};

void dedup_sig_init(struct dedup_sig *s);
void dedup_sig_release(struct dedup_sig *s);

/*
 * Scratch space for building signatures: one per thread. It also counts,
 * for every distinct content term of every document built through it, one
 * document frequency (see dedup_df below), when `df` is given.
 */
struct dedup_sigbuilder;
struct dedup_df;

dedup_status dedup_sigbuilder_new(struct dedup_sigbuilder **out,
				  const struct dedup_sig_params *p,
				  const struct dedup_stopwords *sw,
				  struct dedup_error *err);
void dedup_sigbuilder_free(struct dedup_sigbuilder *b);

/*
 * Fill `s` (released and rebuilt) from the tokens of one cleaned body.
 * `text` is the cleaned text the tokens came from (dates are looked for in
 * it); when `df` is not NULL each distinct content term is counted once.
 */
dedup_status dedup_sig_build(struct dedup_sigbuilder *b,
			     const struct dedup_tokens *toks,
			     const char *text, size_t len,
			     struct dedup_df *df, struct dedup_sig *s,
			     struct dedup_error *err);

/* The content-term id of a token hash, as stored in dedup_sig.terms. */
uint32_t dedup_sig_term(uint64_t token_hash);

/* Estimated Jaccard similarity of the two MinHash sets. */
double dedup_sig_jaccard(const struct dedup_sig *a, const struct dedup_sig *b);

/* Append a portable encoding (little-endian) of s to out. */
dedup_status dedup_sig_encode(const struct dedup_sig *s, struct dedup_buf *out);
/*
 * Decode one signature from data; *used gets the bytes consumed.
 * DEDUP_EFORMAT when the bytes are not a valid encoding.
 */
dedup_status dedup_sig_decode(struct dedup_sig *s, const void *data,
			      size_t len, size_t *used,
			      struct dedup_error *err);

/*
 * Document frequencies of content terms, counted over a run (and, later,
 * kept in an index). Counts are sums, so merging per-thread tables in any
 * order gives the same table.
 */
dedup_status dedup_df_new(struct dedup_df **out);
void dedup_df_free(struct dedup_df *df);
dedup_status dedup_df_add(struct dedup_df *df, uint32_t term, uint32_t n);
dedup_status dedup_df_merge(struct dedup_df *dst, const struct dedup_df *src);
/* Count one more document (the N of IDF). */
void dedup_df_add_doc(struct dedup_df *df, uint64_t n);
uint32_t dedup_df_get(const struct dedup_df *df, uint32_t term);
uint64_t dedup_df_docs(const struct dedup_df *df);
/* Number of distinct terms. */
size_t dedup_df_size(const struct dedup_df *df);
/*
 * Call fn for every (term, count) in unspecified order; a non-zero return
 * from fn stops the walk and is returned.
 */
int dedup_df_foreach(const struct dedup_df *df,
		     int (*fn)(uint32_t term, uint32_t count, void *arg),
		     void *arg);

#ifdef __cplusplus
}
#endif
#endif
