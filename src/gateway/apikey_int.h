/*
 * apikey_int.h - what the API key files share: the MAC that the store
 * keeps instead of a secret, the token's encoding, and the rules for the
 * text fields of a record.  Not part of the public API.
 */
#ifndef PAL_APIKEY_INT_H
#define PAL_APIKEY_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "palisade/apikey.h"

struct pal_apikey_store {
	sqlite3 *db;
	char *path;
	int readonly;
	uint64_t serial;	/* unique per handle in the process: a
				   snapshot's stamp means something only to
				   the connection it was read from */
};

/* Records code with the path, what failed and SQLite's message. */
int apikey_db_fail(struct pal_apikey_store *s, int code, const char *what,
		   struct pal_err *err);

/*
 * Reads every row (id NULL) or the row of id, checks each, and calls
 * each(arg, record) per row until it returns non-zero (returned).  With
 * secrets 0 the salt and hash are left zero.  PAL_ERR_FORMAT names a bad
 * row and column; PAL_ERR_IO for SQLite.
 */
int apikey_select(struct pal_apikey_store *s, const char *id, int secrets,
		  int (*each)(void *, const struct pal_apikey_record *),
		  void *arg, struct pal_err *err);

/*
 * HMAC-SHA-256 keyed with salt over "palisade-apikey-v1" 0x00 id secret.
 * The input is built on the stack and wiped.  0 or PAL_ERR_CRYPTO.
 */
int apikey_mac(const uint8_t salt[PAL_APIKEY_SALT_LEN], const char *id,
	       const uint8_t secret[PAL_APIKEY_SECRET_LEN],
	       uint8_t out[PAL_APIKEY_HASH_LEN], struct pal_err *err);

/* Writes "pal_<id>_<base64url secret>" and a NUL into token. */
void apikey_token_format(const char *id,
			 const uint8_t secret[PAL_APIKEY_SECRET_LEN],
			 char token[PAL_APIKEY_TOKEN_LEN + 1]);

/* 1 when s (NUL-terminated) is a well-formed id. */
int apikey_id_valid(const char *s);

/* 1 when s (n bytes, NUL-free) is a valid owner, respectively role. */
int apikey_owner_valid(const char *s, size_t n);
int apikey_role_valid(const char *s, size_t n);

#endif
