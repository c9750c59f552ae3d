/*
 * fuzz_bundle.c - Sigstore bundles from raw bytes: the bundle parse, then
 * the statement its DSSE payload carries, both PAE encodings of that
 * payload, and the checks a verifier makes of a certificate chain's leaf.
 * Whatever parses must be internally consistent: a method with its
 * material, and a signature that is not empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/dsse.h"
#include "palisade/oms.h"
#include "palisade/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_bundle(const struct pal_bundle *b)
{
	if (b->payload_type == NULL || b->sig == NULL || b->sig_len == 0 ||
	    (b->payload == NULL && b->payload_len != 0))
		abort();
	switch (b->method) {
	case PAL_OMS_KEY:
		if ((b->key_hint == NULL) == (b->key_raw == NULL) ||
		    b->chain != NULL)
			abort();
		break;
	case PAL_OMS_CERTIFICATE:
		if (b->chain == NULL || sk_X509_num(b->chain) < 1 ||
		    b->key_hint != NULL || b->key_raw != NULL)
			abort();
		break;
	case PAL_OMS_SIGSTORE:
		if (b->chain != NULL || b->material == NULL)
			abort();
		break;
	default:
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_bundle *b = NULL;
	struct pal_manifest *m = NULL;
	struct pal_buf pae;
	struct pal_err err;
	int v01 = 0;

	if (pal_bundle_parse(data, size, &b, &err) != 0)
		return 0;
	check_bundle(b);
	if (b->chain != NULL) {
		char subj[256];

		(void)pal_x509_check_codesign(sk_X509_value(b->chain, 0),
					      &err);
		pal_x509_subject(sk_X509_value(b->chain, 0), subj,
				 sizeof(subj));
	}
	/* Room for the repr of every byte as \xNN, and the type. */
	pal_buf_init(&pae, 4 * b->payload_len + 2 * strlen(b->payload_type) +
		     4096);
	if (pal_dsse_pae(b->payload_type, b->payload, b->payload_len,
			 &pae) != 0)
		abort();
	pal_buf_reset(&pae);
	if (pal_dsse_pae_v020(b->payload_type, b->payload, b->payload_len,
			      &pae) != 0)
		abort();
	pal_buf_free(&pae);
	if (pal_statement_parse(b->payload, b->payload_len, &m, &v01,
				&err) == 0) {
		if (m->n_res == 0)
			abort();
		pal_manifest_free(m);
	}
	pal_bundle_free(b);
	return 0;
}
