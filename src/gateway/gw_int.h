/*
 * gw_int.h - what the files of the gateway's server core share.
 *
 * The server runs one worker thread per core, each with its own libevent
 * base and its own listening socket on the same port (SO_REUSEPORT), so
 * that a connection lives and dies on one thread and needs no locks.  What
 * the workers share (the configuration in force, the key snapshot, the
 * block lists, limits, abuse signals and metrics) is either immutable and
 * swapped whole under a reference count, or made safe for threads by the
 * module that owns it.
 */
#ifndef PALISADE_GW_INT_H
#define PALISADE_GW_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "palisade/error.h"

/* The files of a TLS server context. */
struct gw_tls_files {
	const char *cert;		/* PEM chain */
	const char *key;		/* PEM private key */
	const char *client_ca;		/* NULL: no client certificates */
	int client_required;		/* refuse a client without one */
	int allow_tls12;		/* else TLS 1.3 only */
};

/* A new server context from f (caller frees with SSL_CTX_free). */
int gw_tls_context(const struct gw_tls_files *f, SSL_CTX **out,
		   struct pal_err *e);

/*
 * The common name of the client's verified certificate into out; -1 when
 * there is no verified certificate.
 */
int gw_tls_peer_identity(SSL *ssl, char *out, size_t cap);

/*
 * A self-signed ECDSA P-256 certificate for 127.0.0.1, ::1 and localhost,
 * valid for days, written to cert_path and key_path (0600) unless both
 * exist already (the embedded defaults).
 */
int gw_selfcert_ensure(const char *cert_path, const char *key_path,
		       unsigned days, struct pal_err *e);

/* ---- records in the Palisade log (reqlog.c) ---- */

struct gw_reqlog;

/*
 * Opens the log in dir for appends by appenders threads, signed through
 * the keeper on keeper_fd (-1: with the log's own key, for tests), with
 * at most max_queue records waiting.
 */
int gw_reqlog_open(const char *dir, int keeper_fd, unsigned appenders,
		   size_t max_queue, struct gw_reqlog **out, struct pal_err *e);

/*
 * Queues a record of type (a static string, e.g. "serve.request") with
 * an optional subject ("sha256:<hex>") and details (taken, even on
 * failure).  -1 when the log is broken or the queue full: the caller
 * stops serving (gw_reqlog_ok).  Never blocks on the disk.
 */
int gw_reqlog_submit(struct gw_reqlog *rl, const char *type,
		     const char *subject, json_t *details);

/* 0 once an append failed or the queue overflowed; why says what. */
int gw_reqlog_ok(struct gw_reqlog *rl);
void gw_reqlog_why(struct gw_reqlog *rl, char *out, size_t cap);
uint64_t gw_reqlog_appended(struct gw_reqlog *rl);

/* Waits until every queued record is durable. */
void gw_reqlog_flush(struct gw_reqlog *rl);

/* Appends what is queued, publishes, closes; NULL is a no-op. */
int gw_reqlog_close(struct gw_reqlog *rl, struct pal_err *e);

#endif
