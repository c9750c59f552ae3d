/*
 * log.c - appending to the log: group commit into the journal, and
 * publication of journaled entries as tiles, bundles and a checkpoint.
 *
 * Appenders queue their entry and wait.  Whichever finds no commit in
 * progress becomes the committer: it takes the whole queue, writes it to
 * the journal with one write and one fdatasync, numbers the entries in
 * that order and wakes everyone.  So with many appenders a batch grows to
 * what arrived during the previous fdatasync, and the cost of a sync is
 * shared by the whole batch.
 *
 * Publishing rotates the journal (the current one becomes journal.prev,
 * under the commit token, so no append is in flight), writes the
 * entries up to that point into tiles, signs a checkpoint, and then drops
 * journal.prev.  Appends go on meanwhile into the new journal.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "palisade/encoding.h"
#include "palisade/note.h"
#include "tlog_int.h"

/* Adds an owned entry to the pending list (taking data on success). */
int
pending_take(struct pal_log *l, struct jentry *e, struct pal_err *err)
{
	if (l->n_pending == l->cap_pending) {
		size_t c = l->cap_pending ? l->cap_pending * 2 : 1024;
		struct jentry *v = realloc(l->pending, c * sizeof(*v));
		if (v == NULL)
			return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		l->pending = v;
		l->cap_pending = c;
	}
	l->pending[l->n_pending++] = *e;
	return 0;
}

/* ---- group commit ---- */

/*
 * The request that finds the queue empty is its head and leads it: it
 * waits (on l->cv) until no commit runs, takes the whole queue, writes it
 * with one write and one fdatasync, and hands every request its index.
 * The others only wait on their own semaphore, posted exactly once when
 * their batch is done, after the lock is released, so that waking
 * hundreds of them does not make them queue for the mutex.  Copies kept
 * for publication are made before the lock is taken.
 */
static void
commit_batch(struct pal_log *l, struct req *batch)
{
	size_t n = 0;
	for (struct req *r = batch; r != NULL; r = r->next)
		n++;
	struct jentry *v = calloc(n, sizeof(*v));
	struct pal_err err = { 0 };
	int rc = v ? 0 : pal_err_set(&err, PAL_ERR_NOMEM, "out of memory");
	size_t i = 0;
	for (struct req *r = batch; rc == 0 && r != NULL; r = r->next, i++) {
		v[i].len = r->len;
		if ((v[i].data = malloc(r->len)) == NULL)
			rc = pal_err_set(&err, PAL_ERR_NOMEM, "out of memory");
		else
			memcpy(v[i].data, r->data, r->len);
	}
	if (rc == 0)
		rc = journal_append(&l->j, v, n, &err);
	pthread_mutex_lock(&l->mu);
	i = 0;
	for (struct req *r = batch; r != NULL; r = r->next, i++) {
		if (rc == 0 && pending_take(l, &v[i], &err) < 0)
			rc = PAL_ERR_NOMEM;	/* journaled: reopen finds it */
		if (rc == 0)
			r->index = l->durable++;
		else if (v != NULL)
			free(v[i].data);
		r->rc = rc;
		if (rc < 0)
			r->err = err;
	}
	l->committing = 0;
	pthread_cond_broadcast(&l->cv);	/* the next head, a publisher */
	pthread_mutex_unlock(&l->mu);
	free(v);
	/* The leader (batch itself) is the caller; post the others. */
	for (struct req *r = batch->next, *next; r != NULL; r = next) {
		next = r->next;		/* r may be gone once posted */
		sem_post(&r->wake);
	}
}

int
pal_log_append(struct pal_log *l, const uint8_t *entry, size_t len,
	       uint64_t *index, struct pal_err *err)
{
	if (l->broken)
		return pal_err_set(err, PAL_ERR_SYSTEM, "a publication "
				   "failed: reopen the log");
	if (len == 0 || len > PAL_ENTRY_MAX)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "a log entry is 1 to %d bytes, not %zu",
				   PAL_ENTRY_MAX, len);
	struct req r = { .data = entry, .len = len };
	sem_init(&r.wake, 0, 0);
	pthread_mutex_lock(&l->mu);
	if (l->tail != NULL)
		l->tail->next = &r;
	else
		l->head = &r;
	l->tail = &r;
	if (l->head == &r) {
		while (l->committing)
			pthread_cond_wait(&l->cv, &l->mu);
		struct req *batch = l->head;
		l->head = l->tail = NULL;
		l->committing = 1;
		pthread_mutex_unlock(&l->mu);
		commit_batch(l, batch);
	} else {
		pthread_mutex_unlock(&l->mu);
		while (sem_wait(&r.wake) != 0)
			;		/* EINTR */
	}
	sem_destroy(&r.wake);
	if (r.rc < 0) {
		if (err != NULL)
			*err = r.err;
		return r.rc;
	}
	*index = r.index;
	return 0;
}

/* ---- publication ---- */

struct pubctx {
	struct pal_log *l;
	struct stage *stage;
};

static int
write_full_tile(void *ctx, int level, uint64_t index,
		const uint8_t (*hashes)[PAL_MERKLE_HASH_LEN],
		struct pal_err *err)
{
	struct pubctx *c = ctx;
	char path[PAL_TILE_PATH_MAX];
	int rc = pal_tile_path(level, index, PAL_TILE_WIDTH, path,
			       sizeof(path));
	if (rc < 0)
		return pal_err_set(err, rc, "tile path");
	return stage_file(c->l->dirfd, c->stage, path, hashes,
			  PAL_TILE_WIDTH * PAL_MERKLE_HASH_LEN, err);
}

/* Appends an entry to the partial bundle; writes it when it fills. */
static int
bundle_add(struct pal_log *l, struct stage *st, uint64_t index,
	   const struct jentry *e, struct pal_err *err)
{
	uint8_t be[2] = { (uint8_t)(e->len >> 8), (uint8_t)e->len };
	if (pal_buf_append(&l->bundle, be, 2) < 0 ||
	    pal_buf_append(&l->bundle, e->data, e->len) < 0)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if ((index + 1) % PAL_TILE_WIDTH != 0)
		return 0;
	char path[PAL_TILE_PATH_MAX];
	int rc = pal_tile_path(PAL_TILE_ENTRIES, index / PAL_TILE_WIDTH,
			       PAL_TILE_WIDTH, path, sizeof(path));
	if (rc == 0)
		rc = stage_file(l->dirfd, st, path, l->bundle.p, l->bundle.len,
				err);
	pal_buf_reset(&l->bundle);
	return rc;
}

/* The partial tiles and bundle of the current size. */
static int
write_partials(struct pal_log *l, struct stage *st, struct pal_err *err)
{
	const struct edge *e = &l->edge;
	char path[PAL_TILE_PATH_MAX];
	int rc = 0;
	for (int lv = 0; rc == 0 && lv < TLOG_LEVELS; lv++) {
		if (e->w[lv] == 0)
			continue;
		rc = pal_tile_path(lv, e->size >> (8 * (lv + 1)), e->w[lv],
				   path, sizeof(path));
		if (rc == 0)
			rc = stage_file(l->dirfd, st, path, e->h[lv],
					(size_t)e->w[lv] * PAL_MERKLE_HASH_LEN,
					err);
	}
	unsigned w = (unsigned)(e->size % PAL_TILE_WIDTH);
	if (rc == 0 && w != 0) {
		rc = pal_tile_path(PAL_TILE_ENTRIES, e->size / PAL_TILE_WIDTH,
				   w, path, sizeof(path));
		if (rc == 0)
			rc = stage_file(l->dirfd, st, path, l->bundle.p,
					l->bundle.len, err);
	}
	return rc;
}

int
log_write_checkpoint(int dirfd, const char *origin, const struct edge *e,
		 const struct pal_log_signer *s, struct pal_err *err)
{
	uint8_t root[PAL_MERKLE_HASH_LEN];
	edge_root(e, root);
	struct pal_buf text, note;
	pal_buf_init(&text, 4096);
	pal_buf_init(&note, 1 << 16);
	int rc = pal_buf_printf(&text, "%s\n%" PRIu64 "\n", origin, e->size);
	if (rc == 0)
		rc = pal_base64_encode(root, sizeof(root), &text);
	if (rc == 0)
		rc = pal_buf_putc(&text, '\n');
	if (rc < 0)
		rc = pal_err_set(err, rc, "checkpoint text");
	if (rc == 0)
		rc = s->sign(s->ctx, text.p, text.len, &note, err);
	char path[64];
	snprintf(path, sizeof(path), "checkpoints/%" PRIu64, e->size);
	if (rc == 0)
		rc = publish_once(dirfd, path, note.p, note.len, err);
	if (rc == 0)
		rc = publish_replace(dirfd, "checkpoint", note.p, note.len,
				     err);
	pal_buf_free(&text);
	pal_buf_free(&note);
	return rc;
}

/*
 * Tiles and bundles are staged and made durable together (one syncfs
 * instead of a sync per file), before the checkpoint that covers them.
 */
static int
publish_entries(struct pal_log *l, const struct jentry *v, size_t n,
		struct pal_err *err)
{
	struct stage st = { 0 };
	struct pubctx c = { l, &st };
	uint8_t leaf[PAL_MERKLE_HASH_LEN];
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint64_t index = l->edge.size;
		pal_merkle_leaf_hash(v[i].data, v[i].len, leaf);
		rc = bundle_add(l, &st, index, &v[i], err);
		if (rc == 0)
			rc = edge_push(&l->edge, leaf, write_full_tile, &c,
				       err);
	}
	if (rc == 0)
		rc = write_partials(l, &st, err);
	if (rc == 0)
		rc = stage_commit(l->dirfd, &st, err);
	stage_free(l->dirfd, &st);
	if (rc == 0)
		rc = log_write_checkpoint(l->dirfd, l->origin, &l->edge,
					  &l->signer, err);
	return rc;
}

/*
 * Takes the pending entries and rotates the journal, holding the commit
 * token so that no batch is being written meanwhile.
 */
static int
take_pending(struct pal_log *l, struct jentry **v, size_t *n,
	     struct pal_err *err)
{
	pthread_mutex_lock(&l->mu);
	while (l->committing)
		pthread_cond_wait(&l->cv, &l->mu);
	l->committing = 1;
	pthread_mutex_unlock(&l->mu);
	int rc = 0;
	struct stat st;
	*v = l->pending;
	*n = l->n_pending;
	if (*n > 0 && fstatat(l->dirfd, "journal.prev", &st, 0) != 0) {
		/* journal -> journal.prev; a fresh journal at durable. */
		if (renameat(l->dirfd, "journal", l->dirfd, "journal.prev")
		    != 0)
			rc = pal_err_set(err, PAL_ERR_IO, "journal: %s",
					 strerror(errno));
		if (rc == 0)
			rc = journal_reset(l->dirfd, &l->j, l->durable, err);
	}
	pthread_mutex_lock(&l->mu);
	if (rc == 0) {
		l->pending = NULL;
		l->n_pending = l->cap_pending = 0;
	}
	l->committing = 0;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	return rc;
}

int
pal_log_publish(struct pal_log *l, struct pal_err *err)
{
	pthread_mutex_lock(&l->pub_mu);
	struct jentry *v = NULL;
	size_t n = 0;
	int rc = l->broken ? pal_err_set(err, PAL_ERR_SYSTEM, "a publication "
					 "failed: reopen the log") :
		take_pending(l, &v, &n, err);
	if (rc == 0 && n > 0) {
		rc = publish_entries(l, v, n, err);
		if (rc == 0 && unlinkat(l->dirfd, "journal.prev", 0) != 0 &&
		    errno != ENOENT)
			rc = pal_err_set(err, PAL_ERR_IO, "journal.prev: %s",
					 strerror(errno));
		if (rc == 0 && fsync(l->dirfd) != 0)
			rc = pal_err_set(err, PAL_ERR_IO, "fsync: %s",
					 strerror(errno));
	}
	/*
	 * The entries stay in the journal(s); after a failure the in-memory
	 * edge may be ahead of the files, so the log refuses further work
	 * until it is reopened (which republishes from the journal).
	 */
	if (rc < 0)
		l->broken = 1;
	for (size_t i = 0; i < n; i++)
		free(v[i].data);
	free(v);
	pthread_mutex_unlock(&l->pub_mu);
	return rc;
}

uint64_t
pal_log_durable_size(struct pal_log *l)
{
	pthread_mutex_lock(&l->mu);
	uint64_t n = l->durable;
	pthread_mutex_unlock(&l->mu);
	return n;
}

uint64_t
pal_log_published_size(struct pal_log *l)
{
	pthread_mutex_lock(&l->pub_mu);
	uint64_t n = l->edge.size;
	pthread_mutex_unlock(&l->pub_mu);
	return n;
}
