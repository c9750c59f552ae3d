/*
 * listen.c - listening sockets (listen.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"

#define BACKLOG 128

static int
port_of(const char *s, unsigned *port)
{
	unsigned v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > 65535)
		return -1;
	*port = v;
	return 0;
}

/* "1.2.3.4:N" or "[::1]:N" into ss. */
static int
inet_addr_of(const char *addr, struct sockaddr_storage *ss, socklen_t *len,
	     struct tl_err *err)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	const char *colon = strrchr(addr, ':');
	char host[64];
	size_t hl;
	unsigned port;

	if (colon == NULL || port_of(colon + 1, &port) != 0)
		return tl_fail(err, "--listen %s: want IP:PORT, [IPv6]:PORT or "
			       "unix:PATH", addr);
	hl = (size_t)(colon - addr);
	if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
		addr++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return tl_fail(err, "--listen: no address before the port");
	memcpy(host, addr, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
	} else {
		return tl_fail(err, "--listen: '%s' is not a numeric IP address "
			       "(names are not looked up)", host);
	}
	return 0;
}

static int
unix_addr_of(const char *path, struct sockaddr_storage *ss, socklen_t *len,
	     struct tl_err *err)
{
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	struct stat st;

	if (path[0] == '\0' || strlen(path) >= sizeof(un->sun_path))
		return tl_fail(err, "--listen unix:%s: the path must be 1 to "
			       "%zu bytes", path, sizeof(un->sun_path) - 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return tl_fail(err, "--listen unix:%s: a file that is "
				       "not a socket is in the way", path);
		/* A socket left by an earlier run that did not clean up. */
		if (unlink(path) != 0)
			return tl_fail(err, "--listen unix:%s: %s", path,
				       strerror(errno));
	}
	memset(ss, 0, sizeof(*ss));
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, path, strlen(path) + 1);
	*len = sizeof(*un);
	return 0;
}

static int
nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
		return -1;
	return 0;
}

int
tl_listen_open(const char *addr, struct tl_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int fd, one = 1;

	if (strncmp(addr, "unix:", 5) == 0) {
		if (unix_addr_of(addr + 5, &ss, &len, err) != 0)
			return -1;
	} else if (inet_addr_of(addr, &ss, &len, err) != 0) {
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0)
		return tl_fail(err, "--listen %s: socket: %s", addr,
			       strerror(errno));
	if (ss.ss_family != AF_UNIX)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				 sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(fd, BACKLOG) != 0) {
		tl_fail(err, "--listen %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
tl_listen_adopt(int fd, struct tl_err *err)
{
	int type = 0, acc = 0;
	socklen_t l1 = sizeof(type), l2 = sizeof(acc);

	if (fcntl(fd, F_GETFD) < 0)
		return tl_fail(err, "--listen-fd %d: not an open descriptor",
			       fd);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l2) != 0 ||
	    type != SOCK_STREAM || !acc)
		return tl_fail(err, "--listen-fd %d: not a listening stream "
			       "socket", fd);
	if (nonblocking(fd) != 0)
		return tl_fail(err, "--listen-fd %d: %s", fd, strerror(errno));
	return 0;
}

void
tl_listen_describe(int fd, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
		(void)snprintf(out, cap, "descriptor %d", fd);
	} else if (ss.ss_family == AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
		(void)snprintf(out, cap, "%s:%u", host, ntohs(v4->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
		(void)snprintf(out, cap, "[%s]:%u", host, ntohs(v6->sin6_port));
	} else if (ss.ss_family == AF_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;

		(void)snprintf(out, cap, "unix:%.*s",
			       (int)strnlen(un->sun_path, sizeof(un->sun_path)),
			       un->sun_path);
	} else {
		(void)snprintf(out, cap, "descriptor %d", fd);
	}
}
