/*
 * policy.c - placeholder allowlist: allows nothing, until the real one lands.
 */
#include <stdlib.h>

#include "scan_int.h"

struct pal_policy {
	int unused;
};

int
pal_policy_new_default(struct pal_policy **out, struct pal_err *err)
{
	*out = calloc(1, sizeof(**out));
	return *out == NULL ? pal_err_set(err, PAL_ERR_NOMEM, "out of memory") : 0;
}

int
pal_policy_load_file(struct pal_policy *p, const char *path,
    struct pal_err *err)
{
	(void)p;
	return pal_err_set(err, PAL_ERR_UNSUPPORTED, "%s: policy files are not supported yet", path);
}

void
pal_policy_free(struct pal_policy *p)
{
	free(p);
}

enum pal_global_verdict
pal_policy_judge(const struct pal_policy *p, const char *module,
    size_t module_len, const char *name, size_t name_len, const char **why)
{
	(void)p; (void)module; (void)module_len; (void)name; (void)name_len;
	*why = "not on the allowlist";
	return PAL_GLOBAL_UNKNOWN;
}
