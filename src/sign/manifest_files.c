/*
 * manifest_files.c - the manifest of a model held as open files.
 *
 * A release unsealed from the vault lives in sealed memfds and has no
 * path; what is verified must be exactly the bytes that will be served,
 * not a copy on disk.  The files are given by name and descriptor, and
 * hashed by the same engine as a walked directory (manifest_hash.c), so
 * that the digests are those of a directory holding the same files
 * under the same names.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "manifest_int.h"

static int
cmp_rel(const void *a, const void *b)
{
	return strcmp(((const struct mf_file *)a)->rel,
		      ((const struct mf_file *)b)->rel);
}

/* Adds file f to l unless an ignore path covers it. */
static int
add_file(const struct pal_manifest *m, const struct pal_manifest_file *f,
	 size_t n, struct mf_list *l, struct pal_err *err)
{
	struct stat st;
	int rc = pal_manifest_check_name(f->name, n == 1, err);
	if (rc < 0)
		return rc;
	if (mf_ignored(m->ignore, m->n_ignore, f->name))
		return 0;
	if (fstat(f->fd, &st) != 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", f->name,
				   strerror(errno));
	if (!S_ISREG(st.st_mode))
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s: not a regular file", f->name);
	char *rel = strdup(f->name);
	if (rel == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	l->v[l->n++] = (struct mf_file){
		.rel = rel, .size = (uint64_t)st.st_size,
		.dev = st.st_dev, .ino = st.st_ino, .fd = f->fd,
	};
	return 0;
}

/* The files to hash, sorted, each name once. */
static int
list_files(const struct pal_manifest *m, const struct pal_manifest_file *f,
	   size_t n, struct mf_list *l, struct pal_err *err)
{
	l->v = calloc(n, sizeof(*l->v));
	if (l->v == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	l->cap = n;
	for (size_t i = 0; i < n; i++) {
		int rc = add_file(m, &f[i], n, l, err);
		if (rc < 0)
			return rc;
	}
	if (l->n == 0)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "%s: the model has no files to hash "
				   "(all are ignored)", m->model_name);
	qsort(l->v, l->n, sizeof(*l->v), cmp_rel);
	for (size_t i = 1; i < l->n; i++)
		if (strcmp(l->v[i - 1].rel, l->v[i].rel) == 0)
			return pal_err_set(err, PAL_ERR_INVALID,
					   "file '%s' is given twice",
					   l->v[i].rel);
	return 0;
}

int
pal_manifest_compute_files(const char *model_name,
			   const struct pal_manifest_file *files, size_t n,
			   const struct pal_manifest_opts *o,
			   struct pal_manifest **out, struct pal_err *err)
{
	*out = NULL;
	if (n == 0)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "the model has no files to hash");
	if (n > MF_MAX_FILES)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "model has more than %d files",
				   MF_MAX_FILES);
	struct pal_manifest *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	m->hash = o->hash;
	m->shard_size = o->shard_size;
	m->single_file = n == 1 && strcmp(files[0].name, ".") == 0;
	m->model_name = strdup(model_name != NULL ? model_name : "model");
	struct mf_list list = { 0 };
	int rc = m->model_name != NULL ? 0 :
		pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = mf_build_ignores(NULL, o, m, err);
	if (rc == 0)
		rc = list_files(m, files, n, &list, err);
	struct mf_walk w = {
		.rootfd = -1, .path = m->model_name, .ignore = m->ignore,
		.n_ignore = m->n_ignore, .by_fd = 1,
	};
	if (rc == 0)
		rc = mf_hash(&w, NULL, &list, o->threads, m, err);
	mf_list_free(&list);
	if (rc < 0) {
		pal_manifest_free(m);
		return rc;
	}
	pal_manifest_sort(m);
	*out = m;
	return 0;
}
