/*
 * fuzz_sigstore_root.c - the Sigstore trusted root parser from raw bytes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "palisade/sigstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_sigstore_root *r = NULL;

	if (pal_sigstore_root_parse(data, size, &r, NULL) == 0)
		pal_sigstore_root_free(r);
	return 0;
}
