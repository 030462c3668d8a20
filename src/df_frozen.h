/*
 * df_frozen.h - a read-only table of document frequencies, compact and
 * cheap to look up (internal to df.c).
 *
 * A run's second pass only reads its frequencies, and at 1,000,000
 * documents they are tens of millions of terms: a hash table of 8-byte
 * slots at a load of 3/4 costs about 11 bytes a term and a cache miss a
 * lookup. Frozen, a term costs about 2.5 bytes: its 32-bit key goes
 * through a bijective mix, the top bits of which pick a bucket of about
 * two terms; each term keeps only the bits the bucket does not say,
 * packed with its count in 16 bits, and counts too large for those bits
 * go to a small side table. Counts stay exact; a key not in the table
 * finds nothing.
 *
 * The caller embeds struct df_frozen (zeroed: an empty table) and frees
 * what df_frozen_build() allocated with df_frozen_release().
 */
#ifndef DEDUP_DF_FROZEN_H
#define DEDUP_DF_FROZEN_H

#include <stddef.h>
#include <stdint.h>

#include "dedup/sig.h"

/*
 * The buckets' ends, 60 buckets to a cache line: base is the first term
 * of the line's first bucket, end[j] the number of the line's terms up
 * to the end of bucket j.
 */
#define DF_LINE_BUCKETS 60

struct df_line {
	uint32_t base;
	uint8_t end[DF_LINE_BUCKETS];
};

/* A count too large for a term's bits: the mixed key and its count. */
struct df_big {
	uint32_t h; /* 0: empty (no key mixes to 0 but 0, never stored) */
	uint32_t count;
};

struct df_frozen {
	struct df_line *dir;
	uint16_t *ent;     /* remainder << cbits | count (cmax: in big) */
	struct df_big *big;
	size_t nlines, n, bigmask;
	size_t dirbytes, entbytes; /* as allocated */
	unsigned shift;    /* bucket = mixed key >> shift */
	unsigned cbits;    /* bits of an entry's count */
};

/*
 * Build f (empty) from the terms of df counted at least min_count times
 * (keys as df stores them, never 0). DEDUP_ENOMEM leaves f empty, as
 * does a table whose keys crowd a few buckets past what a line can say
 * (only keys made to collide do): the caller keeps its own form then.
 */
dedup_status df_frozen_build(struct df_frozen *f, const struct dedup_df *df,
			     uint32_t min_count);
void df_frozen_release(struct df_frozen *f);

/* The count of key in f (0 is taken for 1, as df.c stores it), or 0. */
uint32_t df_frozen_get(const struct df_frozen *f, uint32_t key);

/*
 * Counts of keys[0..n) into counts[] (which may be keys: each key is
 * read before its count is written), the loads of later keys started
 * ahead: a lookup reads a line of buckets, then its terms.
 */
void df_frozen_get_many(const struct df_frozen *f, const uint32_t *keys,
			size_t n, uint32_t *counts);

/* Start loading the line of key's bucket. */
void df_frozen_prefetch(const struct df_frozen *f, uint32_t key);

/* Bytes f holds. */
size_t df_frozen_bytes(const struct df_frozen *f);

/* Call fn for every (key, count) of f until it returns non-zero. */
int df_frozen_foreach(const struct df_frozen *f,
		      int (*fn)(uint32_t key, uint32_t count, void *arg),
		      void *arg);

/*
 * How a key is placed (also by df.c's shards): Fibonacci hashing, a
 * bijection whose top bits depend on every bit of k. Term ids are
 * already hashes (sig.c), so one multiply spreads them enough, and every
 * term of the first pass goes through it.
 */
static inline uint32_t df_mix32(uint32_t k)
{
	return k * 0x9e3779b1u;
}

/* The inverse of df_mix32(). */
static inline uint32_t df_unmix32(uint32_t h)
{
	return h * 0x0e8b2f51u; /* 0x9e3779b1^-1 mod 2^32 */
}

/* Ask for the cache line at p (also df.c's). */
static inline void df_prefetch(const void *p)
{
	/*
	 * GCC 12 dropped some __builtin_prefetch() calls whose address came
	 * from loads used by nothing else: x86-64 says it in assembly.
	 */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
	__asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)p));
#elif defined(__GNUC__) || defined(__clang__)
	__builtin_prefetch(p);
#else
	(void)p;
#endif
}

/*
 * Memory for a large array: a mapping of its own in huge pages when it
 * is 2 MiB or more (a random lookup then costs no TLB miss, and freeing
 * gives it back), else malloc()'s. Free with df_huge_free() and the same
 * size.
 */
void *df_huge_alloc(size_t bytes);
void df_huge_free(void *p, size_t bytes);

#endif
