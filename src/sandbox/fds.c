/*
 * fds.c - the descriptors and the environment the server starts with.
 *
 * The server keeps standard input, output and error, the descriptors the
 * profile or the command line name, and the sealed memfds that palisade
 * unseal --memfd handed down (named in PALISADE_UNSEALED as
 * /proc/self/fd/N, so they keep their numbers).  The listening socket
 * takes the lowest number from 3 up that none of those uses.  Everything
 * else is closed before anything in the sandbox runs.
 *
 * The environment is built, not inherited: PATH, HOME and LANG with
 * defaults, the profile's and the command line's entries (NAME passes
 * the variable through when it is set, NAME=VALUE sets it),
 * PALISADE_UNSEALED as it came, and the listening socket's variables
 * (PALISADE_LISTEN_FD, and the systemd names when it is fd 3).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>

#include "sandbox_int.h"

#define UNSEALED_ENV "PALISADE_UNSEALED"
#define UNSEALED_MAX_FILES 4096
#define FD_PREFIX "/proc/self/fd/"
#define REQUIRED_SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define DEFAULT_HOME "/tmp"
#define DEFAULT_LANG "C.UTF-8"

static int
nomem(struct pal_err *err)
{
	return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
}

static int
has_fd(const struct sbx_ctx *c, int fd)
{
	for (size_t i = 0; i < c->n_keep; i++)
		if (c->keep[i] == fd)
			return 1;
	return 0;
}

static int
keep_fd(struct sbx_ctx *c, int fd, const char *why, struct pal_err *err)
{
	void *v;

	if (fd < 3)
		return 0;
	if (fcntl(fd, F_GETFD) < 0)
		return pal_err_set(err, PAL_ERR_INVALID, "%s: descriptor %d is "
				   "not open", why, fd);
	if (has_fd(c, fd))
		return 0;
	if ((v = reallocarray(c->keep, c->n_keep + 1, sizeof(int))) == NULL)
		return nomem(err);
	c->keep = v;
	c->keep[c->n_keep++] = fd;
	return 0;
}

/* "/proc/self/fd/N" to N. */
static int
fd_of(const char *s)
{
	long v = 0;

	if (strncmp(s, FD_PREFIX, strlen(FD_PREFIX)) != 0)
		return -1;
	s += strlen(FD_PREFIX);
	if (*s == '\0' || (*s == '0' && s[1] != '\0') || strlen(s) > 7)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return (int)v;
}

/*
 * The memfds PALISADE_UNSEALED names: each must be open and sealed the
 * way palisade unseal seals them, so that nothing else passes for
 * weights.
 */
static int
keep_unsealed(struct sbx_ctx *c, struct pal_err *err)
{
	const char *text = getenv(UNSEALED_ENV), *key;
	json_error_t je;
	json_t *map, *v;
	int rc = 0;

	if (text == NULL)
		return 0;
	map = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (map == NULL || !json_is_object(map) ||
	    json_object_size(map) > UNSEALED_MAX_FILES) {
		json_decref(map);
		return pal_err_set(err, PAL_ERR_FORMAT, UNSEALED_ENV " is not "
				   "a JSON object of at most %d files",
				   UNSEALED_MAX_FILES);
	}
	json_object_foreach(map, key, v) {
		int fd = json_is_string(v) ? fd_of(json_string_value(v)) : -1;
		int seals;

		if (fd < 3) {
			rc = pal_err_set(err, PAL_ERR_FORMAT, UNSEALED_ENV
					 ": the value for a file is not "
					 FD_PREFIX "N");
			break;
		}
		seals = fcntl(fd, F_GET_SEALS);
		if (seals < 0 || (seals & REQUIRED_SEALS) != REQUIRED_SEALS) {
			rc = pal_err_set(err, PAL_ERR_INVALID, UNSEALED_ENV
					 ": descriptor %d is not a sealed "
					 "memfd", fd);
			break;
		}
		if ((rc = keep_fd(c, fd, UNSEALED_ENV, err)) != 0)
			break;
	}
	json_decref(map);
	return rc;
}

static int
by_number(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int
sbx_fds_collect(struct sbx_ctx *c, const struct pal_sandbox_spec *s,
		struct pal_err *err)
{
	const struct pal_sandbox_profile *p = c->profile;
	int rc;

	for (size_t i = 0; i < p->n_fds; i++)
		if ((rc = keep_fd(c, p->fds[i], p->name, err)) != 0)
			return rc;
	for (size_t i = 0; i < s->n_fds; i++)
		if ((rc = keep_fd(c, s->fds[i], "--keep-fd", err)) != 0)
			return rc;
	return keep_unsealed(c, err);
}

int
sbx_fds_listen_target(struct sbx_ctx *c, struct pal_err *err)
{
	void *v;
	int t = 3;

	if (c->listen_fd >= 0) {
		while (has_fd(c, t))
			t++;
		c->listen_target = t;
		v = reallocarray(c->keep, c->n_keep + 1, sizeof(int));
		if (v == NULL)
			return nomem(err);
		c->keep = v;
		c->keep[c->n_keep++] = t;
	}
	if (c->n_keep > 1)
		qsort(c->keep, c->n_keep, sizeof(int), by_number);
	return 0;
}

int
sbx_fds_is_kept(const struct sbx_ctx *c, int fd)
{
	return has_fd(c, fd);
}

/* ---------------------------------------------------------------------
 * Environment.
 */

static int
env_add(struct sbx_ctx *c, size_t *n, const char *name, size_t nlen,
	const char *value)
{
	char *e;
	size_t vlen = strlen(value);

	/* A later entry for the same name replaces the earlier one. */
	for (size_t i = 0; i < *n; i++) {
		if (strncmp(c->envp[i], name, nlen) == 0 &&
		    c->envp[i][nlen] == '=') {
			free(c->envp[i]);
			c->envp[i] = c->envp[--(*n)];
			c->envp[*n] = NULL;
			break;
		}
	}
	if ((e = malloc(nlen + vlen + 2)) == NULL)
		return -1;
	memcpy(e, name, nlen);
	e[nlen] = '=';
	memcpy(e + nlen + 1, value, vlen + 1);
	c->envp[(*n)++] = e;
	c->envp[*n] = NULL;
	return 0;
}

/* NAME passes the variable through when set; NAME=VALUE sets it. */
static int
env_entry(struct sbx_ctx *c, size_t *n, const char *entry)
{
	const char *eq = strchr(entry, '=');
	const char *value;

	if (eq != NULL)
		return env_add(c, n, entry, (size_t)(eq - entry), eq + 1);
	if ((value = getenv(entry)) == NULL)
		return 0;
	return env_add(c, n, entry, strlen(entry), value);
}

int
sbx_env_build(struct sbx_ctx *c, const struct pal_sandbox_spec *s,
	      struct pal_err *err)
{
	const struct pal_sandbox_profile *p = c->profile;
	size_t n = 0, max = p->n_env + s->n_env + 10;
	const char *unsealed = getenv(UNSEALED_ENV);
	char num[32];
	int rc = 0;

	c->listen_pid_at = SIZE_MAX;
	if ((c->envp = calloc(max + 1, sizeof(char *))) == NULL)
		return nomem(err);
	rc |= env_add(c, &n, "PATH", 4, DEFAULT_PATH);
	rc |= env_add(c, &n, "HOME", 4, DEFAULT_HOME);
	rc |= env_add(c, &n, "LANG", 4, DEFAULT_LANG);
	for (size_t i = 0; rc == 0 && i < p->n_env; i++)
		rc = env_entry(c, &n, p->env[i]);
	for (size_t i = 0; rc == 0 && i < s->n_env; i++)
		rc = env_entry(c, &n, s->env[i]);
	if (rc == 0 && unsealed != NULL)
		rc = env_add(c, &n, UNSEALED_ENV, strlen(UNSEALED_ENV),
			     unsealed);
	if (rc == 0 && c->listen_fd >= 0) {
		snprintf(num, sizeof(num), "%d", c->listen_target);
		rc = env_add(c, &n, "PALISADE_LISTEN_FD", 18, num);
		/* systemd's convention: passed descriptors start at 3. */
		if (rc == 0 && c->listen_target == 3) {
			rc = env_add(c, &n, "LISTEN_FDS", 10, "1");
			if (rc == 0)
				rc = env_add(c, &n, "LISTEN_FDNAMES", 14,
					     "listen");
			/* Filled in by the server's process, which knows. */
			if (rc == 0)
				rc = env_add(c, &n, "LISTEN_PID", 10,
					     "0000000000");
			c->listen_pid_at = n - 1;
		}
	}
	return rc == 0 ? 0 : nomem(err);
}

/* ---------------------------------------------------------------------
 * The child's descriptor table.
 */

/* Closes [from, to] (to may be ~0U). */
static int
close_span(unsigned from, unsigned to)
{
	if (from > to)
		return 0;
	return (int)syscall(SYS_close_range, from, to, 0);
}

int
sbx_fds_layout(struct sbx_ctx *c, struct pal_err *err)
{
	size_t n = 0;
	unsigned next = 3;
	int *all, rc = 0;

	if (c->listen_fd >= 0 && c->listen_fd != c->listen_target) {
		if (dup2(c->listen_fd, c->listen_target) < 0)
			return pal_err_set(err, PAL_ERR_SYSTEM, "dup2: %s",
					   strerror(errno));
		close(c->listen_fd);
	}
	if ((all = calloc(c->n_keep + 2, sizeof(int))) == NULL)
		return nomem(err);
	for (size_t i = 0; i < c->n_keep; i++) {
		/* Kept across the server's exec, whatever the parent set. */
		int fl = fcntl(c->keep[i], F_GETFD);

		if (fl >= 0 && (fl & FD_CLOEXEC))
			(void)fcntl(c->keep[i], F_SETFD, fl & ~FD_CLOEXEC);
		all[n++] = c->keep[i];
	}
	all[n++] = c->sync_r;
	all[n++] = c->err_w;
	qsort(all, n, sizeof(int), by_number);
	for (size_t i = 0; rc == 0 && i <= n; i++) {
		unsigned to = i < n ? (unsigned)all[i] - 1 : ~0U;

		if (i < n && (unsigned)all[i] < next)
			continue;
		if (close_span(next, to) != 0)
			rc = pal_err_set(err, PAL_ERR_SYSTEM, "close_range: "
					 "%s", strerror(errno));
		if (i < n)
			next = (unsigned)all[i] + 1;
	}
	free(all);
	return rc;
}
