/*
 * sigstore_cert.c - the Fulcio certificate: its chain to a CA of the
 * trusted root at a signing time, and the identity it vouches for.
 *
 * A Fulcio certificate lives ten minutes, so it is checked at the times
 * the log and the TSAs vouch for, never at the current time.  The CA's own
 * validity window in the trusted root must hold that time too: a CA the
 * root retired cannot vouch for later signatures.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "palisade/x509.h"
#include "sigstore_int.h"

/* The CA certificate of ca that issued leaf, or NULL. */
static X509 *
issuer_in(const struct ss_ca *ca, X509 *leaf)
{
	for (int i = 0; i < sk_X509_num(ca->certs); i++) {
		X509 *c = sk_X509_value(ca->certs, i);
		if (X509_check_issued(c, leaf) == X509_V_OK)
			return c;
	}
	return NULL;
}

/* Verifies leaf up to the last (self-signed) certificate of ca's chain. */
static int
chain_to(const struct ss_ca *ca, X509 *leaf, int64_t at, struct pal_err *err)
{
	STACK_OF(X509) *roots = sk_X509_new_null();
	STACK_OF(X509) *inter = sk_X509_new_null();
	int n = sk_X509_num(ca->certs), rc;

	if (roots == NULL || inter == NULL ||
	    !sk_X509_push(roots, sk_X509_value(ca->certs, n - 1))) {
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < n - 1; i++)
		if (!sk_X509_push(inter, sk_X509_value(ca->certs, i))) {
			rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
			goto out;
		}
	rc = pal_x509_verify_chain(leaf, inter, roots, (time_t)at, err);
out:
	/* The stacks borrow the root's certificates. */
	sk_X509_free(roots);
	sk_X509_free(inter);
	return rc;
}

int
ss_cert_chain(const struct pal_sigstore_root *root, X509 *leaf, int64_t at,
	      X509 **issuer, struct pal_err *err)
{
	char t[32];
	size_t in_window = 0;
	int rc = 0;

	*issuer = NULL;
	ss_format_time(at, t);
	for (size_t i = 0; i < root->n_cas; i++) {
		const struct ss_ca *ca = &root->cas[i];
		if (at < ca->start || at > ca->end)
			continue;
		in_window++;
		if ((rc = chain_to(ca, leaf, at, err)) == 0) {
			*issuer = issuer_in(ca, leaf);
			if (*issuer == NULL)
				return pal_err_set(err, PAL_ERR_VERIFY,
						   "certificate: its issuer is "
						   "not in the Fulcio CA chain");
			return pal_x509_check_codesign(leaf, err);
		}
	}
	if (in_window == 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "certificate: no Fulcio CA of the trusted "
				   "root is valid at the signing time %s", t);
	return pal_err_wrap(err, rc, "certificate: no Fulcio CA of the "
			    "trusted root issued it (at %s): ", t);
}

/* Copies an IA5String without embedded NULs into out. */
static int
copy_ia5(const ASN1_IA5STRING *s, char out[256])
{
	int n = ASN1_STRING_length(s);
	const unsigned char *p = ASN1_STRING_get0_data(s);

	if (n <= 0 || n > 255 || memchr(p, '\0', (size_t)n) != NULL)
		return -1;
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	return 0;
}

/* The certificate's one email or URI subject alternative name. */
static int
san_identity(X509 *leaf, char out[256], struct pal_err *err)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name,
						NULL, NULL);
	int found = 0, bad = 0;

	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		if (g->type != GEN_EMAIL && g->type != GEN_URI)
			continue;
		found++;
		bad |= copy_ia5(g->d.ia5, out) < 0;
	}
	GENERAL_NAMES_free(names);
	ERR_clear_error();
	if (found != 1 || bad)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "certificate: %d email or URI identities, "
				   "needs exactly one well-formed", found);
	return 0;
}

/*
 * The OIDC issuer: extension 1.3.6.1.4.1.57264.1.8 holds a DER
 * UTF8String; the legacy 1.3.6.1.4.1.57264.1.1 holds the raw string.
 */
static int
issuer_ext(X509 *leaf, const char *oid, int der, char out[256])
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	int idx = obj ? X509_get_ext_by_OBJ(leaf, obj, -1) : -1;
	int rc = -1;

	if (idx >= 0 && X509_get_ext_by_OBJ(leaf, obj, idx) >= 0)
		idx = -2;	/* twice: ambiguous */
	ASN1_OBJECT_free(obj);
	if (idx < 0)
		return idx == -1 ? 0 : -1;
	ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(
		X509_get_ext(leaf, idx));
	const unsigned char *p = ASN1_STRING_get0_data(os);
	long n = ASN1_STRING_length(os);
	if (der) {
		ASN1_UTF8STRING *u = d2i_ASN1_UTF8STRING(NULL, &p, n);
		if (u != NULL && p == ASN1_STRING_get0_data(os) + n)
			rc = copy_ia5(u, out) < 0 ? -1 : 1;
		ASN1_UTF8STRING_free(u);
	} else if (n > 0 && n < 256 && memchr(p, '\0', (size_t)n) == NULL) {
		memcpy(out, p, (size_t)n);
		out[n] = '\0';
		rc = 1;
	}
	ERR_clear_error();
	return rc;
}

static int
oidc_issuer(X509 *leaf, char out[256], struct pal_err *err)
{
	char legacy[256];
	int v2 = issuer_ext(leaf, "1.3.6.1.4.1.57264.1.8", 1, out);
	int v1 = issuer_ext(leaf, "1.3.6.1.4.1.57264.1.1", 0, legacy);

	if (v2 < 0 || v1 < 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "certificate: malformed OIDC issuer "
				   "extension");
	if (v2 == 0 && v1 == 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "certificate: no OIDC issuer extension");
	if (v2 == 1 && v1 == 1 && strcmp(out, legacy) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "certificate: the two OIDC issuer "
				   "extensions disagree");
	if (v2 == 0)
		memcpy(out, legacy, sizeof(legacy));
	return 0;
}

int
ss_cert_identity(X509 *leaf, const struct pal_sigstore_want *want,
		 struct pal_sigstore_result *res, struct pal_err *err)
{
	int rc;

	if ((rc = san_identity(leaf, res->identity, err)) < 0 ||
	    (rc = oidc_issuer(leaf, res->issuer, err)) < 0)
		return rc;
	if (strcmp(res->identity, want->identity) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "identity: the certificate is for \"%s\", "
				   "not \"%.200s\"", res->identity,
				   want->identity);
	if (strcmp(res->issuer, want->issuer) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "issuer: the certificate's OIDC issuer is "
				   "\"%s\", not \"%.200s\"", res->issuer,
				   want->issuer);
	return 0;
}
