/*
 * test_run.c - a run reads every file twice (pass 1 counts lines and
 * terms, pass 2 builds the signatures): files that shrink, grow or vanish
 * between the passes are handled by name, and the rest of the run goes on.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dedup/pipeline.h"
#include "dedup/sig.h"

static const char article[] =
	"The harbour board agreed on Tuesday to add two morning crossings "
	"to the island ferry timetable from the spring, after residents "
	"asked for years for an earlier boat.\n"
	"The extra sailings will cost about forty thousand a year, the "
	"board said, and the fares will not change before the summer.\n";

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* n copies of the article in a new dir, and a one-thread context. */
static struct dedup_context *article_files(char *dir, char path[][64],
					   size_t n)
{
	struct dedup_options o;
	struct dedup_context *ctx;
	struct dedup_error err;
	size_t i;

	assert_non_null(mkdtemp(dir));
	for (i = 0; i < n; i++) {
		snprintf(path[i], 64, "%s/%zu.txt", dir, i);
		write_text(path[i], article);
	}
	dedup_options_default(&o, DEDUP_LEVEL_EVENT);
	o.threads = 1;
	assert_int_equal(dedup_context_new(&ctx, &o, &err), DEDUP_OK);
	return ctx;
}

static void test_files_change_between_passes(void **state)
{
	char dir[] = "/tmp/dedup-run.XXXXXX", path[3][64];
	struct dedup_context *ctx = article_files(dir, path, 3);
	struct dedup_run *run;
	struct dedup_doc_info info;
	struct dedup_error err;
	size_t i;

	(void)state;
	assert_int_equal(dedup_run_new(&run, ctx, &err), DEDUP_OK);
	for (i = 0; i < 3; i++)
		assert_int_equal(dedup_run_add(run, path[i], &err), DEDUP_OK);
	assert_int_equal(dedup_run_count_lines(run, &err), DEDUP_OK);

	/* after the first pass: 1 shrinks to nothing, 2 goes away */
	write_text(path[1], "");
	assert_int_equal(unlink(path[2]), 0);
	assert_int_equal(dedup_run_execute(run, &err), DEDUP_OK);

	dedup_run_doc(run, 0, &info);
	assert_int_equal(info.status, DEDUP_OK);
	assert_false(info.empty);
	/* what the second pass read is the document: empty now */
	dedup_run_doc(run, 1, &info);
	assert_int_equal(info.status, DEDUP_OK);
	assert_true(info.empty);
	/* gone: an error that names the file, not a crash or a stale text */
	dedup_run_doc(run, 2, &info);
	assert_int_not_equal(info.status, DEDUP_OK);
	assert_non_null(info.message);
	if (!strstr(info.message, path[2]))
		fail_msg("message does not name the file: %s", info.message);

	dedup_run_free(run);
	dedup_context_free(ctx);
	unlink(path[0]);
	unlink(path[1]);
	rmdir(dir);
}

/*
 * A caller that walked the paths says which to read once: that one is
 * read when added and kept, the other read by each pass, without a stat
 * of either by the run.
 */
static void test_add_walked(void **state)
{
	char dir[] = "/tmp/dedup-run.XXXXXX", path[2][64];
	struct dedup_context *ctx = article_files(dir, path, 2);
	struct dedup_run *run;
	struct dedup_doc_info a, b;
	struct dedup_error err;

	(void)state;
	assert_int_equal(dedup_run_new(&run, ctx, &err), DEDUP_OK);
	assert_int_equal(dedup_run_add_walked(run, path[0], 0, &err),
			 DEDUP_OK);
	assert_int_equal(dedup_run_add_walked(run, path[1], 1, &err),
			 DEDUP_OK);
	/* gone before the passes: only the one read at once is there */
	assert_int_equal(unlink(path[1]), 0);
	assert_int_equal(dedup_run_execute(run, &err), DEDUP_OK);
	dedup_run_doc(run, 0, &a);
	dedup_run_doc(run, 1, &b);
	assert_int_equal(a.status, DEDUP_OK);
	assert_int_equal(b.status, DEDUP_OK);
	assert_false(b.empty);
	/* the same text either way: one story */
	assert_string_equal(a.rep_path, b.rep_path);

	/* a walked file read by each pass is read then: gone, an error */
	dedup_run_free(run);
	assert_int_equal(dedup_run_new(&run, ctx, &err), DEDUP_OK);
	assert_int_equal(dedup_run_add_walked(run, path[0], 0, &err),
			 DEDUP_OK);
	assert_int_equal(unlink(path[0]), 0);
	assert_int_equal(dedup_run_execute(run, &err), DEDUP_OK);
	dedup_run_doc(run, 0, &a);
	assert_int_not_equal(a.status, DEDUP_OK);
	if (!strstr(a.message, path[0]))
		fail_msg("message does not name the file: %s", a.message);
	dedup_run_free(run);
	dedup_context_free(ctx);
	rmdir(dir);
}

/* more than 20 chunks of the first pass: threads merge each other's */
enum { THREAD_DOCS = 1300 };

/*
 * Run over the files of dir with `threads` threads, counting the terms of
 * about `sample` documents (0: all); the result in as, the documents
 * counted in *df_docs.
 */
static void run_dir(const char *dir, unsigned threads, uint64_t sample,
		    uint64_t *df_docs, struct dedup_doc_info *as,
		    char paths[][64])
{
	struct dedup_options o;
	struct dedup_context *ctx;
	struct dedup_run *run;
	struct dedup_error err;
	size_t i;

	dedup_options_default(&o, DEDUP_LEVEL_EVENT);
	o.threads = threads;
	o.df_sample = sample;
	assert_int_equal(dedup_context_new(&ctx, &o, &err), DEDUP_OK);
	assert_int_equal(dedup_run_new(&run, ctx, &err), DEDUP_OK);
	for (i = 0; i < THREAD_DOCS; i++) {
		snprintf(paths[i], 64, "%s/%03zu.txt", dir, i);
		assert_int_equal(dedup_run_add(run, paths[i], &err), DEDUP_OK);
	}
	assert_int_equal(dedup_run_execute(run, &err), DEDUP_OK);
	*df_docs = dedup_df_docs(dedup_run_df(run));
	/* given back before the clustering, which does not read them */
	assert_int_equal(dedup_df_size(dedup_run_df(run)), 0);
	for (i = 0; i < THREAD_DOCS; i++) {
		dedup_run_doc(run, i, &as[i]);
		/* kept past the run: only the numbers and the rep's index */
		as[i].path = NULL;
		as[i].message = NULL;
		as[i].warning = NULL;
		as[i].rep_path = (const char *)(uintptr_t)(
			strtoul(strrchr(as[i].rep_path, '/') + 1, NULL, 10));
	}
	dedup_run_free(run);
	dedup_context_free(ctx);
}

/* THREAD_DOCS stories of 40 events in dir, in words of a small lexicon. */
static void write_stories(const char *dir, char paths[][64])
{
	char text[2048];
	size_t i, k, len;
	uint32_t x = 12345;

	for (i = 0; i < THREAD_DOCS; i++) {
		/* a story of one of 40 events, in words of a small lexicon */
		len = (size_t)snprintf(text, sizeof(text), "Report %zu\n",
				       i % 40);
		for (k = 0; k < 120; k++) {
			x = x * 1103515245u + 12345u;
			len += (size_t)snprintf(text + len, sizeof(text) - len,
				"%s%c%u", k % 15 ? " " : ".\n",
				"bcdfglmnprst"[(x >> 16) % 12],
				(unsigned)(k < 40 ? i % 40 * 7 + k % 7 :
					   (x >> 8) % 900));
		}
		snprintf(paths[i], 64, "%s/%03zu.txt", dir, i);
		write_text(paths[i], text);
	}
}

static void remove_stories(const char *dir, char paths[][64])
{
	size_t i;

	for (i = 0; i < THREAD_DOCS; i++)
		unlink(paths[i]);
	rmdir(dir);
}

/* 1 when two runs' results are the same for every document. */
static int same_result(const struct dedup_doc_info *a,
		       const struct dedup_doc_info *b)
{
	size_t i;

	for (i = 0; i < THREAD_DOCS; i++)
		if (a[i].rep_path != b[i].rep_path ||
		    a[i].score != b[i].score || a[i].empty != b[i].empty)
			return 0;
	return 1;
}

/*
 * The first pass counts terms in chunks of documents, merged in input
 * order whatever thread finished first: the same frequencies and
 * clusters at any thread count.
 */
static void test_threads_same_result(void **state)
{
	static char paths[THREAD_DOCS][64];
	static struct dedup_doc_info one[THREAD_DOCS], many[THREAD_DOCS];
	char dir[] = "/tmp/dedup-run.XXXXXX";
	uint64_t docs1, docs4;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_stories(dir, paths);
	run_dir(dir, 1, 0, &docs1, one, paths);
	run_dir(dir, 4, 0, &docs4, many, paths);
	assert_int_equal(docs1, THREAD_DOCS);
	assert_int_equal(docs4, THREAD_DOCS);
	assert_true(same_result(one, many));
	remove_stories(dir, paths);
}

/*
 * A run larger than its sample counts the terms of about that many
 * documents, the same ones at any thread count; a run within it counts
 * every document, as without a sample.
 */
static void test_sample(void **state)
{
	static char paths[THREAD_DOCS][64];
	static struct dedup_doc_info all[THREAD_DOCS], within[THREAD_DOCS];
	static struct dedup_doc_info one[THREAD_DOCS], many[THREAD_DOCS];
	char dir[] = "/tmp/dedup-run.XXXXXX";
	uint64_t docs_all, docs_within, docs1, docs4;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_stories(dir, paths);
	run_dir(dir, 2, 0, &docs_all, all, paths);
	run_dir(dir, 2, THREAD_DOCS, &docs_within, within, paths);
	assert_int_equal(docs_all, THREAD_DOCS);
	assert_int_equal(docs_within, THREAD_DOCS);
	assert_true(same_result(all, within));

	run_dir(dir, 1, THREAD_DOCS / 3, &docs1, one, paths);
	run_dir(dir, 4, THREAD_DOCS / 3, &docs4, many, paths);
	/* a binomial share, 6 standard deviations either way */
	assert_true(fabs((double)docs1 - THREAD_DOCS / 3.0) <=
		    6 * sqrt(THREAD_DOCS * 2 / 9.0));
	assert_int_equal(docs1, docs4);
	assert_true(same_result(one, many));
	/* other weights: some score moves */
	assert_false(same_result(all, one));
	remove_stories(dir, paths);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_change_between_passes),
		cmocka_unit_test(test_add_walked),
		cmocka_unit_test(test_threads_same_result),
		cmocka_unit_test(test_sample),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
