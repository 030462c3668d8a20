/* test_strip.c - boilerplate stripping: sample cases, corpus counts, seeds. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unicode/uchar.h>

#include "dedup/buf.h"
#include "dedup/repair.h"
#include "dedup/stopwords.h"
#include "dedup/strip.h"

struct fixture {
	struct dedup_rules *rules;
	struct dedup_stopwords *sw;
	struct dedup_stripper *st;
	struct dedup_buf out, log;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dedup_error err;

	if (!f || dedup_rules_new(&f->rules, &err) ||
	    dedup_rules_add_builtin(f->rules, &err) ||
	    dedup_stopwords_new(&f->sw, &err) ||
	    dedup_stripper_new(&f->st, f->rules, f->sw, &err))
		return -1;
	dedup_buf_init(&f->out);
	dedup_buf_init(&f->log);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dedup_stripper_free(f->st);
	dedup_rules_free(f->rules);
	dedup_stopwords_free(f->sw);
	dedup_buf_release(&f->out);
	dedup_buf_release(&f->log);
	free(f);
	return 0;
}

static char *read_all(const char *path, size_t *len)
{
	struct dedup_buf b = DEDUP_BUF_INIT;
	char chunk[8192];
	size_t n;
	FILE *fp = fopen(path, "rb");

	if (!fp)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		assert_int_equal(dedup_buf_add(&b, chunk, n), DEDUP_OK);
	fclose(fp);
	return dedup_buf_detach(&b, len);
}

static void strip_text(struct fixture *f, const struct dedup_strip_opts *o,
		       const char *text)
{
	struct dedup_error err;
	dedup_status s;

	dedup_buf_reset(&f->log);
	s = dedup_strip(f->st, o, text, strlen(text), &f->out, &f->log, &err);
	if (s)
		fail_msg("dedup_strip: %s", err.msg);
}

static int contains(const struct dedup_buf *b, const char *needle)
{
	return strstr(b->buf, needle) != NULL;
}

/* ---- table-driven cases from tests/data/strip/NAME.case ---- */

/* Next line of *p (NUL-terminated in place), or NULL at the end. */
static char *next_line(char **p)
{
	char *line = *p, *eol;

	if (!*line)
		return NULL;
	eol = strchr(line, '\n');
	if (eol) {
		*eol = '\0';
		*p = eol + 1;
	} else {
		*p = line + strlen(line);
	}
	return line;
}

static void run_case(struct fixture *f, const char *path)
{
	static const struct dedup_strip_opts opts = { 1, 1, NULL };
	struct dedup_buf input = DEDUP_BUF_INIT;
	char *text, *line, *p;
	size_t len;
	int section = 0, failed = 0;

	text = read_all(path, &len);
	assert_non_null(text);
	/* pass 1: the input section, blank lines included */
	for (p = text; (line = next_line(&p));) {
		if (!strcmp(line, "@@ input")) {
			section = 1;
			continue;
		}
		if (!strncmp(line, "@@ ", 3))
			break;
		if (section == 1) {
			assert_int_equal(dedup_buf_addstr(&input, line), 0);
			assert_int_equal(dedup_buf_addch(&input, '\n'), 0);
		}
	}
	free(text);
	strip_text(f, &opts, input.buf);
	/* pass 2: the expectations */
	text = read_all(path, &len);
	section = 0;
	for (p = text; (line = next_line(&p));) {
		if (!strcmp(line, "@@ input")) {
			section = 1;
			continue;
		}
		if (!strcmp(line, "@@ keep")) {
			section = 2;
			continue;
		}
		if (!strcmp(line, "@@ drop")) {
			section = 3;
			continue;
		}
		if (!*line)
			continue;
		if (section == 2 && !contains(&f->out, line)) {
			print_error("%s: lost '%s'\n", path, line);
			failed = 1;
		}
		if (section == 3 && contains(&f->out, line)) {
			print_error("%s: kept '%s'\n", path, line);
			failed = 1;
		}
	}
	if (failed)
		print_error("output:\n%s\nlog:\n%s\n", f->out.buf, f->log.buf);
	free(text);
	dedup_buf_release(&input);
	if (failed)
		fail_msg("case '%s' failed", path);
}

static void test_cases(void **state)
{
	const char *src = getenv("DEDUP_SOURCE_DIR");
	char dir[2048], path[4096];
	struct dirent **ents;
	int n, i, cases = 0;

	if (!src)
		src = ".";
	snprintf(dir, sizeof(dir), "%s/tests/data/strip", src);
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		fail_msg("cannot read '%s'", dir);
	for (i = 0; i < n; i++) {
		size_t l = strlen(ents[i]->d_name);

		if (l > 5 && !strcmp(ents[i]->d_name + l - 5, ".case")) {
			snprintf(path, sizeof(path), "%s/%s", dir,
				 ents[i]->d_name);
			run_case(*state, path);
			cases++;
		}
		free(ents[i]);
	}
	free(ents);
	assert_true(cases >= 5);
}

/* ---- behaviour of the API ---- */

static void test_log_format(void **state)
{
	struct fixture *f = *state;
	static const struct dedup_strip_opts opts = { 1, 1, NULL };

	strip_text(f, &opts,
		"The committee met again on Thursday to discuss the new "
		"budget for the schools of the district, which has been "
		"delayed twice already this year. {{#promo}}\n");
	assert_false(contains(&f->out, "{{"));
	assert_true(contains(&f->out, "The committee met again"));
	assert_true(contains(&f->log, "template-tag\t{{#promo}}\n"));
}

static void test_switches(void **state)
{
	struct fixture *f = *state;
	static const struct dedup_strip_opts none = { 0, 0, NULL };
	static const struct dedup_strip_opts rules_only = { 1, 0, NULL };
	const char *text = "Home\nAdvertisement\nA line of text.\n";

	strip_text(f, &none, text);
	assert_string_equal(f->out.buf, text);
	assert_string_equal(f->log.buf, "");
	strip_text(f, &rules_only, text);
	assert_string_equal(f->out.buf, "A line of text.\n");
	assert_true(contains(&f->log, "nav-word\tHome\n"));
	assert_true(contains(&f->log, "ad-label\tAdvertisement\n"));
	/* NULL options: everything on */
	strip_text(f, NULL, "Home\n");
	assert_string_equal(f->out.buf, "");
}

static void test_edge_inputs(void **state)
{
	struct fixture *f = *state;
	static const struct dedup_strip_opts none = { 0, 0, NULL };
	struct dedup_error err;
	char bad[] = "abc \xff\xfe def\r\n\r\nsecond\xc3";

	strip_text(f, NULL, "");
	assert_int_equal(f->out.len, 0);
	strip_text(f, NULL, "\n\n\n   \n");
	assert_int_equal(f->out.len, 0);
	/* CRLF, no final newline, a paragraph break kept as one blank line */
	strip_text(f, &none, "one\r\n\r\n\r\ntwo");
	assert_string_equal(f->out.buf, "one\n\ntwo\n");
	/* a document of a few short lines keeps them rather than nothing */
	strip_text(f, NULL, "Ferry service resumes after the storm\n\n"
		   "Crossings run every hour from Monday\nHome\n");
	assert_string_equal(f->out.buf, "Ferry service resumes after the "
			    "storm\n\nCrossings run every hour from Monday\n");
	/* invalid UTF-8 is carried through, not a crash */
	assert_int_equal(dedup_strip(f->st, &none, bad, sizeof(bad) - 1,
				     &f->out, NULL, &err), DEDUP_OK);
	assert_true(contains(&f->out, "second"));
}

/* The UTF-8 of cp (not a surrogate) into c; its length. */
static size_t put_utf8(char *c, unsigned cp)
{
	if (cp < 0x800) {
		c[0] = (char)(0xC0 | cp >> 6);
		c[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	c[0] = (char)(0xE0 | cp >> 12);
	c[1] = (char)(0x80 | (cp >> 6 & 0x3F));
	c[2] = (char)(0x80 | (cp & 0x3F));
	return 3;
}

/*
 * Segments that begin with a character of two bytes or more: the stripper
 * keeps, per entry of the anchored tables and character, whether the
 * entry may begin with it, and asks again what it had to forget. Through
 * documents of lines "C Advertisement" for thousands of characters C in
 * a scrambled order (no spaces or separators, which a segment does not
 * begin with), the ad-label rule must remove exactly those that its
 * pattern matches alone, and a stripper that saw the documents before must
 * strip each as a new one does.
 */
static void test_wide_starts(void **state)
{
	struct fixture *f = *state;
	static const struct dedup_strip_opts opts = { 1, 1, NULL };
	struct dedup_buf doc = DEDUP_BUF_INIT, out = DEDUP_BUF_INIT;
	struct dedup_buf log = DEDUP_BUF_INIT;
	struct dedup_stripper *fresh;
	struct dedup_error err;
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	pcre2_code *ad;
	PCRE2_SIZE eo;
	unsigned i, k, x = 1, cp, removed = 0, kept = 0;
	char line[64];
	size_t n;
	int ec, want;

	ad = pcre2_compile((PCRE2_SPTR)"^\\W{0,3}(?:advertisement)\\W{0,3}$",
			   PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP |
			   PCRE2_CASELESS, &ec, &eo, NULL);
	assert_non_null(ad);
	assert_non_null(md);
	for (k = 0; k < 30; k++) {
		dedup_buf_reset(&doc);
		for (i = 0; i < 120; i++) {
			/* Latin, Greek, Cyrillic ... and punctuation and
			 * symbols from U+2000, scrambled */
			x = x * 1103515245u + 12345u;
			cp = (x >> 8) % 3 ? 0xA1 + (x >> 12) % 0x700 :
			     0x2000 + (x >> 12) % 0x200;
			/* not spaces and separators, where the segment
			 * would not begin with the character */
			if (u_isUWhiteSpace((UChar32)cp) || cp == 0x2016 ||
			    cp == 0xA6 || cp == 0x2022 || cp == 0xB7) {
				i--;
				continue;
			}
			n = put_utf8(line, cp);
			memcpy(line + n, " Advertisement\n", 16);
			assert_int_equal(dedup_buf_addstr(&doc, line), 0);
		}
		strip_text(f, &opts, doc.buf);
		assert_int_equal(dedup_stripper_new(&fresh, f->rules, f->sw,
						    &err), DEDUP_OK);
		dedup_buf_reset(&log);
		assert_int_equal(dedup_strip(fresh, &opts, doc.buf, doc.len,
					     &out, &log, &err), DEDUP_OK);
		dedup_stripper_free(fresh);
		assert_int_equal(out.len, f->out.len);
		assert_memory_equal(out.buf, f->out.buf, out.len);
		assert_int_equal(log.len, f->log.len);
		assert_memory_equal(log.buf, f->log.buf, log.len);
		/* each line's fate, against the pattern alone */
		for (i = 0; i < doc.len; i += (unsigned)n + 1) {
			char want_log[80];

			n = strcspn(doc.buf + i, "\n");
			want = pcre2_match(ad, (PCRE2_SPTR)doc.buf + i, n, 0,
					   0, md, NULL) >= 0;
			snprintf(want_log, sizeof(want_log), "ad-label\t%.*s\n",
				 (int)n, doc.buf + i);
			assert_int_equal(contains(&f->log, want_log), want);
			removed += want;
			kept += !want;
		}
	}
	/* both kinds were seen */
	assert_true(removed >= 100 && kept >= 100);
	pcre2_code_free(ad);
	pcre2_match_data_free(md);
	dedup_buf_release(&doc);
	dedup_buf_release(&out);
	dedup_buf_release(&log);
}

/*
 * Lines are lowercased for the caseless rules 32 ASCII bytes at a time,
 * and a character at a time from the first longer one: a rule must see
 * its words lowercased wherever they fall, before, across or after a
 * block's end and a longer character.
 */
static void test_lowered_lines(void **state)
{
	struct fixture *f = *state;
	static const struct dedup_strip_opts opts = { 1, 0, NULL };
	char line[200], want[240];
	size_t k, n;
	int wide;

	for (k = 0; k < 80; k++)
		for (wide = 0; wide < 3; wide++) {
			n = 0;
			for (; n < k; n++)
				line[n] = "ABCD EFG, "[n % 10];
			if (wide == 1)
				n += (size_t)sprintf(line + n, "\xc3\x89T\xc3\x89 ");
			n += (size_t)sprintf(line + n, "SIGN UP FOR OUR "
					     "NEWSLETTER");
			if (wide == 2)
				n += (size_t)sprintf(line + n,
						     " \xc3\x80 PROPOS");
			line[n] = '\0';
			strip_text(f, &opts, line);
			snprintf(want, sizeof(want), "newsletter\t%s\n", line);
			if (!contains(&f->log, want))
				fail_msg("not removed: '%s'", line);
		}
}

/* A rule that backtracks without end is stopped and named; the output is
 * still complete. */
static void test_match_limit(void **state)
{
	struct fixture *f = *state;
	static const struct dedup_strip_opts opts = { 1, 0, NULL };
	struct dedup_stripper *st;
	struct dedup_rules *rs;
	struct dedup_error err;
	const char *text = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\nkeep\n";

	assert_int_equal(dedup_rules_new(&rs, &err), DEDUP_OK);
	assert_int_equal(dedup_rules_add_text(rs,
		"line slow ^(?:a|a)+$\nline fine ^nothing$\n", 39, "t.rules",
		&err), DEDUP_OK);
	assert_int_equal(dedup_stripper_new(&st, rs, f->sw, &err), DEDUP_OK);
	assert_int_equal(dedup_strip(st, &opts, text, strlen(text), &f->out,
				     NULL, &err), DEDUP_ELIMIT);
	assert_non_null(strstr(err.msg, "'slow'"));
	assert_true(contains(&f->out, "aaab\n"));
	assert_true(contains(&f->out, "keep\n"));
	/* the next document starts afresh */
	assert_int_equal(dedup_strip(st, &opts, "keep\n", 5, &f->out, NULL,
				     &err), DEDUP_OK);
	dedup_stripper_free(st);
	dedup_rules_free(rs);
}

/* ---- corpus evidence ---- */

static const char *const bodies[] = {
	"The river rose by almost two metres overnight after three days of "
	"heavy rain, and the fire brigade closed the lower road for the "
	"whole of Sunday.",
	"A bakery on the main square has won the national prize for the "
	"best rye bread, beating more than two hundred other entries from "
	"all over the country.",
	"Parents have asked the school board to keep the village school "
	"open, saying that the children would otherwise have to travel an "
	"hour every morning.",
	"The football club has signed a young goalkeeper from the second "
	"division, who will join the team for the training camp at the end "
	"of the month.",
	"Volunteers planted four hundred trees along the old railway line "
	"on Saturday, the first part of a plan to turn it into a path for "
	"walkers and cyclists.",
	"The library will open on Sunday afternoons from next month, after "
	"a survey showed that many readers cannot come during the week "
	"because of work.",
};

static void make_doc(struct dedup_buf *b, int i, int with_template)
{
	const char *body = bodies[i % 6];

	dedup_buf_reset(b);
	if (with_template)
		assert_int_equal(dedup_buf_addstr(b,
			"Valley Courier Online Edition\n"), 0);
	assert_int_equal(dedup_buf_addf(b, "Story number %d\n%s\n%s\n", i,
					body, body), 0);
	assert_int_equal(dedup_buf_addf(b, "The editors add that item %d "
		"was checked twice by the desk, as every item is, before "
		"it went out to the readers of the valley.\n", i), 0);
}

static void test_recurring_template(void **state)
{
	struct fixture *f = *state;
	struct dedup_strip_opts opts = { 1, 1, NULL };
	struct dedup_linestats *ls;
	struct dedup_buf doc = DEDUP_BUF_INIT;
	struct dedup_error err;
	int i;

	assert_int_equal(dedup_linestats_new(&ls, &err), DEDUP_OK);
	for (i = 0; i < 40; i++) {
		make_doc(&doc, i, 1);
		assert_int_equal(dedup_linestats_observe(ls, doc.buf, doc.len),
				 DEDUP_OK);
	}
	assert_int_equal(dedup_linestats_docs(ls), 40);
	opts.lines = ls;
	make_doc(&doc, 9, 1);
	strip_text(f, &opts, doc.buf);
	assert_false(contains(&f->out, "Valley Courier Online Edition"));
	assert_true(contains(&f->log, "recurring\tValley Courier"));
	/* each body recurs in 7 documents, below the count for sentences */
	assert_true(contains(&f->out, "The football club has signed"));
	/* a sentence in every document and a minor part of each: template */
	assert_false(contains(&f->out, "The editors add"));
	dedup_buf_release(&doc);
	dedup_linestats_free(ls);
}

/* Three copies of one article must keep their body. */
static void test_copies_keep_body(void **state)
{
	struct fixture *f = *state;
	struct dedup_strip_opts opts = { 1, 1, NULL };
	struct dedup_linestats *ls;
	struct dedup_buf doc = DEDUP_BUF_INIT, first = DEDUP_BUF_INIT;
	struct dedup_error err;
	int i;

	assert_int_equal(dedup_linestats_new(&ls, &err), DEDUP_OK);
	make_doc(&doc, 3, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(dedup_linestats_observe(ls, doc.buf, doc.len),
				 DEDUP_OK);
	strip_text(f, &opts, doc.buf);
	assert_int_equal(dedup_buf_add(&first, f->out.buf, f->out.len), 0);
	opts.lines = ls;
	strip_text(f, &opts, doc.buf);
	assert_string_equal(f->out.buf, first.buf);
	assert_true(contains(&f->out, "The football club has signed"));
	assert_false(contains(&f->log, "recurring"));
	dedup_buf_release(&doc);
	dedup_buf_release(&first);
	dedup_linestats_free(ls);
}

/* Counts merged from two threads in any split equal one pass. */
static void test_linestats_order(void **state)
{
	struct fixture *f = *state;
	struct dedup_strip_opts opts = { 1, 1, NULL };
	struct dedup_linestats *one, *a, *b;
	struct dedup_buf doc = DEDUP_BUF_INIT, ref = DEDUP_BUF_INIT;
	struct dedup_error err;
	int i;

	assert_int_equal(dedup_linestats_new(&one, &err), DEDUP_OK);
	assert_int_equal(dedup_linestats_new(&a, &err), DEDUP_OK);
	assert_int_equal(dedup_linestats_new(&b, &err), DEDUP_OK);
	for (i = 0; i < 30; i++) {
		make_doc(&doc, i, i % 3 != 0);
		dedup_linestats_observe(one, doc.buf, doc.len);
	}
	for (i = 29; i >= 0; i--) {
		make_doc(&doc, i, i % 3 != 0);
		dedup_linestats_observe(i % 2 ? a : b, doc.buf, doc.len);
	}
	assert_int_equal(dedup_linestats_merge(b, a), DEDUP_OK);
	assert_int_equal(dedup_linestats_docs(b), 30);
	for (i = 0; i < 30; i++) {
		make_doc(&doc, i, 1);
		opts.lines = one;
		strip_text(f, &opts, doc.buf);
		dedup_buf_reset(&ref);
		assert_int_equal(dedup_buf_add(&ref, f->out.buf, f->out.len),
				 0);
		opts.lines = b;
		strip_text(f, &opts, doc.buf);
		assert_string_equal(f->out.buf, ref.buf);
	}
	dedup_buf_release(&doc);
	dedup_buf_release(&ref);
	dedup_linestats_free(one);
	dedup_linestats_free(a);
	dedup_linestats_free(b);
	dedup_linestats_free(NULL);
}

/* Counts saved and read back give the same result; bad images fail. */
static void test_linestats_image(void **state)
{
	struct fixture *f = *state;
	struct dedup_strip_opts opts = { 1, 1, NULL };
	struct dedup_linestats *ls, *back;
	struct dedup_buf doc = DEDUP_BUF_INIT, img = DEDUP_BUF_INIT;
	struct dedup_buf ref = DEDUP_BUF_INIT;
	struct dedup_error err;
	int i;

	assert_int_equal(dedup_linestats_new(&ls, &err), DEDUP_OK);
	assert_int_equal(dedup_linestats_new(&back, &err), DEDUP_OK);
	for (i = 0; i < 40; i++) {
		make_doc(&doc, i, 1);
		dedup_linestats_observe(ls, doc.buf, doc.len);
	}
	assert_int_equal(dedup_linestats_write(ls, &img), DEDUP_OK);
	assert_int_equal(dedup_linestats_read(back, img.buf, img.len, &err),
			 DEDUP_OK);
	assert_int_equal(dedup_linestats_docs(back), 40);
	make_doc(&doc, 9, 1);
	opts.lines = ls;
	strip_text(f, &opts, doc.buf);
	assert_int_equal(dedup_buf_add(&ref, f->out.buf, f->out.len), 0);
	opts.lines = back;
	strip_text(f, &opts, doc.buf);
	assert_string_equal(f->out.buf, ref.buf);
	assert_false(contains(&f->out, "Valley Courier"));
	/* truncated, foreign, other size: refused, counts unchanged */
	assert_int_equal(dedup_linestats_read(back, img.buf, img.len - 1,
					      &err), DEDUP_EFORMAT);
	assert_int_equal(dedup_linestats_read(back, "hello", 5, &err),
			 DEDUP_EFORMAT);
	img.buf[12] ^= 1;
	assert_int_equal(dedup_linestats_read(back, img.buf, img.len, &err),
			 DEDUP_ESETTINGS);
	img.buf[0] = 'X';
	assert_int_equal(dedup_linestats_read(back, img.buf, img.len, &err),
			 DEDUP_EFORMAT);
	assert_int_equal(dedup_linestats_docs(back), 40);
	dedup_buf_release(&doc);
	dedup_buf_release(&img);
	dedup_buf_release(&ref);
	dedup_linestats_free(ls);
	dedup_linestats_free(back);
}

/* ---- the seeds in ../shared (skipped when absent) ---- */

/* Whether a scraper glued two blocks after p[0] ("menuNews", "end.Next",
 * "2023Next"); lower counts the lowercase letters ending at p[0]. */
static int glued_after(const char *line, const char *p, int lower)
{
	int up = p[1] >= 'A' && p[1] <= 'Z' && p[2] >= 'a' && p[2] <= 'z';

	return up && ((lower >= 2 && *p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') ||
		      ((*p == '.' || *p == '?' || *p == '!') && p > line &&
		       p[-1] >= 'a' && p[-1] <= 'z'));
}

/* After the last glue point, or the whole line. */
static char *last_glued_piece(char *line)
{
	char *p, *piece = line;
	int lower = 0;

	for (p = line; p[0] && p[1]; p++) {
		if (glued_after(line, p, lower))
			piece = p + 1;
		lower = (*p >= 'a' && *p <= 'z') ? lower + 1 : 0;
	}
	return piece;
}

/* A sentence glued between two other blocks of a line (a standfirst
 * between the headline and a caption) must be kept too. */
static void check_glued_sentences(const char *name, const char *line,
				  const struct dedup_buf *out)
{
	const char *p, *piece = NULL;
	char middle[61];
	int lower = 0;

	for (p = line; p[0] && p[1]; p++) {
		if (glued_after(line, p, lower)) {
			if (piece && *p == '.' && p - piece >= 100)
				snprintf(middle, sizeof(middle), "%s",
					 piece + 20);
			if (piece && *p == '.' && p - piece >= 100 &&
			    !strstr(out->buf, middle))
				fail_msg("%s: lost glued sentence '%.*s'", name,
					 (int)(p + 1 - piece), piece);
			piece = p + 1;
		}
		lower = (*p >= 'a' && *p <= 'z') ? lower + 1 : 0;
	}
}

/* Long lines of the input that must be found in the output. */
static void check_paragraphs_kept(const char *name, const char *in,
				  const struct dedup_buf *out)
{
	const char *p = in;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char *line = strndup(p, len), *cut, *para;

		assert_non_null(line);
		/* an embedded post is not the article's */
		if (strstr(line, "pic.twitter.com")) {
			free(line);
			p += len + (eol != NULL);
			continue;
		}
		/* an author box ("Name https://...") ends the article */
		if (strstr(line, "http")) {
			free(line);
			break;
		}
		/* template leftovers at the end of a paragraph go */
		cut = strstr(line, " {{");
		if (cut)
			*cut = '\0';
		/* a glued line (menu, headline, ... first paragraph): its
		 * last piece is the paragraph */
		check_glued_sentences(name, line, out);
		para = last_glued_piece(line);
		/* the middle of the paragraph, away from glued labels */
		if (strlen(para) >= 150) {
			para[130] = '\0';
			if (!strstr(out->buf, para + 50))
				fail_msg("%s: lost paragraph '%s'", name,
					 para + 50);
		}
		free(line);
		p += len + (eol != NULL);
	}
}

static void test_seeds(void **state)
{
	static const char *const gone[] = {
		"{{", "}}", "pic.twitter.com", "Estimated read time",
		"You May Also Like", "More From Author", "Tags:",
		"Similar News", "no comments", "Add yours",
		"With inputs from agencies", "Keep reading", "Skip links",
		"Cookie Policy", "Privacy Policy", "Source:", "(@",
	};
	struct fixture *f = *state;
	const char *src = getenv("DEDUP_SOURCE_DIR");
	struct dedup_buf fixed = DEDUP_BUF_INIT;
	struct dedup_repair *rp;
	struct dedup_error err;
	char dir[4096], path[4400];
	struct dirent **ents;
	int n, i, seen = 0;
	size_t k;

	if (!src)
		src = ".";
	snprintf(dir, sizeof(dir), "%s/../shared/seeds", src);
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		skip();
	/* the pipeline strips repaired text (seed 000 has mojibake) */
	assert_int_equal(dedup_repair_new(&rp, &err), DEDUP_OK);
	for (i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		size_t len;
		char *text;

		if (strlen(name) < 5 || strcmp(name + strlen(name) - 4, ".txt")
		    || !strncmp(name, "labels", 6)) {
			free(ents[i]);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		text = read_all(path, &len);
		assert_non_null(text);
		if (dedup_repair_decode(rp, text, len, &fixed, NULL, &err))
			fail_msg("%s: %s", name, err.msg);
		strip_text(f, NULL, fixed.buf);
		for (k = 0; k < sizeof(gone) / sizeof(gone[0]); k++)
			if (contains(&f->out, gone[k]))
				fail_msg("%s: '%s' is still there:\n%s", name,
					 gone[k], f->out.buf);
		check_paragraphs_kept(name, fixed.buf, &f->out);
		seen++;
		free(text);
		free(ents[i]);
	}
	free(ents);
	dedup_repair_free(rp);
	dedup_buf_release(&fixed);
	if (!seen)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_log_format),
		cmocka_unit_test(test_switches),
		cmocka_unit_test(test_edge_inputs),
		cmocka_unit_test(test_wide_starts),
		cmocka_unit_test(test_lowered_lines),
		cmocka_unit_test(test_match_limit),
		cmocka_unit_test(test_recurring_template),
		cmocka_unit_test(test_copies_keep_body),
		cmocka_unit_test(test_linestats_order),
		cmocka_unit_test(test_linestats_image),
		cmocka_unit_test(test_seeds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
