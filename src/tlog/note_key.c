/*
 * note_key.c - signed-note verifier keys: vkey strings and public keys.
 *
 * A vkey names its key ID; the ID is recomputed from the key and must be
 * the one named, so that a vkey cannot claim another key's identity.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "palisade/encoding.h"
#include "palisade/note.h"
#include "note_int.h"

#define VKEY_MAX 4096

static uint32_t
id_of_digest(const uint8_t d[32])
{
	return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
		(uint32_t)d[2] << 8 | d[3];
}

int
pal_note_key_id(const char *name, uint8_t type, const uint8_t *key,
		size_t key_len, uint32_t *id)
{
	uint8_t d[32];
	unsigned int dl = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const uint8_t sep[2] = { '\n', type };
	int ok = md != NULL &&
		EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		EVP_DigestUpdate(md, name, strlen(name)) == 1 &&
		EVP_DigestUpdate(md, sep, 2) == 1 &&
		EVP_DigestUpdate(md, key, key_len) == 1 &&
		EVP_DigestFinal_ex(md, d, &dl) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return PAL_ERR_CRYPTO;
	*id = id_of_digest(d);
	return 0;
}

/* SHA-256 of the key's SubjectPublicKeyInfo DER, first four bytes. */
static int
spki_id(EVP_PKEY *key, uint32_t *id)
{
	uint8_t *der = NULL, d[32];
	int n = i2d_PUBKEY(key, &der);

	if (n <= 0)
		return PAL_ERR_CRYPTO;
	SHA256(der, (size_t)n, d);
	OPENSSL_free(der);
	*id = id_of_digest(d);
	return 0;
}

static int
ec_curve_ok(const EVP_PKEY *key)
{
	int bits = EVP_PKEY_get_bits(key);

	return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
		(bits == 256 || bits == 384 || bits == 521);
}

static int
make(const char *name, EVP_PKEY *key, uint8_t type, uint32_t id,
     struct pal_note_verifier **out, struct pal_err *err)
{
	struct pal_note_verifier *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (strlen(name) > PAL_NOTE_NAME_MAX) {
		free(v);
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "note key name too long");
	}
	memcpy(v->name, name, strlen(name) + 1);
	v->type = type;
	v->key_id = id;
	v->key = key;
	*out = v;
	return 0;
}

int
pal_note_verifier_from_key(const char *name, EVP_PKEY *key,
			   struct pal_note_verifier **out,
			   struct pal_err *err)
{
	uint8_t pub[32];
	size_t pub_len = sizeof(pub);
	uint32_t id = 0;
	uint8_t type;
	int rc;

	*out = NULL;
	if (name[0] == '\0' || strchr(name, '+') || strchr(name, ' '))
		return pal_err_set(err, PAL_ERR_INVALID,
				   "note key name '%s' is empty or has a "
				   "space or '+'", name);
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		type = PAL_NOTE_ED25519;
		rc = EVP_PKEY_get_raw_public_key(key, pub, &pub_len) == 1 &&
			pub_len == 32 ?
			pal_note_key_id(name, type, pub, 32, &id) :
			PAL_ERR_CRYPTO;
	} else if (ec_curve_ok(key)) {
		type = PAL_NOTE_ECDSA;
		rc = spki_id(key, &id);
	} else {
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "note key '%s' is neither Ed25519 nor "
				   "ECDSA P-256/384/521", name);
	}
	ERR_clear_error();
	if (rc < 0)
		return pal_err_set(err, rc, "note key '%s': cannot compute "
				   "its key ID", name);
	if (!EVP_PKEY_up_ref(key))
		return pal_err_set(err, PAL_ERR_CRYPTO, "EVP_PKEY_up_ref");
	rc = make(name, key, type, id, out, err);
	if (rc < 0)
		EVP_PKEY_free(key);
	return rc;
}

/* The key of a vkey's third field: 0x01 || Ed25519 or 0x02 || SPKI. */
static int
vkey_key(const uint8_t *raw, size_t n, EVP_PKEY **key, struct pal_err *err)
{
	const unsigned char *p = raw + 1;

	if (n >= 1 && raw[0] == PAL_NOTE_ED25519) {
		if (n != 33)
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "vkey: Ed25519 key of %zu bytes",
					   n - 1);
		*key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
						   p, 32);
	} else if (n >= 1 && raw[0] == PAL_NOTE_ECDSA) {
		*key = d2i_PUBKEY(NULL, &p, (long)(n - 1));
		if (*key != NULL && (p != raw + n || !ec_curve_ok(*key))) {
			EVP_PKEY_free(*key);
			*key = NULL;
		}
	} else {
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "vkey: unknown signature type 0x%02x",
				   n ? raw[0] : 0);
	}
	ERR_clear_error();
	if (*key == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "vkey: malformed public key");
	return 0;
}

/* Splits "name+hex8+base64" at its two '+'; 0 on success. */
static int
split_vkey(const char *s, size_t len, size_t *plus1, size_t *plus2)
{
	const char *a = memchr(s, '+', len);
	const char *b = a ? memchr(a + 1, '+', len - (size_t)(a + 1 - s)) :
		NULL;

	if (a == NULL || b == NULL || a == s || b - a != 9)
		return -1;
	*plus1 = (size_t)(a - s);
	*plus2 = (size_t)(b - s);
	return 0;
}

int
pal_note_parse_key_id(const char *hex, uint32_t *id)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		char c = hex[i];
		int d = c >= '0' && c <= '9' ? c - '0' :
			c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*id = v;
	return 0;
}

int
pal_note_verifier_parse(const char *vkey, size_t len,
			struct pal_note_verifier **out, struct pal_err *err)
{
	size_t p1, p2;
	uint32_t id;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	EVP_PKEY *key = NULL;
	struct pal_note_verifier *v = NULL;
	char name[PAL_NOTE_NAME_MAX + 1];

	*out = NULL;
	if (len > VKEY_MAX || memchr(vkey, '\0', len) != NULL ||
	    split_vkey(vkey, len, &p1, &p2) < 0 || p1 > PAL_NOTE_NAME_MAX ||
	    pal_note_parse_key_id(vkey + p1 + 1, &id) < 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "vkey is not name+hex(key ID)+base64(key)");
	memcpy(name, vkey, p1);
	name[p1] = '\0';
	int rc = pal_base64_decode(vkey + p2 + 1, len - p2 - 1, &raw,
				   &raw_len, err);
	if (rc < 0)
		return pal_err_wrap(err, rc, "vkey '%s': ", name);
	rc = vkey_key(raw, raw_len, &key, err);
	free(raw);
	if (rc == 0)
		rc = pal_note_verifier_from_key(name, key, &v, err);
	EVP_PKEY_free(key);
	if (rc < 0)
		return pal_err_wrap(err, rc, "vkey '%s': ", name);
	if (v->key_id != id) {
		pal_note_verifier_free(v);
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "vkey '%s': key ID %08x does not match "
				   "its key", name, id);
	}
	*out = v;
	return 0;
}

void
pal_note_verifier_free(struct pal_note_verifier *v)
{
	if (v == NULL)
		return;
	EVP_PKEY_free(v->key);
	free(v);
}
