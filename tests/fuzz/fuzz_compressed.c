/*
 * fuzz_compressed.c - the compression wrappers: gzip, bzip2, xz, lzma,
 * zstd, lz4 through libarchive and zlib through zlib, with the expansion
 * meter, trailing-data and truncation handling.  A stream the detector
 * recognizes is read as that format; any other input is read as the
 * format its first byte selects, so that every decoder sees damaged
 * headers too.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum pal_format wrappers[] = {
	PAL_FMT_GZIP, PAL_FMT_BZIP2, PAL_FMT_XZ, PAL_FMT_LZMA, PAL_FMT_ZSTD,
	PAL_FMT_LZ4, PAL_FMT_ZLIB,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum pal_format f = pal_detect(data, size);
	size_t i;

	for (i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++)
		if (wrappers[i] == f)
			return pal_fuzz_scan(data, size, f);
	f = wrappers[size > 0 ? data[0] % (sizeof(wrappers) /
	    sizeof(wrappers[0])) : 0];
	return pal_fuzz_scan(data, size, f);
}
