/*
 * jinja_judge.c - the rules: which names a template uses are steps of the
 * known sandbox escapes, ways to run commands, dunders, computed names
 * or unusual references, and how a finding about each is worded.
 *
 * Names are judged by what they evaluate to (folded values, patterns with
 * unknown pieces) and by where they are used: an attribute, an item, an
 * |attr argument, a bare global, a keyword argument, a str.format field
 * or a constant string.  A tag that could not be parsed is judged token
 * by token.
 */
#include <stdint.h>
#include <string.h>

#include "palisade/buf.h"
#include "jinja_int.h"

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

/* Is s[0..n) one of the names of list (NULL-terminated)? */
int
pal_jinja_in_list(const char *const *list, const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strlen(list[i]) == n && memcmp(list[i], s, n) == 0)
			return 1;
	return 0;
}

/* Is s a host object or a Jinja global whose functions lead to globals? */
int
pal_jinja_is_host(const uint8_t *s, size_t n)
{
	return pal_jinja_in_list(host_names, s, n);
}

/* Which of the names the known escapes go through s[0..n) is. */
enum jclass
pal_jinja_classify(const uint8_t *s, size_t n)
{
	if (pal_jinja_in_list(escape_names, s, n))
		return JC_ESCAPE;
	if (n > 4 && memcmp(s, "__", 2) == 0 && memcmp(s + n - 2, "__", 2) == 0)
		return JC_DUNDER;
	if (pal_jinja_in_list(exec_names, s, n))
		return JC_EXEC;
	if (pal_jinja_in_list(call_names, s, n))
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

/* How a finding names the place a name was used. */
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
	if (pal_jinja_show(&nb, name, n) == PAL_ERR_NOMEM)
		return PAL_ERR_NOMEM;
	switch (cl) {
	case JC_ESCAPE:
		r = pal_jinja_find(J, "jinja.sandbox-escape", off, name, n,
		    "%s '%s'%s is a step of the known template sandbox "
		    "escapes (from any object to Python's globals, builtins "
		    "and os)", ctx_words[ctx], nb.p ? (char *)nb.p : "", how);
		break;
	case JC_DUNDER:
		r = pal_jinja_find(J, "jinja.dunder", off, name, n,
		    "%s '%s'%s reaches a Python dunder attribute, which a "
		    "chat template has no use for", ctx_words[ctx],
		    nb.p ? (char *)nb.p : "", how);
		break;
	case JC_EXEC:
	case JC_CALL:
		r = pal_jinja_find(J, "jinja.os-access", off, name, n,
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
int
pal_jinja_check_name(struct jctx *J, size_t off, const struct jval *v,
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
	cl = pal_jinja_classify(s, v->b.len);
	/* A plain string that merely says 'os' is prose; 'system' is a
	 * word until it is called. */
	if (ctx == CTX_STRING && cl == JC_EXEC && !(v->flags & JF_OBF))
		return 0;
	if (cl == JC_CALL && (!called || ctx == CTX_STRING))
		return 0;
	return report_class(J, cl, ctx, off, s, v->b.len, v->flags);
}

/* pal_jinja_check_name on the plain string s[0..n). */
int
pal_jinja_check_bytes(struct jctx *J, size_t off, const uint8_t *s, size_t n,
    enum jctx_kind ctx, int called)
{
	struct jval v;
	int r;

	jv_init(&v);
	if ((r = pal_jinja_val_set_str(&v, s, n, 0)) == 0)
		r = pal_jinja_check_name(J, off, &v, ctx, called);
	jv_free(&v);
	return r;
}

/* Flags a reference to a host object or a Jinja global with a door. */
int
pal_jinja_check_host(struct jctx *J, size_t off, const uint8_t *s, size_t n)
{
	struct pal_buf nb;
	int r;

	if (!pal_jinja_in_list(host_names, s, n))
		return 0;
	pal_buf_init(&nb, 512);
	if ((r = pal_jinja_show(&nb, s, n)) == 0)
		r = pal_jinja_find(J, "jinja.unusual", off, s, n,
		    "refers to '%s', an object whose functions lead to "
		    "Python's globals; chat templates do not use it",
		    (char *)nb.p);
	pal_buf_free(&nb);
	return r == PAL_ERR_LIMIT ? 0 : r;
}

/* Reports a computed name for |attr or an item lookup. */
int
pal_jinja_computed(struct jctx *J, size_t off, const struct jval *v,
    const char *how)
{
	struct pal_buf nb;
	int r;

	pal_buf_init(&nb, 512);
	if (v->kind == JV_STR &&
	    (r = pal_jinja_show(&nb, jv_bytes(v), v->b.len)) == PAL_ERR_NOMEM)
		return r;
	r = pal_jinja_find(J, "jinja.attr-computed", off, NULL, 0,
	    "%s with a name computed while rendering ('%s'), which hides "
	    "what is looked up", how, nb.p != NULL ? (char *)nb.p : "?");
	pal_buf_free(&nb);
	return r;
}

/* Judges a name given to |attr, map(attribute=...) and the like. */
int
pal_jinja_check_attr(struct jp *p, size_t off, const struct jval *name,
    int called)
{
	size_t i, start = 0;
	int r;

	if (name->kind == JV_INT)
		return 0;
	if (!is_const(name)) {
		if ((r = pal_jinja_check_name(p->J, off, name, CTX_ATTRF,
		    called)) != 0)
			return r;
		return pal_jinja_computed(p->J, off, name, "an attr filter");
	}
	if (name->kind != JV_STR)
		return 0;
	if ((r = pal_jinja_check_name(p->J, off, name, CTX_ATTRF, called)) != 0)
		return r;
	/* attribute='a.b' walks a dotted path. */
	for (i = 0; i <= name->b.len; i++) {
		if (i < name->b.len && name->b.p[i] != '.')
			continue;
		if (start > 0 || i < name->b.len)
			if ((r = pal_jinja_check_bytes(p->J, off,
			    name->b.p + start, i - start, CTX_ATTRF, 0)) != 0)
				return r;
		start = i + 1;
	}
	return 0;
}

/*
 * str.format('{0.__class__}') reads attributes itself: a constant
 * format string whose fields reach into their arguments is judged here.
 */
int
pal_jinja_check_format(struct jctx *J, size_t off, const struct jval *fmt)
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
			r = pal_jinja_check_bytes(J, off, s + b + 1, e - b - 1,
			    CTX_FORMAT, 0);
			if (r == 0 && e > b + 1)
				r = pal_jinja_find(J, "jinja.format-attr", off,
				    s + b + 1, e - b - 1,
				    "a str.format field reads an "
				    "attribute or item of its argument, which "
				    "sandboxes miss when the format string is "
				    "not checked");
		}
		i = a;
	}
	return r;
}

/*
 * Checks a tag that could not be parsed, token by token: every string,
 * every attribute name, every bare name.
 */
int
pal_jinja_check_tokens(struct jctx *J, const struct jtag *tag)
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
			if ((r = pal_jinja_val_set_str(&v, "", 0, 0)) == 0 &&
			    (r = pal_jinja_decode_string(J, t, &v)) == 0)
				r = pal_jinja_check_name(J, t->off, &v,
				    CTX_ITEM, called);
		} else if (t->type == JT_NAME &&
		    (s = src_bytes(J, t->off, t->len)) != NULL) {
			if (after_dot)
				r = pal_jinja_check_bytes(J, t->off, s, t->len,
				    CTX_ATTR, called);
			else if (!pal_jinja_in_list(keywords, s, t->len) &&
			    (r = pal_jinja_check_bytes(J, t->off, s, t->len,
			    CTX_GLOBAL, called)) == 0)
				r = pal_jinja_check_host(J, t->off, s, t->len);
		}
	}
	jv_free(&v);
	return r;
}
