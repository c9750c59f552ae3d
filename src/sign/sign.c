/*
 * sign.c - a model to a signed OMS bundle.
 */
#include <stdlib.h>

#include <openssl/err.h>

#include "palisade/dsse.h"
#include "palisade/signing.h"

static int
chain_matches(STACK_OF(X509) *chain, EVP_PKEY *pub, struct pal_err *err)
{
	if (sk_X509_num(chain) == 0)
		return pal_err_set(err, PAL_ERR_INVALID, "empty certificate "
				   "chain");
	EVP_PKEY *leaf = X509_get0_pubkey(sk_X509_value(chain, 0));
	int same = leaf != NULL && EVP_PKEY_eq(leaf, pub) == 1;
	ERR_clear_error();
	if (!same)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "the signing certificate is not for the "
				   "signing key");
	return 0;
}

int
pal_oms_sign(const char *model, const struct pal_manifest_opts *o,
	     struct pal_signer *signer, STACK_OF(X509) *chain,
	     struct pal_buf *bundle, struct pal_manifest **mout,
	     struct pal_err *err)
{
	if (chain != NULL) {
		int rc = chain_matches(chain, signer->pub, err);
		if (rc < 0)
			return rc;
	}
	struct pal_manifest *m = NULL;
	int rc = pal_manifest_compute(model, o, &m, err);
	if (rc < 0)
		return rc;
	struct pal_buf payload, pae;
	pal_buf_init(&payload, PAL_OMS_BUNDLE_MAX);
	pal_buf_init(&pae, PAL_OMS_BUNDLE_MAX);
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	rc = pal_statement_build(m, &payload, err);
	if (rc == 0 && pal_dsse_pae(PAL_DSSE_INTOTO_TYPE, payload.p,
				    payload.len, &pae) < 0)
		rc = pal_err_set(err, PAL_ERR_LIMIT, "statement too large");
	if (rc == 0)
		rc = signer->sign(signer, pae.p, pae.len, &sig, &sig_len, err);
	if (rc == 0)
		rc = pal_bundle_write(payload.p, payload.len, sig, sig_len,
				      signer->pub, chain, bundle, err);
	free(sig);
	pal_buf_free(&payload);
	pal_buf_free(&pae);
	if (rc == 0 && mout != NULL)
		*mout = m;
	else
		pal_manifest_free(m);
	return rc;
}
