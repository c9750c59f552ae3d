/*
 * fuzz_gwconfig.c - the gateway's configuration reader, without file
 * checks (no file system call is made), relative paths joined to a
 * directory that does not exist.  Whatever the bytes: a parse either
 * fails with err set to its code, a message naming the file (unless
 * memory ran out) and no configuration; or it yields one that keeps every
 * promise of gwconfig.h: counts within their limits, names and paths
 * non-empty without control characters, values within their documented
 * ranges, the checks across sections holding (admin apart from the
 * public listener, prompts within bodies, roles within the gateway's
 * max_tokens, client_ca iff client certificates are asked for, a payload
 * key iff payloads are encrypted, one upstream at most without models and
 * no model served twice), upstreams on loopback or a Unix socket, routes
 * with their kind's method, networks without host bits, hours that are
 * not empty; and lookups that find what it holds.  The bytes are also
 * parsed as a network.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "palisade/gwconfig.h"

#define NAME "fuzz.yaml"
#define NOWHERE "/nonexistent/palisade-fuzz-gwconfig"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok)
{
	if (!ok)
		abort();
}

static void
check_string(const char *s, size_t max)
{
	size_t n;

	check(s != NULL);
	n = strlen(s);
	check(n > 0 && n <= max);
	for (size_t i = 0; i < n; i++)
		check((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

static void
check_tls(const struct pal_gw_tls *t)
{
	check_string(t->cert, PAL_GW_PATH_MAX - 1);
	check_string(t->key, PAL_GW_PATH_MAX - 1);
	check((t->client_ca != NULL) ==
	      (t->client_auth != PAL_GW_CLIENT_AUTH_NONE));
	if (t->client_ca != NULL)
		check_string(t->client_ca, PAL_GW_PATH_MAX - 1);
	check(t->min_version == PAL_GW_TLS1_2 ||
	      t->min_version == PAL_GW_TLS1_3);
}

static void
check_addr(const struct pal_gw_addr *a)
{
	check((a->sa.ss_family == AF_INET &&
	       a->salen == sizeof(struct sockaddr_in)) ||
	      (a->sa.ss_family == AF_INET6 &&
	       a->salen == sizeof(struct sockaddr_in6)));
	check(memchr(a->text, '\0', sizeof(a->text)) != NULL);
}

static void
check_listen(const struct pal_gw_config *c)
{
	const struct pal_gw_listen_limits *l = &c->listen.limits;

	check_addr(&c->listen.address);
	check_tls(&c->listen.tls);
	check(l->max_connections >= 1 && l->max_connections <= 1048576);
	check(l->max_header_bytes >= 1024 && l->max_header_bytes <= 1048576);
	check(l->max_headers >= 8 && l->max_headers <= 1024);
	check(l->max_body_bytes >= 1024 && l->max_body_bytes <= 64u << 20);
	check(l->max_requests_per_connection >= 1);
	check(l->header_timeout_ms >= 100 && l->body_timeout_ms >= 100 &&
	      l->idle_timeout_ms >= 100 && l->threads <= 1024);
	if (c->admin.enabled) {
		check_addr(&c->admin.address);
		check_tls(&c->admin.tls);
		check(c->admin.tls.client_auth == PAL_GW_CLIENT_AUTH_REQUIRE);
		check(strcmp(c->admin.address.text,
			     c->listen.address.text) != 0);
	}
}

static void
check_endpoint(const struct pal_gw_endpoint *e)
{
	if (e->is_unix) {
		const struct sockaddr_un *un = (const void *)&e->sa;

		check(un->sun_family == AF_UNIX);
		check(memchr(un->sun_path, '\0', sizeof(un->sun_path)) !=
		      NULL && un->sun_path[0] != '\0');
	} else if (e->sa.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&e->sa;

		check((ntohl(in->sin_addr.s_addr) >> 24) == 127);
		check(in->sin_port != 0);
	} else {
		const struct sockaddr_in6 *in6 = (const void *)&e->sa;

		check(e->sa.ss_family == AF_INET6);
		check(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
		check(in6->sin6_port != 0);
	}
	check(e->host[0] != '\0');
}

static void
check_upstream(const struct pal_gw_config *c, size_t i)
{
	const struct pal_gw_upstream *u = &c->upstreams[i];

	check_string(u->name, PAL_GW_NAME_MAX);
	check_string(u->url, PAL_GW_URL_MAX);
	check_endpoint(&u->endpoint);
	check(u->n_models <= PAL_GW_MAX_UPSTREAM_MODELS);
	check(u->n_routes >= 1 && u->n_routes <= PAL_GW_MAX_ROUTES);
	for (size_t k = 0; k < u->n_models; k++) {
		check_string(u->models[k], PAL_GW_MODEL_MAX);
		check(pal_gw_config_upstream(c, u->models[k],
					     strlen(u->models[k])) == u);
	}
	for (size_t k = 0; k < u->n_routes; k++) {
		const struct pal_gw_route *r = &u->routes[k];

		check(r->kind < PAL_GW_ROUTE_KINDS);
		check(strcmp(r->method, r->kind == PAL_GW_MODELS ? "GET" :
			     "POST") == 0);
		check_string(r->path, PAL_GW_ROUTE_PATH_MAX);
		check(r->path[0] == '/');
		for (size_t j = 0; j < k; j++)
			check(strcmp(u->routes[j].path, r->path) != 0);
	}
	for (size_t j = 0; j < i; j++) {
		check(strcmp(c->upstreams[j].name, u->name) != 0);
		check(c->upstreams[j].n_models > 0 || u->n_models > 0);
	}
}

static void
check_role(const struct pal_gw_config *c, size_t i)
{
	const struct pal_gw_role *r = &c->roles[i];

	check_string(r->name, PAL_GW_NAME_MAX);
	check(pal_gw_config_role(c, r->name) == r);
	check(r->n_models >= 1 && r->n_models <= PAL_GW_MAX_ROLE_MODELS);
	for (size_t k = 0; k < r->n_models; k++)
		check_string(r->models[k], PAL_GW_MODEL_MAX);
	check(r->routes != 0 &&
	      (r->routes & ~((1u << PAL_GW_ROUTE_KINDS) - 1)) == 0);
	if (r->has_hours)
		check(r->hours_from < 1440 && r->hours_to < 1440 &&
		      r->hours_from != r->hours_to);
	check(r->n_networks <= PAL_GW_MAX_NETWORKS);
	for (size_t k = 0; k < r->n_networks; k++) {
		check(r->networks[k].prefix <= 128);
		check(pal_gw_cidr_contains(&r->networks[k],
					   r->networks[k].addr));
	}
	if (r->max_tokens != 0 && c->body.max_tokens != 0)
		check(r->max_tokens <= c->body.max_tokens);
}

static void
check_policy(const struct pal_gw_config *c)
{
	const struct pal_gw_body_policy *b = &c->body;

	check(b->max_body == c->listen.limits.max_body_bytes);
	check(b->max_prompt >= 1 && b->max_prompt <= b->max_body);
	check(b->max_n >= 1 && b->max_n <= 128);
	check(b->temperature_max >= 0 && b->temperature_max <= 2);
	check(b->max_depth >= 4 && b->max_depth <= 256);
	check(b->unknown_fields <= PAL_GW_ALLOW && b->logprobs <= PAL_GW_ALLOW &&
	      b->top_logprobs <= PAL_GW_ALLOW &&
	      b->logit_bias <= PAL_GW_ALLOW && b->echo <= PAL_GW_ALLOW &&
	      b->n_many <= PAL_GW_ALLOW);
	check(c->output.n_strip <= PAL_GW_MAX_STRIP);
	for (size_t i = 0; i < c->output.n_strip; i++)
		check_string(c->output.strip[i], PAL_GW_NAME_MAX);
	check_string(c->keys.store, PAL_GW_PATH_MAX - 1);
	check(c->keys.lockout.failures <= 1000 &&
	      c->keys.lockout.window_s >= 1 && c->keys.lockout.lock_s >= 1);
	if (c->injection.rules != NULL)
		check_string(c->injection.rules, PAL_GW_PATH_MAX - 1);
	check(c->injection.threshold >= 1 &&
	      c->injection.threshold <= 1000000);
	check(c->injection.enabled || c->injection.block == 0);
	check(c->abuse.window_s >= 10 &&
	      c->abuse.near_dup_similarity >= 0.5 &&
	      c->abuse.near_dup_similarity <= 1);
	if (c->abuse.webhook != NULL) {
		check_string(c->abuse.webhook, PAL_GW_URL_MAX);
		check_endpoint(&c->abuse_webhook);
		check(!c->abuse_webhook.is_unix &&
		      c->abuse_webhook.path != NULL &&
		      c->abuse_webhook.path[0] == '/');
	}
	check_string(c->log.dir, PAL_GW_PATH_MAX - 1);
	check((c->log.payloads == PAL_GW_PAYLOADS_ENCRYPTED) ==
	      (c->log.payload_key != NULL));
}

/* The bytes as a network: if they are one, it holds its own address. */
static void
check_cidr(const uint8_t *data, size_t size)
{
	struct pal_gw_cidr c;

	if (pal_gw_cidr_parse((const char *)data, size < 64 ? size : 64,
			      &c) != 0)
		return;
	check(c.prefix <= 128 && pal_gw_cidr_contains(&c, c.addr));
	for (unsigned bit = c.prefix; bit < 128; bit++)
		check(!(c.addr[bit / 8] & (0x80u >> (bit % 8))));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_gw_config *c = (struct pal_gw_config *)&size;
	struct pal_err err;
	int rc;

	check_cidr(data, size);
	pal_err_clear(&err);
	rc = pal_gw_config_parse(data, size, NAME, NOWHERE, 0, &c, &err);
	if (rc != 0) {
		check(c == NULL && err.code == rc);
		check(rc == PAL_ERR_NOMEM || rc == PAL_ERR_LIMIT ||
		      strncmp(err.msg, NAME ":", strlen(NAME) + 1) == 0);
		return 0;
	}
	check(c != NULL && strcmp(c->name, NAME) == 0);
	check_listen(c);
	check(c->n_upstreams >= 1 && c->n_upstreams <= PAL_GW_MAX_UPSTREAMS);
	for (size_t i = 0; i < c->n_upstreams; i++)
		check_upstream(c, i);
	check(c->n_roles >= 1 && c->n_roles <= PAL_GW_MAX_ROLES);
	for (size_t i = 0; i < c->n_roles; i++)
		check_role(c, i);
	check_policy(c);
	pal_gw_config_free(c);
	return 0;
}
