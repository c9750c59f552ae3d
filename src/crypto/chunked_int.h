/*
 * chunked_int.h - what the files of the chunked-encryption module share:
 * the key and context objects, the header check and positional I/O
 * (chunked.c, chunked_chunk.c), used by the whole-message engine
 * (chunked_stream.c) and random access (chunked_read.c).
 */
#ifndef PAL_CHUNKED_INT_H
#define PAL_CHUNKED_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "palisade/chunked.h"
#include "palisade/secmem.h"

/* Lives inside its own secmem allocation, mem. */
struct pal_chunked_keys {
	struct pal_secmem *mem;
	enum pal_chunked_suite suite;
	int raw;			/* no salt, no commitment */
	size_t key_len;
	uint8_t key[PAL_CHUNKED_KEY_MAX];
	uint8_t base_nonce[PAL_CHUNKED_NONCE_LEN];
	uint8_t salt[PAL_CHUNKED_SALT_LEN];
	uint8_t commitment[PAL_CHUNKED_COMMIT_LEN];
};

struct pal_chunked_ctx {
	EVP_CIPHER_CTX *evp;		/* key set once */
	int raw;
	uint8_t base_nonce[PAL_CHUNKED_NONCE_LEN];
	uint8_t salt[PAL_CHUNKED_SALT_LEN];
	uint8_t commitment[PAL_CHUNKED_COMMIT_LEN];
	struct pal_secmem *scratch_mem;	/* random access, allocated once */
	uint8_t *scratch;
};

/*
 * Checks a message's header against a salt and commitment: the salt must
 * be the one the keys were derived with, the commitment must match
 * (constant time).  PAL_ERR_VERIFY naming which.
 */
int pal_chunked_check_header(const uint8_t salt[PAL_CHUNKED_SALT_LEN],
			     const uint8_t commit[PAL_CHUNKED_COMMIT_LEN],
			     const uint8_t header[PAL_CHUNKED_HEADER_LEN],
			     struct pal_err *err);

#endif
