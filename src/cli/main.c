/*
 * main.c - the dedup command: option parsing, input listing, messages and
 * exit statuses. Everything else is the library's (include/dedup/).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dedup/index.h"
#include "dedup/output.h"
#include "dedup/pipeline.h"
#include "dedup/walk.h"
#include "cli.h"



static const char *progname = "dedup";

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void warning(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: warning: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry '%s --help' for more information\n", progname);
	return EXIT_USAGE;
}

static const char usage_text[] =
"usage: dedup [OPTIONS] PATH...\n"
"       dedup clean [OPTIONS] [--no-strip] [--out-dir DIR] PATH...\n"
"       dedup explain [OPTIONS] FILE1 FILE2 [CORPUS...]\n"
"       dedup index stats|compact [--expire DAYS] FILE\n"
"\n"
"Find near-duplicate news articles: every file under each PATH (directories\n"
"are walked recursively, '-' is standard input) is repaired, stripped of\n"
"boilerplate, hashed and clustered. One record per document goes to stdout:\n"
"\n"
"  PATH <TAB> CLUSTER <TAB> ROLE <TAB> SCORE\n"
"\n"
"CLUSTER is the path of the cluster's representative (the document to keep),\n"
"ROLE is 'keep' or 'dup', SCORE the similarity to the representative (0..1,\n"
"1 for the representative itself). In paths, tab, newline, carriage return\n"
"and backslash are written \\t \\n \\r \\\\, other control bytes and invalid\n"
"UTF-8 as \\xHH.\n"
"\n"
"At the default level (event), --dups lists every report of an event after\n"
"the first: rewrites and independent reports too, not only copies. To find\n"
"copies only (verbatim and lightly edited), use --level copy.\n"
"\n"
"Input:\n"
"  -T, --files-from FILE   read paths from FILE, one per line ('-': stdin)\n"
"  -0, --null              NUL-separated path list in, NUL-terminated records out\n"
"      --include GLOB      only files matching GLOB (path below PATH or name)\n"
"      --exclude GLOB      skip files and directories matching GLOB\n"
"      --max-doc-size N    larger documents are an error (default 64M; K, M, G)\n"
"Output:\n"
"  -f, --format FMT        tsv (default) or jsonl (keys path, cluster, role,\n"
"                          score)\n"
"      --keep              print only the paths to keep, one per line\n"
"      --dups              print only the paths of duplicates, one per line\n"
"  -q, --quiet             no warnings (errors are still printed)\n"
"Matching:\n"
"      --level LEVEL       event (default): reports of one event, rewrites too;\n"
"                          copy: verbatim and lightly edited copies only\n"
"  -t, --threshold X       similarity needed to join a cluster (event: 0.1,\n"
"                          copy: 0.7)\n"
"      --shingle N         words per shingle at the copy level (default 5)\n"
"      --perms N           MinHash values for LSH (event: 256, copy: 128)\n"
"      --min-bands N       LSH bands two documents must share to be compared\n"
"                          (event: 2, copy: 1; 1 at the event level finds a\n"
"                          few more weak pairs for about 7 % more time)\n"
"      --terms N           content terms kept per document (default 256)\n"
"      --df-sample N       weigh terms by their frequency in about N documents\n"
"                          of a larger run, picked by path (default 0: all;\n"
"                          less memory and time, weaker clusters; not with\n"
"                          --index)\n"
"      --rules FILE        add boilerplate rules from FILE (repeatable)\n"
"      --no-builtin-rules  do not load the built-in rules\n"
"      --no-strip          keep boilerplate (repair only)\n"
"      --no-corpus-lines   do not treat lines recurring across documents as\n"
"                          boilerplate\n"
"  -j, --threads N         worker threads (default: available cores)\n"
"Index (nightly runs):\n"
"      --index FILE        match against the documents of earlier runs kept\n"
"                          in FILE (created if missing) and add this run's;\n"
"                          records are printed for this run's documents only\n"
"      --wait              wait for another run holding the index, instead\n"
"                          of failing with status 3\n"
"      --expire DAYS       drop index entries added more than DAYS days ago\n"
"  -h, --help              show this help and exit\n"
"  -V, --version           show the version and exit\n"
"\n"
"clean: print each document's text as the clusterer sees it (after repair\n"
"and boilerplate removal). Several documents on stdout are each preceded by\n"
"'==> PATH <=='. --out-dir DIR writes each document under DIR instead, at\n"
"its path relative to the PATH it was found under, through a temporary file\n"
"renamed into place (of two documents with one such path, the later is\n"
"kept). --no-strip: repair only.\n"
"\n"
"explain: the similarity of two documents and why: the shared terms that\n"
"weigh most and what cleaning removed. Files or directories after the two\n"
"are the corpus whose document frequencies weigh the terms.\n"
"\n"
"index stats FILE: what an index holds. index compact FILE: rewrite it,\n"
"dropping superseded entries (and, with --expire, old ones).\n"
"\n"
"Exit status: 0 all documents processed; 1 some input could not be\n"
"processed, the index could not be used, or output could not be written\n"
"(each reported on stderr, the rest still processed); 2 usage error;\n"
"3 the index is locked by another run (see --wait).\n";

enum {
	OPT_INCLUDE = 256, OPT_EXCLUDE, OPT_KEEP, OPT_DUPS, OPT_LEVEL,
	OPT_SHINGLE, OPT_PERMS, OPT_TERMS, OPT_RULES, OPT_NO_BUILTIN,
	OPT_NO_STRIP, OPT_NO_LINES, OPT_MAX_DOC, OPT_OUT_DIR, OPT_INDEX,
	OPT_WAIT, OPT_EXPIRE, OPT_DF_SAMPLE, OPT_MIN_BANDS,
};

static const struct option long_options[] = {
	{ "files-from", required_argument, NULL, 'T' },
	{ "null", no_argument, NULL, '0' },
	{ "include", required_argument, NULL, OPT_INCLUDE },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "max-doc-size", required_argument, NULL, OPT_MAX_DOC },
	{ "format", required_argument, NULL, 'f' },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "dups", no_argument, NULL, OPT_DUPS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "threshold", required_argument, NULL, 't' },
	{ "shingle", required_argument, NULL, OPT_SHINGLE },
	{ "perms", required_argument, NULL, OPT_PERMS },
	{ "min-bands", required_argument, NULL, OPT_MIN_BANDS },
	{ "terms", required_argument, NULL, OPT_TERMS },
	{ "df-sample", required_argument, NULL, OPT_DF_SAMPLE },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "no-builtin-rules", no_argument, NULL, OPT_NO_BUILTIN },
	{ "no-strip", no_argument, NULL, OPT_NO_STRIP },
	{ "no-corpus-lines", no_argument, NULL, OPT_NO_LINES },
	{ "threads", required_argument, NULL, 'j' },
	{ "out-dir", required_argument, NULL, OPT_OUT_DIR },
	{ "index", required_argument, NULL, OPT_INDEX },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ "expire", required_argument, NULL, OPT_EXPIRE },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Everything the command line sets, with defaults in cli_defaults(). */
struct cli {
	enum { CMD_CLUSTER, CMD_CLEAN, CMD_EXPLAIN, CMD_INDEX } cmd;
	enum dedup_format format;
	int nul, quiet, strip, corpus_lines, builtin_rules;
	enum dedup_level level;
	double threshold;          /* < 0: the level's default */
	long shingle, perms, terms, threads, min_bands;
	long df_sample;            /* < 0: the default */
	size_t max_doc;
	const char **rules;
	size_t nrules;
	const char **includes, **excludes, **lists;
	size_t ninc, nexc, nlists;
	const char *out_dir;
	const char *index;
	int wait;
	long expire_days;          /* 0: no expiry */
};

static void cli_defaults(struct cli *c)
{
	memset(c, 0, sizeof(*c));
	c->format = DEDUP_FORMAT_TSV;
	c->strip = 1;
	c->corpus_lines = 1;
	c->builtin_rules = 1;
	c->level = DEDUP_LEVEL_EVENT;
	c->threshold = -1;
	c->shingle = c->perms = c->terms = c->threads = c->min_bands = -1;
	c->df_sample = -1;
}

/* Whole-string integer in [lo, hi] (OpenBSD strtonum's contract). */
static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_double01(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 1))
		return -1;
	*out = v;
	return 0;
}

/* A byte count with an optional K, M or G suffix (powers of 1024). */
static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (*s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || v == 0 || v > (SIZE_MAX >> shift))
		return -1;
	*out = (size_t)(v << shift);
	return 0;
}

static int push(const char ***v, size_t *n, const char *s)
{
	const char **p = realloc(*v, (*n + 1) * sizeof(*p));

	if (!p)
		return -1;
	p[(*n)++] = s;
	*v = p;
	return 0;
}

static void cli_release(struct cli *c)
{
	free(c->rules);
	free(c->includes);
	free(c->excludes);
	free(c->lists);
}

/* Parse options; returns -1 to go on, or an exit status. */
static int parse_options(struct cli *c, int argc, char **argv)
{
	int ch;

	opterr = 0; /* our own messages, without argv[0] */
	while ((ch = getopt_long(argc, argv, ":T:0f:qt:j:hV", long_options,
				 NULL)) != -1) {
		switch (ch) {
		case 'T':
			if (push(&c->lists, &c->nlists, optarg))
				return usage_error("out of memory");
			break;
		case '0':
			c->nul = 1;
			break;
		case OPT_INCLUDE:
			if (push(&c->includes, &c->ninc, optarg))
				return usage_error("out of memory");
			break;
		case OPT_EXCLUDE:
			if (push(&c->excludes, &c->nexc, optarg))
				return usage_error("out of memory");
			break;
		case OPT_MAX_DOC:
			if (parse_size(optarg, &c->max_doc))
				return usage_error("invalid size '%s' for --max-doc-size",
						   optarg);
			break;
		case 'f':
			if (!strcmp(optarg, "tsv"))
				c->format = DEDUP_FORMAT_TSV;
			else if (!strcmp(optarg, "jsonl"))
				c->format = DEDUP_FORMAT_JSONL;
			else
				return usage_error("unknown format '%s' (tsv or jsonl)",
						   optarg);
			break;
		case OPT_KEEP:
			c->format = DEDUP_FORMAT_KEEP;
			break;
		case OPT_DUPS:
			c->format = DEDUP_FORMAT_DUPS;
			break;
		case 'q':
			c->quiet = 1;
			break;
		case OPT_LEVEL:
			if (!strcmp(optarg, "event"))
				c->level = DEDUP_LEVEL_EVENT;
			else if (!strcmp(optarg, "copy"))
				c->level = DEDUP_LEVEL_COPY;
			else
				return usage_error("unknown level '%s' (event or copy)",
						   optarg);
			break;
		case 't':
			if (parse_double01(optarg, &c->threshold))
				return usage_error("threshold must be a number from 0 to 1, not '%s'",
						   optarg);
			break;
		case OPT_SHINGLE:
			if (parse_long(optarg, 1, 16, &c->shingle))
				return usage_error("shingle size must be 1 to 16, not '%s'",
						   optarg);
			break;
		case OPT_PERMS:
			if (parse_long(optarg, 1, 1024, &c->perms))
				return usage_error("permutations must be 1 to 1024, not '%s'",
						   optarg);
			break;
		case OPT_MIN_BANDS:
			if (parse_long(optarg, 1, 1024, &c->min_bands))
				return usage_error("shared bands must be 1 to 1024, not '%s'",
						   optarg);
			break;
		case OPT_DF_SAMPLE:
			if (parse_long(optarg, 0, LONG_MAX, &c->df_sample))
				return usage_error("invalid count '%s' for --df-sample",
						   optarg);
			break;
		case OPT_TERMS:
			if (parse_long(optarg, 1, 4096, &c->terms))
				return usage_error("terms must be 1 to 4096, not '%s'",
						   optarg);
			break;
		case OPT_RULES:
			if (push(&c->rules, &c->nrules, optarg))
				return usage_error("out of memory");
			break;
		case OPT_NO_BUILTIN:
			c->builtin_rules = 0;
			break;
		case OPT_NO_STRIP:
			c->strip = 0;
			break;
		case OPT_NO_LINES:
			c->corpus_lines = 0;
			break;
		case 'j':
			if (parse_long(optarg, 1, 256, &c->threads))
				return usage_error("threads must be 1 to 256, not '%s'",
						   optarg);
			break;
		case OPT_OUT_DIR:
			if (c->cmd != CMD_CLEAN)
				return usage_error("--out-dir works with 'dedup clean' only");
			c->out_dir = optarg;
			break;
		case OPT_INDEX:
			c->index = optarg;
			break;
		case OPT_WAIT:
			c->wait = 1;
			break;
		case OPT_EXPIRE:
			if (parse_long(optarg, 1, 1000000, &c->expire_days))
				return usage_error("--expire takes a number of days, not '%s'",
						   optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return fflush(stdout) || ferror(stdout) ? EXIT_SOME_FAILED :
								   EXIT_OK;
		case 'V':
			printf("dedup %s\n", DEDUP_VERSION_STRING);
			return fflush(stdout) || ferror(stdout) ? EXIT_SOME_FAILED :
								   EXIT_OK;
		case ':':
			return usage_error("option '%s' needs a value",
					   argv[optind - 1]);
		default:
			if (optopt)
				return usage_error("unknown option '-%c'", optopt);
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	return -1;
}

static void options_from_cli(const struct cli *c, struct dedup_options *o)
{
	dedup_options_default(o, c->level);
	if (c->threshold >= 0)
		o->cluster.threshold = c->threshold;
	if (c->shingle > 0)
		o->sig.shingle = (uint32_t)c->shingle;
	if (c->perms > 0) {
		o->sig.nperm = (uint32_t)c->perms;
		o->cluster.nhash = (uint32_t)c->perms;
	}
	if (c->terms > 0)
		o->sig.kterms = (uint32_t)c->terms;
	if (c->min_bands > 0)
		o->cluster.min_bands = (uint32_t)c->min_bands;
	if (c->threads > 0)
		o->threads = (unsigned)c->threads;
	if (c->max_doc)
		o->max_doc_size = c->max_doc;
	if (c->df_sample >= 0)
		o->df_sample = (uint64_t)c->df_sample;
	o->strip = c->strip;
	o->corpus_lines = c->corpus_lines;
	o->builtin_rules = c->builtin_rules;
	o->rule_files = c->rules;
	o->n_rule_files = c->nrules;
}

/*
 * List the documents: walk every PATH and --files-from list. Walk errors
 * are reported here and counted in *failed.
 */
static int list_inputs(const struct cli *c, int argc, char **argv,
		       struct cli_inputs *in, int *failed)
{
	struct dedup_walk *w = NULL;
	struct dedup_walk_entry e;
	struct dedup_error err;
	dedup_status st;
	size_t i;
	int ret = -1;

	if (dedup_walk_new(&w, &err)) {
		cli_error("%s", err.msg);
		return -1;
	}
	for (i = 0; i < c->ninc; i++)
		if (dedup_walk_include(w, c->includes[i]))
			goto out;
	for (i = 0; i < c->nexc; i++)
		if (dedup_walk_exclude(w, c->excludes[i]))
			goto out;
	for (i = 0; i < c->nlists; i++) {
		FILE *f = strcmp(c->lists[i], "-") ? fopen(c->lists[i], "rb") :
						     stdin;

		if (!f) {
			cli_error("cannot open '%s': %s", c->lists[i],
				  strerror(errno));
			*failed = 1;
			continue;
		}
		st = dedup_walk_add_list(w, f, c->nul, c->lists[i], &err);
		if (f != stdin)
			fclose(f);
		if (st) {
			cli_error("%s", err.msg);
			*failed = 1;
		}
	}
	for (i = 0; i < (size_t)argc; i++)
		if (dedup_walk_add_root(w, argv[i]))
			goto out;
	for (;;) {
		dedup_error_clear(&err);
		st = dedup_walk_next(w, &e, &err);
		if (st == DEDUP_DONE)
			break;
		if (st == DEDUP_ENOMEM)
			goto out;
		if (st) {
			cli_error("%s", err.msg);
			*failed = 1;
			continue;
		}
		if (cli_inputs_add(in, e.path, e.rel,
				   e.is_stdin || e.is_stream))
			goto out;
	}
	ret = 0;
out:
	if (ret)
		cli_error("out of memory while listing inputs");
	dedup_walk_free(w);
	return ret;
}

/* Report per-document failures and warnings, in input order. */
static void report_docs(const struct cli *c, struct dedup_run *run,
			int *failed)
{
	struct dedup_doc_info d;
	size_t i;

	for (i = 0; i < dedup_run_count(run); i++) {
		dedup_run_doc(run, i, &d);
		if (d.status) {
			cli_error("%s", d.message);
			*failed = 1;
			continue;
		}
		if (d.warning && !c->quiet)
			warning("'%s': %s", d.path, d.warning);
		if (d.empty && !c->quiet)
			warning("'%s': no text left to compare", d.path);
	}
}

static int write_records(const struct cli *c, struct dedup_run *run)
{
	struct dedup_writer *wr = NULL;
	struct dedup_error err;
	struct dedup_doc_info d;
	size_t i;
	int ret = 0;

	if (dedup_writer_new(&wr, c->format, stdout, c->nul, &err)) {
		cli_error("%s", err.msg);
		return -1;
	}
	for (i = 0; i < dedup_run_count(run); i++) {
		struct dedup_record rec;

		dedup_run_doc(run, i, &d);
		if (d.status)
			continue;
		rec.path = d.path;
		rec.cluster = d.rep_path;
		rec.role = d.keep ? DEDUP_ROLE_KEEP : DEDUP_ROLE_DUP;
		rec.score = d.score;
		if (dedup_writer_write(wr, &rec, &err)) {
			ret = -1;
			break;
		}
	}
	if (!ret && dedup_writer_finish(wr, &err))
		ret = -1;
	/* a reader that went away (dedup ... | head) is not an error to tell */
	if (ret && errno != EPIPE)
		cli_error("%s", err.msg);
	dedup_writer_free(wr);
	return ret;
}

/* Open the index named by --index, reporting why it cannot be used. */
static int open_index(const struct cli *c, struct dedup_context *ctx,
		      struct dedup_index **ix)
{
	struct dedup_index_settings set;
	struct dedup_error err;
	dedup_status st;

	st = dedup_context_index_settings(ctx, &set, &err);
	if (!st)
		st = dedup_index_open(ix, c->index, &set,
				      DEDUP_INDEX_CREATE |
				      (c->wait ? DEDUP_INDEX_WAIT : 0), &err);
	if (!st)
		return EXIT_OK;
	cli_error("%s", err.msg);
	return st == DEDUP_ELOCKED ? EXIT_LOCKED : EXIT_SOME_FAILED;
}

int cli_index_commit(struct dedup_index *ix, const char *path, long days)
{
	struct dedup_index_commit_opts co = { 0 };
	struct dedup_error err;
	struct dedup_buf tmp = DEDUP_BUF_INIT;
	dedup_status st;

	if (days)
		co.expire_before = (int64_t)time(NULL) - (int64_t)days * 86400;
	if (!dedup_buf_addf(&tmp, "%s.tmp", path))
		cli_tmp_set(CLI_TMP_INDEX, tmp.buf);
	st = dedup_index_commit(ix, &co, &err);
	cli_tmp_clear(CLI_TMP_INDEX);
	dedup_buf_release(&tmp);
	if (st) {
		cli_error("%s", err.msg);
		return -1;
	}
	return 0;
}

static int cmd_cluster(const struct cli *c, struct dedup_context *ctx,
		       struct cli_inputs *in, int *failed)
{
	struct dedup_run *run = NULL;
	struct dedup_index *ix = NULL;
	struct dedup_error err;
	size_t i;
	int ret;

	if (c->index) {
		ret = open_index(c, ctx, &ix);
		if (ret)
			return ret;
	}
	ret = EXIT_SOME_FAILED;
	if (dedup_run_new(&run, ctx, &err))
		goto fail;
	if (ix)
		dedup_run_set_index(run, ix);
	for (i = 0; i < in->n; i++)
		if (dedup_run_add_walked(run, in->v[i].path,
					 in->v[i].stream, &err))
			goto fail;
	/* the run has its own copies: two more per document until the end */
	cli_inputs_release(in);
	if (dedup_run_execute(run, &err))
		goto fail;
	report_docs(c, run, failed);
	/* The index holds this run before its records are printed. */
	if (ix && cli_index_commit(ix, c->index, c->expire_days))
		goto out;
	if (write_records(c, run))
		*failed = 1;
	ret = EXIT_OK;
	goto out;
fail:
	cli_error("%s", err.msg);
out:
	dedup_run_free(run);
	dedup_index_free(ix);
	return ret;
}

/*
 * The context, most of it the built-in rules' compilation, made on a
 * thread of its own while the inputs are walked: made first, the walk
 * left the other core idle for as long (a second at a million files).
 */
struct ctx_job {
	const struct dedup_options *o;
	struct dedup_context *ctx;
	struct dedup_error err;
	dedup_status st;
	pthread_t tid;
	int running;
};

static void *ctx_make(void *arg)
{
	struct ctx_job *j = arg;

	j->st = dedup_context_new(&j->ctx, j->o, &j->err);
	return NULL;
}

/*
 * Start making the context. A rule file the user gives can be wrong: its
 * context is made at once, so that the error is told before any walk.
 */
static void ctx_start(struct ctx_job *j, const struct dedup_options *o,
		      int wait)
{
	j->o = o;
	j->running = !wait && !o->n_rule_files &&
		     !pthread_create(&j->tid, NULL, ctx_make, j);
	if (!j->running)
		ctx_make(j);
}

/* The context once made, or NULL with its error told. */
static struct dedup_context *ctx_wait(struct ctx_job *j, int *ret)
{
	if (j->running)
		pthread_join(j->tid, NULL);
	j->running = 0;
	if (j->st) {
		cli_error("%s", j->err.msg);
		*ret = j->st == DEDUP_ERULE || j->st == DEDUP_EINVAL ||
		       j->st == DEDUP_EIO ? EXIT_USAGE : EXIT_SOME_FAILED;
		return NULL;
	}
	return j->ctx;
}

int main(int argc, char **argv)
{
	struct cli c;
	struct cli_inputs in = { 0 };
	struct dedup_options o;
	struct dedup_context *ctx = NULL;
	struct ctx_job job = { 0 };
	int ret, failed = 0;

#ifdef __GLIBC__
	/*
	 * Blocks of 256 KiB or more mapped on their own, always: glibc
	 * raises that bound to the size of each such block freed, and the
	 * clustering's later arrays then came from the heap, whose freed
	 * pages stayed with the process (bench/RESULTS.md, mem7).
	 */
	mallopt(M_MMAP_THRESHOLD, 256 << 10);
#endif
	cli_defaults(&c);
	cli_signals_init();
	if (argc > 1 && !strcmp(argv[1], "index")) {
		c.cmd = CMD_INDEX;
		argv++;
		argc--;
	} else if (argc > 1 && !strcmp(argv[1], "clean")) {
		c.cmd = CMD_CLEAN;
		argv++;
		argc--;
	} else if (argc > 1 && !strcmp(argv[1], "explain")) {
		c.cmd = CMD_EXPLAIN;
		argv++;
		argc--;
	}
	ret = parse_options(&c, argc, argv);
	if (ret >= 0)
		goto out;
	argc -= optind;
	argv += optind;
	if (c.cmd == CMD_INDEX) {
		ret = cli_index_cmd(argc, argv, c.expire_days);
		goto out;
	}
	if (c.cmd == CMD_EXPLAIN && argc < 2) {
		ret = usage_error("explain takes two files (and optionally a corpus)");
		goto out;
	}
	if (!argc && !c.nlists) {
		ret = usage_error("no input: give a PATH, '-' or --files-from");
		goto out;
	}
	options_from_cli(&c, &o);
	ctx_start(&job, &o, c.cmd == CMD_EXPLAIN);
	/* a context made at once tells its error before any walk */
	if (!job.running && !(ctx = ctx_wait(&job, &ret)))
		goto out;
	if (c.cmd == CMD_EXPLAIN) {
		/* the documents after the two are walked like any input */
		if (argc > 2 && list_inputs(&c, argc - 2, argv + 2, &in, &failed)) {
			ret = EXIT_SOME_FAILED;
			goto out;
		}
		ret = cli_explain(ctx, argv[0], argv[1], &in);
		goto out;
	}
	ret = list_inputs(&c, argc, argv, &in, &failed) ? EXIT_SOME_FAILED :
							   EXIT_OK;
	if ((!ctx && !(ctx = ctx_wait(&job, &ret))) || ret)
		goto out;
	if (c.cmd == CMD_CLEAN) {
		ret = cli_clean(ctx, &in, c.out_dir, c.quiet, &failed);
		ret = ret || failed ? EXIT_SOME_FAILED : EXIT_OK;
	} else {
		ret = cmd_cluster(&c, ctx, &in, &failed);
		if (ret == EXIT_OK && failed)
			ret = EXIT_SOME_FAILED;
	}
out:
	dedup_context_free(ctx);
	cli_inputs_release(&in);
	cli_release(&c);
	if (fclose(stdout) && ret == EXIT_OK) {
		if (errno != EPIPE)
			cli_error("cannot write output: %s", strerror(errno));
		ret = EXIT_SOME_FAILED;
	}
	return ret;
}
