/*
 * log_verify.c - recomputing a log from its entries: every tile, every
 * checkpoint ever published, every signature.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "palisade/file.h"
#include "palisade/note.h"
#include "tlog_int.h"

#define NOTE_FILE_MAX (64 * 1024)
#define MAX_CHECKPOINTS 10000000

struct hist {
	uint64_t size;
	uint8_t root[PAL_MERKLE_HASH_LEN];
};

struct vctx {
	int dirfd;
	const char *dir;
	struct pal_note_verifier *v;
	char origin[256];
	struct hist *h;
	size_t n, cap;
};

/* Reads, checks the signature of, and parses one checkpoint file. */
static int
load_checkpoint(struct vctx *c, const char *rel, struct pal_checkpoint **cp,
		struct pal_err *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", c->dir, rel);
	uint8_t *data = NULL;
	size_t len = 0;
	struct pal_note *n = NULL;
	int rc = pal_file_read(path, NOTE_FILE_MAX, &data, &len, err);
	if (rc == 0)
		rc = pal_note_parse(data, len, &n, err);
	if (rc == 0)
		rc = pal_note_verify(n, &c->v, 1, NULL, err);
	if (rc == 0)
		rc = pal_checkpoint_parse(n->text, n->text_len, cp, err);
	if (rc == 0 && strcmp((*cp)->origin, c->v->name) != 0)
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "origin '%s' is not the log key's name",
				 (*cp)->origin);
	if (rc < 0)
		pal_err_wrap(err, rc, "%s: ", rel);
	pal_note_free(n);
	free(data);
	return rc;
}

static int
add_hist(struct vctx *c, const struct pal_checkpoint *cp, struct pal_err *err)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		if (cap > MAX_CHECKPOINTS)
			return pal_err_set(err, PAL_ERR_LIMIT,
					   "more than %d checkpoints",
					   MAX_CHECKPOINTS);
		struct hist *h = realloc(c->h, cap * sizeof(*h));
		if (h == NULL)
			return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		c->h = h;
		c->cap = cap;
	}
	c->h[c->n].size = cp->size;
	memcpy(c->h[c->n].root, cp->root, PAL_MERKLE_HASH_LEN);
	c->n++;
	return 0;
}

static int
cmp_hist(const void *a, const void *b)
{
	const struct hist *x = a, *y = b;
	return x->size < y->size ? -1 : x->size > y->size;
}

/* Every file in checkpoints/, named by its size. */
static int
load_history(struct vctx *c, struct pal_err *err)
{
	int fd = openat(c->dirfd, "checkpoints", O_RDONLY | O_DIRECTORY |
			O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "%s/checkpoints: %s", c->dir,
				   strerror(errno));
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char rel[300];
		snprintf(rel, sizeof(rel), "checkpoints/%s", e->d_name);
		struct pal_checkpoint *cp = NULL;
		rc = load_checkpoint(c, rel, &cp, err);
		char want[32];
		if (rc == 0) {
			snprintf(want, sizeof(want), "%" PRIu64, cp->size);
			if (strcmp(want, e->d_name) != 0)
				rc = pal_err_set(err, PAL_ERR_VERIFY,
						 "%s holds a checkpoint of "
						 "size %s", rel, want);
		}
		if (rc == 0)
			rc = add_hist(c, cp, err);
		pal_checkpoint_free(cp);
	}
	closedir(d);
	if (rc == 0)
		qsort(c->h, c->n, sizeof(*c->h), cmp_hist);
	return rc;
}

/* A full tile the entries produce must be stored exactly so. */
static int
check_full(void *ctx, int level, uint64_t index,
	   const uint8_t (*hashes)[PAL_MERKLE_HASH_LEN], struct pal_err *err)
{
	struct vctx *c = ctx;
	char rel[PAL_TILE_PATH_MAX], path[4096 + PAL_TILE_PATH_MAX];
	int rc = pal_tile_path(level, index, PAL_TILE_WIDTH, rel, sizeof(rel));
	if (rc < 0)
		return pal_err_set(err, rc, "tile path");
	snprintf(path, sizeof(path), "%s/%s", c->dir, rel);
	uint8_t *data = NULL;
	size_t len = 0;
	rc = pal_file_read(path, PAL_TILE_WIDTH * PAL_MERKLE_HASH_LEN, &data,
			   &len, err);
	if (rc == 0 && (len != PAL_TILE_WIDTH * PAL_MERKLE_HASH_LEN ||
			memcmp(data, hashes, len) != 0))
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "%s is not what the entries hash to", rel);
	free(data);
	return rc;
}

/* The partial tiles the final size needs must match the edge too. */
static int
check_partials(struct vctx *c, const struct edge *e, struct pal_err *err)
{
	struct edge *stored = malloc(sizeof(*stored));
	if (stored == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	int rc = edge_load(stored, c->dirfd, e->size, err);
	for (int l = 0; rc == 0 && l < TLOG_LEVELS; l++)
		if (memcmp(stored->h[l], e->h[l],
			   (size_t)e->w[l] * PAL_MERKLE_HASH_LEN) != 0)
			rc = pal_err_set(err, PAL_ERR_VERIFY,
					 "the partial tile of level %d is not "
					 "what the entries hash to", l);
	free(stored);
	return rc;
}

/* Reads bundle b of a tree of size leaves and pushes its leaves. */
static int
push_bundle(struct vctx *c, struct edge *e, uint64_t b, uint64_t size,
	    size_t *hi, struct pal_err *err)
{
	unsigned w = (b + 1) * PAL_TILE_WIDTH <= size ? PAL_TILE_WIDTH :
		(unsigned)(size % PAL_TILE_WIDTH);
	char rel[PAL_TILE_PATH_MAX], path[4096 + PAL_TILE_PATH_MAX];
	int rc = pal_tile_path(PAL_TILE_ENTRIES, b, w, rel, sizeof(rel));
	if (rc < 0)
		return pal_err_set(err, rc, "tile path");
	snprintf(path, sizeof(path), "%s/%s", c->dir, rel);
	uint8_t *data = NULL;
	size_t len = 0, count = 0;
	const uint8_t *ents[PAL_TILE_WIDTH];
	size_t lens[PAL_TILE_WIDTH];
	rc = pal_file_read(path, (size_t)PAL_TILE_WIDTH * (PAL_ENTRY_MAX + 2),
			   &data, &len, err);
	if (rc == 0)
		rc = pal_tile_bundle_parse(data, len, ents, lens, &count, err);
	if (rc == 0 && count != w)
		rc = pal_err_set(err, PAL_ERR_VERIFY, "%s holds %zu entries, "
				 "not %u", rel, count, w);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		uint8_t leaf[PAL_MERKLE_HASH_LEN], root[PAL_MERKLE_HASH_LEN];
		pal_merkle_leaf_hash(ents[i], lens[i], leaf);
		rc = edge_push(e, leaf, check_full, c, err);
		/* Every checkpoint published at this size. */
		while (rc == 0 && *hi < c->n && c->h[*hi].size == e->size) {
			edge_root(e, root);
			if (memcmp(root, c->h[*hi].root, sizeof(root)) != 0)
				rc = pal_err_set(err, PAL_ERR_VERIFY,
						 "checkpoint of size %" PRIu64
						 " is not consistent with the "
						 "log: its root differs",
						 e->size);
			(*hi)++;
		}
	}
	if (rc < 0)
		pal_err_wrap(err, rc, "%s: ", rel);
	free(data);
	return rc;
}

static int
recompute(struct vctx *c, const struct pal_checkpoint *latest,
	  struct pal_err *err)
{
	struct edge *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	size_t hi = 0;
	uint8_t root[PAL_MERKLE_HASH_LEN];
	int rc = 0;
	edge_root(e, root);
	while (hi < c->n && c->h[hi].size == 0) {
		if (memcmp(root, c->h[hi].root, sizeof(root)) != 0)
			rc = pal_err_set(err, PAL_ERR_VERIFY,
					 "the empty checkpoint's root is "
					 "wrong");
		hi++;
	}
	uint64_t bundles = (latest->size + PAL_TILE_WIDTH - 1) /
		PAL_TILE_WIDTH;
	for (uint64_t b = 0; rc == 0 && b < bundles; b++)
		rc = push_bundle(c, e, b, latest->size, &hi, err);
	if (rc == 0) {
		edge_root(e, root);
		if (memcmp(root, latest->root, sizeof(root)) != 0)
			rc = pal_err_set(err, PAL_ERR_VERIFY,
					 "the checkpoint's root is not the "
					 "root of the entries");
	}
	if (rc == 0 && hi < c->n)
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "checkpoint of size %" PRIu64 " is beyond "
				 "the log's %" PRIu64 " entries",
				 c->h[hi].size, latest->size);
	if (rc == 0)
		rc = check_partials(c, e, err);
	free(e);
	return rc;
}

int
pal_log_verify(const char *dir, const char *vkey,
	       struct pal_log_verify_report *r, struct pal_err *err)
{
	memset(r, 0, sizeof(*r));
	struct vctx c = { .dir = dir };
	char path[4096];
	uint8_t *vk = NULL;
	size_t vlen = 0;
	int rc = 0;
	if (vkey == NULL) {
		snprintf(path, sizeof(path), "%s/log.vkey", dir);
		rc = pal_file_read(path, 4096, &vk, &vlen, err);
		while (rc == 0 && vlen > 0 && vk[vlen - 1] == '\n')
			vk[--vlen] = '\0';
		vkey = (const char *)vk;
	}
	if (rc == 0)
		rc = pal_note_verifier_parse(vkey, strlen(vkey), &c.v, err);
	c.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rc == 0 && c.dirfd < 0)
		rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", dir,
				 strerror(errno));
	struct pal_checkpoint *latest = NULL;
	if (rc == 0)
		rc = load_checkpoint(&c, "checkpoint", &latest, err);
	if (rc == 0)
		rc = load_history(&c, err);
	if (rc == 0)
		rc = recompute(&c, latest, err);
	if (rc == 0) {
		r->size = latest->size;
		r->checkpoints = c.n;
		snprintf(r->origin, sizeof(r->origin), "%s", latest->origin);
	}
	pal_checkpoint_free(latest);
	pal_note_verifier_free(c.v);
	free(c.h);
	free(vk);
	if (c.dirfd >= 0)
		close(c.dirfd);
	return rc;
}
