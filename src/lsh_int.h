/*
 * lsh_int.h - the event level's weighted MinHash, shared by the
 * clustering (cluster.c) and the signatures that name their band winners
 * (sig.c), which alone see the full 32-bit term ids it hashes.
 */
#ifndef DEDUP_LSH_INT_H
#define DEDUP_LSH_INT_H

#include <stdint.h>

/*
 * The P-MinHash values of n terms (tw: packed as dedup_term_pack(); ids:
 * their ids, NULL for the 24 bits tw holds), drawn from the `top`
 * strongest: out[i] is the id that wins permutation i, for i < nv. key
 * has room for n values.
 */
void dedup_lsh_values(const uint32_t *tw, const uint32_t *ids, uint32_t n,
		      uint32_t top, uint32_t nv, uint32_t *out, uint64_t *key);

#endif
