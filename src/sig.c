/*
 * sig.c - signatures: MinHash of the feature set, a consistent bottom-k
 * sample of content terms, and the scalars verification needs.
 */
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dedup/sig.h"
#include "dedup/stopwords.h"
#include "dedup/tokenize.h"
#include "textdate.h"

#define SIG_MAGIC 0x31474953u /* "SIG1" */
#define TF_MAX UINT16_MAX

struct dedup_sigbuilder {
	struct dedup_sig_params p;
	const struct dedup_stopwords *sw;
	uint64_t *mul, *add;    /* MinHash permutations, nperm each */
	uint32_t *feat;         /* feature hashes of one document */
	size_t nfeat, featalloc;
	uint32_t *terms;        /* content terms of one document */
	size_t nterms, termalloc;
};

void dedup_sig_params_default(struct dedup_sig_params *p,
			      enum dedup_level level)
{
	p->level = level;
	p->nperm = 128;
	p->shingle = 5;
	p->kterms = 256;
}

dedup_status dedup_sig_params_check(const struct dedup_sig_params *p,
				    struct dedup_error *err)
{
	if (p->level != DEDUP_LEVEL_EVENT && p->level != DEDUP_LEVEL_COPY)
		return dedup_error_set(err, DEDUP_EINVAL, "unknown level %d",
				       (int)p->level);
	if (p->nperm < 1 || p->nperm > 1024)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "permutations must be 1 to 1024, not %u",
				       p->nperm);
	if (p->shingle < 1 || p->shingle > 16)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "shingle size must be 1 to 16, not %u",
				       p->shingle);
	if (p->kterms < 1 || p->kterms > 4096)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "kept terms must be 1 to 4096, not %u",
				       p->kterms);
	return DEDUP_OK;
}

void dedup_sig_init(struct dedup_sig *s)
{
	memset(s, 0, sizeof(*s));
	s->lang = -1;
	s->date = DEDUP_DATE_NONE;
}

void dedup_sig_release(struct dedup_sig *s)
{
	free(s->mins);
	free(s->terms);
	free(s->tf);
	dedup_sig_init(s);
}

/* splitmix64 (Steele, Lea, Flood 2014): fixed permutations for every run. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

dedup_status dedup_sigbuilder_new(struct dedup_sigbuilder **out,
				  const struct dedup_sig_params *p,
				  const struct dedup_stopwords *sw,
				  struct dedup_error *err)
{
	struct dedup_sigbuilder *b;
	uint64_t state = 0x5eed0fd3d0ULL;
	dedup_status st;
	uint32_t i;

	*out = NULL;
	st = dedup_sig_params_check(p, err);
	if (st)
		return st;
	b = calloc(1, sizeof(*b));
	if (!b)
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	b->p = *p;
	b->sw = sw;
	b->mul = malloc(p->nperm * sizeof(*b->mul));
	b->add = malloc(p->nperm * sizeof(*b->add));
	if (!b->mul || !b->add) {
		dedup_sigbuilder_free(b);
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	}
	for (i = 0; i < p->nperm; i++) {
		b->mul[i] = splitmix64(&state) | 1;
		b->add[i] = splitmix64(&state);
	}
	*out = b;
	return DEDUP_OK;
}

void dedup_sigbuilder_free(struct dedup_sigbuilder *b)
{
	if (!b)
		return;
	free(b->mul);
	free(b->add);
	free(b->feat);
	free(b->terms);
	free(b);
}

static int push32(uint32_t **v, size_t *n, size_t *alloc, uint32_t x)
{
	if (*n == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 256;
		uint32_t *p = realloc(*v, na * sizeof(**v));

		if (!p)
			return -1;
		*v = p;
		*alloc = na;
	}
	(*v)[(*n)++] = x;
	return 0;
}

static int cmp32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static size_t sort_unique(uint32_t *v, size_t n)
{
	size_t i, m = 0;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp32);
	for (i = 1; i < n; i++)
		if (v[i] != v[m])
			v[++m] = v[i];
	return m + 1;
}

/*
 * Whether a token carries content. Stopwords of the document's language
 * go (of any language when it is unknown); so do single letters, which are
 * initials and list markers more often than words.
 */
static int is_content(const struct dedup_sigbuilder *b, int lang,
		      const struct dedup_token *t)
{
	if (t->len == 1 && !(t->flags & (DEDUP_TOK_NUMBER | DEDUP_TOK_IDEO)))
		return 0;
	return !(b->sw && dedup_stopwords_is(b->sw, lang, t->hash));
}

uint32_t dedup_sig_term(uint64_t h)
{
	return (uint32_t)(h ^ (h >> 32));
}

/*
 * MinHash with multiply-add-shift hashing (Dietzfelbinger 1996): for each
 * permutation i, h_i(x) = (mul_i * x + add_i) >> 32 over 64-bit words. The
 * inner loop over permutations has no dependencies and vectorizes.
 */
static void minhash(const struct dedup_sigbuilder *b, const uint32_t *feat,
		    size_t n, uint32_t *mins)
{
	uint32_t np = b->p.nperm, i;
	size_t k;

	for (i = 0; i < np; i++)
		mins[i] = UINT32_MAX;
	for (k = 0; k < n; k++) {
		uint64_t x = feat[k];

		for (i = 0; i < np; i++) {
			uint32_t h = (uint32_t)((b->mul[i] * x + b->add[i]) >> 32);

			mins[i] = h < mins[i] ? h : mins[i];
		}
	}
}

dedup_status dedup_sig_build(struct dedup_sigbuilder *b,
			     const struct dedup_tokens *toks,
			     const char *text, size_t len,
			     struct dedup_df *df, struct dedup_sig *s,
			     struct dedup_error *err)
{
	const struct dedup_token *t = toks->v;
	size_t n = toks->n, i, j, keep;
	XXH3_state_t body;
	int lang;

	dedup_sig_release(s);
	lang = b->sw ? dedup_stopwords_detect(b->sw, toks) : DEDUP_LANG_NONE;
	s->lang = lang;
	s->date = dedup_text_date(text, len);

	b->nterms = 0;
	b->nfeat = 0;
	XXH3_64bits_reset(&body);
	for (i = 0; i < n; i++) {
		XXH3_64bits_update(&body, &t[i].hash, sizeof(t[i].hash));
		if (!is_content(b, lang, &t[i]))
			continue;
		if (push32(&b->terms, &b->nterms, &b->termalloc,
			   dedup_sig_term(t[i].hash)))
			goto nomem;
	}
	s->body = XXH3_64bits_digest(&body);
	s->nwords = (uint32_t)(b->nterms < UINT32_MAX ? b->nterms : UINT32_MAX);

	if (b->p.level == DEDUP_LEVEL_COPY) {
		size_t k = b->p.shingle, last = n >= k ? n - k + 1 : (n ? 1 : 0);

		for (i = 0; i < last; i++) {
			uint64_t w[16];
			size_t m = n - i < k ? n - i : k;

			for (j = 0; j < m; j++)
				w[j] = t[i + j].hash;
			if (push32(&b->feat, &b->nfeat, &b->featalloc,
				   dedup_sig_term(XXH3_64bits(w, m * sizeof(*w)))))
				goto nomem;
		}
	}

	/* Content terms with their counts: sort, then run-length. */
	qsort(b->terms, b->nterms, sizeof(*b->terms), cmp32);
	keep = 0;
	for (i = 0; i < b->nterms; i = j) {
		for (j = i + 1; j < b->nterms && b->terms[j] == b->terms[i]; j++)
			;
		if (df && dedup_df_add(df, b->terms[i], 1))
			goto nomem;
		keep++;
	}
	s->ndistinct = (uint32_t)keep;
	if (keep > b->p.kterms)
		keep = b->p.kterms;
	s->terms = malloc((keep ? keep : 1) * sizeof(*s->terms));
	s->tf = malloc((keep ? keep : 1) * sizeof(*s->tf));
	s->nperm = b->p.level == DEDUP_LEVEL_COPY ? b->p.nperm : 0;
	s->mins = malloc((s->nperm ? s->nperm : 1) * sizeof(*s->mins));
	if (!s->terms || !s->tf || !s->mins)
		goto nomem;
	/* The smallest hashes are a consistent sample (bottom-k sketch). */
	s->nterms = 0;
	for (i = 0; i < b->nterms && s->nterms < keep; i = j) {
		for (j = i + 1; j < b->nterms && b->terms[j] == b->terms[i]; j++)
			;
		s->terms[s->nterms] = b->terms[i];
		s->tf[s->nterms] = (uint16_t)(j - i < TF_MAX ? j - i : TF_MAX);
		s->nterms++;
	}

	/*
	 * At the event level the clusterer draws weighted MinHash values
	 * from the term sample once IDF is known; only the copy level keeps
	 * a MinHash of its shingles.
	 */
	if (s->nperm) {
		b->nfeat = sort_unique(b->feat, b->nfeat);
		minhash(b, b->feat, b->nfeat, s->mins);
	}
	return DEDUP_OK;
nomem:
	dedup_sig_release(s);
	return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
}

double dedup_sig_jaccard(const struct dedup_sig *a, const struct dedup_sig *b)
{
	uint32_t i, n = a->nperm < b->nperm ? a->nperm : b->nperm, same = 0;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		same += a->mins[i] == b->mins[i];
	return (double)same / n;
}

/* Portable encoding: little-endian fixed-width fields. */
static dedup_status put_le(struct dedup_buf *out, uint64_t v, int bytes)
{
	unsigned char c[8];
	int i;

	for (i = 0; i < bytes; i++)
		c[i] = (unsigned char)(v >> (8 * i));
	return dedup_buf_add(out, c, (size_t)bytes);
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = bytes - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIG_HEADER_BYTES (4 + 4 + 4 + 4 + 4 + 4 + 4 + 8)

dedup_status dedup_sig_encode(const struct dedup_sig *s, struct dedup_buf *out)
{
	dedup_status st = DEDUP_OK;
	uint32_t i;

	st = st ? st : put_le(out, SIG_MAGIC, 4);
	st = st ? st : put_le(out, s->nperm, 4);
	st = st ? st : put_le(out, s->nterms, 4);
	st = st ? st : put_le(out, s->nwords, 4);
	st = st ? st : put_le(out, s->ndistinct, 4);
	st = st ? st : put_le(out, (uint32_t)s->lang, 4);
	st = st ? st : put_le(out, (uint32_t)s->date, 4);
	st = st ? st : put_le(out, s->body, 8);
	for (i = 0; !st && i < s->nperm; i++)
		st = put_le(out, s->mins[i], 4);
	for (i = 0; !st && i < s->nterms; i++)
		st = put_le(out, s->terms[i], 4);
	for (i = 0; !st && i < s->nterms; i++)
		st = put_le(out, s->tf[i], 2);
	return st;
}

dedup_status dedup_sig_decode(struct dedup_sig *s, const void *data,
			      size_t len, size_t *used,
			      struct dedup_error *err)
{
	const unsigned char *p = data;
	uint32_t nperm, nterms, i;
	size_t need;

	dedup_sig_release(s);
	if (len < SIG_HEADER_BYTES || get_le(p, 4) != SIG_MAGIC)
		return dedup_error_set(err, DEDUP_EFORMAT, "bad signature header");
	nperm = (uint32_t)get_le(p + 4, 4);
	nterms = (uint32_t)get_le(p + 8, 4);
	if (nperm > 1024 || nterms > 4096)
		return dedup_error_set(err, DEDUP_EFORMAT,
				       "signature sizes out of range");
	need = SIG_HEADER_BYTES + (size_t)nperm * 4 + (size_t)nterms * 6;
	if (len < need)
		return dedup_error_set(err, DEDUP_EFORMAT, "truncated signature");
	s->nperm = nperm;
	s->nterms = nterms;
	s->nwords = (uint32_t)get_le(p + 12, 4);
	s->ndistinct = (uint32_t)get_le(p + 16, 4);
	s->lang = (int32_t)(uint32_t)get_le(p + 20, 4);
	s->date = (int32_t)(uint32_t)get_le(p + 24, 4);
	s->body = get_le(p + 28, 8);
	s->mins = malloc((nperm ? nperm : 1) * sizeof(*s->mins));
	s->terms = malloc((nterms ? nterms : 1) * sizeof(*s->terms));
	s->tf = malloc((nterms ? nterms : 1) * sizeof(*s->tf));
	if (!s->mins || !s->terms || !s->tf) {
		dedup_sig_release(s);
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	}
	p += SIG_HEADER_BYTES;
	for (i = 0; i < nperm; i++, p += 4)
		s->mins[i] = (uint32_t)get_le(p, 4);
	for (i = 0; i < nterms; i++, p += 4) {
		s->terms[i] = (uint32_t)get_le(p, 4);
		if (i && s->terms[i] <= s->terms[i - 1]) {
			dedup_sig_release(s);
			return dedup_error_set(err, DEDUP_EFORMAT,
					       "signature terms out of order");
		}
	}
	for (i = 0; i < nterms; i++, p += 2)
		s->tf[i] = (uint16_t)get_le(p, 2);
	if (used)
		*used = need;
	return DEDUP_OK;
}
