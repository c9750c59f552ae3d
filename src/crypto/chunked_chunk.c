/*
 * chunked_chunk.c - chunk contexts: one AES-GCM context per thread, its
 * key set once, each chunk setting only its nonce (the base nonce XOR the
 * chunk index) and checking the final-chunk rule when it is opened.
 *
 * The same two static functions, gcm_seal and gcm_open, are the only
 * AES-GCM code of the module: chunks call them without AAD, and the
 * hazmat pal_chunked_aead_* calls (for known-answer tests) with an
 * explicit nonce and AAD.  A chunk that does not authenticate leaves its
 * output wiped.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "chunked_int.h"

#define AEAD_MAX_LEN (1u << 20)		/* hazmat AEAD calls */

static const EVP_CIPHER *
suite_cipher(enum pal_chunked_suite suite)
{
	return suite == PAL_COBBLESTONE_128 ? EVP_aes_128_gcm()
					    : EVP_aes_256_gcm();
}

int
pal_chunked_ctx_new(const struct pal_chunked_keys *k,
		    struct pal_chunked_ctx **out, struct pal_err *err)
{
	struct pal_chunked_ctx *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	c->evp = EVP_CIPHER_CTX_new();
	if (c->evp == NULL ||
	    EVP_CipherInit_ex(c->evp, suite_cipher(k->suite), NULL, k->key,
			      NULL, 1) != 1) {
		ERR_clear_error();
		pal_chunked_ctx_free(c);
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "cannot set up %s",
				   pal_chunked_aead_name(k->suite));
	}
	c->raw = k->raw;
	memcpy(c->base_nonce, k->base_nonce, PAL_CHUNKED_NONCE_LEN);
	memcpy(c->salt, k->salt, PAL_CHUNKED_SALT_LEN);
	memcpy(c->commitment, k->commitment, PAL_CHUNKED_COMMIT_LEN);
	*out = c;
	return 0;
}

void
pal_chunked_ctx_free(struct pal_chunked_ctx *c)
{
	if (c == NULL)
		return;
	/* EVP_CIPHER_CTX_free wipes the key schedule. */
	EVP_CIPHER_CTX_free(c->evp);
	pal_secmem_free(c->scratch_mem);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

/* nonce = base nonce XOR index, big-endian in the last 5 bytes. */
static void
chunk_nonce(const struct pal_chunked_ctx *c, uint64_t index,
	    uint8_t nonce[PAL_CHUNKED_NONCE_LEN])
{
	memcpy(nonce, c->base_nonce, PAL_CHUNKED_NONCE_LEN);
	for (int i = 0; i < 5; i++)
		nonce[PAL_CHUNKED_NONCE_LEN - 1 - i] ^=
			(uint8_t)(index >> (8 * i));
}

/*
 * One AES-GCM operation: the key is already in the context; only the
 * nonce (and the direction) is set.  The length checks are the callers'.
 */
static int
gcm_seal(EVP_CIPHER_CTX *evp, const uint8_t *nonce, const uint8_t *aad,
	 size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
	 uint8_t *tag)
{
	uint8_t fin[PAL_CHUNKED_TAG_LEN];
	int n;

	if (EVP_CipherInit_ex(evp, NULL, NULL, NULL, nonce, 1) != 1)
		return -1;
	if (aad_len > 0 &&
	    EVP_CipherUpdate(evp, NULL, &n, aad, (int)aad_len) != 1)
		return -1;
	if (len > 0 && (EVP_CipherUpdate(evp, out, &n, in, (int)len) != 1 ||
			(size_t)n != len))
		return -1;
	if (EVP_CipherFinal_ex(evp, fin, &n) != 1)
		return -1;
	if (EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_AEAD_GET_TAG,
				PAL_CHUNKED_TAG_LEN, tag) != 1)
		return -1;
	return 0;
}

/* 0 authentic, 1 not authentic (out wiped), -1 OpenSSL failed. */
static int
gcm_open(EVP_CIPHER_CTX *evp, const uint8_t *nonce, const uint8_t *aad,
	 size_t aad_len, const uint8_t *in, size_t len, const uint8_t *tag,
	 uint8_t *out)
{
	uint8_t t[PAL_CHUNKED_TAG_LEN], fin[PAL_CHUNKED_TAG_LEN];
	int n;

	memcpy(t, tag, sizeof(t));
	if (EVP_CipherInit_ex(evp, NULL, NULL, NULL, nonce, 0) != 1 ||
	    EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_AEAD_SET_TAG, sizeof(t),
				t) != 1)
		return -1;
	if (aad_len > 0 &&
	    EVP_CipherUpdate(evp, NULL, &n, aad, (int)aad_len) != 1)
		return -1;
	if (len > 0 && (EVP_CipherUpdate(evp, out, &n, in, (int)len) != 1 ||
			(size_t)n != len))
		goto bad;
	if (EVP_CipherFinal_ex(evp, fin, &n) != 1)
		goto bad;
	return 0;
bad:
	if (len > 0)
		OPENSSL_cleanse(out, len);
	ERR_clear_error();
	return 1;
}

static int
check_index(uint64_t index, struct pal_err *err)
{
	if (index >= PAL_CHUNKED_MAX_CHUNKS)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "chunk %llu: beyond the limit of 2^38 "
				   "chunks", (unsigned long long)index);
	return 0;
}

int
pal_chunked_seal_chunk(struct pal_chunked_ctx *c, uint64_t index,
		       const uint8_t *pt, size_t pt_len, uint8_t *ct,
		       struct pal_err *err)
{
	uint8_t nonce[PAL_CHUNKED_NONCE_LEN];
	int r;

	if ((r = check_index(index, err)) != 0)
		return r;
	if (pt_len > PAL_CHUNKED_CHUNK_LEN)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "chunk %llu: %zu bytes, more than 16384",
				   (unsigned long long)index, pt_len);
	chunk_nonce(c, index, nonce);
	if (gcm_seal(c->evp, nonce, NULL, 0, pt, pt_len, ct,
		     ct + pt_len) != 0) {
		ERR_clear_error();
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "chunk %llu: encryption failed",
				   (unsigned long long)index);
	}
	return 0;
}

int
pal_chunked_open_chunk(struct pal_chunked_ctx *c, uint64_t index, int final,
		       const uint8_t *ct, size_t ct_len, uint8_t *pt,
		       struct pal_err *err)
{
	const unsigned long long i = index;
	uint8_t nonce[PAL_CHUNKED_NONCE_LEN];
	int r;

	if ((r = check_index(index, err)) != 0)
		return r;
	if (final && ct_len >= PAL_CHUNKED_CT_CHUNK_LEN)
		return pal_err_set(err, PAL_ERR_TRUNCATED,
				   "chunk %llu: the last chunk is full-size "
				   "(%zu bytes): message truncated", i,
				   ct_len);
	if (final && ct_len < PAL_CHUNKED_TAG_LEN)
		return pal_err_set(err, PAL_ERR_TRUNCATED,
				   "chunk %llu: final chunk of %zu bytes is "
				   "shorter than its tag: truncated", i,
				   ct_len);
	if (!final && ct_len != PAL_CHUNKED_CT_CHUNK_LEN)
		return pal_err_set(err, PAL_ERR_TRUNCATED,
				   "chunk %llu: %zu bytes where a full chunk "
				   "has 16400: truncated", i, ct_len);
	size_t len = ct_len - PAL_CHUNKED_TAG_LEN;
	chunk_nonce(c, index, nonce);
	r = gcm_open(c->evp, nonce, NULL, 0, ct, len, ct + len, pt);
	if (r > 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "chunk %llu: authentication failed", i);
	if (r < 0) {
		if (len > 0)
			OPENSSL_cleanse(pt, len);
		ERR_clear_error();
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "chunk %llu: decryption failed", i);
	}
	return 0;
}

static int
check_aead_lens(size_t aad_len, size_t len, struct pal_err *err)
{
	if (len > AEAD_MAX_LEN || aad_len > AEAD_MAX_LEN)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "AEAD input of %zu bytes or AAD of %zu "
				   "bytes exceeds 1 MiB", len, aad_len);
	return 0;
}

int
pal_chunked_aead_seal(struct pal_chunked_ctx *c,
		      const uint8_t nonce[PAL_CHUNKED_NONCE_LEN],
		      const uint8_t *aad, size_t aad_len, const uint8_t *in,
		      size_t len, uint8_t *out,
		      uint8_t tag[PAL_CHUNKED_TAG_LEN], struct pal_err *err)
{
	int r;

	if ((r = check_aead_lens(aad_len, len, err)) != 0)
		return r;
	if (gcm_seal(c->evp, nonce, aad, aad_len, in, len, out, tag) != 0) {
		ERR_clear_error();
		return pal_err_set(err, PAL_ERR_CRYPTO, "encryption failed");
	}
	return 0;
}

int
pal_chunked_aead_open(struct pal_chunked_ctx *c,
		      const uint8_t nonce[PAL_CHUNKED_NONCE_LEN],
		      const uint8_t *aad, size_t aad_len, const uint8_t *in,
		      size_t len, const uint8_t tag[PAL_CHUNKED_TAG_LEN],
		      uint8_t *out, struct pal_err *err)
{
	int r;

	if ((r = check_aead_lens(aad_len, len, err)) != 0)
		return r;
	r = gcm_open(c->evp, nonce, aad, aad_len, in, len, tag, out);
	if (r > 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "authentication failed");
	if (r < 0) {
		if (len > 0)
			OPENSSL_cleanse(out, len);
		ERR_clear_error();
		return pal_err_set(err, PAL_ERR_CRYPTO, "decryption failed");
	}
	return 0;
}
