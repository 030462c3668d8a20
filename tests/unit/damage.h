/*
 * damage.h - synthetic mojibake for tests and benchmarks (header-only).
 *
 * A damage chain is one to three wrong decodings applied in turn: the UTF-8
 * bytes of the text are read as a legacy code page (Windows-1252, Latin-1,
 * Windows-1250/1251/1253/1254/1257, ISO-8859-2, Mac Roman, CP437), the
 * result is encoded as UTF-8 again, and so on. A layer may lose the bytes
 * its code page leaves undefined (dropped or turned into U+FFFD) and the
 * first may go through CESU-8. Lossless chains must be undone exactly.
 *
 * All state is in the caller's structs; buffers passed in are owned by the
 * caller and reset by the functions that fill them.
 */
#ifndef DEDUP_TEST_DAMAGE_H
#define DEDUP_TEST_DAMAGE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dedup/buf.h"
#include "dedup/repair.h"

struct damage_rng {
	uint64_t s; /* any non-zero seed */
};

/* xorshift64*: small, fast, reproducible across platforms. */
static inline uint64_t damage_next(struct damage_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static inline unsigned damage_below(struct damage_rng *r, unsigned n)
{
	return (unsigned)((damage_next(r) >> 33) % n);
}

struct damage_chain {
	unsigned n;            /* number of wrong decodings, 1..3 */
	const char *cp[3];     /* code page of each */
	unsigned flags[3];     /* DEDUP_MOJIBAKE_* of each */
	char desc[160];
};

/* Pick a random chain; `lossy` allows layers that lose bytes. */
static inline void damage_pick(struct damage_rng *r, struct damage_chain *c,
			       int lossy)
{
	unsigned ncp = 0, i, roll;
	size_t len = 0;

	while (dedup_repair_codepage(ncp))
		ncp++;
	roll = damage_below(r, 8);
	c->n = roll < 5 ? 1 : roll < 7 ? 2 : 3;
	c->desc[0] = '\0';
	for (i = 0; i < c->n; i++) {
		/* Windows-1252 is by far the most common wrong decoding. */
		c->cp[i] = dedup_repair_codepage(damage_below(r, 3) ? 0 :
						 damage_below(r, ncp));
		c->flags[i] = 0;
		if (i == 0 && damage_below(r, 8) == 0)
			c->flags[i] |= DEDUP_MOJIBAKE_CESU;
		if (lossy && damage_below(r, 3) == 0)
			c->flags[i] |= damage_below(r, 2) ? DEDUP_MOJIBAKE_DROP
							  : DEDUP_MOJIBAKE_FFFD;
		len += (size_t)snprintf(c->desc + len, sizeof(c->desc) - len,
					"%s%s%s%s", i ? " > " : "", c->cp[i],
					c->flags[i] & DEDUP_MOJIBAKE_CESU ?
						"+cesu" : "",
					c->flags[i] & DEDUP_MOJIBAKE_DROP ?
						"+drop" :
					c->flags[i] & DEDUP_MOJIBAKE_FFFD ?
						"+fffd" : "");
		if (len >= sizeof(c->desc))
			len = sizeof(c->desc) - 1;
	}
}

static inline const char *damage_describe(const struct damage_chain *c)
{
	return c->desc;
}

/* Apply chain c to the UTF-8 text s into out. */
static inline dedup_status damage_apply(const struct damage_chain *c,
					const char *s, size_t n,
					struct dedup_buf *out)
{
	struct dedup_buf tmp = DEDUP_BUF_INIT;
	dedup_status st = DEDUP_OK;
	unsigned i;

	dedup_buf_reset(out);
	st = dedup_buf_add(out, s, n);
	for (i = 0; i < c->n && !st; i++) {
		dedup_buf_reset(&tmp);
		st = dedup_repair_mojibake(out->buf, out->len, c->cp[i],
					   c->flags[i], &tmp, NULL);
		dedup_buf_reset(out);
		if (!st)
			st = dedup_buf_add(out, tmp.buf, tmp.len);
	}
	dedup_buf_release(&tmp);
	return st;
}

/*
 * Whether the repair must undo chain c on text s exactly: no layer lost
 * bytes, and the text is not too short to carry evidence (a lone
 * accented letter in an ASCII sentence can honestly be left alone).
 */
static inline int damage_recoverable(const struct damage_chain *c,
				     const char *s, size_t n)
{
	unsigned i;
	size_t j, high = 0;

	for (i = 0; i < c->n; i++)
		if (c->flags[i] & (DEDUP_MOJIBAKE_DROP | DEDUP_MOJIBAKE_FFFD))
			return 0;
	for (j = 0; j < n; j++)
		if ((unsigned char)s[j] >= 0xC0)
			high++;
	return high == 0 || high >= 2;
}

/*
 * Damage a document line by line: each line stays clean or gets its own
 * random chain (probability `pct` percent), as when a page is assembled
 * from sources with different faults.
 */
static inline dedup_status damage_lines(struct damage_rng *r, const char *s,
					size_t n, unsigned pct, int lossy,
					struct dedup_buf *out)
{
	struct dedup_buf line = DEDUP_BUF_INIT;
	struct damage_chain c;
	const char *e;
	size_t len;
	dedup_status st = DEDUP_OK;

	dedup_buf_reset(out);
	while (n && !st) {
		e = memchr(s, '\n', n);
		len = e ? (size_t)(e - s) + 1 : n;
		if (damage_below(r, 100) < pct) {
			damage_pick(r, &c, lossy);
			st = damage_apply(&c, s, len, &line);
			if (!st)
				st = dedup_buf_add(out, line.buf, line.len);
		} else {
			st = dedup_buf_add(out, s, len);
		}
		s += len;
		n -= len;
	}
	dedup_buf_release(&line);
	return st;
}

#endif
