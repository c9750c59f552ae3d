/*
 * tlog_int.h - the log's private parts: journal, right edge, publication.
 */
#ifndef PALISADE_TLOG_INT_H
#define PALISADE_TLOG_INT_H

#include <pthread.h>
#include <stdint.h>

#include "palisade/tile.h"
#include "palisade/tlog.h"

#define TLOG_LEVELS 8		/* 256^8 leaves: more than 2^64 */

/* ---- journal.c: durable entries not yet in tiles ---- */

struct journal {
	int fd;
	uint64_t base;		/* index of the first record */
	uint64_t count;		/* records in the file */
	uint64_t end;		/* byte offset after the last record */
	uint64_t alloc;		/* bytes of the file written (zeros ahead) */
};

/*
 * One entry as its journal record: length, check and data in one owned
 * buffer, so that the appender encodes it (and hashes it) in its own
 * thread and the committer writes a batch with one pwritev and no copy.
 */
#define JREC_HEAD 8

struct jentry {
	uint8_t *rec;		/* owned: JREC_HEAD bytes, then the data */
	size_t len;		/* bytes of data */
	uint8_t leaf[PAL_MERKLE_HASH_LEN];	/* its RFC 6962 leaf hash */
};

static inline const uint8_t *
jentry_data(const struct jentry *e)
{
	return e->rec + JREC_HEAD;
}

/* Encodes data (1 to PAL_ENTRY_MAX bytes) as a record in e->rec. */
int jentry_make(struct jentry *e, const uint8_t *data, size_t len,
		struct pal_err *err);

/*
 * Opens DIR/name (creating one based at base when missing), reads
 * every whole record into *entries (*n of them, caller frees) and cuts a
 * torn last record.  A damaged record followed by good ones is an error.
 */
int journal_open(int dirfd, const char *name, uint64_t base,
		 struct journal *j,
		 struct jentry **entries, size_t *n, struct pal_err *err);

/*
 * Writes the records (with one pwritev per IOV_MAX of them) and
 * fdatasyncs; all or nothing as far as callers see.
 */
int journal_append(struct journal *j, const struct jentry *e, size_t n,
		   struct pal_err *err);

/* Replaces the journal by an empty one based at base (durably). */
int journal_reset(int dirfd, struct journal *j, uint64_t base,
		  struct pal_err *err);

void journal_close(struct journal *j);

/* ---- edge.c: the rightmost tiles of each level, in memory ---- */

struct edge {
	uint64_t size;				/* leaves */
	uint8_t h[TLOG_LEVELS][PAL_TILE_WIDTH][PAL_MERKLE_HASH_LEN];
	unsigned w[TLOG_LEVELS];		/* hashes held per level */
};

/* Called for each tile that fills up: (level, index, 256 hashes). */
typedef int (*edge_full_fn)(void *ctx, int level, uint64_t index,
			    const uint8_t (*hashes)[PAL_MERKLE_HASH_LEN],
			    struct pal_err *err);

int edge_push(struct edge *e, const uint8_t leaf[PAL_MERKLE_HASH_LEN],
	      edge_full_fn full, void *ctx, struct pal_err *err);

/* MTH of all size leaves (the empty root for 0). */
void edge_root(const struct edge *e, uint8_t out[PAL_MERKLE_HASH_LEN]);

/* Loads the partial tiles of a tree of size leaves from dirfd. */
int edge_load(struct edge *e, int dirfd, uint64_t size, struct pal_err *err);

/* ---- publish.c: write-once files ---- */

/*
 * Writes data at path (relative to dirfd, parents created) unless a file
 * with exactly this content is there already; a different one is an
 * error.  The file and its directory are fsynced before it returns.
 */
int publish_once(int dirfd, const char *path, const void *data, size_t len,
		 struct pal_err *err);

/*
 * A publication's write-once files, staged: each is written to tmp/
 * without a sync; stage_commit makes them all durable with one syncfs(2),
 * renames them into place (RENAME_NOREPLACE; an existing file must be
 * identical) and syncs again for the names.  A crash before the commit
 * leaves only tmp/ files, removed when the log is next opened.  A cold
 * file (an entry bundle, which the writer does not read again) leaves
 * the page cache once it is durable.
 */
struct stage {
	char **tmp, **path;
	unsigned char *cold;
	size_t n, cap;
};

int stage_file(int dirfd, struct stage *s, const char *path,
	       const void *data, size_t len, int cold, struct pal_err *err);
int stage_commit(int dirfd, struct stage *s, struct pal_err *err);
void stage_free(int dirfd, struct stage *s);

/* Removes what a crash left in tmp/ (the writer's lock held). */
int publish_clean_tmp(int dirfd, struct pal_err *err);

/* Writes path through a temporary name and rename (replaceable files). */
int publish_replace(int dirfd, const char *path, const void *data,
		    size_t len, struct pal_err *err);

/* ---- log.c, log_open.c ---- */

/* One append in the queue, on the appender's stack. */
struct req {
	struct jentry e;	/* the committer takes it */
	uint64_t batch;		/* the batch it is committed in */
	uint64_t index;		/* set when the batch is done: */
	int rc;
	struct pal_err err;
	struct req *next;
};

#define TLOG_WAKE_WORDS 4

struct pal_log {
	int dirfd, lockfd;
	char *origin;
	struct pal_log_signer signer;

	pthread_mutex_t mu;		/* queue, commit token, pending */
	pthread_cond_t cv;
	struct req *head, *tail;
	int committing;
	uint64_t taken;			/* batches taken from the queue */
	uint32_t done[TLOG_WAKE_WORDS];	/* futex words: see log.c */
	struct journal j;
	uint64_t durable;		/* entries in the journal(s) */
	struct jentry *pending;		/* durable, not yet published */
	size_t n_pending, cap_pending;

	pthread_mutex_t pub_mu;		/* one publication at a time */
	struct edge edge;		/* published tree's right edge */
	struct pal_buf bundle;		/* published partial bundle */
	int broken;			/* a publication failed */
	struct pal_note_signer *owned;	/* freed on close */
};

/* l frees s when it is closed. */
void pal_log_own_signer(struct pal_log *l, struct pal_note_signer *s);

/* Adds an owned entry to l's pending list (taking it on success). */
int pending_take(struct pal_log *l, struct jentry *e, struct pal_err *err);

/*
 * Signs the checkpoint of e (origin, size, root) and writes it as
 * checkpoints/<size> (write-once) and checkpoint.
 */
int log_write_checkpoint(int dirfd, const char *origin, const struct edge *e,
			 const struct pal_log_signer *s, struct pal_err *err);

#endif
