/*
 * index.c - the persistent index: open, lock, check, look up and add (see
 * dedup/index.h; commit is in index_write.c, the layout in index_int.h and
 * docs/index.md).
 *
 * Opening maps the file and checks the header, the section table, the
 * entry records and the path table with one XXH3 pass over them (60 bytes
 * per entry). The rest is not read at open: an entry's heap bytes are
 * checked against its own checksum when it is read, key lookups check every
 * id they return, the frequency table and blobs are checked when loaded,
 * and dedup_index_verify() (called by every commit before it copies
 * anything) checks every section.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dedup/index.h"
#include "dedup/strip.h"
#include "index_int.h"

uint64_t ix_path_hash(const char *path, size_t len)
{
	return XXH3_64bits(path, len);
}

uint32_t ix_bytes_sum(const void *a, size_t alen, const void *b, size_t blen)
{
	XXH3_state_t st;

	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, a, alen);
	XXH3_64bits_update(&st, b, blen);
	return (uint32_t)XXH3_64bits_digest(&st);
}

const char *dedup_index_level_name(enum dedup_level level)
{
	return level == DEDUP_LEVEL_COPY ? "copy" : "event";
}

/* ---- opening ---- */

static dedup_status bad(const struct dedup_index *ix, struct dedup_error *err,
			const char *what)
{
	return dedup_error_set(err, DEDUP_EFORMAT, "index '%s' is corrupt: %s",
			       ix->path, what);
}

static const char *sec_name(uint32_t type)
{
	static const char *const names[] = {
		"?", "entries", "heap", "paths", "keys", "frequencies", "blob",
	};

	return type < sizeof(names) / sizeof(*names) ? names[type] : "?";
}

static dedup_status check_sum(const struct dedup_index *ix,
			      const struct ix_section *s,
			      struct dedup_error *err)
{
	if (XXH3_64bits(ix->map + s->off, s->len) != s->sum)
		return dedup_error_set(err, DEDUP_EFORMAT,
				       "index '%s' is corrupt: checksum of the "
				       "%s section does not match",
				       ix->path, sec_name(s->type));
	return DEDUP_OK;
}

static dedup_status parse_header(struct dedup_index *ix,
				 struct dedup_error *err)
{
	const unsigned char *h = ix->map;
	uint64_t end, nent, fsize;
	uint32_t i, version;
	static const uint32_t order[] = {
		SEC_ENTRIES, SEC_HEAP, SEC_PATHS, SEC_KEYS, SEC_DF,
	};

	if (ix->size < sizeof(IX_MAGIC) - 1 ||
	    memcmp(h, IX_MAGIC, sizeof(IX_MAGIC) - 1))
		return dedup_error_set(err, DEDUP_EFORMAT,
				       "'%s' is not a dedup index", ix->path);
	if (ix->size < HDR_SIZE)
		return dedup_error_set(err, DEDUP_EFORMAT,
				       "index '%s' is truncated (%zu bytes)",
				       ix->path, ix->size);
	version = (uint32_t)ix_get(h + 8, 4);
	if (version != IX_FORMAT)
		return dedup_error_set(err, DEDUP_EFORMAT,
				       "index '%s' has format version %u; this "
				       "dedup reads version %u",
				       ix->path, version, IX_FORMAT);
	ix->nsec = (uint32_t)ix_get(h + 12, 4);
	if (ix->nsec < 5 || ix->nsec > MAX_SECTIONS)
		return bad(ix, err, "bad section count");
	end = HDR_SIZE + (uint64_t)ix->nsec * SEC_SIZE;
	if (end > ix->size)
		return dedup_error_set(err, DEDUP_EFORMAT,
				       "index '%s' is truncated (%zu bytes)",
				       ix->path, ix->size);
	{
		XXH3_state_t st;

		XXH3_64bits_reset(&st);
		XXH3_64bits_update(&st, h, HDR_SUM_AT);
		XXH3_64bits_update(&st, h + HDR_SIZE, end - HDR_SIZE);
		if (XXH3_64bits_digest(&st) != ix_get(h + HDR_SUM_AT, 8))
			return bad(ix, err, "header checksum does not match");
	}
	fsize = ix_get(h + 88, 8);
	if (fsize != ix->size)
		return dedup_error_set(err, DEDUP_EFORMAT,
				       fsize > ix->size ?
				       "index '%s' is truncated (%zu bytes)" :
				       "index '%s' has trailing bytes (%zu bytes)",
				       ix->path, ix->size);
	ix->set_version = (uint32_t)ix_get(h + 16, 4);
	ix->set.sig.level = (enum dedup_level)ix_get(h + 20, 4);
	ix->set.sig.nperm = (uint32_t)ix_get(h + 24, 4);
	ix->set.sig.shingle = (uint32_t)ix_get(h + 28, 4);
	ix->set.sig.kterms = (uint32_t)ix_get(h + 32, 4);
	ix->set.nhash = (uint32_t)ix_get(h + 36, 4);
	ix->set.bands = (uint32_t)ix_get(h + 40, 4);
	ix->set.rows = (uint32_t)ix_get(h + 44, 4);
	ix->set.top_terms = (uint32_t)ix_get(h + 48, 4);
	ix->set.cleaning = ix_get(h + 96, 8);
	ix->created = (int64_t)ix_get(h + 56, 8);
	ix->committed = (int64_t)ix_get(h + 64, 8);
	ix->generation = ix_get(h + 72, 8);
	nent = ix_get(h + 80, 8);
	if (nent >= UINT32_MAX)
		return bad(ix, err, "entry count out of range");
	ix->n = (uint32_t)nent;

	for (i = 0; i < ix->nsec; i++) {
		const unsigned char *r = h + HDR_SIZE + (size_t)i * SEC_SIZE;
		struct ix_section *s = &ix->sec[i];

		s->type = (uint32_t)ix_get(r, 4);
		s->off = ix_get(r + 8, 8);
		s->len = ix_get(r + 16, 8);
		s->sum = ix_get(r + 24, 8);
		if (ix_get(r + 4, 4) != 0 ||
		    (i < 5 ? s->type != order[i] : s->type != SEC_BLOB))
			return bad(ix, err, "unexpected section");
		/* back to back: every byte of the file is under a checksum */
		if (s->off != end || s->len > ix->size - end)
			return bad(ix, err, "section out of place");
		end += s->len;
	}
	if (end != ix->size)
		return bad(ix, err, "sections do not fill the file");

	if (ix->sec[0].len != (uint64_t)ix->n * ENT_SIZE ||
	    ix->sec[2].len != (uint64_t)ix->n * REC_SIZE ||
	    ix->sec[3].len % REC_SIZE || ix->sec[4].len < DF_HEAD)
		return bad(ix, err, "section sizes do not match the count");
	ix->ent = h + ix->sec[0].off;
	ix->heap = h + ix->sec[1].off;
	ix->heap_len = ix->sec[1].len;
	ix->paths = h + ix->sec[2].off;
	ix->keys = h + ix->sec[3].off;
	ix->nkeys = ix->sec[3].len / REC_SIZE;
	ix->df = h + ix->sec[4].off;
	ix->df_docs = ix_get(ix->df, 8);
	ix->df_terms = ix_get(ix->df + 8, 8);
	if (ix->df_terms > (ix->sec[4].len - DF_HEAD) / DF_REC ||
	    ix->sec[4].len != DF_HEAD + ix->df_terms * DF_REC)
		return bad(ix, err, "frequency table size does not match");
	for (i = 5; i < ix->nsec; i++) {
		const unsigned char *b = h + ix->sec[i].off;
		uint64_t nl;

		if (ix->sec[i].len < 4)
			return bad(ix, err, "blob too short");
		nl = ix_get(b, 4);
		if (nl < 1 || nl > MAX_BLOB_NAME || nl > ix->sec[i].len - 4)
			return bad(ix, err, "bad blob name");
	}
	return DEDUP_OK;
}

/* Every entry's heap range is inside the heap and its representative is a
 * stored cluster root: later reads and the commit rely on both. */
static dedup_status check_entries(struct dedup_index *ix,
				  struct dedup_error *err)
{
	uint32_t i;

	for (i = 0; i < ix->n; i++) {
		const unsigned char *e = ix->ent + (size_t)i * ENT_SIZE;
		uint64_t off = ix_get(e + E_HEAPOFF, 8);
		uint64_t len = ix_get(e + E_PATHLEN, 4) + ix_get(e + E_SIGLEN, 4);
		uint32_t rep = (uint32_t)ix_get(e + E_REP, 4);

		if (off > ix->heap_len || len > ix->heap_len - off)
			return bad(ix, err, "entry outside the heap");
		if (rep >= ix->n ||
		    ix_get(ix->ent + (size_t)rep * ENT_SIZE + E_REP, 4) != rep)
			return bad(ix, err, "entry names a bad representative");
		if (ix_get(ix->paths + (size_t)i * REC_SIZE + 8, 4) >= ix->n)
			return bad(ix, err, "path table names a bad entry");
		{
			float sc = ix_float((uint32_t)ix_get(e + E_SCORE, 4));

			if (!(sc >= 0 && sc <= 1))
				return bad(ix, err, "entry score out of range");
		}
	}
	return DEDUP_OK;
}

dedup_status ix_load(struct dedup_index *ix, int fd, struct dedup_error *err)
{
	struct stat sb;
	dedup_status st;
	void *m;

	if (fstat(fd, &sb))
		return dedup_error_set(err, DEDUP_EIO, "cannot stat index '%s': %s",
				       ix->path, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return dedup_error_set(err, DEDUP_EFORMAT,
				       "index '%s' is not a regular file",
				       ix->path);
	if (sb.st_size == 0)
		return dedup_error_set(err, DEDUP_EFORMAT, "index '%s' is empty",
				       ix->path);
	if ((uint64_t)sb.st_size > SIZE_MAX)
		return dedup_error_set(err, DEDUP_ETOOBIG,
				       "index '%s' is too large to map", ix->path);
	m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return dedup_error_set(err, DEDUP_EIO, "cannot map index '%s': %s",
				       ix->path, strerror(errno));
	ix->map = m;
	ix->size = (size_t)sb.st_size;
	st = parse_header(ix, err);
	/* What every session reads; the rest is checked where it is used. */
	if (!st)
		st = check_sum(ix, &ix->sec[0], err);
	if (!st)
		st = check_sum(ix, &ix->sec[2], err);
	if (!st)
		st = check_entries(ix, err);
	if (st) {
		ix_unload(ix);
		return st;
	}
	/* Lookups jump around the heap and key table: no read-ahead there. */
	{
		size_t pg = (size_t)sysconf(_SC_PAGESIZE);
		size_t a = ((size_t)ix->sec[1].off + pg - 1) / pg * pg;
		size_t b = (size_t)(ix->sec[3].off + ix->sec[3].len) / pg * pg;

		if (b > a)
			madvise((char *)m + a, b - a, MADV_RANDOM);
	}
	return DEDUP_OK;
}

void ix_unload(struct dedup_index *ix)
{
	if (ix->map)
		munmap((void *)ix->map, ix->size);
	ix->map = NULL;
	ix->size = 0;
	ix->n = 0;
	ix->nsec = 0;
	ix->ent = ix->heap = ix->paths = ix->keys = ix->df = NULL;
	ix->heap_len = ix->nkeys = ix->df_terms = ix->df_docs = 0;
}

static dedup_status check_settings(const struct dedup_index *ix,
				   const struct dedup_index_settings *want,
				   struct dedup_error *err)
{
	const struct dedup_index_settings *have = &ix->set;
	const char *p = ix->path;

	if (ix->set_version != DEDUP_INDEX_SETTINGS_VERSION)
		return dedup_error_set(err, DEDUP_ESETTINGS,
			"index '%s' was built by a dedup that makes signatures "
			"of version %u; this one makes version %u: rebuild it",
			p, ix->set_version, DEDUP_INDEX_SETTINGS_VERSION);
	if (have->sig.level != want->sig.level)
		return dedup_error_set(err, DEDUP_ESETTINGS,
			"index '%s' was built with --level %s; this run uses %s",
			p, dedup_index_level_name(have->sig.level),
			dedup_index_level_name(want->sig.level));
	if (have->sig.level == DEDUP_LEVEL_COPY &&
	    have->sig.nperm != want->sig.nperm)
		return dedup_error_set(err, DEDUP_ESETTINGS,
			"index '%s' was built with %u permutations; this run "
			"uses %u", p, have->sig.nperm, want->sig.nperm);
	if (have->sig.level == DEDUP_LEVEL_COPY &&
	    have->sig.shingle != want->sig.shingle)
		return dedup_error_set(err, DEDUP_ESETTINGS,
			"index '%s' was built with %u-word shingles; this run "
			"uses %u", p, have->sig.shingle, want->sig.shingle);
	if (have->sig.kterms != want->sig.kterms)
		return dedup_error_set(err, DEDUP_ESETTINGS,
			"index '%s' was built keeping %u terms per document; "
			"this run keeps %u", p, have->sig.kterms,
			want->sig.kterms);
	if (have->nhash != want->nhash || have->bands != want->bands ||
	    have->rows != want->rows)
		return dedup_error_set(err, DEDUP_ESETTINGS,
			"index '%s' was built with LSH %u hashes in %u bands "
			"of %u rows; this run uses %u in %u of %u", p,
			have->nhash, have->bands, have->rows, want->nhash,
			want->bands, want->rows);
	if (have->cleaning != want->cleaning)
		return dedup_error_set(err, DEDUP_ESETTINGS,
			"index '%s' was built with other cleaning options "
			"(boilerplate removal or rules); this run's differ", p);
	if (have->sig.level == DEDUP_LEVEL_EVENT &&
	    have->top_terms != want->top_terms)
		return dedup_error_set(err, DEDUP_ESETTINGS,
			"index '%s' was built with %u top terms; this run "
			"uses %u", p, have->top_terms, want->top_terms);
	return DEDUP_OK;
}

static dedup_status take_lock(struct dedup_index *ix, struct dedup_error *err)
{
	struct dedup_buf lp = DEDUP_BUF_INIT;
	dedup_status st = DEDUP_OK;
	int r;

	if (dedup_buf_addf(&lp, "%s.lock", ix->path))
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	/*
	 * The lock file is never removed: unlinking it would let a waiter
	 * lock the old inode while a newcomer locks a new one.
	 */
	ix->lockfd = open(lp.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (ix->lockfd < 0) {
		st = dedup_error_set(err, DEDUP_EIO,
				     "cannot open lock file '%s': %s", lp.buf,
				     strerror(errno));
		goto out;
	}
	do
		r = flock(ix->lockfd, LOCK_EX |
			  (ix->flags & DEDUP_INDEX_WAIT ? 0 : LOCK_NB));
	while (r && errno == EINTR);
	if (r && errno == EWOULDBLOCK)
		st = dedup_error_set(err, DEDUP_ELOCKED,
				     "index '%s' is locked by another dedup run",
				     ix->path);
	else if (r)
		st = dedup_error_set(err, DEDUP_EIO, "cannot lock '%s': %s",
				     lp.buf, strerror(errno));
out:
	dedup_buf_release(&lp);
	return st;
}

dedup_status dedup_index_open(struct dedup_index **out, const char *path,
			      const struct dedup_index_settings *settings,
			      unsigned flags, struct dedup_error *err)
{
	struct dedup_index *ix;
	dedup_status st;
	int fd;

	*out = NULL;
	ix = calloc(1, sizeof(*ix));
	if (!ix || !(ix->path = strdup(path))) {
		free(ix);
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	}
	ix->flags = flags;
	ix->lockfd = -1;
	ix->now = (int64_t)time(NULL);
	dedup_buf_init(&ix->pheap);
	if (!(flags & DEDUP_INDEX_READONLY)) {
		st = take_lock(ix, err);
		if (st)
			goto fail;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && (flags & DEDUP_INDEX_CREATE) &&
	    !(flags & DEDUP_INDEX_READONLY)) {
		if (!settings) {
			st = dedup_error_set(err, DEDUP_EINVAL,
					     "a new index '%s' needs settings",
					     path);
			goto fail;
		}
		st = dedup_sig_params_check(&settings->sig, err);
		if (st)
			goto fail;
		ix->set = *settings;
		ix->set_version = DEDUP_INDEX_SETTINGS_VERSION;
		ix->created = ix->now;
		*out = ix;
		return DEDUP_OK;
	}
	if (fd < 0) {
		st = dedup_error_set(err, DEDUP_EIO, "cannot open index '%s': %s",
				     path, strerror(errno));
		goto fail;
	}
	st = ix_load(ix, fd, err);
	close(fd);
	if (!st && settings)
		st = check_settings(ix, settings, err);
	if (st)
		goto fail;
	*out = ix;
	return DEDUP_OK;
fail:
	dedup_index_free(ix);
	return st;
}

void ix_pending_clear(struct dedup_index *ix)
{
	size_t i;

	free(ix->pv);
	ix->pv = NULL;
	ix->pn = ix->palloc = 0;
	dedup_buf_release(&ix->pheap);
	free(ix->phead);
	free(ix->pnext);
	ix->phead = ix->pnext = NULL;
	ix->pmask = 0;
	free(ix->pk);
	ix->pk = NULL;
	ix->pkn = ix->pkalloc = 0;
	free(ix->pdf);
	ix->pdf = NULL;
	ix->pdfn = 0;
	ix->pdfdocs = 0;
	for (i = 0; i < ix->nblobs; i++)
		free(ix->blobs[i].data);
	free(ix->blobs);
	ix->blobs = NULL;
	ix->nblobs = 0;
	ix->dirty = 0;
}

void dedup_index_free(struct dedup_index *ix)
{
	if (!ix)
		return;
	ix_pending_clear(ix);
	ix_unload(ix);
	if (ix->lockfd >= 0)
		close(ix->lockfd); /* releases the flock */
	free(ix->path);
	free(ix);
}

const struct dedup_index_settings *dedup_index_settings(
	const struct dedup_index *ix)
{
	return &ix->set;
}

uint32_t dedup_index_stored(const struct dedup_index *ix)
{
	return ix->n;
}

uint32_t dedup_index_count(const struct dedup_index *ix)
{
	return ix->n + ix->pn;
}

/* ---- reading ---- */

uint32_t ix_rep_of(const struct dedup_index *ix, uint32_t id)
{
	if (id < ix->n)
		return (uint32_t)ix_get(ix->ent + (size_t)id * ENT_SIZE + E_REP, 4);
	return ix->pv[id - ix->n].rep;
}

int64_t ix_added_of(const struct dedup_index *ix, uint32_t id)
{
	if (id < ix->n)
		return (int64_t)ix_get(ix->ent + (size_t)id * ENT_SIZE + E_ADDED,
				       8);
	return ix->pv[id - ix->n].added;
}

void ix_entry_raw(const struct dedup_index *ix, uint32_t id,
		  struct dedup_index_entry *e)
{
	if (id < ix->n) {
		const unsigned char *r = ix->ent + (size_t)id * ENT_SIZE;
		const unsigned char *b = ix->heap + ix_get(r + E_HEAPOFF, 8);

		e->path_len = (size_t)ix_get(r + E_PATHLEN, 4);
		e->sig_len = (size_t)ix_get(r + E_SIGLEN, 4);
		e->path = (const char *)b;
		e->sig = b + e->path_len;
		e->added = (int64_t)ix_get(r + E_ADDED, 8);
		e->date = (int32_t)(uint32_t)ix_get(r + E_DATE, 4);
		e->body = ix_get(r + E_BODY, 8);
		e->rep = (uint32_t)ix_get(r + E_REP, 4);
		e->score = ix_float((uint32_t)ix_get(r + E_SCORE, 4));
	} else {
		const struct ix_pend *p = &ix->pv[id - ix->n];

		e->path = ix->pheap.buf + p->off;
		e->path_len = p->path_len;
		e->sig = ix->pheap.buf + p->off + p->path_len;
		e->sig_len = p->sig_len;
		e->added = p->added;
		e->date = p->date;
		e->body = p->body;
		e->rep = p->rep;
		e->score = p->score;
	}
}

dedup_status dedup_index_entry(const struct dedup_index *ix, uint32_t id,
			       struct dedup_index_entry *e,
			       struct dedup_error *err)
{
	if (id < ix->n) {
		const unsigned char *r = ix->ent + (size_t)id * ENT_SIZE;

		ix_entry_raw(ix, id, e);
		if (ix_bytes_sum(e->path, e->path_len, e->sig, e->sig_len) !=
		    (uint32_t)ix_get(r + E_SUM, 4))
			return dedup_error_set(err, DEDUP_EFORMAT,
					       "index '%s' is corrupt: checksum "
					       "of entry %u does not match",
					       ix->path, id);
		return DEDUP_OK;
	}
	if (id - ix->n < ix->pn) {
		ix_entry_raw(ix, id, e);
		return DEDUP_OK;
	}
	return dedup_error_set(err, DEDUP_EINVAL,
			       "no entry %u in index '%s'", id, ix->path);
}

dedup_status dedup_index_sig(const struct dedup_index *ix, uint32_t id,
			     struct dedup_sig *s, struct dedup_error *err)
{
	struct dedup_index_entry e;
	dedup_status st;
	size_t used;

	st = dedup_index_entry(ix, id, &e, err);
	if (st)
		return st;
	st = dedup_sig_decode(s, e.sig, e.sig_len, &used, NULL);
	if (st == DEDUP_ENOMEM)
		return dedup_error_set(err, st, "out of memory");
	if (st || used != e.sig_len)
		return dedup_error_set(err, DEDUP_EFORMAT,
				       "index '%s': entry %u holds a bad "
				       "signature", ix->path, id);
	return DEDUP_OK;
}

/*
 * First record of a sorted table whose key is >= key: records of `size`
 * bytes with a `bytes`-byte key first. The keys are hashes, spread evenly,
 * so interpolation lands a probe next to the answer (a couple of probes
 * instead of twenty page touches); after four probes the range is halved,
 * which bounds the worst case of a skewed (damaged) table by a binary
 * search.
 */
static uint64_t lower_bound(const unsigned char *t, uint64_t n, size_t size,
			    int bytes, uint64_t key)
{
	uint64_t lo = 0, hi = n;
	int probes = 0;

	while (lo < hi) {
		uint64_t probe;

		if (++probes > 4) {
			probe = lo + (hi - lo) / 2;
		} else {
			uint64_t kl = ix_get(t + lo * size, bytes);
			uint64_t kh = ix_get(t + (hi - 1) * size, bytes);

			if (key <= kl)
				return lo;
			if (key > kh)
				return hi;
			probe = lo + (uint64_t)((double)(key - kl) /
						(double)(kh - kl) *
						(double)(hi - 1 - lo));
			if (probe >= hi)
				probe = hi - 1;
		}
		if (ix_get(t + probe * size, bytes) < key)
			lo = probe + 1;
		else
			hi = probe;
	}
	return lo;
}

static int same_doc(const struct dedup_index_entry *e, const char *path,
		    size_t len, uint64_t body)
{
	return e->body == body && e->path_len == len &&
	       !memcmp(e->path, path, len);
}

dedup_status dedup_index_find(const struct dedup_index *ix, const char *path,
			      size_t path_len, uint64_t body, uint32_t *id,
			      struct dedup_error *err)
{
	uint64_t h = ix_path_hash(path, path_len), i;
	struct dedup_index_entry e;
	dedup_status st;

	for (i = lower_bound(ix->paths, ix->n, REC_SIZE, 8, h);
	     i < ix->n && ix_get(ix->paths + i * REC_SIZE, 8) == h; i++) {
		uint32_t cand = (uint32_t)ix_get(ix->paths + i * REC_SIZE + 8, 4);

		if (cand >= ix->n)
			return bad(ix, err, "path table names a bad entry");
		st = dedup_index_entry(ix, cand, &e, err);
		if (st)
			return st;
		if (same_doc(&e, path, path_len, body)) {
			*id = cand;
			return DEDUP_OK;
		}
	}
	if (ix->phead) {
		uint32_t k = ix->phead[h & ix->pmask];

		for (; k != UINT32_MAX; k = ix->pnext[k]) {
			if (ix->pv[k].pathhash != h)
				continue;
			ix_entry_raw(ix, ix->n + k, &e);
			if (same_doc(&e, path, path_len, body)) {
				*id = ix->n + k;
				return DEDUP_OK;
			}
		}
	}
	return DEDUP_DONE;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

dedup_status dedup_index_match(const struct dedup_index *ix,
			       const uint64_t *keys, size_t nkeys,
			       uint32_t max_per_key,
			       int (*fn)(uint32_t id, void *arg), void *arg,
			       struct dedup_error *err)
{
	uint32_t *ids = NULL;
	size_t n = 0, alloc = 0, k, i;
	dedup_status st = DEDUP_OK;

	for (k = 0; k < nkeys; k++) {
		uint64_t lo = lower_bound(ix->keys, ix->nkeys, REC_SIZE, 8,
					  keys[k]), hi;

		for (hi = lo; hi < ix->nkeys &&
		     ix_get(ix->keys + hi * REC_SIZE, 8) == keys[k]; hi++)
			;
		if (max_per_key && hi - lo > max_per_key)
			lo = hi - max_per_key; /* ids ascend: the newest */
		for (; lo < hi; lo++) {
			uint32_t id = (uint32_t)ix_get(ix->keys + lo * REC_SIZE + 8,
						       4);

			if (id >= ix->n) {
				st = bad(ix, err, "key table names a bad entry");
				goto out;
			}
			if (n == alloc) {
				size_t na = alloc ? alloc * 2 : 64;
				uint32_t *v = realloc(ids, na * sizeof(*v));

				if (!v) {
					st = dedup_error_set(err, DEDUP_ENOMEM,
							     "out of memory");
					goto out;
				}
				ids = v;
				alloc = na;
			}
			ids[n++] = id;
		}
	}
	if (n)
		qsort(ids, n, sizeof(*ids), cmp_u32);
	for (i = 0; i < n; i++)
		if ((!i || ids[i] != ids[i - 1]) && fn(ids[i], arg))
			break;
out:
	free(ids);
	return st;
}

/* ---- adding ---- */

/* Room in the pending path hash for one more entry (pnext is sized with
 * pv, so only the bucket heads grow here). */
static dedup_status pend_index(struct dedup_index *ix)
{
	size_t cap, i;
	uint32_t *head;

	if (ix->phead && ((size_t)ix->pn + 1) * 2 <= ix->pmask + 1)
		return DEDUP_OK;
	cap = ix->phead ? (ix->pmask + 1) * 2 : 256;
	head = malloc(cap * sizeof(*head));
	if (!head)
		return DEDUP_ENOMEM;
	for (i = 0; i < cap; i++)
		head[i] = UINT32_MAX;
	for (i = 0; i < ix->pn; i++) {
		size_t b = ix->pv[i].pathhash & (cap - 1);

		ix->pnext[i] = head[b];
		head[b] = (uint32_t)i;
	}
	free(ix->phead);
	ix->phead = head;
	ix->pmask = cap - 1;
	return DEDUP_OK;
}

dedup_status dedup_index_add(struct dedup_index *ix,
			     const struct dedup_index_doc *doc, uint32_t *id,
			     int *added, struct dedup_error *err)
{
	struct dedup_buf sig = DEDUP_BUF_INIT;
	struct ix_pend *p;
	uint32_t found, self = ix->n + ix->pn, rep;
	dedup_status st;
	size_t k;

	if (added)
		*added = 0;
	if (ix->flags & DEDUP_INDEX_READONLY)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "index '%s' is open read-only", ix->path);
	if (ix->broken)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "index '%s' could not be reopened after "
				       "its last commit", ix->path);
	if (!doc->sig || doc->path_len > UINT32_MAX ||
	    (doc->nkeys && !doc->keys) ||
	    !(doc->score >= 0 && doc->score <= 1))
		return dedup_error_set(err, DEDUP_EINVAL,
				       "bad document for index '%s'", ix->path);
	if (doc->rep != UINT32_MAX && doc->rep >= self)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "no entry %u in index '%s'", doc->rep,
				       ix->path);
	st = dedup_index_find(ix, doc->path, doc->path_len, doc->sig->body,
			      &found, err);
	if (st == DEDUP_OK) {
		if (id)
			*id = found;
		return DEDUP_OK;
	}
	if (st != DEDUP_DONE)
		return st;
	if (self == UINT32_MAX)
		return dedup_error_set(err, DEDUP_ETOOBIG,
				       "index '%s' is full", ix->path);
	st = DEDUP_ENOMEM;
	if (ix->pn == ix->palloc) {
		uint32_t na = ix->palloc ? ix->palloc * 2 : 256;
		struct ix_pend *v = realloc(ix->pv, na * sizeof(*v));
		uint32_t *nx;

		if (!v)
			goto out;
		ix->pv = v;
		nx = realloc(ix->pnext, na * sizeof(*nx));
		if (!nx)
			goto out;
		ix->pnext = nx;
		ix->palloc = na;
	}
	if (pend_index(ix))
		goto out;
	if (ix->pkn + doc->nkeys > ix->pkalloc) {
		size_t na = ix->pkalloc ? ix->pkalloc : 1024;
		struct ix_rec *v;

		while (na < ix->pkn + doc->nkeys)
			na *= 2;
		v = realloc(ix->pk, na * sizeof(*v));
		if (!v)
			goto out;
		ix->pk = v;
		ix->pkalloc = na;
	}
	if (dedup_sig_encode(doc->sig, &sig) || sig.len > UINT32_MAX)
		goto out;
	p = &ix->pv[ix->pn];
	p->off = ix->pheap.len;
	if (dedup_buf_add(&ix->pheap, doc->path, doc->path_len) ||
	    dedup_buf_add(&ix->pheap, sig.buf, sig.len)) {
		dedup_buf_setlen(&ix->pheap, (size_t)p->off);
		goto out;
	}
	rep = doc->rep == UINT32_MAX ? self : ix_rep_of(ix, doc->rep);
	p->added = doc->added ? doc->added : ix->now;
	p->body = doc->sig->body;
	p->pathhash = ix_path_hash(doc->path, doc->path_len);
	p->path_len = (uint32_t)doc->path_len;
	p->sig_len = (uint32_t)sig.len;
	p->date = doc->sig->date;
	p->rep = rep;
	p->score = rep == self ? 1.0f : (float)doc->score;
	p->sum = ix_bytes_sum(ix->pheap.buf + p->off, p->path_len,
			      ix->pheap.buf + p->off + p->path_len, p->sig_len);
	ix->pnext[ix->pn] = ix->phead[p->pathhash & ix->pmask];
	ix->phead[p->pathhash & ix->pmask] = ix->pn;
	ix->pn++;
	for (k = 0; k < doc->nkeys; k++) {
		ix->pk[ix->pkn].key = doc->keys[k];
		ix->pk[ix->pkn].id = self;
		ix->pkn++;
	}
	ix->dirty = 1;
	if (id)
		*id = self;
	if (added)
		*added = 1;
	st = DEDUP_OK;
out:
	dedup_buf_release(&sig);
	if (st)
		dedup_error_set(err, st, "out of memory");
	return st;
}

/* ---- statistics and blobs ---- */

dedup_status dedup_index_df_load(const struct dedup_index *ix,
				 struct dedup_df *df, struct dedup_error *err)
{
	uint64_t i;
	uint32_t prev = 0;
	dedup_status st;

	if (ix->map && (st = check_sum(ix, &ix->sec[4], err)))
		return st;
	for (i = 0; i < ix->df_terms; i++) {
		const unsigned char *r = ix->df + DF_HEAD + i * DF_REC;
		uint32_t term = (uint32_t)ix_get(r, 4);

		if (i && term <= prev)
			return bad(ix, err, "frequency table out of order");
		prev = term;
		if (dedup_df_add(df, term, (uint32_t)ix_get(r + 4, 4)))
			return dedup_error_set(err, DEDUP_ENOMEM,
					       "out of memory");
	}
	dedup_df_add_doc(df, ix->df_docs);
	return DEDUP_OK;
}

dedup_status dedup_index_df_check(const struct dedup_index *ix,
				  struct dedup_error *err)
{
	return ix->map ? check_sum(ix, &ix->sec[4], err) : DEDUP_OK;
}

uint32_t dedup_index_df_get(const struct dedup_index *ix, uint32_t term)
{
	const unsigned char *t = ix->df + DF_HEAD;
	uint64_t i;

	if (!ix->df_terms)
		return 0;
	if (!term)
		term = 1; /* as struct dedup_df stores it */
	i = lower_bound(t, ix->df_terms, DF_REC, 4, term);
	if (i < ix->df_terms && ix_get(t + i * DF_REC, 4) == term)
		return (uint32_t)ix_get(t + i * DF_REC + 4, 4);
	return 0;
}

uint64_t dedup_index_df_docs(const struct dedup_index *ix)
{
	return ix->df_docs;
}

size_t ix_df_merge(const uint32_t *a, size_t na, const uint32_t *b,
		   size_t nb, uint32_t *out)
{
	size_t i = 0, j = 0, k = 0;

	while (i < na || j < nb) {
		uint64_t c;

		if (j == nb || (i < na && a[2 * i] < b[2 * j])) {
			out[2 * k] = a[2 * i];
			c = a[2 * i + 1];
			i++;
		} else if (i == na || b[2 * j] < a[2 * i]) {
			out[2 * k] = b[2 * j];
			c = b[2 * j + 1];
			j++;
		} else {
			out[2 * k] = a[2 * i];
			c = (uint64_t)a[2 * i + 1] + b[2 * j + 1];
			i++;
			j++;
		}
		out[2 * k + 1] = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
		k++;
	}
	return k;
}

struct df_collect {
	uint32_t *v;
	size_t n;
};

static int collect_df(uint32_t term, uint32_t count, void *arg)
{
	struct df_collect *c = arg;

	c->v[2 * c->n] = term;
	c->v[2 * c->n + 1] = count;
	c->n++;
	return 0;
}

static int cmp_pair(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/*
 * Kept as a sorted array rather than a struct dedup_df: merging one hash
 * table into another walks it in slot order, which piles keys into long
 * probe runs in the destination.
 */
dedup_status dedup_index_add_df(struct dedup_index *ix,
				const struct dedup_df *df,
				struct dedup_error *err)
{
	struct df_collect c = { NULL, 0 };
	size_t n = dedup_df_size(df);
	uint32_t *merged;

	if (ix->flags & DEDUP_INDEX_READONLY)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "index '%s' is open read-only", ix->path);
	c.v = malloc((n ? n : 1) * 2 * sizeof(*c.v));
	merged = malloc((n + ix->pdfn + 1) * 2 * sizeof(*merged));
	if (!c.v || !merged) {
		free(c.v);
		free(merged);
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	}
	dedup_df_foreach(df, collect_df, &c);
	qsort(c.v, c.n, 2 * sizeof(*c.v), cmp_pair);
	ix->pdfn = ix_df_merge(ix->pdf, ix->pdfn, c.v, c.n, merged);
	free(ix->pdf);
	free(c.v);
	ix->pdf = merged;
	ix->pdfdocs += dedup_df_docs(df);
	if (dedup_df_docs(df) || n)
		ix->dirty = 1;
	return DEDUP_OK;
}

dedup_status dedup_index_blob(const struct dedup_index *ix, const char *name,
			      const void **data, size_t *len,
			      struct dedup_error *err)
{
	size_t nl = strlen(name), i;

	for (i = 0; i < ix->nblobs; i++) {
		if (!strcmp(ix->blobs[i].name, name)) {
			*data = ix->blobs[i].data;
			*len = ix->blobs[i].len;
			return DEDUP_OK;
		}
	}
	for (i = 5; i < ix->nsec; i++) {
		const unsigned char *b = ix->map + ix->sec[i].off;
		uint64_t bl = ix_get(b, 4);

		if (bl == nl && !memcmp(b + 4, name, nl)) {
			dedup_status st = check_sum(ix, &ix->sec[i], err);

			if (st)
				return st;
			*data = b + 4 + nl;
			*len = (size_t)(ix->sec[i].len - 4 - nl);
			return DEDUP_OK;
		}
	}
	return DEDUP_DONE;
}

dedup_status dedup_index_set_blob(struct dedup_index *ix, const char *name,
				  const void *data, size_t len,
				  struct dedup_error *err)
{
	size_t nl = strlen(name), i;
	unsigned char *copy;
	struct ix_blob *b;

	if (ix->flags & DEDUP_INDEX_READONLY)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "index '%s' is open read-only", ix->path);
	if (nl < 1 || nl > MAX_BLOB_NAME)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "bad blob name '%s'", name);
	copy = malloc(len ? len : 1);
	if (!copy)
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	if (len)
		memcpy(copy, data, len);
	for (i = 0; i < ix->nblobs && strcmp(ix->blobs[i].name, name); i++)
		;
	if (i == ix->nblobs) {
		/* sections: five fixed ones and the blobs, stored or new */
		if (ix->nblobs + ix->nsec + 6 > MAX_SECTIONS) {
			free(copy);
			return dedup_error_set(err, DEDUP_ETOOBIG,
					       "too many blobs in index '%s'",
					       ix->path);
		}
		b = realloc(ix->blobs, (ix->nblobs + 1) * sizeof(*b));
		if (!b) {
			free(copy);
			return dedup_error_set(err, DEDUP_ENOMEM,
					       "out of memory");
		}
		ix->blobs = b;
		b = &ix->blobs[ix->nblobs++];
		memcpy(b->name, name, nl + 1);
	} else {
		b = &ix->blobs[i];
		free(b->data);
	}
	b->data = copy;
	b->len = len;
	ix->dirty = 1;
	return DEDUP_OK;
}

#define LINES_BLOB "linestats"

dedup_status dedup_index_lines_load(const struct dedup_index *ix,
				    struct dedup_linestats *ls,
				    struct dedup_error *err)
{
	const void *data;
	size_t len;
	dedup_status st;

	st = dedup_index_blob(ix, LINES_BLOB, &data, &len, err);
	if (st == DEDUP_DONE)
		return DEDUP_OK;
	if (st)
		return st;
	st = dedup_linestats_read(ls, data, len, err);
	if (st == DEDUP_EFORMAT || st == DEDUP_ESETTINGS) {
		char why[sizeof(err->msg)];

		/* the detail is rewritten into the same buffer: copy it */
		snprintf(why, sizeof(why), "%s",
			 err ? err->msg : dedup_strerror(st));
		return dedup_error_set(err, st, "index '%s': cannot use its "
				       "line counts: %s", ix->path, why);
	}
	return st;
}

/* The stored (or already added) counts plus ls, as the new blob. */
dedup_status dedup_index_add_lines(struct dedup_index *ix,
				   const struct dedup_linestats *ls,
				   struct dedup_error *err)
{
	struct dedup_linestats *total = NULL;
	struct dedup_buf img = DEDUP_BUF_INIT;
	dedup_status st;

	if (ix->flags & DEDUP_INDEX_READONLY)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "index '%s' is open read-only", ix->path);
	st = dedup_linestats_new(&total, err);
	if (!st)
		st = dedup_index_lines_load(ix, total, err);
	if (!st && dedup_linestats_merge(total, ls))
		st = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	if (!st && dedup_linestats_write(total, &img))
		st = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	if (!st)
		st = dedup_index_set_blob(ix, LINES_BLOB, img.buf, img.len, err);
	dedup_buf_release(&img);
	dedup_linestats_free(total);
	return st;
}

dedup_status dedup_index_verify(const struct dedup_index *ix,
				struct dedup_error *err)
{
	struct dedup_index_entry e;
	dedup_status st;
	uint64_t i;
	uint32_t id;

	for (i = 0; i < ix->nsec; i++) {
		st = check_sum(ix, &ix->sec[i], err);
		if (st)
			return st;
	}
	/*
	 * The entry checksums need no second pass: they were computed from
	 * the same heap bytes the heap checksum just covered. The path
	 * table is sorted and each record holds the hash of its entry's
	 * path: with n records and no repeated (hash, id) pair, every entry
	 * is found.
	 */
	for (i = 0; i < ix->n; i++) {
		const unsigned char *r = ix->paths + i * REC_SIZE;

		id = (uint32_t)ix_get(r + 8, 4);
		if (id >= ix->n ||
		    (i && (ix_get(r, 8) < ix_get(r - REC_SIZE, 8) ||
			   (ix_get(r, 8) == ix_get(r - REC_SIZE, 8) &&
			    id <= ix_get(r - REC_SIZE + 8, 4)))))
			return bad(ix, err, "path table out of order");
		ix_entry_raw(ix, id, &e);
		if (ix_path_hash(e.path, e.path_len) != ix_get(r, 8))
			return bad(ix, err, "path table does not match");
	}
	{
		uint64_t pk = 0;
		uint32_t pid = 0;

		for (i = 0; i < ix->nkeys; i++) {
			const unsigned char *r = ix->keys + i * REC_SIZE;
			uint64_t k = ix_get(r, 8);

			id = (uint32_t)ix_get(r + 8, 4);
			if (id >= ix->n ||
			    (i && (k < pk || (k == pk && id <= pid))))
				return bad(ix, err, "key table out of order");
			pk = k;
			pid = id;
		}
	}
	for (i = 1; i < ix->df_terms; i++)
		if (ix_get(ix->df + DF_HEAD + i * DF_REC, 4) <=
		    ix_get(ix->df + DF_HEAD + (i - 1) * DF_REC, 4))
			return bad(ix, err, "frequency table out of order");
	return DEDUP_OK;
}

dedup_status dedup_index_stats(const struct dedup_index *ix,
			       struct dedup_index_stats *s,
			       struct dedup_error *err)
{
	unsigned char *named = NULL;
	uint32_t i;

	memset(s, 0, sizeof(*s));
	s->entries = ix->n;
	s->file_bytes = ix->size;
	s->heap_bytes = ix->heap_len;
	s->keys = ix->nkeys;
	s->df_terms = ix->df_terms;
	s->df_docs = ix->df_docs;
	s->created = ix->created;
	s->committed = ix->committed;
	s->generation = ix->generation;
	if (!ix->n)
		return DEDUP_OK;
	named = calloc((ix->n + 7) / 8, 1);
	if (!named)
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	s->oldest = INT64_MAX;
	s->newest = INT64_MIN;
	for (i = 0; i < ix->n; i++) {
		int64_t a = ix_added_of(ix, i);
		uint32_t rep = ix_rep_of(ix, i);

		s->oldest = a < s->oldest ? a : s->oldest;
		s->newest = a > s->newest ? a : s->newest;
		if (rep != i && !(named[rep / 8] & (1u << (rep % 8)))) {
			named[rep / 8] |= (unsigned char)(1u << (rep % 8));
			s->clusters++;
		}
	}
	free(named);
	return DEDUP_OK;
}
