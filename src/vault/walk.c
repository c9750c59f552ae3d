/*
 * walk.c - the files of a model directory, as a vault seals them: regular
 * files only, never through a symbolic link, names checked as sealed
 * paths, sorted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "palisade/sealed.h"
#include "vault_int.h"

#define DEPTH_MAX 64

struct walk {
	size_t max;
	struct vfiles *out;
	struct pal_err *err;
	char path[PAL_SEALED_PATH_MAX + 1];
};

static int
add(struct walk *w, const char *path, uint64_t size)
{
	struct vfiles *f = w->out;
	if (f->n == w->max)
		return pal_err_set(w->err, PAL_ERR_LIMIT, "more than %zu "
				   "files", w->max);
	if (strncmp(path, VAULT_RESERVED, strlen(VAULT_RESERVED)) == 0)
		return pal_err_set(w->err, PAL_ERR_INVALID, "%s: paths under "
				   "%s are reserved for the vault", path,
				   VAULT_RESERVED);
	int rc = pal_sealed_check_path(path, strlen(path), w->err);
	if (rc < 0)
		return pal_err_wrap(w->err, rc, "%s: ", path);
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct vfile *v = realloc(f->v, cap * sizeof(*v));
		if (v == NULL)
			return pal_err_set(w->err, PAL_ERR_NOMEM,
					   "out of memory");
		f->v = v;
		f->cap = cap;
	}
	if ((f->v[f->n].path = strdup(path)) == NULL)
		return pal_err_set(w->err, PAL_ERR_NOMEM, "out of memory");
	f->v[f->n++].size = size;
	return 0;
}

static int walk_dir(struct walk *w, int dirfd, size_t plen, int depth);

/* One directory entry: w->path holds its relative path. */
static int
visit(struct walk *w, int dirfd, const char *name, size_t plen, int depth)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return pal_err_set(w->err, PAL_ERR_IO, "%s: %s", w->path,
				   strerror(errno));
	if (S_ISREG(st.st_mode))
		return add(w, w->path, (uint64_t)st.st_size);
	if (!S_ISDIR(st.st_mode))
		return pal_err_set(w->err, PAL_ERR_INVALID, "%s: not a "
				   "regular file or directory (%s)", w->path,
				   S_ISLNK(st.st_mode) ? "a symbolic link" :
				   "a device, FIFO or socket");
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			O_CLOEXEC);
	if (fd < 0)
		return pal_err_set(w->err, PAL_ERR_IO, "%s: %s", w->path,
				   strerror(errno));
	int rc = walk_dir(w, fd, plen, depth + 1);
	close(fd);
	return rc;
}

static int
walk_dir(struct walk *w, int dirfd, size_t plen, int depth)
{
	if (depth > DEPTH_MAX)
		return pal_err_set(w->err, PAL_ERR_LIMIT, "%s: directories "
				   "nested deeper than %d", w->path, DEPTH_MAX);
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return pal_err_set(w->err, PAL_ERR_IO, "%s: %s",
				   plen ? w->path : ".", strerror(errno));
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		size_t n = strlen(e->d_name), at = plen ? plen + 1 : 0;
		if (at + n >= sizeof(w->path)) {
			rc = pal_err_set(w->err, PAL_ERR_LIMIT, "a path under "
					 "%s is longer than %d bytes",
					 plen ? w->path : ".",
					 PAL_SEALED_PATH_MAX);
			break;
		}
		if (plen)
			w->path[plen] = '/';
		memcpy(w->path + at, e->d_name, n + 1);
		rc = visit(w, dirfd, e->d_name, at + n, depth);
		w->path[plen] = '\0';
	}
	if (rc == 0 && errno != 0)
		rc = pal_err_set(w->err, PAL_ERR_IO, "%s: %s",
				 plen ? w->path : ".", strerror(errno));
	closedir(d);
	return rc;
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct vfile *)a)->path,
		      ((const struct vfile *)b)->path);
}

int
vault_walk(const char *root, size_t max_files, struct vfiles *out,
	   struct pal_err *err)
{
	struct walk w = { .max = max_files, .out = out, .err = err };
	struct stat st;
	memset(out, 0, sizeof(*out));
	int fd = open(root, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", root,
				   strerror(e));
	}
	int rc;
	if (S_ISREG(st.st_mode)) {
		const char *base = strrchr(root, '/');
		rc = add(&w, base ? base + 1 : root, (uint64_t)st.st_size);
	} else if (S_ISDIR(st.st_mode)) {
		rc = walk_dir(&w, fd, 0, 0);
	} else {
		rc = pal_err_set(err, PAL_ERR_INVALID, "%s: not a regular "
				 "file or directory", root);
	}
	close(fd);
	if (rc < 0) {
		vfiles_free(out);
		return rc;
	}
	if (out->n == 0)
		return pal_err_set(err, PAL_ERR_INVALID, "%s: no files to "
				   "seal", root);
	qsort(out->v, out->n, sizeof(*out->v), by_path);
	return 0;
}

void
vfiles_free(struct vfiles *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].path);
	free(f->v);
	memset(f, 0, sizeof(*f));
}
