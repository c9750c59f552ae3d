/*
 * abuse_json.c - the alert an abuse signal raises, as one line of JSON
 * for the log entry and the webhook body (abuse.h).
 *
 * Written by hand into the caller's bounded buffer: the document is flat,
 * its only string from outside is the key id (checked by observe to be
 * UTF-8 without control characters, and escaped here all the same), and
 * an alert should not depend on an allocator being well.
 */
#include <stdio.h>

#include "palisade/abuse.h"

static int
put_json_string(struct pal_buf *out, const char *s)
{
	int rc = pal_buf_putc(out, '"');

	for (; rc == 0 && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			rc = pal_buf_printf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			rc = pal_buf_printf(out, "\\u%04x", c);
		else
			rc = pal_buf_putc(out, (char)c);
	}
	return rc != 0 ? rc : pal_buf_putc(out, '"');
}

static int
put_signals(struct pal_buf *out, const struct pal_abuse_verdict *v)
{
	int rc = pal_buf_puts(out, ",\"signals\":[");
	int first = 1;

	for (unsigned s = 0; rc == 0 && s < PAL_ABUSE_SIGNALS; s++) {
		if (!(v->fired & PAL_ABUSE_BIT(s)))
			continue;
		rc = pal_buf_printf(out, "%s\"%s\"", first ? "" : ",",
				    pal_abuse_signal_name(s));
		first = 0;
	}
	return rc != 0 ? rc : pal_buf_putc(out, ']');
}

static int
put_counts(struct pal_buf *out, const struct pal_abuse_verdict *v)
{
	int rc = pal_buf_puts(out, ",\"counts\":{");

	for (unsigned s = 0; rc == 0 && s < PAL_ABUSE_SIGNALS; s++)
		rc = pal_buf_printf(out, "%s\"%s\":{\"count\":%u,"
				    "\"threshold\":%u}", s > 0 ? "," : "",
				    pal_abuse_signal_name(s), v->count[s],
				    v->threshold[s]);
	return rc != 0 ? rc : pal_buf_putc(out, '}');
}

int
pal_abuse_alert_json(const char *key_id, const struct pal_abuse_verdict *v,
		     struct pal_buf *out, struct pal_err *err)
{
	size_t was = out->len;
	int rc;

	if ((rc = pal_buf_puts(out, "{\"type\":\"palisade.abuse\","
			       "\"key_id\":")) == 0 &&
	    (rc = put_json_string(out, key_id)) == 0 &&
	    (rc = pal_buf_printf(out, ",\"time\":%lld,\"window_s\":%u",
				 (long long)v->now_s, v->window_s)) == 0 &&
	    (rc = put_signals(out, v)) == 0 &&
	    (rc = pal_buf_printf(out, ",\"block\":%s",
				 v->block ? "true" : "false")) == 0 &&
	    (rc = put_counts(out, v)) == 0)
		rc = pal_buf_putc(out, '}');
	if (rc == 0)
		return 0;
	/* Leave the buffer as it was rather than half an object. */
	out->len = was;
	if (out->p != NULL)
		out->p[was] = '\0';
	return pal_err_set(err, rc, "abuse alert: %s", rc == PAL_ERR_LIMIT ?
			   "the buffer's ceiling is too low" : "out of memory");
}
