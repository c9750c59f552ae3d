/*
 * error.c - error codes and the error context.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "palisade/error.h"

const char *
pal_strerror(int code)
{
	switch (code) {
	case PAL_OK:			return "success";
	case PAL_ERR_NOMEM:		return "out of memory";
	case PAL_ERR_IO:		return "I/O error";
	case PAL_ERR_FORMAT:		return "malformed input";
	case PAL_ERR_TRUNCATED:		return "truncated input";
	case PAL_ERR_LIMIT:		return "limit exceeded";
	case PAL_ERR_UNSUPPORTED:	return "unsupported input";
	case PAL_ERR_INVALID:		return "invalid argument";
	case PAL_ERR_POLICY:		return "invalid policy";
	case PAL_ERR_SYSTEM:		return "system error";
	case PAL_ERR_CRYPTO:		return "cryptographic failure";
	case PAL_ERR_VERIFY:		return "verification failed";
	default:			return "unknown error";
	}
}

void
pal_err_clear(struct pal_err *e)
{
	if (e == NULL)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}

/* Marks a truncated message so that a reader knows it was cut. */
static void
mark_truncated(char *msg, size_t cap, int n)
{
	if (n >= 0 && (size_t)n < cap)
		return;
	if (cap >= 4)
		memcpy(msg + cap - 4, "...", 4);
}

int
pal_err_set(struct pal_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		e->msg[0] = '\0';
	mark_truncated(e->msg, sizeof(e->msg), n);
	return code;
}

int
pal_err_wrap(struct pal_err *e, int code, const char *fmt, ...)
{
	char prefix[PAL_ERR_MSG_MAX];
	char old[PAL_ERR_MSG_MAX];
	va_list ap;
	int n;

	if (e == NULL)
		return code;
	if (e->code == 0)
		e->code = code;
	va_start(ap, fmt);
	n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (n < 0)
		prefix[0] = '\0';
	memcpy(old, e->msg, sizeof(old));
	n = snprintf(e->msg, sizeof(e->msg), "%s%s", prefix, old);
	mark_truncated(e->msg, sizeof(e->msg), n);
	return e->code;
}
