/*
 * config_policy.c - the policy sections of the gateway's configuration:
 * the key store and lockout, request bodies and output minimization,
 * response fields stripped, prompt-injection rules, abuse signals and the
 * log; and the defaults of every section (docs/config.md).
 *
 * The defaults are the secure ones: fields that widen what a response
 * reveals (logprobs, top_logprobs, logit_bias, echo, n > 1) and fields the
 * gateway does not know are refused, system_fingerprint and choice
 * logprobs are stripped, the built-in injection rules block, abuse
 * signals alert, failed authentication locks out.
 */
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

void
gwc_defaults(struct pal_gw_config *c)
{
	struct pal_gw_listen_limits *l = &c->listen.limits;
	struct pal_gw_body_policy *b = &c->body;

	(void)gwc_addr_parse("127.0.0.1:8443", &c->listen.address);
	c->listen.tls.min_version = PAL_GW_TLS1_3;
	l->max_connections = 4096;
	l->max_header_bytes = 16384;
	l->max_headers = 64;
	l->max_body_bytes = 1u << 20;
	l->max_requests_per_connection = 1000;
	l->header_timeout_ms = 10000;
	l->body_timeout_ms = 30000;
	l->idle_timeout_ms = 60000;
	l->threads = 0;
	(void)gwc_addr_parse("127.0.0.1:8444", &c->admin.address);
	c->admin.tls.min_version = PAL_GW_TLS1_3;
	c->admin.tls.client_auth = PAL_GW_CLIENT_AUTH_REQUIRE;
	c->keys.lockout.failures = 10;
	c->keys.lockout.window_s = 60;
	c->keys.lockout.lock_s = 300;
	b->max_body = l->max_body_bytes;
	b->max_prompt = 256u << 10;
	b->max_messages = 256;
	b->max_tokens = 8192;
	b->max_n = 4;
	b->temperature_max = 2.0;
	b->max_stop = 4;
	b->max_tools = 128;
	b->max_depth = 32;
	b->unknown_fields = PAL_GW_REFUSE;
	b->logprobs = b->top_logprobs = b->logit_bias = PAL_GW_REFUSE;
	b->echo = b->n_many = PAL_GW_REFUSE;
	c->output.strip_choice_logprobs = 1;
	c->injection.enabled = 1;
	c->injection.block = 1;
	c->injection.threshold = 100;
	c->abuse.window_s = 600;
	c->abuse.max_rate = 1000;
	c->abuse.near_dup_count = 50;
	c->abuse.near_dup_similarity = 0.9;
	c->abuse.variation_count = 50;
	c->log.payloads = PAL_GW_PAYLOADS_NONE;
}

/* ---------------------------------------------------------------------
 * keys
 */

static int
parse_store(struct pal_yaml *y, void *obj)
{
	struct pal_gw_keys *k = obj;

	return gwc_path(y, GWC_STORE, &k->store);
}

static int
parse_failures(struct pal_yaml *y, void *obj)
{
	struct pal_gw_lockout *l = obj;

	return gwc_u32(y, 0, 1000, &l->failures);
}

static int
parse_window(struct pal_yaml *y, void *obj)
{
	struct pal_gw_lockout *l = obj;

	return gwc_u32(y, 1, 86400, &l->window_s);
}

static int
parse_lock(struct pal_yaml *y, void *obj)
{
	struct pal_gw_lockout *l = obj;

	return gwc_u32(y, 1, 604800, &l->lock_s);
}

static int
parse_lockout(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "failures", parse_failures, NULL },
		{ "window_s", parse_window, NULL },
		{ "lock_s", parse_lock, NULL },
	};
	struct pal_gw_keys *k = obj;

	return pal_yaml_mapping(y, fields, NF(fields), NULL, &k->lockout);
}

int
gwc_parse_keys(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "store", parse_store, "missing 'store' (the SQLite key "
		  "store)" },
		{ "lockout", parse_lockout, NULL },
	};

	(void)obj;
	return pal_yaml_mapping(y, fields, NF(fields), NULL,
				&GWC(y)->cfg->keys);
}

/* ---------------------------------------------------------------------
 * requests
 */

#define BODY_U32(fn, member, min, max)					\
	static int							\
	fn(struct pal_yaml *y, void *obj)				\
	{								\
		struct pal_gw_body_policy *b = obj;			\
									\
		return gwc_u32(y, min, max, &b->member);		\
	}

BODY_U32(parse_max_messages, max_messages, 1, 100000)
BODY_U32(parse_max_tokens, max_tokens, 0, 10000000)
BODY_U32(parse_max_n, max_n, 1, 128)
BODY_U32(parse_max_stop, max_stop, 0, 64)
BODY_U32(parse_max_tools, max_tools, 0, 1024)
BODY_U32(parse_max_depth, max_depth, 4, 256)

#define BODY_ACTION(fn, member)						\
	static int							\
	fn(struct pal_yaml *y, void *obj)				\
	{								\
		struct pal_gw_body_policy *b = obj;			\
									\
		return gwc_action(y, &b->member);			\
	}

BODY_ACTION(parse_unknown_fields, unknown_fields)
BODY_ACTION(parse_logprobs, logprobs)
BODY_ACTION(parse_top_logprobs, top_logprobs)
BODY_ACTION(parse_logit_bias, logit_bias)
BODY_ACTION(parse_echo, echo)
BODY_ACTION(parse_n, n_many)

static int
parse_max_prompt(struct pal_yaml *y, void *obj)
{
	struct pal_gw_body_policy *b = obj;
	struct gwc *g = GWC(y);
	uint32_t v;
	int rc;

	g->have_prompt = 1;
	g->prompt_at = y->ev.start_mark;
	if ((rc = gwc_u32(y, 1, 64u << 20, &v)) == 0)
		b->max_prompt = v;
	return rc;
}

static int
parse_temperature(struct pal_yaml *y, void *obj)
{
	struct pal_gw_body_policy *b = obj;

	return pal_yaml_number(y, NULL, 0, 2, &b->temperature_max);
}

int
gwc_parse_requests(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "max_prompt_bytes", parse_max_prompt, NULL },
		{ "max_messages", parse_max_messages, NULL },
		{ "max_tokens", parse_max_tokens, NULL },
		{ "max_n", parse_max_n, NULL },
		{ "temperature_max", parse_temperature, NULL },
		{ "max_stop", parse_max_stop, NULL },
		{ "max_tools", parse_max_tools, NULL },
		{ "max_depth", parse_max_depth, NULL },
		{ "unknown_fields", parse_unknown_fields, NULL },
		{ "logprobs", parse_logprobs, NULL },
		{ "top_logprobs", parse_top_logprobs, NULL },
		{ "logit_bias", parse_logit_bias, NULL },
		{ "echo", parse_echo, NULL },
		{ "n", parse_n, NULL },
	};

	(void)obj;
	return pal_yaml_mapping(y, fields, NF(fields), NULL,
				&GWC(y)->cfg->body);
}

/* ---------------------------------------------------------------------
 * responses
 */

/* Fields without which a response means nothing. */
static const char *const essential[] = { "choices", "data", "object" };

static int
strip_item(struct pal_yaml *y, void *obj)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
	struct pal_gw_output_policy *o = obj;
	char *s;
	int rc;

	if ((rc = gwc_string(y, PAL_GW_NAME_MAX, &s)) != 0)
		return rc;
	if (s[strspn(s, ok)] != '\0')
		rc = pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' is not a "
					"field name (letters, digits, '_')",
					pal_yaml_shown(y));
	for (size_t i = 0; rc == 0 && i < PAL_YAML_NFIELDS(essential); i++)
		if (strcmp(s, essential[i]) == 0)
			rc = pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' "
						"cannot be stripped: responses "
						"mean nothing without it", s);
	for (size_t i = 0; rc == 0 && i < o->n_strip; i++)
		if (strcmp(o->strip[i], s) == 0)
			rc = pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' "
						"is listed twice", s);
	if (rc != 0) {
		free(s);
		return rc;
	}
	return pal_yaml_push_string(y, &o->strip, &o->n_strip, s);
}

static int
parse_strip(struct pal_yaml *y, void *obj)
{
	size_t n;

	GWC(y)->have_strip = 1;
	return pal_yaml_list(y, NULL, PAL_GW_MAX_STRIP, strip_item, obj, &n);
}

static int
parse_strip_logprobs(struct pal_yaml *y, void *obj)
{
	struct pal_gw_output_policy *o = obj;

	return pal_yaml_bool(y, NULL, &o->strip_choice_logprobs);
}

int
gwc_parse_responses(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "strip", parse_strip, NULL },
		{ "strip_logprobs", parse_strip_logprobs, NULL },
	};

	(void)obj;
	return pal_yaml_mapping(y, fields, NF(fields), NULL,
				&GWC(y)->cfg->output);
}

/* ---------------------------------------------------------------------
 * injection
 */

static int
parse_rules(struct pal_yaml *y, void *obj)
{
	struct pal_gw_injection *in = obj;

	return gwc_path(y, GWC_FILE, &in->rules);
}

static int
parse_injection_action(struct pal_yaml *y, void *obj)
{
	static const char *const names[] = { "block", "flag", "off" };
	struct pal_gw_injection *in = obj;
	int v, rc;

	if ((rc = pal_yaml_enum(y, NULL, names, 3, &v)) == 0) {
		in->block = v == 0;
		in->enabled = v != 2;
	}
	return rc;
}

static int
parse_threshold(struct pal_yaml *y, void *obj)
{
	struct pal_gw_injection *in = obj;

	return gwc_u32(y, 1, 1000000, &in->threshold);
}

int
gwc_parse_injection(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "rules", parse_rules, NULL },
		{ "action", parse_injection_action, NULL },
		{ "threshold", parse_threshold, NULL },
	};

	(void)obj;
	return pal_yaml_mapping(y, fields, NF(fields), NULL,
				&GWC(y)->cfg->injection);
}

/* ---------------------------------------------------------------------
 * abuse
 */

#define ABUSE_U32(fn, member, min, max)					\
	static int							\
	fn(struct pal_yaml *y, void *obj)				\
	{								\
		struct pal_gw_abuse_policy *a = obj;			\
									\
		return gwc_u32(y, min, max, &a->member);		\
	}

ABUSE_U32(parse_abuse_window, window_s, 10, 86400)
ABUSE_U32(parse_max_rate, max_rate, 0, 1000000)
ABUSE_U32(parse_near_dup_count, near_dup_count, 0, 100000)
ABUSE_U32(parse_variation_count, variation_count, 0, 100000)

static int
parse_similarity(struct pal_yaml *y, void *obj)
{
	struct pal_gw_abuse_policy *a = obj;

	return pal_yaml_number(y, NULL, 0.5, 1, &a->near_dup_similarity);
}

static int
parse_near_duplicates(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "count", parse_near_dup_count, NULL },
		{ "similarity", parse_similarity, NULL },
	};

	return pal_yaml_mapping(y, fields, NF(fields), NULL, obj);
}

static int
parse_variations(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "count", parse_variation_count, NULL },
	};

	return pal_yaml_mapping(y, fields, NF(fields), NULL, obj);
}

static int
parse_abuse_action(struct pal_yaml *y, void *obj)
{
	static const char *const names[] = { "alert", "block" };
	struct pal_gw_abuse_policy *a = obj;
	int v, rc;

	if ((rc = pal_yaml_enum(y, NULL, names, 2, &v)) == 0)
		a->block = v == 1;
	return rc;
}

static int
parse_webhook(struct pal_yaml *y, void *obj)
{
	struct pal_gw_abuse_policy *a = obj;
	int rc;

	if ((rc = gwc_string(y, PAL_GW_URL_MAX, &a->webhook)) != 0)
		return rc;
	return gwc_endpoint(y, a->webhook, 1, &GWC(y)->cfg->abuse_webhook);
}

int
gwc_parse_abuse(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "window_s", parse_abuse_window, NULL },
		{ "max_rate", parse_max_rate, NULL },
		{ "near_duplicates", parse_near_duplicates, NULL },
		{ "variations", parse_variations, NULL },
		{ "action", parse_abuse_action, NULL },
		{ "webhook", parse_webhook, NULL },
	};

	(void)obj;
	return pal_yaml_mapping(y, fields, NF(fields), NULL,
				&GWC(y)->cfg->abuse);
}

/* ---------------------------------------------------------------------
 * log
 */

static int
parse_log_dir(struct pal_yaml *y, void *obj)
{
	struct pal_gw_log *l = obj;

	return gwc_path(y, GWC_DIR, &l->dir);
}

static int
parse_payloads(struct pal_yaml *y, void *obj)
{
	static const char *const names[] = { "none", "encrypted" };
	struct pal_gw_log *l = obj;
	int v, rc;

	if ((rc = pal_yaml_enum(y, NULL, names, 2, &v)) == 0)
		l->payloads = (enum pal_gw_payloads)v;
	return rc;
}

static int
parse_payload_key(struct pal_yaml *y, void *obj)
{
	struct pal_gw_log *l = obj;

	return gwc_path(y, GWC_FILE, &l->payload_key);
}

int
gwc_parse_log(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "dir", parse_log_dir, "missing 'dir' (the Palisade log "
		  "directory)" },
		{ "payloads", parse_payloads, NULL },
		{ "payload_key", parse_payload_key, NULL },
	};
	struct pal_gw_log *l = &GWC(y)->cfg->log;
	yaml_mark_t at = y->ev.start_mark;
	int rc;

	(void)obj;
	if ((rc = pal_yaml_mapping(y, fields, NF(fields), NULL, l)) != 0)
		return rc;
	if (l->payloads == PAL_GW_PAYLOADS_ENCRYPTED && l->payload_key == NULL)
		return pal_yaml_fail_path(y, &at, "payloads: encrypted needs "
					  "payload_key (the operator's PEM "
					  "public key)");
	if (l->payloads == PAL_GW_PAYLOADS_NONE && l->payload_key != NULL)
		return pal_yaml_fail_path(y, &at, "payload_key is set but "
					  "payloads is none");
	return 0;
}
