/*
 * encoding.h - hex and base64 as the signing formats use them, and
 * constant-time comparison.
 *
 * Decoders are strict: hex is even-length [0-9a-fA-F] only; base64 is the
 * standard alphabet (RFC 4648 section 4) with canonical padding and no
 * whitespace.  Output buffers are allocated by the decoder and owned by the
 * caller (free()).
 */
#ifndef PALISADE_ENCODING_H
#define PALISADE_ENCODING_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/buf.h"
#include "palisade/error.h"

/* Writes 2*n lowercase hex digits and a NUL into out (size >= 2*n + 1). */
void pal_hex_encode(const uint8_t *in, size_t n, char *out);

/* The value of one hex digit (either case), or -1. */
int pal_hex_value(int c);

/* Decodes a hex string of exactly len characters into *out (malloc'd). */
int pal_hex_decode(const char *s, size_t len, uint8_t **out, size_t *out_len,
		   struct pal_err *err);

/* Appends the base64 of in to b (no NUL counted). */
int pal_base64_encode(const uint8_t *in, size_t n, struct pal_buf *b);

/* Decodes standard, padded base64 of exactly len characters. */
int pal_base64_decode(const char *s, size_t len, uint8_t **out,
		      size_t *out_len, struct pal_err *err);

/*
 * A canonical decimal of exactly n bytes: digits only, no sign, no
 * leading zero (save "0" itself), at most 2^64 - 1.  0 or -1.
 */
int pal_decimal_parse(const char *s, size_t n, uint64_t *out);

/* 1 when a and b are equal; time depends on n only. */
int pal_ct_equal(const void *a, const void *b, size_t n);

#endif
