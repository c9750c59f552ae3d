/*
 * fuzz_http_response.c - the upstream's response heads, read as answers
 * to a GET and to a HEAD, then interim responses followed by the final
 * one, and chunked bodies as the upstream sends them.
 *
 * Invariants (any break aborts):
 *   - whole, byte-by-byte and sliced feeding give the same outcome;
 *   - every refusal is a 502 with a detail;
 *   - what parses points inside the head and frames its body as the
 *     status and method require: nothing after HEAD, 1xx, 204 and 304;
 *     chunked only in HTTP/1.1; a close-delimited body never keeps the
 *     connection alive;
 *   - a chunked body decodes to the same bytes whole and byte by byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HDRS 32
#define MAX_INPUT (64u << 10)
#define MAX_BODY 4096

static struct pal_http_header hdrs_a[MAX_HDRS], hdrs_b[MAX_HDRS];

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
limits(struct pal_http_limits *lim)
{
	lim->max_head = 2048;
	lim->max_target = 512;
	lim->max_headers = MAX_HDRS;
	lim->max_body = MAX_BODY;
}

static int
inside(const void *p, size_t n, const uint8_t *base, size_t len)
{
	const uint8_t *q = p;

	return q >= base && n <= len && q - base <= (long)(len - n);
}

static int
parse(const uint8_t *data, size_t size, size_t step, enum pal_http_method m,
      struct pal_http_header *hdrs, struct pal_http_response *r,
      struct pal_http_refusal *ref, struct pal_err *err)
{
	struct pal_http_limits lim;
	struct pal_http_parser p;
	int rc;
	size_t k = 0;

	limits(&lim);
	check(pal_http_parser_init(&p, &lim, hdrs, NULL) == 0);
	do {
		k = size - k < step ? size : k + step;
		rc = pal_http_response_parse(&p, data, k, m, r, ref, err);
	} while (rc == PAL_HTTP_MORE && k < size);
	return rc;
}

static void
check_head(const struct pal_http_response *r, const uint8_t *data,
	   enum pal_http_method m)
{
	check(r->status >= 100 && r->status <= 599 && r->status != 101);
	check(r->version_minor == 0 || r->version_minor == 1);
	check(r->head_len >= 14 && r->head_len <= 2048);
	check(inside(r->reason, r->reason_len, data, r->head_len));
	check(r->n_headers <= MAX_HDRS);
	for (size_t i = 0; i < r->n_headers; i++) {
		check(r->headers[i].name_len > 0);
		check(inside(r->headers[i].name, r->headers[i].name_len, data,
			     r->head_len));
		check(inside(r->headers[i].value, r->headers[i].value_len,
			     data, r->head_len));
	}
	if (m == PAL_HTTP_HEAD || r->status < 200 || r->status == 204 ||
	    r->status == 304)
		check(r->framing == PAL_HTTP_BODY_NONE &&
		      r->content_length == 0);
	if (r->framing == PAL_HTTP_BODY_CHUNKED)
		check(r->version_minor == 1);
	if (r->framing == PAL_HTTP_BODY_CLOSE)
		check(!r->keep_alive);
	if (r->framing != PAL_HTTP_BODY_LENGTH)
		check(r->content_length == 0);
	check(r->content_length <= MAX_BODY);
}

static int
decode(const uint8_t *body, size_t len, size_t step, uint64_t *hash,
       size_t *used_all)
{
	struct pal_http_chunked c;
	struct pal_http_refusal ref;
	size_t off = 0;

	*hash = 1469598103934665603ull;
	pal_http_chunked_init(&c, MAX_BODY, PAL_HTTP_FROM_UPSTREAM);
	while (off < len && !pal_http_chunked_done(&c)) {
		const uint8_t *d;
		size_t used, dn, n = len - off < step ? len - off : step;

		if (pal_http_chunked_feed(&c, body + off, n, &used, &d, &dn,
					  &ref, NULL) != 0) {
			check(ref.status == 502);
			return -1;
		}
		check(used > 0 && used <= n);
		check(dn == 0 || inside(d, dn, body + off, used));
		for (size_t i = 0; i < dn; i++)
			*hash = (*hash ^ d[i]) * 1099511628211ull;
		off += used;
	}
	*used_all = off;
	return pal_http_chunked_done(&c);
}

/* Parses one head as an answer to m; returns its length or 0. */
static size_t
one(const uint8_t *data, size_t size, enum pal_http_method m,
    struct pal_http_response *out)
{
	struct pal_http_response a, b;
	struct pal_http_refusal ra, rb;
	struct pal_err err;
	int rc;

	pal_err_clear(&err);
	rc = parse(data, size, size == 0 ? 1 : size, m, hdrs_a, &a, &ra, &err);
	if (rc < 0)
		check(ra.status == 502 && ra.reason != NULL &&
		      err.code == rc && err.msg[0] != '\0');
	for (size_t step = 1; step <= 8; step += 7) {
		check(parse(data, size, step, m, hdrs_b, &b, &rb, NULL) == rc);
		check(rb.status == ra.status && a.status == b.status &&
		      a.framing == b.framing && a.head_len == b.head_len &&
		      a.keep_alive == b.keep_alive &&
		      a.content_length == b.content_length &&
		      a.n_headers == b.n_headers &&
		      a.reason_len == b.reason_len);
	}
	if (rc != 0)
		return 0;
	check_head(&a, data, m);
	*out = a;
	return a.head_len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_http_response r;
	size_t off = 0, n;

	if (size > MAX_INPUT)
		return 0;
	(void)one(data, size, PAL_HTTP_HEAD, &r);
	/* Interim responses, then the final one and its body. */
	for (int i = 0; i < 4; i++) {
		if ((n = one(data + off, size - off, PAL_HTTP_GET, &r)) == 0)
			return 0;
		off += n;
		if (r.status >= 200)
			break;
	}
	if (r.status >= 200 && r.framing == PAL_HTTP_BODY_CHUNKED) {
		uint64_t h1, h2;
		size_t u1 = 0, u2 = 0;
		int d1 = decode(data + off, size - off, size - off, &h1, &u1);
		int d2 = decode(data + off, size - off, 1, &h2, &u2);

		check(d1 == d2 && (d1 < 0 || (h1 == h2 && u1 == u2)));
	}
	return 0;
}
