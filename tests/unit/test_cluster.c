/* test_cluster.c - LSH parameters, verified similarity, linkage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "dedup/cluster.h"
#include "lsh_int.h"
#include "dedup/sig.h"

static void test_lsh_optimal(void **state)
{
	uint32_t b, r, b2, r2;

	(void)state;
	dedup_lsh_optimal(0.5, 128, &b, &r);
	assert_true(b * r <= 128 && b >= 1 && r >= 1);
	/* a higher threshold needs more rows per band */
	dedup_lsh_optimal(0.9, 128, &b2, &r2);
	assert_true(r2 > r);
	dedup_lsh_optimal(0.1, 64, &b, &r);
	assert_true(b * r <= 64);
	assert_true(r <= 2);
}

/*
 * The products of successive powers choose what a pow() for each would:
 * thresholds 0.01 to 0.99 at the hash counts of the defaults and some
 * others (the two differ in the last bits of each error only).
 */
static void test_lsh_optimal_same(void **state)
{
	const uint32_t nh[] = { 1, 7, 64, 256 };
	uint32_t i, k, b, r, b2, r2;

	(void)state;
	for (k = 0; k < sizeof(nh) / sizeof(*nh); k++) {
		for (i = 1; i < 100; i += nh[k] > 64 ? 12 : 3) {
			double t = i / 100.0;

			dedup_lsh_optimal(t, nh[k], &b, &r);
			dedup_lsh_optimal_pow(t, nh[k], &b2, &r2);
			assert_int_equal(b, b2);
			assert_int_equal(r, r2);
		}
	}
	/* the defaults' */
	dedup_lsh_optimal(0.02, 256, &b, &r);
	dedup_lsh_optimal_pow(0.02, 256, &b2, &r2);
	assert_int_equal(b * 1000 + r, b2 * 1000 + r2);
	dedup_lsh_optimal(0.6, 128, &b, &r);
	dedup_lsh_optimal_pow(0.6, 128, &b2, &r2);
	assert_int_equal(b * 1000 + r, b2 * 1000 + r2);
}

/* A hash of the terms, as the body hash of their token stream would be. */
static uint64_t body_of(const uint32_t *terms, uint32_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull * (n + 1);
	uint32_t i;

	for (i = 0; i < n; i++) {
		h = (h ^ terms[i]) * 0x100000001B3ull;
		h ^= h >> 29;
	}
	return n ? h : 0;
}

/* A signature made directly from ascending 24-bit term ids, equal weights. */
static void mksig(struct dedup_sig *s, const uint32_t *terms, uint32_t n,
		  int32_t date)
{
	uint32_t tw[DEDUP_SIG_MAXTERMS], i;

	dedup_sig_init(s);
	assert_int_equal(dedup_sig_alloc(s, n, 0, 0), DEDUP_OK);
	for (i = 0; i < n; i++) {
		assert_true(terms[i] < 1u << 24);
		tw[i] = dedup_term_pack(terms[i], (uint32_t)(DEDUP_WEIGHT_ONE /
							     sqrt((double)n)));
	}
	dedup_sig_pack(s, tw);
	s->ndistinct = s->nwords = n;
	s->date = date;
	s->body = body_of(terms, n);
}

/* Document d of a topic: shares `shared` of its 60 terms with the topic. */
static void topic_doc(struct dedup_sig *s, uint32_t topic, uint32_t d,
		      uint32_t shared)
{
	uint32_t t[60], i;

	for (i = 0; i < 60; i++)
		t[i] = i < shared ? 100000 * (topic + 1) + i :
				    100000 * (topic + 1) + 1000 + 100 * d + i;
	mksig(s, t, 60, DEDUP_DATE_NONE);
}

static void test_groups_topics(void **state)
{
	struct dedup_cluster_params p;
	struct dedup_sig s[9];
	struct dedup_assign a[9];
	struct dedup_cluster_stats st;
	struct dedup_error err;
	struct dedup_df *df;
	uint32_t i;

	(void)state;
	assert_int_equal(dedup_df_new(&df), 0);
	for (i = 0; i < 9; i++)
		topic_doc(&s[i], i / 3, i % 3, 45);
	dedup_df_add_doc(df, 9);
	dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
	assert_int_equal(dedup_cluster_run(&p, s, 9, df, a, &st, &err), 0);
	for (i = 0; i < 9; i++) {
		assert_int_equal(a[i].rep, (i / 3) * 3);
		assert_true(a[i].score > 0.5 && a[i].score <= 1);
	}
	assert_int_equal(st.clusters, 3);
	/* the same input in any thread count gives the same answer: here,
	 * the same call twice */
	{
		struct dedup_assign b[9];

		assert_int_equal(dedup_cluster_run(&p, s, 9, df, b, NULL, &err), 0);
		for (i = 0; i < 9; i++) {
			assert_int_equal(a[i].rep, b[i].rep);
			assert_true(a[i].score == b[i].score);
		}
	}
	for (i = 0; i < 9; i++)
		dedup_sig_release(&s[i]);
	dedup_df_free(df);
}

/*
 * A chain: each document shares most terms with its neighbours only.
 * Single-link would merge all; average linkage must not put the ends
 * together.
 */
static void test_no_chaining(void **state)
{
	enum { N = 12 };
	struct dedup_cluster_params p;
	struct dedup_sig s[N];
	struct dedup_assign a[N];
	struct dedup_error err;
	uint32_t i, k, t[40];

	(void)state;
	for (i = 0; i < N; i++) {
		for (k = 0; k < 40; k++)
			t[k] = (i * 20 + k) + 1; /* overlaps half with i+1 */
		mksig(&s[i], t, 40, DEDUP_DATE_NONE);
	}
	dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
	p.threshold = 0.3;
	assert_int_equal(dedup_cluster_run(&p, s, N, NULL, a, NULL, &err), 0);
	assert_true(a[0].rep != a[N - 1].rep);
	for (i = 0; i < N; i++) {
		uint32_t size = 0;

		for (k = 0; k < N; k++)
			size += a[k].rep == a[i].rep;
		assert_true(size <= 3);
		dedup_sig_release(&s[i]);
	}
}

static void test_max_cluster_and_empty(void **state)
{
	enum { N = 30 };
	struct dedup_cluster_params p;
	struct dedup_sig s[N];
	struct dedup_assign a[N];
	struct dedup_error err;
	uint32_t i, k, t[20];

	(void)state;
	for (i = 0; i < N; i++) {
		for (k = 0; k < 20; k++)
			t[k] = k + 1;
		/* the same terms, but the last two are empty */
		mksig(&s[i], t, i < N - 2 ? 20 : 0, DEDUP_DATE_NONE);
		s[i].body = i < N - 2 ? i + 1 : 0; /* not exact copies */
	}
	dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
	p.max_cluster = 10;
	assert_int_equal(dedup_cluster_run(&p, s, N, NULL, a, NULL, &err), 0);
	for (i = 0; i < N; i++) {
		uint32_t size = 0;

		for (k = 0; k < N; k++)
			size += a[k].rep == a[i].rep;
		assert_true(size <= 10);
	}
	assert_int_equal(a[N - 1].rep, N - 1);
	assert_int_equal(a[N - 2].rep, N - 2);
	for (i = 0; i < N; i++)
		dedup_sig_release(&s[i]);
}

/*
 * Exact copies (one body hash and word count) are one document to the
 * clustering: 300 of them, past max_bucket in every band where only
 * neighbours pair, and past max_cluster, stay one cluster (the linkage
 * cut them into clusters of four when each counted), with a near copy
 * and the copies of another text apart.
 */
static void test_copies_one(void **state)
{
	enum { N = 700 };
	static struct dedup_sig s[N];
	static struct dedup_assign a[N];
	struct dedup_cluster_params p;
	struct dedup_cluster_stats st;
	struct dedup_error err;
	uint32_t i, k, t[40], lvl;

	(void)state;
	for (i = 0; i < N; i++) {
		uint32_t which = i < 300 ? 0 : i < 600 ? 1 + i % 50 : 60 + i;

		for (k = 0; k < 40; k++)
			t[k] = 1000 * which + 7 * k + 1;
		mksig(&s[i], t, 40, DEDUP_DATE_NONE);
	}
	s[299].body ^= 1; /* a near copy: the same terms, another body */
	for (lvl = 0; lvl < 2; lvl++) {
		dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
		p.max_cluster = 100;
		p.threads = lvl + 1;
		assert_int_equal(dedup_cluster_run(&p, s, N, NULL, a, &st,
						   &err), 0);
		for (i = 0; i < 299; i++) {
			assert_int_equal(a[i].rep, 0);
			assert_true(a[i].score == 1);
		}
		assert_int_equal(a[299].rep, 0);
		for (i = 300; i < 600; i++)
			assert_int_equal(a[i].rep, 300 + (i - 300) % 50);
		for (i = 600; i < N; i++)
			assert_int_equal(a[i].rep, i);
		assert_int_equal(st.clusters, 51);
	}
	for (i = 0; i < N; i++)
		dedup_sig_release(&s[i]);
}

/*
 * Near copies in numbers (a term of their own each, one body each): 200
 * of them, past max_bucket in every band, stay one cluster; so do 20,
 * which the linkage joins whole; and another text's copies stay apart.
 */
static void test_near_copies_one(void **state)
{
	enum { N = 400, T = 40 };
	static struct dedup_sig s[N];
	static struct dedup_assign a[N];
	struct dedup_cluster_params p;
	struct dedup_cluster_stats st;
	struct dedup_error err;
	uint32_t i, k, t[T + 1], th;

	(void)state;
	for (i = 0; i < N; i++) {
		/* 0..199 one text, 200..219 another, then strangers */
		uint32_t which = i < 200 ? 0 : i < 220 ? 1 : 2 + i;

		for (k = 0; k < T; k++)
			t[k] = 1000 * which + 7 * k + 1;
		t[T] = 900000 + i; /* its own, last in id order */
		mksig(&s[i], t, T + 1, DEDUP_DATE_NONE);
	}
	for (th = 1; th <= 2; th++) {
		dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
		p.threads = th;
		assert_int_equal(dedup_cluster_run(&p, s, N, NULL, a, &st,
						   &err), 0);
		for (i = 0; i < 200; i++) {
			assert_int_equal(a[i].rep, 0);
			assert_true(a[i].score >= 0.7);
		}
		for (i = 200; i < 220; i++)
			assert_int_equal(a[i].rep, 200);
		for (i = 220; i < N; i++)
			assert_int_equal(a[i].rep, i);
		assert_int_equal(st.clusters, 2);
	}
	/* the first 150 settled as one cluster: the next 50 join it */
	{
		static uint32_t pin[150];

		for (i = 0; i < 150; i++)
			pin[i] = 0;
		dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
		assert_int_equal(dedup_cluster_run_pinned(&p, s, N, 150, pin,
							  NULL, a, &st, &err),
				 0);
		for (i = 0; i < 200; i++)
			assert_int_equal(a[i].rep, 0);
		for (i = 200; i < 220; i++)
			assert_int_equal(a[i].rep, 200);
	}
	for (i = 0; i < N; i++)
		dedup_sig_release(&s[i]);
}

static void test_representative_and_dates(void **state)
{
	struct dedup_cluster_params p;
	struct dedup_sig s[3];
	struct dedup_assign a[3];
	struct dedup_error err;
	uint32_t t[30], i;

	(void)state;
	for (i = 0; i < 30; i++)
		t[i] = i + 7;
	mksig(&s[0], t, 30, DEDUP_DATE_NONE);
	mksig(&s[1], t, 30, 19000);
	mksig(&s[2], t, 29, 18998);
	dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
	p.date_window = 0;
	assert_int_equal(dedup_cluster_run(&p, s, 3, NULL, a, NULL, &err), 0);
	/* the earliest dated report is kept */
	for (i = 0; i < 3; i++)
		assert_int_equal(a[i].rep, 2);
	/* a date window keeps reports days apart from matching */
	p.date_window = 1;
	assert_true(dedup_similarity(&p, NULL, &s[1], &s[2]) < 0);
	assert_true(dedup_similarity(&p, NULL, &s[0], &s[2]) > 0.9);
	for (i = 0; i < 3; i++)
		dedup_sig_release(&s[i]);
}

/*
 * Dates found in texts are evidence, not a veto: one report whose text
 * leads with an older date (the day of the crime, in a trial report)
 * still joins the reports of its event; two events of one topic dated
 * days apart stay apart although they share their topic's words.
 */
static void test_dates_weigh(void **state)
{
	enum { N = 6 };
	struct dedup_cluster_params p;
	struct dedup_sig s[N];
	struct dedup_assign a[N];
	struct dedup_error err;
	uint32_t i, k, t[60];

	(void)state;
	dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
	/* one event: 3 undated, 2 dated, one misread a month off */
	for (i = 0; i < N; i++) {
		topic_doc(&s[i], 0, i, 20);
		s[i].body = i + 1; /* not copies of each other */
	}
	s[3].date = s[4].date = 19000;
	s[5].date = 19030;
	assert_true(dedup_similarity(&p, NULL, &s[3], &s[5]) < 0);
	assert_int_equal(dedup_cluster_run(&p, s, N, NULL, a, NULL, &err), 0);
	for (i = 1; i < N; i++)
		assert_int_equal(a[i].rep, a[0].rep);
	for (i = 0; i < N; i++)
		dedup_sig_release(&s[i]);

	/* two events of a topic: 20 topic terms, 20 of the event, 20 own */
	for (i = 0; i < N; i++) {
		for (k = 0; k < 60; k++)
			t[k] = k < 20 ? k + 1 :
			       k < 40 ? 1000 * (i / 3 + 1) + k :
					100000 * (i + 1) + k;
		mksig(&s[i], t, 60, i < 3 ? 19000 : 19005);
		s[i].body = i + 1;
	}
	assert_int_equal(dedup_cluster_run(&p, s, N, NULL, a, NULL, &err), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(a[i].rep, a[i / 3 * 3].rep);
	assert_true(a[0].rep != a[3].rep);
	/* undated, their shared topic alone would merge them */
	for (i = 0; i < N; i++)
		s[i].date = DEDUP_DATE_NONE;
	assert_int_equal(dedup_cluster_run(&p, s, N, NULL, a, NULL, &err), 0);
	assert_int_equal(a[0].rep, a[3].rep);
	for (i = 0; i < N; i++)
		dedup_sig_release(&s[i]);
}

static void test_pinned_clusters(void **state)
{
	struct dedup_cluster_params p;
	struct dedup_sig s[6];
	struct dedup_assign a[6];
	struct dedup_error err;
	/* 0, 1: one settled cluster kept by 1; 2, 3: two settled singletons
	 * about one topic that were judged apart before */
	const uint32_t pinned_rep[4] = { 1, 1, 2, 3 };
	uint32_t i;

	(void)state;
	topic_doc(&s[0], 0, 0, 50);
	topic_doc(&s[1], 0, 1, 50);
	topic_doc(&s[2], 1, 0, 50);
	topic_doc(&s[3], 1, 1, 50);
	topic_doc(&s[4], 0, 2, 50); /* new, joins the first cluster */
	topic_doc(&s[5], 2, 0, 50); /* new, alone */
	s[4].date = 1;              /* earlier, yet the settled keep stays */
	dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
	assert_int_equal(dedup_cluster_run_pinned(&p, s, 6, 4, pinned_rep, NULL,
						  a, NULL, &err), 0);
	assert_int_equal(a[0].rep, 1);
	assert_int_equal(a[1].rep, 1);
	assert_int_equal(a[4].rep, 1);
	assert_int_equal(a[2].rep, 2);
	assert_int_equal(a[3].rep, 3);
	assert_int_equal(a[5].rep, 5);
	for (i = 0; i < 6; i++)
		dedup_sig_release(&s[i]);
}

/*
 * Threads hash, band and verify; the clusters, scores and counts must not
 * depend on how many. A topic of 90 documents crowds buckets past
 * max_bucket, and two documents are pinned.
 */
static void test_threads_same(void **state)
{
	enum { N = 400 };
	static struct dedup_sig s[N];
	static struct dedup_assign a[N], b[N];
	const uint32_t pinned_rep[2] = { 0, 0 };
	const uint32_t threads[] = { 2, 3, 7 };
	struct dedup_cluster_params p;
	struct dedup_cluster_stats sa, sb;
	struct dedup_error err;
	uint32_t i, k;

	(void)state;
	for (i = 0; i < N; i++) {
		uint32_t topic = i < 90 ? 0 : 1 + i % 37;

		topic_doc(&s[i], topic, i, 20 + (i * 7) % 35);
	}
	for (k = 0; k < 2; k++) {
		dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
		assert_int_equal(dedup_cluster_run_pinned(&p, s, N, 2 * k,
							  pinned_rep, NULL, a,
							  &sa, &err), 0);
		assert_true(sa.candidates > N);
		for (i = 0; i < sizeof(threads) / sizeof(*threads); i++) {
			uint32_t j;

			p.threads = threads[i];
			assert_int_equal(dedup_cluster_run_pinned(&p, s, N, 2 * k,
								  pinned_rep,
								  NULL, b, &sb,
								  &err), 0);
			assert_memory_equal(&sa, &sb, sizeof(sa));
			for (j = 0; j < N; j++) {
				assert_int_equal(a[j].rep, b[j].rep);
				assert_true(a[j].score == b[j].score);
			}
		}
	}
	for (i = 0; i < N; i++)
		dedup_sig_release(&s[i]);
}

/*
 * The second round finds the same pairs whether a component's are listed
 * whole or met in the bands: every component through the bands, the
 * default (a topic of 90 documents through the bands, the others whole),
 * every component whole; at one and two shared bands.
 */
static void test_direct_same(void **state)
{
	enum { N = 400 };
	static struct dedup_sig s[N];
	static struct dedup_assign a[N], b[N];
	const uint32_t direct[] = { 64, 1000 };
	struct dedup_cluster_params p;
	struct dedup_cluster_stats sa, sb;
	struct dedup_error err;
	uint32_t i, k, need;

	(void)state;
	for (i = 0; i < N; i++) {
		uint32_t topic = i < 90 ? 0 : 1 + i % 37;

		topic_doc(&s[i], topic, i, 20 + (i * 7) % 35);
	}
	for (need = 1; need <= 2; need++) {
		dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
		p.min_bands = need;
		assert_int_equal(dedup_cluster_run_direct(&p, s, N, 0, NULL,
							  NULL, a, &sa, 0,
							  &err), 0);
		for (k = 0; k < sizeof(direct) / sizeof(*direct); k++) {
			p.threads = 2;
			assert_int_equal(dedup_cluster_run_direct(&p, s, N, 0,
								  NULL, NULL,
								  b, &sb,
								  direct[k],
								  &err), 0);
			assert_memory_equal(&sa, &sb, sizeof(sa));
			for (i = 0; i < N; i++) {
				assert_int_equal(a[i].rep, b[i].rep);
				assert_true(a[i].score == b[i].score);
			}
		}
	}
	for (i = 0; i < N; i++)
		dedup_sig_release(&s[i]);
}

struct keydoc {
	uint64_t key;
	uint32_t doc;
};

static int cmp_keydoc(const void *a, const void *b)
{
	const struct keydoc *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->doc > y->doc) - (x->doc < y->doc);
}

/*
 * The candidate and verified counts against the definition, from the
 * public band keys: every pair of a bucket, only neighbours in document
 * order past max_bucket; a pair that shares min_bands such bands is one
 * candidate, whatever the number of bands it shares; verified when its
 * similarity reaches the threshold. For one, two and three bands.
 */
static void check_counts(const struct dedup_cluster_params *pp,
			 const struct dedup_sig *s, uint32_t n)
{
	struct dedup_cluster_params q = *pp, *p = &q;
	uint32_t bands, b, i, j, x, y, need;
	uint64_t *keys;
	struct keydoc *kd = malloc(n * sizeof(*kd));
	unsigned char *cand = calloc((size_t)n * n, 1), *has = malloc(n);
	struct dedup_assign *a = malloc(n * sizeof(*a));
	struct dedup_cluster_stats st;
	struct dedup_error err;

	/* derived once: each dedup_cluster_keys() call would derive them */
	if (!p->bands)
		dedup_lsh_optimal(p->lsh_threshold, p->nhash, &p->bands,
				  &p->rows);
	bands = p->bands;
	keys = malloc((size_t)n * bands * sizeof(*keys));
	assert_non_null(keys);
	assert_non_null(kd);
	assert_non_null(cand);
	assert_non_null(has);
	assert_non_null(a);
	for (i = 0; i < n; i++) {
		int r = dedup_cluster_keys(p, NULL, &s[i],
					   keys + (size_t)i * bands);

		assert_true(r >= 0);
		has[i] = (unsigned char)r;
		/* a later exact copy takes no part: its first is it */
		for (j = 0; j < i && has[i]; j++)
			if (s[i].nwords && s[j].body == s[i].body &&
			    s[j].nwords == s[i].nwords)
				has[i] = 0;
	}
	/* the bands each pair shares, up to 255 */
	for (b = 0; b < bands; b++) {
		uint32_t nk = 0;

		for (i = 0; i < n; i++) {
			if (!has[i])
				continue;
			kd[nk].key = keys[(size_t)i * bands + b];
			kd[nk++].doc = i;
		}
		qsort(kd, nk, sizeof(*kd), cmp_keydoc);
		for (i = 0; i < nk; i = j) {
			for (j = i + 1; j < nk && kd[j].key == kd[i].key; j++)
				;
			for (x = i; x < j; x++) {
				for (y = x + 1; y < j; y++) {
					unsigned char *c = &cand[
						(size_t)kd[x].doc * n +
						kd[y].doc];

					if ((j - i <= p->max_bucket ||
					     y == x + 1) && *c < 255)
						++*c;
				}
			}
		}
	}
	for (need = 1; need <= 3; need++) {
		uint64_t ncand = 0, nver = 0;

		for (i = 0; i < n; i++) {
			for (j = i + 1; j < n; j++) {
				if (cand[(size_t)i * n + j] <
				    (need < bands ? need : bands))
					continue;
				ncand++;
				nver += dedup_similarity(p, NULL, &s[i],
							 &s[j]) >=
					p->threshold;
			}
		}
		p->min_bands = need;
		assert_int_equal(dedup_cluster_run(p, s, n, NULL, a, &st,
						   &err), 0);
		assert_int_equal(st.candidates, ncand);
		assert_int_equal(st.verified, nver);
	}
	free(keys);
	free(kd);
	free(cand);
	free(has);
	free(a);
}

/*
 * Signatures that name their band winners (a run's: dedup_sig_params's
 * lsh_bands) are clustered from the bytes they hold, the others from the
 * winners drawn then. Named as the draw would name them, every other
 * one, they give the same candidates and clusters.
 */
static void named_same(const struct dedup_sig *s, uint32_t n)
{
	struct dedup_cluster_params p;
	struct dedup_sig *c = calloc(n, sizeof(*c));
	struct dedup_assign *a = calloc(n, sizeof(*a)), *b = calloc(n, sizeof(*b));
	struct dedup_cluster_stats sa, sb;
	struct dedup_error err;
	struct dedup_sig_params sp;
	uint32_t i, k, hv[1024], tw[DEDUP_SIG_MAXTERMS];
	uint64_t key[4096];

	assert_non_null(c);
	assert_non_null(a);
	assert_non_null(b);
	dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
	dedup_sig_params_default(&sp, DEDUP_LEVEL_EVENT);
	dedup_cluster_sig_params(&p, &sp);
	assert_int_equal(sp.lsh_top, p.top_terms);
	assert_int_equal(sp.lsh_bands, dedup_cluster_bands(&p));
	for (i = 0; i < n; i++) {
		uint32_t nb = i % 2 && s[i].nterms ? sp.lsh_bands : 0;

		c[i] = s[i];
		c[i].blk = NULL;
		assert_int_equal(dedup_sig_alloc(&c[i], s[i].nterms, 0, nb),
				 DEDUP_OK);
		dedup_sig_unpack(&s[i], tw);
		dedup_sig_pack(&c[i], tw);
		if (!nb)
			continue;
		dedup_lsh_values(tw, NULL, c[i].nterms, sp.lsh_top, nb, hv,
				 key);
		for (k = 0; k < nb; k++) {
			uint32_t j = 0;

			while (dedup_term_id(tw[j]) != hv[k])
				j++;
			dedup_sig_band(&c[i])[k] = (uint8_t)j;
		}
	}
	assert_int_equal(dedup_cluster_run(&p, s, n, NULL, a, &sa, &err), 0);
	assert_int_equal(dedup_cluster_run(&p, c, n, NULL, b, &sb, &err), 0);
	assert_true(sa.candidates > 0);
	assert_int_equal(sa.candidates, sb.candidates);
	assert_int_equal(sa.verified, sb.verified);
	for (i = 0; i < n; i++) {
		assert_int_equal(a[i].rep, b[i].rep);
		assert_true(a[i].score == b[i].score);
	}
	check_counts(&p, c, n);
	for (i = 0; i < n; i++)
		dedup_sig_release(&c[i]);
	free(c);
	free(a);
	free(b);
}

/*
 * Bands are walked one at a time and a pair is verified in the first band
 * that makes it a candidate: crowded buckets in some bands and not in
 * others, at both levels (one row per band, and several).
 */
static void test_candidates_exact(void **state)
{
	enum { N = 300 };
	static struct dedup_sig s[N];
	struct dedup_cluster_params p;
	uint32_t i, k, bucket, tw[DEDUP_SIG_MAXTERMS];

	(void)state;
	for (i = 0; i < N; i++) {
		uint32_t topic = i < 120 ? 0 : 1 + i % 23;
		struct dedup_sig t;

		/* the same terms, in a block with room for 128 MinHash values */
		topic_doc(&t, topic, i, 10 + (i * 7) % 45);
		s[i] = t;
		s[i].blk = NULL;
		assert_int_equal(dedup_sig_alloc(&s[i], t.nterms, 128, 0),
				 DEDUP_OK);
		dedup_sig_unpack(&t, tw);
		dedup_sig_pack(&s[i], tw);
		dedup_sig_release(&t);
		/* copy level: MinHash values shared by topic, some by all */
		for (k = 0; k < 128; k++)
			dedup_sig_mins(&s[i])[k] = k % 9 == 0 ? k :
				       (k + i) % 3 ? topic * 1000 + k :
						     i * 1000 + k;
	}
	named_same(s, N);
	for (bucket = 2; bucket <= 64; bucket *= 4) {
		dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
		p.max_bucket = bucket;
		check_counts(&p, s, N);
		dedup_cluster_params_default(&p, DEDUP_LEVEL_COPY);
		p.max_bucket = bucket;
		p.threads = 3;
		check_counts(&p, s, N);
	}
	/*
	 * Past 256 terms a band's winning term is not named by a byte: the
	 * keys are kept as words then, with the same candidates.
	 */
	{
		uint32_t t[300];

		for (k = 0; k < 300; k++)
			t[k] = 200000 + k; /* topic 1's shared terms first */
		dedup_sig_release(&s[N - 1]);
		mksig(&s[N - 1], t, 300, DEDUP_DATE_NONE);
		for (bucket = 2; bucket <= 64; bucket *= 32) {
			dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
			p.max_bucket = bucket;
			check_counts(&p, s, N);
		}
	}
	for (i = 0; i < N; i++)
		dedup_sig_release(&s[i]);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/*
 * The earlier-band test compares the low 16 bits of the band winners'
 * ids first (read once for a bucket's documents), then the full ids:
 * the terms here share their low bits across documents far more often
 * than their top bits, so winners of one band often do. Some terms are
 * everybody's: buckets of all the documents, past the most whose low
 * bits are kept (256) when max_bucket lets them pair.
 */
static void test_rows_exact(void **state)
{
	enum { N = 280, T = 40 };
	static struct dedup_sig s[N];
	struct dedup_cluster_params p;
	uint32_t i, k, t[T], bucket[] = { 2, 64, 300 };

	(void)state;
	for (i = 0; i < N; i++) {
		for (k = 0; k < T; k++)
			t[k] = (7 * k + 1) |
			       (k < 3 ? 0 : (i / 3 + k) % (k % 4 + 2)) << 16;
		qsort(t, T, sizeof(*t), cmp_u32);
		mksig(&s[i], t, T, DEDUP_DATE_NONE);
	}
	for (k = 0; k < 3; k++) {
		dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
		p.max_bucket = bucket[k];
		p.threads = k + 1;
		check_counts(&p, s, N);
	}
	for (i = 0; i < N; i++)
		dedup_sig_release(&s[i]);
}

/*
 * A crowded bucket keeps its documents as 16-bit distances, or whole when
 * two are 2^16 or more apart: here one topic's documents are a few apart,
 * another's tens of thousands, among empty documents. Every band crowds
 * both buckets, so each topic gives its neighbours, once each, and
 * nothing else.
 */
static void test_crowds_far_apart(void **state)
{
	enum { N = 140000, T = 6 };
	static const uint32_t near[T] = { 5, 9, 300, 301, 2000, 2016 };
	static const uint32_t far[T] = { 0, 10, 70000, 70001, 139000, 139999 };
	struct dedup_sig *s = calloc(N, sizeof(*s));
	struct dedup_assign *a = calloc(N, sizeof(*a));
	struct dedup_cluster_params p;
	struct dedup_cluster_stats st;
	struct dedup_error err;
	uint32_t t[2][40], i, k;

	(void)state;
	assert_non_null(s);
	assert_non_null(a);
	for (i = 0; i < N; i++)
		dedup_sig_init(&s[i]);
	for (k = 0; k < 40; k++) {
		t[0][k] = 300000 + k * 7;
		t[1][k] = 500000 + k * 11;
	}
	for (i = 0; i < T; i++) {
		mksig(&s[near[i]], t[0], 40, DEDUP_DATE_NONE);
		mksig(&s[far[i]], t[1], 40, DEDUP_DATE_NONE);
		/* near copies, not exact ones (those are one document) */
		s[near[i]].body = 1 + i;
		s[far[i]].body = 100 + i;
	}
	dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
	p.max_bucket = 3;
	assert_int_equal(dedup_cluster_run(&p, s, N, NULL, a, &st, &err), 0);
	assert_int_equal(st.candidates, 2 * (T - 1));
	assert_int_equal(st.verified, 2 * (T - 1));
	for (i = 0; i < T; i++) {
		assert_int_equal(a[near[i]].rep, a[near[0]].rep);
		assert_int_equal(a[far[i]].rep, a[far[0]].rep);
	}
	assert_int_not_equal(a[near[0]].rep, a[far[0]].rep);
	for (i = 0; i < N; i++)
		dedup_sig_release(&s[i]);
	free(s);
	free(a);
}

/*
 * Verification compares terms through a table of one document's terms by
 * their low bits, with a list for those whose slot is taken, and queues
 * the pairs it compares: the similarities must be those of the merge of
 * two sorted lists to the last bit. Terms here often share their low 13
 * bits (slots taken, terms left out of the table), weights differ, some
 * documents are dated apart or identical, and the pairs of one topic
 * overflow the queue. Each threshold is the exact similarity of a pair.
 */
static void test_verify_exact(void **state)
{
	enum { N = 240, T = 90 };
	static struct dedup_sig s[N];
	struct dedup_cluster_params p;
	uint32_t i, k, seed = 12345, t[T], tw[T];
	double th[4];

	(void)state;
	for (i = 0; i < N; i++) {
		uint32_t n = 0, v;

		/* ascending ids from a pool of 400, spaced by multiples of 8192 */
		for (v = 0; v < 400 && n < T; v++) {
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 400 < T + (i % 7) * 10)
				t[n++] = 1000 + (v % 7) + (v / 7) * 8192u +
					 (v % 3 ? 0 : i % 5);
		}
		/* the ids above may repeat: keep them strictly ascending */
		for (k = 1, v = 1; k < n; k++)
			if (t[k] > t[v - 1])
				t[v++] = t[k];
		n = v;
		mksig(&s[i], t, n, i % 11 == 0 ? 20000 + (int32_t)(i % 3) * 5 :
						  DEDUP_DATE_NONE);
		dedup_sig_unpack(&s[i], tw);
		for (k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			tw[k] = dedup_term_pack(dedup_term_id(tw[k]),
						1 + (seed >> 16) % 40);
		}
		dedup_sig_pack(&s[i], tw);
		if (i % 17 == 1) /* an identical body */
			s[i].body = s[i - 1].body, s[i].nwords = s[i - 1].nwords;
	}
	dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
	th[0] = dedup_similarity(&p, NULL, &s[3], &s[4]);
	th[1] = dedup_similarity(&p, NULL, &s[10], &s[200]);
	th[2] = dedup_similarity(&p, NULL, &s[50], &s[51]);
	th[3] = p.threshold;
	for (k = 0; k < 4; k++) {
		assert_true(th[k] > 0 && th[k] < 1);
		p.threshold = th[k];
		p.threads = k % 2 ? 2 : 1;
		check_counts(&p, s, N);
	}
	for (i = 0; i < N; i++)
		dedup_sig_release(&s[i]);
}

/*
 * The linkage against a plain one over a matrix of sums: random pairs,
 * scores from few values (ties: the lower pair merges first), groups
 * dense enough that merged lists fit in the block of either list, or of
 * neither, and clusters capped so that pairs are passed over.
 */
enum { LK_N = 260 };

static double lk_sum[LK_N][LK_N];
static unsigned char lk_queued[LK_N][LK_N];

static void linkage_plain(const struct dedup_cluster_params *p,
			  uint32_t *root)
{
	uint32_t size[LK_N], a, b, x;

	for (a = 0; a < LK_N; a++) {
		root[a] = a;
		size[a] = 1;
		for (b = a + 1; b < LK_N; b++)
			lk_queued[a][b] = lk_sum[a][b] > 0 &&
					  lk_sum[a][b] >= p->threshold;
	}
	for (;;) {
		double best = -1, sc;
		uint32_t ba = 0, bb = 0;

		for (a = 0; a < LK_N; a++)
			for (b = a + 1; b < LK_N; b++) {
				if (!lk_queued[a][b])
					continue;
				sc = lk_sum[a][b] / ((double)size[a] * size[b]);
				if (sc > best) {
					best = sc;
					ba = a;
					bb = b;
				}
			}
		if (best < 0)
			break;
		lk_queued[ba][bb] = 0;
		if (size[ba] + size[bb] > p->max_cluster)
			continue;
		for (x = 0; x < LK_N; x++) {
			if (root[x] == bb)
				root[x] = ba;
			if (x == ba || x == bb)
				continue;
			lk_queued[x < ba ? x : ba][x < ba ? ba : x] = 0;
			lk_queued[x < bb ? x : bb][x < bb ? bb : x] = 0;
			if (lk_sum[ba][x] > 0 || lk_sum[bb][x] > 0)
				lk_sum[ba][x] = lk_sum[x][ba] =
					lk_sum[ba][x] + lk_sum[bb][x];
			lk_sum[bb][x] = lk_sum[x][bb] = 0;
		}
		size[ba] += size[bb];
		for (x = 0; x < LK_N; x++) {
			if (x == ba || root[x] != x || lk_sum[ba][x] <= 0)
				continue;
			sc = lk_sum[ba][x] / ((double)size[ba] * size[x]);
			if (sc >= p->threshold)
				lk_queued[x < ba ? x : ba][x < ba ? ba : x] = 1;
		}
	}
}

static void test_linkage_plain(void **state)
{
	static uint64_t pair[LK_N * LK_N / 2];
	static double s[LK_N * LK_N / 2];
	uint32_t root[LK_N], want[LK_N], a, b, round, merged = 0;
	struct dedup_cluster_params p;
	uint64_t r = 88172645463325252ull;

	(void)state;
	dedup_cluster_params_default(&p, DEDUP_LEVEL_EVENT);
	for (round = 0; round < 6; round++) {
		size_t n = 0;

		p.threshold = round % 2 ? 0.05 : 0.2;
		p.max_cluster = round < 4 ? LK_N : 12;
		for (a = 0; a < LK_N; a++)
			for (b = a + 1; b < LK_N; b++) {
				/* groups of 20, pairs within a third, others few */
				uint32_t share = a / 20 == b / 20 ? 3 : 60;

				r ^= r << 13;
				r ^= r >> 7;
				r ^= r << 17;
				lk_sum[a][b] = lk_sum[b][a] = 0;
				if (r % share)
					continue;
				lk_sum[a][b] = lk_sum[b][a] =
					(double)(1 + (r >> 32) % 8) / 8;
				pair[n] = (uint64_t)a << 32 | b;
				s[n++] = lk_sum[a][b];
			}
		assert_int_equal(dedup_linkage(&p, LK_N, pair, s, n, root), 0);
		linkage_plain(&p, want);
		for (a = 0; a < LK_N; a++) {
			assert_int_equal(root[a], want[a]);
			merged += root[a] != a;
		}
	}
	assert_true(merged > LK_N);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * The P-MinHash winners are the same bits with every instruction set:
 * keys of random ids and weights, ties of weight included, and band
 * counts that are no multiple of a vector's lanes.
 */
static void test_pminhash_isa(void **state)
{
	static const uint32_t nh[] = { 1, 7, 16, 82, 100, 256 };
	uint64_t key[300], x = 0x2545f4914f6cdd1dULL;
	uint32_t want[256], got[256], m, h, k;
	unsigned isa;

	(void)state;
	for (m = 0; m < 300; m += 37) {
		for (k = 0; k < m; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* 8 weights only: many ties */
			key[k] = (uint64_t)(1 + (x >> 61)) << 32 |
				 (uint32_t)(x >> 8);
		}
		for (h = 0; h < sizeof(nh) / sizeof(*nh); h++) {
			dedup_pminhash_isa(key, m, nh[h], want, 0);
			for (isa = 1; isa <= 2; isa++) {
				dedup_pminhash_isa(key, m, nh[h], got, isa);
				assert_memory_equal(want, got,
						    nh[h] * sizeof(*got));
			}
		}
	}
}

/*
 * The band records' sort in place against qsort: sizes around each cut
 * (insertion, one narrow pass, wide passes), keys of few bits or many,
 * long runs of one key (a crowded bucket: sorted by its documents),
 * and values equal in all bits.
 */
static void test_sort64(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 47, 48, 49, 300, 8192,
					8193, 70000 };
	uint64_t *v = malloc(70000 * sizeof(*v));
	uint64_t *w = malloc(70000 * sizeof(*w));
	uint64_t r = 2463534242ull;
	size_t k, i, kind;

	(void)state;
	assert_non_null(v);
	assert_non_null(w);
	for (kind = 0; kind < 4; kind++)
		for (k = 0; k < sizeof(sizes) / sizeof(*sizes); k++) {
			size_t n = sizes[k];

			for (i = 0; i < n; i++) {
				uint64_t key;

				r ^= r << 13;
				r ^= r >> 7;
				r ^= r << 17;
				key = kind == 0 ? r >> 40 :   /* 24-bit ids */
				      kind == 1 ? r >> 32 :   /* any 32 bits */
				      kind == 2 ? (r % 3 ? 77 : r >> 44) :
						  5;          /* all one key */
				v[i] = key << 32 | (uint32_t)(i * 2654435761u);
				if (kind == 3 && i % 7 == 0)
					v[i] = 5ull << 32 | 9; /* equal values */
			}
			memcpy(w, v, n * sizeof(*v));
			dedup_sort64(v, n);
			if (n)
				qsort(w, n, sizeof(*w), cmp_u64);
			for (i = 0; i < n; i++)
				assert_true(v[i] == w[i]);
		}
	free(v);
	free(w);
}

static void test_params_check(void **state)
{
	struct dedup_cluster_params p;
	struct dedup_error err;

	(void)state;
	dedup_cluster_params_default(&p, DEDUP_LEVEL_COPY);
	assert_int_equal(dedup_cluster_params_check(&p, &err), 0);
	p.threshold = 1.5;
	assert_int_equal(dedup_cluster_params_check(&p, &err), DEDUP_EINVAL);
	dedup_cluster_params_default(&p, DEDUP_LEVEL_COPY);
	p.bands = 64;
	p.rows = 4;
	assert_int_equal(dedup_cluster_params_check(&p, &err), DEDUP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lsh_optimal),
		cmocka_unit_test(test_lsh_optimal_same),
		cmocka_unit_test(test_direct_same),
		cmocka_unit_test(test_copies_one),
		cmocka_unit_test(test_near_copies_one),
		cmocka_unit_test(test_groups_topics),
		cmocka_unit_test(test_no_chaining),
		cmocka_unit_test(test_max_cluster_and_empty),
		cmocka_unit_test(test_representative_and_dates),
		cmocka_unit_test(test_dates_weigh),
		cmocka_unit_test(test_pinned_clusters),
		cmocka_unit_test(test_threads_same),
		cmocka_unit_test(test_candidates_exact),
		cmocka_unit_test(test_crowds_far_apart),
		cmocka_unit_test(test_rows_exact),
		cmocka_unit_test(test_verify_exact),
		cmocka_unit_test(test_linkage_plain),
		cmocka_unit_test(test_sort64),
		cmocka_unit_test(test_pminhash_isa),
		cmocka_unit_test(test_params_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
