/*
 * strip_gate.c - necessary conditions of anchored rules, found in their
 * patterns.
 *
 * The pattern is read with a small recursive parser that knows literals,
 * escapes, classes, groups, lookarounds, alternation and quantifiers, and
 * gives up (no condition) on anything else: \Q, backreferences by name,
 * option settings other than a leading (?i) and (?i: groups, verbs. For
 * each alternative at the top level it keeps the few rarest sets of
 * characters that every match must take one of (a quantifier of at least
 * one repetition, outside negative lookarounds), and the literal prefixes
 * of strip_prefixes().
 */
#include <stdlib.h>
#include <string.h>

#include <unicode/utf8.h>

#include "strip_gate.h"
#include "strip_prefilter.h"

#define MAX_DEPTH 32
#define KEEP 6          /* requirements kept per sequence while parsing */
#define TOO_COMMON 400  /* a set costing this much rejects too little */

struct req_list {
	unsigned n;
	struct gate_chars v[KEEP];
	unsigned cost[KEEP];
};

struct parser {
	const char *s;
	size_t n, i;
	int bad;
};

/*
 * Rough frequency of ASCII characters in text (per mille of English,
 * spaces and punctuation guessed): a set made of rare characters rejects
 * more texts.
 */
static unsigned char_cost(unsigned c)
{
	static const unsigned char lower[26] = {
		65, 12, 22, 35, 100, 18, 16, 50, 60, 2, 6, 33, 20,
		60, 60, 15, 1, 50, 55, 75, 22, 8, 19, 2, 16, 1
	};

	if (c == ' ')
		return 180;
	if (c >= 'a' && c <= 'z')
		return lower[c - 'a'];
	if (c >= 'A' && c <= 'Z')
		return lower[c - 'A'] / 5 + 1;
	if (c >= '0' && c <= '9')
		return 5;
	if (c == '.' || c == ',')
		return 10;
	return 2;
}

static unsigned set_cost(const struct gate_chars *c)
{
	unsigned k, cost = 0;

	for (k = 0; k < 128; k++)
		if (c->ascii[k / 64] >> (k % 64) & 1u)
			cost += char_cost(k);
	if (c->extra & GATE_NONASCII)
		cost += 40;
	else if (c->extra & GATE_NDIGIT)
		cost += 2;
	return cost;
}

static void set_bit(struct gate_chars *c, unsigned b)
{
	c->ascii[b / 64] |= 1ull << (b % 64);
}

static void set_universal(struct gate_chars *c)
{
	c->ascii[0] = c->ascii[1] = ~0ull;
	c->extra = GATE_NONASCII | GATE_NDIGIT;
}

/* One character of the pattern; caseless adds its other ASCII case, and
 * for k and s the signs that match them (KELVIN SIGN, LONG S). */
static void add_char(struct gate_chars *c, uint32_t cp, int caseless)
{
	if (cp >= 0x80) {
		c->extra |= GATE_NONASCII;
		if (caseless && (cp == 0x212A || cp == 0x17F)) {
			set_bit(c, cp == 0x17F ? 's' : 'k');
			set_bit(c, cp == 0x17F ? 'S' : 'K');
		}
		return;
	}
	set_bit(c, cp);
	if (!caseless)
		return;
	if (cp >= 'a' && cp <= 'z')
		set_bit(c, cp - 32);
	else if (cp >= 'A' && cp <= 'Z')
		set_bit(c, cp + 32);
	if (cp == 'k' || cp == 'K' || cp == 's' || cp == 'S')
		c->extra |= GATE_NONASCII;
}

static void add_range(struct gate_chars *c, uint32_t a, uint32_t b,
		      int caseless)
{
	uint32_t k;

	for (k = a; k <= b && k < 0x80; k++)
		add_char(c, k, caseless);
	if (b >= 0x80) {
		c->extra |= GATE_NONASCII | GATE_NDIGIT;
		if (caseless) {
			add_char(c, 's', 1);
			add_char(c, 'k', 1);
		}
	}
}

static void add_digits(struct gate_chars *c)
{
	add_range(c, '0', '9', 0);
	c->extra |= GATE_NDIGIT;
}

/* The next UTF-8 character of the pattern; -1 when not valid. */
static int32_t next_char(struct parser *p)
{
	int32_t i = (int32_t)p->i;
	UChar32 c;

	U8_NEXT(p->s, i, (int32_t)p->n, c);
	p->i = (size_t)i;
	return c;
}

/* The character of a one-letter escape such as \t, or -1. */
static int32_t letter_char(char e)
{
	switch (e) {
	case 't': return '\t';
	case 'n': return '\n';
	case 'r': return '\r';
	case 'f': return '\f';
	case 'e': return 0x1B;
	case 'a': return 0x07;
	default: return -1;
	}
}

/* Skip the digits of \xhh or \x{h...}: the character is not kept. */
static void skip_hex(struct parser *p)
{
	int k;

	if (p->i < p->n && p->s[p->i] == '{') {
		while (p->i < p->n && p->s[p->i] != '}')
			p->i++;
		p->i++;
		return;
	}
	for (k = 0; k < 2 && p->i < p->n &&
	     strchr("0123456789abcdefABCDEF", p->s[p->i]) && p->s[p->i]; k++)
		p->i++;
}

/*
 * The set of an escape after '\' (in a class when in_class). Returns 1
 * for a set, 0 for an assertion that takes no character (outside
 * classes), and sets p->bad for what it does not know.
 */
static int escape_set(struct parser *p, struct gate_chars *c, int caseless,
		      int in_class)
{
	int32_t ch;
	char e;

	if (p->i >= p->n) {
		p->bad = 1;
		return 1;
	}
	e = p->s[p->i];
	if (!((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') ||
	      (e >= '0' && e <= '9'))) {
		ch = next_char(p);
		if (ch < 0)
			p->bad = 1;
		else
			add_char(c, (uint32_t)ch, caseless);
		return 1;
	}
	p->i++;
	if (letter_char(e) >= 0) {
		add_char(c, (uint32_t)letter_char(e), caseless);
		return 1;
	}
	switch (e) {
	case 'd':
		add_digits(c);
		return 1;
	case 's':
		add_char(c, ' ', 0);
		add_range(c, '\t', '\r', 0);
		c->extra |= GATE_NONASCII;
		return 1;
	case 'h':
		add_char(c, ' ', 0);
		add_char(c, '\t', 0);
		c->extra |= GATE_NONASCII;
		return 1;
	case 'v':
		add_range(c, '\n', '\r', 0);
		c->extra |= GATE_NONASCII;
		return 1;
	case 'w':
		add_range(c, '0', '9', 0);
		add_range(c, 'a', 'z', 1);
		add_char(c, '_', 0);
		c->extra |= GATE_NONASCII | GATE_NDIGIT;
		return 1;
	case 'x':
		skip_hex(p);
		set_universal(c);
		return 1;
	case 'p':
		/* \p{L}, \p{Lu}...: letters of every script, ASCII ones
		 * included; other properties: anything */
		if (p->i < p->n && p->s[p->i] == '{') {
			size_t a = p->i + 1, b = a;

			while (b < p->n && p->s[b] != '}')
				b++;
			if (b >= p->n) {
				p->bad = 1;
				return 1;
			}
			p->i = b + 1;
			if (p->s[a] == 'L' && (b - a == 1 || (b - a == 2 &&
			    strchr("ult&", p->s[a + 1])))) {
				add_range(c, 'a', 'z', 1);
				c->extra |= GATE_NONASCII;
				return 1;
			}
			if (p->s[a] == 'N' && (b - a == 1 || (b - a == 2 &&
			    p->s[a + 1] == 'd'))) {
				add_digits(c);
				c->extra |= GATE_NONASCII;
				return 1;
			}
		} else if (p->i < p->n) {
			p->i++;
		}
		set_universal(c);
		return 1;
	case 'D': case 'S': case 'W': case 'H': case 'V': case 'N':
	case 'P': case 'R': case 'X': case 'C':
		if (e == 'P' && p->i < p->n && p->s[p->i] == '{') {
			while (p->i < p->n && p->s[p->i] != '}')
				p->i++;
			p->i++;
		}
		set_universal(c);
		return 1;
	case 'b':
		if (in_class) {
			add_char(c, 0x08, 0);
			return 1;
		}
		return 0;
	case 'B': case 'A': case 'z': case 'Z': case 'G': case 'K':
		if (!in_class)
			return 0;
		/* fall through */
	default:
		p->bad = 1;
		return 1;
	}
}

/*
 * An escape in a class, after '\': the character it stands for, or -2
 * when it added a set of characters to c (-1: not understood).
 */
static int32_t class_escape(struct parser *p, struct gate_chars *c,
			    int caseless)
{
	char e;

	if (p->i >= p->n)
		return -1;
	e = p->s[p->i];
	if (!((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') ||
	      (e >= '0' && e <= '9')))
		return next_char(p);
	p->i++;
	if (letter_char(e) >= 0)
		return letter_char(e);
	switch (e) {
	case 'b':
		return 0x08;
	case 'x':
		skip_hex(p);
		set_universal(c);
		return -2;
	case 'd': case 's': case 'w': case 'h': case 'v': case 'p':
	case 'D': case 'S': case 'W': case 'H': case 'V': case 'P':
		p->i--;
		escape_set(p, c, caseless, 1);
		return p->bad ? -1 : -2;
	default:
		return -1;
	}
}

/* A character class after '['. */
static void class_set(struct parser *p, struct gate_chars *c, int caseless)
{
	struct gate_chars in = { { 0, 0 }, 0 };
	int negate = 0, first = 1;
	int32_t prev = -1;

	if (p->i < p->n && p->s[p->i] == '^') {
		negate = 1;
		p->i++;
	}
	while (!p->bad) {
		int32_t ch;
		int escaped = 0;

		if (p->i >= p->n) {
			p->bad = 1;
			break;
		}
		if (p->s[p->i] == ']' && !first) {
			p->i++;
			break;
		}
		first = 0;
		if (p->s[p->i] == '[' && p->i + 1 < p->n &&
		    strchr(":.=", p->s[p->i + 1])) {
			p->bad = 1; /* POSIX classes */
			break;
		}
		if (p->s[p->i] == '\\') {
			p->i++;
			escaped = 1;
			ch = class_escape(p, &in, caseless);
			if (ch == -2) {
				prev = -1; /* a set such as \d or \p{L} */
				continue;
			}
		} else {
			ch = next_char(p);
		}
		if (ch < 0) {
			p->bad = 1;
			break;
		}
		if (prev >= 0 && ch == '-' && !escaped && p->i < p->n &&
		    p->s[p->i] != ']') {
			int32_t hi;

			if (p->s[p->i] == '\\') {
				p->bad = 1; /* a range to an escape */
				break;
			}
			hi = next_char(p);
			if (hi < prev) {
				p->bad = 1;
				break;
			}
			add_range(&in, (uint32_t)prev, (uint32_t)hi,
				  caseless);
			prev = -1;
			continue;
		}
		add_char(&in, (uint32_t)ch, caseless);
		prev = ch;
	}
	if (negate) {
		c->ascii[0] |= ~in.ascii[0];
		c->ascii[1] |= ~in.ascii[1];
		c->extra |= GATE_NONASCII | GATE_NDIGIT;
	} else {
		c->ascii[0] |= in.ascii[0];
		c->ascii[1] |= in.ascii[1];
		c->extra |= in.extra;
	}
}

/* Keep r if it is among the KEEP rarest of l. */
static void keep_req(struct req_list *l, const struct gate_chars *r)
{
	unsigned cost = set_cost(r), k, worst = 0;

	if (cost >= TOO_COMMON)
		return;
	if (l->n < KEEP) {
		l->v[l->n] = *r;
		l->cost[l->n++] = cost;
		return;
	}
	for (k = 1; k < KEEP; k++)
		if (l->cost[k] > l->cost[worst])
			worst = k;
	if (cost < l->cost[worst]) {
		l->v[worst] = *r;
		l->cost[worst] = cost;
	}
}

static unsigned rarest(const struct req_list *l)
{
	unsigned k, best = 0;

	for (k = 1; k < l->n; k++)
		if (l->cost[k] < l->cost[best])
			best = k;
	return best;
}

static void parse_alt(struct parser *p, struct req_list *out, int caseless,
		      int depth);

/* A quantifier at p->i: its least count (1 when there is none). */
static unsigned quantifier_min(struct parser *p)
{
	unsigned m = 1;

	if (p->i >= p->n)
		return 1;
	switch (p->s[p->i]) {
	case '?': case '*':
		m = 0;
		p->i++;
		break;
	case '+':
		p->i++;
		break;
	case '{': {
		size_t j = p->i + 1;
		unsigned v = 0;

		if (j >= p->n || p->s[j] < '0' || p->s[j] > '9') {
			p->bad = 1; /* a literal '{' or {,n}: versions differ */
			return 0;
		}
		while (j < p->n && p->s[j] >= '0' && p->s[j] <= '9' && v < 1000)
			v = v * 10 + (unsigned)(p->s[j++] - '0');
		if (j < p->n && p->s[j] == ',') {
			j++;
			while (j < p->n && p->s[j] >= '0' && p->s[j] <= '9')
				j++;
		}
		if (j >= p->n || p->s[j] != '}') {
			p->bad = 1;
			return 0;
		}
		p->i = j + 1;
		m = v;
		break;
	}
	default:
		return 1;
	}
	if (p->i < p->n && (p->s[p->i] == '?' || p->s[p->i] == '+'))
		p->i++;
	return m;
}

/* Skip a group's body up to its ')' (escapes and classes respected). */
static void skip_group(struct parser *p)
{
	int depth = 1;

	while (p->i < p->n) {
		char c = p->s[p->i++];

		if (c == '\\') {
			p->i++;
		} else if (c == '[') {
			if (p->i < p->n && p->s[p->i] == '^')
				p->i++;
			if (p->i < p->n && p->s[p->i] == ']')
				p->i++;
			while (p->i < p->n && p->s[p->i] != ']') {
				if (p->s[p->i] == '\\')
					p->i++;
				p->i++;
			}
			p->i++;
		} else if (c == '(') {
			depth++;
		} else if (c == ')' && --depth == 0) {
			return;
		}
	}
	p->bad = 1;
}

/* A group after '(': its requirements into l (when it must match). */
static void parse_group(struct parser *p, struct req_list *l, int caseless,
			int depth)
{
	const char *s = p->s;
	int cl = caseless, look = 0;

	if (p->i < p->n && s[p->i] == '?') {
		size_t j = p->i + 1;

		if (j < p->n && (s[j] == ':' || s[j] == '>' || s[j] == '=')) {
			p->i = j + 1;
		} else if (j < p->n && (s[j] == '!' || (s[j] == '<' &&
			   j + 1 < p->n && (s[j + 1] == '=' ||
					    s[j + 1] == '!')))) {
			look = 1; /* nothing a match must hold */
			p->i = j + 1;
		} else if (j + 1 < p->n && s[j] == 'i' && s[j + 1] == ':') {
			cl = 1;
			p->i = j + 2;
		} else if (j + 2 < p->n && s[j] == '-' && s[j + 1] == 'i' &&
			   s[j + 2] == ':') {
			cl = 0;
			p->i = j + 3;
		} else {
			p->bad = 1;
			return;
		}
	} else if (p->i < p->n && s[p->i] == '*') {
		p->bad = 1;
		return;
	}
	if (look) {
		/* lookbehinds and negative lookaheads: nothing required */
		skip_group(p);
		return;
	}
	parse_alt(p, l, cl, depth + 1);
	if (p->i >= p->n || s[p->i] != ')')
		p->bad = 1;
	else
		p->i++;
}

/* A sequence up to '|', ')' or the end. */
static void parse_seq(struct parser *p, struct req_list *out, int caseless,
		      int depth)
{
	while (!p->bad && p->i < p->n && p->s[p->i] != '|' &&
	       p->s[p->i] != ')') {
		struct gate_chars c = { { 0, 0 }, 0 };
		struct req_list sub = { 0 };
		int is_group = 0, is_set = 1;
		unsigned k, m;
		char ch = p->s[p->i];

		if (ch == '(') {
			p->i++;
			parse_group(p, &sub, caseless, depth);
			is_group = 1;
		} else if (ch == '[') {
			p->i++;
			class_set(p, &c, caseless);
		} else if (ch == '\\') {
			p->i++;
			is_set = escape_set(p, &c, caseless, 0);
		} else if (ch == '.') {
			p->i++;
			set_universal(&c);
		} else if (ch == '^' || ch == '$') {
			p->i++;
			is_set = 0;
		} else if (ch == '*' || ch == '+' || ch == '?' || ch == '{') {
			p->bad = 1; /* a quantifier with nothing before */
			break;
		} else {
			int32_t cp = next_char(p);

			if (cp < 0) {
				p->bad = 1;
				break;
			}
			add_char(&c, (uint32_t)cp, caseless);
		}
		m = quantifier_min(p);
		if (p->bad || !m)
			continue;
		if (is_group)
			for (k = 0; k < sub.n; k++)
				keep_req(out, &sub.v[k]);
		else if (is_set)
			keep_req(out, &c);
	}
}

static void parse_alt(struct parser *p, struct req_list *out, int caseless,
		      int depth)
{
	struct gate_chars any = { { 0, 0 }, 0 };
	struct req_list one = { 0 };
	unsigned nalt = 0;
	int empty = 0;

	if (depth > MAX_DEPTH) {
		p->bad = 1;
		return;
	}
	for (;;) {
		struct req_list l = { 0 };

		parse_seq(p, &l, caseless, depth);
		if (p->bad)
			return;
		if (!nalt)
			one = l;
		if (!l.n) {
			empty = 1;
		} else {
			const struct gate_chars *r = &l.v[rarest(&l)];

			any.ascii[0] |= r->ascii[0];
			any.ascii[1] |= r->ascii[1];
			any.extra |= r->extra;
		}
		nalt++;
		if (p->i < p->n && p->s[p->i] == '|') {
			p->i++;
			continue;
		}
		break;
	}
	if (nalt == 1) {
		unsigned k;

		for (k = 0; k < one.n; k++)
			keep_req(out, &one.v[k]);
	} else if (!empty) {
		keep_req(out, &any);
	}
}

/* ---- prefixes ---- */

struct prefix_sink {
	struct gate_alt *a;
	int fold;
	int failed;
};

/* Up to 8 bytes of t as a word, in memory order (the rest zero). */
static uint64_t load8(const unsigned char *t, size_t n)
{
	unsigned char b[8] = { 0 };
	uint64_t v;

	memcpy(b, t, n < 8 ? n : 8);
	memcpy(&v, b, 8);
	return v;
}

/* ASCII capitals of a word made lowercase, eight bytes at once. */
static uint64_t fold8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, high = ones * 0x80;
	uint64_t low7 = x & ~high;
	uint64_t ge_a = (low7 + ones * (0x80 - 'A')) & ~x & high;
	uint64_t gt_z = (low7 + ones * (0x80 - 'Z' - 1)) & high;

	return x | (ge_a & ~gt_z) >> 2;
}

static void add_prefix(void *ctx, const unsigned char *t, int n)
{
	struct prefix_sink *ps = ctx;
	struct gate_alt *a = ps->a;
	uint64_t v, m;
	int k;

	if (ps->failed)
		return;
	for (k = 0; k < n; k++) {
		/* the LONG S and KELVIN SIGN match s and k caselessly */
		if (ps->fold && (t[k] == 0xC5 || t[k] == 0xE2)) {
			ps->failed = 1;
			return;
		}
	}
	v = load8(t, (size_t)n);
	m = load8((const unsigned char *)"\xff\xff\xff\xff\xff\xff\xff\xff",
		  (size_t)n);
	if (ps->fold)
		v = fold8(v) & m;
	for (k = 0; k < (int)a->nprefix; k++)
		if (a->pval[k] == v && a->pmask[k] == m)
			return;
	if (a->nprefix == GATE_MAX_PREFIX) {
		ps->failed = 1;
		return;
	}
	a->pval[a->nprefix] = v;
	a->pmask[a->nprefix] = m;
	a->pfirst[a->nprefix] = ps->fold && t[0] >= 'A' && t[0] <= 'Z' ?
				(unsigned char)(t[0] + 32) : t[0];
	a->plen[a->nprefix++] = (unsigned char)n;
	a->first[a->pfirst[a->nprefix - 1] / 64] |=
		1ull << a->pfirst[a->nprefix - 1] % 64;
}

/* Order the prefixes by first byte; bucket[b] is where b's begin. */
static void sort_prefixes(struct gate_alt *a)
{
	unsigned i, j, b;

	for (i = 1; i < a->nprefix; i++) {
		for (j = i; j > 0 && a->pfirst[j] < a->pfirst[j - 1]; j--) {
			uint64_t v = a->pval[j], m = a->pmask[j];
			unsigned char l = a->plen[j], f = a->pfirst[j];

			a->pval[j] = a->pval[j - 1];
			a->pmask[j] = a->pmask[j - 1];
			a->plen[j] = a->plen[j - 1];
			a->pfirst[j] = a->pfirst[j - 1];
			a->pval[j - 1] = v;
			a->pmask[j - 1] = m;
			a->plen[j - 1] = l;
			a->pfirst[j - 1] = f;
		}
	}
	for (b = 0, i = 0; b <= 256; b++) {
		while (i < a->nprefix && a->pfirst[i] < b)
			i++;
		a->bucket[b] = (unsigned char)i;
	}
}

/* The end of the top-level alternative that starts at i. */
static size_t alt_end(const char *s, size_t n, size_t i)
{
	struct parser p = { s, n, i, 0 };

	while (p.i < n && s[p.i] != '|') {
		char c = s[p.i++];

		if (c == '\\') {
			p.i++;
		} else if (c == '[') {
			if (p.i < n && s[p.i] == '^')
				p.i++;
			if (p.i < n && s[p.i] == ']')
				p.i++;
			while (p.i < n && s[p.i] != ']') {
				if (s[p.i] == '\\')
					p.i++;
				p.i++;
			}
			p.i++;
		} else if (c == '(') {
			skip_group(&p);
		}
	}
	return p.i < n ? p.i : n;
}

static void build_alt(struct gate_alt *a, const char *s, size_t n,
		      int caseless, int fold)
{
	struct parser p = { s, n, 0, 0 };
	struct req_list l = { 0 };
	struct prefix_sink ps = { a, fold, 0 };
	unsigned k, c;

	memset(a, 0, sizeof(*a));
	parse_seq(&p, &l, caseless, 0);
	if (!p.bad && p.i == n) {
		/* the rarest first */
		while (l.n && a->nreq < GATE_MAX_REQ) {
			k = rarest(&l);

			a->req[a->nreq++] = l.v[k];
			l.v[k] = l.v[--l.n];
			l.cost[k] = l.cost[l.n];
		}
	}
	for (k = 0; k < a->nreq; k++)
		for (c = 0; c < 128; c++)
			if (a->req[k].ascii[c / 64] >> (c % 64) & 1u)
				a->rlo[k][c % 16] |= (unsigned char)(1u <<
								     (c / 16));
	if (strip_prefixes(s, n, add_prefix, &ps) || ps.failed) {
		a->nprefix = 0;
		memset(a->first, 0, sizeof(a->first));
	}
	sort_prefixes(a);
}

/*
 * Whether each top-level alternative of s[0..n) means alone what it means
 * in the pattern: not so after an option setting such as "(?i)" (it holds
 * for the alternatives that follow), with verbs such as (*COMMIT) (they
 * reach across alternatives), \Q quoting (it hides '|'), or recursion and
 * subroutine calls.
 */
static int splittable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		if (s[i] == '\\') {
			if (strchr("QgkR", s[i + 1]))
				return 0;
			i++;
		} else if (s[i] == '[') {
			/* a class: '(' and '|' are plain there */
			i += i + 2 < n && s[i + 1] == '^' ? 2 : 1;
			if (i < n && s[i] == ']')
				i++;
			while (i < n && s[i] != ']')
				i += s[i] == '\\' ? 2 : 1;
		} else if (s[i] == '(' && s[i + 1] == '*') {
			return 0;
		} else if (s[i] == '(' && s[i + 1] == '?') {
			const char *t = s + i + 2;
			size_t left = n - i - 2;

			if (left >= 1 && strchr(":=!>", t[0]))
				continue;
			if (left >= 2 && t[0] == '<' && strchr("=!", t[1]))
				continue;
			if (left >= 2 && !memcmp(t, "i:", 2))
				continue;
			if (left >= 3 && !memcmp(t, "-i:", 3))
				continue;
			return 0;
		}
	}
	return 1;
}

void strip_gate_build(struct strip_gate *g, const char *src, size_t len,
		      int caseless, int fold)
{
	size_t i = 0, n = 0, k, skip = 0;

	memset(g, 0, sizeof(*g));
	if (fold) {
		if (len < 4 || memcmp(src, "(?i)", 4))
			return;
		skip = 4;
		src += 4;
		len -= 4;
	}
	if (!splittable(src, len))
		return;
	for (i = 0; i <= len; i = alt_end(src, len, i) + 1)
		n++;
	g->alt = calloc(n, sizeof(*g->alt));
	if (!g->alt)
		return;
	g->nalt = n;
	g->fold = fold;
	for (i = 0, k = 0; k < n; k++) {
		size_t e = alt_end(src, len, i);
		struct gate_alt *a = &g->alt[k];

		build_alt(a, src + i, e - i, caseless, fold);
		a->off = skip + i;
		a->len = e - i;
		i = e + 1;
	}
}

void strip_gate_release(struct strip_gate *g)
{
	size_t i;

	for (i = 0; i < g->nalt; i++)
		free(g->alt[i].second);
	free(g->alt);
	memset(g, 0, sizeof(*g));
}

void strip_gate_settle(struct strip_gate *g)
{
	size_t i;

	for (i = 0; i < g->nalt; i++)
		if (!g->alt[i].nreq && !g->alt[i].nprefix &&
		    !g->alt[i].second) {
			strip_gate_release(g);
			return;
		}
}

/*
 * Whether a code point of 0x80 and above may be a decimal digit: none
 * below U+0660, nor in the punctuation and symbol blocks, the CJK and
 * kana blocks or the Hangul syllables (tests/unit/test_rules.c checks
 * these ranges against PCRE2's \d).
 */
static int may_be_digit(UChar32 c)
{
	return c >= 0x660 && !(c >= 0x2000 && c <= 0x2BFF) &&
	       !(c >= 0x3000 && c <= 0x9FFF) && !(c >= 0xAC00 && c <= 0xD7FF);
}

void strip_gate_chars(const char *t, size_t len, struct gate_chars *c)
{
	const unsigned char *p = (const unsigned char *)t;
	/*
	 * A flag per ASCII byte seen, one store each, packed into bits at
	 * the end: cheaper than setting a bit of two words per byte
	 */
	unsigned char seen[128];
	uint64_t lo = 0, hi = 0, v;
	size_t i = 0;
	unsigned k;

	c->extra = 0;
	memset(seen, 0, sizeof(seen));
	if (len > INT32_MAX)
		len = INT32_MAX;
	while (i < len) {
		int32_t j;
		UChar32 cp;

		while (i < len && p[i] < 0x80)
			seen[p[i++]] = 1;
		if (i >= len)
			break;
		j = (int32_t)i;
		c->extra |= GATE_NONASCII;
		U8_NEXT(t, j, (int32_t)len, cp);
		if (cp >= 0 && may_be_digit(cp))
			c->extra |= GATE_NDIGIT;
		i = (size_t)j;
	}
	for (k = 0; k < 16; k++) {
		/* eight flags of 0 or 1 into eight bits: the multiply puts
		 * flag b (byte b of v) at bit 56 + b, without carries */
		memcpy(&v, seen + 8 * k, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		v = __builtin_bswap64(v);
#endif
		v = (v * 0x0102040810204080ull) >> 56;
		if (k < 8)
			lo |= v << (8 * k);
		else
			hi |= v << (8 * (k - 8));
	}
	c->ascii[0] = lo;
	c->ascii[1] = hi;
}

int strip_gate_alt_first(const struct strip_gate *g, size_t i,
			 unsigned char b0)
{
	const struct gate_alt *a = &g->alt[i];

	/* the tests of strip_gate_alt_pass() that look at t[0] alone */
	if (a->second)
		return a->first[b0 / 64] >> (b0 % 64) & 1u;
	if (!a->nprefix)
		return 1;
	if (g->fold) {
		if (b0 >= 0x80)
			return 1;
		if (b0 >= 'A' && b0 <= 'Z')
			b0 += 32;
	}
	return a->first[b0 / 64] >> (b0 % 64) & 1u;
}

void strip_gate_alt_second(const struct strip_gate *g, size_t i,
			   unsigned char b0, uint64_t mask[2])
{
	const struct gate_alt *a = &g->alt[i];
	unsigned char pb[8];
	unsigned k, b1;

	if (a->second) {
		/* the first bytes are a->first's to test */
		mask[0] = a->second[b0][0];
		mask[1] = a->second[b0][1];
		return;
	}
	if (!a->nprefix) {
		mask[0] = mask[1] = ~0ull;
		return;
	}
	if (g->fold && b0 >= 'A' && b0 <= 'Z')
		b0 += 32;
	mask[0] = mask[1] = 0;
	for (k = a->bucket[b0]; k < a->bucket[b0 + 1]; k++) {
		if (a->plen[k] < 2) {
			mask[0] = mask[1] = ~0ull;
			return;
		}
		/* the prefix's second byte (pval holds bytes in memory
		 * order) */
		memcpy(pb, &a->pval[k], sizeof(pb));
		b1 = pb[1];
		if (b1 >= 0x80)
			continue;
		mask[b1 / 64] |= 1ull << (b1 % 64);
		/* caseless: the text's byte is folded before comparing */
		if (g->fold && b1 >= 'a' && b1 <= 'z')
			mask[(b1 - 32) / 64] |= 1ull << ((b1 - 32) % 64);
	}
}

int strip_gate_alt_chars(const struct strip_gate *g, size_t i,
			 const struct gate_chars *c)
{
	const struct gate_alt *a = &g->alt[i];
	unsigned k;
	int ok = 1;

	for (k = 0; k < a->nreq && ok; k++)
		ok = (c->ascii[0] & a->req[k].ascii[0]) ||
		     (c->ascii[1] & a->req[k].ascii[1]) ||
		     (c->extra & a->req[k].extra);
	return ok;
}

/*
 * Whether the character that begins at t[j] may be a digit. As
 * strip_gate_chars() decodes, a character begins at each byte from 0xC0
 * up (an invalid sequence never takes one), and one that begins below
 * 0xD9 is under U+0640, never a digit to may_be_digit(): only those
 * bytes are asked.
 */
static int req_digit_at(const unsigned char *t, size_t len, size_t j)
{
	int32_t at = (int32_t)j;
	UChar32 cp;

	U8_NEXT(t, at, (int32_t)len, cp);
	return cp >= 0 && may_be_digit(cp);
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define GATE_AVX2 1

/* req_has() of the block x, the 32 bytes at t[i] (those of its bits in
 * valid: a short text is padded). */
__attribute__((target("avx2")))
static int req_block_avx2(__m256i x, __m256i cols, unsigned extra,
			  uint32_t valid, const unsigned char *t, size_t len,
			  size_t i)
{
	/* row r's bit for a high nibble r under 8; none from 8 up */
	const __m256i rows = _mm256_setr_epi8(1, 2, 4, 8, 16, 32, 64,
		(char)128, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64,
		(char)128, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m256i nib = _mm256_set1_epi8(0x0F);
	__m256i c = _mm256_shuffle_epi8(cols, _mm256_and_si256(x, nib));
	__m256i r = _mm256_shuffle_epi8(rows, _mm256_and_si256(
			_mm256_srli_epi16(x, 4), nib));
	uint32_t m = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(
		_mm256_and_si256(c, r), _mm256_setzero_si256()));

	if (m & valid)
		return 1;
	if (!extra)
		return 0;
	m = (uint32_t)_mm256_movemask_epi8(x) & valid;
	if (m && (extra & GATE_NONASCII))
		return 1;
	if (!m || !(extra & GATE_NDIGIT))
		return 0;
	m = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(
		_mm256_max_epu8(x, _mm256_set1_epi8((char)0xD9)), x)) & valid;
	for (; m; m &= m - 1)
		if (req_digit_at(t, len, i + (size_t)__builtin_ctz(m)))
			return 1;
	return 0;
}

/* req_has() 32 bytes at a time: the last block overlaps the one before
 * it, or a short text is padded (its padding left out by a mask). */
__attribute__((target("avx2")))
static int req_has_avx2(const struct gate_alt *a, unsigned k,
			const unsigned char *t, size_t len)
{
	__m256i cols = _mm256_broadcastsi128_si256(
		_mm_loadu_si128((const __m128i *)a->rlo[k]));
	unsigned extra = a->req[k].extra;
	unsigned char pad[32];
	size_t i;

	if (len < 32) {
		memset(pad, 0, sizeof(pad));
		memcpy(pad, t, len);
		return req_block_avx2(_mm256_loadu_si256((const __m256i *)pad),
				      cols, extra, (1u << len) - 1, t, len, 0);
	}
	for (i = 0; i + 32 <= len; i += 32)
		if (req_block_avx2(_mm256_loadu_si256((const __m256i *)(t + i)),
				   cols, extra, ~0u, t, len, i))
			return 1;
	return i < len &&
	       req_block_avx2(_mm256_loadu_si256((const __m256i *)
						 (t + len - 32)),
			      cols, extra, ~0u, t, len, len - 32);
}
#endif

/*
 * Whether t[0..len) holds a character of requirement k of a: an ASCII
 * byte of it; with GATE_NONASCII, any byte from 0x80 up; with
 * GATE_NDIGIT, a character from 0x80 up that may be a digit.
 */
static int req_has(const struct gate_alt *a, unsigned k,
		   const unsigned char *t, size_t len)
{
	const struct gate_chars *r = &a->req[k];
	size_t i;

#ifdef GATE_AVX2
	if (__builtin_cpu_supports("avx2"))
		return req_has_avx2(a, k, t, len);
#endif
	for (i = 0; i < len; i++) {
		unsigned char b = t[i];

		if (b < 0x80) {
			if (r->ascii[b / 64] >> (b % 64) & 1u)
				return 1;
			continue;
		}
		if (r->extra & GATE_NONASCII)
			return 1;
		if (b >= 0xD9 && (r->extra & GATE_NDIGIT) &&
		    req_digit_at(t, len, i))
			return 1;
	}
	return 0;
}

int strip_gate_alt_has(const struct strip_gate *g, size_t i, const char *t,
		       size_t len)
{
	const struct gate_alt *a = &g->alt[i];
	unsigned k;

	for (k = 0; k < a->nreq; k++)
		if (!req_has(a, k, (const unsigned char *)t, len))
			return 0;
	return 1;
}

int strip_gate_alt_start(const struct strip_gate *g, size_t i,
			 const char *t, size_t len)
{
	const struct gate_alt *a = &g->alt[i];
	const uint64_t high = 0x8080808080808080ull;
	uint64_t x, mask = ~0ull;
	unsigned k, b0;

	if (!len)
		return 1;
	if (a->second && !gate_first_two(a->first, a->second, t, len))
		return 0;
	if (!a->nprefix)
		return 1;
	x = load8((const unsigned char *)t, len);
	b0 = (unsigned)(unsigned char)t[0];
	if (g->fold && (x & high)) {
		/*
		 * Caseless, a character from 0x80 up matches only such
		 * characters, but for the LONG S and the KELVIN SIGN (s,
		 * k): compare the ASCII start, and pass when it all
		 * matches; a first character from 0x80 up needs a prefix
		 * that begins with one (of any lead byte: the cases of
		 * a letter may have different ones).
		 */
		if (b0 >= 0x80)
			return a->first[2] || a->first[3] ||
			       (len > 1 && !memcmp(t, "\xc5\xbf", 2)) ||
			       (len > 2 && !memcmp(t, "\xe2\x84\xaa", 3));
		/* the bytes before the first high one */
		for (k = 0; k < 8; k++)
			if (((const unsigned char *)&x)[k] & 0x80)
				break;
		mask = load8((const unsigned char *)
			     "\xff\xff\xff\xff\xff\xff\xff\xff", k);
	}
	if (g->fold) {
		x = fold8(x);
		if (b0 >= 'A' && b0 <= 'Z')
			b0 += 32;
	}
	if (!(a->first[b0 / 64] >> (b0 % 64) & 1u))
		return 0;
	/* the prefixes are sorted by their first byte */
	for (k = a->bucket[b0]; k < a->bucket[b0 + 1]; k++)
		if (a->plen[k] <= len &&
		    (x & a->pmask[k] & mask) == (a->pval[k] & mask))
			return 1;
	return 0;
}

int strip_gate_alt_pass(const struct strip_gate *g, size_t i,
			const char *t, size_t len, const struct gate_chars *c)
{
	return !len || (strip_gate_alt_start(g, i, t, len) &&
			strip_gate_alt_chars(g, i, c));
}

int strip_gate_pass(const struct strip_gate *g, const char *t, size_t len,
		    const struct gate_chars *c)
{
	size_t i;

	if (!g->nalt)
		return 1;
	for (i = 0; i < g->nalt; i++)
		if (strip_gate_alt_pass(g, i, t, len, c))
			return 1;
	return 0;
}
