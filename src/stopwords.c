/*
 * stopwords.c - built-in stopword lists, looked up by folded-word hash.
 *
 * Every data/stopwords/LANG.txt compiled into the library becomes one
 * language; languages are numbered in the order of their codes, so the
 * numbering is stable across builds with the same lists. One open-addressing
 * table maps a word hash to the bit set of languages that list the word.
 */
#include <stdlib.h>
#include <string.h>

#include "dedup/stopwords.h"
#include "dedup/tokenize.h"
#include "embedded.h"
#include "strip_words.h"

#define MAX_LANGS 32 /* one bit each in a uint32_t */
#define MIN_DETECT_HITS 3
/*
 * A bit per hash value of 15 of its bits, set for the stopwords: most
 * words asked about are not stopwords, and the 4 KiB stay in the core's
 * cache where the table may not (a bit falsely set costs only the probe).
 */
#define FILTER_BITS 15
#define FILTER_BIT(h) ((uint32_t)((h) >> 40) & ((1u << FILTER_BITS) - 1))

struct slot {
	uint64_t hash;
	uint32_t langs; /* 0: empty slot */
};

struct dedup_stopwords {
	int nlangs;
	char codes[MAX_LANGS][8];
	struct slot *tab;
	size_t mask; /* table size - 1, a power of two */
	uint64_t filter[(1u << FILTER_BITS) / 64];
};

static int cmp_code(const void *a, const void *b)
{
	const struct dedup_embedded *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static void insert(struct dedup_stopwords *sw, uint64_t hash, int lang)
{
	size_t i = (size_t)hash & sw->mask;

	while (sw->tab[i].langs && sw->tab[i].hash != hash)
		i = (i + 1) & sw->mask;
	sw->tab[i].hash = hash;
	sw->tab[i].langs |= 1u << lang;
	sw->filter[FILTER_BIT(hash) / 64] |= 1ull << (FILTER_BIT(hash) % 64);
}

/* Calls insert() for each word of the list, or counts them when !sw. */
static size_t parse_list(struct dedup_stopwords *sw, const char *p,
			 size_t len, int lang)
{
	const char *end = p + len;
	size_t n = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *a = p, *b;

		if (!eol)
			eol = end;
		b = memchr(a, '#', (size_t)(eol - a));
		if (!b)
			b = eol;
		while (a < b && (*a == ' ' || *a == '\t' || *a == '\r'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t' ||
				 b[-1] == '\r'))
			b--;
		if (b > a) {
			if (sw)
				insert(sw, strip_word_hash(a, (size_t)(b - a)),
				       lang);
			n++;
		}
		p = eol + 1;
	}
	return n;
}

static int is_list_name(const char *name)
{
	size_t n = strlen(name);

	return n > 14 && !strncmp(name, "stopwords/", 10) &&
	       !strcmp(name + n - 4, ".txt") && n - 14 < 8;
}

dedup_status dedup_stopwords_new(struct dedup_stopwords **out,
				 struct dedup_error *err)
{
	const struct dedup_embedded *lists[MAX_LANGS], *e;
	struct dedup_stopwords *sw;
	size_t words = 0, size = 64;
	int n = 0, i;

	*out = NULL;
	for (e = dedup_embedded_files; e->name; e++) {
		if (!is_list_name(e->name))
			continue;
		if (n == MAX_LANGS)
			return dedup_error_set(err, DEDUP_ETOOBIG,
				"more than %d stopword lists", MAX_LANGS);
		lists[n++] = e;
		words += parse_list(NULL, e->data, e->len, 0);
	}
	qsort(lists, (size_t)n, sizeof(lists[0]), cmp_code);
	/* load factor at most 1/2 keeps probes short */
	while (size < 2 * words)
		size *= 2;
	sw = calloc(1, sizeof(*sw));
	if (!sw)
		goto nomem;
	sw->tab = calloc(size, sizeof(*sw->tab));
	if (!sw->tab)
		goto nomem;
	sw->mask = size - 1;
	sw->nlangs = n;
	for (i = 0; i < n; i++) {
		const char *name = lists[i]->name + 10;

		memcpy(sw->codes[i], name, strlen(name) - 4);
		sw->codes[i][strlen(name) - 4] = '\0';
		parse_list(sw, lists[i]->data, lists[i]->len, i);
	}
	*out = sw;
	return DEDUP_OK;
nomem:
	dedup_stopwords_free(sw);
	return dedup_error_set(err, DEDUP_ENOMEM,
			       "cannot allocate the stopword table");
}

void dedup_stopwords_free(struct dedup_stopwords *sw)
{
	if (!sw)
		return;
	free(sw->tab);
	free(sw);
}

int dedup_stopwords_nlangs(const struct dedup_stopwords *sw)
{
	return sw->nlangs;
}

const char *dedup_stopwords_code(const struct dedup_stopwords *sw, int lang)
{
	if (lang < 0 || lang >= sw->nlangs)
		return NULL;
	return sw->codes[lang];
}

int dedup_stopwords_find(const struct dedup_stopwords *sw, const char *code)
{
	int i;

	for (i = 0; i < sw->nlangs; i++)
		if (!strcmp(sw->codes[i], code))
			return i;
	return DEDUP_LANG_NONE;
}

uint32_t dedup_stopwords_langs(const struct dedup_stopwords *sw,
			       uint64_t hash)
{
	size_t i = (size_t)hash & sw->mask;

	if (!(sw->filter[FILTER_BIT(hash) / 64] >> (FILTER_BIT(hash) % 64) & 1))
		return 0;
	while (sw->tab[i].langs) {
		if (sw->tab[i].hash == hash)
			return sw->tab[i].langs;
		i = (i + 1) & sw->mask;
	}
	return 0;
}

int dedup_stopwords_is(const struct dedup_stopwords *sw, int lang,
		       uint64_t hash)
{
	uint32_t m = dedup_stopwords_langs(sw, hash);

	if (lang == DEDUP_LANG_NONE)
		return m != 0;
	if (lang < 0 || lang >= sw->nlangs)
		return 0;
	return (m >> lang) & 1u;
}

/*
 * Ties between close languages (es/pt/it share many short words) are broken
 * by the words only one list has, then by the lower index.
 */
struct tally {
	unsigned hits[MAX_LANGS], only[MAX_LANGS], any;
};

/* Index of the lowest set bit of m (m != 0). */
static inline int low_bit(uint64_t m)
{
#ifdef __GNUC__
	return __builtin_ctzll(m);
#else
	int i = 0;

	while (!(m >> i & 1u))
		i++;
	return i;
#endif
}

/*
 * One word whose stopword languages are m. Called for every token of
 * every document, twice a run: the languages are taken set bit by set
 * bit, not tested one by one.
 */
static void tally_add(struct tally *t, uint32_t m)
{
	if (!m)
		return;
	t->any++;
	if (!(m & (m - 1))) {
		/* a word of one list, the common case */
		t->hits[low_bit(m)]++;
		t->only[low_bit(m)]++;
		return;
	}
	do
		t->hits[low_bit(m)]++;
	while (m &= m - 1);
}

static int tally_best(const struct tally *t, const struct dedup_stopwords *sw)
{
	int i, best = DEDUP_LANG_NONE;

	if (t->any < MIN_DETECT_HITS)
		return DEDUP_LANG_NONE;
	for (i = 0; i < sw->nlangs; i++) {
		if (!t->hits[i])
			continue;
		if (best == DEDUP_LANG_NONE || t->hits[i] > t->hits[best] ||
		    (t->hits[i] == t->hits[best] &&
		     t->only[i] > t->only[best]))
			best = i;
	}
	return best;
}

int dedup_stopwords_detect_hashes(const struct dedup_stopwords *sw,
				  const uint64_t *hashes, size_t n)
{
	struct tally t = { { 0 }, { 0 }, 0 };
	size_t k;

	for (k = 0; k < n; k++)
		tally_add(&t, dedup_stopwords_langs(sw, hashes[k]));
	return tally_best(&t, sw);
}

#define DETECT_CHUNK 256 /* words of several lists set apart at a time */

/*
 * The same tally, without a branch on whether a word is a stopword (a
 * coin toss to the branch predictor): a word of one list or of none
 * counts at the index of its lowest bit, 32 for none. Nor on whether it
 * is in several lists (short words, "de", "a", "in": another coin toss):
 * those go to a side list, written at every word and kept by a count,
 * and are counted language by language, a loop of a fixed length.
 */
int dedup_stopwords_detect_langs(const struct dedup_stopwords *sw,
				 const uint32_t *langs, size_t n)
{
	struct tally t = { { 0 }, { 0 }, 0 };
	unsigned hits[MAX_LANGS + 1] = { 0 };
	uint32_t several[DETECT_CHUNK];
	size_t k, i, end, ns;
	int j;

	for (k = 0; k < n; k = end) {
		end = n - k < DETECT_CHUNK ? n : k + DETECT_CHUNK;
		ns = 0;
		for (i = k; i < end; i++) {
			uint32_t m = langs[i];
			uint32_t multi = (m & (m - 1)) != 0;

			several[ns] = m;
			ns += multi;
			/* a word of several lists counts as none here */
			hits[low_bit((uint64_t)(m & (multi - 1)) |
				     1ull << MAX_LANGS)]++;
		}
		t.any += (unsigned)ns;
		/* a language at a time: a sum the compiler vectorizes */
		for (j = 0; j < sw->nlangs; j++) {
			unsigned c = 0;

			for (i = 0; i < ns; i++)
				c += several[i] >> j & 1;
			t.hits[j] += c;
		}
	}
	for (j = 0; j < MAX_LANGS; j++) {
		t.hits[j] += hits[j];
		t.only[j] += hits[j];
		t.any += hits[j];
	}
	return tally_best(&t, sw);
}

int dedup_stopwords_detect(const struct dedup_stopwords *sw,
			   const struct dedup_tokens *toks)
{
	struct tally t = { { 0 }, { 0 }, 0 };
	size_t k;

	for (k = 0; k < toks->n; k++)
		tally_add(&t, dedup_stopwords_langs(sw, toks->v[k].hash));
	return tally_best(&t, sw);
}
