/*
 * fuzz_pickle.c - the pickle scanner on any bytes: the symbolic unpickler,
 * the multi-pickle stream, joblib array data and PyTorch legacy storages,
 * nested payloads.  Whatever the input, the scan must end in a defined
 * state within the fuzz harness's limits.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The probe is what decides a pickle without PROTO: fuzz it too. */
	(void)pal_pickle_probe(data, size);
	return pal_fuzz_scan(data, size, PAL_FMT_PICKLE);
}
