/*
 * text.h - making untrusted strings safe to print.
 */
#ifndef PALISADE_TEXT_H
#define PALISADE_TEXT_H

#include <stddef.h>

#include "palisade/buf.h"

/*
 * Appends s[0..n) to out as printable, valid UTF-8: control bytes,
 * DEL, backslash and bytes that are not part of a valid UTF-8 sequence
 * become \xNN (backslash as \\).  Names taken from hostile files cannot
 * then move a terminal's cursor or break a JSON encoder.
 */
int pal_text_escape(struct pal_buf *out, const char *s, size_t n);

/* Returns 1 if s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int pal_utf8_valid(const char *s, size_t n);

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
size_t pal_utf8_seq(const unsigned char *s, size_t n);

#endif
