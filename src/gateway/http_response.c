/*
 * http_response.c - the upstream's response head: the status line, the
 * fields, and where the body ends (RFC 9112 sections 4, 6.3).
 *
 * Hand-written for the reason given in http_head.c.  The upstream is a
 * model server on loopback, but a gateway that its upstream can confuse
 * about where a response ends would hand the rest of one response to the
 * next client on the pooled connection; so the same discrepancies are
 * refused here (each with 502), and the framing rules are applied in
 * RFC 9112's order.
 */
#include <string.h>

#include "http_int.h"

/* "HTTP/1.1 200" is the shortest status line. */
#define STATUS_LINE_MIN 12

static int
bad_status(const struct http_fail *f, const char *what, size_t off)
{
	return pal_http_refuse(f, PAL_ERR_FORMAT, 502, NULL,
			       "response status line: %s at offset %zu",
			       what, off);
}

/* HTTP-version SP 3DIGIT [ SP reason-phrase ], buf[0..eol). */
static int
status_line(const uint8_t *buf, size_t eol, struct pal_http_response *r,
	    const struct http_fail *f)
{
	if (eol < STATUS_LINE_MIN || memcmp(buf, "HTTP/", 5) != 0 ||
	    buf[6] != '.' || buf[8] != ' ')
		return bad_status(f, "malformed", 0);
	if (buf[5] != '1' || (buf[7] != '0' && buf[7] != '1'))
		return pal_http_refuse(f, PAL_ERR_UNSUPPORTED, 502, NULL,
				       "response status line: version not "
				       "HTTP/1.0 or HTTP/1.1");
	r->version_minor = buf[7] - '0';
	if (buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9')
		return bad_status(f, "status code not 100..599", 9);
	r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 +
	    (buf[11] - '0');
	r->reason = (const char *)buf + eol;
	if (eol == STATUS_LINE_MIN)
		return 0;
	if (buf[12] != ' ')
		return bad_status(f, "no space after the status code", 12);
	for (size_t i = 13; i < eol; i++)
		if (!http_is(buf[i], HC_VALUE))
			return bad_status(f, "invalid byte in the reason", i);
	r->reason = (const char *)buf + 13;
	r->reason_len = eol - 13;
	return 0;
}

/* Statuses that never have a body whatever the fields say. */
static bool
bodiless(int status)
{
	return status < 200 || status == 204 || status == 304;
}

static int
chunked_framing(const struct http_fields *fl, struct pal_http_response *r,
		bool no_body, const struct http_fail *f)
{
	int rc;

	if (fl->content_length != NULL)
		return pal_http_refuse(f, PAL_ERR_FORMAT, 502, NULL,
				       "response has both Content-Length and "
				       "Transfer-Encoding");
	if (r->version_minor == 0)
		return pal_http_refuse(f, PAL_ERR_FORMAT, 502, NULL,
				       "Transfer-Encoding in an HTTP/1.0 "
				       "response");
	/* RFC 9112 6.1: never on 1xx and 204; a 304 has no body to frame. */
	if (bodiless(r->status))
		return pal_http_refuse(f, PAL_ERR_FORMAT, 502, NULL,
				       "Transfer-Encoding on a %d response",
				       r->status);
	if ((rc = pal_http_transfer_encoding(fl->transfer_encoding, f)) != 0)
		return rc;
	r->framing = no_body ? PAL_HTTP_BODY_NONE : PAL_HTTP_BODY_CHUNKED;
	return 0;
}

static int
length_framing(struct pal_http_parser *p, const struct http_fields *fl,
	       struct pal_http_response *r, bool no_body,
	       const struct http_fail *f)
{
	int rc;

	if ((rc = pal_http_content_length(fl->content_length,
					  &r->content_length, f)) != 0)
		return rc;
	/* RFC 9110 8.6: none on 1xx and 204; "0" is tolerated there. */
	if ((r->status < 200 || r->status == 204) && r->content_length != 0)
		return pal_http_refuse(f, PAL_ERR_FORMAT, 502, NULL,
				       "Content-Length %llu on a %d response",
				       (unsigned long long)r->content_length,
				       r->status);
	if (no_body) {
		r->framing = PAL_HTTP_BODY_NONE;
		r->content_length = 0;
		return 0;
	}
	if (r->content_length > p->lim.max_body)
		return pal_http_refuse(f, PAL_ERR_LIMIT, 502, NULL,
				       "response Content-Length %llu above "
				       "the limit %llu", (unsigned long long)
				       r->content_length, (unsigned long long)
				       p->lim.max_body);
	r->framing = PAL_HTTP_BODY_LENGTH;
	return 0;
}

static int
semantics(struct pal_http_parser *p, const struct http_fields *fl,
	  enum pal_http_method req_method, struct pal_http_response *r,
	  const struct http_fail *f)
{
	bool no_body = req_method == PAL_HTTP_HEAD || bodiless(r->status);
	int rc;

	if (r->status == 101)
		return pal_http_refuse(f, PAL_ERR_UNSUPPORTED, 502, NULL,
				       "101 Switching Protocols was not "
				       "asked for");
	if (fl->transfer_encoding != NULL)
		rc = chunked_framing(fl, r, no_body, f);
	else if (fl->content_length != NULL)
		rc = length_framing(p, fl, r, no_body, f);
	else {
		r->framing = no_body ? PAL_HTTP_BODY_NONE : PAL_HTTP_BODY_CLOSE;
		rc = 0;
	}
	if (rc != 0)
		return rc;
	r->keep_alive = (r->version_minor == 1 ? !fl->conn_close :
	    fl->conn_keep_alive && !fl->conn_close) &&
	    r->framing != PAL_HTTP_BODY_CLOSE;
	if (fl->content_type != NULL) {
		r->content_type = fl->content_type->value;
		r->content_type_len = fl->content_type->value_len;
	}
	return 0;
}

static int
parse_head(struct pal_http_parser *p, const uint8_t *buf,
	   enum pal_http_method req_method, struct pal_http_response *r,
	   const struct http_fail *f)
{
	const uint8_t *nl = memchr(buf, '\n', p->head_len);
	size_t eol = (size_t)(nl - buf) - 1;
	struct http_fields fl;
	int rc;

	if ((rc = status_line(buf, eol, r, f)) != 0)
		return rc;
	if ((rc = pal_http_fields_read(p, buf, eol + 2, false, &fl, f)) != 0)
		return rc;
	r->headers = p->hdrs;
	r->n_headers = fl.n;
	if ((rc = semantics(p, &fl, req_method, r, f)) != 0)
		return rc;
	r->head_len = p->head_len;
	return 0;
}

int
pal_http_response_parse(struct pal_http_parser *p, const void *vbuf,
			size_t len, enum pal_http_method req_method,
			struct pal_http_response *resp,
			struct pal_http_refusal *ref, struct pal_err *err)
{
	struct http_fail f = { &p->refused, &p->refused_code, true, ref,
			       err };
	const uint8_t *buf = vbuf;
	int rc;

	memset(resp, 0, sizeof(*resp));
	pal_http_ref_clear(ref);
	if (p->refused.status != 0 || p->hdrs == NULL || len < p->head_len)
		return pal_err_set(err, PAL_ERR_INVALID, "http parser: %s",
				   p->hdrs == NULL ? "not initialized" :
				   p->refused.status != 0 ? "used after a "
				   "refusal" : "buffer shorter than the head");
	if (p->head_len == 0 &&
	    (rc = pal_http_head_scan(p, buf, len, p->lim.max_head, 502,
				     &f)) != 0)
		return rc;
	if ((rc = parse_head(p, buf, req_method, resp, &f)) != 0)
		memset(resp, 0, sizeof(*resp));
	return rc;
}
