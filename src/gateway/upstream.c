/*
 * upstream.c - the gateway's connections to its model servers
 * (exchange.h).
 *
 * Plain HTTP/1.1 over loopback TCP or a Unix socket, pooled per worker and
 * upstream.  The request sent upstream is rebuilt, never copied: method,
 * path, Host, Content-Type, Content-Length and Accept, so that nothing a
 * client put in its head (its API key above all) reaches the model
 * server.  The answer is parsed as strictly as requests are (http.h): a
 * response the gateway cannot frame is a 502 and the connection is
 * dropped, never reused.
 *
 * Timeouts: connecting within connect_timeout_ms; then each read within
 * read_timeout_ms of the previous one (a stream may run long, but not
 * stall).  A pooled connection the server closed while idle shows as EOF
 * before any byte of the answer: the request is sent once more on a new
 * connection (nothing of it was processed, since nothing was answered).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "exchange.h"
#include "gw_int.h"

enum {
	U_CONNECTING = 0,
	U_HEAD,
	U_BODY,
	U_IDLE,
};

struct gw_uconn {
	struct gw_worker *w;
	size_t up;			/* index in the configuration */
	uint64_t generation;		/* of the state it was made under */
	struct bufferevent *bev;
	struct gw_uconn *next;		/* in the idle pool */
	struct gw_exchange *x;
	int phase;
	int reused;			/* came from the pool */
	int got_bytes;			/* some of the answer arrived */
	struct pal_http_parser hp;
	struct pal_http_header hdrs[64];
	enum pal_http_framing framing;
	uint64_t left;			/* LENGTH: bytes still to come */
	int keep_alive;
	struct pal_http_chunked chunked;
	/* The request, kept for a retry on a stale pooled connection. */
	struct evbuffer *req;
};

static void u_read(struct bufferevent *bev, void *arg);
static void u_event(struct bufferevent *bev, short what, void *arg);

static void
u_free(struct gw_uconn *u)
{
	if (u == NULL)
		return;
	if (u->bev != NULL)
		bufferevent_free(u->bev);
	if (u->req != NULL)
		evbuffer_free(u->req);
	free(u);
}

static void
set_read_timeout(struct gw_uconn *u, const struct pal_gw_upstream *up)
{
	struct timeval rd = { up->read_timeout_ms / 1000,
			      (up->read_timeout_ms % 1000) * 1000 };
	struct timeval wr = rd;

	bufferevent_set_timeouts(u->bev, &rd, &wr);
}

static struct gw_uconn *
u_connect(struct gw_worker *w, const struct pal_gw_upstream *up, size_t idx,
	  uint64_t generation)
{
	struct gw_uconn *u = calloc(1, sizeof(*u));
	struct timeval ct = { up->connect_timeout_ms / 1000,
			      (up->connect_timeout_ms % 1000) * 1000 };

	if (u == NULL)
		return NULL;
	u->w = w;
	u->up = idx;
	u->generation = generation;
	u->bev = bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (u->bev == NULL) {
		free(u);
		return NULL;
	}
	bufferevent_setcb(u->bev, u_read, NULL, u_event, u);
	bufferevent_enable(u->bev, EV_READ | EV_WRITE);
	/* Until connected, the write timeout bounds the connect. */
	bufferevent_set_timeouts(u->bev, NULL, &ct);
	u->phase = U_CONNECTING;
	if (bufferevent_socket_connect(u->bev,
				       (const struct sockaddr *)&up->endpoint.sa,
				       (int)up->endpoint.salen) < 0) {
		u_free(u);
		return NULL;
	}
	return u;
}

/* A pooled connection to upstream idx, or NULL. */
static struct gw_uconn *
pool_take(struct gw_worker *w, size_t idx, uint64_t generation)
{
	while (idx < w->n_idle_slots && w->idle[idx] != NULL) {
		struct gw_uconn *u = w->idle[idx];
		w->idle[idx] = u->next;
		u->next = NULL;
		if (u->generation == generation) {
			u->reused = 1;
			return u;
		}
		u_free(u);		/* made under an older configuration */
	}
	return NULL;
}

static size_t
pool_count(struct gw_worker *w, size_t idx)
{
	size_t n = 0;

	for (struct gw_uconn *u = w->idle[idx]; u != NULL; u = u->next)
		n++;
	return n;
}

static int
grow_slots(struct gw_worker *w, size_t n)
{
	struct gw_uconn **v;

	if (n <= w->n_idle_slots)
		return 0;
	v = realloc(w->idle, n * sizeof(*v));
	if (v == NULL)
		return -1;
	memset(v + w->n_idle_slots, 0, (n - w->n_idle_slots) * sizeof(*v));
	w->idle = v;
	w->n_idle_slots = n;
	return 0;
}

void
gw_upstream_release(struct gw_uconn *u, int reusable)
{
	struct gw_worker *w;
	const struct pal_gw_upstream *up;

	if (u == NULL)
		return;
	w = u->w;
	if (u->x != NULL)
		u->x->u = NULL;
	u->x = NULL;
	if (!reusable || grow_slots(w, u->up + 1) < 0) {
		u_free(u);
		return;
	}
	{
		struct gw_state *st = gw_server_state(w->srv);
		up = u->up < st->cfg->n_upstreams ? &st->cfg->upstreams[u->up]
						  : NULL;
		reusable = up != NULL && st->generation == u->generation &&
			   pool_count(w, u->up) < up->max_idle;
		gw_state_unref(st);
	}
	if (!reusable) {
		u_free(u);
		return;
	}
	u->phase = U_IDLE;
	u->reused = 0;
	u->got_bytes = 0;
	evbuffer_free(u->req);
	u->req = NULL;
	/* Idle: no timeout, but an EOF or stray bytes drop it. */
	bufferevent_set_timeouts(u->bev, NULL, NULL);
	bufferevent_enable(u->bev, EV_READ);
	u->next = w->idle[u->up];
	w->idle[u->up] = u;
}

void
gw_upstream_drain_pool(struct gw_worker *w)
{
	for (size_t i = 0; i < w->n_idle_slots; i++) {
		while (w->idle[i] != NULL) {
			struct gw_uconn *u = w->idle[i];
			w->idle[i] = u->next;
			u_free(u);
		}
	}
	free(w->idle);
	w->idle = NULL;
	w->n_idle_slots = 0;
}

void
gw_upstream_pause(struct gw_uconn *u, int pause)
{
	if (pause)
		bufferevent_disable(u->bev, EV_READ);
	else
		bufferevent_enable(u->bev, EV_READ);
}

/* The request as the upstream sees it. */
static struct evbuffer *
build_request(struct gw_exchange *x, const uint8_t *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	int get = x->method == PAL_HTTP_GET;

	if (b == NULL)
		return NULL;
	evbuffer_add_printf(b, "%s %s HTTP/1.1\r\nHost: %s\r\n"
			    "Accept: %s\r\n", get ? "GET" : "POST", x->path,
			    x->up->endpoint.host,
			    x->stream ? "text/event-stream" : "application/json");
	if (!get)
		evbuffer_add_printf(b, "Content-Type: application/json\r\n"
				    "Content-Length: %zu\r\n", len);
	evbuffer_add(b, "\r\n", 2);
	if (!get && len > 0)
		evbuffer_add(b, body, len);
	return b;
}

static void
start_exchange(struct gw_uconn *u)
{
	struct evbuffer *copy = evbuffer_new();

	pal_http_parser_reset(&u->hp);
	u->phase = U_HEAD;
	set_read_timeout(u, u->x->up);
	/*
	 * The request stays in u->req for a possible retry; a reference to it
	 * is written straight to the socket, which nearly always takes it
	 * whole (what it does not take goes through the bufferevent).  Going
	 * through the bufferevent every time would cost two epoll_ctl calls a
	 * request, to watch for writability and to stop.
	 */
	if (copy != NULL) {
		evbuffer_add_buffer_reference(copy, u->req);
		while (evbuffer_get_length(copy) > 0 &&
		       evbuffer_write(copy, bufferevent_getfd(u->bev)) > 0)
			;
		if (evbuffer_get_length(copy) > 0)
			bufferevent_write_buffer(u->bev, copy);
		evbuffer_free(copy);
	}
	/*
	 * EV_WRITE stays enabled from the connect on: the bufferevent then
	 * watches for writability only while its output holds something.
	 * Enabling it again here would add and drop that watch each time.
	 */
	bufferevent_enable(u->bev, EV_READ);
}

static int
attach(struct gw_exchange *x, struct gw_uconn *u, struct evbuffer *req)
{
	struct pal_http_limits lim;
	struct pal_err err = { 0 };

	pal_http_limits_default(&lim);
	lim.max_headers = sizeof(u->hdrs) / sizeof(u->hdrs[0]);
	lim.max_body = UINT64_MAX;
	if (pal_http_parser_init(&u->hp, &lim, u->hdrs, &err) < 0)
		return -1;
	u->x = x;
	u->req = req;
	x->u = u;
	if (u->phase != U_CONNECTING)
		start_exchange(u);
	return 0;
}

void
gw_upstream_send(struct gw_exchange *x, const uint8_t *body, size_t len)
{
	struct gw_worker *w = x->c->w;
	struct evbuffer *req = build_request(x, body, len);
	struct gw_uconn *u = pool_take(w, x->up_index, x->st->generation);

	if (u == NULL)
		u = u_connect(w, x->up, x->up_index, x->st->generation);
	if (req == NULL || u == NULL || attach(x, u, req) < 0) {
		if (req != NULL && (u == NULL || u->req != req))
			evbuffer_free(req);
		u_free(u);
		x->u = NULL;
		gw_exchange_upstream_fail(x, 0, "cannot connect to the "
					  "upstream");
	}
}

/* A stale pooled connection: the same request on a new one. */
static int
retry(struct gw_uconn *u)
{
	struct gw_exchange *x = u->x;
	struct gw_uconn *n;
	struct evbuffer *req = u->req;

	if (!u->reused || u->got_bytes || x == NULL)
		return -1;
	n = u_connect(u->w, x->up, x->up_index, x->st->generation);
	if (n == NULL)
		return -1;
	u->req = NULL;
	u->x = NULL;
	x->u = NULL;
	u_free(u);
	if (attach(x, n, req) < 0) {
		n->req = NULL;
		u_free(n);
		evbuffer_free(req);
		return -1;
	}
	return 0;
}

static void
fail(struct gw_uconn *u, int timeout, const char *why)
{
	struct gw_exchange *x = u->x;

	if (x == NULL) {
		/* An idle pooled connection closed or spoke: drop it. */
		struct gw_uconn **pp = &u->w->idle[u->up];
		while (*pp != NULL && *pp != u)
			pp = &(*pp)->next;
		if (*pp == u)
			*pp = u->next;
		u_free(u);
		return;
	}
	if (!timeout && retry(u) == 0)
		return;
	x->u = NULL;
	u->x = NULL;
	u_free(u);
	gw_exchange_upstream_fail(x, timeout, why);
}

static void
u_event(struct bufferevent *bev, short what, void *arg)
{
	struct gw_uconn *u = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (u->x != NULL)
			start_exchange(u);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		fail(u, 1, u->phase == U_CONNECTING ? "upstream connect "
			   "timed out" : "upstream read timed out");
		return;
	}
	if ((what & BEV_EVENT_EOF) && u->phase == U_BODY &&
	    u->framing == PAL_HTTP_BODY_CLOSE) {
		struct gw_exchange *x = u->x;
		gw_upstream_release(u, 0);
		gw_exchange_upstream_end(x);
		return;
	}
	fail(u, 0, (what & BEV_EVENT_EOF) ? "upstream closed the connection"
					  : "upstream connection failed");
}

/* Body bytes in in: passed on as their framing allows. */
static int
take_body(struct gw_uconn *u, struct evbuffer *in, int *done)
{
	struct gw_exchange *x = u->x;

	*done = 0;
	while (evbuffer_get_length(in) > 0 && !*done) {
		struct evbuffer_iovec v;
		size_t used;
		const uint8_t *data = NULL;
		size_t data_len = 0;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			return -1;
		if (u->framing == PAL_HTTP_BODY_CHUNKED) {
			struct pal_http_refusal ref;
			struct pal_err err = { 0 };
			if (pal_http_chunked_feed(&u->chunked, v.iov_base,
						  v.iov_len, &used, &data,
						  &data_len, &ref, &err) < 0)
				return -1;
			*done = pal_http_chunked_done(&u->chunked);
		} else {
			used = v.iov_len;
			if (u->framing == PAL_HTTP_BODY_LENGTH &&
			    used > u->left)
				used = (size_t)u->left;
			data = v.iov_base;
			data_len = used;
			if (u->framing == PAL_HTTP_BODY_LENGTH) {
				u->left -= used;
				*done = u->left == 0;
			}
		}
		if (data_len > 0 &&
		    gw_exchange_upstream_data(x, data, data_len) < 0)
			return -1;
		evbuffer_drain(in, used);
	}
	return 0;
}

static int
take_head(struct gw_uconn *u, struct evbuffer *in)
{
	struct pal_http_response r;
	struct pal_http_refusal ref;
	struct pal_err err = { 0 };
	size_t len = evbuffer_get_length(in);
	size_t want = u->hp.lim.max_head + 1;
	const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)(len < want ? len
								   : want));
	int rc = pal_http_response_parse(&u->hp, p, len < want ? len : want,
					 u->x->method, &r, &ref, &err);

	if (rc == PAL_HTTP_MORE)
		return 1;
	if (rc < 0) {
		gw_reason(u->x, err.msg);
		return -1;
	}
	if (r.status < 200) {		/* interim: the final head follows */
		evbuffer_drain(in, r.head_len);
		pal_http_parser_reset(&u->hp);
		return 0;
	}
	u->framing = r.framing;
	u->left = r.content_length;
	u->keep_alive = r.keep_alive;
	if (r.framing == PAL_HTTP_BODY_CHUNKED)
		pal_http_chunked_init(&u->chunked, UINT64_MAX,
				      PAL_HTTP_FROM_UPSTREAM);
	if (gw_exchange_upstream_head(u->x, &r) < 0)
		return -1;
	evbuffer_drain(in, r.head_len);
	u->phase = U_BODY;
	return 0;
}

static void
u_read(struct bufferevent *bev, void *arg)
{
	struct gw_uconn *u = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int done = 0;

	if (u->x == NULL) {
		fail(u, 0, "bytes from an idle upstream connection");
		return;
	}
	u->got_bytes = 1;
	while (u->phase == U_HEAD && evbuffer_get_length(in) > 0) {
		int rc = take_head(u, in);
		if (rc == 1)
			return;
		if (rc < 0) {
			fail(u, 0, "upstream answer is malformed");
			return;
		}
	}
	if (u->phase != U_BODY)
		return;
	if (u->framing == PAL_HTTP_BODY_NONE ||
	    (u->framing == PAL_HTTP_BODY_LENGTH && u->left == 0))
		done = 1;
	else if (take_body(u, in, &done) < 0) {
		fail(u, 0, "upstream answer is malformed");
		return;
	}
	if (done) {
		struct gw_exchange *x = u->x;
		int reuse = u->keep_alive && evbuffer_get_length(in) == 0;
		gw_upstream_release(u, reuse);
		gw_exchange_upstream_end(x);
	}
}
