/*
 * sigstore_tsa.c - RFC 3161 timestamps over the DSSE signature, verified
 * with OpenSSL's TS API against the timestamp authorities of the trusted
 * root.
 *
 * The TSA's certificate chain is checked at the time the token states
 * (genTime), which must also fall in the TSA's window in the trusted root;
 * the token must be granted, signed by a certificate with the
 * timeStamping purpose, and its message imprint must be the hash of the
 * signature bytes.
 */
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ts.h>

#include "sigstore_int.h"

static int
gen_time(TS_RESP *resp, int64_t *at)
{
	TS_TST_INFO *info = TS_RESP_get_tst_info(resp);
	const ASN1_GENERALIZEDTIME *t = info ? TS_TST_INFO_get_time(info) :
		NULL;
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*at = (int64_t)timegm(&tm);
	return 0;
}

/* Verifies resp against one TSA; 1 when it holds. */
static int
verify_with(const struct ss_ca *tsa, TS_RESP *resp, int64_t at,
	    const uint8_t *sig, size_t sig_len)
{
	TS_VERIFY_CTX *ctx = TS_VERIFY_CTX_new();
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *certs = sk_X509_new_null();
	BIO *data = BIO_new_mem_buf(sig, (int)sig_len);
	int n = sk_X509_num(tsa->certs), ok = 0;

	if (ctx == NULL || store == NULL || certs == NULL || data == NULL ||
	    !X509_STORE_add_cert(store, sk_X509_value(tsa->certs, n - 1)))
		goto out;
	for (int i = 0; i < n - 1; i++) {
		X509 *x = sk_X509_value(tsa->certs, i);
		if (!X509_up_ref(x))
			goto out;
		if (!sk_X509_push(certs, x)) {
			X509_free(x);
			goto out;
		}
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), (time_t)at);
	TS_VERIFY_CTX_set_flags(ctx, TS_VFY_VERSION | TS_VFY_SIGNATURE |
				TS_VFY_DATA);
	/* The context owns what it is given from here on. */
	TS_VERIFY_CTX_set_data(ctx, data);
	TS_VERIFY_CTX_set_store(ctx, store);
	TS_VERIFY_CTX_set_certs(ctx, certs);
	data = NULL;
	store = NULL;
	certs = NULL;
	ok = TS_RESP_verify_response(ctx, resp) == 1;
out:
	BIO_free(data);
	X509_STORE_free(store);
	sk_X509_pop_free(certs, X509_free);
	TS_VERIFY_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

int
ss_tsa_verify(const struct pal_sigstore_root *root, const struct ss_blob *tst,
	      const uint8_t *sig, size_t sig_len, int64_t *at,
	      struct pal_err *err)
{
	const unsigned char *p = tst->p;
	TS_RESP *resp = d2i_TS_RESP(NULL, &p, (long)tst->len);
	size_t in_window = 0;
	int rc;

	*at = 0;
	ERR_clear_error();
	if (resp == NULL || p != tst->p + tst->len || gen_time(resp, at) < 0) {
		TS_RESP_free(resp);
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "RFC 3161 timestamp: not a DER "
				   "TimeStampResp with a time");
	}
	rc = PAL_ERR_VERIFY;
	for (size_t i = 0; i < root->n_tsas && rc < 0; i++) {
		const struct ss_ca *tsa = &root->tsas[i];
		if (*at < tsa->start || *at > tsa->end)
			continue;
		in_window++;
		if (verify_with(tsa, resp, *at, sig, sig_len))
			rc = 0;
	}
	TS_RESP_free(resp);
	if (rc == 0)
		return 0;
	char t[32];
	ss_format_time(*at, t);
	if (in_window == 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "RFC 3161 timestamp: no TSA of the trusted "
				   "root is valid at its time %s", t);
	return pal_err_set(err, PAL_ERR_VERIFY,
			   "RFC 3161 timestamp of %s does not verify with a "
			   "TSA of the trusted root over the signature", t);
}
