/*
 * authz.c - roles and their conditions (authz.h).
 *
 * Runs once per request after the key is known: no allocation, no locks.
 * The reasons are built with snprintf into the caller's decision, and the
 * only request byte that reaches them, the model name, is cut and shown
 * through a filter first (the reason ends up in a JSON body and a log).
 */
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "palisade/authz.h"
#include "palisade/gwconfig.h"

#define SHOWN_MODEL_MAX 64

int
pal_authz_addr(const struct sockaddr *sa, socklen_t len, uint8_t out[16])
{
	memset(out, 0, 16);
	if (sa == NULL)
		return PAL_ERR_INVALID;
	if (sa->sa_family == AF_INET6 &&
	    len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		memcpy(out, &s6->sin6_addr, 16);
		return 0;
	}
	if (sa->sa_family == AF_INET &&
	    len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const void *)sa;

		out[10] = out[11] = 0xff;
		memcpy(out + 12, &s4->sin_addr, 4);
		return 0;
	}
	return PAL_ERR_INVALID;
}

int
pal_authz_model_granted(const struct pal_gw_role *role, const char *model)
{
	for (size_t i = 0; model != NULL && i < role->n_models; i++)
		if (role->models[i] != NULL &&
		    fnmatch(role->models[i], model, 0) == 0)
			return 1;
	return 0;
}

/* The minute of the UTC day at Unix time now (seconds). */
static unsigned
minute_of_day(int64_t now)
{
	int64_t m = now / 60 - (now % 60 < 0);

	m %= 1440;
	return (unsigned)(m < 0 ? m + 1440 : m);
}

static int
within_hours(const struct pal_gw_role *role, int64_t now)
{
	unsigned m = minute_of_day(now);
	unsigned from = role->hours_from, to = role->hours_to;

	if (from < to)
		return m >= from && m < to;
	if (from > to)
		return m >= from || m < to;
	return 0;
}

static int
within_networks(const struct pal_gw_role *role, const uint8_t addr[16])
{
	if (role->n_networks == 0)
		return 1;
	for (size_t i = 0; i < role->n_networks; i++)
		if (pal_gw_cidr_contains(&role->networks[i], addr))
			return 1;
	return 0;
}

/* 1 when model is a name we match at all: bounded, visible ASCII. */
static int
model_name_ok(const char *model)
{
	size_t i;

	for (i = 0; model[i] != '\0'; i++)
		if (i == PAL_AUTHZ_MODEL_MAX ||
		    (unsigned char)model[i] < 0x21 ||
		    (unsigned char)model[i] > 0x7e)
			return 0;
	return i > 0;
}

/* The model as a reason may show it. */
static void
shown_model(const char *model, char out[SHOWN_MODEL_MAX + 4])
{
	size_t i;

	for (i = 0; model[i] != '\0' && i < SHOWN_MODEL_MAX; i++) {
		unsigned char c = (unsigned char)model[i];

		out[i] = c < 0x20 || c > 0x7e || c == '\'' || c == '"' ||
			c == '\\' ? '?' : (char)c;
	}
	if (model[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

static int
refuse(struct pal_authz_decision *d, enum pal_authz_why why, int status)
{
	d->why = why;
	d->status = status;
	d->impose_max_tokens = 0;
	return PAL_ERR_VERIFY;
}

static const char *
role_name(const struct pal_gw_role *role)
{
	return role->name != NULL ? role->name : "?";
}

static int
check_model(const struct pal_gw_role *role,
	    const struct pal_authz_request *req, struct pal_authz_decision *d)
{
	char shown[SHOWN_MODEL_MAX + 4];

	if (req->model == NULL) {
		if (req->route == PAL_GW_MODELS)
			return 0;
		snprintf(d->reason, sizeof(d->reason), "the request names "
			 "no model");
		return refuse(d, PAL_AUTHZ_NO_MODEL, 400);
	}
	shown_model(req->model, shown);
	if (!model_name_ok(req->model)) {
		snprintf(d->reason, sizeof(d->reason), "model '%s' is not a "
			 "model name", shown);
		return refuse(d, PAL_AUTHZ_MODEL, 400);
	}
	if (pal_authz_model_granted(role, req->model))
		return 0;
	snprintf(d->reason, sizeof(d->reason), "model '%s' is not granted "
		 "to role '%s'", shown, role_name(role));
	return refuse(d, PAL_AUTHZ_MODEL, 403);
}

static int
check_conditions(const struct pal_gw_role *role,
		 const struct pal_authz_request *req,
		 struct pal_authz_decision *d)
{
	if (!within_networks(role, req->addr)) {
		snprintf(d->reason, sizeof(d->reason), "source network not "
			 "allowed");
		return refuse(d, PAL_AUTHZ_NETWORK, 403);
	}
	if (role->has_hours && !within_hours(role, req->now)) {
		snprintf(d->reason, sizeof(d->reason), "outside the role's "
			 "hours");
		return refuse(d, PAL_AUTHZ_HOURS, 403);
	}
	return 0;
}

int
pal_authz_check(const struct pal_gw_role *role,
		const struct pal_authz_request *req,
		struct pal_authz_decision *d)
{
	memset(d, 0, sizeof(*d));
	if ((unsigned)req->route >= PAL_GW_ROUTE_KINDS) {
		snprintf(d->reason, sizeof(d->reason), "route not granted");
		refuse(d, PAL_AUTHZ_ROUTE, 403);
		return PAL_ERR_INVALID;
	}
	int rc = check_conditions(role, req, d);
	if (rc < 0)
		return rc;
	if ((role->routes & PAL_GW_ROUTE_BIT(req->route)) == 0) {
		snprintf(d->reason, sizeof(d->reason), "route not granted to "
			 "role '%s'", role_name(role));
		return refuse(d, PAL_AUTHZ_ROUTE, 403);
	}
	if ((rc = check_model(role, req, d)) < 0)
		return rc;
	if (role->max_tokens != 0 && req->max_tokens > role->max_tokens) {
		snprintf(d->reason, sizeof(d->reason), "max_tokens %lld above "
			 "the role's %u", (long long)req->max_tokens,
			 role->max_tokens);
		return refuse(d, PAL_AUTHZ_MAX_TOKENS, 403);
	}
	if (role->max_tokens != 0 && req->max_tokens < 0)
		d->impose_max_tokens = role->max_tokens;
	return 0;
}
