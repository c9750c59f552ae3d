/*
 * manifest_walk.c - enumerating the files of a model directory.
 *
 * Directories are walked by descriptor (openat with O_NOFOLLOW), never by
 * rebuilt path strings, so a directory swapped for a symlink mid-walk is
 * not followed.  Files are later opened with openat2(RESOLVE_BENEATH), so
 * that even an allowed symlink can never lead out of the model.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "manifest_int.h"
#include "palisade/text.h"

void
mf_list_free(struct mf_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].rel);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
list_push(struct mf_list *l, char *rel, const struct stat *st,
	  struct pal_err *err)
{
	if (l->n == MF_MAX_FILES) {
		free(rel);
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "model has more than %d files",
				   MF_MAX_FILES);
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct mf_file *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL) {
			free(rel);
			return pal_err_set(err, PAL_ERR_NOMEM,
					   "out of memory");
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct mf_file){
		.rel = rel, .size = (uint64_t)st->st_size,
		.dev = st->st_dev, .ino = st->st_ino,
	};
	return 0;
}

int
mf_ignored(char *const *ignore, size_t n_ignore, const char *rel)
{
	for (size_t i = 0; i < n_ignore; i++) {
		size_t n = strlen(ignore[i]);
		if (strncmp(rel, ignore[i], n) == 0 &&
		    (rel[n] == '\0' || rel[n] == '/'))
			return 1;
	}
	return 0;
}

/* rel is ignored when it equals an ignore path or lies beneath one. */
static int
is_ignored(const struct mf_walk *w, const char *rel)
{
	return mf_ignored(w->ignore, w->n_ignore, rel);
}

static char *
join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *s = malloc(a + b + 2);
	if (s == NULL)
		return NULL;
	if (a > 0) {
		memcpy(s, dir, a);
		s[a++] = '/';
	}
	memcpy(s + a, name, b + 1);
	return s;
}

static int walk(const struct mf_walk *w, int dfd, const char *dir,
		int depth, struct mf_list *out, struct pal_err *err);

/* A symlink is followed only when allowed, and only to a regular file. */
static int
follow_link(const struct mf_walk *w, const char *rel, struct stat *st,
	    struct pal_err *err)
{
	if (!w->allow_symlinks)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "%s: is a symbolic link (symlinks are not "
				   "followed; --allow-symlinks follows those "
				   "that stay inside the model)", rel);
	struct mf_file f = { .rel = (char *)(uintptr_t)rel };
	int fd = mf_open(w, &f, err);
	if (fd < 0)
		return fd;
	int rc = fstat(fd, st);
	close(fd);
	if (rc != 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", rel,
				   strerror(errno));
	if (!S_ISREG(st->st_mode))
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s: symbolic link to something other than "
				   "a regular file", rel);
	return 0;
}

static int
visit(const struct mf_walk *w, int dfd, const char *dir, const char *name,
      int depth, struct mf_list *out, struct pal_err *err)
{
	char *rel = join(dir, name);
	if (rel == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (!pal_utf8_valid(rel, strlen(rel))) {
		free(rel);
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "a file name under '%s' is not valid "
				   "UTF-8", dir[0] ? dir : ".");
	}
	if (is_ignored(w, rel)) {
		free(rel);
		return 0;
	}
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		int rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", rel,
				     strerror(errno));
		free(rel);
		return rc;
	}
	int rc = 0;
	if (S_ISLNK(st.st_mode))
		rc = follow_link(w, rel, &st, err);
	if (rc == 0 && S_ISDIR(st.st_mode)) {
		int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY |
				 O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", rel,
					 strerror(errno));
		else
			rc = walk(w, sub, rel, depth + 1, out, err);
		free(rel);
		return rc;
	}
	if (rc == 0 && !S_ISREG(st.st_mode))
		rc = pal_err_set(err, PAL_ERR_UNSUPPORTED,
				 "%s: not a regular file or directory", rel);
	if (rc < 0) {
		free(rel);
		return rc;
	}
	return list_push(out, rel, &st, err);
}

/* Walks the directory open at dfd (consumed). */
static int
walk(const struct mf_walk *w, int dfd, const char *dir, int depth,
     struct mf_list *out, struct pal_err *err)
{
	if (depth > MF_MAX_DEPTH) {
		close(dfd);
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "%s: directories nested deeper than %d",
				   dir, MF_MAX_DEPTH);
	}
	DIR *d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return pal_err_set(err, PAL_ERR_IO, "%s: %s",
				   dir[0] ? dir : w->path, strerror(errno));
	}
	int rc = 0;
	struct dirent *e;
	errno = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0)
			continue;
		rc = visit(w, dirfd(d), dir, e->d_name, depth, out, err);
		errno = 0;
	}
	if (rc == 0 && errno != 0)
		rc = pal_err_set(err, PAL_ERR_IO, "%s: %s",
				 dir[0] ? dir : w->path, strerror(errno));
	closedir(d);
	return rc;
}

static int
cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct mf_file *)a)->rel,
		      ((const struct mf_file *)b)->rel);
}

int
mf_walk_dir(const struct mf_walk *w, struct mf_list *out, struct pal_err *err)
{
	int dfd = dup(w->rootfd);
	if (dfd < 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", w->path,
				   strerror(errno));
	int rc = walk(w, dfd, "", 0, out, err);
	if (rc < 0) {
		mf_list_free(out);
		return rc;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_file);
	return 0;
}

int
mf_open(const struct mf_walk *w, const struct mf_file *f, struct pal_err *err)
{
	struct open_how how = {
		/* O_NONBLOCK: a FIFO behind a link must not hang the walk. */
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
			(w->allow_symlinks ? 0 : RESOLVE_NO_SYMLINKS),
	};
	int fd = (int)syscall(SYS_openat2, w->rootfd, f->rel, &how,
			      sizeof(how));
	if (fd < 0 && errno == ENOSYS && !w->allow_symlinks)
		fd = openat(w->rootfd, f->rel, O_RDONLY | O_CLOEXEC |
			    O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	else if (fd < 0 && errno == ENOSYS)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s: following symlinks safely needs "
				   "openat2 (Linux 5.6)", f->rel);
	if (fd < 0) {
		if (errno == EXDEV || errno == ELOOP)
			return pal_err_set(err, PAL_ERR_VERIFY,
					   "%s: symbolic link leads out of "
					   "the model or is not allowed",
					   f->rel);
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", f->rel,
				   strerror(errno));
	}
	return fd;
}
