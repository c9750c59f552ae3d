/*
 * err.c - error details (err.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

int
tl_fail(struct tl_err *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	/* A detail longer than the buffer is cut; it is still one line. */
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}
