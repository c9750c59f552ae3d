/*
 * payload_key.c - the operator's keys for sealed payloads (payload.h):
 * which kinds are accepted and why, the key id, the recipient (public
 * key, checked and with its algorithms fetched once) and the private key
 * the payload command opens with.
 *
 * Trusted: the key files are the operator's; they are still checked
 * (kind, curve, size, a valid point) since a wrong file named in a
 * configuration must be refused at load, not at the first request.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "palisade/encoding.h"
#include "palisade/file.h"
#include "payload_int.h"

#define KEY_FILE_MAX (64 * 1024)

void
pl_id_hex(const uint8_t id[PAL_PAYLOAD_ID_LEN], char out[65])
{
	pal_hex_encode(id, PAL_PAYLOAD_ID_LEN, out);
}

static int
ec_alg(EVP_PKEY *key, const char *what, struct pal_err *err)
{
	char group[64];
	size_t n = 0;

	if (EVP_PKEY_get_group_name(key, group, sizeof(group), &n) != 1) {
		ERR_clear_error();
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s: an EC key without a named curve is "
				   "not supported (use P-256 or X25519)",
				   what);
	}
	if (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s: EC curve %s is not supported (use "
				   "P-256 or X25519)", what, group);
	return 0;
}

/*
 * RSA below 3072 bits is under 128-bit security; above 8192 bits it is
 * slow for nothing and would only make the enc field long.
 */
static int
rsa_alg(EVP_PKEY *key, const char *what, size_t *enc_len,
	struct pal_err *err)
{
	int bits = EVP_PKEY_get_bits(key), size = EVP_PKEY_get_size(key);

	if (bits < PL_RSA_MIN_BITS || bits > PL_RSA_MAX_BITS || size <= 0)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s: RSA key of %d bits: payloads need "
				   "%d to %d bits", what, bits,
				   PL_RSA_MIN_BITS, PL_RSA_MAX_BITS);
	*enc_len = (size_t)size;
	return 0;
}

int
pl_key_alg(EVP_PKEY *key, const char *what, enum pal_payload_alg *alg,
	   size_t *enc_len, struct pal_err *err)
{
	const char *name;

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_X25519:
		*alg = PAL_PAYLOAD_X25519;
		*enc_len = PL_X25519_ENC;
		return 0;
	case EVP_PKEY_EC:
		*alg = PAL_PAYLOAD_P256;
		*enc_len = PL_P256_ENC;
		return ec_alg(key, what, err);
	case EVP_PKEY_RSA:
		*alg = PAL_PAYLOAD_RSA_OAEP;
		return rsa_alg(key, what, enc_len, err);
	default:
		name = EVP_PKEY_get0_type_name(key);
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s: a %s key cannot receive payloads (use "
				   "X25519, P-256 or RSA of 3072 bits or more)",
				   what, name != NULL ? name : "unknown");
	}
}

int
pal_payload_key_id(EVP_PKEY *key, uint8_t id[PAL_PAYLOAD_ID_LEN],
		   struct pal_err *err)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);

	if (n <= 0) {
		ERR_clear_error();
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "cannot encode the public key");
	}
	EVP_Digest(der, (size_t)n, id, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return 0;
}

/* The public half must be a valid key (a point on the curve, ...). */
static int
check_public(EVP_PKEY *pub, struct pal_err *err)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	int ok = c != NULL && EVP_PKEY_public_check(c) == 1;

	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return ok ? 0 : pal_err_set(err, PAL_ERR_FORMAT,
				    "the public key is not valid");
}

int
pal_payload_recipient_new(EVP_PKEY *pub, struct pal_payload_recipient **out,
			  struct pal_err *err)
{
	struct pal_payload_recipient *r;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if ((rc = pl_key_alg(pub, "the payload key", &r->alg, &r->enc_len,
			     err)) < 0 ||
	    (rc = check_public(pub, err)) < 0 ||
	    (rc = pal_payload_key_id(pub, r->id, err)) < 0)
		goto out;
	r->hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	r->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	if (r->hkdf == NULL || r->gcm == NULL || EVP_PKEY_up_ref(pub) != 1) {
		ERR_clear_error();
		rc = pal_err_set(err, PAL_ERR_CRYPTO, "OpenSSL lacks HKDF or "
				 "AES-256-GCM");
		goto out;
	}
	r->pub = pub;
	*out = r;
	r = NULL;
out:
	pal_payload_recipient_free(r);
	return rc;
}

int
pal_payload_recipient_load(const char *path,
			   struct pal_payload_recipient **out,
			   struct pal_err *err)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	BIO *b;
	EVP_PKEY *pub;
	int rc;

	*out = NULL;
	if ((rc = pal_file_read(path, KEY_FILE_MAX, &raw, &len, err)) < 0)
		return rc;
	b = BIO_new_mem_buf(raw, (int)len);
	pub = b != NULL ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	/* The operator may have named the private key by mistake. */
	OPENSSL_cleanse(raw, len);
	free(raw);
	ERR_clear_error();
	if (pub == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT, "%s: not a PEM public "
				   "key (BEGIN PUBLIC KEY)", path);
	rc = pal_payload_recipient_new(pub, out, err);
	EVP_PKEY_free(pub);
	return rc < 0 ? pal_err_wrap(err, rc, "%s: ", path) : 0;
}

void
pal_payload_recipient_free(struct pal_payload_recipient *r)
{
	if (r == NULL)
		return;
	EVP_PKEY_free(r->pub);
	EVP_KDF_free(r->hkdf);
	EVP_CIPHER_free(r->gcm);
	free(r);
}

enum pal_payload_alg
pal_payload_recipient_alg(const struct pal_payload_recipient *r)
{
	return r->alg;
}

const uint8_t *
pal_payload_recipient_id(const struct pal_payload_recipient *r)
{
	return r->id;
}

/* Never prompts on a terminal: an encrypted key is refused instead. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)u = 1;
	return -1;
}

int
pal_payload_privkey_load(const char *path, EVP_PKEY **out,
			 struct pal_err *err)
{
	uint8_t *raw = NULL;
	size_t len = 0, enc_len;
	enum pal_payload_alg alg;
	int asked = 0, rc;
	BIO *b;
	EVP_PKEY *k;

	*out = NULL;
	if ((rc = pal_file_read(path, KEY_FILE_MAX, &raw, &len, err)) < 0)
		return rc;
	b = BIO_new_mem_buf(raw, (int)len);
	k = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase,
						&asked) : NULL;
	BIO_free(b);
	OPENSSL_cleanse(raw, len);
	free(raw);
	ERR_clear_error();
	if (k == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT, "%s: %s", path, asked ?
				   "the private key is encrypted: decrypt it "
				   "first (openssl pkey)" :
				   "not a PEM private key");
	if ((rc = pl_key_alg(k, path, &alg, &enc_len, err)) < 0) {
		EVP_PKEY_free(k);
		return rc;
	}
	*out = k;
	return 0;
}
