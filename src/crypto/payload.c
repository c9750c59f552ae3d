/*
 * payload.c - sealing request and response bodies to the operator's
 * public key (payload.h, docs/formats/payload.md): the header, the key
 * schedule, AES-256-GCM, and the size arithmetic the gateway uses to fit
 * a payload into a log entry.
 *
 * Runs on the gateway's event loops, once per request when payloads are
 * on, from several threads on one shared recipient: nothing here writes
 * to the recipient, and the algorithms were fetched when it was loaded,
 * so that a call costs one key agreement, one HKDF and one pass of GCM.
 * Trusted: the recipient and the caller's parts.  The framed plaintext
 * exists only inside the output buffer, where it is encrypted in place.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "payload_int.h"

int
pl_schedule(EVP_KDF *kdf, const uint8_t secret[PL_SECRET],
	    const uint8_t *header, size_t header_len, uint8_t key[PL_KEY],
	    uint8_t nonce[PL_NONCE], struct pal_err *err)
{
	EVP_KDF *own = kdf != NULL ? NULL : EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *c = EVP_KDF_CTX_new(kdf != NULL ? kdf : own);
	uint8_t okm[PL_KEY + PL_NONCE];
	OSSL_PARAM p[5];
	int ok;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)(uintptr_t)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(
		OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)PAL_PAYLOAD_CONTEXT,
		sizeof(PAL_PAYLOAD_CONTEXT) - 1);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						 (void *)(uintptr_t)secret,
						 PL_SECRET);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						 (void *)(uintptr_t)header,
						 header_len);
	p[4] = OSSL_PARAM_construct_end();
	ok = c != NULL && EVP_KDF_derive(c, okm, sizeof(okm), p) == 1;
	if (ok) {
		memcpy(key, okm, PL_KEY);
		memcpy(nonce, okm + PL_KEY, PL_NONCE);
	}
	OPENSSL_cleanse(okm, sizeof(okm));
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(own);
	ERR_clear_error();
	return ok ? 0 : pal_err_set(err, PAL_ERR_CRYPTO, "HKDF-SHA256 "
				    "failed");
}

static size_t
b64_len(size_t bin)
{
	return (bin + 2) / 3 * 4;
}

size_t
pal_payload_sealed_len(const struct pal_payload_recipient *r,
		       const struct pal_payload_part *parts, size_t n)
{
	int rc;
	size_t plen = pl_parts_len(parts, n, &rc, NULL);

	return rc < 0 ? 0 : b64_len(PL_FIXED + r->enc_len + plen + PL_TAG);
}

int
pal_payload_fit(const struct pal_payload_recipient *r,
		struct pal_payload_part *parts, size_t n, size_t b64_max)
{
	int rc;
	size_t plen = pl_parts_len(parts, n, &rc, NULL), data = 0, room;
	/* The most bytes whose base64 takes at most b64_max characters. */
	size_t bin_max = b64_max / 4 * 3;
	size_t fixed = PL_FIXED + r->enc_len + PL_TAG;

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		data += parts[i].len;
	if (fixed + (plen - data) > bin_max)
		return PAL_ERR_LIMIT;
	room = bin_max - fixed - (plen - data);
	for (size_t i = n; i-- > 0 && data > room;) {
		size_t cut = data - room < parts[i].len ? data - room
							 : parts[i].len;
		parts[i].len -= cut;
		data -= cut;
	}
	return 0;
}

/* magic, version, alg, key id, enc_len, enc: into h (PL_HEADER_MAX). */
static size_t
write_header(const struct pal_payload_recipient *r, uint8_t *h,
	     const uint8_t *enc)
{
	memcpy(h, PL_MAGIC, 4);
	h[4] = PL_VERSION;
	h[5] = (uint8_t)r->alg;
	memcpy(h + 6, r->id, PAL_PAYLOAD_ID_LEN);
	h[38] = (uint8_t)(r->enc_len >> 8);
	h[39] = (uint8_t)r->enc_len;
	memcpy(h + PL_FIXED, enc, r->enc_len);
	return PL_FIXED + r->enc_len;
}

/*
 * AES-256-GCM over b->p[hl..b->len) in place, with header || aad as the
 * AAD; appends the tag.
 */
static int
encrypt(const struct pal_payload_recipient *r, const uint8_t key[PL_KEY],
	const uint8_t nonce[PL_NONCE], const uint8_t *aad, size_t aad_len,
	struct pal_buf *b, size_t hl)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t tag[PL_TAG], *m = b->p + hl;
	int n = 0, ok = c != NULL &&
		EVP_EncryptInit_ex2(c, r->gcm, key, nonce, NULL) == 1 &&
		EVP_EncryptUpdate(c, NULL, &n, b->p, (int)hl) == 1 &&
		(aad_len == 0 ||
		 EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) == 1) &&
		(b->len == hl ||
		 EVP_EncryptUpdate(c, m, &n, m, (int)(b->len - hl)) == 1) &&
		EVP_EncryptFinal_ex(c, m, &n) == 1 &&
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, PL_TAG, tag) ==
			1;

	EVP_CIPHER_CTX_free(c);
	ERR_clear_error();
	return ok ? pal_buf_append(b, tag, PL_TAG) : -1;
}

/*
 * Appends the base64 of b to out in one piece (all or nothing).  One
 * OpenSSL call rather than an append per quantum: the gateway seals up to
 * 64 KiB per request.
 */
static int
append_b64(const struct pal_buf *b, struct pal_buf *out, struct pal_err *err)
{
	size_t n = b64_len(b->len);
	unsigned char *t = n <= INT32_MAX ? malloc(n + 1) : NULL;
	int rc;

	if (t == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	EVP_EncodeBlock(t, b->p, (int)b->len);
	rc = pal_buf_append(out, t, n);
	free(t);
	if (rc < 0)
		return pal_err_set(err, rc, "the sealed payload (%zu base64 "
				   "bytes) does not fit its buffer", n);
	return 0;
}

int
pal_payload_seal(const struct pal_payload_recipient *r, const uint8_t *aad,
		 size_t aad_len, const struct pal_payload_part *parts,
		 size_t n, struct pal_buf *out_b64, struct pal_err *err)
{
	uint8_t enc[PL_ENC_MAX], secret[PL_SECRET], key[PL_KEY];
	uint8_t nonce[PL_NONCE], header[PL_HEADER_MAX];
	struct pal_buf b;
	size_t hl, plen;
	int rc;

	plen = pl_parts_len(parts, n, &rc, err);
	if (rc < 0)
		return rc;
	if (aad_len > INT32_MAX || (aad == NULL && aad_len > 0))
		return pal_err_set(err, PAL_ERR_INVALID, "invalid AAD");
	pal_buf_init(&b, PL_HEADER_MAX + plen + PL_TAG);
	if ((rc = pl_encap(r, enc, secret, err)) < 0)
		goto out;
	hl = write_header(r, header, enc);
	rc = pl_schedule(r->hkdf, secret, header, hl, key, nonce, err);
	if (rc == 0 && (pal_buf_append(&b, header, hl) < 0 ||
			pal_payload_parts_encode(parts, n, &b, err) < 0))
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0 && encrypt(r, key, nonce, aad, aad_len, &b, hl) < 0)
		rc = pal_err_set(err, PAL_ERR_CRYPTO, "AES-256-GCM failed");
	if (rc == 0)
		rc = append_b64(&b, out_b64, err);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(nonce, sizeof(nonce));
	pal_buf_free_secret(&b);
	return rc;
}
