/*
 * onnx.c - placeholder until the onnx scanner lands: reports "unsupported".
 */
#include "scan_int.h"

const struct pal_rule pal_rules_onnx[] = {
	{ NULL, 0, NULL },
};

int
pal_fmt_onnx(struct pal_scan *s, const struct pal_scan_item *it)
{
	(void)it;
	return pal_err_set(&s->err, PAL_ERR_UNSUPPORTED,
	    "the onnx scanner is not built yet");
}

int
pal_onnx_probe(const uint8_t *data, size_t len)
{
	(void)data;
	(void)len;
	return 0;
}
