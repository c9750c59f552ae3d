/*
 * hdf5.c - scans HDF5 files: Keras 2 .h5 models, whose model_config and
 * training_config attributes on the root group describe the model (and
 * may carry Lambda bytecode), Keras 3 model.weights.h5 members of .keras
 * archives, and any HDF5 file for links and storage that reach outside it.
 *
 * Why a reader of our own rather than libhdf5: libhdf5 has a long record
 * of memory-safety bugs on malformed files (dozens of CVEs in its object
 * header, B-tree, heap and datatype decoders), it follows external links
 * and external storage by itself, and it is large.  We need few
 * structures: the superblock (versions 0 to 3), object headers (versions
 * 1 and 2 with continuations), attribute messages with string values (and
 * the global heap behind variable-length strings), and group membership
 * (symbol tables: v1 B-tree and local heap; compact link messages; dense
 * links and attributes: fractal heap and v2 B-tree).  Everything else in
 * an object header is skipped by its declared size, which is checked.
 *
 * The whole object graph reachable from the root group is visited once
 * (hard links to visited objects are not followed again), so that every
 * group and dataset is checked for external links, external raw-data
 * files and virtual datasets.  Dataset contents are never read.  A
 * structure this reader does not handle ends in an error naming it and
 * its address, never in a clean result.  See docs/formats/hdf5.md.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/buf.h"
#include "hdf5_int.h"
#include "keras.h"

static const char h5_magic[8] = { '\x89', 'H', 'D', 'F', '\r', '\n', '\x1a',
    '\n' };

const struct pal_rule pal_rules_hdf5[] = {
	{ "hdf5.external-link", PAL_SEV_HIGH,
	  "An HDF5 group links to an object in another file, which HDF5 "
	  "opens when the link is followed." },
	{ "hdf5.external-storage", PAL_SEV_HIGH,
	  "An HDF5 dataset keeps its raw data in external files named by "
	  "path, which HDF5 reads when the dataset is read." },
	{ "hdf5.virtual-dataset", PAL_SEV_HIGH,
	  "An HDF5 virtual dataset maps data from other datasets, possibly "
	  "in other files, which HDF5 opens when the dataset is read." },
	{ NULL, 0, NULL },
};

static int verify_sums = 1;

void
pal_hdf5_set_verify_checksums(int on)
{
	verify_sums = on;
}

/* Strings quoted from the file in findings are cut at this length. */
#define H5_QUOTE 200

/* One object being visited, and the group structures its header names. */
struct h5obj {
	uint64_t addr;
	unsigned depth;
	int is_root;
	int has_stab;
	uint64_t stab_bt, stab_heap;
	int has_linfo;
	uint64_t link_heap, link_bt;
	int has_ainfo;
	uint64_t attr_heap, attr_bt;
};

static int visit(struct h5file *f, uint64_t addr, unsigned depth,
    int is_root);

/* --- the set of visited object headers --------------------------------- */

static size_t
seen_slot(uint64_t addr, size_t cap)
{
	addr ^= addr >> 29;
	addr *= 0x9e3779b97f4a7c15ull;
	return (size_t)(addr >> 17) & (cap - 1);
}

static int
seen_grow(struct h5file *f)
{
	size_t ncap = f->capseen ? f->capseen * 2 : 256, i, j;
	uint64_t *n;

	if ((n = malloc(ncap * sizeof(*n))) == NULL)
		return PAL_ERR_NOMEM;
	for (i = 0; i < ncap; i++)
		n[i] = H5_UNDEF;
	for (i = 0; i < f->capseen; i++) {
		if (f->seen[i] == H5_UNDEF)
			continue;
		for (j = seen_slot(f->seen[i], ncap); n[j] != H5_UNDEF;
		    j = (j + 1) & (ncap - 1))
			;
		n[j] = f->seen[i];
	}
	free(f->seen);
	f->seen = n;
	f->capseen = ncap;
	return 0;
}

/* Adds addr; *fresh says whether it was new. */
static int
seen_add(struct h5file *f, uint64_t addr, int *fresh)
{
	size_t j;
	int r;

	*fresh = 0;
	if (f->nseen * 2 >= f->capseen && (r = seen_grow(f)) != 0)
		return r;
	for (j = seen_slot(addr, f->capseen); f->seen[j] != H5_UNDEF;
	    j = (j + 1) & (f->capseen - 1))
		if (f->seen[j] == addr)
			return 0;
	if (f->nseen >= f->max_objects)
		return h5_err(f, PAL_ERR_LIMIT, "more than %zu objects",
		    f->max_objects);
	f->seen[j] = addr;
	f->nseen++;
	*fresh = 1;
	return 0;
}

/* --- object paths, for locations --------------------------------------- */

/* Appends s to the path; a path that would overflow ends in "...". */
static int
path_put(struct h5file *f, const char *s)
{
	size_t n = strlen(s);

	if (f->plen >= 3 && memcmp(f->path + f->plen - 3, "...", 3) == 0)
		return -1;
	if (f->plen + n + 4 > sizeof(f->path)) {
		memcpy(f->path + f->plen, "...", 4);
		f->plen += 3;
		return -1;
	}
	memcpy(f->path + f->plen, s, n + 1);
	f->plen += n;
	return 0;
}

/* Appends "/name" to the current path, escaped; returns the old length. */
static size_t
path_push(struct h5file *f, const char *name, size_t n)
{
	size_t old = f->plen, i;
	char tmp[8];

	if (f->plen > 0 && f->path[f->plen - 1] != '/' &&
	    path_put(f, "/") != 0)
		return old;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			tmp[0] = (char)ch;
			tmp[1] = '\0';
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", ch);
		}
		if (path_put(f, tmp) != 0)
			break;
	}
	return old;
}

static void
path_pop(struct h5file *f, size_t old)
{
	f->plen = old;
	f->path[old] = '\0';
}

/* --- links ------------------------------------------------------------- */

static int
report_external(struct h5file *f, const char *name, size_t n,
    struct pal_cur *info)
{
	const char *file, *obj;
	size_t fn, on;
	uint8_t vf;

	if (pal_cur_u8(info, &vf) != 0 || (vf >> 4) != 0)
		return h5_err(f, PAL_ERR_FORMAT, "external link '%.*s' in group "
		    "'%s' has an unknown encoding", (int)(n > 64 ? 64 : n),
		    name, f->path);
	if (h5_cstr(info, &file, &fn) != 0 || h5_cstr(info, &obj, &on) != 0)
		return h5_err(f, PAL_ERR_FORMAT, "external link '%.*s' in group "
		    "'%s': file or object name is not terminated",
		    (int)(n > 64 ? 64 : n), name, f->path);
	return pal_scan_find(f->s, f->it, "hdf5.external-link", f->path,
	    "link '%.*s' points to object '%.*s' in file '%.*s', which HDF5 "
	    "opens when the link is followed", (int)(n > H5_QUOTE ? H5_QUOTE :
	    n), name, (int)(on > H5_QUOTE ? H5_QUOTE : on), obj,
	    (int)(fn > H5_QUOTE ? H5_QUOTE : fn), file);
}

/* A link message (compact in a header, or dense in a fractal heap). */
static int
handle_link(struct h5file *f, struct h5obj *o, struct pal_cur *b,
    uint64_t at)
{
	uint8_t version, flags, type = 0, cset;
	uint64_t order, nlen, target;
	const uint8_t *name;
	struct pal_cur info;
	uint16_t ilen;
	size_t old;
	int r;

	if (pal_cur_u8(b, &version) != 0 || pal_cur_u8(b, &flags) != 0)
		goto trunc;
	if (version != 1)
		return h5_err(f, PAL_ERR_UNSUPPORTED, "link message at address "
		    "%llu has version %u", (unsigned long long)at, version);
	if (((flags & 0x08) && pal_cur_u8(b, &type) != 0) ||
	    ((flags & 0x04) && pal_cur_u64le(b, &order) != 0) ||
	    ((flags & 0x10) && pal_cur_u8(b, &cset) != 0) ||
	    h5_uint(b, 1u << (flags & 3), &nlen) != 0 ||
	    nlen > pal_cur_left(b) || pal_cur_bytes(b, nlen, &name) != 0)
		goto trunc;
	if (type == 0) {
		if (h5_addr(f, b, &target) != 0)
			goto trunc;
		old = path_push(f, (const char *)name, nlen);
		r = visit(f, target, o->depth + 1, 0);
		path_pop(f, old);
		return r;
	}
	if (type == 1 || type >= 64) {
		if (pal_cur_u16le(b, &ilen) != 0 || pal_cur_sub(b, ilen, &info))
			goto trunc;
		/* Soft links name a path in this file; other user-defined
		 * links need a handler the loader would have to register. */
		if (type == 64)
			return report_external(f, (const char *)name, nlen,
			    &info);
		return 0;
	}
	return h5_err(f, PAL_ERR_FORMAT, "link message at address %llu has "
	    "reserved link type %u", (unsigned long long)at, type);
trunc:
	return h5_err(f, PAL_ERR_TRUNCATED, "link message at address %llu is "
	    "truncated", (unsigned long long)at);
}

static int
on_symbol(struct h5file *f, void *arg, const char *name, size_t n,
    uint64_t ohdr, uint32_t cache)
{
	struct h5obj *o = arg;
	size_t old;
	int r;

	/* Cache type 2 is a soft link: a path, not an object. */
	if (cache == 2)
		return 0;
	old = path_push(f, name, n);
	r = visit(f, ohdr, o->depth + 1, 0);
	path_pop(f, old);
	return r;
}

/* --- attributes -------------------------------------------------------- */

static int
is_name(const struct h5attr *a, const char *s)
{
	return a->name_len == strlen(s) && memcmp(a->name, s, a->name_len) == 0;
}

static int
handle_attr(struct h5file *f, struct h5obj *o, struct pal_cur *b,
    uint64_t at)
{
	struct h5attr a;
	const char *v, *where;
	size_t n;
	int r;

	if ((r = h5_attr_decode(f, b, at, &a)) != 0)
		return r;
	/* Keras reads its configuration from the root group only. */
	if (!o->is_root)
		return 0;
	if (is_name(&a, "model_config"))
		where = "attribute 'model_config'";
	else if (is_name(&a, "training_config"))
		where = "attribute 'training_config'";
	else
		return 0;
	if ((r = h5_attr_string(f, &a, at, &v, &n)) == 0)
		r = pal_keras_check(f->s, f->it, where, v, n);
	/*
	 * A configuration that cannot be read or checked makes the file an
	 * error, but the rest of the file is still walked first, so that a
	 * finding elsewhere is reported (and outranks it).
	 */
	if (r != 0 && r != PAL_ERR_NOMEM) {
		if (f->deferred.code == 0)
			f->deferred = f->s->err;
		r = 0;
	}
	return r;
}

/* --- dataset storage --------------------------------------------------- */

static int
handle_efl(struct h5file *f, struct pal_cur *b, uint64_t at)
{
	struct h5lheap heap;
	struct pal_buf names;
	uint64_t haddr, noff, foff, size;
	uint16_t alloc, used, i;
	uint8_t version;
	const char *name;
	size_t n;
	int r;

	if (pal_cur_u8(b, &version) != 0 || pal_cur_skip(b, 3) != 0 ||
	    pal_cur_u16le(b, &alloc) != 0 || pal_cur_u16le(b, &used) != 0 ||
	    h5_addr(f, b, &haddr) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "external file list at "
		    "address %llu is truncated", (unsigned long long)at);
	if (version != 1 || used > alloc)
		return h5_err(f, PAL_ERR_FORMAT, "external file list at address "
		    "%llu: version %u, %u of %u slots used",
		    (unsigned long long)at, version, used, alloc);
	if ((r = h5_lheap_open(f, haddr, &heap)) != 0)
		return r;
	pal_buf_init(&names, 4096);
	for (i = 0; i < used; i++) {
		if ((r = h5_step(f)) != 0)
			goto out;
		if (h5_len(f, b, &noff) != 0 || h5_len(f, b, &foff) != 0 ||
		    h5_len(f, b, &size) != 0) {
			r = h5_err(f, PAL_ERR_TRUNCATED, "external file list at "
			    "address %llu ends inside slot %u",
			    (unsigned long long)at, i);
			goto out;
		}
		if ((r = h5_lheap_str(f, &heap, noff, &name, &n)) != 0)
			goto out;
		if (i < 4)
			r = pal_buf_printf(&names, "%s'%.*s'", i ? ", " : "",
			    (int)(n > H5_QUOTE ? H5_QUOTE : n), name);
		else if (i == 4)
			r = pal_buf_puts(&names, ", ...");
		if (r != 0)
			goto out;
	}
	r = pal_scan_find(f->s, f->it, "hdf5.external-storage", f->path,
	    "dataset reads its raw data from %u external file%s: %s", used,
	    used == 1 ? "" : "s", names.p ? (char *)names.p : "");
out:
	pal_buf_free(&names);
	return r;
}

/* Names the first source file of a virtual dataset, if it can. */
static int
report_vds(struct h5file *f, struct pal_cur *b, uint64_t at)
{
	struct pal_cur obj;
	uint64_t heap, count = 0;
	uint32_t idx;
	uint8_t v;
	const char *file = "";
	size_t fn = 0;
	int r, rr;

	if (h5_addr(f, b, &heap) != 0 || pal_cur_u32le(b, &idx) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "virtual dataset layout at "
		    "address %llu is truncated", (unsigned long long)at);
	r = h5_gheap_get(f, heap, idx, &obj);
	if (r == 0 && (pal_cur_u8(&obj, &v) != 0 || v != 0 ||
	    h5_len(f, &obj, &count) != 0))
		r = h5_err(f, PAL_ERR_FORMAT, "virtual dataset mapping at "
		    "address %llu is malformed", (unsigned long long)heap);
	if (r == 0 && h5_cstr(&obj, &file, &fn) != 0)
		r = h5_err(f, PAL_ERR_FORMAT, "virtual dataset mapping at "
		    "address %llu: source file name is not terminated",
		    (unsigned long long)heap);
	rr = pal_scan_find(f->s, f->it, "hdf5.virtual-dataset", f->path,
	    "virtual dataset maps %llu source selection%s%s%.*s%s",
	    (unsigned long long)count, count == 1 ? "" : "s",
	    r == 0 ? ", the first from file '" : " (its mapping could not "
	    "be read)", (int)(r == 0 && fn > H5_QUOTE ? H5_QUOTE : fn),
	    r == 0 ? file : "", r == 0 ? "'" : "");
	return rr != 0 ? rr : r;
}

static int
handle_layout(struct h5file *f, struct pal_cur *b, uint64_t at)
{
	uint8_t version, cls;

	if (pal_cur_u8(b, &version) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "data layout message at "
		    "address %llu is truncated", (unsigned long long)at);
	/* Versions 1 and 2 know only compact, contiguous and chunked. */
	if (version < 3)
		return 0;
	if (version > 4 || pal_cur_u8(b, &cls) != 0)
		return h5_err(f, PAL_ERR_UNSUPPORTED, "data layout message at "
		    "address %llu has version %u", (unsigned long long)at,
		    version);
	if (cls != 3)
		return 0;
	return report_vds(f, b, at);
}

/* --- object headers ---------------------------------------------------- */

static int
two_addrs(struct h5file *f, struct pal_cur *b, uint64_t *a1, uint64_t *a2,
    uint64_t at, const char *what)
{
	if (h5_addr(f, b, a1) != 0 || h5_addr(f, b, a2) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "%s message at address %llu "
		    "is truncated", what, (unsigned long long)at);
	return 0;
}

/* Link info and attribute info: where dense storage lives, if used. */
static int
dense_info(struct h5file *f, struct pal_cur *b, uint64_t at, int links,
    uint64_t *heap, uint64_t *bt)
{
	uint8_t version, flags;
	const char *what = links ? "link info" : "attribute info";

	if (pal_cur_u8(b, &version) != 0 || pal_cur_u8(b, &flags) != 0 ||
	    ((flags & 1) && pal_cur_skip(b, links ? 8 : 2) != 0))
		return h5_err(f, PAL_ERR_TRUNCATED, "%s message at address %llu "
		    "is truncated", what, (unsigned long long)at);
	if (version != 0)
		return h5_err(f, PAL_ERR_UNSUPPORTED, "%s message at address "
		    "%llu has version %u", what, (unsigned long long)at,
		    version);
	return two_addrs(f, b, heap, bt, at, what);
}

static int
on_message(struct h5file *f, void *arg, unsigned type, unsigned flags,
    struct pal_cur *b, uint64_t at)
{
	struct h5obj *o = arg;

	if ((flags & H5_MSG_SHARED) && (type == H5M_ATTR || type == H5M_LINK))
		return h5_err(f, PAL_ERR_UNSUPPORTED, "message of type %u at "
		    "address %llu is stored in the shared-message heap; not "
		    "supported", type, (unsigned long long)at);
	switch (type) {
	case H5M_ATTR:
		return handle_attr(f, o, b, at);
	case H5M_LINK:
		return handle_link(f, o, b, at);
	case H5M_STAB:
		o->has_stab = 1;
		return two_addrs(f, b, &o->stab_bt, &o->stab_heap, at,
		    "symbol table");
	case H5M_LINK_INFO:
		o->has_linfo = 1;
		return dense_info(f, b, at, 1, &o->link_heap, &o->link_bt);
	case H5M_ATTR_INFO:
		o->has_ainfo = 1;
		return dense_info(f, b, at, 0, &o->attr_heap, &o->attr_bt);
	case H5M_EFL:
		return handle_efl(f, b, at);
	case H5M_LAYOUT:
		return handle_layout(f, b, at);
	default:
		return 0;
	}
}

/* --- dense storage ----------------------------------------------------- */

struct dense {
	struct h5obj *o;
	struct h5fheap heap;
	int attrs;
};

static int
dense_rec(struct h5file *f, void *arg, struct pal_cur *rec)
{
	struct dense *d = arg;
	const uint8_t *id;
	struct pal_cur obj;
	uint8_t mflags = 0;
	int r;

	/* Link name records: hash, ID.  Attribute name records: ID, message
	 * flags, creation order, hash. */
	if ((!d->attrs && pal_cur_skip(rec, 4) != 0) ||
	    pal_cur_bytes(rec, d->heap.id_len, &id) != 0 ||
	    (d->attrs && pal_cur_u8(rec, &mflags) != 0))
		return h5_err(f, PAL_ERR_FORMAT, "%s index record is shorter "
		    "than its %u-byte heap ID", d->attrs ? "attribute" : "link",
		    d->heap.id_len);
	if (mflags & H5_MSG_SHARED)
		return h5_err(f, PAL_ERR_UNSUPPORTED, "dense attribute of the "
		    "heap at address %llu is a shared message; not supported",
		    (unsigned long long)d->heap.addr);
	if ((r = h5_fheap_get(f, &d->heap, id, d->heap.id_len, &obj)) != 0)
		return r;
	if (d->attrs)
		return handle_attr(f, d->o, &obj, d->heap.addr);
	return handle_link(f, d->o, &obj, d->heap.addr);
}

static int
dense_walk(struct h5file *f, struct h5obj *o, uint64_t heap, uint64_t bt,
    int attrs)
{
	struct dense d;
	int r;

	if (heap == H5_UNDEF)
		return 0;
	d.o = o;
	d.attrs = attrs;
	if ((r = h5_fheap_open(f, heap, &d.heap)) != 0)
		return r;
	return h5_btree2(f, bt, attrs ? 8 : 5, dense_rec, &d);
}

static int
visit(struct h5file *f, uint64_t addr, unsigned depth, int is_root)
{
	struct h5obj o;
	int fresh, r;

	if (depth > H5_MAX_DEPTH)
		return h5_err(f, PAL_ERR_LIMIT, "groups nest deeper than %d at "
		    "'%s'", H5_MAX_DEPTH, f->path);
	if ((r = seen_add(f, addr, &fresh)) != 0 || !fresh)
		return r;
	memset(&o, 0, sizeof(o));
	o.addr = addr;
	o.depth = depth;
	o.is_root = is_root;
	if ((r = h5_ohdr(f, addr, on_message, &o)) != 0)
		return r;
	if (o.has_stab && (r = h5_group_v1(f, o.stab_bt, o.stab_heap,
	    on_symbol, &o)) != 0)
		return r;
	if (o.has_linfo && (r = dense_walk(f, &o, o.link_heap, o.link_bt, 0))
	    != 0)
		return r;
	if (o.has_ainfo && (r = dense_walk(f, &o, o.attr_heap, o.attr_bt, 1))
	    != 0)
		return r;
	return 0;
}

/* --- superblock -------------------------------------------------------- */

static int
sizes_ok(struct h5file *f)
{
	if ((f->so != 2 && f->so != 4 && f->so != 8) ||
	    (f->sl != 2 && f->sl != 4 && f->sl != 8))
		return h5_err(f, PAL_ERR_UNSUPPORTED, "superblock gives sizes of "
		    "offsets %u and lengths %u; 2, 4 or 8 are supported",
		    f->so, f->sl);
	return 0;
}

/* Versions 0 and 1: the root group is a symbol table entry. */
static int
superblock_v0(struct h5file *f, struct pal_cur *c, uint64_t *base,
    uint64_t *root)
{
	uint64_t freespace, driver, name_off;
	uint32_t cflags;
	int r;

	if (pal_cur_skip(c, 4) != 0 || pal_cur_u8(c, &f->so) != 0 ||
	    pal_cur_u8(c, &f->sl) != 0 || pal_cur_skip(c, 1) != 0 ||
	    pal_cur_u16le(c, &f->sym_leaf_k) != 0 ||
	    pal_cur_u16le(c, &f->sym_node_k) != 0 ||
	    pal_cur_u32le(c, &cflags) != 0 ||
	    (f->sbver == 1 && pal_cur_skip(c, 4) != 0))
		goto trunc;
	if ((r = sizes_ok(f)) != 0)
		return r;
	if (f->sym_leaf_k == 0 || f->sym_node_k == 0)
		return h5_err(f, PAL_ERR_FORMAT, "superblock gives a group B-tree "
		    "K of zero");
	if (h5_addr(f, c, base) != 0 || h5_addr(f, c, &freespace) != 0 ||
	    h5_addr(f, c, &f->eoa) != 0 || h5_addr(f, c, &driver) != 0 ||
	    h5_uint(c, f->so, &name_off) != 0 || h5_addr(f, c, root) != 0)
		goto trunc;
	if (driver != H5_UNDEF)
		return h5_err(f, PAL_ERR_UNSUPPORTED, "superblock names a driver "
		    "information block at address %llu (a multi-file or "
		    "family driver); not supported",
		    (unsigned long long)driver);
	return 0;
trunc:
	return h5_err(f, PAL_ERR_TRUNCATED, "superblock is truncated");
}

static int
superblock_v2(struct h5file *f, struct pal_cur *c, uint64_t *base,
    uint64_t *root)
{
	uint64_t ext;
	uint8_t cflags;

	if (pal_cur_u8(c, &f->so) != 0 || pal_cur_u8(c, &f->sl) != 0 ||
	    pal_cur_u8(c, &cflags) != 0)
		goto trunc;
	if (sizes_ok(f) != 0)
		return f->s->err.code;
	if (h5_addr(f, c, base) != 0 || h5_addr(f, c, &ext) != 0 ||
	    h5_addr(f, c, &f->eoa) != 0 || h5_addr(f, c, root) != 0)
		goto trunc;
	return h5_checksum(f, c, 0, "superblock", 0);
trunc:
	return h5_err(f, PAL_ERR_TRUNCATED, "superblock is truncated");
}

static int
superblock(struct h5file *f, size_t sigoff, uint64_t *root)
{
	struct pal_cur file, c;
	uint64_t base;
	int r;

	/* The superblock's own checksum counts from its signature. */
	pal_cur_init(&file, f->data, f->len);
	if (pal_cur_seek(&file, sigoff) != 0 ||
	    pal_cur_sub(&file, pal_cur_left(&file), &c) != 0)
		return PAL_ERR_INVALID;
	if (pal_cur_skip(&c, 8) != 0 || pal_cur_u8(&c, &f->sbver) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "superblock is truncated");
	if (f->sbver <= 1)
		r = superblock_v0(f, &c, &base, root);
	else if (f->sbver <= 3)
		r = superblock_v2(f, &c, &base, root);
	else
		r = h5_err(f, PAL_ERR_UNSUPPORTED, "superblock version %u",
		    f->sbver);
	if (r != 0)
		return r;
	/*
	 * Addresses are relative to the superblock's own position, whatever
	 * its base-address field says.  The stored end of file counts from
	 * the start of the file (user block included); HDF5 moves it by the
	 * difference between the base field and the real position, and so
	 * do we.
	 */
	f->base = sigoff;
	if (f->eoa == H5_UNDEF || f->eoa + sigoff < base ||
	    f->eoa + sigoff - base > f->len)
		return h5_err(f, PAL_ERR_TRUNCATED, "superblock says the file "
		    "ends at byte %llu (base address %llu), but it has %zu "
		    "bytes", (unsigned long long)f->eoa,
		    (unsigned long long)base, f->len);
	f->eoa = f->eoa + sigoff - base;
	return 0;
}

/* Offset of the signature: 0, 512, 1024, 2048, ... */
static int
find_signature(const uint8_t *d, size_t len, size_t *off)
{
	size_t o;

	for (o = 0; o < len && len - o >= sizeof(h5_magic);
	    o = o == 0 ? 512 : o * 2) {
		if (memcmp(d + o, h5_magic, sizeof(h5_magic)) == 0) {
			*off = o;
			return 0;
		}
		if (o > SIZE_MAX / 2)
			break;
	}
	return PAL_ERR_FORMAT;
}

static int
all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/*
 * A user block before the superblock and bytes after the end-of-file
 * address are not HDF5, but another reader may take them for its own
 * format: scan them as members.
 */
static int
scan_outside(struct h5file *f, size_t sigoff)
{
	struct pal_cur c;
	const uint8_t *p;
	size_t end = (size_t)f->eoa;
	int r;

	pal_cur_init(&c, f->data, f->len);
	if (sigoff > 0 && pal_cur_bytes(&c, sigoff, &p) == 0 &&
	    !all_zero(p, sigoff) &&
	    (r = pal_scan_child(f->s, f->it, "userblock", p, sigoff, 0)) != 0)
		return r;
	if (end < f->len && pal_cur_seek(&c, end) == 0 &&
	    pal_cur_bytes(&c, f->len - end, &p) == 0 &&
	    !all_zero(p, f->len - end) &&
	    (r = pal_scan_child(f->s, f->it, "trailing-data", p, f->len - end,
	    0)) != 0)
		return r;
	return 0;
}

int
pal_fmt_hdf5(struct pal_scan *s, const struct pal_scan_item *it)
{
	struct h5file f;
	uint64_t root;
	size_t sigoff;
	int r;

	memset(&f, 0, sizeof(f));
	f.s = s;
	f.it = it;
	f.data = it->data;
	f.len = it->len;
	f.verify_sums = verify_sums;
	/* Budgets scale with the file: a real file has few structures per
	 * byte; shared or cyclic ones multiply them. */
	f.max_steps = 65536 + (uint64_t)it->len / 2;
	f.max_objects = 4096 + it->len / 16;
	f.max_hashed = ((uint64_t)1 << 20) + (uint64_t)it->len * 16;
	f.path[0] = '/';
	f.plen = 1;
	if (find_signature(it->data, it->len, &sigoff) != 0)
		return pal_err_set(&s->err, PAL_ERR_FORMAT, "HDF5: no signature "
		    "at offset 0 or at 512, 1024, 2048, ...");
	if ((r = superblock(&f, sigoff, &root)) != 0)
		return r;
	/* Members first: scanning them clears the session's error detail. */
	if ((r = scan_outside(&f, sigoff)) != 0)
		return r;
	r = visit(&f, root, 0, 1);
	if (r == 0 && f.deferred.code != 0) {
		s->err = f.deferred;
		r = f.deferred.code;
	}
	free(f.seen);
	return r;
}
