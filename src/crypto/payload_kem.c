/*
 * payload_kem.c - the key agreement of a sealed payload, per algorithm
 * (docs/formats/payload.md, "The construction"): the sealer makes the
 * enc field and the 32-byte secret, the opener gets the secret back from
 * enc with the private key.
 *
 * Trusted: the recipient (checked when it was loaded) and the private
 * key.  Not trusted: enc on the opening side, which is parsed into a key
 * only through OpenSSL's checked decoders (a point on the curve, a
 * non-zero X25519 result, an OAEP block of the right length).
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "payload_int.h"

/* secret = the agreement of own's private key with peer's public key. */
static int
agree(EVP_PKEY *own, EVP_PKEY *peer, int validate, uint8_t secret[PL_SECRET])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL);
	size_t n = PL_SECRET;
	uint8_t any = 0;
	int ok = c != NULL && EVP_PKEY_derive_init(c) == 1 &&
		 EVP_PKEY_derive_set_peer_ex(c, peer, validate) == 1 &&
		 EVP_PKEY_derive(c, secret, &n) == 1 && n == PL_SECRET;

	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	/* An all-zero X25519 result means a low-order point (RFC 7748). */
	for (size_t i = 0; ok && i < PL_SECRET; i++)
		any |= secret[i];
	if (!ok || any == 0) {
		OPENSSL_cleanse(secret, PL_SECRET);
		return -1;
	}
	return 0;
}

/* A new key pair of the recipient's kind (its curve). */
static EVP_PKEY *
ephemeral(EVP_PKEY *like)
{
	EVP_PKEY_CTX *g = EVP_PKEY_CTX_new_from_pkey(NULL, like, NULL);
	EVP_PKEY *k = NULL;

	if (g == NULL || EVP_PKEY_keygen_init(g) != 1 ||
	    EVP_PKEY_keygen(g, &k) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(g);
	return k;
}

/* The ephemeral public key as enc: raw X25519, or an uncompressed point. */
static int
encode_public(EVP_PKEY *k, enum pal_payload_alg alg, uint8_t *enc,
	      size_t enc_len)
{
	size_t n = enc_len;

	if (alg == PAL_PAYLOAD_X25519)
		return EVP_PKEY_get_raw_public_key(k, enc, &n) == 1 &&
			       n == enc_len ? 0 : -1;
	return EVP_PKEY_get_octet_string_param(
		       k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, enc, enc_len,
		       &n) == 1 && n == enc_len && enc[0] == 0x04 ? 0 : -1;
}

static int
encap_ec(const struct pal_payload_recipient *r, uint8_t *enc,
	 uint8_t secret[PL_SECRET])
{
	EVP_PKEY *eph = ephemeral(r->pub);
	/* The recipient was checked when loaded: no need to each time. */
	int rc = eph != NULL && encode_public(eph, r->alg, enc,
					      r->enc_len) == 0 &&
		 agree(eph, r->pub, 0, secret) == 0 ? 0 : -1;

	EVP_PKEY_free(eph);
	return rc;
}

/* OAEP with SHA-256, MGF1-SHA-256 and the context as its label. */
static int
oaep_params(EVP_PKEY_CTX *c)
{
	void *label = OPENSSL_memdup(PAL_PAYLOAD_CONTEXT,
				     sizeof(PAL_PAYLOAD_CONTEXT) - 1);

	if (label == NULL ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set0_rsa_oaep_label(
		    c, label, (int)sizeof(PAL_PAYLOAD_CONTEXT) - 1) != 1) {
		OPENSSL_free(label);
		return -1;
	}
	return 0;
}

static int
encap_rsa(const struct pal_payload_recipient *r, uint8_t *enc,
	  uint8_t secret[PL_SECRET])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, r->pub, NULL);
	size_t n = r->enc_len;
	int ok = c != NULL && RAND_bytes(secret, PL_SECRET) == 1 &&
		 EVP_PKEY_encrypt_init(c) == 1 && oaep_params(c) == 0 &&
		 EVP_PKEY_encrypt(c, enc, &n, secret, PL_SECRET) == 1 &&
		 n == r->enc_len;

	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -1;
}

int
pl_encap(const struct pal_payload_recipient *r, uint8_t *enc,
	 uint8_t secret[PL_SECRET], struct pal_err *err)
{
	int rc = r->alg == PAL_PAYLOAD_RSA_OAEP ? encap_rsa(r, enc, secret)
						: encap_ec(r, enc, secret);

	ERR_clear_error();
	if (rc < 0) {
		OPENSSL_cleanse(secret, PL_SECRET);
		return pal_err_set(err, PAL_ERR_CRYPTO, "the key agreement "
				   "with the payload key failed");
	}
	return 0;
}

/* enc as a public key: X25519 raw bytes, or an uncompressed P-256 point. */
static EVP_PKEY *
decode_public(enum pal_payload_alg alg, const uint8_t *enc, size_t enc_len)
{
	EVP_PKEY_CTX *c;
	EVP_PKEY *k = NULL;
	OSSL_PARAM p[3];

	if (alg == PAL_PAYLOAD_X25519)
		return EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL,
						      enc, enc_len);
	/* Only the uncompressed form: no hybrid (0x06, 0x07) points. */
	if (enc[0] != 0x04)
		return NULL;
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						(char *)(uintptr_t)"P-256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
						 (void *)(uintptr_t)enc,
						 enc_len);
	p[2] = OSSL_PARAM_construct_end();
	c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (c == NULL || EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(c);
	return k;
}

static int
decap_rsa(EVP_PKEY *priv, const uint8_t *enc, size_t enc_len,
	  uint8_t secret[PL_SECRET])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	uint8_t out[PL_ENC_MAX];
	size_t n = sizeof(out);
	int ok = c != NULL && EVP_PKEY_decrypt_init(c) == 1 &&
		 oaep_params(c) == 0 &&
		 EVP_PKEY_decrypt(c, out, &n, enc, enc_len) == 1 &&
		 n == PL_SECRET;

	if (ok)
		memcpy(secret, out, PL_SECRET);
	OPENSSL_cleanse(out, sizeof(out));
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -1;
}

int
pl_decap(EVP_PKEY *priv, enum pal_payload_alg alg, const uint8_t *enc,
	 size_t enc_len, uint8_t secret[PL_SECRET], struct pal_err *err)
{
	EVP_PKEY *peer = NULL;
	int rc;

	if (alg == PAL_PAYLOAD_RSA_OAEP) {
		rc = decap_rsa(priv, enc, enc_len, secret);
	} else {
		peer = decode_public(alg, enc, enc_len);
		rc = peer != NULL ? agree(priv, peer, 1, secret) : -1;
	}
	EVP_PKEY_free(peer);
	ERR_clear_error();
	if (rc < 0) {
		OPENSSL_cleanse(secret, PL_SECRET);
		return pal_err_set(err, PAL_ERR_VERIFY, "%s",
				   alg == PAL_PAYLOAD_RSA_OAEP
					   ? "the wrapped key does not decrypt "
					     "with this key: the payload was "
					     "altered"
					   : "the ephemeral public key is not "
					     "valid: the payload was altered");
	}
	return 0;
}
