/*
 * exchange.c - one request through the gateway: its head and body taken
 * from the connection, the checks (checks.c) run, the request sent
 * upstream (upstream.c), the answer filtered back to the client, and the
 * exchange's record logged.
 *
 * Responses the gateway writes itself carry no Server header and nothing
 * about the upstream; error bodies have OpenAI's shape
 * ({"error": {"message", "type", "code"}}) so that clients written for
 * that API read them.  A streamed answer goes to the client chunk by
 * chunk (chunked transfer coding), each SSE event filtered as it passes;
 * a non-streamed one is read whole (bounded), filtered, then sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "exchange.h"
#include "gw_int.h"

#define RESP_PAUSE (1u << 20)	/* client output that pauses the upstream */
#define PAYLOAD_KEEP (64u << 10) /* response bytes kept for the payload */

int64_t
gw_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
gw_reason(struct gw_exchange *x, const char *why)
{
	size_t n = strnlen(why, sizeof(x->reason) - 1);

	memcpy(x->reason, why, n);
	x->reason[n] = '\0';
}

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return status < 300 ? "OK" : status < 500 ? "Client Error"
						 : "Server Error";
	}
}

/* The head of a response the gateway writes, up to its blank line. */
static void
put_head(struct evbuffer *out, int status, const char *type, size_t len,
	 int close, uint32_t retry_after)
{
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
			    "Content-Type: %s\r\n", status,
			    status_text(status), type);
	if (len != (size_t)-1)
		evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
	else
		evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
	evbuffer_add_printf(out, "Cache-Control: no-store\r\n"
			    "X-Content-Type-Options: nosniff\r\n");
	if (status == 401)
		evbuffer_add_printf(out, "WWW-Authenticate: Bearer\r\n");
	if (retry_after > 0)
		evbuffer_add_printf(out, "Retry-After: %u\r\n", retry_after);
	if (close)
		evbuffer_add_printf(out, "Connection: close\r\n");
	evbuffer_add(out, "\r\n", 2);
}

int
gw_error_response(struct evbuffer *out, int status, const char *type,
		  const char *message, int close, uint32_t retry_after)
{
	json_t *j = json_pack("{s:{s:s, s:s, s:i}}", "error", "message",
			      message, "type", type, "code", status);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	size_t len = text ? strlen(text) : 0;

	json_decref(j);
	if (text == NULL)
		return -1;
	put_head(out, status, "application/json", len, close, retry_after);
	evbuffer_add(out, text, len);
	free(text);
	return 0;
}

static void
exchange_free(struct gw_exchange *x)
{
	if (x->u != NULL)
		gw_upstream_release(x->u, 0);
	pal_gw_sse_free(x->sse);
	pal_buf_free(&x->body);
	pal_buf_free(&x->resp);
	EVP_MD_CTX_free(x->resp_md);
	pal_buf_free_secret(&x->resp_copy);
	json_decref(x->flags);
	pal_apikey_snapshot_unref(x->keys);
	gw_state_unref(x->st);
	free(x->hdrs);
	free(x);
}

int
gw_exchange_new(struct gw_conn *c, struct gw_exchange **out)
{
	struct gw_state *st = gw_state_ref(c->st);
	struct gw_exchange *x = calloc(1, sizeof(*x));
	struct pal_err err = { 0 };

	*out = NULL;
	if (x == NULL) {
		gw_state_unref(st);
		return -1;
	}
	x->c = c;
	x->st = st;
	x->t0_us = gw_now_us();
	x->kind = -1;
	x->hdrs = calloc(st->http.max_headers, sizeof(*x->hdrs));
	pal_buf_init(&x->body, st->http.max_body);
	pal_buf_init(&x->resp, st->resp.max_body);
	pal_buf_init(&x->resp_copy, PAYLOAD_KEEP);
	if (x->hdrs == NULL ||
	    pal_http_parser_init(&x->hp, &st->http, x->hdrs, &err) < 0) {
		exchange_free(x);
		return -1;
	}
	*out = x;
	return 0;
}

/* Ends the exchange: record, counters, then the connection goes on. */
static void
finish(struct gw_exchange *x, int close)
{
	struct gw_conn *c = x->c;

	gw_checks_after(x);
	if (x->u != NULL) {
		gw_upstream_release(x->u, 0);
		x->u = NULL;
	}
	exchange_free(x);
	gw_conn_done(c, close);
}

void
gw_exchange_fail(struct gw_exchange *x, int status, const char *type,
		 const char *message, int close, uint32_t retry_after)
{
	struct evbuffer *out = evbuffer_new();

	x->status = status;
	if (x->reason[0] == '\0')
		gw_reason(x, message);
	if (out != NULL &&
	    gw_error_response(out, status, type, message, close || !x->keep_alive,
			      retry_after) == 0) {
		x->out_bytes += evbuffer_get_length(out);
		gw_conn_respond(x->c, out, 0);
	}
	evbuffer_free(out);
	finish(x, close || !x->keep_alive);
}

void
gw_exchange_refuse(struct gw_exchange *x, int status, const char *type,
		   const char *message)
{
	gw_exchange_fail(x, status, type, message, 1, 0);
}

void
gw_exchange_abort(struct gw_exchange *x)
{
	if (x->status == 0)
		x->status = 499;	/* the client went away */
	snprintf(x->reason, sizeof(x->reason), "client closed the "
		 "connection");
	x->c->x = NULL;
	gw_checks_after(x);
	exchange_free(x);
}

int
gw_exchange_head(struct gw_exchange *x, const uint8_t *buf, size_t len)
{
	struct pal_http_request req;
	struct pal_http_refusal ref = { 0 };
	struct pal_err err = { 0 };
	int rc = pal_http_request_parse(&x->hp, buf, len, &req, &ref, &err);

	if (rc == PAL_HTTP_MORE)
		return 1;
	if (rc < 0) {
		gw_metric_add(&x->c->w->srv->metrics, GW_M_REFUSED_HTTP, 1);
		gw_reason(x, err.msg);
		gw_exchange_refuse(x, ref.status ? ref.status : 400,
				   "invalid_request_error",
				   ref.reason ? ref.reason : "bad request");
		return -1;
	}
	gw_metric_add(&x->c->w->srv->metrics, GW_M_REQUESTS, 1);
	x->method = req.method;
	/* The connection's last request says so in its response. */
	x->keep_alive = req.keep_alive &&
		x->c->served + 1 <
			x->st->cfg->listen.limits.max_requests_per_connection;
	x->framing = req.framing;
	x->content_length = req.content_length;
	x->in_bytes = req.head_len;
	snprintf(x->path, sizeof(x->path), "%.*s", (int)req.path_len,
		 req.path);
	if (gw_checks_head(x, &req) < 0)
		return -1;
	if (req.expect_continue)
		evbuffer_add_printf(gw_conn_output(x->c),
				    "HTTP/1.1 100 Continue\r\n\r\n");
	/* The head's pointers die here. */
	evbuffer_drain(gw_conn_input(x->c), req.head_len);
	if (x->framing == PAL_HTTP_BODY_CHUNKED)
		pal_http_chunked_init(&x->chunked, x->st->http.max_body,
				      PAL_HTTP_FROM_CLIENT);
	return 0;
}

/* The whole body is here: check it and send it on. */
static void
body_complete(struct gw_exchange *x)
{
	const uint8_t *fwd = NULL;
	size_t fwd_len = 0;

	gw_conn_busy(x->c);
	if (gw_checks_body(x, &fwd, &fwd_len) < 0)
		return;
	gw_upstream_send(x, fwd, fwd_len);
}

/*
 * The body takers return 1 when more is needed, 0 when the body is
 * complete, -1 when it was refused (x is gone then).
 */
static int
body_length(struct gw_exchange *x, struct evbuffer *in)
{
	uint64_t left = x->content_length - x->body.len;
	size_t have = evbuffer_get_length(in);
	size_t take = have < left ? have : (size_t)left;

	if (take > 0) {
		if (pal_buf_append(&x->body,
				   evbuffer_pullup(in, (ev_ssize_t)take),
				   take) < 0) {
			gw_exchange_refuse(x, 413, "invalid_request_error",
					   "request body too large");
			return -1;
		}
		evbuffer_drain(in, take);
		x->in_bytes += take;
	}
	return x->body.len == x->content_length ? 0 : 1;
}

static int
body_chunked(struct gw_exchange *x, struct evbuffer *in)
{
	while (!pal_http_chunked_done(&x->chunked) &&
	       evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		const uint8_t *data;
		size_t used, data_len;
		struct pal_http_refusal ref = { 0 };
		struct pal_err err = { 0 };

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		if (pal_http_chunked_feed(&x->chunked, v.iov_base, v.iov_len,
					  &used, &data, &data_len, &ref,
					  &err) < 0 ||
		    (data_len > 0 &&
		     pal_buf_append(&x->body, data, data_len) < 0)) {
			gw_metric_add(&x->c->w->srv->metrics,
				      GW_M_REFUSED_HTTP, 1);
			gw_reason(x, err.msg[0] ? err.msg
						: "request body too large");
			gw_exchange_refuse(x, ref.status ? ref.status : 413,
					   "invalid_request_error",
					   ref.reason ? ref.reason
						      : "request body too large");
			return -1;
		}
		x->in_bytes += used;
		evbuffer_drain(in, used);
	}
	return pal_http_chunked_done(&x->chunked) ? 0 : 1;
}

int
gw_exchange_body(struct gw_exchange *x, struct evbuffer *in)
{
	int rc = 0;

	if (x->framing == PAL_HTTP_BODY_LENGTH)
		rc = body_length(x, in);
	else if (x->framing == PAL_HTTP_BODY_CHUNKED)
		rc = body_chunked(x, in);
	if (rc != 0)
		return rc > 0 ? 1 : 0;
	body_complete(x);
	return 0;
}

/* ---- the answer ---- */

void
gw_exchange_sent(struct gw_exchange *x, const void *p, size_t n)
{
	EVP_DigestUpdate(x->resp_md, p, n);
	if (x->st->payload_to != NULL) {
		size_t room = x->resp_copy.max - x->resp_copy.len;
		pal_buf_append(&x->resp_copy, p, n < room ? n : room);
		x->resp_total += n;
	}
}

static int
sse_emit(void *arg, const void *p, size_t n)
{
	struct gw_exchange *x = arg;
	struct evbuffer *out = gw_conn_output(x->c);

	if (n == 0)
		return 0;
	gw_exchange_sent(x, p, n);
	evbuffer_add_printf(out, "%zx\r\n", n);
	evbuffer_add(out, p, n);
	evbuffer_add(out, "\r\n", 2);
	x->out_bytes += n;
	if (x->u != NULL && evbuffer_get_length(out) > RESP_PAUSE)
		gw_upstream_pause(x->u, 1);
	return 0;
}

static int
is_event_stream(const struct pal_http_response *r)
{
	static const char ct[] = "text/event-stream";

	return r->content_type != NULL &&
	       r->content_type_len >= sizeof(ct) - 1 &&
	       strncasecmp(r->content_type, ct, sizeof(ct) - 1) == 0;
}

/* A streamed answer: the head goes out now, events as they come. */
static int
start_stream(struct gw_exchange *x, int status)
{
	struct pal_err err = { 0 };
	struct pal_gw_output_policy *pol = &x->st->cfg->output;

	if (pal_gw_sse_new(&x->sse, pol, &x->st->resp,
			   x->usage_added ? PAL_GW_SSE_DROP_USAGE : 0,
			   sse_emit, x, &err) < 0)
		return -1;
	gw_metric_add(&x->c->w->srv->metrics, GW_M_STREAMS, 1);
	x->status = status;
	x->head_sent = 1;
	put_head(gw_conn_output(x->c), status, "text/event-stream",
		 (size_t)-1, !x->keep_alive, 0);
	return 0;
}

int
gw_exchange_upstream_head(struct gw_exchange *x,
			  const struct pal_http_response *r)
{
	x->resp_md = EVP_MD_CTX_new();
	if (x->resp_md == NULL ||
	    EVP_DigestInit_ex(x->resp_md, EVP_sha256(), NULL) != 1)
		return -1;
	if (r->status >= 500) {
		/* The upstream's own error stays inside. */
		snprintf(x->reason, sizeof(x->reason), "upstream answered %d",
			 r->status);
		return -1;
	}
	if (r->status == 200 && x->stream && is_event_stream(r))
		return start_stream(x, r->status);
	x->status = r->status;
	return 0;
}

int
gw_exchange_upstream_data(struct gw_exchange *x, const uint8_t *p, size_t n)
{
	struct pal_err err = { 0 };

	if (x->sse != NULL) {
		if (pal_gw_sse_feed(x->sse, p, n, &err) < 0) {
			gw_reason(x, err.msg);
			return -1;
		}
		return 0;
	}
	if (pal_buf_append(&x->resp, p, n) < 0) {
		snprintf(x->reason, sizeof(x->reason), "upstream response "
			 "above %zu bytes", x->resp.max);
		return -1;
	}
	return 0;
}

/* A non-streamed answer, complete: filtered, then sent whole. */
static void
send_json(struct gw_exchange *x)
{
	struct evbuffer *out = gw_conn_output(x->c);
	struct pal_err err = { 0 };
	char *body = NULL;
	size_t len = 0;
	const void *send;

	if (pal_gw_resp_filter_json(x->resp.p ? x->resp.p : (uint8_t *)"",
				    x->resp.len, &x->st->cfg->output,
				    &x->st->resp, &x->usage, &body, &len,
				    &err) < 0) {
		gw_reason(x, err.msg);
		gw_metric_add(&x->c->w->srv->metrics, GW_M_UPSTREAM_ERRORS, 1);
		gw_exchange_fail(x, 502, "upstream_error",
				 "the model server's answer was not valid",
				 0, 0);
		return;
	}
	/* No filtered copy: nothing was stripped, the bytes go as they are. */
	send = body != NULL ? (const void *)body : (const void *)x->resp.p;
	if (body == NULL)
		len = x->resp.len;
	if (x->kind == PAL_GW_MODELS && x->status == 200) {
		/* Only the models this caller may use are listed. */
		char *mine = gw_checks_models(x, send, len, &len);
		free(body);
		body = mine;
		send = mine;
		if (mine == NULL) {
			gw_reason(x, "the upstream's model list is not one");
			gw_exchange_fail(x, 502, "upstream_error",
					 "the model server's answer was not "
					 "valid", 0, 0);
			return;
		}
	}
	gw_exchange_sent(x, send, len);
	put_head(out, x->status, "application/json", len, !x->keep_alive, 0);
	evbuffer_add(out, send, len);
	x->out_bytes += len;
	free(body);
	finish(x, !x->keep_alive);
}

void
gw_exchange_upstream_end(struct gw_exchange *x)
{
	struct pal_err err = { 0 };

	if (x->sse == NULL) {
		send_json(x);
		return;
	}
	if (pal_gw_sse_finish(x->sse, &err) < 0) {
		/* Half a stream went out: all that is left is to cut it. */
		gw_reason(x, err.msg);
		finish(x, 1);
		return;
	}
	pal_gw_sse_usage(x->sse, &x->usage);
	evbuffer_add(gw_conn_output(x->c), "0\r\n\r\n", 5);
	finish(x, !x->keep_alive);
}

void
gw_exchange_upstream_fail(struct gw_exchange *x, int timeout, const char *why)
{
	struct gw_metrics *m = &x->c->w->srv->metrics;

	if (x->reason[0] == '\0')
		gw_reason(x, why);
	gw_metric_add(m, timeout ? GW_M_UPSTREAM_TIMEOUTS
				 : GW_M_UPSTREAM_ERRORS, 1);
	if (x->head_sent) {
		/* Mid-stream: the client sees the stream cut. */
		x->status = timeout ? 504 : 502;
		finish(x, 1);
		return;
	}
	gw_exchange_fail(x, timeout ? 504 : 502,
			 timeout ? "upstream_timeout" : "upstream_error",
			 timeout ? "the model server did not answer in time"
				 : "the model server is unavailable", 0, 0);
}

void
gw_exchange_drained(struct gw_exchange *x)
{
	if (x->u != NULL)
		gw_upstream_pause(x->u, 0);
}
