/*
 * sitenames.c - words of site names, learned from headlines (dedup/sig.h).
 *
 * A scraped page's first line is usually its title, "headline - Site" or
 * "Site | headline": split at such separators, the longest piece is the
 * headline, and the pieces after it that recur across documents name a
 * site. Each distinct piece is counted once per document; at most
 * MAX_PIECES distinct pieces are tracked, so memory stays bounded.
 */
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dedup/sig.h"
#include "dedup/tokenize.h"

#define MAX_PIECES (1u << 20)
#define PIECE_WORDS 8   /* words of a piece remembered */
#define MAX_LINE 512    /* a longer first line is not a title */

struct piece {
	uint64_t key;   /* hash of the piece's words, 0: empty slot */
	uint32_t docs;
	uint32_t nwords;
	uint64_t words[PIECE_WORDS];
};

struct dedup_sitenames {
	struct piece *v;
	size_t mask, used;
	uint64_t *stop;  /* frozen: words of recurring pieces */
	size_t stopmask;
};

dedup_status dedup_sitenames_new(struct dedup_sitenames **out)
{
	struct dedup_sitenames *sn = calloc(1, sizeof(*sn));

	*out = NULL;
	if (!sn)
		return DEDUP_ENOMEM;
	sn->v = calloc(256, sizeof(*sn->v));
	if (!sn->v) {
		free(sn);
		return DEDUP_ENOMEM;
	}
	sn->mask = 255;
	*out = sn;
	return DEDUP_OK;
}

void dedup_sitenames_free(struct dedup_sitenames *sn)
{
	if (!sn)
		return;
	free(sn->v);
	free(sn->stop);
	free(sn);
}

static struct piece *slot(struct piece *v, size_t mask, uint64_t key)
{
	size_t i = (size_t)(key >> 11) & mask;

	while (v[i].key && v[i].key != key)
		i = (i + 1) & mask;
	return &v[i];
}

static int grow(struct dedup_sitenames *sn)
{
	size_t cap = (sn->mask + 1) * 2, i;
	struct piece *v = calloc(cap, sizeof(*v));

	if (!v)
		return -1;
	for (i = 0; i <= sn->mask; i++)
		if (sn->v[i].key)
			*slot(v, cap - 1, sn->v[i].key) = sn->v[i];
	free(sn->v);
	sn->v = v;
	sn->mask = cap - 1;
	return 0;
}

static dedup_status add_piece(struct dedup_sitenames *sn,
			      const struct piece *p)
{
	struct piece *s;

	if ((sn->used + 1) * 4 > (sn->mask + 1) * 3) {
		if (sn->used >= MAX_PIECES)
			return DEDUP_OK; /* full: later pieces are ignored */
		if (grow(sn))
			return DEDUP_ENOMEM;
	}
	s = slot(sn->v, sn->mask, p->key);
	if (!s->key) {
		*s = *p;
		sn->used++;
	} else {
		s->docs += p->docs;
	}
	return DEDUP_OK;
}

/* Separators between a headline and a site name: " - ", " | ", " :: "... */
static size_t separator_at(const char *s, size_t i, size_t len)
{
	static const char *const seps[] = {
		" | ", " - ", " – ", " — ", " :: ", " : ", " · ", " « ", " » ",
	};
	size_t k;

	for (k = 0; k < sizeof(seps) / sizeof(seps[0]); k++) {
		size_t n = strlen(seps[k]);

		if (i + n <= len && !memcmp(s + i, seps[k], n))
			return n;
	}
	return 0;
}

dedup_status dedup_sitenames_observe(struct dedup_sitenames *sn,
				     const char *line, size_t len,
				     const struct dedup_tokens *toks)
{
	size_t start[32], end[32], np = 0, i, best = 0, k;
	dedup_status st;

	if (len > MAX_LINE || !toks->n)
		return DEDUP_OK;
	start[0] = 0;
	for (i = 0; i < len && np < 31; i++) {
		size_t n = separator_at(line, i, len);

		if (n) {
			end[np++] = i;
			start[np] = i + n;
			i += n - 1;
		}
	}
	end[np++] = len;
	if (np < 2)
		return DEDUP_OK;
	for (k = 1; k < np; k++)
		if (end[k] - start[k] > end[best] - start[best])
			best = k;
	/* pieces after the headline: the site's name and section */
	for (k = best + 1; k < np; k++) {
		struct piece p;
		XXH3_state_t h;

		memset(&p, 0, sizeof(p));
		p.docs = 1;
		XXH3_64bits_reset(&h);
		for (i = 0; i < toks->n; i++) {
			const struct dedup_token *t = &toks->v[i];

			if (t->src < start[k] || t->src >= end[k])
				continue;
			XXH3_64bits_update(&h, &t->hash, sizeof(t->hash));
			if (p.nwords < PIECE_WORDS &&
			    !(t->flags & DEDUP_TOK_NUMBER))
				p.words[p.nwords++] = t->hash;
		}
		if (!p.nwords)
			continue;
		p.key = XXH3_64bits_digest(&h) | 1;
		st = add_piece(sn, &p);
		if (st)
			return st;
	}
	return DEDUP_OK;
}

dedup_status dedup_sitenames_merge(struct dedup_sitenames *dst,
				   const struct dedup_sitenames *src)
{
	size_t i;
	dedup_status st;

	for (i = 0; i <= src->mask; i++) {
		if (!src->v[i].key)
			continue;
		st = add_piece(dst, &src->v[i]);
		if (st)
			return st;
	}
	return DEDUP_OK;
}

void dedup_sitenames_freeze(struct dedup_sitenames *sn, uint32_t min_docs)
{
	size_t words = 0, cap = 64, i, k;

	free(sn->stop);
	sn->stop = NULL;
	for (i = 0; i <= sn->mask; i++)
		if (sn->v[i].key && sn->v[i].docs >= min_docs)
			words += sn->v[i].nwords;
	if (!words)
		return;
	while (cap < words * 2)
		cap *= 2;
	sn->stop = calloc(cap, sizeof(*sn->stop));
	if (!sn->stop)
		return; /* without the list, site words merely stay terms */
	sn->stopmask = cap - 1;
	for (i = 0; i <= sn->mask; i++) {
		if (!sn->v[i].key || sn->v[i].docs < min_docs)
			continue;
		for (k = 0; k < sn->v[i].nwords; k++) {
			uint64_t h = sn->v[i].words[k] | 1;
			size_t j = (size_t)(h >> 7) & sn->stopmask;

			while (sn->stop[j] && sn->stop[j] != h)
				j = (j + 1) & sn->stopmask;
			sn->stop[j] = h;
		}
	}
}

int dedup_sitenames_has(const struct dedup_sitenames *sn, uint64_t hash)
{
	size_t j;

	if (!sn->stop)
		return 0;
	hash |= 1;
	for (j = (size_t)(hash >> 7) & sn->stopmask; sn->stop[j];
	     j = (j + 1) & sn->stopmask)
		if (sn->stop[j] == hash)
			return 1;
	return 0;
}
