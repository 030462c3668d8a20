/*
 * sig.c - signatures: the weighted vector of a document's content terms,
 * a MinHash of its shingles at the copy level, and the scalars
 * verification needs (see dedup/sig.h).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#define XXH_INLINE_ALL
#include <xxhash.h>

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define SIG_SSE2 1
#endif

#include "dedup/sig.h"
#include "dedup/stopwords.h"
#include "dedup/tokenize.h"
#include "df_int.h"
#include "embedded.h"
#include "lsh_int.h"
#include "sig_int.h"
#include "textdate.h"

/*
 * Encodings: "SIG4" stores a term as its 24-bit id and weight in one word
 * and names the band winners. "SIG3" (32-bit ids, weights apart) and
 * "SIG2" were written by older versions, whose band keys differ: their
 * indexes are refused (DEDUP_INDEX_SETTINGS_VERSION), and so are their
 * signatures.
 */
#define SIG_MAGIC 0x34474953u    /* "SIG4" */
#define SIG_MAGIC_V3 0x33474953u /* "SIG3" */
#define SIG_MAGIC_V2 0x32474953u /* "SIG2" */

/*
 * Weights of one occurrence (see sig.h). Far into a long text the weight
 * falls as 1/position, down to a floor: the lead of a report carries its
 * event, the tail its background.
 */
#define W_NAME 2.0       /* capitalized word: names of people and places */
#define W_NUMBER 2.0     /* numbers: counts, ages, times, addresses */
#define W_BIGRAM 0.5     /* a bigram on top of its two words */
#define LEAD_WORDS 100.0 /* content words at full weight */
#define TAIL_FLOOR 0.1
#define IDF_POWER 1.5    /* sharpens rare over common terms */
#define IDF_CACHE 1024   /* document counts whose IDF is kept */
#define IDF_HIGH 512     /* slots for the IDFs of higher counts */
#define LN_HALVES 64     /* ln(k / 2) kept for k below this */
#define BODY_BLOCK 64    /* token hashes per update of the body hash */

/* A set of 64-bit token hashes (filler words), open addressing. */
struct hashset {
	uint64_t *v;
	size_t mask;
};

struct occ {
	uint32_t term;
	float w;
};

/*
 * What recent words are to a signature, by token hash: news text repeats
 * its words (Zipf), and each occurrence otherwise looks the word up in the
 * stopword and filler sets and hashes its stem again, in both passes. A
 * slot holds the word's stopword languages and its term id as if no
 * stopword list applied, for one (hash, length, number and ideograph
 * flags): neither depends on the document's language, so one lookup per
 * token serves the language detection and the terms. The word's bytes are
 * not compared, so two words would have to share a 64-bit hash and a
 * length to be confused (they already share a term id and stopword
 * answers when they share the hash). 8,192 slots, 192 KiB a thread
 * (with the language in the key, they answered 80 % of the lookups on
 * synthetic news; 32,768 answered 90 % and were no faster).
 */
#define TERM_CACHE 8192
#define TERM_AHEAD 8 /* slots prefetched this many tokens ahead */

struct termslot {
	uint64_t hash;
	uint32_t term;  /* 0: not a term in any language */
	uint32_t langs; /* dedup_stopwords_langs() */
	uint32_t key;   /* length, flags + 1; 0: empty */
};

struct dedup_sigbuilder {
	struct dedup_sig_params p;
	const struct dedup_stopwords *sw;
	int nlangs;             /* of sw, 0 without */
	struct hashset filler;
	uint32_t min_df;
	uint64_t *mul, *add;    /* MinHash permutations, nperm each */
	uint32_t *feat;         /* shingle hashes of one document */
	size_t nfeat, featalloc;
	struct occ *occ;        /* term occurrences of one document */
	struct occ *occtmp;     /* the other half of their sort */
	size_t nocc, occalloc;
	uint32_t *ids, *idtmp;  /* distinct_terms(): ids and their sort */
	size_t idalloc;
	double idf_docs;        /* the N the cached IDFs are for */
	double idf[IDF_CACHE];  /* IDF by document count, NAN: not yet */
	uint32_t idf_hd[IDF_HIGH]; /* count in each slot, 0: empty */
	double idf_hv[IDF_HIGH];   /* its IDF */
	double tf_half[LN_HALVES]; /* term_freq() of k / 2 */
	struct termslot tcache[TERM_CACHE];
	uint32_t *wterm;        /* per token: term id, stopwords aside */
	uint32_t *wlangs;       /* per token: stopword languages */
	uint32_t *kept;         /* content_words(): their token indices */
	size_t walloc;
	float *wbuf;            /* weights of distinct terms */
	uint32_t *ibuf;         /* indices of the terms kept */
	uint64_t *kbuf;         /* their strengths, for the selection */
	size_t wbufalloc;
	uint32_t *hv;           /* band winners, lsh_bands of them */
	uint32_t *tw;           /* the terms kept, packed, kterms of them */
};

void dedup_sig_params_default(struct dedup_sig_params *p,
			      enum dedup_level level)
{
	p->level = level;
	p->nperm = 128;
	p->shingle = 5;
	p->kterms = 256;
	/*
	 * Truncation to a word's first five characters is a cheap stemmer
	 * that works across European languages about as well as real ones
	 * (McNamee and Mayfield, "Character N-Gram Tokenization for European
	 * Language Text Retrieval", Information Retrieval 7, 2004).
	 */
	p->stem = 5;
	p->lsh_top = 0;
	p->lsh_bands = 0;
}

dedup_status dedup_sig_params_check(const struct dedup_sig_params *p,
				    struct dedup_error *err)
{
	if (p->level != DEDUP_LEVEL_EVENT && p->level != DEDUP_LEVEL_COPY)
		return dedup_error_set(err, DEDUP_EINVAL, "unknown level %d",
				       (int)p->level);
	if (p->nperm < 1 || p->nperm > DEDUP_SIG_MAXPERM)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "permutations must be 1 to 1024, not %u",
				       p->nperm);
	if (p->shingle < 1 || p->shingle > 16)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "shingle size must be 1 to 16, not %u",
				       p->shingle);
	if (p->kterms < 1 || p->kterms > DEDUP_SIG_MAXTERMS)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "kept terms must be 1 to 4096, not %u",
				       p->kterms);
	if (p->stem > 64)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "stem length must be 0 to 64, not %u",
				       p->stem);
	if (p->lsh_bands > DEDUP_SIG_MAXBAND || (p->lsh_bands && !p->lsh_top))
		return dedup_error_set(err, DEDUP_EINVAL,
				       "band winners must be 0 to 1024, of "
				       "at least one term, not %u of %u",
				       p->lsh_bands, p->lsh_top);
	return DEDUP_OK;
}

/*
 * Weight levels (sig.h): code c < 32 is c + 1; from there 33 (255 / 33)^((c
 * - 32) / 31), rounded: every step up of at most 8.6 %.
 */
const uint8_t dedup_weight_level[DEDUP_WEIGHT_LEVELS] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
	33, 35, 38, 40, 43, 46, 49, 52, 56, 60, 64, 68, 73, 78, 83, 89,
	95, 101, 108, 116, 123, 132, 141, 150, 161, 172, 183, 196, 209, 223,
	239, 255,
};

/* The code of the level nearest x (at least the first, at most the last). */
static uint32_t weight_code(double x)
{
	uint32_t lo = 31, hi = DEDUP_WEIGHT_LEVELS - 1;

	if (x < 32.5)
		return x < 1.5 ? 0 : (uint32_t)(x - 0.5);
	if (x >= dedup_weight_level[hi])
		return hi;
	/* level lo <= x < level hi, then the nearer (the lower on a tie) */
	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;

		if (dedup_weight_level[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	return x - dedup_weight_level[lo] <= dedup_weight_level[hi] - x ? lo :
									 hi;
}

uint32_t dedup_weight_code(uint32_t wt)
{
	return weight_code(wt);
}

/* a signature is kept for each document of a run: mind its size */
_Static_assert(sizeof(struct dedup_sig) <= 32, "struct dedup_sig grew");

void dedup_sig_init(struct dedup_sig *s)
{
	memset(s, 0, sizeof(*s));
	s->lang = -1;
	s->date = DEDUP_DATE_NONE;
}

dedup_status dedup_sig_alloc(struct dedup_sig *s, uint32_t nterms,
			     uint32_t nperm, uint32_t nband)
{
	struct dedup_sig sz;
	uint8_t *p = NULL;

	if (!s->kept)
		free(s->blk);
	s->blk = NULL;
	s->kept = 0;
	s->nterms = 0;
	s->nperm = 0;
	s->nband = 0;
	if (nterms <= DEDUP_SIG_MAXTERMS && nperm <= DEDUP_SIG_MAXPERM &&
	    nband <= DEDUP_SIG_MAXBAND) {
		sz.blk = NULL;
		sz.nterms = (uint16_t)nterms;
		sz.nperm = (uint16_t)nperm;
		sz.nband = (uint16_t)nband;
		/* at least a byte: NULL would reach memcmp() and the like */
		p = malloc(dedup_sig_size(&sz) + !dedup_sig_size(&sz));
	}
	if (!p)
		return DEDUP_ENOMEM;
	s->blk = p;
	s->nterms = (uint16_t)nterms;
	s->nperm = (uint16_t)nperm;
	s->nband = (uint16_t)nband;
	return DEDUP_OK;
}

void dedup_sig_release(struct dedup_sig *s)
{
	if (!s->kept)
		free(s->blk);
	dedup_sig_init(s);
}

/*
 * The terms' top bits (see struct dedup_sig): bit (top 8 bits of id i +
 * i) is set for term i, so the top bits of term i are the clear bits
 * before its set bit, and the terms of top bits h lie between the clear
 * bits h - 1 and h. In 64-bit words, little-endian whatever the host.
 * Up to 8 words (257 terms), 7 bytes come first: the set bits before
 * words 1 to 7 (HI_DIR), so that dedup_sig_tw() finds term i's word
 * without a loop. When a count passes 255 (256 or 257 terms, nearly all
 * in the first words), HI_NODIR in the first byte says to loop.
 */
#define HI_DIR 7
#define HI_NODIR 0x80
#define BYTE_ONES 0x0101010101010101ULL

/* The words of s's top bits (after the counts) and their number. */
static const uint8_t *hi_words(const struct dedup_sig *s, size_t *nw)
{
	const uint8_t *h = dedup_sig_hibits(s);
	size_t bytes = dedup_sig_hibytes(s->nterms);

	*nw = bytes / 8;
	return bytes % 8 ? h + HI_DIR : h;
}

/* Little-endian 64 bits whatever the host (one load where it is). */
static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	       (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

/* Set bits of x (the CPU may lack popcnt). */
static unsigned popcount64(uint64_t x)
{
	x -= x >> 1 & 0x5555555555555555ULL;
	x = (x & 0x3333333333333333ULL) + (x >> 2 & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (unsigned)(x * BYTE_ONES >> 56);
}

/*
 * The place of set bit r of x (r below their count), without a branch:
 * the byte from the running counts of the bytes compared at once
 * (Vigna's broadword select), then the bit the same way in that byte
 * spread to a bit a byte.
 */
static unsigned select64(uint64_t x, unsigned r)
{
	const uint64_t high = 0x8080808080808080ULL;
	uint64_t c = x - (x >> 1 & 0x5555555555555555ULL), cum, le, bits;
	unsigned k, b;

	c = (c & 0x3333333333333333ULL) + (c >> 2 & 0x3333333333333333ULL);
	c = (c + (c >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	cum = c * BYTE_ONES; /* byte j: the set bits of bytes 0 to j */
	/* the bytes whose running count is r or less come first */
	le = (((uint64_t)r * BYTE_ONES | high) - cum) & high;
	k = (unsigned)((le >> 7) * BYTE_ONES >> 56);
	r -= (unsigned)(cum << 8 >> 8 * k & 0xff);
	b = (unsigned)(x >> 8 * k & 0xff);
	/* byte j of bits: 1 when bit j of b is set; then running counts */
	bits = (((b * BYTE_ONES & 0x8040201008040201ULL) +
		 0x7f7f7f7f7f7f7f7fULL) >> 7 & BYTE_ONES) * BYTE_ONES;
	le = (((uint64_t)r * BYTE_ONES | high) - bits) & high;
	return 8 * k + (unsigned)((le >> 7) * BYTE_ONES >> 56);
}

/* The place of set bit r (clear bit r when `clear`) of s's top bits. */
static size_t hi_select(const struct dedup_sig *s, uint32_t r, int clear)
{
	size_t nw, w;
	const uint8_t *h = hi_words(s, &nw);

	for (w = 0; w < nw; w++) {
		uint64_t v = le64(h + 8 * w) ^ (clear ? ~0ULL : 0);
		unsigned c = popcount64(v);

		if (r < c)
			return 64 * w + select64(v, r);
		r -= c;
	}
	return 64 * nw;
}

/*
 * Term i of s: up to 257 terms, the word of its top bit is the number of
 * the counts before words 1 to 7 not above i, without a loop (a loop over
 * the words missed its exit about once a call, and the band keys of other
 * documents the clustering reads waited for it); else a count of the
 * words' bits. sel: a select in a word, the CPU's or select64().
 */
static inline __attribute__((always_inline)) uint32_t
top_at(const struct dedup_sig *s, uint32_t i,
       unsigned (*sel)(uint64_t, unsigned))
{
	const uint8_t *d = dedup_sig_hibits(s);
	unsigned k, before;

	if (s->nterms > 257 || (d[0] & HI_NODIR))
		return (uint32_t)(hi_select(s, i, 0) - i);
	k = (d[0] <= i) + (d[1] <= i) + (d[2] <= i) + (d[3] <= i) +
	    (d[4] <= i) + (d[5] <= i) + (d[6] <= i);
	before = k ? d[k - 1] : 0;
	return (uint32_t)(64 * k + sel(le64(d + HI_DIR + 8 * k), i - before) -
			  i);
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define UNPACK_SIMD 1

__attribute__((target("popcnt,bmi2"), always_inline))
static inline unsigned select64_bmi2(uint64_t x, unsigned r)
{
	/* set bit r alone: 1 << r deposited into x's set bits */
	return (unsigned)__builtin_ctzll(_pdep_u64(1ULL << r, x));
}

/* top_at() with pdep: half the time of a band key read (fewer steps) */
__attribute__((target("popcnt,bmi2")))
static uint32_t tw_bmi2(const struct dedup_sig *s, uint32_t i)
{
	return top_at(s, i, select64_bmi2) << 24 | dedup_sig_low(s, i);
}

/* the id alone, without its weight: the band keys' reads */
__attribute__((target("popcnt,bmi2")))
static uint32_t id_bmi2(const struct dedup_sig *s, uint32_t i)
{
	return top_at(s, i, select64_bmi2) << 16 | dedup_sig_low16(s, i);
}

static int have_bmi2(void)
{
	return __builtin_cpu_supports("popcnt") &&
	       __builtin_cpu_supports("bmi2");
}
#endif

uint32_t dedup_sig_tw_isa(const struct dedup_sig *s, uint32_t i,
			  unsigned isa)
{
#ifdef UNPACK_SIMD
	if (isa && have_bmi2())
		return tw_bmi2(s, i);
#endif
	(void)isa;
	return top_at(s, i, select64) << 24 | dedup_sig_low(s, i);
}

uint32_t dedup_sig_tw(const struct dedup_sig *s, uint32_t i)
{
	return dedup_sig_tw_isa(s, i, 1);
}

uint32_t dedup_sig_id_isa(const struct dedup_sig *s, uint32_t i,
			  unsigned isa)
{
#ifdef UNPACK_SIMD
	if (isa && have_bmi2())
		return id_bmi2(s, i);
#endif
	(void)isa;
	return top_at(s, i, select64) << 16 | dedup_sig_low16(s, i);
}

uint32_t dedup_sig_id(const struct dedup_sig *s, uint32_t i)
{
	return dedup_sig_id_isa(s, i, 1);
}

uint32_t dedup_sig_find(const struct dedup_sig *s, uint32_t id)
{
	uint32_t top = id >> 16, low = id & 0xffffu, i, end;

	if (!s->nterms)
		return 0;
	/*
	 * The terms of these top bits lie between clear bits top - 1 and
	 * top (both in the first nterms + 255 bits, which hold 255).
	 */
	i = top ? (uint32_t)(hi_select(s, top - 1, 1) - (top - 1)) : 0;
	end = top < 255 ? (uint32_t)(hi_select(s, top, 1) - top) : s->nterms;
	while (i < end && dedup_sig_low(s, i) >> 8 < low)
		i++;
	return i;
}

/*
 * Byte b's set bits k (0 to 7, those past its count 0): their places less
 * k, the clear bits below each; and its count. Filled once
 * (pthread_once()).
 */
static uint8_t hi_below[256][8];
static uint8_t hi_count[256];
static pthread_once_t hi_once = PTHREAD_ONCE_INIT;

static void hi_init(void)
{
	unsigned b, i, k;

	for (b = 0; b < 256; b++) {
		for (i = 0, k = 0; i < 8; i++)
			if (b >> i & 1) {
				hi_below[b][k] = (uint8_t)(i - k);
				k++;
			}
		hi_count[b] = (uint8_t)k;
	}
}

/*
 * The top bits of s's terms into top[0..nterms + 8), a byte of them at a
 * time without a branch: its set bits' clear bits below, plus the clear
 * bits of the bytes before (at most 255 where a term is to come: no
 * carry between the bytes added, those past the byte's set bits written
 * over next). Returns the terms found (all of them from dedup_sig_pack()).
 */
static uint32_t unpack_tops(const struct dedup_sig *s, uint8_t *top)
{
	uint32_t n = s->nterms, i = 0, clear = 0;
	size_t nw, j;
	const uint8_t *h = hi_words(s, &nw);

	pthread_once(&hi_once, hi_init);
	for (j = 0; j < nw * 8 && i < n; j++) {
		uint64_t v;
		unsigned c = hi_count[h[j]];

		memcpy(&v, hi_below[h[j]], 8);
		v += clear * BYTE_ONES;
		memcpy(top + i, &v, 8);
		i += c;
		clear += 8 - c;
	}
	return i < n ? i : n;
}

#ifdef UNPACK_SIMD
/*
 * Terms i.. of s, with top[] their top bits, eight at a time: four terms
 * are 11 bytes, their bits from bits 0, 6, 4 and 2 of bytes 0, 2, 5 and 8;
 * each lane of 16 bytes gathers the 4 bytes of each term of four to a
 * word, shifts it down to its bits, then the word is spread: top bits,
 * low 16 bits of the id, and the weight, the level code's (1 to 32: the
 * code + 1; above: two tables of 16). Returns where it stopped.
 */
__attribute__((target("avx2")))
static uint32_t expand_avx2(const struct dedup_sig *s, const uint8_t *top,
			    uint32_t n, uint32_t *tw)
{
	const __m256i gather = _mm256_setr_epi8(
		0, 1, 2, 3, 2, 3, 4, 5, 5, 6, 7, 8, 8, 9, 10, 11,
		0, 1, 2, 3, 2, 3, 4, 5, 5, 6, 7, 8, 8, 9, 10, 11);
	const __m256i shift = _mm256_setr_epi32(0, 6, 4, 2, 0, 6, 4, 2);
	const __m256i level_lo = _mm256_broadcastsi128_si256(
		_mm_loadu_si128((const __m128i *)(dedup_weight_level + 32)));
	const __m256i level_hi = _mm256_broadcastsi128_si256(
		_mm_loadu_si128((const __m128i *)(dedup_weight_level + 48)));
	const __m256i six = _mm256_set1_epi32(63), one = _mm256_set1_epi32(1);
	const __m256i byte = _mm256_set1_epi32(0xff);
	const __m256i low = _mm256_set1_epi32(0xffff << 8);
	const __m256i exact = _mm256_set1_epi32(31);
	const uint8_t *lo = dedup_sig_lows(s);
	uint32_t i;

	/* 16 bytes read at 22i / 8 + 11: within the terms and top bits */
	for (i = 0; i + 8 <= n; i += 8) {
		const uint8_t *p = lo + dedup_sig_term_at(i);
		__m256i v = _mm256_set_m128i(
			_mm_loadu_si128((const __m128i *)(p + 11)),
			_mm_loadu_si128((const __m128i *)p));
		__m256i c, w, big, t;

		v = _mm256_srlv_epi32(_mm256_shuffle_epi8(v, gather), shift);
		c = _mm256_and_si256(v, six);
		/* bit 4 of the code picks the table, in each byte's top bit */
		big = _mm256_blendv_epi8(_mm256_shuffle_epi8(level_lo, c),
					 _mm256_shuffle_epi8(level_hi, c),
					 _mm256_slli_epi32(c, 3));
		w = _mm256_blendv_epi8(_mm256_add_epi32(c, one),
				       _mm256_and_si256(big, byte),
				       _mm256_cmpgt_epi32(c, exact));
		t = _mm256_cvtepu8_epi32(
			_mm_loadl_epi64((const __m128i *)(top + i)));
		v = _mm256_and_si256(_mm256_slli_epi32(v, 2), low);
		v = _mm256_or_si256(_mm256_or_si256(v, w),
				    _mm256_slli_epi32(t, 24));
		_mm256_storeu_si256((__m256i *)(tw + i), v);
	}
	return i;
}
#endif

/*
 * All of dedup_sig_unpack() a word of top bits at a time, where the CPU
 * compresses bytes (AVX-512 VBMI2): the places of the word's set bits
 * in one instruction, less their terms' indexes, are the top bits of its
 * terms (about 32); then 16 terms at a time from the bit of the first:
 * each term's 4 bytes permuted to a word, shifted down to its 22 bits,
 * its level's weight one more permutation (of the 64 levels), and its
 * top bits above. Loads and stores are masked to the terms. Returns the
 * terms done (all of them from dedup_sig_pack()).
 */
__attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vbmi2,popcnt")))
static uint32_t unpack_avx512(const struct dedup_sig *s, uint32_t *tw)
{
	const __m512i iota = _mm512_set_epi8(
		63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48,
		47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32,
		31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
		15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
	/* bit 22 t of term t of 16 */
	const __m512i step = _mm512_setr_epi32(0, 22, 44, 66, 88, 110, 132,
					       154, 176, 198, 220, 242, 264,
					       286, 308, 330);
	const __m512i four = _mm512_set1_epi32(0x03020100);
	const __m512i levels = _mm512_loadu_si512(dedup_weight_level);
	const __m512i seven = _mm512_set1_epi32(7), byte = _mm512_set1_epi32(0xff);
	const __m512i low = _mm512_set1_epi32(0xffff << 8);
	const uint8_t *lo = dedup_sig_lows(s);
	uint32_t n = s->nterms, i = 0, k, c;
	size_t nw, w;
	const uint8_t *h = hi_words(s, &nw);

	for (w = 0; w < nw && i < n; w++) {
		uint64_t x = le64(h + 8 * w);
		/* the place of set bit k less k, plus the clear bits before */
		__m512i top = _mm512_add_epi8(
			_mm512_sub_epi8(_mm512_maskz_compress_epi8(x, iota),
					iota),
			_mm512_set1_epi8((char)(uint8_t)(64 * w - i)));

		c = (uint32_t)__builtin_popcountll(x);
		c = c < n - i ? c : n - i;
		for (k = 0; k < c; k += 16) {
			uint32_t m = c - k < 16 ? c - k : 16, j = i + k;
			/* the terms' bits from bit 22 j % 8 of byte `at` */
			size_t at = dedup_sig_term_at(j);
			__m512i bit = _mm512_add_epi32(
				step, _mm512_set1_epi32((int)(j * 22 % 8)));
			__m512i idx = _mm512_srli_epi32(bit, 3);
			__m512i b = _mm512_maskz_loadu_epi8(
				~0ULL >> (64 - ((size_t)(j + m - 1) * 22 / 8 +
						4 - at)),
				lo + at);
			__m512i v, t, wt;

			/* bytes idx to idx + 3 of b in each word */
			idx = _mm512_add_epi32(
				_mm512_mullo_epi32(idx,
						   _mm512_set1_epi32(0x01010101)),
				four);
			v = _mm512_permutexvar_epi8(idx, b);
			v = _mm512_srlv_epi32(v, _mm512_and_si512(bit, seven));
			/* the code's 6 bits index the levels */
			wt = _mm512_and_si512(_mm512_permutexvar_epi8(v, levels),
					      byte);
			t = _mm512_cvtepu8_epi32(_mm512_castsi512_si128(top));
			v = _mm512_and_si512(_mm512_slli_epi32(v, 2), low);
			v = _mm512_or_si512(_mm512_or_si512(v, wt),
					    _mm512_slli_epi32(t, 24));
			_mm512_mask_storeu_epi32(tw + j,
						 (__mmask16)(0xffffu >> (16 - m)),
						 v);
			/* the next 16 top bits down */
			top = _mm512_alignr_epi32(_mm512_setzero_si512(), top,
						  4);
		}
		i += c;
	}
	return i;
}

void dedup_sig_unpack_isa(const struct dedup_sig *s, uint32_t *tw,
			  unsigned isa)
{
	uint8_t top[DEDUP_SIG_MAXTERMS + 8];
	uint32_t n = s->nterms, i = 0, got;

	if (!n)
		return;
#ifdef UNPACK_SIMD
	if (isa >= 2 && __builtin_cpu_supports("avx512vbmi2") &&
	    __builtin_cpu_supports("avx512vbmi") &&
	    __builtin_cpu_supports("avx512bw")) {
		i = got = unpack_avx512(s, tw);
		memset(top + i, 0, n - i);
	} else {
		got = unpack_tops(s, top);
		memset(top + got, 0, n - got);
		if (isa >= 1 && __builtin_cpu_supports("avx2"))
			i = expand_avx2(s, top, n, tw);
	}
#else
	(void)isa;
	got = unpack_tops(s, top);
	memset(top + got, 0, n - got);
#endif
	/* terms not from dedup_sig_pack(): their top bits 0, no garbage */
	for (; i < n; i++)
		tw[i] = (uint32_t)top[i] << 24 | dedup_sig_low(s, i);
}

void dedup_sig_unpack(const struct dedup_sig *s, uint32_t *tw)
{
	dedup_sig_unpack_isa(s, tw, 2);
}

/* dedup_sig_pack() with the weights' level codes found already. */
static void pack_terms(struct dedup_sig *s, const uint32_t *tw,
		       const uint8_t *code)
{
	uint8_t *lo = dedup_sig_lows(s), *h = dedup_sig_hibits(s);
	size_t bytes = dedup_sig_hibytes(s->nterms);
	uint8_t *dir = bytes % 8 ? h : NULL, *words = dir ? h + HI_DIR : h;
	uint32_t i, w, run;

	memset(lo, 0, dedup_sig_termbytes(s->nterms));
	memset(h, 0, bytes);
	for (i = 0; i < s->nterms; i++) {
		uint32_t at = (tw[i] >> 24) + i;
		unsigned sh = i * DEDUP_SIG_TERM_BITS % 8;
		uint32_t x = (tw[i] >> 8 & 0xffffu) << 6 | code[i];
		uint8_t *p = lo + dedup_sig_term_at(i);

		/* bits sh to sh + 21: 3 bytes, the 4th when they reach it */
		p[0] |= (uint8_t)(x << sh);
		p[1] |= (uint8_t)(x << sh >> 8);
		p[2] |= (uint8_t)(x << sh >> 16);
		if (sh > 2)
			p[3] |= (uint8_t)(x >> (24 - sh));
		words[at / 8] |= (uint8_t)(1u << at % 8);
	}
	if (!dir)
		return;
	/* the counts before words 1 to 7 (past the last word: nterms) */
	for (w = 1, run = 0; w <= HI_DIR; w++) {
		if (w <= bytes / 8)
			run += popcount64(le64(words + 8 * (w - 1)));
		if (run > 255)
			dir[0] |= HI_NODIR;
		else
			dir[w - 1] |= (uint8_t)run;
	}
}

void dedup_sig_pack(struct dedup_sig *s, const uint32_t *tw)
{
	uint8_t code[DEDUP_SIG_MAXTERMS];
	uint32_t i;

	for (i = 0; i < s->nterms; i++)
		code[i] = (uint8_t)weight_code(dedup_term_wt(tw[i]));
	pack_terms(s, tw, code);
}

/*
 * Blocks of the store: a signature wastes at most its size in each. They
 * are mappings of their own in 2 MiB huge pages where the system gives
 * them (Linux, transparent huge pages on advice): the clustering reads
 * the signatures of a million documents at random, and with 4 KiB pages
 * nearly every read of another document's signature missed the TLB as
 * well as the caches.
 */
#define STORE_BLOCK ((size_t)4 << 20)
#define STORE_ALIGN ((size_t)2 << 20)

struct store_block {
	struct store_block *next;
	size_t used, size; /* in words */
	size_t mapped;     /* bytes mapped, 0: from malloc() */
	uint32_t data[];
};

/* A block of at least `bytes`, aligned to STORE_ALIGN where mapped. */
static struct store_block *store_block_new(size_t bytes)
{
	struct store_block *b = NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
	size_t len = (bytes + STORE_ALIGN - 1) & ~(STORE_ALIGN - 1);
	uint8_t *p = mmap(NULL, len + STORE_ALIGN, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED) {
		uintptr_t at = ((uintptr_t)p + STORE_ALIGN - 1) &
			       ~(uintptr_t)(STORE_ALIGN - 1);
		size_t head = at - (uintptr_t)p;

		/* the unaligned ends back */
		if (head)
			munmap(p, head);
		munmap((uint8_t *)at + len, STORE_ALIGN - head);
		madvise((void *)at, len, MADV_HUGEPAGE);
		b = (struct store_block *)at;
		b->mapped = len;
		b->size = (len - sizeof(*b)) / sizeof(*b->data);
		return b;
	}
#endif
	b = malloc(bytes);
	if (b) {
		b->mapped = 0;
		b->size = (bytes - sizeof(*b)) / sizeof(*b->data);
	}
	return b;
}

static void store_block_free(struct store_block *b)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
	if (b->mapped) {
		munmap(b, b->mapped);
		return;
	}
#endif
	free(b);
}

struct dedup_sigstore {
	pthread_mutex_t lock;
	struct store_block *head; /* the one being filled, then older */
	size_t bytes;
};

dedup_status dedup_sigstore_new(struct dedup_sigstore **out)
{
	struct dedup_sigstore *st = calloc(1, sizeof(*st));

	*out = st;
	if (!st)
		return DEDUP_ENOMEM;
	pthread_mutex_init(&st->lock, NULL);
	return DEDUP_OK;
}

void dedup_sigstore_free(struct dedup_sigstore *st)
{
	if (!st)
		return;
	while (st->head) {
		struct store_block *b = st->head;

		st->head = b->next;
		store_block_free(b);
	}
	pthread_mutex_destroy(&st->lock);
	free(st);
}

size_t dedup_sigstore_bytes(const struct dedup_sigstore *st)
{
	return st->bytes;
}

dedup_status dedup_sig_keep(struct dedup_sigstore *st, struct dedup_sig *s)
{
	/* in words, so that the next block starts aligned */
	size_t size = dedup_sig_size(s), words = (size + 3) / 4;
	struct store_block *b;
	uint32_t *p = NULL;

	if (s->kept || !s->blk)
		return DEDUP_OK;
	pthread_mutex_lock(&st->lock);
	b = st->head;
	if (!b || b->size - b->used < words) {
		size_t bytes = sizeof(*b) + words * sizeof(*b->data);

		b = store_block_new(bytes > STORE_BLOCK ? bytes : STORE_BLOCK);
		if (b) {
			b->next = st->head;
			b->used = 0;
			st->head = b;
			st->bytes += sizeof(*b) + b->size * sizeof(*b->data);
		}
	}
	if (b) {
		p = b->data + b->used;
		b->used += words;
	}
	pthread_mutex_unlock(&st->lock);
	if (!p)
		return DEDUP_ENOMEM;
	memcpy(p, s->blk, size);
	free(s->blk);
	s->blk = (uint8_t *)p;
	s->kept = 1;
	return DEDUP_OK;
}

/* splitmix64 (Steele, Lea, Flood 2014): fixed permutations for every run. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int hashset_has(const struct hashset *hs, uint64_t h)
{
	size_t i;

	if (!hs->v)
		return 0;
	h |= 1; /* 0 marks an empty slot */
	for (i = (size_t)(h >> 7) & hs->mask; hs->v[i]; i = (i + 1) & hs->mask)
		if (hs->v[i] == h)
			return 1;
	return 0;
}

/* Every word of the built-in filler lists (data/filler/LANG.txt). */
static int load_filler(struct hashset *hs)
{
	const struct dedup_embedded *e;
	size_t words = 0, cap = 64, pass;

	for (pass = 0; pass < 2; pass++) {
		if (pass) {
			while (cap < words * 2)
				cap *= 2;
			hs->v = calloc(cap, sizeof(*hs->v));
			if (!hs->v)
				return -1;
			hs->mask = cap - 1;
		}
		for (e = dedup_embedded_files; e->name; e++) {
			const char *p = e->data, *end = e->data + e->len;

			if (strncmp(e->name, "filler/", 7))
				continue;
			while (p < end) {
				const char *nl = memchr(p, '\n', (size_t)(end - p));
				const char *q = nl ? nl : end;
				size_t n = (size_t)(q - p);

				while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
					n--;
				if (n && p[0] != '#') {
					if (pass) {
						uint64_t h = dedup_token_hash(p, n) | 1;
						size_t i = (size_t)(h >> 7) & hs->mask;

						while (hs->v[i] && hs->v[i] != h)
							i = (i + 1) & hs->mask;
						hs->v[i] = h;
					} else {
						words++;
					}
				}
				p = q + 1;
			}
		}
	}
	return 0;
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
	b->nlangs = sw ? dedup_stopwords_nlangs(sw) : 0;
	b->min_df = 2;
	b->idf_docs = -1;
	for (i = 0; i < LN_HALVES; i++)
		b->tf_half[i] = i < 2 ? i / 2.0 : 1 + log(i / 2.0);
	b->mul = malloc(p->nperm * sizeof(*b->mul));
	b->add = malloc(p->nperm * sizeof(*b->add));
	b->hv = malloc((p->lsh_bands ? p->lsh_bands : 1) * sizeof(*b->hv));
	b->tw = malloc(p->kterms * sizeof(*b->tw));
	if (!b->mul || !b->add || !b->hv || !b->tw ||
	    load_filler(&b->filler)) {
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

void dedup_sigbuilder_set_min_df(struct dedup_sigbuilder *b, uint32_t min_df)
{
	b->min_df = min_df;
}

void dedup_sigbuilder_free(struct dedup_sigbuilder *b)
{
	if (!b)
		return;
	free(b->filler.v);
	free(b->mul);
	free(b->add);
	free(b->feat);
	free(b->occ);
	free(b->occtmp);
	free(b->ids);
	free(b->idtmp);
	free(b->wbuf);
	free(b->ibuf);
	free(b->kbuf);
	free(b->wterm);
	free(b->wlangs);
	free(b->kept);
	free(b->hv);
	free(b->tw);
	free(b);
}

static int push32(uint32_t **v, size_t *n, size_t *alloc, uint32_t x)
{
	if (*n == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 256;
		uint32_t *p = realloc(*v, na * sizeof(*v[0]));

		if (!p)
			return -1;
		*v = p;
		*alloc = na;
	}
	(*v)[(*n)++] = x;
	return 0;
}

static int push_occ(struct dedup_sigbuilder *b, uint32_t term, double w)
{
	if (b->nocc == b->occalloc) {
		size_t na = b->occalloc ? b->occalloc * 2 : 512;
		struct occ *p = realloc(b->occ, na * sizeof(*p));

		if (!p)
			return -1;
		b->occ = p;
		p = realloc(b->occtmp, na * sizeof(*p));
		if (!p)
			return -1;
		b->occtmp = p;
		b->occalloc = na;
	}
	b->occ[b->nocc].term = term;
	b->occ[b->nocc].w = (float)w;
	b->nocc++;
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

/* Term ids are 32-bit; 0 is kept for "not a term". */
static uint32_t term_id(uint64_t h)
{
	uint32_t t = (uint32_t)(h ^ (h >> 32));

	return t ? t : 1;
}

int32_t dedup_sig_date(const char *text, size_t len)
{
	return dedup_text_date(text, len);
}

uint32_t dedup_sig_bigram(uint32_t first, uint32_t second)
{
	uint32_t pair[2] = { first, second };

	return term_id(XXH3_64bits_withSeed(pair, sizeof(pair), 2));
}

/*
 * What term_nostop() asks of a folded word, in one pass over its bytes:
 * its UTF-8 characters (bytes that do not continue one), whether it holds
 * "_", and in *cut the bytes of its first `stem` characters (all of it if
 * fewer; the first byte always starts one).
 */
static size_t word_shape(const char *s, size_t len, size_t room,
			 uint32_t stem, size_t *cut, int *underscore)
{
	size_t i, chars = 0, starts = 0;
	unsigned char any = 0;
	int us = 0;

#ifdef SIG_SSE2
	/*
	 * A word of at most 16 bytes with 16 readable (`room`): one load,
	 * where the loop below mispredicted its end about once a word.
	 */
	if (len <= 16 && room >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)s);
		unsigned in = (1u << len) - 1;

		any = (unsigned)_mm_movemask_epi8(x) & in ? 0x80 : 0;
		us = ((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x,
			_mm_set1_epi8('_'))) & in) != 0;
	} else
#endif
	/*
	 * Most words are ASCII: a character a byte. Their test is a loop
	 * without a branch, the general one branches on every byte.
	 */
	for (i = 0; i < len; i++) {
		any |= (unsigned char)s[i];
		us |= s[i] == '_';
	}
	*underscore = us;
	if (any < 0x80) {
		*cut = len > stem ? stem : len;
		return len;
	}
	*cut = len;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int start = (c & 0xC0) != 0x80;

		chars += start;
		if ((start || !i) && starts++ == stem)
			*cut = i;
	}
	return chars;
}

/*
 * dedup_sig_term() but for the stopword lists; `size` bytes of text can
 * be read (the folded words and what follows them).
 */
static uint32_t term_nostop(const struct dedup_sigbuilder *b,
			    const struct dedup_token *t, const char *text,
			    size_t size)
{
	const char *w = text + t->off;
	size_t n = t->len, cut, chars;
	int underscore;

	chars = word_shape(w, n, size > t->off ? size - t->off : 0,
			   b->p.stem, &cut, &underscore);
	if (underscore)
		return 0; /* identifiers and markup, not words */
	if (!(t->flags & (DEDUP_TOK_NUMBER | DEDUP_TOK_IDEO)) && chars < 2)
		return 0; /* initials and list markers */
	if (hashset_has(&b->filler, t->hash))
		return 0;
	if (b->p.stem && !(t->flags & DEDUP_TOK_NUMBER) && cut < n)
		return term_id(dedup_token_hash(w, cut));
	return term_id(t->hash);
}

/*
 * The stopword languages that make a word a stopword of a document in
 * `lang`: dedup_stopwords_is() is (langs & mask) != 0.
 */
static inline uint32_t stop_mask(const struct dedup_sigbuilder *b, int lang)
{
	if (!b->sw)
		return 0;
	if (lang == DEDUP_LANG_NONE)
		return UINT32_MAX;
	if (lang < 0 || lang >= b->nlangs)
		return 0;
	return 1u << lang;
}

uint32_t dedup_sig_term(const struct dedup_sigbuilder *b, int lang,
			const struct dedup_token *t, const char *text)
{
	if (b->sw && dedup_stopwords_is(b->sw, lang, t->hash))
		return 0;
	return term_nostop(b, t, text, t->off + t->len);
}

/*
 * Make the arrays of 32-bit words that share *alloc (a and b, and c unless
 * NULL) hold at least n elements each, their contents not kept; 0 on
 * success.
 */
static int grow_words(size_t *alloc, size_t n, uint32_t **a, uint32_t **b,
		      uint32_t **c)
{
	size_t na = *alloc ? *alloc : 1024;

	if (n <= *alloc)
		return 0;
	while (na < n)
		na *= 2;
	free(*a);
	free(*b);
	*a = malloc(na * sizeof(**a));
	*b = malloc(na * sizeof(**b));
	*alloc = *a && *b ? na : 0;
	if (c) {
		free(*c);
		*c = malloc(na * sizeof(**c));
		*alloc = *c ? *alloc : 0;
	}
	return *alloc ? 0 : -1;
}

static inline struct termslot *term_slot(struct dedup_sigbuilder *b,
					 uint64_t hash)
{
	return &b->tcache[(hash >> 20) % TERM_CACHE];
}

/*
 * Each token's term id (stopwords aside) and stopword languages into
 * b->wterm and b->wlangs, through the cache of recent words; the
 * document's language, detected from them, into *lang.
 */
static int doc_words(struct dedup_sigbuilder *b,
		     const struct dedup_tokens *toks, int *lang)
{
	size_t i, n = toks->n;

	if (grow_words(&b->walloc, n, &b->wterm, &b->wlangs, &b->kept))
		return -1;
	for (i = 0; i < n; i++) {
		const struct dedup_token *t = &toks->v[i];
		struct termslot *ts = term_slot(b, t->hash);
		uint32_t key = t->len << 2 |
			       !!(t->flags & DEDUP_TOK_NUMBER) << 1 |
			       !!(t->flags & DEDUP_TOK_IDEO);

#ifdef __GNUC__
		if (i + TERM_AHEAD < n)
			__builtin_prefetch(term_slot(b,
						     t[TERM_AHEAD].hash));
#endif
		if (t->len >= 1u << 29) {
			b->wterm[i] = term_nostop(b, t, toks->text.buf,
						toks->text.alloc);
			b->wlangs[i] = b->sw ?
				dedup_stopwords_langs(b->sw, t->hash) : 0;
			continue;
		}
		key++;
		if (ts->key != key || ts->hash != t->hash) {
			ts->hash = t->hash;
			ts->key = key;
			ts->term = term_nostop(b, t, toks->text.buf,
						toks->text.alloc);
			ts->langs = b->sw ?
				dedup_stopwords_langs(b->sw, t->hash) : 0;
		}
		b->wterm[i] = ts->term;
		b->wlangs[i] = ts->langs;
	}
	*lang = b->sw ? dedup_stopwords_detect_langs(b->sw, b->wlangs, n) :
			DEDUP_LANG_NONE;
	return 0;
}

/* 1 when every byte of token t's folded form is within [lo, hi]. */
static int bytes_in(const struct dedup_tokens *toks,
		    const struct dedup_token *t, char lo, char hi)
{
	size_t d;

	for (d = 0; d < t->len; d++)
		if (toks->text.buf[t->off + d] < lo ||
		    toks->text.buf[t->off + d] > hi)
			return 0;
	return 1;
}

/* 1 when token t is n ASCII digits (n == 0: any number of them). */
static int digits_tok(const struct dedup_tokens *toks,
		      const struct dedup_token *t, size_t n)
{
	return (t->flags & DEDUP_TOK_NUMBER) && (!n || t->len == n) &&
	       bytes_in(toks, t, '0', '9');
}

/* 1 when token t is a capitalized word of 3 to 7 ASCII letters. */
static int spelled_tok(const struct dedup_tokens *toks,
		       const struct dedup_token *t)
{
	return (t->flags & DEDUP_TOK_UPPER) && t->len >= 3 && t->len <= 7 &&
	       bytes_in(toks, t, 'a', 'z');
}

/* Token i + 1 follows token i within a few bytes ("-", " (", ". "). */
static int next_close(const struct dedup_tokens *toks, size_t i)
{
	const struct dedup_token *t = &toks->v[i];

	return i + 1 < toks->n && t[1].src - (t->src + t->len) <= 3;
}

/*
 * A telephone number is digits grouped 3-3-4 (with an optional leading 1)
 * or 3-4, each group its own token: it names a newsroom, not an event.
 * Tip lines spell their last group ("901-528-CASH", "1-866-411-TIPS
 * (8477)"): after two groups of three digits a capitalized word of three
 * to seven letters ends the number as well, and the digits it spells, when
 * they follow, go with it. Every crime report of a city prints the same
 * tip line, so it would make reports of different events alike.
 */
static size_t phone_at(const struct dedup_tokens *toks, size_t i)
{
	static const uint32_t shapes[][4] = {
		{ 1, 3, 3, 4 }, { 3, 3, 4, 0 }, { 3, 4, 0, 0 },
	};
	size_t s, k;

	for (s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		for (k = 0; k < 4 && shapes[s][k]; k++) {
			if (i + k >= toks->n ||
			    !digits_tok(toks, &toks->v[i + k], shapes[s][k]))
				break;
			/* groups within a few bytes of each other */
			if (k && !next_close(toks, i + k - 1))
				break;
		}
		if ((k == 4 || !shapes[s][k]) && k >= 2)
			return k;
	}
	/* spelled: [1] 3 3 WORD [digits of the word's length] */
	k = i + 1 < toks->n && digits_tok(toks, &toks->v[i], 1) &&
	    next_close(toks, i);
	if (i + k + 2 < toks->n && digits_tok(toks, &toks->v[i + k], 3) &&
	    next_close(toks, i + k) &&
	    digits_tok(toks, &toks->v[i + k + 1], 3) &&
	    next_close(toks, i + k + 1) &&
	    spelled_tok(toks, &toks->v[i + k + 2])) {
		const struct dedup_token *w = &toks->v[i + k + 2];

		k += 3;
		if (next_close(toks, i + k - 1) &&
		    digits_tok(toks, &toks->v[i + k], w->len))
			k++;
		return k;
	}
	return 0;
}

/*
 * The indices of a document's content words into b->kept, their count into
 * *n: tokens with a term that are not stopwords of the document's
 * language, nor in a telephone number. A token is kept or not at random
 * as far as a branch predictor can tell, so each is written and counted
 * without a branch on it (numbers, which may start a telephone number,
 * are few). doc_words() has looked the tokens up.
 */
static void content_words(struct dedup_sigbuilder *b,
			  const struct dedup_tokens *toks, int lang, size_t *n)
{
	uint32_t stop = stop_mask(b, lang), *kept;
	size_t i, m = 0, skip;

	kept = b->kept; /* doc_words() made it as long as wterm */
	for (i = 0; i < toks->n; i++) {
		/* a telephone number starts with a number */
		if (toks->v[i].flags & DEDUP_TOK_NUMBER) {
			skip = phone_at(toks, i);
			if (skip) {
				i += skip - 1;
				continue;
			}
		}
		kept[m] = (uint32_t)i;
		m += (b->wterm[i] != 0) & !(b->wlangs[i] & stop);
	}
	*n = m;
}

/* The weighted term occurrences of a document, into b->occ. */
static int occurrences(struct dedup_sigbuilder *b, const struct dedup_tokens *toks,
		       int lang, const struct dedup_sitenames *site,
		       uint32_t *nwords)
{
	static const double kind_w[4] = { 1, W_NAME, W_NUMBER, W_NUMBER };
	uint32_t prev = 0, pos = 0, term;
	size_t j, n;

	b->nocc = 0;
	content_words(b, toks, lang, &n);
	for (j = 0; j < n; j++) {
		const struct dedup_token *t = &toks->v[b->kept[j]];
		double lead, w;

		if (site && dedup_sitenames_has(site, t->hash))
			continue;
		term = b->wterm[b->kept[j]];
		pos++;
		lead = pos <= LEAD_WORDS ? 1 : LEAD_WORDS / pos;
		if (lead < TAIL_FLOOR)
			lead = TAIL_FLOOR;
		/* by a table: names and numbers are met at random */
		w = kind_w[!!(t->flags & DEDUP_TOK_NUMBER) << 1 |
			   !!(t->flags & DEDUP_TOK_UPPER)];
		if (push_occ(b, term, w * lead))
			return -1;
		if (prev && push_occ(b, dedup_sig_bigram(prev, term),
				     W_BIGRAM * lead))
			return -1;
		prev = term;
	}
	*nwords = pos;
	return 0;
}

/* The 32-bit id at the start of element i of an array of `size` bytes. */
static inline uint32_t id_at(const unsigned char *v, size_t i, size_t size)
{
	uint32_t id;

	memcpy(&id, v + i * size, sizeof(id));
	return id;
}

/*
 * Stable LSD radix sort of n elements of `size` bytes by the 32-bit id at
 * their start, a byte a pass, from src with dst as the other half; all
 * four histograms come from one read, and a byte with one value in every
 * element moves nothing. Returns the half that holds the result.
 */
static void *radix_by_id(void *src, void *dst, size_t n, size_t size)
{
	uint32_t cnt[4][256] = { { 0 } }, first;
	unsigned char *s = src, *d = dst, *t;
	size_t i, k;

	if (!n)
		return src;
	for (i = 0; i < n; i++)
		for (k = 0; k < 4; k++)
			cnt[k][(id_at(s, i, size) >> (8 * k)) & 255]++;
	first = id_at(s, 0, size);
	for (k = 0; k < 4; k++) {
		uint32_t sum = 0, c, j;

		if (cnt[k][(first >> (8 * k)) & 255] == n)
			continue;
		for (j = 0; j < 256; j++) {
			c = cnt[k][j];
			cnt[k][j] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			memcpy(d + (size_t)cnt[k][(id_at(s, i, size) >>
						   (8 * k)) & 255]++ * size,
			       s + i * size, size);
		t = s;
		s = d;
		d = t;
	}
	return s;
}

#define BUCKET_BITS_MAX 12 /* buckets of sort_by_id(): up to 4,096 */
#define BUCKET_MAX 32      /* elements a bucket may hold */

/*
 * Stable sort of n elements of `size` bytes by the 32-bit id at their
 * start, from src with dst as the other half; returns the half that holds
 * the result. Ids are hashes, spread evenly: one pass by their top bits
 * into about one bucket per element, then an insertion sort, which moves
 * elements only within their bucket. A byte-wise radix sort took four
 * passes, each a chain of counter increments through memory. A text that
 * repeats words piles their occurrences into one bucket: past BUCKET_MAX
 * elements in one, the radix sort is used. Inline so that each caller's
 * element size is a constant.
 */
static inline void *sort_by_id(void *src, void *dst, size_t n, size_t size)
{
	uint32_t cnt[1u << BUCKET_BITS_MAX], sum = 0, c, top = 0;
	unsigned char *s = src, *d = dst, tmp[16]; /* an element: 4 or 8 */
	unsigned bits = 6, shift;
	size_t i, j;

	if (n < 2)
		return src;
	while (bits < BUCKET_BITS_MAX && (size_t)1 << bits < n)
		bits++;
	shift = 32 - bits;
	memset(cnt, 0, sizeof(cnt[0]) << bits);
	for (i = 0; i < n; i++)
		cnt[id_at(s, i, size) >> shift]++;
	for (j = 0; j < (size_t)1 << bits; j++) {
		c = cnt[j];
		top = c > top ? c : top;
		cnt[j] = sum;
		sum += c;
	}
	if (top > BUCKET_MAX)
		return radix_by_id(src, dst, n, size);
	for (i = 0; i < n; i++)
		memcpy(d + (size_t)cnt[id_at(s, i, size) >> shift]++ * size,
		       s + i * size, size);
	for (i = 1; i < n; i++) {
		uint32_t id = id_at(d, i, size);

		if (id_at(d, i - 1, size) <= id)
			continue;
		memcpy(tmp, d + i * size, size);
		for (j = i; j > 0 && id_at(d, j - 1, size) > id; j--)
			memcpy(d + j * size, d + (j - 1) * size, size);
		memcpy(d + j * size, tmp, size);
	}
	return dst;
}

/*
 * Sort occurrences by term, stably: the weights of a term are then summed
 * in text order, so the float sums do not depend on the sort (qsort()
 * made ten thousand calls to a comparison for a document).
 */
static void sort_occ(struct dedup_sigbuilder *b)
{
	struct occ *s = sort_by_id(b->occ, b->occtmp, b->nocc, sizeof(*s));

	if (s != b->occ) {
		b->occtmp = b->occ;
		b->occ = s;
	}
}

/*
 * Sort occurrences and sum them per term; returns the distinct count. The
 * ids, in order, also go to ids[] (the frequency lookups' keys).
 */
static size_t sum_terms(struct dedup_sigbuilder *b, uint32_t *ids)
{
	struct occ cur, o;
	size_t i, m = 0;

	if (!b->nocc)
		return 0;
	sort_occ(b);
	/*
	 * Without a branch on whether a term repeats: the term being summed
	 * stays in a register and is stored at m every step, m moving on
	 * when the next term differs. Reading back the slot just written
	 * made each step wait for the store of the one before. Weights are
	 * added in text order, as the sort is stable.
	 */
	cur = b->occ[0];
	for (i = 1; i < b->nocc; i++) {
		uint32_t bits;
		int same;

		o = b->occ[i];
		same = o.term == cur.term;
		b->occ[m] = cur;
		ids[m] = cur.term;
		m += !same;
		/*
		 * o.w + (same ? cur.w : 0), by a mask rather than a branch
		 * the compiler would make: o.w + 0 is o.w (weights are
		 * positive), and the sum of two floats does not depend on
		 * their order.
		 */
		memcpy(&bits, &cur.w, sizeof(bits));
		bits &= -(uint32_t)same;
		memcpy(&cur.w, &bits, sizeof(bits));
		cur.w += o.w;
		cur.term = o.term;
	}
	b->occ[m] = cur;
	ids[m] = cur.term;
	return m + 1;
}

/*
 * The distinct terms of a document, ascending, into *out: those
 * occurrences() would give, without weights. The first pass needs no
 * more to count them, and sorting 4-byte ids moves half the bytes.
 */
static int distinct_terms(struct dedup_sigbuilder *b,
			  const struct dedup_tokens *toks, int lang,
			  uint32_t **out, size_t *nout)
{
	uint32_t prev = 0, term, *v;
	size_t i, j, n, m = 0, k;

	content_words(b, toks, lang, &n);
	if (grow_words(&b->idalloc, 2 * n, &b->ids, &b->idtmp, NULL))
		return -1;
	v = b->ids;
	for (j = 0; j < n; j++) {
		term = b->wterm[b->kept[j]];
		/* the first word's bigram is written over: no branch */
		v[m] = dedup_sig_bigram(prev, term);
		m += prev != 0;
		v[m++] = term;
		prev = term;
	}
	v = sort_by_id(v, b->idtmp, m, sizeof(*v));
	/*
	 * unique, a copy at every step rather than a branch on equality;
	 * compared with the element before in a register (sorted: the last
	 * kept), as reading back v[k] just written made each step wait for
	 * the one before
	 */
	for (i = 1, k = 0, prev = m ? v[0] : 0; i < m; i++) {
		term = v[i];
		v[k + 1] = term;
		k += term != prev;
		prev = term;
	}
	*out = v;
	*nout = m ? k + 1 : 0;
	return 0;
}

/* A document's distinct terms, ascending, for counting them. */
static int count_terms(struct dedup_sigbuilder *b,
		       const struct dedup_tokens *toks, uint32_t **terms,
		       size_t *n)
{
	int lang;

	return doc_words(b, toks, &lang) ||
	       distinct_terms(b, toks, lang, terms, n);
}

dedup_status dedup_sig_count(struct dedup_sigbuilder *b,
			     const struct dedup_tokens *toks,
			     struct dedup_df *df, struct dedup_error *err)
{
	uint32_t *terms;
	size_t i, n;

	if (count_terms(b, toks, &terms, &n))
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	for (i = 0; i < n; i++)
		if (dedup_df_add(df, terms[i], 1))
			return dedup_error_set(err, DEDUP_ENOMEM,
					       "out of memory");
	dedup_df_add_doc(df, 1);
	return DEDUP_OK;
}

dedup_status dedup_sig_count_batch(struct dedup_sigbuilder *b,
				   const struct dedup_tokens *toks,
				   struct dedup_dfbatch *batch,
				   struct dedup_error *err)
{
	uint32_t *terms;
	size_t n;

	if (count_terms(b, toks, &terms, &n) ||
	    dedup_dfbatch_add_doc(batch, terms, n))
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	return DEDUP_OK;
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

static int copy_shingles(struct dedup_sigbuilder *b,
			 const struct dedup_tokens *toks)
{
	const struct dedup_token *t = toks->v;
	size_t n = toks->n, k = b->p.shingle, i, j;
	size_t last = n >= k ? n - k + 1 : (n ? 1 : 0);

	b->nfeat = 0;
	for (i = 0; i < last; i++) {
		uint64_t w[16];
		size_t m = n - i < k ? n - i : k;

		for (j = 0; j < m; j++)
			w[j] = t[i + j].hash;
		if (push32(&b->feat, &b->nfeat, &b->featalloc,
			   term_id(XXH3_64bits(w, m * sizeof(*w)))))
			return -1;
	}
	b->nfeat = sort_unique(b->feat, b->nfeat);
	return 0;
}

/*
 * Strength of a kept term as one integer: its weight first (positive
 * floats order as their bits do), then the lower term id. Terms are
 * unique, so no two strengths are equal.
 */
static inline uint64_t strength(float w, uint32_t term)
{
	uint32_t bits;

	memcpy(&bits, &w, sizeof(bits));
	return (uint64_t)bits << 32 | (UINT32_MAX - term);
}

/*
 * Keep the k strongest of the n indices in idx (k < n), in their order:
 * a quickselect over their strengths (pivot the median of three) finds
 * the k-th strongest, and the indices not weaker than it are the k kept.
 * The partition swaps without a branch (a term is stronger than the pivot
 * or not at random: a branch on it is mispredicted half the time).
 */
static void select_strongest(uint32_t *idx, size_t n, size_t k,
			     const float *w, const struct occ *occ,
			     uint64_t *key)
{
	size_t lo = 0, hi = n - 1, i, m;
	uint64_t kth;

	for (i = 0; i < n; i++)
		key[i] = strength(w[idx[i]], occ[idx[i]].term);
	/* k - 1 stays within [lo, hi] */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, store = lo;
		uint64_t x = key[lo], y = key[mid], z = key[hi], piv;

		/* the median of three, moved to hi */
		piv = x < y ? (y < z ? y : x < z ? z : x) :
			      (x < z ? x : y < z ? z : y);
		if (piv == x)
			key[lo] = z;
		else if (piv == y)
			key[mid] = z;
		key[hi] = piv;
		for (i = lo; i < hi; i++) {
			x = key[i];
			key[i] = key[store];
			key[store] = x;
			store += x > piv;
		}
		key[hi] = key[store];
		key[store] = piv;
		if (store == k - 1)
			break;
		if (store > k - 1)
			hi = store - 1;
		else
			lo = store + 1;
	}
	kth = key[k - 1];
	for (i = 0, m = 0; i < n; i++)
		if (strength(w[idx[i]], occ[idx[i]].term) >= kth)
			idx[m++] = idx[i];
}

/* Empty the IDF cache unless it holds the IDFs for N = ndocs. */
static void idf_for(struct dedup_sigbuilder *b, double ndocs)
{
	size_t i;

	if (b->idf_docs == ndocs)
		return;
	for (i = 0; i < IDF_CACHE; i++)
		b->idf[i] = NAN;
	memset(b->idf_hd, 0, sizeof(b->idf_hd));
	b->idf_docs = ndocs;
}

/*
 * ln((N + 1) / d)^1.5, the same double whether cached or not (idf_for()
 * has set N). Counts up to IDF_CACHE have a slot each; higher ones (the
 * common words, looked up in every document) share IDF_HIGH slots by
 * their low bits.
 */
static double idf_of(struct dedup_sigbuilder *b, double ndocs, uint32_t d)
{
	size_t i;

	if (d >= IDF_CACHE) {
		i = d % IDF_HIGH;
		if (b->idf_hd[i] != d) {
			b->idf_hd[i] = d;
			b->idf_hv[i] = pow(log((ndocs + 1) / d), IDF_POWER);
		}
		return b->idf_hv[i];
	}
	if (isnan(b->idf[d]))
		b->idf[d] = pow(log((ndocs + 1) / d), IDF_POWER);
	return b->idf[d];
}

/*
 * 1 + ln(c) for c >= 1, else c. Within the lead of a text the weights
 * summed are halves (1, 2 and 0.5 a word), whose term frequencies are
 * kept, 0.5 (c) among them: one test for most terms.
 */
static inline double term_freq(const struct dedup_sigbuilder *b, float c)
{
	float c2 = c * 2;

	if (c2 < LN_HALVES && c2 == (float)(int)c2)
		return b->tf_half[(int)c2];
	if (c < 1)
		return c;
	return 1 + log(c);
}

/*
 * Kept terms (b->ibuf[0..keep), ascending ids) that share the top 24 bits
 * of their ids, the bits a signature keeps, made one: the first, weighing
 * their sum. Returns the terms left.
 */
static size_t merge_ids(struct dedup_sigbuilder *b, size_t keep)
{
	size_t i, m = 0;

	for (i = 0; i < keep; i++) {
		uint32_t t = b->occ[b->ibuf[i]].term;

		if (m && b->occ[b->ibuf[m - 1]].term >> 8 == t >> 8)
			b->wbuf[b->ibuf[m - 1]] += b->wbuf[b->ibuf[i]];
		else
			b->ibuf[m++] = b->ibuf[i];
	}
	return m;
}

/*
 * The term that wins each of s's bands, by its place in s's terms
 * (b->tw): the clustering's P-MinHash over the full ids (b->ibuf,
 * ascending), which the 24 bits kept would draw otherwise (other
 * permutations, other candidates than the ones measured).
 */
static void band_winners(struct dedup_sigbuilder *b, struct dedup_sig *s)
{
	uint8_t *band = dedup_sig_band(s);
	uint32_t k;

	dedup_lsh_values(b->tw, b->ibuf, s->nterms, b->p.lsh_top, s->nband,
			 b->hv, b->kbuf);
	for (k = 0; k < s->nband; k++) {
		uint32_t lo = 0, hi = s->nterms;

		/* the winner is one of the terms */
		while (hi - lo > 1) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (b->ibuf[mid] <= b->hv[k])
				lo = mid;
			else
				hi = mid;
		}
		band[k] = (uint8_t)lo;
	}
}

/*
 * Level codes for weights x[0..n) (255: 1) of a unit vector, that stay a
 * unit vector: each the nearest level, then, while the squares' sum is off
 * by more than 1/1000, terms moved a level the way that brings it nearer:
 * those that stay nearest their weight first, none 10 % off (rounds of
 * growing bounds, terms in order in each: a sort cost more than the rest
 * of the weighing). The few heavy terms of a short document are up to 4 %
 * off their weight (sig.h), all the same way when the weights are alike:
 * 9 terms of weight 85 at the level 83 would score 0.953 against
 * themselves.
 */
static void weight_codes(const double *x, size_t n, uint8_t *code)
{
	static const double bound[] = { 0.02, 0.05, 0.1 };
	const double one = (double)DEDUP_WEIGHT_ONE * DEDUP_WEIGHT_ONE;
	double sum = 0;
	size_t i, r;

	for (i = 0; i < n; i++) {
		double w;

		code[i] = (uint8_t)weight_code(x[i]);
		w = dedup_weight_level[code[i]];
		sum += w * w;
	}
	for (r = 0; r < sizeof(bound) / sizeof(*bound); r++) {
		int up = sum < one;

		for (i = 0; i < n && fabs(sum - one) > one / 1000; i++) {
			double w = dedup_weight_level[code[i]], v, d;
			int c = (int)code[i] + (up ? 1 : -1);

			if (c < 0 || c >= DEDUP_WEIGHT_LEVELS)
				continue;
			v = dedup_weight_level[c];
			d = v * v - w * w;
			/* too far from its weight, or past the sum wanted */
			if (fabs(v - x[i]) > bound[r] * x[i] ||
			    fabs(sum + d - one) >= fabs(sum - one))
				continue;
			sum += d;
			code[i] = (uint8_t)c;
		}
	}
}

dedup_status dedup_sig_build(struct dedup_sigbuilder *b,
			     const struct dedup_tokens *toks,
			     const char *text, size_t len,
			     const struct dedup_df *df,
			     const struct dedup_sitenames *site,
			     struct dedup_sig *s, struct dedup_error *err)
{
	double ndocs = df ? (double)dedup_df_docs(df) : 0, norm = 0;
	double x[DEDUP_SIG_MAXTERMS];
	uint8_t code[DEDUP_SIG_MAXTERMS];
	size_t n, i, j, shared = 0, keep = 0;
	uint32_t nband;
	XXH3_state_t body;
	uint32_t nwords;
	int lang;

	dedup_sig_release(s);
	if (doc_words(b, toks, &lang))
		goto nomem;
	s->lang = lang;
	s->date = dedup_text_date(text, len);
	/*
	 * The token hashes, in blocks: one update per hash cost more than
	 * the hashing (the stream is the same, so is the digest).
	 */
	XXH3_64bits_reset(&body);
	for (i = 0; i < toks->n; i += BODY_BLOCK) {
		uint64_t blk[BODY_BLOCK];
		size_t k, m = toks->n - i < BODY_BLOCK ? toks->n - i :
							 BODY_BLOCK;

		for (k = 0; k < m; k++)
			blk[k] = toks->v[i + k].hash;
		XXH3_64bits_update(&body, blk, m * sizeof(*blk));
	}
	s->body = XXH3_64bits_digest(&body);

	if (occurrences(b, toks, lang, site, &nwords))
		goto nomem;
	s->nwords = nwords;
	/* at most as many distinct terms as occurrences */
	if (b->nocc > b->wbufalloc) {
		free(b->wbuf);
		free(b->ibuf);
		free(b->kbuf);
		b->wbuf = malloc(b->nocc * sizeof(*b->wbuf));
		b->ibuf = malloc(b->nocc * sizeof(*b->ibuf));
		b->kbuf = malloc(b->nocc * sizeof(*b->kbuf));
		b->wbufalloc = b->wbuf && b->ibuf && b->kbuf ? b->nocc : 0;
		if (!b->wbufalloc)
			goto nomem;
	}
	n = sum_terms(b, b->ibuf);
	s->ndistinct = (uint16_t)(n < UINT16_MAX ? n : UINT16_MAX);
	/*
	 * ibuf holds the terms' ids, then their document counts, all looked
	 * up at once (the loads of a large table overlap); count i is read
	 * before an index (shared <= i) goes over it.
	 */
	if (df) {
		dedup_df_get_many(df, b->ibuf, n, b->ibuf);
		idf_for(b, ndocs);
		/*
		 * The terms seen in enough documents, their indices into ibuf
		 * and counts into kbuf, without a branch on each (a coin
		 * toss for the predictor).
		 */
		for (i = 0; i < n; i++) {
			uint32_t d = b->ibuf[i];

			b->kbuf[shared] = d;
			b->ibuf[shared] = (uint32_t)i;
			shared += d >= b->min_df;
		}
	} else {
		for (i = 0; i < n; i++)
			b->ibuf[i] = (uint32_t)i;
		shared = n;
	}
	/* weights; terms of weight 0 (an IDF of 0: in every document) go */
	for (j = 0; j < shared; j++) {
		double idf = 1;
		uint32_t k = b->ibuf[j];

		if (df) {
			/* kept unshared terms weigh as if seen twice */
			uint32_t d = b->kbuf[j] < 2 ? 2 : (uint32_t)b->kbuf[j];

			/* N + 1: in a run of two, shared terms still count */
			idf = idf_of(b, ndocs, d);
		}
		b->wbuf[k] = (float)(term_freq(b, b->occ[k].w) * idf);
		b->ibuf[keep] = k;
		keep += b->wbuf[k] > 0;
	}
	if (keep > b->p.kterms) {
		select_strongest(b->ibuf, keep, b->p.kterms, b->wbuf, b->occ,
				 b->kbuf);
		keep = b->p.kterms;
	}
	keep = merge_ids(b, keep);
	for (i = 0; i < keep; i++)
		norm += (double)b->wbuf[b->ibuf[i]] * b->wbuf[b->ibuf[i]];
	norm = sqrt(norm);
	/* a band winner is named by a byte: its place among 256 terms */
	nband = b->p.level == DEDUP_LEVEL_EVENT && keep && keep <= 256 ?
		b->p.lsh_bands : 0;
	if (dedup_sig_alloc(s, (uint32_t)keep,
			    b->p.level == DEDUP_LEVEL_COPY ? b->p.nperm : 0,
			    nband))
		goto nomem;
	for (i = 0; i < keep; i++)
		x[i] = b->wbuf[b->ibuf[i]] / norm * DEDUP_WEIGHT_ONE;
	weight_codes(x, keep, code);
	for (i = 0; i < keep; i++) {
		uint32_t t = b->occ[b->ibuf[i]].term;

		/* the weight kept, which the band winners draw with */
		b->tw[i] = dedup_term_pack(t >> 8, dedup_weight_level[code[i]]);
		b->ibuf[i] = t; /* the full ids, for the band winners */
	}
	pack_terms(s, b->tw, code);
	if (nband)
		band_winners(b, s);
	if (s->nperm) {
		if (copy_shingles(b, toks))
			goto nomem;
		minhash(b, b->feat, b->nfeat, dedup_sig_mins(s));
	}
	return DEDUP_OK;
nomem:
	dedup_sig_release(s);
	return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
}

double dedup_sig_jaccard(const struct dedup_sig *a, const struct dedup_sig *b)
{
	const uint32_t *ma = dedup_sig_mins(a), *mb = dedup_sig_mins(b);
	uint32_t i, n = a->nperm < b->nperm ? a->nperm : b->nperm, same = 0;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		same += ma[i] == mb[i];
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

#define SIG_HEADER_BYTES (4 + 4 + 4 + 4 + 4 + 4 + 4 + 8 + 4)

dedup_status dedup_sig_encode(const struct dedup_sig *s, struct dedup_buf *out)
{
	const uint32_t *mins = dedup_sig_mins(s);
	dedup_status st = DEDUP_OK;
	uint32_t tw[DEDUP_SIG_MAXTERMS], i;

	dedup_sig_unpack(s, tw);
	st = st ? st : put_le(out, SIG_MAGIC, 4);
	st = st ? st : put_le(out, s->nperm, 4);
	st = st ? st : put_le(out, s->nterms, 4);
	st = st ? st : put_le(out, s->nwords, 4);
	st = st ? st : put_le(out, s->ndistinct, 4);
	st = st ? st : put_le(out, (uint32_t)(int32_t)s->lang, 4);
	st = st ? st : put_le(out, (uint32_t)s->date, 4);
	st = st ? st : put_le(out, s->body, 8);
	st = st ? st : put_le(out, s->nband, 4);
	for (i = 0; !st && i < s->nperm; i++)
		st = put_le(out, mins[i], 4);
	for (i = 0; !st && i < s->nterms; i++)
		st = put_le(out, tw[i], 4);
	if (!st && s->nband)
		st = dedup_buf_add(out, dedup_sig_band(s), s->nband);
	return st;
}

dedup_status dedup_sig_decode(struct dedup_sig *s, const void *data,
			      size_t len, size_t *used,
			      struct dedup_error *err)
{
	const unsigned char *p = data;
	uint32_t nperm, nterms, nband, i, magic, v, *mins;
	uint32_t tw[DEDUP_SIG_MAXTERMS];
	int32_t lang;
	uint8_t *band;
	size_t need;

	dedup_sig_release(s);
	magic = len < 4 ? 0 : (uint32_t)get_le(p, 4);
	if (magic == SIG_MAGIC_V3 || magic == SIG_MAGIC_V2)
		return dedup_error_set(err, DEDUP_EFORMAT,
				       "signature of an older version (%s): "
				       "rebuild the index",
				       magic == SIG_MAGIC_V3 ? "SIG3" : "SIG2");
	if (magic != SIG_MAGIC || len < SIG_HEADER_BYTES)
		return dedup_error_set(err, DEDUP_EFORMAT, "bad signature header");
	nperm = (uint32_t)get_le(p + 4, 4);
	nterms = (uint32_t)get_le(p + 8, 4);
	nband = (uint32_t)get_le(p + 36, 4);
	lang = (int32_t)(uint32_t)get_le(p + 20, 4);
	if (nperm > DEDUP_SIG_MAXPERM || nterms > DEDUP_SIG_MAXTERMS ||
	    nband > DEDUP_SIG_MAXBAND ||
	    (nband && (!nterms || nterms > 256)) ||
	    lang < -256 || lang > 255) /* struct dedup_sig's 9 bits */
		return dedup_error_set(err, DEDUP_EFORMAT,
				       "signature sizes out of range");
	need = SIG_HEADER_BYTES + ((size_t)nperm + nterms) * 4 + nband;
	if (len < need)
		return dedup_error_set(err, DEDUP_EFORMAT, "truncated signature");
	if (dedup_sig_alloc(s, nterms, nperm, nband))
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	s->nwords = (uint32_t)get_le(p + 12, 4);
	v = (uint32_t)get_le(p + 16, 4);
	s->ndistinct = (uint16_t)(v < UINT16_MAX ? v : UINT16_MAX);
	s->lang = lang;
	s->date = (int32_t)(uint32_t)get_le(p + 24, 4);
	s->body = get_le(p + 28, 8);
	p += SIG_HEADER_BYTES;
	mins = dedup_sig_mins(s);
	for (i = 0; i < nperm; i++, p += 4)
		mins[i] = (uint32_t)get_le(p, 4);
	for (i = 0; i < nterms; i++, p += 4) {
		tw[i] = (uint32_t)get_le(p, 4);
		/* dedup_sig_pack() takes ascending ids */
		if (i && dedup_term_id(tw[i]) <= dedup_term_id(tw[i - 1]))
			goto bad;
	}
	dedup_sig_pack(s, tw);
	/* the clustering reads the term a winner names */
	band = dedup_sig_band(s);
	memcpy(band, p, nband);
	for (i = 0; i < nband; i++)
		if (band[i] >= nterms)
			goto bad;
	if (used)
		*used = need;
	return DEDUP_OK;
bad:
	dedup_sig_release(s);
	return dedup_error_set(err, DEDUP_EFORMAT,
			       "signature terms out of order or out of range");
}
