/*
 * config_upstream.c - the model servers of the gateway's configuration:
 * where each is, its timeouts and pool, the models it serves and the
 * routes (method, exact path, kind) the gateway passes to it.
 *
 * Upstreams are spoken to in plain HTTP, so they must be on this machine:
 * a loopback literal (127.0.0.0/8, [::1]) or a Unix socket.  A name such
 * as "localhost" is refused because it resolves through files an
 * attacker may be able to change; another host is refused because the
 * prompts and the answers would cross a network in clear.  The webhook of
 * the abuse signals follows the same rule, for the same reason.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config_int.h"

#define DEFAULT_CONNECT_MS 2000
#define DEFAULT_READ_MS 60000
#define DEFAULT_MAX_IDLE 32

/* ---------------------------------------------------------------------
 * Endpoints.
 */

/* "[::1]" or "127.x.y.z", then ":port", up to end; into e. */
static int
loopback_host_port(const char *s, const char *end,
		   struct pal_gw_endpoint *e)
{
	char host[INET6_ADDRSTRLEN], text[64];
	const char *close, *colon;
	unsigned port = 0;
	size_t n;
	int v6 = s[0] == '[';

	if (v6) {
		if ((close = memchr(s, ']', (size_t)(end - s))) == NULL)
			return PAL_ERR_FORMAT;
		colon = close + 1;
		s++;
	} else {
		close = memchr(s, ':', (size_t)(end - s));
		colon = close;
	}
	if (close == NULL || colon >= end || *colon != ':' ||
	    (n = (size_t)(close - s)) == 0 || n >= sizeof(host))
		return PAL_ERR_FORMAT;
	memcpy(host, s, n);
	host[n] = '\0';
	/* The port: 1 to 65535 in decimal without a leading zero. */
	if (end - colon < 2 || end - colon > 6 || colon[1] == '0')
		return PAL_ERR_FORMAT;
	for (const char *p = colon + 1; p < end; p++) {
		if (*p < '0' || *p > '9')
			return PAL_ERR_FORMAT;
		port = port * 10 + (unsigned)(*p - '0');
	}
	if (port > 65535)
		return PAL_ERR_FORMAT;
	snprintf(text, sizeof(text), v6 ? "[%s]:%u" : "%s:%u", host, port);
	if (v6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&e->sa;

		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return PAL_ERR_FORMAT;
		if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return PAL_ERR_POLICY;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		e->salen = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&e->sa;

		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return PAL_ERR_FORMAT;
		if ((ntohl(in->sin_addr.s_addr) >> 24) != 127)
			return PAL_ERR_POLICY;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		e->salen = sizeof(*in);
	}
	memcpy(e->host, text, strlen(text) + 1);
	return 0;
}

/* A URL path: '/' then printable ASCII without space, quotes or '#'. */
static int
url_path_ok(const char *p)
{
	if (p[0] != '/')
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("\"<>\\^`{|}#", *p))
			return 0;
	return 1;
}

static int
unix_endpoint(struct pal_yaml *y, const char *path, struct pal_gw_endpoint *e)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&e->sa;
	char *full;
	size_t n;
	int rc;

	if (path[0] == '\0')
		return PAL_ERR_FORMAT;
	rc = gwc_resolve(GWC(y)->base_dir, path, &full);
	if (rc == PAL_ERR_NOMEM)
		return pal_yaml_nomem(y);
	n = rc == 0 ? strlen(full) : PAL_GW_PATH_MAX;
	if (n >= sizeof(un->sun_path)) {
		free(full);
		return pal_yaml_fail_path(y, &y->ev.start_mark, "the socket "
					  "path is longer than %zu bytes once "
					  "resolved", sizeof(un->sun_path) - 1);
	}
	e->is_unix = 1;
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, full, n + 1);
	e->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	memcpy(e->host, "localhost", sizeof("localhost"));
	free(full);
	return 0;
}

int
gwc_endpoint(struct pal_yaml *y, const char *url, int webhook,
	     struct pal_gw_endpoint *e)
{
	const char *hp, *slash;
	int rc;

	memset(e, 0, sizeof(*e));
	if (!webhook && strncmp(url, "unix:", 5) == 0) {
		if ((rc = unix_endpoint(y, url + 5, e)) != PAL_ERR_FORMAT)
			return rc;
	} else if (strncmp(url, "http://", 7) == 0) {
		hp = url + 7;
		slash = strchr(hp, '/');
		if (slash == NULL)
			slash = hp + strlen(hp);
		rc = loopback_host_port(hp, slash, e);
		if (rc == PAL_ERR_POLICY)
			return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' "
						  "is not on loopback: the "
						  "gateway speaks plain HTTP "
						  "to it, so only 127.0.0.0/8 "
						  "and [::1]%s are allowed",
						  pal_yaml_shown(y), webhook ?
						  "" : " (or a Unix socket)");
		if (rc == 0 && webhook && *slash != '\0' && !url_path_ok(slash))
			rc = PAL_ERR_FORMAT;
		if (rc == 0 && !webhook && *slash != '\0' &&
		    strcmp(slash, "/") != 0)
			return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' "
						  "has a path: routes name the "
						  "paths, the URL only where "
						  "the server is",
						  pal_yaml_shown(y));
		if (rc == 0 && webhook &&
		    (e->path = strdup(*slash != '\0' ? slash : "/")) == NULL)
			return pal_yaml_nomem(y);
		if (rc == 0)
			return 0;
	}
	return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' is not %s",
				  pal_yaml_shown(y), webhook ?
				  "http://127.0.0.1:PORT/PATH or "
				  "http://[::1]:PORT/PATH" :
				  "http://127.0.0.1:PORT, http://[::1]:PORT "
				  "or unix:/path/to/socket");
}

/* ---------------------------------------------------------------------
 * Routes.
 */

static const char *const kind_names[] = {
	"chat", "completion", "embedding", "models",
};

static const struct {
	const char *method, *path;
} kind_routes[PAL_GW_ROUTE_KINDS] = {
	{ "POST", "/v1/chat/completions" },
	{ "POST", "/v1/completions" },
	{ "POST", "/v1/embeddings" },
	{ "GET", "/v1/models" },
};

struct route_read {
	struct pal_gw_route *r;
	int have_method;
	yaml_mark_t method_at;
};

static int
parse_method(struct pal_yaml *y, void *obj)
{
	static const char *const names[] = { "GET", "POST" };
	struct route_read *rr = obj;
	int v, rc;

	rr->have_method = 1;
	rr->method_at = y->ev.start_mark;
	if ((rc = pal_yaml_enum(y, NULL, names, 2, &v)) == 0)
		memcpy(rr->r->method, names[v], strlen(names[v]) + 1);
	return rc;
}

/*
 * An exact path: '/' and segments of unreserved characters, none empty,
 * "." or "..", no query: a request matches it byte for byte or not at
 * all.
 */
static int
route_path_ok(const char *p)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~";
	size_t n;

	if (*p != '/')
		return 0;
	while (*p == '/') {
		p++;
		n = strspn(p, ok);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
	}
	return *p == '\0';
}

static int
parse_route_path(struct pal_yaml *y, void *obj)
{
	struct route_read *rr = obj;
	int rc;

	if ((rc = gwc_string(y, PAL_GW_ROUTE_PATH_MAX, &rr->r->path)) != 0)
		return rc;
	if (!route_path_ok(rr->r->path))
		return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' is not "
					  "an exact path such as "
					  "/v1/chat/completions (segments of "
					  "letters, digits, '-', '.', '_', "
					  "'~'; no query)", pal_yaml_shown(y));
	return 0;
}

static int
parse_kind(struct pal_yaml *y, void *obj)
{
	struct route_read *rr = obj;
	int v, rc;

	if ((rc = pal_yaml_enum(y, NULL, kind_names, PAL_GW_ROUTE_KINDS,
				&v)) == 0)
		rr->r->kind = (enum pal_gw_route_kind)v;
	return rc;
}

static int
route_item(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "method", parse_method, NULL },
		{ "path", parse_route_path, "missing 'path'" },
		{ "kind", parse_kind, "missing 'kind' (chat, completion, "
		  "embedding or models)" },
	};
	struct pal_gw_upstream *u = obj;
	struct route_read rr = { 0 };
	yaml_mark_t at = y->ev.start_mark;
	const char *want;
	void *v = u->routes;
	int rc;

	if ((rc = pal_yaml_grow(y, &v, u->n_routes, sizeof(*u->routes))) != 0)
		return rc;
	u->routes = v;
	rr.r = &u->routes[u->n_routes++];
	if ((rc = pal_yaml_mapping(y, fields, NF(fields), NULL, &rr)) != 0)
		return rc;
	want = kind_routes[rr.r->kind].method;
	if (!rr.have_method)
		memcpy(rr.r->method, want, strlen(want) + 1);
	else if (strcmp(rr.r->method, want) != 0)
		return pal_yaml_fail(y, &rr.method_at, "%s.method: a %s route "
				     "is %s", pal_yaml_path(y),
				     kind_names[rr.r->kind], want);
	for (size_t i = 0; i + 1 < u->n_routes; i++)
		if (strcmp(u->routes[i].path, rr.r->path) == 0)
			return pal_yaml_fail_path(y, &at, "%s %s is listed "
						  "twice", rr.r->method,
						  rr.r->path);
	return 0;
}

static int
parse_routes(struct pal_yaml *y, void *obj)
{
	struct pal_gw_upstream *u = obj;
	yaml_mark_t at = y->ev.start_mark;
	size_t n;
	int rc;

	rc = pal_yaml_list(y, NULL, PAL_GW_MAX_ROUTES, route_item, u, &n);
	if (rc == 0 && n == 0)
		rc = pal_yaml_fail_path(y, &at, "is empty (leave it out for "
					"the four OpenAI routes)");
	return rc;
}

/* The four OpenAI routes, for an upstream that lists none. */
static int
default_routes(struct pal_yaml *y, struct pal_gw_upstream *u)
{
	u->routes = calloc(PAL_GW_ROUTE_KINDS, sizeof(*u->routes));
	if (u->routes == NULL)
		return pal_yaml_nomem(y);
	for (int k = 0; k < PAL_GW_ROUTE_KINDS; k++) {
		struct pal_gw_route *r = &u->routes[u->n_routes];

		memcpy(r->method, kind_routes[k].method,
		       strlen(kind_routes[k].method) + 1);
		r->kind = (enum pal_gw_route_kind)k;
		if ((r->path = strdup(kind_routes[k].path)) == NULL)
			return pal_yaml_nomem(y);
		u->n_routes++;
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Upstreams.
 */

static int
parse_name(struct pal_yaml *y, void *obj)
{
	struct pal_gw_upstream *u = obj;
	const struct pal_gw_config *c = GWC(y)->cfg;
	int rc;

	if ((rc = gwc_name(y, &u->name)) != 0)
		return rc;
	for (size_t i = 0; i + 1 < c->n_upstreams; i++)
		if (strcmp(c->upstreams[i].name, u->name) == 0)
			return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' "
						  "is the name of upstreams[%zu]"
						  " already", u->name, i);
	return 0;
}

static int
parse_url(struct pal_yaml *y, void *obj)
{
	struct pal_gw_upstream *u = obj;
	int rc;

	if ((rc = gwc_string(y, PAL_GW_URL_MAX, &u->url)) != 0)
		return rc;
	return gwc_endpoint(y, u->url, 0, &u->endpoint);
}

static int
parse_connect_timeout(struct pal_yaml *y, void *obj)
{
	struct pal_gw_upstream *u = obj;

	return gwc_u32(y, 10, 60000, &u->connect_timeout_ms);
}

static int
parse_read_timeout(struct pal_yaml *y, void *obj)
{
	struct pal_gw_upstream *u = obj;

	return gwc_u32(y, 100, 3600000, &u->read_timeout_ms);
}

static int
parse_max_idle(struct pal_yaml *y, void *obj)
{
	struct pal_gw_upstream *u = obj;

	return gwc_u32(y, 0, 1024, &u->max_idle);
}

/* An exact model name: printable ASCII, no space, quote or glob. */
static int
model_name_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 0x7f || strchr("\"\\*?[]", *s))
			return 0;
	return 1;
}

static int
model_item(struct pal_yaml *y, void *obj)
{
	struct pal_gw_upstream *u = obj;
	const struct pal_gw_config *c = GWC(y)->cfg;
	char *m;
	int rc;

	if ((rc = gwc_string(y, PAL_GW_MODEL_MAX, &m)) != 0)
		return rc;
	if (!model_name_ok(m)) {
		free(m);
		return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' is not "
					  "a model name (printable, without "
					  "spaces, quotes or glob "
					  "characters)", pal_yaml_shown(y));
	}
	/* The upstream being read is the last one. */
	for (size_t i = 0; i < c->n_upstreams; i++)
		for (size_t k = 0; k < c->upstreams[i].n_models; k++)
			if (strcmp(c->upstreams[i].models[k], m) == 0) {
				free(m);
				return pal_yaml_fail_path(
					y, &y->ev.start_mark, "model '%s' is "
					"listed by upstreams[%zu] already",
					pal_yaml_shown(y), i);
			}
	return pal_yaml_push_string(y, &u->models, &u->n_models, m);
}

static int
parse_models(struct pal_yaml *y, void *obj)
{
	yaml_mark_t at = y->ev.start_mark;
	size_t n;
	int rc;

	rc = pal_yaml_list(y, NULL, PAL_GW_MAX_UPSTREAM_MODELS, model_item,
			   obj, &n);
	if (rc == 0 && n == 0)
		rc = pal_yaml_fail_path(y, &at, "is empty (leave it out to "
					"serve every model)");
	return rc;
}

static int
upstream_item(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "name", parse_name, "missing 'name'" },
		{ "url", parse_url, "missing 'url' (http://127.0.0.1:PORT or "
		  "unix:/path)" },
		{ "connect_timeout_ms", parse_connect_timeout, NULL },
		{ "read_timeout_ms", parse_read_timeout, NULL },
		{ "max_idle", parse_max_idle, NULL },
		{ "models", parse_models, NULL },
		{ "routes", parse_routes, NULL },
	};
	struct gwc *g = GWC(y);
	struct pal_gw_config *c = g->cfg;
	yaml_mark_t at = y->ev.start_mark;
	struct pal_gw_upstream *u;
	void *v = c->upstreams;
	int rc;

	(void)obj;
	if ((rc = pal_yaml_grow(y, &v, c->n_upstreams,
				sizeof(*c->upstreams))) != 0)
		return rc;
	c->upstreams = v;
	u = &c->upstreams[c->n_upstreams++];
	u->connect_timeout_ms = DEFAULT_CONNECT_MS;
	u->read_timeout_ms = DEFAULT_READ_MS;
	u->max_idle = DEFAULT_MAX_IDLE;
	if ((rc = pal_yaml_mapping(y, fields, NF(fields), NULL, u)) != 0)
		return rc;
	if (u->n_routes == 0 && (rc = default_routes(y, u)) != 0)
		return rc;
	if (u->n_models == 0) {
		if (g->catch_all != 0)
			return pal_yaml_fail_path(y, &at, "lists no models, "
						  "and neither does "
						  "upstreams[%d]: only one "
						  "upstream may serve every "
						  "model", g->catch_all - 1);
		g->catch_all = (int)c->n_upstreams;
	}
	return 0;
}

int
gwc_parse_upstreams(struct pal_yaml *y, void *obj)
{
	yaml_mark_t at = y->ev.start_mark;
	size_t n;
	int rc;

	rc = pal_yaml_list(y, NULL, PAL_GW_MAX_UPSTREAMS, upstream_item, obj,
			   &n);
	if (rc == 0 && n == 0)
		rc = pal_yaml_fail_path(y, &at, "is empty (name at least one "
					"model server)");
	return rc;
}
