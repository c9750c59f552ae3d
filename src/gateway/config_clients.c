/*
 * config_clients.c - client certificates as identities (struct
 * pal_gw_client, docs/config.md "clients"): which verified certificates
 * act as which identity, under which role and limits.
 *
 * The criteria are the subject's common name, the certificate's SHA-256
 * fingerprint, or both.  A common name is only as good as the CA that
 * issued it (listen.tls.client_ca should be a CA for these clients
 * alone); a fingerprint pins one certificate whatever signed it.  Two
 * clients with the same criteria are refused: the first would always
 * win, and the second would be a mistake nobody sees.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/encoding.h"
#include "config_int.h"

static int
parse_client_name(struct pal_yaml *y, void *obj)
{
	struct pal_gw_client *cl = obj;
	const struct pal_gw_config *c = GWC(y)->cfg;
	int rc;

	if ((rc = gwc_name(y, &cl->name)) != 0)
		return rc;
	if (strlen(cl->name) > PAL_GW_CLIENT_NAME_MAX)
		return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' is longer "
					  "than %d bytes", cl->name,
					  PAL_GW_CLIENT_NAME_MAX);
	for (size_t i = 0; i + 1 < c->n_clients; i++)
		if (strcmp(c->clients[i].name, cl->name) == 0)
			return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' "
						  "is the name of clients[%zu] "
						  "already", cl->name, i);
	return 0;
}

static int
parse_subject(struct pal_yaml *y, void *obj)
{
	struct pal_gw_client *cl = obj;
	int rc;

	if ((rc = gwc_string(y, PAL_GW_CLIENT_CN_MAX, &cl->subject)) != 0)
		return rc;
	for (const char *p = cl->subject; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return pal_yaml_fail_path(y, &y->ev.start_mark,
						  "holds a control character");
	return 0;
}

/* 64 hex digits, with or without a colon between each byte. */
static int
parse_sha256(struct pal_yaml *y, void *obj)
{
	struct pal_gw_client *cl = obj;
	char *s, hex[65];
	size_t n = 0;
	int rc;

	if ((rc = gwc_string(y, 95, &s)) != 0)
		return rc;
	for (const char *p = s; *p != '\0' && n <= 64; p++)
		if (*p != ':')
			hex[n++] = *p;
	for (size_t i = 0; i < n && i < 64; i++)
		if (pal_hex_value(hex[i]) < 0)
			n = 0;
	free(s);
	if (n != 64)
		return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' is not a "
					  "SHA-256 fingerprint (64 hex digits, "
					  "colons allowed)", pal_yaml_shown(y));
	for (size_t i = 0; i < 32; i++)
		cl->sha256[i] = (uint8_t)(pal_hex_value(hex[2 * i]) << 4 |
					  pal_hex_value(hex[2 * i + 1]));
	cl->has_sha256 = 1;
	return 0;
}

static int
parse_client_role(struct pal_yaml *y, void *obj)
{
	struct pal_gw_client *cl = obj;
	const struct pal_gw_config *c = GWC(y)->cfg;

	GWC(y)->client_role_at[c->n_clients - 1] = y->ev.start_mark;
	return gwc_name(y, &cl->role);
}

static int
parse_client_limits(struct pal_yaml *y, void *obj)
{
	struct pal_gw_client *cl = obj;

	return gwc_parse_limits(y, &cl->limits, &cl->limits_set);
}

static int
same_criteria(const struct pal_gw_client *a, const struct pal_gw_client *b)
{
	if ((a->subject == NULL) != (b->subject == NULL) ||
	    (a->subject != NULL && strcmp(a->subject, b->subject) != 0))
		return 0;
	return a->has_sha256 == b->has_sha256 &&
	       (!a->has_sha256 || memcmp(a->sha256, b->sha256, 32) == 0);
}

static int
client_item(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "name", parse_client_name, "missing 'name' (the identity "
		  "is cert:<name>)" },
		{ "subject", parse_subject, NULL },
		{ "sha256", parse_sha256, NULL },
		{ "role", parse_client_role, "missing 'role'" },
		{ "limits", parse_client_limits, NULL },
	};
	struct pal_gw_config *c = GWC(y)->cfg;
	yaml_mark_t at = y->ev.start_mark;
	struct pal_gw_client *cl;
	void *v = c->clients;
	int rc;

	(void)obj;
	if ((rc = pal_yaml_grow(y, &v, c->n_clients, sizeof(*c->clients))) != 0)
		return rc;
	c->clients = v;
	cl = &c->clients[c->n_clients++];
	if ((rc = pal_yaml_mapping(y, fields, NF(fields), NULL, cl)) != 0)
		return rc;
	if (cl->subject == NULL && !cl->has_sha256)
		return pal_yaml_fail_path(y, &at, "needs 'subject' (the "
					  "certificate's common name), "
					  "'sha256' (its fingerprint) or "
					  "both");
	for (size_t i = 0; i + 1 < c->n_clients; i++)
		if (same_criteria(&c->clients[i], cl))
			return pal_yaml_fail_path(y, &at, "matches the same "
						  "certificates as "
						  "clients[%zu] ('%s')", i,
						  c->clients[i].name);
	return 0;
}

int
gwc_parse_clients(struct pal_yaml *y, void *obj)
{
	size_t n;

	GWC(y)->clients_at = y->ev.start_mark;
	return pal_yaml_list(y, NULL, PAL_GW_MAX_CLIENTS, client_item, obj,
			     &n);
}

int
gwc_check_clients(struct pal_yaml *y)
{
	const struct pal_gw_config *c = GWC(y)->cfg;

	if (c->n_clients > 0 && c->listen.tls.client_ca == NULL)
		return pal_yaml_fail(y, &GWC(y)->clients_at, "clients: "
				     "certificate identities need "
				     "listen.tls.client_ca (the CA bundle "
				     "their certificates are verified "
				     "against)");
	for (size_t i = 0; i < c->n_clients; i++)
		if (pal_gw_config_role(c, c->clients[i].role) == NULL)
			return pal_yaml_fail(y, &GWC(y)->client_role_at[i],
					     "clients[%zu].role: '%s' is not a "
					     "configured role", i,
					     c->clients[i].role);
	return 0;
}

void
gwc_clients_free(struct pal_gw_config *c)
{
	for (size_t i = 0; i < c->n_clients; i++) {
		free(c->clients[i].name);
		free(c->clients[i].subject);
		free(c->clients[i].role);
	}
	free(c->clients);
}

const struct pal_gw_client *
pal_gw_config_client(const struct pal_gw_config *cfg, const char *cn,
		     size_t cn_len, const uint8_t sha256[32])
{
	for (size_t i = 0; i < cfg->n_clients; i++) {
		const struct pal_gw_client *cl = &cfg->clients[i];

		if (cl->subject != NULL &&
		    (cn == NULL || strlen(cl->subject) != cn_len ||
		     memcmp(cl->subject, cn, cn_len) != 0))
			continue;
		if (cl->has_sha256 && memcmp(cl->sha256, sha256, 32) != 0)
			continue;
		return cl;
	}
	return NULL;
}
