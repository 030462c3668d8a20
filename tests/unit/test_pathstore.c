/*
 * test_pathstore.c - the run's front-coded paths: every path comes back
 * byte for byte, whatever it shares with the one before it and wherever
 * it falls in its block.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pathstore.h"

#define NPATHS 5000

/* A small deterministic generator, for paths that do not depend on libc. */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * Path k of a list that has what runs see: walk order (long shared
 * prefixes), roots that share nothing, a path equal to the one before it,
 * one that is a prefix of the one before (an empty rest), one the one
 * before is a prefix of, bytes of every value but NUL, and paths of
 * several KB.
 */
static char *make_path(size_t k, const char *prev, uint32_t *s)
{
	size_t len, i;
	char *p;

	switch (next_rand(s) % 10) {
	case 0: /* a copy of the previous path */
		return strdup(prev);
	case 1: /* the previous one cut short: nothing left but the prefix */
		len = strlen(prev);
		p = strdup(prev);
		if (p)
			p[len ? next_rand(s) % len : 0] = '\0';
		return p;
	case 2: /* unrelated, odd bytes (tab, newline, invalid UTF-8) */
		len = 1 + next_rand(s) % 60;
		p = malloc(len + 1);
		if (!p)
			return NULL;
		for (i = 0; i < len; i++)
			p[i] = (char)(1 + next_rand(s) % 255);
		p[len] = '\0';
		return p;
	case 3: /* very long: a deep tree, longer than PATH_MAX */
		len = 4096 + next_rand(s) % 5000;
		p = malloc(len + 1);
		if (!p)
			return NULL;
		for (i = 0; i < len; i++)
			p[i] = i % 41 == 40 ? '/' : (char)('a' + i % 26);
		snprintf(p + len - 12, 13, "/f%09zu", k);
		return p;
	case 4: /* the previous path and more */
		len = strlen(prev);
		p = malloc(len + 16);
		if (p)
			snprintf(p, len + 16, "%s/x%zu", prev, k);
		return p;
	default: /* walk order under one root, as the generator's corpora */
		p = malloc(64);
		if (p)
			snprintf(p, 64, "/dev/shm/g1m/b%05zu/d%08zu.txt",
				 k / 1000, k);
		return p;
	}
}

static void check_all(const struct pathstore *ps, char *const *want,
		      size_t n)
{
	size_t i, max = 0;
	char *buf;

	for (i = 0; i < n; i++)
		if (strlen(want[i]) > max)
			max = strlen(want[i]);
	assert_int_equal(pathstore_count(ps), n);
	assert_int_equal(pathstore_max(ps), max);
	/* exactly max + 1 bytes: ASan catches a decoder that writes more */
	buf = malloc(max + 1);
	assert_non_null(buf);
	/* in order, backwards and at random: no decoder state between calls */
	for (i = 0; i < n; i++)
		assert_string_equal(pathstore_get(ps, i, buf), want[i]);
	for (i = n; i-- > 0;)
		assert_string_equal(pathstore_get(ps, i, buf), want[i]);
	for (i = 0; i < n; i++) {
		size_t j = (i * 7919) % n;

		assert_string_equal(pathstore_get(ps, j, buf), want[j]);
	}
	free(buf);
}

static void test_round_trip(void **state)
{
	struct pathstore ps = PATHSTORE_INIT;
	char **want = calloc(NPATHS, sizeof(*want));
	static char buf[16384];
	uint32_t s = 12345;
	size_t i;

	(void)state;
	assert_non_null(want);
	for (i = 0; i < NPATHS; i++) {
		want[i] = make_path(i, i ? want[i - 1] : "", &s);
		assert_non_null(want[i]);
		assert_int_equal(pathstore_add(&ps, want[i]), 0);
		/* what is stored reads back as soon as it is added */
		assert_string_equal(pathstore_get(&ps, i, buf), want[i]);
		if (i == 40 || i == 1000)
			check_all(&ps, want, i + 1);
	}
	check_all(&ps, want, NPATHS);
	pathstore_release(&ps);
	for (i = 0; i < NPATHS; i++)
		free(want[i]);
	free(want);
}

static void test_walk_order_is_small(void **state)
{
	struct pathstore ps = PATHSTORE_INIT;
	char path[64], buf[64];
	size_t i, whole = 0;

	(void)state;
	for (i = 0; i < 100000; i++) {
		snprintf(path, sizeof(path), "/dev/shm/g1m/b%05zu/d%08zu.txt",
			 i / 1000, i);
		whole += strlen(path) + 1;
		assert_int_equal(pathstore_add(&ps, path), 0);
	}
	/* front-coded: under a third of the bytes (about a quarter) */
	assert_true(ps.used * 3 < whole);
	assert_string_equal(pathstore_get(&ps, 54321, buf),
			    "/dev/shm/g1m/b00054/d00054321.txt");
	pathstore_release(&ps);
}

static void test_single_and_empty(void **state)
{
	struct pathstore ps = PATHSTORE_INIT;
	char buf[8];

	(void)state;
	assert_int_equal(pathstore_add(&ps, "-"), 0);
	assert_int_equal(pathstore_add(&ps, ""), 0);
	assert_int_equal(pathstore_add(&ps, "-"), 0);
	assert_string_equal(pathstore_get(&ps, 0, buf), "-");
	assert_string_equal(pathstore_get(&ps, 1, buf), "");
	assert_string_equal(pathstore_get(&ps, 2, buf), "-");
	pathstore_release(&ps);
	/* released: empty and usable again */
	assert_int_equal(pathstore_count(&ps), 0);
	assert_int_equal(pathstore_add(&ps, "a"), 0);
	assert_string_equal(pathstore_get(&ps, 0, buf), "a");
	pathstore_release(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_walk_order_is_small),
		cmocka_unit_test(test_single_and_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
