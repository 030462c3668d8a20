/*
 * cluster.c - LSH candidates, verified similarity and average-linkage
 * clustering (see dedup/cluster.h for the method).
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
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
		p->threshold = 0.10;
		p->lsh_threshold = 0.02;
		p->nhash = 256;
		p->top_terms = 96;
		p->date_window = 1;
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

/*
 * Cosine of the two unit vectors, less the largest single product: one
 * shared place or station name alone must not make two reports alike.
 * The sums are integers, so any way of finding the shared terms gives
 * the same value to the last bit.
 */
static double vector_dot(uint64_t dot, uint64_t top)
{
	const double one = (double)DEDUP_WEIGHT_ONE * DEDUP_WEIGHT_ONE;

	return (double)(dot - top) / one;
}

static double vector_sim(const struct dedup_sig *a, const struct dedup_sig *b)
{
	uint64_t dot = 0, top = 0;
	uint32_t i = 0, j = 0;

	while (i < a->nterms && j < b->nterms) {
		if (a->terms[i] < b->terms[j]) {
			i++;
		} else if (a->terms[i] > b->terms[j]) {
			j++;
		} else {
			uint64_t x = (uint64_t)a->wt[i] * b->wt[j];

			dot += x;
			top = x > top ? x : top;
			i++;
			j++;
		}
	}
	return vector_dot(dot, top);
}

/*
 * A bit per term of one signature, by the term id's low bits (ids are
 * hashes): verification compares a document with each of its candidates
 * in turn, about a hundred of them, so the bits are set once per document
 * and each candidate's terms test them. A few percent pass by chance;
 * those and the shared terms are looked up by bisection. The merge of two
 * sorted lists it replaces took a mispredicted branch per term.
 */
#define TERM_BITS 4096

struct termbits {
	uint64_t w[TERM_BITS / 64];
	size_t doc;     /* whose bits these are, SIZE_MAX for none */
	char pad[64 - sizeof(size_t)]; /* one thread's own cache lines */
};

static void termbits_set(struct termbits *tb, const struct dedup_sig *s,
			 size_t doc)
{
	uint32_t i;

	memset(tb->w, 0, sizeof(tb->w));
	for (i = 0; i < s->nterms; i++) {
		uint32_t t = s->terms[i] % TERM_BITS;

		tb->w[t / 64] |= (uint64_t)1 << (t % 64);
	}
	tb->doc = doc;
}

/*
 * vector_sim() of a and b, the bits of a given. The terms of b that pass
 * the bits are listed first, without a branch; then each is bisected in
 * a, from where the last one was found (b's terms ascend).
 */
static double vector_sim_bits(const struct dedup_sig *a,
			      const struct termbits *tb,
			      const struct dedup_sig *b)
{
	uint16_t pass[4096]; /* signatures hold at most 4,096 terms */
	uint64_t dot = 0, top = 0;
	uint32_t j, k, np = 0, lo = 0;

	for (j = 0; j < b->nterms; j++) {
		uint32_t t = b->terms[j] % TERM_BITS;

		pass[np] = (uint16_t)j;
		np += (uint32_t)(tb->w[t / 64] >> (t % 64) & 1);
	}
	for (k = 0; k < np && lo < a->nterms; k++) {
		uint32_t t = b->terms[pass[k]], n = a->nterms - lo, base = lo;
		uint64_t x;

		/* first of a->terms[lo..] not below t */
		while (n > 1) {
			uint32_t half = n / 2;

			base = a->terms[base + half - 1] < t ? base + half : base;
			n -= half;
		}
		base += a->terms[base] < t;
		lo = base;
		if (base == a->nterms || a->terms[base] != t)
			continue;
		x = (uint64_t)a->wt[base] * b->wt[pass[k]];
		dot += x;
		top = x > top ? x : top;
		lo++;
	}
	return vector_dot(dot, top);
}

/* dedup_similarity(), with the term bits of a when tb is not NULL. */
static double similarity(const struct dedup_cluster_params *p,
			 const struct dedup_sig *a, const struct dedup_sig *b,
			 const struct termbits *tb)
{
	double s;

	if (a->nwords && a->body == b->body && a->nwords == b->nwords)
		return 1;
	/*
	 * Dated reports days apart tell different events, but a date found
	 * in a text is often the date of something it recalls (a trial
	 * report dates the shooting, a sentence the arrest): about one in
	 * four on raw news pages. So the pair is evidence against, not a
	 * veto: it counts minus the threshold, as much against a merge as a
	 * pair at the threshold counts for it. A -1 let one misread date
	 * tear a report from the dozen others of its event.
	 */
	if (dates_apart(p, a, b))
		return -p->threshold;
	if (p->level == DEDUP_LEVEL_COPY)
		s = dedup_sig_jaccard(a, b);
	else if (tb)
		s = vector_sim_bits(a, tb, b);
	else
		s = vector_sim(a, b);
	return s > 1 ? 1 : s;
}

double dedup_similarity(const struct dedup_cluster_params *p,
			const struct dedup_df *df, const struct dedup_sig *a,
			const struct dedup_sig *b)
{
	(void)df; /* the weights are in the signatures */
	return similarity(p, a, b, NULL);
}

struct run {
	const struct dedup_cluster_params *p;
	const struct dedup_sig *sigs;
	size_t n;
	unsigned nt;    /* threads */
};

#define MAX_THREADS 256

/*
 * Work spread over threads: fn(arg, t, i) for every i < n, thread t in
 * 0..nt-1 (its scratch space), items taken in blocks from a shared
 * counter. fn writes only what belongs to item i (or to thread t), so the
 * result does not depend on the thread count or on timing.
 */
struct par {
	void (*fn)(void *arg, unsigned t, size_t i);
	void *arg;
	size_t n, block;
	atomic_size_t next;
	atomic_uint tids;
};

static void *par_thread(void *arg)
{
	struct par *pa = arg;
	unsigned t = atomic_fetch_add(&pa->tids, 1);
	size_t i, end;

	while ((i = atomic_fetch_add(&pa->next, pa->block)) < pa->n) {
		end = pa->n - i < pa->block ? pa->n : i + pa->block;
		for (; i < end; i++)
			pa->fn(pa->arg, t, i);
	}
	return NULL;
}

static void par_for(unsigned nt, size_t n, size_t block,
		    void (*fn)(void *, unsigned, size_t), void *arg)
{
	struct par pa = { .fn = fn, .arg = arg, .n = n, .block = block };
	pthread_t tid[MAX_THREADS];
	unsigned t, started = 0;

	atomic_init(&pa.next, 0);
	atomic_init(&pa.tids, 0);
	if ((n + block - 1) / block < nt)
		nt = (unsigned)((n + block - 1) / block);
	/* a thread that cannot start leaves its share to the others */
	for (t = 1; t < nt; t++) {
		if (pthread_create(&tid[t], NULL, par_thread, &pa))
			break;
		started++;
	}
	par_thread(&pa);
	for (t = 1; t <= started; t++)
		pthread_join(tid[t], NULL);
}

/*
 * -ln(u) for u in (0, 1), from the float's exponent and a quadratic fit of
 * log2 on the mantissa (error below 0.5%): only the order of the values
 * matters, and the same bits give the same order on every machine.
 */
static float neg_log(float u)
{
	union { float f; uint32_t i; } v = { u };
	float e = (float)((int)(v.i >> 23) - 127), m;

	v.i = (v.i & 0x7fffffu) | 0x3f800000u;
	m = v.f;
	return -(e + (-0.34484843f * m + 2.02466578f) * m - 1.67487759f) *
	       0.69314718f;
}

static void sort_u64(uint64_t *v, size_t n, unsigned depth);

/*
 * P-MinHash: term t wins permutation i when -ln(U_i(t)) / w_t is smallest,
 * U_i(t) uniform in (0, 1) from a hash of (i, t); ties go to the lower
 * term id, so the order the terms come in does not matter. Terms in the
 * outer loop, permutations inside, written for the vectorizer: no
 * branches, and the top 24 bits of the 64-bit product
 * (base ^ c_i) * 0xd6e8feb86659fd93 from 32-bit multiplies (the low
 * word's full product, the cross terms modulo 2^32), which SSE2 and AVX2
 * have for every lane. The values are those of the 64-bit formula.
 */
#define PM_KL 0x6659fd93u
#define PM_KH 0xd6e8feb8u

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
	defined(__linux__)
/* twice the lanes where the CPU has them (chosen once, at load) */
#define PM_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PM_CLONES
#endif

PM_CLONES
static void pminhash(const uint64_t *key, uint32_t m, uint32_t nhash,
		     uint32_t *out)
{
	float best[1024];
	uint32_t cl[1024], ch[1024], i, k;

	for (i = 0; i < nhash; i++) {
		uint64_t c = 0x9e3779b97f4a7c15ULL * (i + 1);

		cl[i] = (uint32_t)c;
		ch[i] = (uint32_t)(c >> 32);
		best[i] = INFINITY;
		out[i] = 0;
	}
	for (k = 0; k < m; k++) {
		uint32_t t = (uint32_t)key[k];
		uint64_t base = XXH3_64bits(&t, sizeof(t));
		uint32_t bl = (uint32_t)base, bh = (uint32_t)(base >> 32);
		float inv = 1.0f / (float)(DEDUP_WEIGHT_ONE - (key[k] >> 32));

		for (i = 0; i < nhash; i++) {
			uint32_t xl = bl ^ cl[i], xh = bh ^ ch[i];
			uint32_t hi = (uint32_t)(((uint64_t)xl * PM_KL) >> 32) +
				      xl * PM_KH + xh * PM_KL;
			float u = ((float)(int32_t)(hi >> 8) + 0.5f) *
				  (1.0f / 16777216.0f);
			float v = neg_log(u) * inv;
			int win = (v < best[i]) | ((v == best[i]) & (t < out[i]));

			best[i] = win ? v : best[i];
			out[i] = win ? t : out[i];
		}
	}
}

/*
 * LSH values of one document, nhash of them (0 when it has no features);
 * key has room for the document's terms.
 */
static int doc_hashes(const struct dedup_cluster_params *p,
		      const struct dedup_sig *s, uint32_t *out, uint64_t *key)
{
	uint32_t i, m;

	if (p->level == DEDUP_LEVEL_COPY) {
		if (!s->nperm || !s->nwords)
			return 0;
		for (i = 0; i < p->nhash; i++)
			out[i] = i < s->nperm ? s->mins[i] : 0;
		return 1;
	}
	if (!s->nterms)
		return 0;
	/*
	 * The strongest terms take part; weaker ones would rarely win.
	 * Strongest first, then the lower id: one integer order.
	 */
	m = s->nterms;
	for (i = 0; i < m; i++)
		key[i] = (uint64_t)(DEDUP_WEIGHT_ONE - s->wt[i]) << 32 |
			 s->terms[i];
	if (m > p->top_terms) {
		sort_u64(key, m, 64);
		m = p->top_terms;
	}
	pminhash(key, m, p->nhash, out);
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
	uint32_t bands, rows, *hv;
	uint64_t *idx;
	int has = -1;

	(void)df; /* the weights are in the signature */
	bands_rows(p, &bands, &rows);
	hv = malloc(p->nhash * sizeof(*hv));
	idx = malloc((s->nterms ? s->nterms : 1) * sizeof(*idx));
	if (hv && idx) {
		has = doc_hashes(p, s, hv, idx);
		if (has)
			band_keys(hv, bands, rows, keys);
	}
	free(hv);
	free(idx);
	return has;
}

static uint64_t pair_key(uint32_t i, uint32_t j)
{
	return i < j ? ((uint64_t)i << 32 | j) : ((uint64_t)j << 32 | i);
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

struct pairs {
	uint64_t *v;
	size_t n, alloc;
	size_t uniq; /* n after the last pairs_uniq() */
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

static void sift_down(uint64_t *v, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		uint64_t t;

		if (c >= n)
			return;
		if (c + 1 < n && v[c + 1] > v[c])
			c++;
		if (v[i] >= v[c])
			return;
		t = v[i];
		v[i] = v[c];
		v[c] = t;
		i = c;
	}
}

/*
 * Sort in place (glibc's qsort takes a buffer as large as the array, and
 * the pair lists are the largest arrays of a run): quicksort on the median
 * of three, heapsort past a depth limit, insertion sort for short ranges.
 */
static void sort_u64(uint64_t *v, size_t n, unsigned depth)
{
	size_t k;

	while (n > 16) {
		uint64_t a = v[0], b = v[n / 2], c = v[n - 1], piv, t;
		size_t i = 0, j = n - 1;

		if (!depth--) {
			for (k = n / 2; k-- > 0;)
				sift_down(v, k, n);
			for (k = n - 1; k > 0; k--) {
				t = v[0];
				v[0] = v[k];
				v[k] = t;
				sift_down(v, 0, k);
			}
			return;
		}
		piv = a < b ? (b < c ? b : a < c ? c : a) :
			      (a < c ? a : b < c ? c : b);
		for (;;) {
			while (v[i] < piv)
				i++;
			while (v[j] > piv)
				j--;
			if (i >= j)
				break;
			t = v[i];
			v[i++] = v[j];
			v[j--] = t;
		}
		/* [0, j] <= piv <= [j + 1, n): recurse on the smaller side */
		if (j + 1 < n - j - 1) {
			sort_u64(v, j + 1, depth);
			v += j + 1;
			n -= j + 1;
		} else {
			sort_u64(v + j + 1, n - j - 1, depth);
			n = j + 1;
		}
	}
	for (k = 1; k < n; k++) {
		uint64_t x = v[k];
		size_t j = k;

		for (; j && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* Sort and drop repeats. */
static void pairs_uniq(struct pairs *ps)
{
	size_t i, j;

	sort_u64(ps->v, ps->n, 64);
	for (i = 0, j = 0; i < ps->n; i++)
		if (!j || ps->v[i] != ps->v[j - 1])
			ps->v[j++] = ps->v[i];
	ps->n = j;
	ps->uniq = j;
}

/* What the threads of candidates() share, and each one's scratch. */
struct banding {
	struct run *r;
	uint32_t bands, rows;
	uint64_t *keys;          /* per document, `bands` keys */
	unsigned char *has;      /* per document: it has features */
	uint32_t **hv;           /* per thread */
	uint64_t **idx;          /* per thread */
	struct keydoc **kd;      /* per thread */
	struct pairs *ps;        /* per thread */
	atomic_int nomem;
};

static void band_doc(void *arg, unsigned t, size_t d)
{
	struct banding *bd = arg;

	bd->has[d] = (unsigned char)doc_hashes(bd->r->p, &bd->r->sigs[d],
					       bd->hv[t], bd->idx[t]);
	if (bd->has[d])
		band_keys(bd->hv[t], bd->bands, bd->rows,
			  bd->keys + d * bd->bands);
}

/* The pairs of one band's buckets into thread t's list. */
static void band_pairs(void *arg, unsigned t, size_t b)
{
	struct banding *bd = arg;
	const struct dedup_cluster_params *p = bd->r->p;
	struct keydoc *kd = bd->kd[t];
	struct pairs *ps = &bd->ps[t];
	size_t d, nk = 0, i, j;

	if (atomic_load(&bd->nomem))
		return;
	for (d = 0; d < bd->r->n; d++) {
		if (!bd->has[d])
			continue;
		kd[nk].key = bd->keys[d * bd->bands + b];
		kd[nk].doc = (uint32_t)d;
		nk++;
	}
	if (nk)
		qsort(kd, nk, sizeof(*kd), cmp_keydoc);
	for (i = 0; i < nk; i = j) {
		for (j = i + 1; j < nk && kd[j].key == kd[i].key; j++)
			;
		if (j - i <= p->max_bucket) {
			size_t x, y;

			for (x = i; x < j; x++)
				for (y = x + 1; y < j; y++)
					if (pairs_add(ps, kd[x].doc, kd[y].doc))
						goto nomem;
		} else {
			/* Crowded bucket: neighbours only. */
			size_t x;

			for (x = i + 1; x < j; x++)
				if (pairs_add(ps, kd[x - 1].doc, kd[x].doc))
					goto nomem;
		}
	}
	/*
	 * Keep the list small as bands add duplicates: sorted again once it
	 * has doubled, so sorting costs O(log) passes over the pairs.
	 */
	if (ps->n > 2 * ps->uniq + (1u << 20))
		pairs_uniq(ps);
	return;
nomem:
	atomic_store(&bd->nomem, 1);
}

static void band_uniq(void *arg, unsigned t, size_t k)
{
	struct banding *bd = arg;

	(void)t;
	pairs_uniq(&bd->ps[k]);
}

/*
 * Merge the sorted unique lists of every thread into ps, in the first
 * list's memory: grown to the total (realloc of a large block remaps
 * rather than copies), merged from the back, each other list freed once
 * merged. The peak is then the pairs plus one thread's list, not twice
 * the pairs.
 */
static int pairs_collect(struct pairs *ps, struct pairs *lists, unsigned nl)
{
	struct pairs *a = &lists[0];
	unsigned k;

	for (k = 1; k < nl; k++) {
		struct pairs *b = &lists[k];
		size_t i = a->n, j = b->n, o = a->n + b->n, x, y;

		if (o > a->alloc) {
			uint64_t *v = realloc(a->v, o * sizeof(*v));

			if (!v)
				return -1;
			a->v = v;
			a->alloc = o;
		}
		while (j) {
			if (i && a->v[i - 1] > b->v[j - 1])
				a->v[--o] = a->v[--i];
			else
				a->v[--o] = b->v[--j];
		}
		a->n += b->n;
		free(b->v);
		memset(b, 0, sizeof(*b));
		/* pairs that both lists had are now neighbours */
		for (x = 0, y = 0; x < a->n; x++)
			if (!y || a->v[x] != a->v[y - 1])
				a->v[y++] = a->v[x];
		a->n = y;
	}
	*ps = *a;
	memset(a, 0, sizeof(*a));
	return 0;
}

/*
 * Candidate pairs from LSH banding, sorted and unique. Documents are
 * hashed in parallel, then bands: each thread lists the pairs of the
 * bands it takes, and the sorted lists are merged.
 */
static dedup_status candidates(struct run *r, uint32_t bands, uint32_t rows,
			       struct pairs *ps)
{
	const struct dedup_cluster_params *p = r->p;
	struct banding bd = { .r = r, .bands = bands, .rows = rows };
	dedup_status st = DEDUP_ENOMEM;
	size_t d, maxterms = 1;
	unsigned t, nt = r->nt;

	atomic_init(&bd.nomem, 0);
	for (d = 0; d < r->n; d++)
		if (r->sigs[d].nterms > maxterms)
			maxterms = r->sigs[d].nterms;
	bd.keys = malloc((r->n ? r->n : 1) * (size_t)bands * sizeof(*bd.keys));
	bd.has = malloc(r->n ? r->n : 1);
	bd.hv = calloc(nt, sizeof(*bd.hv));
	bd.idx = calloc(nt, sizeof(*bd.idx));
	bd.kd = calloc(nt, sizeof(*bd.kd));
	bd.ps = calloc(nt, sizeof(*bd.ps));
	if (!bd.keys || !bd.has || !bd.hv || !bd.idx || !bd.kd || !bd.ps)
		goto out;
	for (t = 0; t < nt; t++) {
		bd.hv[t] = malloc(p->nhash * sizeof(**bd.hv));
		bd.idx[t] = malloc(maxterms * sizeof(**bd.idx));
		if (!bd.hv[t] || !bd.idx[t])
			goto out;
	}
	par_for(nt, r->n, 64, band_doc, &bd);
	/* the hashes are done with; each band thread needs a key list */
	for (t = 0; t < nt; t++) {
		bd.kd[t] = malloc((r->n ? r->n : 1) * sizeof(**bd.kd));
		if (!bd.kd[t])
			goto out;
	}
	par_for(nt, bands, 1, band_pairs, &bd);
	if (atomic_load(&bd.nomem))
		goto out;
	par_for(nt, nt, 1, band_uniq, &bd);
	if (pairs_collect(ps, bd.ps, nt))
		goto out;
	st = DEDUP_OK;
out:
	for (t = 0; bd.hv && bd.idx && bd.kd && bd.ps && t < nt; t++) {
		free(bd.hv[t]);
		free(bd.idx[t]);
		free(bd.kd[t]);
		free(bd.ps[t].v);
	}
	free(bd.hv);
	free(bd.idx);
	free(bd.kd);
	free(bd.ps);
	free(bd.keys);
	free(bd.has);
	return st;
}

struct edge {
	double s;
	uint32_t i, j;
};

static uint32_t find_root(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

/*
 * Greedy average linkage over a sparse graph (pairs that were never
 * candidates count as 0). Each cluster keeps, per neighbouring cluster,
 * the sum of its cross-pair similarities; a max-heap of pair scores
 * sum / (|A| |B|) with lazy invalidation gives the next merge.
 */
struct nbr {
	uint32_t id;
	double sum;
};

/* Candidate pairs below this share of the threshold are not linked. */
#define KEEP_SHARE 0.1

struct nbrs {
	struct nbr *v;
	uint32_t n, alloc;
};

struct heapent {
	double score;
	uint32_t a, b;          /* a < b, cluster roots */
	uint32_t sa, sb;        /* their stamps when pushed */
};

struct hac {
	const struct dedup_cluster_params *p;
	uint32_t *parent, *size, *stamp;
	unsigned char *pinned;
	struct nbrs *nb;
	struct nbr *arena;      /* the first lists, one block */
	size_t narena;
	struct heapent *heap;
	size_t nheap, heapalloc;
};

static int heap_less(const struct heapent *x, const struct heapent *y)
{
	if (x->score != y->score)
		return x->score < y->score;
	if (x->a != y->a)
		return x->a > y->a;
	return x->b > y->b;
}

static int heap_push(struct hac *h, double score, uint32_t a, uint32_t b)
{
	struct heapent e;
	size_t i;

	if (a > b) {
		uint32_t t = a;

		a = b;
		b = t;
	}
	if (h->nheap == h->heapalloc) {
		size_t na = h->heapalloc ? h->heapalloc * 2 : 1024;
		struct heapent *v = realloc(h->heap, na * sizeof(*v));

		if (!v)
			return -1;
		h->heap = v;
		h->heapalloc = na;
	}
	e.score = score;
	e.a = a;
	e.b = b;
	e.sa = h->stamp[a];
	e.sb = h->stamp[b];
	for (i = h->nheap++; i && heap_less(&h->heap[(i - 1) / 2], &e);
	     i = (i - 1) / 2)
		h->heap[i] = h->heap[(i - 1) / 2];
	h->heap[i] = e;
	return 0;
}

static struct heapent heap_pop(struct hac *h)
{
	struct heapent top = h->heap[0], last = h->heap[--h->nheap];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < h->nheap) {
		if (c + 1 < h->nheap && heap_less(&h->heap[c], &h->heap[c + 1]))
			c++;
		if (!heap_less(&last, &h->heap[c]))
			break;
		h->heap[i] = h->heap[c];
		i = c;
	}
	if (h->nheap)
		h->heap[i] = last;
	return top;
}

static int nbr_add(struct nbrs *l, uint32_t id, double s)
{
	if (l->n == l->alloc) {
		uint32_t na = l->alloc ? l->alloc * 2 : 4;
		struct nbr *v = realloc(l->v, na * sizeof(*v));

		if (!v)
			return -1;
		l->v = v;
		l->alloc = na;
	}
	l->v[l->n].id = id;
	l->v[l->n].sum = s;
	l->n++;
	return 0;
}

/* Lists in the arena go with it; lists grown by merges are their own. */
static void nbr_free(struct hac *h, struct nbrs *l)
{
	uintptr_t v = (uintptr_t)l->v, a = (uintptr_t)h->arena;

	if (v < a || v >= a + h->narena * sizeof(*h->arena))
		free(l->v);
	l->v = NULL;
}

/*
 * The first neighbour lists, from the kept pairs (root ids) in pair order,
 * each list cut from one block at its exact size.
 */
static int nbr_build(struct hac *h, size_t n, const uint64_t *pairs,
		     const double *sim, size_t npairs)
{
	size_t i, off = 0;

	h->narena = 2 * npairs;
	h->arena = malloc((h->narena ? h->narena : 1) * sizeof(*h->arena));
	if (!h->arena)
		return -1;
	for (i = 0; i < npairs; i++) {
		h->nb[h->parent[(uint32_t)(pairs[i] >> 32)]].alloc++;
		h->nb[h->parent[(uint32_t)pairs[i]]].alloc++;
	}
	for (i = 0; i < n; i++) {
		h->nb[i].v = h->nb[i].alloc ? h->arena + off : NULL;
		off += h->nb[i].alloc;
	}
	for (i = 0; i < npairs; i++) {
		uint32_t ra = h->parent[(uint32_t)(pairs[i] >> 32)];
		uint32_t rb = h->parent[(uint32_t)pairs[i]];

		/* room was counted: these cannot fail */
		(void)nbr_add(&h->nb[ra], rb, sim[i]);
		(void)nbr_add(&h->nb[rb], ra, sim[i]);
	}
	return 0;
}

static int cmp_nbr(const void *a, const void *b)
{
	const struct nbr *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* Index of id in the sorted list, or l->n. */
static uint32_t nbr_find(const struct nbrs *l, uint32_t id)
{
	uint32_t lo = 0, hi = l->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (l->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < l->n && l->v[lo].id == id ? lo : l->n;
}

/*
 * Replace the entries for `a` and `b` in x's sorted list by one for `r`,
 * keeping it sorted. Found by bisection and moved with memmove: a cluster
 * that gathers many neighbours is renamed in every one of their lists at
 * each merge, so a scan of each list made merging quadratic.
 */
static void nbr_rename(struct nbrs *l, uint32_t a, uint32_t b, uint32_t r)
{
	uint32_t ia = nbr_find(l, a), ib = nbr_find(l, b), i;
	double sum = 0;

	if (ia == l->n && ib == l->n)
		return;
	/* summed in list order, as a scan would */
	if (ia > ib) {
		i = ia;
		ia = ib;
		ib = i;
	}
	sum += l->v[ia].sum;
	if (ib < l->n) {
		sum += l->v[ib].sum;
		memmove(&l->v[ib], &l->v[ib + 1],
			(l->n - ib - 1) * sizeof(*l->v));
		l->n--;
	}
	memmove(&l->v[ia], &l->v[ia + 1], (l->n - ia - 1) * sizeof(*l->v));
	l->n--;
	/* there was room for at least one of the two */
	for (i = l->n; i > 0 && l->v[i - 1].id > r; i--)
		;
	memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(*l->v));
	l->v[i].id = r;
	l->v[i].sum = sum;
	l->n++;
}

/* Merge cluster b into a (both roots); returns -1 when out of memory. */
static int hac_merge(struct hac *h, uint32_t a, uint32_t b)
{
	struct nbrs *la = &h->nb[a], *lb = &h->nb[b], m = { 0 };
	uint32_t i = 0, j = 0, k;

	/* merge the two sorted lists, dropping a and b themselves */
	while (i < la->n || j < lb->n) {
		struct nbr x;

		if (j >= lb->n || (i < la->n && la->v[i].id < lb->v[j].id)) {
			x = la->v[i++];
		} else if (i >= la->n || lb->v[j].id < la->v[i].id) {
			x = lb->v[j++];
		} else {
			x = la->v[i++];
			x.sum += lb->v[j++].sum;
		}
		if (x.id == a || x.id == b)
			continue;
		if (nbr_add(&m, x.id, x.sum)) {
			free(m.v);
			return -1;
		}
	}
	h->parent[b] = a;
	h->size[a] += h->size[b];
	h->pinned[a] |= h->pinned[b];
	h->stamp[a]++;
	h->stamp[b]++;
	nbr_free(h, la);
	nbr_free(h, lb);
	*la = m;
	memset(lb, 0, sizeof(*lb));
	for (k = 0; k < m.n; k++) {
		uint32_t x = m.v[k].id;
		double sc = m.v[k].sum / ((double)h->size[a] * h->size[x]);

		nbr_rename(&h->nb[x], a, b, a);
		/*
		 * A pair below the threshold would only stop hac_run() when it
		 * came to the top: leaving it out changes no merge, and the
		 * heap held millions of them.
		 */
		if (sc >= h->p->threshold && heap_push(h, sc, a, x))
			return -1;
	}
	return 0;
}

static int hac_run(struct hac *h)
{
	while (h->nheap) {
		struct heapent e = heap_pop(h);

		if (e.score < h->p->threshold)
			break;
		if (h->parent[e.a] != e.a || h->parent[e.b] != e.b ||
		    h->stamp[e.a] != e.sa || h->stamp[e.b] != e.sb)
			continue; /* stale: one side has merged since */
		if (h->size[e.a] + h->size[e.b] > h->p->max_cluster)
			continue;
		/* two settled clusters stay apart: they were judged before */
		if (h->pinned[e.a] && h->pinned[e.b])
			continue;
		if (hac_merge(h, e.a, e.b))
			return -1;
	}
	return 0;
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

/* Shrink an array to n entries; when realloc cannot, it stays as it is. */
static void shrink(void **v, size_t n, size_t size)
{
	void *p = *v ? realloc(*v, (n ? n : 1) * size) : NULL;

	if (p)
		*v = p;
}

/*
 * Candidate pairs are verified in chunks: the similarities of a chunk in
 * parallel, then linked in pair order on one thread.
 */
#define VERIFY_CHUNK ((size_t)1 << 16)

struct verify {
	const struct dedup_cluster_params *p;
	const struct dedup_sig *sigs;
	const uint32_t *root;
	const uint64_t *pairs;
	double *sim;
	struct termbits *tb;    /* per thread */
};

static void verify_pair(void *arg, unsigned t, size_t k)
{
	struct verify *vf = arg;
	uint32_t a = (uint32_t)(vf->pairs[k] >> 32), b = (uint32_t)vf->pairs[k];
	struct termbits *tb = &vf->tb[t];

	/* pairs inside one settled cluster are not compared */
	if (vf->root[a] == vf->root[b]) {
		vf->sim[k] = 0;
		return;
	}
	if (vf->p->level == DEDUP_LEVEL_COPY) {
		vf->sim[k] = similarity(vf->p, &vf->sigs[a], &vf->sigs[b],
					NULL);
		return;
	}
	/* pairs come sorted: a thread's pairs mostly share their first */
	if (tb->doc != a)
		termbits_set(tb, &vf->sigs[a], a);
	vf->sim[k] = similarity(vf->p, &vf->sigs[a], &vf->sigs[b], tb);
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
	struct hac h = { .p = p };
	struct pairs ps = { 0 };
	struct verify vf = { 0 };
	uint32_t *rep = NULL, bands, rows;
	double *kept = NULL;
	size_t nverified = 0, i, c, m = n ? n : 1;
	size_t nkept = 0, keptalloc = 0, stats_candidates = 0;
	dedup_status st;

	r.nt = p->threads < 1 ? 1 : p->threads > MAX_THREADS ? MAX_THREADS :
								p->threads;

	st = dedup_cluster_params_check(p, err);
	if (st)
		return st;
	if (n >= UINT32_MAX)
		return dedup_error_set(err, DEDUP_ETOOBIG,
				       "too many documents in one run");
	bands_rows(p, &bands, &rows);
	st = DEDUP_ENOMEM;
	h.parent = malloc(m * sizeof(*h.parent));
	h.size = malloc(m * sizeof(*h.size));
	h.stamp = calloc(m, sizeof(*h.stamp));
	h.pinned = calloc(m, 1);
	h.nb = calloc(m, sizeof(*h.nb));
	rep = malloc(m * sizeof(*rep));
	if (!h.parent || !h.size || !h.stamp || !h.pinned || !h.nb || !rep)
		goto out;
	for (i = 0; i < n; i++) {
		h.parent[i] = (uint32_t)i;
		h.size[i] = 1;
	}
	/* Settled clusters are taken as they are: one node each. */
	for (i = 0; i < npinned; i++) {
		uint32_t a = pinned_rep[i] < npinned ? pinned_rep[i] :
						       (uint32_t)i;
		uint32_t ra = find_root(h.parent, a);
		uint32_t rb = find_root(h.parent, (uint32_t)i);

		h.pinned[ra] = 1;
		if (ra != rb) {
			h.parent[rb] = ra;
			h.size[ra] += h.size[rb];
		}
	}
	st = candidates(&r, bands, rows, &ps);
	if (st)
		goto out;
	st = DEDUP_ENOMEM;
	/* roots are fixed until the merges: the threads only read them */
	for (i = 0; i < n; i++)
		h.parent[i] = find_root(h.parent, (uint32_t)i);
	vf.p = p;
	vf.sigs = sigs;
	vf.root = h.parent;
	vf.pairs = ps.v;
	vf.sim = malloc((ps.n < VERIFY_CHUNK ? ps.n + 1 : VERIFY_CHUNK) *
			sizeof(*vf.sim));
	vf.tb = aligned_alloc(64, r.nt * sizeof(*vf.tb));
	if (!vf.sim || !vf.tb)
		goto out;
	for (i = 0; i < r.nt; i++)
		vf.tb[i].doc = SIZE_MAX;
	/*
	 * The pairs kept are packed at the front of ps.v, their similarities
	 * in kept[]: the neighbour lists are then allocated at their exact
	 * sizes from one block, rather than grown pair by pair (a third of
	 * slack, an allocation per document, most of a large run's memory).
	 */
	for (c = 0, nkept = 0; c < ps.n; c += VERIFY_CHUNK) {
		size_t k, end = ps.n - c < VERIFY_CHUNK ? ps.n : c + VERIFY_CHUNK;

		vf.pairs = ps.v + c;
		par_for(r.nt, end - c, 256, verify_pair, &vf);
		for (k = 0; k < end - c; k++) {
			uint32_t a = (uint32_t)(vf.pairs[k] >> 32);
			uint32_t b = (uint32_t)vf.pairs[k];
			double s = vf.sim[k];

			if (h.parent[a] == h.parent[b])
				continue;
			if (s >= p->threshold)
				nverified++;
			/*
			 * Pairs barely alike add almost nothing to an average
			 * and are most of the candidates: kept only when they
			 * count, and always when negative (dated apart).
			 */
			if (s >= 0 && s < p->threshold * KEEP_SHARE)
				continue;
			if (nkept == keptalloc) {
				size_t na = keptalloc ? keptalloc * 2 : 4096;
				double *v = realloc(kept, na * sizeof(*v));

				if (!v)
					goto out;
				kept = v;
				keptalloc = na;
			}
			ps.v[nkept] = vf.pairs[k];
			kept[nkept++] = s;
		}
	}
	stats_candidates = ps.n;
	free(vf.sim);
	vf.sim = NULL;
	free(vf.tb);
	vf.tb = NULL;
	/* give back the candidates not kept before the lists are cut */
	shrink((void **)&ps.v, nkept, sizeof(*ps.v));
	shrink((void **)&kept, nkept, sizeof(*kept));
	if (nbr_build(&h, n, ps.v, kept, nkept))
		goto out;
	free(kept);
	kept = NULL;
	free(ps.v);
	ps.v = NULL;
	/* Sum duplicate neighbours (pairs between settled clusters). */
	for (i = 0; i < n; i++) {
		struct nbrs *l = &h.nb[i];
		uint32_t k, j = 0;

		if (!l->n)
			continue;
		qsort(l->v, l->n, sizeof(*l->v), cmp_nbr);
		for (k = 1; k < l->n; k++) {
			if (l->v[k].id == l->v[j].id)
				l->v[j].sum += l->v[k].sum;
			else
				l->v[++j] = l->v[k];
		}
		l->n = j + 1;
		for (k = 0; k < l->n; k++) {
			uint32_t x = l->v[k].id;
			double sc = l->v[k].sum / ((double)h.size[i] * h.size[x]);

			if (x > i && sc >= p->threshold &&
			    heap_push(&h, sc, (uint32_t)i, x))
				goto out;
		}
	}
	if (hac_run(&h))
		goto out;

	for (i = 0; i < n; i++)
		rep[i] = UINT32_MAX;
	for (i = 0; i < npinned; i++) {
		/* an indexed representative stays the one to keep */
		uint32_t a = pinned_rep[i] < npinned ? pinned_rep[i] :
						       (uint32_t)i;

		rep[find_root(h.parent, a)] = a;
	}
	for (i = npinned; i < n; i++) {
		uint32_t root = find_root(h.parent, (uint32_t)i);

		if (h.pinned[root])
			continue;
		if (rep[root] == UINT32_MAX ||
		    better_rep(sigs, (uint32_t)i, rep[root]))
			rep[root] = (uint32_t)i;
	}
	if (stats) {
		memset(stats, 0, sizeof(*stats));
		stats->candidates = stats_candidates;
		stats->verified = nverified;
		stats->bands = bands;
		stats->rows = rows;
	}
	for (i = 0; i < n; i++) {
		uint32_t root = find_root(h.parent, (uint32_t)i);
		double s;

		out[i].rep = rep[root];
		s = rep[root] == i ? 1 :
		    dedup_similarity(p, df, &sigs[i], &sigs[rep[root]]);
		out[i].score = s < 0 ? 0 : s;
		if (stats && rep[root] == i && h.size[root] > 1)
			stats->clusters++;
	}
	st = DEDUP_OK;
out:
	if (st)
		dedup_error_set(err, st, "out of memory while clustering");
	if (h.nb)
		for (i = 0; i < n; i++)
			nbr_free(&h, &h.nb[i]);
	free(h.arena);
	free(h.nb);
	free(h.heap);
	free(h.parent);
	free(h.size);
	free(h.stamp);
	free(h.pinned);
	free(rep);
	free(ps.v);
	free(vf.sim);
	free(vf.tb);
	free(kept);
	return st;
}
