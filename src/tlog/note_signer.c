/*
 * note_signer.c - signed-note signers: Go's private key text
 * (golang.org/x/mod/sumdb/note), new keys, and Ed25519 keys on a PKCS#11
 * token.
 *
 * Private key text is a secret.  It is read in place; its seed is decoded
 * into a stack buffer that is wiped, and handed to OpenSSL, which wipes
 * its copy when the signer is freed.  New key text is built in a stack
 * buffer, copied into an allocation of its exact size, and the stack copy
 * wiped: no secret passes through a buffer that could be reallocated and
 * leave a copy behind.  Error messages name the part of the text that is
 * wrong, never its bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "palisade/file.h"
#include "palisade/note_sign.h"
#include "palisade/pkcs11.h"
#include "note_int.h"

#define SKEY_PREFIX "PRIVATE+KEY+"
#define KEY_B64_LEN 44		/* base64 of type byte || 32 key bytes */
#define SEED_LEN 32

int
pal_note_signer_new(const char *name,
		    const uint8_t pub[PAL_NOTE_ED25519_PUB_LEN],
		    int (*sign)(struct pal_note_signer *, const uint8_t *,
				size_t, uint8_t *, struct pal_err *),
		    void (*destroy)(struct pal_note_signer *), void *ctx,
		    struct pal_note_signer **out, struct pal_err *err)
{
	size_t n = strnlen(name, PAL_NOTE_NAME_MAX + 1);
	struct pal_note_signer *s;
	int rc;

	*out = NULL;
	if ((rc = pal_note_check_name((const uint8_t *)name, n, err)) < 0)
		return pal_err_wrap(err, rc, "note signer: ");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	memcpy(s->name, name, n + 1);
	memcpy(s->pub, pub, PAL_NOTE_ED25519_PUB_LEN);
	if (pal_note_key_id(name, PAL_NOTE_ED25519, pub,
			    PAL_NOTE_ED25519_PUB_LEN, &s->key_id) < 0) {
		free(s);
		return pal_err_set(err, PAL_ERR_CRYPTO, "SHA-256 failed");
	}
	s->sign = sign;
	s->destroy = destroy;
	s->ctx = ctx;
	*out = s;
	return 0;
}

void
pal_note_signer_free(struct pal_note_signer *s)
{
	if (s == NULL)
		return;
	if (s->destroy != NULL)
		s->destroy(s);
	free(s);
}

void
pal_note_skey_free(char *skey)
{
	if (skey == NULL)
		return;
	OPENSSL_cleanse(skey, strlen(skey));
	free(skey);
}

/* ---- keys in a file: an EVP_PKEY holding the seed ---- */

static int
file_sign(struct pal_note_signer *s, const uint8_t *msg, size_t len,
	  uint8_t *sig, struct pal_err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = PAL_NOTE_ED25519_SIG_LEN;
	int ok = md != NULL &&
		EVP_DigestSignInit(md, NULL, NULL, NULL, s->ctx) == 1 &&
		EVP_DigestSign(md, sig, &n, msg, len) == 1 &&
		n == PAL_NOTE_ED25519_SIG_LEN;

	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (!ok)
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "Ed25519 signing failed");
	return 0;
}

static void
file_destroy(struct pal_note_signer *s)
{
	EVP_PKEY_free(s->ctx);	/* OpenSSL wipes the private key */
	s->ctx = NULL;
}

/* A signer owning priv (taken, also on failure). */
static int
file_signer(const char *name, EVP_PKEY *priv, struct pal_note_signer **out,
	    struct pal_err *err)
{
	uint8_t pub[PAL_NOTE_ED25519_PUB_LEN];
	size_t n = sizeof(pub);
	int rc;

	if (EVP_PKEY_get_raw_public_key(priv, pub, &n) != 1 ||
	    n != sizeof(pub)) {
		ERR_clear_error();
		EVP_PKEY_free(priv);
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "cannot derive the Ed25519 public key");
	}
	rc = pal_note_signer_new(name, pub, file_sign, file_destroy, priv,
				 out, err);
	if (rc < 0)
		EVP_PKEY_free(priv);
	return rc;
}

/* base64(type || 32 bytes) into out, 44 characters and a NUL. */
static void
key_b64(uint8_t type, const uint8_t key[32], char out[KEY_B64_LEN + 1])
{
	uint8_t raw[1 + 32];

	raw[0] = type;
	memcpy(raw + 1, key, 32);
	(void)EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
}

/* A copy of the NUL-terminated text in an allocation of its size. */
static char *
exact_copy(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

int
pal_note_key_generate(const char *name, char **skey, char **vkey,
		      struct pal_err *err)
{
	uint8_t seed[SEED_LEN];
	char b64[KEY_B64_LEN + 1], text[PAL_NOTE_NAME_MAX + 128];
	struct pal_note_signer *s = NULL;
	EVP_PKEY *priv = NULL;
	int rc;

	*skey = *vkey = NULL;
	if (RAND_priv_bytes(seed, sizeof(seed)) != 1 ||
	    (priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
						 seed, sizeof(seed))) == NULL) {
		ERR_clear_error();
		rc = pal_err_set(err, PAL_ERR_CRYPTO,
				 "cannot generate an Ed25519 key");
		goto out;
	}
	if ((rc = file_signer(name, priv, &s, err)) < 0 ||
	    (rc = pal_note_signer_vkey(s, vkey, err)) < 0)
		goto out;
	key_b64(PAL_NOTE_ED25519, seed, b64);
	snprintf(text, sizeof(text), SKEY_PREFIX "%s+%08x+%s", s->name,
		 s->key_id, b64);
	if ((*skey = exact_copy(text)) == NULL) {
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		free(*vkey);
		*vkey = NULL;
	}
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(b64, sizeof(b64));
	OPENSSL_cleanse(text, sizeof(text));
	pal_note_signer_free(s);
	return rc;
}

int
pal_note_signer_vkey(const struct pal_note_signer *s, char **vkey,
		     struct pal_err *err)
{
	char b64[KEY_B64_LEN + 1], text[PAL_NOTE_NAME_MAX + 64];

	key_b64(PAL_NOTE_ED25519, s->pub, b64);
	snprintf(text, sizeof(text), "%s+%08x+%s", s->name, s->key_id, b64);
	if ((*vkey = exact_copy(text)) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	return 0;
}

static int
is_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * Decodes the 44 base64 characters of 0x01 || seed into an EVP_PKEY.  A
 * multiple of three bytes has no padding, so every character must be of
 * the alphabet and the decoding is canonical.
 */
static int
seed_key(const char *b64, size_t n, EVP_PKEY **out, struct pal_err *err)
{
	uint8_t raw[1 + SEED_LEN];
	int ok = n == KEY_B64_LEN;

	for (size_t i = 0; ok && i < n; i++)
		ok = is_b64_char(b64[i]);
	if (!ok)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "private key: the key is not 44 "
				   "characters of base64");
	ok = EVP_DecodeBlock(raw, (const unsigned char *)b64,
			     KEY_B64_LEN) == (int)sizeof(raw);
	if (ok && raw[0] != PAL_NOTE_ED25519) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "private key: algorithm 0x%02x is not "
				   "Ed25519", raw[0]);
	}
	if (ok)
		*out = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
						    raw + 1, SEED_LEN);
	OPENSSL_cleanse(raw, sizeof(raw));
	ERR_clear_error();
	if (!ok || *out == NULL)
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "private key: cannot load the Ed25519 key");
	return 0;
}

/* Splits "name+hex8+key" at the first '+' (names have none). */
static int
split_skey(const char *p, size_t n, size_t *name_len)
{
	const char *plus = memchr(p, '+', n);

	if (plus == NULL || plus == p)
		return -1;
	*name_len = (size_t)(plus - p);
	if (n - *name_len < 10 || p[*name_len + 9] != '+')
		return -1;
	return 0;
}

int
pal_note_signer_from_skey(const char *skey, size_t len,
			  struct pal_note_signer **out, struct pal_err *err)
{
	const size_t pre = sizeof(SKEY_PREFIX) - 1;
	char name[PAL_NOTE_NAME_MAX + 1];
	size_t name_len = 0;
	EVP_PKEY *priv = NULL;
	uint32_t id = 0;
	int rc;

	*out = NULL;
	if (len > PAL_NOTE_SKEY_MAX || memchr(skey, '\0', len) != NULL ||
	    len < pre || memcmp(skey, SKEY_PREFIX, pre) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "private key does not start with "
				   "\"" SKEY_PREFIX "\"");
	const char *p = skey + pre;
	size_t n = len - pre;
	if (split_skey(p, n, &name_len) < 0 || name_len > PAL_NOTE_NAME_MAX ||
	    pal_note_parse_key_id(p + name_len + 1, &id) < 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "private key is not PRIVATE+KEY+name+"
				   "hex(key ID)+base64(key)");
	if ((rc = pal_note_check_name((const uint8_t *)p, name_len, err)) < 0)
		return pal_err_wrap(err, rc, "private key: ");
	memcpy(name, p, name_len);
	name[name_len] = '\0';
	if ((rc = seed_key(p + name_len + 10, n - name_len - 10, &priv,
			   err)) < 0 ||
	    (rc = file_signer(name, priv, out, err)) < 0)
		return pal_err_wrap(err, rc, "'%s': ", name);
	if ((*out)->key_id != id) {
		pal_note_signer_free(*out);
		*out = NULL;
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "private key '%s': key ID %08x is not the "
				   "key's", name, id);
	}
	return 0;
}

int
pal_note_signer_load(const char *path, struct pal_note_signer **out,
		     struct pal_err *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = pal_file_read(path, PAL_NOTE_SKEY_MAX + 1, &data, &len,
				err)) < 0)
		return rc;
	size_t n = len > 0 && data[len - 1] == '\n' ? len - 1 : len;
	rc = pal_note_signer_from_skey((const char *)data, n, out, err);
	OPENSSL_cleanse(data, len);
	free(data);
	if (rc < 0)
		return pal_err_wrap(err, rc, "%s: ", path);
	return 0;
}

/* ---- keys on a PKCS#11 token ---- */

static int
p11_sign(struct pal_note_signer *s, const uint8_t *msg, size_t len,
	 uint8_t *sig, struct pal_err *err)
{
	return pal_p11_eddsa_sign(s->ctx, msg, len, sig, err);
}

static void
p11_destroy(struct pal_note_signer *s)
{
	pal_p11_eddsa_free(s->ctx);
	s->ctx = NULL;
}

int
pal_note_signer_from_pkcs11(const char *uri, const char *name,
			    struct pal_note_signer **out, struct pal_err *err)
{
	struct pal_p11_eddsa *k = NULL;
	uint8_t pub[PAL_NOTE_ED25519_PUB_LEN];
	int rc;

	*out = NULL;
	if ((rc = pal_note_check_name((const uint8_t *)name,
				      strnlen(name, PAL_NOTE_NAME_MAX + 1),
				      err)) < 0)
		return pal_err_wrap(err, rc, "note signer: ");
	if ((rc = pal_p11_eddsa_open(uri, &k, pub, err)) < 0)
		return rc;
	rc = pal_note_signer_new(name, pub, p11_sign, p11_destroy, k, out,
				 err);
	if (rc < 0)
		pal_p11_eddsa_free(k);
	return rc;
}
