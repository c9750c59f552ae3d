/*
 * listen.c - the one socket the sandboxed server is reached through.
 *
 * The server's network namespace has nothing but a loopback interface
 * that is down, so it cannot open a listening socket the gateway could
 * reach.  palisade run binds the socket here instead, in the host's
 * namespace, and hands it in already listening: the server accepts
 * connections on it and can do nothing else with the network.  Only a
 * Unix socket or a loopback address is accepted, so the server is
 * reachable from this machine only (the gateway in front of it is what
 * the network sees).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox_int.h"

#define BACKLOG 128

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int port;
	const char *unix_path;
};

static int
parse_port(const char *s, int *port)
{
	long v = 0;

	if (*s == '\0' || *s == '0' || strlen(s) > 5)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

static int
parse(const char *a, struct addr *out, struct pal_err *err)
{
	char host[64];
	const char *colon;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (strncmp(a, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;

		n = strlen(a + 5);
		if (a[5] != '/' || n >= sizeof(un->sun_path))
			return pal_err_set(err, PAL_ERR_INVALID, "listen '%s': "
					   "unix: needs an absolute path of at "
					   "most %zu bytes", a,
					   sizeof(un->sun_path) - 1);
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, a + 5, n + 1);
		out->len = (socklen_t)sizeof(*un);
		out->unix_path = a + 5;
		return 0;
	}
	if ((colon = strrchr(a, ':')) == NULL ||
	    (n = (size_t)(colon - a)) >= sizeof(host) ||
	    parse_port(colon + 1, &out->port) != 0)
		return pal_err_set(err, PAL_ERR_INVALID, "listen '%s': expected "
				   "unix:/PATH, 127.0.0.1:PORT or [::1]:PORT",
				   a);
	memcpy(host, a, n);
	host[n] = '\0';
	if (strcmp(host, "[::1]") == 0) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons((uint16_t)out->port);
		out->len = (socklen_t)sizeof(*s6);
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;

	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1 ||
	    (ntohl(s4->sin_addr.s_addr) >> 24) != 127)
		return pal_err_set(err, PAL_ERR_INVALID, "listen '%s': only a "
				   "loopback address (127.0.0.0/8, [::1]) or a "
				   "Unix socket", a);
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)out->port);
	out->len = (socklen_t)sizeof(*s4);
	return 0;
}

int
pal_sandbox_listen_check(const char *addr, struct pal_err *err)
{
	struct addr a;

	return parse(addr, &a, err);
}

/* A socket file left by an earlier run is replaced; anything else is not. */
static int
clear_stale(const char *path, struct pal_err *err)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 :
		       pal_err_set(err, PAL_ERR_IO, "listen %s: %s", path,
				   strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return pal_err_set(err, PAL_ERR_IO, "listen %s: exists and is "
				   "not a socket", path);
	if (unlink(path) != 0)
		return pal_err_set(err, PAL_ERR_IO, "listen %s: %s", path,
				   strerror(errno));
	return 0;
}

int
sbx_listen_open(struct sbx_ctx *c, const char *addr, struct pal_err *err)
{
	struct addr a;
	int fd, one = 1, rc;

	if ((rc = parse(addr, &a, err)) != 0)
		return rc;
	if (a.unix_path != NULL && (rc = clear_stale(a.unix_path, err)) != 0)
		return rc;
	fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return pal_err_set(err, PAL_ERR_SYSTEM, "listen %s: socket: %s",
				   addr, strerror(errno));
	if (a.unix_path == NULL)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				 sizeof(one));
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) != 0 ||
	    listen(fd, BACKLOG) != 0) {
		rc = pal_err_set(err, PAL_ERR_SYSTEM, "listen %s: %s", addr,
				 strerror(errno));
		close(fd);
		return rc;
	}
	if (a.unix_path != NULL && (c->listen_unix = strdup(a.unix_path)) ==
	    NULL) {
		unlink(a.unix_path);
		close(fd);
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	c->listen_fd = fd;
	c->listen_port = a.port;
	return 0;
}
