/*
 * fuzz_savedmodel_text.c - the SavedModel text-format reader
 * (saved_model.pbtxt) on arbitrary bytes: whatever the input, tokenizing,
 * string decoding, skipping unknown fields, the saver's walk through
 * functions and the re-reading of marked messages end in a defined result
 * without reading out of bounds, leaking, recursing past the nesting cap
 * or running away.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Detection sees every file: its text rule must cope too. */
	(void)pal_detect(data, size);
	return pal_fuzz_scan(data, size, PAL_FMT_TF_SAVEDMODEL_TEXT);
}
