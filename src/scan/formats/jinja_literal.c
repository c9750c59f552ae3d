/*
 * jinja_literal.c - string and integer literals as Jinja decodes them:
 * Python's escapes (\\ \' \" \a \b \f \n \r \t \v, octal, \x, \u, \U,
 * \N{...}, line continuation) and integers in every base Jinja lexes.
 *
 * A literal that spells the characters of a name with escapes is a
 * finding (jinja.escaped-name) and its value is marked obfuscated.  A
 * malformed escape is a syntax error; the literal's value is unknown.
 */
#include <stdint.h>
#include <string.h>

#include "palisade/encoding.h"
#include "jinja_int.h"

/* The next byte without consuming it, or -1. */
static int
cur_peek(const struct pal_cur *c)
{
	struct pal_cur t = *c;
	uint8_t b;

	return pal_cur_u8(&t, &b) == 0 ? b : -1;
}

/* Unicode names an escape may spell a name's characters with. */
static const struct {
	const char *name;
	char ch;
} uni_names[] = {
	{ "LOW LINE", '_' }, { "FULL STOP", '.' }, { "SPACE", ' ' },
	{ "LEFT SQUARE BRACKET", '[' }, { "RIGHT SQUARE BRACKET", ']' },
	{ "LEFT PARENTHESIS", '(' }, { "RIGHT PARENTHESIS", ')' },
	{ "APOSTROPHE", '\'' }, { "QUOTATION MARK", '"' },
	{ "SOLIDUS", '/' }, { "REVERSE SOLIDUS", '\\' },
	{ "HYPHEN-MINUS", '-' }, { "COMMA", ',' }, { "COLON", ':' },
	{ "SEMICOLON", ';' }, { "LINE FEED", '\n' }, { "LF", '\n' },
	{ "VERTICAL LINE", '|' }, { "TILDE", '~' }, { "PERCENT SIGN", '%' },
	{ "PLUS SIGN", '+' }, { "EQUALS SIGN", '=' }, { "NUMBER SIGN", '#' },
	{ "DIGIT ZERO", '0' }, { "DIGIT ONE", '1' }, { "DIGIT TWO", '2' },
	{ "DIGIT THREE", '3' }, { "DIGIT FOUR", '4' }, { "DIGIT FIVE", '5' },
	{ "DIGIT SIX", '6' }, { "DIGIT SEVEN", '7' }, { "DIGIT EIGHT", '8' },
	{ "DIGIT NINE", '9' },
};

/*
 * The character a \N{...} escape names, for the few an attacker spells
 * names with (Python matches the names without regard to case).  -1 for
 * a name not in the table.
 */
static int
uni_lookup(const uint8_t *p, size_t n)
{
	char up[64];
	size_t i;

	if (n == 0 || n >= sizeof(up))
		return -1;
	for (i = 0; i < n; i++)
		up[i] = (char)(p[i] >= 'a' && p[i] <= 'z' ? p[i] - 32 : p[i]);
	up[n] = '\0';
	for (i = 0; i < sizeof(uni_names) / sizeof(uni_names[0]); i++)
		if (strcmp(up, uni_names[i].name) == 0)
			return (unsigned char)uni_names[i].ch;
	if (n == 22 && memcmp(up, "LATIN SMALL LETTER ", 19) == 0 &&
	    up[19] >= 'A' && up[19] <= 'Z' && up[20] == '\0')
		return up[19] + 32;
	if (n == 20 && memcmp(up, "LATIN SMALL LETTER ", 19) == 0 &&
	    up[19] >= 'A' && up[19] <= 'Z')
		return up[19] + 32;
	if (n == 22 && memcmp(up, "LATIN CAPITAL LETTER ", 21) == 0 &&
	    up[21] >= 'A' && up[21] <= 'Z')
		return up[21];
	return -1;
}

static int
is_ident_char(uint32_t cp)
{
	return cp < 0x80 && (is_name_char((int)cp) || cp == '.');
}

/*
 * Decodes one escape after the backslash.  Sets *spelled when the escape
 * stands for a character of a name, which real templates simply write.
 */
static int
decode_escape(struct jctx *J, struct pal_cur *c, size_t base, struct jval *v,
    int *spelled)
{
	static const char simple[] = "\\\\''\"\"a\ab\bf\fn\nr\rt\tv\v";
	uint8_t e, d;
	uint32_t cp = 0;
	size_t i, want = 0;
	int h;

	if (pal_cur_u8(c, &e) != 0)
		return pal_jinja_val_append(v, "\\", 1) < 0 ? PAL_ERR_NOMEM : 0;
	for (i = 0; simple[i] != '\0'; i += 2)
		if ((uint8_t)simple[i] == e)
			return pal_jinja_val_append(v, &simple[i + 1], 1) < 0 ?
			    PAL_ERR_NOMEM : 0;
	if (e == '\n')
		return 0;
	if (e >= '0' && e <= '7') {
		cp = e - '0';
		for (i = 0; i < 2 && cur_peek(c) >= '0' && cur_peek(c) <= '7';
		    i++) {
			if (pal_cur_u8(c, &d) != 0)
				break;
			cp = cp * 8 + (d - '0');
		}
		*spelled |= is_ident_char(cp);
		return pal_jinja_put_utf8(v, cp);
	}
	if (e == 'x')
		want = 2;
	else if (e == 'u')
		want = 4;
	else if (e == 'U')
		want = 8;
	if (want > 0) {
		for (i = 0; i < want; i++) {
			if (pal_cur_u8(c, &d) != 0 || (h = pal_hex_value(d)) < 0)
				return pal_jinja_synerr(J, base + c->off,
				    "truncated \\x, \\u or \\U escape");
			cp = cp * 16 + (uint32_t)h;
		}
		if (cp > 0x10ffff)
			return pal_jinja_synerr(J, base + c->off,
			    "escape beyond U+10FFFF");
		*spelled |= is_ident_char(cp);
		return pal_jinja_put_utf8(v, cp);
	}
	if (e == 'N') {
		const uint8_t *name;
		size_t start, n = 0;
		int ch;

		if (pal_cur_u8(c, &d) != 0 || d != '{')
			return pal_jinja_synerr(J, base + c->off,
			    "malformed \\N escape");
		start = c->off;
		while (pal_cur_u8(c, &d) == 0 && d != '}')
			n++;
		if (d != '}' || pal_cur_seek(c, start) != 0 ||
		    pal_cur_bytes(c, n, &name) != 0 || pal_cur_skip(c, 1) != 0)
			return pal_jinja_synerr(J, base + c->off,
			    "malformed \\N escape");
		*spelled = 1;
		if ((ch = uni_lookup(name, n)) < 0) {
			/* A character we cannot name: a hole in the value. */
			v->flags |= JF_PARTIAL;
			return pal_jinja_val_append(v, "\x01", 1) < 0 ?
			    PAL_ERR_NOMEM : 0;
		}
		return pal_jinja_put_utf8(v, (uint32_t)ch);
	}
	/* Python keeps an unknown escape as it is. */
	if (pal_jinja_val_append(v, "\\", 1) < 0 ||
	    pal_jinja_val_append(v, &e, 1) < 0)
		return PAL_ERR_NOMEM;
	return 0;
}

/*
 * Decodes the string literal tok into v (appending: adjacent literals
 * concatenate).  A literal that spells name characters with escapes is
 * reported and marked obfuscated.
 */
int
pal_jinja_decode_string(struct jctx *J, const struct jtok *tok, struct jval *v)
{
	struct pal_cur c = J->src;
	size_t body;
	uint8_t ch;
	int r, spelled = 0;

	/* The body: after the opening quote, before a closing one. */
	if (tok->len < 1)
		return PAL_ERR_FORMAT;
	body = tok->len >= 2 && src_at(J, tok->off + tok->len - 1) ==
	    src_at(J, tok->off) ? tok->len - 2 : tok->len - 1;
	if (pal_cur_seek(&c, tok->off + 1) != 0 ||
	    pal_cur_sub(&c, body, &c) != 0)
		return PAL_ERR_FORMAT;
	while (v->kind == JV_STR && pal_cur_u8(&c, &ch) == 0) {
		if (ch != '\\') {
			if (pal_jinja_val_append(v, &ch, 1) < 0)
				return PAL_ERR_NOMEM;
			continue;
		}
		r = decode_escape(J, &c, tok->off + 1, v, &spelled);
		if (r == PAL_ERR_FORMAT) {
			jv_unknown(v, v->flags);
			return 0;
		}
		if (r != 0)
			return r;
	}
	if (spelled) {
		v->flags |= JF_OBF;
		r = pal_jinja_find(J, "jinja.escaped-name", tok->off, NULL, 0,
		    "a string literal spells letters, digits or '_' with "
		    "escapes, which hides a name from a reader");
		if (r != 0)
			return r;
	}
	return 0;
}

/* Parses an integer token ("1_000", "0x1f"); 0 if it does not fit. */
int
pal_jinja_int_value(struct jctx *J, const struct jtok *t, int64_t *out)
{
	const uint8_t *s = src_bytes(J, t->off, t->len);
	uint64_t x = 0;
	size_t i = 0;
	unsigned radix = 10;
	int d;

	if (s == NULL)
		return 0;
	if (t->len > 2 && s[0] == '0' && (s[1] | 0x20) != '_' &&
	    !is_digit(s[1])) {
		radix = (s[1] | 0x20) == 'x' ? 16 : (s[1] | 0x20) == 'o' ? 8 : 2;
		i = 2;
	}
	for (; i < t->len; i++) {
		if (s[i] == '_')
			continue;
		if ((d = pal_hex_value(s[i])) < 0 || (unsigned)d >= radix)
			return 0;
		if (x > (UINT64_MAX - (uint64_t)d) / radix)
			return 0;
		x = x * radix + (uint64_t)d;
	}
	if (x > INT64_MAX)
		return 0;
	*out = (int64_t)x;
	return 1;
}
