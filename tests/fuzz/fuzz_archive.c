/*
 * fuzz_archive.c - the tar and 7z scanner (libarchive underneath) and
 * everything it nests: member extraction under the limits, link and name
 * checks, the legacy PyTorch tar delimiter.  Inputs that start like a 7z
 * signature are read as 7z, all others as tar.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);

/*
 * libarchive's 7z reader sizes tables from counts the file declares and
 * asks malloc for them (up to exabytes).  The scanner bounds that with an
 * address-space limit (src/sandbox/memlimit.c) under which such a malloc
 * returns NULL and libarchive reports an error; sanitizer builds cannot
 * run under that limit, so this target asks ASan for the same behaviour:
 * an allocation over 1 GiB fails instead of aborting the run.  Our own
 * parsers never see this option: they have their own targets.
 */
const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1:max_allocation_size_mb=1024";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum pal_format f = size > 0 && data[0] == '7' ? PAL_FMT_7Z :
	    PAL_FMT_TAR;

	return pal_fuzz_scan(data, size, f);
}
