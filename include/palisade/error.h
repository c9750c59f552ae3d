/*
 * error.h - Palisade's error space and error context.
 *
 * Every library function returns int: 0 on success or a negative PAL_ERR_*
 * code.  A function that can say more (which field, which offset, which
 * value) writes a one-line detail into a caller-supplied struct pal_err.
 * Library code never prints and never exits; main()-level code does.
 */
#ifndef PALISADE_ERROR_H
#define PALISADE_ERROR_H

#include <stddef.h>

enum {
	PAL_OK = 0,
	PAL_ERR_NOMEM = -1,		/* allocation failed */
	PAL_ERR_IO = -2,		/* read, write, open, stat failed */
	PAL_ERR_FORMAT = -3,		/* input is malformed */
	PAL_ERR_TRUNCATED = -4,		/* input ends before a field does */
	PAL_ERR_LIMIT = -5,		/* a hard cap on size, depth or count */
	PAL_ERR_UNSUPPORTED = -6,	/* valid input we do not handle */
	PAL_ERR_INVALID = -7,		/* bad argument or usage */
	PAL_ERR_POLICY = -8,		/* policy file is malformed */
	PAL_ERR_SYSTEM = -9,		/* a system facility failed */
	PAL_ERR_CRYPTO = -10,		/* a cryptographic operation failed */
	PAL_ERR_VERIFY = -11,		/* a verification did not hold */
};

#define PAL_ERR_MSG_MAX 512

/* Detail of the most recent failure; code mirrors the returned value. */
struct pal_err {
	int code;
	char msg[PAL_ERR_MSG_MAX];
};

/* Static, human-readable name of an error code. Never NULL. */
const char *pal_strerror(int code);

/* Clears an error context. */
void pal_err_clear(struct pal_err *e);

/*
 * Records code and a printf-style detail in e (which may be NULL) and
 * returns code, so that callers can write "return pal_err_set(e, ...)".
 * A message longer than PAL_ERR_MSG_MAX is truncated with "...".
 */
int pal_err_set(struct pal_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Prefixes the detail already in e with more context ("zip entry 'x': ").
 * Returns e->code, or code when e is NULL.
 */
int pal_err_wrap(struct pal_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
