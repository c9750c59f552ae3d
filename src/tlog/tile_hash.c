/*
 * tile_hash.c - RFC 6962 interior node hashing for proof generation, with a
 * digest context reused across nodes (see tile_int.h for why).
 *
 * The SHA-256 implementation is fetched once per process and kept for its
 * lifetime; each hasher owns one context set up on it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tile_int.h"

#define HLEN PAL_MERKLE_HASH_LEN

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256;

static void
fetch_sha256(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int
tile_hasher_init(struct tile_hasher *h, struct pal_err *err)
{
	h->ctx = NULL;
	if (pthread_once(&sha256_once, fetch_sha256) != 0 || sha256 == NULL)
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "SHA-256 is not available");
	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (EVP_DigestInit_ex2(h->ctx, sha256, NULL) != 1) {
		tile_hasher_free(h);
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "cannot set up SHA-256");
	}
	return 0;
}

void
tile_hasher_node(struct tile_hasher *h, const uint8_t left[HLEN],
		 const uint8_t right[HLEN], uint8_t out[HLEN])
{
	uint8_t buf[1 + 2 * HLEN];

	buf[0] = 0x01;
	memcpy(buf + 1, left, HLEN);
	memcpy(buf + 1 + HLEN, right, HLEN);
	/*
	 * Re-initialising a context that already holds SHA-256 keeps its
	 * provider state; SHA-256 cannot fail on it, so a failure here is a
	 * broken library and fatal, as in merkle.c.
	 */
	if (EVP_DigestInit_ex(h->ctx, NULL, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, buf, sizeof(buf)) != 1 ||
	    EVP_DigestFinal_ex(h->ctx, out, NULL) != 1)
		abort();
}

void
tile_hasher_free(struct tile_hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}
