/*
 * strip_prefilter.h - a literal prefilter for joined rule patterns
 * (internal).
 *
 * A floating pattern such as \b(?:newsletter|subscribe to|...) is tried by
 * PCRE2 from every position of a line, each alternative in turn. When every
 * way into the pattern starts with at least PREFIX_MIN literal bytes, those
 * prefixes (up to PREFIX_MAX bytes each) are hashed into a 64 Kibit bitmap.
 * A match can only start where one of them starts, so the pattern is run
 * anchored at those positions only: a line without any is never given to
 * PCRE2, and the others cost a few anchored attempts instead of one attempt
 * per position. Hash collisions only add attempts, never lose a match.
 */
#ifndef DEDUP_STRIP_PREFILTER_H
#define DEDUP_STRIP_PREFILTER_H

#include <stddef.h>
#include <stdint.h>

#define PREFILTER_BITS 65536
#define PREFIX_MIN 2
#define PREFIX_MAX 8

/* First bytes searched with memchr() when the prefixes have at most this
 * many distinct ones (markup such as "{{", "<div", "[caption"). */
#define RARE_FIRST 3

/* First bytes of prefixes that may begin anywhere, searched alongside the
 * starts of words (see struct strip_prefilter). */
#define FREE_FIRST 4

/* Prefixes this long or longer are also looked for by their first four
 * bytes, one hashed load per position. */
#define PREFIX_QUAD 4

struct strip_prefilter {
	uint64_t bits[PREFILTER_BITS / 64];  /* hashes of whole prefixes */
	uint64_t pairs[65536 / 64];          /* their first two bytes, exact */
	uint64_t quads[65536 / 64];          /* hashes of their first four */
	uint32_t lengths; /* bit n: some prefix has n bytes */
	/*
	 * A prefix that begins with a word character after a \b (or a
	 * lookbehind of one character that no ASCII word byte passes)
	 * cannot begin right after an ASCII word byte (letter, digit, '_'):
	 * the scans look at the starts of words for those, and at the
	 * bytes of free_first for the others, when there are at most
	 * FREE_FIRST of these. free_start: there are more (every position
	 * is scanned).
	 */
	unsigned char free_first[FREE_FIRST];
	unsigned nfree_first;
	int free_start;
	unsigned nfirst;  /* distinct first bytes, up to RARE_FIRST + 1 */
	unsigned char first[RARE_FIRST];     /* them, when that few */
};

/*
 * Add the literal prefixes of the exact (case-sensitive) PCRE2 pattern
 * src[0..len) to pf. Returns 0, or -1 when some match of the pattern may
 * start with fewer than PREFIX_MIN literal bytes (the filter is then
 * unusable).
 */
int strip_prefilter_add(struct strip_prefilter *pf, const char *src,
			size_t len);

/*
 * Call fn for each literal prefix (1 to PREFIX_MAX bytes) that a match of
 * the exact pattern src[0..len), tried at the start of a text only, must
 * begin with: a leading '^' takes no text. Returns 0, or -1 when some
 * match may begin with no literal byte (fn may have been called: ignore
 * what it got).
 */
int strip_prefixes(const char *src, size_t len,
		   void (*fn)(void *ctx, const unsigned char *t, int n),
		   void *ctx);

/*
 * The first position at or after `start` in s[0..len) that begins with a
 * prefix of the set (where a match may start), or (size_t)-1.
 */
size_t strip_prefilter_next(const struct strip_prefilter *pf, const char *s,
			    size_t len, size_t start);

/*
 * Several alternations run on the same text (the floating line, tail and
 * embed rules of each length limit, on a segment) can share one scan when
 * each looks for its prefixes by their first four bytes alone: a set holds
 * the union of their tables, strip_prefilter_scan() lists the positions
 * of a text that hit it, and each filter then tests only those.
 */
struct strip_prefilter_set {
	uint64_t quads[65536 / 64];
	/* the union of its filters' */
	unsigned char free_first[FREE_FIRST];
	unsigned nfree_first;
	int free_start;
};

/* Whether pf looks for every prefix by its first four bytes (it may then
 * join a set). */
int strip_prefilter_quad_only(const struct strip_prefilter *pf);

/* Add pf (quad only) to the set. */
void strip_prefilter_set_add(struct strip_prefilter_set *set,
			     const struct strip_prefilter *pf);

/*
 * The positions of s[0..len) whose four bytes hit the set, ascending, into
 * pos[0..cap); returns their number, or cap + 1 when there are more.
 */
size_t strip_prefilter_scan(const struct strip_prefilter_set *set,
			    const char *s, size_t len, uint32_t *pos,
			    size_t cap);

/*
 * strip_prefilter_next() of a filter of the set, from the npos positions
 * strip_prefilter_scan() listed for the same text: the same answer.
 */
size_t strip_prefilter_next_in(const struct strip_prefilter *pf,
			       const char *s, size_t len, size_t start,
			       const uint32_t *pos, size_t npos);

#endif
