/*
 * test_apikey.c - API keys through a real SQLite file under $PAL_TEST_TMP:
 * the token's format (decoded against known base64url), the stored hash
 * recomputed independently with OpenSSL's HMAC, create / verify / revoke /
 * expire, a second handle's revocation seen by the first one's snapshot
 * after a reload, every malformed header form refused, a hand-edited row
 * refused by name, and snapshots handed to threads through a view.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include "palisade/apikey.h"

#define NOW 1700000000
#define BEARER "Bearer "

static char db_path[4096];

static void
fresh_path(const char *name)
{
	const char *tmp = getenv("PAL_TEST_TMP");
	char side[4200];

	if (tmp == NULL)
		tmp = "/tmp";
	mkdir(tmp, 0700);
	snprintf(db_path, sizeof(db_path), "%s/apikey-%d-%s.db", tmp,
		 (int)getpid(), name);
	unlink(db_path);
	snprintf(side, sizeof(side), "%s-wal", db_path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db_path);
	unlink(side);
}

static struct pal_apikey_store *
open_store(unsigned flags)
{
	struct pal_apikey_store *s = NULL;
	struct pal_err err;

	pal_err_clear(&err);
	if (pal_apikey_store_open(db_path, flags, &s, &err) != 0)
		fail_msg("open %s: %s", db_path, err.msg);
	return s;
}

static void
create_key(struct pal_apikey_store *s, const char *owner, const char *role,
	   int64_t expires, char token[PAL_APIKEY_TOKEN_LEN + 1],
	   char id[PAL_APIKEY_ID_LEN + 1])
{
	struct pal_apikey_spec spec = { owner, role, expires, { 0, 0, 0 }, 0 };
	struct pal_err err;

	pal_err_clear(&err);
	if (pal_apikey_create(s, &spec, NOW, token, id, &err) != 0)
		fail_msg("create: %s", err.msg);
}

static struct pal_apikey_snapshot *
load(struct pal_apikey_store *s)
{
	struct pal_apikey_snapshot *snap = NULL;
	struct pal_err err;

	pal_err_clear(&err);
	if (pal_apikey_snapshot_load(s, &snap, &err) != 0)
		fail_msg("load: %s", err.msg);
	return snap;
}

/* Authenticates "Bearer <token>" and returns the status. */
static enum pal_apikey_status
check(const struct pal_apikey_snapshot *snap, const char *token,
      int64_t now)
{
	char header[128];
	struct pal_apikey_result res;
	struct pal_err err;

	snprintf(header, sizeof(header), BEARER "%s", token);
	pal_err_clear(&err);
	int rc = pal_apikey_authenticate(snap, header, strlen(header), now,
					 &res, &err);
	assert_int_equal(rc == 0, res.status == PAL_APIKEY_OK);
	assert_int_equal(rc == 0, res.record != NULL);
	if (rc != 0) {
		assert_int_equal(rc, PAL_ERR_VERIFY);
		assert_int_equal(err.code, PAL_ERR_VERIFY);
		/* The detail never holds the secret. */
		assert_null(strstr(err.msg, token + 17));
	}
	return res.status;
}

/* ---- the token's text ---- */

static void
parses_known_base64url(void **state)
{
	static const struct {
		const char *b64;
		uint8_t first, last;
	} cases[] = {
		{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", 0, 31 },
		{ "__________________________________________8", 0xff, 0xff },
		{ "------------------------------------------A", 0xfb, 0xe0 },
	};
	struct pal_apikey_token t;
	struct pal_err err;
	char tok[PAL_APIKEY_TOKEN_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(tok, sizeof(tok), "pal_0123456789ab_%s",
			 cases[i].b64);
		assert_int_equal(pal_apikey_token_parse(tok, strlen(tok), &t,
							&err), 0);
		assert_string_equal(t.id, "0123456789ab");
		assert_int_equal(t.secret[0], cases[i].first);
		assert_int_equal(t.secret[31], cases[i].last);
	}
	snprintf(tok, sizeof(tok), "pal_0123456789ab_%s", cases[0].b64);
	assert_int_equal(pal_apikey_token_parse(tok, strlen(tok), &t, &err),
			 0);
	for (int k = 0; k < 32; k++)
		assert_int_equal(t.secret[k], k);
	pal_apikey_token_wipe(&t);
}

static const char good[] =
	"pal_0123456789ab_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

static int
parse_header(const char *v, size_t n, int *code)
{
	struct pal_apikey_token t;
	struct pal_err err;

	memset(&t, 0x5a, sizeof(t));
	pal_err_clear(&err);
	int rc = pal_apikey_bearer_parse(v, n, &t, &err);
	*code = err.code;
	if (rc < 0) {
		/* A refused token is wiped. */
		static const struct pal_apikey_token zero;
		assert_memory_equal(&t, &zero, sizeof(t));
		/* Positions, never the bytes. */
		assert_null(strstr(err.msg, "AAECAwQF"));
	}
	return rc;
}

static void
header_forms(void **state)
{
	static const char *const ok[] = { "Bearer ", "bearer ", "BEARER ",
					  "bEaReR " };
	static const char *const bad[] = {
		"Bearer  ",		/* two spaces */
		"Bearer\t",		/* a tab */
		"Bearer:",
		" Bearer ",		/* leading space */
		"Basic ",
		"Bearerr ",
		"Token ",
		"",			/* the token alone */
	};
	char v[256];
	int code;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(v, sizeof(v), "%s%s", ok[i], good);
		assert_int_equal(parse_header(v, strlen(v), &code), 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(v, sizeof(v), "%s%s", bad[i], good);
		assert_true(parse_header(v, strlen(v), &code) < 0);
	}
	/* Trailing bytes, a short token, nothing at all. */
	snprintf(v, sizeof(v), BEARER "%s ", good);
	assert_true(parse_header(v, strlen(v), &code) < 0);
	snprintf(v, sizeof(v), BEARER "%.59s", good);
	assert_int_equal(parse_header(v, strlen(v), &code), PAL_ERR_FORMAT);
	assert_int_equal(parse_header(BEARER, 7, &code), PAL_ERR_FORMAT);
	assert_int_equal(parse_header("Bearer", 6, &code),
			 PAL_ERR_UNSUPPORTED);
	assert_int_equal(parse_header("", 0, &code), PAL_ERR_UNSUPPORTED);
	assert_int_equal(code, PAL_ERR_UNSUPPORTED);
	/* Far too long: refused before it is read. */
	memset(v, 'a', sizeof(v));
	memcpy(v, BEARER, 7);
	assert_int_equal(parse_header(v, sizeof(v), &code), PAL_ERR_FORMAT);
}

/* Replaces byte pos of the good token and expects a refusal. */
static void
refuse_byte(size_t pos, char c)
{
	char v[128];
	int code;

	snprintf(v, sizeof(v), BEARER "%s", good);
	v[7 + pos] = c;
	if (parse_header(v, 7 + PAL_APIKEY_TOKEN_LEN, &code) == 0)
		fail_msg("byte %zu = 0x%02x was accepted", pos,
			 (unsigned char)c);
	assert_int_equal(code, PAL_ERR_FORMAT);
}

static void
token_bytes(void **state)
{
	(void)state;
	refuse_byte(0, 'P');		/* the prefix is case-sensitive */
	refuse_byte(3, '-');
	refuse_byte(4, 'A');		/* the id is lowercase hex */
	refuse_byte(15, 'g');
	refuse_byte(16, '-');		/* the separator */
	refuse_byte(17, '+');		/* standard base64, not url */
	refuse_byte(17, '/');
	refuse_byte(30, '=');
	refuse_byte(40, '\0');		/* an embedded NUL */
	refuse_byte(58, (char)0xc3);	/* not ASCII */
	/* The last digit's two spare bits must be zero: 'h' is 33. */
	refuse_byte(59, 'h');
	refuse_byte(59, '9');
	/* Every base64url digit is accepted where all six bits count. */
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789-_";
	for (size_t i = 0; i < 64; i++) {
		char v[128];
		int code;

		snprintf(v, sizeof(v), BEARER "%s", good);
		v[7 + 20] = digits[i];
		assert_int_equal(parse_header(v, strlen(v), &code), 0);
	}
	/* And no other byte. */
	for (int c = 0; c < 256; c++) {
		if (c != 0 && strchr(digits, c) != NULL)
			continue;
		refuse_byte(20, (char)c);
	}
}

/* ---- the store ---- */

/* The stored hash, recomputed with OpenSSL's HMAC from the token. */
static void
stored_hash_is_hmac_of_secret(void **state)
{
	char token[PAL_APIKEY_TOKEN_LEN + 1], id[PAL_APIKEY_ID_LEN + 1];
	char b64[64];
	uint8_t secret[48], msg[19 + 12 + 32], mac[32];
	unsigned maclen = 0;
	sqlite3 *db;
	sqlite3_stmt *st;

	(void)state;
	fresh_path("hash");
	struct pal_apikey_store *s = open_store(PAL_APIKEY_OPEN_CREATE);
	create_key(s, "alice@example.com", "analyst", 0, token, id);
	pal_apikey_store_close(s);
	assert_int_equal(strlen(token), PAL_APIKEY_TOKEN_LEN);
	assert_memory_equal(token, "pal_", 4);
	assert_memory_equal(token + 4, id, 12);

	/* Standard base64 with padding for OpenSSL's decoder. */
	snprintf(b64, sizeof(b64), "%s=", token + 17);
	for (char *p = b64; *p; p++)
		*p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
	assert_int_equal(EVP_DecodeBlock(secret, (const unsigned char *)b64,
					 44), 33);
	memcpy(msg, "palisade-apikey-v1", 19);
	memcpy(msg + 19, id, 12);
	memcpy(msg + 31, secret, 32);

	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT salt, hash FROM "
					    "api_keys", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_bytes(st, 0), 16);
	assert_int_equal(sqlite3_column_bytes(st, 1), 32);
	assert_non_null(HMAC(EVP_sha256(), sqlite3_column_blob(st, 0), 16,
			     msg, sizeof(msg), mac, &maclen));
	assert_int_equal(maclen, 32);
	assert_memory_equal(mac, sqlite3_column_blob(st, 1), 32);
	/* The secret itself is nowhere in the file's row. */
	assert_null(memmem(sqlite3_column_blob(st, 1), 32, secret, 8));
	sqlite3_finalize(st);
	sqlite3_close(db);

	struct stat sb;
	assert_int_equal(stat(db_path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

static void
create_verify_revoke_expire(void **state)
{
	char t1[PAL_APIKEY_TOKEN_LEN + 1], id1[PAL_APIKEY_ID_LEN + 1];
	char t2[PAL_APIKEY_TOKEN_LEN + 1], id2[PAL_APIKEY_ID_LEN + 1];
	char wrong[PAL_APIKEY_TOKEN_LEN + 1], other[PAL_APIKEY_TOKEN_LEN + 1];
	struct pal_err err;

	(void)state;
	fresh_path("life");
	struct pal_apikey_store *s = open_store(PAL_APIKEY_OPEN_CREATE);
	create_key(s, "alice", "analyst", 0, t1, id1);
	create_key(s, "bob", "admin", NOW + 3600, t2, id2);
	assert_string_not_equal(id1, id2);
	struct pal_apikey_snapshot *snap = load(s);
	assert_int_equal(pal_apikey_snapshot_count(snap), 2);

	assert_int_equal(check(snap, t1, NOW), PAL_APIKEY_OK);
	assert_int_equal(check(snap, t2, NOW + 3599), PAL_APIKEY_OK);
	assert_int_equal(check(snap, t2, NOW + 3600), PAL_APIKEY_EXPIRED);

	/* One bit of the secret changed: still base64url, wrong secret. */
	memcpy(wrong, t1, sizeof(wrong));
	wrong[30] = wrong[30] == 'A' ? 'B' : 'A';
	assert_int_equal(check(snap, wrong, NOW), PAL_APIKEY_WRONG_SECRET);
	/* Another key's secret under this id. */
	memcpy(other, t1, sizeof(other));
	memcpy(other + 17, t2 + 17, 43);
	assert_int_equal(check(snap, other, NOW), PAL_APIKEY_WRONG_SECRET);
	/* An id nobody has (the two ids differ in their first digit). */
	memcpy(other, t1, sizeof(other));
	other[4] = id1[0] == id2[0] ? 'x' : id1[0] == '0' ? '1' : '0';
	if (other[4] == id2[0])
		other[4] = other[4] == 'f' ? 'e' : 'f';
	if (other[4] != 'x')
		assert_int_equal(check(snap, other, NOW), PAL_APIKEY_UNKNOWN);

	/* The record in force, from the snapshot. */
	const struct pal_apikey_record *r = pal_apikey_snapshot_find(snap, id2);
	assert_non_null(r);
	assert_string_equal(r->owner, "bob");
	assert_string_equal(r->role, "admin");
	assert_int_equal(r->created, NOW);
	assert_int_equal(r->expires, NOW + 3600);
	assert_int_equal(r->revoked, 0);

	/* Revoked through the same handle: the snapshot is stale. */
	int changed = -1;
	assert_int_equal(pal_apikey_store_changed(s, snap, &changed, &err), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(pal_apikey_revoke(s, id1, NOW + 10, &err), 0);
	assert_int_equal(pal_apikey_store_changed(s, snap, &changed, &err), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(check(snap, t1, NOW + 11), PAL_APIKEY_OK);
	pal_apikey_snapshot_unref(snap);
	snap = load(s);
	assert_int_equal(check(snap, t1, NOW + 11), PAL_APIKEY_REVOKED);
	/* Without the secret one learns nothing of the revocation. */
	memcpy(wrong + 17, t2 + 17, 43);
	assert_int_equal(check(snap, wrong, NOW + 11),
			 PAL_APIKEY_WRONG_SECRET);
	/* A second revocation keeps the first one's time. */
	assert_int_equal(pal_apikey_revoke(s, id1, NOW + 99, &err), 0);
	struct pal_apikey_record got;
	assert_int_equal(pal_apikey_get(s, id1, &got, &err), 0);
	assert_int_equal(got.revoked, NOW + 10);
	assert_int_equal(pal_apikey_revoke(s, "0000000000zz", NOW, &err),
			 PAL_ERR_INVALID);
	pal_apikey_snapshot_unref(snap);
	pal_apikey_store_close(s);
	memset(t1, 0, sizeof(t1));
	memset(t2, 0, sizeof(t2));
}

/* `palisade serve key revoke` is another process: another connection. */
static void
snapshot_sees_other_handles_revocation(void **state)
{
	char tok[PAL_APIKEY_TOKEN_LEN + 1], id[PAL_APIKEY_ID_LEN + 1];
	struct pal_err err;
	int changed = -1;

	(void)state;
	fresh_path("other");
	struct pal_apikey_store *admin = open_store(PAL_APIKEY_OPEN_CREATE);
	create_key(admin, "carol", "analyst", 0, tok, id);
	/* The gateway starts while no one else has the file open. */
	pal_apikey_store_close(admin);
	struct pal_apikey_store *gw = open_store(PAL_APIKEY_OPEN_READONLY);
	admin = open_store(0);
	struct pal_apikey_snapshot *snap = load(gw);
	assert_int_equal(check(snap, tok, NOW), PAL_APIKEY_OK);
	assert_int_equal(pal_apikey_store_changed(gw, snap, &changed, &err),
			 0);
	assert_int_equal(changed, 0);

	assert_int_equal(pal_apikey_revoke(admin, id, NOW + 1, &err), 0);
	assert_int_equal(pal_apikey_store_changed(gw, snap, &changed, &err),
			 0);
	assert_int_equal(changed, 1);
	struct pal_apikey_snapshot *fresh = load(gw);
	assert_int_equal(check(fresh, tok, NOW + 2), PAL_APIKEY_REVOKED);
	assert_int_equal(pal_apikey_store_changed(gw, fresh, &changed, &err),
			 0);
	assert_int_equal(changed, 0);
	/* A snapshot read through another handle always reads as stale. */
	assert_int_equal(pal_apikey_store_changed(admin, fresh, &changed,
						  &err), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(pal_apikey_store_changed(admin, NULL, &changed,
						  &err), 0);
	assert_int_equal(changed, 1);

	/* A read-only handle cannot write. */
	char t2[PAL_APIKEY_TOKEN_LEN + 1], id2[PAL_APIKEY_ID_LEN + 1];
	struct pal_apikey_spec spec = { "x", "y", 0, { 0, 0, 0 }, 0 };
	assert_int_equal(pal_apikey_create(gw, &spec, NOW, t2, id2, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_apikey_revoke(gw, id, NOW, &err),
			 PAL_ERR_INVALID);
	pal_apikey_snapshot_unref(snap);
	pal_apikey_snapshot_unref(fresh);
	pal_apikey_store_close(gw);
	pal_apikey_store_close(admin);
}

static void
list_get_limits(void **state)
{
	char tok[PAL_APIKEY_TOKEN_LEN + 1], id[PAL_APIKEY_ID_LEN + 1];
	struct pal_apikey_spec spec = {
		"dave (ml team)", "batch", 0, { 120, 0, 7 },
		PAL_APIKEY_SET_RPM | PAL_APIKEY_SET_BURST,
	};
	struct pal_apikey_record *v = NULL, got;
	struct pal_gw_limits role = { 60, 10000, 5 }, eff;
	struct pal_err err;
	size_t n = 0;
	static const uint8_t zero[32];

	(void)state;
	fresh_path("list");
	struct pal_apikey_store *s = open_store(PAL_APIKEY_OPEN_CREATE);
	assert_int_equal(pal_apikey_list(s, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	create_key(s, "erin", "analyst", 0, tok, id);
	assert_int_equal(pal_apikey_create(s, &spec, NOW + 5, tok, id, &err),
			 0);
	assert_int_equal(pal_apikey_list(s, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].owner, "erin");
	assert_string_equal(v[1].owner, "dave (ml team)");
	for (size_t i = 0; i < n; i++) {
		assert_memory_equal(v[i].hash, zero, 32);
		assert_memory_equal(v[i].salt, zero, 16);
	}
	free(v);

	assert_int_equal(pal_apikey_get(s, id, &got, &err), 0);
	assert_int_equal(got.limits_set,
			 PAL_APIKEY_SET_RPM | PAL_APIKEY_SET_BURST);
	pal_apikey_limits(&got, &role, &eff);
	assert_int_equal(eff.requests_per_minute, 120);
	assert_int_equal(eff.tokens_per_minute, 10000);
	assert_int_equal(eff.burst, 7);
	pal_apikey_limits(&got, NULL, &eff);
	assert_int_equal(eff.tokens_per_minute, 0);

	/* Bad specs. */
	static const char *const owners[] = { "", " lead", "tail ", "a\nb",
					      "caf\xc3\xa9" };
	for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
		spec.owner = owners[i];
		assert_int_equal(pal_apikey_create(s, &spec, NOW, tok, id,
						   &err), PAL_ERR_INVALID);
		assert_int_equal(tok[0], '\0');
	}
	spec.owner = "ok";
	spec.role = "no spaces";
	assert_int_equal(pal_apikey_create(s, &spec, NOW, tok, id, &err),
			 PAL_ERR_INVALID);
	spec.role = "r";
	spec.expires = NOW;
	assert_int_equal(pal_apikey_create(s, &spec, NOW, tok, id, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_apikey_get(s, "ABCDEF012345", &got, &err),
			 PAL_ERR_INVALID);
	pal_apikey_store_close(s);
}

static void
edited_row_is_refused(void **state)
{
	char tok[PAL_APIKEY_TOKEN_LEN + 1], id[PAL_APIKEY_ID_LEN + 1];
	struct pal_apikey_snapshot *snap = NULL;
	struct pal_err err;
	static const char *const edits[] = {
		"UPDATE api_keys SET owner = 'a' || char(10) || 'b'",
		"UPDATE api_keys SET role = 'bad role'",
		"UPDATE api_keys SET expires = -5",
		"UPDATE api_keys SET expires = 'tomorrow'",
		"UPDATE api_keys SET burst = 4294967296",
		"UPDATE api_keys SET id = 'ABCDEF012345'",
		"UPDATE api_keys SET revoked = 0",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		sqlite3 *db;

		fresh_path("edit");
		struct pal_apikey_store *s = open_store(PAL_APIKEY_OPEN_CREATE);
		create_key(s, "frank", "analyst", 0, tok, id);
		assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, edits[i], NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
		pal_err_clear(&err);
		if (pal_apikey_snapshot_load(s, &snap, &err) !=
		    PAL_ERR_FORMAT)
			fail_msg("edit %zu was loaded", i);
		assert_null(snap);
		assert_non_null(strstr(err.msg, "bad"));
		pal_apikey_store_close(s);
	}
}

static void
refuses_symlink_and_missing(void **state)
{
	struct pal_apikey_store *s = NULL;
	struct pal_err err;
	char link[4200];

	(void)state;
	fresh_path("target");
	s = open_store(PAL_APIKEY_OPEN_CREATE);
	pal_apikey_store_close(s);
	snprintf(link, sizeof(link), "%s.link", db_path);
	unlink(link);
	assert_int_equal(symlink(db_path, link), 0);
	assert_int_equal(pal_apikey_store_open(link, PAL_APIKEY_OPEN_CREATE,
					       &s, &err), PAL_ERR_IO);
	assert_null(s);
	unlink(link);
	fresh_path("missing");
	assert_int_equal(pal_apikey_store_open(db_path,
					       PAL_APIKEY_OPEN_READONLY, &s,
					       &err), PAL_ERR_IO);
	assert_int_equal(pal_apikey_store_open(db_path,
					       PAL_APIKEY_OPEN_READONLY |
					       PAL_APIKEY_OPEN_CREATE, &s,
					       &err), PAL_ERR_INVALID);
}

/* ---- snapshots handed to threads ---- */

struct reader {
	struct pal_apikey_current *cur;
	const char *token;
	_Atomic int *stop;
	_Atomic long ok, revoked;
};

static void *
read_loop(void *arg)
{
	struct reader *r = arg;
	struct pal_apikey_view v = { 0 };
	char header[128];
	struct pal_apikey_result res;

	snprintf(header, sizeof(header), BEARER "%s", r->token);
	while (!*r->stop) {
		const struct pal_apikey_snapshot *snap =
			pal_apikey_view_refresh(&v, r->cur);

		if (snap == NULL)
			continue;
		pal_apikey_authenticate(snap, header, strlen(header), NOW,
					&res, NULL);
		if (res.status == PAL_APIKEY_OK)
			r->ok++;
		else if (res.status == PAL_APIKEY_REVOKED)
			r->revoked++;
		else
			abort();
	}
	pal_apikey_view_release(&v);
	return NULL;
}

static void
views_follow_current(void **state)
{
	char tok[PAL_APIKEY_TOKEN_LEN + 1], id[PAL_APIKEY_ID_LEN + 1];
	struct pal_apikey_current *cur = NULL;
	struct pal_err err;
	_Atomic int stop = 0;
	struct reader rd[3];
	pthread_t th[3];

	(void)state;
	fresh_path("views");
	struct pal_apikey_store *s = open_store(PAL_APIKEY_OPEN_CREATE);
	create_key(s, "gina", "analyst", 0, tok, id);
	assert_int_equal(pal_apikey_current_new(&cur, &err), 0);

	struct pal_apikey_view v = { 0 };
	assert_null(pal_apikey_view_refresh(&v, cur));
	struct pal_apikey_snapshot *first = load(s);
	pal_apikey_current_set(cur, first);
	assert_ptr_equal(pal_apikey_view_refresh(&v, cur), first);
	assert_ptr_equal(pal_apikey_view_refresh(&v, cur), first);

	for (int i = 0; i < 3; i++) {
		rd[i] = (struct reader){ cur, tok, &stop, 0, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, read_loop,
						&rd[i]), 0);
	}
	/* Reloads while the readers read; then the revocation. */
	for (int i = 0; i < 50; i++)
		pal_apikey_current_set(cur, load(s));
	assert_int_equal(pal_apikey_revoke(s, id, NOW, &err), 0);
	pal_apikey_current_set(cur, load(s));
	/* Each reader soon sees the revocation (the machine may be busy). */
	for (int waited = 0; waited < 10000; waited++) {
		int all = 1;

		for (int i = 0; i < 3; i++)
			all &= atomic_load(&rd[i].revoked) > 0;
		if (all)
			break;
		usleep(1000);
	}
	stop = 1;
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	/* Our own view still holds the first snapshot until refreshed. */
	assert_ptr_equal(v.snap, first);
	const struct pal_apikey_snapshot *now = pal_apikey_view_refresh(&v,
									cur);
	assert_ptr_not_equal(now, first);
	assert_int_equal(check(now, tok, NOW), PAL_APIKEY_REVOKED);
	for (int i = 0; i < 3; i++)
		assert_true(rd[i].revoked > 0);
	pal_apikey_view_release(&v);
	pal_apikey_current_free(cur);
	pal_apikey_store_close(s);
}

static void
status_names(void **state)
{
	(void)state;
	assert_string_equal(pal_apikey_status_name(PAL_APIKEY_WRONG_SECRET),
			    "wrong-secret");
	assert_string_equal(pal_apikey_status_name((enum pal_apikey_status)99),
			    "?");
	struct pal_apikey_result res;
	assert_int_equal(pal_apikey_authenticate(NULL, NULL, 0, NOW, &res,
						 NULL), PAL_ERR_VERIFY);
	assert_int_equal(res.status, PAL_APIKEY_MALFORMED);
	assert_int_equal(pal_apikey_authenticate(NULL, "Basic eA==", 10, NOW,
						 &res, NULL), PAL_ERR_VERIFY);
	assert_int_equal(res.status, PAL_APIKEY_MALFORMED);
	assert_string_equal(res.id, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_known_base64url),
		cmocka_unit_test(header_forms),
		cmocka_unit_test(token_bytes),
		cmocka_unit_test(stored_hash_is_hmac_of_secret),
		cmocka_unit_test(create_verify_revoke_expire),
		cmocka_unit_test(snapshot_sees_other_handles_revocation),
		cmocka_unit_test(list_get_limits),
		cmocka_unit_test(edited_row_is_refused),
		cmocka_unit_test(refuses_symlink_and_missing),
		cmocka_unit_test(views_follow_current),
		cmocka_unit_test(status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
