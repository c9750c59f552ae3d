/*
 * hdf5_btree.c - walks the two B-tree kinds that index HDF5 groups and
 * attributes: version 1 B-trees of symbol-table nodes (the members of a
 * group in files written for HDF5 1.6 compatibility, h5py's default) and
 * version 2 B-trees (the name indexes of dense link and attribute storage,
 * and of huge fractal-heap objects).
 *
 * A B-tree from a hostile file may point back at itself or share nodes.
 * v1 node levels must fall by one per step down, and v2 depth does too, so
 * a walk ends; shared subtrees are paid for from the step budget, and a v2
 * walk must find exactly the records its header counts.
 */
#include <string.h>

#include "hdf5_int.h"

/* --- version 1: symbol-table groups ------------------------------------ */

struct v1walk {
	h5_sym_fn fn;
	void *arg;
	struct h5lheap heap;
};

static int
snod(struct h5file *f, struct v1walk *w, uint64_t addr)
{
	struct pal_cur c;
	uint64_t name_off, ohdr;
	uint32_t cache, reserved;
	uint16_t i, nsym;
	const char *name;
	size_t n;
	int r;

	if ((r = h5_view_open(f, addr, &c, "symbol table node")) != 0)
		return r;
	if ((r = h5_sig(f, &c, "SNOD", 1, "symbol table node", addr)) != 0)
		return r;
	if (pal_cur_skip(&c, 1) != 0 || pal_cur_u16le(&c, &nsym) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "symbol table node at "
		    "address %llu is truncated", (unsigned long long)addr);
	if (nsym > 2u * f->sym_leaf_k)
		return h5_err(f, PAL_ERR_FORMAT, "symbol table node at address "
		    "%llu holds %u entries, more than 2K = %u", (unsigned long
		    long)addr, nsym, 2u * f->sym_leaf_k);
	for (i = 0; i < nsym; i++) {
		if ((r = h5_step(f)) != 0)
			return r;
		if (h5_uint(&c, f->so, &name_off) != 0 ||
		    h5_addr(f, &c, &ohdr) != 0 ||
		    pal_cur_u32le(&c, &cache) != 0 ||
		    pal_cur_u32le(&c, &reserved) != 0 ||
		    pal_cur_skip(&c, 16) != 0)
			return h5_err(f, PAL_ERR_TRUNCATED, "symbol table node "
			    "at address %llu ends inside entry %u",
			    (unsigned long long)addr, i);
		if ((r = h5_lheap_str(f, &w->heap, name_off, &name, &n)) != 0)
			return r;
		if ((r = w->fn(f, w->arg, name, n, ohdr, cache)) != 0)
			return r;
	}
	return 0;
}

static int
v1node(struct h5file *f, struct v1walk *w, uint64_t addr, int level)
{
	struct pal_cur c;
	const uint8_t *sig;
	uint8_t type, lvl;
	uint16_t i, used;
	uint64_t key, child;
	int r;

	if ((r = h5_step(f)) != 0)
		return r;
	if ((r = h5_view_open(f, addr, &c, "group B-tree node")) != 0)
		return r;
	if (pal_cur_bytes(&c, 4, &sig) != 0 || pal_cur_u8(&c, &type) != 0 ||
	    pal_cur_u8(&c, &lvl) != 0 || pal_cur_u16le(&c, &used) != 0 ||
	    pal_cur_skip(&c, 2u * f->so) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "group B-tree node at "
		    "address %llu is truncated", (unsigned long long)addr);
	if (memcmp(sig, "TREE", 4) != 0 || type != 0)
		return h5_err(f, PAL_ERR_FORMAT, "group B-tree node at address "
		    "%llu lacks its signature or is not a group node",
		    (unsigned long long)addr);
	/* The root may have any level; each child is one level lower. */
	if ((level >= 0 && lvl != level) || lvl > H5_MAX_TREE_DEPTH)
		return h5_err(f, PAL_ERR_FORMAT, "group B-tree node at address "
		    "%llu has level %u where %d was expected",
		    (unsigned long long)addr, lvl, level);
	if (used > 2u * f->sym_node_k)
		return h5_err(f, PAL_ERR_FORMAT, "group B-tree node at address "
		    "%llu has %u children, more than 2K = %u",
		    (unsigned long long)addr, used, 2u * f->sym_node_k);
	for (i = 0; i < used; i++) {
		if (h5_len(f, &c, &key) != 0 || h5_addr(f, &c, &child) != 0)
			return h5_err(f, PAL_ERR_TRUNCATED, "group B-tree node "
			    "at address %llu ends inside child %u",
			    (unsigned long long)addr, i);
		r = lvl == 0 ? snod(f, w, child) : v1node(f, w, child, lvl - 1);
		if (r != 0)
			return r;
	}
	return 0;
}

int
h5_group_v1(struct h5file *f, uint64_t btree, uint64_t heap, h5_sym_fn fn,
    void *arg)
{
	struct v1walk w;
	int r;

	w.fn = fn;
	w.arg = arg;
	if ((r = h5_lheap_open(f, heap, &w.heap)) != 0)
		return r;
	return v1node(f, &w, btree, -1);
}

/* --- version 2 --------------------------------------------------------- */

/* Signature, version, type and checksum around every node's contents. */
#define BT2_PREFIX 10

struct bt2 {
	uint64_t addr;
	uint8_t type;
	uint32_t node_size;
	uint16_t rec_size;
	uint16_t depth;
	uint64_t max_nrec[H5_MAX_TREE_DEPTH + 1];
	unsigned cum_size[H5_MAX_TREE_DEPTH + 1];
	unsigned nrec_size;
	uint64_t total, found;
	h5_rec_fn fn;
	void *arg;
};

/* floor(log2(n)) for n > 0, 0 for 0, as HDF5's H5VM_log2_gen. */
static unsigned
log2_floor(uint64_t n)
{
	unsigned b = 0;

	while (n >>= 1)
		b++;
	return b;
}

/* Bytes HDF5 uses to encode counts up to n (H5VM_limit_enc_size). */
static unsigned
enc_size(uint64_t n)
{
	return log2_floor(n) / 8 + 1;
}

/*
 * Derives the per-depth node capacities and the widths of the record
 * counts in internal nodes exactly as HDF5 does (H5B2__hdr_init): the
 * node layout depends on them.
 */
static int
bt2_layout(struct h5file *f, struct bt2 *t)
{
	uint64_t cum, ptr, room;
	unsigned d;

	if (t->rec_size == 0 || t->node_size <= BT2_PREFIX ||
	    (t->max_nrec[0] = (t->node_size - BT2_PREFIX) / t->rec_size) == 0)
		return h5_err(f, PAL_ERR_FORMAT, "v2 B-tree at address %llu has "
		    "node size %u and record size %u, which hold no record",
		    (unsigned long long)t->addr, t->node_size, t->rec_size);
	t->nrec_size = enc_size(t->max_nrec[0]);
	cum = t->max_nrec[0];
	t->cum_size[0] = 0;
	for (d = 1; d <= t->depth; d++) {
		ptr = f->so + t->nrec_size + (d > 1 ? t->cum_size[d - 1] : 0);
		room = t->node_size > BT2_PREFIX + ptr ?
		    t->node_size - BT2_PREFIX - ptr : 0;
		t->max_nrec[d] = room / (t->rec_size + ptr);
		if (t->max_nrec[d] == 0 ||
		    cum > (UINT64_MAX - t->max_nrec[d]) / (t->max_nrec[d] + 1))
			return h5_err(f, PAL_ERR_FORMAT, "v2 B-tree at address "
			    "%llu is %u levels deep, more than its node size "
			    "%u allows", (unsigned long long)t->addr,
			    t->depth, t->node_size);
		cum = (t->max_nrec[d] + 1) * cum + t->max_nrec[d];
		t->cum_size[d] = enc_size(cum);
	}
	return 0;
}

static int bt2_node(struct h5file *f, struct bt2 *t, uint64_t addr,
    unsigned depth, uint64_t nrec);

static int
bt2_children(struct h5file *f, struct bt2 *t, struct pal_cur *c,
    unsigned depth, uint64_t nrec, uint64_t addr)
{
	uint64_t i, child, cn, ctotal;
	int r;

	for (i = 0; i <= nrec; i++) {
		if (h5_addr(f, c, &child) != 0 ||
		    h5_uint(c, t->nrec_size, &cn) != 0 ||
		    (depth > 1 && h5_uint(c, t->cum_size[depth - 1],
		    &ctotal) != 0))
			return h5_err(f, PAL_ERR_TRUNCATED, "v2 B-tree node at "
			    "address %llu is truncated",
			    (unsigned long long)addr);
		if ((r = bt2_node(f, t, child, depth - 1, cn)) != 0)
			return r;
	}
	return 0;
}

static int
bt2_node(struct h5file *f, struct bt2 *t, uint64_t addr, unsigned depth,
    uint64_t nrec)
{
	const char *what = depth == 0 ? "v2 B-tree leaf" : "v2 B-tree node";
	struct pal_cur c, rec;
	size_t recs_at;
	uint64_t i, ptrs;
	uint8_t type;
	int r;

	if ((r = h5_step(f)) != 0)
		return r;
	if (nrec > t->max_nrec[depth])
		return h5_err(f, PAL_ERR_FORMAT, "%s at address %llu is said "
		    "to hold %llu records, more than its %llu", what,
		    (unsigned long long)addr, (unsigned long long)nrec,
		    (unsigned long long)t->max_nrec[depth]);
	if ((r = h5_view(f, addr, t->node_size, &c, what)) != 0)
		return r;
	if ((r = h5_sig(f, &c, depth == 0 ? "BTLF" : "BTIN", 0, what, addr))
	    != 0)
		return r;
	if (pal_cur_u8(&c, &type) != 0 || type != t->type)
		return h5_err(f, PAL_ERR_FORMAT, "%s at address %llu has "
		    "record type %u, not the tree's %u", what,
		    (unsigned long long)addr, type, t->type);
	recs_at = c.off;
	/* nrec <= max_nrec, so records and pointers fit in the node. */
	ptrs = depth == 0 ? 0 : (nrec + 1) * (f->so + t->nrec_size +
	    (depth > 1 ? t->cum_size[depth - 1] : 0));
	if ((r = pal_cur_seek(&c, recs_at + nrec * t->rec_size + ptrs)) != 0 ||
	    (r = h5_checksum(f, &c, 0, what, addr)) != 0)
		return r == PAL_ERR_TRUNCATED ? h5_err(f, r, "%s at address "
		    "%llu is truncated", what, (unsigned long long)addr) : r;
	pal_cur_seek(&c, recs_at);
	for (i = 0; i < nrec; i++) {
		if (++t->found > t->total)
			return h5_err(f, PAL_ERR_FORMAT, "v2 B-tree at address "
			    "%llu holds more records than the %llu its "
			    "header counts", (unsigned long long)t->addr,
			    (unsigned long long)t->total);
		if ((r = h5_step(f)) != 0 ||
		    (r = pal_cur_sub(&c, t->rec_size, &rec)) != 0 ||
		    (r = t->fn(f, t->arg, &rec)) != 0)
			return r;
	}
	if (depth == 0)
		return 0;
	return bt2_children(f, t, &c, depth, nrec, addr);
}

int
h5_btree2(struct h5file *f, uint64_t addr, uint8_t type, h5_rec_fn fn,
    void *arg)
{
	struct pal_cur c;
	struct bt2 t;
	uint64_t root;
	uint16_t root_nrec;
	uint8_t split, merge;
	int r;

	memset(&t, 0, sizeof(t));
	t.addr = addr;
	t.fn = fn;
	t.arg = arg;
	if ((r = h5_view_open(f, addr, &c, "v2 B-tree header")) != 0)
		return r;
	if ((r = h5_sig(f, &c, "BTHD", 0, "v2 B-tree header", addr)) != 0)
		return r;
	if (pal_cur_u8(&c, &t.type) != 0 ||
	    pal_cur_u32le(&c, &t.node_size) != 0 ||
	    pal_cur_u16le(&c, &t.rec_size) != 0 ||
	    pal_cur_u16le(&c, &t.depth) != 0 || pal_cur_u8(&c, &split) != 0 ||
	    pal_cur_u8(&c, &merge) != 0 || h5_addr(f, &c, &root) != 0 ||
	    pal_cur_u16le(&c, &root_nrec) != 0 || h5_len(f, &c, &t.total) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "v2 B-tree header at "
		    "address %llu is truncated", (unsigned long long)addr);
	if ((r = h5_checksum(f, &c, 0, "v2 B-tree header", addr)) != 0)
		return r;
	if (t.type != type)
		return h5_err(f, PAL_ERR_FORMAT, "v2 B-tree at address %llu "
		    "indexes records of type %u where type %u was expected",
		    (unsigned long long)addr, t.type, type);
	if (t.depth > H5_MAX_TREE_DEPTH)
		return h5_err(f, PAL_ERR_LIMIT, "v2 B-tree at address %llu is "
		    "%u levels deep", (unsigned long long)addr, t.depth);
	if (root == H5_UNDEF)
		return t.total == 0 ? 0 : h5_err(f, PAL_ERR_FORMAT, "v2 B-tree "
		    "at address %llu counts %llu records but has no root",
		    (unsigned long long)addr, (unsigned long long)t.total);
	if ((r = bt2_layout(f, &t)) != 0)
		return r;
	if ((r = bt2_node(f, &t, root, t.depth, root_nrec)) != 0)
		return r;
	if (t.found != t.total)
		return h5_err(f, PAL_ERR_FORMAT, "v2 B-tree at address %llu "
		    "holds %llu records, not the %llu its header counts",
		    (unsigned long long)addr, (unsigned long long)t.found,
		    (unsigned long long)t.total);
	return 0;
}
