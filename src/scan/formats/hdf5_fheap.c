/*
 * hdf5_fheap.c - reads objects out of an HDF5 fractal heap, where groups
 * with many members keep their link messages and objects with many (or
 * large) attributes keep their attribute messages ("dense storage").
 *
 * A heap ID names an object in one of three ways: managed (an offset and
 * length in the heap's address space, which is laid out as a "doubly
 * indexed" table of direct blocks under indirect blocks), huge (stored
 * directly in the file, located through the ID itself or a v2 B-tree), or
 * tiny (the bytes are in the ID).  Heaps with I/O filters (compressed
 * blocks) are refused: HDF5 does not write them for links or attributes
 * unless asked, and inflating them is not worth the risk here.
 */
#include <string.h>

#include "hdf5_int.h"

static unsigned
log2_floor(uint64_t n)
{
	unsigned b = 0;

	while (n >>= 1)
		b++;
	return b;
}

static int
is_pow2(uint64_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

static int
fheap_bad(struct h5file *f, uint64_t addr, const char *why)
{
	return h5_err(f, PAL_ERR_FORMAT, "fractal heap at address %llu: %s",
	    (unsigned long long)addr, why);
}

/* Checks the doubly-indexed table's parameters and derives ID widths. */
static int
fheap_derive(struct h5file *f, struct h5fheap *h)
{
	unsigned dir_off_size, man_len_size;

	if (!is_pow2(h->width) || !is_pow2(h->start_block) ||
	    !is_pow2(h->max_direct) || h->max_direct < h->start_block)
		return fheap_bad(f, h->addr, "table width and block sizes must "
		    "be powers of two");
	if (h->max_heap_bits == 0 || h->max_heap_bits > 64 ||
	    log2_floor(h->max_direct) >= h->max_heap_bits)
		return fheap_bad(f, h->addr, "bad maximum heap size");
	if (h->cur_rows > 64 || h->id_len == 0 || h->id_len > 4096)
		return fheap_bad(f, h->addr, "bad row count or heap ID length");
	h->off_size = (h->max_heap_bits + 7u) / 8u;
	dir_off_size = (log2_floor(h->max_direct) + 7u) / 8u;
	man_len_size = log2_floor(h->max_man) / 8u + 1u;
	h->len_size = dir_off_size < man_len_size ? dir_off_size :
	    man_len_size;
	h->first_row_bits = log2_floor(h->start_block) + log2_floor(h->width);
	h->max_direct_rows = log2_floor(h->max_direct) -
	    log2_floor(h->start_block) + 2u;
	h->huge_direct = (unsigned)f->so + f->sl <= h->id_len - 1u;
	if (h->huge_direct)
		h->huge_id_size = (unsigned)f->so + f->sl;
	else
		h->huge_id_size = h->id_len - 1u < 8u ? h->id_len - 1u : 8u;
	return 0;
}

int
h5_fheap_open(struct h5file *f, uint64_t addr, struct h5fheap *h)
{
	struct pal_cur c;
	uint64_t skip;
	unsigned i;
	int r;

	memset(h, 0, sizeof(*h));
	h->addr = addr;
	if ((r = h5_view_open(f, addr, &c, "fractal heap header")) != 0)
		return r;
	if ((r = h5_sig(f, &c, "FRHP", 0, "fractal heap header", addr)) != 0)
		return r;
	if (pal_cur_u16le(&c, &h->id_len) != 0 ||
	    pal_cur_u16le(&c, &h->filter_len) != 0 ||
	    pal_cur_u8(&c, &h->flags) != 0 ||
	    pal_cur_u32le(&c, &h->max_man) != 0 ||
	    h5_len(f, &c, &skip) != 0 || h5_addr(f, &c, &h->huge_bt) != 0)
		goto trunc;
	/* Free space, free-space manager and the object statistics. */
	for (i = 0; i < 10; i++)
		if ((i == 1 ? h5_addr(f, &c, &skip) : h5_len(f, &c, &skip))
		    != 0)
			goto trunc;
	if (pal_cur_u16le(&c, &h->width) != 0 ||
	    h5_len(f, &c, &h->start_block) != 0 ||
	    h5_len(f, &c, &h->max_direct) != 0 ||
	    pal_cur_u16le(&c, &h->max_heap_bits) != 0 ||
	    pal_cur_skip(&c, 2) != 0 || h5_addr(f, &c, &h->root) != 0 ||
	    pal_cur_u16le(&c, &h->cur_rows) != 0)
		goto trunc;
	if (h->filter_len != 0)
		return h5_err(f, PAL_ERR_UNSUPPORTED, "fractal heap at address "
		    "%llu uses I/O filters (compressed blocks); not supported",
		    (unsigned long long)addr);
	if ((r = h5_checksum(f, &c, 0, "fractal heap header", addr)) != 0)
		return r;
	return fheap_derive(f, h);
trunc:
	return h5_err(f, PAL_ERR_TRUNCATED, "fractal heap header at address "
	    "%llu is truncated", (unsigned long long)addr);
}

/* Heap space covered by one block of row r. */
static int
row_size(const struct h5fheap *h, unsigned r, uint64_t *size)
{
	unsigned shift = r == 0 ? 0 : r - 1;

	if (shift >= 64 || h->start_block > (UINT64_MAX >> shift))
		return PAL_ERR_FORMAT;
	*size = h->start_block << shift;
	return 0;
}

/* The object [off, off + len) in the direct block at addr. */
static int
direct_get(struct h5file *f, const struct h5fheap *h, uint64_t addr,
    uint64_t size, uint64_t blk_off, uint64_t off, uint64_t len,
    struct pal_cur *obj)
{
	struct pal_cur c;
	uint64_t heap, got_off, rel;
	size_t hdr;
	int r;

	if ((r = h5_view(f, addr, size, &c, "fractal heap direct block")) != 0)
		return r;
	if ((r = h5_sig(f, &c, "FHDB", 0, "fractal heap direct block", addr))
	    != 0)
		return r;
	if (h5_addr(f, &c, &heap) != 0 || h5_uint(&c, h->off_size, &got_off))
		return h5_err(f, PAL_ERR_TRUNCATED, "fractal heap direct block "
		    "at address %llu is truncated", (unsigned long long)addr);
	if (heap != h->addr || got_off != blk_off)
		return h5_err(f, PAL_ERR_FORMAT, "fractal heap direct block at "
		    "address %llu belongs to heap %llu at offset %llu, not "
		    "heap %llu at offset %llu", (unsigned long long)addr,
		    (unsigned long long)heap, (unsigned long long)got_off,
		    (unsigned long long)h->addr,
		    (unsigned long long)blk_off);
	hdr = c.off + ((h->flags & 0x02) ? 4u : 0u);
	rel = off - blk_off;
	if (rel < hdr || rel > size || len > size - rel)
		return h5_err(f, PAL_ERR_FORMAT, "fractal heap object at heap "
		    "offset %llu (%llu bytes) does not lie within the data of "
		    "its direct block at address %llu",
		    (unsigned long long)off, (unsigned long long)len,
		    (unsigned long long)addr);
	pal_cur_seek(&c, (size_t)rel);
	return pal_cur_sub(&c, (size_t)len, obj);
}

/* Finds the row and column of the block covering heap offset rel. */
static int
find_entry(const struct h5fheap *h, unsigned nrows, uint64_t rel,
    unsigned *row, uint64_t *col, uint64_t *bsize, uint64_t *start)
{
	uint64_t span, acc = 0;
	unsigned r;

	for (r = 0; r < nrows; r++) {
		if (row_size(h, r, bsize) != 0 ||
		    *bsize > UINT64_MAX / h->width)
			return PAL_ERR_FORMAT;
		span = *bsize * h->width;
		if (rel - acc < span) {
			*row = r;
			*col = (rel - acc) / *bsize;
			*start = acc + *col * *bsize;
			return 0;
		}
		if (span > UINT64_MAX - acc)
			return PAL_ERR_FORMAT;
		acc += span;
	}
	return PAL_ERR_FORMAT;
}

/* Descends indirect blocks from the root to the direct block of off. */
static int
verified(struct h5fheap *h, uint64_t addr)
{
	unsigned i;

	for (i = 0; i < h->nverified && i < H5_FHIB_CACHE; i++)
		if (h->verified[i] == addr)
			return 1;
	h->verified[h->nverified++ % H5_FHIB_CACHE] = addr;
	return 0;
}

static int
managed_get(struct h5file *f, struct h5fheap *h, uint64_t off,
    uint64_t len, struct pal_cur *obj)
{
	uint64_t addr = h->root, blk_off = 0, heap, got_off, col, bsize;
	uint64_t start, child;
	unsigned nrows = h->cur_rows, row, depth;
	struct pal_cur c;
	int r;

	if (nrows == 0)
		return direct_get(f, h, addr, h->start_block, 0, off, len, obj);
	for (depth = 0; depth < H5_MAX_TREE_DEPTH; depth++) {
		if ((r = h5_step(f)) != 0)
			return r;
		if ((r = h5_view_open(f, addr, &c, "fractal heap indirect "
		    "block")) != 0 || (r = h5_sig(f, &c, "FHIB", 0,
		    "fractal heap indirect block", addr)) != 0)
			return r;
		if (h5_addr(f, &c, &heap) != 0 ||
		    h5_uint(&c, h->off_size, &got_off) != 0)
			goto trunc;
		if (heap != h->addr || got_off != blk_off)
			return h5_err(f, PAL_ERR_FORMAT, "fractal heap indirect "
			    "block at address %llu is not the one of heap %llu "
			    "at offset %llu", (unsigned long long)addr,
			    (unsigned long long)h->addr,
			    (unsigned long long)blk_off);
		if (find_entry(h, nrows, off - blk_off, &row, &col, &bsize,
		    &start) != 0)
			return h5_err(f, PAL_ERR_FORMAT, "fractal heap offset "
			    "%llu is outside the indirect block at address %llu",
			    (unsigned long long)off, (unsigned long long)addr);
		/* Unfiltered entries are one address each, checksum after. */
		if ((uint64_t)nrows * h->width > (pal_cur_left(&c) / f->so))
			goto trunc;
		{
			size_t entries = c.off;

			pal_cur_skip(&c, (size_t)nrows * h->width * f->so);
			if (verified(h, addr))
				r = pal_cur_skip(&c, 4) == 0 ? 0 : h5_err(f,
				    PAL_ERR_TRUNCATED, "fractal heap indirect "
				    "block at address %llu is truncated",
				    (unsigned long long)addr);
			else
				r = h5_checksum(f, &c, 0, "fractal heap "
				    "indirect block", addr);
			if (r != 0)
				return r;
			pal_cur_seek(&c, entries + (size_t)(row * h->width +
			    col) * f->so);
		}
		if (h5_addr(f, &c, &child) != 0)
			goto trunc;
		if (child == H5_UNDEF)
			return h5_err(f, PAL_ERR_FORMAT, "fractal heap offset "
			    "%llu lies in a block that was never allocated",
			    (unsigned long long)off);
		if (row < h->max_direct_rows)
			return direct_get(f, h, child, bsize, blk_off + start,
			    off, len, obj);
		addr = child;
		blk_off += start;
		if (log2_floor(bsize) < h->first_row_bits)
			return fheap_bad(f, h->addr, "indirect block smaller than "
			    "a row");
		nrows = log2_floor(bsize) - h->first_row_bits + 1;
	}
	return h5_err(f, PAL_ERR_LIMIT, "fractal heap at address %llu nests "
	    "indirect blocks deeper than %d", (unsigned long long)h->addr,
	    H5_MAX_TREE_DEPTH);
trunc:
	return h5_err(f, PAL_ERR_TRUNCATED, "fractal heap indirect block at "
	    "address %llu is truncated", (unsigned long long)addr);
}

struct huge_find {
	uint64_t id, addr, len;
	int found;
};

static int
huge_rec(struct h5file *f, void *arg, struct pal_cur *rec)
{
	struct huge_find *hf = arg;
	uint64_t a, l, id;

	if (h5_addr(f, rec, &a) != 0 || h5_len(f, rec, &l) != 0 ||
	    h5_len(f, rec, &id) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "huge object record is "
		    "truncated");
	if (id == hf->id && !hf->found) {
		hf->addr = a;
		hf->len = l;
		hf->found = 1;
	}
	return 0;
}

static int
huge_get(struct h5file *f, const struct h5fheap *h, struct pal_cur *id,
    struct pal_cur *obj)
{
	struct huge_find hf;
	int r;

	memset(&hf, 0, sizeof(hf));
	if (h->huge_direct) {
		if (h5_addr(f, id, &hf.addr) != 0 || h5_len(f, id, &hf.len) != 0)
			return h5_err(f, PAL_ERR_TRUNCATED, "huge object heap "
			    "ID is truncated");
		return h5_view(f, hf.addr, hf.len, obj, "huge heap object");
	}
	if (h5_uint(id, h->huge_id_size, &hf.id) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "huge object heap ID is "
		    "truncated");
	if ((r = h5_btree2(f, h->huge_bt, 1, huge_rec, &hf)) != 0)
		return r;
	if (!hf.found)
		return h5_err(f, PAL_ERR_FORMAT, "huge object %llu of the "
		    "fractal heap at address %llu is not in its index",
		    (unsigned long long)hf.id, (unsigned long long)h->addr);
	return h5_view(f, hf.addr, hf.len, obj, "huge heap object");
}

int
h5_fheap_get(struct h5file *f, struct h5fheap *h, const uint8_t *id,
    size_t n, struct pal_cur *obj)
{
	struct pal_cur c;
	uint64_t off, len;
	uint8_t flags, b1;

	pal_cur_init(&c, id, n);
	if (pal_cur_u8(&c, &flags) != 0 || (flags >> 6) != 0)
		return h5_err(f, PAL_ERR_FORMAT, "fractal heap ID of version "
		    "%u", n > 0 ? id[0] >> 6 : 0);
	switch ((flags >> 4) & 3) {
	case 0:
		if (h5_uint(&c, h->off_size, &off) != 0 ||
		    h5_uint(&c, h->len_size, &len) != 0)
			return h5_err(f, PAL_ERR_TRUNCATED, "managed object "
			    "heap ID is truncated");
		return managed_get(f, h, off, len, obj);
	case 1:
		return huge_get(f, h, &c, obj);
	case 2:
		/* Tiny: the object is the ID's remaining bytes. */
		len = (flags & 0x0f) + 1u;
		if (h->id_len > 18) {
			if (pal_cur_u8(&c, &b1) != 0)
				return PAL_ERR_TRUNCATED;
			len = (((uint64_t)(flags & 0x0f) << 8) | b1) + 1u;
		}
		if (pal_cur_sub(&c, (size_t)(len > n ? n + 1 : len), obj) != 0)
			return h5_err(f, PAL_ERR_FORMAT, "tiny heap object of "
			    "%llu bytes does not fit its %zu-byte ID",
			    (unsigned long long)len, n);
		return 0;
	default:
		return h5_err(f, PAL_ERR_FORMAT, "fractal heap ID of unknown "
		    "type %u", (flags >> 4) & 3);
	}
}
