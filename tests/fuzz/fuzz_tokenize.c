/*
 * fuzz_tokenize.c - the tokenizer's fast path against the ICU path.
 *
 * dedup_tokenize() promises exactly the tokens of dedup_tokenize_icu():
 * same count, folded forms, hashes, source offsets and flags. Any
 * difference aborts, with the first differing token printed. Input must be
 * valid UTF-8 (the stage takes repaired text); other inputs are skipped.
 */
#include <string.h>

#include "dedup/tokenize.h"
#include "fuzz_util.h"
#include "tokenize_int.h"

static struct dedup_tokenizer *tk;
static struct dedup_tokens fast, icu;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct dedup_error err;

	if (dedup_tokenizer_new(&tk, &err)) {
		fprintf(stderr, "fuzz_tokenize: %s\n", err.msg);
		abort();
	}
	/* Else dedup_tokenize() is ICU too and nothing is compared. */
	if (!tk->fast_ok) {
		fprintf(stderr, "fuzz_tokenize: the fast path failed its "
			"self-test and is off\n");
		abort();
	}
	dedup_tokens_init(&fast);
	dedup_tokens_init(&icu);
	return 0;
}

static void dump(const char *what, const struct dedup_tokens *t, size_t i)
{
	if (i >= t->n) {
		fprintf(stderr, "%s: no token %zu (n=%zu)\n", what, i, t->n);
		return;
	}
	fprintf(stderr, "%s[%zu]: '%.*s' src=%u flags=%#x hash=%016llx\n",
		what, i, (int)t->v[i].len, t->text.buf + t->v[i].off,
		t->v[i].src, t->v[i].flags,
		(unsigned long long)t->v[i].hash);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct dedup_error err;
	dedup_status a, b;
	size_t i, n;

	if (!fuzz_utf8_valid(data, size))
		return 0;
	a = dedup_tokenize(tk, text, size, &fast, &err);
	FUZZ_CHECK(a == DEDUP_OK || a == DEDUP_ENOMEM, "fast: status %d: %s",
		   a, err.msg);
	b = dedup_tokenize_icu(tk, text, size, &icu, &err);
	FUZZ_CHECK(b == DEDUP_OK || b == DEDUP_ENOMEM, "icu: status %d: %s",
		   b, err.msg);
	if (a || b)
		return 0;

	n = fast.n > icu.n ? fast.n : icu.n;
	for (i = 0; i < n; i++) {
		const struct dedup_token *x = i < fast.n ? &fast.v[i] : NULL;
		const struct dedup_token *y = i < icu.n ? &icu.v[i] : NULL;

		if (x && y && x->len == y->len && x->hash == y->hash &&
		    x->src == y->src && x->flags == y->flags &&
		    !memcmp(fast.text.buf + x->off, icu.text.buf + y->off,
			    x->len)) {
			FUZZ_CHECK(x->hash == dedup_token_hash(
				   fast.text.buf + x->off, x->len),
				   "token %zu: hash is not of its folded form",
				   i);
			FUZZ_CHECK(fuzz_utf8_valid(fast.text.buf + x->off,
						   x->len),
				   "token %zu: folded form not UTF-8", i);
			FUZZ_CHECK(x->src < size, "token %zu: src %u past %zu",
				   i, x->src, size);
			continue;
		}
		dump("fast", &fast, i);
		dump("icu ", &icu, i);
		FUZZ_CHECK(0, "fast path and ICU differ at token %zu "
			   "(%zu vs %zu tokens)", i, fast.n, icu.n);
	}
	return 0;
}
