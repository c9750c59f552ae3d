/*
 * up_config.c - palisade up's configuration file (docs/up.md):
 *
 *	version: 1
 *	model:
 *	  vault: vault
 *	  release: v1
 *	  approvals: [unseal.alice, unseal.bob]
 *	  signature: model.sig
 *	  key: release.pub		# or trust_policy: FILE [source: NAME]
 *	  pin_file: pin			# optional
 *	server:
 *	  command: [tiny-llm-server, --model, "{file:model.safetensors}",
 *	            --listen-fd, "{listen_fd}"]
 *	  profile: server.yaml		# optional
 *	gateway:
 *	  config: gateway.yaml		# optional
 *	state: palisade-state		# optional
 *
 * The file decides which model is served, from which vault, under whose
 * approvals and signature, and what runs it: it is read as strictly as
 * a trust policy (yaml_strict.h), with every mistake at file:line:column
 * and its key path.  It is the one parser of the command line, and is
 * compiled into its fuzz target (tests/fuzz/fuzz_up_config.c) from here.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/file.h"
#include "palisade/keystore.h"
#include "palisade/manifest.h"
#include "palisade/yaml_strict.h"
#include "up.h"

#define NF(f) PAL_YAML_NFIELDS(f)

/* The reader's state: the configuration and where relative paths go. */
struct reader {
	struct up_config *c;
	const char *base_dir;
	yaml_mark_t model_at;		/* the model mapping, for messages */
};

#define READER(y) ((struct reader *)(y)->ctx)

const char up_config_template[] =
	"# palisade up: the whole path in one command (docs/up.md).\n"
	"# Relative paths are relative to this file's directory.\n"
	"version: 1\n"
	"model:\n"
	"  vault: vault                  # palisade keys init, palisade seal\n"
	"  release: v1\n"
	"  # The unseal request's approvals (palisade request unseal, then\n"
	"  # palisade approve by as many approvers as the vault needs).\n"
	"  approvals: [unseal.alice, unseal.bob]\n"
	"  signature: model.sig          # palisade sign, over the model's "
	"files\n"
	"  key: release.pub              # the signer's public key, or:\n"
	"  # trust_policy: trust.yaml    # a trust policy "
	"(docs/trust-policy.md)\n"
	"  # source: example.com/models/m  # its source (default: the "
	"release)\n"
	"  # pin_file: token.pin         # the token's PIN (default: "
	"PALISADE_PKCS11_PIN)\n"
	"server:\n"
	"  # The model server, started confined (palisade run).  In its "
	"words,\n"
	"  # {file:NAME} is /proc/self/fd/N of the release's file NAME, and\n"
	"  # {listen_fd} the listening socket's descriptor; the server also\n"
	"  # finds them in PALISADE_UNSEALED and PALISADE_LISTEN_FD.\n"
	"  command: [tiny-llm-server, --model, \"{file:model.safetensors}\",\n"
	"            --listen-fd, \"{listen_fd}\"]\n"
	"  # profile: server.yaml        # the sandbox profile "
	"(docs/sandbox.md);\n"
	"  #                             # default: the built-in profile\n"
	"# gateway:\n"
	"#   config: gateway.yaml        # default: the built-in configuration\n"
	"#                               # on https://127.0.0.1:8443\n"
	"# state: palisade-state         # the gateway's state, the model's "
	"socket\n";

/* ---------------------------------------------------------------------
 * Values.
 */

static int
nomem(struct pal_yaml *y)
{
	return pal_yaml_nomem(y);
}

/* A path: joined to the file's directory when relative. */
static int
read_path(struct pal_yaml *y, char **out)
{
	const char *base = READER(y)->base_dir;
	char *s = NULL, *joined;
	int rc;

	if ((rc = pal_yaml_string(y, NULL, UP_PATH_MAX, &s)) != 0)
		return rc;
	if (s[0] == '/' || base == NULL || base[0] == '\0') {
		*out = s;
		return 0;
	}
	if (asprintf(&joined, "%s/%s", base, s) < 0) {
		free(s);
		return nomem(y);
	}
	free(s);
	*out = joined;
	return 0;
}

/* ---------------------------------------------------------------------
 * Placeholders in the server's command.
 */

static int
placeholder_len(const char *p, char *why, size_t n)
{
	const char *end = strchr(p, '}');
	char name[UP_PATH_MAX + 1];
	struct pal_err e;
	size_t len;

	if (strncmp(p, "{listen_fd}", 11) == 0)
		return 11;
	if (strncmp(p, "{file:", 6) != 0 || end == NULL) {
		snprintf(why, n, "'{' starts neither {listen_fd}, {file:NAME} "
			 "nor {{ (a '{' itself)");
		return -1;
	}
	len = (size_t)(end - (p + 6));
	if (len == 0 || len > UP_PATH_MAX) {
		snprintf(why, n, "{file:NAME} needs a NAME of 1 to %d bytes",
			 UP_PATH_MAX);
		return -1;
	}
	memcpy(name, p + 6, len);
	name[len] = '\0';
	pal_err_clear(&e);
	if (pal_manifest_check_name(name, 0, &e) != 0) {
		snprintf(why, n, "{file:NAME}: %s", e.msg);
		return -1;
	}
	return (int)(len + 7);
}

int
up_arg_check(const char *word, char *why, size_t n)
{
	for (const char *p = word; *p != '\0'; p++) {
		int len;

		if (*p != '{')
			continue;
		if (p[1] == '{') {
			p++;
			continue;
		}
		if ((len = placeholder_len(p, why, n)) < 0)
			return -1;
		p += len - 1;
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * The sections.
 */

static int
parse_version(struct pal_yaml *y, void *obj)
{
	(void)obj;
	return pal_yaml_version(y, 1);
}

static int
parse_vault(struct pal_yaml *y, void *obj)
{
	return read_path(y, &((struct up_config *)obj)->model.vault);
}

static int
parse_release(struct pal_yaml *y, void *obj)
{
	struct up_config *c = obj;
	yaml_mark_t at = y->ev.start_mark;
	struct pal_err e;
	int rc;

	if ((rc = pal_yaml_string(y, NULL, PAL_KEYSTORE_RELEASE_MAX,
				  &c->model.release)) != 0)
		return rc;
	pal_err_clear(&e);
	if (pal_keystore_release_check(c->model.release, &e) != 0)
		return pal_yaml_fail_path(y, &at, "%s", e.msg);
	return 0;
}

static int
approval_item(struct pal_yaml *y, void *obj)
{
	struct up_config *c = obj;
	char *s = NULL;
	int rc;

	if ((rc = read_path(y, &s)) != 0)
		return rc;
	return pal_yaml_push_string(y, &c->model.approvals,
				    &c->model.n_approvals, s);
}

static int
parse_approvals(struct pal_yaml *y, void *obj)
{
	yaml_mark_t at = y->ev.start_mark;
	size_t n = 0;
	int rc;

	rc = pal_yaml_list(y, NULL, UP_APPROVALS_MAX, approval_item, obj, &n);
	if (rc == 0 && n == 0)
		return pal_yaml_fail_path(y, &at, "at least one approval file");
	return rc;
}

static int
parse_signature(struct pal_yaml *y, void *obj)
{
	return read_path(y, &((struct up_config *)obj)->model.signature);
}

static int
parse_key(struct pal_yaml *y, void *obj)
{
	return read_path(y, &((struct up_config *)obj)->model.key);
}

static int
parse_trust_policy(struct pal_yaml *y, void *obj)
{
	return read_path(y, &((struct up_config *)obj)->model.trust_policy);
}

static int
parse_source(struct pal_yaml *y, void *obj)
{
	return pal_yaml_string(y, NULL, UP_PATH_MAX,
			       &((struct up_config *)obj)->model.source);
}

static int
parse_pin_file(struct pal_yaml *y, void *obj)
{
	return read_path(y, &((struct up_config *)obj)->model.pin_file);
}

static int
parse_model(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "vault", parse_vault, "missing 'vault' (the vault "
		  "directory)" },
		{ "release", parse_release, "missing 'release'" },
		{ "approvals", parse_approvals, "missing 'approvals' (the "
		  "unseal request's approval files)" },
		{ "signature", parse_signature, "missing 'signature' (the "
		  "model's OMS bundle)" },
		{ "key", parse_key, NULL },
		{ "trust_policy", parse_trust_policy, NULL },
		{ "source", parse_source, NULL },
		{ "pin_file", parse_pin_file, NULL },
	};
	struct up_config *c = obj;
	yaml_mark_t at = y->ev.start_mark;
	int rc;

	if ((rc = pal_yaml_mapping(y, fields, NF(fields), NULL, obj)) != 0)
		return rc;
	if ((c->model.key != NULL) == (c->model.trust_policy != NULL))
		return pal_yaml_fail_path(y, &at, "give one of 'key' and "
					  "'trust_policy' (who may sign the "
					  "model)");
	if (c->model.source != NULL && c->model.trust_policy == NULL)
		return pal_yaml_fail_path(y, &at, "'source' needs "
					  "'trust_policy'");
	return 0;
}

static int
command_item(struct pal_yaml *y, void *obj)
{
	struct up_config *c = obj;
	yaml_mark_t at = y->ev.start_mark;
	char why[256], *s = NULL;
	int rc;

	if ((rc = pal_yaml_string(y, NULL, UP_ARG_MAX, &s)) != 0)
		return rc;
	if (up_arg_check(s, why, sizeof(why)) != 0) {
		free(s);
		return pal_yaml_fail_path(y, &at, "%s", why);
	}
	return pal_yaml_push_string(y, &c->server.command,
				    &c->server.n_command, s);
}

static int
parse_command(struct pal_yaml *y, void *obj)
{
	struct up_config *c = obj;
	yaml_mark_t at = y->ev.start_mark;
	size_t n = 0;
	int rc;

	rc = pal_yaml_list(y, NULL, UP_ARGS_MAX, command_item, obj, &n);
	if (rc == 0 && n == 0)
		return pal_yaml_fail_path(y, &at, "the command is empty");
	if (rc == 0 && strchr(c->server.command[0], '{') != NULL)
		return pal_yaml_fail_path(y, &at, "the program (the first "
					  "word) cannot be a placeholder");
	return rc;
}

static int
parse_profile(struct pal_yaml *y, void *obj)
{
	return read_path(y, &((struct up_config *)obj)->server.profile);
}

static int
parse_server(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "command", parse_command, "missing 'command' (the model "
		  "server and its arguments)" },
		{ "profile", parse_profile, NULL },
	};

	return pal_yaml_mapping(y, fields, NF(fields), NULL, obj);
}

static int
parse_gateway_config(struct pal_yaml *y, void *obj)
{
	return read_path(y, &((struct up_config *)obj)->gateway.config);
}

static int
parse_gateway(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "config", parse_gateway_config, NULL },
	};

	return pal_yaml_mapping(y, fields, NF(fields), NULL, obj);
}

static int
parse_state(struct pal_yaml *y, void *obj)
{
	return read_path(y, &((struct up_config *)obj)->state);
}

/* ---------------------------------------------------------------------
 * The document and the object.
 */

void
up_config_free(struct up_config *c)
{
	if (c == NULL)
		return;
	free(c->name);
	free(c->model.vault);
	free(c->model.release);
	for (size_t i = 0; i < c->model.n_approvals; i++)
		free(c->model.approvals[i]);
	free(c->model.approvals);
	free(c->model.signature);
	free(c->model.key);
	free(c->model.trust_policy);
	free(c->model.source);
	free(c->model.pin_file);
	for (size_t i = 0; i < c->server.n_command; i++)
		free(c->server.command[i]);
	free(c->server.command);
	free(c->server.profile);
	free(c->gateway.config);
	free(c->state);
	free(c);
}

/* The state directory when the file names none, beside the file. */
static int
default_state(struct up_config *c, const char *base, struct pal_err *err)
{
	int n;

	if (c->state != NULL)
		return 0;
	if (base == NULL || base[0] == '\0')
		c->state = strdup(UP_STATE_DEFAULT);
	else if ((n = asprintf(&c->state, "%s/%s", base,
			       UP_STATE_DEFAULT)) < 0)
		c->state = NULL;
	return c->state != NULL ? 0 :
		pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
}

int
up_config_parse(const uint8_t *yaml, size_t len, const char *name,
		const char *base_dir, struct up_config **out,
		struct pal_err *err)
{
	static const struct pal_yaml_field fields[] = {
		{ "version", parse_version, "missing 'version: 1'" },
		{ "model", parse_model, "missing 'model' (which release, "
		  "from which vault, signed by whom)" },
		{ "server", parse_server, "missing 'server' (the model "
		  "server's command)" },
		{ "gateway", parse_gateway, NULL },
		{ "state", parse_state, NULL },
	};
	struct up_config *c = calloc(1, sizeof(*c));
	struct reader r = { .c = c, .base_dir = base_dir };
	struct pal_yaml y;
	int rc;

	*out = NULL;
	if (c == NULL || (c->name = strdup(name)) == NULL) {
		free(c);
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	rc = pal_yaml_begin(&y, yaml, len, name, &r, err);
	if (rc == 0)
		rc = pal_yaml_document(&y, fields, NF(fields), NULL,
				       "empty configuration", 1, c);
	pal_yaml_end(&y);
	if (rc == 0)
		rc = default_state(c, base_dir, err);
	if (rc != 0) {
		up_config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int
up_config_load(const char *path, struct up_config **out, struct pal_err *err)
{
	uint8_t *text = NULL;
	char *copy = strdup(path);
	size_t len;
	int rc;

	*out = NULL;
	if (copy == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	rc = pal_file_read(path, UP_CONFIG_MAX, &text, &len, err);
	if (rc != 0)
		rc = pal_err_wrap(err, rc, "configuration %s: ", path);
	else
		rc = up_config_parse(text, len, path, dirname(copy), out, err);
	free(text);
	free(copy);
	return rc;
}

/* ---------------------------------------------------------------------
 * The command, expanded.
 */

void
up_argv_free(char **argv)
{
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

static int
file_fd(const struct up_file *f, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(f[i].path) == len &&
		    memcmp(f[i].path, name, len) == 0)
			return f[i].fd;
	return -1;
}

/* One word, expanded into b. */
static int
expand_word(const char *w, const struct up_file *f, size_t n,
	    int listen_fd, struct pal_buf *b, struct pal_err *err)
{
	for (const char *p = w; *p != '\0'; p++) {
		const char *end;
		int fd, r = 0;

		if (*p != '{') {
			r = pal_buf_putc(b, *p);
		} else if (p[1] == '{') {
			r = pal_buf_putc(b, *p++);
		} else if (strncmp(p, "{listen_fd}", 11) == 0) {
			r = pal_buf_printf(b, "%d", listen_fd);
			p += 10;
		} else {
			/* up_arg_check passed: "{file:NAME}". */
			end = strchr(p, '}');
			fd = file_fd(f, n, p + 6, (size_t)(end - p - 6));
			if (fd < 0)
				return pal_err_set(err, PAL_ERR_INVALID,
						   "the command names %.*s, "
						   "which the release does "
						   "not hold",
						   (int)(end - p + 1), p);
			r = pal_buf_printf(b, "/proc/self/fd/%d", fd);
			p = end;
		}
		if (r != 0)
			return pal_err_set(err, PAL_ERR_NOMEM,
					   "out of memory");
	}
	return 0;
}

int
up_command_expand(const struct up_config *c, const struct up_file *f,
		  size_t n, int listen_fd, char ***argv, struct pal_err *err)
{
	char **v = calloc(c->server.n_command + 1, sizeof(*v));
	int rc = v != NULL ? 0 :
		pal_err_set(err, PAL_ERR_NOMEM, "out of memory");

	*argv = NULL;
	for (size_t i = 0; rc == 0 && i < c->server.n_command; i++) {
		struct pal_buf b;
		size_t len;

		pal_buf_init(&b, UP_ARG_MAX + 64);
		rc = expand_word(c->server.command[i], f, n, listen_fd, &b,
				 err);
		if (rc == 0 && pal_buf_putc(&b, '\0') != 0)
			rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		if (rc == 0 && (v[i] = (char *)pal_buf_steal(&b, &len)) == NULL)
			rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		pal_buf_free(&b);
	}
	if (rc != 0) {
		up_argv_free(v);
		return rc;
	}
	*argv = v;
	return 0;
}
