/*
 * http_field.c - field lines (RFC 9112 section 5) and the fields that
 * decide where a message ends: Content-Length, Transfer-Encoding,
 * Connection.  Shared by requests and responses.
 *
 * A field line is name ":" OWS value OWS CRLF with a token name that
 * touches its colon and a value of HTAB, SP, VCHAR and obs-text only.
 * Every byte of every line is checked here; the search for the end of the
 * head (http_head.c) has already checked that each line ends in CRLF.
 * The fields this parser interprets may appear once: when a gateway and
 * its upstream could pick different copies, the request is refused.
 */
#include <string.h>

#include "http_int.h"

/* The fields this parser reads itself. */
enum known {
	F_OTHER = 0,
	F_HOST,
	F_EXPECT,
	F_CONNECTION,
	F_CONTENT_TYPE,
	F_AUTHORIZATION,
	F_CONTENT_LENGTH,
	F_TRANSFER_ENCODING,
};

static enum known
classify(const char *n, size_t len)
{
	switch (len) {
	case 4:
		return HTTP_IEQ(n, len, "host") ? F_HOST : F_OTHER;
	case 6:
		return HTTP_IEQ(n, len, "expect") ? F_EXPECT : F_OTHER;
	case 10:
		return HTTP_IEQ(n, len, "connection") ? F_CONNECTION : F_OTHER;
	case 12:
		return HTTP_IEQ(n, len, "content-type") ? F_CONTENT_TYPE :
		    F_OTHER;
	case 13:
		return HTTP_IEQ(n, len, "authorization") ? F_AUTHORIZATION :
		    F_OTHER;
	case 14:
		return HTTP_IEQ(n, len, "content-length") ?
		    F_CONTENT_LENGTH : F_OTHER;
	case 17:
		return HTTP_IEQ(n, len, "transfer-encoding") ?
		    F_TRANSFER_ENCODING : F_OTHER;
	default:
		return F_OTHER;
	}
}

static bool
is_ows(uint8_t b)
{
	return b == ' ' || b == '\t';
}

/*
 * Iterates over the elements of a comma-separated list: returns false at
 * the end, else the next element without its OWS in *e, *elen (possibly
 * empty).  *pos is the iterator, starting at 0.
 */
static bool
list_next(const char *v, size_t len, size_t *pos, const char **e,
	  size_t *elen)
{
	size_t i = *pos, s, t;

	if (i > len)
		return false;
	while (i < len && is_ows((uint8_t)v[i]))
		i++;
	s = i;
	while (i < len && v[i] != ',')
		i++;
	t = i;
	while (t > s && is_ows((uint8_t)v[t - 1]))
		t--;
	*e = v + s;
	*elen = t - s;
	*pos = i + 1;
	return true;
}

static bool
all_tchar(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!http_is((uint8_t)s[i], HC_TCHAR))
			return false;
	return true;
}

bool
pal_http_list_has(const char *value, size_t len, const char *token)
{
	size_t pos = 0, elen, tlen = strlen(token);
	const char *e;

	while (list_next(value, len, &pos, &e, &elen)) {
		if (elen != tlen)
			continue;
		size_t i = 0;
		while (i < elen && http_lower((uint8_t)e[i]) ==
		       http_lower((uint8_t)token[i]))
			i++;
		if (i == elen)
			return true;
	}
	return false;
}

bool
pal_http_hop_by_hop(const char *name, size_t len)
{
	static const char *const hop[] = {
		"connection", "keep-alive", "proxy-connection",
		"proxy-authenticate", "proxy-authorization", "te",
		"trailer", "transfer-encoding", "upgrade",
	};

	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (pal_http_ieq(name, len, hop[i], strlen(hop[i])))
			return true;
	return false;
}

const struct pal_http_header *
pal_http_find(const struct pal_http_header *h, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++) {
		if (h[i].name_len != len)
			continue;
		size_t k = 0;
		while (k < len && http_lower((uint8_t)h[i].name[k]) ==
		       http_lower((uint8_t)name[k]))
			k++;
		if (k == len)
			return &h[i];
	}
	return NULL;
}

/* Connection: a list of tokens; notes "close" and "keep-alive". */
static int
connection(const struct pal_http_header *h, size_t off,
	   struct http_fields *out, const struct http_fail *f)
{
	size_t pos = 0, elen;
	const char *e;

	while (list_next(h->value, h->value_len, &pos, &e, &elen)) {
		if (elen == 0 || !all_tchar(e, elen))
			return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
					       "invalid Connection field",
					       "Connection at offset %zu: "
					       "element %s", off, elen == 0 ?
					       "is empty" : "is not a token");
		if (HTTP_IEQ(e, elen, "close"))
			out->conn_close = true;
		else if (HTTP_IEQ(e, elen, "keep-alive"))
			out->conn_keep_alive = true;
	}
	return 0;
}

/* Records a field this parser reads; refuses a second copy. */
static int
known_field(const struct pal_http_header *h, size_t off,
	    struct http_fields *out, const struct http_fail *f)
{
	static const char *const names[] = {
		[F_HOST] = "Host", [F_EXPECT] = "Expect",
		[F_CONTENT_TYPE] = "Content-Type",
		[F_AUTHORIZATION] = "Authorization",
		[F_CONTENT_LENGTH] = "Content-Length",
		[F_TRANSFER_ENCODING] = "Transfer-Encoding",
	};
	const struct pal_http_header **slot;
	enum known k = classify(h->name, h->name_len);

	switch (k) {
	case F_OTHER:
		return 0;
	case F_CONNECTION:
		return connection(h, off, out, f);
	case F_HOST: slot = &out->host; break;
	case F_EXPECT: slot = &out->expect; break;
	case F_CONTENT_TYPE: slot = &out->content_type; break;
	case F_AUTHORIZATION: slot = &out->authorization; break;
	case F_CONTENT_LENGTH: slot = &out->content_length; break;
	case F_TRANSFER_ENCODING: slot = &out->transfer_encoding; break;
	default: return 0;
	}
	if (*slot != NULL)
		return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
				       k == F_CONTENT_LENGTH ?
				       "repeated Content-Length" :
				       k == F_TRANSFER_ENCODING ?
				       "repeated Transfer-Encoding" :
				       k == F_HOST ? "repeated Host" :
				       "repeated header field",
				       "%s repeated at offset %zu", names[k],
				       off);
	*slot = h;
	return 0;
}

/* Refuses a field name that is not a token touching its colon. */
static int
name_error(const uint8_t *buf, size_t pos, size_t j, size_t n,
	   const struct http_fail *f)
{
	uint8_t b = buf[j];

	if (b == ' ' || b == '\t') {
		if (j == pos)
			return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
					       "obsolete line folding",
					       "field line %zu at offset %zu "
					       "starts with whitespace "
					       "(obs-fold)", n + 1, pos);
		return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
				       "whitespace between field name and "
				       "colon", "field line %zu at offset %zu: "
				       "whitespace before the colon", n + 1,
				       pos);
	}
	if (b == '\r')
		return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
				       "field line without a colon",
				       "field line %zu at offset %zu has no "
				       "colon", n + 1, pos);
	if (b == ':')
		return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
				       "empty field name",
				       "field line %zu at offset %zu: empty "
				       "name", n + 1, pos);
	return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
			       "invalid character in field name",
			       "field line %zu: byte 0x%02x at offset %zu is "
			       "not a token character", n + 1, b, j);
}

/*
 * One field line from pos; *next is set past its CRLF.  The value is
 * read up to the first byte that may not be in it, which must be the CR
 * of the line's CRLF (the search for the end of the head made sure that
 * every LF follows a CR).
 */
static int
field_line(struct pal_http_parser *p, const uint8_t *buf, size_t pos,
	   size_t *next, bool request, struct http_fields *out,
	   const struct http_fail *f)
{
	struct pal_http_header *h;
	size_t j = pos, v, ve, eol;

	while (http_is(buf[j], HC_TCHAR))
		j++;
	if (buf[j] != ':' || j == pos)
		return name_error(buf, pos, j, out->n, f);
	if (request && memchr(buf + pos, '_', j - pos) != NULL)
		return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
				       "underscore in field name",
				       "field line %zu at offset %zu: '_' "
				       "in the name", out->n + 1, pos);
	eol = j + 1 + pal_http_value_span(buf + j + 1, p->head_len - j - 1);
	if (buf[eol] != '\r' || buf[eol + 1] != '\n')
		return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
				       "invalid character in field value",
				       "field '%.*s': byte 0x%02x at offset "
				       "%zu in the value", (int)(j - pos > 64 ?
				       64 : j - pos), (const char *)buf + pos,
				       buf[eol], eol);
	for (v = j + 1; v < eol && is_ows(buf[v]); v++)
		;
	for (ve = eol; ve > v && is_ows(buf[ve - 1]); ve--)
		;
	if (out->n >= p->lim.max_headers)
		return pal_http_refuse(f, PAL_ERR_LIMIT, 431,
				       "too many header fields",
				       "more than %zu field lines",
				       p->lim.max_headers);
	h = &p->hdrs[out->n++];
	h->name = (const char *)buf + pos;
	h->name_len = j - pos;
	h->value = (const char *)buf + v;
	h->value_len = ve - v;
	*next = eol + 2;
	return known_field(h, pos, out, f);
}

int
pal_http_fields_read(struct pal_http_parser *p, const uint8_t *buf,
		     size_t start, bool request, struct http_fields *out,
		     const struct http_fail *f)
{
	size_t end = p->head_len - 2, pos = start;
	int rc;

	memset(out, 0, sizeof(*out));
	while (pos < end)
		if ((rc = field_line(p, buf, pos, &pos, request, out, f)) != 0)
			return rc;
	return 0;
}

int
pal_http_content_length(const struct pal_http_header *h, uint64_t *v,
			const struct http_fail *f)
{
	const char *s = h->value;
	size_t n = h->value_len;
	uint64_t x = 0;

	*v = 0;
	if (n == 0 || n > 19 || (s[0] == '0' && n > 1))
		return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
				       "invalid Content-Length",
				       "Content-Length: %s", n == 0 ? "empty" :
				       n > 19 ? "more than 19 digits" :
				       "leading zero");
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
					       "invalid Content-Length",
					       "Content-Length: byte 0x%02x "
					       "at %zu is not a decimal digit",
					       (uint8_t)s[i], i);
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}

int
pal_http_transfer_encoding(const struct pal_http_header *h,
			   const struct http_fail *f)
{
	size_t pos = 0, elen, n = 0, chunked = 0;
	bool last_chunked = false;
	const char *e;

	while (list_next(h->value, h->value_len, &pos, &e, &elen)) {
		if (elen == 0 || !all_tchar(e, elen))
			return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
					       "invalid Transfer-Encoding",
					       "Transfer-Encoding: element %zu "
					       "%s", n + 1, elen == 0 ?
					       "is empty" : "is not a token "
					       "(no parameters)");
		n++;
		last_chunked = HTTP_IEQ(e, elen, "chunked");
		chunked += last_chunked;
	}
	if (chunked != 1 || !last_chunked)
		return pal_http_refuse(f, PAL_ERR_FORMAT, 400,
				       "invalid Transfer-Encoding",
				       "Transfer-Encoding: chunked %s",
				       chunked == 0 ? "is missing" :
				       chunked > 1 ? "is repeated" :
				       "is not the final coding");
	if (n != 1)
		return pal_http_refuse(f, PAL_ERR_UNSUPPORTED, 501,
				       "transfer coding not implemented",
				       "Transfer-Encoding: %zu codings; only "
				       "chunked alone is implemented", n);
	return 0;
}
