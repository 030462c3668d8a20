/*
 * repair.c - stage 1: decode bytes to UTF-8 and undo mojibake.
 *
 * Three steps (see dedup/repair.h for the contract):
 *
 * 1. Decode. Byte order marks pick UTF-8/16/32; valid UTF-8 is taken as
 *    is; UTF-8 with a few stray bytes (or CESU-8 surrogate pairs) is mended
 *    byte by byte; anything else is read in the 8-bit code page that a
 *    histogram of its bytes picks (repair_detect.c), or when that is
 *    unsure, in what ICU charset detection finds.
 *
 * 2. Fast path. Most documents hold nothing that could be mojibake: a scan
 *    looks for a character that a legacy code page puts at a UTF-8 lead
 *    byte followed by one that it puts at a continuation byte, for C1
 *    controls, U+FFFD and '&'. Without them the text is only checked for
 *    NFC and copied.
 *
 * 3. Repair. The text becomes an array of code points. HTML character
 *    references are resolved outside markup and code. Then, layer after
 *    layer, every supported code page proposes "units": runs of characters
 *    whose bytes in that code page form one UTF-8 sequence (allowing for one
 *    byte lost, or replaced by U+FFFD, or a no-break space turned into a
 *    space). Adjacent units form spans, and a span is replaced only when a
 *    badness score (implausible character pairs, in the spirit of ftfy)
 *    drops clearly, or drops and the document already holds clear mojibake.
 *    The code page that explains most of the text wins the layer (the
 *    scores live in repair_score.c). Leftover C1 controls get their
 *    Windows-1252 meaning, and the result is put in NFC.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/ucnv.h>
#include <unicode/ucsdet.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dedup/repair.h"
#include "repair_int.h"

/* Code pages whose mojibake we undo, in order of preference on ties. */
enum {
	CP_1252,
	CP_LATIN1,
	CP_1254,
	CP_1250,
	CP_8859_2,
	CP_1251,
	CP_1253,
	CP_1257,
	CP_MAC,
	CP_437,
	NCP
};

static const char *const cp_icu[NCP] = {
	[CP_1252] = "windows-1252",  [CP_LATIN1] = "ISO-8859-1",
	[CP_1254] = "windows-1254",  [CP_1250] = "windows-1250",
	[CP_8859_2] = "ISO-8859-2",  [CP_1251] = "windows-1251",
	[CP_1253] = "windows-1253",  [CP_1257] = "windows-1257",
	[CP_MAC] = "macintosh",      [CP_437] = "ibm-437",
};

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
/*
 * Separates the lines taken into the code point array; past U+10FFFF, so
 * no unit, reference or repair can span it.
 */
#define SEP 0x110000u
#define NOTHING 0x110001u /* a unit that produces no character */
#define DIRECT_MAX 0x2600 /* code points below this have a direct slot */
#define MAX_SLOTS 1536
#define MAX_LAYERS 8
/*
 * ICU's charset detection costs about 2 ms a file, and a run repairs each
 * file in both of its passes: what it chose for the last MEMO_MAX such
 * files is remembered, by a hash of their bytes.
 */
#define MEMO_MAX 1024

/* One character of some code page's upper half, with its byte in each. */
struct slot {
	uint32_t cp;
	uint8_t byte[NCP]; /* 0: not in that code page */
	uint16_t lead;     /* code pages putting it at C2..F4 */
	uint16_t cont;     /* code pages putting it at 80..BF */
};

/* Read-only after init, shared by every context. */
static struct {
	uint32_t fwd[NCP][128];   /* byte 0x80+i -> code point ("sloppy") */
	uint8_t undef[NCP][128];  /* 1: byte undefined in the code page */
	unsigned nundef[NCP];
	uint8_t undef_list[NCP][32]; /* the undefined bytes in 80..BF */
	unsigned nundef_list[NCP];
	uint16_t direct[DIRECT_MAX];
	struct slot slots[MAX_SLOTS];
	unsigned nslots;
	uint16_t far[32];         /* slots of code points >= DIRECT_MAX */
	unsigned nfar;
	uint8_t nfc_simple[0x10000 / 8]; /* NFC_QC=yes and ccc=0 */
	dedup_status status;
	char msg[160];
} T;

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

struct dedup_repair {
	const UNormalizer2 *nfc;
	UCharsetDetector *det;
	struct dedup_buf text;   /* decoded UTF-8 */
	struct dedup_buf fixed;  /* repaired UTF-8, before NFC */
	struct dedup_buf normal; /* the text in NFC, when it was not */
	uint32_t *cp, *cp2;
	size_t cp_alloc, cp2_alloc;
	UChar *u16a, *u16b;
	size_t u16a_alloc, u16b_alloc;
	struct unit *units;
	size_t units_alloc;
	struct span *spans;
	size_t spans_alloc;
	size_t *hot;
	size_t hot_alloc, nhot;
	size_t *brk;             /* positions of '\n' and SEP in the layer */
	size_t brk_alloc, nbrk;
	size_t *lines;           /* a text's line lengths, << 1 | dirty */
	size_t lines_alloc;
	UConverter *cnv[32];     /* legacy converters, opened on first use */
	struct memo *memo;       /* ICU's choices, MEMO_MAX at most */
	size_t nmemo, memo_next; /* held; the next to replace when full */
};

/* ------------------------------------------------------------------ */
/* tables                                                              */

static struct slot *slot_of(uint32_t c)
{
	unsigned i;

	if (c < DIRECT_MAX)
		return T.direct[c] ? &T.slots[T.direct[c]] : NULL;
	for (i = 0; i < T.nfar; i++)
		if (T.slots[T.far[i]].cp == c)
			return &T.slots[T.far[i]];
	return NULL;
}

static struct slot *add_slot(uint32_t c)
{
	struct slot *s = slot_of(c);

	if (s)
		return s;
	if (T.nslots >= MAX_SLOTS)
		return NULL;
	if (c >= DIRECT_MAX && T.nfar >= sizeof(T.far) / sizeof(T.far[0]))
		return NULL;
	s = &T.slots[T.nslots];
	memset(s, 0, sizeof(*s));
	s->cp = c;
	if (c < DIRECT_MAX)
		T.direct[c] = (uint16_t)T.nslots;
	else
		T.far[T.nfar++] = (uint16_t)T.nslots;
	T.nslots++;
	return s;
}

int repair_high_bytes(const char *name, uint32_t out[128], int *err)
{
	UErrorCode st = U_ZERO_ERROR;
	UConverter *cnv = ucnv_open(name, &st);
	unsigned b;

	if (U_FAILURE(st)) {
		*err = (int)st;
		return -1;
	}
	ucnv_setToUCallBack(cnv, UCNV_TO_U_CALLBACK_STOP, NULL, NULL, NULL,
			    &st);
	for (b = 0x80; b < 0x100; b++) {
		char in = (char)b;
		UChar u[4];
		int32_t n;

		st = U_ZERO_ERROR;
		ucnv_reset(cnv);
		n = ucnv_toUChars(cnv, u, 4, &in, 1, &st);
		out[b - 0x80] = U_FAILURE(st) || n != 1 || u[0] == 0xFFFD ||
				u[0] == 0x1A ? 0 : u[0];
	}
	ucnv_close(cnv);
	return 0;
}

static void build_tables(void)
{
	uint32_t hi[128];
	unsigned p, b;
	uint32_t c;
	int err;

	T.nslots = 1; /* slot 0 means "none" */
	for (p = 0; p < NCP; p++) {
		if (repair_high_bytes(cp_icu[p], hi, &err)) {
			T.status = DEDUP_EICU;
			snprintf(T.msg, sizeof(T.msg),
				 "cannot open converter '%s': %s", cp_icu[p],
				 u_errorName((UErrorCode)err));
			return;
		}
		for (b = 0x80; b < 0x100; b++) {
			uint32_t u = hi[b - 0x80];

			if (!u || (p != CP_LATIN1 && p != CP_8859_2 &&
				   u == b && b < 0xA0)) {
				/*
				 * Undefined (ICU maps some to C1 controls,
				 * which only the ISO code pages define):
				 * decoders that do not fail keep the byte as
				 * the same-valued code point (what ftfy calls
				 * "sloppy" decoding).
				 */
				T.fwd[p][b - 0x80] = b;
				T.undef[p][b - 0x80] = 1;
				T.nundef[p]++;
				if (b < 0xC0)
					T.undef_list[p][T.nundef_list[p]++] =
						(uint8_t)b;
			} else {
				T.fwd[p][b - 0x80] = u;
			}
		}
		for (b = 0x80; b < 0x100; b++) {
			struct slot *s;

			c = T.fwd[p][b - 0x80];
			s = add_slot(c);
			if (!s) {
				T.status = DEDUP_ENOMEM;
				snprintf(T.msg, sizeof(T.msg),
					 "code page tables overflow");
				return;
			}
			if (s->byte[p])
				continue;
			s->byte[p] = (uint8_t)b;
			if (b >= 0xC2 && b <= 0xF4)
				s->lead |= (uint16_t)(1u << p);
			if (b <= 0xBF)
				s->cont |= (uint16_t)(1u << p);
		}
	}
	for (c = 0; c < 0x10000; c++) {
		if (u_getIntPropertyValue((UChar32)c, UCHAR_NFC_QUICK_CHECK) ==
			    UNORM_YES &&
		    u_getCombiningClass((UChar32)c) == 0)
			T.nfc_simple[c >> 3] |= (uint8_t)(1u << (c & 7));
	}
	T.status = DEDUP_OK;
}

/* Byte of c in code page p, or -1. */
static inline int enc(unsigned p, uint32_t c)
{
	const struct slot *s;

	if (c < 0x80)
		return (int)c;
	s = slot_of(c);
	if (!s || !s->byte[p])
		return -1;
	return s->byte[p];
}

static inline bool nfc_simple(uint32_t c)
{
	if (c < 0x300)
		return true;
	if (c < 0x10000)
		return T.nfc_simple[c >> 3] & (1u << (c & 7));
	if (c >= 0x1F000 && c < 0x1FB00)
		return true; /* emoji and pictographs */
	return u_getIntPropertyValue((UChar32)c, UCHAR_NFC_QUICK_CHECK) ==
		       UNORM_YES &&
	       u_getCombiningClass((UChar32)c) == 0;
}

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */

/*
 * Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid.
 * With `cesu`, a CESU-8 surrogate pair counts as one 6-byte sequence.
 */
static size_t utf8_seq(const unsigned char *s, size_t n, bool cesu)
{
	unsigned b0 = s[0];

	if (b0 < 0x80)
		return 1;
	if (b0 < 0xC2 || b0 > 0xF4)
		return 0;
	if (b0 < 0xE0)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (b0 < 0xF0) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (b0 == 0xE0 && s[1] < 0xA0)
			return 0;
		if (b0 == 0xED && s[1] >= 0xA0) {
			if (cesu && s[1] < 0xB0 && n >= 6 && s[3] == 0xED &&
			    s[4] >= 0xB0 && s[4] <= 0xBF &&
			    (s[5] & 0xC0) == 0x80)
				return 6;
			return 0;
		}
		return 3;
	}
	if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
	    (s[3] & 0xC0) != 0x80)
		return 0;
	if (b0 == 0xF0 && s[1] < 0x90)
		return 0;
	if (b0 == 0xF4 && s[1] >= 0x90)
		return 0;
	return 4;
}

/* Decode a sequence that utf8_seq() accepted. */
static uint32_t utf8_get(const unsigned char *s, size_t len)
{
	uint32_t hi, lo;

	switch (len) {
	case 1:
		return s[0];
	case 2:
		return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
	case 3:
		return ((uint32_t)(s[0] & 0x0F) << 12) |
		       ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
	case 4:
		return ((uint32_t)(s[0] & 0x07) << 18) |
		       ((uint32_t)(s[1] & 0x3F) << 12) |
		       ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
	default: /* CESU-8 pair */
		hi = utf8_get(s, 3);
		lo = utf8_get(s + 3, 3);
		return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
	}
}

static size_t utf8_put(char *o, uint32_t c)
{
	unsigned char *u = (unsigned char *)o;

	if (c < 0x80) {
		u[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		u[0] = (unsigned char)(0xC0 | (c >> 6));
		u[1] = (unsigned char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		u[0] = (unsigned char)(0xE0 | (c >> 12));
		u[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
		u[2] = (unsigned char)(0x80 | (c & 0x3F));
		return 3;
	}
	u[0] = (unsigned char)(0xF0 | (c >> 18));
	u[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
	u[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
	u[3] = (unsigned char)(0x80 | (c & 0x3F));
	return 4;
}

static dedup_status buf_put_cp(struct dedup_buf *b, uint32_t c)
{
	char tmp[4];

	return dedup_buf_add(b, tmp, utf8_put(tmp, c));
}

/* ------------------------------------------------------------------ */
/* context                                                             */

dedup_status dedup_repair_new(struct dedup_repair **out,
			      struct dedup_error *err)
{
	struct dedup_repair *r;
	UErrorCode st = U_ZERO_ERROR;

	*out = NULL;
	pthread_once(&tables_once, build_tables);
	if (T.status)
		return dedup_error_set(err, T.status, "repair tables: %s",
				       T.msg);
	r = calloc(1, sizeof(*r));
	if (!r)
		return dedup_error_set(err, DEDUP_ENOMEM,
				       "cannot allocate the repair context");
	dedup_buf_init(&r->text);
	dedup_buf_init(&r->fixed);
	dedup_buf_init(&r->normal);
	r->nfc = unorm2_getNFCInstance(&st);
	if (U_FAILURE(st))
		goto icu_fail;
	r->det = ucsdet_open(&st);
	if (U_FAILURE(st))
		goto icu_fail;
	*out = r;
	return DEDUP_OK;
icu_fail:
	dedup_repair_free(r);
	return dedup_error_set(err, DEDUP_EICU, "cannot set up ICU: %s",
			       u_errorName(st));
}

void dedup_repair_free(struct dedup_repair *r)
{
	size_t i;

	if (!r)
		return;
	if (r->det)
		ucsdet_close(r->det);
	for (i = 0; i < sizeof(r->cnv) / sizeof(r->cnv[0]); i++)
		if (r->cnv[i])
			ucnv_close(r->cnv[i]);
	dedup_buf_release(&r->text);
	dedup_buf_release(&r->fixed);
	dedup_buf_release(&r->normal);
	free(r->cp);
	free(r->cp2);
	free(r->u16a);
	free(r->u16b);
	free(r->units);
	free(r->spans);
	free(r->hot);
	free(r->brk);
	free(r->lines);
	free(r->memo);
	free(r);
}

static bool grow_array(void **p, size_t *alloc, size_t need, size_t elt)
{
	size_t n = *alloc ? *alloc : 256;
	void *q;

	if (need <= *alloc)
		return true;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elt)
			return false;
		n *= 2;
	}
	q = realloc(*p, n * elt);
	if (!q)
		return false;
	*p = q;
	*alloc = n;
	return true;
}

/* ------------------------------------------------------------------ */
/* step 1: decoding                                                    */

struct legacy {
	const char *detected; /* name ucsdet reports */
	const char *icu;      /* converter to use, NULL: our 1252 table */
};

/*
 * Encodings we accept from detection. ISO-8859-1 is read as Windows-1252
 * and ISO-8859-9 as Windows-1254, as browsers do (WHATWG Encoding
 * standard): the Windows code pages are supersets in practice.
 */
static const struct legacy legacy[] = {
	{ "ISO-8859-1", NULL },
	{ "windows-1252", NULL },
	{ "ISO-8859-2", "ISO-8859-2" },
	{ "windows-1250", "windows-1250" },
	{ "ISO-8859-5", "ISO-8859-5" },
	{ "windows-1251", "windows-1251" },
	{ "KOI8-R", "KOI8-R" },
	{ "ISO-8859-7", "ISO-8859-7" },
	{ "windows-1253", "windows-1253" },
	{ "ISO-8859-8", "ISO-8859-8" },
	{ "windows-1255", "windows-1255" },
	{ "ISO-8859-6", "ISO-8859-6" },
	{ "windows-1256", "windows-1256" },
	{ "ISO-8859-9", "windows-1254" },
	{ "windows-1254", "windows-1254" },
	{ "windows-1257", "windows-1257" }, /* from repair_detect_8bit() only */
	{ "Shift_JIS", "Shift_JIS" },
	{ "EUC-JP", "EUC-JP" },
	{ "EUC-KR", "EUC-KR" },
	{ "GB18030", "GB18030" },
	{ "Big5", "Big5" },
	{ "ISO-2022-JP", "ISO-2022-JP" },
	{ "ISO-2022-KR", "ISO-2022-KR" },
	{ "ISO-2022-CN", "ISO-2022-CN" },
};
#define NLEGACY (sizeof(legacy) / sizeof(legacy[0]))

/* Converters for the BOM encodings live after the legacy ones. */
enum { CNV_UTF16LE = NLEGACY, CNV_UTF16BE, CNV_UTF32LE, CNV_UTF32BE };
static const char *const bom_names[] = { "UTF-16LE", "UTF-16BE", "UTF-32LE",
					 "UTF-32BE" };

static dedup_status get_cnv(struct dedup_repair *r, size_t idx,
			    UConverter **out, struct dedup_error *err)
{
	const char *name = idx < NLEGACY ? legacy[idx].icu
					 : bom_names[idx - NLEGACY];
	UErrorCode st = U_ZERO_ERROR;

	if (!r->cnv[idx]) {
		r->cnv[idx] = ucnv_open(name, &st);
		if (U_FAILURE(st)) {
			r->cnv[idx] = NULL;
			return dedup_error_set(err, DEDUP_EICU,
					       "cannot open converter '%s': %s",
					       name, u_errorName(st));
		}
		ucnv_setToUCallBack(r->cnv[idx], UCNV_TO_U_CALLBACK_STOP, NULL,
				    NULL, NULL, &st);
	}
	ucnv_reset(r->cnv[idx]);
	*out = r->cnv[idx];
	return DEDUP_OK;
}

/*
 * Convert with ICU into r->text. Returns DEDUP_EBINARY (without message)
 * when the bytes are not valid in that encoding.
 */
static dedup_status icu_convert(struct dedup_repair *r, size_t idx,
				const char *in, size_t len,
				struct dedup_error *err)
{
	UConverter *cnv;
	UErrorCode st = U_ZERO_ERROR;
	int32_t n;
	size_t cap;
	dedup_status ret;

	ret = get_cnv(r, idx, &cnv, err);
	if (ret)
		return ret;
	/* Every byte gives at most one BMP character: 3 UTF-8 bytes. */
	if (len > (INT32_MAX - 4) / 3)
		return dedup_error_set(err, DEDUP_ETOOBIG,
				       "%zu bytes are too many to convert", len);
	cap = len * 3 + 4;
	dedup_buf_reset(&r->text);
	if (dedup_buf_grow(&r->text, cap))
		return dedup_error_set(err, DEDUP_ENOMEM,
				       "cannot convert %zu bytes", len);
	n = ucnv_toAlgorithmic(UCNV_UTF8, cnv, r->text.buf, (int32_t)cap, in,
			       (int32_t)len, &st);
	if (U_FAILURE(st))
		return DEDUP_EBINARY;
	r->text.len = (size_t)n;
	r->text.buf[n] = '\0';
	return DEDUP_OK;
}

/*
 * Byte c as Windows-1252 (undefined ones as C1 controls) in UTF-8 at o;
 * returns the bytes written, at most 3.
 */
static size_t put_1252(char *o, unsigned char c)
{
	if (c < 0x80) {
		*o = (char)c;
		return 1;
	}
	return utf8_put(o, T.fwd[CP_1252][c - 0x80]);
}

/*
 * Room in o for n input bytes written as UTF-8 by the loops below (3
 * bytes each at most: a stray byte read as Windows-1252; a CESU-8 pair
 * of 6 becomes 4), so that they write without a call a character.
 */
static dedup_status reserve_utf8(struct dedup_buf *o, size_t n)
{
	if (n > (SIZE_MAX - o->len - 2) / 3)
		return DEDUP_ENOMEM;
	return dedup_buf_grow(o, 3 * n);
}

/*
 * Mend UTF-8 holding a few bytes of something else: keep every valid
 * sequence (joining CESU-8 surrogate pairs, dropping modified UTF-8's
 * encoded NUL) and read the rest as Windows-1252, the usual source of
 * stray bytes.
 */
static dedup_status mend_utf8(struct dedup_buf *o, const unsigned char *s,
			      size_t n)
{
	size_t i = 0, k;
	char *w;

	if (reserve_utf8(o, n))
		return DEDUP_ENOMEM;
	w = o->buf + o->len;
	while (i < n) {
		/* Java's modified UTF-8 writes U+0000 as C0 80: not text */
		if (s[i] == 0xC0 && i + 1 < n && s[i + 1] == 0x80) {
			i += 2;
			continue;
		}
		k = utf8_seq(s + i, n - i, true);
		if (k == 6) {
			w += utf8_put(w, utf8_get(s + i, 6));
		} else if (k) {
			memcpy(w, s + i, k);
			w += k;
		} else {
			w += put_1252(w, s[i]);
			k = 1;
		}
		i += k;
	}
	o->len = (size_t)(w - o->buf);
	o->buf[o->len] = '\0';
	return DEDUP_OK;
}

static dedup_status convert_1252(struct dedup_repair *r, const char *in,
				 size_t len, struct dedup_repair_report *rep,
				 struct dedup_error *err)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t k;
	char *w;

	rep->converted = 1;
	rep->encoding = "windows-1252";
	dedup_buf_reset(&r->text);
	if (reserve_utf8(&r->text, len))
		return dedup_error_set(err, DEDUP_ENOMEM,
				       "cannot convert %zu bytes", len);
	w = r->text.buf;
	for (k = 0; k < len; k++)
		w += put_1252(w, s[k]);
	r->text.len = (size_t)(w - r->text.buf);
	r->text.buf[r->text.len] = '\0';
	return DEDUP_OK;
}

/*
 * Convert `in` from the detected encoding `name` into r->text. Returns
 * DEDUP_EBINARY (without message) when we do not take that encoding or the
 * bytes are not valid in it.
 */
static dedup_status convert_legacy(struct dedup_repair *r, const char *name,
				   const char *in, size_t len,
				   struct dedup_repair_report *rep,
				   struct dedup_error *err)
{
	size_t j;
	dedup_status ret;

	for (j = 0; j < NLEGACY; j++)
		if (!strcmp(name, legacy[j].detected))
			break;
	if (j == NLEGACY)
		return DEDUP_EBINARY;
	if (!legacy[j].icu)
		return convert_1252(r, in, len, rep, err);
	ret = icu_convert(r, j, in, len, err);
	if (ret)
		return ret;
	rep->converted = 1;
	rep->encoding = legacy[j].icu;
	return DEDUP_OK;
}

/* What detect_legacy() made of bytes that went to ICU. */
enum { MEMO_1252 = NLEGACY, MEMO_BINARY };

struct memo {
	uint64_t hash; /* XXH3 of the bytes */
	size_t len;
	unsigned choice; /* a legacy[] index, MEMO_1252 or MEMO_BINARY */
};

static const struct memo *memo_find(const struct dedup_repair *r,
				    uint64_t hash, size_t len)
{
	size_t i;

	for (i = 0; i < r->nmemo; i++)
		if (r->memo[i].hash == hash && r->memo[i].len == len)
			return &r->memo[i];
	return NULL;
}

/* Remember a choice; out of memory, it is simply not remembered. */
static void memo_add(struct dedup_repair *r, uint64_t hash, size_t len,
		     unsigned choice)
{
	struct memo *m;

	if (!r->memo) {
		r->memo = malloc(MEMO_MAX * sizeof(*r->memo));
		if (!r->memo)
			return;
	}
	if (r->nmemo < MEMO_MAX) {
		m = &r->memo[r->nmemo++];
	} else {
		m = &r->memo[r->memo_next];
		r->memo_next = (r->memo_next + 1) % MEMO_MAX;
	}
	m->hash = hash;
	m->len = len;
	m->choice = choice;
}

/*
 * Not UTF-8: take the quick guess among 8-bit code pages when it is clear
 * (repair_detect.c); else ask ICU which encodings fit, best first, and take
 * the first one we trust that converts without error.
 */
static dedup_status detect_legacy(struct dedup_repair *r, const char *in,
				  size_t len, struct dedup_repair_report *rep,
				  const char **text, size_t *tlen,
				  struct dedup_error *err)
{
	const UCharsetMatch **m;
	UErrorCode st = U_ZERO_ERROR;
	int32_t nm, i, conf;
	size_t j, k;
	const char *name;
	const struct memo *seen;
	uint64_t hash;
	unsigned choice;
	bool remember = true; /* ICU answered: its choice stands */
	dedup_status ret;

	if (len > INT32_MAX)
		return dedup_error_set(err, DEDUP_ETOOBIG,
				       "%zu bytes of non-UTF-8 text", len);
	name = repair_detect_8bit(in, len);
	if (name) {
		ret = convert_legacy(r, name, in, len, rep, err);
		if (ret != DEDUP_EBINARY)
			goto done;
	}
	/* the same bytes again: ICU would choose the same */
	hash = XXH3_64bits(in, len);
	seen = memo_find(r, hash, len);
	if (seen) {
		if (seen->choice < NLEGACY) {
			ret = convert_legacy(r, legacy[seen->choice].detected,
					     in, len, rep, err);
			goto done;
		}
		choice = seen->choice;
		goto fallback;
	}
	ucsdet_setText(r->det, in, (int32_t)len, &st);
	m = ucsdet_detectAll(r->det, &nm, &st);
	if (U_FAILURE(st))
		nm = 0, remember = false; /* nothing fits: see below */
	for (i = 0; i < nm; i++) {
		st = U_ZERO_ERROR;
		name = ucsdet_getName(m[i], &st);
		conf = ucsdet_getConfidence(m[i], &st);
		if (U_FAILURE(st))
			remember = false;
		if (U_FAILURE(st) || conf < 10)
			break;
		ret = convert_legacy(r, name, in, len, rep, err);
		if (ret == DEDUP_EBINARY)
			continue;
		if (!ret && remember) {
			for (j = 0; strcmp(name, legacy[j].detected); j++)
				;
			memo_add(r, hash, len, (unsigned)j);
		}
		goto done;
	}
	/*
	 * Short or odd text gives detection too little to go on. Text in an
	 * 8-bit code page has mostly ASCII between its letters; random bytes
	 * do not.
	 */
	for (k = 0, j = 0; k < len; k++)
		j += (unsigned char)in[k] >= 0x80;
	choice = j * 10 > len * 3 ? MEMO_BINARY : MEMO_1252;
	if (remember)
		memo_add(r, hash, len, choice);
fallback:
	if (choice == MEMO_BINARY)
		return dedup_error_set(err, DEDUP_EBINARY,
				       "not UTF-8 and no plausible text encoding");
	ret = convert_1252(r, in, len, rep, err);
done:
	if (ret)
		return ret;
	*text = r->text.buf;
	*tlen = r->text.len;
	return DEDUP_OK;
}

/*
 * Bytes the two walks over a clean text skip: they were most of a clean
 * document's cost eight at a time. plain_run() gives the length of the
 * run of printable ASCII or '\n' at s (what decode_bytes() need not look
 * at: no control to count, nothing to validate); quiet_run() the length
 * of the run of ASCII other than '&' (what scan() need not look at).
 * Sixteen bytes a step where SSE2 is there, else eight.
 */
#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>

static size_t plain_run(const unsigned char *s, size_t n)
{
	const __m128i sp = _mm_set1_epi8(0x20), nl = _mm_set1_epi8('\n');
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(s + i));
		/* signed: bytes from 0x80 up are below 0x20 too */
		unsigned stop = (unsigned)_mm_movemask_epi8(
			_mm_andnot_si128(_mm_cmpeq_epi8(x, nl),
					 _mm_cmplt_epi8(x, sp)));

		if (stop)
			return i + (size_t)__builtin_ctz(stop);
	}
	for (; i < n && ((s[i] >= 0x20 && s[i] < 0x80) || s[i] == '\n'); i++)
		;
	return i;
}

static size_t quiet_run(const unsigned char *s, size_t n)
{
	const __m128i amp = _mm_set1_epi8('&');
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(s + i));
		unsigned stop = (unsigned)_mm_movemask_epi8(
			_mm_or_si128(x, _mm_cmpeq_epi8(x, amp)));

		if (stop)
			return i + (size_t)__builtin_ctz(stop);
	}
	for (; i < n && s[i] < 0x80 && s[i] != '&'; i++)
		;
	return i;
}
#else
static size_t plain_run(const unsigned char *s, size_t n)
{
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		if ((w | ((w - ONES * 0x20) & ~w)) & HIGHS)
			break; /* a '\n' too: the loop below takes it */
	}
	for (; i < n && ((s[i] >= 0x20 && s[i] < 0x80) || s[i] == '\n'); i++)
		;
	return i;
}

static size_t quiet_run(const unsigned char *s, size_t n)
{
	size_t i = 0;
	uint64_t w, amp;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		amp = w ^ (ONES * '&');
		if ((w | ((amp - ONES) & ~amp)) & HIGHS)
			break;
	}
	for (; i < n && s[i] < 0x80 && s[i] != '&'; i++)
		;
	return i;
}
#endif

static dedup_status decode_bytes(struct dedup_repair *r, const char *in,
				 size_t len, struct dedup_repair_report *rep,
				 const char **text, size_t *tlen,
				 struct dedup_error *err)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i, k, multi = 0, bad = 0, cesu = 0, ctrl = 0;
	const char *z;
	dedup_status ret;

	/* byte order marks */
	if (len >= 4 && !memcmp(s, "\xFF\xFE\0\0", 4)) {
		ret = icu_convert(r, CNV_UTF32LE, in + 4, len - 4, err);
		rep->encoding = "UTF-32LE";
		goto bom;
	}
	if (len >= 4 && !memcmp(s, "\0\0\xFE\xFF", 4)) {
		ret = icu_convert(r, CNV_UTF32BE, in + 4, len - 4, err);
		rep->encoding = "UTF-32BE";
		goto bom;
	}
	if (len >= 2 && s[0] == 0xFF && s[1] == 0xFE) {
		ret = icu_convert(r, CNV_UTF16LE, in + 2, len - 2, err);
		rep->encoding = "UTF-16LE";
		goto bom;
	}
	if (len >= 2 && s[0] == 0xFE && s[1] == 0xFF) {
		ret = icu_convert(r, CNV_UTF16BE, in + 2, len - 2, err);
		rep->encoding = "UTF-16BE";
		goto bom;
	}
	if (len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
		rep->bom = 1;
		s += 3;
		len -= 3;
		in += 3;
	}

	z = memchr(in, '\0', len);
	if (z)
		return dedup_error_set(err, DEDUP_EBINARY,
				       "NUL byte at offset %zu",
				       (size_t)(z - in) + (rep->bom ? 3 : 0));
	for (i = 0; i < len; i += k) {
		i += plain_run(s + i, len - i);
		if (i >= len)
			break;
		if (s[i] < 0x80) {
			if (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' &&
			    s[i] != '\r' && s[i] != '\f' && s[i] != '\v' &&
			    s[i] != 0x1B)
				ctrl++;
			k = 1;
			continue;
		}
		k = utf8_seq(s + i, len - i, true);
		if (!k && s[i] == 0xC0 && i + 1 < len && s[i + 1] == 0x80) {
			/* modified UTF-8's NUL: mended like CESU-8 */
			cesu++;
			multi++;
			k = 2;
			continue;
		}
		if (k == 6)
			cesu++;
		if (k)
			multi++;
		else
			bad++, k = 1;
	}
	if (ctrl >= 4 && ctrl * 64 > len)
		return dedup_error_set(err, DEDUP_EBINARY,
				       "%zu control characters in %zu bytes",
				       ctrl, len);
	rep->encoding = "UTF-8";
	if (!bad && !cesu) {
		*text = in;
		*tlen = len;
		return DEDUP_OK;
	}
	if (!bad || (multi >= 2 && multi >= bad)) {
		dedup_buf_reset(&r->text);
		if (mend_utf8(&r->text, s, len))
			return dedup_error_set(err, DEDUP_ENOMEM,
					       "cannot mend %zu bytes", len);
		*text = r->text.buf;
		*tlen = r->text.len;
		return DEDUP_OK;
	}
	return detect_legacy(r, in, len, rep, text, tlen, err);

bom:
	rep->bom = 1;
	rep->converted = 1;
	if (ret == DEDUP_EBINARY)
		return dedup_error_set(err, DEDUP_EBINARY,
				       "malformed %s after its byte order mark",
				       rep->encoding);
	if (ret)
		return ret;
	if (memchr(r->text.buf, '\0', r->text.len))
		return dedup_error_set(err, DEDUP_EBINARY,
				       "NUL character in %s text",
				       rep->encoding);
	*text = r->text.buf;
	*tlen = r->text.len;
	return DEDUP_OK;
}

/* ------------------------------------------------------------------ */
/* step 2: the fast scan                                               */


enum { SCAN_REPAIR = 1, SCAN_NFC = 2 };

/* '&' starting something that may be a character reference. */
static bool entity_like(const unsigned char *s, size_t n)
{
	size_t i;

	if (n < 3 || !(s[1] == '#' || (unsigned)((s[1] | 0x20) - 'a') < 26u))
		return false;
	for (i = 2; i < n && i < 12; i++)
		if (s[i] == ';')
			return true;
	return false;
}

/*
 * Find out whether the text may need repair (a character some code page
 * puts at a UTF-8 lead byte followed by one it puts at a continuation byte,
 * a C1 control, U+FFFD, a character reference) or NFC normalization.
 */
static unsigned scan(const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text;
	unsigned flags = 0;
	uint16_t prev_lead = 0;
	const struct slot *sl;
	size_t i = 0, k;
	uint32_t c;

	while (i < n) {
		k = quiet_run(s + i, n - i);
		if (k) {
			i += k;
			prev_lead = 0;
		}
		if (i >= n)
			break;
		if (s[i] < 0x80) {
			if (s[i] == '&' && entity_like(s + i, n - i))
				return flags | SCAN_REPAIR;
			prev_lead = 0;
			i++;
			continue;
		}
		k = utf8_seq(s + i, n - i, false);
		if (!k) /* cannot happen: the text is valid */
			return flags | SCAN_REPAIR;
		c = utf8_get(s + i, k);
		i += k;
		if (c < 0xA0 || c == 0xFFFD)
			return flags | SCAN_REPAIR;
		if ((c == 0xC2 || c == 0xC3) && i < n && s[i] == ' ')
			return flags | SCAN_REPAIR; /* "Ã " is "à", "Â " NBSP */
		if (!nfc_simple(c))
			flags |= SCAN_NFC;
		sl = slot_of(c);
		if (!sl) {
			prev_lead = 0;
			continue;
		}
		if (prev_lead & sl->cont)
			return flags | SCAN_REPAIR;
		prev_lead = sl->lead;
	}
	return flags;
}

/*
 * s in NFC: *text is s itself when it is normalized already, else
 * r->normal (valid until the next call with r).
 */
static dedup_status nfc_text(struct dedup_repair *r, const char *s, size_t n,
			     const char **text, size_t *tlen,
			     struct dedup_error *err)
{
	struct dedup_buf *out = &r->normal;
	UErrorCode st = U_ZERO_ERROR;
	int32_t n16, m16, n8;

	if (n > INT32_MAX / 2)
		return dedup_error_set(err, DEDUP_ETOOBIG,
				       "%zu bytes are too many to normalize", n);
	if (!grow_array((void **)&r->u16a, &r->u16a_alloc, n + 1,
			sizeof(UChar)))
		goto nomem;
	u_strFromUTF8(r->u16a, (int32_t)r->u16a_alloc, &n16, s, (int32_t)n,
		      &st);
	if (U_FAILURE(st))
		goto icu;
	if (unorm2_isNormalized(r->nfc, r->u16a, n16, &st) && U_SUCCESS(st))
		goto copy;
	st = U_ZERO_ERROR;
	/* NFC can grow a string at most threefold. */
	if (!grow_array((void **)&r->u16b, &r->u16b_alloc,
			(size_t)n16 * 3 + 1, sizeof(UChar)))
		goto nomem;
	m16 = unorm2_normalize(r->nfc, r->u16a, n16, r->u16b,
			       (int32_t)r->u16b_alloc, &st);
	if (U_FAILURE(st))
		goto icu;
	u_strToUTF8(NULL, 0, &n8, r->u16b, m16, &st);
	if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
		goto icu;
	st = U_ZERO_ERROR;
	dedup_buf_reset(out);
	if (dedup_buf_grow(out, (size_t)n8))
		goto nomem;
	u_strToUTF8(out->buf + out->len, n8 + 1, NULL, r->u16b, m16, &st);
	if (U_FAILURE(st))
		goto icu;
	out->len += (size_t)n8;
	out->buf[out->len] = '\0';
	*text = out->buf;
	*tlen = out->len;
	return DEDUP_OK;
copy:
	*text = s;
	*tlen = n;
	return DEDUP_OK;
nomem:
	return dedup_error_set(err, DEDUP_ENOMEM,
			       "cannot normalize %zu bytes", n);
icu:
	return dedup_error_set(err, DEDUP_EICU, "NFC normalization failed: %s",
			       u_errorName(st));
}

/* ------------------------------------------------------------------ */
/* step 3: repair                                                      */

/* One proposed replacement: chars [start, end) become `d`. */
struct unit {
	size_t start, end;
	uint32_t d;
	int bonus;
	bool lossy;
	bool weak; /* a lead and a lost byte: only with clear damage near */
};

static inline bool is_space(uint32_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0xA0 ||
	       c == SEP;
}

static bool lossy_ok(uint32_t d)
{
	int8_t t = u_charType((UChar32)d);

	if (d == 0xA0)
		return true;
	return t != U_UNASSIGNED && t != U_PRIVATE_USE_CHAR &&
	       t != U_SURROGATE && t != U_CONTROL_CHAR &&
	       t != U_FORMAT_CHAR && t != U_SPACE_SEPARATOR &&
	       repair_unlikely(d, 'a') == 0;
}

/* Decoded characters of the adjacent units just before, oldest first. */
struct hist {
	uint32_t d[3];
	unsigned n;
};

/*
 * Whether d, read in code page p, completes a UTF-8 sequence begun by the
 * characters in h: then a repair one layer up produced them all.
 */
static bool completes_in(unsigned p, const struct hist *h, uint32_t d)
{
	unsigned char by[4];
	unsigned start, k, need;
	int b;

	for (start = 0; start < h->n; start++) {
		b = enc(p, h->d[start]);
		if (b < 0xC2 || b > 0xF4)
			continue;
		need = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
		if (need != h->n - start + 1)
			continue;
		by[0] = (unsigned char)b;
		for (k = start + 1; k < h->n; k++) {
			b = enc(p, h->d[k]);
			if (b < 0x80 || b > 0xBF)
				break;
			by[k - start] = (unsigned char)b;
		}
		if (k < h->n)
			continue;
		b = enc(p, d);
		if (b < 0x80 || b > 0xBF)
			continue;
		by[need - 1] = (unsigned char)b;
		if (utf8_seq(by, need, false) == need &&
		    lossy_ok(utf8_get(by, need)))
			return true;
	}
	return false;
}

/* The layer below may be in any code page: p first. */
static bool completes(unsigned p, const struct hist *h, uint32_t d)
{
	unsigned q;

	if (completes_in(p, h, d))
		return true;
	for (q = 0; q < NCP; q++)
		if (q != p && completes_in(q, h, d))
			return true;
	return false;
}


/*
 * A sequence missing one byte: by[0..k) came from chars ending before
 * cp[j], which is no continuation byte in code page p. The byte was
 * dropped (cp[j] starts what follows), replaced by U+FFFD, or was a
 * no-break space turned into a space. Restore it when the context leaves
 * one reading; mark the character lost (U+FFFD) when several remain.
 */
static bool lossy_unit(const uint32_t *cp, size_t n, size_t i, unsigned p,
		       unsigned char *by, size_t k, size_t need, size_t j,
		       uint32_t prev, const struct hist *h, struct unit *u)
{
	enum { DROP, FFFD, SPACE };
	struct {
		uint32_t d;
		size_t end;
		int kind;
	} cand[24];
	size_t nc = 0, m, t, x, end, nx, ix;
	const uint8_t *xs;
	static const uint8_t a0 = 0xA0;
	int kind, b;
	uint32_t next;
	unsigned nplaus = 0;

	uint32_t cj = j < n ? cp[j] : 0;

	/*
	 * 0xC2 right after a unit, its continuation lost: that byte was a C1
	 * control, itself the lost byte of a sequence one layer down. Drop
	 * the lead so that the next layer sees that loss and can judge it.
	 */
	if (need == 2 && h->n && by[0] == 0xC2) {
		for (x = 0x80; x < 0xA0 && !T.undef[p][x - 0x80]; x++)
			;
		if (x < 0xA0) {
			u->start = i;
			u->end = i + 1;
			u->d = NOTHING;
			u->lossy = true;
			u->weak = false;
			u->bonus = 0;
			return true;
		}
	}

	for (kind = DROP; kind <= SPACE; kind++) {
		if ((kind == FFFD) != (cj == 0xFFFD) && kind != SPACE)
			continue; /* U+FFFD marks where the byte was */
		/*
		 * Only Latin-1 letters and NBSP end in A0. The space is the
		 * lost byte when another follows (the character ended a
		 * word). After a lowercase letter (no word ends in a capital
		 * A-tilde or A-circumflex) a single space is kept: spaces
		 * may have been squeezed.
		 */
		if (kind == SPACE &&
		    (cj != ' ' || need != 2 || u_isupper((UChar32)prev) ||
		     !(by[0] == 0xC2 || (j + 1 < n && cp[j + 1] == ' ') ||
		       u_islower((UChar32)prev))))
			continue;
		if (kind == DROP && need < 3 && cj < 0x80)
			continue; /* a letter before ASCII: too common */
		t = kind == DROP ? j : j + 1;
		/* C2 A0 is the NBSP itself: its space is always the byte */
		if (kind == SPACE && by[0] != 0xC2 &&
		    !(j + 1 < n && cp[j + 1] == ' '))
			t = j;
		for (m = k + 1; m < need; m++, t++) {
			if (t >= n)
				break;
			b = enc(p, cp[t]);
			if (b < 0x80 || b > 0xBF)
				break;
			by[m] = (unsigned char)b;
		}
		if (m < need)
			continue;
		end = t;
		/*
		 * Code pages defining every byte lose none: a U+FFFD there
		 * is a loss one layer up, most likely in Windows-1252.
		 */
		if (kind == SPACE) {
			xs = &a0;
			nx = 1;
		} else {
			x = T.nundef[p] || kind == DROP ? p : CP_1252;
			xs = T.undef_list[x];
			nx = T.nundef_list[x];
		}
		for (ix = 0; ix < nx && nc < 24; ix++) {
			by[k] = xs[ix];
			if (utf8_seq(by, need, false) != need)
				continue;
			cand[nc].d = utf8_get(by, need);
			cand[nc].end = end;
			cand[nc].kind = kind;
			nc++;
		}
	}
	if (!nc)
		return false;
	u->start = i;
	u->lossy = true;
	u->bonus = 0;
	/* one reading completes what the units before began */
	for (m = 0, x = nc; m < nc; m++)
		if (completes(p, h, cand[m].d))
			x = x == nc ? m : nc + 1;
	if (x < nc) {
		m = x;
		goto take;
	}
	for (m = 0; m < nc; m++) {
		next = cand[m].end < n ? cp[cand[m].end] : '\n';
		/* a closing quote at the end of a word or after punctuation */
		if (cand[m].d == 0x201D && cand[m].kind != SPACE &&
		    !is_space(prev) &&
		    (is_space(next) || (next < 0x80 && !u_isalnum(next)) ||
		     (prev && prev < 0x80 && strchr(".,;:!?", (int)prev))))
			goto take;
		if (cand[m].d == 0xFE0F && prev >= 0x2000 &&
		    !u_isalnum((UChar32)prev))
			goto take;
		if (cand[m].kind == SPACE && need == 2 &&
		    (cand[m].d == 0xA0 || u_islower((UChar32)cand[m].d)))
			goto take;
	}
	for (m = 0; m < nc; m++)
		if (lossy_ok(cand[m].d))
			nplaus++, x = m;
	if (nplaus == 0)
		return false;
	if (nplaus == 1) {
		m = x;
		goto take;
	}
	/* Several readings: the character is lost, the rest is not. */
	for (m = 0; m < nc && cand[m].kind != FFFD; m++)
		;
	if (m == nc)
		for (m = 0; m < nc && cand[m].kind != DROP; m++)
			;
	if (m == nc)
		return false;
	u->d = 0xFFFD;
	u->end = cand[m].end;
	u->weak = need < 3;
	return true;
take:
	u->d = cand[m].d;
	u->end = cand[m].end;
	u->weak = need < 3 && cand[m].kind != SPACE;
	return true;
}

/*
 * The unit starting at cp[i] in code page p, if the bytes of the chars
 * there form one UTF-8 sequence (or one missing a byte, see lossy_unit).
 */
static bool find_unit(const uint32_t *cp, size_t n, size_t i, unsigned p,
		      uint32_t prev, const struct hist *h, struct unit *u)
{
	unsigned char by[6];
	size_t need, k, j, m;
	int b0 = enc(p, cp[i]), b;

	if (b0 < 0xC2 || b0 > 0xF4)
		return false;
	need = b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
	by[0] = (unsigned char)b0;
	for (k = 1, j = i + 1; k < need && j < n; k++, j++) {
		b = enc(p, cp[j]);
		if (b < 0x80 || b > 0xBF)
			break;
		by[k] = (unsigned char)b;
	}
	if (k < need)
		return lossy_unit(cp, n, i, p, by, k, need, j, prev, h,
				  u);
	u->start = i;
	u->lossy = false;
	u->weak = false;
	if (utf8_seq(by, need, false) == need) {
		u->d = utf8_get(by, need);
		u->end = j;
		u->bonus = (int)need - 2;
		return true;
	}
	/* CESU-8: a high surrogate, then a low one */
	if (need != 3 || b0 != 0xED || by[1] < 0xA0 || by[1] > 0xAF ||
	    j + 3 > n)
		return false;
	for (m = 0; m < 3; m++) {
		b = enc(p, cp[j + m]);
		if (b < 0)
			return false;
		by[3 + m] = (unsigned char)b;
	}
	if (utf8_seq(by, 6, true) != 6)
		return false;
	u->d = utf8_get(by, 6);
	u->end = j + 3;
	u->bonus = 2;
	return true;
}

static bool needs_nfc(const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, k;

	while (i < n) {
		while (i + 8 <= n) {
			uint64_t w;

			memcpy(&w, s + i, 8);
			if (w & HIGHS)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		if (s[i] < 0xCC) { /* below U+0300 */
			i += s[i] < 0x80 ? 1 : 2;
			continue;
		}
		k = utf8_seq(s + i, n - i, false);
		if (!k)
			return true;
		if (!nfc_simple(utf8_get(s + i, k)))
			return true;
		i += k;
	}
	return false;
}

#define LOOKAHEAD_MAX 64 /* longest span whose deeper layers we try */

/*
 * Read all of d[0..n) through code page p as UTF-8 into out: false unless
 * every non-ASCII character is part of a complete sequence.
 */
static bool decode_through(unsigned p, const uint32_t *d, size_t n,
			   uint32_t *out, size_t *nout)
{
	unsigned char by[4];
	size_t i = 0, o = 0, need, k;
	int b;

	while (i < n) {
		if (d[i] < 0x80) {
			out[o++] = d[i++];
			continue;
		}
		b = enc(p, d[i]);
		if (b < 0xC2 || b > 0xF4)
			return false;
		need = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
		if (i + need > n)
			return false;
		by[0] = (unsigned char)b;
		for (k = 1; k < need; k++) {
			b = enc(p, d[i + k]);
			if (b < 0x80 || b > 0xBF)
				return false;
			by[k] = (unsigned char)b;
		}
		if (utf8_seq(by, need, false) != need)
			return false;
		out[o++] = utf8_get(by, need);
		i += need;
	}
	*nout = o;
	return true;
}

/*
 * Badness of prev, d[0..n), next, plus the penalties of d's characters
 * (into *maxpen, the largest). Other C1 controls in d count as symbols:
 * they may be bytes of a layer further down.
 */
static int seq_bad(uint32_t prev, const uint32_t *d, size_t n, uint32_t next,
		   int *maxpen)
{
	struct ccls a, b;
	uint32_t pc = prev;
	int bad = 0, pen;
	size_t t;

	*maxpen = 0;
	repair_classify(prev, &a);
	for (t = 0; t < n; t++) {
		/* C1 controls Windows-1252 defines will be given its meaning */
		if (d[t] >= 0x80 && d[t] < 0xA0 &&
		    !T.undef[CP_1252][d[t] - 0x80]) {
			repair_classify(T.fwd[CP_1252][d[t] - 0x80], &b);
			/* but a C1 control in UTF-8 was a mistake already */
			bad += repair_pair_bad(&a, &b) + 1;
			if (*maxpen < 1)
				*maxpen = 1;
			a = b;
			pc = d[t];
			continue;
		}
		pen = d[t] == 0xFFFD ? 0 : repair_unlikely(d[t], pc);
		if (pen < 0)
			return 1000;
		if (pen > *maxpen)
			*maxpen = pen;
		bad += pen;
		repair_classify(d[t], &b);
		if (b.kind == K_C1)
			b.kind = K_SYM;
		bad += repair_pair_bad(&a, &b);
		a = b;
		pc = d[t];
	}
	repair_classify(next, &b);
	return bad + repair_pair_bad(&a, &b);
}

/*
 * Gain in plausibility from replacing the units u[0..nu) (adjacent). With
 * several layers of damage the first step can look no better than where
 * it started, so a short lossless span is also judged by what one or two
 * more layers through some code page would make of it.
 */
static int span_gain(const uint32_t *cp, size_t n, const struct unit *u,
		     size_t nu, int *maxpen)
{
	struct ccls a, b;
	size_t s = u[0].start, e = u[nu - 1].end, t, nd = 0, n1, n2;
	uint32_t prev = s ? cp[s - 1] : '\n', next = e < n ? cp[e] : '\n';
	uint32_t d[LOOKAHEAD_MAX], d1[LOOKAHEAD_MAX], d2[LOOKAHEAD_MAX];
	int orig = 0, neu, bonus = 0, deeper, mp;
	unsigned p, q;
	bool lossy = false;

	repair_classify(prev, &a);
	for (t = s; t < e; t++) {
		repair_classify(cp[t], &b);
		orig += repair_pair_bad(&a, &b);
		a = b;
	}
	repair_classify(next, &b);
	orig += repair_pair_bad(&a, &b);

	/* seq_bad() wants an array: long spans are judged in pieces */
	neu = 0;
	*maxpen = 0;
	for (t = 0; t < nu; t++) {
		lossy |= u[t].lossy;
		bonus += u[t].bonus;
		if (u[t].d == NOTHING)
			continue;
		if (nd == LOOKAHEAD_MAX) {
			neu += seq_bad(prev, d, nd, u[t].d, &mp);
			if (mp > *maxpen)
				*maxpen = mp;
			prev = d[nd - 1];
			nd = 0;
			lossy = true; /* too long to look deeper */
		}
		d[nd++] = u[t].d;
	}
	neu += seq_bad(prev, d, nd, next, &mp);
	if (mp > *maxpen)
		*maxpen = mp;
	if (neu >= 1000)
		return -100;
	neu -= bonus;
	if (lossy || orig - neu >= 2)
		return orig - neu;
	for (p = 0; p < NCP; p++) {
		if (!decode_through(p, d, nd, d1, &n1) || n1 == nd)
			continue;
		deeper = seq_bad(prev, d1, n1, next, &mp) - bonus - 1;
		if (mp == 0 && deeper < neu)
			neu = deeper;
		for (q = 0; q < NCP; q++) {
			if (!decode_through(q, d1, n1, d2, &n2) || n2 == n1)
				continue;
			deeper = seq_bad(prev, d2, n2, next, &mp) - bonus - 2;
			if (mp == 0 && deeper < neu)
				neu = deeper;
		}
	}
	return orig - neu;
}

/*
 * The run of code points at cp (at most n) below U+00A0 other than '\n':
 * what find_hot() need not look at. Sixteen a step with SSE2 (code points
 * and SEP are below 2^31: a signed compare will do), else eight.
 */
#if defined(__SSE2__) && defined(__GNUC__)
/* Four code points at cp: a bit each, set when find_hot() wants it. */
static unsigned stops4(const uint32_t *cp)
{
	__m128i x = _mm_loadu_si128((const __m128i *)cp);
	__m128i s = _mm_or_si128(_mm_cmpgt_epi32(x, _mm_set1_epi32(0x9F)),
				 _mm_cmpeq_epi32(x, _mm_set1_epi32('\n')));

	return (unsigned)_mm_movemask_ps(_mm_castsi128_ps(s));
}

static size_t quiet_cps(const uint32_t *cp, size_t n)
{
	size_t i = 0;
	unsigned stop;

	for (; i + 16 <= n; i += 16) {
		stop = stops4(cp + i) | stops4(cp + i + 4) << 4 |
		       stops4(cp + i + 8) << 8 | stops4(cp + i + 12) << 12;
		if (stop)
			return i + (size_t)__builtin_ctz(stop);
	}
	for (; i < n && cp[i] < 0xA0 && cp[i] != '\n'; i++)
		;
	return i;
}
#else
static size_t quiet_cps(const uint32_t *cp, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		unsigned j, stop = 0;

		for (j = 0; j < 8; j++)
			stop |= (cp[i + j] >= 0xA0) | (cp[i + j] == '\n');
		if (stop)
			break;
	}
	for (; i < n && cp[i] < 0xA0 && cp[i] != '\n'; i++)
		;
	return i;
}
#endif

/* Note a line break of the layer at i in r->brk. */
static bool add_brk(struct dedup_repair *r, size_t i)
{
	if (!grow_array((void **)&r->brk, &r->brk_alloc, r->nbrk + 1,
			sizeof(*r->brk)))
		return false;
	r->brk[r->nbrk++] = i;
	return true;
}

/*
 * List the positions of characters that some code page puts at a lead
 * byte (r->hot, with their masks in r->hot_lead); returns the code pages
 * that may have units at all. The line breaks go to r->brk on the way:
 * every code page's judge() wants to know which spans share a line, and
 * finding that out in the text each time cost more than all the rest.
 */
static unsigned find_hot(struct dedup_repair *r, const uint32_t *cp,
			 size_t n, bool *nomem)
{
	const struct slot *sl, *nx;
	unsigned mask = 0;
	size_t i, nh = 0;
	uint16_t next;

	r->nbrk = 0;
	for (i = 0; i < n; i++) {
		/* most of a layer is ASCII inside lines: skipped in blocks */
		i += quiet_cps(cp + i, n - i);
		if (i >= n)
			break;
		if (cp[i] < 0xA0 || cp[i] == SEP) {
			if ((cp[i] == '\n' || cp[i] == SEP) && !add_brk(r, i)) {
				*nomem = true;
				return 0;
			}
			continue;
		}
		sl = slot_of(cp[i]);
		if (!sl || !sl->lead)
			continue;
		if (i + 1 < n) {
			nx = slot_of(cp[i + 1]);
			next = nx ? nx->cont : 0;
			/* or a lost byte: see lossy_unit() */
			if (cp[i + 1] == ' ' || cp[i + 1] == 0xFFFD ||
			    (!(sl->lead & next) && i > 0 && cp[i - 1] >= 0x80))
				next = 0xFFFF;
		} else {
			next = 0;
		}
		if (!(sl->lead & next))
			continue;
		if (!grow_array((void **)&r->hot, &r->hot_alloc, nh + 1,
				sizeof(*r->hot))) {
			*nomem = true;
			return 0;
		}
		r->hot[nh++] = i;
		mask |= sl->lead & next;
	}
	r->nhot = nh;
	return mask;
}

/* Collect the units of code page p into r->units; returns their number. */
static size_t find_units(struct dedup_repair *r, const uint32_t *cp,
			 size_t n, unsigned p, bool *nomem)
{
	size_t x, i, nu = 0, last_end = 0;
	uint32_t prev, last_d = 0;
	struct hist h = { { 0 }, 0 };
	struct unit u;

	for (x = 0; x < r->nhot; x++) {
		i = r->hot[x];
		if (i < last_end)
			continue;
		if (!nu || i != last_end)
			h.n = 0;
		prev = i == 0 ? '\n' : h.n ? last_d : cp[i - 1];
		if (!find_unit(cp, n, i, p, prev, &h, &u) ||
		    (u.d < 0xFFFD && repair_unlikely(u.d, prev) < 0))
			continue;
		if (!grow_array((void **)&r->units, &r->units_alloc, nu + 1,
				sizeof(u))) {
			*nomem = true;
			return 0;
		}
		r->units[nu++] = u;
		if (u.d != NOTHING) {
			last_d = u.d;
			if (h.n == 3)
				memmove(h.d, h.d + 1, 2 * sizeof(h.d[0])), h.n--;
			h.d[h.n++] = u.d;
		}
		last_end = u.end;
	}
	return nu;
}

struct span {
	size_t a, b;  /* units [a, b) */
	int gain;
	bool lossy, strong, clean; /* clean: every result is common */
	bool weak;                 /* only weak units */
	unsigned line_strong;      /* strong spans on its line */
};

/*
 * Count, for every span, the strong spans on its line (spans are sorted):
 * a span starts a new line when a break (r->brk, the layer's) lies
 * between the end of the span before it and its start.
 */
static void line_strong(struct dedup_repair *r, size_t ns)
{
	size_t k, first = 0, pos = 0, t, end, j = 0;
	unsigned count = 0;
	bool newline;

	for (k = 0; k <= ns; k++) {
		newline = k == ns;
		if (k < ns) {
			end = r->units[r->spans[k].a].start;
			while (j < r->nbrk && r->brk[j] < pos)
				j++;
			newline = j < r->nbrk && r->brk[j] < end;
		}
		if (newline && k > first) {
			for (t = first; t < k; t++)
				r->spans[t].line_strong = count;
			first = k;
			count = 0;
		}
		if (k < ns) {
			count += r->spans[k].strong;
			pos = r->units[r->spans[k].b - 1].end;
		}
	}
}

/*
 * Walk the spans (runs of adjacent units) of code page p and decide which
 * to replace: those that gain clearly on their own ("strong"), those that
 * gain when the document holds strong spans of p (`ev` counts them, across
 * layers), and those that lose nothing when their own line holds one.
 * Returns a score (characters covered and gain of the accepted spans);
 * with `apply`, writes the
 * repaired text to r->cp2 and its length to *n2.
 */
static int judge(struct dedup_repair *r, const uint32_t *cp, size_t n,
		 size_t nu, unsigned *ev, bool apply, size_t *n2,
		 unsigned *fixed, bool *nomem)
{
	size_t a, b, k, w = 0, from = 0, ns = 0, t, whole;
	unsigned strong = 0, weak = 0, doc_ev;
	int total = 0, maxpen;
	bool accept;
	struct span *sp;

	for (a = 0; a < nu; a = b) {
		for (b = a + 1; b < nu &&
		     r->units[b].start == r->units[b - 1].end; b++)
			;
		if (!grow_array((void **)&r->spans, &r->spans_alloc, ns + 1,
				sizeof(*sp))) {
			*nomem = true;
			return 0;
		}
		sp = &r->spans[ns++];
		sp->a = a;
		sp->b = b;
		sp->lossy = false;
		sp->weak = true;
		whole = 0;
		for (k = a; k < b; k++) {
			sp->lossy |= r->units[k].lossy;
			sp->weak &= r->units[k].weak;
			whole += !r->units[k].lossy;
		}
		sp->gain = span_gain(cp, n, r->units + a, b - a, &maxpen);
		sp->clean = maxpen == 0;
		/* a loss next to two intact units is still clear evidence */
		sp->strong = (!sp->lossy || whole >= 2) &&
			     (sp->gain >= 2 || (b - a >= 2 && sp->gain >= 1));
		strong += sp->strong;
		weak += !sp->lossy && sp->gain >= 1;
	}
	/* several small lossless repairs of one kind back each other */
	if (weak >= 3 && strong < 1)
		strong = 1;
	line_strong(r, ns);
	if (strong > *ev)
		*ev = strong;
	doc_ev = *ev;
	for (k = 0; k < ns; k++) {
		sp = &r->spans[k];
		accept = !sp->weak &&
			 (sp->strong ||
			  (sp->gain >= 1 && doc_ev - sp->strong >= 1) ||
			  (sp->lossy && sp->gain >= 2 &&
			   r->units[sp->b - 1].end - r->units[sp->a].start >=
				   2) ||
			  (sp->lossy && sp->gain >= 3));
		if (!accept && sp->gain >= 0 &&
		    (sp->weak || (sp->gain == 0 && !sp->lossy && sp->clean)))
			accept = sp->line_strong > sp->strong;
		if (!accept)
			continue;
		/*
		 * What counts most is how much of the text a code page
		 * explains: with several layers, the first step often looks
		 * no better than smaller, partial readings through another.
		 */
		for (t = sp->a; t < sp->b; t++)
			total += r->units[t].lossy
					 ? 1
					 : 4 * (int)(r->units[t].end -
						     r->units[t].start);
		total += sp->gain;
		if (!apply)
			continue;
		(*fixed)++;
		memcpy(r->cp2 + w, cp + from,
		       (r->units[sp->a].start - from) * sizeof(*cp));
		w += r->units[sp->a].start - from;
		for (t = sp->a; t < sp->b; t++)
			if (r->units[t].d != NOTHING)
				r->cp2[w++] = r->units[t].d;
		from = r->units[sp->b - 1].end;
	}
	if (apply) {
		memcpy(r->cp2 + w, cp + from, (n - from) * sizeof(*cp));
		w += n - from;
		*n2 = w;
	}
	return total;
}

/* Is the line [s, e) markup or program code, where '&' is not text? */
static bool markup_or_code(const uint32_t *cp, size_t s, size_t e)
{
	size_t i, braces = 0;
	bool open = false;

	for (i = s; i < e; i++) {
		if (cp[i] == '<' && i + 1 < e &&
		    ((cp[i + 1] | 0x20) - 'a' < 26u || cp[i + 1] == '/' ||
		     cp[i + 1] == '!'))
			open = true;
		else if (cp[i] == '>' && open)
			return true;
		else if (cp[i] == '{' || cp[i] == '}')
			braces++;
	}
	return braces >= 2;
}

/*
 * The character reference at cp[i] ('&'): its value and length, or 0.
 * Numeric ones follow HTML5: 128..159 are read as Windows-1252, and
 * zero, surrogates and values past U+10FFFF give U+FFFD.
 */
static size_t entity_at(const uint32_t *cp, size_t n, size_t i,
			uint32_t *val)
{
	size_t j = i + 1, start;
	uint64_t v = 0;
	char name[12];
	unsigned base = 10, dig;

	if (j < n && cp[j] == '#') {
		j++;
		if (j < n && (cp[j] | 0x20) == 'x')
			base = 16, j++;
		start = j;
		for (; j < n && j - start < 8; j++) {
			if (cp[j] - '0' < 10u)
				dig = cp[j] - '0';
			else if (base == 16 && (cp[j] | 0x20) - 'a' < 6u)
				dig = (cp[j] | 0x20) - 'a' + 10;
			else
				break;
			v = v * base + dig;
		}
		if (j == start || j >= n || cp[j] != ';')
			return 0;
		if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
			v = 0xFFFD;
		else if (v >= 0x80 && v <= 0x9F)
			v = T.fwd[CP_1252][v - 0x80];
		*val = (uint32_t)v;
		return j + 1 - i;
	}
	for (start = j; j < n && j - start < sizeof(name) - 1; j++) {
		if (cp[j] >= 0x80 || !(((cp[j] | 0x20) - 'a' < 26u) ||
				       (j > start && cp[j] - '0' < 10u)))
			break;
		name[j - start] = (char)cp[j];
	}
	if (j == start || j >= n || cp[j] != ';')
		return 0;
	*val = repair_entity_lookup(name, j - start);
	return *val ? j + 1 - i : 0;
}

/* Resolve character references in place; returns the new length. */
static size_t resolve_entities(uint32_t *cp, size_t n, unsigned *count)
{
	size_t i = 0, w = 0, e, k, len;
	uint32_t v;

	while (i < n) {
		for (e = i; e < n && cp[e] != '\n' && cp[e] != SEP; e++)
			;
		if (e < n)
			e++;
		if (markup_or_code(cp, i, e)) {
			for (; i < e; i++)
				cp[w++] = cp[i];
			continue;
		}
		while (i < e) {
			if (cp[i] == '&') {
				len = entity_at(cp, e, i, &v);
				if (len && v == '&' && i + len < e &&
				    entity_at(cp, e, i + len - 1, &v)) {
					/*
					 * Escaped twice ("&amp;lt;"): read the
					 * '&' again, so repairing stays
					 * idempotent.
					 */
					i += len - 1;
					cp[i] = '&';
					(*count)++;
					continue;
				}
				if (len) {
					entity_at(cp, e, i, &v);
					cp[w++] = v;
					i += len;
					(*count)++;
					continue;
				}
			}
			cp[w++] = cp[i++];
		}
		(void)k;
	}
	return w;
}

/* Length of the line at s (with its '\n'); *dirty: non-ASCII or '&'. */
static size_t next_line(const unsigned char *s, size_t n, bool *dirty)
{
	const unsigned char *e = memchr(s, '\n', n);
	size_t len = e ? (size_t)(e - s) + 1 : n, i = 0;
	uint64_t w, amp;

	*dirty = true;
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		amp = w ^ (ONES * '&');
		if ((w | ((amp - ONES) & ~amp)) & HIGHS)
			return len;
	}
	for (; i < len; i++)
		if (s[i] >= 0x80 || s[i] == '&')
			return len;
	*dirty = false;
	return len;
}

/*
 * The run of ASCII bytes at s (at most n, the first one ASCII) appended
 * to cp at *n_cp as code points, eight at a time while they last: most
 * of a dirty line is ASCII. Returns the bytes taken.
 */
static size_t widen_ascii(const unsigned char *s, size_t n, uint32_t *cp,
			  size_t *n_cp)
{
	size_t i = 0, j, o = *n_cp;
	uint64_t w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		if (w & HIGHS)
			break;
		for (j = 0; j < 8; j++)
			cp[o + j] = s[i + j];
		o += 8;
	}
	for (; i < n && s[i] < 0x80; i++)
		cp[o++] = s[i];
	*n_cp = o;
	return i;
}

/*
 * The run of ASCII code points at cp (at most n, the first one ASCII)
 * appended to out as bytes (room is there), eight at a time while they
 * last. Returns the code points taken.
 */
static size_t narrow_ascii(const uint32_t *cp, size_t n, struct dedup_buf *out)
{
	size_t i = 0, j;
	char *o = out->buf + out->len;

	for (; i + 8 <= n; i += 8) {
		uint32_t high = 0;

		for (j = 0; j < 8; j++)
			high |= cp[i + j];
		if (high >= 0x80)
			break;
		for (j = 0; j < 8; j++)
			o[i + j] = (char)cp[i + j];
	}
	for (; i < n && cp[i] < 0x80; i++)
		o[i] = (char)cp[i];
	out->len += i;
	return i;
}

/*
 * Repair text (valid UTF-8) into r->fixed. Only lines holding non-ASCII
 * characters or '&' are decoded to code points, one after the other with
 * SEP between them; the others are copied back as they are.
 */
static dedup_status repair_text(struct dedup_repair *r, const char *text,
				size_t len, struct dedup_repair_report *rep,
				struct dedup_error *err)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = 0, i, k, nu, n2, ll, line, nlines = 0;
	unsigned ev[NCP] = { 0 }, p, best, layer, mask;
	int score, best_score;
	bool nomem = false, dirty;
	uint32_t *tmp, c;

	/*
	 * The lines, found once for the two walks below; room for the dirty
	 * ones: a code point per byte at most, plus SEP.
	 */
	for (i = 0, k = 0; i < len; i += ll) {
		ll = next_line(s + i, len - i, &dirty);
		if (!grow_array((void **)&r->lines, &r->lines_alloc,
				nlines + 1, sizeof(*r->lines)))
			goto nomem;
		r->lines[nlines++] = ll << 1 | dirty;
		if (dirty)
			k += ll + 1;
	}
	if (!grow_array((void **)&r->cp, &r->cp_alloc, k + 1,
			sizeof(uint32_t)) ||
	    !grow_array((void **)&r->cp2, &r->cp2_alloc, k + 1,
			sizeof(uint32_t)))
		goto nomem;
	for (i = 0, line = 0; line < nlines; line++, i += ll) {
		ll = r->lines[line] >> 1;
		if (!(r->lines[line] & 1))
			continue;
		for (k = i; k < i + ll;) {
			if (s[k] < 0x80) {
				k += widen_ascii(s + k, i + ll - k, r->cp, &n);
				continue;
			}
			c = (uint32_t)utf8_seq(s + k, i + ll - k, false);
			if (!c) { /* cannot happen: the text is valid */
				r->cp[n++] = 0xFFFD;
				k++;
				continue;
			}
			r->cp[n++] = utf8_get(s + k, c);
			k += c;
		}
		r->cp[n++] = SEP;
	}
	if (memchr(text, '&', len))
		n = resolve_entities(r->cp, n, &rep->entities);

	for (layer = 0; layer < MAX_LAYERS; layer++) {
		best = NCP;
		best_score = 0;
		mask = find_hot(r, r->cp, n, &nomem);
		if (nomem)
			goto nomem;
		for (p = 0; p < NCP; p++) {
			if (!(mask & (1u << p)))
				continue;
			nu = find_units(r, r->cp, n, p, &nomem);
			if (nomem)
				goto nomem;
			if (!nu)
				continue;
			score = judge(r, r->cp, n, nu, &ev[p], false, NULL,
				      NULL, &nomem);
			if (nomem)
				goto nomem;
			if (score > best_score)
				best_score = score, best = p;
		}
		if (best == NCP)
			break;
		nu = find_units(r, r->cp, n, best, &nomem);
		if (nomem)
			goto nomem;
		judge(r, r->cp, n, nu, &ev[best], true, &n2,
		      &rep->spans_fixed, &nomem);
		if (nomem)
			goto nomem;
		tmp = r->cp;
		r->cp = r->cp2;
		r->cp2 = tmp;
		k = r->cp_alloc;
		r->cp_alloc = r->cp2_alloc;
		r->cp2_alloc = k;
		n = n2;
	}

	dedup_buf_reset(&r->fixed);
	if (dedup_buf_grow(&r->fixed, len + n * 4))
		goto nomem;
	k = 0;
	for (i = 0, line = 0; line < nlines; line++, i += ll) {
		ll = r->lines[line] >> 1;
		if (!(r->lines[line] & 1)) {
			memcpy(r->fixed.buf + r->fixed.len, s + i, ll);
			r->fixed.len += ll;
			continue;
		}
		for (; k < n && r->cp[k] != SEP; k++) {
			c = r->cp[k];
			if (c < 0x80) {
				k += narrow_ascii(r->cp + k, n - k,
						  &r->fixed) - 1;
				continue;
			}
			/* C1 controls left over from Windows-1252 */
			if (c < 0xA0 && !T.undef[CP_1252][c - 0x80]) {
				c = T.fwd[CP_1252][c - 0x80];
				rep->spans_fixed++;
			}
			r->fixed.len += utf8_put(r->fixed.buf + r->fixed.len,
						 c);
		}
		k++;
	}
	r->fixed.buf[r->fixed.len] = '\0';
	return DEDUP_OK;
nomem:
	return dedup_error_set(err, DEDUP_ENOMEM,
			       "cannot repair %zu bytes of text", len);
}

dedup_status dedup_repair_text(struct dedup_repair *r, const char *in,
			       size_t len, const char **out, size_t *out_len,
			       struct dedup_repair_report *rep,
			       struct dedup_error *err)
{
	struct dedup_repair_report dummy;
	const char *text = NULL;
	size_t tlen = 0, k;
	unsigned flags;
	dedup_status ret;

	if (!rep)
		rep = &dummy;
	memset(rep, 0, sizeof(*rep));
	rep->encoding = "UTF-8";
	*out = in;
	*out_len = 0;
	if (!len)
		return DEDUP_OK;
	ret = decode_bytes(r, in, len, rep, &text, &tlen, err);
	if (ret)
		return ret;
	/*
	 * More byte order marks at the start: a second one, or one read as
	 * Windows-1252 or Latin-1 ("ï»¿") by a tool that then wrote UTF-8.
	 */
	for (;;) {
		if (tlen >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
			k = 3;
		else if (tlen >= 6 && !memcmp(text, "\xC3\xAF\xC2\xBB\xC2\xBF", 6))
			k = 6;
		else
			break;
		text += k;
		tlen -= k;
		rep->bom = 1;
	}
	flags = scan(text, tlen);
	if (!(flags & SCAN_REPAIR)) {
		if (!(flags & SCAN_NFC)) {
			*out = text;
			*out_len = tlen;
			return DEDUP_OK;
		}
		return nfc_text(r, text, tlen, out, out_len, err);
	}
	ret = repair_text(r, text, tlen, rep, err);
	if (ret)
		return ret;
	if (!needs_nfc(r->fixed.buf, r->fixed.len)) {
		*out = r->fixed.buf;
		*out_len = r->fixed.len;
		return DEDUP_OK;
	}
	return nfc_text(r, r->fixed.buf, r->fixed.len, out, out_len, err);
}

dedup_status dedup_repair_decode(struct dedup_repair *r, const char *in,
				 size_t len, struct dedup_buf *out,
				 struct dedup_repair_report *rep,
				 struct dedup_error *err)
{
	const char *text;
	size_t tlen;
	dedup_status ret;

	dedup_buf_reset(out);
	ret = dedup_repair_text(r, in, len, &text, &tlen, rep, err);
	if (ret || !len)
		return ret;
	if (dedup_buf_add(out, text, tlen))
		return dedup_error_set(err, DEDUP_ENOMEM,
				       "cannot copy %zu bytes", tlen);
	return DEDUP_OK;
}

/* ------------------------------------------------------------------ */
/* synthetic damage                                                    */

const char *dedup_repair_codepage(unsigned i)
{
	return i < NCP ? cp_icu[i] : NULL;
}

static dedup_status add_wrong(struct dedup_buf *out, unsigned p,
			      unsigned char b, unsigned flags)
{
	if (b < 0x80)
		return dedup_buf_addch(out, b);
	if (T.undef[p][b - 0x80]) {
		if (flags & DEDUP_MOJIBAKE_DROP)
			return DEDUP_OK;
		if (flags & DEDUP_MOJIBAKE_FFFD)
			return buf_put_cp(out, 0xFFFD);
	}
	return buf_put_cp(out, T.fwd[p][b - 0x80]);
}

dedup_status dedup_repair_mojibake(const char *in, size_t len,
				   const char *codepage, unsigned flags,
				   struct dedup_buf *out,
				   struct dedup_error *err)
{
	const unsigned char *s = (const unsigned char *)in;
	unsigned char cesu[6];
	unsigned p;
	size_t i, k, m;
	uint32_t c, hi, lo;

	pthread_once(&tables_once, build_tables);
	if (T.status)
		return dedup_error_set(err, T.status, "repair tables: %s",
				       T.msg);
	for (p = 0; p < NCP; p++)
		if (!strcmp(codepage, cp_icu[p]))
			break;
	if (p == NCP)
		return dedup_error_set(err, DEDUP_EINVAL,
				       "unknown code page '%s'", codepage);
	for (i = 0; i < len; i += k) {
		k = utf8_seq(s + i, len - i, false);
		if (!k)
			k = 1;
		if (k == 4 && (flags & DEDUP_MOJIBAKE_CESU)) {
			c = utf8_get(s + i, 4) - 0x10000;
			hi = 0xD800 + (c >> 10);
			lo = 0xDC00 + (c & 0x3FF);
			utf8_put((char *)cesu, hi);
			utf8_put((char *)cesu + 3, lo);
			for (m = 0; m < 6; m++)
				if (add_wrong(out, p, cesu[m], flags))
					goto nomem;
			continue;
		}
		for (m = 0; m < k; m++)
			if (add_wrong(out, p, s[i + m], flags))
				goto nomem;
	}
	return DEDUP_OK;
nomem:
	return dedup_error_set(err, DEDUP_ENOMEM, "cannot damage %zu bytes",
			       len);
}
