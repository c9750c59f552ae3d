/*
 * jinja.c - finds what escapes the template sandbox in a Jinja template.
 *
 * Chat templates (tokenizer_config.json, chat_template.json, GGUF's
 * tokenizer.chat_template) are Jinja programs that a model's users render
 * on their own machines.  transformers renders them in an immutable
 * sandbox; other servers have rendered them in a plain Environment
 * (llama-cpp-python, CVE-2024-34359), where reaching __globals__ or
 * __builtins__ from any object runs commands.
 *
 * The template is untrusted.  It is tokenized as Jinja does (data, {{ }},
 * {% %}, {# #}, whitespace control, raw blocks, string literals with
 * Python's escapes) and every expression is parsed with Jinja's grammar.
 * Expressions are evaluated as far as their inputs are constants, so that
 * a name spelled '\x5f\x5fglobals\x5f\x5f', built with ~, |join, |format,
 * |replace or |reverse, or kept in a {% set %} variable, is judged by what
 * it evaluates to.  Attribute names, item keys, |attr arguments, bare
 * global names and constant strings are then checked against the names
 * the known escapes go through.  Nothing is ever rendered.
 *
 * A template Jinja would refuse (a syntax error) ends in an error once the
 * rest has been checked token by token; findings come first.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/buf.h"
#include "palisade/cursor.h"
#include "palisade/text.h"
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
/* Values: what an expression is known to evaluate to.                 */

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

static void
jv_init(struct jval *v)
{
	v->kind = JV_UNKNOWN;
	v->flags = 0;
	v->num = 0;
	v->nitems = 0;
	pal_buf_init(&v->b, JJ_MAX_STR);
}

static void
jv_free(struct jval *v)
{
	pal_buf_free(&v->b);
	jv_init(v);
}

/* Forgets what v was but keeps the flags that say how it was made. */
static void
jv_unknown(struct jval *v, unsigned flags)
{
	jv_free(v);
	v->flags = flags & (JF_OBF | JF_BUILT | JF_OBJECT | JF_REPR);
}

static void
jv_move(struct jval *dst, struct jval *src)
{
	pal_buf_free(&dst->b);
	*dst = *src;
	jv_init(src);
}

/*
 * Appends to v's buffer.  A constant that outgrows JJ_MAX_STR is no
 * longer followed: it becomes unknown.  Only NOMEM is an error.
 */
static int
jv_append(struct jval *v, const void *p, size_t n)
{
	int r = pal_buf_append(&v->b, p, n);

	if (r == PAL_ERR_LIMIT) {
		jv_unknown(v, v->flags);
		return 1;
	}
	return r;
}

static int
jv_set_str(struct jval *v, const void *p, size_t n, unsigned flags)
{
	int r;

	jv_free(v);
	v->kind = JV_STR;
	v->flags = flags;
	if ((r = jv_append(v, p, n)) < 0)
		return r;
	if (v->kind == JV_STR && v->b.p == NULL && (r = jv_append(v, "", 0)) < 0)
		return r;
	return 0;
}

static int
jv_copy(struct jval *dst, const struct jval *src)
{
	jv_free(dst);
	dst->kind = src->kind;
	dst->flags = src->flags;
	dst->num = src->num;
	dst->nitems = src->nitems;
	if (src->kind == JV_STR || src->kind == JV_LIST)
		return jv_append(dst, src->b.p != NULL ? src->b.p : (uint8_t *)"",
		    src->b.len) < 0 ? PAL_ERR_NOMEM : 0;
	return 0;
}

static int
is_const(const struct jval *v)
{
	return v->kind != JV_UNKNOWN && !(v->flags & JF_PARTIAL);
}

/* The bytes of a string value (never NULL). */
static const uint8_t *
jv_bytes(const struct jval *v)
{
	return v->b.p != NULL ? v->b.p : (const uint8_t *)"";
}

/*
 * Appends the text str() gives for v; what is not known becomes a hole.
 * Returns 1 if a hole was added, 0 if text was, or PAL_ERR_NOMEM.
 */
static int
jv_append_text(struct jval *out, const struct jval *v)
{
	char num[32];
	int r;

	switch (v->kind) {
	case JV_STR:
		r = jv_append(out, jv_bytes(v), v->b.len);
		return r < 0 ? r : (v->flags & JF_PARTIAL) ? 1 : 0;
	case JV_INT:
		snprintf(num, sizeof(num), "%lld", (long long)v->num);
		r = jv_append(out, num, strlen(num));
		return r < 0 ? r : 0;
	case JV_BOOL:
		r = jv_append(out, v->num ? "True" : "False", v->num ? 4 : 5);
		return r < 0 ? r : 0;
	case JV_NONE:
		r = jv_append(out, "None", 4);
		return r < 0 ? r : 0;
	default:
		/* Consecutive holes say no more than one. */
		if (out->b.len > 0 && out->b.p[out->b.len - 1] == JJ_HOLE)
			return 1;
		r = jv_append(out, "\x01", 1);
		return r < 0 ? r : 1;
	}
}

/* Item i of a list value, as a pointer into its (own) buffer. */
static int
jv_item(const struct jval *v, size_t i, const uint8_t **p, size_t *n)
{
	const uint8_t *at = jv_bytes(v), *end = at + v->b.len, *sep;
	size_t k;

	if (v->kind != JV_LIST || i >= v->nitems)
		return -1;
	for (k = 0; k < i; k++) {
		if ((sep = memchr(at, JJ_SEP, (size_t)(end - at))) == NULL)
			return -1;
		at = sep + 1;
	}
	sep = memchr(at, JJ_SEP, (size_t)(end - at));
	*p = at;
	*n = (size_t)((sep != NULL ? sep : end) - at);
	return 0;
}

/* All items of a list value at once (at most JJ_MAX_ITEMS). */
struct jitems {
	const uint8_t *p[JJ_MAX_ITEMS];
	size_t n[JJ_MAX_ITEMS];
	size_t count;
};

static int
jv_items(const struct jval *v, struct jitems *out)
{
	const uint8_t *at = jv_bytes(v), *end = at + v->b.len, *sep;
	size_t i;

	out->count = 0;
	if (v->kind != JV_LIST || v->nitems > JJ_MAX_ITEMS)
		return -1;
	for (i = 0; i < v->nitems; i++) {
		sep = memchr(at, JJ_SEP, (size_t)(end - at));
		out->p[i] = at;
		out->n[i] = (size_t)((sep != NULL ? sep : end) - at);
		if (sep == NULL && i + 1 < v->nitems)
			return -1;
		at = sep != NULL ? sep + 1 : end;
	}
	out->count = v->nitems;
	return 0;
}

static int
jv_list_begin(struct jval *v)
{
	jv_free(v);
	v->kind = JV_LIST;
	return jv_append(v, "", 0) < 0 ? PAL_ERR_NOMEM : 0;
}

static int
jv_list_add(struct jval *v, const void *p, size_t n)
{
	int r;

	if (v->kind != JV_LIST)
		return 0;
	if (v->nitems >= JJ_MAX_ITEMS || memchr(p, JJ_SEP, n) != NULL) {
		jv_unknown(v, v->flags);
		return 0;
	}
	if (v->nitems > 0 && (r = jv_append(v, "\x02", 1)) != 0)
		return r < 0 ? r : 0;
	if ((r = jv_append(v, p, n)) < 0)
		return r;
	if (v->kind == JV_LIST)
		v->nitems++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The names the known escapes go through.                              */

/* Steps of the sandbox escapes: from any object to modules and frames. */
static const char *const escape_names[] = {
	"__globals__", "__builtins__", "__import__", "__subclasses__",
	"__mro__", "__base__", "__bases__", "__init__", "__class__",
	"__dict__", "__code__", "__closure__", "__func__", "__self__",
	"__getattribute__", "__getattr__", "__reduce__", "__reduce_ex__",
	"__loader__", "__spec__", "__new__", "__subclasshook__",
	"__init_subclass__", "__builtin__", "__module__", "__wrapped__",
	"_TemplateReference__context", "mro", "func_globals", "func_code",
	"f_globals", "f_locals", "f_builtins", "f_back", "f_code",
	"gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "tb_frame",
	"tb_next", "co_code", "im_func", "im_self", NULL,
};

/* Modules and functions that run commands or code. */
static const char *const exec_names[] = {
	"os", "posix", "nt", "sys", "subprocess", "popen", "popen2",
	"popen3", "Popen", "eval", "exec", "execfile", "import",
	"importlib", "import_module", "builtins", "getattr", "setattr",
	"delattr", "check_output", "check_call", "getoutput",
	"getstatusoutput", "spawnl", "spawnle", "spawnlp", "spawnv",
	"spawnve", "spawnvp", "execl", "execle", "execlp", "execv", "execve",
	"execvp", "ctypes", "pty", "load_module", "commands", "platform",
	NULL,
};

/* Names that are ordinary words until they are called. */
static const char *const call_names[] = {
	"system", "open", "compile", "globals", "locals", "vars", "fork",
	"spawn", "breakpoint", "read_text", "write_text", NULL,
};

/*
 * Objects a host may expose and the Jinja globals whose functions lead
 * to __globals__: referring to one in a chat template is unusual.
 */
static const char *const host_names[] = {
	"lipsum", "cycler", "joiner", "self", "request", "config",
	"url_for", "get_flashed_messages", "environment", "context",
	NULL,
};

/* Statement keywords and operators that lex as names. */
static const char *const keywords[] = {
	"and", "or", "not", "in", "is", "if", "else", "true", "false",
	"none", "True", "False", "None", "recursive", "with", "without",
	"context", "ignore", "missing", "as", "import", "scoped", "required",
	NULL,
};

enum jclass {
	JC_NONE = 0,
	JC_ESCAPE,	/* a sandbox-escape step */
	JC_DUNDER,	/* another dunder attribute */
	JC_EXEC,	/* a command or code runner */
	JC_CALL,	/* a runner when called */
};

static int
in_list(const char *const *list, const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strlen(list[i]) == n && memcmp(list[i], s, n) == 0)
			return 1;
	return 0;
}

static enum jclass
classify(const uint8_t *s, size_t n)
{
	if (in_list(escape_names, s, n))
		return JC_ESCAPE;
	if (n > 4 && memcmp(s, "__", 2) == 0 && memcmp(s + n - 2, "__", 2) == 0)
		return JC_DUNDER;
	if (in_list(exec_names, s, n))
		return JC_EXEC;
	if (in_list(call_names, s, n))
		return JC_CALL;
	return JC_NONE;
}

/* Does pattern pat (JJ_HOLE matches any run of bytes) match name? */
static int
glob_match(const uint8_t *pat, size_t pn, const char *name)
{
	size_t nn = strlen(name), pi = 0, ni = 0, star_p = SIZE_MAX, star_n = 0;

	while (ni < nn) {
		if (pi < pn && pat[pi] == (uint8_t)JJ_HOLE) {
			star_p = pi++;
			star_n = ni;
		} else if (pi < pn && pat[pi] == (uint8_t)name[ni]) {
			pi++;
			ni++;
		} else if (star_p != SIZE_MAX) {
			pi = star_p + 1;
			ni = ++star_n;
		} else {
			return 0;
		}
	}
	while (pi < pn && pat[pi] == (uint8_t)JJ_HOLE)
		pi++;
	return pi == pn;
}

/*
 * Classifies a partly known name.  Only a pattern with enough known
 * letters counts, or every hole would match everything.
 */
static enum jclass
classify_partial(const uint8_t *pat, size_t n, const char **matched)
{
	static const char *const *const lists[] = { escape_names, exec_names };
	static const enum jclass classes[] = { JC_ESCAPE, JC_EXEC };
	size_t i, k, known = 0;

	for (i = 0; i < n; i++)
		if (pat[i] != (uint8_t)JJ_HOLE && pat[i] != '_')
			known++;
	if (known < 3)
		return JC_NONE;
	enum jclass cl = JC_NONE;
	size_t score, best = SIZE_MAX;

	/*
	 * Of the names that fit, a dunder (what escapes go through) and
	 * then the shortest says the least beyond the pattern.
	 */
	for (k = 0; k < 2; k++)
		for (i = 0; lists[k][i] != NULL; i++) {
			score = strlen(lists[k][i]) +
			    (lists[k][i][0] == '_' ? 0 : 100);
			if (strlen(lists[k][i]) > 3 && score < best &&
			    glob_match(pat, n, lists[k][i])) {
				*matched = lists[k][i];
				cl = classes[k];
				best = score;
			}
		}
	return cl;
}

/* ------------------------------------------------------------------ */
/* Tokens.                                                              */

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
/* The analysis of one template.                                        */

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
static const uint8_t *
src_bytes(const struct jctx *J, size_t off, size_t n)
{
	struct pal_cur c = J->src;
	const uint8_t *p;

	if (pal_cur_seek(&c, off) != 0 || pal_cur_bytes(&c, n, &p) != 0)
		return NULL;
	return p;
}

/* The byte at off, or -1 past the end. */
static int
src_at(const struct jctx *J, size_t off)
{
	struct pal_cur c = J->src;
	uint8_t b;

	if (pal_cur_seek(&c, off) != 0 || pal_cur_u8(&c, &b) != 0)
		return -1;
	return b;
}

static int
src_starts(const struct jctx *J, size_t off, const char *lit)
{
	const uint8_t *p = src_bytes(J, off, strlen(lit));

	return p != NULL && memcmp(p, lit, strlen(lit)) == 0;
}

/*
 * Line and column of off.  Findings come mostly in order, so the count
 * goes on from where it last stopped.
 */
static void
line_col(struct jctx *J, size_t off, size_t *line, size_t *col)
{
	struct pal_cur c = J->src;
	uint8_t b;
	size_t i = 0;

	*line = 1;
	*col = 1;
	if (J->lc_line > 0 && off >= J->lc_off &&
	    pal_cur_seek(&c, J->lc_off) == 0) {
		i = J->lc_off;
		*line = J->lc_line;
		*col = J->lc_col;
	}
	for (; i < off && pal_cur_u8(&c, &b) == 0; i++) {
		if (b == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
	J->lc_off = i;
	J->lc_line = *line;
	J->lc_col = *col;
}

/* Appends s[0..n) escaped for a report, cut after 80 bytes. */
static int
show(struct pal_buf *out, const uint8_t *s, size_t n)
{
	size_t i, start = 0;
	int r = 0;

	if (n > 80)
		n = 80;
	for (i = 0; r == 0 && i <= n; i++) {
		if (i < n && s[i] != (uint8_t)JJ_HOLE &&
		    s[i] != (uint8_t)JJ_SEP)
			continue;
		r = pal_text_escape(out, (const char *)s + start, i - start);
		if (r == 0 && i < n)
			r = pal_buf_puts(out, s[i] == (uint8_t)JJ_HOLE ? "<?>" : ",");
		start = i + 1;
	}
	return r;
}

/*
 * Reports a finding once per rule and key in this template, at the
 * line and column of off.
 */
static int
jfind(struct jctx *J, const char *rule, size_t off, const uint8_t *key,
    size_t keylen, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int
jfind(struct jctx *J, const char *rule, size_t off, const uint8_t *key,
    size_t keylen, const char *fmt, ...)
{
	char loc[PAL_ERR_MSG_MAX], msg[PAL_ERR_MSG_MAX];
	struct pal_buf id;
	size_t line, col, i;
	va_list ap;
	int r;

	/* Room for the rule and 80 key bytes escaped as \xNN each. */
	pal_buf_init(&id, 512);
	if (pal_buf_puts(&id, rule) != 0 || pal_buf_putc(&id, ':') != 0 ||
	    (keylen > 0 && show(&id, key, keylen) != 0)) {
		pal_buf_free(&id);
		return PAL_ERR_NOMEM;
	}
	for (i = 0; id.p != NULL && i < J->nseen; i++)
		if (strcmp(J->seen[i], (char *)id.p) == 0) {
			pal_buf_free(&id);
			return 0;
		}
	/* So many distinct findings say enough; the rest are dropped. */
	if (J->nseen >= JJ_MAX_SEEN || id.p == NULL) {
		pal_buf_free(&id);
		return 0;
	}
	J->seen[J->nseen++] = (char *)pal_buf_steal(&id, &i);
	line_col(J, off, &line, &col);
	snprintf(loc, sizeof(loc), "%s line %zu, column %zu", J->where, line,
	    col);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r = pal_scan_find(J->s, J->it, rule, loc, "%s", msg);
	return r;
}

/* Records the first syntax error; the caller goes on token by token. */
static int
synerr(struct jctx *J, size_t off, const char *msg)
{
	if (!J->syntax) {
		J->syntax = 1;
		J->syntax_off = off;
		snprintf(J->syntax_msg, sizeof(J->syntax_msg), "%s", msg);
	}
	return PAL_ERR_FORMAT;
}

/* ------------------------------------------------------------------ */
/* Judging names.                                                       */

enum jctx_kind {
	CTX_ATTR,	/* x.name */
	CTX_ITEM,	/* x['name'] */
	CTX_ATTRF,	/* x|attr('name'), |map(attribute='name') */
	CTX_GLOBAL,	/* a bare name */
	CTX_KWARG,	/* f(name=...) */
	CTX_STRING,	/* a constant string anywhere */
	CTX_FORMAT,	/* a str.format replacement field */
};

static const char *const ctx_words[] = {
	[CTX_ATTR] = "attribute", [CTX_ITEM] = "item",
	[CTX_ATTRF] = "attr filter name", [CTX_GLOBAL] = "name",
	[CTX_KWARG] = "keyword argument", [CTX_STRING] = "string",
	[CTX_FORMAT] = "format field",
};

static int
report_class(struct jctx *J, enum jclass cl, enum jctx_kind ctx, size_t off,
    const uint8_t *name, size_t n, unsigned flags)
{
	struct pal_buf nb;
	const char *how = (flags & JF_OBF) ?
	    " (spelled with escapes or built from pieces)" : "";
	int r = 0;

	pal_buf_init(&nb, 512);
	if (show(&nb, name, n) == PAL_ERR_NOMEM)
		return PAL_ERR_NOMEM;
	switch (cl) {
	case JC_ESCAPE:
		r = jfind(J, "jinja.sandbox-escape", off, name, n,
		    "%s '%s'%s is a step of the known template sandbox "
		    "escapes (from any object to Python's globals, builtins "
		    "and os)", ctx_words[ctx], nb.p ? (char *)nb.p : "", how);
		break;
	case JC_DUNDER:
		r = jfind(J, "jinja.dunder", off, name, n,
		    "%s '%s'%s reaches a Python dunder attribute, which a "
		    "chat template has no use for", ctx_words[ctx],
		    nb.p ? (char *)nb.p : "", how);
		break;
	case JC_EXEC:
	case JC_CALL:
		r = jfind(J, "jinja.os-access", off, name, n,
		    "%s '%s'%s names a way to run commands or code",
		    ctx_words[ctx], nb.p ? (char *)nb.p : "", how);
		break;
	default:
		break;
	}
	pal_buf_free(&nb);
	return r;
}

/*
 * Judges a name that is used (or, for CTX_STRING, merely computed) in
 * context ctx.  called says it is called right away, which is what
 * turns words like 'system' into a finding.
 */
static int
check_name(struct jctx *J, size_t off, const struct jval *v,
    enum jctx_kind ctx, int called)
{
	const uint8_t *s = jv_bytes(v);
	const char *matched = NULL;
	enum jclass cl;

	if (v->kind != JV_STR)
		return 0;
	if (v->flags & JF_PARTIAL) {
		if (ctx == CTX_STRING || ctx == CTX_GLOBAL)
			return 0;
		cl = classify_partial(s, v->b.len, &matched);
		if (cl == JC_NONE)
			return 0;
		return report_class(J, cl, ctx, off, (const uint8_t *)matched,
		    strlen(matched), v->flags | JF_OBF);
	}
	cl = classify(s, v->b.len);
	/* A plain string that merely says 'os' is prose; 'system' is a
	 * word until it is called. */
	if (ctx == CTX_STRING && cl == JC_EXEC && !(v->flags & JF_OBF))
		return 0;
	if (cl == JC_CALL && (!called || ctx == CTX_STRING))
		return 0;
	return report_class(J, cl, ctx, off, s, v->b.len, v->flags);
}

static int
check_name_bytes(struct jctx *J, size_t off, const uint8_t *s, size_t n,
    enum jctx_kind ctx, int called)
{
	struct jval v;
	int r;

	jv_init(&v);
	if ((r = jv_set_str(&v, s, n, 0)) == 0)
		r = check_name(J, off, &v, ctx, called);
	jv_free(&v);
	return r;
}

/* Flags a reference to a host object or a Jinja global with a door. */
static int
check_host(struct jctx *J, size_t off, const uint8_t *s, size_t n)
{
	struct pal_buf nb;
	int r;

	if (!in_list(host_names, s, n))
		return 0;
	pal_buf_init(&nb, 512);
	if ((r = show(&nb, s, n)) == 0)
		r = jfind(J, "jinja.unusual", off, s, n,
		    "refers to '%s', an object whose functions lead to "
		    "Python's globals; chat templates do not use it",
		    (char *)nb.p);
	pal_buf_free(&nb);
	return r == PAL_ERR_LIMIT ? 0 : r;
}

/* ------------------------------------------------------------------ */
/* The lexer.                                                           */

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

static int
is_name_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    c >= 0x80;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_name_char(int c)
{
	return is_name_start(c) || is_digit(c);
}

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
static int
lex_tag(struct jctx *J, struct jtag *tag)
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
			synerr(J, tag->off, tag->block ?
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
				synerr(J, i, "unterminated string");
			r = tag_push(tag, JT_STRING, 0, i, n);
		} else if (is_digit(c)) {
			int after_dot = tag->n > 0 &&
			    tag->t[tag->n - 1].type == JT_OP &&
			    tag->t[tag->n - 1].op == OP_DOT;

			n = lex_number(J, i, after_dot, &is_float);
			r = tag_push(tag, is_float ? JT_FLOAT : JT_INT, 0, i, n);
		} else if (lex_op(J, i, &op, &n)) {
			if (op == OP_LPAREN || op == OP_LBRACKET ||
			    op == OP_LBRACE)
				depth++;
			else if ((op == OP_RPAREN || op == OP_RBRACKET ||
			    op == OP_RBRACE) && depth > 0)
				depth--;
			else if (op == OP_RPAREN || op == OP_RBRACKET ||
			    op == OP_RBRACE)
				synerr(J, i, "unbalanced bracket");
			r = tag_push(tag, JT_OP, op, i, n);
		} else {
			synerr(J, i, "unexpected character");
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

/* ------------------------------------------------------------------ */
/* String literals: Python's escapes, as Jinja decodes them.            */

/* The next byte without consuming it, or -1. */
static int
cur_peek(const struct pal_cur *c)
{
	struct pal_cur t = *c;
	uint8_t b;

	return pal_cur_u8(&t, &b) == 0 ? b : -1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
put_utf8(struct jval *v, uint32_t cp)
{
	uint8_t b[4];
	size_t n;

	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = '?';	/* a lone surrogate names nothing */
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | (cp >> 6));
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | (cp >> 12));
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | (cp >> 18));
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return jv_append(v, b, n) < 0 ? PAL_ERR_NOMEM : 0;
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
		return jv_append(v, "\\", 1) < 0 ? PAL_ERR_NOMEM : 0;
	for (i = 0; simple[i] != '\0'; i += 2)
		if ((uint8_t)simple[i] == e)
			return jv_append(v, &simple[i + 1], 1) < 0 ?
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
		return put_utf8(v, cp);
	}
	if (e == 'x')
		want = 2;
	else if (e == 'u')
		want = 4;
	else if (e == 'U')
		want = 8;
	if (want > 0) {
		for (i = 0; i < want; i++) {
			if (pal_cur_u8(c, &d) != 0 || (h = hexval(d)) < 0)
				return synerr(J, base + c->off,
				    "truncated \\x, \\u or \\U escape");
			cp = cp * 16 + (uint32_t)h;
		}
		if (cp > 0x10ffff)
			return synerr(J, base + c->off,
			    "escape beyond U+10FFFF");
		*spelled |= is_ident_char(cp);
		return put_utf8(v, cp);
	}
	if (e == 'N') {
		const uint8_t *name;
		size_t start, n = 0;
		int ch;

		if (pal_cur_u8(c, &d) != 0 || d != '{')
			return synerr(J, base + c->off, "malformed \\N escape");
		start = c->off;
		while (pal_cur_u8(c, &d) == 0 && d != '}')
			n++;
		if (d != '}' || pal_cur_seek(c, start) != 0 ||
		    pal_cur_bytes(c, n, &name) != 0 || pal_cur_skip(c, 1) != 0)
			return synerr(J, base + c->off, "malformed \\N escape");
		*spelled = 1;
		if ((ch = uni_lookup(name, n)) < 0) {
			/* A character we cannot name: a hole in the value. */
			v->flags |= JF_PARTIAL;
			return jv_append(v, "\x01", 1) < 0 ? PAL_ERR_NOMEM : 0;
		}
		return put_utf8(v, (uint32_t)ch);
	}
	/* Python keeps an unknown escape as it is. */
	if (jv_append(v, "\\", 1) < 0 || jv_append(v, &e, 1) < 0)
		return PAL_ERR_NOMEM;
	return 0;
}

/*
 * Decodes the string literal tok into v (appending: adjacent literals
 * concatenate).  A literal that spells name characters with escapes is
 * reported and marked obfuscated.
 */
static int
decode_string(struct jctx *J, const struct jtok *tok, struct jval *v)
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
			if (jv_append(v, &ch, 1) < 0)
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
		r = jfind(J, "jinja.escaped-name", tok->off, NULL, 0,
		    "a string literal spells letters, digits or '_' with "
		    "escapes, which hides a name from a reader");
		if (r != 0)
			return r;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Variables tracked through {% set %}, {% with %} and macros.          */

static struct jvar *
var_find(struct jctx *J, const uint8_t *name, size_t n)
{
	size_t i;

	if (n == 0 || n >= JJ_MAX_VARNAME)
		return NULL;
	for (i = 0; i < J->nvars; i++)
		if (J->vars[i].namelen == n && J->vars[i].name[0] == name[0] &&
		    memcmp(J->vars[i].name, name, n) == 0)
			return &J->vars[i];
	return NULL;
}

/*
 * Binds name to v (a copy).  Unknown values are bound too: a name the
 * template assigns is its own variable, not a host's global.
 */
static int
var_set(struct jctx *J, size_t off, const uint8_t *name, size_t n,
    const struct jval *v, int is_macro)
{
	struct jvar *var = var_find(J, name, n);

	if (var == NULL) {
		if (n >= JJ_MAX_VARNAME)
			return 0;
		if (J->nvars >= JJ_MAX_VARS) {
			if (J->vars_full++)
				return 0;
			return jfind(J, "jinja.unusual", off, NULL, 0,
			    "more than %d variables are assigned; names "
			    "built in later ones are not followed",
			    JJ_MAX_VARS);
		}
		var = &J->vars[J->nvars++];
		memcpy(var->name, name, n);
		var->name[n] = '\0';
		var->namelen = n;
		jv_init(&var->v);
	}
	var->is_macro = is_macro;
	return jv_copy(&var->v, v);
}

static int
var_set_unknown(struct jctx *J, size_t off, const uint8_t *name, size_t n)
{
	struct jval u;

	jv_init(&u);
	return var_set(J, off, name, n, &u, 0);
}

/* ------------------------------------------------------------------ */
/* The parser: Jinja's expression grammar, evaluating constants.       */

static const struct jtok end_tok = { JT_END, 0, 0, 0 };

static const struct jtok *
cur(const struct jp *p)
{
	return p->i < p->tag->n ? &p->tag->t[p->i] : &end_tok;
}

static const struct jtok *
peek_tok(const struct jp *p, size_t k)
{
	return p->i + k < p->tag->n ? &p->tag->t[p->i + k] : &end_tok;
}

static size_t
cur_off(const struct jp *p)
{
	return p->i < p->tag->n ? p->tag->t[p->i].off : p->tag->end;
}

static int
is_op(const struct jp *p, int op)
{
	const struct jtok *t = cur(p);

	return t->type == JT_OP && t->op == op;
}

static int
tok_is(const struct jctx *J, const struct jtok *t, const char *word)
{
	const uint8_t *s;

	if (t->type != JT_NAME || t->len != strlen(word))
		return 0;
	s = src_bytes(J, t->off, t->len);
	return s != NULL && memcmp(s, word, t->len) == 0;
}

static int
is_name(const struct jp *p, const char *word)
{
	return tok_is(p->J, cur(p), word);
}

static int
expect_op(struct jp *p, int op, const char *what)
{
	if (!is_op(p, op))
		return synerr(p->J, cur_off(p), what);
	p->i++;
	return 0;
}

static int p_expr(struct jp *p, struct jval *out, int with_cond);
static int p_tuple(struct jp *p, struct jval *out, int with_cond,
    const char *stop, int explicit);
static int p_unary(struct jp *p, struct jval *out, int with_filter);
static int p_postfix(struct jp *p, struct jval *v);
static int p_filter_expr(struct jp *p, struct jval *v);

static int
enter(struct jp *p)
{
	if (++p->depth > JJ_MAX_DEPTH)
		return pal_err_set(&p->J->s->err, PAL_ERR_LIMIT,
		    "%s: expression nested deeper than %d", p->J->where,
		    JJ_MAX_DEPTH);
	return 0;
}

/* Python's truth of a constant; -1 when unknown. */
static int
truth(const struct jval *v)
{
	switch (v->kind) {
	case JV_NONE:	return 0;
	case JV_BOOL:
	case JV_INT:	return v->num != 0;
	case JV_STR:	return (v->flags & JF_PARTIAL) ? -1 : v->b.len > 0;
	case JV_LIST:	return v->nitems > 0;
	default:	return -1;
	}
}

static int
jv_set_int(struct jval *v, int64_t n)
{
	jv_free(v);
	v->kind = JV_INT;
	v->num = n;
	return 0;
}

/* Parses an integer token ("1_000", "0x1f"); 0 if it does not fit. */
static int
int_value(struct jctx *J, const struct jtok *t, int64_t *out)
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
		if ((d = hexval(s[i])) < 0 || (unsigned)d >= radix)
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

/* '(' tuple ')', '[' list ']', '{' dict '}' */
static int
p_list(struct jp *p, struct jval *out, int close, int is_dict)
{
	struct jval item, val;
	int r = 0, known = 1;

	jv_init(&item);
	jv_init(&val);
	if ((r = jv_list_begin(out)) != 0)
		goto out;
	while (!is_op(p, close)) {
		if (out->nitems > 0 || !known) {
			if ((r = expect_op(p, OP_COMMA, "expected ','")) != 0)
				goto out;
			if (is_op(p, close))
				break;
		}
		if ((r = p_expr(p, &item, 1)) != 0)
			goto out;
		if (is_dict) {
			if ((r = expect_op(p, OP_COLON, "expected ':'")) != 0 ||
			    (r = p_expr(p, &val, 1)) != 0)
				goto out;
		}
		if (item.kind == JV_STR && !(item.flags & JF_PARTIAL) && known) {
			if ((r = jv_list_add(out, jv_bytes(&item),
			    item.b.len)) != 0)
				goto out;
		} else if (item.kind == JV_INT && known) {
			char num[32];

			snprintf(num, sizeof(num), "%lld", (long long)item.num);
			if ((r = jv_list_add(out, num, strlen(num))) != 0)
				goto out;
		} else {
			known = 0;
		}
		out->flags |= item.flags & (JF_OBF | JF_BUILT);
		jv_free(&item);
		jv_free(&val);
		if (out->kind != JV_LIST)
			known = 0;
	}
	p->i++;
	if (!known)
		jv_unknown(out, out->flags);
out:
	jv_free(&item);
	jv_free(&val);
	return r;
}

static int
p_primary(struct jp *p, struct jval *out)
{
	struct jctx *J = p->J;
	const struct jtok *t = cur(p);
	const uint8_t *s;
	int64_t n;
	int r;
	struct jvar *var;

	jv_free(out);
	switch (t->type) {
	case JT_NAME:
		p->i++;
		if (tok_is(J, t, "true") || tok_is(J, t, "True") ||
		    tok_is(J, t, "false") || tok_is(J, t, "False")) {
			out->kind = JV_BOOL;
			out->num = tok_is(J, t, "true") || tok_is(J, t, "True");
			return 0;
		}
		if (tok_is(J, t, "none") || tok_is(J, t, "None")) {
			out->kind = JV_NONE;
			return 0;
		}
		if ((s = src_bytes(J, t->off, t->len)) == NULL)
			return PAL_ERR_FORMAT;
		/*
		 * A variable the template assigned ({% set sys = ... %}) is
		 * not the host's global of that name; a dunder is judged
		 * either way.
		 */
		var = var_find(J, s, t->len);
		if (var == NULL || classify(s, t->len) == JC_ESCAPE ||
		    classify(s, t->len) == JC_DUNDER)
			if ((r = check_name_bytes(J, t->off, s, t->len,
			    CTX_GLOBAL, is_op(p, OP_LPAREN))) != 0)
				return r;
		if (var == NULL && (r = check_host(J, t->off, s, t->len)) != 0)
			return r;
		if (var == NULL && in_list(host_names, s, t->len))
			out->flags |= JF_OBJECT;
		if (var != NULL && !var->is_macro)
			return jv_copy(out, &var->v);
		return 0;
	case JT_STRING:
		if ((r = jv_set_str(out, "", 0, 0)) != 0)
			return r;
		/* Adjacent literals are one string, as in Python. */
		while (cur(p)->type == JT_STRING) {
			if (cur(p) != t)
				out->flags |= JF_OBF | JF_BUILT;
			if ((r = decode_string(J, cur(p), out)) != 0)
				return r;
			p->i++;
		}
		return check_name(J, t->off, out, CTX_STRING, 0);
	case JT_INT:
		p->i++;
		if (int_value(J, t, &n))
			return jv_set_int(out, n);
		return 0;
	case JT_FLOAT:
		p->i++;
		return 0;
	case JT_OP:
		if (t->op == OP_LPAREN) {
			p->i++;
			if ((r = p_tuple(p, out, 1, NULL, 1)) != 0)
				return r;
			return expect_op(p, OP_RPAREN, "expected ')'");
		}
		if (t->op == OP_LBRACKET) {
			p->i++;
			return p_list(p, out, OP_RBRACKET, 0);
		}
		if (t->op == OP_LBRACE) {
			p->i++;
			r = p_list(p, out, OP_RBRACE, 1);
			/* A dict's keys are not what a subscript returns. */
			jv_unknown(out, out->flags);
			return r;
		}
		break;
	default:
		break;
	}
	return synerr(J, cur_off(p), "expected an expression");
}

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

static void
args_init(struct jargs *a)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < JJ_MAX_ARGS; i++) {
		jv_init(&a->pos[i]);
		jv_init(&a->kw[i]);
	}
}

static void
args_free(struct jargs *a)
{
	size_t i;

	for (i = 0; i < JJ_MAX_ARGS; i++) {
		jv_free(&a->pos[i]);
		jv_free(&a->kw[i]);
	}
}

/* The value of keyword argument word, or NULL. */
static const struct jval *
args_kw(const struct jp *p, const struct jargs *a, const char *word)
{
	size_t i;

	for (i = 0; i < a->nkw && i < JJ_MAX_ARGS; i++)
		if (tok_is(p->J, a->kwname[i], word))
			return &a->kw[i];
	return NULL;
}

/* Parses "(" args ")" with the '(' current. */
static int
p_args(struct jp *p, struct jargs *a)
{
	struct jval tmp;
	const struct jtok *name;
	const uint8_t *s;
	int r = 0;

	jv_init(&tmp);
	p->i++;
	while (!is_op(p, OP_RPAREN)) {
		if (a->npos + a->nkw > 0 || a->star)
			if ((r = expect_op(p, OP_COMMA, "expected ','")) != 0 ||
			    is_op(p, OP_RPAREN))
				break;
		if (is_op(p, OP_MUL) || is_op(p, OP_POW)) {
			p->i++;
			a->star = 1;
			if ((r = p_expr(p, &tmp, 1)) != 0)
				break;
			jv_free(&tmp);
			continue;
		}
		name = cur(p);
		if (name->type == JT_NAME && peek_tok(p, 1)->type == JT_OP &&
		    peek_tok(p, 1)->op == OP_ASSIGN) {
			p->i += 2;
			if ((s = src_bytes(p->J, name->off, name->len)) != NULL &&
			    (r = check_name_bytes(p->J, name->off, s,
			    name->len, CTX_KWARG, 0)) != 0)
				break;
			if ((r = p_expr(p, &tmp, 1)) != 0)
				break;
			if (a->nkw < JJ_MAX_ARGS) {
				a->kwname[a->nkw] = name;
				a->kwoff[a->nkw] = name->off;
				jv_move(&a->kw[a->nkw], &tmp);
			}
			a->nkw++;
			jv_free(&tmp);
			continue;
		}
		if ((r = p_expr(p, &tmp, 1)) != 0)
			break;
		if (a->npos < JJ_MAX_ARGS)
			jv_move(&a->pos[a->npos], &tmp);
		a->npos++;
		jv_free(&tmp);
	}
	if (r == 0)
		r = expect_op(p, OP_RPAREN, "expected ')'");
	jv_free(&tmp);
	return r;
}

/* ---- Folding of string operations. ---- */

static void
ascii_case(struct jval *v, int upper)
{
	size_t i;

	for (i = 0; i < v->b.len; i++) {
		uint8_t c = v->b.p[i];

		if (upper && c >= 'a' && c <= 'z')
			v->b.p[i] = (uint8_t)(c - 32);
		else if (!upper && c >= 'A' && c <= 'Z')
			v->b.p[i] = (uint8_t)(c + 32);
	}
}

/* Reverses a string by characters (UTF-8 sequences stay whole). */
static int
reverse_str(struct jval *v)
{
	struct jval out;
	size_t end = v->b.len, i, k;
	int r = 0;

	jv_init(&out);
	if ((r = jv_set_str(&out, "", 0, v->flags)) != 0)
		return r;
	while (end > 0 && out.kind == JV_STR) {
		i = end - 1;
		while (i > 0 && (v->b.p[i] & 0xc0) == 0x80 && end - i < 4)
			i--;
		k = pal_utf8_seq(v->b.p + i, end - i);
		if (k != end - i) {
			i = end - 1;
			k = 1;
		}
		if ((r = jv_append(&out, v->b.p + i, k)) < 0)
			break;
		end = i;
	}
	if (r >= 0) {
		jv_move(v, &out);
		r = 0;
	}
	jv_free(&out);
	return r;
}

static int
is_strip_char(uint8_t c, const struct jval *chars)
{
	if (chars == NULL)
		return is_space(c);
	return memchr(jv_bytes(chars), c, chars->b.len) != NULL;
}

static int
strip_str(struct jval *v, int left, int right, const struct jval *chars)
{
	size_t a = 0, b = v->b.len;
	struct jval out;
	int r;

	while (left && a < b && is_strip_char(v->b.p[a], chars))
		a++;
	while (right && b > a && is_strip_char(v->b.p[b - 1], chars))
		b--;
	jv_init(&out);
	if ((r = jv_set_str(&out, v->b.p + a, b - a, v->flags)) == 0)
		jv_move(v, &out);
	jv_free(&out);
	return r;
}

/* s.replace(old, new[, count]) on constants. */
static int
replace_str(struct jval *v, const struct jval *from, const struct jval *to,
    int64_t count)
{
	struct jval out;
	size_t i = 0, fl = from->b.len;
	int r = 0;

	jv_init(&out);
	if ((r = jv_set_str(&out, "", 0, v->flags | JF_OBF | JF_BUILT)) != 0)
		return r;
	while (i <= v->b.len && out.kind == JV_STR) {
		if (count != 0 && (fl == 0 || (i + fl <= v->b.len &&
		    memcmp(v->b.p + i, jv_bytes(from), fl) == 0))) {
			if ((r = jv_append(&out, jv_bytes(to), to->b.len)) < 0)
				break;
			if (count > 0)
				count--;
			if (fl > 0) {
				i += fl;
				continue;
			}
		}
		if (i == v->b.len)
			break;
		if ((r = jv_append(&out, v->b.p + i, 1)) < 0)
			break;
		i++;
	}
	if (r >= 0) {
		out.flags |= to->flags & JF_PARTIAL;
		jv_move(v, &out);
		r = 0;
	}
	jv_free(&out);
	return r;
}

/* sep.join(list) and list|join(sep). */
static int
join_list(struct jval *v, const struct jval *list, const struct jval *sep)
{
	struct jitems *items;
	struct jval out;
	size_t i;
	int r = 0;

	if ((items = malloc(sizeof(*items))) == NULL)
		return PAL_ERR_NOMEM;
	jv_init(&out);
	if ((r = jv_set_str(&out, "", 0, JF_OBF | JF_BUILT | list->flags)) != 0) {
		free(items);
		return r;
	}
	if (jv_items(list, items) != 0)
		jv_unknown(&out, out.flags);
	for (i = 0; i < items->count && out.kind == JV_STR; i++) {
		if (i > 0 && sep != NULL &&
		    (r = jv_append(&out, jv_bytes(sep), sep->b.len)) < 0)
			break;
		if ((r = jv_append(&out, items->p[i], items->n[i])) < 0)
			break;
	}
	free(items);
	if (r >= 0) {
		jv_move(v, &out);
		r = 0;
	}
	jv_free(&out);
	return r;
}

/* Splits a constant string into a list of its characters. */
static int
chars_of(struct jval *v)
{
	struct jval out;
	size_t i = 0, k;
	int r = 0;

	jv_init(&out);
	if ((r = jv_list_begin(&out)) != 0)
		return r;
	out.flags = v->flags;
	while (i < v->b.len && out.kind == JV_LIST) {
		if ((k = pal_utf8_seq(v->b.p + i, v->b.len - i)) == 0)
			k = 1;
		if ((r = jv_list_add(&out, v->b.p + i, k)) != 0)
			break;
		i += k;
	}
	if (r == 0)
		jv_move(v, &out);
	jv_free(&out);
	return r;
}

static int
split_str(struct jval *v, const struct jval *sep)
{
	struct jval out;
	size_t i = 0, start = 0, sl;
	int r = 0;

	if (sep == NULL || sep->kind != JV_STR || (sep->flags & JF_PARTIAL) ||
	    sep->b.len == 0) {
		jv_unknown(v, v->flags | JF_BUILT);
		return 0;
	}
	sl = sep->b.len;
	jv_init(&out);
	if ((r = jv_list_begin(&out)) != 0)
		return r;
	out.flags = v->flags | JF_BUILT;
	while (i + sl <= v->b.len && out.kind == JV_LIST) {
		if (memcmp(v->b.p + i, jv_bytes(sep), sl) == 0) {
			if ((r = jv_list_add(&out, v->b.p + start,
			    i - start)) != 0)
				break;
			i += sl;
			start = i;
		} else {
			i++;
		}
	}
	if (r == 0 && out.kind == JV_LIST)
		r = jv_list_add(&out, v->b.p + start, v->b.len - start);
	if (r == 0)
		jv_move(v, &out);
	jv_free(&out);
	return r;
}

/* The value of a string of at most 7 decimal digits, or -1. */
static int32_t
digits_value(const struct jval *x)
{
	int32_t n = 0;
	size_t i;

	if (x->b.len == 0 || x->b.len > 7)
		return -1;
	for (i = 0; i < x->b.len; i++) {
		if (!is_digit(x->b.p[i]))
			return -1;
		n = n * 10 + (x->b.p[i] - '0');
	}
	return n <= 0x10ffff ? n : -1;
}

/* printf-style formatting: '%c%c%s' % (95, 95, 'globals'). */
static int
printf_str(struct jval *v, const struct jval *args, size_t nargs)
{
	struct jval out;
	size_t i, a = 0;
	char num[32];
	int r = 0;

	jv_init(&out);
	if ((r = jv_set_str(&out, "", 0, JF_OBF | JF_BUILT)) != 0)
		return r;
	for (i = 0; i < v->b.len && out.kind == JV_STR; i++) {
		uint8_t c = v->b.p[i], f;
		const struct jval *x;

		if (c != '%') {
			if ((r = jv_append(&out, &c, 1)) < 0)
				break;
			continue;
		}
		if (++i >= v->b.len)
			goto unknown;
		f = v->b.p[i];
		if (f == '%') {
			if ((r = jv_append(&out, "%", 1)) < 0)
				break;
			continue;
		}
		if (a >= nargs || a >= JJ_MAX_ARGS)
			goto unknown;
		x = &args[a++];
		if (f == 's' || f == 'r') {
			if ((r = jv_append_text(&out, x)) < 0)
				break;
			if (r == 1)
				out.flags |= JF_PARTIAL;
		} else if ((f == 'd' || f == 'i') && x->kind == JV_INT) {
			snprintf(num, sizeof(num), "%lld", (long long)x->num);
			if ((r = jv_append(&out, num, strlen(num))) < 0)
				break;
		} else if (f == 'x' && x->kind == JV_INT && x->num >= 0) {
			snprintf(num, sizeof(num), "%llx",
			    (unsigned long long)x->num);
			if ((r = jv_append(&out, num, strlen(num))) < 0)
				break;
		} else if (f == 'c' && x->kind == JV_INT && x->num >= 0 &&
		    x->num <= 0x10ffff) {
			if ((r = put_utf8(&out, (uint32_t)x->num)) < 0)
				break;
		} else if (f == 'c' && x->kind == JV_STR && x->b.len >= 2 &&
		    digits_value(x) >= 0) {
			/* A number that went through a constant tuple. */
			if ((r = put_utf8(&out, (uint32_t)digits_value(x))) < 0)
				break;
		} else if (f == 'c' && x->kind == JV_STR && x->b.len >= 1 &&
		    x->b.len <= 4) {
			if ((r = jv_append(&out, x->b.p, x->b.len)) < 0)
				break;
		} else {
			goto unknown;
		}
	}
	if (r >= 0) {
		jv_move(v, &out);
		r = 0;
	}
	jv_free(&out);
	return r;
unknown:
	jv_free(&out);
	jv_unknown(v, JF_OBF | JF_BUILT);
	return 0;
}

/*
 * str.format('{0.__class__}') reads attributes itself: a constant
 * format string whose fields reach into their arguments is judged here.
 */
static int
check_format_fields(struct jctx *J, size_t off, const struct jval *fmt)
{
	size_t i = 0, a, b;
	const uint8_t *s = jv_bytes(fmt);
	int r = 0;

	while (r == 0 && i < fmt->b.len) {
		if (s[i] != '{') {
			i++;
			continue;
		}
		if (i + 1 < fmt->b.len && s[i + 1] == '{') {
			i += 2;
			continue;
		}
		for (a = i + 1; a < fmt->b.len && s[a] != '}' && s[a] != ':' &&
		    s[a] != '!'; a++)
			;
		/* Each .name and [name] step of the field is a lookup. */
		for (b = i + 1; r == 0 && b < a; b++) {
			size_t e;

			if (s[b] != '.' && s[b] != '[')
				continue;
			for (e = b + 1; e < a && s[e] != '.' && s[e] != '[' &&
			    s[e] != ']'; e++)
				;
			r = check_name_bytes(J, off, s + b + 1, e - b - 1,
			    CTX_FORMAT, 0);
			if (r == 0 && e > b + 1)
				r = jfind(J, "jinja.format-attr", off, s + b + 1,
				    e - b - 1, "a str.format field reads an "
				    "attribute or item of its argument, which "
				    "sandboxes miss when the format string is "
				    "not checked");
		}
		i = a;
	}
	return r;
}

/* '{}{}'.format('__', 'globals__') with positional fields only. */
static int
format_str(struct jval *v, const struct jargs *a)
{
	struct jval out;
	size_t i, next = 0, idx;
	int r = 0, rr;

	jv_init(&out);
	if ((r = jv_set_str(&out, "", 0, JF_OBF | JF_BUILT)) != 0)
		return r;
	for (i = 0; i < v->b.len && out.kind == JV_STR; i++) {
		uint8_t c = v->b.p[i];

		if ((c == '{' || c == '}') && i + 1 < v->b.len &&
		    v->b.p[i + 1] == c) {
			r = jv_append(&out, &c, 1);
			i++;
		} else if (c == '{') {
			idx = next++;
			if (i + 1 < v->b.len && is_digit(v->b.p[i + 1])) {
				idx = (size_t)(v->b.p[++i] - '0');
			}
			if (i + 1 >= v->b.len || v->b.p[i + 1] != '}' ||
			    idx >= a->npos || idx >= JJ_MAX_ARGS)
				goto unknown;
			i++;
			if ((rr = jv_append_text(&out, &a->pos[idx])) < 0) {
				r = rr;
				break;
			}
			if (rr == 1)
				out.flags |= JF_PARTIAL;
		} else {
			r = jv_append(&out, &c, 1);
		}
		if (r < 0)
			break;
	}
	if (r >= 0) {
		jv_move(v, &out);
		r = 0;
	}
	jv_free(&out);
	return r;
unknown:
	jv_free(&out);
	jv_unknown(v, JF_OBF | JF_BUILT);
	return 0;
}

/* The i-th positional argument if it is a constant string, else NULL. */
static const struct jval *
str_arg(const struct jargs *a, size_t i)
{
	if (i >= a->npos || i >= JJ_MAX_ARGS || a->pos[i].kind != JV_STR ||
	    (a->pos[i].flags & JF_PARTIAL))
		return NULL;
	return &a->pos[i];
}

/* Applies a string method to a constant receiver. */
static int
apply_method(struct jp *p, struct jval *v, const uint8_t *name, size_t n,
    const struct jargs *a, size_t off)
{
	const struct jval *x = str_arg(a, 0), *y = str_arg(a, 1);
	unsigned keep = v->flags & (JF_OBF | JF_BUILT);
	int r = 0;

#define IS(w) (n == sizeof(w) - 1 && memcmp(name, w, n) == 0)
	if (v->kind == JV_STR && (IS("format") || IS("format_map")) &&
	    !(v->flags & JF_PARTIAL)) {
		if ((r = check_format_fields(p->J, off, v)) != 0)
			return r;
		if (IS("format_map") || a->nkw > 0 || a->star)
			jv_unknown(v, keep | JF_BUILT);
		else
			r = format_str(v, a);
		return r;
	}
	if (v->kind == JV_STR && IS("join") && a->npos == 1 &&
	    a->pos[0].kind == JV_LIST) {
		struct jval sep;

		jv_init(&sep);
		jv_move(&sep, v);
		r = join_list(v, &a->pos[0], &sep);
		jv_free(&sep);
		return r;
	}
	if (v->kind != JV_STR || (v->flags & JF_PARTIAL)) {
		jv_unknown(v, keep | JF_BUILT);
		return 0;
	}
	v->flags |= JF_OBF | JF_BUILT;
	if (IS("lower") || IS("casefold"))
		ascii_case(v, 0);
	else if (IS("upper"))
		ascii_case(v, 1);
	else if (IS("strip") || IS("lstrip") || IS("rstrip"))
		r = strip_str(v, !IS("rstrip"), !IS("lstrip"), x);
	else if (IS("replace") && x != NULL && y != NULL)
		r = replace_str(v, x, y, a->npos > 2 &&
		    a->pos[2].kind == JV_INT ? a->pos[2].num : -1);
	else if (IS("split") && a->npos <= 1)
		r = split_str(v, x);
	else if (IS("capitalize") || IS("title")) {
		ascii_case(v, 0);
		if (v->b.len > 0 && v->b.p[0] >= 'a' && v->b.p[0] <= 'z')
			v->b.p[0] = (uint8_t)(v->b.p[0] - 32);
		if (IS("title"))
			jv_unknown(v, keep | JF_BUILT);
	} else
		jv_unknown(v, keep | JF_BUILT);
#undef IS
	return r;
}

/* Reports a computed name for |attr or an item lookup. */
static int
computed_name(struct jctx *J, size_t off, const struct jval *v, const char *how)
{
	struct pal_buf nb;
	int r;

	pal_buf_init(&nb, 512);
	if (v->kind == JV_STR && (r = show(&nb, jv_bytes(v), v->b.len)) ==
	    PAL_ERR_NOMEM)
		return r;
	r = jfind(J, "jinja.attr-computed", off, NULL, 0,
	    "%s with a name computed while rendering ('%s'), which hides "
	    "what is looked up", how, nb.p != NULL ? (char *)nb.p : "?");
	pal_buf_free(&nb);
	return r;
}

/* Judges a name given to |attr, map(attribute=...) and the like. */
static int
check_attr_arg(struct jp *p, size_t off, const struct jval *name, int called)
{
	size_t i, start = 0;
	int r;

	if (name->kind == JV_INT)
		return 0;
	if (!is_const(name)) {
		if ((r = check_name(p->J, off, name, CTX_ATTRF, called)) != 0)
			return r;
		return computed_name(p->J, off, name, "an attr filter");
	}
	if (name->kind != JV_STR)
		return 0;
	if ((r = check_name(p->J, off, name, CTX_ATTRF, called)) != 0)
		return r;
	/* attribute='a.b' walks a dotted path. */
	for (i = 0; i <= name->b.len; i++) {
		if (i < name->b.len && name->b.p[i] != '.')
			continue;
		if (start > 0 || i < name->b.len)
			if ((r = check_name_bytes(p->J, off, name->b.p + start,
			    i - start, CTX_ATTRF, 0)) != 0)
				return r;
		start = i + 1;
	}
	return 0;
}

/* Filters that produce generators or objects rather than strings. */
static const char *const object_filters[] = {
	"map", "select", "reject", "selectattr", "rejectattr", "batch",
	"slice", "groupby", "dictsort", "items", "attr", NULL,
};

static int
is_filter(const uint8_t *s, size_t n, const char *word)
{
	return n == strlen(word) && memcmp(s, word, n) == 0;
}

/*
 * Applies filter name (with args) to v, folding what it can and judging
 * the names filters look attributes up by.
 */
static int
apply_filter(struct jp *p, struct jval *v, const uint8_t *name, size_t n,
    struct jargs *a, size_t off)
{
	const struct jval *x = str_arg(a, 0), *y = str_arg(a, 1), *attr;
	unsigned keep = v->flags & (JF_OBF | JF_BUILT | JF_OBJECT | JF_REPR);
	int r = 0;

#define F(w) is_filter(name, n, w)
	/* Filters that look attributes up by a name argument. */
	if ((attr = args_kw(p, a, "attribute")) != NULL &&
	    (r = check_attr_arg(p, off, attr, 0)) != 0)
		return r;
	if ((F("selectattr") || F("rejectattr") || F("groupby")) &&
	    a->npos > 0 && (r = check_attr_arg(p, off, &a->pos[0], 0)) != 0)
		return r;
	if ((F("map") || F("select") || F("reject")) && x != NULL &&
	    is_filter(jv_bytes(x), x->b.len, "attr") && a->npos > 1 &&
	    (r = check_attr_arg(p, off, &a->pos[1], 0)) != 0)
		return r;
	if (F("attr")) {
		if (a->npos < 1)
			return 0;
		r = check_attr_arg(p, off, &a->pos[0], is_op(p, OP_LPAREN));
		jv_unknown(v, JF_OBJECT);
		return r;
	}
	if (in_list(object_filters, name, n)) {
		jv_unknown(v, keep | JF_OBJECT | JF_BUILT);
		return 0;
	}
	if (F("string") || F("list")) {
		if (v->kind == JV_UNKNOWN && F("string") &&
		    (v->flags & JF_OBJECT)) {
			/* The printed form of a function or generator. */
			jv_unknown(v, (keep & ~JF_OBJECT) | JF_REPR | JF_BUILT);
			return 0;
		}
		if (v->kind == JV_UNKNOWN) {
			/* A generator's items are not the generator. */
			jv_unknown(v, keep & ~JF_OBJECT);
			return 0;
		}
		if (F("string") && v->kind == JV_INT) {
			char num[32];

			snprintf(num, sizeof(num), "%lld", (long long)v->num);
			return jv_set_str(v, num, strlen(num), keep);
		}
		if (F("list") && v->kind == JV_STR && !(v->flags & JF_PARTIAL))
			return chars_of(v);
		if (F("string") && v->kind == JV_STR)
			return 0;
		if (F("list") && v->kind == JV_LIST)
			return 0;
		jv_unknown(v, keep);
		return 0;
	}
	if (F("join")) {
		struct jval sep;

		jv_init(&sep);
		if (a->npos > 0 && x == NULL) {
			jv_unknown(v, keep | JF_BUILT);
			return 0;
		}
		if (x != NULL && (r = jv_copy(&sep, x)) != 0)
			return r;
		if (v->kind == JV_STR && !(v->flags & JF_PARTIAL) &&
		    (r = chars_of(v)) != 0) {
			jv_free(&sep);
			return r;
		}
		if (v->kind == JV_LIST)
			r = join_list(v, v, x != NULL ? &sep : NULL);
		else
			jv_unknown(v, keep | JF_BUILT | JF_OBF);
		jv_free(&sep);
		return r;
	}
	if (F("reverse")) {
		struct jitems *items;
		struct jval out;
		size_t i;

		if (v->kind == JV_STR)
			return reverse_str(v);
		if (v->kind != JV_LIST) {
			jv_unknown(v, keep | JF_BUILT);
			return 0;
		}
		if ((items = malloc(sizeof(*items))) == NULL)
			return PAL_ERR_NOMEM;
		jv_init(&out);
		if ((r = jv_list_begin(&out)) == 0 && jv_items(v, items) != 0)
			jv_unknown(&out, 0);
		for (i = items->count; r == 0 && i-- > 0;)
			r = jv_list_add(&out, items->p[i], items->n[i]);
		free(items);
		out.flags = keep | JF_OBF | JF_BUILT;
		if (r == 0)
			jv_move(v, &out);
		jv_free(&out);
		return r;
	}
	if (F("first") || F("last")) {
		const uint8_t *item;
		size_t k;

		if (v->kind == JV_STR && !(v->flags & JF_PARTIAL) &&
		    (r = chars_of(v)) != 0)
			return r;
		if (v->kind != JV_LIST || v->nitems == 0 ||
		    jv_item(v, F("first") ? 0 : v->nitems - 1, &item, &k) != 0) {
			jv_unknown(v, keep);
			return 0;
		}
		{
			struct jval out;

			jv_init(&out);
			if ((r = jv_set_str(&out, item, k, keep | JF_OBF)) == 0)
				jv_move(v, &out);
			jv_free(&out);
		}
		return r;
	}
	if (F("format")) {
		if (v->kind != JV_STR || (v->flags & JF_PARTIAL) || a->nkw > 0 ||
		    a->star) {
			jv_unknown(v, keep | JF_BUILT);
			return 0;
		}
		return printf_str(v, a->pos, a->npos);
	}
	if (F("length") || F("count")) {
		if (v->kind == JV_STR && !(v->flags & JF_PARTIAL))
			return jv_set_int(v, (int64_t)v->b.len);
		if (v->kind == JV_LIST)
			return jv_set_int(v, (int64_t)v->nitems);
		jv_unknown(v, 0);
		return 0;
	}
	if (F("default") || F("d")) {
		if (v->kind == JV_UNKNOWN && !(v->flags & JF_BUILT) && a->npos > 0)
			return jv_copy(v, &a->pos[0]);
		return 0;
	}
	if (F("safe") || F("e") || F("escape") || F("forceescape") ||
	    F("urlencode")) {
		if (v->kind == JV_STR && (memchr(jv_bytes(v), '<', v->b.len) ||
		    memchr(jv_bytes(v), '&', v->b.len) ||
		    memchr(jv_bytes(v), '>', v->b.len) ||
		    memchr(jv_bytes(v), '"', v->b.len) ||
		    memchr(jv_bytes(v), '\'', v->b.len)))
			jv_unknown(v, keep);
		return 0;
	}
	if (v->kind != JV_STR || (v->flags & JF_PARTIAL)) {
		jv_unknown(v, keep | (F("sort") || F("unique") || F("random") ?
		    JF_BUILT : 0));
		return 0;
	}
	v->flags |= JF_OBF | JF_BUILT;
	if (F("lower"))
		ascii_case(v, 0);
	else if (F("upper"))
		ascii_case(v, 1);
	else if (F("capitalize")) {
		ascii_case(v, 0);
		if (v->b.len > 0 && v->b.p[0] >= 'a' && v->b.p[0] <= 'z')
			v->b.p[0] = (uint8_t)(v->b.p[0] - 32);
	} else if (F("trim"))
		r = strip_str(v, 1, 1, x);
	else if (F("replace") && x != NULL && y != NULL)
		r = replace_str(v, x, y, a->npos > 2 &&
		    a->pos[2].kind == JV_INT ? a->pos[2].num : -1);
	else
		jv_unknown(v, keep | JF_BUILT);
#undef F
	return r;
}

/* '|' name ('.' name)* ['(' args ')'] with the '|' current. */
static int
p_filter(struct jp *p, struct jval *v)
{
	const struct jtok *t;
	const uint8_t *name;
	struct jargs a;
	size_t off;
	int r;

	p->i++;
	t = cur(p);
	if (t->type != JT_NAME)
		return synerr(p->J, cur_off(p), "expected a filter name");
	p->i++;
	off = t->off;
	/* Dotted filter names exist only through extensions. */
	while (is_op(p, OP_DOT) && peek_tok(p, 1)->type == JT_NAME)
		p->i += 2;
	if ((name = src_bytes(p->J, t->off, t->len)) == NULL)
		return PAL_ERR_FORMAT;
	args_init(&a);
	if (is_op(p, OP_LPAREN) && (r = p_args(p, &a)) != 0)
		goto out;
	r = apply_filter(p, v, name, t->len, &a, off);
out:
	args_free(&a);
	return r;
}

/* 'is' ['not'] name [args | one argument] with 'is' current. */
static int
p_test(struct jp *p, struct jval *v)
{
	struct jargs a;
	struct jval arg;
	const struct jtok *t;
	int r = 0;

	p->i++;
	if (is_name(p, "not"))
		p->i++;
	if (cur(p)->type != JT_NAME)
		return synerr(p->J, cur_off(p), "expected a test name");
	p->i++;
	while (is_op(p, OP_DOT) && peek_tok(p, 1)->type == JT_NAME)
		p->i += 2;
	jv_unknown(v, 0);
	args_init(&a);
	jv_init(&arg);
	t = cur(p);
	if (is_op(p, OP_LPAREN)) {
		r = p_args(p, &a);
	} else if ((t->type == JT_NAME || t->type == JT_STRING ||
	    t->type == JT_INT || t->type == JT_FLOAT ||
	    (t->type == JT_OP && (t->op == OP_LBRACKET ||
	    t->op == OP_LBRACE))) && !is_name(p, "else") &&
	    !is_name(p, "or") && !is_name(p, "and")) {
		/* "x is divisibleby 3": one argument without parentheses. */
		if (is_name(p, "is"))
			r = synerr(p->J, cur_off(p), "unexpected 'is'");
		else if ((r = p_primary(p, &arg)) == 0)
			r = p_postfix(p, &arg);
	}
	jv_free(&arg);
	args_free(&a);
	return r;
}

/* The item of a constant string or list at index ix. */
static int
index_const(struct jval *v, int64_t ix)
{
	const uint8_t *item;
	struct jval out;
	size_t n;
	int r = 0;

	if (v->kind == JV_STR && (r = chars_of(v)) != 0)
		return r;
	if (v->kind == JV_LIST && ix < 0)
		ix += (int64_t)v->nitems;
	if (v->kind != JV_LIST || ix < 0 || (uint64_t)ix >= v->nitems ||
	    jv_item(v, (size_t)ix, &item, &n) != 0) {
		jv_unknown(v, 0);
		return 0;
	}
	jv_init(&out);
	if ((r = jv_set_str(&out, item, n, v->flags | JF_OBF)) == 0)
		jv_move(v, &out);
	jv_free(&out);
	return r;
}

/* Clamps a slice bound as Python does. */
static int64_t
slice_bound(const struct jval *b, int64_t len, int64_t step, int is_stop)
{
	int64_t x;

	if (b->kind != JV_INT)
		return step > 0 ? (is_stop ? len : 0) : (is_stop ? -1 : len - 1);
	x = b->num < 0 ? b->num + len : b->num;
	if (x < 0)
		return step > 0 ? 0 : -1;
	if (x >= len)
		return step > 0 ? len : len - 1;
	return x;
}

/* '__slabolg__'[::-1] and other slices of constant strings. */
static int
slice_const(struct jval *v, const struct jval parts[3], const int given[3])
{
	int64_t len, start, stop, step = 1, j;
	struct jitems *items;
	struct jval out;
	size_t i;
	int r;

	for (i = 0; i < 3; i++)
		if (given[i] && parts[i].kind != JV_INT &&
		    parts[i].kind != JV_NONE) {
			jv_unknown(v, v->flags | JF_BUILT);
			return 0;
		}
	if ((r = chars_of(v)) != 0)
		return r;
	if (parts[2].kind == JV_INT)
		step = parts[2].num;
	len = (int64_t)v->nitems;
	if (v->kind != JV_LIST || step == 0 || step < -len - 1 ||
	    step > len + 1) {
		jv_unknown(v, v->flags | JF_BUILT);
		return 0;
	}
	start = slice_bound(&parts[0], len, step, 0);
	stop = slice_bound(&parts[1], len, step, 1);
	if ((items = malloc(sizeof(*items))) == NULL)
		return PAL_ERR_NOMEM;
	jv_init(&out);
	if ((r = jv_set_str(&out, "", 0, v->flags | JF_OBF | JF_BUILT)) == 0 &&
	    jv_items(v, items) != 0)
		jv_unknown(&out, out.flags);
	for (j = start; r == 0 && out.kind == JV_STR &&
	    (step > 0 ? j < stop : j > stop); j += step) {
		if (j < 0 || j >= len || (size_t)j >= items->count)
			break;
		if ((r = jv_append(&out, items->p[j], items->n[j])) > 0)
			r = 0;
	}
	free(items);
	if (r == 0)
		jv_move(v, &out);
	jv_free(&out);
	return r;
}

/* A subscript: expr, or a slice a:b:c, with the '[' current. */
static int
p_subscript(struct jp *p, struct jval *v)
{
	struct jval parts[3];
	size_t off = cur_off(p), k = 0, i;
	int r = 0, is_slice = 0, is_tuple = 0, given[3] = { 0, 0, 0 };

	for (i = 0; i < 3; i++)
		jv_init(&parts[i]);
	p->i++;
	for (;;) {
		if (!is_op(p, OP_COLON) && !is_op(p, OP_RBRACKET) &&
		    !is_op(p, OP_COMMA)) {
			if ((r = p_expr(p, &parts[k < 3 ? k : 2], 1)) != 0)
				goto out;
			if (k < 3)
				given[k] = 1;
		}
		if (is_op(p, OP_COLON) && k < 2) {
			is_slice = 1;
			p->i++;
			k++;
			continue;
		}
		if (is_op(p, OP_COMMA)) {
			/* x[a, b] looks up a tuple: not a name. */
			p->i++;
			is_tuple = 1;
			k = 3;
			continue;
		}
		break;
	}
	if ((r = expect_op(p, OP_RBRACKET, "expected ']'")) != 0)
		goto out;
	if ((v->flags & JF_REPR) && (r = jfind(p->J, "jinja.unusual", off,
	    NULL, 0, "picks characters out of an object's printed form, a "
	    "way to build names without writing them")) != 0)
		goto out;
	if (is_tuple) {
		jv_unknown(v, 0);
	} else if (is_slice) {
		if (v->kind == JV_STR && !(v->flags & JF_PARTIAL)) {
			if ((r = slice_const(v, parts, given)) == 0)
				r = check_name(p->J, off, v, CTX_STRING, 0);
		} else {
			jv_unknown(v, v->flags & (JF_BUILT | JF_REPR));
		}
	} else {
		struct jval *name = &parts[0];

		if ((r = check_name(p->J, off, name, CTX_ITEM,
		    is_op(p, OP_LPAREN))) != 0)
			goto out;
		if (name->kind == JV_UNKNOWN || (name->flags & JF_PARTIAL))
			if ((name->flags & JF_BUILT) && (r = computed_name(p->J,
			    off, name, "an item lookup")) != 0)
				goto out;
		if (name->kind == JV_INT && (v->kind == JV_STR ||
		    v->kind == JV_LIST) && !(v->flags & JF_PARTIAL))
			r = index_const(v, name->num);
		else
			jv_unknown(v, v->flags & JF_REPR);
	}
out:
	for (i = 0; i < 3; i++)
		jv_free(&parts[i]);
	return r;
}

/* Calls a macro whose body is known text, or dict(key=...). */
static int
apply_call(struct jp *p, struct jval *v, const struct jtok *callee,
    const struct jargs *a)
{
	const uint8_t *s;
	struct jvar *var;
	size_t i;
	int r = 0;

	if (callee == NULL || callee->type != JT_NAME ||
	    (s = src_bytes(p->J, callee->off, callee->len)) == NULL) {
		jv_unknown(v, v->flags & JF_OBJECT);
		return 0;
	}
	if ((var = var_find(p->J, s, callee->len)) != NULL && var->is_macro)
		return jv_copy(v, &var->v);
	if (tok_is(p->J, callee, "dict") && a->npos == 0 && !a->star) {
		/* Iterating a dict yields its keys: dict(__globals__=1)|join. */
		if ((r = jv_list_begin(v)) != 0)
			return r;
		v->flags = JF_OBF | JF_BUILT;
		for (i = 0; i < a->nkw && i < JJ_MAX_ARGS && r == 0; i++)
			if ((s = src_bytes(p->J, a->kwname[i]->off,
			    a->kwname[i]->len)) != NULL)
				r = jv_list_add(v, s, a->kwname[i]->len);
		if (a->nkw > JJ_MAX_ARGS)
			jv_unknown(v, v->flags);
		return r;
	}
	if (tok_is(p->J, callee, "range")) {
		for (i = 0; i < a->npos && i < JJ_MAX_ARGS; i++)
			if (a->pos[i].kind == JV_INT &&
			    (a->pos[i].num > JJ_RANGE_MAX ||
			    a->pos[i].num < -JJ_RANGE_MAX))
				return jfind(p->J, "jinja.resource", callee->off,
				    NULL, 0, "range() over %lld items: a "
				    "render that never ends outside a sandbox",
				    (long long)a->pos[i].num);
	}
	jv_unknown(v, in_list(host_names, s, callee->len) ? JF_OBJECT : 0);
	return 0;
}

/*
 * Postfix: .name, [subscript], (call).  Method calls on constant
 * strings are folded; every attribute name is judged.
 */
static int
p_postfix(struct jp *p, struct jval *v)
{
	const struct jtok *t, *callee = NULL, *base = NULL;
	const uint8_t *name;
	struct jargs a;
	int r = 0, called;

	if (p->i > 0 && p->tag->t[p->i - 1].type == JT_NAME)
		callee = base = &p->tag->t[p->i - 1];
	for (;;) {
		if (is_op(p, OP_DOT)) {
			p->i++;
			t = cur(p);
			if (t->type == JT_INT) {
				p->i++;
				jv_unknown(v, 0);
				callee = NULL;
				continue;
			}
			if (t->type != JT_NAME)
				return synerr(p->J, cur_off(p),
				    "expected an attribute name");
			p->i++;
			if ((name = src_bytes(p->J, t->off, t->len)) == NULL)
				return PAL_ERR_FORMAT;
			called = is_op(p, OP_LPAREN);
			if ((r = check_name_bytes(p->J, t->off, name, t->len,
			    CTX_ATTR, called)) != 0)
				return r;
			/* ns.attr set through {% set ns.attr = ... %}. */
			if (base != NULL && !called) {
				char full[JJ_MAX_VARNAME];
				const uint8_t *bn = src_bytes(p->J, base->off,
				    base->len);
				struct jvar *var;
				int k = bn == NULL ? -1 : snprintf(full,
				    sizeof(full), "%.*s.%.*s", (int)base->len,
				    (const char *)bn, (int)t->len,
				    (const char *)name);

				base = NULL;
				if (k > 0 && (size_t)k < sizeof(full) &&
				    (var = var_find(p->J, (uint8_t *)full,
				    (size_t)k)) != NULL) {
					if ((r = jv_copy(v, &var->v)) != 0)
						return r;
					continue;
				}
			}
			base = NULL;
			if (called) {
				args_init(&a);
				if ((r = p_args(p, &a)) == 0)
					r = apply_method(p, v, name, t->len, &a,
					    t->off);
				args_free(&a);
				if (r != 0)
					return r;
				if (v->kind == JV_STR &&
				    (r = check_name(p->J, t->off, v,
				    CTX_STRING, 0)) != 0)
					return r;
				callee = NULL;
				continue;
			}
			jv_unknown(v, v->flags & JF_OBJECT);
			callee = NULL;
		} else if (is_op(p, OP_LBRACKET)) {
			base = NULL;
			callee = NULL;
			if ((r = p_subscript(p, v)) != 0)
				return r;
		} else if (is_op(p, OP_LPAREN)) {
			base = NULL;
			args_init(&a);
			if ((r = p_args(p, &a)) == 0)
				r = apply_call(p, v, callee, &a);
			args_free(&a);
			callee = NULL;
			if (r != 0)
				return r;
		} else {
			return 0;
		}
	}
}

/* Filters, tests and calls after a unary expression. */
static int
p_filter_expr(struct jp *p, struct jval *v)
{
	struct jargs a;
	int r;

	for (;;) {
		if (is_op(p, OP_PIPE)) {
			if ((r = p_filter(p, v)) != 0)
				return r;
		} else if (is_name(p, "is")) {
			if ((r = p_test(p, v)) != 0)
				return r;
		} else if (is_op(p, OP_LPAREN)) {
			args_init(&a);
			r = p_args(p, &a);
			args_free(&a);
			jv_unknown(v, 0);
			if (r != 0)
				return r;
		} else {
			return 0;
		}
	}
}

static int
p_unary(struct jp *p, struct jval *out, int with_filter)
{
	int r;

	if ((r = enter(p)) != 0)
		return r;
	if (is_op(p, OP_SUB) || is_op(p, OP_ADD)) {
		int neg = is_op(p, OP_SUB);

		p->i++;
		if ((r = p_unary(p, out, 0)) != 0)
			goto out;
		if (out->kind == JV_INT && neg && out->num != INT64_MIN)
			out->num = -out->num;
		else if (out->kind != JV_INT)
			jv_unknown(out, 0);
	} else {
		if ((r = p_primary(p, out)) != 0 || (r = p_postfix(p, out)) != 0)
			goto out;
	}
	if (with_filter)
		r = p_filter_expr(p, out);
out:
	p->depth--;
	return r;
}

/* Concatenation with ~ (and + on strings). */
static int
concat(struct jval *a, const struct jval *b)
{
	struct jval out;
	int r, holes = 0;

	/* str() of a function or generator is its printed form. */
	unsigned repr = ((a->flags | b->flags) & (JF_OBJECT | JF_REPR)) ?
	    JF_REPR : 0;

	if (a->kind == JV_UNKNOWN && b->kind == JV_UNKNOWN) {
		jv_unknown(a, ((a->flags | b->flags) & ~JF_OBJECT) | JF_BUILT |
		    repr);
		return 0;
	}
	jv_init(&out);
	if ((r = jv_set_str(&out, "", 0, JF_OBF | JF_BUILT)) != 0)
		return r;
	if ((r = jv_append_text(&out, a)) < 0)
		goto out;
	holes |= r;
	if ((r = jv_append_text(&out, b)) < 0)
		goto out;
	holes |= r;
	r = 0;
	if (holes && out.kind == JV_STR)
		out.flags |= JF_PARTIAL;
	out.flags |= repr;
	jv_move(a, &out);
out:
	jv_free(&out);
	return r;
}

static int
mul_ints(int64_t x, int64_t y, int64_t *out)
{
	return !__builtin_mul_overflow(x, y, out);
}

/* Arithmetic on constants, string repetition and %-formatting. */
static int
binop(struct jp *p, size_t off, int op, struct jval *a, struct jval *b)
{
	int64_t n;

	if (op == OP_ADD && (a->kind == JV_STR || b->kind == JV_STR))
		return concat(a, b);
	if (op == OP_MOD && a->kind == JV_STR && !(a->flags & JF_PARTIAL)) {
		if (b->kind == JV_LIST) {
			struct jval items[JJ_MAX_ARGS];
			const uint8_t *s;
			size_t i, k;
			int r = 0;

			for (i = 0; i < JJ_MAX_ARGS; i++)
				jv_init(&items[i]);
			for (i = 0; i < b->nitems && i < JJ_MAX_ARGS && r == 0;
			    i++)
				if (jv_item(b, i, &s, &k) == 0)
					r = jv_set_str(&items[i], s, k, 0);
			if (r == 0)
				r = printf_str(a, items, b->nitems);
			for (i = 0; i < JJ_MAX_ARGS; i++)
				jv_free(&items[i]);
			return r;
		}
		return printf_str(a, b, 1);
	}
	if (op == OP_MUL && ((a->kind == JV_STR && b->kind == JV_INT) ||
	    (a->kind == JV_INT && b->kind == JV_STR))) {
		struct jval *str = a->kind == JV_STR ? a : b;
		int64_t times = a->kind == JV_INT ? a->num : b->num;
		struct jval out;
		int64_t i;
		int r = 0;

		if (times > 0 && (uint64_t)times > (uint64_t)JJ_REPEAT_MAX /
		    (str->b.len + 1) && str->b.len > 0)
			return jfind(p->J, "jinja.resource", off, NULL, 0,
			    "repeats a string %lld times", (long long)times);
		jv_init(&out);
		if ((r = jv_set_str(&out, "", 0, str->flags | JF_BUILT)) != 0)
			return r;
		/* An empty string repeated is empty, however often. */
		if (str->b.len == 0)
			times = 0;
		for (i = 0; i < times && out.kind == JV_STR && r == 0; i++)
			if ((r = jv_append(&out, jv_bytes(str), str->b.len)) > 0)
				r = 0;
		if (r == 0)
			jv_move(a, &out);
		jv_free(&out);
		return r;
	}
	if (a->kind == JV_INT && b->kind == JV_INT) {
		switch (op) {
		case OP_ADD:
			if (!__builtin_add_overflow(a->num, b->num, &n))
				return jv_set_int(a, n);
			break;
		case OP_SUB:
			if (!__builtin_sub_overflow(a->num, b->num, &n))
				return jv_set_int(a, n);
			break;
		case OP_MUL:
			if (mul_ints(a->num, b->num, &n))
				return jv_set_int(a, n);
			break;
		case OP_POW:
			if (b->num > 64 && (a->num > 1 || a->num < -1))
				return jfind(p->J, "jinja.resource", off, NULL,
				    0, "raises %lld to the power %lld: Jinja "
				    "folds constants while compiling, and a "
				    "huge power never finishes",
				    (long long)a->num, (long long)b->num);
			if (a->num >= -1 && a->num <= 1 && b->num >= 0)
				return jv_set_int(a, a->num != -1 ? (b->num ?
				    a->num : 1) : (b->num % 2 ? -1 : 1));
			if (b->num >= 0) {
				int64_t acc = 1, k;

				for (k = 0; k < b->num; k++)
					if (!mul_ints(acc, a->num, &acc))
						break;
				if (k == b->num)
					return jv_set_int(a, acc);
			}
			break;
		default:
			break;
		}
	}
	jv_unknown(a, (a->flags | b->flags) & JF_BUILT);
	return 0;
}

/* Binary levels of Jinja's grammar, tightest last. */
static int
p_pow(struct jp *p, struct jval *out)
{
	struct jval rhs;
	size_t off;
	int r;

	if ((r = p_unary(p, out, 1)) != 0)
		return r;
	jv_init(&rhs);
	while (is_op(p, OP_POW)) {
		off = cur_off(p);
		p->i++;
		if ((r = p_unary(p, &rhs, 1)) != 0 ||
		    (r = binop(p, off, OP_POW, out, &rhs)) != 0)
			break;
	}
	jv_free(&rhs);
	return r;
}

static int
p_math2(struct jp *p, struct jval *out)
{
	struct jval rhs;
	size_t off;
	int r, op;

	if ((r = p_pow(p, out)) != 0)
		return r;
	jv_init(&rhs);
	while (is_op(p, OP_MUL) || is_op(p, OP_DIV) || is_op(p, OP_FLOORDIV) ||
	    is_op(p, OP_MOD)) {
		op = cur(p)->op;
		off = cur_off(p);
		p->i++;
		if ((r = p_pow(p, &rhs)) != 0 ||
		    (r = binop(p, off, op, out, &rhs)) != 0)
			break;
	}
	jv_free(&rhs);
	return r;
}

static int
p_concat(struct jp *p, struct jval *out)
{
	struct jval rhs;
	size_t off;
	int r;

	if ((r = p_math2(p, out)) != 0)
		return r;
	jv_init(&rhs);
	while (is_op(p, OP_TILDE)) {
		off = cur_off(p);
		p->i++;
		if ((r = p_math2(p, &rhs)) != 0 || (r = concat(out, &rhs)) != 0 ||
		    (r = check_name(p->J, off, out, CTX_STRING, 0)) != 0)
			break;
	}
	jv_free(&rhs);
	return r;
}

static int
p_math1(struct jp *p, struct jval *out)
{
	struct jval rhs;
	size_t off;
	int r, op;

	if ((r = p_concat(p, out)) != 0)
		return r;
	jv_init(&rhs);
	while (is_op(p, OP_ADD) || is_op(p, OP_SUB)) {
		op = cur(p)->op;
		off = cur_off(p);
		p->i++;
		if ((r = p_concat(p, &rhs)) != 0 ||
		    (r = binop(p, off, op, out, &rhs)) != 0)
			break;
		if (out->kind == JV_STR &&
		    (r = check_name(p->J, off, out, CTX_STRING, 0)) != 0)
			break;
	}
	jv_free(&rhs);
	return r;
}

static int
is_compare(const struct jp *p)
{
	return is_op(p, OP_EQ) || is_op(p, OP_NE) || is_op(p, OP_GT) ||
	    is_op(p, OP_GE) || is_op(p, OP_LT) || is_op(p, OP_LE) ||
	    is_name(p, "in") || (is_name(p, "not") &&
	    tok_is(p->J, peek_tok(p, 1), "in"));
}

static int
p_compare(struct jp *p, struct jval *out)
{
	struct jval rhs;
	int r;

	if ((r = p_math1(p, out)) != 0)
		return r;
	jv_init(&rhs);
	while (is_compare(p)) {
		p->i += is_name(p, "not") ? 2 : 1;
		if ((r = p_math1(p, &rhs)) != 0)
			break;
		jv_unknown(out, 0);
	}
	jv_free(&rhs);
	return r;
}

static int
p_not(struct jp *p, struct jval *out)
{
	int r;

	if (!is_name(p, "not"))
		return p_compare(p, out);
	if ((r = enter(p)) != 0)
		return r;
	p->i++;
	r = p_not(p, out);
	jv_unknown(out, 0);
	p->depth--;
	return r;
}

static int
p_and_or(struct jp *p, struct jval *out, int is_or)
{
	struct jval rhs;
	int r;

	if ((r = is_or ? p_and_or(p, out, 0) : p_not(p, out)) != 0)
		return r;
	jv_init(&rhs);
	while (is_name(p, is_or ? "or" : "and")) {
		int t = truth(out);

		p->i++;
		if ((r = is_or ? p_and_or(p, &rhs, 0) : p_not(p, &rhs)) != 0)
			break;
		/* x or y is x when x is true, else y; and the reverse. */
		if (t < 0)
			jv_unknown(out, 0);
		else if ((is_or && !t) || (!is_or && t))
			jv_move(out, &rhs);
	}
	jv_free(&rhs);
	return r;
}

/* or-expression ['if' or-expression ['else' condexpr]] */
static int
p_expr(struct jp *p, struct jval *out, int with_cond)
{
	struct jval cond, other;
	int r, t;

	if ((r = enter(p)) != 0)
		return r;
	jv_free(out);
	if ((r = p_and_or(p, out, 1)) != 0 || !with_cond)
		goto out;
	jv_init(&cond);
	jv_init(&other);
	while (is_name(p, "if")) {
		p->i++;
		if ((r = p_and_or(p, &cond, 1)) != 0)
			break;
		t = truth(&cond);
		if (is_name(p, "else")) {
			p->i++;
			if ((r = p_expr(p, &other, 1)) != 0)
				break;
		} else {
			jv_unknown(&other, 0);
		}
		if (t == 0)
			jv_move(out, &other);
		else if (t < 0)
			jv_unknown(out, 0);
	}
	jv_free(&cond);
	jv_free(&other);
out:
	p->depth--;
	return r;
}

/*
 * Is the current token where a tuple ends?  stop is an extra keyword
 * ("in" for a for-loop target, "recursive" for its iterable).
 */
static int
tuple_end(const struct jp *p, const char *stop)
{
	return cur(p)->type == JT_END || is_op(p, OP_RPAREN) ||
	    (stop != NULL && is_name(p, stop)) ||
	    (stop != NULL && strcmp(stop, "recursive") == 0 &&
	    is_name(p, "if"));
}

/* expr (',' expr)* [','] : a tuple, or the one expression. */
static int
p_tuple(struct jp *p, struct jval *out, int with_cond, const char *stop,
    int explicit)
{
	struct jval item;
	size_t n = 0;
	int r = 0, is_tuple = 0, known = 1;

	jv_init(&item);
	jv_free(out);
	for (;;) {
		if (n > 0) {
			if (!is_op(p, OP_COMMA))
				break;
			p->i++;
		}
		if (tuple_end(p, stop))
			break;
		if ((r = p_expr(p, &item, with_cond)) != 0)
			goto out;
		if (n == 0 && !is_op(p, OP_COMMA)) {
			jv_move(out, &item);
			n = 1;
			continue;
		}
		if (n == 0 || !is_tuple) {
			/* Turn the first item into a list of items. */
			struct jval first;

			jv_init(&first);
			if (n > 0)
				jv_move(&first, out);
			if ((r = jv_list_begin(out)) != 0) {
				jv_free(&first);
				goto out;
			}
			if (n > 0 && first.kind == JV_STR && is_const(&first))
				r = jv_list_add(out, jv_bytes(&first),
				    first.b.len);
			else if (n > 0)
				known = 0;
			jv_free(&first);
			if (r != 0)
				goto out;
			is_tuple = 1;
		}
		if (item.kind == JV_STR && is_const(&item) && known)
			r = jv_list_add(out, jv_bytes(&item), item.b.len);
		else if (item.kind == JV_INT && known) {
			char num[32];

			snprintf(num, sizeof(num), "%lld", (long long)item.num);
			r = jv_list_add(out, num, strlen(num));
		} else
			known = 0;
		if (r != 0)
			goto out;
		n++;
	}
	if (n == 0) {
		if (!explicit)
			r = synerr(p->J, cur_off(p), "expected an expression");
		else
			jv_unknown(out, 0);
	} else if (is_tuple && !known)
		jv_unknown(out, 0);
out:
	jv_free(&item);
	return r;
}

/* ------------------------------------------------------------------ */
/* Statements.                                                          */

/*
 * An assignment target: names, dotted namespace names, tuples of them.
 * Each name is bound to unknown unless value (a constant list with one
 * item per name, or one value) says otherwise; the caller binds it.
 */
struct jtarget {
	const struct jtok *name[16];
	const struct jtok *attr[16];
	size_t n;
	int complex;
};

static int
p_target(struct jp *p, struct jtarget *tg, const char *stop, int ns)
{
	int r;

	for (;;) {
		if (tuple_end(p, stop) || is_op(p, OP_ASSIGN) ||
		    is_op(p, OP_PIPE))
			break;
		if (is_op(p, OP_LPAREN)) {
			p->i++;
			tg->complex = 1;
			if ((r = enter(p)) != 0)
				return r;
			r = p_target(p, tg, NULL, 0);
			p->depth--;
			if (r != 0 ||
			    (r = expect_op(p, OP_RPAREN, "expected ')'")) != 0)
				return r;
		} else if (cur(p)->type == JT_NAME) {
			if (tg->n < 16) {
				tg->name[tg->n] = cur(p);
				tg->attr[tg->n] = NULL;
			}
			p->i++;
			if (ns && is_op(p, OP_DOT) &&
			    peek_tok(p, 1)->type == JT_NAME) {
				if (tg->n < 16)
					tg->attr[tg->n] = peek_tok(p, 1);
				p->i += 2;
			}
			tg->n++;
		} else {
			return synerr(p->J, cur_off(p),
			    "expected a name to assign to");
		}
		if (!is_op(p, OP_COMMA))
			break;
		tg->complex = 1;
		p->i++;
	}
	if (tg->n == 0)
		return synerr(p->J, cur_off(p), "expected a name to assign to");
	return 0;
}

/* Binds target names: one value, or a constant list unpacked. */
static int
bind_target(struct jp *p, const struct jtarget *tg, const struct jval *v)
{
	char full[JJ_MAX_VARNAME];
	const uint8_t *s, *a, *item;
	struct jval one;
	size_t i, n;
	int r = 0, k;

	jv_init(&one);
	for (i = 0; i < tg->n && i < 16 && r == 0; i++) {
		if ((s = src_bytes(p->J, tg->name[i]->off,
		    tg->name[i]->len)) == NULL)
			break;
		jv_free(&one);
		if (tg->n == 1 && !tg->complex)
			r = jv_copy(&one, v);
		else if (v->kind == JV_LIST && v->nitems == tg->n &&
		    jv_item(v, i, &item, &n) == 0)
			r = jv_set_str(&one, item, n, v->flags);
		if (r != 0)
			break;
		if (tg->attr[i] != NULL) {
			a = src_bytes(p->J, tg->attr[i]->off, tg->attr[i]->len);
			k = a == NULL ? -1 : snprintf(full, sizeof(full),
			    "%.*s.%.*s", (int)tg->name[i]->len,
			    (const char *)s, (int)tg->attr[i]->len,
			    (const char *)a);
			if (k > 0 && (size_t)k < sizeof(full))
				r = var_set(p->J, tg->name[i]->off,
				    (const uint8_t *)full, (size_t)k, &one, 0);
			continue;
		}
		r = var_set(p->J, tg->name[i]->off, s, tg->name[i]->len, &one,
		    0);
	}
	jv_free(&one);
	return r;
}

static int
push_block(struct jctx *J, int kind, size_t off)
{
	struct jblock *b;

	if (J->nblocks >= JJ_MAX_BLOCKS)
		return pal_err_set(&J->s->err, PAL_ERR_LIMIT,
		    "%s: blocks nested deeper than %d", J->where,
		    JJ_MAX_BLOCKS);
	b = &J->blocks[J->nblocks++];
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->off = off;
	pal_buf_init(&b->body, JJ_MAX_STR);
	return 0;
}

/* Starts capturing a block's data: {% set x %} and macro bodies. */
static void
capture(struct jctx *J, const struct jtok *name, int is_macro)
{
	struct jblock *b = &J->blocks[J->nblocks - 1];
	const uint8_t *s = src_bytes(J, name->off, name->len);

	if (s == NULL || name->len >= sizeof(b->target))
		return;
	memcpy(b->target, s, name->len);
	b->target[name->len] = '\0';
	b->capture = 1;
	b->pure = 1;
	b->is_macro = is_macro;
}

/* Closes the innermost block, which must be of kind; binds captures. */
static int
pop_block(struct jp *p, int kind, const char *what)
{
	struct jctx *J = p->J;
	struct jblock *b;
	struct jval v;
	int r = 0;

	if (J->nblocks == 0 || J->blocks[J->nblocks - 1].kind != kind)
		return synerr(J, p->tag->off, what);
	b = &J->blocks[--J->nblocks];
	if (b->capture && b->pure) {
		jv_init(&v);
		if ((r = jv_set_str(&v, b->body.p != NULL ? b->body.p :
		    (const uint8_t *)"", b->body.len, JF_OBF | JF_BUILT)) == 0)
			r = var_set(J, p->tag->off, (const uint8_t *)b->target,
			    strlen(b->target), &v, b->is_macro);
		/* Judged without the whitespace a renderer may keep. */
		if (r == 0 && v.kind == JV_STR &&
		    (r = strip_str(&v, 1, 1, NULL)) == 0)
			r = check_name(J, p->tag->off, &v, CTX_STRING, 0);
		jv_free(&v);
	}
	pal_buf_free(&b->body);
	return r;
}

/* Tags that need an extension HF does not load, or a loader. */
static const char *const unusual_tags[] = {
	"include", "import", "from", "extends", "do", "trans", "pluralize",
	"endtrans", "debug", NULL,
};

static int
st_end_only(struct jp *p)
{
	if (cur(p)->type != JT_END)
		return synerr(p->J, cur_off(p), "unexpected token after tag");
	return 0;
}

static int
st_for(struct jp *p)
{
	struct jtarget tg;
	struct jval v;
	int r;

	memset(&tg, 0, sizeof(tg));
	jv_init(&v);
	if ((r = p_target(p, &tg, "in", 0)) != 0)
		goto out;
	if (!is_name(p, "in")) {
		r = synerr(p->J, cur_off(p), "expected 'in'");
		goto out;
	}
	p->i++;
	if ((r = p_tuple(p, &v, 0, "recursive", 0)) != 0)
		goto out;
	if (is_name(p, "if")) {
		p->i++;
		if ((r = p_expr(p, &v, 1)) != 0)
			goto out;
	}
	if (is_name(p, "recursive"))
		p->i++;
	jv_unknown(&v, 0);
	if ((r = bind_target(p, &tg, &v)) != 0 || (r = st_end_only(p)) != 0)
		goto out;
	r = push_block(p->J, JB_FOR, p->tag->off);
out:
	jv_free(&v);
	return r;
}

static int
st_set(struct jp *p)
{
	struct jtarget tg;
	const uint8_t *s;
	struct jval v;
	int r, filtered;

	memset(&tg, 0, sizeof(tg));
	jv_init(&v);
	if ((r = p_target(p, &tg, NULL, 1)) != 0)
		goto out;
	if (is_op(p, OP_ASSIGN)) {
		p->i++;
		if ((r = p_tuple(p, &v, 1, NULL, 0)) != 0 ||
		    (r = bind_target(p, &tg, &v)) != 0)
			goto out;
		r = st_end_only(p);
		goto out;
	}
	/* {% set x %}...{% endset %}, optionally filtered. */
	if (tg.n != 1 || tg.complex || tg.attr[0] != NULL) {
		r = synerr(p->J, cur_off(p), "expected '='");
		goto out;
	}
	filtered = is_op(p, OP_PIPE);
	if ((r = p_filter_expr(p, &v)) != 0 || (r = st_end_only(p)) != 0 ||
	    (r = push_block(p->J, JB_SET, p->tag->off)) != 0)
		goto out;
	if (!filtered)
		capture(p->J, tg.name[0], 0);
	else if ((s = src_bytes(p->J, tg.name[0]->off,
	    tg.name[0]->len)) != NULL)
		r = var_set_unknown(p->J, tg.name[0]->off, s, tg.name[0]->len);
out:
	jv_free(&v);
	return r;
}

/* macro name(params [= default]) and call [(params)] expr */
static int
p_params(struct jp *p)
{
	struct jval v;
	const uint8_t *s;
	int r = 0;

	jv_init(&v);
	if ((r = expect_op(p, OP_LPAREN, "expected '('")) != 0)
		return r;
	while (!is_op(p, OP_RPAREN)) {
		if (cur(p)->type != JT_NAME) {
			r = synerr(p->J, cur_off(p), "expected a parameter");
			break;
		}
		if ((s = src_bytes(p->J, cur(p)->off, cur(p)->len)) != NULL &&
		    (r = var_set_unknown(p->J, cur(p)->off, s,
		    cur(p)->len)) != 0)
			break;
		p->i++;
		if (is_op(p, OP_ASSIGN)) {
			p->i++;
			if ((r = p_expr(p, &v, 1)) != 0)
				break;
		}
		if (!is_op(p, OP_COMMA))
			break;
		p->i++;
	}
	if (r == 0)
		r = expect_op(p, OP_RPAREN, "expected ')'");
	jv_free(&v);
	return r;
}

static int
st_macro(struct jp *p)
{
	const struct jtok *name = cur(p);
	int r;

	if (name->type != JT_NAME)
		return synerr(p->J, cur_off(p), "expected a macro name");
	p->i++;
	if ((r = p_params(p)) != 0 || (r = st_end_only(p)) != 0 ||
	    (r = push_block(p->J, JB_MACRO, p->tag->off)) != 0)
		return r;
	capture(p->J, name, 1);
	return 0;
}

static int
st_expr_block(struct jp *p, int kind, int params)
{
	struct jval v;
	int r;

	jv_init(&v);
	if (params && is_op(p, OP_LPAREN) && (r = p_params(p)) != 0)
		goto out;
	if ((r = p_expr(p, &v, 1)) != 0 || (r = st_end_only(p)) != 0)
		goto out;
	r = kind ? push_block(p->J, kind, p->tag->off) : 0;
out:
	jv_free(&v);
	return r;
}

/* {% filter name(args)|name %} */
static int
st_filter(struct jp *p)
{
	struct jval v;
	int r;

	jv_init(&v);
	p->i--;		/* p_filter expects to stand on the separator */
	do {
		if ((r = p_filter(p, &v)) != 0)
			goto out;
	} while (is_op(p, OP_PIPE));
	if ((r = st_end_only(p)) == 0)
		r = push_block(p->J, JB_FILTER, p->tag->off);
out:
	jv_free(&v);
	return r;
}

static int
st_with(struct jp *p)
{
	struct jtarget tg;
	struct jval v;
	int r = 0;

	jv_init(&v);
	while (cur(p)->type != JT_END) {
		memset(&tg, 0, sizeof(tg));
		if ((r = p_target(p, &tg, NULL, 0)) != 0 ||
		    (r = expect_op(p, OP_ASSIGN, "expected '='")) != 0 ||
		    (r = p_expr(p, &v, 1)) != 0 ||
		    (r = bind_target(p, &tg, &v)) != 0)
			goto out;
		if (!is_op(p, OP_COMMA))
			break;
		p->i++;
	}
	if ((r = st_end_only(p)) == 0)
		r = push_block(p->J, JB_WITH, p->tag->off);
out:
	jv_free(&v);
	return r;
}

static int
st_else(struct jp *p, int elif)
{
	struct jctx *J = p->J;
	int top = J->nblocks > 0 ? J->blocks[J->nblocks - 1].kind : 0;
	struct jval v;
	int r;

	if (top != JB_IF && (elif || top != JB_FOR))
		return synerr(J, p->tag->off, elif ? "'elif' outside 'if'" :
		    "'else' outside 'if' or 'for'");
	if (!elif)
		return st_end_only(p);
	jv_init(&v);
	if ((r = p_tuple(p, &v, 1, NULL, 0)) == 0)
		r = st_end_only(p);
	jv_free(&v);
	return r;
}

/* Statements: {% keyword ... %}.  Unknown tags are findings. */
static int
p_statement(struct jp *p)
{
	static const struct {
		const char *name;
		int kind;
	} ends[] = {
		{ "endfor", JB_FOR }, { "endif", JB_IF },
		{ "endmacro", JB_MACRO }, { "endcall", JB_CALL },
		{ "endfilter", JB_FILTER }, { "endset", JB_SET },
		{ "endwith", JB_WITH }, { "endblock", JB_BLOCK },
		{ "endautoescape", JB_AUTOESCAPE },
		{ "endgeneration", JB_GENERATION },
	};
	struct jctx *J = p->J;
	const struct jtok *kw = cur(p);
	const uint8_t *s;
	size_t i;
	int r;

	if (kw->type != JT_NAME)
		return synerr(J, cur_off(p), "expected a statement name");
	p->i++;
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (tok_is(J, kw, ends[i].name)) {
			char what[64];

			snprintf(what, sizeof(what), "unexpected '%s'",
			    ends[i].name);
			if ((r = pop_block(p, ends[i].kind, what)) != 0)
				return r;
			/* {% endblock name %} and {% endmacro name %} */
			if (cur(p)->type == JT_NAME)
				p->i++;
			return st_end_only(p);
		}
	if (tok_is(J, kw, "for"))
		return st_for(p);
	if (tok_is(J, kw, "if"))
		return st_expr_block(p, JB_IF, 0);
	if (tok_is(J, kw, "elif"))
		return st_else(p, 1);
	if (tok_is(J, kw, "else"))
		return st_else(p, 0);
	if (tok_is(J, kw, "set"))
		return st_set(p);
	if (tok_is(J, kw, "macro"))
		return st_macro(p);
	if (tok_is(J, kw, "call"))
		return st_expr_block(p, JB_CALL, 1);
	if (tok_is(J, kw, "filter"))
		return st_filter(p);
	if (tok_is(J, kw, "with"))
		return st_with(p);
	if (tok_is(J, kw, "autoescape"))
		return st_expr_block(p, JB_AUTOESCAPE, 0);
	if (tok_is(J, kw, "break") || tok_is(J, kw, "continue"))
		return st_end_only(p);
	if (tok_is(J, kw, "generation")) {
		if ((r = st_end_only(p)) != 0)
			return r;
		return push_block(J, JB_GENERATION, p->tag->off);
	}
	if (tok_is(J, kw, "block")) {
		if (cur(p)->type != JT_NAME)
			return synerr(J, cur_off(p), "expected a block name");
		p->i++;
		while (is_name(p, "scoped") || is_name(p, "required"))
			p->i++;
		if ((r = st_end_only(p)) != 0)
			return r;
		return push_block(J, JB_BLOCK, p->tag->off);
	}
	if ((s = src_bytes(J, kw->off, kw->len)) == NULL)
		return PAL_ERR_FORMAT;
	if (in_list(unusual_tags, s, kw->len)) {
		struct pal_buf nb;

		pal_buf_init(&nb, 512);
		r = show(&nb, s, kw->len);
		if (r == 0)
			r = jfind(J, "jinja.unusual", kw->off, s, kw->len,
			    "the '%s' tag loads other templates or needs an "
			    "extension chat templates are not rendered with",
			    (char *)nb.p);
		pal_buf_free(&nb);
		/* What follows is checked token by token. */
		return r != 0 ? r : JJ_FALLBACK;
	}
	{
		struct pal_buf nb;

		pal_buf_init(&nb, 512);
		r = show(&nb, s, kw->len);
		if (r == 0)
			r = jfind(J, "jinja.unusual", kw->off, s, kw->len,
			    "unknown tag '%s': Jinja refuses the template "
			    "unless an extension defines it", (char *)nb.p);
		pal_buf_free(&nb);
	}
	return r != 0 ? r : JJ_FALLBACK;
}

/*
 * Checks a tag that could not be parsed, token by token: every string,
 * every attribute name, every bare name.
 */
static int
fallback(struct jctx *J, const struct jtag *tag)
{
	const struct jtok *t;
	const uint8_t *s;
	struct jval v;
	size_t i;
	int r = 0, called, after_dot;

	jv_init(&v);
	for (i = 0; i < tag->n && r == 0; i++) {
		t = &tag->t[i];
		called = i + 1 < tag->n && tag->t[i + 1].type == JT_OP &&
		    tag->t[i + 1].op == OP_LPAREN;
		after_dot = i > 0 && tag->t[i - 1].type == JT_OP &&
		    tag->t[i - 1].op == OP_DOT;
		if (t->type == JT_STRING) {
			if ((r = jv_set_str(&v, "", 0, 0)) == 0 &&
			    (r = decode_string(J, t, &v)) == 0)
				r = check_name(J, t->off, &v, CTX_ITEM, called);
		} else if (t->type == JT_NAME &&
		    (s = src_bytes(J, t->off, t->len)) != NULL) {
			if (after_dot)
				r = check_name_bytes(J, t->off, s, t->len,
				    CTX_ATTR, called);
			else if (!in_list(keywords, s, t->len) &&
			    (r = check_name_bytes(J, t->off, s, t->len,
			    CTX_GLOBAL, called)) == 0)
				r = check_host(J, t->off, s, t->len);
		}
	}
	jv_free(&v);
	return r;
}

/* Parses one tag; a syntax error turns into the token-by-token check. */
static int
do_tag(struct jctx *J, const struct jtag *tag)
{
	struct jp p;
	struct jval v;
	int r;

	memset(&p, 0, sizeof(p));
	p.J = J;
	p.tag = tag;
	/* Any tag inside a captured body makes that body unknown. */
	if (J->nblocks > 0 && J->blocks[J->nblocks - 1].capture) {
		const struct jtok *kw = tag->n > 0 ? &tag->t[0] : &end_tok;

		if (!tag->block || (!tok_is(J, kw, "endset") &&
		    !tok_is(J, kw, "endmacro")))
			J->blocks[J->nblocks - 1].pure = 0;
	}
	if (tag->block) {
		r = p_statement(&p);
	} else {
		jv_init(&v);
		r = p_tuple(&p, &v, 1, NULL, 0);
		if (r == 0 && cur(&p)->type != JT_END)
			r = synerr(J, cur_off(&p), "unexpected token in '{{ }}'");
		jv_free(&v);
	}
	if (r == PAL_ERR_FORMAT || r == JJ_FALLBACK) {
		if (r == PAL_ERR_FORMAT && !J->syntax)
			synerr(J, tag->off, "template syntax error");
		r = fallback(J, tag);
	}
	return r;
}

/* ------------------------------------------------------------------ */
/* The template: data, comments, raw blocks and tags.                   */

/* Adds template data to the innermost captured body. */
static int
add_data(struct jctx *J, size_t off, size_t n)
{
	struct jblock *b;
	const uint8_t *p;

	if (J->nblocks == 0 || n == 0)
		return 0;
	b = &J->blocks[J->nblocks - 1];
	if (!b->capture || !b->pure)
		return 0;
	if ((p = src_bytes(J, off, n)) == NULL)
		return PAL_ERR_FORMAT;
	if (pal_buf_append(&b->body, p, n) == PAL_ERR_LIMIT)
		b->pure = 0;
	return 0;
}

/* Finds the next "{{", "{%" or "{#" at or after off. */
static size_t
next_tag(const struct jctx *J, size_t off)
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
static size_t
find_lit(const struct jctx *J, size_t off, const char *lit)
{
	for (; src_at(J, off) >= 0; off++)
		if (src_starts(J, off, lit))
			return off;
	return SIZE_MAX;
}

/* {% raw %}: "{%" [-+] ws "raw" ws [-+] "%}"; *len its length. */
static int
is_raw_tag(const struct jctx *J, size_t off, const char *word, size_t *len)
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
static size_t
find_endraw(const struct jctx *J, size_t off, size_t *len)
{
	for (;;) {
		off = find_lit(J, off, "{%");
		if (off == SIZE_MAX || is_raw_tag(J, off, "endraw", len))
			return off;
		off++;
	}
}

/*
 * Adds the data between two tags, trimmed as the renderer would: "-"
 * strips whitespace, and trim_blocks (which transformers sets) drops the
 * newline after a block tag or comment.
 */
static int
add_segment(struct jctx *J, size_t off, size_t end, int after, int before)
{
	if (after == 2) {
		while (off < end && is_space(src_at(J, off)))
			off++;
	} else if (after == 1 && src_at(J, off) == '\n') {
		off++;
	} else if (after == 1 && src_starts(J, off, "\r\n")) {
		off += 2;
	}
	if (before)
		while (end > off && is_space(src_at(J, end - 1)))
			end--;
	return end > off ? add_data(J, off, end - off) : 0;
}

static int
walk(struct jctx *J)
{
	struct jtag tag;
	size_t off = 0, at, n, len = J->src.len;
	int r = 0, after = 0;

	memset(&tag, 0, sizeof(tag));
	while (off < len && r == 0) {
		at = next_tag(J, off);
		if (at == SIZE_MAX) {
			r = add_segment(J, off, len, after, 0);
			break;
		}
		if ((r = add_segment(J, off, at, after,
		    src_at(J, at + 2) == '-')) != 0)
			break;
		if (src_starts(J, at, "{#")) {
			size_t end = find_lit(J, at + 2, "#}");

			if (end == SIZE_MAX) {
				synerr(J, at, "unterminated comment");
				break;
			}
			after = src_at(J, end - 1) == '-' ? 2 : 1;
			off = end + 2;
			continue;
		}
		if (is_raw_tag(J, at, "raw", &n)) {
			size_t body = at + n, end = find_endraw(J, body, &n);

			if (end == SIZE_MAX) {
				synerr(J, at, "missing end of raw block");
				r = add_data(J, body, len - body);
				break;
			}
			if ((r = add_data(J, body, end - body)) != 0)
				break;
			after = src_at(J, end + n - 3) == '-' ? 2 : 1;
			off = end + n;
			continue;
		}
		tag.n = 0;
		tag.block = src_starts(J, at, "{%");
		tag.off = at;
		tag.strip_left = tag.no_lstrip = tag.strip_right = 0;
		if ((r = lex_tag(J, &tag)) != 0)
			break;
		if ((r = do_tag(J, &tag)) != 0)
			break;
		after = tag.strip_right ? 2 : tag.block ? 1 : 0;
		off = tag.end;
	}
	free(tag.t);
	if (r == 0 && J->nblocks > 0)
		synerr(J, J->blocks[J->nblocks - 1].off,
		    "block not closed before the end of the template");
	return r;
}

static void
ctx_free(struct jctx *J)
{
	size_t i;

	for (i = 0; i < J->nvars; i++)
		jv_free(&J->vars[i].v);
	for (i = 0; i < J->nseen; i++)
		free(J->seen[i]);
	for (i = 0; i < J->nblocks; i++)
		pal_buf_free(&J->blocks[i].body);
	free(J->vars);
	free(J->seen);
	free(J->blocks);
}

int
pal_jinja_check(struct pal_scan *s, const struct pal_scan_item *it,
    const char *where, const char *tmpl, size_t len)
{
	struct jctx J;
	size_t line, col;
	int r;

	if (len > JJ_MAX_TEMPLATE)
		return pal_err_set(&s->err, PAL_ERR_LIMIT,
		    "%s: template of %zu bytes exceeds the %zu-byte limit",
		    where, len, JJ_MAX_TEMPLATE);
	memset(&J, 0, sizeof(J));
	J.s = s;
	J.it = it;
	J.where = where;
	pal_cur_init(&J.src, tmpl, len);
	J.vars = calloc(JJ_MAX_VARS, sizeof(*J.vars));
	J.seen = calloc(JJ_MAX_SEEN, sizeof(*J.seen));
	J.blocks = calloc(JJ_MAX_BLOCKS, sizeof(*J.blocks));
	if (J.vars == NULL || J.seen == NULL || J.blocks == NULL) {
		r = pal_err_set(&s->err, PAL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = walk(&J)) != 0) {
		if (r == PAL_ERR_NOMEM)
			pal_err_set(&s->err, r, "out of memory");
		else if (s->err.code != r)
			pal_err_set(&s->err, r, "%s: could not be checked",
			    where);
		goto out;
	}
	if (J.syntax) {
		line_col(&J, J.syntax_off, &line, &col);
		r = pal_err_set(&s->err, PAL_ERR_FORMAT,
		    "%s: template syntax error at line %zu, column %zu: %s",
		    where, line, col, J.syntax_msg);
	}
out:
	ctx_free(&J);
	return r;
}

/*
 * A template file (chat_template.jinja, or any text with Jinja
 * delimiters).  Text that Jinja would refuse to compile cannot run: such
 * a file is text that happens to hold braces (a README showing template
 * syntax), so whatever the check noticed before the syntax error is
 * withdrawn and the file is listed as skipped.
 */
int
pal_fmt_jinja(struct pal_scan *s, const struct pal_scan_item *it)
{
	struct pal_scan_result *res;
	size_t mark = s->nfindings;
	int r;

	r = pal_jinja_check(s, it, "template", (const char *)it->data, it->len);
	if (r != PAL_ERR_FORMAT && r != PAL_ERR_LIMIT)
		return r;
	pal_scan_retract(s, it, mark);
	res = &s->results[it->result];
	free(res->detail);
	res->detail = strdup("text with template delimiters that Jinja would "
	    "not compile; not a template");
	res->status = PAL_ITEM_SKIPPED;
	return res->detail == NULL ? PAL_ERR_NOMEM : 0;
}
