/*
 * zip_check.c - the header tricks: wherever two readers of the same zip
 * would see different members or different bytes, a finding.
 *
 * What is compared: Python's directory against PyTorch's, each central
 * record against the local header it points to and the data descriptor
 * after it, the directory against the walk of local headers, and every
 * member's byte range against every other's.  Names are checked for what
 * makes extraction escape its directory.  Findings name the member (as
 * raw bytes; the report escapes them) and the offset of the header.
 */
#include <stdlib.h>
#include <string.h>

#include "zip_int.h"

#define NAME(r)	(int)(r)->name_len, (const char *)(r)->name

/* Unix file types in the high half of the external attributes. */
#define S_TYPE_MASK	0170000u
#define S_TYPE_LINK	0120000u

static uint64_t
rec_off(const struct zip_rec *r)
{
	return r->lho != ZIP_NONE ? r->lho : r->cen_off;
}

/* The two directory views against each other. */
static int
check_dirs(struct zip *z)
{
	const struct zip_dir *py = &z->dir[ZIP_VIEW_PY];
	const struct zip_dir *pt = &z->dir[ZIP_VIEW_TORCH];
	int r = 0;

	if (!py->ok && pt->ok)
		r = pal_scan_find_at(z->s, z->it, "zip.view-mismatch", pt->eocd,
		    "PyTorch's reader opens this archive but Python's zipfile "
		    "refuses it: %s", py->why);
	if (r == 0 && py->ok && pt->ok && py->eocd != pt->eocd)
		r = pal_scan_find_at(z->s, z->it, "zip.view-mismatch", py->eocd,
		    "Python's zipfile uses the end record at offset %llu, "
		    "PyTorch's reader the one at offset %llu",
		    (unsigned long long)py->eocd,
		    (unsigned long long)pt->eocd);
	if (r == 0 && py->ok && py->cd_start != py->cd_off)
		r = pal_scan_find_at(z->s, z->it, "zip.view-mismatch",
		    py->cd_start, "the central directory is at offset %llu but "
		    "says %llu: Python's zipfile shifts every member offset by "
		    "the difference, PyTorch's reader does not",
		    (unsigned long long)py->cd_start,
		    (unsigned long long)py->cd_off);
	if (r == 0 && py->ok && pt->ok && !z->capped &&
	    py->nrecs != pt->nrecs)
		r = pal_scan_find_at(z->s, z->it, "zip.view-mismatch", py->eocd,
		    "Python's zipfile lists %zu entries (by directory size), "
		    "PyTorch's reader %zu (by entry count)", py->nrecs,
		    pt->nrecs);
	return r;
}

static int
check_prepended(struct zip *z)
{
	if (z->walk_start == ZIP_NONE || z->walk_start == 0)
		return 0;
	return pal_scan_find_at(z->s, z->it, "zip.prepended-data", 0,
	    "%llu bytes precede the first local header: Python's zipfile "
	    "skips them, torch.load reads a file that does not start with a "
	    "local header as a pickle", (unsigned long long)z->walk_start);
}

/* Flag bits whose disagreement changes how a member is read. */
#define FLAGS_COMPARED	(ZIP_F_DESCRIPTOR | ZIP_F_UTF8 | ZIP_F_MASKED)

static int
size_differs(uint64_t local, uint64_t central, uint16_t lflags)
{
	/* With a descriptor the local fields may be zero. */
	if ((lflags & ZIP_F_DESCRIPTOR) && local == 0)
		return 0;
	return local != central;
}

static int
mismatch(struct zip *z, const struct zip_rec *r, const char *what)
{
	return pal_scan_find_at(z->s, z->it, "zip.header-mismatch", r->lho,
	    "'%.*s': local header and central directory disagree on the %s",
	    NAME(r), what);
}

static int
check_local(struct zip *z, const struct zip_rec *r)
{
	const struct zip_local *l = &r->loc;
	int rc = 0;

	if (l->name_len != r->name_len ||
	    memcmp(l->name, r->name, r->name_len) != 0)
		rc = pal_scan_find_at(z->s, z->it, "zip.header-mismatch",
		    r->lho, "'%.*s' is named '%.*s' in its local header: Python's "
		    "zipfile refuses it, PyTorch's reader and streaming readers "
		    "use different names", NAME(r), (int)l->name_len,
		    (const char *)l->name);
	if (rc == 0 && l->method != r->method)
		rc = mismatch(z, r, "compression method");
	if (rc == 0 && ((l->flags ^ r->flags) & FLAGS_COMPARED))
		rc = mismatch(z, r, "flags");
	if (rc == 0 && ((l->flags ^ r->flags) & ZIP_F_CRYPT))
		rc = pal_scan_find_at(z->s, z->it, "zip.encrypted-flag", r->lho,
		    "'%.*s': encryption flags differ (local 0x%04x, central "
		    "0x%04x): readers that trust different headers disagree on "
		    "whether it can be read", NAME(r), l->flags, r->flags);
	if (rc == 0 && (size_differs(l->csize, r->csize, l->flags) ||
	    size_differs(l->usize, r->usize, l->flags)))
		rc = mismatch(z, r, "sizes");
	if (rc == 0 && size_differs(l->crc, r->crc, l->flags))
		rc = mismatch(z, r, "CRC-32");
	return rc;
}

static int
check_desc(struct zip *z, const struct zip_rec *r)
{
	if (!r->has_desc || (r->desc_crc == r->crc &&
	    r->desc_csize == r->csize && r->desc_usize == r->usize))
		return 0;
	return pal_scan_find_at(z->s, z->it, "zip.header-mismatch", r->end,
	    "'%.*s': data descriptor and central directory disagree on the "
	    "CRC-32 or sizes", NAME(r));
}

/* What makes an extracted name land outside the target directory. */
static const char *
traversal(const uint8_t *n, size_t len)
{
	size_t i, start = 0;

	if (len > 0 && (n[0] == '/' || n[0] == '\\'))
		return "an absolute path";
	if (len >= 2 && n[1] == ':' && ((n[0] >= 'a' && n[0] <= 'z') ||
	    (n[0] >= 'A' && n[0] <= 'Z')))
		return "a drive letter";
	if (memchr(n, '\\', len) != NULL)
		return "a backslash";
	for (i = 0; i <= len; i++) {
		if (i < len && n[i] != '/')
			continue;
		if (i - start == 2 && n[start] == '.' && n[start + 1] == '.')
			return "a '..' component";
		start = i + 1;
	}
	return NULL;
}

static int
has_control(const uint8_t *n, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (n[i] < 0x20 || n[i] == 0x7f)
			return 1;
	return 0;
}

static int
check_name(struct zip *z, const struct zip_rec *r)
{
	const char *why = traversal(r->name, r->name_len);
	int rc = 0;

	if (why != NULL)
		rc = pal_scan_find_at(z->s, z->it, "zip.path-traversal",
		    rec_off(r), "'%.*s' has %s: extracting it writes outside "
		    "the target directory", NAME(r), why);
	if (rc == 0 && has_control(r->name, r->name_len))
		rc = pal_scan_find_at(z->s, z->it, "zip.name-confusion",
		    rec_off(r), "'%.*s' has a NUL or control byte in its name: "
		    "Python's zipfile cuts the name at a NUL, PyTorch's reader "
		    "and extraction tools do not", NAME(r));
	if (rc == 0 && r->cen_off != ZIP_NONE &&
	    ((r->ext_attr >> 16) & S_TYPE_MASK) == S_TYPE_LINK)
		rc = pal_scan_find_at(z->s, z->it, "zip.symlink", rec_off(r),
		    "'%.*s' is a symbolic link: extracting it can redirect "
		    "later writes outside the target directory", NAME(r));
	return rc;
}

static int
check_hidden(struct zip *z, const struct zip_rec *r)
{
	if (r->views != ZIP_IN_WALK ||
	    (!z->dir[ZIP_VIEW_PY].ok && !z->dir[ZIP_VIEW_TORCH].ok))
		return 0;
	return pal_scan_find_at(z->s, z->it, "zip.hidden-entry", r->lho,
	    "local header for '%.*s' is listed by no central directory: "
	    "streaming readers extract it, directory readers never see it",
	    NAME(r));
}

static int
check_recs(struct zip *z)
{
	size_t i;
	int r;

	for (i = 0; i < z->nrecs; i++) {
		const struct zip_rec *rec = &z->recs[i];

		if ((r = check_name(z, rec)) != 0 ||
		    (r = check_hidden(z, rec)) != 0)
			return r;
		if (rec->cen_off == ZIP_NONE || !rec->has_local)
			continue;
		if ((r = check_local(z, rec)) != 0 ||
		    (r = check_desc(z, rec)) != 0)
			return r;
	}
	return 0;
}

int
pal_zip_name_cmp(const struct zip_rec *a, const struct zip_rec *b)
{
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, n);

	if (c != 0)
		return c;
	return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

static int
ci_cmp(const struct zip_rec *a, const struct zip_rec *b)
{
	size_t i, n = a->name_len < b->name_len ? a->name_len : b->name_len;

	for (i = 0; i < n; i++) {
		int x = a->name[i], y = b->name[i];

		x = x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x;
		y = y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y;
		if (x != y)
			return x - y;
	}
	return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

/* Ties keep archive order: records are sorted as pointers into one array. */
static int
tie(const struct zip_rec *a, const struct zip_rec *b)
{
	return a < b ? -1 : a > b;
}

static int
by_name(const void *a, const void *b)
{
	const struct zip_rec *x = *(const struct zip_rec *const *)a;
	const struct zip_rec *y = *(const struct zip_rec *const *)b;
	int c = pal_zip_name_cmp(x, y);

	return c != 0 ? c : tie(x, y);
}

static int
by_ci_name(const void *a, const void *b)
{
	const struct zip_rec *x = *(const struct zip_rec *const *)a;
	const struct zip_rec *y = *(const struct zip_rec *const *)b;
	int c = ci_cmp(x, y);

	return c != 0 ? c : tie(x, y);
}

static int
by_lho(const void *a, const void *b)
{
	const struct zip_rec *x = *(const struct zip_rec *const *)a;
	const struct zip_rec *y = *(const struct zip_rec *const *)b;

	if (x->lho != y->lho)
		return x->lho < y->lho ? -1 : 1;
	return tie(x, y);
}

/* The records in any of the views in mask, sorted. Caller frees. */
static int
sorted(const struct zip *z, unsigned mask, int (*cmp)(const void *,
    const void *), const struct zip_rec ***out, size_t *n)
{
	size_t i;

	*n = 0;
	if ((*out = calloc(z->nrecs + 1, sizeof(**out))) == NULL)
		return PAL_ERR_NOMEM;
	for (i = 0; i < z->nrecs; i++)
		if (z->recs[i].views & mask)
			(*out)[(*n)++] = &z->recs[i];
	qsort(*out, *n, sizeof(**out), cmp);
	return 0;
}

static int
same_data(const struct zip_rec *a, const struct zip_rec *b)
{
	if (!a->has_local || !b->has_local)
		return a->has_local == b->has_local;
	return a->loc.data_off == b->loc.data_off && a->csize == b->csize &&
	    a->method == b->method;
}

/* One group of records with the same name. */
static int
check_group(struct zip *z, const struct zip_rec *const *ix, size_t n)
{
	const struct zip_rec *first = ix[0];
	size_t i, npy = 0, npt = 0;
	const struct zip_rec *py = NULL, *pt = NULL;

	for (i = 0; i < n; i++) {
		const struct zip_rec *r = ix[i];

		if (r->views & ZIP_IN_PY) {
			npy++;
			py = py == NULL ? r : py;
		}
		if (r->views & ZIP_IN_TORCH) {
			npt++;
			pt = pt == NULL ? r : pt;
		}
	}
	if (npy > 1 || npt > 1)
		return pal_scan_find_at(z->s, z->it, "zip.duplicate-name",
		    rec_off(first), "%zu entries are named '%.*s': Python's "
		    "zipfile reads the last, PyTorch's reader any one of them",
		    npy > npt ? npy : npt, NAME(first));
	if (py != NULL && pt != NULL && py != pt && !same_data(py, pt))
		return pal_scan_find_at(z->s, z->it, "zip.view-mismatch",
		    rec_off(py), "Python's zipfile reads '%.*s' from offset "
		    "%llu, PyTorch's reader from offset %llu", NAME(py),
		    (unsigned long long)py->lho, (unsigned long long)pt->lho);
	return 0;
}

static int
check_names(struct zip *z)
{
	const struct zip_rec **ix;
	size_t n, i, j;
	int r = 0;

	if ((r = sorted(z, ZIP_IN_PY | ZIP_IN_TORCH, by_name, &ix, &n)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i = j) {
		for (j = i + 1; j < n && pal_zip_name_cmp(ix[i], ix[j]) == 0; j++)
			;
		if (j - i > 1)
			r = check_group(z, ix + i, j - i);
	}
	free((void *)ix);
	return r;
}

/* Names PyTorch's reader cannot tell apart: equal ignoring ASCII case. */
static int
check_case(struct zip *z)
{
	const struct zip_rec **ix;
	size_t n, i, j, k;
	int r = 0;

	if ((r = sorted(z, ZIP_IN_TORCH, by_ci_name, &ix, &n)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i = j) {
		const struct zip_rec *a = ix[i];

		for (j = i + 1; j < n && ci_cmp(a, ix[j]) == 0; j++)
			;
		for (k = i + 1; k < j && r == 0; k++) {
			const struct zip_rec *b = ix[k];

			if (pal_zip_name_cmp(a, b) == 0)
				continue;
			r = pal_scan_find_at(z->s, z->it, "zip.duplicate-name",
			    rec_off(b), "'%.*s' and '%.*s' differ only in case: "
			    "PyTorch's reader finds either under both names",
			    NAME(a), NAME(b));
			break;
		}
	}
	free((void *)ix);
	return r;
}

/* Whether the pair was already compared in an earlier view. */
static int
seen_pair(const struct zip_rec *a, const struct zip_rec *b, enum zip_view v)
{
	return v == ZIP_VIEW_TORCH && (a->views & ZIP_IN_PY) &&
	    (b->views & ZIP_IN_PY);
}

static int
overlap_cd(struct zip *z, const struct zip_dir *d, const struct zip_rec *r)
{
	uint64_t left = z->file.len - d->cd_start;
	uint64_t cd_end = d->cd_start + (d->cd_size < left ? d->cd_size : left);

	if (r->lho >= cd_end || r->end <= d->cd_start)
		return 0;
	return pal_scan_find_at(z->s, z->it, "zip.overlap", r->lho,
	    "'%.*s' overlaps the central directory at offset %llu", NAME(r),
	    (unsigned long long)d->cd_start);
}

/* Members of one view sorted by offset: each must end before the next. */
static int
check_overlap_view(struct zip *z, enum zip_view v)
{
	const struct zip_rec *wide = NULL, **ix;
	size_t n, i;
	int r;

	if ((r = sorted(z, 1u << v, by_lho, &ix, &n)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		const struct zip_rec *cur = ix[i];

		if (!cur->has_local)
			continue;
		if (wide != NULL && cur->lho < wide->end &&
		    !seen_pair(wide, cur, v))
			r = pal_scan_find_at(z->s, z->it, "zip.overlap", cur->lho,
			    "'%.*s' starts inside '%.*s' (offsets %llu and "
			    "%llu): one member's bytes are read as another's",
			    NAME(cur), NAME(wide),
			    (unsigned long long)cur->lho,
			    (unsigned long long)wide->lho);
		if (r == 0 && !(v == ZIP_VIEW_TORCH && (cur->views & ZIP_IN_PY)))
			r = overlap_cd(z, &z->dir[v], cur);
		if (wide == NULL || cur->end > wide->end)
			wide = cur;
	}
	free((void *)ix);
	return r;
}

int
pal_zip_check(struct zip *z)
{
	int r, v;

	if ((r = check_dirs(z)) != 0 || (r = check_prepended(z)) != 0 ||
	    (r = check_recs(z)) != 0 || (r = check_names(z)) != 0 ||
	    (r = check_case(z)) != 0)
		return r;
	for (v = 0; v < ZIP_NVIEWS; v++)
		if (z->dir[v].ok && (r = check_overlap_view(z, v)) != 0)
			return r;
	return 0;
}
