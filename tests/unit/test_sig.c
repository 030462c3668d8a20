/* test_sig.c - signatures: content terms, MinHash, encoding, dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dedup/sig.h"
#include "dedup/tokenize.h"
#include "textdate.h"

/* Tokens from space-separated lowercase words, enough for these tests. */
static void words(struct dedup_tokens *t, const char *s)
{
	const char *p = s;

	dedup_tokens_release(t);
	dedup_tokens_init(t);
	while (*p) {
		const char *q = p;
		struct dedup_token tok = { 0 };

		while (*q && *q != ' ')
			q++;
		if (q > p) {
			if (t->n == t->alloc) {
				t->alloc = t->alloc ? t->alloc * 2 : 64;
				t->v = realloc(t->v, t->alloc * sizeof(*t->v));
				assert_non_null(t->v);
			}
			tok.hash = dedup_token_hash(p, (size_t)(q - p));
			tok.off = (uint32_t)t->text.len;
			tok.len = (uint32_t)(q - p);
			tok.src = (uint32_t)(p - s);
			if (*p >= '0' && *p <= '9')
				tok.flags = DEDUP_TOK_NUMBER;
			assert_int_equal(dedup_buf_add(&t->text, p, tok.len), 0);
			assert_int_equal(dedup_buf_addch(&t->text, 0), 0);
			t->v[t->n++] = tok;
		}
		p = *q ? q + 1 : q;
	}
}

static void build(struct dedup_sigbuilder *b, const char *text,
		  struct dedup_sig *s, struct dedup_df *df)
{
	struct dedup_tokens t;
	struct dedup_error err;

	dedup_tokens_init(&t);
	words(&t, text);
	assert_int_equal(dedup_sig_build(b, &t, text, strlen(text), df, s,
					 &err), DEDUP_OK);
	dedup_tokens_release(&t);
}

static void test_params(void **state)
{
	struct dedup_sig_params p;
	struct dedup_error err;

	(void)state;
	dedup_sig_params_default(&p, DEDUP_LEVEL_EVENT);
	assert_int_equal(dedup_sig_params_check(&p, &err), DEDUP_OK);
	p.nperm = 0;
	assert_int_equal(dedup_sig_params_check(&p, &err), DEDUP_EINVAL);
	assert_non_null(strstr(err.msg, "permutations"));
	dedup_sig_params_default(&p, DEDUP_LEVEL_COPY);
	p.shingle = 17;
	assert_int_equal(dedup_sig_params_check(&p, &err), DEDUP_EINVAL);
}

static void test_terms_and_counts(void **state)
{
	struct dedup_sig_params p;
	struct dedup_sigbuilder *b;
	struct dedup_sig s;
	struct dedup_df *df;
	struct dedup_error err;
	uint32_t i, total = 0;

	(void)state;
	dedup_sig_params_default(&p, DEDUP_LEVEL_EVENT);
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	assert_int_equal(dedup_df_new(&df), 0);
	dedup_sig_init(&s);
	/* "a" is a single letter: not content. */
	build(b, "ferry ferry pier a fog ferry 12", &s, df);
	assert_int_equal(s.nwords, 6);
	assert_int_equal(s.nterms, 4);
	assert_int_equal(s.ndistinct, 4);
	for (i = 0; i < s.nterms; i++) {
		total += s.tf[i];
		if (i)
			assert_true(s.terms[i] > s.terms[i - 1]);
	}
	assert_int_equal(total, 6);
	assert_int_equal(s.nperm, 0); /* event level: no stored MinHash */
	/* each distinct term counted once per document */
	build(b, "ferry pier", &s, df);
	assert_int_equal(s.nterms, 2);
	{
		uint64_t h = dedup_token_hash("ferry", 5);
		uint32_t t = (uint32_t)(h ^ (h >> 32));

		assert_int_equal(dedup_df_get(df, t), 2);
	}
	dedup_sig_release(&s);
	dedup_df_free(df);
	dedup_sigbuilder_free(b);
}

static void test_bottom_k_is_consistent(void **state)
{
	struct dedup_sig_params p;
	struct dedup_sigbuilder *b;
	struct dedup_sig big, small;
	struct dedup_error err;
	char text[8192];
	size_t n = 0;
	uint32_t i, j;

	(void)state;
	dedup_sig_params_default(&p, DEDUP_LEVEL_EVENT);
	p.kterms = 16;
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	for (i = 0; i < 200; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "w%u ", i);
	dedup_sig_init(&big);
	dedup_sig_init(&small);
	build(b, text, &big, NULL);
	assert_int_equal(big.nterms, 16);
	assert_int_equal(big.ndistinct, 200);
	/* a subset keeps every sampled term of the superset it contains */
	text[n / 2] = '\0';
	build(b, text, &small, NULL);
	/* below both limits the two samples hold the same terms */
	for (j = 0; j < small.nterms; j++)
		if (small.terms[j] <= big.terms[big.nterms - 1]) {
			int found = 0;

			for (i = 0; i < big.nterms; i++)
				found |= small.terms[j] == big.terms[i];
			assert_true(found);
		}
	dedup_sig_release(&big);
	dedup_sig_release(&small);
	dedup_sigbuilder_free(b);
}

static void test_copy_minhash_estimates_jaccard(void **state)
{
	struct dedup_sig_params p;
	struct dedup_sigbuilder *b;
	struct dedup_sig x, y;
	struct dedup_error err;
	char t1[16384], t2[16384];
	size_t n1 = 0, n2 = 0;
	unsigned i;
	double j;

	(void)state;
	dedup_sig_params_default(&p, DEDUP_LEVEL_COPY);
	p.shingle = 1;
	p.nperm = 256;
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	/* 300 shared words, 100 of each own: Jaccard 300/500 = 0.6 */
	for (i = 0; i < 400; i++) {
		n1 += (size_t)snprintf(t1 + n1, sizeof(t1) - n1, "s%u ", i);
		n2 += (size_t)snprintf(t2 + n2, sizeof(t2) - n2, "%c%u ",
				       i < 300 ? 's' : 'o', i);
	}
	dedup_sig_init(&x);
	dedup_sig_init(&y);
	build(b, t1, &x, NULL);
	build(b, t2, &y, NULL);
	j = dedup_sig_jaccard(&x, &y);
	assert_true(j > 0.5 && j < 0.7);
	assert_true(dedup_sig_jaccard(&x, &x) == 1.0);
	dedup_sig_release(&x);
	dedup_sig_release(&y);
	dedup_sigbuilder_free(b);
}

static void test_encode_roundtrip(void **state)
{
	struct dedup_sig_params p;
	struct dedup_sigbuilder *b;
	struct dedup_sig s, d;
	struct dedup_buf buf = DEDUP_BUF_INIT;
	struct dedup_error err;
	size_t used, cut;

	(void)state;
	dedup_sig_params_default(&p, DEDUP_LEVEL_COPY);
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	dedup_sig_init(&s);
	dedup_sig_init(&d);
	build(b, "on 2023-10-11 the ferry hit the pier in thick fog today",
	      &s, NULL);
	assert_int_equal(dedup_sig_encode(&s, &buf), 0);
	assert_int_equal(dedup_sig_decode(&d, buf.buf, buf.len, &used, &err), 0);
	assert_int_equal(used, buf.len);
	assert_int_equal(d.nperm, s.nperm);
	assert_int_equal(d.nterms, s.nterms);
	assert_int_equal(d.date, s.date);
	assert_true(d.body == s.body);
	assert_memory_equal(d.mins, s.mins, s.nperm * sizeof(*s.mins));
	assert_memory_equal(d.terms, s.terms, s.nterms * sizeof(*s.terms));
	assert_memory_equal(d.tf, s.tf, s.nterms * sizeof(*s.tf));
	/* every truncation is refused */
	for (cut = 0; cut < buf.len; cut++)
		assert_int_equal(dedup_sig_decode(&d, buf.buf, cut, &used, &err),
				 DEDUP_EFORMAT);
	buf.buf[0] ^= 1;
	assert_int_equal(dedup_sig_decode(&d, buf.buf, buf.len, &used, &err),
			 DEDUP_EFORMAT);
	dedup_buf_release(&buf);
	dedup_sig_release(&s);
	dedup_sig_release(&d);
	dedup_sigbuilder_free(b);
}

static void test_text_dates(void **state)
{
	int32_t d = dedup_days_from_civil(2023, 10, 11);

	(void)state;
	assert_int_equal(dedup_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(dedup_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(dedup_text_date("x 2023-10-11 y", 14), d);
	assert_int_equal(dedup_text_date("Published 11 Oct 2023", 21), d);
	assert_int_equal(dedup_text_date("on October 11, 2023, he", 23), d);
	assert_int_equal(dedup_text_date("Sept. 3, 2021", 13),
			 dedup_days_from_civil(2021, 9, 3));
	assert_int_equal(dedup_text_date("no date here 12345", 18),
			 DEDUP_DATE_NONE);
	assert_int_equal(dedup_text_date("2023-13-40", 10), DEDUP_DATE_NONE);
	assert_int_equal(dedup_text_date("May I help", 10), DEDUP_DATE_NONE);
	/* a length that cuts the date is respected */
	assert_int_equal(dedup_text_date("2023-10-11", 8), DEDUP_DATE_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_terms_and_counts),
		cmocka_unit_test(test_bottom_k_is_consistent),
		cmocka_unit_test(test_copy_minhash_estimates_jaccard),
		cmocka_unit_test(test_encode_roundtrip),
		cmocka_unit_test(test_text_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
