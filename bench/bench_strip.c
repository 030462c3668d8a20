/*
 * bench_strip.c - run stage 2 (boilerplate stripping) over text files.
 *
 *   bench_strip [options] FILE|DIR...
 *     -o DIR      write each cleaned file to DIR under its base name
 *     -l          with -o, also write DIR/NAME.log (reason<TAB>removed text)
 *     -r FILE     add a rule file to the built-in rules
 *     -B          without the built-in rules
 *     -R          no rules;  -E  no text evidence
 *     -c          corpus evidence: a first pass counts lines over all inputs
 *     -C          the counting pass alone (no stripping: for profiles)
 *     -n N        strip (and count) everything N times (for timing)
 *
 * Inputs must be UTF-8 (no repair is run). Prints the number of files,
 * megabytes and the stripping speed in MB/s of CPU time and microseconds
 * per document, one thread; with -c, the same for the counting pass
 * alone.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dedup/buf.h"
#include "dedup/stopwords.h"
#include "dedup/strip.h"

struct doc {
	char *path;
	char *text;
	size_t len;
};

static struct doc *docs;
static size_t ndocs, adocs;

static int read_file(const char *path, struct doc *d)
{
	struct dedup_buf b = DEDUP_BUF_INIT;
	char chunk[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "bench_strip: cannot read '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (dedup_buf_add(&b, chunk, n)) {
			fclose(f);
			return -1;
		}
	fclose(f);
	d->path = strdup(path);
	d->text = dedup_buf_detach(&b, &d->len);
	return d->path && d->text ? 0 : -1;
}

static int add_path(const char *path)
{
	struct stat sb;

	if (stat(path, &sb)) {
		fprintf(stderr, "bench_strip: cannot read '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	if (S_ISDIR(sb.st_mode)) {
		struct dirent **ents;
		int n, i, rc = 0;

		n = scandir(path, &ents, NULL, alphasort);
		if (n < 0)
			return -1;
		for (i = 0; i < n; i++) {
			char sub[4096];

			if (ents[i]->d_name[0] != '.' && !rc) {
				snprintf(sub, sizeof(sub), "%s/%s", path,
					 ents[i]->d_name);
				rc = add_path(sub);
			}
			free(ents[i]);
		}
		free(ents);
		return rc;
	}
	if (ndocs == adocs) {
		adocs = adocs ? 2 * adocs : 256;
		docs = realloc(docs, adocs * sizeof(*docs));
		if (!docs)
			return -1;
	}
	if (read_file(path, &docs[ndocs]))
		return -1;
	ndocs++;
	return 0;
}

static int write_file(const char *dir, const char *path, const char *ext,
		      const struct dedup_buf *b)
{
	const char *base = strrchr(path, '/');
	char out[4096];
	FILE *f;

	base = base ? base + 1 : path;
	snprintf(out, sizeof(out), "%s/%s%s", dir, base, ext);
	f = fopen(out, "wb");
	if (!f || fwrite(b->buf, 1, b->len, f) != b->len || fclose(f)) {
		fprintf(stderr, "bench_strip: cannot write '%s'\n", out);
		return -1;
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;

	/* CPU time of this process: other jobs on a shared machine do not
	 * count against the stage */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct dedup_strip_opts opts = { 1, 1, NULL };
	struct dedup_buf out = DEDUP_BUF_INIT, log = DEDUP_BUF_INIT;
	struct dedup_linestats *ls = NULL;
	struct dedup_stopwords *sw = NULL;
	struct dedup_stripper *st = NULL;
	struct dedup_rules *rs = NULL;
	struct dedup_error err;
	const char *outdir = NULL, *rulefile = NULL;
	int c, want_log = 0, corpus = 0, count_only = 0, repeat = 1, rep, rc = 1, builtin = 1;
	size_t i, bytes = 0;
	double t0, t, tc = 0;

	while ((c = getopt(argc, argv, "o:lr:BREcCn:")) != -1) {
		switch (c) {
		case 'o': outdir = optarg; break;
		case 'l': want_log = 1; break;
		case 'r': rulefile = optarg; break;
		case 'B': builtin = 0; break;
		case 'R': opts.use_rules = 0; break;
		case 'E': opts.use_evidence = 0; break;
		case 'c': corpus = 1; break;
		case 'C': corpus = count_only = 1; break;
		case 'n': repeat = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: bench_strip [-o DIR] [-l] "
				"[-r FILE] [-B] [-R] [-E] [-c|-C] [-n N] "
				"FILE|DIR...\n");
			return 2;
		}
	}
	if (optind == argc || repeat < 1) {
		fprintf(stderr, "bench_strip: no input\n");
		return 2;
	}
	for (; optind < argc; optind++)
		if (add_path(argv[optind]))
			return 1;
	if (dedup_stopwords_new(&sw, &err) || dedup_rules_new(&rs, &err) ||
	    (builtin && dedup_rules_add_builtin(rs, &err)) ||
	    (rulefile && dedup_rules_add_file(rs, rulefile, &err)) ||
	    dedup_stripper_new(&st, rs, sw, &err)) {
		fprintf(stderr, "bench_strip: %s\n", err.msg);
		goto out;
	}
	/* the counting pass, timed alone: a fresh table each time */
	for (rep = 0; corpus && rep < repeat; rep++) {
		dedup_linestats_free(ls);
		if (dedup_linestats_new(&ls, &err)) {
			fprintf(stderr, "bench_strip: %s\n", err.msg);
			goto out;
		}
		t0 = now();
		for (i = 0; i < ndocs; i++)
			dedup_linestats_observe(ls, docs[i].text, docs[i].len);
		tc += now() - t0;
		opts.lines = ls;
	}
	t0 = now();
	for (rep = 0; rep < (count_only ? 0 : repeat); rep++) {
		for (i = 0; i < ndocs; i++) {
			dedup_status s = dedup_strip(st, &opts, docs[i].text,
				docs[i].len, &out, want_log ? &log : NULL,
				&err);

			if (s && s != DEDUP_ELIMIT) {
				fprintf(stderr, "bench_strip: '%s': %s\n",
					docs[i].path, err.msg);
				goto out;
			}
			if (s == DEDUP_ELIMIT)
				fprintf(stderr, "bench_strip: '%s': %s\n",
					docs[i].path, err.msg);
			bytes += docs[i].len;
			if (rep == 0 && outdir) {
				if (write_file(outdir, docs[i].path, "", &out))
					goto out;
				if (want_log && write_file(outdir,
					docs[i].path, ".log", &log))
					goto out;
			}
			dedup_buf_reset(&log);
		}
	}
	t = now() - t0;
	printf("files %zu  rules %zu  MB %.2f  cpu seconds %.3f  MB/s %.1f  "
	       "us/doc %.1f\n", ndocs, dedup_rules_count(rs), bytes / 1e6, t,
	       t > 0 ? bytes / 1e6 / t : 0.0, t * 1e6 / repeat / ndocs);
	if (corpus)
		printf("counting lines: cpu seconds %.3f  MB/s %.1f  "
		       "us/doc %.1f\n", tc, tc > 0 ? bytes / 1e6 / tc : 0.0,
		       tc * 1e6 / repeat / ndocs);
	rc = 0;
out:
	dedup_stripper_free(st);
	dedup_rules_free(rs);
	dedup_stopwords_free(sw);
	dedup_linestats_free(ls);
	dedup_buf_release(&out);
	dedup_buf_release(&log);
	for (i = 0; i < ndocs; i++) {
		free(docs[i].path);
		free(docs[i].text);
	}
	free(docs);
	return rc;
}
