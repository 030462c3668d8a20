/*
 * strip.h - stage 2: remove boilerplate from repaired article text.
 *
 * Two kinds of evidence. Rules: PCRE2 patterns from a rule file (the
 * built-in set from data/rules/default.rules, plus user files), each with a
 * name and a scope (the whole line, a span inside a line, or everything from
 * the match to the end of the document). Text evidence: per line length,
 * stopword density, sentence punctuation, capitalization, glued joins,
 * position, smoothed over neighbouring lines; and lines that recur across
 * many documents of the run (struct dedup_linestats).
 *
 * Ownership: struct dedup_rules is built once, then immutable and shared by
 * threads. struct dedup_stripper is per thread (PCRE2 match data, scratch).
 * struct dedup_linestats is filled in a first pass (one per thread, merged),
 * frozen, then read by every stripper. The caller owns every buffer it
 * passes in.
 */
#ifndef DEDUP_STRIP_H
#define DEDUP_STRIP_H

#include "dedup/buf.h"
#include "dedup/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dedup_rules;
struct dedup_stopwords;

/* An empty rule set. */
dedup_status dedup_rules_new(struct dedup_rules **out,
			     struct dedup_error *err);
void dedup_rules_free(struct dedup_rules *rs);

/* Add the built-in rules (data/rules/default.rules, compiled in). */
dedup_status dedup_rules_add_builtin(struct dedup_rules *rs,
				     struct dedup_error *err);
/*
 * Add the rules in `text` (rule-file syntax); `origin` names the source in
 * messages. A bad rule fails with DEDUP_ERULE and a message naming origin,
 * line, rule and offset ("'site.rules' line 12: rule 'menu': missing ) at
 * offset 7"); the set is then unchanged.
 */
dedup_status dedup_rules_add_text(struct dedup_rules *rs, const char *text,
				  size_t len, const char *origin,
				  struct dedup_error *err);
dedup_status dedup_rules_add_file(struct dedup_rules *rs, const char *path,
				  struct dedup_error *err);
size_t dedup_rules_count(const struct dedup_rules *rs);

/*
 * Counts of line fingerprints across the documents of a run, for template
 * lines that no rule names. Fixed memory whatever the corpus size (a
 * count-min sketch of 4 x 2^18 32-bit counters, 4 MiB, plus 32 KiB of
 * scratch); counts are sums, so they do not depend on the order of the
 * documents or on how they were spread over threads. Counts may exceed the
 * truth through collisions, never fall below it. Free with
 * dedup_linestats_free(); dedup_linestats_free(NULL) does nothing.
 */
struct dedup_linestats;

dedup_status dedup_linestats_new(struct dedup_linestats **out,
				 struct dedup_error *err);
void dedup_linestats_free(struct dedup_linestats *ls);
/*
 * Count the lines of one repaired document: each distinct line, or glued
 * segment (see docs/rules.md), once. Up to 4096 distinct segments per
 * document are counted. Not thread-safe: one struct per thread.
 */
dedup_status dedup_linestats_observe(struct dedup_linestats *ls,
				     const char *text, size_t len);
/* Add the counts of src into dst (order does not matter). */
dedup_status dedup_linestats_merge(struct dedup_linestats *dst,
				   const struct dedup_linestats *src);
/* Number of documents observed. */
uint64_t dedup_linestats_docs(const struct dedup_linestats *ls);

/*
 * Serialize the counts (for an index to keep them between runs): appends
 * a fixed-size image (32-byte header, then 4 MiB of little-endian
 * counters) to `out`. Returns DEDUP_OK or DEDUP_ENOMEM.
 */
dedup_status dedup_linestats_write(const struct dedup_linestats *ls,
				   struct dedup_buf *out);
/*
 * Add the counts of an image made by dedup_linestats_write() to `ls` (as
 * dedup_linestats_merge() would). DEDUP_EFORMAT when the image is not one,
 * or is truncated; DEDUP_ESETTINGS when it has another sketch size; `ls`
 * is then unchanged.
 */
dedup_status dedup_linestats_read(struct dedup_linestats *ls,
				  const void *data, size_t len,
				  struct dedup_error *err);

struct dedup_strip_opts {
	int use_rules;     /* apply the rule set */
	int use_evidence;  /* line classification by text evidence */
	/*
	 * Frozen counts of the run's documents, or NULL for none: a segment
	 * in 8 or more documents (a sentence: 16, and not when the document
	 * is mostly such sentences, i.e. a copy of an article) is dropped.
	 */
	const struct dedup_linestats *lines;
};

struct dedup_stripper;

/*
 * rules, sw must outlive the stripper and stay unchanged (dedup_strip()
 * fails with DEDUP_EINVAL if rules were added since); sw may be NULL (no
 * stopword cue).
 */
dedup_status dedup_stripper_new(struct dedup_stripper **out,
				const struct dedup_rules *rules,
				const struct dedup_stopwords *sw,
				struct dedup_error *err);
void dedup_stripper_free(struct dedup_stripper *st);

/*
 * Write the text of `len` bytes at `text` without its boilerplate into `out`
 * (reset first): the kept lines and segments, one per line, a blank line
 * where the input had one between kept text. `opts` NULL means rules and
 * evidence on, no corpus counts. When `log` is not NULL, one line is
 * appended per removed piece: "REASON<TAB>removed text" (REASON is a rule
 * name or an evidence name such as "short-line" or "recurring"). Returns
 * DEDUP_OK, DEDUP_ENOMEM, or DEDUP_ELIMIT when a rule hit PCRE2's match
 * limit (the rule is then skipped for this document and err names it; out is
 * still complete).
 */
dedup_status dedup_strip(struct dedup_stripper *st,
			 const struct dedup_strip_opts *opts,
			 const char *text, size_t len, struct dedup_buf *out,
			 struct dedup_buf *log, struct dedup_error *err);

#ifdef __cplusplus
}
#endif
#endif
