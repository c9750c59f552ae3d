/*
 * sigstore_sct.c - the Signed Certificate Timestamps embedded in a Fulcio
 * certificate (RFC 6962 section 3.3), verified with the CT log keys of the
 * trusted root.
 *
 * OpenSSL parses the SCT list, but its validator looks logs up in a
 * CTLOG_STORE that can only be filled from a configuration file, not from
 * keys held in memory; so the signed structure is rebuilt here (RFC 6962
 * section 3.2, precert_entry): the certificate's TBS without the SCT
 * extension, bound to the issuer's key hash.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "palisade/buf.h"
#include "sigstore_int.h"

#define TBS_MAX (64 * 1024)

static const struct ss_log *
find_ctlog(const struct pal_sigstore_root *root, const uint8_t *id,
	   size_t len)
{
	for (size_t i = 0; len == 32 && i < root->n_ctlogs; i++)
		if (root->ctlogs[i].key != NULL &&
		    memcmp(root->ctlogs[i].id, id, 32) == 0)
			return &root->ctlogs[i];
	return NULL;
}

/* DER of the leaf's TBSCertificate without the SCT list extension. */
static int
precert_tbs(X509 *leaf, uint8_t **out, int *len)
{
	X509 *x = X509_dup(leaf);
	int idx = x ? X509_get_ext_by_NID(x, NID_ct_precert_scts, -1) : -1;

	*out = NULL;
	*len = 0;
	if (idx < 0) {
		X509_free(x);
		return -1;
	}
	X509_EXTENSION_free(X509_delete_ext(x, idx));
	*len = i2d_re_X509_tbs(x, out);
	X509_free(x);
	return *len > 0 && *len <= TBS_MAX ? 0 : -1;
}

static int
put_be(struct pal_buf *b, uint64_t v, int n)
{
	uint8_t tmp[8];

	for (int i = 0; i < n; i++)
		tmp[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return pal_buf_append(b, tmp, (size_t)n);
}

/* The digitally-signed struct of a precertificate SCT. */
static int
signed_data(const SCT *sct, const uint8_t ikh[32], const uint8_t *tbs,
	    int tbs_len, struct pal_buf *b)
{
	unsigned char *ext = NULL;
	size_t ext_len = SCT_get0_extensions(sct, &ext);
	static const uint8_t head[2] = { 0, 0 };	/* v1, certificate_ts */

	if (ext_len > 0xffff)
		return -1;
	if (pal_buf_append(b, head, 2) < 0 ||
	    put_be(b, SCT_get_timestamp(sct), 8) < 0 ||
	    put_be(b, 1, 2) < 0 ||		/* precert_entry */
	    pal_buf_append(b, ikh, 32) < 0 ||
	    put_be(b, (uint64_t)tbs_len, 3) < 0 ||
	    pal_buf_append(b, tbs, (size_t)tbs_len) < 0 ||
	    put_be(b, ext_len, 2) < 0 ||
	    (ext_len > 0 && pal_buf_append(b, ext, ext_len) < 0))
		return -1;
	return 0;
}

static int
verify_one(const struct ss_log *log, const SCT *sct, const uint8_t ikh[32],
	   const uint8_t *tbs, int tbs_len)
{
	struct pal_buf b;
	unsigned char *sig = NULL;
	size_t sig_len = SCT_get0_signature(sct, &sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	pal_buf_init(&b, TBS_MAX + 1024);
	ok = md != NULL && SCT_get_version(sct) == SCT_VERSION_V1 &&
		SCT_get_signature_nid(sct) == NID_ecdsa_with_SHA256 &&
		signed_data(sct, ikh, tbs, tbs_len, &b) == 0 &&
		EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
				     log->key) == 1 &&
		EVP_DigestVerify(md, sig, sig_len, b.p, b.len) == 1;
	EVP_MD_CTX_free(md);
	pal_buf_free(&b);
	ERR_clear_error();
	return ok;
}

static int
issuer_key_hash(X509 *issuer, uint8_t out[32])
{
	uint8_t *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(issuer), &der);

	if (n <= 0)
		return -1;
	SHA256(der, (size_t)n, out);
	OPENSSL_free(der);
	return 0;
}

static int
check_scts(const struct pal_sigstore_root *root, STACK_OF(SCT) *scts,
	   X509 *leaf, X509 *issuer, struct pal_err *err)
{
	uint8_t ikh[32], *tbs = NULL;
	int tbs_len, good = 0, rc = 0;

	if (issuer_key_hash(issuer, ikh) < 0 ||
	    precert_tbs(leaf, &tbs, &tbs_len) < 0) {
		OPENSSL_free(tbs);
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "SCT: cannot rebuild the precertificate");
	}
	for (int i = 0; i < sk_SCT_num(scts) && rc == 0; i++) {
		const SCT *sct = sk_SCT_value(scts, i);
		unsigned char *id = NULL;
		size_t id_len = SCT_get0_log_id(sct, &id);
		const struct ss_log *log = find_ctlog(root, id, id_len);
		/* SCTs of logs the root does not name are ignored. */
		if (log == NULL)
			continue;
		int64_t t = (int64_t)(SCT_get_timestamp(sct) / 1000);
		if (t < log->start || t > log->end)
			rc = pal_err_set(err, PAL_ERR_VERIFY,
					 "SCT: the key of CT log %s is not "
					 "valid at the SCT's time", log->name);
		else if (!verify_one(log, sct, ikh, tbs, tbs_len))
			rc = pal_err_set(err, PAL_ERR_VERIFY,
					 "SCT: the signature of CT log %s does "
					 "not verify", log->name);
		else
			good++;
	}
	OPENSSL_free(tbs);
	if (rc == 0 && good == 0)
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "SCT: none from a CT log of the trusted "
				 "root");
	return rc;
}

int
ss_sct_verify(const struct pal_sigstore_root *root, X509 *leaf,
	      X509 *issuer, struct pal_err *err)
{
	int crit = 0;
	STACK_OF(SCT) *scts = X509_get_ext_d2i(leaf, NID_ct_precert_scts,
					       &crit, NULL);
	int rc;

	ERR_clear_error();
	if (scts == NULL)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   crit == -1 ? "SCT: the certificate embeds "
				   "no SCT" : "SCT: malformed SCT list");
	rc = check_scts(root, scts, leaf, issuer, err);
	SCT_LIST_free(scts);
	return rc;
}
