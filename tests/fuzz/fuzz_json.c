/*
 * fuzz_json.c - the JSON config scanner from raw bytes: the strict parse,
 * the Hugging Face checks and every chat template found in the document.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return pal_fuzz_scan(data, size, PAL_FMT_JSON);
}
