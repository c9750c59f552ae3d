/*
 * yaml_strict.h - reading YAML files that decide what Palisade trusts
 * (trust policies, the gateway's configuration) strictly, on libyaml's
 * event parser.
 *
 * A reader walks the events itself, with a table of known keys for each
 * mapping: one document, a mapping at the top, only known keys, each at
 * most once; no anchors, aliases, tags or tag directives (they only add
 * ways to say the same thing); lists with a maximum length; scalars typed
 * strictly (a string is never a plain scalar that YAML would read as
 * null, a boolean or a number; a number is plain decimal digits; a
 * boolean is true or false).  Every error is PAL_ERR_POLICY (or NOMEM)
 * with "name:line:column: detail", both 1-based, where name is the file.
 *
 * Messages name what was wrong in one of two ways.  A reader that passes
 * a description as `what` ("'match'", "a rule") gets it in the sentence:
 * "'match' must be a string", "unknown key 'x' in a rule (known: ...)".
 * A reader that passes NULL gets the key path of the value instead, built
 * as mappings and lists are entered ("listen.limits.max_body_bytes",
 * "roles[2].networks[0]"), at the front: "listen.tls: unknown key 'x'
 * (known: ...)", "listen.limits.max_body_bytes: must be between 1024 and
 * 67108864".
 *
 * Not thread-safe per reader; readers are independent.
 */
#ifndef PALISADE_YAML_STRICT_H
#define PALISADE_YAML_STRICT_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "palisade/buf.h"
#include "palisade/error.h"

#define PAL_YAML_PATH_MAX 256	/* bytes of a key path in messages */
#define PAL_YAML_FIELDS_MAX 32	/* keys in one table */

struct pal_yaml {
	yaml_parser_t parser;
	yaml_event_t ev;		/* the current event */
	int have_ev;
	const char *name;		/* the file, first in every message */
	void *ctx;			/* the caller's reader */
	struct pal_err *err;
	struct pal_buf shown;		/* scratch for messages */
	char path[PAL_YAML_PATH_MAX];	/* key path of the current value */
	size_t path_len;
};

/*
 * A key of a mapping: parse reads its value, with the value's first event
 * current, into obj; it leaves the value's last event current.  missing is
 * the message when a required key is absent (NULL: optional).
 */
struct pal_yaml_field {
	const char *name;
	int (*parse)(struct pal_yaml *y, void *obj);
	const char *missing;
};

#define PAL_YAML_NFIELDS(f) (sizeof(f) / sizeof((f)[0]))

/*
 * Starts reading yaml[0..len) (borrowed until pal_yaml_end) for a file
 * called name (borrowed), errors into err; ctx is the caller's, for its
 * callbacks.  pal_yaml_end is due whatever this returns.
 */
int pal_yaml_begin(struct pal_yaml *y, const uint8_t *yaml, size_t len,
		   const char *name, void *ctx, struct pal_err *err);
void pal_yaml_end(struct pal_yaml *y);

/*
 * Reads the one document of the stream, a mapping, with the keys of f.
 * what names it in messages ("the policy"); empty starts the message for
 * a stream without a document ("empty trust policy").  With first set,
 * f[0] must be the mapping's first key (e.g. 'version', so that nothing is
 * read under the wrong meaning).
 */
int pal_yaml_document(struct pal_yaml *y, const struct pal_yaml_field *f,
		      size_t nf, const char *what, const char *empty,
		      int first, void *obj);

/*
 * A mapping whose start is the current event, read into obj: only the
 * keys of f (at most PAL_YAML_FIELDS_MAX), each at most once, every
 * required one present.  Ends with the mapping's end event current.
 */
int pal_yaml_mapping(struct pal_yaml *y, const struct pal_yaml_field *f,
		     size_t nf, const char *what, void *obj);

/*
 * A sequence whose start is the current event: item reads each element
 * (its first event current) into obj; at most max of them.  *count says
 * how many there were.  what (NULL: the key path) is a bare name, quoted
 * in messages.
 */
int pal_yaml_list(struct pal_yaml *y, const char *what, size_t max,
		  int (*item)(struct pal_yaml *y, void *obj), void *obj,
		  size_t *count);

/*
 * Typed scalars, the current event.  A string is 1 to max bytes without
 * control characters (and so without NUL), and not a plain scalar YAML
 * would read as something else; caller frees *out.  An unsigned integer
 * is a plain scalar of decimal digits without leading zeros, in
 * [min, max].  A number is digits with at most 9 more after a point, in
 * [min, max].  A boolean is plain true or false.  An enumeration is one
 * of names[0..n), *out its index.
 */
int pal_yaml_string(struct pal_yaml *y, const char *what, size_t max,
		    char **out);
int pal_yaml_uint(struct pal_yaml *y, const char *what, uint64_t min,
		  uint64_t max, uint64_t *out);
int pal_yaml_number(struct pal_yaml *y, const char *what, double min,
		    double max, double *out);
int pal_yaml_bool(struct pal_yaml *y, const char *what, int *out);
int pal_yaml_enum(struct pal_yaml *y, const char *what,
		  const char *const *names, size_t n, int *out);

/*
 * The version key: the plain number want.  Another number is "unsupported
 * version"; anything else "'version' must be the number N".
 */
int pal_yaml_version(struct pal_yaml *y, unsigned want);

/* Moves to the next event, checking it (no anchors, aliases, tags). */
int pal_yaml_next(struct pal_yaml *y);

/* Moves to the next event, which must be of type (else "expected what"). */
int pal_yaml_expect(struct pal_yaml *y, yaml_event_type_t type,
		    const char *what);

/* Reports "name:line:column: detail" as PAL_ERR_POLICY. */
int pal_yaml_fail(struct pal_yaml *y, const yaml_mark_t *m, const char *fmt,
		  ...) __attribute__((format(printf, 3, 4)));

/*
 * As pal_yaml_fail, with "<key path>: " before the detail (nothing when
 * the path is empty).
 */
int pal_yaml_fail_path(struct pal_yaml *y, const yaml_mark_t *m,
		       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Puts "name:line:column: detail" before the error rc already in the
 * error context; rc stays the error.
 */
int pal_yaml_fail_wrap(struct pal_yaml *y, int rc, const yaml_mark_t *m,
		       const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "name: out of memory", PAL_ERR_NOMEM. */
int pal_yaml_nomem(struct pal_yaml *y);

/*
 * The current scalar, escaped and cut at 64 bytes, for a message; valid
 * until the next call that builds a message.
 */
const char *pal_yaml_shown(struct pal_yaml *y);

/* The key path of the current value ("" at the top). */
const char *pal_yaml_path(const struct pal_yaml *y);

/* 1 if the scalar ev is exactly s. */
int pal_yaml_scalar_is(const yaml_event_t *ev, const char *s);

/* 1 if s[0..n) is something YAML would read as a number ("+1", "0x1f"). */
int pal_yaml_numeric(const char *s, size_t n);

/* 1 if ev is a plain scalar YAML would read as null, a boolean or a number. */
int pal_yaml_plain_non_string(const yaml_event_t *ev);

/* Makes room for one more zeroed element after the n in *v. */
int pal_yaml_grow(struct pal_yaml *y, void **v, size_t n, size_t size);

/*
 * Appends s to the n strings of *v.  Takes s: it is freed if it cannot
 * be appended.
 */
int pal_yaml_push_string(struct pal_yaml *y, char ***v, size_t *n, char *s);

#endif
