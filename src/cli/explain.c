/*
 * explain.c - `dedup explain A B [PATH...]`: the similarity of two
 * documents under the current settings, the shared terms that weigh most in
 * it, and what cleaning removed from each. Further PATHs are read as the
 * corpus whose document frequencies weigh the terms (without them, only A
 * and B count, and every shared term looks rare).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/stopwords.h"
#include "dedup/tokenize.h"
#include "cli.h"

#define TOP_TERMS 15
#define SHOW_REMOVED 70 /* characters of a removed piece to show */

struct shared {
	uint32_t term;
	double contrib;
};

static int cmp_shared(const void *a, const void *b)
{
	const struct shared *x = a, *y = b;

	if (x->contrib != y->contrib)
		return x->contrib > y->contrib ? -1 : 1;
	return (x->term > y->term) - (x->term < y->term);
}

/*
 * Words for a term id: the first word of `toks` whose stem is the term, or
 * the first pair of adjacent content words whose bigram it is.
 */
static void words_of(const struct dedup_sigbuilder *b, int lang,
		     const struct dedup_tokens *toks, uint32_t term,
		     struct dedup_buf *out)
{
	const char *text = toks->text.buf;
	size_t i, prev = SIZE_MAX;
	uint32_t prevterm = 0;

	dedup_buf_reset(out);
	for (i = 0; i < toks->n; i++) {
		uint32_t t = dedup_sig_term(b, lang, &toks->v[i], text);

		if (!t)
			continue;
		/* a signature keeps an id's top 24 bits (dedup_term_id()) */
		if (t >> 8 == term) {
			dedup_buf_addstr(out, text + toks->v[i].off);
			return;
		}
		if (prevterm && dedup_sig_bigram(prevterm, t) >> 8 == term) {
			dedup_buf_addf(out, "%s %s", text + toks->v[prev].off,
				       text + toks->v[i].off);
			return;
		}
		prev = i;
		prevterm = t;
	}
	dedup_buf_addstr(out, "?");
}

/* Print what cleaning removed from one document, one piece a line. */
static void print_removed(const char *label, const struct dedup_buf *log)
{
	const char *p = log->buf, *end = log->buf + log->len;
	size_t count = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *tab = memchr(p, '\t', (size_t)((nl ? nl : end) - p));
		int reason = tab ? (int)(tab - p) : 0;
		const char *text = tab ? tab + 1 : p;
		int tlen = (int)((nl ? nl : end) - text);

		printf("removed\t%s\t%.*s\t%.*s%s\n", label, reason, p,
		       tlen > SHOW_REMOVED ? SHOW_REMOVED : tlen, text,
		       tlen > SHOW_REMOVED ? "..." : "");
		count++;
		p = nl ? nl + 1 : end;
	}
	if (!count)
		printf("removed\t%s\t(nothing)\n", label);
}

int cli_explain(struct dedup_context *ctx, const char *a, const char *b,
		const struct cli_inputs *corpus)
{
	const struct dedup_options *o = dedup_context_options(ctx);
	struct dedup_run *run = NULL;
	struct dedup_worker *w = NULL;
	struct dedup_tokenizer *tk = NULL;
	struct dedup_stopwords *sw = NULL;
	struct dedup_sigbuilder *bld = NULL;
	struct dedup_buf word = DEDUP_BUF_INIT, rep_a = DEDUP_BUF_INIT;
	struct dedup_tokens ta, tb;
	struct dedup_buf bytes = DEDUP_BUF_INIT, text[2], log[2];
	struct dedup_error err;
	struct dedup_doc_info da, db;
	const struct dedup_sig *sa, *sb;
	struct shared *sh = NULL;
	uint32_t *tw = NULL, *wa, *wb;
	size_t nsh = 0, i, j;
	double s;
	int k, ret = 1;

	dedup_tokens_init(&ta);
	dedup_tokens_init(&tb);
	for (k = 0; k < 2; k++) {
		dedup_buf_init(&text[k]);
		dedup_buf_init(&log[k]);
	}
	if (dedup_run_new(&run, ctx, &err) || dedup_worker_new(&w, ctx, &err) ||
	    dedup_tokenizer_new(&tk, &err) || dedup_stopwords_new(&sw, &err) ||
	    dedup_sigbuilder_new(&bld, &o->sig, sw, &err))
		goto fail;
	if (dedup_run_add(run, a, &err) || dedup_run_add(run, b, &err))
		goto fail;
	for (i = 0; i < corpus->n; i++) {
		const char *p = corpus->v[i].path;

		/* A and B are in the run already: twice would count them twice */
		if (strcmp(p, a) && strcmp(p, b) && dedup_run_add(run, p, &err))
			goto fail;
	}
	if (dedup_run_execute(run, &err))
		goto fail;
	dedup_run_doc(run, 0, &da);
	/* the paths of da last until the next call: A's representative */
	if (dedup_buf_addstr(&rep_a, da.rep_path)) {
		dedup_error_set(&err, DEDUP_ENOMEM, "out of memory");
		goto fail;
	}
	dedup_run_doc(run, 1, &db);
	if (da.status || db.status) {
		cli_error("%s", da.status ? da.message : db.message);
		goto out;
	}
	/* Clean both again, this time keeping the removal log. */
	for (k = 0; k < 2; k++) {
		if (dedup_run_read(run, (size_t)k, &bytes, &err) ||
		    dedup_worker_clean(w, bytes.buf, bytes.len, o->strip,
				       dedup_run_lines(run), &text[k], &log[k],
				       &err))
			goto fail;
	}
	if (dedup_tokenize(tk, text[0].buf, text[0].len, &ta, &err) ||
	    dedup_tokenize(tk, text[1].buf, text[1].len, &tb, &err))
		goto fail;

	sa = dedup_run_sig(run, 0);
	sb = dedup_run_sig(run, 1);
	s = dedup_similarity(&o->cluster, dedup_run_df(run), sa, sb);
	printf("similarity\t%.4f\n", s);
	printf("threshold\t%.4f\n", o->cluster.threshold);
	printf("level\t%s\n",
	       o->cluster.level == DEDUP_LEVEL_COPY ? "copy" : "event");
	printf("verdict\t%s\n", s >= o->cluster.threshold ?
	       "similar enough to join one cluster" : "different");
	printf("in this run\t%s\n", !strcmp(rep_a.buf, db.rep_path) ?
	       "same cluster" :
	       "different clusters");
	printf("corpus\t%zu documents\n", dedup_run_count(run));
	for (k = 0; k < 2; k++) {
		const struct dedup_sig *x = k ? sb : sa;

		printf("document\t%s\t%s\tcontent words %u, distinct %u, "
		       "sampled %u", k ? "B" : "A", k ? b : a,
		       x->nwords, x->ndistinct, x->nterms);
		if (x->date != DEDUP_DATE_NONE)
			printf(", date day %d", (int)x->date);
		putchar('\n');
	}

	/* Shared terms by their share of the cosine. */
	sh = malloc((sa->nterms ? sa->nterms : 1) * sizeof(*sh));
	tw = malloc(((size_t)sa->nterms + sb->nterms + 1) * sizeof(*tw));
	if (!sh || !tw)
		goto out;
	wa = tw;
	wb = tw + sa->nterms;
	dedup_sig_unpack(sa, wa);
	dedup_sig_unpack(sb, wb);
	for (i = 0, j = 0; i < sa->nterms && j < sb->nterms;) {
		uint32_t x = dedup_term_id(wa[i]);
		uint32_t y = dedup_term_id(wb[j]);

		if (x < y) {
			i++;
		} else if (x > y) {
			j++;
		} else {
			sh[nsh].term = x;
			sh[nsh].contrib = (double)dedup_term_wt(wa[i]) *
				dedup_term_wt(wb[j]) /
				((double)DEDUP_WEIGHT_ONE * DEDUP_WEIGHT_ONE);
			nsh++;
			i++;
			j++;
		}
	}
	qsort(sh, nsh, sizeof(*sh), cmp_shared);
	printf("shared terms\t%zu (the largest one does not count)\n", nsh);
	for (i = 0; i < nsh && i < TOP_TERMS; i++) {
		words_of(bld, sa->lang, &ta, sh[i].term, &word);
		printf("term\t%s\t%.4f\n", word.buf, sh[i].contrib);
	}
	print_removed("A", &log[0]);
	print_removed("B", &log[1]);
	ret = ferror(stdout) ? 1 : 0;
	goto out;
fail:
	cli_error("%s", err.msg);
out:
	free(sh);
	free(tw);
	dedup_buf_release(&word);
	dedup_buf_release(&rep_a);
	dedup_sigbuilder_free(bld);
	dedup_stopwords_free(sw);
	dedup_tokens_release(&ta);
	dedup_tokens_release(&tb);
	for (k = 0; k < 2; k++) {
		dedup_buf_release(&text[k]);
		dedup_buf_release(&log[k]);
	}
	dedup_buf_release(&bytes);
	dedup_tokenizer_free(tk);
	dedup_worker_free(w);
	dedup_run_free(run);
	return ret;
}
