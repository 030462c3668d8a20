/*
 * index.h - the persistent index: what earlier runs have seen.
 *
 * An index file holds, per document seen, its path (any bytes), when it was
 * added, the date found in its text, the hash of its body, its encoded
 * signature (dedup_sig_encode), its LSH band keys and the entry that
 * represents its cluster; plus the corpus statistics (document
 * frequencies, and opaque named blobs such as line statistics) and the
 * settings it was built with. See docs/index.md for the byte layout.
 *
 * A session is: open (takes the lock), look up and add documents, commit
 * (writes the whole new index beside the old, fsyncs it and renames it into
 * place: a crash leaves the old or the new index, never a mix), free
 * (releases the lock). The file is mapped, not parsed: opening costs a
 * checksum pass over the fixed-size entry records and the path table, and
 * the signatures and keys are read only when asked for.
 *
 * Entry ids: stored entries are 0 .. dedup_index_stored()-1 in the order
 * they were added; entries added in this session follow. Ids change when a
 * commit drops entries (expiry), so do not keep them across commits.
 *
 * Ownership: dedup_index_open() returns a handle freed by dedup_index_free()
 * (which also releases the lock and drops what was not committed). Pointers
 * in a struct dedup_index_entry point into the handle and stay valid until
 * the next add, commit or free.
 */
#ifndef DEDUP_INDEX_H
#define DEDUP_INDEX_H

#include <stdint.h>

#include "dedup/common.h"
#include "dedup/sig.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Bump when signatures or band keys computed from the same text and the
 * same options change (tokenizer, hashing, term selection): an index built
 * by another version is then refused instead of silently mismatching.
 */
/* 3: 24-bit term ids and named band winners ("SIG4" signatures) */
#define DEDUP_INDEX_SETTINGS_VERSION 3

/*
 * What must match between the run and the index. sig is the signature
 * parameters; nhash, bands, rows and top_terms are the LSH parameters the
 * band keys were computed with (see dedup/cluster.h). Fields that do not
 * matter at a level (shingle and nperm at the event level, top_terms at
 * the copy level) are not compared. `cleaning` is the caller's hash of
 * whatever else changes signatures made from the same bytes (boilerplate
 * removal on or off, the rule files' contents), compared exactly; 0 when
 * the caller does not track it.
 */
struct dedup_index_settings {
	struct dedup_sig_params sig;
	uint32_t nhash, bands, rows, top_terms;
	uint64_t cleaning;
};

enum dedup_index_flags {
	DEDUP_INDEX_CREATE = 1 << 0,   /* create the index when missing */
	DEDUP_INDEX_WAIT = 1 << 1,     /* wait for the lock, do not fail */
	DEDUP_INDEX_READONLY = 1 << 2, /* no lock, no commit (statistics) */
};

struct dedup_index;

/*
 * Open the index at path. Unless DEDUP_INDEX_READONLY, an exclusive lock is
 * taken on "PATH.lock" (created beside the index, never removed): without
 * DEDUP_INDEX_WAIT a held lock fails at once with DEDUP_ELOCKED ("index 'x'
 * is locked by another dedup run"). A missing file is an error (DEDUP_EIO)
 * unless DEDUP_INDEX_CREATE is given, which makes an empty index that is
 * written at the first commit.
 *
 * `settings` may be NULL to accept whatever the index holds (statistics,
 * compaction); otherwise they are compared with the stored ones and a
 * difference is DEDUP_ESETTINGS ("index 'x' was built with --level copy;
 * this run uses event"), as is an index made with another
 * DEDUP_INDEX_SETTINGS_VERSION. A new index needs them.
 *
 * A truncated, corrupt or foreign file is DEDUP_EFORMAT; it is never
 * modified.
 */
dedup_status dedup_index_open(struct dedup_index **out, const char *path,
			      const struct dedup_index_settings *settings,
			      unsigned flags, struct dedup_error *err);
void dedup_index_free(struct dedup_index *ix);

/* The settings stored in (or given to create) the index. */
const struct dedup_index_settings *dedup_index_settings(
	const struct dedup_index *ix);

/* Stored entries, and stored plus added in this session. */
uint32_t dedup_index_stored(const struct dedup_index *ix);
uint32_t dedup_index_count(const struct dedup_index *ix);

struct dedup_index_entry {
	const char *path;    /* path_len bytes, NOT NUL-terminated */
	size_t path_len;
	int64_t added;       /* unix seconds */
	int32_t date;        /* days since 1970, DEDUP_DATE_NONE */
	uint64_t body;       /* dedup_sig.body */
	uint32_t rep;        /* id of the entry representing its cluster */
	double score;        /* similarity to the representative when it was
				added (binary32 precision); 1 for itself */
	const void *sig;     /* dedup_sig_encode() bytes */
	size_t sig_len;
};

/*
 * Entry `id`. The stored bytes are checked against the entry's checksum
 * first: DEDUP_EFORMAT when they do not match; DEDUP_EINVAL for a bad id.
 */
dedup_status dedup_index_entry(const struct dedup_index *ix, uint32_t id,
			       struct dedup_index_entry *e,
			       struct dedup_error *err);
/* Entry `id`'s signature, decoded into s (released first). */
dedup_status dedup_index_sig(const struct dedup_index *ix, uint32_t id,
			     struct dedup_sig *s, struct dedup_error *err);

/*
 * The entry holding path (path_len bytes) with body hash `body`: DEDUP_OK
 * and *id, or DEDUP_DONE when there is none (the document is new).
 */
dedup_status dedup_index_find(const struct dedup_index *ix, const char *path,
			      size_t path_len, uint64_t body, uint32_t *id,
			      struct dedup_error *err);

/*
 * Stored entries sharing at least one of the nkeys band keys, each id
 * passed once to fn, ascending; a key shared by more than max_per_key
 * entries (0: no limit) contributes only its max_per_key most recent ones,
 * so that common content cannot flood a query. A non-zero return from fn
 * stops the walk (DEDUP_OK is still returned). Entries added in this
 * session are not searched: the caller clusters them itself.
 */
dedup_status dedup_index_match(const struct dedup_index *ix,
			       const uint64_t *keys, size_t nkeys,
			       uint32_t max_per_key,
			       int (*fn)(uint32_t id, void *arg), void *arg,
			       struct dedup_error *err);

struct dedup_index_doc {
	const char *path;
	size_t path_len;
	int64_t added;          /* unix seconds; 0: when the index was opened */
	const struct dedup_sig *sig;
	uint32_t rep;           /* representative: an id (stored or added in
				   this session), UINT32_MAX for itself */
	double score;           /* similarity to it, 0..1 (ignored for
				   itself): a re-run can print it again */
	const uint64_t *keys;   /* LSH band keys, may be NULL when nkeys 0 */
	size_t nkeys;
};

/*
 * Add a document. When an entry with the same path and body hash exists
 * (stored or added), nothing is added and *id is that entry (*added 0);
 * otherwise *id is the new entry (*added 1). A representative that is
 * itself represented by another entry is followed to the end, so every
 * entry names a cluster root. id and added may be NULL. Nothing reaches
 * the file before dedup_index_commit().
 */
dedup_status dedup_index_add(struct dedup_index *ix,
			     const struct dedup_index_doc *doc, uint32_t *id,
			     int *added, struct dedup_error *err);

/*
 * Document frequencies. _load adds the stored counts (and document count)
 * into df. _add_df records counts to add to the stored ones at the next
 * commit: pass only what documents new to the index contributed, or the
 * counts of a re-run night are counted twice. Expiry does not subtract:
 * the frequencies describe everything the index has seen.
 */
dedup_status dedup_index_df_load(const struct dedup_index *ix,
				 struct dedup_df *df, struct dedup_error *err);
dedup_status dedup_index_add_df(struct dedup_index *ix,
				const struct dedup_df *df,
				struct dedup_error *err);
/*
 * The stored count of one term and the stored document count, by binary
 * search in the mapped table (nothing is loaded). Clustering weighs only
 * the terms sampled in signatures, so a caller can fill a small dedup_df
 * with the terms of tonight's and the candidates' signatures instead of
 * loading millions of terms. dedup_index_df_check() first checks the
 * table's checksum (DEDUP_EFORMAT when damaged): without it a damaged
 * table gives wrong counts, never a crash.
 */
dedup_status dedup_index_df_check(const struct dedup_index *ix,
				  struct dedup_error *err);
uint32_t dedup_index_df_get(const struct dedup_index *ix, uint32_t term);
uint64_t dedup_index_df_docs(const struct dedup_index *ix);

/*
 * Named opaque blobs (for example "linestats", from a serializer of
 * struct dedup_linestats). _blob points *data into the handle (valid until
 * commit or free) or returns DEDUP_DONE when there is none; _set_blob
 * copies the bytes and replaces the blob at the next commit. Names are 1
 * to 32 bytes.
 */
dedup_status dedup_index_blob(const struct dedup_index *ix, const char *name,
			      const void **data, size_t *len,
			      struct dedup_error *err);
dedup_status dedup_index_set_blob(struct dedup_index *ix, const char *name,
				  const void *data, size_t len,
				  struct dedup_error *err);

/*
 * Corpus line counts of the strip stage, kept as the "linestats" blob
 * (dedup_linestats_write() image). _lines_load adds the stored counts to
 * ls (nothing stored: DEDUP_OK, ls unchanged); _add_lines adds ls to them
 * at the next commit; what dedup_index_add_df() says of repeated nights
 * holds here too.
 */
struct dedup_linestats;

dedup_status dedup_index_lines_load(const struct dedup_index *ix,
				    struct dedup_linestats *ls,
				    struct dedup_error *err);
dedup_status dedup_index_add_lines(struct dedup_index *ix,
				   const struct dedup_linestats *ls,
				   struct dedup_error *err);

struct dedup_index_commit_opts {
	int64_t expire_before; /* drop entries added before (0: none) */
	int drop_superseded;   /* keep only the newest entry of each path */
	int force;             /* rewrite even when nothing changed */
};

/*
 * Write the index: the stored entries that are kept, then the added ones,
 * the frequencies and blobs. It is written to "PATH.tmp" in the same
 * directory, fsynced, renamed over PATH and the directory fsynced; on any
 * failure (a full disk: DEDUP_EIO) the old index stays as it was and the
 * handle still holds this session's additions. When nothing changed and
 * not `force`, nothing is written (and nothing read). Otherwise the stored
 * index is verified first (dedup_index_verify()): damage is reported as
 * DEDUP_EFORMAT, never copied. After success the handle shows the new
 * index (ids renumbered) and the lock is still held. opts may be NULL.
 *
 * Expiring a representative whose members stay promotes the oldest
 * remaining member: it becomes the representative of the others.
 *
 * Test hook: with the environment variable DEDUP_INDEX_FAULT=N the process
 * kills itself (SIGKILL) at the N-th step of writing (each write, fsync
 * and rename is a step), to prove that no kill point costs the index.
 */
dedup_status dedup_index_commit(struct dedup_index *ix,
				const struct dedup_index_commit_opts *opts,
				struct dedup_error *err);

/*
 * Compaction (`dedup index compact`): verify everything, drop the entries
 * added before expire_before (0: none) and those superseded by a newer
 * entry with the same path, and rewrite the file. The same as a commit
 * with drop_superseded and force set.
 */
dedup_status dedup_index_compact(struct dedup_index *ix, int64_t expire_before,
				 struct dedup_error *err);

/*
 * Check every section checksum, both lookup tables and the frequency
 * table (a full read of the file): DEDUP_EFORMAT naming what is wrong.
 */
dedup_status dedup_index_verify(const struct dedup_index *ix,
				struct dedup_error *err);

struct dedup_index_stats {
	uint64_t entries;      /* stored entries */
	uint64_t clusters;     /* representatives with at least one member */
	uint64_t file_bytes;
	uint64_t heap_bytes;   /* paths and signatures */
	uint64_t keys;         /* band keys */
	uint64_t df_terms;
	uint64_t df_docs;
	int64_t oldest, newest; /* added times, 0 when empty */
	int64_t created, committed;
	uint64_t generation;   /* commits since creation */
};

/* Statistics of the stored index (one pass over the entry records). */
dedup_status dedup_index_stats(const struct dedup_index *ix,
			       struct dedup_index_stats *st,
			       struct dedup_error *err);

/* "event" or "copy". */
const char *dedup_index_level_name(enum dedup_level level);

#ifdef __cplusplus
}
#endif
#endif
