/*
 * df.c - document frequencies of content terms (see dedup/sig.h).
 *
 * Open addressing with linear probing over 32-bit term hashes; the value 0
 * marks an empty slot, so the term 0 is stored as 1 (a collision on one
 * hash value in four billion, harmless for IDF).
 *
 * The table is split into DF_SHARDS sub-tables by the top bits of the
 * mixed hash, each growing on its own: a growth copies one sixteenth of
 * the terms, so the old and new arrays that live together for a moment
 * add a sixteenth to the peak, not the whole table again. A run's table
 * holds millions of terms (about 200 new ones per news article, most of
 * them word pairs seen once), so that peak is the run's.
 */
#include <stdlib.h>
#include <string.h>

#include "dedup/sig.h"

#define DF_SHARDS 16
#define SHARD_MIN 64 /* initial slots per sub-table */

struct shard {
	uint32_t *keys;
	uint32_t *counts;
	size_t mask;  /* capacity - 1, capacity a power of two */
	size_t used;
};

struct dedup_df {
	struct shard sh[DF_SHARDS];
	uint64_t docs;
};

/* Fibonacci hashing spreads clustered keys: top bits pick the shard. */
static uint64_t mix(uint32_t key)
{
	return key * 0x9e3779b97f4a7c15ULL;
}

static struct shard *shard_of(struct dedup_df *df, uint64_t h)
{
	return &df->sh[h >> 60];
}

static dedup_status shard_alloc(struct shard *s, size_t cap)
{
	s->keys = calloc(cap, sizeof(*s->keys));
	s->counts = calloc(cap, sizeof(*s->counts));
	if (!s->keys || !s->counts) {
		free(s->keys);
		free(s->counts);
		s->keys = NULL;
		s->counts = NULL;
		return DEDUP_ENOMEM;
	}
	s->mask = cap - 1;
	s->used = 0;
	return DEDUP_OK;
}

dedup_status dedup_df_new(struct dedup_df **out)
{
	struct dedup_df *df = calloc(1, sizeof(*df));
	size_t i;

	*out = NULL;
	if (!df)
		return DEDUP_ENOMEM;
	for (i = 0; i < DF_SHARDS; i++) {
		if (shard_alloc(&df->sh[i], SHARD_MIN)) {
			dedup_df_free(df);
			return DEDUP_ENOMEM;
		}
	}
	*out = df;
	return DEDUP_OK;
}

void dedup_df_free(struct dedup_df *df)
{
	size_t i;

	if (!df)
		return;
	for (i = 0; i < DF_SHARDS; i++) {
		free(df->sh[i].keys);
		free(df->sh[i].counts);
	}
	free(df);
}

static uint32_t *find(const struct shard *s, uint32_t key, uint64_t h,
		      int *found)
{
	/* bits below the shard's: independent of the shard choice */
	size_t i = (size_t)(h >> 20) & s->mask;

	while (s->keys[i] && s->keys[i] != key)
		i = (i + 1) & s->mask;
	*found = s->keys[i] != 0;
	return &s->keys[i];
}

/* Move every term of s into a table of cap slots (at least used). */
static dedup_status rehash(struct shard *s, size_t cap, uint32_t min_count)
{
	struct shard old = *s;
	size_t i;

	if (shard_alloc(s, cap)) {
		*s = old;
		return DEDUP_ENOMEM;
	}
	for (i = 0; i <= old.mask; i++) {
		if (old.keys[i] && old.counts[i] >= min_count) {
			int found;
			uint32_t *k = find(s, old.keys[i], mix(old.keys[i]),
					   &found);

			*k = old.keys[i];
			s->counts[k - s->keys] = old.counts[i];
			s->used++;
		}
	}
	free(old.keys);
	free(old.counts);
	return DEDUP_OK;
}

/*
 * Slots for n terms at a load of at most 3/4. A miss then probes about
 * 8.5 slots, but they are neighbours: mostly one cache line, as at half
 * load, for two thirds of the memory.
 */
static size_t cap_for(size_t n)
{
	size_t cap = SHARD_MIN;

	while (n * 4 > cap * 3)
		cap *= 2;
	return cap;
}

static dedup_status shard_add(struct shard *s, uint32_t term, uint64_t h,
			      uint32_t n)
{
	uint32_t *k;
	int found;

	if ((s->used + 1) * 4 > (s->mask + 1) * 3 &&
	    rehash(s, (s->mask + 1) * 2, 0))
		return DEDUP_ENOMEM;
	k = find(s, term, h, &found);
	if (!found) {
		*k = term;
		s->used++;
	}
	s->counts[k - s->keys] += n;
	return DEDUP_OK;
}

dedup_status dedup_df_add(struct dedup_df *df, uint32_t term, uint32_t n)
{
	uint64_t h;

	if (!term)
		term = 1;
	h = mix(term);
	return shard_add(shard_of(df, h), term, h, n);
}

dedup_status dedup_df_merge(struct dedup_df *dst, const struct dedup_df *src)
{
	size_t i, j;

	for (i = 0; i < DF_SHARDS; i++) {
		struct shard *d = &dst->sh[i];
		const struct shard *s = &src->sh[i];
		size_t cap = cap_for(d->used + s->used);

		/*
		 * Grow first: inserting src's keys in its slot order into a
		 * smaller table of the same hash piles them into long probe
		 * runs.
		 */
		if (cap > d->mask + 1 && rehash(d, cap, 0))
			return DEDUP_ENOMEM;
		for (j = 0; j <= s->mask; j++)
			if (s->keys[j] && shard_add(d, s->keys[j],
						    mix(s->keys[j]),
						    s->counts[j]))
				return DEDUP_ENOMEM;
	}
	dst->docs += src->docs;
	return DEDUP_OK;
}

void dedup_df_clear(struct dedup_df *df)
{
	size_t i;

	for (i = 0; i < DF_SHARDS; i++) {
		struct shard *s = &df->sh[i];

		if (!s->used)
			continue;
		memset(s->keys, 0, (s->mask + 1) * sizeof(*s->keys));
		memset(s->counts, 0, (s->mask + 1) * sizeof(*s->counts));
		s->used = 0;
	}
	df->docs = 0;
}

void dedup_df_prune(struct dedup_df *df, uint32_t min_count)
{
	size_t i, j;

	for (i = 0; i < DF_SHARDS; i++) {
		struct shard *s = &df->sh[i];
		size_t keep = 0;

		for (j = 0; j <= s->mask; j++)
			keep += s->keys[j] && s->counts[j] >= min_count;
		/* out of memory, the shard stays whole: the same answers */
		if (keep < s->used)
			(void)rehash(s, cap_for(keep), min_count);
	}
}

void dedup_df_add_doc(struct dedup_df *df, uint64_t n)
{
	df->docs += n;
}

uint32_t dedup_df_get(const struct dedup_df *df, uint32_t term)
{
	uint32_t *k;
	uint64_t h;
	const struct shard *s;
	int found;

	if (!term)
		term = 1;
	h = mix(term);
	s = &df->sh[h >> 60];
	k = find(s, term, h, &found);
	return found ? s->counts[k - s->keys] : 0;
}

void dedup_df_prefetch(const struct dedup_df *df, uint32_t term)
{
	uint64_t h = mix(term ? term : 1);
	const struct shard *s = &df->sh[h >> 60];

	/* what find() reads first */
#if defined(__GNUC__) || defined(__clang__)
	__builtin_prefetch(&s->keys[(size_t)(h >> 20) & s->mask]);
#else
	(void)s;
#endif
}

uint64_t dedup_df_docs(const struct dedup_df *df)
{
	return df->docs;
}

size_t dedup_df_size(const struct dedup_df *df)
{
	size_t i, n = 0;

	for (i = 0; i < DF_SHARDS; i++)
		n += df->sh[i].used;
	return n;
}

size_t dedup_df_bytes(const struct dedup_df *df)
{
	size_t i, n = sizeof(*df);

	for (i = 0; i < DF_SHARDS; i++)
		n += (df->sh[i].mask + 1) * 2 * sizeof(uint32_t);
	return n;
}

int dedup_df_foreach(const struct dedup_df *df,
		     int (*fn)(uint32_t term, uint32_t count, void *arg),
		     void *arg)
{
	size_t i, j;
	int r;

	for (i = 0; i < DF_SHARDS; i++) {
		const struct shard *s = &df->sh[i];

		for (j = 0; j <= s->mask; j++)
			if (s->keys[j] &&
			    (r = fn(s->keys[j], s->counts[j], arg)))
				return r;
	}
	return 0;
}
