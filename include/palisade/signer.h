/*
 * signer.h - an ECDSA signing key wherever it lives (a PEM file or a
 * PKCS#11 token), and signature verification with a public key.
 *
 * Keys are NIST P-256, P-384 or P-521.  The message is hashed with the
 * curve's matching hash (SHA-256, SHA-384, SHA-512: what OMS signers and
 * verifiers use) and signatures are DER-encoded ECDSA-Sig-Value.
 */
#ifndef PALISADE_SIGNER_H
#define PALISADE_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "palisade/error.h"

struct pal_signer {
	EVP_PKEY *pub;		/* the public half; owned by the signer */
	/* Signs msg; *sig is malloc'd DER owned by the caller. */
	int (*sign)(struct pal_signer *s, const uint8_t *msg, size_t len,
		    uint8_t **sig, size_t *sig_len, struct pal_err *err);
	void (*destroy)(struct pal_signer *s);	/* frees ctx; wipes secrets */
	void *ctx;
};

/*
 * Loads an unencrypted PEM private key (PKCS#8 or SEC1).  The key bytes
 * read from the file are wiped once parsed.
 */
int pal_signer_from_pem(const char *path, struct pal_signer **out,
			struct pal_err *err);

/*
 * Opens a key on a PKCS#11 token named by an RFC 7512 URI, for example
 * "pkcs11:token=palisade;object=signing-key?module-path=/usr/lib/softhsm/
 * libsofthsm2.so&pin-source=file:/run/pin".  Implemented in pkcs11.c.
 */
int pal_signer_from_pkcs11(const char *uri, struct pal_signer **out,
			   struct pal_err *err);

/* Opens either: a string starting with "pkcs11:" is a token URI. */
int pal_signer_open(const char *key, struct pal_signer **out,
		    struct pal_err *err);

/* Frees the signer and its key material; NULL is a no-op. */
void pal_signer_free(struct pal_signer *s);

/* The hash OMS pairs with the key's curve; NULL for unsupported keys. */
const EVP_MD *pal_signer_md(const EVP_PKEY *key);

/*
 * Verifies a DER ECDSA signature over msg with key (hashing as above).
 * Returns 0, or PAL_ERR_VERIFY when the signature does not hold.
 */
int pal_sig_verify(EVP_PKEY *key, const uint8_t *msg, size_t len,
		   const uint8_t *sig, size_t sig_len, struct pal_err *err);

/* As pal_sig_verify with an explicit hash (for old formats only). */
int pal_sig_verify_md(EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg,
		      size_t len, const uint8_t *sig, size_t sig_len,
		      struct pal_err *err);

/* Loads a PEM public key (SubjectPublicKeyInfo) from a file. */
int pal_pubkey_load(const char *path, EVP_PKEY **out, struct pal_err *err);

/*
 * Hex SHA-256 of the key's PEM SubjectPublicKeyInfo, exactly as written by
 * PEM_write_bio_PUBKEY: the OMS "publicKey.hint".  out has 65 bytes.
 */
int pal_pubkey_hint(EVP_PKEY *key, char out[65], struct pal_err *err);

#endif
