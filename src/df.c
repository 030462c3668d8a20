/*
 * df.c - document frequencies of content terms (see dedup/sig.h).
 *
 * Open addressing with linear probing over 32-bit term hashes; the value 0
 * marks an empty slot, so the term 0 is stored as 1 (a collision on one
 * hash value in four billion, harmless for IDF).
 */
#include <stdlib.h>

#include "dedup/sig.h"

struct dedup_df {
	uint32_t *keys;
	uint32_t *counts;
	size_t mask;  /* capacity - 1, capacity a power of two */
	size_t used;
	uint64_t docs;
};

static size_t slot_of(uint32_t key, size_t mask)
{
	/* Fibonacci hashing spreads clustered keys. */
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & mask;
}

static dedup_status df_alloc(struct dedup_df *df, size_t cap)
{
	df->keys = calloc(cap, sizeof(*df->keys));
	df->counts = calloc(cap, sizeof(*df->counts));
	if (!df->keys || !df->counts) {
		free(df->keys);
		free(df->counts);
		df->keys = NULL;
		df->counts = NULL;
		return DEDUP_ENOMEM;
	}
	df->mask = cap - 1;
	df->used = 0;
	return DEDUP_OK;
}

dedup_status dedup_df_new(struct dedup_df **out)
{
	struct dedup_df *df = calloc(1, sizeof(*df));

	*out = NULL;
	if (!df)
		return DEDUP_ENOMEM;
	if (df_alloc(df, 1024)) {
		free(df);
		return DEDUP_ENOMEM;
	}
	*out = df;
	return DEDUP_OK;
}

void dedup_df_free(struct dedup_df *df)
{
	if (!df)
		return;
	free(df->keys);
	free(df->counts);
	free(df);
}

static uint32_t *find(const struct dedup_df *df, uint32_t key, int *found)
{
	size_t i = slot_of(key, df->mask);

	while (df->keys[i] && df->keys[i] != key)
		i = (i + 1) & df->mask;
	*found = df->keys[i] != 0;
	return &df->keys[i];
}

static dedup_status grow(struct dedup_df *df)
{
	struct dedup_df old = *df;
	size_t i;

	if (df_alloc(df, (old.mask + 1) * 2)) {
		*df = old;
		return DEDUP_ENOMEM;
	}
	for (i = 0; i <= old.mask; i++) {
		if (old.keys[i]) {
			int found;
			uint32_t *k = find(df, old.keys[i], &found);

			*k = old.keys[i];
			df->counts[k - df->keys] = old.counts[i];
			df->used++;
		}
	}
	free(old.keys);
	free(old.counts);
	return DEDUP_OK;
}

dedup_status dedup_df_add(struct dedup_df *df, uint32_t term, uint32_t n)
{
	uint32_t *k;
	int found;

	if (!term)
		term = 1;
	if ((df->used + 1) * 4 > (df->mask + 1) * 3 && grow(df))
		return DEDUP_ENOMEM;
	k = find(df, term, &found);
	if (!found) {
		*k = term;
		df->used++;
	}
	df->counts[k - df->keys] += n;
	return DEDUP_OK;
}

dedup_status dedup_df_merge(struct dedup_df *dst, const struct dedup_df *src)
{
	size_t i;

	/*
	 * Grow first: inserting src's keys in its slot order into a smaller
	 * table of the same hash piles them into long probe runs.
	 */
	while ((dst->used + src->used) * 2 > dst->mask + 1)
		if (grow(dst))
			return DEDUP_ENOMEM;

	for (i = 0; i <= src->mask; i++)
		if (src->keys[i] &&
		    dedup_df_add(dst, src->keys[i], src->counts[i]))
			return DEDUP_ENOMEM;
	dst->docs += src->docs;
	return DEDUP_OK;
}

void dedup_df_add_doc(struct dedup_df *df, uint64_t n)
{
	df->docs += n;
}

uint32_t dedup_df_get(const struct dedup_df *df, uint32_t term)
{
	uint32_t *k;
	int found;

	if (!term)
		term = 1;
	k = find(df, term, &found);
	return found ? df->counts[k - df->keys] : 0;
}

uint64_t dedup_df_docs(const struct dedup_df *df)
{
	return df->docs;
}

size_t dedup_df_size(const struct dedup_df *df)
{
	return df->used;
}

int dedup_df_foreach(const struct dedup_df *df,
		     int (*fn)(uint32_t term, uint32_t count, void *arg),
		     void *arg)
{
	size_t i;
	int r;

	for (i = 0; i <= df->mask; i++)
		if (df->keys[i] && (r = fn(df->keys[i], df->counts[i], arg)))
			return r;
	return 0;
}
