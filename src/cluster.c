/*
 * cluster.c - LSH candidates, verified similarity and average-linkage
 * clustering (see dedup/cluster.h for the method).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dedup/cluster.h"

void dedup_cluster_params_default(struct dedup_cluster_params *p,
				  enum dedup_level level)
{
	memset(p, 0, sizeof(*p));
	p->level = level;
	p->max_bucket = 64;
	p->max_cluster = 1000;
	if (level == DEDUP_LEVEL_COPY) {
		p->threshold = 0.7;
		p->lsh_threshold = 0.6;
		p->nhash = 128;
	} else {
		p->threshold = 0.2;
		p->lsh_threshold = 0.15;
		p->nhash = 64;
		p->top_terms = 24;
	}
}

dedup_status dedup_cluster_params_check(const struct dedup_cluster_params *p,
					struct dedup_error *err)
{
	if (!(p->threshold >= 0 && p->threshold <= 1))
		return dedup_error_set(err, DEDUP_EINVAL,
				       "threshold must be between 0 and 1");
	if (!(p->lsh_threshold > 0 && p->lsh_threshold <= 1))
		return dedup_error_set(err, DEDUP_EINVAL,
				       "LSH threshold must be in (0, 1]");
	if (p->nhash < 1 || p->nhash > 1024)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "hash count must be 1 to 1024");
	if ((p->bands || p->rows) &&
	    (!p->bands || !p->rows || p->bands * p->rows > p->nhash))
		return dedup_error_set(err, DEDUP_EINVAL,
				       "bands x rows must not exceed %u",
				       p->nhash);
	if (p->level == DEDUP_LEVEL_EVENT &&
	    (p->top_terms < 1 || p->top_terms > 4096))
		return dedup_error_set(err, DEDUP_EINVAL,
				       "top terms must be 1 to 4096");
	if (p->max_bucket < 2 || p->max_cluster < 2)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "bucket and cluster limits must be >= 2");
	return DEDUP_OK;
}

/* Integral of f over [a, b] by the trapezoid rule. */
static double integrate(double (*f)(double, double, double), double a,
			double b, double bands, double rows)
{
	const int steps = 200;
	double h = (b - a) / steps, sum = 0;
	int i;

	for (i = 0; i <= steps; i++) {
		double x = a + i * h, y = f(x, bands, rows);

		sum += (i == 0 || i == steps) ? y / 2 : y;
	}
	return sum * h;
}

static double p_fp(double s, double b, double r)
{
	return 1 - pow(1 - pow(s, r), b);
}

static double p_fn(double s, double b, double r)
{
	return 1 - (1 - pow(1 - pow(s, r), b));
}

void dedup_lsh_optimal(double t, uint32_t nhash, uint32_t *bands,
		       uint32_t *rows)
{
	double best = INFINITY;
	uint32_t b, r;

	*bands = nhash;
	*rows = 1;
	for (b = 1; b <= nhash; b++) {
		for (r = 1; b * r <= nhash; r++) {
			double err = integrate(p_fp, 0, t, b, r) +
				     integrate(p_fn, t, 1, b, r);

			if (err < best - 1e-12) {
				best = err;
				*bands = b;
				*rows = r;
			}
		}
	}
}

/* Per-document TF-IDF weights, in one array with offsets. */
struct weights {
	float *w;
	size_t *off;
	float *norm;
};

static float idf_of(const struct dedup_df *df, uint32_t term)
{
	double n = df ? (double)dedup_df_docs(df) : 1;
	double d = df ? dedup_df_get(df, term) : 1;

	if (d > n)
		d = n;
	return (float)(log((n + 1) / (d + 1)) + 1);
}

static float weight_of(const struct dedup_df *df, uint32_t term, uint16_t tf)
{
	return (float)((1 + log((double)tf)) * idf_of(df, term));
}

/*
 * Cosine of the two weight vectors restricted to the terms both samples
 * cover: a bottom-k sample holds every term below its largest hash, so
 * below the smaller of the two limits the samples are exact.
 */
static double cosine(const struct dedup_sig *a, const float *wa,
		     const struct dedup_sig *b, const float *wb)
{
	uint32_t lim = UINT32_MAX, i = 0, j = 0;
	double dot = 0, na = 0, nb = 0;

	if (a->ndistinct > a->nterms && a->nterms)
		lim = a->terms[a->nterms - 1];
	if (b->ndistinct > b->nterms && b->nterms &&
	    b->terms[b->nterms - 1] < lim)
		lim = b->terms[b->nterms - 1];
	while (i < a->nterms && a->terms[i] <= lim) {
		while (j < b->nterms && b->terms[j] < a->terms[i]) {
			nb += (double)wb[j] * wb[j];
			j++;
		}
		if (j < b->nterms && b->terms[j] == a->terms[i]) {
			dot += (double)wa[i] * wb[j];
			nb += (double)wb[j] * wb[j];
			j++;
		}
		na += (double)wa[i] * wa[i];
		i++;
	}
	while (j < b->nterms && b->terms[j] <= lim) {
		nb += (double)wb[j] * wb[j];
		j++;
	}
	if (na <= 0 || nb <= 0)
		return 0;
	return dot / sqrt(na * nb);
}

static int dates_apart(const struct dedup_cluster_params *p,
		       const struct dedup_sig *a, const struct dedup_sig *b)
{
	int64_t d;

	if (p->date_window <= 0 || a->date == DEDUP_DATE_NONE ||
	    b->date == DEDUP_DATE_NONE)
		return 0;
	d = (int64_t)a->date - b->date;
	return d > p->date_window || d < -p->date_window;
}

static double sim_with(const struct dedup_cluster_params *p,
		       const struct dedup_sig *a, const float *wa,
		       const struct dedup_sig *b, const float *wb)
{
	double s;

	if (a->nwords && a->body == b->body && a->nwords == b->nwords)
		return 1;
	if (dates_apart(p, a, b))
		return 0;
	if (p->level == DEDUP_LEVEL_COPY)
		s = dedup_sig_jaccard(a, b);
	else
		s = cosine(a, wa, b, wb);
	return s > 1 ? 1 : s;
}

double dedup_term_weight(const struct dedup_df *df, uint32_t term,
			 uint32_t tf)
{
	return weight_of(df, term, (uint16_t)(tf < UINT16_MAX ? tf : UINT16_MAX));
}

static float *doc_weights(const struct dedup_df *df, const struct dedup_sig *s)
{
	float *w = malloc((s->nterms ? s->nterms : 1) * sizeof(*w));
	uint32_t i;

	if (!w)
		return NULL;
	for (i = 0; i < s->nterms; i++)
		w[i] = weight_of(df, s->terms[i], s->tf[i]);
	return w;
}

double dedup_similarity(const struct dedup_cluster_params *p,
			const struct dedup_df *df, const struct dedup_sig *a,
			const struct dedup_sig *b)
{
	float *wa = doc_weights(df, a), *wb = doc_weights(df, b);
	double s = (wa && wb) ? sim_with(p, a, wa, b, wb) : 0;

	free(wa);
	free(wb);
	return s;
}

/* Similarities already computed, keyed by the pair (i < j). */
struct simcache {
	uint64_t *keys; /* pair + 1, 0 for empty */
	float *vals;
	size_t mask, used;
};

static uint64_t pair_key(uint32_t i, uint32_t j)
{
	return i < j ? ((uint64_t)i << 32 | j) : ((uint64_t)j << 32 | i);
}

static int cache_init(struct simcache *c, size_t want)
{
	size_t cap = 1024;

	while (cap < want * 2)
		cap *= 2;
	c->keys = calloc(cap, sizeof(*c->keys));
	c->vals = malloc(cap * sizeof(*c->vals));
	c->mask = cap - 1;
	c->used = 0;
	return c->keys && c->vals ? 0 : -1;
}

static void cache_release(struct simcache *c)
{
	free(c->keys);
	free(c->vals);
}

static size_t cache_slot(const struct simcache *c, uint64_t key)
{
	size_t i = (size_t)(XXH3_64bits(&key, sizeof(key))) & c->mask;

	while (c->keys[i] && c->keys[i] != key + 1)
		i = (i + 1) & c->mask;
	return i;
}

static int cache_put(struct simcache *c, uint64_t key, float v)
{
	size_t i;

	if ((c->used + 1) * 4 > (c->mask + 1) * 3) {
		struct simcache old = *c;
		size_t k;

		if (cache_init(c, (old.mask + 1)))
			return -1;
		for (k = 0; k <= old.mask; k++) {
			if (old.keys[k]) {
				i = cache_slot(c, old.keys[k] - 1);
				c->keys[i] = old.keys[k];
				c->vals[i] = old.vals[k];
				c->used++;
			}
		}
		cache_release(&old);
	}
	i = cache_slot(c, key);
	if (!c->keys[i])
		c->used++;
	c->keys[i] = key + 1;
	c->vals[i] = v;
	return 0;
}

struct run {
	const struct dedup_cluster_params *p;
	const struct dedup_sig *sigs;
	size_t n;
	float **w;
	struct simcache cache;
	uint32_t *parent, *next, *size;
};

static double sim_ij(struct run *r, uint32_t i, uint32_t j)
{
	uint64_t key = pair_key(i, j);
	size_t slot = cache_slot(&r->cache, key);
	double s;

	if (i == j)
		return 1;
	if (r->cache.keys[slot])
		return r->cache.vals[slot];
	s = sim_with(r->p, &r->sigs[i], r->w[i], &r->sigs[j], r->w[j]);
	cache_put(&r->cache, key, (float)s); /* a failed insert only costs time */
	return s;
}

/* LSH values of one document, nhash of them (0 when it has no features). */
static int doc_hashes(const struct dedup_cluster_params *p,
		      const struct dedup_sig *s, const float *w, uint32_t *out,
		      uint32_t *tmp_idx)
{
	uint32_t i, k, m;

	if (p->level == DEDUP_LEVEL_COPY) {
		if (!s->nperm || !s->nwords)
			return 0;
		for (i = 0; i < p->nhash; i++)
			out[i] = i < s->nperm ? s->mins[i] : 0;
		return 1;
	}
	if (!s->nterms)
		return 0;
	/* The strongest terms take part; weaker ones would rarely win. */
	m = s->nterms;
	for (i = 0; i < m; i++)
		tmp_idx[i] = i;
	if (m > p->top_terms) {
		/* partial selection sort: m is at most a few hundred */
		for (i = 0; i < p->top_terms; i++) {
			uint32_t best = i;

			for (k = i + 1; k < m; k++) {
				float wk = w[tmp_idx[k]], wb = w[tmp_idx[best]];

				if (wk > wb || (wk == wb &&
				    s->terms[tmp_idx[k]] < s->terms[tmp_idx[best]]))
					best = k;
			}
			k = tmp_idx[i];
			tmp_idx[i] = tmp_idx[best];
			tmp_idx[best] = k;
		}
		m = p->top_terms;
	}
	/*
	 * P-MinHash: term t wins permutation i when -ln(U_i(t)) / w_t is
	 * smallest, U_i(t) uniform in (0, 1) from a hash of (i, t).
	 */
	for (i = 0; i < p->nhash; i++) {
		double best = INFINITY;
		uint32_t win = 0;

		for (k = 0; k < m; k++) {
			uint32_t t = s->terms[tmp_idx[k]];
			uint64_t h = XXH3_64bits_withSeed(&t, sizeof(t), i + 1);
			double u = ((double)(h >> 11) + 0.5) / 9007199254740992.0;
			double v = -log(u) / w[tmp_idx[k]];

			if (v < best) {
				best = v;
				win = t;
			}
		}
		out[i] = win;
	}
	return 1;
}

static void bands_rows(const struct dedup_cluster_params *p, uint32_t *bands,
		       uint32_t *rows)
{
	*bands = p->bands;
	*rows = p->rows;
	if (!*bands)
		dedup_lsh_optimal(p->lsh_threshold, p->nhash, bands, rows);
}

uint32_t dedup_cluster_bands(const struct dedup_cluster_params *p)
{
	uint32_t b, r;

	bands_rows(p, &b, &r);
	return b;
}

/* Band keys from a document's LSH values. */
static void band_keys(const uint32_t *hv, uint32_t bands, uint32_t rows,
		      uint64_t *keys)
{
	uint32_t b;

	for (b = 0; b < bands; b++)
		keys[b] = XXH3_64bits_withSeed(hv + b * rows,
					       rows * sizeof(*hv), b);
}

int dedup_cluster_keys(const struct dedup_cluster_params *p,
		       const struct dedup_df *df, const struct dedup_sig *s,
		       uint64_t *keys)
{
	uint32_t bands, rows, *hv, *idx;
	float *w = doc_weights(df, s);
	int has = -1;

	bands_rows(p, &bands, &rows);
	hv = malloc(p->nhash * sizeof(*hv));
	idx = malloc((s->nterms ? s->nterms : 1) * sizeof(*idx));
	if (w && hv && idx) {
		has = doc_hashes(p, s, w, hv, idx);
		if (has)
			band_keys(hv, bands, rows, keys);
	}
	free(w);
	free(hv);
	free(idx);
	return has;
}

struct keydoc {
	uint64_t key;
	uint32_t doc;
};

static int cmp_keydoc(const void *a, const void *b)
{
	const struct keydoc *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->doc > y->doc) - (x->doc < y->doc);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

struct pairs {
	uint64_t *v;
	size_t n, alloc;
};

static int pairs_add(struct pairs *ps, uint32_t i, uint32_t j)
{
	if (ps->n == ps->alloc) {
		size_t na = ps->alloc ? ps->alloc * 2 : 4096;
		uint64_t *v = realloc(ps->v, na * sizeof(*v));

		if (!v)
			return -1;
		ps->v = v;
		ps->alloc = na;
	}
	ps->v[ps->n++] = pair_key(i, j);
	return 0;
}

/* Candidate pairs from LSH banding, sorted and unique. */
static dedup_status candidates(struct run *r, uint32_t bands, uint32_t rows,
			       struct pairs *ps)
{
	const struct dedup_cluster_params *p = r->p;
	uint32_t *hv = NULL, *idx = NULL;
	uint64_t *keys = NULL;
	unsigned char *has = NULL;
	struct keydoc *kd = NULL;
	dedup_status st = DEDUP_ENOMEM;
	size_t d, nk, i, j, b, maxterms = 1;

	for (d = 0; d < r->n; d++)
		if (r->sigs[d].nterms > maxterms)
			maxterms = r->sigs[d].nterms;
	hv = malloc(p->nhash * sizeof(*hv));
	keys = malloc(r->n * (size_t)bands * sizeof(*keys));
	has = malloc(r->n ? r->n : 1);
	idx = malloc(maxterms * sizeof(*idx));
	kd = malloc((r->n ? r->n : 1) * sizeof(*kd));
	if (!hv || !keys || !has || !idx || !kd)
		goto out;
	for (d = 0; d < r->n; d++) {
		has[d] = (unsigned char)doc_hashes(p, &r->sigs[d], r->w[d], hv,
						   idx);
		if (has[d])
			band_keys(hv, bands, rows, keys + d * bands);
	}
	for (b = 0; b < bands; b++) {
		nk = 0;
		for (d = 0; d < r->n; d++) {
			if (!has[d])
				continue;
			kd[nk].key = keys[d * bands + b];
			kd[nk].doc = (uint32_t)d;
			nk++;
		}
		qsort(kd, nk, sizeof(*kd), cmp_keydoc);
		for (i = 0; i < nk; i = j) {
			for (j = i + 1; j < nk && kd[j].key == kd[i].key; j++)
				;
			if (j - i <= p->max_bucket) {
				size_t x, y;

				for (x = i; x < j; x++)
					for (y = x + 1; y < j; y++)
						if (pairs_add(ps, kd[x].doc,
							      kd[y].doc))
							goto out;
			} else {
				/* Crowded bucket: neighbours only. */
				size_t x;

				for (x = i + 1; x < j; x++)
					if (pairs_add(ps, kd[x - 1].doc,
						      kd[x].doc))
						goto out;
			}
		}
		/* Keep the list small as bands add duplicates. */
		if (ps->n > 1u << 22 || b + 1 == bands) {
			qsort(ps->v, ps->n, sizeof(*ps->v), cmp_u64);
			for (i = 0, j = 0; i < ps->n; i++)
				if (!j || ps->v[i] != ps->v[j - 1])
					ps->v[j++] = ps->v[i];
			ps->n = j;
		}
	}
	st = DEDUP_OK;
out:
	free(hv);
	free(keys);
	free(has);
	free(idx);
	free(kd);
	return st;
}

struct edge {
	float s;
	uint32_t i, j;
};

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	if (x->s != y->s)
		return x->s > y->s ? -1 : 1;
	if (x->i != y->i)
		return x->i < y->i ? -1 : 1;
	return (x->j > y->j) - (x->j < y->j);
}

static uint32_t find_root(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

/*
 * Mean similarity over the cross pairs of two clusters. Very large
 * clusters are compared through their first members only, which bounds
 * the cost of one merge.
 */
#define LINK_MEMBERS 64

static double avg_link(struct run *r, uint32_t a, uint32_t b)
{
	uint32_t x, y, nx = 0, ny;
	double sum = 0;
	uint64_t cnt = 0;

	for (x = a; nx < LINK_MEMBERS; x = r->next[x]) {
		ny = 0;
		for (y = b; ny < LINK_MEMBERS; y = r->next[y]) {
			sum += sim_ij(r, x, y);
			cnt++;
			ny++;
			if (r->next[y] == b)
				break;
		}
		nx++;
		if (r->next[x] == a)
			break;
	}
	return cnt ? sum / (double)cnt : 0;
}

/* Earlier date first, then more content, then input order. */
static int better_rep(const struct dedup_sig *s, uint32_t a, uint32_t b)
{
	int32_t da = s[a].date, db = s[b].date;

	if (da != db) {
		if (da == DEDUP_DATE_NONE)
			return 0;
		if (db == DEDUP_DATE_NONE)
			return 1;
		return da < db;
	}
	if (s[a].nwords != s[b].nwords)
		return s[a].nwords > s[b].nwords;
	return a < b;
}

dedup_status dedup_cluster_run(const struct dedup_cluster_params *p,
			       const struct dedup_sig *sigs, size_t n,
			       const struct dedup_df *df,
			       struct dedup_assign *out,
			       struct dedup_cluster_stats *stats,
			       struct dedup_error *err)
{
	return dedup_cluster_run_pinned(p, sigs, n, 0, NULL, df, out, stats,
					err);
}

dedup_status dedup_cluster_run_pinned(const struct dedup_cluster_params *p,
				      const struct dedup_sig *sigs, size_t n,
				      size_t npinned,
				      const uint32_t *pinned_rep,
				      const struct dedup_df *df,
				      struct dedup_assign *out,
				      struct dedup_cluster_stats *stats,
				      struct dedup_error *err)
{
	struct run r = { .p = p, .sigs = sigs, .n = n };
	unsigned char *pinned = NULL; /* per root: holds settled documents */
	struct pairs ps = { 0 };
	struct edge *edges = NULL;
	uint32_t *rep = NULL, bands = p->bands, rows = p->rows;
	size_t ne = 0, i;
	dedup_status st;

	st = dedup_cluster_params_check(p, err);
	if (st)
		return st;
	if (n >= UINT32_MAX)
		return dedup_error_set(err, DEDUP_ETOOBIG,
				       "too many documents in one run");
	bands_rows(p, &bands, &rows);
	st = DEDUP_ENOMEM;
	r.w = calloc(n ? n : 1, sizeof(*r.w));
	r.parent = malloc((n ? n : 1) * sizeof(*r.parent));
	r.next = malloc((n ? n : 1) * sizeof(*r.next));
	r.size = malloc((n ? n : 1) * sizeof(*r.size));
	rep = malloc((n ? n : 1) * sizeof(*rep));
	pinned = calloc(n ? n : 1, 1);
	if (!r.w || !r.parent || !r.next || !r.size || !rep || !pinned ||
	    cache_init(&r.cache, n * 4))
		goto out;
	for (i = 0; i < n; i++) {
		r.w[i] = doc_weights(df, &sigs[i]);
		if (!r.w[i])
			goto out;
		r.parent[i] = r.next[i] = (uint32_t)i;
		r.size[i] = 1;
	}
	/* Settled clusters are taken as they are, representative first. */
	for (i = 0; i < npinned; i++) {
		uint32_t a = pinned_rep[i] < npinned ? pinned_rep[i] :
						       (uint32_t)i;
		uint32_t ra = find_root(r.parent, a);
		uint32_t rb = find_root(r.parent, (uint32_t)i), t;

		pinned[ra] = pinned[rb] = 1;
		if (ra == rb)
			continue;
		r.parent[rb] = ra;
		r.size[ra] += r.size[rb];
		t = r.next[ra];
		r.next[ra] = r.next[rb];
		r.next[rb] = t;
	}
	st = candidates(&r, bands, rows, &ps);
	if (st)
		goto out;
	st = DEDUP_ENOMEM;
	edges = malloc((ps.n ? ps.n : 1) * sizeof(*edges));
	if (!edges)
		goto out;
	for (i = 0; i < ps.n; i++) {
		uint32_t a = (uint32_t)(ps.v[i] >> 32), b = (uint32_t)ps.v[i];
		double s = sim_ij(&r, a, b);

		if (s >= p->threshold) {
			edges[ne].s = (float)s;
			edges[ne].i = a;
			edges[ne].j = b;
			ne++;
		}
	}
	qsort(edges, ne, sizeof(*edges), cmp_edge);
	for (i = 0; i < ne; i++) {
		uint32_t a = find_root(r.parent, edges[i].i);
		uint32_t b = find_root(r.parent, edges[i].j), t;

		if (a == b || r.size[a] + r.size[b] > p->max_cluster)
			continue;
		/* two settled clusters stay apart: they were judged before */
		if (pinned[a] && pinned[b])
			continue;
		if (avg_link(&r, a, b) < p->threshold)
			continue;
		if (r.size[a] < r.size[b]) {
			t = a;
			a = b;
			b = t;
		}
		pinned[a] |= pinned[b];
		r.parent[b] = a;
		r.size[a] += r.size[b];
		/* splice the two circular member lists */
		t = r.next[a];
		r.next[a] = r.next[b];
		r.next[b] = t;
	}

	for (i = 0; i < n; i++)
		rep[i] = UINT32_MAX;
	for (i = 0; i < npinned; i++) {
		/* an indexed representative stays the one to keep */
		uint32_t a = pinned_rep[i] < npinned ? pinned_rep[i] :
						       (uint32_t)i;

		rep[find_root(r.parent, a)] = a;
	}
	for (i = npinned; i < n; i++) {
		uint32_t root = find_root(r.parent, (uint32_t)i);

		if (pinned[root])
			continue;
		if (rep[root] == UINT32_MAX ||
		    better_rep(sigs, (uint32_t)i, rep[root]))
			rep[root] = (uint32_t)i;
	}
	if (stats) {
		memset(stats, 0, sizeof(*stats));
		stats->candidates = ps.n;
		stats->verified = ne;
		stats->bands = bands;
		stats->rows = rows;
	}
	for (i = 0; i < n; i++) {
		uint32_t root = find_root(r.parent, (uint32_t)i);

		out[i].rep = rep[root];
		out[i].score = rep[root] == i ? 1 :
			       sim_ij(&r, (uint32_t)i, rep[root]);
		if (stats && rep[root] == i && r.size[root] > 1)
			stats->clusters++;
	}
	st = DEDUP_OK;
out:
	if (st)
		dedup_error_set(err, st, "out of memory while clustering");
	if (r.w)
		for (i = 0; i < n; i++)
			free(r.w[i]);
	free(r.w);
	free(r.parent);
	free(r.next);
	free(r.size);
	free(rep);
	free(pinned);
	free(edges);
	free(ps.v);
	cache_release(&r.cache);
	return st;
}
