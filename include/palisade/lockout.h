/*
 * lockout.h - failed authentication counted per source and per key id,
 * with lockout (struct pal_gw_lockout in gwpolicy.h; docs/api-keys.md).
 *
 * A subject (a source, or a key id) that fails `failures` times within
 * `window_s` seconds is locked for `lock_s` seconds.  The window is fixed:
 * it opens at the first failure and the count starts again when it has
 * passed.  Success does not clear a count: a source shared by many (a NAT)
 * where one client keeps failing should not be reset by the others.
 * failures == 0 turns lockout off.
 *
 * What the gateway does with it (the decisions behind these functions):
 *
 *   - A locked source is answered 429 Too Many Requests, with Retry-After
 *     (the seconds left), before its Authorization header is even parsed:
 *     no HMAC is computed for it, so a flood of guesses costs us nothing.
 *     429 rather than 403 because it is temporary and says when to come
 *     back; a client that backs off on 429 does the right thing.
 *   - Sources are counted by network, not by address: an IPv4 address
 *     (and the IPv4 address inside ::ffff:0:0/96 or the NAT64 prefix
 *     64:ff9b::/96) alone, an IPv6 address by its /64, since one host
 *     commonly holds a whole /64 and could otherwise take a fresh address
 *     per guess.
 *   - Key ids are public (they are in every log line and in the token's
 *     first characters), so a lock on a key id must not refuse the key's
 *     owner: anyone could then lock any key out.  A locked key id is
 *     reported (pal_lockout_failure's result, for the log entry and an
 *     alert) and pal_lockout_key_locked() says so, but the right secret
 *     still passes.  Guessing a 256-bit secret is hopeless anyway; what
 *     the key counter finds is a leaked, revoked or expired key in use.
 *     Count a key's failure only when the id exists (wrong secret,
 *     revoked, expired): made-up ids are counted against the source only,
 *     so they cannot fill the table.
 *
 * Time is passed in (milliseconds, monotonic).  Memory is bounded: each
 * of the two tables holds at most max_entries subjects, least recently
 * seen first out; only failures add entries, checks never do.
 * Thread-safe (sharded mutexes, as ratelimit.h).
 */
#ifndef PALISADE_LOCKOUT_H
#define PALISADE_LOCKOUT_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"
#include "palisade/gwpolicy.h"

struct pal_lockout;

/*
 * Tables for at most max_entries sources and as many key ids.  Errors:
 * PAL_ERR_INVALID, PAL_ERR_NOMEM, PAL_ERR_SYSTEM, PAL_ERR_CRYPTO.
 * Caller frees.
 */
int pal_lockout_new(size_t max_entries, struct pal_lockout **out,
		    struct pal_err *err);

/* Frees; NULL is a no-op. */
void pal_lockout_free(struct pal_lockout *lo);

/*
 * 1 when the source addr (16 bytes, IPv4 as ::ffff:a.b.c.d) is locked at
 * now_ms under pol, with *retry_after the seconds left (rounded up, at
 * least 1); else 0.
 */
int pal_lockout_source_locked(struct pal_lockout *lo,
			      const struct pal_gw_lockout *pol,
			      const uint8_t addr[16], int64_t now_ms,
			      uint32_t *retry_after);

/* As pal_lockout_source_locked, for a key id (NUL-terminated, <= 32). */
int pal_lockout_key_locked(struct pal_lockout *lo,
			   const struct pal_gw_lockout *pol,
			   const char *key_id, int64_t now_ms,
			   uint32_t *retry_after);

/* What a failure started: a bitmask, 0 when nothing new is locked. */
enum {
	PAL_LOCKOUT_SOURCE_LOCKED = 1u << 0,
	PAL_LOCKOUT_KEY_LOCKED = 1u << 1,
};

/*
 * Counts one failed authentication from addr, and against key_id when it
 * is not NULL (see above: only ids that exist).  Returns the
 * PAL_LOCKOUT_* bits of the locks this failure started, for the log.
 */
unsigned pal_lockout_failure(struct pal_lockout *lo,
			     const struct pal_gw_lockout *pol,
			     const uint8_t addr[16], const char *key_id,
			     int64_t now_ms);

/*
 * Lifts the lock and count of a source or key id (the admin's unblock).
 * Either may be NULL.
 */
void pal_lockout_clear(struct pal_lockout *lo, const uint8_t addr[16],
		       const char *key_id);

/* Sources and key ids held now (for metrics and tests). */
size_t pal_lockout_count(struct pal_lockout *lo);

/* The subject a source address is counted as (for logs and tests). */
void pal_lockout_source_subject(const uint8_t addr[16], uint8_t out[16]);

#endif
