/*
 * replay.c - the requests that have run, in the vault's state.db, so that
 * a request with its approvals opens the vault once.
 *
 * Several processes may check requests at once (two operators, a retry
 * after a timeout).  The check-and-record is one BEGIN IMMEDIATE
 * transaction, which takes the database's write lock before it reads:
 * a second process waits for the first to commit and then sees the row.
 * The digest is also the primary key, so that a path that forgot the
 * transaction would still fail on the insert rather than run twice.
 * The same transaction checks that the approver set the request was
 * judged against is still the newest the vault accepted (sets.c), so an
 * approver removed while a check ran does not count.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "palisade/encoding.h"
#include "palisade/sqlite_file.h"
#include "tpc_int.h"

#define BUSY_TIMEOUT_MS 5000

struct pal_tpc_replay {
	sqlite3 *db;
	char *path;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS tpc_used_requests ("
	" digest TEXT PRIMARY KEY NOT NULL CHECK (length(digest) = 64),"
	" operation TEXT NOT NULL,"
	" release_name TEXT NOT NULL,"
	" requester TEXT NOT NULL,"
	" vault TEXT NOT NULL,"
	" expires TEXT NOT NULL,"
	" used_at TEXT NOT NULL"
	") WITHOUT ROWID";

static int
db_fail(struct pal_tpc_replay *s, int code, const char *what,
	struct pal_err *err)
{
	return pal_err_set(err, code, "%s: %s: %s", s->path, what,
			   sqlite3_errmsg(s->db));
}

int
pal_tpc_replay_fail(struct pal_tpc_replay *s, int code, const char *what,
		    struct pal_err *err)
{
	return db_fail(s, code, what, err);
}

sqlite3 *
pal_tpc_replay_db(struct pal_tpc_replay *s)
{
	return s->db;
}

/* Runs a statement that returns no rows we need. */
static int
exec(struct pal_tpc_replay *s, const char *sql, struct pal_err *err)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(s, PAL_ERR_IO, sql, err);
	return 0;
}

static int
set_journal_wal(struct pal_tpc_replay *s, struct pal_err *err)
{
	return pal_sqlite_wal(s->db) ? 0
		: db_fail(s, PAL_ERR_IO, "cannot use WAL journaling", err);
}

static int
configure(struct pal_tpc_replay *s, struct pal_err *err)
{
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	/* A file edited by others cannot make us run its SQL. */
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) !=
	    SQLITE_OK ||
	    sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
			      NULL) != SQLITE_OK ||
	    sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0,
			      NULL) != SQLITE_OK)
		return db_fail(s, PAL_ERR_IO, "cannot configure", err);
	int rc = set_journal_wal(s, err);
	if (rc == 0)
		rc = exec(s, "PRAGMA synchronous=FULL", err);
	if (rc == 0)
		rc = exec(s, schema, err);
	if (rc == 0)
		rc = exec(s, pal_tpc_sets_schema, err);
	return rc;
}

int
pal_tpc_replay_exec(struct pal_tpc_replay *s, const char *sql,
		    struct pal_err *err)
{
	return exec(s, sql, err);
}

void
pal_tpc_replay_rollback(struct pal_tpc_replay *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int
pal_tpc_replay_open(const char *path, struct pal_tpc_replay **out,
		    struct pal_err *err)
{
	*out = NULL;
	int rc = pal_sqlite_file_check(path, 1, err);
	if (rc < 0)
		return rc;
	struct pal_tpc_replay *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
		SQLITE_OPEN_FULLMUTEX;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK)
		rc = db_fail(s, PAL_ERR_IO, "cannot open the database", err);
	if (rc == 0)
		rc = configure(s, err);
	if (rc < 0) {
		pal_tpc_replay_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
pal_tpc_replay_close(struct pal_tpc_replay *s)
{
	if (s == NULL)
		return;
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/*
 * Looks digest up; *seen says whether it is there, used_at (may be NULL)
 * receives when.
 */
static int
lookup(struct pal_tpc_replay *s, const char *hex, int *seen,
       char used_at[PAL_TPC_TIME_LEN + 1], struct pal_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	*seen = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT used_at FROM tpc_used_requests "
			       "WHERE digest = ?1", -1, &st, NULL) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC) != SQLITE_OK) {
		sqlite3_finalize(st);
		return db_fail(s, PAL_ERR_IO, "cannot look the request up",
			       err);
	}
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		*seen = 1;
		if (used_at != NULL)
			snprintf(used_at, PAL_TPC_TIME_LEN + 1, "%s",
				 t ? (const char *)t : "?");
	} else if (step != SQLITE_DONE) {
		rc = db_fail(s, PAL_ERR_IO, "cannot look the request up", err);
	}
	sqlite3_finalize(st);
	return rc;
}

int
pal_tpc_replay_seen(struct pal_tpc_replay *s,
		    const uint8_t digest[PAL_TPC_DIGEST_LEN], int *seen,
		    char used_at[PAL_TPC_TIME_LEN + 1], struct pal_err *err)
{
	char hex[2 * PAL_TPC_DIGEST_LEN + 1];

	pal_hex_encode(digest, PAL_TPC_DIGEST_LEN, hex);
	return lookup(s, hex, seen, used_at, err);
}

static int
insert(struct pal_tpc_replay *s, const char *hex,
       const struct pal_tpc_request *req, const char *now,
       struct pal_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *v[] = {
		hex, pal_tpc_op_name(req->op), req->release, req->requester,
		req->vault, req->expires, now,
	};
	int ok = sqlite3_prepare_v2(s->db, "INSERT INTO tpc_used_requests "
				    "(digest, operation, release_name, "
				    "requester, vault, expires, used_at) "
				    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
				    -1, &st, NULL) == SQLITE_OK;

	for (int i = 0; ok && i < 7; i++)
		ok = sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC) ==
			SQLITE_OK;
	int step = ok ? sqlite3_step(st) : SQLITE_ERROR;
	sqlite3_finalize(st);
	if (step == SQLITE_CONSTRAINT_PRIMARYKEY)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "request %.16s: already used", hex);
	if (step != SQLITE_DONE)
		return db_fail(s, PAL_ERR_IO, "cannot record the request",
			       err);
	return 0;
}

/*
 * Inside the transaction: the set the request was checked against must
 * still be the newest (an approver removed while the check ran does not
 * count), then the request must not be recorded already.
 */
static int
still_current(struct pal_tpc_replay *s, uint64_t set_serial,
	      struct pal_err *err)
{
	struct pal_tpc_set_record latest;
	int rc = pal_tpc_sets_latest(s, &latest, err);

	if (rc == 0 && latest.any && latest.serial > set_serial)
		rc = pal_err_set(err, PAL_ERR_VERIFY, "the approver set was "
				 "replaced while the request was checked "
				 "(serial %llu, now %llu): run it again",
				 (unsigned long long)set_serial,
				 (unsigned long long)latest.serial);
	return rc;
}

/* Inside the transaction: refuse if recorded, else record. */
static int
check_and_record(struct pal_tpc_replay *s, const char *hex,
		 const struct pal_tpc_request *req, const char *now,
		 struct pal_err *err)
{
	char used_at[PAL_TPC_TIME_LEN + 1];
	int seen = 0;
	int rc = lookup(s, hex, &seen, used_at, err);

	if (rc == 0 && seen)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "request %.16s: already used at %s (a "
				   "request runs once)", hex, used_at);
	return rc == 0 ? insert(s, hex, req, now, err) : rc;
}

int
pal_tpc_replay_consume(struct pal_tpc_replay *s,
		       const struct pal_tpc_request *req, int64_t now,
		       struct pal_err *err)
{
	return pal_tpc_replay_consume_under(s, req, UINT64_MAX, now, err);
}

int
pal_tpc_replay_consume_under(struct pal_tpc_replay *s,
			     const struct pal_tpc_request *req,
			     uint64_t set_serial, int64_t now,
			     struct pal_err *err)
{
	uint8_t d[PAL_TPC_DIGEST_LEN];
	char hex[2 * PAL_TPC_DIGEST_LEN + 1];
	char when[PAL_TPC_TIME_LEN + 1];

	if (pal_tpc_time_format(now, when) < 0)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "the clock is out of range");
	int rc = pal_tpc_request_digest(req, d, err);
	if (rc < 0)
		return rc;
	pal_hex_encode(d, sizeof(d), hex);
	if ((rc = exec(s, "BEGIN IMMEDIATE", err)) < 0)
		return rc;
	rc = still_current(s, set_serial, err);
	if (rc == 0)
		rc = check_and_record(s, hex, req, when, err);
	if (rc == 0)
		rc = exec(s, "COMMIT", err);
	if (rc < 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}
