/*
 * config_listen.c - the listeners of the gateway's configuration: the
 * public one (address, TLS, connection and request limits) and the admin
 * one (address and TLS with client certificates, always).
 *
 * Addresses are IP literals: a name would need a resolver at load time
 * and could listen somewhere else tomorrow.  The admin listener carries
 * the kill switch, so a configuration that would let anyone reach it
 * without a client certificate is refused rather than defaulted.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

/* "1" to "65535", no sign, no leading zero. */
static int
port_parse(const char *s, uint16_t *port)
{
	size_t n = strlen(s);
	unsigned v = 0;

	if (n == 0 || n > 5 || s[0] == '0')
		return PAL_ERR_FORMAT;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return PAL_ERR_FORMAT;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return PAL_ERR_FORMAT;
	*port = (uint16_t)v;
	return 0;
}

static int
addr_text(struct pal_gw_addr *a, int v6, const void *ip, uint16_t port)
{
	char host[INET6_ADDRSTRLEN];

	if (inet_ntop(v6 ? AF_INET6 : AF_INET, ip, host, sizeof(host)) ==
	    NULL)
		return PAL_ERR_FORMAT;
	snprintf(a->text, sizeof(a->text), v6 ? "[%s]:%u" : "%s:%u", host,
		 (unsigned)port);
	return 0;
}

int
gwc_addr_parse(const char *s, struct pal_gw_addr *a)
{
	char host[INET6_ADDRSTRLEN];
	const char *end, *colon;
	int v6 = s[0] == '[';
	uint16_t port;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (v6) {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return PAL_ERR_FORMAT;
		s++;
		colon = end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return PAL_ERR_FORMAT;
		end = colon;
	}
	n = (size_t)(end - s);
	if (n == 0 || n >= sizeof(host) || port_parse(colon + 1, &port) != 0)
		return PAL_ERR_FORMAT;
	memcpy(host, s, n);
	host[n] = '\0';
	if (v6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->sa;

		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return PAL_ERR_FORMAT;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		a->salen = sizeof(*in6);
		return addr_text(a, 1, &in6->sin6_addr, port);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->sa;

		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return PAL_ERR_FORMAT;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		a->salen = sizeof(*in);
		return addr_text(a, 0, &in->sin_addr, port);
	}
}

static uint16_t
addr_port(const struct pal_gw_addr *a)
{
	if (a->sa.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&a->sa)->sin_port);
}

static int
addr_any(const struct pal_gw_addr *a)
{
	if (a->sa.ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(
			&((const struct sockaddr_in6 *)&a->sa)->sin6_addr);
	return ((const struct sockaddr_in *)&a->sa)->sin_addr.s_addr ==
	       htonl(INADDR_ANY);
}

int
gwc_addr_clash(const struct pal_gw_addr *a, const struct pal_gw_addr *b)
{
	if (addr_port(a) != addr_port(b))
		return 0;
	if (addr_any(a) || addr_any(b))
		return 1;
	return a->salen == b->salen && memcmp(&a->sa, &b->sa, a->salen) == 0;
}

static int
parse_address(struct pal_yaml *y, void *obj)
{
	struct pal_gw_addr *a = obj;
	char *s;
	int rc;

	if ((rc = gwc_string(y, sizeof(a->text) - 1, &s)) != 0)
		return rc;
	if (gwc_addr_parse(s, a) != 0)
		rc = pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' is not an "
					"IP address and port such as "
					"'127.0.0.1:8443' or '[::1]:8443'",
					pal_yaml_shown(y));
	free(s);
	return rc;
}

/* ---------------------------------------------------------------------
 * TLS.
 */

struct tls_read {
	struct pal_gw_tls *tls;
	int have_auth;
	yaml_mark_t auth_at;
};

static int
parse_cert(struct pal_yaml *y, void *obj)
{
	struct tls_read *t = obj;

	return gwc_path(y, GWC_FILE, &t->tls->cert);
}

static int
parse_key(struct pal_yaml *y, void *obj)
{
	struct tls_read *t = obj;

	return gwc_path(y, GWC_PRIVATE_KEY, &t->tls->key);
}

static int
parse_client_ca(struct pal_yaml *y, void *obj)
{
	struct tls_read *t = obj;

	return gwc_path(y, GWC_FILE, &t->tls->client_ca);
}

static int
parse_client_auth(struct pal_yaml *y, void *obj)
{
	static const char *const names[] = { "none", "optional", "require" };
	struct tls_read *t = obj;
	int v, rc;

	t->have_auth = 1;
	t->auth_at = y->ev.start_mark;
	if ((rc = pal_yaml_enum(y, NULL, names, 3, &v)) == 0)
		t->tls->client_auth = (enum pal_gw_client_auth)v;
	return rc;
}

static int
parse_min_version(struct pal_yaml *y, void *obj)
{
	static const char *const names[] = { "1.3", "1.2" };
	struct tls_read *t = obj;
	int v, rc;

	if ((rc = pal_yaml_enum(y, NULL, names, 2, &v)) == 0)
		t->tls->min_version = v == 0 ? PAL_GW_TLS1_3 : PAL_GW_TLS1_2;
	return rc;
}

/*
 * client_auth says whether clients must show a certificate, client_ca
 * whom it must come from: one without the other is a contradiction.
 */
static int
check_client_auth(struct pal_yaml *y, struct tls_read *t,
		  const yaml_mark_t *start)
{
	struct pal_gw_tls *tls = t->tls;

	if (!t->have_auth) {
		tls->client_auth = tls->client_ca != NULL ?
				   PAL_GW_CLIENT_AUTH_REQUIRE :
				   PAL_GW_CLIENT_AUTH_NONE;
		return 0;
	}
	if (tls->client_auth != PAL_GW_CLIENT_AUTH_NONE &&
	    tls->client_ca == NULL)
		return pal_yaml_fail(y, &t->auth_at, "%s.client_auth: '%s' "
				     "needs client_ca (the CA bundle client "
				     "certificates are checked against)",
				     pal_yaml_path(y),
				     tls->client_auth ==
				     PAL_GW_CLIENT_AUTH_REQUIRE ? "require" :
				     "optional");
	if (tls->client_auth == PAL_GW_CLIENT_AUTH_NONE &&
	    tls->client_ca != NULL)
		return pal_yaml_fail_path(y, start, "client_ca is set but "
					  "client_auth is none");
	return 0;
}

static int
parse_listen_tls(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "cert", parse_cert, "missing 'cert' (the PEM certificate "
		  "chain)" },
		{ "key", parse_key, "missing 'key' (the PEM private key)" },
		{ "client_ca", parse_client_ca, NULL },
		{ "client_auth", parse_client_auth, NULL },
		{ "min_version", parse_min_version, NULL },
	};
	struct pal_gw_listener *l = obj;
	struct tls_read t = { .tls = &l->tls };
	yaml_mark_t start = y->ev.start_mark;
	int rc;

	if ((rc = pal_yaml_mapping(y, fields, NF(fields), NULL, &t)) != 0)
		return rc;
	return check_client_auth(y, &t, &start);
}

static int
parse_admin_tls(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "cert", parse_cert, "missing 'cert' (the PEM certificate "
		  "chain)" },
		{ "key", parse_key, "missing 'key' (the PEM private key)" },
		{ "client_ca", parse_client_ca, "missing 'client_ca': the "
		  "admin listener takes only clients with a certificate from "
		  "this CA bundle" },
		{ "min_version", parse_min_version, NULL },
	};
	struct pal_gw_admin *a = obj;
	struct tls_read t = { .tls = &a->tls };
	int rc;

	if ((rc = pal_yaml_mapping(y, fields, NF(fields), NULL, &t)) != 0)
		return rc;
	a->tls.client_auth = PAL_GW_CLIENT_AUTH_REQUIRE;
	return 0;
}

/* ---------------------------------------------------------------------
 * Limits.
 */

#define LIMIT(fn, member, min, max)					\
	static int							\
	fn(struct pal_yaml *y, void *obj)				\
	{								\
		struct pal_gw_listen_limits *l = obj;			\
									\
		return gwc_u32(y, min, max, &l->member);		\
	}

LIMIT(parse_max_connections, max_connections, 1, 1048576)
LIMIT(parse_max_header_bytes, max_header_bytes, 1024, 1048576)
LIMIT(parse_max_headers, max_headers, 8, 1024)
LIMIT(parse_max_requests, max_requests_per_connection, 1, 1000000)
LIMIT(parse_header_timeout, header_timeout_ms, 100, 300000)
LIMIT(parse_body_timeout, body_timeout_ms, 100, 3600000)
LIMIT(parse_idle_timeout, idle_timeout_ms, 100, 3600000)
LIMIT(parse_threads, threads, 0, 1024)

static int
parse_max_body(struct pal_yaml *y, void *obj)
{
	struct pal_gw_listen_limits *l = obj;
	uint32_t v;
	int rc;

	if ((rc = gwc_u32(y, 1024, 64u << 20, &v)) == 0)
		l->max_body_bytes = v;
	return rc;
}

static int
parse_limits(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "max_connections", parse_max_connections, NULL },
		{ "max_header_bytes", parse_max_header_bytes, NULL },
		{ "max_headers", parse_max_headers, NULL },
		{ "max_body_bytes", parse_max_body, NULL },
		{ "max_requests_per_connection", parse_max_requests, NULL },
		{ "header_timeout_ms", parse_header_timeout, NULL },
		{ "body_timeout_ms", parse_body_timeout, NULL },
		{ "idle_timeout_ms", parse_idle_timeout, NULL },
		{ "threads", parse_threads, NULL },
	};
	struct pal_gw_listener *l = obj;

	return pal_yaml_mapping(y, fields, NF(fields), NULL, &l->limits);
}

/* ---------------------------------------------------------------------
 * The listeners.
 */

static int
parse_listen_address(struct pal_yaml *y, void *obj)
{
	struct pal_gw_listener *l = obj;

	return parse_address(y, &l->address);
}

int
gwc_parse_listen(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "address", parse_listen_address, NULL },
		{ "tls", parse_listen_tls, "missing 'tls' (the gateway "
		  "speaks only HTTPS)" },
		{ "limits", parse_limits, NULL },
	};

	(void)obj;
	return pal_yaml_mapping(y, fields, NF(fields), NULL,
				&GWC(y)->cfg->listen);
}

static int
parse_admin_address(struct pal_yaml *y, void *obj)
{
	struct pal_gw_admin *a = obj;

	GWC(y)->admin_address_at = y->ev.start_mark;
	return parse_address(y, &a->address);
}

int
gwc_parse_admin(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "address", parse_admin_address, NULL },
		{ "tls", parse_admin_tls, "missing 'tls' (the admin listener "
		  "speaks only HTTPS with client certificates)" },
	};
	struct gwc *g = GWC(y);

	(void)obj;
	g->admin_address_at = y->ev.start_mark;
	g->cfg->admin.enabled = 1;
	return pal_yaml_mapping(y, fields, NF(fields), NULL, &g->cfg->admin);
}
