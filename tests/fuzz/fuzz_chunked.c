/*
 * fuzz_chunked.c - chunked-encryption messages from raw bytes, opened
 * under a fixed key and context (the seeds were sealed under the same):
 * whole, by random access, and in raw mode chunk by chunk.
 *
 * The outcomes must agree: a message that opens must seal back to the
 * same bytes (sealing is deterministic for a given salt) and read back the
 * same bytes by random access; a message that does not open must fail
 * random access of its whole range with the length check, and every
 * failure must leave its output wiped.  Anything else aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/chunked.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (4u << 20)

/* The seeds' key and context (tests/fuzz/corpus/fuzz_chunked). */
static const uint8_t key[32] = "fuzz_chunked fixed input key 32";
static const uint8_t context[] = "fuzz_chunked context";

static int
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Reads [off, off + len); checks it against pt when the message opened. */
static void
read_range(struct pal_chunked_ctx *c, const uint8_t *data, size_t size,
	   const uint8_t *pt, int opened, uint64_t off, size_t len,
	   unsigned flags)
{
	uint8_t *out = malloc(len + 1);
	int rc;

	if (out == NULL)
		abort();
	memset(out, 0xa5, len);
	rc = pal_chunked_read_buf(c, data, size, off, len, out, flags, NULL);
	if (opened && (rc != 0 || memcmp(out, pt + off, len) != 0))
		abort();
	if (rc != 0 && !all_zero(out, len))
		abort();
	/* A message that did not open fails the whole, checked range. */
	if (!opened && rc == 0 && off == 0 && (flags & PAL_CHUNKED_AUTH_LENGTH))
		abort();
	free(out);
}

static void
random_access(const struct pal_chunked_keys *k, const uint8_t *data,
	      size_t size, const uint8_t *pt, uint64_t n, int opened)
{
	struct pal_chunked_ctx *c = NULL;

	if (pal_chunked_ctx_new(k, &c, NULL) != 0)
		abort();
	read_range(c, data, size, pt, opened, 0, (size_t)n,
		   PAL_CHUNKED_AUTH_LENGTH);
	read_range(c, data, size, pt, opened, 0, (size_t)n, 0);
	read_range(c, data, size, pt, opened, n / 2,
		   (size_t)(n - n / 2 < 100 ? n - n / 2 : 100), 0);
	if (n > 0)
		read_range(c, data, size, pt, opened, n - 1, 1, 0);
	read_range(c, data, size, pt, opened, n, 0,
		   PAL_CHUNKED_AUTH_LENGTH);
	pal_chunked_ctx_free(c);
}

/* The input as a raw-mode body, chunk by chunk, under a fixed key. */
static void
raw_chunks(const uint8_t *data, size_t size)
{
	static const uint8_t nonce[PAL_CHUNKED_NONCE_LEN] = "fuzz nonce.";
	struct pal_chunked_keys *k = NULL;
	struct pal_chunked_ctx *c = NULL;
	uint8_t out[PAL_CHUNKED_CHUNK_LEN];

	if (pal_chunked_keys_raw(PAL_COBBLESTONE_256, key, sizeof(key), nonce,
				 &k, NULL) != 0 ||
	    pal_chunked_ctx_new(k, &c, NULL) != 0)
		abort();
	for (uint64_t i = 0; size > 0 || i == 0; i++) {
		size_t n = size < PAL_CHUNKED_CT_CHUNK_LEN
				   ? size : PAL_CHUNKED_CT_CHUNK_LEN;
		int final = n < PAL_CHUNKED_CT_CHUNK_LEN;
		if (pal_chunked_open_chunk(c, i, final, data, n, out, NULL) != 0)
			break;
		data += n;
		size -= n;
		if (final)
			break;
	}
	pal_chunked_ctx_free(c);
	pal_chunked_keys_free(k);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_chunked_keys *k = NULL;
	uint64_t n;
	size_t got = 0;

	if (size > MAX_INPUT)
		return 0;
	raw_chunks(data, size);
	if (pal_chunked_pt_len(size, &n, NULL) != 0)
		return 0;
	if (pal_chunked_derive_header(PAL_COBBLESTONE_256, key, sizeof(key),
				      data, context, sizeof(context), &k,
				      NULL) != 0)
		return 0;
	uint8_t *pt = malloc(n + 1), *again = malloc(size);
	if (pt == NULL || again == NULL)
		abort();
	memset(pt, 0xa5, n);
	int rc = pal_chunked_open_buf(k, data, size, pt, n, &got, 2, NULL);
	if (rc == 0) {
		if (got != n ||
		    pal_chunked_seal_buf(k, pt, n, again, size, 1, NULL) != 0 ||
		    memcmp(again, data, size) != 0)
			abort();
	} else if (!all_zero(pt, n)) {
		abort();
	}
	random_access(k, data, size, pt, n, rc == 0);
	free(again);
	free(pt);
	pal_chunked_keys_free(k);
	return 0;
}
