/*
 * body_util.c - small pieces of the request checker and response filter:
 * field paths for messages, the control-character scan, and refusals.
 *
 * Everything here reads untrusted bytes (request and response bodies,
 * the client's own key names) and writes only bounded buffers.
 */
#include <stdio.h>
#include <string.h>

#include "body_int.h"

/* The longest piece of a client's key name quoted back in a message. */
#define KEY_QUOTE_MAX 64
/* Frames of a path shown; the walk never goes deeper than a few. */
#define PATH_FRAMES_MAX 16

static size_t
put_key(char *out, size_t cap, size_t at, const char *key)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; key[i] != '\0' && at + 5 < cap; i++) {
		unsigned char c = (unsigned char)key[i];

		if (i == KEY_QUOTE_MAX) {
			memcpy(out + at, "...", 3);
			return at + 3;
		}
		if (c > 0x20 && c < 0x7f && c != '\\' && c != '"' &&
		    c != '\'') {
			out[at++] = (char)c;
		} else {
			out[at++] = '\\';
			out[at++] = 'x';
			out[at++] = hex[c >> 4];
			out[at++] = hex[c & 15];
		}
	}
	return at;
}

void
gw_path_format(const struct gw_path *p, char *out, size_t cap)
{
	const struct gw_path *frames[PATH_FRAMES_MAX];
	size_t n = 0, at = 0, i;
	int k;

	if (cap == 0)
		return;
	for (; p != NULL && n < PATH_FRAMES_MAX; p = p->up)
		frames[n++] = p;
	for (i = n; i-- > 0 && at + 1 < cap;) {
		if (frames[i]->key != NULL) {
			if (at > 0 && at + 1 < cap)
				out[at++] = '.';
			at = put_key(out, cap, at, frames[i]->key);
		} else {
			k = snprintf(out + at, cap - at, "[%zu]",
				     frames[i]->idx);
			if (k < 0 || (size_t)k >= cap - at)
				break;
			at += (size_t)k;
		}
	}
	if (at == 0 && cap > 4) {
		memcpy(out, "body", 4);
		at = 4;
	}
	out[at < cap ? at : cap - 1] = '\0';
}

size_t
gw_text_control(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c;
		uint64_t w;

		/* Most text has none of C0, DEL or 0xC2 (C1's lead byte). */
		while (n - i >= 8) {
			memcpy(&w, u + i, 8);
			if (gw_has_less(w, 0x20) | gw_has_byte(w, 0x7f) |
			    gw_has_byte(w, 0xc2))
				break;
			i += 8;
		}
		if (i == n)
			break;
		c = u[i];
		if (c >= 0x20 && c != 0x7f && c != 0xc2)
			continue;
		if (c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c == 0xc2) {
			/* C1 controls are U+0080..U+009F: C2 80..C2 9F. */
			if (i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f) {
				*cp = u[i + 1];
				return i;
			}
			continue;
		}
		*cp = c;
		return i;
	}
	return n;
}

int
gw_refuse(struct gw_walk *w, int status, int code, const struct gw_path *p,
	  const char *fmt, ...)
{
	char where[160], what[PAL_ERR_MSG_MAX];
	va_list ap;

	gw_path_format(p, where, sizeof(where));
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	*w->status = status;
	return pal_err_set(w->err, code, "%s: %s", where, what);
}

int
gw_bad(struct gw_walk *w, const struct gw_path *p, const char *what)
{
	return gw_refuse(w, 400, PAL_ERR_FORMAT, p, "%s", what);
}

int
gw_array(struct gw_walk *w, json_t *v, const struct gw_path *p, size_t max,
	 gw_item_fn item)
{
	size_t i;
	json_t *e;
	int r;

	if (!json_is_array(v))
		return gw_bad(w, p, "must be an array");
	if (max != 0 && json_array_size(v) > max)
		return gw_refuse(w, 400, PAL_ERR_LIMIT, p,
				 "more than %zu entries", max);
	json_array_foreach(v, i, e) {
		struct gw_path ep = { p, NULL, i };

		if ((r = item(w, e, &ep)) < 0)
			return r;
	}
	return GW_KEEP;
}

int
gw_nomem(struct gw_walk *w)
{
	*w->status = 500;
	return pal_err_set(w->err, PAL_ERR_NOMEM, "out of memory");
}

int
gw_string(struct gw_walk *w, json_t *v, const struct gw_path *p, size_t max,
	  const char **s, size_t *len)
{
	uint32_t cp;
	size_t n, at;

	if (!json_is_string(v))
		return gw_bad(w, p, "must be a string");
	n = json_string_length(v);
	if (max != 0 && n > max)
		return gw_refuse(w, 400, PAL_ERR_LIMIT, p,
				 "longer than %zu bytes", max);
	if ((at = gw_text_control(json_string_value(v), n, &cp)) != n)
		return gw_refuse(w, 400, PAL_ERR_FORMAT, p,
				 "control character U+%04X at byte %zu",
				 (unsigned)cp, at);
	if (s != NULL)
		*s = json_string_value(v);
	if (len != NULL)
		*len = n;
	return 0;
}
