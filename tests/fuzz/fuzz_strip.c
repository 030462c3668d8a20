/*
 * fuzz_strip.c - stage 2 on arbitrary text with the built-in rules: span
 * cuts, segmentation of glued lines, tail/embed rules, text evidence and
 * corpus counts.
 *
 * The stripper takes repaired text, i.e. valid UTF-8 (dedup_repair_decode's
 * promise), so other inputs are skipped rather than passed in. Properties:
 * the output is valid UTF-8 and every removal log line is
 * "REASON<TAB>text". The corpus counts are made afresh for each input, so
 * that a crash reproduces from its input alone.
 */
#include <string.h>

#include "dedup/stopwords.h"
#include "dedup/strip.h"
#include "fuzz_util.h"

static struct dedup_rules *rules;
static struct dedup_stopwords *sw;
static struct dedup_stripper *st;
static struct dedup_buf out = DEDUP_BUF_INIT, log_ = DEDUP_BUF_INIT;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct dedup_error err;

	if (dedup_rules_new(&rules, &err) ||
	    dedup_rules_add_builtin(rules, &err) ||
	    dedup_stopwords_new(&sw, &err) ||
	    dedup_stripper_new(&st, rules, sw, &err)) {
		fprintf(stderr, "fuzz_strip: %s\n", err.msg);
		abort();
	}
	return 0;
}

static void check_log(void)
{
	const char *p = log_.buf, *end = log_.buf + log_.len, *nl, *tab;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		FUZZ_CHECK(nl != NULL, "log line without newline");
		tab = memchr(p, '\t', (size_t)(nl - p));
		FUZZ_CHECK(tab != NULL && tab > p, "log line without reason");
		p = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct dedup_strip_opts opts = { 1, 1, NULL };
	struct dedup_linestats *ls = NULL;
	struct dedup_error err;
	dedup_status s;
	size_t i;

	if (!fuzz_utf8_valid(data, size))
		return 0;

	/* Without corpus counts, with the log. */
	s = dedup_strip(st, &opts, text, size, &out, &log_, &err);
	FUZZ_CHECK(s == DEDUP_OK || s == DEDUP_ELIMIT || s == DEDUP_ENOMEM,
		   "status %d: %s", s, err.msg);
	if (s == DEDUP_ENOMEM)
		return 0;
	FUZZ_CHECK(fuzz_utf8_valid(out.buf, out.len), "output not UTF-8");
	check_log();

	/*
	 * With corpus counts that have seen this document many times: every
	 * line is "recurring", the path no other input reaches.
	 */
	if (dedup_linestats_new(&ls, &err))
		return 0;
	for (i = 0; i < 20; i++)
		if (dedup_linestats_observe(ls, text, size))
			goto out;
	opts.lines = ls;
	s = dedup_strip(st, &opts, text, size, &out, NULL, &err);
	FUZZ_CHECK(s == DEDUP_OK || s == DEDUP_ELIMIT || s == DEDUP_ENOMEM,
		   "status %d: %s", s, err.msg);
	if (s == DEDUP_OK)
		FUZZ_CHECK(fuzz_utf8_valid(out.buf, out.len),
			   "output not UTF-8 (corpus counts)");

	/* Rules only, then evidence only. */
	opts.lines = NULL;
	opts.use_evidence = 0;
	s = dedup_strip(st, &opts, text, size, &out, NULL, &err);
	FUZZ_CHECK(s == DEDUP_OK || s == DEDUP_ELIMIT || s == DEDUP_ENOMEM,
		   "status %d: %s", s, err.msg);
	opts.use_rules = 0;
	opts.use_evidence = 1;
	s = dedup_strip(st, &opts, text, size, &out, NULL, &err);
	FUZZ_CHECK(s == DEDUP_OK || s == DEDUP_ENOMEM, "status %d: %s", s,
		   err.msg);
out:
	dedup_linestats_free(ls);
	return 0;
}
