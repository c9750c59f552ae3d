/*
 * jinja_call.c - what filters, string methods and calls do to the values
 * they are applied to: folded where the receiver and arguments are
 * constants, and judged where they look attributes up by name
 * (|attr, map(attribute=...), selectattr, groupby, ...).
 *
 * Call arguments are kept for folding up to JJ_MAX_ARGS of each kind;
 * keyword argument names are judged as names when they are parsed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja_int.h"

/* Caller frees with pal_jinja_args_free. */
void
pal_jinja_args_init(struct jargs *a)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < JJ_MAX_ARGS; i++) {
		jv_init(&a->pos[i]);
		jv_init(&a->kw[i]);
	}
}

void
pal_jinja_args_free(struct jargs *a)
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
		if (pal_jinja_tok_is(p->J, a->kwname[i], word))
			return &a->kw[i];
	return NULL;
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
int
pal_jinja_apply_method(struct jp *p, struct jval *v, const uint8_t *name,
    size_t n, const struct jargs *a, size_t off)
{
	const struct jval *x = str_arg(a, 0), *y = str_arg(a, 1);
	unsigned keep = v->flags & (JF_OBF | JF_BUILT);
	int r = 0;

#define IS(w) (n == sizeof(w) - 1 && memcmp(name, w, n) == 0)
	if (v->kind == JV_STR && (IS("format") || IS("format_map")) &&
	    !(v->flags & JF_PARTIAL)) {
		if ((r = pal_jinja_check_format(p->J, off, v)) != 0)
			return r;
		if (IS("format_map") || a->nkw > 0 || a->star)
			jv_unknown(v, keep | JF_BUILT);
		else
			r = pal_jinja_format(v, a);
		return r;
	}
	if (v->kind == JV_STR && IS("join") && a->npos == 1 &&
	    a->pos[0].kind == JV_LIST) {
		struct jval sep;

		jv_init(&sep);
		jv_move(&sep, v);
		r = pal_jinja_join(v, &a->pos[0], &sep);
		jv_free(&sep);
		return r;
	}
	if (v->kind != JV_STR || (v->flags & JF_PARTIAL)) {
		jv_unknown(v, keep | JF_BUILT);
		return 0;
	}
	v->flags |= JF_OBF | JF_BUILT;
	if (IS("lower") || IS("casefold"))
		pal_jinja_ascii_case(v, 0);
	else if (IS("upper"))
		pal_jinja_ascii_case(v, 1);
	else if (IS("strip") || IS("lstrip") || IS("rstrip"))
		r = pal_jinja_strip(v, !IS("rstrip"), !IS("lstrip"), x);
	else if (IS("replace") && x != NULL && y != NULL)
		r = pal_jinja_replace(v, x, y, a->npos > 2 &&
		    a->pos[2].kind == JV_INT ? a->pos[2].num : -1);
	else if (IS("split") && a->npos <= 1)
		r = pal_jinja_split(v, x);
	else if (IS("capitalize") || IS("title")) {
		pal_jinja_ascii_case(v, 0);
		if (v->b.len > 0 && v->b.p[0] >= 'a' && v->b.p[0] <= 'z')
			v->b.p[0] = (uint8_t)(v->b.p[0] - 32);
		if (IS("title"))
			jv_unknown(v, keep | JF_BUILT);
	} else
		jv_unknown(v, keep | JF_BUILT);
#undef IS
	return r;
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

/* Is the filter name[0..n) in scope the filter w? */
#define F(w) is_filter(name, n, w)

/*
 * Judges the names filters look attributes up by: attribute=...,
 * selectattr(name), groupby(name), map('attr', name).
 */
static int
filter_attr_names(struct jp *p, const uint8_t *name, size_t n,
    const struct jargs *a, const struct jval *x, size_t off)
{
	const struct jval *attr;
	int r;

	if ((attr = args_kw(p, a, "attribute")) != NULL &&
	    (r = pal_jinja_check_attr(p, off, attr, 0)) != 0)
		return r;
	if ((F("selectattr") || F("rejectattr") || F("groupby")) &&
	    a->npos > 0 &&
	    (r = pal_jinja_check_attr(p, off, &a->pos[0], 0)) != 0)
		return r;
	if ((F("map") || F("select") || F("reject")) && x != NULL &&
	    is_filter(jv_bytes(x), x->b.len, "attr") && a->npos > 1 &&
	    (r = pal_jinja_check_attr(p, off, &a->pos[1], 0)) != 0)
		return r;
	return 0;
}

/* |string and |list. */
static int
filter_string_list(struct jval *v, int is_string, unsigned keep)
{
	if (v->kind == JV_UNKNOWN && is_string && (v->flags & JF_OBJECT)) {
		/* The printed form of a function or generator. */
		jv_unknown(v, (keep & ~JF_OBJECT) | JF_REPR | JF_BUILT);
		return 0;
	}
	if (v->kind == JV_UNKNOWN) {
		/* A generator's items are not the generator. */
		jv_unknown(v, keep & ~JF_OBJECT);
		return 0;
	}
	if (is_string && v->kind == JV_INT) {
		char num[32];

		snprintf(num, sizeof(num), "%lld", (long long)v->num);
		return pal_jinja_val_set_str(v, num, strlen(num), keep);
	}
	if (!is_string && v->kind == JV_STR && !(v->flags & JF_PARTIAL))
		return pal_jinja_chars(v);
	if (is_string && v->kind == JV_STR)
		return 0;
	if (!is_string && v->kind == JV_LIST)
		return 0;
	jv_unknown(v, keep);
	return 0;
}

/* |join(sep) of a constant list or of a string's characters. */
static int
filter_join(struct jval *v, const struct jargs *a, const struct jval *x,
    unsigned keep)
{
	struct jval sep;
	int r = 0;

	jv_init(&sep);
	if (a->npos > 0 && x == NULL) {
		jv_unknown(v, keep | JF_BUILT);
		return 0;
	}
	if (x != NULL && (r = pal_jinja_val_copy(&sep, x)) != 0)
		return r;
	if (v->kind == JV_STR && !(v->flags & JF_PARTIAL) &&
	    (r = pal_jinja_chars(v)) != 0) {
		jv_free(&sep);
		return r;
	}
	if (v->kind == JV_LIST)
		r = pal_jinja_join(v, v, x != NULL ? &sep : NULL);
	else
		jv_unknown(v, keep | JF_BUILT | JF_OBF);
	jv_free(&sep);
	return r;
}

/* |reverse of a constant string or list. */
static int
filter_reverse(struct jval *v, unsigned keep)
{
	struct jitems *items;
	struct jval out;
	size_t i;
	int r = 0;

	if (v->kind == JV_STR)
		return pal_jinja_reverse(v);
	if (v->kind != JV_LIST) {
		jv_unknown(v, keep | JF_BUILT);
		return 0;
	}
	if ((items = malloc(sizeof(*items))) == NULL)
		return PAL_ERR_NOMEM;
	jv_init(&out);
	if ((r = pal_jinja_list_begin(&out)) == 0 &&
	    pal_jinja_val_items(v, items) != 0)
		jv_unknown(&out, 0);
	for (i = items->count; r == 0 && i-- > 0;)
		r = pal_jinja_list_add(&out, items->p[i], items->n[i]);
	free(items);
	out.flags = keep | JF_OBF | JF_BUILT;
	if (r == 0)
		jv_move(v, &out);
	jv_free(&out);
	return r;
}

/* |first and |last of a constant string or list. */
static int
filter_first_last(struct jval *v, int first, unsigned keep)
{
	const uint8_t *item;
	struct jval out;
	size_t k;
	int r = 0;

	if (v->kind == JV_STR && !(v->flags & JF_PARTIAL) &&
	    (r = pal_jinja_chars(v)) != 0)
		return r;
	if (v->kind != JV_LIST || v->nitems == 0 ||
	    pal_jinja_val_item(v, first ? 0 : v->nitems - 1, &item, &k) != 0) {
		jv_unknown(v, keep);
		return 0;
	}
	jv_init(&out);
	if ((r = pal_jinja_val_set_str(&out, item, k, keep | JF_OBF)) == 0)
		jv_move(v, &out);
	jv_free(&out);
	return r;
}

/*
 * Applies filter name (with args) to v, folding what it can and judging
 * the names filters look attributes up by.
 */
int
pal_jinja_apply_filter(struct jp *p, struct jval *v, const uint8_t *name,
    size_t n, struct jargs *a, size_t off)
{
	const struct jval *x = str_arg(a, 0), *y = str_arg(a, 1);
	unsigned keep = v->flags & (JF_OBF | JF_BUILT | JF_OBJECT | JF_REPR);
	int r = 0;

	if ((r = filter_attr_names(p, name, n, a, x, off)) != 0)
		return r;
	if (F("attr")) {
		if (a->npos < 1)
			return 0;
		r = pal_jinja_check_attr(p, off, &a->pos[0],
		    is_op(p, OP_LPAREN));
		jv_unknown(v, JF_OBJECT);
		return r;
	}
	if (pal_jinja_in_list(object_filters, name, n)) {
		jv_unknown(v, keep | JF_OBJECT | JF_BUILT);
		return 0;
	}
	if (F("string") || F("list"))
		return filter_string_list(v, F("string"), keep);
	if (F("join"))
		return filter_join(v, a, x, keep);
	if (F("reverse"))
		return filter_reverse(v, keep);
	if (F("first") || F("last"))
		return filter_first_last(v, F("first"), keep);
	if (F("format")) {
		if (v->kind != JV_STR || (v->flags & JF_PARTIAL) ||
		    a->nkw > 0 || a->star) {
			jv_unknown(v, keep | JF_BUILT);
			return 0;
		}
		return pal_jinja_printf(v, a->pos, a->npos);
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
		if (v->kind == JV_UNKNOWN && !(v->flags & JF_BUILT) &&
		    a->npos > 0)
			return pal_jinja_val_copy(v, &a->pos[0]);
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
		pal_jinja_ascii_case(v, 0);
	else if (F("upper"))
		pal_jinja_ascii_case(v, 1);
	else if (F("capitalize")) {
		pal_jinja_ascii_case(v, 0);
		if (v->b.len > 0 && v->b.p[0] >= 'a' && v->b.p[0] <= 'z')
			v->b.p[0] = (uint8_t)(v->b.p[0] - 32);
	} else if (F("trim"))
		r = pal_jinja_strip(v, 1, 1, x);
	else if (F("replace") && x != NULL && y != NULL)
		r = pal_jinja_replace(v, x, y, a->npos > 2 &&
		    a->pos[2].kind == JV_INT ? a->pos[2].num : -1);
	else
		jv_unknown(v, keep | JF_BUILT);
#undef F
	return r;
}

/* Calls a macro whose body is known text, or dict(key=...). */
int
pal_jinja_apply_call(struct jp *p, struct jval *v, const struct jtok *callee,
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
	if ((var = pal_jinja_var_find(p->J, s, callee->len)) != NULL &&
	    var->is_macro)
		return pal_jinja_val_copy(v, &var->v);
	if (pal_jinja_tok_is(p->J, callee, "dict") && a->npos == 0 &&
	    !a->star) {
		/* Iterating a dict yields its keys: dict(__globals__=1)|join. */
		if ((r = pal_jinja_list_begin(v)) != 0)
			return r;
		v->flags = JF_OBF | JF_BUILT;
		for (i = 0; i < a->nkw && i < JJ_MAX_ARGS && r == 0; i++)
			if ((s = src_bytes(p->J, a->kwname[i]->off,
			    a->kwname[i]->len)) != NULL)
				r = pal_jinja_list_add(v, s, a->kwname[i]->len);
		if (a->nkw > JJ_MAX_ARGS)
			jv_unknown(v, v->flags);
		return r;
	}
	if (pal_jinja_tok_is(p->J, callee, "range")) {
		for (i = 0; i < a->npos && i < JJ_MAX_ARGS; i++)
			if (a->pos[i].kind == JV_INT &&
			    (a->pos[i].num > JJ_RANGE_MAX ||
			    a->pos[i].num < -JJ_RANGE_MAX))
				return pal_jinja_find(p->J, "jinja.resource",
				    callee->off, NULL, 0,
				    "range() over %lld items: a "
				    "render that never ends outside a sandbox",
				    (long long)a->pos[i].num);
	}
	jv_unknown(v, pal_jinja_is_host(s, callee->len) ? JF_OBJECT : 0);
	return 0;
}
