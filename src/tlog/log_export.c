/*
 * log_export.c - mirroring a log to another directory (for example an
 * immutable-storage mount) and comparing a mirror with its primary.
 *
 * Tiles, bundles and historical checkpoints are write-once, so a copy is
 * incremental: a file the mirror has must be byte-identical, and the
 * latest checkpoint is replaced last, after everything it covers.
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
#include "palisade/note.h"
#include "tlog_int.h"

#define FILE_MAX ((size_t)PAL_TILE_WIDTH * (PAL_ENTRY_MAX + 2))

struct xctx {
	int src, dst;		/* directory descriptors of the log roots */
	uint64_t copied;
};

static int
copy_file(struct xctx *x, const char *rel, struct pal_err *err)
{
	int fd = openat(x->src, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", rel,
				   strerror(errno));
	struct stat st;
	uint8_t *buf = NULL;
	int rc = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > FILE_MAX)
		rc = pal_err_set(err, PAL_ERR_FORMAT, "%s: not a log file",
				 rel);
	else if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	else if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		rc = pal_err_set(err, PAL_ERR_IO, "%s: short read", rel);
	close(fd);
	struct stat dst;
	if (rc == 0 && fstatat(x->dst, rel, &dst, AT_SYMLINK_NOFOLLOW) != 0) {
		rc = publish_once(x->dst, rel, buf, (size_t)st.st_size, err);
		if (rc == 0)
			x->copied++;
	} else if (rc == 0) {
		/* Present: publish_once compares and refuses a change. */
		rc = publish_once(x->dst, rel, buf, (size_t)st.st_size, err);
		if (rc == PAL_ERR_VERIFY)
			pal_err_set(err, PAL_ERR_VERIFY,
				    "%s differs between the log and its "
				    "mirror: they have diverged", rel);
	}
	free(buf);
	return rc;
}

/* Walks rel (a directory under the log root) copying every file. */
static int
copy_tree(struct xctx *x, const char *rel, int depth, struct pal_err *err)
{
	if (depth > 16)
		return pal_err_set(err, PAL_ERR_LIMIT, "%s: too deep", rel);
	int fd = openat(x->src, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 :
			pal_err_set(err, PAL_ERR_IO, "%s: %s", rel,
				    strerror(errno));
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", rel,
				   strerror(errno));
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char sub[PAL_TILE_PATH_MAX + 512];
		snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name);
		struct stat st;
		if (fstatat(x->src, sub, &st, AT_SYMLINK_NOFOLLOW) != 0)
			rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", sub,
					 strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = copy_tree(x, sub, depth + 1, err);
		else if (S_ISREG(st.st_mode))
			rc = copy_file(x, sub, err);
	}
	closedir(d);
	return rc;
}

int
pal_log_export(const char *dir, const char *dest, uint64_t *copied,
	       struct pal_err *err)
{
	struct xctx x = { -1, -1, 0 };
	if (mkdir(dest, 0755) != 0 && errno != EEXIST)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", dest,
				   strerror(errno));
	x.src = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	x.dst = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = x.src >= 0 && x.dst >= 0 ? 0 :
		pal_err_set(err, PAL_ERR_IO, "%s: %s", x.src < 0 ? dir : dest,
			    strerror(errno));
	/* The checkpoint is read first: what it covers is already there. */
	uint8_t *cp = NULL;
	size_t cp_len = 0;
	char path[4200];
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	if (rc == 0)
		rc = pal_file_read(path, 65536, &cp, &cp_len, err);
	if (rc == 0)
		rc = copy_file(&x, "log.vkey", err);
	if (rc == 0)
		rc = copy_tree(&x, "tile", 0, err);
	if (rc == 0)
		rc = copy_tree(&x, "checkpoints", 0, err);
	if (rc == 0)
		rc = publish_replace(x.dst, "checkpoint", cp, cp_len, err);
	free(cp);
	if (x.src >= 0)
		close(x.src);
	if (x.dst >= 0)
		close(x.dst);
	*copied = x.copied;
	return rc;
}

int
pal_log_compare(const char *dir, const char *mirror,
		struct pal_log_verify_report *a,
		struct pal_log_verify_report *b, struct pal_err *err)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/log.vkey", dir);
	uint8_t *vk = NULL;
	size_t len = 0;
	int rc = pal_file_read(path, 4096, &vk, &len, err);
	while (rc == 0 && len > 0 && vk[len - 1] == '\n')
		vk[--len] = '\0';
	if (rc == 0)
		rc = pal_log_verify(dir, (const char *)vk, a, err);
	if (rc == 0) {
		rc = pal_log_verify(mirror, (const char *)vk, b, err);
		if (rc < 0)
			pal_err_wrap(err, rc, "mirror %s: ", mirror);
	}
	free(vk);
	if (rc < 0)
		return rc;
	/* The smaller tree must be a prefix of the larger one. */
	const char *big = a->size >= b->size ? dir : mirror;
	uint64_t small = a->size < b->size ? a->size : b->size;
	const char *small_dir = big == dir ? mirror : dir;
	uint64_t to = 0;
	uint8_t proof[PAL_MERKLE_MAX_PROOF][PAL_MERKLE_HASH_LEN];
	uint8_t r1[PAL_MERKLE_HASH_LEN], r2[PAL_MERKLE_HASH_LEN];
	size_t n = 0;
	struct pal_tile_dir *td = NULL;
	rc = pal_tile_dir_open(big, small, &td, err);
	if (rc == 0) {
		struct pal_hash_reader r = pal_tile_dir_reader(td);
		rc = pal_tile_root(&r, small, r1, err);
	}
	pal_tile_dir_close(td);
	/* The smaller log's own latest root, from its checkpoint history. */
	if (rc == 0)
		rc = pal_log_consistency(small_dir, 0, &to, proof, &n, r2, r2,
					 err);
	if (rc == 0 && memcmp(r1, r2, sizeof(r1)) != 0)
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "split view: at size %llu the log and the "
				 "mirror have different roots",
				 (unsigned long long)small);
	return rc;
}
