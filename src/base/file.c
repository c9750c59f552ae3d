/*
 * file.c - whole-file reads of small files, atomic file replacement.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "palisade/file.h"

int
pal_file_read(const char *path, size_t max, uint8_t **out, size_t *len,
	      struct pal_err *err)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				   strerror(errno));
	struct stat st;
	uint8_t *buf = NULL;
	size_t have = 0;
	int rc = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = pal_err_set(err, PAL_ERR_IO, "%s: not a regular file",
				 path);
	else if ((uint64_t)st.st_size > max)
		rc = pal_err_set(err, PAL_ERR_LIMIT,
				 "%s: larger than %zu bytes", path, max);
	/* One byte more than fstat said, to notice a file that grew. */
	else if ((buf = malloc((size_t)st.st_size + 2)) == NULL)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "%s: out of memory",
				 path);
	while (rc == 0 && have <= (size_t)st.st_size) {
		ssize_t n = read(fd, buf + have,
				 (size_t)st.st_size + 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
					 strerror(errno));
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	if (rc == 0 && have > (size_t)st.st_size)
		rc = pal_err_set(err, PAL_ERR_IO,
				 "%s: file changed while being read", path);
	close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[have] = '\0';
	*out = buf;
	*len = have;
	return 0;
}

int
pal_mkdir_parents(int dirfd, const char *path, unsigned mode,
		  struct pal_err *err)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	if (n >= sizeof(buf))
		return pal_err_set(err, PAL_ERR_LIMIT, "%s: path too long",
				   path);
	memcpy(buf, path, n + 1);
	for (char *s = buf; (s = strchr(s, '/')) != NULL; s++) {
		if (s == buf)
			continue;	/* the root of an absolute path */
		*s = '\0';
		if (mkdirat(dirfd, buf, (mode_t)mode) != 0 && errno != EEXIST)
			return pal_err_set(err, PAL_ERR_IO, "%s: %s", buf,
					   strerror(errno));
		*s = '/';
	}
	return 0;
}

int
pal_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
pal_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		if (off + done > (uint64_t)INT64_MAX) {
			errno = EOVERFLOW;
			return -1;
		}
		ssize_t n = pwrite(fd, (const uint8_t *)buf + done,
				   len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

int64_t
pal_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		if (off + done > (uint64_t)INT64_MAX) {
			errno = EOVERFLOW;
			return -1;
		}
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done,
				  (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (int64_t)done;
}

static void
sync_dir(const char *path)
{
	char *copy = strdup(path);
	if (copy == NULL)
		return;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int
pal_file_write_atomic(const char *path, const void *data, size_t len,
		      unsigned mode, struct pal_err *err)
{
	char *tmp = NULL;
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		int rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				     strerror(errno));
		free(tmp);
		return rc;
	}
	int rc = 0;
	if (fchmod(fd, mode) != 0 || pal_write_full(fd, data, len) != 0 ||
	    fsync(fd) != 0)
		rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				 strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				 strerror(errno));
	if (rc == 0 && rename(tmp, path) != 0)
		rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				 strerror(errno));
	if (rc < 0)
		unlink(tmp);
	else
		sync_dir(path);
	free(tmp);
	return rc;
}
