/*
 * gw_int.h - what the files of the gateway's server core share.
 *
 * The server runs one worker thread per core, each with its own libevent
 * base and its own listening socket on the same port (SO_REUSEPORT), so
 * that a connection lives and dies on one thread and needs no locks.  What
 * the workers share (the state in force, block lists, limits, abuse
 * signals, metrics) is either immutable and swapped whole under a
 * reference count, or made safe for threads by the module that owns it.
 *
 * Life of a request (conn.c, exchange.c, upstream.c):
 *   head read and parsed -> route, key, lockout, blocks, request budget
 *   -> body read -> body checked, role's grants and conditions, injection
 *   rules, abuse signals -> sent upstream -> response filtered on its way
 *   back (chunk by chunk for SSE) -> tokens charged -> one log record.
 */
#ifndef PALISADE_GW_INT_H
#define PALISADE_GW_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "palisade/apikey.h"
#include "palisade/buf.h"
#include "palisade/error.h"
#include "palisade/gwbody.h"
#include "palisade/gwconfig.h"
#include "palisade/http.h"
#include "conn_io.h"

struct event_base;
struct event;
struct bufferevent;
struct evbuffer;
struct evconnlistener;
struct gw_server;
struct gw_worker;
struct gw_conn;
struct gw_exchange;
struct gw_uconn;
struct gw_reqlog;

/* ---- TLS (tls.c, selfcert.c) ---- */

/* The files of a TLS server context. */
struct gw_tls_files {
	const char *cert;		/* PEM chain */
	const char *key;		/* PEM private key */
	const char *client_ca;		/* NULL: no client certificates */
	int client_required;		/* refuse a client without one */
	int allow_tls12;		/* else TLS 1.3 only */
};

/* A new server context from f (caller frees with SSL_CTX_free). */
int gw_tls_context(const struct gw_tls_files *f, SSL_CTX **out,
		   struct pal_err *e);

/* A context for a configured listener's TLS settings. */
int gw_tls_context_cfg(const struct pal_gw_tls *t, SSL_CTX **out,
		       struct pal_err *e);

/*
 * What a verified client certificate says about its holder, for matching
 * configured clients (pal_gw_config_client).
 */
struct gw_peer {
	uint8_t sha256[32];		/* of the DER certificate */
	int has_cn;			/* exactly one CN, UTF-8, no control
					   character, at most
					   PAL_GW_CLIENT_CN_MAX bytes */
	size_t cn_len;
	char cn[PAL_GW_CLIENT_CN_MAX + 1];
};

/* The peer's verified certificate into out; -1 when there is none. */
int gw_tls_peer(SSL *ssl, struct gw_peer *out);

/*
 * A self-signed ECDSA P-256 certificate for 127.0.0.1, ::1 and localhost,
 * valid for days, written to cert_path and key_path (0600) unless both
 * exist already (the embedded defaults).
 */
int gw_selfcert_ensure(const char *cert_path, const char *key_path,
		       unsigned days, struct pal_err *e);

/* The files of the admin listener's own small PKI. */
struct gw_admin_pki {
	const char *ca;			/* the client CA the listener trusts */
	const char *server_cert, *server_key;
	const char *client_cert, *client_key;	/* the operator's */
};

/* Makes them unless the CA and server files exist already. */
int gw_admin_pki_ensure(const struct gw_admin_pki *p, unsigned days,
			struct pal_err *e);

/* ---- records in the Palisade log (reqlog.c) ---- */

/*
 * Opens the log in dir for appends by appenders threads, signed through
 * the keeper on keeper_fd (-1: with the log's own key, for tests), with
 * at most max_queue records waiting.
 */
int gw_reqlog_open(const char *dir, int keeper_fd, unsigned appenders,
		   size_t max_queue, struct gw_reqlog **out, struct pal_err *e);

/*
 * Queues a record of type (a static string, e.g. "serve.request") with
 * an optional subject ("sha256:<hex>") and details (taken, even on
 * failure).  -1 when the log is broken or the queue full: the caller
 * stops serving (gw_reqlog_ok).  Never blocks on the disk.
 */
int gw_reqlog_submit(struct gw_reqlog *rl, const char *type,
		     const char *subject, json_t *details);

/*
 * The same without a JSON tree, for the record of every request:
 * gw_reqlog_begin starts an entry of type in b (initialized here) and
 * opens its details in w; the caller writes the members (json_writer.h);
 * gw_reqlog_end closes the entry, queues it and frees b.  -1 as for
 * gw_reqlog_submit; after a failed begin, b holds nothing and end must
 * not be called.
 */
struct pal_jw;
int gw_reqlog_begin(struct gw_reqlog *rl, struct pal_jw *w, struct pal_buf *b,
		    const char *type);
int gw_reqlog_end(struct gw_reqlog *rl, struct pal_jw *w);

/* 0 once an append failed or the queue overflowed; why says what. */
int gw_reqlog_ok(struct gw_reqlog *rl);
void gw_reqlog_why(struct gw_reqlog *rl, char *out, size_t cap);
uint64_t gw_reqlog_appended(struct gw_reqlog *rl);

/* Waits until every queued record is durable. */
void gw_reqlog_flush(struct gw_reqlog *rl);

/* Appends what is queued, publishes, closes; NULL is a no-op. */
int gw_reqlog_close(struct gw_reqlog *rl, struct pal_err *e);

/* ---- metrics (metrics.c) ---- */

enum gw_counter {
	GW_M_CONNECTIONS,		/* accepted */
	GW_M_HANDSHAKE_FAILED,
	GW_M_REQUESTS,			/* heads parsed */
	GW_M_RESP_2XX, GW_M_RESP_4XX, GW_M_RESP_5XX,
	GW_M_REFUSED_HTTP,		/* malformed, smuggling, too large */
	GW_M_REFUSED_AUTH,		/* 401 */
	GW_M_REFUSED_LOCKOUT,
	GW_M_REFUSED_BLOCKED,
	GW_M_REFUSED_AUTHZ,		/* 403 role or condition */
	GW_M_REFUSED_BODY,		/* 400/413 from body checks */
	GW_M_REFUSED_INJECTION,
	GW_M_RATE_LIMITED,		/* 429 */
	GW_M_LOG_FAILED,		/* 503 because the log is broken */
	GW_M_FLAGGED_INJECTION,
	GW_M_ABUSE_ALERTS,
	GW_M_UPSTREAM_ERRORS,		/* 502 */
	GW_M_UPSTREAM_TIMEOUTS,		/* 504 */
	GW_M_STREAMS,			/* SSE responses */
	GW_M_TOKENS_PROMPT,
	GW_M_TOKENS_COMPLETION,
	GW_M_BYTES_IN, GW_M_BYTES_OUT,
	GW_M_COUNTERS
};

struct gw_metrics {
	_Alignas(64) atomic_ullong c[GW_M_COUNTERS];
	atomic_llong open_connections;
	/* Latency histogram of completed requests, in milliseconds. */
	atomic_ullong lat_bucket[12];
	atomic_ullong lat_sum_us;
};

void gw_metric_add(struct gw_metrics *m, enum gw_counter c, uint64_t n);
void gw_metric_latency(struct gw_metrics *m, uint64_t us);
/* Prometheus text exposition of every metric, appended to b. */
int gw_metrics_render(const struct gw_metrics *m, struct evbuffer *b);

/* ---- blocked keys and networks (blocks.c) ---- */

struct gw_blocks;
int gw_blocks_new(struct gw_blocks **out);
void gw_blocks_free(struct gw_blocks *b);
/* Blocks (block 1) or unblocks a key id: 0 changed, 1 unchanged, -1 full. */
int gw_blocks_key(struct gw_blocks *b, const char *id, int block);
int gw_blocks_net(struct gw_blocks *b, const struct pal_gw_cidr *c,
		  int block);
/* 1 when the key (may be NULL) or the address is blocked. */
int gw_blocks_check(struct gw_blocks *b, const char *key_id,
		    const uint8_t addr[16]);
/* {"keys": [...], "networks": [...]} (caller decrefs). */
json_t *gw_blocks_json(struct gw_blocks *b);

/* ---- what is in force (state.c) ---- */

/*
 * Everything a request is checked against, built whole from a
 * configuration and swapped whole on reload.  Immutable once built;
 * each request holds a reference for its whole life, so a reload never
 * changes the rules under a request.
 */
struct gw_state {
	atomic_int refs;
	uint64_t generation;		/* 1, 2, ... per load */
	struct pal_gw_config *cfg;
	SSL_CTX *tls;			/* the listener's */
	SSL_CTX *admin_tls;		/* NULL without an admin listener */
	struct pal_http_limits http;	/* from cfg->listen.limits */
	struct pal_gw_resp_limits resp;	/* upstream responses */
	struct pal_inject_rules *inject; /* NULL: no injection checks */
	struct pal_payload_recipient *payload_to; /* NULL: digests only */
};

/* Builds the state for cfg (taken on success). */
int gw_state_build(struct pal_gw_config *cfg, uint64_t generation,
		   struct gw_state **out, struct pal_err *e);
struct gw_state *gw_state_ref(struct gw_state *st);
void gw_state_unref(struct gw_state *st);

/* The kind of the route method+path serves, or -1 when none allows it. */
int gw_route_kind(const struct gw_state *st, const struct pal_http_request *r);

/* ---- the server and its workers (server.c, worker.c) ---- */

struct gw_worker {
	struct gw_server *srv;
	unsigned id;
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *wake;		/* another thread asks for a sweep */
	struct gw_conn *conns;		/* every open client connection */
	size_t n_conns;
	struct gw_uconn **idle;		/* pooled, per upstream index */
	size_t n_idle_slots;
	struct pal_gw_body *body;	/* reused by this thread's requests */
	struct pal_apikey_view keys;	/* this thread's view of srv->keys */
	struct pal_inject_scratch *scratch;
	uint64_t swept;			/* srv->sweep_gen last acted on */
	int paused;			/* listener disabled (kill switch) */
};

/* Per-process shared state and the shared tables. */
struct gw_server {
	_Atomic(struct gw_state *) state;
	pthread_mutex_t state_mu;	/* taking a reference vs swapping */
	struct gw_metrics metrics;
	struct gw_reqlog *log;
	struct pal_apikey_current *keys;
	struct gw_blocks *blocks;
	struct pal_ratelimit *limits;
	struct pal_lockout *lockout;
	struct pal_abuse_table *abuse;
	struct gw_worker *workers;
	unsigned n_workers;
	atomic_int killed;		/* stop all inbound traffic */
	atomic_ullong sweep_gen;	/* bumped to ask workers to sweep */
	atomic_int stopping;
	int64_t started;		/* ms */
};

/* Every worker checks blocks, cuts and the kill switch now. */
void gw_server_sweep(struct gw_server *s);

/* Current state with a reference (the caller unrefs). */
struct gw_state *gw_server_state(struct gw_server *s);

/* POSTs json to the webhook at to, without waiting (webhook.c). */
void gw_webhook_post(struct event_base *base, const struct pal_gw_endpoint *to,
		     const char *json, size_t len);

/* ---- the admin listener (admin.c) ---- */

struct gw_admin;
struct pal_gw_server;
/* Starts the mutual-TLS admin listener on base (the main thread's). */
int gw_admin_start(struct gw_server *s, struct event_base *base,
		   struct pal_gw_server *g, struct gw_admin **out,
		   struct pal_err *e);
void gw_admin_stop(struct gw_admin *a);

/* ---- client connections (conn.c) ---- */

struct gw_conn {
	struct gw_worker *w;
	struct gw_conn *prev, *next;
	struct gw_io io;		/* the TLS transport (conn_io.h) */
	struct event *deadline;
	struct gw_exchange *x;		/* the request in progress, or NULL */
	struct gw_state *st;		/* in force for the current request */
	uint8_t addr[16];		/* source, IPv4 mapped into IPv6 */
	char addr_text[48];
	struct gw_peer *peer;		/* its verified certificate, or NULL */
	char key_id[33];		/* last identity (an API key id or
					   "cert:<name>"), or "" */
	uint32_t served;
	uint8_t phase;
	uint8_t closing;
	uint8_t failed;			/* a TLS or socket error ended it */
};

/* Accepts fd from sa on worker w. */
void gw_conn_accept(struct gw_worker *w, int fd, const struct sockaddr *sa,
		    int salen, SSL_CTX *ctx);

/* Closes c now, whatever it was doing. */
void gw_conn_free(struct gw_conn *c);

/* Writes head + body of a complete response; closes after when asked. */
void gw_conn_respond(struct gw_conn *c, struct evbuffer *resp, int close);

/* Streaming: the head went out; more data comes, then the end. */
struct evbuffer *gw_conn_output(struct gw_conn *c);
/* The exchange finished: log it, then serve the next request or close. */
void gw_conn_done(struct gw_conn *c, int close);
/* Output waiting for the client, in bytes. */
size_t gw_conn_pending(struct gw_conn *c);

/* ---- one request (exchange.c) ---- */

/* Builds an error response in OpenAI's shape into out. */
int gw_error_response(struct evbuffer *out, int status, const char *type,
		      const char *message, int close, uint32_t retry_after);

#endif
