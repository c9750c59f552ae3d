/*
 * zip.c - placeholder until the zip scanner lands: reports "unsupported".
 */
#include "scan_int.h"

const struct pal_rule pal_rules_zip[] = {
	{ NULL, 0, NULL },
};

int
pal_fmt_zip(struct pal_scan *s, const struct pal_scan_item *it)
{
	(void)it;
	return pal_err_set(&s->err, PAL_ERR_UNSUPPORTED,
	    "the zip scanner is not built yet");
}

