/*
 * server.c - workers, connections and the request loop (server.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "respond.h"
#include "server.h"

/* Connections one worker holds at once; more wait for another worker. */
#define MAX_CONNS 64
#define HEAD_MAX (16u << 10)
#define BODY_MAX (1u << 20)
#define BUF_START 4096
/* An idle keep-alive connection is closed after this long. */
#define IDLE_MS 60000
/* A request must arrive whole within this long of its first byte. */
#define REQUEST_MS 30000
/* A write that cannot go on for this long fails. */
#define SEND_TIMEOUT_S 30
/* After an error answer, what the client still sends is read and
 * dropped for this long (or this much), so that closing the connection
 * does not reset it before the client read the answer. */
#define LINGER_MS 1000
#define LINGER_MAX (4u << 20)

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
	long long last_ms;	/* last byte read or answer written */
	long long start_ms;	/* first byte of the request being read */
	int continued;		/* 100 Continue sent for this request */
};

struct worker {
	struct tl_server *srv;
	struct tl_state *state;
	struct conn conns[MAX_CONNS];
	unsigned n;
	long long accept_after_ms;	/* accepting paused (out of fds) */
	pthread_t thread;
	int started;
};

struct tl_server {
	int lfd;
	int wake[2];		/* readable once stopping: wakes every poll */
	atomic_int stopping;
	struct tl_api api;
	struct tl_http_limits lim;
	int quiet;
	unsigned n_workers;
	struct worker *workers;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- connections ------------------------------------------------------ */

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Room for need bytes in c->buf (need is at most HEAD_MAX + BODY_MAX). */
static int
conn_reserve(struct conn *c, size_t need)
{
	size_t cap = c->cap != 0 ? c->cap : BUF_START;
	char *p;

	if (need <= c->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(c->buf, cap)) == NULL)
		return -1;
	c->buf = p;
	c->cap = cap;
	return 0;
}

/* Reads and drops what the client still sends, for a while. */
static void
linger(int fd)
{
	long long end = now_ms() + LINGER_MS;
	size_t total = 0;
	char scratch[4096];

	(void)shutdown(fd, SHUT_WR);
	while (total < LINGER_MAX) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = end - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if ((n = read(fd, scratch, sizeof(scratch))) <= 0)
			break;
		total += (size_t)n;
	}
}

static void
log_line(struct tl_server *srv, const struct tl_http_req *req,
	 const struct tl_out *o, const struct tl_api_log *log, long long ms)
{
	if (srv->quiet)
		return;
	/* Method and path passed the parser: tokens and visible ASCII. */
	fprintf(stderr, "tiny-llm-server: %.*s %.*s %d prompt %u completion %u "
		"tokens %lld ms\n", (int)req->method_len, req->method_name,
		(int)(req->path_len > 200 ? 200 : req->path_len), req->path,
		o->status, log->prompt_tokens, log->completion_tokens, ms);
}

/* Answers a head the parser refused; the connection is closed after. */
static void
refuse(struct worker *w, struct conn *c, const struct tl_http_req *req)
{
	struct tl_out o = { .fd = c->fd, .minor = 1 };

	tl_out_error(&o, req->status, NULL, NULL, "%s", req->reason);
	if (!w->srv->quiet)
		fprintf(stderr, "tiny-llm-server: refused a request: %d %s\n",
			req->status, req->reason);
	if (!o.failed)
		linger(c->fd);
}

/* Answers one whole request; returns whether the connection goes on. */
static int
answer(struct worker *w, struct conn *c, const struct tl_http_req *req)
{
	struct tl_out o = { .fd = c->fd, .minor = req->minor,
		.keep_alive = req->keep_alive };
	struct tl_api_log log;
	long long t0 = now_ms();

	tl_api_handle(&w->srv->api, w->state, req, c->buf + req->head_len, &o,
		      &log);
	c->last_ms = now_ms();
	log_line(w->srv, req, &o, &log, c->last_ms - t0);
	return !o.failed && o.keep_alive &&
	    !atomic_load(&w->srv->stopping);
}

/*
 * Answers every whole request in c->buf.  Returns 0 to keep the
 * connection, -1 to close it.
 */
static int
serve_buffered(struct worker *w, struct conn *c)
{
	struct tl_http_req req;

	while (c->len > 0) {
		size_t whole;
		int rc = tl_http_parse(c->buf, c->len, &w->srv->lim, &req);

		if (rc == TL_HTTP_MORE)
			return 0;
		if (rc == TL_HTTP_REFUSED) {
			refuse(w, c, &req);
			return -1;
		}
		whole = req.head_len + req.content_length;
		if (c->len < whole) {
			struct tl_out o = { .fd = c->fd };

			if (req.expect_continue && !c->continued) {
				c->continued = 1;
				if (tl_out_write(&o, "HTTP/1.1 100 Continue"
						 "\r\n\r\n", 25) != 0)
					return -1;
			}
			return conn_reserve(c, whole);
		}
		if (!answer(w, c, &req))
			return -1;
		/* A pipelined request may follow. */
		memmove(c->buf, c->buf + whole, c->len - whole);
		c->len -= whole;
		c->continued = 0;
		c->start_ms = c->last_ms;
	}
	/* Idle: a large body's buffer is not kept. */
	if (c->cap > 4 * BUF_START) {
		free(c->buf);
		c->buf = NULL;
		c->cap = 0;
	}
	return 0;
}

static int
conn_readable(struct worker *w, struct conn *c)
{
	ssize_t n;

	if (c->len == c->cap && conn_reserve(c, c->len + BUF_START) != 0)
		return -1;
	n = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	if (c->len == 0)
		c->start_ms = now_ms();
	c->len += (size_t)n;
	c->last_ms = now_ms();
	return serve_buffered(w, c);
}

static void
accept_one(struct worker *w)
{
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_S };
	struct conn *c = &w->conns[w->n];
	int fd, one = 1;

	fd = accept4(w->srv->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		/* Out of descriptors: let the others be served first. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
		    errno == ENOBUFS)
			w->accept_after_ms = now_ms() + 1000;
		return;	/* or another worker took it */
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* Events go out as they are made (fails harmlessly on Unix
	 * sockets). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->last_ms = now_ms();
	w->n++;
}

/* Closes connections idle or slow past their limits. */
static void
sweep(struct worker *w, long long t)
{
	for (unsigned i = 0; i < w->n; i++) {
		struct conn *c = &w->conns[i];

		if ((c->len == 0 && t - c->last_ms > IDLE_MS) ||
		    (c->len > 0 && t - c->start_ms > REQUEST_MS))
			conn_close(c);
	}
}

/* Drops closed connections from the table. */
static void
compact(struct worker *w)
{
	unsigned k = 0;

	for (unsigned i = 0; i < w->n; i++)
		if (w->conns[i].fd >= 0)
			w->conns[k++] = w->conns[i];
	w->n = k;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct tl_server *srv = w->srv;
	struct pollfd pf[MAX_CONNS + 2];

	while (!atomic_load(&srv->stopping)) {
		unsigned np = 0, first;
		int accepting = w->n < MAX_CONNS &&
		    now_ms() >= w->accept_after_ms;

		pf[np++] = (struct pollfd){ .fd = srv->wake[0], .events = POLLIN };
		if (accepting)
			pf[np++] = (struct pollfd){ .fd = srv->lfd,
				.events = POLLIN };
		first = np;
		for (unsigned i = 0; i < w->n; i++)
			pf[np++] = (struct pollfd){ .fd = w->conns[i].fd,
				.events = POLLIN };
		if (poll(pf, np, 1000) < 0 && errno != EINTR)
			break;
		if (pf[0].revents != 0)
			break;
		/* Connections first: pf[first + i] is conns[i] until the
		 * table changes, which accepting and compacting do after. */
		for (unsigned i = 0; i < np - first; i++)
			if (pf[first + i].revents != 0 &&
			    conn_readable(w, &w->conns[i]) != 0)
				conn_close(&w->conns[i]);
		sweep(w, now_ms());
		compact(w);
		if (accepting && (pf[1].revents & POLLIN) && w->n < MAX_CONNS)
			accept_one(w);
	}
	for (unsigned i = 0; i < w->n; i++)
		conn_close(&w->conns[i]);
	w->n = 0;
	return NULL;
}

/* --- start and stop ---------------------------------------------------- */

static void
server_free(struct tl_server *srv)
{
	if (srv == NULL)
		return;
	for (unsigned i = 0; i < srv->n_workers; i++)
		tl_state_free(srv->workers[i].state);
	free(srv->workers);
	if (srv->wake[0] >= 0)
		close(srv->wake[0]);
	if (srv->wake[1] >= 0)
		close(srv->wake[1]);
	free(srv);
}

struct tl_server *
tl_server_start(const struct tl_model *m, const struct tl_server_opts *opts,
		struct tl_err *err)
{
	struct tl_server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL) {
		tl_fail(err, "out of memory");
		return NULL;
	}
	srv->wake[0] = srv->wake[1] = -1;
	srv->lfd = opts->listen_fd;
	srv->quiet = opts->quiet;
	srv->lim = (struct tl_http_limits){ .max_head = HEAD_MAX,
		.max_target = 2048, .max_headers = 64, .max_body = BODY_MAX };
	atomic_init(&srv->stopping, 0);
	tl_api_init(&srv->api, m, opts->name, &srv->stopping);
	if (pipe2(srv->wake, O_CLOEXEC) != 0) {
		tl_fail(err, "pipe: %s", strerror(errno));
		goto fail;
	}
	/* Every state (the key/value cache) is allocated now, not per
	 * request. */
	srv->workers = calloc(opts->threads, sizeof(*srv->workers));
	if (srv->workers == NULL)
		goto nomem;
	srv->n_workers = opts->threads;
	for (unsigned i = 0; i < srv->n_workers; i++) {
		srv->workers[i].srv = srv;
		if ((srv->workers[i].state = tl_state_new(m)) == NULL)
			goto nomem;
	}
	for (unsigned i = 0; i < srv->n_workers; i++) {
		int rc = pthread_create(&srv->workers[i].thread, NULL,
					worker_main, &srv->workers[i]);

		if (rc != 0) {
			tl_fail(err, "starting a worker: %s", strerror(rc));
			tl_server_stop(srv);
			return NULL;
		}
		srv->workers[i].started = 1;
	}
	return srv;
nomem:
	tl_fail(err, "out of memory for %u workers", opts->threads);
fail:
	server_free(srv);
	return NULL;
}

void
tl_server_stop(struct tl_server *srv)
{
	if (srv == NULL)
		return;
	atomic_store(&srv->stopping, 1);
	/* The pipe stays readable: every worker's poll sees it. */
	if (write(srv->wake[1], "x", 1) != 1)
		perror("tiny-llm-server: waking the workers");
	for (unsigned i = 0; i < srv->n_workers; i++)
		if (srv->workers[i].started)
			pthread_join(srv->workers[i].thread, NULL);
	server_free(srv);
}
