/* common.c - status strings and error details. */
#include <stdarg.h>
#include <stdio.h>

#include "dedup/common.h"

static const char *const status_text[DEDUP_STATUS_COUNT] = {
	[DEDUP_OK] = "success",
	[DEDUP_DONE] = "no more items",
	[DEDUP_ENOMEM] = "out of memory",
	[DEDUP_EIO] = "input/output error",
	[DEDUP_EINVAL] = "invalid argument",
	[DEDUP_EBINARY] = "binary data, not text",
	[DEDUP_ETOOBIG] = "input too large",
	[DEDUP_ERULE] = "bad rule",
	[DEDUP_EICU] = "unicode library error",
	[DEDUP_EFORMAT] = "malformed or corrupt file",
	[DEDUP_ESETTINGS] = "built with other settings",
	[DEDUP_ELOCKED] = "locked by another process",
	[DEDUP_ELIMIT] = "match limit reached",
};

const char *dedup_strerror(dedup_status status)
{
	if ((unsigned)status >= DEDUP_STATUS_COUNT)
		return "unknown error";
	return status_text[status];
}

void dedup_error_clear(struct dedup_error *err)
{
	if (!err)
		return;
	err->code = DEDUP_OK;
	err->msg[0] = '\0';
}

dedup_status dedup_error_set(struct dedup_error *err, dedup_status code,
			     const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}
