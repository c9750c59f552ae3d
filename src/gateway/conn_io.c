/*
 * conn_io.c - TLS on a client socket, driven by the event loop
 * (conn_io.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "conn_io.h"

/* One SSL_read or SSL_write: a TLS record's worth. */
#define CHUNK 16384

static void do_read(struct gw_io *io);
static void do_write(struct gw_io *io);

static int
want_write(struct gw_io *io)
{
	return event_add(io->wev, NULL);
}

/* What an SSL call's failure means: 1 wait, 0 end of stream, -1 error. */
static int
classify(struct gw_io *io, int rc, int *wants_write)
{
	int e = SSL_get_error(io->ssl, rc);

	*wants_write = 0;
	switch (e) {
	case SSL_ERROR_WANT_READ:
		return 1;
	case SSL_ERROR_WANT_WRITE:
		*wants_write = 1;
		return 1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		/*
		 * A peer that closes the socket without close_notify is the
		 * common case among HTTP clients: an end, not an error.
		 */
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 &&
		    (rc == 0 || errno == ECONNRESET || errno == EPIPE)) {
			ERR_clear_error();
			return 0;
		}
		ERR_clear_error();
		io->broken = 1;
		return -1;
	}
}

static void
do_handshake(struct gw_io *io)
{
	int rc = SSL_do_handshake(io->ssl), ww;

	if (rc == 1) {
		io->handshaking = 0;
		io->cb->connected(io->arg);
		/* The client's first request may have come with its Finished. */
		do_read(io);
		return;
	}
	switch (classify(io, rc, &ww)) {
	case 1:
		if (ww)
			want_write(io);
		return;
	case 0:
		io->cb->closed(io->arg, 0);
		return;
	default:
		io->cb->closed(io->arg, 1);
		return;
	}
}

static void
stop_reading(struct gw_io *io)
{
	event_del(io->rev);
}

/*
 * Takes what the TLS layer and the socket have, up to read_max bytes in
 * the input, then tells the owner: of the end of the stream if it came
 * (what was read with it is dropped with the connection), else of the new
 * bytes.
 */
static void
do_read(struct gw_io *io)
{
	/*
	 * Read into the stack and then copied: space reserved in the input
	 * and left empty when nothing came would stay allocated, 16 KiB per
	 * idle connection.
	 */
	unsigned char tmp[CHUNK];
	size_t got = 0;
	int end = -2, ww = 0;

	io->read_wants_write = 0;
	while (io->reading && evbuffer_get_length(io->in) < io->read_max) {
		size_t room = io->read_max - evbuffer_get_length(io->in);
		int n = SSL_read(io->ssl, tmp, (int)(room < CHUNK ? room
								  : CHUNK));

		if (n > 0) {
			if (evbuffer_add(io->in, tmp, (size_t)n) != 0) {
				io->broken = 1;
				end = -1;
				break;
			}
			got += (size_t)n;
			/*
			 * Nothing more decrypted or read ahead: the socket's
			 * next bytes raise the read event again, and asking now
			 * would most often cost a read that finds nothing.
			 */
			if (!SSL_has_pending(io->ssl))
				break;
			continue;
		}
		if ((end = classify(io, n, &ww)) == 1) {
			if (ww) {
				io->read_wants_write = 1;
				want_write(io);
			} else if (got == 0) {
				gw_io_idle(io);
			}
			end = -2;
		}
		break;
	}
	OPENSSL_cleanse(tmp, got < CHUNK ? got : CHUNK);
	if (evbuffer_get_length(io->in) >= io->read_max || !io->reading)
		stop_reading(io);
	if (end == 0 || end == -1)
		io->cb->closed(io->arg, end == -1);
	else if (got > 0)
		io->cb->readable(io->arg);
}

/*
 * Writes the output until it is empty or the socket is full; tells the
 * owner when it emptied the output.
 */
static void
do_write(struct gw_io *io)
{
	size_t wrote = 0;
	int ww;

	io->write_wants_read = 0;
	while (evbuffer_get_length(io->out) > 0) {
		size_t n = evbuffer_get_length(io->out);
		unsigned char *p;
		int rc;

		if (n > CHUNK)
			n = CHUNK;
		p = evbuffer_pullup(io->out, (ev_ssize_t)n);
		if (p == NULL) {
			io->broken = 1;
			io->cb->closed(io->arg, 1);
			return;
		}
		rc = SSL_write(io->ssl, p, (int)n);
		if (rc > 0) {
			evbuffer_drain(io->out, (size_t)rc);
			wrote += (size_t)rc;
			continue;
		}
		switch (classify(io, rc, &ww)) {
		case 1:
			if (ww) {
				want_write(io);
			} else {
				io->write_wants_read = 1;
				event_add(io->rev, NULL);
			}
			return;
		case 0:
			io->cb->closed(io->arg, 0);
			return;
		default:
			io->cb->closed(io->arg, 1);
			return;
		}
	}
	if (!io->read_wants_write)
		event_del(io->wev);
	if (wrote > 0)
		io->cb->drained(io->arg);
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct gw_io *io = arg;

	(void)fd;
	(void)what;
	if (io->handshaking) {
		do_handshake(io);
		return;
	}
	if (io->write_wants_read) {
		/* The write goes on first; it calls back last, so not both. */
		do_write(io);
		return;
	}
	do_read(io);
}

static void
on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct gw_io *io = arg;

	(void)fd;
	(void)what;
	if (io->handshaking) {
		event_del(io->wev);
		do_handshake(io);
		return;
	}
	if (io->read_wants_write) {
		/*
		 * The read goes on from the loop and the write now: each
		 * calls back last, so they are not made one after the other.
		 */
		io->read_wants_write = 0;
		event_del(io->wev);
		event_active(io->rev, EV_READ, 0);
	}
	do_write(io);
}

/*
 * Output was added: write it once the callback adding it has returned
 * (the write event made active runs in this same loop iteration, before
 * the next wait; a head and a body added in two calls go out together).
 */
static void
on_output(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct gw_io *io = arg;

	(void)b;
	if (info->n_added > 0 && !io->handshaking && !io->write_wants_read &&
	    !event_pending(io->wev, EV_WRITE, NULL))
		event_active(io->wev, EV_WRITE, 1);
}

/* Input was consumed: read again if reading had stopped at read_max. */
static void
on_input(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct gw_io *io = arg;

	(void)b;
	if (info->n_deleted > 0 && !io->handshaking)
		gw_io_read(io, io->reading ? io->read_max : 0);
}

void
gw_io_idle(struct gw_io *io)
{
	if (!io->handshaking && !SSL_has_pending(io->ssl))
		SSL_free_buffers(io->ssl);
}

void
gw_io_read(struct gw_io *io, size_t read_max)
{
	io->reading = read_max > 0;
	io->read_max = read_max > 0 ? read_max : io->read_max;
	if (!io->reading || evbuffer_get_length(io->in) >= io->read_max) {
		stop_reading(io);
		return;
	}
	if (event_pending(io->rev, EV_READ, NULL))
		return;
	event_add(io->rev, NULL);
	/* Bytes the TLS layer already holds raise no socket event. */
	if (SSL_has_pending(io->ssl))
		event_active(io->rev, EV_READ, 0);
}

int
gw_io_start(struct gw_io *io, struct event_base *base, int fd, SSL *ssl,
	    size_t read_max, const struct gw_io_callbacks *cb, void *arg)
{
	memset(io, 0, sizeof(*io));
	io->fd = fd;
	io->ssl = ssl;
	io->cb = cb;
	io->arg = arg;
	io->handshaking = 1;
	io->reading = 1;
	io->read_max = read_max;
	io->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, io);
	io->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_writable, io);
	io->in = evbuffer_new();
	io->out = evbuffer_new();
	if (io->rev == NULL || io->wev == NULL || io->in == NULL ||
	    io->out == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    evbuffer_add_cb(io->out, on_output, io) == NULL ||
	    evbuffer_add_cb(io->in, on_input, io) == NULL ||
	    event_add(io->rev, NULL) != 0) {
		gw_io_free(io, 0);
		return -1;
	}
	SSL_set_read_ahead(ssl, 1);
	/* A client gone without close_notify has ended, not failed. */
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_set_accept_state(ssl);
	return 0;
}

void
gw_io_free(struct gw_io *io, int clean)
{
	if (io->rev != NULL)
		event_free(io->rev);
	if (io->wev != NULL)
		event_free(io->wev);
	if (io->ssl != NULL) {
		if (clean && !io->handshaking && !io->broken)
			SSL_shutdown(io->ssl);
		SSL_free(io->ssl);
	}
	if (io->fd >= 0)
		close(io->fd);
	if (io->in != NULL)
		evbuffer_free(io->in);
	if (io->out != NULL)
		evbuffer_free(io->out);
	memset(io, 0, sizeof(*io));
	io->fd = -1;
}
