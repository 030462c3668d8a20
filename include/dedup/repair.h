/*
 * repair.h - stage 1: decode raw bytes to UTF-8 and undo mojibake.
 *
 * Valid UTF-8 passes through; other input (UTF-16/32 with a BOM, UTF-8
 * holding stray bytes or CESU-8 surrogate pairs, legacy code pages found by
 * a byte histogram or ICU) is converted. Then spans that are UTF-8 wrongly
 * decoded through a legacy code page (Windows-1250/1251/1252/1253/1254/
 * 1257, Latin-1, ISO-8859-2, Mac Roman, CP437; one or more layers; bytes
 * lost on the way) are re-encoded and decoded again, C1 leftovers of
 * Windows-1252 and HTML character references (outside markup and code) are
 * resolved, and the result is put in NFC. A character whose lost byte
 * leaves several readings becomes U+FFFD; nothing is invented. Clean text
 * comes back byte-identical (after NFC), and repairing twice changes
 * nothing more.
 *
 * A struct dedup_repair holds ICU converters and scratch space: create one
 * per thread and reuse it for every document. The caller owns `out`.
 */
#ifndef DEDUP_REPAIR_H
#define DEDUP_REPAIR_H

#include "dedup/buf.h"
#include "dedup/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dedup_repair;

/* What happened to one document, for messages and `dedup explain`. */
struct dedup_repair_report {
	const char *encoding; /* source encoding as detected ("UTF-8",
				 "windows-1252", "UTF-16LE"...), static */
	unsigned converted;   /* 1 if the input was not UTF-8 */
	unsigned spans_fixed; /* mojibake spans and C1 controls repaired */
	unsigned entities;    /* HTML character references resolved */
	unsigned bom;         /* 1 if a byte order mark was dropped */
};

dedup_status dedup_repair_new(struct dedup_repair **out,
			      struct dedup_error *err);
void dedup_repair_free(struct dedup_repair *r);

/*
 * Decode `len` bytes at `in` into `out` (reset first) as valid, repaired,
 * NFC-normalized UTF-8. Returns DEDUP_OK, DEDUP_EBINARY when the bytes are
 * not text (NUL bytes, or no plausible encoding; err says which), or
 * DEDUP_ENOMEM / DEDUP_EICU. `rep` may be NULL.
 */
dedup_status dedup_repair_decode(struct dedup_repair *r, const char *in,
				 size_t len, struct dedup_buf *out,
				 struct dedup_repair_report *rep,
				 struct dedup_error *err);

/*
 * The same without a copy: *text is `in` itself when the bytes are clean,
 * valid UTF-8 in NFC (most are: nothing else has to touch them), else
 * text held by r, valid until the next call with r. *text_len bytes,
 * not NUL-terminated when *text is `in`.
 */
dedup_status dedup_repair_text(struct dedup_repair *r, const char *in,
			       size_t len, const char **text,
			       size_t *text_len,
			       struct dedup_repair_report *rep,
			       struct dedup_error *err);

/* Flags for dedup_repair_mojibake(). */
enum {
	DEDUP_MOJIBAKE_DROP = 1, /* bytes the code page leaves undefined are
				    dropped (default: kept as C1 controls) */
	DEDUP_MOJIBAKE_FFFD = 2, /* ... or replaced by U+FFFD */
	DEDUP_MOJIBAKE_CESU = 4, /* astral characters go through CESU-8
				    (Java's modified UTF-8) first */
};

/*
 * Synthetic damage, for tests and benchmarks: append to `out` what a wrong
 * decoder makes of the UTF-8 text `in` when it reads its bytes as
 * `codepage` (one of the names dedup_repair_codepage() returns). Returns
 * DEDUP_EINVAL for an unknown code page, DEDUP_ENOMEM.
 */
dedup_status dedup_repair_mojibake(const char *in, size_t len,
				   const char *codepage, unsigned flags,
				   struct dedup_buf *out,
				   struct dedup_error *err);

/* Name of the i-th code page whose mojibake is undone, NULL past the end. */
const char *dedup_repair_codepage(unsigned i);

#ifdef __cplusplus
}
#endif
#endif
