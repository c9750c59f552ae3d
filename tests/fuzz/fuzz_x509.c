/*
 * fuzz_x509.c - DER certificates from raw bytes: the strict whole-input
 * parse, the code-signing usage check and the subject line a verifier
 * prints, and a chain check of the certificate against itself as root.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_err err;
	X509 *x = NULL;
	char subj[128];
	int rc;

	rc = pal_x509_from_der(data, size, &x, &err);
	if (rc != 0) {
		if (x != NULL || rc > 0)
			abort();
		return 0;
	}
	rc = pal_x509_check_codesign(x, &err);
	if (rc != 0 && rc != PAL_ERR_VERIFY)
		abort();
	pal_x509_subject(x, subj, sizeof(subj));
	if (strlen(subj) >= sizeof(subj))
		abort();
	STACK_OF(X509) *roots = sk_X509_new_null();
	if (roots != NULL && sk_X509_push(roots, x) > 0) {
		/* 2025-06-01: a fixed time keeps runs reproducible. */
		(void)pal_x509_verify_chain(x, NULL, roots, 1748736000, &err);
	}
	sk_X509_free(roots);
	X509_free(x);
	return 0;
}
