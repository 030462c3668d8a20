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
 *
 * Pruned (dedup_df_prune()), the table is frozen: read-only and about a
 * quarter of the size. A lookup then reads two cache lines where the
 * shards read one, but of a table that small, in huge pages, and the
 * second pass asks for a document's terms together, so that their loads
 * overlap (df_frozen.h). Writing to a frozen table thaws it first.
 */
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dedup/sig.h"
#include "df_frozen.h"
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
	struct shard sh[DF_SHARDS]; /* empty and unallocated when frozen */
	struct df_frozen fz;
	int frozen;
	uint64_t docs;
	uint32_t floor; /* the count of a term not in the table */
	struct block *once; /* bounded: terms seen once, else NULL */
	size_t nblocks;
	/* bounded merges: a batch's terms, their block order, what the filter said */
	struct slot *batch;
	uint32_t *order, *ordertmp;
	unsigned char *seen;
	size_t batchalloc;
};

/*
 * The frozen form's mix, in the top half: its top bits pick the shard and
 * the next ones the probe start, so that the shards, walked in order,
 * give their terms in about the order a frozen table lays them out
 * (freezing then writes it front to back).
 */
static uint64_t mix(uint32_t key)
{
	return (uint64_t)df_mix32(key) << 32;
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
	/* huge pages for a large table: a TLB miss a probe costs as much */
	s->slots = df_huge_alloc(cap * sizeof(*s->slots));
	if (!s->slots)
		return DEDUP_ENOMEM;
	memset(s->slots, 0, cap * sizeof(*s->slots));
	s->cap = cap;
	s->used = 0;
	return DEDUP_OK;
}

static void shard_free(struct shard *s)
{
	df_huge_free(s->slots, s->cap * sizeof(*s->slots));
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
		shard_free(&df->sh[i]);
	df_frozen_release(&df->fz);
	df_huge_free(df->once, df->nblocks * sizeof(*df->once));
	free(df->batch);
	free(df->order);
	free(df->ordertmp);
	free(df->seen);
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
	shard_free(&old);
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

/* The filter's block of a term, without touching it. */
static size_t once_index(const struct dedup_df *df, uint32_t term)
{
	uint64_t h = term * 0xc2b2ae3d27d4eb4fULL; /* as once_block() */

	return (size_t)(((h >> 32) * df->nblocks) >> 32);
}

/* The table's first slot for a term, as find() will read it. */
static void prefetch_slot(const struct dedup_df *df, uint32_t term)
{
	uint64_t h = mix(term);
	const struct shard *s = shard_of_c(df, h);

	df_prefetch(&s->slots[home(s, h)]);
}

/*
 * Count n more documents of term in a bounded table, the filter having
 * said whether the term was seen before (`seen`). Every term of the table
 * is also in the filter, so only seen terms are looked for. Returns 1
 * when the term is new to the filter (the caller sets it, after testing
 * the rest of its batch), 0 when counted, -1 out of memory.
 */
static int bounded_count(struct dedup_df *df, uint32_t term, uint32_t n,
			 int seen)
{
	uint64_t h = mix(term);
	struct shard *s = shard_of(df, h);
	struct slot *k;

	if (!seen) {
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

static int bounded_add(struct dedup_df *df, uint32_t term, uint32_t n)
{
	return bounded_count(df, term, n, once_test(df, term));
}

/* A frozen table's shards: none (freezing gives their memory back). */
static void drop_shards(struct dedup_df *df)
{
	size_t i;

	for (i = 0; i < DF_SHARDS; i++) {
		shard_free(&df->sh[i]);
		memset(&df->sh[i], 0, sizeof(df->sh[i]));
	}
}

static int thaw_one(uint32_t term, uint32_t count, void *arg)
{
	struct dedup_df *df = arg;
	uint64_t h = mix(term);

	return shard_add(shard_of(df, h), term, h, count) ? -1 : 0;
}

/* Shards again for a frozen table, to write to. Out of memory, frozen. */
static dedup_status thaw(struct dedup_df *df)
{
	size_t i;

	if (!df->frozen)
		return DEDUP_OK;
	for (i = 0; i < DF_SHARDS; i++)
		if (shard_alloc(&df->sh[i], cap_for(df->fz.n / DF_SHARDS)))
			goto fail;
	if (df_frozen_foreach(&df->fz, thaw_one, df))
		goto fail;
	df_frozen_release(&df->fz);
	df->frozen = 0;
	return DEDUP_OK;
fail:
	drop_shards(df);
	return DEDUP_ENOMEM;
}

dedup_status dedup_df_add(struct dedup_df *df, uint32_t term, uint32_t n)
{
	uint64_t h;
	int r;

	if (!term)
		term = 1;
	if (thaw(df))
		return DEDUP_ENOMEM;
	if (df->once && n) {
		r = bounded_add(df, term, n);
		if (r > 0)
			once_set(df, term);
		return r < 0 ? DEDUP_ENOMEM : DEDUP_OK;
	}
	h = mix(term);
	return shard_add(shard_of(df, h), term, h, n);
}

/* Room for n terms of a batch in df->batch and its companions. */
static int batch_reserve(struct dedup_df *df, size_t n)
{
	struct slot *v;
	uint32_t *o, *t;
	unsigned char *seen;

	if (n <= df->batchalloc)
		return 0;
	v = realloc(df->batch, n * sizeof(*v));
	if (v)
		df->batch = v;
	o = realloc(df->order, n * sizeof(*o));
	if (o)
		df->order = o;
	t = realloc(df->ordertmp, n * sizeof(*t));
	if (t)
		df->ordertmp = t;
	seen = realloc(df->seen, n);
	if (seen)
		df->seen = seen;
	if (!v || !o || !t || !seen)
		return -1;
	df->batchalloc = n;
	return 0;
}

/* The top 16 bits of what picks a term's block: they order the blocks. */
static uint32_t block_rank(uint32_t term)
{
	return (uint32_t)((term * 0xc2b2ae3d27d4eb4fULL) >> 48); /* once_block() */
}

/*
 * Order the n terms of v by their block of the filter, into df->order
 * (indices into v): a radix sort of the block's rank, a byte a pass.
 */
static void order_by_block(struct dedup_df *df, const struct slot *v,
			   size_t n)
{
	uint32_t cnt[2][256] = { { 0 } };
	uint32_t *src = df->order, *dst = df->ordertmp;
	size_t i;
	unsigned d;

	for (i = 0; i < n; i++) {
		uint32_t r = block_rank(v[i].key);

		src[i] = (uint32_t)i;
		cnt[0][r & 255]++;
		cnt[1][r >> 8]++;
	}
	for (d = 0; d < 2; d++) {
		uint32_t sum = 0, c, k, *t;

		for (k = 0; k < 256; k++) {
			c = cnt[d][k];
			cnt[d][k] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++) {
			uint32_t r = block_rank(v[src[i]].key);

			dst[cnt[d][(r >> (8 * d)) & 255]++] = src[i];
		}
		t = src;
		src = dst;
		dst = t;
	}
	/* an even number of passes: the result is in df->order */
}

/* The filter's block of the i-th term in block order, if there is one. */
static void prefetch_block(const struct dedup_df *df, const struct slot *v,
			   size_t i, size_t n)
{
	if (i < n)
		df_prefetch(&df->once[once_index(df, v[df->order[i]].key)]);
}

/*
 * The rank of the i-th term in block order, or far above any rank when
 * i == n.
 */
static uint32_t rank_at(const struct dedup_df *df, const struct slot *v,
			size_t i, size_t n)
{
	return i < n ? block_rank(v[df->order[i]].key) : UINT32_MAX;
}

/*
 * The n distinct terms of a batch, v[], into a bounded dst. The filter
 * and a large table miss the caches, and a batch's terms hit them all
 * over: they are taken in two sweeps, each in the order of what it reads.
 * First every term is tested against the filter, in the order of its
 * blocks, and the first sightings are learnt right behind the tests,
 * while their block is still in the cache; then the table counts them in
 * v's order, which follows dst's slots when v is in the order of the
 * mixed keys (the probe start is the same function of them at any
 * capacity).
 *
 * A term's bits must not be learnt before every term of the batch that
 * shares its block has been tested: the counts are then those of a filter
 * that learns nothing before the whole batch is tested, whatever the
 * order of v (for a table's slots, it depends on its growth history). A
 * block spans at most 2^16 of the top 32 bits of the hash (there are at
 * least ONCE_MIN_BLOCKS blocks), so the terms sharing it have ranks at
 * most one apart: a term is learnt once the sweep has tested every term
 * of a rank at most one above its own.
 */
static dedup_status bounded_merge(struct dedup_df *dst, const struct slot *v,
				  size_t n)
{
	size_t i, j;
	int r;

	if (batch_reserve(dst, n))
		return DEDUP_ENOMEM;
	order_by_block(dst, v, n);
	for (i = 0, j = 0; i < n; i++) {
		uint32_t k = dst->order[i], next = rank_at(dst, v, i + 1, n);

		prefetch_block(dst, v, i + PREFETCH_AHEAD, n);
		dst->seen[k] = (unsigned char)once_test(dst, v[k].key);
		for (; j <= i && rank_at(dst, v, j, n) + 1 < next; j++) {
			k = dst->order[j];
			if (!dst->seen[k])
				once_set(dst, v[k].key);
		}
	}
	for (i = 0; i < n; i++) {
		if (i + PREFETCH_AHEAD < n)
			prefetch_slot(dst, v[i + PREFETCH_AHEAD].key);
		r = bounded_count(dst, v[i].key, v[i].count, dst->seen[i]);
		if (r < 0)
			return DEDUP_ENOMEM;
	}
	return DEDUP_OK;
}

/* A table's terms into dst->batch, in its slot order; their count. */
static size_t gather(struct dedup_df *dst, const struct dedup_df *src)
{
	size_t i, j, n = 0;

	for (i = 0; i < DF_SHARDS; i++) {
		const struct shard *s = &src->sh[i];

		for (j = 0; j < s->cap; j++)
			if (s->slots[j].key)
				dst->batch[n++] = s->slots[j];
	}
	return n;
}

static int add_one(uint32_t term, uint32_t count, void *arg)
{
	return dedup_df_add(arg, term, count) ? -1 : 0;
}

/*
 * Room in the unbounded shard d for n more terms. Grown before they come:
 * inserting keys in slot order into a smaller table of the same hash
 * piles them into long probe runs.
 */
static dedup_status shard_reserve(struct shard *d, size_t n)
{
	size_t cap = cap_for(d->used + n);

	return cap > d->cap && rehash(d, cap, 0) ? DEDUP_ENOMEM : DEDUP_OK;
}

dedup_status dedup_df_merge(struct dedup_df *dst, const struct dedup_df *src)
{
	size_t i, n;

	if (thaw(dst))
		return DEDUP_ENOMEM;
	if (src->frozen) {
		/* term by term: a frozen table is no batch of a first pass */
		if (df_frozen_foreach(&src->fz, add_one, dst))
			return DEDUP_ENOMEM;
		dst->docs += src->docs;
		return DEDUP_OK;
	}
	if (dst->once) {
		if (batch_reserve(dst, dedup_df_size(src)))
			return DEDUP_ENOMEM;
		n = gather(dst, src);
		if (bounded_merge(dst, dst->batch, n))
			return DEDUP_ENOMEM;
		dst->docs += src->docs;
		return DEDUP_OK;
	}
	for (i = 0; i < DF_SHARDS; i++) {
		struct shard *d = &dst->sh[i];
		const struct shard *s = &src->sh[i];
		size_t j;

		if (shard_reserve(d, s->used))
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

/* ---- batches of the first pass ---- */

/*
 * The mixed keys of a batch's terms (df_mix32(), a bijection), one for
 * each document that has the term: noting a term is a store, where a hash
 * table's insert was a miss in a table larger than the first-level cache.
 * Sealing sorts the keys, which puts a term's documents side by side and
 * the terms in the order of a table's slots (its shard and probe start
 * are the top bits of the mixed key), and counts them into pairs.
 */
struct dedup_dfbatch {
	uint32_t *keys, *tmp; /* tmp: the sort's other half */
	size_t n, alloc;
	struct slot *pairs;   /* sealed: terms and counts, by mixed key */
	size_t npairs, pairalloc;
	uint32_t *cnt;        /* the sort's buckets */
	uint64_t docs;
	int sealed;
};

#define KEY_BITS 11 /* of a key, a pass of sort_keys() */
#define KEY_BUCKETS (1u << KEY_BITS)

dedup_status dedup_dfbatch_new(struct dedup_dfbatch **out)
{
	struct dedup_dfbatch *b = calloc(1, sizeof(*b));

	*out = NULL;
	if (!b)
		return DEDUP_ENOMEM;
	b->cnt = malloc(sizeof(*b->cnt) * 3 * KEY_BUCKETS);
	if (!b->cnt) {
		free(b);
		return DEDUP_ENOMEM;
	}
	*out = b;
	return DEDUP_OK;
}

void dedup_dfbatch_free(struct dedup_dfbatch *b)
{
	if (!b)
		return;
	free(b->keys);
	free(b->tmp);
	free(b->pairs);
	free(b->cnt);
	free(b);
}

void dedup_dfbatch_clear(struct dedup_dfbatch *b)
{
	b->n = b->npairs = 0;
	b->docs = 0;
	b->sealed = 0;
}

dedup_status dedup_dfbatch_add_doc(struct dedup_dfbatch *b,
				   const uint32_t *terms, size_t n)
{
	size_t i;

	b->sealed = 0; /* keys[] holds every key noted, sorted or not */
	if (b->n + n > b->alloc) {
		size_t na = b->alloc ? b->alloc : 4096;
		uint32_t *k, *t;

		while (na < b->n + n)
			na *= 2;
		k = realloc(b->keys, na * sizeof(*k));
		if (!k)
			return DEDUP_ENOMEM;
		b->keys = k;
		t = realloc(b->tmp, na * sizeof(*t));
		if (!t)
			return DEDUP_ENOMEM;
		b->tmp = t;
		b->alloc = na;
	}
	for (i = 0; i < n; i++)
		b->keys[b->n + i] = df_mix32(terms[i] ? terms[i] : 1);
	b->n += n;
	b->docs++;
	return DEDUP_OK;
}

/*
 * Sort the batch's keys ascending; returns the half that holds them. An
 * LSD radix sort, 11 bits a pass: three passes, their counters (24 KB)
 * from one read. A bucket sort by the top bits with an insertion sort
 * after it cost twice as much: a key moved past every copy of the greater
 * keys of its bucket, and a term has a copy for each of up to
 * DEDUP_DF_BATCH documents.
 */
static uint32_t *sort_keys(struct dedup_dfbatch *b)
{
	uint32_t *cnt = b->cnt, *s = b->keys, *d = b->tmp, *t;
	size_t i, n = b->n;
	unsigned k;

	memset(cnt, 0, sizeof(*cnt) * 3 * KEY_BUCKETS);
	for (i = 0; i < n; i++) {
		cnt[s[i] & (KEY_BUCKETS - 1)]++;
		cnt[KEY_BUCKETS + (s[i] >> KEY_BITS & (KEY_BUCKETS - 1))]++;
		cnt[2 * KEY_BUCKETS + (s[i] >> 2 * KEY_BITS)]++;
	}
	for (k = 0; k < 3; k++) {
		uint32_t *c = cnt + k * KEY_BUCKETS, sum = 0, x, j;

		for (j = 0; j < KEY_BUCKETS; j++) {
			x = c[j];
			c[j] = sum;
			sum += x;
		}
		for (i = 0; i < n; i++)
			d[c[s[i] >> (k * KEY_BITS) & (KEY_BUCKETS - 1)]++] =
				s[i];
		t = s;
		s = d;
		d = t;
	}
	return s;
}

dedup_status dedup_dfbatch_seal(struct dedup_dfbatch *b)
{
	const uint32_t *v;
	size_t i, j, m = 0;

	if (b->sealed)
		return DEDUP_OK;
	if (b->n > b->pairalloc) {
		struct slot *p = realloc(b->pairs, b->alloc * sizeof(*p));

		if (!p)
			return DEDUP_ENOMEM;
		b->pairs = p;
		b->pairalloc = b->alloc;
	}
	v = sort_keys(b);
	for (i = 0; i < b->n; i = j) {
		for (j = i + 1; j < b->n && v[j] == v[i]; j++)
			;
		b->pairs[m].key = df_unmix32(v[i]);
		b->pairs[m++].count = (uint32_t)(j - i);
	}
	b->npairs = m;
	b->sealed = 1;
	return DEDUP_OK;
}

uint64_t dedup_dfbatch_docs(const struct dedup_dfbatch *b)
{
	return b->docs;
}

size_t dedup_dfbatch_size(const struct dedup_dfbatch *b)
{
	return b->npairs;
}

dedup_status dedup_df_merge_batch(struct dedup_df *dst,
				  struct dedup_dfbatch *src)
{
	size_t i, j, k;

	if (dedup_dfbatch_seal(src) || thaw(dst))
		return DEDUP_ENOMEM;
	if (dst->once) {
		if (bounded_merge(dst, src->pairs, src->npairs))
			return DEDUP_ENOMEM;
		dst->docs += src->docs;
		return DEDUP_OK;
	}
	/* the pairs are in shard order: mix()'s top 4 bits */
	for (i = 0, j = 0; i < DF_SHARDS; i++) {
		struct shard *d = &dst->sh[i];

		for (k = j; k < src->npairs &&
		     mix(src->pairs[k].key) >> 60 == i; k++)
			;
		if (shard_reserve(d, k - j))
			return DEDUP_ENOMEM;
		for (; j < k; j++)
			if (shard_add(d, src->pairs[j].key,
				      mix(src->pairs[j].key),
				      src->pairs[j].count))
				return DEDUP_ENOMEM;
	}
	dst->docs += src->docs;
	return DEDUP_OK;
}

dedup_status dedup_df_bound(struct dedup_df *df, uint64_t docs)
{
	uint64_t nb;

	df_huge_free(df->once, df->nblocks * sizeof(*df->once));
	free(df->batch);
	free(df->order);
	free(df->ordertmp);
	free(df->seen);
	df->once = NULL;
	df->nblocks = 0;
	df->batch = NULL;
	df->order = df->ordertmp = NULL;
	df->seen = NULL;
	df->batchalloc = 0;
	if (!docs)
		return DEDUP_OK;
	nb = docs * ONCE_BITS_PER_DOC / (8 * sizeof(struct block));
	if (nb < ONCE_MIN_BLOCKS)
		nb = ONCE_MIN_BLOCKS;
	if (nb > UINT32_MAX)
		nb = UINT32_MAX;
	/* whole huge pages (aligned by df_huge_alloc()): fewer TLB misses,
	 * and a block on two cache lines would cost two misses */
	nb = (nb + 65535) & ~(uint64_t)65535;
	df->once = df_huge_alloc((size_t)nb * sizeof(*df->once));
	if (!df->once)
		return DEDUP_ENOMEM;
	memset(df->once, 0, (size_t)nb * sizeof(*df->once));
	df->nblocks = (size_t)nb;
	return DEDUP_OK;
}

void dedup_df_clear(struct dedup_df *df)
{
	size_t i;

	df_frozen_release(&df->fz); /* frozen stays: no shards */
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
	struct df_frozen fz;
	size_t i, j;

	if (!df_frozen_build(&fz, df, min_count)) {
		df_frozen_release(&df->fz);
		drop_shards(df);
		df->fz = fz;
		df->frozen = 1;
		return;
	}
	if (df->frozen)
		return; /* out of memory: the same answers */
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
	uint32_t c;

	if (!term)
		term = 1;
	if (df->frozen) {
		c = df_frozen_get(&df->fz, term);
	} else {
		h = mix(term);
		c = find(&df->sh[h >> 60], term, h)->count;
	}
	return c ? c : df->floor;
}

void dedup_df_get_many(const struct dedup_df *df, const uint32_t *terms,
		       size_t n, uint32_t *counts)
{
	size_t i;

	if (df->frozen) {
		df_frozen_get_many(&df->fz, terms, n, counts);
		/*
		 * Without a branch (half the terms are in no table, a coin
		 * toss for the predictor): a count of 0 takes the floor.
		 */
		for (i = 0; i < n; i++)
			counts[i] |= df->floor & -(uint32_t)(counts[i] == 0);
		return;
	}
	for (i = 0; i < n; i++) {
		/* the table is large: start the loads ahead */
		if (i + PREFETCH_AHEAD < n)
			dedup_df_prefetch(df, terms[i + PREFETCH_AHEAD]);
		counts[i] = dedup_df_get(df, terms[i]);
	}
}

uint64_t dedup_df_share(uint64_t sample, uint64_t n)
{
	double share;

	if (!sample || n <= sample)
		return 0;
	/* sample / n of the 64-bit hashes, at least one, in range */
	share = (double)sample / (double)n * 18446744073709551616.0;
	if (share >= 18446744073709551615.0)
		return UINT64_MAX;
	return share >= 1 ? (uint64_t)share : 1;
}

int dedup_df_sampled(uint64_t share, const char *path)
{
	return !share || XXH3_64bits(path, strlen(path)) < share;
}

void dedup_df_set_floor(struct dedup_df *df, uint32_t floor)
{
	df->floor = floor;
}

void dedup_df_prefetch(const struct dedup_df *df, uint32_t term)
{
	if (!term)
		term = 1;
	if (df->frozen)
		df_frozen_prefetch(&df->fz, term);
	else
		prefetch_slot(df, term); /* what find() reads first */
}

uint64_t dedup_df_docs(const struct dedup_df *df)
{
	return df->docs;
}

size_t dedup_df_size(const struct dedup_df *df)
{
	size_t i, n = df->fz.n;

	for (i = 0; i < DF_SHARDS; i++)
		n += df->sh[i].used;
	return n;
}

size_t dedup_df_bytes(const struct dedup_df *df)
{
	size_t i, n = sizeof(*df);

	for (i = 0; i < DF_SHARDS; i++)
		n += df->sh[i].cap * sizeof(struct slot);
	return n + df_frozen_bytes(&df->fz) +
	       df->nblocks * sizeof(struct block);
}

int dedup_df_foreach(const struct dedup_df *df,
		     int (*fn)(uint32_t term, uint32_t count, void *arg),
		     void *arg)
{
	size_t i, j;
	int r;

	if (df->frozen)
		return df_frozen_foreach(&df->fz, fn, arg);
	for (i = 0; i < DF_SHARDS; i++) {
		const struct shard *s = &df->sh[i];

		for (j = 0; j < s->cap; j++)
			if (s->slots[j].key &&
			    (r = fn(s->slots[j].key, s->slots[j].count, arg)))
				return r;
	}
	return 0;
}
