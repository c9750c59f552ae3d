/*
 * respond.h - writing responses to a client connection: whole JSON
 * answers with Content-Length, OpenAI-shaped errors, and server-sent event
 * streams (chunked in HTTP/1.1, closed at the end in HTTP/1.0).
 *
 * A failed or timed-out write marks the response failed; the connection
 * is then closed by its owner and nothing more is written to it.
 */
#ifndef TL_RESPOND_H
#define TL_RESPOND_H

#include <stddef.h>

struct tl_out {
	int fd;
	unsigned minor;		/* the request's HTTP/1.minor */
	int keep_alive;		/* said in the response; cleared by errors */
	int streaming;		/* a stream's head has been sent */
	int failed;		/* a write failed */
	int status;		/* what was answered, for the log */
	const char *extra_headers;	/* CRLF-ended lines for the next head */
};

/* Writes all of buf, retrying after interruptions; -1 sets o->failed. */
int tl_out_write(struct tl_out *o, const char *buf, size_t len);

/* A whole response of status with a body of type ctype. */
int tl_out_send(struct tl_out *o, int status, const char *ctype,
		const char *body, size_t len);

/*
 * {"error": {"message", "type", "param", "code"}}, as OpenAI's API and
 * vLLM answer; param and code may be NULL.  The connection stays open as
 * o->keep_alive says: the caller clears it when the request was not read
 * to its end.
 */
int tl_out_error(struct tl_out *o, int status, const char *param,
		 const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The head of a text/event-stream answer. */
int tl_out_stream_begin(struct tl_out *o);

/* One event: "data: " payload "\n\n". */
int tl_out_stream_event(struct tl_out *o, const char *payload, size_t len);

/* The end of the stream ("data: [DONE]" is the caller's event). */
int tl_out_stream_end(struct tl_out *o);

/* The reason phrase of a status this server answers with. */
const char *tl_status_text(int status);

#endif
