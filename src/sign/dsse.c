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

/*
 * Python's repr() of a bytes object: b'...' (or b"..." when the bytes hold
 * a single quote and no double quote), backslash escapes for the quote,
 * backslash, \t \n \r, and \xNN for other bytes outside 0x20-0x7e.
 */
static int
put_bytes_repr(struct pal_buf *out, const uint8_t *p, size_t len)
{
	int sq = memchr(p, '\'', len) != NULL, dq = memchr(p, '"', len) != NULL;
	char quote = sq && !dq ? '"' : '\'';
	int rc = pal_buf_putc(out, 'b');
	if (rc == 0)
		rc = pal_buf_putc(out, quote);
	for (size_t i = 0; rc == 0 && i < len; i++) {
		uint8_t c = p[i];
		if (c == quote || c == '\\')
			rc = pal_buf_printf(out, "\\%c", c);
		else if (c == '\t')
			rc = pal_buf_puts(out, "\\t");
		else if (c == '\n')
			rc = pal_buf_puts(out, "\\n");
		else if (c == '\r')
			rc = pal_buf_puts(out, "\\r");
		else if (c < 0x20 || c >= 0x7f)
			rc = pal_buf_printf(out, "\\x%02x", c);
		else
			rc = pal_buf_putc(out, (char)c);
	}
	if (rc == 0)
		rc = pal_buf_putc(out, quote);
	return rc;
}

int
pal_dsse_pae_v020(const char *type, const uint8_t *payload, size_t len,
		  struct pal_buf *out)
{
	int rc = pal_buf_printf(out, "DSSEV1 %zu %s %zu ", strlen(type),
				type, len);
	return rc == 0 ? put_bytes_repr(out, payload, len) : rc;
}

static int
verify(EVP_PKEY *key, const char *type, const uint8_t *payload, size_t len,
       const uint8_t *sig, size_t sig_len, int compat_v020,
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
	if (rc == PAL_ERR_VERIFY && compat_v020) {
		pal_buf_init(&pae, 4 * len + 256 + strlen(type));
		/* 0.2.0 hashed with SHA-256 whatever the curve. */
		if (pal_dsse_pae_v020(type, payload, len, &pae) == 0 &&
		    pal_sig_verify_md(key, EVP_sha256(), pae.p, pae.len, sig,
				      sig_len, NULL) == 0)
			rc = 0;
		pal_buf_free(&pae);
	}
	if (rc < 0)
		pal_err_wrap(err, rc, "DSSE envelope: ");
	return rc;
}

int
pal_dsse_verify(EVP_PKEY *key, const char *type, const uint8_t *payload,
		size_t len, const uint8_t *sig, size_t sig_len,
		struct pal_err *err)
{
	return verify(key, type, payload, len, sig, sig_len, 0, err);
}

int
pal_dsse_verify_compat(EVP_PKEY *key, const char *type,
		       const uint8_t *payload, size_t len, const uint8_t *sig,
		       size_t sig_len, struct pal_err *err)
{
	return verify(key, type, payload, len, sig, sig_len, 1, err);
}
