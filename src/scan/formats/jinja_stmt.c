/*
 * jinja_stmt.c - Jinja's statements ({% for %}, {% if %}, {% set %},
 * {% macro %}, {% call %}, {% filter %}, {% with %}, {% block %}, ...),
 * their assignment targets, and the nesting of blocks.
 *
 * Values assigned by {% set %} and {% with %} are bound to their names;
 * a block {% set x %}...{% endset %} or a macro whose body is plain data
 * binds that data.  Blocks nest at most JJ_MAX_BLOCKS deep and must
 * balance.  Loading tags and unknown tags are findings, and are then
 * checked token by token.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "palisade/buf.h"
#include "jinja_int.h"

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
		if (pal_jinja_tuple_end(p, stop) || is_op(p, OP_ASSIGN) ||
		    is_op(p, OP_PIPE))
			break;
		if (is_op(p, OP_LPAREN)) {
			p->i++;
			tg->complex = 1;
			if ((r = pal_jinja_enter(p)) != 0)
				return r;
			r = p_target(p, tg, NULL, 0);
			p->depth--;
			if (r != 0 ||
			    (r = pal_jinja_expect(p, OP_RPAREN,
			    "expected ')'")) != 0)
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
			return pal_jinja_synerr(p->J, cur_off(p),
			    "expected a name to assign to");
		}
		if (!is_op(p, OP_COMMA))
			break;
		tg->complex = 1;
		p->i++;
	}
	if (tg->n == 0)
		return pal_jinja_synerr(p->J, cur_off(p),
		    "expected a name to assign to");
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
			r = pal_jinja_val_copy(&one, v);
		else if (v->kind == JV_LIST && v->nitems == tg->n &&
		    pal_jinja_val_item(v, i, &item, &n) == 0)
			r = pal_jinja_val_set_str(&one, item, n, v->flags);
		if (r != 0)
			break;
		if (tg->attr[i] != NULL) {
			a = src_bytes(p->J, tg->attr[i]->off, tg->attr[i]->len);
			k = a == NULL ? -1 : snprintf(full, sizeof(full),
			    "%.*s.%.*s", (int)tg->name[i]->len,
			    (const char *)s, (int)tg->attr[i]->len,
			    (const char *)a);
			if (k > 0 && (size_t)k < sizeof(full))
				r = pal_jinja_var_set(p->J, tg->name[i]->off,
				    (const uint8_t *)full, (size_t)k, &one, 0);
			continue;
		}
		r = pal_jinja_var_set(p->J, tg->name[i]->off, s,
		    tg->name[i]->len, &one, 0);
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
		return pal_jinja_synerr(J, p->tag->off, what);
	b = &J->blocks[--J->nblocks];
	if (b->capture && b->pure) {
		jv_init(&v);
		if ((r = pal_jinja_val_set_str(&v, b->body.p != NULL ?
		    b->body.p : (const uint8_t *)"", b->body.len,
		    JF_OBF | JF_BUILT)) == 0)
			r = pal_jinja_var_set(J, p->tag->off,
			    (const uint8_t *)b->target, strlen(b->target), &v,
			    b->is_macro);
		/* Judged without the whitespace a renderer may keep. */
		if (r == 0 && v.kind == JV_STR &&
		    (r = pal_jinja_strip(&v, 1, 1, NULL)) == 0)
			r = pal_jinja_check_name(J, p->tag->off, &v,
			    CTX_STRING, 0);
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
		return pal_jinja_synerr(p->J, cur_off(p),
		    "unexpected token after tag");
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
	if (!pal_jinja_is_name(p, "in")) {
		r = pal_jinja_synerr(p->J, cur_off(p), "expected 'in'");
		goto out;
	}
	p->i++;
	if ((r = pal_jinja_parse_tuple(p, &v, 0, "recursive", 0)) != 0)
		goto out;
	if (pal_jinja_is_name(p, "if")) {
		p->i++;
		if ((r = pal_jinja_parse_expr(p, &v, 1)) != 0)
			goto out;
	}
	if (pal_jinja_is_name(p, "recursive"))
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
		if ((r = pal_jinja_parse_tuple(p, &v, 1, NULL, 0)) != 0 ||
		    (r = bind_target(p, &tg, &v)) != 0)
			goto out;
		r = st_end_only(p);
		goto out;
	}
	/* {% set x %}...{% endset %}, optionally filtered. */
	if (tg.n != 1 || tg.complex || tg.attr[0] != NULL) {
		r = pal_jinja_synerr(p->J, cur_off(p), "expected '='");
		goto out;
	}
	filtered = is_op(p, OP_PIPE);
	if ((r = pal_jinja_parse_filters(p, &v)) != 0 ||
	    (r = st_end_only(p)) != 0 ||
	    (r = push_block(p->J, JB_SET, p->tag->off)) != 0)
		goto out;
	if (!filtered)
		capture(p->J, tg.name[0], 0);
	else if ((s = src_bytes(p->J, tg.name[0]->off,
	    tg.name[0]->len)) != NULL)
		r = pal_jinja_var_unknown(p->J, tg.name[0]->off, s,
		    tg.name[0]->len);
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
	if ((r = pal_jinja_expect(p, OP_LPAREN, "expected '('")) != 0)
		return r;
	while (!is_op(p, OP_RPAREN)) {
		if (cur(p)->type != JT_NAME) {
			r = pal_jinja_synerr(p->J, cur_off(p),
			    "expected a parameter");
			break;
		}
		if ((s = src_bytes(p->J, cur(p)->off, cur(p)->len)) != NULL &&
		    (r = pal_jinja_var_unknown(p->J, cur(p)->off, s,
		    cur(p)->len)) != 0)
			break;
		p->i++;
		if (is_op(p, OP_ASSIGN)) {
			p->i++;
			if ((r = pal_jinja_parse_expr(p, &v, 1)) != 0)
				break;
		}
		if (!is_op(p, OP_COMMA))
			break;
		p->i++;
	}
	if (r == 0)
		r = pal_jinja_expect(p, OP_RPAREN, "expected ')'");
	jv_free(&v);
	return r;
}

static int
st_macro(struct jp *p)
{
	const struct jtok *name = cur(p);
	int r;

	if (name->type != JT_NAME)
		return pal_jinja_synerr(p->J, cur_off(p),
		    "expected a macro name");
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
	if ((r = pal_jinja_parse_expr(p, &v, 1)) != 0 ||
	    (r = st_end_only(p)) != 0)
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
	p->i--;		/* pal_jinja_parse_filter stands on the '|' */
	do {
		if ((r = pal_jinja_parse_filter(p, &v)) != 0)
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
		    (r = pal_jinja_expect(p, OP_ASSIGN, "expected '='")) != 0 ||
		    (r = pal_jinja_parse_expr(p, &v, 1)) != 0 ||
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
		return pal_jinja_synerr(J, p->tag->off, elif ?
		    "'elif' outside 'if'" : "'else' outside 'if' or 'for'");
	if (!elif)
		return st_end_only(p);
	jv_init(&v);
	if ((r = pal_jinja_parse_tuple(p, &v, 1, NULL, 0)) == 0)
		r = st_end_only(p);
	jv_free(&v);
	return r;
}

/* {% block name [scoped] [required] %} */
static int
st_block(struct jp *p)
{
	int r;

	if (cur(p)->type != JT_NAME)
		return pal_jinja_synerr(p->J, cur_off(p),
		    "expected a block name");
	p->i++;
	while (pal_jinja_is_name(p, "scoped") ||
	    pal_jinja_is_name(p, "required"))
		p->i++;
	if ((r = st_end_only(p)) != 0)
		return r;
	return push_block(p->J, JB_BLOCK, p->tag->off);
}

/*
 * A loading tag, a tag of an extension, or an unknown one: a finding.
 * What follows is checked token by token (JJ_FALLBACK).
 */
static int
st_unusual(struct jp *p, const struct jtok *kw)
{
	struct jctx *J = p->J;
	struct pal_buf nb;
	const uint8_t *s;
	int r;

	if ((s = src_bytes(J, kw->off, kw->len)) == NULL)
		return PAL_ERR_FORMAT;
	pal_buf_init(&nb, 512);
	r = pal_jinja_show(&nb, s, kw->len);
	if (r == 0 && pal_jinja_in_list(unusual_tags, s, kw->len))
		r = pal_jinja_find(J, "jinja.unusual", kw->off, s, kw->len,
		    "the '%s' tag loads other templates or needs an "
		    "extension chat templates are not rendered with",
		    (char *)nb.p);
	else if (r == 0)
		r = pal_jinja_find(J, "jinja.unusual", kw->off, s, kw->len,
		    "unknown tag '%s': Jinja refuses the template unless an "
		    "extension defines it", (char *)nb.p);
	pal_buf_free(&nb);
	return r != 0 ? r : JJ_FALLBACK;
}

/* Statements: {% keyword ... %}.  Unknown tags are findings. */
int
pal_jinja_statement(struct jp *p)
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
	size_t i;
	int r;

	if (kw->type != JT_NAME)
		return pal_jinja_synerr(J, cur_off(p),
		    "expected a statement name");
	p->i++;
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (pal_jinja_tok_is(J, kw, ends[i].name)) {
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
	if (pal_jinja_tok_is(J, kw, "for"))
		return st_for(p);
	if (pal_jinja_tok_is(J, kw, "if"))
		return st_expr_block(p, JB_IF, 0);
	if (pal_jinja_tok_is(J, kw, "elif"))
		return st_else(p, 1);
	if (pal_jinja_tok_is(J, kw, "else"))
		return st_else(p, 0);
	if (pal_jinja_tok_is(J, kw, "set"))
		return st_set(p);
	if (pal_jinja_tok_is(J, kw, "macro"))
		return st_macro(p);
	if (pal_jinja_tok_is(J, kw, "call"))
		return st_expr_block(p, JB_CALL, 1);
	if (pal_jinja_tok_is(J, kw, "filter"))
		return st_filter(p);
	if (pal_jinja_tok_is(J, kw, "with"))
		return st_with(p);
	if (pal_jinja_tok_is(J, kw, "autoescape"))
		return st_expr_block(p, JB_AUTOESCAPE, 0);
	if (pal_jinja_tok_is(J, kw, "break") ||
	    pal_jinja_tok_is(J, kw, "continue"))
		return st_end_only(p);
	if (pal_jinja_tok_is(J, kw, "generation")) {
		if ((r = st_end_only(p)) != 0)
			return r;
		return push_block(J, JB_GENERATION, p->tag->off);
	}
	if (pal_jinja_tok_is(J, kw, "block"))
		return st_block(p);
	return st_unusual(p, kw);
}
