/*
 * index_int.h - the index file layout and handle, shared by index.c (open,
 * read, add) and index_write.c (commit). Internal to the library.
 *
 * Layout (every integer little-endian, see docs/index.md):
 *   header      HDR_SIZE bytes: magic, versions, settings, counts, and the
 *               XXH3-64 of the header and section table
 *   table       nsec records of SEC_SIZE: type, offset, length, XXH3-64
 *   sections    back to back in table order, no gaps, ending at the end
 *               of the file: ENTRIES HEAP PATHS KEYS DF BLOB*
 */
#ifndef DEDUP_INDEX_INT_H
#define DEDUP_INDEX_INT_H

#include <string.h>

#include "dedup/buf.h"
#include "dedup/index.h"

#define IX_MAGIC "\x89" "DDX\r\n\x1a\n"
#define IX_FORMAT 1
#define HDR_SIZE 128
#define HDR_SUM_AT 120
#define SEC_SIZE 32
#define ENT_SIZE 48
#define REC_SIZE 12  /* (u64 hash, u32 id) in PATHS and KEYS */
#define DF_HEAD 16   /* u64 documents, u64 terms */
#define DF_REC 8     /* (u32 term, u32 count) */
#define MAX_SECTIONS 64
#define MAX_BLOB_NAME 32

enum {
	SEC_ENTRIES = 1,
	SEC_HEAP,
	SEC_PATHS,
	SEC_KEYS,
	SEC_DF,
	SEC_BLOB,
};

/* Entry record field offsets. */
#define E_ADDED 0
#define E_BODY 8
#define E_HEAPOFF 16
#define E_PATHLEN 24
#define E_SIGLEN 28
#define E_DATE 32
#define E_REP 36
#define E_SUM 40
#define E_SCORE 44 /* IEEE-754 binary32 bits */

/* Little-endian loads; on little-endian hosts a plain unaligned load. */
static inline uint64_t ix_get(const unsigned char *p, int bytes)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (bytes == 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		return v;
	}
	if (bytes == 4) {
		uint32_t v;

		memcpy(&v, p, 4);
		return v;
	}
#endif
	{
		uint64_t v = 0;
		int i;

		for (i = bytes - 1; i >= 0; i--)
			v = (v << 8) | p[i];
		return v;
	}
}

static inline float ix_float(uint32_t bits)
{
	float f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

static inline uint32_t ix_float_bits(float f)
{
	uint32_t bits;

	memcpy(&bits, &f, sizeof(bits));
	return bits;
}

static inline void ix_put(unsigned char *p, uint64_t v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

struct ix_section {
	uint32_t type;
	uint64_t off, len, sum;
};

/* An entry added in this session; its bytes are in pheap at off. */
struct ix_pend {
	int64_t added;
	uint64_t body;
	uint64_t off;
	uint64_t pathhash;
	uint32_t path_len, sig_len;
	int32_t date;
	uint32_t rep;
	uint32_t sum;
	float score;
};

struct ix_rec {
	uint64_t key;
	uint32_t id;
};

struct ix_blob {
	char name[MAX_BLOB_NAME + 1];
	unsigned char *data;
	size_t len;
};

struct dedup_index {
	char *path;
	unsigned flags;
	int lockfd;
	struct dedup_index_settings set;
	uint32_t set_version;  /* DEDUP_INDEX_SETTINGS_VERSION it was made by */
	int64_t now;

	/* the stored index, NULL map when there is no file yet */
	const unsigned char *map;
	size_t size;
	int64_t created, committed;
	uint64_t generation;
	uint32_t n;
	struct ix_section sec[MAX_SECTIONS];
	uint32_t nsec;
	const unsigned char *ent, *heap, *paths, *keys, *df;
	uint64_t heap_len, nkeys, df_terms, df_docs;

	/* this session */
	struct ix_pend *pv;
	uint32_t pn, palloc;
	struct dedup_buf pheap;
	uint32_t *phead, *pnext; /* chained hash of pending paths */
	size_t pmask;
	struct ix_rec *pk;
	size_t pkn, pkalloc;
	uint32_t *pdf;           /* (term, count) pairs, terms ascending */
	size_t pdfn;
	uint64_t pdfdocs;
	struct ix_blob *blobs;
	size_t nblobs;
	int dirty;
	int broken; /* the new file could not be reopened after a commit */
};

uint64_t ix_path_hash(const char *path, size_t len);
uint32_t ix_bytes_sum(const void *a, size_t alen, const void *b, size_t blen);
/* Map and check the file at ix->path (fd open for reading). */
dedup_status ix_load(struct dedup_index *ix, int fd, struct dedup_error *err);
void ix_unload(struct dedup_index *ix);
/* Representative (a root) of a stored or pending id. */
uint32_t ix_rep_of(const struct dedup_index *ix, uint32_t id);
int64_t ix_added_of(const struct dedup_index *ix, uint32_t id);
void ix_pending_clear(struct dedup_index *ix);
/* Entry id (stored or pending, valid) without checking its checksum:
 * for the writer, after dedup_index_verify(). */
void ix_entry_raw(const struct dedup_index *ix, uint32_t id,
		  struct dedup_index_entry *e);
/*
 * Merge two (term, count) pair arrays with ascending terms into out (room
 * for na + nb pairs), summing counts (saturated); returns the pairs
 * written.
 */
size_t ix_df_merge(const uint32_t *a, size_t na, const uint32_t *b,
		   size_t nb, uint32_t *out);

#endif
