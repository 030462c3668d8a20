/*
 * test_strip_segment.c - the fast paths of the segmenter and the word
 * splitter against the plain code they replaced: strip_segments() must cut
 * exactly where a character-by-character loop does (kept here as the
 * reference), and strip_next_word_hash() find the words and hashes of
 * strip_next_word() and strip_word_hash(), on lines built from every kind
 * of cut and word, with accents, typographic quotes, bullets, no-break
 * spaces and invalid bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include "dedup/tokenize.h"
#include "strip_pieces.h"
#include "strip_segment.h"
#include "strip_words.h"

#define GLUE_MIN_LOWER 3

/* ---- the reference: strip_segments() as it was before its fast path */

static int ref_is_space(UChar32 c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	       c == 0xA0 || c == 0x2007 || c == 0x202F ||
	       (c > 0x7F && u_isUWhiteSpace(c));
}

static int ref_is_lower(UChar32 c)
{
	if (c < 0x80)
		return c >= 'a' && c <= 'z';
	return u_islower(c);
}

static int ref_is_upper(UChar32 c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z';
	return u_isupper(c) || u_istitle(c);
}

static int ref_is_digit(UChar32 c)
{
	return c >= '0' && c <= '9';
}

static int ref_emit(const char *s, size_t a, size_t b, unsigned flags,
		int (*fn)(void *, size_t, size_t, unsigned), void *ctx)
{
	/* trim */
	while (a < b) {
		int32_t i = (int32_t)a;
		UChar32 c;

		U8_NEXT(s, i, (int32_t)b, c);
		if (c < 0 || !ref_is_space(c))
			break;
		a = (size_t)i;
	}
	while (b > a) {
		int32_t i = (int32_t)b;
		UChar32 c;

		U8_PREV(s, (int32_t)a, i, c);
		if (c < 0 || !ref_is_space(c))
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
#define R_STOP 1u
#define R_LOWER 2u

#define AZ(c) [c] = R_STOP, [c + 32] = R_LOWER
static const unsigned char ref_ascii_seg[128] = {
	['|'] = R_STOP,
	AZ('A'), AZ('B'), AZ('C'), AZ('D'), AZ('E'), AZ('F'), AZ('G'),
	AZ('H'), AZ('I'), AZ('J'), AZ('K'), AZ('L'), AZ('M'), AZ('N'),
	AZ('O'), AZ('P'), AZ('Q'), AZ('R'), AZ('S'), AZ('T'), AZ('U'),
	AZ('V'), AZ('W'), AZ('X'), AZ('Y'), AZ('Z'),
};
#undef AZ

/* The code point at s[i] (negative when not valid UTF-8) and where the
 * next one starts. */
static UChar32 ref_next_cp(const char *s, size_t len, size_t i, size_t *next)
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

static int ref_strip_segments(const char *s, size_t len,
		   int (*fn)(void *ctx, size_t off, size_t len,
			     unsigned flags),
		   void *ctx)
{
	/* c0 is the code point before c1, c2 the one after; lower counts the
	 * lowercase letters ending at c0 */
	UChar32 c0 = -1, cp = -1, c1, c2;
	size_t start = 0, i1 = 0, i2, i3;
	unsigned lower = 0, flags = 0;
	int rc;

	if (len > INT32_MAX)
		len = INT32_MAX;
	while (i1 < len) {
		unsigned char b = (unsigned char)s[i1];
		int cut_before = 0, sep = 0;

		if (b < 0x80 && !(ref_ascii_seg[b] & R_STOP)) {
			lower = ref_ascii_seg[b] & R_LOWER ? lower + 1 : 0;
			cp = c0;
			c0 = b;
			i1++;
			continue;
		}
		c1 = ref_next_cp(s, len, i1, &i2);
		c2 = i2 < len ? ref_next_cp(s, len, i2, &i3) : -1;
		if (c1 == '|' || c1 == 0x2016 || c1 == 0xA6 ||
		    ((c1 == 0x2022 || c1 == 0xB7 || c1 == 0x25CF ||
		      c1 == 0x25AA) && (c0 < 0 || ref_is_space(c0)) &&
		     (c2 < 0 || ref_is_space(c2))))
			sep = 1;
		else if (ref_is_upper(c1) && c2 >= 0 && ref_is_lower(c2) && c0 >= 0) {
			if (ref_is_lower(c0) && lower >= GLUE_MIN_LOWER)
				cut_before = 1;
			else if (ref_is_digit(c0) || c0 == ']' || c0 == ')')
				cut_before = 1;
			else if ((c0 == '.' || c0 == '!' || c0 == '?') &&
				 cp >= 0 && ref_is_lower(cp))
				cut_before = 1;
			/* closing quote after a sentence end: ."Next */
			else if ((c0 == '"' || c0 == 0x201D || c0 == 0x2019 ||
				  c0 == 0xBB) && (cp == '.' || cp == '!' ||
						  cp == '?'))
				cut_before = 1;
		}
		if (sep) {
			rc = ref_emit(s, start, i1, flags, fn, ctx);
			if (rc)
				return rc;
			start = i2;
			flags = 0;
		} else if (cut_before) {
			rc = ref_emit(s, start, i1, flags, fn, ctx);
			if (rc)
				return rc;
			start = i1;
			flags = SEG_GLUED;
		}
		if (ref_is_lower(c1))
			lower++;
		else
			lower = 0;
		cp = c0;
		c0 = c1;
		i1 = i2;
	}
	if (!len)
		return 0;
	return ref_emit(s, start, len, flags, fn, ctx);
}

/* ---- the tests */

struct cuts {
	size_t off[512], len[512];
	unsigned flags[512];
	size_t n;
};

static int collect(void *ctx, size_t off, size_t len, unsigned flags)
{
	struct cuts *c = ctx;

	if (c->n < 512) {
		c->off[c->n] = off;
		c->len[c->n] = len;
		c->flags[c->n] = flags;
		c->n++;
	}
	return 0;
}

static void test_segments_as_reference(void **state)
{
	uint32_t x = 11;
	char line[1024];
	size_t i, k;

	(void)state;
	for (i = 0; i < 40000; i++) {
		struct cuts a = { .n = 0 }, b = { .n = 0 };
		size_t len = make_line(line, sizeof(line), 1 + i % 40, &x);

		/* every length, so that the eight-byte steps end anywhere */
		len -= len >= i % 3 ? i % 3 : 0;
		strip_segments(line, len, collect, &a);
		ref_strip_segments(line, len, collect, &b);
		assert_int_equal(a.n, b.n);
		for (k = 0; k < a.n; k++) {
			assert_int_equal(a.off[k], b.off[k]);
			assert_int_equal(a.len[k], b.len[k]);
			assert_int_equal(a.flags[k], b.flags[k]);
		}
	}
}

/* strip_words_hash(), with and without the vector code, against the
 * words of strip_next_word() */
static void check_words_at_once(const char *line, size_t len,
				const uint64_t *hs, const unsigned char *fl,
				size_t n)
{
	static uint64_t h[STRIP_WORDS_BLOCK_MAX + 2048];
	static unsigned char f[STRIP_WORDS_BLOCK_MAX + 2048];
	size_t k;
	int isa;

	for (isa = 0; isa < 2; isa++) {
		assert_int_equal(strip_words_hash_isa(line, len, h, f, isa), n);
		for (k = 0; k < n; k++) {
			assert_true(h[k] == hs[k]);
			assert_int_equal(f[k], fl[k]);
		}
	}
}

static void test_words_as_reference(void **state)
{
	uint32_t x = 5;
	char line[1024];
	size_t i;

	(void)state;
	for (i = 0; i < 40000; i++) {
		size_t len = make_line(line, sizeof(line), 1 + i % 60, &x);
		size_t pa = 0, pb = 0;
		struct strip_word a, b;
		uint64_t h;
		unsigned words;
		int ra, rb;

		/* a word too long to fold is hashed as it is */
		if (i == 0 || i == 1) {
			memset(line, i ? 'X' : 'w', 1000);
			len = 1000;
		}
		for (;;) {
			ra = strip_next_word_hash(line, len, &pa, &a, &h);
			rb = strip_next_word(line, len, &pb, &b);
			assert_int_equal(ra, rb);
			assert_int_equal(pa, pb);
			if (!ra)
				break;
			assert_int_equal(a.off, b.off);
			assert_int_equal(a.len, b.len);
			assert_int_equal(a.flags, b.flags);
			assert_int_equal(a.chars, b.chars);
			assert_true(h == strip_word_hash(line + b.off, b.len));
		}
		/* the fingerprint of the words as strip_next_word() splits
		 * them */
		{
			uint64_t hs[1024];
			unsigned char fl[1024];
			size_t n = 0, pos = 0;

			while (n < 1024 && strip_next_word(line, len, &pos, &b)) {
				hs[n] = strip_word_hash(line + b.off, b.len);
				fl[n++] = (unsigned char)b.flags;
			}
			assert_true(strip_fingerprint(line, len, &words) ==
				    strip_fingerprint_words(hs, fl, n));
			assert_int_equal(words, n);
			check_words_at_once(line, len, hs, fl, n);
		}
	}
}

static size_t put_cp(char *o, UChar32 c)
{
	size_t n = 0;
	UBool err = 0;

	U8_APPEND((uint8_t *)o, n, 4, c, err);
	return err ? 0 : n;
}

/*
 * The splitter classes the characters of two bytes and of U+2000 to
 * U+203F from a table: each must split and flag words as its ICU
 * properties say (a letter, digit, mark or connector continues a word;
 * the apostrophe U+2019 joins letters; capitals flag a word).
 */
static void test_word_class_table(void **state)
{
	UChar32 c;
	size_t n, m, pos;
	char line[16];
	struct strip_word w;

	(void)state;
	for (c = 0x80; c < 0x2040; c++) {
		int8_t t;
		int word, digit, letter, upper, found;
		unsigned flags;

		if (c == 0x800)
			c = 0x2000;
		t = u_charType(c);
		word = u_isalnum(c) || t == U_NON_SPACING_MARK ||
		       t == U_COMBINING_SPACING_MARK ||
		       t == U_ENCLOSING_MARK ||
		       t == U_CONNECTOR_PUNCTUATION;
		digit = u_isdigit(c);
		letter = !digit && u_isalpha(c);
		upper = u_isupper(c) || u_istitle(c);
		/* between letters */
		memcpy(line, "ab", 2);
		m = put_cp(line + 2, c);
		memcpy(line + 2 + m, "cd", 2);
		n = 4 + m;
		pos = 0;
		assert_true(strip_next_word(line, n, &pos, &w));
		assert_int_equal(w.off, 0);
		assert_int_equal(w.len, word || c == 0x2019 ? n : 2);
		/* alone */
		pos = 0;
		found = strip_next_word(line + 2, m, &pos, &w);
		assert_int_equal(found, word);
		if (!found)
			continue;
		flags = (upper ? STRIP_WORD_UPPER : 0) |
			(digit ? STRIP_WORD_NUMBER : 0) |
			(letter ? STRIP_WORD_ALPHA : 0);
		assert_int_equal(w.flags, flags);
		assert_int_equal(w.len, m);
	}
}

/* strip_word_hash() as defined: the hash of strip_word_fold()'s form
 * (ICU's conversion, NFKC and case folding), or of the word as it is. */
static uint64_t ref_word_hash(const char *w, size_t len)
{
	char buf[128 * 3];
	size_t n = strip_word_fold(w, len, buf, sizeof(buf));

	return n ? dedup_token_hash(buf, n) : dedup_token_hash(w, len);
}


/*
 * Words of ASCII and characters of two bytes are folded from a table
 * rather than by ICU: every such character, first, last, alone, between
 * letters, doubled and before a combining mark; and random words of
 * letters, accented letters of every script below U+0800, apostrophes,
 * combining marks and longer characters, up to and past the fold's
 * limit of 128 characters.
 */
static void test_word_fold_table(void **state)
{
	static const UChar32 extra[] = {
		0x2019, 0x2018, 0x201B, 0x2032, 0x02BC, 0x0301, 0x0308,
		0x00DF, 0x0130, 0x1E9E, 0x20AC, 0xFB01, 0x4E2D, 0x1F600,
	};
	char w[600];
	uint32_t x = 99;
	UChar32 c;
	size_t n, k, i, m;

	(void)state;
	for (c = 0x80; c < 0x800; c++) {
		char e[4];

		m = put_cp(e, c);
		assert_int_equal(m, 2);
		/* x c y, c abc, AB c, c, c c, c U+0301, A c ’s */
		n = 0;
		w[n++] = 'x';
		memcpy(w + n, e, m), n += m;
		w[n++] = 'Y';
		assert_true(strip_word_hash(w, n) == ref_word_hash(w, n));
		assert_true(strip_word_hash(w + 1, n - 1) ==
			    ref_word_hash(w + 1, n - 1));
		assert_true(strip_word_hash(w + 1, m) ==
			    ref_word_hash(w + 1, m));
		memcpy(w + n, e, m), n += m;
		assert_true(strip_word_hash(w + 1 + m, n - 1 - m) ==
			    ref_word_hash(w + 1 + m, n - 1 - m));
		n = m;
		memcpy(w, e, m);
		memcpy(w + n, e, m), n += m;
		assert_true(strip_word_hash(w, n) == ref_word_hash(w, n));
		n = m + put_cp(w + m, 0x301);
		assert_true(strip_word_hash(w, n) == ref_word_hash(w, n));
		n = 0;
		w[n++] = 'A';
		memcpy(w + n, e, m), n += m;
		n += put_cp(w + n, 0x2019);
		w[n++] = 's';
		assert_true(strip_word_hash(w, n) == ref_word_hash(w, n));
	}
	for (k = 0; k < 20000; k++) {
		size_t chars;

		x = x * 1103515245u + 12345u;
		chars = 1 + (x >> 8) % (k % 10 ? 12 : 140);
		for (i = n = 0; i < chars; i++) {
			x = x * 1103515245u + 12345u;
			switch ((x >> 12) % 8) {
			case 0: case 1: case 2:
				w[n++] = (char)((x >> 16) % 2 ? 'a' + (x >> 20) % 26 :
						'A' + (x >> 20) % 26);
				break;
			case 3: case 4: case 5:
				n += put_cp(w + n, 0x80 + (UChar32)((x >> 16) %
								     0x780));
				break;
			case 6:
				n += put_cp(w + n, 0xC0 + (UChar32)((x >> 16) %
								     0x190));
				break;
			default:
				/* now and then, mostly apostrophes */
				n += put_cp(w + n, extra[(x >> 16) % 4 ?
						   (x >> 18) % 5 :
						   (x >> 18) %
						   (sizeof(extra) /
						    sizeof(extra[0]))]);
			}
		}
		assert_true(strip_word_hash(w, n) == ref_word_hash(w, n));
	}
}

/* strip_words_hash() of a long line (past its bit masks' reach) and of
 * lines that end anywhere in a block of 64 bytes */
static void test_words_long_lines(void **state)
{
	static char line[STRIP_WORDS_BLOCK_MAX + 2048];
	static uint64_t hs[sizeof(line)];
	static unsigned char fl[sizeof(line)];
	uint32_t x = 9;
	size_t len = 0, i;

	(void)state;
	while (len + 64 < sizeof(line))
		len += make_line(line + len, sizeof(line) - len, 8, &x);
	for (i = 0; i < 300; i++) {
		size_t cut = i < 200 ? 1 + i * 23 % STRIP_WORDS_BLOCK_MAX :
				       len - (i - 200) * 7;
		struct strip_word b;
		size_t n = 0, pos = 0;

		while (strip_next_word(line, cut, &pos, &b)) {
			hs[n] = strip_word_hash(line + b.off, b.len);
			fl[n++] = (unsigned char)b.flags;
		}
		check_words_at_once(line, cut, hs, fl, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segments_as_reference),
		cmocka_unit_test(test_words_as_reference),
		cmocka_unit_test(test_words_long_lines),
		cmocka_unit_test(test_word_fold_table),
		cmocka_unit_test(test_word_class_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
