/*
 * hdf5_read.c - the HDF5 reader's primitives: bounded views of file
 * addresses, fixed-size fields, signatures, checksums, and the local and
 * global heaps.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hdf5_int.h"

int
h5_err(struct h5file *f, int code, const char *fmt, ...)
{
	char msg[PAL_ERR_MSG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A cut detail is still a detail, marked as cut. */
	if (n < 0)
		msg[0] = '\0';
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	return pal_err_set(&f->s->err, code, "HDF5: %s", msg);
}

int
h5_step(struct h5file *f)
{
	if (++f->steps > f->max_steps)
		return h5_err(f, PAL_ERR_LIMIT, "more than %llu structures "
		    "visited; shared or cyclic structures?",
		    (unsigned long long)f->max_steps);
	return 0;
}

int
h5_view(struct h5file *f, uint64_t addr, uint64_t n, struct pal_cur *c,
    const char *what)
{
	uint64_t room;

	if (addr == H5_UNDEF)
		return h5_err(f, PAL_ERR_FORMAT, "%s has an undefined address",
		    what);
	room = (uint64_t)f->len - f->base;
	if (addr > room || n > room - addr)
		return h5_err(f, PAL_ERR_TRUNCATED, "%s at address %llu "
		    "(%llu bytes) lies beyond the end of the file (%llu "
		    "bytes)", what, (unsigned long long)addr,
		    (unsigned long long)n, (unsigned long long)f->len);
	pal_cur_init(c, f->data + f->base + addr, (size_t)n);
	return 0;
}

int
h5_view_open(struct h5file *f, uint64_t addr, struct pal_cur *c,
    const char *what)
{
	uint64_t room = (uint64_t)f->len - f->base;

	return h5_view(f, addr, addr > room ? 1 : room - addr, c, what);
}

int
h5_uint(struct pal_cur *c, unsigned n, uint64_t *v)
{
	const uint8_t *p;
	unsigned i;
	int r;

	*v = 0;
	if (n > 8)
		return PAL_ERR_UNSUPPORTED;
	if ((r = pal_cur_bytes(c, n, &p)) != 0)
		return r;
	for (i = n; i > 0; i--)
		*v = (*v << 8) | p[i - 1];
	return 0;
}

int
h5_addr(struct h5file *f, struct pal_cur *c, uint64_t *v)
{
	int r;

	if ((r = h5_uint(c, f->so, v)) != 0)
		return r;
	if (f->so < 8 && *v == ((uint64_t)1 << (8 * f->so)) - 1)
		*v = H5_UNDEF;
	return 0;
}

int
h5_len(struct h5file *f, struct pal_cur *c, uint64_t *v)
{
	return h5_uint(c, f->sl, v);
}

int
h5_cstr(struct pal_cur *c, const char **s, size_t *n)
{
	size_t start = c->off, left = pal_cur_left(c);
	const uint8_t *p, *nul;

	if (pal_cur_bytes(c, left, &p) != 0)
		return PAL_ERR_TRUNCATED;
	if ((nul = memchr(p, 0, left)) == NULL) {
		pal_cur_seek(c, start);
		return PAL_ERR_FORMAT;
	}
	*s = (const char *)p;
	*n = (size_t)(nul - p);
	return pal_cur_seek(c, start + *n + 1);
}

int
h5_sig(struct h5file *f, struct pal_cur *c, const char *sig, uint8_t version,
    const char *what, uint64_t addr)
{
	const uint8_t *p;
	uint8_t v;

	if (pal_cur_bytes(c, 4, &p) != 0 || pal_cur_u8(c, &v) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "%s at address %llu is "
		    "truncated", what, (unsigned long long)addr);
	if (memcmp(p, sig, 4) != 0)
		return h5_err(f, PAL_ERR_FORMAT, "%s at address %llu lacks "
		    "its signature \"%s\"", what, (unsigned long long)addr,
		    sig);
	if (v != version)
		return h5_err(f, PAL_ERR_UNSUPPORTED, "%s at address %llu "
		    "has version %u (expected %u)", what,
		    (unsigned long long)addr, v, version);
	return 0;
}

#define ROT(x, k) (((x) << (k)) ^ ((x) >> (32 - (k))))

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

uint32_t
h5_lookup3(const uint8_t *p, size_t n, uint32_t initval)
{
	uint32_t a, b, c;
	uint8_t tail[12];

	a = b = c = 0xdeadbeefu + (uint32_t)n + initval;
	while (n > 12) {
		a += le32(p);
		b += le32(p + 4);
		c += le32(p + 8);
		a -= c; a ^= ROT(c, 4); c += b;
		b -= a; b ^= ROT(a, 6); a += c;
		c -= b; c ^= ROT(b, 8); b += a;
		a -= c; a ^= ROT(c, 16); c += b;
		b -= a; b ^= ROT(a, 19); a += c;
		c -= b; c ^= ROT(b, 4); b += a;
		n -= 12;
		p += 12;
	}
	if (n == 0)
		return c;
	/* The last 1..12 bytes, zero-extended, as lookup3's switch adds
	 * them. */
	memset(tail, 0, sizeof(tail));
	memcpy(tail, p, n);
	a += le32(tail);
	b += le32(tail + 4);
	c += le32(tail + 8);
	c ^= b; c -= ROT(b, 14);
	a ^= c; a -= ROT(c, 11);
	b ^= a; b -= ROT(a, 25);
	c ^= b; c -= ROT(b, 16);
	a ^= c; a -= ROT(c, 4);
	b ^= a; b -= ROT(a, 14);
	c ^= b; c -= ROT(b, 24);
	return c;
}

int
h5_checksum(struct h5file *f, struct pal_cur *c, size_t start,
    const char *what, uint64_t addr)
{
	uint32_t want, got;

	if (start > c->off || pal_cur_u32le(c, &want) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "%s at address %llu ends "
		    "before its checksum", what, (unsigned long long)addr);
	if (!f->verify_sums)
		return 0;
	/* Structures reached many times (shared or hostile) are hashed
	 * each time: a budget keeps that linear in the file's size. */
	f->hashed += c->off - 4 - start;
	if (f->hashed > f->max_hashed)
		return h5_err(f, PAL_ERR_LIMIT, "more than %llu bytes of "
		    "metadata checksummed; shared or cyclic structures?",
		    (unsigned long long)f->max_hashed);
	got = h5_lookup3(c->base + start, c->off - 4 - start, 0);
	if (got != want)
		return h5_err(f, PAL_ERR_FORMAT, "%s at address %llu has a bad "
		    "checksum (0x%08x, computed 0x%08x)", what,
		    (unsigned long long)addr, want, got);
	return 0;
}

/* --- local heap -------------------------------------------------------- */

int
h5_lheap_open(struct h5file *f, uint64_t addr, struct h5lheap *h)
{
	struct pal_cur c;
	uint64_t freelist;
	int r;

	memset(h, 0, sizeof(*h));
	if ((r = h5_view_open(f, addr, &c, "local heap")) != 0)
		return r;
	if ((r = h5_sig(f, &c, "HEAP", 0, "local heap", addr)) != 0)
		return r;
	if (pal_cur_skip(&c, 3) != 0 || h5_len(f, &c, &h->data_size) != 0 ||
	    h5_len(f, &c, &freelist) != 0 ||
	    h5_addr(f, &c, &h->data_addr) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "local heap at address "
		    "%llu is truncated", (unsigned long long)addr);
	return h5_view(f, h->data_addr, h->data_size, &h->data,
	    "local heap data segment");
}

int
h5_lheap_str(struct h5file *f, const struct h5lheap *h, uint64_t off,
    const char **s, size_t *n)
{
	const uint8_t *p, *nul;

	if (off >= h->data.len)
		return h5_err(f, PAL_ERR_FORMAT, "name offset %llu lies outside "
		    "the local heap data segment at address %llu (%zu bytes)",
		    (unsigned long long)off,
		    (unsigned long long)h->data_addr, h->data.len);
	p = h->data.base + off;
	/* Bounded search: names point anywhere into a heap of any size. */
	if ((nul = memchr(p, 0, h->data.len - off > H5_NAME_MAX ?
	    H5_NAME_MAX : h->data.len - off)) == NULL)
		return h5_err(f, PAL_ERR_FORMAT, "name at offset %llu of the "
		    "local heap at address %llu is not terminated within %d "
		    "bytes",
		    (unsigned long long)off,
		    (unsigned long long)h->data_addr, H5_NAME_MAX);
	*s = (const char *)p;
	*n = (size_t)(nul - p);
	return 0;
}

/* --- global heap ------------------------------------------------------- */

int
h5_gheap_get(struct h5file *f, uint64_t addr, uint32_t idx,
    struct pal_cur *obj)
{
	struct pal_cur c, coll;
	uint64_t size, osize;
	uint16_t oidx, refs;
	int r;

	if ((r = h5_view_open(f, addr, &c, "global heap collection")) != 0)
		return r;
	if ((r = h5_sig(f, &c, "GCOL", 1, "global heap collection", addr))
	    != 0)
		return r;
	if (pal_cur_skip(&c, 3) != 0 || h5_len(f, &c, &size) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "global heap collection at "
		    "address %llu is truncated", (unsigned long long)addr);
	if ((r = h5_view(f, addr, size, &coll, "global heap collection"))
	    != 0)
		return r;
	if (size < c.off || pal_cur_seek(&coll, c.off) != 0)
		return h5_err(f, PAL_ERR_FORMAT, "global heap collection at "
		    "address %llu declares %llu bytes, less than its header",
		    (unsigned long long)addr, (unsigned long long)size);
	while (pal_cur_left(&coll) >= 8u + f->sl) {
		if ((r = h5_step(f)) != 0)
			return r;
		if (pal_cur_u16le(&coll, &oidx) != 0 ||
		    pal_cur_u16le(&coll, &refs) != 0 ||
		    pal_cur_skip(&coll, 4) != 0 ||
		    h5_len(f, &coll, &osize) != 0)
			break;
		/* Index 0 is the free space that ends the collection. */
		if (oidx == 0)
			break;
		if (osize > pal_cur_left(&coll))
			return h5_err(f, PAL_ERR_FORMAT, "global heap object %u "
			    "in the collection at address %llu declares %llu "
			    "bytes, more than the collection holds", oidx,
			    (unsigned long long)addr,
			    (unsigned long long)osize);
		if (oidx == idx)
			return pal_cur_sub(&coll, (size_t)osize, obj);
		/* Objects are padded to a multiple of eight bytes. */
		osize = (osize + 7) & ~(uint64_t)7;
		if (pal_cur_skip(&coll, osize > pal_cur_left(&coll) ?
		    pal_cur_left(&coll) : (size_t)osize) != 0)
			break;
	}
	return h5_err(f, PAL_ERR_FORMAT, "global heap collection at address "
	    "%llu has no object %u", (unsigned long long)addr, idx);
}
