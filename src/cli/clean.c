/*
 * clean.c - `dedup clean`: each document's text as the clusterer sees it,
 * on stdout or written under --out-dir.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/*
 * mkdir -p for the directories of `path` (not the last component). Files
 * come in walk order, so most share the previous file's directory: that
 * one is remembered and not made again.
 */
static int make_parents(char *path)
{
	static struct dedup_buf last = DEDUP_BUF_INIT;
	char *p, *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) : 0;

	if (!dirlen || (last.len == dirlen && !memcmp(last.buf, path, dirlen)))
		return 0;
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0777) && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	dedup_buf_reset(&last);
	if (dedup_buf_add(&last, path, dirlen))
		dedup_buf_reset(&last);
	return 0;
}

/* Write through a temporary file so a reader never sees half a document. */
static int write_file(const char *dir, const char *rel, const char *data,
		      size_t len)
{
	struct dedup_buf path = DEDUP_BUF_INIT, tmp = DEDUP_BUF_INIT;
	FILE *f = NULL;
	int ret = -1;

	while (rel[0] == '/')
		rel++;
	if (dedup_buf_addf(&path, "%s/%s", dir, rel) ||
	    dedup_buf_addf(&tmp, "%s.tmp%ld", path.buf, (long)getpid())) {
		errno = ENOMEM;
		goto out;
	}
	if (make_parents(path.buf))
		goto out;
	cli_tmp_set(CLI_TMP_CLEAN, tmp.buf);
	f = fopen(tmp.buf, "wb");
	if (!f)
		goto out;
	if (fwrite(data, 1, len, f) != len) {
		fclose(f);
		unlink(tmp.buf);
		goto out;
	}
	if (fclose(f)) {
		unlink(tmp.buf);
		goto out;
	}
	if (rename(tmp.buf, path.buf)) {
		unlink(tmp.buf);
		goto out;
	}
	ret = 0;
out:
	cli_tmp_clear(CLI_TMP_CLEAN);
	if (ret)
		cli_error("cannot write '%s': %s", path.buf, strerror(errno));
	dedup_buf_release(&path);
	dedup_buf_release(&tmp);
	return ret;
}

int cli_clean(struct dedup_context *ctx, const struct cli_inputs *in,
	      const char *out_dir, int strip, int *failed)
{
	const struct dedup_options *o = dedup_context_options(ctx);
	struct dedup_run *run = NULL;
	struct dedup_worker *w = NULL;
	struct dedup_buf bytes = DEDUP_BUF_INIT, text = DEDUP_BUF_INIT;
	struct dedup_error err;
	int headers = !out_dir && in->n > 1, ret = -1;
	size_t i;

	if (dedup_run_new(&run, ctx, &err) || dedup_worker_new(&w, ctx, &err))
		goto fail;
	for (i = 0; i < in->n; i++)
		if (dedup_run_add(run, in->v[i].path, &err))
			goto fail;
	if (strip && o->corpus_lines && dedup_run_count_lines(run, &err))
		goto fail;
	for (i = 0; i < in->n; i++) {
		const char *path = in->v[i].path;
		dedup_status st;

		dedup_error_clear(&err);
		st = dedup_run_read(run, i, &bytes, &err);
		if (!st)
			st = dedup_worker_clean(w, bytes.buf, bytes.len, strip,
						dedup_run_lines(run), &text,
						NULL, &err);
		if (st == DEDUP_ENOMEM)
			goto fail;
		if (st) {
			cli_error("%s", err.msg);
			*failed = 1;
			continue;
		}
		if (dedup_worker_warning(w))
			fprintf(stderr, "dedup: warning: '%s': %s\n", path,
				dedup_worker_warning(w));
		if (out_dir && strcmp(path, "-")) {
			if (write_file(out_dir, in->v[i].rel, text.buf,
				       text.len))
				*failed = 1;
			continue;
		}
		if (headers)
			printf("%s==> %s <==\n", i ? "\n" : "", path);
		fwrite(text.buf, 1, text.len, stdout);
		if (ferror(stdout)) {
			if (errno != EPIPE)
				cli_error("cannot write output: %s",
					  strerror(errno));
			goto out;
		}
	}
	ret = 0;
	goto out;
fail:
	cli_error("%s", err.msg);
out:
	dedup_buf_release(&bytes);
	dedup_buf_release(&text);
	dedup_worker_free(w);
	dedup_run_free(run);
	return ret;
}
