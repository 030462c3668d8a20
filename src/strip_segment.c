/* strip_segment.c - cut glued lines into segments, fingerprint segments. */
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include "strip_ascii.h"
#include "strip_segment.h"
#include "strip_words.h"

/* A run of at least this many lowercase letters before a capital is a glue
 * point: "menuNews" is cut, camel-case names like "iPhone" or "YouTube"
 * are not. */
#define GLUE_MIN_LOWER 3

#define FP_SEED 0x9E3779B97F4A7C15ULL

static int is_space(UChar32 c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	       c == 0xA0 || c == 0x2007 || c == 0x202F ||
	       (c > 0x7F && u_isUWhiteSpace(c));
}

static int is_lower(UChar32 c)
{
	if (c < 0x80)
		return c >= 'a' && c <= 'z';
	return u_islower(c);
}

static int is_upper(UChar32 c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z';
	return u_isupper(c) || u_istitle(c);
}

static int is_digit(UChar32 c)
{
	return c >= '0' && c <= '9';
}

static int emit(const char *s, size_t a, size_t b, unsigned flags,
		int (*fn)(void *, size_t, size_t, unsigned), void *ctx)
{
	/* trim */
	while (a < b) {
		int32_t i = (int32_t)a;
		UChar32 c;

		U8_NEXT(s, i, (int32_t)b, c);
		if (c < 0 || !is_space(c))
			break;
		a = (size_t)i;
	}
	while (b > a) {
		int32_t i = (int32_t)b;
		UChar32 c;

		U8_PREV(s, (int32_t)a, i, c);
		if (c < 0 || !is_space(c))
			break;
		b = (size_t)i;
	}
	if (b == a)
		return 0;
	return fn(ctx, a, b - a, flags);
}

/*
 * ASCII bytes that a cut may concern as the character c1 below: capitals
 * (glue points) and '|' (a separator). Any other ASCII character neither
 * cuts nor is cut before, so the loop only counts it into the run of
 * lowercase letters and moves on, without decoding UTF-8 or looking ahead.
 */
#define A_STOP 1u
#define A_LOWER 2u

#define AZ(c) [c] = A_STOP, [c + 32] = A_LOWER
static const unsigned char ascii_seg[128] = {
	['|'] = A_STOP,
	AZ('A'), AZ('B'), AZ('C'), AZ('D'), AZ('E'), AZ('F'), AZ('G'),
	AZ('H'), AZ('I'), AZ('J'), AZ('K'), AZ('L'), AZ('M'), AZ('N'),
	AZ('O'), AZ('P'), AZ('Q'), AZ('R'), AZ('S'), AZ('T'), AZ('U'),
	AZ('V'), AZ('W'), AZ('X'), AZ('Y'), AZ('Z'),
};
#undef AZ

/* The code point at s[i] (negative when not valid UTF-8) and where the
 * next one starts. */
static UChar32 next_cp(const char *s, size_t len, size_t i, size_t *next)
{
	int32_t j = (int32_t)i;
	UChar32 c;

	if ((unsigned char)s[i] < 0x80) {
		*next = i + 1;
		return (unsigned char)s[i];
	}
	U8_NEXT(s, j, (int32_t)len, c);
	*next = (size_t)j;
	return c;
}

/*
 * The first byte at or after i that is not plain ASCII for the cuts (a
 * capital, '|' or a byte of a longer character), or len; eight bytes at a
 * time where the machine allows (strip_ascii.h).
 */
static size_t skip_plain(const unsigned char *p, size_t i, size_t len)
{
#ifdef STRIP_SWAR
	while (len - i >= 8) {
		uint64_t x = swar_load(p + i);
		uint64_t stop = (x & SWAR_HIGH) | swar_upper(x) |
				swar_eq(x, '|');

		if (stop)
			return i + swar_first(stop);
		i += 8;
	}
#endif
	while (i < len && p[i] < 0x80 && !(ascii_seg[p[i]] & A_STOP))
		i++;
	return i;
}

#ifdef STRIP_SWAR
/*
 * The same bytes for a whole line at once, 64 to a word of bits (bit k
 * of stop[b]: byte 64 b + k), for lines up to SEG_STOPS_MAX bytes: one
 * pass that compares 32 bytes at a time where the CPU can, then a scan
 * of bits from one stop to the next instead of eight bytes at a time.
 */
#define SEG_STOPS_MAX 4096

static uint64_t stops_swar(const unsigned char *p)
{
	uint64_t m = 0;
	unsigned j;

	for (j = 0; j < 8; j++) {
		uint64_t x = swar_load(p + 8 * j), x7 = x & ~SWAR_HIGH;
		uint64_t ascii = ~x & SWAR_HIGH;
		uint64_t stop = ((swar_range7(x7, 'A', 'Z') |
				  swar_eq7(x7, '|')) & ascii) |
				(x & SWAR_HIGH);

		m |= swar_pack(stop) << (8 * j);
	}
	return m;
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define SEG_AVX2 1

__attribute__((target("avx2")))
static uint64_t stops_avx2(const unsigned char *p)
{
	uint64_t m = 0;
	unsigned h;

	for (h = 0; h < 2; h++) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(p + 32 * h));
		/* bytes from 0x80 up are negative: no capital, but stops */
		__m256i v = _mm256_or_si256(
			_mm256_and_si256(
				_mm256_cmpgt_epi8(x, _mm256_set1_epi8('A' - 1)),
				_mm256_cmpgt_epi8(_mm256_set1_epi8('Z' + 1), x)),
			_mm256_cmpeq_epi8(x, _mm256_set1_epi8('|')));

		v = _mm256_or_si256(v, x);
		m |= (uint64_t)(uint32_t)_mm256_movemask_epi8(v) << (32 * h);
	}
	return m;
}
#endif

/* The stops of p[0..len) (len <= SEG_STOPS_MAX) into stop[]; returns the
 * number of words of bits. */
static size_t line_stops(const unsigned char *p, size_t len, uint64_t *stop)
{
	size_t nb = (len + 63) / 64, b;
	int avx2 = 0;

#ifdef SEG_AVX2
	avx2 = __builtin_cpu_supports("avx2");
#endif
	for (b = 0; b < nb; b++) {
		unsigned char pad[64];
		const unsigned char *q = p + 64 * b;

		/* zero, past the end, stops nothing; eight bytes at a time
		 * there, so that every line takes both ways */
		if (len - 64 * b < 64) {
			memset(pad, 0, sizeof(pad));
			memcpy(pad, q, len - 64 * b);
			stop[b] = stops_swar(pad);
			continue;
		}
#ifdef SEG_AVX2
		if (avx2) {
			stop[b] = stops_avx2(q);
			continue;
		}
#endif
		(void)avx2;
		stop[b] = stops_swar(q);
	}
	return nb;
}

/* skip_plain() from the line's stops: the first at or after i, or len. */
static size_t skip_stops(const uint64_t *stop, size_t nb, size_t i,
			 size_t len)
{
	size_t b = i / 64;
	uint64_t x;

	if (b >= nb)
		return len;
	x = stop[b] & (~0ull << (i % 64));
	while (!x) {
		if (++b == nb)
			return len;
		x = stop[b];
	}
	return b * 64 + (size_t)__builtin_ctzll(x);
}
#endif

int strip_segments(const char *s, size_t len,
		   int (*fn)(void *ctx, size_t off, size_t len,
			     unsigned flags),
		   void *ctx)
{
	const unsigned char *p = (const unsigned char *)s;
	/* c0 is the code point before c1, c2 the one after; lower counts the
	 * lowercase letters ending at c0 (3 stands for 3 or more) */
	UChar32 c0 = -1, cp = -1, c1, c2;
	size_t start = 0, i1 = 0, i2, i3, j, run, t;
	unsigned lower = 0, flags = 0;
	int rc;
#ifdef STRIP_SWAR
	uint64_t stop[SEG_STOPS_MAX / 64];
	size_t nstop = 0;
	int bits = len <= SEG_STOPS_MAX;

	if (bits)
		nstop = line_stops(p, len, stop);
#endif

	if (len > INT32_MAX)
		len = INT32_MAX;
	while (i1 < len) {
		int cut_before = 0, sep = 0;

		/*
		 * ASCII bytes other than capitals and '|' neither cut nor are
		 * cut before: step over a run of them, keeping only what the
		 * next character looks back at, the last two and the
		 * lowercase letters ending the run
		 */
#ifdef STRIP_SWAR
		j = bits ? skip_stops(stop, nstop, i1, len) :
			   skip_plain(p, i1, len);
#else
		j = skip_plain(p, i1, len);
#endif
		if (j > i1) {
			run = j - i1;
			for (t = 0; t < run && t < GLUE_MIN_LOWER &&
			     (ascii_seg[p[j - 1 - t]] & A_LOWER); t++)
				;
			lower = t == run ? lower + (unsigned)t : (unsigned)t;
			cp = run >= 2 ? p[j - 2] : c0;
			c0 = p[j - 1];
			i1 = j;
			if (i1 == len)
				break;
		}
		c1 = next_cp(s, len, i1, &i2);
		c2 = i2 < len ? next_cp(s, len, i2, &i3) : -1;
		if (c1 == '|' || c1 == 0x2016 || c1 == 0xA6 ||
		    ((c1 == 0x2022 || c1 == 0xB7 || c1 == 0x25CF ||
		      c1 == 0x25AA) && (c0 < 0 || is_space(c0)) &&
		     (c2 < 0 || is_space(c2))))
			sep = 1;
		else if (is_upper(c1) && c2 >= 0 && is_lower(c2) && c0 >= 0) {
			if (is_lower(c0) && lower >= GLUE_MIN_LOWER)
				cut_before = 1;
			else if (is_digit(c0) || c0 == ']' || c0 == ')')
				cut_before = 1;
			else if ((c0 == '.' || c0 == '!' || c0 == '?') &&
				 cp >= 0 && is_lower(cp))
				cut_before = 1;
			/* closing quote after a sentence end: ."Next */
			else if ((c0 == '"' || c0 == 0x201D || c0 == 0x2019 ||
				  c0 == 0xBB) && (cp == '.' || cp == '!' ||
						  cp == '?'))
				cut_before = 1;
		}
		if (sep) {
			rc = emit(s, start, i1, flags, fn, ctx);
			if (rc)
				return rc;
			start = i2;
			flags = 0;
		} else if (cut_before) {
			rc = emit(s, start, i1, flags, fn, ctx);
			if (rc)
				return rc;
			start = i1;
			flags = SEG_GLUED;
		}
		if (is_lower(c1))
			lower++;
		else
			lower = 0;
		cp = c0;
		c0 = c1;
		i1 = i2;
	}
	if (!len)
		return 0;
	return emit(s, start, len, flags, fn, ctx);
}

/* One word into a fingerprint: every number alike. */
static uint64_t fp_add(uint64_t fp, uint64_t hash, unsigned flags)
{
	uint64_t h = flags & STRIP_WORD_NUMBER ? 0x5bd1e995ULL : hash;

	fp = (fp ^ h) * 0xff51afd7ed558ccdULL;
	return fp ^ fp >> 29;
}

/* numbers alone ("12", "55'") are no template */
static uint64_t fp_end(uint64_t fp, unsigned alpha)
{
	if (!alpha)
		return 0;
	return fp ? fp : 1;
}

uint64_t strip_fingerprint(const char *s, size_t len, unsigned *words)
{
	uint64_t hash[(STRIP_WORDS_BLOCK_MAX + 1) / 2];
	unsigned char flags[(STRIP_WORDS_BLOCK_MAX + 1) / 2];
	struct strip_word w;
	uint64_t fp = FP_SEED, h;
	size_t pos = 0, n;
	unsigned alpha = 0;

	if (len <= STRIP_WORDS_BLOCK_MAX) {
		n = strip_words_hash(s, len, hash, flags);
		*words = (unsigned)n;
		return strip_fingerprint_words(hash, flags, n);
	}
	n = 0;
	while (strip_next_word_hash(s, len, &pos, &w, &h)) {
		int num = (w.flags & STRIP_WORD_NUMBER) != 0;

		fp = fp_add(fp, h, w.flags);
		alpha += !num;
		n++;
	}
	*words = (unsigned)n;
	return fp_end(fp, alpha);
}

uint64_t strip_fingerprint_words(const uint64_t *hash,
				 const unsigned char *flags, size_t n)
{
	uint64_t fp = FP_SEED;
	unsigned alpha = 0;
	size_t k;

	for (k = 0; k < n; k++) {
		fp = fp_add(fp, hash[k], flags[k]);
		alpha += !(flags[k] & STRIP_WORD_NUMBER);
	}
	return fp_end(fp, alpha);
}
