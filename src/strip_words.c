/* strip_words.c - light word splitting and folding for line evidence. */
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "dedup/tokenize.h"
#include "strip_words.h"

/* Longer words are hashed unfolded: they are never stopwords or template. */
#define FOLD_MAX 128

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

int strip_next_word(const char *s, size_t len, size_t *pos,
		    struct strip_word *w)
{
	size_t i = *pos, next;
	UChar32 c, prev;

	if (len > INT32_MAX)
		len = INT32_MAX;
	/* skip to the first word character */
	while (i < len) {
		c = peek(s, len, i, &next);
		if (c >= 0 && is_word_cp(c))
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
	if (u_isupper(c) || u_istitle(c))
		w->flags |= STRIP_WORD_UPPER;
	prev = -1;
	while (i < len) {
		c = peek(s, len, i, &next);
		if (c >= 0 && is_word_cp(c)) {
			if (is_digit_cp(c))
				w->flags |= STRIP_WORD_NUMBER;
			else if (is_letter_cp(c))
				w->flags |= STRIP_WORD_ALPHA;
			w->chars++;
			prev = c;
			i = next;
			continue;
		}
		/* joiners: letter'letter, letter.letter, digit.digit, 1,000 */
		if (prev >= 0 && next < len &&
		    (c == '\'' || c == 0x2019 || c == '.' || c == ',')) {
			size_t after;
			UChar32 d = peek(s, len, next, &after);
			int join = 0;

			if (d >= 0 && c == ',')
				join = is_digit_cp(prev) && is_digit_cp(d);
			else if (d >= 0 && c == '.')
				join = (is_letter_cp(prev) &&
					is_letter_cp(d)) ||
				       (is_digit_cp(prev) && is_digit_cp(d));
			else if (d >= 0)
				join = is_letter_cp(prev) && is_letter_cp(d);
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

uint64_t strip_word_hash(const char *w, size_t len)
{
	char buf[FOLD_MAX * 3];
	size_t n = strip_word_fold(w, len, buf, sizeof(buf));

	if (!n)
		return dedup_token_hash(w, len);
	return dedup_token_hash(buf, n);
}
