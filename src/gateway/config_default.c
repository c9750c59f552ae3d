/*
 * config_default.c - the built-in configuration of `palisade serve`
 * without --config, and of `palisade up` (gwconfig.h).
 *
 * It is made as YAML text and read by the same reader as any file, with
 * the state directory as the file's directory: what the built-in
 * configuration means is then exactly what the same file would mean, it
 * passes every check a file does, and the text can be written out for an
 * operator to start from.  Paths in it are relative, so the state
 * directory's name never has to be quoted into YAML.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/buf.h"
#include "config_int.h"

#define DEFAULT_UPSTREAM "http://127.0.0.1:8000"
#define DEFAULT_NAME "built-in configuration"

static const char head[] =
	"# palisade serve: the built-in configuration (docs/config.md).\n"
	"# Relative paths are relative to the state directory; every key\n"
	"# left out has its default.\n"
	"version: 1\n"
	"listen:\n"
	"  address: \"127.0.0.1:8443\"\n"
	"  tls:\n"
	"    cert: tls/server.pem\n"
	"    key: tls/server.key\n"
	"admin:\n"
	"  address: \"127.0.0.1:8444\"\n"
	"  tls:\n"
	"    cert: tls/admin.pem\n"
	"    key: tls/admin.key\n"
	"    client_ca: tls/admin-ca.pem   # admin clients need a "
	"certificate from it\n"
	"upstreams:\n"
	"  - name: default\n"
	"    url: \"";

static const char tail[] =
	"\"   # serves every model\n"
	"keys:\n"
	"  store: keys.db\n"
	"roles:\n"
	"  - name: default\n"
	"    models: [\"*\"]\n"
	"    routes: [chat, completion, embedding, models]\n"
	"log:\n"
	"  dir: log\n";

/* A URL that can go between double quotes as it is. */
static int
quotable(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PAL_GW_URL_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '"' ||
		    s[i] == '\\')
			return 0;
	return 1;
}

int
pal_gw_config_default_yaml(const struct pal_gw_defaults *d, char **out,
			   size_t *len, struct pal_err *err)
{
	const char *url;
	struct pal_buf b;

	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	if (d == NULL || out == NULL || len == NULL)
		return pal_err_set(err, PAL_ERR_INVALID, "gateway "
				   "configuration: invalid argument");
	url = d->upstream != NULL ? d->upstream : DEFAULT_UPSTREAM;
	if (!quotable(url))
		return pal_err_set(err, PAL_ERR_INVALID, "%s: the upstream URL "
				   "is empty, too long, or holds quotes, "
				   "backslashes or control characters",
				   DEFAULT_NAME);
	pal_buf_init(&b, sizeof(head) + sizeof(tail) + PAL_GW_URL_MAX);
	if (pal_buf_puts(&b, head) != 0 || pal_buf_puts(&b, url) != 0 ||
	    pal_buf_puts(&b, tail) != 0) {
		pal_buf_free(&b);
		return pal_err_set(err, PAL_ERR_NOMEM, "%s: out of memory",
				   DEFAULT_NAME);
	}
	*out = (char *)pal_buf_steal(&b, len);
	return 0;
}

int
pal_gw_config_default(const struct pal_gw_defaults *d, unsigned flags,
		      struct pal_gw_config **out, struct pal_err *err)
{
	char *yaml;
	size_t len;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (d == NULL || d->state_dir == NULL || d->state_dir[0] != '/')
		return pal_err_set(err, PAL_ERR_INVALID, "%s: the state "
				   "directory must be an absolute path",
				   DEFAULT_NAME);
	if ((rc = pal_gw_config_default_yaml(d, &yaml, &len, err)) != 0)
		return rc;
	rc = pal_gw_config_parse((const uint8_t *)yaml, len, DEFAULT_NAME,
				 d->state_dir, flags, out, err);
	free(yaml);
	return rc;
}
