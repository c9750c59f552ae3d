/*
 * http.h - the gateway's strict HTTP/1.1 parser: request heads from
 * clients, response heads from the upstream, chunked bodies from either.
 * Pure functions over bytes: no I/O, no allocation, no global state.
 * What is accepted and what is refused with which status, and why, is in
 * docs/formats/http.md.
 *
 * What it trusts: nothing in the bytes.  The limits come from the caller.
 * The upstream (a model server on loopback) is parsed as strictly as the
 * clients are, because a gateway that its upstream can confuse about where
 * a response ends serves one client's answer to another.
 *
 * Incremental use.  The caller keeps one struct pal_http_parser per
 * message head, appends received bytes to its own buffer and calls the
 * parse function again with the whole buffer (which may have moved, but
 * whose earlier bytes must not have changed).  Each call resumes the
 * search for the end of the head where the previous call stopped, so that
 * a head fed one byte at a time costs O(n) in all; the head is parsed once
 * it is complete.  The results are the same however the bytes were split.
 *
 * Results.  A parse function returns
 *   PAL_HTTP_MORE (1)  the head is not complete: read more and call again;
 *   0                  the head is complete and the result is filled in;
 *   < 0                a refusal: a negative PAL_ERR_* (PAL_ERR_FORMAT for
 *                      malformed bytes, PAL_ERR_LIMIT for a limit,
 *                      PAL_ERR_UNSUPPORTED for what we do not implement),
 *                      the HTTP status to answer and a short client-safe
 *                      reason in *ref, and a detail naming the field and
 *                      the offset in *err.  Details never quote field
 *                      values (they may hold credentials).
 * EVERY REFUSAL MEANS THE CONNECTION IS CLOSED after the error response
 * (for a client) or discarded (for the upstream): after a refusal nothing
 * says where the next message starts, and guessing is what request
 * smuggling exploits.  A parser that refused answers PAL_ERR_INVALID until
 * it is reset.
 *
 * Ownership.  Every pointer in a result points into the caller's buffer
 * (the bytes passed to the last call) or into the caller's header array;
 * nothing is copied or allocated.  They are valid as long as both are.
 *
 * Thread safety: a parser or decoder belongs to one thread at a time; the
 * functions share only constant tables.
 */
#ifndef PALISADE_HTTP_H
#define PALISADE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"

/* "The head is not complete yet": feed more bytes and call again. */
#define PAL_HTTP_MORE 1

/* Longest method token accepted; longer is a malformed request line. */
#define PAL_HTTP_MAX_METHOD 32
/* Bytes of chunk extensions on one chunk-size line (ignored when valid). */
#define PAL_HTTP_MAX_CHUNK_EXT 256
/* Bytes of a chunked body's trailer section (ignored when valid). */
#define PAL_HTTP_MAX_TRAILER 4096

/*
 * Limits chosen by the caller.  max_head bounds the start line, every
 * field line and the blank line together (431 beyond; the request line
 * alone is bounded by max_target and gets 414); max_headers is the number
 * of field lines, and the header array given to pal_http_parser_init must
 * hold that many; max_body bounds a Content-Length and the total of a
 * chunked body's data (413 for requests).
 */
struct pal_http_limits {
	size_t max_head;	/* 64 .. 1 MiB */
	size_t max_target;	/* 1 .. max_head */
	size_t max_headers;	/* 1 .. 65535 */
	uint64_t max_body;	/* any; 0 allows only empty bodies */
};

/* Defaults: 16 KiB head, 4 KiB target, 64 fields, 1 MiB body. */
void pal_http_limits_default(struct pal_http_limits *lim);

/* Why a message was refused: the status to answer and a static reason. */
struct pal_http_refusal {
	int status;		/* 400, 413, 414, 417, 431, 501, 505; 502
				   for anything from the upstream */
	const char *reason;	/* static, client-safe, no trailing newline */
};

/* One field line, pointing into the caller's buffer; value without OWS. */
struct pal_http_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* Methods known by name; anything else that is a token is OTHER. */
enum pal_http_method {
	PAL_HTTP_OTHER = 0,
	PAL_HTTP_GET,
	PAL_HTTP_HEAD,
	PAL_HTTP_POST,
	PAL_HTTP_PUT,
	PAL_HTTP_DELETE,
	PAL_HTTP_PATCH,
	PAL_HTTP_OPTIONS,
	PAL_HTTP_TRACE,
	PAL_HTTP_CONNECT,
};

/* How the body that follows a head is delimited. */
enum pal_http_framing {
	PAL_HTTP_BODY_NONE = 0,	/* no body (no CL or TE; or a response that
				   cannot have one: HEAD, 1xx, 204, 304) */
	PAL_HTTP_BODY_LENGTH,	/* exactly content_length bytes (may be 0) */
	PAL_HTTP_BODY_CHUNKED,	/* feed to a struct pal_http_chunked */
	PAL_HTTP_BODY_CLOSE,	/* responses only: until the upstream closes */
};

/* A complete request head. */
struct pal_http_request {
	enum pal_http_method method;
	const char *method_name;	/* the token as sent */
	size_t method_len;
	const char *target;		/* origin-form: path [ "?" query ] */
	size_t target_len;
	const char *path;		/* starts with '/', raw (still escaped) */
	size_t path_len;
	const char *query;		/* after '?'; NULL when there is none */
	size_t query_len;
	int version_minor;		/* 1 for HTTP/1.1, 0 for HTTP/1.0 */
	const struct pal_http_header *headers;	/* the parser's array */
	size_t n_headers;
	enum pal_http_framing framing;	/* NONE, LENGTH or CHUNKED */
	uint64_t content_length;	/* when framing is LENGTH */
	bool keep_alive;		/* the client may send another request */
	bool expect_continue;		/* "Expect: 100-continue" (1.1 only) */
	const char *host;		/* the one Host field; NULL in a 1.0
					   request without one */
	size_t host_len;
	const char *content_type;	/* NULL when absent */
	size_t content_type_len;
	const char *authorization;	/* NULL when absent (at most one) */
	size_t authorization_len;
	size_t head_len;		/* bytes of the head; the body starts
					   at buf + head_len */
};

/* A complete response head from the upstream. */
struct pal_http_response {
	int status;			/* 100 .. 599 */
	const char *reason;		/* may be empty */
	size_t reason_len;
	int version_minor;
	const struct pal_http_header *headers;
	size_t n_headers;
	enum pal_http_framing framing;	/* any of the four */
	uint64_t content_length;	/* when framing is LENGTH */
	bool keep_alive;		/* the connection may be reused after
					   this response's body */
	const char *content_type;	/* NULL when absent */
	size_t content_type_len;
	size_t head_len;
};

/*
 * Parser state for one head.  The fields are private; the struct is here
 * so that callers can embed it (it is small: no buffer inside).
 */
struct pal_http_parser {
	struct pal_http_limits lim;
	struct pal_http_header *hdrs;	/* caller's, lim.max_headers long */
	size_t scanned;		/* bytes searched for line ends so far */
	size_t line_start;	/* start of the line being searched */
	size_t lines;		/* complete lines so far */
	size_t head_len;	/* set once the blank line was found */
	struct pal_http_refusal refused; /* status != 0 after a refusal */
	int refused_code;
};

/*
 * Prepares p for a head under lim, storing field lines into hdrs, an array
 * of lim->max_headers entries that the caller owns.  Fails with
 * PAL_ERR_INVALID when the limits are outside their ranges.
 */
int pal_http_parser_init(struct pal_http_parser *p,
			 const struct pal_http_limits *lim,
			 struct pal_http_header *hdrs, struct pal_err *err);

/* Prepares p for the next head on the same connection (same limits). */
void pal_http_parser_reset(struct pal_http_parser *p);

/*
 * Parses the request head at the start of buf[0..len) (see "Incremental
 * use" and "Results" above).  On 0, *req is filled and the body, if any,
 * starts at buf + req->head_len; bytes after the body belong to the next
 * request (pipelining).  *req is cleared on entry.  ref and err may be NULL.
 *
 * Only origin-form targets are accepted ("/path?query"); a body is refused
 * on GET and HEAD.  The statuses: 400 malformed, 413 Content-Length above
 * max_body, 414 request line too long, 417 an Expect other than
 * 100-continue, 431 head or field count too large, 501 a transfer coding
 * other than chunked, 505 a version other than HTTP/1.0 and HTTP/1.1.
 */
int pal_http_request_parse(struct pal_http_parser *p, const void *buf,
			   size_t len, struct pal_http_request *req,
			   struct pal_http_refusal *ref, struct pal_err *err);

/*
 * Parses the head of the upstream's response to a request with method
 * req_method (HEAD responses have no body).  Same contract as
 * pal_http_request_parse; every refusal has status 502.  A 1xx response
 * other than 101 is interim: its head_len bytes are consumed, then the
 * caller resets p and parses the final response that follows it.  101
 * (a protocol switch the gateway never asks for) is refused.
 */
int pal_http_response_parse(struct pal_http_parser *p, const void *buf,
			    size_t len, enum pal_http_method req_method,
			    struct pal_http_response *resp,
			    struct pal_http_refusal *ref, struct pal_err *err);

/* Which side a chunked body comes from: refusals are 4xx or 502. */
enum pal_http_side {
	PAL_HTTP_FROM_CLIENT = 0,
	PAL_HTTP_FROM_UPSTREAM,
};

/*
 * Incremental decoder of a chunked body (RFC 9112 section 7.1), fed any
 * slices of the bytes after the head, down to one byte at a time.  Chunk
 * extensions (at most PAL_HTTP_MAX_CHUNK_EXT bytes of VCHAR, SP, HTAB and
 * obs-text after ';') and a trailer section (valid field lines, at most
 * PAL_HTTP_MAX_TRAILER bytes) are accepted and ignored: the gateway passes
 * on data, never extensions or trailers.  Fields are private.
 */
struct pal_http_chunked {
	uint64_t max_body;
	uint64_t off;		/* bytes consumed so far (for details) */
	uint64_t total;		/* data bytes so far */
	uint64_t left;		/* data bytes left in this chunk, or the
				   size being read */
	uint32_t count;		/* digits of the size, bytes of extension
				   or trailer */
	uint8_t state;
	uint8_t side;
	struct pal_http_refusal refused;
	int refused_code;
};

void pal_http_chunked_init(struct pal_http_chunked *c, uint64_t max_body,
			   enum pal_http_side side);

/*
 * Consumes a prefix of in[0..len).  *used is how many bytes were consumed;
 * when some of them are body data, *data and *data_len describe them (a
 * span inside in; only one span per call), otherwise *data is NULL and
 * *data_len 0.  The caller loops, advancing by *used, until the slice is
 * used up or pal_http_chunked_done() is true; bytes after the end of the
 * body are not consumed (they are the next message).  Returns 0, or a
 * refusal as above: 400 malformed framing, 413 data beyond max_body, 431
 * trailers too large (all 502 from the upstream).
 */
int pal_http_chunked_feed(struct pal_http_chunked *c, const void *in,
			  size_t len, size_t *used, const uint8_t **data,
			  size_t *data_len, struct pal_http_refusal *ref,
			  struct pal_err *err);

/* True once the last chunk, the trailers and the final CRLF were read. */
bool pal_http_chunked_done(const struct pal_http_chunked *c);

/*
 * True when the comma-separated list value[0..len) holds token as one of
 * its elements (ASCII case-insensitive, OWS around elements ignored):
 * e.g. whether a field name appears in a Connection field.
 */
bool pal_http_list_has(const char *value, size_t len, const char *token);

/*
 * True for the hop-by-hop fields that a proxy must not forward (RFC 9110
 * section 7.6.1 and common practice): Connection, Keep-Alive,
 * Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE, Trailer,
 * Transfer-Encoding, Upgrade.  Fields named in Connection are hop-by-hop
 * too; check them with pal_http_list_has.
 */
bool pal_http_hop_by_hop(const char *name, size_t len);

/* Looks a field up by name (ASCII case-insensitive); NULL when absent. */
const struct pal_http_header *pal_http_find(const struct pal_http_header *h,
					    size_t n, const char *name);

#endif
