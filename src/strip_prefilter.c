/*
 * strip_prefilter.c - leading-trigram prefilter for joined rule patterns.
 *
 * The pattern is walked like a small regex parser that knows literals,
 * escaped punctuation, \b, lookarounds (skipped: they take no text),
 * non-capturing groups with alternatives and the quantifiers ? * + {..}. Each way into the pattern gives the literal
 * bytes it must start with, up to PREFIX_MAX; anything else (a class, a
 * dot, a property, a lookaround, an option setting) ends the prefix there,
 * and a prefix shorter than PREFIX_MIN makes the pattern unfilterable.
 */
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "strip_prefilter.h"
#include "strip_rules.h"
#include "strip_words.h"

#define MAX_DEPTH 64
#define MAX_PATTERN (1 << 16)

/* The hash of a prefix, built one byte at a time as the filter scans. */
static uint32_t step(uint32_t h, unsigned char c)
{
	return (h ^ c) * 16777619u;
}

static unsigned bit_of(uint32_t h)
{
	return (h ^ h >> 16) & (PREFILTER_BITS - 1);
}

/*
 * The hash of four bytes at t, read as one little-endian word: most
 * positions of a text fail this one test when every prefix is that long.
 */
static unsigned quad_of(const unsigned char *t)
{
	uint32_t x = (uint32_t)t[0] | (uint32_t)t[1] << 8 |
		     (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;

	return (unsigned)((x * 2654435761u) >> 16);
}

static int is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* Add byte c to a list of free first bytes, or set *free when full. */
static void add_free_first(unsigned char *first, unsigned *n, int *free,
			   unsigned char c)
{
	unsigned k;

	for (k = 0; k < *n; k++)
		if (first[k] == c)
			return;
	if (*n == FREE_FIRST)
		*free = 1;
	else
		first[(*n)++] = c;
}

/*
 * Record a prefix of n bytes (PREFIX_MIN <= n <= PREFIX_MAX); word: a \b
 * comes before it and its first character is a word character (to \b,
 * under the rules' options), so that a match that begins with it cannot
 * follow an ASCII word byte (one to \b with or without PCRE2_UCP).
 */
static void set_prefix(struct strip_prefilter *pf, const unsigned char *t,
		       int n, int word)
{
	uint32_t h = 2166136261u;
	unsigned k;
	int i;

	if (!word)
		add_free_first(pf->free_first, &pf->nfree_first,
			       &pf->free_start, t[0]);

	for (i = 0; i < n; i++)
		h = step(h, t[i]);
	k = bit_of(h);
	pf->bits[k / 64] |= 1ull << (k % 64);
	k = (unsigned)t[0] << 8 | t[1];
	pf->pairs[k / 64] |= 1ull << (k % 64);
	if (n >= PREFIX_QUAD) {
		k = quad_of(t);
		pf->quads[k / 64] |= 1ull << (k % 64);
	}
	pf->lengths |= 1u << n;
	for (k = 0; k < pf->nfirst && k < RARE_FIRST; k++)
		if (pf->first[k] == t[0])
			return;
	if (pf->nfirst < RARE_FIRST)
		pf->first[pf->nfirst] = t[0];
	if (pf->nfirst <= RARE_FIRST)
		pf->nfirst++;
}


/* End of the group whose body starts at i (just past "(" or "(?:"). */
static size_t group_end(const char *s, size_t n, size_t i)
{
	int depth = 1, in_class = 0;

	while (i < n) {
		char c = s[i];

		if (c == '\\') {
			i += 2;
			continue;
		}
		if (in_class) {
			if (c == ']')
				in_class = 0;
		} else if (c == '[') {
			in_class = 1;
			if (i + 1 < n && s[i + 1] == ']')
				i++;
		} else if (c == '(') {
			depth++;
		} else if (c == ')' && --depth == 0) {
			return i;
		}
		i++;
	}
	return (size_t)-1;
}

/*
 * Length of a quantifier at i (0 if none); *optional when it allows zero
 * times, *repeat when it allows more than once.
 */
static size_t quantifier(const char *s, size_t n, size_t i, int *optional,
			 int *repeat)
{
	size_t j;

	*optional = 0;
	*repeat = 1;
	if (i >= n)
		return 0;
	if (s[i] == '?') {
		*optional = 1;
		*repeat = 0;
		j = i + 1;
	} else if (s[i] == '*') {
		*optional = 1;
		j = i + 1;
	} else if (s[i] == '+') {
		j = i + 1;
	} else if (s[i] == '{') {
		j = i + 1;
		if (j >= n || s[j] < '0' || s[j] > '9')
			return 0; /* a literal '{' */
		*optional = s[j] == '0';
		while (j < n && s[j] != '}')
			j++;
		if (j == n)
			return 0;
		/* {0,1} and {1} take the item at most once */
		*repeat = !(j - i == 4 && !memcmp(s + i, "{0,1}", 5)) &&
			  !(j - i == 2 && s[i + 1] == '1');
		j++;
	} else {
		return 0;
	}
	/* lazy or possessive suffix */
	if (j < n && (s[j] == '?' || s[j] == '+'))
		j++;
	return j - i;
}

/*
 * A walk hands each prefix to fn. min: the shortest prefix of use (a
 * shorter one fails the walk); anchored: a '^' before the first literal
 * takes no text (the pattern is tried at the start of the text only).
 */
struct walk {
	void (*fn)(void *ctx, const unsigned char *t, int n);
	void *ctx;
	int min;
	int anchored;
	int failed;
	/* the way being walked took a \b before its first literal byte
	 * (kept by walk_seq() for the ways it starts) */
	int bound;
};

/* A branch's literal prefix ends here: usable when long enough. */
static int end_prefix(struct walk *w, const unsigned char *t, int n)
{
	if (n < w->min)
		return -1;
	w->fn(w->ctx, t, n);
	return 0;
}

static void walk(struct walk *w, const char *s, size_t n,
		 unsigned char *acc, int accn, int depth);
static void walk_seq(struct walk *w, const char *s, size_t n,
		     unsigned char *acc, int accn, int depth);

/* Walk `a` (an alternative) followed by `rest`. */
static void walk_join(struct walk *w, const char *a, size_t an,
		      const char *rest, size_t rn, unsigned char *acc,
		      int accn, int depth)
{
	char *buf;

	if (an + rn > MAX_PATTERN) {
		w->failed = 1;
		return;
	}
	buf = malloc(an + rn + 1);
	if (!buf) {
		w->failed = 1;
		return;
	}
	memcpy(buf, a, an);
	memcpy(buf + an, rest, rn);
	walk(w, buf, an + rn, acc, accn, depth + 1);
	free(buf);
}

/*
 * Whether the lookbehind src[0..n) ("(?<=...)") looks back one character
 * and fails after every ASCII word byte: then, like \b before a word
 * character, it lets no match start right after one. Asked of PCRE2.
 */
static int behind_no_word(const char *src, size_t n)
{
	pcre2_match_data *md = NULL;
	uint32_t back = 0;
	int ec, rc = 0;
	PCRE2_SIZE eo;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)src, n,
					 RULE_COMPILE_OPTS, &ec, &eo, NULL);
	unsigned c;

	if (!code || pcre2_pattern_info(code, PCRE2_INFO_MAXLOOKBEHIND,
					&back) || back != 1)
		goto out;
	md = pcre2_match_data_create_from_pattern(code, NULL);
	if (!md)
		goto out;
	for (c = 0; c < 0x80; c++) {
		unsigned char t = (unsigned char)c;

		if (!is_word_byte(t))
			continue;
		/* the empty text after c */
		if (pcre2_match(code, &t, 1, 1, PCRE2_ANCHORED, md,
				NULL) >= 0)
			goto out;
	}
	rc = 1;
out:
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	return rc;
}

/* Walk a sequence without top-level '|'. */
static void walk_seq_in(struct walk *w, const char *s, size_t n,
			unsigned char *acc, int accn, int depth)
{
	size_t i = 0;

	while (!w->failed) {
		size_t clen, q, body, end, k, alt;
		int opt, rep;
		unsigned char c;

		if (accn == PREFIX_MAX) {
			w->fn(w->ctx, acc, accn);
			return;
		}
		if (i >= n) {
			if (end_prefix(w, acc, accn))
				w->failed = 1;
			return;
		}
		c = (unsigned char)s[i];
		if (c == '\\') {
			if (i + 1 >= n) {
				w->failed = 1;
				return;
			}
			c = (unsigned char)s[i + 1];
			if (c == 'b') {
				if (!accn)
					w->bound = 1;
				i += 2;
				continue;
			}
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9')) {
				if (end_prefix(w, acc, accn))
					w->failed = 1;
				return;
			}
			i += 1; /* escaped punctuation: a literal */
			clen = 1;
		} else if (c == '(') {
			if (i + 2 < n && s[i + 1] == '?' &&
			    (s[i + 2] == '=' || s[i + 2] == '!' ||
			     (s[i + 2] == '<' && i + 3 < n &&
			      (s[i + 3] == '=' || s[i + 3] == '!')))) {
				/* a lookaround takes no text: skip it */
				end = group_end(s, n, i + 3);
				if (end == (size_t)-1) {
					w->failed = 1;
					return;
				}
				if (!accn && s[i + 2] == '<' && s[i + 3] == '=' &&
				    behind_no_word(s + i, end + 1 - i))
					w->bound = 1;
				i = end + 1;
				continue;
			}
			if (i + 2 < n && s[i + 1] == '?' && s[i + 2] == ':')
				body = i + 3;
			else if (i + 1 < n && s[i + 1] != '?' &&
				 s[i + 1] != '*')
				body = i + 1;
			else {
				if (end_prefix(w, acc, accn))
					w->failed = 1;
				return;
			}
			end = group_end(s, n, body);
			if (end == (size_t)-1) {
				w->failed = 1;
				return;
			}
			q = quantifier(s, n, end + 1, &opt, &rep);
			if (opt)
				walk_seq(w, s + end + 1 + q, n - end - 1 - q,
					 acc, accn, depth + 1);
			/* each alternative, then what follows the group
			 * (nothing after a repeat: it may come again) */
			for (k = alt = body; k <= end && !w->failed; k++) {
				size_t e = k;

				if (k < end && s[k] == '\\') {
					k++;
					continue;
				}
				if (k < end && s[k] == '[') {
					/* skip the class */
					size_t m = k + 1;

					if (m < end && s[m] == ']')
						m++;
					while (m < end && s[m] != ']') {
						if (s[m] == '\\')
							m++;
						m++;
					}
					k = m;
					continue;
				}
				if (k < end && s[k] == '(') {
					size_t g = group_end(s, end, k + 1);

					if (g == (size_t)-1) {
						w->failed = 1;
						return;
					}
					k = g;
					continue;
				}
				if (k < end && s[k] != '|')
					continue;
				walk_join(w, s + alt, e - alt,
					  rep && q ? "" : s + end + 1 + q,
					  rep && q ? 0 : n - end - 1 - q, acc,
					  accn, depth);
				alt = k + 1;
			}
			return;
		} else if (c == '^' && w->anchored && !accn) {
			i++;
			continue;
		} else if (c == '[' || c == '.' || c == '^' || c == '$' ||
			   c == ')' || c == '|') {
			if (end_prefix(w, acc, accn))
				w->failed = 1;
			return;
		} else {
			/* one UTF-8 character */
			clen = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
			if (i + clen > n) {
				w->failed = 1;
				return;
			}
		}
		q = quantifier(s, n, i + clen, &opt, &rep);
		if (opt) /* without the character */
			walk_seq(w, s + i + clen + q, n - i - clen - q, acc,
				 accn, depth + 1);
		for (k = 0; k < clen && accn < PREFIX_MAX; k++)
			acc[accn++] = (unsigned char)s[i + k];
		if (q && rep) {
			/* a repeat: what follows is not known */
			if (end_prefix(w, acc, accn))
				w->failed = 1;
			return;
		}
		i += clen + q;
	}
}

/* walk_seq_in(), the ways it walks into keeping what they found of \b to
 * themselves */
static void walk_seq(struct walk *w, const char *s, size_t n,
		     unsigned char *acc, int accn, int depth)
{
	int bound = w->bound;

	walk_seq_in(w, s, n, acc, accn, depth);
	w->bound = bound;
}

static void walk(struct walk *w, const char *s, size_t n,
		 unsigned char *acc, int accn, int depth)
{
	size_t i, a = 0, g;

	if (depth > MAX_DEPTH) {
		w->failed = 1;
		return;
	}
	/* split at top-level '|' */
	for (i = 0; i <= n && !w->failed; i++) {
		unsigned char copy[PREFIX_MAX];

		if (i < n && s[i] == '\\') {
			i++;
			continue;
		}
		if (i < n && s[i] == '[') {
			size_t m = i + 1;

			if (m < n && s[m] == ']')
				m++;
			while (m < n && s[m] != ']') {
				if (s[m] == '\\')
					m++;
				m++;
			}
			i = m;
			continue;
		}
		if (i < n && s[i] == '(') {
			g = group_end(s, n, i + 1);
			if (g == (size_t)-1) {
				w->failed = 1;
				return;
			}
			i = g;
			continue;
		}
		if (i < n && s[i] != '|')
			continue;
		memcpy(copy, acc, PREFIX_MAX);
		walk_seq(w, s + a, i - a, copy, accn, depth);
		a = i + 1;
	}
}

struct add_ctx {
	struct strip_prefilter *pf;
	const struct walk *w;
	pcre2_code *word;        /* \w at the start; NULL without memory */
	pcre2_match_data *md;
};

/* Whether t[0..n) begins with a whole word character, as the rules'
 * patterns see one. */
static int word_first(struct add_ctx *a, const unsigned char *t, int n)
{
	int clen = t[0] < 0x80 ? 1 : t[0] < 0xE0 ? 2 : t[0] < 0xF0 ? 3 : 4;

	if (t[0] < 0x80)
		return is_word_byte(t[0]);
	if (!a->word || !a->md || clen > n)
		return 0;
	return pcre2_match(a->word, t, (PCRE2_SIZE)clen, 0, 0, a->md,
			   NULL) > 0;
}

static void add_prefix(void *ctx, const unsigned char *t, int n)
{
	struct add_ctx *a = ctx;

	set_prefix(a->pf, t, n, a->w->bound && word_first(a, t, n));
}

int strip_prefilter_add(struct strip_prefilter *pf, const char *src,
			size_t len)
{
	struct add_ctx a = { pf, NULL, NULL, NULL };
	struct walk w = { add_prefix, &a, PREFIX_MIN, 0, 0, 0 };
	unsigned char acc[PREFIX_MAX] = { 0 };
	int ec;
	PCRE2_SIZE eo;

	a.w = &w;
	/* without it, every prefix that begins with a longer character
	 * counts as free */
	a.word = pcre2_compile((PCRE2_SPTR) "\\A\\w", PCRE2_ZERO_TERMINATED,
			       RULE_COMPILE_OPTS, &ec, &eo, NULL);
	if (a.word)
		a.md = pcre2_match_data_create_from_pattern(a.word, NULL);
	walk(&w, src, len, acc, 0, 0);
	pcre2_match_data_free(a.md);
	pcre2_code_free(a.word);
	return w.failed ? -1 : 0;
}

int strip_prefixes(const char *src, size_t len,
		   void (*fn)(void *ctx, const unsigned char *t, int n),
		   void *ctx)
{
	struct walk w = { fn, ctx, 1, 1, 0, 0 };
	unsigned char acc[PREFIX_MAX] = { 0 };

	walk(&w, src, len, acc, 0, 0);
	return w.failed ? -1 : 0;
}

/*
 * The first position at or after start that holds one of the few first
 * bytes, or len: memchr() skips the text between them many bytes at a time.
 */
static size_t next_first(const struct strip_prefilter *pf, const char *s,
			 size_t len, size_t start)
{
	size_t best = len;
	unsigned k;

	for (k = 0; k < pf->nfirst && start < best; k++) {
		const char *q = memchr(s + start, pf->first[k], best - start);

		if (q)
			best = (size_t)(q - s);
	}
	return best;
}

/* Whether some prefix of the set begins at p[i] (i + PREFIX_MIN <= len). */
static int prefix_at(const struct strip_prefilter *pf, const unsigned char *p,
		     size_t len, size_t i)
{
	uint32_t h = 2166136261u;
	int n;

	for (n = 1; n <= PREFIX_MAX && i + n <= len; n++) {
		unsigned k;

		h = step(h, p[i + n - 1]);
		if (!(pf->lengths >> n & 1u))
			continue;
		k = bit_of(h);
		if (pf->bits[k / 64] >> (k % 64) & 1u)
			return 1;
	}
	return 0;
}

/*
 * The positions of p[base..len) (base < len) with room for PREFIX_QUAD
 * bytes where a prefix may start: bit k for position base + k. Every one
 * when free; otherwise those that hold one of the free first bytes, and
 * the starts of words: an ASCII word byte or the first byte of a longer
 * character, not after an ASCII word byte.
 */
static uint64_t scan_bits(const unsigned char *p, size_t len, size_t base,
			  const unsigned char *first, unsigned nfirst,
			  int free)
{
	size_t n = len - base < 64 ? len - base : 64;
	uint64_t lead, eq, m = ~0ull;

	if (!free) {
		uint64_t before = base && is_word_byte(p[base - 1]);

		m = strip_word_bits((const char *)p + base, n, first, nfirst,
				    &lead, &eq);
		m = ((m | lead) & ~(m << 1 | before)) | eq;
	}
	if (len - base < 64 + PREFIX_QUAD - 1)
		m &= len - base >= PREFIX_QUAD ?
		     ~0ull >> (64 - (len - base - PREFIX_QUAD + 1)) : 0;
	return m;
}

/* strip_prefilter_next() when every prefix has PREFIX_QUAD bytes or more. */
static size_t next_quad(const struct strip_prefilter *pf,
			const unsigned char *p, size_t len, size_t start)
{
	size_t base;

	for (base = start; base + PREFIX_QUAD <= len; base += 64) {
		uint64_t m = scan_bits(p, len, base, pf->free_first,
				       pf->nfree_first, pf->free_start);

		for (; m; m &= m - 1) {
			size_t i = base + (size_t)__builtin_ctzll(m);
			unsigned k = quad_of(p + i);

			if ((pf->quads[k / 64] >> (k % 64) & 1u) &&
			    prefix_at(pf, p, len, i))
				return i;
		}
	}
	return (size_t)-1;
}

size_t strip_prefilter_next(const struct strip_prefilter *pf, const char *s,
			    size_t len, size_t start)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	if (strip_prefilter_quad_only(pf))
		return next_quad(pf, p, len, start);
	for (i = start; i + PREFIX_MIN <= len; i++) {
		unsigned pair;

		if (pf->nfirst <= RARE_FIRST) {
			i = next_first(pf, s, len, i);
			if (i + PREFIX_MIN > len)
				break;
		}
		pair = (unsigned)p[i] << 8 | p[i + 1];
		/* most positions fail here, with one lookup */
		if (!(pf->pairs[pair / 64] >> (pair % 64) & 1u))
			continue;
		if (prefix_at(pf, p, len, i))
			return i;
	}
	return (size_t)-1;
}
int strip_prefilter_quad_only(const struct strip_prefilter *pf)
{
	return pf->nfirst > RARE_FIRST &&
	       !(pf->lengths & ((1u << PREFIX_QUAD) - 1));
}

void strip_prefilter_set_add(struct strip_prefilter_set *set,
			     const struct strip_prefilter *pf)
{
	size_t i;

	for (i = 0; i < sizeof(set->quads) / sizeof(*set->quads); i++)
		set->quads[i] |= pf->quads[i];
	set->free_start |= pf->free_start;
	for (i = 0; i < pf->nfree_first; i++)
		add_free_first(set->free_first, &set->nfree_first,
			       &set->free_start, pf->free_first[i]);
}

size_t strip_prefilter_scan(const struct strip_prefilter_set *set,
			    const char *s, size_t len, uint32_t *pos,
			    size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t base, n = 0;

	for (base = 0; base + PREFIX_QUAD <= len; base += 64) {
		uint64_t m = scan_bits(p, len, base, set->free_first,
				       set->nfree_first, set->free_start);

		for (; m; m &= m - 1) {
			size_t i = base + (size_t)__builtin_ctzll(m);
			unsigned k = quad_of(p + i);

			if (!(set->quads[k / 64] >> (k % 64) & 1u))
				continue;
			if (n == cap)
				return cap + 1;
			pos[n++] = (uint32_t)i;
		}
	}
	return n;
}

size_t strip_prefilter_next_in(const struct strip_prefilter *pf,
			       const char *s, size_t len, size_t start,
			       const uint32_t *pos, size_t npos)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t j;

	for (j = 0; j < npos; j++) {
		unsigned k;

		if (pos[j] < start)
			continue;
		k = quad_of(p + pos[j]);
		if ((pf->quads[k / 64] >> (k % 64) & 1u) &&
		    prefix_at(pf, p, len, pos[j]))
			return pos[j];
	}
	return (size_t)-1;
}
