/*
 * cursor.c - bounded reads over untrusted bytes.
 */
#include <string.h>

#include "palisade/cursor.h"
#include "palisade/error.h"

void
pal_cur_init(struct pal_cur *c, const void *data, size_t len)
{
	c->base = data;
	c->len = data == NULL ? 0 : len;
	c->off = 0;
}

int
pal_cur_bytes(struct pal_cur *c, size_t n, const uint8_t **p)
{
	return pal_cur_take(c, n, p);
}

int
pal_cur_copy(struct pal_cur *c, void *out, size_t n)
{
	const uint8_t *p;
	int r;

	if ((r = pal_cur_bytes(c, n, &p)) != 0)
		return r;
	if (n > 0)
		memcpy(out, p, n);
	return 0;
}

int
pal_cur_skip(struct pal_cur *c, size_t n)
{
	const uint8_t *p;

	return pal_cur_bytes(c, n, &p);
}

int
pal_cur_seek(struct pal_cur *c, size_t off)
{
	if (off > c->len)
		return PAL_ERR_TRUNCATED;
	c->off = off;
	return 0;
}

int
pal_cur_u8(struct pal_cur *c, uint8_t *v)
{
	return pal_cur_byte(c, v);
}

/* Reads n <= 8 bytes as an unsigned integer in the given byte order. */
static int
get_uint(struct pal_cur *c, size_t n, int big_endian, uint64_t *v)
{
	const uint8_t *p;
	uint64_t x = 0;
	size_t i;
	int r;

	if ((r = pal_cur_bytes(c, n, &p)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		size_t k = big_endian ? i : n - 1 - i;
		x = (x << 8) | p[k];
	}
	*v = x;
	return 0;
}

int
pal_cur_u16le(struct pal_cur *c, uint16_t *v)
{
	uint64_t x;
	int r = get_uint(c, 2, 0, &x);

	if (r == 0)
		*v = (uint16_t)x;
	return r;
}

int
pal_cur_u32le(struct pal_cur *c, uint32_t *v)
{
	uint64_t x;
	int r = get_uint(c, 4, 0, &x);

	if (r == 0)
		*v = (uint32_t)x;
	return r;
}

int
pal_cur_u64le(struct pal_cur *c, uint64_t *v)
{
	return get_uint(c, 8, 0, v);
}

int
pal_cur_u16be(struct pal_cur *c, uint16_t *v)
{
	uint64_t x;
	int r = get_uint(c, 2, 1, &x);

	if (r == 0)
		*v = (uint16_t)x;
	return r;
}

int
pal_cur_u32be(struct pal_cur *c, uint32_t *v)
{
	uint64_t x;
	int r = get_uint(c, 4, 1, &x);

	if (r == 0)
		*v = (uint32_t)x;
	return r;
}

int
pal_cur_u64be(struct pal_cur *c, uint64_t *v)
{
	return get_uint(c, 8, 1, v);
}

int
pal_cur_line(struct pal_cur *c, size_t max, const uint8_t **p, size_t *n)
{
	const uint8_t *start = c->base + c->off;
	size_t left = pal_cur_left(c);
	size_t span = left < max ? left : max;
	const uint8_t *nl = span ? memchr(start, '\n', span) : NULL;

	if (nl == NULL)
		return PAL_ERR_TRUNCATED;
	*p = start;
	*n = (size_t)(nl - start);
	c->off += *n + 1;
	return 0;
}

int
pal_cur_sub(struct pal_cur *c, size_t n, struct pal_cur *sub)
{
	const uint8_t *p;
	int r;

	if ((r = pal_cur_bytes(c, n, &p)) != 0)
		return r;
	pal_cur_init(sub, p, n);
	return 0;
}

int
pal_cur_varint(struct pal_cur *c, uint64_t *v)
{
	size_t save = c->off;
	uint64_t x = 0;
	unsigned shift;
	uint8_t b;

	for (shift = 0; shift < 70; shift += 7) {
		if (pal_cur_u8(c, &b) != 0) {
			c->off = save;
			return PAL_ERR_TRUNCATED;
		}
		/* The tenth byte may carry only the top bit of a uint64. */
		if (shift == 63 && b > 1) {
			c->off = save;
			return PAL_ERR_FORMAT;
		}
		x |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*v = x;
			return 0;
		}
	}
	c->off = save;
	return PAL_ERR_FORMAT;
}
