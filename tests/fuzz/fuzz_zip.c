/*
 * fuzz_zip.c - the zip scanner on arbitrary bytes: both directory views,
 * the local header walk, the header checks, member reads and inflation,
 * and whatever the members then nest.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return pal_fuzz_scan(data, size, PAL_FMT_ZIP);
}
