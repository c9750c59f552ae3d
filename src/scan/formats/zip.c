/*
 * zip.c - the zip scanner: PyTorch checkpoints (torch.save), TorchScript
 * archives (torch.jit.save), NumPy .npz, Keras v3 .keras, joblib and plain
 * zips around any of them.
 *
 * The parser is written by hand on purpose.  A zip library presents one
 * tidy list of members and hides exactly the discrepancies attackers use:
 * two end records, a directory that does not match its local headers,
 * entries no directory lists, offsets that one loader shifts and another
 * does not, encryption flags one loader honors and another ignores.  Here
 * the archive is read the way Python's zipfile reads it and the way
 * PyTorch's reader (miniz) reads it, and its local headers are walked the
 * way a streaming reader walks them; every disagreement is a finding, and
 * the bytes of every view are scanned.
 *
 * Trusted: nothing in the input.  Every offset and size is checked against
 * the bytes present, records are capped by limits.max_members, inflation
 * by limits.max_ratio and the session's expansion budget.  See
 * docs/formats/zip.md for what each finding means.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zip_int.h"

const struct pal_rule pal_rules_zip[] = {
	{ "zip.prepended-data", PAL_SEV_MEDIUM,
	  "Data precedes the first local header: Python's zipfile skips it, "
	  "PyTorch's reader does not, and torch.load unpickles a file that "
	  "does not start with a local header." },
	{ "zip.hidden-entry", PAL_SEV_HIGH,
	  "A local file header that no central directory lists: streaming "
	  "readers extract a member that directory readers never see." },
	{ "zip.header-mismatch", PAL_SEV_HIGH,
	  "A local header or data descriptor disagrees with its central "
	  "directory record (name, method, flags, sizes or CRC-32)." },
	{ "zip.view-mismatch", PAL_SEV_HIGH,
	  "Python's zipfile and PyTorch's reader find the directory or a "
	  "member in different places and would read different bytes." },
	{ "zip.overlap", PAL_SEV_HIGH,
	  "Two members, or a member and the central directory, share bytes "
	  "(overlapping-entry zip bombs, members disguised inside others)." },
	{ "zip.encrypted-flag", PAL_SEV_HIGH,
	  "An encryption or patch flag is set on data that is not encrypted, "
	  "or local and central flags differ: scanners that honor the flag "
	  "skip bytes that loaders read." },
	{ "zip.crc-mismatch", PAL_SEV_HIGH,
	  "A member's CRC-32 does not match its bytes: PyTorch never checks "
	  "it and Python's zipfile checks only after handing the bytes out." },
	{ "zip.duplicate-name", PAL_SEV_HIGH,
	  "Two members share a name, exactly or ignoring case as PyTorch's "
	  "reader compares: which one is loaded depends on the loader." },
	{ "zip.path-traversal", PAL_SEV_HIGH,
	  "A member name with '..', an absolute path, a backslash or a drive "
	  "letter: extracting it writes outside the target directory." },
	{ "zip.symlink", PAL_SEV_HIGH,
	  "A member is a symbolic link: extracting it can redirect later "
	  "writes outside the target directory." },
	{ "zip.name-confusion", PAL_SEV_MEDIUM,
	  "A member name holds a NUL or control byte: Python's zipfile cuts "
	  "it at a NUL, other readers do not." },
	{ "zip.unsupported-method", PAL_SEV_MEDIUM,
	  "A member uses a compression method the scanner does not decode; "
	  "its content was not inspected." },
	{ "zip.bomb", PAL_SEV_HIGH,
	  "A member expands beyond the allowed decompression ratio." },
	{ "zip.size-mismatch", PAL_SEV_MEDIUM,
	  "A member's declared uncompressed size differs from what its data "
	  "holds: loaders disagree on how much to read." },
	{ "zip.torchscript-call", PAL_SEV_HIGH,
	  "TorchScript code loads a native library or reads files from "
	  "disk." },
	{ "zip.torchscript-op", PAL_SEV_MEDIUM,
	  "TorchScript code calls operators of a namespace PyTorch does not "
	  "ship: loading it runs native code the scanner cannot see." },
	{ NULL, 0, NULL },
};

void
pal_zip_defer(struct zip *z, int code, const char *fmt, ...)
{
	va_list ap;

	z->nerrs++;
	if (z->err != 0)
		return;
	z->err = code;
	va_start(ap, fmt);
	vsnprintf(z->errmsg, sizeof(z->errmsg), fmt, ap);
	va_end(ap);
}

struct zip_rec *
pal_zip_rec_new(struct zip *z)
{
	size_t ncap;
	void *p;

	if (z->nrecs >= z->max_recs) {
		z->capped = 1;
		return NULL;
	}
	if (z->nrecs == z->cap) {
		ncap = z->cap ? z->cap * 2 : 16;
		if (ncap > z->max_recs)
			ncap = z->max_recs;
		if ((p = realloc(z->recs, ncap * sizeof(*z->recs))) == NULL)
			return NULL;
		z->recs = p;
		z->cap = ncap;
	}
	memset(&z->recs[z->nrecs], 0, sizeof(*z->recs));
	return &z->recs[z->nrecs++];
}

int
pal_zip_at(const struct zip *z, uint64_t off, struct pal_cur *c)
{
	*c = z->file;
	if (off > c->len)
		return PAL_ERR_TRUNCATED;
	return pal_cur_seek(c, (size_t)off);
}

int
pal_zip_u32_at(const struct zip *z, uint64_t off, uint32_t *v)
{
	struct pal_cur c;
	int r;

	if ((r = pal_zip_at(z, off, &c)) != 0)
		return r;
	return pal_cur_u32le(&c, v);
}

/* The first occurrence of pat[0..m) in hay[0..n), or NULL. */
const uint8_t *
pal_zip_find(const uint8_t *hay, size_t n, const void *pat, size_t m)
{
	const uint8_t *first = pat, *p;
	size_t off = 0;

	if (m == 0 || n < m)
		return NULL;
	while ((p = memchr(hay + off, first[0], n - m + 1 - off)) != NULL) {
		off = (size_t)(p - hay);
		if (memcmp(p, pat, m) == 0)
			return p;
		off++;
	}
	return NULL;
}

static int
report_cap(struct zip *z)
{
	if (!z->capped)
		return 0;
	return pal_scan_find(z->s, z->it, "scan.limit", NULL,
	    "more than %zu zip entries; only the first %zu were examined",
	    z->max_recs, z->max_recs);
}

/* The outcome: a deferred error, or a directory no loader could read. */
static int
outcome(struct zip *z)
{
	const struct zip_dir *py = &z->dir[ZIP_VIEW_PY];
	const struct zip_dir *pt = &z->dir[ZIP_VIEW_TORCH];

	if (z->err != 0)
		return pal_err_set(&z->s->err, z->err, "%s%s", z->errmsg,
		    z->nerrs > 1 ? " (and more)" : "");
	if (!py->ok && !pt->ok)
		return pal_err_set(&z->s->err, PAL_ERR_FORMAT, "zip: %s; "
		    "PyTorch's reader: %s", py->why, pt->why);
	return 0;
}

int
pal_fmt_zip(struct pal_scan *s, const struct pal_scan_item *it)
{
	struct zip z;
	int r;

	memset(&z, 0, sizeof(z));
	z.s = s;
	z.it = it;
	pal_cur_init(&z.file, it->data, it->len);
	z.max_recs = pal_scan_limits(s)->max_members;
	z.walk_start = ZIP_NONE;
	if ((r = pal_zip_read_dirs(&z)) != 0 || (r = pal_zip_walk(&z)) != 0)
		goto out;
	/* A truncated checkpoint has no directory: its names still tell. */
	if (!z.dir[ZIP_VIEW_PY].ok && !z.dir[ZIP_VIEW_TORCH].ok) {
		z.walked.ok = 1;
		pal_zip_find_prefix(&z, ZIP_IN_WALK, &z.walked);
	}
	if ((r = report_cap(&z)) != 0 || (r = pal_zip_check(&z)) != 0 ||
	    (r = pal_zip_scan_members(&z)) != 0)
		goto out;
	r = outcome(&z);
out:
	free(z.recs);
	if (r == PAL_ERR_NOMEM)
		pal_err_set(&s->err, r, "out of memory reading a zip archive");
	return r;
}
