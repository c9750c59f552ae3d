/*
 * paths.c - the profile's paths as the sandbox will show them.
 *
 * Each path is resolved on the host one component at a time.  A symbolic
 * link met on the way (/bin -> usr/bin, /usr/bin/python3 -> python3.11)
 * is recreated in the new root as it is, and its target is followed, so
 * that the server sees the same names as on the host while only the real
 * files and directories at the end are mounted.  A path under another
 * one is dropped (the outer mount already shows it, read-only too).  The
 * sandbox makes its own /proc, /dev and /tmp, so nothing under them can
 * be named.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox_int.h"

#define MAX_HOPS 40		/* symbolic links followed for one path */
#define RESOLVED_MAX 4096

static int
nomem(struct pal_err *err)
{
	return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
}

/* 1 if path is dir or under it. */
static int
under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/');
}

static int
add_link(struct sbx_ctx *c, const char *at, const char *target)
{
	void *v;
	char *a, *t;

	for (size_t i = 0; i < c->n_links; i++)
		if (strcmp(c->links[i].path, at) == 0)
			return 0;
	v = reallocarray(c->links, c->n_links + 1, sizeof(*c->links));
	if (v == NULL)
		return -1;
	c->links = v;
	a = strdup(at);
	t = strdup(target);
	if (a == NULL || t == NULL) {
		free(a);
		free(t);
		return -1;
	}
	c->links[c->n_links].path = a;
	c->links[c->n_links].target = t;
	c->n_links++;
	return 0;
}

static int
add_bind(struct sbx_ctx *c, const char *path, int is_dir)
{
	void *v = reallocarray(c->binds, c->n_binds + 1, sizeof(*c->binds));
	char *p;

	if (v == NULL)
		return -1;
	c->binds = v;
	if ((p = strdup(path)) == NULL)
		return -1;
	c->binds[c->n_binds].path = p;
	c->binds[c->n_binds].is_dir = is_dir;
	c->binds[c->n_binds].fd = -1;
	c->n_binds++;
	return 0;
}

/* Appends "/name" (n bytes) to done, or takes its last component off. */
static int
step(char *done, size_t *len, const char *name, size_t n)
{
	if (n == 2 && name[0] == '.' && name[1] == '.') {
		while (*len > 0 && done[*len - 1] != '/')
			(*len)--;
		if (*len > 0)
			(*len)--;
		done[*len] = '\0';
		return 0;
	}
	if (*len + 1 + n >= RESOLVED_MAX)
		return -1;
	done[(*len)++] = '/';
	memcpy(done + *len, name, n);
	*len += n;
	done[*len] = '\0';
	return 0;
}

/*
 * The real directories already looked at while resolving the profile's
 * paths: /usr and /usr/lib are on the way to most of them, and each look
 * is a system call at every start.
 */
#define MEMO_MAX 64

struct dir_memo {
	char *dirs[MEMO_MAX];
	size_t n;
};

static int
memo_has(const struct dir_memo *m, const char *dir)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->dirs[i], dir) == 0)
			return 1;
	return 0;
}

/* Best effort: a directory not remembered is only looked at again. */
static void
memo_add(struct dir_memo *m, const char *dir)
{
	if (m->n < MEMO_MAX && (m->dirs[m->n] = strdup(dir)) != NULL)
		m->n++;
}

static void
memo_free(struct dir_memo *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->dirs[i]);
	m->n = 0;
}

/*
 * Resolves path component by component into done (RESOLVED_MAX bytes),
 * recording the links met; *mode is the type of what is there.
 */
static int
resolve(struct sbx_ctx *c, struct dir_memo *memo, const char *path,
	char *done, mode_t *mode, struct pal_err *err)
{
	char rest[RESOLVED_MAX], target[RESOLVED_MAX], tmp[RESOLVED_MAX];
	struct stat st;
	size_t len = 0;
	int hops = 0, known = 0;	/* known: *mode is done's */

	done[0] = '\0';
	if (strlen(path) >= sizeof(rest))
		return pal_err_set(err, PAL_ERR_LIMIT, "%s: too long", path);
	memcpy(rest, path, strlen(path) + 1);
	for (char *p = rest; *p != '\0';) {
		size_t n;
		ssize_t t;

		p += strspn(p, "/");
		if ((n = strcspn(p, "/")) == 0)
			break;
		if (n == 1 && p[0] == '.') {
			p += n;
			continue;
		}
		if (step(done, &len, p, n) != 0)
			return pal_err_set(err, PAL_ERR_LIMIT, "%s: too long",
					   path);
		p += n;
		known = 0;
		if (len == 0)
			continue;
		if (memo_has(memo, done)) {
			*mode = S_IFDIR;
			known = 1;
			continue;
		}
		if (lstat(done, &st) != 0)
			return pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
					   strerror(errno));
		if (!S_ISLNK(st.st_mode)) {
			if (*p != '\0' && !S_ISDIR(st.st_mode))
				return pal_err_set(err, PAL_ERR_IO, "%s: %s is "
						   "not a directory", path,
						   done);
			if (S_ISDIR(st.st_mode))
				memo_add(memo, done);
			*mode = st.st_mode;
			known = 1;
			continue;
		}
		if (++hops > MAX_HOPS)
			return pal_err_set(err, PAL_ERR_LIMIT, "%s: too many "
					   "symbolic links", path);
		t = readlink(done, target, sizeof(target) - 1);
		if (t <= 0 || (size_t)t >= sizeof(target) - 1)
			return pal_err_set(err, PAL_ERR_IO, "%s: cannot read "
					   "the link %s", path, done);
		target[t] = '\0';
		if (add_link(c, done, target) != 0)
			return nomem(err);
		/* Go on from the link's directory with target + the rest. */
		if ((size_t)t + 1 + strlen(p) >= sizeof(tmp))
			return pal_err_set(err, PAL_ERR_LIMIT, "%s: too long",
					   path);
		memcpy(tmp, target, (size_t)t);
		memcpy(tmp + t, p, strlen(p) + 1);
		memcpy(rest, tmp, strlen(tmp) + 1);
		p = rest;
		if (target[0] == '/')
			len = 0;
		else
			while (len > 0 && done[--len] != '/')
				;
		done[len] = '\0';
	}
	if (len == 0)
		return pal_err_set(err, PAL_ERR_INVALID, "%s resolves to '/'",
				   path);
	/* The last step was a link to "." or "..": look at where it led. */
	if (!known) {
		if (stat(done, &st) != 0)
			return pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
					   strerror(errno));
		*mode = st.st_mode;
	}
	return 0;
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct sbx_bind *)a)->path,
		      ((const struct sbx_bind *)b)->path);
}

/* Drops binds under a directory bind, and links inside any bind. */
static void
prune(struct sbx_ctx *c)
{
	size_t k = 0, j = 0;

	if (c->n_binds > 1)
		if (c->n_binds > 1)
		qsort(c->binds, c->n_binds, sizeof(*c->binds), by_path);
	for (size_t i = 0; i < c->n_binds; i++) {
		if (k > 0 && c->binds[k - 1].is_dir &&
		    under(c->binds[i].path, c->binds[k - 1].path)) {
			free(c->binds[i].path);
			continue;
		}
		c->binds[k++] = c->binds[i];
	}
	c->n_binds = k;
	for (size_t i = 0; i < c->n_links; i++) {
		int inside = 0;

		for (size_t b = 0; b < c->n_binds && !inside; b++)
			inside = c->binds[b].is_dir &&
				 under(c->links[i].path, c->binds[b].path) &&
				 strcmp(c->links[i].path, c->binds[b].path);
		if (inside) {
			free(c->links[i].path);
			free(c->links[i].target);
			continue;
		}
		c->links[j++] = c->links[i];
	}
	c->n_links = j;
}

int
sbx_paths_resolve(struct sbx_ctx *c, struct pal_err *err)
{
	/*
	 * The sandbox's own /proc and /dev hold nothing of the host's; its
	 * /tmp is private, but a path below the host's /tmp is mounted inside
	 * it (read-only), so only /tmp itself is refused.
	 */
	static const char *const own[] = { "/proc", "/dev" };
	const struct pal_sandbox_profile *p = c->profile;
	struct dir_memo memo = { .n = 0 };
	char real[RESOLVED_MAX];
	mode_t mode = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < p->n_paths + c->n_extra; i++) {
		const char *path = i < p->n_paths ? p->paths[i] :
				   c->extra[i - p->n_paths];

		if ((rc = resolve(c, &memo, path, real, &mode, err)) != 0)
			break;
		for (size_t k = 0; rc == 0 && k < sizeof(own) / sizeof(own[0]);
		     k++)
			if (under(real, own[k]))
				rc = pal_err_set(err, PAL_ERR_INVALID, "%s: %s "
						 "is the sandbox's own", path,
						 own[k]);
		if (rc == 0 && strcmp(real, "/tmp") == 0)
			rc = pal_err_set(err, PAL_ERR_INVALID, "%s: /tmp is the "
					 "sandbox's own (name the paths below "
					 "it that the server needs)", path);
		if (rc == 0 && !S_ISDIR(mode) && !S_ISREG(mode))
			rc = pal_err_set(err, PAL_ERR_INVALID, "%s: neither a "
					 "directory nor a file", path);
		if (rc == 0 && add_bind(c, real, S_ISDIR(mode)) != 0)
			rc = nomem(err);
	}
	memo_free(&memo);
	if (rc == 0)
		prune(c);
	return rc;
}

int
sbx_find_exe(const char *name, const char *path_env, char **out,
	     struct pal_err *err)
{
	char buf[PATH_MAX];
	int found = 0;

	*out = NULL;
	if (name[0] == '\0')
		return pal_err_set(err, PAL_ERR_INVALID, "empty command");
	if (strchr(name, '/') != NULL) {
		if (name[0] != '/') {
			/*
			 * "./server" or "bin/server": the file it names now,
			 * as a normalized absolute path (what the profile's
			 * paths must be), links resolved.
			 */
			if (realpath(name, buf) == NULL)
				return pal_err_set(err, PAL_ERR_IO, "%s: %s",
						   name, strerror(errno));
		} else if (strlen(name) >= sizeof(buf)) {
			return pal_err_set(err, PAL_ERR_LIMIT, "%s: too long",
					   name);
		} else {
			memcpy(buf, name, strlen(name) + 1);
		}
		found = access(buf, F_OK) == 0;
	}
	for (const char *d = path_env; !found && d != NULL && *d != '\0';) {
		size_t n = strcspn(d, ":");

		if (n > 0 && d[0] == '/' && n + 2 + strlen(name) < sizeof(buf)) {
			memcpy(buf, d, n);
			buf[n] = '/';
			memcpy(buf + n + 1, name, strlen(name) + 1);
			found = access(buf, X_OK) == 0;
		}
		d += n + (d[n] == ':');
	}
	if (!found)
		return pal_err_set(err, PAL_ERR_IO, "%s: not found", name);
	if ((*out = strdup(buf)) == NULL)
		return nomem(err);
	return 0;
}

/*
 * The system's library directories and the ELF interpreter, for the
 * built-in profile: whatever of these exists.
 */
static const char *const lib_paths[] = {
#if defined(__x86_64__)
	"/lib64/ld-linux-x86-64.so.2",
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
#elif defined(__aarch64__)
	"/lib/ld-linux-aarch64.so.1",
	"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
#endif
	"/usr/local/lib",
};

/* The interpreter a "#!" line names, into out (size bytes), or "". */
static void
script_interpreter(const char *exe, char *out, size_t size)
{
	char head[256];
	ssize_t n;
	size_t k;
	int fd;

	out[0] = '\0';
	if ((fd = open(exe, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return;
	n = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (n < 3 || head[0] != '#' || head[1] != '!')
		return;
	head[n] = '\0';
	k = 2 + strspn(head + 2, " \t");
	n = (ssize_t)strcspn(head + k, " \t\n");
	if (head[k] == '/' && (size_t)n < size) {
		memcpy(out, head + k, (size_t)n);
		out[n] = '\0';
	}
}

static int
add_extra(struct sbx_ctx *c, const char *path, struct pal_err *err)
{
	void *v;
	int rc;

	if ((rc = pal_sandbox_path_check(path, err)) != 0)
		return rc;
	v = reallocarray(c->extra, c->n_extra + 1, sizeof(*c->extra));
	if (v == NULL)
		return nomem(err);
	c->extra = v;
	if ((c->extra[c->n_extra] = strdup(path)) == NULL)
		return nomem(err);
	c->n_extra++;
	return 0;
}

int
sbx_builtin_paths(struct sbx_ctx *c, const char *exe, struct pal_err *err)
{
	char interp[256];
	int rc;

	if ((rc = add_extra(c, exe, err)) != 0)
		return rc;
	script_interpreter(exe, interp, sizeof(interp));
	if (interp[0] != '\0' && pal_sandbox_path_check(interp, NULL) == 0 &&
	    (rc = add_extra(c, interp, err)) != 0)
		return rc;
	for (size_t i = 0; i < sizeof(lib_paths) / sizeof(lib_paths[0]); i++) {
		if (access(lib_paths[i], F_OK) != 0)
			continue;
		if ((rc = add_extra(c, lib_paths[i], err)) != 0)
			return rc;
	}
	return 0;
}
