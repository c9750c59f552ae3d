/*
 * fuzz_jinja.c - the chat-template analyser called directly on raw bytes,
 * as gguf.c and hfconfig.c call it: lexer, parser, constant folding and
 * the token-by-token check of broken tags.
 */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_scan_opts opts;
	struct pal_scan_item it;
	struct pal_scan *s = NULL;
	int r;

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
	r = pal_jinja_check(s, &it, "chat_template", (const char *)data, size);
	/* A failure always comes with its code and a detail. */
	if (r > 0 || (r < 0 && (s->err.code != r || s->err.msg[0] == '\0')))
		abort();
	pal_scan_free(s);
	return 0;
}
