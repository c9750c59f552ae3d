/*
 * dsse.h - Dead Simple Signing Envelope pre-authentication encoding.
 *
 * PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body,
 * lengths in ASCII decimal.  Signatures cover the PAE, never the bare
 * payload.
 */
#ifndef PALISADE_DSSE_H
#define PALISADE_DSSE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "palisade/buf.h"
#include "palisade/error.h"

#define PAL_DSSE_INTOTO_TYPE "application/vnd.in-toto+json"

/* Appends PAE(type, payload) to out. */
int pal_dsse_pae(const char *type, const uint8_t *payload, size_t len,
		 struct pal_buf *out);

/*
 * The encoding model_signing 0.2.0 signed by mistake: "DSSEV1", then the
 * payload as Python's repr() of a bytes object.  Verifiers of that
 * library's key and certificate bundles accept it as a fallback.
 */
int pal_dsse_pae_v020(const char *type, const uint8_t *payload, size_t len,
		      struct pal_buf *out);

/* Verifies sig (DER ECDSA) over PAE(type, payload) with key. */
int pal_dsse_verify(EVP_PKEY *key, const char *type, const uint8_t *payload,
		    size_t len, const uint8_t *sig, size_t sig_len,
		    struct pal_err *err);

/*
 * As pal_dsse_verify, trying the 0.2.0 encoding (hashed with SHA-256 on
 * every curve, as that release did) when PAE fails.
 */
int pal_dsse_verify_compat(EVP_PKEY *key, const char *type,
			   const uint8_t *payload, size_t len,
			   const uint8_t *sig, size_t sig_len,
			   struct pal_err *err);

#endif
