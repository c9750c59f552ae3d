/*
 * conn.c - a client connection of the gateway (gw_int.h).
 *
 * A connection reads one request at a time: the head, under a deadline
 * that runs from the first byte (or the end of the previous response) and
 * does not move when bytes trickle in (slowloris), then the body under its
 * own deadline, then nothing until the response is written (requests are
 * not pipelined into the upstream; bytes a client sends ahead wait in the
 * input buffer, whose ceiling is the head limit).  Any refusal of the
 * framing closes the connection after the error response, since nothing
 * then says where the next request would start.
 *
 * Memory: an idle connection holds its TLS session, its transport
 * (conn_io.h: two events, two empty evbuffers) and this struct; the
 * exchange (parser, headers, body) exists only while a request is in
 * progress.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "exchange.h"
#include "gw_int.h"

enum {
	PH_HANDSHAKE = 0,	/* TLS handshake (under the head deadline) */
	PH_HEAD,		/* reading a request head */
	PH_BODY,		/* reading its body */
	PH_BUSY,		/* checking, upstream, writing the response */
	PH_IDLE,		/* keep-alive, before the next head's first byte */
};

/* Output above this pauses the upstream until the client reads. */
#define OUTPUT_HIGH (1u << 20)
/* Input read ahead while a body is taken in (it is moved out as it comes). */
#define BODY_WINDOW (64u << 10)
/* A closing connection gets this long to take its last response. */
#define LINGER_MS 5000

static void conn_read(void *arg);

static void
arm(struct gw_conn *c, uint32_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->deadline, &tv);
}

static const struct pal_gw_listen_limits *
limits(struct gw_conn *c)
{
	return &c->st->cfg->listen.limits;
}

void
gw_conn_free(struct gw_conn *c)
{
	struct gw_worker *w = c->w;

	if (c->x != NULL)
		gw_exchange_abort(c->x);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->n_conns--;
	atomic_fetch_sub(&w->srv->metrics.open_connections, 1);
	event_free(c->deadline);
	/*
	 * A connection that ended cleanly says so (close_notify): OpenSSL
	 * keeps a session for resumption only then.
	 */
	gw_io_free(&c->io, c->phase != PH_HANDSHAKE && !c->failed);
	free(c->peer);
	gw_state_unref(c->st);
	free(c);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct gw_conn *c = arg;

	(void)fd;
	(void)what;
	if (c->closing || c->phase == PH_HANDSHAKE || c->phase == PH_IDLE) {
		gw_conn_free(c);
		return;
	}
	if (c->phase == PH_HEAD || c->phase == PH_BODY) {
		gw_metric_add(&c->w->srv->metrics, GW_M_REFUSED_HTTP, 1);
		gw_exchange_refuse(c->x, 408, "request_timeout",
				   "the request was not received in time");
		return;
	}
	/* PH_BUSY: the exchange has its own upstream timeouts. */
}

/* Starts waiting for a request (after the handshake or a response). */
static void
wait_request(struct gw_conn *c)
{
	c->phase = PH_IDLE;
	gw_io_read(&c->io, limits(c)->max_header_bytes + 1);
	arm(c, c->served == 0 ? limits(c)->header_timeout_ms
			      : limits(c)->idle_timeout_ms);
	if (evbuffer_get_length(c->io.in) > 0)
		conn_read(c);
	else
		gw_io_idle(&c->io);
}

/* The first bytes of a head: the head deadline starts now. */
static int
begin_request(struct gw_conn *c)
{
	struct gw_state *st = gw_server_state(c->w->srv);
	int rc;

	/* A new request is checked against what is in force now. */
	gw_state_unref(c->st);
	c->st = st;
	rc = gw_exchange_new(c, &c->x);
	if (rc < 0)
		return rc;
	c->phase = PH_HEAD;
	arm(c, limits(c)->header_timeout_ms);
	return 0;
}

static void
read_head(struct gw_conn *c)
{
	struct evbuffer *in = c->io.in;
	size_t have = evbuffer_get_length(in);
	size_t want = limits(c)->max_header_bytes + 1;
	const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)(have < want ? have
								    : want));

	if (gw_exchange_head(c->x, p, have < want ? have : want) == 0 &&
	    c->phase == PH_HEAD) {
		/* The head was taken: now the body, if any. */
		c->phase = PH_BODY;
		arm(c, limits(c)->body_timeout_ms);
		gw_io_read(&c->io, BODY_WINDOW);
		gw_exchange_body(c->x, c->io.in);
	}
}

static void
conn_read(void *arg)
{
	struct gw_conn *c = arg;
	struct evbuffer *in = c->io.in;

	if (c->closing)
		return;
	if (c->phase == PH_HANDSHAKE)
		c->phase = PH_IDLE;
	while (!c->closing && evbuffer_get_length(in) > 0) {
		if (c->phase == PH_IDLE) {
			if (begin_request(c) < 0) {
				gw_conn_free(c);
				return;
			}
		}
		if (c->phase == PH_HEAD) {
			size_t before = evbuffer_get_length(in);
			read_head(c);
			if (c->phase == PH_HEAD &&
			    evbuffer_get_length(in) == before)
				return;		/* wait for more */
			continue;
		}
		if (c->phase == PH_BODY) {
			if (gw_exchange_body(c->x, in) > 0)
				return;		/* wait for more */
			continue;
		}
		return;			/* PH_BUSY: later */
	}
}

/* The exchange took the whole body and is now busy with it. */
void
gw_conn_busy(struct gw_conn *c)
{
	c->phase = PH_BUSY;
	evtimer_del(c->deadline);
	/* Bytes sent ahead wait, up to one head's worth. */
	gw_io_read(&c->io, limits(c)->max_header_bytes + 1);
}

static void
conn_connected(void *arg)
{
	struct gw_conn *c = arg;
	struct gw_peer peer;

	c->phase = PH_IDLE;
	/* Kept only when a certificate came: most connections have none. */
	if (gw_tls_peer(c->io.ssl, &peer) == 0 &&
	    (c->peer = malloc(sizeof(*c->peer))) != NULL)
		*c->peer = peer;
}

static void
conn_drained(void *arg)
{
	struct gw_conn *c = arg;

	if (c->closing) {
		gw_conn_free(c);
		return;
	}
	if (c->x != NULL)
		gw_exchange_drained(c->x);
}

static void
conn_closed(void *arg, int error)
{
	struct gw_conn *c = arg;

	if (error && c->phase == PH_HANDSHAKE)
		gw_metric_add(&c->w->srv->metrics, GW_M_HANDSHAKE_FAILED, 1);
	if (error)
		c->failed = 1;
	/* EOF or an error: the client is gone; so is what it asked for. */
	gw_conn_free(c);
}

static const struct gw_io_callbacks conn_callbacks = {
	.connected = conn_connected,
	.readable = conn_read,
	.drained = conn_drained,
	.closed = conn_closed,
};

void
gw_conn_respond(struct gw_conn *c, struct evbuffer *resp, int close)
{
	evbuffer_add_buffer(c->io.out, resp);
	if (close)
		gw_conn_close_after(c);
}

struct evbuffer *
gw_conn_input(struct gw_conn *c)
{
	return c->io.in;
}

struct evbuffer *
gw_conn_output(struct gw_conn *c)
{
	return c->io.out;
}

size_t
gw_conn_pending(struct gw_conn *c)
{
	return evbuffer_get_length(c->io.out);
}

/* Stops reading; the connection is freed once its output is written. */
void
gw_conn_close_after(struct gw_conn *c)
{
	c->closing = 1;
	gw_io_read(&c->io, 0);
	/* Freed from the loop, never under a caller that still holds c. */
	arm(c, gw_conn_pending(c) == 0 ? 0 : LINGER_MS);
}

void
gw_conn_done(struct gw_conn *c, int close)
{
	c->x = NULL;
	c->served++;
	if (close || c->served >= limits(c)->max_requests_per_connection ||
	    atomic_load(&c->w->srv->killed)) {
		gw_conn_close_after(c);
		return;
	}
	wait_request(c);
}

/* Records the source address, IPv4 mapped into IPv6. */
static void
set_addr(struct gw_conn *c, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		memset(c->addr, 0, 10);
		c->addr[10] = c->addr[11] = 0xff;
		memcpy(c->addr + 12, &in->sin_addr, 4);
		inet_ntop(AF_INET, &in->sin_addr, c->addr_text,
			  sizeof(c->addr_text));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)sa;
		memcpy(c->addr, &in6->sin6_addr, 16);
		inet_ntop(AF_INET6, &in6->sin6_addr, c->addr_text,
			  sizeof(c->addr_text));
	} else {
		snprintf(c->addr_text, sizeof(c->addr_text), "unix");
	}
}

void
gw_conn_accept(struct gw_worker *w, int fd, const struct sockaddr *sa,
	       int salen, SSL_CTX *ctx)
{
	struct gw_conn *c = calloc(1, sizeof(*c));
	SSL *ssl = ctx != NULL ? SSL_new(ctx) : NULL;
	int one = 1;

	(void)salen;
	if (c == NULL || ssl == NULL ||
	    (c->deadline = evtimer_new(w->base, on_deadline, c)) == NULL) {
		SSL_free(ssl);
		close(fd);
		free(c);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->w = w;
	c->st = gw_server_state(w->srv);
	set_addr(c, sa);
	/* The transport takes fd and ssl, and closes them if it fails. */
	if (gw_io_start(&c->io, w->base, fd, ssl,
			limits(c)->max_header_bytes + 1, &conn_callbacks,
			c) < 0) {
		event_free(c->deadline);
		gw_state_unref(c->st);
		free(c);
		return;
	}
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->n_conns++;
	atomic_fetch_add(&w->srv->metrics.open_connections, 1);
	gw_metric_add(&w->srv->metrics, GW_M_CONNECTIONS, 1);
	c->phase = PH_HANDSHAKE;
	arm(c, limits(c)->header_timeout_ms);
}
