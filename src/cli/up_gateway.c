/*
 * up_gateway.c - palisade up's gateway: its state directory, its
 * configuration (the built-in one in front of the model's socket, unless
 * the configuration names a file), the keeper of its log's key, the user
 * key printed once, and the server itself, which runs in this process as
 * under palisade serve.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "keeper.h"
#include "palisade/gateway.h"
#include "palisade/gwconfig.h"
#include "up.h"

#define UP_ROLE "default"
#define UP_OWNER "up"

/* The state directory, made 0700 when missing, and the paths in it. */
static int
state_paths(struct up *u, struct pal_err *err)
{
	const char *dir = u->cfg->state;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", dir,
				   strerror(errno));
	if ((u->state = realpath(dir, NULL)) == NULL)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", dir,
				   strerror(errno));
	if ((size_t)snprintf(u->sock, sizeof(u->sock), "%s/model.sock",
			     u->state) >= sizeof(u->sock))
		return pal_err_set(err, PAL_ERR_INVALID, "%s: the state "
				   "directory's path is too long for a Unix "
				   "socket in it (%zu bytes at most)", dir,
				   sizeof(u->sock) - sizeof("/model.sock"));
	snprintf(u->upstream, sizeof(u->upstream), "unix:%s", u->sock);
	if (asprintf(&u->server_out, "%s/server.log", u->state) < 0) {
		u->server_out = NULL;
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* 1 when the endpoint is the model's socket (symbolic links resolved). */
static int
is_model_socket(const struct up *u, const struct pal_gw_endpoint *e)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)&e->sa;
	char path[sizeof(un->sun_path)], *dir, *base, *real;
	int same;

	if (!e->is_unix)
		return 0;
	snprintf(path, sizeof(path), "%s", un->sun_path);
	base = strrchr(path, '/');
	if (base == NULL || base == path)
		return 0;
	*base++ = '\0';
	dir = path;
	if ((real = realpath(dir, NULL)) == NULL)
		return 0;
	same = strcmp(real, u->state) == 0 &&
	       strcmp(base, "model.sock") == 0;
	free(real);
	return same;
}

/* A configuration file must send its requests to the model's socket. */
static int
check_upstream(const struct up *u, struct pal_err *err)
{
	for (size_t i = 0; i < u->gw->n_upstreams; i++)
		if (is_model_socket(u, &u->gw->upstreams[i].endpoint))
			return 0;
	return pal_err_set(err, PAL_ERR_INVALID, "%s: no upstream is %s, "
			   "where the model server listens",
			   u->cfg->gateway.config, u->upstream);
}

static int
load_config(struct up *u, struct pal_err *err)
{
	struct pal_gw_defaults d = { u->state, u->upstream };
	int rc;

	if (u->cfg->gateway.config != NULL) {
		rc = pal_gw_config_load(u->cfg->gateway.config, &u->gw, err);
		return rc == 0 ? check_upstream(u, err) : rc;
	}
	rc = pal_gw_prepare_state(u->state, err);
	if (rc == 0)
		rc = pal_gw_config_default(&d, PAL_GW_CONFIG_CHECK_FILES,
					   &u->gw, err);
	return rc;
}

int
up_gateway_prepare(struct up *u, struct pal_err *err)
{
	int rc = state_paths(u, err);

	if (rc == 0)
		rc = load_config(u, err);
	if (rc == 0 && pal_gw_config_role(u->gw, UP_ROLE) == NULL)
		rc = pal_err_set(err, PAL_ERR_INVALID, "%s: no role '%s' for "
				 "the key palisade up makes", u->gw->name,
				 UP_ROLE);
	if (rc == 0) {
		u->keeper = cli_keeper_start(u->gw->log.dir, "up",
					     &u->keeper_fd, err);
		if (u->keeper < 0)
			rc = PAL_ERR_SYSTEM;
	}
	return rc;
}

void
up_keeper_stop(struct up *u)
{
	int status;

	if (u->keeper_fd >= 0)
		close(u->keeper_fd);
	u->keeper_fd = -1;
	if (u->keeper > 0)
		waitpid(u->keeper, &status, 0);
	u->keeper = -1;
}

/* ---- the user's key ---- */

int
up_key_create(struct up *u, struct pal_err *err)
{
	struct pal_apikey_spec spec = { .owner = UP_OWNER, .role = UP_ROLE };
	struct pal_apikey_store *s = NULL;
	int rc;

	rc = pal_apikey_store_open(u->gw->keys.store, PAL_APIKEY_OPEN_CREATE,
				   &s, err);
	if (rc == 0)
		rc = pal_apikey_create(s, &spec, (int64_t)time(NULL), u->token,
				       u->key_id, err);
	pal_apikey_store_close(s);
	return rc;
}

/*
 * A start that failed after the key was made takes it back: nobody has
 * seen its token, and the store should not keep a key of no one.
 */
void
up_key_revoke(struct up *u)
{
	struct pal_apikey_store *s = NULL;
	struct pal_err e = { 0 };

	OPENSSL_cleanse(u->token, sizeof(u->token));
	if (u->key_id[0] == '\0')
		return;
	if (pal_apikey_store_open(u->gw->keys.store, 0, &s, &e) != 0 ||
	    pal_apikey_revoke(s, u->key_id, (int64_t)time(NULL), &e) != 0)
		fprintf(stderr, "palisade up: the unused key %s stays in %s: "
			"%s\n", u->key_id, u->gw->keys.store, e.msg);
	pal_apikey_store_close(s);
	u->key_id[0] = '\0';
}

/* ---- the server ---- */

int
up_gateway_new(struct up *u, struct pal_gw_server **g, struct pal_err *err)
{
	/* The built-in configuration keeps these; they outlive it in u. */
	struct pal_gw_options o = {
		u->cfg->gateway.config,
		u->cfg->gateway.config == NULL ? u->state : NULL,
		u->cfg->gateway.config == NULL ? u->upstream : NULL,
		u->keeper_fd,
	};

	return pal_gw_server_new(&o, g, err);
}
