/*
 * gwconfig.h - the configuration of `palisade serve` (docs/config.md):
 * one YAML file read strictly into the listener, admin, upstream, key
 * store and log settings and the policy structures of gwpolicy.h.
 *
 * A configuration that loads is whole and consistent: every key was
 * known, of its type and within its limits, every cross-reference holds
 * (admin and public listeners differ, prompts fit in bodies, a role's
 * max_tokens is within the gateway's, no model is served by two
 * upstreams), and, when asked (PAL_GW_CONFIG_CHECK_FILES, always by
 * pal_gw_config_load), every file it names exists, is a regular file
 * and is readable, and a private key is not readable by everyone.  A
 * failed load returns no configuration at all, so that a reload that
 * fails leaves the running one untouched.  Loading opens no socket and
 * resolves no name: addresses are IP literals, and upstreams are on
 * loopback or a Unix socket.
 *
 * Errors are PAL_ERR_POLICY with "file:line:column: key.path: detail",
 * a file it names that fails its check included ("...: listen.tls.cert:
 * /etc/palisade/tls/server.pem: No such file or directory"); PAL_ERR_IO
 * when the configuration file itself cannot be read, PAL_ERR_LIMIT when
 * it is larger than PAL_GW_CONFIG_MAX, PAL_ERR_INVALID for bad
 * arguments, PAL_ERR_NOMEM.  A loaded configuration is
 * read-only: any number of threads may read it at once; the server swaps
 * whole configurations on reload and frees the old one when no request
 * uses it any more.
 */
#ifndef PALISADE_GWCONFIG_H
#define PALISADE_GWCONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "palisade/error.h"
#include "palisade/gwpolicy.h"

#define PAL_GW_CONFIG_MAX (256 * 1024)	/* bytes of a configuration file */
#define PAL_GW_PATH_MAX 4096		/* bytes of a path, resolved, and
					   its NUL */
#define PAL_GW_NAME_MAX 64		/* bytes of a role or upstream name */
#define PAL_GW_MODEL_MAX 256		/* bytes of a model name or glob */
#define PAL_GW_ROUTE_PATH_MAX 256	/* bytes of a route's path */
#define PAL_GW_URL_MAX 1024		/* bytes of an upstream or webhook URL */
#define PAL_GW_MAX_UPSTREAMS 16
#define PAL_GW_MAX_UPSTREAM_MODELS 256	/* models of one upstream */
#define PAL_GW_MAX_ROUTES 32		/* routes of one upstream */
#define PAL_GW_MAX_ROLES 128
#define PAL_GW_MAX_ROLE_MODELS 64	/* model globs of one role */
#define PAL_GW_MAX_NETWORKS 64		/* networks of one role */
#define PAL_GW_MAX_STRIP 32		/* response fields stripped */
#define PAL_GW_MAX_CLIENTS 256		/* certificate identities */
#define PAL_GW_CLIENT_NAME_MAX 27	/* "cert:" + name is an identity id
					   of at most 32 bytes */
#define PAL_GW_CLIENT_CN_MAX 64		/* bytes of a subject CN (RFC 5280) */

/* Checks every file the configuration names (pal_gw_config_parse). */
#define PAL_GW_CONFIG_CHECK_FILES 0x1u

/* TLS protocol versions, as OpenSSL numbers them. */
#define PAL_GW_TLS1_2 0x0303
#define PAL_GW_TLS1_3 0x0304

enum pal_gw_client_auth {
	PAL_GW_CLIENT_AUTH_NONE = 0,	/* no client certificate asked */
	PAL_GW_CLIENT_AUTH_OPTIONAL,	/* asked; verified when sent */
	PAL_GW_CLIENT_AUTH_REQUIRE,	/* the handshake fails without one */
};

/*
 * An IP address and port to listen on, parsed from "a.b.c.d:port" or
 * "[v6]:port" (literals only; port 1-65535).
 */
struct pal_gw_addr {
	struct sockaddr_storage sa;	/* AF_INET or AF_INET6, port set */
	socklen_t salen;
	char text[64];			/* canonical "127.0.0.1:8443",
					   "[::1]:8443" */
};

/*
 * A TLS server.  Paths are resolved: absolute, or joined to the
 * configuration's directory.  The files are the server core's to load;
 * ciphers follow from min_version (TLS 1.3's suites; with 1.2 also only
 * ECDHE key exchange with AEAD ciphers).
 */
struct pal_gw_tls {
	char *cert;			/* PEM chain, leaf first */
	char *key;			/* PEM private key */
	char *client_ca;		/* PEM CA bundle, or NULL: no mTLS */
	enum pal_gw_client_auth client_auth; /* NONE iff client_ca NULL */
	int min_version;		/* PAL_GW_TLS1_3 (default) or 1_2 */
};

/* Bounds of the public listener's connections and requests. */
struct pal_gw_listen_limits {
	uint32_t max_connections;	/* open at once; above: accept waits */
	uint32_t max_header_bytes;	/* request line and headers */
	uint32_t max_headers;		/* header fields of a request */
	size_t max_body_bytes;		/* a request body (= body.max_body) */
	uint32_t max_requests_per_connection;
	uint32_t header_timeout_ms;	/* the whole head, from its first
					   byte or from the previous
					   response (slowloris) */
	uint32_t body_timeout_ms;	/* the whole body, after the head */
	uint32_t idle_timeout_ms;	/* keep-alive between requests */
	uint32_t threads;		/* event loops; 0: one per core */
};

struct pal_gw_listener {
	struct pal_gw_addr address;
	struct pal_gw_tls tls;
	struct pal_gw_listen_limits limits;
};

/* The admin listener (kill switch, keys, reload, health, metrics). */
struct pal_gw_admin {
	int enabled;			/* 0: the file has no 'admin' */
	struct pal_gw_addr address;
	struct pal_gw_tls tls;		/* client_ca always set,
					   client_auth always REQUIRE */
};

/* A route an upstream serves: method and exact path, and its kind. */
struct pal_gw_route {
	char method[8];			/* "GET" or "POST" */
	char *path;			/* "/v1/chat/completions" */
	enum pal_gw_route_kind kind;	/* chat, completion, embedding: POST;
					   models: GET */
};

/*
 * Where an upstream or the webhook is: TCP on a loopback address, or a
 * Unix socket (upstreams only).
 */
struct pal_gw_endpoint {
	int is_unix;
	struct sockaddr_storage sa;	/* AF_INET, AF_INET6 or AF_UNIX */
	socklen_t salen;
	char host[64];			/* for the Host header: "127.0.0.1:
					   8000", "[::1]:8000", "localhost" */
	char *path;			/* webhook: "/alert" ("/" when none);
					   upstreams: NULL */
};

struct pal_gw_upstream {
	char *name;
	char *url;			/* as written */
	struct pal_gw_endpoint endpoint;
	uint32_t connect_timeout_ms;
	uint32_t read_timeout_ms;	/* longest wait for the next bytes of
					   a response */
	uint32_t max_idle;		/* pooled idle connections */
	char **models;			/* exact names; n_models 0: every
					   model no other upstream lists */
	size_t n_models;
	struct pal_gw_route *routes;	/* the allowlist; never empty */
	size_t n_routes;
};

/*
 * A client certificate as an identity (mutual TLS, listen.tls.client_ca):
 * a request without an API key, over a connection whose verified
 * certificate matches, acts as "cert:<name>" with this role and limits.
 * A client matches when each criterion it sets holds: the subject's one
 * common name equals subject, the certificate's SHA-256 equals sha256.
 */
struct pal_gw_client {
	char *name;			/* [A-Za-z0-9_.-], 1 to
					   PAL_GW_CLIENT_NAME_MAX bytes */
	char *subject;			/* CN, UTF-8; NULL: any */
	int has_sha256;
	uint8_t sha256[32];		/* of the DER certificate */
	char *role;			/* a configured role */
	struct pal_gw_limits limits;	/* the fields in limits_set override
					   the role's */
	unsigned limits_set;		/* PAL_GW_LIMIT_* */
};

#define PAL_GW_LIMIT_RPM 0x1u
#define PAL_GW_LIMIT_TPM 0x2u
#define PAL_GW_LIMIT_BURST 0x4u

struct pal_gw_keys {
	char *store;			/* the SQLite key store, resolved */
	struct pal_gw_lockout lockout;
};

/* Prompt-injection checks (inject.h, docs/injection.md). */
struct pal_gw_injection {
	int enabled;			/* 0: action off, no checks */
	char *rules;			/* the rules file, resolved; NULL: the
					   built-in rules
					   (pal_inject_rules_default) */
	int block;			/* 1: block (403); 0: flag (log) */
	uint32_t threshold;		/* a total score at or above it fires */
};

enum pal_gw_payloads {
	PAL_GW_PAYLOADS_NONE = 0,	/* digests only */
	PAL_GW_PAYLOADS_ENCRYPTED,	/* full bodies, to payload_key */
};

struct pal_gw_log {
	char *dir;			/* the Palisade log directory */
	enum pal_gw_payloads payloads;
	char *payload_key;		/* PEM public key; set iff ENCRYPTED */
};

/* A whole configuration.  Everything in it is owned by it. */
struct pal_gw_config {
	char *name;			/* the file, as given */
	char *base_dir;			/* relative paths were joined to it */
	struct pal_gw_listener listen;
	struct pal_gw_admin admin;
	struct pal_gw_upstream *upstreams; /* at least one */
	size_t n_upstreams;
	struct pal_gw_keys keys;
	struct pal_gw_role *roles;	/* at least one */
	size_t n_roles;
	struct pal_gw_client *clients;	/* certificate identities; any
					   only with listen.tls.client_ca */
	size_t n_clients;
	struct pal_gw_body_policy body;	/* max_body: listen.limits */
	struct pal_gw_output_policy output;
	struct pal_gw_injection injection;
	struct pal_gw_abuse_policy abuse;
	struct pal_gw_endpoint abuse_webhook; /* when abuse.webhook is set */
	struct pal_gw_log log;
};

/*
 * Reads the configuration file at path (at most PAL_GW_CONFIG_MAX bytes)
 * with relative paths resolved against its directory (made absolute, so
 * that a later chdir does not move them) and every named file checked.
 * *out is NULL on failure; caller frees with pal_gw_config_free.
 */
int pal_gw_config_load(const char *path, struct pal_gw_config **out,
		       struct pal_err *err);

/*
 * The same from bytes: name (e.g. the file's name) starts every message,
 * relative paths are joined to base_dir (NULL or "": left relative), and
 * flags may ask for PAL_GW_CONFIG_CHECK_FILES.  Without it no file system
 * call is made: this is what the fuzzer reads with.
 */
int pal_gw_config_parse(const uint8_t *yaml, size_t len, const char *name,
			const char *base_dir, unsigned flags,
			struct pal_gw_config **out, struct pal_err *err);

void pal_gw_config_free(struct pal_gw_config *cfg);

/*
 * The built-in configuration of `palisade serve` without --config and of
 * `palisade up`, for a state directory (absolute path) that holds:
 *
 *	tls/server.pem, tls/server.key          the public listener's
 *	tls/admin.pem, tls/admin.key            the admin listener's
 *	tls/admin-ca.pem                        CA of admin client certs
 *	keys.db                                 the key store
 *	log/                                    the Palisade log
 *
 * (the server core makes them).  It listens on 127.0.0.1:8443, admin on
 * 127.0.0.1:8444, in front of one upstream (NULL: "http://127.0.0.1:
 * 8000") serving every model, with one role "default" granting every
 * model and route and otherwise the defaults of docs/config.md.
 *
 * pal_gw_config_default_yaml gives the text (commented, a file the
 * operator can start from; caller frees *out, a NUL after *len bytes);
 * pal_gw_config_default reads that text as a file in state_dir would be,
 * with flags as for pal_gw_config_parse.
 */
struct pal_gw_defaults {
	const char *state_dir;
	const char *upstream;		/* URL, or NULL */
};

int pal_gw_config_default_yaml(const struct pal_gw_defaults *d, char **out,
			       size_t *len, struct pal_err *err);
int pal_gw_config_default(const struct pal_gw_defaults *d, unsigned flags,
			  struct pal_gw_config **out, struct pal_err *err);

/* The role called name, or NULL. */
const struct pal_gw_role *pal_gw_config_role(const struct pal_gw_config *cfg,
					     const char *name);

/*
 * The first client whose criteria the certificate meets: its subject's
 * common name cn (cn_len bytes, UTF-8; NULL when it has none or several)
 * and its SHA-256; NULL when none does.
 */
const struct pal_gw_client *
pal_gw_config_client(const struct pal_gw_config *cfg, const char *cn,
		     size_t cn_len, const uint8_t sha256[32]);

/*
 * The upstream that serves model (n bytes, not NUL-terminated): the one
 * listing it, else the one listing no models, else NULL.
 */
const struct pal_gw_upstream *
pal_gw_config_upstream(const struct pal_gw_config *cfg, const char *model,
		       size_t n);

/*
 * Parses s[0..n) as "a.b.c.d/len", "v6/len" or a bare address (a host:
 * /32 or /128) into *out, IPv4 as ::ffff:a.b.c.d with 96 added to the
 * prefix.  Refuses host bits set below the prefix ("10.0.0.1/8"), a
 * prefix with a sign or leading zero, zone ids.  No message: the caller
 * knows where s came from.  0 or PAL_ERR_FORMAT.
 */
int pal_gw_cidr_parse(const char *s, size_t n, struct pal_gw_cidr *out);

/* 1 if the 16-byte address addr (IPv4 as ::ffff:a.b.c.d) is in c. */
int pal_gw_cidr_contains(const struct pal_gw_cidr *c, const uint8_t addr[16]);

#endif
