/*
 * http_chunked.c - the chunked transfer coding (RFC 9112 section 7.1),
 * decoded incrementally from slices of any size, one byte included.
 *
 * Hand-written for the reason given in http_head.c: chunk framing is a
 * favourite place for smuggling (a size that overflows, "0x5", a space
 * after the size, LF instead of CRLF after the data, an extension holding
 * a line break).  This decoder takes one reading of each byte and refuses
 * everything outside the grammar:
 *
 *   chunk-size   1..16 hex digits, counted against the body limit as
 *                they arrive (so no value can overflow or exceed it);
 *   extensions   ';' then at most PAL_HTTP_MAX_CHUNK_EXT bytes of VCHAR,
 *                SP, HTAB or obs-text up to the CR; ignored (the gateway
 *                never forwards them), so their inner syntax is not
 *                interpreted; no whitespace between the size and ';';
 *   data         exactly chunk-size bytes, then CRLF;
 *   trailers     field lines as in a head (token name touching its
 *                colon, value bytes), at most PAL_HTTP_MAX_TRAILER bytes,
 *                ignored; then CRLF.
 */
#include <string.h>

#include "http_int.h"

enum {
	CK_SIZE_FIRST = 0,	/* first hex digit of a chunk-size */
	CK_SIZE,		/* more digits, ';' or CR */
	CK_EXT,			/* extension bytes up to CR */
	CK_SIZE_LF,		/* LF after the size line */
	CK_DATA,		/* chunk data */
	CK_DATA_CR,		/* CR after the data */
	CK_DATA_LF,		/* LF after the data */
	CK_TR_START,		/* a trailer field line or the final CRLF */
	CK_TR_NAME,		/* trailer field name */
	CK_TR_VALUE,		/* trailer field value */
	CK_TR_LF,		/* LF after a trailer field line */
	CK_END_LF,		/* LF of the final CRLF */
	CK_DONE,
};

void
pal_http_chunked_init(struct pal_http_chunked *c, uint64_t max_body,
		      enum pal_http_side side)
{
	memset(c, 0, sizeof(*c));
	c->max_body = max_body;
	c->state = CK_SIZE_FIRST;
	c->side = (uint8_t)side;
}

bool
pal_http_chunked_done(const struct pal_http_chunked *c)
{
	return c->state == CK_DONE;
}

static int
bad(const struct http_fail *f, const char *what, uint64_t off)
{
	return pal_http_refuse(f, PAL_ERR_FORMAT, 400, "invalid chunked body",
			       "chunked body: %s at offset %llu", what,
			       (unsigned long long)off);
}

static unsigned
hex_value(uint8_t b)
{
	return b <= '9' ? (unsigned)(b - '0') : (unsigned)(http_lower(b) -
							   'a' + 10);
}

/* One more digit of the chunk-size, counted against the limit. */
static int
size_digit(struct pal_http_chunked *c, uint8_t b, uint64_t off,
	   const struct http_fail *f)
{
	if (c->count == 16)
		return bad(f, "chunk size longer than 16 hex digits", off);
	c->left = c->left << 4 | hex_value(b);
	c->count++;
	if (c->left > c->max_body - c->total)
		return pal_http_refuse(f, PAL_ERR_LIMIT, 413,
				       "request body too large",
				       "chunked body: data beyond the limit "
				       "%llu at offset %llu",
				       (unsigned long long)c->max_body,
				       (unsigned long long)off);
	c->state = CK_SIZE;
	return 0;
}

/* The size line: digits, an optional extension, CRLF. */
static int
size_line(struct pal_http_chunked *c, uint8_t b, uint64_t off,
	  const struct http_fail *f)
{
	switch (c->state) {
	case CK_SIZE_FIRST:
		if (!http_is(b, HC_HEX))
			return bad(f, "chunk size expected", off);
		return size_digit(c, b, off, f);
	case CK_SIZE:
		if (http_is(b, HC_HEX))
			return size_digit(c, b, off, f);
		if (b == ';') {
			c->count = 1;
			c->state = CK_EXT;
		} else if (b == '\r') {
			c->state = CK_SIZE_LF;
		} else {
			return bad(f, "invalid byte after the chunk size", off);
		}
		return 0;
	case CK_EXT:
		if (b == '\r') {
			c->state = CK_SIZE_LF;
			return 0;
		}
		if (!http_is(b, HC_VALUE))
			return bad(f, "invalid byte in a chunk extension", off);
		if (++c->count > PAL_HTTP_MAX_CHUNK_EXT)
			return bad(f, "chunk extension too long", off);
		return 0;
	default: /* CK_SIZE_LF */
		if (b != '\n')
			return bad(f, "chunk size line not ended by CRLF", off);
		if (c->left == 0) {
			c->count = 0;
			c->state = CK_TR_START;
		} else {
			c->total += c->left;
			c->state = CK_DATA;
		}
		return 0;
	}
}

/* The trailer section: field lines, then the final CRLF. */
static int
trailer(struct pal_http_chunked *c, uint8_t b, uint64_t off,
	const struct http_fail *f)
{
	if (++c->count > PAL_HTTP_MAX_TRAILER)
		return pal_http_refuse(f, PAL_ERR_LIMIT, 431,
				       "trailer fields too large",
				       "chunked body: trailers longer than "
				       "%u bytes", PAL_HTTP_MAX_TRAILER);
	switch (c->state) {
	case CK_TR_START:
		if (b == '\r')
			c->state = CK_END_LF;
		else if (http_is(b, HC_TCHAR))
			c->state = CK_TR_NAME;
		else
			return bad(f, "invalid trailer field line", off);
		return 0;
	case CK_TR_NAME:
		if (b == ':')
			c->state = CK_TR_VALUE;
		else if (!http_is(b, HC_TCHAR))
			return bad(f, "invalid trailer field name", off);
		return 0;
	case CK_TR_VALUE:
		if (b == '\r')
			c->state = CK_TR_LF;
		else if (!http_is(b, HC_VALUE))
			return bad(f, "invalid trailer field value", off);
		return 0;
	case CK_TR_LF:
		if (b != '\n')
			return bad(f, "trailer line not ended by CRLF", off);
		c->state = CK_TR_START;
		return 0;
	default: /* CK_END_LF */
		if (b != '\n')
			return bad(f, "final CRLF expected", off);
		c->state = CK_DONE;
		return 0;
	}
}

/* One framing byte (any state but CK_DATA and CK_DONE). */
static int
step(struct pal_http_chunked *c, uint8_t b, uint64_t off,
     const struct http_fail *f)
{
	switch (c->state) {
	case CK_SIZE_FIRST:
	case CK_SIZE:
	case CK_EXT:
	case CK_SIZE_LF:
		return size_line(c, b, off, f);
	case CK_DATA_CR:
		if (b != '\r')
			return bad(f, "chunk data not followed by CRLF", off);
		c->state = CK_DATA_LF;
		return 0;
	case CK_DATA_LF:
		if (b != '\n')
			return bad(f, "chunk data not followed by CRLF", off);
		c->left = 0;
		c->count = 0;
		c->state = CK_SIZE_FIRST;
		return 0;
	default:
		return trailer(c, b, off, f);
	}
}

int
pal_http_chunked_feed(struct pal_http_chunked *c, const void *vin,
		      size_t len, size_t *used, const uint8_t **data,
		      size_t *data_len, struct pal_http_refusal *ref,
		      struct pal_err *err)
{
	struct http_fail f = { &c->refused, &c->refused_code,
			       c->side == PAL_HTTP_FROM_UPSTREAM, ref, err };
	const uint8_t *in = vin;
	size_t i = 0;
	int rc;

	*used = 0;
	*data = NULL;
	*data_len = 0;
	pal_http_ref_clear(ref);
	if (c->refused.status != 0)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "chunked body: used after a refusal");
	while (i < len && c->state != CK_DONE) {
		if (c->state == CK_DATA) {
			size_t n = len - i;

			if (n > c->left)
				n = (size_t)c->left;
			*data = in + i;
			*data_len = n;
			c->left -= n;
			i += n;
			if (c->left == 0)
				c->state = CK_DATA_CR;
			break;
		}
		if ((rc = step(c, in[i], c->off + i, &f)) != 0)
			return rc;
		i++;
	}
	c->off += i;
	*used = i;
	return 0;
}
