/*
 * conn_io.h - TLS on a client socket, driven by the worker's event loop:
 * the transport under a gateway connection (conn.c).
 *
 * Why not libevent's TLS bufferevent: it writes only from a write event,
 * so every response costs two epoll_ctl calls (arm, disarm) and waits for
 * the next poll before it leaves; and it cannot read ahead, because it
 * does not read again after the handshake.  Here the output is written
 * in the same loop iteration as the callback that produced it returns
 * (its write event is made active, not armed, so a head and body added in
 * two calls leave together), the write event is armed only when the
 * socket is full, and the TLS layer reads ahead (one read per request
 * instead of one per record header and one per record body).
 *
 * Contract: the owner's callbacks are always the last thing a gw_io
 * function does, so an owner may free the gw_io from inside any of them.
 * Input and output are evbuffers the owner reads and fills; reading stops
 * while the input holds read_max bytes or more and resumes when the owner
 * drains it below.
 */
#ifndef PALISADE_GW_CONN_IO_H
#define PALISADE_GW_CONN_IO_H

#include <stddef.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ssl.h>

struct gw_io_callbacks {
	void (*connected)(void *arg);	/* the handshake completed */
	void (*readable)(void *arg);	/* new bytes in the input */
	void (*drained)(void *arg);	/* the output was written out */
	void (*closed)(void *arg, int error);	/* EOF (0) or error (1) */
};

struct gw_io {
	int fd;				/* owned */
	SSL *ssl;			/* owned */
	struct event *rev, *wev;
	struct evbuffer *in, *out;
	size_t read_max;
	const struct gw_io_callbacks *cb;
	void *arg;
	unsigned handshaking : 1;
	unsigned reading : 1;		/* the owner wants input */
	unsigned read_wants_write : 1;	/* SSL_read returned WANT_WRITE */
	unsigned write_wants_read : 1;	/* SSL_write returned WANT_READ */
	unsigned broken : 1;		/* a TLS or socket error happened */
};

/*
 * Starts the server side of a handshake on fd (taken, closed on failure
 * too) with ssl (taken).  Reading is on, up to read_max bytes.
 */
int gw_io_start(struct gw_io *io, struct event_base *base, int fd, SSL *ssl,
		size_t read_max, const struct gw_io_callbacks *cb, void *arg);

/* Reads up to read_max bytes into the input (0: stops reading). */
void gw_io_read(struct gw_io *io, size_t read_max);

/*
 * The connection waits for its peer: the TLS layer gives back its record
 * buffers (about 17 KiB of read buffer that OpenSSL keeps after a
 * handshake or a request even with SSL_MODE_RELEASE_BUFFERS) until bytes
 * come.  Done by the transport itself when a read finds nothing.
 */
void gw_io_idle(struct gw_io *io);

/*
 * Closes the connection and frees what gw_io_start made.  clean sends a
 * TLS close_notify first (once, without waiting), without which OpenSSL
 * does not keep the session for resumption.
 */
void gw_io_free(struct gw_io *io, int clean);

#endif
