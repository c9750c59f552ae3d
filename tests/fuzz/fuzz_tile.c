/*
 * fuzz_tile.c - C2SP tiles from raw bytes.  The first byte chooses:
 *
 *   0  a tile path: one that parses must print back to the same text;
 *   1  an entry bundle: one that parses must encode back to the same bytes;
 *   2  a level-0 tile file: byte 1 gives its width (1..255), bit 0 of
 *      byte 2 asks for a full tile file standing in for the partial one,
 *      the rest is the file.  It is written to a scratch directory and
 *      read through pal_tile_dir for a tree of that width: when the file
 *      has the right size the root must be the root of its hashes and
 *      every inclusion and consistency proof must verify; otherwise
 *      reads must fail.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "palisade/tile.h"

#define HLEN PAL_MERKLE_HASH_LEN

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_path(const uint8_t *data, size_t size)
{
	char in[PAL_TILE_PATH_MAX + 16], out[PAL_TILE_PATH_MAX];
	int level;
	uint64_t n;
	unsigned w;

	if (size >= sizeof(in))
		size = sizeof(in) - 1;
	memcpy(in, data, size);
	in[size] = '\0';
	if (pal_tile_path_parse(in, &level, &n, &w, NULL) != 0)
		return;
	if (pal_tile_path(level, n, w, out, sizeof(out)) != 0 ||
	    strcmp(in, out) != 0)
		abort();
	if (pal_tile_width(level, n, UINT64_MAX) > PAL_TILE_WIDTH)
		abort();
}

static void
fuzz_bundle(const uint8_t *data, size_t size)
{
	const uint8_t *e[PAL_TILE_WIDTH];
	size_t lens[PAL_TILE_WIDTH], n;
	struct pal_buf b;

	if (pal_tile_bundle_parse(data, size, e, lens, &n, NULL) != 0)
		return;
	pal_buf_init(&b, size);
	for (size_t i = 0; i < n; i++) {
		if (e[i] < data || lens[i] > (size_t)(data + size - e[i]) ||
		    pal_tile_bundle_add(&b, e[i], lens[i], NULL) != 0)
			abort();
	}
	if (b.len != size || memcmp(b.p, data, size) != 0)
		abort();
	pal_buf_free(&b);
}

static char scratch[256];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(path);
}

static void
rm_scratch(void)
{
	nftw(scratch, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void
make_scratch(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[300];

	snprintf(scratch, sizeof(scratch), "%s/fuzz_tile.XXXXXX",
		 tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL)
		abort();
	atexit(rm_scratch);
	snprintf(dir, sizeof(dir), "%s/tile", scratch);
	if (mkdir(dir, 0700) < 0)
		abort();
	snprintf(dir, sizeof(dir), "%s/tile/0", scratch);
	if (mkdir(dir, 0700) < 0)
		abort();
	snprintf(dir, sizeof(dir), "%s/tile/0/000.p", scratch);
	if (mkdir(dir, 0700) < 0)
		abort();
}

static int
write_tile(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	if (size > 0 && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/* roots[m]: the root of the first m of the w hashes in h. */
static void
prefix_roots(const uint8_t (*h)[HLEN], unsigned w,
	     uint8_t roots[PAL_TILE_WIDTH + 1][HLEN])
{
	uint8_t stack[9][HLEN];
	size_t top = 0;

	for (unsigned i = 0; i < w; i++) {
		memcpy(stack[top++], h[i], HLEN);
		for (unsigned m = i + 1; (m & 1) == 0; m >>= 1) {
			top--;
			pal_merkle_node_hash(stack[top - 1], stack[top],
					     stack[top - 1]);
		}
		memcpy(roots[i + 1], stack[top - 1], HLEN);
		for (size_t k = top - 1; k > 0; k--)
			pal_merkle_node_hash(stack[k - 1], roots[i + 1],
					     roots[i + 1]);
	}
}

/* Every proof of the tree of the w hashes in h verifies. */
static void
check_proofs(const struct pal_hash_reader *r, const uint8_t (*h)[HLEN],
	     unsigned w)
{
	uint8_t roots[PAL_TILE_WIDTH + 1][HLEN], root[HLEN], sub[HLEN];
	uint8_t proof[PAL_MERKLE_MAX_PROOF][HLEN];
	size_t n;

	prefix_roots(h, w, roots);
	pal_merkle_root(h, w, root);
	if (memcmp(roots[w], root, HLEN) != 0 ||
	    pal_tile_root(r, w, sub, NULL) != 0 ||
	    memcmp(sub, root, HLEN) != 0)
		abort();
	for (unsigned i = 0; i < w; i++) {
		if (pal_tile_prove_inclusion(r, i, w, proof, &n, NULL) != 0 ||
		    pal_merkle_verify_inclusion(i, w, h[i],
			(const uint8_t (*)[HLEN])proof, n, root, NULL) != 0)
			abort();
	}
	for (unsigned m = 1; m <= w; m++) {
		if (pal_tile_prove_consistency(r, m, w, proof, &n, NULL) != 0 ||
		    pal_merkle_verify_consistency(m, w, roots[m], root,
			(const uint8_t (*)[HLEN])proof, n, NULL) != 0)
			abort();
	}
}

static void
fuzz_tile_file(const uint8_t *data, size_t size)
{
	char rel[PAL_TILE_PATH_MAX], path[400];
	struct pal_tile_dir *d = NULL;
	uint8_t root[HLEN];

	if (size < 2)
		return;
	/* A tree of 256 would read its root from level 1: stay below. */
	unsigned w = (unsigned)data[0] % (PAL_TILE_WIDTH - 1) + 1;
	unsigned fw = (data[1] & 1) ? PAL_TILE_WIDTH : w;
	data += 2;
	size -= 2;
	if (scratch[0] == '\0')
		make_scratch();
	if (pal_tile_path(0, 0, fw, rel, sizeof(rel)) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/%s", scratch, rel);
	if (write_tile(path, data, size) != 0)
		abort();
	if (pal_tile_dir_open(scratch, w, &d, NULL) != 0)
		abort();
	struct pal_hash_reader r = pal_tile_dir_reader(d);
	int rc = pal_tile_root(&r, w, root, NULL);
	if (size != (size_t)fw * HLEN) {
		if (rc != PAL_ERR_FORMAT)
			abort();
	} else {
		uint8_t h[PAL_TILE_WIDTH][HLEN];
		if (rc != 0)
			abort();
		memcpy(h, data, size);
		check_proofs(&r, (const uint8_t (*)[HLEN])h, w);
	}
	pal_tile_dir_close(d);
	if (unlink(path) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_path(data + 1, size - 1);
		break;
	case 1:
		fuzz_bundle(data + 1, size - 1);
		break;
	default:
		fuzz_tile_file(data + 1, size - 1);
		break;
	}
	return 0;
}
