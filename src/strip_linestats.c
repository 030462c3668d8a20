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

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include "dedup/strip.h"
#include "dedup/tokenize.h"
#include "strip_linestats.h"
#include "strip_segment.h"
#include "strip_words.h"

#define LS_DEPTH 4
#define LS_WIDTH_BITS 18
#define LS_WIDTH (1u << LS_WIDTH_BITS)
/* Distinct segments counted per document; the rest of a huge document is
 * not counted (templates show up early enough). */
#define LS_MAX_PER_DOC 4096
/* Words of a segment fingerprinted without strip_fingerprint(). */
#define FP_WORDS 256
/* Longer words are hashed as they are (strip_words.c FOLD_MAX * 3). */
#define FOLD_BYTES 384

struct dedup_linestats {
	uint64_t docs;
	uint64_t observations;
	uint32_t *cnt; /* LS_DEPTH * LS_WIDTH */
	uint64_t *scratch; /* LS_MAX_PER_DOC fingerprints of one document */
	size_t nscratch;
	uint64_t whash[FP_WORDS]; /* one segment's words */
	unsigned char wflags[FP_WORDS];
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
 * Classes of ASCII bytes, one bit each, for strip_segments() (space,
 * lower- and uppercase, digit, sentence end) and strip_next_word() (word
 * bytes: letters, digits and '_').
 */
enum {
	K_SPACE = 1, K_LOWER = 2, K_UPPER = 4, K_DIGIT = 8, K_END = 16,
	K_UNDER = 32,
	K_LETTER = K_LOWER | K_UPPER,
	K_WORD = K_LETTER | K_DIGIT | K_UNDER,
};

static const unsigned char kind[128] = {
	[' '] = K_SPACE, ['\t'] = K_SPACE, ['\r'] = K_SPACE, ['\n'] = K_SPACE,
	['.'] = K_END, ['!'] = K_END, ['?'] = K_END, ['_'] = K_UNDER,
#define D(c) [c] = K_DIGIT
	D('0'), D('1'), D('2'), D('3'), D('4'), D('5'), D('6'), D('7'),
	D('8'), D('9'),
#undef D
#define L(c) [c] = K_LOWER, [c - 32] = K_UPPER
	L('a'), L('b'), L('c'), L('d'), L('e'), L('f'), L('g'), L('h'),
	L('i'), L('j'), L('k'), L('l'), L('m'), L('n'), L('o'), L('p'),
	L('q'), L('r'), L('s'), L('t'), L('u'), L('v'), L('w'), L('x'),
	L('y'), L('z'),
#undef L
};

/* Whether the byte after a word's ' . or , joins the next one to it. */
static int joins(int c, unsigned before, unsigned after)
{
	if (c == ',')
		return (before & K_DIGIT) && (after & K_DIGIT);
	if (c == '.')
		return ((before & K_LETTER) && (after & K_LETTER)) ||
		       ((before & K_DIGIT) && (after & K_DIGIT));
	return c == '\'' && (before & K_LETTER) && (after & K_LETTER);
}

/* Word n of a segment: the folded hash, nothing for numbers. */
static void put_word(struct dedup_linestats *ls, size_t n, const char *w,
		     size_t len, unsigned flags, int ascii)
{
	char low[FOLD_BYTES];
	size_t k;

	ls->wflags[n] = (unsigned char)(flags & STRIP_WORD_NUMBER);
	ls->whash[n] = 0; /* numbers are all alike */
	if (flags & STRIP_WORD_NUMBER)
		return;
	if (!ascii || len > FOLD_BYTES) {
		ls->whash[n] = strip_word_hash(w, len);
		return;
	}
	/* K_UPPER << 3 is 0x20: A-Z to a-z, the rest kept */
	for (k = 0; k < len; k++)
		low[k] = (char)(w[k] | ((kind[(unsigned char)w[k]] & K_UPPER)
					<< 3));
	ls->whash[n] = dedup_token_hash(low, len);
}

/*
 * strip_fingerprint() of a segment, in one loop over its bytes: the words
 * of strip_next_word() (runs of letters, digits and '_', joined across '
 * and . between letters, . and , between digits), folded and hashed as
 * strip_word_hash() does, in strip_fingerprint_words(). Words of ASCII
 * bytes (most, even in a line with curly quotes or accents) are found with
 * a table of byte classes and lowercased in place; a word that starts at,
 * ends at or joins across a byte of another character is taken from
 * strip_next_word() itself, and folded by strip_word_hash(). Returns 1
 * (*fp left alone) past FP_WORDS words. test_linestats.c holds the two
 * equal.
 */
static int fast_fingerprint(struct dedup_linestats *ls, const char *s,
			    size_t len, uint64_t *fp)
{
	struct strip_word w;
	size_t i = 0, n = 0, off;
	unsigned flags, before, after;

	for (;;) {
		while (i < len && (unsigned char)s[i] < 0x80 &&
		       !(kind[(unsigned char)s[i]] & K_WORD))
			i++;
		if (i == len)
			break;
		if (n == FP_WORDS)
			return 1;
		off = i;
		flags = before = 0;
		while (i < len && (unsigned char)s[i] < 0x80) {
			unsigned k1 = kind[(unsigned char)s[i]];

			if (k1 & K_WORD) {
				if (k1 & K_DIGIT)
					flags = STRIP_WORD_NUMBER;
				before = k1;
				i++;
				continue;
			}
			if (!before || i + 1 == len)
				break;
			after = (unsigned char)s[i + 1] < 0x80 ?
				kind[(unsigned char)s[i + 1]] : 0;
			if ((unsigned char)s[i + 1] >= 0x80 &&
			    (s[i] == '\'' || s[i] == '.' || s[i] == ','))
				before = 0; /* may join: ask strip_next_word() */
			else if (joins(s[i], before, after))
				i++;
			else
				break;
			if (!before)
				break;
		}
		if (before && (i == len || (unsigned char)s[i] < 0x80)) {
			put_word(ls, n++, s + off, i - off, flags, 1);
			continue;
		}
		/* another character in or next to the word, or before it */
		i = off;
		if (!strip_next_word(s, len, &i, &w))
			break;
		put_word(ls, n++, s + w.off, w.len, w.flags, 0);
	}
	*fp = strip_fingerprint_words(ls->whash, ls->wflags, n);
	return 0;
}

/* One segment's fingerprint into the document's list. */
static int add_fp(struct dedup_linestats *ls, const char *seg, size_t len)
{
	unsigned words;
	uint64_t fp;

	if (ls->nscratch == LS_MAX_PER_DOC)
		return 1;
	if (fast_fingerprint(ls, seg, len, &fp))
		fp = strip_fingerprint(seg, len, &words);
	if (fp)
		ls->scratch[ls->nscratch++] = fp;
	return 0;
}

/* seg_class() of a character of more than one byte. */
static unsigned seg_class_mb(const char *s, size_t len, size_t i, int32_t *c,
			     size_t *next)
{
	int32_t j = (int32_t)i;
	UChar32 u;

	U8_NEXT(s, j, (int32_t)len, u);
	*c = u;
	*next = (size_t)j;
	if (u < 0)
		return 0;
	if (u == 0xA0 || u == 0x2007 || u == 0x202F || u_isUWhiteSpace(u))
		return K_SPACE;
	if (u_islower(u))
		return K_LOWER;
	return u_isupper(u) || u_istitle(u) ? K_UPPER : 0;
}

/*
 * The class of the code point at s[i] for strip_segments(): a table for
 * ASCII, ICU's properties as strip_segment.c asks them for the rest.
 * *c gets the code point (negative when malformed), *next where the next
 * one starts.
 */
static inline unsigned seg_class(const char *s, size_t len, size_t i,
				 int32_t *c, size_t *next)
{
	unsigned char b = (unsigned char)s[i];

	if (b >= 0x80)
		return seg_class_mb(s, len, i, c, next);
	*c = b;
	*next = i + 1;
	return kind[b];
}

/* Segment s[a..b) trimmed of spaces, fingerprinted unless empty. */
static int emit(struct dedup_linestats *ls, const char *s, size_t a,
		size_t b)
{
	int32_t c;
	size_t next;

	while (a < b && seg_class(s, b, a, &c, &next) == K_SPACE)
		a = next;
	while (b > a) {
		int32_t j = (int32_t)b;
		UChar32 u;

		if ((unsigned char)s[b - 1] < 0x80) {
			if (kind[(unsigned char)s[b - 1]] != K_SPACE)
				break;
			b--;
			continue;
		}
		U8_PREV(s, (int32_t)a, j, u);
		if (u < 0 || seg_class(s, b, (size_t)j, &c, &next) != K_SPACE)
			break;
		b = (size_t)j;
	}
	return b > a ? add_fp(ls, s + a, b - a) : 0;
}

static int is_bullet(int32_t c)
{
	return c == 0x2022 || c == 0xB7 || c == 0x25CF || c == 0x25AA;
}

/*
 * strip_segments() of one line, fingerprinting each segment: the same
 * cuts, at "|" and other separators, and where a capitalised word is
 * glued to a lowercase run of three letters or more, a digit, a closing
 * bracket, or a sentence end after a lowercase letter or before a quote,
 * but ASCII bytes (most) are classed with a table instead of a UTF-8
 * decode and ICU property calls each. test_linestats.c holds the two to
 * the same segments. Returns 1 when the document's list is full.
 */
static int segments(struct dedup_linestats *ls, const char *s, size_t len)
{
	size_t start = 0, i1 = 0, i2, i3;
	unsigned lower = 0, k0 = 0, kp = 0, k1, k2;
	int32_t c0 = -1, cp = -1, c1, c2;

	if (len > INT32_MAX)
		len = INT32_MAX;
	if (!len)
		return 0;
	k1 = seg_class(s, len, 0, &c1, &i2);
	while (i1 < len) {
		int sep;

		if (i2 < len) {
			k2 = seg_class(s, len, i2, &c2, &i3);
		} else {
			c2 = -1;
			k2 = 0;
			i3 = i2;
		}
		sep = c1 == '|' || c1 == 0x2016 || c1 == 0xA6 ||
		      (is_bullet(c1) && (c0 < 0 || k0 == K_SPACE) &&
		       (c2 < 0 || k2 == K_SPACE));
		if (sep) {
			if (emit(ls, s, start, i1))
				return 1;
			start = i2;
		} else if (k1 == K_UPPER && k2 == K_LOWER && c0 >= 0 &&
			   ((k0 == K_LOWER && lower >= 3) || k0 == K_DIGIT ||
			    c0 == ']' || c0 == ')' ||
			    ((c0 == '.' || c0 == '!' || c0 == '?') &&
			     kp == K_LOWER) ||
			    ((c0 == '"' || c0 == 0x201D || c0 == 0x2019 ||
			      c0 == 0xBB) &&
			     (cp == '.' || cp == '!' || cp == '?')))) {
			if (emit(ls, s, start, i1))
				return 1;
			start = i1;
		}
		lower = k1 == K_LOWER ? lower + 1 : 0;
		cp = c0;
		kp = k0;
		c0 = c1;
		k0 = k1;
		c1 = c2;
		k1 = k2;
		i1 = i2;
		i2 = i3;
	}
	return emit(ls, s, start, len);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
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
		segments(ls, p, (size_t)(eol - p));
		p = eol + 1;
	}
	/* each distinct segment once per document */
	qsort(ls->scratch, ls->nscratch, sizeof(*ls->scratch), cmp_u64);
	for (i = 0; i < ls->nscratch; i++) {
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

double strip_linestats_noise(const struct dedup_linestats *ls)
{
	return (double)ls->observations / LS_WIDTH;
}
