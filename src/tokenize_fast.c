/*
 * tokenize_fast.c - stage 3a, fast path for text in common scripts.
 *
 * Splits words with our own implementation of the subset of UAX #29 that
 * ICU's root word rules use for letters, digits and their punctuation
 * (WB3-WB13b with ICU's tailoring) and folds them with a per-code-point
 * table computed from ICU itself, so that the result is exactly that of
 * dedup_tokenize_icu(). Words with characters the table cannot fold alone
 * (combining marks, compatibility letters past TOK_TABLE_LIMIT) are split
 * here and folded by dedup_fold(). What the rules here do not cover
 * (dictionary scripts, kana, ideographs, ZWJ emoji sequences, regional
 * indicators, planes 2 and up, malformed bytes) is handed to ICU one
 * "run" at a time.
 *
 * A run starts and ends at a safe point: a position just after an ASCII
 * space, tab or line feed and before an ASCII character that is not a
 * space. No ICU word rule joins anything across such a position (a space
 * only joins following spaces and Extend/Format characters, which are not
 * ASCII), so the words of a run are the same whether ICU sees the run
 * alone or the whole text.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "tokenize_int.h"

static struct tok_cp cp_table[TOK_TABLE_LIMIT];
static const struct tok_cp fb_entry = { TC_FB, 0, 0, { 0 } };
/*
 * ASCII bytes after which a run of ASCII letters and digits certainly
 * ends its word: nothing of theirs joins a word, and being ASCII they are
 * not Extend/Format characters that would glue to it.
 */
static uint8_t ascii_stop[256];
/*
 * 1 for the ASCII letters and digits (and "@"), | 2 for the digits, | 4
 * for the capitals; 0 for any byte from 0x80 on, so that loops over ASCII
 * runs need no other test.
 */
static uint8_t ascii_alnum[256];
static char ascii_fold[128];
/*
 * What ascii_words() makes of a byte between words: 1 for a sentence or
 * line end (as tok_emit() tests), 2 for what it leaves to the main loop
 * (bytes from 0x80 on, "_").
 */
static uint8_t ascii_gap[256];
/* ASCII MidLetter, MidNum, MidNumLet and quotes: join only across. */
static uint8_t ascii_mid[256];
/* Set when the ASCII tables are what lane_run()'s arithmetic assumes. */
static int swar_ok;
/*
 * The rest of the BMP and plane 1 (emoji, historic scripts, mathematical
 * letters): class | TCP_* flags << 4, read through hi_entries (no folds:
 * see build_table()). Planes 2 and up are left to ICU.
 */
#define HI_LIMIT 0x20000
static uint8_t hi_info[HI_LIMIT - TOK_TABLE_LIMIT];
static struct tok_cp hi_entries[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static UErrorCode table_status;
static const char *table_what;

/*
 * The sets of ICU 72's root word rules (word.txt), in order of precedence.
 * The first set lists what we leave to ICU: the dictionary scripts
 * ($dictionary: complex context, Han, kana; not the Hangul syllables,
 * which ICU has no dictionary for and joins by its own rule), ideographs,
 * ZWJ (which joins emoji) and regional indicators.
 */
static const struct {
	uint8_t cls;
	const UChar *pat;
} class_sets[] = {
	{ TC_FB, u"[[:Line_Break=Complex_Context:][:Han:][:Hiragana:]"
		 u"\\p{Word_Break=Katakana}\\p{Ideographic}"
		 u"\\p{Word_Break=ZWJ}\\p{Word_Break=Regional_Indicator}]" },
	{ TC_HG, u"[\\uAC00-\\uD7A3]" },
	{ TC_CR, u"[\\p{Word_Break=CR}]" },
	{ TC_LF, u"[\\p{Word_Break=LF}]" },
	{ TC_NL, u"[\\p{Word_Break=Newline}]" },
	{ TC_EXF, u"[\\p{Word_Break=Extend}\\p{Word_Break=Format}]" },
	{ TC_WS, u"[\\p{Word_Break=WSegSpace}]" },
	{ TC_AL, u"[\\p{Word_Break=ALetter}@]" },
	{ TC_HL, u"[\\p{Word_Break=Hebrew_Letter}]" },
	{ TC_NU, u"[\\p{Word_Break=Numeric}]" },
	{ TC_ML, u"[\\p{Word_Break=MidLetter}-[\\:\\uFE55\\uFF1A]]" },
	{ TC_MN, u"[\\p{Word_Break=MidNum}]" },
	{ TC_MNL, u"[\\p{Word_Break=MidNumLet}]" },
	{ TC_SQ, u"[\\p{Word_Break=Single_Quote}]" },
	{ TC_DQ, u"[\\p{Word_Break=Double_Quote}]" },
	{ TC_ENL, u"[\\p{Word_Break=ExtendNumLet}]" },
};

#define NSETS (sizeof(class_sets) / sizeof(class_sets[0]))

/* Fold one code point as dedup_fold() would; -1 if it does not fit. */
static int fold_cp(const UNormalizer2 *nfkc_cf, UChar32 c, char *out,
		   UErrorCode *st)
{
	UChar src[2], dst[32];
	int32_t n, i, ns = 0, n8 = 0;
	UBool bad = 0;

	U16_APPEND(src, ns, 2, c, bad);
	if (bad) {
		*st = U_ILLEGAL_ARGUMENT_ERROR;
		return -1;
	}
	n = unorm2_normalize(nfkc_cf, src, ns, dst, 32, st);
	if (U_FAILURE(*st))
		return -1;
	for (i = 0; i < n; i++)
		dst[i] = (UChar)tok_typo_map(dst[i]);
	u_strToUTF8(out, TOK_FOLD_MAX, &n8, dst, n, st);
	if (*st == U_BUFFER_OVERFLOW_ERROR ||
	    *st == U_STRING_NOT_TERMINATED_WARNING) {
		*st = U_ZERO_ERROR;
		return n8 <= TOK_FOLD_MAX ? n8 : -1;
	}
	return U_FAILURE(*st) ? -1 : n8;
}

static int hangul_folds_to_itself(const UNormalizer2 *nfkc_cf, UChar32 c,
				  UErrorCode *st)
{
	char f[TOK_FOLD_MAX], u[4];
	int n = fold_cp(nfkc_cf, c, f, st);

	u[0] = (char)(0xE0 | (c >> 12));
	u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
	u[2] = (char)(0x80 | (c & 0x3F));
	return n == 3 && !memcmp(f, u, 3);
}

static void build_table(void)
{
	USet *sets[NSETS] = { 0 };
	uint8_t *cls_of = NULL; /* class of every code point below HI_LIMIT */
	int swar_ok_build = 1, hangul_ok = 1;
	const UNormalizer2 *nfkc_cf;
	UErrorCode st = U_ZERO_ERROR;
	UChar32 c;
	size_t k;

	table_what = "load the 'nfkc_cf' normalizer";
	nfkc_cf = unorm2_getNFKCCasefoldInstance(&st);
	if (U_FAILURE(st))
		goto out;
	table_what = "build the word break sets";
	for (k = 0; k < NSETS; k++) {
		sets[k] = uset_openPattern(class_sets[k].pat, -1, &st);
		if (U_FAILURE(st))
			goto out;
		uset_freeze(sets[k]);
	}
	/* Fill by ranges, the sets of highest precedence last. */
	table_what = "allocate the code point table";
	cls_of = malloc(HI_LIMIT);
	if (!cls_of) {
		st = U_MEMORY_ALLOCATION_ERROR;
		goto out;
	}
	table_what = "build the word break sets";
	memset(cls_of, TC_OT, HI_LIMIT);
	for (k = NSETS; k-- > 0;) {
		int32_t item, nitems = uset_getItemCount(sets[k]);

		for (item = 0; item < nitems; item++) {
			UChar32 lo, hi;

			if (uset_getItem(sets[k], item, &lo, &hi, NULL, 0,
					 &st) != 0 || U_FAILURE(st))
				goto out; /* sets of strings: not ours */
			for (c = lo; c <= hi && c < HI_LIMIT; c++)
				cls_of[c] = class_sets[k].cls;
		}
	}
	/* Lone surrogates are not text: ICU decides what they are. */
	memset(cls_of + 0xD800, TC_FB, 0x800);
	table_what = "fold the code point table";
	for (c = 0; c < TOK_TABLE_LIMIT; c++) {
		struct tok_cp *e = &cp_table[c];
		int8_t type = u_charType(c);
		int n;

		e->cls = cls_of[c];
		if (type == U_UPPERCASE_LETTER || type == U_TITLECASE_LETTER)
			e->flags |= TCP_UPPER;
		if (type == U_DECIMAL_DIGIT_NUMBER)
			e->flags |= TCP_DIGIT;
		n = fold_cp(nfkc_cf, c, e->fold, &st);
		if (U_FAILURE(st))
			goto out;
		/*
		 * A code point with a normalization boundary before it folds
		 * the same alone as inside a word; any other (combining
		 * marks, conjoining jamo) sends its word to dedup_fold().
		 */
		if (n >= 0 && unorm2_hasBoundaryBefore(nfkc_cf, c)) {
			e->flags |= TCP_SIMPLE;
			e->flen = (uint8_t)n;
		}
	}
	for (c = 0; c < 128; c++) {
		int cls = cp_table[c].cls;

		ascii_alnum[c] = cls == TC_AL || cls == TC_NU;
		if (cp_table[c].flags & TCP_DIGIT)
			ascii_alnum[c] |= 2;
		if (cp_table[c].flags & TCP_UPPER)
			ascii_alnum[c] |= 4;
		ascii_fold[c] = cp_table[c].fold[0];
		ascii_mid[c] = cls >= TC_ML && cls <= TC_DQ;
#ifdef TOK_SWAR
		swar_ok_build &= !!(ascii_alnum[c] & 1) ==
				 ((c >= '@' && c <= 'Z') ||
				  (c >= 'a' && c <= 'z') ||
				  (c >= '0' && c <= '9'));
		swar_ok_build &= !!(ascii_alnum[c] & 2) ==
				 (c >= '0' && c <= '9');
		swar_ok_build &= ascii_fold[c] ==
				 (c >= 'A' && c <= 'Z' ? c + 0x20 : c) ||
				 !(ascii_alnum[c] & 1);
#endif
		ascii_gap[c] = c == '.' || c == '!' || c == '?' ||
			       (c >= '\n' && c <= '\r');
		if (cls == TC_ENL)
			ascii_gap[c] = 2;
		ascii_stop[c] = cls == TC_OT || cls == TC_WS || cls == TC_CR ||
				cls == TC_LF || cls == TC_NL;
		/* The ASCII lane copies one folded byte per byte. */
		if ((ascii_alnum[c] || cls == TC_ENL) &&
		    (cp_table[c].flen != 1 ||
		     !(cp_table[c].flags & TCP_SIMPLE)))
			st = U_INTERNAL_PROGRAM_ERROR;
	}
	memset(ascii_gap + 128, 2, 128);
	/*
	 * Past the folded table only the class and flags are kept: words
	 * with such characters are folded by dedup_fold(), except for the
	 * Extend/Format characters that fold to nothing alone (variation
	 * selectors, the BOM).
	 */
	for (c = TOK_TABLE_LIMIT; c < HI_LIMIT; c++) {
		int8_t type = u_charType(c);
		unsigned cls = cls_of[c], flags = 0;

		if (type == U_UPPERCASE_LETTER || type == U_TITLECASE_LETTER)
			flags |= TCP_UPPER;
		if (type == U_DECIMAL_DIGIT_NUMBER)
			flags |= TCP_DIGIT;
		if (cls == TC_EXF) {
			char f[TOK_FOLD_MAX];

			if (fold_cp(nfkc_cf, c, f, &st) == 0 &&
			    unorm2_hasBoundaryBefore(nfkc_cf, c))
				flags |= TCP_SIMPLE;
			if (U_FAILURE(st))
				goto out;
		}
		/*
		 * A Hangul syllable is copied as its fold: check that it is,
		 * or leave them all to ICU.
		 */
		if (cls == TC_HG && !hangul_folds_to_itself(nfkc_cf, c, &st))
			hangul_ok = 0;
		if (U_FAILURE(st))
			goto out;
		hi_info[c - TOK_TABLE_LIMIT] = (uint8_t)(cls | flags << 5);
	}
	for (k = 0; k < 256; k++) {
		hi_entries[k].cls = k & 31;
		hi_entries[k].flags = (uint8_t)(k >> 5);
	}
	if (!hangul_ok)
		for (c = 0xAC00; c <= 0xD7A3; c++)
			hi_info[c - TOK_TABLE_LIMIT] = TC_FB;
	swar_ok = swar_ok_build;
out:
	table_status = st;
	free(cls_of);
	for (k = 0; k < NSETS; k++)
		if (sets[k])
			uset_close(sets[k]);
}

dedup_status tok_table_get(const struct tok_cp **tab, struct dedup_error *err)
{
	pthread_once(&table_once, build_table);
	if (U_FAILURE(table_status)) {
		*tab = NULL;
		return dedup_error_set(err, DEDUP_EICU, "cannot %s: %s",
				       table_what, u_errorName(table_status));
	}
	*tab = cp_table;
	return DEDUP_OK;
}

/*
 * The entry of the code point at s[i] and its length in *n; fb_entry for
 * what the table does not cover, including malformed UTF-8.
 */
static inline const struct tok_cp *cp_at(const struct tok_cp *tab,
					 const uint8_t *s, size_t i,
					 size_t len, size_t *n)
{
	uint32_t b = s[i], c;

	if (b < 0x80) {
		*n = 1;
		return &tab[b];
	}
	if (b >= 0xC2 && b < 0xE0) {
		if (i + 1 >= len || (s[i + 1] & 0xC0) != 0x80)
			goto fb;
		*n = 2;
		return &tab[((b & 0x1F) << 6) | (s[i + 1] & 0x3F)];
	}
	if ((b & 0xF0) == 0xE0) {
		if (i + 2 >= len || (s[i + 1] & 0xC0) != 0x80 ||
		    (s[i + 2] & 0xC0) != 0x80)
			goto fb;
		c = ((b & 0x0F) << 12) | ((s[i + 1] & 0x3Fu) << 6) |
		    (s[i + 2] & 0x3Fu);
		if (c < 0x800)
			goto fb;
		*n = 3;
		if (c >= TOK_TABLE_LIMIT)
			return &hi_entries[hi_info[c - TOK_TABLE_LIMIT]];
		return &tab[c];
	}
	if (b == 0xF0) { /* planes 1 to 3; only plane 1 is ours */
		if (i + 3 >= len || (s[i + 1] & 0xC0) != 0x80 ||
		    (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
			goto fb;
		c = ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) |
		    (s[i + 3] & 0x3Fu);
		if (c < 0x10000 || c >= HI_LIMIT)
			goto fb;
		*n = 4;
		return &hi_entries[hi_info[c - TOK_TABLE_LIMIT]];
	}
fb:
	*n = 1;
	return &fb_entry;
}

static inline int is_safe(const uint8_t *s, size_t i)
{
	uint8_t p = s[i - 1], b = s[i];

	return b < 0x80 && (p == ' ' || p == '\t' || p == '\n') &&
	       !(p == ' ' && b == ' ');
}

/* What scan_word() learnt about a word. */
struct word {
	size_t end;
	size_t flen;    /* folded bytes if simple */
	uint32_t flags; /* DEDUP_TOK_UPPER, DEDUP_TOK_NUMBER */
	int simple;     /* every code point folds alone */
	int ascii;      /* only ASCII letters and digits */
	int is_word;    /* ICU would give it a word status */
};

static inline void take(struct word *w, const struct tok_cp *e)
{
	w->flen += e->flen;
	w->simple &= !!(e->flags & TCP_SIMPLE);
	if (e->flags & TCP_DIGIT)
		w->flags |= DEDUP_TOK_NUMBER;
}

static inline int is_ahletter(int c)
{
	return c == TC_AL || c == TC_HL;
}

/* WB5, WB8-WB10, WB13a, WB13b: the pairs joined without a middle. */
static inline int joins(int a, int b)
{
	if (b == TC_AL || b == TC_HL || b == TC_NU || b == TC_ENL)
		return a == TC_AL || a == TC_HL || a == TC_NU || a == TC_ENL;
	return 0;
}

/* WB6/7, WB7b/c, WB11/12: a middle character needs these on both sides. */
static inline int joins_across(int a, int mid, int b)
{
	if (is_ahletter(a) && (mid == TC_ML || mid == TC_MNL || mid == TC_SQ))
		return is_ahletter(b);
	if (a == TC_HL && mid == TC_DQ)
		return b == TC_HL;
	if (a == TC_NU && (mid == TC_MN || mid == TC_MNL || mid == TC_SQ))
		return b == TC_NU;
	return 0;
}

/*
 * Skip the Extend/Format characters at i, taking them into w when w is
 * not NULL; stop at the first other code point, whose entry goes to *e.
 * Returns the position, or (size_t)-1 if a code point must go to ICU.
 */
static inline size_t skip_exf(const struct tok_cp *tab, const uint8_t *s,
			      size_t i, size_t len, struct word *w,
			      const struct tok_cp **e, size_t *n)
{
	*e = NULL;
	while (i < len) {
		const struct tok_cp *x = cp_at(tab, s, i, len, n);

		if (x->cls == TC_FB)
			return (size_t)-1;
		if (x->cls != TC_EXF) {
			*e = x;
			return i;
		}
		if (w)
			take(w, x);
		i += *n;
	}
	return i;
}

/*
 * Find the end of the word that starts at s[i] with a character of class
 * AL, HL, NU or ENL. Returns 0, or -1 with *fb set if the decision needs a
 * code point the fast path leaves to ICU.
 */
static int scan_word(const struct tok_cp *tab, const uint8_t *s, size_t i,
		     size_t len, struct word *w, size_t *fb)
{
	const struct tok_cp *e, *e2, *e3;
	size_t n, n2, n3, j, k, base_end, bases;
	int cur;

	w->simple = 1;
	if (ascii_alnum[s[i]]) {
		/* A run of ASCII letters and digits. */
		unsigned acc = 0;

		w->flags = (ascii_alnum[s[i]] & 4) ? DEDUP_TOK_UPPER : 0;
		for (j = i; j < len && ascii_alnum[s[j]]; j++)
			acc |= ascii_alnum[s[j]];
		if (acc & 2)
			w->flags |= DEDUP_TOK_NUMBER;
		w->flen = j - i;
		if (j == len || ascii_stop[s[j]]) {
			w->end = j;
			w->ascii = 1;
			w->is_word = 1;
			return 0;
		}
		cur = tab[s[j - 1]].cls;
		bases = j - i;
		i = j;
	} else {
		e = cp_at(tab, s, i, len, &n);
		w->flags = (e->flags & TCP_UPPER) ? DEDUP_TOK_UPPER : 0;
		cur = e->cls;
		bases = 1;
		w->flen = 0;
		take(w, e);
		i += n;
	}
	w->ascii = 0;
	base_end = i;
	for (;;) {
		j = skip_exf(tab, s, i, len, w, &e2, &n2);
		if (j == (size_t)-1)
			goto fallback;
		i = j;
		if (!e2)
			break;
		if (joins(cur, e2->cls)) {
			take(w, e2);
			cur = e2->cls;
			i += n2;
			base_end = i;
			bases++;
			continue;
		}
		if (e2->cls >= TC_ML && e2->cls <= TC_DQ &&
		    (is_ahletter(cur) || cur == TC_NU)) {
			k = skip_exf(tab, s, i + n2, len, NULL, &e3, &n3);
			if (k == (size_t)-1)
				goto fallback;
			if (e3 && joins_across(cur, e2->cls, e3->cls)) {
				take(w, e2);
				skip_exf(tab, s, i + n2, len, w, &e3, &n3);
				take(w, e3);
				cur = e3->cls;
				i = k + n3;
				base_end = i;
				bases += 2;
				continue;
			}
		}
		if (cur == TC_HL && e2->cls == TC_SQ) { /* WB7a */
			take(w, e2);
			i += n2;
			base_end = i;
			bases++;
			cur = TC_SQ;
			continue;
		}
		break;
	}
	w->end = i;
	/*
	 * The ICU rules that end with "_" (WB13a) or with the quote of WB7a
	 * carry a word status only when nothing follows them: a lone "_",
	 * or one followed by Extend/Format characters, ends in an untagged
	 * rule.
	 */
	w->is_word = !((cur == TC_ENL || cur == TC_SQ) &&
		       (bases == 1 || i > base_end));
	return 0;
fallback:
	*fb = i;
	return -1;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
	__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TOK_SWAR 1

#define ONES 0x0101010101010101ULL
#define HIGH 0x8080808080808080ULL

/* The high bit of each byte of t (all < 0x80) that is in [lo, hi]. */
static inline uint64_t in_range(uint64_t t, unsigned lo, unsigned hi)
{
	return (t + ONES * (0x80 - lo)) & ~(t + ONES * (0x7F - hi)) & HIGH;
}
#endif

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define TOK_SSE2 1

/* 0xFF in each byte of x within [lo, hi] (signed compares: lo > 0). */
static inline __m128i sse_in(__m128i x, char lo, char hi)
{
	return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8((char)(lo - 1))),
			     _mm_cmplt_epi8(x, _mm_set1_epi8((char)(hi + 1))));
}
#endif

#define LANE_ROOM 256 /* output bytes a lane word may take */

/*
 * The lane: fold the run of letters and digits at s[i] that need no rule
 * but WB5/WB8-WB10 (AL and NU, not Hebrew) and fold alone, writing into
 * o, which has room up to oend (exclusive). Returns where the run stops
 * (at a character of another kind), or (size_t)-1 if it outgrew oend.
 * *acc gets 2 if the run has a digit. ASCII goes sixteen bytes at a time
 * where it can (eight without SSE2): most words then take one step.
 */
static inline size_t lane_run(const struct tok_cp *tab, const uint8_t *s,
			      size_t i, size_t len, char *o, char *oend,
			      size_t *olen, unsigned *acc)
{
	char *o0 = o;
	size_t k = i;
	unsigned a = 0;

	for (;;) {
		const struct tok_cp *e;
		size_t n, width = 0, run = 0;
		unsigned dig = 0;

		/*
		 * A step: the letters and digits among `width` bytes before
		 * the first other byte (`run` of them), folded, and whether
		 * a digit is among them.
		 */
#ifdef TOK_SSE2
		if (swar_ok && k + 16 <= len && oend - o >= 16) {
			__m128i x, up, dg, lo, at, al;
			unsigned stop, digits;

			x = _mm_loadu_si128((const __m128i *)(s + k));
			/* bytes from 0x80 on are negative: in no range */
			up = sse_in(x, 'A', 'Z');
			dg = sse_in(x, '0', '9');
			lo = sse_in(x, 'a', 'z');
			at = _mm_cmpeq_epi8(x, _mm_set1_epi8('@'));
			al = _mm_or_si128(_mm_or_si128(up, dg),
					  _mm_or_si128(lo, at));
			/* capitals + 0x20; '@' folds to itself */
			_mm_storeu_si128((__m128i *)o, _mm_add_epi8(x,
				_mm_and_si128(up, _mm_set1_epi8(0x20))));
			stop = ~(unsigned)_mm_movemask_epi8(al) & 0xFFFFu;
			digits = (unsigned)_mm_movemask_epi8(dg);
			width = 16;
			run = stop ? (unsigned)__builtin_ctz(stop) : 16;
			dig = (digits & ((1u << run) - 1)) != 0;
		} else
#endif
#ifdef TOK_SWAR
		if (swar_ok && k + 8 <= len && oend - o >= 8) {
			uint64_t x, t, up, dg, al, stop, y;

			memcpy(&x, s + k, 8);
			t = x & ~HIGH;
			up = in_range(t, '@', 'Z');
			dg = in_range(t, '0', '9');
			al = (up | dg | in_range(t, 'a', 'z')) & ~x;
			/* '@' is a letter that folds to itself. */
			y = x + ((up & ~in_range(t, '@', '@')) >> 2);
			memcpy(o, &y, 8);
			stop = ~al & HIGH;
			width = 8;
			run = stop ? (unsigned)__builtin_ctzll(stop) >> 3 : 8;
			dig = run && (dg & (~0ULL >> (64 - 8 * run)));
		}
#endif
		if (width) {
			k += run;
			o += run;
			a |= dig << 1;
			if (run == width)
				continue;
			if (s[k] < 0x80)
				break;
		}
		if (k >= len)
			break;
		if (s[k] < 0x80) {
			if (!ascii_alnum[s[k]])
				break;
			if (o >= oend)
				return (size_t)-1;
			a |= ascii_alnum[s[k]];
			*o++ = ascii_fold[s[k++]];
			continue;
		}
		e = cp_at(tab, s, k, len, &n);
		if ((e->cls != TC_AL && e->cls != TC_NU) ||
		    !(e->flags & TCP_SIMPLE))
			break;
		if (oend - o < TOK_FOLD_MAX)
			return (size_t)-1;
		memcpy(o, e->fold, TOK_FOLD_MAX);
		o += e->flen;
		k += n;
		if (e->flags & TCP_DIGIT)
			a |= 2;
	}
	*acc = a & 2;
	*olen = (size_t)(o - o0);
	return k;
}

/* Classes after which no rule can join a letter or digit to anything. */
static inline int is_stop(int cls)
{
	return cls == TC_OT || cls == TC_WS || cls == TC_CR || cls == TC_LF ||
	       cls == TC_NL || cls == TC_HG;
}

/*
 * Whether a word whose last character is a letter or digit (not Hebrew,
 * not followed by Extend/Format) certainly ends at k: a stop follows, or
 * a middle character and then a stop.
 */
static inline int lane_ends(const struct tok_cp *tab, const uint8_t *s,
			    size_t k, size_t len)
{
	const struct tok_cp *e;
	size_t n;

	if (k == len || ascii_stop[s[k]])
		return 1;
	if (ascii_mid[s[k]])
		return k + 1 == len || ascii_stop[s[k + 1]] ||
		       (s[k + 1] >= 0x80 &&
			is_stop(cp_at(tab, s, k + 1, len, &n)->cls));
	if (s[k] < 0x80)
		return 0;
	e = cp_at(tab, s, k, len, &n);
	if (is_stop(e->cls))
		return 1;
	if (e->cls < TC_ML || e->cls > TC_DQ)
		return 0;
	return k + n == len || is_stop(cp_at(tab, s, k + n, len, &n)->cls);
}

/* Where fast_range() starts over with ICU: a safe point and the output then. */
struct tok_safe {
	size_t pos, n, tlen;
	struct tok_state ts;
};

#ifdef TOK_SSE2
/* Bit i set when byte i of x is an ASCII letter or digit (or "@"). */
static inline unsigned sse_alnum(__m128i x, __m128i *up, unsigned *digits)
{
	__m128i dg = sse_in(x, '0', '9');

	*up = sse_in(x, 'A', 'Z');
	*digits = (unsigned)_mm_movemask_epi8(dg);
	return (unsigned)_mm_movemask_epi8(
		_mm_or_si128(_mm_or_si128(*up, dg),
			     _mm_or_si128(sse_in(x, 'a', 'z'),
					  _mm_cmpeq_epi8(x, _mm_set1_epi8('@')))));
}

/*
 * The common case in one loop, from the ASCII letter or digit at s[i]:
 * words of fewer than 16 ASCII letters and digits, each followed by an
 * ASCII byte that ends any word (ascii_stop) or by an ASCII middle
 * ("." "," "'" ...) and such a byte, with ASCII bytes between them that
 * are neither letters, digits nor "_". A word is one 16-byte step, folded
 * and emitted at once with the room checked once for the loop, and a gap
 * one table lookup a byte (where the next word starts, whether a
 * sentence ends in it): the main loop tested every byte of a gap for a
 * safe point and its class, and tok_emit() scanned the gap again. What
 * the loop does not take it leaves to the main loop, which splits words
 * the same way (a word is only taken here when the lane would have taken
 * it whole), from where it stopped: at a word (*at_word = 1) or in a
 * gap. Safe points are only recorded at the starts of words here: any
 * safe point serves, ICU gives the same words from each.
 */
static size_t ascii_words(const uint8_t *s, size_t i, size_t len,
			  struct dedup_tokens *out, struct tok_state *ts,
			  struct tok_safe *sv, int *at_word)
{
	struct dedup_buf *b = &out->text;
	size_t tlen, n, lim, g;
	uint32_t sentence;
	char *buf;

	*at_word = 1;
	if (b->len + LANE_ROOM >= b->alloc && dedup_buf_grow(b, LANE_ROOM))
		return i;
	/*
	 * A word stores 16 bytes at tlen and ends with two NULs at most 17
	 * bytes on: what tok_room() would grant, below b->cap and the 4 GiB
	 * offsets.
	 */
	lim = b->alloc;
	if (b->cap && b->cap < lim - 1)
		lim = b->cap + 1;
	if (lim > UINT32_MAX)
		lim = UINT32_MAX;
	sentence = tok_gap_flag(out, (const char *)s, ts, i);
	buf = b->buf;
	tlen = b->len;
	n = out->n;
	for (;;) {
		struct dedup_token *t;
		__m128i x, up;
		unsigned al, dg, run, stop;

		if (i + 17 > len || tlen + 17 > lim || n == out->alloc)
			break;
		x = _mm_loadu_si128((const __m128i *)(s + i));
		al = sse_alnum(x, &up, &dg);
		stop = ~al & 0xFFFFu;
		if (!stop)
			break;
		run = (unsigned)__builtin_ctz(stop);
		/* as lane_ends(): a stop, or a middle and then a stop */
		if (!ascii_stop[s[i + run]] &&
		    (!ascii_mid[s[i + run]] || !ascii_stop[s[i + run + 1]]))
			break;
		/* capitals + 0x20, as the lane folds */
		_mm_storeu_si128((__m128i *)(buf + tlen), _mm_add_epi8(x,
				 _mm_and_si128(up, _mm_set1_epi8(0x20))));
		buf[tlen + run] = '\0';
		buf[tlen + run + 1] = '\0';
		t = &out->v[n++];
		t->hash = tok_hash(buf + tlen, run);
		t->off = (uint32_t)tlen;
		t->len = run;
		t->src = (uint32_t)i;
		t->flags = sentence | (ascii_alnum[s[i]] & 4 ?
				       DEDUP_TOK_UPPER : 0) |
			   (dg & ((1u << run) - 1) ? DEDUP_TOK_NUMBER : 0);
		tlen += run + 1;
		g = i + run;
		ts->prev_end = g;
		/*
		 * The gap, a byte at a time: it is mostly one or two bytes,
		 * which the branches learn, where a step of 16 made every
		 * word wait for the one before.
		 */
		*at_word = 0;
		i = g;
		sentence = 0;
		while (!ascii_alnum[s[i]]) {
			/* from 0x80 on, and "_" (ExtendNumLet): not ours */
			if (ascii_gap[s[i]] & 2)
				goto out;
			sentence |= ascii_gap[s[i]];
			if (++i == len)
				goto out;
		}
		sentence = sentence ? DEDUP_TOK_SENTENCE : 0;
		*at_word = 1;
		if (s[i - 1] == ' ' || s[i - 1] == '\t' || s[i - 1] == '\n') {
			sv->pos = i;
			sv->n = n;
			sv->tlen = tlen;
			sv->ts = *ts;
		}
	}
out:
	out->n = n;
	b->len = tlen;
	return i;
}
#endif

/* Append the folded form of a simple word; room was made by the caller. */
static void fold_simple(const struct tok_cp *tab, const uint8_t *s,
			size_t i, size_t end, struct dedup_buf *b)
{
	char *d = b->buf + b->len;

	while (i < end) {
		const struct tok_cp *e;
		size_t n;

		if (s[i] < 0x80) {
			*d++ = tab[s[i++]].fold[0];
			continue;
		}
		e = cp_at(tab, s, i, end, &n);
		memcpy(d, e->fold, e->flen);
		d += e->flen;
		i += n;
	}
	b->len = (size_t)(d - b->buf);
	b->buf[b->len] = '\0';
}

static dedup_status fast_range(struct dedup_tokenizer *tk, const char *text,
			       size_t len, struct dedup_tokens *out,
			       struct dedup_error *err)
{
	const struct tok_cp *tab = tk->tab;
	const uint8_t *s = (const uint8_t *)text;
	struct tok_state ts = { 0 };
	struct tok_safe sv = { 0 };
	size_t i = 0, fb, p, n;
	struct word w;
	dedup_status ret;

	while (i < len) {
		const struct tok_cp *e;
		struct dedup_buf *b = &out->text;
		size_t fold_off, k, olen;
		unsigned acc, up;

		if (s[i] < 0x80) {
			if (i > 0 && is_safe(s, i)) {
				sv.pos = i;
				sv.n = out->n;
				sv.tlen = out->text.len;
				sv.ts = ts;
			}
			if (!ascii_alnum[s[i]]) {
				if (tab[s[i]].cls == TC_ENL)
					goto word;
				i++;
				continue;
			}
#ifdef TOK_SSE2
			if (swar_ok) {
				int at_word;

				i = ascii_words(s, i, len, out, &ts, &sv,
						&at_word);
				if (!at_word)
					continue;
			}
#endif
			up = ascii_alnum[s[i]] & 4;
		} else {
			e = cp_at(tab, s, i, len, &n);
			switch (e->cls) {
			case TC_AL: case TC_NU:
				if (!(e->flags & TCP_SIMPLE))
					goto word;
				up = e->flags & TCP_UPPER;
				break;
			case TC_HL: case TC_ENL:
				goto word;
			case TC_HG:
				goto hangul;
			case TC_FB:
				fb = i;
				goto fallback;
			default:
				i += n;
				continue;
			}
		}
		/*
		 * The lane; a reservation refused by b->cap is no error yet:
		 * the general scanner asks for the exact size.
		 */
		if (b->len + LANE_ROOM >= b->alloc &&
		    dedup_buf_grow(b, LANE_ROOM))
			goto word;
		k = lane_run(tab, s, i, len, b->buf + b->len,
			     b->buf + b->alloc - 1, &olen, &acc);
		if (k != (size_t)-1 && lane_ends(tab, s, k, len)) {
			if (b->cap && b->len + olen > b->cap)
				goto nomem;
			fold_off = b->len;
			b->len += olen;
			b->buf[b->len] = '\0';
			ret = tok_emit(out, text, &ts, i, k, fold_off,
				       (acc ? DEDUP_TOK_NUMBER : 0) |
				       (up ? DEDUP_TOK_UPPER : 0), err);
			if (ret)
				goto out;
			i = k;
			continue;
		}
		/* Not the end of the word: start over. */
		b->buf[b->len] = '\0';
word:
		if (scan_word(tab, s, i, len, &w, &fb))
			goto fallback;
		if (!w.is_word) {
			i = w.end;
			continue;
		}
		fold_off = b->len;
		if (w.simple) {
			if (tok_room(b, w.flen))
				goto nomem;
			if (w.ascii) {
				char *d = b->buf + b->len;

				for (k = 0; k < w.flen; k++)
					d[k] = ascii_fold[s[i + k]];
				b->len += w.flen;
				b->buf[b->len] = '\0';
			} else {
				fold_simple(tab, s, i, w.end, b);
			}
		} else {
			ret = dedup_fold(tk, text + i, w.end - i, b, err);
			if (ret)
				goto out;
		}
		ret = tok_emit(out, text, &ts, i, w.end, fold_off, w.flags, err);
		if (ret)
			goto out;
		i = w.end;
		continue;
hangul:
		/*
		 * ICU joins Hangul syllables only to each other, with nothing
		 * between ($HangulSyllable $HangulSyllable), and that rule
		 * does not take Extend/Format characters: a run followed by
		 * one ends in an untagged rule and is no word.
		 */
		for (k = i + n; k < len; k += n) {
			e = cp_at(tab, s, k, len, &n);
			if (e->cls != TC_HG)
				break;
		}
		if (k < len && e->cls == TC_FB) {
			fb = k;
			goto fallback;
		}
		if (k < len && e->cls == TC_EXF) {
			i = k;
			continue;
		}
		if (tok_room(b, k - i))
			goto nomem;
		fold_off = b->len;
		memcpy(b->buf + b->len, s + i, k - i);
		b->len += k - i;
		b->buf[b->len] = '\0';
		ret = tok_emit(out, text, &ts, i, k, fold_off, 0, err);
		if (ret)
			goto out;
		i = k;
		continue;
fallback:
		/* Redo the run from the last safe point with ICU. */
		out->n = sv.n;
		dedup_buf_setlen(&out->text, sv.tlen);
		ts = sv.ts;
		for (p = fb + 1; p < len && !is_safe(s, p); p++)
			;
		ret = tok_icu_range(tk, text, sv.pos, p, out, &ts, err);
		if (ret)
			goto out;
		tk->icu_run_bytes += p - sv.pos;
		i = p;
	}
	ret = DEDUP_OK;
out:
	return ret;
nomem:
	return dedup_error_set(err, DEDUP_ENOMEM,
			       "cannot store the folded words");
}

/*
 * Cases where ICU's word rules are tailored or easy to get wrong. The
 * fast path reproduces ICU 72; should the ICU at run time decide any of
 * these differently, the tokenizer uses ICU alone (slower, still right).
 */
static const char *const probes[] = {
	"don't U.S. 3.5 1,000.25 a:b a\xc2\xb7" "b a.1 1.a 1'2 a'1",
	"user@example.com @ a@b x_y _ __ _a 1_ a_\xcc\x81 9_\xcc\x81 b",
	"\xd7\x90'\xd7\x91 \xd7\x90' \xd7\x90\"\xd7\x91 \xd7\x90\" "
	"\xd7\x90'\xcc\x81 x",
	"soft\xc2\xad" "hyphen zero\xe2\x80\x8b" "width \xef\xbb\xbf" "bom "
	"co\xe2\x80\x8coperate",
	"\xcc\x81lead \n\xcc\x81" "after \r\n  \xe2\x80\x83\xe2\x80\x83x\xe2\x80\x83",
	"well-known e\xe2\x80\x94mail \xe2\x80\x9cq\xe2\x80\x9d don\xe2\x80\x99t "
	"1\xe2\x80\x99" "000 \xd9\xa1\xd9\xab\xd9\xa2 \xef\xbc\xa1\xef\xbc\x8e\xef\xbc\xa2",
	"\xed\x95\x9c\xea\xb5\xad \xed\x95\x9c\xea\xb5\xad" "abc "
	"\xed\x95\x9c" "1 _\xed\x95\x9c \xed\x95\x9c_a \xed\x95\x9c\xcc\x81 "
	"\xed\x95\x9c\xc2\xad\xea\xb5\xad \xed\x95\x9c'\xea\xb5\xad "
	"\xed\x95\x9c.\xea\xb5\xad 3.\xed\x95\x9c",
	"\xc4\xb0stanbul I\xc5\x9eIK \xc4\xb1 Stra\xc3\x9f" "e \xce\x90 \xe2\x85\xa7 "
	"\xc7\x85" "a \xea\x9c\xa2\xea\x9c\xa3 \xe2\x96\xba \xee\xa0\xb8 \xef\xbf\xbd",
};

static int self_test(struct dedup_tokenizer *tk)
{
	struct dedup_tokens a, b;
	size_t i, k;
	int ok = 1;

	dedup_tokens_init(&a);
	dedup_tokens_init(&b);
	for (i = 0; ok && i < sizeof(probes) / sizeof(probes[0]); i++) {
		size_t len = strlen(probes[i]);

		tok_reset(&a);
		if (fast_range(tk, probes[i], len, &a, NULL) ||
		    dedup_tokenize_icu(tk, probes[i], len, &b, NULL) ||
		    a.n != b.n || a.text.len != b.text.len ||
		    memcmp(a.text.buf, b.text.buf, a.text.len)) {
			ok = 0;
			break;
		}
		for (k = 0; k < a.n; k++)
			if (a.v[k].src != b.v[k].src ||
			    a.v[k].flags != b.v[k].flags)
				ok = 0;
	}
	dedup_tokens_release(&a);
	dedup_tokens_release(&b);
	return ok;
}

dedup_status tok_fast_init(struct dedup_tokenizer *tk,
			   struct dedup_error *err)
{
	dedup_status ret = tok_table_get(&tk->tab, err);

	if (ret)
		return ret;
	tk->fast_ok = self_test(tk);
	return DEDUP_OK;
}

dedup_status dedup_tokenize(struct dedup_tokenizer *tk, const char *text,
			    size_t len, struct dedup_tokens *out,
			    struct dedup_error *err)
{
	tok_reset(out);
	if (len >= UINT32_MAX)
		return dedup_error_set(err, DEDUP_ENOMEM,
				       "text of %zu bytes exceeds the 4 GiB "
				       "limit", len);
	if (!tk->fast_ok)
		return dedup_tokenize_icu(tk, text, len, out, err);
	return fast_range(tk, text, len, out, err);
}
