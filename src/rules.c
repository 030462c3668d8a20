/*
 * rules.c - parse and compile boilerplate rule files.
 *
 * The format is documented in data/rules/default.rules and docs/rules.md:
 *
 *	SCOPE[/i] NAME PATTERN
 *	SCOPE[/i] NAME {
 *		ALTERNATIVE
 *		...
 *	}
 *
 * A file is parsed and compiled completely before any rule joins the set,
 * so a bad rule leaves the set as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include "dedup/buf.h"
#include "dedup/strip.h"
#include "embedded.h"
#include "strip_rules.h"

#define NAME_MAX_LEN 64

static const char *const scope_names[SCOPE_COUNT] = {
	[SCOPE_LINE] = "line",
	[SCOPE_SPAN] = "span",
	[SCOPE_TAIL] = "tail",
	[SCOPE_EMBED] = "embed",
};

static void rule_release(struct rule *r)
{
	free(r->name);
	free(r->origin);
	free(r->src);
	free(r->lsrc);
	pcre2_code_free(r->code);
	pcre2_code_free(r->acode);
}

static void member_release(struct join_member *m)
{
	size_t i;

	pcre2_code_free(m->own);
	for (i = 0; m->alt_code && i < m->gate.nalt; i++)
		pcre2_code_free(m->alt_code[i]);
	free(m->alt_code);
	m->alt_code = NULL;
	strip_gate_release(&m->gate);
}

static void members_release(struct rule_join *jn)
{
	size_t i;

	for (i = 0; i < jn->nmember; i++)
		member_release(&jn->member[i]);
	free(jn->member);
	jn->member = NULL;
	jn->nmember = 0;
	free(jn->cand);
	jn->cand = NULL;
}

static void join_release(struct rule_join *jn)
{
	pcre2_code_free(jn->code);
	pcre2_code_free(jn->acode);
	free(jn->filter);
	members_release(jn);
}

static void group_release(struct rule_group *g)
{
	size_t i;

	for (i = 0; i < g->njoin; i++)
		join_release(&g->join[i]);
	free(g->join);
	free(g->solo);
	memset(g, 0, sizeof(*g));
}

dedup_status dedup_rules_new(struct dedup_rules **out, struct dedup_error *err)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return dedup_error_set(err, DEDUP_ENOMEM,
				       "cannot allocate a rule set");
	return DEDUP_OK;
}

void dedup_rules_free(struct dedup_rules *rs)
{
	size_t i;
	int s;

	if (!rs)
		return;
	for (i = 0; i < rs->n; i++)
		rule_release(&rs->v[i]);
	for (s = 0; s < SCOPE_COUNT; s++)
		group_release(&rs->group[s]);
	free(rs->segment_set);
	free(rs->v);
	free(rs);
}

size_t dedup_rules_count(const struct dedup_rules *rs)
{
	return rs->n;
}

static pcre2_code *compile(const char *src, size_t len, uint32_t opts,
			   int *errcode, PCRE2_SIZE *erroff)
{
	pcre2_code *code;

	code = pcre2_compile((PCRE2_SPTR)src, len, RULE_COMPILE_OPTS | opts,
			     errcode, erroff, NULL);
	/* no JIT (unsupported CPU, no executable memory): the interpreter */
	if (code)
		(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	return code;
}

static uint32_t capture_count(const pcre2_code *code)
{
	uint32_t n = 0;

	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &n);
	return n;
}

/* Anchored by its contents (every branch starts with ^ or \A). */
static int is_anchored(const pcre2_code *code)
{
	uint32_t opts = 0;

	pcre2_pattern_info(code, PCRE2_INFO_ALLOPTIONS, &opts);
	return (opts & PCRE2_ANCHORED) != 0;
}

/*
 * Whether a caseless pattern can run exactly on lowercased text: it names
 * no uppercase letter and no case-dependent class or option.
 */
static int lowerable(const char *p, size_t len)
{
	int32_t i = 0, n = (int32_t)len;
	UChar32 c;

	while (i < n) {
		U8_NEXT(p, i, n, c);
		if (c < 0)
			return 0;
		if (c == '\\') {
			if (i >= n)
				return 0;
			c = (unsigned char)p[i++];
			if (c == 'Q')
				continue; /* quoted text is checked as text */
			if ((c == 'p' || c == 'P') && i < n && p[i] == '{') {
				/* \p{Lu} \p{Ll} \p{Lt} \p{L&} depend on case */
				if (i + 2 < n && p[i + 1] == 'L' &&
				    p[i + 2] != '}')
					return 0;
				while (i < n && p[i] != '}')
					i++;
			}
			continue;
		}
		if (c == '(' && i + 1 < n && p[i] == '?' &&
		    (p[i + 1] == '-' || p[i + 1] == '^'))
			return 0;
		if (c == '[' && i + 1 < n && p[i] == ':')
			return 0; /* [:upper:] and friends */
		if (u_isupper(c) || u_istitle(c))
			return 0;
	}
	return 1;
}

/*
 * A pattern that matches an empty line would remove every line; a span
 * pattern that can match empty text anywhere (`\b`, `(?=x)`, `a*`) would
 * cut nothing and has no meaning: PCRE2's minimum length says so.
 */
static int matches_empty(const pcre2_code *code, enum rule_scope scope)
{
	pcre2_match_data *md;
	uint32_t minlen;
	int rc;

	if (scope == SCOPE_SPAN &&
	    !pcre2_pattern_info(code, PCRE2_INFO_MINLENGTH, &minlen) &&
	    minlen == 0)
		return 1;
	md = pcre2_match_data_create_from_pattern(code, NULL);
	if (!md)
		return 0;
	rc = pcre2_match(code, (PCRE2_SPTR)"", 0, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

/*
 * Whether some subject beginning with s[0..n) may match the anchored
 * pattern: a subject that ends in a partial match (or matches) may; one that
 * does not match even partially cannot, whatever follows it.
 */
static int may_begin(const pcre2_code *code, pcre2_match_data *md,
		     const unsigned char *s, size_t n)
{
	return pcre2_match(code, s, n, 0, PCRE2_PARTIAL_HARD, md, NULL) !=
	       PCRE2_ERROR_NOMATCH;
}

/*
 * The first bytes an anchored pattern's match can begin with, and with
 * `second`, the ASCII bytes that can follow each ASCII first byte. Returns
 * 0 when the set is not worth using or cannot be trusted: backtracking
 * control verbs such as (*COMMIT) may end a partial match early.
 */
static int first_bytes(pcre2_code *code, const char *src,
		       uint64_t first[4], uint64_t (*second)[2])
{
	pcre2_match_data *md;
	unsigned char b[2];
	unsigned i, j, n = 0;

	memset(first, 0, 4 * sizeof(*first));
	if (strstr(src, "(*"))
		return 0;
	md = pcre2_match_data_create_from_pattern(code, NULL);
	if (!md)
		return 0;
	/* the 16,000 probes of a rule's second bytes: in JIT code, as the
	 * interpreter would take several times longer */
	if (second)
		(void)pcre2_jit_compile(code, PCRE2_JIT_PARTIAL_HARD);
	for (i = 0; i < 256; i++) {
		b[0] = (unsigned char)i;
		if (i < 0x80 && !may_begin(code, md, b, 1))
			continue;
		first[i / 64] |= 1ull << (i % 64);
		n++;
		if (!second || i >= 0x80)
			continue;
		second[i][0] = second[i][1] = 0;
		for (j = 0; j < 0x80; j++) {
			b[1] = (unsigned char)j;
			if (may_begin(code, md, b, 2))
				second[i][j / 64] |= 1ull << (j % 64);
		}
	}
	pcre2_match_data_free(md);
	return n < 256;
}

/*
 * The gate of member m of rule r (strip_gate.h): a lowered rule runs
 * exactly on lowercased text, another caseless one has its "(?i)" in
 * src. Alternatives without literal prefixes get the first bytes their
 * matches can begin with, compiled alone as the member runs them.
 */
static void build_gate(const struct rule *r, struct join_member *m)
{
	const char *src = r->lowered ? r->lsrc : r->src;
	int fold = !r->lowered && !strncmp(src, "(?i)", 4);
	size_t i, n;
	int ec;
	PCRE2_SIZE eo;

	strip_gate_build(&m->gate, src, strlen(src), r->lowered || fold,
			 fold);
	n = m->gate.nalt;
	m->alt_code = n ? calloc(n, sizeof(*m->alt_code)) : NULL;
	if (!m->alt_code) {
		strip_gate_release(&m->gate);
		return;
	}
	for (i = 0; i < n; i++) {
		struct gate_alt *a = &m->gate.alt[i];
		pcre2_code *code;

		code = compile(src + a->off, a->len, PCRE2_ANCHORED |
			       (fold ? PCRE2_CASELESS : 0), &ec, &eo);
		m->alt_code[i] = code;
		if (a->nprefix || !code)
			continue;
		a->second = malloc(128 * sizeof(*a->second));
		if (a->second && !first_bytes(code, src + a->off,
					      a->first, a->second)) {
			free(a->second);
			a->second = NULL;
			memset(a->first, 0, sizeof(a->first));
		}
	}
	/* without a gate, the member runs whole */
	for (i = 0; i < n && m->gate.nalt; i++)
		if (!m->alt_code[i])
			strip_gate_release(&m->gate);
	strip_gate_settle(&m->gate);
	if (!m->gate.nalt) {
		for (i = 0; i < n; i++)
			pcre2_code_free(m->alt_code[i]);
		free(m->alt_code);
		m->alt_code = NULL;
	}
}

/*
 * The members of the anchored alternation jn of scope s (see struct
 * join_member). Without them (no memory, a pattern that cannot be
 * gated), the alternation runs as a whole.
 */
static void build_members(struct dedup_rules *rs, int s,
			  struct rule_join *jn)
{
	size_t i, n = 0;
	int ec;
	PCRE2_SIZE eo;

	for (i = 0; i < rs->n; i++)
		n += rs->v[i].scope == (enum rule_scope)s && !rs->v[i].solo &&
		     rs->v[i].anchored && rs->v[i].maxlen == jn->maxlen &&
		     rs->v[i].lowered == jn->lowered;
	jn->member = calloc(n, sizeof(*jn->member));
	if (!jn->member)
		return;
	for (i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->v[i];
		struct join_member *m = &jn->member[jn->nmember];

		if (r->scope != (enum rule_scope)s || r->solo ||
		    !r->anchored || r->maxlen != jn->maxlen ||
		    r->lowered != jn->lowered)
			continue;
		jn->nmember++;
		m->rule = i;
		if (r->lowered) {
			m->own = compile(r->lsrc, strlen(r->lsrc),
					 PCRE2_ANCHORED, &ec, &eo);
			m->code = m->own;
		} else {
			m->code = r->acode;
		}
		/* a member's bytes are some of the alternation's: gated too */
		if (!m->code || !first_bytes(m->code, r->lowered ? r->lsrc :
					     r->src, m->first, m->second)) {
			members_release(jn);
			return;
		}
		build_gate(r, m);
	}
}

/* Add to risk the ASCII bytes that the character src[0..n) of a pattern
 * (from 0x80 up) matches caselessly; -1 when PCRE2 cannot tell. */
static int char_risk(const char *src, size_t n, uint64_t risk[2])
{
	char pat[8] = "(?i)";
	pcre2_match_data *md;
	pcre2_code *code;
	PCRE2_SIZE eo;
	unsigned x;
	int ec;

	memcpy(pat + 4, src, n);
	code = pcre2_compile((PCRE2_SPTR)pat, 4 + n,
			     RULE_COMPILE_OPTS | PCRE2_ANCHORED, &ec, &eo, NULL);
	md = code ? pcre2_match_data_create(1, NULL) : NULL;
	if (!md) {
		pcre2_code_free(code);
		return -1;
	}
	for (x = 0; x < 0x80; x++) {
		unsigned char b = (unsigned char)x;

		if (pcre2_match(code, &b, 1, 0, 0, md, NULL) >= 0)
			risk[x / 64] |= 1ull << (x % 64);
	}
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	return 0;
}

/*
 * Add to risk (struct rule_join ascii_risk) the ASCII bytes that the
 * characters from 0x80 up of the lowered pattern src match caselessly,
 * asking PCRE2 itself; each distinct character once, from the list
 * seen[0..*nseen) of those asked (at most cap). Everything is a risk for
 * what is not looked into: escapes of code points, ranges of a class
 * with a longer character at an end, more characters than the list holds.
 */
static void add_ascii_risk(const char *src, uint64_t risk[2],
			   UChar32 *seen, size_t *nseen, size_t cap)
{
	int32_t i = 0, n = (int32_t)strlen(src), at;
	int in_class = 0;
	UChar32 c, prev = 0;
	size_t k;

	while (i < n) {
		at = i;
		U8_NEXT(src, i, n, c);
		if (c < 0)
			goto all;
		if (c == '\\') {
			if (i < n && strchr("xouN", src[i]))
				goto all;
			i += i < n;
			prev = '\\';
			continue;
		}
		if (!in_class && c == '[') {
			in_class = 1;
			/* "[^]" and "[]": the ']' is a member */
			if (i < n && src[i] == '^')
				i++;
			if (i < n && src[i] == ']')
				i++;
			prev = 0;
			continue;
		}
		if (in_class && c == ']') {
			in_class = 0;
			continue;
		}
		if (in_class && c == '-' && prev && i < n && src[i] != ']' &&
		    (prev >= 0x80 || prev == '\\' ||
		     (unsigned char)src[i] >= 0x80 || src[i] == '\\'))
			goto all;
		prev = c;
		if (c < 0x80)
			continue;
		for (k = 0; k < *nseen && seen[k] != c; k++)
			;
		if (k < *nseen)
			continue;
		if (*nseen == cap)
			goto all;
		seen[(*nseen)++] = c;
		if (char_risk(src + at, (size_t)(i - at), risk))
			goto all;
	}
	return;
all:
	risk[0] = risk[1] = ~0ull;
}

/* The ascii_risk of the lowered alternation jn of scope s. */
static void build_ascii_risk(const struct dedup_rules *rs, int s,
			     struct rule_join *jn)
{
	UChar32 seen[256];
	size_t i, nseen = 0;

	jn->ascii_risk[0] = jn->ascii_risk[1] = 0;
	for (i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->v[i];

		if (r->scope != (enum rule_scope)s || r->solo ||
		    !r->anchored || r->maxlen != jn->maxlen ||
		    r->lowered != jn->lowered)
			continue;
		add_ascii_risk(r->lsrc, jn->ascii_risk, seen, &nseen,
			       sizeof(seen) / sizeof(*seen));
	}
}

/* Whether the pair (member m, alternative a) of jn may run on a text
 * whose first byte is b. */
static int cand_may_run(const struct rule_join *jn, size_t m, size_t a,
			unsigned b)
{
	const struct join_member *jm = &jn->member[m];

	if (!(jm->first[b / 64] >> (b % 64) & 1u))
		return 0;
	return a == JOIN_WHOLE ||
	       strip_gate_alt_first(&jm->gate, a, (unsigned char)b);
}

/* The second bytes of struct join_cand for (member m, alternative a) of
 * jn after the first byte b. */
static void cand_second(const struct rule_join *jn, size_t m, size_t a,
			unsigned b, uint64_t second[2])
{
	const struct join_member *jm = &jn->member[m];
	uint64_t alt[2];

	second[0] = second[1] = ~0ull;
	if (b >= 0x80)
		return;
	second[0] = jm->second[b][0];
	second[1] = jm->second[b][1];
	if (a == JOIN_WHOLE)
		return;
	strip_gate_alt_second(&jm->gate, a, (unsigned char)b, alt);
	second[0] &= alt[0];
	second[1] &= alt[1];
}

/*
 * The table of struct rule_join cand: each first byte's list of members
 * and alternatives. Without memory, or with more members or alternatives
 * than the table can name, the alternation loses its members and runs
 * whole (a matter of speed only).
 */
static void build_candidates(struct rule_join *jn)
{
	size_t m, a, n = 0, k = 0, na;
	unsigned b;

	if (jn->nmember >= JOIN_WHOLE)
		goto whole;
	for (b = 0; b < 256; b++)
		for (m = 0; m < jn->nmember; m++) {
			na = jn->member[m].gate.nalt;
			if (na >= JOIN_WHOLE)
				goto whole;
			if (!na)
				n += cand_may_run(jn, m, JOIN_WHOLE, b);
			for (a = 0; a < na; a++)
				n += cand_may_run(jn, m, a, b);
		}
	jn->cand = malloc((n ? n : 1) * sizeof(*jn->cand));
	if (!jn->cand)
		goto whole;
	for (b = 0; b < 256; b++) {
		jn->cand_at[b] = (uint32_t)k;
		for (m = 0; m < jn->nmember; m++) {
			na = jn->member[m].gate.nalt;
			for (a = 0; a < (na ? na : 1); a++) {
				size_t alt = na ? a : JOIN_WHOLE;

				if (!cand_may_run(jn, m, alt, b))
					continue;
				jn->cand[k].member = (uint16_t)m;
				jn->cand[k].alt = (uint16_t)alt;
				cand_second(jn, m, alt, b, jn->cand[k].second);
				k++;
			}
		}
	}
	jn->cand_at[256] = (uint32_t)k;
	return;
whole:
	members_release(jn);
}

/* Whether jn runs on segments through a filter that a set can hold. */
static int segment_shareable(int s, const struct rule_join *jn)
{
	return s != SCOPE_SPAN && !jn->anchored && jn->lowered &&
	       jn->filter && strip_prefilter_quad_only(jn->filter);
}

/*
 * The rule set's segment_set, from the groups as built: without memory,
 * or with fewer than two filters to share, each filter scans alone.
 */
static void share_segment_filters(struct dedup_rules *rs)
{
	size_t k, n = 0;
	int s;

	free(rs->segment_set);
	rs->segment_set = NULL;
	for (s = 0; s < SCOPE_COUNT; s++)
		for (k = 0; k < rs->group[s].njoin; k++) {
			rs->group[s].join[k].shared = 0;
			n += segment_shareable(s, &rs->group[s].join[k]);
		}
	if (n < 2)
		return;
	rs->segment_set = calloc(1, sizeof(*rs->segment_set));
	if (!rs->segment_set)
		return;
	for (s = 0; s < SCOPE_COUNT; s++)
		for (k = 0; k < rs->group[s].njoin; k++) {
			struct rule_join *jn = &rs->group[s].join[k];

			if (!segment_shareable(s, jn))
				continue;
			strip_prefilter_set_add(rs->segment_set, jn->filter);
			jn->shared = 1;
		}
}

/* (Re)build the joined pattern and solo list of every scope. */
static dedup_status rebuild_groups(struct dedup_rules *rs,
				   struct dedup_error *err)
{
	struct rule_group g[SCOPE_COUNT];
	struct dedup_buf src = DEDUP_BUF_INIT;
	dedup_status st = DEDUP_OK;
	uint32_t max_ovec = 1;
	size_t i;
	int s;

	memset(g, 0, sizeof(g));
	for (s = 0; s < SCOPE_COUNT; s++) {
		size_t j, k;
		int failed = 0;

		g[s].max_ovec = 1;
		for (i = 0; i < rs->n; i++) {
			struct rule *r = &rs->v[i];

			if (r->scope != (enum rule_scope)s)
				continue;
			g[s].nrules++;
			r->anchored = is_anchored(r->code);
			r->solo = capture_count(r->code) > 0;
		}
		if (g[s].nrules) {
			g[s].join = calloc(g[s].nrules, sizeof(*g[s].join));
			if (!g[s].join) {
				st = DEDUP_ENOMEM;
				goto out;
			}
		}
		/* one alternation per (anchoring, length limit) */
		for (i = 0; i < rs->n; i++) {
			struct rule *r = &rs->v[i];

			if (r->scope != (enum rule_scope)s || r->solo)
				continue;
			for (k = 0; k < g[s].njoin; k++)
				if (g[s].join[k].anchored == r->anchored &&
				    g[s].join[k].maxlen == r->maxlen &&
				    g[s].join[k].lowered == r->lowered)
					break;
			if (k == g[s].njoin) {
				g[s].join[k].anchored = r->anchored;
				g[s].join[k].maxlen = r->maxlen;
				g[s].join[k].lowered = r->lowered;
				g[s].njoin++;
			}
		}
		for (k = 0; k < g[s].njoin && !failed; k++) {
			struct rule_join *jn = &g[s].join[k];
			size_t njoined = 0;
			int ec;
			PCRE2_SIZE eo;

			dedup_buf_reset(&src);
			for (j = 0; j < rs->n; j++) {
				struct rule *r = &rs->v[j];

				if (r->scope != (enum rule_scope)s ||
				    r->solo || r->anchored != jn->anchored ||
				    r->maxlen != jn->maxlen ||
				    r->lowered != jn->lowered)
					continue;
				if ((njoined && dedup_buf_addch(&src, '|')) ||
				    dedup_buf_addf(&src, "(?:%s)", r->lowered ?
						   r->lsrc : r->src)) {
					st = DEDUP_ENOMEM;
					goto out;
				}
				njoined++;
			}
			jn->code = compile(src.buf, src.len,
				jn->anchored ? PCRE2_ANCHORED : 0, &ec, &eo);
			if (!jn->code)
				failed = 1;
			else if (jn->anchored)
				jn->gated = first_bytes(jn->code, src.buf,
							jn->first, NULL);
			if (jn->code && jn->gated)
				build_members(rs, s, jn);
			if (jn->member)
				build_candidates(jn);
			if (jn->member && jn->lowered)
				build_ascii_risk(rs, s, jn);
			/* tried once per line anyway when anchored */
			if (!jn->anchored && jn->code) {
				jn->filter = calloc(1, sizeof(*jn->filter));
				if (jn->filter && strip_prefilter_add(
					    jn->filter, src.buf, src.len)) {
					free(jn->filter);
					jn->filter = NULL;
				}
				if (jn->filter) {
					jn->acode = compile(src.buf, src.len,
						PCRE2_ANCHORED, &ec, &eo);
					if (!jn->acode) {
						free(jn->filter);
						jn->filter = NULL;
					}
				}
			}
		}
		/* e.g. the same group name in two rules: all solo */
		if (failed) {
			for (k = 0; k < g[s].njoin; k++)
				join_release(&g[s].join[k]);
			g[s].njoin = 0;
			for (i = 0; i < rs->n; i++)
				if (rs->v[i].scope == (enum rule_scope)s)
					rs->v[i].solo = 1;
		}
		for (i = 0; i < rs->n; i++) {
			struct rule *r = &rs->v[i];
			uint32_t pairs;

			if (r->scope != (enum rule_scope)s || !r->solo)
				continue;
			if (!g[s].solo) {
				g[s].solo = malloc(g[s].nrules *
						   sizeof(*g[s].solo));
				if (!g[s].solo) {
					st = DEDUP_ENOMEM;
					goto out;
				}
			}
			g[s].solo[g[s].nsolo++] = i;
			pairs = capture_count(r->code) + 1;
			if (pairs > g[s].max_ovec)
				g[s].max_ovec = pairs;
		}
		if (g[s].max_ovec > max_ovec)
			max_ovec = g[s].max_ovec;
	}
out:
	dedup_buf_release(&src);
	if (st) {
		for (s = 0; s < SCOPE_COUNT; s++)
			group_release(&g[s]);
		return dedup_error_set(err, st, "cannot build the rule set");
	}
	for (s = 0; s < SCOPE_COUNT; s++) {
		group_release(&rs->group[s]);
		rs->group[s] = g[s];
	}
	rs->max_ovec = max_ovec;
	share_segment_filters(rs);
	return DEDUP_OK;
}

struct parser {
	const char *origin;
	const char *p, *end;
	unsigned lineno;
	struct rule *v;
	size_t n, alloc;
	struct dedup_error *err;
};

/* Next line without its newline and surrounding blanks; 0 at the end. */
static int next_line(struct parser *ps, const char **s, size_t *len)
{
	const char *eol, *a, *b;

	if (ps->p >= ps->end)
		return 0;
	eol = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
	if (!eol)
		eol = ps->end;
	a = ps->p;
	b = eol;
	while (a < b && (*a == ' ' || *a == '\t'))
		a++;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
		b--;
	ps->p = eol + (eol < ps->end);
	ps->lineno++;
	*s = a;
	*len = (size_t)(b - a);
	return 1;
}

static size_t word_len(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && s[i] != ' ' && s[i] != '\t')
		i++;
	return i;
}

static size_t skip_blanks(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

static int valid_name(const char *s, size_t len)
{
	size_t i;

	if (!len || len > NAME_MAX_LEN)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return 0;
	}
	return 1;
}

/* Check one alternative alone so that the message names its own line. */
static dedup_status check_alt(struct parser *ps, const char *name,
			      const char *alt, size_t len)
{
	PCRE2_UCHAR msg[128];
	PCRE2_SIZE off;
	pcre2_code *code;
	int ec;

	code = pcre2_compile((PCRE2_SPTR)alt, len, RULE_COMPILE_OPTS, &ec,
			     &off, NULL);
	if (!code) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		return dedup_error_set(ps->err, DEDUP_ERULE,
			"'%s' line %u: rule '%s': %s at offset %zu",
			ps->origin, ps->lineno, name, (char *)msg,
			(size_t)off);
	}
	pcre2_code_free(code);
	return DEDUP_OK;
}

static dedup_status add_rule(struct parser *ps, enum rule_scope scope,
			     const char *name, unsigned lineno,
			     unsigned maxlen, int caseless,
			     struct dedup_buf *src)
{
	struct rule *r;
	PCRE2_UCHAR msg[128];
	PCRE2_SIZE off;
	int ec;

	if (ps->n == ps->alloc) {
		size_t na = ps->alloc ? 2 * ps->alloc : 16;
		struct rule *nv = realloc(ps->v, na * sizeof(*nv));

		if (!nv)
			return dedup_error_set(ps->err, DEDUP_ENOMEM,
					       "cannot allocate rule '%s'",
					       name);
		ps->v = nv;
		ps->alloc = na;
	}
	r = &ps->v[ps->n];
	memset(r, 0, sizeof(*r));
	r->scope = scope;
	r->line = lineno;
	r->maxlen = maxlen;
	r->code = compile(src->buf, src->len, 0, &ec, &off);
	if (!r->code) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		return dedup_error_set(ps->err, DEDUP_ERULE,
			"'%s' line %u: rule '%s': %s at offset %zu",
			ps->origin, lineno, name, (char *)msg, (size_t)off);
	}
	if (matches_empty(r->code, scope)) {
		pcre2_code_free(r->code);
		return dedup_error_set(ps->err, DEDUP_ERULE,
			"'%s' line %u: rule '%s': matches %s",
			ps->origin, lineno, name, scope == SCOPE_SPAN ?
			"empty text" : "an empty line");
	}
	r->acode = compile(src->buf, src->len, PCRE2_ANCHORED, &ec, &off);
	if (!r->acode) {
		pcre2_code_free(r->code);
		return dedup_error_set(ps->err, DEDUP_ENOMEM,
				       "cannot compile rule '%s'", name);
	}
	r->name = strdup(name);
	r->origin = strdup(ps->origin);
	r->src = strdup(src->buf);
	ps->n++;
	if (caseless && lowerable(src->buf + 4, src->len - 4)) {
		r->lsrc = strdup(src->buf + 4); /* past "(?i)" */
		r->lowered = r->lsrc != NULL;
	}
	if (!r->name || !r->origin || !r->src)
		return dedup_error_set(ps->err, DEDUP_ENOMEM,
				       "cannot allocate rule '%s'", name);
	return DEDUP_OK;
}

static dedup_status parse_rule(struct parser *ps, const char *s, size_t len)
{
	char name[NAME_MAX_LEN + 1];
	struct dedup_buf src = DEDUP_BUF_INIT;
	enum rule_scope scope = SCOPE_COUNT;
	size_t i = 0, n;
	unsigned lineno = ps->lineno, maxlen = 0;
	int caseless = 0, sc;
	dedup_status st = DEDUP_OK;

	n = word_len(s, len);
	i = 0;
	while (i < n && s[i] != '/')
		i++;
	for (sc = 0; sc < SCOPE_COUNT; sc++)
		if (strlen(scope_names[sc]) == i &&
		    !memcmp(scope_names[sc], s, i))
			scope = (enum rule_scope)sc;
	if (scope == SCOPE_COUNT)
		return dedup_error_set(ps->err, DEDUP_ERULE,
			"'%s' line %u: unknown scope '%.*s' (line, span, "
			"tail or embed)", ps->origin, lineno, (int)i, s);
	/* options: /i for caseless, /N for lines of at most N characters */
	while (i < n) {
		size_t a = ++i, d = a;
		unsigned v = 0;

		while (i < n && s[i] != '/')
			i++;
		/* the text is not NUL-terminated: digits are read in [a, i) */
		while (d < i && s[d] >= '0' && s[d] <= '9')
			v = v * 10 + (unsigned)(s[d++] - '0');
		if (i - a == 1 && s[a] == 'i') {
			caseless = 1;
		} else if (i > a && i - a <= 6 && d == i && s[a] != '0') {
			maxlen = v;
		} else {
			return dedup_error_set(ps->err, DEDUP_ERULE,
				"'%s' line %u: unknown option '%.*s' in "
				"'%.*s' (i, or a length limit)", ps->origin,
				lineno, (int)(i - a), s + a, (int)n, s);
		}
	}
	i = skip_blanks(s, len, word_len(s, len));
	n = word_len(s + i, len - i);
	if (!valid_name(s + i, n))
		return dedup_error_set(ps->err, DEDUP_ERULE,
			"'%s' line %u: bad rule name '%.*s' (letters, digits, "
			"- _ . up to %d)", ps->origin, lineno, (int)n, s + i,
			NAME_MAX_LEN);
	memcpy(name, s + i, n);
	name[n] = '\0';
	i = skip_blanks(s, len, i + n);
	if (i == len)
		return dedup_error_set(ps->err, DEDUP_ERULE,
			"'%s' line %u: rule '%s': missing pattern",
			ps->origin, lineno, name);
	if (caseless && dedup_buf_addstr(&src, "(?i)"))
		goto nomem;
	if (len - i == 1 && s[i] == '{') {
		const char *alt;
		size_t alen, nalt = 0;
		int closed = 0;

		while (next_line(ps, &alt, &alen)) {
			if (alen == 1 && alt[0] == '}') {
				closed = 1;
				break;
			}
			if (!alen || alt[0] == '#')
				continue;
			st = check_alt(ps, name, alt, alen);
			if (st)
				goto out;
			if ((nalt && dedup_buf_addch(&src, '|')) ||
			    dedup_buf_addstr(&src, "(?:") ||
			    dedup_buf_add(&src, alt, alen) ||
			    dedup_buf_addch(&src, ')'))
				goto nomem;
			nalt++;
		}
		if (!closed) {
			st = dedup_error_set(ps->err, DEDUP_ERULE,
				"'%s' line %u: rule '%s': block not closed "
				"with '}'", ps->origin, lineno, name);
			goto out;
		}
		if (!nalt) {
			st = dedup_error_set(ps->err, DEDUP_ERULE,
				"'%s' line %u: rule '%s': empty block",
				ps->origin, lineno, name);
			goto out;
		}
	} else if (dedup_buf_add(&src, s + i, len - i)) {
		goto nomem;
	}
	st = add_rule(ps, scope, name, lineno, maxlen, caseless, &src);
	goto out;
nomem:
	st = dedup_error_set(ps->err, DEDUP_ENOMEM,
			     "cannot allocate rule '%s'", name);
out:
	dedup_buf_release(&src);
	return st;
}

dedup_status dedup_rules_add_text(struct dedup_rules *rs, const char *text,
				  size_t len, const char *origin,
				  struct dedup_error *err)
{
	struct parser ps;
	const char *s;
	size_t n, i, old = rs->n;
	dedup_status st = DEDUP_OK;

	memset(&ps, 0, sizeof(ps));
	ps.origin = origin;
	ps.p = text;
	ps.end = text + len;
	ps.err = err;
	while (next_line(&ps, &s, &n)) {
		if (!n || s[0] == '#')
			continue;
		st = parse_rule(&ps, s, n);
		if (st)
			goto fail;
	}
	if (!ps.n)
		return DEDUP_OK;
	if (rs->n + ps.n > rs->alloc) {
		size_t na = rs->n + ps.n;
		struct rule *nv = realloc(rs->v, na * sizeof(*nv));

		if (!nv) {
			st = dedup_error_set(err, DEDUP_ENOMEM,
					     "cannot allocate the rule set");
			goto fail;
		}
		rs->v = nv;
		rs->alloc = na;
	}
	memcpy(rs->v + rs->n, ps.v, ps.n * sizeof(*ps.v));
	rs->n += ps.n;
	st = rebuild_groups(rs, err);
	if (st) {
		/* the old groups are still in place */
		for (i = old; i < rs->n; i++)
			rule_release(&rs->v[i]);
		rs->n = old;
	}
	free(ps.v);
	return st;
fail:
	for (i = 0; i < ps.n; i++)
		rule_release(&ps.v[i]);
	free(ps.v);
	return st;
}

dedup_status dedup_rules_add_builtin(struct dedup_rules *rs,
				     struct dedup_error *err)
{
	const struct dedup_embedded *e = dedup_embedded_find(
		"rules/default.rules");

	if (!e)
		return dedup_error_set(err, DEDUP_ERULE,
				       "built-in rules are missing");
	return dedup_rules_add_text(rs, e->data, e->len, "builtin", err);
}

dedup_status dedup_rules_add_file(struct dedup_rules *rs, const char *path,
				  struct dedup_error *err)
{
	struct dedup_buf b = DEDUP_BUF_INIT;
	char chunk[65536];
	dedup_status st;
	FILE *f;
	size_t n;

	f = fopen(path, "rb");
	if (!f)
		return dedup_error_set(err, DEDUP_EIO, "cannot read '%s': %s",
				       path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (dedup_buf_add(&b, chunk, n)) {
			fclose(f);
			dedup_buf_release(&b);
			return dedup_error_set(err, DEDUP_ENOMEM,
					       "cannot hold '%s'", path);
		}
	}
	if (ferror(f)) {
		st = dedup_error_set(err, DEDUP_EIO, "cannot read '%s': %s",
				     path, strerror(errno));
		fclose(f);
		dedup_buf_release(&b);
		return st;
	}
	fclose(f);
	st = dedup_rules_add_text(rs, b.buf, b.len, path, err);
	dedup_buf_release(&b);
	return st;
}
