/*
 * cluster.h - stage 4: LSH candidates, verified similarity, clusters.
 *
 * Candidates come from LSH banding over MinHash values: at the copy level
 * the signatures' own MinHash of word shingles; at the event level a
 * weighted MinHash of each document's strongest terms (a term wins a
 * permutation with probability proportional to its weight, as in the
 * P-MinHash of Moulton and Jiang 2018), so that common words do not make
 * every pair a candidate. Bands and rows are derived from lsh_threshold by
 * minimizing the expected false positives plus false negatives, as
 * datasketch does. Buckets larger than max_bucket only link neighbours, so
 * common content cannot explode the candidate count. A pair is a
 * candidate when it shares min_bands bands: at the event level (one row
 * a band, 82 bands) two, since one term of two documents winning one
 * permutation is most often a common name, not a shared event. Candidate
 * pairs are never listed: each band is walked alone and a pair verified
 * in the band that makes it a candidate, so memory is the band keys (at
 * the event level with one row, a byte a band in the signature: the
 * winning term's place among its terms; 4 or 8 bytes otherwise) and the
 * pairs kept for the linkage, whatever the candidate count.
 *
 * Candidates are verified: at the event level by the cosine of the two
 * signatures' unit vectors less its largest single product (one shared
 * place or station name alone does not make two reports alike), and
 * minus the threshold when both are dated more than date_window days
 * apart (as much against a merge as a pair at the threshold counts for
 * it: dates read from texts are often those of earlier events, so a date
 * is evidence, not a veto); at the copy level
 * by the MinHash estimate of shingle Jaccard. Identical bodies score 1.
 * Clusters form by greedy average linkage over the verified pairs: the
 * pair of clusters with the highest mean similarity over their cross pairs
 * (pairs never compared count as 0) merges first, while that mean reaches
 * the threshold and the result stays within max_cluster documents (exact
 * copies, of one body hash and word count, count once: they take part as
 * their first, and join its cluster at the end; so do near copies in
 * groups of more than max_bucket / 2, see src/cluster.c). A
 * chain A~B~C~D therefore cannot pull an unrelated D next to A. Measured
 * choices and figures: bench/RESULTS.md. The `df` arguments are kept for
 * callers; the weights are in the signatures.
 *
 * Each cluster's representative is the document with the earliest date
 * found in its text; without dates, the one with the most content words;
 * then the first in input order.
 */
#ifndef DEDUP_CLUSTER_H
#define DEDUP_CLUSTER_H

#include "dedup/common.h"
#include "dedup/sig.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dedup_cluster_params {
	enum dedup_level level;
	double threshold;     /* verified similarity for a merge, 0..1 */
	double lsh_threshold; /* similarity the banding aims at, 0..1 */
	uint32_t nhash;       /* MinHash values used for banding */
	uint32_t bands, rows; /* 0, 0: derived from lsh_threshold, nhash */
	uint32_t top_terms;   /* event level: terms in the weighted MinHash */
	uint32_t max_bucket;  /* larger buckets only link neighbours */
	uint32_t max_cluster; /* no cluster grows beyond this, exact
				 copies counted once */
	uint32_t min_bands;   /* bands a pair shares to be a candidate
				 (event: 2, copy: 1; 0 as 1) */
	int32_t date_window;  /* days; dated documents further apart count
				 against a merge (0: no window) */
	uint32_t threads;     /* threads for hashing, banding and verifying
				 (0 or 1: the caller's only); the result
				 does not depend on it */
};

void dedup_cluster_params_default(struct dedup_cluster_params *p,
				  enum dedup_level level);
dedup_status dedup_cluster_params_check(const struct dedup_cluster_params *p,
					struct dedup_error *err);

/*
 * Bands and rows (b * r <= nhash) minimizing the integral of false
 * positives below t plus false negatives above t of the S-curve
 * 1 - (1 - s^r)^b.
 */
void dedup_lsh_optimal(double t, uint32_t nhash, uint32_t *bands,
		       uint32_t *rows);

/* Number of LSH bands (band keys per document) under p. */
uint32_t dedup_cluster_bands(const struct dedup_cluster_params *p);

/*
 * Set the LSH fields of sp (lsh_top, lsh_bands) so that signatures built
 * with it name the winners of the bands the clustering with p draws, at
 * the event level (none at the copy level). The clustering then reads
 * them instead of drawing them again, and needs no keys of its own.
 */
void dedup_cluster_sig_params(const struct dedup_cluster_params *p,
			      struct dedup_sig_params *sp);

/*
 * The LSH band keys of one signature, dedup_cluster_bands(p) of them, as
 * the clusterer computes them (an index stores them to find candidates
 * without loading every signature). Returns 1, 0 when the document has no
 * features (it is never a candidate; keys untouched), -1 when out of
 * memory.
 */
int dedup_cluster_keys(const struct dedup_cluster_params *p,
		       const struct dedup_df *df, const struct dedup_sig *s,
		       uint64_t *keys);

struct dedup_assign {
	uint32_t rep;  /* index of the cluster's representative */
	double score;  /* similarity to the representative, 1 for itself */
};

struct dedup_cluster_stats {
	uint64_t candidates; /* distinct candidate pairs */
	uint64_t verified;   /* pairs at or above the threshold */
	uint64_t linked;     /* pairs the linkage weighs */
	uint64_t clusters;   /* clusters with two or more documents */
	uint32_t bands, rows;
};

/*
 * Cluster n signatures. `df` (may be NULL at the copy level) gives the
 * document frequencies for IDF. out[i] receives document i's assignment.
 * stats may be NULL.
 */
dedup_status dedup_cluster_run(const struct dedup_cluster_params *p,
			       const struct dedup_sig *sigs, size_t n,
			       const struct dedup_df *df,
			       struct dedup_assign *out,
			       struct dedup_cluster_stats *stats,
			       struct dedup_error *err);

/*
 * The same, with the first `npinned` documents already clustered (read
 * from an index): pinned_rep[i] (< npinned) is the representative of
 * pinned document i. Their clusters keep their members and representative;
 * two of them never merge; a new document may join one (naming its
 * representative) or form clusters with other new documents.
 */
dedup_status dedup_cluster_run_pinned(const struct dedup_cluster_params *p,
				      const struct dedup_sig *sigs, size_t n,
				      size_t npinned,
				      const uint32_t *pinned_rep,
				      const struct dedup_df *df,
				      struct dedup_assign *out,
				      struct dedup_cluster_stats *stats,
				      struct dedup_error *err);

/*
 * The verified similarity of two signatures under p and df (what
 * dedup_cluster_run compares against the threshold).
 */
double dedup_similarity(const struct dedup_cluster_params *p,
			const struct dedup_df *df, const struct dedup_sig *a,
			const struct dedup_sig *b);

#ifdef __cplusplus
}
#endif
#endif
