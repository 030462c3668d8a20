/*
 * tokenize.c - stage 3a, general path: ICU word boundaries and folding.
 *
 * This file is the reference; tokenize_fast.c must produce exactly what
 * tok_icu_range() produces.
 *
 * - A word is a segment between ICU word boundaries (root locale) whose
 *   rule status is not UBRK_WORD_NONE. ICU's decisions are kept: "don't",
 *   "U.S", "3.5", "a_b" and "user@example.com" are one word each, "@" and
 *   "__" are words, a lone "_" is not, "well-known" is two.
 * - Its folded form is NFKC_Casefold (NFKC, full default case folding,
 *   default ignorables such as the soft hyphen and zero-width characters
 *   removed), then the apostrophe, double quote and dash variants of
 *   tok_typo_map() replaced by ' " and -. A word that folds to nothing
 *   is dropped.
 * - DEDUP_TOK_UPPER: its first code point is Lu or Lt. DEDUP_TOK_NUMBER:
 *   it has a code point of category Nd. DEDUP_TOK_IDEO: it has a Han,
 *   kana or ideographic code point or one of Line_Break Complex_Context
 *   (Thai, Lao, Khmer, Myanmar...). DEDUP_TOK_SENTENCE: it is the first
 *   word, or the text between it and the previous word holds a line end
 *   (LF, VT, FF, CR, NEL, LS, PS) or a sentence end (. ! ? and the forms
 *   of ends_sentence()).
 */
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "tokenize_int.h"

/* ICU indexes are int32_t: keep every piece handed to ICU below this. */
#define TOK_ICU_MAX ((size_t)INT32_MAX / 4)

void dedup_tokens_init(struct dedup_tokens *t)
{
	t->v = NULL;
	t->n = 0;
	t->alloc = 0;
	dedup_buf_init(&t->text);
}

void dedup_tokens_release(struct dedup_tokens *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
	t->alloc = 0;
	dedup_buf_release(&t->text);
}

void tok_reset(struct dedup_tokens *out)
{
	out->n = 0;
	dedup_buf_reset(&out->text);
}

static dedup_status icu_error(struct dedup_error *err, const char *what,
			      UErrorCode st)
{
	return dedup_error_set(err, DEDUP_EICU, "cannot %s: %s", what,
			       u_errorName(st));
}

dedup_status dedup_tokenizer_new(struct dedup_tokenizer **out,
				 struct dedup_error *err)
{
	struct dedup_tokenizer *tk;
	UErrorCode st = U_ZERO_ERROR;
	dedup_status ret;

	*out = NULL;
	tk = calloc(1, sizeof(*tk));
	if (!tk)
		return dedup_error_set(err, DEDUP_ENOMEM,
				       "cannot allocate a tokenizer");
	tk->nfkc_cf = unorm2_getNFKCCasefoldInstance(&st);
	if (U_FAILURE(st)) {
		ret = icu_error(err, "load the 'nfkc_cf' normalizer", st);
		goto fail;
	}
	st = U_ZERO_ERROR;
	tk->bi = ubrk_open(UBRK_WORD, "", NULL, 0, &st);
	if (U_FAILURE(st)) {
		ret = icu_error(err, "open the root word break iterator", st);
		goto fail;
	}
	st = U_ZERO_ERROR;
	tk->ideo = uset_openPattern(u"[[:Han:][:Hiragana:]"
				    u"\\p{Word_Break=Katakana}\\p{Ideographic}"
				    u"[:Line_Break=Complex_Context:]]",
				    -1, &st);
	if (U_FAILURE(st)) {
		ret = icu_error(err, "build the ideographic set", st);
		goto fail;
	}
	uset_freeze(tk->ideo);
	ret = tok_fast_init(tk, err);
	if (ret)
		goto fail;
	*out = tk;
	return DEDUP_OK;
fail:
	dedup_tokenizer_free(tk);
	return ret;
}

void dedup_tokenizer_free(struct dedup_tokenizer *tk)
{
	if (!tk)
		return;
	if (tk->bi)
		ubrk_close(tk->bi);
	if (tk->ut)
		utext_close(tk->ut);
	if (tk->ideo)
		uset_close(tk->ideo);
	free(tk->u16);
	free(tk->n16);
	free(tk);
}

static int grow16(UChar **p, int32_t *alloc, int32_t need)
{
	UChar *q;
	int32_t n = *alloc ? *alloc : 256;

	if (need <= *alloc)
		return 0;
	while (n < need)
		n = n > INT32_MAX / 2 ? need : n * 2;
	q = realloc(*p, (size_t)n * sizeof(UChar));
	if (!q)
		return -1;
	*p = q;
	*alloc = n;
	return 0;
}

dedup_status dedup_fold(struct dedup_tokenizer *tk, const char *word,
			size_t len, struct dedup_buf *out,
			struct dedup_error *err)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t n16, nn, i, n8, nsub = 0;

	if (len > TOK_ICU_MAX)
		return dedup_error_set(err, DEDUP_ENOMEM,
				       "word of %zu bytes is too long to fold",
				       len);
	/* UTF-16 never has more units than UTF-8 has bytes. */
	if (grow16(&tk->u16, &tk->u16_alloc, (int32_t)len + 1))
		goto nomem;
	u_strFromUTF8WithSub(tk->u16, tk->u16_alloc, &n16, word, (int32_t)len,
			     0xFFFD, &nsub, &st);
	if (U_FAILURE(st))
		return icu_error(err, "convert a word to UTF-16", st);
	/*
	 * Most words (ideographs, lowercase text) are their own fold: then
	 * the valid input bytes are the output.
	 */
	if (!nsub && unorm2_spanQuickCheckYes(tk->nfkc_cf, tk->u16, n16,
					      &st) == n16 && U_SUCCESS(st)) {
		for (i = 0; i < n16; i++)
			if (tok_typo_map(tk->u16[i]) != tk->u16[i])
				break;
		if (i == n16) {
			if (dedup_buf_add(out, word, len))
				goto nomem;
			return DEDUP_OK;
		}
	}
	st = U_ZERO_ERROR;
	if (grow16(&tk->n16, &tk->n16_alloc, n16 + 16))
		goto nomem;
	nn = unorm2_normalize(tk->nfkc_cf, tk->u16, n16, tk->n16,
			      tk->n16_alloc, &st);
	if (st == U_BUFFER_OVERFLOW_ERROR) {
		if (grow16(&tk->n16, &tk->n16_alloc, nn + 1))
			goto nomem;
		st = U_ZERO_ERROR;
		nn = unorm2_normalize(tk->nfkc_cf, tk->u16, n16, tk->n16,
				      tk->n16_alloc, &st);
	}
	if (U_FAILURE(st))
		return icu_error(err, "fold a word", st);
	/* Every variant and its replacement are single BMP units. */
	for (i = 0; i < nn; i++)
		tk->n16[i] = (UChar)tok_typo_map(tk->n16[i]);
	if ((size_t)nn > TOK_ICU_MAX)
		goto nomem;
	st = U_ZERO_ERROR;
	n8 = nn * 3;
	if (dedup_buf_grow(out, (size_t)n8)) {
		/* Near out->cap: ask for the exact size. */
		u_strToUTF8(NULL, 0, &n8, tk->n16, nn, &st);
		if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
			return icu_error(err, "convert a folded word to UTF-8",
					 st);
		st = U_ZERO_ERROR;
		if (dedup_buf_grow(out, (size_t)n8))
			goto nomem;
	}
	u_strToUTF8(out->buf + out->len, n8 + 1, &n8, tk->n16, nn, &st);
	if (U_FAILURE(st))
		return icu_error(err, "convert a folded word to UTF-8", st);
	out->len += (size_t)n8;
	out->buf[out->len] = '\0';
	return DEDUP_OK;
nomem:
	return dedup_error_set(err, DEDUP_ENOMEM,
			       "cannot fold a word of %zu bytes", len);
}

/* Line ends and sentence-ending punctuation, in any script we know. */
static int ends_sentence(uint32_t c)
{
	switch (c) {
	case '\n': case '\v': case '\f': case '\r': case 0x85:
	case 0x2028: case 0x2029:
	case '.': case '!': case '?':
	case 0x0589: case 0x061F: case 0x06D4: case 0x0964: case 0x0965:
	case 0x2026: case 0x203C: case 0x203D: case 0x2047: case 0x2048:
	case 0x2049: case 0x3002: case 0xFE12: case 0xFE15: case 0xFE16:
	case 0xFE52: case 0xFE56: case 0xFE57: case 0xFF01: case 0xFF0E:
	case 0xFF1F: case 0xFF61:
		return 1;
	default:
		return 0;
	}
}

int tok_gap_ends_sentence(const char *text, size_t from, size_t to)
{
	const uint8_t *s = (const uint8_t *)text;
	size_t i = from;
	UChar32 c;

	while (i < to) {
		if (s[i] < 0x80) {
			if (ends_sentence(s[i++]))
				return 1;
			continue;
		}
		U8_NEXT(s, i, to, c);
		if (c >= 0 && ends_sentence((uint32_t)c))
			return 1;
	}
	return 0;
}

dedup_status tok_grow_tokens(struct dedup_tokens *out,
			     struct dedup_error *err)
{
	size_t na = out->alloc ? out->alloc * 2 : 256;
	struct dedup_token *v;

	if (na > SIZE_MAX / sizeof(*v))
		goto nomem;
	v = realloc(out->v, na * sizeof(*v));
	if (!v)
		goto nomem;
	out->v = v;
	out->alloc = na;
	return DEDUP_OK;
nomem:
	return dedup_error_set(err, DEDUP_ENOMEM, "cannot store %zu tokens",
			       out->n + 1);
}

/* Flags that depend on the characters of the word as written. */
static uint32_t word_flags(struct dedup_tokenizer *tk, const char *text,
			   size_t start, size_t end)
{
	const uint8_t *s = (const uint8_t *)text;
	uint32_t flags = 0;
	size_t i = start;
	int first = 1;
	UChar32 c;

	while (i < end) {
		int8_t type;

		U8_NEXT(s, i, end, c);
		if (c < 0)
			c = 0xFFFD;
		type = u_charType(c);
		if (first && (type == U_UPPERCASE_LETTER ||
			      type == U_TITLECASE_LETTER))
			flags |= DEDUP_TOK_UPPER;
		first = 0;
		if (type == U_DECIMAL_DIGIT_NUMBER)
			flags |= DEDUP_TOK_NUMBER;
		if (uset_contains(tk->ideo, c))
			flags |= DEDUP_TOK_IDEO;
	}
	return flags;
}

dedup_status tok_icu_range(struct dedup_tokenizer *tk, const char *text,
			   size_t base, size_t end, struct dedup_tokens *out,
			   struct tok_state *ts, struct dedup_error *err)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t b, e;
	dedup_status ret;

	if (end - base > TOK_ICU_MAX)
		return dedup_error_set(err, DEDUP_ENOMEM,
				       "text run of %zu bytes is too long for "
				       "the word break iterator", end - base);
	tk->ut = utext_openUTF8(tk->ut, text + base, (int64_t)(end - base),
				&st);
	if (U_FAILURE(st))
		return icu_error(err, "open the text", st);
	ubrk_setUText(tk->bi, tk->ut, &st);
	if (U_FAILURE(st))
		return icu_error(err, "set the text of the break iterator", st);
	b = ubrk_first(tk->bi);
	for (e = ubrk_next(tk->bi); e != UBRK_DONE;
	     b = e, e = ubrk_next(tk->bi)) {
		size_t ws = base + (size_t)b, we = base + (size_t)e;
		size_t fold_off = out->text.len;

		if (ubrk_getRuleStatus(tk->bi) < UBRK_WORD_NONE_LIMIT)
			continue;
		ret = dedup_fold(tk, text + ws, we - ws, &out->text, err);
		if (ret)
			return ret;
		ret = tok_emit(out, text, ts, ws, we, fold_off,
			       word_flags(tk, text, ws, we), err);
		if (ret)
			return ret;
	}
	return DEDUP_OK;
}

dedup_status dedup_tokenize_icu(struct dedup_tokenizer *tk, const char *text,
				size_t len, struct dedup_tokens *out,
				struct dedup_error *err)
{
	struct tok_state ts = { 0 };

	tok_reset(out);
	return tok_icu_range(tk, text, 0, len, out, &ts, err);
}
