/*
 * keystore_wrap.c - wrapping a release's data key (DEK) under its KEK, and
 * unwrapping it.
 *
 * PKCS#11 wraps keys, not bytes: the DEK, made on the host, becomes a
 * session object (gone when the session closes, destroyed here as soon as
 * it is wrapped) that can do nothing but be wrapped; C_WrapKey wraps it
 * under the KEK with RFC 5649 or RFC 3394 AES key wrap.  Unwrapping is the
 * way back: C_UnwrapKey makes a session object, whose CKA_VALUE is read
 * straight into secret memory before the object is destroyed.
 *
 * Key wrap is authenticated: a wrong KEK, or a wrapped key with any byte
 * changed, fails the integrity check inside the token.  SoftHSM2 answers
 * CKR_GENERAL_ERROR for that; the specification allows
 * CKR_WRAPPED_KEY_INVALID, CKR_ENCRYPTED_DATA_INVALID and others.  All of
 * them are reported as a verification failure that names the KEK but
 * never the bytes.
 *
 * The unwrap template leaves CKA_VALUE_LEN out, since the wrap determines
 * the length and SoftHSM2 rejects it (CKR_ATTRIBUTE_READ_ONLY); a token
 * that wants it (CKR_TEMPLATE_INCOMPLETE) is asked again with it.  Either
 * way the value read back must be exactly 32 bytes.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "keystore_int.h"

int
pal_keystore_dek_generate(struct pal_secmem **out, struct pal_err *err)
{
	struct pal_secmem *m = NULL;
	int rc;

	*out = NULL;
	if ((rc = pal_secmem_alloc(PAL_KEYSTORE_DEK_LEN, &m, err)) < 0)
		return rc;
	if (RAND_priv_bytes(pal_secmem_data(m), PAL_KEYSTORE_DEK_LEN) != 1) {
		pal_secmem_free(m);
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "RAND_priv_bytes failed");
	}
	*out = m;
	return 0;
}

/*
 * The KEK as the token has it now, found again by label and id and
 * checked: a handle kept from earlier may name a destroyed object, or
 * (on some tokens) a new one.
 */
static int
current(struct pal_keystore *ks, const struct pal_kek *kek,
	struct pal_kek *k, struct pal_err *err)
{
	return pal_keystore_kek_lookup(ks, kek->label, kek->id,
				       sizeof(kek->id), k, err);
}

/* The DEK as a session key object that may only be wrapped. */
static int
session_key(struct pal_keystore *ks, uint8_t *dek, CK_OBJECT_HANDLE *obj,
	    struct pal_err *err)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE t[13] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, &no, 1 }, { CKA_PRIVATE, &yes, 1 },
		{ CKA_VALUE, dek, PAL_KEYSTORE_DEK_LEN },
		{ CKA_EXTRACTABLE, &yes, 1 }, { CKA_SENSITIVE, &no, 1 },
		{ CKA_ENCRYPT, &no, 1 }, { CKA_DECRYPT, &no, 1 },
		{ CKA_WRAP, &no, 1 }, { CKA_UNWRAP, &no, 1 },
		{ CKA_SIGN, &no, 1 }, { CKA_VERIFY, &no, 1 },
	};
	CK_RV rv = ks->s.f->C_CreateObject(ks->s.h, t, 13, obj);

	if (rv != CKR_OK)
		return pal_p11_fail(err, rv, "loading the data key into the "
				    "token (C_CreateObject)");
	return 0;
}

int
pal_keystore_wrap(struct pal_keystore *ks, const struct pal_kek *kek,
		  struct pal_secmem *dek, struct pal_wrapped_dek *out,
		  struct pal_err *err)
{
	CK_MECHANISM mech = { ks->wrap_mech, NULL, 0 };
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	CK_ULONG len = sizeof(out->bytes);
	char what[PAL_KEYSTORE_LABEL_MAX + 64];
	struct pal_kek k;
	CK_RV rv;
	int rc;

	memset(out, 0, sizeof(*out));
	if (pal_secmem_len(dek) != PAL_KEYSTORE_DEK_LEN)
		return pal_err_set(err, PAL_ERR_INVALID, "a data key is %d "
				   "bytes, not %zu", PAL_KEYSTORE_DEK_LEN,
				   pal_secmem_len(dek));
	if ((rc = current(ks, kek, &k, err)) < 0 ||
	    (rc = session_key(ks, pal_secmem_data(dek), &obj, err)) < 0)
		return rc;
	rv = ks->s.f->C_WrapKey(ks->s.h, &mech, k.handle, obj, out->bytes,
				&len);
	(void)ks->s.f->C_DestroyObject(ks->s.h, obj);
	snprintf(what, sizeof(what), "wrapping the data key with KEK '%s'",
		 kek->label);
	if (rv != CKR_OK)
		rc = pal_p11_fail(err, rv, what);
	else if (len != PAL_KEYSTORE_WRAPPED_LEN)
		rc = pal_err_set(err, PAL_ERR_CRYPTO, "%s: the token gave %lu "
				 "bytes, not %d", what, (unsigned long)len,
				 PAL_KEYSTORE_WRAPPED_LEN);
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	out->mech = ks->wrap_mech;
	out->len = PAL_KEYSTORE_WRAPPED_LEN;
	return 0;
}

/* The return values that mean "does not open with this key". */
static const char *
bad_wrap_name(CK_RV rv)
{
	switch (rv) {
	case CKR_GENERAL_ERROR:		return "CKR_GENERAL_ERROR";
	case CKR_FUNCTION_FAILED:	return "CKR_FUNCTION_FAILED";
	case CKR_WRAPPED_KEY_INVALID:	return "CKR_WRAPPED_KEY_INVALID";
	case CKR_WRAPPED_KEY_LEN_RANGE:	return "CKR_WRAPPED_KEY_LEN_RANGE";
	case CKR_ENCRYPTED_DATA_INVALID: return "CKR_ENCRYPTED_DATA_INVALID";
	case CKR_ENCRYPTED_DATA_LEN_RANGE:
		return "CKR_ENCRYPTED_DATA_LEN_RANGE";
	case CKR_DATA_INVALID:		return "CKR_DATA_INVALID";
	default:			return NULL;
	}
}

/* C_UnwrapKey into a session object that may only be read. */
static int
unwrap_object(struct pal_keystore *ks, const struct pal_kek *kek,
	      const struct pal_wrapped_dek *w, CK_OBJECT_HANDLE *obj,
	      struct pal_err *err)
{
	CK_MECHANISM mech = { w->mech, NULL, 0 };
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG vlen = PAL_KEYSTORE_DEK_LEN;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	uint8_t wrapped[PAL_KEYSTORE_WRAPPED_LEN];
	CK_ATTRIBUTE t[13] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, &no, 1 }, { CKA_PRIVATE, &yes, 1 },
		{ CKA_SENSITIVE, &no, 1 }, { CKA_EXTRACTABLE, &yes, 1 },
		{ CKA_ENCRYPT, &no, 1 }, { CKA_DECRYPT, &no, 1 },
		{ CKA_WRAP, &no, 1 }, { CKA_UNWRAP, &no, 1 },
		{ CKA_SIGN, &no, 1 }, { CKA_VERIFY, &no, 1 },
		{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },	/* see the top */
	};
	char what[PAL_KEYSTORE_LABEL_MAX + 64];
	const char *name;
	CK_RV rv;

	memcpy(wrapped, w->bytes, sizeof(wrapped));
	rv = ks->s.f->C_UnwrapKey(ks->s.h, &mech, kek->handle, wrapped,
				  sizeof(wrapped), t, 12, obj);
	if (rv == CKR_TEMPLATE_INCOMPLETE)
		rv = ks->s.f->C_UnwrapKey(ks->s.h, &mech, kek->handle,
					  wrapped, sizeof(wrapped), t, 13,
					  obj);
	if (rv == CKR_OK)
		return 0;
	snprintf(what, sizeof(what), "unwrapping the data key with KEK "
		 "'%s'", kek->label);
	if ((name = bad_wrap_name(rv)) != NULL)
		return pal_err_set(err, PAL_ERR_VERIFY, "%s: it does not open "
				   "with this key (wrong key, or the wrapped "
				   "key is damaged) (%s)", what, name);
	return pal_p11_fail(err, rv, what);
}

/* Reads the object's CKA_VALUE, exactly 32 bytes, into secret memory. */
static int
read_value(struct pal_keystore *ks, CK_OBJECT_HANDLE obj,
	   struct pal_secmem **out, struct pal_err *err)
{
	CK_ATTRIBUTE a = { CKA_VALUE, NULL, 0 };
	struct pal_secmem *m = NULL;
	CK_RV rv;
	int rc;

	rv = ks->s.f->C_GetAttributeValue(ks->s.h, obj, &a, 1);
	if (rv != CKR_OK)
		return pal_p11_fail(err, rv, "reading the unwrapped data key");
	if (a.ulValueLen != PAL_KEYSTORE_DEK_LEN)
		return pal_err_set(err, PAL_ERR_VERIFY, "the unwrapped data "
				   "key is not %d bytes long",
				   PAL_KEYSTORE_DEK_LEN);
	if ((rc = pal_secmem_alloc(PAL_KEYSTORE_DEK_LEN, &m, err)) < 0)
		return rc;
	a.pValue = pal_secmem_data(m);
	rv = ks->s.f->C_GetAttributeValue(ks->s.h, obj, &a, 1);
	if (rv != CKR_OK || a.ulValueLen != PAL_KEYSTORE_DEK_LEN) {
		pal_secmem_free(m);
		return pal_p11_fail(err, rv != CKR_OK ? rv :
				    CKR_GENERAL_ERROR,
				    "reading the unwrapped data key");
	}
	*out = m;
	return 0;
}

int
pal_keystore_unwrap(struct pal_keystore *ks, const struct pal_kek *kek,
		    const struct pal_wrapped_dek *w, struct pal_secmem **dek,
		    struct pal_err *err)
{
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	const char *name = pal_keystore_mech_name(w->mech);
	struct pal_kek k;
	int rc;

	*dek = NULL;
	if (w->len != PAL_KEYSTORE_WRAPPED_LEN)
		return pal_err_set(err, PAL_ERR_VERIFY, "a wrapped data key is "
				   "%d bytes, not %zu",
				   PAL_KEYSTORE_WRAPPED_LEN, w->len);
	if (!pal_keystore_mech_supported(ks, w->mech))
		return pal_err_set(err, PAL_ERR_UNSUPPORTED, "the data key was "
				   "wrapped with %s%s%lx, which token '%s' "
				   "cannot unwrap", name != NULL ? name : "",
				   name != NULL ? " = 0x" : "mechanism 0x",
				   w->mech, ks->s.label);
	if ((rc = current(ks, kek, &k, err)) < 0 ||
	    (rc = unwrap_object(ks, &k, w, &obj, err)) < 0)
		return rc;
	rc = read_value(ks, obj, dek, err);
	(void)ks->s.f->C_DestroyObject(ks->s.h, obj);
	return rc;
}

int
pal_keystore_rewrap(struct pal_keystore *ks, const struct pal_kek *from,
		    const struct pal_wrapped_dek *w, const struct pal_kek *to,
		    struct pal_wrapped_dek *out, struct pal_err *err)
{
	struct pal_secmem *dek = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = pal_keystore_unwrap(ks, from, w, &dek, err)) < 0)
		return rc;
	rc = pal_keystore_wrap(ks, to, dek, out, err);
	pal_secmem_free(dek);
	return rc;
}
