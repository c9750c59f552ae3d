/*
 * tlog_proof.c - times proof generation from a C2SP tile directory.
 *
 * Builds (once) the tiles of a log of SIZE leaves under DIR: only the hash
 * tiles, with synthetic leaf hashes SHA-256(0x00 || uint64be(i)) (the leaf
 * hash of the 8-byte entry i), full and partial tiles at every level, as
 * the log store publishes them; a file DIR/built records the size, so the
 * next run reuses the directory.  Then it times pal_tile_prove_inclusion
 * through pal_tile_dir, after an untimed pass over the same leaves:
 *
 *   random leaves	leaves drawn from the whole log: each proof needs its
 *			own level-0 tile, which no small cache holds, so each
 *			reads an 8 KiB file (from the page cache) and hashes
 *			the 247 interior nodes of its tile the path needs;
 *   cached tiles	leaves drawn from a few random level-0 tiles, few
 *			enough that they, their level-1 tiles and the level-2
 *			tile all stay in the cache: proofs served from memory;
 *   consistency	consistency proofs from random earlier sizes to SIZE.
 *
 * and prints the mean time per proof, by the wall clock and in CPU time
 * (the figure to read on a machine that is busy with other work).  Every
 * timed proof is then checked with pal_merkle_verify_* against the root,
 * so that a broken proof cannot pass for a fast one.
 *
 * Usage: tlog_proof [-n SIZE] [-r PROOFS] [-c CACHE] [-d DIR]
 *
 *   -n  leaves in the log (default 10000000)
 *   -r  proofs per measurement (default 100000)
 *   -c  tiles in the cache (default PAL_TILE_DIR_CACHE, 64)
 *   -d  the tile directory (default build/bench-data/tlog-SIZE, relative
 *       to the current directory: run it from the source tree)
 *
 * Exit status: 0, or 2 if the directory cannot be built or read or a proof
 * does not verify.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "palisade/error.h"
#include "palisade/merkle.h"
#include "palisade/tile.h"

#define HLEN PAL_MERKLE_HASH_LEN
#define MAX_PROOFS 10000000

struct args {
	uint64_t size;
	uint64_t proofs;
	uint64_t cache;
	char dir[1024];
};

static double
clock_secs(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Building the directory */

struct builder {
	const char *dir;
	EVP_MD_CTX *md;
	uint8_t (*up)[HLEN];	/* the roots of this level's full tiles */
};

static void
sha256_parts(EVP_MD_CTX *md, uint8_t prefix, const void *a, size_t na,
	     const void *b, size_t nb, uint8_t out[HLEN])
{
	if (EVP_DigestInit_ex(md, NULL, NULL) != 1 ||
	    EVP_DigestUpdate(md, &prefix, 1) != 1 ||
	    EVP_DigestUpdate(md, a, na) != 1 ||
	    (nb > 0 && EVP_DigestUpdate(md, b, nb) != 1) ||
	    EVP_DigestFinal_ex(md, out, NULL) != 1)
		abort();
}

static void
leaf_hash(EVP_MD_CTX *md, uint64_t i, uint8_t out[HLEN])
{
	uint8_t be[8];

	for (int k = 0; k < 8; k++)
		be[k] = (uint8_t)(i >> (56 - 8 * k));
	sha256_parts(md, 0x00, be, sizeof(be), NULL, 0, out);
}

/* The root of a full tile: 256 hashes hashed up in place. */
static void
tile_root(EVP_MD_CTX *md, uint8_t (*h)[HLEN], uint8_t out[HLEN])
{
	for (size_t n = PAL_TILE_WIDTH; n > 1; n /= 2)
		for (size_t i = 0; i < n / 2; i++)
			sha256_parts(md, 0x01, h[2 * i], HLEN, h[2 * i + 1],
				     HLEN, h[i]);
	memcpy(out, h[0], HLEN);
}

static int
mkdirs_for(char *path)
{
	for (char *s = path + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		int rc = mkdir(path, 0755);
		*s = '/';
		if (rc < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

static int
write_file(char *path, const void *data, size_t len)
{
	int fd;

	if (mkdirs_for(path) < 0 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		       0644)) < 0) {
		fprintf(stderr, "tlog_proof: %s: %s\n", path, strerror(errno));
		return -1;
	}
	ssize_t k = write(fd, data, len);
	if (close(fd) < 0 || k < 0 || (size_t)k != len) {
		fprintf(stderr, "tlog_proof: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

static int
write_tile(struct builder *b, int level, uint64_t n, unsigned w,
	   const uint8_t (*h)[HLEN])
{
	char rel[PAL_TILE_PATH_MAX], path[1200];

	if (pal_tile_path(level, n, w, rel, sizeof(rel)) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", b->dir, rel);
	return write_file(path, h, (size_t)w * HLEN);
}

/*
 * Writes the tiles of one level, whose count hashes are made by get (leaf
 * hashes at level 0, the level below's tile roots above), and keeps the
 * roots of its full tiles for the next level.
 */
static int
build_level(struct builder *b, int level, uint64_t count,
	    const uint8_t (*below)[HLEN])
{
	uint8_t h[PAL_TILE_WIDTH][HLEN];

	for (uint64_t t = 0; t * PAL_TILE_WIDTH < count; t++) {
		unsigned w = pal_tile_width(level, t, count << (8 * level));
		for (unsigned i = 0; i < w; i++) {
			uint64_t at = t * PAL_TILE_WIDTH + i;
			if (below == NULL)
				leaf_hash(b->md, at, h[i]);
			else
				memcpy(h[i], below[at], HLEN);
		}
		if (write_tile(b, level, t, w, (const uint8_t (*)[HLEN])h) < 0)
			return -1;
		if (w == PAL_TILE_WIDTH)
			tile_root(b->md, h, b->up[t]);
	}
	return 0;
}

static int
build_dir(const char *dir, uint64_t size)
{
	struct builder b = { dir, EVP_MD_CTX_new(), NULL };
	uint8_t (*below)[HLEN] = NULL;
	int rc = 0;

	if (b.md == NULL || EVP_DigestInit_ex2(b.md, EVP_sha256(), NULL) != 1)
		return -1;
	for (int level = 0; rc == 0 && (size >> (8 * level)) > 0; level++) {
		uint64_t count = size >> (8 * level);
		b.up = malloc((count / PAL_TILE_WIDTH + 1) * HLEN);
		if (b.up == NULL)
			rc = -1;
		else
			rc = build_level(&b, level, count,
					 (const uint8_t (*)[HLEN])below);
		free(below);
		below = b.up;
		b.up = NULL;
	}
	free(below);
	EVP_MD_CTX_free(b.md);
	return rc;
}

/* Builds dir unless DIR/built says it holds a log of size leaves. */
static int
ensure_dir(const char *dir, uint64_t size, double *secs)
{
	char marker[1200], want[32], have[32] = "";
	FILE *f;

	*secs = 0;
	snprintf(marker, sizeof(marker), "%s/built", dir);
	snprintf(want, sizeof(want), "%" PRIu64 "\n", size);
	if ((f = fopen(marker, "r")) != NULL) {
		if (fgets(have, sizeof(have), f) == NULL)
			have[0] = '\0';
		fclose(f);
		if (strcmp(have, want) == 0)
			return 0;
	}
	double t0 = clock_secs(CLOCK_MONOTONIC);
	if (build_dir(dir, size) < 0 || write_file(marker, want,
						   strlen(want)) < 0)
		return -1;
	*secs = clock_secs(CLOCK_MONOTONIC) - t0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Timing */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t
rnd(uint64_t below)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % below;
}

struct times {
	double wall, cpu;
};

struct run {
	const struct pal_hash_reader *r;
	uint64_t size;
	const uint64_t *x;	/* leaf indices, or old sizes */
	uint64_t n;
	int consistency;
};

/*
 * Generates every proof of the run once, timing it by the wall clock and
 * by the CPU time of this thread (which other work on a busy machine does
 * not inflate); -1 on failure.
 */
static int
generate(const struct run *run, struct times *t)
{
	uint8_t proof[PAL_MERKLE_MAX_PROOF][HLEN];
	struct pal_err err;
	size_t np;
	double w0 = clock_secs(CLOCK_MONOTONIC);
	double c0 = clock_secs(CLOCK_THREAD_CPUTIME_ID);

	for (uint64_t i = 0; i < run->n; i++) {
		int rc = run->consistency ?
			pal_tile_prove_consistency(run->r, run->x[i],
						   run->size, proof, &np,
						   &err) :
			pal_tile_prove_inclusion(run->r, run->x[i], run->size,
						 proof, &np, &err);
		if (rc != 0) {
			fprintf(stderr, "tlog_proof: %s\n", err.msg);
			return -1;
		}
	}
	t->wall = clock_secs(CLOCK_MONOTONIC) - w0;
	t->cpu = clock_secs(CLOCK_THREAD_CPUTIME_ID) - c0;
	return 0;
}

/* Checks every proof of the run against the root (untimed). */
static int
verify(const struct run *run, const uint8_t root[HLEN], EVP_MD_CTX *md)
{
	uint8_t proof[PAL_MERKLE_MAX_PROOF][HLEN], leaf[HLEN], old[HLEN];
	struct pal_err err;
	size_t np;

	for (uint64_t i = 0; i < run->n; i++) {
		uint64_t x = run->x[i];
		int rc;
		if (run->consistency) {
			rc = pal_tile_root(run->r, x, old, &err);
			if (rc == 0)
				rc = pal_tile_prove_consistency(run->r, x,
					run->size, proof, &np, &err);
			if (rc == 0)
				rc = pal_merkle_verify_consistency(x,
					run->size, old, root,
					(const uint8_t (*)[HLEN])proof, np,
					&err);
		} else {
			leaf_hash(md, x, leaf);
			rc = pal_tile_prove_inclusion(run->r, x, run->size,
						      proof, &np, &err);
			if (rc == 0)
				rc = pal_merkle_verify_inclusion(x, run->size,
					leaf, (const uint8_t (*)[HLEN])proof,
					np, root, &err);
		}
		if (rc != 0) {
			fprintf(stderr, "tlog_proof: proof %" PRIu64 ": %s\n",
				x, err.msg);
			return -1;
		}
	}
	return 0;
}

/* A warm-up pass, the timed pass, the check; prints the mean. */
static int
measure(const char *what, const struct run *run, const uint8_t root[HLEN],
	EVP_MD_CTX *md)
{
	struct times t;

	if (generate(run, &t) < 0 || generate(run, &t) < 0 ||
	    verify(run, root, md) < 0)
		return -1;
	printf("%-44s %8.2f us/proof  (CPU %.2f us; %" PRIu64 " proofs)\n",
	       what, t.wall / (double)run->n * 1e6,
	       t.cpu / (double)run->n * 1e6, run->n);
	return 0;
}

static int
parse_count(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' ||
	    v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int
parse_args(int argc, char **argv, struct args *a)
{
	int c, have_dir = 0;

	a->size = 10000000;
	a->proofs = 100000;
	a->cache = PAL_TILE_DIR_CACHE;
	while ((c = getopt(argc, argv, "n:r:c:d:")) != -1) {
		switch (c) {
		case 'n':
			if (parse_count(optarg, 2, UINT64_C(1) << 40,
					&a->size) < 0)
				return -1;
			break;
		case 'r':
			if (parse_count(optarg, 1, MAX_PROOFS, &a->proofs) < 0)
				return -1;
			break;
		case 'c':
			if (parse_count(optarg, 1, PAL_TILE_DIR_CACHE_MAX,
					&a->cache) < 0)
				return -1;
			break;
		case 'd':
			if (strlen(optarg) >= sizeof(a->dir))
				return -1;
			memcpy(a->dir, optarg, strlen(optarg) + 1);
			have_dir = 1;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc)
		return -1;
	if (!have_dir)
		snprintf(a->dir, sizeof(a->dir), "build/bench-data/tlog-%"
			 PRIu64, a->size);
	return 0;
}

/*
 * Leaves from k random level-0 tiles: k small enough that those tiles,
 * one level-1 tile each and the tiles above fit in a cache of c tiles.
 */
static void
cached_leaves(uint64_t *x, uint64_t n, uint64_t size, uint64_t c)
{
	static uint64_t tiles[PAL_TILE_DIR_CACHE_MAX / 2];
	uint64_t k = c > 8 ? (c - 4) / 2 : 1;
	uint64_t full = size / PAL_TILE_WIDTH;

	for (uint64_t i = 0; i < k; i++)
		tiles[i] = rnd(full);
	for (uint64_t i = 0; i < n; i++)
		x[i] = tiles[rnd(k)] * PAL_TILE_WIDTH + rnd(PAL_TILE_WIDTH);
}

static int
run_all(const struct args *a, struct pal_tile_dir *d, EVP_MD_CTX *md)
{
	struct pal_hash_reader r = pal_tile_dir_reader(d);
	uint8_t root[HLEN];
	struct pal_err err;
	uint64_t *x = malloc(a->proofs * sizeof(*x));
	struct run run = { &r, a->size, x, a->proofs, 0 };
	int rc = -1;
	char what[128];

	if (x == NULL)
		return -1;
	if (pal_tile_root(&r, a->size, root, &err) != 0) {
		fprintf(stderr, "tlog_proof: %s\n", err.msg);
		goto out;
	}
	for (uint64_t i = 0; i < a->proofs; i++)
		x[i] = rnd(a->size);
	snprintf(what, sizeof(what), "inclusion, random leaves, %" PRIu64
		 "-tile cache", a->cache);
	if (measure(what, &run, root, md) < 0)
		goto out;
	cached_leaves(x, a->proofs, a->size, a->cache);
	snprintf(what, sizeof(what), "inclusion, leaves of %" PRIu64
		 " cached tiles", a->cache > 8 ? (a->cache - 4) / 2 : 1);
	if (measure(what, &run, root, md) < 0)
		goto out;
	for (uint64_t i = 0; i < a->proofs; i++)
		x[i] = 1 + rnd(a->size - 1);
	run.consistency = 1;
	if (a->proofs > 20000)
		run.n = 20000;	/* each is checked with a root: slow */
	snprintf(what, sizeof(what), "consistency, random old sizes, %" PRIu64
		 "-tile cache", a->cache);
	rc = measure(what, &run, root, md);
out:
	free(x);
	return rc;
}

int
main(int argc, char **argv)
{
	struct args a;
	struct pal_tile_dir *d = NULL;
	struct pal_err err;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	double secs;
	int rc = 2;

	if (parse_args(argc, argv, &a) < 0) {
		fprintf(stderr, "usage: tlog_proof [-n SIZE] [-r PROOFS] "
			"[-c CACHE] [-d DIR]\n");
		return 2;
	}
	if (md == NULL || EVP_DigestInit_ex2(md, EVP_sha256(), NULL) != 1 ||
	    ensure_dir(a.dir, a.size, &secs) < 0)
		goto out;
	printf("tlog_proof: %" PRIu64 " leaves in %s", a.size, a.dir);
	if (secs > 0)
		printf(" (tiles built in %.1f s)", secs);
	printf("\n");
	if (pal_tile_dir_open(a.dir, a.size, &d, &err) != 0 ||
	    pal_tile_dir_set_cache(d, a.cache, &err) != 0) {
		fprintf(stderr, "tlog_proof: %s\n", err.msg);
		goto out;
	}
	if (run_all(&a, d, md) == 0)
		rc = 0;
out:
	pal_tile_dir_close(d);
	EVP_MD_CTX_free(md);
	return rc;
}
