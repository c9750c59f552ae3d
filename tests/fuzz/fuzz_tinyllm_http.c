/*
 * fuzz_tinyllm_http.c - tiny-llm-server's request head parser
 * (examples/tiny-llm/http.c) from raw bytes.
 *
 * Invariants (any break aborts):
 *   - a refusal has a status the header promises and a reason;
 *   - every prefix of the input gets "more" or the whole input's answer,
 *     and a prefix holding the whole head gets the same head: the parser
 *     never answers a request it has not seen the end of;
 *   - a parsed head ends in CRLF CRLF within the limit, its method, path
 *     and framing are what the bytes say, its body within the limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (64u << 10)

static const struct tl_http_limits lim = {
	.max_head = 2048, .max_target = 256, .max_headers = 16,
	.max_body = 4096,
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
same(const struct tl_http_req *a, const struct tl_http_req *b)
{
	check(a->method == b->method && a->method_name == b->method_name &&
	      a->method_len == b->method_len && a->path == b->path &&
	      a->path_len == b->path_len && a->minor == b->minor &&
	      a->head_len == b->head_len &&
	      a->content_length == b->content_length &&
	      a->keep_alive == b->keep_alive &&
	      a->expect_continue == b->expect_continue);
}

static void
check_done(const char *buf, const struct tl_http_req *r)
{
	check(r->head_len >= 4 && r->head_len <= lim.max_head);
	check(memcmp(buf + r->head_len - 4, "\r\n\r\n", 4) == 0);
	check(r->method_name == buf && r->method_len > 0 &&
	      r->method_len <= 16 && buf[r->method_len] == ' ');
	check((r->method == TL_HTTP_GET) ==
	      (r->method_len == 3 && memcmp(buf, "GET", 3) == 0));
	check((r->method == TL_HTTP_POST) ==
	      (r->method_len == 4 && memcmp(buf, "POST", 4) == 0));
	check(r->path == buf + r->method_len + 1 && r->path_len > 0 &&
	      r->path[0] == '/' && r->path_len <= lim.max_target);
	check(memchr(r->path, '?', r->path_len) == NULL);
	for (size_t i = 0; i < r->path_len; i++)
		check(r->path[i] > 0x20 && r->path[i] < 0x7f);
	check(r->minor <= 1 && r->content_length <= lim.max_body);
	check(r->keep_alive == 0 || r->keep_alive == 1);
	check(r->status == 0 && r->reason == NULL);
}

static void
check_refused(const struct tl_http_req *r)
{
	int s = r->status;

	check(s == 400 || s == 411 || s == 413 || s == 414 || s == 417 ||
	      s == 431 || s == 505);
	check(r->reason != NULL && r->reason[0] != '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tl_http_req whole, part;
	const char *buf = (const char *)data;
	size_t step;
	int rc;

	if (size > MAX_INPUT)
		return 0;
	rc = tl_http_parse(buf, size, &lim, &whole);
	if (rc == TL_HTTP_DONE)
		check_done(buf, &whole);
	else if (rc == TL_HTTP_REFUSED)
		check_refused(&whole);
	else
		check(rc == TL_HTTP_MORE && size < lim.max_head);
	/* Every prefix up to 512 bytes, then a sample of the longer ones. */
	step = size <= 512 ? 1 : size / 256;
	for (size_t k = 0; k < size; k += step) {
		int r2 = tl_http_parse(buf, k, &lim, &part);

		if (r2 == TL_HTTP_MORE)
			check(rc != TL_HTTP_DONE || k < whole.head_len);
		else
			check(r2 == rc);
		if (r2 == TL_HTTP_DONE)
			same(&whole, &part);
		if (r2 == TL_HTTP_REFUSED)
			check(part.status == whole.status &&
			      strcmp(part.reason, whole.reason) == 0);
	}
	return 0;
}
