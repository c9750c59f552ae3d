/*
 * fuzz_sealed_header.c - the sealed-file header (sealed.h) from raw bytes:
 * a vault's files are input to anyone who can write to the vault.  A
 * header that parses must encode back to exactly the bytes it came from,
 * and its context must build.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/sealed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_sealed_header h;
	struct pal_err err = { 0 };
	if (pal_sealed_parse(data, size, &h, &err) != 0) {
		if (err.msg[0] == '\0')
			abort();	/* every refusal says why */
		return 0;
	}
	struct pal_buf b, ctx;
	pal_buf_init(&b, 1 << 20);
	pal_buf_init(&ctx, 1 << 20);
	uint32_t len = h.header_len;
	if (pal_sealed_encode(&h, &b, &err) != 0 || b.len != len ||
	    memcmp(b.p, data, len) != 0)
		abort();
	if (pal_sealed_context(&h, &ctx) != 0)
		abort();
	pal_buf_free(&b);
	pal_buf_free(&ctx);
	return 0;
}
