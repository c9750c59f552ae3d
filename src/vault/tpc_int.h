/*
 * tpc_int.h - internals shared by the two-person control files: the
 * canonical JSON writer, the strict JSON readers, the request object as
 * it appears inside an approval, and the P-256 key rule.
 */
#ifndef PALISADE_TPC_INT_H
#define PALISADE_TPC_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "palisade/approval.h"

/* ---- canon.c: writing ---- */

/* Appends s[0..n) as an RFC 8785 string (quotes included). */
int pal_tpc_canon_string(struct pal_buf *b, const char *s, size_t n);

/* Appends ',' unless first, then "name": (name is a literal we chose). */
int pal_tpc_canon_member(struct pal_buf *b, const char *name, int first);

/* Appends a string member (the value escaped). */
int pal_tpc_canon_member_str(struct pal_buf *b, const char *name,
			     const char *value, int first);

/* ---- canon.c: strict reading ---- */

/*
 * Parses data as a JSON object of at most max bytes: duplicate names are
 * refused.  what names the document in the message.
 */
int pal_tpc_json_load(const uint8_t *data, size_t len, size_t max,
		      const char *what, json_t **out, struct pal_err *err);

/*
 * o is an object whose members are exactly the n names (all required) and
 * the n_opt optional ones; where names o in the message.
 */
int pal_tpc_json_members(json_t *o, const char *where,
			 const char *const names[], size_t n,
			 const char *const opt[], size_t n_opt,
			 struct pal_err *err);

/* The string member name of o, 1..max bytes; *out is borrowed from o. */
int pal_tpc_json_str(json_t *o, const char *where, const char *name,
		     size_t max, const char **out, size_t *len,
		     struct pal_err *err);

/* The integer member name of o within [min, max]. */
int pal_tpc_json_int(json_t *o, const char *where, const char *name,
		     long long min, long long max, long long *out,
		     struct pal_err *err);

/* The string member name decoded from base64 to 1..max bytes (malloc'd). */
int pal_tpc_json_b64(json_t *o, const char *where, const char *name,
		     size_t max, uint8_t **out, size_t *len,
		     struct pal_err *err);

/* ---- request.c ---- */

/* The request object o (inside a file or an approval), strictly. */
int pal_tpc_request_from_json(json_t *o, const char *where,
			      struct pal_tpc_request *out,
			      struct pal_err *err);

/* 1 when the request is for want's vault, operation and release. */
int pal_tpc_request_matches(const struct pal_tpc_request *r,
			    const struct pal_tpc_want *want);

/* ---- replay.c: the state.db connection, shared with sets.c ---- */

struct sqlite3;

struct sqlite3 *pal_tpc_replay_db(struct pal_tpc_replay *s);

/* "PATH: what: SQLite's message" as code. */
int pal_tpc_replay_fail(struct pal_tpc_replay *s, int code, const char *what,
			struct pal_err *err);

/* Runs a statement that returns no rows (BEGIN, COMMIT, a schema). */
int pal_tpc_replay_exec(struct pal_tpc_replay *s, const char *sql,
			struct pal_err *err);

/* Rolls back the open transaction, if any (after a failure). */
void pal_tpc_replay_rollback(struct pal_tpc_replay *s);

/*
 * pal_tpc_replay_consume, refused (and the request left unused) when the
 * store has accepted an approver set newer than set_serial, the serial of
 * the set the request was checked against.
 */
int pal_tpc_replay_consume_under(struct pal_tpc_replay *s,
				 const struct pal_tpc_request *req,
				 uint64_t set_serial, int64_t now,
				 struct pal_err *err);

/* ---- sets.c ---- */

/* CREATE TABLE IF NOT EXISTS of the accepted sets (run at every open). */
extern const char pal_tpc_sets_schema[];

/* ---- approvers.c ---- */

/* 0 when key is an ECDSA P-256 key; PAL_ERR_UNSUPPORTED naming what. */
int pal_tpc_key_p256(const EVP_PKEY *key, const char *what,
		     struct pal_err *err);

#endif
