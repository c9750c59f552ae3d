/*
 * http_int.h - what the HTTP parser's files share: character tables, the
 * refusal helper, the search for the end of a head and the reading of
 * field lines common to requests and responses.
 */
#ifndef PAL_HTTP_INT_H
#define PAL_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "palisade/http.h"

/* Classes of bytes (bits of pal_http_class[]). */
enum {
	HC_TCHAR = 1 << 0,	/* token character (RFC 9110 5.6.2) */
	HC_VALUE = 1 << 1,	/* field-value byte: HTAB SP VCHAR obs-text */
	HC_TARGET = 1 << 2,	/* origin-form byte other than '%': pchar
				   without escapes, '/', '?' */
	HC_HOST = 1 << 3,	/* Host byte: reg-name, IP literal, port */
	HC_HEX = 1 << 4,	/* hexadecimal digit */
};

extern const uint8_t pal_http_class[256];

static inline bool
http_is(uint8_t b, unsigned cls)
{
	return (pal_http_class[b] & cls) != 0;
}

/* ASCII lowercase of one byte (no locale). */
static inline uint8_t
http_lower(uint8_t b)
{
	return (uint8_t)(b | (((unsigned)b - 'A' < 26u) << 5));
}

/* ASCII case-insensitive equality of s[0..n) with the lowercase lit. */
static inline bool
pal_http_ieq(const char *s, size_t n, const char *lit, size_t lit_len)
{
	if (n != lit_len)
		return false;
	for (size_t i = 0; i < n; i++)
		if (http_lower((uint8_t)s[i]) != (uint8_t)lit[i])
			return false;
	return true;
}

/*
 * Number of leading bytes of s[0..n) that may appear in a field value
 * (HC_VALUE).  Eight bytes at a time while none is below 0x20 or 0x7f
 * (the common case: printable ASCII and obs-text), then byte by byte.
 * The word tests are exact about whether such a byte is present.
 */
static inline size_t
pal_http_value_span(const uint8_t *s, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull;
	const uint64_t high = 0x8080808080808080ull;
	size_t i = 0;

	for (; n - i >= 8; i += 8) {
		uint64_t w, del;

		memcpy(&w, s + i, 8);
		del = w ^ (0x7f * ones);
		if ((((w - 0x20 * ones) & ~w) | ((del - ones) & ~del)) & high)
			break;
	}
	while (i < n && http_is(s[i], HC_VALUE))
		i++;
	return i;
}

#define HTTP_IEQ(s, n, lit) pal_http_ieq((s), (n), (lit), sizeof(lit) - 1)

/* Where a refusal is recorded and reported, for one call. */
struct http_fail {
	struct pal_http_refusal *slot;	/* the parser's or decoder's */
	int *slot_code;
	bool upstream;			/* every status becomes 502 */
	struct pal_http_refusal *ref;	/* the caller's, may be NULL */
	struct pal_err *err;		/* the caller's, may be NULL */
};

/*
 * Records a refusal (status, client-safe reason, detail) everywhere it
 * belongs and returns code.
 */
int pal_http_refuse(const struct http_fail *f, int code, int status,
		    const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Status to report for a call that did not refuse. */
void pal_http_ref_clear(struct pal_http_refusal *ref);

/*
 * Searches buf[0..len) for the end of the head from where the last call
 * stopped.  Refuses bare LF, a blank first line, a first line longer than
 * first_line_max (with first_line_status), more than max_headers field
 * lines and a head longer than max_head.  Returns 0 once p->head_len is
 * set, PAL_HTTP_MORE, or a refusal.
 */
int pal_http_head_scan(struct pal_http_parser *p, const uint8_t *buf,
		       size_t len, size_t first_line_max,
		       int first_line_status, const struct http_fail *f);

/* The fields that framing and routing depend on, each at most once. */
struct http_fields {
	const struct pal_http_header *content_length;
	const struct pal_http_header *transfer_encoding;
	const struct pal_http_header *host;
	const struct pal_http_header *content_type;
	const struct pal_http_header *expect;
	const struct pal_http_header *authorization;
	bool conn_close;		/* Connection lists "close" */
	bool conn_keep_alive;		/* Connection lists "keep-alive" */
	size_t n;			/* field lines stored in p->hdrs */
};

/*
 * Reads the field lines of the head from offset start (just after the
 * start line's CRLF) into p->hdrs and *out.  Requests also refuse '_' in
 * names and a repeated Host, Content-Type, Authorization or Expect; both
 * refuse a repeated Content-Length or Transfer-Encoding and malformed
 * Connection lists.
 */
int pal_http_fields_read(struct pal_http_parser *p, const uint8_t *buf,
			 size_t start, bool request, struct http_fields *out,
			 const struct http_fail *f);

/* Content-Length: 1*DIGIT, no leading zero, at most 19 digits. */
int pal_http_content_length(const struct pal_http_header *h, uint64_t *v,
			    const struct http_fail *f);

/*
 * Transfer-Encoding must be exactly "chunked" (case-insensitive): 501 for
 * other codings before a final chunked, 400 for a list where chunked is
 * missing, repeated or not last, or malformed.
 */
int pal_http_transfer_encoding(const struct pal_http_header *h,
			       const struct http_fail *f);

#endif
