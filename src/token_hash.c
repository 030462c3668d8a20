/* token_hash.c - the one hash every module applies to a folded token. */
#include "tokenize_int.h"

uint64_t dedup_token_hash(const char *folded, size_t len)
{
	return tok_hash(folded, len);
}
