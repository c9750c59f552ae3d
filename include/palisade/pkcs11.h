/*
 * pkcs11.h - signing keys held on a PKCS#11 token (an HSM, a smart card,
 * SoftHSM in tests), named by RFC 7512 "pkcs11:" URIs.
 *
 * The signer itself is pal_signer_from_pkcs11() in signer.h: it loads the
 * module, finds the token and the key the URI names, logs in, and signs
 * with CKM_ECDSA over a digest computed here (SHA-256, -384 or -512 by the
 * key's curve, see pal_signer_md()).  The token returns r||s; the signer
 * hands out the DER ECDSA-Sig-Value the rest of Palisade uses, and checks
 * every signature against the key pair's public half before releasing it.
 *
 * What is trusted: the URI is configuration, not input from a model or a
 * network peer.  Its module-path names a shared library that is loaded
 * into this process and run, so whoever writes the URI chooses code that
 * runs here.  What the token returns (attribute values, signature sizes)
 * is checked before use.
 *
 * Which module: the URI's module-path, else PAL_P11_DEFAULT_MODULE.
 * module-name (a name for the platform to resolve) is not supported and is
 * refused rather than guessed at.
 *
 * Which token: every path attribute that names a token, slot or library
 * (token, manufacturer, serial, model, slot-*, library-*) must match, and
 * exactly one token with a present slot must match them.
 *
 * Which key: object (CKA_LABEL) and/or id (CKA_ID); at least one of them
 * is required and exactly one private key may match.  type, when given,
 * must be "private" for signing.  The public half is the public key object
 * with the private key's CKA_ID (its CKA_EC_PARAMS and DER-wrapped
 * CKA_EC_POINT), or the private key's CKA_PUBLIC_KEY_INFO when the token
 * keeps no public object.
 *
 * The PIN, in this order: the URI's pin-value, the file its pin-source
 * names ("file:/path", "file:///path" or a plain path; one trailing
 * newline is dropped), or the environment variable PAL_P11_PIN_ENV.  It is
 * wiped as soon as C_Login has seen it and is never put into an error
 * message.  Without a PIN, a token that needs a login is refused, unless
 * it has a protected authentication path (a PIN pad).  Keys marked
 * CKA_ALWAYS_AUTHENTICATE are refused because the PIN is not kept.
 * PKCS#11 logs in a process, not a session: while one signer on a token
 * is open, the token answers a second login with
 * CKR_USER_ALREADY_LOGGED_IN, which is taken as success without the
 * second PIN being checked (checking it would mean logging the first
 * signer out).
 *
 * Errors: PAL_ERR_INVALID for a URI that names no such module, token or
 * key or for a PIN the token rejects ("PIN incorrect"); PAL_ERR_SYSTEM for
 * a module that cannot be loaded; PAL_ERR_UNSUPPORTED for a key of the
 * wrong type or curve; PAL_ERR_FORMAT and PAL_ERR_LIMIT for a malformed
 * URI; PAL_ERR_CRYPTO for any other failure of the token.  Messages name
 * the PKCS#11 return value (CKR_...) when there is one.
 */
#ifndef PALISADE_PKCS11_H
#define PALISADE_PKCS11_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "palisade/error.h"

/* The module loaded when a URI has no module-path (Debian's SoftHSM2). */
#define PAL_P11_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

/* The environment variable read for a PIN when the URI gives none. */
#define PAL_P11_PIN_ENV "PALISADE_PKCS11_PIN"

/* Longest URI accepted, in bytes. */
#define PAL_P11_URI_MAX 8192

/* The RFC 7512 "type" attribute. */
enum pal_p11_type {
	PAL_P11_TYPE_ANY = 0,		/* absent */
	PAL_P11_TYPE_PUBLIC,
	PAL_P11_TYPE_PRIVATE,
	PAL_P11_TYPE_CERT,
	PAL_P11_TYPE_SECRET_KEY,
	PAL_P11_TYPE_DATA,
};

/*
 * A parsed URI.  Strings are percent-decoded, NUL-terminated, contain no
 * NUL and are never empty; NULL means the attribute was absent.  Text
 * values are at most as long as the PKCS#11 field they match (token label
 * 32 bytes, serial 16, ...); see pkcs11_uri.c for each limit.
 */
struct pal_p11_uri {
	/* Path: which token (CK_TOKEN_INFO), slot and library. */
	char *token;
	char *manufacturer;
	char *serial;
	char *model;
	char *slot_description;
	char *slot_manufacturer;
	int has_slot_id;
	unsigned long slot_id;
	char *lib_manufacturer;
	char *lib_description;
	int has_lib_version;
	unsigned int lib_major;		/* "library-version=M[.m]", each <= 255 */
	unsigned int lib_minor;		/* 0 when only M is given */
	/* Path: which object. */
	char *object;			/* CKA_LABEL */
	uint8_t *id;			/* CKA_ID, any bytes; id_len >= 1 */
	size_t id_len;
	enum pal_p11_type type;
	/* Query: how to reach it. */
	char *module_path;
	char *module_name;
	char *pin_source;		/* "file:/path" or a path */
	char *pin_value;		/* a secret: wiped by pal_p11_uri_free */
};

/*
 * Parses an RFC 7512 URI of len bytes (no NUL inside).  Refused: another
 * scheme, characters the RFC does not allow unencoded, bad percent
 * escapes, empty attributes or values, an attribute given twice, an
 * unknown attribute (vendor "x-" ones too: an attribute that narrows the
 * choice of key, or says how to reach it, cannot be safely ignored),
 * values longer than the field they match, both pin-source and pin-value,
 * and URIs longer than PAL_P11_URI_MAX.  Error messages name attributes
 * and offsets but never quote a value.  *out is set on success; caller
 * frees with pal_p11_uri_free.
 */
int pal_p11_uri_parse(const char *s, size_t len, struct pal_p11_uri **out,
		      struct pal_err *err);

/* Frees a parsed URI, wiping the PIN; NULL is a no-op. */
void pal_p11_uri_free(struct pal_p11_uri *u);

/*
 * Generates an ECDSA or Ed25519 key pair on the token the URI names, as
 * token objects: the private key CKA_PRIVATE, CKA_SENSITIVE, not
 * CKA_EXTRACTABLE, CKA_SIGN only; the public key CKA_VERIFY.  Both take
 * the URI's object as CKA_LABEL and its id as CKA_ID (16 random bytes when
 * the URI has no id); the URI must give an object or an id, and no key of
 * either kind may already have them.  curve is "P-256", "P-384" or
 * "P-521" (CKM_EC_KEY_PAIR_GEN), or "Ed25519"
 * (CKM_EC_EDWARDS_KEY_PAIR_GEN, CKA_EC_PARAMS the OID 1.3.101.112).  A
 * PIN is required as for signing.  When pub is not NULL, *pub is set to
 * the new public key (caller frees with EVP_PKEY_free).
 */
int pal_p11_keygen(const char *uri, const char *curve, EVP_PKEY **pub,
		   struct pal_err *err);

/*
 * Reads the public key of the pair the URI names (its public key object,
 * or the private key's CKA_PUBLIC_KEY_INFO), logging in only when a PIN is
 * given: an EC key, or an Ed25519 one.  *out is set on success; caller
 * frees with EVP_PKEY_free.
 */
int pal_p11_pubkey(const char *uri, EVP_PKEY **out, struct pal_err *err);

/*
 * An Ed25519 signing key on a token: a private key of type
 * CKK_EC_EDWARDS whose CKA_EC_PARAMS name edwards25519 (the OID
 * 1.3.101.112 or the PrintableString "edwards25519"), used with CKM_EDDSA
 * without parameters, which is pure Ed25519 (RFC 8032).  The URI, the PIN
 * and the key are found and checked as for ECDSA signing above; the public
 * half is the public key object with the private key's CKA_ID (its
 * CKA_EC_POINT the 32 key bytes, raw or in a DER OCTET STRING), else the
 * private key's CKA_PUBLIC_KEY_INFO.  Used by pal_note_signer_from_pkcs11
 * (note_sign.h).
 */
struct pal_p11_eddsa;

/* Opens the key; pub receives its public key.  *out: pal_p11_eddsa_free. */
int pal_p11_eddsa_open(const char *uri, struct pal_p11_eddsa **out,
		       uint8_t pub[32], struct pal_err *err);

/*
 * Signs msg on the token; the signature is verified with the public half
 * before sig is written.  Safe to call from several threads.
 */
int pal_p11_eddsa_sign(struct pal_p11_eddsa *k, const uint8_t *msg,
		       size_t len, uint8_t sig[64], struct pal_err *err);

/* Closes the key's session; NULL is a no-op. */
void pal_p11_eddsa_free(struct pal_p11_eddsa *k);

#endif
