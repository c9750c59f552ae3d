/*
 * zip_walk.c - local file headers followed one after another.
 *
 * Streaming readers, and extraction tools that do not trust the central
 * directory, go through an archive from its first local header, each
 * header's sizes leading to the next.  Whatever they find that no central
 * directory lists is a hidden entry: invisible to a scanner that reads only
 * the directory, yet extracted by such a tool.  The walk never reads inside
 * a member's data: it jumps by the sizes the headers give, so a 1 GB
 * PyTorch archive is crossed in a few hundred reads.
 *
 * Where the walk meets bytes that are not a local header, it searches for
 * the next signature only in bytes that belong to no known member.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "zip_int.h"

struct lho_ix {
	uint64_t lho;
	size_t rec;
};

struct walk {
	struct zip *z;
	struct lho_ix *ix;	/* readable records by local header offset */
	uint64_t *maxend;	/* greatest member end among ix[0..i] */
	uint64_t budget;	/* bytes left to search for a member's end */
	size_t nix;
};

static int
cmp_lho(const void *a, const void *b)
{
	const struct lho_ix *x = a, *y = b;

	return x->lho < y->lho ? -1 : x->lho > y->lho;
}

static int
build_index(struct walk *w)
{
	struct zip *z = w->z;
	size_t i;

	w->nix = 0;
	if (z->nrecs == 0)
		return 0;
	if ((w->ix = calloc(z->nrecs, sizeof(*w->ix))) == NULL)
		return PAL_ERR_NOMEM;
	for (i = 0; i < z->nrecs; i++) {
		if (!z->recs[i].has_local)
			continue;
		w->ix[w->nix].lho = z->recs[i].lho;
		w->ix[w->nix++].rec = i;
	}
	qsort(w->ix, w->nix, sizeof(*w->ix), cmp_lho);
	if ((w->maxend = calloc(z->nrecs, sizeof(*w->maxend))) == NULL)
		return PAL_ERR_NOMEM;
	for (i = 0; i < w->nix; i++) {
		uint64_t end = z->recs[w->ix[i].rec].end;

		w->maxend[i] = i > 0 && w->maxend[i - 1] > end ?
		    w->maxend[i - 1] : end;
	}
	return 0;
}

/* Index of the first entry with lho >= pos. */
static size_t
lower_bound(const struct walk *w, uint64_t pos)
{
	size_t lo = 0, hi = w->nix;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->ix[mid].lho < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t
find_rec(const struct walk *w, uint64_t pos)
{
	size_t i = lower_bound(w, pos);

	return i < w->nix && w->ix[i].lho == pos ? w->ix[i].rec : SIZE_MAX;
}

/*
 * The end of any known member whose bytes cover pos (so that a search
 * never looks inside one), or pos itself.
 */
static uint64_t
skip_covered(const struct walk *w, uint64_t pos)
{
	size_t lim = lower_bound(w, pos + 1);

	return lim > 0 && w->maxend[lim - 1] > pos ? w->maxend[lim - 1] : pos;
}

/* The next place a known structure starts after pos. */
static uint64_t
next_known(const struct walk *w, uint64_t pos)
{
	const struct zip *z = w->z;
	uint64_t best = z->file.len;
	size_t i = lower_bound(w, pos + 1);
	int v;

	if (i < w->nix)
		best = w->ix[i].lho;
	for (v = 0; v < ZIP_NVIEWS; v++) {
		if (!z->dir[v].ok)
			continue;
		if (z->dir[v].cd_start > pos && z->dir[v].cd_start < best)
			best = z->dir[v].cd_start;
		if (z->dir[v].eocd > pos && z->dir[v].eocd < best)
			best = z->dir[v].eocd;
	}
	return best;
}

/* The first local header signature in [from, to), or ZIP_NONE. */
static uint64_t
search_sig(const struct zip *z, uint64_t from, uint64_t to, uint32_t sig)
{
	const uint8_t *p, *hit;
	uint8_t pat[4];
	struct pal_cur c;

	if (from >= to || pal_zip_at(z, from, &c) != 0 ||
	    pal_cur_bytes(&c, (size_t)(to - from), &p) != 0)
		return ZIP_NONE;
	pat[0] = (uint8_t)sig;
	pat[1] = (uint8_t)(sig >> 8);
	pat[2] = (uint8_t)(sig >> 16);
	pat[3] = (uint8_t)(sig >> 24);
	if ((hit = pal_zip_find(p, (size_t)(to - from), pat, 4)) == NULL)
		return ZIP_NONE;
	return from + (uint64_t)(hit - p);
}

/* Takes n bytes from the search budget; 0 once it is spent. */
static int
spend(struct walk *w, uint64_t n)
{
	if (n > w->budget) {
		w->budget = 0;
		return 0;
	}
	w->budget -= n;
	return 1;
}

/*
 * Length of a deflate stream that starts at off, found by inflating it
 * into a scratch buffer: how a streaming reader finds the end of a member
 * whose sizes are in a trailing descriptor.  Output is capped by the
 * ratio limit and the expansion budget, input by the search budget.
 */
static int
deflate_len(struct walk *w, uint64_t off, uint64_t *clen)
{
	const struct pal_scan_limits *lim = pal_scan_limits(w->z->s);
	uint8_t out[16384];
	uint64_t total = 0;
	const uint8_t *in;
	struct pal_cur c;
	z_stream zs;
	int zr;

	if (pal_zip_at(w->z, off, &c) != 0 ||
	    pal_cur_bytes(&c, pal_cur_left(&c), &in) != 0)
		return PAL_ERR_FORMAT;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
		return PAL_ERR_NOMEM;
	/* zlib's input is not const; it does not write through it. */
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)(c.len - off > UINT32_MAX ? UINT32_MAX :
	    c.len - off);
	do {
		zs.next_out = out;
		zs.avail_out = sizeof(out);
		zr = inflate(&zs, Z_NO_FLUSH);
		total += sizeof(out) - zs.avail_out;
	} while (zr == Z_OK && total <= lim->max_expanded &&
	    total / ((uint64_t)zs.total_in + 1) <= lim->max_ratio &&
	    zs.total_in <= w->budget);
	*clen = zs.total_in;
	inflateEnd(&zs);
	if (!spend(w, zs.total_in) || zr != Z_STREAM_END)
		return PAL_ERR_FORMAT;
	return 0;
}

/* A stored member with a trailing descriptor ends where one fits. */
static int
stored_len(struct walk *w, uint64_t data, uint64_t *clen)
{
	uint64_t at = data, end;
	uint32_t size;

	end = w->z->file.len - data > w->budget ? data + w->budget :
	    w->z->file.len;
	while ((at = search_sig(w->z, at, end, ZIP_SIG_DESC)) != ZIP_NONE) {
		if (pal_zip_u32_at(w->z, at + 8, &size) == 0 &&
		    size == at - data) {
			*clen = size;
			return spend(w, at - data) ? 0 : PAL_ERR_FORMAT;
		}
		at++;
	}
	spend(w, end - data);
	return PAL_ERR_FORMAT;
}

/* The compressed length a streaming reader takes for this header. */
static int
stream_len(struct walk *w, const struct zip_local *l, size_t known,
    uint64_t *clen)
{
	if (!(l->flags & ZIP_F_DESCRIPTOR) || l->csize != 0) {
		*clen = l->csize;
		return 0;
	}
	if (known != SIZE_MAX) {
		*clen = w->z->recs[known].csize;
		return 0;
	}
	if (l->method == ZIP_M_DEFLATED)
		return deflate_len(w, l->data_off, clen);
	return stored_len(w, l->data_off, clen);
}

/* Records an entry only the walk found. */
static int
add_hidden(struct walk *w, uint64_t pos, const struct zip_local *l,
    uint64_t clen, struct zip_rec *out)
{
	struct zip_rec *r;

	memset(out, 0, sizeof(*out));
	out->name = l->name;
	out->name_len = l->name_len;
	out->cen_off = ZIP_NONE;
	out->lho = pos;
	out->flags = l->flags;
	out->method = l->method;
	out->crc = l->crc;
	out->csize = clen;
	out->usize = l->usize;
	out->views = ZIP_IN_WALK;
	pal_zip_resolve(w->z, out);
	if (out->has_desc && (l->flags & ZIP_F_DESCRIPTOR)) {
		out->crc = l->crc != 0 ? l->crc : out->desc_crc;
		out->usize = l->usize != 0 ? l->usize : out->desc_usize;
	}
	if ((r = pal_zip_rec_new(w->z)) == NULL)
		return w->z->capped ? 0 : PAL_ERR_NOMEM;
	*r = *out;
	return 0;
}

/*
 * One local header at pos: marks the record it belongs to, or adds a
 * hidden one, and sets *next to where a streaming reader goes on.
 */
static int
step(struct walk *w, uint64_t pos, uint64_t *next)
{
	struct zip *z = w->z;
	size_t known = find_rec(w, pos);
	struct zip_rec tmp;
	struct zip_local l;
	uint64_t clen;
	int r;

	if (pal_zip_read_local(z, pos, &l) != 0 ||
	    stream_len(w, &l, known, &clen) != 0)
		return PAL_ERR_FORMAT;
	if (known != SIZE_MAX) {
		z->recs[known].views |= ZIP_IN_WALK;
		tmp = z->recs[known];
		tmp.csize = clen;
		pal_zip_resolve(z, &tmp);
	} else if ((r = add_hidden(w, pos, &l, clen, &tmp)) != 0) {
		return r;
	}
	if (!tmp.has_local || tmp.end > z->file.len)
		return PAL_ERR_FORMAT;
	*next = tmp.end;
	return 0;
}

/* Where the walk goes from pos when pos holds no local header. */
static uint64_t
resync(const struct walk *w, uint64_t pos)
{
	uint64_t from = skip_covered(w, pos), to, hit;

	to = next_known(w, from);
	hit = search_sig(w->z, from, to, ZIP_SIG_LOCAL);
	if (hit != ZIP_NONE)
		return hit;
	return find_rec(w, to) != SIZE_MAX ? to : ZIP_NONE;
}

static uint64_t
first_header(const struct walk *w)
{
	uint32_t sig;

	if (pal_zip_u32_at(w->z, 0, &sig) == 0 && sig == ZIP_SIG_LOCAL)
		return 0;
	return w->nix > 0 ? w->ix[0].lho : ZIP_NONE;
}

static int
walk_from(struct walk *w, uint64_t pos)
{
	struct zip *z = w->z;
	uint64_t next;
	uint32_t sig;
	int r;

	while (pos != ZIP_NONE && pos < z->file.len && !z->capped) {
		if (pal_zip_u32_at(z, pos, &sig) != 0 || sig != ZIP_SIG_LOCAL) {
			pos = resync(w, pos);
			continue;
		}
		if ((r = step(w, pos, &next)) == PAL_ERR_NOMEM)
			return r;
		if (r != 0) {
			pos = resync(w, pos + 1);
			continue;
		}
		z->nwalked++;
		pos = next;
	}
	return 0;
}

int
pal_zip_walk(struct zip *z)
{
	struct walk w;
	int r;

	memset(&w, 0, sizeof(w));
	w.z = z;
	/* Finding where hidden members end costs at most a few passes over
	 * the input, however many of them there are. */
	w.budget = 4 * (uint64_t)z->file.len + (1u << 20);
	if ((r = build_index(&w)) != 0) {
		free(w.ix);
		return r;
	}
	z->walk_start = first_header(&w);
	r = walk_from(&w, z->walk_start);
	free(w.ix);
	free(w.maxend);
	return r;
}
