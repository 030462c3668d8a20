/*
 * test_run.c - a run reads every file twice (pass 1 counts lines and
 * terms, pass 2 builds the signatures): files that shrink, grow or vanish
 * between the passes are handled by name, and the rest of the run goes on.
 */
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

static void test_files_change_between_passes(void **state)
{
	char dir[] = "/tmp/dedup-run.XXXXXX", path[3][64];
	struct dedup_options o;
	struct dedup_context *ctx;
	struct dedup_run *run;
	struct dedup_doc_info info;
	struct dedup_error err;
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < 3; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/%zu.txt", dir, i);
		write_text(path[i], article);
	}
	dedup_options_default(&o, DEDUP_LEVEL_EVENT);
	o.threads = 1;
	assert_int_equal(dedup_context_new(&ctx, &o, &err), DEDUP_OK);
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

enum { THREAD_DOCS = 300 };

/* Run over the files of dir with `threads` threads; the result in as. */
static void run_dir(const char *dir, unsigned threads, size_t *df_terms,
		    struct dedup_doc_info *as, char paths[][64])
{
	struct dedup_options o;
	struct dedup_context *ctx;
	struct dedup_run *run;
	struct dedup_error err;
	size_t i;

	dedup_options_default(&o, DEDUP_LEVEL_EVENT);
	o.threads = threads;
	assert_int_equal(dedup_context_new(&ctx, &o, &err), DEDUP_OK);
	assert_int_equal(dedup_run_new(&run, ctx, &err), DEDUP_OK);
	for (i = 0; i < THREAD_DOCS; i++) {
		snprintf(paths[i], 64, "%s/%03zu.txt", dir, i);
		assert_int_equal(dedup_run_add(run, paths[i], &err), DEDUP_OK);
	}
	assert_int_equal(dedup_run_count_lines(run, &err), DEDUP_OK);
	*df_terms = dedup_df_size(dedup_run_df(run));
	assert_int_equal(dedup_run_execute(run, &err), DEDUP_OK);
	/* without an index, the table is freed before the clustering */
	assert_null(dedup_run_df(run));
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

/*
 * The first pass counts terms in chunks of documents, merged in input
 * order whatever thread finished first: the same frequencies and
 * clusters at any thread count.
 */
static void test_threads_same_result(void **state)
{
	static char paths[THREAD_DOCS][64];
	static struct dedup_doc_info one[THREAD_DOCS], many[THREAD_DOCS];
	char dir[] = "/tmp/dedup-run.XXXXXX", text[2048];
	size_t i, k, len, terms1, terms4;
	uint32_t x = 12345;

	(void)state;
	assert_non_null(mkdtemp(dir));
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
	run_dir(dir, 1, &terms1, one, paths);
	run_dir(dir, 4, &terms4, many, paths);
	assert_true(terms1 > 0);
	assert_int_equal(terms1, terms4);
	for (i = 0; i < THREAD_DOCS; i++) {
		assert_ptr_equal(one[i].rep_path, many[i].rep_path);
		assert_true(one[i].score == many[i].score);
		assert_int_equal(one[i].empty, many[i].empty);
		unlink(paths[i]);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_change_between_passes),
		cmocka_unit_test(test_threads_same_result),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
