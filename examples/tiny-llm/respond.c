/*
 * respond.c - responses on the wire (respond.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "respond.h"

const char *
tl_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Internal Server Error";
	}
}

/* The response cannot go on: its connection will be closed. */
static int
broken(struct tl_out *o)
{
	o->failed = 1;
	return -1;
}

int
tl_out_write(struct tl_out *o, const char *buf, size_t len)
{
	while (len > 0 && !o->failed) {
		ssize_t n = write(o->fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Gone, or stalled past the send timeout. */
			o->failed = 1;
			break;
		}
		buf += n;
		len -= (size_t)n;
	}
	return o->failed ? -1 : 0;
}

/* Writes head and body together, in one call when they fit in 16 KiB. */
int
tl_out_send(struct tl_out *o, int status, const char *ctype,
	    const char *body, size_t len)
{
	char head[512], *buf;
	int n;

	o->status = status;
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
		     "Content-Type: %s\r\nContent-Length: %zu\r\n"
		     "Connection: %s\r\n%s\r\n", status, tl_status_text(status),
		     ctype, len, o->keep_alive ? "keep-alive" : "close",
		     o->extra_headers != NULL ? o->extra_headers : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return broken(o);
	if (len > 16384 || (buf = malloc((size_t)n + len)) == NULL)
		return tl_out_write(o, head, (size_t)n) != 0 ? -1 :
		    tl_out_write(o, body, len);
	memcpy(buf, head, (size_t)n);
	memcpy(buf + n, body, len);
	n = tl_out_write(o, buf, (size_t)n + len);
	free(buf);
	return n;
}

int
tl_out_error(struct tl_out *o, int status, const char *param,
	     const char *code, const char *fmt, ...)
{
	char msg[512], *body;
	va_list ap;
	json_t *j;
	int rc;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages may quote the request (a model name, a JSON error near
	 * some bytes), cut anywhere: printable ASCII is always a string. */
	for (char *p = msg; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	j = json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error", "message", msg,
		      "type", status >= 500 ? "server_error" :
		      "invalid_request_error",
		      "param", param, "code", code);
	body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (body == NULL) {
		/* Only when out of memory. */
		static const char fallback[] = "{\"error\":{\"message\":"
		    "\"internal error\",\"type\":\"server_error\","
		    "\"param\":null,\"code\":null}}";

		o->keep_alive = 0;
		return tl_out_send(o, 500, "application/json", fallback,
				   sizeof(fallback) - 1);
	}
	rc = tl_out_send(o, status, "application/json", body, strlen(body));
	free(body);
	return rc;
}

int
tl_out_stream_begin(struct tl_out *o)
{
	char head[256];
	int n;

	o->status = 200;
	o->streaming = 1;
	/* An HTTP/1.0 client cannot read chunks: the end of the stream is
	 * the end of the connection. */
	if (o->minor == 0)
		o->keep_alive = 0;
	n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
		     "Content-Type: text/event-stream\r\n"
		     "Cache-Control: no-cache\r\n%s"
		     "Connection: %s\r\n\r\n",
		     o->minor ? "Transfer-Encoding: chunked\r\n" : "",
		     o->keep_alive ? "keep-alive" : "close");
	if (n < 0 || (size_t)n >= sizeof(head))
		return broken(o);
	return tl_out_write(o, head, (size_t)n);
}

int
tl_out_stream_event(struct tl_out *o, const char *payload, size_t len)
{
	char *buf;
	size_t n = 0;
	int k, rc;

	if ((buf = malloc(len + 32)) == NULL)
		return broken(o);
	if (o->minor) {
		k = snprintf(buf, 32, "%zx\r\n", len + 8);
		n = (size_t)k;
	}
	memcpy(buf + n, "data: ", 6);
	memcpy(buf + n + 6, payload, len);
	memcpy(buf + n + 6 + len, "\n\n", 2);
	n += 8 + len;
	if (o->minor) {
		memcpy(buf + n, "\r\n", 2);
		n += 2;
	}
	rc = tl_out_write(o, buf, n);
	free(buf);
	return rc;
}

int
tl_out_stream_end(struct tl_out *o)
{
	if (o->minor == 0)
		return 0;
	return tl_out_write(o, "0\r\n\r\n", 5);
}
