/*
 * archive_stream.c - compression wrappers: gzip, bzip2, xz, lzma ("LZMA
 * alone"), zstd and lz4 frames through libarchive's raw format, and zlib
 * streams (joblib's default compressor) through zlib.
 *
 * The decompressed bytes are scanned as one child, "<decompressed>", whose
 * format is detected from its content: a pickle, a tar (so a .tar.gz is
 * gzip, then tar), or another wrapper, nested no deeper than
 * limits.max_depth.  What a loader would read is what we scan: gzip,
 * bzip2, xz, zstd and lz4 streams made of several concatenated members
 * decompress to their concatenation, as Python's modules and joblib read
 * them, and so do concatenated zlib streams, as joblib's zlib reader does.
 *
 * Trusted: nothing in the input.  Every output byte is charged to the
 * expansion budget and the ratio limit before it is kept (archive_meter.c).
 * Bytes after the end of the stream are reported; a stream that ends
 * early or fails to decode is an error, after what it did decode has been
 * scanned (a loader would have unpickled that much before failing).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive_int.h"

#define STREAM_NAME "<decompressed>"

/* Input handed to zlib per call (its counters are 32-bit). */
#define ZLIB_IN_CHUNK ((size_t)1 << 20)

/* The libarchive filter that must decode each format, and no other. */
struct wrapper {
	enum pal_format format;
	int code;				/* ARCHIVE_FILTER_* */
	int (*enable)(struct archive *);	/* registers its reader */
};

static const struct wrapper wrappers[] = {
	{ PAL_FMT_GZIP, ARCHIVE_FILTER_GZIP, archive_read_support_filter_gzip },
	{ PAL_FMT_BZIP2, ARCHIVE_FILTER_BZIP2,
	  archive_read_support_filter_bzip2 },
	{ PAL_FMT_XZ, ARCHIVE_FILTER_XZ, archive_read_support_filter_xz },
	{ PAL_FMT_LZMA, ARCHIVE_FILTER_LZMA, archive_read_support_filter_lzma },
	{ PAL_FMT_ZSTD, ARCHIVE_FILTER_ZSTD, archive_read_support_filter_zstd },
	{ PAL_FMT_LZ4, ARCHIVE_FILTER_LZ4, archive_read_support_filter_lz4 },
};

static const struct wrapper *
wrapper_for(enum pal_format f)
{
	size_t i;

	for (i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++)
		if (wrappers[i].format == f)
			return &wrappers[i];
	return NULL;
}

/*
 * The decompressed stream may be anything a loader unpickles; every
 * compressor here is one joblib writes, so the pickle scanner is told it
 * may meet joblib's array layout.
 */
static int
scan_output(struct pal_scan *s, const struct pal_scan_item *it,
    const struct pal_buf *out)
{
	return pal_scan_child(s, it, STREAM_NAME, out->p, out->len,
	    PAL_HINT_JOBLIB);
}

/* Bytes after the end of the stream: hidden from every decompressor. */
static int
check_trailing(struct pal_scan *s, const struct pal_scan_item *it,
    size_t end)
{
	struct pal_cur c;
	const uint8_t *rest;
	size_t n;

	if (end >= it->len)
		return 0;
	n = it->len - end;
	pal_cur_init(&c, it->data, it->len);
	if (pal_cur_seek(&c, end) != 0 || pal_cur_bytes(&c, n, &rest) != 0)
		return 0;
	/* Zero padding (tape blocks) is read past by gzip and Python alike. */
	if (!pal_arc_nonzero(rest, n))
		return 0;
	return pal_scan_find_at(s, it, "archive.trailing-data", end,
	    "%zu bytes follow the end of the %s stream; no decompressor "
	    "reads them", n, pal_format_name(it->format));
}

/*
 * Scans what a failed decode produced, then returns the failure (kept in
 * s->err across the child scan, which clears it).
 */
static int
scan_partial(struct pal_scan *s, const struct pal_scan_item *it,
    const struct pal_buf *out, int fail)
{
	struct pal_err saved = s->err;
	int r;

	if ((fail != PAL_ERR_FORMAT && fail != PAL_ERR_TRUNCATED) ||
	    out->len == 0)
		return fail;
	if ((r = scan_output(s, it, out)) != 0)
		return r;
	s->err = saved;
	return fail;
}

static int
la_open(struct pal_scan *s, const struct pal_scan_item *it,
    const struct wrapper *w, struct archive **out)
{
	struct archive *a;
	int r;

	*out = NULL;
	if ((a = archive_read_new()) == NULL)
		return PAL_ERR_NOMEM;
	/* ARCHIVE_WARN here means libarchive would run an external program
	 * to decompress: never, and the sandbox would kill us for it. */
	if ((r = w->enable(a)) != ARCHIVE_OK) {
		archive_read_free(a);
		return pal_err_set(&s->err, PAL_ERR_UNSUPPORTED,
		    "this build of libarchive cannot decode %s itself (%d); "
		    "not scanned", pal_format_name(it->format), r);
	}
	if (archive_read_support_format_raw(a) != ARCHIVE_OK ||
	    archive_read_support_format_empty(a) != ARCHIVE_OK) {
		archive_read_free(a);
		return pal_err_set(&s->err, PAL_ERR_SYSTEM,
		    "libarchive has no raw format reader");
	}
	*out = a;
	return 0;
}

/*
 * After the header: the innermost decoder must be the wrapper's own (the
 * "none" filter alone means libarchive did not accept the header and the
 * raw reader would hand back the compressed bytes unchanged).
 */
static int
la_check_filter(struct pal_scan *s, const struct pal_scan_item *it,
    struct archive *a, const struct wrapper *w)
{
	int n = archive_filter_count(a);

	if (n < 2 || archive_filter_code(a, n - 2) != w->code)
		return pal_err_set(&s->err, PAL_ERR_FORMAT,
		    "not a %s stream libarchive accepts (offset 0)",
		    pal_format_name(it->format));
	return 0;
}

static int
la_header(struct pal_scan *s, const struct pal_scan_item *it,
    struct archive *a, const struct wrapper *w, int *empty)
{
	struct archive_entry *e;
	const char *msg;
	int r;

	*empty = 0;
	if (archive_read_open_memory(a, it->data, it->len) == ARCHIVE_OK) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
			return la_check_filter(s, it, a, w);
		if (r == ARCHIVE_EOF && archive_format(a) == ARCHIVE_FORMAT_EMPTY) {
			*empty = 1;
			return la_check_filter(s, it, a, w);
		}
	}
	msg = archive_error_string(a);
	return pal_err_set(&s->err, PAL_ERR_FORMAT, "%s stream: %s",
	    pal_format_name(it->format), msg != NULL ? msg :
	    "libarchive cannot read it");
}

/* Bytes of the input the decoders consumed. */
static size_t
la_consumed(struct archive *a, size_t len)
{
	la_int64_t n = archive_filter_bytes(a, archive_filter_count(a) - 1);

	if (n < 0 || (uint64_t)n > len)
		return len;
	return (size_t)n;
}

/* LZ4 frame format: magic numbers and FLG bits. */
#define LZ4_MAGIC		0x184D2204u
#define LZ4_LEGACY_MAGIC	0x184C2102u
#define LZ4_SKIP_MAGIC		0x184D2A50u	/* low 4 bits vary */
#define LZ4_FLG_BLOCK_SUM	0x10
#define LZ4_FLG_SIZE		0x08
#define LZ4_FLG_CONTENT_SUM	0x04
#define LZ4_FLG_DICT		0x01

/* Skips the blocks of one frame, after its header; 0 or -1. */
static int
lz4_blocks(struct pal_cur *c, uint8_t flg)
{
	uint32_t bsize;

	for (;;) {
		if (pal_cur_u32le(c, &bsize) != 0)
			return -1;
		if (bsize == 0)
			break;
		if (pal_cur_skip(c, bsize & 0x7fffffffu) != 0 ||
		    ((flg & LZ4_FLG_BLOCK_SUM) && pal_cur_skip(c, 4) != 0))
			return -1;
	}
	if ((flg & LZ4_FLG_CONTENT_SUM) && pal_cur_skip(c, 4) != 0)
		return -1;
	return 0;
}

/* One frame or skippable frame after its magic; 0, or -1 if damaged. */
static int
lz4_frame(struct pal_cur *c, uint32_t magic)
{
	uint32_t skip;
	uint8_t flg, bd;

	if ((magic & 0xfffffff0u) == LZ4_SKIP_MAGIC)
		return pal_cur_u32le(c, &skip) == 0 &&
		    pal_cur_skip(c, skip) == 0 ? 0 : -1;
	if (pal_cur_u8(c, &flg) != 0 || pal_cur_u8(c, &bd) != 0 ||
	    (flg >> 6) != 1)
		return -1;
	if (((flg & LZ4_FLG_SIZE) && pal_cur_skip(c, 8) != 0) ||
	    ((flg & LZ4_FLG_DICT) && pal_cur_skip(c, 4) != 0) ||
	    pal_cur_skip(c, 1) != 0)	/* header checksum */
		return -1;
	return lz4_blocks(c, flg);
}

/*
 * Where the last lz4 frame ends.  libarchive reads four bytes past the
 * last frame looking for another, so its count of consumed bytes hides
 * the first four bytes of trailing data; the frames are walked here
 * instead.  Legacy frames carry no end mark: for them, and for anything
 * the walk cannot follow, libarchive's count stands.
 */
static size_t
lz4_end(const struct pal_scan_item *it, size_t fallback)
{
	struct pal_cur c;
	uint32_t magic;
	size_t end = 0;

	pal_cur_init(&c, it->data, it->len);
	while (pal_cur_u32le(&c, &magic) == 0) {
		if (magic != LZ4_MAGIC &&
		    (magic & 0xfffffff0u) != LZ4_SKIP_MAGIC)
			break;
		if (lz4_frame(&c, magic) != 0)
			return fallback;
		end = c.off;
	}
	if (end == 0 || magic == LZ4_LEGACY_MAGIC)
		return fallback;
	return end;
}

static int
decode_libarchive(struct pal_scan *s, const struct pal_scan_item *it,
    const struct wrapper *w, struct pal_buf *out, size_t *end)
{
	struct pal_arc_meter m = { it->len, 0 };
	struct archive *a = NULL;
	uint8_t *chunk = NULL;
	int empty, r;

	if ((r = la_open(s, it, w, &a)) != 0)
		goto out;
	if ((r = la_header(s, it, a, w, &empty)) != 0)
		goto out;
	if (!empty) {
		if ((chunk = malloc(PAL_ARC_CHUNK)) == NULL) {
			r = PAL_ERR_NOMEM;
			goto out;
		}
		if ((r = pal_arc_read_entry(s, it, a, &m, out, chunk,
		    STREAM_NAME)) != 0)
			goto out;
	}
	*end = la_consumed(a, it->len);
	if (it->format == PAL_FMT_LZ4)
		*end = lz4_end(it, *end);
out:
	if (a != NULL)
		archive_read_free(a);
	free(chunk);
	return r;
}

/* RFC 1950 header with a 32 KiB window: what starts another zlib stream. */
static int
zlib_header_at(const struct pal_scan_item *it, size_t off)
{
	struct pal_cur c;
	uint8_t cmf, flg;

	pal_cur_init(&c, it->data, it->len);
	if (pal_cur_seek(&c, off) != 0 || pal_cur_u8(&c, &cmf) != 0 ||
	    pal_cur_u8(&c, &flg) != 0)
		return 0;
	return cmf == 0x78 && ((unsigned)cmf << 8 | flg) % 31 == 0;
}

struct zlib_run {
	z_stream z;
	struct pal_cur in;	/* input not yet handed to zlib */
	struct pal_arc_meter m;
	struct pal_buf out;
	uint8_t *chunk;
	size_t end;		/* offset just past the last complete stream */
};

/* Hands zlib the next slice of input once it has used the last. */
static void
zlib_feed(struct zlib_run *zr)
{
	const uint8_t *p;
	size_t n = pal_cur_left(&zr->in);

	if (zr->z.avail_in != 0 || n == 0)
		return;
	if (n > ZLIB_IN_CHUNK)
		n = ZLIB_IN_CHUNK;
	if (pal_cur_bytes(&zr->in, n, &p) != 0)
		return;
	zr->z.next_in = p;
	zr->z.avail_in = (uInt)n;
}

/* Offset of the next byte zlib has not consumed. */
static size_t
zlib_pos(const struct zlib_run *zr)
{
	return zr->in.off - zr->z.avail_in;
}

static int
zlib_fail(struct pal_scan *s, const struct zlib_run *zr, int zr_code)
{
	if (zr_code == Z_BUF_ERROR)
		return pal_err_set(&s->err, PAL_ERR_TRUNCATED,
		    "zlib stream truncated at offset %zu after %llu bytes",
		    zlib_pos(zr), (unsigned long long)zr->out.len);
	if (zr_code == Z_MEM_ERROR)
		return PAL_ERR_NOMEM;
	return pal_err_set(&s->err, PAL_ERR_FORMAT,
	    "zlib stream corrupt near offset %zu: %s", zlib_pos(zr),
	    zr->z.msg != NULL ? zr->z.msg :
	    zr_code == Z_NEED_DICT ? "needs a preset dictionary" :
	    "inflate failed");
}

/*
 * Inflates every concatenated stream.  Returns 0 at the end of the last
 * complete stream (zr->end says where), or a negative PAL_ERR_*.
 */
static int
zlib_run(struct pal_scan *s, const struct pal_scan_item *it,
    struct zlib_run *zr)
{
	size_t produced;
	int zc, r;

	for (;;) {
		zlib_feed(zr);
		zr->z.next_out = zr->chunk;
		zr->z.avail_out = (uInt)PAL_ARC_CHUNK;
		zc = inflate(&zr->z, Z_NO_FLUSH);
		produced = PAL_ARC_CHUNK - zr->z.avail_out;
		if (produced > 0) {
			if ((r = pal_arc_charge(s, it, &zr->m, produced,
			    STREAM_NAME)) != 0)
				return r;
			if ((r = pal_buf_append(&zr->out, zr->chunk,
			    produced)) != 0)
				return pal_err_set(&s->err, PAL_ERR_LIMIT,
				    "cannot hold %zu decompressed bytes",
				    zr->out.len + produced);
		}
		if (zc == Z_STREAM_END) {
			zr->end = zlib_pos(zr);
			if (!zlib_header_at(it, zr->end))
				return 0;
			if (inflateReset(&zr->z) != Z_OK)
				return zlib_fail(s, zr, Z_STREAM_ERROR);
			continue;
		}
		if (zc == Z_OK)
			continue;
		/* No progress: more input is needed and there is none. */
		if (zc == Z_BUF_ERROR && zr->z.avail_in == 0 &&
		    pal_cur_left(&zr->in) != 0)
			continue;
		return zlib_fail(s, zr, zc);
	}
}

static int
decode_zlib(struct pal_scan *s, const struct pal_scan_item *it,
    struct pal_buf *out, size_t *end)
{
	struct zlib_run zr;
	int r, inited = 0;

	memset(&zr, 0, sizeof(zr));
	pal_cur_init(&zr.in, it->data, it->len);
	zr.m.in_len = it->len;
	zr.out = *out;
	if ((zr.chunk = malloc(PAL_ARC_CHUNK)) == NULL) {
		r = PAL_ERR_NOMEM;
		goto out;
	}
	if (inflateInit(&zr.z) != Z_OK) {
		r = PAL_ERR_NOMEM;
		goto out;
	}
	inited = 1;
	if ((r = zlib_run(s, it, &zr)) == 0)
		*end = zr.end;
out:
	if (inited)
		inflateEnd(&zr.z);
	free(zr.chunk);
	*out = zr.out;
	return r;
}

int
pal_arc_decode(struct pal_scan *s, const struct pal_scan_item *it,
    struct pal_buf *out, size_t *end)
{
	const struct wrapper *w;

	*end = 0;
	pal_buf_free(out);
	pal_buf_init(out, SIZE_MAX - 1);
	if (it->format == PAL_FMT_ZLIB)
		return decode_zlib(s, it, out, end);
	if ((w = wrapper_for(it->format)) == NULL)
		return pal_err_set(&s->err, PAL_ERR_INVALID,
		    "%s is not a compression format",
		    pal_format_name(it->format));
	return decode_libarchive(s, it, w, out, end);
}

int
pal_fmt_compressed(struct pal_scan *s, const struct pal_scan_item *it)
{
	struct pal_buf out;
	size_t end;
	int r;

	pal_buf_init(&out, 0);
	if ((r = pal_arc_decode(s, it, &out, &end)) != 0) {
		r = scan_partial(s, it, &out, r);
		goto out;
	}
	if ((r = check_trailing(s, it, end)) != 0)
		goto out;
	r = scan_output(s, it, &out);
out:
	pal_buf_free(&out);
	return r;
}
