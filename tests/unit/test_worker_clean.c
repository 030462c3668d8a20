/*
 * test_worker_clean.c - the cleaning-only worker of pipeline.c
 * (dedup_worker_new_clean) gives the full worker's text, with and without
 * stripping, and refuses what it was not made for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dedup/pipeline.h"

/* Mojibake, a menu line the built-in rules remove, and an article. */
static const char page[] =
	"Skip to main content\n"
	"The council\xc3\xa2\xe2\x82\xac\xe2\x84\xa2s budget for the harbour "
	"ferry was agreed on Tuesday after a long debate about the morning "
	"crossings, which residents of the island have asked for since the "
	"single early boat was cut three years ago.\n"
	"The extra sailings will cost about forty thousand a year, the "
	"harbour board said, and start in the spring.\n"
	"Share this article\n";

static struct dedup_context *context(int strip)
{
	struct dedup_options o;
	struct dedup_context *ctx;
	struct dedup_error err;

	dedup_options_default(&o, DEDUP_LEVEL_EVENT);
	o.strip = strip;
	assert_int_equal(dedup_context_new(&ctx, &o, &err), DEDUP_OK);
	return ctx;
}

/* The text both workers make of `page` agree, for this context. */
static void same_text(int strip)
{
	struct dedup_context *ctx = context(strip);
	struct dedup_worker *full, *clean;
	struct dedup_buf a = DEDUP_BUF_INIT, b = DEDUP_BUF_INIT;
	struct dedup_error err;

	assert_int_equal(dedup_worker_new(&full, ctx, &err), DEDUP_OK);
	assert_int_equal(dedup_worker_new_clean(&clean, ctx, &err), DEDUP_OK);
	assert_int_equal(dedup_worker_clean(full, page, sizeof(page) - 1, strip,
					    NULL, &a, NULL, &err), DEDUP_OK);
	assert_int_equal(dedup_worker_clean(clean, page, sizeof(page) - 1,
					    strip, NULL, &b, NULL, &err),
			 DEDUP_OK);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.buf, b.buf, a.len);
	/* repaired: the apostrophe is back */
	assert_non_null(strstr(b.buf, "council\xe2\x80\x99s"));
	/* the menu line goes with stripping only */
	if (strip)
		assert_null(strstr(b.buf, "Skip to main content"));
	else
		assert_non_null(strstr(b.buf, "Skip to main content"));
	dedup_buf_release(&a);
	dedup_buf_release(&b);
	dedup_worker_free(full);
	dedup_worker_free(clean);
	dedup_context_free(ctx);
}

static void test_same_text_strip(void **state)
{
	same_text(1);
}

static void test_same_text_no_strip(void **state)
{
	same_text(0);
}

static void test_refusals(void **state)
{
	struct dedup_context *ctx = context(0);
	struct dedup_worker *w;
	struct dedup_buf out = DEDUP_BUF_INIT;
	struct dedup_sig sig;
	struct dedup_error err;

	memset(&sig, 0, sizeof(sig));
	assert_int_equal(dedup_worker_new_clean(&w, ctx, &err), DEDUP_OK);
	/* no signature from a cleaning worker */
	assert_int_equal(dedup_worker_sig(w, page, sizeof(page) - 1, NULL, NULL,
					  NULL, &sig, &err), DEDUP_EINVAL);
	/* no stripping from a context made without it */
	assert_int_equal(dedup_worker_clean(w, page, sizeof(page) - 1, 1, NULL,
					    &out, NULL, &err), DEDUP_EINVAL);
	dedup_buf_release(&out);
	dedup_worker_free(w);
	dedup_context_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_text_strip),
		cmocka_unit_test(test_same_text_no_strip),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
