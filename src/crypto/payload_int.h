/*
 * payload_int.h - what the files of the payload module share
 * (payload.h, docs/formats/payload.md): the header's layout, the
 * recipient's insides, the key agreement per algorithm and the key
 * schedule.
 */
#ifndef PAL_PAYLOAD_INT_H
#define PAL_PAYLOAD_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "palisade/payload.h"

#define PL_MAGIC "PALP"
#define PL_VERSION 1
#define PL_FIXED 40			/* magic .. enc_len */
#define PL_TAG 16
#define PL_KEY 32
#define PL_NONCE 12
#define PL_SECRET 32
#define PL_X25519_ENC 32
#define PL_P256_ENC 65
#define PL_RSA_MIN_BITS 3072
#define PL_RSA_MAX_BITS 4096
#define PL_ENC_MAX (PL_RSA_MAX_BITS / 8)
#define PL_HEADER_MAX (PL_FIXED + PL_ENC_MAX)
/* Framing of one part: name_len, name, total, len. */
#define PL_PART_OVERHEAD(name_len) (1 + (name_len) + 8 + 4)

/* Immutable once built; shared by every thread that seals. */
struct pal_payload_recipient {
	EVP_PKEY *pub;
	enum pal_payload_alg alg;
	size_t enc_len;			/* bytes of enc this key makes */
	uint8_t id[PAL_PAYLOAD_ID_LEN];
	EVP_KDF *hkdf;			/* fetched once */
	EVP_CIPHER *gcm;		/* fetched once */
};

/*
 * The algorithm a key (public or private) is for, and the enc length it
 * makes, or PAL_ERR_UNSUPPORTED naming what the key is (what names the
 * key in messages).
 */
int pl_key_alg(EVP_PKEY *key, const char *what, enum pal_payload_alg *alg,
	       size_t *enc_len, struct pal_err *err);

/*
 * The sealer's half of the key agreement: writes enc (r->enc_len bytes)
 * and the 32-byte secret.  The opener's half: from enc and priv, the
 * secret, or PAL_ERR_VERIFY when enc is not a valid ephemeral key or RSA
 * block.  Both wipe what they held.
 */
int pl_encap(const struct pal_payload_recipient *r, uint8_t *enc,
	     uint8_t secret[PL_SECRET], struct pal_err *err);
int pl_decap(EVP_PKEY *priv, enum pal_payload_alg alg, const uint8_t *enc,
	     size_t enc_len, uint8_t secret[PL_SECRET], struct pal_err *err);

/*
 * HKDF-SHA256(salt = PAL_PAYLOAD_CONTEXT, ikm = secret, info = header)
 * into the AES key and nonce.  kdf may be NULL (fetched for the call).
 */
int pl_schedule(EVP_KDF *kdf, const uint8_t secret[PL_SECRET],
		const uint8_t *header, size_t header_len,
		uint8_t key[PL_KEY], uint8_t nonce[PL_NONCE],
		struct pal_err *err);

/*
 * The framed length of parts when they are valid (*rc 0), or 0 with *rc
 * a PAL_ERR_* and err set.
 */
size_t pl_parts_len(const struct pal_payload_part *parts, size_t n, int *rc,
		    struct pal_err *err);

/* Lowercase hex of the first n bytes of id, for messages. */
void pl_id_hex(const uint8_t id[PAL_PAYLOAD_ID_LEN], char out[65]);

#endif
