/*
 * bench_repair.c - throughput of the repair stage (MB/s, one thread).
 *
 * usage: bench_repair [FILE...]
 *
 * Reads the given files (default: every article of
 * ../shared/corpora/gva_dev/docs and ecbplus_dev/docs when present,
 * otherwise generated sentences) and times dedup_repair_decode() on:
 *   clean    the texts as they are (the fast path for most of them)
 *   damaged  every text through a random lossless chain of wrong decodings
 *   lossy    the same with byte loss allowed
 *   mixed    half the texts damaged, line by line
 * Each set is repeated until at least a second of CPU time has passed.
 * MB/s counts input bytes per second of CPU time (one core).
 *
 * usage: bench_repair --detect FILE...
 *
 * Prints "ENCODING<TAB>FILE" for each file as dedup_repair_decode() reads
 * it ("!binary" when refused), then the CPU time per file of decoding them
 * all: the accuracy and speed of the encoding detection, for files made
 * with iconv or Python in each code page (see bench/RESULTS.md).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dedup/repair.h"
#include "../tests/unit/damage.h"

struct doc {
	char *data;
	size_t len;
};

struct set {
	struct doc *d;
	size_t n, alloc, bytes;
};

static void add_doc(struct set *s, const char *data, size_t len)
{
	if (s->n == s->alloc) {
		s->alloc = s->alloc ? s->alloc * 2 : 256;
		s->d = realloc(s->d, s->alloc * sizeof(*s->d));
		if (!s->d) {
			perror("bench_repair");
			exit(1);
		}
	}
	s->d[s->n].data = malloc(len + 1);
	if (!s->d[s->n].data) {
		perror("bench_repair");
		exit(1);
	}
	memcpy(s->d[s->n].data, data, len);
	s->d[s->n].data[len] = '\0';
	s->d[s->n].len = len;
	s->bytes += len;
	s->n++;
}

static int add_file(struct set *s, const char *path)
{
	FILE *f = fopen(path, "rb");
	struct dedup_buf b = DEDUP_BUF_INIT;
	char tmp[65536];
	size_t n;

	if (!f)
		return -1;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (dedup_buf_add(&b, tmp, n))
			break;
	fclose(f);
	add_doc(s, b.buf, b.len);
	dedup_buf_release(&b);
	return 0;
}

static void add_dir(struct set *s, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			add_file(s, path);
		}
	closedir(d);
}

static const char *const sentences[] = {
	"The council voted on Tuesday to extend the night bus service, "
	"saying demand had doubled since the spring.\n",
	"\xE2\x80\x9CWe are not there yet,\xE2\x80\x9D the minister said, "
	"adding that talks would resume next week.\n",
	"Prices for caf\xC3\xA9 staples rose 4% \xE2\x80\x94 the steepest "
	"climb in a decade \xE2\x80\x94 according to the bureau.\n",
	"Local fishermen say the storm destroyed nets worth \xE2\x82\xAC" "20,000 "
	"and kept boats in port for six days.\n",
};

static void generate(struct set *s)
{
	struct dedup_buf b = DEDUP_BUF_INIT;
	size_t i, j;

	for (i = 0; i < 2000; i++) {
		dedup_buf_reset(&b);
		for (j = 0; j < 12; j++)
			dedup_buf_addstr(&b, sentences[(i + j * 7) % 4]);
		add_doc(s, b.buf, b.len);
	}
	dedup_buf_release(&b);
}

static void free_set(struct set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->d[i].data);
	free(s->d);
}

/*
 * CPU time of this process: the machine is shared, and MB/s per core is
 * what we want to know.
 */
static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double wall(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void run(struct dedup_repair *r, const char *name,
		const struct set *s)
{
	struct dedup_buf out = DEDUP_BUF_INIT;
	struct dedup_error err;
	double t0 = now(), w0 = wall(), t;
	size_t i, bytes = 0, rounds = 0, failed = 0;

	do {
		for (i = 0; i < s->n; i++) {
			if (dedup_repair_decode(r, s->d[i].data, s->d[i].len,
						&out, NULL, &err))
				failed++;
			bytes += s->d[i].len;
		}
		rounds++;
		t = now() - t0;
	} while (t < 1.0);
	printf("%-8s %6zu docs %7.2f MB %8.1f MB/s cpu %8.1f MB/s wall "
	       "(%zu rounds%s)\n",
	       name, s->n, (double)s->bytes / 1e6, (double)bytes / 1e6 / t,
	       (double)bytes / 1e6 / (wall() - w0), rounds,
	       failed ? ", some failed" : "");
	dedup_buf_release(&out);
}

static int detect(struct set *s, char **names)
{
	struct dedup_buf out = DEDUP_BUF_INIT;
	struct dedup_repair_report rep;
	struct dedup_repair *r;
	struct dedup_error err;
	double t0, t;
	size_t i, rounds = 0;

	if (dedup_repair_new(&r, &err)) {
		fprintf(stderr, "bench_repair: %s\n", err.msg);
		return 1;
	}
	for (i = 0; i < s->n; i++) {
		memset(&rep, 0, sizeof(rep));
		if (dedup_repair_decode(r, s->d[i].data, s->d[i].len, &out,
					&rep, &err))
			rep.encoding = "!binary";
		printf("%s\t%s\n", rep.encoding, names[i]);
	}
	t0 = now();
	do {
		for (i = 0; i < s->n; i++)
			dedup_repair_decode(r, s->d[i].data, s->d[i].len, &out,
					    NULL, &err);
		rounds++;
		t = now() - t0;
	} while (t < 1.0);
	fprintf(stderr, "%zu files, %.1f KB each on average: %.1f us CPU "
		"per file (%zu rounds)\n", s->n,
		(double)s->bytes / 1e3 / (double)s->n,
		t * 1e6 / (double)(rounds * s->n), rounds);
	dedup_buf_release(&out);
	dedup_repair_free(r);
	return 0;
}

int main(int argc, char **argv)
{
	struct set clean = { 0 }, damaged = { 0 }, lossy = { 0 },
		   mixed = { 0 };
	struct damage_rng rng = { 0x5DEECE66DULL };
	struct damage_chain ch;
	struct dedup_buf b = DEDUP_BUF_INIT;
	struct dedup_repair *r;
	struct dedup_error err;
	const char *src = "generated sentences";
	size_t i;
	int a;

	if (argc > 1 && !strcmp(argv[1], "--detect")) {
		for (a = 2; a < argc; a++)
			if (add_file(&clean, argv[a])) {
				fprintf(stderr, "bench_repair: cannot read "
					"'%s'\n", argv[a]);
				return 1;
			}
		a = clean.n ? detect(&clean, argv + 2) : 1;
		free_set(&clean);
		return a;
	}
	for (a = 1; a < argc; a++)
		if (add_file(&clean, argv[a]))
			fprintf(stderr, "bench_repair: cannot read '%s'\n",
				argv[a]);
	if (argc > 1) {
		src = "files given";
	} else {
		add_dir(&clean, "../shared/corpora/gva_dev/docs");
		add_dir(&clean, "../shared/corpora/ecbplus_dev/docs");
		if (clean.n)
			src = "../shared gva_dev + ecbplus_dev articles";
		else
			generate(&clean);
	}
	if (!clean.n)
		return 1;
	for (i = 0; i < clean.n; i++) {
		damage_pick(&rng, &ch, 0);
		damage_apply(&ch, clean.d[i].data, clean.d[i].len, &b);
		add_doc(&damaged, b.buf, b.len);
		damage_pick(&rng, &ch, 1);
		damage_apply(&ch, clean.d[i].data, clean.d[i].len, &b);
		add_doc(&lossy, b.buf, b.len);
		if (i % 2)
			damage_lines(&rng, clean.d[i].data, clean.d[i].len, 50,
				     1, &b);
		else
			dedup_buf_reset(&b), dedup_buf_add(&b, clean.d[i].data,
							   clean.d[i].len);
		add_doc(&mixed, b.buf, b.len);
	}
	dedup_buf_release(&b);
	if (dedup_repair_new(&r, &err)) {
		fprintf(stderr, "bench_repair: %s\n", err.msg);
		return 1;
	}
	printf("repair stage, one thread, input: %s\n", src);
	run(r, "clean", &clean);
	run(r, "damaged", &damaged);
	run(r, "lossy", &lossy);
	run(r, "mixed", &mixed);
	dedup_repair_free(r);
	free_set(&clean);
	free_set(&damaged);
	free_set(&lossy);
	free_set(&mixed);
	return 0;
}
