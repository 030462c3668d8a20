/*
 * strip_words.h - a light word splitter and folder (internal).
 *
 * Used where counting words must not wait for the full ICU tokenizer:
 * stopword lists at load time and line evidence in the stripper. Words are
 * runs of letters, digits and combining marks, joined across an apostrophe
 * or period between letters and across . , between digits, as ICU word
 * boundaries do for ordinary text. The hash equals dedup_token_hash() of the
 * tokenizer's folded form for ordinary words (NFKC, full case folding,
 * typographic apostrophes and dashes unified). No allocation, thread-safe.
 */
#ifndef DEDUP_STRIP_WORDS_H
#define DEDUP_STRIP_WORDS_H

#include <stddef.h>
#include <stdint.h>

#define STRIP_WORD_UPPER  0x1u /* begins with an uppercase letter */
#define STRIP_WORD_NUMBER 0x2u /* contains a digit */
#define STRIP_WORD_ALPHA  0x4u /* contains a letter */

struct strip_word {
	size_t off;     /* byte offset in the text */
	size_t len;     /* bytes */
	unsigned flags; /* STRIP_WORD_* */
	unsigned chars; /* code points */
};

/*
 * Find the next word at or after *pos in s[0..len). Returns 1 and fills w,
 * advancing *pos past it, or 0 when there is none.
 */
int strip_next_word(const char *s, size_t len, size_t *pos,
		    struct strip_word *w);

/*
 * strip_next_word(), and strip_word_hash() of the word into *hash, in one
 * pass for a word of ASCII bytes (most words, even in text with accents
 * and typographic quotes): a table classes its bytes and it is lowercased
 * in a buffer on the stack. A word that touches a character of more than
 * one byte (which may continue it or join it to the next) is left to the
 * two functions.
 */
int strip_next_word_hash(const char *s, size_t len, size_t *pos,
			 struct strip_word *w, uint64_t *hash);

/* Longest line strip_words_hash() splits with bit masks; longer ones are
 * split a word at a time (same words). */
#define STRIP_WORDS_BLOCK_MAX 4096

/*
 * Every word of s[0..len), as strip_next_word_hash() from 0 on would give
 * them, in one call: the hash of each into hash[] and its STRIP_WORD_*
 * flags into flags[], which have room for (len + 1) / 2 words (the most
 * a line can hold). Returns the number of words. For a whole line, this
 * classes its bytes 64 at a time into bit masks and finds the words as
 * runs of bits; words that touch a character of more than one byte are
 * left to strip_next_word() and strip_word_hash().
 */
size_t strip_words_hash(const char *s, size_t len, uint64_t *hash,
			unsigned char *flags);

/* strip_words_hash() with isa 0: eight bytes at a time whatever the CPU
 * has (for tests: the same words). */
size_t strip_words_hash_isa(const char *s, size_t len, uint64_t *hash,
			    unsigned char *flags, int isa);

/*
 * The ASCII word bytes (letters, digits, '_') of s[0..n), n <= 64: bit k
 * for s[k], none past n; into *lead, the first bytes of characters of
 * more than one byte (0xC0 and up), and into *eqm, the bytes equal to
 * one of eq[0..neq).
 */
uint64_t strip_word_bits(const char *s, size_t n, const unsigned char *eq,
			 unsigned neq, uint64_t *lead, uint64_t *eqm);

/* Hash of the folded form of the word at w[0..len) (valid UTF-8). */
uint64_t strip_word_hash(const char *w, size_t len);

/*
 * Fold the word into out (at most cap bytes, not terminated); returns the
 * folded length, or 0 when it does not fit or the word is empty.
 */
size_t strip_word_fold(const char *w, size_t len, char *out, size_t cap);

#endif
