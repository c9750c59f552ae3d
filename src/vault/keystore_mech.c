/*
 * keystore_mech.c - what the token can do, asked at run time.
 *
 * Tokens differ: SoftHSM2 2.6 has RFC 5649 (CKM_AES_KEY_WRAP_PAD) and RFC
 * 3394 (CKM_AES_KEY_WRAP) but no AES-GCM wrapping; HSMs vary by model and
 * firmware.  So the mechanism list is read from the token
 * (C_GetMechanismList) and each candidate's flags checked
 * (C_GetMechanismInfo) rather than assumed.  The list's length comes from
 * the module and is bounded before anything is allocated.
 *
 * Key sizes: PKCS#11 gives AES sizes in bytes, but some tokens report
 * bits; a range that holds 32 (bytes) or 256 (bits) is taken to allow
 * AES-256.  C_GenerateKey itself is the final word.
 */
#include <stdlib.h>

#include "keystore_int.h"

_Static_assert(PAL_KEYSTORE_MECH_AES_KEY_WRAP == CKM_AES_KEY_WRAP,
	       "CKM_AES_KEY_WRAP");
_Static_assert(PAL_KEYSTORE_MECH_AES_KEY_WRAP_PAD == CKM_AES_KEY_WRAP_PAD,
	       "CKM_AES_KEY_WRAP_PAD");

/* More mechanisms than any token has; bounds an allocation. */
#define MECHS_MAX 4096

#define M(m) { m, #m }

static const struct {
	CK_MECHANISM_TYPE m;
	const char *name;
} names[] = {
	M(CKM_AES_KEY_WRAP), M(CKM_AES_KEY_WRAP_PAD), M(CKM_AES_KEY_GEN),
	M(CKM_AES_ECB), M(CKM_AES_CBC), M(CKM_AES_CBC_PAD), M(CKM_AES_CTR),
	M(CKM_AES_GCM), M(CKM_AES_CCM), M(CKM_AES_CMAC),
	M(CKM_DES_ECB), M(CKM_DES_CBC), M(CKM_DES_CBC_PAD),
	M(CKM_DES3_ECB), M(CKM_DES3_CBC), M(CKM_DES3_CBC_PAD),
	M(CKM_RSA_PKCS), M(CKM_RSA_PKCS_OAEP), M(CKM_RSA_X_509),
	M(CKM_RSA_AES_KEY_WRAP), M(CKM_ECDH_AES_KEY_WRAP),
};

const char *
pal_keystore_mech_name(unsigned long mech)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].m == mech)
			return names[i].name;
	return NULL;
}

/* 1 when the range [min, max] allows AES-256 (see the top of the file). */
static int
allows_aes256(const CK_MECHANISM_INFO *mi)
{
	return (mi->ulMinKeySize <= 32 && mi->ulMaxKeySize >= 32) ||
		(mi->ulMinKeySize <= 256 && mi->ulMaxKeySize >= 256);
}

/* 1 when the token lists mech and its info has every flag in flags. */
static int
can(struct pal_keystore *ks, const CK_MECHANISM_TYPE *list, CK_ULONG n,
    CK_MECHANISM_TYPE mech, CK_FLAGS flags)
{
	CK_MECHANISM_INFO mi;
	CK_ULONG i;

	for (i = 0; i < n && list[i] != mech; i++)
		;
	if (i == n ||
	    ks->s.f->C_GetMechanismInfo(ks->slot, mech, &mi) != CKR_OK)
		return 0;
	return (mi.flags & flags) == flags && allows_aes256(&mi);
}

/* Reads the mechanism list; *list is malloc'd, caller frees. */
static int
mech_list(struct pal_keystore *ks, CK_MECHANISM_TYPE **list, CK_ULONG *n,
	  struct pal_err *err)
{
	CK_ULONG cap = 0;
	CK_RV rv;

	*list = NULL;
	*n = 0;
	rv = ks->s.f->C_GetMechanismList(ks->slot, NULL, &cap);
	if (rv != CKR_OK)
		return pal_p11_fail(err, rv, "C_GetMechanismList");
	if (cap > MECHS_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "token '%s' lists %lu mechanisms",
				   ks->s.label, (unsigned long)cap);
	if ((*list = calloc(cap ? cap : 1, sizeof(**list))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	*n = cap;
	rv = ks->s.f->C_GetMechanismList(ks->slot, *list, n);
	if (rv != CKR_OK || *n > cap) {
		free(*list);
		*list = NULL;
		return pal_p11_fail(err, rv != CKR_OK ? rv :
				    CKR_GENERAL_ERROR, "C_GetMechanismList");
	}
	return 0;
}

/* Names the mechanisms that can wrap, for the refusal. */
static void
wrapping_mechs(struct pal_keystore *ks, const CK_MECHANISM_TYPE *list,
	       CK_ULONG n, struct pal_buf *b)
{
	CK_MECHANISM_INFO mi;
	const char *name;
	CK_ULONG i;

	for (i = 0; i < n; i++) {
		if (ks->s.f->C_GetMechanismInfo(ks->slot, list[i], &mi) !=
		    CKR_OK || !(mi.flags & (CKF_WRAP | CKF_UNWRAP)))
			continue;
		if (b->len > 0)
			(void)pal_buf_puts(b, ", ");
		if ((name = pal_keystore_mech_name(list[i])) != NULL)
			(void)pal_buf_puts(b, name);
		else
			(void)pal_buf_printf(b, "0x%lx",
					     (unsigned long)list[i]);
	}
}

static int
refuse(struct pal_keystore *ks, const CK_MECHANISM_TYPE *list, CK_ULONG n,
       struct pal_err *err)
{
	struct pal_buf b;
	int rc;

	pal_buf_init(&b, PAL_ERR_MSG_MAX);
	wrapping_mechs(ks, list, n, &b);
	rc = pal_err_set(err, PAL_ERR_UNSUPPORTED,
			 "token '%s' cannot wrap with CKM_AES_KEY_WRAP_PAD "
			 "or CKM_AES_KEY_WRAP (wrap and unwrap, AES-256); "
			 "its wrapping mechanisms: %s", ks->s.label,
			 b.len > 0 ? (const char *)b.p : "none");
	pal_buf_free(&b);
	return rc;
}

int
pal_keystore_probe(struct pal_keystore *ks, struct pal_err *err)
{
	CK_MECHANISM_TYPE *list = NULL;
	CK_ULONG n = 0;
	int rc;

	if ((rc = mech_list(ks, &list, &n, err)) < 0)
		return rc;
	ks->has_wrap_pad = can(ks, list, n, CKM_AES_KEY_WRAP_PAD,
			       CKF_WRAP | CKF_UNWRAP);
	ks->has_wrap = can(ks, list, n, CKM_AES_KEY_WRAP,
			   CKF_WRAP | CKF_UNWRAP);
	if (!ks->has_wrap_pad && !ks->has_wrap)
		rc = refuse(ks, list, n, err);
	else if (!can(ks, list, n, CKM_AES_KEY_GEN, CKF_GENERATE))
		rc = pal_err_set(err, PAL_ERR_UNSUPPORTED,
				 "token '%s' cannot generate AES-256 keys "
				 "(CKM_AES_KEY_GEN)", ks->s.label);
	ks->wrap_mech = ks->has_wrap_pad ? CKM_AES_KEY_WRAP_PAD :
		CKM_AES_KEY_WRAP;
	free(list);
	return rc;
}
