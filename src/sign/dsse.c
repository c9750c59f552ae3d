/*
 * dsse.c - DSSE v1 pre-authentication encoding and envelope verification.
 */
#include "palisade/dsse.h"
#include "palisade/signer.h"

#include <string.h>

int
pal_dsse_pae(const char *type, const uint8_t *payload, size_t len,
	     struct pal_buf *out)
{
	int rc = pal_buf_printf(out, "DSSEv1 %zu %s %zu ", strlen(type),
				type, len);
	if (rc == 0 && len > 0)
		rc = pal_buf_append(out, payload, len);
	return rc;
}

int
pal_dsse_verify(EVP_PKEY *key, const char *type, const uint8_t *payload,
		size_t len, const uint8_t *sig, size_t sig_len,
		struct pal_err *err)
{
	struct pal_buf pae;
	pal_buf_init(&pae, len + 256 + strlen(type));
	int rc = pal_dsse_pae(type, payload, len, &pae);
	if (rc < 0) {
		pal_buf_free(&pae);
		return pal_err_set(err, rc, "cannot build the DSSE PAE");
	}
	rc = pal_sig_verify(key, pae.p, pae.len, sig, sig_len, err);
	pal_buf_free(&pae);
	if (rc < 0)
		pal_err_wrap(err, rc, "DSSE envelope");
	return rc;
}
