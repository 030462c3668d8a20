/*
 * stopwords.h - built-in stopword lists for the major news languages.
 *
 * The lists live in data/stopwords/LANG.txt (one folded word per line,
 * `#` comments) and are compiled into the library. Words are looked up by
 * dedup_token_hash() of their folded form, as produced by the tokenizer.
 * The table is immutable after creation and may be shared by threads.
 */
#ifndef DEDUP_STOPWORDS_H
#define DEDUP_STOPWORDS_H

#include "dedup/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dedup_tokens;
struct dedup_stopwords;

#define DEDUP_LANG_NONE (-1)

/* Load every built-in list. */
dedup_status dedup_stopwords_new(struct dedup_stopwords **out,
				 struct dedup_error *err);
void dedup_stopwords_free(struct dedup_stopwords *sw);

/* Number of languages and the ISO 639-1 code of language i ("en"). */
int dedup_stopwords_nlangs(const struct dedup_stopwords *sw);
const char *dedup_stopwords_code(const struct dedup_stopwords *sw, int lang);

/* Index of the language with ISO 639-1 code `code`, or DEDUP_LANG_NONE. */
int dedup_stopwords_find(const struct dedup_stopwords *sw, const char *code);

/* Bit i set when the word is a stopword of language i (0: none). */
uint32_t dedup_stopwords_langs(const struct dedup_stopwords *sw,
			       uint64_t hash);

/* 1 if the word is a stopword of `lang` (DEDUP_LANG_NONE: of any). */
int dedup_stopwords_is(const struct dedup_stopwords *sw, int lang,
		       uint64_t hash);

/*
 * The language whose stopwords cover most of the tokens, or
 * DEDUP_LANG_NONE when fewer than a few tokens are stopwords of any list.
 */
int dedup_stopwords_detect(const struct dedup_stopwords *sw,
			   const struct dedup_tokens *toks);

/* Same as dedup_stopwords_detect() over `n` folded-word hashes. */
int dedup_stopwords_detect_hashes(const struct dedup_stopwords *sw,
				  const uint64_t *hashes, size_t n);

/* Same over `n` words' dedup_stopwords_langs() already looked up. */
int dedup_stopwords_detect_langs(const struct dedup_stopwords *sw,
				 const uint32_t *langs, size_t n);

#ifdef __cplusplus
}
#endif
#endif
