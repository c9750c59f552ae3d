/*
 * log.c - appending to the log: group commit into the journal, and
 * publication of journaled entries as tiles, bundles and a checkpoint.
 *
 * Appenders encode their entry as a journal record, queue it and wait.
 * Whichever finds the queue empty becomes the committer: once no commit
 * is in progress it takes the whole queue, writes it to the journal with
 * one pwritev and one fdatasync, numbers the entries in that order and
 * wakes everyone with one system call.  So with many appenders a batch grows to
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
#include <limits.h>
#include <linux/futex.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "palisade/encoding.h"
#include "palisade/note.h"
#include "tlog_int.h"

/* Makes room for n more pending entries (l->mu held). */
static int
pending_reserve(struct pal_log *l, size_t n, struct pal_err *err)
{
	if (l->cap_pending - l->n_pending >= n)
		return 0;
	size_t c = l->cap_pending ? l->cap_pending : 1024;
	while (c - l->n_pending < n)
		c *= 2;
	struct jentry *v = realloc(l->pending, c * sizeof(*v));
	if (v == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	l->pending = v;
	l->cap_pending = c;
	return 0;
}

/* Adds an owned entry to the pending list (taking it on success). */
int
pending_take(struct pal_log *l, struct jentry *e, struct pal_err *err)
{
	int rc = pending_reserve(l, 1, err);
	if (rc == 0)
		l->pending[l->n_pending++] = *e;
	return rc;
}

/* ---- waiting for a batch ---- */

/*
 * The members of batch b sleep on the futex word l->done[b % 4], which
 * holds (the low 32 bits of) b + 1 once batch b is complete, so that one
 * FUTEX_WAKE wakes a whole batch.  A semaphore per request took a system
 * call per member, and the waker was often preempted by each thread it
 * had just woken.  There are four words because the members of batch
 * b + 2 may already be asleep when batch b's wake-up is sent: on a shared
 * word they would be woken for nothing.  Batches complete in order, so
 * the word a member waits on never runs more than four batches ahead.
 */
static void
batch_wait(struct pal_log *l, uint64_t b)
{
	uint32_t *w = &l->done[b % TLOG_WAKE_WORDS];
	uint32_t want = (uint32_t)(b + 1);
	for (;;) {
		uint32_t v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
		if ((int32_t)(v - want) >= 0)
			return;
		/* EAGAIN (the word moved) and EINTR: look again. */
		syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
	}
}

static void
batch_wake(struct pal_log *l, uint64_t b)
{
	uint32_t *w = &l->done[b % TLOG_WAKE_WORDS];
	__atomic_store_n(w, (uint32_t)(b + 1), __ATOMIC_RELEASE);
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* ---- group commit ---- */

/*
 * The request that finds the queue empty is its head and leads it: it
 * waits (on l->cv) until no commit runs, takes the whole queue as batch
 * l->taken, writes its records (encoded by each appender in its own
 * thread) with one pwritev and one fdatasync, and hands every member its
 * index.  The committer owns the members' records from then on: they
 * move to the pending list, or are freed when the batch fails.  After a
 * failed journal write the file's state is unknown, so the log refuses
 * appends until it is reopened, which recovers what reached the disk: an
 * append that reported an error may or may not be in the log.
 */
static void
commit_batch(struct pal_log *l, struct req *batch, uint64_t b, int broken)
{
	size_t n = 0;
	for (struct req *r = batch; r != NULL; r = r->next)
		n++;
	struct pal_err err = { 0 };
	int rc = broken ? pal_err_set(&err, PAL_ERR_SYSTEM, "a journal "
				      "write failed: reopen the log") : 0;
	struct jentry *v = malloc(n * sizeof(*v));
	if (rc == 0 && v == NULL)
		rc = pal_err_set(&err, PAL_ERR_NOMEM, "out of memory");
	size_t i = 0;
	for (struct req *r = batch; v != NULL && r != NULL; r = r->next)
		v[i++] = r->e;
	if (rc == 0) {
		/* Room first, so that nothing can fail after the write. */
		pthread_mutex_lock(&l->mu);
		rc = pending_reserve(l, n, &err);
		pthread_mutex_unlock(&l->mu);
	}
	int wrote = 0;
	if (rc == 0) {
		rc = journal_append(&l->j, v, n, &err);
		wrote = 1;
	}
	pthread_mutex_lock(&l->mu);
	if (rc < 0 && wrote)
		l->broken = 1;
	for (struct req *r = batch; r != NULL; r = r->next) {
		if (rc == 0) {
			l->pending[l->n_pending++] = r->e;
			r->index = l->durable++;
		} else {
			free(r->e.rec);
			r->err = err;
		}
		r->e.rec = NULL;
		r->rc = rc;
	}
	l->committing = 0;
	pthread_cond_broadcast(&l->cv);	/* the next head, a publisher */
	pthread_mutex_unlock(&l->mu);
	free(v);
	batch_wake(l, b);	/* no member may be touched after this */
}

/*
 * Queues the n requests v (chained in order) and waits until their batch
 * is committed: they go into the queue under one lock, so they share a
 * batch, and they get contiguous indices in their order.
 */
static void
append_reqs(struct pal_log *l, struct req *v, size_t n)
{
	struct req *first = &v[0], *last = &v[n - 1];

	for (size_t i = 0; i + 1 < n; i++)
		v[i].next = &v[i + 1];
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < n; i++)
		v[i].batch = l->taken;	/* the queue is taken whole */
	if (l->tail != NULL)
		l->tail->next = first;
	else
		l->head = first;
	l->tail = last;
	if (l->head == first) {
		while (l->committing)
			pthread_cond_wait(&l->cv, &l->mu);
		struct req *batch = l->head;
		l->head = l->tail = NULL;
		l->committing = 1;
		l->taken++;
		int broken = l->broken;
		pthread_mutex_unlock(&l->mu);
		commit_batch(l, batch, first->batch, broken);
	} else {
		pthread_mutex_unlock(&l->mu);
		batch_wait(l, first->batch);
	}
}

static int
refuse_broken(struct pal_log *l, struct pal_err *err)
{
	pthread_mutex_lock(&l->mu);
	int broken = l->broken;
	pthread_mutex_unlock(&l->mu);
	if (broken)
		return pal_err_set(err, PAL_ERR_SYSTEM, "a write to the log "
				   "failed: reopen it");
	return 0;
}

int
pal_log_append(struct pal_log *l, const uint8_t *entry, size_t len,
	       uint64_t *index, struct pal_err *err)
{
	uint64_t first;
	size_t lens[1] = { len };
	const uint8_t *entries[1] = { entry };
	int rc = pal_log_append_many(l, entries, lens, 1, &first, err);

	if (rc == 0)
		*index = first;
	return rc;
}

int
pal_log_append_many(struct pal_log *l, const uint8_t *const *entries,
		    const size_t *lens, size_t n, uint64_t *first,
		    struct pal_err *err)
{
	struct req *v;
	int rc = 0;
	size_t made = 0;

	if (n == 0)
		return pal_err_set(err, PAL_ERR_INVALID, "no entries");
	v = calloc(n, sizeof(*v));
	if (v == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	for (; rc == 0 && made < n; made++)
		rc = jentry_make(&v[made].e, entries[made], lens[made], err);
	if (rc == 0)
		rc = refuse_broken(l, err);
	if (rc < 0) {
		for (size_t i = 0; i < made; i++)
			free(v[i].e.rec);
		free(v);
		return rc;
	}
	append_reqs(l, v, n);
	rc = v[0].rc;
	if (rc < 0 && err != NULL)
		*err = v[0].err;
	else
		*first = v[0].index;
	free(v);
	return rc;
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
			  PAL_TILE_WIDTH * PAL_MERKLE_HASH_LEN, 0, err);
}

/* Appends an entry to the partial bundle; writes it when it fills. */
static int
bundle_add(struct pal_log *l, struct stage *st, uint64_t index,
	   const struct jentry *e, struct pal_err *err)
{
	uint8_t be[2] = { (uint8_t)(e->len >> 8), (uint8_t)e->len };
	if (pal_buf_append(&l->bundle, be, 2) < 0 ||
	    pal_buf_append(&l->bundle, jentry_data(e), e->len) < 0)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if ((index + 1) % PAL_TILE_WIDTH != 0)
		return 0;
	char path[PAL_TILE_PATH_MAX];
	int rc = pal_tile_path(PAL_TILE_ENTRIES, index / PAL_TILE_WIDTH,
			       PAL_TILE_WIDTH, path, sizeof(path));
	if (rc == 0)
		rc = stage_file(l->dirfd, st, path, l->bundle.p, l->bundle.len,
				1, err);
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
					0, err);
	}
	unsigned w = (unsigned)(e->size % PAL_TILE_WIDTH);
	if (rc == 0 && w != 0) {
		rc = pal_tile_path(PAL_TILE_ENTRIES, e->size / PAL_TILE_WIDTH,
				   w, path, sizeof(path));
		if (rc == 0)
			rc = stage_file(l->dirfd, st, path, l->bundle.p,
					l->bundle.len, 1, err);
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
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint64_t index = l->edge.size;
		rc = bundle_add(l, &st, index, &v[i], err);
		if (rc == 0)
			rc = edge_push(&l->edge, v[i].leaf, write_full_tile,
				       &c, err);
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
	} else {
		l->broken = 1;	/* the journal may be journal.prev */
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
	pthread_mutex_lock(&l->mu);
	int broken = l->broken;
	pthread_mutex_unlock(&l->mu);
	int rc = broken ? pal_err_set(err, PAL_ERR_SYSTEM, "a write to the "
				      "log failed: reopen it") :
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
	if (rc < 0) {
		pthread_mutex_lock(&l->mu);
		l->broken = 1;
		pthread_mutex_unlock(&l->mu);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].rec);
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
