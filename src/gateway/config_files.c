/*
 * config_files.c - the files the gateway's configuration names:
 * certificates, keys, CA bundles, the key store, the injection rules,
 * the log directory and the payload key.
 *
 * A relative path is relative to the configuration's directory.  When
 * the caller asks (pal_gw_config_load always does), each file is checked
 * when its key is read, so that a configuration that names a missing or
 * unreadable file, or a private key every user may read, is refused as a
 * whole: a reload with a missing certificate keeps the old configuration
 * instead of failing later, half-applied.  The check opens the file for
 * reading (what the server will do) without blocking, and never reads
 * it: what a PEM file holds is checked by whoever loads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_int.h"

int
gwc_resolve(const char *base_dir, const char *path, char **out)
{
	size_t nb, np = strlen(path);
	char *s;

	*out = NULL;
	if (path[0] == '/' || base_dir == NULL || base_dir[0] == '\0')
		nb = 0;
	else
		nb = strlen(base_dir);
	/* The path, a '/' between, and the NUL fit in PAL_GW_PATH_MAX. */
	if (np + (nb > 0 ? nb + 1 : 0) + 1 > PAL_GW_PATH_MAX)
		return PAL_ERR_LIMIT;
	if ((s = malloc(nb + 1 + np + 1)) == NULL)
		return PAL_ERR_NOMEM;
	if (nb > 0) {
		memcpy(s, base_dir, nb);
		s[nb++] = '/';
	}
	memcpy(s + nb, path, np + 1);
	*out = s;
	return 0;
}

/* The directory part of path ("." for a bare name); caller frees. */
static char *
parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/*
 * Opens path as the server would (read-only, not blocking on a FIFO),
 * fstat's it into st.  Returns 0, or an errno.
 */
static int
open_stat(const char *path, int dir, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
		      (dir ? O_DIRECTORY : 0));
	int e = 0;

	if (fd < 0)
		return errno;
	if (fstat(fd, st) != 0)
		e = errno;
	close(fd);
	return e;
}

/* Why path cannot be used as kind, or NULL; msg holds the reason. */
static const char *
check_file(const char *path, enum gwc_file kind, char *msg, size_t size)
{
	struct stat st;
	char *dir;
	int e;

	if (kind == GWC_STORE) {
		if ((dir = parent_of(path)) == NULL)
			return "out of memory";
		e = open_stat(dir, 1, &st);
		free(dir);
		if (e != 0) {
			snprintf(msg, size, "its directory: %s", strerror(e));
			return msg;
		}
		if (stat(path, &st) != 0)
			return errno == ENOENT ? NULL : strerror(errno);
		if (!S_ISREG(st.st_mode))
			return "not a regular file";
		if (st.st_mode & S_IWOTH)
			return "every user may write it (chmod o-w)";
		return NULL;
	}
	if ((e = open_stat(path, kind == GWC_DIR, &st)) != 0)
		return strerror(e);
	if (kind == GWC_DIR)
		return S_ISDIR(st.st_mode) ? NULL : "not a directory";
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	if (st.st_size == 0)
		return "empty file";
	if (kind == GWC_PRIVATE_KEY && (st.st_mode & S_IRWXO))
		return "a private key every user may read or write (chmod "
		       "o-rwx)";
	return NULL;
}

int
gwc_path(struct pal_yaml *y, enum gwc_file kind, char **out)
{
	const struct gwc *g = GWC(y);
	const char *why;
	char msg[128];
	char *raw;
	int rc;

	*out = NULL;
	if ((rc = gwc_string(y, PAL_GW_PATH_MAX - 1, &raw)) != 0)
		return rc;
	rc = gwc_resolve(g->base_dir, raw, out);
	free(raw);
	if (rc == PAL_ERR_NOMEM)
		return pal_yaml_nomem(y);
	if (rc != 0)
		return pal_yaml_fail_path(y, &y->ev.start_mark, "'%s' is "
					  "longer than %d bytes once resolved",
					  pal_yaml_shown(y),
					  PAL_GW_PATH_MAX - 1);
	if (!(g->flags & PAL_GW_CONFIG_CHECK_FILES))
		return 0;
	if ((why = check_file(*out, kind, msg, sizeof(msg))) == NULL)
		return 0;
	rc = pal_yaml_fail_path(y, &y->ev.start_mark, "%s: %s", *out, why);
	free(*out);
	*out = NULL;
	return rc;
}
