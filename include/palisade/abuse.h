/*
 * abuse.h - per-key signals of model extraction and probing for
 * `palisade serve` (docs/abuse.md).
 *
 * The guidance asks to "monitor for attempts to access or elicit data from
 * the AI model or aggregate inference responses" and for "high frequency
 * or repetitive inputs".  For every API key the table keeps a short
 * history and counts, within struct pal_gw_abuse_policy's window_s:
 *
 *   rate        requests (max_rate);
 *   near_dup    prompts that are near-duplicates of an earlier prompt
 *               still in the history: their 64-bit SimHashes (over the
 *               prompt's pairs of adjacent words) differ in at most
 *               round((1 - near_dup_similarity) * 64) bits; an exact
 *               repeat is a near-duplicate (near_dup_count);
 *   variation   prompts that are a small edit of an earlier prompt still
 *               in the history: the same number of words, at least
 *               PAL_ABUSE_VAR_MIN_WORDS, not the same text, and the words
 *               differ in at most one of eight position classes (word i
 *               is in class i mod 8; two classes when the prompt has at
 *               least 16 words) - "salary of employee 1001", "... 1002"
 *               (variation_count).
 *
 * A prompt counts at most once towards near_dup and once towards
 * variation, however many earlier prompts it resembles.  Words are runs
 * of ASCII letters and digits or of non-ASCII bytes, ASCII letters folded
 * to lower case; punctuation and spacing do not count.  The prompt of a
 * request is its last user message (earlier turns of a conversation are
 * resent with every request and would make every request look like the
 * one before); a request without one counts only towards the rate.
 *
 * A signal with a threshold of 0 is off.  A signal fires when its count
 * reaches its threshold, once: it fires again only after the count has
 * fallen to half the threshold or below (hysteresis, so that a key that
 * hovers at the threshold sends one alert, not one per request).
 *
 * Memory is bounded: at most max_keys keys are tracked; a new key evicts
 * the key least recently seen in its shard.  A key uses about 2 KiB
 * (576 bytes and 48 per remembered prompt).
 * Counts are kept in PAL_ABUSE_SLOTS slots of the window, so an event
 * leaves the counts between window_s - slot and window_s + slot seconds
 * after it happened (slot = ceil(window_s / PAL_ABUSE_SLOTS)); the
 * history of prompts holds the last `history` prompts of a key, each
 * compared only while it is younger than window_s.
 *
 * Threads: every function that takes a table may be called from several
 * threads at once; keys are spread over shards, each with its own mutex,
 * held only for the O(history) comparison and bookkeeping (the sketch of
 * a prompt is computed before the lock is taken).
 */
#ifndef PALISADE_ABUSE_H
#define PALISADE_ABUSE_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/buf.h"
#include "palisade/error.h"
#include "palisade/gwpolicy.h"
#include "palisade/inject.h"

#define PAL_ABUSE_KEY_MAX 128		/* bytes of a key id */
#define PAL_ABUSE_SLOTS 16		/* slots a window is counted in */
#define PAL_ABUSE_HISTORY_MAX 256	/* prompts remembered per key */
#define PAL_ABUSE_VAR_MIN_WORDS 5	/* shortest prompt for variation */
#define PAL_ABUSE_SKETCH_MAX (64u << 10) /* bytes of a prompt sketched */
#define PAL_ABUSE_WINDOW_MAX 86400u	/* longest window_s, a day */

enum pal_abuse_signal {
	PAL_ABUSE_RATE = 0,
	PAL_ABUSE_NEAR_DUP,
	PAL_ABUSE_VARIATION,
	PAL_ABUSE_SIGNALS
};

#define PAL_ABUSE_BIT(s) (1u << (s))

/* Sizes of a table; zero fields take the defaults shown. */
struct pal_abuse_opts {
	size_t max_keys;	/* 10000 */
	uint32_t history;	/* prompts kept per key: 32 */
	uint32_t shards;	/* rounded up to a power of two: 16 */
};

/*
 * What one request did to its key's signals.  count[] and threshold[]
 * are the counts in the window after this request, and the policy's
 * thresholds (0: off).
 */
struct pal_abuse_verdict {
	uint32_t fired;		/* PAL_ABUSE_BIT() of each signal that
				   reached its threshold with this request */
	uint32_t active;	/* signals at or above threshold now */
	int block;		/* fired != 0 and the policy blocks */
	uint32_t count[PAL_ABUSE_SIGNALS];
	uint32_t threshold[PAL_ABUSE_SIGNALS];
	uint32_t window_s;
	int64_t now_s;
};

struct pal_abuse_table;

/*
 * A new table enforcing policy (its numbers are copied; webhook is not
 * used here).  opts may be NULL.  Errors: PAL_ERR_INVALID naming the
 * field for window_s 0 or above PAL_ABUSE_WINDOW_MAX, near_dup_similarity
 * outside [0, 1], history above PAL_ABUSE_HISTORY_MAX, max_keys below the
 * number of shards; PAL_ERR_NOMEM.  *out is the caller's
 * (pal_abuse_table_free).
 */
int pal_abuse_table_new(const struct pal_gw_abuse_policy *policy,
			const struct pal_abuse_opts *opts,
			struct pal_abuse_table **out, struct pal_err *err);

void pal_abuse_table_free(struct pal_abuse_table *t);

/*
 * Puts a new policy in force (a reloaded configuration), checked as by
 * pal_abuse_table_new; the history is kept.  Safe while other threads
 * observe.
 */
int pal_abuse_set_policy(struct pal_abuse_table *t,
			 const struct pal_gw_abuse_policy *policy,
			 struct pal_err *err);

/*
 * Records one request of key_id at now_s (seconds of a clock that does
 * not go back; a time before the key's last is taken as its last) with
 * the request's messages spans[0..n), and says what it did in *v.
 * Errors: PAL_ERR_INVALID for a key id that is empty or longer than
 * PAL_ABUSE_KEY_MAX; PAL_ERR_NOMEM.  *v is cleared on entry.
 */
int pal_abuse_observe(struct pal_abuse_table *t, const char *key_id,
		      int64_t now_s, const struct pal_inject_span *spans,
		      size_t n, struct pal_abuse_verdict *v,
		      struct pal_err *err);

/* Forgets a key's history (e.g. when an operator unblocks it). */
void pal_abuse_forget(struct pal_abuse_table *t, const char *key_id);

/* The number of keys tracked now. */
size_t pal_abuse_count(struct pal_abuse_table *t);

/* The name of a signal in alerts and logs: "rate", "near_duplicate"... */
const char *pal_abuse_signal_name(enum pal_abuse_signal s);

/*
 * Appends the alert for a verdict that fired to out, as one line of
 * compact JSON (no newline), for the log entry and the webhook body:
 *
 *   {"type":"palisade.abuse","key_id":"k1","time":1700000000,
 *    "window_s":60,"signals":["near_duplicate"],"block":true,
 *    "counts":{"rate":{"count":12,"threshold":100},
 *              "near_duplicate":{"count":10,"threshold":10},
 *              "variation":{"count":0,"threshold":20}}}
 *
 * "signals" lists the signals that fired.  key_id is escaped as JSON
 * requires.  Errors: PAL_ERR_LIMIT when out's ceiling is reached,
 * PAL_ERR_NOMEM.
 */
int pal_abuse_alert_json(const char *key_id, const struct pal_abuse_verdict *v,
			 struct pal_buf *out, struct pal_err *err);

#endif
