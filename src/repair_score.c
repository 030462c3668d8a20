/*
 * repair_score.c - how plausible characters and character pairs are.
 *
 * The repair replaces a span only when the text gets clearly more
 * plausible. Plausibility is judged like ftfy does: mojibake is full of
 * pairs that real text seldom has (an accented capital before a currency
 * sign, a letter before a C1 control, two scripts inside one word), and a
 * repair must not produce characters that news text does not use (IPA,
 * archaic Cyrillic, unassigned code points...).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/uscript.h>

#include "repair_int.h"

static bool is_sym(uint32_t c)
{
	if (c >= 0xA1 && c <= 0xBF)
		return c != 0xAB && c != 0xBB;
	switch (c) {
	case 0xD7: case 0xF7: case 0x192: case 0x2C6: case 0x2C7:
	case 0x2020: case 0x2021: case 0x2022: case 0x2030: case 0x2122:
	case 0x20AC: case 0x2116: case 0x2126: case 0x207F: case 0xF8FF:
		return true;
	}
	return (c >= 0x2D8 && c <= 0x2DD) || (c >= 0x2190 && c <= 0x23FF) ||
	       (c >= 0x2500 && c <= 0x25FF);
}

static bool is_quote(uint32_t c)
{
	return c == 0xAB || c == 0xBB || (c >= 0x2010 && c <= 0x201F) ||
	       c == 0x2026 || c == 0x2039 || c == 0x203A;
}

static int script_of(uint32_t c)
{
	UErrorCode st = U_ZERO_ERROR;
	UScriptCode sc;

	if (c < 0x250 || (c >= 0x1E00 && c <= 0x1EFF) ||
	    (c >= 0xFB00 && c <= 0xFB06))
		return S_LATIN;
	if ((c >= 0x370 && c <= 0x3FF) || (c >= 0x1F00 && c <= 0x1FFF))
		return S_GREEK;
	if (c >= 0x400 && c <= 0x52F)
		return S_CYRILLIC;
	sc = uscript_getScript((UChar32)c, &st);
	switch (sc) {
	case USCRIPT_HAN: case USCRIPT_HIRAGANA: case USCRIPT_KATAKANA:
	case USCRIPT_HANGUL: case USCRIPT_BOPOMOFO:
		return S_CJK;
	case USCRIPT_LATIN:
		return S_LATIN;
	default:
		return S_OTHER + (int)sc;
	}
}

void repair_classify(uint32_t c, struct ccls *k)
{
	int8_t t;

	memset(k, 0, sizeof(*k));
	k->c = c;
	if (c < 0x80) {
		k->ascii = true;
		if ((c | 0x20) - 'a' < 26u) {
			k->kind = K_LET;
			k->script = S_LATIN;
			k->upper = c < 'a';
			k->lower = !k->upper;
		}
		return;
	}
	if (c < 0xA0) {
		k->kind = K_C1;
		return;
	}
	if (c == 0xA0) {
		k->kind = K_NBSP;
		return;
	}
	if (is_sym(c)) {
		k->kind = K_SYM;
		k->box = c >= 0x2500 && c <= 0x259F;
		return;
	}
	if (is_quote(c)) {
		k->kind = K_QUOTE;
		return;
	}
	t = u_charType((UChar32)c);
	switch (t) {
	case U_UPPERCASE_LETTER: case U_LOWERCASE_LETTER:
	case U_TITLECASE_LETTER: case U_MODIFIER_LETTER:
	case U_OTHER_LETTER:
		k->kind = K_LET;
		k->upper = t == U_UPPERCASE_LETTER || t == U_TITLECASE_LETTER;
		k->lower = t == U_LOWERCASE_LETTER;
		k->script = script_of(c);
		k->marker = c >= 0xC0 && c <= 0xDE;
		return;
	case U_NON_SPACING_MARK: case U_ENCLOSING_MARK:
	case U_COMBINING_SPACING_MARK:
		k->kind = K_MARK;
		return;
	default:
		k->kind = K_OTHER;
	}
}

int repair_pair_bad(const struct ccls *a, const struct ccls *b)
{
	if (a->kind == K_C1 || b->kind == K_C1)
		return 2;
	if (a->kind == K_LET && !a->ascii) {
		if (a->marker && !b->ascii && b->kind != K_MARK)
			return b->kind != K_LET ||
					       (b->upper && (a->c == 0xC2 ||
							     a->c == 0xC3))
				       ? 2
				       : !b->upper || b->c == 0x160 ||
						       b->c == 0x152 ||
						       b->c == 0x17D ||
						       b->c == 0x178
				       ? 1
				       : 0;
		/*
		 * No word ends in a capital A-tilde or A-circumflex: their
		 * NBSP became a space
		 */
		if ((a->c == 0xC2 || a->c == 0xC3) && b->c == ' ')
			return 2;
		/* "â€" starts the mojibake of all general punctuation */
		if (b->kind == K_SYM || b->kind == K_NBSP)
			return a->upper || b->c == 0x20AC ? 2 : 1;
		if (b->kind == K_QUOTE &&
		    !(a->lower && a->script == S_LATIN))
			return 1;
	}
	if (a->kind == K_LET && b->kind == K_SYM)
		return 1;
	if (a->kind == K_SYM && b->kind == K_SYM)
		return a->box && b->box ? 0 : 2;
	if (a->kind == K_SYM &&
	    (b->kind == K_QUOTE || (b->kind == K_LET && !b->ascii)))
		return 1;
	if (a->kind == K_QUOTE && b->kind == K_SYM)
		return 1;
	if (a->kind == K_LET && b->kind == K_LET) {
		if (a->script != b->script)
			return 2;
		if (a->lower && b->upper && !b->ascii)
			return 1;
	}
	if (b->kind == K_MARK && a->kind != K_LET)
		return 1;
	return 0;
}

int repair_unlikely(uint32_t d, uint32_t prev)
{
	int8_t t = u_charType((UChar32)d);

	if (d >= 0x80 && d < 0xA0)
		return 1; /* maybe a byte of the next layer down */
	if (d >= 0xE000 && d <= 0xF8FF)
		return 1; /* icon fonts put symbols there */
	if (t == U_UNASSIGNED || t == U_PRIVATE_USE_CHAR ||
	    t == U_SURROGATE || t == U_CONTROL_CHAR)
		return -1;
	if ((d & 0xFFFE) == 0xFFFE || (d >= 0xFDD0 && d <= 0xFDEF))
		return -1;
	if (d >= 0xFE00 && d <= 0xFE0F)
		return prev >= 0x2000 && !u_isalnum((UChar32)prev) ? 0 : 3;
	if (t == U_FORMAT_CHAR)
		return d == 0xAD ? 1 : 2;
	if (t == U_NON_SPACING_MARK || t == U_ENCLOSING_MARK ||
	    t == U_COMBINING_SPACING_MARK) {
		UErrorCode st = U_ZERO_ERROR;
		UScriptCode sd;

		if (!u_isalpha((UChar32)prev))
			return 3;
		if (d < 0x370)
			return 0;
		/* a mark of another script than its letter */
		sd = uscript_getScript((UChar32)d, &st);
		if (sd != USCRIPT_INHERITED && sd != USCRIPT_COMMON &&
		    sd != uscript_getScript((UChar32)prev, &st))
			return 3;
	}
	if (d < 0x180)
		return 0;
	if (d < 0x250) /* Latin Extended-B: only a few are common */
		return (d >= 0x218 && d <= 0x21B) || d == 0x192 ? 0 : 1;
	if (d < 0x2B0)
		return 3; /* IPA */
	if (d < 0x300) {
		switch (d) {
		case 0x2BC: case 0x2C6: case 0x2C7: case 0x2C9:
		case 0x2D8: case 0x2D9: case 0x2DA: case 0x2DB:
		case 0x2DC: case 0x2DD:
			return 0;
		}
		return 3;
	}
	if (d < 0x370)
		return 1;
	if (d < 0x386)
		return 3; /* archaic Greek, numeral signs, tonos alone */
	if (d < 0x3CF)
		return 0; /* Greek */
	if (d < 0x400)
		return 2; /* Greek symbols, Coptic */
	if (d < 0x460)
		return 0; /* Cyrillic */
	if (d < 0x490)
		return 3; /* archaic Cyrillic */
	if (d < 0x530)
		return 1;
	if (d < 0x590)
		return 2; /* Armenian */
	if (d < 0x5D0)
		return 3; /* Hebrew points */
	if (d < 0x700)
		return 0; /* Hebrew, Arabic */
	if (d < 0x900)
		return 3; /* Syriac, Thaana, NKo, Samaritan... */
	if (d < 0xF00)
		return 0; /* Indic, Thai, Lao */
	if (d < 0x1D00)
		return 1;
	if (d < 0x1E00)
		return 3; /* phonetic extensions */
	if (d < 0x1F00)
		return 0;
	if (d < 0x2000)
		return 1;
	if (d < 0x2C00)
		return 0; /* punctuation, symbols */
	if (d < 0x2E00)
		return 3;
	if (d < 0x2E80)
		return 1;
	if (d < 0xA000)
		return 0; /* CJK */
	if (d < 0xAC00)
		return 3;
	if (d < 0xD800)
		return 0; /* Hangul */
	if (d < 0xFB00)
		return 1;
	if (d < 0xFE00)
		return 2;
	if (d < 0xFF00)
		return 1;
	if (d < 0xFFF0)
		return 0;
	if (d < 0x10000)
		return 3;
	if (d >= 0x1F000 && d < 0x1FB00)
		return 0; /* emoji */
	if (d >= 0x20000 && d < 0x40000)
		return 1;
	if (d >= 0xE0000 && d < 0xE0080)
		return 1; /* tags, in flag emoji */
	return 3;
}
