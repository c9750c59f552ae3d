/*
 * server.h - the worker threads of tiny-llm-server.
 *
 * A fixed pool of workers shares the listening socket.  Each worker polls
 * it (while it has room for another connection) and its own connections,
 * reads requests, and answers them one at a time, generating in its own
 * state (model.h): a generation runs on the thread that read its request,
 * and idle keep-alive connections cost a worker nothing.
 *
 * After start-up nothing is opened but accepted connections: the steady
 * state is poll, accept4, read, write, setsockopt, shutdown, close,
 * clock_gettime (the vDSO), and the allocator's and threads' own calls
 * (README.md lists what strace counted).
 */
#ifndef TL_SERVER_H
#define TL_SERVER_H

#include <stdatomic.h>

#include "api.h"
#include "err.h"
#include "http.h"
#include "model.h"

#define TL_MAX_THREADS 64

struct tl_server_opts {
	int listen_fd;		/* listening, non-blocking */
	unsigned threads;	/* 1 to TL_MAX_THREADS */
	const char *name;	/* the model's id in the API */
	int quiet;		/* no line per request on stderr */
};

struct tl_server;

/*
 * Starts the workers on m (which must outlive the server).  Returns the
 * server, or NULL with err set.
 */
struct tl_server *tl_server_start(const struct tl_model *m,
				  const struct tl_server_opts *opts,
				  struct tl_err *err);

/*
 * Stops the workers (each finishes or cuts short the answer it is
 * writing), joins them and frees the server.  Async-signal-unsafe: call
 * it from the main thread after the signal was received.
 */
void tl_server_stop(struct tl_server *srv);

#endif
