/*
 * listen.h - the socket tiny-llm-server accepts on: a TCP address given
 * by number (no name lookup), a Unix socket path, or a socket already
 * bound and listening that the parent handed down (how a sandbox without
 * a network of its own is given one).
 */
#ifndef TL_LISTEN_H
#define TL_LISTEN_H

#include <stddef.h>

#include "err.h"

/*
 * Binds and listens on addr: "IPv4:PORT", "[IPv6]:PORT" (port 0: any
 * free one) or "unix:PATH".  A stale socket file at PATH is replaced;
 * any other file there is refused.  Returns the descriptor, non-blocking
 * and close-on-exec, or -1 with err set.
 */
int tl_listen_open(const char *addr, struct tl_err *err);

/*
 * Takes over inherited descriptor fd, which must be a listening stream
 * socket; makes it non-blocking and close-on-exec.  0 or -1.
 */
int tl_listen_adopt(int fd, struct tl_err *err);

/* Where fd listens, as tl_listen_open takes it ("127.0.0.1:8000"). */
void tl_listen_describe(int fd, char *out, size_t cap);

#endif
