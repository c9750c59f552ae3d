/*
 * sets.c - the approver sets a vault has accepted, in its state.db, so
 * that an older signed set cannot be put back in place of a newer one.
 *
 * The approver set is a file in the vault's directory, signed by the
 * admin key.  The signature says who wrote a set, not whether it is the
 * current one: every set the admin ever signed verifies.  Each set
 * therefore has a serial, and the vault records the newest it accepted;
 * a set with a lower serial, or another set under the same serial, is
 * refused.  Sets are accepted (and recorded) when an operation uses them
 * and when `keys approvers` installs them; both run in BEGIN IMMEDIATE
 * transactions, so that two replacements at once take turns and an
 * operation never records a set older than one just installed.
 *
 * Trusted: the set (its signature verified by the caller) and the clock.
 * The table is as trustworthy as state.db: whoever can put back an old
 * state.db as well is caught by the audit log, not here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "palisade/encoding.h"
#include "tpc_int.h"

const char pal_tpc_sets_schema[] =
	"CREATE TABLE IF NOT EXISTS tpc_approver_sets ("
	" serial INTEGER PRIMARY KEY NOT NULL CHECK (serial >= 0),"
	" digest TEXT NOT NULL CHECK (length(digest) = 64),"
	" vault TEXT NOT NULL,"
	" threshold INTEGER NOT NULL,"
	" members INTEGER NOT NULL,"
	" accepted_at TEXT NOT NULL"
	")";

/* 64 hex digits into 32 bytes; -1 for anything else. */
static int
digest_from_hex(const unsigned char *hex, int len,
		uint8_t out[PAL_TPC_DIGEST_LEN])
{
	if (hex == NULL || len != 2 * PAL_TPC_DIGEST_LEN)
		return -1;
	for (int i = 0; i < PAL_TPC_DIGEST_LEN; i++) {
		int hi = pal_hex_value(hex[2 * i]);
		int lo = pal_hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* The row st is on, checked: state.db is a file others could edit. */
static int
read_row(sqlite3_stmt *st, struct pal_tpc_set_record *out)
{
	sqlite3_int64 serial = sqlite3_column_int64(st, 0);
	sqlite3_int64 m = sqlite3_column_int64(st, 2);
	sqlite3_int64 n = sqlite3_column_int64(st, 3);
	const unsigned char *at = sqlite3_column_text(st, 4);

	if (serial < 0 || serial > PAL_TPC_SERIAL_MAX ||
	    digest_from_hex(sqlite3_column_text(st, 1),
			    sqlite3_column_bytes(st, 1), out->digest) < 0 ||
	    m < 1 || m > PAL_TPC_APPROVERS_MAX || n < 1 ||
	    n > PAL_TPC_APPROVERS_MAX || at == NULL ||
	    sqlite3_column_bytes(st, 4) != PAL_TPC_TIME_LEN)
		return -1;
	out->any = 1;
	out->serial = (uint64_t)serial;
	out->threshold = (unsigned)m;
	out->n = (size_t)n;
	memcpy(out->accepted_at, at, PAL_TPC_TIME_LEN + 1);
	return 0;
}

int
pal_tpc_sets_latest(struct pal_tpc_replay *s, struct pal_tpc_set_record *out,
		    struct pal_err *err)
{
	sqlite3 *db = pal_tpc_replay_db(s);
	sqlite3_stmt *st = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(db, "SELECT serial, digest, threshold, "
			       "members, accepted_at FROM tpc_approver_sets "
			       "ORDER BY serial DESC LIMIT 1", -1, &st,
			       NULL) != SQLITE_OK)
		return pal_tpc_replay_fail(s, PAL_ERR_IO, "cannot read the "
					   "accepted approver sets", err);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW && read_row(st, out) < 0)
		rc = pal_err_set(err, PAL_ERR_FORMAT, "tpc_approver_sets: the "
				 "newest row is malformed (state.db edited?)");
	else if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = pal_tpc_replay_fail(s, PAL_ERR_IO, "cannot read the "
					 "accepted approver sets", err);
	sqlite3_finalize(st);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int
pal_tpc_sets_judge(const struct pal_tpc_set_record *latest,
		   const struct pal_tpc_approvers *set, struct pal_err *err)
{
	char want[2 * PAL_TPC_DIGEST_LEN + 1], got[2 * PAL_TPC_DIGEST_LEN + 1];

	if (!latest->any)
		return 0;
	if (set->serial < latest->serial)
		return pal_err_set(err, PAL_ERR_VERIFY, "approver set serial "
				   "%llu is older than serial %llu, which the "
				   "vault accepted at %s (an old set put back?"
				   " keys approvers installs a new one)",
				   (unsigned long long)set->serial,
				   (unsigned long long)latest->serial,
				   latest->accepted_at);
	if (set->serial == latest->serial &&
	    !pal_ct_equal(set->digest, latest->digest, PAL_TPC_DIGEST_LEN)) {
		pal_hex_encode(set->digest, PAL_TPC_DIGEST_LEN, got);
		pal_hex_encode(latest->digest, PAL_TPC_DIGEST_LEN, want);
		return pal_err_set(err, PAL_ERR_VERIFY, "approver set serial "
				   "%llu is not the set the vault accepted "
				   "under that serial at %s (payload digest "
				   "%.16s, not %.16s)",
				   (unsigned long long)set->serial,
				   latest->accepted_at, got, want);
	}
	return 0;
}

static int
insert(struct pal_tpc_replay *s, const struct pal_tpc_approvers *set,
       int64_t now, struct pal_err *err)
{
	sqlite3 *db = pal_tpc_replay_db(s);
	sqlite3_stmt *st = NULL;
	char hex[2 * PAL_TPC_DIGEST_LEN + 1], when[PAL_TPC_TIME_LEN + 1];

	if (pal_tpc_time_format(now, when) < 0)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "the clock is out of range");
	pal_hex_encode(set->digest, PAL_TPC_DIGEST_LEN, hex);
	int ok = sqlite3_prepare_v2(db, "INSERT INTO tpc_approver_sets "
				    "(serial, digest, vault, threshold, "
				    "members, accepted_at) VALUES (?1, ?2, "
				    "?3, ?4, ?5, ?6)", -1, &st, NULL) ==
		SQLITE_OK &&
		sqlite3_bind_int64(st, 1, (sqlite3_int64)set->serial) ==
		SQLITE_OK &&
		sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC) == SQLITE_OK &&
		sqlite3_bind_text(st, 3, set->vault, -1, SQLITE_STATIC) ==
		SQLITE_OK &&
		sqlite3_bind_int64(st, 4, set->threshold) == SQLITE_OK &&
		sqlite3_bind_int64(st, 5, (sqlite3_int64)set->n) == SQLITE_OK &&
		sqlite3_bind_text(st, 6, when, -1, SQLITE_STATIC) == SQLITE_OK;
	int step = ok ? sqlite3_step(st) : SQLITE_ERROR;
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return pal_tpc_replay_fail(s, PAL_ERR_IO, "cannot record the "
					   "approver set", err);
	return 0;
}

/* Ends the transaction: COMMIT after success, ROLLBACK otherwise. */
static int
finish(struct pal_tpc_replay *s, int rc, struct pal_err *err)
{
	if (rc == 0)
		rc = pal_tpc_replay_exec(s, "COMMIT", err);
	if (rc < 0)
		pal_tpc_replay_rollback(s);
	return rc;
}

int
pal_tpc_sets_accept(struct pal_tpc_replay *s,
		    const struct pal_tpc_approvers *set, int64_t now,
		    pal_tpc_set_hook on_new, void *arg, int *fresh,
		    struct pal_err *err)
{
	struct pal_tpc_set_record latest;
	int is_new = 0;

	if (fresh != NULL)
		*fresh = 0;
	int rc = pal_tpc_replay_exec(s, "BEGIN IMMEDIATE", err);
	if (rc < 0)
		return rc;
	rc = pal_tpc_sets_latest(s, &latest, err);
	if (rc == 0)
		rc = pal_tpc_sets_judge(&latest, set, err);
	if (rc == 0)
		is_new = !latest.any || set->serial > latest.serial;
	if (rc == 0 && is_new && on_new != NULL)
		rc = on_new(arg, &latest, set, err);
	if (rc == 0 && is_new)
		rc = insert(s, set, now, err);
	rc = finish(s, rc, err);
	if (rc == 0 && fresh != NULL)
		*fresh = is_new;
	return rc;
}

int
pal_tpc_sets_replace(struct pal_tpc_replay *s, uint64_t floor, int64_t now,
		     int (*install)(void *arg, uint64_t serial,
				    struct pal_tpc_approvers **set,
				    struct pal_err *err),
		     void *arg, struct pal_tpc_approvers **installed,
		     struct pal_err *err)
{
	struct pal_tpc_set_record latest;
	struct pal_tpc_approvers *set = NULL;
	uint64_t base = floor;

	if (installed != NULL)
		*installed = NULL;
	int rc = pal_tpc_replay_exec(s, "BEGIN IMMEDIATE", err);
	if (rc < 0)
		return rc;
	rc = pal_tpc_sets_latest(s, &latest, err);
	if (rc == 0 && latest.any && latest.serial > base)
		base = latest.serial;
	if (rc == 0 && base >= (uint64_t)PAL_TPC_SERIAL_MAX)
		rc = pal_err_set(err, PAL_ERR_LIMIT, "approver set serial %llu "
				 "is the last there can be",
				 (unsigned long long)base);
	if (rc == 0)
		rc = install(arg, base + 1, &set, err);
	/* What install wrote must be what is recorded. */
	if (rc == 0 && (set == NULL || set->serial != base + 1))
		rc = pal_err_set(err, PAL_ERR_INVALID, "the new approver set "
				 "does not have serial %llu",
				 (unsigned long long)(base + 1));
	if (rc == 0)
		rc = insert(s, set, now, err);
	rc = finish(s, rc, err);
	if (rc == 0 && installed != NULL) {
		*installed = set;
		set = NULL;
	}
	pal_tpc_approvers_free(set);
	return rc;
}
