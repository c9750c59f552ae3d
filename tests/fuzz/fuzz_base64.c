/*
 * fuzz_base64.c - the strict hex and base64 decoders from raw bytes, with
 * the invariants that make them strict: whatever decodes re-encodes to
 * exactly the input (one encoding per byte string: no whitespace, no
 * padding variants, no non-zero padding bits), and encoding the input
 * then decoding it gives the input back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/encoding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
base64_canonical(const char *s, size_t n)
{
	uint8_t *out = NULL;
	size_t len = 0;
	struct pal_buf b;

	if (pal_base64_decode(s, n, &out, &len, NULL) != 0) {
		if (out != NULL)
			abort();
		return;
	}
	if (len != n / 4 * 3 - (n > 0 && s[n - 1] == '=') -
	    (n > 1 && s[n - 2] == '='))
		abort();
	pal_buf_init(&b, 4 * n + 16);
	if (pal_base64_encode(out, len, &b) != 0 || b.len != n ||
	    (n > 0 && memcmp(b.p, s, n) != 0))
		abort();
	pal_buf_free(&b);
	free(out);
}

static void
base64_round_trip(const uint8_t *data, size_t size)
{
	uint8_t *out = NULL;
	size_t len = 0;
	struct pal_buf b;

	pal_buf_init(&b, 2 * size + 16);
	if (pal_base64_encode(data, size, &b) != 0 ||
	    b.len != (size + 2) / 3 * 4)
		abort();
	if (pal_base64_decode(b.p ? (const char *)b.p : "", b.len, &out, &len,
			      NULL) != 0 || len != size ||
	    (size > 0 && memcmp(out, data, size) != 0))
		abort();
	free(out);
	pal_buf_free(&b);
}

static void
hex_both_ways(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	uint8_t *out = NULL;
	size_t len = 0;
	char *enc;

	if (pal_hex_decode(s, size, &out, &len, NULL) == 0) {
		if (len * 2 != size || (enc = malloc(size + 1)) == NULL)
			abort();
		pal_hex_encode(out, len, enc);
		for (size_t i = 0; i < size; i++) {
			char c = s[i];

			if (c >= 'A' && c <= 'F')
				c = (char)(c - 'A' + 'a');
			if (enc[i] != c)
				abort();
		}
		free(enc);
		free(out);
	}
	enc = malloc(2 * size + 1);
	if (enc == NULL)
		abort();
	pal_hex_encode(data, size, enc);
	if (pal_hex_decode(enc, 2 * size, &out, &len, NULL) != 0 ||
	    len != size || (size > 0 && memcmp(out, data, size) != 0))
		abort();
	free(out);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	base64_canonical((const char *)data, size);
	base64_round_trip(data, size);
	hex_both_ways(data, size);
	if (size > 0 && pal_ct_equal(data, data, size) != 1)
		abort();
	return 0;
}
