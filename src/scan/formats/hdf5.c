/*
 * hdf5.c - placeholder until the hdf5 scanner lands: reports "unsupported".
 */
#include "scan_int.h"

const struct pal_rule pal_rules_hdf5[] = {
	{ NULL, 0, NULL },
};

int
pal_fmt_hdf5(struct pal_scan *s, const struct pal_scan_item *it)
{
	(void)it;
	return pal_err_set(&s->err, PAL_ERR_UNSUPPORTED,
	    "the hdf5 scanner is not built yet");
}

