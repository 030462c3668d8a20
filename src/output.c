/*
 * output.c - the write stage: result records (see dedup/output.h).
 *
 * Each record is formatted into the writer's buffer and handed to the
 * stream with one fwrite(), so a record is never half-escaped on the way
 * out and the first write error is kept for dedup_writer_finish().
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/output.h"

struct dedup_writer;

/* One format: how a record is laid out (the table of the style guide). */
struct writer_ops {
	dedup_status (*format)(struct dedup_writer *w,
			       const struct dedup_record *r);
};

struct dedup_writer {
	const struct writer_ops *ops;
	FILE *f;
	char term;        /* record terminator: '\n' or '\0' */
	int failed_errno; /* first write error, 0 if none */
	struct dedup_buf rec;
};

/*
 * Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there
 * are not one: overlong forms, surrogates and code points past U+10FFFF
 * are invalid, as in RFC 3629.
 */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c < 0xf0) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0;
		if (c == 0xed && s[1] >= 0xa0)
			return 0;
		return 3;
	}
	if (c < 0xf5) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0;
		if (c == 0xf4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

static const char hexdigits[] = "0123456789abcdef";

dedup_status dedup_escape_tsv(struct dedup_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[4] = { '\\', 'x', 0, 0 };
	dedup_status st;

	while (*p) {
		const unsigned char *run = p;
		size_t n;

		/* Copy the longest run that needs no escaping at once. */
		while (*p && *p != '\\' && *p >= 0x20 && *p != 0x7f &&
		       (n = utf8_seq_len(p)) != 0)
			p += n;
		if (p > run &&
		    (st = dedup_buf_add(out, run, (size_t)(p - run))))
			return st;
		if (!*p)
			break;
		switch (*p) {
		case '\t':
			st = dedup_buf_add(out, "\\t", 2);
			break;
		case '\n':
			st = dedup_buf_add(out, "\\n", 2);
			break;
		case '\r':
			st = dedup_buf_add(out, "\\r", 2);
			break;
		case '\\':
			st = dedup_buf_add(out, "\\\\", 2);
			break;
		default:
			esc[2] = hexdigits[*p >> 4];
			esc[3] = hexdigits[*p & 0xf];
			st = dedup_buf_add(out, esc, 4);
			break;
		}
		if (st)
			return st;
		p++;
	}
	return DEDUP_OK;
}

dedup_status dedup_escape_json(struct dedup_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[6] = { '\\', 'u', 0, 0, 0, 0 };
	dedup_status st;

	while (*p) {
		const unsigned char *run = p;
		size_t n = 0;

		while (*p && *p != '\\' && *p != '"' && *p >= 0x20 &&
		       *p != 0x7f && (n = utf8_seq_len(p)) != 0)
			p += n;
		if (p > run &&
		    (st = dedup_buf_add(out, run, (size_t)(p - run))))
			return st;
		if (!*p)
			break;
		switch (*p) {
		case '"':
			st = dedup_buf_add(out, "\\\"", 2);
			break;
		case '\\':
			st = dedup_buf_add(out, "\\\\", 2);
			break;
		case '\b':
			st = dedup_buf_add(out, "\\b", 2);
			break;
		case '\f':
			st = dedup_buf_add(out, "\\f", 2);
			break;
		case '\n':
			st = dedup_buf_add(out, "\\n", 2);
			break;
		case '\r':
			st = dedup_buf_add(out, "\\r", 2);
			break;
		case '\t':
			st = dedup_buf_add(out, "\\t", 2);
			break;
		default:
			/*
			 * Control bytes as \u00XX; a byte that is not UTF-8
			 * as the lone surrogate U+DC00 + byte (PEP 383), which
			 * no valid UTF-8 text can produce.
			 */
			esc[2] = *p >= 0x80 ? 'd' : '0';
			esc[3] = *p >= 0x80 ? 'c' : '0';
			esc[4] = hexdigits[*p >> 4];
			esc[5] = hexdigits[*p & 0xf];
			st = dedup_buf_add(out, esc, 6);
			break;
		}
		if (st)
			return st;
		p++;
	}
	return DEDUP_OK;
}

/*
 * A score as "1" for exactly one, otherwise %.4f without trailing zeros
 * ("0.8421", "0.5", "0"): locale-independent enough for a C program that
 * never calls setlocale(LC_NUMERIC), and identical on every run.
 */
static dedup_status add_score(struct dedup_buf *out, double score)
{
	char num[32];
	size_t len;

	/* Rounding in the caller may stray past 0..1; -0 must print "0". */
	if (!(score > 0.0))
		score = 0.0;
	if (score >= 1.0)
		return dedup_buf_addch(out, '1');
	len = (size_t)snprintf(num, sizeof(num), "%.4f", score);
	while (len > 1 && num[len - 1] == '0')
		len--;
	if (num[len - 1] == '.')
		len--;
	return dedup_buf_add(out, num, len);
}

static const char *role_name(enum dedup_role role)
{
	return role == DEDUP_ROLE_KEEP ? "keep" : "dup";
}

static dedup_status format_tsv(struct dedup_writer *w,
			       const struct dedup_record *r)
{
	dedup_status st;

	if ((st = dedup_escape_tsv(&w->rec, r->path)) ||
	    (st = dedup_buf_addch(&w->rec, '\t')) ||
	    (st = dedup_escape_tsv(&w->rec, r->cluster)) ||
	    (st = dedup_buf_addch(&w->rec, '\t')) ||
	    (st = dedup_buf_addstr(&w->rec, role_name(r->role))) ||
	    (st = dedup_buf_addch(&w->rec, '\t')) ||
	    (st = add_score(&w->rec, r->score)))
		return st;
	return dedup_buf_addch(&w->rec, w->term);
}

static dedup_status format_jsonl(struct dedup_writer *w,
				 const struct dedup_record *r)
{
	dedup_status st;

	if ((st = dedup_buf_addstr(&w->rec, "{\"path\":\"")) ||
	    (st = dedup_escape_json(&w->rec, r->path)) ||
	    (st = dedup_buf_addstr(&w->rec, "\",\"cluster\":\"")) ||
	    (st = dedup_escape_json(&w->rec, r->cluster)) ||
	    (st = dedup_buf_addstr(&w->rec, "\",\"role\":\"")) ||
	    (st = dedup_buf_addstr(&w->rec, role_name(r->role))) ||
	    (st = dedup_buf_addstr(&w->rec, "\",\"score\":")) ||
	    (st = add_score(&w->rec, r->score)) ||
	    (st = dedup_buf_addch(&w->rec, '}')))
		return st;
	return dedup_buf_addch(&w->rec, w->term);
}

static dedup_status format_list(struct dedup_writer *w,
				const struct dedup_record *r,
				enum dedup_role wanted)
{
	dedup_status st;

	if (r->role != wanted)
		return DEDUP_OK;
	if ((st = dedup_buf_addstr(&w->rec, r->path)))
		return st;
	return dedup_buf_addch(&w->rec, w->term);
}

static dedup_status format_keep(struct dedup_writer *w,
				const struct dedup_record *r)
{
	return format_list(w, r, DEDUP_ROLE_KEEP);
}

static dedup_status format_dups(struct dedup_writer *w,
				const struct dedup_record *r)
{
	return format_list(w, r, DEDUP_ROLE_DUP);
}

static const struct writer_ops writer_table[] = {
	[DEDUP_FORMAT_TSV] = { format_tsv },
	[DEDUP_FORMAT_JSONL] = { format_jsonl },
	[DEDUP_FORMAT_KEEP] = { format_keep },
	[DEDUP_FORMAT_DUPS] = { format_dups },
};

dedup_status dedup_writer_new(struct dedup_writer **out, enum dedup_format fmt,
			      FILE *f, int nul, struct dedup_error *err)
{
	struct dedup_writer *w;

	*out = NULL;
	if ((unsigned)fmt >= sizeof(writer_table) / sizeof(writer_table[0]))
		return dedup_error_set(err, DEDUP_EINVAL,
				       "invalid output format %d", (int)fmt);
	if (!f)
		return dedup_error_set(err, DEDUP_EINVAL, "no output stream");
	w = calloc(1, sizeof(*w));
	if (!w)
		return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
	w->ops = &writer_table[fmt];
	w->f = f;
	w->term = nul ? '\0' : '\n';
	dedup_buf_init(&w->rec);
	*out = w;
	return DEDUP_OK;
}

void dedup_writer_free(struct dedup_writer *w)
{
	if (!w)
		return;
	dedup_buf_release(&w->rec);
	free(w);
}

static dedup_status write_error(struct dedup_writer *w,
				struct dedup_error *err)
{
	return dedup_error_set(err, DEDUP_EIO, "cannot write output: %s",
			       strerror(w->failed_errno));
}

dedup_status dedup_writer_write(struct dedup_writer *w,
				const struct dedup_record *r,
				struct dedup_error *err)
{
	dedup_status st;

	if (w->failed_errno)
		return write_error(w, err);
	if (!r->path || !r->cluster || isnan(r->score))
		return dedup_error_set(err, DEDUP_EINVAL,
				       "invalid record for '%s'",
				       r->path ? r->path : "(null)");
	dedup_buf_reset(&w->rec);
	st = w->ops->format(w, r);
	if (st)
		return dedup_error_set(err, st,
				       "cannot format record for '%s': %s",
				       r->path, dedup_strerror(st));
	if (!w->rec.len)
		return DEDUP_OK;
	errno = 0;
	if (fwrite(w->rec.buf, 1, w->rec.len, w->f) != w->rec.len ||
	    ferror(w->f)) {
		w->failed_errno = errno ? errno : EIO;
		return write_error(w, err);
	}
	return DEDUP_OK;
}

dedup_status dedup_writer_finish(struct dedup_writer *w,
				 struct dedup_error *err)
{
	if (w->failed_errno)
		return write_error(w, err);
	errno = 0;
	if (fflush(w->f) || ferror(w->f)) {
		w->failed_errno = errno ? errno : EIO;
		return write_error(w, err);
	}
	return DEDUP_OK;
}
