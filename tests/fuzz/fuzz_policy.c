/*
 * fuzz_policy.c - the policy-file parser and the judge.  Whatever the
 * bytes: a load either succeeds or fails with a message that names the
 * file, a failed load leaves the policy as it was, and no file can make a
 * dangerous global anything but dangerous.  The bytes are also judged as
 * a global ("module:name"), as the pickle scanner would pass them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/scan.h"
#include "policy_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
must_be_dangerous(const struct pal_policy *p, const char *m, const char *n)
{
	const char *why = NULL;

	if (pal_policy_judge(p, m, strlen(m), n, strlen(n), &why) !=
	    PAL_GLOBAL_DANGEROUS || why == NULL)
		abort();
}

static void
judge_bytes(const struct pal_policy *p, const uint8_t *data, size_t size)
{
	const uint8_t *colon = memchr(data, ':', size);
	const char *m = (const char *)data, *n = "", *why = NULL;
	size_t mlen = size, nlen = 0;
	enum pal_global_verdict v;

	if (colon != NULL) {
		mlen = (size_t)(colon - data);
		n = (const char *)colon + 1;
		nlen = size - mlen - 1;
	}
	v = pal_policy_judge(p, m, mlen, n, nlen, &why);
	if (v == PAL_GLOBAL_ALLOWED ? why != NULL : why == NULL)
		abort();
	/* What is allowed is never dangerous under the built-in rules. */
	if (v == PAL_GLOBAL_ALLOWED &&
	    pal_policy_builtin_dangerous(p, m, mlen, n, nlen, &why))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_policy *p = NULL;
	struct pal_err err;
	int r;

	if (pal_policy_new_default(&p, &err) != 0)
		abort();
	pal_err_clear(&err);
	r = pal_policy_load_buffer(p, data, size, "fuzz.yaml", &err);
	if (r != 0) {
		if (r != err.code || strncmp(err.msg, "fuzz.yaml", 9) != 0)
			abort();
		if (p->nallow != 0 || p->nallow_mod != 0 || p->ndeny != 0 ||
		    p->profiles != PAL_PROFILE_DEFAULT)
			abort();
	}
	must_be_dangerous(p, "os", "system");
	must_be_dangerous(p, "builtins", "eval");
	must_be_dangerous(p, "__builtin__", "getattr");
	must_be_dangerous(p, "torch", "load");
	judge_bytes(p, data, size);
	pal_policy_free(p);
	return 0;
}
