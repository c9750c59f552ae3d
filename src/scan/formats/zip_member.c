/*
 * zip_member.c - reading members and scanning what a loader deserializes.
 *
 * Every member any view lists, and every hidden one, is read the way its
 * header says and scanned with pal_scan_child(), so that content detection
 * decides what it is (a Keras v3 archive's config.json is JSON, and the
 * JSON scanner hands Keras configurations to the Keras check).  Two kinds
 * are treated specially:
 *
 *   - raw tensor storage of a PyTorch archive (<archive>/data/<key> and,
 *     for TorchScript, <archive>/constants/<key>) is bytes that torch
 *     copies into tensors and never unpickles: it is not read at all, so
 *     that a 1 GB checkpoint costs a few page faults;
 *   - TorchScript source (<archive>/code/...py) is compiled by torch at
 *     load: it is checked as text for native library loading, file reads
 *     and operators from namespaces PyTorch does not ship.
 *
 * Stored members are passed as slices of the input (no copy).  Deflated
 * members are inflated into a buffer that grows as output appears, up to
 * limits.max_ratio times the compressed size and the session's expansion
 * budget; a declared size is never used to allocate.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "palisade/buf.h"
#include "zip_int.h"

#define NAME(r)	(int)(r)->name_len, (const char *)(r)->name

#define INFLATE_CHUNK	65536

/* A member's bytes: a slice of the input, or an inflated buffer. */
struct body {
	const uint8_t *p;
	size_t len;
	struct pal_buf buf;	/* owns the bytes when inflated */
	int complete;		/* all of it (no limit cut it short) */
	int corrupt;		/* the deflate stream is broken */
};

/* Namespaces of operators PyTorch and its own libraries register. */
static const char *const torch_op_ns[] = {
	"aten", "prim", "quantized", "_quantized", "prepacked", "profiler",
	"cuda", "_caffe2", "quantized_decomposed", "torchvision",
	"torchaudio", "torchtext", "fbgemm", "mkldnn", "xnnpack", "onednn",
	NULL,
};

static int
starts_with(const struct zip_rec *r, const char *p, size_t pn,
    const char *s)
{
	size_t sn = strlen(s);

	return r->name_len > pn + sn && memcmp(r->name, p, pn) == 0 &&
	    memcmp(r->name + pn, s, sn) == 0;
}

static int
ends_with(const struct zip_rec *r, const char *s)
{
	size_t n = strlen(s);

	return r->name_len >= n &&
	    memcmp(r->name + r->name_len - n, s, n) == 0;
}

/* The PyTorch view (if any) in which r belongs to a PyTorch archive. */
static const struct zip_dir *
torch_dir(const struct zip *z, const struct zip_rec *r)
{
	int v;

	for (v = 0; v < ZIP_NVIEWS; v++)
		if ((r->views & (1u << v)) && z->dir[v].torch)
			return &z->dir[v];
	if ((r->views & ZIP_IN_WALK) && z->walked.torch)
		return &z->walked;
	return NULL;
}

/* Raw tensor bytes: <archive>/data/<key> or <archive>/constants/<key>. */
static int
is_storage(const struct zip *z, const struct zip_rec *r)
{
	const struct zip_dir *d = torch_dir(z, r);

	return d != NULL && (starts_with(r, d->prefix, d->prefix_len,
	    "/data/") || starts_with(r, d->prefix, d->prefix_len,
	    "/constants/"));
}

static int
is_torchscript_code(const struct zip *z, const struct zip_rec *r)
{
	const struct zip_dir *d = torch_dir(z, r);

	return d != NULL && starts_with(r, d->prefix, d->prefix_len,
	    "/code/") && ends_with(r, ".py");
}

/* Deferred errors name the member; children overwrite s->err meanwhile. */
static void
defer_rec(struct zip *z, int code, const struct zip_rec *r, const char *what)
{
	pal_zip_defer(z, code, "zip entry '%.*s' (local header at offset "
	    "%llu): %s", NAME(r), (unsigned long long)r->lho, what);
}

/* Adds one inflated chunk, charging the session's expansion budget. */
static int
take_chunk(struct zip *z, const struct zip_rec *r, struct body *b,
    const uint8_t *chunk, size_t n)
{
	int rc;

	if (pal_scan_expand(z->s, n) != 0) {
		rc = pal_scan_find_at(z->s, z->it, "scan.limit", r->lho,
		    "'%.*s': inflating it exceeds the decompression budget; "
		    "scanned as far as it goes", NAME(r));
		return rc != 0 ? rc : PAL_ERR_LIMIT;
	}
	if ((rc = pal_buf_append(&b->buf, chunk, n)) == PAL_ERR_LIMIT) {
		rc = pal_scan_find_at(z->s, z->it, "zip.bomb", r->lho,
		    "'%.*s' expands more than %u times its %llu compressed "
		    "bytes; scanned as far as that", NAME(r),
		    pal_scan_limits(z->s)->max_ratio,
		    (unsigned long long)r->csize);
		return rc != 0 ? rc : PAL_ERR_LIMIT;
	}
	return rc;
}

/* Inflates a raw deflate stream into b, within the ratio limit. */
static int
inflate_body(struct zip *z, const struct zip_rec *r, const uint8_t *src,
    size_t n, struct body *b)
{
	uint64_t cap = (uint64_t)n * pal_scan_limits(z->s)->max_ratio;
	uint8_t *chunk;
	z_stream zs;
	int zr, rc = 0;

	if (n != 0 && cap / n != pal_scan_limits(z->s)->max_ratio)
		cap = SIZE_MAX / 2;
	pal_buf_init(&b->buf, (size_t)(cap < SIZE_MAX / 2 ? cap : SIZE_MAX / 2));
	if ((chunk = malloc(INFLATE_CHUNK)) == NULL)
		return PAL_ERR_NOMEM;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
		free(chunk);
		return PAL_ERR_NOMEM;
	}
	/* zlib's input is not const; it does not write through it. */
	zs.next_in = (Bytef *)(uintptr_t)src;
	do {
		if (zs.avail_in == 0 && n > 0) {
			zs.avail_in = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
			n -= zs.avail_in;
		}
		zs.next_out = chunk;
		zs.avail_out = INFLATE_CHUNK;
		zr = inflate(&zs, Z_NO_FLUSH);
		if (INFLATE_CHUNK - zs.avail_out > 0)
			rc = take_chunk(z, r, b, chunk,
			    INFLATE_CHUNK - zs.avail_out);
	} while (rc == 0 && zr == Z_OK);
	inflateEnd(&zs);
	free(chunk);
	b->p = b->buf.p;
	b->len = b->buf.len;
	b->complete = rc == 0 && zr == Z_STREAM_END;
	b->corrupt = rc == 0 && zr != Z_STREAM_END;
	return rc == PAL_ERR_LIMIT ? 0 : rc;
}

/* The member's data in the input, checked against the input's end. */
static int
raw_slice(struct zip *z, const struct zip_rec *r, const uint8_t **p)
{
	struct pal_cur c;

	if (pal_zip_at(z, r->loc.data_off, &c) != 0 ||
	    r->csize > pal_cur_left(&c) ||
	    pal_cur_bytes(&c, (size_t)r->csize, p) != 0) {
		pal_zip_defer(z, PAL_ERR_TRUNCATED, "zip entry '%.*s': %llu "
		    "bytes of data at offset %llu run past the end of the "
		    "file (%zu bytes)", NAME(r), (unsigned long long)r->csize,
		    (unsigned long long)r->loc.data_off, z->file.len);
		return PAL_ERR_TRUNCATED;
	}
	return 0;
}

static int
read_body(struct zip *z, const struct zip_rec *r, struct body *b)
{
	const uint8_t *p;
	int rc;

	memset(b, 0, sizeof(*b));
	if ((rc = raw_slice(z, r, &p)) != 0)
		return rc;
	if (r->method == ZIP_M_STORED || r->csize == 0) {
		b->p = p;
		b->len = (size_t)r->csize;
		b->complete = 1;
		return 0;
	}
	return inflate_body(z, r, p, (size_t)r->csize, b);
}

/*
 * Whether data under an encryption flag is plaintext: a deflate stream
 * that inflates, or stored bytes that content detection recognizes
 * (ZipCrypto output starts with 12 random header bytes).
 */
static int
plaintext(const struct zip_rec *r, const struct body *b)
{
	if (r->method == ZIP_M_DEFLATED)
		return !b->corrupt && b->len > 0;
	return pal_detect(b->p, b->len) != PAL_FMT_UNKNOWN;
}

static const char *
crypt_flag_name(uint16_t flags)
{
	if (flags & ZIP_F_STRONG)
		return "strong encryption (bit 6)";
	if (flags & ZIP_F_PATCH)
		return "patch data (bit 5)";
	return "encrypted (bit 0)";
}

/* Returns 1 when the member cannot be read and must not be scanned. */
static int
check_crypt(struct zip *z, const struct zip_rec *r, const struct body *b,
    int *stop)
{
	*stop = 0;
	if (!(r->flags & ZIP_F_CRYPT))
		return 0;
	if (!plaintext(r, b)) {
		*stop = 1;
		defer_rec(z, PAL_ERR_UNSUPPORTED, r, "encrypted: its content "
		    "cannot be inspected");
		return 0;
	}
	return pal_scan_find_at(z->s, z->it, "zip.encrypted-flag", r->lho,
	    "'%.*s' is flagged %s but its data is plain: loaders that ignore "
	    "the flag read it, scanners that honor it skip it", NAME(r),
	    crypt_flag_name(r->flags));
}

static int
check_integrity(struct zip *z, const struct zip_rec *r, const struct body *b)
{
	uint32_t crc;
	int rc = 0;

	if (!b->complete)
		return 0;
	crc = (uint32_t)crc32_z(0, b->p, b->len);
	if (crc != r->crc)
		rc = pal_scan_find_at(z->s, z->it, "zip.crc-mismatch", r->lho,
		    "'%.*s': CRC-32 is 0x%08x but the header says 0x%08x: "
		    "Python's zipfile fails only after handing the bytes out, "
		    "PyTorch never checks", NAME(r), crc, r->crc);
	if (rc == 0 && (b->len != r->usize || (r->method == ZIP_M_STORED &&
	    r->csize != r->usize)))
		rc = pal_scan_find_at(z->s, z->it, "zip.size-mismatch", r->lho,
		    "'%.*s' holds %zu bytes but declares %llu: loaders read "
		    "different amounts", NAME(r), b->len,
		    (unsigned long long)r->usize);
	return rc;
}

static int
ns_known(const uint8_t *ns, size_t n)
{
	size_t i;

	for (i = 0; torch_op_ns[i] != NULL; i++)
		if (strlen(torch_op_ns[i]) == n &&
		    memcmp(torch_op_ns[i], ns, n) == 0)
			return 1;
	return 0;
}

static int
ident_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* The first "torch.ops.<ns>." whose namespace PyTorch does not ship. */
static int
foreign_op(const uint8_t *p, size_t n, const uint8_t **ns, size_t *nlen)
{
	static const char pat[] = "torch.ops.";
	const uint8_t *at, *hit, *end;
	size_t k;

	/* An empty member may have no bytes at all to point into. */
	if (p == NULL || n == 0)
		return 0;
	at = p;
	end = p + n;
	while ((hit = pal_zip_find(at, (size_t)(end - at), pat, sizeof(pat) - 1))) {
		at = hit + sizeof(pat) - 1;
		for (k = 0; at + k < end && ident_char(at[k]); k++)
			;
		/* torch.ops.<ns>.<op>; torch.ops.load_library(...) is no op. */
		if (k > 0 && at + k < end && at[k] == '.' && !ns_known(at, k)) {
			*ns = at;
			*nlen = k;
			return 1;
		}
	}
	return 0;
}

/* TorchScript source is compiled at load: what it may call. */
static int
check_code(struct zip *z, const struct zip_rec *r, const struct body *b)
{
	const uint8_t *ns;
	size_t nlen;
	int rc = 0;

	if (pal_zip_find(b->p, b->len, "load_library", 12) != NULL)
		rc = pal_scan_find_at(z->s, z->it, "zip.torchscript-call",
		    r->lho, "TorchScript code '%.*s' loads a native library",
		    NAME(r));
	if (rc == 0 && pal_zip_find(b->p, b->len, "from_file", 9) != NULL)
		rc = pal_scan_find_at(z->s, z->it, "zip.torchscript-call",
		    r->lho, "TorchScript code '%.*s' reads a file from disk "
		    "(from_file)", NAME(r));
	if (rc == 0 && foreign_op(b->p, b->len, &ns, &nlen))
		rc = pal_scan_find_at(z->s, z->it, "zip.torchscript-op", r->lho,
		    "TorchScript code '%.*s' calls operators of namespace "
		    "'%.*s', which PyTorch does not ship: loading it runs a "
		    "native library the scanner cannot see", NAME(r),
		    (int)nlen, (const char *)ns);
	return rc;
}

/* "name", cut at a NUL as Python cuts it, with " [offset N]" if reused. */
static char *
child_name(const struct zip_rec *r)
{
	const uint8_t *nul = memchr(r->name, 0, r->name_len);
	size_t n = nul != NULL ? (size_t)(nul - r->name) : r->name_len;
	struct pal_buf b;

	pal_buf_init(&b, n + 64);
	if (pal_buf_append(&b, r->name, n) != 0 || ((r->mark &
	    ZIP_MARK_RENAME) && pal_buf_printf(&b, " [offset %llu]",
	    (unsigned long long)r->lho) != 0)) {
		pal_buf_free(&b);
		return NULL;
	}
	return (char *)pal_buf_steal(&b, &n);
}

static unsigned
hints_for(const struct zip *z, const struct zip_rec *r)
{
	const struct zip_dir *d = torch_dir(z, r);

	if (d != NULL)
		return PAL_HINT_TORCH_ARCHIVE |
		    (d->torchscript ? PAL_HINT_TORCHSCRIPT : 0);
	return ends_with(r, ".npy") ? PAL_HINT_NPZ : PAL_HINT_NONE;
}

static int
scan_body(struct zip *z, const struct zip_rec *r, const struct body *b)
{
	enum pal_format fmt;
	char *name;
	int rc;

	/* Text is not a model format: nothing to hand to a scanner.  The
	 * format found here is passed on rather than detected again. */
	if (b->len == 0 || (fmt = pal_detect(b->p, b->len)) == PAL_FMT_TEXT)
		return 0;
	if ((name = child_name(r)) == NULL)
		return PAL_ERR_NOMEM;
	rc = pal_scan_child_as(z->s, z->it, name, b->p, b->len,
	    hints_for(z, r), fmt);
	free(name);
	return rc;
}

static int
inspect(struct zip *z, const struct zip_rec *r, const struct body *b)
{
	int rc, stop;

	if ((rc = check_crypt(z, r, b, &stop)) != 0 || stop)
		return rc;
	if (b->corrupt)
		defer_rec(z, PAL_ERR_FORMAT, r, "deflate data is corrupt");
	if ((rc = check_integrity(z, r, b)) != 0)
		return rc;
	if (is_torchscript_code(z, r) && (rc = check_code(z, r, b)) != 0)
		return rc;
	return scan_body(z, r, b);
}

/* Storage is skipped, unless it is an .npy that numpy.load would read. */
static int
storage(struct zip *z, const struct zip_rec *r)
{
	struct body b;
	const uint8_t *p;

	if (r->method != ZIP_M_STORED || r->csize < 6 ||
	    raw_slice(z, r, &p) != 0 || memcmp(p, "\x93NUMPY", 6) != 0)
		return 0;
	memset(&b, 0, sizeof(b));
	b.p = p;
	b.len = (size_t)r->csize;
	b.complete = 1;
	return scan_body(z, r, &b);
}

static int
scan_rec(struct zip *z, const struct zip_rec *r)
{
	struct body b;
	int rc;

	if (!r->has_local) {
		if (!(r->mark & ZIP_MARK_ALT))
			defer_rec(z, PAL_ERR_FORMAT, r, "no local file header "
			    "there; no loader can read it");
		return 0;
	}
	if (is_storage(z, r))
		return storage(z, r);
	if (r->method != ZIP_M_STORED && r->method != ZIP_M_DEFLATED)
		return pal_scan_find_at(z->s, z->it, "zip.unsupported-method",
		    r->lho, "'%.*s' uses compression method %u, which the "
		    "scanner does not decode (Python's zipfile reads 12 and 14): "
		    "its content was not inspected", NAME(r), r->method);
	if (read_body(z, r, &b) != 0)
		return 0;
	rc = inspect(z, r, &b);
	pal_buf_free(&b.buf);
	return rc;
}

static int
by_data(const void *a, const void *b)
{
	const struct zip_rec *x = *(const struct zip_rec *const *)a;
	const struct zip_rec *y = *(const struct zip_rec *const *)b;

	if (x->has_local != y->has_local)
		return x->has_local ? -1 : 1;
	if (x->loc.data_off != y->loc.data_off)
		return x->loc.data_off < y->loc.data_off ? -1 : 1;
	if (x->csize != y->csize)
		return x->csize < y->csize ? -1 : 1;
	if (x->method != y->method)
		return x->method < y->method ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int
by_name(const void *a, const void *b)
{
	const struct zip_rec *x = *(const struct zip_rec *const *)a;
	const struct zip_rec *y = *(const struct zip_rec *const *)b;
	int c = pal_zip_name_cmp(x, y);

	return c != 0 ? c : (x < y ? -1 : x > y);
}

static void
mark_dups(struct zip_rec **ix, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (ix[i]->has_local && ix[i - 1]->has_local &&
		    ix[i]->loc.data_off == ix[i - 1]->loc.data_off &&
		    ix[i]->csize == ix[i - 1]->csize &&
		    ix[i]->method == ix[i - 1]->method)
			ix[i]->mark |= ZIP_MARK_DUP;
}

/* Same names: later ones are renamed, and each knows if one is readable. */
static void
mark_names(struct zip_rec **ix, size_t n)
{
	size_t i, j, k;

	for (i = 0; i < n; i = j) {
		int readable = 0;

		for (j = i; j < n && pal_zip_name_cmp(ix[i], ix[j]) == 0; j++)
			readable |= ix[j]->has_local;
		for (k = i; k < j; k++) {
			if (k > i)
				ix[k]->mark |= ZIP_MARK_RENAME;
			if (readable)
				ix[k]->mark |= ZIP_MARK_ALT;
		}
	}
}

static int
mark(struct zip *z)
{
	struct zip_rec **ix;
	size_t i;

	if (z->nrecs == 0)
		return 0;
	if ((ix = calloc(z->nrecs, sizeof(*ix))) == NULL)
		return PAL_ERR_NOMEM;
	for (i = 0; i < z->nrecs; i++) {
		z->recs[i].mark = 0;
		ix[i] = &z->recs[i];
	}
	qsort(ix, z->nrecs, sizeof(*ix), by_data);
	mark_dups(ix, z->nrecs);
	qsort(ix, z->nrecs, sizeof(*ix), by_name);
	mark_names(ix, z->nrecs);
	free(ix);
	return 0;
}

/* What precedes the archive: torch.load unpickles it from offset 0. */
static int
scan_prepended(struct zip *z)
{
	const uint8_t *p;
	struct pal_cur c;

	if (z->walk_start == ZIP_NONE || z->walk_start == 0)
		return 0;
	pal_cur_init(&c, z->file.base, z->file.len);
	if (pal_cur_bytes(&c, (size_t)z->walk_start, &p) != 0 ||
	    pal_detect(p, (size_t)z->walk_start) == PAL_FMT_TEXT)
		return 0;
	return pal_scan_child(z->s, z->it, "(data before the archive)", p,
	    (size_t)z->walk_start, PAL_HINT_NONE);
}

int
pal_zip_scan_members(struct zip *z)
{
	size_t i;
	int r;

	if ((r = scan_prepended(z)) != 0 || (r = mark(z)) != 0)
		return r;
	for (i = 0; i < z->nrecs; i++) {
		if (z->recs[i].mark & ZIP_MARK_DUP)
			continue;
		if ((r = scan_rec(z, &z->recs[i])) != 0)
			return r;
	}
	return 0;
}
