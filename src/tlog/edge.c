/*
 * edge.c - the right edge of a tiled tree: for each level, the hashes of
 * its rightmost (partial) tile.  Appending a leaf fills level 0; a full
 * tile is handed to the caller to store and its root moves up a level.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlog_int.h"

int
edge_push(struct edge *e, const uint8_t leaf[PAL_MERKLE_HASH_LEN],
	  edge_full_fn full, void *ctx, struct pal_err *err)
{
	const uint8_t *h = leaf;
	uint8_t up[PAL_MERKLE_HASH_LEN];
	for (int l = 0; l < TLOG_LEVELS; l++) {
		memcpy(e->h[l][e->w[l]++], h, PAL_MERKLE_HASH_LEN);
		if (e->w[l] < PAL_TILE_WIDTH)
			break;
		/* Level l's tile index: leaves so far / 256^(l+1). */
		uint64_t index = e->size >> (8 * (l + 1));
		int rc = full(ctx, l, index,
			      (const uint8_t (*)[PAL_MERKLE_HASH_LEN])
			      &e->h[l][0], err);
		if (rc < 0) {
			e->w[l]--;
			return rc;
		}
		pal_merkle_root((const uint8_t (*)[PAL_MERKLE_HASH_LEN])
				&e->h[l][0], PAL_TILE_WIDTH, up);
		e->w[l] = 0;
		h = up;
	}
	e->size++;
	return 0;
}

/*
 * The tree's leaves split, left to right, into perfect subtrees of
 * decreasing size: for each level from the top, the held hashes in
 * power-of-two runs.  MTH of the whole is their right fold.
 */
void
edge_root(const struct edge *e, uint8_t out[PAL_MERKLE_HASH_LEN])
{
	uint8_t acc[PAL_MERKLE_HASH_LEN], sub[PAL_MERKLE_HASH_LEN];
	int have = 0;
	/* Fold from the right: the smallest subtrees first. */
	for (int l = 0; l < TLOG_LEVELS; l++) {
		unsigned w = e->w[l], start = w;
		for (int k = 0; k < 8; k++) {
			if (!(w & (1u << k)))
				continue;
			start -= 1u << k;
			pal_merkle_root(&e->h[l][start], 1ull << k, sub);
			if (have)
				pal_merkle_node_hash(sub, acc, acc);
			else
				memcpy(acc, sub, sizeof(acc));
			have = 1;
		}
	}
	if (have)
		memcpy(out, acc, PAL_MERKLE_HASH_LEN);
	else
		pal_merkle_empty_root(out);
}

/* Reads exactly n bytes of a tile file. */
static int
read_tile(int dirfd, const char *path, uint8_t *buf, size_t n,
	  struct pal_err *err)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				   strerror(errno));
	struct stat st;
	ssize_t got = -1;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size == n)
		got = pread(fd, buf, n, 0);
	close(fd);
	if (got != (ssize_t)n)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s: not a tile of %zu hashes", path,
				   n / PAL_MERKLE_HASH_LEN);
	return 0;
}

int
edge_load(struct edge *e, int dirfd, uint64_t size, struct pal_err *err)
{
	memset(e, 0, sizeof(*e));
	e->size = size;
	for (int l = 0; l < TLOG_LEVELS; l++) {
		unsigned w = (unsigned)((size >> (8 * l)) & 0xff);
		e->w[l] = w;
		if (w == 0)
			continue;
		char path[PAL_TILE_PATH_MAX];
		int rc = pal_tile_path(l, size >> (8 * (l + 1)), w, path,
				       sizeof(path));
		if (rc == 0)
			rc = read_tile(dirfd, path, e->h[l][0],
				       (size_t)w * PAL_MERKLE_HASH_LEN, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}
