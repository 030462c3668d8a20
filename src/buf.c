/* buf.c - growable NUL-terminated byte buffer (see dedup/buf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/buf.h"

char dedup_buf_empty_[1];

void dedup_buf_init(struct dedup_buf *b)
{
	b->buf = dedup_buf_empty_;
	b->len = 0;
	b->alloc = 0;
	b->cap = 0;
}

void dedup_buf_release(struct dedup_buf *b)
{
	if (b->alloc)
		free(b->buf);
	b->buf = dedup_buf_empty_;
	b->len = 0;
	b->alloc = 0;
}

dedup_status dedup_buf_grow(struct dedup_buf *b, size_t extra)
{
	size_t need, nalloc;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return DEDUP_ENOMEM;
	need = b->len + extra + 1;
	if (b->cap && need - 1 > b->cap)
		return DEDUP_ENOMEM;
	if (need <= b->alloc)
		return DEDUP_OK;
	nalloc = b->alloc ? b->alloc : 64;
	while (nalloc < need)
		nalloc = nalloc > SIZE_MAX / 2 ? need : nalloc * 2;
	p = b->alloc ? realloc(b->buf, nalloc) : malloc(nalloc);
	if (!p)
		return DEDUP_ENOMEM;
	if (!b->alloc)
		p[0] = '\0';
	b->buf = p;
	b->alloc = nalloc;
	return DEDUP_OK;
}

dedup_status dedup_buf_add(struct dedup_buf *b, const void *data, size_t n)
{
	dedup_status st = dedup_buf_grow(b, n);

	if (st)
		return st;
	if (n)
		memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return DEDUP_OK;
}

dedup_status dedup_buf_addstr(struct dedup_buf *b, const char *s)
{
	return dedup_buf_add(b, s, strlen(s));
}

dedup_status dedup_buf_addch(struct dedup_buf *b, int c)
{
	char ch = (char)c;

	return dedup_buf_add(b, &ch, 1);
}

dedup_status dedup_buf_vaddf(struct dedup_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	dedup_status st;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return DEDUP_EINVAL;
	st = dedup_buf_grow(b, (size_t)n);
	if (st)
		return st;
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return DEDUP_OK;
}

dedup_status dedup_buf_addf(struct dedup_buf *b, const char *fmt, ...)
{
	va_list ap;
	dedup_status st;

	va_start(ap, fmt);
	st = dedup_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return st;
}

void dedup_buf_setlen(struct dedup_buf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	b->len = n;
	if (b->alloc)
		b->buf[n] = '\0';
}

char *dedup_buf_detach(struct dedup_buf *b, size_t *len)
{
	char *p;

	if (!b->alloc && dedup_buf_grow(b, 0))
		return NULL;
	if (!b->alloc) {
		p = malloc(1);
		if (p)
			p[0] = '\0';
	} else {
		p = b->buf;
	}
	if (len)
		*len = b->len;
	b->buf = dedup_buf_empty_;
	b->len = 0;
	b->alloc = 0;
	return p;
}
