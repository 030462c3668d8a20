/*
 * strip.c - stage 2: remove boilerplate from repaired article text.
 *
 * One document at a time:
 *  1. span rules cut their matches out of each line;
 *  2. each line is cut into segments at glue points (strip_segment.c);
 *  3. each segment is classified: line, tail and embed rules are final;
 *     otherwise the text evidence gives a jusText-like class (short, bad,
 *     near-good, good) from length, stopword density in the document's
 *     language, sentence punctuation and capitalisation, and segments that
 *     recur across many documents of the run count as bad;
 *  4. runs of near-good paragraphs become good, short headings right
 *     before text count as near-good, and short and near-good segments
 *     take their class from their neighbours (jusText's context rules);
 *  5. outside the stretch of the page that holds the article (maximum-sum
 *     subarray of segment scores), only segments good on their own stay,
 *     but for the headline and standfirst just above it;
 *  6. the first end-of-article marker with at least as much kept text
 *     before it as after it drops the rest;
 *  7. the kept segments are written one per line.
 */
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include "dedup/stopwords.h"
#include "dedup/strip.h"
#include "strip_ascii.h"
#include "strip_linestats.h"
#include "strip_rules.h"
#include "strip_segment.h"
#include "strip_words.h"

/*
 * Text evidence (chars are code points). Like jusText's thresholds, tuned
 * on text rather than HTML blocks: stopword densities are lower because
 * our lists are shorter, and the short-line limit higher because plain
 * text keeps link lists and captions that HTML would mark as such.
 */
#define LEN_LOW 100       /* below: short */
#define LEN_HIGH 200      /* at least: may be good on its own */
#define SW_LOW 0.22       /* stopword density below: bad unless short */
#define SW_NAMES 0.12     /* a long sentence at least this dense: near */
#define SW_HIGH 0.30      /* at least, with LEN_HIGH: good */
#define CAPS_BAD 0.70     /* share of capitalised words of a menu line */
#define HEADING_DIST 200  /* chars of short text between heading and text */
#define HEADING_MAX_WORDS 20
#define RUN_GOOD 300      /* chars of consecutive near-good text: good */
#define FALLBACK_WORDS 4  /* short lines kept when nothing else is */
#define MAX_LANG_WORDS 4000 /* words looked at to pick the language */

/*
 * The article's stretch of the page (main_region): segment scores are
 * +chars for good text, NEAR_WEIGHT * chars for near-good, -SHORT_PEN for
 * a short line, -chars for bad text and -HARD_PEN * chars for what rules
 * removed; other stretches count if worth REGION_SHARE of the best.
 */
#define NEAR_WEIGHT 0.5
#define SHORT_PEN 10
#define HARD_PEN 0.5
#define REGION_SHARE 0.3
#define LEAD_BACK 4       /* segments looked at above the article */
#define LEAD_MIN_WORDS 8  /* a standfirst is a sentence of this many */

/*
 * Corpus evidence. A segment found in at least RECUR_SHORT documents of
 * the run is template text when it is short (under RECUR_LONG_WORDS words
 * or not a sentence); a longer sentence needs RECUR_LONG documents, and is
 * kept anyway when the recurring sentences make up RECUR_MAX_SHARE of the
 * document's sentence text: that is a copy of an article, not a template.
 * Both counts are well above the size of an ordinary cluster of copies (a
 * corpus holding three copies of one article keeps all of it) and are
 * raised by three times the sketch's collision noise on large runs.
 * Segments made of numbers only never count.
 */
#define RECUR_SHORT 8
#define RECUR_LONG 16
#define RECUR_LONG_WORDS 12
#define RECUR_MAX_SHARE 0.5

/* An embedded post (scope embed) takes at most this many lines above its
 * signature line, never across a blank line or a line longer than a post. */
#define EMBED_BACK 4
#define EMBED_MAX_CHARS 320

#define MATCH_LIMIT 1000000

enum cls { CLS_SHORT, CLS_BAD, CLS_NEAR, CLS_GOOD };
enum { RECUR_NONE, RECUR_LINE, RECUR_SENTENCE };

struct seg {
	size_t off, len;    /* in st->work */
	size_t line;        /* input line number */
	size_t word0;       /* its first word in st->whash and st->wflags */
	unsigned chars, words, stop, caps;
	unsigned alnum;     /* words with a letter or digit */
	unsigned blank;     /* a blank line came before it */
	unsigned sentence;  /* ends like a sentence */
	enum cls cf;        /* context-free class */
	enum cls cls;       /* after smoothing */
	int hard;           /* removed by a rule or corpus evidence */
	int tail;           /* matched a tail rule */
	int recur;          /* RECUR_*: recurs across documents */
	int heading;        /* short line leading into good text */
	int region;         /* inside a main stretch of text */
	int embed;          /* part of an embedded post */
	int lowok;          /* st->lwork holds it lowercased at off */
	uint64_t fp;        /* its fingerprint, for the corpus counts */
	const char *reason; /* why removed */
};

/* A match found by one alternation or rule; rule -1: none, -2: stopped by
 * the match limit. */
struct found {
	long rule;
	size_t ms, me;
};

/*
 * What one alternation or rule found in the current line, and from where:
 * span rules search the same line again after each cut, and the answer
 * holds for any later start up to the match (PCRE2 sees the whole line
 * whatever the start offset), so a line with many cuts costs one scan per
 * alternation, not one per cut.
 */
struct memo {
	struct found f;
	uint64_t line;  /* the line it holds for: st->memo_line then */
};

#define JIT_STACK_MAX (1024 * 1024)

/*
 * Answers of join_may_begin_wide() (strip_rules.h) kept per stripper, by
 * entry of an anchored alternation's table and first character: the key
 * of the entry and character, with WIDE_MAY when the entry may run. A
 * few hundred characters begin the segments of a corpus (quotes, dashes,
 * accented capitals, other scripts), each asked once per entry.
 */
#define WIDE_SLOTS 4096 /* a power of two */
#define WIDE_WAYS 4     /* slots looked at from a key's own */
#define WIDE_KEY (1ull << 62)
#define WIDE_MAY (1ull << 63)
/* Positions of a segment listed for the shared filters; past them each
 * filter scans alone. */
#define QPOS_MAX 512

struct dedup_stripper {
	const struct dedup_rules *rules;
	const struct dedup_stopwords *sw;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit_stack;
	struct seg *segs;
	size_t nsegs, asegs;
	/*
	 * The words of every segment, split and hashed once per document:
	 * language detection, stopword counts and corpus fingerprints all
	 * read them here.
	 */
	uint64_t *whash;
	uint32_t *wlangs;       /* stopword languages (bit set) of each */
	unsigned char *wflags;  /* STRIP_WORD_* */
	size_t nwords, awords;
	unsigned char *disabled; /* rules that hit the match limit */
	struct memo *memo;       /* span matches of the current line */
	uint64_t memo_line;      /* counts lines: older answers are void */
	uint64_t *wide;          /* WIDE_SLOTS answers, 0: empty */
	size_t nrules;           /* rules->n when the stripper was made */
	int fallback[SCOPE_COUNT]; /* joined pattern hit the limit */
	/* the lines as cut by span rules, the current one from line_at */
	struct dedup_buf work;
	size_t line_at;
	struct dedup_buf lower; /* a line or segment lowercased in place */
	/*
	 * work lowercased, byte for byte, for the lines that could be
	 * lowercased in place (their bytes as they are for the others): a
	 * line is lowercased once, for its span rules and for the rules of
	 * its segments (st->line_lowok).
	 */
	struct dedup_buf lwork;
	int line_lowok;
	/* where the last text a shared filter looked at (qpos_of, before
	 * lowercasing) hits the rule set's segment_set */
	uint32_t qpos[QPOS_MAX];
	size_t nqpos;
	const char *qpos_of;
	size_t qpos_len;
	/* per call */
	dedup_status limit_st;
	struct dedup_error *err;
	size_t cur_line;
	unsigned cur_blank;
};

dedup_status dedup_stripper_new(struct dedup_stripper **out,
				const struct dedup_rules *rules,
				const struct dedup_stopwords *sw,
				struct dedup_error *err)
{
	struct dedup_stripper *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (!st)
		goto nomem;
	st->rules = rules;
	st->nrules = rules ? rules->n : 0;
	st->sw = sw;
	dedup_buf_init(&st->work);
	dedup_buf_init(&st->lower);
	dedup_buf_init(&st->lwork);
	st->md = pcre2_match_data_create(rules && rules->max_ovec ?
					 rules->max_ovec : 1, NULL);
	st->mctx = pcre2_match_context_create(NULL);
	if (!st->md || !st->mctx)
		goto nomem;
	if (rules && rules->n) {
		st->disabled = calloc(rules->n, 1);
		st->memo = calloc(rules->group[SCOPE_SPAN].njoin + rules->n,
				  sizeof(*st->memo));
		st->wide = calloc(WIDE_SLOTS, sizeof(*st->wide));
		if (!st->disabled || !st->memo || !st->wide)
			goto nomem;
	}
	pcre2_set_match_limit(st->mctx, MATCH_LIMIT);
	/*
	 * JIT's default 32 KiB stack runs out on long lines that a rule
	 * repeats a group over; 1 MiB covers what MATCH_LIMIT allows, and
	 * what still runs out is reported like the match limit.
	 */
	st->jit_stack = pcre2_jit_stack_create(32 * 1024, JIT_STACK_MAX, NULL);
	if (st->jit_stack)
		pcre2_jit_stack_assign(st->mctx, NULL, st->jit_stack);
	*out = st;
	return DEDUP_OK;
nomem:
	dedup_stripper_free(st);
	return dedup_error_set(err, DEDUP_ENOMEM,
			       "cannot allocate a stripper");
}

void dedup_stripper_free(struct dedup_stripper *st)
{
	if (!st)
		return;
	pcre2_match_data_free(st->md);
	pcre2_match_context_free(st->mctx);
	pcre2_jit_stack_free(st->jit_stack);
	free(st->segs);
	free(st->whash);
	free(st->wlangs);
	free(st->wflags);
	free(st->disabled);
	free(st->memo);
	free(st->wide);
	dedup_buf_release(&st->work);
	dedup_buf_release(&st->lower);
	dedup_buf_release(&st->lwork);
	free(st);
}

/* ---- rule matching ---- */

/*
 * Run one pattern from `start`; 1 and the match bounds on a match, 0 when
 * none, -1 when it hit the match limit.
 */
static int run(struct dedup_stripper *st, const pcre2_code *code,
	       const char *s, size_t len, size_t start, uint32_t opts,
	       size_t *ms, size_t *me)
{
	PCRE2_SIZE *ov;
	int rc;

	/* the JIT's own entry skips the checks pcre2_match() makes on every
	 * call; a pattern without JIT code is refused and interpreted */
	rc = pcre2_jit_match(code, (PCRE2_SPTR)s, len, start, opts, st->md,
			     st->mctx);
	if (rc == PCRE2_ERROR_JIT_BADOPTION)
		rc = pcre2_match(code, (PCRE2_SPTR)s, len, start, opts,
				 st->md, st->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
		return -1;
	if (rc < 0)
		return 0; /* bad UTF cannot happen: MATCH_INVALID_UTF */
	ov = pcre2_get_ovector_pointer(st->md);
	*ms = ov[0];
	*me = ov[1];
	return 1;
}

static void limit_hit(struct dedup_stripper *st, size_t rule)
{
	const struct rule *r = &st->rules->v[rule];

	st->disabled[rule] = 1;
	st->limit_st = dedup_error_set(st->err, DEDUP_ELIMIT,
		"rule '%s' ('%s' line %u) hit the match limit: skipped for "
		"this document", r->name, r->origin, r->line);
}

/* Which rule of the alternation `jn` matched at `at`: the first one in
 * order, as in the alternation. */
static long which_rule(struct dedup_stripper *st, enum rule_scope scope,
		       const struct rule_join *jn, const char *s, size_t len,
		       size_t at, size_t *me)
{
	const struct dedup_rules *rs = st->rules;
	size_t i, a;

	for (i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->v[i];

		if (r->scope != scope || r->solo ||
		    r->anchored != jn->anchored ||
		    r->maxlen != jn->maxlen || r->lowered != jn->lowered)
			continue;
		if (run(st, r->acode, s, len, at, 0, &a, me) > 0)
			return (long)i;
	}
	return -1;
}

/*
 * The next position of t[0..len) (s before lowercasing) where jn's filter
 * finds a prefix: from the positions of the segment scan the filters of
 * the rule set's segment_set share, listed once per text.
 */
static size_t filter_next(struct dedup_stripper *st,
			  const struct rule_join *jn, const char *t,
			  const char *s, size_t len, size_t start)
{
	if (!jn->shared)
		return strip_prefilter_next(jn->filter, t, len, start);
	if (st->qpos_of != s || st->qpos_len != len) {
		st->nqpos = strip_prefilter_scan(st->rules->segment_set, t, len,
						 st->qpos, QPOS_MAX);
		st->qpos_of = s;
		st->qpos_len = len;
	}
	if (st->nqpos > QPOS_MAX)
		return strip_prefilter_next(jn->filter, t, len, start);
	return strip_prefilter_next_in(jn->filter, t, len, start, st->qpos,
				       st->nqpos);
}

/* run() for an alternation with a prefilter: anchored attempts where a
 * match may start, leftmost first. */
static int run_filtered(struct dedup_stripper *st, const struct rule_join *jn,
			const char *t, const char *s, size_t len, size_t start,
			size_t *ms, size_t *me)
{
	size_t pos = start;
	int rc;

	while ((pos = filter_next(st, jn, t, s, len, pos)) != (size_t)-1) {
		rc = run(st, jn->acode, t, len, pos, 0, ms, me);
		if (rc)
			return rc;
		pos++;
	}
	return 0;
}

/*
 * Whether code, entry cand of the table of the anchored alternation of
 * index join in scope, may run on a text that begins with the character
 * cp, t[0..n): from the stripper's answers, else asked of PCRE2 and kept.
 * An entry beyond what a key can name is asked each time.
 */
static int wide_may_begin(struct dedup_stripper *st, enum rule_scope scope,
			  size_t join, size_t cand, const pcre2_code *code,
			  UChar32 cp, const char *t, size_t n)
{
	uint64_t key, *slot = NULL;
	size_t h, i;
	int may;

	if (join >= 256 || cand >= (1u << 30))
		return join_may_begin_wide(code, t, n, st->md, st->mctx);
	key = WIDE_KEY | (uint64_t)scope << 59 | (uint64_t)join << 51 |
	      (uint64_t)cand << 21 | (uint64_t)cp;
	h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 52);
	for (i = 0; i < WIDE_WAYS; i++) {
		uint64_t *v = &st->wide[(h + i) & (WIDE_SLOTS - 1)];

		if ((*v & ~WIDE_MAY) == key)
			return (*v & WIDE_MAY) != 0;
		if (!*v && !slot)
			slot = v;
	}
	may = join_may_begin_wide(code, t, n, st->md, st->mctx);
	/* all ways taken: the key's own slot is given up */
	if (!slot)
		slot = &st->wide[h & (WIDE_SLOTS - 1)];
	*slot = key | (may ? WIDE_MAY : 0);
	return may;
}

/*
 * Whether the anchored alternation jn matches t[0..len) (len > 0; s[0..len)
 * before lowercasing), from its members that accept the first two bytes
 * and pass their gates (see struct join_member), taken from the list of
 * those that may begin with t[0]: 1 when one matches, 0 when none does,
 * -1 when one hit the match limit. On a match, *rule is the rule of the
 * first member that matches and *me where its match ends: its first
 * alternative that matches, tried alone, matches as the rule does.
 */
static int run_members(struct dedup_stripper *st, enum rule_scope scope,
		       const struct rule_join *jn, const char *t,
		       const char *s, size_t len, size_t *rule, size_t *me)
{
	unsigned char b0 = (unsigned char)t[0];
	/* a text of one byte, or with a longer character second, passes
	 * the tests of the entries' second bytes */
	unsigned b1 = len > 1 && (unsigned char)t[1] < 0x80 ?
		      (unsigned char)t[1] : 0x80;
	const struct join_cand *c = jn->cand + jn->cand_at[b0];
	const struct join_cand *end = jn->cand + jn->cand_at[b0 + 1];
	const struct join_member *m = NULL;
	unsigned last = JOIN_WHOLE;
	int accepts = 0, rc;
	size_t ms, wide = 0, join = (size_t)(jn - st->rules->group[scope].join);
	UChar32 cp = -1;

	/* a longer first character: each entry tells whether it may begin
	 * with it (wide_may_begin()); an invalid one passes, as before */
	if (b0 >= 0x80) {
		int32_t k = 0;

		U8_NEXT(t, k, (int32_t)(len < 4 ? len : 4), cp);
		if (cp >= 0)
			wide = (size_t)k;
	}
	for (; c < end; c++) {
		if (b1 < 0x80 && !(c->second[b1 / 64] >> (b1 % 64) & 1u))
			continue;
		m = &jn->member[c->member];
		if (wide && !wide_may_begin(st, scope, join,
					    (size_t)(c - jn->cand),
					    c->alt == JOIN_WHOLE ? m->code :
					    m->alt_code[c->alt], cp, t, wide))
			continue;
		if (c->member != last) {
			last = c->member;
			accepts = member_accepts(m, t, len);
		}
		if (!accepts)
			continue;
		if (c->alt == JOIN_WHOLE) {
			rc = run(st, m->code, t, len, 0, 0, &ms, me);
			if (rc)
				goto done;
			continue;
		}
		/* the rule matches when one of its alternatives does */
		if (!strip_gate_alt_start(&m->gate, c->alt, t, len))
			continue;
		/* the characters it requires, looked for in s */
		if (m->gate.alt[c->alt].nreq &&
		    !strip_gate_alt_has(&m->gate, c->alt, s, len))
			continue;
		rc = run(st, m->alt_code[c->alt], t, len, 0, 0, &ms, me);
		if (rc)
			goto done;
	}
	return 0;
done:
	*rule = m->rule;
	return rc;
}

/*
 * Whether the rule run_members() found is the one which_rule() would name
 * from s[0..len): always for an alternation on the text as it is; for a
 * lowered one, when s is ASCII without its risky bytes (struct rule_join
 * ascii_risk), as the rules run caseless then match exactly where they
 * match the lowercased text.
 */
static int members_name_rule(const struct rule_join *jn, const char *s,
			     size_t len)
{
	size_t i;

	if (!jn->lowered)
		return 1;
	for (i = 0; i < len; i++) {
		unsigned char b = (unsigned char)s[i];

		if (b >= 0x80 || (jn->ascii_risk[b / 64] >> (b % 64) & 1u))
			return 0;
	}
	return 1;
}

/*
 * The leftmost match of the rules of a lowered alternation run one by one,
 * for lines that could not be lowercased in place.
 */
static long join_by_rule(struct dedup_stripper *st, enum rule_scope scope,
			 const struct rule_join *jn, const char *s,
			 size_t len, size_t start, size_t *ms, size_t *me)
{
	const struct dedup_rules *rs = st->rules;
	size_t i, a, b;
	long best = -1;
	int rc;

	for (i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->v[i];

		if (r->scope != scope || r->solo || st->disabled[i] ||
		    r->anchored != jn->anchored ||
		    r->maxlen != jn->maxlen || r->lowered != jn->lowered)
			continue;
		rc = run(st, r->code, s, len, start, 0, &a, &b);
		if (rc < 0) {
			limit_hit(st, i);
			continue;
		}
		if (rc > 0 && (best < 0 || a < *ms)) {
			best = (long)i;
			*ms = a;
			*me = b;
		}
	}
	return best;
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define STRIP_AVX2 1

/*
 * lower_line()'s ASCII bytes 32 at a time: s[i..) lowercased into o[i..)
 * up to the first byte from 0x80 up (the bytes of a block are stored
 * whole: those from 0x80 up unchanged, for the caller to overwrite);
 * returns where it stopped.
 */
__attribute__((target("avx2")))
static size_t lower_ascii_avx2(const char *s, size_t n, unsigned char *o,
			       size_t i)
{
	const __m256i a1 = _mm256_set1_epi8('A' - 1);
	const __m256i z1 = _mm256_set1_epi8('Z' + 1);
	const __m256i bit = _mm256_set1_epi8(0x20);

	for (; n - i >= 32; i += 32) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(s + i));
		/* bytes from 0x80 up are negative: no capital */
		__m256i up = _mm256_and_si256(_mm256_cmpgt_epi8(x, a1),
					      _mm256_cmpgt_epi8(z1, x));
		uint32_t high = (uint32_t)_mm256_movemask_epi8(x);

		_mm256_storeu_si256((__m256i *)(o + i), _mm256_or_si256(x,
					_mm256_and_si256(up, bit)));
		if (high)
			return i + (size_t)__builtin_ctz(high);
	}
	return i;
}

/* count_chars() 32 bytes at a time: continuation bytes are 0x80 to 0xBF,
 * negative and under -64 to a signed compare. */
__attribute__((target("avx2,popcnt")))
static size_t count_chars_avx2(const char *s, size_t len, unsigned *n)
{
	const __m256i c0 = _mm256_set1_epi8((char)0xC0);
	size_t i;

	for (i = 0; len - i >= 32; i += 32) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(s + i));
		uint32_t cont = (uint32_t)_mm256_movemask_epi8(
			_mm256_cmpgt_epi8(c0, x));

		*n += 32 - (unsigned)__builtin_popcount(cont);
	}
	return i;
}
#endif

/*
 * Lowercase s[0..len) into st->lower character by character. Returns 0
 * when a character's lowercase has another UTF-8 length (offsets would
 * move), or the line is not valid UTF-8.
 */
static int lower_line(struct dedup_stripper *st, const char *s, size_t len)
{
	int32_t i = 0, n = (int32_t)len, j;
	unsigned char *o;
	UChar32 c, l;
	UBool err = 0;
#ifdef STRIP_AVX2
	int avx2 = __builtin_cpu_supports("avx2");
#endif

	dedup_buf_reset(&st->lower);
	if (len > INT32_MAX || dedup_buf_grow(&st->lower, len + 1))
		return 0;
	o = (unsigned char *)st->lower.buf;
	while (i < n) {
		unsigned char b;

#ifdef STRIP_AVX2
		if (avx2 && n - i >= 32) {
			i = (int32_t)lower_ascii_avx2(s, (size_t)n, o,
						      (size_t)i);
			if (i >= n)
				break;
		}
#endif
		b = (unsigned char)s[i];

#ifdef STRIP_SWAR
		/* eight ASCII bytes: the high bit of each capital, moved to
		 * 0x20, lowercases it */
		if (n - i >= 8) {
			uint64_t x = swar_load(s + i);

			if (!(x & SWAR_HIGH)) {
				x |= swar_upper(x) >> 2;
				memcpy(o + i, &x, 8);
				i += 8;
				continue;
			}
		}
#endif
		if (b < 0x80) {
			o[i++] = (b >= 'A' && b <= 'Z') ? b + 32 : b;
			continue;
		}
		j = i;
		U8_NEXT(s, i, n, c);
		if (c < 0)
			return 0;
		l = u_tolower(c);
		if (U8_LENGTH(l) != i - j)
			return 0;
		U8_APPEND((uint8_t *)o, j, n, l, err);
		if (err)
			return 0;
	}
	/* grown above: room for len bytes and the NUL */
	st->lower.len = len;
	st->lower.buf[len] = '\0';
	return 1;
}

static struct found join_find(struct dedup_stripper *st,
			      enum rule_scope scope,
			      const struct rule_join *jn, const char *s,
			      const char *low, size_t len, size_t start)
{
	struct found f = { -1, 0, 0 };
	size_t rule;
	int rc;

	if (jn->lowered && !low) {
		f.rule = join_by_rule(st, scope, jn, s, len, start, &f.ms,
				      &f.me);
		return f;
	}
	if (jn->gated && start == 0 && len) {
		const char *t = jn->lowered ? low : s;
		unsigned char b = (unsigned char)t[0];

		if (!(jn->first[b / 64] >> (b % 64) & 1u))
			return f;
		rc = jn->member ? run_members(st, scope, jn, t, s, len, &rule,
					      &f.me) : -1;
		if (rc == 0)
			return f;
		if (rc > 0) {
			/* which rule of the alternation: the member's, when
			 * that is sure, rather than each rule tried again */
			f.ms = 0;
			f.rule = members_name_rule(jn, s, len) ? (long)rule :
				 which_rule(st, scope, jn, s, len, 0, &f.me);
			return f;
		}
		/* a rule alone hit the match limit: the alternation decides,
		 * limit and all, as without members */
	}
	rc = jn->filter ? run_filtered(st, jn, jn->lowered ? low : s, s, len,
				       start, &f.ms, &f.me) :
		run(st, jn->code, jn->lowered ? low : s, len, start, 0,
		    &f.ms, &f.me);
	if (rc < 0)
		f.rule = -2;
	else if (rc > 0)
		f.rule = which_rule(st, scope, jn, s, len, f.ms, &f.me);
	return f;
}

static struct found rule_find(struct dedup_stripper *st, size_t i,
			      const char *s, size_t len, size_t start)
{
	struct found f = { -1, 0, 0 };
	int rc = run(st, st->rules->v[i].code, s, len, start, 0, &f.ms,
		     &f.me);

	if (rc < 0) {
		limit_hit(st, i);
		f.rule = -1; /* skipped from now on */
		return f;
	}
	if (rc > 0)
		f.rule = (long)i;
	return f;
}

static int memo_holds(const struct dedup_stripper *st, const struct memo *m,
		      size_t start)
{
	return m && m->line == st->memo_line &&
	       (m->f.rule == -1 || m->f.ms >= start);
}

/* Take f if it starts before the best so far (ties: the longer). */
static void keep_best(struct found *best, const struct found *f)
{
	if (f->rule < 0)
		return;
	if (best->rule < 0 || f->ms < best->ms ||
	    (f->ms == best->ms && f->me > best->me))
		*best = *f;
}

/*
 * The leftmost match of any rule of `scope` in s[start..len), a line of
 * `chars` characters; `low` is the line lowercased in place, or NULL;
 * `memo` (joins first, then rules) keeps answers across calls on one line,
 * or is NULL. Returns the rule index and bounds, or -1.
 */
static long scope_find(struct dedup_stripper *st, enum rule_scope scope,
		       const char *s, const char *low, size_t len,
		       unsigned chars, size_t start, struct memo *memo,
		       size_t *ms, size_t *me)
{
	const struct dedup_rules *rs = st->rules;
	const struct rule_group *g;
	struct found best = { -1, 0, 0 }, f;
	size_t i, k, n;

	if (!rs)
		return -1;
	g = &rs->group[scope];
	if (!g->nrules)
		return -1;
	for (i = 0; i < g->njoin && !st->fallback[scope]; i++) {
		const struct rule_join *jn = &g->join[i];
		struct memo *m = memo ? &memo[i] : NULL;

		if ((jn->anchored && start > 0) ||
		    (jn->maxlen && chars > jn->maxlen))
			continue;
		if (memo_holds(st, m, start)) {
			keep_best(&best, &m->f);
			continue;
		}
		f = join_find(st, scope, jn, s, low, len, start);
		if (f.rule == -2) {
			/* find the culprit among the single rules */
			st->fallback[scope] = 1;
			best.rule = -1;
			break;
		}
		if (m) {
			m->f = f;
			m->line = st->memo_line;
		}
		keep_best(&best, &f);
	}
	/* the solo rules, or every rule of the scope after a fallback */
	n = st->fallback[scope] ? rs->n : g->nsolo;
	for (k = 0; k < n; k++) {
		size_t r = st->fallback[scope] ? k : g->solo[k];
		const struct rule *rl = &rs->v[r];
		struct memo *m = memo ? &memo[g->njoin + r] : NULL;

		if (rl->scope != scope || st->disabled[r] ||
		    (rl->maxlen && chars > rl->maxlen) ||
		    (rl->anchored && start > 0))
			continue;
		if (!rl->solo && !st->fallback[scope])
			continue;
		if (memo_holds(st, m, start)) {
			keep_best(&best, &m->f);
			continue;
		}
		f = rule_find(st, r, s, len, start);
		if (m && !st->disabled[r]) {
			m->f = f;
			m->line = st->memo_line;
		}
		keep_best(&best, &f);
	}
	*ms = best.ms;
	*me = best.me;
	return best.rule;
}

/* ---- building segments ---- */

static unsigned count_chars(const char *s, size_t len)
{
	unsigned n = 0;
	size_t i = 0;

#ifdef STRIP_AVX2
	if (len >= 32 && __builtin_cpu_supports("avx2"))
		i = count_chars_avx2(s, len, &n);
#endif
#ifdef STRIP_SWAR
	/* eight bytes at a time: continuation bytes have bit 7 and not 6;
	 * their flags, moved to bit 0, are summed into the top byte by the
	 * multiply (no popcount instruction in a baseline x86-64 build) */
	for (; len - i >= 8; i += 8) {
		uint64_t x = swar_load(s + i);
		uint64_t cont = (x & ~(x << 1) & SWAR_HIGH) >> 7;

		n += 8 - (unsigned)((cont * SWAR_ONES) >> 56);
	}
#endif
	for (; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

static int log_piece(struct dedup_buf *log, const char *reason,
		     const char *s, size_t len)
{
	size_t i;

	if (!log)
		return 0;
	if (dedup_buf_addstr(log, reason) || dedup_buf_addch(log, '\t'))
		return -1;
	for (i = 0; i < len; i++)
		if (dedup_buf_addch(log, s[i] == '\t' || s[i] == '\n' ?
				    ' ' : s[i]))
			return -1;
	return dedup_buf_addch(log, '\n') ? -1 : 0;
}

static int add_seg(void *ctx, size_t off, size_t len, unsigned flags)
{
	struct dedup_stripper *st = ctx;
	struct seg *g;

	(void)flags;
	if (st->nsegs == st->asegs) {
		size_t na = st->asegs ? 2 * st->asegs : 256;
		struct seg *nv = realloc(st->segs, na * sizeof(*nv));

		if (!nv)
			return -1;
		st->segs = nv;
		st->asegs = na;
	}
	g = &st->segs[st->nsegs++];
	memset(g, 0, sizeof(*g));
	/* offsets so far are relative to the line; moved below */
	g->off = off;
	g->len = len;
	g->line = st->cur_line;
	g->blank = st->cur_blank;
	st->cur_blank = 0;
	return 0;
}

static int is_space_byte(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Whether offset x of s[0..len) falls inside a UTF-8 sequence. */
static int mid_char(const char *s, size_t len, size_t x)
{
	return x < len && ((unsigned char)s[x] & 0xC0) == 0x80;
}

/*
 * Append s[a..b) to st->work, and the same bytes of the lowercased line
 * `low` to st->lwork while it is kept; a piece that starts or ends inside
 * a character would lowercase differently alone, so it ends that (and
 * cut_spans() puts the line's bytes there instead).
 */
static int add_piece(struct dedup_stripper *st, const char *s,
		     const char *low, size_t len, size_t a, size_t b)
{
	if (st->line_lowok && (mid_char(s, len, a) || mid_char(s, len, b)))
		st->line_lowok = 0;
	if (st->line_lowok && dedup_buf_add(&st->lwork, low + a, b - a))
		return -1;
	return dedup_buf_add(&st->work, s + a, b - a) ? -1 : 0;
}

/*
 * Cut span rule matches out of the line into st->work from st->line_at,
 * logging them; with rules, lowercase the line for them and for its
 * segments' rules, into st->lwork at the same offset.
 */
static dedup_status cut_spans(struct dedup_stripper *st, const char *s,
			      size_t len, int use_rules, struct dedup_buf *log)
{
	size_t pos = 0, ms, me;
	unsigned chars = 0;
	const char *low = NULL;
	int spans;
	long r;

	st->line_at = st->work.len;
	st->line_lowok = 0;
	/* no answer of an earlier line holds, without clearing them all */
	st->memo_line++;
	if (use_rules && st->rules && st->rules->n && lower_line(st, s, len)) {
		low = st->lower.buf;
		st->line_lowok = 1;
	}
	spans = use_rules && st->rules &&
		st->rules->group[SCOPE_SPAN].nrules;
	if (spans)
		chars = count_chars(s, len);
	while (spans && pos < len) {
		r = scope_find(st, SCOPE_SPAN, s, low, len, chars, pos,
			       st->memo, &ms, &me);
		if (r < 0)
			break;
		if (me == ms) {
			/* refused when the rules are read; should one get
			 * through, step over a whole character, cutting
			 * nothing */
			size_t next = ms + 1;

			while (next < len && ((unsigned char)s[next] & 0xC0) ==
					     0x80)
				next++;
			if (add_piece(st, s, low, len, pos, next))
				return DEDUP_ENOMEM;
			pos = next;
			continue;
		}
		if (add_piece(st, s, low, len, pos, ms) ||
		    log_piece(log, st->rules->v[r].name, s + ms, me - ms))
			return DEDUP_ENOMEM;
		/* keep words apart: "end.{{x}}Next" */
		if (st->work.len > st->line_at &&
		    !is_space_byte(st->work.buf[st->work.len - 1]) &&
		    me < len && !is_space_byte(s[me]) &&
		    (dedup_buf_addch(&st->work, ' ') ||
		     (st->line_lowok && dedup_buf_addch(&st->lwork, ' '))))
			return DEDUP_ENOMEM;
		pos = me;
	}
	if (add_piece(st, s, low, len, pos, len))
		return DEDUP_ENOMEM;
	/* without its lowercase, the line's bytes keep lwork aligned */
	if (!st->line_lowok) {
		dedup_buf_setlen(&st->lwork, st->line_at);
		if (dedup_buf_add(&st->lwork, st->work.buf + st->line_at,
				  st->work.len - st->line_at))
			return DEDUP_ENOMEM;
	}
	return DEDUP_OK;
}

static int is_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

static dedup_status build_segments(struct dedup_stripper *st,
				   const struct dedup_strip_opts *opts,
				   const char *text, size_t len,
				   struct dedup_buf *log)
{
	const char *p = text, *end = text + len;
	dedup_status s;

	st->nsegs = 0;
	st->cur_line = 0;
	st->cur_blank = 0;
	dedup_buf_reset(&st->work);
	dedup_buf_reset(&st->lwork);
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t first = st->nsegs, i, base;

		if (!eol)
			eol = end;
		s = cut_spans(st, p, (size_t)(eol - p), opts->use_rules, log);
		if (s)
			return s;
		base = st->line_at;
		if (strip_segments(st->work.buf + base, st->work.len - base,
				   add_seg, st))
			return DEDUP_ENOMEM;
		/* a line emptied by span rules is not a paragraph break */
		if (st->nsegs == first && is_blank(p, (size_t)(eol - p)))
			st->cur_blank = 1;
		if (dedup_buf_addch(&st->work, '\n') ||
		    dedup_buf_addch(&st->lwork, '\n'))
			return DEDUP_ENOMEM;
		for (i = first; i < st->nsegs; i++) {
			st->segs[i].off += base;
			st->segs[i].lowok = st->line_lowok;
		}
		st->cur_line++;
		p = eol + 1;
	}
	return DEDUP_OK;
}

/* ---- evidence ---- */

static int ends_sentence(const char *s, size_t len)
{
	/* skip closing quotes and brackets */
	while (len) {
		unsigned char c = (unsigned char)s[len - 1];

		if (c == '"' || c == '\'' || c == ')' || c == ']')
			len--;
		else if (len >= 3 && (unsigned char)s[len - 3] == 0xE2 &&
			 (unsigned char)s[len - 2] == 0x80 &&
			 (c == 0x9D || c == 0x99 || c == 0x9C))
			len -= 3; /* ” ’ “ */
		else if (len >= 2 && (unsigned char)s[len - 2] == 0xC2 &&
			 c == 0xBB)
			len -= 2; /* » */
		else
			break;
	}
	if (!len)
		return 0;
	switch (s[len - 1]) {
	case '.': case '!': case '?': case ':': case ';':
		return 1;
	default:
		/* … 。 ！ ？ */
		return len >= 3 && (unsigned char)s[len - 3] >= 0xE2 &&
		       (!memcmp(s + len - 3, "\xe2\x80\xa6", 3) ||
			!memcmp(s + len - 3, "\xe3\x80\x82", 3) ||
			!memcmp(s + len - 3, "\xef\xbc\x81", 3) ||
			!memcmp(s + len - 3, "\xef\xbc\x9f", 3));
	}
}


/* Room for twice as many words; -1 without memory. */
static int grow_words(struct dedup_stripper *st)
{
	size_t na = st->awords ? 2 * st->awords : 1024;
	uint64_t *nh = realloc(st->whash, na * sizeof(*nh));
	uint32_t *nl;
	unsigned char *nf;

	/* each array keeps what it got: freed with the stripper */
	if (nh)
		st->whash = nh;
	nl = nh ? realloc(st->wlangs, na * sizeof(*nl)) : NULL;
	if (nl)
		st->wlangs = nl;
	nf = nl ? realloc(st->wflags, na) : NULL;
	if (nf)
		st->wflags = nf;
	if (!nf)
		return -1;
	st->awords = na;
	return 0;
}

/*
 * Split every segment into words, with their hashes when something will
 * look them up (need_hash), and the stopword languages of each, looked
 * up once for the density of every segment. Returns -1 without memory.
 */
static int split_words(struct dedup_stripper *st, int need_hash)
{
	struct strip_word w;
	size_t i, pos, n, k;

	st->nwords = 0;
	for (i = 0; i < st->nsegs; i++) {
		struct seg *g = &st->segs[i];
		const char *s = st->work.buf + g->off;

		g->word0 = st->nwords;
		if (need_hash) {
			/* room for the most words the segment can hold */
			while (st->awords - st->nwords < (g->len + 1) / 2)
				if (grow_words(st))
					return -1;
			n = strip_words_hash(s, g->len, st->whash + st->nwords,
					     st->wflags + st->nwords);
			for (k = st->nwords; k < st->nwords + n; k++)
				st->wlangs[k] = st->sw ?
					dedup_stopwords_langs(st->sw,
							      st->whash[k]) : 0;
			st->nwords += n;
			g->words += n;
			continue;
		}
		pos = 0;
		for (;;) {
			uint64_t h = 0;

			if (need_hash ?
			    !strip_next_word_hash(s, g->len, &pos, &w, &h) :
			    !strip_next_word(s, g->len, &pos, &w))
				break;
			if (st->nwords == st->awords && grow_words(st))
				return -1;
			st->whash[st->nwords] = h;
			st->wlangs[st->nwords] = st->sw ?
				dedup_stopwords_langs(st->sw, h) : 0;
			st->wflags[st->nwords++] = (unsigned char)w.flags;
			g->words++;
		}
	}
	return 0;
}

/* The document language from the stopwords of its first words. */
static int detect_lang(const struct dedup_stripper *st)
{
	size_t n = st->nwords < MAX_LANG_WORDS ? st->nwords : MAX_LANG_WORDS;

	return dedup_stopwords_detect_langs(st->sw, st->wlangs, n);
}

static void measure(struct dedup_stripper *st, struct seg *g, int lang)
{
	const char *s = st->work.buf + g->off;
	unsigned alnum = 0, caps = 0, stop = 0;
	size_t k;

	g->chars = count_chars(s, g->len);
	g->sentence = ends_sentence(s, g->len);
	/* sums without a branch: each test is a coin toss to the branch
	 * predictor, word after word */
	for (k = g->word0; k < g->word0 + g->words; k++) {
		unsigned f = st->wflags[k];

		alnum += (f & (STRIP_WORD_ALPHA | STRIP_WORD_NUMBER)) != 0;
		caps += (f & STRIP_WORD_UPPER) != 0;
	}
	if (lang >= 0 && lang < 32)
		for (k = g->word0; k < g->word0 + g->words; k++)
			stop += st->wlangs[k] >> lang & 1u;
	g->alnum += alnum;
	g->caps += caps;
	g->stop += stop;
}

static enum cls classify(const struct seg *g, int lang)
{
	double density, caps;

	/* rules of underscores, dashes, stars: decoration */
	if (!g->words || !g->alnum)
		return CLS_BAD;
	if (g->chars < LEN_LOW)
		return CLS_SHORT;
	caps = (double)g->caps / g->words;
	if (lang == DEDUP_LANG_NONE) {
		/* no stopword cue: sentences of some length are text */
		if (caps >= CAPS_BAD && !g->sentence)
			return CLS_BAD;
		if (g->sentence)
			return g->chars >= LEN_HIGH ? CLS_GOOD : CLS_NEAR;
		return CLS_NEAR;
	}
	density = (double)g->stop / g->words;
	if (caps >= CAPS_BAD && density < SW_HIGH)
		return CLS_BAD;
	if (density >= SW_HIGH)
		return g->chars >= LEN_HIGH ? CLS_GOOD : CLS_NEAR;
	if (density >= SW_LOW)
		return CLS_NEAR;
	/* a long sentence dense with names and numbers: a news lead */
	if (g->sentence && g->chars >= LEN_HIGH && density >= SW_NAMES)
		return CLS_NEAR;
	return CLS_BAD;
}

/* Nearest good/bad class before (dir -1) or after (dir 1) segment i;
 * near-good counts unless skip_near; the document edges are bad. */
static enum cls neighbour(const struct seg *v, size_t n, size_t i, int dir,
			  int skip_near)
{
	while (dir < 0 ? i > 0 : i + 1 < n) {
		i += (size_t)(long)dir;
		/* skip_near 2: also look past what rules removed */
		if (skip_near == 2 && v[i].hard)
			continue;
		if (v[i].cls == CLS_GOOD || v[i].cls == CLS_BAD)
			return v[i].cls;
		if (v[i].cls == CLS_NEAR && !skip_near)
			return CLS_NEAR;
	}
	return CLS_BAD;
}

/* A short, unpunctuated segment followed by good text within reach. */
static int is_heading(const struct seg *v, size_t n, size_t i)
{
	size_t dist = 0, j;

	if (v[i].hard || v[i].sentence || v[i].words > HEADING_MAX_WORDS ||
	    !v[i].words)
		return 0;
	for (j = i + 1; j < n && dist <= HEADING_DIST; j++) {
		/* a byline or dateline between: the page's own title */
		if (v[j].hard)
			return 0;
		if (v[j].cls == CLS_GOOD ||
		    (v[j].cls == CLS_NEAR && v[j].sentence && !v[j].heading))
			return 1;
		dist += v[j].chars;
	}
	return 0;
}

/*
 * Articles written in paragraphs of one or two sentences have no single
 * good block: a run of near-good segments long enough together is good.
 */
static void promote_runs(struct seg *v, size_t n)
{
	size_t i = 0, j, k, chars;

	while (i < n) {
		if (v[i].cls != CLS_NEAR) {
			i++;
			continue;
		}
		chars = 0;
		for (j = i; j < n; j++) {
			/* a lone short line (a subheading) does not end it */
			if (v[j].cls == CLS_SHORT && !v[j].hard && j + 1 < n &&
			    v[j + 1].cls == CLS_NEAR && !v[j + 1].hard)
				continue;
			if (v[j].cls != CLS_NEAR && !v[j].hard)
				break;
			if (!v[j].hard)
				chars += v[j].chars;
		}
		if (chars >= RUN_GOOD)
			for (k = i; k < j; k++)
				if (v[k].cls == CLS_NEAR)
					v[k].cls = CLS_GOOD;
		i = j;
	}
}

static void smooth(struct seg *v, size_t n)
{
	enum cls *next;
	size_t i;

	for (i = 0; i < n; i++)
		v[i].cls = v[i].hard ? CLS_BAD : v[i].cf;
	promote_runs(v, n);
	/* headings before good text count as near-good */
	for (i = 0; i < n; i++) {
		v[i].heading = v[i].cls == CLS_SHORT && is_heading(v, n, i);
		if (v[i].heading)
			v[i].cls = CLS_NEAR;
	}
	next = malloc(n * sizeof(*next));
	if (!next) {
		/* without memory, decide without context */
		for (i = 0; i < n; i++)
			if (v[i].cls == CLS_SHORT)
				v[i].cls = CLS_BAD;
	} else {
		for (i = 0; i < n; i++) {
			enum cls p, q;

			next[i] = v[i].cls;
			if (v[i].cls != CLS_SHORT)
				continue;
			p = neighbour(v, n, i, -1, 1);
			q = neighbour(v, n, i, 1, 1);
			if (p == CLS_GOOD && q == CLS_GOOD)
				next[i] = CLS_GOOD;
			else if (p == CLS_BAD && q == CLS_BAD)
				next[i] = CLS_BAD;
			else if ((p == CLS_BAD &&
				  neighbour(v, n, i, -1, 0) == CLS_NEAR) ||
				 (q == CLS_BAD &&
				  neighbour(v, n, i, 1, 0) == CLS_NEAR))
				next[i] = CLS_GOOD;
			else
				next[i] = CLS_BAD;
		}
		for (i = 0; i < n; i++)
			v[i].cls = next[i];
		free(next);
	}
	for (i = 0; i < n; i++) {
		if (v[i].cls != CLS_NEAR)
			continue;
		if (neighbour(v, n, i, -1, 2) == CLS_BAD &&
		    neighbour(v, n, i, 1, 2) == CLS_BAD)
			v[i].cls = CLS_BAD;
		else
			v[i].cls = CLS_GOOD;
	}
	/* headings that ended up bad but lead into good text */
	for (i = 0; i < n; i++)
		if (v[i].cls == CLS_BAD && !v[i].hard && v[i].cf != CLS_BAD &&
		    is_heading(v, n, i))
			v[i].cls = CLS_GOOD;
}

static void corpus_evidence(struct dedup_stripper *st,
			    const struct dedup_linestats *ls)
{
	double noise = 3.0 * strip_linestats_noise(ls);
	uint32_t thr_short = RECUR_SHORT + (uint32_t)(noise + 0.999);
	uint32_t thr_long = RECUR_LONG + (uint32_t)(noise + 0.999);
	size_t i, text_chars = 0, recur_chars = 0;
	int keep_long;

	/* the fingerprints first, their counters asked for at once (they
	 * are in random places of a table of megabytes) */
	for (i = 0; i < st->nsegs; i++) {
		struct seg *g = &st->segs[i];

		g->fp = g->hard ? 0 :
			strip_fingerprint_words(st->whash + g->word0,
						st->wflags + g->word0,
						g->words);
		if (g->fp)
			strip_linestats_prefetch(ls, g->fp);
	}
	for (i = 0; i < st->nsegs; i++) {
		struct seg *g = &st->segs[i];
		int longish = g->words >= RECUR_LONG_WORDS && g->sentence;
		uint64_t fp = g->fp;

		if (longish)
			text_chars += g->chars;
		if (g->hard)
			continue;
		if (!fp || strip_linestats_count(ls, fp) <
			   (longish ? thr_long : thr_short))
			continue;
		g->recur = longish ? RECUR_SENTENCE : RECUR_LINE;
		if (longish)
			recur_chars += g->chars;
	}
	/* mostly recurring sentences: a copied article, not a template */
	keep_long = recur_chars >= RECUR_MAX_SHARE * (double)text_chars;
	for (i = 0; i < st->nsegs; i++) {
		struct seg *g = &st->segs[i];

		if (!g->recur || (g->recur == RECUR_SENTENCE && keep_long)) {
			g->recur = 0;
			continue;
		}
		/* evidence, not a verdict: neighbours see a bad line */
		g->cf = CLS_BAD;
	}
}

/* ---- the stage ---- */

static dedup_status emit_output(struct dedup_stripper *st,
				struct dedup_buf *out, struct dedup_buf *log)
{
	size_t i;
	int any = 0;

	for (i = 0; i < st->nsegs; i++) {
		const struct seg *g = &st->segs[i];
		const char *s = st->work.buf + g->off;

		if (g->cls != CLS_GOOD || g->hard) {
			if (log_piece(log, g->reason ? g->reason : "evidence",
				      s, g->len))
				return DEDUP_ENOMEM;
			continue;
		}
		if (any && g->blank && dedup_buf_addch(out, '\n'))
			return DEDUP_ENOMEM;
		if (dedup_buf_add(out, s, g->len) || dedup_buf_addch(out, '\n'))
			return DEDUP_ENOMEM;
		any = 1;
	}
	return DEDUP_OK;
}

/*
 * The article is one stretch of the page: the stretch with the largest
 * balance of text over boilerplate (maximum-sum subarray of per-segment
 * scores, as in body text extraction), plus any other stretch with at
 * least REGION_SHARE of that balance (an embedded post or an ad box can cut
 * an article in two). Outside them, only segments good on their own
 * evidence are kept: context does not rescue short lines and near-good
 * text among menus, link lists and footers.
 */
static double region_score(const struct seg *g)
{
	/* a post embedded in the article does not end the article */
	if (g->embed)
		return 0;
	if (g->hard)
		return -HARD_PEN * g->chars;
	switch (g->cf) {
	case CLS_GOOD:
		return g->chars;
	case CLS_NEAR:
		return NEAR_WEIGHT * g->chars;
	case CLS_SHORT:
		return -SHORT_PEN;
	default:
		return -(double)g->chars;
	}
}

/* Kadane's scan; with mark, flags the stretches worth >= min. */
static double scan_regions(struct seg *v, size_t n, double min, int mark)
{
	double best = 0, cur = 0, run = 0;
	size_t i, k, start = 0, ra = 0, rb = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || cur <= 0) {
			if (mark && run > 0 && run >= min)
				for (k = ra; k < rb; k++)
					v[k].region = 1;
			if (i == n)
				break;
			cur = 0;
			run = 0;
			start = i;
		}
		cur += region_score(&v[i]);
		if (cur > run) {
			run = cur;
			ra = start;
			rb = i + 1;
		}
		if (cur > best)
			best = cur;
	}
	return best;
}

static void main_region(struct seg *v, size_t n)
{
	double best;
	size_t i;

	for (i = 0; i < n; i++)
		v[i].region = 0;
	best = scan_regions(v, n, 0, 0);
	if (best <= 0)
		return;
	scan_regions(v, n, REGION_SHARE * best, 1);
	for (i = 0; i < n; i++)
		if (!v[i].hard && !v[i].region && v[i].cf != CLS_GOOD)
			v[i].cls = CLS_BAD;
}

/* Capitalised words without a sentence: a menu, not a caption or byline. */
static int menu_like(const struct seg *g)
{
	return !g->hard && !g->sentence && g->words &&
	       (double)g->caps / g->words >= CAPS_BAD;
}

/*
 * Just above the article, pages put its headline again and a standfirst
 * (a one-sentence summary), separated from the first paragraph by a
 * dateline, a byline or a photo caption: things that cut the main stretch.
 * Looking back a few segments from where the stretch begins, a sentence of
 * some length that is not bad on its own evidence is the standfirst (a
 * shorter one reads like a newsletter or share prompt and stays out), and a
 * segment that says what the document's first line says is the headline
 * (a short heading alone is not: "Related", "Most read" look the same).
 * The first line itself is the headline when nothing but rule-removed
 * lines (byline, date, read time) and that lead separate it from the text.
 */
static void lead_in(struct dedup_stripper *st)
{
	struct seg *v = st->segs;
	size_t n = st->nsegs, i, first, start, seen = 0;
	uint64_t title = 0;
	unsigned words;

	for (first = 0; first < n && v[first].hard; first++)
		;
	/* where kept text begins: the stretch's start may be cut already */
	for (start = first; start < n && !(v[start].region &&
					   v[start].cls == CLS_GOOD); start++)
		;
	if (start >= n)
		return;
	if (v[first].words >= 3)
		title = strip_fingerprint(st->work.buf + v[first].off,
					  v[first].len, &words);
	for (i = start; i > first + 1 && seen < LEAD_BACK; ) {
		struct seg *g = &v[--i];

		if (g->hard)
			continue;
		seen++;
		if (g->cls == CLS_GOOD || g->recur)
			continue;
		if (g->sentence && g->words >= LEAD_MIN_WORDS &&
		    (g->cf == CLS_NEAR || g->cf == CLS_GOOD))
			g->cls = CLS_GOOD;
		else if (title && g->words <= HEADING_MAX_WORDS &&
			 strip_fingerprint(st->work.buf + g->off, g->len,
					   &words) == title)
			g->cls = CLS_GOOD;
	}
	for (i = first + 1, seen = 0; i < start && seen <= LEAD_BACK &&
	     (v[i].hard || (v[i].cf != CLS_BAD && !menu_like(&v[i]))); i++)
		seen += !v[i].hard;
	if (i == start && v[first].words >= 3 &&
	    v[first].words <= HEADING_MAX_WORDS && v[first].cf != CLS_BAD)
		v[first].cls = CLS_GOOD;
}

/*
 * A document of one or two plain paragraphs, or of a headline and a few
 * short lines, has no good block to anchor the context; rather than return
 * nothing, keep its sentence-like text, or else its lines of a few words
 * that no rule or corpus count removed.
 */
static void keep_something(struct seg *v, size_t n)
{
	size_t i;
	int kept = 0;

	for (i = 0; i < n; i++)
		if (!v[i].hard && v[i].cls == CLS_GOOD)
			return;
	for (i = 0; i < n; i++)
		if (!v[i].hard &&
		    (v[i].cf == CLS_NEAR || v[i].cf == CLS_GOOD)) {
			v[i].cls = CLS_GOOD;
			kept = 1;
		}
	for (i = 0; i < n && !kept; i++)
		if (!v[i].hard && v[i].cf == CLS_SHORT && !v[i].recur &&
		    v[i].words >= FALLBACK_WORDS)
			v[i].cls = CLS_GOOD;
}

/*
 * The first end-of-article marker that ends the article: it must follow
 * kept text, and at least as much kept text must come before it as after
 * it, so that a "Related" or "Topics" box above or beside the article does
 * not cut the article itself. (size_t)-1 when none.
 */
static size_t find_tail(const struct dedup_stripper *st)
{
	size_t i, before = 0, after = 0;

	for (i = 0; i < st->nsegs; i++)
		if (!st->segs[i].hard && st->segs[i].cls == CLS_GOOD)
			after += st->segs[i].chars;
	for (i = 0; i < st->nsegs; i++) {
		const struct seg *g = &st->segs[i];

		if (g->tail && before && before >= after)
			return i;
		if (!g->hard && g->cls == CLS_GOOD) {
			before += g->chars;
			after -= g->chars;
		}
	}
	return (size_t)-1;
}

/* The signature line of an embedded post and the post's lines above it. */
static void drop_embed(struct dedup_stripper *st, size_t i, const char *why)
{
	size_t j = i, k;

	st->segs[i].hard = 1;
	st->segs[i].embed = 1;
	st->segs[i].reason = why;
	for (k = 0; k < EMBED_BACK && j > 0 && !st->segs[j].blank; k++) {
		j--;
		if (st->segs[j].chars > EMBED_MAX_CHARS)
			break;
		st->segs[j].hard = 1;
		st->segs[j].embed = 1;
		st->segs[j].reason = why;
	}
}

static const char *evidence_name(const struct seg *g, int lang)
{
	if (g->recur)
		return "recurring";
	if (g->cf == CLS_SHORT)
		return "short-line";
	if (g->cf == CLS_BAD) {
		if (g->words && (double)g->caps / g->words >= CAPS_BAD)
			return "capitalised";
		return lang == DEDUP_LANG_NONE ? "not-sentence" :
		       "few-stopwords";
	}
	return "context";
}

dedup_status dedup_strip(struct dedup_stripper *st,
			 const struct dedup_strip_opts *opts,
			 const char *text, size_t len, struct dedup_buf *out,
			 struct dedup_buf *log, struct dedup_error *err)
{
	struct dedup_strip_opts none = { 1, 1, NULL };
	size_t i, tail, ms, me;
	int lang = DEDUP_LANG_NONE;
	dedup_status s;

	if (!opts)
		opts = &none;
	dedup_buf_reset(out);
	/* the per-rule arrays were sized for the set as it was */
	if (st->rules && st->rules->n != st->nrules)
		return dedup_error_set(err, DEDUP_EINVAL,
			"rules were added after the stripper was made");
	st->err = err;
	st->limit_st = DEDUP_OK;
	memset(st->fallback, 0, sizeof(st->fallback));
	if (st->disabled)
		memset(st->disabled, 0, st->rules->n);
	st->qpos_of = NULL;
	s = build_segments(st, opts, text, len, log);
	if (s)
		goto fail;
	st->qpos_of = NULL;
	if (split_words(st, st->sw || opts->lines)) {
		s = DEDUP_ENOMEM;
		goto fail;
	}
	if (st->sw)
		lang = detect_lang(st);
	for (i = 0; i < st->nsegs; i++) {
		struct seg *g = &st->segs[i];
		const char *p = st->work.buf + g->off, *low;
		long r;

		measure(st, g, lang);
		g->cf = classify(g, lang);
		if (!opts->use_rules || !st->rules)
			continue;
		if (g->lowok)
			low = st->lwork.buf + g->off;
		else
			low = lower_line(st, p, g->len) ? st->lower.buf : NULL;
		/* a tail rule first: it is the stronger verdict */
		r = scope_find(st, SCOPE_TAIL, p, low, g->len, g->chars, 0,
			       NULL, &ms, &me);
		if (r >= 0) {
			g->hard = 1;
			g->tail = 1;
			g->reason = st->rules->v[r].name;
			continue;
		}
		r = scope_find(st, SCOPE_LINE, p, low, g->len, g->chars, 0,
			       NULL, &ms, &me);
		if (r >= 0) {
			g->hard = 1;
			g->reason = st->rules->v[r].name;
			continue;
		}
		r = scope_find(st, SCOPE_EMBED, p, low, g->len, g->chars, 0,
			       NULL, &ms, &me);
		if (r >= 0) {
			drop_embed(st, i, st->rules->v[r].name);
			continue;
		}
	}
	if (opts->lines)
		corpus_evidence(st, opts->lines);
	if (opts->use_evidence) {
		smooth(st->segs, st->nsegs);
	} else {
		for (i = 0; i < st->nsegs; i++)
			st->segs[i].cls = st->segs[i].hard ? CLS_BAD : CLS_GOOD;
	}
	if (opts->use_evidence) {
		main_region(st->segs, st->nsegs);
		lead_in(st);
	}
	if (opts->use_evidence)
		keep_something(st->segs, st->nsegs);
	tail = find_tail(st);
	for (i = 0; i < st->nsegs; i++) {
		struct seg *g = &st->segs[i];

		if (!g->hard && g->cls != CLS_GOOD)
			g->reason = evidence_name(g, lang);
		if (i > tail) {
			g->hard = 1;
			g->reason = st->segs[tail].reason;
		}
	}
	s = emit_output(st, out, log);
	if (s)
		goto fail;
	return st->limit_st;
fail:
	return dedup_error_set(err, s, "out of memory while stripping");
}
