/*
 * buf.h - a growable byte buffer with a ceiling chosen by its owner.
 *
 * The buffer never grows past max; an append that would is refused with
 * PAL_ERR_LIMIT and leaves the contents as they were.  The bytes are kept
 * NUL-terminated (the terminator is not counted in len) so that text built
 * in a buffer can be used as a C string.
 */
#ifndef PALISADE_BUF_H
#define PALISADE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct pal_buf {
	uint8_t *p;	/* owned; NULL until the first append */
	size_t len;
	size_t cap;
	size_t max;
};

void pal_buf_init(struct pal_buf *b, size_t max);
int pal_buf_append(struct pal_buf *b, const void *data, size_t n);
int pal_buf_putc(struct pal_buf *b, char ch);
int pal_buf_puts(struct pal_buf *b, const char *s);
int pal_buf_printf(struct pal_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pal_buf_reset(struct pal_buf *b);

/* Hands the bytes to the caller (caller frees) and empties the buffer. */
uint8_t *pal_buf_steal(struct pal_buf *b, size_t *len);

/* Frees the bytes; safe on a zeroed or already-freed buffer. */
void pal_buf_free(struct pal_buf *b);

/* As pal_buf_free, wiping the bytes first (for secrets). */
void pal_buf_free_secret(struct pal_buf *b);

#endif
