/*
 * json_writer.c - compact, 7-bit JSON into a pal_buf (json_writer.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "palisade/error.h"
#include "palisade/json_writer.h"
#include "palisade/text.h"

enum { LEVEL_ARRAY = 1, LEVEL_USED = 2 };

void
pal_jw_init(struct pal_jw *w, struct pal_buf *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
}

int
pal_jw_error(const struct pal_jw *w)
{
	return w->rc;
}

static void
put(struct pal_jw *w, const void *p, size_t n)
{
	if (w->rc == 0)
		w->rc = pal_buf_append(w->out, p, n);
}

static void
put_u(struct pal_jw *w, unsigned cp)
{
	static const char hex[] = "0123456789ABCDEF";
	char seq[6] = { '\\', 'u', hex[(cp >> 12) & 15], hex[(cp >> 8) & 15],
			hex[(cp >> 4) & 15], hex[cp & 15] };

	put(w, seq, sizeof(seq));
}

/* The code point of the valid UTF-8 sequence of k bytes at s. */
static unsigned
code_point(const unsigned char *s, size_t k)
{
	static const unsigned char lead_mask[5] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	unsigned cp = s[0] & lead_mask[k];

	for (size_t i = 1; i < k; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
}

static void
put_char(struct pal_jw *w, unsigned cp)
{
	char esc[2] = { '\\', 0 };

	switch (cp) {
	case '"': esc[1] = '"'; break;
	case '\\': esc[1] = '\\'; break;
	case '\b': esc[1] = 'b'; break;
	case '\f': esc[1] = 'f'; break;
	case '\n': esc[1] = 'n'; break;
	case '\r': esc[1] = 'r'; break;
	case '\t': esc[1] = 't'; break;
	default:
		if (cp < 0x20 || (cp > 0x7f && cp < 0x10000)) {
			put_u(w, cp);
		} else if (cp >= 0x10000) {
			cp -= 0x10000;
			put_u(w, 0xd800 | (cp >> 10));
			put_u(w, 0xdc00 | (cp & 0x3ff));
		} else {
			char c = (char)cp;
			put(w, &c, 1);
		}
		return;
	}
	put(w, esc, 2);
}

static void
put_string(struct pal_jw *w, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run, k;

	put(w, "\"", 1);
	while (w->rc == 0 && i < n) {
		/* Copy the longest run that needs no escaping at once. */
		for (run = i; run < n && p[run] >= 0x20 && p[run] < 0x80 &&
		     p[run] != '"' && p[run] != '\\'; run++)
			;
		if (run > i) {
			put(w, p + i, run - i);
			i = run;
			continue;
		}
		if (p[i] < 0x80) {
			put_char(w, p[i++]);
		} else if ((k = pal_utf8_seq(p + i, n - i)) > 0) {
			put_char(w, code_point(p + i, k));
			i += k;
		} else {
			put_u(w, 0xfffd);
			i++;
		}
	}
	put(w, "\"", 1);
}

/* The comma and the key that come before a value at the current level. */
static void
prefix(struct pal_jw *w, const char *key)
{
	if (w->rc != 0)
		return;
	if (w->depth > 0) {
		if (w->level[w->depth - 1] & LEVEL_USED)
			put(w, ",", 1);
		w->level[w->depth - 1] |= LEVEL_USED;
	}
	if (key != NULL) {
		put_string(w, key, strlen(key));
		put(w, ":", 1);
	}
}

static void
open_level(struct pal_jw *w, const char *key, int array)
{
	prefix(w, key);
	if (w->rc == 0 && w->depth >= PAL_JW_DEPTH)
		w->rc = PAL_ERR_LIMIT;
	put(w, array ? "[" : "{", 1);
	if (w->rc == 0)
		w->level[w->depth++] = array ? LEVEL_ARRAY : 0;
}

void
pal_jw_object(struct pal_jw *w, const char *key)
{
	open_level(w, key, 0);
}

void
pal_jw_array(struct pal_jw *w, const char *key)
{
	open_level(w, key, 1);
}

void
pal_jw_close(struct pal_jw *w)
{
	if (w->rc == 0 && w->depth == 0)
		w->rc = PAL_ERR_INVALID;
	if (w->rc != 0)
		return;
	w->depth--;
	put(w, (w->level[w->depth] & LEVEL_ARRAY) ? "]" : "}", 1);
}

void
pal_jw_string(struct pal_jw *w, const char *key, const char *s)
{
	pal_jw_stringn(w, key, s, strlen(s));
}

void
pal_jw_stringn(struct pal_jw *w, const char *key, const char *s, size_t n)
{
	prefix(w, key);
	if (w->rc == 0)
		put_string(w, s, n);
}

void
pal_jw_int(struct pal_jw *w, const char *key, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);

	prefix(w, key);
	put(w, num, (size_t)n);
}

void
pal_jw_bool(struct pal_jw *w, const char *key, int v)
{
	prefix(w, key);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void
pal_jw_null(struct pal_jw *w, const char *key)
{
	prefix(w, key);
	put(w, "null", 4);
}

void
pal_jw_raw(struct pal_jw *w, const char *key, const char *json, size_t n)
{
	prefix(w, key);
	put(w, json, n);
}
