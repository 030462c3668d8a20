/*
 * pathstore.h - the paths of a run's documents, front-coded (internal to
 * pipeline.c).
 *
 * A run keeps the path of every document until its records are written:
 * a million of them at once. Paths come in walk order, so each one shares
 * most of its bytes with the one before it (/data/b00012/d00012344.txt,
 * /data/b00012/d00012345.txt): a path is stored as the length of the
 * prefix it shares with the previous path and the rest of its bytes, both
 * lengths as LEB128 varints. Every PATHSTORE_BLOCK-th path is stored whole
 * (a prefix of 0), and the start of each block is kept, so decoding a path
 * reads at most PATHSTORE_BLOCK entries of its block. On the generator's
 * paths that is about 9 bytes a path instead of 34.
 *
 * Any bytes but NUL are kept as they are. A decoded path needs
 * pathstore_max() + 1 bytes at most: callers size their buffers once and
 * decoding never fails.
 */
#ifndef DEDUP_PATHSTORE_H
#define DEDUP_PATHSTORE_H

#include <stddef.h>

#define PATHSTORE_BLOCK 16

struct pathstore {
	unsigned char *bytes;  /* the entries, block after block */
	size_t used, alloc;
	size_t *block;         /* where each block's first entry starts */
	size_t nblock_alloc;
	size_t n;              /* paths stored */
	size_t max;            /* length of the longest */
	char *last;            /* the previous path, for its prefix */
	size_t last_alloc;
};

/* The store embedded by the caller: zeroed, or initialised with this. */
#define PATHSTORE_INIT { 0 }

void pathstore_release(struct pathstore *ps);

/* Add a path (its index is the count before); -1 when out of memory. */
int pathstore_add(struct pathstore *ps, const char *path);

static inline size_t pathstore_count(const struct pathstore *ps)
{
	return ps->n;
}

/* Length of the longest path stored: buffers need one byte more. */
static inline size_t pathstore_max(const struct pathstore *ps)
{
	return ps->max;
}

/*
 * Path i (below pathstore_count()) into dst, which has room for
 * pathstore_max() + 1 bytes; returns dst.
 */
char *pathstore_get(const struct pathstore *ps, size_t i, char *dst);

#endif
