/*
 * fuzz_keras.c - the Keras configuration checker on arbitrary text, and
 * its marshal decoder on arbitrary bytes (reached through JSON only as
 * base64, which a fuzzer would rarely produce).
 */
#include <string.h>

#include "fuzz_common.h"
#include "keras.h"
#include "palisade/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_scan_opts opts;
	struct pal_scan_item it;
	struct pal_scan *s = NULL;
	struct pal_buf out;

	if (fuzz_policy == NULL && pal_policy_new_default(&fuzz_policy, NULL))
		abort();
	pal_scan_limits_default(&opts.limits);
	opts.limits.max_findings = 64;
	opts.policy = fuzz_policy;
	opts.flags = 0;
	if (pal_scan_new(&opts, &s, NULL) != 0)
		abort();
	memset(&it, 0, sizeof(it));
	it.data = data;
	it.len = size;
	it.name = "fuzz";
	it.format = PAL_FMT_JSON;
	if (pal_scan_result_new(s, it.name, 0, &it.result) != 0)
		abort();
	(void)pal_keras_check_config(s, &it, (const char *)data, size);
	if (pal_scan_exit_code(s) < 0 || pal_scan_exit_code(s) > 2)
		abort();
	pal_scan_free(s);
	pal_buf_init(&out, 1 << 16);
	(void)pal_keras_describe_marshal(data, size, &out);
	pal_buf_free(&out);
	return 0;
}
