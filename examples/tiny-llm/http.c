/*
 * http.c - the request head parser (http.h).
 *
 * Each line is taken whole (up to its LF) before anything in it is
 * judged, which is what keeps the answer to a prefix either "more" or the
 * whole head's answer.
 */
#include <string.h>
#include <strings.h>

#include "http.h"

/* Everything the parser tracks on the way through the headers. */
struct head {
	const char *buf;
	size_t len;		/* what may be looked at: the head's limit */
	size_t at;		/* start of the next line */
	unsigned n_headers;
	int has_length, has_te, has_host, conn_close, conn_keep;
};

static int
refuse(struct tl_http_req *req, int status, const char *reason)
{
	req->status = status;
	req->reason = reason;
	return TL_HTTP_REFUSED;
}

static int
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
							   c) != NULL);
}

static size_t
token_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	return i;
}

/*
 * The next line's content (without its CRLF) in *line and *n.  Returns
 * TL_HTTP_DONE, TL_HTTP_MORE when it has not ended within the limit yet,
 * or TL_HTTP_REFUSED for an LF without its CR or a CR elsewhere.
 */
static int
next_line(struct head *h, const char **line, size_t *n,
	  struct tl_http_req *req)
{
	const char *lf = memchr(h->buf + h->at, '\n', h->len - h->at);
	size_t end;

	if (lf == NULL)
		return TL_HTTP_MORE;
	end = (size_t)(lf - h->buf);
	if (end == h->at || h->buf[end - 1] != '\r')
		return refuse(req, 400, "a line ends in LF without CR");
	*line = h->buf + h->at;
	*n = end - 1 - h->at;
	if (memchr(*line, '\r', *n) != NULL)
		return refuse(req, 400, "a CR inside a line");
	h->at = end + 1;
	return TL_HTTP_DONE;
}

/* "HTTP/1.1" or "HTTP/1.0"; any other HTTP/d.d is 505, the rest 400. */
static int
version(const char *v, size_t n, struct tl_http_req *req)
{
	if (n == 8 && memcmp(v, "HTTP/1.", 7) == 0 &&
	    (v[7] == '0' || v[7] == '1')) {
		req->minor = (unsigned)(v[7] - '0');
		return 0;
	}
	if (n == 8 && memcmp(v, "HTTP/", 5) == 0 && v[6] == '.' &&
	    v[5] >= '0' && v[5] <= '9' && v[7] >= '0' && v[7] <= '9')
		return refuse(req, 505, "only HTTP/1.0 and HTTP/1.1 are "
			      "served");
	return refuse(req, 400, "malformed HTTP version");
}

static int
target(const char *t, size_t n, const struct tl_http_limits *lim,
       struct tl_http_req *req)
{
	const char *q;

	if (n > lim->max_target)
		return refuse(req, 414, "request target too long");
	if (n == 0 || t[0] != '/')
		return refuse(req, 400, "the target is not an absolute path");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f ||
		    t[i] == '#')
			return refuse(req, 400, "a byte the target may not "
				      "hold");
	q = memchr(t, '?', n);
	req->path = t;
	req->path_len = q != NULL ? (size_t)(q - t) : n;
	return 0;
}

/* METHOD SP target SP HTTP/1.x */
static int
request_line(const char *l, size_t n, const struct tl_http_limits *lim,
	     struct tl_http_req *req)
{
	size_t m = token_len(l, n), t;
	const char *sp;

	if (m == 0 || m > 16 || m == n || l[m] != ' ')
		return refuse(req, 400, "malformed request line");
	req->method_name = l;
	req->method_len = m;
	if (m == 3 && memcmp(l, "GET", 3) == 0)
		req->method = TL_HTTP_GET;
	else if (m == 4 && memcmp(l, "POST", 4) == 0)
		req->method = TL_HTTP_POST;
	else
		req->method = TL_HTTP_OTHER;
	if ((sp = memchr(l + m + 1, ' ', n - m - 1)) == NULL)
		return refuse(req, 400, "malformed request line");
	t = (size_t)(sp - (l + m + 1));
	if (target(l + m + 1, t, lim, req) != 0)
		return TL_HTTP_REFUSED;
	return version(sp + 1, n - m - 1 - t - 1, req);
}

/* 1*DIGIT, at most the body limit. */
static int
content_length(struct head *h, const char *v, size_t n,
	       const struct tl_http_limits *lim, struct tl_http_req *req)
{
	size_t x = 0;

	if (h->has_length++)
		return refuse(req, 400, "more than one Content-Length");
	if (n == 0)
		return refuse(req, 400, "malformed Content-Length");
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return refuse(req, 400, "malformed Content-Length");
		x = x * 10 + (size_t)(v[i] - '0');
		if (x > lim->max_body)
			return refuse(req, 413, "request body too large");
	}
	req->content_length = x;
	return 0;
}

/* Connection: a comma-separated list of options, case-insensitive. */
static void
connection(struct head *h, const char *v, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t k;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		k = token_len(v + i, n - i);
		if (k == 5 && strncasecmp(v + i, "close", 5) == 0)
			h->conn_close = 1;
		else if (k == 10 && strncasecmp(v + i, "keep-alive", 10) == 0)
			h->conn_keep = 1;
		i += k;
		/* Skip what is not a token (a parameter, say) to the comma. */
		while (i < n && v[i] != ',')
			i++;
	}
}

static int
field(struct head *h, const char *name, size_t nl, const char *v, size_t n,
      const struct tl_http_limits *lim, struct tl_http_req *req)
{
#define IS(s) (nl == sizeof(s) - 1 && strncasecmp(name, s, nl) == 0)
	if (IS("content-length"))
		return content_length(h, v, n, lim, req);
	if (IS("transfer-encoding"))
		h->has_te = 1;
	else if (IS("host")) {
		if (h->has_host++)
			return refuse(req, 400, "more than one Host");
	} else if (IS("connection"))
		connection(h, v, n);
	else if (IS("expect")) {
		if (n != 12 || strncasecmp(v, "100-continue", 12) != 0)
			return refuse(req, 417, "the only expectation met is "
				      "100-continue");
		req->expect_continue = 1;
	}
	return 0;
#undef IS
}

/* name ":" OWS value OWS */
static int
header_line(struct head *h, const char *l, size_t n,
	    const struct tl_http_limits *lim, struct tl_http_req *req)
{
	size_t nl = token_len(l, n), vs, ve;

	if (l[0] == ' ' || l[0] == '\t')
		return refuse(req, 400, "obsolete line folding");
	if (nl == 0 || nl == n || l[nl] != ':')
		return refuse(req, 400, "malformed header line");
	if (++h->n_headers > lim->max_headers)
		return refuse(req, 431, "too many header fields");
	for (vs = nl + 1; vs < n && (l[vs] == ' ' || l[vs] == '\t'); vs++)
		;
	for (ve = n; ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'); ve--)
		;
	for (size_t i = vs; i < ve; i++) {
		unsigned char c = (unsigned char)l[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return refuse(req, 400, "a control byte in a header "
				      "value");
	}
	return field(h, l, nl, l + vs, ve - vs, lim, req);
}

/* What the whole head implies, once it has ended. */
static int
finish(struct head *h, struct tl_http_req *req)
{
	if (h->has_te)
		return refuse(req, h->has_length ? 400 : 411,
			      h->has_length ? "both Transfer-Encoding and "
			      "Content-Length" : "Transfer-Encoding is not "
			      "accepted; send Content-Length");
	if (req->minor == 1 && !h->has_host)
		return refuse(req, 400, "HTTP/1.1 without Host");
	req->keep_alive = !h->conn_close && (req->minor == 1 || h->conn_keep);
	req->head_len = h->at;
	return TL_HTTP_DONE;
}

int
tl_http_parse(const char *buf, size_t len, const struct tl_http_limits *lim,
	      struct tl_http_req *req)
{
	struct head h = { .buf = buf, .len = len < lim->max_head ? len :
		lim->max_head };
	const char *line;
	size_t n;
	int rc;

	memset(req, 0, sizeof(*req));
	if ((rc = next_line(&h, &line, &n, req)) != TL_HTTP_DONE) {
		if (rc == TL_HTTP_MORE && len >= lim->max_head)
			return refuse(req, 414, "request line too long");
		return rc;
	}
	if (request_line(line, n, lim, req) != 0)
		return TL_HTTP_REFUSED;
	for (;;) {
		if ((rc = next_line(&h, &line, &n, req)) != TL_HTTP_DONE) {
			if (rc == TL_HTTP_MORE && len >= lim->max_head)
				return refuse(req, 431, "request head too "
					      "large");
			return rc;
		}
		if (n == 0)
			return finish(&h, req);
		if (header_line(&h, line, n, lim, req) != 0)
			return TL_HTTP_REFUSED;
	}
}
