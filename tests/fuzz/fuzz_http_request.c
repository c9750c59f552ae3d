/*
 * fuzz_http_request.c - client request heads, and their chunked bodies,
 * from raw bytes.
 *
 * Invariants (any break aborts):
 *   - feeding the bytes whole, byte by byte and in slices gives the same
 *     outcome: the same result code, status and every field;
 *   - a refusal has a status the header promises, a reason and a detail;
 *   - what parses points inside the head, has token names and values
 *     without CR, LF or NUL, an origin-form target split into path and
 *     query, a framing its version and method allow; and written back out
 *     as "name: value" lines, it parses to the same fields;
 *   - a chunked body decodes to the same bytes whole and byte by byte,
 *     every data span inside the input, never more than the limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HDRS 32
#define MAX_INPUT (64u << 10)

static struct pal_http_header hdrs_a[MAX_HDRS], hdrs_b[MAX_HDRS];

static void
limits(struct pal_http_limits *lim)
{
	lim->max_head = 2048;
	lim->max_target = 512;
	lim->max_headers = MAX_HDRS;
	lim->max_body = 4096;
}

static void
check(int cond)
{
	if (!cond)
		abort();
}

static long
rel(const void *p, const void *base)
{
	return p == NULL ? -1 : (long)((const char *)p - (const char *)base);
}

static int
inside(const void *p, size_t n, const uint8_t *base, size_t len)
{
	const uint8_t *q = p;

	return q >= base && n <= len && q - base <= (long)(len - n);
}

/* Compares two results field by field (pointers relative to their base). */
static void
same(const struct pal_http_request *a, const uint8_t *ba,
     const struct pal_http_request *b, const uint8_t *bb)
{
	check(a->method == b->method && a->method_len == b->method_len &&
	      rel(a->method_name, ba) == rel(b->method_name, bb));
	check(a->target_len == b->target_len &&
	      rel(a->target, ba) == rel(b->target, bb));
	check(a->path_len == b->path_len && rel(a->path, ba) == rel(b->path, bb));
	check(a->query_len == b->query_len &&
	      rel(a->query, ba) == rel(b->query, bb));
	check(a->version_minor == b->version_minor &&
	      a->framing == b->framing &&
	      a->content_length == b->content_length &&
	      a->keep_alive == b->keep_alive &&
	      a->expect_continue == b->expect_continue &&
	      a->head_len == b->head_len && a->n_headers == b->n_headers);
	check(a->host_len == b->host_len && rel(a->host, ba) == rel(b->host, bb));
	check(a->content_type_len == b->content_type_len &&
	      rel(a->content_type, ba) == rel(b->content_type, bb));
	check(a->authorization_len == b->authorization_len &&
	      rel(a->authorization, ba) == rel(b->authorization, bb));
	for (size_t i = 0; i < a->n_headers; i++)
		check(a->headers[i].name_len == b->headers[i].name_len &&
		      a->headers[i].value_len == b->headers[i].value_len &&
		      rel(a->headers[i].name, ba) == rel(b->headers[i].name, bb) &&
		      rel(a->headers[i].value, ba) ==
		      rel(b->headers[i].value, bb));
}

/* Feeds data[0..size) growing by step bytes until the parser stops. */
static int
parse_steps(const uint8_t *data, size_t size, size_t step,
	    struct pal_http_request *r, struct pal_http_refusal *ref)
{
	struct pal_http_limits lim;
	struct pal_http_parser p;
	int rc = PAL_HTTP_MORE;
	size_t k = 0;

	limits(&lim);
	check(pal_http_parser_init(&p, &lim, hdrs_b, NULL) == 0);
	do {
		k = size - k < step ? size : k + step;
		rc = pal_http_request_parse(&p, data, k, r, ref, NULL);
	} while (rc == PAL_HTTP_MORE && k < size);
	return rc;
}

static void
check_refusal(int rc, const struct pal_http_refusal *ref,
	      const struct pal_err *err)
{
	int s = ref->status;

	check(rc == PAL_ERR_FORMAT || rc == PAL_ERR_LIMIT ||
	      rc == PAL_ERR_UNSUPPORTED);
	check(s == 400 || s == 413 || s == 414 || s == 417 || s == 431 ||
	      s == 501 || s == 505);
	check(ref->reason != NULL && ref->reason[0] != '\0');
	check(err->code == rc && err->msg[0] != '\0');
}

static void
check_fields(const struct pal_http_request *r, const uint8_t *data)
{
	struct pal_http_limits lim;

	limits(&lim);
	check(r->head_len >= 4 && r->head_len <= lim.max_head);
	check(inside(r->method_name, r->method_len, data, r->head_len));
	check(inside(r->target, r->target_len, data, r->head_len));
	check(r->target_len <= lim.max_target && r->target[0] == '/');
	check(r->path == r->target && r->path_len + (r->query != NULL ?
	      1 + r->query_len : 0) == r->target_len);
	check(memchr(r->target, '#', r->target_len) == NULL);
	check(r->version_minor == 0 || r->version_minor == 1);
	check(r->n_headers <= MAX_HDRS);
	for (size_t i = 0; i < r->n_headers; i++) {
		const struct pal_http_header *h = &r->headers[i];

		check(h->name_len > 0);
		check(inside(h->name, h->name_len, data, r->head_len));
		check(inside(h->value, h->value_len, data, r->head_len));
		check(memchr(h->name, ':', h->name_len) == NULL &&
		      memchr(h->name, ' ', h->name_len) == NULL);
		for (size_t k = 0; k < h->value_len; k++)
			check(h->value[k] != '\r' && h->value[k] != '\n' &&
			      h->value[k] != '\0');
	}
	check(r->framing == PAL_HTTP_BODY_NONE ||
	      r->framing == PAL_HTTP_BODY_LENGTH ||
	      r->framing == PAL_HTTP_BODY_CHUNKED);
	check(r->content_length <= lim.max_body);
	check(r->framing != PAL_HTTP_BODY_CHUNKED || r->version_minor == 1);
	if (r->method == PAL_HTTP_GET || r->method == PAL_HTTP_HEAD)
		check(r->framing != PAL_HTTP_BODY_CHUNKED &&
		      r->content_length == 0);
	check(r->version_minor == 0 || r->host != NULL);
}

/* Writes the parsed request back out; it must parse to the same. */
static void
round_trip(const struct pal_http_request *r)
{
	static uint8_t out[4096];
	struct pal_http_limits lim;
	struct pal_http_parser p;
	struct pal_http_request again;
	size_t n = 0;

#define PUT(s, len) do { memcpy(out + n, (s), (len)); n += (len); } while (0)
	PUT(r->method_name, r->method_len);
	PUT(" ", 1);
	PUT(r->target, r->target_len);
	PUT(r->version_minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n", 11);
	for (size_t i = 0; i < r->n_headers; i++) {
		PUT(r->headers[i].name, r->headers[i].name_len);
		PUT(": ", 2);
		PUT(r->headers[i].value, r->headers[i].value_len);
		PUT("\r\n", 2);
	}
	PUT("\r\n", 2);
#undef PUT
	limits(&lim);
	lim.max_head = sizeof(out);
	check(pal_http_parser_init(&p, &lim, hdrs_b, NULL) == 0);
	check(pal_http_request_parse(&p, out, n, &again, NULL, NULL) == 0);
	check(again.method == r->method && again.framing == r->framing &&
	      again.content_length == r->content_length &&
	      again.keep_alive == r->keep_alive &&
	      again.expect_continue == r->expect_continue &&
	      again.n_headers == r->n_headers &&
	      again.target_len == r->target_len &&
	      memcmp(again.target, r->target, r->target_len) == 0 &&
	      again.host_len == r->host_len &&
	      (r->host == NULL || memcmp(again.host, r->host,
					 r->host_len) == 0));
}

/* Decodes body in slices of step; returns the data's length and hash. */
static int
decode(const uint8_t *body, size_t len, size_t step, uint64_t *hash,
       size_t *total, size_t *used_all, int *status)
{
	struct pal_http_chunked c;
	struct pal_http_refusal ref;
	size_t off = 0;
	int rc;

	*hash = 1469598103934665603ull;
	*total = 0;
	*status = 0;
	pal_http_chunked_init(&c, 4096, PAL_HTTP_FROM_CLIENT);
	while (off < len && !pal_http_chunked_done(&c)) {
		size_t end = len - off < step ? len : off + step;

		while (off < end && !pal_http_chunked_done(&c)) {
			const uint8_t *d;
			size_t used, dn;

			rc = pal_http_chunked_feed(&c, body + off, end - off,
						   &used, &d, &dn, &ref, NULL);
			if (rc != 0) {
				check(ref.status == 400 || ref.status == 413 ||
				      ref.status == 431);
				*status = ref.status;
				return rc;
			}
			check(used > 0 && used <= end - off);
			if (dn > 0) {
				check(inside(d, dn, body + off, used));
				for (size_t i = 0; i < dn; i++)
					*hash = (*hash ^ d[i]) *
					    1099511628211ull;
				*total += dn;
			}
			off += used;
		}
	}
	check(*total <= 4096);
	*used_all = off;
	return pal_http_chunked_done(&c) ? 1 : 0;
}

static void
chunked_body(const uint8_t *body, size_t len)
{
	uint64_t h1, h2;
	size_t t1, t2, u1 = 0, u2 = 0;
	int s1, s2, r1, r2;

	r1 = decode(body, len, len == 0 ? 1 : len, &h1, &t1, &u1, &s1);
	r2 = decode(body, len, 1, &h2, &t2, &u2, &s2);
	check(r1 == r2 && s1 == s2);
	if (r1 >= 0)
		check(h1 == h2 && t1 == t2 && u1 == u2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_http_limits lim;
	struct pal_http_parser p;
	struct pal_http_request a, b;
	struct pal_http_refusal ra, rb;
	struct pal_err err;
	int rc, rc2;

	if (size > MAX_INPUT)
		return 0;
	limits(&lim);
	if (pal_http_parser_init(&p, &lim, hdrs_a, NULL) != 0)
		abort();
	pal_err_clear(&err);
	rc = pal_http_request_parse(&p, data, size, &a, &ra, &err);
	if (rc < 0)
		check_refusal(rc, &ra, &err);
	else
		check(ra.status == 0 && err.code == 0);
	for (size_t step = 1; step <= 13; step += 6) {
		rc2 = parse_steps(data, size, step, &b, &rb);
		check(rc2 == rc && rb.status == ra.status);
		same(&a, data, &b, data);
	}
	if (rc != 0)
		return 0;
	check_fields(&a, data);
	round_trip(&a);
	if (a.framing == PAL_HTTP_BODY_CHUNKED)
		chunked_body(data + a.head_len, size - a.head_len);
	return 0;
}
