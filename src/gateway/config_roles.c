/*
 * config_roles.c - the roles of the gateway's configuration (struct
 * pal_gw_role): the models and route kinds each grants, the conditions
 * every request under it must meet too (hours, source networks, maximum
 * tokens), and the default limits of its keys.  Also the parsing of
 * networks (CIDR), which the admin listener needs for blocking networks.
 *
 * Networks are held as 16 bytes, IPv4 mapped into IPv6, so that one
 * comparison serves both families.  A network whose address has bits set
 * below its prefix ("10.0.0.1/8") is refused: it is a typing mistake
 * more often than a way to say 10.0.0.0/8, and guessing which is wrong.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

#define DEFAULT_RPM 60
#define DEFAULT_TPM 100000
#define DEFAULT_BURST 10

/* ---------------------------------------------------------------------
 * Networks.
 */

/* "0" to max in decimal, no sign, no leading zero. */
static int
prefix_parse(const char *s, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return PAL_ERR_FORMAT;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return PAL_ERR_FORMAT;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return PAL_ERR_FORMAT;
	*out = v;
	return 0;
}

/* 1 if every bit of addr from bit prefix on is zero. */
static int
host_bits_zero(const uint8_t addr[16], unsigned prefix)
{
	for (unsigned bit = prefix; bit < 128; bit++)
		if (addr[bit / 8] & (0x80u >> (bit % 8)))
			return 0;
	return 1;
}

int
pal_gw_cidr_parse(const char *s, size_t n, struct pal_gw_cidr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash;
	unsigned prefix, max;
	size_t na;
	int v6;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return PAL_ERR_FORMAT;
	slash = memchr(s, '/', n);
	na = slash != NULL ? (size_t)(slash - s) : n;
	if (na == 0 || na >= sizeof(host) || memchr(s, '\0', na) != NULL)
		return PAL_ERR_FORMAT;
	memcpy(host, s, na);
	host[na] = '\0';
	v6 = memchr(host, ':', na) != NULL;
	max = v6 ? 128 : 32;
	if (v6 && inet_pton(AF_INET6, host, out->addr) != 1)
		return PAL_ERR_FORMAT;
	if (!v6) {
		if (inet_pton(AF_INET, host, out->addr + 12) != 1)
			return PAL_ERR_FORMAT;
		out->addr[10] = 0xff;
		out->addr[11] = 0xff;
	}
	prefix = max;
	if (slash != NULL &&
	    prefix_parse(slash + 1, n - na - 1, max, &prefix) != 0)
		return PAL_ERR_FORMAT;
	prefix += 128 - max;
	if (!host_bits_zero(out->addr, prefix)) {
		memset(out, 0, sizeof(*out));
		return PAL_ERR_FORMAT;
	}
	out->prefix = (uint8_t)prefix;
	return 0;
}

int
pal_gw_cidr_contains(const struct pal_gw_cidr *c, const uint8_t addr[16])
{
	unsigned whole = c->prefix / 8, rest = c->prefix % 8;

	if (c->prefix > 128)
		return 0;
	if (memcmp(c->addr, addr, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((c->addr[whole] ^ addr[whole]) & (0xffu << (8 - rest))) == 0;
}

/* ---------------------------------------------------------------------
 * Hours.
 */

static int
two_digits(const char *s, unsigned *v)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return 0;
	*v = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	return 1;
}

/* "HH:MM" at s into minutes; 24:00 only when end is set (as 0). */
static int
hhmm(const char *s, int end, uint16_t *out)
{
	unsigned h, m;

	if (!two_digits(s, &h) || s[2] != ':' || !two_digits(s + 3, &m) ||
	    m > 59 || h > 24 || (h == 24 && (!end || m != 0)))
		return 0;
	*out = (uint16_t)(h == 24 ? 0 : h * 60 + m);
	return 1;
}

int
gwc_hours_parse(const char *s, size_t n, uint16_t *from, uint16_t *to)
{
	if (n != 11 || s[5] != '-' || !hhmm(s, 0, from) ||
	    !hhmm(s + 6, 1, to))
		return PAL_ERR_FORMAT;
	if (*from == *to)
		return PAL_ERR_INVALID;
	return 0;
}

/* ---------------------------------------------------------------------
 * Roles.
 */

static int
parse_role_name(struct pal_yaml *y, void *obj)
{
	struct pal_gw_role *r = obj;
	const struct pal_gw_config *c = GWC(y)->cfg;
	int rc;

	if ((rc = gwc_name(y, &r->name)) != 0)
		return rc;
	for (size_t i = 0; i + 1 < c->n_roles; i++)
		if (strcmp(c->roles[i].name, r->name) == 0)
			return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' "
						  "is the name of roles[%zu] "
						  "already", r->name, i);
	return 0;
}

/* A glob over model names: printable, no space, quote or backslash. */
static int
glob_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 0x7f || strchr("\"\\", *s))
			return 0;
	return 1;
}

static int
role_model_item(struct pal_yaml *y, void *obj)
{
	struct pal_gw_role *r = obj;
	char *m;
	int rc;

	if ((rc = gwc_string(y, PAL_GW_MODEL_MAX, &m)) != 0)
		return rc;
	if (!glob_ok(m))
		rc = pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' is not a "
					"model glob (printable, without "
					"spaces, quotes or backslashes)",
					pal_yaml_shown(y));
	for (size_t i = 0; rc == 0 && i < r->n_models; i++)
		if (strcmp(r->models[i], m) == 0)
			rc = pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' "
						"is listed twice",
						pal_yaml_shown(y));
	if (rc != 0) {
		free(m);
		return rc;
	}
	return pal_yaml_push_string(y, &r->models, &r->n_models, m);
}

static int
parse_role_models(struct pal_yaml *y, void *obj)
{
	yaml_mark_t at = y->ev.start_mark;
	size_t n;
	int rc;

	rc = pal_yaml_list(y, NULL, PAL_GW_MAX_ROLE_MODELS, role_model_item,
			   obj, &n);
	if (rc == 0 && n == 0)
		rc = pal_yaml_fail_path(y, &at, "is empty (a role grants at "
					"least one model; \"*\" grants all)");
	return rc;
}

static int
role_route_item(struct pal_yaml *y, void *obj)
{
	static const char *const names[] = {
		"chat", "completion", "embedding", "models",
	};
	struct pal_gw_role *r = obj;
	int k, rc;

	if ((rc = pal_yaml_enum(y, NULL, names, PAL_GW_ROUTE_KINDS, &k)) != 0)
		return rc;
	if (r->routes & PAL_GW_ROUTE_BIT(k))
		return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' is "
					  "listed twice", names[k]);
	r->routes |= PAL_GW_ROUTE_BIT(k);
	return 0;
}

static int
parse_role_routes(struct pal_yaml *y, void *obj)
{
	yaml_mark_t at = y->ev.start_mark;
	size_t n;
	int rc;

	rc = pal_yaml_list(y, NULL, PAL_GW_ROUTE_KINDS, role_route_item, obj,
			   &n);
	if (rc == 0 && n == 0)
		rc = pal_yaml_fail_path(y, &at, "is empty (a role grants at "
					"least one of chat, completion, "
					"embedding, models)");
	return rc;
}

static int
parse_hours(struct pal_yaml *y, void *obj)
{
	struct pal_gw_role *r = obj;
	char *s;
	int rc;

	if ((rc = gwc_string(y, 16, &s)) != 0)
		return rc;
	rc = gwc_hours_parse(s, strlen(s), &r->hours_from, &r->hours_to);
	free(s);
	if (rc == PAL_ERR_INVALID)
		return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' starts "
					  "and ends at the same time (leave "
					  "hours out for the whole day)",
					  pal_yaml_shown(y));
	if (rc != 0)
		return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' is not "
					  "HH:MM-HH:MM in UTC, such as "
					  "08:00-18:00 or 22:00-06:00",
					  pal_yaml_shown(y));
	r->has_hours = 1;
	return 0;
}

static int
network_item(struct pal_yaml *y, void *obj)
{
	struct pal_gw_role *r = obj;
	struct pal_gw_cidr net;
	void *v = r->networks;
	char *s;
	int rc;

	if ((rc = gwc_string(y, 64, &s)) != 0)
		return rc;
	rc = pal_gw_cidr_parse(s, strlen(s), &net);
	free(s);
	if (rc != 0)
		return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' is not a "
					  "network such as 10.0.0.0/8 or "
					  "2001:db8::/32 (with no bits set "
					  "after the prefix)",
					  pal_yaml_shown(y));
	for (size_t i = 0; i < r->n_networks; i++)
		if (memcmp(&r->networks[i], &net, sizeof(net)) == 0)
			return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' "
						  "is listed twice",
						  pal_yaml_shown(y));
	if ((rc = pal_yaml_grow(y, &v, r->n_networks, sizeof(net))) != 0)
		return rc;
	r->networks = v;
	r->networks[r->n_networks++] = net;
	return 0;
}

static int
parse_networks(struct pal_yaml *y, void *obj)
{
	yaml_mark_t at = y->ev.start_mark;
	size_t n;
	int rc;

	rc = pal_yaml_list(y, NULL, PAL_GW_MAX_NETWORKS, network_item, obj,
			   &n);
	if (rc == 0 && n == 0)
		rc = pal_yaml_fail_path(y, &at, "is empty (leave it out to "
					"allow every network)");
	return rc;
}

static int
parse_role_max_tokens(struct pal_yaml *y, void *obj)
{
	struct pal_gw_role *r = obj;
	const struct pal_gw_config *c = GWC(y)->cfg;

	/* The role being read is the last one. */
	GWC(y)->role_tokens_at[c->n_roles - 1] = y->ev.start_mark;
	return gwc_u32(y, 1, 1000000, &r->max_tokens);
}

static int
parse_conditions(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "hours", parse_hours, NULL },
		{ "networks", parse_networks, NULL },
		{ "max_tokens", parse_role_max_tokens, NULL },
	};

	return pal_yaml_mapping(y, fields, NF(fields), NULL, obj);
}

/* What a limits mapping is read into, and which of its keys it held. */
struct limits_target {
	struct pal_gw_limits *l;
	unsigned set;			/* PAL_GW_LIMIT_* */
};

static int
parse_rpm(struct pal_yaml *y, void *obj)
{
	struct limits_target *t = obj;

	t->set |= PAL_GW_LIMIT_RPM;
	return gwc_u32(y, 0, 1000000, &t->l->requests_per_minute);
}

static int
parse_tpm(struct pal_yaml *y, void *obj)
{
	struct limits_target *t = obj;

	t->set |= PAL_GW_LIMIT_TPM;
	return gwc_u32(y, 0, 1000000000, &t->l->tokens_per_minute);
}

static int
parse_burst(struct pal_yaml *y, void *obj)
{
	struct limits_target *t = obj;

	t->set |= PAL_GW_LIMIT_BURST;
	return gwc_u32(y, 0, 1000000, &t->l->burst);
}

int
gwc_parse_limits(struct pal_yaml *y, struct pal_gw_limits *l, unsigned *set)
{
	static const struct pal_yaml_field fields[] = {
		{ "requests_per_minute", parse_rpm, NULL },
		{ "tokens_per_minute", parse_tpm, NULL },
		{ "burst", parse_burst, NULL },
	};
	struct limits_target t = { l, 0 };
	int rc = pal_yaml_mapping(y, fields, NF(fields), NULL, &t);

	if (set != NULL)
		*set = t.set;
	return rc;
}

static int
parse_role_limits(struct pal_yaml *y, void *obj)
{
	struct pal_gw_role *r = obj;

	return gwc_parse_limits(y, &r->limits, NULL);
}

static int
role_item(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "name", parse_role_name, "missing 'name'" },
		{ "models", parse_role_models, "missing 'models' (globs of "
		  "the models it grants; \"*\" for all)" },
		{ "routes", parse_role_routes, "missing 'routes' (of chat, "
		  "completion, embedding, models)" },
		{ "conditions", parse_conditions, NULL },
		{ "limits", parse_role_limits, NULL },
	};
	struct pal_gw_config *c = GWC(y)->cfg;
	struct pal_gw_role *r;
	void *v = c->roles;
	int rc;

	(void)obj;
	if ((rc = pal_yaml_grow(y, &v, c->n_roles, sizeof(*c->roles))) != 0)
		return rc;
	c->roles = v;
	r = &c->roles[c->n_roles++];
	r->limits.requests_per_minute = DEFAULT_RPM;
	r->limits.tokens_per_minute = DEFAULT_TPM;
	r->limits.burst = DEFAULT_BURST;
	return pal_yaml_mapping(y, fields, NF(fields), NULL, r);
}

int
gwc_parse_roles(struct pal_yaml *y, void *obj)
{
	yaml_mark_t at = y->ev.start_mark;
	size_t n;
	int rc;

	rc = pal_yaml_list(y, NULL, PAL_GW_MAX_ROLES, role_item, obj, &n);
	if (rc == 0 && n == 0)
		rc = pal_yaml_fail_path(y, &at, "is empty (keys need a role "
					"to do anything)");
	return rc;
}
