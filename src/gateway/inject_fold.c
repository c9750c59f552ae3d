/*
 * inject_fold.c - the folded copy of a message that the injection rules
 * scan a second time (inject.h).
 *
 * "ignore<U+00A0>previous instructions", "ig<U+200B>nore ...",
 * "ｉｇｎｏｒｅ ..." read the same to a model as the plain phrase but would
 * slip past patterns written with \s and ASCII letters.  The fold undoes
 * the cheap disguises: Unicode spaces become ASCII spaces; characters
 * that draw nothing (zero-width spaces and joiners, word joiners, soft
 * hyphens, bidi controls, variation selectors, tag characters) are
 * removed; fullwidth ASCII (U+FF01..U+FF5E) becomes ASCII.  Every
 * replacement is no longer than what it replaces, so the copy fits in
 * the length of the original.  Look-alike letters from other scripts
 * (Cyrillic 'о' for 'o') are not folded: that needs the Unicode
 * confusables table, and is left to the rules.
 *
 * The input has been checked to be valid UTF-8 by the caller.
 */
#include <string.h>

#include "inject_int.h"

/* Code point of the valid UTF-8 sequence at s (length k, 2..4). */
static uint32_t
decode(const unsigned char *s, size_t k)
{
	uint32_t cp = s[0] & (k == 2 ? 0x1f : k == 3 ? 0x0f : 0x07);

	for (size_t i = 1; i < k; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
}

static size_t
seq_len(unsigned char b)
{
	return b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
}

static int
is_space(uint32_t cp)
{
	return cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

static int
is_invisible(uint32_t cp)
{
	return cp == 0xad || cp == 0x34f || cp == 0x61c || cp == 0x115f ||
	       cp == 0x1160 || cp == 0x180e ||
	       (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x206f) || cp == 0x3164 ||
	       (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff ||
	       cp == 0xffa0 || (cp >= 0xe0000 && cp <= 0xe007f) ||
	       (cp >= 0xe0100 && cp <= 0xe01ef);
}

size_t
inject_fold(const char *s, size_t n, char *out, int *changed)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, k;
	uint32_t cp;

	*changed = 0;
	while (i < n) {
		if (p[i] < 0x80) {
			out[o++] = (char)p[i++];
			continue;
		}
		k = seq_len(p[i]);
		if (k > n - i)
			k = n - i;	/* cannot happen on valid input */
		cp = decode(p + i, k);
		if (is_space(cp)) {
			out[o++] = ' ';
			*changed = 1;
		} else if (cp >= 0xff01 && cp <= 0xff5e) {
			out[o++] = (char)(cp - 0xfee0);
			*changed = 1;
		} else if (is_invisible(cp)) {
			*changed = 1;
		} else {
			memcpy(out + o, p + i, k);
			o += k;
		}
		i += k;
	}
	return o;
}
