/*
 * archive.c - placeholder until the archive scanner lands: reports "unsupported".
 */
#include "scan_int.h"

const struct pal_rule pal_rules_archive[] = {
	{ NULL, 0, NULL },
};

int
pal_fmt_archive(struct pal_scan *s, const struct pal_scan_item *it)
{
	(void)it;
	return pal_err_set(&s->err, PAL_ERR_UNSUPPORTED,
	    "the archive scanner is not built yet");
}

int
pal_fmt_compressed(struct pal_scan *s, const struct pal_scan_item *it)
{
	(void)it;
	return pal_err_set(&s->err, PAL_ERR_UNSUPPORTED, "not built yet");
}
