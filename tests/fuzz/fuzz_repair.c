/*
 * fuzz_repair.c - stage 1 on arbitrary bytes: decoding (BOMs, UTF-16,
 * charset detection), mojibake repair, character references, NFC.
 *
 * Properties: any input either decodes or is refused as binary; what comes
 * out is valid UTF-8 without NUL bytes, and is itself accepted as text when
 * decoded again unless it holds control characters (the binary test is a
 * density of them, and repair can shorten the text around them). That a
 * second repair changes nothing is not asserted: a repaired text may still
 * read as mojibake of one more layer.
 */
#include <string.h>

#include "dedup/repair.h"
#include "fuzz_util.h"

static struct dedup_repair *rp;
static struct dedup_buf out = DEDUP_BUF_INIT, again = DEDUP_BUF_INIT;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct dedup_error err;

	if (dedup_repair_new(&rp, &err)) {
		fprintf(stderr, "fuzz_repair: %s\n", err.msg);
		abort();
	}
	return 0;
}

static int has_controls(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 && !strchr("\t\n\r\f\v\x1b",
							  s[i]))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dedup_repair_report rep;
	struct dedup_error err;
	dedup_status st;

	st = dedup_repair_decode(rp, (const char *)data, size, &out, &rep,
				 &err);
	if (st == DEDUP_EBINARY || st == DEDUP_ENOMEM)
		return 0;
	FUZZ_CHECK(st == DEDUP_OK, "status %d: %s", st, err.msg);
	FUZZ_CHECK(rep.encoding != NULL, "no encoding reported");
	FUZZ_CHECK(fuzz_utf8_valid(out.buf, out.len), "output not UTF-8");
	FUZZ_CHECK(memchr(out.buf, '\0', out.len) == NULL, "NUL in output");
	FUZZ_CHECK(out.buf[out.len] == '\0', "output not terminated");

	st = dedup_repair_decode(rp, out.buf, out.len, &again, NULL, &err);
	FUZZ_CHECK(st == DEDUP_OK || st == DEDUP_ENOMEM ||
		   (st == DEDUP_EBINARY && has_controls(out.buf, out.len)),
		   "repaired text refused: status %d: %s", st, err.msg);
	return 0;
}
