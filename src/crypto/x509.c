/*
 * x509.c - certificate loading and chain verification over OpenSSL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "palisade/file.h"
#include "palisade/x509.h"

#define CERT_FILE_MAX (1 << 20)

void
pal_x509_subject(X509 *cert, char *out, size_t n)
{
	out[0] = '\0';
	BIO *b = BIO_new(BIO_s_mem());
	if (b == NULL)
		return;
	X509_NAME_print_ex(b, X509_get_subject_name(cert), 0,
			   XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	int len = BIO_read(b, out, (int)n - 1);
	out[len > 0 ? len : 0] = '\0';
	BIO_free(b);
}

int
pal_x509_from_der(const uint8_t *der, size_t len, X509 **out,
		  struct pal_err *err)
{
	const unsigned char *p = der;
	if (len > CERT_FILE_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "certificate of %zu bytes is too large",
				   len);
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL) {
		ERR_clear_error();
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "not a DER X.509 certificate");
	}
	if ((size_t)(p - der) != len) {
		X509_free(x);
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%zu bytes after the DER certificate",
				   len - (size_t)(p - der));
	}
	*out = x;
	return 0;
}

static int
load_pem(BIO *b, const char *path, STACK_OF(X509) *st, struct pal_err *err)
{
	for (;;) {
		X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		if (x == NULL)
			break;
		if (!sk_X509_push(st, x)) {
			X509_free(x);
			return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		}
	}
	unsigned long e = ERR_peek_last_error();
	ERR_clear_error();
	if (ERR_GET_REASON(e) != PEM_R_NO_START_LINE || sk_X509_num(st) == 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s: %s", path, sk_X509_num(st) == 0 ?
				   "no PEM certificate" :
				   "malformed PEM certificate");
	return 0;
}

int
pal_x509_load_file(const char *path, STACK_OF(X509) **out,
		   struct pal_err *err)
{
	uint8_t *data = NULL;
	size_t n = 0;
	int rc = pal_file_read(path, CERT_FILE_MAX, &data, &n, err);
	if (rc < 0)
		return rc;
	STACK_OF(X509) *st = sk_X509_new_null();
	if (st == NULL)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0 && memmem(data, n, "-----BEGIN", 10) != NULL) {
		BIO *b = BIO_new_mem_buf(data, (int)n);
		rc = b ? load_pem(b, path, st, err) :
			pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		BIO_free(b);
	} else if (rc == 0) {
		X509 *x = NULL;
		rc = pal_x509_from_der(data, n, &x, err);
		if (rc < 0)
			pal_err_wrap(err, rc, "%s: ", path);
		else if (!sk_X509_push(st, x)) {
			X509_free(x);
			rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		}
	}
	free(data);
	if (rc < 0) {
		sk_X509_pop_free(st, X509_free);
		return rc;
	}
	*out = st;
	return 0;
}

int
pal_x509_verify_chain(X509 *leaf, STACK_OF(X509) *intermediates,
		      STACK_OF(X509) *roots, time_t at, struct pal_err *err)
{
	if (roots == NULL || sk_X509_num(roots) == 0)
		return pal_err_set(err, PAL_ERR_INVALID, "no trusted root");
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc = 0;
	if (store == NULL || ctx == NULL) {
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(roots); i++) {
		if (!X509_STORE_add_cert(store, sk_X509_value(roots, i))) {
			rc = pal_err_set(err, PAL_ERR_CRYPTO,
					 "cannot add trusted root %d", i);
			goto out;
		}
	}
	if (!X509_STORE_CTX_init(ctx, store, leaf, intermediates)) {
		rc = pal_err_set(err, PAL_ERR_CRYPTO, "X509_STORE_CTX_init");
		goto out;
	}
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
	if (at != 0)
		X509_STORE_CTX_set_time(ctx, 0, at);
	if (X509_verify_cert(ctx) != 1) {
		int code = X509_STORE_CTX_get_error(ctx);
		int depth = X509_STORE_CTX_get_error_depth(ctx);
		X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
		char subj[256] = "";
		if (bad != NULL)
			pal_x509_subject(bad, subj, sizeof(subj));
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "certificate chain: %s (depth %d, %s)",
				 X509_verify_cert_error_string(code), depth,
				 subj[0] ? subj : "no subject");
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

int
pal_x509_check_codesign(X509 *leaf, struct pal_err *err)
{
	uint32_t ku = X509_get_key_usage(leaf);
	if (ku != UINT32_MAX && !(ku & KU_DIGITAL_SIGNATURE))
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "signing certificate lacks the "
				   "digitalSignature key usage");
	uint32_t xku = X509_get_extended_key_usage(leaf);
	if (xku != UINT32_MAX && !(xku & XKU_CODE_SIGN))
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "signing certificate's extended key usage "
				   "does not include codeSigning");
	return 0;
}
