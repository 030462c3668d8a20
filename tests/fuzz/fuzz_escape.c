/*
 * fuzz_escape.c - the output writers' escaping of paths (any bytes but
 * NUL): dedup_escape_tsv, dedup_escape_json and the records of the tsv and
 * jsonl writers.
 *
 * TSV: the escaped form is valid UTF-8 without control bytes, uses only the
 * escapes output.h lists, and unescapes (with the decoder below, written
 * from output.h) to the original bytes. JSON: the escaped form, in quotes,
 * is a valid JSON string (RFC 8259) whose only escapes are \" \\ \b \f \n
 * \r \t, \u00XX for the other control bytes and 0x7f, and \udcXX for bytes
 * that are not UTF-8; decoding it with Python's surrogateescape rule gives
 * back the original bytes.
 */
#include <string.h>

#include "dedup/output.h"
#include "fuzz_util.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* uppercase is not what output.h promises */
}

/* Undo dedup_escape_tsv into out; 0 on a malformed escape. */
static int tsv_unescape(const char *s, size_t n, struct dedup_buf *out)
{
	size_t i;
	int hi, lo, c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c != '\\') {
			FUZZ_CHECK(!dedup_buf_addch(out, c), "out of memory");
			continue;
		}
		if (++i == n)
			return 0;
		switch (s[i]) {
		case 't': c = '\t'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case '\\': c = '\\'; break;
		case 'x':
			if (n - i < 3)
				return 0;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return 0;
			c = hi * 16 + lo;
			/* Only bytes that may not appear as they are. */
			if (c >= 0x20 && c < 0x7f)
				return 0;
			i += 2;
			break;
		default:
			return 0;
		}
		FUZZ_CHECK(!dedup_buf_addch(out, c), "out of memory");
	}
	return 1;
}

static void check_tsv(const char *path, size_t len)
{
	struct dedup_buf esc = DEDUP_BUF_INIT, back = DEDUP_BUF_INIT;
	size_t i;

	if (dedup_escape_tsv(&esc, path))
		goto out;
	FUZZ_CHECK(fuzz_utf8_valid(esc.buf, esc.len), "tsv: not UTF-8");
	for (i = 0; i < esc.len; i++) {
		unsigned char c = (unsigned char)esc.buf[i];

		FUZZ_CHECK(c >= 0x20 && c != 0x7f,
			   "tsv: control byte %#x at %zu", c, i);
	}
	FUZZ_CHECK(tsv_unescape(esc.buf, esc.len, &back),
		   "tsv: malformed escape in '%s'", esc.buf);
	FUZZ_CHECK(back.len == len && !memcmp(back.buf, path, len),
		   "tsv: '%s' does not unescape to the original", esc.buf);
out:
	dedup_buf_release(&esc);
	dedup_buf_release(&back);
}

/*
 * Decode the JSON string body s (no quotes) into out, as Python's
 * json.loads then str.encode("utf-8", "surrogateescape") would, accepting
 * only the escapes output.h promises. 0 when anything else is found.
 */
static int json_unescape(const char *s, size_t n, struct dedup_buf *out)
{
	size_t i, k;
	unsigned u;
	int c, d, j;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '"')
			return 0; /* must have been escaped */
		if (c != '\\') {
			k = fuzz_utf8_seq((const unsigned char *)s + i, n - i);
			if (!k)
				return 0;
			FUZZ_CHECK(!dedup_buf_add(out, s + i, k),
				   "out of memory");
			i += k - 1;
			continue;
		}
		if (++i == n)
			return 0;
		switch (s[i]) {
		case '"': c = '"'; break;
		case '\\': c = '\\'; break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			if (n - i < 5)
				return 0;
			u = 0;
			for (j = 1; j <= 4; j++) {
				d = s[i + j];
				if (d >= '0' && d <= '9')
					d -= '0';
				else if (d >= 'a' && d <= 'f')
					d -= 'a' - 10;
				else if (d >= 'A' && d <= 'F')
					d -= 'A' - 10;
				else
					return 0;
				u = u * 16 + (unsigned)d;
			}
			i += 4;
			if (u >= 0xdc80 && u <= 0xdcff) {
				c = (int)(u & 0xff); /* surrogateescape */
			} else if ((u < 0x20 || u == 0x7f) && u != '\b' &&
				   u != '\f' && u != '\n' && u != '\r' &&
				   u != '\t') {
				c = (int)u;
			} else {
				return 0; /* not among the promised escapes */
			}
			break;
		default:
			return 0;
		}
		FUZZ_CHECK(!dedup_buf_addch(out, c), "out of memory");
	}
	return 1;
}

static void check_json(const char *path, size_t len)
{
	struct dedup_buf esc = DEDUP_BUF_INIT, back = DEDUP_BUF_INIT;

	if (dedup_escape_json(&esc, path))
		goto out;
	FUZZ_CHECK(fuzz_utf8_valid(esc.buf, esc.len), "json: not UTF-8");
	FUZZ_CHECK(json_unescape(esc.buf, esc.len, &back),
		   "json: invalid string or unexpected escape in \"%s\"",
		   esc.buf);
	FUZZ_CHECK(back.len == len && !memcmp(back.buf, path, len),
		   "json: \"%s\" does not decode to the original", esc.buf);
out:
	dedup_buf_release(&esc);
	dedup_buf_release(&back);
}

/* One record through a writer; check its frame around the escaped path. */
static void check_writer(enum dedup_format fmt, const char *path, int nul)
{
	struct dedup_buf esc = DEDUP_BUF_INIT, want = DEDUP_BUF_INIT;
	struct dedup_record r = { path, "rep.txt", DEDUP_ROLE_DUP, 0.5 };
	struct dedup_writer *w = NULL;
	struct dedup_error err;
	char *mem = NULL;
	size_t memlen = 0;
	FILE *f;
	int ok;

	f = open_memstream(&mem, &memlen);
	FUZZ_CHECK(f, "open_memstream failed");
	FUZZ_CHECK(!dedup_writer_new(&w, fmt, f, nul, &err), "writer: %s",
		   err.msg);
	FUZZ_CHECK(!dedup_writer_write(w, &r, &err), "write: %s", err.msg);
	FUZZ_CHECK(!dedup_writer_finish(w, &err), "finish: %s", err.msg);
	dedup_writer_free(w);
	fclose(f);

	if (fmt == DEDUP_FORMAT_TSV) {
		ok = !dedup_escape_tsv(&esc, path) &&
		     !dedup_buf_addf(&want, "%s\trep.txt\tdup\t0.5%c", esc.buf,
				     nul ? '\0' : '\n');
	} else if (fmt == DEDUP_FORMAT_JSONL) {
		ok = !dedup_escape_json(&esc, path) &&
		     !dedup_buf_addf(&want,
				     "{\"path\":\"%s\",\"cluster\":\"rep.txt\","
				     "\"role\":\"dup\",\"score\":0.5}%c",
				     esc.buf, nul ? '\0' : '\n');
	} else {
		/* dups list: the raw path */
		ok = !dedup_buf_addf(&want, "%s%c", path, nul ? '\0' : '\n');
	}
	if (ok)
		FUZZ_CHECK(memlen == want.len && !memcmp(mem, want.buf, memlen),
			   "format %d: record '%.*s' is not '%s'", (int)fmt,
			   (int)memlen, mem, want.buf);
	free(mem);
	dedup_buf_release(&esc);
	dedup_buf_release(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path;
	size_t len;

	/* Paths are C strings: the part before a NUL byte. */
	path = malloc(size + 1);
	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	len = strlen(path);

	check_tsv(path, len);
	check_json(path, len);
	if (len) {
		check_writer(DEDUP_FORMAT_TSV, path, size & 1);
		check_writer(DEDUP_FORMAT_JSONL, path, size & 1);
		check_writer(DEDUP_FORMAT_DUPS, path, size & 1);
	}
	free(path);
	return 0;
}
