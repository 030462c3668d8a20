/*
 * test_repair.c - unit tests of the repair stage.
 *
 * The bulk of the cases is the table tests/data/repair/cases.tsv (input,
 * expected output, why). Then: idempotence on every case, the report and
 * error paths, the synthetic damage generator (damage.h) on sentences
 * written here and, when ../shared is present, on real articles (lossless
 * chains must be undone exactly, lossy ones may only leave U+FFFD where a
 * character was lost), seed 000, and random bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <unicode/ucnv.h>
#include <unicode/ustring.h>

#include "dedup/repair.h"
#include "damage.h"

struct tcase {
	char *in, *exp, *why;
	size_t in_len, exp_len;
	int line;
	int binary;
};

static struct tcase *cases;
static size_t ncases;
static struct dedup_repair *rep_ctx;

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct dedup_buf b = DEDUP_BUF_INIT;
	char tmp[65536];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		assert_int_equal(dedup_buf_add(&b, tmp, n), DEDUP_OK);
	fclose(f);
	return dedup_buf_detach(&b, len);
}

static void put_utf8(struct dedup_buf *b, unsigned long c)
{
	char t[4];
	size_t n;

	if (c < 0x80) {
		t[0] = (char)c, n = 1;
	} else if (c < 0x800) {
		t[0] = (char)(0xC0 | (c >> 6));
		t[1] = (char)(0x80 | (c & 0x3F)), n = 2;
	} else if (c < 0x10000) {
		t[0] = (char)(0xE0 | (c >> 12));
		t[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		t[2] = (char)(0x80 | (c & 0x3F)), n = 3;
	} else {
		t[0] = (char)(0xF0 | (c >> 18));
		t[1] = (char)(0x80 | ((c >> 12) & 0x3F));
		t[2] = (char)(0x80 | ((c >> 6) & 0x3F));
		t[3] = (char)(0x80 | (c & 0x3F)), n = 4;
	}
	assert_int_equal(dedup_buf_add(b, t, n), DEDUP_OK);
}

/* Undo the escapes of cases.tsv: \xHH \u{H..} \t \n \r \\. */
static char *unescape(const char *s, size_t n, size_t *len)
{
	struct dedup_buf b = DEDUP_BUF_INIT;
	size_t i;
	char *end;

	for (i = 0; i < n; i++) {
		if (s[i] != '\\' || i + 1 == n) {
			assert_int_equal(dedup_buf_addch(&b, s[i]), DEDUP_OK);
			continue;
		}
		i++;
		switch (s[i]) {
		case 't': dedup_buf_addch(&b, '\t'); break;
		case 'n': dedup_buf_addch(&b, '\n'); break;
		case 'r': dedup_buf_addch(&b, '\r'); break;
		case '\\': dedup_buf_addch(&b, '\\'); break;
		case 'x': {
			char hex[3] = { s[i + 1], s[i + 2], 0 };

			assert_true(i + 2 < n);
			dedup_buf_addch(&b, (int)strtoul(hex, NULL, 16));
			i += 2;
			break;
		}
		case 'u':
			assert_true(s[i + 1] == '{');
			put_utf8(&b, strtoul(s + i + 2, &end, 16));
			assert_true(*end == '}');
			i = (size_t)(end - s);
			break;
		default:
			fail_msg("bad escape \\%c", s[i]);
		}
	}
	return dedup_buf_detach(&b, len);
}

static int load_cases(void **state)
{
	const char *dir = getenv("DEDUP_SOURCE_DIR");
	char path[4096];
	char *data, *line, *next, *t1, *t2;
	size_t len, cap = 0;
	int lineno = 0;
	struct dedup_error err;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/data/repair/cases.tsv",
		 dir ? dir : ".");
	data = slurp(path, &len);
	if (!data) {
		fprintf(stderr, "cannot read '%s'\n", path);
		return -1;
	}
	for (line = data; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (*line == '#')
			continue;
		t1 = strchr(line, '\t');
		t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t2) {
			fprintf(stderr, "cases.tsv:%d: needs 3 fields\n",
				lineno);
			return -1;
		}
		if (ncases == cap) {
			cap = cap ? cap * 2 : 64;
			cases = realloc(cases, cap * sizeof(*cases));
		}
		cases[ncases].in = unescape(line, (size_t)(t1 - line),
					    &cases[ncases].in_len);
		cases[ncases].binary = !strncmp(t1 + 1, "!EBINARY", 8);
		cases[ncases].exp = unescape(t1 + 1, (size_t)(t2 - t1 - 1),
					     &cases[ncases].exp_len);
		cases[ncases].why = strdup(t2 + 1);
		cases[ncases].line = lineno;
		ncases++;
	}
	free(data);
	if (dedup_repair_new(&rep_ctx, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int free_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ncases; i++) {
		free(cases[i].in);
		free(cases[i].exp);
		free(cases[i].why);
	}
	free(cases);
	dedup_repair_free(rep_ctx);
	return 0;
}

static void show(const char *label, const char *s, size_t n)
{
	size_t i;

	fprintf(stderr, "    %s: ", label);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7F)
			fprintf(stderr, "\\x%02X", c);
		else
			fputc(c, stderr);
	}
	fputc('\n', stderr);
}

static void test_table(void **state)
{
	struct dedup_buf out = DEDUP_BUF_INIT;
	struct dedup_error err;
	size_t i, failed = 0;
	dedup_status st;

	(void)state;
	assert_true(ncases >= 80);
	for (i = 0; i < ncases; i++) {
		struct tcase *c = &cases[i];

		dedup_error_clear(&err);
		st = dedup_repair_decode(rep_ctx, c->in, c->in_len, &out, NULL,
					 &err);
		if (c->binary) {
			if (st == DEDUP_EBINARY && err.msg[0])
				continue;
			fprintf(stderr, "cases.tsv:%d (%s): want EBINARY, got %d\n",
				c->line, c->why, st);
			failed++;
			continue;
		}
		if (st == DEDUP_OK && out.len == c->exp_len &&
		    !memcmp(out.buf, c->exp, out.len))
			continue;
		failed++;
		fprintf(stderr, "cases.tsv:%d (%s): status %d %s\n", c->line,
			c->why, st, st ? err.msg : "");
		show("input", c->in, c->in_len);
		show("want ", c->exp, c->exp_len);
		show("got  ", out.buf, out.len);
	}
	dedup_buf_release(&out);
	if (failed)
		fail_msg("%zu of %zu cases failed", failed, ncases);
}

/* Repairing repaired text changes nothing. */
static void test_idempotent(void **state)
{
	struct dedup_buf a = DEDUP_BUF_INIT, b = DEDUP_BUF_INIT;
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < ncases; i++) {
		if (dedup_repair_decode(rep_ctx, cases[i].in, cases[i].in_len,
					&a, NULL, NULL))
			continue;
		assert_int_equal(dedup_repair_decode(rep_ctx, a.buf, a.len,
						     &b, NULL, NULL),
				 DEDUP_OK);
		if (a.len != b.len || memcmp(a.buf, b.buf, a.len)) {
			fprintf(stderr, "cases.tsv:%d (%s): not idempotent\n",
				cases[i].line, cases[i].why);
			show("once ", a.buf, a.len);
			show("twice", b.buf, b.len);
			failed++;
		}
	}
	dedup_buf_release(&a);
	dedup_buf_release(&b);
	if (failed)
		fail_msg("%zu cases not idempotent", failed);
}

/*
 * dedup_repair_text() gives what dedup_repair_decode() gives, every case,
 * and hands clean text back where it lies, without a copy.
 */
static void test_text_in_place(void **state)
{
	static const char clean[] = "The council\xE2\x80\x99s \xE2\x80\x9C"
				    "final\xE2\x80\x9D decision, caf\xC3\xA9 "
				    "and \xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2"
				    "\xD0\xB0.\n";
	struct dedup_buf out = DEDUP_BUF_INIT;
	const char *text;
	size_t i, len;
	dedup_status a, b;

	(void)state;
	for (i = 0; i < ncases; i++) {
		a = dedup_repair_decode(rep_ctx, cases[i].in, cases[i].in_len,
					&out, NULL, NULL);
		b = dedup_repair_text(rep_ctx, cases[i].in, cases[i].in_len,
				      &text, &len, NULL, NULL);
		assert_int_equal(a, b);
		if (a)
			continue;
		assert_int_equal(len, out.len);
		assert_memory_equal(text, out.buf, len);
	}
	assert_int_equal(dedup_repair_text(rep_ctx, clean, strlen(clean),
					   &text, &len, NULL, NULL), DEDUP_OK);
	assert_ptr_equal(text, clean);
	assert_int_equal(len, strlen(clean));
	/* a byte order mark dropped: the rest, still in place */
	assert_int_equal(dedup_repair_text(rep_ctx, "\xEF\xBB\xBF" "abc", 6,
					   &text, &len, NULL, NULL), DEDUP_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(text, "abc", 3);
	dedup_buf_release(&out);
}

/* Valid UTF-8 without a byte order mark at its start (ICU decides). */
static int plain_utf8(const char *s, size_t n)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t n16;

	if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
		return 0;
	if (n >= 6 && !memcmp(s, "\xC3\xAF\xC2\xBB\xC2\xBF", 6))
		return 0;
	if (memchr(s, '\0', n))
		return 0;
	u_strFromUTF8(NULL, 0, &n16, s, (int32_t)n, &st);
	return st == U_BUFFER_OVERFLOW_ERROR || U_SUCCESS(st);
}

/*
 * The walks over clean text skip plain bytes a block at a time: a case
 * must come out the same wherever it starts in those blocks. Each valid
 * UTF-8 case goes after a line of 0 to 47 ASCII letters and before
 * another (lines of ASCII are never decoded, so the case's own decisions
 * cannot change), and must give the same lines around its expected text.
 */
static void test_block_offsets(void **state)
{
	static const char pad[] = "Abcdefghijklmnopqrstuvwxyz0123456789abcdefghijkl";
	struct dedup_buf in = DEDUP_BUF_INIT, want = DEDUP_BUF_INIT;
	struct dedup_buf out = DEDUP_BUF_INIT;
	size_t i, k, tried = 0, failed = 0;

	(void)state;
	for (i = 0; i < ncases; i++) {
		if (cases[i].binary || !cases[i].in_len ||
		    !plain_utf8(cases[i].in, cases[i].in_len))
			continue;
		for (k = 0; k < sizeof(pad) - 1; k++) {
			dedup_buf_reset(&in);
			dedup_buf_reset(&want);
			assert_int_equal(dedup_buf_add(&in, pad, k), 0);
			assert_int_equal(dedup_buf_addch(&in, '\n'), 0);
			assert_int_equal(dedup_buf_add(&want, in.buf, in.len), 0);
			assert_int_equal(dedup_buf_add(&in, cases[i].in,
						       cases[i].in_len), 0);
			assert_int_equal(dedup_buf_add(&want, cases[i].exp,
						       cases[i].exp_len), 0);
			assert_int_equal(dedup_buf_addch(&in, '\n'), 0);
			assert_int_equal(dedup_buf_addch(&want, '\n'), 0);
			assert_int_equal(dedup_buf_add(&in, pad, k), 0);
			assert_int_equal(dedup_buf_add(&want, pad, k), 0);
			assert_int_equal(dedup_repair_decode(rep_ctx, in.buf,
							     in.len, &out,
							     NULL, NULL),
					 DEDUP_OK);
			tried++;
			if (out.len == want.len &&
			    !memcmp(out.buf, want.buf, out.len))
				continue;
			if (!failed++) {
				fprintf(stderr, "cases.tsv:%d (%s) after %zu "
					"bytes:\n", cases[i].line,
					cases[i].why, k + 1);
				show("want", want.buf, want.len);
				show("got ", out.buf, out.len);
			}
		}
	}
	dedup_buf_release(&in);
	dedup_buf_release(&want);
	dedup_buf_release(&out);
	assert_true(tried > 100 * 48);
	if (failed)
		fail_msg("%zu of %zu placed cases failed", failed, tried);
}

static void test_report_and_errors(void **state)
{
	struct dedup_buf out = DEDUP_BUF_INIT;
	struct dedup_repair_report rep;
	struct dedup_error err;
	static const char moji[] = "caf\xC3\x83\xC2\xA9 &amp; \xC3\x83\xC2\xA9t\xC3\x83\xC2\xA9";

	(void)state;
	assert_int_equal(dedup_repair_decode(rep_ctx, moji, sizeof(moji) - 1,
					     &out, &rep, &err),
			 DEDUP_OK);
	assert_string_equal(out.buf, "caf\xC3\xA9 & \xC3\xA9t\xC3\xA9");
	assert_string_equal(rep.encoding, "UTF-8");
	assert_int_equal(rep.converted, 0);
	assert_int_equal(rep.entities, 1);
	assert_int_equal(rep.spans_fixed, 3);

	assert_int_equal(dedup_repair_decode(rep_ctx, "\xFF\xFEh\0i\0", 6,
					     &out, &rep, &err),
			 DEDUP_OK);
	assert_string_equal(out.buf, "hi");
	assert_string_equal(rep.encoding, "UTF-16LE");
	assert_int_equal(rep.converted, 1);
	assert_int_equal(rep.bom, 1);

	/* odd length after a UTF-16 BOM */
	assert_int_equal(dedup_repair_decode(rep_ctx, "\xFF\xFEh\0i", 5, &out,
					     &rep, &err),
			 DEDUP_EBINARY);
	assert_non_null(strstr(err.msg, "UTF-16LE"));

	assert_int_equal(dedup_repair_decode(rep_ctx, "ab\0", 3, &out, NULL,
					     &err),
			 DEDUP_EBINARY);
	assert_non_null(strstr(err.msg, "offset 2"));

	assert_int_equal(dedup_repair_decode(rep_ctx, "", 0, &out, &rep, &err),
			 DEDUP_OK);
	assert_int_equal(out.len, 0);

	assert_int_equal(dedup_repair_mojibake("x", 1, "no-such-page", 0,
					       &out, &err),
			 DEDUP_EINVAL);
	dedup_buf_release(&out);
}

/* Sentences written for this test, in several scripts. */
static const char *const clean_text[] = {
	"The mayor said the new bridge \xE2\x80\x94 finished in March \xE2\x80\x94 "
	"would \xE2\x80\x9C" "change everything\xE2\x80\x9D for the town\xE2\x80\x99s "
	"commuters.",
	"Le ministre a d\xC3\xA9" "clar\xC3\xA9 que la r\xC3\xA9" "forme "
	"\xC3\xA9tait \xC2\xAB n\xC3\xA9" "cessaire \xC2\xBB et d\xC3\xA9j\xC3\xA0 "
	"en cours.",
	"Die Regierung pr\xC3\xBC" "ft die Vorschl\xC3\xA4ge f\xC3\xBCr "
	"gr\xC3\xB6\xC3\x9F" "ere Stra\xC3\x9F" "en.",
	"\xD0\x9F\xD1\x80\xD0\xB0\xD0\xB2\xD0\xB8\xD1\x82\xD0\xB5\xD0\xBB\xD1\x8C"
	"\xD1\x81\xD1\x82\xD0\xB2\xD0\xBE \xD0\xBE\xD0\xB1\xD1\x8A\xD1\x8F\xD0\xB2"
	"\xD0\xB8\xD0\xBB\xD0\xBE \xD0\xBE \xD0\xBD\xD0\xBE\xD0\xB2\xD1\x8B\xD1\x85 "
	"\xD0\xBC\xD0\xB5\xD1\x80\xD0\xB0\xD1\x85.",
	"Fans cheered \xF0\x9F\x8E\x89 as the team won 3\xE2\x80\x93" "1 "
	"\xF0\x9F\x91\x8F\xF0\x9F\x8F\xBD.",
	"Prices: 5 \xE2\x82\xAC, \xC2\xA3" "3, 20\xC2\xB0" "C, \xC2\xBD kg.",
	"Rz\xC4\x85" "d og\xC5\x82" "osi\xC5\x82 now\xC4\x85 ustaw\xC4\x99 "
	"o \xC5\xBC" "\xC3\xB3\xC5\x82" "wiach.",
	"\xE6\x94\xBF\xE5\xBA\x9C\xE5\x8F\x91\xE5\xB8\x83\xE4\xBA\x86\xE6\x96\xB0"
	"\xE7\x9A\x84\xE6\x8A\xA5\xE5\x91\x8A\xE3\x80\x82",
};

/* Lossless damage of sentences written here must be undone exactly. */
static void test_damage_sentences(void **state)
{
	struct dedup_buf dmg = DEDUP_BUF_INIT, out = DEDUP_BUF_INIT;
	struct damage_rng rng = { 0x9E3779B97F4A7C15ULL };
	struct damage_chain ch;
	size_t i, trial, failed = 0, tried = 0;
	const char *s;

	(void)state;
	for (trial = 0; trial < 400; trial++) {
		s = clean_text[trial % (sizeof(clean_text) /
					sizeof(clean_text[0]))];
		damage_pick(&rng, &ch, 0);
		assert_int_equal(damage_apply(&ch, s, strlen(s), &dmg),
				 DEDUP_OK);
		if (!damage_recoverable(&ch, s, strlen(s)))
			continue;
		tried++;
		assert_int_equal(dedup_repair_decode(rep_ctx, dmg.buf, dmg.len,
						     &out, NULL, NULL),
				 DEDUP_OK);
		if (out.len == strlen(s) && !memcmp(out.buf, s, out.len))
			continue;
		if (failed++ < 10) {
			fprintf(stderr, "damage %s not undone\n",
				damage_describe(&ch));
			show("want ", s, strlen(s));
			show("dmg  ", dmg.buf, dmg.len);
			show("got  ", out.buf, out.len);
		}
	}
	(void)i;
	dedup_buf_release(&dmg);
	dedup_buf_release(&out);
	fprintf(stderr, "damage on sentences: %zu of %zu restored\n",
		tried - failed, tried);
	/*
	 * Some chains are ambiguous even in principle (three layers through
	 * code pages that map the same bytes to letters); allow 2%.
	 */
	if (failed * 50 > tried)
		fail_msg("%zu of %zu damaged sentences not restored", failed,
			 tried);
}

static size_t cp_len(const char *s, size_t n)
{
	size_t k = 1;

	while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
		k++;
	return k;
}

/*
 * Whether `got` is `want` with some characters replaced by U+FFFD (what a
 * repair does where a byte was lost and the context leaves several
 * readings). Returns the number of such characters, -1 if it is not.
 */
static long lossy_match(const char *want, size_t wn, const char *got,
			size_t gn)
{
	size_t i = 0, j = 0, a, b;
	long lost = 0;

	while (i < wn && j < gn) {
		a = cp_len(want + i, wn - i);
		b = cp_len(got + j, gn - j);
		if (a == b && !memcmp(want + i, got + j, a)) {
			i += a, j += b;
			continue;
		}
		if (b != 3 || memcmp(got + j, "\xEF\xBF\xBD", 3))
			return -1;
		i += a, j += b, lost++;
	}
	return i == wn && j == gn ? lost : -1;
}

/* Show where got first differs from want. */
static void report_diff(const char *what, const char *want, size_t wn,
			const char *got, size_t gn)
{
	size_t i = 0, s;

	while (i < wn && i < gn && want[i] == got[i])
		i++;
	s = i > 30 ? i - 30 : 0;
	while (s > 0 && ((unsigned char)want[s] & 0xC0) == 0x80)
		s--;
	fprintf(stderr, "%s: differs at byte %zu\n", what, i);
	show("want ", want + s, wn - s < 70 ? wn - s : 70);
	show("got  ", got + s, gn - s < 70 ? gn - s : 70);
}

/* Mojibake markers that must not be left behind. */
static int has_residue(const char *want, const char *got)
{
	static const char *const marks[] = { "\xC3\xA2\xE2\x82\xAC", "\xC3\x83",
					     "\xC3\x82", "\xC3\xB0\xC5\xB8" };
	size_t i;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (strstr(got, marks[i]) && !strstr(want, marks[i]))
			return 1;
	return 0;
}

/* The path of a file of ../shared, or NULL when it is absent. */
static int shared_path(char *buf, size_t n, const char *rel)
{
	const char *dir = getenv("DEDUP_SOURCE_DIR");
	FILE *f;

	if ((size_t)snprintf(buf, n, "%s/../shared/%s", dir ? dir : ".",
			     rel) >= n)
		return 0;
	f = fopen(buf, "rb");
	if (!f)
		return 0;
	fclose(f);
	return 1;
}

static void test_seed_000(void **state)
{
	static const char *const gone[] = { "\xC3\xA2\xE2\x82\xAC", /* â€ */
					    "\xC3\x83", "\xC3\x82",
					    "\xC3\xB0\xC5\xB8", /* ðŸ */
					    "\xC4\x9F\xC5\xB8", /* ğŸ */
					    "\xEF\xBF\xBD\xEF\xBF\xBD" };
	static const char *const there[] = {
		"\xE2\x80\x98" "catastrophic\xE2\x80\x99", /* ‘…’ */
		"Washington\xE2\x80\x99s", "\xE2\x80\x9C" "catastrophic",
		"increase\xE2\x80\x9D", "\xF0\x9F\x92\xAC", /* 💬 */
		"\xF0\x9F\x87\xB7\xF0\x9F\x87\xBA",        /* 🇷🇺 */
		"\xC2\xA9 2023",
	};
	struct dedup_buf out = DEDUP_BUF_INIT;
	struct dedup_repair_report rep;
	char path[4096];
	char *in;
	size_t len, i;

	(void)state;
	if (!shared_path(path, sizeof(path),
			 "seeds/000_3d8733a3e39237f7.txt"))
		skip();
	in = slurp(path, &len);
	assert_non_null(in);
	assert_int_equal(dedup_repair_decode(rep_ctx, in, len, &out, &rep,
					     NULL),
			 DEDUP_OK);
	for (i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		if (strstr(out.buf, gone[i]))
			fail_msg("seed 000: '%s' left", gone[i]);
	for (i = 0; i < sizeof(there) / sizeof(there[0]); i++)
		if (!strstr(out.buf, there[i]))
			fail_msg("seed 000: '%s' missing", there[i]);
	assert_true(rep.spans_fixed > 20);
	free(in);
	dedup_buf_release(&out);
}

/*
 * Real articles from ../shared: clean ones stay as they are (only NFC may
 * change them, and none needs it), and lossless damage is undone.
 */
static void test_damage_articles(void **state)
{
	struct dedup_buf dmg = DEDUP_BUF_INIT, out = DEDUP_BUF_INIT,
			 ref = DEDUP_BUF_INIT;
	struct damage_rng rng = { 12345 };
	struct damage_chain ch;
	char path[4096], list[4096];
	size_t len, tried = 0, failed = 0, docs = 0, changed = 0;
	char *in, *names, *line, *next, *tab;

	(void)state;
	if (!shared_path(list, sizeof(list), "corpora/ecbplus_dev/labels.tsv"))
		skip();
	names = slurp(list, &len);
	assert_non_null(names);
	for (line = names; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		snprintf(path, sizeof(path), "corpora/ecbplus_dev/docs/%s",
			 line);
		if (!shared_path(list, sizeof(list), path))
			continue;
		in = slurp(list, &len);
		assert_non_null(in);
		docs++;
		assert_int_equal(dedup_repair_decode(rep_ctx, in, len, &ref,
						     NULL, NULL),
				 DEDUP_OK);
		if (ref.len != len || memcmp(ref.buf, in, len))
			changed++;
		damage_pick(&rng, &ch, 0);
		assert_int_equal(damage_apply(&ch, ref.buf, ref.len, &dmg),
				 DEDUP_OK);
		if (damage_recoverable(&ch, ref.buf, ref.len)) {
			tried++;
			assert_int_equal(dedup_repair_decode(rep_ctx, dmg.buf,
							     dmg.len, &out,
							     NULL, NULL),
					 DEDUP_OK);
			if (out.len != ref.len ||
			    memcmp(out.buf, ref.buf, ref.len)) {
				if (failed++ < 5)
					fprintf(stderr,
						"%s: damage %s not undone\n",
						line, damage_describe(&ch));
			}
		}
		free(in);
	}
	free(names);
	fprintf(stderr,
		"articles: %zu docs, %zu changed by repair; damage undone "
		"in %zu of %zu\n",
		docs, changed, tried - failed, tried);
	dedup_buf_release(&dmg);
	dedup_buf_release(&out);
	dedup_buf_release(&ref);
	/* A few articles may hold real mojibake; clean ones must not move. */
	assert_true(changed * 20 <= docs);
	assert_true(failed * 50 <= tried);
}

/*
 * Damage that loses bytes: the repair gives the original back, except
 * that a character whose lost byte leaves several readings may become
 * U+FFFD; it never leaves mojibake behind and never invents a character.
 */
static void test_damage_lossy(void **state)
{
	struct dedup_buf dmg = DEDUP_BUF_INIT, out = DEDUP_BUF_INIT,
			 ref = DEDUP_BUF_INIT;
	struct damage_rng rng = { 777 };
	struct damage_chain ch;
	char path[4096], list[4096];
	size_t len, tried = 0, exact = 0, marked = 0, wrong = 0, resid = 0;
	size_t trial;
	char *in = NULL, *names = NULL, *line, *next, *tab;
	const char *s;
	long lost;

	(void)state;
	if (shared_path(list, sizeof(list), "corpora/gva_dev/labels.tsv"))
		names = slurp(list, &len);
	line = names;
	for (trial = 0; trial < 1200; trial++) {
		/* articles while there are, then sentences written here */
		s = clean_text[trial % (sizeof(clean_text) /
					sizeof(clean_text[0]))];
		len = strlen(s);
		free(in);
		in = NULL;
		for (; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			tab = strchr(line, '\t');
			if (!tab)
				continue;
			*tab = '\0';
			snprintf(path, sizeof(path), "corpora/gva_dev/docs/%s",
				 line);
			if (!shared_path(list, sizeof(list), path))
				continue;
			in = slurp(list, &len);
			line = next;
			break;
		}
		if (in)
			s = in;
		assert_int_equal(dedup_repair_decode(rep_ctx, s, len, &ref,
						     NULL, NULL),
				 DEDUP_OK);
		damage_pick(&rng, &ch, 1);
		if (ch.n > 2)
			continue; /* three lossy layers: too much is gone */
		assert_int_equal(damage_apply(&ch, ref.buf, ref.len, &dmg),
				 DEDUP_OK);
		assert_int_equal(dedup_repair_decode(rep_ctx, dmg.buf, dmg.len,
						     &out, NULL, NULL),
				 DEDUP_OK);
		tried++;
		lost = lossy_match(ref.buf, ref.len, out.buf, out.len);
		if (lost == 0)
			exact++;
		else if (lost > 0)
			marked++;
		else if (wrong++ < 5)
			report_diff(damage_describe(&ch), ref.buf, ref.len,
				    out.buf, out.len);
		resid += has_residue(ref.buf, out.buf);
	}
	free(in);
	free(names);
	dedup_buf_release(&dmg);
	dedup_buf_release(&out);
	dedup_buf_release(&ref);
	fprintf(stderr,
		"lossy damage: %zu texts, %zu exact, %zu with U+FFFD, %zu "
		"wrong, %zu with mojibake left\n",
		tried, exact, marked, wrong, resid);
	assert_true(wrong * 20 <= tried);
	assert_true(resid * 50 <= tried);
}

/* Arbitrary bytes: always a clean status, valid UTF-8 out, no crash. */
static void test_random_bytes(void **state)
{
	struct damage_rng rng = { 4242 };
	struct dedup_buf out = DEDUP_BUF_INIT;
	unsigned char buf[512];
	size_t trial, n, i, k;
	dedup_status st;
	/* bytes mojibake and legacy text are made of, to get past detection */
	static const unsigned char pool[] = "ab \n&;#\xC2\xC3\xE2\x80\x9D\xA9"
					    "\xF0\x9F\xED\xA0\xEF\xBF\xBD";

	(void)state;
	for (trial = 0; trial < 3000; trial++) {
		n = damage_below(&rng, sizeof(buf));
		for (i = 0; i < n; i++)
			buf[i] = trial % 2 ? (unsigned char)damage_next(&rng)
					   : pool[damage_below(&rng,
						sizeof(pool) - 1)];
		st = dedup_repair_decode(rep_ctx, (const char *)buf, n, &out,
					 NULL, NULL);
		if (st != DEDUP_OK && st != DEDUP_EBINARY)
			fail_msg("status %d on %zu random bytes", st, n);
		if (st)
			continue;
		assert_int_equal(strlen(out.buf), out.len);
		for (i = 0; i < out.len; i += k) {
			k = cp_len(out.buf + i, out.len - i);
			assert_true(k <= 4);
		}
	}
	dedup_buf_release(&out);
}

/*
 * Non-UTF-8 files in each 8-bit code page we detect: short news-like texts
 * (written for this test) encoded at run time, must come back as the
 * original text, read in that code page (or one that decodes these bytes
 * identically: reported names may differ, the text may not).
 */
static void test_legacy_detect(void **state)
{
	static const struct {
		const char *cp, *text;
	} t[] = {
		{ "windows-1252", "Le ministre a déclaré hier à la presse que "
		  "l’accord était « très proche », mais la réunion prévue à "
		  "Genève a été reportée à la semaine prochaine." },
		{ "windows-1252", "Die Regierung hat am Dienstag über die "
		  "Erhöhung der Gebühren für Straßen und Brücken beraten; die "
		  "Länder müssen noch zustimmen." },
		{ "windows-1252", "El alcalde anunció ayer que la próxima "
		  "reunión será en junio, según fuentes del ayuntamiento de "
		  "Málaga." },
		{ "windows-1252", "The council’s “final” decision – due on "
		  "Monday – will cost £2.5m, officials said." },
		/* one sign that ISO-8859-5 reads as a Cyrillic capital */
		{ "windows-1252", "The co-defendant was sentenced to 172 ½ "
		  "years in prison last year, the court said." },
		/* soft hyphens, as web pages put them in long words */
		{ "windows-1252", "Die Bundes\u00ADregierung will die "
		  "Verkehrs\u00ADinfrastruktur ausbauen, sagte der Minister." },
		{ "windows-1250", "Rząd przyjął we wtorek projekt ustawy o "
		  "ochronie środowiska. Minister powiedział, że zmiany wejdą "
		  "w życie w przyszłym roku, jeśli Sejm się zgodzi." },
		{ "windows-1250", "Vláda ve středu schválila návrh zákona o "
		  "daních. Ministr řekl, že změny začnou platit příští rok "
		  "a dotknou se všech živnostníků." },
		{ "ISO-8859-2", "A kormány kedden elfogadta az új törvényt; a "
		  "miniszter szerint a változások jövőre lépnek életbe." },
		{ "windows-1251", "Правительство во вторник одобрило проект "
		  "закона об охране окружающей среды, сообщил министр на "
		  "пресс-конференции в Москве." },
		{ "KOI8-R", "Правительство во вторник одобрило проект закона "
		  "об охране окружающей среды, сообщил министр на "
		  "пресс-конференции в Москве." },
		{ "ISO-8859-5", "Уряд у вівторок схвалив проєкт закону про "
		  "охорону довкілля, повідомив міністр на пресконференції "
		  "в Києві." },
		{ "windows-1253", "Η κυβέρνηση ενέκρινε την Τρίτη το νομοσχέδιο "
		  "για την προστασία του περιβάλλοντος, δήλωσε ο υπουργός "
		  "στην Αθήνα." },
		{ "ISO-8859-7", "Ο υπουργός είπε ότι η συνάντηση θα γίνει "
		  "την επόμενη εβδομάδα στη Θεσσαλονίκη." },
		{ "ISO-8859-8", "השר אמר כי הפגישה תתקיים בשבוע הבא בתל אביב." },
		{ "windows-1254", "Hükümet salı günü çevre koruma yasasını "
		  "onayladı; bakan değişikliklerin gelecek yıl yürürlüğe "
		  "gireceğini söyledi. İstanbul’da toplantı yapıldı." },
		{ "windows-1257", "Vyriausybė antradienį pritarė aplinkosaugos "
		  "įstatymo projektui, sakė ministras; pakeitimai įsigalios "
		  "kitų metų pradžioje." },
		{ "windows-1255", "הממשלה אישרה ביום שלישי את הצעת החוק להגנת "
		  "הסביבה, אמר השר במסיבת עיתונאים בירושלים." },
		{ "windows-1256", "وافقت الحكومة يوم الثلاثاء على مشروع قانون "
		  "حماية البيئة، وقال الوزير في مؤتمر صحفي إن التعديلات ستدخل "
		  "حيز التنفيذ العام المقبل." },
	};
	struct dedup_buf out = DEDUP_BUF_INIT;
	struct dedup_repair_report rep;
	struct dedup_error err;
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		UErrorCode st = U_ZERO_ERROR;
		UConverter *cnv = ucnv_open(t[i].cp, &st);
		UChar u[1024];
		char bytes[1024];
		int32_t n;

		assert_true(U_SUCCESS(st));
		u_strFromUTF8(u, 1024, &n, t[i].text, -1, &st);
		n = ucnv_fromUChars(cnv, bytes, sizeof(bytes), u, n, &st);
		ucnv_close(cnv);
		assert_true(U_SUCCESS(st));
		memset(&rep, 0, sizeof(rep));
		if (dedup_repair_decode(rep_ctx, bytes, (size_t)n, &out, &rep,
					&err) == DEDUP_OK &&
		    out.len == strlen(t[i].text) &&
		    !memcmp(out.buf, t[i].text, out.len) && rep.converted)
			continue;
		fprintf(stderr, "%s text %zu read as %s\n", t[i].cp, i,
			rep.encoding ? rep.encoding : "(error)");
		failed++;
	}
	dedup_buf_release(&out);
	if (failed)
		fail_msg("%zu legacy texts misread", failed);
}

/* What one decoding gave: status, text, encoding, as a string. */
static char *decoded(struct dedup_repair *r, const char *in, size_t n)
{
	struct dedup_buf out = DEDUP_BUF_INIT, all = DEDUP_BUF_INIT;
	struct dedup_repair_report rep;
	struct dedup_error err;
	dedup_status st;

	memset(&rep, 0, sizeof(rep));
	dedup_error_clear(&err);
	st = dedup_repair_decode(r, in, n, &out, &rep, &err);
	assert_int_equal(dedup_buf_addf(&all, "%d %s %u %s|", (int)st,
					rep.encoding ? rep.encoding : "-",
					rep.converted, st ? err.msg : ""), 0);
	if (!st)
		assert_int_equal(dedup_buf_add(&all, out.buf, out.len), 0);
	dedup_buf_release(&out);
	return dedup_buf_detach(&all, NULL);
}

/*
 * Bytes that go to ICU's detection (East Asian encodings, high bytes
 * that fit no code page) come out the same when a context meets them
 * again and takes its remembered choice: compared, twice over, with a
 * new context's first answer.
 */
static void test_detect_again(void **state)
{
	static const struct {
		const char *cp, *text;
	} t[] = {
		{ "Shift_JIS", "政府は火曜日、環境保護法案を承認したと大臣が"
		  "記者会見で述べた。" },
		{ "EUC-KR", "정부는 화요일 환경 보호 법안을 승인했다고 장관이 "
		  "기자회견에서 말했다." },
		{ "GB18030", "政府周二批准了环境保护法草案，部长在新闻发布会上"
		  "表示。" },
		{ "Big5", "政府週二批准了環境保護法草案，部長在記者會上表示。" },
	};
	enum { NT = sizeof(t) / sizeof(t[0]), NIN = NT + 2 };
	struct dedup_repair *fresh;
	char bytes[NIN][1024], *first[NIN], *again;
	size_t len[NIN], i, k, round;
	struct damage_rng rng = { 77 };

	(void)state;
	for (i = 0; i < NT; i++) {
		UErrorCode st = U_ZERO_ERROR;
		UConverter *cnv = ucnv_open(t[i].cp, &st);
		UChar u[512];
		int32_t n;

		assert_true(U_SUCCESS(st));
		u_strFromUTF8(u, 512, &n, t[i].text, -1, &st);
		n = ucnv_fromUChars(cnv, bytes[i], sizeof(bytes[i]), u, n,
				    &st);
		ucnv_close(cnv);
		assert_true(U_SUCCESS(st));
		len[i] = (size_t)n;
	}
	/* high bytes only (no encoding fits), with spaces (a poor one does) */
	for (; i < NIN; i++) {
		len[i] = 500;
		for (k = 0; k < len[i]; k++)
			bytes[i][k] = (char)(i == NT || damage_below(&rng, 5) ?
					     0x80 + damage_below(&rng, 128) :
					     ' ');
	}
	for (i = 0; i < NIN; i++) {
		assert_int_equal(dedup_repair_new(&fresh, NULL), DEDUP_OK);
		first[i] = decoded(fresh, bytes[i], len[i]);
		dedup_repair_free(fresh);
	}
	for (round = 0; round < 3; round++) {
		for (i = 0; i < NIN; i++) {
			again = decoded(rep_ctx, bytes[i], len[i]);
			if (strcmp(again, first[i]))
				fail_msg("input %zu, round %zu: \"%.60s\", "
					 "first \"%.60s\"", i, round, again,
					 first[i]);
			free(again);
		}
	}
	for (i = 0; i < NIN; i++)
		free(first[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_idempotent),
		cmocka_unit_test(test_block_offsets),
		cmocka_unit_test(test_text_in_place),
		cmocka_unit_test(test_report_and_errors),
		cmocka_unit_test(test_legacy_detect),
		cmocka_unit_test(test_detect_again),
		cmocka_unit_test(test_damage_sentences),
		cmocka_unit_test(test_seed_000),
		cmocka_unit_test(test_damage_articles),
		cmocka_unit_test(test_damage_lossy),
		cmocka_unit_test(test_random_bytes),
	};

	return cmocka_run_group_tests(tests, load_cases, free_cases);
}
