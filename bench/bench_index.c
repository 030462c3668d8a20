/*
 * bench_index.c - the persistent index at scale, on synthetic signatures.
 *
 *   bench_index [-n DOCS] [-t MAXTERMS] [-m NIGHT] [-f FILE] [-k]
 *
 * Builds an index of DOCS signatures (default 1,000,000) made in memory
 * from random terms: documents belong to "stories" of three, whose members
 * share most terms and most band keys (32 keys per document, as the event
 * level's 32 bands x 2 rows). Then measures: the commit that writes it,
 * opening it (time, resident memory), the statistics pass, loading the
 * document frequencies, path lookups, reading every signature, and a night
 * of NIGHT new documents (default 10,000; a third are copies of indexed
 * stories) matched against it and committed. The file (default
 * ./bench_index.idx) is removed at the end unless -k. Needs about 1.7 kB of
 * disk per document with the default term counts: check `df -h` first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dedup/index.h"

#define NKEYS 32

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of this process: lookups are timed by it, so that other work
 * on a shared machine does not count. */
static double cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Private (anonymous) and file-backed resident bytes, from
 * /proc/self/status. File pages of the mapping are the page cache shared
 * with every process; the kernel maps cached neighbours of each touched
 * page (fault-around), so they overstate what was read.
 */
static void resident(double *anon, double *file)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	long kb;

	*anon = *file = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			*anon = kb * 1024.0;
		else if (sscanf(line, "RssFile: %ld kB", &kb) == 1)
			*file = kb * 1024.0;
	}
	fclose(f);
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t v[2] = { a, b };

	return XXH3_64bits(v, sizeof(v));
}

static int cmp32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/*
 * Document `doc` of story `story`: the story's terms with about one in ten
 * replaced by the document's own, and band keys mostly the story's.
 */
static int make_doc(uint64_t story, uint64_t doc, uint32_t maxterms,
		    struct dedup_sig *s, uint64_t *keys)
{
	uint32_t n = 100 + (uint32_t)(mix(story, 1) % (maxterms > 100 ?
						     maxterms - 99 : 1));
	uint32_t tw[DEDUP_SIG_MAXTERMS], i, k;

	if (n > maxterms)
		n = maxterms;
	for (i = 0; i < n; i++) {
		uint64_t r = mix(doc, 1000 + i);

		/* ranks from a skewed draw over a 4M-term vocabulary:
		 * a few common terms, a long tail of rare ones */
		double u = (double)((r % 10 ? mix(story, 2000 + i) :
				     mix(doc, 5000 + i)) >> 11) / 9007199254740992.0;
		uint64_t rank = (uint64_t)((double)(1u << 22) * u * u * u);

		tw[i] = (uint32_t)mix(rank, 99) >> 8;
	}
	qsort(tw, n, sizeof(*tw), cmp32);
	for (i = 1, k = 1; i < n; i++)
		if (tw[i] != tw[k - 1])
			tw[k++] = tw[i];
	if (dedup_sig_alloc(s, k, 0, 0))
		return -1;
	s->ndistinct = k + (uint32_t)(mix(doc, 3) % 50);
	s->nwords = s->ndistinct * 2;
	for (i = 0; i < k; i++)
		tw[i] = dedup_term_pack(tw[i], 1 + mix(doc, 7000 + i) % 4);
	dedup_sig_pack(s, tw);
	s->lang = 0;
	s->date = 19000 + (int32_t)(story % 700);
	s->body = mix(doc, 42);
	for (i = 0; i < NKEYS; i++)
		keys[i] = mix(mix(doc, 9000 + i) % 10 < 8 ? story :
			      doc + (1ull << 40), i);
	return 0;
}

struct night {
	const struct dedup_index *ix;
	const struct dedup_sig *s;
	uint32_t st[DEDUP_SIG_MAXTERMS]; /* s's terms, unpacked */
	uint32_t ct[DEDUP_SIG_MAXTERMS];
	struct dedup_sig c;
	uint64_t candidates, same;
	double best;
};

/* Verify one candidate: decode it and compare term sets. */
static int verify(uint32_t id, void *arg)
{
	struct night *nt = arg;
	uint32_t i = 0, j = 0, both = 0;
	double jac;

	nt->candidates++;
	if (dedup_index_sig(nt->ix, id, &nt->c, NULL))
		return 0;
	dedup_sig_unpack(&nt->c, nt->ct);
	while (i < nt->s->nterms && j < nt->c.nterms) {
		uint32_t x = dedup_term_id(nt->st[i]);
		uint32_t y = dedup_term_id(nt->ct[j]);

		if (x == y) {
			both++;
			i++;
			j++;
		} else if (x < y) {
			i++;
		} else {
			j++;
		}
	}
	jac = (double)both / (nt->s->nterms + nt->c.nterms - both);
	if (jac > nt->best)
		nt->best = jac;
	return 0;
}

static int count_df(uint32_t term, uint32_t count, void *arg)
{
	(void)term;
	(void)count;
	(*(uint64_t *)arg)++;
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t ndocs = 1000000, night = 10000, i;
	uint32_t maxterms = 256;
	const char *file = "bench_index.idx";
	int keep = 0, opt;
	struct dedup_index_settings set;
	struct dedup_index *ix = NULL;
	struct dedup_index_stats st;
	struct dedup_error err;
	struct dedup_sig s;
	struct dedup_df *df = NULL;
	uint64_t keys[NKEYS];
	char path[64];
	double t0, t1, rss0, sh0, rss1, sh1;

	while ((opt = getopt(argc, argv, "n:t:m:f:k")) != -1) {
		switch (opt) {
		case 'n': ndocs = strtoull(optarg, NULL, 10); break;
		case 't': maxterms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'm': night = strtoull(optarg, NULL, 10); break;
		case 'f': file = optarg; break;
		case 'k': keep = 1; break;
		default:
			fprintf(stderr, "usage: bench_index [-n DOCS] "
				"[-t MAXTERMS] [-m NIGHT] [-f FILE] [-k]\n");
			return 2;
		}
	}
	if (maxterms < 1 || maxterms > 4096 || ndocs < 3) {
		fprintf(stderr, "bench_index: bad -t or -n\n");
		return 2;
	}
	memset(&set, 0, sizeof(set));
	dedup_sig_params_default(&set.sig, DEDUP_LEVEL_EVENT);
	set.sig.kterms = maxterms;
	set.nhash = 64;
	set.bands = NKEYS;
	set.rows = 2;
	set.top_terms = 24;
	dedup_sig_init(&s);
	if (dedup_df_new(&df))
		return 1;
	unlink(file);

	/* build: one session, one commit */
	t0 = now();
	if (dedup_index_open(&ix, file, &set, DEDUP_INDEX_CREATE, &err))
		goto fail;
	for (i = 0; i < ndocs; i++) {
		struct dedup_index_doc d = { 0 };
		uint32_t k;

		if (make_doc(i / 3, i, maxterms, &s, keys))
			goto nomem;
		snprintf(path, sizeof(path), "night%04llu/%08llu.txt",
			 (unsigned long long)(i / 10000),
			 (unsigned long long)i);
		d.path = path;
		d.path_len = strlen(path);
		d.added = 1700000000 + (int64_t)(i / 10000) * 86400;
		d.sig = &s;
		d.rep = i % 3 ? (uint32_t)(i - i % 3) : UINT32_MAX;
		d.keys = keys;
		d.nkeys = NKEYS;
		if (dedup_index_add(ix, &d, NULL, NULL, &err))
			goto fail;
		for (k = 0; k < s.nterms; k++)
			dedup_df_add(df, dedup_sig_id(&s, k), 1);
		dedup_df_add_doc(df, 1);
	}
	if (dedup_index_add_df(ix, df, &err))
		goto fail;
	t1 = now();
	printf("generate+add %llu docs: %.2f s\n", (unsigned long long)ndocs,
	       t1 - t0);
	t0 = now();
	if (dedup_index_commit(ix, NULL, &err))
		goto fail;
	t1 = now();
	dedup_index_free(ix);
	ix = NULL;
	dedup_df_free(df);
	df = NULL;
	printf("commit (write, fsync, rename): %.2f s\n", t1 - t0);

	/* open */
	resident(&rss0, &sh0);
	t0 = now();
	if (dedup_index_open(&ix, file, &set, 0, &err))
		goto fail;
	t1 = now();
	resident(&rss1, &sh1);
	if (dedup_index_stats(ix, &st, &err))
		goto fail;
	printf("file: %.1f MB, %.0f bytes per entry (heap %.0f, keys %.0f)\n",
	       st.file_bytes / 1e6, (double)st.file_bytes / st.entries,
	       (double)st.heap_bytes / st.entries,
	       st.keys * 12.0 / st.entries);
	printf("open: %.3f s, resident +%.0f bytes per entry private, "
	       "+%.0f mapped file\n", t1 - t0, (rss1 - rss0) / st.entries,
	       (sh1 - sh0) / st.entries);
	t0 = now();
	dedup_index_stats(ix, &st, &err);
	t1 = now();
	printf("stats pass: %.3f s (%llu clusters)\n", t1 - t0,
	       (unsigned long long)st.clusters);
	t0 = now();
	if (dedup_index_verify(ix, &err))
		goto fail;
	t1 = now();
	printf("verify (every checksum and table): %.2f s (%.0f MB/s)\n",
	       t1 - t0, st.file_bytes / 1e6 / (t1 - t0));

	/* frequencies */
	if (dedup_df_new(&df))
		goto fail;
	resident(&rss0, &sh0);
	t0 = now();
	if (dedup_index_df_load(ix, df, &err))
		goto fail;
	t1 = now();
	resident(&rss1, &sh1);
	{
		uint64_t nt = 0;

		dedup_df_foreach(df, count_df, &nt);
		printf("load df: %llu terms in %.3f s, +%.1f MB private\n",
		       (unsigned long long)nt, t1 - t0, (rss1 - rss0) / 1e6);
	}

	/* frequencies looked up in place, as for one night's terms */
	{
		uint64_t sum = 0;

		t0 = cpu();
		for (i = 0; i < 1000000; i++)
			sum += dedup_index_df_get(ix, (uint32_t)mix(
				(uint64_t)((double)(1u << 22) *
					   ((double)(mix(i, 3) >> 11) /
					    9007199254740992.0)), 99));
		t1 = cpu();
		printf("df lookup in place: %.2f us CPU per term (%llu)\n",
		       (t1 - t0), (unsigned long long)(sum % 10));
	}

	/* path lookups */
	t0 = cpu();
	for (i = 0; i < 100000; i++) {
		uint64_t d = mix(i, 77) % ndocs;
		uint32_t id;

		snprintf(path, sizeof(path), "night%04llu/%08llu.txt",
			 (unsigned long long)(d / 10000),
			 (unsigned long long)d);
		if (dedup_index_find(ix, path, strlen(path), mix(d, 42), &id,
				     &err) || id != d) {
			fprintf(stderr, "lookup of %s failed\n", path);
			goto fail;
		}
	}
	t1 = cpu();
	printf("find (path+body): %.2f us CPU per lookup\n", (t1 - t0) * 10);

	/* iterate */
	{
		struct dedup_sig c;
		uint64_t bytes = 0;

		dedup_sig_init(&c);
		t0 = now();
		for (i = 0; i < st.entries; i++) {
			struct dedup_index_entry e;

			if (dedup_index_entry(ix, (uint32_t)i, &e, &err) ||
			    dedup_index_sig(ix, (uint32_t)i, &c, &err))
				goto fail;
			bytes += e.sig_len;
		}
		t1 = now();
		dedup_sig_release(&c);
		printf("read every entry and decode its signature: %.2f s "
		       "(%.0f MB/s of signatures)\n", t1 - t0,
		       bytes / 1e6 / (t1 - t0));
	}
	dedup_index_free(ix);
	ix = NULL;

	/* a night */
	resident(&rss0, &sh0);
	t0 = now();
	if (dedup_index_open(&ix, file, &set, 0, &err))
		goto fail;
	{
		struct night nt = { .ix = ix, .s = &s };
		uint64_t matched = 0;
		double tm;

		dedup_sig_init(&nt.c);
		for (i = 0; i < night; i++) {
			uint64_t doc = ndocs + i, story;
			struct dedup_index_doc d = { 0 };

			/* a third retell indexed stories */
			story = i % 3 ? (ndocs + i) / 3 + ndocs :
				mix(i, 5) % (ndocs / 3);
			if (make_doc(story, doc, maxterms, &s, keys))
				goto nomem;
			dedup_sig_unpack(&s, nt.st);
			nt.best = 0;
			if (dedup_index_match(ix, keys, NKEYS, 64, verify, &nt,
					      &err))
				goto fail;
			matched += nt.best >= 0.5;
			snprintf(path, sizeof(path), "tonight/%08llu.txt",
				 (unsigned long long)i);
			d.path = path;
			d.path_len = strlen(path);
			d.sig = &s;
			d.rep = UINT32_MAX;
			d.keys = keys;
			d.nkeys = NKEYS;
			if (dedup_index_add(ix, &d, NULL, NULL, &err))
				goto fail;
		}
		tm = now() - t0;
		dedup_sig_release(&nt.c);
		resident(&rss1, &sh1);
		printf("night of %llu: open+match+add %.2f s, %.1f candidates "
		       "per doc, %llu matched; resident +%.1f MB private, "
		       "+%.1f MB mapped file\n", (unsigned long long)night, tm,
		       (double)nt.candidates / night,
		       (unsigned long long)matched, (rss1 - rss0) / 1e6,
		       (sh1 - sh0) / 1e6);
		t0 = now();
		if (dedup_index_commit(ix, NULL, &err))
			goto fail;
		printf("night commit (rewrites the file): %.2f s\n",
		       now() - t0);
	}
	dedup_index_free(ix);
	dedup_df_free(df);
	dedup_sig_release(&s);
	if (!keep)
		unlink(file);
	return 0;
nomem:
	dedup_error_set(&err, DEDUP_ENOMEM, "out of memory");
fail:
	fprintf(stderr, "bench_index: %s\n", err.msg);
	dedup_index_free(ix);
	dedup_df_free(df);
	dedup_sig_release(&s);
	if (!keep)
		unlink(file);
	return 1;
}
