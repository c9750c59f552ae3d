/*
 * test_http.c - the gateway's HTTP/1.1 parser: valid requests and
 * responses land in their fields; every smuggling and malformed shape is
 * refused with its status; feeding byte by byte (into a buffer that moves)
 * gives the same result as feeding the whole; the chunked decoder's edges.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "palisade/http.h"

#define MAX_HDRS 64

static struct pal_http_header hdrs[MAX_HDRS];
static struct pal_http_header hdrs2[MAX_HDRS];

static struct pal_http_limits
limits(void)
{
	struct pal_http_limits l;

	pal_http_limits_default(&l);
	return l;
}

/* Offset of p in buf, or -1 for NULL: results compared across buffers. */
static long
off_of(const void *p, const void *buf)
{
	return p == NULL ? -1 : (long)((const char *)p - (const char *)buf);
}

/* Everything a parsed request says, with pointers as offsets. */
struct req_sum {
	int rc, status;
	long method_name, target, path, query, host, ctype, auth;
	size_t method_len, target_len, path_len, query_len, host_len;
	size_t ctype_len, auth_len, n_headers, head_len;
	int method, version, framing, keep_alive, expect;
	uint64_t content_length;
	long names[MAX_HDRS], values[MAX_HDRS];
	size_t name_lens[MAX_HDRS], value_lens[MAX_HDRS];
};

static void
summarize(const struct pal_http_request *r, const void *buf, int rc,
	  const struct pal_http_refusal *ref, struct req_sum *s)
{
	memset(s, 0, sizeof(*s));
	s->rc = rc;
	s->status = ref->status;
	s->method_name = off_of(r->method_name, buf);
	s->method_len = r->method_len;
	s->target = off_of(r->target, buf);
	s->target_len = r->target_len;
	s->path = off_of(r->path, buf);
	s->path_len = r->path_len;
	s->query = off_of(r->query, buf);
	s->query_len = r->query_len;
	s->host = off_of(r->host, buf);
	s->host_len = r->host_len;
	s->ctype = off_of(r->content_type, buf);
	s->ctype_len = r->content_type_len;
	s->auth = off_of(r->authorization, buf);
	s->auth_len = r->authorization_len;
	s->n_headers = r->n_headers;
	s->head_len = r->head_len;
	s->method = r->method;
	s->version = r->version_minor;
	s->framing = r->framing;
	s->keep_alive = r->keep_alive;
	s->expect = r->expect_continue;
	s->content_length = r->content_length;
	for (size_t i = 0; i < r->n_headers && i < MAX_HDRS; i++) {
		s->names[i] = off_of(r->headers[i].name, buf);
		s->values[i] = off_of(r->headers[i].value, buf);
		s->name_lens[i] = r->headers[i].name_len;
		s->value_lens[i] = r->headers[i].value_len;
	}
}

/* Parses s[0..n) whole under lim. */
static int
parse_whole(const char *s, size_t n, const struct pal_http_limits *lim,
	    struct pal_http_request *r, struct pal_http_refusal *ref,
	    struct pal_err *err)
{
	struct pal_http_parser p;

	assert_int_equal(pal_http_parser_init(&p, lim, hdrs, NULL), 0);
	pal_err_clear(err);
	return pal_http_request_parse(&p, s, n, r, ref, err);
}

/*
 * Feeds s one byte at a time into a buffer reallocated at every step (so
 * that it moves), until the parser stops asking for more; summarizes the
 * result against the final buffer.
 */
static void
parse_bytewise(const char *s, size_t n, const struct pal_http_limits *lim,
	       struct req_sum *sum)
{
	struct pal_http_parser p;
	struct pal_http_request r;
	struct pal_http_refusal ref;
	char *buf = NULL;
	int rc = PAL_HTTP_MORE;

	assert_int_equal(pal_http_parser_init(&p, lim, hdrs2, NULL), 0);
	for (size_t k = 1; k <= n && rc == PAL_HTTP_MORE; k++) {
		char *nb = malloc(k);

		assert_non_null(nb);
		memcpy(nb, s, k);
		free(buf);
		buf = nb;
		rc = pal_http_request_parse(&p, buf, k, &r, &ref, NULL);
	}
	if (n == 0)
		rc = pal_http_request_parse(&p, "", 0, &r, &ref, NULL);
	summarize(&r, buf, rc, &ref, sum);
	free(buf);
}

/* Whole and byte by byte must agree, on success and on refusal. */
static void
check_split_agrees(const char *s, size_t n, const struct pal_http_limits *lim,
		   const struct req_sum *whole)
{
	struct req_sum bw;

	parse_bytewise(s, n, lim, &bw);
	if (memcmp(whole, &bw, sizeof(bw)) != 0)
		fail_msg("'%.*s': byte-by-byte result differs (rc %d/%d "
			 "status %d/%d)", (int)(n > 120 ? 120 : n), s,
			 whole->rc, bw.rc, whole->status, bw.status);
}

static void
req_ok_lim(const char *s, const struct pal_http_limits *lim,
	   struct pal_http_request *r)
{
	struct pal_http_refusal ref;
	struct pal_err err;
	struct req_sum sum;
	int rc;

	rc = parse_whole(s, strlen(s), lim, r, &ref, &err);
	if (rc != 0)
		fail_msg("'%s': rc %d status %d: %s", s, rc, ref.status,
			 err.msg);
	assert_int_equal(ref.status, 0);
	summarize(r, s, rc, &ref, &sum);
	check_split_agrees(s, strlen(s), lim, &sum);
}

static void
req_ok(const char *s, struct pal_http_request *r)
{
	struct pal_http_limits lim = limits();

	req_ok_lim(s, &lim, r);
}

/* Expects a refusal with status and a reason containing want. */
static void
req_bad_n(const char *s, size_t n, const struct pal_http_limits *lim,
	  int status, const char *want)
{
	struct pal_http_request r;
	struct pal_http_refusal ref;
	struct pal_err err;
	struct req_sum sum;
	int rc;

	rc = parse_whole(s, n, lim, &r, &ref, &err);
	if (rc >= 0 || ref.status != status || ref.reason == NULL ||
	    strstr(ref.reason, want) == NULL)
		fail_msg("'%.*s': rc %d status %d reason '%s' (%s), want %d "
			 "'%s'", (int)(n > 120 ? 120 : n), s, rc, ref.status,
			 ref.reason ? ref.reason : "", err.msg, status, want);
	assert_int_equal(err.code, rc);
	assert_true(err.msg[0] != '\0');
	/* Nothing of a refused request is left for the caller to use. */
	assert_null(r.target);
	assert_int_equal(r.n_headers, 0);
	summarize(&r, s, rc, &ref, &sum);
	check_split_agrees(s, n, lim, &sum);
}

static void
req_bad_lim(const char *s, const struct pal_http_limits *lim, int status,
	    const char *want)
{
	req_bad_n(s, strlen(s), lim, status, want);
}

static void
req_bad(const char *s, int status, const char *want)
{
	struct pal_http_limits lim = limits();

	req_bad_n(s, strlen(s), &lim, status, want);
}

static void
assert_span(const char *p, size_t n, const char *want)
{
	if (p == NULL || n != strlen(want) || memcmp(p, want, n) != 0)
		fail_msg("got '%.*s', want '%s'", p ? (int)n : 6,
			 p ? p : "(null)", want);
}

/* ---- valid requests ---- */

static void
get_minimal(void **state)
{
	static const char s[] = "GET /v1/models HTTP/1.1\r\nHost: gw\r\n\r\n";
	struct pal_http_request r;

	(void)state;
	req_ok(s, &r);
	assert_int_equal(r.method, PAL_HTTP_GET);
	assert_span(r.method_name, r.method_len, "GET");
	assert_span(r.target, r.target_len, "/v1/models");
	assert_span(r.path, r.path_len, "/v1/models");
	assert_null(r.query);
	assert_int_equal(r.version_minor, 1);
	assert_int_equal(r.n_headers, 1);
	assert_span(r.headers[0].name, r.headers[0].name_len, "Host");
	assert_span(r.headers[0].value, r.headers[0].value_len, "gw");
	assert_span(r.host, r.host_len, "gw");
	assert_int_equal(r.framing, PAL_HTTP_BODY_NONE);
	assert_true(r.keep_alive);
	assert_false(r.expect_continue);
	assert_null(r.content_type);
	assert_null(r.authorization);
	assert_int_equal(r.head_len, sizeof(s) - 1);
}

static void
post_content_length(void **state)
{
	static const char s[] =
	    "POST /v1/chat/completions HTTP/1.1\r\n"
	    "Host: gw.example:8443\r\n"
	    "Authorization: Bearer sk-test\r\n"
	    "Content-Type: application/json\r\n"
	    "content-length: 17\r\n"
	    "User-Agent: OpenAI/JS 6.1.0\r\n"
	    "Accept: application/json\r\n"
	    "X-Stainless-Lang: js\r\n"
	    "Accept-Encoding: gzip, deflate\r\n"
	    "\r\n"
	    "{\"model\":\"m\"}\r\n\r\n";
	struct pal_http_request r;

	(void)state;
	req_ok(s, &r);
	assert_int_equal(r.method, PAL_HTTP_POST);
	assert_span(r.path, r.path_len, "/v1/chat/completions");
	assert_int_equal(r.framing, PAL_HTTP_BODY_LENGTH);
	assert_int_equal(r.content_length, 17);
	assert_span(r.host, r.host_len, "gw.example:8443");
	assert_span(r.authorization, r.authorization_len, "Bearer sk-test");
	assert_span(r.content_type, r.content_type_len, "application/json");
	assert_int_equal(r.n_headers, 8);
	assert_memory_equal(s + r.head_len, "{\"model\":\"m\"}", 13);
	assert_span(r.headers[7].value, r.headers[7].value_len,
		    "gzip, deflate");
	assert_true(pal_http_find(r.headers, r.n_headers, "USER-AGENT") ==
		    &r.headers[4]);
	assert_null(pal_http_find(r.headers, r.n_headers, "Cookie"));
}

static void
post_chunked(void **state)
{
	static const char s[] =
	    "POST /v1/completions?x=1&y=%2F HTTP/1.1\r\n"
	    "Host: gw\r\n"
	    "Transfer-Encoding:  Chunked \r\n"
	    "\r\n"
	    "5\r\nhello\r\n0\r\n\r\n";
	struct pal_http_request r;

	(void)state;
	req_ok(s, &r);
	assert_int_equal(r.framing, PAL_HTTP_BODY_CHUNKED);
	assert_span(r.path, r.path_len, "/v1/completions");
	assert_span(r.query, r.query_len, "x=1&y=%2F");
	assert_span(r.headers[1].value, r.headers[1].value_len, "Chunked");
}

static void
keep_alive_rules(void **state)
{
	static const struct {
		const char *s;
		bool keep;
	} cases[] = {
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		  false },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, "
		  "CLOSE\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n",
		  true },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
		  "Connection: close\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive,close\r\n\r\n",
		  false },
	};
	struct pal_http_request r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req_ok(cases[i].s, &r);
		if (r.keep_alive != cases[i].keep)
			fail_msg("%s: keep_alive %d", cases[i].s, r.keep_alive);
	}
}

static void
http10_and_other_methods(void **state)
{
	struct pal_http_request r;

	(void)state;
	req_ok("POST /x HTTP/1.0\r\nContent-Length: 0\r\n\r\n", &r);
	assert_int_equal(r.version_minor, 0);
	assert_null(r.host);
	assert_int_equal(r.framing, PAL_HTTP_BODY_LENGTH);
	assert_int_equal(r.content_length, 0);
	req_ok("PROPFIND /x HTTP/1.1\r\nHost: a\r\n\r\n", &r);
	assert_int_equal(r.method, PAL_HTTP_OTHER);
	assert_span(r.method_name, r.method_len, "PROPFIND");
	/* Methods are case-sensitive. */
	req_ok("get /x HTTP/1.1\r\nHost: a\r\n\r\n", &r);
	assert_int_equal(r.method, PAL_HTTP_OTHER);
	req_ok("DELETE /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n",
	       &r);
	assert_int_equal(r.method, PAL_HTTP_DELETE);
	req_ok("GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &r);
	assert_int_equal(r.content_length, 0);
	req_ok("HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n", &r);
	assert_int_equal(r.method, PAL_HTTP_HEAD);
}

static void
expect_and_values(void **state)
{
	struct pal_http_request r;

	(void)state;
	req_ok("POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
	       "Content-Length: 3\r\n\r\n", &r);
	assert_true(r.expect_continue);
	/* HTTP/1.0 Expect is ignored (RFC 9110 10.1.1). */
	req_ok("POST /x HTTP/1.0\r\nExpect: whatever\r\n\r\n", &r);
	assert_false(r.expect_continue);
	req_bad("POST /x HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417,
		"expectation");
	/* OWS trimmed both sides, inner space and HTAB kept, empty values. */
	req_ok("GET / HTTP/1.1\r\nHost: a\r\nX-A: \t a \t b\t \r\nX-B:\r\n"
	       "X-C: caf\xc3\xa9\r\n\r\n", &r);
	assert_span(r.headers[1].value, r.headers[1].value_len, "a \t b");
	assert_int_equal(r.headers[2].value_len, 0);
	assert_span(r.headers[3].value, r.headers[3].value_len,
		    "caf\xc3\xa9");
	req_ok("GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789\t\xff\x80 ~!\"#$%&'()*+"
	       ",-./:;<=>?@[\\]^_`{|}0123456789\r\n\r\n", &r);
	assert_int_equal(r.headers[1].value_len, 56);
	req_ok("GET /a/.well-known/x/a..b/...?q=/../ HTTP/1.1\r\n"
	       "Host: [::1]:8080\r\n\r\n", &r);
	assert_span(r.query, r.query_len, "q=/../");
	req_ok("GET /%41%7e?%7E HTTP/1.1\r\nHost: a\r\n\r\n", &r);
	req_ok("GET /? HTTP/1.1\r\nHost: a\r\n\r\n", &r);
	assert_non_null(r.query);
	assert_int_equal(r.query_len, 0);
}

static void
needs_more_until_complete(void **state)
{
	static const char s[] = "POST /v1/embeddings HTTP/1.1\r\nHost: a\r\n"
				"Content-Length: 2\r\n\r\n{}";
	size_t head = sizeof(s) - 1 - 2;
	struct pal_http_parser p;
	struct pal_http_limits lim = limits();
	struct pal_http_request r;
	struct pal_http_refusal ref;

	(void)state;
	for (size_t k = 0; k < head; k++) {
		assert_int_equal(pal_http_parser_init(&p, &lim, hdrs, NULL), 0);
		assert_int_equal(pal_http_request_parse(&p, s, k, &r, &ref,
							NULL), PAL_HTTP_MORE);
		assert_int_equal(ref.status, 0);
		assert_null(r.target);
	}
	assert_int_equal(pal_http_parser_init(&p, &lim, hdrs, NULL), 0);
	assert_int_equal(pal_http_request_parse(&p, s, head, &r, &ref, NULL), 0);
	assert_int_equal(r.head_len, head);
	/* A complete head parses again to the same result. */
	assert_int_equal(pal_http_request_parse(&p, s, sizeof(s) - 1, &r, &ref,
						NULL), 0);
	assert_int_equal(r.head_len, head);
}

static void
pipelined_requests(void **state)
{
	static const char s[] = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
				"POST /b HTTP/1.1\r\nHost: a\r\n"
				"Content-Length: 1\r\n\r\nxGET /c HTTP/1.1\r\n";
	struct pal_http_limits lim = limits();
	struct pal_http_parser p;
	struct pal_http_request r;
	size_t off;

	(void)state;
	assert_int_equal(pal_http_parser_init(&p, &lim, hdrs, NULL), 0);
	assert_int_equal(pal_http_request_parse(&p, s, sizeof(s) - 1, &r, NULL,
						NULL), 0);
	assert_span(r.path, r.path_len, "/a");
	off = r.head_len;
	pal_http_parser_reset(&p);
	assert_int_equal(pal_http_request_parse(&p, s + off,
						sizeof(s) - 1 - off, &r, NULL,
						NULL), 0);
	assert_span(r.path, r.path_len, "/b");
	off += r.head_len + r.content_length;
	pal_http_parser_reset(&p);
	assert_int_equal(pal_http_request_parse(&p, s + off,
						sizeof(s) - 1 - off, &r, NULL,
						NULL), PAL_HTTP_MORE);
}

/* ---- limits ---- */

static char *
repeat(const char *head, char c, size_t n, const char *tail)
{
	size_t a = strlen(head), b = strlen(tail);
	char *s = malloc(a + n + b + 1);

	assert_non_null(s);
	memcpy(s, head, a);
	memset(s + a, c, n);
	memcpy(s + a + n, tail, b + 1);
	return s;
}

static void
limits_at_their_edges(void **state)
{
	static const char pre[] = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
	struct pal_http_limits lim = limits();
	struct pal_http_request r;
	char *s;

	(void)state;
	lim.max_target = 100;
	lim.max_head = 300;
	lim.max_headers = 3;
	lim.max_body = 1000;
	/* Target: 100 bytes pass, 101 get 414, also before the line ends. */
	s = repeat("GET /", 'a', 99, " HTTP/1.1\r\nHost: a\r\n\r\n");
	req_ok_lim(s, &lim, &r);
	free(s);
	s = repeat("GET /", 'a', 100, " HTTP/1.1\r\nHost: a\r\n\r\n");
	req_bad_n(s, strlen(s), &lim, 414, "target too long");
	free(s);
	s = repeat("GET /", 'a', 200, "");
	req_bad_n(s, strlen(s), &lim, 414, "target too long");
	free(s);
	/* Fields: 3 pass, 4 get 431. */
	req_ok_lim("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", &lim,
		   &r);
	req_bad_lim("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
		    &lim, 431, "too many");
	/* Head: exactly 300 bytes pass, 301 get 431. */
	s = repeat(pre, 'v', 300 - strlen(pre) - 4, "\r\n\r\n");
	assert_int_equal(strlen(s), 300);
	req_ok_lim(s, &lim, &r);
	free(s);
	s = repeat(pre, 'v', 301 - strlen(pre) - 4, "\r\n\r\n");
	req_bad_n(s, strlen(s), &lim, 431, "too large");
	free(s);
	/* Body: 1000 passes, 1001 gets 413 before any body byte arrives. */
	req_ok_lim("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n",
		   &lim, &r);
	req_bad_lim("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n"
		    "\r\n", &lim, 413, "too large");
}

static void
limits_are_checked(void **state)
{
	struct pal_http_limits lim = limits();
	struct pal_http_parser p;
	struct pal_err err;

	(void)state;
	lim.max_head = 10;
	assert_int_equal(pal_http_parser_init(&p, &lim, hdrs, &err),
			 PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "max_head"));
	lim = limits();
	lim.max_target = lim.max_head + 1;
	assert_int_equal(pal_http_parser_init(&p, &lim, hdrs, &err),
			 PAL_ERR_INVALID);
	lim = limits();
	lim.max_headers = 0;
	assert_int_equal(pal_http_parser_init(&p, &lim, hdrs, &err),
			 PAL_ERR_INVALID);
	lim = limits();
	assert_int_equal(pal_http_parser_init(&p, &lim, NULL, &err),
			 PAL_ERR_INVALID);
}

static void
refused_parser_stays_refused(void **state)
{
	static const char bad[] = "GET / HTTP/1.1\nHost: a\n\n";
	static const char good[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct pal_http_limits lim = limits();
	struct pal_http_parser p;
	struct pal_http_request r;
	struct pal_http_refusal ref;

	(void)state;
	assert_int_equal(pal_http_parser_init(&p, &lim, hdrs, NULL), 0);
	assert_int_equal(pal_http_request_parse(&p, bad, sizeof(bad) - 1, &r,
						&ref, NULL), PAL_ERR_FORMAT);
	assert_int_equal(ref.status, 400);
	assert_int_equal(pal_http_request_parse(&p, good, sizeof(good) - 1,
						&r, &ref, NULL),
			 PAL_ERR_INVALID);
	pal_http_parser_reset(&p);
	assert_int_equal(pal_http_request_parse(&p, good, sizeof(good) - 1,
						&r, &ref, NULL), 0);
}

/* ---- refusals ---- */

#define H11 "GET / HTTP/1.1\r\nHost: a\r\n"
#define P11 "POST / HTTP/1.1\r\nHost: a\r\n"

static const struct bad_case {
	const char *s;
	int status;
	const char *reason;
} bad_cases[] = {
	/* Line endings: CRLF only, no blank line first. */
	{ "GET / HTTP/1.1\nHost: a\n\n", 400, "CRLF" },
	{ H11 "X: a\n\r\n", 400, "CRLF" },
	{ H11 "\n", 400, "CRLF" },
	{ H11 "X: a\rb\r\n\r\n", 400, "field value" },
	{ "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request target" },
	{ "GET / HTTP/1.1\r\r\nHost: a\r\n\r\n", 400, "request line" },
	{ "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "empty line" },
	/* Request line. */
	{ "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request line" },
	{ "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "request line" },
	{ " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request line" },
	{ "GET /\r\n\r\n", 400, "request line" },
	{ "GET\r\n\r\n", 400, "request line" },
	{ "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request line" },
	{ "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request line" },
	{ "AVERYLONGMETHODNAMEOFTHIRTYTHREEX / HTTP/1.1\r\nHost: a\r\n\r\n",
	  400, "request line" },
	{ "GET / HTTPS/1.1\r\nHost: a\r\n\r\n", 400, "request line" },
	{ "GET / http/1.1\r\nHost: a\r\n\r\n", 400, "request line" },
	{ "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, "request line" },
	{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "version" },
	{ "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "version" },
	{ "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, "version" },
	/* Target: origin-form only, strict bytes and escapes. */
	{ "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "'/'" },
	{ "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "'/'" },
	{ "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "'/'" },
	{ "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "fragment" },
	{ "GET /a\"b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request target" },
	{ "GET /a<b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request target" },
	{ "GET /a\\b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request target" },
	{ "GET /a{b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request target" },
	{ "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request target" },
	{ "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request target" },
	{ "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	  "request target" },
	{ "GET /a% HTTP/1.1\r\nHost: a\r\n\r\n", 400, "percent" },
	{ "GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "percent" },
	{ "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, "percent" },
	{ "GET /a%00 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "percent" },
	{ "GET /?a=%g0 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "percent" },
	{ "GET /v1/../admin HTTP/1.1\r\nHost: a\r\n\r\n", 400, "dot" },
	{ "GET /v1/.. HTTP/1.1\r\nHost: a\r\n\r\n", 400, "dot" },
	{ "GET /./v1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "dot" },
	{ "GET /v1/%2e%2E/admin HTTP/1.1\r\nHost: a\r\n\r\n", 400, "dot" },
	{ "GET /v1/.%2e HTTP/1.1\r\nHost: a\r\n\r\n", 400, "dot" },
	/* Field lines. */
	{ H11 "X: a\r\n b\r\n\r\n", 400, "folding" },
	{ H11 "X: a\r\n\tb\r\n\r\n", 400, "folding" },
	{ "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "folding" },
	{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "whitespace" },
	{ "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, "whitespace" },
	{ H11 "Content-Length : 5\r\n\r\nhello", 400, "whitespace" },
	{ H11 ": a\r\n\r\n", 400, "empty field name" },
	{ H11 "X(: a\r\n\r\n", 400, "field name" },
	{ H11 "X\x80: a\r\n\r\n", 400, "field name" },
	{ H11 "X a\r\n\r\n", 400, "whitespace" },
	{ H11 "Xa\r\n\r\n", 400, "colon" },
	{ H11 "X_Forwarded_For: a\r\n\r\n", 400, "underscore" },
	{ H11 "Transfer_Encoding: chunked\r\n\r\n", 400, "underscore" },
	{ H11 "X: a\x01\r\n\r\n", 400, "field value" },
	{ H11 "X: a\x7f\r\n\r\n", 400, "field value" },
	{ H11 "X: a\x1b[31m\r\n\r\n", 400, "field value" },
	/* Inside long values too (they are read eight bytes at a time). */
	{ H11 "X: 0123456789abcdef\x7f" "0123456789abcdef\r\n\r\n", 400,
	  "field value" },
	{ H11 "X: 0123456789abcdef\x01" "0123456789abcdef\r\n\r\n", 400,
	  "field value" },
	{ H11 "X: 0123456789abcdef\r0123456789abcdef\r\n\r\n", 400,
	  "field value" },
	{ H11 "X: 0123456789abcdef\x1f\x80\xff" "0123456789abcdef\r\n\r\n", 400,
	  "field value" },
	/* Content-Length. */
	{ P11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
	  "both" },
	{ P11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
	  "both" },
	{ P11 "Content-Length: 5, 5\r\n\r\n", 400, "Content-Length" },
	{ P11 "Content-Length: 5,5\r\n\r\n", 400, "Content-Length" },
	{ P11 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 400,
	  "repeated Content-Length" },
	{ P11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
	  "repeated Content-Length" },
	{ P11 "Content-Length: +5\r\n\r\n", 400, "Content-Length" },
	{ P11 "Content-Length: -1\r\n\r\n", 400, "Content-Length" },
	{ P11 "Content-Length: 0x5\r\n\r\n", 400, "Content-Length" },
	{ P11 "Content-Length: 05\r\n\r\n", 400, "Content-Length" },
	{ P11 "Content-Length: 5 5\r\n\r\n", 400, "Content-Length" },
	{ P11 "Content-Length: 1.0\r\n\r\n", 400, "Content-Length" },
	{ P11 "Content-Length:\r\n\r\n", 400, "Content-Length" },
	{ P11 "Content-Length: 18446744073709551616\r\n\r\n", 400,
	  "Content-Length" },
	{ P11 "Content-Length: 99999999999999999999\r\n\r\n", 400,
	  "Content-Length" },
	{ P11 "Content-Length: 9999999999999999999\r\n\r\n", 413,
	  "too large" },
	{ P11 "Content-Length: 1048577\r\n\r\n", 413, "too large" },
	/* Transfer-Encoding. */
	{ P11 "Transfer-Encoding: gzip, chunked\r\n\r\n", 501,
	  "not implemented" },
	{ P11 "Transfer-Encoding: x-custom, chunked\r\n\r\n", 501,
	  "not implemented" },
	{ P11 "Transfer-Encoding: chunked, gzip\r\n\r\n", 400,
	  "Transfer-Encoding" },
	{ P11 "Transfer-Encoding: chunked, chunked\r\n\r\n", 400,
	  "Transfer-Encoding" },
	{ P11 "Transfer-Encoding: gzip\r\n\r\n", 400, "Transfer-Encoding" },
	{ P11 "Transfer-Encoding: identity\r\n\r\n", 400,
	  "Transfer-Encoding" },
	{ P11 "Transfer-Encoding: xchunked\r\n\r\n", 400,
	  "Transfer-Encoding" },
	{ P11 "Transfer-Encoding: chunked;q=1\r\n\r\n", 400,
	  "Transfer-Encoding" },
	{ P11 "Transfer-Encoding: \"chunked\"\r\n\r\n", 400,
	  "Transfer-Encoding" },
	{ P11 "Transfer-Encoding: chunked,\r\n\r\n", 400,
	  "Transfer-Encoding" },
	{ P11 "Transfer-Encoding: ,chunked\r\n\r\n", 400,
	  "Transfer-Encoding" },
	{ P11 "Transfer-Encoding:\r\n\r\n", 400, "Transfer-Encoding" },
	{ P11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
	  "\r\n", 400, "repeated Transfer-Encoding" },
	{ P11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
	  400, "repeated Transfer-Encoding" },
	{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
	  "HTTP/1.0" },
	/* Host. */
	{ "GET / HTTP/1.1\r\n\r\n", 400, "missing Host" },
	{ H11 "Host: b\r\n\r\n", 400, "repeated Host" },
	{ "GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, "invalid Host" },
	{ "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "invalid Host" },
	{ "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, "invalid Host" },
	{ "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "invalid Host" },
	/* Bodies where none belongs; singletons the gateway reads. */
	{ H11 "Content-Length: 5\r\n\r\nhello", 400, "GET" },
	{ H11 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "GET" },
	{ "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n", 400,
	  "HEAD" },
	{ P11 "Content-Type: a/b\r\nContent-Type: c/d\r\n\r\n", 400,
	  "repeated" },
	{ P11 "Authorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n",
	  400, "repeated" },
	{ P11 "Expect: 100-continue\r\nExpect: 100-continue\r\n\r\n", 400,
	  "repeated" },
	{ H11 "Connection: close,,\r\n\r\n", 400, "Connection" },
	{ H11 "Connection:\r\n\r\n", 400, "Connection" },
	{ H11 "Connection: cl\"ose\r\n\r\n", 400, "Connection" },
};

static void
every_bad_shape_refused(void **state)
{
	struct pal_http_limits lim = limits();

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		req_bad_n(bad_cases[i].s, strlen(bad_cases[i].s), &lim,
			  bad_cases[i].status, bad_cases[i].reason);
}

static void
nul_bytes_refused(void **state)
{
	static const char a[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
	static const char b[] = "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char c[] = "GET / HTTP/1.1\r\nHost: a\r\nX\0: a\r\n\r\n";
	static const char d[] = "GET / HTTP/1.1\r\nHost: a\r\n"
				"X: 0123456789abcdef\0" "0123456789abcdef\r\n\r\n";
	struct pal_http_limits lim = limits();

	(void)state;
	req_bad_n(a, sizeof(a) - 1, &lim, 400, "field value");
	req_bad_n(b, sizeof(b) - 1, &lim, 400, "request target");
	req_bad_n(c, sizeof(c) - 1, &lim, 400, "field name");
	req_bad_n(d, sizeof(d) - 1, &lim, 400, "field value");
}

/* Refusal details never quote a value (it may be a credential). */
static void
details_never_quote_values(void **state)
{
	static const char s[] = "POST / HTTP/1.1\r\nHost: a\r\n"
				"Authorization: Bearer sk-SECRET\x01\r\n\r\n";
	struct pal_http_limits lim = limits();
	struct pal_http_request r;
	struct pal_http_refusal ref;
	struct pal_err err;

	(void)state;
	assert_int_equal(parse_whole(s, sizeof(s) - 1, &lim, &r, &ref, &err),
			 PAL_ERR_FORMAT);
	assert_null(strstr(err.msg, "SECRET"));
	assert_non_null(strstr(err.msg, "Authorization"));
}

/* ---- chunked bodies ---- */

struct ck_out {
	int rc, status, done;
	size_t used;		/* bytes consumed in all */
	char data[4096];
	size_t n;
};

/* Feeds s in slices of step bytes (0: whole), collecting data. */
static void
ck_run(const char *s, size_t len, size_t step, uint64_t max,
       enum pal_http_side side, struct ck_out *o)
{
	struct pal_http_chunked c;
	struct pal_http_refusal ref;
	size_t off = 0;

	memset(o, 0, sizeof(*o));
	pal_http_chunked_init(&c, max, side);
	while (off < len && !pal_http_chunked_done(&c)) {
		size_t end = step == 0 || len - off < step ? len : off + step;
		size_t slice_off = off;

		while (slice_off < end && !pal_http_chunked_done(&c)) {
			const uint8_t *d;
			size_t used, dn;

			o->rc = pal_http_chunked_feed(&c, s + slice_off,
						      end - slice_off, &used,
						      &d, &dn, &ref, NULL);
			if (o->rc != 0) {
				o->status = ref.status;
				o->used = slice_off;
				return;
			}
			if (dn > 0) {
				assert_true(d >= (const uint8_t *)s +
					    slice_off);
				assert_true(d + dn <= (const uint8_t *)s + end);
				assert_true(o->n + dn <= sizeof(o->data));
				memcpy(o->data + o->n, d, dn);
				o->n += dn;
			}
			assert_true(used > 0);
			slice_off += used;
		}
		off = slice_off;
	}
	o->done = pal_http_chunked_done(&c);
	o->used = off;
}

/* Whole, byte by byte and in 3-byte slices all give the same result. */
static void
ck_all(const char *s, size_t len, uint64_t max, enum pal_http_side side,
       struct ck_out *o)
{
	static struct ck_out b;

	ck_run(s, len, 0, max, side, o);
	for (size_t step = 1; step <= 7; step += 2) {
		ck_run(s, len, step, max, side, &b);
		if (b.rc != o->rc || b.status != o->status ||
		    b.done != o->done || b.n != o->n ||
		    memcmp(b.data, o->data, o->n) != 0 ||
		    (o->rc == 0 && b.used != o->used))
			fail_msg("'%.*s' in slices of %zu: rc %d/%d status "
				 "%d/%d n %zu/%zu", (int)len, s, step, o->rc,
				 b.rc, o->status, b.status, o->n, b.n);
	}
}

/* s decodes to want, leaving its last rest bytes unconsumed. */
static void
ck_ok(const char *s, const char *want, size_t rest)
{
	size_t want_used = strlen(s) - rest;
	struct ck_out o;

	ck_all(s, strlen(s), 1u << 20, PAL_HTTP_FROM_CLIENT, &o);
	if (o.rc != 0 || !o.done || o.n != strlen(want) ||
	    memcmp(o.data, want, o.n) != 0 || o.used != want_used)
		fail_msg("'%s': rc %d done %d data '%.*s' used %zu", s, o.rc,
			 o.done, (int)o.n, o.data, o.used);
}

static void
ck_bad_max(const char *s, uint64_t max, enum pal_http_side side,
	   int status)
{
	struct ck_out o;

	ck_all(s, strlen(s), max, side, &o);
	if (o.rc >= 0 || o.status != status)
		fail_msg("'%s': rc %d status %d, want %d", s, o.rc, o.status,
			 status);
}

static void
ck_bad(const char *s, int status)
{
	ck_bad_max(s, 1u << 20, PAL_HTTP_FROM_CLIENT, status);
}

static void
chunked_valid(void **state)
{
	(void)state;
	ck_ok("5\r\nhello\r\n0\r\n\r\n", "hello", 0);
	ck_ok("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", 0);
	ck_ok("A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n",
	      "0123456789abcdefghij", 0);
	ck_ok("0\r\n\r\n", "", 0);
	ck_ok("00000005\r\nhello\r\n0000\r\n\r\n", "hello", 0);
	/* Extensions and trailers are accepted and ignored. */
	ck_ok("5;name=value;q=\"a b\"\r\nhello\r\n0;last\r\n\r\n", "hello",
	      0);
	ck_ok("5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Empty:\r\n\r\n",
	      "hello", 0);
	/* Bytes after the body are the next message, not consumed. */
	ck_ok("3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "abc", 16);
}

static void
chunked_refusals(void **state)
{
	char big[PAL_HTTP_MAX_TRAILER + 64];
	char ext[PAL_HTTP_MAX_CHUNK_EXT + 32];

	(void)state;
	ck_bad("x\r\n", 400);
	ck_bad("\r\n", 400);
	ck_bad(" 5\r\nhello\r\n0\r\n\r\n", 400);
	ck_bad("5 \r\nhello\r\n0\r\n\r\n", 400);
	ck_bad("5\t\r\nhello\r\n0\r\n\r\n", 400);
	ck_bad("5 ;a\r\nhello\r\n0\r\n\r\n", 400);
	ck_bad("+5\r\nhello\r\n0\r\n\r\n", 400);
	ck_bad("-5\r\nhello\r\n0\r\n\r\n", 400);
	ck_bad("0x5\r\nhello\r\n0\r\n\r\n", 400);
	ck_bad("5\nhello\r\n0\r\n\r\n", 400);
	ck_bad("5\rhello\r\n0\r\n\r\n", 400);
	ck_bad("5\r\nhelloX\r\n0\r\n\r\n", 400);
	ck_bad("5\r\nhelloX\n0\r\n\r\n", 400);
	ck_bad("5\r\nhello\n\n0\r\n\r\n", 400);
	ck_bad("5\r\nhello\n0\r\n\r\n", 400);
	ck_bad("5\r\nhello\r0\r\n\r\n", 400);
	ck_bad("5\r\nhello\r\n0\r\n\n", 400);
	ck_bad("5\r\nhello\r\n0\r\nX\r\n\r\n", 400);
	ck_bad("5\r\nhello\r\n0\r\nX : a\r\n\r\n", 400);
	ck_bad("5\r\nhello\r\n0\r\n a: b\r\n\r\n", 400);
	ck_bad("5\r\nhello\r\n0\r\nX: a\x01\r\n\r\n", 400);
	ck_bad("5\r\nhello\r\n0\r\nX: a\n\r\n", 400);
	ck_bad("5;a\x01\r\nhello\r\n0\r\n\r\n", 400);
	ck_bad("5;a\nhello\r\n0\r\n\r\n", 400);
	/* 17 digits, even of zeros: refused before any overflow. */
	ck_bad("00000000000000005\r\nhello\r\n0\r\n\r\n", 400);
	ck_bad_max("1ffffffffffffffff\r\n", UINT64_MAX, PAL_HTTP_FROM_CLIENT,
		   400);
	/* Sizes count against the limit as they arrive, across chunks. */
	ck_bad("ffffffffffffffff\r\n", 413);
	ck_bad("100001\r\n", 413);
	ck_bad_max("5\r\nhello\r\n6\r\n world\r\n", 10, PAL_HTTP_FROM_CLIENT,
		   413);
	ck_bad_max("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 9,
		   PAL_HTTP_FROM_CLIENT, 413);
	/* From the upstream every refusal is 502. */
	ck_bad_max("5 \r\n", 1u << 20, PAL_HTTP_FROM_UPSTREAM, 502);
	ck_bad_max("100001\r\n", 1u << 20, PAL_HTTP_FROM_UPSTREAM, 502);
	/* Extensions and trailers are bounded. */
	memset(ext, 'e', sizeof(ext));
	memcpy(ext, "1;", 2);
	/* ';' and 256 more bytes: one too many; ';' and 255: accepted. */
	memcpy(ext + PAL_HTTP_MAX_CHUNK_EXT + 2, "\r\nx\r\n0\r\n\r\n", 11);
	ck_bad(ext, 400);
	memcpy(ext + PAL_HTTP_MAX_CHUNK_EXT + 1, "\r\nx\r\n0\r\n\r\n", 11);
	ck_ok(ext, "x", 0);
	memset(big, 'v', sizeof(big));
	memcpy(big, "0\r\nX: ", 6);
	memcpy(big + PAL_HTTP_MAX_TRAILER + 1, "\r\n\r\n", 5);
	ck_bad(big, 431);
}

static void
chunked_exact_limit_and_after_done(void **state)
{
	static const char s[] = "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\nrest";
	struct pal_http_chunked c;
	struct pal_http_refusal ref;
	const uint8_t *d;
	size_t used, dn, off = 0;
	struct ck_out o;

	(void)state;
	ck_all(s, sizeof(s) - 1, 10, PAL_HTTP_FROM_CLIENT, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.n, 10);
	assert_int_equal(o.used, sizeof(s) - 1 - 4);
	pal_http_chunked_init(&c, 10, PAL_HTTP_FROM_CLIENT);
	while (!pal_http_chunked_done(&c)) {
		assert_int_equal(pal_http_chunked_feed(&c, s + off,
						       sizeof(s) - 1 - off,
						       &used, &d, &dn, &ref,
						       NULL), 0);
		off += used;
	}
	assert_int_equal(pal_http_chunked_feed(&c, s + off, 4, &used, &d, &dn,
					       &ref, NULL), 0);
	assert_int_equal(used, 0);
	assert_null(d);
	/* A refused decoder stays refused. */
	pal_http_chunked_init(&c, 10, PAL_HTTP_FROM_CLIENT);
	assert_int_equal(pal_http_chunked_feed(&c, "z", 1, &used, &d, &dn, &ref,
					       NULL), PAL_ERR_FORMAT);
	assert_int_equal(pal_http_chunked_feed(&c, "0", 1, &used, &d, &dn, &ref,
					       NULL), PAL_ERR_INVALID);
}

/* ---- responses ---- */

static int
resp_parse(const char *s, enum pal_http_method m,
	   struct pal_http_response *r, struct pal_http_refusal *ref,
	   struct pal_err *err)
{
	struct pal_http_limits lim = limits();
	struct pal_http_parser p;
	struct pal_http_response rb;
	struct pal_http_refusal refb;
	char *buf = NULL;
	size_t n = strlen(s);
	int rc, rcb = PAL_HTTP_MORE;

	assert_int_equal(pal_http_parser_init(&p, &lim, hdrs, NULL), 0);
	pal_err_clear(err);
	rc = pal_http_response_parse(&p, s, n, m, r, ref, err);
	/* Byte by byte into a moving buffer: the same outcome. */
	assert_int_equal(pal_http_parser_init(&p, &lim, hdrs2, NULL), 0);
	for (size_t k = 1; k <= n && rcb == PAL_HTTP_MORE; k++) {
		char *nb = malloc(k);

		assert_non_null(nb);
		memcpy(nb, s, k);
		free(buf);
		buf = nb;
		rcb = pal_http_response_parse(&p, buf, k, m, &rb, &refb, NULL);
	}
	free(buf);
	if (rc != rcb || ref->status != refb.status ||
	    r->framing != rb.framing || r->status != rb.status ||
	    r->keep_alive != rb.keep_alive ||
	    r->content_length != rb.content_length ||
	    r->head_len != rb.head_len || r->n_headers != rb.n_headers)
		fail_msg("'%s': byte-by-byte differs: rc %d/%d", s, rc, rcb);
	return rc;
}

static void
resp_ok(const char *s, enum pal_http_method m, struct pal_http_response *r)
{
	struct pal_http_refusal ref;
	struct pal_err err;

	if (resp_parse(s, m, r, &ref, &err) != 0)
		fail_msg("'%s': %s", s, err.msg);
}

static void
resp_bad(const char *s, enum pal_http_method m, const char *want)
{
	struct pal_http_response r;
	struct pal_http_refusal ref;
	struct pal_err err;
	int rc = resp_parse(s, m, &r, &ref, &err);

	if (rc >= 0 || ref.status != 502 || strstr(err.msg, want) == NULL)
		fail_msg("'%s': rc %d status %d '%s', want 502 '%s'", s, rc,
			 ref.status, err.msg, want);
	assert_string_equal(ref.reason, "invalid response from upstream");
	assert_int_equal(r.status, 0);
}

static void
responses_valid(void **state)
{
	struct pal_http_response r;

	(void)state;
	resp_ok("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
		"content-length: 2\r\n\r\n{}", PAL_HTTP_POST, &r);
	assert_int_equal(r.status, 200);
	assert_span(r.reason, r.reason_len, "OK");
	assert_int_equal(r.framing, PAL_HTTP_BODY_LENGTH);
	assert_int_equal(r.content_length, 2);
	assert_true(r.keep_alive);
	assert_span(r.content_type, r.content_type_len, "application/json");
	assert_int_equal(r.n_headers, 2);
	/* Server-sent events, chunked, as vLLM streams them. */
	resp_ok("HTTP/1.1 200 OK\r\ndate: x\r\nserver: uvicorn\r\n"
		"content-type: text/event-stream; charset=utf-8\r\n"
		"transfer-encoding: chunked\r\n\r\n", PAL_HTTP_POST, &r);
	assert_int_equal(r.framing, PAL_HTTP_BODY_CHUNKED);
	/* Close-delimited: no length, no chunking. */
	resp_ok("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n",
		PAL_HTTP_GET, &r);
	assert_int_equal(r.framing, PAL_HTTP_BODY_CLOSE);
	assert_false(r.keep_alive);
	resp_ok("HTTP/1.0 200 OK\r\n\r\n", PAL_HTTP_GET, &r);
	assert_int_equal(r.framing, PAL_HTTP_BODY_CLOSE);
	resp_ok("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
		"Content-Length: 0\r\n\r\n", PAL_HTTP_GET, &r);
	assert_true(r.keep_alive);
	assert_int_equal(r.version_minor, 0);
	resp_ok("HTTP/1.1 200 OK\r\nConnection: close\r\n"
		"Content-Length: 3\r\n\r\n", PAL_HTTP_GET, &r);
	assert_false(r.keep_alive);
	/* No body, whatever the fields say: HEAD, 1xx, 204, 304. */
	resp_ok("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
		PAL_HTTP_HEAD, &r);
	assert_int_equal(r.framing, PAL_HTTP_BODY_NONE);
	assert_true(r.keep_alive);
	resp_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		PAL_HTTP_HEAD, &r);
	assert_int_equal(r.framing, PAL_HTTP_BODY_NONE);
	resp_ok("HTTP/1.1 200 OK\r\n\r\n", PAL_HTTP_HEAD, &r);
	assert_int_equal(r.framing, PAL_HTTP_BODY_NONE);
	assert_true(r.keep_alive);
	resp_ok("HTTP/1.1 204 No Content\r\n\r\n", PAL_HTTP_DELETE, &r);
	assert_int_equal(r.framing, PAL_HTTP_BODY_NONE);
	assert_true(r.keep_alive);
	resp_ok("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
		PAL_HTTP_DELETE, &r);
	assert_int_equal(r.framing, PAL_HTTP_BODY_NONE);
	resp_ok("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
		PAL_HTTP_GET, &r);
	assert_int_equal(r.framing, PAL_HTTP_BODY_NONE);
	assert_int_equal(r.content_length, 0);
	resp_ok("HTTP/1.1 100 Continue\r\n\r\n", PAL_HTTP_POST, &r);
	assert_int_equal(r.status, 100);
	assert_int_equal(r.framing, PAL_HTTP_BODY_NONE);
	/* Status lines without a reason, with an empty one. */
	resp_ok("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", PAL_HTTP_GET, &r);
	assert_int_equal(r.reason_len, 0);
	resp_ok("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", PAL_HTTP_GET,
		&r);
	assert_int_equal(r.status, 404);
	assert_int_equal(r.reason_len, 0);
	/* Names the request side refuses are only names here. */
	resp_ok("HTTP/1.1 200 OK\r\nx_request_id: 1\r\nContent-Length: 0\r\n"
		"\r\n", PAL_HTTP_GET, &r);
}

static void
interim_then_final(void **state)
{
	static const char s[] = "HTTP/1.1 100 Continue\r\n\r\n"
				"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
				"{}";
	struct pal_http_limits lim = limits();
	struct pal_http_parser p;
	struct pal_http_response r;

	(void)state;
	assert_int_equal(pal_http_parser_init(&p, &lim, hdrs, NULL), 0);
	assert_int_equal(pal_http_response_parse(&p, s, sizeof(s) - 1,
						 PAL_HTTP_POST, &r, NULL, NULL),
			 0);
	assert_int_equal(r.status, 100);
	pal_http_parser_reset(&p);
	assert_int_equal(pal_http_response_parse(&p, s + r.head_len,
						 sizeof(s) - 1 - r.head_len,
						 PAL_HTTP_POST, &r, NULL, NULL),
			 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.content_length, 2);
}

static void
responses_refused(void **state)
{
	(void)state;
	resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n", PAL_HTTP_GET, "both");
	resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		 PAL_HTTP_GET, "only chunked");
	resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		 PAL_HTTP_GET, "chunked is missing");
	resp_bad("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		 PAL_HTTP_GET, "HTTP/1.0");
	resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
		 "Content-Length: 2\r\n\r\n", PAL_HTTP_GET, "repeated");
	resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n",
		 PAL_HTTP_GET, "Content-Length");
	resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n",
		 PAL_HTTP_GET, "limit");
	resp_bad("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
		 PAL_HTTP_GET, "204");
	resp_bad("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n"
		 "\r\n", PAL_HTTP_GET, "204");
	resp_bad("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n"
		 "\r\n", PAL_HTTP_GET, "304");
	resp_bad("HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n",
		 PAL_HTTP_GET, "100");
	resp_bad("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
		 PAL_HTTP_GET, "101");
	resp_bad("HTTP/2 200 OK\r\n\r\n", PAL_HTTP_GET, "status line");
	resp_bad("HTTP/2.0 200 OK\r\n\r\n", PAL_HTTP_GET, "version");
	resp_bad("HTTP/1.1 600 Odd\r\n\r\n", PAL_HTTP_GET, "status code");
	resp_bad("HTTP/1.1 099 Odd\r\n\r\n", PAL_HTTP_GET, "status code");
	resp_bad("HTTP/1.1 20 OK\r\n\r\n", PAL_HTTP_GET, "status");
	resp_bad("HTTP/1.1 2000 OK\r\n\r\n", PAL_HTTP_GET, "space");
	resp_bad("HTTP/1.1 200 O\x01K\r\n\r\n", PAL_HTTP_GET, "reason");
	resp_bad("HTTP/1.1 200 OK\nContent-Length: 0\n\n", PAL_HTTP_GET,
		 "CRLF");
	resp_bad("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", PAL_HTTP_GET,
		 "obs-fold");
	resp_bad("HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
		 PAL_HTTP_GET, "before the colon");
	resp_bad("\r\nHTTP/1.1 200 OK\r\n\r\n", PAL_HTTP_GET, "blank line");
}

/* ---- helpers ---- */

static void
list_and_hop_helpers(void **state)
{
	(void)state;
	assert_true(pal_http_list_has("keep-alive, X-Foo ,close", 24,
				      "x-foo"));
	assert_true(pal_http_list_has("Close", 5, "close"));
	assert_false(pal_http_list_has("closed", 6, "close"));
	assert_false(pal_http_list_has("", 0, "close"));
	assert_true(pal_http_list_has(",,close,", 8, "close"));
	assert_true(pal_http_hop_by_hop("Transfer-Encoding", 17));
	assert_true(pal_http_hop_by_hop("UPGRADE", 7));
	assert_true(pal_http_hop_by_hop("te", 2));
	assert_false(pal_http_hop_by_hop("Content-Length", 14));
	assert_false(pal_http_hop_by_hop("tee", 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(get_minimal),
		cmocka_unit_test(post_content_length),
		cmocka_unit_test(post_chunked),
		cmocka_unit_test(keep_alive_rules),
		cmocka_unit_test(http10_and_other_methods),
		cmocka_unit_test(expect_and_values),
		cmocka_unit_test(needs_more_until_complete),
		cmocka_unit_test(pipelined_requests),
		cmocka_unit_test(limits_at_their_edges),
		cmocka_unit_test(limits_are_checked),
		cmocka_unit_test(refused_parser_stays_refused),
		cmocka_unit_test(every_bad_shape_refused),
		cmocka_unit_test(nul_bytes_refused),
		cmocka_unit_test(details_never_quote_values),
		cmocka_unit_test(chunked_valid),
		cmocka_unit_test(chunked_refusals),
		cmocka_unit_test(chunked_exact_limit_and_after_done),
		cmocka_unit_test(responses_valid),
		cmocka_unit_test(interim_then_final),
		cmocka_unit_test(responses_refused),
		cmocka_unit_test(list_and_hop_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
