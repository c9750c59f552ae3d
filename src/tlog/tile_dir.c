/*
 * tile_dir.c - full subtree hashes read from the C2SP tiles of a log
 * directory (DIR/tile/<L>/<N>[.p/<W>]), for a tree of a given size.
 *
 * A subtree of height h at index i covers 2^(h%8) consecutive hashes of
 * level L = h/8, the first at position i << (h%8) of that level: in tile
 * (i << (h%8)) >> 8, from offset (i << (h%8)) & 255.  When h is a multiple
 * of 8 that is one stored hash; otherwise the hashes are hashed up inside
 * the tile, and the interior nodes computed are kept with the cached tile
 * (a tile with its seven interior levels is 510 hashes), so that a proof
 * whose tiles are cached costs lookups only.
 *
 * The directory is the log's own, written by this library, but is read as
 * files that anything may have replaced: each must be a regular file of
 * exactly 32 bytes per hash, read with bounded reads into the cache slot,
 * and a file that is longer than its stat said is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "palisade/tile.h"
#include "tile_int.h"

#define HLEN PAL_MERKLE_HASH_LEN

struct pal_tile_dir {
	int fd;			/* the log directory */
	uint64_t size;
	struct tile_hasher hasher;
	struct tile_cache cache;
};

static int
node_done(const struct tile_slot *s, unsigned at)
{
	return (s->done[at / 64] >> (at % 64)) & 1;
}

/*
 * The hash of the subtree of height h (0..7) at index i inside the tile;
 * the caller checked that it is complete: (i + 1) << h <= s->w.
 */
static const uint8_t *
tile_node(struct pal_tile_dir *d, struct tile_slot *s, unsigned h,
	  unsigned i)
{
	unsigned at = TILE_SLOT_OFFSET(h) + i;

	if (h == 0 || node_done(s, at))
		return s->h[at];
	const uint8_t *l = tile_node(d, s, h - 1, 2 * i);
	const uint8_t *r = tile_node(d, s, h - 1, 2 * i + 1);
	tile_hasher_node(&d->hasher, l, r, s->h[at]);
	s->done[at / 64] |= (uint64_t)1 << (at % 64);
	return s->h[at];
}

/*
 * Opens a tile file: regular, exactly bytes long.  *missing is set when
 * there is no such file.
 */
static int
open_tile(struct pal_tile_dir *d, const char *path, size_t bytes,
	  int *missing, struct pal_err *err)
{
	struct stat st;
	int fd = openat(d->fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
			O_NONBLOCK);

	*missing = 0;
	if (fd < 0) {
		*missing = errno == ENOENT;
		return pal_err_set(err, PAL_ERR_IO, "tile %s: %s", path,
				   strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != bytes) {
		close(fd);
		return pal_err_set(err, PAL_ERR_FORMAT, "tile %s is not a "
				   "regular file of %zu bytes", path, bytes);
	}
	return fd;
}

/* Reads exactly bytes into buf, and checks that nothing follows. */
static int
read_exact(int fd, uint8_t *buf, size_t bytes, const char *path,
	   struct pal_err *err)
{
	size_t got = 0;
	uint8_t extra;

	while (got < bytes) {
		ssize_t k = pread(fd, buf + got, bytes - got, (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return pal_err_set(err, k < 0 ? PAL_ERR_IO :
					   PAL_ERR_TRUNCATED, "tile %s: short "
					   "read at %zu of %zu bytes", path, got,
					   bytes);
		got += (size_t)k;
	}
	if (pread(fd, &extra, 1, (off_t)bytes) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "tile %s changed "
				   "while it was read", path);
	return 0;
}

/*
 * Loads tile (level, n) of width w into s: the file the size calls for,
 * or the full tile when a partial one is gone.
 */
static int
load_file(struct pal_tile_dir *d, struct tile_slot *s, int level,
	  uint64_t n, unsigned w, struct pal_err *err)
{
	char path[PAL_TILE_PATH_MAX];
	unsigned fw = w;
	int fd, rc, missing;

	if ((rc = pal_tile_path(level, n, w, path, sizeof(path))) < 0)
		return pal_err_set(err, rc, "tile %d/%llu has no path", level,
				   (unsigned long long)n);
	fd = open_tile(d, path, (size_t)w * HLEN, &missing, err);
	if (fd < 0 && missing && w < PAL_TILE_WIDTH) {
		fw = PAL_TILE_WIDTH;
		(void)pal_tile_path(level, n, fw, path, sizeof(path));
		fd = open_tile(d, path, (size_t)fw * HLEN, &missing, err);
	}
	if (fd < 0)
		return fd;
	rc = read_exact(fd, s->h[0], (size_t)fw * HLEN, path, err);
	close(fd);
	return rc;
}

/* Tile (level, n) of width w, from the cache or from its file. */
static int
get_tile(struct pal_tile_dir *d, int level, uint64_t n, unsigned w,
	 struct tile_slot **out, struct pal_err *err)
{
	struct tile_slot *s = tile_cache_get(&d->cache, level, n, w);
	int rc;

	if (s == NULL) {
		s = tile_cache_take(&d->cache, level);
		if ((rc = load_file(d, s, level, n, w, err)) < 0) {
			tile_cache_drop(&d->cache, s);
			return rc;
		}
		tile_cache_put(&d->cache, s, level, n, w);
	}
	*out = s;
	return 0;
}

static int
dir_read(void *ctx, unsigned height, uint64_t index, uint8_t out[HLEN],
	 struct pal_err *err)
{
	struct pal_tile_dir *d = ctx;

	if (height >= 64 || index >= d->size >> height)
		return pal_err_set(err, PAL_ERR_INVALID, "subtree of height "
				   "%u at index %llu is not complete in a tree "
				   "of size %llu", height,
				   (unsigned long long)index,
				   (unsigned long long)d->size);
	int level = (int)(height / PAL_TILE_HEIGHT);
	unsigned sub = height % PAL_TILE_HEIGHT;
	/* Below size >> (8 * level): the shift cannot wrap. */
	uint64_t first = index << sub;
	uint64_t n = first / PAL_TILE_WIDTH;
	unsigned w = pal_tile_width(level, n, d->size);
	struct tile_slot *s;
	int rc = get_tile(d, level, n, w, &s, err);
	if (rc < 0)
		return rc;
	unsigned pos = (unsigned)(first % PAL_TILE_WIDTH);
	memcpy(out, tile_node(d, s, sub, pos >> sub), HLEN);
	return 0;
}

int
pal_tile_dir_set_cache(struct pal_tile_dir *d, size_t n, struct pal_err *err)
{
	struct tile_cache c;
	int rc;

	if (n == 0 || n > PAL_TILE_DIR_CACHE_MAX)
		return pal_err_set(err, PAL_ERR_INVALID, "a tile cache of %zu "
				   "tiles (1 to %d)", n,
				   PAL_TILE_DIR_CACHE_MAX);
	if ((rc = tile_cache_init(&c, n, err)) < 0)
		return rc;
	tile_cache_free(&d->cache);
	d->cache = c;
	return 0;
}

int
pal_tile_dir_open(const char *dir, uint64_t size, struct pal_tile_dir **out,
		  struct pal_err *err)
{
	struct pal_tile_dir *d;
	int rc;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	d->size = size;
	d->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0) {
		rc = pal_err_set(err, PAL_ERR_IO, "log directory %s: %s", dir,
				 strerror(errno));
		goto out;
	}
	if ((rc = tile_hasher_init(&d->hasher, err)) < 0 ||
	    (rc = pal_tile_dir_set_cache(d, PAL_TILE_DIR_CACHE, err)) < 0)
		goto out;
	*out = d;
	d = NULL;
out:
	pal_tile_dir_close(d);
	return rc;
}

void
pal_tile_dir_close(struct pal_tile_dir *d)
{
	if (d == NULL)
		return;
	if (d->fd >= 0)
		close(d->fd);
	tile_hasher_free(&d->hasher);
	tile_cache_free(&d->cache);
	free(d);
}

void
pal_tile_dir_set_size(struct pal_tile_dir *d, uint64_t size)
{
	d->size = size;
}

struct pal_hash_reader
pal_tile_dir_reader(struct pal_tile_dir *d)
{
	return (struct pal_hash_reader){ .read = dir_read, .ctx = d };
}
