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
 *
 * A bounded table (dedup_df_bound(), df_int.h) does not hold the terms
 * seen in one document only: about three quarters of a corpus's distinct
 * terms, that no signature keeps without an index. Every term seen sets
 * bits in a split-block Bloom filter sized by the number of documents; a
 * term seen in one document is entered in the table, with a count of 2,
 * only when the filter has seen it before. A false positive of the filter
 * (a first sighting the filter takes for a second) counts one document
 * too many: a term of one document enters the table at 2, a term of k
 * documents counts k + 1.
 * Nothing is ever counted too low. The filter's bits are tested before a
 * batch's first sightings set any, so a table fed batches in one order
 * holds the same counts whatever the batches' own slot orders.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dedup/sig.h"
#include "df_int.h"

#define DF_SHARDS 16
#define SHARD_MIN 64 /* initial slots per sub-table */

/* A term and its count side by side: a probe touches one cache line. */
struct slot {
	uint32_t key;
	uint32_t count;
};

struct shard {
	struct slot *slots;
	size_t cap;   /* slots: any number, so that a pruned table is full */
	size_t used;
};

/*
 * Split-block Bloom filter (as Parquet's): a term sets one bit in each of
 * the eight 32-bit words of one 32-byte block, so a test reads one cache
 * line. About 1 % false positives at 10 bits per term, 0.1 % at 16.
 */
#define ONCE_BITS_PER_DOC 2048 /* about 200 new terms per article */
#define ONCE_MIN_BLOCKS (1u << 16) /* 2 MiB: small runs are exact */
#define PREFETCH_AHEAD 16 /* terms of a merge looked up ahead */

struct block {
	uint32_t w[8];
};

struct dedup_df {
	struct shard sh[DF_SHARDS];
	uint64_t docs;
	struct block *once; /* bounded: terms seen once, else NULL */
	size_t nblocks;
	uint32_t *fresh; /* first sightings of the batch being merged */
	size_t nfresh, freshalloc;
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

static const struct shard *shard_of_c(const struct dedup_df *df, uint64_t h)
{
	return &df->sh[h >> 60];
}

static dedup_status shard_alloc(struct shard *s, size_t cap)
{
	s->slots = calloc(cap, sizeof(*s->slots));
	if (!s->slots)
		return DEDUP_ENOMEM;
	s->cap = cap;
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
	for (i = 0; i < DF_SHARDS; i++)
		free(df->sh[i].slots);
	free(df->once);
	free(df->fresh);
	free(df);
}

/*
 * Where term h's probe starts: 32 bits below the shard's, scaled to the
 * capacity (Lemire's multiply-shift), so that any capacity will do.
 */
static size_t home(const struct shard *s, uint64_t h)
{
	return (size_t)(((h >> 28) & 0xffffffffu) * (uint64_t)s->cap >> 32);
}

static struct slot *find(const struct shard *s, uint32_t key, uint64_t h)
{
	/* bits below the shard's: independent of the shard choice */
	size_t i = home(s, h);

	while (s->slots[i].key && s->slots[i].key != key)
		if (++i == s->cap)
			i = 0;
	return &s->slots[i];
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
	for (i = 0; i < old.cap; i++) {
		const struct slot *o = &old.slots[i];

		if (o->key && o->count >= min_count) {
			*find(s, o->key, mix(o->key)) = *o;
			s->used++;
		}
	}
	free(old.slots);
	return DEDUP_OK;
}

/*
 * Slots for n terms at a load of 3/4, whole cache lines. A miss then
 * probes about 8.5 slots, but they are neighbours: mostly one cache line,
 * as at half load, for two thirds of the memory. A table sized so by
 * dedup_df_prune() (the second pass's) has no more room than that; one
 * that grows doubles.
 */
static size_t cap_for(size_t n)
{
	size_t cap = (n * 4 + 2) / 3 + 7;

	cap -= cap % 8;
	return cap < SHARD_MIN ? SHARD_MIN : cap;
}

static dedup_status shard_add(struct shard *s, uint32_t term, uint64_t h,
			      uint32_t n)
{
	struct slot *k;

	if ((s->used + 1) * 4 > s->cap * 3 && rehash(s, s->cap * 2, 0))
		return DEDUP_ENOMEM;
	k = find(s, term, h);
	if (!k->key) {
		k->key = term;
		s->used++;
	}
	k->count += n;
	return DEDUP_OK;
}

static const uint32_t salt[8] = {
	0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
	0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u,
};

/*
 * The filter's block of a term; *lo picks a bit in each of its words.
 * Each bit is computed where it is used: gathered in an array, eight
 * 4-byte stores read back as vectors stall the loads.
 */
static struct block *once_block(const struct dedup_df *df, uint32_t term,
				uint32_t *lo)
{
	/* another multiplier than mix(): independent of the table's slots */
	uint64_t h = term * 0xc2b2ae3d27d4eb4fULL;

	*lo = (uint32_t)h;
	return &df->once[((h >> 32) * df->nblocks) >> 32];
}

#define ONCE_BIT(lo, i) (1u << (((lo) * salt[i]) >> 27))

static int once_test(const struct dedup_df *df, uint32_t term)
{
	uint32_t lo, miss = 0;
	const struct block *b = once_block(df, term, &lo);
	unsigned i;

	for (i = 0; i < 8; i++)
		miss |= ~b->w[i] & ONCE_BIT(lo, i);
	return !miss;
}

static void once_set(struct dedup_df *df, uint32_t term)
{
	uint32_t lo;
	struct block *b = once_block(df, term, &lo);
	unsigned i;

	for (i = 0; i < 8; i++)
		b->w[i] |= ONCE_BIT(lo, i);
}

/* Ask for the lines bounded_add() of term will read. */
static void prefetch_term(const struct dedup_df *df, uint32_t term)
{
#if defined(__GNUC__) || defined(__clang__)
	uint64_t h = mix(term), g = term * 0xc2b2ae3d27d4eb4fULL;
	const struct shard *s = shard_of_c(df, h);

	__builtin_prefetch(&s->slots[home(s, h)]);
	__builtin_prefetch(&df->once[((g >> 32) * df->nblocks) >> 32]);
#else
	(void)df;
	(void)term;
#endif
}

/*
 * Count n more documents of term in a bounded table. Every term of the
 * table is also in the filter, so the filter is asked first: most terms
 * are first sightings, and they then cost one cache miss, not two.
 * Returns 1 when the term is new to the filter (the caller sets it, after
 * testing the rest of its batch), 0 when counted, -1 out of memory.
 */
static int bounded_add(struct dedup_df *df, uint32_t term, uint32_t n)
{
	uint64_t h = mix(term);
	struct shard *s = shard_of(df, h);
	struct slot *k;

	if (!once_test(df, term)) {
		if (n > 1 && shard_add(s, term, h, n))
			return -1;
		return 1;
	}
	k = find(s, term, h);
	if (k->key) {
		k->count += n;
		return 0;
	}
	/* seen before, once (twice would be in the table) */
	return shard_add(s, term, h, n + 1) ? -1 : 0;
}

dedup_status dedup_df_add(struct dedup_df *df, uint32_t term, uint32_t n)
{
	uint64_t h;
	int r;

	if (!term)
		term = 1;
	if (df->once && n) {
		r = bounded_add(df, term, n);
		if (r > 0)
			once_set(df, term);
		return r < 0 ? DEDUP_ENOMEM : DEDUP_OK;
	}
	h = mix(term);
	return shard_add(shard_of(df, h), term, h, n);
}

/* Room for one more first sighting in df->fresh. */
static int fresh_grow(struct dedup_df *df)
{
	size_t na;
	uint32_t *v;

	if (df->nfresh < df->freshalloc)
		return 0;
	na = df->freshalloc ? df->freshalloc * 2 : 4096;
	v = realloc(df->fresh, na * sizeof(*v));
	if (!v)
		return -1;
	df->fresh = v;
	df->freshalloc = na;
	return 0;
}

/*
 * src into a bounded dst: every term of src is tested before the filter
 * learns src's first sightings, so that the order of src's slots (which
 * depends on its growth history) does not matter.
 */
static dedup_status bounded_merge(struct dedup_df *dst,
				  const struct dedup_df *src)
{
	const struct slot *v[PREFETCH_AHEAD];
	size_t i, j, n = 0;
	int r;

	dst->nfresh = 0;
	for (i = 0; i <= DF_SHARDS; i++) {
		const struct shard *s = &src->sh[i < DF_SHARDS ? i : 0];
		size_t end = i < DF_SHARDS ? s->cap : PREFETCH_AHEAD;

		/*
		 * The filter and the large table miss the caches: ask for
		 * both lines PREFETCH_AHEAD terms before they are needed
		 * (the last round, i == DF_SHARDS, drains the queue).
		 */
		for (j = 0; j < end; j++) {
			const struct slot *o = i < DF_SHARDS ? &s->slots[j] :
					       NULL;
			const struct slot *q;

			if (o && !o->key)
				continue;
			if (o)
				prefetch_term(dst, o->key);
			q = v[n % PREFETCH_AHEAD];
			v[n % PREFETCH_AHEAD] = o;
			if (n++ < PREFETCH_AHEAD || !q)
				continue;
			r = bounded_add(dst, q->key, q->count);
			if (r > 0 && !fresh_grow(dst))
				dst->fresh[dst->nfresh++] = q->key;
			else if (r)
				return DEDUP_ENOMEM;
		}
	}
	for (j = 0; j < dst->nfresh; j++)
		once_set(dst, dst->fresh[j]);
	return DEDUP_OK;
}

dedup_status dedup_df_merge(struct dedup_df *dst, const struct dedup_df *src)
{
	size_t i, j;

	if (dst->once) {
		if (bounded_merge(dst, src))
			return DEDUP_ENOMEM;
		dst->docs += src->docs;
		return DEDUP_OK;
	}
	for (i = 0; i < DF_SHARDS; i++) {
		struct shard *d = &dst->sh[i];
		const struct shard *s = &src->sh[i];
		size_t cap = cap_for(d->used + s->used);

		/*
		 * Grow first: inserting src's keys in its slot order into a
		 * smaller table of the same hash piles them into long probe
		 * runs.
		 */
		if (cap > d->cap && rehash(d, cap, 0))
			return DEDUP_ENOMEM;
		for (j = 0; j < s->cap; j++)
			if (s->slots[j].key &&
			    shard_add(d, s->slots[j].key,
				      mix(s->slots[j].key), s->slots[j].count))
				return DEDUP_ENOMEM;
	}
	dst->docs += src->docs;
	return DEDUP_OK;
}

dedup_status dedup_df_bound(struct dedup_df *df, uint64_t docs)
{
	uint64_t nb;

	free(df->once);
	free(df->fresh);
	df->once = NULL;
	df->nblocks = 0;
	df->fresh = NULL;
	df->nfresh = df->freshalloc = 0;
	if (!docs)
		return DEDUP_OK;
	nb = docs * ONCE_BITS_PER_DOC / (8 * sizeof(struct block));
	if (nb < ONCE_MIN_BLOCKS)
		nb = ONCE_MIN_BLOCKS;
	if (nb > UINT32_MAX)
		nb = UINT32_MAX;
	/* whole huge pages, aligned: fewer TLB misses, and a block on two
	 * cache lines would cost two misses */
	nb = (nb + 65535) & ~(uint64_t)65535;
	df->once = aligned_alloc(2u << 20, (size_t)nb * sizeof(*df->once));
	if (!df->once)
		return DEDUP_ENOMEM;
	madvise(df->once, (size_t)nb * sizeof(*df->once), MADV_HUGEPAGE);
	memset(df->once, 0, (size_t)nb * sizeof(*df->once));
	df->nblocks = (size_t)nb;
	return DEDUP_OK;
}

void dedup_df_clear(struct dedup_df *df)
{
	size_t i;

	for (i = 0; i < DF_SHARDS; i++) {
		struct shard *s = &df->sh[i];

		if (!s->used)
			continue;
		memset(s->slots, 0, s->cap * sizeof(*s->slots));
		s->used = 0;
	}
	if (df->once)
		memset(df->once, 0, df->nblocks * sizeof(*df->once));
	df->docs = 0;
}

void dedup_df_prune(struct dedup_df *df, uint32_t min_count)
{
	size_t i, j;

	for (i = 0; i < DF_SHARDS; i++) {
		struct shard *s = &df->sh[i];
		size_t keep = 0;

		for (j = 0; j < s->cap; j++)
			keep += s->slots[j].key && s->slots[j].count >= min_count;
		/*
		 * Shrunk to fit even when nothing is dropped (a bounded
		 * table holds few terms of one document). Out of memory, the
		 * shard stays whole: the same answers.
		 */
		if (keep < s->used || cap_for(keep) < s->cap)
			(void)rehash(s, cap_for(keep), min_count);
	}
}

void dedup_df_add_doc(struct dedup_df *df, uint64_t n)
{
	df->docs += n;
}

uint32_t dedup_df_get(const struct dedup_df *df, uint32_t term)
{
	uint64_t h;

	if (!term)
		term = 1;
	h = mix(term);
	return find(&df->sh[h >> 60], term, h)->count;
}

void dedup_df_prefetch(const struct dedup_df *df, uint32_t term)
{
	uint64_t h = mix(term ? term : 1);
	const struct shard *s = &df->sh[h >> 60];

	/* what find() reads first */
#if defined(__GNUC__) || defined(__clang__)
	__builtin_prefetch(&s->slots[home(s, h)]);
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
		n += df->sh[i].cap * sizeof(struct slot);
	return n + df->nblocks * sizeof(struct block);
}

int dedup_df_foreach(const struct dedup_df *df,
		     int (*fn)(uint32_t term, uint32_t count, void *arg),
		     void *arg)
{
	size_t i, j;
	int r;

	for (i = 0; i < DF_SHARDS; i++) {
		const struct shard *s = &df->sh[i];

		for (j = 0; j < s->cap; j++)
			if (s->slots[j].key &&
			    (r = fn(s->slots[j].key, s->slots[j].count, arg)))
				return r;
	}
	return 0;
}
