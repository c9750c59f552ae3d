/*
 * err.h - the error detail of tiny-llm-server: a function that fails
 * returns -1 and leaves one line in a caller's struct tl_err saying what
 * was wrong and where.  Only main() prints it.
 */
#ifndef TL_ERR_H
#define TL_ERR_H

#define TL_ERR_MAX 512

struct tl_err {
	char msg[TL_ERR_MAX];
};

/* Formats the detail into e (which may be NULL) and returns -1. */
int tl_fail(struct tl_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
