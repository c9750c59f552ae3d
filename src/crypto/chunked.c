/*
 * chunked.c - C2SP chunked encryption: key derivation and commitment, the
 * size arithmetic, and positional I/O for the other files of the module.
 *
 * Chunk contexts are chunked_chunk.c, the whole-message engine
 * chunked_stream.c and random access chunked_read.c.  What is trusted: the input key and context; a message's
 * bytes and length are not.  Everything that touches a secret wipes it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "palisade/encoding.h"
#include "palisade/file.h"
#include "chunked_int.h"

#define INFO_PREFIX "c2sp.org/chunked-encryption@v1+"
#define INFO_PREFIX_LEN (sizeof(INFO_PREFIX) - 1)

size_t
pal_chunked_key_len(enum pal_chunked_suite suite)
{
	switch (suite) {
	case PAL_COBBLESTONE_128:
		return 16;
	case PAL_COBBLESTONE_256:
		return 32;
	}
	return 0;
}

const char *
pal_chunked_aead_name(enum pal_chunked_suite suite)
{
	switch (suite) {
	case PAL_COBBLESTONE_128:
		return "AEAD_AES_128_GCM";
	case PAL_COBBLESTONE_256:
		return "AEAD_AES_256_GCM";
	}
	return NULL;
}

int
pal_chunked_read_header(int fd, uint64_t base,
			uint8_t header[PAL_CHUNKED_HEADER_LEN],
			struct pal_err *err)
{
	int64_t r = pal_pread_full(fd, header, PAL_CHUNKED_HEADER_LEN,
					   base);

	if (r < 0)
		return pal_err_set(err, PAL_ERR_IO,
				   "reading the message header at offset "
				   "%llu: %s", (unsigned long long)base,
				   strerror(errno));
	if (r < PAL_CHUNKED_HEADER_LEN)
		return pal_err_set(err, PAL_ERR_TRUNCATED,
				   "file ends %lld bytes into the 56-byte "
				   "message header at offset %llu: truncated",
				   (long long)r, (unsigned long long)base);
	return 0;
}

/* ---- Keys ------------------------------------------------------------- */

static int
check_suite_key(enum pal_chunked_suite suite, size_t ikm_len,
		struct pal_err *err)
{
	size_t want = pal_chunked_key_len(suite);

	if (want == 0)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "unknown chunked-encryption suite %d",
				   (int)suite);
	if (ikm_len != want)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "input key is %zu bytes, %s needs %zu",
				   ikm_len, pal_chunked_aead_name(suite),
				   want);
	return 0;
}

static int
keys_alloc(enum pal_chunked_suite suite, struct pal_chunked_keys **out,
	   struct pal_err *err)
{
	struct pal_secmem *mem = NULL;
	struct pal_chunked_keys *k;
	int r;

	if ((r = pal_secmem_alloc(sizeof(*k), &mem, err)) != 0)
		return r;
	k = (struct pal_chunked_keys *)(void *)pal_secmem_data(mem);
	k->mem = mem;
	k->suite = suite;
	k->key_len = pal_chunked_key_len(suite);
	*out = k;
	return 0;
}

/* info = prefix || aead || 0x00 || salt || context, malloc'd. */
static uint8_t *
build_info(enum pal_chunked_suite suite, const uint8_t *salt,
	   const uint8_t *context, size_t context_len, size_t *len)
{
	const char *aead = pal_chunked_aead_name(suite);
	size_t alen = strlen(aead);
	size_t n = INFO_PREFIX_LEN + alen + 1 + PAL_CHUNKED_SALT_LEN +
		   context_len;
	uint8_t *p = malloc(n), *w = p;

	if (p == NULL)
		return NULL;
	memcpy(w, INFO_PREFIX, INFO_PREFIX_LEN);
	w += INFO_PREFIX_LEN;
	memcpy(w, aead, alen);
	w += alen;
	*w++ = 0;
	memcpy(w, salt, PAL_CHUNKED_SALT_LEN);
	w += PAL_CHUNKED_SALT_LEN;
	if (context_len > 0)
		memcpy(w, context, context_len);
	*len = n;
	return p;
}

/* HKDF-Expand-SHA-512(prk = ikm, info) into out (outlen bytes). */
static int
hkdf_expand(const uint8_t *ikm, size_t ikm_len, const uint8_t *info,
	    size_t info_len, uint8_t *out, size_t outlen)
{
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, ok = 0;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						 (char *)"SHA512", 0),
		OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						  (void *)(uintptr_t)ikm,
						  ikm_len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						  (void *)(uintptr_t)info,
						  info_len),
		OSSL_PARAM_construct_end(),
	};

	if (kctx != NULL)
		ok = EVP_KDF_derive(kctx, out, outlen, params) == 1;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	ERR_clear_error();
	return ok ? 0 : -1;
}

int
pal_chunked_derive(enum pal_chunked_suite suite, const uint8_t *ikm,
		   size_t ikm_len, const uint8_t salt[PAL_CHUNKED_SALT_LEN],
		   const uint8_t *context, size_t context_len,
		   struct pal_chunked_keys **out, struct pal_err *err)
{
	struct pal_chunked_keys *k = NULL;
	uint8_t okm[PAL_CHUNKED_KEY_MAX + PAL_CHUNKED_NONCE_LEN +
		    PAL_CHUNKED_COMMIT_LEN];
	uint8_t *info = NULL;
	size_t info_len = 0;
	int r;

	*out = NULL;
	if ((r = check_suite_key(suite, ikm_len, err)) != 0)
		return r;
	if (context_len > PAL_CHUNKED_CONTEXT_MAX)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "context of %zu bytes is longer than %u",
				   context_len, PAL_CHUNKED_CONTEXT_MAX);
	if ((r = keys_alloc(suite, &k, err)) != 0)
		return r;
	info = build_info(suite, salt, context, context_len, &info_len);
	if (info == NULL) {
		r = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		goto out;
	}
	size_t olen = k->key_len + PAL_CHUNKED_NONCE_LEN +
		      PAL_CHUNKED_COMMIT_LEN;
	if (hkdf_expand(ikm, ikm_len, info, info_len, okm, olen) != 0) {
		r = pal_err_set(err, PAL_ERR_CRYPTO,
				"HKDF-Expand-SHA-512 failed");
		goto out;
	}
	memcpy(k->key, okm, k->key_len);
	memcpy(k->base_nonce, okm + k->key_len, PAL_CHUNKED_NONCE_LEN);
	memcpy(k->commitment, okm + k->key_len + PAL_CHUNKED_NONCE_LEN,
	       PAL_CHUNKED_COMMIT_LEN);
	memcpy(k->salt, salt, PAL_CHUNKED_SALT_LEN);
	*out = k;
	k = NULL;
	r = 0;
out:
	OPENSSL_cleanse(okm, sizeof(okm));
	free(info);
	pal_chunked_keys_free(k);
	return r;
}

int
pal_chunked_derive_random(enum pal_chunked_suite suite, const uint8_t *ikm,
			  size_t ikm_len, const uint8_t *context,
			  size_t context_len, struct pal_chunked_keys **out,
			  struct pal_err *err)
{
	uint8_t salt[PAL_CHUNKED_SALT_LEN];

	*out = NULL;
	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		ERR_clear_error();
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "the random generator failed");
	}
	return pal_chunked_derive(suite, ikm, ikm_len, salt, context,
				  context_len, out, err);
}

int
pal_chunked_derive_header(enum pal_chunked_suite suite, const uint8_t *ikm,
			  size_t ikm_len,
			  const uint8_t header[PAL_CHUNKED_HEADER_LEN],
			  const uint8_t *context, size_t context_len,
			  struct pal_chunked_keys **out, struct pal_err *err)
{
	struct pal_chunked_keys *k = NULL;
	int r;

	*out = NULL;
	r = pal_chunked_derive(suite, ikm, ikm_len, header, context,
			       context_len, &k, err);
	if (r != 0)
		return r;
	r = pal_chunked_check_commitment(k, header + PAL_CHUNKED_SALT_LEN,
					 err);
	if (r != 0) {
		pal_chunked_keys_free(k);
		return r;
	}
	*out = k;
	return 0;
}

int
pal_chunked_check_commitment(const struct pal_chunked_keys *k,
			     const uint8_t commitment[PAL_CHUNKED_COMMIT_LEN],
			     struct pal_err *err)
{
	if (k->raw)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "raw-mode keys have no commitment");
	if (!pal_ct_equal(k->commitment, commitment, PAL_CHUNKED_COMMIT_LEN))
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "commitment mismatch: wrong key or "
				   "context, or a modified salt or "
				   "commitment");
	return 0;
}

int
pal_chunked_check_header(const uint8_t salt[PAL_CHUNKED_SALT_LEN],
			 const uint8_t commit[PAL_CHUNKED_COMMIT_LEN],
			 const uint8_t header[PAL_CHUNKED_HEADER_LEN],
			 struct pal_err *err)
{
	/* The salt is public: an ordinary comparison is enough. */
	if (memcmp(salt, header, PAL_CHUNKED_SALT_LEN) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "message salt differs from the salt the "
				   "keys were derived with");
	if (!pal_ct_equal(commit, header + PAL_CHUNKED_SALT_LEN,
			  PAL_CHUNKED_COMMIT_LEN))
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "commitment mismatch: wrong key or "
				   "context, or a modified salt or "
				   "commitment");
	return 0;
}

void
pal_chunked_header(const struct pal_chunked_keys *k,
		   uint8_t out[PAL_CHUNKED_HEADER_LEN])
{
	memcpy(out, k->salt, PAL_CHUNKED_SALT_LEN);
	memcpy(out + PAL_CHUNKED_SALT_LEN, k->commitment,
	       PAL_CHUNKED_COMMIT_LEN);
}

enum pal_chunked_suite
pal_chunked_keys_suite(const struct pal_chunked_keys *k)
{
	return k->suite;
}

int
pal_chunked_keys_raw(enum pal_chunked_suite suite, const uint8_t *key,
		     size_t key_len,
		     const uint8_t base_nonce[PAL_CHUNKED_NONCE_LEN],
		     struct pal_chunked_keys **out, struct pal_err *err)
{
	struct pal_chunked_keys *k = NULL;
	int r;

	*out = NULL;
	if ((r = check_suite_key(suite, key_len, err)) != 0)
		return r;
	if ((r = keys_alloc(suite, &k, err)) != 0)
		return r;
	k->raw = 1;
	memcpy(k->key, key, key_len);
	memcpy(k->base_nonce, base_nonce, PAL_CHUNKED_NONCE_LEN);
	*out = k;
	return 0;
}

void
pal_chunked_keys_free(struct pal_chunked_keys *k)
{
	if (k != NULL)
		pal_secmem_free(k->mem);	/* wipes k itself */
}

/* ---- Size arithmetic -------------------------------------------------- */

uint64_t
pal_chunked_nchunks(uint64_t pt_len)
{
	return pt_len / PAL_CHUNKED_CHUNK_LEN + 1;
}

int
pal_chunked_ct_len(uint64_t pt_len, uint64_t *ct_len, struct pal_err *err)
{
	if (pt_len > PAL_CHUNKED_MAX_PLAIN)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "message of %llu bytes exceeds the limit "
				   "of 2^38 chunks (%llu bytes)",
				   (unsigned long long)pt_len,
				   (unsigned long long)PAL_CHUNKED_MAX_PLAIN);
	*ct_len = PAL_CHUNKED_HEADER_LEN + pt_len +
		  PAL_CHUNKED_TAG_LEN * pal_chunked_nchunks(pt_len);
	return 0;
}

int
pal_chunked_pt_len(uint64_t ct_len, uint64_t *pt_len, struct pal_err *err)
{
	const unsigned long long n = ct_len;

	if (ct_len < PAL_CHUNKED_HEADER_LEN)
		return pal_err_set(err, PAL_ERR_TRUNCATED,
				   "ciphertext of %llu bytes is shorter than "
				   "the 56-byte header: truncated", n);
	uint64_t body = ct_len - PAL_CHUNKED_HEADER_LEN;
	if (body == 0)
		return pal_err_set(err, PAL_ERR_TRUNCATED,
				   "ciphertext of 56 bytes has a header and no "
				   "chunk (an empty message has one): "
				   "truncated");
	uint64_t full = body / PAL_CHUNKED_CT_CHUNK_LEN;
	uint64_t rem = body % PAL_CHUNKED_CT_CHUNK_LEN;
	if (rem == 0)
		return pal_err_set(err, PAL_ERR_TRUNCATED,
				   "ciphertext of %llu bytes ends after %llu "
				   "full chunks, without the short final "
				   "chunk: truncated", n,
				   (unsigned long long)full);
	if (rem < PAL_CHUNKED_TAG_LEN)
		return pal_err_set(err, PAL_ERR_TRUNCATED,
				   "ciphertext of %llu bytes ends in a final "
				   "chunk of %llu bytes, shorter than its "
				   "16-byte tag: truncated", n,
				   (unsigned long long)rem);
	if (full >= PAL_CHUNKED_MAX_CHUNKS)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "ciphertext of %llu bytes has more than "
				   "2^38 chunks", n);
	*pt_len = full * PAL_CHUNKED_CHUNK_LEN + rem - PAL_CHUNKED_TAG_LEN;
	return 0;
}
