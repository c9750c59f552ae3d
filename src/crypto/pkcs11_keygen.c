/*
 * pkcs11_keygen.c - generating an ECDSA or Ed25519 key pair on a token.
 *
 * The private key is made to stay where it is born: a token object,
 * private, sensitive, never extractable, and usable for signing only (no
 * derive, no decrypt, no unwrap).  Its public half is a token object that
 * anyone may read.  Both carry the label and id the URI gives, and a new
 * pair may not reuse either: two objects with one label or id would make
 * later lookups ambiguous, and the signer refuses ambiguity.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

#include "pkcs11_int.h"

/* Bytes of a CKA_ID made up when the URI has none. */
#define ID_LEN 16

static const struct {
	const char *name;
	int nid;
	CK_MECHANISM_TYPE mech;
} curves[] = {
	{ "P-256", NID_X9_62_prime256v1, CKM_EC_KEY_PAIR_GEN },
	{ "P-384", NID_secp384r1, CKM_EC_KEY_PAIR_GEN },
	{ "P-521", NID_secp521r1, CKM_EC_KEY_PAIR_GEN },
	/* CKA_EC_PARAMS is the RFC 8410 OID, as PKCS#11 3.0 allows. */
	{ "Ed25519", NID_ED25519, CKM_EC_EDWARDS_KEY_PAIR_GEN },
};

/*
 * The DER OID of a curve name, as CKA_EC_PARAMS holds it, and the
 * mechanism that makes a key pair on it.
 */
static int
curve_params(const char *curve, uint8_t **der, size_t *len,
	     CK_MECHANISM_TYPE *mech, struct pal_err *err)
{
	ASN1_OBJECT *oid = NULL;
	unsigned char *p = NULL;
	size_t i;
	int n;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		if (curve != NULL && strcmp(curve, curves[i].name) == 0) {
			oid = OBJ_nid2obj(curves[i].nid);
			*mech = curves[i].mech;
		}
	}
	if (oid == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "curve must be P-256, P-384 or P-521 "
				   "(ECDSA), or Ed25519");
	if ((n = i2d_ASN1_OBJECT(oid, &p)) <= 0) {
		ERR_clear_error();
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "cannot encode the curve OID");
	}
	*der = p;
	*len = (size_t)n;
	return 0;
}

/* Refuses a label or id that some object on the token already has. */
static int
check_unused(struct pal_p11_session *s, CK_ATTRIBUTE *a, const char *what,
	     struct pal_err *err)
{
	CK_OBJECT_HANDLE obj;
	int count, rc = pal_p11_find(s, a, 1, &obj, &count, err);

	if (rc == 0 && count > 0)
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "token '%s' already has an object with "
				 "this %s", s->label, what);
	return rc;
}

struct pair {
	CK_MECHANISM_TYPE mech;
	CK_ATTRIBUTE label;	/* type 0 when the URI gives none */
	CK_ATTRIBUTE id;
	CK_ATTRIBUTE params;
};

static int
generate(struct pal_p11_session *s, const struct pair *k,
	 CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv, struct pal_err *err)
{
	CK_MECHANISM mech = { k->mech, NULL, 0 };
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE pubt[6] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		k->params, k->id, k->label,
	};
	CK_ATTRIBUTE privt[10] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_DERIVE, &no, sizeof(no) },
		{ CKA_DECRYPT, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		k->id, k->label,
	};
	CK_ULONG npub = 5, npriv = 9;
	char what[200];
	CK_RV rv;

	if (k->label.type == CKA_LABEL) {
		npub++;
		npriv++;
	}
	rv = s->f->C_GenerateKeyPair(s->h, &mech, pubt, npub, privt, npriv,
				     pub, priv);
	if (rv == CKR_OK)
		return 0;
	snprintf(what, sizeof(what), "generating a key pair on token '%s'",
		 s->label);
	return pal_p11_fail(err, rv, what);
}

/* Generates the pair and, when asked, reads back its public half. */
static int
keygen(struct pal_p11_session *s, struct pair *k, EVP_PKEY **pub,
       struct pal_err *err)
{
	CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
	EVP_PKEY *key = NULL;
	int rc;

	if ((k->label.type == CKA_LABEL &&
	     (rc = check_unused(s, &k->label, "label", err)) < 0) ||
	    (rc = check_unused(s, &k->id, "id", err)) < 0 ||
	    (rc = generate(s, k, &hpub, &hpriv, err)) < 0)
		return rc;
	/* The signer's own path to the public half proves the pair usable. */
	rc = pal_p11_public_of(s, hpriv, &key, err);
	if (rc < 0) {
		(void)s->f->C_DestroyObject(s->h, hpriv);
		(void)s->f->C_DestroyObject(s->h, hpub);
		return rc;
	}
	if (pub != NULL)
		*pub = key;
	else
		EVP_PKEY_free(key);
	return 0;
}

int
pal_p11_keygen(const char *uri, const char *curve, EVP_PKEY **pub,
	       struct pal_err *err)
{
	struct pal_p11_session s;
	struct pal_p11_uri *u = NULL;
	uint8_t rid[ID_LEN], *params = NULL;
	size_t plen = 0;
	struct pair k;
	int rc;

	if (pub != NULL)
		*pub = NULL;
	memset(&k, 0, sizeof(k));
	if ((rc = curve_params(curve, &params, &plen, &k.mech, err)) < 0 ||
	    (rc = pal_p11_uri_parse(uri, strlen(uri), &u, err)) < 0)
		goto out;
	if (u->object == NULL && u->id == NULL) {
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "pkcs11 URI names no key: give object= "
				 "or id=");
		goto out;
	}
	if (u->id == NULL && RAND_bytes(rid, sizeof(rid)) != 1) {
		rc = pal_err_set(err, PAL_ERR_CRYPTO, "RAND_bytes failed");
		goto out;
	}
	k.params = (CK_ATTRIBUTE){ CKA_EC_PARAMS, params, plen };
	k.id = u->id != NULL ? (CK_ATTRIBUTE){ CKA_ID, u->id, u->id_len } :
		(CK_ATTRIBUTE){ CKA_ID, rid, sizeof(rid) };
	if (u->object != NULL)
		k.label = (CK_ATTRIBUTE){ CKA_LABEL, u->object,
					  strlen(u->object) };
	if ((rc = pal_p11_session_open(u, 1, PAL_P11_LOGIN_NEEDED, &s,
				       err)) < 0)
		goto out;
	rc = keygen(&s, &k, pub, err);
	pal_p11_session_close(&s);
out:
	OPENSSL_free(params);
	pal_p11_uri_free(u);
	return rc;
}
