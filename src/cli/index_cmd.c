/*
 * index_cmd.c - `dedup index stats FILE` and `dedup index compact FILE`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dedup/index.h"
#include "cli.h"

static void print_time(const char *key, int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		printf("%s\t-\n", key);
	else
		printf("%s\t%s\n", key, buf);
}

static int stats(const char *path)
{
	struct dedup_index *ix = NULL;
	struct dedup_index_stats st;
	const struct dedup_index_settings *set;
	struct dedup_error err;

	if (dedup_index_open(&ix, path, NULL, DEDUP_INDEX_READONLY, &err) ||
	    dedup_index_stats(ix, &st, &err)) {
		cli_error("%s", err.msg);
		dedup_index_free(ix);
		return EXIT_SOME_FAILED;
	}
	set = dedup_index_settings(ix);
	printf("entries\t%" PRIu64 "\n", st.entries);
	printf("clusters\t%" PRIu64 "\n", st.clusters);
	printf("file_bytes\t%" PRIu64 "\n", st.file_bytes);
	printf("bytes_per_entry\t%.1f\n",
	       st.entries ? (double)st.file_bytes / (double)st.entries : 0.0);
	printf("band_keys\t%" PRIu64 "\n", st.keys);
	printf("df_terms\t%" PRIu64 "\n", st.df_terms);
	printf("df_docs\t%" PRIu64 "\n", st.df_docs);
	print_time("oldest", st.oldest);
	print_time("newest", st.newest);
	print_time("created", st.created);
	print_time("committed", st.committed);
	printf("generation\t%" PRIu64 "\n", st.generation);
	printf("level\t%s\n", dedup_index_level_name(set->sig.level));
	printf("perms\t%u\nshingle\t%u\nterms\t%u\n", set->sig.nperm,
	       set->sig.shingle, set->sig.kterms);
	printf("lsh\t%u hashes, %u bands x %u rows\n", set->nhash, set->bands,
	       set->rows);
	dedup_index_free(ix);
	return ferror(stdout) ? EXIT_SOME_FAILED : EXIT_OK;
}

static int compact(const char *path, long days)
{
	struct dedup_index *ix = NULL;
	struct dedup_error err;
	struct dedup_buf tmp = DEDUP_BUF_INIT;
	int64_t before = days ? (int64_t)time(NULL) - (int64_t)days * 86400 : 0;
	dedup_status st;

	st = dedup_index_open(&ix, path, NULL, 0, &err);
	if (!st) {
		if (!dedup_buf_addf(&tmp, "%s.tmp", path))
			cli_tmp_set(CLI_TMP_INDEX, tmp.buf);
		st = dedup_index_compact(ix, before, &err);
		cli_tmp_clear(CLI_TMP_INDEX);
	}
	dedup_buf_release(&tmp);
	dedup_index_free(ix);
	if (st) {
		cli_error("%s", err.msg);
		return st == DEDUP_ELOCKED ? EXIT_LOCKED : EXIT_SOME_FAILED;
	}
	return EXIT_OK;
}

int cli_index_cmd(int argc, char **argv, long expire_days)
{
	if (argc != 2 || (strcmp(argv[0], "stats") && strcmp(argv[0], "compact"))) {
		fprintf(stderr, "dedup: usage: dedup index stats|compact [--expire DAYS] FILE\n"
			"try 'dedup --help' for more information\n");
		return EXIT_USAGE;
	}
	if (!strcmp(argv[0], "stats"))
		return stats(argv[1]);
	return compact(argv[1], expire_days);
}
