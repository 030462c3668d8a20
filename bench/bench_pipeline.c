/*
 * bench_pipeline.c - where the time of a run goes, stage by stage.
 *
 * usage: bench_pipeline [-r REPS] [--level event|copy] [--no-strip]
 *                       [--no-corpus-lines] [--check] [--df-exact]
 *                       [--df-sample N] PATH...
 *
 * Walks the PATHs as dedup does (hidden entries and *.tsv files left out,
 * so a gen_corpus.py directory can be given as it is), then runs the
 * stages of dedup_run_execute() in the same order and with the same
 * options, on one thread, through the public stage APIs only:
 *
 *   walk       listing the files
 *   read       reading them (twice: once per pass, as the run does)
 *   repair     decoding and mojibake repair (twice: once per pass)
 *   lines      pass 1: counting the lines that recur across documents
 *   sites      pass 1: site names in headlines (dedup_sitenames_observe)
 *   df         pass 1: document frequencies (dedup_sig_count)
 *   strip      pass 2: boilerplate removal
 *   tokenize   words and their folded forms (pass 1: the headline and the
 *              whole repaired text; pass 2: the stripped text)
 *   sig        pass 2: the signature, and the dateline fallback
 *   cluster    LSH, verification, average linkage
 *
 * Each stage is timed in CPU time of the thread (CLOCK_THREAD_CPUTIME_ID),
 * which other processes on a shared machine disturb far less than wall
 * time; the whole is repeated REPS times (default 3) and the least time of
 * each stage is kept. MB/s counts input bytes. --check also builds every
 * signature through dedup_worker_sig() and fails when one differs, so
 * that what is timed is what the tool computes. --df-exact also counts
 * every term exactly (not timed) and says how far the bounded table of
 * the first pass is from it, and how far the IDF of the terms is.
 * --df-sample N counts the terms of about N documents when there are more
 * (the run's --df-sample; default as the tool's).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dedup/cluster.h"
#include "dedup/pipeline.h"
#include "dedup/repair.h"
#include "dedup/sig.h"
#include "dedup/stopwords.h"
#include "dedup/strip.h"
#include "dedup/tokenize.h"
#include "dedup/walk.h"
#include "df_int.h"

enum stage {
	S_WALK, S_READ, S_REPAIR, S_LINES, S_SITES, S_DF, S_STRIP,
	S_TOKENIZE, S_SIG, S_CLUSTER, S_COUNT
};

static const char *const stage_name[S_COUNT] = {
	"walk", "read", "repair", "lines", "sites", "df", "strip",
	"tokenize", "sig", "cluster",
};

struct bench {
	struct dedup_options o;
	int check;
	int df_exact;
	struct dedup_df *exact; /* --df-exact: every term, counted exactly */
	struct dedup_df *xbatch; /* the exact counts of a batch */
	size_t sampled; /* documents whose terms the first pass counted */
	size_t pass1_terms, pass1_bytes; /* the first pass's table at its end */
	const char *const *roots;
	int nroots;

	/* the corpus */
	char **paths;
	size_t n, alloc;

	/* stage contexts, one set: this program is single-threaded */
	struct dedup_stopwords *sw;
	struct dedup_rules *rules;
	struct dedup_repair *repair;
	struct dedup_stripper *stripper;
	struct dedup_tokenizer *tok;
	struct dedup_sigbuilder *sb;

	/* figures of one repetition */
	double t[S_COUNT];
	uint64_t in_bytes, repaired_bytes, clean_bytes, tokens;
	size_t failed;
	struct dedup_cluster_stats stats;
};

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Time since *t0, charged to stage s; *t0 moves on. */
static void charge(struct bench *b, enum stage s, double *t0)
{
	double t1 = cpu_now();

	b->t[s] += t1 - *t0;
	*t0 = t1;
}

static void die(const char *what, const struct dedup_error *err)
{
	if (err && err->msg[0])
		fprintf(stderr, "bench_pipeline: %s: %s\n", what, err->msg);
	else
		fprintf(stderr, "bench_pipeline: %s\n", what);
	exit(1);
}

static void add_path(struct bench *b, const char *path)
{
	if (b->n == b->alloc) {
		size_t na = b->alloc ? b->alloc * 2 : 1024;
		char **v = realloc(b->paths, na * sizeof(*v));

		if (!v)
			die("out of memory", NULL);
		b->paths = v;
		b->alloc = na;
	}
	b->paths[b->n] = strdup(path);
	if (!b->paths[b->n])
		die("out of memory", NULL);
	b->n++;
}

static void walk(struct bench *b)
{
	struct dedup_walk *w;
	struct dedup_walk_entry e;
	struct dedup_error err;
	dedup_status st;
	int i;

	if (dedup_walk_new(&w, &err) || dedup_walk_exclude(w, "*.tsv"))
		die("cannot start the walk", &err);
	for (i = 0; i < b->nroots; i++)
		if (dedup_walk_add_root(w, b->roots[i]))
			die("out of memory", NULL);
	while ((st = dedup_walk_next(w, &e, &err)) != DEDUP_DONE) {
		if (st == DEDUP_ENOMEM)
			die("walk", &err);
		if (st) {
			fprintf(stderr, "bench_pipeline: %s\n", err.msg);
			continue;
		}
		add_path(b, e.path);
	}
	dedup_walk_free(w);
}

static void setup(struct bench *b)
{
	struct dedup_error err;

	/* signatures as a run makes them: naming their band winners */
	dedup_cluster_sig_params(&b->o.cluster, &b->o.sig);
	if (dedup_stopwords_new(&b->sw, &err) ||
	    dedup_rules_new(&b->rules, &err) ||
	    (b->o.builtin_rules && dedup_rules_add_builtin(b->rules, &err)) ||
	    dedup_repair_new(&b->repair, &err) ||
	    dedup_stripper_new(&b->stripper, b->rules, b->sw, &err) ||
	    dedup_tokenizer_new(&b->tok, &err) ||
	    dedup_sigbuilder_new(&b->sb, &b->o.sig, b->sw, &err))
		die("cannot set up the stages", &err);
}

static void teardown(struct bench *b)
{
	size_t i;

	dedup_sigbuilder_free(b->sb);
	dedup_tokenizer_free(b->tok);
	dedup_stripper_free(b->stripper);
	dedup_repair_free(b->repair);
	dedup_rules_free(b->rules);
	dedup_stopwords_free(b->sw);
	for (i = 0; i < b->n; i++)
		free(b->paths[i]);
	free(b->paths);
}

/* The first line with text (a scraped page's title), as the run takes it. */
static const char *first_line(const char *text, size_t len, size_t *n)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *q = nl ? nl : end, *r;

		for (r = p; r < q && (*r == ' ' || *r == '\t' || *r == '\r');
		     r++)
			;
		if (r < q) {
			*n = (size_t)(q - p);
			return p;
		}
		p = q + 1;
	}
	*n = 0;
	return NULL;
}

/* Where a page's dateline sits (pipeline.c DATELINE_BYTES). */
#define DATELINE_BYTES 1024

/* pipeline.c verbatim_mark(): the hash of bytes the repair keeps. */
static uint64_t verbatim_mark(const char *bytes, size_t len)
{
	uint64_t h = XXH3_64bits(bytes, len);

	return h ? h : 1;
}

/* A batch of documents' frequencies into the run's, as the pipeline. */
static void merge_batch(struct bench *b, struct dedup_df *df,
			struct dedup_dfbatch *batch, double *t0)
{
	if (dedup_df_merge_batch(df, batch))
		die("out of memory", NULL);
	charge(b, S_DF, t0);
	dedup_dfbatch_clear(batch);
	if (b->exact && dedup_df_merge(b->exact, b->xbatch))
		die("out of memory", NULL);
	if (b->exact)
		dedup_df_clear(b->xbatch);
	*t0 = cpu_now(); /* the exact table is not the run's: not timed */
}

/*
 * One run, as dedup_run_execute() does it on one thread (pipeline.c
 * worker_observe() in pass 1, dedup_worker_sig() in pass 2). Fills b->t
 * and the counts; the signatures are left in sigs (n of them, initialized),
 * the line counts, frequencies and site names in *lsp, *dfp, *snp.
 */
static void run_once(struct bench *b, struct dedup_sig *sigs,
		     struct dedup_assign *assign, struct dedup_linestats **lsp,
		     struct dedup_df **dfp, struct dedup_sitenames **snp)
{
	struct dedup_strip_opts so = { 1, 1, NULL };
	struct dedup_buf bytes = DEDUP_BUF_INIT, text = DEDUP_BUF_INIT;
	struct dedup_buf clean = DEDUP_BUF_INIT;
	struct dedup_tokens toks;
	struct dedup_linestats *ls = NULL;
	struct dedup_sitenames *sn = NULL;
	struct dedup_df *df = NULL;
	struct dedup_dfbatch *batch = NULL;
	struct dedup_error err;
	unsigned char *bad;
	uint64_t *verbatim, share = dedup_df_share(b->o.df_sample, b->n);
	dedup_status st;
	const char *line, *ptext;
	double t0;
	size_t i, n, plen;

	dedup_tokens_init(&toks);
	bad = calloc(b->n ? b->n : 1, 1);
	verbatim = calloc(b->n ? b->n : 1, sizeof(*verbatim));
	if (!verbatim)
		die("out of memory", NULL);
	/* as the pipeline without an index: a bounded table fed by batches */
	if (!bad || dedup_df_new(&df) || dedup_dfbatch_new(&batch) ||
	    dedup_sitenames_new(&sn) ||
	    dedup_df_bound(df, share ? b->o.df_sample : b->n))
		die("out of memory", NULL);
	dedup_df_free(b->exact);
	dedup_df_free(b->xbatch);
	b->exact = b->xbatch = NULL;
	if (b->df_exact &&
	    (dedup_df_new(&b->exact) || dedup_df_new(&b->xbatch)))
		die("out of memory", NULL);
	b->sampled = 0;
	if (b->o.strip && b->o.corpus_lines && dedup_linestats_new(&ls, &err))
		die("linestats", &err);
	t0 = cpu_now();
	for (i = 0; i < b->n; i++) {
		if (i && i % DEDUP_DF_BATCH == 0)
			merge_batch(b, df, batch, &t0);
		st = dedup_read_file(b->paths[i], b->o.max_doc_size, &bytes,
				     &err);
		charge(b, S_READ, &t0);
		/* as the pipeline: clean texts are counted where read */
		if (!st)
			st = dedup_repair_text(b->repair, bytes.buf, bytes.len,
					       &ptext, &plen, NULL, &err);
		charge(b, S_REPAIR, &t0);
		if (st == DEDUP_ENOMEM)
			die("pass 1", &err);
		if (st) {
			bad[i] = 1;
			continue;
		}
		/* as the pipeline: texts the repair kept are not repaired
		 * again (pipeline.c verbatim_mark()) */
		if (plen == bytes.len && (ptext == bytes.buf ||
					  !memcmp(ptext, bytes.buf, plen)))
			verbatim[i] = verbatim_mark(bytes.buf, bytes.len);
		charge(b, S_REPAIR, &t0);
		if (ls && dedup_linestats_observe(ls, ptext, plen))
			die("out of memory", NULL);
		charge(b, S_LINES, &t0);
		line = first_line(ptext, plen, &n);
		if (line) {
			st = dedup_tokenize(b->tok, line, n, &toks, &err);
			charge(b, S_TOKENIZE, &t0);
			if (!st)
				st = dedup_sitenames_observe(sn, line, n, &toks);
			charge(b, S_SITES, &t0);
		}
		if (!st && (dedup_df_sampled(share, b->paths[i]) ||
			    b->exact)) {
			st = dedup_tokenize(b->tok, ptext, plen, &toks, &err);
			if (!dedup_df_sampled(share, b->paths[i]))
				t0 = cpu_now(); /* for the exact counts only */
		}
		charge(b, S_TOKENIZE, &t0);
		if (!st && dedup_df_sampled(share, b->paths[i])) {
			st = dedup_sig_count_batch(b->sb, &toks, batch, &err);
			b->sampled++;
		}
		charge(b, S_DF, &t0);
		/* not timed: the exact counts are not the run's */
		if (!st && b->exact)
			st = dedup_sig_count(b->sb, &toks, b->xbatch, &err);
		t0 = cpu_now();
		if (st == DEDUP_ENOMEM)
			die("pass 1", &err);
		if (st)
			bad[i] = 1;
	}
	merge_batch(b, df, batch, &t0);
	/* a piece of title in two documents names a site, not an event */
	dedup_sitenames_freeze(sn, 2);
	charge(b, S_SITES, &t0);
	b->pass1_terms = dedup_df_size(df);
	b->pass1_bytes = dedup_df_bytes(df);
	/* as the pipeline without an index: unshared terms are not kept */
	(void)dedup_df_bound(df, 0);
	dedup_df_prune(df, 2);
	if (share) /* as the pipeline: what the sample missed is rare */
		dedup_df_set_floor(df, 2);
	dedup_dfbatch_free(batch);
	charge(b, S_DF, &t0);
	so.lines = ls;
	for (i = 0; i < b->n; i++) {
		if (bad[i])
			continue;
		st = dedup_read_file(b->paths[i], b->o.max_doc_size, &bytes,
				     &err);
		charge(b, S_READ, &t0);
		if (!st && verbatim[i] &&
		    verbatim_mark(bytes.buf, bytes.len) == verbatim[i]) {
			b->in_bytes += bytes.len;
			dedup_buf_reset(&text);
			if (dedup_buf_add(&text, bytes.buf, bytes.len))
				st = DEDUP_ENOMEM;
		} else if (!st) {
			b->in_bytes += bytes.len;
			st = dedup_repair_decode(b->repair, bytes.buf,
						 bytes.len, &text, NULL, &err);
		}
		charge(b, S_REPAIR, &t0);
		if (!st && b->o.strip) {
			b->repaired_bytes += text.len;
			st = dedup_strip(b->stripper, &so, text.buf, text.len,
					 &clean, NULL, &err);
			/* as the pipeline: a runaway rule is skipped */
			if (st == DEDUP_ELIMIT)
				st = DEDUP_OK;
		} else if (!st) {
			/* the run repairs straight into the text it hashes */
			b->repaired_bytes += text.len;
			dedup_buf_reset(&clean);
			if (dedup_buf_add(&clean, text.buf, text.len))
				st = DEDUP_ENOMEM;
		}
		charge(b, S_STRIP, &t0);
		if (!st) {
			b->clean_bytes += clean.len;
			st = dedup_tokenize(b->tok, clean.buf, clean.len,
					    &toks, &err);
		}
		charge(b, S_TOKENIZE, &t0);
		if (!st) {
			b->tokens += toks.n;
			st = dedup_sig_build(b->sb, &toks, clean.buf,
					     clean.len, df, sn, &sigs[i], &err);
		}
		if (!st && sigs[i].date == DEDUP_DATE_NONE && b->o.strip)
			sigs[i].date = dedup_sig_date(text.buf,
				text.len < DATELINE_BYTES ? text.len :
				DATELINE_BYTES);
		charge(b, S_SIG, &t0);
		if (st == DEDUP_ENOMEM)
			die("pass 2", &err);
		if (st)
			bad[i] = 1;
	}
	for (i = 0; i < b->n; i++)
		b->failed += bad[i];
	if (dedup_cluster_run(&b->o.cluster, sigs, b->n, df, assign,
			      &b->stats, &err))
		die("cluster", &err);
	charge(b, S_CLUSTER, &t0);
	free(bad);
	free(verbatim);
	dedup_buf_release(&bytes);
	dedup_buf_release(&text);
	dedup_buf_release(&clean);
	dedup_tokens_release(&toks);
	*lsp = ls;
	*dfp = df;
	*snp = sn;
}

/* IDF as signatures weigh it (sig.c), N documents, d of them with the term */
static double idf(double n, double d)
{
	return pow(log((n + 1) / d), 1.5);
}

#define DF_CLASSES 3 /* shared terms of 2-9, 10-99, 100 or more documents */

struct df_cmp {
	const struct dedup_df *other, *exact;
	uint64_t n, same, over, extra, under, singletons;
	/* IDF of the run's table against the exact one, by class */
	uint64_t terms[DF_CLASSES], dropped[DF_CLASSES];
	double relerr[DF_CLASSES];
};

static int cmp_exact(uint32_t term, uint32_t count, void *arg)
{
	struct df_cmp *c = arg;
	uint32_t got = dedup_df_get(c->other, term);
	int k;

	if (count < 2) {
		c->singletons++;
		c->extra += got > 0;
		return 0;
	}
	k = count < 10 ? 0 : count < 100 ? 1 : 2;
	c->terms[k]++;
	if (got)
		c->relerr[k] += fabs(idf((double)dedup_df_docs(c->other), got) /
				     idf((double)dedup_df_docs(c->exact), count) -
				     1);
	else
		c->dropped[k]++;
	c->n++;
	c->same += got == count;
	c->over += got == count + 1;
	c->under += got < count;
	return 0;
}

/* The bounded table of the run against the exact counts. */
static void df_error(const struct dedup_df *exact, const struct dedup_df *df)
{
	struct df_cmp c = { .other = df, .exact = exact };
	static const char *const cls[DF_CLASSES] = { "2-9", "10-99", "100+" };
	int k;

	(void)dedup_df_foreach(exact, cmp_exact, &c);
	printf("exact counts: %zu distinct terms, %.0f bytes per document "
	       "in one table; %llu shared\n", dedup_df_size(exact),
	       (double)dedup_df_bytes(exact) /
	       (double)(dedup_df_docs(exact) ? dedup_df_docs(exact) : 1),
	       (unsigned long long)c.n);
	printf("bounded table: shared terms exact %llu, one too high %llu, "
	       "other %llu (too low %llu); of %llu terms of one document, "
	       "%llu counted 2\n", (unsigned long long)c.same,
	       (unsigned long long)c.over,
	       (unsigned long long)(c.n - c.same - c.over),
	       (unsigned long long)c.under,
	       (unsigned long long)c.singletons,
	       (unsigned long long)c.extra);
	printf("IDF of shared terms (%llu of %llu documents counted), mean "
	       "relative error by documents with the term:",
	       (unsigned long long)dedup_df_docs(df),
	       (unsigned long long)dedup_df_docs(exact));
	for (k = 0; k < DF_CLASSES; k++)
		printf(" %s: %.1f %% (%llu terms, %llu dropped)%s", cls[k],
		       c.terms[k] > c.dropped[k] ? 100 * c.relerr[k] /
		       (double)(c.terms[k] - c.dropped[k]) : 0,
		       (unsigned long long)c.terms[k],
		       (unsigned long long)c.dropped[k],
		       k + 1 < DF_CLASSES ? ";" : "\n");
}

static int same_sig(const struct dedup_sig *a, const struct dedup_sig *b)
{
	/* terms, MinHash values and band winners are one block */
	return a->nperm == b->nperm && a->nterms == b->nterms &&
	       a->nband == b->nband &&
	       a->nwords == b->nwords && a->ndistinct == b->ndistinct &&
	       a->lang == b->lang && a->date == b->date &&
	       a->body == b->body &&
	       !memcmp(a->blk, b->blk, dedup_sig_size(a));
}

/* Signatures through the tool's own worker must equal ours. */
static size_t check(struct bench *b, const struct dedup_sig *sigs,
		    const struct dedup_linestats *ls, const struct dedup_df *df,
		    const struct dedup_sitenames *sn)
{
	struct dedup_context *ctx;
	struct dedup_worker *w;
	struct dedup_buf bytes = DEDUP_BUF_INIT;
	struct dedup_sig s;
	struct dedup_error err;
	size_t i, diff = 0;

	if (dedup_context_new(&ctx, &b->o, &err) ||
	    dedup_worker_new(&w, ctx, &err))
		die("check", &err);
	dedup_sig_init(&s);
	for (i = 0; i < b->n; i++) {
		if (dedup_read_file(b->paths[i], b->o.max_doc_size, &bytes,
				    &err) ||
		    dedup_worker_sig(w, bytes.buf, bytes.len, ls, df, sn, &s,
				     &err))
			continue; /* failed both ways: counted in failed */
		if (!same_sig(&s, &sigs[i])) {
			if (!diff)
				fprintf(stderr, "bench_pipeline: signature of "
					"'%s' differs from the tool's\n",
					b->paths[i]);
			diff++;
		}
	}
	dedup_sig_release(&s);
	dedup_buf_release(&bytes);
	dedup_worker_free(w);
	dedup_context_free(ctx);
	return diff;
}

static void usage(void)
{
	fputs("usage: bench_pipeline [-r REPS] [--level event|copy] "
	      "[--no-strip]\n"
	      "                      [--no-corpus-lines] [--check] "
	      "[--df-exact]\n"
	      "                      [--df-sample N] PATH...\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct bench b;
	double best[S_COUNT], total = 0, wall = 0, t0;
	struct dedup_sig *sigs = NULL;
	struct dedup_assign *assign = NULL;
	struct dedup_linestats *ls = NULL;
	struct dedup_sitenames *sn = NULL;
	struct dedup_df *df = NULL;
	enum dedup_level level = DEDUP_LEVEL_EVENT;
	int reps = 3, strip = 1, corpus_lines = 1, i, r, s;
	long long df_sample = -1;
	size_t k;

	memset(&b, 0, sizeof(b));
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "-r") && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);

			if (*end || v < 1 || v > 100)
				usage();
			reps = (int)v;
		} else if (!strcmp(argv[i], "--level") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "event"))
				level = DEDUP_LEVEL_EVENT;
			else if (!strcmp(argv[i], "copy"))
				level = DEDUP_LEVEL_COPY;
			else
				usage();
		} else if (!strcmp(argv[i], "--no-strip")) {
			strip = 0;
		} else if (!strcmp(argv[i], "--no-corpus-lines")) {
			corpus_lines = 0;
		} else if (!strcmp(argv[i], "--check")) {
			b.check = 1;
		} else if (!strcmp(argv[i], "--df-exact")) {
			b.df_exact = 1;
		} else if (!strcmp(argv[i], "--df-sample") && i + 1 < argc) {
			char *end;

			df_sample = strtoll(argv[++i], &end, 10);
			if (*end || df_sample < 0)
				usage();
		} else {
			usage();
		}
	}
	if (i == argc)
		usage();
	dedup_options_default(&b.o, level);
	b.o.strip = strip;
	b.o.corpus_lines = corpus_lines;
	b.o.threads = 1;
	if (df_sample >= 0)
		b.o.df_sample = (uint64_t)df_sample;
	b.roots = (const char *const *)argv + i;
	b.nroots = argc - i;

	for (s = 0; s < S_COUNT; s++)
		best[s] = -1;
	for (r = 0; r < reps; r++) {
		double w0 = wall_now();

		for (k = 0; k < b.n; k++)
			free(b.paths[k]);
		b.n = 0;
		memset(b.t, 0, sizeof(b.t));
		b.in_bytes = b.repaired_bytes = b.clean_bytes = b.tokens = 0;
		b.failed = 0;
		t0 = cpu_now();
		walk(&b);
		charge(&b, S_WALK, &t0);
		if (!b.n)
			die("no documents found", NULL);
		if (!b.sb)
			setup(&b);
		if (sigs)
			for (k = 0; k < b.n; k++)
				dedup_sig_release(&sigs[k]);
		free(sigs);
		free(assign);
		dedup_linestats_free(ls);
		dedup_df_free(df);
		dedup_sitenames_free(sn);
		sigs = calloc(b.n, sizeof(*sigs));
		assign = calloc(b.n, sizeof(*assign));
		if (!sigs || !assign)
			die("out of memory", NULL);
		for (k = 0; k < b.n; k++)
			dedup_sig_init(&sigs[k]);
		run_once(&b, sigs, assign, &ls, &df, &sn);
		w0 = wall_now() - w0;
		if (!r || w0 < wall)
			wall = w0;
		for (s = 0; s < S_COUNT; s++)
			if (best[s] < 0 || b.t[s] < best[s])
				best[s] = b.t[s];
	}
	for (s = 0; s < S_COUNT; s++)
		total += best[s];

	printf("%zu documents (%zu failed), %.1f MB in, %.1f MB repaired, "
	       "%.1f MB after strip, %llu tokens\n", b.n, b.failed,
	       (double)b.in_bytes / 1e6, (double)b.repaired_bytes / 1e6,
	       (double)b.clean_bytes / 1e6, (unsigned long long)b.tokens);
	printf("cluster: %llu candidate pairs, %llu verified, %llu linked, "
	       "%llu clusters, %u bands x %u rows\n",
	       (unsigned long long)b.stats.candidates,
	       (unsigned long long)b.stats.verified,
	       (unsigned long long)b.stats.linked,
	       (unsigned long long)b.stats.clusters, b.stats.bands,
	       b.stats.rows);
	printf("least of %d runs, one thread, CPU time\n", reps);
	printf("%-10s %9s %7s %9s %9s\n", "stage", "seconds", "share",
	       "MB/s", "us/doc");
	for (s = 0; s < S_COUNT; s++)
		printf("%-10s %9.3f %6.1f%% %9.1f %9.1f\n", stage_name[s],
		       best[s], total > 0 ? 100 * best[s] / total : 0,
		       best[s] > 0 ? (double)b.in_bytes / 1e6 / best[s] : 0,
		       1e6 * best[s] / (double)b.n);
	printf("%-10s %9.3f %6.1f%% %9.1f %9.1f\n", "total", total, 100.0,
	       total > 0 ? (double)b.in_bytes / 1e6 / total : 0,
	       1e6 * total / (double)b.n);
	printf("wall time of the fastest run: %.3f s (%.0f docs/s)\n", wall,
	       wall > 0 ? (double)b.n / wall : 0);

	{
		uint64_t mins = 0, terms = 0, bands = 0;

		for (k = 0; k < b.n; k++) {
			mins += (uint64_t)sigs[k].nperm * 4;
			terms += dedup_sig_termbytes(sigs[k].nterms) +
				 dedup_sig_hibytes(sigs[k].nterms);
			bands += sigs[k].nband;
		}
		/* what the run keeps per document until the clustering */
		printf("signatures: %.0f bytes per document (struct %zu, "
		       "MinHash %.0f, terms %.0f, band winners %.0f), before "
		       "allocator overhead\n",
		       (double)(b.n * sizeof(struct dedup_sig) + mins + terms +
				bands) / (double)b.n,
		       sizeof(struct dedup_sig), (double)mins / (double)b.n,
		       (double)terms / (double)b.n, (double)bands / (double)b.n);
		printf("document frequencies: %zu shared terms kept, %.0f "
		       "bytes per document\n", dedup_df_size(df),
		       (double)dedup_df_bytes(df) / (double)(b.n ? b.n : 1));
		printf("first pass: %zu terms held at its end, %.0f bytes per "
		       "document with the filter\n", b.pass1_terms,
		       (double)b.pass1_bytes / (double)(b.n ? b.n : 1));
		printf("first pass: the terms of %zu of %zu documents counted\n",
		       b.sampled, b.n);
	}
	if (b.exact)
		df_error(b.exact, df);
	i = 0;
	if (b.check) {
		size_t diff = check(&b, sigs, ls, df, sn);

		printf("check: %zu of %zu signatures differ from "
		       "dedup_worker_sig()\n", diff, b.n);
		i = diff ? 1 : 0;
	}
	for (k = 0; k < b.n; k++)
		dedup_sig_release(&sigs[k]);
	free(sigs);
	free(assign);
	dedup_linestats_free(ls);
	dedup_df_free(df);
	dedup_sitenames_free(sn);
	dedup_df_free(b.exact);
	teardown(&b);
	return i;
}
