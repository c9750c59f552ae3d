/*
 * body_json.c - the strict JSON reader of request bodies and upstream
 * responses: RFC 8259 text read into Jansson values in one pass.
 *
 * Why not json_loadb: its lexer copies every byte of every string through
 * a buffer one call at a time, which costs about 12 ns a byte (25 us for
 * the 2 KiB chat body of the benchmark, more than the rest of a request's
 * handling together), and the gateway must keep up with nginx.  This
 * reader scans strings in a tight loop and hands Jansson whole strings,
 * about an order of magnitude faster.  The values, the walk over them and
 * the serializer stay Jansson's.
 *
 * What it accepts is exactly what json_loadb accepts with
 * JSON_REJECT_DUPLICATES (and JSON_ALLOW_NUL when allow_nul is given), and
 * the values are equal (json_equal): tests/fuzz/fuzz_gwjson.c checks both
 * on every input.  That is: an object or array at the top, whitespace
 * only space, tab, CR and LF, no trailing bytes; strings of valid UTF-8
 * (no overlongs, no surrogates, nothing above U+10FFFF) without raw
 * control characters, escapes \" \\ \/ \b \f \n \r \t \uXXXX with
 * surrogates only in pairs, \u0000 only in values with allow_nul and never
 * in keys; numbers -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, integers
 * (no fraction, no exponent) within int64, reals within double (a real
 * that overflows is refused, one that underflows is read as strtod reads
 * it); keys unique in their object after unescaping.  Nesting deeper than
 * max_depth is refused before anything deeper is read.  One difference
 * is meant: a raw NUL byte right after a number or a literal, which
 * Jansson's stream skips ("[1\0]" passes json_loadb), is refused here,
 * as Python's json module refuses it.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/text.h"

#include "body_int.h"

/* Escaped keys up to this many bytes are unescaped on the stack (in each
 * level of nesting, so it stays small). */
#define KEY_STACK	64
/* Nesting whatever the caller asks: the reader recurses once a level. */
#define DEPTH_HARD	1024
/* Numbers up to this many bytes are converted from the stack. */
#define NUM_STACK	64

struct rd {
	const uint8_t *p, *end, *start;
	uint32_t depth, max_depth;
	int allow_nul;
	int code;		/* PAL_ERR_* of the first error */
	const char *why;	/* its description (static text) */
	size_t at;		/* its offset */
};

static int
fail(struct rd *r, int code, const char *why, const uint8_t *at)
{
	if (r->code == 0) {
		r->code = code;
		r->why = why;
		r->at = (size_t)(at - r->start);
	}
	return code;
}

static void
skip_ws(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' ||
				 *r->p == '\r' || *r->p == '\t'))
		r->p++;
}

static int
hex4(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;
	int i, d;

	for (i = 0; i < 4; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			d = p[i] - 'A' + 10;
		else
			return -1;
		v = (v << 4) | (uint32_t)d;
	}
	*out = v;
	return 0;
}

/*
 * Scans a string whose opening quote is behind r->p: checks it, finds
 * its closing quote (r->p ends after it), and says whether it holds
 * escapes.  The raw bytes are p0[0..*raw_len).
 */
static int
scan_string(struct rd *r, const uint8_t **p0, size_t *raw_len, int *escaped)
{
	const uint8_t *p = r->p, *end = r->end;
	size_t k;

	*p0 = p;
	*escaped = 0;
	for (;;) {
		uint64_t w;

		/* Plain ASCII eight bytes at a time, then byte by byte. */
		while (end - p >= 8) {
			memcpy(&w, p, 8);
			if ((w & GW_HIGHS) | gw_has_less(w, 0x20) |
			    gw_has_byte(w, '"') | gw_has_byte(w, '\\'))
				break;
			p += 8;
		}
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' &&
		       *p != '\\')
			p++;
		if (p == end)
			return fail(r, PAL_ERR_FORMAT, "unterminated string",
				    p);
		if (*p == '"')
			break;
		if (*p == '\\') {
			*escaped = 1;
			if (end - p < 2)
				return fail(r, PAL_ERR_FORMAT,
					    "unterminated string", p);
			p += 2;
			continue;
		}
		if (*p < 0x20)
			return fail(r, PAL_ERR_FORMAT,
				    "control character in string", p);
		if ((k = pal_utf8_seq(p, (size_t)(end - p))) == 0)
			return fail(r, PAL_ERR_FORMAT, "invalid UTF-8", p);
		p += k;
	}
	*raw_len = (size_t)(p - *p0);
	r->p = p + 1;
	return 0;
}

/* Writes the code point cp as UTF-8 at o; returns its length. */
static size_t
put_utf8(uint8_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | (cp >> 6));
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | (cp >> 12));
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | (cp >> 18));
	o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* One \u escape (and its low half) at s; the code point in *cp. */
static int
unicode_escape(struct rd *r, const uint8_t *s, const uint8_t *end,
	       size_t *used, uint32_t *cp)
{
	uint32_t hi, lo;

	if (end - s < 6 || hex4(s + 2, &hi) != 0)
		return fail(r, PAL_ERR_FORMAT, "invalid \\u escape", s);
	*used = 6;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return fail(r, PAL_ERR_FORMAT, "lone surrogate", s);
	if (hi >= 0xd800 && hi <= 0xdbff) {
		if (end - s < 12 || s[6] != '\\' || s[7] != 'u' ||
		    hex4(s + 8, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
			return fail(r, PAL_ERR_FORMAT, "lone surrogate", s);
		hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
		*used = 12;
	}
	*cp = hi;
	return 0;
}

/*
 * Unescapes the checked raw string s[0..n) into o (at least n bytes: an
 * escape never writes more than it reads); the length in *out_len.
 */
static int
unescape(struct rd *r, const uint8_t *s, size_t n, int allow_nul, uint8_t *o,
	 size_t *out_len)
{
	const uint8_t *end = s + n;
	size_t w = 0, used;
	uint32_t cp;
	int rc;

	while (s < end) {
		if (*s != '\\') {
			o[w++] = *s++;
			continue;
		}
		switch (s[1]) {
		case '"': case '\\': case '/':
			cp = s[1];
			break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if ((rc = unicode_escape(r, s, end, &used, &cp)) != 0)
				return rc;
			if (cp == 0 && !allow_nul)
				return fail(r, PAL_ERR_FORMAT,
					    "\\u0000 is not allowed", s);
			w += put_utf8(o + w, cp);
			s += used;
			continue;
		default:
			return fail(r, PAL_ERR_FORMAT, "invalid escape", s);
		}
		o[w++] = (uint8_t)cp;
		s += 2;
	}
	*out_len = w;
	return 0;
}

static int
read_string(struct rd *r, json_t **out)
{
	const uint8_t *raw;
	size_t n, len;
	uint8_t *buf;
	int esc, rc;

	if ((rc = scan_string(r, &raw, &n, &esc)) != 0)
		return rc;
	if (!esc) {
		*out = json_stringn_nocheck((const char *)raw, n);
		return *out ? 0 : fail(r, PAL_ERR_NOMEM, "out of memory", raw);
	}
	if ((buf = malloc(n ? n : 1)) == NULL)
		return fail(r, PAL_ERR_NOMEM, "out of memory", raw);
	rc = unescape(r, raw, n, r->allow_nul, buf, &len);
	if (rc == 0 && (*out = json_stringn_nocheck((char *)buf, len)) == NULL)
		rc = fail(r, PAL_ERR_NOMEM, "out of memory", raw);
	free(buf);
	return rc;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void
make_c_locale(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* A real as strtod reads it in the C locale, whatever the process's. */
static int
to_real(struct rd *r, const uint8_t *s, size_t n, double *out)
{
	char stack[NUM_STACK], *t = stack, *e;

	pthread_once(&c_locale_once, make_c_locale);
	if (c_locale == (locale_t)0)
		return fail(r, PAL_ERR_NOMEM, "out of memory", s);
	if (n >= sizeof(stack) && (t = malloc(n + 1)) == NULL)
		return fail(r, PAL_ERR_NOMEM, "out of memory", s);
	memcpy(t, s, n);
	t[n] = '\0';
	errno = 0;
	*out = strtod_l(t, &e, c_locale);
	if (t != stack)
		free(t);
	if ((*out == HUGE_VAL || *out == -HUGE_VAL) && errno == ERANGE)
		return fail(r, PAL_ERR_FORMAT, "real number overflow", s);
	return 0;
}

/* An integer within int64, or overflow. */
static int
to_int(struct rd *r, const uint8_t *s, size_t n, json_int_t *out)
{
	int neg = s[0] == '-';
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
	size_t i;

	for (i = (size_t)neg; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (lim - d) / 10)
			return fail(r, PAL_ERR_FORMAT, "integer out of range",
				    s);
		v = v * 10 + d;
	}
	*out = neg ? (json_int_t)(0 - v) : (json_int_t)v;
	return 0;
}

static size_t
digits(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q = p;

	while (q < end && *q >= '0' && *q <= '9')
		q++;
	return (size_t)(q - p);
}

static int
read_number(struct rd *r, json_t **out)
{
	const uint8_t *s = r->p, *p = r->p, *end = r->end;
	int is_real = 0, rc;
	json_int_t iv = 0;
	double dv = 0;
	size_t k;

	if (p < end && *p == '-')
		p++;
	if ((k = digits(p, end)) == 0 || (p[0] == '0' && k > 1))
		return fail(r, PAL_ERR_FORMAT, "invalid number", s);
	p += k;
	if (p < end && *p == '.') {
		is_real = 1;
		if ((k = digits(++p, end)) == 0)
			return fail(r, PAL_ERR_FORMAT, "invalid number", s);
		p += k;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		is_real = 1;
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if ((k = digits(p, end)) == 0)
			return fail(r, PAL_ERR_FORMAT, "invalid number", s);
		p += k;
	}
	r->p = p;
	if (is_real) {
		if ((rc = to_real(r, s, (size_t)(p - s), &dv)) != 0)
			return rc;
		*out = json_real(dv);
	} else {
		if ((rc = to_int(r, s, (size_t)(p - s), &iv)) != 0)
			return rc;
		*out = json_integer(iv);
	}
	return *out ? 0 : fail(r, PAL_ERR_NOMEM, "out of memory", s);
}

static int read_value(struct rd *r, json_t **out);

static int
literal(struct rd *r, const char *word, size_t n, json_t *v, json_t **out)
{
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return fail(r, PAL_ERR_FORMAT, "invalid token", r->p);
	r->p += n;
	*out = v;
	return 0;
}

static int
enter(struct rd *r)
{
	if (++r->depth > r->max_depth)
		return fail(r, PAL_ERR_LIMIT, "nested too deep", r->p);
	r->p++;
	skip_ws(r);
	return 0;
}

/* One member's key, unescaped; *key points at raw bytes or at buf. */
static int
read_key(struct rd *r, uint8_t *stack, uint8_t **heap, const char **key,
	 size_t *klen)
{
	const uint8_t *raw, *at = r->p;
	size_t n;
	int esc, rc;

	if (r->p == r->end || *r->p != '"')
		return fail(r, PAL_ERR_FORMAT, "string or '}' expected", r->p);
	r->p++;
	if ((rc = scan_string(r, &raw, &n, &esc)) != 0)
		return rc;
	if (!esc) {
		*key = (const char *)raw;
		*klen = n;
		return 0;
	}
	if (n > KEY_STACK && (*heap = malloc(n)) == NULL)
		return fail(r, PAL_ERR_NOMEM, "out of memory", at);
	if ((rc = unescape(r, raw, n, 0, *heap ? *heap : stack, klen)) != 0)
		return rc;
	*key = (const char *)(*heap ? *heap : stack);
	return 0;
}

static int
member(struct rd *r, json_t *obj)
{
	uint8_t stack[KEY_STACK], *heap = NULL;
	const uint8_t *at = r->p;
	json_t *v = NULL;
	const char *key;
	size_t klen;
	int rc;

	if ((rc = read_key(r, stack, &heap, &key, &klen)) != 0)
		goto out;
	if (json_object_getn(obj, key, klen) != NULL) {
		rc = fail(r, PAL_ERR_FORMAT, "duplicate object key", at);
		goto out;
	}
	skip_ws(r);
	if (r->p == r->end || *r->p != ':') {
		rc = fail(r, PAL_ERR_FORMAT, "':' expected", r->p);
		goto out;
	}
	r->p++;
	skip_ws(r);
	if ((rc = read_value(r, &v)) != 0)
		goto out;
	if (json_object_setn_new_nocheck(obj, key, klen, v) != 0)
		rc = fail(r, PAL_ERR_NOMEM, "out of memory", at);
out:
	free(heap);
	return rc;
}

static int
read_object(struct rd *r, json_t **out)
{
	json_t *obj;
	int rc;

	if ((rc = enter(r)) != 0)
		return rc;
	if ((obj = json_object()) == NULL)
		return fail(r, PAL_ERR_NOMEM, "out of memory", r->p);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		goto done;
	}
	for (;;) {
		if ((rc = member(r, obj)) != 0)
			goto fail;
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			skip_ws(r);
			continue;
		}
		if (r->p < r->end && *r->p == '}') {
			r->p++;
			break;
		}
		rc = fail(r, PAL_ERR_FORMAT, "',' or '}' expected", r->p);
		goto fail;
	}
done:
	r->depth--;
	*out = obj;
	return 0;
fail:
	json_decref(obj);
	return rc;
}

static int
read_array(struct rd *r, json_t **out)
{
	json_t *arr, *v;
	int rc;

	if ((rc = enter(r)) != 0)
		return rc;
	if ((arr = json_array()) == NULL)
		return fail(r, PAL_ERR_NOMEM, "out of memory", r->p);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		goto done;
	}
	for (;;) {
		if ((rc = read_value(r, &v)) != 0)
			goto fail;
		if (json_array_append_new(arr, v) != 0) {
			rc = fail(r, PAL_ERR_NOMEM, "out of memory", r->p);
			goto fail;
		}
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			skip_ws(r);
			continue;
		}
		if (r->p < r->end && *r->p == ']') {
			r->p++;
			break;
		}
		rc = fail(r, PAL_ERR_FORMAT, "',' or ']' expected", r->p);
		goto fail;
	}
done:
	r->depth--;
	*out = arr;
	return 0;
fail:
	json_decref(arr);
	return rc;
}

static int
read_value(struct rd *r, json_t **out)
{
	*out = NULL;
	if (r->p == r->end)
		return fail(r, PAL_ERR_FORMAT, "unexpected end of input", r->p);
	switch (*r->p) {
	case '{':
		return read_object(r, out);
	case '[':
		return read_array(r, out);
	case '"':
		r->p++;
		return read_string(r, out);
	case 't':
		return literal(r, "true", 4, json_true(), out);
	case 'f':
		return literal(r, "false", 5, json_false(), out);
	case 'n':
		return literal(r, "null", 4, json_null(), out);
	default:
		if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
			return read_number(r, out);
		return fail(r, PAL_ERR_FORMAT, "invalid token", r->p);
	}
}

int
gw_json_load(const uint8_t *p, size_t n, uint32_t max_depth, int allow_nul,
	     json_t **out, struct pal_err *err)
{
	struct rd r = { .p = p, .end = p + n, .start = p,
			.max_depth = max_depth, .allow_nul = allow_nul };
	json_t *v = NULL;

	*out = NULL;
	if (r.max_depth > DEPTH_HARD)
		r.max_depth = max_depth = DEPTH_HARD;
	skip_ws(&r);
	if (r.p == r.end || (*r.p != '{' && *r.p != '['))
		fail(&r, PAL_ERR_FORMAT, "'[' or '{' expected", r.p);
	else if (read_value(&r, &v) == 0) {
		skip_ws(&r);
		if (r.p != r.end)
			fail(&r, PAL_ERR_FORMAT, "end of input expected", r.p);
	}
	if (r.code != 0) {
		json_decref(v);
		if (r.code == PAL_ERR_NOMEM)
			return pal_err_set(err, r.code, "out of memory");
		if (r.code == PAL_ERR_LIMIT)
			return pal_err_set(err, r.code,
					   "nested deeper than %u at byte %zu",
					   max_depth, r.at);
		return pal_err_set(err, r.code, "invalid JSON at byte %zu: %s",
				   r.at, r.why);
	}
	*out = v;
	return 0;
}
