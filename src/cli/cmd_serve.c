/*
 * cmd_serve.c - palisade serve: the gateway, and its API keys.
 *
 *	palisade serve [--config FILE | --state DIR [--upstream URL]]
 *	palisade serve check --config FILE
 *	palisade serve print-config [--state DIR] [--upstream URL]
 *	palisade serve key create --role R --owner O [--expires DAYS]
 *	                          [--rpm N] [--tpm N] [--burst N] [--json]
 *	palisade serve key list [--json]
 *	palisade serve key revoke ID
 *	(key commands take --config FILE or --state DIR to find the store)
 *
 * Without --config, the built-in configuration is used with its state
 * directory (default ./palisade-state), made on first use.  The gateway
 * runs in this process; the log's key is held by a keeper child forked
 * before any network input is read (privilege separation), which signs
 * only checkpoints that extend the log honestly.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "keeper.h"
#include "palisade/apikey.h"
#include "palisade/gateway.h"
#include "palisade/gwconfig.h"
#include "palisade/tlog.h"

#define DEFAULT_STATE "palisade-state"

struct serve_args {
	const char *config;
	const char *state;
	const char *upstream;
	const char *role, *owner;
	long expires_days;
	struct pal_gw_limits limits;
	unsigned limits_set;
	int json;
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: palisade serve [--config FILE | --state DIR "
		"[--upstream URL]]\n"
		"       palisade serve check --config FILE\n"
		"       palisade serve print-config [--state DIR] "
		"[--upstream URL]\n"
		"       palisade serve key create --role R --owner O "
		"[--expires DAYS] [--rpm N] [--tpm N] [--burst N]\n"
		"       palisade serve key list | revoke ID\n\n"
		"The hardened TLS gateway in front of an OpenAI-compatible "
		"model server\n(docs/gateway.md; configuration: "
		"docs/config.md).  Without --config it runs on\nthe built-in "
		"configuration, whose certificates, key store and log are "
		"made\nin the state directory (default ./%s).  SIGHUP reloads "
		"the configuration;\nSIGTERM and SIGINT stop.\n\n"
		"  --config FILE    the configuration (YAML)\n"
		"  --state DIR      the built-in configuration's state "
		"directory\n"
		"  --upstream URL   the built-in configuration's model server "
		"(http://127.0.0.1:8000)\n"
		"  --json           key commands: machine-readable output\n",
		DEFAULT_STATE);
}

static void
fail(const char *what, const struct pal_err *e)
{
	fprintf(stderr, "palisade serve%s%s: ", what[0] ? " " : "", what);
	cli_put_safe(stderr, e->msg);
	fputc('\n', stderr);
}

/* The configuration the arguments name (the state made when built-in). */
static int
load_config(struct serve_args *a, struct pal_gw_config **cfg,
	    struct pal_err *e)
{
	struct pal_gw_defaults d = { NULL, a->upstream };
	char *abs = NULL;
	int rc;

	if (a->config != NULL)
		return pal_gw_config_load(a->config, cfg, e);
	rc = pal_gw_prepare_state(a->state, e);
	/* The built-in configuration names its state by absolute path. */
	if (rc == 0 && (abs = realpath(a->state, NULL)) == NULL)
		rc = pal_err_set(e, PAL_ERR_IO, "%s: %s", a->state,
				 strerror(errno));
	d.state_dir = abs;
	if (rc == 0)
		rc = pal_gw_config_default(&d, PAL_GW_CONFIG_CHECK_FILES, cfg,
					   e);
	free(abs);
	return rc;
}

static int
run(struct serve_args *a)
{
	struct pal_err e = { 0 };
	struct pal_gw_config *cfg = NULL;
	struct pal_gw_server *g = NULL;
	struct pal_gw_options o = { a->config, NULL, a->upstream, -1 };
	char *state = NULL;
	pid_t keeper = -1;
	int rc = load_config(a, &cfg, &e), status = 0;

	/* The built-in configuration's state, as load_config resolved it. */
	if (rc == 0 && a->config == NULL &&
	    (state = strdup(cfg->base_dir)) == NULL)
		rc = pal_err_set(&e, PAL_ERR_NOMEM, "out of memory");
	o.state_dir = state;
	if (rc == 0)
		keeper = cli_keeper_start(cfg->log.dir, "serve", &o.keeper_fd,
					  &e);
	pal_gw_config_free(cfg);
	if (rc == 0 && keeper < 0)
		rc = PAL_ERR_SYSTEM;
	prctl(PR_SET_DUMPABLE, 0);
	if (rc == 0)
		rc = pal_gw_server_new(&o, &g, &e);
	if (rc == 0) {
		fprintf(stderr, "palisade serve: listening on https://%s\n",
			pal_gw_server_address(g));
		rc = pal_gw_server_run(g, &e);
	}
	pal_gw_server_free(g);
	if (o.keeper_fd >= 0)
		close(o.keeper_fd);
	if (keeper > 0)
		waitpid(keeper, &status, 0);
	free(state);
	if (rc < 0) {
		fail("", &e);
		return CLI_ERROR;
	}
	return CLI_OK;
}

/* ---- keys ---- */

static int
open_store(struct serve_args *a, unsigned flags,
	   struct pal_apikey_store **s, struct pal_gw_config **cfg,
	   struct pal_err *e)
{
	int rc = load_config(a, cfg, e);

	if (rc == 0)
		rc = pal_apikey_store_open((*cfg)->keys.store, flags, s, e);
	return rc;
}

static int
key_create(struct serve_args *a)
{
	struct pal_err e = { 0 };
	struct pal_apikey_store *s = NULL;
	struct pal_gw_config *cfg = NULL;
	char token[PAL_APIKEY_TOKEN_LEN + 1], id[PAL_APIKEY_ID_LEN + 1];
	int64_t now = (int64_t)time(NULL);
	struct pal_apikey_spec spec = {
		.owner = a->owner, .role = a->role,
		.expires = a->expires_days > 0 ? now + a->expires_days * 86400
					       : 0,
		.limits = a->limits, .limits_set = a->limits_set,
	};
	int rc;

	if (a->role == NULL || a->owner == NULL) {
		fprintf(stderr, "palisade serve key create: --role and "
			"--owner are required\n");
		return CLI_ERROR;
	}
	rc = open_store(a, PAL_APIKEY_OPEN_CREATE, &s, &cfg, &e);
	if (rc == 0 && pal_gw_config_role(cfg, a->role) == NULL)
		rc = pal_err_set(&e, PAL_ERR_INVALID, "role '%s' is not in "
				 "the configuration", a->role);
	if (rc == 0)
		rc = pal_apikey_create(s, &spec, now, token, id, &e);
	pal_apikey_store_close(s);
	pal_gw_config_free(cfg);
	if (rc < 0) {
		fail("key create", &e);
		return CLI_ERROR;
	}
	/* The token is shown once; only its salted hash is stored. */
	if (a->json)
		printf("{\"id\":\"%s\",\"token\":\"%s\"}\n", id, token);
	else
		printf("%s\n", token);
	fflush(stdout);
	OPENSSL_cleanse(token, sizeof(token));
	fprintf(stderr, "key %s created for %s (role %s); the token above "
		"is shown only once\n", id, a->owner, a->role);
	return CLI_OK;
}

static void
print_key(const struct pal_apikey_record *r, int json)
{
	char when[32] = "never";
	time_t t = (time_t)r->expires;
	struct tm tm;

	if (json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "id",
				      r->id, "owner", r->owner, "role",
				      r->role, "created",
				      (json_int_t)r->created, "expires",
				      (json_int_t)r->expires, "revoked",
				      (json_int_t)r->revoked);
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (s != NULL)
			puts(s);
		free(s);
		json_decref(j);
		return;
	}
	if (r->expires != 0 && gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s  %-10s  %-20s  expires %s%s\n", r->id, r->role, r->owner,
	       when, r->revoked ? "  REVOKED" : "");
}

static int
key_list(struct serve_args *a)
{
	struct pal_err e = { 0 };
	struct pal_apikey_store *s = NULL;
	struct pal_gw_config *cfg = NULL;
	struct pal_apikey_record *v = NULL;
	size_t n = 0;
	int rc = open_store(a, PAL_APIKEY_OPEN_READONLY, &s, &cfg, &e);

	if (rc == 0)
		rc = pal_apikey_list(s, &v, &n, &e);
	for (size_t i = 0; rc == 0 && i < n; i++)
		print_key(&v[i], a->json);
	free(v);
	pal_apikey_store_close(s);
	pal_gw_config_free(cfg);
	if (rc < 0) {
		fail("key list", &e);
		return CLI_ERROR;
	}
	return CLI_OK;
}

static int
key_revoke(struct serve_args *a, const char *id)
{
	struct pal_err e = { 0 };
	struct pal_apikey_store *s = NULL;
	struct pal_gw_config *cfg = NULL;
	int rc = open_store(a, 0, &s, &cfg, &e);

	if (rc == 0)
		rc = pal_apikey_revoke(s, id, (int64_t)time(NULL), &e);
	pal_apikey_store_close(s);
	pal_gw_config_free(cfg);
	if (rc < 0) {
		fail("key revoke", &e);
		return CLI_ERROR;
	}
	fprintf(stderr, "key %s revoked\n", id);
	return CLI_OK;
}

/* ---- arguments ---- */

static int
parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > UINT32_MAX ||
	    s[0] == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

enum { O_CONFIG = 1, O_STATE, O_UPSTREAM, O_ROLE, O_OWNER, O_EXPIRES,
       O_RPM, O_TPM, O_BURST, O_JSON, O_HELP };

static int
parse(int argc, char **argv, struct serve_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, O_CONFIG },
		{ "state", required_argument, NULL, O_STATE },
		{ "upstream", required_argument, NULL, O_UPSTREAM },
		{ "role", required_argument, NULL, O_ROLE },
		{ "owner", required_argument, NULL, O_OWNER },
		{ "expires", required_argument, NULL, O_EXPIRES },
		{ "rpm", required_argument, NULL, O_RPM },
		{ "tpm", required_argument, NULL, O_TPM },
		{ "burst", required_argument, NULL, O_BURST },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	uint32_t v;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case O_CONFIG: a->config = optarg; break;
		case O_STATE: a->state = optarg; break;
		case O_UPSTREAM: a->upstream = optarg; break;
		case O_ROLE: a->role = optarg; break;
		case O_OWNER: a->owner = optarg; break;
		case O_JSON: a->json = 1; break;
		case O_EXPIRES:
			if (parse_u32(optarg, &v) < 0 || v == 0)
				goto bad;
			a->expires_days = v;
			break;
		case O_RPM: case O_TPM: case O_BURST:
			if (parse_u32(optarg, &v) < 0)
				goto bad;
			if (c == O_RPM) {
				a->limits.requests_per_minute = v;
				a->limits_set |= PAL_APIKEY_SET_RPM;
			} else if (c == O_TPM) {
				a->limits.tokens_per_minute = v;
				a->limits_set |= PAL_APIKEY_SET_TPM;
			} else {
				a->limits.burst = v;
				a->limits_set |= PAL_APIKEY_SET_BURST;
			}
			break;
		case 'h': case O_HELP: usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (a->config != NULL && (a->state != NULL || a->upstream != NULL)) {
		fprintf(stderr, "palisade serve: --config excludes --state "
			"and --upstream\n");
		return -1;
	}
	if (a->state == NULL)
		a->state = DEFAULT_STATE;
	return 0;
bad:
	fprintf(stderr, "palisade serve: bad number '%s'\n", optarg);
	return -1;
}

static int
print_config(struct serve_args *a)
{
	struct pal_gw_defaults d = { a->state, a->upstream };
	struct pal_err e = { 0 };
	char *yaml = NULL;
	size_t len = 0;

	if (pal_gw_config_default_yaml(&d, &yaml, &len, &e) < 0) {
		fail("print-config", &e);
		return CLI_ERROR;
	}
	fwrite(yaml, 1, len, stdout);
	free(yaml);
	return CLI_OK;
}

static int
check(struct serve_args *a)
{
	struct pal_err e = { 0 };
	struct pal_gw_config *cfg = NULL;

	if (a->config == NULL) {
		fprintf(stderr, "palisade serve check: --config FILE\n");
		return CLI_ERROR;
	}
	if (pal_gw_config_load(a->config, &cfg, &e) < 0) {
		fail("check", &e);
		return CLI_FINDING;
	}
	printf("%s: valid (%zu upstreams, %zu roles)\n", a->config,
	       cfg->n_upstreams, cfg->n_roles);
	pal_gw_config_free(cfg);
	return CLI_OK;
}

int
cmd_serve(int argc, char **argv)
{
	struct serve_args a = { 0 };
	const char *sub = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
	int skip = sub == NULL ? 0 : strcmp(sub, "key") == 0 ? 2 : 1;
	int rc;

	if (sub != NULL && strcmp(sub, "key") == 0 &&
	    (argc < 3 || argv[2][0] == '-')) {
		usage(stderr);
		return CLI_ERROR;
	}
	rc = parse(argc - skip, argv + skip, &a);
	if (rc != 0)
		return rc > 0 ? CLI_OK : CLI_ERROR;
	if (sub == NULL)
		return optind == argc ? run(&a) : (usage(stderr), CLI_ERROR);
	if (strcmp(sub, "check") == 0)
		return check(&a);
	if (strcmp(sub, "print-config") == 0)
		return print_config(&a);
	if (strcmp(sub, "key") == 0) {
		const char *op = argv[2];
		int left = argc - skip - optind;
		if (strcmp(op, "create") == 0 && left == 0)
			return key_create(&a);
		if (strcmp(op, "list") == 0 && left == 0)
			return key_list(&a);
		if (strcmp(op, "revoke") == 0 && left == 1)
			return key_revoke(&a, argv[skip + optind]);
	}
	usage(stderr);
	return CLI_ERROR;
}
