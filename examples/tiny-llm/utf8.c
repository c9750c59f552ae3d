/*
 * utf8.c - bytes to valid UTF-8 (utf8.h).
 */
#include <string.h>

#include "utf8.h"

/* Continuation bytes a lead byte needs, or -1 for a byte no sequence
 * starts with. */
static int
needs(uint8_t b)
{
	if (b < 0x80)
		return 0;
	if (b >= 0xc2 && b <= 0xdf)
		return 1;
	if (b >= 0xe0 && b <= 0xef)
		return 2;
	if (b >= 0xf0 && b <= 0xf4)
		return 3;
	return -1;
}

/* Whether b may follow lead as the k-th continuation byte (k from 1):
 * the second byte's range excludes overlongs, surrogates and values past
 * U+10FFFF. */
static int
continues(uint8_t lead, int k, uint8_t b)
{
	uint8_t lo = 0x80, hi = 0xbf;

	if (k == 1) {
		if (lead == 0xe0)
			lo = 0xa0;
		else if (lead == 0xed)
			hi = 0x9f;
		else if (lead == 0xf0)
			lo = 0x90;
		else if (lead == 0xf4)
			hi = 0x8f;
	}
	return b >= lo && b <= hi;
}

size_t
tl_utf8_take(const uint8_t *raw, size_t *pos, size_t limit, int final,
	     char *out)
{
	static const char fffd[3] = { (char)0xef, (char)0xbf, (char)0xbd };
	size_t i = *pos, n = 0;

	while (i < limit) {
		int need = needs(raw[i]), k = 1;

		if (need == 0) {
			out[n++] = (char)raw[i++];
			continue;
		}
		while (need > 0 && k <= need && i + (size_t)k < limit &&
		       continues(raw[i], k, raw[i + (size_t)k]))
			k++;
		if (need > 0 && k > need) {
			memcpy(out + n, raw + i, (size_t)k);
			n += (size_t)k;
		} else if (need > 0 && i + (size_t)k >= limit && !final) {
			break;	/* may complete once more bytes come */
		} else {
			/* raw[i..i+k) is a maximal ill-formed subpart. */
			memcpy(out + n, fffd, 3);
			n += 3;
		}
		i += (size_t)(need > 0 ? k : 1);
	}
	*pos = i;
	return n;
}
