/*
 * jinja_expr.c - Jinja's expression grammar over the tokens of one tag:
 * conditionals, or/and/not, comparisons, arithmetic, ~, filters, tests,
 * calls, attribute, item and slice lookups, tuple, list and dict
 * literals.  Each expression is evaluated as far as its inputs are
 * constants, and every name it uses is judged where it is used.
 *
 * Nesting is capped at JJ_MAX_DEPTH (PAL_ERR_LIMIT); a token the grammar
 * does not allow is the template's syntax error (PAL_ERR_FORMAT), after
 * which the tag is checked token by token.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jinja_int.h"

const struct jtok pal_jinja_end_tok = { JT_END, 0, 0, 0 };

/* Is t the name word? */
int
pal_jinja_tok_is(const struct jctx *J, const struct jtok *t, const char *word)
{
	const uint8_t *s;

	if (t->type != JT_NAME || t->len != strlen(word))
		return 0;
	s = src_bytes(J, t->off, t->len);
	return s != NULL && memcmp(s, word, t->len) == 0;
}

/* Is the current token the name word? */
int
pal_jinja_is_name(const struct jp *p, const char *word)
{
	return pal_jinja_tok_is(p->J, cur(p), word);
}

/* Consumes op, or records the syntax error what. */
int
pal_jinja_expect(struct jp *p, int op, const char *what)
{
	if (!is_op(p, op))
		return pal_jinja_synerr(p->J, cur_off(p), what);
	p->i++;
	return 0;
}

static int p_unary(struct jp *p, struct jval *out, int with_filter);
static int p_postfix(struct jp *p, struct jval *v);

/*
 * One level deeper into an expression or target; the caller decrements
 * p->depth when it leaves.  Past JJ_MAX_DEPTH, PAL_ERR_LIMIT.
 */
int
pal_jinja_enter(struct jp *p)
{
	if (++p->depth > JJ_MAX_DEPTH)
		return pal_err_set(&p->J->s->err, PAL_ERR_LIMIT,
		    "%s: expression nested deeper than %d", p->J->where,
		    JJ_MAX_DEPTH);
	return 0;
}

/* '(' tuple ')', '[' list ']', '{' dict '}' */
static int
p_list(struct jp *p, struct jval *out, int close, int is_dict)
{
	struct jval item, val;
	int r = 0, known = 1;

	jv_init(&item);
	jv_init(&val);
	if ((r = pal_jinja_list_begin(out)) != 0)
		goto out;
	while (!is_op(p, close)) {
		if (out->nitems > 0 || !known) {
			if ((r = pal_jinja_expect(p, OP_COMMA,
			    "expected ','")) != 0)
				goto out;
			if (is_op(p, close))
				break;
		}
		if ((r = pal_jinja_parse_expr(p, &item, 1)) != 0)
			goto out;
		if (is_dict) {
			if ((r = pal_jinja_expect(p, OP_COLON,
			    "expected ':'")) != 0 ||
			    (r = pal_jinja_parse_expr(p, &val, 1)) != 0)
				goto out;
		}
		if (item.kind == JV_STR && !(item.flags & JF_PARTIAL) &&
		    known) {
			if ((r = pal_jinja_list_add(out, jv_bytes(&item),
			    item.b.len)) != 0)
				goto out;
		} else if (item.kind == JV_INT && known) {
			char num[32];

			snprintf(num, sizeof(num), "%lld", (long long)item.num);
			if ((r = pal_jinja_list_add(out, num,
			    strlen(num))) != 0)
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

/*
 * A name: a constant (true, none, ...), a variable the template set, or
 * a global of the host, judged as such.  The name t is current.
 */
static int
p_name(struct jp *p, const struct jtok *t, struct jval *out)
{
	struct jctx *J = p->J;
	const uint8_t *s;
	struct jvar *var;
	int r;

	p->i++;
	if (pal_jinja_tok_is(J, t, "true") || pal_jinja_tok_is(J, t, "True") ||
	    pal_jinja_tok_is(J, t, "false") ||
	    pal_jinja_tok_is(J, t, "False")) {
		out->kind = JV_BOOL;
		out->num = pal_jinja_tok_is(J, t, "true") ||
		    pal_jinja_tok_is(J, t, "True");
		return 0;
	}
	if (pal_jinja_tok_is(J, t, "none") || pal_jinja_tok_is(J, t, "None")) {
		out->kind = JV_NONE;
		return 0;
	}
	if ((s = src_bytes(J, t->off, t->len)) == NULL)
		return PAL_ERR_FORMAT;
	/*
	 * A variable the template assigned ({% set sys = ... %}) is not the
	 * host's global of that name; a dunder is judged either way.
	 */
	var = pal_jinja_var_find(J, s, t->len);
	if (var == NULL || pal_jinja_classify(s, t->len) == JC_ESCAPE ||
	    pal_jinja_classify(s, t->len) == JC_DUNDER)
		if ((r = pal_jinja_check_bytes(J, t->off, s, t->len,
		    CTX_GLOBAL, is_op(p, OP_LPAREN))) != 0)
			return r;
	if (var == NULL &&
	    (r = pal_jinja_check_host(J, t->off, s, t->len)) != 0)
		return r;
	if (var == NULL && pal_jinja_is_host(s, t->len))
		out->flags |= JF_OBJECT;
	if (var != NULL && !var->is_macro)
		return pal_jinja_val_copy(out, &var->v);
	return 0;
}

static int
p_primary(struct jp *p, struct jval *out)
{
	struct jctx *J = p->J;
	const struct jtok *t = cur(p);
	int64_t n;
	int r;

	jv_free(out);
	switch (t->type) {
	case JT_NAME:
		return p_name(p, t, out);
	case JT_STRING:
		if ((r = pal_jinja_val_set_str(out, "", 0, 0)) != 0)
			return r;
		/* Adjacent literals are one string, as in Python. */
		while (cur(p)->type == JT_STRING) {
			if (cur(p) != t)
				out->flags |= JF_OBF | JF_BUILT;
			if ((r = pal_jinja_decode_string(J, cur(p), out)) != 0)
				return r;
			p->i++;
		}
		return pal_jinja_check_name(J, t->off, out, CTX_STRING, 0);
	case JT_INT:
		p->i++;
		if (pal_jinja_int_value(J, t, &n))
			return jv_set_int(out, n);
		return 0;
	case JT_FLOAT:
		p->i++;
		return 0;
	case JT_OP:
		if (t->op == OP_LPAREN) {
			p->i++;
			if ((r = pal_jinja_parse_tuple(p, out, 1, NULL,
			    1)) != 0)
				return r;
			return pal_jinja_expect(p, OP_RPAREN, "expected ')'");
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
	return pal_jinja_synerr(J, cur_off(p), "expected an expression");
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
			if ((r = pal_jinja_expect(p, OP_COMMA,
			    "expected ','")) != 0 ||
			    is_op(p, OP_RPAREN))
				break;
		if (is_op(p, OP_MUL) || is_op(p, OP_POW)) {
			p->i++;
			a->star = 1;
			if ((r = pal_jinja_parse_expr(p, &tmp, 1)) != 0)
				break;
			jv_free(&tmp);
			continue;
		}
		name = cur(p);
		if (name->type == JT_NAME && peek_tok(p, 1)->type == JT_OP &&
		    peek_tok(p, 1)->op == OP_ASSIGN) {
			p->i += 2;
			if ((s = src_bytes(p->J, name->off,
			    name->len)) != NULL &&
			    (r = pal_jinja_check_bytes(p->J, name->off, s,
			    name->len, CTX_KWARG, 0)) != 0)
				break;
			if ((r = pal_jinja_parse_expr(p, &tmp, 1)) != 0)
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
		if ((r = pal_jinja_parse_expr(p, &tmp, 1)) != 0)
			break;
		if (a->npos < JJ_MAX_ARGS)
			jv_move(&a->pos[a->npos], &tmp);
		a->npos++;
		jv_free(&tmp);
	}
	if (r == 0)
		r = pal_jinja_expect(p, OP_RPAREN, "expected ')'");
	jv_free(&tmp);
	return r;
}

/* '|' name ('.' name)* ['(' args ')'] with the '|' current. */
int
pal_jinja_parse_filter(struct jp *p, struct jval *v)
{
	const struct jtok *t;
	const uint8_t *name;
	struct jargs a;
	size_t off;
	int r;

	p->i++;
	t = cur(p);
	if (t->type != JT_NAME)
		return pal_jinja_synerr(p->J, cur_off(p),
		    "expected a filter name");
	p->i++;
	off = t->off;
	/* Dotted filter names exist only through extensions. */
	while (is_op(p, OP_DOT) && peek_tok(p, 1)->type == JT_NAME)
		p->i += 2;
	if ((name = src_bytes(p->J, t->off, t->len)) == NULL)
		return PAL_ERR_FORMAT;
	pal_jinja_args_init(&a);
	if (is_op(p, OP_LPAREN) && (r = p_args(p, &a)) != 0)
		goto out;
	r = pal_jinja_apply_filter(p, v, name, t->len, &a, off);
out:
	pal_jinja_args_free(&a);
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
	if (pal_jinja_is_name(p, "not"))
		p->i++;
	if (cur(p)->type != JT_NAME)
		return pal_jinja_synerr(p->J, cur_off(p),
		    "expected a test name");
	p->i++;
	while (is_op(p, OP_DOT) && peek_tok(p, 1)->type == JT_NAME)
		p->i += 2;
	jv_unknown(v, 0);
	pal_jinja_args_init(&a);
	jv_init(&arg);
	t = cur(p);
	if (is_op(p, OP_LPAREN)) {
		r = p_args(p, &a);
	} else if ((t->type == JT_NAME || t->type == JT_STRING ||
	    t->type == JT_INT || t->type == JT_FLOAT ||
	    (t->type == JT_OP && (t->op == OP_LBRACKET ||
	    t->op == OP_LBRACE))) && !pal_jinja_is_name(p, "else") &&
	    !pal_jinja_is_name(p, "or") && !pal_jinja_is_name(p, "and")) {
		/* "x is divisibleby 3": one argument without parentheses. */
		if (pal_jinja_is_name(p, "is"))
			r = pal_jinja_synerr(p->J, cur_off(p),
			    "unexpected 'is'");
		else if ((r = p_primary(p, &arg)) == 0)
			r = p_postfix(p, &arg);
	}
	jv_free(&arg);
	pal_jinja_args_free(&a);
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
			if ((r = pal_jinja_parse_expr(p,
			    &parts[k < 3 ? k : 2], 1)) != 0)
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
	if ((r = pal_jinja_expect(p, OP_RBRACKET, "expected ']'")) != 0)
		goto out;
	if ((v->flags & JF_REPR) && (r = pal_jinja_find(p->J, "jinja.unusual",
	    off, NULL, 0, "picks characters out of an object's printed form, "
	    "a way to build names without writing them")) != 0)
		goto out;
	if (is_tuple) {
		jv_unknown(v, 0);
	} else if (is_slice) {
		if (v->kind == JV_STR && !(v->flags & JF_PARTIAL)) {
			if ((r = pal_jinja_slice(v, parts, given)) == 0)
				r = pal_jinja_check_name(p->J, off, v,
				    CTX_STRING, 0);
		} else {
			jv_unknown(v, v->flags & (JF_BUILT | JF_REPR));
		}
	} else {
		struct jval *name = &parts[0];

		if ((r = pal_jinja_check_name(p->J, off, name, CTX_ITEM,
		    is_op(p, OP_LPAREN))) != 0)
			goto out;
		if (name->kind == JV_UNKNOWN || (name->flags & JF_PARTIAL))
			if ((name->flags & JF_BUILT) &&
			    (r = pal_jinja_computed(p->J, off, name,
			    "an item lookup")) != 0)
				goto out;
		if (name->kind == JV_INT && (v->kind == JV_STR ||
		    v->kind == JV_LIST) && !(v->flags & JF_PARTIAL))
			r = pal_jinja_index(v, name->num);
		else
			jv_unknown(v, v->flags & JF_REPR);
	}
out:
	for (i = 0; i < 3; i++)
		jv_free(&parts[i]);
	return r;
}

/*
 * The variable ns.attr bound by {% set ns.attr = ... %}, where base is
 * the token of ns and t, spelling name, that of attr; NULL if none.
 */
static struct jvar *
ns_var(struct jp *p, const struct jtok *base, const struct jtok *t,
    const uint8_t *name)
{
	char full[JJ_MAX_VARNAME];
	const uint8_t *bn = src_bytes(p->J, base->off, base->len);
	int k = bn == NULL ? -1 : snprintf(full, sizeof(full), "%.*s.%.*s",
	    (int)base->len, (const char *)bn, (int)t->len, (const char *)name);

	if (k > 0 && (size_t)k < sizeof(full))
		return pal_jinja_var_find(p->J, (uint8_t *)full, (size_t)k);
	return NULL;
}

/* .name(args) with the '(' current: a method, folded on constants. */
static int
p_method(struct jp *p, struct jval *v, const struct jtok *t,
    const uint8_t *name)
{
	struct jargs a;
	int r;

	pal_jinja_args_init(&a);
	if ((r = p_args(p, &a)) == 0)
		r = pal_jinja_apply_method(p, v, name, t->len, &a, t->off);
	pal_jinja_args_free(&a);
	if (r != 0)
		return r;
	if (v->kind == JV_STR)
		return pal_jinja_check_name(p->J, t->off, v, CTX_STRING, 0);
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
	struct jvar *var;
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
				return pal_jinja_synerr(p->J, cur_off(p),
				    "expected an attribute name");
			p->i++;
			if ((name = src_bytes(p->J, t->off, t->len)) == NULL)
				return PAL_ERR_FORMAT;
			called = is_op(p, OP_LPAREN);
			if ((r = pal_jinja_check_bytes(p->J, t->off, name,
			    t->len, CTX_ATTR, called)) != 0)
				return r;
			/* ns.attr set through {% set ns.attr = ... %}. */
			if (base != NULL && !called &&
			    (var = ns_var(p, base, t, name)) != NULL) {
				if ((r = pal_jinja_val_copy(v, &var->v)) != 0)
					return r;
				base = NULL;
				continue;
			}
			base = NULL;
			if (called) {
				if ((r = p_method(p, v, t, name)) != 0)
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
			pal_jinja_args_init(&a);
			if ((r = p_args(p, &a)) == 0)
				r = pal_jinja_apply_call(p, v, callee, &a);
			pal_jinja_args_free(&a);
			callee = NULL;
			if (r != 0)
				return r;
		} else {
			return 0;
		}
	}
}

/* Filters, tests and calls after a unary expression. */
int
pal_jinja_parse_filters(struct jp *p, struct jval *v)
{
	struct jargs a;
	int r;

	for (;;) {
		if (is_op(p, OP_PIPE)) {
			if ((r = pal_jinja_parse_filter(p, v)) != 0)
				return r;
		} else if (pal_jinja_is_name(p, "is")) {
			if ((r = p_test(p, v)) != 0)
				return r;
		} else if (is_op(p, OP_LPAREN)) {
			pal_jinja_args_init(&a);
			r = p_args(p, &a);
			pal_jinja_args_free(&a);
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

	if ((r = pal_jinja_enter(p)) != 0)
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
		if ((r = p_primary(p, out)) != 0 ||
		    (r = p_postfix(p, out)) != 0)
			goto out;
	}
	if (with_filter)
		r = pal_jinja_parse_filters(p, out);
out:
	p->depth--;
	return r;
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
		    (r = pal_jinja_binop(p, off, OP_POW, out, &rhs)) != 0)
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
		    (r = pal_jinja_binop(p, off, op, out, &rhs)) != 0)
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
		if ((r = p_math2(p, &rhs)) != 0 ||
		    (r = pal_jinja_concat(out, &rhs)) != 0 ||
		    (r = pal_jinja_check_name(p->J, off, out, CTX_STRING,
		    0)) != 0)
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
		    (r = pal_jinja_binop(p, off, op, out, &rhs)) != 0)
			break;
		if (out->kind == JV_STR && (r = pal_jinja_check_name(p->J, off,
		    out, CTX_STRING, 0)) != 0)
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
	    pal_jinja_is_name(p, "in") || (pal_jinja_is_name(p, "not") &&
	    pal_jinja_tok_is(p->J, peek_tok(p, 1), "in"));
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
		p->i += pal_jinja_is_name(p, "not") ? 2 : 1;
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

	if (!pal_jinja_is_name(p, "not"))
		return p_compare(p, out);
	if ((r = pal_jinja_enter(p)) != 0)
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
	while (pal_jinja_is_name(p, is_or ? "or" : "and")) {
		int t = pal_jinja_truth(out);

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
int
pal_jinja_parse_expr(struct jp *p, struct jval *out, int with_cond)
{
	struct jval cond, other;
	int r, t;

	if ((r = pal_jinja_enter(p)) != 0)
		return r;
	jv_free(out);
	if ((r = p_and_or(p, out, 1)) != 0 || !with_cond)
		goto out;
	jv_init(&cond);
	jv_init(&other);
	while (pal_jinja_is_name(p, "if")) {
		p->i++;
		if ((r = p_and_or(p, &cond, 1)) != 0)
			break;
		t = pal_jinja_truth(&cond);
		if (pal_jinja_is_name(p, "else")) {
			p->i++;
			if ((r = pal_jinja_parse_expr(p, &other, 1)) != 0)
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
int
pal_jinja_tuple_end(const struct jp *p, const char *stop)
{
	return cur(p)->type == JT_END || is_op(p, OP_RPAREN) ||
	    (stop != NULL && pal_jinja_is_name(p, stop)) ||
	    (stop != NULL && strcmp(stop, "recursive") == 0 &&
	    pal_jinja_is_name(p, "if"));
}

/* expr (',' expr)* [','] : a tuple, or the one expression. */
int
pal_jinja_parse_tuple(struct jp *p, struct jval *out, int with_cond,
    const char *stop, int explicit)
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
		if (pal_jinja_tuple_end(p, stop))
			break;
		if ((r = pal_jinja_parse_expr(p, &item, with_cond)) != 0)
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
			if ((r = pal_jinja_list_begin(out)) != 0) {
				jv_free(&first);
				goto out;
			}
			if (n > 0 && first.kind == JV_STR && is_const(&first))
				r = pal_jinja_list_add(out, jv_bytes(&first),
				    first.b.len);
			else if (n > 0)
				known = 0;
			jv_free(&first);
			if (r != 0)
				goto out;
			is_tuple = 1;
		}
		if (item.kind == JV_STR && is_const(&item) && known)
			r = pal_jinja_list_add(out, jv_bytes(&item),
			    item.b.len);
		else if (item.kind == JV_INT && known) {
			char num[32];

			snprintf(num, sizeof(num), "%lld", (long long)item.num);
			r = pal_jinja_list_add(out, num, strlen(num));
		} else
			known = 0;
		if (r != 0)
			goto out;
		n++;
	}
	if (n == 0) {
		if (!explicit)
			r = pal_jinja_synerr(p->J, cur_off(p),
			    "expected an expression");
		else
			jv_unknown(out, 0);
	} else if (is_tuple && !known)
		jv_unknown(out, 0);
out:
	jv_free(&item);
	return r;
}
