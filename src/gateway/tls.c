/*
 * tls.c - the gateway's TLS server contexts (gw_int.h).
 *
 * TLS 1.3 only unless the configuration asks for 1.2 as well, and then
 * only ECDHE key exchange with AEAD suites; X25519 and the NIST curves
 * P-256 and P-384 as groups; no compression, no renegotiation, no session
 * tickets (a ticket key would be a long-lived secret in the network-facing
 * process: sessions are resumed from the server's cache instead).  With a
 * client CA, client certificates are checked against it: required or
 * optional, as configured.
 *
 * A context is built whole from the files before it replaces the one in
 * use, so a reload with a bad certificate leaves the old one serving.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "gw_int.h"

/* OpenSSL's reason for the last failure, appended to e's message. */
static int
ssl_fail(struct pal_err *e, const char *what, const char *path)
{
	unsigned long code = ERR_get_error();
	char reason[256] = "unknown error";

	if (code != 0)
		ERR_error_string_n(code, reason, sizeof(reason));
	ERR_clear_error();
	if (path != NULL)
		return pal_err_set(e, PAL_ERR_CRYPTO, "%s '%s': %s", what,
				   path, reason);
	return pal_err_set(e, PAL_ERR_CRYPTO, "%s: %s", what, reason);
}

static int
set_protocols(SSL_CTX *ctx, int allow_tls12, struct pal_err *e)
{
	int min = allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION;

	if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
		return ssl_fail(e, "TLS versions", NULL);
	if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_256_GCM_SHA384:"
				     "TLS_CHACHA20_POLY1305_SHA256:"
				     "TLS_AES_128_GCM_SHA256") != 1)
		return ssl_fail(e, "TLS 1.3 cipher suites", NULL);
	/* For TLS 1.2: forward secrecy and AEAD only. */
	if (SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES256-GCM-SHA384:"
				    "ECDHE-RSA-AES256-GCM-SHA384:"
				    "ECDHE-ECDSA-CHACHA20-POLY1305:"
				    "ECDHE-RSA-CHACHA20-POLY1305:"
				    "ECDHE-ECDSA-AES128-GCM-SHA256:"
				    "ECDHE-RSA-AES128-GCM-SHA256") != 1)
		return ssl_fail(e, "TLS 1.2 ciphers", NULL);
	if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1)
		return ssl_fail(e, "TLS groups", NULL);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
			    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
			    SSL_OP_CIPHER_SERVER_PREFERENCE);
	return 0;
}

static int
load_identity(SSL_CTX *ctx, const char *cert, const char *key,
	      struct pal_err *e)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		return ssl_fail(e, "TLS certificate", cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		return ssl_fail(e, "TLS private key", key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return ssl_fail(e, "TLS private key does not match the "
				"certificate", key);
	return 0;
}

static int
load_client_ca(SSL_CTX *ctx, const char *ca, int required, struct pal_err *e)
{
	STACK_OF(X509_NAME) *names;
	int mode = SSL_VERIFY_PEER;

	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		return ssl_fail(e, "client CA", ca);
	names = SSL_load_client_CA_file(ca);
	if (names == NULL)
		return ssl_fail(e, "client CA names", ca);
	SSL_CTX_set_client_CA_list(ctx, names);
	if (required)
		mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	SSL_CTX_set_verify(ctx, mode, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	return 0;
}

int
gw_tls_context(const struct gw_tls_files *f, SSL_CTX **out, struct pal_err *e)
{
	SSL_CTX *ctx;
	int rc;
	static const unsigned char sid_ctx[] = "palisade-serve";

	*out = NULL;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		return ssl_fail(e, "TLS context", NULL);
	rc = set_protocols(ctx, f->allow_tls12, e);
	if (rc == 0)
		rc = load_identity(ctx, f->cert, f->key, e);
	if (rc == 0 && f->client_ca != NULL)
		rc = load_client_ca(ctx, f->client_ca, f->client_required, e);
	if (rc != 0) {
		SSL_CTX_free(ctx);
		return rc;
	}
	/*
	 * Idle connections give their read and write buffers back (memory
	 * per idle connection), and partial writes let a large response go
	 * out as the socket takes it.  Read-ahead is turned on per connection
	 * by the client transport (conn_io.c), which reads again after the
	 * handshake; the admin listener's libevent TLS bufferevent does not,
	 * and a request read ahead with the Finished message would wait.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
			 SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, 16384);
	*out = ctx;
	return 0;
}

/* The subject's one common name as UTF-8, if it is one a name can be. */
static void
peer_cn(X509 *cert, struct gw_peer *out)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	int n;

	out->has_cn = 0;
	if (i < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
		return;			/* none, or several: no name */
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
					       X509_NAME_get_entry(name, i)));
	if (n > 0 && n <= PAL_GW_CLIENT_CN_MAX) {
		out->has_cn = 1;
		for (int k = 0; k < n; k++)
			if (utf8[k] < 0x20 || utf8[k] == 0x7f)
				out->has_cn = 0;
	}
	if (out->has_cn) {
		memcpy(out->cn, utf8, (size_t)n);
		out->cn[n] = '\0';
		out->cn_len = (size_t)n;
	}
	OPENSSL_free(utf8);
}

int
gw_tls_peer(SSL *ssl, struct gw_peer *out)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	unsigned int n = 0;

	memset(out, 0, sizeof(*out));
	if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK ||
	    X509_digest(cert, EVP_sha256(), out->sha256, &n) != 1 || n != 32)
		return -1;
	peer_cn(cert, out);
	return 0;
}
