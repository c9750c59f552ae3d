/*
 * canon.c - the JSON subset two-person control speaks: canonical output
 * (RFC 8785 for objects, arrays, strings and integers) and strict input.
 *
 * Input is untrusted (requests and approvals come from other people).
 * Jansson does the lexing: it refuses invalid UTF-8, \u0000 (we do not pass
 * JSON_ALLOW_NUL), trailing junk and, with JSON_REJECT_DUPLICATES,
 * duplicate names; the readers here add exact member sets, types, lengths
 * and the size cap checked before parsing.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/encoding.h"
#include "palisade/text.h"
#include "tpc_int.h"

/*
 * RFC 8785 section 3.2.2.2: the two-character escapes where JSON has them,
 * \u00xx (lowercase hex) for the other control characters, and every
 * other character as itself.
 */
static int
put_escaped(struct pal_buf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };

	switch (c) {
	case '"':
		return pal_buf_puts(b, "\\\"");
	case '\\':
		return pal_buf_puts(b, "\\\\");
	case '\b':
		return pal_buf_puts(b, "\\b");
	case '\f':
		return pal_buf_puts(b, "\\f");
	case '\n':
		return pal_buf_puts(b, "\\n");
	case '\r':
		return pal_buf_puts(b, "\\r");
	case '\t':
		return pal_buf_puts(b, "\\t");
	default:
		return c < 0x20 ? pal_buf_puts(b, u) :
			pal_buf_putc(b, (char)c);
	}
}

int
pal_tpc_canon_string(struct pal_buf *b, const char *s, size_t n)
{
	int rc = pal_buf_putc(b, '"');

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = put_escaped(b, (unsigned char)s[i]);
	return rc == 0 ? pal_buf_putc(b, '"') : rc;
}

int
pal_tpc_canon_member(struct pal_buf *b, const char *name, int first)
{
	int rc = first ? 0 : pal_buf_putc(b, ',');

	if (rc == 0)
		rc = pal_tpc_canon_string(b, name, strlen(name));
	return rc == 0 ? pal_buf_putc(b, ':') : rc;
}

int
pal_tpc_canon_member_str(struct pal_buf *b, const char *name,
			 const char *value, int first)
{
	int rc = pal_tpc_canon_member(b, name, first);

	return rc == 0 ? pal_tpc_canon_string(b, value, strlen(value)) : rc;
}

int
pal_tpc_json_load(const uint8_t *data, size_t len, size_t max,
		  const char *what, json_t **out, struct pal_err *err)
{
	json_error_t je;

	*out = NULL;
	if (len > max)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "%s of %zu bytes is over the %zu-byte limit",
				   what, len, max);
	json_t *j = json_loadb((const char *)data, len,
			       JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s is not valid JSON: %s at line %d "
				   "column %d", what, je.text, je.line,
				   je.column);
	if (!json_is_object(j)) {
		json_decref(j);
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s is not a JSON object", what);
	}
	*out = j;
	return 0;
}

static int
listed(const char *key, const char *const names[], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(key, names[i]) == 0)
			return 1;
	return 0;
}

int
pal_tpc_json_members(json_t *o, const char *where, const char *const names[],
		     size_t n, const char *const opt[], size_t n_opt,
		     struct pal_err *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(o))
		return pal_err_set(err, PAL_ERR_FORMAT, "%s: not an object",
				   where);
	for (size_t i = 0; i < n; i++)
		if (json_object_get(o, names[i]) == NULL)
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "%s: member \"%s\" is missing",
					   where, names[i]);
	json_object_foreach(o, key, v) {
		if (!listed(key, names, n) && !listed(key, opt, n_opt)) {
			struct pal_buf esc;

			/* The name is the sender's: print it escaped. */
			pal_buf_init(&esc, 256);
			int rc = pal_text_escape(&esc, key, strnlen(key, 64));
			pal_err_set(err, PAL_ERR_FORMAT,
				    "%s: unknown member \"%s\"", where,
				    rc == 0 && esc.p ? (char *)esc.p : "?");
			pal_buf_free(&esc);
			return PAL_ERR_FORMAT;
		}
	}
	return 0;
}

int
pal_tpc_json_str(json_t *o, const char *where, const char *name, size_t max,
		 const char **out, size_t *len, struct pal_err *err)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_string(v))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.%s: %s", where, name,
				   v ? "not a string" : "missing");
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n == 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "%s.%s: empty", where,
				   name);
	if (n > max)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "%s.%s: %zu bytes, more than %zu", where,
				   name, n, max);
	/* Jansson refuses \u0000 already; this keeps C strings honest. */
	if (strlen(s) != n)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.%s: holds a NUL", where, name);
	*out = s;
	if (len != NULL)
		*len = n;
	return 0;
}

int
pal_tpc_json_int(json_t *o, const char *where, const char *name,
		 long long min, long long max, long long *out,
		 struct pal_err *err)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v))
		return pal_err_set(err, PAL_ERR_FORMAT, "%s.%s: %s", where,
				   name, v ? "not an integer" : "missing");
	long long x = json_integer_value(v);
	if (x < min || x > max)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.%s: %lld is outside %lld..%lld", where,
				   name, x, min, max);
	*out = x;
	return 0;
}

int
pal_tpc_json_b64(json_t *o, const char *where, const char *name, size_t max,
		 uint8_t **out, size_t *len, struct pal_err *err)
{
	const char *s;
	size_t n;

	*out = NULL;
	/* Base64 of max bytes is 4 * ceil(max / 3) characters. */
	int rc = pal_tpc_json_str(o, where, name, (max + 2) / 3 * 4, &s, &n,
				  err);
	if (rc < 0)
		return rc;
	rc = pal_base64_decode(s, n, out, len, err);
	if (rc < 0)
		return pal_err_wrap(err, rc, "%s.%s: ", where, name);
	if (*len == 0 || *len > max) {
		free(*out);
		*out = NULL;
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.%s: %zu bytes decoded, expected 1 to "
				   "%zu", where, name, *len, max);
	}
	return 0;
}
