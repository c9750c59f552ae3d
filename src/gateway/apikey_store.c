/*
 * apikey_store.c - the API key store: one SQLite table, written by the
 * key commands (create, revoke) and read by the gateway (list, get, and
 * snapshots, in apikey_snapshot.c).
 *
 * The file is trusted as far as its permissions (0600, the operator's):
 * still, every row read back is checked against the same rules as a new
 * key, so that a hand-edited or damaged file is refused by name rather
 * than served, and the connection runs in SQLite's defensive mode with
 * untrusted schema, so that the file cannot make us run its SQL.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "palisade/encoding.h"
#include "palisade/sqlite_file.h"
#include "apikey_int.h"

#define BUSY_TIMEOUT_MS 5000

static atomic_uint_fast64_t serials;
#define ID_ATTEMPTS 4

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS api_keys ("
	" id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 12),"
	" owner TEXT NOT NULL,"
	" role TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" expires INTEGER,"			/* NULL: never */
	" revoked INTEGER,"			/* NULL: not revoked */
	" requests_per_minute INTEGER,"		/* NULL: the role's */
	" tokens_per_minute INTEGER,"
	" burst INTEGER,"
	" salt BLOB NOT NULL CHECK (length(salt) = 16),"
	" hash BLOB NOT NULL CHECK (length(hash) = 32)"
	") WITHOUT ROWID";

#define COLUMNS "id, owner, role, created, expires, revoked, " \
	"requests_per_minute, tokens_per_minute, burst, salt, hash"

int
apikey_db_fail(struct pal_apikey_store *s, int code, const char *what,
	       struct pal_err *err)
{
	return pal_err_set(err, code, "%s: %s: %s", s->path, what,
			   sqlite3_errmsg(s->db));
}

static int
exec(struct pal_apikey_store *s, const char *sql, struct pal_err *err)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return apikey_db_fail(s, PAL_ERR_IO, sql, err);
	return 0;
}

static int
set_journal_wal(struct pal_apikey_store *s, struct pal_err *err)
{
	return pal_sqlite_wal(s->db) ? 0
		: apikey_db_fail(s, PAL_ERR_IO, "cannot use WAL journaling",
				 err);
}

static int
configure(struct pal_apikey_store *s, struct pal_err *err)
{
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) !=
	    SQLITE_OK ||
	    sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
			      NULL) != SQLITE_OK ||
	    sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0,
			      NULL) != SQLITE_OK)
		return apikey_db_fail(s, PAL_ERR_IO, "cannot configure", err);
	if (s->readonly)
		return 0;
	int rc = set_journal_wal(s, err);
	if (rc == 0)
		rc = exec(s, "PRAGMA synchronous=FULL", err);
	if (rc == 0)
		rc = exec(s, schema, err);
	return rc;
}

int
pal_apikey_store_open(const char *path, unsigned flags,
		      struct pal_apikey_store **out, struct pal_err *err)
{
	unsigned known = PAL_APIKEY_OPEN_CREATE | PAL_APIKEY_OPEN_READONLY;

	*out = NULL;
	if ((flags & ~known) != 0 ||
	    (flags & known) == known)
		return pal_err_set(err, PAL_ERR_INVALID, "%s: bad open flags "
				   "0x%x", path, flags);
	int rc = pal_sqlite_file_check(path,
				       (flags & PAL_APIKEY_OPEN_CREATE) != 0,
				       err);
	if (rc < 0)
		return rc;
	struct pal_apikey_store *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	s->readonly = (flags & PAL_APIKEY_OPEN_READONLY) != 0;
	s->serial = atomic_fetch_add(&serials, 1) + 1;
	int oflags = SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX |
		(s->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
	if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK)
		rc = apikey_db_fail(s, PAL_ERR_IO, "cannot open the database",
				    err);
	if (rc == 0)
		rc = configure(s, err);
	if (rc < 0) {
		pal_apikey_store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
pal_apikey_store_close(struct pal_apikey_store *s)
{
	if (s == NULL)
		return;
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

void
pal_apikey_limits(const struct pal_apikey_record *r,
		  const struct pal_gw_limits *role, struct pal_gw_limits *out)
{
	static const struct pal_gw_limits none;

	*out = role != NULL ? *role : none;
	if (r->limits_set & PAL_APIKEY_SET_RPM)
		out->requests_per_minute = r->limits.requests_per_minute;
	if (r->limits_set & PAL_APIKEY_SET_TPM)
		out->tokens_per_minute = r->limits.tokens_per_minute;
	if (r->limits_set & PAL_APIKEY_SET_BURST)
		out->burst = r->limits.burst;
}

/* ---- reading rows ---- */

/* Copies text column i into dst (cap bytes with the NUL) if valid. */
static int
column_text(sqlite3_stmt *st, int i, char *dst, size_t cap,
	    int (*valid)(const char *, size_t))
{
	const unsigned char *t = sqlite3_column_text(st, i);
	int n = sqlite3_column_bytes(st, i);

	if (sqlite3_column_type(st, i) != SQLITE_TEXT || t == NULL ||
	    n < 0 || (size_t)n >= cap || memchr(t, '\0', (size_t)n) != NULL ||
	    !valid((const char *)t, (size_t)n))
		return -1;
	memcpy(dst, t, (size_t)n);
	dst[n] = '\0';
	return 0;
}

static int
valid_id(const char *s, size_t n)
{
	char buf[PAL_APIKEY_ID_LEN + 1];

	if (n != PAL_APIKEY_ID_LEN)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return apikey_id_valid(buf);
}

/* An integer column in [lo, hi]; NULL gives *v = 0 and *null = 1. */
static int
column_int(sqlite3_stmt *st, int i, int64_t lo, int64_t hi, int64_t *v,
	   int *null)
{
	*v = 0;
	*null = sqlite3_column_type(st, i) == SQLITE_NULL;
	if (*null)
		return 0;
	if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
		return -1;
	*v = sqlite3_column_int64(st, i);
	return *v >= lo && *v <= hi ? 0 : -1;
}

static int
column_blob(sqlite3_stmt *st, int i, uint8_t *dst, size_t n)
{
	const void *b = sqlite3_column_blob(st, i);

	if (sqlite3_column_type(st, i) != SQLITE_BLOB || b == NULL ||
	    (size_t)sqlite3_column_bytes(st, i) != n)
		return -1;
	memcpy(dst, b, n);
	return 0;
}

static int
column_limits(sqlite3_stmt *st, struct pal_apikey_record *r)
{
	uint32_t *field[] = {
		&r->limits.requests_per_minute, &r->limits.tokens_per_minute,
		&r->limits.burst,
	};
	unsigned bit[] = {
		PAL_APIKEY_SET_RPM, PAL_APIKEY_SET_TPM, PAL_APIKEY_SET_BURST,
	};

	for (int k = 0; k < 3; k++) {
		int64_t v;
		int null;

		if (column_int(st, 6 + k, 0, UINT32_MAX, &v, &null) < 0)
			return -1;
		*field[k] = (uint32_t)v;
		if (!null)
			r->limits_set |= bit[k];
	}
	return 0;
}

/* Reads and checks one row of COLUMNS; which names what was wrong. */
static int
read_row(sqlite3_stmt *st, struct pal_apikey_record *r, int secrets,
	 const char **which)
{
	int null;

	memset(r, 0, sizeof(*r));
	*which = "id";
	if (column_text(st, 0, r->id, sizeof(r->id), valid_id) < 0)
		return -1;
	*which = "owner";
	if (column_text(st, 1, r->owner, sizeof(r->owner),
			apikey_owner_valid) < 0)
		return -1;
	*which = "role";
	if (column_text(st, 2, r->role, sizeof(r->role),
			apikey_role_valid) < 0)
		return -1;
	*which = "created";
	if (column_int(st, 3, 0, INT64_MAX, &r->created, &null) < 0 || null)
		return -1;
	*which = "expires";
	if (column_int(st, 4, 1, INT64_MAX, &r->expires, &null) < 0)
		return -1;
	*which = "revoked";
	if (column_int(st, 5, 1, INT64_MAX, &r->revoked, &null) < 0)
		return -1;
	*which = "limits";
	if (column_limits(st, r) < 0)
		return -1;
	*which = "salt";
	if (column_blob(st, 9, r->salt, sizeof(r->salt)) < 0)
		return -1;
	*which = "hash";
	if (column_blob(st, 10, r->hash, sizeof(r->hash)) < 0)
		return -1;
	if (!secrets) {
		memset(r->salt, 0, sizeof(r->salt));
		memset(r->hash, 0, sizeof(r->hash));
	}
	return 0;
}

int
apikey_select(struct pal_apikey_store *s, const char *id, int secrets,
	      int (*each)(void *, const struct pal_apikey_record *),
	      void *arg, struct pal_err *err)
{
	static const char all[] = "SELECT " COLUMNS " FROM api_keys "
		"ORDER BY created, id";
	static const char one[] = "SELECT " COLUMNS " FROM api_keys "
		"WHERE id = ?1";
	struct pal_apikey_record r;
	sqlite3_stmt *st = NULL;
	const char *which = NULL;
	int rc = 0, step;

	if (sqlite3_prepare_v2(s->db, id ? one : all, -1, &st, NULL) !=
	    SQLITE_OK ||
	    (id != NULL &&
	     sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) != SQLITE_OK)) {
		sqlite3_finalize(st);
		return apikey_db_fail(s, PAL_ERR_IO, "cannot read the keys",
				      err);
	}
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (read_row(st, &r, secrets, &which) < 0)
			rc = pal_err_set(err, PAL_ERR_FORMAT, "%s: key %s: "
					 "bad %s", s->path, r.id[0] ?
					 r.id : "(bad id)", which);
		else
			rc = each(arg, &r);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = apikey_db_fail(s, PAL_ERR_IO, "cannot read the keys",
				    err);
	sqlite3_finalize(st);
	OPENSSL_cleanse(&r, sizeof(r));
	return rc;
}

/* ---- get and list ---- */

struct get_ctx {
	struct pal_apikey_record *out;
	int found;
};

static int
get_one(void *arg, const struct pal_apikey_record *r)
{
	struct get_ctx *g = arg;

	*g->out = *r;
	g->found = 1;
	return 0;
}

int
pal_apikey_get(struct pal_apikey_store *s, const char *id,
	       struct pal_apikey_record *out, struct pal_err *err)
{
	struct get_ctx g = { out, 0 };

	memset(out, 0, sizeof(*out));
	if (id == NULL || !apikey_id_valid(id))
		return pal_err_set(err, PAL_ERR_INVALID, "not a key id (12 "
				   "lowercase hex digits)");
	int rc = apikey_select(s, id, 0, get_one, &g, err);
	if (rc == 0 && !g.found)
		rc = pal_err_set(err, PAL_ERR_INVALID, "%s: no key %s",
				 s->path, id);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

struct list_ctx {
	struct pal_apikey_record *v;
	size_t n, cap;
	struct pal_err *err;
};

static int
list_one(void *arg, const struct pal_apikey_record *r)
{
	struct list_ctx *l = arg;

	if (l->n == PAL_APIKEY_MAX_KEYS)
		return pal_err_set(l->err, PAL_ERR_LIMIT, "more than %u keys",
				   PAL_APIKEY_MAX_KEYS);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->v, cap * sizeof(*l->v));

		if (p == NULL)
			return pal_err_set(l->err, PAL_ERR_NOMEM,
					   "out of memory");
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = *r;
	return 0;
}

int
pal_apikey_list(struct pal_apikey_store *s, struct pal_apikey_record **out,
		size_t *n, struct pal_err *err)
{
	struct list_ctx l = { NULL, 0, 0, err };

	*out = NULL;
	*n = 0;
	int rc = apikey_select(s, NULL, 0, list_one, &l, err);
	if (rc < 0) {
		free(l.v);
		return rc;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

/* ---- create and revoke ---- */

static int
check_spec(const struct pal_apikey_spec *spec, int64_t now,
	   struct pal_err *err)
{
	if (spec->owner == NULL ||
	    !apikey_owner_valid(spec->owner, strlen(spec->owner)))
		return pal_err_set(err, PAL_ERR_INVALID, "owner: 1 to %d "
				   "printable ASCII characters, no leading or "
				   "trailing space", PAL_APIKEY_OWNER_MAX);
	if (spec->role == NULL ||
	    !apikey_role_valid(spec->role, strlen(spec->role)))
		return pal_err_set(err, PAL_ERR_INVALID, "role: 1 to %d of "
				   "A-Z a-z 0-9 _ . -", PAL_APIKEY_ROLE_MAX);
	if (spec->expires != 0 && spec->expires <= now)
		return pal_err_set(err, PAL_ERR_INVALID, "expiry %lld is not "
				   "in the future", (long long)spec->expires);
	if (now < 0 || (spec->limits_set & ~7u) != 0)
		return pal_err_set(err, PAL_ERR_INVALID, "bad clock or limits");
	return 0;
}

static int
bind_opt(sqlite3_stmt *st, int i, int set, int64_t v)
{
	return set ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

/* Inserts the row; 1 when the id is taken already. */
static int
insert(struct pal_apikey_store *s, const struct pal_apikey_spec *spec,
       const char *id, int64_t now, const uint8_t *salt,
       const uint8_t *hash, struct pal_err *err)
{
	sqlite3_stmt *st = NULL;
	unsigned set = spec->limits_set;
	int ok = sqlite3_prepare_v2(s->db, "INSERT INTO api_keys (" COLUMNS
				    ") VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, "
				    "?7, ?8, ?9, ?10)", -1, &st, NULL) ==
		SQLITE_OK &&
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) == SQLITE_OK &&
		sqlite3_bind_text(st, 2, spec->owner, -1, SQLITE_STATIC) ==
		SQLITE_OK &&
		sqlite3_bind_text(st, 3, spec->role, -1, SQLITE_STATIC) ==
		SQLITE_OK &&
		sqlite3_bind_int64(st, 4, now) == SQLITE_OK &&
		bind_opt(st, 5, spec->expires != 0, spec->expires) ==
		SQLITE_OK &&
		bind_opt(st, 6, set & PAL_APIKEY_SET_RPM,
			 spec->limits.requests_per_minute) == SQLITE_OK &&
		bind_opt(st, 7, set & PAL_APIKEY_SET_TPM,
			 spec->limits.tokens_per_minute) == SQLITE_OK &&
		bind_opt(st, 8, set & PAL_APIKEY_SET_BURST,
			 spec->limits.burst) == SQLITE_OK &&
		sqlite3_bind_blob(st, 9, salt, PAL_APIKEY_SALT_LEN,
				  SQLITE_STATIC) == SQLITE_OK &&
		sqlite3_bind_blob(st, 10, hash, PAL_APIKEY_HASH_LEN,
				  SQLITE_STATIC) == SQLITE_OK;
	int step = ok ? sqlite3_step(st) : SQLITE_ERROR;

	sqlite3_finalize(st);
	if (step == SQLITE_CONSTRAINT_PRIMARYKEY)
		return 1;
	if (step != SQLITE_DONE)
		return apikey_db_fail(s, PAL_ERR_IO, "cannot store the key",
				      err);
	return 0;
}

/* Draws a fresh id, secret and salt, and computes the stored hash. */
static int
draw_key(char id[PAL_APIKEY_ID_LEN + 1], uint8_t *secret, uint8_t *salt,
	 uint8_t *hash, struct pal_err *err)
{
	uint8_t raw[PAL_APIKEY_ID_LEN / 2];

	if (RAND_bytes(raw, sizeof(raw)) != 1 ||
	    RAND_priv_bytes(secret, PAL_APIKEY_SECRET_LEN) != 1 ||
	    RAND_bytes(salt, PAL_APIKEY_SALT_LEN) != 1)
		return pal_err_set(err, PAL_ERR_CRYPTO, "no random bytes");
	pal_hex_encode(raw, sizeof(raw), id);
	return apikey_mac(salt, id, secret, hash, err);
}

int
pal_apikey_create(struct pal_apikey_store *s,
		  const struct pal_apikey_spec *spec, int64_t now,
		  char token[PAL_APIKEY_TOKEN_LEN + 1],
		  char id[PAL_APIKEY_ID_LEN + 1], struct pal_err *err)
{
	uint8_t secret[PAL_APIKEY_SECRET_LEN];
	uint8_t salt[PAL_APIKEY_SALT_LEN], hash[PAL_APIKEY_HASH_LEN];
	int rc = 1;

	OPENSSL_cleanse(token, PAL_APIKEY_TOKEN_LEN + 1);
	id[0] = '\0';
	if (s->readonly)
		return pal_err_set(err, PAL_ERR_INVALID, "%s: opened read-only",
				   s->path);
	int bad = check_spec(spec, now, err);
	if (bad < 0)
		return bad;
	/* 48-bit ids collide rarely; the primary key catches it. */
	for (int i = 0; rc == 1 && i < ID_ATTEMPTS; i++) {
		rc = draw_key(id, secret, salt, hash, err);
		if (rc == 0)
			rc = insert(s, spec, id, now, salt, hash, err);
	}
	if (rc == 1)
		rc = pal_err_set(err, PAL_ERR_IO, "%s: no free key id after %d "
				 "attempts", s->path, ID_ATTEMPTS);
	if (rc == 0)
		apikey_token_format(id, secret, token);
	else
		id[0] = '\0';
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

int
pal_apikey_revoke(struct pal_apikey_store *s, const char *id, int64_t now,
		  struct pal_err *err)
{
	sqlite3_stmt *st = NULL;
	struct pal_apikey_record r;

	if (s->readonly)
		return pal_err_set(err, PAL_ERR_INVALID, "%s: opened read-only",
				   s->path);
	if (now <= 0)
		return pal_err_set(err, PAL_ERR_INVALID, "bad clock");
	int rc = pal_apikey_get(s, id, &r, err);
	if (rc < 0)
		return rc;
	/* Only the first revocation's time is kept. */
	int ok = sqlite3_prepare_v2(s->db, "UPDATE api_keys SET revoked = ?1 "
				    "WHERE id = ?2 AND revoked IS NULL", -1,
				    &st, NULL) == SQLITE_OK &&
		sqlite3_bind_int64(st, 1, now) == SQLITE_OK &&
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC) == SQLITE_OK &&
		sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	if (!ok)
		return apikey_db_fail(s, PAL_ERR_IO, "cannot revoke the key",
				      err);
	return 0;
}
