/*
 * pkcs11_int.h - what the PKCS#11 files share: loaded modules, sessions on
 * a token, key objects, and the names of return values.
 *
 * pkcs11_module.c  loads a module once per process and initializes it
 * pkcs11_rv.c      names CKR_* values and turns them into errors
 * pkcs11_pin.c     finds the PIN a URI asks for
 * pkcs11_token.c   picks the token a URI names, opens a session, logs in
 * pkcs11_key.c     finds key objects and reads their public halves
 * pkcs11_eddsa.c   Ed25519 keys: public halves, signing with CKM_EDDSA
 * pkcs11.c         the signer; pkcs11_keygen.c key generation
 */
#ifndef PAL_CRYPTO_PKCS11_INT_H
#define PAL_CRYPTO_PKCS11_INT_H

#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>
#include <openssl/evp.h>

#include "palisade/buf.h"
#include "palisade/error.h"
#include "palisade/pkcs11.h"

/* The largest attribute value read from a token. */
#define PAL_P11_ATTR_MAX 4096

/*
 * A module loaded and initialized for this process.  Loading the same
 * library twice hands out the same module with one more reference, so that
 * one signer's release cannot C_Finalize under another's sessions.
 */
struct pal_p11_module;

int pal_p11_module_get(const char *path, struct pal_p11_module **out,
		       struct pal_err *err);
CK_FUNCTION_LIST *pal_p11_module_fn(const struct pal_p11_module *m);
/* Drops a reference; the last one finalizes and unloads.  NULL: no-op. */
void pal_p11_module_put(struct pal_p11_module *m);

/* "CKR_PIN_INCORRECT", or "CKR_0x..." for values without a name. */
const char *pal_p11_rv_name(CK_RV rv, char buf[24]);

/*
 * Records "<what>: <CKR name>" in err with the PAL_ERR_* code that fits
 * rv and returns that code.
 */
int pal_p11_fail(struct pal_err *err, CK_RV rv, const char *what);

/*
 * Finds the PIN: the URI's pin-value, the file of its pin-source, or
 * PAL_P11_PIN_ENV.  *have is 0 when none is given.  The caller frees pin
 * with pal_buf_free_secret.
 */
int pal_p11_pin_get(const struct pal_p11_uri *u, struct pal_buf *pin,
		    int *have, struct pal_err *err);

enum pal_p11_login {
	PAL_P11_LOGIN_IF_PIN,	/* log in only when a PIN is given */
	PAL_P11_LOGIN_NEEDED,	/* and refuse a token that needs one without */
};

/* A session on the token a URI names. */
struct pal_p11_session {
	struct pal_p11_module *mod;
	CK_FUNCTION_LIST *f;
	CK_SESSION_HANDLE h;
	char label[32 * 4 + 1];	/* the token label, escaped, for messages */
};

/*
 * Loads the module, finds the one token the URI's path selects, opens a
 * session (read-write when rw) and logs in as login says.  On failure
 * nothing is left open.
 */
int pal_p11_session_open(const struct pal_p11_uri *u, int rw,
			 enum pal_p11_login login, struct pal_p11_session *s,
			 struct pal_err *err);
void pal_p11_session_close(struct pal_p11_session *s);

/*
 * Reads an attribute of at most PAL_P11_ATTR_MAX bytes into *out (caller
 * frees; *len may be 0).
 */
int pal_p11_attr(struct pal_p11_session *s, CK_OBJECT_HANDLE obj,
		 CK_ATTRIBUTE_TYPE type, uint8_t **out, size_t *len,
		 struct pal_err *err);

/* Reads a CK_BBOOL or CK_ULONG attribute. */
int pal_p11_attr_bool(struct pal_p11_session *s, CK_OBJECT_HANDLE obj,
		      CK_ATTRIBUTE_TYPE type, int *v, struct pal_err *err);
int pal_p11_attr_ulong(struct pal_p11_session *s, CK_OBJECT_HANDLE obj,
		       CK_ATTRIBUTE_TYPE type, CK_ULONG *v,
		       struct pal_err *err);

/*
 * Counts the objects matching tmpl (stopping at 2) and sets *obj to the
 * first.
 */
int pal_p11_find(struct pal_p11_session *s, CK_ATTRIBUTE *tmpl,
		 CK_ULONG n, CK_OBJECT_HANDLE *obj, int *count,
		 struct pal_err *err);

/*
 * Finds the one key of class cls the URI's object and id name; an error
 * when none or several match.
 */
int pal_p11_find_key(struct pal_p11_session *s, const struct pal_p11_uri *u,
		     CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *obj,
		     struct pal_err *err);

/*
 * The key may sign and does not ask for the PIN on every use (the PIN is
 * wiped once the session is logged in).
 */
int pal_p11_check_signing(struct pal_p11_session *s, CK_OBJECT_HANDLE key,
			  struct pal_err *err);

/*
 * The private key's CKA_PUBLIC_KEY_INFO (PKCS#11 3.0), when it has one and
 * it is an EC key on group (an OpenSSL group name), or, with group NULL,
 * an Ed25519 key.  PAL_ERR_INVALID otherwise.
 */
int pal_p11_public_from_info(struct pal_p11_session *s,
			     CK_OBJECT_HANDLE priv, const char *group,
			     EVP_PKEY **out, struct pal_err *err);

/*
 * The public half of the private EC key priv: the public key object with
 * its CKA_ID (its CKA_EC_PARAMS must equal the private key's), else the
 * private key's CKA_PUBLIC_KEY_INFO.  A P-256, P-384 or P-521 key, or an
 * Ed25519 key (pal_p11_ed25519_public_of).
 */
int pal_p11_public_of(struct pal_p11_session *s, CK_OBJECT_HANDLE priv,
		      EVP_PKEY **out, struct pal_err *err);

/*
 * Finds the public key object of type kt paired with priv by CKA_ID (else
 * by label); *count is 0 when there is none.  Several are an error.
 */
int pal_p11_find_pair(struct pal_p11_session *s, CK_OBJECT_HANDLE priv,
		      CK_KEY_TYPE kt, CK_OBJECT_HANDLE *pub, int *count,
		      struct pal_err *err);

/*
 * The public Ed25519 key of a CKK_EC_EDWARDS public key object, and of a
 * private key (its public object, else its CKA_PUBLIC_KEY_INFO).  Keys on
 * another Edwards curve are refused.  pkcs11_eddsa.c.
 */
int pal_p11_ed25519_public(struct pal_p11_session *s, CK_OBJECT_HANDLE obj,
			   EVP_PKEY **out, struct pal_err *err);
int pal_p11_ed25519_public_of(struct pal_p11_session *s,
			      CK_OBJECT_HANDLE priv, EVP_PKEY **out,
			      struct pal_err *err);

/* The public key of a public key object: EC, or Ed25519. */
int pal_p11_public_key(struct pal_p11_session *s, CK_OBJECT_HANDLE pub,
		       EVP_PKEY **out, struct pal_err *err);

/*
 * Builds a P-256, P-384 or P-521 EVP_PKEY from CKA_EC_PARAMS (a named
 * curve OID) and CKA_EC_POINT (a DER OCTET STRING around an uncompressed
 * point), checking the point.
 */
int pal_p11_ec_key(const uint8_t *params, size_t plen, const uint8_t *point,
		   size_t ptlen, EVP_PKEY **out, struct pal_err *err);

#endif
