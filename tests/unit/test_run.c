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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_change_between_passes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
