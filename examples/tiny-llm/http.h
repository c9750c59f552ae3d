/*
 * http.h - the request head parser of tiny-llm-server: HTTP/1.0 and 1.1,
 * bodies framed by Content-Length only.
 *
 * The bytes come from any client and are parsed strictly: CRLF line ends
 * only, token methods and header names, no line folding, no control bytes
 * in values, one Content-Length of digits, one Host (required in 1.1), no
 * Transfer-Encoding (411: chunked bodies are not read), and limits on the
 * head, the target, the header count and the body.  The parser looks only
 * at complete lines, so a prefix of a request never gets an answer its
 * whole would not: it is "more" until the head ends or breaks a rule.
 */
#ifndef TL_HTTP_H
#define TL_HTTP_H

#include <stddef.h>

enum tl_http_method {
	TL_HTTP_GET,
	TL_HTTP_POST,
	TL_HTTP_OTHER,		/* a valid token this server does not serve */
};

struct tl_http_limits {
	size_t max_head;	/* request line and headers, line ends included */
	size_t max_target;
	unsigned max_headers;
	size_t max_body;	/* the largest Content-Length taken */
};

struct tl_http_req {
	enum tl_http_method method;
	const char *method_name;	/* inside the buffer, for the log */
	size_t method_len;
	const char *path;	/* the target up to any '?', in the buffer */
	size_t path_len;
	unsigned minor;		/* HTTP/1.minor: 0 or 1 */
	size_t head_len;	/* the body, if any, starts here */
	size_t content_length;
	int keep_alive;
	int expect_continue;	/* Expect: 100-continue */
	/* A refusal: the status to answer with and why (a static string). */
	int status;
	const char *reason;
};

enum {
	TL_HTTP_REFUSED = -1,
	TL_HTTP_MORE = 0,
	TL_HTTP_DONE = 1,
};

/*
 * Parses the head at the start of buf[0..len).  Returns TL_HTTP_DONE with
 * *req filled, TL_HTTP_MORE when the head has not ended yet (within the
 * limit), or TL_HTTP_REFUSED with req->status and req->reason set.
 */
int tl_http_parse(const char *buf, size_t len, const struct tl_http_limits *lim,
		  struct tl_http_req *req);

#endif
