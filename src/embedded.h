/*
 * embedded.h - data files compiled into the library (internal).
 *
 * The build turns the rule files (data/rules) and stopword lists
 * (data/stopwords) into byte
 * arrays (cmake/embed.cmake). Each array is NUL-terminated past `len` so it
 * can also be read as a string. Static storage: nothing to free.
 */
#ifndef DEDUP_EMBEDDED_H
#define DEDUP_EMBEDDED_H

#include <stddef.h>

struct dedup_embedded {
	const char *name; /* path relative to data/, e.g. "stopwords/en.txt" */
	const char *data;
	size_t len;
};

/* Table ending with a NULL name. */
extern const struct dedup_embedded dedup_embedded_files[];

/* The file called `name`, or NULL. */
const struct dedup_embedded *dedup_embedded_find(const char *name);

#endif
