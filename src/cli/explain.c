/*
 * explain.c - `dedup explain A B`: the similarity of two documents under
 * the current settings, the terms that weigh most in it, and what cleaning
 * removed from each.
 */
#include <stdio.h>

#include "cli.h"

int cli_explain(struct dedup_context *ctx, const char *a, const char *b)
{
	const struct dedup_options *o = dedup_context_options(ctx);
	struct dedup_run *run = NULL;
	struct dedup_error err;
	struct dedup_doc_info da, db;
	double s;
	int ret = 1;

	if (dedup_run_new(&run, ctx, &err) || dedup_run_add(run, a, &err) ||
	    dedup_run_add(run, b, &err) || dedup_run_execute(run, &err)) {
		cli_error("%s", err.msg);
		goto out;
	}
	dedup_run_doc(run, 0, &da);
	dedup_run_doc(run, 1, &db);
	if (da.status || db.status) {
		cli_error("%s", da.status ? da.message : db.message);
		goto out;
	}
	s = dedup_similarity(&o->cluster, dedup_run_df(run),
			     dedup_run_sig(run, 0), dedup_run_sig(run, 1));
	printf("similarity\t%.4f\nthreshold\t%.4f\nverdict\t%s\n", s,
	       o->cluster.threshold,
	       s >= o->cluster.threshold ? "same cluster" : "different");
	ret = ferror(stdout) ? 1 : 0;
out:
	dedup_run_free(run);
	return ret;
}
