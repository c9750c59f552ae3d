/*
 * json_writer.h - compact JSON written straight into a pal_buf, for records
 * made on hot paths (one per gateway request), where building a Jansson
 * tree only to serialize it costs dozens of allocations.
 *
 * The output is what json_dumps(..., JSON_COMPACT | JSON_ENSURE_ASCII)
 * gives for the same members in the same order: strings are escaped as
 * Jansson escapes them and every non-ASCII character becomes \uXXXX (a
 * surrogate pair above U+FFFF), so that entries stay 7-bit whichever
 * encoder wrote them.  Bytes that are not valid UTF-8 become U+FFFD:
 * Jansson refuses such strings, and a record must not be lost because a
 * client sent one.
 *
 * Errors are sticky: after the first failed append (the buffer's ceiling,
 * or memory) every call does nothing and pal_jw_error() returns it.
 * Nesting is tracked up to PAL_JW_DEPTH levels; deeper is an error.
 */
#ifndef PALISADE_JSON_WRITER_H
#define PALISADE_JSON_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/buf.h"

#define PAL_JW_DEPTH 8

struct pal_jw {
	struct pal_buf *out;		/* borrowed */
	unsigned depth;
	uint8_t level[PAL_JW_DEPTH];	/* per open level: array?, any members? */
	int rc;				/* 0, or the first error */
};

/* Starts writing at the end of out (which the caller owns). */
void pal_jw_init(struct pal_jw *w, struct pal_buf *out);

/* Opens an object or array: as a member named key, or as a value (key NULL). */
void pal_jw_object(struct pal_jw *w, const char *key);
void pal_jw_array(struct pal_jw *w, const char *key);
/* Closes the innermost object or array. */
void pal_jw_close(struct pal_jw *w);

/* Members (key non-NULL) or array elements (key NULL). */
void pal_jw_string(struct pal_jw *w, const char *key, const char *s);
void pal_jw_stringn(struct pal_jw *w, const char *key, const char *s,
		    size_t n);
void pal_jw_int(struct pal_jw *w, const char *key, int64_t v);
void pal_jw_bool(struct pal_jw *w, const char *key, int v);
void pal_jw_null(struct pal_jw *w, const char *key);
/* A value the caller already encoded as JSON (not checked). */
void pal_jw_raw(struct pal_jw *w, const char *key, const char *json,
		size_t n);

/* 0, or the first error (negative, a pal_err code). */
int pal_jw_error(const struct pal_jw *w);

#endif
