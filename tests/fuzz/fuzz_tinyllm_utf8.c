/*
 * fuzz_tinyllm_utf8.c - tiny-llm-server's bytes-to-text decoder
 * (examples/tiny-llm/utf8.c) on raw bytes.  The first byte seeds the
 * places where the input is cut, as a stream would cut it.
 *
 * Invariants (any break aborts):
 *   - the text is valid UTF-8 (checked by a decoder written here) of at
 *     most three bytes per input byte;
 *   - valid UTF-8 comes out unchanged;
 *   - decoded in pieces, with the rest flushed at the end, the text is
 *     byte for byte the text decoded at once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 4096

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* Whether s[0..n) is well-formed UTF-8 (Unicode Table 3-7). */
static int
valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t k;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			k = 1;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			k = 2;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			k = 3;
		else
			return 0;
		cp = s[i] & (0x3f >> k);
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += k + 1;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char whole[3 * MAX_INPUT], parts[3 * MAX_INPUT];
	const uint8_t *raw = data + 1;
	size_t n, pos = 0, wn, pn = 0, limit = 0;
	uint32_t seed;

	if (size == 0 || size > MAX_INPUT + 1)
		return 0;
	seed = data[0] | 1u;
	n = size - 1;
	wn = tl_utf8_take(raw, &pos, n, 1, whole);
	check(pos == n && wn <= 3 * n);
	check(valid((const uint8_t *)whole, wn));
	if (valid(raw, n))
		check(wn == n && memcmp(whole, raw, n) == 0);
	/* The same bytes arriving a few at a time. */
	pos = 0;
	while (limit < n) {
		seed = seed * 1103515245u + 12345u;
		limit += 1 + (seed >> 16) % 5;
		if (limit > n)
			limit = n;
		pn += tl_utf8_take(raw, &pos, limit, 0, parts + pn);
		check(pos <= limit && limit - pos < 4);
	}
	pn += tl_utf8_take(raw, &pos, n, 1, parts + pn);
	check(pos == n && pn == wn && memcmp(parts, whole, wn) == 0);
	return 0;
}
