/*
 * sigstore.h - offline verification of Sigstore keyless signatures (the
 * OMS "sigstore" method): a short-lived Fulcio certificate, its Rekor
 * transparency log entry and, when present, RFC 3161 timestamps, all
 * checked against a trusted root (trusted_root.json) without any network.
 *
 * What pal_sigstore_verify establishes, each check failing closed with an
 * error that names it:
 *  - the DSSE signature verifies over the PAE with the certificate's key;
 *  - every tlog entry (at least one, at most PAL_SIGSTORE_MAX_ENTRIES) is
 *    of kind dsse 0.0.1 and its canonicalized body binds the envelope
 *    (payload hash, signature, certificate); its log is a Rekor log of the
 *    trusted root valid at the entry's integrated time; its inclusion
 *    proof leads from the body's leaf hash to the proof's root, and a
 *    checkpoint signed by that log's key carries the same root and size;
 *    its signed entry timestamp (inclusion promise), when present, is the
 *    log's signature over the entry;
 *  - every RFC 3161 timestamp verifies against a TSA of the trusted root
 *    over the DSSE signature bytes;
 *  - the signing times are the integrated times of entries with a verified
 *    promise and the times of verified timestamps; there is at least one,
 *    and at each the certificate chains to a Fulcio CA of the trusted root
 *    whose validity window holds it; the certificate may sign code;
 *  - an embedded SCT verifies with a CT log key of the trusted root;
 *  - the certificate's one email or URI SAN equals want->identity and its
 *    OIDC issuer extension (1.3.6.1.4.1.57264.1.8, else the legacy .1.1)
 *    equals want->issuer, both exactly.
 */
#ifndef PALISADE_SIGSTORE_H
#define PALISADE_SIGSTORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "palisade/error.h"

#define PAL_SIGSTORE_ROOT_MAX (1 << 20)	/* bytes of a trusted root */
#define PAL_SIGSTORE_MAX_ENTRIES 64	/* tlog entries in a bundle */
#define PAL_SIGSTORE_MAX_TIMESTAMPS 32	/* RFC 3161 timestamps */

struct pal_sigstore_root;

/* Loads trusted_root.json; *out is the caller's (pal_sigstore_root_free). */
int pal_sigstore_root_load(const char *path, struct pal_sigstore_root **out,
			   struct pal_err *err);
int pal_sigstore_root_parse(const uint8_t *json, size_t len,
			    struct pal_sigstore_root **out,
			    struct pal_err *err);
void pal_sigstore_root_free(struct pal_sigstore_root *r);

/* Who must have signed: exact matches, both required. */
struct pal_sigstore_want {
	const char *identity;	/* SAN email or URI */
	const char *issuer;	/* OIDC issuer */
};

struct pal_sigstore_result {
	int64_t signed_at;	/* earliest verified signing time (Unix) */
	uint64_t log_index;	/* logIndex of the first tlog entry */
	char identity[256];
	char issuer[256];
};

/*
 * Verifies a DSSE envelope's signature by a Sigstore keyless certificate.
 * verification_material is the bundle's "verificationMaterial" object
 * (borrowed); payload_type, payload and sig are the envelope's, decoded.
 * Returns 0 only when every check above holds (res filled), otherwise
 * PAL_ERR_VERIFY, PAL_ERR_FORMAT, PAL_ERR_LIMIT or PAL_ERR_UNSUPPORTED
 * with the failed check in err (res cleared).
 */
int pal_sigstore_verify(const struct pal_sigstore_root *root,
			json_t *verification_material,
			const char *payload_type, const uint8_t *payload,
			size_t payload_len, const uint8_t *sig,
			size_t sig_len, const struct pal_sigstore_want *want,
			struct pal_sigstore_result *res, struct pal_err *err);

#endif
