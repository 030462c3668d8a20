/*
 * index_write.c - dedup_index_commit(): write the whole new index beside
 * the old one and rename it into place (see dedup/index.h and
 * docs/index.md for why this is crash-safe).
 *
 * The new file is streamed: entry records, heap, then the path and key
 * tables as a merge of the stored tables (already sorted; dropping entries
 * renumbers ids monotonically, so they stay sorted) with this session's
 * sorted additions, then the frequencies and blobs; each section's XXH3
 * is computed on the way and the header is written last, at offset 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dedup/index.h"
#include "index_int.h"

#define WBUF_SIZE (1u << 20)
/* Under fault injection, write in small pieces: more kill points. */
#define WBUF_FAULT 32

struct writer {
	int fd;
	unsigned char *buf;
	size_t n, cap;
	uint64_t off;         /* bytes written or buffered */
	XXH3_state_t h;       /* of the current section */
	long fault, steps;    /* DEDUP_INDEX_FAULT: kill at step `fault` */
	int errnum;           /* first failure */
};

/*
 * Each write, fsync and rename is a step; the fault hook stands for a
 * kill -9 arriving just before it.
 */
static void step(struct writer *w)
{
	if (w->fault > 0 && ++w->steps == w->fault)
		raise(SIGKILL);
}

static int full_write(struct writer *w, const void *p, size_t n, off_t at,
		      int positional)
{
	const unsigned char *c = p;

	while (n) {
		ssize_t r;

		step(w);
		r = positional ? pwrite(w->fd, c, n, at) : write(w->fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			w->errnum = r < 0 ? errno : EIO;
			return -1;
		}
		c += r;
		n -= (size_t)r;
		at += r;
	}
	return 0;
}

static void flush(struct writer *w)
{
	if (w->n && !w->errnum)
		full_write(w, w->buf, w->n, 0, 0);
	w->n = 0;
}

static void out(struct writer *w, const void *p, size_t n)
{
	const unsigned char *c = p;

	XXH3_64bits_update(&w->h, p, n);
	w->off += n;
	while (n && !w->errnum) {
		size_t k = w->cap - w->n < n ? w->cap - w->n : n;

		memcpy(w->buf + w->n, c, k);
		w->n += k;
		c += k;
		n -= k;
		if (w->n == w->cap)
			flush(w);
	}
}

static void out_int(struct writer *w, uint64_t v, int bytes)
{
	unsigned char b[8];

	ix_put(b, v, bytes);
	out(w, b, (size_t)bytes);
}

static void out_rec(struct writer *w, uint64_t key, uint32_t id)
{
	unsigned char b[REC_SIZE];

	ix_put(b, key, 8);
	ix_put(b + 8, id, 4);
	out(w, b, sizeof(b));
}

/* What the new file holds, computed before anything is written. */
struct plan {
	uint32_t total;       /* stored + pending ids */
	uint32_t m;           /* entries kept */
	uint32_t *newid;      /* by old id, UINT32_MAX when dropped */
	uint32_t *newrep;     /* by new id */
	struct ix_rec *pp;    /* pending paths, sorted, new ids */
	uint32_t *dfv;        /* merged (term, count) pairs */
	uint64_t dfn, dfdocs;
	struct ix_section sec[MAX_SECTIONS];
	uint32_t nsec;
};

static void plan_release(struct plan *pl)
{
	free(pl->newid);
	free(pl->newrep);
	free(pl->pp);
	free(pl->dfv);
}

static int cmp_rec(const void *a, const void *b)
{
	const struct ix_rec *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* Stored and pending frequencies, merged into one sorted table. */
static dedup_status plan_df(const struct dedup_index *ix, struct plan *pl)
{
	uint32_t *stored = malloc(((size_t)ix->df_terms + 1) * 2 *
				  sizeof(*stored));
	uint64_t i;

	pl->dfv = malloc(((size_t)ix->df_terms + ix->pdfn + 1) * 2 *
			 sizeof(*pl->dfv));
	if (!stored || !pl->dfv) {
		free(stored);
		return DEDUP_ENOMEM;
	}
	for (i = 0; i < ix->df_terms; i++) {
		stored[2 * i] = (uint32_t)ix_get(ix->df + DF_HEAD + i * DF_REC, 4);
		stored[2 * i + 1] = (uint32_t)ix_get(ix->df + DF_HEAD +
						     i * DF_REC + 4, 4);
	}
	pl->dfn = ix_df_merge(stored, (size_t)ix->df_terms, ix->pdf, ix->pdfn,
			      pl->dfv);
	pl->dfdocs = ix->df_docs + ix->pdfdocs;
	free(stored);
	return DEDUP_OK;
}

static int same_path(const struct dedup_index *ix, uint32_t a, uint32_t b)
{
	struct dedup_index_entry x, y;

	ix_entry_raw(ix, a, &x);
	ix_entry_raw(ix, b, &y);
	return x.path_len == y.path_len && !memcmp(x.path, y.path, x.path_len);
}

/* Mark entries that a later entry with the same path replaces. */
static dedup_status mark_superseded(const struct dedup_index *ix,
				    uint32_t total, unsigned char *drop)
{
	struct ix_rec *v = malloc((total ? total : 1) * sizeof(*v));
	uint32_t i, j, k;

	if (!v)
		return DEDUP_ENOMEM;
	for (i = 0; i < total; i++) {
		v[i].key = i < ix->n ?
			   ix_get(ix->paths + (uint64_t)i * REC_SIZE, 8) :
			   ix->pv[i - ix->n].pathhash;
		v[i].id = i < ix->n ?
			  (uint32_t)ix_get(ix->paths + (uint64_t)i * REC_SIZE + 8,
					   4) : i;
	}
	qsort(v, total, sizeof(*v), cmp_rec);
	for (i = 0; i < total; i = j) {
		for (j = i + 1; j < total && v[j].key == v[i].key; j++)
			;
		/* ids ascend within a hash: an entry goes when any later
		 * one has the same path */
		for (k = i; k + 1 < j; k++) {
			uint32_t l;

			for (l = k + 1; l < j; l++) {
				if (same_path(ix, v[k].id, v[l].id)) {
					drop[v[k].id] = 1;
					break;
				}
			}
		}
	}
	free(v);
	return DEDUP_OK;
}

static dedup_status make_plan(const struct dedup_index *ix,
			      const struct dedup_index_commit_opts *o,
			      struct plan *pl)
{
	unsigned char *drop = NULL;
	uint32_t *promo = NULL, i, k;
	dedup_status st = DEDUP_ENOMEM;

	pl->total = ix->n + ix->pn;
	drop = calloc(pl->total ? pl->total : 1, 1);
	promo = malloc((pl->total ? pl->total : 1) * sizeof(*promo));
	pl->newid = malloc((pl->total ? pl->total : 1) * sizeof(*pl->newid));
	pl->newrep = malloc((pl->total ? pl->total : 1) * sizeof(*pl->newrep));
	pl->pp = malloc((ix->pn ? ix->pn : 1) * sizeof(*pl->pp));
	if (!drop || !promo || !pl->newid || !pl->newrep || !pl->pp)
		goto out;
	if (o->drop_superseded && mark_superseded(ix, pl->total, drop))
		goto out;
	pl->m = 0;
	for (i = 0; i < pl->total; i++) {
		promo[i] = UINT32_MAX;
		if (o->expire_before && ix_added_of(ix, i) < o->expire_before)
			drop[i] = 1;
		pl->newid[i] = drop[i] ? UINT32_MAX : pl->m++;
	}
	/* A dropped representative hands its cluster to its oldest member
	 * still kept (the first met in id order). */
	for (i = 0; i < pl->total; i++) {
		uint32_t root = ix_rep_of(ix, i);

		if (drop[i])
			continue;
		if (!drop[root]) {
			pl->newrep[pl->newid[i]] = pl->newid[root];
			continue;
		}
		if (promo[root] == UINT32_MAX)
			promo[root] = pl->newid[i];
		pl->newrep[pl->newid[i]] = promo[root];
	}
	for (i = 0, k = 0; i < ix->pn; i++) {
		if (drop[ix->n + i])
			continue;
		pl->pp[k].key = ix->pv[i].pathhash;
		pl->pp[k].id = pl->newid[ix->n + i];
		k++;
	}
	qsort(pl->pp, k, sizeof(*pl->pp), cmp_rec);
	st = plan_df(ix, pl);
out:
	free(drop);
	free(promo);
	return st;
}

static void begin(struct writer *w, struct plan *pl, uint32_t type)
{
	struct ix_section *s = &pl->sec[pl->nsec++];

	s->type = type;
	s->off = w->off;
	XXH3_64bits_reset(&w->h);
}

static void end(struct writer *w, struct plan *pl)
{
	struct ix_section *s = &pl->sec[pl->nsec - 1];

	s->len = w->off - s->off;
	s->sum = XXH3_64bits_digest(&w->h);
}

static void write_entries(const struct dedup_index *ix, struct writer *w,
			  const struct plan *pl)
{
	struct dedup_index_entry e;
	unsigned char r[ENT_SIZE];
	uint64_t heapoff = 0;
	uint32_t i;

	for (i = 0; i < pl->total && !w->errnum; i++) {
		uint32_t sum;

		if (pl->newid[i] == UINT32_MAX)
			continue;
		ix_entry_raw(ix, i, &e);
		sum = i < ix->n ?
		      (uint32_t)ix_get(ix->ent + (size_t)i * ENT_SIZE + E_SUM, 4) :
		      ix->pv[i - ix->n].sum;
		memset(r, 0, sizeof(r));
		ix_put(r + E_ADDED, (uint64_t)e.added, 8);
		ix_put(r + E_BODY, e.body, 8);
		ix_put(r + E_HEAPOFF, heapoff, 8);
		ix_put(r + E_PATHLEN, e.path_len, 4);
		ix_put(r + E_SIGLEN, e.sig_len, 4);
		ix_put(r + E_DATE, (uint32_t)e.date, 4);
		ix_put(r + E_REP, pl->newrep[pl->newid[i]], 4);
		ix_put(r + E_SUM, sum, 4);
		/* a promoted representative is its own cluster's keep */
		ix_put(r + E_SCORE, ix_float_bits(pl->newrep[pl->newid[i]] ==
						  pl->newid[i] ? 1.0f :
						  (float)e.score), 4);
		out(w, r, sizeof(r));
		heapoff += e.path_len + e.sig_len;
	}
}

static void write_heap(const struct dedup_index *ix, struct writer *w,
		       const struct plan *pl)
{
	struct dedup_index_entry e;
	uint32_t i;

	for (i = 0; i < pl->total && !w->errnum; i++) {
		if (pl->newid[i] == UINT32_MAX)
			continue;
		ix_entry_raw(ix, i, &e);
		out(w, e.path, e.path_len);
		out(w, e.sig, e.sig_len);
	}
}

/*
 * Merge a stored (u64, id) table, renumbered and filtered, with sorted
 * pending records (ids already new).
 */
static void write_merged(struct writer *w, const unsigned char *t,
			 uint64_t nt, const uint32_t *newid,
			 const struct ix_rec *p, size_t np)
{
	uint64_t i = 0;
	size_t j = 0;

	while ((i < nt || j < np) && !w->errnum) {
		uint64_t key = 0;
		uint32_t id = UINT32_MAX;

		if (i < nt) {
			key = ix_get(t + i * REC_SIZE, 8);
			id = newid[ix_get(t + i * REC_SIZE + 8, 4)];
		}
		if (i < nt && id == UINT32_MAX) {
			i++;
			continue;
		}
		if (i < nt && (j == np || key < p[j].key ||
			       (key == p[j].key && id < p[j].id))) {
			out_rec(w, key, id);
			i++;
		} else {
			out_rec(w, p[j].key, p[j].id);
			j++;
		}
	}
}

static void write_blob(struct writer *w, struct plan *pl, const char *name,
		       size_t nl, const void *data, size_t len)
{
	begin(w, pl, SEC_BLOB);
	out_int(w, nl, 4);
	out(w, name, nl);
	out(w, data, len);
	end(w, pl);
}

static void write_blobs(const struct dedup_index *ix, struct writer *w,
			struct plan *pl)
{
	size_t i, k;

	for (i = 5; i < ix->nsec; i++) {
		const unsigned char *b = ix->map + ix->sec[i].off;
		size_t nl = (size_t)ix_get(b, 4);

		for (k = 0; k < ix->nblobs; k++)
			if (strlen(ix->blobs[k].name) == nl &&
			    !memcmp(ix->blobs[k].name, b + 4, nl))
				break;
		if (k == ix->nblobs) /* not replaced in this session */
			write_blob(w, pl, (const char *)b + 4, nl, b + 4 + nl,
				   (size_t)(ix->sec[i].len - 4 - nl));
	}
	for (k = 0; k < ix->nblobs; k++)
		write_blob(w, pl, ix->blobs[k].name,
			   strlen(ix->blobs[k].name), ix->blobs[k].data,
			   ix->blobs[k].len);
}

static void write_header(const struct dedup_index *ix, struct writer *w,
			 const struct plan *pl, int64_t now)
{
	unsigned char h[HDR_SIZE + MAX_SECTIONS * SEC_SIZE];
	size_t tl = (size_t)pl->nsec * SEC_SIZE;
	XXH3_state_t st;
	uint32_t i;

	memset(h, 0, sizeof(h));
	memcpy(h, IX_MAGIC, sizeof(IX_MAGIC) - 1);
	ix_put(h + 8, IX_FORMAT, 4);
	ix_put(h + 12, pl->nsec, 4);
	/* kept as found: compacting an old index must not relabel it */
	ix_put(h + 16, ix->set_version, 4);
	ix_put(h + 20, (uint32_t)ix->set.sig.level, 4);
	ix_put(h + 24, ix->set.sig.nperm, 4);
	ix_put(h + 28, ix->set.sig.shingle, 4);
	ix_put(h + 32, ix->set.sig.kterms, 4);
	ix_put(h + 36, ix->set.nhash, 4);
	ix_put(h + 40, ix->set.bands, 4);
	ix_put(h + 44, ix->set.rows, 4);
	ix_put(h + 48, ix->set.top_terms, 4);
	ix_put(h + 56, (uint64_t)ix->created, 8);
	ix_put(h + 64, (uint64_t)now, 8);
	ix_put(h + 72, ix->generation + 1, 8);
	ix_put(h + 80, pl->m, 8);
	ix_put(h + 88, w->off, 8);
	ix_put(h + 96, ix->set.cleaning, 8);
	for (i = 0; i < pl->nsec; i++) {
		unsigned char *r = h + HDR_SIZE + (size_t)i * SEC_SIZE;

		ix_put(r, pl->sec[i].type, 4);
		ix_put(r + 8, pl->sec[i].off, 8);
		ix_put(r + 16, pl->sec[i].len, 8);
		ix_put(r + 24, pl->sec[i].sum, 8);
	}
	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, h, HDR_SUM_AT);
	XXH3_64bits_update(&st, h + HDR_SIZE, tl);
	ix_put(h + HDR_SUM_AT, XXH3_64bits_digest(&st), 8);
	if (!w->errnum)
		full_write(w, h, HDR_SIZE + tl, 0, 1);
}

static size_t count_sections(const struct dedup_index *ix)
{
	size_t n = 5, i, k;

	for (i = 5; i < ix->nsec; i++) {
		const unsigned char *b = ix->map + ix->sec[i].off;
		size_t nl = (size_t)ix_get(b, 4);

		for (k = 0; k < ix->nblobs; k++)
			if (strlen(ix->blobs[k].name) == nl &&
			    !memcmp(ix->blobs[k].name, b + 4, nl))
				break;
		n += k == ix->nblobs;
	}
	return n + ix->nblobs;
}

/* The directory holding path, for its fsync. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* Pending band keys with kept ids, renumbered and sorted (a copy: the
 * session's own records must survive a failed commit). */
static dedup_status plan_keys(const struct dedup_index *ix,
			      const struct plan *pl, struct ix_rec **out,
			      size_t *n)
{
	struct ix_rec *v = malloc((ix->pkn ? ix->pkn : 1) * sizeof(*v));
	size_t i, k = 0;

	if (!v)
		return DEDUP_ENOMEM;
	for (i = 0; i < ix->pkn; i++) {
		uint32_t id = pl->newid[ix->pk[i].id];

		if (id == UINT32_MAX)
			continue;
		v[k].key = ix->pk[i].key;
		v[k].id = id;
		k++;
	}
	qsort(v, k, sizeof(*v), cmp_rec);
	*out = v;
	*n = k;
	return DEDUP_OK;
}

/* Everything after the header placeholder, then the header. */
static void write_all(const struct dedup_index *ix, struct plan *pl,
		      const struct ix_rec *pk, size_t npk, struct writer *w,
		      int64_t now)
{
	unsigned char zero[HDR_SIZE + MAX_SECTIONS * SEC_SIZE] = { 0 };
	size_t nsec = count_sections(ix), np = 0;
	uint64_t t;

	XXH3_64bits_reset(&w->h); /* the placeholder is under no section */
	out(w, zero, HDR_SIZE + nsec * SEC_SIZE);
	pl->nsec = 0;
	begin(w, pl, SEC_ENTRIES);
	write_entries(ix, w, pl);
	end(w, pl);
	begin(w, pl, SEC_HEAP);
	write_heap(ix, w, pl);
	end(w, pl);
	for (t = ix->n; t < pl->total; t++)
		np += pl->newid[t] != UINT32_MAX;
	begin(w, pl, SEC_PATHS);
	write_merged(w, ix->paths, ix->n, pl->newid, pl->pp, np);
	end(w, pl);
	begin(w, pl, SEC_KEYS);
	write_merged(w, ix->keys, ix->nkeys, pl->newid, pk, npk);
	end(w, pl);
	begin(w, pl, SEC_DF);
	out_int(w, pl->dfdocs, 8);
	out_int(w, pl->dfn, 8);
	for (t = 0; t < pl->dfn && !w->errnum; t++) {
		out_int(w, pl->dfv[2 * t], 4);
		out_int(w, pl->dfv[2 * t + 1], 4);
	}
	end(w, pl);
	write_blobs(ix, w, pl);
	flush(w);
	write_header(ix, w, pl, now);
}

static int fsync_dir(struct writer *w, const char *path)
{
	char *dir = dir_of(path);
	int fd, r = -1;

	if (!dir) {
		w->errnum = ENOMEM;
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		step(w);
		r = fsync(fd);
		/* some file systems cannot sync a directory: not a failure */
		if (r && (errno == EINVAL || errno == ENOTSUP))
			r = 0;
		if (r)
			w->errnum = errno;
		close(fd);
	} else {
		w->errnum = errno;
	}
	free(dir);
	return r;
}

/* Whether the commit has anything to write. */
/*
 * Whether the commit has anything to write: decided from the entry
 * records alone, so that a repeated night costs no pass over the file.
 */
static int has_changes(const struct dedup_index *ix,
		       const struct dedup_index_commit_opts *o)
{
	uint32_t i;

	if (!ix->map || ix->dirty || o->force || o->drop_superseded)
		return 1;
	for (i = 0; o->expire_before && i < ix->n; i++)
		if (ix_added_of(ix, i) < o->expire_before)
			return 1;
	return 0;
}

dedup_status dedup_index_compact(struct dedup_index *ix, int64_t expire_before,
				 struct dedup_error *err)
{
	struct dedup_index_commit_opts o = { expire_before, 1, 1 };

	return dedup_index_commit(ix, &o, err);
}

dedup_status dedup_index_commit(struct dedup_index *ix,
				const struct dedup_index_commit_opts *opts,
				struct dedup_error *err)
{
	static const struct dedup_index_commit_opts none = { 0, 0, 0 };
	const struct dedup_index_commit_opts *o = opts ? opts : &none;
	struct writer w = { .fd = -1 };
	struct plan pl;
	struct ix_rec *pk = NULL;
	struct dedup_buf tmp = DEDUP_BUF_INIT;
	const char *fault = getenv("DEDUP_INDEX_FAULT");
	dedup_status st;
	size_t npk = 0;
	int fd;

	memset(&pl, 0, sizeof(pl));
	if (ix->broken)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "index '%s' could not be reopened after "
				       "its last commit", ix->path);
	if (ix->flags & DEDUP_INDEX_READONLY)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "index '%s' is open read-only", ix->path);
	if (!has_changes(ix, o))
		return DEDUP_OK;
	/* Never copy damage into the new file. */
	st = dedup_index_verify(ix, err);
	if (st)
		return st;
	st = make_plan(ix, o, &pl);
	if (!st)
		st = plan_keys(ix, &pl, &pk, &npk);
	if (st) {
		dedup_error_set(err, st, "out of memory");
		goto out;
	}
	if (dedup_buf_addf(&tmp, "%s.tmp", ix->path)) {
		st = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
		goto out;
	}
	w.fault = fault ? strtol(fault, NULL, 10) : 0;
	w.cap = w.fault > 0 ? WBUF_FAULT : WBUF_SIZE;
	w.buf = malloc(w.cap);
	if (!w.buf) {
		st = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
		goto out;
	}
	/* We hold the lock: any PATH.tmp is left by a writer that died. */
	if (unlink(tmp.buf) && errno != ENOENT) {
		st = dedup_error_set(err, DEDUP_EIO, "cannot remove '%s': %s",
				     tmp.buf, strerror(errno));
		goto out;
	}
	w.fd = open(tmp.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (w.fd < 0) {
		st = dedup_error_set(err, DEDUP_EIO, "cannot create '%s': %s",
				     tmp.buf, strerror(errno));
		goto out;
	}
	if (ix->map) {
		struct stat sb;

		/* keep the mode of the index being replaced */
		if (!stat(ix->path, &sb))
			fchmod(w.fd, sb.st_mode & 07777);
	}
	write_all(ix, &pl, pk, npk, &w, (int64_t)time(NULL));
	if (!w.errnum) {
		step(&w);
		if (fsync(w.fd))
			w.errnum = errno;
	}
	if (close(w.fd) && !w.errnum)
		w.errnum = errno;
	w.fd = -1;
	if (!w.errnum) {
		step(&w);
		if (rename(tmp.buf, ix->path))
			w.errnum = errno;
	}
	if (w.errnum) {
		unlink(tmp.buf);
		st = dedup_error_set(err, DEDUP_EIO,
				     "cannot write index '%s': %s", ix->path,
				     strerror(w.errnum));
		goto out;
	}
	/* The rename is durable only once the directory is. */
	if (fsync_dir(&w, ix->path)) {
		st = dedup_error_set(err, DEDUP_EIO,
				     "cannot sync the directory of index "
				     "'%s': %s", ix->path, strerror(w.errnum));
		goto out;
	}
	/* From here on the new file is the index: show it. */
	ix_pending_clear(ix);
	ix_unload(ix);
	fd = open(ix->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		st = dedup_error_set(err, DEDUP_EIO,
				     "cannot reopen index '%s': %s", ix->path,
				     strerror(errno));
		goto out;
	}
	st = ix_load(ix, fd, err);
	close(fd);
	if (st)
		ix->broken = 1;
out:
	if (w.fd >= 0) {
		close(w.fd);
		unlink(tmp.buf);
	}
	free(w.buf);
	free(pk);
	plan_release(&pl);
	dedup_buf_release(&tmp);
	return st;
}
