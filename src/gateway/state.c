/*
 * state.c - what a request is checked against, built whole (gw_int.h).
 *
 * A configuration becomes a state: its TLS contexts, its injection rules
 * compiled, its HTTP limits.  Everything is loaded before the state
 * exists, so that a reload whose certificate or rules fail leaves the old
 * state in force; once built it never changes, and it is freed when the
 * last request holding it ends.  (API keys change more often than the
 * configuration and are swapped on their own: server.c.)
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/inject.h"
#include "palisade/payload.h"
#include "exchange.h"
#include "gw_int.h"

int
gw_tls_context_cfg(const struct pal_gw_tls *t, SSL_CTX **out,
		   struct pal_err *e)
{
	struct gw_tls_files f = {
		.cert = t->cert,
		.key = t->key,
		.client_ca = t->client_ca,
		.client_required = t->client_auth == PAL_GW_CLIENT_AUTH_REQUIRE,
		.allow_tls12 = t->min_version == PAL_GW_TLS1_2,
	};

	return gw_tls_context(&f, out, e);
}

static void
state_free(struct gw_state *st)
{
	if (st == NULL)
		return;
	SSL_CTX_free(st->tls);
	SSL_CTX_free(st->admin_tls);
	pal_inject_rules_free(st->inject);
	pal_payload_recipient_free(st->payload_to);
	pal_gw_config_free(st->cfg);
	free(st);
}

static void
set_limits(struct gw_state *st)
{
	const struct pal_gw_listen_limits *l = &st->cfg->listen.limits;

	pal_http_limits_default(&st->http);
	st->http.max_head = l->max_header_bytes;
	if (st->http.max_target > st->http.max_head)
		st->http.max_target = st->http.max_head;
	st->http.max_headers = l->max_headers;
	st->http.max_body = l->max_body_bytes;
	st->resp.max_body = 16u << 20;
	st->resp.max_event = 1u << 20;
	st->resp.max_depth = 64;
}

int
gw_state_build(struct pal_gw_config *cfg, uint64_t generation,
	       struct gw_state **out, struct pal_err *e)
{
	struct gw_state *st = calloc(1, sizeof(*st));
	int rc;

	*out = NULL;
	if (st == NULL)
		return pal_err_set(e, PAL_ERR_NOMEM, "out of memory");
	atomic_init(&st->refs, 1);
	st->generation = generation;
	st->cfg = cfg;
	set_limits(st);
	rc = gw_tls_context_cfg(&cfg->listen.tls, &st->tls, e);
	if (rc == 0 && cfg->admin.enabled)
		rc = gw_tls_context_cfg(&cfg->admin.tls, &st->admin_tls, e);
	if (rc == 0 && cfg->injection.enabled)
		rc = cfg->injection.rules != NULL
			     ? pal_inject_rules_load(cfg->injection.rules,
						     &st->inject, e)
			     : pal_inject_rules_default(&st->inject, e);
	if (rc == 0 && cfg->log.payloads == PAL_GW_PAYLOADS_ENCRYPTED)
		rc = pal_payload_recipient_load(cfg->log.payload_key,
						&st->payload_to, e);
	if (rc < 0) {
		st->cfg = NULL;		/* the caller's still */
		state_free(st);
		return rc;
	}
	*out = st;
	return 0;
}

struct gw_state *
gw_state_ref(struct gw_state *st)
{
	atomic_fetch_add(&st->refs, 1);
	return st;
}

void
gw_state_unref(struct gw_state *st)
{
	if (st != NULL && atomic_fetch_sub(&st->refs, 1) == 1)
		state_free(st);
}

int
gw_route_kind(const struct gw_state *st, const struct pal_http_request *r)
{
	const struct pal_gw_config *cfg = st->cfg;
	const char *m = r->method == PAL_HTTP_GET ? "GET"
			: r->method == PAL_HTTP_POST ? "POST" : NULL;

	if (m == NULL || r->query != NULL)
		return -1;
	for (size_t i = 0; i < cfg->n_upstreams; i++) {
		const struct pal_gw_upstream *up = &cfg->upstreams[i];
		for (size_t k = 0; k < up->n_routes; k++) {
			const struct pal_gw_route *rt = &up->routes[k];
			if (strcmp(rt->method, m) == 0 &&
			    strlen(rt->path) == r->path_len &&
			    memcmp(rt->path, r->path, r->path_len) == 0)
				return (int)rt->kind;
		}
	}
	return -1;
}
