/*
 * test_tokenize.c - words, folding and flags of stage 3a, and the
 * equivalence of the fast path with the ICU path on sample texts in many
 * languages, on randomized strings and (when present) on ../shared.
 */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dedup/tokenize.h"
#include "tokenize_int.h"

struct fixture {
	struct dedup_tokenizer *tk;
	struct dedup_tokens a, b;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dedup_error err;

	if (!f)
		return -1;
	if (dedup_tokenizer_new(&f->tk, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		free(f);
		return -1;
	}
	dedup_tokens_init(&f->a);
	dedup_tokens_init(&f->b);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dedup_tokens_release(&f->a);
	dedup_tokens_release(&f->b);
	dedup_tokenizer_free(f->tk);
	free(f);
	return 0;
}

/*
 * Print s with non-ASCII and controls escaped, for failure reports: all
 * of a short text, the 160 bytes around `at` of a long one.
 */
static void print_escaped(const char *s, size_t len, size_t at)
{
	size_t i = 0;

	if (len > 320) {
		i = at > 80 ? at - 80 : 0;
		len = at + 80 < len ? at + 80 : len;
		fprintf(stderr, "(bytes %zu to %zu) ", i, len);
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fputc('\n', stderr);
}

static const char *tok_text(const struct dedup_tokens *t, size_t i)
{
	return t->text.buf + t->v[i].off;
}

/* 0 when both token lists are identical; reports the first difference. */
static int compare_tokens(const char *text, size_t len,
			  const struct dedup_tokens *a,
			  const struct dedup_tokens *b)
{
	size_t i, n = a->n < b->n ? a->n : b->n;

	for (i = 0; i < n; i++) {
		const struct dedup_token *x = &a->v[i], *y = &b->v[i];

		if (x->hash == y->hash && x->len == y->len &&
		    x->src == y->src && x->flags == y->flags &&
		    x->off == y->off &&
		    !memcmp(tok_text(a, i), tok_text(b, i), x->len))
			continue;
		fprintf(stderr, "token %zu differs: fast '%s' src %u flags %x, "
			"icu '%s' src %u flags %x in:\n", i, tok_text(a, i),
			x->src, x->flags, tok_text(b, i), y->src, y->flags);
		print_escaped(text, len, x->src);
		return -1;
	}
	if (a->n != b->n) {
		fprintf(stderr, "fast path gives %zu tokens, icu %zu, in:\n",
			a->n, b->n);
		print_escaped(text, len, n ? a->v[n - 1].src : 0);
		return -1;
	}
	if (a->text.len != b->text.len ||
	    memcmp(a->text.buf, b->text.buf, a->text.len)) {
		fprintf(stderr, "folded text differs in:\n");
		print_escaped(text, len, 0);
		return -1;
	}
	return 0;
}

static int same_both_ways(struct fixture *f, const char *text, size_t len)
{
	struct dedup_error err;

	assert_int_equal(dedup_tokenize(f->tk, text, len, &f->a, &err),
			 DEDUP_OK);
	assert_int_equal(dedup_tokenize_icu(f->tk, text, len, &f->b, &err),
			 DEDUP_OK);
	return compare_tokens(text, len, &f->a, &f->b);
}

static void tokenize_str(struct fixture *f, const char *s)
{
	struct dedup_error err;

	assert_int_equal(dedup_tokenize(f->tk, s, strlen(s), &f->a, &err),
			 DEDUP_OK);
	assert_int_equal(same_both_ways(f, s, strlen(s)), 0);
}

/* Assert the folded forms of the tokens of s, separated by spaces. */
static void expect_words(struct fixture *f, const char *s, const char *want)
{
	char got[1024];
	size_t i, n = 0;

	tokenize_str(f, s);
	got[0] = '\0';
	for (i = 0; i < f->a.n; i++) {
		int w = snprintf(got + n, sizeof(got) - n, "%s%s",
				 i ? " " : "", tok_text(&f->a, i));

		assert_true(w > 0 && (size_t)w < sizeof(got) - n);
		n += (size_t)w;
	}
	if (strcmp(got, want))
		fprintf(stderr, "input: %s\n", s);
	assert_string_equal(got, want);
}

static void expect_fold(struct fixture *f, const char *word, const char *want)
{
	struct dedup_buf b = DEDUP_BUF_INIT;
	struct dedup_error err;

	assert_int_equal(dedup_fold(f->tk, word, strlen(word), &b, &err), DEDUP_OK);
	assert_string_equal(b.buf, want);
	dedup_buf_release(&b);
}

/* The tokenizer's inline hash is dedup_token_hash(), at every length. */
static void test_token_hash(void **state)
{
	char s[80];
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(s); n++)
		s[n] = (char)('a' + n * 7 % 26);
	for (n = 0; n <= sizeof(s); n++) {
		assert_true(tok_hash(s, n) == dedup_token_hash(s, n));
		assert_true(tok_hash(s, n) ==
			    XXH3_64bits_withSeed(s, n, TOK_HASH_SEED));
	}
	/* stable across builds: indexes keep term ids made from it */
	assert_true(dedup_token_hash("ferry", 5) ==
		    XXH3_64bits_withSeed("ferry", 5, 0x6465647570ULL));
}

static void test_fold(void **state)
{
	struct fixture *f = *state;

	expect_fold(f, "Hello", "hello");
	/* Turkish: dotted capital I keeps its dot as a combining mark. */
	expect_fold(f, "\xc4\xb0stanbul", "i\xcc\x87stanbul");
	expect_fold(f, "I\xc5\x9eIK", "i\xc5\x9fik");
	expect_fold(f, "\xc4\xb1", "\xc4\xb1"); /* dotless i stays */
	expect_fold(f, "Stra\xc3\x9f" "e", "strasse");
	expect_fold(f, "\xce\xa3\xce\x9f\xce\xa6\xce\x9f\xce\xa3",
		    "\xcf\x83\xce\xbf\xcf\x86\xce\xbf\xcf\x83");
	expect_fold(f, "\xef\xac\x81" "ne", "fine");     /* fi ligature */
	expect_fold(f, "\xef\xbc\xa1\xef\xbc\xa2" "1", "ab1"); /* fullwidth */
	expect_fold(f, "x\xc2\xb2", "x2");               /* superscript */
	/* Apostrophe, quote and dash variants. */
	expect_fold(f, "don\xe2\x80\x99t", "don't");
	expect_fold(f, "don\xca\xbct", "don't");
	expect_fold(f, "o\xe2\x80\xb2" "clock", "o'clock");
	expect_fold(f, "don\xef\xbc\x87t", "don't");
	expect_fold(f, "well\xe2\x80\x91known", "well-known");
	expect_fold(f, "a\xe2\x80\x94" "b\xe2\x80\x93" "c\xe2\x88\x92" "d",
		    "a-b-c-d");
	expect_fold(f, "\xe2\x80\x9cq\xe2\x80\x9d", "\"q\"");
	/* Soft hyphen and zero-width characters vanish. */
	expect_fold(f, "co\xc2\xad" "operate", "cooperate");
	expect_fold(f, "a\xe2\x80\x8b" "b\xe2\x80\x8c" "c\xe2\x80\x8d" "d"
		       "\xef\xbb\xbf", "abcd");
	/* NFKC composes a decomposed accent. */
	expect_fold(f, "Cafe\xcc\x81", "caf\xc3\xa9");
}

static void test_fold_appends(void **state)
{
	struct fixture *f = *state;
	struct dedup_buf b = DEDUP_BUF_INIT;
	struct dedup_error err;

	assert_int_equal(dedup_buf_addstr(&b, "x:"), DEDUP_OK);
	assert_int_equal(dedup_fold(f->tk, "ABC", 3, &b, &err), DEDUP_OK);
	assert_int_equal(dedup_fold(f->tk, "", 0, &b, &err), DEDUP_OK);
	assert_string_equal(b.buf, "x:abc");
	assert_int_equal(b.len, 5);
	dedup_buf_release(&b);
}

static void test_words(void **state)
{
	struct fixture *f = *state;

	expect_words(f, "", "");
	expect_words(f, " \n\t.,;!? -- ", "");
	expect_words(f, "Hello, World!", "hello world");
	/* ICU keeps these together... */
	expect_words(f, "Don't stop the U.S. at 3.5 or 1,000.25 now",
		     "don't stop the u.s at 3.5 or 1,000.25 now");
	expect_words(f, "don\xe2\x80\x99t", "don't");
	expect_words(f, "snake_case a_1 3_b", "snake_case a_1 3_b");
	/* ...and splits these. */
	expect_words(f, "well-known e-mail C++ A/B 9-5", "well known e mail c a b 9 5");
	expect_words(f, "end.\"Next", "end next");
	expect_words(f, "a . b", "a b");
	/* A lone connector is not a word, two are. */
	expect_words(f, "_ __ _x", "__ _x");
	expect_words(f, "soft\xc2\xad" "hyphen", "softhyphen");
	expect_words(f, "Stra\xc3\x9f" "e STRASSE", "strasse strasse");
	expect_words(f, "\xc4\xb0I \xc4\xb1i", "i\xcc\x87i \xc4\xb1i");
	expect_words(f, "Cafe\xcc\x81 caf\xc3\xa9", "caf\xc3\xa9 caf\xc3\xa9");
	/* No-space scripts go through the dictionary. */
	expect_words(f, "\xe4\xbb\x8a\xe5\xa4\xa9\xe5\xa4\xa9\xe6\xb0\x94",
		     "\xe4\xbb\x8a\xe5\xa4\xa9 \xe5\xa4\xa9\xe6\xb0\x94");
}

static void test_offsets(void **state)
{
	struct fixture *f = *state;
	const char *s = "  \xc3\x84pfel, Birnen\n\xce\xb1\xce\xb2 9";

	tokenize_str(f, s);
	assert_int_equal(f->a.n, 4);
	assert_int_equal(f->a.v[0].src, 2);
	assert_int_equal(f->a.v[1].src, 10);
	assert_int_equal(f->a.v[2].src, 17);
	assert_int_equal(f->a.v[3].src, 22);
	assert_int_equal(f->a.v[0].off, 0);
	assert_int_equal(f->a.v[0].len, 6); /* "äpfel" */
	assert_string_equal(tok_text(&f->a, 0), "\xc3\xa4pfel");
	assert_int_equal(f->a.v[1].off, 7);
	assert_int_equal(f->a.v[0].hash, dedup_token_hash("\xc3\xa4pfel", 6));
	assert_int_equal(f->a.text.len, 7 + 7 + 5 + 2);
}

static void test_flags(void **state)
{
	struct fixture *f = *state;
	const char *s = "The cat saw 3 dogs. Then A2 ran! why? ok\nnext, "
			"\xc7\x85" "emal \xe2\x80\x9c" "Quote\xe2\x80\x9d"
			" \xe4\xb8\xad\xe6\x96\x87";
	const uint32_t S = DEDUP_TOK_SENTENCE, U = DEDUP_TOK_UPPER,
		       N = DEDUP_TOK_NUMBER, I = DEDUP_TOK_IDEO;
	const uint32_t want[] = {
		S | U, 0, 0, N, 0, S | U, U | N, 0, S, S, S, U, U, I,
	};
	size_t i;

	tokenize_str(f, s);
	assert_int_equal(f->a.n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < f->a.n; i++) {
		if (f->a.v[i].flags != want[i])
			fprintf(stderr, "token %zu '%s': flags %x, want %x\n",
				i, tok_text(&f->a, i), f->a.v[i].flags,
				want[i]);
		assert_int_equal(f->a.v[i].flags, want[i]);
	}
}

static void test_reuse(void **state)
{
	struct fixture *f = *state;
	struct dedup_error err;

	tokenize_str(f, "one two three four five six seven");
	assert_int_equal(f->a.n, 7);
	assert_int_equal(dedup_tokenize(f->tk, "eight", 5, &f->a, &err),
			 DEDUP_OK);
	assert_int_equal(f->a.n, 1);
	assert_int_equal(f->a.v[0].off, 0);
	assert_string_equal(f->a.text.buf, "eight");
	assert_int_equal(dedup_tokenize(f->tk, "", 0, &f->a, &err), DEDUP_OK);
	assert_int_equal(f->a.n, 0);
	assert_int_equal(f->a.text.len, 0);
	assert_int_equal(dedup_tokenize(f->tk, NULL, 0, &f->a, &err),
			 DEDUP_OK);
	assert_int_equal(dedup_tokenize_icu(f->tk, NULL, 0, &f->a, &err),
			 DEDUP_OK);
	assert_int_equal(f->a.n, 0);
	dedup_tokenizer_free(NULL);
}

/*
 * A size cap on the folded text is a real limit: a text that needs
 * exactly the cap fits, one byte less fails cleanly, on both paths.
 */
static void test_cap(void **state)
{
	struct fixture *f = *state;
	static const char *const texts[] = {
		"alpha beta gamma, delta. epsilon zeta eta theta iota kappa",
		"Stra\xc3\x9f" "e \xc3\xa9t\xc3\xa9 Caf\xc3\xa9 d\xc3\xa9j\xc3\xa0",
		"\xe4\xbb\x8a\xe5\xa4\xa9\xe5\xa4\xa9\xe6\xb0\x94 ok "
		"\xef\xac\x81" "ne \xf0\x9f\x98\x80 end",
	};
	struct dedup_error err;
	size_t i, need;
	int path;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *t = texts[i];

		dedup_tokens_release(&f->a);
		assert_int_equal(dedup_tokenize_icu(f->tk, t, strlen(t), &f->a,
						    &err), DEDUP_OK);
		need = f->a.text.len;
		assert_true(need > 0);
		for (path = 0; path < 2; path++) {
			dedup_status (*fn)(struct dedup_tokenizer *,
					   const char *, size_t,
					   struct dedup_tokens *,
					   struct dedup_error *) =
				path ? dedup_tokenize_icu : dedup_tokenize;

			dedup_tokens_release(&f->a);
			f->a.text.cap = need;
			assert_int_equal(fn(f->tk, t, strlen(t), &f->a, &err),
					 DEDUP_OK);
			assert_int_equal(f->a.text.len, need);
			dedup_tokens_release(&f->a);
			f->a.text.cap = need - 1;
			dedup_error_clear(&err);
			assert_int_equal(fn(f->tk, t, strlen(t), &f->a, &err),
					 DEDUP_ENOMEM);
			assert_int_equal(err.code, DEDUP_ENOMEM);
			assert_true(err.msg[0] != '\0');
			assert_true(f->a.text.len <= need - 1);
		}
	}
	dedup_tokens_release(&f->a);
	f->a.text.cap = 0;
}

/* Not valid UTF-8 (outside the contract) must still be safe and agree. */
static void test_malformed(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"ab\xff" "cd ef", "\xc3", "x \xe2\x80", "caf\xc3 \xa9t\xc3\xa9",
		"\xf0\x9f\x98", "\xed\xa0\x80 surrogate", "\xc0\xaf" "abc",
		"ab\0cd",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);

		if (i == 7)
			len = 5;
		assert_int_equal(same_both_ways(f, bad[i], len), 0);
	}
}

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET))
		goto out;
	buf = malloc((size_t)n + 1);
	if (!buf)
		goto out;
	if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	*len = (size_t)n;
out:
	fclose(fp);
	return buf;
}

/*
 * Compare both paths on every regular file of dir; returns the number of
 * files read (stops after max_bytes).
 */
static size_t compare_dir(struct fixture *f, const char *dir,
			  size_t max_bytes, size_t *bytes, size_t *ntok)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t files = 0;
	char path[4096];

	if (!d)
		return 0;
	while ((de = readdir(d)) && *bytes < max_bytes) {
		size_t len;
		char *text;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		text = read_file(path, &len);
		if (!text)
			continue;
		if (same_both_ways(f, text, len))
			fprintf(stderr, "in file %s\n", path);
		assert_int_equal(compare_tokens(text, len, &f->a, &f->b), 0);
		*ntok += f->a.n;
		*bytes += len;
		files++;
		free(text);
	}
	closedir(d);
	return files;
}

static void test_samples(void **state)
{
	struct fixture *f = *state;
	const char *src = getenv("DEDUP_SOURCE_DIR");
	char dir[4096];
	size_t bytes = 0, ntok = 0, files;

	if (!src)
		src = ".";
	snprintf(dir, sizeof(dir), "%s/tests/data/tokenize", src);
	files = compare_dir(f, dir, SIZE_MAX, &bytes, &ntok);
	assert_true(files >= 12);
	assert_true(ntok > 500);
}

/*
 * The fast path must really cover the alphabetic scripts: none of these
 * samples may need an ICU run, while the Chinese one must.
 */
static void test_fast_coverage(void **state)
{
	static const char *const alphabetic[] = {
		"en", "de", "fr", "es", "pl", "tr", "ru", "el", "vi", "ar", "ko",
	};
	struct fixture *f = *state;
	const char *src = getenv("DEDUP_SOURCE_DIR");
	struct dedup_error err;
	char path[4096];
	size_t i, len;
	char *text;

	if (!src)
		src = ".";
	/* With the ICU this was written for, the self-test must pass. */
	assert_true(f->tk->fast_ok);
	for (i = 0; i <= sizeof(alphabetic) / sizeof(alphabetic[0]); i++) {
		int cjk = i == sizeof(alphabetic) / sizeof(alphabetic[0]);

		snprintf(path, sizeof(path), "%s/tests/data/tokenize/%s.txt",
			 src, cjk ? "zh" : alphabetic[i]);
		text = read_file(path, &len);
		assert_non_null(text);
		f->tk->icu_run_bytes = 0;
		assert_int_equal(dedup_tokenize(f->tk, text, len, &f->a, &err),
				 DEDUP_OK);
		assert_true(f->a.n > 10);
		if (cjk)
			assert_true(f->tk->icu_run_bytes > len / 2);
		else if (f->tk->icu_run_bytes)
			fail_msg("%s: %llu bytes went to ICU", path,
				 (unsigned long long)f->tk->icu_run_bytes);
		free(text);
	}
}

/* Words far longer than any buffer step, in and out of the lane. */
static void test_long_words(void **state)
{
	static const char *const units[] = {
		"ab", "Z9", "\xc3\xa9", "x\xcc\x81", "\xce\xa3", "q.r", "_",
		"\xc2\xad", "\xe4\xb8\xad",
	};
	struct fixture *f = *state;
	size_t u, k, len, cap = 40000;
	char *buf = malloc(cap);

	assert_non_null(buf);
	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		size_t ul = strlen(units[u]);

		len = 0;
		memcpy(buf + len, "start ", 6);
		len += 6;
		for (k = 0; k < 3000; k++) {
			memcpy(buf + len, units[u], ul);
			len += ul;
		}
		memcpy(buf + len, " end", 4);
		len += 4;
		assert_int_equal(same_both_ways(f, buf, len), 0);
		assert_true(f->a.n >= 2);
	}
	free(buf);
}

/* One tokenizer per thread, sharing only the code point table. */
struct thread_job {
	const char *text;
	size_t len;
	uint64_t sum;
	int failed;
};

static uint64_t token_sum(const struct dedup_tokens *t)
{
	uint64_t sum = t->n;
	size_t i;

	for (i = 0; i < t->n; i++)
		sum = sum * 31 + t->v[i].hash + t->v[i].src + t->v[i].flags;
	return sum;
}

static void *thread_main(void *arg)
{
	struct thread_job *job = arg;
	struct dedup_tokenizer *tk;
	struct dedup_tokens t;
	int round;

	dedup_tokens_init(&t);
	if (dedup_tokenizer_new(&tk, NULL)) {
		job->failed = 1;
		return NULL;
	}
	for (round = 0; round < 50; round++) {
		if (dedup_tokenize(tk, job->text, job->len, &t, NULL) ||
		    (round && token_sum(&t) != job->sum))
			job->failed = 1;
		job->sum = token_sum(&t);
	}
	dedup_tokenizer_free(tk);
	dedup_tokens_release(&t);
	return NULL;
}

static void test_threads(void **state)
{
	struct fixture *f = *state;
	const char *text = "Zwei F\xc3\xa4" "den, one table: \xe4\xb8\xad\xe6\x96\x87 "
			   "and \xce\xb5\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac.";
	struct thread_job jobs[4];
	pthread_t th[4];
	int i;

	tokenize_str(f, text);
	for (i = 0; i < 4; i++) {
		jobs[i].text = text;
		jobs[i].len = strlen(text);
		jobs[i].sum = 0;
		jobs[i].failed = 0;
		assert_int_equal(pthread_create(&th[i], NULL, thread_main,
						&jobs[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_false(jobs[i].failed);
		assert_true(jobs[i].sum == token_sum(&f->a));
	}
}

static void test_shared_corpora(void **state)
{
	struct fixture *f = *state;
	static const char *const sub[] = {
		"seeds", "corpora/ecbplus_dev/docs", "corpora/gva_dev/docs",
		"corpora/boiler_dev/pages", "corpora/boiler_dev/pages_glued",
	};
	const char *src = getenv("DEDUP_SOURCE_DIR");
	char dir[4096];
	size_t bytes = 0, ntok = 0, files = 0, i;

	if (!src)
		src = ".";
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		size_t quota = bytes + 1500000;

		snprintf(dir, sizeof(dir), "%s/../shared/%s", src, sub[i]);
		files += compare_dir(f, dir, quota, &bytes, &ntok);
	}
	if (!files)
		skip();
	assert_true(ntok > 0);
}

/* xorshift64*: fixed seed, same cases on every run and machine. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

/*
 * DEDUP_TOKENIZE_SEED and DEDUP_TOKENIZE_SCALE (a multiplier of the
 * number of cases) let a long run explore other cases; the default run
 * is always the same.
 */
static int scale = 1;

static void random_setup(void)
{
	const char *seed = getenv("DEDUP_TOKENIZE_SEED");
	const char *sc = getenv("DEDUP_TOKENIZE_SCALE");

	if (seed && *seed)
		rng_state ^= strtoull(seed, NULL, 0) * 0x9E3779B97F4A7C15ULL;
	if (!rng_state)
		rng_state = 1;
	if (sc && atoi(sc) > 0)
		scale = atoi(sc);
}

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32) % n;
}

/*
 * Pieces mixing the characters the word rules and the folding care
 * about, in the scripts of the issue and the ones the fast path hands
 * to ICU.
 */
static const char *const pieces[] = {
	/* ASCII letters, digits, word punctuation, spaces and lines */
	"a", "b", "Z", "x", "I", "i", "0", "7", " ", " ", "  ", "\n", "\r\n",
	"\r", "\t", ".", ",", "'", ":", ";", "_", "@", "-", "\"", "!", "?",
	"/", "(", "#", "%", "$", "+",
	/* Latin-1, Latin Extended, Turkish, Polish, Vietnamese */
	"\xc3\xa9", "\xc3\x89", "\xc3\x9f", "\xc3\x84", "\xc3\xb1",
	"\xc4\xb0", "\xc4\xb1", "\xc5\x9f", "\xc4\x9e", "\xc5\x81",
	"\xc5\xbc", "\xe1\xba\xbf", "\xe1\xbb\x87", "\xc4\x91", "\xc4\x90",
	"\xc7\x85", "\xc7\x84", "\xc5\x89", "\xc2\xb5", "\xe1\xba\x9e",
	/* Greek, Cyrillic, Armenian */
	"\xce\xa3", "\xcf\x82", "\xce\x90", "\xce\xac", "\xce\x86",
	"\xd0\x96", "\xd1\x91", "\xd0\x81", "\xd0\xb9", "\xd5\x87",
	"\xd6\x87", "\xd5\x9a",
	/* Hebrew letters, geresh, gershayim; Arabic letters, digits, marks */
	"\xd7\x90", "\xd7\xa9", "\xd7\xb3", "\xd7\xb4", "\xd8\xa8",
	"\xd9\x84", "\xd9\xa3", "\xd9\xab", "\xd9\xac", "\xd9\x8e",
	"\xd9\x80",
	/* Combining marks, soft hyphen, zero-width and format characters */
	"\xcc\x81", "\xcc\x88", "\xcc\x87", "\xcd\x85", "\xc2\xad",
	"\xe2\x80\x8b", "\xe2\x80\x8c", "\xe2\x80\x8d", "\xe2\x80\x8e",
	"\xe2\x81\xa0", "\xef\xbb\xbf", "\xd8\x9c",
	/* Spaces and line separators */
	"\xc2\xa0", "\xe2\x80\x89", "\xe3\x80\x80", "\xc2\x85",
	"\xe2\x80\xa8", "\x0b",
	/* Quote, apostrophe, dash, dot variants */
	"\xe2\x80\x99", "\xe2\x80\x98", "\xca\xbc", "\xe2\x80\xb2",
	"\xef\xbc\x87", "\xe2\x80\x9c", "\xe2\x80\x9d", "\xe2\x80\x93",
	"\xe2\x80\x94", "\xe2\x80\x90", "\xe2\x80\x91", "\xe2\x88\x92",
	"\xe2\x80\xa6", "\xc2\xb7", "\xce\x87", "\xe2\x80\xa4",
	"\xef\xb9\x92", "\xef\xbc\x8e", "\xef\xbc\x9a", "\xe3\x80\x82",
	"\xef\xbc\x81",
	/* Numbers and letters with compatibility folds */
	"\xc2\xb2", "\xc2\xbd", "\xe2\x85\xa7", "\xe2\x84\xaa", "\xe2\x84\xa6",
	"\xef\xac\x81", "\xef\xbc\xa1", "\xef\xbc\x91", "\xe2\x91\xa0",
	"\xc2\xa9", "\xe2\x84\xa2",
	/* Symbols, private use, replacement character, Latin Extended-D,
	 * fullwidth punctuation, small forms, variation selector */
	"\xe2\x96\xba", "\xe2\x98\x85", "\xee\xa0\xb8", "\xef\xbf\xbd",
	"\xea\x9c\xa2", "\xea\x9c\xa3", "\xef\xbc\x9b", "\xef\xb9\x90",
	"\xef\xb8\x8e", "\xef\xbc\x95",
	/* Thai, CJK, kana, Hangul syllables and jamo */
	"\xe0\xb8\x81", "\xe0\xb8\xb2", "\xe0\xb9\x88", "\xe4\xb8\xad",
	"\xe6\x96\x87", "\xe3\x81\xb2", "\xe3\x82\xab", "\xe3\x83\xbc",
	"\xed\x95\x9c", "\xea\xb8\x80", "\xe1\x84\x80", "\xe1\x85\xa1",
	"\xe1\x86\xa8",
	/* Devanagari, Georgian */
	"\xe0\xa4\xa8", "\xe0\xa4\xae", "\xe0\xa5\x8d", "\xe0\xa5\x87",
	"\xe1\x83\xa1", "\xe1\xb2\x90",
	/* Emoji, modifiers, regional indicators, a Gothic letter */
	"\xf0\x9f\x98\x80", "\xf0\x9f\x91\x8d", "\xf0\x9f\x8f\xbd",
	"\xf0\x9f\x87\xab", "\xf0\x9f\x87\xb7", "\xe2\x9d\xa4",
	"\xef\xb8\x8f", "\xf0\x90\x8c\xb0",
	/* Whole words */
	"don't", "U.S.", "3.5", "1,000", "e-mail", "http://ex.org/a_b?c=1",
	"user@example.com", "Istanbul", "\xc4\xb0zmir", "IRMAK",
	"\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0",
};

#define NPIECES (sizeof(pieces) / sizeof(pieces[0]))

static void test_random_mix(void **state)
{
	struct fixture *f = *state;
	char buf[1024];
	int iter;

	for (iter = 0; iter < 40000 * scale; iter++) {
		size_t len = 0;
		int k, n = 1 + (int)rnd(iter % 4 ? 12 : 60);

		for (k = 0; k < n; k++) {
			const char *p = pieces[rnd(NPIECES)];
			size_t pl = strlen(p);

			if (len + pl >= sizeof(buf))
				break;
			memcpy(buf + len, p, pl);
			len += pl;
		}
		if (same_both_ways(f, buf, len))
			fail_msg("random case %d differs", iter);
	}
}

/*
 * Text-like strings: words of 1 to 24 letters and digits, mostly ASCII
 * (long enough for the eight-byte steps), between separators.
 */
static void test_random_words(void **state)
{
	static const char *const letters[] = {
		"a", "e", "t", "n", "S", "R", "Q", "z", "0", "5", "9", "@",
		"\xc3\xa9", "\xc3\x9c", "\xc3\x9f", "\xc4\xb0", "\xc4\xb1",
		"\xd0\xb4", "\xce\xa9", "\xe1\xbb\x87", "\xd9\xa4",
		"\xcc\x81", "\xc2\xad", "\xd7\x90", "\xe4\xb8\xad",
	};
	static const char *const seps[] = {
		" ", " ", " ", ", ", ". ", "'", ".", ",", ":", "-", "_", "\n",
		"\xe2\x80\x99", "\xe2\x80\x94", "\xc2\xa0", "\xe2\x80\x9c",
		"\xef\xbc\x8c", "\xf0\x9f\x98\x80", "\t", "\r\n", "' ", "; ",
		"\xc2\xb7", "\xe2\x80\xa8", "! ", "?", "\"",
	};
	struct fixture *f = *state;
	char buf[2048];
	int iter;

	for (iter = 0; iter < 20000 * scale; iter++) {
		size_t len = 0;
		int w, nw = 1 + (int)rnd(30);

		for (w = 0; w < nw && len < sizeof(buf) - 200; w++) {
			int k, nl = 1 + (int)rnd(24);
			/* Mostly plain ASCII letters, sometimes anything. */
			int plain = rnd(4) != 0;
			const char *p;

			for (k = 0; k < nl; k++) {
				p = letters[rnd(plain && rnd(8) ? 12 : 25)];
				memcpy(buf + len, p, strlen(p));
				len += strlen(p);
			}
			p = seps[rnd(sizeof(seps) / sizeof(seps[0]))];
			memcpy(buf + len, p, strlen(p));
			len += strlen(p);
		}
		if (same_both_ways(f, buf, len))
			fail_msg("random words case %d differs", iter);
	}
}

static size_t put_utf8(char *d, uint32_t c)
{
	if (c < 0x80) {
		d[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		d[0] = (char)(0xC0 | (c >> 6));
		d[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		d[0] = (char)(0xE0 | (c >> 12));
		d[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		d[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	d[0] = (char)(0xF0 | (c >> 18));
	d[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	d[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	d[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/*
 * Any code point: most from the range the fast path decides alone, with
 * ASCII letters and spaces mixed in so that words form.
 */
static void test_random_codepoints(void **state)
{
	struct fixture *f = *state;
	char buf[512];
	int iter;

	for (iter = 0; iter < 30000 * scale; iter++) {
		size_t len = 0;
		int k, n = 1 + (int)rnd(24);

		for (k = 0; k < n; k++) {
			uint32_t c, r = rnd(16);

			if (r < 4)
				c = "aZ9 .'_-,\n"[rnd(10)];
			else if (r < 12)
				c = 1 + rnd(0x2600);
			else if (r < 15)
				c = 0x2400 + rnd(0x10000 - 0x2400);
			else
				c = 0x10000 + rnd(0x20000);
			if (c >= 0xD800 && c < 0xE000)
				c = 'q';
			len += put_utf8(buf + len, c);
		}
		if (same_both_ways(f, buf, len))
			fail_msg("random code point case %d differs", iter);
	}
}

/*
 * Runs of ASCII bytes around the lane's 16- and 8-byte steps: words of 1
 * to 40 bytes drawn from the letters and digits at the ends of their
 * ranges, "@", and the bytes just outside them, every ASCII byte now and
 * then, a non-ASCII letter or mark rarely, so that a word stops at any
 * place of a step, on any kind of byte.
 */
static void test_ascii_steps(void **state)
{
	static const char edge[] = "@AZaz09mM/:?[`{\x7f ";
	static const char *const other[] = {
		"\xc3\xa9", "\xc3\x9c", "\xcc\x81", "\xe2\x80\x99",
		"\xc2\xa0", "\xd0\x96",
	};
	struct fixture *f = *state;
	char buf[512];
	int iter;

	for (iter = 0; iter < 20000 * scale; iter++) {
		size_t len = 0, run = 0, n = 1 + rnd(sizeof(buf) - 8);

		/* runs of 1 to 40 bytes, each ended by a separator */
		while (len < n) {
			uint32_t r = rnd(64);

			if (!run) {
				run = 2 + rnd(40); /* one taken below */
				buf[len++] = " ,.\n"[rnd(4)];
			} else if (r < 40) {
				buf[len++] = "aeStZ9@Az0"[rnd(10)];
			} else if (r < 56) {
				buf[len++] = edge[rnd(sizeof(edge) - 1)];
			} else if (r < 62) {
				buf[len++] = (char)(1 + rnd(0x7F));
			} else {
				const char *o = other[rnd(sizeof(other) /
							  sizeof(other[0]))];

				memcpy(buf + len, o, strlen(o));
				len += strlen(o);
			}
			run -= run > 0;
		}
		if (same_both_ways(f, buf, len))
			fail_msg("ASCII steps case %d differs", iter);
	}
}

/*
 * Texts of ASCII words between the gaps the fast path's word loop takes
 * (spaces, sentence ends, middles) and those it leaves to the main loop
 * ("_", curly quotes, a dash, an ideograph that sends its run to ICU and
 * rewinds to a safe point), words up to 20 bytes (the loop takes fewer
 * than 16), at every place near the text's end.
 */
static void test_ascii_words(void **state)
{
	static const char *const gap[] = {
		" ", " ", " ", ", ", ". ", ".\n", "\n\n", "\t", "!? ", " - ",
		" _ ", " __ ", " _", "_", "'", ".", ",", ";\"", " (", ") ", "\r\n",
		"\xe2\x80\x9c", "\xe2\x80\x9d ", " \xe2\x80\x94 ",
		" \xe6\x97\xa5 ", "\xe6\x97\xa5", " \xc3\xa9", "\xc3\xa9 ",
	};
	struct fixture *f = *state;
	char buf[600];
	int iter;

	for (iter = 0; iter < 20000 * scale; iter++) {
		size_t len = 0, n = 1 + rnd(sizeof(buf) - 60), k, w;

		while (len < n) {
			const char *g = gap[rnd(sizeof(gap) / sizeof(gap[0]))];

			w = 1 + rnd(rnd(4) ? 9 : 20);
			for (k = 0; k < w; k++)
				buf[len++] = "etaoinsTHRDL0159@"[rnd(17)];
			memcpy(buf + len, g, strlen(g));
			len += rnd(8) ? strlen(g) : 0;
		}
		if (same_both_ways(f, buf, len))
			fail_msg("ASCII words case %d differs", iter);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_hash),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_fold_appends),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_fast_coverage),
		cmocka_unit_test(test_long_words),
		cmocka_unit_test(test_random_mix),
		cmocka_unit_test(test_random_codepoints),
		cmocka_unit_test(test_random_words),
		cmocka_unit_test(test_ascii_steps),
		cmocka_unit_test(test_ascii_words),
		cmocka_unit_test(test_shared_corpora),
	};

	random_setup();
	return cmocka_run_group_tests(tests, setup, teardown);
}
