/*
 * pickle_text.c - the text arguments of protocol 0 opcodes, parsed the way
 * CPython's C unpickler parses them.
 *
 * The unpickler copies a line, NUL-terminates it and hands it to strtol,
 * PyLong_FromString, PyOS_string_to_double, PyBytes_DecodeEscape or the
 * raw-unicode-escape codec.  Those stop at an embedded NUL, accept some
 * surprising spellings ("0x1f", "010", "1_000", leading blanks) and reject
 * others; a scanner that reads the text differently from the loader can
 * be steered, so each rule here follows the C code it mirrors.  Every
 * function takes the line without its newline and reads nothing else.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pickle_int.h"

/* The C library's isspace() in the C locale, and CPython's Py_ISSPACE. */
static int
is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' ||
	    c == '\f' || c == '\r';
}

/* The value of c as a digit, or 99 when it is none. */
static unsigned
digit_of(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'z')
		return (unsigned)(c - 'a' + 10);
	if (c >= 'A' && c <= 'Z')
		return (unsigned)(c - 'A' + 10);
	return 99;
}

/* A C function given this line would see it end at the first NUL. */
static size_t
c_strlen(const uint8_t *p, size_t n)
{
	const uint8_t *z = n ? memchr(p, '\0', n) : NULL;

	return z != NULL ? (size_t)(z - p) : n;
}

/*
 * Adds digit d in base b to a magnitude; *big is set once it no longer
 * fits 64 bits (the digits are still checked, the value is then moot).
 */
static void
acc_digit(uint64_t *mag, int *big, unsigned b, unsigned d)
{
	if (*big)
		return;
	if (*mag > (UINT64_MAX - d) / b) {
		*big = 1;
		return;
	}
	*mag = *mag * b + d;
}

/* Turns a sign and magnitude into an int64, or says it does not fit. */
static int
to_int64(int neg, uint64_t mag, int big, int64_t *v)
{
	if (big)
		return 0;
	if (neg) {
		if (mag > (uint64_t)INT64_MAX + 1)
			return 0;
		*v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
		    -(int64_t)mag;
		return 1;
	}
	if (mag > (uint64_t)INT64_MAX)
		return 0;
	*v = (int64_t)mag;
	return 1;
}

/*
 * strtol(s, &end, 0) followed by the unpickler's "*end must be '\n' or
 * '\0'" test.  Returns 1 with the value when both hold, 0 when CPython
 * would fall back to PyLong_FromString.  p[0..n) holds no NUL.
 */
static int
c_strtol0(const uint8_t *p, size_t n, int64_t *v)
{
	uint64_t mag = 0;
	size_t i = 0, start;
	unsigned b = 10;
	int neg = 0, big = 0;

	while (i < n && is_space(p[i]))
		i++;
	if (i < n && (p[i] == '+' || p[i] == '-'))
		neg = p[i++] == '-';
	if (n - i > 2 && p[i] == '0' && (p[i + 1] == 'x' ||
	    p[i + 1] == 'X') && digit_of(p[i + 2]) < 16) {
		b = 16;
		i += 2;
	} else if (i < n && p[i] == '0') {
		b = 8;
	}
	start = i;
	while (i < n && digit_of(p[i]) < b)
		acc_digit(&mag, &big, b, digit_of(p[i++]));
	if (i == start) {
		/* No digits: strtol leaves end at the very start. */
		*v = 0;
		return n == 0;
	}
	if (i != n)
		return 0;
	/* strtol saturates and sets ERANGE beyond a long. */
	return to_int64(neg, mag, big, v);
}

/*
 * The base a PyLong_FromString(s, 0) literal declares at p[*i]: 0x, 0o
 * and 0b prefixes (which one underscore may follow: "0x_1f"), or a
 * leading zero, after which only zeros may come.
 */
static unsigned
literal_base(const uint8_t *p, size_t n, size_t *i, int *only_zeros,
    int *under)
{
	uint8_t x;

	if (*i >= n || p[*i] != '0')
		return 10;
	x = *i + 1 < n ? (uint8_t)(p[*i + 1] | 0x20) : 0;
	if (x != 'x' && x != 'o' && x != 'b') {
		*only_zeros = 1;
		return 10;
	}
	*i += 2;
	if (*i < n && p[*i] == '_') {
		(*i)++;
		*under = 1;
	}
	return x == 'x' ? 16 : x == 'o' ? 8 : 2;
}

/*
 * PyLong_FromString(s, NULL, base) for base 0 or 10 on a C string: blanks,
 * a sign, for base 0 a prefix, digits with single underscores between
 * them, blanks, the end.
 */
int
pal_pickle_text_pylong(const uint8_t *p, size_t n, int base, int64_t *v,
    int *big)
{
	uint64_t mag = 0;
	size_t i = 0;
	unsigned b = 10, d;
	int neg = 0, only_zeros = 0, ndig = 0, under = 0;

	n = c_strlen(p, n);
	*big = 0;
	while (i < n && is_space(p[i]))
		i++;
	if (i < n && (p[i] == '+' || p[i] == '-'))
		neg = p[i++] == '-';
	if (base == 0)
		b = literal_base(p, n, &i, &only_zeros, &under);
	for (; i < n; i++) {
		if (p[i] == '_') {
			/* Only between digits, one at a time. */
			if (under || (ndig == 0 && b == 10))
				return PAL_ERR_FORMAT;
			under = 1;
			continue;
		}
		if ((d = digit_of(p[i])) >= b)
			break;
		if (only_zeros && d != 0)
			return PAL_ERR_FORMAT;
		acc_digit(&mag, big, b, d);
		ndig++;
		under = 0;
	}
	if (ndig == 0 || under)
		return PAL_ERR_FORMAT;
	while (i < n && is_space(p[i]))
		i++;
	if (i != n)
		return PAL_ERR_FORMAT;
	if (!to_int64(neg, mag, *big, v))
		*big = 1;
	return 0;
}

int
pal_pickle_text_int(const uint8_t *p, size_t n, int64_t *v, int *kind)
{
	size_t m = c_strlen(p, n);
	int big;

	if (c_strtol0(p, m, v)) {
		/* "00" and "01" (the line being three bytes with its
		 * newline) are how protocol 0 spells False and True. */
		*kind = n == 2 && (*v == 0 || *v == 1) ? PK_INT_BOOL :
		    PK_INT_SMALL;
		return 0;
	}
	if (pal_pickle_text_pylong(p, m, 0, v, &big) != 0)
		return PAL_ERR_FORMAT;
	*kind = big ? PK_INT_BIG : PK_INT_SMALL;
	return 0;
}

int
pal_pickle_text_long(const uint8_t *p, size_t n, int64_t *v, int *big)
{
	/* The unpickler blanks a final 'L' (Python 2's long suffix). */
	if (n >= 1 && p[n - 1] == 'L')
		n--;
	return pal_pickle_text_pylong(p, n, 0, v, big);
}

/* Case-insensitive match of word at p[i..n); advances i on success. */
static int
match_word(const uint8_t *p, size_t n, size_t *i, const char *word)
{
	size_t k, wl = strlen(word);

	if (n - *i < wl)
		return 0;
	for (k = 0; k < wl; k++) {
		uint8_t c = p[*i + k];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != (uint8_t)word[k])
			return 0;
	}
	*i += wl;
	return 1;
}

/* Python's dtoa: no blanks, no hex, an optional exponent. */
static int
float_syntax(const uint8_t *p, size_t n)
{
	size_t i = 0, intd = 0, fracd = 0, expd = 0;

	if (i < n && (p[i] == '+' || p[i] == '-'))
		i++;
	if (match_word(p, n, &i, "infinity") || match_word(p, n, &i, "inf") ||
	    match_word(p, n, &i, "nan"))
		return i == n;
	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++, intd++;
	if (i < n && p[i] == '.') {
		i++;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++, fracd++;
	}
	if (intd + fracd == 0)
		return 0;
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++, expd++;
		if (expd == 0)
			return 0;
	}
	return i == n;
}

int
pal_pickle_text_float(const uint8_t *p, size_t n, double *v)
{
	char tmp[512];
	double d;

	n = c_strlen(p, n);
	if (!float_syntax(p, n))
		return PAL_ERR_FORMAT;
	*v = 0;
	/* The value matters only for overflow, which CPython refuses;
	 * a literal too long to copy here is accepted unmeasured. */
	if (n >= sizeof(tmp))
		return 0;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	errno = 0;
	d = strtod(tmp, NULL);
	if (errno == ERANGE && fabs(d) >= 1.0)
		return PAL_ERR_FORMAT;
	*v = d;
	return 0;
}

static int
put_byte(struct pal_buf *out, uint8_t c)
{
	return out == NULL ? 0 : pal_buf_putc(out, (char)c);
}

/* Appends code point cp as UTF-8; lone surrogates are kept (WTF-8). */
static int
put_cp(struct pal_buf *out, uint32_t cp)
{
	uint8_t b[4];
	size_t n;

	if (out == NULL)
		return 0;
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | cp >> 6);
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | cp >> 12);
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | cp >> 18);
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return pal_buf_append(out, b, n);
}

/* One escape of PyBytes_DecodeEscape after its backslash, at p[*i]. */
static int
escape_one(const uint8_t *p, size_t n, size_t *i, struct pal_buf *out)
{
	static const char simple[] = "\\\\''\"\"b\bf\ft\tn\nr\rv\va\a";
	uint8_t c = p[(*i)++];
	unsigned v;
	size_t k;

	for (k = 0; simple[k] != '\0'; k += 2)
		if ((uint8_t)simple[k] == c)
			return put_byte(out, (uint8_t)simple[k + 1]);
	if (c >= '0' && c <= '7') {
		v = c - '0';
		for (k = 0; k < 2 && *i < n && p[*i] >= '0' &&
		    p[*i] <= '7'; k++)
			v = v * 8 + (unsigned)(p[(*i)++] - '0');
		return put_byte(out, (uint8_t)v);
	}
	if (c == 'x') {
		if (n - *i < 2 || digit_of(p[*i]) >= 16 ||
		    digit_of(p[*i + 1]) >= 16)
			return PAL_ERR_FORMAT;
		v = digit_of(p[*i]) * 16 + digit_of(p[*i + 1]);
		*i += 2;
		return put_byte(out, (uint8_t)v);
	}
	if (c == '\n')
		return 0;
	/* Unknown escapes keep their backslash (a DeprecationWarning). */
	(*i)--;
	return put_byte(out, '\\');
}

int
pal_pickle_text_escape(const uint8_t *p, size_t n, struct pal_buf *out,
    size_t *bad)
{
	size_t i = 0, at;
	int r;

	while (i < n) {
		if (p[i] != '\\') {
			if ((r = put_byte(out, p[i++])) != 0)
				return r;
			continue;
		}
		at = i++;
		if (i == n || (r = escape_one(p, n, &i, out)) != 0) {
			*bad = at;
			return i == n ? PAL_ERR_FORMAT : r;
		}
	}
	return 0;
}

int
pal_pickle_text_rawesc(const uint8_t *p, size_t n, struct pal_buf *out,
    size_t *bad)
{
	size_t i = 0, at, count, k;
	uint32_t cp;
	unsigned d;
	int r;

	while (i < n) {
		if (p[i] != '\\' || i + 1 == n ||
		    (p[i + 1] != 'u' && p[i + 1] != 'U')) {
			/* Anything else is a Latin-1 code point; a backslash
			 * not starting \u or \U stands with what follows. */
			if (p[i] == '\\' && i + 1 < n) {
				if ((r = put_cp(out, '\\')) != 0)
					return r;
				i++;
			}
			if ((r = put_cp(out, p[i++])) != 0)
				return r;
			continue;
		}
		at = i;
		count = p[i + 1] == 'u' ? 4 : 8;
		i += 2;
		for (cp = 0, k = 0; k < count; k++, i++) {
			if (i >= n || (d = digit_of(p[i])) >= 16) {
				*bad = at;
				return PAL_ERR_FORMAT;
			}
			cp = cp << 4 | d;
		}
		if (cp > 0x10ffff) {
			*bad = at;
			return PAL_ERR_FORMAT;
		}
		if ((r = put_cp(out, cp)) != 0)
			return r;
	}
	return 0;
}

int
pal_pickle_is_ascii(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] & 0x80)
			return 0;
	return 1;
}

/*
 * Validates UTF-8.  With surrogates, encoded U+D800..U+DFFF are accepted,
 * as CPython's "surrogatepass" handler (used by BINUNICODE) accepts them.
 */
int
pal_pickle_utf8_ok(const uint8_t *p, size_t n, int surrogates)
{
	size_t i = 0, k, len;
	uint32_t cp, min;
	uint64_t w;

	/* Names and keys are mostly ASCII: eight bytes at a time first. */
	while (n - i >= 8) {
		memcpy(&w, p + i, 8);
		if (w & 0x8080808080808080ull)
			break;
		i += 8;
	}
	while (i < n) {
		uint8_t c = p[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return 0;
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff)
			return 0;
		if (cp >= 0xd800 && cp <= 0xdfff && !surrogates)
			return 0;
		i += len;
	}
	return 1;
}

int
pal_pickle_latin1_utf8(const uint8_t *p, size_t n, struct pal_buf *out)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++)
		if ((r = put_cp(out, p[i])) != 0)
			return r;
	return 0;
}

static int
ident_start(uint8_t c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    c >= 0x80;
}

/* "a.b_c.d9": identifiers joined by single dots (non-ASCII allowed). */
int
pal_pickle_dotted_ident(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	if (n == 0)
		return 0;
	while (i < n) {
		if (!ident_start(p[i]))
			return 0;
		while (i < n && (ident_start(p[i]) || (p[i] >= '0' &&
		    p[i] <= '9')))
			i++;
		if (i < n && (p[i] != '.' || ++i == n))
			return 0;
	}
	return 1;
}
