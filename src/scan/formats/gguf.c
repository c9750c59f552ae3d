/*
 * gguf.c - placeholder until the gguf scanner lands: reports "unsupported".
 */
#include "scan_int.h"

const struct pal_rule pal_rules_gguf[] = {
	{ NULL, 0, NULL },
};

int
pal_fmt_gguf(struct pal_scan *s, const struct pal_scan_item *it)
{
	(void)it;
	return pal_err_set(&s->err, PAL_ERR_UNSUPPORTED,
	    "the gguf scanner is not built yet");
}

