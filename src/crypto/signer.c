/*
 * signer.c - ECDSA keys from PEM files, signature verification, key hints.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "palisade/buf.h"
#include "palisade/encoding.h"
#include "palisade/file.h"
#include "palisade/signer.h"

#define KEY_FILE_MAX (64 * 1024)

const EVP_MD *
pal_signer_md(const EVP_PKEY *key)
{
	char group[64];
	size_t len = 0;
	if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
	    EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1)
		return NULL;
	/* The NIST curves by name: brainpool and secp256k1 share sizes. */
	if (strcmp(group, "prime256v1") == 0)
		return EVP_sha256();
	if (strcmp(group, "secp384r1") == 0)
		return EVP_sha384();
	if (strcmp(group, "secp521r1") == 0)
		return EVP_sha512();
	return NULL;
}

static int
check_curve(const EVP_PKEY *key, const char *what, struct pal_err *err)
{
	if (pal_signer_md(key) == NULL)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s is not an ECDSA P-256, P-384 or P-521 "
				   "key", what);
	return 0;
}

/* Wipes and frees what pal_file_read returned: it may be a key. */
static void
free_key_bytes(uint8_t *p, size_t n)
{
	if (p != NULL)
		OPENSSL_cleanse(p, n);
	free(p);
}

struct pem_ctx {
	EVP_PKEY *priv;
};

static int
pem_sign(struct pal_signer *s, const uint8_t *msg, size_t len, uint8_t **sig,
	 size_t *sig_len, struct pal_err *err)
{
	struct pem_ctx *c = s->ctx;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = 0;
	uint8_t *p = NULL;
	int rc = PAL_ERR_CRYPTO;
	if (md == NULL ||
	    EVP_DigestSignInit(md, NULL, pal_signer_md(c->priv), NULL,
			       c->priv) != 1 ||
	    EVP_DigestSign(md, NULL, &n, msg, len) != 1 ||
	    (p = malloc(n)) == NULL ||
	    EVP_DigestSign(md, p, &n, msg, len) != 1) {
		free(p);
		pal_err_set(err, PAL_ERR_CRYPTO, "ECDSA signing failed");
		goto out;
	}
	*sig = p;
	*sig_len = n;
	rc = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	return rc;
}

static void
pem_destroy(struct pal_signer *s)
{
	struct pem_ctx *c = s->ctx;
	if (c != NULL) {
		EVP_PKEY_free(c->priv);	/* OpenSSL clears key material */
		free(c);
	}
}

int
pal_signer_from_pem(const char *path, struct pal_signer **out,
		    struct pal_err *err)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	int rc = pal_file_read(path, KEY_FILE_MAX, &raw, &len, err);
	if (rc < 0)
		return rc;
	BIO *b = BIO_new_mem_buf(raw, (int)len);
	EVP_PKEY *priv = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) :
		NULL;
	BIO_free(b);
	free_key_bytes(raw, len);
	ERR_clear_error();
	if (priv == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s: not an unencrypted PEM private key",
				   path);
	rc = check_curve(priv, path, err);
	struct pal_signer *s = calloc(1, sizeof(*s));
	struct pem_ctx *c = calloc(1, sizeof(*c));
	if (rc == 0 && (s == NULL || c == NULL))
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0 && (!EVP_PKEY_up_ref(priv)))
		rc = pal_err_set(err, PAL_ERR_CRYPTO, "EVP_PKEY_up_ref");
	if (rc < 0) {
		EVP_PKEY_free(priv);
		free(s);
		free(c);
		return rc;
	}
	c->priv = priv;
	s->pub = priv;	/* the private key object serves as its public half */
	s->ctx = c;
	s->sign = pem_sign;
	s->destroy = pem_destroy;
	*out = s;
	return 0;
}

int
pal_signer_open(const char *key, struct pal_signer **out, struct pal_err *err)
{
	if (strncmp(key, "pkcs11:", 7) == 0)
		return pal_signer_from_pkcs11(key, out, err);
	return pal_signer_from_pem(key, out, err);
}

void
pal_signer_free(struct pal_signer *s)
{
	if (s == NULL)
		return;
	if (s->destroy != NULL)
		s->destroy(s);
	EVP_PKEY_free(s->pub);
	free(s);
}

int
pal_sig_verify(EVP_PKEY *key, const uint8_t *msg, size_t len,
	       const uint8_t *sig, size_t sig_len, struct pal_err *err)
{
	return pal_sig_verify_md(key, pal_signer_md(key), msg, len, sig,
				 sig_len, err);
}

int
pal_sig_verify_md(EVP_PKEY *key, const EVP_MD *mdt, const uint8_t *msg,
		  size_t len, const uint8_t *sig, size_t sig_len,
		  struct pal_err *err)
{
	if (mdt == NULL || pal_signer_md(key) == NULL)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "verification key is not ECDSA P-256, "
				   "P-384 or P-521");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md != NULL &&
		EVP_DigestVerifyInit(md, NULL, mdt, NULL, key) == 1 &&
		EVP_DigestVerify(md, sig, sig_len, msg, len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (!ok)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "signature does not verify with the %s key",
				   EVP_MD_get0_name(mdt));
	return 0;
}

int
pal_pubkey_load(const char *path, EVP_PKEY **out, struct pal_err *err)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	int rc = pal_file_read(path, KEY_FILE_MAX, &raw, &len, err);
	if (rc < 0)
		return rc;
	BIO *b = BIO_new_mem_buf(raw, (int)len);
	EVP_PKEY *k = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	free_key_bytes(raw, len);	/* it may be a private key by mistake */
	ERR_clear_error();
	if (k == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s: not a PEM public key", path);
	rc = check_curve(k, path, err);
	if (rc < 0) {
		EVP_PKEY_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

int
pal_pubkey_hint(EVP_PKEY *key, char out[65], struct pal_err *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long n = 0;
	if (b == NULL || PEM_write_bio_PUBKEY(b, key) != 1 ||
	    (n = BIO_get_mem_data(b, &pem)) <= 0) {
		BIO_free(b);
		ERR_clear_error();
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "cannot encode the public key");
	}
	uint8_t h[32];
	SHA256((const uint8_t *)pem, (size_t)n, h);
	pal_hex_encode(h, sizeof(h), out);
	BIO_free(b);
	return 0;
}
