/*
 * cursor.h - the one bounded reader through which untrusted bytes pass.
 *
 * A cursor is a view of caller-owned memory and a read position.  Every
 * getter checks that the bytes it needs are there and fails with
 * PAL_ERR_TRUNCATED otherwise, leaving the position unchanged.  Parsers use
 * nothing else to touch input: no pointer arithmetic of their own.
 */
#ifndef PALISADE_CURSOR_H
#define PALISADE_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"

struct pal_cur {
	const uint8_t *base;	/* first byte of the view (not owned) */
	size_t len;		/* bytes in the view */
	size_t off;		/* read position, 0 <= off <= len */
};

void pal_cur_init(struct pal_cur *c, const void *data, size_t len);

static inline size_t
pal_cur_left(const struct pal_cur *c)
{
	return c->len - c->off;
}

int pal_cur_u8(struct pal_cur *c, uint8_t *v);
int pal_cur_u16le(struct pal_cur *c, uint16_t *v);
int pal_cur_u32le(struct pal_cur *c, uint32_t *v);
int pal_cur_u64le(struct pal_cur *c, uint64_t *v);
int pal_cur_u16be(struct pal_cur *c, uint16_t *v);
int pal_cur_u32be(struct pal_cur *c, uint32_t *v);
int pal_cur_u64be(struct pal_cur *c, uint64_t *v);

/* Points *p at the next n bytes (no copy) and advances past them. */
int pal_cur_bytes(struct pal_cur *c, size_t n, const uint8_t **p);

/*
 * Inline forms of pal_cur_bytes and pal_cur_u8, with the same checks and
 * results, for loops that read a few bytes per step (a pickle of millions
 * of opcodes makes several reads per opcode): there a call per read costs
 * more than the read.  On failure the position is unchanged and the
 * result is NULL or 0, so that no caller, inlined, reads an unset value.
 */
static inline int
pal_cur_take(struct pal_cur *c, size_t n, const uint8_t **p)
{
	if (n > c->len - c->off) {
		*p = NULL;
		return PAL_ERR_TRUNCATED;
	}
	*p = c->base + c->off;
	c->off += n;
	return 0;
}

static inline int
pal_cur_byte(struct pal_cur *c, uint8_t *v)
{
	if (c->off >= c->len) {
		*v = 0;
		return PAL_ERR_TRUNCATED;
	}
	*v = c->base[c->off++];
	return 0;
}

/* Copies the next n bytes into out and advances. */
int pal_cur_copy(struct pal_cur *c, void *out, size_t n);

int pal_cur_skip(struct pal_cur *c, size_t n);

/* Moves to an absolute offset within the view (off <= len). */
int pal_cur_seek(struct pal_cur *c, size_t off);

/*
 * Reads up to and including the next newline.  *p and *n describe the line
 * without its newline.  Fails with PAL_ERR_TRUNCATED if no newline occurs
 * within max bytes or before the end.
 */
int pal_cur_line(struct pal_cur *c, size_t max, const uint8_t **p, size_t *n);

/* Splits the next n bytes off as their own cursor and advances past them. */
int pal_cur_sub(struct pal_cur *c, size_t n, struct pal_cur *sub);

/* Reads a little-endian base-128 varint of at most 10 bytes. */
int pal_cur_varint(struct pal_cur *c, uint64_t *v);

#endif
