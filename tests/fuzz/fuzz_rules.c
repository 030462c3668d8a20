/*
 * fuzz_rules.c - the rule-file parser (dedup_rules_add_text) on arbitrary
 * bytes, then the accepted rules at work on a short page.
 *
 * Properties: a refused file is DEDUP_ERULE (or DEDUP_ENOMEM) with a
 * message naming the origin, and leaves the set as it was; an accepted
 * file's rules run without crashing, on the sample page and on the rule
 * text itself (when it is UTF-8), and never make strip fail except by a
 * match limit.
 */
#include <string.h>

#include "dedup/strip.h"
#include "fuzz_util.h"

static const char page[] =
	"Home | World | Sport | Weather\n"
	"Share this article\n"
	"\n"
	"The harbour board met on Tuesday to discuss the new ferry timetable,\n"
	"which adds two crossings each morning from the spring onwards.\n"
	"Residents said the change was overdue. pic.example.com/abc123\n"
	"\n"
	"Related articles\n"
	"Ferry fares to rise\n"
	"(c) 2024 Example Media. All rights reserved.\n";

static int strip_once(const struct dedup_rules *rs, const char *text,
		      size_t len)
{
	struct dedup_buf out = DEDUP_BUF_INIT, log_ = DEDUP_BUF_INIT;
	struct dedup_stripper *st = NULL;
	struct dedup_error err;
	dedup_status s;

	if (dedup_stripper_new(&st, rs, NULL, &err))
		return 0;
	s = dedup_strip(st, NULL, text, len, &out, &log_, &err);
	FUZZ_CHECK(s == DEDUP_OK || s == DEDUP_ELIMIT || s == DEDUP_ENOMEM,
		   "strip status %d: %s", s, err.msg);
	if (s == DEDUP_OK)
		FUZZ_CHECK(fuzz_utf8_valid(out.buf, out.len),
			   "output not UTF-8");
	dedup_stripper_free(st);
	dedup_buf_release(&out);
	dedup_buf_release(&log_);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dedup_rules *rs = NULL;
	struct dedup_error err;
	dedup_status s;
	size_t before;

	if (dedup_rules_new(&rs, &err))
		return 0;
	/* A first file, so that "unchanged" means something. */
	s = dedup_rules_add_text(rs, "line first ^x{3}$\n", 18, "first.rules",
				 &err);
	FUZZ_CHECK(s == DEDUP_OK, "fixed rule refused: %s", err.msg);
	before = dedup_rules_count(rs);

	dedup_error_clear(&err);
	s = dedup_rules_add_text(rs, (const char *)data, size, "fuzz.rules",
				 &err);
	if (s != DEDUP_OK) {
		FUZZ_CHECK(s == DEDUP_ERULE || s == DEDUP_ENOMEM ||
			   s == DEDUP_ETOOBIG,
			   "status %d: %s", s, err.msg);
		FUZZ_CHECK(err.code == s, "err.code %d for status %d",
			   err.code, s);
		FUZZ_CHECK(s != DEDUP_ERULE || strstr(err.msg, "fuzz.rules"),
			   "message without the origin: %s", err.msg);
		FUZZ_CHECK(dedup_rules_count(rs) == before,
			   "refused file changed the set: %zu rules, was %zu",
			   dedup_rules_count(rs), before);
		goto out;
	}
	FUZZ_CHECK(dedup_rules_count(rs) >= before, "rules lost");
	strip_once(rs, page, sizeof(page) - 1);
	if (fuzz_utf8_valid(data, size))
		strip_once(rs, (const char *)data, size);
out:
	dedup_rules_free(rs);
	return 0;
}
