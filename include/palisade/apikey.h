/*
 * apikey.h - the gateway's API keys: their format, their store, and the
 * check of an "Authorization: Bearer" header (docs/api-keys.md).
 *
 * A key is one string, shown to its owner once, at creation:
 *
 *     pal_<id>_<secret>
 *     pal_3f9c0a71be42_q9cO...(43 characters)
 *
 *   - id: 12 lowercase hex digits (48 random bits).  Public: it names the
 *     key in the store, in logs, in rate limits and in the admin API.
 *   - secret: 32 random bytes as unpadded base64url (RFC 4648 section 5),
 *     43 characters, the last one canonical (its two spare bits zero).
 *
 * The whole token is exactly PAL_APIKEY_TOKEN_LEN (60) characters.
 *
 * The store never holds a secret.  It holds, per key, a 16-byte random
 * salt and HMAC-SHA-256(salt, "palisade-apikey-v1" 0x00 id secret).  The
 * secret has 256 bits of entropy, so a slow password hash would buy
 * nothing (nobody can enumerate 2^256 candidates, slowly or quickly) and
 * would cost every request milliseconds; one HMAC costs about a
 * microsecond.  The salt makes each stored hash unique to its row (a hash
 * copied onto another row does not verify), and the id inside the MAC
 * binds the hash to its key.  Hashes are compared with CRYPTO_memcmp.
 *
 * The store is an SQLite file (WAL, busy timeout, synchronous=FULL, mode
 * 0600, never a symbolic link).  The gateway does not touch SQLite per
 * request: it loads an immutable snapshot (an id -> record hash table) at
 * start and whenever pal_apikey_store_changed() says another process or
 * this handle has written to the store (PRAGMA data_version), and checks
 * each request against the snapshot it holds.  A revocation made by
 * `palisade serve key revoke` is therefore in force as soon as the
 * gateway's next poll reloads the snapshot.
 *
 * What a client is told: every refusal here is a 401 "invalid API key",
 * whatever the reason (malformed header, unknown id, wrong secret,
 * expired, revoked), so that a client learns nothing about which keys
 * exist.  The reason (enum pal_apikey_status) is for the log only.
 *
 * Secrets: the token's text and decoded secret, and the MAC input, are
 * wiped (OPENSSL_cleanse) before the functions here return; a token
 * returned by pal_apikey_create() is the caller's to print once and wipe;
 * it is never logged and never in an error message.
 *
 * Thread safety: a store handle is used by one thread at a time (the
 * connection is opened SQLITE_OPEN_FULLMUTEX, but a handle's
 * change-detection state is not locked).  A snapshot is immutable and
 * may be read by any number of threads; its reference count is atomic.
 * struct pal_apikey_current (below) hands snapshots to event loops.
 */
#ifndef PALISADE_APIKEY_H
#define PALISADE_APIKEY_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"
#include "palisade/gwpolicy.h"

#define PAL_APIKEY_PREFIX	"pal_"
#define PAL_APIKEY_ID_LEN	12	/* lowercase hex digits */
#define PAL_APIKEY_SECRET_LEN	32	/* bytes */
#define PAL_APIKEY_SECRET_B64	43	/* base64url characters */
#define PAL_APIKEY_TOKEN_LEN	60	/* 4 + 12 + 1 + 43 */
#define PAL_APIKEY_SALT_LEN	16
#define PAL_APIKEY_HASH_LEN	32
#define PAL_APIKEY_OWNER_MAX	128	/* printable ASCII, no edge spaces */
#define PAL_APIKEY_ROLE_MAX	64	/* [A-Za-z0-9_.-] */
#define PAL_APIKEY_MAX_KEYS	(1u << 20) /* rows a snapshot holds */

/* ---- the token and the Authorization header ---- */

/* A parsed token.  secret is secret: pal_apikey_token_wipe() it. */
struct pal_apikey_token {
	char id[PAL_APIKEY_ID_LEN + 1];
	uint8_t secret[PAL_APIKEY_SECRET_LEN];
};

/*
 * Parses a token (exactly PAL_APIKEY_TOKEN_LEN bytes, not NUL-terminated
 * necessarily) into t.  Errors: PAL_ERR_FORMAT with the position and
 * what was expected there; the message never contains the token's bytes.
 * On failure t is wiped.
 */
int pal_apikey_token_parse(const char *s, size_t len,
			   struct pal_apikey_token *t, struct pal_err *err);

/*
 * Parses the value of an Authorization header field, as the HTTP parser
 * hands it over (leading and trailing whitespace already removed):
 * "Bearer" in any letter case, exactly one space (0x20), then a token as
 * above and nothing else.  len is bounded: a value longer than
 * PAL_APIKEY_HEADER_MAX is refused before it is looked at.  Errors as for
 * pal_apikey_token_parse, plus PAL_ERR_UNSUPPORTED for another scheme
 * (e.g. Basic).  On failure t is wiped.
 */
#define PAL_APIKEY_HEADER_MAX	(7 + PAL_APIKEY_TOKEN_LEN)
int pal_apikey_bearer_parse(const char *value, size_t len,
			    struct pal_apikey_token *t, struct pal_err *err);

/* Wipes t (OPENSSL_cleanse). */
void pal_apikey_token_wipe(struct pal_apikey_token *t);

/* ---- records ---- */

/* Which of a record's limits override its role's (a bitmask). */
enum {
	PAL_APIKEY_SET_RPM = 1u << 0,		/* requests_per_minute */
	PAL_APIKEY_SET_TPM = 1u << 1,		/* tokens_per_minute */
	PAL_APIKEY_SET_BURST = 1u << 2,		/* burst */
};

/* One key as the store and the snapshot hold it.  Plain data. */
struct pal_apikey_record {
	char id[PAL_APIKEY_ID_LEN + 1];
	char owner[PAL_APIKEY_OWNER_MAX + 1];
	char role[PAL_APIKEY_ROLE_MAX + 1];
	int64_t created;		/* Unix seconds */
	int64_t expires;		/* Unix seconds; 0: never */
	int64_t revoked;		/* Unix seconds of the revocation;
					   0: not revoked */
	struct pal_gw_limits limits;	/* the fields named in limits_set */
	unsigned limits_set;		/* PAL_APIKEY_SET_* */
	/* Filled in snapshots only; zero in pal_apikey_list/get results. */
	uint8_t salt[PAL_APIKEY_SALT_LEN];
	uint8_t hash[PAL_APIKEY_HASH_LEN];
};

/*
 * The limits in force for a key: each field the record overrides, the
 * role's (role may be NULL: then zero, unlimited) for the others.
 */
void pal_apikey_limits(const struct pal_apikey_record *r,
		       const struct pal_gw_limits *role,
		       struct pal_gw_limits *out);

/* ---- the store ---- */

struct pal_apikey_store;

enum {
	PAL_APIKEY_OPEN_CREATE = 1u << 0,	/* create the file (0600) and
						   table when missing */
	PAL_APIKEY_OPEN_READONLY = 1u << 1,	/* the gateway's view: load,
						   list, get, changed */
};

/*
 * Opens the store at path.  Refuses a symbolic link or anything but a
 * regular file.  Errors: PAL_ERR_IO (open, SQLite, schema),
 * PAL_ERR_INVALID (flags), PAL_ERR_NOMEM.  Caller closes.
 */
int pal_apikey_store_open(const char *path, unsigned flags,
			  struct pal_apikey_store **out, struct pal_err *err);

/* Closes the store; NULL is a no-op. */
void pal_apikey_store_close(struct pal_apikey_store *s);

/* What a new key is created with. */
struct pal_apikey_spec {
	const char *owner;		/* 1..PAL_APIKEY_OWNER_MAX, printable */
	const char *role;		/* 1..PAL_APIKEY_ROLE_MAX, [A-Za-z0-9_.-];
					   not checked against the
					   configuration here */
	int64_t expires;		/* Unix seconds, > now; 0: never */
	struct pal_gw_limits limits;	/* the fields named in limits_set */
	unsigned limits_set;		/* PAL_APIKEY_SET_* */
};

/*
 * Creates a key: draws its id, secret and salt (RAND_priv_bytes), stores
 * id, owner, role, created = now, expiry, limits, salt and hash, and
 * writes the token (NUL-terminated) into token: the only time it exists.
 * The caller shows it once and wipes it (OPENSSL_cleanse); it must never
 * be logged.  id receives the key's id.  Errors: PAL_ERR_INVALID (owner,
 * role, expiry), PAL_ERR_CRYPTO (randomness, HMAC), PAL_ERR_IO.  On
 * failure token is wiped.
 */
int pal_apikey_create(struct pal_apikey_store *s,
		      const struct pal_apikey_spec *spec, int64_t now,
		      char token[PAL_APIKEY_TOKEN_LEN + 1],
		      char id[PAL_APIKEY_ID_LEN + 1], struct pal_err *err);

/*
 * Revokes the key id at now (durably: the commit is fsynced).  Revoking a
 * revoked key succeeds and keeps the first revocation's time.  Errors:
 * PAL_ERR_INVALID (malformed id, or no such key), PAL_ERR_IO.
 */
int pal_apikey_revoke(struct pal_apikey_store *s, const char *id,
		      int64_t now, struct pal_err *err);

/*
 * The record of key id, without salt and hash.  Errors: PAL_ERR_INVALID
 * (malformed id, or no such key), PAL_ERR_FORMAT (a row that breaks the
 * rules above: the file was edited by hand), PAL_ERR_IO.
 */
int pal_apikey_get(struct pal_apikey_store *s, const char *id,
		   struct pal_apikey_record *out, struct pal_err *err);

/*
 * Every key, by creation time then id, without salts and hashes, into a
 * malloc'd array (caller frees with free()).  *n may be 0 (then *out is
 * NULL).  Errors as pal_apikey_get, and PAL_ERR_LIMIT above
 * PAL_APIKEY_MAX_KEYS rows.
 */
int pal_apikey_list(struct pal_apikey_store *s,
		    struct pal_apikey_record **out, size_t *n,
		    struct pal_err *err);

/* ---- snapshots: what the gateway checks requests against ---- */

struct pal_apikey_snapshot;

/*
 * Loads every key into a new snapshot (reference count 1).  Every row is
 * checked as pal_apikey_get does; one bad row fails the whole load (fail
 * closed: the caller keeps the snapshot it had).  Errors: PAL_ERR_FORMAT,
 * PAL_ERR_LIMIT, PAL_ERR_IO, PAL_ERR_NOMEM.
 */
int pal_apikey_snapshot_load(struct pal_apikey_store *s,
			     struct pal_apikey_snapshot **out,
			     struct pal_err *err);

/*
 * Sets *changed to 1 when the store may differ from what snap was loaded
 * from (a commit by another connection or process, or a write through
 * this handle since), else 0.  Cheap (one PRAGMA, no table read): meant
 * to be polled, e.g. once a second.  A snapshot loaded through another
 * handle (or NULL) always reads as changed: the stamp means something
 * only to the connection it was read from.  A false positive is possible
 * (then a reload finds the same rows); a false negative is not.  Errors:
 * PAL_ERR_IO.
 */
int pal_apikey_store_changed(struct pal_apikey_store *s,
			     const struct pal_apikey_snapshot *snap,
			     int *changed, struct pal_err *err);

/* Reference counting (atomic).  unref(NULL) is a no-op. */
struct pal_apikey_snapshot *
pal_apikey_snapshot_ref(struct pal_apikey_snapshot *snap);
void pal_apikey_snapshot_unref(struct pal_apikey_snapshot *snap);

/* Number of keys in snap. */
size_t pal_apikey_snapshot_count(const struct pal_apikey_snapshot *snap);

/* The record of id (NUL-terminated), or NULL.  Valid while snap is. */
const struct pal_apikey_record *
pal_apikey_snapshot_find(const struct pal_apikey_snapshot *snap,
			 const char *id);

/* Why a key was refused: for the log, never for the client. */
enum pal_apikey_status {
	PAL_APIKEY_OK = 0,
	PAL_APIKEY_MALFORMED,		/* no Bearer token of our format */
	PAL_APIKEY_UNKNOWN,		/* no key with this id */
	PAL_APIKEY_WRONG_SECRET,	/* the id exists, the secret is wrong */
	PAL_APIKEY_REVOKED,		/* right secret, key revoked */
	PAL_APIKEY_EXPIRED,		/* right secret, key expired */
};

/* A short name of a status for logs ("wrong-secret"); never NULL. */
const char *pal_apikey_status_name(enum pal_apikey_status st);

/* The one message a client is given for every refusal here (401). */
#define PAL_APIKEY_CLIENT_MESSAGE "invalid API key"

/* The outcome of a check. */
struct pal_apikey_result {
	enum pal_apikey_status status;
	char id[PAL_APIKEY_ID_LEN + 1];	/* the id presented, "" when the
					   header did not parse; public */
	const struct pal_apikey_record *record;	/* when PAL_APIKEY_OK: in
					   the snapshot, valid while it is */
};

/*
 * Checks a parsed token against snap at now (Unix seconds).  The order
 * is: find the id, check the secret (an unknown id costs the same HMAC
 * as a known one), then revocation, then expiry (expired when now >=
 * expires), so that only a holder of the secret ever learns, even from
 * the log, that a key is revoked or expired.  Returns 0 when the key is
 * good, PAL_ERR_VERIFY otherwise with res->status saying why and err
 * naming the key id (never the secret), PAL_ERR_CRYPTO when the HMAC
 * cannot be computed.  t is not modified (the caller wipes it).
 */
int pal_apikey_verify(const struct pal_apikey_snapshot *snap,
		      const struct pal_apikey_token *t, int64_t now,
		      struct pal_apikey_result *res, struct pal_err *err);

/*
 * pal_apikey_bearer_parse then pal_apikey_verify, wiping the parsed
 * token before returning.  value NULL (no Authorization header) is
 * PAL_APIKEY_MALFORMED.  Returns 0 or PAL_ERR_VERIFY / PAL_ERR_CRYPTO as
 * pal_apikey_verify; every refusal is a 401 PAL_APIKEY_CLIENT_MESSAGE.
 */
int pal_apikey_authenticate(const struct pal_apikey_snapshot *snap,
			    const char *value, size_t len, int64_t now,
			    struct pal_apikey_result *res,
			    struct pal_err *err);

/*
 * ---- handing snapshots to event loops ----
 *
 * One struct pal_apikey_current holds the snapshot in force.  The thread
 * that reloads calls pal_apikey_current_set(); each event loop keeps a
 * struct pal_apikey_view and calls pal_apikey_view_refresh() before it
 * handles a request: when nothing changed that is one atomic load, with
 * no lock and no shared write.  A record found through a view stays
 * valid until that view's next refresh or release; a connection that
 * needs it longer copies what it needs or takes its own reference.
 */
struct pal_apikey_current;

struct pal_apikey_view {
	struct pal_apikey_snapshot *snap;	/* a reference, or NULL */
	uint64_t gen;
};

/* Errors: PAL_ERR_NOMEM, PAL_ERR_SYSTEM.  Caller frees. */
int pal_apikey_current_new(struct pal_apikey_current **out,
			   struct pal_err *err);

/* Drops the snapshot held; NULL is a no-op.  Views must be released. */
void pal_apikey_current_free(struct pal_apikey_current *c);

/* Puts snap in force, taking over the caller's reference to it. */
void pal_apikey_current_set(struct pal_apikey_current *c,
			    struct pal_apikey_snapshot *snap);

/*
 * Brings v up to date with c and returns the snapshot in force (NULL
 * until one was set).  Thread-safe against pal_apikey_current_set; a
 * view itself belongs to one thread.  Initialize a view with zeros.
 */
const struct pal_apikey_snapshot *
pal_apikey_view_refresh(struct pal_apikey_view *v,
			struct pal_apikey_current *c);

/* Drops v's reference. */
void pal_apikey_view_release(struct pal_apikey_view *v);

#endif
