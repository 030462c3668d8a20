/*
 * sig.h - stage 3b: a document's signature, the unit the clusterer needs.
 *
 * A signature is what the clusterer compares, in a size bounded whatever
 * the document's length:
 *   - the document's content terms as a weighted unit vector, at most
 *     kterms of them, the strongest kept: word stems (the first `stem`
 *     characters of words that are not stopwords or newsroom filler) and
 *     bigrams of adjacent content words; each occurrence weighs 2 for a
 *     capitalized word (names) or a number, 1 otherwise, less far into the
 *     text; the weight of a term is (1 + ln count) * ln((N + 1) / df)^1.5;
 *     terms seen in a single document of the run are dropped (they cannot
 *     be shared);
 *   - at the copy level, a MinHash of word shingles, for LSH candidates;
 *   - a few scalars: content word count, detected language, a date found in
 *     the text, the hash of the whole body (exact copies).
 * Weights need document frequencies, so a run counts terms in a first pass
 * (dedup_sig_count) and builds signatures in a second (dedup_sig_build).
 *
 * A signature is self-contained and serializable (dedup_sig_encode), so it
 * can be stored in an index, merged from shards, or computed on any thread.
 *
 * Ownership: dedup_sig_init() / dedup_sig_release() for a caller-embedded
 * struct; arrays are owned by the signature.
 */
#ifndef DEDUP_SIG_H
#define DEDUP_SIG_H

#include "dedup/buf.h"
#include "dedup/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dedup_tokens;
struct dedup_token;
struct dedup_stopwords;

enum dedup_level {
	DEDUP_LEVEL_EVENT, /* reports of one event: rewrites too */
	DEDUP_LEVEL_COPY,  /* verbatim and lightly edited copies only */
};

struct dedup_sig_params {
	enum dedup_level level;
	uint32_t nperm;   /* MinHash permutations at the copy level (1..1024) */
	uint32_t shingle; /* words per shingle at the copy level (1..16) */
	uint32_t kterms;  /* content terms kept per document (1..4096) */
	uint32_t stem;    /* characters kept of a word (0: whole words) */
	/*
	 * Event level: the signature names the winning term of each of
	 * lsh_bands one-row LSH bands, P-MinHash over its lsh_top strongest
	 * terms (dedup_cluster_sig_params() sets both from the clustering's
	 * parameters; 0: none named, the clustering draws them itself). The
	 * draw needs the full 32-bit term ids, which a signature does not
	 * keep.
	 */
	uint32_t lsh_top;
	uint32_t lsh_bands;
};

/* Default parameters for a level. */
void dedup_sig_params_default(struct dedup_sig_params *p,
			      enum dedup_level level);
/* DEDUP_EINVAL with a message when a parameter is out of range. */
dedup_status dedup_sig_params_check(const struct dedup_sig_params *p,
				    struct dedup_error *err);

#define DEDUP_DATE_NONE INT32_MIN
/*
 * A weight of 1 in a signature term: weights are bytes in the packed form
 * (dedup_term_pack()), while events are told apart at a cosine of 0.1.
 */
#define DEDUP_WEIGHT_ONE 255u

/*
 * A signature holds a weight as one of 64 levels, 6 bits: 1 to 32 exactly
 * (a document of 250 terms weighs them about 16 each, and 94 % of the
 * weights of the synthetic corpora are 32 or less), then 32 steps of 6 to
 * 9 % up to 255: a weight above 32 moves by at most 4.3 %, and the levels
 * of a document stay a unit vector (src/sig.c, weight_codes()). Two bits
 * a term less than a byte are 60 bytes a document; the cosines of the
 * development sets moved by 0.0003 on average, their ARI by 0.0002 or
 * less (bench/RESULTS.md, sig8). dedup_weight_level[c] is the weight of
 * code c, ascending.
 */
#define DEDUP_WEIGHT_LEVELS 64
extern const uint8_t dedup_weight_level[DEDUP_WEIGHT_LEVELS];

/* The code of the level nearest a weight (1 to 255; 0 is taken as 1). */
uint32_t dedup_weight_code(uint32_t wt);

/* A weight as a signature keeps it: its nearest level. */
static inline uint32_t dedup_weight_round(uint32_t wt)
{
	return dedup_weight_level[dedup_weight_code(wt)];
}

/* Most terms a signature keeps (dedup_sig_params.kterms). */
#define DEDUP_SIG_MAXTERMS 4096
/* Most MinHash values and band winners a signature holds. */
#define DEDUP_SIG_MAXPERM 1024
#define DEDUP_SIG_MAXBAND 1024

/*
 * A kept term in one 32-bit word: the top 24 bits of its 32-bit id, then
 * its weight in the low byte, so that the words ascend as the ids do.
 * The first pass counts and looks up full ids; a signature keeps 24 bits,
 * enough to tell a document's terms from another's (two unrelated terms
 * share an id with probability 2^-24: a few extra LSH candidates a
 * document at a million documents; ARI unchanged down to 20 bits on the
 * development sets, bench/RESULTS.md). Two kept terms of one document
 * with the same 24 bits are one term, their weights summed. This is the
 * form the accessors below give and take; a signature holds its terms
 * more compactly.
 */
static inline uint32_t dedup_term_id(uint32_t tw)
{
	return tw >> 8;
}

static inline uint32_t dedup_term_wt(uint32_t tw)
{
	return tw & 0xffu;
}

static inline uint32_t dedup_term_pack(uint32_t id, uint32_t wt)
{
	return id << 8 | wt;
}

/*
 * 32 bytes and one block: a signature is kept for every document of a
 * run, and at a million documents they are most of its memory.
 */
struct dedup_sig {
	/*
	 * One block from dedup_sig_alloc(), dedup_sig_size() bytes:
	 *   - nperm MinHash values, 4 bytes each (UINT32_MAX for an empty
	 *     set): dedup_sig_mins();
	 *   - the terms, ids ascending, 22 bits each from bit 22 i of the
	 *     bytes (little-endian): the weight's level code in 6 bits
	 *     (dedup_weight_level), then the low 16 bits of the id
	 *     (dedup_sig_low());
	 *   - the top 8 bits of the ids in unary, dedup_sig_hibytes()
	 *     bytes: term i sets bit (top 8 bits + i) of 64-bit words
	 *     (little-endian), after 7 counts of set bits when there are 8
	 *     words or fewer (src/sig.c). Ids are hashes, spread evenly, so
	 *     about two bits a term (Elias and Fano's code): 3 bytes a term
	 *     instead of 4, at the cost of a count of bits to find term i's
	 *     top bits (dedup_sig_tw()) and a decoding to walk them all
	 *     (dedup_sig_unpack());
	 *   - nband bytes: the place in the terms of the term that wins each
	 *     LSH band (dedup_sig_params.lsh_bands): dedup_sig_band().
	 */
	uint8_t *blk;
	uint64_t body;    /* hash of the folded token stream (exact copies) */
	uint32_t nwords;  /* content words in the body */
	int32_t date;     /* days since 1970-01-01 of a date in the text */
	/* distinct terms before keeping the strongest, at most 65,535 */
	uint16_t ndistinct;
	uint16_t nterms;  /* terms, at most DEDUP_SIG_MAXTERMS */
	unsigned nperm : 11; /* MinHash values, at most 1,024 */
	unsigned nband : 11; /* band winners named, 0 or lsh_bands (<= 1,024) */
	unsigned kept : 1;   /* blk is a store's (dedup_sig_keep()), not owned */
	signed lang : 9;     /* stopword language index, DEDUP_LANG_NONE */
};

/* Bits of a term in a signature: a weight's level, the id's low 16 bits. */
#define DEDUP_SIG_TERM_BITS 22

/* Where term i's bytes start (its bits from bit 22 i % 8 of them). */
static inline size_t dedup_sig_term_at(uint32_t i)
{
	return (size_t)i * DEDUP_SIG_TERM_BITS / 8;
}

/* Bytes of n terms. */
static inline size_t dedup_sig_termbytes(uint32_t n)
{
	return ((size_t)n * DEDUP_SIG_TERM_BITS + 7) / 8;
}

/*
 * Bytes of the top bits of n terms: one bit a term and one for each of
 * the 255 steps of the top 8 bits the ids climb, in 64-bit words (read
 * whole: about 4 bytes a signature more); up to 8 words (257 terms), 7
 * bytes before them count the set bits before each (src/sig.c).
 */
static inline size_t dedup_sig_hibytes(uint32_t nterms)
{
	size_t words = ((size_t)nterms + 255 + 63) / 64;

	return nterms ? words * 8 + (words <= 8 ? 7 : 0) : 0;
}

static inline uint32_t *dedup_sig_mins(const struct dedup_sig *s)
{
	return (uint32_t *)(void *)s->blk;
}

/* The terms' bits (see struct dedup_sig). */
static inline uint8_t *dedup_sig_lows(const struct dedup_sig *s)
{
	return s->blk + (size_t)s->nperm * 4;
}

/* The terms' top bits in unary (see struct dedup_sig). */
static inline uint8_t *dedup_sig_hibits(const struct dedup_sig *s)
{
	return dedup_sig_lows(s) + dedup_sig_termbytes(s->nterms);
}

static inline uint8_t *dedup_sig_band(const struct dedup_sig *s)
{
	return dedup_sig_hibits(s) + dedup_sig_hibytes(s->nterms);
}

/* Bytes of the block (that of no terms, values nor winners is empty). */
static inline size_t dedup_sig_size(const struct dedup_sig *s)
{
	return (size_t)s->nperm * 4 + dedup_sig_termbytes(s->nterms) +
	       dedup_sig_hibytes(s->nterms) + s->nband;
}

/*
 * Term i's 22 bits, from a signature's dedup_sig_lows(): its level code,
 * then the low 16 bits of its id.
 */
static inline uint32_t dedup_sig_bits_at(const uint8_t *lows, uint32_t i)
{
	const uint8_t *p = lows + dedup_sig_term_at(i);

	/* one load of 4 bytes: the top bits follow the last term */
	return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24) >> (i * DEDUP_SIG_TERM_BITS % 8) &
	       0x3fffffu;
}

static inline uint32_t dedup_sig_bits(const struct dedup_sig *s, uint32_t i)
{
	return dedup_sig_bits_at(dedup_sig_lows(s), i);
}

/*
 * Term i (< nterms) as dedup_term_pack() makes it, but for the top 8
 * bits of its id: its weight and the low 16 bits of the id. Two
 * unrelated terms share the low 16 bits once in 65,536: a filter before
 * the full ids of dedup_sig_tw().
 */
static inline uint32_t dedup_sig_low(const struct dedup_sig *s, uint32_t i)
{
	uint32_t x = dedup_sig_bits(s, i);

	return x >> 6 << 8 | dedup_weight_level[x & 63];
}

/* The low 16 bits of term i's id. */
static inline uint32_t dedup_sig_low16(const struct dedup_sig *s, uint32_t i)
{
	return dedup_sig_bits(s, i) >> 6;
}

static inline uint32_t dedup_sig_wt(const struct dedup_sig *s, uint32_t i)
{
	return dedup_weight_level[dedup_sig_bits(s, i) & 63];
}

/*
 * Term i (< nterms), packed (dedup_term_pack()): its top bits' word found
 * from counts kept ahead of them, then its place in the word (src/sig.c).
 */
uint32_t dedup_sig_tw(const struct dedup_sig *s, uint32_t i);

/* The id of term i: dedup_term_id(dedup_sig_tw(s, i)), a little less work. */
uint32_t dedup_sig_id(const struct dedup_sig *s, uint32_t i);

/*
 * All terms, packed and ascending, into tw[0..nterms): to compare a
 * document's terms with another's, a walk over them all.
 */
void dedup_sig_unpack(const struct dedup_sig *s, uint32_t *tw);

/*
 * Set s's terms (room made by dedup_sig_alloc()) from nterms packed
 * words of ascending ids; each weight is kept as its nearest level
 * (dedup_weight_round()).
 */
void dedup_sig_pack(struct dedup_sig *s, const uint32_t *tw);

/*
 * The place of the first of s's terms whose id is not below id (24
 * bits), nterms when there is none.
 */
uint32_t dedup_sig_find(const struct dedup_sig *s, uint32_t id);

void dedup_sig_init(struct dedup_sig *s);
/*
 * Give s room for nterms (at most DEDUP_SIG_MAXTERMS) terms, nperm MinHash
 * values and nband band winners (contents undefined until
 * dedup_sig_pack(); its block is freed, its scalars kept), in one block:
 * an allocation per array cost about 50 bytes a signature more. Sets
 * nterms, nperm and nband.
 */
dedup_status dedup_sig_alloc(struct dedup_sig *s, uint32_t nterms,
			     uint32_t nperm, uint32_t nband);
void dedup_sig_release(struct dedup_sig *s);

/*
 * A store of the signatures of a run, in large blocks: a malloc() each
 * cost its header and rounding, about 16 bytes, and a million signatures
 * are most of a run's memory. dedup_sig_keep() moves s's block into the
 * store (s then refers to it without owning it: releasing s forgets it);
 * dedup_sigstore_free() frees them all, so it outlives every signature
 * kept. dedup_sig_keep() may be called from several threads at once.
 */
struct dedup_sigstore;

dedup_status dedup_sigstore_new(struct dedup_sigstore **out);
void dedup_sigstore_free(struct dedup_sigstore *st);
/* Bytes the store holds. */
size_t dedup_sigstore_bytes(const struct dedup_sigstore *st);
/* DEDUP_ENOMEM leaves s as it was. */
dedup_status dedup_sig_keep(struct dedup_sigstore *st, struct dedup_sig *s);

/*
 * Words of site names, learned from headlines: scrapers keep the page
 * title ("Storm hits coast - Channel 9 News"), and the part after the
 * headline that recurs across documents names the site, not the event.
 * Filled per thread in the first pass, merged, then frozen and read.
 */
struct dedup_sitenames;

dedup_status dedup_sitenames_new(struct dedup_sitenames **out);
void dedup_sitenames_free(struct dedup_sitenames *sn);
/*
 * Record the headline of one document: `line` is its first line and
 * `toks` that line's tokens (src offsets into line).
 */
dedup_status dedup_sitenames_observe(struct dedup_sitenames *sn,
				     const char *line, size_t len,
				     const struct dedup_tokens *toks);
dedup_status dedup_sitenames_merge(struct dedup_sitenames *dst,
				   const struct dedup_sitenames *src);
/* Keep the words of pieces seen in at least min_docs documents. */
void dedup_sitenames_freeze(struct dedup_sitenames *sn, uint32_t min_docs);
/* 1 when a token hash is a site-name word (after freezing). */
int dedup_sitenames_has(const struct dedup_sitenames *sn, uint64_t hash);

/*
 * Scratch space for building signatures: one per thread.
 */
struct dedup_sigbuilder;
struct dedup_df;

dedup_status dedup_sigbuilder_new(struct dedup_sigbuilder **out,
				  const struct dedup_sig_params *p,
				  const struct dedup_stopwords *sw,
				  struct dedup_error *err);
void dedup_sigbuilder_free(struct dedup_sigbuilder *b);

/*
 * Terms seen in fewer than min_df documents are dropped (default 2: a term
 * in one document of a run cannot be shared). A run that adds to an index
 * uses 1, since later documents may share what is new tonight.
 */
void dedup_sigbuilder_set_min_df(struct dedup_sigbuilder *b, uint32_t min_df);

/* First pass: count each distinct term of a document once, and the doc. */
dedup_status dedup_sig_count(struct dedup_sigbuilder *b,
			     const struct dedup_tokens *toks,
			     struct dedup_df *df, struct dedup_error *err);

/*
 * Fill `s` (released and rebuilt) from the tokens of one cleaned body.
 * `text` is the cleaned text the tokens came from (dates are looked for in
 * it). `df` gives the document frequencies (NULL: every term weighs the
 * same and none is dropped); `site` (may be NULL) the site-name words.
 */
dedup_status dedup_sig_build(struct dedup_sigbuilder *b,
			     const struct dedup_tokens *toks,
			     const char *text, size_t len,
			     const struct dedup_df *df,
			     const struct dedup_sitenames *site,
			     struct dedup_sig *s, struct dedup_error *err);

/*
 * The term id of one word token as signatures store it (its stem), or 0
 * when the token is not a content word; `text` holds the tokens' folded
 * forms (tokens->text.buf).
 */
uint32_t dedup_sig_term(const struct dedup_sigbuilder *b, int lang,
			const struct dedup_token *t, const char *text);
/* The first date written in text: days since 1970, or DEDUP_DATE_NONE. */
int32_t dedup_sig_date(const char *text, size_t len);

/* The id of the bigram of two term ids. */
uint32_t dedup_sig_bigram(uint32_t first, uint32_t second);

/* Estimated Jaccard similarity of the two MinHash sets. */
double dedup_sig_jaccard(const struct dedup_sig *a, const struct dedup_sig *b);

/* Append a portable encoding (little-endian) of s to out. */
dedup_status dedup_sig_encode(const struct dedup_sig *s, struct dedup_buf *out);
/*
 * Decode one signature from data; *used gets the bytes consumed.
 * DEDUP_EFORMAT when the bytes are not a valid encoding.
 */
dedup_status dedup_sig_decode(struct dedup_sig *s, const void *data,
			      size_t len, size_t *used,
			      struct dedup_error *err);

/*
 * Document frequencies of content terms, counted over a run (and, later,
 * kept in an index). Counts are sums, so merging per-thread tables in any
 * order gives the same table.
 */
dedup_status dedup_df_new(struct dedup_df **out);
void dedup_df_free(struct dedup_df *df);
dedup_status dedup_df_add(struct dedup_df *df, uint32_t term, uint32_t n);
dedup_status dedup_df_merge(struct dedup_df *dst, const struct dedup_df *src);
/* Forget every term and document; the memory is kept for reuse. */
void dedup_df_clear(struct dedup_df *df);
/*
 * Drop the terms counted fewer than min_count times and shrink the table
 * (a run that drops unshared terms from signatures needs only the
 * others): what is left is frozen into a compact read-only form, that a
 * later add or merge expands again. A dropped term then counts 0;
 * without memory for the smaller table, some keep their count (also
 * below min_count).
 */
void dedup_df_prune(struct dedup_df *df, uint32_t min_count);
/* Bytes the table occupies. */
size_t dedup_df_bytes(const struct dedup_df *df);
/* Count one more document (the N of IDF). */
void dedup_df_add_doc(struct dedup_df *df, uint64_t n);
uint32_t dedup_df_get(const struct dedup_df *df, uint32_t term);
/*
 * Start loading where dedup_df_get() of term will look: a caller with
 * many terms to look up asks for later ones ahead (a large table misses
 * the caches at each lookup). Changes nothing.
 */
void dedup_df_prefetch(const struct dedup_df *df, uint32_t term);
uint64_t dedup_df_docs(const struct dedup_df *df);
/* Number of distinct terms. */
size_t dedup_df_size(const struct dedup_df *df);
/*
 * Call fn for every (term, count) in unspecified order; a non-zero return
 * from fn stops the walk and is returned.
 */
int dedup_df_foreach(const struct dedup_df *df,
		     int (*fn)(uint32_t term, uint32_t count, void *arg),
		     void *arg);

#ifdef __cplusplus
}
#endif
#endif
