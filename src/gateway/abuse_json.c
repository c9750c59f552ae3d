/*
 * abuse_json.c - the alert an abuse signal raises, as one line of JSON
 * for the log entry and the webhook body (abuse.h), written with the
 * record writer (json_writer.h) into the caller's bounded buffer: no
 * tree, so that an alert does not depend on an allocator being well.
 */
#include "palisade/abuse.h"
#include "palisade/json_writer.h"

int
pal_abuse_alert_json(const char *key_id, const struct pal_abuse_verdict *v,
		     struct pal_buf *out, struct pal_err *err)
{
	size_t was = out->len;
	struct pal_jw w;
	int rc;

	pal_jw_init(&w, out);
	pal_jw_object(&w, NULL);
	pal_jw_string(&w, "type", "palisade.abuse");
	pal_jw_string(&w, "key_id", key_id);
	pal_jw_int(&w, "time", v->now_s);
	pal_jw_int(&w, "window_s", v->window_s);
	pal_jw_array(&w, "signals");
	for (unsigned s = 0; s < PAL_ABUSE_SIGNALS; s++)
		if (v->fired & PAL_ABUSE_BIT(s))
			pal_jw_string(&w, NULL, pal_abuse_signal_name(s));
	pal_jw_close(&w);
	pal_jw_bool(&w, "block", v->block);
	pal_jw_object(&w, "counts");
	for (unsigned s = 0; s < PAL_ABUSE_SIGNALS; s++) {
		pal_jw_object(&w, pal_abuse_signal_name(s));
		pal_jw_int(&w, "count", v->count[s]);
		pal_jw_int(&w, "threshold", v->threshold[s]);
		pal_jw_close(&w);
	}
	pal_jw_close(&w);
	pal_jw_close(&w);
	if ((rc = pal_jw_error(&w)) == 0)
		return 0;
	/* Leave the buffer as it was rather than half an object. */
	out->len = was;
	if (out->p != NULL)
		out->p[was] = '\0';
	return pal_err_set(err, rc, "abuse alert: %s", rc == PAL_ERR_LIMIT ?
			   "the buffer's ceiling is too low" : "out of memory");
}
