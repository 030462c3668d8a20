/*
 * test_df.c - document frequency table: sums, merges in any split and
 * order, clearing and pruning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dedup/sig.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_any_split),
		cmocka_unit_test(test_prune),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
