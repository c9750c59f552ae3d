/*
 * fuzz_hdf5.c - the HDF5 scanner, from the superblock down through object
 * headers, B-trees, heaps and attributes to the Keras check.  Checksums
 * are not verified here: the fuzzer could not get past them, and the
 * structures behind them are what must cope with hostile bytes.
 */
#include "fuzz_common.h"
#include "hdf5_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pal_hdf5_set_verify_checksums(0);
	return pal_fuzz_scan(data, size, PAL_FMT_HDF5);
}
