/*
 * strip_linestats.c - corpus counts of line fingerprints in fixed memory.
 *
 * A count-min sketch: LS_DEPTH rows of LS_WIDTH 32-bit counters (4 MiB in
 * all, whatever the corpus size). Each document adds 1 to the counters of
 * each distinct segment fingerprint it contains; a query takes the minimum
 * over the rows, which is never below the true number of documents and
 * exceeds it only by collisions (about observations / LS_WIDTH per row;
 * strip_linestats_noise() lets the stripper raise its thresholds by that
 * much). Plain addition makes the counts independent of the order of
 * documents and of how they were spread over threads; merging is adding.
 */
#include <stdlib.h>
#include <string.h>

#include "dedup/strip.h"
#include "strip_linestats.h"
#include "strip_segment.h"

#define LS_DEPTH 4
#define LS_WIDTH_BITS 18
#define LS_WIDTH (1u << LS_WIDTH_BITS)
/* Distinct segments counted per document; the rest of a huge document is
 * not counted (templates show up early enough). */
#define LS_MAX_PER_DOC 4096
/* Fingerprints whose counters are asked for ahead of their turn. */
#define LS_AHEAD 8

struct dedup_linestats {
	uint64_t docs;
	uint64_t observations;
	uint32_t *cnt; /* LS_DEPTH * LS_WIDTH */
	uint64_t *scratch; /* LS_MAX_PER_DOC fingerprints of one document */
	size_t nscratch;
	const char *line; /* the line being cut */
};

dedup_status dedup_linestats_new(struct dedup_linestats **out,
				 struct dedup_error *err)
{
	struct dedup_linestats *ls = calloc(1, sizeof(*ls));

	*out = NULL;
	if (!ls)
		goto nomem;
	ls->cnt = calloc((size_t)LS_DEPTH * LS_WIDTH, sizeof(*ls->cnt));
	ls->scratch = malloc(LS_MAX_PER_DOC * sizeof(*ls->scratch));
	if (!ls->cnt || !ls->scratch)
		goto nomem;
	*out = ls;
	return DEDUP_OK;
nomem:
	dedup_linestats_free(ls);
	return dedup_error_set(err, DEDUP_ENOMEM,
			       "cannot allocate the line statistics");
}

void dedup_linestats_free(struct dedup_linestats *ls)
{
	if (!ls)
		return;
	free(ls->cnt);
	free(ls->scratch);
	free(ls);
}

static size_t slot(uint64_t fp, unsigned row)
{
	uint32_t lo = (uint32_t)fp, hi = (uint32_t)(fp >> 32) | 1u;

	return (size_t)row * LS_WIDTH +
	       ((lo + row * hi) & (LS_WIDTH - 1));
}

/*
 * One segment's fingerprint into the document's list (a strip_segments()
 * callback: the stripper cuts and fingerprints its segments with the same
 * functions). Returns 1, which stops the cutting, when the list is full.
 */
static int add_fp(void *ctx, size_t off, size_t len, unsigned flags)
{
	struct dedup_linestats *ls = ctx;
	const char *seg = ls->line + off;
	unsigned words;
	uint64_t fp;

	(void)flags;
	if (ls->nscratch == LS_MAX_PER_DOC)
		return 1;
	fp = strip_fingerprint(seg, len, &words);
	if (fp)
		ls->scratch[ls->nscratch++] = fp;
	return 0;
}

/*
 * Sort v[0..n) ascending: Shell's sort with Ciura's gaps, in place and
 * inline, as a document has a hundred segments or so, for which qsort()'s
 * call per comparison costs more than the sorting.
 */
static void sort_u64(uint64_t *v, size_t n)
{
	static const size_t gaps[] = { 1750, 701, 301, 132, 57, 23, 10, 4, 1 };
	size_t g, i, j, gap;

	for (g = 0; g < sizeof(gaps) / sizeof(*gaps); g++) {
		gap = gaps[g];
		for (i = gap; i < n; i++) {
			uint64_t x = v[i];

			for (j = i; j >= gap && v[j - gap] > x; j -= gap)
				v[j] = v[j - gap];
			v[j] = x;
		}
	}
}

dedup_status dedup_linestats_observe(struct dedup_linestats *ls,
				     const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	size_t i;
	unsigned r;

	ls->nscratch = 0;
	while (p < end && ls->nscratch < LS_MAX_PER_DOC) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			eol = end;
		ls->line = p;
		strip_segments(p, (size_t)(eol - p), add_fp, ls);
		p = eol + 1;
	}
	/* each distinct segment once per document */
	sort_u64(ls->scratch, ls->nscratch);
	/* the counters are 4 MiB of random places: ask for them ahead */
	for (i = 0; i < ls->nscratch && i < LS_AHEAD; i++)
		strip_linestats_prefetch(ls, ls->scratch[i]);
	for (i = 0; i < ls->nscratch; i++) {
		if (i + LS_AHEAD < ls->nscratch)
			strip_linestats_prefetch(ls, ls->scratch[i + LS_AHEAD]);
		if (i && ls->scratch[i] == ls->scratch[i - 1])
			continue;
		for (r = 0; r < LS_DEPTH; r++) {
			uint32_t *c = &ls->cnt[slot(ls->scratch[i], r)];

			if (*c < UINT32_MAX)
				(*c)++;
		}
		ls->observations++;
	}
	ls->docs++;
	return DEDUP_OK;
}

dedup_status dedup_linestats_merge(struct dedup_linestats *dst,
				   const struct dedup_linestats *src)
{
	size_t i, n = (size_t)LS_DEPTH * LS_WIDTH;

	for (i = 0; i < n; i++) {
		uint64_t s = (uint64_t)dst->cnt[i] + src->cnt[i];

		dst->cnt[i] = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
	}
	dst->docs += src->docs;
	dst->observations += src->observations;
	return DEDUP_OK;
}

uint64_t dedup_linestats_docs(const struct dedup_linestats *ls)
{
	return ls->docs;
}

/* Image: magic, depth, width bits, docs, observations, counters; all
 * integers little-endian. */
static const char magic[8] = { 'D', 'D', 'L', 'S', 'T', 'A', 'T', '1' };
#define HEADER_SIZE 32

static void put_le(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

dedup_status dedup_linestats_write(const struct dedup_linestats *ls,
				   struct dedup_buf *out)
{
	size_t i, n = (size_t)LS_DEPTH * LS_WIDTH;
	unsigned char *p;

	if (dedup_buf_grow(out, HEADER_SIZE + 4 * n))
		return DEDUP_ENOMEM;
	p = (unsigned char *)out->buf + out->len;
	memcpy(p, magic, 8);
	put_le(p + 8, LS_DEPTH, 4);
	put_le(p + 12, LS_WIDTH_BITS, 4);
	put_le(p + 16, ls->docs, 8);
	put_le(p + 24, ls->observations, 8);
	for (i = 0; i < n; i++)
		put_le(p + HEADER_SIZE + 4 * i, ls->cnt[i], 4);
	out->len += HEADER_SIZE + 4 * n;
	out->buf[out->len] = '\0';
	return DEDUP_OK;
}

dedup_status dedup_linestats_read(struct dedup_linestats *ls,
				  const void *data, size_t len,
				  struct dedup_error *err)
{
	const unsigned char *p = data;
	size_t i, n = (size_t)LS_DEPTH * LS_WIDTH;

	if (len < HEADER_SIZE || memcmp(p, magic, 8))
		return dedup_error_set(err, DEDUP_EFORMAT,
				       "not a line statistics image");
	if (get_le(p + 8, 4) != LS_DEPTH ||
	    get_le(p + 12, 4) != LS_WIDTH_BITS)
		return dedup_error_set(err, DEDUP_ESETTINGS,
			"line statistics of another size (%u x 2^%u)",
			(unsigned)get_le(p + 8, 4),
			(unsigned)get_le(p + 12, 4));
	if (len != HEADER_SIZE + 4 * n)
		return dedup_error_set(err, DEDUP_EFORMAT,
			"line statistics image of %zu bytes, not %zu", len,
			HEADER_SIZE + 4 * n);
	for (i = 0; i < n; i++) {
		uint64_t s = (uint64_t)ls->cnt[i] +
			     get_le(p + HEADER_SIZE + 4 * i, 4);

		ls->cnt[i] = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
	}
	ls->docs += get_le(p + 16, 8);
	ls->observations += get_le(p + 24, 8);
	return DEDUP_OK;
}

uint32_t strip_linestats_count(const struct dedup_linestats *ls,
			       uint64_t fp)
{
	uint32_t m = UINT32_MAX;
	unsigned r;

	for (r = 0; r < LS_DEPTH; r++) {
		uint32_t c = ls->cnt[slot(fp, r)];

		if (c < m)
			m = c;
	}
	return m;
}

void strip_linestats_prefetch(const struct dedup_linestats *ls, uint64_t fp)
{
#ifdef __GNUC__
	unsigned r;

	for (r = 0; r < LS_DEPTH; r++)
		__builtin_prefetch(&ls->cnt[slot(fp, r)]);
#else
	(void)ls;
	(void)fp;
#endif
}

double strip_linestats_noise(const struct dedup_linestats *ls)
{
	return (double)ls->observations / LS_WIDTH;
}
