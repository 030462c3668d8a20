/*
 * lsh_int.h - the event level's weighted MinHash, shared by the
 * clustering (cluster.c) and the signatures that name their band winners
 * (sig.c), which alone see the full 32-bit term ids it hashes.
 */
#ifndef DEDUP_LSH_INT_H
#define DEDUP_LSH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dedup/cluster.h"

/*
 * The P-MinHash values of n terms (tw: packed as dedup_term_pack(); ids:
 * their ids, NULL for the 24 bits tw holds), drawn from the `top`
 * strongest: out[i] is the id that wins permutation i, for i < nv. key
 * has room for n values.
 */
void dedup_lsh_values(const uint32_t *tw, const uint32_t *ids, uint32_t n,
		      uint32_t top, uint32_t nv, uint32_t *out, uint64_t *key);

/*
 * The P-MinHash winners of m keys (as dedup_lsh_values() makes them) for
 * nhash permutations, with the instructions of at most `isa` (0 portable,
 * 1 AVX2, 2 AVX-512), for tests: every isa gives the same winners.
 */
void dedup_pminhash_isa(const uint64_t *key, uint32_t m, uint32_t nhash,
			uint32_t *out, unsigned isa);

/* Sort n values ascending in place (the band records' sort). */
void dedup_sort64(uint64_t *v, size_t n);

/* dedup_lsh_optimal() by a pow() for every power (its reference). */
void dedup_lsh_optimal_pow(double t, uint32_t nhash, uint32_t *bands,
			   uint32_t *rows);

/*
 * dedup_cluster_run_pinned() with the second round's pairs of components
 * of up to `direct` documents found without the bands (0: every
 * component through the bands), for tests: the results are the same.
 */
dedup_status dedup_cluster_run_direct(const struct dedup_cluster_params *p,
				      const struct dedup_sig *sigs, size_t n,
				      size_t npinned,
				      const uint32_t *pinned_rep,
				      const struct dedup_df *df,
				      struct dedup_assign *out,
				      struct dedup_cluster_stats *stats,
				      uint32_t direct, struct dedup_error *err);

/*
 * The clustering's linkage alone, for tests: n documents, npairs pairs
 * (lower << 32 | higher, ascending, each once) of similarity s[i]; root[i]
 * is the cluster document i ends in (its lowest document). 0, or -1 when
 * out of memory.
 */
int dedup_linkage(const struct dedup_cluster_params *p, size_t n,
		  const uint64_t *pair, const double *s, size_t npairs,
		  uint32_t *root);

#endif
