/*
 * authz.h - may this key's role do this request: the route kinds and
 * models a role grants (RBAC) and the conditions on top (ABAC: time of
 * day, source network, ceiling of max_tokens), from struct pal_gw_role in
 * gwpolicy.h (docs/api-keys.md).
 *
 * Pure functions over the role and the request's attributes: no I/O, no
 * allocation, no locks, time passed in; safe from any thread as long as
 * the role is not being changed (the configuration is swapped whole on
 * reload).  A check costs one fnmatch(3) per model glob until one
 * matches, and a few comparisons per network.
 */
#ifndef PALISADE_AUTHZ_H
#define PALISADE_AUTHZ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "palisade/error.h"
#include "palisade/gwpolicy.h"

/* The longest model name the check accepts (bytes). */
#define PAL_AUTHZ_MODEL_MAX 256

/* A request's attributes, as the gateway knows them before forwarding. */
struct pal_authz_request {
	enum pal_gw_route_kind route;
	const char *model;		/* the body's "model" (NUL-terminated),
					   or NULL when the route has none
					   (GET /v1/models) */
	int64_t max_tokens;		/* the body's max_tokens (or
					   max_completion_tokens); -1 when
					   the request gives none */
	uint8_t addr[16];		/* the source address, IPv4 as
					   ::ffff:a.b.c.d (pal_authz_addr) */
	int64_t now;			/* Unix seconds (UTC) */
};

/* Which rule refused a request. */
enum pal_authz_why {
	PAL_AUTHZ_ALLOWED = 0,
	PAL_AUTHZ_NETWORK,		/* source not in the role's networks */
	PAL_AUTHZ_HOURS,		/* outside the role's time window */
	PAL_AUTHZ_ROUTE,		/* route kind not granted */
	PAL_AUTHZ_NO_MODEL,		/* the route needs a model, none given */
	PAL_AUTHZ_MODEL,		/* model not granted */
	PAL_AUTHZ_MAX_TOKENS,		/* max_tokens above the role's */
};

/*
 * The decision.  When refused: status is the HTTP status to answer (403,
 * or 400 when a route that needs a model names none or the model is not
 * a name) and reason a short message
 * for the client, with no secret and no internal detail beyond the role's
 * name, e.g. "model 'gpt-4' is not granted to role 'analyst'"; the model
 * name in it is the request's, cut to 64 bytes, with every byte outside
 * printable ASCII and every quote or backslash shown as '?'.
 */
#define PAL_AUTHZ_REASON_MAX 192
struct pal_authz_decision {
	enum pal_authz_why why;
	int status;			/* 0 when allowed */
	/*
	 * When allowed and the request gave no max_tokens while the role
	 * has a ceiling: that ceiling, which the gateway must write into
	 * the body (as max_tokens) before forwarding, since the upstream's
	 * default may be higher.  0 otherwise.
	 */
	uint32_t impose_max_tokens;
	char reason[PAL_AUTHZ_REASON_MAX];
};

/*
 * Decides req under role.  The checks run in this order, the first that
 * fails deciding: source network, hours, route kind, model, max_tokens.
 * Returns 0 when allowed, PAL_ERR_VERIFY when refused (d says why);
 * PAL_ERR_INVALID for a route kind out of range (a programming error,
 * still refused with 403).
 *
 * Conditions, as gwpolicy.h defines them:
 *   - networks: the address is inside one of them (prefix over 16 bytes;
 *     an IPv4 network written as ::ffff:a.b.c.d/96+n matches IPv4 clients
 *     and clients that connect with IPv4-mapped IPv6 addresses alike).
 *     No networks: any source.  A prefix above 128 matches nothing.
 *   - hours: the minute of the UTC day, m, is in [from, to) when from <
 *     to, in [from, 24:00) or [00:00, to) when from > to (wrapping past
 *     midnight); from == to is an empty window that refuses always (the
 *     configuration should refuse it; "all day" is no hours at all).
 *   - routes: PAL_GW_ROUTE_BIT(route) is in role->routes.
 *   - models: fnmatch(3) with flags 0 ("*" matches "/" too, as model
 *     names like "meta-llama/Llama-3-8B" need) against each glob.  A
 *     request that names a model on a route without one is refused too:
 *     the role must grant what is named.  A model name longer than
 *     PAL_AUTHZ_MODEL_MAX or with bytes outside 0x21..0x7e is refused
 *     with 400 without being matched.
 *   - max_tokens: when the role has a ceiling (non-zero), a request's
 *     max_tokens above it is refused; none at all is allowed with
 *     impose_max_tokens set.
 */
int pal_authz_check(const struct pal_gw_role *role,
		    const struct pal_authz_request *req,
		    struct pal_authz_decision *d);

/*
 * 1 when role grants model (fnmatch against its globs), else 0; e.g. to
 * filter the list that GET /v1/models returns.
 */
int pal_authz_model_granted(const struct pal_gw_role *role,
			    const char *model);

/*
 * The 16-byte form of a socket address: IPv6 as it is, IPv4 as
 * ::ffff:a.b.c.d.  Errors: PAL_ERR_INVALID for another family or a short
 * length (a Unix socket peer has no network address: the caller decides;
 * a role with networks then refuses it, use all-zero bytes "::").
 */
int pal_authz_addr(const struct sockaddr *sa, socklen_t len,
		   uint8_t out[16]);

#endif
