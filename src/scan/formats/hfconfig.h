/*
 * hfconfig.h - what json.c and hfconfig.c share: the Hugging Face checks
 * run on a JSON document once it has been parsed.
 */
#ifndef PAL_HFCONFIG_H
#define PAL_HFCONFIG_H

#include <jansson.h>

#include "scan_int.h"

/*
 * Checks a parsed JSON document for what makes transformers, diffusers,
 * PEFT or sentence-transformers import code (auto_map, custom_pipelines,
 * custom classes and modules, trust_remote_code, Hub kernels) and checks
 * every chat template in it with pal_jinja_check.  Reports findings on
 * it.  Returns 0, or a negative PAL_ERR_* with a detail in s->err when a
 * chat template could not be checked completely (all the rest is checked
 * first).
 */
int pal_hf_check(struct pal_scan *s, const struct pal_scan_item *it,
    json_t *root);

#endif
