/*
 * test_index.c - the persistent index: round trips, re-runs, expiry,
 * settings, damaged files, the lock, kills at every write step and a full
 * disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>

#include "dedup/cluster.h"
#include "dedup/index.h"
#include "dedup/pipeline.h"
#include "dedup/strip.h"
#define XXH_INLINE_ALL
#include <xxhash.h>
#include "dedup/walk.h"

static char dir[256];
static char ixpath[300];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/dedup-index-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	snprintf(ixpath, sizeof(ixpath), "%s/seen.idx", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void settings(struct dedup_index_settings *s, enum dedup_level level)
{
	memset(s, 0, sizeof(*s));
	dedup_sig_params_default(&s->sig, level);
	s->nhash = 64;
	s->bands = 32;
	s->rows = 2;
	s->top_terms = 24;
}

/* A small synthetic signature: terms drawn from seed, sorted, unique. */
static void make_sig(struct dedup_sig *s, uint32_t seed, uint32_t nterms)
{
	uint32_t tw[DEDUP_SIG_MAXTERMS], i, x = seed * 2654435761u + 1;

	dedup_sig_init(s);
	assert_int_equal(dedup_sig_alloc(s, nterms, 0, 0), DEDUP_OK);
	for (i = 0; i < nterms; i++) {
		x = x * 1103515245u + 12345u;
		/* strictly ascending 24-bit ids: a base per slot plus noise */
		tw[i] = dedup_term_pack(i * 65537u + (x >> 24), 1 + i % 3);
	}
	dedup_sig_pack(s, tw);
	s->nwords = nterms * 2;
	s->ndistinct = nterms;
	s->date = (int32_t)(19000 + seed % 100);
	s->body = 0x1234567800000000ull + seed;
}

/* Add document `seed` under path with keys {seed % 7, 100 + seed}. */
static uint32_t add_doc(struct dedup_index *ix, const char *path,
			uint32_t seed, uint32_t rep, int64_t added,
			int *was_added)
{
	struct dedup_sig s;
	struct dedup_index_doc d;
	struct dedup_error err;
	uint64_t keys[2] = { seed % 7, 100 + seed };
	uint32_t id;

	make_sig(&s, seed, 20 + seed % 5);
	memset(&d, 0, sizeof(d));
	d.path = path;
	d.path_len = strlen(path);
	d.added = added;
	d.sig = &s;
	d.rep = rep;
	d.score = 0.5 + (seed % 4) * 0.1;
	d.keys = keys;
	d.nkeys = 2;
	assert_int_equal(dedup_index_add(ix, &d, &id, was_added, &err),
			 DEDUP_OK);
	dedup_sig_release(&s);
	return id;
}

static struct dedup_index *open_ix(unsigned flags, dedup_status want)
{
	struct dedup_index_settings s;
	struct dedup_index *ix = NULL;
	struct dedup_error err;
	dedup_status st;

	settings(&s, DEDUP_LEVEL_EVENT);
	st = dedup_index_open(&ix, ixpath, &s, flags, &err);
	if (st != want)
		fail_msg("open: %d (%s), wanted %d", st, err.msg, want);
	return ix;
}

static void commit(struct dedup_index *ix, int64_t expire)
{
	struct dedup_index_commit_opts o = { expire, 0, 0 };
	struct dedup_error err;
	dedup_status st = dedup_index_commit(ix, &o, &err);

	if (st)
		fail_msg("commit: %s", err.msg);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void spill(const char *path, const void *b, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Three documents, the second a member of the first; a df and a blob. */
static void build_small(void)
{
	struct dedup_index *ix = open_ix(DEDUP_INDEX_CREATE, DEDUP_OK);
	struct dedup_df *df;
	struct dedup_error err;
	uint32_t a;

	a = add_doc(ix, "night1/a.txt", 1, UINT32_MAX, 1000, NULL);
	add_doc(ix, "night1/b.txt", 2, a, 1000, NULL);
	add_doc(ix, "night1/c.txt", 3, UINT32_MAX, 1000, NULL);
	assert_int_equal(dedup_df_new(&df), DEDUP_OK);
	dedup_df_add(df, 42, 3);
	dedup_df_add(df, 7, 1);
	dedup_df_add_doc(df, 3);
	assert_int_equal(dedup_index_add_df(ix, df, &err), DEDUP_OK);
	dedup_df_free(df);
	assert_int_equal(dedup_index_set_blob(ix, "notes", "abc", 3, &err),
			 DEDUP_OK);
	commit(ix, 0);
	dedup_index_free(ix);
}

static void test_round_trip(void **state)
{
	struct dedup_index *ix;
	struct dedup_index_entry e;
	struct dedup_sig s, want;
	struct dedup_df *df;
	struct dedup_error err;
	const void *blob;
	size_t blen;
	uint32_t id;

	(void)state;
	build_small();
	ix = open_ix(0, DEDUP_OK);
	assert_int_equal(dedup_index_stored(ix), 3);
	assert_int_equal(dedup_index_entry(ix, 1, &e, &err), DEDUP_OK);
	assert_int_equal(e.path_len, strlen("night1/b.txt"));
	assert_memory_equal(e.path, "night1/b.txt", e.path_len);
	assert_int_equal(e.rep, 0);
	assert_true(e.score == 0.7f);
	assert_int_equal(e.added, 1000);
	assert_int_equal(dedup_index_entry(ix, 0, &e, &err), DEDUP_OK);
	assert_true(e.score == 1);
	dedup_sig_init(&s);
	assert_int_equal(dedup_index_sig(ix, 2, &s, &err), DEDUP_OK);
	make_sig(&want, 3, 23);
	assert_int_equal(s.nterms, want.nterms);
	assert_memory_equal(s.blk, want.blk, dedup_sig_size(&s));
	assert_int_equal(s.date, want.date);
	assert_true(s.body == want.body);
	dedup_sig_release(&s);
	dedup_sig_release(&want);

	assert_int_equal(dedup_index_find(ix, "night1/c.txt", 12,
					  0x1234567800000003ull, &id, &err),
			 DEDUP_OK);
	assert_int_equal(id, 2);
	assert_int_equal(dedup_index_find(ix, "night1/c.txt", 12, 99, &id,
					  &err), DEDUP_DONE);

	assert_int_equal(dedup_df_new(&df), DEDUP_OK);
	assert_int_equal(dedup_index_df_load(ix, df, &err), DEDUP_OK);
	assert_int_equal(dedup_df_get(df, 42), 3);
	assert_int_equal(dedup_df_get(df, 7), 1);
	assert_int_equal(dedup_df_docs(df), 3);
	dedup_df_free(df);
	assert_int_equal(dedup_index_df_check(ix, &err), DEDUP_OK);
	assert_int_equal(dedup_index_df_get(ix, 42), 3);
	assert_int_equal(dedup_index_df_get(ix, 7), 1);
	assert_int_equal(dedup_index_df_get(ix, 8), 0);
	assert_int_equal(dedup_index_df_docs(ix), 3);

	assert_int_equal(dedup_index_blob(ix, "notes", &blob, &blen, &err),
			 DEDUP_OK);
	assert_int_equal(blen, 3);
	assert_memory_equal(blob, "abc", 3);
	assert_int_equal(dedup_index_blob(ix, "other", &blob, &blen, &err),
			 DEDUP_DONE);
	assert_int_equal(dedup_index_verify(ix, &err), DEDUP_OK);
	dedup_index_free(ix);
}

static int collect(uint32_t id, void *arg)
{
	uint32_t *v = arg;

	v[++v[0]] = id;
	return 0;
}

static void test_match(void **state)
{
	struct dedup_index *ix;
	struct dedup_error err;
	uint32_t got[16] = { 0 };
	uint64_t keys[3] = { 1, 103, 555 };

	(void)state;
	build_small();
	ix = open_ix(0, DEDUP_OK);
	/* key 1 = seed 1 % 7; key 103 = seed 3; 555 nobody */
	assert_int_equal(dedup_index_match(ix, keys, 3, 0, collect, got, &err),
			 DEDUP_OK);
	assert_int_equal(got[0], 2);
	assert_int_equal(got[1], 0);
	assert_int_equal(got[2], 2);
	dedup_index_free(ix);

	/* A crowded key yields only its newest entries. */
	ix = open_ix(0, DEDUP_OK);
	add_doc(ix, "x/8.txt", 8, UINT32_MAX, 1000, NULL);   /* key 1 */
	add_doc(ix, "x/15.txt", 15, UINT32_MAX, 1000, NULL); /* key 1 */
	commit(ix, 0);
	memset(got, 0, sizeof(got));
	keys[0] = 1;
	assert_int_equal(dedup_index_match(ix, keys, 1, 2, collect, got, &err),
			 DEDUP_OK);
	assert_int_equal(got[0], 2);
	assert_int_equal(got[1], 3);
	assert_int_equal(got[2], 4);
	dedup_index_free(ix);
}

static void test_rerun_adds_nothing(void **state)
{
	struct dedup_index *ix;
	struct dedup_index_stats st;
	struct dedup_error err;
	struct stat before, after;
	int added = -1;
	uint32_t id;

	(void)state;
	build_small();
	assert_int_equal(stat(ixpath, &before), 0);
	ix = open_ix(0, DEDUP_OK);
	id = add_doc(ix, "night1/b.txt", 2, UINT32_MAX, 2000, &added);
	assert_int_equal(added, 0);
	assert_int_equal(id, 1);
	assert_int_equal(dedup_index_count(ix), 3);
	commit(ix, 0); /* nothing changed: nothing written */
	assert_int_equal(stat(ixpath, &after), 0);
	assert_true(before.st_ino == after.st_ino);
	assert_int_equal(dedup_index_stats(ix, &st, &err), DEDUP_OK);
	assert_int_equal(st.generation, 1);

	/* Same path, new content: a new entry; twice in a session: once. */
	id = add_doc(ix, "night1/b.txt", 9, UINT32_MAX, 2000, &added);
	assert_int_equal(added, 1);
	assert_int_equal(id, 3);
	assert_int_equal(add_doc(ix, "night1/b.txt", 9, UINT32_MAX, 2000,
				 &added), 3);
	assert_int_equal(added, 0);
	commit(ix, 0);
	assert_int_equal(dedup_index_stored(ix), 4);
	assert_int_equal(dedup_index_stats(ix, &st, &err), DEDUP_OK);
	assert_int_equal(st.generation, 2);
	assert_int_equal(st.entries, 4);
	assert_int_equal(st.clusters, 1);
	assert_int_equal(st.oldest, 1000);
	assert_int_equal(st.newest, 2000);
	dedup_index_free(ix);
}

static void test_expiry_promotes(void **state)
{
	struct dedup_index *ix;
	struct dedup_index_entry e;
	struct dedup_error err;
	uint32_t a, id;

	(void)state;
	ix = open_ix(DEDUP_INDEX_CREATE, DEDUP_OK);
	a = add_doc(ix, "old/rep.txt", 1, UINT32_MAX, 100, NULL);
	add_doc(ix, "old/lone.txt", 2, UINT32_MAX, 100, NULL);
	add_doc(ix, "new/m1.txt", 3, a, 500, NULL);
	add_doc(ix, "new/m2.txt", 4, a, 600, NULL);
	commit(ix, 0);
	/* a member added tonight names the old representative */
	add_doc(ix, "new/m3.txt", 5, 2, 700, NULL); /* rep of m1 is 0 */
	commit(ix, 300);
	assert_int_equal(dedup_index_stored(ix), 3);
	/* m1 (oldest kept) took over the cluster */
	assert_int_equal(dedup_index_entry(ix, 0, &e, &err), DEDUP_OK);
	assert_memory_equal(e.path, "new/m1.txt", e.path_len);
	assert_int_equal(e.rep, 0);
	assert_true(e.score == 1);
	assert_int_equal(dedup_index_entry(ix, 1, &e, &err), DEDUP_OK);
	assert_int_equal(e.rep, 0);
	assert_int_equal(dedup_index_entry(ix, 2, &e, &err), DEDUP_OK);
	assert_memory_equal(e.path, "new/m3.txt", e.path_len);
	assert_int_equal(e.rep, 0);
	assert_int_equal(dedup_index_find(ix, "old/rep.txt", 11,
					  0x1234567800000001ull, &id, &err),
			 DEDUP_DONE);
	assert_int_equal(dedup_index_verify(ix, &err), DEDUP_OK);
	dedup_index_free(ix);
}

static void test_superseded(void **state)
{
	struct dedup_index *ix;
	struct dedup_index_entry e;
	struct dedup_index_stats st;
	struct dedup_error err;
	uint64_t gen;

	(void)state;
	ix = open_ix(DEDUP_INDEX_CREATE, DEDUP_OK);
	add_doc(ix, "p.txt", 1, UINT32_MAX, 100, NULL);
	add_doc(ix, "q.txt", 2, 0, 100, NULL);
	add_doc(ix, "p.txt", 3, UINT32_MAX, 200, NULL);
	commit(ix, 0);
	assert_int_equal(dedup_index_stored(ix), 3);
	assert_int_equal(dedup_index_stats(ix, &st, &err), DEDUP_OK);
	gen = st.generation;
	assert_int_equal(dedup_index_compact(ix, 0, &err), DEDUP_OK);
	assert_int_equal(dedup_index_stats(ix, &st, &err), DEDUP_OK);
	assert_int_equal(st.generation, gen + 1);
	assert_int_equal(dedup_index_stored(ix), 2);
	assert_int_equal(dedup_index_entry(ix, 0, &e, &err), DEDUP_OK);
	assert_memory_equal(e.path, "q.txt", 5);
	assert_int_equal(e.rep, 0);
	assert_int_equal(dedup_index_entry(ix, 1, &e, &err), DEDUP_OK);
	assert_int_equal(e.added, 200);
	dedup_index_free(ix);
}

static void test_lines(void **state)
{
	static const char text[] =
		"Share this story with your friends\n"
		"A river barge ran aground near the old mill on Tuesday.\n";
	struct dedup_linestats *ls, *back;
	struct dedup_index *ix;
	struct dedup_error err;

	(void)state;
	build_small();
	assert_int_equal(dedup_linestats_new(&ls, &err), DEDUP_OK);
	assert_int_equal(dedup_linestats_observe(ls, text, sizeof(text) - 1),
			 DEDUP_OK);
	assert_int_equal(dedup_linestats_observe(ls, text, sizeof(text) - 1),
			 DEDUP_OK);
	ix = open_ix(0, DEDUP_OK);
	/* nothing stored yet: loads nothing */
	assert_int_equal(dedup_linestats_new(&back, &err), DEDUP_OK);
	assert_int_equal(dedup_index_lines_load(ix, back, &err), DEDUP_OK);
	assert_int_equal(dedup_linestats_docs(back), 0);
	/* two nights' counts add up */
	assert_int_equal(dedup_index_add_lines(ix, ls, &err), DEDUP_OK);
	commit(ix, 0);
	assert_int_equal(dedup_index_add_lines(ix, ls, &err), DEDUP_OK);
	commit(ix, 0);
	dedup_index_free(ix);
	ix = open_ix(0, DEDUP_OK);
	assert_int_equal(dedup_index_lines_load(ix, back, &err), DEDUP_OK);
	assert_int_equal(dedup_linestats_docs(back), 4);
	/* damaged counts are an error naming the index */
	assert_int_equal(dedup_index_set_blob(ix, "linestats", "abc", 3, &err),
			 DEDUP_OK);
	assert_int_equal(dedup_index_lines_load(ix, back, &err),
			 DEDUP_EFORMAT);
	assert_non_null(strstr(err.msg, "line counts"));
	assert_non_null(strstr(err.msg, ixpath));
	assert_int_equal(dedup_linestats_docs(back), 4);
	dedup_index_free(ix);
	dedup_linestats_free(back);
	dedup_linestats_free(ls);
}

static void test_settings_refused(void **state)
{
	struct dedup_index_settings s;
	struct dedup_index *ix = NULL;
	struct dedup_error err;

	(void)state;
	build_small();
	settings(&s, DEDUP_LEVEL_COPY);
	s.bands = 18;
	s.rows = 7;
	s.nhash = 128;
	assert_int_equal(dedup_index_open(&ix, ixpath, &s, 0, &err),
			 DEDUP_ESETTINGS);
	assert_null(ix);
	assert_non_null(strstr(err.msg, "was built with --level event; this "
				       "run uses copy"));
	settings(&s, DEDUP_LEVEL_EVENT);
	s.sig.kterms = 128;
	assert_int_equal(dedup_index_open(&ix, ixpath, &s, 0, &err),
			 DEDUP_ESETTINGS);
	assert_non_null(strstr(err.msg, "256 terms"));
	settings(&s, DEDUP_LEVEL_EVENT);
	s.rows = 3;
	assert_int_equal(dedup_index_open(&ix, ixpath, &s, 0, &err),
			 DEDUP_ESETTINGS);
	settings(&s, DEDUP_LEVEL_EVENT);
	s.cleaning = 0x5eed;
	assert_int_equal(dedup_index_open(&ix, ixpath, &s, 0, &err),
			 DEDUP_ESETTINGS);
	assert_non_null(strstr(err.msg, "other cleaning options"));
	/* signatures made by another version of the code: refused */
	{
		unsigned char *b;
		size_t len;
		uint32_t nsec;
		XXH3_state_t h;
		uint64_t sum;
		int k;

		b = slurp(ixpath, &len);
		b[16] ^= 3;
		nsec = (uint32_t)b[12] | (uint32_t)b[13] << 8;
		XXH3_64bits_reset(&h);
		XXH3_64bits_update(&h, b, 120);
		XXH3_64bits_update(&h, b + 128, (size_t)nsec * 32);
		sum = XXH3_64bits_digest(&h);
		for (k = 0; k < 8; k++)
			b[120 + k] = (unsigned char)(sum >> (8 * k));
		spill(ixpath, b, len);
		settings(&s, DEDUP_LEVEL_EVENT);
		assert_int_equal(dedup_index_open(&ix, ixpath, &s, 0, &err),
				 DEDUP_ESETTINGS);
		assert_non_null(strstr(err.msg, "rebuild it"));
		/* readable, and compaction keeps its version */
		assert_int_equal(dedup_index_open(&ix, ixpath, NULL, 0, &err),
				 DEDUP_OK);
		{
			struct dedup_index_commit_opts o = { 0, 1, 1 };

			assert_int_equal(dedup_index_commit(ix, &o, &err),
					 DEDUP_OK);
		}
		dedup_index_free(ix);
		assert_int_equal(dedup_index_open(&ix, ixpath, &s, 0, &err),
				 DEDUP_ESETTINGS);
		free(b);
		unlink(ixpath);
		build_small();
	}
	/* irrelevant at the event level: accepted */
	settings(&s, DEDUP_LEVEL_EVENT);
	s.sig.shingle = 3;
	assert_int_equal(dedup_index_open(&ix, ixpath, &s, 0, &err), DEDUP_OK);
	dedup_index_free(ix);
	/* no settings: whatever is stored */
	assert_int_equal(dedup_index_open(&ix, ixpath, NULL,
					  DEDUP_INDEX_READONLY, &err),
			 DEDUP_OK);
	assert_int_equal(dedup_index_settings(ix)->sig.level,
			 DEDUP_LEVEL_EVENT);
	dedup_index_free(ix);
	/* the cleaning tag is kept */
	unlink(ixpath);
	settings(&s, DEDUP_LEVEL_COPY);
	s.cleaning = 0xfeedULL << 40;
	assert_int_equal(dedup_index_open(&ix, ixpath, &s, DEDUP_INDEX_CREATE,
					  &err), DEDUP_OK);
	assert_int_equal(dedup_index_commit(ix, NULL, &err), DEDUP_OK);
	dedup_index_free(ix);
	assert_int_equal(dedup_index_open(&ix, ixpath, &s, 0, &err), DEDUP_OK);
	assert_true(dedup_index_settings(ix)->cleaning == 0xfeedULL << 40);
	dedup_index_free(ix);
}

/* Open and read everything; the first failure's status. */
static dedup_status open_and_read(unsigned flags, struct dedup_error *err)
{
	struct dedup_index_settings s;
	struct dedup_index *ix;
	struct dedup_sig sig;
	struct dedup_df *df;
	dedup_status st;
	uint32_t i;

	settings(&s, DEDUP_LEVEL_EVENT);
	st = dedup_index_open(&ix, ixpath, &s, flags, err);
	if (st)
		return st;
	dedup_sig_init(&sig);
	dedup_df_new(&df);
	for (i = 0; !st && i < dedup_index_stored(ix); i++)
		st = dedup_index_sig(ix, i, &sig, err);
	if (!st)
		st = dedup_index_df_check(ix, err);
	if (!st)
		st = dedup_index_df_load(ix, df, err);
	if (!st)
		st = dedup_index_verify(ix, err);
	dedup_sig_release(&sig);
	dedup_df_free(df);
	dedup_index_free(ix);
	return st;
}

static void test_corrupt_every_byte(void **state)
{
	unsigned char *good, *now;
	struct dedup_error err;
	size_t len, len2, i;

	(void)state;
	build_small();
	good = slurp(ixpath, &len);
	for (i = 0; i < len; i++) {
		good[i] ^= 0x20;
		spill(ixpath, good, len);
		good[i] ^= 0x20;
		assert_int_equal(open_and_read(DEDUP_INDEX_READONLY, &err),
				 DEDUP_EFORMAT);
		assert_non_null(strstr(err.msg, ixpath));
		/* a writer refuses it too, and leaves it as it was */
		assert_int_equal(open_and_read(0, &err), DEDUP_EFORMAT);
		now = slurp(ixpath, &len2);
		assert_int_equal(len2, len);
		good[i] ^= 0x20;
		assert_memory_equal(now, good, len);
		good[i] ^= 0x20;
		free(now);
	}
	spill(ixpath, good, len);
	assert_int_equal(open_and_read(0, &err), DEDUP_OK);
	free(good);
}

static void test_truncated_and_foreign(void **state)
{
	unsigned char *good;
	struct dedup_error err;
	size_t len, i;

	(void)state;
	build_small();
	good = slurp(ixpath, &len);
	for (i = 0; i < len; i++) {
		spill(ixpath, good, i);
		assert_int_equal(open_and_read(0, &err), DEDUP_EFORMAT);
		if (i >= 8)
			assert_non_null(strstr(err.msg, "truncated"));
	}
	/* one byte too many */
	spill(ixpath, good, len);
	{
		FILE *f = fopen(ixpath, "ab");

		fputc('x', f);
		fclose(f);
	}
	assert_int_equal(open_and_read(0, &err), DEDUP_EFORMAT);
	spill(ixpath, "Some words of a text file, not an index.\n", 41);
	assert_int_equal(open_and_read(0, &err), DEDUP_EFORMAT);
	assert_non_null(strstr(err.msg, "is not a dedup index"));
	spill(ixpath, "", 0);
	assert_int_equal(open_and_read(DEDUP_INDEX_CREATE, &err),
			 DEDUP_EFORMAT);
	assert_non_null(strstr(err.msg, "is empty"));
	free(good);
}

static void test_missing(void **state)
{
	struct dedup_index *ix = NULL;
	struct dedup_error err;

	(void)state;
	assert_int_equal(dedup_index_open(&ix, ixpath, NULL, 0, &err),
			 DEDUP_EIO);
	assert_non_null(strstr(err.msg, "No such file"));
	/* creating needs the settings */
	assert_int_equal(dedup_index_open(&ix, ixpath, NULL,
					  DEDUP_INDEX_CREATE, &err),
			 DEDUP_EINVAL);
	/* an empty new index is written at its first commit */
	ix = open_ix(DEDUP_INDEX_CREATE, DEDUP_OK);
	commit(ix, 0);
	dedup_index_free(ix);
	ix = open_ix(0, DEDUP_OK);
	assert_int_equal(dedup_index_stored(ix), 0);
	dedup_index_free(ix);
}

static void test_lock(void **state)
{
	int to_child[2], to_parent[2];
	struct dedup_index *ix;
	struct dedup_error err;
	pid_t pid;
	char c;
	int status;

	(void)state;
	build_small();
	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(to_parent), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct dedup_index *cix = NULL;

		if (dedup_index_open(&cix, ixpath, NULL, 0, NULL))
			_exit(1);
		if (write(to_parent[1], "l", 1) != 1)
			_exit(1);
		/* hold the lock until told, then commit a new entry */
		if (read(to_child[0], &c, 1) != 1)
			_exit(1);
		add_doc(cix, "child.txt", 50, UINT32_MAX, 3000, NULL);
		if (dedup_index_commit(cix, NULL, NULL))
			_exit(1);
		dedup_index_free(cix);
		_exit(0);
	}
	assert_int_equal(read(to_parent[0], &c, 1), 1);
	ix = NULL;
	assert_int_equal(dedup_index_open(&ix, ixpath, NULL, 0, &err),
			 DEDUP_ELOCKED);
	assert_non_null(strstr(err.msg, "is locked by another dedup run"));
	/* readers need no lock */
	assert_int_equal(dedup_index_open(&ix, ixpath, NULL,
					  DEDUP_INDEX_READONLY, &err),
			 DEDUP_OK);
	dedup_index_free(ix);
	/* a waiting writer gets the lock once the holder has committed */
	assert_int_equal(write(to_child[1], "g", 1), 1);
	assert_int_equal(dedup_index_open(&ix, ixpath, NULL, DEDUP_INDEX_WAIT,
					  &err), DEDUP_OK);
	assert_int_equal(dedup_index_stored(ix), 4);
	dedup_index_free(ix);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
}

/* The writer commits 5 more entries with expiry; killed at step n. */
static int run_killed_writer(long n)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct dedup_index *cix = NULL;
		struct dedup_index_commit_opts o = { 1500, 0, 0 };
		char env[32], path[32];
		uint32_t i;

		snprintf(env, sizeof(env), "%ld", n);
		setenv("DEDUP_INDEX_FAULT", env, 1);
		if (dedup_index_open(&cix, ixpath, NULL, 0, NULL))
			_exit(1);
		for (i = 0; i < 5; i++) {
			snprintf(path, sizeof(path), "night2/%u.txt", i);
			/* one cluster: the first new entry represents it */
			add_doc(cix, path, 60 + i,
				i ? dedup_index_stored(cix) : UINT32_MAX, 3000,
				NULL);
		}
		if (dedup_index_commit(cix, &o, NULL))
			_exit(1);
		dedup_index_free(cix);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return 1;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return 0;
}

static void test_kill_at_every_step(void **state)
{
	unsigned char *good;
	struct dedup_index *ix;
	struct dedup_error err;
	size_t len;
	long n;
	int old_seen = 0, new_seen = 0;
	char tmp[320];

	(void)state;
	build_small();
	good = slurp(ixpath, &len);
	snprintf(tmp, sizeof(tmp), "%s.tmp", ixpath);
	for (n = 1; n < 100000; n++) {
		uint32_t count;
		int killed;

		spill(ixpath, good, len);
		killed = run_killed_writer(n);
		/* whatever the kill point: a complete index, old or new, and
		 * the lock free again */
		assert_int_equal(open_and_read(0, &err), DEDUP_OK);
		ix = open_ix(0, DEDUP_OK);
		count = dedup_index_stored(ix);
		dedup_index_free(ix);
		if (count == 3)
			old_seen++;
		else if (count == 5)
			new_seen++;
		else
			fail_msg("kill at step %ld left %u entries", n, count);
		if (!killed) {
			assert_int_equal(count, 5);
			break;
		}
	}
	print_message("%d kill points left the old index, %d the new\n",
		      old_seen, new_seen);
	/* many points before the rename, at least one after it */
	assert_true(old_seen > 10);
	assert_true(new_seen >= 2);
	/* a later commit is not disturbed by a temporary file left over */
	spill(tmp, "left over", 9);
	spill(ixpath, good, len);
	assert_int_equal(run_killed_writer(0), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	free(good);
}

static void test_full_disk(void **state)
{
	unsigned char *good, *now;
	size_t len, len2;
	char tmp[320];
	pid_t pid;
	int status;

	(void)state;
	build_small();
	good = slurp(ixpath, &len);
	snprintf(tmp, sizeof(tmp), "%s.tmp", ixpath);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* a file size limit fails writes as a full disk would */
		struct rlimit rl = { (rlim_t)len, (rlim_t)len };
		struct dedup_index *cix = NULL;
		struct dedup_error err;
		dedup_status st;

		free(good); /* the parent's copy: the child only writes */
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl))
			_exit(2);
		if (dedup_index_open(&cix, ixpath, NULL, 0, NULL))
			_exit(3);
		add_doc(cix, "big.txt", 77, UINT32_MAX, 3000, NULL);
		st = dedup_index_commit(cix, NULL, &err);
		if (st != DEDUP_EIO || !strstr(err.msg, "cannot write index"))
			_exit(4);
		/* the additions are still there to retry */
		if (dedup_index_count(cix) != 4)
			_exit(5);
		dedup_index_free(cix);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	now = slurp(ixpath, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(now, good, len);
	assert_int_equal(access(tmp, F_OK), -1);
	free(now);
	free(good);
}

/* Two nights through the CLI: tests/scripts/index_nights.sh. */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rerun_adds_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_expiry_promotes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_superseded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_settings_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_every_byte, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_truncated_and_foreign,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_at_every_step, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_disk, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
