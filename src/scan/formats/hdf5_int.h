/*
 * hdf5_int.h - what the files of the HDF5 reader share: the file context,
 * bounded views of file addresses, and the structures it walks (object
 * headers, B-trees v1 and v2, local, global and fractal heaps).
 *
 * Every address read from the file is checked against the file's size
 * before a view is made of it; every count is bounded by the bytes that
 * must hold it and by a step budget, so that shared or cyclic structures
 * end in an error instead of a hang.  See docs/formats/hdf5.md.
 */
#ifndef PAL_SCAN_HDF5_INT_H
#define PAL_SCAN_HDF5_INT_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/cursor.h"
#include "scan_int.h"

/* The "undefined address" (all bits set), whatever the offset size. */
#define H5_UNDEF UINT64_MAX

/* Groups nested deeper than this are refused. */
#define H5_MAX_DEPTH 64
/* Continuation chunks of one object header. */
#define H5_MAX_CHUNKS 256
/* Levels of a B-tree (v1 or v2) or of a fractal heap's indirect blocks. */
#define H5_MAX_TREE_DEPTH 32
#define H5_PATH_MAX 512
/* Names (links, external files) longer than this are refused. */
#define H5_NAME_MAX 65536
/* Indirect blocks of one fractal heap whose checksum is remembered. */
#define H5_FHIB_CACHE 8

/* Object header message types this reader acts on. */
enum {
	H5M_NIL = 0x00,
	H5M_DATASPACE = 0x01,
	H5M_LINK_INFO = 0x02,
	H5M_DATATYPE = 0x03,
	H5M_LINK = 0x06,
	H5M_EFL = 0x07,
	H5M_LAYOUT = 0x08,
	H5M_ATTR = 0x0c,
	H5M_CONT = 0x10,
	H5M_STAB = 0x11,
	H5M_ATTR_INFO = 0x15,
};

/* Message flag: the message lives in the shared-message heap. */
#define H5_MSG_SHARED 0x02

struct h5file {
	struct pal_scan *s;
	const struct pal_scan_item *it;
	const uint8_t *data;
	size_t len;
	uint64_t base;		/* file offset of relative address 0 */
	uint64_t eoa;		/* file offset where the HDF5 data ends */
	uint8_t so, sl;		/* sizes of offsets and of lengths */
	uint8_t sbver;
	uint16_t sym_leaf_k;	/* symbol-table nodes hold 2K entries */
	uint16_t sym_node_k;	/* group B-tree nodes hold 2K children */
	uint64_t steps, max_steps;
	uint64_t hashed, max_hashed;	/* bytes checksummed, and budget */
	uint64_t *seen;		/* object headers visited (open hashing) */
	size_t nseen, capseen, max_objects;
	int verify_sums;	/* check the Jenkins checksums of v2 metadata */
	struct pal_err deferred;	/* a configuration that failed its check */
	char path[H5_PATH_MAX];	/* of the object being visited */
	size_t plen;
};

/* Sets the error detail and returns code. */
int h5_err(struct h5file *f, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Charges one step of work; fails with PAL_ERR_LIMIT past the budget. */
int h5_step(struct h5file *f);

/*
 * Makes c a view of [addr, addr + n) (relative addresses), or of
 * [addr, end of file) with h5_view_open.  what names the structure for
 * the error detail.
 */
int h5_view(struct h5file *f, uint64_t addr, uint64_t n, struct pal_cur *c,
    const char *what);
int h5_view_open(struct h5file *f, uint64_t addr, struct pal_cur *c,
    const char *what);

/* Reads an n-byte little-endian unsigned value (n <= 8). */
int h5_uint(struct pal_cur *c, unsigned n, uint64_t *v);
/* Reads an address (all-ones becomes H5_UNDEF) or a length. */
int h5_addr(struct h5file *f, struct pal_cur *c, uint64_t *v);
int h5_len(struct h5file *f, struct pal_cur *c, uint64_t *v);

/* Reads a NUL-terminated string (*n excludes the NUL) and moves past it. */
int h5_cstr(struct pal_cur *c, const char **s, size_t *n);

/* Checks a 4-byte signature and a version byte at the cursor. */
int h5_sig(struct h5file *f, struct pal_cur *c, const char *sig,
    uint8_t version, const char *what, uint64_t addr);

/* Bob Jenkins' lookup3 hashlittle(), which HDF5 uses for checksums. */
uint32_t h5_lookup3(const uint8_t *p, size_t n, uint32_t initval);

/*
 * Verifies the checksum that follows c->base[start..c->off) at the
 * cursor, and reads past it.
 */
int h5_checksum(struct h5file *f, struct pal_cur *c, size_t start,
    const char *what, uint64_t addr);

/* A local heap: the data segment that names in v1 groups point into. */
struct h5lheap {
	uint64_t data_addr, data_size;
	struct pal_cur data;
};

int h5_lheap_open(struct h5file *f, uint64_t addr, struct h5lheap *h);
/* The NUL-terminated string at off in the heap's data segment. */
int h5_lheap_str(struct h5file *f, const struct h5lheap *h, uint64_t off,
    const char **s, size_t *n);

/* Object idx of the global heap collection at addr. */
int h5_gheap_get(struct h5file *f, uint64_t addr, uint32_t idx,
    struct pal_cur *obj);

/* A fractal heap, the storage of dense links and attributes. */
struct h5fheap {
	uint64_t addr;
	uint16_t id_len;
	uint16_t filter_len;
	uint8_t flags;
	uint32_t max_man;
	uint64_t huge_bt;
	uint16_t width;
	uint64_t start_block, max_direct;
	uint16_t max_heap_bits;
	uint64_t root;
	uint16_t cur_rows;
	unsigned off_size, len_size;	/* of managed object IDs */
	unsigned max_direct_rows;
	unsigned first_row_bits;
	int huge_direct;
	unsigned huge_id_size;
	/* Indirect blocks already verified: every object lookup descends
	 * from the root, which need not be checksummed each time. */
	uint64_t verified[H5_FHIB_CACHE];
	unsigned nverified;
};

int h5_fheap_open(struct h5file *f, uint64_t addr, struct h5fheap *h);
/* A view of the object whose heap ID is id[0..n). */
int h5_fheap_get(struct h5file *f, struct h5fheap *h,
    const uint8_t *id, size_t n, struct pal_cur *obj);

/* Called for each entry of a v1 group B-tree (symbol table). */
typedef int (*h5_sym_fn)(struct h5file *f, void *arg, const char *name,
    size_t namelen, uint64_t ohdr, uint32_t cache_type);

int h5_group_v1(struct h5file *f, uint64_t btree, uint64_t heap,
    h5_sym_fn fn, void *arg);

/* Called for each record of a v2 B-tree; rec is a view of the record. */
typedef int (*h5_rec_fn)(struct h5file *f, void *arg, struct pal_cur *rec);

int h5_btree2(struct h5file *f, uint64_t addr, uint8_t type, h5_rec_fn fn,
    void *arg);

/*
 * Called for each message of an object header: type, flags, a view of
 * the message body, and the body's address for error details.
 */
typedef int (*h5_msg_fn)(struct h5file *f, void *arg, unsigned type,
    unsigned flags, struct pal_cur *body, uint64_t addr);

int h5_ohdr(struct h5file *f, uint64_t addr, h5_msg_fn fn, void *arg);

/* A decoded attribute message. */
struct h5attr {
	const char *name;
	size_t name_len;
	struct pal_cur dtype;	/* the datatype message */
	int dtype_shared;
	uint64_t nelem;		/* elements in the dataspace */
	struct pal_cur value;	/* the raw data */
};

int h5_attr_decode(struct h5file *f, struct pal_cur *msg, uint64_t addr,
    struct h5attr *a);

/*
 * The value of a scalar string attribute (fixed-length, or variable
 * length in the global heap), without padding.  Fails with a detail for
 * any other type.
 */
int h5_attr_string(struct h5file *f, const struct h5attr *a, uint64_t addr,
    const char **s, size_t *n);

/* Test hook: the fuzz targets skip checksums to reach deeper code. */
void pal_hdf5_set_verify_checksums(int on);

#endif
