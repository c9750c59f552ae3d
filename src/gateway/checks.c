/*
 * checks.c - what a request must pass before the upstream sees it, and
 * what is counted and recorded after (exchange.h).
 *
 * In the head, cheapest and most decisive first: the kill switch and the
 * log (fail closed), the route allowlist (404: nothing else reaches the
 * upstream), a locked-out source, the API key (401), a blocked key or
 * network, the role, the request budget (429).  A refusal there closes
 * the connection, since the body it announced was not read.  In the
 * body: its syntax and fields (400/413), the role's grants and conditions
 * (403), the upstream serving the model (404), the injection rules (403
 * when blocking), the abuse signals.
 *
 * Messages to clients are short and say what to fix, never which key
 * exists or why a key failed (the log says that).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <openssl/evp.h>

#include "palisade/abuse.h"
#include "palisade/apikey.h"
#include "palisade/authz.h"
#include "palisade/encoding.h"
#include "palisade/inject.h"
#include "palisade/json_writer.h"
#include "palisade/lockout.h"
#include "palisade/payload.h"
#include "palisade/ratelimit.h"
#include "exchange.h"
#include "gw_int.h"

static struct gw_metrics *
metrics(struct gw_exchange *x)
{
	return &x->c->w->srv->metrics;
}

/* A refusal in the head: the body was not read, so the connection ends. */
static int
refuse_head(struct gw_exchange *x, enum gw_counter m, int status,
	    const char *type, const char *message, uint32_t retry_after)
{
	gw_metric_add(metrics(x), m, 1);
	gw_exchange_fail(x, status, type, message, 1, retry_after);
	return -1;
}

static int64_t
now_ms(void)
{
	return gw_now_us() / 1000;
}

/*
 * A failed authentication counts against its source, and against the key
 * when the id exists (so that guessing ids locks nothing real out); a
 * lock it starts is logged on its own.
 */
static void
count_failure(struct gw_exchange *x, const struct pal_apikey_result *res)
{
	struct gw_server *srv = x->c->w->srv;
	int known = res->status == PAL_APIKEY_WRONG_SECRET ||
		    res->status == PAL_APIKEY_REVOKED ||
		    res->status == PAL_APIKEY_EXPIRED;
	unsigned locked = pal_lockout_failure(srv->lockout,
					      &x->st->cfg->keys.lockout,
					      x->c->addr,
					      known ? res->id : NULL,
					      now_ms());

	if (locked != 0 && srv->log != NULL)
		gw_reqlog_submit(srv->log, "serve.lockout", NULL,
				 json_pack("{s:s, s:s, s:b, s:b}", "src",
					   x->c->addr_text, "key",
					   res->id[0] ? res->id : "-",
					   "source_locked",
					   (locked & PAL_LOCKOUT_SOURCE_LOCKED)
						   != 0,
					   "key_locked",
					   (locked & PAL_LOCKOUT_KEY_LOCKED)
						   != 0));
}

/* The identity's role, or a refusal when it is not configured. */
static int
take_role(struct gw_exchange *x, const char *role)
{
	x->role = pal_gw_config_role(x->st->cfg, role);
	if (x->role != NULL)
		return 0;
	snprintf(x->reason, sizeof(x->reason), "role '%s' is not configured",
		 role);
	return refuse_head(x, GW_M_REFUSED_AUTHZ, 403, "permission_error",
			   "this identity's role is not configured", 0);
}

/*
 * A request without an API key over a connection with a verified client
 * certificate: the configured client it matches is the identity.  A
 * certificate no client matches fails like a missing key, and counts
 * against its source.
 */
static int
check_certificate(struct gw_exchange *x)
{
	const struct gw_peer *p = x->c->peer;
	const struct pal_gw_client *cl;
	struct gw_server *srv = x->c->w->srv;
	char fp[65];

	cl = pal_gw_config_client(x->st->cfg, p->has_cn ? p->cn : NULL,
				  p->cn_len, p->sha256);
	if (cl == NULL) {
		pal_hex_encode(p->sha256, 32, fp);
		snprintf(x->reason, sizeof(x->reason), "client certificate "
			 "sha256:%s is no configured client", fp);
		(void)pal_lockout_failure(srv->lockout,
					  &x->st->cfg->keys.lockout,
					  x->c->addr, NULL, now_ms());
		return refuse_head(x, GW_M_REFUSED_AUTH, 401,
				   "authentication_error",
				   PAL_APIKEY_CLIENT_MESSAGE, 0);
	}
	snprintf(x->id, sizeof(x->id), "cert:%s", cl->name);
	snprintf(x->c->key_id, sizeof(x->c->key_id), "%s", x->id);
	if (take_role(x, cl->role) < 0)
		return -1;
	x->lim = x->role->limits;
	if (cl->limits_set & PAL_GW_LIMIT_RPM)
		x->lim.requests_per_minute = cl->limits.requests_per_minute;
	if (cl->limits_set & PAL_GW_LIMIT_TPM)
		x->lim.tokens_per_minute = cl->limits.tokens_per_minute;
	if (cl->limits_set & PAL_GW_LIMIT_BURST)
		x->lim.burst = cl->limits.burst;
	return 0;
}

static int
check_key(struct gw_exchange *x, const struct pal_http_request *req)
{
	struct pal_apikey_result res;
	struct pal_err err = { 0 };
	const struct pal_apikey_snapshot *snap =
		pal_apikey_view_refresh(&x->c->w->keys, x->c->w->srv->keys);
	int rc;

	if (snap == NULL)
		return refuse_head(x, GW_M_LOG_FAILED, 503,
				   "service_unavailable",
				   "the service has no keys loaded", 0);
	/*
	 * The exchange keeps the snapshot its key record lives in (the view
	 * may move on to a newer one while the request waits upstream); the
	 * view hands it out const, the reference count is not.
	 */
	x->keys = pal_apikey_snapshot_ref(
		(struct pal_apikey_snapshot *)(uintptr_t)snap);
	rc = pal_apikey_authenticate(x->keys, req->authorization,
					 req->authorization_len,
					 (int64_t)time(NULL), &res, &err);

	if (rc < 0) {
		snprintf(x->reason, sizeof(x->reason), "key %s: %s",
			 res.id[0] ? res.id : "-",
			 pal_apikey_status_name(res.status));
		snprintf(x->c->key_id, sizeof(x->c->key_id), "%s", res.id);
		count_failure(x, &res);
		return refuse_head(x, GW_M_REFUSED_AUTH, 401,
				   "authentication_error",
				   PAL_APIKEY_CLIENT_MESSAGE, 0);
	}
	x->key = res.record;
	snprintf(x->id, sizeof(x->id), "%s", res.record->id);
	snprintf(x->c->key_id, sizeof(x->c->key_id), "%s", res.record->id);
	if (take_role(x, res.record->role) < 0)
		return -1;
	pal_apikey_limits(res.record, &x->role->limits, &x->lim);
	return 0;
}

/*
 * Who asks: the API key when the request has one, else the connection's
 * client certificate when it has one, else nobody (401).
 */
static int
check_identity(struct gw_exchange *x, const struct pal_http_request *req)
{
	if (req->authorization == NULL && x->c->peer != NULL)
		return check_certificate(x);
	return check_key(x, req);
}

/* A source locked out after failed authentications, or blocked. */
static int
check_source(struct gw_exchange *x)
{
	struct gw_server *srv = x->c->w->srv;
	uint32_t retry = 0;

	if (pal_lockout_source_locked(srv->lockout, &x->st->cfg->keys.lockout,
				      x->c->addr, now_ms(), &retry)) {
		gw_reason(x, "source locked out after failed "
			  "authentications");
		return refuse_head(x, GW_M_REFUSED_LOCKOUT, 429,
				   "rate_limit_error",
				   "too many failed authentications", retry);
	}
	if (gw_blocks_check(srv->blocks, NULL, x->c->addr)) {
		gw_reason(x, "source network blocked");
		return refuse_head(x, GW_M_REFUSED_BLOCKED, 403,
				   "permission_error", "access blocked", 0);
	}
	return 0;
}

/*
 * The key: blocked, or over its request budget.  A key locked out by
 * failed attempts is not refused here: its id is public, so refusing the
 * right secret would let anyone lock its owner out; the attempts are
 * logged (count_failure) and their sources locked out (check_source).
 */
static int
check_standing(struct gw_exchange *x)
{
	struct gw_server *srv = x->c->w->srv;
	struct pal_ratelimit_verdict v;
	const char *id = x->id;

	if (gw_blocks_check(srv->blocks, id, NULL)) {
		gw_reason(x, "key blocked");
		return refuse_head(x, GW_M_REFUSED_BLOCKED, 403,
				   "permission_error", "access blocked", 0);
	}
	if (pal_ratelimit_admit(srv->limits, id, strlen(id), &x->lim,
				now_ms(), &v) < 0 || !v.allowed) {
		gw_reason(x, "rate limit");
		return refuse_head(x, GW_M_RATE_LIMITED, 429,
				   "rate_limit_error", "rate limit reached",
				   v.allowed ? 1 : v.retry_after);
	}
	x->charged = 1;
	return 0;
}

int
gw_checks_head(struct gw_exchange *x, const struct pal_http_request *req)
{
	struct gw_server *srv = x->c->w->srv;

	if (atomic_load(&srv->killed))
		return refuse_head(x, GW_M_REFUSED_BLOCKED, 503,
				   "service_unavailable",
				   "the service is stopped", 0);
	if (srv->log != NULL && !gw_reqlog_ok(srv->log))
		return refuse_head(x, GW_M_LOG_FAILED, 503,
				   "service_unavailable",
				   "the service cannot record requests", 0);
	x->kind = gw_route_kind(x->st, req);
	if (x->kind < 0)
		return refuse_head(x, GW_M_REFUSED_HTTP, 404,
				   "invalid_request_error", "no such route", 0);
	if (check_source(x) < 0 || check_identity(x, req) < 0 ||
	    check_standing(x) < 0)
		return -1;
	if (x->kind == PAL_GW_MODELS ? x->framing != PAL_HTTP_BODY_NONE
				     : x->framing == PAL_HTTP_BODY_NONE)
		return refuse_head(x, GW_M_REFUSED_HTTP, 400,
				   "invalid_request_error",
				   x->kind == PAL_GW_MODELS
					   ? "this route takes no body"
					   : "this route needs a JSON body", 0);
	if (x->kind != PAL_GW_MODELS &&
	    (req->content_type == NULL ||
	     req->content_type_len < 16 ||
	     strncasecmp(req->content_type, "application/json", 16) != 0))
		return refuse_head(x, GW_M_REFUSED_HTTP, 415,
				   "invalid_request_error",
				   "the body must be application/json", 0);
	return 0;
}

/* ---- the body ---- */

static int
refuse_body(struct gw_exchange *x, enum gw_counter m, int status,
	    const char *type, const char *message)
{
	gw_metric_add(metrics(x), m, 1);
	gw_exchange_fail(x, status, type, message, 0, 0);
	return -1;
}

static int
check_fields(struct gw_exchange *x, struct pal_gw_body *b)
{
	struct pal_err err = { 0 };
	int status = 400;
	const struct pal_gw_body_info *info;

	if (pal_gw_body_check(b, (enum pal_gw_route_kind)x->kind, x->body.p,
			      x->body.len, &x->st->cfg->body,
			      PAL_GW_BODY_FORCE_USAGE, &status, &err) < 0) {
		gw_reason(x, err.msg);
		return refuse_body(x, GW_M_REFUSED_BODY, status,
				   "invalid_request_error", err.msg);
	}
	info = pal_gw_body_info(b);
	snprintf(x->model, sizeof(x->model), "%.*s", (int)info->model_len,
		 info->model ? info->model : "");
	x->max_tokens = info->max_tokens;
	x->stream = info->stream;
	x->usage_added = info->usage_added;
	x->stripped = info->stripped;
	return 0;
}

static int
check_role(struct gw_exchange *x, struct pal_gw_body *b)
{
	struct pal_authz_request ar = {
		.route = (enum pal_gw_route_kind)x->kind,
		.model = x->kind == PAL_GW_MODELS ? NULL : x->model,
		.max_tokens = x->max_tokens ? (int64_t)x->max_tokens : -1,
		.now = (int64_t)time(NULL),
	};
	struct pal_authz_decision d;
	struct pal_err err = { 0 };

	memcpy(ar.addr, x->c->addr, sizeof(ar.addr));
	if (pal_authz_check(x->role, &ar, &d) < 0) {
		gw_reason(x, d.reason);
		return refuse_body(x, GW_M_REFUSED_AUTHZ,
				   d.status ? d.status : 403,
				   "permission_error", d.reason);
	}
	if (d.impose_max_tokens > 0 && x->kind != PAL_GW_MODELS &&
	    pal_gw_body_default_max_tokens(b, d.impose_max_tokens,
					   &err) < 0) {
		gw_reason(x, err.msg);
		return refuse_body(x, GW_M_REFUSED_BODY, 400,
				   "invalid_request_error", err.msg);
	}
	if (d.impose_max_tokens > 0)
		x->max_tokens = d.impose_max_tokens;
	return 0;
}

/* The upstream that serves the model, and serves it on this route. */
static int
check_upstream(struct gw_exchange *x)
{
	const struct pal_gw_config *cfg = x->st->cfg;
	const struct pal_gw_upstream *up;
	const char *method = x->method == PAL_HTTP_GET ? "GET" : "POST";

	up = x->kind == PAL_GW_MODELS ? &cfg->upstreams[0]
	     : pal_gw_config_upstream(cfg, x->model, strlen(x->model));
	if (up == NULL)
		return refuse_body(x, GW_M_REFUSED_AUTHZ, 404,
				   "invalid_request_error",
				   "no such model");
	for (size_t i = 0; i < up->n_routes; i++) {
		if ((int)up->routes[i].kind == x->kind &&
		    strcmp(up->routes[i].method, method) == 0 &&
		    strcmp(up->routes[i].path, x->path) == 0) {
			x->up = up;
			x->up_index = (size_t)(up - cfg->upstreams);
			return 0;
		}
	}
	return refuse_body(x, GW_M_REFUSED_HTTP, 404, "invalid_request_error",
			   "no such route for this model");
}

static enum pal_inject_role
inject_role(uint8_t role)
{
	switch (role) {
	case PAL_GW_TEXT_SYSTEM:
	case PAL_GW_TEXT_DEVELOPER: return PAL_INJECT_SYSTEM;
	case PAL_GW_TEXT_ASSISTANT: return PAL_INJECT_ASSISTANT;
	case PAL_GW_TEXT_TOOL: return PAL_INJECT_TOOL;
	default: return PAL_INJECT_USER;
	}
}

#define SCAN_SPANS 64

/* The prompt texts, as the injection rules and abuse signals read them. */
static size_t
prompt_spans(struct pal_gw_body *b, struct pal_inject_span *spans)
{
	const struct pal_gw_body_info *info = pal_gw_body_info(b);
	size_t n = 0;

	for (size_t i = 0; i < info->n_spans && n < SCAN_SPANS; i++)
		spans[n++] = (struct pal_inject_span){
			inject_role(info->spans[i].role), info->spans[i].p,
			info->spans[i].len };
	return n;
}

static int
scratch_ready(struct gw_exchange *x, struct pal_err *err)
{
	struct gw_worker *w = x->c->w;

	if (w->scratch == NULL)
		return pal_inject_scratch_new(x->st->inject, &w->scratch, err);
	return pal_inject_scratch_fit(w->scratch, x->st->inject, err);
}

static int
check_injection(struct gw_exchange *x, const struct pal_inject_span *spans,
		size_t n)
{
	const struct pal_gw_injection *cfg = &x->st->cfg->injection;
	struct pal_inject_result r;
	struct pal_err err = { 0 };

	if (x->st->inject == NULL || n == 0)
		return 0;
	if (scratch_ready(x, &err) < 0 ||
	    pal_inject_scan(x->st->inject, x->c->w->scratch, spans, n,
			    (uint64_t)cfg->threshold, &r, &err) < 0) {
		gw_reason(x, err.msg);
		return refuse_body(x, GW_M_REFUSED_INJECTION, 500,
				   "server_error", "the request could not be "
				   "checked");
	}
	x->inject_score = r.score;
	if (r.n_matches > 0 && x->flags == NULL)
		x->flags = json_array();
	for (size_t i = 0; i < r.n_matches && x->flags != NULL; i++)
		json_array_append_new(x->flags,
				      json_string(r.matches[i]->id));
	if (!r.reached)
		return 0;
	if (!cfg->block) {
		gw_metric_add(metrics(x), GW_M_FLAGGED_INJECTION, 1);
		return 0;
	}
	snprintf(x->reason, sizeof(x->reason), "prompt injection rules "
		 "scored %llu", (unsigned long long)r.score);
	return refuse_body(x, GW_M_REFUSED_INJECTION, 403, "permission_error",
			   "the request was refused by the prompt policy");
}

/*
 * The key's extraction and probing signals.  A signal that fires is
 * logged and posted to the webhook once per crossing; when the policy
 * blocks, the key is blocked at once (its open connections cut) and this
 * request refused.
 */
static int
check_abuse(struct gw_exchange *x, const struct pal_inject_span *spans,
	    size_t n)
{
	struct gw_server *srv = x->c->w->srv;
	const struct pal_gw_config *cfg = x->st->cfg;
	struct pal_abuse_verdict v;
	struct pal_err err = { 0 };
	struct pal_buf alert;

	if (srv->abuse == NULL ||
	    pal_abuse_observe(srv->abuse, x->id, (int64_t)time(NULL),
			      spans, n, &v, &err) < 0 || v.fired == 0)
		return 0;
	gw_metric_add(metrics(x), GW_M_ABUSE_ALERTS, 1);
	pal_buf_init(&alert, 1 << 16);
	if (pal_abuse_alert_json(x->id, &v, &alert, &err) == 0) {
		json_error_t je;
		json_t *d = json_loadb((const char *)alert.p, alert.len, 0, &je);
		if (d != NULL && srv->log != NULL)
			gw_reqlog_submit(srv->log, "serve.alert", NULL, d);
		else
			json_decref(d);
		if (cfg->abuse.webhook != NULL)
			gw_webhook_post(x->c->w->base, &cfg->abuse_webhook,
					(const char *)alert.p, alert.len);
	}
	pal_buf_free(&alert);
	if (!v.block)
		return 0;
	gw_blocks_key(srv->blocks, x->id, 1);
	gw_server_sweep(srv);
	gw_reason(x, "abuse signal: key blocked");
	return refuse_body(x, GW_M_REFUSED_BLOCKED, 403, "permission_error",
			   "access blocked");
}

static void
digest_prompt(struct gw_exchange *x)
{
	unsigned int n = 0;

	EVP_Digest(x->body.p ? x->body.p : (uint8_t *)"", x->body.len,
		   x->prompt_sha, &n, EVP_sha256(), NULL);
	x->digested = 1;
}

int
gw_checks_body(struct gw_exchange *x, const uint8_t **fwd, size_t *fwd_len)
{
	struct pal_gw_body *b = x->c->w->body;
	struct pal_inject_span spans[SCAN_SPANS];
	struct pal_err err = { 0 };
	size_t n;

	*fwd = NULL;
	*fwd_len = 0;
	digest_prompt(x);
	pal_gw_body_reset(b);
	if (x->kind != PAL_GW_MODELS && check_fields(x, b) < 0)
		return -1;
	if (check_role(x, b) < 0 || check_upstream(x) < 0)
		return -1;
	if (x->kind == PAL_GW_MODELS)
		return 0;
	n = prompt_spans(b, spans);
	if (check_injection(x, spans, n) < 0 || check_abuse(x, spans, n) < 0)
		return -1;
	if (pal_gw_body_output(b, fwd, fwd_len, &err) < 0) {
		gw_reason(x, err.msg);
		return refuse_body(x, GW_M_REFUSED_BODY, 500, "server_error",
				   "the request could not be rewritten");
	}
	if (*fwd == NULL) {
		*fwd = x->body.p;
		*fwd_len = x->body.len;
	}
	return 0;
}

/* ---- the model list ---- */

char *
gw_checks_models(struct gw_exchange *x, const void *body, size_t len,
		 size_t *out_len)
{
	json_error_t je;
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	json_t *data = json_object_get(doc, "data"), *keep = json_array();
	size_t i;
	json_t *m;
	char *out = NULL;

	if (json_is_array(data) && keep != NULL) {
		json_array_foreach(data, i, m) {
			const char *id = json_string_value(
				json_object_get(m, "id"));
			if (id != NULL && pal_authz_model_granted(x->role, id))
				json_array_append(keep, m);
		}
		if (json_object_set(doc, "data", keep) == 0)
			out = json_dumps(doc, JSON_COMPACT);
	}
	json_decref(keep);
	json_decref(doc);
	*out_len = out ? strlen(out) : 0;
	return out;
}

/* ---- after ---- */

static const char *const kind_names[] = {
	[PAL_GW_CHAT] = "chat", [PAL_GW_COMPLETION] = "completion",
	[PAL_GW_EMBEDDING] = "embedding", [PAL_GW_MODELS] = "models",
};

static void
count_status(struct gw_exchange *x)
{
	struct gw_metrics *m = metrics(x);

	if (x->status >= 200 && x->status < 300)
		gw_metric_add(m, GW_M_RESP_2XX, 1);
	else if (x->status >= 400 && x->status < 500)
		gw_metric_add(m, GW_M_RESP_4XX, 1);
	else if (x->status >= 500)
		gw_metric_add(m, GW_M_RESP_5XX, 1);
	gw_metric_add(m, GW_M_BYTES_IN, x->in_bytes);
	gw_metric_add(m, GW_M_BYTES_OUT, x->out_bytes);
	gw_metric_add(m, GW_M_TOKENS_PROMPT, x->usage.prompt_tokens);
	gw_metric_add(m, GW_M_TOKENS_COMPLETION, x->usage.completion_tokens);
}

static void
hex_digest(const uint8_t *d, char out[7 + 65])
{
	memcpy(out, "sha256:", 7);
	pal_hex_encode(d, 32, out + 7);
}

/*
 * The bodies themselves, sealed to the operator's key
 * (docs/formats/payload.md): the request as received and the response as
 * sent, bound to the record's digests of them.
 */
static void
seal_payload(struct gw_exchange *x, json_t *d)
{
	struct pal_payload_part p[2];
	struct pal_err err = { 0 };
	size_t n = 0;

	if (json_object_get(d, "request_sha256") != NULL)
		p[n++] = (struct pal_payload_part){ "request", x->body.p,
						    x->body.len, x->body.len };
	if (json_object_get(d, "response_sha256") != NULL)
		p[n++] = (struct pal_payload_part){ "response",
						    x->resp_copy.p,
						    x->resp_copy.len,
						    x->resp_total };
	if (n > 0 && pal_payload_record_seal(x->st->payload_to, d, p, n,
					     &err) < 0)
		json_object_set_new(d, "payload_error", json_string(err.msg));
}

/*
 * The record's details, written in one pass without a JSON tree (one
 * record per request: json_writer.h says why).
 */
static void
write_details(struct gw_exchange *x, int64_t us, struct pal_jw *w)
{
	char hex[7 + 65];
	uint8_t md[32];
	unsigned int n = 0;
	size_t i;
	json_t *f;

	pal_jw_string(w, "src", x->c->addr_text);
	pal_jw_string(w, "method", x->method == PAL_HTTP_GET ? "GET" : "POST");
	pal_jw_string(w, "path", x->path);
	pal_jw_int(w, "status", x->status);
	pal_jw_int(w, "in_bytes", (int64_t)x->in_bytes);
	pal_jw_int(w, "out_bytes", (int64_t)x->out_bytes);
	pal_jw_int(w, "us", us);
	if (x->id[0] != '\0')
		pal_jw_string(w, "key", x->id);
	else if (x->c->key_id[0] != '\0')
		pal_jw_string(w, "key_presented", x->c->key_id);
	if (x->kind >= 0)
		pal_jw_string(w, "route", kind_names[x->kind]);
	if (x->model[0] != '\0')
		pal_jw_string(w, "model", x->model);
	if (x->usage.present) {
		pal_jw_int(w, "prompt_tokens",
			   (int64_t)x->usage.prompt_tokens);
		pal_jw_int(w, "completion_tokens",
			   (int64_t)x->usage.completion_tokens);
	}
	if (x->digested && x->body.len > 0) {
		hex_digest(x->prompt_sha, hex);
		pal_jw_string(w, "request_sha256", hex);
	}
	if (x->resp_md != NULL &&
	    EVP_DigestFinal_ex(x->resp_md, md, &n) == 1) {
		hex_digest(md, hex);
		pal_jw_string(w, "response_sha256", hex);
	}
	if (x->stream)
		pal_jw_bool(w, "stream", 1);
	if (x->stripped)
		pal_jw_int(w, "stripped", x->stripped);
	if (x->flags != NULL) {
		pal_jw_array(w, "injection_rules");
		json_array_foreach(x->flags, i, f)
			pal_jw_string(w, NULL, json_string_value(f));
		pal_jw_close(w);
	}
	if (x->reason[0] != '\0')
		pal_jw_string(w, "reason", x->reason);
}

/*
 * With payloads sealed to an operator, the details become a tree after
 * all, since the payload is fitted into the room the rest leaves
 * (payload_record.c); that costs a public-key operation per request
 * anyway.
 */
static int
record_with_payload(struct gw_exchange *x, int64_t us, struct gw_reqlog *log)
{
	struct pal_buf b;
	struct pal_jw w;
	json_error_t je;
	json_t *d = NULL;

	pal_buf_init(&b, 65536);
	pal_jw_init(&w, &b);
	pal_jw_object(&w, NULL);
	write_details(x, us, &w);
	pal_jw_close(&w);
	if (pal_jw_error(&w) == 0)
		d = json_loadb((const char *)b.p, b.len, 0, &je);
	pal_buf_free(&b);
	if (d == NULL)
		return -1;
	seal_payload(x, d);
	return gw_reqlog_submit(log, "serve.request", NULL, d);
}

static void
record(struct gw_exchange *x, int64_t us)
{
	struct gw_reqlog *log = x->c->w->srv->log;
	struct pal_buf b;
	struct pal_jw w;
	int rc;

	if (log == NULL)
		return;
	if (x->st->payload_to != NULL) {
		rc = record_with_payload(x, us, log);
	} else if ((rc = gw_reqlog_begin(log, &w, &b, "serve.request")) == 0) {
		write_details(x, us, &w);
		rc = gw_reqlog_end(log, &w);
	}
	if (rc < 0)
		gw_metric_add(metrics(x), GW_M_LOG_FAILED, 1);
}

void
gw_checks_after(struct gw_exchange *x)
{
	int64_t us = gw_now_us() - x->t0_us;

	count_status(x);
	gw_metric_latency(metrics(x), (uint64_t)us);
	if (x->charged && x->usage.present)
		pal_ratelimit_charge(x->c->w->srv->limits, x->id,
				     strlen(x->id), &x->lim,
				     x->usage.total_tokens, now_ms());
	record(x, us);
}
