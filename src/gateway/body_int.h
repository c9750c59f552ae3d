/*
 * body_int.h - internals shared by the request checker (body_*.c) and the
 * response filter (resp_*.c).  Not part of the library's contract.
 */
#ifndef PAL_GW_BODY_INT_H
#define PAL_GW_BODY_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "palisade/buf.h"
#include "palisade/gwbody.h"

/*
 * Where a value sits in the request, as a chain of frames on the C stack
 * (key, or index when key is NULL).  Formatted only when something is
 * refused, so that the accepted path costs nothing.
 */
struct gw_path {
	const struct gw_path *up;
	const char *key;
	size_t idx;
};

/* Writes "messages[3].content" (keys escaped, cut) into out. */
void gw_path_format(const struct gw_path *p, char *out, size_t cap);

/*
 * Reads the JSON text p[0..n) into Jansson values (body_json.c): what
 * json_loadb accepts with JSON_REJECT_DUPLICATES (| JSON_ALLOW_NUL when
 * allow_nul), except a raw NUL byte after a number or literal, refusing
 * nesting deeper than max_depth (at most 1024) with PAL_ERR_LIMIT.  0 and
 * *out (caller decrefs), or PAL_ERR_FORMAT, PAL_ERR_LIMIT, PAL_ERR_NOMEM
 * with "invalid JSON at byte N: why" in err.
 */
int gw_json_load(const uint8_t *p, size_t n, uint32_t max_depth, int allow_nul,
		 json_t **out, struct pal_err *err);

/*
 * Eight bytes at a time (SWAR): whether any byte of x is below n (n at
 * most 128), or equal to c.  Exact as booleans; they let the scanners of
 * long prompt text skip the bytes that need no attention.
 */
#define GW_ONES		0x0101010101010101ull
#define GW_HIGHS	0x8080808080808080ull

static inline uint64_t
gw_has_less(uint64_t x, unsigned n)
{
	return (x - GW_ONES * n) & ~x & GW_HIGHS;
}

static inline uint64_t
gw_has_byte(uint64_t x, unsigned c)
{
	uint64_t y = x ^ (GW_ONES * c);

	return (y - GW_ONES) & ~y & GW_HIGHS;
}

/*
 * Offset of the first control character of the valid UTF-8 text s[0..n)
 * (C0 other than tab, LF, CR; DEL; C1), with its code point in *cp; n when
 * there is none.
 */
size_t gw_text_control(const char *s, size_t n, uint32_t *cp);

/* The state of one request check. */
struct gw_walk {
	const struct pal_gw_body_policy *pol;
	enum pal_gw_route_kind kind;
	struct pal_gw_body_info *info;
	struct pal_gw_span **spans;	/* the checker's span array */
	size_t *spans_cap;
	int *status;
	struct pal_err *err;
	/* What the walk saw, for the checks across fields. */
	int have_mt, have_mct;
	json_int_t mt, mct;
	json_t *stream_options;
	int logprobs_stripped;
	int modified;
};

/* Result of a field check: keep the field, or drop it (stripped). */
#define GW_KEEP	0
#define GW_DROP	1

/*
 * Refuses the request: *status = status, err = "<path>: <detail>".
 * Returns code.
 */
int gw_refuse(struct gw_walk *w, int status, int code,
	      const struct gw_path *p, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* A 400 with a fixed detail: gw_refuse(w, 400, PAL_ERR_FORMAT, ...). */
int gw_bad(struct gw_walk *w, const struct gw_path *p, const char *what);

/*
 * An array of at most max entries (0: no bound), each checked by item with
 * its own path (its index in idx).  GW_KEEP or < 0.
 */
typedef int (*gw_item_fn)(struct gw_walk *w, json_t *v,
			  const struct gw_path *p);
int gw_array(struct gw_walk *w, json_t *v, const struct gw_path *p,
	     size_t max, gw_item_fn item);

/* Out of memory while checking (500). */
int gw_nomem(struct gw_walk *w);

/* A string of at most max bytes without control characters; its value. */
int gw_string(struct gw_walk *w, json_t *v, const struct gw_path *p,
	      size_t max, const char **s, size_t *len);

/* Checks one top-level field of the request; GW_KEEP, GW_DROP or < 0. */
int gw_field(struct gw_walk *w, const char *key, json_t *v,
	     const struct gw_path *p);

/* The unknown-field policy for a key of any object; GW_KEEP/DROP, < 0. */
int gw_unknown(struct gw_walk *w, const struct gw_path *p);

/* The text-bearing fields (body_text.c): messages, prompt, suffix, input. */
int gw_messages(struct gw_walk *w, json_t *v, const struct gw_path *p);
int gw_prompt(struct gw_walk *w, json_t *v, const struct gw_path *p,
	      enum pal_gw_text_role role);

/* ---- responses ---- */

#define GW_RESP_MAX_BODY	(16u << 20)
#define GW_RESP_MAX_EVENT	(1u << 20)
#define GW_RESP_MAX_DEPTH	64u

/* lim with its zero fields replaced by the defaults. */
void gw_resp_limits(const struct pal_gw_resp_limits *lim,
		    struct pal_gw_resp_limits *out);

/*
 * Parses one upstream JSON object (a body or an event's data) within lim:
 * duplicate keys refused, NUL allowed in strings (model output may hold
 * it).  *doc on success; caller decrefs.
 */
int gw_resp_parse(const uint8_t *p, size_t n,
		  const struct pal_gw_resp_limits *lim, json_t **doc,
		  struct pal_err *err);

/*
 * Applies the output policy to an upstream object: strips, reads usage
 * into *usage (when present and not null), and with drop_usage removes
 * "usage" and sets *drop for a usage-only chunk.  *changed when the
 * object differs from what was parsed.
 */
int gw_resp_apply(json_t *doc, const struct pal_gw_output_policy *pol,
		  int drop_usage, struct pal_gw_usage *usage, int *changed,
		  int *drop, struct pal_err *err);

#endif
