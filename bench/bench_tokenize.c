/*
 * bench_tokenize.c - speed of stage 3a, fast path against the ICU path.
 *
 *   bench_tokenize [-t SECONDS] [--sig|--count] [FILE|DIR...]
 *
 * Reads the files given (a directory: its regular files, not recursive),
 * or, with none, generates 2000 documents of about 4 KB of Latin-script
 * news-like text with numbers, quotes and dashes. Each path tokenizes the
 * whole set repeatedly for at least SECONDS (default 2) and the best
 * round is reported in MB/s and documents per second of CPU time on one
 * core, with the share of bytes the fast path handed to ICU. Build with
 * CMAKE_BUILD_TYPE=Release.
 *
 * --sig times the second pass's work after the tokenizer instead: the
 * document frequencies of the set are counted once (dedup_sig_count()),
 * then every document is tokenized and its event-level signature built
 * (dedup_sig_build()), rounds as above, reporting the microseconds per
 * document of each. Give it texts as the second pass sees them (`dedup
 * clean --out-dir`).
 *
 * --count times the first pass's term work instead: every document is
 * tokenized and its terms counted (dedup_sig_count()) into a table of
 * DEDUP_DF_BATCH documents, emptied after each batch as the pipeline's,
 * and, timed apart ("merge"), each batch merged into a bounded table of
 * the set (dedup_df_bound() for its documents, as a run without an
 * index). Give it texts as the first pass sees them (`dedup clean
 * --no-strip --out-dir`).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dedup/buf.h"
#include "dedup/sig.h"
#include "dedup/stopwords.h"
#include "dedup/tokenize.h"
#include "df_int.h"
#include "tokenize_int.h"

struct doc {
	char *text;
	size_t len;
};

static struct doc *docs;
static size_t ndocs, adocs, total;

static void add_doc(char *text, size_t len)
{
	if (ndocs == adocs) {
		adocs = adocs ? adocs * 2 : 256;
		docs = realloc(docs, adocs * sizeof(*docs));
		if (!docs) {
			fprintf(stderr, "bench_tokenize: out of memory\n");
			exit(1);
		}
	}
	docs[ndocs].text = text;
	docs[ndocs++].len = len;
	total += len;
}

static void read_file(const char *path)
{
	struct dedup_buf b = DEDUP_BUF_INIT;
	char chunk[65536], *text;
	size_t n;
	FILE *fp = fopen(path, "rb");

	if (!fp) {
		perror(path);
		exit(1);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (dedup_buf_add(&b, chunk, n)) {
			fprintf(stderr, "bench_tokenize: out of memory\n");
			exit(1);
		}
	fclose(fp);
	text = dedup_buf_detach(&b, &n);
	add_doc(text, n);
}

static void read_path(const char *path)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	char sub[4096];

	if (stat(path, &st)) {
		perror(path);
		exit(1);
	}
	if (!S_ISDIR(st.st_mode)) {
		read_file(path);
		return;
	}
	d = opendir(path);
	if (!d) {
		perror(path);
		exit(1);
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (!stat(sub, &st) && S_ISREG(st.st_mode))
			read_file(sub);
	}
	closedir(d);
}

static uint64_t rng = 0x243F6A8885A308D3ULL;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* Made-up words from syllables, with the punctuation of news text. */
static void generate(void)
{
	static const char *const syl[] = {
		"ta", "ren", "mo", "ka", "li", "ste", "an", "der", "vo", "qui",
		"sen", "ber", "la", "to", "ni", "gra", "el", "pu", "ro", "ma",
		"\xc3\xa9", "\xc3\xbc" "r", "\xc3\xb1" "o", "\xc3\x9f",
	};
	static const char *const sep[] = {
		" ", " ", " ", " ", " ", " ", " ", ", ", ". ", " \xe2\x80\x94 ",
		"\xe2\x80\x99s ", " \xe2\x80\x9c", "\xe2\x80\x9d ", "-", "\n",
	};
	size_t d;

	for (d = 0; d < 2000; d++) {
		struct dedup_buf b = DEDUP_BUF_INIT;
		char *text;
		size_t n;

		while (b.len < 4096) {
			int k, ns = 1 + (int)rnd(3);

			if (rnd(12) == 0) {
				dedup_buf_addf(&b, "%u", rnd(100000));
			} else {
				if (rnd(6) == 0)
					dedup_buf_addch(&b, 'A' + (int)rnd(26));
				for (k = 0; k < ns; k++)
					dedup_buf_addstr(&b,
						syl[rnd(sizeof(syl) /
							sizeof(syl[0]))]);
			}
			dedup_buf_addstr(&b, sep[rnd(sizeof(sep) /
						     sizeof(sep[0]))]);
		}
		text = dedup_buf_detach(&b, &n);
		add_doc(text, n);
	}
}

static double now(void)
{
	struct timespec ts;

	/*
	 * CPU time of this thread: the machine is shared, and the figure
	 * wanted is what one core does.
	 */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef dedup_status (*tok_fn)(struct dedup_tokenizer *, const char *,
			       size_t, struct dedup_tokens *,
			       struct dedup_error *);

static void run(const char *name, tok_fn fn, struct dedup_tokenizer *tk,
		double seconds)
{
	struct dedup_tokens out;
	struct dedup_error err;
	double best = 1e30, start = now(), t0, t;
	size_t i, ntok = 0;
	int rounds = 0;

	dedup_tokens_init(&out);
	tk->icu_run_bytes = 0;
	while (rounds < 2 || now() - start < seconds) {
		ntok = 0;
		t0 = now();
		for (i = 0; i < ndocs; i++) {
			if (fn(tk, docs[i].text, docs[i].len, &out, &err)) {
				fprintf(stderr, "bench_tokenize: %s\n",
					err.msg);
				exit(1);
			}
			ntok += out.n;
		}
		t = now() - t0;
		if (t < best)
			best = t;
		rounds++;
	}
	printf("%-5s %8.1f MB/s %9.0f docs/s %10.1f Mtokens/s  "
	       "icu share %.1f%%\n", name, total / best / 1e6, ndocs / best,
	       ntok / best / 1e6,
	       100.0 * (double)tk->icu_run_bytes / ((double)total * rounds));
	dedup_tokens_release(&out);
}

static void die(const char *msg)
{
	fprintf(stderr, "bench_tokenize: %s\n", msg);
	exit(1);
}

/* What --sig and --count use. */
struct terms_bench {
	struct dedup_stopwords *sw;
	struct dedup_sigbuilder *sb;
	struct dedup_tokens toks;
	struct dedup_df *df;
	struct dedup_dfbatch *batch; /* --count */
};

static void terms_setup(struct terms_bench *tb)
{
	struct dedup_sig_params p;
	struct dedup_error err;

	dedup_sig_params_default(&p, DEDUP_LEVEL_EVENT);
	if (dedup_stopwords_new(&tb->sw, &err) ||
	    dedup_sigbuilder_new(&tb->sb, &p, tb->sw, &err))
		die(err.msg);
	if (dedup_df_new(&tb->df) || dedup_dfbatch_new(&tb->batch))
		die("out of memory");
	dedup_tokens_init(&tb->toks);
}

static void terms_free(struct terms_bench *tb)
{
	dedup_tokens_release(&tb->toks);
	dedup_df_free(tb->df);
	dedup_dfbatch_free(tb->batch);
	dedup_sigbuilder_free(tb->sb);
	dedup_stopwords_free(tb->sw);
}

/*
 * A batch's terms into the run's table, then the batch emptied; returns
 * the CPU seconds of the merge.
 */
static double merge_batch(struct dedup_df *run, struct dedup_dfbatch *batch,
			  size_t *nterms)
{
	double t0 = now();

	if (dedup_df_merge_batch(run, batch))
		die("out of memory");
	t0 = now() - t0;
	*nterms += dedup_dfbatch_size(batch);
	dedup_dfbatch_clear(batch);
	return t0;
}

/*
 * Tokenize every document and sign it (count: count its terms into a
 * table of DEDUP_DF_BATCH documents, emptied after each batch, as the
 * first pass), rounds for at least `seconds`.
 */
static void run_terms(struct dedup_tokenizer *tk, double seconds, int count)
{
	struct terms_bench tb;
	struct dedup_error err;
	struct dedup_sig sig;
	double best_tok = 1e30, best_terms = 1e30, start, t_tok, t_terms, t0;
	double best_merge = 1e30, t_merge;
	struct dedup_df *run = NULL;
	size_t i, nterms = 0;
	int rounds = 0;

	terms_setup(&tb);
	dedup_sig_init(&sig);
	for (i = 0; !count && i < ndocs; i++)
		if (dedup_tokenize(tk, docs[i].text, docs[i].len, &tb.toks,
				   &err) ||
		    dedup_sig_count(tb.sb, &tb.toks, tb.df, &err))
			die(err.msg);
	dedup_df_prune(tb.df, 2);
	start = now();
	while (rounds < 2 || now() - start < seconds) {
		t_tok = t_terms = t_merge = 0;
		nterms = 0;
		if (count && (dedup_df_new(&run) || dedup_df_bound(run, ndocs)))
			die("out of memory");
		for (i = 0; i < ndocs; i++) {
			if (count && i && i % DEDUP_DF_BATCH == 0)
				t_merge += merge_batch(run, tb.batch, &nterms);
			t0 = now();
			if (dedup_tokenize(tk, docs[i].text, docs[i].len,
					   &tb.toks, &err))
				die(err.msg);
			t_tok += now() - t0;
			t0 = now();
			if (count ?
			    dedup_sig_count_batch(tb.sb, &tb.toks, tb.batch,
						  &err) :
			    dedup_sig_build(tb.sb, &tb.toks, docs[i].text,
					    docs[i].len, tb.df, NULL, &sig,
					    &err))
				die(err.msg);
			t_terms += now() - t0;
			nterms += sig.nterms;
		}
		if (count) {
			t_merge += merge_batch(run, tb.batch, &nterms);
			dedup_df_free(run);
		}
		if (t_tok < best_tok)
			best_tok = t_tok;
		if (t_terms < best_terms)
			best_terms = t_terms;
		if (t_merge < best_merge)
			best_merge = t_merge;
		rounds++;
	}
	printf("tokenize %6.1f us/doc  %s %6.1f us/doc  together %6.1f  "
	       "(%d rounds, %.1f terms %s)\n", best_tok / ndocs * 1e6,
	       count ? "count" : "sig", best_terms / ndocs * 1e6,
	       (best_tok + best_terms) / ndocs * 1e6, rounds,
	       (double)nterms / ndocs,
	       count ? "per document in the batch tables" : "per signature");
	if (count)
		printf("merge    %6.1f us/doc  (into a bounded table of %zu "
		       "documents)\n", best_merge / ndocs * 1e6, ndocs);
	dedup_sig_release(&sig);
	terms_free(&tb);
}

int main(int argc, char **argv)
{
	struct dedup_tokenizer *tk;
	struct dedup_error err;
	double seconds = 2;
	int i = 1, sig = 0, count = 0;

	for (; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "-t"))
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--sig"))
			sig = 1;
		else if (!strcmp(argv[i], "--count"))
			count = 1;
		else
			break;
	}
	for (; i < argc; i++)
		read_path(argv[i]);
	if (!ndocs)
		generate();
	if (dedup_tokenizer_new(&tk, &err)) {
		fprintf(stderr, "bench_tokenize: %s\n", err.msg);
		return 1;
	}
	printf("%zu documents, %.2f MB\n", ndocs, total / 1e6);
	if (sig || count) {
		run_terms(tk, seconds, count);
	} else {
		run("fast", dedup_tokenize, tk, seconds);
		run("icu", dedup_tokenize_icu, tk, seconds);
	}
	dedup_tokenizer_free(tk);
	for (i = 0; (size_t)i < ndocs; i++)
		free(docs[i].text);
	free(docs);
	return 0;
}
