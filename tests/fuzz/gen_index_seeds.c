/*
 * gen_index_seeds.c - write small valid index files as seeds for
 * fuzz_index: gen_index_seeds OUTDIR.
 *
 * Each seed is one mode byte (0: checksums kept as they are) followed by
 * the bytes of an index made through the public API: an empty one, one of
 * a few documents in two clusters, and one with frequencies and a blob. The
 * seeds are committed in tests/fuzz/corpus/index/; rerun this after a
 * change of the file format.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dedup/index.h"
#include "dedup/sig.h"

static void die(const char *what, const struct dedup_error *err)
{
	fprintf(stderr, "gen_index_seeds: %s: %s\n", what,
		err ? err->msg : "failed");
	exit(1);
}

static void make_sig(struct dedup_sig *s, uint32_t seed, uint32_t nperm,
		     uint32_t nterms)
{
	uint32_t i, x = seed * 2654435761u + 1;

	dedup_sig_init(s);
	s->mins = malloc((nperm ? nperm : 1) * sizeof(*s->mins));
	s->terms = malloc((nterms ? nterms : 1) * sizeof(*s->terms));
	s->tf = malloc((nterms ? nterms : 1) * sizeof(*s->tf));
	if (!s->mins || !s->terms || !s->tf)
		die("out of memory", NULL);
	for (i = 0; i < nperm; i++) {
		x = x * 1103515245u + 12345u;
		s->mins[i] = x;
	}
	for (i = 0; i < nterms; i++) {
		x = x * 1103515245u + 12345u;
		s->terms[i] = i * 1000003u + (x >> 24);
		s->tf[i] = (uint16_t)(1 + i % 3);
	}
	s->nperm = nperm;
	s->nterms = nterms;
	s->nwords = nterms * 3;
	s->ndistinct = nterms + seed % 3;
	s->lang = 0;
	s->date = (int32_t)(19500 + seed);
	s->body = 0x5eed000000000000ull + seed;
}

static void build(const char *file, int ndocs, int extras)
{
	struct dedup_index_settings set;
	struct dedup_index_commit_opts co = { 0, 0, 1 };
	struct dedup_index *ix = NULL;
	struct dedup_error err;
	struct dedup_df *df = NULL;
	int i;

	memset(&set, 0, sizeof(set));
	dedup_sig_params_default(&set.sig, DEDUP_LEVEL_EVENT);
	set.nhash = 64;
	set.bands = 32;
	set.rows = 2;
	set.top_terms = 24;
	if (dedup_index_open(&ix, file, &set, DEDUP_INDEX_CREATE, &err))
		die("open", &err);
	for (i = 0; i < ndocs; i++) {
		char path[64];
		struct dedup_sig s;
		struct dedup_index_doc d;
		uint64_t keys[3] = { (uint64_t)i % 3, 100u + i, 7 };

		snprintf(path, sizeof(path), "night/%s-%d.txt",
			 i % 2 ? "b" : "a", i);
		make_sig(&s, (uint32_t)i, 4, 6 + i % 4);
		memset(&d, 0, sizeof(d));
		d.path = path;
		d.path_len = strlen(path);
		d.added = 1700000000 + i * 3600;
		d.sig = &s;
		d.rep = i < 2 ? UINT32_MAX : (uint32_t)(i % 2);
		d.score = i < 2 ? 1 : 0.25 + 0.1 * (i % 5);
		d.keys = keys;
		d.nkeys = 3;
		if (dedup_index_add(ix, &d, NULL, NULL, &err))
			die("add", &err);
		dedup_sig_release(&s);
	}
	if (extras) {
		static const char blob[] = "opaque blob bytes";

		if (dedup_df_new(&df))
			die("df", NULL);
		for (i = 0; i < 20; i++)
			if (dedup_df_add(df, (uint32_t)i * 7919u, 1u + i % 4))
				die("df add", NULL);
		dedup_df_add_doc(df, (uint64_t)ndocs);
		if (dedup_index_add_df(ix, df, &err))
			die("add df", &err);
		dedup_df_free(df);
		if (dedup_index_set_blob(ix, "linestats", blob,
					 sizeof(blob) - 1, &err))
			die("blob", &err);
	}
	if (dedup_index_commit(ix, &co, &err))
		die("commit", &err);
	dedup_index_free(ix);
}

static void seed(const char *dir, const char *name, int ndocs, int extras)
{
	char file[4096], lock[4200], out[4200];
	FILE *in, *o;
	int c;

	snprintf(file, sizeof(file), "%s/gen.idx", dir);
	snprintf(lock, sizeof(lock), "%s.lock", file);
	snprintf(out, sizeof(out), "%s/%s", dir, name);
	unlink(file);
	build(file, ndocs, extras);
	in = fopen(file, "rb");
	o = fopen(out, "wb");
	if (!in || !o)
		die(out, NULL);
	fputc(0, o);
	while ((c = getc(in)) != EOF)
		fputc(c, o);
	if (fclose(o))
		die(out, NULL);
	fclose(in);
	unlink(file);
	unlink(lock);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_index_seeds OUTDIR\n");
		return 2;
	}
	seed(argv[1], "seed-empty", 0, 0);
	seed(argv[1], "seed-two-clusters", 5, 0);
	seed(argv[1], "seed-df-blob", 9, 1);
	return 0;
}
