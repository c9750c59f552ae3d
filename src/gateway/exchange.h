/*
 * exchange.h - one request through the gateway, from its head to its log
 * record (exchange.c, checks.c, upstream.c).  Private to src/gateway.
 */
#ifndef PALISADE_GW_EXCHANGE_H
#define PALISADE_GW_EXCHANGE_H

#include <stdint.h>

#include <openssl/evp.h>

#include "palisade/apikey.h"
#include "palisade/buf.h"
#include "palisade/gwbody.h"
#include "palisade/http.h"
#include "gw_int.h"

#define GW_PATH_MAX 256
#define GW_REASON_MAX 200

struct gw_exchange {
	struct gw_conn *c;
	struct gw_state *st;		/* held for the exchange's life */
	int64_t t0_us;

	/* The head, as parsed, then the facts kept from it. */
	struct pal_http_parser hp;
	struct pal_http_header *hdrs;
	enum pal_http_method method;
	int kind;			/* enum pal_gw_route_kind */
	int keep_alive;
	enum pal_http_framing framing;
	uint64_t content_length;
	struct pal_http_chunked chunked;
	char path[GW_PATH_MAX];

	/* Who asks, and under which rules. */
	char id[33];			/* the identity once authenticated: an
					   API key's id or "cert:<name>";
					   "" before */
	struct pal_apikey_snapshot *keys;	/* held for the exchange */
	const struct pal_apikey_record *key;	/* in keys; NULL for a
						   certificate identity */
	const struct pal_gw_role *role;		/* in st->cfg */
	struct pal_gw_limits lim;		/* the key's, over the role's */
	int charged;				/* a request was counted */

	/* The body, then what the checks found. */
	struct pal_buf body;
	char model[PAL_GW_BODY_NAME_MAX + 1];
	uint32_t max_tokens;
	int stream, usage_added;
	unsigned stripped;
	uint64_t inject_score;
	json_t *flags;			/* rule ids that matched, alerts */
	uint8_t prompt_sha[32];

	/* The upstream. */
	const struct pal_gw_upstream *up;
	size_t up_index;
	struct gw_uconn *u;

	/* The response. */
	int status;			/* what the client got */
	int head_sent;			/* a streamed head went out */
	struct pal_gw_sse *sse;
	struct pal_buf resp;		/* a non-streamed upstream body */
	struct pal_gw_usage usage;
	EVP_MD_CTX *resp_md;		/* SHA-256 of the body sent */
	struct pal_buf resp_copy;	/* its first bytes, for the payload */
	uint64_t resp_total;		/* its length */
	int digested;			/* prompt_sha is set */
	uint64_t in_bytes, out_bytes;
	char reason[GW_REASON_MAX];	/* why it was refused, for the log */
};

/* Hashes (and keeps, when payloads are logged) bytes sent to the client. */
void gw_exchange_sent(struct gw_exchange *x, const void *p, size_t n);

/* ---- exchange.c: the connection's side ---- */

/* A new exchange for c's next request. */
int gw_exchange_new(struct gw_conn *c, struct gw_exchange **out);

/*
 * Feeds the head bytes buf[0..len) (the start of the input).  1: more
 * needed; 0: the head was taken (drained from the input) and the body,
 * if any, is next; -1: refused (the response is on its way, the
 * connection closing).
 */
int gw_exchange_head(struct gw_exchange *x, const uint8_t *buf, size_t len);

/*
 * Takes body bytes from in.  1: more needed; 0: the body is complete and
 * the exchange went on (or it was refused).
 */
int gw_exchange_body(struct gw_exchange *x, struct evbuffer *in);

/* The client's output drained: a paused upstream may resume. */
void gw_exchange_drained(struct gw_exchange *x);

/* Refuses the request with an error response, then closes. */
void gw_exchange_refuse(struct gw_exchange *x, int status, const char *type,
			const char *message);

/* The connection is going away: drop everything (logged as aborted). */
void gw_exchange_abort(struct gw_exchange *x);

/* Answers with an error response and ends the exchange (logged). */
void gw_exchange_fail(struct gw_exchange *x, int status, const char *type,
		      const char *message, int close, uint32_t retry_after);

/* Keeps why (cut at GW_REASON_MAX) as the reason the log records. */
void gw_reason(struct gw_exchange *x, const char *why);

/* ---- checks.c: what the head and the body must pass ---- */

/* Head checks (route, key, blocks, budget); 0 or answered. */
int gw_checks_head(struct gw_exchange *x,
		   const struct pal_http_request *req);

/* Body checks (body, role, upstream, injection, abuse); 0 or answered. */
int gw_checks_body(struct gw_exchange *x, const uint8_t **fwd,
		   size_t *fwd_len);

/*
 * The upstream's model list with only the models the caller's role is
 * granted (caller frees); NULL when the list is not one.
 */
char *gw_checks_models(struct gw_exchange *x, const void *body, size_t len,
		       size_t *out_len);

/* After the response: charges tokens, counts, records. */
void gw_checks_after(struct gw_exchange *x);

/* ---- upstream.c ---- */

/* Sends the request to x->up; the answer comes back through the calls
   below. */
void gw_upstream_send(struct gw_exchange *x, const uint8_t *body,
		      size_t len);

/* Gives the upstream connection back (pooled when reusable) or closes. */
void gw_upstream_release(struct gw_uconn *u, int reusable);

/* Pauses or resumes reading from the upstream (back-pressure). */
void gw_upstream_pause(struct gw_uconn *u, int pause);

/* Closes every pooled connection of worker w. */
void gw_upstream_drain_pool(struct gw_worker *w);

/* What upstream.c tells the exchange. */
int gw_exchange_upstream_head(struct gw_exchange *x,
			      const struct pal_http_response *r);
int gw_exchange_upstream_data(struct gw_exchange *x, const uint8_t *p,
			      size_t n);
void gw_exchange_upstream_end(struct gw_exchange *x);
void gw_exchange_upstream_fail(struct gw_exchange *x, int timeout,
			       const char *why);

/* ---- conn.c, for the exchange ---- */

void gw_conn_busy(struct gw_conn *c);
void gw_conn_close_after(struct gw_conn *c);
struct evbuffer *gw_conn_input(struct gw_conn *c);

/* Monotonic microseconds. */
int64_t gw_now_us(void);

#endif
