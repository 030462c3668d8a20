/* strip_words.c - light word splitting and folding for line evidence. */
#include <stdatomic.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "dedup/tokenize.h"
#include "strip_ascii.h"
#include "strip_words.h"
#include "tokenize_int.h"

/* Longer words are hashed unfolded: they are never stopwords or template. */
#define FOLD_MAX 128

/* strip_next_word_hash()'s buffer: a power of two, so that an index can
 * wrap, and room for any word strip_word_hash() folds */
#define LOW_BYTES 512
_Static_assert(LOW_BYTES >= FOLD_MAX * 3 && !(LOW_BYTES & (LOW_BYTES - 1)),
	       "LOW_BYTES holds a folded word");

static int is_word_cp(UChar32 c)
{
	int8_t t;

	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		       (c >= '0' && c <= '9') || c == '_';
	if (u_isalnum(c))
		return 1;
	t = u_charType(c);
	return t == U_NON_SPACING_MARK || t == U_COMBINING_SPACING_MARK ||
	       t == U_ENCLOSING_MARK || t == U_CONNECTOR_PUNCTUATION;
}

static int is_digit_cp(UChar32 c)
{
	if (c < 0x80)
		return c >= '0' && c <= '9';
	return u_isdigit(c);
}

static int is_letter_cp(UChar32 c)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
	return u_isalpha(c);
}

static UChar32 peek(const char *s, size_t len, size_t i, size_t *next)
{
	int32_t j = (int32_t)i;
	UChar32 c;

	U8_NEXT(s, j, (int32_t)len, c);
	*next = (size_t)j;
	return c;
}

/*
 * ASCII classes, so that the common bytes of a line cost one table load
 * instead of a UTF-8 decode and an ICU property lookup each.
 */
enum { A_WORD = 1, A_DIGIT = 2, A_LETTER = 4, A_UPPER = 8 };

static const unsigned char ascii_class[128] = {
	['0'] = A_WORD | A_DIGIT, ['1'] = A_WORD | A_DIGIT,
	['2'] = A_WORD | A_DIGIT, ['3'] = A_WORD | A_DIGIT,
	['4'] = A_WORD | A_DIGIT, ['5'] = A_WORD | A_DIGIT,
	['6'] = A_WORD | A_DIGIT, ['7'] = A_WORD | A_DIGIT,
	['8'] = A_WORD | A_DIGIT, ['9'] = A_WORD | A_DIGIT,
	['_'] = A_WORD,
#define L(c) [c] = A_WORD | A_LETTER, [c - 32] = A_WORD | A_LETTER | A_UPPER
	L('a'), L('b'), L('c'), L('d'), L('e'), L('f'), L('g'), L('h'),
	L('i'), L('j'), L('k'), L('l'), L('m'), L('n'), L('o'), L('p'),
	L('q'), L('r'), L('s'), L('t'), L('u'), L('v'), L('w'), L('x'),
	L('y'), L('z'),
#undef L
};

/* The class bits of c, as the ICU properties above give them. */
static unsigned cp_class(UChar32 c)
{
	unsigned k;

	if (c < 0)
		return 0;
	if (c < 0x80)
		return ascii_class[c];
	if (!is_word_cp(c))
		return 0;
	k = A_WORD;
	if (is_digit_cp(c))
		k |= A_DIGIT;
	else if (is_letter_cp(c))
		k |= A_LETTER;
	if (u_isupper(c) || u_istitle(c))
		k |= A_UPPER;
	return k;
}

/* The tokenizer unifies typographic apostrophes and dashes. */
static UChar unify(UChar c)
{
	switch (c) {
	case 0x2018: case 0x2019: case 0x201B: case 0x02BC: case 0x2032:
	case 0xFF07:
		return '\'';
	case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014:
	case 0x2015: case 0x2212: case 0xFE63: case 0xFF0D:
		return '-';
	default:
		return c;
	}
}

/*
 * The folds of the characters of two UTF-8 bytes (U+0080 to U+07FF:
 * Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic ...), for words that
 * hold only those, ASCII and the typographic apostrophes: the accented
 * names and "didn’t" of most text. strip_word_fold() asks ICU to convert,
 * normalize and fold the whole word, several thousand instructions; when
 * every character but the first has a normalization boundary before it
 * (no combining mark, nothing that composes with what precedes), NFKC and
 * case folding of the word are those of its characters put end to end,
 * and each character's is taken from this table. The table also holds
 * the class of each character (cp_class()) for the splitter, and those
 * of U+2000 to U+203F (the quotes and dashes of general punctuation,
 * block FOLD2_PUNCT, which fold_simple() does not take from here).
 * Filled from ICU a block of 64 characters at a time, on first use.
 */
#define FOLD2_PUNCT 30  /* blocks 0 to 29: lead bytes 0xC2 to 0xDF */
#define FOLD2_BLOCKS 31
#define FOLD2_BYTES 6

struct fold2 {
	unsigned char len;   /* UTF-8 bytes of the fold; 0: not simple */
	unsigned char nfkc;  /* UTF-16 units after NFKC, then after folding */
	unsigned char folded;
	unsigned char cls;   /* cp_class() */
	char b[FOLD2_BYTES];
};

static struct fold2 fold2_tab[FOLD2_BLOCKS][64];
/* 0 empty, 1 being filled, 2 ready */
static atomic_int fold2_state[FOLD2_BLOCKS];

static void fold2_fill(unsigned block)
{
	const UNormalizer2 *nfkc;
	UErrorCode status = U_ZERO_ERROR;
	unsigned k;

	nfkc = unorm2_getNFKCInstance(&status);
	for (k = 0; k < 64; k++) {
		struct fold2 *e = &fold2_tab[block][k];
		UChar32 cp = block == FOLD2_PUNCT ? 0x2000 + (UChar32)k :
			     0x80 + 64 * (UChar32)block + (UChar32)k;
		UChar c = unify((UChar)cp), a[8], b[8];
		int32_t n1, n2, olen;

		e->len = 0;
		e->cls = (unsigned char)cp_class(cp);
		if (U_FAILURE(status) || block == FOLD2_PUNCT ||
		    !unorm2_hasBoundaryBefore(nfkc, c))
			continue;
		n1 = unorm2_normalize(nfkc, &c, 1, a, 8, &status);
		n2 = U_SUCCESS(status) ?
		     u_strFoldCase(b, 8, a, n1, U_FOLD_CASE_DEFAULT,
				   &status) : 0;
		if (U_SUCCESS(status))
			u_strToUTF8(e->b, FOLD2_BYTES, &olen, b, n2, &status);
		if (U_FAILURE(status) ||
		    status == U_STRING_NOT_TERMINATED_WARNING || olen < 1 ||
		    olen > FOLD2_BYTES) {
			status = U_ZERO_ERROR;
			continue;
		}
		e->len = (unsigned char)olen;
		e->nfkc = (unsigned char)n1;
		e->folded = (unsigned char)n2;
	}
}

/* Block i (the lead byte 0xC2 + i, or FOLD2_PUNCT), NULL while another
 * thread fills it. */
static const struct fold2 *fold2_block(unsigned i)
{
	int st = atomic_load_explicit(&fold2_state[i], memory_order_acquire);

	if (st == 2)
		return fold2_tab[i];
	if (st != 0 || !atomic_compare_exchange_strong(&fold2_state[i], &st,
						       1))
		return NULL;
	fold2_fill(i);
	atomic_store_explicit(&fold2_state[i], 2, memory_order_release);
	return fold2_tab[i];
}

/* The code point at s[i], its class and where the next one starts. */
static UChar32 next_cp(const char *s, size_t len, size_t i, size_t *next,
		       unsigned *cls)
{
	unsigned char b = (unsigned char)s[i];
	const struct fold2 *e;
	UChar32 c;

	if (b < 0x80) {
		*next = i + 1;
		*cls = ascii_class[b];
		return b;
	}
	/* two bytes, or general punctuation: the class from the table */
	if (b >= 0xC2 && b <= 0xDF && len - i >= 2 &&
	    ((unsigned char)s[i + 1] & 0xC0) == 0x80 &&
	    (e = fold2_block(b - 0xC2u))) {
		unsigned char b1 = (unsigned char)s[i + 1] & 0x3F;

		*next = i + 2;
		*cls = e[b1].cls;
		return (UChar32)(b & 0x1F) << 6 | b1;
	}
	if (b == 0xE2 && len - i >= 3 && (unsigned char)s[i + 1] == 0x80 &&
	    ((unsigned char)s[i + 2] & 0xC0) == 0x80 &&
	    (e = fold2_block(FOLD2_PUNCT))) {
		unsigned char b2 = (unsigned char)s[i + 2] & 0x3F;

		*next = i + 3;
		*cls = e[b2].cls;
		return 0x2000 + b2;
	}
	c = peek(s, len, i, next);
	*cls = cp_class(c);
	return c;
}

int strip_next_word(const char *s, size_t len, size_t *pos,
		    struct strip_word *w)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = *pos, next;
	UChar32 c;
	unsigned k, pk;

	if (len > INT32_MAX)
		len = INT32_MAX;
	/* skip to the first word character */
	while (i < len) {
		if (p[i] < 0x80) {
			k = ascii_class[p[i]];
			if (k & A_WORD)
				break;
			i++;
			continue;
		}
		c = next_cp(s, len, i, &next, &k);
		if (k & A_WORD)
			break;
		i = next;
	}
	if (i >= len) {
		*pos = len;
		return 0;
	}
	w->off = i;
	w->flags = 0;
	w->chars = 0;
	if (k & A_UPPER)
		w->flags |= STRIP_WORD_UPPER;
	pk = 0;
	while (i < len) {
		/* ASCII letters and digits, the bulk of most text */
		while (i < len && p[i] < 0x80 && (ascii_class[p[i]] & A_WORD)) {
			pk = ascii_class[p[i]];
			w->flags |= pk & A_DIGIT ? STRIP_WORD_NUMBER :
				    pk & A_LETTER ? STRIP_WORD_ALPHA : 0;
			w->chars++;
			i++;
		}
		if (i >= len)
			break;
		c = next_cp(s, len, i, &next, &k);
		if (k & A_WORD) {
			if (k & A_DIGIT)
				w->flags |= STRIP_WORD_NUMBER;
			else if (k & A_LETTER)
				w->flags |= STRIP_WORD_ALPHA;
			w->chars++;
			pk = k;
			i = next;
			continue;
		}
		/* joiners: letter'letter, letter.letter, digit.digit, 1,000
		 * (the word has a character before: pk is its class) */
		if (next < len &&
		    (c == '\'' || c == 0x2019 || c == '.' || c == ',')) {
			size_t after;
			unsigned dk;
			int join;

			(void)next_cp(s, len, next, &after, &dk);
			if (c == ',')
				join = (pk & A_DIGIT) && (dk & A_DIGIT);
			else if (c == '.')
				join = ((pk & A_LETTER) && (dk & A_LETTER)) ||
				       ((pk & A_DIGIT) && (dk & A_DIGIT));
			else
				join = (pk & A_LETTER) && (dk & A_LETTER);
			if (join) {
				w->chars++;
				i = next;
				continue;
			}
		}
		break;
	}
	w->len = i - w->off;
	*pos = i;
	return 1;
}

size_t strip_word_fold(const char *w, size_t len, char *out, size_t cap)
{
	UChar a[FOLD_MAX], b[FOLD_MAX];
	UErrorCode status = U_ZERO_ERROR;
	const UNormalizer2 *nfkc;
	int32_t n, i, olen;
	size_t k;
	int ascii = 1;

	if (!len)
		return 0;
	for (k = 0; k < len; k++)
		if ((unsigned char)w[k] >= 0x80) {
			ascii = 0;
			break;
		}
	if (ascii) {
		if (len > cap)
			return 0;
		for (k = 0; k < len; k++) {
			char c = w[k];

			out[k] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		}
		return len;
	}
	u_strFromUTF8(a, FOLD_MAX, &n, w, (int32_t)len, &status);
	if (U_FAILURE(status) || n >= FOLD_MAX)
		return 0;
	for (i = 0; i < n; i++)
		a[i] = unify(a[i]);
	nfkc = unorm2_getNFKCInstance(&status);
	if (U_FAILURE(status))
		return 0;
	n = unorm2_normalize(nfkc, a, n, b, FOLD_MAX, &status);
	if (U_FAILURE(status) || n >= FOLD_MAX)
		return 0;
	n = u_strFoldCase(a, FOLD_MAX, b, n, U_FOLD_CASE_DEFAULT, &status);
	if (U_FAILURE(status) || n >= FOLD_MAX)
		return 0;
	u_strToUTF8(out, (int32_t)cap, &olen, a, n, &status);
	if (U_FAILURE(status) || status == U_STRING_NOT_TERMINATED_WARNING ||
	    (size_t)olen > cap)
		return 0;
	return (size_t)olen;
}

/*
 * strip_word_fold() of w[0..len) into out (room for FOLD_MAX * 3 bytes)
 * from the table, for a word of ASCII, characters of two bytes and
 * apostrophes U+2018, U+2019, U+201B, U+2032 (what unify() makes ASCII);
 * 0 for any other word, or one near strip_word_fold()'s limits, which
 * is left to it.
 */
static size_t fold_simple(const char *w, size_t len, char *out)
{
	const unsigned char *p = (const unsigned char *)w;
	/* UTF-16 units of the word, after NFKC, after folding */
	size_t i = 0, n = 0, u0 = 0, u1 = 0, u2 = 0;

	while (i < len) {
		unsigned char b = p[i];
		const struct fold2 *e;

		/* a step adds at most 8 units and FOLD2_BYTES bytes */
		if (u0 >= FOLD_MAX - 8 || u1 >= FOLD_MAX - 8 ||
		    u2 >= FOLD_MAX - 8 || n >= FOLD_MAX * 3 - FOLD2_BYTES)
			return 0;
		if (b < 0x80) {
			out[n++] = (char)((unsigned)(b - 'A') < 26u ? b + 32 :
					  b);
			i++;
			u0++, u1++, u2++;
			continue;
		}
		if (b >= 0xC2 && b <= 0xDF && i + 1 < len &&
		    (p[i + 1] & 0xC0) == 0x80) {
			e = fold2_block(b - 0xC2u);
			if (!e)
				return 0;
			e += p[i + 1] & 0x3F;
			/* the first character needs no boundary before it,
			 * but it is rare enough to leave to ICU as well */
			if (!e->len)
				return 0;
			memcpy(out + n, e->b, e->len);
			n += e->len;
			u0++;
			u1 += e->nfkc;
			u2 += e->folded;
			i += 2;
			continue;
		}
		if (b == 0xE2 && i + 2 < len && p[i + 1] == 0x80 &&
		    (p[i + 2] == 0x98 || p[i + 2] == 0x99 ||
		     p[i + 2] == 0x9B || p[i + 2] == 0xB2)) {
			out[n++] = '\'';
			i += 3;
			u0++, u1++, u2++;
			continue;
		}
		return 0;
	}
	return n;
}

uint64_t strip_word_hash(const char *w, size_t len)
{
	char buf[FOLD_MAX * 3];
	size_t n, k;
	unsigned char any = 0;

	/* ASCII: lowercase and check in one pass (what the fold does) */
	if (len <= sizeof(buf)) {
		for (k = 0; k < len; k++) {
			unsigned char c = (unsigned char)w[k];

			any |= c;
			buf[k] = (char)((unsigned)(c - 'A') < 26u ? c + 32 : c);
		}
		if (!(any & 0x80))
			return tok_hash(buf, len);
		n = fold_simple(w, len, buf);
		if (n)
			return tok_hash(buf, n);
	}
	n = strip_word_fold(w, len, buf, sizeof(buf));
	if (!n)
		return tok_hash(w, len);
	return tok_hash(buf, n);
}

#ifdef STRIP_SWAR
/*
 * The classes of eight ASCII bytes (strip_ascii.h: exact up to the first
 * byte from 0x80 up), as the high bit of each byte: letters (folding
 * with 0x20 maps A-Z onto a-z and nothing else onto them), digits, and
 * word bytes (those and '_').
 */
static inline uint64_t swar_range(uint64_t x, unsigned char lo,
				  unsigned char hi)
{
	return (x + (0x80 - lo) * SWAR_ONES) &
	       ~(x + (0x80 - hi - 1) * SWAR_ONES) & SWAR_HIGH;
}

struct swar_class {
	uint64_t letter, digit, word;
};

static inline struct swar_class swar_classes(uint64_t x)
{
	struct swar_class k;

	k.letter = swar_range(x | 0x20 * SWAR_ONES, 'a', 'z');
	k.digit = swar_range(x, '0', '9');
	k.word = k.letter | k.digit | swar_eq(x, '_');
	return k;
}
#endif

int strip_next_word_hash(const char *s, size_t len, size_t *pos,
			 struct strip_word *w, uint64_t *hash)
{
	const unsigned char *p = (const unsigned char *)s;
	/* eight bytes of slack: the word is stored eight bytes at a time */
	char low[LOW_BYTES + 8];
	size_t i = *pos, off, n;
	unsigned c, pk, dk, flags, seen = 0;

	if (len > INT32_MAX)
		len = INT32_MAX;
#ifdef STRIP_SWAR
	/* to the first word byte or byte of a longer character */
	while (len - i >= 8) {
		uint64_t x = swar_load(p + i);
		uint64_t m = (x & SWAR_HIGH) | swar_classes(x).word;

		if (m) {
			i += swar_first(m);
			break;
		}
		i += 8;
	}
#endif
	while (i < len && p[i] < 0x80 && !(ascii_class[p[i]] & A_WORD))
		i++;
	if (i >= len) {
		*pos = len;
		return 0;
	}
	off = i;
	if (p[i] >= 0x80)
		goto other;
	flags = ascii_class[p[i]] & A_UPPER ? STRIP_WORD_UPPER : 0;
	for (;;) {
#ifdef STRIP_SWAR
		/*
		 * eight bytes at a time: the word's bytes up to the first
		 * other one, lowercased (the high bit of a capital, moved to
		 * 0x20) into low; past sizeof(low) the bytes wrap around
		 * harmlessly, as such a word is hashed as it is
		 */
		while (len - i >= 8) {
			uint64_t x = swar_load(p + i);
			struct swar_class k = swar_classes(x);
			uint64_t stop = ~k.word & SWAR_HIGH, in;
			uint64_t upper = k.letter & ~(x << 2);

			x |= upper >> 2;
			memcpy(low + ((i - off) & (LOW_BYTES - 1)), &x, 8);
			/* the high bits of the bytes before the stop */
			in = stop ? (stop & (0 - stop)) - 1 : ~0ull;
			seen |= (k.letter & in ? A_LETTER : 0) |
				(k.digit & in ? A_DIGIT : 0);
			if (stop) {
				i += swar_first(stop);
				break;
			}
			i += 8;
		}
#endif
		/*
		 * the classes of the bytes, ORed (an ASCII byte is a digit or
		 * a letter, not both), and the word lowercased as it goes:
		 * A_UPPER << 2 is 0x20, what makes A-Z a-z, without a branch
		 * on a letter's case
		 */
		while (i < len && p[i] < 0x80 && (ascii_class[p[i]] & A_WORD)) {
			pk = ascii_class[p[i]];
			seen |= pk;
			low[(i - off) & (LOW_BYTES - 1)] =
				(char)(p[i] | (pk & A_UPPER) << 2);
			i++;
		}
		if (i >= len)
			break;
		/* a character of more bytes may continue the word */
		if (p[i] >= 0x80)
			goto other;
		c = p[i];
		if (i + 1 >= len || (c != '\'' && c != '.' && c != ','))
			break;
		if (p[i + 1] >= 0x80)
			goto other;
		/* the joiners of strip_next_word(), between the word's last
		 * byte and the next */
		pk = ascii_class[p[i - 1]];
		dk = ascii_class[p[i + 1]];
		if (c == ',' ? (pk & A_DIGIT) && (dk & A_DIGIT) :
		    c == '.' ? ((pk & A_LETTER) && (dk & A_LETTER)) ||
			       ((pk & A_DIGIT) && (dk & A_DIGIT)) :
		    (pk & A_LETTER) && (dk & A_LETTER)) {
			low[(i - off) & (LOW_BYTES - 1)] = (char)c;
			i++;
		} else {
			break;
		}
	}
	flags |= (seen & A_DIGIT ? STRIP_WORD_NUMBER : 0) |
		 (seen & A_LETTER ? STRIP_WORD_ALPHA : 0);
	n = i - off;
	w->off = off;
	w->len = n;
	w->flags = flags;
	w->chars = (unsigned)n;
	*pos = i;
	/* strip_word_hash(): ASCII lowercased, a longer word as it is */
	*hash = n > FOLD_MAX * 3 ? tok_hash(s + off, n) : tok_hash(low, n);
	return 1;
other:
	*pos = off;
	if (!strip_next_word(s, len, pos, w))
		return 0;
	*hash = strip_word_hash(s + w->off, w->len);
	return 1;
}

/* ---- a line at a time ---- */

#define WB_BLOCKS (STRIP_WORDS_BLOCK_MAX / 64)
_Static_assert(STRIP_WORDS_BLOCK_MAX % 64 == 0, "whole blocks");

/* The classes of 64 bytes, bit k for byte k (those past the text: none). */
struct wb_class {
	uint64_t word, letter, digit, upper, high, apos, dot, comma;
};

/*
 * Class 64 bytes eight at a time and store them lowercased (A-Z only) in
 * low. The bytes from 0x80 up are cleared first, so that every test is
 * exact in every byte, and then left out of every class but high.
 */
static void wb_classify_swar(const unsigned char *p, struct wb_class *k,
			     char *low)
{
	unsigned j;

	memset(k, 0, sizeof(*k));
	for (j = 0; j < 8; j++) {
		uint64_t x = swar_load(p + 8 * j);
		uint64_t ascii = ~x & SWAR_HIGH, x7 = x & ~SWAR_HIGH;
		uint64_t letter = swar_range7(x7 | 0x20 * SWAR_ONES, 'a', 'z') &
				  ascii;
		uint64_t upper = swar_range7(x7, 'A', 'Z') & ascii;
		uint64_t digit = swar_range7(x7, '0', '9') & ascii;
		uint64_t under = swar_eq7(x7, '_') & ascii;
		unsigned sh = 8 * j;

		k->letter |= swar_pack(letter) << sh;
		k->upper |= swar_pack(upper) << sh;
		k->digit |= swar_pack(digit) << sh;
		k->word |= swar_pack(letter | digit | under) << sh;
		k->high |= swar_pack(x & SWAR_HIGH) << sh;
		k->apos |= swar_pack(swar_eq7(x7, '\'') & ascii) << sh;
		k->dot |= swar_pack(swar_eq7(x7, '.') & ascii) << sh;
		k->comma |= swar_pack(swar_eq7(x7, ',') & ascii) << sh;
		x |= upper >> 2;
		memcpy(low + 8 * j, &x, 8);
	}
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define WB_AVX2 1

/* wb_classify_swar(), 32 bytes a compare: bytes from 0x80 up are negative
 * to the signed compares, so no range takes them. */
__attribute__((target("avx2")))
static void wb_classify_avx2(const unsigned char *p, struct wb_class *k,
			     char *low)
{
	unsigned h;

	memset(k, 0, sizeof(*k));
	for (h = 0; h < 2; h++) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(p + 32 * h));
		__m256i lx = _mm256_or_si256(x, _mm256_set1_epi8(0x20));
#define WB_RANGE(v, lo, hi) \
	_mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8((lo) - 1)), \
			 _mm256_cmpgt_epi8(_mm256_set1_epi8((hi) + 1), v))
#define WB_EQ(v, c) _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c))
#define WB_BITS(v) ((uint64_t)(uint32_t)_mm256_movemask_epi8(v) << (32 * h))
		__m256i letter = WB_RANGE(lx, 'a', 'z');
		__m256i upper = WB_RANGE(x, 'A', 'Z');
		__m256i digit = WB_RANGE(x, '0', '9');
		__m256i word = _mm256_or_si256(_mm256_or_si256(letter, digit),
					       WB_EQ(x, '_'));

		k->letter |= WB_BITS(letter);
		k->upper |= WB_BITS(upper);
		k->digit |= WB_BITS(digit);
		k->word |= WB_BITS(word);
		k->high |= WB_BITS(x);
		k->apos |= WB_BITS(WB_EQ(x, '\''));
		k->dot |= WB_BITS(WB_EQ(x, '.'));
		k->comma |= WB_BITS(WB_EQ(x, ','));
		x = _mm256_or_si256(x, _mm256_and_si256(upper,
							_mm256_set1_epi8(0x20)));
		_mm256_storeu_si256((__m256i *)(low + 32 * h), x);
#undef WB_BITS
#undef WB_EQ
#undef WB_RANGE
	}
}
#endif

#ifdef WB_AVX2
__attribute__((target("avx2")))
static uint64_t word_bits_avx2(const unsigned char *p,
			       const unsigned char *eq, unsigned neq,
			       uint64_t *lead, uint64_t *eqm)
{
	uint64_t m = 0;
	unsigned h, k;

	*lead = *eqm = 0;
	for (h = 0; h < 2; h++) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(p + 32 * h));
		__m256i lx = _mm256_or_si256(x, _mm256_set1_epi8(0x20));
		__m256i v = _mm256_or_si256(
			_mm256_and_si256(
				_mm256_cmpgt_epi8(lx, _mm256_set1_epi8('a' - 1)),
				_mm256_cmpgt_epi8(_mm256_set1_epi8('z' + 1), lx)),
			_mm256_and_si256(
				_mm256_cmpgt_epi8(x, _mm256_set1_epi8('0' - 1)),
				_mm256_cmpgt_epi8(_mm256_set1_epi8('9' + 1), x)));

		v = _mm256_or_si256(v, _mm256_cmpeq_epi8(x,
							 _mm256_set1_epi8('_')));
		m |= (uint64_t)(uint32_t)_mm256_movemask_epi8(v) << (32 * h);
		/* 0xC0 and up: from 0x80 up, with bit 6 set too */
		v = _mm256_and_si256(x, _mm256_slli_epi16(x, 1));
		*lead |= (uint64_t)(uint32_t)_mm256_movemask_epi8(v) <<
			 (32 * h);
		for (k = 0; k < neq; k++) {
			v = _mm256_cmpeq_epi8(x, _mm256_set1_epi8((char)eq[k]));
			*eqm |= (uint64_t)(uint32_t)_mm256_movemask_epi8(v) <<
				(32 * h);
		}
	}
	return m;
}
#endif

uint64_t strip_word_bits(const char *s, size_t n, const unsigned char *eq,
			 unsigned neq, uint64_t *lead, uint64_t *eqm)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char pad[64];
	uint64_t m = 0;
	unsigned j, k;

	*lead = *eqm = 0;
	if (n < 64) {
		memset(pad, 0, sizeof(pad));
		memcpy(pad, p, n);
		p = pad;
	}
#ifdef WB_AVX2
	if (__builtin_cpu_supports("avx2")) {
		m = word_bits_avx2(p, eq, neq, lead, eqm);
		/* a zero of the padding is no byte of the text */
		if (n < 64)
			*eqm &= ~0ull >> (64 - n);
		return m;
	}
#endif
	for (j = 0; j < 8; j++) {
		uint64_t x = swar_load(p + 8 * j);
		uint64_t ascii = ~x & SWAR_HIGH, x7 = x & ~SWAR_HIGH;
		uint64_t w = swar_range7(x7 | 0x20 * SWAR_ONES, 'a', 'z') |
			     swar_range7(x7, '0', '9') | swar_eq7(x7, '_');

		m |= swar_pack(w & ascii) << (8 * j);
		*lead |= swar_pack(x & x << 1 & SWAR_HIGH) << (8 * j);
		for (k = 0; k < neq; k++) {
			uint64_t y = x ^ (eq[k] * SWAR_ONES);

			/* a zero byte of y, exactly: no carry between */
			y = ~(((y & ~SWAR_HIGH) + ~SWAR_HIGH) | y) & SWAR_HIGH;
			*eqm |= swar_pack(y) << (8 * j);
		}
	}
	if (n < 64)
		*eqm &= ~0ull >> (64 - n);
	return m;
}

/* The first set bit of m[] at or after bit i, or nb * 64. */
static inline size_t wb_next(const uint64_t *m, size_t nb, size_t i)
{
	size_t b = i / 64;
	uint64_t x;

	if (b >= nb)
		return nb * 64;
	x = m[b] & (~0ull << (i % 64));
	while (!x) {
		if (++b == nb)
			return nb * 64;
		x = m[b];
	}
	return b * 64 + (size_t)__builtin_ctzll(x);
}

/* The first clear bit of m[] at or after bit i, or nb * 64. */
static inline size_t wb_next_clear(const uint64_t *m, size_t nb, size_t i)
{
	size_t b = i / 64;
	uint64_t x;

	if (b >= nb)
		return nb * 64;
	x = ~m[b] & (~0ull << (i % 64));
	while (!x) {
		if (++b == nb)
			return nb * 64;
		x = ~m[b];
	}
	return b * 64 + (size_t)__builtin_ctzll(x);
}

/* Whether m[] has a bit set in [a, b) (a < b). */
static inline int wb_any(const uint64_t *m, size_t a, size_t b)
{
	size_t i = a / 64, last = (b - 1) / 64;
	uint64_t lo = ~0ull << (a % 64);
	uint64_t hi = ~0ull >> (63 - (b - 1) % 64);

	if (i == last)
		return (m[i] & lo & hi) != 0;
	if (m[i] & lo)
		return 1;
	while (++i < last)
		if (m[i])
			return 1;
	return (m[last] & hi) != 0;
}

/*
 * The bytes of the character at p[i] when it is one of the common
 * punctuation marks and symbols of two or three bytes (quotes, dashes,
 * ellipsis, bullet, guillemets, currency, copyright): never a word
 * character nor a joiner to strip_next_word(), so a word that meets one
 * ends there, and one met between words is skipped. 0 for any other.
 */
static size_t punct_len(const unsigned char *p, size_t i, size_t len)
{
	if (p[i] == 0xE2 && len - i >= 3 && p[i + 1] == 0x80)
		switch (p[i + 2]) {
		case 0x93: case 0x94:           /* – — */
		case 0x98: case 0x9C: case 0x9D: case 0x9E: /* ‘ “ ” „ */
		case 0xA2: case 0xA6:           /* • … */
			return 3;
		default:
			return 0;
		}
	if (p[i] == 0xE2 && len - i >= 3 && p[i + 1] == 0x82 &&
	    p[i + 2] == 0xAC)
		return 3;                       /* € */
	if (p[i] == 0xC2 && len - i >= 2)
		switch (p[i + 1]) {
		case 0xA3: case 0xA9: case 0xAB: case 0xAE: case 0xB0:
		case 0xBB:                      /* £ © « ® ° » */
			return 2;
		default:
			return 0;
		}
	return 0;
}

static size_t words_one_by_one(const char *s, size_t len, uint64_t *hash,
			       unsigned char *flags)
{
	struct strip_word w;
	size_t pos = 0, n = 0;

	while (strip_next_word_hash(s, len, &pos, &w, &hash[n]))
		flags[n++] = (unsigned char)w.flags;
	return n;
}

size_t strip_words_hash_isa(const char *s, size_t len, uint64_t *hash,
			    unsigned char *flags, int isa)
{
	struct wb_class k[WB_BLOCKS];
	/* start (word or high byte), extent (word bytes and joiners),
	 * fall back (a byte that a longer character may join), letters,
	 * digits, capitals */
	uint64_t ms[WB_BLOCKS], me[WB_BLOCKS], mf[WB_BLOCKS];
	uint64_t ml[WB_BLOCKS], md[WB_BLOCKS], mu[WB_BLOCKS];
	char low[STRIP_WORDS_BLOCK_MAX];
	const unsigned char *p = (const unsigned char *)s;
	size_t nb, b, full, pos = 0, n = 0;
	int avx2 = 0;

	if (len > STRIP_WORDS_BLOCK_MAX)
		return words_one_by_one(s, len, hash, flags);
	nb = (len + 63) / 64;
	full = len / 64;
#ifdef WB_AVX2
	avx2 = isa && __builtin_cpu_supports("avx2");
#endif
	for (b = 0; b < nb; b++) {
		unsigned char pad[64];
		const unsigned char *q = p + 64 * b;

		/* the last bytes zero-padded: zero is in no class */
		if (b == full) {
			memset(pad, 0, sizeof(pad));
			memcpy(pad, q, len - 64 * b);
			q = pad;
		}
#ifdef WB_AVX2
		if (avx2) {
			wb_classify_avx2(q, &k[b], low + 64 * b);
			continue;
		}
#endif
		(void)avx2;
		wb_classify_swar(q, &k[b], low + 64 * b);
	}
	/*
	 * The joiners of strip_next_word() between the bytes either side
	 * (letter'letter, letter.letter, digit.digit, digit,digit), with the
	 * bits of the neighbouring blocks at the edges.
	 */
	for (b = 0; b < nb; b++) {
		const struct wb_class *c = &k[b];
		uint64_t pl = b ? k[b - 1].letter >> 63 : 0;
		uint64_t pd = b ? k[b - 1].digit >> 63 : 0;
		uint64_t nl = b + 1 < nb ? k[b + 1].letter << 63 : 0;
		uint64_t nd = b + 1 < nb ? k[b + 1].digit << 63 : 0;
		uint64_t nh = b + 1 < nb ? k[b + 1].high << 63 : 0;
		uint64_t lp = c->letter << 1 | pl, ln = c->letter >> 1 | nl;
		uint64_t dp = c->digit << 1 | pd, dn = c->digit >> 1 | nd;
		uint64_t hn = c->high >> 1 | nh;
		uint64_t ll = lp & ln, dd = dp & dn;

		ms[b] = c->word | c->high;
		me[b] = c->word | (c->apos & ll) | (c->dot & (ll | dd)) |
			(c->comma & dd);
		mf[b] = c->high | ((c->apos | c->dot | c->comma) & hn);
		ml[b] = c->letter;
		md[b] = c->digit;
		mu[b] = c->upper;
	}
	for (;;) {
		size_t a = wb_next(ms, nb, pos), e;
		struct strip_word w;
		unsigned f;

		if (a >= len)
			break;
		/* a longer character: strip_next_word() from there, but
		 * for punctuation, which no word begins with */
		if (p[a] >= 0x80) {
			size_t skip = punct_len(p, a, len);

			if (!skip)
				goto other;
			pos = a + skip;
			continue;
		}
		e = wb_next_clear(me, nb, a + 1);
		/* a longer character after the word may continue it, but
		 * for punctuation */
		if (e < len && (mf[e / 64] >> (e % 64) & 1) &&
		    (p[e] < 0x80 || !punct_len(p, e, len)))
			goto other;
		f = (mu[a / 64] >> (a % 64) & 1 ? STRIP_WORD_UPPER : 0) |
		    (wb_any(ml, a, e) ? STRIP_WORD_ALPHA : 0) |
		    (wb_any(md, a, e) ? STRIP_WORD_NUMBER : 0);
		hash[n] = e - a > FOLD_MAX * 3 ? tok_hash(s + a, e - a) :
						 tok_hash(low + a, e - a);
		flags[n++] = (unsigned char)f;
		pos = e;
		continue;
other:
		pos = a;
		if (!strip_next_word(s, len, &pos, &w))
			break;
		hash[n] = strip_word_hash(s + w.off, w.len);
		flags[n++] = (unsigned char)w.flags;
	}
	return n;
}

size_t strip_words_hash(const char *s, size_t len, uint64_t *hash,
			unsigned char *flags)
{
	return strip_words_hash_isa(s, len, hash, flags, 1);
}
