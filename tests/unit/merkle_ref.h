/*
 * merkle_ref.h - reference RFC 9162 proof constructions for the tests,
 * computed from the whole leaf list by the specification's recursive
 * definitions (PATH, 2.1.3.1; SUBPROOF, 2.1.4.1), independently of the
 * library's generators: test_merkle.c and test_tile.c compare with them.
 */
#ifndef PAL_TEST_MERKLE_REF_H
#define PAL_TEST_MERKLE_REF_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/merkle.h"

#define REF_HLEN PAL_MERKLE_HASH_LEN

/* RFC 9162 2.1.3.1 PATH(idx, D[lo:lo+n]). */
static size_t
build_path(const uint8_t (*l)[REF_HLEN], uint64_t lo, uint64_t n, uint64_t idx,
	   uint8_t (*out)[REF_HLEN])
{
	uint64_t k = 1;
	size_t m;

	if (n == 1)
		return 0;
	while (k * 2 < n)
		k *= 2;
	if (idx < k) {
		m = build_path(l, lo, k, idx, out);
		pal_merkle_root(l + lo + k, n - k, out[m]);
	} else {
		m = build_path(l, lo + k, n - k, idx - k, out);
		pal_merkle_root(l + lo, k, out[m]);
	}
	return m + 1;
}

/* RFC 9162 2.1.4.1 SUBPROOF(m, D[n], b). */
static size_t
build_subproof(const uint8_t (*l)[REF_HLEN], uint64_t m, uint64_t n, int b,
	       uint8_t (*out)[REF_HLEN])
{
	uint64_t k = 1;
	size_t c;

	if (m == n) {
		if (b)
			return 0;
		pal_merkle_root(l, n, out[0]);
		return 1;
	}
	while (k * 2 < n)
		k *= 2;
	if (m <= k) {
		c = build_subproof(l, m, k, b, out);
		pal_merkle_root(l + k, n - k, out[c]);
	} else {
		c = build_subproof(l + k, m - k, n - k, 0, out);
		pal_merkle_root(l, k, out[c]);
	}
	return c + 1;
}

#endif
