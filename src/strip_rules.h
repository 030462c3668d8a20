/*
 * strip_rules.h - compiled boilerplate rules, shared by rules.c and
 * strip.c (internal).
 *
 * Each rule is compiled alone (for its error message, to name the rule that
 * matched, and as a fallback) and the rules of one scope are also joined
 * into alternations, so that a hundred rules cost a few JIT scans of a line
 * rather than a hundred: the rules anchored at the start of the line are
 * tried once per line, the others from each position, and rules with a
 * length limit only on lines short enough (one alternation per anchoring,
 * limit and case handling). After a match of an alternation, its rules are
 * tried alone at the match position, in order, to find the one that matched
 * (matches are rare, scans are not). Rules whose pattern has capture groups
 * stay solo, because joining renumbers their backreferences. Floating
 * alternations are only tried where their literal prefilter finds a prefix
 * (strip_prefilter.h); anchored ones only on lines whose first two bytes
 * some of their rules accept, and then as those rules alone (struct
 * join_member). Everything here is immutable once dedup_rules_add_*()
 * returns and owned by struct dedup_rules.
 */
#ifndef DEDUP_STRIP_RULES_H
#define DEDUP_STRIP_RULES_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "dedup/strip.h"
#include "strip_gate.h"
#include "strip_prefilter.h"

enum rule_scope {
	SCOPE_LINE, /* drop the line (or glued segment) it matches */
	SCOPE_SPAN, /* cut each match out of the line */
	SCOPE_TAIL, /* drop the matching line and everything after it */
	SCOPE_EMBED, /* drop the line and the lines of its paragraph above */
	SCOPE_COUNT
};

struct rule {
	char *name;
	char *origin;   /* file name or "builtin" */
	unsigned line;  /* line of the rule in its origin */
	enum rule_scope scope;
	int solo;       /* not part of the joined pattern */
	int anchored;   /* matches only at the start of the line */
	unsigned maxlen; /* only lines of at most maxlen characters; 0: any */
	/*
	 * Caseless matching costs PCRE2 several times more than exact
	 * matching. A caseless rule whose pattern names no uppercase letter
	 * (and no case-dependent class) also joins an exact alternation run on
	 * a lowercased copy of the line (lowercased character by character,
	 * keeping byte offsets); a hit there is confirmed by the rule itself.
	 */
	int lowered;
	char *lsrc;     /* the pattern without its (?i) prefix */
	/*
	 * The pattern compiled anchored, to name the rule of an alternation
	 * at a match position: PCRE2_ANCHORED given at match time would make
	 * PCRE2 leave the JIT for its interpreter, which checks the UTF-8 of
	 * the rest of the line on every call.
	 */
	pcre2_code *acode;
	char *src;      /* the pattern as compiled, case option included */
	pcre2_code *code;
};

/*
 * A rule of an anchored alternation, with the first two bytes a match of
 * it can begin with (partial matching of every one- and two-byte subject
 * at load time; bytes from 0x80 up always pass). A line whose first bytes
 * no rule accepts skips the alternation; otherwise only the rules that
 * accept them run, alone: one of them matches exactly when the alternation
 * does, and a long alternation tried from its first branch to its last on
 * every line costs many times more than the few rules that can match.
 * Then each member runs only when its gate (strip_gate.h) passes too, and
 * only the alternatives of its pattern whose own gates pass.
 */
struct join_member {
	size_t rule;            /* its index in struct dedup_rules v */
	pcre2_code *code;       /* as in the alternation: anchored, and on
				   lowercased text when the join is lowered */
	pcre2_code *own;        /* code, when compiled for this (lowered) */
	uint64_t first[4];      /* bit b: first byte b may begin a match */
	uint64_t second[128][2]; /* [b0][b1 / 64]: ASCII b0 then ASCII b1 */
	struct strip_gate gate; /* prefixes and characters its matches need */
	/*
	 * Each alternative of gate compiled alone, as code runs (NULL: not
	 * compiled): a text runs only the alternatives whose gates pass.
	 */
	pcre2_code **alt_code;
};

/* A member of an anchored alternation and one of its gated alternatives
 * (JOIN_WHOLE: the member has no gate and runs whole). */
#define JOIN_WHOLE 0xFFFFu

struct join_cand {
	uint16_t member;
	uint16_t alt;
	/*
	 * The ASCII second bytes of a text (of two bytes or more, and the
	 * first byte of this list) that the member's first two bytes and
	 * the alternative's (or its prefixes') allow: bit b1 of
	 * second[b1 / 64]. A test of the entry itself, before the member's
	 * and the gate's own tables, far apart in memory, are read.
	 */
	uint64_t second[2];
};

/* One alternation: the joinable rules of a scope with the same anchoring
 * and length limit. */
struct rule_join {
	pcre2_code *code;
	int anchored;
	unsigned maxlen;
	int lowered;    /* runs on the lowercased line (see struct rule) */
	struct strip_prefilter *filter; /* floating alternations; may be NULL */
	int shared;     /* filter is in the rule set's segment_set */
	pcre2_code *acode;  /* with a filter: compiled anchored, tried at the
			       positions it finds */
	/*
	 * Anchored alternations: the first bytes a match can begin with
	 * (bit b of first[b / 64]), found at load time by partial matching
	 * of every one-byte subject; a line starting with another byte is
	 * never given to PCRE2. Bytes of 0x80 and above always pass.
	 */
	uint64_t first[4];
	int gated;
	struct join_member *member; /* anchored: its rules in order; NULL
				       when they cannot be gated */
	size_t nmember;
	/*
	 * What a text whose first byte is b may run, in member and
	 * alternative order: cand[cand_at[b]] up to cand[cand_at[b + 1]],
	 * the members whose first bytes include b and their alternatives
	 * whose gates do (strip_gate_alt_first()). Most texts begin with a
	 * letter that few alternatives of the dozens of a scope begin
	 * with. NULL with member.
	 */
	struct join_cand *cand;
	uint32_t cand_at[257];
	/*
	 * The rule a lowered alternation's members find is the one its rules
	 * run caseless on the text as it is find (the name a match reports),
	 * when the text is ASCII without these characters: the ASCII bytes
	 * that some character of its patterns matches caselessly without
	 * being their lowercase (s and S for a LONG S; none for the
	 * built-in rules). All bits set when the patterns hold escapes of
	 * code points or ranges of longer characters, which are not looked
	 * into.
	 */
	uint64_t ascii_risk[2];
};

struct rule_group {
	struct rule_join *join;
	size_t njoin;
	size_t *solo;       /* indexes of the solo rules */
	size_t nsolo;
	size_t nrules;      /* rules of this scope, joined or solo */
	uint32_t max_ovec;  /* ovector pairs the scope's patterns need */
};

struct dedup_rules {
	struct rule *v;
	size_t n, alloc;
	struct rule_group group[SCOPE_COUNT];
	uint32_t max_ovec;  /* over all scopes, for the match data */
	/*
	 * The filters of the floating lowered alternations run on each
	 * segment (line, tail and embed scopes), when there are several:
	 * one scan of a segment serves them all (struct rule_join shared).
	 * NULL otherwise.
	 */
	struct strip_prefilter_set *segment_set;
};

/*
 * Whether member m accepts the first bytes of t[0..len) (len > 0): a match
 * of it may begin there. A one-byte line has only its first byte to test.
 */
static inline int member_accepts(const struct join_member *m, const char *t,
				  size_t len)
{
	return gate_first_two(m->first,
			      (const uint64_t (*)[2])m->second, t, len);
}

/*
 * The first-byte tables above are built from subjects of one and two
 * bytes, so a text that begins with a character of two bytes or more
 * passes all of them: every listed alternative of its first byte would
 * run. Whether code (a member or a gated alternative of an anchored
 * alternation) may match some text that begins with the character
 * t[0..n) (whole and valid) is what a partial match of the character
 * alone tells, as first_bytes() in rules.c asks of single bytes: no
 * match even partially, none whatever follows. The stripper keeps the
 * answers (one PCRE2 call per entry and character, not per text).
 */
static inline int join_may_begin_wide(const pcre2_code *code, const char *t,
				      size_t n, pcre2_match_data *md,
				      pcre2_match_context *mctx)
{
	return pcre2_match(code, (PCRE2_SPTR)t, n, 0, PCRE2_PARTIAL_HARD, md,
			   mctx) != PCRE2_ERROR_NOMATCH;
}

/* PCRE2 compile options of every rule. */
#define RULE_COMPILE_OPTS (PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF)

#endif
