/*
 * df_frozen.c - the read-only form of a frequency table (df_frozen.h).
 *
 * A key k is mixed into h = df_mix32(k), a bijection of 32-bit words. The
 * top b bits of h are its bucket; the other 32 - b bits, its remainder,
 * are all an entry keeps of the key, in the high bits of 16; the low
 * b - 16 bits hold the count (all ones: the count is in the side table,
 * by h). Entries lie bucket after bucket, and a line of 64 bytes says
 * where 60 consecutive buckets end: a lookup reads that line and one or
 * two of the entries after it, usually one more cache line.
 *
 * b is chosen for at most 3 terms a bucket on average (2.5 bytes a term
 * with the lines'), at least 20 bits (4 bits of count; a small table
 * costs 1 MiB of lines, a fixed cost). A line says up to 255 terms, 60
 * buckets of 1.5 to 3 on average: more is 5 standard deviations away
 * for honest keys; should it happen, b grows by one, a few times.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dedup/sig.h"
#include "df_frozen.h"

#define MIN_BITS 20
#define MAX_BITS 31
#define TERMS_PER_BUCKET 3
#define MAX_TRIES 4    /* b + 1 for a crowded line, so many times */
#define HUGE_PAGE (2u << 20)
#define AHEAD 8        /* lookups of get_many() between its stages */

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define DF_SSE2 1
#endif
/* Entries after the last, read by scan() (its 16-byte loads) and never
 * matched. */
#define DF_PAD 8

/* A key looked up: 0 is stored as 1, as df.c stores it. */
static uint32_t mix_key(uint32_t k)
{
	return df_mix32(k ? k : 1);
}

void *df_huge_alloc(size_t bytes)
{
	void *p;

	if (bytes < HUGE_PAGE)
		return malloc(bytes ? bytes : 1);
	/*
	 * A mapping of its own: from malloc() it may land in the heap
	 * (glibc's mmap threshold rises as large blocks are freed), where
	 * its advice would stay on pages that small chunks reuse later.
	 */
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

void df_huge_free(void *p, size_t bytes)
{
	if (!p)
		return;
	if (bytes < HUGE_PAGE)
		free(p);
	else
		munmap(p, bytes);
}

static size_t cmax(const struct df_frozen *f)
{
	return ((size_t)1 << f->cbits) - 1;
}

static const struct df_line *line_of(const struct df_frozen *f, uint32_t h,
				     unsigned *j)
{
	size_t bucket = h >> f->shift;

	*j = (unsigned)(bucket % DF_LINE_BUCKETS);
	return &f->dir[bucket / DF_LINE_BUCKETS];
}

static uint32_t big_get(const struct df_frozen *f, uint32_t h)
{
	size_t i = h & f->bigmask;

	while (f->big[i].h != h)
		i = (i + 1) & f->bigmask; /* h is there: its entry said so */
	return f->big[i].count;
}

/* The count of the term mixed to h among entries [lo, hi). */
static uint32_t scan(const struct df_frozen *f, uint32_t h, size_t lo,
		     size_t hi)
{
	uint32_t want = h & (((uint32_t)1 << f->shift) - 1);
	size_t i;

#ifdef DF_SSE2
	/*
	 * A bucket holds 1 to 3 entries most often: all of them compared at
	 * once, past its end too (the entries are padded), as a loop to a
	 * count the data decides mispredicted its end about once a lookup.
	 */
	if (hi - lo <= DF_PAD) {
		__m128i v = _mm_loadu_si128((const __m128i *)(f->ent + lo));
		unsigned m, at;
		uint32_t e;

		v = _mm_srl_epi16(v, _mm_cvtsi32_si128((int)f->cbits));
		m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(v,
			_mm_set1_epi16((short)want)));
		m &= (1u << 2 * (hi - lo)) - 1;
		at = (unsigned)__builtin_ctz(m | 1u << 2 * (DF_PAD - 1)) / 2;
		e = f->ent[lo + at] & (uint32_t)cmax(f);
		if (e == cmax(f) && m)
			return big_get(f, h);
		return m ? e : 0;
	}
#endif
	for (i = lo; i < hi; i++) {
		uint32_t e = f->ent[i];

		if (e >> f->cbits == want) {
			e &= (uint32_t)cmax(f);
			return e == cmax(f) ? big_get(f, h) : e;
		}
	}
	return 0;
}

/* The entries of h's bucket. */
static void bounds(const struct df_frozen *f, uint32_t h, size_t *lo,
		   size_t *hi)
{
	unsigned j;
	const struct df_line *l = line_of(f, h, &j);

	*lo = l->base + (j ? l->end[j - 1] : 0);
	*hi = l->base + l->end[j];
}

uint32_t df_frozen_get(const struct df_frozen *f, uint32_t key)
{
	uint32_t h = mix_key(key);
	size_t lo, hi;

	if (!f->nlines)
		return 0;
	bounds(f, h, &lo, &hi);
	return scan(f, h, lo, hi);
}

void df_frozen_prefetch(const struct df_frozen *f, uint32_t key)
{
	unsigned j;

	if (f->nlines)
		df_prefetch(line_of(f, mix_key(key), &j));
}

/*
 * Three stages a key apart by AHEAD: its line is asked for, then read
 * and its entries asked for, then its entries read. Each stage writes the
 * ring slot the last stage has just used.
 */
void df_frozen_get_many(const struct df_frozen *f, const uint32_t *keys,
			size_t n, uint32_t *counts)
{
	uint32_t h[2 * AHEAD];
	size_t lo[AHEAD], hi[AHEAD], i, k;
	unsigned j;

	if (!f->nlines) {
		for (i = 0; i < n; i++)
			counts[i] = 0;
		return;
	}
	for (k = 0; k < n && k < 2 * AHEAD; k++) {
		h[k] = mix_key(keys[k]);
		df_prefetch(line_of(f, h[k], &j));
	}
	for (k = 0; k < n && k < AHEAD; k++) {
		bounds(f, h[k], &lo[k], &hi[k]);
		df_prefetch(&f->ent[lo[k]]);
	}
	for (i = 0; i < n; i++) {
		counts[i] = scan(f, h[i % (2 * AHEAD)], lo[i % AHEAD],
				 hi[i % AHEAD]);
		k = i + AHEAD;
		if (k < n) {
			bounds(f, h[k % (2 * AHEAD)], &lo[k % AHEAD],
			       &hi[k % AHEAD]);
			df_prefetch(&f->ent[lo[k % AHEAD]]);
		}
		k = i + 2 * AHEAD;
		if (k < n) {
			h[k % (2 * AHEAD)] = mix_key(keys[k]);
			df_prefetch(line_of(f, h[k % (2 * AHEAD)], &j));
		}
	}
}

void df_frozen_release(struct df_frozen *f)
{
	df_huge_free(f->dir, f->dirbytes);
	df_huge_free(f->ent, f->entbytes);
	free(f->big);
	memset(f, 0, sizeof(*f));
}

size_t df_frozen_bytes(const struct df_frozen *f)
{
	return f->dirbytes + f->entbytes +
	       (f->big ? (f->bigmask + 1) * sizeof(*f->big) : 0);
}

/* What the walks of the source table carry. */
struct build {
	struct df_frozen *f;
	uint32_t min;
	size_t n, nbig;
	int crowded; /* a bucket of more than 255 terms */
};

/* First walk: the terms of each bucket, in the end[] of its line. */
static int count_bucket(uint32_t key, uint32_t count, void *arg)
{
	struct build *b = arg;
	unsigned j;
	struct df_line *l;

	if (count < b->min)
		return 0;
	l = (struct df_line *)line_of(b->f, df_mix32(key), &j);
	if (!++l->end[j])
		b->crowded = 1;
	b->nbig += count >= cmax(b->f);
	b->n++;
	return 0;
}

/* Second walk: each term into its bucket, from the bucket's end down. */
static int place(uint32_t key, uint32_t count, void *arg)
{
	struct build *b = arg;
	struct df_frozen *f = b->f;
	uint32_t h = df_mix32(key);
	unsigned j;
	struct df_line *l;
	size_t c = count < cmax(f) ? count : cmax(f), i;

	if (count < b->min)
		return 0;
	l = (struct df_line *)line_of(f, h, &j);
	f->ent[l->base + --l->end[j]] =
		(uint16_t)((h & (((uint32_t)1 << f->shift) - 1)) << f->cbits |
			   c);
	if (c == cmax(f)) {
		for (i = h & f->bigmask; f->big[i].h; i = (i + 1) & f->bigmask)
			;
		f->big[i].h = h;
		f->big[i].count = count;
	}
	return 0;
}

/*
 * Lines for 2^bits buckets, and the terms of each bucket counted in
 * them. 0 when every line says its terms in a byte; -1 out of memory,
 * 1 crowded.
 */
static int lay_lines(struct build *b, const struct dedup_df *df,
		     unsigned bits)
{
	struct df_frozen *f = b->f;
	size_t i, total = 0;
	unsigned j;

	f->shift = 32 - bits;
	f->cbits = bits - 16;
	f->nlines = (((size_t)1 << bits) + DF_LINE_BUCKETS - 1) /
		    DF_LINE_BUCKETS;
	f->dirbytes = f->nlines * sizeof(*f->dir);
	f->dir = df_huge_alloc(f->dirbytes);
	if (!f->dir)
		return -1;
	memset(f->dir, 0, f->dirbytes);
	b->crowded = 0;
	b->nbig = b->n = 0;
	dedup_df_foreach(df, count_bucket, b);
	for (i = 0; i < f->nlines && !b->crowded; i++) {
		struct df_line *l = &f->dir[i];
		unsigned sum = 0;

		l->base = (uint32_t)total;
		for (j = 0; j < DF_LINE_BUCKETS; j++) {
			sum += l->end[j];
			if (sum > UINT8_MAX)
				b->crowded = 1;
			l->end[j] = (uint8_t)sum;
		}
		total += sum;
	}
	return b->crowded;
}

dedup_status df_frozen_build(struct df_frozen *f, const struct dedup_df *df,
			     uint32_t min_count)
{
	struct build b = { .f = f, .min = min_count };
	unsigned bits = MIN_BITS, tries;
	size_t i, nb, most = dedup_df_size(df);
	int r = 1;

	memset(f, 0, sizeof(*f));
	/* 4-byte bases: a table that large is not this one's to hold */
	if (most > UINT32_MAX)
		return DEDUP_ENOMEM;
	/* nothing kept (no term is in 2^32 - 1 documents) */
	if (!most || min_count == UINT32_MAX)
		return DEDUP_OK;
	/* buckets for all the terms: pruning keeps most or none */
	while (bits < MAX_BITS && most > (size_t)TERMS_PER_BUCKET << bits)
		bits++;
	for (tries = 0; tries < MAX_TRIES && bits <= MAX_BITS; tries++) {
		r = lay_lines(&b, df, bits++);
		if (r <= 0)
			break;
		df_huge_free(f->dir, f->dirbytes);
		f->dir = NULL;
	}
	if (r)
		goto fail;
	if (!b.n) {
		df_frozen_release(f);
		return DEDUP_OK;
	}
	f->n = b.n;
	f->entbytes = (b.n + DF_PAD) * sizeof(*f->ent);
	f->ent = df_huge_alloc(f->entbytes);
	if (!f->ent)
		goto fail;
	memset(f->ent + b.n, 0, DF_PAD * sizeof(*f->ent));
	if (b.nbig) {
		for (nb = 8; nb < 2 * b.nbig; nb *= 2)
			;
		f->big = calloc(nb, sizeof(*f->big));
		if (!f->big)
			goto fail;
		f->bigmask = nb - 1;
	}
	dedup_df_foreach(df, place, &b);
	/*
	 * Placing counted each bucket's end down to its start: what ends
	 * bucket j now starts bucket j + 1.
	 */
	for (i = 0; i < f->nlines; i++) {
		struct df_line *l = &f->dir[i];
		size_t next = i + 1 < f->nlines ? f->dir[i + 1].base : b.n;

		memmove(l->end, l->end + 1, DF_LINE_BUCKETS - 1);
		l->end[DF_LINE_BUCKETS - 1] = (uint8_t)(next - l->base);
	}
	return DEDUP_OK;
fail:
	df_frozen_release(f);
	return DEDUP_ENOMEM;
}

int df_frozen_foreach(const struct df_frozen *f,
		      int (*fn)(uint32_t key, uint32_t count, void *arg),
		      void *arg)
{
	size_t i, k, lo, nbuckets = (size_t)1 << (32 - f->shift);
	unsigned j;
	int r;

	for (i = 0; i < f->nlines; i++) {
		const struct df_line *l = &f->dir[i];

		lo = l->base;
		for (j = 0; j < DF_LINE_BUCKETS; j++) {
			size_t bucket = i * DF_LINE_BUCKETS + j;

			if (bucket >= nbuckets)
				break;
			for (k = lo; k < l->base + l->end[j]; k++) {
				uint32_t h = (uint32_t)(bucket << f->shift) |
					     f->ent[k] >> f->cbits;
				uint32_t c = f->ent[k] & (uint32_t)cmax(f);

				if (c == cmax(f))
					c = big_get(f, h);
				if ((r = fn(df_unmix32(h), c, arg)))
					return r;
			}
			lo = l->base + l->end[j];
		}
	}
	return 0;
}
