/*
 * text.c - UTF-8 validation and escaping of untrusted strings.
 */
#include <stdint.h>
#include <stdio.h>

#include "palisade/text.h"

size_t
pal_utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int
pal_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if ((k = pal_utf8_seq(p + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

int
pal_text_escape(struct pal_buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;
	int r = 0;

	while (r == 0 && i < n) {
		if (p[i] == '\\') {
			r = pal_buf_puts(out, "\\\\");
			i++;
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			r = pal_buf_putc(out, (char)p[i]);
			i++;
		} else if (p[i] >= 0x80 && (k = pal_utf8_seq(p + i, n - i)) > 1) {
			r = pal_buf_append(out, p + i, k);
			i += k;
		} else {
			r = pal_buf_printf(out, "\\x%02x", p[i]);
			i++;
		}
	}
	return r;
}
