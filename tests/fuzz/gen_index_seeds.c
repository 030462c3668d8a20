/*
 * gen_index_seeds.c - write small valid index files as seeds for
 * fuzz_index, and encoded signatures for fuzz_sig:
 * gen_index_seeds INDEX-DIR [SIG-DIR].
 *
 * Each seed is one mode byte (0: checksums kept as they are) followed by
 * the bytes of an index made through the public API: an empty one, one of
 * a few documents in two clusters, and one with frequencies and a blob. The
 * seeds are committed in tests/fuzz/corpus/index/ and corpus/sig/; rerun
 * this after a change of either format.
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

static void put_le(unsigned char **p, uint64_t v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		*(*p)++ = (unsigned char)(v >> (8 * i));
}

/* The magic of the library's signature encoding: an empty one's first bytes. */
static uint32_t sig_magic(void)
{
	struct dedup_buf b = DEDUP_BUF_INIT;
	struct dedup_sig e;
	uint32_t m;

	dedup_sig_init(&e);
	if (dedup_sig_encode(&e, &b) || b.len < 4)
		die("cannot encode a signature", NULL);
	m = (uint32_t)(unsigned char)b.buf[0] |
	    (uint32_t)(unsigned char)b.buf[1] << 8 |
	    (uint32_t)(unsigned char)b.buf[2] << 16 |
	    (uint32_t)(unsigned char)b.buf[3] << 24;
	dedup_buf_release(&b);
	return m;
}

/*
 * The bytes of a signature in the portable encoding (see
 * dedup_sig_encode: header, MinHash values, terms as 24-bit ids and 8-bit
 * weights, band winners), so that this program does not depend on the
 * struct's field names. Returns the length written to buf.
 */
static size_t sig_bytes(unsigned char *buf, uint32_t seed, uint32_t nperm,
			uint32_t nterms, uint32_t nband)
{
	unsigned char *p = buf;
	uint32_t i, x = seed * 2654435761u + 1;

	put_le(&p, sig_magic(), 4);
	put_le(&p, nperm, 4);
	put_le(&p, nterms, 4);
	put_le(&p, nterms * 3, 4);            /* words */
	put_le(&p, nterms + seed % 3, 4);     /* distinct */
	put_le(&p, 0, 4);                     /* language */
	put_le(&p, 19500 + seed, 4);          /* date */
	put_le(&p, 0x5eed000000000000ull + seed, 8);
	put_le(&p, nband, 4);
	for (i = 0; i < nperm; i++) {
		x = x * 1103515245u + 12345u;
		put_le(&p, x, 4);
	}
	for (i = 0; i < nterms; i++) {
		x = x * 1103515245u + 12345u;
		put_le(&p, (i * 65537u + (x >> 24)) << 8 | (1 + i % 3), 4);
	}
	for (i = 0; i < nband; i++)
		put_le(&p, (i * 7) % nterms, 1);
	return (size_t)(p - buf);
}

#define SIG_MAX (40 + 64 * 4 + 64 * 4 + 64)

static void make_sig(struct dedup_sig *s, uint32_t seed, uint32_t nperm,
		     uint32_t nterms)
{
	unsigned char buf[SIG_MAX];
	struct dedup_error err;
	size_t n;

	if (nperm > 64 || nterms > 64)
		die("signature too large", NULL);
	n = sig_bytes(buf, seed, nperm, nterms, 0);
	dedup_sig_init(s);
	if (dedup_sig_decode(s, buf, n, NULL, &err))
		die("signature encoding", &err);
}

/* Seeds for fuzz_sig: a few encoded signatures, one with trailing bytes. */
static void sig_seeds(const char *dir)
{
	static const uint32_t shape[][3] = { { 0, 0, 0 }, { 4, 4, 0 },
					     { 64, 40, 0 }, { 2, 2, 0 },
					     { 0, 40, 64 } };
	unsigned char buf[SIG_MAX + 16];
	char out[4200];
	size_t i, n;
	FILE *o;

	for (i = 0; i < sizeof(shape) / sizeof(*shape); i++) {
		n = sig_bytes(buf, (uint32_t)i, shape[i][0], shape[i][1],
			      shape[i][2]);
		if (i == 3) {
			memcpy(buf + n, "trailing bytes", 14);
			n += 14;
		}
		snprintf(out, sizeof(out), "%s/seed-%zu", dir, i);
		o = fopen(out, "wb");
		if (!o || fwrite(buf, 1, n, o) != n || fclose(o))
			die(out, NULL);
	}
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
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: gen_index_seeds INDEX-DIR [SIG-DIR]\n");
		return 2;
	}
	seed(argv[1], "seed-empty", 0, 0);
	seed(argv[1], "seed-two-clusters", 5, 0);
	seed(argv[1], "seed-df-blob", 9, 1);
	if (argc == 3)
		sig_seeds(argv[2]);
	return 0;
}
