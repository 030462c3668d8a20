/*
 * buf.h - a growable byte buffer, always NUL-terminated, never NULL.
 *
 * Modelled on git's strbuf: `buf` points at a valid string even before the
 * first append (a shared empty string), so it can be printed or compared at
 * any time. `len` excludes the terminating NUL. The struct is embedded by the
 * caller: dedup_buf_init() before use, dedup_buf_release() to free the
 * memory. Appends that would grow the buffer beyond `cap` (0: no cap besides
 * SIZE_MAX) or fail to allocate return DEDUP_ENOMEM and leave the contents
 * as they were: callers must check them.
 */
#ifndef DEDUP_BUF_H
#define DEDUP_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "dedup/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dedup_buf {
	char *buf;
	size_t len;
	size_t alloc; /* 0 while buf is the shared empty string */
	size_t cap;   /* maximum len, 0 for none */
};

#define DEDUP_BUF_INIT { dedup_buf_empty_, 0, 0, 0 }
extern char dedup_buf_empty_[];

void dedup_buf_init(struct dedup_buf *b);
void dedup_buf_release(struct dedup_buf *b);
/* Empty the buffer but keep its memory for reuse. */
static inline void dedup_buf_reset(struct dedup_buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->buf[0] = '\0';
}
/* Make room for `extra` more bytes after len (plus the NUL). */
dedup_status dedup_buf_grow(struct dedup_buf *b, size_t extra);
dedup_status dedup_buf_add(struct dedup_buf *b, const void *data, size_t n);
dedup_status dedup_buf_addstr(struct dedup_buf *b, const char *s);
dedup_status dedup_buf_addch(struct dedup_buf *b, int c);
dedup_status dedup_buf_addf(struct dedup_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
dedup_status dedup_buf_vaddf(struct dedup_buf *b, const char *fmt, va_list ap);
/* Set len to n (n <= len) and terminate. */
void dedup_buf_setlen(struct dedup_buf *b, size_t n);
/* Hand the memory to the caller (malloc'd, NUL-terminated) and reinit b. */
char *dedup_buf_detach(struct dedup_buf *b, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
