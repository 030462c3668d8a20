/*
 * strip_gate.h - cheap necessary conditions of anchored rules (internal).
 *
 * An anchored rule is tried once per segment, and fails on almost every
 * one, yet a PCRE2 call costs hundreds of cycles even then. Each
 * alternative of such a rule gets a gate, found in its pattern when the
 * rules are loaded: the literal prefixes its matches begin with (as the
 * prefilter's walk finds them) and characters its matches must contain,
 * wherever they are ("\d", ":", "(@"). A segment runs the rule only when
 * some alternative's gate passes. A gate never rejects a text the
 * alternative matches; what the analysis does not understand gives no
 * condition. Immutable once built, owned by the rule set.
 */
#ifndef DEDUP_STRIP_GATE_H
#define DEDUP_STRIP_GATE_H

#include <stddef.h>
#include <stdint.h>

#define GATE_NONASCII 0x1u /* some character of 0x80 and above */
#define GATE_NDIGIT 0x2u   /* some character of 0x80 and above that may be
			      a decimal digit (\d) */

/* Characters present in a text, or characters a match must contain one
 * of: ASCII by bit, the others by the GATE_* classes. */
struct gate_chars {
	uint64_t ascii[2];
	unsigned extra;
};

#define GATE_MAX_REQ 3       /* conditions kept per alternative */
#define GATE_MAX_PREFIX 96   /* literal prefixes kept per alternative */

struct gate_alt {
	unsigned nreq;
	struct gate_chars req[GATE_MAX_REQ]; /* each must be in the text */
	/*
	 * Each requirement's ASCII bytes by row (high nibble, 0 to 7) and
	 * column (low nibble): bit r of rlo[k][c] for byte 16r + c. A
	 * byte's membership is then two table lookups, 32 bytes at a time.
	 */
	unsigned char rlo[GATE_MAX_REQ][16];
	unsigned nprefix;   /* 0: no prefix condition */
	uint64_t first[4];  /* first bytes of the prefixes */
	uint64_t pval[GATE_MAX_PREFIX], pmask[GATE_MAX_PREFIX];
	unsigned char plen[GATE_MAX_PREFIX];
	unsigned char pfirst[GATE_MAX_PREFIX]; /* first byte, folded */
	unsigned char bucket[257]; /* prefixes of first byte b: [b, b + 1) */
	/*
	 * Without prefixes, the first two bytes a match of the alternative
	 * alone can begin with (set by the rule set, as for struct
	 * join_member; NULL: not known), in first[] and second[b0].
	 */
	uint64_t (*second)[2];
	size_t off, len;    /* the alternative in the pattern given */
};

struct strip_gate {
	struct gate_alt *alt;
	size_t nalt;        /* 0: no gate, every text passes */
	int fold;           /* prefixes compare with ASCII-lowercased text */
};

/*
 * Whether the first two bytes of t[0..len) (len > 0) are among those a
 * match can begin with: first[b0 / 64] bit b0, then second[b0][b1 / 64]
 * bit b1 for ASCII b0 and b1 (other bytes always pass).
 */
static inline int gate_first_two(const uint64_t first[4],
				 const uint64_t (*second)[2], const char *t,
				 size_t len)
{
	unsigned char b0 = (unsigned char)t[0];
	unsigned char b1 = len > 1 ? (unsigned char)t[1] : 0;

	if (!(first[b0 / 64] >> (b0 % 64) & 1u))
		return 0;
	return len < 2 || b0 >= 0x80 || b1 >= 0x80 ||
	       (second[b0][b1 / 64] >> (b1 % 64) & 1u);
}

/*
 * Build the gate of the anchored pattern src[0..len), run on text as it
 * is when !caseless. caseless: the pattern runs caseless (fold, with a
 * "(?i)" prefix in src) or exactly on a lowercased copy of the text
 * (!fold): required characters are then looked for in either case.
 * Without memory, or for a pattern it cannot read, the gate is empty.
 */
void strip_gate_build(struct strip_gate *g, const char *src, size_t len,
		      int caseless, int fold);
void strip_gate_release(struct strip_gate *g);

/* Once the first bytes of alternatives are set: drop a gate that has an
 * alternative without any condition (it would pass every text). */
void strip_gate_settle(struct strip_gate *g);

/* The characters of t[0..len) (any text; bytes not valid UTF-8 count as
 * non-ASCII). */
void strip_gate_chars(const char *t, size_t len, struct gate_chars *c);

/*
 * Whether the rule may match t[0..len) (the text it runs on: lowercased
 * when it runs so), whose original has the characters c.
 */
int strip_gate_pass(const struct strip_gate *g, const char *t, size_t len,
		    const struct gate_chars *c);

/* The same for alternative i alone. */
int strip_gate_alt_pass(const struct strip_gate *g, size_t i,
			const char *t, size_t len, const struct gate_chars *c);

/*
 * strip_gate_alt_pass() in two halves: the tests of the first bytes and
 * prefixes, and those of the characters (the stripper asks the text
 * itself with strip_gate_alt_has(), only for an alternative whose start
 * passes and that requires some, alt[i].nreq).
 */
int strip_gate_alt_start(const struct strip_gate *g, size_t i,
			 const char *t, size_t len);
int strip_gate_alt_chars(const struct strip_gate *g, size_t i,
			 const struct gate_chars *c);

/*
 * strip_gate_alt_chars() of the characters of t[0..len) without
 * collecting them: each requirement looked for in the text, as far as
 * its first character found. Most are letters that any sentence holds
 * within a few bytes; the others (digits, ":", "(@") are sought 32
 * bytes at a time.
 */
int strip_gate_alt_has(const struct strip_gate *g, size_t i, const char *t,
		       size_t len);

/*
 * Whether alternative i may pass strip_gate_alt_pass() on some text that
 * begins with byte b0: 0 only when its first byte rules every such text
 * out (for the tables of struct rule_join).
 */
int strip_gate_alt_first(const struct strip_gate *g, size_t i,
			 unsigned char b0);

/*
 * The ASCII bytes b1 (bit b1 of mask[b1 / 64]) such that alternative i may
 * pass strip_gate_alt_start() on some text of two bytes or more that
 * begins with the ASCII byte b0 and then b1.
 */
void strip_gate_alt_second(const struct strip_gate *g, size_t i,
			   unsigned char b0, uint64_t mask[2]);

#endif
