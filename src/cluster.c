/*
 * cluster.c - LSH candidates, verified similarity and average-linkage
 * clustering (see dedup/cluster.h for the method).
 */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dedup/cluster.h"
#include "lsh_int.h"

void dedup_cluster_params_default(struct dedup_cluster_params *p,
				  enum dedup_level level)
{
	memset(p, 0, sizeof(*p));
	p->level = level;
	p->max_bucket = 64;
	p->max_cluster = 1000;
	p->min_bands = 1;
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
		p->min_bands = 2;
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
	if (p->min_bands > p->nhash)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "shared bands must not exceed %u",
				       p->nhash);
	if (p->max_bucket < 2 || p->max_cluster < 2)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "bucket and cluster limits must be >= 2");
	return DEDUP_OK;
}

/*
 * The bands and rows that minimize the expected false positives plus false
 * negatives around threshold t (datasketch's _optimal_param): the
 * integrals over [0, t] of P(candidate | s) = 1 - (1 - s^r)^b and over
 * [t, 1] of 1 - P, by the trapezoid rule on LSH_STEPS steps, for every
 * b x r <= nhash. For each r the powers (1 - s^r)^b of successive b are
 * one product each, not a pow() (a million of those took 17 ms at 256
 * hashes, on every run); the errors are then compared in the order b, r,
 * as they always were. dedup_lsh_optimal_pow() computes them directly,
 * for a lack of memory and for the tests.
 */
#define LSH_STEPS 200

static double lsh_error_pow(double t, double b, double r)
{
	const double hp = t / LSH_STEPS, hn = (1 - t) / LSH_STEPS;
	double fp = 0, fn = 0;
	int i;

	for (i = 0; i <= LSH_STEPS; i++) {
		int end = i == 0 || i == LSH_STEPS;
		double yp = 1 - pow(1 - pow(i * hp, r), b);
		double yn = 1 - (1 - pow(1 - pow(t + i * hn, r), b));

		fp += end ? yp / 2 : yp;
		fn += end ? yn / 2 : yn;
	}
	return fp * hp + fn * hn;
}

static void lsh_pick(double err, uint32_t b, uint32_t r, double *best,
		     uint32_t *bands, uint32_t *rows)
{
	if (err < *best - 1e-12) {
		*best = err;
		*bands = b;
		*rows = r;
	}
}

void dedup_lsh_optimal_pow(double t, uint32_t nhash, uint32_t *bands,
			   uint32_t *rows)
{
	double best = INFINITY;
	uint32_t b, r;

	*bands = nhash;
	*rows = 1;
	for (b = 1; b <= nhash; b++)
		for (r = 1; b * r <= nhash; r++)
			lsh_pick(lsh_error_pow(t, b, r), b, r, &best, bands,
				 rows);
}

/* Where (b, r) is in the table of errors: rows of each b in turn. */
static size_t lsh_at(const uint32_t *start, uint32_t b, uint32_t r)
{
	return start[b] + r - 1;
}

static int lsh_optimal_fast(double t, uint32_t nhash, uint32_t *bands,
			    uint32_t *rows)
{
	const double hp = t / LSH_STEPS, hn = (1 - t) / LSH_STEPS;
	double qp[LSH_STEPS + 1], qn[LSH_STEPS + 1];
	double pp[LSH_STEPS + 1], pn[LSH_STEPS + 1];
	uint32_t *start = malloc((nhash + 1) * sizeof(*start));
	double *err, best = INFINITY;
	uint32_t b, r;
	size_t n = 0;
	int i;

	if (!start)
		return -1;
	for (b = 1; b <= nhash; b++) {
		start[b] = (uint32_t)n;
		n += nhash / b;
	}
	err = malloc(n * sizeof(*err));
	if (!err) {
		free(start);
		return -1;
	}
	for (r = 1; r <= nhash; r++) {
		for (i = 0; i <= LSH_STEPS; i++) {
			qp[i] = 1 - pow(i * hp, r);
			qn[i] = 1 - pow(t + i * hn, r);
			pp[i] = pn[i] = 1;
		}
		for (b = 1; b * r <= nhash; b++) {
			double fp = 0, fn = 0;

			for (i = 0; i <= LSH_STEPS; i++) {
				int end = i == 0 || i == LSH_STEPS;

				pp[i] *= qp[i];
				pn[i] *= qn[i];
				fp += end ? (1 - pp[i]) / 2 : 1 - pp[i];
				fn += end ? pn[i] / 2 : pn[i];
			}
			err[lsh_at(start, b, r)] = fp * hp + fn * hn;
		}
	}
	*bands = nhash;
	*rows = 1;
	for (b = 1; b <= nhash; b++)
		for (r = 1; b * r <= nhash; r++)
			lsh_pick(err[lsh_at(start, b, r)], b, r, &best, bands,
				 rows);
	free(err);
	free(start);
	return 0;
}

/*
 * The last answers of dedup_lsh_optimal(): the keys of each document an
 * index adds, or a test's, ask for it again.
 */
#define LSH_MEMO 4

static struct {
	double t;
	uint32_t nhash, bands, rows;
} lsh_memo[LSH_MEMO];
static unsigned lsh_memo_n;
static pthread_mutex_t lsh_memo_lock = PTHREAD_MUTEX_INITIALIZER;

static int lsh_memo_get(double t, uint32_t nhash, uint32_t *bands,
			uint32_t *rows)
{
	unsigned i;
	int found = 0;

	pthread_mutex_lock(&lsh_memo_lock);
	for (i = 0; i < lsh_memo_n && i < LSH_MEMO && !found; i++) {
		if (lsh_memo[i].t == t && lsh_memo[i].nhash == nhash) {
			*bands = lsh_memo[i].bands;
			*rows = lsh_memo[i].rows;
			found = 1;
		}
	}
	pthread_mutex_unlock(&lsh_memo_lock);
	return found;
}

static void lsh_memo_put(double t, uint32_t nhash, uint32_t bands,
			 uint32_t rows)
{
	unsigned i;

	pthread_mutex_lock(&lsh_memo_lock);
	i = lsh_memo_n++ % LSH_MEMO;
	lsh_memo[i].t = t;
	lsh_memo[i].nhash = nhash;
	lsh_memo[i].bands = bands;
	lsh_memo[i].rows = rows;
	pthread_mutex_unlock(&lsh_memo_lock);
}

void dedup_lsh_optimal(double t, uint32_t nhash, uint32_t *bands,
		       uint32_t *rows)
{
	if (lsh_memo_get(t, nhash, bands, rows))
		return;
	if (lsh_optimal_fast(t, nhash, bands, rows))
		dedup_lsh_optimal_pow(t, nhash, bands, rows);
	lsh_memo_put(t, nhash, *bands, *rows);
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
	uint32_t at[DEDUP_SIG_MAXTERMS], bt[DEDUP_SIG_MAXTERMS];
	uint64_t dot = 0, top = 0;
	uint32_t i = 0, j = 0;

	dedup_sig_unpack(a, at);
	dedup_sig_unpack(b, bt);
	while (i < a->nterms && j < b->nterms) {
		uint32_t ta = dedup_term_id(at[i]);
		uint32_t tb = dedup_term_id(bt[j]);

		if (ta < tb) {
			i++;
		} else if (ta > tb) {
			j++;
		} else {
			uint64_t x = (uint64_t)dedup_term_wt(at[i]) *
				     dedup_term_wt(bt[j]);

			dot += x;
			top = x > top ? x : top;
			i++;
			j++;
		}
	}
	return vector_dot(dot, top);
}

/*
 * The terms of one signature by the term id's low bits (ids are hashes),
 * a slot holding the rest of its term's 24 bits and its weight in one word:
 * verification compares a document with each of its candidates in turn,
 * so the table is filled once per document and each candidate's terms
 * look themselves up, a load and a compare a term, without a branch. A
 * term whose slot is taken goes to a short list (about four of 250
 * terms), looked for in the candidate's terms. A bit per slot, then a
 * search of the document's terms for the few that passed, took twice as
 * long: a pass per term, the second with mispredicted branches; the merge
 * of two sorted lists before that a mispredicted branch per term.
 *
 * A slot is (generation << 27 | id >> TAB_BITS << 8 | weight): the
 * table is emptied once every 31 documents rather than slot by slot, and
 * a slot of an earlier generation (0 is none) matches no term.
 */
#define TAB_BITS 13
#define TAB_SIZE (1u << TAB_BITS)
#define TAB_GEN_SHIFT (32 - TAB_BITS + 8)
#define TAB_GENS (1u << (32 - TAB_GEN_SHIFT))

struct termtab {
	uint32_t slot[TAB_SIZE];
	uint32_t more[DEDUP_SIG_MAXTERMS]; /* the terms left out, ascending */
	uint32_t nmore;
	uint32_t gen;           /* of the slots in use, 1 to TAB_GENS - 1 */
	const struct dedup_sig *s; /* whose terms these are, NULL for none */
	size_t doc;
	int avx2;               /* the CPU gathers (the same sums either way) */
};

static void termtab_init(struct termtab *tt)
{
	memset(tt->slot, 0, sizeof(tt->slot));
	tt->gen = 0;
	tt->s = NULL;
	tt->doc = SIZE_MAX;
	tt->nmore = 0;
#if defined(__GNUC__) && defined(__x86_64__)
	tt->avx2 = __builtin_cpu_supports("avx2");
#else
	tt->avx2 = 0;
#endif
}

static void termtab_set(struct termtab *tt, const struct dedup_sig *s,
			size_t doc)
{
	uint32_t tw[DEDUP_SIG_MAXTERMS], i, gen;

	dedup_sig_unpack(s, tw);
	if (++tt->gen == TAB_GENS) {
		memset(tt->slot, 0, sizeof(tt->slot));
		tt->gen = 1;
	}
	gen = tt->gen << TAB_GEN_SHIFT;
	tt->nmore = 0;
	for (i = 0; i < s->nterms; i++) {
		uint32_t t = dedup_term_id(tw[i]);
		uint32_t *e = &tt->slot[t & (TAB_SIZE - 1)];

		if ((*e & ~0u << TAB_GEN_SHIFT) == gen)
			tt->more[tt->nmore++] = tw[i];
		else
			*e = gen | t >> TAB_BITS << 8 | dedup_term_wt(tw[i]);
	}
	tt->s = s;
	tt->doc = doc;
}

/*
 * The index of the first of v[0..n) not below t (v ascending). Terms
 * are hashes, spread evenly: the place is guessed from t and the terms
 * below it counted in a window around the guess, without a branch; a
 * bisection when the window misses.
 */
#define GUESS_WIN 32

static uint32_t lower_bound(const uint32_t *v, uint32_t n, uint32_t t)
{
	uint32_t lo = 0, g, c, k;

	if (n > GUESS_WIN) {
		g = (uint32_t)((uint64_t)t * n >> 32);
		g = g < GUESS_WIN / 2 ? 0 : g - GUESS_WIN / 2;
		g = g > n - GUESS_WIN ? n - GUESS_WIN : g;
		for (k = 0, c = 0; k < GUESS_WIN; k++)
			c += v[g + k] < t;
		if ((c || !g) && (c < GUESS_WIN || g + GUESS_WIN == n))
			return g + c;
	}
	while (n) {
		uint32_t half = n / 2;

		if (v[lo + half] < t) {
			lo += half + 1;
			n -= half + 1;
		} else {
			n = half;
		}
	}
	return lo;
}

/*
 * The products of b's terms (bt, packed) found in the table of generation
 * gen (shifted in place), summed into *dot, the largest into *top. 32
 * bits are enough: at most 4,096 products of at most 255 x 255.
 */
static void tab_dot(const uint32_t *slot, uint32_t gen, const uint32_t *bt,
		    uint32_t n, uint32_t *dot, uint32_t *top)
{
	uint32_t j, d = *dot, m = *top;

	for (j = 0; j < n; j++) {
		uint32_t t = dedup_term_id(bt[j]), e = slot[t & (TAB_SIZE - 1)];
		uint32_t x = ((e >> 8) == (gen >> 8 | t >> TAB_BITS)) *
			     (e & 255) * dedup_term_wt(bt[j]);

		d += x;
		m = x > m ? x : m;
	}
	*dot = d;
	*top = m;
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define TAB_DOT_AVX2 1

/* tab_dot() eight terms at a time, where the CPU has AVX2's gather. */
__attribute__((target("avx2")))
static void tab_dot_avx2(const uint32_t *slot, uint32_t gen,
			 const uint32_t *bt, uint32_t n, uint32_t *dot,
			 uint32_t *top)
{
	const __m256i mask = _mm256_set1_epi32(TAB_SIZE - 1);
	const __m256i low = _mm256_set1_epi32(255);
	const __m256i g = _mm256_set1_epi32((int)(gen >> 8));
	__m256i d = _mm256_setzero_si256(), m = d;
	uint32_t j, v[8], dd, mm, k;

	for (j = 0; j + 8 <= n; j += 8) {
		__m256i tw = _mm256_loadu_si256((const __m256i *)(bt + j));
		__m256i t = _mm256_srli_epi32(tw, 8);
		__m256i e = _mm256_i32gather_epi32((const int *)slot,
						   _mm256_and_si256(t, mask),
						   4);
		__m256i eq = _mm256_cmpeq_epi32(_mm256_srli_epi32(e, 8),
			_mm256_or_si256(g, _mm256_srli_epi32(t, TAB_BITS)));
		__m256i w = _mm256_and_si256(_mm256_and_si256(e, low), eq);
		__m256i x = _mm256_mullo_epi32(w, _mm256_and_si256(tw, low));

		d = _mm256_add_epi32(d, x);
		m = _mm256_max_epu32(m, x);
	}
	_mm256_storeu_si256((__m256i *)v, d);
	for (k = 0, dd = *dot; k < 8; k++)
		dd += v[k];
	_mm256_storeu_si256((__m256i *)v, m);
	for (k = 0, mm = *top; k < 8; k++)
		mm = v[k] > mm ? v[k] : mm;
	*dot = dd;
	*top = mm;
	tab_dot(slot, gen, bt + j, n - j, dot, top);
}
#endif

/* vector_sim() of a and b, the table of a's terms given. */
static double vector_sim_tab(const struct termtab *tt,
			     const struct dedup_sig *b)
{
	uint32_t bt[DEDUP_SIG_MAXTERMS], dot = 0, top = 0, k, lo;
	uint32_t gen = tt->gen << TAB_GEN_SHIFT;

	dedup_sig_unpack(b, bt);
#ifdef TAB_DOT_AVX2
	if (tt->avx2)
		tab_dot_avx2(tt->slot, gen, bt, b->nterms, &dot, &top);
	else
#endif
		tab_dot(tt->slot, gen, bt, b->nterms, &dot, &top);
	for (k = 0; k < tt->nmore; k++) {
		uint32_t t = tt->more[k] & ~0xffu, x;

		/* the first of b's terms with t's id or above */
		lo = lower_bound(bt, b->nterms, t);
		if (lo == b->nterms || (bt[lo] ^ t) > 0xffu)
			continue;
		x = dedup_term_wt(tt->more[k]) * dedup_term_wt(bt[lo]);
		dot += x;
		top = x > top ? x : top;
	}
	return vector_dot(dot, top);
}

/*
 * The similarity of a and b when it does not take their terms: 1 for
 * identical bodies, minus the threshold for reports dated apart. Returns
 * 1 and sets *s then, else 0.
 */
static int similarity_fixed(const struct dedup_cluster_params *p,
			    const struct dedup_sig *a, const struct dedup_sig *b,
			    double *s)
{
	if (a->nwords && a->body == b->body && a->nwords == b->nwords) {
		*s = 1;
		return 1;
	}
	/*
	 * Dated reports days apart tell different events, but a date found
	 * in a text is often the date of something it recalls (a trial
	 * report dates the shooting, a sentence the arrest): about one in
	 * four on raw news pages. So the pair is evidence against, not a
	 * veto: it counts minus the threshold, as much against a merge as a
	 * pair at the threshold counts for it. A -1 let one misread date
	 * tear a report from the dozen others of its event.
	 */
	if (dates_apart(p, a, b)) {
		*s = -p->threshold;
		return 1;
	}
	return 0;
}

/* dedup_similarity(), with the table of a's terms when tt is not NULL. */
static double similarity(const struct dedup_cluster_params *p,
			 const struct dedup_sig *a, const struct dedup_sig *b,
			 const struct termtab *tt)
{
	double s;

	if (similarity_fixed(p, a, b, &s))
		return s;
	if (p->level == DEDUP_LEVEL_COPY)
		s = dedup_sig_jaccard(a, b);
	else if (tt)
		s = vector_sim_tab(tt, b);
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

static inline __attribute__((always_inline)) void
pminhash_body(const uint64_t *key, uint32_t m, uint32_t nhash, uint32_t *out)
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

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
	defined(__linux__)
#define PM_DISPATCH 1
/*
 * Wider lanes where the CPU has them, asked at each call (a flag the
 * runtime read once). GCC keeps to 256-bit vectors for AVX-512 unless
 * asked; the float operations are the same IEEE ones in every version
 * (C11 mode contracts no multiply-add), so every version gives the same
 * bits.
 */
__attribute__((target("avx512f,prefer-vector-width=512")))
static void pminhash_avx512(const uint64_t *key, uint32_t m, uint32_t nhash,
			    uint32_t *out)
{
	pminhash_body(key, m, nhash, out);
}

__attribute__((target("avx2")))
static void pminhash_avx2(const uint64_t *key, uint32_t m, uint32_t nhash,
			  uint32_t *out)
{
	pminhash_body(key, m, nhash, out);
}
#endif

static void pminhash_plain(const uint64_t *key, uint32_t m, uint32_t nhash,
			   uint32_t *out)
{
	pminhash_body(key, m, nhash, out);
}

void dedup_pminhash_isa(const uint64_t *key, uint32_t m, uint32_t nhash,
			uint32_t *out, unsigned isa)
{
#ifdef PM_DISPATCH
	if (isa >= 2 && __builtin_cpu_supports("avx512f"))
		pminhash_avx512(key, m, nhash, out);
	else if (isa >= 1 && __builtin_cpu_supports("avx2"))
		pminhash_avx2(key, m, nhash, out);
	else
#endif
		pminhash_plain(key, m, nhash, out);
	(void)isa;
}

static void pminhash(const uint64_t *key, uint32_t m, uint32_t nhash,
		     uint32_t *out)
{
	dedup_pminhash_isa(key, m, nhash, out, 2);
}

/*
 * The strongest `top` of n terms into key as pminhash() takes them, and
 * their number; weaker ones would rarely win. Strongest first, then the
 * lower id: one integer order, so one set of terms, whose order does not
 * matter. Weights are bytes, so the weakest weight that takes part is
 * found by counting, and of that weight the lowest ids (the terms
 * ascend): sorting the keys took a fifth of the hashing. ids: the terms'
 * ids, NULL for the 24 bits of tw.
 */
static uint32_t top_terms(const uint32_t *tw, const uint32_t *ids,
			  uint32_t n, uint32_t top, uint64_t *key)
{
	uint32_t cnt[DEDUP_WEIGHT_ONE + 1] = { 0 }, i, w, m = 0, above = 0;

	if (n > top) {
		for (i = 0; i < n; i++)
			cnt[dedup_term_wt(tw[i])]++;
		/* w: the weight at which the strongest reach `top` */
		for (w = DEDUP_WEIGHT_ONE; above + cnt[w] < top; w--)
			above += cnt[w];
	} else {
		w = 0;
	}
	/* all above w, and the first top - above of weight w */
	for (i = 0; i < n; i++) {
		uint32_t wt = dedup_term_wt(tw[i]);

		if (wt < w || (wt == w && above == top))
			continue;
		above += wt == w;
		key[m++] = (uint64_t)(DEDUP_WEIGHT_ONE - wt) << 32 |
			   (ids ? ids[i] : dedup_term_id(tw[i]));
	}
	return m;
}

void dedup_lsh_values(const uint32_t *tw, const uint32_t *ids, uint32_t n,
		      uint32_t top, uint32_t nv, uint32_t *out, uint64_t *key)
{
	pminhash(key, top_terms(tw, ids, n, top, key), nv, out);
}

/*
 * The first nv LSH values of one document (0 when it has no features);
 * key has room for the document's terms. Bands use bands x rows of the
 * nhash values, and each value depends on its index alone. At the event
 * level they are term ids: the ones the signature names when it names
 * that many (drawn from the full ids), else drawn from the 24 bits it
 * keeps.
 */
static int doc_hashes(const struct dedup_cluster_params *p,
		      const struct dedup_sig *s, uint32_t nv, uint32_t *out,
		      uint64_t *key)
{
	const uint32_t *mins = dedup_sig_mins(s);
	const uint8_t *band = dedup_sig_band(s);
	uint32_t tw[DEDUP_SIG_MAXTERMS], i;

	if (p->level == DEDUP_LEVEL_COPY) {
		if (!s->nperm || !s->nwords)
			return 0;
		for (i = 0; i < nv; i++)
			out[i] = i < s->nperm ? mins[i] : 0;
		return 1;
	}
	if (!s->nterms)
		return 0;
	if (s->nband >= nv) {
		for (i = 0; i < nv; i++)
			out[i] = dedup_sig_id(s, band[i]);
		return 1;
	}
	dedup_sig_unpack(s, tw);
	dedup_lsh_values(tw, NULL, s->nterms, p->top_terms, nv, out, key);
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

void dedup_cluster_sig_params(const struct dedup_cluster_params *p,
			      struct dedup_sig_params *sp)
{
	uint32_t bands, rows;

	sp->lsh_top = 0;
	sp->lsh_bands = 0;
	if (p->level != DEDUP_LEVEL_EVENT || sp->level != DEDUP_LEVEL_EVENT)
		return;
	bands_rows(p, &bands, &rows);
	sp->lsh_top = p->top_terms;
	sp->lsh_bands = bands * rows;
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
		has = doc_hashes(p, s, bands * rows, hv, idx);
		if (has)
			band_keys(hv, bands, rows, keys);
	}
	free(hv);
	free(idx);
	return has;
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
 * Candidates without a list of candidate pairs. A run of a million
 * documents has hundreds of millions of candidate pairs (about 200 per
 * document here), and listing, sorting and keeping them was most of the
 * run's memory. Instead every document's band keys are kept, and each
 * band is sorted and walked on its own: a pair of one of its buckets is
 * verified there only when no earlier band made it a candidate, which the
 * two documents' keys tell, so each candidate pair is verified exactly
 * once, in the band that makes it one, whichever thread takes which band.
 *
 * A pair is a candidate when it shares min_bands bands (2 at the event
 * level), in the band where it shares the last of them. With one row a
 * band, one shared band is one shared term that won a permutation: on
 * synthetic news at 10,000 documents two thirds of the pairs verified
 * shared a single band, and 29 of their 1.4 million reached the
 * threshold (0.2 % of the pairs that did); asking for two bands took a
 * quarter of the clustering's time off (bench/RESULTS.md, "clus9").
 *
 * Keys take 32 bits when a band has one row: the key is then the value
 * itself (XXH3 of 4 bytes is a bijection, so the buckets are those of the
 * 64-bit hashes an index stores); 64 bits with several rows. At the event
 * level with one row, the value is the term that won the band, one of the
 * document's own: a byte, its place in the signature's terms, says which
 * (82 bytes a document with the defaults instead of 328, the largest
 * array of the clustering at a million documents). Reading a key then
 * costs a load in the signature, which verification reads anyway.
 *
 * A bucket larger than max_bucket (a common term winning one permutation
 * in many documents) links only neighbours in document order: its
 * documents are kept, per band, so that a later band can tell whether two
 * of them were neighbours there. At worst (every bucket crowded) that
 * costs as much as the keys.
 *
 * Two rounds. The first verifies every candidate and keeps only the pairs
 * at or above the threshold. A merge needs its two clusters' mean to
 * reach the threshold, so some pair between them must: clusters never
 * merge across the connected components of those pairs, and a pair
 * between two components changes no merge. The second round walks the
 * bands again over the documents of components of two or more, and keeps
 * the pairs inside a component that the linkage counts (weaker pairs add
 * almost nothing to a mean and are most of the candidates: kept only from
 * KEEP_SHARE of the threshold up, and always when negative, dated apart).
 */

/* Candidate pairs below this share of the threshold are not linked. */
#define KEEP_SHARE 0.1

/*
 * A crowded bucket's documents, ascending, in groups of CROWD_GROUP: the
 * first of each group whole (an anchor), each of the others as its
 * distance to the one before in 16 bits, 2.1 bytes a document instead of
 * 4 (a third of a band's documents can be in crowded buckets). A bucket
 * with a distance of 2^16 or more (a few dozen documents spread over
 * millions) keeps its documents whole.
 */
#define CROWD_GROUP 16
#define CROWD_WIDE UINT32_MAX

struct crowd {
	uint64_t key;
	uint32_t n;
	uint32_t off;           /* into gap[], or wide[] when anc is WIDE */
	uint32_t anc;           /* into anchor[], or CROWD_WIDE */
};

struct bandcrowd {
	struct crowd *c;        /* ascending keys */
	uint16_t *gap;          /* distances, 0 in an anchor's place */
	uint32_t *anchor;
	uint32_t *wide;
	uint32_t nc;
	uint32_t shift;         /* of a key's hash to its bit of `bits` */
	uint64_t *bits;         /* set for the keys of c (crowd_find()) */
};

/* Document i of bucket c, given document i - 1 (prev) when i > 0. */
static inline uint32_t crowd_doc(const struct bandcrowd *bc,
				 const struct crowd *c, uint32_t i,
				 uint32_t prev)
{
	if (c->anc == CROWD_WIDE)
		return bc->wide[c->off + i];
	if (i % CROWD_GROUP == 0)
		return bc->anchor[c->anc + i / CROWD_GROUP];
	return prev + bc->gap[c->off + i];
}

/* Bits of a band's crowd filter per crowded bucket (at least 64). */
#define CROWD_BITS 16

/* The bit of a crowd filter for key (Fibonacci hashing). */
static uint64_t crowd_bit(const struct bandcrowd *bc, uint64_t key)
{
	return key * 0x9e3779b97f4a7c15ULL >> bc->shift;
}

struct rec {
	uint64_t key;
	uint32_t doc;
};

/*
 * A band's documents sorted by key: records of 16 bytes for 64-bit keys,
 * or, for 32-bit keys, key << 32 | doc in 8, sorted in place (one
 * buffer of n per thread: 16 bytes a document at two threads instead
 * of 64).
 */
struct recs {
	const struct rec *r;
	const uint64_t *p;      /* packed, when not NULL */
};

static uint64_t rec_key(const struct recs *v, size_t i)
{
	return v->p ? v->p[i] >> 32 : v->r[i].key;
}

static uint32_t rec_doc(const struct recs *v, size_t i)
{
	return v->p ? (uint32_t)v->p[i] : v->r[i].doc;
}

struct link {
	uint64_t pair;          /* lower document << 32 | higher */
	double s;
};

struct links {
	struct link *v;
	size_t n, alloc;
};

/*
 * Pairs queued for their terms per thread, at most (16 bytes each, with
 * the sort's buffer; 32 a document for smaller runs).
 */
#define QUEUE_MAX ((size_t)1 << 18)

/* One thread's scratch space and results. */
struct lshthread {
	_Alignas(64) struct termtab tab; /* threads apart by cache lines */
	uint64_t *q, *qtmp;     /* pairs queued for their terms, x << 32 | y */
	size_t nq, qcap;
	void *a, *b;            /* sort buffers, n records each (b: 16-byte
				   records only) */
	uint32_t *hv;
	uint64_t *idx;
	uint16_t *rows;         /* a bucket's documents' keys (bucket_row()) */
	uint16_t *ready;        /* how far each of those rows is read */
	uint32_t nrows;         /* room for the rows of so many documents */
	uint64_t *ckeys;        /* a small component's band keys */
	struct links out;
	uint64_t candidates, verified;
};

struct lsh {
	const struct dedup_cluster_params *p;
	const struct dedup_sig *sigs;
	size_t n;
	uint32_t bands, rows, kw;       /* kw: 32-bit words per key */
	uint32_t need;                  /* bands a candidate pair shares */
	uint32_t direct;                /* second round: components of up to
					   so many documents listed whole */
	uint32_t *keys;                 /* n x bands x kw, or NULL: */
	int bytes;                      /* the key is the term a byte names
					   (band_of()) */
	uint8_t *term;                  /* n x bands, the bytes of the
					   signatures that name none */
	unsigned char *has;             /* the document has features */
	unsigned char *in;              /* it takes part in this round */
	struct bandcrowd *crowd;        /* per band */
	atomic_uchar *crowded;          /* first round: band b's are made */
	const uint32_t *root;           /* settled cluster of each doc */
	size_t npinned;                 /* documents settled by the caller */
	const uint32_t *comp;           /* second round: its component */
	const uint32_t *cdoc;           /* second round: the documents of the
					   small components, by component */
	const uint32_t *cstart;         /* component c's: cdoc[cstart[c]]
					   to cdoc[cstart[c + 1]] */
	int round;
	struct lshthread *th;
	atomic_int nomem;
};

/*
 * Ask for the memory of what is read next (the caches cannot guess it: a
 * bucket's documents are anywhere in the run): the keys of the bands
 * before b, the signature's scalars, or its terms and weights.
 */
#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
/*
 * For a function that only prefetches: GCC finds it has no effects (a
 * prefetch has none it counts), so removes its calls before it would
 * inline them, unless inlined first. Without this, none of the
 * prefetches of keys_prefetch() and terms_prefetch() was ever made.
 */
#define PREFETCHER static inline __attribute__((always_inline)) void
#else
#define PREFETCH(p) ((void)(p))
#define PREFETCHER static void
#endif

/* The bytes naming document d's band winners, when l->bytes. */
static const uint8_t *band_of(const struct lsh *l, size_t d)
{
	const struct dedup_sig *s = &l->sigs[d];

	return s->nband >= l->bands ? dedup_sig_band(s) :
				      l->term + d * l->bands;
}

static uint64_t key_at(const struct lsh *l, size_t d, uint32_t b)
{
	const uint32_t *k;

	if (l->bytes)
		return dedup_sig_id(&l->sigs[d], band_of(l, d)[b]);
	k = l->keys + (d * l->bands + b) * l->kw;
	return l->kw == 1 ? k[0] : (uint64_t)k[0] << 32 | k[1];
}

/*
 * Documents ahead, in a walk over all of them, whose key of one band is
 * asked for: a key read waited for three places of a signature (its top
 * bits, band bytes and the winner's low bytes), once a band.
 */
#define BAND_AHEAD 16

/*
 * Before key_at(l, d, b) of the documents in order, when l->bytes: the
 * top bits and band bytes (next to each other) of a document some way
 * ahead, and, when those have come, the low bytes of its winner.
 */
PREFETCHER key_prefetch(const struct lsh *l, size_t d, uint32_t b)
{
	const struct dedup_sig *s;
	const char *h;

	if (d + BAND_AHEAD < l->n && l->in[d + BAND_AHEAD]) {
		s = &l->sigs[d + BAND_AHEAD];
		h = (const char *)dedup_sig_hibits(s);
		PREFETCH(h);
		PREFETCH(h + 64);
		PREFETCH(band_of(l, d + BAND_AHEAD) + b);
	}
	if (d + BAND_AHEAD / 2 < l->n && l->in[d + BAND_AHEAD / 2]) {
		s = &l->sigs[d + BAND_AHEAD / 2];
		PREFETCH(dedup_sig_lows(s) +
			 dedup_sig_term_at(band_of(l, d + BAND_AHEAD / 2)[b]));
	}
}

/* Whether document d is a later exact copy (copies_settle()). */
static int is_copy(const uint32_t *parent, size_t npinned, size_t d)
{
	return d >= npinned && parent[d] != d;
}

static void lsh_doc(void *arg, unsigned t, size_t d)
{
	struct lsh *l = arg;
	struct lshthread *th = &l->th[t];
	uint32_t *k, b;

	/* a later copy is its first's: it takes no part */
	if (is_copy(l->root, l->npinned, d)) {
		l->has[d] = 0;
		return;
	}
	/* the signature names its band winners: nothing to draw */
	if (l->bytes && l->sigs[d].nband >= l->bands) {
		l->has[d] = l->sigs[d].nterms != 0;
		return;
	}
	l->has[d] = (unsigned char)doc_hashes(l->p, &l->sigs[d],
					      l->bands * l->rows, th->hv,
					      th->idx);
	if (!l->has[d])
		return;
	if (l->bytes) {
		for (b = 0; b < l->bands; b++)
			l->term[d * l->bands + b] = (uint8_t)dedup_sig_find(
				&l->sigs[d], th->hv[b]);
		return;
	}
	k = l->keys + d * l->bands * l->kw;
	for (b = 0; b < l->bands; b++) {
		const uint32_t *v = th->hv + b * l->rows;
		uint64_t h;

		if (l->kw == 1) {
			k[b] = v[0];
			continue;
		}
		h = XXH3_64bits_withSeed(v, l->rows * sizeof(*v), b);
		k[2 * b] = (uint32_t)(h >> 32);
		k[2 * b + 1] = (uint32_t)h;
	}
}

/*
 * The documents taking part, by key of band b then document: a stable
 * radix sort of the keys, the documents coming in ascending order (the
 * packed records: dedup_sort64(), in place). Returns the sorted array
 * (one of the thread's buffers) and its length in *np.
 */
#define RADIX_BITS 11
#define RADIX_MASK ((1u << RADIX_BITS) - 1)

/*
 * Turn the counts of each digit into the offsets where its records go.
 * 0 when one digit holds all n records: nothing would move.
 */
static int radix_offsets(size_t *cnt, size_t n)
{
	size_t i, sum = 0, c;

	for (i = 0; i <= RADIX_MASK; i++) {
		if (cnt[i] == n)
			return 0;
		c = cnt[i];
		cnt[i] = sum;
		sum += c;
	}
	return 1;
}

#define SORT_WIDE 11     /* digit bits of the first pass over many */
#define SORT_DIGIT 8
#define SORT_SMALL 48

/*
 * Sort n values of type T ascending by KEY(value), unique 64-bit keys,
 * in place (an American flag sort: McIlroy, Bostic and McIlroy,
 * "Engineering radix sort", 1993): by the highest digit where the keys
 * differ, each bucket then the same way, small ones by insertion. Keys
 * being unique, any sort gives the order of a stable one, without its
 * second buffer of n values.
 */
#define FLAG_SORT(name, T, KEY)						\
static void name(T *v, size_t n)					\
{									\
	size_t cnt[1u << SORT_WIDE], next[1u << SORT_WIDE], i, j, end;	\
	uint64_t any = 0, all = ~0ull;					\
	unsigned bits = n > 8192 ? SORT_WIDE : SORT_DIGIT;		\
	unsigned top, shift, d, b, nb = 1u << bits, mask = nb - 1;	\
	T x, t;								\
									\
	if (n < SORT_SMALL) {						\
		for (i = 1; i < n; i++) {				\
			x = v[i];					\
			for (j = i; j > 0 && KEY(v[j - 1]) > KEY(x); j--) \
				v[j] = v[j - 1];			\
			v[j] = x;					\
		}							\
		return;							\
	}								\
	for (i = 0; i < n; i++) {					\
		any |= KEY(v[i]);					\
		all &= KEY(v[i]);					\
	}								\
	if (any == all)							\
		return;							\
	/* the digit that ends at the highest bit where they differ */	\
	top = 64 - (unsigned)__builtin_clzll(any ^ all);		\
	shift = top > bits ? top - bits : 0;				\
	memset(cnt, 0, nb * sizeof(*cnt));				\
	for (i = 0; i < n; i++)						\
		cnt[KEY(v[i]) >> shift & mask]++;			\
	for (b = 0, end = 0; b < nb; b++) {				\
		next[b] = end;						\
		end += cnt[b];						\
		cnt[b] = end;   /* the bucket's end from here on */	\
	}								\
	for (b = 0; b < nb; b++) {					\
		while (next[b] < cnt[b]) {				\
			x = v[next[b]];					\
			while ((d = KEY(x) >> shift & mask) != b) {	\
				t = v[next[d]];				\
				v[next[d]++] = x;			\
				x = t;					\
			}						\
			v[next[b]++] = x;				\
		}							\
	}								\
	if (!shift)							\
		return;							\
	for (b = 0, i = 0; b < nb; b++) {				\
		if (cnt[b] - i > 1)					\
			name(v + i, cnt[b] - i);			\
		i = cnt[b];						\
	}								\
}

#define KEY_SELF(x) (x)
#define KEY_PAIR(x) ((x).pair)

FLAG_SORT(sort_u64, uint64_t, KEY_SELF)
FLAG_SORT(sort_links, struct link, KEY_PAIR)

/* The band records' sort (packed records, unique: their documents). */
void dedup_sort64(uint64_t *v, size_t n)
{
	sort_u64(v, n);
}

/* band_sorted() for 32-bit keys, packed with their documents. */
static const uint64_t *band_sorted32(const struct lsh *l,
				     struct lshthread *th, uint32_t b,
				     size_t *np)
{
	uint64_t *v = th->a;
	size_t n = 0, d;

	for (d = 0; d < l->n; d++) {
		if (l->bytes)
			key_prefetch(l, d, b);
		if (l->in[d])
			v[n++] = key_at(l, d, b) << 32 | d;
	}
	dedup_sort64(v, n);
	*np = n;
	return v;
}

static struct recs band_sorted(const struct lsh *l, struct lshthread *th,
			       uint32_t b, size_t *np)
{
	struct rec *v = th->a, *w = th->b, *x;
	struct recs out = { NULL, NULL };
	size_t n = 0, d, i;
	unsigned shift;

	if (l->kw == 1) {
		out.p = band_sorted32(l, th, b, np);
		return out;
	}
	for (d = 0; d < l->n; d++) {
		if (!l->in[d])
			continue;
		v[n].key = key_at(l, d, b);
		v[n].doc = (uint32_t)d;
		n++;
	}
	for (shift = 0; shift < 64; shift += RADIX_BITS) {
		size_t cnt[RADIX_MASK + 1] = { 0 };

		for (i = 0; i < n; i++)
			cnt[v[i].key >> shift & RADIX_MASK]++;
		if (!radix_offsets(cnt, n))
			continue;
		for (i = 0; i < n; i++)
			w[cnt[v[i].key >> shift & RADIX_MASK]++] = v[i];
		x = v;
		v = w;
		w = x;
	}
	*np = n;
	out.r = v;
	return out;
}

/* Whether a bucket's documents (ascending) are kept whole. */
static int crowd_wide(const struct recs *v, size_t i, size_t j)
{
	for (i++; i < j; i++)
		if (rec_doc(v, i) - rec_doc(v, i - 1) > UINT16_MAX)
			return 1;
	return 0;
}

/*
 * The buckets of band b larger than max_bucket, with their documents, from
 * its n records sorted.
 */
static void band_crowd(struct lsh *l, size_t b, struct recs v, size_t n)
{
	struct bandcrowd *bc = &l->crowd[b];
	size_t i, j, k, ng = 0, na = 0, nw = 0;
	uint64_t h;
	uint32_t nc = 0;

	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && rec_key(&v, j) == rec_key(&v, i); j++)
			;
		if (j - i <= l->p->max_bucket)
			continue;
		nc++;
		if (crowd_wide(&v, i, j)) {
			nw += j - i;
		} else {
			ng += j - i;
			na += (j - i + CROWD_GROUP - 1) / CROWD_GROUP;
		}
	}
	if (!nc)
		return;
	for (bc->shift = 64 - 6; 64 - bc->shift < 32 &&
	     (1ull << (64 - bc->shift)) < (uint64_t)nc * CROWD_BITS;)
		bc->shift--;
	bc->c = malloc(nc * sizeof(*bc->c));
	bc->gap = malloc((ng ? ng : 1) * sizeof(*bc->gap));
	bc->anchor = malloc((na ? na : 1) * sizeof(*bc->anchor));
	bc->wide = malloc((nw ? nw : 1) * sizeof(*bc->wide));
	bc->bits = calloc((size_t)1 << (64 - bc->shift - 6), sizeof(*bc->bits));
	if (!bc->c || !bc->gap || !bc->anchor || !bc->wide || !bc->bits) {
		atomic_store(&l->nomem, 1);
		return;
	}
	for (i = 0, ng = na = nw = 0; i < n; i = j) {
		struct crowd *c = &bc->c[bc->nc];

		for (j = i + 1; j < n && rec_key(&v, j) == rec_key(&v, i); j++)
			;
		if (j - i <= l->p->max_bucket)
			continue;
		c->key = rec_key(&v, i);
		h = crowd_bit(bc, c->key);
		bc->bits[h >> 6] |= 1ull << (h & 63);
		c->n = (uint32_t)(j - i);
		bc->nc++;
		if (crowd_wide(&v, i, j)) {
			c->off = (uint32_t)nw;
			c->anc = CROWD_WIDE;
			for (; i < j; i++)
				bc->wide[nw++] = rec_doc(&v, i);
			continue;
		}
		c->off = (uint32_t)ng;
		c->anc = (uint32_t)na;
		for (k = 0; i < j; i++, k++) {
			if (k % CROWD_GROUP) {
				bc->gap[ng++] = (uint16_t)(rec_doc(&v, i) -
							   rec_doc(&v, i - 1));
				continue;
			}
			bc->gap[ng++] = 0;
			bc->anchor[na++] = rec_doc(&v, i);
		}
	}
}

/*
 * The crowded bucket of key, NULL when it is not crowded: most keys are
 * not, told by a bit (the search of every shared band of a pair missed
 * the caches twice or more at 200,000 documents).
 */
static const struct crowd *crowd_find(const struct bandcrowd *bc,
				      uint64_t key)
{
	uint32_t lo = 0, hi = bc->nc;
	uint64_t h;

	if (!bc->nc)
		return NULL;
	h = crowd_bit(bc, key);
	if (!(bc->bits[h >> 6] >> (h & 63) & 1))
		return NULL;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (bc->c[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < bc->nc && bc->c[lo].key == key ? &bc->c[lo] : NULL;
}

/* Whether x and y, of one bucket of band b, are a candidate pair there. */
static int band_pairs_them(const struct lsh *l, uint32_t b, uint64_t key,
			   uint32_t x, uint32_t y)
{
	const struct bandcrowd *bc = &l->crowd[b];
	const struct crowd *c;
	const uint32_t *d;
	uint32_t lo = 0, hi, i, doc;

	if (!bc->nc || !(c = crowd_find(bc, key)))
		return 1;
	/* crowded: neighbours only; the first document from x on */
	if (c->anc == CROWD_WIDE) {
		d = bc->wide + c->off;
		hi = c->n;
	} else {
		/* the group: the first anchor above x, then back one */
		d = bc->anchor + c->anc;
		hi = (c->n + CROWD_GROUP - 1) / CROWD_GROUP;
	}
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (d[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (c->anc == CROWD_WIDE)
		return lo + 1 < c->n && d[lo + 1] == y;
	if (lo < (c->n + CROWD_GROUP - 1) / CROWD_GROUP && d[lo] == x) {
		i = lo * CROWD_GROUP;
		doc = x;
	} else if (lo) {
		/* x is after anchor lo - 1: walk its group */
		i = (lo - 1) * CROWD_GROUP;
		doc = d[lo - 1];
		while (doc < x && i + 1 < c->n) {
			doc = crowd_doc(bc, c, i + 1, doc);
			i++;
		}
		if (doc < x)
			return 0;
	} else {
		i = 0;
		doc = d[0];
	}
	return i + 1 < c->n && crowd_doc(bc, c, i + 1, doc) == y;
}

/*
 * Whether x and y, whose winners of band k have the same low bits, were
 * a candidate pair there: the full ids the same, and the bucket not
 * crowded or they neighbours in it.
 */
static int shared_key(const struct lsh *l, uint32_t x, uint32_t y,
		      uint32_t k)
{
	uint32_t id = dedup_sig_id(&l->sigs[x], band_of(l, x)[k]);

	return id == dedup_sig_id(&l->sigs[y], band_of(l, y)[k]) &&
	       band_pairs_them(l, k, id, x, y);
}

/*
 * In how many bands before b x and y were paired, counted up to need.
 * The keys are compared without a branch sixteen words at a time; a pair
 * of the same event shares a few bands, most pairs one.
 */
static unsigned seen_before(const struct lsh *l, uint32_t x, uint32_t y,
			    uint32_t b, unsigned need)
{
	const uint32_t *kx, *ky;
	uint32_t i, k, e, w = b * l->kw;
	unsigned got = 0;

	if (l->bytes) {
		const uint8_t *ix = band_of(l, x), *iy = band_of(l, y);
		const struct dedup_sig *sx = &l->sigs[x], *sy = &l->sigs[y];

		/*
		 * without a branch sixteen bands at a time, as below, on the
		 * low 16 bits of the ids; the full ids where those are the
		 * same
		 */
		for (i = 0; i < b; i = e) {
			uint32_t any = 0;

			e = b - i < 16 ? b : i + 16;
			for (k = i; k < e; k++)
				any |= dedup_sig_low16(sx, ix[k]) ==
				       dedup_sig_low16(sy, iy[k]);
			if (!any)
				continue;
			for (k = i; k < e; k++)
				if (dedup_sig_low16(sx, ix[k]) ==
					    dedup_sig_low16(sy, iy[k]) &&
				    shared_key(l, x, y, k) && ++got == need)
					return got;
		}
		return got;
	}
	kx = l->keys + (size_t)x * l->bands * l->kw;
	ky = l->keys + (size_t)y * l->bands * l->kw;
	for (i = 0; i < w; i = e) {
		uint32_t any = 0;

		e = w - i < 16 ? w : i + 16;
		for (k = i; k < e; k++)
			any |= kx[k] == ky[k];
		if (!any)
			continue;
		for (k = i / l->kw; k < e / l->kw; k++) {
			uint64_t key = key_at(l, x, k);

			if (key == key_at(l, y, k) &&
			    band_pairs_them(l, k, key, x, y) && ++got == need)
				return got;
		}
	}
	return got;
}

static int links_add(struct links *ls, uint32_t x, uint32_t y, double s)
{
	if (ls->n == ls->alloc) {
		size_t na = ls->alloc ? ls->alloc * 2 : 1024;
		struct link *v = realloc(ls->v, na * sizeof(*v));

		if (!v)
			return -1;
		ls->v = v;
		ls->alloc = na;
	}
	ls->v[ls->n].pair = (uint64_t)x << 32 | y;
	ls->v[ls->n].s = s;
	ls->n++;
	return 0;
}

/*
 * The low 16 bits of the ids of the band winners of document d, place at
 * of the bucket being walked, read once for all its pairs there: buckets
 * hold up to max_bucket documents, and reading the keys of both
 * documents of each pair from their signatures took a third of the
 * clustering, most of it waiting for memory. Read as far as a comparison
 * needs (to band e): the documents of one event share a band early.
 */
#define NO_ROW UINT32_MAX
/* Most documents of a bucket whose rows are kept (the default 64 all). */
#define ROWS_MAX 256

static const uint16_t *bucket_row(const struct lsh *l, struct lshthread *th,
				  uint32_t at, uint32_t d, uint32_t e)
{
	uint16_t *r = th->rows + (size_t)at * l->bands;
	const uint8_t *ix = band_of(l, d), *lo = dedup_sig_lows(&l->sigs[d]);
	uint32_t k;

	/* the id's low 16 bits after the weight's level (struct dedup_sig) */
	for (k = th->ready[at]; k < e; k++)
		r[k] = (uint16_t)(dedup_sig_bits_at(lo, ix[k]) >> 6);
	th->ready[at] = k > th->ready[at] ? k : th->ready[at];
	return r;
}

/*
 * seen_before() of x and y, places ax and ay of the bucket whose rows are
 * kept, compared without a branch 32 bands at a time; the full ids where
 * the low bits are the same.
 */
static unsigned seen_rows(const struct lsh *l, struct lshthread *th,
			  uint32_t x, uint32_t y, uint32_t b, uint32_t ax,
			  uint32_t ay, unsigned need)
{
	uint32_t i, k, e;
	unsigned got = 0;

	for (i = 0; i < b; i = e) {
		const uint16_t *rx, *ry;
		unsigned any = 0;

		e = b - i < 32 ? b : i + 32;
		rx = bucket_row(l, th, ax, x, e);
		ry = bucket_row(l, th, ay, y, e);
		for (k = i; k < e; k++)
			any |= rx[k] == ry[k];
		if (!any)
			continue;
		for (k = i; k < e; k++)
			if (rx[k] == ry[k] && shared_key(l, x, y, k) &&
			    ++got == need)
				return got;
	}
	return got;
}

/*
 * Whether x < y of one of band b's buckets are compared there: b is the
 * band that makes them a candidate, the need-th they share (counted
 * then), and they are not of one settled cluster, nor of two components
 * in the second round.
 * ax, ay: their places in the bucket when its rows are kept
 * (bucket_row()), else NO_ROW.
 */
static int pair_compared(const struct lsh *l, struct lshthread *th,
			 uint32_t b, uint32_t x, uint32_t y, uint32_t ax,
			 uint32_t ay)
{
	/* a crowd's neighbours may be of a component listed whole */
	if (l->round == 2 && (l->comp[x] != l->comp[y] || !l->in[x]))
		return 0;
	if ((ax != NO_ROW ? seen_rows(l, th, x, y, b, ax, ay, l->need) :
			    seen_before(l, x, y, b, l->need)) != l->need - 1)
		return 0;
	th->candidates++;
	/* pairs inside one settled cluster are not compared */
	return l->root[x] != l->root[y];
}

/* Keep the compared pair x < y of similarity s if the round wants it. */
static int pair_keep(const struct lsh *l, struct lshthread *th, uint32_t x,
		     uint32_t y, double s)
{
	const struct dedup_cluster_params *p = l->p;

	if (l->round == 1) {
		if (s < p->threshold)
			return 0;
		th->verified++;
		return links_add(&th->out, x, y, s);
	}
	if (s >= 0 && s < p->threshold * KEEP_SHARE)
		return 0;
	return links_add(&th->out, x, y, s);
}

/* Documents of buckets ahead whose keys are asked for. */
#define KEYS_AHEAD 64

PREFETCHER keys_prefetch(const struct lsh *l, uint32_t d, uint32_t b)
{
	const char *k;
	size_t o, end;

	if (l->bytes) {
		/*
		 * The keys are the terms the bytes name: the bytes, and
		 * the terms whole, since the winners of the bands before b
		 * are anywhere in them (at a million documents each was a
		 * miss of its own). The signature's scalars were asked for
		 * further ahead (band_walk()).
		 */
		const struct dedup_sig *s = &l->sigs[d];

		k = (const char *)band_of(l, d);
		PREFETCH(k);
		PREFETCH(k + b);
		if (b) {
			const char *t = (const char *)dedup_sig_lows(s);

			end = dedup_sig_termbytes(s->nterms) +
			      dedup_sig_hibytes(s->nterms);
			for (o = 0; o < end; o += 64)
				PREFETCH(t + o);
		}
		return;
	}
	k = (const char *)(l->keys + (size_t)d * l->bands * l->kw);
	end = (size_t)b * l->kw * sizeof(*l->keys);
	for (o = 0; o < end; o += 64)
		PREFETCH(k + o);
}

PREFETCHER doc_prefetch(const struct lsh *l, uint32_t d)
{
	PREFETCH(&l->sigs[d]);
	PREFETCH(&l->root[d]);
	if (l->comp)
		PREFETCH(&l->comp[d]);
}

PREFETCHER terms_prefetch(const struct dedup_sig *s)
{
	const char *t = (const char *)dedup_sig_lows(s);
	size_t o, n = dedup_sig_termbytes(s->nterms) +
		     dedup_sig_hibytes(s->nterms);

	for (o = 0; o < n; o += 64)
		PREFETCH(t + o);
}

/*
 * The queued pairs, by their first document: a radix sort of the words
 * (x in the high half) on the bits of x. Returns the sorted array.
 */
static uint64_t *queue_sorted(const struct lsh *l, struct lshthread *th)
{
	uint64_t *v = th->q, *w = th->qtmp, *x;
	unsigned shift;
	size_t i;

	for (shift = 32; shift < 64 && (l->n - 1) >> (shift - 32);
	     shift += RADIX_BITS) {
		size_t cnt[1u << RADIX_BITS] = { 0 }, sum = 0, c;
		const uint64_t mask = (1u << RADIX_BITS) - 1;

		for (i = 0; i < th->nq; i++)
			cnt[v[i] >> shift & mask]++;
		for (i = 0; i <= mask; i++) {
			c = cnt[i];
			cnt[i] = sum;
			sum += c;
		}
		for (i = 0; i < th->nq; i++)
			w[cnt[v[i] >> shift & mask]++] = v[i];
		x = v;
		v = w;
		w = x;
	}
	return v;
}

/*
 * Pairs ahead whose terms are asked for while one is compared, and
 * further ahead, whose signatures (where the terms are).
 */
#define TERMS_AHEAD 4
#define SIGS_AHEAD 16

/*
 * Compare the terms of the queued pairs of thread u's queue (on thread
 * th), each document's table filled once for all its pairs in the queue.
 */
static int queue_flush(struct lsh *l, struct lshthread *th,
		       struct lshthread *u)
{
	const uint64_t *v = queue_sorted(l, u);
	size_t k, n = u->nq;

	u->nq = 0;
	for (k = 0; k < n && k < TERMS_AHEAD; k++)
		terms_prefetch(&l->sigs[(uint32_t)v[k]]);
	for (k = 0; k < n; k++) {
		uint32_t x = (uint32_t)(v[k] >> 32), y = (uint32_t)v[k];
		double s;

		if (k + SIGS_AHEAD < n)
			PREFETCH(&l->sigs[(uint32_t)v[k + SIGS_AHEAD]]);
		if (k + TERMS_AHEAD < n) {
			uint64_t f = v[k + TERMS_AHEAD];

			if (f >> 32 != x)
				terms_prefetch(&l->sigs[f >> 32]);
			terms_prefetch(&l->sigs[(uint32_t)f]);
		}
		if (th->tab.doc != x)
			termtab_set(&th->tab, &l->sigs[x], x);
		s = vector_sim_tab(&th->tab, &l->sigs[y]);
		if (pair_keep(l, th, x, y, s > 1 ? 1 : s))
			return -1;
	}
	return 0;
}

/* Thread t's queue at the end of a walk (on whichever thread takes it). */
static void queue_finish(void *arg, unsigned t, size_t u)
{
	struct lsh *l = arg;

	if (queue_flush(l, &l->th[t], &l->th[u]))
		atomic_store(&l->nomem, 1);
}

/*
 * Verify the candidate x < y. At the event level a pair whose similarity
 * needs the terms is queued: compared at once, a document's table was
 * filled for its few pairs of one bucket, each time it came first in one,
 * and each candidate's terms waited for from memory.
 */
static int verify_pair(struct lsh *l, struct lshthread *th, uint32_t x,
		       uint32_t y)
{
	const struct dedup_cluster_params *p = l->p;
	const struct dedup_sig *a = &l->sigs[x], *c = &l->sigs[y];
	double s;

	if (p->level == DEDUP_LEVEL_COPY) {
		s = similarity(p, a, c, NULL);
	} else if (!similarity_fixed(p, a, c, &s)) {
		th->q[th->nq++] = (uint64_t)x << 32 | y;
		return th->nq == th->qcap ? queue_flush(l, th, th) : 0;
	}
	return pair_keep(l, th, x, y, s);
}

/* A pair of band b's buckets, x < y: verified when b makes it a candidate. */
static int visit_pair(struct lsh *l, struct lshthread *th, uint32_t b,
		      uint32_t x, uint32_t y, uint32_t ax, uint32_t ay)
{
	if (!pair_compared(l, th, b, x, y, ax, ay))
		return 0;
	return verify_pair(l, th, x, y);
}

/*
 * The second round, for components of up to COMP_DIRECT documents,
 * without the bands: each pair of a component is a candidate when it
 * shares need bands where it is paired (band_pairs_them()), as the band
 * walk would find, and then verified as there. The second round walked
 * every band again over most documents (on news, components are a few
 * reports of one event; none was larger than 64 in the corpora here) to
 * meet pairs a component holds a few of; here they are all its pairs.
 */
#define COMP_DIRECT 64

static void comp_walk(void *arg, unsigned t, size_t c)
{
	struct lsh *l = arg;
	struct lshthread *th = &l->th[t];
	const uint32_t *doc = l->cdoc + l->cstart[c];
	uint32_t m = l->cstart[c + 1] - l->cstart[c], i, j, k;
	uint64_t *key = th->ckeys;

	if (atomic_load(&l->nomem))
		return;
	for (i = 0; i < m; i++)
		for (k = 0; k < l->bands; k++)
			key[(size_t)i * l->bands + k] = key_at(l, doc[i], k);
	for (i = 0; i < m; i++) {
		const uint64_t *kx = key + (size_t)i * l->bands;

		for (j = i + 1; j < m; j++) {
			const uint64_t *ky = key + (size_t)j * l->bands;
			uint32_t got = 0;

			for (k = 0; k < l->bands && got < l->need; k++)
				got += kx[k] == ky[k] &&
				       band_pairs_them(l, k, kx[k], doc[i],
						       doc[j]);
			if (got < l->need || l->root[doc[i]] == l->root[doc[j]])
				continue;
			if (verify_pair(l, th, doc[i], doc[j])) {
				atomic_store(&l->nomem, 1);
				return;
			}
		}
	}
}

/* Whether record i of a band's n shares its key with a neighbour. */
static int in_pair(const struct recs *v, size_t n, size_t i)
{
	return (i + 1 < n && rec_key(v, i + 1) == rec_key(v, i)) ||
	       (i && rec_key(v, i - 1) == rec_key(v, i));
}

/*
 * The pairs of band b's buckets, verified or kept as the round wants, from
 * its n records sorted.
 */
static void band_pairs(struct lsh *l, struct lshthread *th, uint32_t b,
		       struct recs v, size_t n)
{
	const struct bandcrowd *bc = &l->crowd[b];
	size_t i, j, x, y, ahead = 0, far = 0;
	int rows;

	for (i = 0; i < n; i = j) {
		const struct crowd *c = NULL;

		for (j = i + 1; j < n && rec_key(&v, j) == rec_key(&v, i); j++)
			;
		if (j - i < 2)
			continue;
		/*
		 * The keys of the buckets' documents some way ahead, and
		 * further ahead the signatures that say where they are, and
		 * their clusters (pair_compared(): a miss a pair at 200,000
		 * documents).
		 */
		for (far = far > i ? far : i;
		     far < n && far < j + 2 * KEYS_AHEAD; far++)
			if (in_pair(&v, n, far))
				doc_prefetch(l, rec_doc(&v, far));
		for (ahead = ahead > i ? ahead : i;
		     ahead < n && ahead < j + KEYS_AHEAD; ahead++)
			if (in_pair(&v, n, ahead))
				keys_prefetch(l, rec_doc(&v, ahead), b);
		if (bc->nc)
			c = crowd_find(bc, rec_key(&v, i));
		if (c) {
			/* neighbours among all the bucket's documents */
			uint32_t d0 = crowd_doc(bc, c, 0, 0), d1;

			for (x = 1; x < c->n; x++, d0 = d1) {
				d1 = crowd_doc(bc, c, (uint32_t)x, d0);
				if (visit_pair(l, th, b, d0, d1, NO_ROW,
					       NO_ROW))
					goto nomem;
			}
			continue;
		}
		rows = l->bytes && b && th->rows && j - i <= th->nrows;
		if (rows)
			memset(th->ready, 0, (j - i) * sizeof(*th->ready));
		for (x = i; x < j; x++) {
			uint32_t ax = rows ? (uint32_t)(x - i) : NO_ROW;

			for (y = x + 1; y < j; y++)
				if (visit_pair(l, th, b, rec_doc(&v, x),
					       rec_doc(&v, y), ax,
					       rows ? (uint32_t)(y - i) : NO_ROW))
					goto nomem;
		}
	}
	return;
nomem:
	atomic_store(&l->nomem, 1);
}

/* Band b walked alone: the second round, every crowd made. */
static void band_walk(void *arg, unsigned t, size_t b)
{
	struct lsh *l = arg;
	size_t n;
	struct recs v;

	if (atomic_load(&l->nomem))
		return;
	v = band_sorted(l, &l->th[t], (uint32_t)b, &n);
	band_pairs(l, &l->th[t], (uint32_t)b, v, n);
}

/*
 * Band b in the first round: its crowds made from the records sorted for
 * its walk, which then waits for the crowds of the bands before it (a
 * pair's earlier bands are asked whether they paired it). The bands are
 * handed out in order, and a band's crowds never wait: each band's come
 * from a thread that took it earlier and is making them, or has.
 */
static void band_first(void *arg, unsigned t, size_t b)
{
	struct lsh *l = arg;
	size_t n = 0, k;
	struct recs v = { NULL, NULL };

	if (!atomic_load(&l->nomem)) {
		v = band_sorted(l, &l->th[t], (uint32_t)b, &n);
		band_crowd(l, b, v, n);
	}
	atomic_store_explicit(&l->crowded[b], 1, memory_order_release);
	for (k = 0; k < b; k++)
		while (!atomic_load_explicit(&l->crowded[k],
					     memory_order_acquire))
			sched_yield();
	if (!atomic_load(&l->nomem))
		band_pairs(l, &l->th[t], (uint32_t)b, v, n);
}

/*
 * Gather the threads' links into one list sorted by pair (the order does
 * not depend on which thread took which band).
 */
static int links_collect(struct lsh *l, unsigned nt, struct links *out)
{
	size_t total = 0, off;
	unsigned t, big = 0;
	struct link *v;

	for (t = 0; t < nt; t++) {
		total += l->th[t].out.n;
		if (l->th[t].out.n > l->th[big].out.n)
			big = t;
	}
	/*
	 * The longest list grows into the whole (its pages stay where they
	 * are), the others are copied after it and given back one by one.
	 */
	v = realloc(l->th[big].out.v, (total ? total : 1) * sizeof(*v));
	if (!v)
		return -1;
	off = l->th[big].out.n;
	memset(&l->th[big].out, 0, sizeof(l->th[big].out));
	for (t = 0; t < nt; t++) {
		struct links *ls = &l->th[t].out;

		if (ls->n)
			memcpy(v + off, ls->v, ls->n * sizeof(*ls->v));
		off += ls->n;
		free(ls->v);
		memset(ls, 0, sizeof(*ls));
	}
	out->v = v;
	out->n = out->alloc = total;
	/* in place: qsort's buffer of all of them made the peak at 1M */
	sort_links(out->v, out->n);
	return 0;
}

static void lsh_free(struct lsh *l, unsigned nt)
{
	uint32_t b;
	unsigned t;

	for (t = 0; l->th && t < nt; t++) {
		free(l->th[t].a);
		free(l->th[t].b);
		free(l->th[t].hv);
		free(l->th[t].idx);
		free(l->th[t].rows);
		free(l->th[t].ready);
		free(l->th[t].ckeys);
		free(l->th[t].q);
		free(l->th[t].qtmp);
		free(l->th[t].out.v);
	}
	free(l->th);
	for (b = 0; l->crowd && b < l->bands; b++) {
		free(l->crowd[b].c);
		free(l->crowd[b].gap);
		free(l->crowd[b].anchor);
		free(l->crowd[b].wide);
		free(l->crowd[b].bits);
	}
	free(l->crowd);
	free(l->crowded);
	free(l->keys);
	free(l->term);
	free(l->has);
	free(l->in);
	memset(l, 0, sizeof(*l));
}

/*
 * A thread's band records and pair queue (8 or 32 and, at the event
 * level, up to 32 bytes a document): made for each walk over the bands and given
 * back before its links are gathered, which then have the room.
 */
/*
 * For the second round: the documents (with features) of components of 2
 * to l->direct of them, by component into *cdoc (component c's from
 * (*cstart)[c] to (*cstart)[c + 1], ascending; the largest has *most),
 * and in l->in those of the larger components, *nbig of them, for the band
 * walk. Returns the number of small components, SIZE_MAX when out of
 * memory (*cdoc and *cstart are the caller's to free either way).
 */
#define COMP_SMALL (1u << 31)

static size_t comps_list(struct lsh *l, const uint32_t *comp, uint32_t **cdoc,
			 uint32_t **cstart, size_t *nbig, uint32_t *most)
{
	size_t n = l->n, d, c, nc = 0, nd = 0;
	const uint32_t direct = l->direct, cap = direct > 1 ? direct : 1;
	uint32_t *sz = calloc(n ? n : 1, sizeof(*sz)), *start;

	if (!sz)
		return SIZE_MAX;
	/* sizes up to cap + 1: the components are the large */
	for (d = 0; d < n; d++)
		sz[comp[d]] += l->has[d] && sz[comp[d]] <= cap;
	*nbig = 0;
	*most = 0;
	for (d = 0; d < n; d++) {
		l->in[d] = l->has[d] && sz[comp[d]] > direct &&
			   sz[comp[d]] >= 2;
		*nbig += l->in[d];
		if (comp[d] == d && sz[d] >= 2 && sz[d] <= direct) {
			nc++;
			nd += sz[d];
			*most = sz[d] > *most ? sz[d] : *most;
		}
	}
	*cdoc = malloc((nd ? nd : 1) * sizeof(**cdoc));
	*cstart = start = malloc((nc + 1) * sizeof(*start));
	if (!*cdoc || !start) {
		free(sz);
		return SIZE_MAX;
	}
	/* each small component's start, its number in its root's size */
	for (d = 0, c = 0, nd = 0; d < n; d++) {
		if (comp[d] != d || sz[d] < 2 || sz[d] > direct)
			continue;
		start[c] = (uint32_t)nd;
		nd += sz[d];
		sz[d] = COMP_SMALL | (uint32_t)c++;
	}
	start[nc] = (uint32_t)nd;
	/* filled through the starts, which then end each component */
	for (d = 0; d < n; d++)
		if (l->has[d] && sz[comp[d]] & COMP_SMALL)
			(*cdoc)[start[sz[comp[d]] & ~COMP_SMALL]++] =
				(uint32_t)d;
	for (c = nc; c > 0; c--)
		start[c] = start[c - 1];
	start[0] = 0;
	free(sz);
	return nc;
}

enum { WALK_FREE, WALK_ALL, WALK_QUEUES };

static int walk_scratch(struct lsh *l, unsigned nt, int make)
{
	size_t m = l->n ? l->n : 1;
	size_t rec = l->kw == 1 ? sizeof(uint64_t) : sizeof(struct rec);
	unsigned t;

	for (t = 0; t < nt; t++) {
		struct lshthread *th = &l->th[t];

		free(th->a);
		free(th->b);
		free(th->q);
		free(th->qtmp);
		th->a = th->b = th->q = th->qtmp = NULL;
		if (make == WALK_FREE)
			continue;
		if (make == WALK_ALL) {
			th->a = malloc(m * rec);
			/* packed records are sorted in place */
			th->b = l->kw == 1 ? NULL : malloc(m * rec);
			if (!th->a || (l->kw != 1 && !th->b))
				return -1;
		}
		if (l->p->level != DEDUP_LEVEL_EVENT)
			continue;
		th->qcap = m < QUEUE_MAX / 32 ? 32 * m : QUEUE_MAX;
		th->q = malloc(th->qcap * sizeof(*th->q));
		th->qtmp = malloc(th->qcap * sizeof(*th->qtmp));
		if (!th->q || !th->qtmp)
			return -1;
	}
	return 0;
}

/*
 * The pairs the linkage needs, into *kept sorted by pair; `root` gives
 * each document's settled cluster (itself when not settled).
 */
static dedup_status candidates(const struct dedup_cluster_params *p,
			       const struct dedup_sig *sigs, size_t n,
			       unsigned nt, uint32_t bands, uint32_t rows,
			       const uint32_t *root, size_t npinned,
			       uint32_t direct, struct links *kept,
			       struct dedup_cluster_stats *cs)
{
	struct lsh l = { .p = p, .sigs = sigs, .n = n, .bands = bands,
			 .rows = rows, .kw = rows > 1 ? 2 : 1, .root = root,
			 .npinned = npinned, .direct = direct };
	struct links strong = { 0 };
	uint32_t *comp = NULL, *cdoc = NULL, *cstart = NULL;
	unsigned char *cnt = NULL;
	size_t d, i, m = n ? n : 1, maxterms = 1, unnamed = 0, ncomp, nbig;
	uint32_t most;
	dedup_status st = DEDUP_ENOMEM;
	unsigned t;

	atomic_init(&l.nomem, 0);
	/* 0 as 1; more bands than there are: every band */
	l.need = p->min_bands ? p->min_bands : 1;
	l.need = l.need < bands ? l.need : bands;
	for (d = 0; d < n; d++) {
		if (sigs[d].nterms > maxterms)
			maxterms = sigs[d].nterms;
		unnamed += sigs[d].nterms && sigs[d].nband < bands;
	}
	l.bytes = p->level == DEDUP_LEVEL_EVENT && rows == 1 &&
		  maxterms <= 256;
	/* the signatures name their winners: no keys of the clustering's */
	if (l.bytes && unnamed)
		l.term = malloc(m * bands);
	else if (!l.bytes)
		l.keys = malloc(m * bands * l.kw * sizeof(*l.keys));
	l.has = malloc(m);
	l.in = malloc(m);
	l.crowd = calloc(bands, sizeof(*l.crowd));
	l.crowded = calloc(bands, sizeof(*l.crowded));
	/* a multiple of 64 bytes, as aligned_alloc wants: the bits' alignment */
	l.th = aligned_alloc(64, nt * sizeof(*l.th));
	if ((l.bytes ? unnamed && !l.term : !l.keys) || !l.has || !l.in ||
	    !l.crowd || !l.crowded || !l.th)
		goto out;
	memset(l.th, 0, nt * sizeof(*l.th));
	for (t = 0; t < nt; t++) {
		struct lshthread *th = &l.th[t];

		termtab_init(&th->tab);
		th->hv = malloc(bands * rows * sizeof(*th->hv));
		th->idx = malloc(maxterms * sizeof(*th->idx));
		if (!th->hv || !th->idx)
			goto out;
		/* buckets of max_bucket or fewer documents pair them all */
		th->nrows = p->max_bucket < ROWS_MAX ? p->max_bucket : ROWS_MAX;
		if (!l.bytes)
			continue;
		th->rows = malloc((size_t)th->nrows * bands *
				  sizeof(*th->rows));
		th->ready = malloc(th->nrows * sizeof(*th->ready));
		if (!th->rows || !th->ready)
			goto out;
	}
	if (walk_scratch(&l, nt, WALK_ALL))
		goto out;
	par_for(nt, n, 64, lsh_doc, &l);
	memcpy(l.in, l.has, n);
	if (atomic_load(&l.nomem))
		goto out;

	/* first round: every candidate, the pairs at the threshold kept */
	l.round = 1;
	par_for(nt, bands, 1, band_first, &l);
	if (p->level == DEDUP_LEVEL_EVENT)
		par_for(nt, nt, 1, queue_finish, &l);
	if (atomic_load(&l.nomem))
		goto out;
	for (t = 0; t < nt; t++) {
		cs->candidates += l.th[t].candidates;
		cs->verified += l.th[t].verified;
	}
	walk_scratch(&l, nt, WALK_FREE);
	if (links_collect(&l, nt, &strong))
		goto out;

	/* components of those pairs, settled clusters taken as joined */
	comp = malloc(m * sizeof(*comp));
	cnt = calloc(m, 1);
	if (!comp || !cnt)
		goto out;
	memcpy(comp, root, n * sizeof(*comp));
	for (i = 0; i < strong.n; i++) {
		uint32_t a = find_root(comp, (uint32_t)(strong.v[i].pair >> 32));
		uint32_t b = find_root(comp, (uint32_t)strong.v[i].pair);

		if (a != b)
			comp[a > b ? a : b] = a < b ? a : b;
	}
	free(strong.v);
	strong.v = NULL;
	for (d = 0; d < n; d++) {
		comp[d] = find_root(comp, (uint32_t)d);
		cnt[comp[d]] += cnt[comp[d]] < 2;
	}
	free(cnt);
	cnt = NULL;
	/* the small components listed, the large ones' documents walked */
	ncomp = comps_list(&l, comp, &cdoc, &cstart, &nbig, &most);
	if (ncomp == SIZE_MAX)
		goto out;
	for (t = 0; t < nt && ncomp; t++) {
		l.th[t].ckeys = malloc((size_t)most * bands *
				       sizeof(*l.th[t].ckeys));
		if (!l.th[t].ckeys)
			goto out;
	}

	/* second round: the pairs inside components, kept as linked */
	l.round = 2;
	l.comp = comp;
	l.cdoc = cdoc;
	l.cstart = cstart;
	if (walk_scratch(&l, nt, nbig ? WALK_ALL : WALK_QUEUES))
		goto out;
	if (ncomp)
		par_for(nt, ncomp, 16, comp_walk, &l);
	if (nbig)
		par_for(nt, bands, 1, band_walk, &l);
	if (p->level == DEDUP_LEVEL_EVENT)
		par_for(nt, nt, 1, queue_finish, &l);
	if (atomic_load(&l.nomem))
		goto out;
	walk_scratch(&l, nt, WALK_FREE);
	if (links_collect(&l, nt, kept))
		goto out;
	cs->linked = kept->n;
	st = DEDUP_OK;
out:
	lsh_free(&l, nt);
	free(strong.v);
	free(comp);
	free(cdoc);
	free(cstart);
	free(cnt);
	return st;
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

struct nbrs {
	struct nbr *v;
	uint32_t n, alloc;
};

struct heapent {
	double score;
	uint32_t a, b;          /* a < b, cluster roots */
	uint32_t sa, sb;        /* their stamps when pushed */
};

/* A pair of the first lists: its stamps were both 0. */
struct firstpair {
	double score;
	uint32_t a, b;
};

struct hac {
	const struct dedup_cluster_params *p;
	uint32_t *parent, *size, *stamp;
	unsigned char *pinned;
	struct nbrs *nb;
	struct nbr *arena;      /* the first lists, one block */
	size_t narena;
	struct heapent *heap;   /* the pairs pushed by merges */
	size_t nheap, heapalloc;
	/*
	 * The first pairs at the threshold, a heap of their own: their
	 * stamps were 0, 16 bytes each instead of 24 (most pairs are
	 * these, and the heap was most of the linkage's memory).
	 */
	struct firstpair *first;
	size_t nfirst, firstalloc;
};

/* The heaps' order: higher scores first, then lower pairs. */
static int pair_less(double xs, uint32_t xa, uint32_t xb, double ys,
		     uint32_t ya, uint32_t yb)
{
	if (xs != ys)
		return xs < ys;
	if (xa != ya)
		return xa > ya;
	return xb > yb;
}

static int heap_less(const struct heapent *x, const struct heapent *y)
{
	return pair_less(x->score, x->a, x->b, y->score, y->a, y->b);
}

static int first_less(const struct firstpair *x, const struct firstpair *y)
{
	return pair_less(x->score, x->a, x->b, y->score, y->a, y->b);
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

/* Move x down from slot i of the first pairs' heap to its place. */
static void first_down(struct hac *h, size_t i, struct firstpair x)
{
	size_t c;

	while ((c = 2 * i + 1) < h->nfirst) {
		if (c + 1 < h->nfirst &&
		    first_less(&h->first[c], &h->first[c + 1]))
			c++;
		if (!first_less(&x, &h->first[c]))
			break;
		h->first[i] = h->first[c];
		i = c;
	}
	h->first[i] = x;
}

/* The first pairs into a heap of their own, in place. */
static void first_heapify(struct hac *h)
{
	size_t i;

	for (i = h->nfirst / 2; i-- > 0;)
		first_down(h, i, h->first[i]);
}

static int first_add(struct hac *h, double score, uint32_t a, uint32_t b)
{
	if (h->nfirst == h->firstalloc) {
		size_t na = h->firstalloc ? h->firstalloc * 2 : 1024;
		struct firstpair *v = realloc(h->first, na * sizeof(*v));

		if (!v)
			return -1;
		h->first = v;
		h->firstalloc = na;
	}
	h->first[h->nfirst].score = score;
	h->first[h->nfirst].a = a;
	h->first[h->nfirst].b = b;
	h->nfirst++;
	return 0;
}

#define FIRST_GIVE_BACK ((size_t)1 << 16)

/*
 * The next pair, from the merges' heap or the first pairs' one,
 * whichever one heap of both would give; h->nheap + h->nfirst must not
 * be 0.
 */
static struct heapent pair_pop(struct hac *h)
{
	struct heapent e;
	const struct firstpair *f;

	if (!h->nfirst)
		return heap_pop(h);
	f = &h->first[0];
	e.score = f->score;
	e.a = f->a;
	e.b = f->b;
	e.sa = e.sb = 0;
	if (h->nheap && heap_less(&e, &h->heap[0]))
		return heap_pop(h);
	if (--h->nfirst)
		first_down(h, 0, h->first[h->nfirst]);
	if (h->nfirst % FIRST_GIVE_BACK == 0 &&
	    h->firstalloc - h->nfirst >= FIRST_GIVE_BACK) {
		/* shrinking: its pages go back as the merges push theirs */
		size_t na = h->nfirst ? h->nfirst : 1;
		struct firstpair *v = realloc(h->first, na * sizeof(*v));

		if (v) {
			h->first = v;
			h->firstalloc = na;
		}
	}
	return e;
}

/* Whether the list lies in the arena (the first lists' block). */
static int nbr_in_arena(const struct hac *h, const struct nbrs *l)
{
	uintptr_t v = (uintptr_t)l->v, a = (uintptr_t)h->arena;

	return l->v && v >= a && v < a + h->narena * sizeof(*h->arena);
}

/* Lists in the arena go with it; lists grown by merges are their own. */
static void nbr_free(struct hac *h, struct nbrs *l)
{
	if (!nbr_in_arena(h, l))
		free(l->v);
	l->v = NULL;
}

/*
 * The first neighbour lists, from the kept pairs (root ids) in pair order,
 * each list cut from one block at its exact size. The pairs are taken
 * from the last, each list filled from its end, so that the pairs' pages
 * are given back as the lists grow (the two at once were the clustering's
 * peak at a million documents); the lists come out as a walk from the
 * first pair would make them.
 */
#define NBR_GIVE_BACK ((size_t)1 << 16)

static int nbr_build(struct hac *h, size_t n, struct links *kept)
{
	size_t i, off = 0;

	h->narena = 2 * kept->n;
	h->arena = malloc((h->narena ? h->narena : 1) * sizeof(*h->arena));
	if (!h->arena)
		return -1;
	for (i = 0; i < kept->n; i++) {
		h->nb[h->parent[(uint32_t)(kept->v[i].pair >> 32)]].alloc++;
		h->nb[h->parent[(uint32_t)kept->v[i].pair]].alloc++;
	}
	for (i = 0; i < n; i++) {
		h->nb[i].v = h->nb[i].alloc ? h->arena + off : NULL;
		off += h->nb[i].alloc;
	}
	for (i = kept->n; i-- > 0;) {
		const struct link *k = &kept->v[i];
		struct nbrs *la = &h->nb[h->parent[(uint32_t)(k->pair >> 32)]];
		struct nbrs *lb = &h->nb[h->parent[(uint32_t)k->pair]];
		struct nbr *x = &la->v[la->alloc - ++la->n];
		struct nbr *y = &lb->v[lb->alloc - ++lb->n];

		x->id = h->parent[(uint32_t)k->pair];
		x->sum = k->s;
		y->id = h->parent[(uint32_t)(k->pair >> 32)];
		y->sum = k->s;
		if (i && i % NBR_GIVE_BACK == 0) {
			/* shrinking in place: cannot fail where it matters */
			struct link *v = realloc(kept->v, i * sizeof(*v));

			if (v)
				kept->v = v;
			kept->alloc = i;
		}
	}
	free(kept->v);
	memset(kept, 0, sizeof(*kept));
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

/* The length of the merge of a's and b's lists, without a and b. */
static uint32_t nbr_merged_n(const struct nbrs *la, const struct nbrs *lb,
			     uint32_t a, uint32_t b)
{
	uint32_t i = 0, j = 0, n = 0, id;

	while (i < la->n || j < lb->n) {
		if (j >= lb->n || (i < la->n && la->v[i].id < lb->v[j].id)) {
			id = la->v[i++].id;
		} else if (i >= la->n || lb->v[j].id < la->v[i].id) {
			id = lb->v[j++].id;
		} else {
			id = la->v[i++].id;
			j++;
		}
		n += id != a && id != b;
	}
	return n;
}

/*
 * Merge b's list into a's by their ends into buf, where one of the two
 * may already lie at the front: the entries come out from buf[room - 1]
 * down, never over one not yet read when room is the merged length plus
 * one (that list holds at most one entry that is dropped, for a or b).
 * The merged list is then moved to the front; returns its length.
 */
static uint32_t nbr_merge_back(struct nbr *buf, size_t room,
			       const struct nbrs *la, const struct nbrs *lb,
			       uint32_t a, uint32_t b)
{
	size_t i = la->n, j = lb->n, w = room;

	while (i || j) {
		struct nbr x;

		if (!i || (j && lb->v[j - 1].id > la->v[i - 1].id)) {
			x = lb->v[--j];
		} else if (!j || la->v[i - 1].id > lb->v[j - 1].id) {
			x = la->v[--i];
		} else {
			x = la->v[--i];
			x.sum += lb->v[--j].sum;
		}
		if (x.id == a || x.id == b)
			continue;
		buf[--w] = x;
	}
	memmove(buf, buf + w, (room - w) * sizeof(*buf));
	return (uint32_t)(room - w);
}

/*
 * Merge cluster b into a (both roots); returns -1 when out of memory.
 * The merged list goes into the block of one of the two lists, arena or
 * not, when it has the room (a cluster absorbing a near copy gains few
 * neighbours), else into a's or b's own block grown, else a new one:
 * the lists of the merges no longer come on top of the first ones.
 */
static int hac_merge(struct hac *h, uint32_t a, uint32_t b)
{
	struct nbrs *la = &h->nb[a], *lb = &h->nb[b], m = { 0 }, xa, xb;
	struct nbrs *from = NULL;       /* the list whose block m takes */
	uint32_t k, mn = nbr_merged_n(la, lb, a, b);
	size_t room = (size_t)mn + 1;

	if (la->alloc >= room)
		from = la;
	else if (lb->alloc >= room)
		from = lb;
	else if (la->v && !nbr_in_arena(h, la))
		from = la;
	else if (lb->v && !nbr_in_arena(h, lb))
		from = lb;
	if (from)
		m = *from;
	if (room > m.alloc) {
		/* sizes of powers of two, as the heap reuses them well */
		size_t na = 4;
		struct nbr *v;

		while (na < room)
			na *= 2;
		v = realloc(m.v, na * sizeof(*v));
		if (!v)
			return -1;
		m.v = v;
		m.alloc = (uint32_t)na;
	}
	/* the lists as they are read: one of them may have moved to m.v */
	xa = *la;
	xb = *lb;
	if (from == la)
		xa.v = m.v;
	else if (from == lb)
		xb.v = m.v;
	m.n = nbr_merge_back(m.v, room, &xa, &xb, a, b);
	if (from)
		from->v = NULL; /* its block is m's now */
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

/* The neighbour lists, the heap and the stamps: only the merges read them. */
static void hac_free_merges(struct hac *h, size_t n)
{
	size_t i;

	if (h->nb)
		for (i = 0; i < n; i++)
			nbr_free(h, &h->nb[i]);
	free(h->nb);
	free(h->arena);
	free(h->heap);
	free(h->first);
	free(h->stamp);
	h->nb = NULL;
	h->arena = NULL;
	h->heap = NULL;
	h->first = NULL;
	h->nfirst = h->firstalloc = 0;
	h->stamp = NULL;
}

static int hac_run(struct hac *h)
{
	first_heapify(h);
	while (h->nheap || h->nfirst) {
		struct heapent e = pair_pop(h);

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

/*
 * The linkage of the kept pairs (sorted by pair, ids of h->parent's
 * roots): h->parent holds each document's root, the first npinned
 * documents settled clusters. The arrays are h's, freed by the caller.
 */
static int linkage(struct hac *h, size_t n, size_t npinned,
		   struct links *kept)
{
	size_t i, m = n ? n : 1;

	h->size = calloc(m, sizeof(*h->size));
	h->stamp = calloc(m, sizeof(*h->stamp));
	h->pinned = calloc(m, 1);
	h->nb = calloc(m, sizeof(*h->nb));
	if (!h->size || !h->stamp || !h->pinned || !h->nb)
		return -1;
	/* a later copy weighs nothing: its first is the report */
	for (i = 0; i < n; i++)
		h->size[h->parent[i]] += !is_copy(h->parent, npinned, i);
	for (i = 0; i < npinned; i++)
		h->pinned[h->parent[i]] = 1;
	if (nbr_build(h, n, kept))
		return -1;
	/* Sum duplicate neighbours (pairs between settled clusters). */
	for (i = 0; i < n; i++) {
		struct nbrs *l = &h->nb[i];
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
			double sc = l->v[k].sum /
				    ((double)h->size[i] * h->size[x]);

			if (x > i && sc >= h->p->threshold &&
			    first_add(h, sc, (uint32_t)i, x))
				return -1;
		}
	}
	if (hac_run(h))
		return -1;
	return 0;
}

int dedup_linkage(const struct dedup_cluster_params *p, size_t n,
		  const uint64_t *pair, const double *s, size_t npairs,
		  uint32_t *root)
{
	struct hac h = { .p = p };
	struct links kept = { 0 };
	size_t i;
	int r = -1;

	h.parent = malloc((n ? n : 1) * sizeof(*h.parent));
	kept.v = malloc((npairs ? npairs : 1) * sizeof(*kept.v));
	if (!h.parent || !kept.v)
		goto out;
	for (i = 0; i < n; i++)
		h.parent[i] = (uint32_t)i;
	for (i = 0; i < npairs; i++) {
		kept.v[i].pair = pair[i];
		kept.v[i].s = s[i];
	}
	kept.n = kept.alloc = npairs;
	if (linkage(&h, n, 0, &kept))
		goto out;
	for (i = 0; i < n; i++)
		root[i] = find_root(h.parent, (uint32_t)i);
	r = 0;
out:
	hac_free_merges(&h, n);
	free(h.parent);
	free(h.size);
	free(h.pinned);
	free(kept.v);
	return r;
}

/* Earlier date first, then more content, then input order. */
/*
 * Exact copies: documents of one folded token stream (the body hash and
 * word count by which similarity_fixed() scores 1) take part in the
 * clustering as one, the first of them. A story reprinted by a hundred
 * outlets filled every band's bucket past max_bucket, where only
 * neighbours are paired, and the linkage, which counts pairs never
 * compared as 0, cut it into clusters of four. Each later copy takes its
 * first's root in parent (resolved roots; an indexed document keeps its
 * own), and the first's cluster at the end. Returns -1 when out of
 * memory.
 */
struct bodykey {
	uint64_t body;
	uint32_t nwords, doc;
};

static int cmp_bodykey(const void *a, const void *b)
{
	const struct bodykey *x = a, *y = b;

	if (x->body != y->body)
		return x->body < y->body ? -1 : 1;
	if (x->nwords != y->nwords)
		return x->nwords < y->nwords ? -1 : 1;
	return (x->doc > y->doc) - (x->doc < y->doc);
}

static int copies_settle(const struct dedup_sig *sigs, size_t n,
			 size_t npinned, uint32_t *parent)
{
	struct bodykey *v;
	size_t i, j, m = 0;

	for (i = 0; i < n; i++)
		m += sigs[i].nwords != 0;
	v = malloc((m ? m : 1) * sizeof(*v));
	if (!v)
		return -1;
	for (i = 0, m = 0; i < n; i++) {
		if (!sigs[i].nwords)
			continue;
		v[m].body = sigs[i].body;
		v[m].nwords = sigs[i].nwords;
		v[m++].doc = (uint32_t)i;
	}
	qsort(v, m, sizeof(*v), cmp_bodykey);
	for (i = 0; i < m; i = j)
		for (j = i + 1; j < m && v[j].body == v[i].body &&
				v[j].nwords == v[i].nwords; j++)
			if (v[j].doc >= npinned)
				parent[v[j].doc] = parent[v[i].doc];
	free(v);
	return 0;
}

/*
 * Near copies in numbers: documents whose verified similarity reaches
 * NEAR_COPY of the way from the threshold to 1 (0.7 at the event level,
 * 0.9 at the copy level: reprints with a changed line, a trimmed
 * paragraph, a number of their own), joined by these pairs alone (single
 * linkage, safe this close), in a group of more than half max_bucket, are
 * one report to the linkage, as exact copies are. Past max_bucket of
 * them a band pairs only neighbours, and the linkage, counting the pairs
 * never compared as 0, cut a hundred reprints into clusters of four.
 * Smaller groups are left to the linkage, whose bands compare all their
 * pairs (collapsed too, they cost precision on the synthetic corpora:
 * bench/RESULTS.md). A pair between a group and another report is the
 * mean of the members' pairs with it, before the linkage sums a settled
 * cluster's. A group may hold settled documents (an index's) of one
 * settled cluster at most: this run's near copies then join it, as its
 * exact copies do, and settled clusters stay as they were judged. kept
 * (sorted by pair) is rewritten in place; -1 when out of memory.
 */
#define NEAR_COPY (2.0 / 3)

static int near_settle(const struct dedup_cluster_params *p, uint32_t *parent,
		       size_t n, size_t npinned, struct links *kept)
{
	const double near = p->threshold + NEAR_COPY * (1 - p->threshold);
	uint32_t *grp = malloc((n ? n : 1) * sizeof(*grp)), *size;
	unsigned char *pin = calloc(n ? n : 1, 1);
	size_t i, j, w;
	int grouped = 0;

	if (!grp || !pin) {
		free(grp);
		free(pin);
		return -1;
	}
	for (i = 0; i < npinned; i++)
		pin[parent[i]] = 1;
	memcpy(grp, parent, n * sizeof(*grp));
	for (i = 0; i < kept->n; i++) {
		uint32_t a, b;

		if (kept->v[i].s < near)
			continue;
		a = find_root(grp, (uint32_t)(kept->v[i].pair >> 32));
		b = find_root(grp, (uint32_t)kept->v[i].pair);
		if (a == b || (pin[a] && pin[b]))
			continue;
		/* a settled cluster keeps its root: new copies join it */
		if (pin[b] || (!pin[a] && b < a))
			grp[a] = b;
		else
			grp[b] = a;
	}
	free(pin);
	/* the groups' sizes, up to max_bucket, in the documents' places */
	size = calloc(n ? n : 1, sizeof(*size));
	if (!size) {
		free(grp);
		return -1;
	}
	for (i = 0; i < n; i++) {
		grp[i] = find_root(grp, (uint32_t)i);
		size[grp[i]] += size[grp[i]] <= p->max_bucket;
	}
	for (i = npinned; i < n; i++) {
		if (grp[i] == i || 2 * size[grp[i]] <= p->max_bucket)
			continue;
		parent[i] = grp[i];
		grouped = 1;
	}
	free(size);
	free(grp);
	if (!grouped)
		return 0;
	/* each pair between reports: a settled document is its own */
	for (i = w = 0; i < kept->n; i++) {
		uint32_t x = (uint32_t)(kept->v[i].pair >> 32);
		uint32_t y = (uint32_t)kept->v[i].pair;

		x = x < npinned ? x : parent[x];
		y = y < npinned ? y : parent[y];
		if (parent[x] == parent[y])
			continue;
		kept->v[w].pair = x < y ? (uint64_t)x << 32 | y :
					  (uint64_t)y << 32 | x;
		kept->v[w++].s = kept->v[i].s;
	}
	kept->n = w;
	sort_links(kept->v, kept->n);
	for (i = w = 0; i < kept->n; i = j) {
		double sum = 0;

		for (j = i; j < kept->n && kept->v[j].pair == kept->v[i].pair;
		     j++)
			sum += kept->v[j].s;
		kept->v[w].pair = kept->v[i].pair;
		kept->v[w++].s = sum / (double)(j - i);
	}
	kept->n = w;
	return 0;
}

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

/* Each document's similarity to its representative, on the threads. */
struct scoring {
	const struct dedup_cluster_params *p;
	const struct dedup_df *df;
	const struct dedup_sig *sigs;
	struct dedup_assign *out;
};

static void score_doc(void *arg, unsigned t, size_t i)
{
	const struct scoring *sc = arg;
	uint32_t r = sc->out[i].rep;
	double s;

	(void)t;
	s = r == i ? 1 : dedup_similarity(sc->p, sc->df, &sc->sigs[i],
					  &sc->sigs[r]);
	sc->out[i].score = s < 0 ? 0 : s;
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
	return dedup_cluster_run_direct(p, sigs, n, npinned, pinned_rep, df,
					out, stats, COMP_DIRECT, err);
}

dedup_status dedup_cluster_run_direct(const struct dedup_cluster_params *p,
				      const struct dedup_sig *sigs, size_t n,
				      size_t npinned,
				      const uint32_t *pinned_rep,
				      const struct dedup_df *df,
				      struct dedup_assign *out,
				      struct dedup_cluster_stats *stats,
				      uint32_t direct, struct dedup_error *err)
{
	struct hac h = { .p = p };
	struct links kept = { 0 };
	struct dedup_cluster_stats cs = { 0 };
	uint32_t *rep = NULL, bands, rows;
	size_t i, m = n ? n : 1;
	unsigned nt;
	dedup_status st;

	nt = p->threads < 1 ? 1 : p->threads > MAX_THREADS ? MAX_THREADS :
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
	if (!h.parent)
		goto out;
	for (i = 0; i < n; i++)
		h.parent[i] = (uint32_t)i;
	/* Settled clusters are taken as they are: one node each. */
	for (i = 0; i < npinned; i++) {
		uint32_t a = pinned_rep[i] < npinned ? pinned_rep[i] :
						       (uint32_t)i;
		uint32_t ra = find_root(h.parent, a);
		uint32_t rb = find_root(h.parent, (uint32_t)i);

		if (ra != rb)
			h.parent[rb] = ra;
	}
	/* roots are fixed until the merges: the threads only read them */
	for (i = 0; i < n; i++)
		h.parent[i] = find_root(h.parent, (uint32_t)i);
	if (copies_settle(sigs, n, npinned, h.parent))
		goto out;
	st = candidates(p, sigs, n, nt, bands, rows, h.parent, npinned,
			direct, &kept, &cs);
	if (st)
		goto out;
	/*
	 * The linkage's arrays (29 bytes a document) are made once the
	 * candidates' are given back: the two never coexist at the peak.
	 */
	st = DEDUP_ENOMEM;
	if (near_settle(p, h.parent, n, npinned, &kept) ||
	    linkage(&h, n, npinned, &kept))
		goto out;
	/* what only the merges read, given back before the assignments */
	hac_free_merges(&h, n);
	rep = malloc(m * sizeof(*rep));
	if (!rep)
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
		stats->candidates = cs.candidates;
		stats->verified = cs.verified;
		stats->linked = cs.linked;
		stats->bands = bands;
		stats->rows = rows;
	}
	/* h.pinned marks now the representatives of two or more */
	memset(h.pinned, 0, m);
	for (i = 0; i < n; i++) {
		uint32_t root = find_root(h.parent, (uint32_t)i);

		out[i].rep = rep[root];
		if (stats && rep[root] != i && !h.pinned[rep[root]]) {
			h.pinned[rep[root]] = 1;
			stats->clusters++;
		}
	}
	{
		struct scoring sc = { p, df, sigs, out };

		par_for(nt, n, 256, score_doc, &sc);
	}
	st = DEDUP_OK;
out:
	if (st)
		dedup_error_set(err, st, "out of memory while clustering");
	hac_free_merges(&h, n);
	free(h.parent);
	free(h.size);
	free(h.pinned);
	free(rep);
	free(kept.v);
	return st;
}
