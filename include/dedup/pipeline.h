/*
 * pipeline.h - the stages wired together, for one document and for a run.
 *
 * struct dedup_context holds what every thread shares read-only: options,
 * the compiled rules and the stopword lists. struct dedup_worker holds one
 * thread's stage contexts (ICU converters, PCRE2 match data, buffers) and
 * turns a document's bytes into cleaned text or a signature.
 *
 * struct dedup_run processes a list of documents: a first pass counts the
 * lines that recur across documents (corpus-level boilerplate evidence),
 * headline pieces and the document frequencies of terms, a second builds
 * each document's signature, then the clusterer assigns every document.
 * Per-document work and most of the clustering (hashing, banding,
 * verifying candidates) are spread over threads; results do not depend on
 * the thread count or on timing. Only signatures are kept between passes,
 * never the text; without an index, the frequencies of terms seen in a
 * single document are dropped after the first pass (signatures drop those
 * terms), which leaves about 55 shared terms per news article.
 *
 * Ownership: every _new has its _free; a run copies the paths it is given;
 * strings returned by accessors belong to the run.
 */
#ifndef DEDUP_PIPELINE_H
#define DEDUP_PIPELINE_H

#include "dedup/buf.h"
#include "dedup/cluster.h"
#include "dedup/common.h"
#include "dedup/sig.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dedup_options {
	struct dedup_sig_params sig;
	struct dedup_cluster_params cluster;
	int strip;             /* remove boilerplate (rules and evidence) */
	int corpus_lines;      /* first pass: lines recurring across docs */
	int builtin_rules;     /* load data/rules/default.rules */
	const char *const *rule_files;
	size_t n_rule_files;
	unsigned threads;      /* 0: one per available core */
	size_t max_doc_size;   /* bytes; larger documents are an error */
	/*
	 * Documents whose terms the first pass counts (default 0: every
	 * document): a run of more counts a share of them picked by a hash
	 * of their path, about this many, and weighs terms by their frequency
	 * in that share; a term the share does not hold is taken as rare,
	 * since it may be shared. Without an index only: an index stores
	 * exact counts.
	 */
	uint64_t df_sample;
};

/* Defaults for a level (event or copy). */
void dedup_options_default(struct dedup_options *o, enum dedup_level level);

struct dedup_context;

/*
 * Compiles rules and loads stopwords; the options are copied. Without
 * `strip` the built-in rules are not compiled (rule files still are).
 */
dedup_status dedup_context_new(struct dedup_context **out,
			       const struct dedup_options *o,
			       struct dedup_error *err);
void dedup_context_free(struct dedup_context *ctx);
const struct dedup_options *dedup_context_options(
	const struct dedup_context *ctx);

struct dedup_worker;
struct dedup_linestats;
struct dedup_index;
struct dedup_index_settings;

/*
 * The settings an index must have to be used with this context: the
 * signature and LSH parameters, and a hash of the cleaning options and
 * rule files (a change there changes signatures).
 */
dedup_status dedup_context_index_settings(const struct dedup_context *ctx,
					  struct dedup_index_settings *set,
					  struct dedup_error *err);

dedup_status dedup_worker_new(struct dedup_worker **out,
			      const struct dedup_context *ctx,
			      struct dedup_error *err);
/*
 * A worker for dedup_worker_clean() alone, as `dedup clean` needs: without
 * the tokenizer and signature builder, whose set-up costs as much as
 * repairing a few hundred articles. dedup_worker_sig() on it fails with
 * DEDUP_EINVAL. Freed with dedup_worker_free().
 */
dedup_status dedup_worker_new_clean(struct dedup_worker **out,
				    const struct dedup_context *ctx,
				    struct dedup_error *err);
void dedup_worker_free(struct dedup_worker *w);

/*
 * Repaired (and, when `strip` is set, stripped) text of one document into
 * out. `lines` (may be NULL) gives corpus-level line counts. When `log` is
 * not NULL it receives what stripping removed (see dedup_strip()).
 * DEDUP_EBINARY when the bytes are not text; DEDUP_EINVAL for `strip` with
 * a context made without it.
 */
dedup_status dedup_worker_clean(struct dedup_worker *w, const char *bytes,
				size_t len, int strip,
				const struct dedup_linestats *lines,
				struct dedup_buf *out, struct dedup_buf *log,
				struct dedup_error *err);

/*
 * Why the last document cleaned by this worker was cleaned less than
 * asked (a rule stopped by PCRE2's match limit: its name, file and line),
 * or NULL.
 */
const char *dedup_worker_warning(const struct dedup_worker *w);

/*
 * Signature of one document, weighted by the document frequencies in df
 * (NULL: unweighted), without the site-name words in site (may be NULL).
 */
dedup_status dedup_worker_sig(struct dedup_worker *w, const char *bytes,
			      size_t len, const struct dedup_linestats *lines,
			      const struct dedup_df *df,
			      const struct dedup_sitenames *site,
			      struct dedup_sig *sig, struct dedup_error *err);

struct dedup_run;

dedup_status dedup_run_new(struct dedup_run **out,
			   const struct dedup_context *ctx,
			   struct dedup_error *err);
void dedup_run_free(struct dedup_run *run);

/*
 * Match the run against an open index (not owned): the index's line
 * counts and document frequencies join the run's, new documents are
 * clustered with the indexed documents they resemble (indexed clusters
 * stay as they are, their representative stays the keep), a document
 * already indexed with the same path and content is not processed again
 * but reported as stored, and every new document is added to the index.
 * The caller commits the index after dedup_run_execute().
 */
void dedup_run_set_index(struct dedup_run *run, struct dedup_index *ix);

/*
 * Add a document by path ("-": standard input). Each pass reads a file
 * again; what cannot be read twice (standard input, a pipe, a device) is
 * read at once and kept. dedup_run_add() asks the system which a path
 * names; a caller that has looked already (a walk) says so with
 * dedup_run_add_walked(), `stream` nonzero for a path to read once, and
 * spares a stat(2) per document.
 */
dedup_status dedup_run_add(struct dedup_run *run, const char *path,
			   struct dedup_error *err);
dedup_status dedup_run_add_walked(struct dedup_run *run, const char *path,
				  int stream, struct dedup_error *err);

/*
 * First pass only, for the line counts (`dedup clean`): read and repair
 * every document and count recurring lines. dedup_run_execute() counts
 * them in its own first pass, with headline pieces (site names) and the
 * document frequencies of terms; after this call it reads the documents
 * once more for those. Per-document failures are recorded, not returned.
 */
dedup_status dedup_run_count_lines(struct dedup_run *run,
				   struct dedup_error *err);
const struct dedup_linestats *dedup_run_lines(const struct dedup_run *run);

/*
 * Every pass and the clustering. Returns an error only for a failure of
 * the whole run (out of memory); a document that cannot be processed is
 * recorded (see dedup_run_doc) and becomes a singleton without a record.
 */
dedup_status dedup_run_execute(struct dedup_run *run, struct dedup_error *err);

size_t dedup_run_count(const struct dedup_run *run);

struct dedup_doc_info {
	const char *path;
	dedup_status status;   /* DEDUP_OK, or why it could not be processed */
	const char *message;   /* the reason, or NULL */
	int empty;             /* processed, but no text left (a warning) */
	int keep;              /* 1 when the document represents its cluster */
	int indexed;           /* 1 when found in the index as it is */
	const char *warning;   /* processed, but cleaned less than asked
				  (a rule stopped by its match limit), or
				  NULL */
	const char *rep_path;  /* path of the representative (in this run or
				  in the index) */
	double score;          /* similarity to the representative */
};

/*
 * Details of document i (after dedup_run_execute for rep and score). The
 * run keeps its paths compactly and writes the two of info (path and
 * rep_path) into buffers of its own: they stay valid until the next call
 * on the same run, so one thread asks at a time and a caller that needs
 * a path for longer copies it. The other strings last as long as the run.
 */
void dedup_run_doc(const struct dedup_run *run, size_t i,
		   struct dedup_doc_info *info);

/* Bytes of document i, for callers that process documents themselves. */
dedup_status dedup_run_read(const struct dedup_run *run, size_t i,
			    struct dedup_buf *out, struct dedup_error *err);

const struct dedup_cluster_stats *dedup_run_stats(const struct dedup_run *run);
/*
 * The document frequencies the signatures were weighed with (with an
 * index, its counts and this run's). Without an index, the terms are
 * dropped once the signatures are built (the clustering does not read
 * them): after dedup_run_execute() the table holds the document count
 * only.
 */
const struct dedup_df *dedup_run_df(const struct dedup_run *run);
const struct dedup_sig *dedup_run_sig(const struct dedup_run *run, size_t i);

#ifdef __cplusplus
}
#endif
#endif
