/*
 * hdf5_attr.c - decodes HDF5 attribute messages (versions 1 to 3) with
 * their dataspace, and reads the value of string attributes: fixed-length
 * strings (what h5py writes for bytes values, and Keras 2 writes its
 * model_config as) and variable-length strings kept in a global heap
 * collection (what h5py writes for str values).
 */
#include <string.h>

#include "hdf5_int.h"

#define H5_MAX_RANK 32

/* Version 1 pads each field to a multiple of eight bytes. */
static size_t
pad8(size_t n)
{
	return (8 - n % 8) % 8;
}

static int
dataspace_count(struct h5file *f, struct pal_cur *ds, uint64_t addr,
    uint64_t *nelem)
{
	uint8_t version, rank, flags, type = 1;
	uint64_t dim, n = 1;
	unsigned i;

	if (pal_cur_u8(ds, &version) != 0 || pal_cur_u8(ds, &rank) != 0 ||
	    pal_cur_u8(ds, &flags) != 0)
		goto trunc;
	if (version == 1) {
		if (pal_cur_skip(ds, 5) != 0)
			goto trunc;
	} else if (version == 2) {
		if (pal_cur_u8(ds, &type) != 0)
			goto trunc;
		if (type > 2)
			return h5_err(f, PAL_ERR_FORMAT, "dataspace at address "
			    "%llu has unknown type %u",
			    (unsigned long long)addr, type);
	} else {
		return h5_err(f, PAL_ERR_UNSUPPORTED, "dataspace at address "
		    "%llu has version %u", (unsigned long long)addr, version);
	}
	if (rank > H5_MAX_RANK)
		return h5_err(f, PAL_ERR_FORMAT, "dataspace at address %llu has "
		    "rank %u", (unsigned long long)addr, rank);
	for (i = 0; i < rank; i++) {
		if (h5_len(f, ds, &dim) != 0)
			goto trunc;
		n = dim != 0 && n > UINT64_MAX / dim ? UINT64_MAX : n * dim;
	}
	*nelem = type == 2 ? 0 : n;
	return 0;
trunc:
	return h5_err(f, PAL_ERR_TRUNCATED, "dataspace at address %llu is "
	    "truncated", (unsigned long long)addr);
}

/* A field of n bytes, then version 1's padding. */
static int
field(struct pal_cur *msg, unsigned version, size_t n, struct pal_cur *out)
{
	int r;

	if ((r = pal_cur_sub(msg, n, out)) != 0)
		return r;
	if (version == 1 && (r = pal_cur_skip(msg, pad8(n))) != 0)
		return r;
	return 0;
}

int
h5_attr_decode(struct h5file *f, struct pal_cur *msg, uint64_t addr,
    struct h5attr *a)
{
	uint16_t name_size, dt_size, ds_size;
	uint8_t version, flags = 0, charset;
	struct pal_cur name, ds;
	int r;

	memset(a, 0, sizeof(*a));
	if (pal_cur_u8(msg, &version) != 0 || pal_cur_u8(msg, &flags) != 0 ||
	    pal_cur_u16le(msg, &name_size) != 0 ||
	    pal_cur_u16le(msg, &dt_size) != 0 ||
	    pal_cur_u16le(msg, &ds_size) != 0)
		goto trunc;
	if (version < 1 || version > 3)
		return h5_err(f, PAL_ERR_UNSUPPORTED, "attribute message at "
		    "address %llu has version %u", (unsigned long long)addr,
		    version);
	if (version == 1)
		flags = 0;	/* a reserved byte in version 1 */
	if (version == 3 && pal_cur_u8(msg, &charset) != 0)
		goto trunc;
	if (name_size == 0)
		return h5_err(f, PAL_ERR_FORMAT, "attribute message at address "
		    "%llu has an empty name", (unsigned long long)addr);
	if (field(msg, version, name_size, &name) != 0 ||
	    field(msg, version, dt_size, &a->dtype) != 0 ||
	    field(msg, version, ds_size, &ds) != 0)
		goto trunc;
	/* The name size counts a terminating NUL. */
	a->name = (const char *)name.base;
	a->name_len = strnlen(a->name, name_size);
	if (a->name_len != (size_t)name_size - 1)
		return h5_err(f, PAL_ERR_FORMAT, "attribute name at address "
		    "%llu is not NUL-terminated where its size says",
		    (unsigned long long)addr);
	a->dtype_shared = (flags & 0x01) != 0;
	if (flags & 0x02)
		return h5_err(f, PAL_ERR_UNSUPPORTED, "attribute at address "
		    "%llu uses a shared dataspace; not supported",
		    (unsigned long long)addr);
	if ((r = dataspace_count(f, &ds, addr, &a->nelem)) != 0)
		return r;
	a->value = *msg;
	return 0;
trunc:
	return h5_err(f, PAL_ERR_TRUNCATED, "attribute message at address "
	    "%llu is truncated", (unsigned long long)addr);
}

/* A fixed-length string: the padding type says how it ends. */
static int
fixed_string(struct h5file *f, const struct h5attr *a, uint64_t addr,
    unsigned pad, uint32_t size, const char **s, size_t *n)
{
	struct pal_cur v = a->value;
	const uint8_t *p;

	if (pal_cur_bytes(&v, size, &p) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "attribute '%.*s' at address "
		    "%llu: %u-byte string value is truncated",
		    (int)(a->name_len > 64 ? 64 : a->name_len), a->name,
		    (unsigned long long)addr, size);
	*s = (const char *)p;
	if (pad == 2) {		/* space-padded */
		while (size > 0 && p[size - 1] == ' ')
			size--;
		*n = size;
	} else {		/* NUL-terminated or NUL-padded */
		*n = strnlen(*s, size);
	}
	return 0;
}

/* A variable-length string: length and global heap ID in the value. */
static int
vlen_string(struct h5file *f, const struct h5attr *a, uint64_t addr,
    const char **s, size_t *n)
{
	struct pal_cur v = a->value, obj;
	uint64_t heap;
	uint32_t len, idx;
	const uint8_t *p;
	int r;

	if (pal_cur_u32le(&v, &len) != 0 || h5_addr(f, &v, &heap) != 0 ||
	    pal_cur_u32le(&v, &idx) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "attribute '%.*s' at address "
		    "%llu: variable-length string value is truncated",
		    (int)(a->name_len > 64 ? 64 : a->name_len), a->name,
		    (unsigned long long)addr);
	*s = "";
	*n = 0;
	if (len == 0)
		return 0;
	if ((r = h5_gheap_get(f, heap, idx, &obj)) != 0)
		return r;
	if (pal_cur_bytes(&obj, len, &p) != 0)
		return h5_err(f, PAL_ERR_FORMAT, "attribute '%.*s' at address "
		    "%llu: string of %u bytes is longer than its global heap "
		    "object", (int)(a->name_len > 64 ? 64 : a->name_len),
		    a->name, (unsigned long long)addr, len);
	*s = (const char *)p;
	*n = len;
	return 0;
}

int
h5_attr_string(struct h5file *f, const struct h5attr *a, uint64_t addr,
    const char **s, size_t *n)
{
	struct pal_cur dt = a->dtype;
	uint8_t cv, bits[3];
	uint32_t size;
	int nm = (int)(a->name_len > 64 ? 64 : a->name_len);

	if (a->dtype_shared)
		return h5_err(f, PAL_ERR_UNSUPPORTED, "attribute '%.*s' at "
		    "address %llu uses a committed datatype; not supported",
		    nm, a->name, (unsigned long long)addr);
	if (a->nelem != 1)
		return h5_err(f, PAL_ERR_FORMAT, "attribute '%.*s' at address "
		    "%llu holds %llu values where one string was expected", nm,
		    a->name, (unsigned long long)addr,
		    (unsigned long long)a->nelem);
	if (pal_cur_u8(&dt, &cv) != 0 || pal_cur_copy(&dt, bits, 3) != 0 ||
	    pal_cur_u32le(&dt, &size) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "datatype of attribute "
		    "'%.*s' at address %llu is truncated", nm, a->name,
		    (unsigned long long)addr);
	if ((cv & 0x0f) == 3)
		return fixed_string(f, a, addr, bits[0] & 0x0f, size, s, n);
	if ((cv & 0x0f) == 9 && (bits[0] & 0x0f) == 1)
		return vlen_string(f, a, addr, s, n);
	return h5_err(f, PAL_ERR_FORMAT, "attribute '%.*s' at address %llu is "
	    "not a string (datatype class %u)", nm, a->name,
	    (unsigned long long)addr, cv & 0x0f);
}
