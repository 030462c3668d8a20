/* test_sig.c - signatures: content terms, MinHash, encoding, dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "dedup/sig.h"
#include "dedup/stopwords.h"
#include "dedup/tokenize.h"
#include "sig_int.h"
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
		  struct dedup_sig *s, const struct dedup_df *df)
{
	struct dedup_tokens t;
	struct dedup_error err;

	dedup_tokens_init(&t);
	words(&t, text);
	assert_int_equal(dedup_sig_build(b, &t, text, strlen(text), df, NULL,
					 s, &err), DEDUP_OK);
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

static double norm2(const struct dedup_sig *s)
{
	double n = 0, w;
	uint32_t i;

	for (i = 0; i < s->nterms; i++) {
		w = (double)dedup_term_wt(dedup_sig_tw(s, i)) / DEDUP_WEIGHT_ONE;
		n += w * w;
	}
	return n;
}

static void test_terms_and_weights(void **state)
{
	struct dedup_sig_params p;
	struct dedup_sigbuilder *b;
	struct dedup_sig s;
	struct dedup_error err;
	uint32_t i;

	(void)state;
	dedup_sig_params_default(&p, DEDUP_LEVEL_EVENT);
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	dedup_sig_init(&s);
	/* "a" is a single letter and "said" newsroom filler: not content.
	 * Unigrams ferry pier fog 12, and bigrams of neighbours skipping
	 * what was dropped: ferry-ferry ferry-pier pier-fog fog-ferry
	 * ferry-12. */
	build(b, "ferry ferry pier said a fog ferry 12", &s, NULL);
	assert_int_equal(s.nwords, 6);
	assert_int_equal(s.ndistinct, 9);
	assert_int_equal(s.nterms, 9);
	for (i = 1; i < s.nterms; i++)
		assert_true(dedup_sig_id(&s, i) > dedup_sig_id(&s, i - 1));
	/*
	 * a unit vector as its weights' levels allow (sig.h): a step of one
	 * of 9 terms moves the squares' sum by 0.4 to 6 %
	 */
	assert_true(fabs(norm2(&s) - 1) < 0.01);
	assert_int_equal(s.nperm, 0); /* event level: no stored MinHash */
	assert_int_equal(s.nband, 0); /* no band winners asked for */
	dedup_sig_release(&s);
	dedup_sigbuilder_free(b);
}

/* Signature of text through the real tokenizer, unweighted. */
static void build_icu(struct dedup_sigbuilder *b, struct dedup_tokenizer *tk,
		      const char *text, struct dedup_sig *s)
{
	struct dedup_tokens t;
	struct dedup_error err;

	dedup_tokens_init(&t);
	assert_int_equal(dedup_tokenize(tk, text, strlen(text), &t, &err), 0);
	assert_int_equal(dedup_sig_build(b, &t, text, strlen(text), NULL, NULL,
					 s, &err), DEDUP_OK);
	dedup_tokens_release(&t);
}

static int same_terms(const struct dedup_sig *x, const struct dedup_sig *y)
{
	return x->nterms == y->nterms &&
	       !memcmp(dedup_sig_lows(x), dedup_sig_lows(y),
		       dedup_sig_termbytes(x->nterms) +
			       dedup_sig_hibytes(x->nterms));
}

/*
 * Telephone numbers name a newsroom or a tip line, not an event: spelled
 * ones too, with the digits they spell. Numbers that only look alike stay.
 */
static void test_phone_numbers(void **state)
{
	static const char *const same[] = {
		"Gunfire on Elm Street. Call 555-123-4567 now.",
		"Gunfire on Elm Street. Call 1-555-123-4567 now.",
		"Gunfire on Elm Street. Call 901-528-CASH (2274) now.",
		"Gunfire on Elm Street. Call 1-866-411-TIPS now.",
	};
	static const char *const kept[] = {
		"Gunfire on Elm Street. Call 911 Dispatch now.",
		"Gunfire on Elm Street. Call 901-528 Cashiers now.",
	};
	struct dedup_sig_params p;
	struct dedup_sigbuilder *b;
	struct dedup_tokenizer *tk;
	struct dedup_sig base, s;
	struct dedup_error err;
	size_t i;

	(void)state;
	dedup_sig_params_default(&p, DEDUP_LEVEL_EVENT);
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	assert_int_equal(dedup_tokenizer_new(&tk, &err), 0);
	dedup_sig_init(&base);
	dedup_sig_init(&s);
	build_icu(b, tk, "Gunfire on Elm Street. Call now.", &base);
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		build_icu(b, tk, same[i], &s);
		assert_true(same_terms(&s, &base));
	}
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		build_icu(b, tk, kept[i], &s);
		assert_true(s.nterms > base.nterms);
	}
	dedup_sig_release(&base);
	dedup_sig_release(&s);
	dedup_tokenizer_free(tk);
	dedup_sigbuilder_free(b);
}

static void test_stems_and_strongest(void **state)
{
	struct dedup_sig_params p;
	struct dedup_sigbuilder *b;
	struct dedup_sig s;
	struct dedup_error err;

	(void)state;
	dedup_sig_params_default(&p, DEDUP_LEVEL_EVENT);
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	dedup_sig_init(&s);
	/* one stem for both words, plus the bigram of the stem with itself */
	build(b, "internationally international", &s, NULL);
	assert_int_equal(s.ndistinct, 2);
	/* only the strongest terms are kept */
	p.kterms = 1;
	dedup_sigbuilder_free(b);
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	build(b, "quay quay quay quay harbour", &s, NULL);
	assert_int_equal(s.nterms, 1);
	assert_int_equal(dedup_term_wt(dedup_sig_tw(&s, 0)), DEDUP_WEIGHT_ONE);
	{
		uint64_t h = dedup_token_hash("quay", 4);
		uint32_t t = (uint32_t)(h ^ (h >> 32));

		/* the top 24 bits of the id */
		assert_int_equal(dedup_term_id(dedup_sig_tw(&s, 0)), (t ? t : 1) >> 8);
	}
	dedup_sig_release(&s);
	dedup_sigbuilder_free(b);
}

/* Weight of the term of id t in s (0 when absent). */
static uint32_t weight_of(const struct dedup_sig *s, uint32_t t)
{
	uint32_t i;

	for (i = 0; i < s->nterms; i++)
		if (dedup_term_id(dedup_sig_tw(s, i)) == t)
			return dedup_term_wt(dedup_sig_tw(s, i));
	return 0;
}

/* The id of a hash, as signatures make it. */
static uint32_t id_of(const char *s, size_t n)
{
	uint64_t h = dedup_token_hash(s, n);
	uint32_t t = (uint32_t)(h ^ (h >> 32));

	return t ? t : 1;
}

/*
 * A word's term: its first five characters (bytes of several-byte UTF-8
 * characters kept whole), none for one character or an identifier with
 * "_", numbers whole.
 */
static void test_term_of_word(void **state)
{
	static const struct {
		const char *word;
		size_t stem; /* bytes hashed; 0: no term */
	} cases[] = {
		{ "harbour", 5 }, { "quay", 4 }, { "\xc3\xa9t\xc3\xa9s", 6 },
		{ "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10 },
		{ "\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97\xe7\xac\xa6\xe4"
		  "\xb8\xb2\xe9\x95\xbf", 15 },
		{ "stra\xc3\x9f" "e", 6 }, { "x", 0 }, { "\xc3\xa9", 0 },
		{ "a_b", 0 }, { "harbour_master", 0 }, { "12345678", 8 },
		{ "ab", 2 }, { "abcde", 5 }, { "abcdef", 5 },
	};
	struct dedup_sig_params p;
	struct dedup_sigbuilder *b;
	struct dedup_tokens t;
	struct dedup_error err;
	size_t k;

	(void)state;
	dedup_sig_params_default(&p, DEDUP_LEVEL_EVENT);
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	dedup_tokens_init(&t);
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		words(&t, cases[k].word);
		assert_int_equal(t.n, 1);
		assert_int_equal(dedup_sig_term(b, DEDUP_LANG_NONE, &t.v[0],
						t.text.buf),
				 cases[k].stem ? id_of(cases[k].word,
						       cases[k].stem) : 0);
	}
	dedup_tokens_release(&t);
	dedup_sigbuilder_free(b);
}

/*
 * With many terms of tied weights, the k kept are the k strongest of the
 * whole vector, in term order, whatever k.
 */
static void test_strongest_selection(void **state)
{
	static const uint32_t ks[] = { 1, 2, 7, 50, 200, 255 };
	struct dedup_sig_params p;
	struct dedup_sigbuilder *b;
	struct dedup_sig full, s;
	struct dedup_error err;
	char *text = malloc(20000), *q = text;
	uint32_t seed = 12345, i, j, k;

	(void)state;
	assert_non_null(text);
	/* 120 words, each repeated 1 to 4 times: many equal weights */
	for (i = 0; i < 400; i++) {
		seed = seed * 1103515245u + 12345u;
		q += sprintf(q, "%sword%c%c", i ? " " : "",
			     'a' + (int)((seed >> 16) % 12),
			     'a' + (int)((seed >> 8) % 10));
	}
	dedup_sig_params_default(&p, DEDUP_LEVEL_EVENT);
	p.kterms = 4096;
	p.stem = 0;
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	dedup_sig_init(&full);
	dedup_sig_init(&s);
	build(b, text, &full, NULL);
	dedup_sigbuilder_free(b);
	assert_true(full.nterms > 256);
	for (k = 0; k < sizeof(ks) / sizeof(ks[0]); k++) {
		uint32_t weakest = UINT32_MAX, strongest_out = 0;

		p.kterms = ks[k];
		assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
		build(b, text, &s, NULL);
		dedup_sigbuilder_free(b);
		assert_int_equal(s.nterms, ks[k]);
		for (i = 0; i < s.nterms; i++) {
			uint32_t w = weight_of(&full, dedup_sig_id(&s, i));

			assert_true(w > 0);
			assert_true(!i || dedup_sig_tw(&s, i) > dedup_sig_tw(&s, i - 1));
			weakest = w < weakest ? w : weakest;
		}
		for (j = 0; j < full.nterms; j++)
			if (!weight_of(&s, dedup_sig_id(&full, j)) &&
			    dedup_sig_wt(&full, j) > strongest_out)
				strongest_out = dedup_sig_wt(&full, j);
		assert_true(weakest >= strongest_out);
	}
	dedup_sig_release(&full);
	dedup_sig_release(&s);
	free(text);
}

static void test_document_frequencies(void **state)
{
	struct dedup_sig_params p;
	struct dedup_sigbuilder *b;
	struct dedup_sig s;
	struct dedup_df *df;
	struct dedup_tokens t;
	struct dedup_error err;
	const char *docs[] = {
		"harbour quay storm", "harbour quay flood", "harbour pier fire",
	};
	size_t i;

	(void)state;
	dedup_sig_params_default(&p, DEDUP_LEVEL_EVENT);
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	assert_int_equal(dedup_df_new(&df), 0);
	dedup_tokens_init(&t);
	for (i = 0; i < 3; i++) {
		words(&t, docs[i]);
		assert_int_equal(dedup_sig_count(b, &t, df, &err), 0);
	}
	assert_int_equal(dedup_df_docs(df), 3);
	{
		/* "harbour" is stemmed to "harbo" */
		uint64_t h = dedup_token_hash("harbo", 5);
		uint64_t q = dedup_token_hash("quay", 4);

		assert_int_equal(dedup_df_get(df, (uint32_t)(h ^ (h >> 32))), 3);
		assert_int_equal(dedup_df_get(df, (uint32_t)(q ^ (q >> 32))), 2);
	}
	dedup_sig_init(&s);
	/* storm is in one document only (cannot be shared) and goes;
	 * harbour, in every document, stays with the least weight */
	build(b, docs[0], &s, df);
	assert_int_equal(s.nterms, 3);
	assert_true(fabs(norm2(&s) - 1) < 1e-3);
	{
		uint64_t hh = dedup_token_hash("harbo", 5);
		uint32_t th = (uint32_t)(hh ^ (hh >> 32)), k, wh = 0, wmin = 65535;

		for (k = 0; k < s.nterms; k++) {
			if (dedup_term_id(dedup_sig_tw(&s, k)) == th >> 8)
				wh = dedup_term_wt(dedup_sig_tw(&s, k));
			if (dedup_term_wt(dedup_sig_tw(&s, k)) < wmin)
				wmin = dedup_term_wt(dedup_sig_tw(&s, k));
		}
		assert_true(wh > 0 && wh == wmin);
	}
	dedup_sig_release(&s);
	dedup_tokens_release(&t);
	dedup_df_free(df);
	dedup_sigbuilder_free(b);
}

/* dedup_df_foreach(): every counted term once, and kept in signature arg */
static int counted_once_in(uint32_t term, uint32_t count, void *arg)
{
	const struct dedup_sig *s = arg;
	uint32_t i;

	for (i = 0; i < s->nterms; i++)
		if (dedup_term_id(dedup_sig_tw(s, i)) == term >> 8)
			return count != 1;
	return 1;
}

/*
 * The first pass counts each distinct term of a document once: the terms
 * of its full signature, unigrams and bigrams. Texts of few words repeated
 * (one sort bucket overflows), of many distinct words and in between.
 */
static void test_count_matches_signature(void **state)
{
	static const struct {
		unsigned words, vocab;
	} shapes[] = { { 900, 3 }, { 400, 120 }, { 1800, 1800 }, { 1, 1 },
		       { 5000, 40 } };
	struct dedup_sig_params p;
	struct dedup_sigbuilder *b;
	struct dedup_tokens t;
	struct dedup_error err;
	struct dedup_df *df;
	struct dedup_sig s;
	char *text = malloc(60000), *q;
	uint32_t seed = 777, i, k;

	(void)state;
	assert_non_null(text);
	dedup_sig_params_default(&p, DEDUP_LEVEL_EVENT);
	p.kterms = 4096;
	p.stem = 0;
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	dedup_tokens_init(&t);
	dedup_sig_init(&s);
	for (k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		q = text;
		for (i = 0; i < shapes[k].words; i++) {
			seed = seed * 1103515245u + 12345u;
			q += sprintf(q, "%sw%u", i ? " " : "",
				     (seed >> 8) % shapes[k].vocab);
		}
		build(b, text, &s, NULL);
		assert_int_equal(dedup_df_new(&df), 0);
		words(&t, text);
		assert_int_equal(dedup_sig_count(b, &t, df, &err), 0);
		assert_true(s.nterms < p.kterms);
		assert_int_equal(dedup_df_size(df), s.nterms);
		for (i = 1; i < s.nterms; i++)
			assert_true(dedup_term_id(dedup_sig_tw(&s, i)) >
				    dedup_term_id(dedup_sig_tw(&s, i - 1)));
		assert_int_equal(dedup_df_foreach(df, counted_once_in, &s), 0);
		dedup_df_free(df);
	}
	dedup_sig_release(&s);
	dedup_tokens_release(&t);
	dedup_sigbuilder_free(b);
	free(text);
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
	assert_int_equal(d.nband, s.nband);
	assert_memory_equal(d.blk, s.blk, dedup_sig_size(&s));
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

static int cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Little-endian bytes of v, as the encodings store fields. */
static unsigned char *le(unsigned char *p, uint64_t v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	return p + bytes;
}

/* A "SIG4" encoding of n terms (ids 100 + 7i) naming nband winners. */
static size_t sig4(unsigned char *blob, uint32_t magic, uint32_t n,
		   uint32_t nband, uint8_t winner)
{
	unsigned char *p = blob;
	uint32_t i;

	p = le(p, magic, 4);
	p = le(p, 0, 4);           /* nperm */
	p = le(p, n, 4);           /* nterms */
	p = le(p, 50, 4);          /* nwords */
	p = le(p, 70, 4);          /* ndistinct */
	p = le(p, 1, 4);           /* lang */
	p = le(p, 19000, 4);       /* date */
	p = le(p, 0x1122334455667788ull, 8);
	p = le(p, nband, 4);
	for (i = 0; i < n; i++)
		p = le(p, dedup_term_pack(100 + 7 * i, 1 + i % 255), 4);
	for (i = 0; i < nband; i++)
		*p++ = i ? (uint8_t)(i % n) : winner;
	return (size_t)(p - blob);
}

/*
 * Band winners name terms the clustering reads: a byte past the terms,
 * or winners of more than 256 terms, are refused; so are the encodings of
 * older versions (32-bit ids, other band keys), with a message.
 */
static void test_decode_checks(void **state)
{
	static unsigned char blob[40 + 300 * 4 + 82];
	struct dedup_sig d;
	struct dedup_error err;
	size_t used, len;

	(void)state;
	dedup_sig_init(&d);
	len = sig4(blob, 0x34474953u, 3, 82, 2);
	assert_int_equal(dedup_sig_decode(&d, blob, len, &used, &err),
			 DEDUP_OK);
	assert_int_equal(used, len);
	assert_int_equal(d.nterms, 3);
	assert_int_equal(d.nband, 82);
	assert_int_equal(d.nwords, 50);
	assert_int_equal(d.lang, 1);
	assert_int_equal(d.date, 19000);
	assert_true(d.body == 0x1122334455667788ull);
	assert_int_equal(dedup_term_id(dedup_sig_tw(&d, 2)), 114);
	assert_int_equal(dedup_term_wt(dedup_sig_tw(&d, 2)), 3);
	assert_int_equal(dedup_sig_band(&d)[0], 2);
	len = sig4(blob, 0x34474953u, 3, 82, 3);
	assert_int_equal(dedup_sig_decode(&d, blob, len, &used, &err),
			 DEDUP_EFORMAT);
	assert_null(d.blk);
	len = sig4(blob, 0x34474953u, 300, 82, 0);
	assert_int_equal(dedup_sig_decode(&d, blob, len, &used, &err),
			 DEDUP_EFORMAT);
	len = sig4(blob, 0x34474953u, 300, 0, 0);
	assert_int_equal(dedup_sig_decode(&d, blob, len, &used, &err),
			 DEDUP_OK);
	assert_int_equal(d.nterms, 300);
	len = sig4(blob, 0x33474953u, 3, 0, 0); /* "SIG3" */
	assert_int_equal(dedup_sig_decode(&d, blob, len, &used, &err),
			 DEDUP_EFORMAT);
	assert_non_null(strstr(err.msg, "older version"));
	dedup_sig_release(&d);
}

/*
 * Signatures of a run name the winners of its LSH bands: among their
 * strongest terms, the terms themselves unchanged.
 */
static void test_band_winners(void **state)
{
	struct dedup_sig_params p;
	struct dedup_sigbuilder *b;
	struct dedup_sig s, t;
	struct dedup_error err;
	char text[8192];
	size_t n = 0;
	uint32_t i, k, w, above;

	(void)state;
	for (i = 0; i < 300; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "w%u ",
				      i * 7 % 97 + i / 3);
	dedup_sig_params_default(&p, DEDUP_LEVEL_EVENT);
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	dedup_sig_init(&s);
	dedup_sig_init(&t);
	build(b, text, &t, NULL);
	dedup_sigbuilder_free(b);
	p.lsh_top = 20;
	p.lsh_bands = 82;
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	build(b, text, &s, NULL);
	assert_int_equal(s.nband, 82);
	assert_true(s.nterms > 20 && s.nterms <= 256);
	assert_int_equal(s.nterms, t.nterms);
	assert_true(same_terms(&s, &t));
	for (k = 0; k < s.nband; k++) {
		/* a winner is one of the 20 strongest */
		w = dedup_term_wt(dedup_sig_tw(&s, dedup_sig_band(&s)[k]));
		for (i = 0, above = 0; i < s.nterms; i++)
			above += dedup_term_wt(dedup_sig_tw(&s, i)) > w;
		assert_true(above < 20);
	}
	/* none at the copy level, nor asked of more than 1,024 bands */
	p.lsh_bands = 1025;
	assert_int_equal(dedup_sig_params_check(&p, &err), DEDUP_EINVAL);
	dedup_sig_release(&s);
	dedup_sig_release(&t);
	dedup_sigbuilder_free(b);
}

/*
 * Two kept terms whose ids share their top 24 bits are one term of a
 * signature, weighing their sum: found among numbered words.
 */
static void test_ids_merged(void **state)
{
	enum { N = 20000 };
	uint64_t *v = malloc(N * sizeof(*v));
	struct dedup_sig_params p;
	struct dedup_sigbuilder *b;
	struct dedup_sig s;
	struct dedup_error err;
	char w[2][16], text[64];
	uint32_t i, x = 0, y = 0;

	(void)state;
	assert_non_null(v);
	for (i = 0; i < N; i++) {
		uint64_t h;
		uint32_t t;
		int len = snprintf(w[0], sizeof(w[0]), "q%u", i);

		h = dedup_token_hash(w[0], (size_t)len);
		t = (uint32_t)(h ^ (h >> 32));
		v[i] = (uint64_t)(t >> 8) << 32 | i;
	}
	qsort(v, N, sizeof(*v), cmp64);
	for (i = 1; i < N && !y; i++)
		if (v[i] >> 32 == v[i - 1] >> 32) {
			x = (uint32_t)v[i - 1];
			y = (uint32_t)v[i];
		}
	free(v);
	assert_true(y != 0); /* about a dozen pairs expected */
	snprintf(w[0], sizeof(w[0]), "q%u", x);
	snprintf(w[1], sizeof(w[1]), "q%u", y);
	snprintf(text, sizeof(text), "%s %s", w[0], w[1]);
	dedup_sig_params_default(&p, DEDUP_LEVEL_EVENT);
	p.stem = 0;
	assert_int_equal(dedup_sigbuilder_new(&b, &p, NULL, &err), 0);
	dedup_sig_init(&s);
	build(b, text, &s, NULL);
	/* two words made one, and their bigram: weights 1 + 1 and 0.5 */
	assert_int_equal(s.ndistinct, 3);
	assert_int_equal(s.nterms, 2);
	{
		uint32_t a = dedup_sig_wt(&s, 0), c = dedup_sig_wt(&s, 1);

		/*
		 * 255 x 2 / sqrt(4.25) = 247.4 and 61.8, at their levels (sig.h)
		 * as a unit vector: 255 and 56
		 */
		assert_int_equal(a > c ? a : c, 255);
		assert_int_equal(a > c ? c : a, 56);
	}
	dedup_sig_release(&s);
	dedup_sigbuilder_free(b);
}

/*
 * Signatures kept in a store: the same bytes, released without being
 * freed (ASan would tell), a signature larger than a block on its own.
 */
static void test_store(void **state)
{
	enum { N = 300 };
	static struct dedup_sig s[N];
	struct dedup_sigstore *st;
	struct dedup_buf want = DEDUP_BUF_INIT, got = DEDUP_BUF_INIT;
	uint32_t i, k, tw[DEDUP_SIG_MAXTERMS];

	(void)state;
	assert_int_equal(dedup_sigstore_new(&st), DEDUP_OK);
	for (i = 0; i < N; i++) {
		uint32_t nterms = i == 7 ? 4096 : i % 260;
		uint32_t nperm = i % 3 ? 0 : 128 + i;

		dedup_sig_init(&s[i]);
		assert_int_equal(dedup_sig_alloc(&s[i], nterms, nperm,
						 nterms && nterms <= 256 ?
						 i % 83 : 0), DEDUP_OK);
		for (k = 0; k < nterms; k++)
			tw[k] = dedup_term_pack(k * 4000 + i, 1 + k % 255);
		dedup_sig_pack(&s[i], tw);
		for (k = 0; k < nperm; k++)
			dedup_sig_mins(&s[i])[k] = k * i;
		for (k = 0; k < s[i].nband; k++)
			dedup_sig_band(&s[i])[k] = (uint8_t)(k % nterms);
		s[i].body = i;
		dedup_buf_reset(&want);
		assert_int_equal(dedup_sig_encode(&s[i], &want), DEDUP_OK);
		assert_int_equal(dedup_sig_keep(st, &s[i]), DEDUP_OK);
		assert_int_equal(s[i].kept, 1);
		/* kept already: nothing moves */
		assert_int_equal(dedup_sig_keep(st, &s[i]), DEDUP_OK);
		dedup_buf_reset(&got);
		assert_int_equal(dedup_sig_encode(&s[i], &got), DEDUP_OK);
		assert_int_equal(got.len, want.len);
		assert_memory_equal(got.buf, want.buf, want.len);
	}
	assert_true(dedup_sigstore_bytes(st) >= 4096 * 4);
	/* a kept signature rebuilt gets a block of its own again */
	assert_int_equal(dedup_sig_alloc(&s[1], 3, 0, 0), DEDUP_OK);
	assert_int_equal(s[1].kept, 0);
	for (i = 0; i < N; i++)
		dedup_sig_release(&s[i]);
	dedup_sigstore_free(st);
	dedup_buf_release(&want);
	dedup_buf_release(&got);
}

/*
 * Ascending 24-bit ids into tw[0..n) (n at most 4096), weights levels:
 * spread over all ids, or within the top bits [lo, hi] (a few of them,
 * one, the first or the last), so that the top bits' words fill unevenly.
 */
static uint32_t rnd_state = 2463534242u;

static uint32_t rnd32(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static uint32_t term_set(uint32_t *tw, uint32_t n, uint32_t lo, uint32_t hi)
{
	static uint8_t used[1u << 24 >> 3];
	uint32_t span = (hi - lo + 1) << 16, i, k = 0, id;

	assert_true(n <= span);
	memset(used, 0, sizeof(used));
	for (i = 0; i < n; i++) {
		do
			id = (lo << 16) + rnd32() % span;
		while (used[id >> 3] >> (id & 7) & 1);
		used[id >> 3] |= (uint8_t)(1u << (id & 7));
	}
	for (id = lo << 16; k < n; id++)
		if (used[id >> 3] >> (id & 7) & 1)
			tw[k++] = dedup_term_pack(id, dedup_weight_level[
					rnd32() % DEDUP_WEIGHT_LEVELS]);
	return k;
}

/* Every way of reading s's terms gives tw[0..n). */
static void check_terms(const struct dedup_sig *s, const uint32_t *tw)
{
	static uint32_t got[DEDUP_SIG_MAXTERMS];
	uint32_t i, isa, id;

	for (isa = 0; isa <= 2; isa++) {
		memset(got, 0xa5, sizeof(got));
		dedup_sig_unpack_isa(s, got, isa);
		assert_memory_equal(got, tw, s->nterms * sizeof(*tw));
	}
	for (i = 0; i < s->nterms; i++) {
		assert_int_equal(dedup_sig_tw(s, i), tw[i]);
		assert_int_equal(dedup_sig_tw_isa(s, i, 0), tw[i]);
		assert_int_equal(dedup_sig_id(s, i), dedup_term_id(tw[i]));
		assert_int_equal(dedup_sig_id_isa(s, i, 0), dedup_term_id(tw[i]));
		assert_int_equal(dedup_sig_low(s, i), tw[i] & 0xffffffu);
		assert_int_equal(dedup_sig_wt(s, i), dedup_term_wt(tw[i]));
		id = dedup_term_id(tw[i]);
		assert_int_equal(dedup_sig_find(s, id), i);
		/* an id between two terms: the place of the next */
		if (!i || dedup_term_id(tw[i - 1]) + 1 < id)
			assert_int_equal(dedup_sig_find(s, id - 1), i);
	}
	if (s->nterms) {
		id = dedup_term_id(tw[s->nterms - 1]);
		if (id < 0xffffffu)
			assert_int_equal(dedup_sig_find(s, id + 1), s->nterms);
	} else {
		assert_int_equal(dedup_sig_find(s, 12345), 0);
	}
}

/*
 * Weights as levels: ascending, 1 to 32 exact, steps of at most 8.6 %
 * above; every weight packed comes back as its nearest level, whatever its
 * place in the bytes (22 bits a term: each shift of a byte).
 */
static void test_weight_levels(void **state)
{
	static uint32_t tw[64], got[64];
	struct dedup_sig s;
	uint32_t w, c, i, best;

	(void)state;
	for (c = 1; c < DEDUP_WEIGHT_LEVELS; c++) {
		assert_true(dedup_weight_level[c] > dedup_weight_level[c - 1]);
		assert_true(c < 32 || dedup_weight_level[c] * 1000u <=
					      dedup_weight_level[c - 1] * 1086u);
	}
	assert_int_equal(dedup_weight_level[0], 1);
	assert_int_equal(dedup_weight_level[31], 32);
	assert_int_equal(dedup_weight_level[DEDUP_WEIGHT_LEVELS - 1], 255);
	for (w = 0; w <= 255; w++) {
		for (c = 0, best = 0; c < DEDUP_WEIGHT_LEVELS; c++) {
			uint32_t x = w ? w : 1, l = dedup_weight_level[c];
			uint32_t b = dedup_weight_level[best];

			if ((l > x ? l - x : x - l) < (b > x ? b - x : x - b))
				best = c;
		}
		assert_int_equal(dedup_weight_code(w), best);
		assert_int_equal(dedup_weight_round(w), dedup_weight_level[best]);
	}
	for (w = 1; w <= 255; w += 64) {
		dedup_sig_init(&s);
		assert_int_equal(dedup_sig_alloc(&s, 64, 0, 0), DEDUP_OK);
		for (i = 0; i < 64; i++)
			tw[i] = dedup_term_pack(i << 18 | (i * 2654435761u >> 16 &
							  0xffffu),
						(w + 17 * i) % 256);
		dedup_sig_pack(&s, tw);
		dedup_sig_unpack(&s, got);
		for (i = 0; i < 64; i++) {
			assert_int_equal(dedup_term_id(got[i]),
					 dedup_term_id(tw[i]));
			assert_int_equal(dedup_term_wt(got[i]),
					 dedup_weight_round(dedup_term_wt(tw[i])));
			assert_int_equal(dedup_sig_low16(&s, i),
					 dedup_term_id(tw[i]) & 0xffffu);
		}
		dedup_sig_release(&s);
	}
}

/*
 * Terms stored compactly (the low 16 bits and the weight's level in 22
 * bits, the top 8 bits in unary with counts ahead): packed, read one by one, all at
 * once with each instruction set, looked for, encoded and decoded, kept
 * in a store, for sizes at the edges of the counts (193 to 258 terms fill
 * 8 words, 256 or 257 in the first words pass a count's byte), ids all in
 * one top value, the first or the last, or spread.
 */
static void test_terms_compact(void **state)
{
	static const uint32_t sizes[] = { 0, 1, 2, 7, 8, 9, 63, 64, 65, 100,
					  193, 194, 240, 255, 256, 257, 258,
					  300, 1000, 4096 };
	static uint32_t tw[DEDUP_SIG_MAXTERMS];
	struct dedup_sigstore *st;
	struct dedup_buf buf = DEDUP_BUF_INIT;
	struct dedup_error err;
	struct dedup_sig s, d;
	size_t z, used;
	uint32_t v, n, k, nband;

	(void)state;
	assert_int_equal(dedup_sigstore_new(&st), DEDUP_OK);
	dedup_sig_init(&d);
	for (z = 0; z < sizeof(sizes) / sizeof(*sizes); z++) {
		for (v = 0; v < 6; v++) {
			/* spread; one top value: 0, 255, 77; 0 to 1; 254 to 255 */
			static const uint32_t lo[] = { 0, 0, 255, 77, 0, 254 };
			static const uint32_t hi[] = { 255, 0, 255, 77, 1, 255 };

			n = term_set(tw, sizes[z], lo[v], hi[v]);
			nband = n && n <= 256 ? 1 + n % 82 : 0;
			dedup_sig_init(&s);
			assert_int_equal(dedup_sig_alloc(&s, n, n % 3 ? 0 : 5,
							 nband), DEDUP_OK);
			for (k = 0; k < s.nperm; k++)
				dedup_sig_mins(&s)[k] = k * 7 + n;
			for (k = 0; k < nband; k++)
				dedup_sig_band(&s)[k] = (uint8_t)(k * 13 % n);
			dedup_sig_pack(&s, tw);
			/* all in the first words: the counts pass a byte */
			if (v == 1 && (n == 256 || n == 257))
				assert_true(dedup_sig_hibits(&s)[0] & 0x80);
			check_terms(&s, tw);
			for (k = 0; k < nband; k++)
				assert_int_equal(dedup_sig_band(&s)[k], k * 13 % n);
			dedup_buf_reset(&buf);
			assert_int_equal(dedup_sig_encode(&s, &buf), DEDUP_OK);
			assert_int_equal(dedup_sig_decode(&d, buf.buf, buf.len,
							  &used, &err), DEDUP_OK);
			assert_int_equal(used, buf.len);
			assert_int_equal(d.nterms, n);
			assert_memory_equal(d.blk, s.blk, dedup_sig_size(&s));
			check_terms(&d, tw);
			assert_int_equal(dedup_sig_keep(st, &s), DEDUP_OK);
			check_terms(&s, tw);
			dedup_sig_release(&s);
		}
	}
	/* 22 bits with the weight: 3.03 bytes a term at 250, not 4 */
	assert_int_equal(dedup_sig_termbytes(250), 688);
	assert_int_equal(dedup_sig_hibytes(0), 0);
	assert_int_equal(dedup_sig_hibytes(250), 8 * 8 + 7);
	assert_int_equal(dedup_sig_hibytes(258), 9 * 8);
	dedup_sig_release(&d);
	dedup_buf_release(&buf);
	dedup_sigstore_free(st);
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
	/* a month is a whole word */
	assert_int_equal(dedup_text_date("Mayday 5, 2023", 14),
			 DEDUP_DATE_NONE);
	assert_int_equal(dedup_text_date("the Oct. 11, 2023 vote", 22), d);
	assert_int_equal(dedup_text_date("in march\n11, 2023", 18),
			 DEDUP_DATE_NONE);
	assert_int_equal(dedup_text_date("no date here 12345", 18),
			 DEDUP_DATE_NONE);
	assert_int_equal(dedup_text_date("2023-13-40", 10), DEDUP_DATE_NONE);
	assert_int_equal(dedup_text_date("May I help", 10), DEDUP_DATE_NONE);
	/* a length that cuts the date is respected */
	assert_int_equal(dedup_text_date("2023-10-11", 8), DEDUP_DATE_NONE);
	/* dates start a run of letters and digits, the first one wins */
	assert_int_equal(dedup_text_date("xOctober 11, 2023", 17),
			 DEDUP_DATE_NONE);
	assert_int_equal(dedup_text_date("a12023-10-11 b", 14),
			 DEDUP_DATE_NONE);
	assert_int_equal(dedup_text_date("\xc3\xa9" "2023-10-11", 12), d);
	assert_int_equal(dedup_text_date("Oct 11, 2023 and 2022-01-02", 27),
			 d);
	assert_int_equal(dedup_text_date("on 2022-01-02, Oct 11, 2023", 27),
			 dedup_days_from_civil(2022, 1, 2));
	assert_int_equal(dedup_text_date("words and words: 11 October 2023.",
					 33), d);
}

/* Only the head of a text is searched for a date. */
static void test_text_date_head(void **state)
{
	char text[4200];
	int32_t d = dedup_days_from_civil(2023, 10, 11);

	(void)state;
	memset(text, ' ', sizeof(text));
	memcpy(text + 4096 - 10, "2023-10-11", 10);
	assert_int_equal(dedup_text_date(text, sizeof(text)), d);
	memset(text, 'x', sizeof(text));
	text[4096 - 10] = ' ';
	memcpy(text + 4096 - 9, "2023-10-11", 10);
	assert_int_equal(dedup_text_date(text, sizeof(text)), DEDUP_DATE_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_text_date_head),
		cmocka_unit_test(test_terms_and_weights),
		cmocka_unit_test(test_stems_and_strongest),
		cmocka_unit_test(test_term_of_word),
		cmocka_unit_test(test_strongest_selection),
		cmocka_unit_test(test_document_frequencies),
		cmocka_unit_test(test_count_matches_signature),
		cmocka_unit_test(test_copy_minhash_estimates_jaccard),
		cmocka_unit_test(test_encode_roundtrip),
		cmocka_unit_test(test_decode_checks),
		cmocka_unit_test(test_band_winners),
		cmocka_unit_test(test_ids_merged),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_weight_levels),
		cmocka_unit_test(test_terms_compact),
		cmocka_unit_test(test_text_dates),
		cmocka_unit_test(test_phone_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
