/*
 * test_linestats.c - corpus line counts: the fast paths of
 * dedup_linestats_observe() cut and fingerprint lines as the stripper
 * does (strip_segments() and strip_fingerprint()), whose counts it feeds.
 * test_strip_segment.c holds those to the plain code they replaced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dedup/strip.h"
#include "strip_linestats.h"
#include "strip_pieces.h"
#include "strip_segment.h"

struct seg_list {
	uint64_t fp[256];
	size_t n;
};

static int expect_segment(void *p, size_t off, size_t len, unsigned flags)
{
	struct seg_list *l = ((void **)p)[0];
	const char *line = ((void **)p)[1];
	unsigned words;
	uint64_t fp = strip_fingerprint(line + off, len, &words);
	size_t i;

	(void)flags;
	if (!fp)
		return 0;
	for (i = 0; i < l->n; i++)
		if (l->fp[i] == fp)
			return 0; /* once per document */
	if (l->n < 256)
		l->fp[l->n++] = fp;
	return 0;
}

static void test_lines_as_stripper(void **state)
{
	enum { LINES = 6000 };
	struct dedup_linestats *ls;
	struct dedup_error err;
	uint64_t *all = malloc(LINES * 64 * sizeof(*all));
	size_t nall = 0, observations = 0, i, k;
	uint32_t x = 7;
	char line[1024];

	(void)state;
	assert_non_null(all);
	assert_int_equal(dedup_linestats_new(&ls, &err), DEDUP_OK);
	for (i = 0; i < LINES; i++) {
		struct seg_list l = { .n = 0 };
		void *ctx[2] = { &l, line };
		size_t len = 0, np = 1 + i % 23;

		/* a word too long to fold, and a line of 500 words */
		if (i == 0 || i == 1) {
			memset(line, i ? 'X' : 'w', 1000);
			for (k = i; k < 1000; k += i ? 2 : 1000)
				line[k] = ' ';
			len = 1000;
			np = 0;
		}
		if (np)
			len = make_line(line, sizeof(line), np, &x);
		strip_segments(line, len, expect_segment, ctx);
		assert_int_equal(dedup_linestats_observe(ls, line, len),
				 DEDUP_OK);
		observations += l.n;
		for (k = 0; k < l.n; k++)
			all[nall++] = l.fp[k];
	}
	/* every segment the stripper would see, counted as often */
	for (i = 0; i < nall; i++) {
		size_t want = 0;

		for (k = 0; k < nall; k++)
			want += all[k] == all[i];
		assert_true(strip_linestats_count(ls, all[i]) >= want);
	}
	/* and nothing else */
	assert_true(strip_linestats_noise(ls) * (1u << 18) ==
		    (double)observations);
	assert_int_equal(dedup_linestats_docs(ls), LINES);
	dedup_linestats_free(ls);
	free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_as_stripper),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
