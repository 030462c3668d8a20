/* test_output.c - unit tests of the write stage (src/output.c). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dedup/output.h"

/* ---- decoders: the inverse of each escaping, as a consumer would ---- */

/* Undo dedup_escape_tsv(); returns 0 on a malformed escape. */
static int tsv_unescape(const char *s, size_t n, struct dedup_buf *out)
{
	const char *end = s + n;

	for (; s < end; s++) {
		unsigned c = (unsigned char)*s;

		if (c == '\t' || c == '\n' || c == '\r' || c < 0x20)
			return 0; /* must have been escaped */
		if (c == '\\') {
			if (++s == end)
				return 0;
			switch (*s) {
			case 't': c = '\t'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case '\\': c = '\\'; break;
			case 'x':
				if (end - s < 3 || sscanf(s + 1, "%2x", &c) != 1)
					return 0;
				s += 2;
				break;
			default:
				return 0;
			}
		}
		if (dedup_buf_addch(out, (int)c))
			return 0;
	}
	return 1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void add_utf8(struct dedup_buf *out, unsigned cp)
{
	if (cp < 0x80) {
		dedup_buf_addch(out, (int)cp);
	} else if (cp < 0x800) {
		dedup_buf_addch(out, (int)(0xc0 | cp >> 6));
		dedup_buf_addch(out, (int)(0x80 | (cp & 0x3f)));
	} else {
		dedup_buf_addch(out, (int)(0xe0 | cp >> 12));
		dedup_buf_addch(out, (int)(0x80 | (cp >> 6 & 0x3f)));
		dedup_buf_addch(out, (int)(0x80 | (cp & 0x3f)));
	}
}

/*
 * Decode the body of a JSON string (no quotes) as a surrogateescape reader
 * would: \udcXX back to the byte XX. Rejects what JSON forbids raw.
 */
static int json_unescape(const char *s, size_t n, struct dedup_buf *out)
{
	const char *end = s + n;

	for (; s < end; s++) {
		unsigned c = (unsigned char)*s;
		unsigned cp = 0;
		int i, h;

		if (c < 0x20 || c == '"')
			return 0;
		if (c != '\\') {
			dedup_buf_addch(out, (int)c);
			continue;
		}
		if (++s == end)
			return 0;
		switch (*s) {
		case '"': dedup_buf_addch(out, '"'); break;
		case '\\': dedup_buf_addch(out, '\\'); break;
		case '/': dedup_buf_addch(out, '/'); break;
		case 'b': dedup_buf_addch(out, '\b'); break;
		case 'f': dedup_buf_addch(out, '\f'); break;
		case 'n': dedup_buf_addch(out, '\n'); break;
		case 'r': dedup_buf_addch(out, '\r'); break;
		case 't': dedup_buf_addch(out, '\t'); break;
		case 'u':
			if (end - s < 5)
				return 0;
			for (i = 1; i <= 4; i++) {
				if ((h = hexval(s[i])) < 0)
					return 0;
				cp = cp << 4 | (unsigned)h;
			}
			s += 4;
			if (cp >= 0xdc80 && cp <= 0xdcff)
				dedup_buf_addch(out, (int)(cp & 0xff));
			else if (cp >= 0xd800 && cp <= 0xdfff)
				return 0; /* we never write real pairs */
			else
				add_utf8(out, cp);
			break;
		default:
			return 0;
		}
	}
	return 1;
}

/* Is s valid UTF-8 (RFC 3629)? Checked independently of output.c. */
static int valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned cp, need, min;

		if (s[i] < 0x80) {
			i++;
			continue;
		} else if ((s[i] & 0xe0) == 0xc0) {
			cp = s[i] & 0x1f, need = 1, min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			cp = s[i] & 0x0f, need = 2, min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			cp = s[i] & 0x07, need = 3, min = 0x10000;
		} else {
			return 0;
		}
		if (n - i <= need)
			return 0;
		for (i++; need; need--, i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
	}
	return 1;
}

static char *esc(dedup_status (*fn)(struct dedup_buf *, const char *),
		 const char *s)
{
	struct dedup_buf b = DEDUP_BUF_INIT;

	assert_int_equal(fn(&b, s), DEDUP_OK);
	return dedup_buf_detach(&b, NULL);
}

#define assert_escaped(fn, in, want) do { \
	char *got_ = esc(fn, in); \
	assert_string_equal(got_, want); \
	free(got_); \
} while (0)

/* ---- escaping ---- */

static void test_tsv_escape(void **state)
{
	(void)state;
	assert_escaped(dedup_escape_tsv, "", "");
	assert_escaped(dedup_escape_tsv, "plain/path.txt", "plain/path.txt");
	assert_escaped(dedup_escape_tsv, "a\tb\nc\rd\\e", "a\\tb\\nc\\rd\\\\e");
	assert_escaped(dedup_escape_tsv, "bell\x07" "del\x7f" "esc\x1b",
		       "bell\\x07del\\x7fesc\\x1b");
	/* valid UTF-8 stays, each invalid byte is escaped alone */
	assert_escaped(dedup_escape_tsv, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xb0",
		       "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xb0");
	assert_escaped(dedup_escape_tsv, "caf\xe9", "caf\\xe9");
	assert_escaped(dedup_escape_tsv, "\xc3", "\\xc3");         /* truncated */
	assert_escaped(dedup_escape_tsv, "\xc0\xaf", "\\xc0\\xaf"); /* overlong */
	assert_escaped(dedup_escape_tsv, "\xed\xa0\x80", "\\xed\\xa0\\x80");
	assert_escaped(dedup_escape_tsv, "\xf4\x90\x80\x80",
		       "\\xf4\\x90\\x80\\x80"); /* past U+10FFFF */
	assert_escaped(dedup_escape_tsv, "\xe2\x82" "x", "\\xe2\\x82x");
}

static void test_json_escape(void **state)
{
	(void)state;
	assert_escaped(dedup_escape_json, "", "");
	assert_escaped(dedup_escape_json, "say \"hi\" \\ /",
		       "say \\\"hi\\\" \\\\ /");
	assert_escaped(dedup_escape_json, "\b\f\n\r\t\x01\x1f\x7f",
		       "\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f");
	assert_escaped(dedup_escape_json, "\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9");
	assert_escaped(dedup_escape_json, "\xe9t\xe9", "\\udce9t\\udce9");
	assert_escaped(dedup_escape_json, "\x80\xff", "\\udc80\\udcff");
}

/* Tiny deterministic generator: the same strings on every run. */
static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33);
}

static void random_string(uint64_t *seed, char *s, size_t max)
{
	static const char *const bits[] = {
		"\t", "\n", "\r", "\\", "\\x41", "\\n", "\"", "\xc3\xa9",
		"\xe2\x82\xac", "\xf0\x9f\x93\xb0", "\xed\xa0\x80", "\xc0\x80",
		"\xf8\x88\x80\x80\x80", "\x7f", "\x1b", "/", "a", "Z",
	};
	size_t len = rnd(seed) % max, i = 0;

	while (i < len) {
		if (rnd(seed) % 2) {
			int c;

			do
				c = (int)(rnd(seed) % 256);
			while (!c);
			s[i++] = (char)c;
		} else {
			const char *b = bits[rnd(seed) % (sizeof(bits) /
							  sizeof(bits[0]))];
			size_t bl = strlen(b);

			if (i + bl > len)
				break;
			memcpy(s + i, b, bl);
			i += bl;
		}
	}
	s[i] = '\0';
}

static void test_round_trip_random(void **state)
{
	struct dedup_buf e = DEDUP_BUF_INIT, d = DEDUP_BUF_INIT;
	uint64_t seed = 0x5eed;
	char s[200];
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		random_string(&seed, s, sizeof(s) - 1);

		dedup_buf_reset(&e);
		dedup_buf_reset(&d);
		assert_int_equal(dedup_escape_tsv(&e, s), DEDUP_OK);
		assert_true(valid_utf8((unsigned char *)e.buf, e.len));
		assert_null(memchr(e.buf, '\t', e.len));
		assert_null(memchr(e.buf, '\n', e.len));
		assert_true(tsv_unescape(e.buf, e.len, &d));
		assert_int_equal(d.len, strlen(s));
		assert_memory_equal(d.buf, s, d.len);

		dedup_buf_reset(&e);
		dedup_buf_reset(&d);
		assert_int_equal(dedup_escape_json(&e, s), DEDUP_OK);
		assert_true(valid_utf8((unsigned char *)e.buf, e.len));
		assert_true(json_unescape(e.buf, e.len, &d));
		assert_int_equal(d.len, strlen(s));
		assert_memory_equal(d.buf, s, d.len);
	}
	dedup_buf_release(&e);
	dedup_buf_release(&d);
}

/* ---- writers ---- */

static char *write_all(enum dedup_format fmt, int nul,
		       const struct dedup_record *r, size_t n, size_t *len)
{
	struct dedup_writer *w;
	char *mem = NULL;
	size_t i;
	FILE *f = open_memstream(&mem, len);

	assert_non_null(f);
	assert_int_equal(dedup_writer_new(&w, fmt, f, nul, NULL), DEDUP_OK);
	for (i = 0; i < n; i++)
		assert_int_equal(dedup_writer_write(w, &r[i], NULL), DEDUP_OK);
	assert_int_equal(dedup_writer_finish(w, NULL), DEDUP_OK);
	dedup_writer_free(w);
	assert_int_equal(fclose(f), 0);
	return mem;
}

static const struct dedup_record sample[] = {
	{ "news/a.txt", "news/a.txt", DEDUP_ROLE_KEEP, 1.0 },
	{ "news/b.txt", "news/a.txt", DEDUP_ROLE_DUP, 0.84213 },
	{ "news/c d.txt", "news/a.txt", DEDUP_ROLE_DUP, 0.5 },
	{ "news/solo.txt", "news/solo.txt", DEDUP_ROLE_KEEP, 1.0 },
};

static void test_tsv_writer(void **state)
{
	static const char nul_tsv[] =
		"news/a.txt\tnews/a.txt\tkeep\t1\0"
		"news/b.txt\tnews/a.txt\tdup\t0.8421\0";
	size_t len;
	char *out;

	(void)state;
	out = write_all(DEDUP_FORMAT_TSV, 0, sample, 4, &len);
	assert_string_equal(out,
		"news/a.txt\tnews/a.txt\tkeep\t1\n"
		"news/b.txt\tnews/a.txt\tdup\t0.8421\n"
		"news/c d.txt\tnews/a.txt\tdup\t0.5\n"
		"news/solo.txt\tnews/solo.txt\tkeep\t1\n");
	free(out);

	out = write_all(DEDUP_FORMAT_TSV, 1, sample, 2, &len);
	assert_int_equal(len, sizeof(nul_tsv) - 1);
	assert_memory_equal(out, nul_tsv, len);
	free(out);
}

static void test_jsonl_writer(void **state)
{
	size_t len;
	char *out;

	(void)state;
	out = write_all(DEDUP_FORMAT_JSONL, 0, sample, 2, &len);
	assert_string_equal(out,
		"{\"path\":\"news/a.txt\",\"cluster\":\"news/a.txt\","
		"\"role\":\"keep\",\"score\":1}\n"
		"{\"path\":\"news/b.txt\",\"cluster\":\"news/a.txt\","
		"\"role\":\"dup\",\"score\":0.8421}\n");
	free(out);
}

static void test_lists(void **state)
{
	size_t len;
	char *out;

	(void)state;
	out = write_all(DEDUP_FORMAT_KEEP, 0, sample, 4, &len);
	assert_string_equal(out, "news/a.txt\nnews/solo.txt\n");
	free(out);
	out = write_all(DEDUP_FORMAT_DUPS, 0, sample, 4, &len);
	assert_string_equal(out, "news/b.txt\nnews/c d.txt\n");
	free(out);
	out = write_all(DEDUP_FORMAT_DUPS, 1, sample, 4, &len);
	assert_int_equal(len, 24);
	assert_memory_equal(out, "news/b.txt\0news/c d.txt\0", 24);
	free(out);
}

static void test_scores(void **state)
{
	static const struct { double score; const char *text; } cases[] = {
		{ 1.0, "1" }, { 0.0, "0" }, { -0.0, "0" }, { 0.5, "0.5" },
		{ 0.84213, "0.8421" }, { 0.84216, "0.8422" }, { 0.25, "0.25" },
		{ 0.1, "0.1" }, { 0.00004, "0" }, { 0.99999, "1" },
		{ 0.9999, "0.9999" }, { 0.0001, "0.0001" }, { 1.0000001, "1" },
		{ -0.001, "0" },
	};
	struct dedup_record r = { "p", "p", DEDUP_ROLE_DUP, 0 };
	char want[64];
	size_t i, len;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r.score = cases[i].score;
		out = write_all(DEDUP_FORMAT_TSV, 0, &r, 1, &len);
		snprintf(want, sizeof(want), "p\tp\tdup\t%s\n", cases[i].text);
		assert_string_equal(out, want);
		free(out);
	}
}

static void test_bad_arguments(void **state)
{
	struct dedup_record r = { "p", "p", DEDUP_ROLE_DUP, 0 };
	struct dedup_writer *w;
	struct dedup_error err;

	(void)state;
	assert_int_equal(dedup_writer_new(&w, (enum dedup_format)42, stdout, 0,
					  &err), DEDUP_EINVAL);
	assert_null(w);
	assert_int_equal(dedup_writer_new(&w, DEDUP_FORMAT_TSV, stdout, 0,
					  &err), DEDUP_OK);
	r.score = 0.0 / 0.0;
	assert_int_equal(dedup_writer_write(w, &r, &err), DEDUP_EINVAL);
	assert_string_equal(err.msg, "invalid record for 'p'");
	dedup_writer_free(w);
	dedup_writer_free(NULL);
}

static void test_dev_full(void **state)
{
	struct dedup_writer *w;
	struct dedup_error err;
	dedup_status st = DEDUP_OK;
	FILE *f = fopen("/dev/full", "w");
	int i;

	(void)state;
	if (!f)
		skip();
	assert_int_equal(dedup_writer_new(&w, DEDUP_FORMAT_JSONL, f, 0, &err),
			 DEDUP_OK);
	/* Buffered: the error may show on a write or only at the flush. */
	for (i = 0; i < 1000 && !st; i++)
		st = dedup_writer_write(w, &sample[i % 4], &err);
	if (!st)
		st = dedup_writer_finish(w, &err);
	assert_int_equal(st, DEDUP_EIO);
	assert_string_equal(err.msg,
			    "cannot write output: No space left on device");
	/* and it sticks */
	assert_int_equal(dedup_writer_write(w, &sample[0], &err), DEDUP_EIO);
	assert_int_equal(dedup_writer_finish(w, &err), DEDUP_EIO);
	dedup_writer_free(w);
	fclose(f);
}

static void test_broken_pipe(void **state)
{
	struct dedup_writer *w;
	struct dedup_error err;
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	int p[2];
	FILE *f;

	(void)state;
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	f = fdopen(p[1], "w");
	assert_non_null(f);
	assert_int_equal(dedup_writer_new(&w, DEDUP_FORMAT_KEEP, f, 0, &err),
			 DEDUP_OK);
	assert_int_equal(dedup_writer_write(w, &sample[0], &err), DEDUP_OK);
	assert_int_equal(dedup_writer_finish(w, &err), DEDUP_EIO);
	assert_string_equal(err.msg, "cannot write output: Broken pipe");
	dedup_writer_free(w);
	fclose(f);
	signal(SIGPIPE, old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tsv_escape),
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_tsv_writer),
		cmocka_unit_test(test_jsonl_writer),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_scores),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_dev_full),
		cmocka_unit_test(test_broken_pipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
