/*
 * manifest_int.h - private interface between the manifest's walk, its
 * hashing engine and its bookkeeping.
 */
#ifndef PALISADE_MANIFEST_INT_H
#define PALISADE_MANIFEST_INT_H

#include <sys/types.h>

#include "palisade/manifest.h"

#define MF_MAX_FILES 1000000
#define MF_MAX_DEPTH 64

struct mf_file {
	char *rel;		/* relative name; "." for a single-file model */
	uint64_t size;
	dev_t dev;
	ino_t ino;
	int fd;			/* with mf_walk.by_fd: the open file (borrowed) */
};

struct mf_list {
	struct mf_file *v;
	size_t n, cap;
};

struct mf_walk {
	int rootfd;		/* the model directory, or -1 */
	const char *path;	/* as given, for messages */
	int allow_symlinks;
	char *const *ignore;	/* relative paths, matched with subtrees */
	size_t n_ignore;
	int by_fd;		/* the files are open already (mf_file.fd) */
};

/*
 * Fills m->ignore: OMS's defaults, o's extra paths, and the signature's
 * path when it lies inside the model at path (path may be NULL: a model
 * without one).  Sorted.
 */
int mf_build_ignores(const char *path, const struct pal_manifest_opts *o,
		     struct pal_manifest *m, struct pal_err *err);

/* 1 when rel is one of the ignore paths or lies beneath one. */
int mf_ignored(char *const *ignore, size_t n_ignore, const char *rel);

/* Lists every regular file under w->rootfd not ignored, sorted by name. */
int mf_walk_dir(const struct mf_walk *w, struct mf_list *out,
		struct pal_err *err);

/* Opens a listed file for reading with the walk's symlink policy. */
int mf_open(const struct mf_walk *w, const struct mf_file *f,
	    struct pal_err *err);

void mf_list_free(struct mf_list *l);

/*
 * Hashes every file (whole, or in shards of shard_size) into m->res, using
 * threads workers.  path is the single file's path when w->rootfd < 0 and
 * the files are not open already (w->by_fd).
 */
int mf_hash(const struct mf_walk *w, const char *single_path,
	    const struct mf_list *files, int threads, struct pal_manifest *m,
	    struct pal_err *err);

#endif
