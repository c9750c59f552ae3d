/*
 * http_head.c - the gateway's HTTP/1.1 parser: limits, parser state, the
 * refusal record and the search for the end of a message head.
 *
 * Why this parser is written by hand: request smuggling lives in the
 * places where two HTTP implementations read the same bytes differently
 * (a bare LF, a folded line, "Transfer-Encoding: xchunked", two
 * Content-Lengths, a space before a colon).  A gateway is safe only if it
 * refuses every such discrepancy instead of resolving it, and the
 * libraries at hand resolve them: libevent's evhttp accepts bare LF,
 * folds lines and lets a later Content-Length win; general parsers are
 * lenient by design so as to talk to broken peers.  The rules refused
 * here, and why, are in docs/formats/http.md.
 *
 * Lines end in CRLF only.  The search below looks for LF with memchr and
 * checks the CR before each one, resuming where the previous call stopped,
 * so that a head fed one byte at a time is searched once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http_int.h"

#define T HC_TCHAR
#define V HC_VALUE
#define G HC_TARGET
#define H HC_HOST
#define X HC_HEX

/* Byte classes; each byte is named once (no overriding initializers). */
const uint8_t pal_http_class[256] = {
	['\t'] = V,
	[' '] = V,
	['!'] = T | V | G | H,
	['"'] = V,
	['#'] = T | V,
	['$'] = T | V | G | H,
	['%'] = T | V | H,
	['&'] = T | V | G | H,
	['\''] = T | V | G | H,
	['('] = V | G | H,
	[')'] = V | G | H,
	['*'] = T | V | G | H,
	['+'] = T | V | G | H,
	[','] = V | G | H,
	['-'] = T | V | G | H,
	['.'] = T | V | G | H,
	['/'] = V | G,
	['0' ... '9'] = T | V | G | H | X,
	[':'] = V | G | H,
	[';'] = V | G | H,
	['<'] = V,
	['='] = V | G | H,
	['>'] = V,
	['?'] = V | G,
	['@'] = V | G,
	['A' ... 'F'] = T | V | G | H | X,
	['G' ... 'Z'] = T | V | G | H,
	['['] = V | H,
	['\\'] = V,
	[']'] = V | H,
	['^'] = T | V,
	['_'] = T | V | G | H,
	['`'] = T | V,
	['a' ... 'f'] = T | V | G | H | X,
	['g' ... 'z'] = T | V | G | H,
	['{'] = V,
	['|'] = T | V,
	['}'] = V,
	['~'] = T | V | G | H,
	[0x80 ... 0xff] = V,
};

#undef T
#undef V
#undef G
#undef H
#undef X

void
pal_http_ref_clear(struct pal_http_refusal *ref)
{
	if (ref != NULL) {
		ref->status = 0;
		ref->reason = NULL;
	}
}

int
pal_http_refuse(const struct http_fail *f, int code, int status,
		const char *reason, const char *fmt, ...)
{
	char detail[PAL_ERR_MSG_MAX];
	va_list ap;

	/* The client of a gateway learns only that the upstream failed. */
	if (f->upstream) {
		status = 502;
		reason = "invalid response from upstream";
	}
	f->slot->status = status;
	f->slot->reason = reason;
	*f->slot_code = code;
	if (f->ref != NULL)
		*f->ref = *f->slot;
	if (f->err != NULL) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
		pal_err_set(f->err, code, "%s", detail);
	}
	return code;
}

void
pal_http_limits_default(struct pal_http_limits *lim)
{
	lim->max_head = 16u << 10;
	lim->max_target = 4u << 10;
	lim->max_headers = 64;
	lim->max_body = 1u << 20;
}

int
pal_http_parser_init(struct pal_http_parser *p,
		     const struct pal_http_limits *lim,
		     struct pal_http_header *hdrs, struct pal_err *err)
{
	memset(p, 0, sizeof(*p));
	if (lim->max_head < 64 || lim->max_head > (1u << 20))
		return pal_err_set(err, PAL_ERR_INVALID,
				   "http limits: max_head %zu outside 64..%u",
				   lim->max_head, 1u << 20);
	if (lim->max_target < 1 || lim->max_target > lim->max_head)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "http limits: max_target %zu outside "
				   "1..max_head", lim->max_target);
	if (lim->max_headers < 1 || lim->max_headers > 65535)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "http limits: max_headers %zu outside "
				   "1..65535", lim->max_headers);
	if (hdrs == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "http parser: no header array");
	p->lim = *lim;
	p->hdrs = hdrs;
	return 0;
}

void
pal_http_parser_reset(struct pal_http_parser *p)
{
	p->scanned = 0;
	p->line_start = 0;
	p->lines = 0;
	p->head_len = 0;
	p->refused.status = 0;
	p->refused.reason = NULL;
	p->refused_code = 0;
}

/* One LF at offset i: checks its CR, ends a line or the head. */
static int
scan_line_end(struct pal_http_parser *p, const uint8_t *buf, size_t i,
	      const struct http_fail *f)
{
	if (i == 0 || buf[i - 1] != '\r')
		return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
				       "line ending is not CRLF",
				       "bare LF at offset %zu (lines end in "
				       "CRLF only)", i);
	p->scanned = i + 1;
	if (i - 1 == p->line_start) {
		if (p->lines == 0)
			return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
					       "empty line before the start "
					       "line", "blank line at offset "
					       "0 before the start line");
		p->head_len = i + 1;
		return 0;
	}
	p->lines++;
	if (p->lines - 1 > p->lim.max_headers)
		return pal_http_refuse(f, PAL_ERR_LIMIT, 431,
				       "too many header fields",
				       "more than %zu field lines (line at "
				       "offset %zu)", p->lim.max_headers,
				       p->line_start);
	p->line_start = i + 1;
	return PAL_HTTP_MORE;
}

int
pal_http_head_scan(struct pal_http_parser *p, const uint8_t *buf,
		   size_t len, size_t first_line_max, int first_line_status,
		   const struct http_fail *f)
{
	size_t stop = len < p->lim.max_head ? len : p->lim.max_head;
	int rc;

	while (p->scanned < stop) {
		size_t lim = stop;
		const uint8_t *nl;

		if (p->lines == 0 && first_line_max < lim)
			lim = first_line_max;
		nl = memchr(buf + p->scanned, '\n', lim - p->scanned);
		if (nl == NULL) {
			p->scanned = lim;
			if (p->lines == 0 && lim == first_line_max)
				return pal_http_refuse(f, PAL_ERR_LIMIT,
						       first_line_status,
						       first_line_status ==
						       414 ? "request target "
						       "too long" : "start "
						       "line too long",
						       "start line longer "
						       "than %zu bytes",
						       first_line_max);
			break;
		}
		rc = scan_line_end(p, buf, (size_t)(nl - buf), f);
		if (rc != PAL_HTTP_MORE)
			return rc;
	}
	if (p->scanned >= p->lim.max_head)
		return pal_http_refuse(f, PAL_ERR_LIMIT, 431,
				       "request header fields too large",
				       "head longer than %zu bytes",
				       p->lim.max_head);
	return PAL_HTTP_MORE;
}
