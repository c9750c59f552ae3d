/*
 * fuzz_archive.c - the tar and 7z scanner (libarchive underneath) and
 * everything it nests: member extraction under the limits, link and name
 * checks, the legacy PyTorch tar delimiter.  Inputs that start like a 7z
 * signature are read as 7z, all others as tar.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum pal_format f = size > 0 && data[0] == '7' ? PAL_FMT_7Z :
	    PAL_FMT_TAR;

	return pal_fuzz_scan(data, size, f);
}
