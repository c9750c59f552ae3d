/*
 * oms.h - OpenSSF Model Signing bundles: the in-toto statement that carries
 * a manifest, and the Sigstore bundle (v0.3) that carries the statement in
 * a DSSE envelope.
 *
 * Reading is strict (types checked, duplicate keys rejected, sizes capped)
 * and tolerant only where earlier model_signing releases wrote something
 * else (docs/signing.md lists each case): publicKey.rawBytes for .hint,
 * keyid null or absent, no ignore_paths, the v0.1 predicate, "." as the
 * single-file name, resources in path-component order, and shard
 * algorithms named "sha256-sharded-N".
 */
#ifndef PALISADE_OMS_H
#define PALISADE_OMS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "palisade/buf.h"
#include "palisade/error.h"
#include "palisade/manifest.h"

#define PAL_OMS_MEDIA_TYPE "application/vnd.dev.sigstore.bundle.v0.3+json"
#define PAL_OMS_PREDICATE "https://model_signing/signature/v1.0"
#define PAL_OMS_PREDICATE_V01 "https://model_signing/Digests/v0.1"
#define PAL_INTOTO_STATEMENT "https://in-toto.io/Statement/v1"
#define PAL_OMS_BUNDLE_MAX (64u << 20)

enum pal_oms_method {
	PAL_OMS_KEY,		/* verificationMaterial.publicKey */
	PAL_OMS_CERTIFICATE,	/* verificationMaterial.x509CertificateChain */
	PAL_OMS_SIGSTORE,	/* verificationMaterial.certificate + tlog */
};

const char *pal_oms_method_name(enum pal_oms_method m);

struct pal_bundle {
	json_t *doc;			/* the parsed document, owned */
	json_t *material;		/* borrowed from doc */
	enum pal_oms_method method;
	char *payload_type;
	uint8_t *payload;
	size_t payload_len;
	uint8_t *sig;			/* the one DSSE signature, DER */
	size_t sig_len;
	char *key_hint;			/* key method: publicKey.hint */
	EVP_PKEY *key_raw;		/* key method: publicKey.rawBytes */
	STACK_OF(X509) *chain;		/* certificate method, leaf first */
};

/* Parses a bundle; *out is owned by the caller (pal_bundle_free). */
int pal_bundle_parse(const uint8_t *data, size_t len, struct pal_bundle **out,
		     struct pal_err *err);
int pal_bundle_load(const char *path, struct pal_bundle **out,
		    struct pal_err *err);
void pal_bundle_free(struct pal_bundle *b);

/*
 * Serializes a bundle for a DSSE-signed payload.  With chain (leaf first)
 * the certificate method is written, otherwise the key method with
 * publicKey.hint of pub.
 */
int pal_bundle_write(const uint8_t *payload, size_t len, const uint8_t *sig,
		     size_t sig_len, EVP_PKEY *pub, STACK_OF(X509) *chain,
		     struct pal_buf *out, struct pal_err *err);

/* The in-toto statement (DSSE payload) for a computed manifest. */
int pal_statement_build(const struct pal_manifest *m, struct pal_buf *out,
			struct pal_err *err);

/*
 * The signed manifest a statement carries.  Checks _type, predicateType,
 * every resource name (canonical, unique), digest lengths and algorithms
 * against serialization.hash_type, and the subject's root digest against
 * the resources.  *v01 is set for the deprecated v0.1 predicate.
 */
int pal_statement_parse(const uint8_t *payload, size_t len,
			struct pal_manifest **out, int *v01,
			struct pal_err *err);

#endif
