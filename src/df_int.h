/*
 * df_int.h - document frequencies in bounded memory (internal, for the
 * pipeline and its benchmark).
 */
#ifndef DEDUP_DF_INT_H
#define DEDUP_DF_INT_H

#include "dedup/sig.h"

/*
 * Make df (empty) keep only the terms seen in at least two documents, in
 * memory that grows with the shared terms, not with every distinct one:
 * first sightings go to a filter of about 256 bytes per document of `docs`
 * (the run's count; at least 2 MiB). The filter's false positives count a
 * term one document too many, never too few (df.c says how). Counts then
 * depend on the order in which dedup_df_add() and dedup_df_merge() feed
 * df (merge whole batches in a fixed order for a result independent of
 * threads). docs 0 drops the filter: df counts every term again (call it
 * after pruning to give the filter's memory back).
 */
dedup_status dedup_df_bound(struct dedup_df *df, uint64_t docs);

/*
 * A run of n documents may count the terms of a sample of them only: about
 * `sample` documents (0: all), picked by a hash of their path, so that the
 * sample is the same whatever the threads, the order of the documents or
 * the others beside them. dedup_df_share() gives the share for a run (0:
 * every document counts), dedup_df_sampled() whether a path is in it.
 */
uint64_t dedup_df_share(uint64_t sample, uint64_t n);
int dedup_df_sampled(uint64_t share, const char *path);

/*
 * What dedup_df_get() answers for a term df does not hold (0 unless set):
 * a table counted over a sample of the documents does not know the terms
 * it missed, and takes them as rare.
 */
void dedup_df_set_floor(struct dedup_df *df, uint32_t floor);

/*
 * dedup_df_get() of terms[0..n) into counts[] (which may be terms), the
 * loads of a large table overlapped: what a signature asks of a pruned
 * table (dedup_df_prune() freezes it into a compact form that reads two
 * cache lines a lookup).
 */
void dedup_df_get_many(const struct dedup_df *df, const uint32_t *terms,
		       size_t n, uint32_t *counts);

/*
 * Documents per batch of the first pass: each batch is counted exactly in a
 * table of its own (small enough to stay in the caches), and the batches
 * go into the bounded table in input order, whatever thread counted them.
 */
#define DEDUP_DF_BATCH 64

/*
 * A batch of the first pass: each document's distinct terms noted as they
 * come, sorted and counted once the batch is whole (dedup_dfbatch_seal(),
 * which dedup_df_merge_batch() calls if need be: a thread seals its batch
 * before it takes the lock that merges). Merged into a table, a batch
 * counts as the same terms added to a struct dedup_df and merged would.
 */
struct dedup_dfbatch;

dedup_status dedup_dfbatch_new(struct dedup_dfbatch **out);
void dedup_dfbatch_free(struct dedup_dfbatch *b);
/* Empty again, its memory kept. */
void dedup_dfbatch_clear(struct dedup_dfbatch *b);
/* One more document, with the n distinct terms of terms[] (a sealed
 * batch takes more too, and is sealed again when merged). */
dedup_status dedup_dfbatch_add_doc(struct dedup_dfbatch *b,
				   const uint32_t *terms, size_t n);
dedup_status dedup_dfbatch_seal(struct dedup_dfbatch *b);
uint64_t dedup_dfbatch_docs(const struct dedup_dfbatch *b);
/* Distinct terms of a sealed batch. */
size_t dedup_dfbatch_size(const struct dedup_dfbatch *b);
dedup_status dedup_df_merge_batch(struct dedup_df *dst,
				  struct dedup_dfbatch *src);

/*
 * dedup_sig_count() into a batch: the document's distinct content terms
 * and bigrams, as dedup_sig_count() counts them.
 */
dedup_status dedup_sig_count_batch(struct dedup_sigbuilder *b,
				   const struct dedup_tokens *toks,
				   struct dedup_dfbatch *batch,
				   struct dedup_error *err);

#endif
