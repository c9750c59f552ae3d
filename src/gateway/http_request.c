/*
 * http_request.c - a client's request head: the request line, the fields,
 * and what they mean for routing and framing (RFC 9112 sections 3, 6).
 *
 * Hand-written for the reason given in http_head.c: the gateway must
 * refuse exactly the discrepancies that request smuggling uses.  The
 * target is accepted in origin-form only ("/path?query"), checked byte by
 * byte, and never decoded: the router compares raw bytes.
 */
#include <string.h>

#include "http_int.h"

/* Request line: METHOD SP origin-form SP HTTP/1.x, then CRLF. */
#define VERSION_LEN 8

static enum pal_http_method
method_of(const uint8_t *s, size_t n)
{
	switch (n) {
	case 3:
		if (memcmp(s, "GET", 3) == 0)
			return PAL_HTTP_GET;
		if (memcmp(s, "PUT", 3) == 0)
			return PAL_HTTP_PUT;
		break;
	case 4:
		if (memcmp(s, "POST", 4) == 0)
			return PAL_HTTP_POST;
		if (memcmp(s, "HEAD", 4) == 0)
			return PAL_HTTP_HEAD;
		break;
	case 5:
		if (memcmp(s, "PATCH", 5) == 0)
			return PAL_HTTP_PATCH;
		if (memcmp(s, "TRACE", 5) == 0)
			return PAL_HTTP_TRACE;
		break;
	case 6:
		if (memcmp(s, "DELETE", 6) == 0)
			return PAL_HTTP_DELETE;
		break;
	case 7:
		if (memcmp(s, "OPTIONS", 7) == 0)
			return PAL_HTTP_OPTIONS;
		if (memcmp(s, "CONNECT", 7) == 0)
			return PAL_HTTP_CONNECT;
		break;
	default:
		break;
	}
	return PAL_HTTP_OTHER;
}

static int
bad_line(const struct http_fail *f, const char *what, size_t off)
{
	return pal_http_refuse(f, PAL_ERR_FORMAT, 400, "malformed request line",
			       "request line: %s at offset %zu", what, off);
}

/* "." or ".." spelled with '.' or "%2e": a segment that moves up. */
static bool
dot_segment(const uint8_t *s, size_t n)
{
	size_t dots = 0, i = 0;

	while (i < n) {
		if (s[i] == '.') {
			i++;
		} else if (n - i >= 3 && s[i] == '%' && s[i + 1] == '2' &&
			   http_lower(s[i + 2]) == 'e') {
			i += 3;
		} else {
			return false;
		}
		dots++;
	}
	return dots == 1 || dots == 2;
}

static int
check_path(const uint8_t *buf, size_t t, size_t plen,
	   const struct http_fail *f)
{
	const uint8_t *path = buf + t;

	for (size_t i = 0; i < plen; i++) {
		size_t s, e;

		if (path[i] != '/')
			continue;
		s = i + 1;
		for (e = s; e < plen && path[e] != '/'; e++)
			;
		if (e - s <= 6 && dot_segment(path + s, e - s))
			return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
					       "dot segment in request path",
					       "request target: '.' or '..' "
					       "segment at offset %zu", t + s);
		i = e - 1;
	}
	return 0;
}

/* The origin-form target buf[t..t+n): bytes, escapes, path and query. */
static int
target(const uint8_t *buf, size_t t, size_t n, struct pal_http_request *req,
       const struct http_fail *f)
{
	size_t q = 0, end = t + n;

	if (buf[t] != '/')
		return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
				       "request target must start with '/'",
				       "request target at offset %zu is not "
				       "in origin-form", t);
	for (size_t i = t; i < end; i++) {
		uint8_t b = buf[i];

		if (b == '%') {
			if (end - i < 3 || !http_is(buf[i + 1], HC_HEX) ||
			    !http_is(buf[i + 2], HC_HEX) ||
			    (buf[i + 1] == '0' && buf[i + 2] == '0'))
				return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
						       "invalid percent-"
						       "encoding in request "
						       "target", "request "
						       "target: bad or NUL "
						       "escape at offset %zu",
						       i);
			i += 2;
		} else if (b == '?' && q == 0) {
			q = i;
		} else if (!http_is(b, HC_TARGET)) {
			return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
					       b == '#' ? "fragment in request "
					       "target" : "invalid character "
					       "in request target",
					       "request target: byte 0x%02x at "
					       "offset %zu", b, i);
		}
	}
	req->target = (const char *)buf + t;
	req->target_len = n;
	req->path = req->target;
	req->path_len = (q != 0 ? q : end) - t;
	if (q != 0) {
		req->query = (const char *)buf + q + 1;
		req->query_len = end - q - 1;
	}
	return check_path(buf, t, req->path_len, f);
}

static int
version(const uint8_t *v, size_t n, size_t off, struct pal_http_request *req,
	const struct http_fail *f)
{
	bool shaped = n == VERSION_LEN && memcmp(v, "HTTP/", 5) == 0 &&
	    v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
	    v[7] >= '0' && v[7] <= '9';

	if (!shaped)
		return bad_line(f, "malformed HTTP version", off);
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return pal_http_refuse(f, PAL_ERR_UNSUPPORTED, 505,
				       "HTTP version not supported",
				       "request line: version %.8s (only "
				       "HTTP/1.0 and HTTP/1.1)",
				       (const char *)v);
	req->version_minor = v[7] - '0';
	return 0;
}

/* The request line buf[0..eol), eol at its CR. */
static int
request_line(struct pal_http_parser *p, const uint8_t *buf, size_t eol,
	     struct pal_http_request *req, const struct http_fail *f)
{
	const uint8_t *sp = memchr(buf, ' ', eol);
	size_t m, t, tl;
	int rc;

	if (sp == NULL)
		return bad_line(f, "no space after the method", 0);
	m = (size_t)(sp - buf);
	if (m == 0 || m > PAL_HTTP_MAX_METHOD)
		return bad_line(f, m == 0 ? "empty method" : "method too long",
				0);
	for (size_t i = 0; i < m; i++)
		if (!http_is(buf[i], HC_TCHAR))
			return bad_line(f, "invalid byte in the method", i);
	req->method = method_of(buf, m);
	req->method_name = (const char *)buf;
	req->method_len = m;
	t = m + 1;
	if ((sp = memchr(buf + t, ' ', eol - t)) == NULL)
		return bad_line(f, "no space after the target", t);
	tl = (size_t)(sp - (buf + t));
	if (tl == 0)
		return bad_line(f, "empty target", t);
	if (tl > p->lim.max_target)
		return pal_http_refuse(f, PAL_ERR_LIMIT, 414,
				       "request target too long",
				       "request target of %zu bytes (limit "
				       "%zu)", tl, p->lim.max_target);
	if ((rc = target(buf, t, tl, req, f)) != 0)
		return rc;
	return version(buf + t + tl + 1, eol - (t + tl + 1), t + tl + 1, req,
		       f);
}

static int
check_host(const struct pal_http_header *h, const struct http_fail *f)
{
	if (h->value_len == 0)
		return pal_http_refuse(f, PAL_ERR_FORMAT, 400, "invalid Host",
				       "Host: empty");
	for (size_t i = 0; i < h->value_len; i++)
		if (!http_is((uint8_t)h->value[i], HC_HOST))
			return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
					       "invalid Host", "Host: byte "
					       "0x%02x at %zu", (uint8_t)
					       h->value[i], i);
	return 0;
}

/* Framing from Content-Length and Transfer-Encoding (RFC 9112 6.3). */
static int
framing(struct pal_http_parser *p, const struct http_fields *fl,
	struct pal_http_request *req, const struct http_fail *f)
{
	int rc;

	if (fl->transfer_encoding != NULL) {
		if (fl->content_length != NULL)
			return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
					       "both Content-Length and "
					       "Transfer-Encoding",
					       "request has both Content-Length "
					       "and Transfer-Encoding");
		if (req->version_minor == 0)
			return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
					       "Transfer-Encoding in an "
					       "HTTP/1.0 request",
					       "Transfer-Encoding in an "
					       "HTTP/1.0 request");
		if ((rc = pal_http_transfer_encoding(fl->transfer_encoding,
						      f)) != 0)
			return rc;
		req->framing = PAL_HTTP_BODY_CHUNKED;
	} else if (fl->content_length != NULL) {
		if ((rc = pal_http_content_length(fl->content_length,
						  &req->content_length, f)) != 0)
			return rc;
		if (req->content_length > p->lim.max_body)
			return pal_http_refuse(f, PAL_ERR_LIMIT, 413,
					       "request body too large",
					       "Content-Length %llu above the "
					       "limit %llu", (unsigned long long)
					       req->content_length,
					       (unsigned long long)
					       p->lim.max_body);
		req->framing = PAL_HTTP_BODY_LENGTH;
	}
	if ((req->method == PAL_HTTP_GET || req->method == PAL_HTTP_HEAD) &&
	    (req->framing == PAL_HTTP_BODY_CHUNKED || req->content_length > 0))
		return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
				       "body not allowed on GET or HEAD",
				       "%.*s request with a body",
				       (int)req->method_len, req->method_name);
	return 0;
}

/* What the fields mean: Host, framing, Expect, keep-alive. */
static int
semantics(struct pal_http_parser *p, const struct http_fields *fl,
	  struct pal_http_request *req, const struct http_fail *f)
{
	int rc;

	if (fl->host == NULL && req->version_minor == 1)
		return pal_http_refuse(f, PAL_ERR_FORMAT, 400, "missing Host",
				       "HTTP/1.1 request without Host");
	if (fl->host != NULL) {
		if ((rc = check_host(fl->host, f)) != 0)
			return rc;
		req->host = fl->host->value;
		req->host_len = fl->host->value_len;
	}
	if ((rc = framing(p, fl, req, f)) != 0)
		return rc;
	/* RFC 9110 10.1.1: an HTTP/1.0 request's Expect is ignored. */
	if (fl->expect != NULL && req->version_minor == 1) {
		if (!HTTP_IEQ(fl->expect->value, fl->expect->value_len,
			      "100-continue"))
			return pal_http_refuse(f, PAL_ERR_UNSUPPORTED, 417,
					       "expectation not supported",
					       "Expect: only 100-continue is "
					       "supported");
		req->expect_continue = true;
	}
	req->keep_alive = req->version_minor == 1 ? !fl->conn_close :
	    fl->conn_keep_alive && !fl->conn_close;
	if (fl->content_type != NULL) {
		req->content_type = fl->content_type->value;
		req->content_type_len = fl->content_type->value_len;
	}
	if (fl->authorization != NULL) {
		req->authorization = fl->authorization->value;
		req->authorization_len = fl->authorization->value_len;
	}
	return 0;
}

static int
parse_head(struct pal_http_parser *p, const uint8_t *buf,
	   struct pal_http_request *req, const struct http_fail *f)
{
	const uint8_t *nl = memchr(buf, '\n', p->head_len);
	size_t eol = (size_t)(nl - buf) - 1;
	struct http_fields fl;
	int rc;

	if ((rc = request_line(p, buf, eol, req, f)) != 0)
		return rc;
	if ((rc = pal_http_fields_read(p, buf, eol + 2, true, &fl, f)) != 0)
		return rc;
	req->headers = p->hdrs;
	req->n_headers = fl.n;
	if ((rc = semantics(p, &fl, req, f)) != 0)
		return rc;
	req->head_len = p->head_len;
	return 0;
}

int
pal_http_request_parse(struct pal_http_parser *p, const void *vbuf,
		       size_t len, struct pal_http_request *req,
		       struct pal_http_refusal *ref, struct pal_err *err)
{
	struct http_fail f = { &p->refused, &p->refused_code, false, ref,
			       err };
	const uint8_t *buf = vbuf;
	size_t first;
	int rc;

	memset(req, 0, sizeof(*req));
	pal_http_ref_clear(ref);
	if (p->refused.status != 0 || p->hdrs == NULL || len < p->head_len)
		return pal_err_set(err, PAL_ERR_INVALID, "http parser: %s",
				   p->hdrs == NULL ? "not initialized" :
				   p->refused.status != 0 ? "used after a "
				   "refusal" : "buffer shorter than the head");
	if (p->head_len == 0) {
		first = PAL_HTTP_MAX_METHOD + 1 + p->lim.max_target + 1 +
		    VERSION_LEN + 2;
		if (first > p->lim.max_head)
			first = p->lim.max_head;
		if ((rc = pal_http_head_scan(p, buf, len, first, 414, &f)) != 0)
			return rc;
	}
	if ((rc = parse_head(p, buf, req, &f)) != 0)
		memset(req, 0, sizeof(*req));
	return rc;
}
