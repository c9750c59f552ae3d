/*
 * pkcs11_key.c - key objects on a token: finding the one a URI names,
 * reading attributes, and turning an EC public key object into an
 * EVP_PKEY (EdDSA keys are handed to pkcs11_eddsa.c).
 *
 * What the token returns is not trusted to be well formed: attribute
 * sizes are bounded before anything is allocated, CKA_EC_PARAMS must be
 * the OID of P-256, P-384 or P-521 with nothing after it, CKA_EC_POINT a
 * DER OCTET STRING holding an uncompressed point of that curve's size, and
 * OpenSSL checks that the point is on the curve.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "palisade/encoding.h"
#include "palisade/text.h"
#include "pkcs11_int.h"

/* Bytes of r, s and each coordinate for P-521, the largest curve. */
#define FIELD_MAX 66

static const struct curve {
	int nid;
	const char *group;	/* OpenSSL's name */
	size_t field;		/* bytes per coordinate */
} curves[] = {
	{ NID_X9_62_prime256v1, "prime256v1", 32 },
	{ NID_secp384r1, "secp384r1", 48 },
	{ NID_secp521r1, "secp521r1", 66 },
};

static const char *
attr_name(CK_ATTRIBUTE_TYPE t)
{
	switch (t) {
	case CKA_ID:			return "CKA_ID";
	case CKA_LABEL:			return "CKA_LABEL";
	case CKA_KEY_TYPE:		return "CKA_KEY_TYPE";
	case CKA_SIGN:			return "CKA_SIGN";
	case CKA_EC_PARAMS:		return "CKA_EC_PARAMS";
	case CKA_EC_POINT:		return "CKA_EC_POINT";
	case CKA_PUBLIC_KEY_INFO:	return "CKA_PUBLIC_KEY_INFO";
	case CKA_ALWAYS_AUTHENTICATE:	return "CKA_ALWAYS_AUTHENTICATE";
	default:			return "attribute";
	}
}

static int
attr_fail(struct pal_err *err, CK_RV rv, CK_ATTRIBUTE_TYPE t)
{
	char what[64];

	snprintf(what, sizeof(what), "reading %s", attr_name(t));
	return pal_p11_fail(err, rv, what);
}

int
pal_p11_attr(struct pal_p11_session *s, CK_OBJECT_HANDLE obj,
	     CK_ATTRIBUTE_TYPE type, uint8_t **out, size_t *len,
	     struct pal_err *err)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_ULONG cap;
	CK_RV rv;

	*out = NULL;
	*len = 0;
	if ((rv = s->f->C_GetAttributeValue(s->h, obj, &a, 1)) != CKR_OK)
		return attr_fail(err, rv, type);
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION ||
	    a.ulValueLen > PAL_P11_ATTR_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "token gave no usable size for %s",
				   attr_name(type));
	cap = a.ulValueLen;
	if ((a.pValue = malloc(cap ? cap : 1)) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	rv = s->f->C_GetAttributeValue(s->h, obj, &a, 1);
	if (rv != CKR_OK || a.ulValueLen > cap) {
		free(a.pValue);
		return attr_fail(err, rv != CKR_OK ? rv : CKR_GENERAL_ERROR,
				 type);
	}
	*out = a.pValue;
	*len = a.ulValueLen;
	return 0;
}

/* Reads a fixed-size attribute of exactly n bytes into v. */
static int
attr_fixed(struct pal_p11_session *s, CK_OBJECT_HANDLE obj,
	   CK_ATTRIBUTE_TYPE type, void *v, CK_ULONG n, struct pal_err *err)
{
	CK_ATTRIBUTE a = { type, v, n };
	CK_RV rv;

	if ((rv = s->f->C_GetAttributeValue(s->h, obj, &a, 1)) != CKR_OK)
		return attr_fail(err, rv, type);
	if (a.ulValueLen != n)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "token gave %s of %lu bytes",
				   attr_name(type), (unsigned long)a.ulValueLen);
	return 0;
}

int
pal_p11_attr_bool(struct pal_p11_session *s, CK_OBJECT_HANDLE obj,
		  CK_ATTRIBUTE_TYPE type, int *v, struct pal_err *err)
{
	CK_BBOOL b = CK_FALSE;
	int rc = attr_fixed(s, obj, type, &b, sizeof(b), err);

	*v = b == CK_TRUE;
	return rc;
}

int
pal_p11_attr_ulong(struct pal_p11_session *s, CK_OBJECT_HANDLE obj,
		   CK_ATTRIBUTE_TYPE type, CK_ULONG *v, struct pal_err *err)
{
	*v = 0;
	return attr_fixed(s, obj, type, v, sizeof(*v), err);
}

int
pal_p11_find(struct pal_p11_session *s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
	     CK_OBJECT_HANDLE *obj, int *count, struct pal_err *err)
{
	CK_OBJECT_HANDLE found[2];
	CK_ULONG got = 0, total = 0;
	CK_RV rv;

	*count = 0;
	*obj = CK_INVALID_HANDLE;
	if ((rv = s->f->C_FindObjectsInit(s->h, tmpl, n)) != CKR_OK)
		return pal_p11_fail(err, rv, "C_FindObjectsInit");
	/* A module may hand out matches a few at a time. */
	do {
		rv = s->f->C_FindObjects(s->h, found + total, 2 - total, &got);
		total += rv == CKR_OK && got <= 2 - total ? got : 0;
	} while (rv == CKR_OK && got > 0 && total < 2);
	(void)s->f->C_FindObjectsFinal(s->h);
	if (rv != CKR_OK)
		return pal_p11_fail(err, rv, "C_FindObjects");
	*count = (int)total;
	if (total > 0)
		*obj = found[0];
	return 0;
}

/* "object 'x' and id 0a0b" for messages; the label escaped. */
static void
describe(const struct pal_p11_uri *u, char *out, size_t cap)
{
	char hex[2 * 32 + 1];
	struct pal_buf b;

	pal_buf_init(&b, cap - 1);
	if (u->object != NULL) {
		(void)pal_buf_puts(&b, "object '");
		(void)pal_text_escape(&b, u->object, strlen(u->object));
		(void)pal_buf_puts(&b, "'");
	}
	if (u->id != NULL) {
		size_t n = u->id_len < 32 ? u->id_len : 32;
		pal_hex_encode(u->id, n, hex);
		(void)pal_buf_printf(&b, "%sid %s%s", u->object ? " and " : "",
				     hex, n < u->id_len ? "..." : "");
	}
	snprintf(out, cap, "%s", b.p != NULL ? (char *)b.p : "");
	pal_buf_free(&b);
}

int
pal_p11_find_key(struct pal_p11_session *s, const struct pal_p11_uri *u,
		 CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *obj,
		 struct pal_err *err)
{
	const char *kind = cls == CKO_PRIVATE_KEY ? "private" : "public";
	CK_ATTRIBUTE t[3];
	CK_ULONG n = 0;
	char what[200];
	int count, rc;

	if (u->object == NULL && u->id == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "pkcs11 URI names no key: give object= "
				   "or id=");
	t[n++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	if (u->object != NULL)
		t[n++] = (CK_ATTRIBUTE){ CKA_LABEL, u->object,
					 strlen(u->object) };
	if (u->id != NULL)
		t[n++] = (CK_ATTRIBUTE){ CKA_ID, u->id, u->id_len };
	if ((rc = pal_p11_find(s, t, n, obj, &count, err)) < 0)
		return rc;
	if (count == 1)
		return 0;
	describe(u, what, sizeof(what));
	if (count == 0)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "key not found: no %s key with %s on token "
				   "'%s'", kind, what, s->label);
	return pal_err_set(err, PAL_ERR_INVALID,
			   "several %s keys with %s on token '%s'; give "
			   "both object= and id=", kind, what, s->label);
}

static int
curve_of(const uint8_t *params, size_t plen, const struct curve **c,
	 struct pal_err *err)
{
	const unsigned char *p = params;
	ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, (long)plen);
	int nid = NID_undef;
	size_t i;

	if (oid != NULL && (size_t)(p - params) == plen)
		nid = OBJ_obj2nid(oid);
	ASN1_OBJECT_free(oid);
	ERR_clear_error();
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		if (curves[i].nid == nid) {
			*c = &curves[i];
			return 0;
		}
	}
	return pal_err_set(err, PAL_ERR_UNSUPPORTED,
			   "wrong curve: the key is on %s, not P-256, P-384 "
			   "or P-521", nid != NID_undef ? OBJ_nid2sn(nid) :
			   "a curve not named by a known OID");
}

/* Copies the uncompressed point out of its DER OCTET STRING. */
static int
unwrap_point(const uint8_t *der, size_t len, const struct curve *c,
	     uint8_t *pt, size_t *ptlen, struct pal_err *err)
{
	const unsigned char *p = der;
	ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len);
	size_t want = 1 + 2 * c->field;
	int ok = os != NULL && (size_t)(p - der) == len &&
		(size_t)ASN1_STRING_length(os) == want &&
		ASN1_STRING_get0_data(os)[0] == 0x04;

	if (ok)
		memcpy(pt, ASN1_STRING_get0_data(os), want);
	ASN1_OCTET_STRING_free(os);
	ERR_clear_error();
	if (!ok)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "CKA_EC_POINT is not a DER OCTET STRING "
				   "holding an uncompressed %s point",
				   OBJ_nid2sn(c->nid));
	*ptlen = want;
	return 0;
}

/* Builds the key from its curve and point; OpenSSL checks the point. */
static int
key_from_point(const struct curve *c, uint8_t *pt, size_t ptlen,
	       EVP_PKEY **out, struct pal_err *err)
{
	char group[16];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY_CTX *chk = NULL;
	EVP_PKEY *k = NULL;
	int ok;

	snprintf(group, sizeof(group), "%s", c->group);
	params[0] = OSSL_PARAM_construct_utf8_string(
		OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(
		OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen);
	params[2] = OSSL_PARAM_construct_end();
	ok = ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
		EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) == 1 &&
		(chk = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL)) != NULL &&
		EVP_PKEY_public_check(chk) == 1;
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (!ok) {
		EVP_PKEY_free(k);
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "CKA_EC_POINT is not a valid %s point",
				   OBJ_nid2sn(c->nid));
	}
	*out = k;
	return 0;
}

int
pal_p11_ec_key(const uint8_t *params, size_t plen, const uint8_t *point,
	       size_t ptlen, EVP_PKEY **out, struct pal_err *err)
{
	const struct curve *c = NULL;
	uint8_t pt[1 + 2 * FIELD_MAX];
	size_t n = 0;
	int rc;

	*out = NULL;
	if ((rc = curve_of(params, plen, &c, err)) < 0 ||
	    (rc = unwrap_point(point, ptlen, c, pt, &n, err)) < 0)
		return rc;
	return key_from_point(c, pt, n, out, err);
}

static int
check_ec(struct pal_p11_session *s, CK_OBJECT_HANDLE obj,
	 struct pal_err *err)
{
	CK_ULONG kt;
	int rc = pal_p11_attr_ulong(s, obj, CKA_KEY_TYPE, &kt, err);

	if (rc == 0 && kt != CKK_EC)
		rc = pal_err_set(err, PAL_ERR_UNSUPPORTED,
				 "wrong key type: the key is not an EC key "
				 "(CKA_KEY_TYPE 0x%lx)", (unsigned long)kt);
	return rc;
}

/* 1 when the key is an EdDSA key (pkcs11_eddsa.c reads those). */
static int
is_eddsa(struct pal_p11_session *s, CK_OBJECT_HANDLE obj)
{
	CK_ULONG kt;

	return pal_p11_attr_ulong(s, obj, CKA_KEY_TYPE, &kt, NULL) == 0 &&
		kt == CKK_EC_EDWARDS;
}

int
pal_p11_public_key(struct pal_p11_session *s, CK_OBJECT_HANDLE pub,
		   EVP_PKEY **out, struct pal_err *err)
{
	uint8_t *params = NULL, *point = NULL;
	size_t plen, ptlen;
	int rc;

	*out = NULL;
	if (is_eddsa(s, pub))
		return pal_p11_ed25519_public(s, pub, out, err);
	if ((rc = check_ec(s, pub, err)) == 0 &&
	    (rc = pal_p11_attr(s, pub, CKA_EC_PARAMS, &params, &plen,
			       err)) == 0 &&
	    (rc = pal_p11_attr(s, pub, CKA_EC_POINT, &point, &ptlen,
			       err)) == 0)
		rc = pal_p11_ec_key(params, plen, point, ptlen, out, err);
	free(params);
	free(point);
	return rc;
}

int
pal_p11_public_from_info(struct pal_p11_session *s, CK_OBJECT_HANDLE priv,
			 const char *group, EVP_PKEY **out,
			 struct pal_err *err)
{
	uint8_t *spki = NULL;
	const unsigned char *p;
	char g[32];
	EVP_PKEY *k = NULL;
	size_t n = 0;

	if (pal_p11_attr(s, priv, CKA_PUBLIC_KEY_INFO, &spki, &n, NULL) == 0 &&
	    n > 0) {
		p = spki;
		k = d2i_PUBKEY(NULL, &p, (long)n);
		int ok = k != NULL && (size_t)(p - spki) == n &&
			(group == NULL ?
			 EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 :
			 EVP_PKEY_is_a(k, "EC") &&
			 EVP_PKEY_get_group_name(k, g, sizeof(g), NULL) == 1 &&
			 strcmp(g, group) == 0);
		if (!ok) {
			EVP_PKEY_free(k);
			k = NULL;
		}
		ERR_clear_error();
	}
	free(spki);
	if (k == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "no public key object with the private "
				   "key's CKA_ID, and no usable "
				   "CKA_PUBLIC_KEY_INFO on the private key");
	*out = k;
	return 0;
}

int
pal_p11_find_pair(struct pal_p11_session *s, CK_OBJECT_HANDLE priv,
		  CK_KEY_TYPE kt, CK_OBJECT_HANDLE *pub, int *count,
		  struct pal_err *err)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE t[3];
	uint8_t *v = NULL;
	size_t n = 0;
	int rc;

	*count = 0;
	if ((rc = pal_p11_attr(s, priv, CKA_ID, &v, &n, err)) < 0)
		return rc;
	t[2] = (CK_ATTRIBUTE){ CKA_ID, v, n };
	if (n == 0) {
		free(v);
		if ((rc = pal_p11_attr(s, priv, CKA_LABEL, &v, &n, err)) < 0)
			return rc;
		t[2] = (CK_ATTRIBUTE){ CKA_LABEL, v, n };
	}
	t[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	t[1] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };
	if (n > 0)
		rc = pal_p11_find(s, t, 3, pub, count, err);
	free(v);
	if (rc == 0 && *count > 1)
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "several public key objects share the "
				 "private key's CKA_ID on token '%s'",
				 s->label);
	return rc;
}

/* The public object's curve must be the private key's. */
static int
same_params(struct pal_p11_session *s, CK_OBJECT_HANDLE pub,
	    const uint8_t *params, size_t plen, struct pal_err *err)
{
	uint8_t *pp = NULL;
	size_t n = 0;
	int rc = pal_p11_attr(s, pub, CKA_EC_PARAMS, &pp, &n, err);

	if (rc == 0 && (n != plen || memcmp(pp, params, n) != 0))
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "the public key object's CKA_EC_PARAMS "
				 "differ from the private key's");
	free(pp);
	return rc;
}

int
pal_p11_public_of(struct pal_p11_session *s, CK_OBJECT_HANDLE priv,
		  EVP_PKEY **out, struct pal_err *err)
{
	const struct curve *c = NULL;
	CK_OBJECT_HANDLE pub;
	uint8_t *params = NULL;
	size_t plen = 0;
	int count, rc;

	*out = NULL;
	if (is_eddsa(s, priv))
		return pal_p11_ed25519_public_of(s, priv, out, err);
	if ((rc = check_ec(s, priv, err)) < 0 ||
	    (rc = pal_p11_attr(s, priv, CKA_EC_PARAMS, &params, &plen,
			       err)) < 0)
		goto out;
	if ((rc = curve_of(params, plen, &c, err)) < 0 ||
	    (rc = pal_p11_find_pair(s, priv, CKK_EC, &pub, &count,
				    err)) < 0)
		goto out;
	if (count == 0)
		rc = pal_p11_public_from_info(s, priv, c->group, out, err);
	else if ((rc = same_params(s, pub, params, plen, err)) == 0)
		rc = pal_p11_public_key(s, pub, out, err);
out:
	free(params);
	return rc;
}

int
pal_p11_check_signing(struct pal_p11_session *s, CK_OBJECT_HANDLE key,
		      struct pal_err *err)
{
	int sign = 0, always = 0;
	int rc = pal_p11_attr_bool(s, key, CKA_SIGN, &sign, err);

	if (rc < 0)
		return rc;
	if (!sign)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "the key on token '%s' may not sign "
				   "(CKA_SIGN is false)", s->label);
	/* Modules before PKCS#11 2.20 do not know the attribute. */
	if (pal_p11_attr_bool(s, key, CKA_ALWAYS_AUTHENTICATE, &always,
			      NULL) == 0 && always)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "the key on token '%s' needs the PIN for "
				   "every signature (CKA_ALWAYS_AUTHENTICATE); "
				   "that is not supported", s->label);
	return 0;
}
