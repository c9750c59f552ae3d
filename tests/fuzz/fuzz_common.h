/*
 * fuzz_common.h - shared body of the scanner fuzz targets: one session per
 * input, the built-in policy, small limits so that an input cannot make a
 * run slow by being legitimately large, the format forced so that the
 * fuzzer reaches the parser under test without first finding its magic.
 */
#ifndef PAL_FUZZ_COMMON_H
#define PAL_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>

#include "palisade/scan.h"
#include "scan_int.h"

static struct pal_policy *fuzz_policy;

static inline int
pal_fuzz_scan(const uint8_t *data, size_t size, enum pal_format format)
{
	struct pal_scan_opts opts;
	struct pal_scan *s = NULL;

	if (fuzz_policy == NULL && pal_policy_new_default(&fuzz_policy, NULL))
		abort();
	pal_scan_limits_default(&opts.limits);
	opts.limits.max_expanded = 64u << 20;
	opts.limits.max_opcodes = 1u << 20;
	opts.limits.max_stack = 1u << 14;
	opts.limits.max_memo = 1u << 14;
	opts.limits.max_members = 1024;
	opts.limits.max_findings = 64;
	opts.policy = fuzz_policy;
	opts.flags = 0;
	if (pal_scan_new(&opts, &s, NULL) != 0)
		abort();
	(void)pal_scan_memory_as(s, "fuzz", data, size, format);
	/* Every result must be in a defined state: the report must render. */
	if (pal_scan_exit_code(s) < 0 || pal_scan_exit_code(s) > 2)
		abort();
	pal_scan_free(s);
	return 0;
}

#endif
