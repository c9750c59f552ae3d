/*
 * jinja_lex.c - Jinja's lexer: where tags, comments and raw blocks begin
 * and end, and the tokens of one tag.
 *
 * The template is untrusted and read only through the context's bounded
 * cursor.  Delimiters inside brackets do not end a tag, as in Jinja;
 * whitespace control ("-", "+") is recorded on the tag.  A lexical error
 * is recorded as the template's syntax error and skipped over, so that
 * what follows is still checked; a tag holds at most JJ_MAX_TOKENS.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jinja_int.h"

static const struct {
	const char *text;
	int op;
} ops[] = {
	/* Two-character operators first: the longest match wins. */
	{ "//", OP_FLOORDIV }, { "**", OP_POW }, { "==", OP_EQ },
	{ "!=", OP_NE }, { ">=", OP_GE }, { "<=", OP_LE },
	{ "+", OP_ADD }, { "-", OP_SUB }, { "/", OP_DIV }, { "*", OP_MUL },
	{ "%", OP_MOD }, { "~", OP_TILDE }, { "[", OP_LBRACKET },
	{ "]", OP_RBRACKET }, { "(", OP_LPAREN }, { ")", OP_RPAREN },
	{ "{", OP_LBRACE }, { "}", OP_RBRACE }, { ">", OP_GT },
	{ "<", OP_LT }, { "=", OP_ASSIGN }, { ".", OP_DOT },
	{ ":", OP_COLON }, { "|", OP_PIPE }, { ",", OP_COMMA },
	{ ";", OP_SEMI },
};

static int
tag_push(struct jtag *tag, int type, int op, size_t off, size_t len)
{
	struct jtok *t;

	if (tag->n == tag->cap) {
		size_t ncap = tag->cap ? tag->cap * 2 : 64;

		if (tag->cap >= JJ_MAX_TOKENS)
			return PAL_ERR_LIMIT;
		if ((t = realloc(tag->t, ncap * sizeof(*t))) == NULL)
			return PAL_ERR_NOMEM;
		tag->t = t;
		tag->cap = ncap;
	}
	t = &tag->t[tag->n++];
	t->type = (uint8_t)type;
	t->op = (uint8_t)op;
	t->off = off;
	t->len = len;
	return 0;
}

/* Length of a string literal starting at off, quotes included. */
static size_t
lex_string(struct jctx *J, size_t off, int *closed)
{
	int q = src_at(J, off), c;
	size_t i = off + 1;

	*closed = 0;
	while ((c = src_at(J, i)) >= 0) {
		if (c == '\\') {
			i += src_at(J, i + 1) >= 0 ? 2 : 1;
			continue;
		}
		i++;
		if (c == q) {
			*closed = 1;
			break;
		}
	}
	return i - off;
}

/*
 * Length of a number at off.  After a dot only an integer is taken
 * ("x.0.1" is two item lookups), as Jinja's lexer does.
 */
static size_t
lex_number(struct jctx *J, size_t off, int after_dot, int *is_float)
{
	size_t i = off;
	int c;

	*is_float = 0;
	if (src_at(J, i) == '0' && !after_dot) {
		c = src_at(J, i + 1);
		if (c == 'b' || c == 'B' || c == 'o' || c == 'O' || c == 'x' ||
		    c == 'X') {
			i += 2;
			while ((c = src_at(J, i)) >= 0 &&
			    (is_name_char(c) && c < 0x80))
				i++;
			return i - off;
		}
	}
	while ((c = src_at(J, i)) >= 0 && (is_digit(c) || c == '_'))
		i++;
	if (after_dot)
		return i - off;
	if (src_at(J, i) == '.' && is_digit(src_at(J, i + 1))) {
		*is_float = 1;
		i++;
		while ((c = src_at(J, i)) >= 0 && (is_digit(c) || c == '_'))
			i++;
	}
	c = src_at(J, i);
	if ((c == 'e' || c == 'E') && (is_digit(src_at(J, i + 1)) ||
	    ((src_at(J, i + 1) == '+' || src_at(J, i + 1) == '-') &&
	    is_digit(src_at(J, i + 2))))) {
		*is_float = 1;
		i += 2;
		while ((c = src_at(J, i)) >= 0 && (is_digit(c) || c == '_'))
			i++;
	}
	return i - off;
}

/* Is there a closing delimiter at off?  Sets *len and *strip. */
static int
tag_close(struct jctx *J, const struct jtag *tag, size_t off, size_t *len,
    int *strip)
{
	const char *end = tag->block ? "%}" : "}}";
	int c = src_at(J, off);

	*strip = 0;
	if ((c == '-' || c == '+') && src_starts(J, off + 1, end)) {
		*strip = c == '-';
		*len = 3;
		return 1;
	}
	if (src_starts(J, off, end)) {
		*len = 2;
		return 1;
	}
	return 0;
}

static int
lex_op(struct jctx *J, size_t off, int *op, size_t *len)
{
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (src_starts(J, off, ops[i].text)) {
			*op = ops[i].op;
			*len = strlen(ops[i].text);
			return 1;
		}
	return 0;
}

/*
 * Tokenizes the tag whose opening delimiter is at tag->off.  Lexical
 * errors are recorded as syntax errors and skipped over, so that what
 * follows is still checked.  Returns 0 or a negative PAL_ERR_*.
 */
int
pal_jinja_lex_tag(struct jctx *J, struct jtag *tag)
{
	size_t i = tag->off + 2, n, depth = 0;
	int c, r, op, strip, is_float;

	c = src_at(J, i);
	if (c == '-' || c == '+') {
		tag->strip_left = c == '-';
		tag->no_lstrip = c == '+';
		i++;
	}
	for (;;) {
		while (is_space(c = src_at(J, i)))
			i++;
		if (c < 0) {
			tag->end = i;
			pal_jinja_synerr(J, tag->off, tag->block ?
			    "unexpected end of template: unclosed '{%'" :
			    "unexpected end of template: unclosed '{{'");
			return 0;
		}
		/* Delimiters end a tag only outside brackets, as in Jinja. */
		if (depth == 0 && tag_close(J, tag, i, &n, &strip)) {
			tag->strip_right = strip;
			tag->end = i + n;
			return 0;
		}
		r = 0;
		if (is_name_start(c)) {
			n = 0;
			while (is_name_char(src_at(J, i + n)))
				n++;
			r = tag_push(tag, JT_NAME, 0, i, n);
		} else if (c == '\'' || c == '"') {
			int closed;

			n = lex_string(J, i, &closed);
			if (!closed)
				pal_jinja_synerr(J, i, "unterminated string");
			r = tag_push(tag, JT_STRING, 0, i, n);
		} else if (is_digit(c)) {
			int after_dot = tag->n > 0 &&
			    tag->t[tag->n - 1].type == JT_OP &&
			    tag->t[tag->n - 1].op == OP_DOT;

			n = lex_number(J, i, after_dot, &is_float);
			r = tag_push(tag, is_float ? JT_FLOAT : JT_INT, 0,
			    i, n);
		} else if (lex_op(J, i, &op, &n)) {
			if (op == OP_LPAREN || op == OP_LBRACKET ||
			    op == OP_LBRACE)
				depth++;
			else if ((op == OP_RPAREN || op == OP_RBRACKET ||
			    op == OP_RBRACE) && depth > 0)
				depth--;
			else if (op == OP_RPAREN || op == OP_RBRACKET ||
			    op == OP_RBRACE)
				pal_jinja_synerr(J, i, "unbalanced bracket");
			r = tag_push(tag, JT_OP, op, i, n);
		} else {
			pal_jinja_synerr(J, i, "unexpected character");
			n = 1;
		}
		if (r == PAL_ERR_LIMIT)
			return pal_err_set(&J->s->err, PAL_ERR_LIMIT,
			    "%s: more than %d tokens in one tag", J->where,
			    JJ_MAX_TOKENS);
		if (r != 0)
			return r;
		i += n;
	}
}

/* Finds the next "{{", "{%" or "{#" at or after off. */
size_t
pal_jinja_next_tag(const struct jctx *J, size_t off)
{
	int c;

	for (;; off++) {
		if ((c = src_at(J, off)) < 0)
			return SIZE_MAX;
		if (c == '{') {
			c = src_at(J, off + 1);
			if (c == '{' || c == '%' || c == '#')
				return off;
		}
	}
}

/* Finds lit at or after off; SIZE_MAX if absent. */
size_t
pal_jinja_find_lit(const struct jctx *J, size_t off, const char *lit)
{
	for (; src_at(J, off) >= 0; off++)
		if (src_starts(J, off, lit))
			return off;
	return SIZE_MAX;
}

/* {% raw %}: "{%" [-+] ws "raw" ws [-+] "%}"; *len its length. */
int
pal_jinja_raw_tag(const struct jctx *J, size_t off, const char *word,
    size_t *len)
{
	size_t i = off + 2;
	int c;

	c = src_at(J, i);
	if (c == '-' || c == '+')
		i++;
	while (is_space(src_at(J, i)))
		i++;
	if (!src_starts(J, i, word) || is_name_char(src_at(J, i +
	    strlen(word))))
		return 0;
	i += strlen(word);
	while (is_space(src_at(J, i)))
		i++;
	c = src_at(J, i);
	if (c == '-' || c == '+')
		i++;
	if (!src_starts(J, i, "%}"))
		return 0;
	*len = i + 2 - off;
	return 1;
}

/* The end of a raw block's body: the next {% endraw %}. */
size_t
pal_jinja_find_endraw(const struct jctx *J, size_t off, size_t *len)
{
	for (;;) {
		off = pal_jinja_find_lit(J, off, "{%");
		if (off == SIZE_MAX || pal_jinja_raw_tag(J, off, "endraw", len))
			return off;
		off++;
	}
}
