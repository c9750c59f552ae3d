/*
 * fuzz_gguf.c - the gguf scanner on arbitrary bytes: whatever the input, the
 * scan ends in a defined result without reading out of bounds, leaking or
 * running away.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return pal_fuzz_scan(data, size, PAL_FMT_GGUF);
}
