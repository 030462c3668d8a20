/* token_hash.c - the one hash every module applies to a folded token. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dedup/tokenize.h"

/* Fixed so that signatures and indexes stay comparable across runs. */
#define DEDUP_TOKEN_SEED 0x6465647570ULL /* "dedup" */

uint64_t dedup_token_hash(const char *folded, size_t len)
{
	return XXH3_64bits_withSeed(folded, len, DEDUP_TOKEN_SEED);
}
