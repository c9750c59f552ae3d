/*
 * server.c - `palisade serve`: the gateway's process (gateway.h).
 *
 * One worker thread per core, each with its own event base and its own
 * listening socket on the configured address (SO_REUSEPORT, so that the
 * kernel spreads connections); the main thread runs signals (SIGHUP
 * reloads, SIGTERM and SIGINT stop), the admin listener, and a once-a-
 * second poll of the key store, so that a key revoked with `palisade
 * serve key revoke` stops working within a second.
 *
 * A reload builds a whole new state from the file (gw_state_build); if
 * anything in it fails, the old state stays in force and the reason is
 * logged.  Connections are never dropped by a reload: each request is
 * checked against the state in force when its head began.  The listening
 * address and the thread count are read at start only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "palisade/abuse.h"
#include "palisade/apikey.h"
#include "palisade/gateway.h"
#include "palisade/inject.h"
#include "palisade/lockout.h"
#include "palisade/ratelimit.h"
#include "exchange.h"
#include "gw_int.h"

#define LOG_APPENDERS 2
#define LOG_QUEUE 65536		/* records waiting; with payloads ... */
#define LOG_QUEUE_PAYLOADS 2048	/* ... of up to 64 KiB each: 128 MiB */
#define STOP_GRACE_MS 2000
#define TABLE_KEYS 65536

struct pal_gw_server {
	struct gw_server core;
	char *config_path;		/* NULL: the built-in configuration */
	struct pal_gw_defaults defaults;
	char *state_dir;
	struct event_base *base;
	struct event *sig_hup, *sig_term, *sig_int, *poll;
	struct pal_apikey_store *store;
	pthread_t *threads;
	uint64_t generation;
	struct gw_admin *admin;
	char fail[PAL_ERR_MSG_MAX];
};

static int setup_abuse(struct gw_server *s, const struct pal_gw_config *cfg,
		       struct pal_err *e);

struct gw_state *
gw_server_state(struct gw_server *s)
{
	struct gw_state *st;

	/* A reference is taken before a reload can drop the state. */
	pthread_mutex_lock(&s->state_mu);
	st = gw_state_ref(atomic_load(&s->state));
	pthread_mutex_unlock(&s->state_mu);
	return st;
}

/* ---- workers ---- */

static void
sweep_conns(struct gw_worker *w)
{
	struct gw_server *s = w->srv;
	int killed = atomic_load(&s->killed);
	struct gw_conn *c = w->conns, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		if (killed || gw_blocks_check(s->blocks, c->key_id, c->addr))
			gw_conn_free(c);
	}
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct gw_worker *w = arg;
	struct gw_server *s = w->srv;

	(void)fd;
	(void)what;
	if (atomic_load(&s->stopping)) {
		struct timeval grace = { STOP_GRACE_MS / 1000,
					 (STOP_GRACE_MS % 1000) * 1000 };
		if (w->listener != NULL)
			evconnlistener_disable(w->listener);
		/* The loop never ends on its own (worker_run): end it. */
		event_base_loopexit(w->base, &grace);
		return;
	}
	sweep_conns(w);
	if (atomic_load(&s->killed) && !w->paused) {
		evconnlistener_disable(w->listener);
		w->paused = 1;
	} else if (!atomic_load(&s->killed) && w->paused) {
		evconnlistener_enable(w->listener);
		w->paused = 0;
	}
}

void
gw_server_sweep(struct gw_server *s)
{
	atomic_fetch_add(&s->sweep_gen, 1);
	for (unsigned i = 0; i < s->n_workers; i++)
		event_active(s->workers[i].wake, EV_READ, 0);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
	  int salen, void *arg)
{
	struct gw_worker *w = arg;
	struct gw_state *st;

	(void)l;
	if (atomic_load(&w->srv->killed)) {
		close(fd);
		return;
	}
	st = gw_server_state(w->srv);
	if (w->n_conns >= st->cfg->listen.limits.max_connections /
				 w->srv->n_workers + 1) {
		close(fd);		/* over the connection limit */
	} else {
		gw_conn_accept(w, fd, sa, salen, st->tls);
	}
	gw_state_unref(st);
}

static int
worker_listen(struct gw_worker *w, const struct pal_gw_addr *a,
	      struct pal_err *e)
{
	unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
			 LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_EXEC;

	w->listener = evconnlistener_new_bind(w->base, on_accept, w, flags,
					      1024,
					      (const struct sockaddr *)&a->sa,
					      (int)a->salen);
	if (w->listener == NULL)
		return pal_err_set(e, PAL_ERR_SYSTEM, "cannot listen on %s: %s",
				   a->text, strerror(errno));
	return 0;
}

static int
worker_init(struct gw_worker *w, struct gw_server *s, unsigned id,
	    const struct gw_state *st, struct pal_err *e)
{
	int rc;

	w->srv = s;
	w->id = id;
	w->base = event_base_new();
	if (w->base == NULL)
		return pal_err_set(e, PAL_ERR_SYSTEM, "event base");
	w->wake = event_new(w->base, -1, EV_PERSIST, on_wake, w);
	if (w->wake == NULL)
		return pal_err_set(e, PAL_ERR_SYSTEM, "event");
	event_add(w->wake, NULL);
	rc = pal_gw_body_new(&w->body, e);
	if (rc == 0 && st->inject != NULL)
		rc = pal_inject_scratch_new(st->inject, &w->scratch, e);
	if (rc == 0)
		rc = worker_listen(w, &st->cfg->listen.address, e);
	return rc;
}

static void
worker_fini(struct gw_worker *w)
{
	while (w->conns != NULL)
		gw_conn_free(w->conns);
	gw_upstream_drain_pool(w);
	if (w->listener != NULL)
		evconnlistener_free(w->listener);
	if (w->wake != NULL)
		event_free(w->wake);
	pal_gw_body_free(w->body);
	pal_inject_scratch_free(w->scratch);
	pal_apikey_view_release(&w->keys);
	if (w->base != NULL)
		event_base_free(w->base);
}

static void *
worker_run(void *arg)
{
	struct gw_worker *w = arg;
	sigset_t all;

	/* Signals go to the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/*
	 * A killed worker has no connection and a disabled listener: it must
	 * keep waiting for its wake event all the same.
	 */
	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* ---- keys, state, reload ---- */

static int
load_keys(struct pal_gw_server *g, const char *path, struct pal_err *e)
{
	struct pal_apikey_store *s = NULL;
	struct pal_apikey_snapshot *snap = NULL;
	int rc = pal_apikey_store_open(path, PAL_APIKEY_OPEN_READONLY, &s, e);

	if (rc == 0)
		rc = pal_apikey_snapshot_load(s, &snap, e);
	if (rc < 0) {
		pal_apikey_store_close(s);
		return pal_err_wrap(e, rc, "key store %s: ", path);
	}
	pal_apikey_store_close(g->store);
	g->store = s;
	pal_apikey_current_set(g->core.keys, snap);
	return 0;
}

static int
load_config(struct pal_gw_server *g, struct pal_gw_config **cfg,
	    struct pal_err *e)
{
	if (g->config_path != NULL)
		return pal_gw_config_load(g->config_path, cfg, e);
	return pal_gw_config_default(&g->defaults, PAL_GW_CONFIG_CHECK_FILES,
				     cfg, e);
}

static void
log_event(struct gw_server *s, const char *type, json_t *d)
{
	if (s->log != NULL)
		gw_reqlog_submit(s->log, type, NULL, d);
	else
		json_decref(d);
}

int
pal_gw_server_reload(struct pal_gw_server *g, struct pal_err *e)
{
	struct pal_gw_config *cfg = NULL;
	struct gw_state *st = NULL, *old;
	int rc = load_config(g, &cfg, e);

	if (rc == 0)
		rc = gw_state_build(cfg, g->generation + 1, &st, e);
	if (rc == 0)
		rc = load_keys(g, cfg->keys.store, e);
	if (rc == 0)
		rc = setup_abuse(&g->core, cfg, e);
	if (rc < 0) {
		if (st == NULL)
			pal_gw_config_free(cfg);
		gw_state_unref(st);
		log_event(&g->core, "serve.reload",
			  json_pack("{s:b, s:s}", "ok", 0, "error", e->msg));
		return rc;
	}
	g->generation++;
	pthread_mutex_lock(&g->core.state_mu);
	old = atomic_exchange(&g->core.state, st);
	pthread_mutex_unlock(&g->core.state_mu);
	gw_state_unref(old);
	log_event(&g->core, "serve.reload",
		  json_pack("{s:b, s:I}", "ok", 1, "generation",
			    (json_int_t)g->generation));
	return 0;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct pal_gw_server *g = arg;
	struct pal_err e = { 0 };

	(void)what;
	if (sig == SIGHUP) {
		if (pal_gw_server_reload(g, &e) < 0)
			fprintf(stderr, "palisade serve: reload refused, the "
				"configuration in force stays: %s\n", e.msg);
		else
			fprintf(stderr, "palisade serve: configuration "
				"reloaded\n");
		return;
	}
	pal_gw_server_stop(g);
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct pal_gw_server *g = arg;
	struct pal_apikey_view v = { 0 };
	const struct pal_apikey_snapshot *snap;
	struct pal_apikey_snapshot *fresh = NULL;
	struct pal_err e = { 0 };
	int changed = 0;

	(void)fd;
	(void)what;
	snap = pal_apikey_view_refresh(&v, g->core.keys);
	if (g->store != NULL && snap != NULL &&
	    pal_apikey_store_changed(g->store, snap, &changed, &e) == 0 &&
	    changed) {
		if (pal_apikey_snapshot_load(g->store, &fresh, &e) == 0) {
			pal_apikey_current_set(g->core.keys, fresh);
		} else {
			/* The keys in force stay, revoked ones included. */
			fprintf(stderr, "palisade serve: key store changed "
				"but cannot be read: %s\n", e.msg);
			log_event(&g->core, "serve.keys",
				  json_pack("{s:b, s:s}", "ok", 0, "error",
					    e.msg));
		}
	}
	pal_apikey_view_release(&v);
}

/* ---- life ---- */

static int
setup_main(struct pal_gw_server *g, struct pal_err *e)
{
	struct timeval sec = { 1, 0 };

	g->base = event_base_new();
	if (g->base == NULL)
		return pal_err_set(e, PAL_ERR_SYSTEM, "event base");
	g->sig_hup = evsignal_new(g->base, SIGHUP, on_signal, g);
	g->sig_term = evsignal_new(g->base, SIGTERM, on_signal, g);
	g->sig_int = evsignal_new(g->base, SIGINT, on_signal, g);
	g->poll = event_new(g->base, -1, EV_PERSIST, on_poll, g);
	if (g->sig_hup == NULL || g->sig_term == NULL || g->sig_int == NULL ||
	    g->poll == NULL)
		return pal_err_set(e, PAL_ERR_SYSTEM, "events");
	event_add(g->sig_hup, NULL);
	event_add(g->sig_term, NULL);
	event_add(g->sig_int, NULL);
	event_add(g->poll, &sec);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int
setup_tables(struct gw_server *s, struct pal_err *e)
{
	int rc = pal_apikey_current_new(&s->keys, e);

	if (rc == 0 && gw_blocks_new(&s->blocks) < 0)
		rc = pal_err_set(e, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = pal_ratelimit_new(TABLE_KEYS, &s->limits, e);
	if (rc == 0)
		rc = pal_lockout_new(TABLE_KEYS, &s->lockout, e);
	return rc;
}

/* The abuse table follows the policy in force. */
static int
setup_abuse(struct gw_server *s, const struct pal_gw_config *cfg,
	    struct pal_err *e)
{
	if (s->abuse == NULL)
		return pal_abuse_table_new(&cfg->abuse, NULL, &s->abuse, e);
	return pal_abuse_set_policy(s->abuse, &cfg->abuse, e);
}

static unsigned
worker_count(const struct pal_gw_config *cfg)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (cfg->listen.limits.threads > 0)
		return cfg->listen.limits.threads;
	return n > 0 && n < 256 ? (unsigned)n : 1;
}

static int
setup_workers(struct pal_gw_server *g, struct pal_err *e)
{
	struct gw_server *s = &g->core;
	struct gw_state *st = atomic_load(&s->state);
	int rc = 0;

	s->n_workers = worker_count(st->cfg);
	s->workers = calloc(s->n_workers, sizeof(*s->workers));
	g->threads = calloc(s->n_workers, sizeof(*g->threads));
	if (s->workers == NULL || g->threads == NULL)
		return pal_err_set(e, PAL_ERR_NOMEM, "out of memory");
	for (unsigned i = 0; i < s->n_workers && rc == 0; i++)
		rc = worker_init(&s->workers[i], s, i, st, e);
	return rc;
}

int
pal_gw_server_new(const struct pal_gw_options *o, struct pal_gw_server **out,
		  struct pal_err *e)
{
	struct pal_gw_server *g = calloc(1, sizeof(*g));
	struct pal_gw_config *cfg = NULL;
	struct gw_state *st = NULL;
	int rc;

	*out = NULL;
	if (g == NULL)
		return pal_err_set(e, PAL_ERR_NOMEM, "out of memory");
	/*
	 * At most two malloc arenas for the whole process: with one per busy
	 * thread (glibc's default), each event loop's arena keeps the holes
	 * TLS handshakes leave between the connections it holds, and an idle
	 * connection costs 15.5 KiB of resident memory instead of 8.8 KiB
	 * (1000 idle TLS connections, bench/README.md).  Two arenas shared by
	 * the loops and the log's threads cost no measurable throughput:
	 * small blocks come from each thread's cache without a lock.
	 */
	mallopt(M_ARENA_MAX, 2);
	evthread_use_pthreads();
	pthread_mutex_init(&g->core.state_mu, NULL);
	g->config_path = o->config_path ? strdup(o->config_path) : NULL;
	g->state_dir = o->state_dir ? strdup(o->state_dir) : NULL;
	g->defaults.state_dir = g->state_dir;
	g->defaults.upstream = o->upstream;
	rc = setup_tables(&g->core, e);
	if (rc == 0)
		rc = load_config(g, &cfg, e);
	if (rc == 0 && (rc = gw_state_build(cfg, 1, &st, e)) < 0)
		pal_gw_config_free(cfg);
	if (rc == 0) {
		g->generation = 1;
		atomic_init(&g->core.state, st);
		rc = load_keys(g, st->cfg->keys.store, e);
	}
	if (rc == 0)
		rc = setup_abuse(&g->core, st->cfg, e);
	if (rc == 0)
		rc = gw_reqlog_open(st->cfg->log.dir, o->keeper_fd,
				    LOG_APPENDERS,
				    st->cfg->log.payloads ? LOG_QUEUE_PAYLOADS
							  : LOG_QUEUE,
				    &g->core.log, e);
	if (rc == 0)
		rc = setup_main(g, e);
	if (rc == 0)
		rc = setup_workers(g, e);
	if (rc == 0 && st->cfg->admin.enabled)
		rc = gw_admin_start(&g->core, g->base, g, &g->admin, e);
	if (rc < 0) {
		pal_gw_server_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

int
pal_gw_server_run(struct pal_gw_server *g, struct pal_err *e)
{
	struct gw_server *s = &g->core;
	struct gw_state *st = atomic_load(&s->state);
	unsigned started = 0;

	log_event(s, "serve.start",
		  json_pack("{s:s, s:i}", "listen",
			    st->cfg->listen.address.text, "workers",
			    (int)s->n_workers));
	for (; started < s->n_workers; started++)
		if (pthread_create(&g->threads[started], NULL, worker_run,
				   &s->workers[started]) != 0)
			break;
	if (started == s->n_workers)
		event_base_dispatch(g->base);
	else
		pal_gw_server_stop(g);
	for (unsigned i = 0; i < started; i++)
		pthread_join(g->threads[i], NULL);
	log_event(s, "serve.stop", json_object());
	if (started < s->n_workers)
		return pal_err_set(e, PAL_ERR_SYSTEM, "cannot start the "
				   "worker threads");
	return 0;
}

void
pal_gw_server_stop(struct pal_gw_server *g)
{
	atomic_store(&g->core.stopping, 1);
	gw_server_sweep(&g->core);
	event_base_loopexit(g->base, NULL);
}

const char *
pal_gw_server_address(const struct pal_gw_server *g)
{
	const struct gw_state *st = atomic_load(&g->core.state);

	return st->cfg->listen.address.text;
}

void
pal_gw_server_free(struct pal_gw_server *g)
{
	struct gw_server *s;

	if (g == NULL)
		return;
	s = &g->core;
	gw_admin_stop(g->admin);
	for (unsigned i = 0; s->workers != NULL && i < s->n_workers; i++)
		worker_fini(&s->workers[i]);
	free(s->workers);
	free(g->threads);
	if (s->log != NULL) {
		struct pal_err e = { 0 };
		if (gw_reqlog_close(s->log, &e) < 0)
			fprintf(stderr, "palisade serve: log: %s\n", e.msg);
	}
	gw_state_unref(atomic_load(&s->state));
	pal_apikey_current_free(s->keys);
	pal_apikey_store_close(g->store);
	gw_blocks_free(s->blocks);
	pal_ratelimit_free(s->limits);
	pal_lockout_free(s->lockout);
	pal_abuse_table_free(s->abuse);
	if (g->poll != NULL)
		event_free(g->poll);
	if (g->sig_hup != NULL)
		event_free(g->sig_hup);
	if (g->sig_term != NULL)
		event_free(g->sig_term);
	if (g->sig_int != NULL)
		event_free(g->sig_int);
	if (g->base != NULL)
		event_base_free(g->base);
	pthread_mutex_destroy(&s->state_mu);
	free(g->config_path);
	free(g->state_dir);
	free(g);
}
