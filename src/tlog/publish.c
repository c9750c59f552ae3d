/*
 * publish.c - the log's files: write-once tiles, bundles and historical
 * checkpoints, and the replaceable latest checkpoint.
 *
 * A file is written under a temporary name in tmp/, fsynced, and then
 * renamed into place: for write-once files with RENAME_NOREPLACE, which
 * fails if the name exists, so a file is never replaced; for the latest
 * checkpoint plainly.  Its directory is then fsynced.  After a crash a write-once file may already exist:
 * that is fine when its content is exactly what would be written, and
 * corruption otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlog_int.h"

#define PUB_MAX (1u << 20)

/* mkdir -p for the parents of path, relative to dirfd. */
static int
make_parents(int dirfd, const char *path, struct pal_err *err)
{
	char buf[PAL_TILE_PATH_MAX + 32];
	size_t n = strlen(path);
	if (n >= sizeof(buf))
		return pal_err_set(err, PAL_ERR_LIMIT, "%s: path too long",
				   path);
	memcpy(buf, path, n + 1);
	for (char *s = buf; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdirat(dirfd, buf, 0755) != 0 && errno != EEXIST)
			return pal_err_set(err, PAL_ERR_IO, "%s: %s", buf,
					   strerror(errno));
		*s = '/';
	}
	return 0;
}

static int
sync_parent(int dirfd, const char *path, struct pal_err *err)
{
	char buf[PAL_TILE_PATH_MAX + 32];
	const char *slash = strrchr(path, '/');
	int fd;
	if (slash == NULL) {
		fd = dup(dirfd);
	} else {
		size_t n = (size_t)(slash - path);
		memcpy(buf, path, n);
		buf[n] = '\0';
		fd = openat(dirfd, buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	int rc = fd >= 0 && fsync(fd) == 0 ? 0 :
		pal_err_set(err, PAL_ERR_IO, "fsync of %s's directory: %s",
			    path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Writes a temporary file beside path; *tmp names it (caller frees). */
static int
write_temp(int dirfd, const char *path, const void *data, size_t len,
	   char **tmp, struct pal_err *err)
{
	static unsigned long seq;
	/* In tmp/, which the writer empties when it opens the log. */
	if (mkdirat(dirfd, "tmp", 0700) != 0 && errno != EEXIST)
		return pal_err_set(err, PAL_ERR_IO, "tmp: %s",
				   strerror(errno));
	if (asprintf(tmp, "tmp/%ld.%lu", (long)getpid(),
		     __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED)) < 0) {
		*tmp = NULL;
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	int fd = openat(dirfd, *tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			0644);
	int rc = 0;
	if (fd < 0)
		rc = pal_err_set(err, PAL_ERR_IO, "%s (for %s): %s", *tmp,
				 path, strerror(errno));
	const uint8_t *p = data;
	for (size_t done = 0; rc == 0 && done < len;) {
		ssize_t w = write(fd, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", *tmp,
					 strerror(errno));
		else
			done += (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", *tmp,
				 strerror(errno));
	if (fd >= 0)
		close(fd);
	if (rc < 0 && fd >= 0)
		unlinkat(dirfd, *tmp, 0);
	return rc;
}

/* 1 when path holds exactly data, 0 when it differs, or an error. */
static int
same_content(int dirfd, const char *path, const void *data, size_t len,
	     struct pal_err *err)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				   strerror(errno));
	struct stat st;
	int same = 0;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size == len &&
	    len <= PUB_MAX) {
		uint8_t *buf = malloc(len ? len : 1);
		if (buf != NULL && pread(fd, buf, len, 0) == (ssize_t)len)
			same = memcmp(buf, data, len) == 0;
		free(buf);
	}
	close(fd);
	return same;
}

int
publish_once(int dirfd, const char *path, const void *data, size_t len,
	     struct pal_err *err)
{
	char *tmp = NULL;
	int rc = make_parents(dirfd, path, err);
	if (rc == 0)
		rc = write_temp(dirfd, path, data, len, &tmp, err);
	/*
	 * renameat2(RENAME_NOREPLACE) never replaces an existing name, like
	 * link(2), but leaves no temporary inode to delete afterwards.
	 */
	if (rc == 0 && renameat2(dirfd, tmp, dirfd, path, RENAME_NOREPLACE)
	    == 0) {
		free(tmp);
		tmp = NULL;
	} else if (rc == 0) {
		if (errno != EEXIST) {
			rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
					 strerror(errno));
		} else {
			rc = same_content(dirfd, path, data, len, err);
			rc = rc == 1 ? 0 : rc == 0 ?
				pal_err_set(err, PAL_ERR_VERIFY,
					    "%s exists with other content: "
					    "the log was tampered with", path) :
				rc;
		}
	}
	if (tmp != NULL) {
		unlinkat(dirfd, tmp, 0);
		free(tmp);
	}
	if (rc == 0)
		rc = sync_parent(dirfd, path, err);
	return rc;
}

int
publish_clean_tmp(int dirfd, struct pal_err *err)
{
	int fd = openat(dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 :
			pal_err_set(err, PAL_ERR_IO, "tmp: %s",
				    strerror(errno));
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return pal_err_set(err, PAL_ERR_IO, "tmp: %s",
				   strerror(errno));
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (unlinkat(fd, e->d_name, 0) != 0)
			rc = pal_err_set(err, PAL_ERR_IO, "tmp/%s: %s",
					 e->d_name, strerror(errno));
	}
	closedir(d);
	return rc;
}

int
publish_replace(int dirfd, const char *path, const void *data, size_t len,
		struct pal_err *err)
{
	char *tmp = NULL;
	int rc = make_parents(dirfd, path, err);
	if (rc == 0)
		rc = write_temp(dirfd, path, data, len, &tmp, err);
	if (rc == 0 && renameat(dirfd, tmp, dirfd, path) != 0) {
		rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				 strerror(errno));
		unlinkat(dirfd, tmp, 0);
	}
	free(tmp);
	if (rc == 0)
		rc = sync_parent(dirfd, path, err);
	return rc;
}
