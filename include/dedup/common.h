/*
 * common.h - status codes, error details and version of the dedup library.
 *
 * Every fallible library call returns a dedup_status (DEDUP_OK is 0) and,
 * when the caller passes a struct dedup_error, fills it with a one-line
 * message naming the subject ("rule 12 in 'site.rules': missing ) at
 * offset 7"). The library never prints and never exits.
 */
#ifndef DEDUP_COMMON_H
#define DEDUP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DEDUP_VERSION_MAJOR 0
#define DEDUP_VERSION_MINOR 1
#define DEDUP_VERSION_PATCH 0
#define DEDUP_VERSION_STRING "0.1.0"

typedef enum dedup_status {
	DEDUP_OK = 0,
	DEDUP_DONE,      /* a stepwise reader has nothing more (not an error) */
	DEDUP_ENOMEM,    /* out of memory, or a size limit was reached */
	DEDUP_EIO,       /* reading or writing failed (errno in the message) */
	DEDUP_EINVAL,    /* bad argument or option value */
	DEDUP_EBINARY,   /* input is not text (NUL bytes, no plausible encoding) */
	DEDUP_ETOOBIG,   /* input exceeds a documented maximum */
	DEDUP_ERULE,     /* a boilerplate rule does not parse or compile */
	DEDUP_EICU,      /* ICU reported an error */
	DEDUP_EFORMAT,   /* a file of ours (index, list) is malformed or corrupt */
	DEDUP_ESETTINGS, /* an index was built with other settings */
	DEDUP_ELOCKED,   /* another process holds the lock */
	DEDUP_ELIMIT,    /* a match or recursion limit stopped a rule */
	DEDUP_STATUS_COUNT
} dedup_status;

/* Short, static, lowercase description of a status ("out of memory"). */
const char *dedup_strerror(dedup_status status);

/*
 * Caller-owned detail for a failed call. A NULL pointer may be passed
 * wherever a struct dedup_error * is taken: the detail is then dropped.
 */
struct dedup_error {
	dedup_status code;
	char msg[512];
};

/* Reset to DEDUP_OK with an empty message. */
void dedup_error_clear(struct dedup_error *err);

/*
 * Record code and a printf-style message into err (if not NULL) and return
 * code, so that callers can write `return dedup_error_set(err, ...)`.
 */
dedup_status dedup_error_set(struct dedup_error *err, dedup_status code,
			     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
