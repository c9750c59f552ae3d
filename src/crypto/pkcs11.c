/*
 * pkcs11.c - ECDSA signing with a key that stays on a PKCS#11 token.
 *
 * The message is hashed here with the hash that goes with the key's curve
 * (pal_signer_md) and the token signs the digest with CKM_ECDSA.  The
 * token answers r||s, each as wide as the curve's field; that is checked,
 * converted to the DER ECDSA-Sig-Value the signing formats use, and
 * verified with the key pair's public half before it is handed out, so
 * that a token fault or a public key object that belongs to another key
 * cannot produce a signature nobody can verify.
 *
 * A signer owns one session, logged in at open.  PKCS#11 sessions must
 * not run two operations at once, so signing takes the signer's lock.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include "palisade/signer.h"
#include "pkcs11_int.h"

/* Bytes of r and of s for P-521, the largest curve. */
#define FIELD_MAX 66

struct p11_signer {
	struct pal_p11_session s;
	CK_OBJECT_HANDLE key;
	size_t field;		/* bytes of r and of s */
	pthread_mutex_t lock;
	int locked_init;	/* the lock was initialized */
};

/* DER ECDSA-Sig-Value from r||s; *der is malloc'd. */
static int
raw_to_der(const uint8_t *raw, size_t field, uint8_t **der, size_t *len,
	   struct pal_err *err)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)field, NULL);
	BIGNUM *s = BN_bin2bn(raw + field, (int)field, NULL);
	uint8_t *p = NULL, *q;
	int n = -1, rc = PAL_ERR_CRYPTO;

	if (es == NULL || r == NULL || s == NULL)
		goto out;
	if (BN_is_zero(r) || BN_is_zero(s)) {
		rc = pal_err_set(err, PAL_ERR_CRYPTO,
				 "token returned a signature with r or s "
				 "zero");
		goto out;
	}
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;	/* owned by es now */
	if ((n = i2d_ECDSA_SIG(es, NULL)) <= 0 ||
	    (p = malloc((size_t)n)) == NULL)
		goto out;
	q = p;
	if (i2d_ECDSA_SIG(es, &q) != n)
		goto out;
	*der = p;
	*len = (size_t)n;
	p = NULL;
	rc = 0;
out:
	if (rc == PAL_ERR_CRYPTO)
		pal_err_set(err, rc, "cannot encode the token's signature");
	free(p);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	ERR_clear_error();
	return rc;
}

/* Checks a DER signature over a digest with the signer's public key. */
static int
check_sig(EVP_PKEY *pub, const uint8_t *dig, size_t dlen,
	  const uint8_t *der, size_t len, struct pal_err *err)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	int ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		EVP_PKEY_CTX_set_signature_md(ctx, pal_signer_md(pub)) == 1 &&
		EVP_PKEY_verify(ctx, der, len, dig, dlen) == 1;

	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (!ok)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "the token's signature does not verify "
				   "with the key's public half (a public key "
				   "object of another key?)");
	return 0;
}

/* Has the token sign the digest; raw receives r||s. */
static int
token_sign(struct p11_signer *c, uint8_t *dig, size_t dlen,
	   uint8_t raw[2 * FIELD_MAX], struct pal_err *err)
{
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	CK_ULONG n = 2 * FIELD_MAX;
	char what[200];
	CK_RV rv;

	pthread_mutex_lock(&c->lock);
	rv = c->s.f->C_SignInit(c->s.h, &mech, c->key);
	if (rv == CKR_OK)
		rv = c->s.f->C_Sign(c->s.h, dig, (CK_ULONG)dlen, raw, &n);
	pthread_mutex_unlock(&c->lock);
	if (rv != CKR_OK) {
		snprintf(what, sizeof(what), "signing on token '%s'",
			 c->s.label);
		return pal_p11_fail(err, rv, what);
	}
	if (n != 2 * c->field)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "token returned a %lu-byte ECDSA "
				   "signature; r||s is %zu bytes",
				   (unsigned long)n, 2 * c->field);
	return 0;
}

static int
p11_sign(struct pal_signer *sg, const uint8_t *msg, size_t len,
	 uint8_t **sig, size_t *sig_len, struct pal_err *err)
{
	struct p11_signer *c = sg->ctx;
	uint8_t dig[EVP_MAX_MD_SIZE], raw[2 * FIELD_MAX];
	uint8_t *der = NULL;
	unsigned int dlen = 0;
	size_t n = 0;
	int rc;

	if (EVP_Digest(msg, len, dig, &dlen, pal_signer_md(sg->pub),
		       NULL) != 1) {
		ERR_clear_error();
		return pal_err_set(err, PAL_ERR_CRYPTO, "hashing failed");
	}
	if ((rc = token_sign(c, dig, dlen, raw, err)) < 0 ||
	    (rc = raw_to_der(raw, c->field, &der, &n, err)) < 0)
		return rc;
	if ((rc = check_sig(sg->pub, dig, dlen, der, n, err)) < 0) {
		free(der);
		return rc;
	}
	*sig = der;
	*sig_len = n;
	return 0;
}

static void
p11_destroy(struct pal_signer *sg)
{
	struct p11_signer *c = sg->ctx;

	if (c == NULL)
		return;
	pal_p11_session_close(&c->s);
	if (c->locked_init)
		pthread_mutex_destroy(&c->lock);
	free(c);
	sg->ctx = NULL;
}

/* Opens the session, finds the key and its public half. */
static int
open_key(const struct pal_p11_uri *u, struct p11_signer *c,
	 EVP_PKEY **pub, struct pal_err *err)
{
	int rc;

	if (u->type != PAL_P11_TYPE_ANY && u->type != PAL_P11_TYPE_PRIVATE)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "pkcs11 URI: signing needs type=private "
				   "or no type");
	if ((rc = pal_p11_session_open(u, 0, PAL_P11_LOGIN_NEEDED, &c->s,
				       err)) < 0 ||
	    (rc = pal_p11_find_key(&c->s, u, CKO_PRIVATE_KEY, &c->key,
				   err)) < 0 ||
	    (rc = pal_p11_check_signing(&c->s, c->key, err)) < 0 ||
	    (rc = pal_p11_public_of(&c->s, c->key, pub, err)) < 0)
		return rc;
	c->field = ((size_t)EVP_PKEY_get_bits(*pub) + 7) / 8;
	if (pal_signer_md(*pub) == NULL || c->field > FIELD_MAX)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "the key is not ECDSA P-256, P-384 or "
				   "P-521");
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM,
				   "pthread_mutex_init failed");
	c->locked_init = 1;
	return 0;
}

int
pal_signer_from_pkcs11(const char *uri, struct pal_signer **out,
		       struct pal_err *err)
{
	struct pal_p11_uri *u = NULL;
	struct pal_signer *sg = calloc(1, sizeof(*sg));
	struct p11_signer *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (sg == NULL || c == NULL) {
		free(sg);
		free(c);
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	sg->ctx = c;
	sg->sign = p11_sign;
	sg->destroy = p11_destroy;
	if ((rc = pal_p11_uri_parse(uri, strlen(uri), &u, err)) == 0)
		rc = open_key(u, c, &sg->pub, err);
	pal_p11_uri_free(u);
	if (rc < 0) {
		pal_signer_free(sg);
		return rc;
	}
	*out = sg;
	return 0;
}

/* The public key of a public key object, or of a private key. */
static int
find_public(struct pal_p11_session *s, const struct pal_p11_uri *u,
	    EVP_PKEY **out, struct pal_err *err)
{
	CK_OBJECT_HANDLE obj;
	int rc = 0, priv;

	if (u->type != PAL_P11_TYPE_PRIVATE) {
		rc = pal_p11_find_key(s, u, CKO_PUBLIC_KEY, &obj, err);
		if (rc == 0)
			return pal_p11_public_key(s, obj, out, err);
		if (u->type == PAL_P11_TYPE_PUBLIC || rc != PAL_ERR_INVALID)
			return rc;
	}
	/* No public object: a private key may still carry its public half. */
	priv = pal_p11_find_key(s, u, CKO_PRIVATE_KEY, &obj,
				rc < 0 ? NULL : err);
	if (priv < 0)
		return rc < 0 ? rc : priv;
	return pal_p11_public_of(s, obj, out, err);
}

int
pal_p11_pubkey(const char *uri, EVP_PKEY **out, struct pal_err *err)
{
	struct pal_p11_session s;
	struct pal_p11_uri *u = NULL;
	int rc;

	*out = NULL;
	if ((rc = pal_p11_uri_parse(uri, strlen(uri), &u, err)) < 0)
		return rc;
	if (u->type != PAL_P11_TYPE_ANY && u->type != PAL_P11_TYPE_PUBLIC &&
	    u->type != PAL_P11_TYPE_PRIVATE)
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "pkcs11 URI: type must name a key");
	else if ((rc = pal_p11_session_open(u, 0, PAL_P11_LOGIN_IF_PIN, &s,
					    err)) == 0) {
		rc = find_public(&s, u, out, err);
		pal_p11_session_close(&s);
	}
	pal_p11_uri_free(u);
	return rc;
}
