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

#include "palisade/file.h"
#include "tlog_int.h"

#define PUB_MAX (1u << 20)

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
	   int sync, char **tmp, struct pal_err *err)
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
	if (rc == 0 && sync && fsync(fd) != 0)
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

/* 1 when the files a and b (relative to dirfd) hold the same bytes, 0
 * when they differ, or an error. */
static int
same_files(int dirfd, const char *a, const char *b, struct pal_err *err)
{
	int fd = openat(dirfd, a, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", a,
				   strerror(errno));
	struct stat st;
	uint8_t *buf = NULL;
	int rc;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size <= PUB_MAX &&
	    (buf = malloc((size_t)st.st_size + 1)) != NULL &&
	    pread(fd, buf, (size_t)st.st_size, 0) == st.st_size)
		rc = same_content(dirfd, b, buf, (size_t)st.st_size, err);
	else
		rc = pal_err_set(err, PAL_ERR_IO, "%s: cannot read it back",
				 a);
	close(fd);
	free(buf);
	return rc;
}

int
stage_file(int dirfd, struct stage *s, const char *path, const void *data,
	   size_t len, int cold, struct pal_err *err)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **t = realloc(s->tmp, cap * sizeof(*t));
		if (t != NULL)
			s->tmp = t;
		char **p = t ? realloc(s->path, cap * sizeof(*p)) : NULL;
		if (p != NULL)
			s->path = p;
		unsigned char *c = p ? realloc(s->cold, cap) : NULL;
		if (c == NULL)
			return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		s->cold = c;
		s->cap = cap;
	}
	char *tmp = NULL, *dup = strdup(path);
	int rc = dup ? pal_mkdir_parents(dirfd, path, 0755, err) :
		pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = write_temp(dirfd, path, data, len, 0, &tmp, err);
	if (rc < 0) {
		free(dup);
		free(tmp);
		return rc;
	}
	s->tmp[s->n] = tmp;
	s->cold[s->n] = (unsigned char)(cold != 0);
	s->path[s->n++] = dup;
	return 0;
}

/*
 * Drops the cached pages of a cold file, clean after the sync, so that
 * the next publication's writes reuse them rather than take fresh pages
 * and push useful ones (tiles, which proofs read) out of the cache.
 * Only advice: a failure changes nothing.
 */
static void
drop_cache(int dirfd, const char *tmp)
{
	int fd = openat(dirfd, tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

int
stage_commit(int dirfd, struct stage *s, struct pal_err *err)
{
	if (s->n == 0)
		return 0;
	if (syncfs(dirfd) != 0)
		return pal_err_set(err, PAL_ERR_IO, "syncfs: %s",
				   strerror(errno));
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < s->n; i++) {
		if (s->cold[i])
			drop_cache(dirfd, s->tmp[i]);
		if (renameat2(dirfd, s->tmp[i], dirfd, s->path[i],
			      RENAME_NOREPLACE) == 0) {
			free(s->tmp[i]);
			s->tmp[i] = NULL;
			continue;
		}
		if (errno != EEXIST) {
			rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", s->path[i],
					 strerror(errno));
			break;
		}
		/* Written before a crash: it must be what we would write. */
		int same = same_files(dirfd, s->tmp[i], s->path[i], err);
		if (same < 0)
			rc = same;
		else if (!same)
			rc = pal_err_set(err, PAL_ERR_VERIFY,
					 "%s exists with other content: the "
					 "log was tampered with", s->path[i]);
	}
	if (rc == 0 && syncfs(dirfd) != 0)
		rc = pal_err_set(err, PAL_ERR_IO, "syncfs: %s",
				 strerror(errno));
	return rc;
}

void
stage_free(int dirfd, struct stage *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->tmp[i] != NULL)
			unlinkat(dirfd, s->tmp[i], 0);
		free(s->tmp[i]);
		free(s->path[i]);
	}
	free(s->tmp);
	free(s->path);
	free(s->cold);
	memset(s, 0, sizeof(*s));
}

int
publish_once(int dirfd, const char *path, const void *data, size_t len,
	     struct pal_err *err)
{
	char *tmp = NULL;
	int rc = pal_mkdir_parents(dirfd, path, 0755, err);
	if (rc == 0)
		rc = write_temp(dirfd, path, data, len, 1, &tmp, err);
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
	int rc = pal_mkdir_parents(dirfd, path, 0755, err);
	if (rc == 0)
		rc = write_temp(dirfd, path, data, len, 1, &tmp, err);
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
