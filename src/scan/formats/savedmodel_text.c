/*
 * savedmodel_text.c - placeholder until the text-format SavedModel reader
 * lands: a saved_model.pbtxt is never reported clean.
 */
#include "scan_int.h"

int
pal_fmt_savedmodel_text(struct pal_scan *s, const struct pal_scan_item *it)
{
	(void)it;
	return pal_err_set(&s->err, PAL_ERR_UNSUPPORTED,
	    "SavedModel text format is not read yet");
}
