/*
 * pipeline.c - wires read -> repair -> strip -> tokenize -> signature ->
 * cluster, for one document (worker) and for a whole run.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dedup/index.h"
#include "dedup/pipeline.h"
#include "dedup/repair.h"
#include "dedup/stopwords.h"
#include "dedup/strip.h"
#include "dedup/tokenize.h"
#include "dedup/walk.h"
#include "df_int.h"
#include "pathstore.h"

#define MAX_THREADS 256
#define DEFAULT_MAX_DOC (64u << 20)
#define DATELINE_BYTES 1024 /* where a page's dateline sits */
/*
 * Documents whose terms are counted (0: all). A sample bounds the first
 * pass's cost and the table, but a term it missed may be of one document
 * or shared: taken as shared, the terms of one document then weigh in,
 * which cost the real corpora 0.03 to 0.18 of ARI (bench/RESULTS.md). So
 * every document counts unless asked.
 */
#define DEFAULT_DF_SAMPLE 0
/*
 * The first pass hands out documents in chunks (df_int.h's batches), and
 * their document frequencies are merged chunk by chunk in input order:
 * the bounded table's counts depend on that order.
 */
#define CHUNK_DOCS DEDUP_DF_BATCH
/* Chunks a thread may finish ahead of the first one not merged yet. */
#define CHUNKS_AHEAD 8

void dedup_options_default(struct dedup_options *o, enum dedup_level level)
{
	memset(o, 0, sizeof(*o));
	dedup_sig_params_default(&o->sig, level);
	dedup_cluster_params_default(&o->cluster, level);
	o->strip = 1;
	o->corpus_lines = 1;
	o->builtin_rules = 1;
	o->max_doc_size = DEFAULT_MAX_DOC;
	o->df_sample = DEFAULT_DF_SAMPLE;
}

struct dedup_context {
	struct dedup_options o;
	struct dedup_rules *rules;
	struct dedup_stopwords *sw;
	uint64_t cleaning; /* hash of what changes cleaning, for indexes */
};

/* Options and rule files that change what a document's signature is. */
static dedup_status cleaning_hash(const struct dedup_options *o,
				  uint64_t *out, struct dedup_error *err)
{
	XXH3_state_t h;
	struct dedup_buf b = DEDUP_BUF_INIT;
	unsigned char flags[3];
	dedup_status st = DEDUP_OK;
	size_t i;

	flags[0] = (unsigned char)o->strip;
	flags[1] = (unsigned char)o->corpus_lines;
	flags[2] = (unsigned char)o->builtin_rules;
	XXH3_64bits_reset(&h);
	XXH3_64bits_update(&h, flags, sizeof(flags));
	for (i = 0; !st && i < o->n_rule_files; i++) {
		st = dedup_read_file(o->rule_files[i], 0, &b, err);
		XXH3_64bits_update(&h, b.buf, b.len + 1);
	}
	dedup_buf_release(&b);
	*out = XXH3_64bits_digest(&h);
	return st;
}

dedup_status dedup_context_new(struct dedup_context **out,
			       const struct dedup_options *o,
			       struct dedup_error *err)
{
	struct dedup_context *ctx;
	dedup_status st;
	size_t i;

	*out = NULL;
	st = dedup_sig_params_check(&o->sig, err);
	if (!st)
		st = dedup_cluster_params_check(&o->cluster, err);
	if (st)
		return st;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	ctx->o = *o;
	/* signatures name the band winners the clustering would draw */
	dedup_cluster_sig_params(&o->cluster, &ctx->o.sig);
	ctx->o.rule_files = NULL; /* not kept: the rules are compiled now */
	ctx->o.n_rule_files = 0;
	st = cleaning_hash(o, &ctx->cleaning, err);
	if (!st)
		st = dedup_stopwords_new(&ctx->sw, err);
	if (!st)
		st = dedup_rules_new(&ctx->rules, err);
	/*
	 * Without stripping no rule is used: the built-in ones are not worth
	 * compiling (most of the start-up), given files still are, so that a
	 * broken one is reported whatever the options.
	 */
	if (!st && o->builtin_rules && o->strip)
		st = dedup_rules_add_builtin(ctx->rules, err);
	for (i = 0; !st && i < o->n_rule_files; i++)
		st = dedup_rules_add_file(ctx->rules, o->rule_files[i], err);
	if (st) {
		dedup_context_free(ctx);
		return st;
	}
	*out = ctx;
	return DEDUP_OK;
}

void dedup_context_free(struct dedup_context *ctx)
{
	if (!ctx)
		return;
	dedup_rules_free(ctx->rules);
	dedup_stopwords_free(ctx->sw);
	free(ctx);
}

const struct dedup_options *dedup_context_options(
	const struct dedup_context *ctx)
{
	return &ctx->o;
}

dedup_status dedup_context_index_settings(const struct dedup_context *ctx,
					  struct dedup_index_settings *set,
					  struct dedup_error *err)
{
	const struct dedup_cluster_params *p = &ctx->o.cluster;

	(void)err;
	memset(set, 0, sizeof(*set));
	set->sig = ctx->o.sig;
	set->nhash = p->nhash;
	set->top_terms = p->top_terms;
	set->bands = dedup_cluster_bands(p);
	set->rows = p->rows;
	if (!p->bands)
		dedup_lsh_optimal(p->lsh_threshold, p->nhash, &set->bands,
				  &set->rows);
	set->cleaning = ctx->cleaning;
	return DEDUP_OK;
}

struct dedup_worker {
	const struct dedup_context *ctx;
	struct dedup_repair *repair;
	struct dedup_stripper *stripper;
	struct dedup_tokenizer *tok;
	struct dedup_sigbuilder *sb;
	struct dedup_buf text, clean;
	struct dedup_buf warning; /* why the last document was cleaned less */
	struct dedup_tokens tokens;
};

/* sig: with what dedup_worker_sig() needs, not only dedup_worker_clean() */
static dedup_status worker_new(struct dedup_worker **out,
			       const struct dedup_context *ctx, int sig,
			       struct dedup_error *err)
{
	struct dedup_worker *w = calloc(1, sizeof(*w));
	dedup_status st;

	*out = NULL;
	if (!w)
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	w->ctx = ctx;
	dedup_buf_init(&w->text);
	dedup_buf_init(&w->clean);
	dedup_buf_init(&w->warning);
	dedup_tokens_init(&w->tokens);
	st = dedup_repair_new(&w->repair, err);
	if (!st && ctx->o.strip)
		st = dedup_stripper_new(&w->stripper, ctx->rules, ctx->sw, err);
	if (!st && sig)
		st = dedup_tokenizer_new(&w->tok, err);
	if (!st && sig)
		st = dedup_sigbuilder_new(&w->sb, &ctx->o.sig, ctx->sw, err);
	if (st) {
		dedup_worker_free(w);
		return st;
	}
	*out = w;
	return DEDUP_OK;
}

dedup_status dedup_worker_new(struct dedup_worker **out,
			      const struct dedup_context *ctx,
			      struct dedup_error *err)
{
	return worker_new(out, ctx, 1, err);
}

dedup_status dedup_worker_new_clean(struct dedup_worker **out,
				    const struct dedup_context *ctx,
				    struct dedup_error *err)
{
	return worker_new(out, ctx, 0, err);
}

void dedup_worker_free(struct dedup_worker *w)
{
	if (!w)
		return;
	dedup_repair_free(w->repair);
	dedup_stripper_free(w->stripper);
	dedup_tokenizer_free(w->tok);
	dedup_sigbuilder_free(w->sb);
	dedup_buf_release(&w->text);
	dedup_buf_release(&w->clean);
	dedup_buf_release(&w->warning);
	dedup_tokens_release(&w->tokens);
	free(w);
}

/*
 * dedup_worker_clean(); `verbatim`: the bytes are known to come out of the
 * repair as they went in (the first pass saw them so), and are taken as
 * the text without repairing them again.
 */
static dedup_status worker_clean(struct dedup_worker *w, const char *bytes,
				 size_t len, int verbatim, int strip,
				 const struct dedup_linestats *lines,
				 struct dedup_buf *out, struct dedup_buf *log,
				 struct dedup_error *err)
{
	struct dedup_strip_opts so = { 1, 1, lines };
	struct dedup_buf *text = strip ? &w->text : out;
	dedup_status st = DEDUP_OK;

	dedup_buf_reset(&w->warning);
	if (strip && !w->stripper)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "stripping asked of a context without it");
	if (!verbatim) {
		st = dedup_repair_decode(w->repair, bytes, len, text, NULL,
					 err);
	} else {
		dedup_buf_reset(text);
		if (dedup_buf_add(text, bytes, len))
			st = dedup_error_set(err, DEDUP_ENOMEM,
					     "out of memory");
	}
	if (st || !strip)
		return st;
	st = dedup_strip(w->stripper, &so, w->text.buf, w->text.len, out,
			 log, err);
	/* A runaway rule is skipped for this document; the text stands. */
	if (st == DEDUP_ELIMIT) {
		dedup_buf_addstr(&w->warning, err && err->msg[0] ? err->msg :
				 dedup_strerror(st));
		st = DEDUP_OK;
	}
	return st;
}

dedup_status dedup_worker_clean(struct dedup_worker *w, const char *bytes,
				size_t len, int strip,
				const struct dedup_linestats *lines,
				struct dedup_buf *out, struct dedup_buf *log,
				struct dedup_error *err)
{
	return worker_clean(w, bytes, len, 0, strip, lines, out, log, err);
}

const char *dedup_worker_warning(const struct dedup_worker *w)
{
	return w->warning.len ? w->warning.buf : NULL;
}

/* dedup_worker_sig(); `verbatim` as worker_clean() takes it. */
static dedup_status worker_sig(struct dedup_worker *w, const char *bytes,
			       size_t len, int verbatim,
			       const struct dedup_linestats *lines,
			       const struct dedup_df *df,
			       const struct dedup_sitenames *site,
			       struct dedup_sig *sig, struct dedup_error *err)
{
	dedup_status st;

	if (!w->tok)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "signature asked of a worker made for cleaning");
	st = worker_clean(w, bytes, len, verbatim, w->ctx->o.strip, lines,
			  &w->clean, NULL, err);
	if (st)
		return st;
	st = dedup_tokenize(w->tok, w->clean.buf, w->clean.len, &w->tokens,
			    err);
	if (st)
		return st;
	st = dedup_sig_build(w->sb, &w->tokens, w->clean.buf, w->clean.len,
			     df, site, sig, err);
	/*
	 * A dateline ("Published 11 Oct 2023", "Update: 2023-10-13") is
	 * boilerplate to the stripper but dates the report: without a date in
	 * the body, look in the head of the page.
	 */
	if (!st && sig->date == DEDUP_DATE_NONE && w->ctx->o.strip)
		sig->date = dedup_sig_date(w->text.buf, w->text.len < DATELINE_BYTES ?
					   w->text.len : DATELINE_BYTES);
	return st;
}

dedup_status dedup_worker_sig(struct dedup_worker *w, const char *bytes,
			      size_t len, const struct dedup_linestats *lines,
			      const struct dedup_df *df,
			      const struct dedup_sitenames *site,
			      struct dedup_sig *sig, struct dedup_error *err)
{
	return worker_sig(w, bytes, len, 0, lines, df, site, sig, err);
}

/* The first line with text: a scraped page's title. */
static const char *first_line(const char *text, size_t len, size_t *n)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *q = nl ? nl : end, *r;

		for (r = p; r < q && (*r == ' ' || *r == '\t' || *r == '\r'); r++)
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

/*
 * What the first pass remembers of a document the repair left as it was
 * (most are clean UTF-8): a hash of its bytes, never 0. The second pass
 * takes bytes with the same hash as they are, without repairing them
 * again; a file changed in between is repaired.
 */
static uint32_t verbatim_mark(const char *bytes, size_t len)
{
	uint64_t h64 = XXH3_64bits(bytes, len);
	uint32_t h = (uint32_t)(h64 ^ h64 >> 32);

	return h ? h : 1;
}

/*
 * First-pass work on one document: recurring lines, the headline's site
 * pieces, and the document frequencies of its terms (each counted unless
 * its table is NULL). The whole repaired text is counted: boilerplate
 * words only look more common than they are.
 */
static dedup_status worker_observe(struct dedup_worker *w, const char *bytes,
				   size_t len, struct dedup_linestats *ls,
				   struct dedup_sitenames *sn,
				   struct dedup_dfbatch *df, uint32_t *verbatim,
				   struct dedup_error *err)
{
	const char *line, *text;
	size_t n, tlen;
	dedup_status st;

	/* most texts need nothing: they are counted where they were read */
	st = dedup_repair_text(w->repair, bytes, len, &text, &tlen, NULL, err);
	if (st)
		return st;
	*verbatim = 0;
	if (tlen == len && (text == bytes || !memcmp(text, bytes, len)))
		*verbatim = verbatim_mark(bytes, len);
	if (ls && dedup_linestats_observe(ls, text, tlen))
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	line = sn ? first_line(text, tlen, &n) : NULL;
	if (line) {
		st = dedup_tokenize(w->tok, line, n, &w->tokens, err);
		if (!st)
			st = dedup_sitenames_observe(sn, line, n, &w->tokens);
		if (st)
			return dedup_error_set(err, st, "%s", dedup_strerror(st));
	}
	if (!df)
		return DEDUP_OK; /* not in the sample whose terms are counted */
	st = dedup_tokenize(w->tok, text, tlen, &w->tokens, err);
	if (!st)
		st = dedup_sig_count_batch(w->sb, &w->tokens, df, err);
	return st;
}

/* ---- runs ---- */

/*
 * What a run keeps of each document until its records are written, for a
 * million documents at once: 2 bytes, the path in the run's path store
 * (by the document's number), and what only a few documents need (a
 * failure, a warning, the bytes of a stream, an indexed representative)
 * in a block of their own, found by the document's number in the run's
 * table of extras.
 */
struct doc_extra {
	char *bytes;       /* a stream's bytes, read once and kept */
	size_t len;
	char *message;     /* why it could not be processed */
	char *warning;     /* processed, but with this to tell */
	char *rep_ext;     /* representative's path, when it is indexed */
};

struct doc {
	unsigned char status; /* a dedup_status */
	unsigned char stream : 1; /* "-", a pipe or a device: read once, kept */
	unsigned char empty : 1;
	unsigned char indexed : 1; /* found in the index with that content */
	unsigned char keep : 1;
	unsigned char extra : 1; /* has a struct doc_extra in run->xs */
};

_Static_assert(sizeof(struct doc) == 2, "a document's record grew");

/*
 * The documents' extras by document number: an open-addressing table
 * that the threads of a pass add to (failures, warnings) under its lock.
 * Only a document whose `extra` bit is set is looked up.
 */
struct extra_slot {
	uint32_t doc;          /* the document's number + 1, 0: empty */
	struct doc_extra *x;
};

struct extras {
	pthread_mutex_t lock;
	struct extra_slot *slot;
	size_t mask;           /* slots - 1, a power of 2 less one */
	size_t used;
};

struct dedup_run {
	const struct dedup_context *ctx;
	struct doc *docs;
	size_t n, alloc;
	struct pathstore paths;            /* document i's is path i */
	struct extras *xs;                 /* the documents' extras */
	/*
	 * By document, from the first pass to the end of the second (not
	 * at the clustering's peak): verbatim_mark() of bytes repair keeps,
	 * or 0. 32 bits are enough: unchanged bytes always match, and a file
	 * changed between the passes gets past it once in four billion times
	 * (its new bytes then skip the repair, as if found clean before).
	 */
	uint32_t *verbatim;
	/* dedup_run_doc()'s two paths, pathstore_max() + 1 bytes each */
	char *info_paths;
	size_t info_size;
	struct dedup_sig *sigs;
	struct dedup_sigstore *sigstore;   /* where sigs[] are kept */
	struct dedup_sig *store;   /* with an index: the signatures it keeps */
	struct dedup_assign *assign;
	struct dedup_linestats *lines;     /* counted in this run */
	struct dedup_linestats *lines_all; /* with the index's, or NULL */
	struct dedup_df *df;               /* counted in this run */
	struct dedup_df *df_all;           /* with the index's, or NULL */
	struct dedup_sitenames *site;      /* site-name words of this run */
	uint64_t df_share; /* path hashes below it: terms counted, 0: all */
	int counted;                       /* lines counted (first pass) */
	int terms_counted;                 /* terms and site names too */
	struct dedup_index *ix;
	struct dedup_cluster_stats stats;
};

void dedup_run_set_index(struct dedup_run *run, struct dedup_index *ix)
{
	run->ix = ix;
}

/* The line counts stripping uses: this run's, plus the index's. */
static const struct dedup_linestats *strip_lines(const struct dedup_run *run)
{
	return run->lines_all ? run->lines_all : run->lines;
}

dedup_status dedup_run_new(struct dedup_run **out,
			   const struct dedup_context *ctx,
			   struct dedup_error *err)
{
	struct dedup_run *run = calloc(1, sizeof(*run));

	*out = NULL;
	if (!run)
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	run->ctx = ctx;
	run->xs = calloc(1, sizeof(*run->xs));
	if (!run->xs || pthread_mutex_init(&run->xs->lock, NULL)) {
		free(run->xs);
		free(run);
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	}
	*out = run;
	return DEDUP_OK;
}

void dedup_run_free(struct dedup_run *run)
{
	size_t i;

	if (!run)
		return;
	for (i = 0; i < run->n; i++) {
		if (run->sigs)
			dedup_sig_release(&run->sigs[i]);
		if (run->store)
			dedup_sig_release(&run->store[i]);
	}
	for (i = 0; run->xs->slot && i <= run->xs->mask; i++) {
		struct doc_extra *x = run->xs->slot[i].x;

		if (x) {
			free(x->bytes);
			free(x->message);
			free(x->rep_ext);
			free(x->warning);
			free(x);
		}
	}
	free(run->xs->slot);
	pthread_mutex_destroy(&run->xs->lock);
	free(run->xs);
	pathstore_release(&run->paths);
	free(run->info_paths);
	free(run->verbatim);
	free(run->docs);
	free(run->sigs);
	dedup_sigstore_free(run->sigstore);
	free(run->store);
	free(run->assign);
	dedup_linestats_free(run->lines);
	dedup_linestats_free(run->lines_all);
	dedup_df_free(run->df);
	dedup_df_free(run->df_all);
	dedup_sitenames_free(run->site);
	free(run);
}

/* The slot of document i in xs (with its lock held): its own, or empty. */
static struct extra_slot *extras_slot(const struct extras *xs, size_t i)
{
	size_t h = (size_t)(((uint64_t)i * 0x9e3779b97f4a7c15u) >> 32);

	for (;; h++) {
		struct extra_slot *sl = &xs->slot[h & xs->mask];

		if (!sl->doc || sl->doc == i + 1)
			return sl;
	}
}

/* Twice the slots (or the first 64), with xs->lock held; -1: no memory. */
static int extras_grow(struct extras *xs)
{
	size_t n = xs->slot ? (xs->mask + 1) * 2 : 64, i;
	struct extras bigger = { .mask = n - 1, .used = xs->used };

	bigger.slot = calloc(n, sizeof(*bigger.slot));
	if (!bigger.slot)
		return -1;
	for (i = 0; xs->slot && i <= xs->mask; i++)
		if (xs->slot[i].doc)
			*extras_slot(&bigger, xs->slot[i].doc - 1) =
				xs->slot[i];
	free(xs->slot);
	xs->slot = bigger.slot;
	xs->mask = bigger.mask;
	return 0;
}

/* The rare fields of document i, or NULL when it has none. */
static struct doc_extra *doc_x(const struct dedup_run *run, size_t i)
{
	struct extras *xs = run->xs;
	struct doc_extra *x;

	if (!run->docs[i].extra)
		return NULL;
	pthread_mutex_lock(&xs->lock);
	x = extras_slot(xs, i)->x;
	pthread_mutex_unlock(&xs->lock);
	return x;
}

/*
 * The rare fields of document i, made on first use; NULL when out of
 * memory. Threads of a pass call it for their own documents.
 */
static struct doc_extra *doc_extra(struct dedup_run *run, size_t i)
{
	struct extras *xs = run->xs;
	struct extra_slot *sl;
	struct doc_extra *x = doc_x(run, i);

	if (x)
		return x;
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	pthread_mutex_lock(&xs->lock);
	/* at most half full: a lookup ends at an empty slot soon */
	if ((xs->used + 1) * 2 > (xs->slot ? xs->mask + 1 : 0) &&
	    extras_grow(xs)) {
		pthread_mutex_unlock(&xs->lock);
		free(x);
		return NULL;
	}
	sl = extras_slot(xs, i);
	sl->doc = (uint32_t)i + 1;
	sl->x = x;
	xs->used++;
	pthread_mutex_unlock(&xs->lock);
	run->docs[i].extra = 1;
	return x;
}

static void doc_fail(struct dedup_run *run, size_t i, const char *path,
		     dedup_status st, const struct dedup_error *err)
{
	const char *why = err && err->msg[0] ? err->msg : dedup_strerror(st);
	struct dedup_buf b = DEDUP_BUF_INIT;
	struct doc *d = &run->docs[i];
	struct doc_extra *x;

	if (d->status)
		return; /* the first reason stands */
	d->status = (unsigned char)st;
	x = doc_extra(run, i);
	if (!x)
		return; /* dedup_run_doc() tells the status alone */
	free(x->message);
	/* every message names its file: readers do, later stages may not */
	if (strstr(why, path) || dedup_buf_addf(&b, "'%s': %s", path, why))
		x->message = strdup(why);
	else
		x->message = dedup_buf_detach(&b, NULL);
	dedup_buf_release(&b);
}

/*
 * Path i into buf, of pathstore_max() + 1 bytes (a worker's, or one of
 * run->info_paths).
 */
static const char *doc_path(const struct dedup_run *run, size_t i, char *buf)
{
	return pathstore_get(&run->paths, i, buf);
}

/* A buffer for any path of the run; NULL when out of memory. */
static char *path_buf(const struct dedup_run *run)
{
	return malloc(pathstore_max(&run->paths) + 1);
}

dedup_status dedup_run_add(struct dedup_run *run, const char *path,
			   struct dedup_error *err)
{
	struct stat sb;
	int stream = !strcmp(path, "-") ||
		     (!stat(path, &sb) && !S_ISREG(sb.st_mode) &&
		      !S_ISDIR(sb.st_mode));

	return dedup_run_add_walked(run, path, stream, err);
}

dedup_status dedup_run_add_walked(struct dedup_run *run, const char *path,
				  int stream, struct dedup_error *err)
{
	struct doc *d;

	/* documents are numbered in 32 bits (extras, the clustering) */
	if (run->n >= UINT32_MAX - 1)
		return dedup_error_set(err, DEDUP_ETOOBIG,
				       "too many documents in one run");
	if (run->n == run->alloc) {
		size_t na = run->alloc ? run->alloc * 2 : 256;
		struct doc *v = realloc(run->docs, na * sizeof(*v));

		if (!v)
			return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
		run->docs = v;
		run->alloc = na;
	}
	/* dedup_run_doc() decodes into buffers that must not fail then */
	if (strlen(path) >= run->info_size) {
		size_t size = strlen(path) + 1;
		char *v;

		if (size < run->info_size * 2)
			size = run->info_size * 2;
		v = size <= SIZE_MAX / 2 ? realloc(run->info_paths, 2 * size) :
		    NULL;
		if (!v)
			return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
		run->info_paths = v;
		run->info_size = size;
	}
	if (pathstore_add(&run->paths, path))
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	d = &run->docs[run->n];
	memset(d, 0, sizeof(*d));
	run->n++;
	if (stream) {
		struct dedup_buf b = DEDUP_BUF_INIT;
		struct dedup_error e;
		dedup_status st;

		d->stream = 1;
		st = dedup_read_file(path, run->ctx->o.max_doc_size, &b, &e);
		if (st) {
			doc_fail(run, run->n - 1, path, st, &e);
			dedup_buf_release(&b);
		} else {
			struct doc_extra *x = doc_extra(run, run->n - 1);

			if (x) {
				x->len = b.len;
				x->bytes = dedup_buf_detach(&b, NULL);
			}
			dedup_buf_release(&b);
			if (!x || !x->bytes) {
				d->status = DEDUP_ENOMEM; /* no bytes to read */
				return dedup_error_set(err, DEDUP_ENOMEM,
						       "out of memory");
			}
		}
	}
	return DEDUP_OK;
}

/* dedup_run_read() of document i, whose path is decoded already. */
static dedup_status read_doc(const struct dedup_run *run, size_t i,
			     const char *path, struct dedup_buf *out,
			     struct dedup_error *err)
{
	const struct doc *d = &run->docs[i];
	const struct doc_extra *x = doc_x(run, i);

	if (d->status)
		return dedup_error_set(err, d->status, "%s",
				       x && x->message ? x->message :
				       dedup_strerror(d->status));
	if (d->stream) {
		dedup_buf_reset(out);
		if (dedup_buf_add(out, x->bytes, x->len))
			return dedup_error_set(err, DEDUP_ENOMEM,
					       "out of memory");
		return DEDUP_OK;
	}
	return dedup_read_file(path, run->ctx->o.max_doc_size, out, err);
}

dedup_status dedup_run_read(const struct dedup_run *run, size_t i,
			    struct dedup_buf *out, struct dedup_error *err)
{
	char *path = path_buf(run);
	dedup_status st;

	if (!path)
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	st = read_doc(run, i, doc_path(run, i, path), out, err);
	free(path);
	return st;
}

/* One pass over the documents, spread over threads. */
struct pass {
	struct dedup_run *run;
	int second;                  /* 0: count, 1: signatures */
	int lines, terms;            /* what a first pass counts */
	atomic_size_t next;          /* next document, or chunk (first pass) */
	pthread_mutex_t lock;        /* guards the chunks' hand-over and the
					merges of a thread's tables at its end */
	pthread_cond_t merged_cond;  /* a chunk was merged, or a thread failed */
	size_t merged;               /* chunks merged into run->df */
	int merging;                 /* a thread is merging parked chunks */
	struct dedup_dfbatch *ahead[CHUNKS_AHEAD]; /* parked, by chunk */
	struct dedup_dfbatch *spare; /* merged and cleared, for a next chunk */
	dedup_status fatal;
	struct dedup_error fatal_err;
};

/*
 * The signature an index keeps for later runs. Tonight's run compares
 * documents without the terms only one of them has (they cannot be
 * shared tonight), but a report on a later night may share them: the
 * stored signature keeps them, weighted as if seen twice.
 */
static dedup_status store_sig(struct dedup_worker *w, struct dedup_run *run,
			      size_t i, struct dedup_error *err)
{
	dedup_status st;

	dedup_sigbuilder_set_min_df(w->sb, 1);
	st = dedup_sig_build(w->sb, &w->tokens, w->clean.buf, w->clean.len,
			     dedup_run_df(run), run->site, &run->store[i], err);
	dedup_sigbuilder_set_min_df(w->sb, 2);
	if (!st)
		run->store[i].date = run->sigs[i].date;
	return st;
}

/*
 * Hand on the document frequencies of chunk c, sealed, and take a table
 * for the next. The run's table takes the chunks in order: each is
 * parked in ps->ahead, and one thread at a time (ps->merging) merges,
 * outside the lock, the parked chunks that come next, until the next is
 * not there yet. A thread that finishes a chunk while another merges
 * goes on at once: it waited for the lock for as long as the merge, up
 * to a tenth of the first pass at two threads. It waits only when it is
 * CHUNKS_AHEAD chunks ahead of the merges.
 */
static dedup_status chunk_done(struct pass *ps, size_t c,
			       struct dedup_dfbatch **df)
{
	struct dedup_dfbatch *t = *df;
	dedup_status st = DEDUP_OK;

	*df = NULL;
	pthread_mutex_lock(&ps->lock);
	while (c >= ps->merged + CHUNKS_AHEAD && !ps->fatal)
		pthread_cond_wait(&ps->merged_cond, &ps->lock);
	if (ps->fatal) {
		/* run_pass() frees what is parked */
		st = ps->fatal;
		dedup_dfbatch_free(t);
		goto out;
	}
	ps->ahead[c % CHUNKS_AHEAD] = t;
	if (ps->merging)
		goto out;
	ps->merging = 1;
	while ((t = ps->ahead[ps->merged % CHUNKS_AHEAD]) && !st) {
		ps->ahead[ps->merged % CHUNKS_AHEAD] = NULL;
		pthread_mutex_unlock(&ps->lock);
		/* run->df is the merging thread's alone */
		if (dedup_df_merge_batch(ps->run->df, t))
			st = DEDUP_ENOMEM;
		pthread_mutex_lock(&ps->lock);
		if (!st)
			ps->merged++;
		/* kept for the next chunk of whoever asks */
		if (!st && !ps->spare) {
			dedup_dfbatch_clear(t);
			ps->spare = t;
		} else {
			dedup_dfbatch_free(t);
		}
		pthread_cond_broadcast(&ps->merged_cond);
	}
	ps->merging = 0;
out:
	if (!st && ps->spare) {
		*df = ps->spare;
		ps->spare = NULL;
	}
	pthread_mutex_unlock(&ps->lock);
	if (!st && !*df && dedup_dfbatch_new(df))
		st = DEDUP_ENOMEM;
	return st;
}

/* The next document of the pass, or run->n when none is left. */
static size_t next_doc(struct pass *ps, size_t *chunk, size_t *end,
		       size_t i)
{
	size_t n = ps->run->n;

	if (ps->second)
		return atomic_fetch_add(&ps->next, 1);
	if (i + 1 < *end)
		return i + 1;
	*chunk = atomic_fetch_add(&ps->next, 1);
	if (*chunk >= (n + CHUNK_DOCS - 1) / CHUNK_DOCS)
		return n;
	*end = *chunk * CHUNK_DOCS + CHUNK_DOCS < n ?
	       *chunk * CHUNK_DOCS + CHUNK_DOCS : n;
	return *chunk * CHUNK_DOCS;
}

static void *pass_thread(void *arg)
{
	struct pass *ps = arg;
	struct dedup_run *run = ps->run;
	struct dedup_worker *w = NULL;
	struct dedup_linestats *ls = NULL;
	struct dedup_sitenames *sn = NULL;
	struct dedup_dfbatch *df = NULL;
	struct dedup_buf bytes = DEDUP_BUF_INIT;
	struct dedup_error err;
	dedup_status st;
	size_t i, chunk = 0, end = 0;
	char *pbuf = path_buf(run);

	dedup_error_clear(&err);
	st = dedup_worker_new(&w, run->ctx, &err);
	if (!st && !pbuf)
		st = dedup_error_set(&err, DEDUP_ENOMEM, "out of memory");
	if (!st && !ps->second && ps->lines && run->lines)
		st = dedup_linestats_new(&ls, &err);
	if (!st && !ps->second && ps->terms &&
	    (dedup_dfbatch_new(&df) || dedup_sitenames_new(&sn)))
		st = dedup_error_set(&err, DEDUP_ENOMEM, "out of memory");
	if (st)
		goto out;
	for (i = next_doc(ps, &chunk, &end, SIZE_MAX - 1); i < run->n;
	     i = next_doc(ps, &chunk, &end, i)) {
		struct doc *d = &run->docs[i];
		const char *path = doc_path(run, i, pbuf);

		dedup_error_clear(&err);
		st = DEDUP_OK;
		if (!d->status) /* else reported already */
			st = read_doc(run, i, path, &bytes, &err);
		if (d->status) {
			/* nothing to count */
		} else if (!st && !ps->second) {
			st = worker_observe(w, bytes.buf, bytes.len, ls, sn,
					    df && dedup_df_sampled(run->df_share,
								   path) ?
					    df : NULL,
					    &run->verbatim[i], &err);
		} else if (!st) {
			uint32_t mark = run->verbatim ? run->verbatim[i] : 0;
			int verbatim = mark &&
				mark == verbatim_mark(bytes.buf, bytes.len);

			st = worker_sig(w, bytes.buf, bytes.len, verbatim,
					strip_lines(run), dedup_run_df(run),
					run->site, &run->sigs[i], &err);
			/* kept with the others, without a block each */
			if (!st && dedup_sig_keep(run->sigstore, &run->sigs[i]))
				st = dedup_error_set(&err, DEDUP_ENOMEM,
						     "out of memory");
			if (!st && run->store)
				st = store_sig(w, run, i, &err);
			if (!st && !run->sigs[i].nwords)
				d->empty = 1;
			if (!st && w->warning.len) {
				struct doc_extra *x = doc_extra(run, i);

				if (x && !x->warning)
					x->warning = strdup(w->warning.buf);
			}
		}
		if (st == DEDUP_ENOMEM)
			goto out;
		if (st) {
			doc_fail(run, i, path, st, &err);
			st = DEDUP_OK;
		}
		if (!ps->second && ps->terms && i + 1 == end) {
			st = dedup_dfbatch_seal(df);
			if (!st)
				st = chunk_done(ps, chunk, &df);
			if (st == DEDUP_ENOMEM)
				dedup_error_set(&err, st, "out of memory");
			if (st)
				goto out;
		}
	}
	pthread_mutex_lock(&ps->lock);
	if (ls && dedup_linestats_merge(run->lines, ls))
		st = dedup_error_set(&err, DEDUP_ENOMEM, "out of memory");
	if (sn && dedup_sitenames_merge(run->site, sn))
		st = dedup_error_set(&err, DEDUP_ENOMEM, "out of memory");
	pthread_mutex_unlock(&ps->lock);
out:
	if (st) {
		pthread_mutex_lock(&ps->lock);
		if (!ps->fatal) {
			ps->fatal = st;
			ps->fatal_err = err;
		}
		pthread_cond_broadcast(&ps->merged_cond);
		pthread_mutex_unlock(&ps->lock);
		/* let the other threads finish early */
		atomic_store(&ps->next, run->n);
	}
	dedup_buf_release(&bytes);
	free(pbuf);
	dedup_linestats_free(ls);
	dedup_sitenames_free(sn);
	dedup_dfbatch_free(df);
	dedup_worker_free(w);
	return NULL;
}

static unsigned thread_count(const struct dedup_run *run)
{
	unsigned t = run->ctx->o.threads;

	if (!t) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		t = c > 0 ? (unsigned)c : 1;
	}
	if (t > MAX_THREADS)
		t = MAX_THREADS;
	if (t > run->n)
		t = run->n ? (unsigned)run->n : 1;
	return t;
}

/* second: the signatures, else a first pass counting lines and/or terms */
static dedup_status run_pass(struct dedup_run *run, int second, int lines,
			     int terms, struct dedup_error *err)
{
	struct pass ps = { .run = run, .second = second, .lines = lines,
			   .terms = terms };
	pthread_t tid[MAX_THREADS];
	unsigned t, nt = thread_count(run), started = 0;

	atomic_init(&ps.next, 0);
	pthread_mutex_init(&ps.lock, NULL);
	pthread_cond_init(&ps.merged_cond, NULL);
	for (t = 1; t < nt; t++) {
		if (pthread_create(&tid[t], NULL, pass_thread, &ps))
			break;
		started++;
	}
	pass_thread(&ps); /* the calling thread works too */
	for (t = 1; t <= started; t++)
		pthread_join(tid[t], NULL);
	pthread_mutex_destroy(&ps.lock);
	pthread_cond_destroy(&ps.merged_cond);
	for (t = 0; t < CHUNKS_AHEAD; t++)
		dedup_dfbatch_free(ps.ahead[t]); /* left by a failure */
	dedup_dfbatch_free(ps.spare);
	if (ps.fatal) {
		if (err)
			*err = ps.fatal_err;
		return ps.fatal;
	}
	return DEDUP_OK;
}

/*
 * The first pass: the recurring lines unless counted already, and with
 * `terms` the site names and the frequencies of terms, unless counted
 * already. `dedup clean` needs the lines only: tokenizing every text and
 * counting its terms were most of its first pass.
 */
static dedup_status first_pass(struct dedup_run *run, int terms,
			       struct dedup_error *err)
{
	const struct dedup_options *o = &run->ctx->o;
	int lines = !run->counted;
	dedup_status st;

	if (run->terms_counted || !terms)
		terms = 0;
	if (!lines && !terms)
		return DEDUP_OK;
	if (lines && o->strip && o->corpus_lines) {
		st = dedup_linestats_new(&run->lines, err);
		if (st)
			return st;
	}
	if (terms && (dedup_df_new(&run->df) || dedup_sitenames_new(&run->site)))
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	/*
	 * Without an index only the terms of two documents or more are
	 * used (dedup_run_execute() prunes the others): they are all the
	 * table needs to hold. An index stores every count.
	 */
	if (terms && !run->ix)
		run->df_share = dedup_df_share(o->df_sample, run->n);
	if (terms && !run->ix &&
	    dedup_df_bound(run->df, run->df_share ? o->df_sample : run->n))
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	if (!run->verbatim)
		run->verbatim = calloc(run->n ? run->n : 1,
				       sizeof(*run->verbatim));
	if (!run->verbatim)
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	st = run_pass(run, 0, lines, terms, err);
	if (st)
		return st;
	run->counted = 1;
	if (terms) {
		/* a piece of title in two documents names a site, not an event */
		dedup_sitenames_freeze(run->site, 2);
		run->terms_counted = 1;
	}
	return DEDUP_OK;
}

dedup_status dedup_run_count_lines(struct dedup_run *run,
				   struct dedup_error *err)
{
	return first_pass(run, 0, err);
}

const struct dedup_linestats *dedup_run_lines(const struct dedup_run *run)
{
	return strip_lines(run);
}

/* Ascending unique ids. */
struct idset {
	uint32_t *v;
	size_t n, alloc;
};

static int idset_add(uint32_t id, void *arg)
{
	struct idset *s = arg;

	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 256;
		uint32_t *v = realloc(s->v, na * sizeof(*v));

		if (!v)
			return -1;
		s->v = v;
		s->alloc = na;
	}
	s->v[s->n++] = id;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void idset_sort(struct idset *s)
{
	size_t i, j = 0;

	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
	for (i = 0; i < s->n; i++)
		if (!j || s->v[i] != s->v[j - 1])
			s->v[j++] = s->v[i];
	s->n = j;
}

static uint32_t idset_find(const struct idset *s, uint32_t id)
{
	const uint32_t *p = bsearch(&id, s->v, s->n, sizeof(id), cmp_u32);

	return p ? (uint32_t)(p - s->v) : UINT32_MAX;
}

static char *entry_path(const struct dedup_index_entry *e)
{
	char *p = malloc(e->path_len + 1);

	if (p) {
		memcpy(p, e->path, e->path_len);
		p[e->path_len] = '\0';
	}
	return p;
}

/* Every document its own cluster, until the clustering says otherwise. */
static int assign_new(struct dedup_run *run)
{
	size_t i;

	run->assign = malloc((run->n ? run->n : 1) * sizeof(*run->assign));
	if (!run->assign)
		return -1;
	for (i = 0; i < run->n; i++) {
		run->assign[i].rep = (uint32_t)i;
		run->assign[i].score = 1;
	}
	return 0;
}

/* A document already indexed with this content: report what is stored. */
static dedup_status index_repeat(struct dedup_run *run, struct doc *d,
				 uint32_t id, struct dedup_error *err)
{
	struct dedup_index_entry e, r;
	struct doc_extra *x;
	dedup_status st;

	st = dedup_index_entry(run->ix, id, &e, err);
	if (!st)
		st = dedup_index_entry(run->ix, e.rep, &r, err);
	if (st)
		return st;
	d->indexed = 1;
	d->keep = e.rep == id;
	x = doc_extra(run, (size_t)(d - run->docs));
	if (x)
		x->rep_ext = entry_path(&r);
	if (!x || !x->rep_ext)
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	run->assign[d - run->docs].score = d->keep ? 1 : e.score;
	return DEDUP_OK;
}

/*
 * Cluster the run's new documents with the indexed documents that share a
 * band key with them (and those documents' representatives), then add the
 * new documents to the index.
 */
static dedup_status index_cluster(struct dedup_run *run, const struct dedup_df *df,
				  struct dedup_error *err)
{
	const struct dedup_cluster_params *p = &run->ctx->o.cluster;
	struct dedup_cluster_params cp;
	uint32_t bands = dedup_cluster_bands(p), *newidx = NULL, *pinned = NULL;
	uint32_t *newid = NULL;
	const char *path;
	uint64_t *keys = NULL;
	unsigned char *haskeys = NULL;
	struct idset cand = { 0 };
	struct dedup_sig *all = NULL;
	struct dedup_assign *as = NULL;
	size_t nnew = 0, m = 0, i, j, k;
	dedup_status st = DEDUP_ENOMEM;

	newidx = malloc((run->n ? run->n : 1) * sizeof(*newidx));
	if (!newidx)
		goto out;
	for (i = 0; i < run->n; i++) {
		struct doc *d = &run->docs[i];
		uint32_t id;

		if (d->status)
			continue;
		path = doc_path(run, i, run->info_paths);
		st = dedup_index_find(run->ix, path, strlen(path),
				      run->sigs[i].body, &id, err);
		if (st == DEDUP_OK) {
			st = index_repeat(run, d, id, err);
			if (st)
				goto out;
			continue;
		}
		if (st != DEDUP_DONE)
			goto out;
		newidx[nnew++] = (uint32_t)i;
	}
	st = DEDUP_ENOMEM;
	keys = malloc((nnew ? nnew : 1) * (size_t)bands * sizeof(*keys));
	haskeys = calloc(nnew ? nnew : 1, 1);
	if (!keys || !haskeys)
		goto out;
	for (j = 0; j < nnew; j++) {
		int has = dedup_cluster_keys(p, df, &run->sigs[newidx[j]],
					     keys + j * bands);

		if (has < 0)
			goto out;
		haskeys[j] = (unsigned char)has;
		if (has && dedup_index_match(run->ix, keys + j * bands, bands,
					     p->max_bucket, idset_add, &cand,
					     err))
			goto out_err;
	}
	/* the candidates' representatives come too: they name the clusters */
	idset_sort(&cand);
	m = cand.n;
	for (k = 0; k < m; k++) {
		struct dedup_index_entry e;

		if (dedup_index_entry(run->ix, cand.v[k], &e, err))
			goto out_err;
		if (idset_add(e.rep, &cand))
			goto out;
	}
	idset_sort(&cand);
	m = cand.n;

	all = calloc(m + nnew ? m + nnew : 1, sizeof(*all));
	as = calloc(m + nnew ? m + nnew : 1, sizeof(*as));
	pinned = malloc((m ? m : 1) * sizeof(*pinned));
	newid = malloc((nnew ? nnew : 1) * sizeof(*newid));
	if (!all || !as || !pinned || !newid)
		goto out;
	for (k = 0; k < m; k++) {
		struct dedup_index_entry e;

		dedup_sig_init(&all[k]);
		if (dedup_index_sig(run->ix, cand.v[k], &all[k], err) ||
		    dedup_index_entry(run->ix, cand.v[k], &e, err))
			goto out_err;
		pinned[k] = idset_find(&cand, e.rep);
	}
	for (j = 0; j < nnew; j++)
		all[m + j] = run->sigs[newidx[j]]; /* borrowed */
	cp = *p;
	cp.threads = thread_count(run);
	st = dedup_cluster_run_pinned(&cp, all, m + nnew, m, pinned, df, as,
				      &run->stats, err);
	if (st)
		goto out;

	for (j = 0; j < nnew; j++) {
		struct doc *d = &run->docs[newidx[j]];
		uint32_t r = as[m + j].rep;

		run->assign[newidx[j]].score = as[m + j].score;
		if (r < m) {
			struct dedup_index_entry e;
			struct doc_extra *x;

			if (dedup_index_entry(run->ix, cand.v[r], &e, err))
				goto out_err;
			x = doc_extra(run, newidx[j]);
			if (x)
				x->rep_ext = entry_path(&e);
			if (!x || !x->rep_ext)
				goto out;
			run->assign[newidx[j]].rep = UINT32_MAX;
		} else {
			run->assign[newidx[j]].rep = newidx[r - m];
			d->keep = r == m + j;
		}
	}
	/* The index keeps the stored signatures, found by their own keys. */
	for (j = 0; j < nnew; j++) {
		int has = dedup_cluster_keys(p, df, &run->store[newidx[j]],
					     keys + j * bands);

		if (has < 0)
			goto out;
		haskeys[j] = (unsigned char)has;
	}
	/* Representatives first, so their members can name their ids. */
	for (k = 0; k < 2; k++) {
		for (j = 0; j < nnew; j++) {
			uint32_t r = as[m + j].rep;
			struct dedup_index_doc doc = {
				.path = run->info_paths,
				.sig = &run->store[newidx[j]],
				.score = as[m + j].score,
				.keys = haskeys[j] ? keys + j * bands : NULL,
				.nkeys = haskeys[j] ? bands : 0,
			};
			int added;

			if ((k == 0) != (r == m + j))
				continue;
			doc.path_len = strlen(doc_path(run, newidx[j],
						       run->info_paths));
			if (r == m + j)
				doc.rep = UINT32_MAX;
			else if (r < m)
				doc.rep = cand.v[r];
			else
				doc.rep = newid[r - m];
			if (dedup_index_add(run->ix, &doc, &newid[j], &added,
					    err))
				goto out_err;
		}
	}
	if (nnew && dedup_index_add_df(run->ix, run->df, err))
		goto out_err;
	if (nnew && run->lines && dedup_index_add_lines(run->ix, run->lines, err))
		goto out_err;
	st = DEDUP_OK;
	goto out;
out_err:
	st = err ? err->code : DEDUP_EFORMAT;
	if (!st)
		st = DEDUP_EFORMAT;
out:
	if (st == DEDUP_ENOMEM)
		dedup_error_set(err, st, "out of memory while matching the index");
	if (all)
		for (k = 0; k < m; k++)
			dedup_sig_release(&all[k]);
	free(all);
	free(as);
	free(pinned);
	free(newid);
	free(newidx);
	free(keys);
	free(haskeys);
	free(cand.v);
	return st;
}

dedup_status dedup_run_execute(struct dedup_run *run, struct dedup_error *err)
{
	const struct dedup_options *o = &run->ctx->o;
	struct dedup_cluster_params cp;
	dedup_status st;
	size_t i;

	st = first_pass(run, 1, err);
	if (st)
		return st;
	if (!run->ix) {
		/*
		 * Signatures drop the terms of a single document: without an
		 * index (whose stored signatures keep them), their counts are
		 * not needed, and they are most of the table. Pruning
		 * freezes what is left into a compact form (df.c), once the
		 * filter of the first pass is given back.
		 */
		(void)dedup_df_bound(run->df, 0);
		dedup_df_prune(run->df, 2);
		/*
		 * Counted over a sample, a term it holds no count of may be
		 * shared all the same (a rare term's documents mostly fall
		 * outside the sample): it is taken as the rarest the table
		 * keeps. Dropped, the names and numbers that tell one event
		 * from the next went with it (bench/RESULTS.md).
		 */
		if (run->df_share)
			dedup_df_set_floor(run->df, 2);
	} else {
		/* the index's statistics join this run's before signatures */
		if (run->lines) {
			st = dedup_linestats_new(&run->lines_all, err);
			if (!st)
				st = dedup_index_lines_load(run->ix,
							    run->lines_all, err);
			if (!st && dedup_linestats_merge(run->lines_all,
							 run->lines))
				st = dedup_error_set(err, DEDUP_ENOMEM,
						     "out of memory");
			if (st)
				return st;
		}
		if (dedup_df_new(&run->df_all))
			return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
		st = dedup_index_df_load(run->ix, run->df_all, err);
		if (st)
			return st;
		if (dedup_df_merge(run->df_all, run->df))
			return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	}
	run->sigs = calloc(run->n ? run->n : 1, sizeof(*run->sigs));
	if (run->ix)
		run->store = calloc(run->n ? run->n : 1, sizeof(*run->store));
	if (!run->sigs || (run->ix && !run->store) ||
	    (!run->sigstore && dedup_sigstore_new(&run->sigstore)))
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	for (i = 0; i < run->n; i++) {
		if (run->store)
			dedup_sig_init(&run->store[i]);
		dedup_sig_init(&run->sigs[i]);
	}
	st = run_pass(run, 1, 0, 0, err);
	free(run->verbatim);
	run->verbatim = NULL;
	if (st)
		return st;
	if (run->ix) {
		if (assign_new(run))
			return dedup_error_set(err, DEDUP_ENOMEM,
					       "out of memory");
		return index_cluster(run, run->df_all, err);
	}
	/*
	 * The signatures carry their weights: the clustering does not read
	 * the frequencies, and they are given back before it (352 bytes per
	 * document at 1,000,000). The table keeps its document count.
	 */
	dedup_df_prune(run->df, UINT32_MAX);
	/*
	 * glibc keeps the freed table in the heap, under the signatures
	 * built after it, where the clustering's large arrays (mapped on
	 * their own) cannot reuse it: give its pages back.
	 */
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	/*
	 * Made only now, 16 bytes a document less at the second pass's end,
	 * and left untouched for the clustering to fill at its own end: its
	 * pages are not the process's before then.
	 */
	run->assign = malloc((run->n ? run->n : 1) * sizeof(*run->assign));
	if (!run->assign)
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	cp = o->cluster;
	cp.threads = thread_count(run);
	st = dedup_cluster_run(&cp, run->sigs, run->n, run->df, run->assign,
			       &run->stats, err);
	if (st) {
		/* dedup_run_doc() tells every document as its own then */
		free(run->assign);
		run->assign = NULL;
		return st;
	}
	for (i = 0; i < run->n; i++)
		run->docs[i].keep = run->assign[i].rep == i;
	return DEDUP_OK;
}

size_t dedup_run_count(const struct dedup_run *run)
{
	return run->n;
}

void dedup_run_doc(const struct dedup_run *run, size_t i,
		   struct dedup_doc_info *info)
{
	const struct doc *d = &run->docs[i];
	const struct doc_extra *x = doc_x(run, i);
	char *rep = run->info_paths + run->info_size;

	info->path = doc_path(run, i, run->info_paths);
	info->status = d->status;
	info->message = x && x->message ? x->message :
			d->status ? dedup_strerror(d->status) : NULL;
	info->empty = d->empty;
	info->indexed = d->indexed;
	info->warning = x ? x->warning : NULL;
	info->keep = run->assign ? d->keep : 1;
	info->score = run->assign ? run->assign[i].score : 1;
	if (x && x->rep_ext)
		info->rep_path = x->rep_ext;
	else if (run->assign && run->assign[i].rep < run->n)
		info->rep_path = doc_path(run, run->assign[i].rep, rep);
	else
		info->rep_path = info->path;
}

const struct dedup_cluster_stats *dedup_run_stats(const struct dedup_run *run)
{
	return &run->stats;
}

const struct dedup_df *dedup_run_df(const struct dedup_run *run)
{
	return run->df_all ? run->df_all : run->df;
}

const struct dedup_sig *dedup_run_sig(const struct dedup_run *run, size_t i)
{
	return run->sigs ? &run->sigs[i] : NULL;
}
