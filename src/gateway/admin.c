/*
 * admin.c - the gateway's admin listener (gw_int.h, docs/gateway.md).
 *
 * A separate listener, mutual TLS only (the configuration refuses one
 * without a client CA, and the handshake fails without a certificate from
 * it), one request per connection:
 *
 *	GET  /health		liveness, the log's state, the generation
 *	GET  /metrics		Prometheus text
 *	GET  /keys		the keys (no secrets), blocks
 *	POST /block		{"key": ID} or {"network": CIDR}
 *	POST /unblock		the same
 *	POST /cut		{"key": ID}: close that key's connections
 *	POST /kill		stop all inbound traffic at once
 *	POST /resume		accept traffic again
 *	POST /reload		reload the configuration
 *
 * Every action is recorded in the log with the operator's certificate
 * name.  Blocks and cuts reach every worker at once (gw_server_sweep): a
 * kill closes every open connection, streams included, within the time
 * it takes each event loop to wake.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "palisade/apikey.h"
#include "palisade/encoding.h"
#include "palisade/gateway.h"
#include "gw_int.h"

#define ADMIN_BODY_MAX 4096
#define ADMIN_TIMEOUT_S 10

struct gw_admin {
	struct gw_server *s;
	struct pal_gw_server *g;
	struct evconnlistener *listener;
};

struct aconn {
	struct gw_admin *a;
	struct bufferevent *bev;
	struct pal_http_parser hp;
	struct pal_http_header hdrs[32];
	int done;
};

static void
aconn_free(struct aconn *c)
{
	bufferevent_free(c->bev);
	free(c);
}

static void
reply(struct aconn *c, int status, json_t *body)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	size_t len = text ? strlen(text) : 0;

	json_decref(body);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: "
			    "application/json\r\nContent-Length: %zu\r\n"
			    "Cache-Control: no-store\r\nConnection: close"
			    "\r\n\r\n", status, status < 300 ? "OK" : "Error",
			    len + 1);
	evbuffer_add(out, text ? text : "", len);
	evbuffer_add(out, "\n", 1);
	free(text);
	c->done = 1;
	bufferevent_disable(c->bev, EV_READ);
}

static void
error(struct aconn *c, int status, const char *msg)
{
	reply(c, status, json_pack("{s:s}", "error", msg));
}

static void
audit(struct aconn *c, const char *action, json_t *what)
{
	char who[7 + 65] = "?";
	struct gw_peer peer;

	/* The operator's certificate: its name, or its fingerprint. */
	if (gw_tls_peer(bufferevent_openssl_get_ssl(c->bev), &peer) == 0) {
		if (peer.has_cn) {
			snprintf(who, sizeof(who), "%s", peer.cn);
		} else {
			memcpy(who, "sha256:", 7);
			pal_hex_encode(peer.sha256, 32, who + 7);
		}
	}
	if (what == NULL)
		what = json_object();
	json_object_set_new(what, "action", json_string(action));
	json_object_set_new(what, "operator", json_string(who));
	if (c->a->s->log != NULL)
		gw_reqlog_submit(c->a->s->log, "serve.admin", NULL, what);
	else
		json_decref(what);
}

static json_t *
key_json(const struct pal_apikey_record *r, struct gw_blocks *b)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:b}", "id", r->id,
			 "owner", r->owner, "role", r->role, "created",
			 (json_int_t)r->created, "expires",
			 (json_int_t)r->expires, "revoked",
			 (json_int_t)r->revoked, "blocked",
			 gw_blocks_check(b, r->id, NULL));
}

/* The certificate identities configured, as blocks know them. */
static json_t *
clients_json(const struct pal_gw_config *cfg, struct gw_blocks *b)
{
	json_t *list = json_array();
	char id[40];

	for (size_t i = 0; list != NULL && i < cfg->n_clients; i++) {
		const struct pal_gw_client *cl = &cfg->clients[i];

		snprintf(id, sizeof(id), "cert:%s", cl->name);
		json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "id",
						      id, "role", cl->role,
						      "blocked",
						      gw_blocks_check(b, id,
								      NULL)));
	}
	return list;
}

/*
 * The keys of the store in force (never a secret), the certificate
 * identities, and the blocks.
 */
static json_t *
keys_json(struct gw_server *s, struct pal_err *e)
{
	struct gw_state *st = gw_server_state(s);
	struct pal_apikey_store *store = NULL;
	struct pal_apikey_record *v = NULL;
	size_t n = 0;
	json_t *list = NULL, *clients;
	int rc = pal_apikey_store_open(st->cfg->keys.store,
				       PAL_APIKEY_OPEN_READONLY, &store, e);

	if (rc == 0)
		rc = pal_apikey_list(store, &v, &n, e);
	if (rc == 0)
		list = json_array();
	for (size_t i = 0; list != NULL && i < n; i++)
		json_array_append_new(list, key_json(&v[i], s->blocks));
	free(v);
	pal_apikey_store_close(store);
	clients = list != NULL ? clients_json(st->cfg, s->blocks) : NULL;
	gw_state_unref(st);
	if (list == NULL || clients == NULL) {
		json_decref(list);
		json_decref(clients);
		return NULL;
	}
	return json_pack("{s:o, s:o, s:o}", "keys", list, "clients", clients,
			 "blocked", gw_blocks_json(s->blocks));
}

static void
get(struct aconn *c, const char *path)
{
	struct gw_server *s = c->a->s;

	if (strcmp(path, "/health") == 0) {
		struct gw_state *st = gw_server_state(s);
		int log_ok = s->log == NULL || gw_reqlog_ok(s->log);
		reply(c, log_ok ? 200 : 503,
		      json_pack("{s:s, s:b, s:b, s:I, s:I}", "status",
				log_ok ? "ok" : "log-failed", "log", log_ok,
				"killed", atomic_load(&s->killed),
				"generation", (json_int_t)st->generation,
				"open_connections",
				(json_int_t)atomic_load(
					&s->metrics.open_connections)));
		gw_state_unref(st);
	} else if (strcmp(path, "/metrics") == 0) {
		struct evbuffer *m = evbuffer_new();
		struct evbuffer *out = bufferevent_get_output(c->bev);
		gw_metrics_render(&s->metrics, m);
		evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\nContent-Type: "
				    "text/plain; version=0.0.4\r\n"
				    "Content-Length: %zu\r\nConnection: "
				    "close\r\n\r\n", evbuffer_get_length(m));
		evbuffer_add_buffer(out, m);
		evbuffer_free(m);
		c->done = 1;
	} else if (strcmp(path, "/keys") == 0) {
		struct pal_err e = { 0 };
		json_t *k = keys_json(s, &e);
		if (k != NULL)
			reply(c, 200, k);
		else
			error(c, 500, e.msg);
	} else {
		error(c, 404, "no such admin route");
	}
}

/* {"key": ID} or {"network": CIDR} from the body. */
static int
target(struct aconn *c, const uint8_t *body, size_t len, const char **key,
       struct pal_gw_cidr *net, json_t **doc)
{
	json_error_t je;
	const char *n = NULL;

	*key = NULL;
	*doc = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES,
			  &je);
	if (*doc == NULL || json_unpack(*doc, "{s?s, s?s !}", "key", key,
					"network", &n) != 0 ||
	    (*key == NULL) == (n == NULL)) {
		error(c, 400, "the body must be {\"key\": ID} or "
		      "{\"network\": CIDR}");
		return -1;
	}
	if (n != NULL && pal_gw_cidr_parse(n, strlen(n), net) != 0) {
		error(c, 400, "not a network in CIDR notation");
		return -1;
	}
	return 0;
}

static void
block(struct aconn *c, const uint8_t *body, size_t len, int on)
{
	struct gw_server *s = c->a->s;
	struct pal_gw_cidr net;
	const char *key;
	json_t *doc;
	int rc;

	if (target(c, body, len, &key, &net, &doc) < 0) {
		json_decref(doc);
		return;
	}
	rc = key ? gw_blocks_key(s->blocks, key, on)
		 : gw_blocks_net(s->blocks, &net, on);
	if (rc < 0) {
		json_decref(doc);
		error(c, 400, "block list full or key id too long");
		return;
	}
	if (on)
		gw_server_sweep(s);	/* their connections go now */
	audit(c, on ? "block" : "unblock", json_deep_copy(doc));
	reply(c, 200, json_pack("{s:s, s:b}", "result", on ? "blocked"
				: "unblocked", "changed", rc == 0));
	json_decref(doc);
}

static void
post(struct aconn *c, const char *path, const uint8_t *body, size_t len)
{
	struct gw_server *s = c->a->s;
	struct pal_err e = { 0 };

	if (strcmp(path, "/block") == 0 || strcmp(path, "/cut") == 0) {
		block(c, body, len, 1);
	} else if (strcmp(path, "/unblock") == 0) {
		block(c, body, len, 0);
	} else if (strcmp(path, "/kill") == 0) {
		atomic_store(&s->killed, 1);
		gw_server_sweep(s);
		audit(c, "kill", NULL);
		reply(c, 200, json_pack("{s:s}", "result", "killed"));
	} else if (strcmp(path, "/resume") == 0) {
		atomic_store(&s->killed, 0);
		gw_server_sweep(s);
		audit(c, "resume", NULL);
		reply(c, 200, json_pack("{s:s}", "result", "resumed"));
	} else if (strcmp(path, "/reload") == 0) {
		int rc = pal_gw_server_reload(c->a->g, &e);
		audit(c, "reload", json_pack("{s:b}", "ok", rc == 0));
		if (rc < 0)
			error(c, 422, e.msg);
		else
			reply(c, 200, json_pack("{s:s}", "result",
						"reloaded"));
	} else {
		error(c, 404, "no such admin route");
	}
}

static void
a_read(struct bufferevent *bev, void *arg)
{
	struct aconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	const uint8_t *p = evbuffer_pullup(in, -1);
	struct pal_http_request r;
	struct pal_http_refusal ref;
	char path[128];
	int rc;

	if (c->done)
		return;
	rc = pal_http_request_parse(&c->hp, p, len, &r, &ref, NULL);
	if (rc == PAL_HTTP_MORE)
		return;
	if (rc < 0) {
		error(c, ref.status ? ref.status : 400, ref.reason ? ref.reason
							 : "bad request");
		return;
	}
	if (r.framing == PAL_HTTP_BODY_CHUNKED) {
		error(c, 411, "send the body with Content-Length");
		return;
	}
	if (len - r.head_len < r.content_length)
		return;			/* the body is still coming */
	snprintf(path, sizeof(path), "%.*s", (int)r.path_len, r.path);
	if (r.method == PAL_HTTP_GET)
		get(c, path);
	else if (r.method == PAL_HTTP_POST)
		post(c, path, p + r.head_len, (size_t)r.content_length);
	else
		error(c, 405, "GET or POST");
}

static void
a_write(struct bufferevent *bev, void *arg)
{
	struct aconn *c = arg;

	(void)bev;
	if (c->done)
		aconn_free(c);
}

static void
a_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	aconn_free(arg);
}

static void
a_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
	 int salen, void *arg)
{
	struct gw_admin *a = arg;
	struct gw_state *st = gw_server_state(a->s);
	struct aconn *c = calloc(1, sizeof(*c));
	SSL *ssl = SSL_new(st->admin_tls);
	struct pal_http_limits lim;
	struct timeval to = { ADMIN_TIMEOUT_S, 0 };

	(void)l;
	(void)sa;
	(void)salen;
	gw_state_unref(st);
	pal_http_limits_default(&lim);
	lim.max_headers = 32;
	lim.max_body = ADMIN_BODY_MAX;
	if (c == NULL || ssl == NULL ||
	    pal_http_parser_init(&c->hp, &lim, c->hdrs, NULL) < 0) {
		SSL_free(ssl);
		free(c);
		close(fd);
		return;
	}
	c->a = a;
	c->bev = bufferevent_openssl_socket_new(evconnlistener_get_base(l),
						fd, ssl,
						BUFFEREVENT_SSL_ACCEPTING,
						BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		free(c);
		close(fd);
		return;
	}
	bufferevent_setcb(c->bev, a_read, a_write, a_event, c);
	bufferevent_set_timeouts(c->bev, &to, &to);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 64 * 1024);
	bufferevent_enable(c->bev, EV_READ);
}

int
gw_admin_start(struct gw_server *s, struct event_base *base,
	       struct pal_gw_server *g, struct gw_admin **out,
	       struct pal_err *e)
{
	struct gw_state *st = gw_server_state(s);
	const struct pal_gw_addr *addr = &st->cfg->admin.address;
	struct gw_admin *a = calloc(1, sizeof(*a));
	int rc = 0;

	*out = NULL;
	if (a == NULL) {
		gw_state_unref(st);
		return pal_err_set(e, PAL_ERR_NOMEM, "out of memory");
	}
	a->s = s;
	a->g = g;
	a->listener = evconnlistener_new_bind(base, a_accept, a,
					      LEV_OPT_CLOSE_ON_FREE |
					      LEV_OPT_REUSEABLE |
					      LEV_OPT_CLOSE_ON_EXEC, 64,
					      (const struct sockaddr *)&addr->sa,
					      (int)addr->salen);
	if (a->listener == NULL) {
		rc = pal_err_set(e, PAL_ERR_SYSTEM, "cannot listen on %s "
				 "(admin)", addr->text);
		free(a);
	} else {
		*out = a;
	}
	gw_state_unref(st);
	return rc;
}

void
gw_admin_stop(struct gw_admin *a)
{
	if (a == NULL)
		return;
	evconnlistener_free(a->listener);
	free(a);
}
