/*
 * json.c - placeholder until the json scanner lands: reports "unsupported".
 */
#include "scan_int.h"

const struct pal_rule pal_rules_json[] = {
	{ NULL, 0, NULL },
};

int
pal_fmt_json(struct pal_scan *s, const struct pal_scan_item *it)
{
	(void)it;
	return pal_err_set(&s->err, PAL_ERR_UNSUPPORTED,
	    "the json scanner is not built yet");
}

int
pal_keras_check_config(struct pal_scan *s, const struct pal_scan_item *it,
    const char *json, size_t len)
{
	(void)it;
	(void)json;
	(void)len;
	return pal_err_set(&s->err, PAL_ERR_UNSUPPORTED, "not built yet");
}

int
pal_jinja_check(struct pal_scan *s, const struct pal_scan_item *it,
    const char *where, const char *tmpl, size_t len)
{
	(void)it;
	(void)where;
	(void)tmpl;
	(void)len;
	return pal_err_set(&s->err, PAL_ERR_UNSUPPORTED, "not built yet");
}
