/*
 * config.c - the gateway's configuration file (gwconfig.h,
 * docs/config.md): the document's sections, the checks across them, and
 * the configuration object.
 *
 * The file is written by the operator but decides who may use the models
 * and what they may send, so it is read as strictly as a trust policy
 * (yaml_strict.c): unknown keys, wrong types, repeated keys and values
 * out of range are errors at file:line:column with the key path.  Every
 * section reads into a configuration that already holds the defaults,
 * so that what the file leaves out is the documented default and nothing
 * is left unset.  On any error the whole configuration is freed: a
 * caller gets all of it or nothing.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/file.h"
#include "config_int.h"

/* ---------------------------------------------------------------------
 * Values.
 */

int
gwc_u32(struct pal_yaml *y, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int rc;

	if ((rc = pal_yaml_uint(y, NULL, min, max, &v)) == 0)
		*out = (uint32_t)v;
	return rc;
}

int
gwc_string(struct pal_yaml *y, size_t max, char **out)
{
	return pal_yaml_string(y, NULL, max, out);
}

int
gwc_name(struct pal_yaml *y, char **out)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	int rc;

	if ((rc = gwc_string(y, PAL_GW_NAME_MAX, out)) != 0)
		return rc;
	if ((*out)[strspn(*out, ok)] != '\0') {
		free(*out);
		*out = NULL;
		return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' may hold "
					  "only letters, digits, '_', '.' and "
					  "'-'", pal_yaml_shown(y));
	}
	return 0;
}

int
gwc_action(struct pal_yaml *y, enum pal_gw_action *out)
{
	static const char *const names[] = { "refuse", "strip", "allow" };
	int v, rc;

	if ((rc = pal_yaml_enum(y, NULL, names, 3, &v)) == 0)
		*out = (enum pal_gw_action)v;
	return rc;
}

/* ---------------------------------------------------------------------
 * The document.
 */

static int
parse_version(struct pal_yaml *y, void *obj)
{
	(void)obj;
	return pal_yaml_version(y, 1);
}

/*
 * A configuration whose admin listener would take the public one's
 * port, whose prompts could not fit in a body, or whose role allows more
 * tokens than the gateway does is a mistake, not a choice.
 */
static int
check_across(struct pal_yaml *y)
{
	struct gwc *g = GWC(y);
	struct pal_gw_config *c = g->cfg;

	if (c->admin.enabled && gwc_addr_clash(&c->admin.address,
					       &c->listen.address))
		return pal_yaml_fail(y, &g->admin_address_at, "admin.address: "
				     "%s takes the port of listen.address %s",
				     c->admin.address.text,
				     c->listen.address.text);
	c->body.max_body = c->listen.limits.max_body_bytes;
	if (c->body.max_prompt > c->body.max_body) {
		if (g->have_prompt)
			return pal_yaml_fail(y, &g->prompt_at, "requests."
					     "max_prompt_bytes: %zu is more "
					     "than listen.limits.max_body_"
					     "bytes (%zu)", c->body.max_prompt,
					     c->body.max_body);
		c->body.max_prompt = c->body.max_body;
	}
	for (size_t i = 0; i < c->n_roles; i++) {
		uint32_t t = c->roles[i].max_tokens;

		if (t != 0 && c->body.max_tokens != 0 &&
		    t > c->body.max_tokens)
			return pal_yaml_fail(y, &g->role_tokens_at[i], "roles[%zu]"
					     ".conditions.max_tokens: %u is "
					     "more than requests.max_tokens "
					     "(%u)", i, t, c->body.max_tokens);
	}
	return gwc_check_clients(y);
}

static int
set_default_strip(struct pal_gw_config *c)
{
	if ((c->output.strip = calloc(1, sizeof(char *))) == NULL ||
	    (c->output.strip[0] = strdup("system_fingerprint")) == NULL)
		return PAL_ERR_NOMEM;
	c->output.n_strip = 1;
	return 0;
}

static int
read_document(struct pal_yaml *y)
{
	static const struct pal_yaml_field fields[] = {
		{ "version", parse_version, "missing 'version: 1'" },
		{ "listen", gwc_parse_listen, "missing 'listen' (the public "
		  "listener and its TLS certificate)" },
		{ "admin", gwc_parse_admin, NULL },
		{ "upstreams", gwc_parse_upstreams, "missing 'upstreams' (the "
		  "model servers)" },
		{ "keys", gwc_parse_keys, "missing 'keys' (the API key "
		  "store)" },
		{ "roles", gwc_parse_roles, "missing 'roles' (what keys may "
		  "do)" },
		{ "clients", gwc_parse_clients, NULL },
		{ "requests", gwc_parse_requests, NULL },
		{ "responses", gwc_parse_responses, NULL },
		{ "injection", gwc_parse_injection, NULL },
		{ "abuse", gwc_parse_abuse, NULL },
		{ "log", gwc_parse_log, "missing 'log' (the log directory)" },
	};
	int rc;

	rc = pal_yaml_document(y, fields, NF(fields), "the configuration",
			       "empty configuration", 1, NULL);
	if (rc != 0 || (rc = check_across(y)) != 0)
		return rc;
	if (!GWC(y)->have_strip && set_default_strip(GWC(y)->cfg) != 0)
		return pal_yaml_nomem(y);
	return 0;
}

/* ---------------------------------------------------------------------
 * The configuration object.
 */

static void
free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
tls_free(struct pal_gw_tls *t)
{
	free(t->cert);
	free(t->key);
	free(t->client_ca);
}

static void
upstream_free(struct pal_gw_upstream *u)
{
	free(u->name);
	free(u->url);
	free(u->endpoint.path);
	free_strings(u->models, u->n_models);
	for (size_t i = 0; i < u->n_routes; i++)
		free(u->routes[i].path);
	free(u->routes);
}

static void
role_free(struct pal_gw_role *r)
{
	free(r->name);
	free_strings(r->models, r->n_models);
	free(r->networks);
}

void
pal_gw_config_free(struct pal_gw_config *c)
{
	if (c == NULL)
		return;
	free(c->name);
	free(c->base_dir);
	tls_free(&c->listen.tls);
	tls_free(&c->admin.tls);
	for (size_t i = 0; i < c->n_upstreams; i++)
		upstream_free(&c->upstreams[i]);
	free(c->upstreams);
	free(c->keys.store);
	for (size_t i = 0; i < c->n_roles; i++)
		role_free(&c->roles[i]);
	free(c->roles);
	gwc_clients_free(c);
	free_strings(c->output.strip, c->output.n_strip);
	free(c->injection.rules);
	free(c->abuse.webhook);
	free(c->abuse_webhook.path);
	free(c->log.dir);
	free(c->log.payload_key);
	free(c);
}

static struct pal_gw_config *
config_new(const char *name, const char *base_dir)
{
	struct pal_gw_config *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	gwc_defaults(c);
	c->name = strdup(name);
	c->base_dir = strdup(base_dir != NULL ? base_dir : "");
	if (c->name == NULL || c->base_dir == NULL) {
		pal_gw_config_free(c);
		return NULL;
	}
	return c;
}

int
pal_gw_config_parse(const uint8_t *yaml, size_t len, const char *name,
		    const char *base_dir, unsigned flags,
		    struct pal_gw_config **out, struct pal_err *err)
{
	struct pal_yaml y;
	struct gwc *g;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || name == NULL || (yaml == NULL && len > 0) ||
	    (flags & ~PAL_GW_CONFIG_CHECK_FILES) != 0)
		return pal_err_set(err, PAL_ERR_INVALID, "gateway "
				   "configuration: invalid argument");
	if (len > PAL_GW_CONFIG_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "%s: configuration "
				   "larger than %d bytes", name,
				   PAL_GW_CONFIG_MAX);
	/* The reader's state holds a mark per role: keep it off the stack. */
	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->cfg = config_new(name, base_dir)) == NULL) {
		free(g);
		return pal_err_set(err, PAL_ERR_NOMEM, "%s: out of memory",
				   name);
	}
	g->base_dir = base_dir != NULL && base_dir[0] != '\0' ? base_dir :
		      NULL;
	g->flags = flags;
	rc = pal_yaml_begin(&y, yaml != NULL ? yaml : (const uint8_t *)"",
			    len, g->cfg->name, g, err);
	if (rc == 0)
		rc = read_document(&y);
	pal_yaml_end(&y);
	if (rc == 0)
		*out = g->cfg;
	else
		pal_gw_config_free(g->cfg);
	free(g);
	return rc;
}

/* The directory of path, made absolute; caller frees. */
static int
dir_of(const char *path, char **out, struct pal_err *err)
{
	const char *slash = strrchr(path, '/');
	char *dir, *abs;

	*out = NULL;
	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "%s: out of memory",
				   path);
	abs = realpath(dir, NULL);
	free(dir);
	if (abs == NULL)
		return pal_err_set(err, PAL_ERR_IO, "%s: cannot resolve its "
				   "directory", path);
	*out = abs;
	return 0;
}

int
pal_gw_config_load(const char *path, struct pal_gw_config **out,
		   struct pal_err *err)
{
	uint8_t *data = NULL;
	char *dir = NULL;
	size_t len;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL)
		return pal_err_set(err, PAL_ERR_INVALID, "gateway "
				   "configuration: invalid argument");
	if ((rc = pal_file_read(path, PAL_GW_CONFIG_MAX, &data, &len,
				err)) != 0)
		return rc;
	if ((rc = dir_of(path, &dir, err)) == 0)
		rc = pal_gw_config_parse(data, len, path, dir,
					 PAL_GW_CONFIG_CHECK_FILES, out, err);
	free(dir);
	free(data);
	return rc;
}

const struct pal_gw_role *
pal_gw_config_role(const struct pal_gw_config *c, const char *name)
{
	if (c == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < c->n_roles; i++)
		if (strcmp(c->roles[i].name, name) == 0)
			return &c->roles[i];
	return NULL;
}

const struct pal_gw_upstream *
pal_gw_config_upstream(const struct pal_gw_config *c, const char *model,
		       size_t n)
{
	const struct pal_gw_upstream *any = NULL;

	if (c == NULL || (model == NULL && n > 0))
		return NULL;
	for (size_t i = 0; i < c->n_upstreams; i++) {
		const struct pal_gw_upstream *u = &c->upstreams[i];

		if (u->n_models == 0)
			any = u;
		for (size_t k = 0; k < u->n_models; k++)
			if (strlen(u->models[k]) == n &&
			    memcmp(u->models[k], model, n) == 0)
				return u;
	}
	return any;
}
