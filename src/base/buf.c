/*
 * buf.c - growable buffers with a ceiling.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/buf.h"
#include "palisade/error.h"

void
pal_buf_init(struct pal_buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

/* Makes room for n more bytes plus the terminator. */
static int
reserve(struct pal_buf *b, size_t n)
{
	size_t need, cap;
	uint8_t *p;

	if (n > b->max || b->len > b->max - n)
		return PAL_ERR_LIMIT;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	if ((p = realloc(b->p, cap)) == NULL)
		return PAL_ERR_NOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int
pal_buf_append(struct pal_buf *b, const void *data, size_t n)
{
	int r;

	if ((r = reserve(b, n)) != 0)
		return r;
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
pal_buf_putc(struct pal_buf *b, char ch)
{
	return pal_buf_append(b, &ch, 1);
}

int
pal_buf_puts(struct pal_buf *b, const char *s)
{
	return pal_buf_append(b, s, strlen(s));
}

int
pal_buf_printf(struct pal_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return PAL_ERR_INVALID;
	if ((r = reserve(b, (size_t)n)) != 0)
		return r;
	va_start(ap, fmt);
	n = vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return PAL_ERR_INVALID;
	b->len += (size_t)n;
	return 0;
}

void
pal_buf_reset(struct pal_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

uint8_t *
pal_buf_steal(struct pal_buf *b, size_t *len)
{
	uint8_t *p = b->p;

	if (len != NULL)
		*len = b->len;
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void
pal_buf_free(struct pal_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

void
pal_buf_free_secret(struct pal_buf *b)
{
	if (b->p != NULL)
		explicit_bzero(b->p, b->cap);
	pal_buf_free(b);
}
