/*
 * gwpolicy.h - the gateway's policy as data (docs/config.md).
 *
 * `palisade serve` reads one YAML file (gwconfig.h) into these structures;
 * the modules that enforce them (request validation, output minimization,
 * roles and conditions, limits, abuse signals) take them as they are, so
 * that each can be tested without a configuration file.  Everything here
 * is plain data owned by the configuration that holds it.
 */
#ifndef PALISADE_GWPOLICY_H
#define PALISADE_GWPOLICY_H

#include <stddef.h>
#include <stdint.h>

/* What the gateway does with a request field it treats specially. */
enum pal_gw_action {
	PAL_GW_REFUSE = 0,	/* 400 naming the field */
	PAL_GW_STRIP,		/* removed before the upstream sees it */
	PAL_GW_ALLOW,		/* passed on as it is */
};

/*
 * The kinds of route an upstream serves.  Roles grant kinds, as a bitmask
 * of 1u << kind; request validation knows each kind's body.
 */
enum pal_gw_route_kind {
	PAL_GW_CHAT = 0,	/* POST /v1/chat/completions */
	PAL_GW_COMPLETION,	/* POST /v1/completions */
	PAL_GW_EMBEDDING,	/* POST /v1/embeddings */
	PAL_GW_MODELS,		/* GET /v1/models */
	PAL_GW_ROUTE_KINDS
};

#define PAL_GW_ROUTE_BIT(k) (1u << (k))

/* How request bodies are checked (one policy for the gateway). */
struct pal_gw_body_policy {
	size_t max_body;		/* bytes of a request body */
	size_t max_prompt;		/* bytes of all prompt text together */
	uint32_t max_messages;		/* entries of "messages" */
	uint32_t max_tokens;		/* ceiling of max_tokens and
					   max_completion_tokens; 0 none */
	uint32_t max_n;			/* ceiling of n when n > 1 is allowed */
	double temperature_max;		/* temperature in [0, this] */
	uint32_t max_stop;		/* entries of "stop" */
	uint32_t max_tools;		/* entries of "tools" */
	uint32_t max_depth;		/* nesting of JSON values */
	enum pal_gw_action unknown_fields; /* fields the gateway does not know */
	/* Output minimization: fields that widen what a response reveals. */
	enum pal_gw_action logprobs;	/* logprobs: true */
	enum pal_gw_action top_logprobs;
	enum pal_gw_action logit_bias;
	enum pal_gw_action echo;
	enum pal_gw_action n_many;	/* n > 1 (STRIP sets n to 1) */
};

/* Response fields stripped on the way back, in bodies and SSE events. */
struct pal_gw_output_policy {
	char **strip;			/* top-level names, e.g.
					   "system_fingerprint" */
	size_t n_strip;
	int strip_choice_logprobs;	/* drop choices[].logprobs */
};

/* Request and token budgets (token buckets refilled per minute). */
struct pal_gw_limits {
	uint32_t requests_per_minute;	/* 0: unlimited */
	uint32_t tokens_per_minute;	/* 0: unlimited */
	uint32_t burst;			/* requests above the steady rate */
};

/* An IPv4 or IPv6 network; IPv4 is held as ::ffff:a.b.c.d/96+prefix. */
struct pal_gw_cidr {
	uint8_t addr[16];
	uint8_t prefix;			/* 0..128 over the 16 bytes */
};

/*
 * A role: the models and route kinds it grants, and the attribute
 * conditions every request under it must meet as well.
 */
struct pal_gw_role {
	char *name;
	char **models;			/* fnmatch(3) globs over the "model"
					   field; "*" grants all */
	size_t n_models;
	uint32_t routes;		/* PAL_GW_ROUTE_BIT() of each kind */
	/* Conditions (ABAC); a condition left out always holds. */
	int has_hours;
	uint16_t hours_from, hours_to;	/* minutes after 00:00 UTC; from >
					   to wraps past midnight */
	struct pal_gw_cidr *networks;	/* the source address is in one */
	size_t n_networks;
	uint32_t max_tokens;		/* ceiling of the request's max_tokens
					   under this role; 0 none */
	struct pal_gw_limits limits;	/* defaults for its keys */
};

/* Thresholds of the per-key extraction and probing signals. */
struct pal_gw_abuse_policy {
	uint32_t window_s;		/* seconds of history kept per key */
	uint32_t max_rate;		/* requests in the window */
	uint32_t near_dup_count;	/* near-duplicate prompts in the
					   window */
	double near_dup_similarity;	/* 0..1: what counts as near */
	uint32_t variation_count;	/* prompts that differ from an earlier
					   one only in a small edit */
	int block;			/* block the key when a signal fires */
	char *webhook;			/* http://host:port/path, or NULL */
};

/* Failed authentication: lockout of a source or a key. */
struct pal_gw_lockout {
	uint32_t failures;		/* within window_s locks out */
	uint32_t window_s;
	uint32_t lock_s;
};

#endif
