/*
 * up.h - palisade up: the whole path in one command (docs/up.md).  What
 * cmd_up.c and its step files (up_*.c) share.
 *
 * The release is unsealed into sealed memfds first, and those bytes, and
 * no copy of them, are verified against the signature, scanned, and
 * handed to the model server, which runs in the sandbox behind the
 * gateway.  Every step is recorded in the gateway's Palisade log.
 */
#ifndef PALISADE_CLI_UP_H
#define PALISADE_CLI_UP_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"

#define UP_CONFIG_DEFAULT "palisade-up.yaml"
#define UP_STATE_DEFAULT "palisade-state"
#define UP_CONFIG_MAX (64 * 1024)	/* bytes of a configuration file */
#define UP_APPROVALS_MAX 16		/* approval files */
#define UP_ARGS_MAX 256			/* words of the server's command */
#define UP_ARG_MAX 4096			/* bytes of one word */
#define UP_PATH_MAX 4096		/* bytes of a path */

/* A configuration (docs/up.md); every string is owned by it. */
struct up_config {
	char *name;			/* the file, as given */
	struct {
		char *vault;
		char *release;
		char **approvals;	/* approval files, at least one */
		size_t n_approvals;
		char *signature;	/* the OMS bundle */
		char *key;		/* PEM public key, or NULL */
		char *trust_policy;	/* or a trust policy file */
		char *source;		/* its source (NULL: the release) */
		char *pin_file;		/* NULL: PALISADE_PKCS11_PIN */
	} model;
	struct {
		char **command;		/* argv, placeholders unexpanded */
		size_t n_command;
		char *profile;		/* NULL: the built-in profile */
	} server;
	struct {
		char *config;		/* NULL: the built-in configuration */
	} gateway;
	char *state;			/* the state directory */
};

/*
 * Reads a configuration from yaml[0..len), a file called name (first in
 * every message, "name:line:column: key.path: detail"); relative paths
 * are joined to base_dir (NULL or "": left as written).  Only the keys
 * of docs/up.md, each once, typed strictly; the server's command words
 * have well-formed placeholders.  PAL_ERR_POLICY for a mistake,
 * PAL_ERR_NOMEM.  *out: caller frees (up_config_free); nothing on error.
 */
int up_config_parse(const uint8_t *yaml, size_t len, const char *name,
		    const char *base_dir, struct up_config **out,
		    struct pal_err *err);

/* Reads the file at path (at most UP_CONFIG_MAX bytes), paths relative
 * to its directory. */
int up_config_load(const char *path, struct up_config **out,
		   struct pal_err *err);

void up_config_free(struct up_config *c);

/* The commented starting file that --print-config prints. */
extern const char up_config_template[];

/*
 * Checks one word of the server's command: "{{" is a '{'; "{listen_fd}"
 * and "{file:NAME}" (NAME a canonical relative path) are placeholders;
 * any other '{' is an error, which why (n bytes) describes.
 */
int up_arg_check(const char *word, char *why, size_t n);

/* An unsealed file, as the placeholders see it. */
struct up_file {
	const char *path;		/* its name in the release */
	int fd;
};

/*
 * The server's command with its placeholders replaced: {listen_fd} by
 * listen_fd, {file:NAME} by /proc/self/fd/N of the file called NAME
 * (PAL_ERR_INVALID when the release has none).  *argv is NULL-terminated;
 * free with up_argv_free.
 */
int up_command_expand(const struct up_config *c, const struct up_file *f,
		      size_t n, int listen_fd, char ***argv,
		      struct pal_err *err);
void up_argv_free(char **argv);

/* ---------------------------------------------------------------------
 * A run of palisade up: what its steps share.
 */

#include <signal.h>
#include <stdatomic.h>
#include <sys/types.h>

#include <jansson.h>

#include "palisade/apikey.h"
#include "palisade/vault.h"

struct pal_gw_config;
struct pal_gw_server;

#define UP_SOCK_MAX 108			/* sun_path */
#define UP_READY_SECONDS 60		/* for the server to answer */
#define UP_STOP_SECONDS 10		/* for the sandbox to end on SIGTERM */

struct up {
	const struct up_config *cfg;
	char *state;			/* the state directory, absolute */
	char sock[UP_SOCK_MAX];		/* STATE/model.sock */
	char upstream[UP_SOCK_MAX + 8];	/* "unix:" and sock */
	char *server_out;		/* STATE/server.log: its output */
	struct pal_gw_config *gw;	/* the gateway's configuration */
	pid_t keeper;			/* holds the log's key; -1: none */
	int keeper_fd;
	struct pal_unsealed model;	/* the release, in sealed memfds */
	char approvers[256];		/* who approved the unseal */
	char manifest[72];		/* "sha256:" and the root digest */
	pid_t server;			/* the sandbox's launcher; -1: none */
	char key_id[PAL_APIKEY_ID_LEN + 1];	/* the key made, or "" */
	char token[PAL_APIKEY_TOKEN_LEN + 1];	/* shown once, then wiped */
	/* Set by the supervising thread (cmd_up.c), read by the steps. */
	atomic_int stop_signal;		/* SIGINT or SIGTERM received */
};

/* up_log.c: one entry of the gateway's log, its key in the keeper. */
int up_log(struct up *u, const char *type, const char *subject,
	   json_t *details, struct pal_err *err);

/* up_model.c: the release, unsealed, verified and scanned. */
int up_unseal(struct up *u, struct pal_err *err);
int up_verify(struct up *u, struct pal_err *err);
int up_scan(struct up *u, struct pal_err *err);

/* up_server.c: the model server in the sandbox. */
int up_server_start(struct up *u, struct pal_err *err);
int up_server_ready(struct up *u, struct pal_err *err);
/* 1 when the server has ended (not reaped: up_server_stop does). */
int up_server_ended(const struct up *u);
/* Stops it (SIGTERM, then SIGKILL), reaps it; its status as a shell says. */
int up_server_stop(struct up *u);
/* The last lines of its output, for a message (static buffer). */
const char *up_server_tail(const struct up *u);

/* up_gateway.c: the gateway's state, configuration, keeper and key. */
int up_gateway_prepare(struct up *u, struct pal_err *err);
int up_key_create(struct up *u, struct pal_err *err);
void up_key_revoke(struct up *u);
int up_gateway_new(struct up *u, struct pal_gw_server **g,
		   struct pal_err *err);
/* Closes the keeper's socket and waits for it. */
void up_keeper_stop(struct up *u);

#endif
