/*
 * fuzz_detect.c - the whole scanner from format detection down: whatever
 * the bytes, detection picks a format and its scanner must cope.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return pal_fuzz_scan(data, size, PAL_FMT_UNKNOWN);
}
