/*
 * pkcs11_eddsa.c - Ed25519 keys on a PKCS#11 token: their public halves,
 * and signing with CKM_EDDSA.
 *
 * PKCS#11 3.0 keeps Ed25519 keys as CKK_EC_EDWARDS, with CKA_EC_PARAMS
 * naming the curve either by the RFC 8410 OID (1.3.101.112) or by the
 * PrintableString "edwards25519" (pkcs11-tool writes the latter), and
 * CKA_EC_POINT holding the 32-byte public key either raw or inside a DER
 * OCTET STRING (SoftHSM2 writes the latter).  Anything else, Ed448
 * included, is refused.  CKM_EDDSA without parameters is pure Ed25519
 * (RFC 8032), the algorithm signed notes use.
 *
 * As with ECDSA keys, every signature the token returns is verified with
 * the key pair's public half before it is handed out: a token fault, or a
 * public key object that belongs to another key, cannot produce a
 * signature nobody can verify.  A key owns one session, logged in at
 * open; signing takes the key's lock, since a session runs one operation
 * at a time.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "pkcs11_int.h"

#define ED25519_LEN 32
#define ED25519_SIG_LEN 64

static const uint8_t ed25519_oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const uint8_t ed25519_name[] = {
	0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'
};

struct pal_p11_eddsa {
	struct pal_p11_session s;
	CK_OBJECT_HANDLE key;
	EVP_PKEY *pub;
	pthread_mutex_t lock;
	int lock_init;
};

static int
is_ed25519_params(const uint8_t *p, size_t n)
{
	return (n == sizeof(ed25519_oid) &&
		memcmp(p, ed25519_oid, n) == 0) ||
		(n == sizeof(ed25519_name) &&
		 memcmp(p, ed25519_name, n) == 0);
}

/* The key object must be CKK_EC_EDWARDS on edwards25519. */
static int
check_ed25519(struct pal_p11_session *s, CK_OBJECT_HANDLE obj,
	      struct pal_err *err)
{
	uint8_t *params = NULL;
	size_t n = 0;
	CK_ULONG kt;
	int rc = pal_p11_attr_ulong(s, obj, CKA_KEY_TYPE, &kt, err);

	if (rc == 0 && kt != CKK_EC_EDWARDS)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "wrong key type: the key is not an "
				   "EdDSA key (CKA_KEY_TYPE 0x%lx)",
				   (unsigned long)kt);
	if (rc == 0 &&
	    (rc = pal_p11_attr(s, obj, CKA_EC_PARAMS, &params, &n, err)) == 0 &&
	    !is_ed25519_params(params, n))
		rc = pal_err_set(err, PAL_ERR_UNSUPPORTED,
				 "wrong curve: the EdDSA key is not on "
				 "edwards25519 (Ed448?)");
	free(params);
	return rc;
}

/* The 32 key bytes of CKA_EC_POINT: raw, or a DER OCTET STRING. */
static int
point_bytes(const uint8_t *p, size_t n, const uint8_t **key)
{
	if (n == ED25519_LEN) {
		*key = p;
		return 0;
	}
	if (n == ED25519_LEN + 2 && p[0] == 0x04 && p[1] == ED25519_LEN) {
		*key = p + 2;
		return 0;
	}
	return -1;
}

int
pal_p11_ed25519_public(struct pal_p11_session *s, CK_OBJECT_HANDLE obj,
		       EVP_PKEY **out, struct pal_err *err)
{
	uint8_t *pt = NULL;
	const uint8_t *key = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	if ((rc = check_ed25519(s, obj, err)) < 0 ||
	    (rc = pal_p11_attr(s, obj, CKA_EC_POINT, &pt, &n, err)) < 0)
		return rc;
	if (point_bytes(pt, n, &key) < 0)
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "CKA_EC_POINT of an Ed25519 key is not 32 "
				 "bytes, raw or in a DER OCTET STRING");
	else if ((*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
						     key, ED25519_LEN)) == NULL)
		rc = pal_err_set(err, PAL_ERR_CRYPTO,
				 "cannot make an Ed25519 public key");
	ERR_clear_error();
	free(pt);
	return rc;
}

int
pal_p11_ed25519_public_of(struct pal_p11_session *s, CK_OBJECT_HANDLE priv,
			  EVP_PKEY **out, struct pal_err *err)
{
	CK_OBJECT_HANDLE pub;
	int count = 0, rc;

	*out = NULL;
	if ((rc = check_ed25519(s, priv, err)) < 0 ||
	    (rc = pal_p11_find_pair(s, priv, CKK_EC_EDWARDS, &pub, &count,
				    err)) < 0)
		return rc;
	if (count == 0)
		return pal_p11_public_from_info(s, priv, NULL, out, err);
	return pal_p11_ed25519_public(s, pub, out, err);
}

/* Checks an Ed25519 signature with the key pair's public half. */
static int
check_sig(EVP_PKEY *pub, const uint8_t *msg, size_t len,
	  const uint8_t sig[ED25519_SIG_LEN], struct pal_err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md != NULL &&
		EVP_DigestVerifyInit(md, NULL, NULL, NULL, pub) == 1 &&
		EVP_DigestVerify(md, sig, ED25519_SIG_LEN, msg, len) == 1;

	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (!ok)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "the token's Ed25519 signature does not "
				   "verify with the key's public half (a "
				   "public key object of another key?)");
	return 0;
}

int
pal_p11_eddsa_sign(struct pal_p11_eddsa *k, const uint8_t *msg, size_t len,
		   uint8_t sig[64], struct pal_err *err)
{
	CK_MECHANISM mech = { CKM_EDDSA, NULL, 0 };
	uint8_t raw[ED25519_SIG_LEN];
	CK_ULONG n = sizeof(raw);
	char what[200];
	CK_RV rv;
	int rc;

	if (len > (CK_ULONG)-1)
		return pal_err_set(err, PAL_ERR_LIMIT, "message too long");
	pthread_mutex_lock(&k->lock);
	rv = k->s.f->C_SignInit(k->s.h, &mech, k->key);
	/* The module does not write through the message pointer. */
	if (rv == CKR_OK)
		rv = k->s.f->C_Sign(k->s.h, (CK_BYTE_PTR)(uintptr_t)msg,
				    (CK_ULONG)len, raw, &n);
	pthread_mutex_unlock(&k->lock);
	if (rv != CKR_OK) {
		snprintf(what, sizeof(what), "signing on token '%s'",
			 k->s.label);
		return pal_p11_fail(err, rv, what);
	}
	if (n != ED25519_SIG_LEN)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "token returned a %lu-byte Ed25519 "
				   "signature", (unsigned long)n);
	if ((rc = check_sig(k->pub, msg, len, raw, err)) < 0)
		return rc;
	memcpy(sig, raw, sizeof(raw));
	return 0;
}

static int
open_key(const struct pal_p11_uri *u, struct pal_p11_eddsa *k,
	 struct pal_err *err)
{
	int rc;

	if (u->type != PAL_P11_TYPE_ANY && u->type != PAL_P11_TYPE_PRIVATE)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "pkcs11 URI: signing needs type=private "
				   "or no type");
	if ((rc = pal_p11_session_open(u, 0, PAL_P11_LOGIN_NEEDED, &k->s,
				       err)) < 0 ||
	    (rc = pal_p11_find_key(&k->s, u, CKO_PRIVATE_KEY, &k->key,
				   err)) < 0 ||
	    (rc = pal_p11_check_signing(&k->s, k->key, err)) < 0 ||
	    (rc = pal_p11_ed25519_public_of(&k->s, k->key, &k->pub,
					    err)) < 0)
		return rc;
	if (pthread_mutex_init(&k->lock, NULL) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM,
				   "pthread_mutex_init failed");
	k->lock_init = 1;
	return 0;
}

int
pal_p11_eddsa_open(const char *uri, struct pal_p11_eddsa **out,
		   uint8_t pub[32], struct pal_err *err)
{
	struct pal_p11_uri *u = NULL;
	struct pal_p11_eddsa *k = calloc(1, sizeof(*k));
	size_t n = ED25519_LEN;
	int rc;

	*out = NULL;
	if (k == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if ((rc = pal_p11_uri_parse(uri, strlen(uri), &u, err)) == 0)
		rc = open_key(u, k, err);
	pal_p11_uri_free(u);
	if (rc == 0 && (EVP_PKEY_get_raw_public_key(k->pub, pub, &n) != 1 ||
			n != ED25519_LEN)) {
		ERR_clear_error();
		rc = pal_err_set(err, PAL_ERR_CRYPTO,
				 "cannot read the Ed25519 public key");
	}
	if (rc < 0) {
		pal_p11_eddsa_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

void
pal_p11_eddsa_free(struct pal_p11_eddsa *k)
{
	if (k == NULL)
		return;
	pal_p11_session_close(&k->s);
	if (k->lock_init)
		pthread_mutex_destroy(&k->lock);
	EVP_PKEY_free(k->pub);
	free(k);
}
