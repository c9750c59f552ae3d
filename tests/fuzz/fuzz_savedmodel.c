/*
 * fuzz_savedmodel.c - the SavedModel and keras_metadata.pb probe and
 * scanner on arbitrary bytes: whatever the input, probing and scanning end
 * in a defined result without reading out of bounds, leaking, recursing
 * past the depth cap or running away.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The probe runs on every file detection sees: it must cope too. */
	(void)pal_savedmodel_probe(data, size);
	return pal_fuzz_scan(data, size, PAL_FMT_TF_SAVEDMODEL);
}
