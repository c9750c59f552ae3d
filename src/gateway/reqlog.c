/*
 * reqlog.c - the gateway's records in the Palisade log (gw_int.h).
 *
 * Every request, refusal, alert and admin action becomes one log entry
 * (the common entry format of tlog.h, actor "serve").  The event loops
 * must not wait for a disk: they hand the entry's details to a bounded
 * queue, encoded, and go on; an appender thread takes everything queued
 * and appends it with one call (one journal write and one
 * fdatasync for the lot), so that a busy gateway costs the disk one sync
 * per batch and its event loops one wake-up per batch, not per request.  A publisher thread moves durable entries into tiles twice a
 * second; the checkpoint is signed by the keeper process, since this
 * process holds no key (pal_log_open_keeper).
 *
 * What is lost in a crash: the records of the requests in flight and of
 * those still queued (milliseconds' worth).  What is never done: serving
 * while the log cannot be written.  When an append fails or the queue is
 * full, gw_reqlog_ok turns false and the gateway answers 503 until the
 * log works again (fail closed, ARCHITECTURE.md).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "palisade/json_writer.h"
#include "palisade/tlog.h"
#include "gw_int.h"

#define PUBLISH_EVERY_MS 500
#define ENTRY_ROOM 65536		/* one more than an entry may be */

/*
 * A queued record, already encoded as its entry by the thread that made
 * it: the appender then frees two blocks per record made on another
 * thread, not the dozens of a JSON tree (frees across threads contend
 * for malloc's arena locks).
 */
struct item {
	struct item *next;
	size_t len;
	char entry[];			/* the entry, NUL-terminated */
};

struct gw_reqlog {
	struct pal_log *log;
	pthread_mutex_t mu;
	pthread_cond_t more;		/* items queued, or stop */
	pthread_cond_t drained;		/* the queue became empty */
	pthread_cond_t halt;		/* the publisher's: stop */
	struct item *head, *tail;
	size_t n, max, busy;
	int stop;
	unsigned sleeping;		/* appenders waiting for items */
	pthread_t *appenders;
	unsigned n_appenders;
	pthread_t publisher;
	int have_publisher;
	atomic_int broken;
	atomic_ullong appended;
	char why[PAL_ERR_MSG_MAX];	/* under mu: the first failure */
};

static void
item_free(struct item *it)
{
	free(it);
}

static void
fail(struct gw_reqlog *rl, const struct pal_err *err)
{
	pthread_mutex_lock(&rl->mu);
	if (rl->why[0] == '\0')
		memcpy(rl->why, err->msg, sizeof(rl->why));
	pthread_mutex_unlock(&rl->mu);
	atomic_store(&rl->broken, 1);
}

#define BATCH_MAX 4096
#define POLL_NS 5000000L		/* look for records every 5 ms ... */
#define IDLE_POLLS 200		/* ... for a second after the last */

/* Appends the entries of the items in list at once. */
static void
append_batch(struct gw_reqlog *rl, struct item *list, size_t n)
{
	const uint8_t **entries = calloc(n, sizeof(*entries));
	size_t *lens = calloc(n, sizeof(*lens));
	struct pal_err err = { 0 };
	uint64_t first;
	size_t i = 0;
	int rc = entries && lens ? 0
		 : pal_err_set(&err, PAL_ERR_NOMEM, "out of memory");

	for (struct item *it = list; rc == 0 && it != NULL; it = it->next) {
		entries[i] = (const uint8_t *)it->entry;
		lens[i++] = it->len;
	}
	if (rc == 0)
		rc = pal_log_append_many(rl->log, entries, lens, n, &first,
					 &err);
	if (rc < 0)
		fail(rl, &err);
	else
		atomic_fetch_add(&rl->appended, n);
	free(entries);
	free(lens);
}

/*
 * An appender (one is enough; two overlap one batch's sync with the
 * next one's encoding): takes whatever is queued (up to BATCH_MAX), appends
 * it with one call (one journal write, one fdatasync), and goes back for
 * more; records that arrive meanwhile make the next batch.  Submitters
 * wake it only when it sleeps for good.
 */
static void *
appender(void *arg)
{
	struct gw_reqlog *rl = arg;

	int idle = 0;

	pthread_mutex_lock(&rl->mu);
	for (;;) {
		while (rl->head == NULL && !rl->stop) {
			/*
			 * While records keep coming, look again every 5 ms
			 * instead of being woken for each one: a wake-up per
			 * request would cost the event loops more, and each
			 * look costs the disk a sync, so a longer wait makes
			 * fewer, larger batches (at 19,000 requests a second,
			 * about 100 records a sync; with a 1 ms wait the syncs
			 * alone took 7 % of the gateway's time).  A crash loses
			 * at most those milliseconds of records.  After a
			 * quiet second, sleep until woken.
			 */
			if (idle < IDLE_POLLS) {
				struct timespec t;
				clock_gettime(CLOCK_REALTIME, &t);
				t.tv_nsec += POLL_NS;
				if (t.tv_nsec >= 1000000000L) {
					t.tv_sec++;
					t.tv_nsec -= 1000000000L;
				}
				pthread_cond_timedwait(&rl->more, &rl->mu, &t);
				idle++;
			} else {
				rl->sleeping++;
				pthread_cond_wait(&rl->more, &rl->mu);
				rl->sleeping--;
			}
		}
		if (rl->head == NULL)
			break;
		idle = 0;
		struct item *list = rl->head, *last = list;
		size_t n = 1;
		while (last->next != NULL && n < BATCH_MAX) {
			last = last->next;
			n++;
		}
		rl->head = last->next;
		last->next = NULL;
		if (rl->head == NULL)
			rl->tail = NULL;
		rl->n -= n;
		rl->busy += n;
		pthread_mutex_unlock(&rl->mu);
		append_batch(rl, list, n);
		while (list != NULL) {
			struct item *next = list->next;
			item_free(list);
			list = next;
		}
		pthread_mutex_lock(&rl->mu);
		rl->busy -= n;
		if (rl->n == 0 && rl->busy == 0)
			pthread_cond_broadcast(&rl->drained);
	}
	pthread_mutex_unlock(&rl->mu);
	return NULL;
}

static void *
publisher(void *arg)
{
	struct gw_reqlog *rl = arg;
	struct timespec until;

	pthread_mutex_lock(&rl->mu);
	while (!rl->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += PUBLISH_EVERY_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&rl->halt, &rl->mu, &until);
		if (rl->stop)
			break;
		pthread_mutex_unlock(&rl->mu);
		if (pal_log_durable_size(rl->log) >
		    pal_log_published_size(rl->log)) {
			struct pal_err err = { 0 };
			if (pal_log_publish(rl->log, &err) < 0)
				fail(rl, &err);
		}
		pthread_mutex_lock(&rl->mu);
	}
	pthread_mutex_unlock(&rl->mu);
	return NULL;
}

static int
start_threads(struct gw_reqlog *rl, struct pal_err *e)
{
	rl->appenders = calloc(rl->n_appenders, sizeof(pthread_t));
	if (rl->appenders == NULL)
		return pal_err_set(e, PAL_ERR_NOMEM, "out of memory");
	for (unsigned i = 0; i < rl->n_appenders; i++) {
		if (pthread_create(&rl->appenders[i], NULL, appender, rl) != 0) {
			rl->n_appenders = i;
			return pal_err_set(e, PAL_ERR_SYSTEM, "cannot start "
					   "the log's appender threads");
		}
	}
	if (pthread_create(&rl->publisher, NULL, publisher, rl) != 0)
		return pal_err_set(e, PAL_ERR_SYSTEM, "cannot start the "
				   "log's publisher thread");
	rl->have_publisher = 1;
	return 0;
}

int
gw_reqlog_open(const char *dir, int keeper_fd, unsigned appenders,
	       size_t max_queue, struct gw_reqlog **out, struct pal_err *e)
{
	struct gw_reqlog *rl = calloc(1, sizeof(*rl));
	int rc;

	*out = NULL;
	if (rl == NULL)
		return pal_err_set(e, PAL_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&rl->mu, NULL);
	pthread_cond_init(&rl->more, NULL);
	pthread_cond_init(&rl->drained, NULL);
	pthread_cond_init(&rl->halt, NULL);
	rl->max = max_queue;
	rl->n_appenders = appenders ? appenders : 1;
	rc = keeper_fd >= 0 ? pal_log_open_keeper(dir, keeper_fd, &rl->log, e)
			    : pal_log_open_dir(dir, &rl->log, e);
	if (rc < 0) {
		pal_err_wrap(e, rc, "log %s: ", dir);
		gw_reqlog_close(rl, NULL);
		return rc;
	}
	rc = start_threads(rl, e);
	if (rc < 0) {
		gw_reqlog_close(rl, NULL);
		return rc;
	}
	*out = rl;
	return 0;
}

/* Queues a copy of the encoded entry for the appender. */
static int
enqueue(struct gw_reqlog *rl, const char *entry, size_t len)
{
	struct pal_err err = { 0 };
	struct item *it = malloc(sizeof(*it) + len + 1);

	if (it == NULL)
		return -1;
	it->next = NULL;
	it->len = len;
	memcpy(it->entry, entry, len);
	it->entry[len] = '\0';
	pthread_mutex_lock(&rl->mu);
	if (rl->n >= rl->max) {
		pthread_mutex_unlock(&rl->mu);
		item_free(it);
		pal_err_set(&err, PAL_ERR_LIMIT, "log queue full (%zu "
			    "records waiting)", rl->max);
		fail(rl, &err);
		return -1;
	}
	if (rl->tail != NULL)
		rl->tail->next = it;
	else
		rl->head = it;
	rl->tail = it;
	rl->n++;
	if (rl->sleeping > 0)
		pthread_cond_signal(&rl->more);
	pthread_mutex_unlock(&rl->mu);
	return 0;
}

int
gw_reqlog_submit(struct gw_reqlog *rl, const char *type,
		 const char *subject, json_t *details)
{
	struct pal_err err = { 0 };
	char *entry = NULL;
	int rc;

	if (details == NULL)
		return -1;
	if (atomic_load(&rl->broken)) {
		json_decref(details);
		return -1;
	}
	rc = pal_log_entry_build_obj(type, "serve", subject, details,
				     (int64_t)time(NULL), &entry, &err);
	json_decref(details);
	if (rc < 0) {
		fail(rl, &err);
		return -1;
	}
	rc = enqueue(rl, entry, strlen(entry));
	free(entry);
	return rc;
}

int
gw_reqlog_begin(struct gw_reqlog *rl, struct pal_jw *w, struct pal_buf *b,
		const char *type)
{
	struct pal_err err = { 0 };

	pal_buf_init(b, ENTRY_ROOM);
	pal_jw_init(w, b);
	if (atomic_load(&rl->broken))
		return -1;
	if (pal_log_entry_open(w, type, "serve", NULL, (int64_t)time(NULL),
			       &err) < 0) {
		pal_buf_free(b);
		fail(rl, &err);
		return -1;
	}
	return 0;
}

int
gw_reqlog_end(struct gw_reqlog *rl, struct pal_jw *w)
{
	struct pal_err err = { 0 };
	struct pal_buf *b = w->out;
	int rc = pal_log_entry_finish(w, &err);

	if (rc < 0)
		fail(rl, &err);
	else
		rc = enqueue(rl, (const char *)b->p, b->len);
	pal_buf_free(b);
	return rc;
}

int
gw_reqlog_ok(struct gw_reqlog *rl)
{
	return !atomic_load(&rl->broken);
}

void
gw_reqlog_why(struct gw_reqlog *rl, char *out, size_t cap)
{
	pthread_mutex_lock(&rl->mu);
	snprintf(out, cap, "%s", rl->why);
	pthread_mutex_unlock(&rl->mu);
}

uint64_t
gw_reqlog_appended(struct gw_reqlog *rl)
{
	return atomic_load(&rl->appended);
}

void
gw_reqlog_flush(struct gw_reqlog *rl)
{
	pthread_mutex_lock(&rl->mu);
	while (rl->n > 0 || rl->busy > 0)
		pthread_cond_wait(&rl->drained, &rl->mu);
	pthread_mutex_unlock(&rl->mu);
}

int
gw_reqlog_close(struct gw_reqlog *rl, struct pal_err *e)
{
	int rc = 0;

	if (rl == NULL)
		return 0;
	pthread_mutex_lock(&rl->mu);
	rl->stop = 1;
	pthread_cond_broadcast(&rl->more);
	pthread_cond_broadcast(&rl->halt);
	pthread_mutex_unlock(&rl->mu);
	/* Appenders finish the queue before they stop. */
	for (unsigned i = 0; rl->appenders != NULL && i < rl->n_appenders; i++)
		pthread_join(rl->appenders[i], NULL);
	if (rl->have_publisher)
		pthread_join(rl->publisher, NULL);
	if (rl->log != NULL)
		rc = pal_log_close(rl->log, e);
	if (rc == 0 && atomic_load(&rl->broken) && e != NULL)
		rc = pal_err_set(e, PAL_ERR_IO, "log: %s", rl->why);
	while (rl->head != NULL) {
		struct item *it = rl->head;
		rl->head = it->next;
		item_free(it);
	}
	free(rl->appenders);
	pthread_cond_destroy(&rl->halt);
	pthread_cond_destroy(&rl->drained);
	pthread_cond_destroy(&rl->more);
	pthread_mutex_destroy(&rl->mu);
	free(rl);
	return rc;
}
