/*
 * repair_int.h - internal helpers of the repair stage (not public API).
 */
#ifndef DEDUP_REPAIR_INT_H
#define DEDUP_REPAIR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The code point of the HTML named character reference `name` (`len` bytes,
 * without '&' and ';'), or 0 when it is not one we resolve.
 */
uint32_t repair_entity_lookup(const char *name, size_t len);

/* Character classes for the badness score. */
enum kind {
	K_ASCII, /* ASCII but not a letter: spaces, digits, punctuation */
	K_LET,   /* a letter */
	K_C1,    /* C1 control */
	K_SYM,   /* a symbol of some code page's upper half */
	K_QUOTE, /* quotes, dashes, ellipsis */
	K_NBSP,
	K_MARK,  /* combining mark */
	K_OTHER, /* anything else: emoji, CJK punctuation, U+FFFD... */
};

enum { S_LATIN = 1, S_GREEK, S_CYRILLIC, S_CJK, S_OTHER = 100 };

struct ccls {
	uint32_t c;
	uint8_t kind;
	bool ascii, upper, lower;
	bool marker; /* Latin-1 capital: the lead of most 1252 mojibake */
	bool box;    /* box drawing or block: comes in runs */
	int script;
};

/* Class of code point c (any value, also past U+10FFFF) into *k. */
void repair_classify(uint32_t c, struct ccls *k);

/* How implausible the pair "a b" is in real text (ftfy's idea): 0..2. */
int repair_pair_bad(const struct ccls *a, const struct ccls *b);

/*
 * Penalty for a character that a repair would produce: -1 when it must
 * never be produced (controls, unassigned, private use), more the rarer
 * the block is in news text. `prev` is the character before it.
 */
int repair_unlikely(uint32_t d, uint32_t prev);

/*
 * A quick guess of the 8-bit code page of `len` bytes that are not UTF-8:
 * its ICU name ("windows-1251"...), or NULL when the bytes do not decide
 * it clearly (then ask ICU's charset detection). Thread-safe.
 */
const char *repair_detect_8bit(const char *in, size_t len);

/*
 * What ICU's converter `name` makes of each byte 0x80-0xFF alone:
 * out[b - 0x80] is its code point, or 0 where the code page leaves the
 * byte undefined (ICU fails, or gives U+FFFD or the substitute 0x1A).
 * -1 when ICU has no such converter (*err says why).
 */
int repair_high_bytes(const char *name, uint32_t out[128], int *err);

#endif
