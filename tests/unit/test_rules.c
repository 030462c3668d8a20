/* test_rules.c - rule file parsing, compiling, errors and scopes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unicode/utf8.h>

#include "dedup/buf.h"
#include "dedup/strip.h"
#include "strip_prefilter.h"
#include "strip_rules.h"

static dedup_status add(struct dedup_rules *rs, const char *text,
			struct dedup_error *err)
{
	return dedup_rules_add_text(rs, text, strlen(text), "site.rules", err);
}

/* Strip `text` with only the rules of `rules` (no text evidence). */
static void strip_with(const char *rules, const char *text,
		       struct dedup_buf *out, struct dedup_buf *log)
{
	static const struct dedup_strip_opts opts = { 1, 0, NULL };
	struct dedup_stripper *st;
	struct dedup_rules *rs;
	struct dedup_error err;

	assert_int_equal(dedup_rules_new(&rs, &err), DEDUP_OK);
	if (add(rs, rules, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(dedup_stripper_new(&st, rs, NULL, &err), DEDUP_OK);
	dedup_buf_reset(log);
	assert_int_equal(dedup_strip(st, &opts, text, strlen(text), out, log,
				     &err), DEDUP_OK);
	dedup_stripper_free(st);
	dedup_rules_free(rs);
}

static void test_builtin(void **state)
{
	struct dedup_rules *rs;
	struct dedup_error err;

	(void)state;
	assert_int_equal(dedup_rules_new(&rs, &err), DEDUP_OK);
	assert_int_equal(dedup_rules_count(rs), 0);
	if (dedup_rules_add_builtin(rs, &err))
		fail_msg("%s", err.msg);
	assert_true(dedup_rules_count(rs) >= 30);
	dedup_rules_free(rs);
	dedup_rules_free(NULL);
}

static void test_syntax(void **state)
{
	struct dedup_rules *rs;
	struct dedup_error err;

	(void)state;
	assert_int_equal(dedup_rules_new(&rs, &err), DEDUP_OK);
	assert_int_equal(add(rs,
		"# comment\n"
		"\n"
		"   # indented comment\n"
		"line menu ^(?:home|news)$\n"
		"span/i promo \\[promo\\]\n"
		"tail end-marker {\n"
		"\t^the end$\n"
		"\n"
		"\t# not an alternative\n"
		"\t^fin$\n"
		"}\n"
		"embed post ^-- posted by \\w+$\r\n", &err), DEDUP_OK);
	assert_int_equal(dedup_rules_count(rs), 4);
	/* no final newline */
	assert_int_equal(add(rs, "line x ^x$", &err), DEDUP_OK);
	assert_int_equal(dedup_rules_count(rs), 5);
	dedup_rules_free(rs);
}

static void expect_error(const char *text, const char *msg)
{
	struct dedup_rules *rs;
	struct dedup_error err;

	assert_int_equal(dedup_rules_new(&rs, &err), DEDUP_OK);
	assert_int_equal(add(rs, "line ok ^ok$\n", &err), DEDUP_OK);
	assert_int_equal(add(rs, text, &err), DEDUP_ERULE);
	assert_int_equal(err.code, DEDUP_ERULE);
	if (!strstr(err.msg, msg))
		fail_msg("message '%s' lacks '%s'", err.msg, msg);
	/* the set is unchanged */
	assert_int_equal(dedup_rules_count(rs), 1);
	dedup_rules_free(rs);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("line a ^a$\nline menu (?:home|news\n",
		     "'site.rules' line 2: rule 'menu': missing closing "
		     "parenthesis at offset 12");
	expect_error("block x ^x$\n", "'site.rules' line 1: unknown scope "
		     "'block'");
	expect_error("line/q x ^x$\n", "line 1: unknown option 'q' in "
		     "'line/q'");
	expect_error("line/i/0 x ^x$\n", "unknown option '0'");
	expect_error("line bad/name ^x$\n", "line 1: bad rule name "
		     "'bad/name'");
	expect_error("line lonely\n", "line 1: rule 'lonely': missing "
		     "pattern");
	expect_error("line open {\n\t^a$\n", "line 1: rule 'open': block "
		     "not closed with '}'");
	expect_error("line none {\n}\n", "line 1: rule 'none': empty block");
	expect_error("line all .*\n", "line 1: rule 'all': matches an "
		     "empty line");
	/* a span rule must cut something wherever it matches (found by
	 * fuzz_rules: an empty match cut one byte of a UTF-8 sequence) */
	expect_error("span edge \\b\n", "line 1: rule 'edge': matches "
		     "empty text");
	expect_error("span maybe x*\n", "matches empty text");
	/* the error names the line of the bad alternative in a block */
	expect_error("span tags {\n\tfoo\n\tba(r\n}\n",
		     "'site.rules' line 3: rule 'tags': missing closing "
		     "parenthesis");
}

/* A stripper refuses a rule set that grew after it was made. */
static void test_set_changed(void **state)
{
	struct dedup_buf out = DEDUP_BUF_INIT;
	struct dedup_stripper *st;
	struct dedup_rules *rs;
	struct dedup_error err;

	(void)state;
	assert_int_equal(dedup_rules_new(&rs, &err), DEDUP_OK);
	assert_int_equal(add(rs, "line a ^a$\n", &err), DEDUP_OK);
	assert_int_equal(dedup_stripper_new(&st, rs, NULL, &err), DEDUP_OK);
	assert_int_equal(dedup_strip(st, NULL, "a\nb\n", 4, &out, NULL,
				     &err), DEDUP_OK);
	assert_int_equal(add(rs, "line b ^b$\n", &err), DEDUP_OK);
	assert_int_equal(dedup_strip(st, NULL, "a\nb\n", 4, &out, NULL,
				     &err), DEDUP_EINVAL);
	dedup_stripper_free(st);
	dedup_rules_free(rs);
	dedup_buf_release(&out);
}

static void test_file(void **state)
{
	char path[] = "/tmp/dedup_test_rules_XXXXXX";
	struct dedup_rules *rs;
	struct dedup_error err;
	FILE *f;
	int fd;

	(void)state;
	assert_int_equal(dedup_rules_new(&rs, &err), DEDUP_OK);
	assert_int_equal(dedup_rules_add_file(rs, "/nonexistent/x.rules",
					      &err), DEDUP_EIO);
	assert_non_null(strstr(err.msg, "cannot read '/nonexistent/x.rules'"));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("line one ^one$\nline two (\n", f);
	fclose(f);
	assert_int_equal(dedup_rules_add_file(rs, path, &err), DEDUP_ERULE);
	assert_non_null(strstr(err.msg, "line 2: rule 'two'"));
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(dedup_rules_count(rs), 0);
	remove(path);
	dedup_rules_free(rs);
}

static void test_scopes(void **state)
{
	struct dedup_buf out = DEDUP_BUF_INIT, log = DEDUP_BUF_INIT;

	(void)state;
	/* line: the whole line; /i ignores case */
	strip_with("line/i menu ^(?:home|news)$\n",
		   "Home\nThe news today.\nNEWS\n", &out, &log);
	assert_string_equal(out.buf, "The news today.\n");
	assert_string_equal(log.buf, "menu\tHome\nmenu\tNEWS\n");
	/* span: every match cut out, the rest kept */
	strip_with("span promo \\[promo[^\\]]*\\]\n",
		   "First [promo a] part [promo b] end.\n", &out, &log);
	assert_string_equal(out.buf, "First  part  end.\n");
	assert_string_equal(log.buf, "promo\t[promo a]\npromo\t[promo b]\n");
	/* two span rules taking turns along a line, one with a capture */
	strip_with("span sq \\[x\\]\nspan cu (\\{)y\\}\n",
		   "a [x] b {y} c [x] d {y} e {y}[x]f\n", &out, &log);
	assert_string_equal(out.buf, "a  b  c  d  e f\n");
	assert_string_equal(log.buf, "sq\t[x]\ncu\t{y}\nsq\t[x]\ncu\t{y}\n"
			    "cu\t{y}\nsq\t[x]\n");
	/* a lookahead alone passes the check (PCRE2 counts the text it
	 * looks at) but matches empty: it cuts nothing, and never half of
	 * a character */
	strip_with("span ahead (?=\xc3\xa9)\n",
		   "caf\xc3\xa9 cr\xc3\xa8me\n", &out, &log);
	assert_string_equal(out.buf, "caf\xc3\xa9 cr\xc3\xa8me\n");
	assert_string_equal(log.buf, "");
	/* tail: from the marker to the end, once text came before it */
	strip_with("tail related ^Related$\n",
		   "Related\nText one.\nText two.\nRelated\nLink one\n"
		   "Link two\n", &out, &log);
	assert_string_equal(out.buf, "Text one.\nText two.\n");
	/* embed: the signature and its paragraph above, not across a
	 * blank line */
	strip_with("embed post ^-- posted by \\w+$\n",
		   "Article text.\n\nA post line.\nAnother post line.\n"
		   "-- posted by someone\n\nMore article text.\n",
		   &out, &log);
	assert_string_equal(out.buf, "Article text.\n\nMore article text.\n");
	/* a length limit: only lines of at most that many characters */
	strip_with("line/i/16 short-promo subscribe\n",
		   "Subscribe now\nPlease subscribe to the list of "
		   "members.\n\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 "
		   "subscribe\n", &out, &log);
	/* characters, not bytes: the accented line has 15 and 20 */
	assert_string_equal(out.buf, "Please subscribe to the list of "
			    "members.\n");
	/* block alternatives, each anchored alone */
	strip_with("line words {\n\t^alpha$\n\t^beta$\n}\n",
		   "alpha\nalphabet\nbeta\n", &out, &log);
	assert_string_equal(out.buf, "alphabet\n");
	/* rules with capture groups run on their own, backreferences work */
	strip_with("line twice ^(\\w+) \\1$\nline other ^zzz$\n",
		   "bye bye\nbye now\nzzz\n", &out, &log);
	assert_string_equal(out.buf, "bye now\n");
	assert_string_equal(log.buf, "twice\tbye bye\nother\tzzz\n");
	/* the same group name twice cannot be joined: still works */
	strip_with("line a ^(?<w>a+)$\nline b ^(?<w>b+)$\n",
		   "aaa\nab\nbb\n", &out, &log);
	assert_string_equal(out.buf, "ab\n");
	dedup_buf_release(&out);
	dedup_buf_release(&log);
}

/*
 * The rule a match reports is the first of its alternation that matches
 * the text as it is, also when the alternation's rules run one by one on
 * the lowercased text (anchored rules with gates): a caseless rule may
 * match there what its lowercase does not (the LONG S matches s and S).
 */
static void test_rule_names(void **state)
{
	struct dedup_buf out = DEDUP_BUF_INIT, log = DEDUP_BUF_INIT;

	(void)state;
	strip_with("line/i a ^(?:one|two)$\nline/i b ^two$\n",
		   "Two\nthree\nONE\n", &out, &log);
	assert_string_equal(log.buf, "a\tTwo\na\tONE\n");
	strip_with("line/i b ^two$\nline/i a ^(?:one|two)$\n",
		   "Two\nthree\nONE\n", &out, &log);
	assert_string_equal(log.buf, "b\tTwo\na\tONE\n");
	strip_with("line/i longs ^x\xc5\xbfy$\nline/i plain ^xsy$\n",
		   "xsy\nXSY\nx\xc5\xbfy\nxy\n", &out, &log);
	assert_string_equal(log.buf, "longs\txsy\nlongs\tXSY\n"
			    "longs\tx\xc5\xbfy\n");
	assert_string_equal(out.buf, "xy\n");
	strip_with("line/i e ^caf\xc3\xa9s?$\nline/i f ^caf\xc3\xa9$\n",
		   "CAF\xc3\x89\nCaf\xc3\xa9s\n", &out, &log);
	assert_string_equal(log.buf, "e\tCAF\xc3\x89\ne\tCaf\xc3\xa9s\n");
	dedup_buf_release(&out);
	dedup_buf_release(&log);
}

/* Rules see glued segments as lines. */
static void test_glued_segments(void **state)
{
	struct dedup_buf out = DEDUP_BUF_INIT, log = DEDUP_BUF_INIT;

	(void)state;
	strip_with("line/i menu ^(?:home|world|sport)$\n",
		   "HomeWorldSportThe match ended in a draw.\n", &out, &log);
	assert_string_equal(out.buf, "The match ended in a draw.\n");
	strip_with("line sep ^Site name$\n",
		   "Headline of the day | Site name\n", &out, &log);
	assert_string_equal(out.buf, "Headline of the day\n");
	/* camel-case names are not cut */
	strip_with("line x ^Phone$\n", "A new iPhone and a YouTube video.\n",
		   &out, &log);
	assert_string_equal(out.buf, "A new iPhone and a YouTube video.\n");
	dedup_buf_release(&out);
	dedup_buf_release(&log);
}

/*
 * The prefilter must never skip a position where the pattern matches:
 * compare it with PCRE2 at every position of every subject, and of random
 * lines made of the pattern's own bytes (UTF-8 cut anywhere).
 */
#define NRANDOM 3000

static void test_prefilter(void **state)
{
	static const char *const good[] = {
		"\\b(?:newsletter|subscribe to|sign up)\\b",
		"(?:an? )?(?:old |new )?browser",
		"\\bcookies?\\b.*\\b(?:accept|agree)",
		"x?yz|ab+c|(?:de){2}f|ghh*",
		"\\{\\{\\s*[#^/]?\\w*\\}\\}",
		"</?(?:div|p|a)\\b[^<>]*>",
		"(?<=[.!?] )(?:photo|foto)s?:",
		"(?:(?:ab|cd)e|fg(?:h|ij))k",
		"caf\xc3\xa9 (?:au lait|cr\xc3\xa8me)",
		"a{0,1}bc|(?:xy){1}z",
		/* matches begin at the start of a word: scans skip the
		 * bytes after an ASCII word byte */
		"\\b(?:news|mail|\xd0\xbf\xd0\xbe\xd0\xb4\xd0\xbf\xd0\xb8\xd1\x81\xd0\xba\xd0\xb0|\xc3\xa9t\xc3\xa9s?)\\b",
		"(?:\\b(?:keep|go) on\\s*)?\\b(?:list|table) of",
		"\\b(?:-?spam|ham|jam)s",
		/* a lookbehind of one character that no word byte passes */
		"(?<=[.!?)\\s])(?:photo|foto|bild|image)s?:",
		/* too many first bytes that may follow anything */
		"(?:abcd|bcde|cdef|defg|efgh)",
	};
	/*
	 * Whether the scans of good[i] look at every position: not when
	 * its matches begin at the start of a word or with one of a few
	 * bytes (those of the prefixes that may begin after a word byte).
	 */
	static const int free_start[] = {
		0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	};
	static const char *const bad[] = {
		"\\w+ing", ".ab", "[ab]cd", "a|bc", "(?i)abc", "\\d\\d\\d",
		"(?:a|bc)?",
	};
	static const char *const subjects[] = {
		"Get our newsletter, subscribe to it, or sign up today.",
		"You use a new browser; an old browser; a browser.",
		"cookies: we accept cookie terms and agree",
		"yz xyz abbbc ab ac dedef g gh ghhh",
		"text {{#ad}} more {{ /x}} {{}}",
		"a <div class=x> b </p> <a href=y> <b>",
		"The end. Photos: Someone. Again! foto: x",
		"abek cdek fghk fgijk fgk",
		"un caf\xc3\xa9 au lait, un caf\xc3\xa9 cr\xc3\xa8me",
		"abc bc xyz xyxyz",
		"news anews news_ _news 1news \xd0\xb0\xd0\xbf\xd0\xbe\xd0\xb4\xd0\xbf\xd0\xb8\xd1\x81\xd0\xba\xd0\xb0 "
		"\xd0\xbf\xd0\xbe\xd0\xb4\xd0\xbf\xd0\xb8\xd1\x81\xd0\xba\xd0\xb0 x\xc3\xa9t\xc3\xa9s \xc3\xa9t\xc3\xa9, \xc3\xa0\xc3\xa9t\xc3\xa9",
		"a list of, keep on list of, golist of go on  table of xlist of",
		"spams -spams x-spams hams ahams jams",
		"amail mail, \xc3\xa0mail",
		"xphoto: a.photos: (bild: image: \xc3\xa9" "foto: -fotos:",
		"xabcdy bcde cdefg defgh efgh",
	};
	const size_t nsubj = sizeof(subjects) / sizeof(subjects[0]);
	unsigned seed = 1;
	size_t i, j, k, pos;

	(void)state;
	assert_int_equal(sizeof(good) / sizeof(good[0]),
			 sizeof(free_start) / sizeof(free_start[0]));
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct strip_prefilter *pf = calloc(1, sizeof(*pf));
		struct strip_prefilter_set *set = malloc(sizeof(*set));
		pcre2_match_data *md;
		pcre2_code *code;
		PCRE2_SIZE eo;
		int ec;

		assert_non_null(pf);
		assert_non_null(set);
		if (strip_prefilter_add(pf, good[i], strlen(good[i])))
			fail_msg("'%s' should be filterable", good[i]);
		if (pf->free_start != free_start[i])
			fail_msg("%zu: free_start %d", i, pf->free_start);
		memset(set, 0, sizeof(*set));
		strip_prefilter_set_add(set, pf);
		code = pcre2_compile((PCRE2_SPTR)good[i], PCRE2_ZERO_TERMINATED,
				     PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
		assert_non_null(code);
		md = pcre2_match_data_create_from_pattern(code, NULL);
		for (j = 0; j < nsubj + NRANDOM; j++) {
			char rnd[160];
			const char *t = j < nsubj ? subjects[j] : rnd;
			size_t len, rlen = j % 16 ? 24 : sizeof(rnd);
			uint32_t qpos[256];
			size_t nq;

			/* random lines of the pattern's own bytes, some
			 * longer than the scans' 64-byte steps */
			if (j >= nsubj) {
				len = strlen(good[i]);
				for (k = 0; k + 1 < rlen; k++) {
					seed = seed * 1103515245u + 12345u;
					rnd[k] = good[i][(seed >> 16) % len];
				}
				rnd[k] = '\0';
			}
			len = strlen(t);
			nq = strip_prefilter_scan(set, t, len, qpos, 256);
			for (pos = 0; pos < len; pos++) {
				int rc = pcre2_match(code, (PCRE2_SPTR)t, len,
						     pos, PCRE2_ANCHORED, md,
						     NULL);
				size_t next;

				/* the shared scan's positions give the
				 * filter's own answer */
				next = strip_prefilter_next(pf, t, len, pos);
				if (strip_prefilter_quad_only(pf))
					assert_int_equal(
						strip_prefilter_next_in(
							pf, t, len, pos, qpos,
							nq),
						next);
				if (rc < 0)
					continue;
				if (next != pos)
					fail_msg("'%s' matches '%s' at %zu, "
						 "filter says %zu", good[i], t,
						 pos, next);
			}
		}
		pcre2_match_data_free(md);
		pcre2_code_free(code);
		free(set);
		free(pf);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct strip_prefilter *pf = calloc(1, sizeof(*pf));

		assert_non_null(pf);
		if (!strip_prefilter_add(pf, bad[i], strlen(bad[i])))
			fail_msg("'%s' should not be filterable", bad[i]);
		free(pf);
	}
}


/* Lines made to start like boilerplate, and odd starts. */
static const char *const gate_lines[] = {
	"menu", "Main Menu", "share on facebook", "Share this article now",
	"\xc2\xa9 2023 Example Media", "(c) 2024 x", "Copyright 2023",
	"Photo: Reuters", "(Photo: AP)", "getty images", "-- Advertisement --",
	"ADVERTISEMENT", "Advertisement", "12 comments", "3 min read",
	"Read more: a story", "related articles", "Related stories",
	"By John Smith", "by jane doe, reporter", "2023-05-04",
	"04.05.2023", "Published 4 May 2023 at 12:00", "May 4, 2023",
	"\xe2\x80\x94 Jane Doe (@jdoe) May 4, 2023",
	"A post shared by Someone (@someone)", "tags: news, world",
	"Jane Doe is a reporter at the Daily Paper.",
	"Jane Doe https://example.com", "ab", "cd", "xy", "9 likes",
	"\xc3\xa9t\xc3\xa9", "ete", "..zz", "Alpha Beta said",
	"qr", "r", "q", "a", "", " ", "\t-", "\xe2\x80\x9cquote",
	"The minister said on Tuesday that the rules would apply.",
	"this content is not available", "skip to content", "x",
	"\xc5\xbfkip to content", "\xe2\x80\x9cMore\xe2\x80\x9d",
	"Updated: 4 May 2023", "\xc3\x9c" "ber den Autor", "\xd0\x9e\xd0\xb1 "
	"\xd0\xb0\xd0\xb2\xd1\x82\xd0\xbe\xd1\x80\xd0\xb5",
	"Comments (12)", "\xd9\xa3 likes", "With reporting by Reuters",
	"Jane Doe (@jdoe) May 4, 2023", "KS:1", "\xe2\x84\xaaS:1",
	"QR", "AB", "z|q", "ac", "(x", "ix", "XY",
};

static const char gate_alphabet[] =
	"abcdeqrsxyz ADMPSTK019.,:;-()@#\xc3\xa9\xd9\xa3";

/* Odd anchored rules besides the built-in ones. */
static const char gate_rules[] =
	"line g1 ^(?:ab|cd)$\n"
	"line/i g2 ^\\W{0,3}(?:ad|promo)\\W{0,3}$\n"
	"line g3 ^(?=x)xy\n"
	"line g4 ^\\d+ (?:likes|views)$\n"
	"line g5 ^(?:\xc3\xa9|e)t(?:\xc3\xa9|e)\n"
	"line g6 ^.{0,3}zz\n"
	"line g7 ^(?:\\p{Lu}\\p{Ll}+ ){2}said$\n"
	"line/i g8 ^(?:q|)r\n"
	"line/i g9 ^a(?<=a)\n"
	"tail g10 ^\\s*x?\\s*\\(?[0-9a]{2}\n"
	"line/i g11 ^(?:k|s)s:\\d|^[^a-z]{2}\\d\n"
	"line g12 ^(?i:ks)(?-i::)[\\d\\x{660}-\\x{669}]\n"
	"line g13 ^(?:\\d+\\s+)?likes|^(?:[\\w]{2}|\\.)\\p{Nd}$\n"
	"line/91 g14 ^zq|^(?i)ab|^qr\n"
	"line/92 g15 ^\\Qz|q\\E|^yy\n"
	"line/90 g16 ^a(*COMMIT)b|^ac\n"
	"line/93 g17 ^[(?i)]x|^(?:XY)\n";

/* Whether member m matches t as the stripper runs it: the alternatives
 * whose gates pass, each alone (s: t before lowercasing). */
static int member_match(const struct join_member *m, const char *t,
			const char *s, size_t len, pcre2_match_data *md)
{
	struct gate_chars c;
	size_t k;

	if (!m->gate.nalt)
		return pcre2_match(m->code, (PCRE2_SPTR)t, len, 0, 0, md,
				   NULL) >= 0;
	strip_gate_chars(s, len, &c);
	for (k = 0; k < m->gate.nalt; k++)
		if (strip_gate_alt_pass(&m->gate, k, t, len, &c) &&
		    pcre2_match(m->alt_code[k], (PCRE2_SPTR)t, len, 0, 0, md,
				NULL) >= 0)
			return 1;
	return 0;
}

/* Whether member m matches t through the alternatives that its entries
 * in jn's table for t[0] name and allow after t[1] (or that may begin with
 * t's first character, when it is longer), as the stripper runs them. */
static int member_match_listed(const struct rule_join *jn, size_t m,
			       const char *t, const char *s, size_t len,
			       pcre2_match_data *md)
{
	unsigned char b0 = (unsigned char)t[0];
	unsigned b1 = len > 1 ? (unsigned char)t[1] : 0x80;
	const struct join_member *jm = &jn->member[m];
	struct gate_chars c;
	uint32_t k;
	int32_t wide = 0;
	UChar32 cp = -1;

	if (b0 >= 0x80)
		U8_NEXT(t, wide, (int32_t)(len < 4 ? len : 4), cp);
	if (cp < 0)
		wide = 0;
	strip_gate_chars(s, len, &c);
	for (k = jn->cand_at[b0]; k < jn->cand_at[b0 + 1]; k++) {
		const struct join_cand *e = &jn->cand[k];

		if (e->member != m)
			continue;
		/* the entry's own test of the second byte */
		if (b1 < 0x80 && !(e->second[b1 / 64] >> (b1 % 64) & 1u))
			continue;
		/* and of a longer first character */
		if (wide && !join_may_begin_wide(e->alt == JOIN_WHOLE ?
						 jm->code :
						 jm->alt_code[e->alt], t,
						 (size_t)wide, md, NULL))
			continue;
		if (e->alt == JOIN_WHOLE) {
			if (pcre2_match(jm->code, (PCRE2_SPTR)t, len, 0, 0,
					md, NULL) >= 0)
				return 1;
			continue;
		}
		if (strip_gate_alt_start(&jm->gate, e->alt, t, len) &&
		    (!jm->gate.alt[e->alt].nreq ||
		     strip_gate_alt_chars(&jm->gate, e->alt, &c)) &&
		    pcre2_match(jm->alt_code[e->alt], (PCRE2_SPTR)t, len, 0,
				0, md, NULL) >= 0)
			return 1;
	}
	return 0;
}

/*
 * Whether one of the members that accept t's first bytes matches t; the
 * table of first bytes (struct rule_join cand) must give the same answer
 * for each member.
 */
static int members_match(const struct rule_join *jn, const char *t,
			 const char *s, size_t len, pcre2_match_data *md)
{
	unsigned char b0 = (unsigned char)t[0];
	size_t i;
	int any = 0, one;

	if (!(jn->first[b0 / 64] >> (b0 % 64) & 1u))
		return 0;
	assert_non_null(jn->cand);
	for (i = 0; i < jn->nmember; i++) {
		one = member_accepts(&jn->member[i], t, len) &&
		      member_match(&jn->member[i], t, s, len, md);
		assert_int_equal(one, member_accepts(&jn->member[i], t, len) &&
				 member_match_listed(jn, i, t, s, len, md));
		any |= one;
	}
	return any;
}

/* Check one subject against every gated anchored alternation. */
static void gate_check(const struct dedup_rules *rs, const char *text,
		       size_t len, pcre2_match_data *md, unsigned *checked)
{
	char low[256];
	size_t k, i;
	int s;

	if (!len || len >= sizeof(low))
		return;
	for (i = 0; i < len; i++)
		low[i] = text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 :
			 text[i];
	low[len] = '\0';
	for (s = 0; s < SCOPE_COUNT; s++)
		for (k = 0; k < rs->group[s].njoin; k++) {
			const struct rule_join *jn = &rs->group[s].join[k];
			const char *t = jn->lowered ? low : text;
			int whole, parts;

			if (!jn->anchored || !jn->gated || !jn->member)
				continue;
			whole = pcre2_match(jn->code, (PCRE2_SPTR)t, len, 0,
					    0, md, NULL) >= 0;
			parts = members_match(jn, t, text, len, md);
			if (whole != parts)
				fail_msg("alternation %d/%zu on '%s': whole %d, "
					 "gated rules %d", s, k, t, whole,
					 parts);
			*checked += whole;
		}
}

/*
 * The first-byte gates and the two-byte gates of an anchored alternation's
 * rules must never skip a line the alternation matches, and its rules must
 * match exactly when it does: built-in and odd rules, on boilerplate-like
 * lines, their prefixes and random mutations.
 */
static void test_anchored_gates(void **state)
{
	struct dedup_rules *rs;
	struct dedup_error err;
	pcre2_match_data *md;
	unsigned checked = 0, seed = 12345;
	size_t i, n, k;

	(void)state;
	assert_int_equal(dedup_rules_new(&rs, &err), DEDUP_OK);
	if (dedup_rules_add_builtin(rs, &err) || add(rs, gate_rules, &err))
		fail_msg("%s", err.msg);
	md = pcre2_match_data_create(64, NULL);
	assert_non_null(md);
	for (i = 0; i < sizeof(gate_lines) / sizeof(gate_lines[0]); i++) {
		const char *t = gate_lines[i];
		char buf[128];

		for (n = 1; n <= strlen(t); n++)
			gate_check(rs, t, n, md, &checked);
		/* mutations: a byte replaced or put in front */
		for (k = 0; k < 200; k++) {
			size_t len = strlen(t);

			seed = seed * 1103515245u + 12345u;
			if (len + 2 > sizeof(buf))
				continue;
			memcpy(buf + 1, t, len);
			buf[0] = gate_alphabet[(seed >> 8) %
					       (sizeof(gate_alphabet) - 1)];
			if (len && (seed >> 20) & 1)
				buf[1 + (seed >> 4) % len] =
					gate_alphabet[(seed >> 12) %
						(sizeof(gate_alphabet) - 1)];
			gate_check(rs, buf + ((seed >> 24) & 1),
				   len + !((seed >> 24) & 1), md, &checked);
		}
	}
	/* random lines over a small alphabet */
	for (k = 0; k < 20000; k++) {
		char buf[16];

		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % (sizeof(buf) - 1);
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = gate_alphabet[(seed >> 16) %
					       (sizeof(gate_alphabet) - 1)];
		}
		gate_check(rs, buf, n, md, &checked);
	}
	/* the checks saw matches, not only misses */
	assert_true(checked >= 50);
	pcre2_match_data_free(md);
	dedup_rules_free(rs);
}

/* The characters of a text: every ASCII byte by its bit, the others as
 * one flag, on random texts of every length. */
static void test_gate_chars(void **state)
{
	unsigned char t[300];
	struct gate_chars c;
	uint32_t x = 7;
	size_t k, i, len;

	(void)state;
	for (k = 0; k < 20000; k++) {
		uint64_t want[2] = { 0, 0 };
		int high = 0;

		len = k % sizeof(t);
		for (i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			/* mostly ASCII, now and then a byte from 0x80 up */
			t[i] = (unsigned char)((x >> 16) % 16 ? (x >> 8) % 128 :
					       0x80 + (x >> 8) % 128);
			if (t[i] < 0x80)
				want[t[i] / 64] |= 1ull << (t[i] % 64);
			high |= t[i] >= 0x80;
		}
		strip_gate_chars((const char *)t, len, &c);
		assert_true(c.ascii[0] == want[0]);
		assert_true(c.ascii[1] == want[1]);
		assert_int_equal(!!(c.extra & GATE_NONASCII), high);
	}
}

/*
 * strip_gate_alt_has() looks for each requirement of an alternative in the
 * text rather than collecting its characters: the same answer as
 * strip_gate_alt_chars() for every gated alternative of the built-in and
 * odd rules, on random texts of every length (short ones padded, long
 * ones in blocks with an overlapping last) of ASCII, digits of other
 * scripts, quotes and broken sequences.
 */
static void test_gate_has(void **state)
{
	static const char *const pieces[] = {
		"a", "Z", "7", " ", ":", "/", "(", ")", "@", "#", ".", "q",
		"\xd9\xa3", "\xe2\x80\x9c", "\xc3\xa9", "\xe0\xa5\xa8",
		"\xef\xbc\x91", "\xe4\xb8\xad", "\x80", "\xd9", "\xe2\x80",
		"\t", "x", "0",
	};
	struct dedup_rules *rs;
	struct dedup_error err;
	char t[600];
	uint32_t x = 5;
	size_t k, i, n, j, m, alts = 0, yes = 0;
	int s;

	(void)state;
	assert_int_equal(dedup_rules_new(&rs, &err), DEDUP_OK);
	if (dedup_rules_add_builtin(rs, &err) || add(rs, gate_rules, &err))
		fail_msg("%s", err.msg);
	for (k = 0; k < 3000; k++) {
		struct gate_chars c;

		n = 0;
		x = x * 1103515245u + 12345u;
		for (i = (x >> 8) % (k % 4 ? 40 : 150); i > 0; i--) {
			const char *pc;

			x = x * 1103515245u + 12345u;
			pc = pieces[(x >> 8) % 6 ? (x >> 12) % 12 :
				    (x >> 12) % (sizeof(pieces) /
						 sizeof(pieces[0]))];
			memcpy(t + n, pc, strlen(pc));
			n += strlen(pc);
		}
		strip_gate_chars(t, n, &c);
		for (s = 0; s < SCOPE_COUNT; s++)
			for (j = 0; j < rs->group[s].njoin; j++) {
				const struct rule_join *jn =
					&rs->group[s].join[j];

				for (m = 0; jn->member && m < jn->nmember;
				     m++) {
					const struct strip_gate *g =
						&jn->member[m].gate;

					for (i = 0; i < g->nalt; i++) {
						int want, got;

						if (!g->alt[i].nreq)
							continue;
						want = strip_gate_alt_chars(g, i,
									    &c);
						got = strip_gate_alt_has(g, i, t,
									 n);
						if (want != got)
							fail_msg("'%.*s': %d, has %d",
								 (int)n, t, want,
								 got);
						alts++;
						yes += want;
					}
				}
			}
	}
	/* both answers were seen, many times */
	assert_true(yes > 1000 && alts - yes > 1000);
	dedup_rules_free(rs);
}

/*
 * The gates count a character from 0x80 up as a possible digit unless it
 * lies in ranges without one: PCRE2's \d must agree on each of them.
 */
static void test_gate_digits(void **state)
{
	static const uint32_t none[][2] = {
		{ 0x80, 0x65F }, { 0x2000, 0x2BFF }, { 0x3000, 0x9FFF },
		{ 0xAC00, 0xD7FF },
	};
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	pcre2_code *code;
	struct gate_chars c;
	PCRE2_SIZE eo;
	int ec;
	size_t k;

	(void)state;
	code = pcre2_compile((PCRE2_SPTR)"\\d", 2, RULE_COMPILE_OPTS, &ec, &eo,
			     NULL);
	assert_non_null(code);
	assert_non_null(md);
	for (k = 0; k < sizeof(none) / sizeof(none[0]); k++) {
		uint32_t cp;

		for (cp = none[k][0]; cp <= none[k][1]; cp++) {
			char u[4];
			size_t n = 0;

			if (cp >= 0xD800 && cp <= 0xDFFF)
				continue;
			if (cp < 0x800) {
				u[n++] = (char)(0xC0 | cp >> 6);
			} else {
				u[n++] = (char)(0xE0 | cp >> 12);
				u[n++] = (char)(0x80 | (cp >> 6 & 0x3F));
			}
			u[n++] = (char)(0x80 | (cp & 0x3F));
			if (pcre2_match(code, (PCRE2_SPTR)u, n, 0, 0, md,
					NULL) >= 0)
				fail_msg("U+%04X is \\d", (unsigned)cp);
			strip_gate_chars(u, n, &c);
			assert_int_equal(c.extra, GATE_NONASCII);
		}
	}
	/* and a digit outside them is seen as one */
	strip_gate_chars("\xd9\xa3", 2, &c);
	assert_int_equal(c.extra, GATE_NONASCII | GATE_NDIGIT);
	pcre2_code_free(code);
	pcre2_match_data_free(md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_set_changed),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_rule_names),
		cmocka_unit_test(test_glued_segments),
		cmocka_unit_test(test_prefilter),
		cmocka_unit_test(test_anchored_gates),
		cmocka_unit_test(test_gate_chars),
		cmocka_unit_test(test_gate_has),
		cmocka_unit_test(test_gate_digits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
