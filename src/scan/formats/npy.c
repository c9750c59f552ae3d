/*
 * npy.c - NumPy .npy files (format versions 1.0, 2.0 and 3.0).
 *
 * A .npy file is a magic string, a version, a header length, a header that
 * is the text of a Python dict literal, and the array data.  numpy.load
 * reads the header with ast.literal_eval and then either reads
 * product(shape) * itemsize bytes of raw data or, for an object dtype,
 * unpickles the rest of the file (with allow_pickle=True).  So the scanner
 * parses the header strictly as the subset of Python literals that
 * numpy's _read_array_header accepts, decides the dtype's item size and
 * whether it holds objects, and then either hands the rest of the file to
 * the pickle scanner or checks that the data is exactly as long as the
 * header says.
 *
 * Nothing in the file is trusted: the header is read through one bounded
 * cursor, every integer is overflow-checked, and nothing is allocated.
 * docs/formats/npy.md says what is accepted and rejected and why.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "palisade/buf.h"
#include "palisade/cursor.h"
#include "palisade/text.h"
#include "scan_int.h"

#define NPY_MAGIC	"\x93NUMPY"
#define NPY_MAGIC_LEN	6
/*
 * numpy refuses headers longer than 10000 characters unless the file is
 * loaded with allow_pickle=True, when it has no limit; object arrays need
 * that flag anyway, so the scanner allows more but not without bound.
 */
#define NPY_HEADER_MAX	((size_t)1 << 20)
/* Nesting of structured dtypes (a list of fields whose types are lists). */
#define NPY_DEPTH_MAX	16
/* Decoded bytes of a string kept for matching keys and type strings. */
#define NPY_STR_MAX	64
/* Characters of a hostile string quoted in a message. */
#define NPY_QUOTE_MAX	48

const struct pal_rule pal_rules_npy[] = {
	{ "npy.trailing-data", PAL_SEV_MEDIUM,
	  "Bytes follow the array data that numpy.load never reads; a place "
	  "to hide a payload inside a file that loads cleanly." },
	{ NULL, 0, NULL },
};

/* The header text being parsed, and what has been learned from it. */
struct hdr {
	struct pal_cur c;	/* over the header text only */
	size_t base;		/* file offset of the header text */
	int legacy;		/* 1.0/2.0 headers may be Python 2 literals */
	unsigned depth;		/* nesting of the descriptor being parsed */
	int object;		/* some field of the dtype is an object */
	struct pal_err *err;
};

/* A decoded string literal: its first bytes, for matching. */
struct lit {
	char v[NPY_STR_MAX + 1];
	size_t len;		/* decoded length in code points */
	int ascii;		/* every code point below 0x80 */
	size_t off;		/* file offset of the literal */
};

/* What the header says about the array. */
struct npy_info {
	uint64_t count;		/* product(shape) */
	uint64_t itemsize;
	int object;
};

/*
 * Records a parse failure with the file offset where it happened.  The
 * detail names the header so that a reader knows which part was wrong.
 */
static int
fail_at(struct hdr *h, int code, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
fail_at(struct hdr *h, int code, size_t off, const char *fmt, ...)
{
	char msg[PAL_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pal_err_set(h->err, code, "npy header: %s at offset %zu", msg,
	    off);
}

#define FAIL(h, ...) fail_at((h), PAL_ERR_FORMAT, (h)->base + (h)->c.off, \
	__VA_ARGS__)

/* Copies an escaped, shortened form of a decoded literal into out. */
static void
quote_lit(const struct lit *l, char *out, size_t outsz)
{
	struct pal_buf b;
	size_t n = l->len < NPY_STR_MAX ? l->len : NPY_STR_MAX;

	if (n > NPY_QUOTE_MAX)
		n = NPY_QUOTE_MAX;
	pal_buf_init(&b, outsz > 4 ? outsz - 4 : 0);
	if (pal_text_escape(&b, l->v, n) == 0)
		snprintf(out, outsz, "%s%s", b.p != NULL ?
		    (const char *)b.p : "", l->len > n ? "..." : "");
	else
		snprintf(out, outsz, "...");
	pal_buf_free(&b);
}

/* The next byte without consuming it, or -1 at the end of the header. */
static int
peek(struct hdr *h)
{
	size_t save = h->c.off;
	uint8_t b;

	if (pal_cur_u8(&h->c, &b) != 0)
		return -1;
	(void)pal_cur_seek(&h->c, save);
	return b;
}

static int
next(struct hdr *h)
{
	uint8_t b;

	if (pal_cur_u8(&h->c, &b) != 0)
		return -1;
	return b;
}

/*
 * Whitespace between tokens.  Comments and backslash continuations are
 * Python but never written by numpy; they are rejected where they appear.
 */
static void
skip_ws(struct hdr *h)
{
	int ch;

	while ((ch = peek(h)) == ' ' || ch == '\t' || ch == '\n' ||
	    ch == '\r' || ch == '\f')
		(void)next(h);
}

static int
expect(struct hdr *h, int want, const char *what)
{
	int ch;

	skip_ws(h);
	if ((ch = peek(h)) != want) {
		if (ch < 0)
			return fail_at(h, PAL_ERR_TRUNCATED,
			    h->base + h->c.off, "header ends; expected %s",
			    what);
		return FAIL(h, "expected %s", what);
	}
	(void)next(h);
	return 0;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static void
lit_put(struct lit *l, uint32_t cp)
{
	if (cp >= 0x80)
		l->ascii = 0;
	if (l->len < NPY_STR_MAX)
		l->v[l->len] = cp < 0x80 ? (char)cp : '?';
	l->len++;
}

/* Reads exactly n hex digits of an escape. */
static int
read_hex(struct hdr *h, unsigned n, uint32_t *cp)
{
	uint32_t v = 0;
	unsigned i;
	int d;

	for (i = 0; i < n; i++) {
		if ((d = hexval(peek(h))) < 0)
			return FAIL(h, "escape needs %u hex digits", n);
		(void)next(h);
		v = v << 4 | (uint32_t)d;
	}
	*cp = v;
	return 0;
}

/*
 * Decodes one backslash escape as Python does for a str literal.  Escapes
 * Python would keep literally (with a warning) and \N{name} are refused:
 * numpy's writer never produces them.
 */
static int
read_escape(struct hdr *h, struct lit *l)
{
	static const char simple[] = "\\\\''\"\"a\ab\bf\fn\nr\rt\tv\v";
	uint32_t cp = 0;
	int ch = next(h), r;
	size_t i;

	if (ch < 0)
		return fail_at(h, PAL_ERR_TRUNCATED, h->base + h->c.off,
		    "header ends inside a string");
	if (ch == '\n')
		return 0;	/* a continued line adds nothing */
	for (i = 0; i + 1 < sizeof(simple); i += 2) {
		if (ch == simple[i]) {
			lit_put(l, (uint8_t)simple[i + 1]);
			return 0;
		}
	}
	if (ch >= '0' && ch <= '7') {
		cp = (uint32_t)(ch - '0');
		for (i = 0; i < 2 && peek(h) >= '0' && peek(h) <= '7'; i++)
			cp = cp * 8 + (uint32_t)(next(h) - '0');
	} else if (ch == 'x' || ch == 'u' || ch == 'U') {
		if ((r = read_hex(h, ch == 'x' ? 2 : ch == 'u' ? 4 : 8,
		    &cp)) != 0)
			return r;
		if (cp > 0x10ffff)
			return FAIL(h, "escape \\U%08x is not a code point",
			    (unsigned)cp);
	} else {
		return FAIL(h, "unsupported escape in a string");
	}
	lit_put(l, cp);
	return 0;
}

/*
 * A str literal: '...' or "..." with an optional u prefix.  Bytes, raw,
 * f-strings, triple quotes and implicit concatenation are refused.
 */
static int
read_string(struct hdr *h, struct lit *l)
{
	int q, ch, r;

	skip_ws(h);
	memset(l, 0, sizeof(*l));
	l->ascii = 1;
	l->off = h->base + h->c.off;
	ch = peek(h);
	if (ch == 'u' || ch == 'U') {
		(void)next(h);
		ch = peek(h);
	}
	if (ch != '\'' && ch != '"')
		return FAIL(h, "expected a string");
	q = next(h);
	if (peek(h) == q) {
		(void)next(h);
		if (peek(h) == q)
			return FAIL(h, "triple-quoted strings are not accepted");
		goto done;
	}
	for (;;) {
		if ((ch = next(h)) < 0)
			return fail_at(h, PAL_ERR_TRUNCATED, h->base + h->c.off,
			    "header ends inside a string");
		if (ch == q)
			break;
		if (ch == '\n' || ch == '\r')
			return FAIL(h, "line break inside a string");
		if (ch == '\\') {
			if ((r = read_escape(h, l)) != 0)
				return r;
			continue;
		}
		lit_put(l, (uint8_t)ch);
	}
done:
	skip_ws(h);
	if (peek(h) == '\'' || peek(h) == '"')
		return FAIL(h, "adjacent strings are not accepted");
	return 0;
}

static int
is_word(int ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '.';
}

/*
 * A decimal integer, optionally negative, as *mag and *neg.  Python 2
 * longs ("3L") are accepted in 1.0/2.0 headers, which numpy filters for.
 */
static int
read_int(struct hdr *h, uint64_t *mag, int *neg)
{
	uint64_t v = 0;
	size_t start;
	int first, ch;

	skip_ws(h);
	*neg = 0;
	if (peek(h) == '-') {
		(void)next(h);
		*neg = 1;
		skip_ws(h);
	}
	start = h->c.off;
	first = peek(h);
	while ((ch = peek(h)) >= '0' && ch <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return fail_at(h, PAL_ERR_LIMIT, h->base + start,
			    "integer does not fit in 64 bits");
		v = v * 10 + (uint64_t)(next(h) - '0');
	}
	if (h->c.off == start)
		return FAIL(h, "expected an integer");
	if (h->c.off - start > 1 && first == '0')
		return fail_at(h, PAL_ERR_FORMAT, h->base + start,
		    "integer with leading zeros");
	if (h->legacy && peek(h) == 'L')
		(void)next(h);
	if (is_word(peek(h)))
		return FAIL(h, "unsupported number syntax");
	*mag = v;
	return 0;
}

/* A non-negative integer: a dimension. */
static int
read_dim(struct hdr *h, uint64_t *v)
{
	size_t off;
	int neg, r;

	skip_ws(h);
	off = h->base + h->c.off;
	if ((r = read_int(h, v, &neg)) != 0)
		return r;
	if (neg && *v != 0)
		return fail_at(h, PAL_ERR_FORMAT, off,
		    "negative dimension -%llu",
		    (unsigned long long)*v);
	return 0;
}

/*
 * A tuple of dimensions, "()" or "(n,)" or "(n, m, ...)", and the product
 * of its members.  As numpy does, the product of the non-zero dimensions
 * must fit in a signed 64-bit integer even when a zero makes the array
 * empty.  With allow_int, a bare integer or a parenthesized one also
 * counts (a subarray shape may be an int; the array's shape must be a
 * tuple).
 */
static int
read_shape(struct hdr *h, int allow_int, uint64_t *prod)
{
	uint64_t p = 1, d;
	int zero = 0, n = 0, comma = 0, r;
	size_t off;

	skip_ws(h);
	off = h->base + h->c.off;
	if (allow_int && peek(h) != '(')
		return read_dim(h, prod);
	if ((r = expect(h, '(', "'(' opening a shape tuple")) != 0)
		return r;
	for (;;) {
		skip_ws(h);
		if (peek(h) == ')')
			break;
		if (n > 0 && !comma)
			return FAIL(h, "expected ',' or ')' in a shape");
		if ((r = read_dim(h, &d)) != 0)
			return r;
		n++;
		if (d == 0)
			zero = 1;
		else if (__builtin_mul_overflow(p, d, &p) || p > INT64_MAX)
			return fail_at(h, PAL_ERR_LIMIT, off,
			    "product of the shape overflows 64 bits");
		skip_ws(h);
		comma = peek(h) == ',';
		if (comma)
			(void)next(h);
	}
	(void)next(h);
	if (n == 1 && !comma && !allow_int)
		return fail_at(h, PAL_ERR_FORMAT, off,
		    "shape is a parenthesized integer, not a tuple");
	*prod = zero ? 0 : p;
	return 0;
}

/* Digits of a type string from *i on; none means 0. */
static int
type_digits(const char *s, size_t *i, uint64_t *v)
{
	uint64_t x = 0;

	while (s[*i] >= '0' && s[*i] <= '9') {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(s[(*i)++] - '0');
	}
	*v = x;
	return 0;
}

/* "[unit]" or "[Nunit]" of a datetime64/timedelta64 type string. */
static int
time_unit_ok(const char *s)
{
	static const char *const units[] = {
		"Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps",
		"fs", "as",
	};
	size_t i = 0, k, n;
	uint64_t mult;

	if (s[0] == '\0')
		return 1;	/* generic datetime */
	if (s[i++] != '[' || type_digits(s, &i, &mult) != 0)
		return 0;
	n = strlen(s + i);
	if (n < 2 || s[i + n - 1] != ']')
		return 0;
	for (k = 0; k < sizeof(units) / sizeof(units[0]); k++)
		if (strlen(units[k]) == n - 1 &&
		    strncmp(s + i, units[k], n - 1) == 0)
			return 1;
	return 0;
}

/*
 * The item size of a dtype string in the form dtype.str takes ("<f8",
 * "|S5", "<U3", "<M8[ns]", "|O"), with the byte order optional; named
 * types ("float32") and one-letter codes are refused as numpy never writes
 * them.  Sets *object for the object type.
 */
static int
type_size(const char *s, uint64_t *size, int *object)
{
	uint64_t n = 0;
	size_t i = 0, digits;
	char kind;

	if (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=')
		i++;
	if ((kind = s[i++]) == '\0')
		return -1;
	digits = i;
	if (type_digits(s, &i, &n) != 0)
		return -1;
	digits = i - digits;
	if (kind == 'M' || kind == 'm') {
		*size = 8;
		return n == 8 && time_unit_ok(s + i) ? 0 : -1;
	}
	if (s[i] != '\0')
		return -1;
	switch (kind) {
	case 'O':
		*object = 1;
		*size = 8;
		return digits == 0 || n == 4 || n == 8 ? 0 : -1;
	case 'b':
		*size = 1;
		return n == 1 ? 0 : -1;
	case 'i':
	case 'u':
		*size = n;
		return n == 1 || n == 2 || n == 4 || n == 8 ? 0 : -1;
	case 'f':
		*size = n;
		return n == 2 || n == 4 || n == 8 || n == 12 || n == 16 ?
		    0 : -1;
	case 'c':
		*size = n;
		return n == 8 || n == 16 || n == 24 || n == 32 ? 0 : -1;
	case 'S':
	case 'a':
	case 'V':
		*size = n;
		return 0;
	case 'U':
		*size = n * 4;
		return n <= UINT64_MAX / 4 ? 0 : -1;
	default:
		return -1;
	}
}

static int read_descr(struct hdr *h, uint64_t *size);

/* A type string: look up its size. */
static int
read_type_string(struct hdr *h, uint64_t *size)
{
	char q[NPY_QUOTE_MAX * 4 + 8];
	struct lit l;
	int r;

	if ((r = read_string(h, &l)) != 0)
		return r;
	if (!l.ascii || l.len > NPY_STR_MAX ||
	    type_size(l.v, size, &h->object) != 0) {
		quote_lit(&l, q, sizeof(q));
		return fail_at(h, PAL_ERR_FORMAT, l.off,
		    "descr '%s' is not a dtype numpy writes", q);
	}
	return 0;
}

/* A field name: a string, or a (title, name) pair of strings. */
static int
read_field_name(struct hdr *h)
{
	struct lit l;
	int r;

	skip_ws(h);
	if (peek(h) != '(')
		return read_string(h, &l);
	(void)next(h);
	if ((r = read_string(h, &l)) != 0 ||
	    (r = expect(h, ',', "',' in a (title, name) pair")) != 0 ||
	    (r = read_string(h, &l)) != 0)
		return r;
	skip_ws(h);
	if (peek(h) == ',')
		(void)next(h);
	return expect(h, ')', "')' closing a (title, name) pair");
}

/*
 * One field of a structured dtype: (name, descr) or (name, descr, shape),
 * whose size is the descriptor's times the product of the shape.
 */
static int
read_field(struct hdr *h, uint64_t *size)
{
	uint64_t sz, prod = 1;
	int r;

	if ((r = expect(h, '(', "'(' opening a field")) != 0 ||
	    (r = read_field_name(h)) != 0 ||
	    (r = expect(h, ',', "',' after a field name")) != 0 ||
	    (r = read_descr(h, &sz)) != 0)
		return r;
	skip_ws(h);
	if (peek(h) == ',') {
		(void)next(h);
		skip_ws(h);
		if (peek(h) != ')' && (r = read_shape(h, 1, &prod)) != 0)
			return r;
		skip_ws(h);
		if (peek(h) == ',')
			(void)next(h);
	}
	if ((r = expect(h, ')', "')' closing a field")) != 0)
		return r;
	if (__builtin_mul_overflow(sz, prod, size))
		return FAIL(h, "field size overflows 64 bits");
	return 0;
}

/* A list of fields; the item size is the sum of the fields' sizes. */
static int
read_fields(struct hdr *h, uint64_t *size)
{
	uint64_t total = 0, sz;
	int n = 0, r;

	(void)next(h);		/* '[' */
	for (;;) {
		skip_ws(h);
		if (peek(h) == ']')
			break;
		if (n > 0 && (r = expect(h, ',', "',' between fields")) != 0)
			return r;
		skip_ws(h);
		if (n > 0 && peek(h) == ']')
			break;
		if ((r = read_field(h, &sz)) != 0)
			return r;
		if (__builtin_add_overflow(total, sz, &total))
			return FAIL(h, "structured dtype size overflows 64 bits");
		n++;
	}
	(void)next(h);
	*size = total;
	return 0;
}

/* A subarray descriptor at the top: (descr, shape). */
static int
read_subarray(struct hdr *h, uint64_t *size)
{
	uint64_t sz, prod;
	int r;

	(void)next(h);		/* '(' */
	if ((r = read_descr(h, &sz)) != 0 ||
	    (r = expect(h, ',', "',' in a (descr, shape) pair")) != 0 ||
	    (r = read_shape(h, 1, &prod)) != 0)
		return r;
	skip_ws(h);
	if (peek(h) == ',')
		(void)next(h);
	if ((r = expect(h, ')', "')' closing a (descr, shape) pair")) != 0)
		return r;
	if (__builtin_mul_overflow(sz, prod, size))
		return FAIL(h, "subarray size overflows 64 bits");
	return 0;
}

/* descr: a type string, a list of fields, or a (descr, shape) pair. */
static int
read_descr(struct hdr *h, uint64_t *size)
{
	int ch, r;

	if (h->depth >= NPY_DEPTH_MAX)
		return fail_at(h, PAL_ERR_LIMIT, h->base + h->c.off,
		    "dtype nested deeper than %d", NPY_DEPTH_MAX);
	h->depth++;
	skip_ws(h);
	ch = peek(h);
	if (ch == '[')
		r = read_fields(h, size);
	else if (ch == '(')
		r = read_subarray(h, size);
	else
		r = read_type_string(h, size);
	h->depth--;
	return r;
}

static int
read_bool(struct hdr *h)
{
	char w[8];
	size_t n = 0;

	skip_ws(h);
	while (is_word(peek(h)) && n < sizeof(w) - 1)
		w[n++] = (char)next(h);
	w[n] = '\0';
	if (is_word(peek(h)) ||
	    (strcmp(w, "True") != 0 && strcmp(w, "False") != 0))
		return FAIL(h, "fortran_order is not True or False");
	return 0;
}

enum { KEY_DESCR = 1, KEY_ORDER = 2, KEY_SHAPE = 4 };

/* One "key: value" entry of the header dict. */
static int
read_entry(struct hdr *h, unsigned *seen, struct npy_info *info)
{
	static const char *const names[] = { "descr", "fortran_order",
	    "shape" };
	char q[NPY_QUOTE_MAX * 4 + 8];
	unsigned key = 0, k;
	struct lit l;
	int r;

	if ((r = read_string(h, &l)) != 0)
		return r;
	for (k = 0; k < 3; k++)
		if (l.ascii && l.len == strlen(names[k]) &&
		    memcmp(l.v, names[k], l.len) == 0)
			key = 1u << k;
	quote_lit(&l, q, sizeof(q));
	if (key == 0)
		return fail_at(h, PAL_ERR_FORMAT, l.off,
		    "unexpected key '%s'", q);
	if (*seen & key)
		return fail_at(h, PAL_ERR_FORMAT, l.off,
		    "duplicate key '%s'", q);
	*seen |= key;
	if ((r = expect(h, ':', "':' after a key")) != 0)
		return r;
	if (key == KEY_DESCR)
		return read_descr(h, &info->itemsize);
	if (key == KEY_ORDER)
		return read_bool(h);
	return read_shape(h, 0, &info->count);
}

/*
 * The whole header: a dict with exactly the keys descr, fortran_order and
 * shape, and nothing after it but whitespace.
 */
static int
parse_header(struct hdr *h, struct npy_info *info)
{
	unsigned seen = 0;
	int n = 0, r;

	if ((r = expect(h, '{', "'{' opening the header dict")) != 0)
		return r;
	for (;;) {
		skip_ws(h);
		if (peek(h) == '}')
			break;
		if (n > 0 && (r = expect(h, ',', "',' or '}'")) != 0)
			return r;
		skip_ws(h);
		if (n > 0 && peek(h) == '}')
			break;
		if ((r = read_entry(h, &seen, info)) != 0)
			return r;
		n++;
	}
	(void)next(h);
	skip_ws(h);
	if (pal_cur_left(&h->c) != 0)
		return FAIL(h, "characters after the header dict");
	if (!(seen & KEY_DESCR))
		return FAIL(h, "missing key 'descr'");
	if (!(seen & KEY_ORDER))
		return FAIL(h, "missing key 'fortran_order'");
	if (!(seen & KEY_SHAPE))
		return FAIL(h, "missing key 'shape'");
	info->object = h->object;
	return 0;
}

/*
 * Magic, version and header length.  Leaves c at the header text and sets
 * *hlen to its length and *legacy for the latin-1 versions.
 */
static int
read_preamble(struct pal_scan *s, struct pal_cur *c, uint32_t *hlen,
    int *legacy)
{
	const uint8_t *magic;
	uint8_t major, minor;
	uint16_t h16;

	if (pal_cur_bytes(c, NPY_MAGIC_LEN, &magic) != 0 ||
	    pal_cur_u8(c, &major) != 0 || pal_cur_u8(c, &minor) != 0)
		return pal_err_set(&s->err, PAL_ERR_TRUNCATED,
		    "npy: file ends in the magic string (%zu bytes)", c->len);
	if (memcmp(magic, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
		return pal_err_set(&s->err, PAL_ERR_FORMAT,
		    "npy: bad magic string at offset 0");
	if (minor != 0 || major < 1 || major > 3)
		return pal_err_set(&s->err, PAL_ERR_UNSUPPORTED,
		    "npy: format version %u.%u at offset 6 (numpy reads 1.0, "
		    "2.0, 3.0)", major, minor);
	*legacy = major < 3;
	if (major == 1) {
		if (pal_cur_u16le(c, &h16) != 0)
			return pal_err_set(&s->err, PAL_ERR_TRUNCATED,
			    "npy: file ends in the header length at offset 8");
		*hlen = h16;
	} else if (pal_cur_u32le(c, hlen) != 0) {
		return pal_err_set(&s->err, PAL_ERR_TRUNCATED,
		    "npy: file ends in the header length at offset 8");
	}
	if (*hlen > NPY_HEADER_MAX)
		return pal_err_set(&s->err, PAL_ERR_LIMIT,
		    "npy: header length %u at offset 8 exceeds %zu bytes",
		    (unsigned)*hlen, NPY_HEADER_MAX);
	if (*hlen > pal_cur_left(c))
		return pal_err_set(&s->err, PAL_ERR_TRUNCATED,
		    "npy: header length %u at offset 8, but only %zu bytes "
		    "follow", (unsigned)*hlen, pal_cur_left(c));
	return 0;
}

/*
 * A plain array: the data must be exactly count * itemsize bytes.  What
 * follows is reported and scanned, since numpy.load never looks at it.
 */
static int
check_data(struct pal_scan *s, const struct pal_scan_item *it,
    struct pal_cur *c, const struct npy_info *info)
{
	size_t off = c->off, left = pal_cur_left(c);
	const uint8_t *rest;
	uint64_t need;
	int r;

	if (__builtin_mul_overflow(info->count, info->itemsize, &need))
		return pal_err_set(&s->err, PAL_ERR_LIMIT,
		    "npy: %llu items of %llu bytes overflow 64 bits",
		    (unsigned long long)info->count,
		    (unsigned long long)info->itemsize);
	if (need > left)
		return pal_err_set(&s->err, PAL_ERR_TRUNCATED,
		    "npy: array data at offset %zu is %zu bytes; the header "
		    "describes %llu items of %llu bytes (%llu bytes)", off,
		    left, (unsigned long long)info->count,
		    (unsigned long long)info->itemsize,
		    (unsigned long long)need);
	if (need == left)
		return 0;
	(void)pal_cur_skip(c, (size_t)need);
	if ((r = pal_scan_find_at(s, it, "npy.trailing-data", c->off,
	    "%zu bytes follow the %llu bytes of array data",
	    pal_cur_left(c), (unsigned long long)need)) != 0)
		return r;
	left = pal_cur_left(c);
	(void)pal_cur_bytes(c, left, &rest);
	return pal_scan_child(s, it, "<trailing data>", rest, left,
	    PAL_HINT_NONE);
}

int
pal_fmt_npy(struct pal_scan *s, const struct pal_scan_item *it)
{
	struct npy_info info;
	const uint8_t *rest;
	struct pal_cur c;
	struct hdr h;
	uint32_t hlen;
	size_t left;
	int legacy = 0, r;

	memset(&info, 0, sizeof(info));
	memset(&h, 0, sizeof(h));
	pal_cur_init(&c, it->data, it->len);
	if ((r = read_preamble(s, &c, &hlen, &legacy)) != 0)
		return r;
	h.base = c.off;
	h.legacy = legacy;
	h.err = &s->err;
	if ((r = pal_cur_sub(&c, hlen, &h.c)) != 0)
		return pal_err_set(&s->err, r, "npy: header truncated");
	/* Version 3.0 headers are UTF-8; 1.0 and 2.0 are latin-1. */
	if (!legacy && !pal_utf8_valid((const char *)h.c.base, h.c.len))
		return pal_err_set(&s->err, PAL_ERR_FORMAT,
		    "npy: version 3.0 header at offset %zu is not valid UTF-8",
		    h.base);
	if ((r = parse_header(&h, &info)) != 0)
		return r;
	if (!info.object)
		return check_data(s, it, &c, &info);
	/*
	 * numpy.load(allow_pickle=True) unpickles everything after the
	 * header: that is the code-bearing part, and the pickle scanner's.
	 */
	left = pal_cur_left(&c);
	(void)pal_cur_bytes(&c, left, &rest);
	return pal_scan_child_as(s, it, "<object array pickle>", rest, left,
	    PAL_HINT_NONE, PAL_FMT_PICKLE);
}
