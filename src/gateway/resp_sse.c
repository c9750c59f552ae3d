/*
 * resp_sse.c - the output policy applied to a text/event-stream body as
 * it arrives, event by event, holding at most one event.
 *
 * The stream is read as the WHATWG HTML "event stream" interpretation
 * says (lines end in CRLF, LF or CR; "data" values joined with LF; a
 * blank line dispatches; a leading byte order mark is dropped), and
 * written back in one canonical form, so that the client cannot read it
 * differently from the gateway: LF line ends only, one "data:" line per
 * event holding one compact JSON object or [DONE], an "event:" line when
 * the upstream named the event, nothing else.  "id:" and "retry:" are
 * dropped (the gateway does not resume streams and does not let the
 * upstream steer the client's reconnections); comments are reduced to
 * an empty keep-alive ":" so that no upstream text rides on them.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/buf.h"

#include "body_int.h"

#define EVENT_NAME_MAX 64
/* How much larger than its input a re-serialized event may be. */
#define OUT_GROWTH 8

struct pal_gw_sse {
	const struct pal_gw_output_policy *pol;
	struct pal_gw_resp_limits lim;
	unsigned flags;
	pal_gw_sse_emit_fn emit;
	void *arg;
	struct pal_buf line;	/* a line cut by the end of a feed */
	struct pal_buf data;	/* the event's data values, joined */
	struct pal_buf out;	/* the event as it is emitted */
	char event[EVENT_NAME_MAX + 1];
	size_t event_len;
	size_t ev_bytes;	/* raw bytes of the event so far */
	size_t n_data;		/* its data lines */
	int comments;		/* it had comment lines */
	int skip_lf;		/* the last line ended with CR */
	int started;		/* the first line was seen */
	int done;		/* [DONE] went through */
	int failed;		/* an error ended the stream */
	struct pal_gw_usage usage;
};

int
pal_gw_sse_new(struct pal_gw_sse **out, const struct pal_gw_output_policy *pol,
	       const struct pal_gw_resp_limits *lim, unsigned flags,
	       pal_gw_sse_emit_fn emit, void *arg, struct pal_err *err)
{
	struct pal_gw_sse *s;

	*out = NULL;
	if (emit == NULL)
		return pal_err_set(err, PAL_ERR_INVALID, "no emit function");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	s->pol = pol;
	gw_resp_limits(lim, &s->lim);
	s->flags = flags;
	s->emit = emit;
	s->arg = arg;
	pal_buf_init(&s->line, s->lim.max_event);
	pal_buf_init(&s->data, s->lim.max_event);
	/*
	 * The output of one event: its data re-serialized, plus framing.
	 * Jansson writes reals with 17 significant digits, so a changed
	 * event can grow: "1e-7" comes out as "9.9999999999999995e-08".
	 */
	pal_buf_init(&s->out,
		     OUT_GROWTH * s->lim.max_event + 2 * EVENT_NAME_MAX);
	*out = s;
	return 0;
}

void
pal_gw_sse_free(struct pal_gw_sse *s)
{
	if (s == NULL)
		return;
	pal_buf_free(&s->line);
	pal_buf_free(&s->data);
	pal_buf_free(&s->out);
	free(s);
}

void
pal_gw_sse_usage(const struct pal_gw_sse *s, struct pal_gw_usage *u)
{
	*u = s->usage;
}

int
pal_gw_sse_done(const struct pal_gw_sse *s)
{
	return s->done;
}

static int
fail(struct pal_gw_sse *s, struct pal_err *err, int code, const char *msg)
{
	s->failed = 1;
	return pal_err_set(err, code, "upstream event stream: %s", msg);
}

static void
event_reset(struct pal_gw_sse *s)
{
	pal_buf_reset(&s->data);
	s->event_len = 0;
	s->ev_bytes = 0;
	s->n_data = 0;
	s->comments = 0;
}

static int
put(struct pal_gw_sse *s, const void *p, size_t n)
{
	return pal_buf_append(&s->out, p, n);
}

static int
dump_cb(const char *p, size_t n, void *arg)
{
	return pal_buf_append(arg, p, n) == 0 ? 0 : -1;
}

static int
send_out(struct pal_gw_sse *s, struct pal_err *err)
{
	if (s->emit(s->arg, s->out.p, s->out.len) != 0)
		return fail(s, err, PAL_ERR_IO,
			    "the client side refused output");
	return 0;
}

/* Frames and emits the current event with data d (or doc when given). */
static int
emit_event(struct pal_gw_sse *s, json_t *doc, struct pal_err *err)
{
	int r = 0;

	pal_buf_reset(&s->out);
	if (s->event_len > 0)
		r = put(s, "event: ", 7) || put(s, s->event, s->event_len) ||
		    put(s, "\n", 1);
	r = r || put(s, "data: ", 6);
	if (doc != NULL)
		r = r || json_dump_callback(doc, dump_cb, &s->out,
					    JSON_COMPACT) != 0;
	else
		r = r || put(s, s->data.p, s->data.len);
	if (r || put(s, "\n\n", 2) != 0)
		return fail(s, err, PAL_ERR_NOMEM, "out of memory");
	return send_out(s, err);
}

static int
dispatch_json(struct pal_gw_sse *s, struct pal_err *err)
{
	int changed, drop, r;
	json_t *doc;

	r = gw_resp_parse(s->data.p, s->data.len, &s->lim, &doc, err);
	if (r < 0) {
		s->failed = 1;
		return r;
	}
	r = gw_resp_apply(doc, s->pol, (s->flags & PAL_GW_SSE_DROP_USAGE) != 0,
			  &s->usage, &changed, &drop, err);
	if (r < 0)
		s->failed = 1;
	else if (!drop)
		/* Joined data lines hold LF: those are re-serialized too. */
		r = emit_event(s, changed || s->n_data > 1 ? doc : NULL, err);
	json_decref(doc);
	return r;
}

static int
dispatch(struct pal_gw_sse *s, struct pal_err *err)
{
	int r;

	if (s->n_data == 0) {
		if (s->comments) {
			pal_buf_reset(&s->out);
			if (put(s, ":\n\n", 3) != 0)
				return fail(s, err, PAL_ERR_NOMEM,
					    "out of memory");
			r = send_out(s, err);
		} else {
			r = 0;
		}
	} else if (s->done) {
		r = fail(s, err, PAL_ERR_FORMAT, "an event after [DONE]");
	} else if (s->data.len == 6 && memcmp(s->data.p, "[DONE]", 6) == 0) {
		s->done = 1;
		r = emit_event(s, NULL, err);
	} else {
		r = dispatch_json(s, err);
	}
	event_reset(s);
	return r;
}

static int
set_event(struct pal_gw_sse *s, const char *v, size_t n, struct pal_err *err)
{
	size_t i;

	if (n == 0 || n > EVENT_NAME_MAX)
		return fail(s, err, PAL_ERR_FORMAT, "event name length");
	for (i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') ||
		      (v[i] >= 'A' && v[i] <= 'Z') ||
		      (v[i] >= '0' && v[i] <= '9') || v[i] == '_' ||
		      v[i] == '-' || v[i] == '.'))
			return fail(s, err, PAL_ERR_FORMAT,
				    "event name is not a token");
	memcpy(s->event, v, n);
	s->event_len = n;
	return 0;
}

static int
field(struct pal_gw_sse *s, const char *l, size_t n, struct pal_err *err)
{
	const char *colon = memchr(l, ':', n), *v;
	size_t name = colon ? (size_t)(colon - l) : n, vn;

	v = colon ? colon + 1 : l + n;
	vn = n - (size_t)(v - l);
	if (vn > 0 && v[0] == ' ') {
		v++;
		vn--;
	}
	if (name == 4 && memcmp(l, "data", 4) == 0) {
		if ((s->n_data > 0 && pal_buf_putc(&s->data, '\n') != 0) ||
		    pal_buf_append(&s->data, v, vn) != 0)
			return fail(s, err, PAL_ERR_LIMIT, "event too large");
		s->n_data++;
		return 0;
	}
	if (name == 5 && memcmp(l, "event", 5) == 0)
		return set_event(s, v, vn, err);
	/* id, retry and fields the standard does not define: dropped. */
	return 0;
}

static int
line(struct pal_gw_sse *s, const char *l, size_t n, struct pal_err *err)
{
	if (!s->started) {
		s->started = 1;
		if (n >= 3 && memcmp(l, "\xef\xbb\xbf", 3) == 0) {
			l += 3;
			n -= 3;
		}
	}
	if (n == 0)
		return dispatch(s, err);
	if (l[0] == ':') {
		s->comments = 1;
		return 0;
	}
	return field(s, l, n, err);
}

/* Index of the first CR, LF or NUL in p[0..n), or n. */
static size_t
line_end(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] == '\n' || p[i] == '\r' || p[i] == '\0')
			break;
	return i;
}

static int
complete_line(struct pal_gw_sse *s, const uint8_t *p, size_t n,
	      struct pal_err *err)
{
	int r;

	if (s->line.len == 0)
		return line(s, (const char *)p, n, err);
	if (pal_buf_append(&s->line, p, n) != 0)
		return fail(s, err, PAL_ERR_LIMIT, "event too large");
	r = line(s, (const char *)s->line.p, s->line.len, err);
	pal_buf_reset(&s->line);
	return r;
}

int
pal_gw_sse_feed(struct pal_gw_sse *s, const void *buf, size_t n,
		struct pal_err *err)
{
	const uint8_t *p = buf;
	size_t i = 0, j, raw;
	int r;

	if (s->failed)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "upstream event stream: already failed");
	while (i < n) {
		if (s->skip_lf) {
			s->skip_lf = 0;
			if (p[i] == '\n') {
				i++;
				continue;
			}
		}
		j = i + line_end(p + i, n - i);
		raw = j == n ? n - i : j - i + 1;
		if (raw > s->lim.max_event - s->ev_bytes)
			return fail(s, err, PAL_ERR_LIMIT, "event too large");
		s->ev_bytes += raw;
		if (j == n) {
			if (pal_buf_append(&s->line, p + i, n - i) != 0)
				return fail(s, err, PAL_ERR_NOMEM,
					    "out of memory");
			break;
		}
		if (p[j] == '\0')
			return fail(s, err, PAL_ERR_FORMAT, "NUL byte");
		s->skip_lf = p[j] == '\r';
		if ((r = complete_line(s, p + i, j - i, err)) < 0)
			return r;
		i = j + 1;
	}
	return 0;
}

int
pal_gw_sse_finish(struct pal_gw_sse *s, struct pal_err *err)
{
	if (s->failed)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "upstream event stream: already failed");
	if (s->line.len > 0 || s->n_data > 0 || s->event_len > 0) {
		s->failed = 1;
		return pal_err_set(err, PAL_ERR_TRUNCATED,
				   "upstream event stream ended inside an "
				   "event");
	}
	return 0;
}
