/*
 * tile.c - C2SP tlog-tiles names and entry bundles: tile paths and their
 * strict parse, which tiles a tree of a given size is made of, and the
 * uint16-length-prefixed bundle format.
 *
 * Paths come from clients asking a log for a tile, so the parse accepts
 * exactly one spelling of each tile: a path that could name a tile two ways
 * would let a cache or a mirror serve two files for one resource.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "palisade/cursor.h"
#include "palisade/tile.h"

#define MAX_LEVEL 63
/* 2^64 - 1 has 20 digits: 7 elements of 3. */
#define MAX_ELEMS 7

static int
valid_level(int level)
{
	return level == PAL_TILE_ENTRIES || (level >= 0 && level <= MAX_LEVEL);
}

/* Appends to out at *at, failing when it does not fit with its NUL. */
static int __attribute__((format(printf, 4, 5)))
put(char *out, size_t len, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(out + *at, len - *at, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= len - *at)
		return PAL_ERR_LIMIT;
	*at += (size_t)k;
	return 0;
}

int
pal_tile_path(int level, uint64_t n, unsigned w, char *out, size_t len)
{
	unsigned elems[MAX_ELEMS];
	size_t k = 0, at = 0;
	int rc;

	if (len > 0)
		out[0] = '\0';
	if (!valid_level(level) || w == 0 || w > PAL_TILE_WIDTH)
		return PAL_ERR_INVALID;
	if (len == 0)
		return PAL_ERR_LIMIT;
	do {
		elems[k++] = (unsigned)(n % 1000);
		n /= 1000;
	} while (n > 0);
	if (level == PAL_TILE_ENTRIES)
		rc = put(out, len, &at, "tile/entries/");
	else
		rc = put(out, len, &at, "tile/%u/", (unsigned)level);
	while (rc == 0 && k > 1)
		rc = put(out, len, &at, "x%03u/", elems[--k]);
	if (rc == 0)
		rc = put(out, len, &at, "%03u", elems[0]);
	if (rc == 0 && w < PAL_TILE_WIDTH)
		rc = put(out, len, &at, ".p/%u", w);
	if (rc < 0)
		out[0] = '\0';
	return rc;
}

/* The next byte if it is c, consumed; 0 otherwise (nothing consumed). */
static int
accept(struct pal_cur *c, char ch)
{
	if (pal_cur_left(c) == 0 || c->base[c->off] != (uint8_t)ch)
		return 0;
	c->off++;
	return 1;
}

/*
 * A decimal of 1..max_digits digits without leading zeros, at most max;
 * it ends at the end or before any byte that is not a digit.
 */
static int
get_decimal(struct pal_cur *c, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t digits = 0, start = c->off;
	uint8_t b;

	while (pal_cur_left(c) > 0 && c->base[c->off] >= '0' &&
	       c->base[c->off] <= '9') {
		(void)pal_cur_byte(c, &b);
		if (++digits > 3)
			return -1;
		v = v * 10 + (unsigned)(b - '0');
	}
	if (digits == 0 || (digits > 1 && c->base[start] == '0') || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Exactly three digits. */
static int
get_elem(struct pal_cur *c, unsigned *out)
{
	const uint8_t *p;

	if (pal_cur_bytes(c, 3, &p) < 0)
		return -1;
	*out = 0;
	for (int i = 0; i < 3; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*out = *out * 10 + (unsigned)(p[i] - '0');
	}
	return 0;
}

/* <N>: "x" elements, each followed by '/', then a bare last element. */
static int
get_index(struct pal_cur *c, uint64_t *out)
{
	uint64_t v = 0;
	unsigned e;
	int k = 0;

	for (;;) {
		int more = accept(c, 'x');
		if (get_elem(c, &e) < 0)
			return -1;
		/* A leading element of zero would be a second spelling. */
		if (more && k == 0 && e == 0)
			return -1;
		if (++k > MAX_ELEMS || v > (UINT64_MAX - e) / 1000)
			return -1;
		v = v * 1000 + e;
		if (!more)
			break;
		if (!accept(c, '/'))
			return -1;
	}
	*out = v;
	return 0;
}

static int
get_level(struct pal_cur *c, int *level)
{
	static const char entries[] = "entries";
	unsigned v;

	if (pal_cur_left(c) >= sizeof(entries) - 1 &&
	    memcmp(c->base + c->off, entries, sizeof(entries) - 1) == 0) {
		c->off += sizeof(entries) - 1;
		*level = PAL_TILE_ENTRIES;
		return 0;
	}
	if (get_decimal(c, MAX_LEVEL, &v) < 0)
		return -1;
	*level = (int)v;
	return 0;
}

int
pal_tile_path_parse(const char *path, int *level, uint64_t *n, unsigned *w,
		    struct pal_err *err)
{
	static const char prefix[] = "tile/";
	struct pal_cur c;
	const uint8_t *p;
	int lv;
	uint64_t idx;
	unsigned width = PAL_TILE_WIDTH;
	size_t len = strnlen(path, PAL_TILE_PATH_MAX + 1);

	if (len > PAL_TILE_PATH_MAX)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "tile path longer than %d bytes",
				   PAL_TILE_PATH_MAX);
	pal_cur_init(&c, path, len);
	if (pal_cur_bytes(&c, sizeof(prefix) - 1, &p) < 0 ||
	    memcmp(p, prefix, sizeof(prefix) - 1) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "tile path does not start with \"tile/\"");
	if (get_level(&c, &lv) < 0 || !accept(&c, '/'))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "tile path: level is not 0..63 or "
				   "\"entries\" without leading zeros");
	if (get_index(&c, &idx) < 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "tile path: bad tile index at offset %zu",
				   c.off);
	if (accept(&c, '.') && (!accept(&c, 'p') || !accept(&c, '/') ||
	    get_decimal(&c, PAL_TILE_WIDTH - 1, &width) < 0 || width == 0))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "tile path: partial width is not 1..255 "
				   "without leading zeros");
	if (pal_cur_left(&c) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "tile path: junk at offset %zu", c.off);
	*level = lv;
	*n = idx;
	*w = width;
	return 0;
}

/* Hashes stored at level (entries: leaves) for a tree of size leaves. */
static uint64_t
level_count(int level, uint64_t size)
{
	if (level == PAL_TILE_ENTRIES)
		level = 0;
	/* 8 * 8 = 64 would be an undefined shift; no level 8 tile exists. */
	return level >= 8 ? 0 : size >> (8 * level);
}

unsigned
pal_tile_width(int level, uint64_t n, uint64_t size)
{
	if (!valid_level(level))
		return 0;
	uint64_t c = level_count(level, size);
	if ((c >> 8) > n)
		return PAL_TILE_WIDTH;
	if ((c >> 8) == n)
		return (unsigned)(c & 0xff);
	return 0;
}

/*
 * The tiles of level in a tree of size to that a tree of size from lacks:
 * the full tiles completed since, then to's partial tile unless from has
 * the same one.
 */
static int
list_level(int level, uint64_t from, uint64_t to, pal_tile_fn fn, void *ctx)
{
	uint64_t cf = level_count(level, from), ct = level_count(level, to);
	int rc;

	for (uint64_t n = cf >> 8; n < ct >> 8; n++)
		if ((rc = fn(ctx, level, n, PAL_TILE_WIDTH)) != 0)
			return rc;
	if ((ct & 0xff) != 0 && cf != ct)
		return fn(ctx, level, ct >> 8, (unsigned)(ct & 0xff));
	return 0;
}

int
pal_tile_list_new(uint64_t from, uint64_t to, pal_tile_fn fn, void *ctx)
{
	int rc;

	if (from > to)
		return PAL_ERR_INVALID;
	for (int level = 0; level_count(level, to) > 0; level++)
		if ((rc = list_level(level, from, to, fn, ctx)) != 0)
			return rc;
	return 0;
}

int
pal_tile_list(uint64_t size, pal_tile_fn fn, void *ctx)
{
	return pal_tile_list_new(0, size, fn, ctx);
}

int
pal_tile_bundle_parse(const uint8_t *data, size_t len,
		      const uint8_t *entries[PAL_TILE_WIDTH],
		      size_t lens[PAL_TILE_WIDTH], size_t *n,
		      struct pal_err *err)
{
	struct pal_cur c;
	size_t k = 0;

	*n = 0;
	if (len == 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "empty entry bundle");
	pal_cur_init(&c, data, len);
	while (pal_cur_left(&c) > 0) {
		uint16_t el;
		size_t at = c.off;
		if (k == PAL_TILE_WIDTH)
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "entry bundle has more than %d "
					   "entries (offset %zu)",
					   PAL_TILE_WIDTH, at);
		if (pal_cur_u16be(&c, &el) < 0 ||
		    pal_cur_bytes(&c, el, &entries[k]) < 0)
			return pal_err_set(err, PAL_ERR_TRUNCATED,
					   "entry bundle: entry %zu at offset "
					   "%zu runs past the end", k, at);
		lens[k++] = el;
	}
	*n = k;
	return 0;
}

int
pal_tile_bundle_add(struct pal_buf *b, const uint8_t *entry, size_t len,
		    struct pal_err *err)
{
	uint8_t prefix[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	size_t old = b->len;
	int rc;

	if (len > PAL_ENTRY_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "log entry of %zu bytes (at most %d)", len,
				   PAL_ENTRY_MAX);
	if ((rc = pal_buf_append(b, prefix, 2)) < 0)
		return pal_err_set(err, rc, "entry bundle: no room for %zu "
				   "more bytes", len + 2);
	if (len > 0 && (rc = pal_buf_append(b, entry, len)) < 0) {
		/* Take the length back: the bundle stays well formed. */
		b->len = old;
		b->p[old] = '\0';
		return pal_err_set(err, rc, "entry bundle: no room for %zu "
				   "more bytes", len + 2);
	}
	return 0;
}
