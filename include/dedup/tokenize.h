/*
 * tokenize.h - stage 3a: split repaired text into folded word tokens.
 *
 * Words are found with ICU word boundaries (dictionary segmentation for
 * scripts written without spaces); punctuation and spaces are dropped.
 * Each word is folded for matching only: NFKC, full case folding, and the
 * typographic variants of apostrophes, quotes, hyphens and dashes unified,
 * so that a repaired copy and a clean copy of one article give identical
 * tokens. A fast path handles text in common scripts without the general
 * machinery and must give exactly the same tokens.
 *
 * A struct dedup_tokenizer is per thread; struct dedup_tokens is owned by
 * the caller and reused across documents.
 */
#ifndef DEDUP_TOKENIZE_H
#define DEDUP_TOKENIZE_H

#include "dedup/buf.h"
#include "dedup/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DEDUP_TOK_NUMBER   0x1u /* has a digit */
#define DEDUP_TOK_UPPER    0x2u /* began with an uppercase letter in the text */
#define DEDUP_TOK_SENTENCE 0x4u /* first word of a sentence or line */
#define DEDUP_TOK_IDEO     0x8u /* ideographic / no-space script word */

struct dedup_token {
	uint64_t hash;  /* dedup_token_hash() of the folded form */
	uint32_t off;   /* folded form: tokens->text.buf + off, len bytes */
	uint32_t len;
	uint32_t src;   /* byte offset of the word in the input text */
	uint32_t flags; /* DEDUP_TOK_* */
};

struct dedup_tokens {
	struct dedup_token *v;
	size_t n, alloc;
	struct dedup_buf text; /* folded forms, NUL-separated */
};

void dedup_tokens_init(struct dedup_tokens *t);
void dedup_tokens_release(struct dedup_tokens *t);

/* The hash every module uses for a folded token (XXH3, fixed seed). */
uint64_t dedup_token_hash(const char *folded, size_t len);

struct dedup_tokenizer;

dedup_status dedup_tokenizer_new(struct dedup_tokenizer **out,
				 struct dedup_error *err);
void dedup_tokenizer_free(struct dedup_tokenizer *tk);

/*
 * Tokenize `len` bytes of valid UTF-8 into `out` (reset first). Returns
 * DEDUP_OK, DEDUP_ENOMEM, or DEDUP_EICU.
 */
dedup_status dedup_tokenize(struct dedup_tokenizer *tk, const char *text,
			    size_t len, struct dedup_tokens *out,
			    struct dedup_error *err);

/* Same result as dedup_tokenize(), always through ICU (for tests/bench). */
dedup_status dedup_tokenize_icu(struct dedup_tokenizer *tk, const char *text,
				size_t len, struct dedup_tokens *out,
				struct dedup_error *err);

/* Fold one word (NFKC, case fold, quote/dash variants) into out (appended). */
dedup_status dedup_fold(struct dedup_tokenizer *tk, const char *word,
			size_t len, struct dedup_buf *out,
			struct dedup_error *err);

#ifdef __cplusplus
}
#endif
#endif
