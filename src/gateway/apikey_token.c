/*
 * apikey_token.c - the API key's text form and the Authorization header.
 *
 * Everything here reads bytes a client sent.  The format is fixed-length
 * and positional ("pal_" id "_" secret), so the parser is a handful of
 * bounds-checked position tests rather than a grammar; nothing is copied
 * before the length is known to be exactly right.  The secret's base64url
 * is decoded in constant time (no branch or table lookup on its bytes, as
 * WireGuard decodes keys) so that the time a check takes says nothing
 * about the secret presented; error messages give positions, never bytes.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>

#include "apikey_int.h"

#define ID_OFF		4
#define SEP_OFF		(ID_OFF + PAL_APIKEY_ID_LEN)
#define SECRET_OFF	(SEP_OFF + 1)
#define SCHEME		"bearer "
#define SCHEME_LEN	7
#define MAC_TAG		"palisade-apikey-v1"

/*
 * The value of a base64url digit, or -1, without branches: each term is
 * the digit's value plus one when c is in its range and 0 otherwise (the
 * range test is the sign of (lo - 1 - c) & (c - hi - 1)).
 */
static int
b64url_value(int c)
{
	return -1 +
		(((('A' - 1) - c) & (c - ('Z' + 1))) >> 8 & (c - 64)) +
		(((('a' - 1) - c) & (c - ('z' + 1))) >> 8 & (c - 70)) +
		(((('0' - 1) - c) & (c - ('9' + 1))) >> 8 & (c + 5)) +
		(((('-' - 1) - c) & (c - ('-' + 1))) >> 8 & 63) +
		(((('_' - 1) - c) & (c - ('_' + 1))) >> 8 & 64);
}

/* The base64url digit of v (0..63), without branches or tables. */
static char
b64url_digit(unsigned v)
{
	int d = (int)v;
	int c = 'A' + d;

	c += ((25 - d) >> 8) & 6;	/* 26..51: 'a'.. */
	c -= ((51 - d) >> 8) & 75;	/* 52..61: '0'.. */
	c -= ((61 - d) >> 8) & 13;	/* 62: '-' */
	c += ((62 - d) >> 8) & 49;	/* 63: '_' */
	return (char)c;
}

/*
 * Decodes the 43 digits of a secret into 32 bytes.  Returns 0 when every
 * digit is base64url and the last one's two spare bits are zero, else a
 * negative value; the work done does not depend on the digits.
 */
static int
secret_decode(const char *s, uint8_t out[PAL_APIKEY_SECRET_LEN])
{
	int bad = 0;
	size_t o = 0;

	for (size_t i = 0; i + 4 <= PAL_APIKEY_SECRET_B64; i += 4) {
		int v = 0;

		for (size_t k = 0; k < 4; k++) {
			int d = b64url_value((unsigned char)s[i + k]);
			bad |= d;
			v |= (d & 63) << (18 - 6 * k);
		}
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	/* The last 3 digits: 18 bits, 16 of them data. */
	int v = 0;
	for (size_t k = 0; k < 3; k++) {
		int d = b64url_value((unsigned char)s[40 + k]);
		bad |= d;
		v |= (d & 63) << (12 - 6 * k);
	}
	bad |= -(v & 3);
	out[o++] = (uint8_t)(v >> 10);
	out[o] = (uint8_t)(v >> 2);
	return bad < 0 ? -1 : 0;
}

/* The first non-base64url position of a secret known to be bad, or -1. */
static int
secret_bad_position(const char *s)
{
	for (int i = 0; i < PAL_APIKEY_SECRET_B64; i++)
		if (b64url_value((unsigned char)s[i]) < 0)
			return i;
	return -1;
}

static int
is_lower_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int
apikey_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < PAL_APIKEY_ID_LEN; i++)
		if (!is_lower_hex((unsigned char)s[i]))
			return 0;
	return s[i] == '\0';
}

int
apikey_owner_valid(const char *s, size_t n)
{
	if (n == 0 || n > PAL_APIKEY_OWNER_MAX || s[0] == ' ' ||
	    s[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

int
apikey_role_valid(const char *s, size_t n)
{
	if (n == 0 || n > PAL_APIKEY_ROLE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

void
pal_apikey_token_wipe(struct pal_apikey_token *t)
{
	OPENSSL_cleanse(t, sizeof(*t));
}

static int
token_fail(struct pal_apikey_token *t, struct pal_err *err,
	   const char *what, size_t pos)
{
	pal_apikey_token_wipe(t);
	return pal_err_set(err, PAL_ERR_FORMAT, "API key: %s at byte %zu",
			   what, pos);
}

int
pal_apikey_token_parse(const char *s, size_t len, struct pal_apikey_token *t,
		       struct pal_err *err)
{
	memset(t, 0, sizeof(*t));
	if (len != PAL_APIKEY_TOKEN_LEN) {
		pal_apikey_token_wipe(t);
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "API key: %zu bytes (a key has %d)", len,
				   PAL_APIKEY_TOKEN_LEN);
	}
	if (memcmp(s, PAL_APIKEY_PREFIX, ID_OFF) != 0)
		return token_fail(t, err, "no \"pal_\" prefix", 0);
	for (size_t i = 0; i < PAL_APIKEY_ID_LEN; i++) {
		if (!is_lower_hex((unsigned char)s[ID_OFF + i]))
			return token_fail(t, err,
					  "key id not lowercase hex",
					  ID_OFF + i);
		t->id[i] = s[ID_OFF + i];
	}
	t->id[PAL_APIKEY_ID_LEN] = '\0';
	if (s[SEP_OFF] != '_')
		return token_fail(t, err, "no '_' after the key id", SEP_OFF);
	if (secret_decode(s + SECRET_OFF, t->secret) < 0) {
		int pos = secret_bad_position(s + SECRET_OFF);

		if (pos < 0)
			return token_fail(t, err, "secret not canonical "
					  "base64url", PAL_APIKEY_TOKEN_LEN - 1);
		return token_fail(t, err, "secret not base64url",
				  SECRET_OFF + (size_t)pos);
	}
	return 0;
}

int
pal_apikey_bearer_parse(const char *value, size_t len,
			struct pal_apikey_token *t, struct pal_err *err)
{
	memset(t, 0, sizeof(*t));
	if (len > PAL_APIKEY_HEADER_MAX)
		return pal_err_set(err, PAL_ERR_FORMAT, "Authorization: %zu "
				   "bytes (at most %d)", len,
				   PAL_APIKEY_HEADER_MAX);
	if (len < SCHEME_LEN)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "Authorization: not the Bearer scheme");
	for (size_t i = 0; i < SCHEME_LEN; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)SCHEME[i])
			return pal_err_set(err, PAL_ERR_UNSUPPORTED,
					   "Authorization: not the Bearer "
					   "scheme");
	}
	int rc = pal_apikey_token_parse(value + SCHEME_LEN, len - SCHEME_LEN,
					t, err);
	if (rc < 0)
		pal_err_wrap(err, rc, "Authorization: ");
	return rc;
}

void
apikey_token_format(const char *id,
		    const uint8_t secret[PAL_APIKEY_SECRET_LEN],
		    char token[PAL_APIKEY_TOKEN_LEN + 1])
{
	size_t o = SECRET_OFF;

	memcpy(token, PAL_APIKEY_PREFIX, ID_OFF);
	memcpy(token + ID_OFF, id, PAL_APIKEY_ID_LEN);
	token[SEP_OFF] = '_';
	for (size_t i = 0; i + 3 <= PAL_APIKEY_SECRET_LEN; i += 3) {
		unsigned v = (unsigned)secret[i] << 16 |
			(unsigned)secret[i + 1] << 8 | secret[i + 2];

		token[o++] = b64url_digit(v >> 18);
		token[o++] = b64url_digit((v >> 12) & 63);
		token[o++] = b64url_digit((v >> 6) & 63);
		token[o++] = b64url_digit(v & 63);
	}
	unsigned v = (unsigned)secret[30] << 16 | (unsigned)secret[31] << 8;
	token[o++] = b64url_digit(v >> 18);
	token[o++] = b64url_digit((v >> 12) & 63);
	token[o++] = b64url_digit((v >> 6) & 63);
	token[o] = '\0';
}

/*
 * One HMAC-SHA-256 context, digest set and no key, made once for the
 * process and copied per check: setting the digest by name fetches it
 * from OpenSSL's algorithm cache under a lock, which every request would
 * otherwise do.  A copy is re-keyed with the salt and used once.
 */
static EVP_MAC_CTX *hmac_template;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void
hmac_setup(void)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 digest, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;

	EVP_MAC_free(mac);	/* the context holds its own reference */
	if (ctx != NULL && EVP_MAC_CTX_set_params(ctx, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	hmac_template = ctx;
}

int
apikey_mac(const uint8_t salt[PAL_APIKEY_SALT_LEN], const char *id,
	   const uint8_t secret[PAL_APIKEY_SECRET_LEN],
	   uint8_t out[PAL_APIKEY_HASH_LEN], struct pal_err *err)
{
	uint8_t msg[sizeof(MAC_TAG) + PAL_APIKEY_ID_LEN +
		    PAL_APIKEY_SECRET_LEN];
	EVP_MAC_CTX *ctx = NULL;
	size_t outl = 0;
	int ok;

	pthread_once(&hmac_once, hmac_setup);
	/* The tag's terminating NUL separates it from the id. */
	memcpy(msg, MAC_TAG, sizeof(MAC_TAG));
	memcpy(msg + sizeof(MAC_TAG), id, PAL_APIKEY_ID_LEN);
	memcpy(msg + sizeof(MAC_TAG) + PAL_APIKEY_ID_LEN, secret,
	       PAL_APIKEY_SECRET_LEN);
	ok = hmac_template != NULL &&
		(ctx = EVP_MAC_CTX_dup(hmac_template)) != NULL &&
		EVP_MAC_init(ctx, salt, PAL_APIKEY_SALT_LEN, NULL) == 1 &&
		EVP_MAC_update(ctx, msg, sizeof(msg)) == 1 &&
		EVP_MAC_final(ctx, out, &outl, PAL_APIKEY_HASH_LEN) == 1 &&
		outl == PAL_APIKEY_HASH_LEN;
	EVP_MAC_CTX_free(ctx);
	OPENSSL_cleanse(msg, sizeof(msg));
	if (!ok) {
		OPENSSL_cleanse(out, PAL_APIKEY_HASH_LEN);
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "API key: HMAC-SHA-256 failed");
	}
	return 0;
}
