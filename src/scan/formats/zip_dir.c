/*
 * zip_dir.c - the central directory as Python's zipfile and as PyTorch's
 * reader find it.
 *
 * The two loaders differ in ways an attacker can use, so each view is
 * rebuilt with the loader's own rules rather than with one "correct" zip
 * reader:
 *
 *   Python (zipfile, CPython 3.11): the end record is taken at exactly 22
 *   bytes from the end if its comment length is 0, otherwise the last
 *   signature in the final 64 KiB + 22 bytes.  A ZIP64 end record is used
 *   only where it would sit right before its locator.  Data prepended to
 *   the archive shifts every offset by "concat" = end record position -
 *   (directory offset + size).  Records are read until their lengths add up
 *   to the directory size; the entry count is ignored.  Every extra field
 *   must be well formed.
 *
 *   PyTorch (miniz 3.0.2 under caffe2::PyTorchStreamReader): the end
 *   record is the last signature with 22 bytes after it, searched backwards
 *   in 4 KiB blocks.  The entry count is trusted, offsets are read as
 *   written (from offset 0), and records are found by name ignoring case.
 *
 * Neither reader's decision is trusted here: every offset and size is
 * checked against the input before it is used, and records are capped by
 * limits.max_members.
 */
#include <stdio.h>
#include <string.h>

#include "palisade/text.h"
#include "zip_int.h"

/* miniz's backwards search: 4 KiB blocks overlapping by 3 bytes. */
#define MZ_BLOCK	4096u
#define MZ_MAX_BACK	(65535u + ZIP_EOCD_SIZE)

static int
add64(uint64_t a, uint64_t b, uint64_t *out)
{
	if (a > UINT64_MAX - b)
		return PAL_ERR_FORMAT;
	*out = a + b;
	return 0;
}

/* Points *p at n bytes at off. */
static int
bytes_at(const struct zip *z, uint64_t off, size_t n, const uint8_t **p)
{
	struct pal_cur c;
	int r;

	if ((r = pal_zip_at(z, off, &c)) != 0)
		return r;
	return pal_cur_bytes(&c, n, p);
}

static int
is_sig(const uint8_t *p, uint32_t sig)
{
	return p[0] == (sig & 0xff) && p[1] == ((sig >> 8) & 0xff) &&
	    p[2] == ((sig >> 16) & 0xff) && p[3] == (sig >> 24);
}

static void
dir_fail(struct zip_dir *d, const char *why, uint64_t off)
{
	d->ok = 0;
	snprintf(d->why, sizeof(d->why), "%s (offset %llu)", why,
	    (unsigned long long)off);
}

/* Python's _EndRecData. */
static int
eocd_python(const struct zip *z, uint64_t *off)
{
	uint64_t len = z->file.len, lo;
	const uint8_t *tail;
	size_t n, i;

	if (len < ZIP_EOCD_SIZE)
		return PAL_ERR_FORMAT;
	if (bytes_at(z, len - ZIP_EOCD_SIZE, ZIP_EOCD_SIZE, &tail) == 0 &&
	    is_sig(tail, ZIP_SIG_EOCD) && tail[20] == 0 && tail[21] == 0) {
		*off = len - ZIP_EOCD_SIZE;
		return 0;
	}
	lo = len > 65536 + ZIP_EOCD_SIZE ? len - 65536 - ZIP_EOCD_SIZE : 0;
	n = (size_t)(len - lo);
	if (bytes_at(z, lo, n, &tail) != 0)
		return PAL_ERR_FORMAT;
	/* rfind: the last signature, even one too close to the end. */
	for (i = n - 3; i-- > 0;) {
		if (!is_sig(tail + i, ZIP_SIG_EOCD))
			continue;
		if (n - i < ZIP_EOCD_SIZE)
			return PAL_ERR_FORMAT;
		*off = lo + i;
		return 0;
	}
	return PAL_ERR_FORMAT;
}

/* Searches one miniz block [cur, cur + n) from its end. */
static int
mz_block(const struct zip *z, uint64_t cur, size_t n, uint64_t *off)
{
	const uint8_t *blk;
	size_t i;

	if (n < 4 || bytes_at(z, cur, n, &blk) != 0)
		return 0;
	for (i = n - 3; i-- > 0;) {
		if (is_sig(blk + i, ZIP_SIG_EOCD) &&
		    z->file.len - (cur + i) >= ZIP_EOCD_SIZE) {
			*off = cur + i;
			return 1;
		}
	}
	return 0;
}

/* miniz's mz_zip_reader_locate_header_sig. */
static int
eocd_miniz(const struct zip *z, uint64_t *off)
{
	uint64_t len = z->file.len, cur;

	if (len < ZIP_EOCD_SIZE)
		return PAL_ERR_FORMAT;
	cur = len > MZ_BLOCK ? len - MZ_BLOCK : 0;
	for (;;) {
		size_t n = (size_t)(len - cur < MZ_BLOCK ? len - cur : MZ_BLOCK);

		if (mz_block(z, cur, n, off))
			return 0;
		if (cur == 0 || len - cur >= MZ_MAX_BACK)
			return PAL_ERR_FORMAT;
		cur = cur > MZ_BLOCK - 3 ? cur - (MZ_BLOCK - 3) : 0;
	}
}

/* The fields of the classic end record. */
struct eocd {
	uint16_t disk, cd_disk, on_disk, total, comment_len;
	uint32_t cd_size, cd_off;
};

static int
read_eocd(const struct zip *z, uint64_t off, struct eocd *e)
{
	struct pal_cur c;
	uint32_t sig;
	int r;

	if ((r = pal_zip_at(z, off, &c)) != 0 ||
	    (r = pal_cur_u32le(&c, &sig)) != 0 ||
	    (r = pal_cur_u16le(&c, &e->disk)) != 0 ||
	    (r = pal_cur_u16le(&c, &e->cd_disk)) != 0 ||
	    (r = pal_cur_u16le(&c, &e->on_disk)) != 0 ||
	    (r = pal_cur_u16le(&c, &e->total)) != 0 ||
	    (r = pal_cur_u32le(&c, &e->cd_size)) != 0 ||
	    (r = pal_cur_u32le(&c, &e->cd_off)) != 0 ||
	    (r = pal_cur_u16le(&c, &e->comment_len)) != 0)
		return r;
	return sig == ZIP_SIG_EOCD ? 0 : PAL_ERR_FORMAT;
}

/* The ZIP64 locator: disk of the ZIP64 record, its offset, disk count. */
struct loc64 {
	uint32_t disk, disks;
	uint64_t off;
};

static int
read_loc64(const struct zip *z, uint64_t eocd, struct loc64 *l)
{
	struct pal_cur c;
	uint32_t sig;
	int r;

	if (eocd < ZIP_LOC64_SIZE)
		return PAL_ERR_FORMAT;
	if ((r = pal_zip_at(z, eocd - ZIP_LOC64_SIZE, &c)) != 0 ||
	    (r = pal_cur_u32le(&c, &sig)) != 0 ||
	    (r = pal_cur_u32le(&c, &l->disk)) != 0 ||
	    (r = pal_cur_u64le(&c, &l->off)) != 0 ||
	    (r = pal_cur_u32le(&c, &l->disks)) != 0)
		return r;
	return sig == ZIP_SIG_LOC64 ? 0 : PAL_ERR_FORMAT;
}

struct eocd64 {
	uint64_t rec_size, on_disk, total, cd_size, cd_off;
	uint32_t disk, cd_disk;
};

static int
read_eocd64(const struct zip *z, uint64_t off, struct eocd64 *e)
{
	struct pal_cur c;
	uint32_t sig;
	int r;

	if ((r = pal_zip_at(z, off, &c)) != 0 ||
	    (r = pal_cur_u32le(&c, &sig)) != 0 ||
	    (r = pal_cur_u64le(&c, &e->rec_size)) != 0 ||
	    (r = pal_cur_skip(&c, 4)) != 0 ||
	    (r = pal_cur_u32le(&c, &e->disk)) != 0 ||
	    (r = pal_cur_u32le(&c, &e->cd_disk)) != 0 ||
	    (r = pal_cur_u64le(&c, &e->on_disk)) != 0 ||
	    (r = pal_cur_u64le(&c, &e->total)) != 0 ||
	    (r = pal_cur_u64le(&c, &e->cd_size)) != 0 ||
	    (r = pal_cur_u64le(&c, &e->cd_off)) != 0)
		return r;
	return sig == ZIP_SIG_EOCD64 ? 0 : PAL_ERR_FORMAT;
}

/* _EndRecData64: a ZIP64 record only right before its locator. */
static void
zip64_python(const struct zip *z, struct zip_dir *d)
{
	struct eocd64 e;
	struct loc64 l;

	if (read_loc64(z, d->eocd, &l) != 0)
		return;
	if (l.disk != 0 || l.disks > 1) {
		dir_fail(d, "ZIP64 locator names several disks", d->eocd - 20);
		return;
	}
	if (d->eocd < ZIP_LOC64_SIZE + ZIP_EOCD64_SIZE ||
	    read_eocd64(z, d->eocd - ZIP_LOC64_SIZE - ZIP_EOCD64_SIZE, &e) != 0)
		return;
	d->zip64 = 1;
	d->count = e.total;
	d->cd_size = e.cd_size;
	d->cd_off = e.cd_off;
}

static int
end_python(const struct zip *z, struct zip_dir *d)
{
	struct eocd e;
	uint64_t extra;

	d->ok = 1;
	if (eocd_python(z, &d->eocd) != 0 || read_eocd(z, d->eocd, &e) != 0) {
		dir_fail(d, "no end of central directory record", z->file.len);
		return PAL_ERR_FORMAT;
	}
	d->comment_len = e.comment_len;
	d->count = e.total;
	d->cd_size = e.cd_size;
	d->cd_off = e.cd_off;
	zip64_python(z, d);
	if (!d->ok)
		return PAL_ERR_FORMAT;
	/* start_dir = offset_cd + concat = end record - size_cd [- 76]. */
	extra = d->zip64 ? ZIP_LOC64_SIZE + ZIP_EOCD64_SIZE : 0;
	if (d->cd_size > d->eocd || d->eocd - d->cd_size < extra) {
		dir_fail(d, "central directory would start before the file",
		    d->eocd);
		return PAL_ERR_FORMAT;
	}
	d->cd_start = d->eocd - d->cd_size - extra;
	d->limit = z->file.len;
	return 0;
}

/* mz_zip_reader_eocd64_valid, then the locator's own offset. */
static int
zip64_miniz(const struct zip *z, struct zip_dir *d, const struct loc64 *l,
    struct eocd64 *e)
{
	if (read_eocd64(z, d->eocd - ZIP_LOC64_SIZE - ZIP_EOCD64_SIZE, e) == 0)
		return 0;
	if (z->file.len < ZIP_EOCD64_SIZE ||
	    l->off > z->file.len - ZIP_EOCD64_SIZE ||
	    read_eocd64(z, l->off, e) != 0) {
		dir_fail(d, "ZIP64 end record not found", d->eocd);
		return PAL_ERR_FORMAT;
	}
	return 0;
}

static int
apply64_miniz(const struct zip *z, struct zip_dir *d, uint32_t *disk,
    uint32_t *cd_disk, uint64_t *on_disk)
{
	struct eocd64 e;
	struct loc64 l;

	if (d->eocd < ZIP_LOC64_SIZE + ZIP_EOCD64_SIZE ||
	    read_loc64(z, d->eocd, &l) != 0)
		return 0;
	d->zip64 = 1;
	if (zip64_miniz(z, d, &l, &e) != 0)
		return PAL_ERR_FORMAT;
	if (e.rec_size < ZIP_EOCD64_SIZE - 12 || l.disks != 1 ||
	    e.total > ZIP_U32_MAX || e.on_disk > ZIP_U32_MAX ||
	    e.cd_size > ZIP_U32_MAX) {
		dir_fail(d, "ZIP64 end record out of range", d->eocd);
		return PAL_ERR_FORMAT;
	}
	d->count = e.total;
	d->cd_size = e.cd_size;
	d->cd_off = e.cd_off;
	*on_disk = e.on_disk;
	*disk = e.disk;
	*cd_disk = e.cd_disk;
	return 0;
}

/* The checks of mz_zip_reader_read_central_dir on the end records. */
static int
end_miniz(const struct zip *z, struct zip_dir *d, uint32_t *disk)
{
	uint64_t on_disk, end, arch;
	uint32_t cd_disk;
	struct eocd e;

	d->ok = 1;
	if (eocd_miniz(z, &d->eocd) != 0 || read_eocd(z, d->eocd, &e) != 0) {
		dir_fail(d, "no end of central directory record", z->file.len);
		return PAL_ERR_FORMAT;
	}
	d->comment_len = e.comment_len;
	d->count = e.total;
	d->cd_size = e.cd_size;
	d->cd_off = e.cd_off;
	on_disk = e.on_disk;
	*disk = e.disk;
	cd_disk = e.cd_disk;
	if (apply64_miniz(z, d, disk, &cd_disk, &on_disk) != 0)
		return PAL_ERR_FORMAT;
	if (d->count != on_disk || ((*disk | cd_disk) != 0 &&
	    (*disk != 1 || cd_disk != 1))) {
		dir_fail(d, "archive spans several disks", d->eocd);
		return PAL_ERR_FORMAT;
	}
	if (d->cd_size < d->count * ZIP_CENTRAL_SIZE ||
	    add64(d->cd_off, d->cd_size, &end) != 0 ||
	    end > z->file.len || d->eocd < end) {
		dir_fail(d, "central directory out of bounds", d->eocd);
		return PAL_ERR_FORMAT;
	}
	arch = d->eocd - end;
	if (d->zip64 && arch < ZIP_LOC64_SIZE + ZIP_EOCD64_SIZE) {
		dir_fail(d, "ZIP64 records overlap the directory", d->eocd);
		return PAL_ERR_FORMAT;
	}
	if (d->zip64)
		arch -= ZIP_LOC64_SIZE + ZIP_EOCD64_SIZE;
	/* miniz shrinks the archive by the data before it, but still reads
	 * every offset from the start of the file. */
	d->limit = z->file.len - arch;
	d->cd_start = d->cd_off;
	return 0;
}

/* The fixed part of a central directory record. */
struct central {
	uint16_t made_by, need, flags, method, name_len, extra_len;
	uint16_t comment_len, disk;
	uint32_t crc, csize, usize, ext_attr, lho;
};

static int
read_central(struct pal_cur *c, struct central *h)
{
	uint32_t sig;
	int r;

	if ((r = pal_cur_u32le(c, &sig)) != 0 ||
	    (r = pal_cur_u16le(c, &h->made_by)) != 0 ||
	    (r = pal_cur_u16le(c, &h->need)) != 0 ||
	    (r = pal_cur_u16le(c, &h->flags)) != 0 ||
	    (r = pal_cur_u16le(c, &h->method)) != 0 ||
	    (r = pal_cur_skip(c, 4)) != 0 ||
	    (r = pal_cur_u32le(c, &h->crc)) != 0 ||
	    (r = pal_cur_u32le(c, &h->csize)) != 0 ||
	    (r = pal_cur_u32le(c, &h->usize)) != 0 ||
	    (r = pal_cur_u16le(c, &h->name_len)) != 0 ||
	    (r = pal_cur_u16le(c, &h->extra_len)) != 0 ||
	    (r = pal_cur_u16le(c, &h->comment_len)) != 0 ||
	    (r = pal_cur_u16le(c, &h->disk)) != 0 ||
	    (r = pal_cur_skip(c, 2)) != 0 ||
	    (r = pal_cur_u32le(c, &h->ext_attr)) != 0 ||
	    (r = pal_cur_u32le(c, &h->lho)) != 0)
		return r;
	return sig == ZIP_SIG_CENTRAL ? 0 : PAL_ERR_FORMAT;
}

/*
 * The ZIP64 extended information field (0x0001) of an extra block: each
 * 64-bit value is present, in this order, only when its 32-bit field is
 * all ones.  strict (Python) also requires every other field of the block
 * to be well formed; otherwise (miniz) only the first 0x0001 field is read.
 */
struct z64 {
	uint64_t *usize, *csize, *lho;
};

static int
z64_field(struct pal_cur *f, const struct z64 *v)
{
	uint64_t *want[3];
	size_t i;
	int r;

	want[0] = v->usize;
	want[1] = v->csize;
	want[2] = v->lho;
	for (i = 0; i < 3; i++) {
		if (want[i] == NULL || *want[i] != ZIP_U32_MAX)
			continue;
		if ((r = pal_cur_u64le(f, want[i])) != 0)
			return PAL_ERR_FORMAT;
	}
	return 0;
}

static int
parse_extra(const uint8_t *p, size_t n, const struct z64 *v, int strict,
    int *found)
{
	struct pal_cur c, f;
	uint16_t id, len;
	int r;

	pal_cur_init(&c, p, n);
	*found = 0;
	while (pal_cur_left(&c) >= 4) {
		if ((r = pal_cur_u16le(&c, &id)) != 0 ||
		    (r = pal_cur_u16le(&c, &len)) != 0 ||
		    (r = pal_cur_sub(&c, len, &f)) != 0)
			return PAL_ERR_FORMAT;
		if (id != 0x0001)
			continue;
		*found = 1;
		if ((r = z64_field(&f, v)) != 0)
			return r;
		/* miniz stops at the first ZIP64 field. */
		if (!strict)
			return 0;
	}
	/* miniz rejects a trailing fragment; Python ignores it. */
	return !strict && pal_cur_left(&c) != 0 ? PAL_ERR_FORMAT : 0;
}

/* Python decodes a name flagged UTF-8 strictly, and cp437 otherwise. */
static int
name_decodes(const uint8_t *name, size_t n, uint16_t flags)
{
	return !(flags & ZIP_F_UTF8) || pal_utf8_valid((const char *)name, n);
}

static void
fill_rec(struct zip_rec *r, const struct central *h, uint64_t cen_off,
    const uint8_t *name)
{
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->name_len = h->name_len;
	r->cen_off = cen_off;
	r->made_by = h->made_by;
	r->flags = h->flags;
	r->method = h->method;
	r->crc = h->crc;
	r->csize = h->csize;
	r->usize = h->usize;
	r->lho = h->lho;
	r->ext_attr = h->ext_attr;
}

/* Python's header offset: declared + concat, if that is in the file. */
static int
py_offset(const struct zip_dir *d, uint64_t lho, uint64_t *out)
{
	if (lho >= d->cd_off)
		return add64(d->cd_start, lho - d->cd_off, out);
	if (d->cd_off - lho > d->cd_start)
		return PAL_ERR_FORMAT;
	*out = d->cd_start - (d->cd_off - lho);
	return 0;
}

/* Adds a record, or merges it with the Python view's identical one. */
static int
add_rec(struct zip *z, enum zip_view v, const struct zip_rec *tmp,
    size_t npy)
{
	size_t lo = 0, hi = npy;
	struct zip_rec *r;

	while (v == ZIP_VIEW_TORCH && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (z->recs[mid].cen_off < tmp->cen_off) {
			lo = mid + 1;
		} else if (z->recs[mid].cen_off > tmp->cen_off) {
			hi = mid;
		} else {
			if (z->recs[mid].lho != tmp->lho)
				break;
			z->recs[mid].views |= ZIP_IN_TORCH;
			return 0;
		}
	}
	if ((r = pal_zip_rec_new(z)) == NULL)
		return z->capped ? 0 : PAL_ERR_NOMEM;
	*r = *tmp;
	r->views = 1u << v;
	return 0;
}

/* One central record under Python's rules. */
static int
python_rec(struct zip_dir *d, struct pal_cur *c,
    struct zip_rec *out)
{
	uint64_t at = d->cd_start + c->off;
	const uint8_t *name, *extra;
	struct central h;
	struct z64 v;
	int found;

	if (read_central(c, &h) != 0) {
		dir_fail(d, "bad central directory record", at);
		return PAL_ERR_FORMAT;
	}
	if (pal_cur_bytes(c, h.name_len, &name) != 0 ||
	    pal_cur_bytes(c, h.extra_len, &extra) != 0 ||
	    pal_cur_skip(c, h.comment_len) != 0) {
		dir_fail(d, "truncated central directory record", at);
		return PAL_ERR_FORMAT;
	}
	fill_rec(out, &h, at, name);
	v.usize = &out->usize;
	v.csize = &out->csize;
	v.lho = &out->lho;
	if ((h.need & 0xff) > 63 || !name_decodes(name, h.name_len, h.flags) ||
	    parse_extra(extra, h.extra_len, &v, 1, &found) != 0) {
		dir_fail(d, "central record Python's zipfile refuses", at);
		return PAL_ERR_FORMAT;
	}
	return 0;
}

/* zipfile._RealGetContents: records until their sizes fill size_cd. */
static int
read_python(struct zip *z)
{
	struct zip_dir *d = &z->dir[ZIP_VIEW_PY];
	struct zip_rec tmp;
	struct pal_cur c;
	uint64_t n;
	int r;

	if (end_python(z, d) != 0)
		return 0;
	n = z->file.len - d->cd_start;
	if (pal_zip_at(z, d->cd_start, &c) != 0 ||
	    pal_cur_sub(&c, (size_t)(n < d->cd_size ? n : d->cd_size), &c))
		return 0;
	while (c.off < d->cd_size && !z->capped) {
		if (python_rec(d, &c, &tmp) != 0)
			return 0;
		if (py_offset(d, tmp.lho, &tmp.lho) != 0)
			tmp.lho = ZIP_NONE;
		if ((r = add_rec(z, ZIP_VIEW_PY, &tmp, 0)) != 0)
			return r;
		d->nrecs++;
	}
	return 0;
}

/* The per-record checks of mz_zip_reader_read_central_dir. */
static int
miniz_ok(const struct zip_dir *d, const struct central *h, uint32_t disk)
{
	uint64_t end;

	if (h->csize != ZIP_U32_MAX && h->usize != ZIP_U32_MAX &&
	    ((h->method == ZIP_M_STORED && h->usize != h->csize) ||
	    (h->usize != 0 && h->csize == 0)))
		return 0;
	if (h->disk == 0xffff || (h->disk != disk && h->disk != 1))
		return 0;
	if (h->csize != ZIP_U32_MAX &&
	    ((end = (uint64_t)h->lho + ZIP_LOCAL_SIZE + h->csize) > d->limit))
		return 0;
	return !(h->flags & ZIP_F_MASKED);
}

/* One central record under miniz's rules. */
static int
miniz_rec(struct zip_dir *d, struct pal_cur *c,
    uint32_t disk, struct zip_rec *out)
{
	uint64_t at = d->cd_start + c->off;
	const uint8_t *name, *extra;
	struct central h;
	struct z64 v;
	int found;

	if (read_central(c, &h) != 0 || !miniz_ok(d, &h, disk)) {
		dir_fail(d, "central record PyTorch's reader refuses", at);
		return PAL_ERR_FORMAT;
	}
	if (pal_cur_bytes(c, h.name_len, &name) != 0 ||
	    pal_cur_bytes(c, h.extra_len, &extra) != 0 ||
	    pal_cur_skip(c, h.comment_len) != 0) {
		dir_fail(d, "truncated central directory record", at);
		return PAL_ERR_FORMAT;
	}
	fill_rec(out, &h, at, name);
	v.usize = &out->usize;
	v.csize = &out->csize;
	v.lho = &out->lho;
	if ((h.csize == ZIP_U32_MAX || h.usize == ZIP_U32_MAX ||
	    h.lho == ZIP_U32_MAX) &&
	    parse_extra(extra, h.extra_len, &v, 0, &found) != 0) {
		dir_fail(d, "bad ZIP64 extra field", at);
		return PAL_ERR_FORMAT;
	}
	return 0;
}

/* miniz: exactly count records inside cd_size bytes at cd_off. */
static int
read_miniz(struct zip *z, size_t npy)
{
	struct zip_dir *d = &z->dir[ZIP_VIEW_TORCH];
	struct zip_rec tmp;
	struct pal_cur c;
	uint32_t disk;
	uint64_t i;
	int r;

	if (end_miniz(z, d, &disk) != 0)
		return 0;
	if (pal_zip_at(z, d->cd_start, &c) != 0 ||
	    pal_cur_sub(&c, (size_t)d->cd_size, &c) != 0)
		return 0;
	for (i = 0; i < d->count && !z->capped; i++) {
		if (miniz_rec(d, &c, disk, &tmp) != 0)
			return 0;
		if ((r = add_rec(z, ZIP_VIEW_TORCH, &tmp, npy)) != 0)
			return r;
		d->nrecs++;
	}
	return 0;
}

static int
ci_equal(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	size_t i;

	if (an != bn)
		return 0;
	for (i = 0; i < an; i++) {
		uint8_t x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return 1;
}

/* Whether the view lists <prefix>/<leaf>, compared as miniz compares. */
static int
has_record(const struct zip *z, unsigned bit, const struct zip_dir *d,
    const char *leaf)
{
	size_t i, n = strlen(leaf);

	for (i = 0; i < z->nrecs; i++) {
		const struct zip_rec *r = &z->recs[i];

		if (!(r->views & bit) || r->name_len != d->prefix_len + 1 + n ||
		    r->name[d->prefix_len] != '/')
			continue;
		if (ci_equal(r->name, d->prefix_len, (const uint8_t *)d->prefix,
		    d->prefix_len) && ci_equal(r->name + d->prefix_len + 1, n,
		    (const uint8_t *)leaf, n))
			return 1;
	}
	return 0;
}

/*
 * PyTorch's archive name: the first record's name up to its first '/'.
 * The view holds a PyTorch archive when it lists data.pkl (torch.save)
 * or constants.pkl (torch.jit.save) under that name.
 */
void
pal_zip_find_prefix(const struct zip *z, unsigned bit, struct zip_dir *d)
{
	const struct zip_rec *first = NULL;
	const uint8_t *slash;
	size_t i;

	for (i = 0; i < z->nrecs && first == NULL; i++)
		if (z->recs[i].views & bit)
			first = &z->recs[i];
	if (!d->ok || first == NULL ||
	    (slash = memchr(first->name, '/', first->name_len)) == NULL)
		return;
	d->prefix_len = (size_t)(slash - first->name);
	if (d->prefix_len >= sizeof(d->prefix))
		return;
	memcpy(d->prefix, first->name, d->prefix_len);
	d->prefix[d->prefix_len] = '\0';
	d->torchscript = has_record(z, bit, d, "constants.pkl");
	d->torch = d->torchscript || has_record(z, bit, d, "data.pkl");
}

int
pal_zip_read_dirs(struct zip *z)
{
	size_t i, npy;
	int r;

	if ((r = read_python(z)) != 0)
		return r;
	npy = z->nrecs;
	if ((r = read_miniz(z, npy)) != 0)
		return r;
	for (i = 0; i < z->nrecs; i++)
		pal_zip_resolve(z, &z->recs[i]);
	pal_zip_find_prefix(z, ZIP_IN_PY, &z->dir[ZIP_VIEW_PY]);
	pal_zip_find_prefix(z, ZIP_IN_TORCH, &z->dir[ZIP_VIEW_TORCH]);
	return 0;
}

/* The local header's ZIP64 field carries both sizes when either is full. */
static void
local_zip64(struct zip_local *l, const uint8_t *extra)
{
	struct z64 v;
	int found = 0;

	v.usize = &l->usize;
	v.csize = &l->csize;
	v.lho = NULL;
	if (parse_extra(extra, l->extra_len, &v, 0, &found) == 0)
		l->zip64 = found;
}

int
pal_zip_read_local(const struct zip *z, uint64_t off, struct zip_local *l)
{
	const uint8_t *extra;
	uint32_t sig, cs, us;
	struct pal_cur c;
	int r;

	memset(l, 0, sizeof(*l));
	if ((r = pal_zip_at(z, off, &c)) != 0 ||
	    (r = pal_cur_u32le(&c, &sig)) != 0 ||
	    (r = pal_cur_u16le(&c, &l->version)) != 0 ||
	    (r = pal_cur_u16le(&c, &l->flags)) != 0 ||
	    (r = pal_cur_u16le(&c, &l->method)) != 0 ||
	    (r = pal_cur_skip(&c, 4)) != 0 ||
	    (r = pal_cur_u32le(&c, &l->crc)) != 0 ||
	    (r = pal_cur_u32le(&c, &cs)) != 0 ||
	    (r = pal_cur_u32le(&c, &us)) != 0 ||
	    (r = pal_cur_u16le(&c, &l->name_len)) != 0 ||
	    (r = pal_cur_u16le(&c, &l->extra_len)) != 0 ||
	    (r = pal_cur_bytes(&c, l->name_len, &l->name)) != 0 ||
	    (r = pal_cur_bytes(&c, l->extra_len, &extra)) != 0)
		return r;
	if (sig != ZIP_SIG_LOCAL)
		return PAL_ERR_FORMAT;
	l->csize = cs;
	l->usize = us;
	l->data_off = c.off;
	if (cs == ZIP_U32_MAX || us == ZIP_U32_MAX || l->extra_len > 0)
		local_zip64(l, extra);
	return 0;
}

/* One reading of a data descriptor: 4-byte or 8-byte sizes. */
struct desc {
	uint32_t crc;
	uint64_t csize, usize;
	uint64_t end;
	int ok;
};

static void
desc_form(const struct zip *z, uint64_t at, int wide, struct desc *d)
{
	uint32_t sig, cs, us;
	struct pal_cur c;

	d->ok = 0;
	if (pal_zip_at(z, at, &c) != 0 || pal_cur_u32le(&c, &sig) != 0)
		return;
	if (sig != ZIP_SIG_DESC)
		c.off -= 4;
	if (pal_cur_u32le(&c, &d->crc) != 0)
		return;
	if (wide) {
		if (pal_cur_u64le(&c, &d->csize) != 0 ||
		    pal_cur_u64le(&c, &d->usize) != 0)
			return;
	} else {
		if (pal_cur_u32le(&c, &cs) != 0 || pal_cur_u32le(&c, &us) != 0)
			return;
		d->csize = cs;
		d->usize = us;
	}
	d->end = c.off;
	d->ok = 1;
}

static int
desc_fits(const struct desc *d, const struct zip_rec *r)
{
	return d->ok && d->crc == r->crc && d->csize == r->csize &&
	    d->usize == r->usize;
}

/*
 * The data descriptor after a member's data: an optional signature, the
 * CRC, then the sizes, 8 bytes each when the member has a ZIP64 field.
 * Writers disagree on when to use the wide form, so the form whose values
 * match the central record is taken; if neither does, the expected one.
 */
static void
read_desc(const struct zip *z, struct zip_rec *r, uint64_t at)
{
	int wide = r->loc.zip64 || r->csize >= ZIP_U32_MAX ||
	    r->usize >= ZIP_U32_MAX;
	struct desc d[2];

	desc_form(z, at, wide, &d[0]);
	desc_form(z, at, !wide, &d[1]);
	if (!desc_fits(&d[0], r) && desc_fits(&d[1], r))
		d[0] = d[1];
	if (!d[0].ok)
		return;
	r->has_desc = 1;
	r->desc_crc = d[0].crc;
	r->desc_csize = d[0].csize;
	r->desc_usize = d[0].usize;
	r->end = d[0].end;
}

void
pal_zip_resolve(struct zip *z, struct zip_rec *r)
{
	uint64_t end;

	r->has_local = 0;
	if (r->lho == ZIP_NONE || pal_zip_read_local(z, r->lho, &r->loc) != 0)
		return;
	if (add64(r->loc.data_off, r->csize, &end) != 0)
		return;
	r->has_local = 1;
	r->end = end;
	if (r->loc.flags & ZIP_F_DESCRIPTOR)
		read_desc(z, r, end);
}
