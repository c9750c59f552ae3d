/*
 * jinja_int.h - what the files of the Jinja chat-template analyser share:
 * its limits, the values expressions fold to, the tokens of a tag, the
 * context of one template, and the functions that cross files.
 *
 * The template is untrusted.  Its bytes are read only through the
 * bounded cursor in struct jctx (src_bytes, src_at); every folded value
 * is a pal_buf with the JJ_MAX_STR ceiling.  See docs/formats/jinja.md.
 *
 * The files: jinja.c (entry points, the context, findings and syntax
 * errors), jinja_lex.c (delimiters, raw blocks and the tokens of a tag),
 * jinja_literal.c (string and integer literals), jinja_walk.c (the
 * template in order: data, comments, raw blocks, tags), jinja_stmt.c
 * (statements and blocks), jinja_expr.c (the expression grammar),
 * jinja_call.c (filters, methods and calls), jinja_fold.c (constant
 * folding of strings, lists and integers), jinja_value.c (values and the
 * variables that hold them), jinja_judge.c (which names are findings).
 */
#ifndef PAL_SCAN_JINJA_INT_H
#define PAL_SCAN_JINJA_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "palisade/buf.h"
#include "palisade/cursor.h"
#include "scan_int.h"

#define JJ_MAX_TEMPLATE ((size_t)1 << 20)	/* bytes in one template */
#define JJ_MAX_TOKENS 65536	/* tokens in one tag */
#define JJ_MAX_DEPTH 96		/* expression nesting */
#define JJ_MAX_BLOCKS 256	/* nesting of {% for %}, {% if %}, ... */
#define JJ_MAX_STR 4096		/* a folded constant string */
#define JJ_MAX_ITEMS 256	/* items of a folded constant list */
#define JJ_MAX_VARS 512		/* variables tracked through {% set %} */
#define JJ_MAX_VARNAME 128
#define JJ_MAX_SEEN 256		/* distinct findings remembered */
#define JJ_MAX_ARGS 8		/* call arguments kept for folding */
#define JJ_RANGE_MAX 100000	/* Jinja's sandbox refuses larger ranges */
#define JJ_REPEAT_MAX ((int64_t)1 << 20)

/* Marks an unknown piece inside a partly known string. */
#define JJ_HOLE '\x01'
/* Separates the items of a constant list kept as one buffer. */
#define JJ_SEP '\x02'

/* A tag to check token by token, though it is not a syntax error. */
#define JJ_FALLBACK 1

/* ------------------------------------------------------------------ */
/* Values: what an expression is known to evaluate to.                */

enum {
	JV_UNKNOWN = 0,
	JV_NONE,
	JV_BOOL,
	JV_INT,
	JV_STR,		/* text in b; JF_PARTIAL if it has holes */
	JV_LIST,	/* nitems items in b, separated by JJ_SEP */
};

#define JF_OBF 0x01u		/* spelled with escapes or built from pieces */
#define JF_BUILT 0x02u		/* produced by concatenation or a filter */
#define JF_PARTIAL 0x04u	/* a string with unknown pieces */
#define JF_OBJECT 0x08u		/* a function, generator or host object */
#define JF_REPR 0x10u		/* the printed form of an object */

struct jval {
	int kind;
	unsigned flags;
	int64_t num;
	size_t nitems;
	struct pal_buf b;
};

static inline void
jv_init(struct jval *v)
{
	v->kind = JV_UNKNOWN;
	v->flags = 0;
	v->num = 0;
	v->nitems = 0;
	pal_buf_init(&v->b, JJ_MAX_STR);
}

static inline void
jv_free(struct jval *v)
{
	pal_buf_free(&v->b);
	jv_init(v);
}

/* Forgets what v was but keeps the flags that say how it was made. */
static inline void
jv_unknown(struct jval *v, unsigned flags)
{
	jv_free(v);
	v->flags = flags & (JF_OBF | JF_BUILT | JF_OBJECT | JF_REPR);
}

static inline void
jv_move(struct jval *dst, struct jval *src)
{
	pal_buf_free(&dst->b);
	*dst = *src;
	jv_init(src);
}

static inline int
is_const(const struct jval *v)
{
	return v->kind != JV_UNKNOWN && !(v->flags & JF_PARTIAL);
}

/* The bytes of a string value (never NULL). */
static inline const uint8_t *
jv_bytes(const struct jval *v)
{
	return v->b.p != NULL ? v->b.p : (const uint8_t *)"";
}

static inline int
jv_set_int(struct jval *v, int64_t n)
{
	jv_free(v);
	v->kind = JV_INT;
	v->num = n;
	return 0;
}

/* All items of a list value at once (at most JJ_MAX_ITEMS). */
struct jitems {
	const uint8_t *p[JJ_MAX_ITEMS];
	size_t n[JJ_MAX_ITEMS];
	size_t count;
};

/* jinja_value.c */
int pal_jinja_val_append(struct jval *v, const void *p, size_t n);
int pal_jinja_val_set_str(struct jval *v, const void *p, size_t n,
    unsigned flags);
int pal_jinja_val_copy(struct jval *dst, const struct jval *src);
int pal_jinja_val_text(struct jval *out, const struct jval *v);
int pal_jinja_val_item(const struct jval *v, size_t i, const uint8_t **p,
    size_t *n);
int pal_jinja_val_items(const struct jval *v, struct jitems *out);
int pal_jinja_list_begin(struct jval *v);
int pal_jinja_list_add(struct jval *v, const void *p, size_t n);
int pal_jinja_put_utf8(struct jval *v, uint32_t cp);
int pal_jinja_truth(const struct jval *v);

/* ------------------------------------------------------------------ */
/* Tokens.                                                            */

enum {
	JT_END = 0,
	JT_NAME,
	JT_STRING,
	JT_INT,
	JT_FLOAT,
	JT_OP,
};

enum {
	OP_NONE = 0, OP_ADD, OP_SUB, OP_DIV, OP_FLOORDIV, OP_MUL, OP_POW,
	OP_MOD, OP_TILDE, OP_LBRACKET, OP_RBRACKET, OP_LPAREN, OP_RPAREN,
	OP_LBRACE, OP_RBRACE, OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE,
	OP_ASSIGN, OP_DOT, OP_COLON, OP_PIPE, OP_COMMA, OP_SEMI,
};

struct jtok {
	uint8_t type;
	uint8_t op;
	size_t off;	/* in the template */
	size_t len;
};

/* One tag's tokens. */
struct jtag {
	struct jtok *t;
	size_t n, cap;
	int block;		/* {% %} rather than {{ }} */
	size_t off;		/* of the opening delimiter */
	size_t end;		/* just past the closing delimiter */
	int strip_left;		/* {%- or {{- */
	int no_lstrip;		/* {%+ */
	int strip_right;	/* -%} or -}} */
};

/* ------------------------------------------------------------------ */
/* The analysis of one template.                                      */

struct jvar {
	char name[JJ_MAX_VARNAME];
	size_t namelen;
	int is_macro;
	struct jval v;
};

enum jblock_kind {
	JB_FOR = 1, JB_IF, JB_MACRO, JB_CALL, JB_FILTER, JB_SET, JB_WITH,
	JB_BLOCK, JB_AUTOESCAPE, JB_GENERATION,
};

struct jblock {
	int kind;
	size_t off;
	/* Captured body of {% set x %}...{% endset %} and of macros. */
	int capture, pure, is_macro;
	char target[JJ_MAX_VARNAME];
	struct pal_buf body;
};

struct jctx {
	struct pal_scan *s;
	const struct pal_scan_item *it;
	const char *where;
	struct pal_cur src;		/* the whole template */
	struct jvar *vars;
	size_t nvars;
	int vars_full;
	char **seen;
	size_t nseen;
	struct jblock *blocks;
	size_t nblocks;
	size_t lc_off, lc_line, lc_col;	/* where line_col last stopped */
	int syntax;			/* a syntax error was found */
	size_t syntax_off;
	char syntax_msg[160];
};

struct jp {
	struct jctx *J;
	const struct jtag *tag;
	size_t i;
	unsigned depth;
};

/* The bytes of the template from off, n long (NULL if out of range). */
static inline const uint8_t *
src_bytes(const struct jctx *J, size_t off, size_t n)
{
	struct pal_cur c = J->src;
	const uint8_t *p;

	if (pal_cur_seek(&c, off) != 0 || pal_cur_bytes(&c, n, &p) != 0)
		return NULL;
	return p;
}

/* The byte at off, or -1 past the end. */
static inline int
src_at(const struct jctx *J, size_t off)
{
	struct pal_cur c = J->src;
	uint8_t b;

	if (pal_cur_seek(&c, off) != 0 || pal_cur_u8(&c, &b) != 0)
		return -1;
	return b;
}

static inline int
src_starts(const struct jctx *J, size_t off, const char *lit)
{
	const uint8_t *p = src_bytes(J, off, strlen(lit));

	return p != NULL && memcmp(p, lit, strlen(lit)) == 0;
}

static inline int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

static inline int
is_name_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    c >= 0x80;
}

static inline int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int
is_name_char(int c)
{
	return is_name_start(c) || is_digit(c);
}

/* jinja.c: findings and syntax errors */
int pal_jinja_show(struct pal_buf *out, const uint8_t *s, size_t n);
int pal_jinja_find(struct jctx *J, const char *rule, size_t off,
    const uint8_t *key, size_t keylen, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
int pal_jinja_synerr(struct jctx *J, size_t off, const char *msg);

/* jinja_value.c: variables tracked through {% set %}, {% with %}, macros */
struct jvar *pal_jinja_var_find(struct jctx *J, const uint8_t *name,
    size_t n);
int pal_jinja_var_set(struct jctx *J, size_t off, const uint8_t *name,
    size_t n, const struct jval *v, int is_macro);
int pal_jinja_var_unknown(struct jctx *J, size_t off, const uint8_t *name,
    size_t n);

/* jinja_lex.c */
int pal_jinja_lex_tag(struct jctx *J, struct jtag *tag);
size_t pal_jinja_next_tag(const struct jctx *J, size_t off);
size_t pal_jinja_find_lit(const struct jctx *J, size_t off, const char *lit);
int pal_jinja_raw_tag(const struct jctx *J, size_t off, const char *word,
    size_t *len);
size_t pal_jinja_find_endraw(const struct jctx *J, size_t off, size_t *len);

/* jinja_literal.c */
int pal_jinja_decode_string(struct jctx *J, const struct jtok *tok,
    struct jval *v);
int pal_jinja_int_value(struct jctx *J, const struct jtok *t, int64_t *out);

/* jinja_walk.c */
int pal_jinja_walk(struct jctx *J);

/* ------------------------------------------------------------------ */
/* Judging names.                                                     */

enum jclass {
	JC_NONE = 0,
	JC_ESCAPE,	/* a sandbox-escape step */
	JC_DUNDER,	/* another dunder attribute */
	JC_EXEC,	/* a command or code runner */
	JC_CALL,	/* a runner when called */
};

enum jctx_kind {
	CTX_ATTR,	/* x.name */
	CTX_ITEM,	/* x['name'] */
	CTX_ATTRF,	/* x|attr('name'), |map(attribute='name') */
	CTX_GLOBAL,	/* a bare name */
	CTX_KWARG,	/* f(name=...) */
	CTX_STRING,	/* a constant string anywhere */
	CTX_FORMAT,	/* a str.format replacement field */
};

/* jinja_judge.c */
int pal_jinja_in_list(const char *const *list, const uint8_t *s, size_t n);
enum jclass pal_jinja_classify(const uint8_t *s, size_t n);
int pal_jinja_is_host(const uint8_t *s, size_t n);
int pal_jinja_check_name(struct jctx *J, size_t off, const struct jval *v,
    enum jctx_kind ctx, int called);
int pal_jinja_check_bytes(struct jctx *J, size_t off, const uint8_t *s,
    size_t n, enum jctx_kind ctx, int called);
int pal_jinja_check_host(struct jctx *J, size_t off, const uint8_t *s,
    size_t n);
int pal_jinja_computed(struct jctx *J, size_t off, const struct jval *v,
    const char *how);
int pal_jinja_check_attr(struct jp *p, size_t off, const struct jval *name,
    int called);
int pal_jinja_check_format(struct jctx *J, size_t off,
    const struct jval *fmt);
int pal_jinja_check_tokens(struct jctx *J, const struct jtag *tag);

/* ------------------------------------------------------------------ */
/* The parser: Jinja's grammar, evaluating constants.                 */

/* The token past the last of a tag. */
extern const struct jtok pal_jinja_end_tok;

static inline const struct jtok *
cur(const struct jp *p)
{
	return p->i < p->tag->n ? &p->tag->t[p->i] : &pal_jinja_end_tok;
}

static inline const struct jtok *
peek_tok(const struct jp *p, size_t k)
{
	return p->i + k < p->tag->n ? &p->tag->t[p->i + k] : &pal_jinja_end_tok;
}

static inline size_t
cur_off(const struct jp *p)
{
	return p->i < p->tag->n ? p->tag->t[p->i].off : p->tag->end;
}

static inline int
is_op(const struct jp *p, int op)
{
	const struct jtok *t = cur(p);

	return t->type == JT_OP && t->op == op;
}

/* jinja_expr.c */
int pal_jinja_tok_is(const struct jctx *J, const struct jtok *t,
    const char *word);
int pal_jinja_is_name(const struct jp *p, const char *word);
int pal_jinja_expect(struct jp *p, int op, const char *what);
int pal_jinja_enter(struct jp *p);
int pal_jinja_parse_expr(struct jp *p, struct jval *out, int with_cond);
int pal_jinja_parse_tuple(struct jp *p, struct jval *out, int with_cond,
    const char *stop, int explicit);
int pal_jinja_tuple_end(const struct jp *p, const char *stop);
int pal_jinja_parse_filter(struct jp *p, struct jval *v);
int pal_jinja_parse_filters(struct jp *p, struct jval *v);

/* jinja_stmt.c */
int pal_jinja_statement(struct jp *p);

/* Call arguments, evaluated; kwarg names are judged as names. */
struct jargs {
	struct jval pos[JJ_MAX_ARGS];
	size_t npos;			/* positional arguments seen */
	struct jval kw[JJ_MAX_ARGS];
	size_t kwoff[JJ_MAX_ARGS];
	const struct jtok *kwname[JJ_MAX_ARGS];
	size_t nkw;
	int star;			/* *args or **kwargs */
};

/* jinja_call.c */
void pal_jinja_args_init(struct jargs *a);
void pal_jinja_args_free(struct jargs *a);
int pal_jinja_apply_method(struct jp *p, struct jval *v, const uint8_t *name,
    size_t n, const struct jargs *a, size_t off);
int pal_jinja_apply_filter(struct jp *p, struct jval *v, const uint8_t *name,
    size_t n, struct jargs *a, size_t off);
int pal_jinja_apply_call(struct jp *p, struct jval *v,
    const struct jtok *callee, const struct jargs *a);

/* jinja_fold.c */
void pal_jinja_ascii_case(struct jval *v, int upper);
int pal_jinja_reverse(struct jval *v);
int pal_jinja_strip(struct jval *v, int left, int right,
    const struct jval *chars);
int pal_jinja_replace(struct jval *v, const struct jval *from,
    const struct jval *to, int64_t count);
int pal_jinja_join(struct jval *v, const struct jval *list,
    const struct jval *sep);
int pal_jinja_chars(struct jval *v);
int pal_jinja_split(struct jval *v, const struct jval *sep);
int pal_jinja_printf(struct jval *v, const struct jval *args, size_t nargs);
int pal_jinja_format(struct jval *v, const struct jargs *a);
int pal_jinja_index(struct jval *v, int64_t ix);
int pal_jinja_slice(struct jval *v, const struct jval parts[3],
    const int given[3]);
int pal_jinja_concat(struct jval *a, const struct jval *b);
int pal_jinja_binop(struct jp *p, size_t off, int op, struct jval *a,
    struct jval *b);

#endif
