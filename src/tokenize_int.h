/*
 * tokenize_int.h - internals shared by the two tokenizer paths (not API).
 *
 * tokenize.c holds the general path (ICU word breaks, ICU folding) and the
 * token emitter; tokenize_fast.c holds the per-code-point table and the
 * fast path that must reproduce the general path exactly. Both emit
 * tokens through tok_emit() so that flags are computed in one place.
 * The code point table is static, built once, and never freed.
 */
#ifndef DEDUP_TOKENIZE_INT_H
#define DEDUP_TOKENIZE_INT_H

#include <stdint.h>

#include <unicode/ubrk.h>
#include <unicode/unorm2.h>
#include <unicode/uset.h>
#include <unicode/utext.h>

#include "dedup/tokenize.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

/* Fixed so that signatures and indexes stay comparable across runs. */
#define TOK_HASH_SEED 0x6465647570ULL /* "dedup" */

/*
 * dedup_token_hash(), inline: the tokenizer hashes every word it emits.
 * Most words are at most 16 bytes, which XXH3 (the same function since
 * 0.8.0) hashes with a few multiplies, but its public entry point holds
 * the code for every length and the compiler kept it out of line, a call
 * per word. Its short path is called here directly (tests compare the
 * two at every length): the fast path is 5 % faster.
 */
static inline uint64_t tok_hash(const char *folded, size_t len)
{
#if XXH_VERSION_NUMBER >= 800 && XXH_VERSION_NUMBER < 900
	if (len <= 16)
		return XXH3_len_0to16_64b((const xxh_u8 *)folded, len,
					  XXH3_kSecret, TOK_HASH_SEED);
#endif
	return XXH3_64bits_withSeed(folded, len, TOK_HASH_SEED);
}

/*
 * Word-break classes of the fast path. They mirror the sets of ICU's root
 * word rules (ICU 72 word.txt: "@" is an ALetter, ":" is not a MidLetter);
 * TC_FB marks what the fast path leaves to ICU: dictionary scripts, kana,
 * ideographs, ZWJ (emoji sequences), regional indicators, anything beyond
 * the table.
 */
enum tok_class {
	TC_OT,  /* Other: punctuation, symbols, controls */
	TC_AL,  /* ALetter (and "@") */
	TC_HL,  /* Hebrew_Letter */
	TC_NU,  /* Numeric */
	TC_ML,  /* MidLetter */
	TC_MN,  /* MidNum */
	TC_MNL, /* MidNumLet */
	TC_SQ,  /* Single_Quote */
	TC_DQ,  /* Double_Quote */
	TC_ENL, /* ExtendNumLet */
	TC_EXF, /* Extend or Format: glued to the previous character */
	TC_WS,  /* WSegSpace */
	TC_CR,
	TC_LF,
	TC_NL,  /* Newline: VT, FF, NEL, LS, PS */
	TC_HG,  /* Hangul syllable: joins only the next syllable */
	TC_FB,  /* leave to ICU */
	TC_COUNT
};

#define TCP_DIGIT  0x1u /* general category Nd */
#define TCP_UPPER  0x2u /* general category Lu or Lt */
#define TCP_SIMPLE 0x4u /* folds alone: boundary before it, fold fits */

#define TOK_TABLE_LIMIT 0x2500 /* code points covered by the table */
#define TOK_FOLD_MAX 13

struct tok_cp {
	uint8_t cls;   /* enum tok_class */
	uint8_t flags; /* TCP_* */
	uint8_t flen;  /* bytes of fold (TCP_SIMPLE only) */
	char fold[TOK_FOLD_MAX];
};

struct dedup_tokenizer {
	const UNormalizer2 *nfkc_cf;
	UBreakIterator *bi;
	UText *ut;
	USet *ideo;   /* characters that make a word DEDUP_TOK_IDEO */
	UChar *u16;   /* scratch for dedup_fold() */
	UChar *n16;
	int32_t u16_alloc, n16_alloc;
	const struct tok_cp *tab; /* TOK_TABLE_LIMIT entries */
	uint64_t icu_run_bytes;   /* bytes the fast path left to ICU (bench) */
	int fast_ok;              /* the fast path passed its self-test */
};

/* Emission state carried across the pieces of one text. */
struct tok_state {
	size_t prev_end; /* byte after the last emitted word */
};

/* The shared code point table, built on first use. */
dedup_status tok_table_get(const struct tok_cp **tab, struct dedup_error *err);

/*
 * Set tk->tab and tk->fast_ok; the rest of tk must be ready (the self-test
 * compares the fast path with ICU on tricky cases).
 */
dedup_status tok_fast_init(struct dedup_tokenizer *tk,
			   struct dedup_error *err);

/* Reset `out` for a new text. */
void tok_reset(struct dedup_tokens *out);

/*
 * Make room for n more bytes and the NUL without going past b->cap (the
 * caller's size limit); 0 on success.
 */
static inline int tok_room(struct dedup_buf *b, size_t n)
{
	if (b->len + n < b->alloc && (!b->cap || b->len + n <= b->cap))
		return 0;
	return dedup_buf_grow(b, n) ? -1 : 0;
}

/* Whether text[from, to) holds a line end or a sentence end. */
int tok_gap_ends_sentence(const char *text, size_t from, size_t to);

/* Double the token array; DEDUP_ENOMEM with err set on failure. */
dedup_status tok_grow_tokens(struct dedup_tokens *out,
			     struct dedup_error *err);

/*
 * DEDUP_TOK_SENTENCE for a word at `start` when it is the first or the
 * text since the last word holds a line or sentence end, else 0.
 */
static inline uint32_t tok_gap_flag(const struct dedup_tokens *out,
				    const char *text,
				    const struct tok_state *ts, size_t start)
{
	size_t i;

	if (out->n == 0)
		return DEDUP_TOK_SENTENCE;
	for (i = ts->prev_end; i < start; i++) {
		uint8_t b = (uint8_t)text[i];

		if (b >= 0x80)
			return tok_gap_ends_sentence(text, i, start) ?
			       DEDUP_TOK_SENTENCE : 0;
		if (b == '.' || b == '!' || b == '?' ||
		    (b >= '\n' && b <= '\r'))
			return DEDUP_TOK_SENTENCE;
	}
	return 0;
}

/*
 * Finish a word whose folded form was appended to out->text from
 * `fold_off` on: add the NUL, the token and the DEDUP_TOK_SENTENCE flag.
 * A word whose fold is empty is dropped. Inline because the fast path
 * calls it for every word; both paths must use it.
 */
static inline dedup_status tok_emit(struct dedup_tokens *out,
				    const char *text, struct tok_state *ts,
				    size_t start, size_t end, size_t fold_off,
				    uint32_t flags, struct dedup_error *err)
{
	struct dedup_token *t;
	size_t flen = out->text.len - fold_off;

	if (!flen)
		return DEDUP_OK;
	if (out->text.len >= UINT32_MAX || end > UINT32_MAX)
		return dedup_error_set(err, DEDUP_ENOMEM,
				       "tokens exceed the 4 GiB offset limit");
	if (tok_room(&out->text, 1))
		return dedup_error_set(err, DEDUP_ENOMEM,
				       "cannot store the folded words");
	out->text.buf[++out->text.len] = '\0';
	if (out->n == out->alloc && tok_grow_tokens(out, err))
		return DEDUP_ENOMEM;
	flags |= tok_gap_flag(out, text, ts, start);
	t = &out->v[out->n++];
	t->hash = tok_hash(out->text.buf + fold_off, flen);
	t->off = (uint32_t)fold_off;
	t->len = (uint32_t)flen;
	t->src = (uint32_t)start;
	t->flags = flags;
	ts->prev_end = end;
	return DEDUP_OK;
}

/*
 * Tokenize text[base, end) through ICU. The range must begin and end at
 * word boundaries that hold whatever surrounds it (see tokenize_fast.c).
 */
dedup_status tok_icu_range(struct dedup_tokenizer *tk, const char *text,
			   size_t base, size_t end, struct dedup_tokens *out,
			   struct tok_state *ts, struct dedup_error *err);

/* Map the quote and dash variants left by NFKC_Casefold, or return c. */
static inline uint32_t tok_typo_map(uint32_t c)
{
	switch (c) {
	case 0x0060: case 0x02B9: case 0x02BB: case 0x02BC: case 0x02BD:
	case 0x055A: case 0x05F3: case 0x2018: case 0x2019: case 0x201B:
	case 0x2032: case 0x2035: case 0xFF07:
		return '\'';
	case 0x05F4: case 0x201C: case 0x201D: case 0x201E: case 0x201F:
	case 0x2033: case 0x2036: case 0xFF02:
		return '"';
	case 0x058A: case 0x2010: case 0x2011: case 0x2012: case 0x2013:
	case 0x2014: case 0x2015: case 0x2212: case 0x2E17: case 0x2E1A:
	case 0x2E3A: case 0x2E3B: case 0x2E40: case 0xFE58: case 0xFE63:
	case 0xFF0D:
		return '-';
	default:
		return c;
	}
}

#endif
