/* pathstore.c - front-coded paths (see pathstore.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pathstore.h"

void pathstore_release(struct pathstore *ps)
{
	free(ps->bytes);
	free(ps->block);
	free(ps->last);
	memset(ps, 0, sizeof(*ps));
}

/* Room for n more bytes in *v (of *alloc); -1 when out of memory. */
static int grow(void **v, size_t *alloc, size_t used, size_t n, size_t size)
{
	size_t na;
	void *p;

	if (n <= *alloc - used)
		return 0;
	if (n > SIZE_MAX / size - used)
		return -1;
	na = *alloc ? *alloc : 64;
	while (na - used < n)
		na = na > SIZE_MAX / size / 2 ? SIZE_MAX / size : na * 2;
	p = realloc(*v, na * size);
	if (!p)
		return -1;
	*v = p;
	*alloc = na;
	return 0;
}

static unsigned char *put_varint(unsigned char *p, size_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

static size_t get_varint(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	size_t v = 0;
	unsigned shift = 0;

	while (*p & 0x80) {
		v |= (size_t)(*p++ & 0x7f) << shift;
		shift += 7;
	}
	v |= (size_t)*p++ << shift;
	*pp = p;
	return v;
}

int pathstore_add(struct pathstore *ps, const char *path)
{
	size_t len = strlen(path), pre = 0, rest;
	unsigned char *p;
	void *v;

	if (ps->n % PATHSTORE_BLOCK) {
		/* the previous path, NUL-terminated: a shorter one stops it */
		while (pre < len && ps->last[pre] == path[pre])
			pre++;
	} else {
		v = ps->block;
		if (grow(&v, &ps->nblock_alloc, ps->n / PATHSTORE_BLOCK, 1,
			 sizeof(*ps->block)))
			return -1;
		ps->block = v;
	}
	rest = len - pre;
	/* two varints of at most 10 bytes each, then the rest */
	v = ps->bytes;
	if (rest > SIZE_MAX - 20 ||
	    grow(&v, &ps->alloc, ps->used, rest + 20, 1))
		return -1;
	ps->bytes = v;
	if (len >= ps->last_alloc) {
		char *l = realloc(ps->last, len + 1);

		if (!l)
			return -1;
		ps->last = l;
		ps->last_alloc = len + 1;
	}
	if (!(ps->n % PATHSTORE_BLOCK))
		ps->block[ps->n / PATHSTORE_BLOCK] = ps->used;
	p = put_varint(ps->bytes + ps->used, pre);
	p = put_varint(p, rest);
	memcpy(p, path + pre, rest);
	ps->used = (size_t)(p + rest - ps->bytes);
	memcpy(ps->last + pre, path + pre, rest + 1);
	if (len > ps->max)
		ps->max = len;
	ps->n++;
	return 0;
}

char *pathstore_get(const struct pathstore *ps, size_t i, char *dst)
{
	const unsigned char *p = ps->bytes + ps->block[i / PATHSTORE_BLOCK];
	size_t k = i % PATHSTORE_BLOCK, len;

	for (;;) {
		size_t pre = get_varint(&p), rest = get_varint(&p);

		memcpy(dst + pre, p, rest);
		p += rest;
		len = pre + rest;
		if (!k--)
			break;
	}
	dst[len] = '\0';
	return dst;
}
