/*
 * gateway.h - `palisade serve`, the hardened gateway in front of
 * OpenAI-compatible model servers (docs/gateway.md, docs/config.md).
 *
 * A server is made from a configuration file, or from the built-in
 * configuration with its state directory (certificates, key store and log
 * made there on first use by pal_gw_prepare_state), and runs until
 * stopped.  It holds no log signing key: checkpoints are signed by a
 * keeper process on keeper_fd (tlog.h, pal_log_keeper_serve), which the
 * command starts before the gateway reads any byte from the network.
 */
#ifndef PALISADE_GATEWAY_H
#define PALISADE_GATEWAY_H

#include "palisade/error.h"

struct pal_gw_server;

struct pal_gw_options {
	const char *config_path;	/* NULL: the built-in configuration */
	const char *state_dir;		/* its state directory */
	const char *upstream;		/* its upstream URL (NULL: default) */
	int keeper_fd;			/* -1: the log's own key signs (tests) */
};

/*
 * Makes what the built-in configuration needs in state_dir, keeping what
 * exists: a self-signed server certificate for 127.0.0.1, an admin CA with
 * a server certificate and one client certificate (tls/admin-client.pem,
 * .key) for the operator, the key store, and the log.
 */
int pal_gw_prepare_state(const char *state_dir, struct pal_err *e);

/* Loads the configuration, opens everything, binds the listeners. */
int pal_gw_server_new(const struct pal_gw_options *o,
		      struct pal_gw_server **out, struct pal_err *e);

/* Serves until pal_gw_server_stop, SIGTERM or SIGINT; SIGHUP reloads. */
int pal_gw_server_run(struct pal_gw_server *g, struct pal_err *e);

/* Rebuilds everything from the configuration; the old stays on failure. */
int pal_gw_server_reload(struct pal_gw_server *g, struct pal_err *e);

/* Asks a running server to stop (thread-safe). */
void pal_gw_server_stop(struct pal_gw_server *g);

/* The listening address, "127.0.0.1:8443". */
const char *pal_gw_server_address(const struct pal_gw_server *g);

void pal_gw_server_free(struct pal_gw_server *g);

#endif
