/*
 * test_df.c - document frequency table: sums, merges in any split and
 * order, clearing, pruning and the frozen form pruning makes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "dedup/sig.h"
#include "df_int.h"

/* A term of a corpus of `terms`: term t is counted (t % 5) + 1 times. */
static uint32_t term_of(uint32_t t)
{
	return t * 2654435761u; /* spread, and term 0 stays 0 */
}

static void add_range(struct dedup_df *df, uint32_t lo, uint32_t hi,
		      uint32_t step)
{
	uint32_t t, k;

	for (t = lo; t < hi; t += step)
		for (k = 0; k <= t % 5; k++)
			assert_int_equal(dedup_df_add(df, term_of(t), 1), DEDUP_OK);
}

static void check(const struct dedup_df *df, uint32_t terms, uint32_t min)
{
	uint32_t t;

	for (t = 0; t < terms; t++) {
		uint32_t want = t % 5 + 1;

		assert_int_equal(dedup_df_get(df, term_of(t)),
				 want >= min ? want : 0);
	}
	assert_int_equal(dedup_df_get(df, 0xdeadbeefu * 3), 0);
}

static int sum_counts(uint32_t term, uint32_t count, void *arg)
{
	(void)term;
	*(uint64_t *)arg += count;
	return 0;
}

static void test_merge_any_split(void **state)
{
	enum { TERMS = 200000 };
	struct dedup_df *one, *all, *part;
	uint64_t sum = 0;
	uint32_t k;

	(void)state;
	assert_int_equal(dedup_df_new(&one), DEDUP_OK);
	assert_int_equal(dedup_df_new(&all), DEDUP_OK);
	assert_int_equal(dedup_df_new(&part), DEDUP_OK);
	add_range(one, 0, TERMS, 1);
	check(one, TERMS, 0);
	/* three "threads", each flushing its share now and then */
	for (k = 0; k < 3; k++) {
		uint32_t lo;

		for (lo = 0; lo < TERMS; lo += 30000) {
			uint32_t t, hi = lo + 30000 < TERMS ? lo + 30000 : TERMS;

			for (t = lo + k; t < hi; t += 3)
				add_range(part, t, t + 1, 1);
			dedup_df_add_doc(part, 1);
			assert_int_equal(dedup_df_merge(all, part), DEDUP_OK);
			dedup_df_clear(part);
			assert_int_equal(dedup_df_size(part), 0);
			assert_int_equal(dedup_df_docs(part), 0);
		}
	}
	assert_int_equal(dedup_df_size(all), TERMS);
	assert_int_equal(dedup_df_size(one), TERMS);
	assert_int_equal(dedup_df_docs(all), 3 * ((TERMS + 29999) / 30000));
	check(all, TERMS, 0);
	assert_int_equal(dedup_df_foreach(all, sum_counts, &sum), 0);
	assert_int_equal(sum, 3 * (uint64_t)TERMS);
	dedup_df_free(one);
	dedup_df_free(all);
	dedup_df_free(part);
}

static void test_prune(void **state)
{
	enum { TERMS = 100000 };
	struct dedup_df *df;
	size_t before;

	(void)state;
	assert_int_equal(dedup_df_new(&df), DEDUP_OK);
	add_range(df, 0, TERMS, 1);
	dedup_df_add_doc(df, 7);
	before = dedup_df_bytes(df);
	dedup_df_prune(df, 2);
	/* a fifth of the terms were seen once */
	assert_int_equal(dedup_df_size(df), TERMS - TERMS / 5);
	assert_true(dedup_df_bytes(df) <= before);
	assert_int_equal(dedup_df_docs(df), 7);
	check(df, TERMS, 2);
	dedup_df_prune(df, 4);
	check(df, TERMS, 4);
	/* still a table that grows */
	assert_int_equal(dedup_df_add(df, term_of(1), 5), DEDUP_OK);
	assert_int_equal(dedup_df_get(df, term_of(1)), 5);
	add_range(df, TERMS, 2 * TERMS, 1);
	assert_int_equal(dedup_df_get(df, term_of(TERMS + 4)), 5);
	dedup_df_free(df);
}

/* A bounded table of a small run is exact for shared terms. */
static void test_bounded_small(void **state)
{
	enum { TERMS = 100000 };
	struct dedup_df *df, *batch;
	uint32_t lo;

	(void)state;
	assert_int_equal(dedup_df_new(&df), DEDUP_OK);
	assert_int_equal(dedup_df_new(&batch), DEDUP_OK);
	assert_int_equal(dedup_df_bound(df, 100), DEDUP_OK);
	for (lo = 0; lo < TERMS; lo += 7000) {
		add_range(batch, lo, lo + 7000 < TERMS ? lo + 7000 : TERMS, 1);
		dedup_df_add_doc(batch, 1);
		assert_int_equal(dedup_df_merge(df, batch), DEDUP_OK);
		dedup_df_clear(batch);
	}
	/* the terms seen once are not held */
	check(df, TERMS, 2);
	assert_int_equal(dedup_df_size(df), TERMS - TERMS / 5);
	assert_int_equal(dedup_df_docs(df), (TERMS + 6999) / 7000);
	/* one at a time: the second sighting counts 2 */
	assert_int_equal(dedup_df_add(df, 0xabcdef01u, 1), DEDUP_OK);
	assert_int_equal(dedup_df_get(df, 0xabcdef01u), 0);
	assert_int_equal(dedup_df_add(df, 0xabcdef01u, 1), DEDUP_OK);
	assert_int_equal(dedup_df_get(df, 0xabcdef01u), 2);
	/* unbound: counts every term again, the shared ones kept */
	assert_int_equal(dedup_df_bound(df, 0), DEDUP_OK);
	assert_int_equal(dedup_df_add(df, 0x12345677u, 1), DEDUP_OK);
	assert_int_equal(dedup_df_get(df, 0x12345677u), 1);
	check(df, TERMS, 2);
	dedup_df_free(batch);
	dedup_df_free(df);
}

/* Term t of the overloaded corpus: in 1 + (t % 3 == 0) documents. */
static uint32_t twice(uint32_t t)
{
	return t % 3 == 0;
}

/* Random-looking terms (term_of()'s are too regular to collide). */
static uint32_t term_rand(uint32_t t)
{
	t = (t + 1) * 0x9e3779b1u;
	t ^= t >> 16;
	t *= 0x85ebca6bu;
	t ^= t >> 13;
	t *= 0xc2b2ae35u;
	return t ^ t >> 16;
}

/*
 * Batch lo..hi of the overloaded corpus into batch, forwards or backwards
 * (the batch's slot order then differs).
 */
static void add_batch(struct dedup_df *batch, uint32_t lo, uint32_t hi,
		      int backwards)
{
	uint32_t k;

	for (k = lo; k < hi; k++) {
		uint32_t t = backwards ? hi - 1 - (k - lo) : k;

		assert_int_equal(dedup_df_add(batch, term_rand(t),
					      1 + twice(t)), DEDUP_OK);
	}
}

/*
 * A filter far too small for its terms: counts are never too low and at
 * most one too high, and depend on the batches, not on how each batch's
 * table was filled.
 */
static void test_bounded_overloaded(void **state)
{
	enum { TERMS = 1500000, BATCH = 50000 };
	struct dedup_df *a, *b, *fresh, *reused;
	uint32_t lo, t, high = 0;

	(void)state;
	assert_int_equal(dedup_df_new(&a), DEDUP_OK);
	assert_int_equal(dedup_df_new(&b), DEDUP_OK);
	assert_int_equal(dedup_df_new(&reused), DEDUP_OK);
	/* the least filter, 2 MiB: 16 bits per first sighting */
	assert_int_equal(dedup_df_bound(a, 1), DEDUP_OK);
	assert_int_equal(dedup_df_bound(b, 1), DEDUP_OK);
	/* a table that grew large before: another capacity, other slots */
	add_range(reused, 0, 3 * BATCH, 1);
	dedup_df_clear(reused);
	for (lo = 0; lo < TERMS; lo += BATCH) {
		assert_int_equal(dedup_df_new(&fresh), DEDUP_OK);
		add_batch(fresh, lo, lo + BATCH, 0);
		add_batch(reused, lo, lo + BATCH, 1);
		assert_int_equal(dedup_df_merge(a, fresh), DEDUP_OK);
		assert_int_equal(dedup_df_merge(b, reused), DEDUP_OK);
		dedup_df_free(fresh);
		dedup_df_clear(reused);
	}
	for (t = 0; t < TERMS; t++) {
		uint32_t c = dedup_df_get(a, term_rand(t));

		assert_int_equal(c, dedup_df_get(b, term_rand(t)));
		if (twice(t))
			assert_true(c == 2 || c == 3);
		else
			assert_true(c == 0 || c == 2);
		high += c > 1 + twice(t);
	}
	print_message("%u of %u terms counted one too many\n", high, TERMS);
	/* the filter is overloaded, but still filters */
	assert_true(high > 0);
	assert_true(high < TERMS / 10);
	dedup_df_free(a);
	dedup_df_free(b);
	dedup_df_free(reused);
}

/*
 * A first pass's batch (struct dedup_dfbatch) counts as a table of the
 * same documents' terms: merged into a bounded table and into an
 * unbounded one, the counts, sizes and documents are the same. The
 * bounded tables get three times the least filter, so that blocks
 * straddle the ranks the merge orders them by; term 0 is counted as 1.
 */
static void test_batch_as_table(void **state)
{
	enum { BATCHES = 30, DOCS = 64, PER_DOC = 400, POOL = 150000 };
	struct dedup_df *a, *b, *ua, *ub, *table;
	struct dedup_dfbatch *batch;
	uint32_t terms[PER_DOC], k, d, i, t;

	(void)state;
	assert_int_equal(dedup_df_new(&a), DEDUP_OK);
	assert_int_equal(dedup_df_new(&b), DEDUP_OK);
	assert_int_equal(dedup_df_new(&ua), DEDUP_OK);
	assert_int_equal(dedup_df_new(&ub), DEDUP_OK);
	assert_int_equal(dedup_df_new(&table), DEDUP_OK);
	assert_int_equal(dedup_dfbatch_new(&batch), DEDUP_OK);
	/* 3 * 65,536 blocks of the filter */
	assert_int_equal(dedup_df_bound(a, 3 * 8192), DEDUP_OK);
	assert_int_equal(dedup_df_bound(b, 3 * 8192), DEDUP_OK);
	for (k = 0; k < BATCHES; k++) {
		for (d = 0; d < DOCS; d++) {
			/* overlapping runs of the pool: shared terms */
			uint32_t base = term_rand(k * DOCS + d) % POOL;

			for (i = 0; i < PER_DOC; i++)
				terms[i] = term_rand((base + i) % POOL);
			if (k == 1 && d == 5)
				terms[0] = 0;
			for (i = 0; i < PER_DOC; i++)
				assert_int_equal(dedup_df_add(table, terms[i], 1),
						 DEDUP_OK);
			dedup_df_add_doc(table, 1);
			assert_int_equal(dedup_dfbatch_add_doc(batch, terms,
							       PER_DOC),
					 DEDUP_OK);
			/* sealed early: takes more all the same */
			if (k == 2 && d == 10)
				assert_int_equal(dedup_dfbatch_seal(batch),
						 DEDUP_OK);
		}
		assert_int_equal(dedup_df_merge(a, table), DEDUP_OK);
		assert_int_equal(dedup_df_merge(ua, table), DEDUP_OK);
		assert_int_equal(dedup_df_merge_batch(b, batch), DEDUP_OK);
		assert_int_equal(dedup_df_merge_batch(ub, batch), DEDUP_OK);
		assert_int_equal(dedup_dfbatch_size(batch), dedup_df_size(table));
		assert_int_equal(dedup_dfbatch_docs(batch), DOCS);
		dedup_df_clear(table);
		dedup_dfbatch_clear(batch);
	}
	for (t = 0; t < POOL; t++) {
		assert_int_equal(dedup_df_get(a, term_rand(t)),
				 dedup_df_get(b, term_rand(t)));
		assert_int_equal(dedup_df_get(ua, term_rand(t)),
				 dedup_df_get(ub, term_rand(t)));
	}
	assert_int_equal(dedup_df_get(ub, 1), dedup_df_get(ua, 1));
	assert_true(dedup_df_get(ub, 1) >= 1);
	assert_int_equal(dedup_df_size(a), dedup_df_size(b));
	assert_int_equal(dedup_df_size(ua), dedup_df_size(ub));
	assert_int_equal(dedup_df_docs(b), BATCHES * DOCS);
	assert_int_equal(dedup_df_docs(ub), BATCHES * DOCS);
	dedup_dfbatch_free(batch);
	dedup_df_free(table);
	dedup_df_free(a);
	dedup_df_free(b);
	dedup_df_free(ua);
	dedup_df_free(ub);
}

/*
 * A sample of a run: every document when the run is within it, else a
 * share of the path hashes near sample / n; terms the table does not hold
 * are answered with the floor.
 */
static void test_sample_share(void **state)
{
	static const char *const paths[] = { "a/1.txt", "a/2.txt", "b/1.txt" };
	uint64_t share = dedup_df_share(1000, 10000);
	struct dedup_df *df;
	char path[32];
	unsigned i, in = 0;

	(void)state;
	assert_int_equal(dedup_df_share(0, 10000), 0);
	assert_int_equal(dedup_df_share(10000, 10000), 0);
	assert_true(share > UINT64_MAX / 11 && share < UINT64_MAX / 9);
	assert_true(dedup_df_share(1, UINT64_MAX) > 0);
	for (i = 0; i < 3; i++)
		assert_true(dedup_df_sampled(0, paths[i]));
	for (i = 0; i < 10000; i++) {
		snprintf(path, sizeof(path), "corpus/%05u.txt", i);
		in += dedup_df_sampled(share, path);
	}
	/* binomial: 1000 expected, 95 is about 3 standard deviations */
	assert_true(in > 905 && in < 1095);

	assert_int_equal(dedup_df_new(&df), DEDUP_OK);
	assert_int_equal(dedup_df_add(df, 7, 3), DEDUP_OK);
	assert_int_equal(dedup_df_get(df, 8), 0);
	dedup_df_set_floor(df, 2);
	assert_int_equal(dedup_df_get(df, 8), 2);
	assert_int_equal(dedup_df_get(df, 7), 3);
	dedup_df_free(df);
}

/* Count of term_rand(t) in the frozen table's corpus: 1 to 12, or more. */
static uint32_t frozen_count(uint32_t t)
{
	return t % 97 == 0 ? 20 + t % 5000 : 1 + t % 12;
}

static void check_frozen(const struct dedup_df *df, uint32_t terms,
			 uint32_t min)
{
	uint32_t t;

	for (t = 0; t < terms; t++) {
		uint32_t want = frozen_count(t);

		assert_int_equal(dedup_df_get(df, term_rand(t)),
				 want >= min ? want : 0);
	}
}

struct walk {
	const struct dedup_df *df;
	size_t n;
	uint64_t sum;
};

static int walk_one(uint32_t term, uint32_t count, void *arg)
{
	struct walk *w = arg;

	assert_int_not_equal(term, 0);
	assert_int_equal(dedup_df_get(w->df, term), count);
	w->n++;
	w->sum += count;
	return 0;
}

/*
 * Pruned, a table is frozen: exact counts (those too large for the
 * entries' bits too) in a quarter of the memory, the same answers one by
 * one or many at once, walked and merged as before.
 */
static void test_frozen(void **state)
{
	enum { TERMS = 300000, MANY = 5000 };
	struct dedup_df *df, *copy;
	struct walk w = { 0 };
	static uint32_t terms[MANY], counts[MANY];
	uint64_t sum = 0;
	size_t before, kept = 0;
	uint32_t t;

	(void)state;
	assert_int_equal(dedup_df_new(&df), DEDUP_OK);
	for (t = 0; t < TERMS; t++) {
		assert_int_equal(dedup_df_add(df, term_rand(t),
					      frozen_count(t)), DEDUP_OK);
		if (frozen_count(t) >= 2) {
			kept++;
			sum += frozen_count(t);
		}
	}
	/* 0 is kept as 1 */
	assert_int_equal(dedup_df_add(df, 0, 3), DEDUP_OK);
	assert_int_equal(dedup_df_get(df, 1), 3);
	kept++;
	sum += 3;
	dedup_df_add_doc(df, 9);
	before = dedup_df_bytes(df);
	dedup_df_prune(df, 2);
	assert_int_equal(dedup_df_size(df), kept);
	print_message("%zu terms: %zu bytes, %zu frozen\n", kept, before,
		      dedup_df_bytes(df));
	assert_true(dedup_df_bytes(df) < before / 2); /* 1 MiB of it fixed */
	assert_int_equal(dedup_df_docs(df), 9);
	check_frozen(df, TERMS, 2);
	assert_int_equal(dedup_df_get(df, 0), 3);
	assert_int_equal(dedup_df_get(df, 1), 3);

	/* many at once, in place, absent terms among them */
	for (t = 0; t < MANY; t++)
		terms[t] = t % 3 ? term_rand(t) : term_rand(t + TERMS);
	terms[7] = 0;
	for (t = 0; t < MANY; t++)
		counts[t] = dedup_df_get(df, terms[t]);
	dedup_df_get_many(df, terms, MANY, terms);
	assert_memory_equal(terms, counts, sizeof(counts));
	dedup_df_set_floor(df, 2);
	for (t = 0; t < MANY; t++)
		terms[t] = term_rand(t + TERMS);
	dedup_df_get_many(df, terms, 3, terms);
	assert_int_equal(terms[0], 2);
	dedup_df_set_floor(df, 0);

	w.df = df;
	assert_int_equal(dedup_df_foreach(df, walk_one, &w), 0);
	assert_int_equal(w.n, kept);
	assert_int_equal(w.sum, sum);

	/* a frozen table merges into another */
	assert_int_equal(dedup_df_new(&copy), DEDUP_OK);
	assert_int_equal(dedup_df_merge(copy, df), DEDUP_OK);
	assert_int_equal(dedup_df_size(copy), kept);
	assert_int_equal(dedup_df_docs(copy), 9);
	check_frozen(copy, TERMS, 2);

	/* frozen again, fewer terms */
	dedup_df_prune(df, 20);
	check_frozen(df, TERMS, 20);
	assert_int_equal(dedup_df_get(df, 0), 0);
	dedup_df_prune(df, UINT32_MAX);
	assert_int_equal(dedup_df_size(df), 0);
	assert_int_equal(dedup_df_get(df, term_rand(97)), 0);
	/* and cleared, a table to fill again */
	dedup_df_clear(copy);
	assert_int_equal(dedup_df_size(copy), 0);
	assert_int_equal(dedup_df_get(copy, term_rand(97)), 0);
	assert_int_equal(dedup_df_add(copy, term_rand(97), 4), DEDUP_OK);
	assert_int_equal(dedup_df_get(copy, term_rand(97)), 4);
	dedup_df_free(copy);
	dedup_df_free(df);
}

/* The inverse of df_frozen.h's mix: keys that land where we say. */
static uint32_t unmix(uint32_t h)
{
	return h * 0x0e8b2f51u;
}

/*
 * Keys made to crowd one bucket cannot be frozen (a line says 255 terms):
 * the table keeps its shards and its answers.
 */
static void test_frozen_crowded(void **state)
{
	struct dedup_df *df;
	uint32_t i;

	(void)state;
	assert_int_equal(dedup_df_new(&df), DEDUP_OK);
	for (i = 0; i < 300; i++)
		assert_int_equal(dedup_df_add(df, unmix(0xabcde000u + i),
					      2 + i), DEDUP_OK);
	assert_int_equal(dedup_df_add(df, 12345, 1), DEDUP_OK);
	dedup_df_prune(df, 2);
	assert_int_equal(dedup_df_size(df), 300);
	for (i = 0; i < 300; i++)
		assert_int_equal(dedup_df_get(df, unmix(0xabcde000u + i)),
				 2 + i);
	assert_int_equal(dedup_df_get(df, 12345), 0);
	dedup_df_free(df);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_any_split),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_bounded_small),
		cmocka_unit_test(test_bounded_overloaded),
		cmocka_unit_test(test_batch_as_table),
		cmocka_unit_test(test_sample_share),
		cmocka_unit_test(test_frozen),
		cmocka_unit_test(test_frozen_crowded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
