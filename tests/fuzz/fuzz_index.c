/*
 * fuzz_index.c - the index loader (dedup_index_open, read-only) and the
 * readers behind it, on arbitrary files.
 *
 * Every byte of an index is under a checksum, so random changes stop at
 * the first check. To reach the code behind the checks, an input whose
 * first byte is odd has its checksums recomputed before it is opened (the
 * entries' sums, each section's and the header's, as index_int.h lays them
 * out), the way zstd fuzzes decoders with checksums off; an even first byte
 * leaves them as they are. The first byte is dropped either way.
 *
 * Properties: no crash, leak or sanitizer report whatever the file; a
 * refusal is one of the documented statuses; on an opened index, every
 * reader (entries, signatures, lookups, key matches, frequencies, blobs,
 * statistics, verify) either succeeds or reports DEDUP_EFORMAT.
 *
 * The file is a memfd, so the harness touches no disk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dedup/index.h"
#include "dedup/sig.h"
#include "fuzz_util.h"
#include "index_int.h"

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fd = memfd_create("fuzz_index", 0);
	if (fd < 0) {
		perror("fuzz_index: memfd_create");
		abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

/* Recompute every checksum that the layout lets us find. */
static void fix_sums(unsigned char *h, size_t size)
{
	uint64_t nsec, i, end, nent, off, len, heapoff = 0, heaplen = 0;
	uint64_t entoff = 0;
	XXH3_state_t st;

	if (size < HDR_SIZE)
		return;
	nsec = ix_get(h + 12, 4);
	if (nsec > MAX_SECTIONS)
		nsec = MAX_SECTIONS;
	end = HDR_SIZE + nsec * SEC_SIZE;
	if (end > size)
		return;
	nent = ix_get(h + 80, 8);
	/* Entry sums first: the entries section's sum covers them. */
	for (i = 0; i < nsec; i++) {
		unsigned char *r = h + HDR_SIZE + i * SEC_SIZE;

		off = ix_get(r + 8, 8);
		len = ix_get(r + 16, 8);
		if (off > size || len > size - off)
			continue;
		if (i == 0)
			entoff = off;
		if (i == 1) {
			heapoff = off;
			heaplen = len;
		}
	}
	if (entoff && nent <= (size - entoff) / ENT_SIZE) {
		for (i = 0; i < nent; i++) {
			unsigned char *e = h + entoff + i * ENT_SIZE;
			uint64_t eo = ix_get(e + E_HEAPOFF, 8);
			uint64_t pl = ix_get(e + E_PATHLEN, 4);
			uint64_t sl = ix_get(e + E_SIGLEN, 4);
			const unsigned char *p = h + heapoff;

			if (eo > heaplen || pl + sl > heaplen - eo)
				continue;
			ix_put(e + E_SUM, ix_bytes_sum(p + eo, pl,
						       p + eo + pl, sl), 4);
		}
	}
	for (i = 0; i < nsec; i++) {
		unsigned char *r = h + HDR_SIZE + i * SEC_SIZE;

		off = ix_get(r + 8, 8);
		len = ix_get(r + 16, 8);
		if (off > size || len > size - off)
			continue;
		ix_put(r + 24, XXH3_64bits(h + off, len), 8);
	}
	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, h, HDR_SUM_AT);
	XXH3_64bits_update(&st, h + HDR_SIZE, end - HDR_SIZE);
	ix_put(h + HDR_SUM_AT, XXH3_64bits_digest(&st), 8);
}

static int count_match(uint32_t id, void *arg)
{
	uint32_t *n = arg;

	return ++*n > 1000;
}

#define READ_OK(st) ((st) == DEDUP_OK || (st) == DEDUP_EFORMAT || \
		     (st) == DEDUP_ENOMEM)

static void exercise(struct dedup_index *ix)
{
	struct dedup_index_entry e;
	struct dedup_index_stats stats;
	struct dedup_error err;
	struct dedup_sig s;
	struct dedup_df *df = NULL;
	const void *blob;
	size_t bloblen;
	uint32_t i, n, id, nmatch = 0;
	uint64_t keys[4];
	dedup_status st;

	dedup_sig_init(&s);
	n = dedup_index_stored(ix);
	FUZZ_CHECK(dedup_index_count(ix) == n, "count %u, stored %u",
		   dedup_index_count(ix), n);
	for (i = 0; i < n && i < 64; i++) {
		st = dedup_index_entry(ix, i, &e, &err);
		FUZZ_CHECK(READ_OK(st), "entry %u: %d: %s", i, st, err.msg);
		if (st)
			continue;
		FUZZ_CHECK(e.rep < n, "entry %u: rep %u of %u", i, e.rep, n);
		st = dedup_index_sig(ix, i, &s, &err);
		FUZZ_CHECK(READ_OK(st), "sig %u: %d: %s", i, st, err.msg);
		st = dedup_index_find(ix, e.path, e.path_len, e.body, &id,
				      &err);
		FUZZ_CHECK(st == DEDUP_DONE || READ_OK(st), "find %u: %d: %s",
			   i, st, err.msg);
		if (st == DEDUP_OK)
			FUZZ_CHECK(id < n, "find: id %u of %u", id, n);
		keys[i % 4] = e.body;
	}
	st = dedup_index_entry(ix, n, &e, &err);
	FUZZ_CHECK(st == DEDUP_EINVAL, "entry past the end: %d", st);

	keys[0] = 0;
	keys[1] = UINT64_MAX;
	keys[2] = n ? keys[2] : 42;
	keys[3] = n ? keys[3] : 7;
	st = dedup_index_match(ix, keys, 4, 0, count_match, &nmatch, &err);
	FUZZ_CHECK(READ_OK(st), "match: %d: %s", st, err.msg);
	st = dedup_index_match(ix, keys, 4, 2, count_match, &nmatch, &err);
	FUZZ_CHECK(READ_OK(st), "match: %d: %s", st, err.msg);

	st = dedup_index_df_check(ix, &err);
	FUZZ_CHECK(READ_OK(st), "df check: %d: %s", st, err.msg);
	(void)dedup_index_df_get(ix, 12345);
	(void)dedup_index_df_docs(ix);
	if (!dedup_df_new(&df)) {
		st = dedup_index_df_load(ix, df, &err);
		FUZZ_CHECK(READ_OK(st), "df load: %d: %s", st, err.msg);
		dedup_df_free(df);
	}
	st = dedup_index_blob(ix, "linestats", &blob, &bloblen, &err);
	FUZZ_CHECK(st == DEDUP_DONE || READ_OK(st), "blob: %d: %s", st,
		   err.msg);
	st = dedup_index_stats(ix, &stats, &err);
	FUZZ_CHECK(READ_OK(st), "stats: %d: %s", st, err.msg);
	st = dedup_index_verify(ix, &err);
	FUZZ_CHECK(READ_OK(st), "verify: %d: %s", st, err.msg);
	dedup_sig_release(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dedup_index *ix = NULL;
	struct dedup_error err;
	unsigned char *copy;
	dedup_status st;
	int fix;

	if (size < 1)
		return 0;
	fix = data[0] & 1;
	data++;
	size--;
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (fix)
		fix_sums(copy, size);
	FUZZ_CHECK(ftruncate(fd, 0) == 0 &&
		   pwrite(fd, copy, size, 0) == (ssize_t)size,
		   "memfd: %s", strerror(errno));
	free(copy);

	st = dedup_index_open(&ix, path, NULL, DEDUP_INDEX_READONLY, &err);
	if (st) {
		FUZZ_CHECK(st == DEDUP_EFORMAT || st == DEDUP_ENOMEM ||
			   st == DEDUP_ESETTINGS || st == DEDUP_ETOOBIG,
			   "open: status %d: %s", st, err.msg);
		FUZZ_CHECK(!ix, "failed open left a handle");
		return 0;
	}
	exercise(ix);
	dedup_index_free(ix);
	return 0;
}
