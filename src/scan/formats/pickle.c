/*
 * pickle.c - placeholder until the pickle scanner lands: reports "unsupported".
 */
#include "scan_int.h"

const struct pal_rule pal_rules_pickle[] = {
	{ NULL, 0, NULL },
};

int
pal_fmt_pickle(struct pal_scan *s, const struct pal_scan_item *it)
{
	(void)it;
	return pal_err_set(&s->err, PAL_ERR_UNSUPPORTED,
	    "the pickle scanner is not built yet");
}

int
pal_pickle_probe(const uint8_t *data, size_t len)
{
	(void)data;
	(void)len;
	return 0;
}
