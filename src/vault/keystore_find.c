/*
 * keystore_find.c - finding a release's KEKs on the token, and checking
 * that what carries a KEK label is a KEK.
 *
 * Anyone with the user PIN can put objects on the token, so an object is
 * not trusted for its label: before it wraps or unwraps anything, it must
 * be an AES key of 32 bytes that lives on the token, needs a login, is
 * sensitive and not extractable, may wrap and unwrap but not encrypt or
 * decrypt, and has a 16-byte CKA_ID.  A key that fails is reported with
 * what is wrong with it, not skipped, so that a planted key cannot shadow
 * the real one unnoticed.
 *
 * The current generation of a release is found by walking the token's
 * secret keys (PKCS#11 cannot search by label prefix); the count is
 * bounded and so is each label.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/encoding.h"
#include "palisade/text.h"
#include "keystore_int.h"

#define OBJECTS_MAX 65536
#define BATCH 64

/* Every secret key's handle; *out malloc'd, caller frees. */
static int
secret_keys(struct pal_keystore *ks, CK_OBJECT_HANDLE **out, size_t *n,
	    struct pal_err *err)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
	CK_OBJECT_HANDLE *h = NULL, *p;
	CK_ULONG got = 0;
	size_t total = 0;
	CK_RV rv;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if ((rv = ks->s.f->C_FindObjectsInit(ks->s.h, &t, 1)) != CKR_OK)
		return pal_p11_fail(err, rv, "C_FindObjectsInit");
	do {
		if (total + BATCH > OBJECTS_MAX) {
			rc = pal_err_set(err, PAL_ERR_LIMIT, "token '%s' has "
					 "more than %d secret keys",
					 ks->s.label, OBJECTS_MAX - BATCH);
			break;
		}
		if ((p = realloc(h, (total + BATCH) * sizeof(*h))) == NULL) {
			rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
			break;
		}
		h = p;
		rv = ks->s.f->C_FindObjects(ks->s.h, h + total, BATCH, &got);
		if (rv != CKR_OK || got > BATCH)
			rc = pal_p11_fail(err, rv != CKR_OK ? rv :
					  CKR_GENERAL_ERROR, "C_FindObjects");
		else
			total += got;
	} while (rc == 0 && got > 0);
	(void)ks->s.f->C_FindObjectsFinal(ks->s.h);
	if (rc < 0) {
		free(h);
		return rc;
	}
	*out = h;
	*n = total;
	return 0;
}

/* The label of a KEK-labelled object, escaped, for messages. */
static void
escaped(const uint8_t *s, size_t n, char *out, size_t cap)
{
	struct pal_buf b;

	pal_buf_init(&b, cap - 1);
	out[0] = '\0';
	if (pal_text_escape(&b, (const char *)s, n) == 0 && b.p != NULL)
		memcpy(out, b.p, b.len + 1);
	pal_buf_free(&b);
}

/* Why the attributes read are not those of a KEK, or NULL. */
static const char *
not_a_kek(CK_ULONG kt, CK_ULONG len, const CK_BBOOL b[8])
{
	/* token private sensitive wrap unwrap | extractable encrypt decrypt */
	static const char *const why[8] = {
		"it is not a token object", "it does not need a login",
		"it is not sensitive", "it cannot wrap", "it cannot unwrap",
		"it is extractable", "it can encrypt", "it can decrypt",
	};
	size_t i;

	if (kt != CKK_AES)
		return "it is not an AES key";
	if (len != 32)
		return "it is not 32 bytes long";
	for (i = 0; i < 8; i++)
		if ((b[i] == CK_TRUE) != (i < 5))
			return why[i];
	return NULL;
}

/* Reads the key's CKA_ID, which must be PAL_KEYSTORE_ID_LEN bytes. */
static int
read_id(struct pal_keystore *ks, CK_OBJECT_HANDLE obj, struct pal_kek *k,
	struct pal_err *err)
{
	CK_ATTRIBUTE a = { CKA_ID, NULL, 0 };
	CK_RV rv = ks->s.f->C_GetAttributeValue(ks->s.h, obj, &a, 1);

	if (rv == CKR_OK && a.ulValueLen == PAL_KEYSTORE_ID_LEN) {
		a.pValue = k->id;
		rv = ks->s.f->C_GetAttributeValue(ks->s.h, obj, &a, 1);
	}
	if (rv != CKR_OK)
		return pal_p11_fail(err, rv, "reading CKA_ID");
	if (a.ulValueLen != PAL_KEYSTORE_ID_LEN)
		return pal_err_set(err, PAL_ERR_INVALID, "object '%s' on token "
				   "'%s' is not a vault KEK: its CKA_ID is not "
				   "%d bytes", k->label, ks->s.label,
				   PAL_KEYSTORE_ID_LEN);
	pal_hex_encode(k->id, PAL_KEYSTORE_ID_LEN, k->id_hex);
	return 0;
}

int
pal_keystore_kek_check(struct pal_keystore *ks, CK_OBJECT_HANDLE obj,
		       struct pal_kek *k, struct pal_err *err)
{
	CK_ULONG kt = 0, len = 0;
	CK_BBOOL b[8] = { 0 };
	CK_ATTRIBUTE t[10] = {
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_TOKEN, &b[0], 1 }, { CKA_PRIVATE, &b[1], 1 },
		{ CKA_SENSITIVE, &b[2], 1 }, { CKA_WRAP, &b[3], 1 },
		{ CKA_UNWRAP, &b[4], 1 }, { CKA_EXTRACTABLE, &b[5], 1 },
		{ CKA_ENCRYPT, &b[6], 1 }, { CKA_DECRYPT, &b[7], 1 },
	};
	const char *why = NULL;
	size_t i;
	CK_RV rv;

	pal_keystore_label_make(k->release, k->generation, k->label);
	k->handle = obj;
	rv = ks->s.f->C_GetAttributeValue(ks->s.h, obj, t, 10);
	if (rv != CKR_OK)
		why = "its attributes cannot be read";
	for (i = 0; why == NULL && i < 10; i++)
		if (t[i].ulValueLen != (i < 2 ? sizeof(CK_ULONG) : 1))
			why = "the token gave attributes of the wrong size";
	if (why == NULL)
		why = not_a_kek(kt, len, b);
	if (why != NULL)
		return pal_err_set(err, PAL_ERR_INVALID, "object '%s' on token "
				   "'%s' is not a vault KEK: %s", k->label,
				   ks->s.label, why);
	return read_id(ks, obj, k, err);
}

/*
 * Looks at one secret key: *k filled and *ours 1 when it is a KEK of
 * release (of any release when NULL).
 */
static int
consider(struct pal_keystore *ks, CK_OBJECT_HANDLE obj, const char *release,
	 struct pal_kek *k, int *ours, struct pal_err *err)
{
	char shown[PAL_KEYSTORE_LABEL_MAX * 4 + 1];
	uint8_t *label = NULL;
	size_t n = 0;
	int rc, r;

	*ours = 0;
	memset(k, 0, sizeof(*k));
	if ((rc = pal_p11_attr(&ks->s, obj, CKA_LABEL, &label, &n, err)) < 0)
		return rc;
	r = pal_keystore_label_parse(label, n, k->release, &k->generation);
	if (r < 0 && release == NULL) {
		escaped(label, n < PAL_KEYSTORE_LABEL_MAX ? n :
			PAL_KEYSTORE_LABEL_MAX, shown, sizeof(shown));
		rc = pal_err_set(err, PAL_ERR_INVALID, "object '%s%s' on token "
				 "'%s' has a vault KEK's label prefix but is "
				 "not a vault KEK label", shown,
				 n > PAL_KEYSTORE_LABEL_MAX ? "..." : "",
				 ks->s.label);
	} else if (r == 1 &&
		   (release == NULL || strcmp(release, k->release) == 0)) {
		*ours = 1;
		rc = pal_keystore_kek_check(ks, obj, k, err);
	}
	free(label);
	return rc;
}

static int
by_release(const void *a, const void *b)
{
	const struct pal_kek *x = a, *y = b;
	int c = strcmp(x->release, y->release);

	if (c != 0)
		return c;
	return x->generation < y->generation ? -1 :
		x->generation > y->generation;
}

/* Sorts; two objects with one label are an error. */
static int
sort_unique(struct pal_keystore *ks, struct pal_kek *v, size_t n,
	    struct pal_err *err)
{
	size_t i;

	if (n > 1)
		qsort(v, n, sizeof(*v), by_release);
	for (i = 1; i < n; i++)
		if (by_release(&v[i - 1], &v[i]) == 0)
			return pal_err_set(err, PAL_ERR_INVALID,
					   "several objects labelled '%s' on "
					   "token '%s'", v[i].label,
					   ks->s.label);
	return 0;
}

int
pal_keystore_keks(struct pal_keystore *ks, const char *release,
		  struct pal_kek **out, size_t *n, struct pal_err *err)
{
	CK_OBJECT_HANDLE *h = NULL;
	struct pal_kek *v = NULL;
	size_t nh = 0, i, nv = 0;
	int rc, ours;

	*out = NULL;
	*n = 0;
	if ((rc = secret_keys(ks, &h, &nh, err)) < 0)
		return rc;
	if (nh > 0 && (v = calloc(nh, sizeof(*v))) == NULL)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	for (i = 0; rc == 0 && i < nh; i++) {
		rc = consider(ks, h[i], release, &v[nv], &ours, err);
		nv += rc == 0 && ours;
	}
	if (rc == 0)
		rc = sort_unique(ks, v, nv, err);
	free(h);
	if (rc < 0 || nv == 0) {
		free(v);
		return rc;
	}
	*out = v;
	*n = nv;
	return 0;
}

int
pal_keystore_kek_find(struct pal_keystore *ks, const char *release,
		      struct pal_kek *out, struct pal_err *err)
{
	struct pal_kek *v = NULL;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = pal_keystore_release_check(release, err)) < 0 ||
	    (rc = pal_keystore_keks(ks, release, &v, &n, err)) < 0)
		return rc;
	if (n == 0)
		return pal_err_set(err, PAL_ERR_INVALID, "key not found: "
				   "release '%s' has no key-encryption key on "
				   "token '%s' (never created, or shredded)",
				   release, ks->s.label);
	*out = v[n - 1];
	free(v);
	return 0;
}

int
pal_keystore_kek_lookup(struct pal_keystore *ks, const char *label,
			const uint8_t *id, size_t id_len,
			struct pal_kek *out, struct pal_err *err)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	char lab[PAL_KEYSTORE_LABEL_MAX + 1];
	uint8_t want[PAL_KEYSTORE_ID_LEN];
	CK_ATTRIBUTE t[3] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, lab, 0 },
		{ CKA_ID, want, sizeof(want) },
	};
	char hex[2 * PAL_KEYSTORE_ID_LEN + 1];
	size_t n = strnlen(label, PAL_KEYSTORE_LABEL_MAX + 1);
	CK_OBJECT_HANDLE obj;
	int count, rc;

	memset(out, 0, sizeof(*out));
	if (n > PAL_KEYSTORE_LABEL_MAX || id_len != PAL_KEYSTORE_ID_LEN ||
	    pal_keystore_label_parse((const uint8_t *)label, n, out->release,
				     &out->generation) != 1)
		return pal_err_set(err, PAL_ERR_INVALID, "not a vault KEK's "
				   "label and %d-byte id", PAL_KEYSTORE_ID_LEN);
	memcpy(lab, label, n + 1);
	memcpy(want, id, sizeof(want));
	t[1].ulValueLen = n;
	if ((rc = pal_p11_find(&ks->s, t, 3, &obj, &count, err)) < 0)
		return rc;
	/* The label parsed as a KEK label: it holds no character to escape. */
	pal_hex_encode(want, sizeof(want), hex);
	if (count == 0)
		return pal_err_set(err, PAL_ERR_INVALID, "key not found: no "
				   "KEK '%s' with id %s on token '%s' "
				   "(shredded, or rotated away)", lab, hex,
				   ks->s.label);
	if (count > 1)
		return pal_err_set(err, PAL_ERR_INVALID, "several objects are "
				   "KEK '%s' with id %s on token '%s'", lab,
				   hex, ks->s.label);
	return pal_keystore_kek_check(ks, obj, out, err);
}

int
pal_keystore_kek_list(struct pal_keystore *ks, struct pal_kek **out,
		      size_t *n, struct pal_err *err)
{
	return pal_keystore_keks(ks, NULL, out, n, err);
}
