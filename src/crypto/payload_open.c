/*
 * payload_open.c - opening a sealed payload with the operator's private
 * key (payload.h, docs/formats/payload.md).
 *
 * The sealed bytes are untrusted (anyone who can write the log, or who
 * holds the public key, can make them).  They are read through the
 * cursor only, every field checked before any key is touched, the key id
 * compared before any decryption, and nothing of the plaintext is
 * released before the GCM tag verified; on any failure after that the
 * buffer is wiped.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "palisade/cursor.h"
#include "palisade/encoding.h"
#include "payload_int.h"

/* What the header says; views into the sealed bytes. */
struct sealed {
	enum pal_payload_alg alg;
	const uint8_t *header, *id, *enc, *ct;
	size_t enc_len, header_len, ct_len;	/* ct_len counts the tag */
};

static const char *
alg_name(enum pal_payload_alg alg)
{
	switch (alg) {
	case PAL_PAYLOAD_X25519:
		return "X25519";
	case PAL_PAYLOAD_P256:
		return "P-256";
	case PAL_PAYLOAD_RSA_OAEP:
		return "RSA";
	}
	return "unknown";
}

static int
truncated(struct pal_err *err, const char *what, size_t len)
{
	return pal_err_set(err, PAL_ERR_TRUNCATED, "sealed payload of %zu "
			   "bytes ends inside its %s: truncated", len, what);
}

/* The enc length alg allows (RSA: a range, checked against the key later). */
static int
check_enc_len(enum pal_payload_alg alg, size_t n, struct pal_err *err)
{
	int ok = alg == PAL_PAYLOAD_X25519   ? n == PL_X25519_ENC
		 : alg == PAL_PAYLOAD_P256   ? n == PL_P256_ENC
					     : n >= PL_RSA_MIN_BITS / 8 &&
						 n <= PL_RSA_MAX_BITS / 8;

	return ok ? 0 : pal_err_set(err, PAL_ERR_FORMAT, "an ephemeral key "
				    "of %zu bytes is not valid for %s", n,
				    alg_name(alg));
}

static int
parse(const uint8_t *bin, size_t len, struct sealed *s, struct pal_err *err)
{
	struct pal_cur c;
	const uint8_t *magic;
	uint8_t version, alg;
	uint16_t enc_len;

	pal_cur_init(&c, bin, len);
	s->header = bin;
	if (pal_cur_bytes(&c, 4, &magic) < 0)
		return truncated(err, "magic", len);
	if (memcmp(magic, PL_MAGIC, 4) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "not a sealed payload "
				   "(no PALP magic)");
	if (pal_cur_u8(&c, &version) < 0 || pal_cur_u8(&c, &alg) < 0)
		return truncated(err, "header", len);
	if (version != PL_VERSION)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED, "sealed payload "
				   "version %u: only %d is supported",
				   version, PL_VERSION);
	if (alg < PAL_PAYLOAD_X25519 || alg > PAL_PAYLOAD_RSA_OAEP)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED, "sealed payload "
				   "algorithm %u is unknown", alg);
	s->alg = (enum pal_payload_alg)alg;
	if (pal_cur_bytes(&c, PAL_PAYLOAD_ID_LEN, &s->id) < 0 ||
	    pal_cur_u16be(&c, &enc_len) < 0)
		return truncated(err, "header", len);
	if (check_enc_len(s->alg, enc_len, err) < 0)
		return PAL_ERR_FORMAT;
	if (pal_cur_bytes(&c, enc_len, &s->enc) < 0)
		return truncated(err, "ephemeral key", len);
	s->enc_len = enc_len;
	s->header_len = c.off;
	s->ct_len = pal_cur_left(&c);
	if (s->ct_len < PL_TAG)
		return truncated(err, "authentication tag", len);
	if (s->ct_len - PL_TAG > PAL_PAYLOAD_PLAIN_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "a sealed payload of "
				   "%zu bytes: at most %u bytes of plaintext",
				   len, PAL_PAYLOAD_PLAIN_MAX);
	return pal_cur_bytes(&c, s->ct_len, &s->ct);
}

/* Is priv the key s was sealed to?  Names both ids when not. */
static int
check_key(EVP_PKEY *priv, const struct sealed *s, uint8_t id[32],
	  struct pal_err *err)
{
	enum pal_payload_alg alg;
	size_t enc_len;
	char want[65], have[65];
	int rc = pl_key_alg(priv, "the private key", &alg, &enc_len, err);

	if (rc < 0)
		return rc;
	if (alg != s->alg)
		return pal_err_set(err, PAL_ERR_VERIFY, "wrong key: the payload "
				   "was sealed to a key of kind %s, this key "
				   "is %s",
				   alg_name(s->alg), alg_name(alg));
	if ((rc = pal_payload_key_id(priv, id, err)) < 0)
		return rc;
	if (!pal_ct_equal(id, s->id, PAL_PAYLOAD_ID_LEN)) {
		pl_id_hex(s->id, want);
		pl_id_hex(id, have);
		return pal_err_set(err, PAL_ERR_VERIFY, "wrong key: the payload "
				   "was sealed to key %s, this key is %s",
				   want, have);
	}
	if (enc_len != s->enc_len)
		return pal_err_set(err, PAL_ERR_FORMAT, "a wrapped key of %zu "
				   "bytes for an RSA key of %zu", s->enc_len,
				   enc_len);
	return 0;
}

/* AES-256-GCM decryption of s into out (ct_len - PL_TAG bytes). */
static int
decrypt(const struct sealed *s, const uint8_t key[PL_KEY],
	const uint8_t nonce[PL_NONCE], const uint8_t *aad, size_t aad_len,
	uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	size_t m = s->ct_len - PL_TAG;
	int n = 0, ok = c != NULL &&
		EVP_DecryptInit_ex2(c, EVP_aes_256_gcm(), key, nonce, NULL) ==
			1 &&
		EVP_DecryptUpdate(c, NULL, &n, s->header,
				  (int)s->header_len) == 1 &&
		(aad_len == 0 ||
		 EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) == 1) &&
		(m == 0 || EVP_DecryptUpdate(c, out, &n, s->ct, (int)m) == 1) &&
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, PL_TAG,
				    (void *)(uintptr_t)(s->ct + m)) == 1 &&
		EVP_DecryptFinal_ex(c, out + m, &n) == 1;

	EVP_CIPHER_CTX_free(c);
	ERR_clear_error();
	return ok ? 0 : -1;
}

/* From the verified plaintext to the caller's result. */
static int
release(struct pal_payload_opened *o, const struct sealed *s,
	const uint8_t id[32], struct pal_err *err)
{
	o->alg = s->alg;
	memcpy(o->key_id, id, PAL_PAYLOAD_ID_LEN);
	return pal_payload_parts_parse(o->plain, o->plain_len, o->part,
				       PAL_PAYLOAD_PARTS_MAX, &o->n, err);
}

static int
open_sealed(EVP_PKEY *priv, const uint8_t *aad, size_t aad_len,
	    const struct sealed *s, struct pal_payload_opened *o,
	    struct pal_err *err)
{
	uint8_t id[PAL_PAYLOAD_ID_LEN], secret[PL_SECRET], key[PL_KEY];
	uint8_t nonce[PL_NONCE];
	int rc;

	if ((rc = check_key(priv, s, id, err)) < 0 ||
	    (rc = pl_decap(priv, s->alg, s->enc, s->enc_len, secret,
			   err)) < 0)
		return rc;
	rc = pl_schedule(NULL, secret, s->header, s->header_len,
			 key, nonce, err);
	OPENSSL_cleanse(secret, sizeof(secret));
	o->plain_len = s->ct_len - PL_TAG;
	o->plain = rc == 0 ? malloc(o->plain_len + 1) : NULL;
	if (rc == 0 && o->plain == NULL)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0 && decrypt(s, key, nonce, aad, aad_len, o->plain) < 0)
		rc = pal_err_set(err, PAL_ERR_VERIFY, "authentication failed: "
				 "the payload, or the record it is bound to, "
				 "was altered");
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(nonce, sizeof(nonce));
	if (rc == 0)
		rc = release(o, s, id, err);
	return rc;
}

int
pal_payload_open_bin(EVP_PKEY *priv, const uint8_t *aad, size_t aad_len,
		     const uint8_t *bin, size_t len,
		     struct pal_payload_opened **out, struct pal_err *err)
{
	struct sealed s;
	struct pal_payload_opened *o;
	int rc;

	*out = NULL;
	if (aad_len > INT32_MAX || (aad == NULL && aad_len > 0))
		return pal_err_set(err, PAL_ERR_INVALID, "invalid AAD");
	if ((rc = parse(bin, len, &s, err)) < 0)
		return rc;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	rc = open_sealed(priv, aad, aad_len, &s, o, err);
	if (rc < 0) {
		pal_payload_opened_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

/* The longest base64 a payload within the limits can take. */
#define B64_MAX ((PL_HEADER_MAX + PAL_PAYLOAD_PLAIN_MAX + PL_TAG + 2) / 3 * 4)

int
pal_payload_open(EVP_PKEY *priv, const uint8_t *aad, size_t aad_len,
		 const char *b64, size_t b64_len,
		 struct pal_payload_opened **out, struct pal_err *err)
{
	uint8_t *bin = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (b64_len > B64_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "a sealed payload of "
				   "%zu base64 characters: at most %u", b64_len,
				   (unsigned)B64_MAX);
	if ((rc = pal_base64_decode(b64, b64_len, &bin, &len, err)) < 0)
		return pal_err_wrap(err, rc, "sealed payload: ");
	rc = pal_payload_open_bin(priv, aad, aad_len, bin, len, out, err);
	free(bin);
	return rc;
}

void
pal_payload_opened_free(struct pal_payload_opened *o)
{
	if (o == NULL)
		return;
	if (o->plain != NULL)
		OPENSSL_cleanse(o->plain, o->plain_len + 1);
	free(o->plain);
	OPENSSL_cleanse(o, sizeof(*o));
	free(o);
}
