/*
 * jinja_value.c - the values expressions of a Jinja template are folded
 * to, and the variables that hold them.
 *
 * A value is unknown, none, a boolean, an integer, a string (with holes
 * for unknown pieces) or a list of strings kept in one buffer.  Every
 * buffer has the JJ_MAX_STR ceiling and lists at most JJ_MAX_ITEMS
 * items: a constant that outgrows them is no longer followed (it becomes
 * unknown), which is never an error.  Variables are bound by {% set %},
 * {% with %}, for-loop targets and macros; at most JJ_MAX_VARS are kept.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jinja_int.h"

/*
 * Appends to v's buffer.  A constant that outgrows JJ_MAX_STR is no
 * longer followed: it becomes unknown.  Only NOMEM is an error.
 */
int
pal_jinja_val_append(struct jval *v, const void *p, size_t n)
{
	int r = pal_buf_append(&v->b, p, n);

	if (r == PAL_ERR_LIMIT) {
		jv_unknown(v, v->flags);
		return 1;
	}
	return r;
}

/* Makes v the string p[0..n) with flags. */
int
pal_jinja_val_set_str(struct jval *v, const void *p, size_t n, unsigned flags)
{
	int r;

	jv_free(v);
	v->kind = JV_STR;
	v->flags = flags;
	if ((r = pal_jinja_val_append(v, p, n)) < 0)
		return r;
	if (v->kind == JV_STR && v->b.p == NULL &&
	    (r = pal_jinja_val_append(v, "", 0)) < 0)
		return r;
	return 0;
}

int
pal_jinja_val_copy(struct jval *dst, const struct jval *src)
{
	jv_free(dst);
	dst->kind = src->kind;
	dst->flags = src->flags;
	dst->num = src->num;
	dst->nitems = src->nitems;
	if (src->kind == JV_STR || src->kind == JV_LIST)
		return pal_jinja_val_append(dst, src->b.p != NULL ?
		    src->b.p : (uint8_t *)"", src->b.len) < 0 ?
		    PAL_ERR_NOMEM : 0;
	return 0;
}

/*
 * Appends the text str() gives for v; what is not known becomes a hole.
 * Returns 1 if a hole was added, 0 if text was, or PAL_ERR_NOMEM.
 */
int
pal_jinja_val_text(struct jval *out, const struct jval *v)
{
	char num[32];
	int r;

	switch (v->kind) {
	case JV_STR:
		r = pal_jinja_val_append(out, jv_bytes(v), v->b.len);
		return r < 0 ? r : (v->flags & JF_PARTIAL) ? 1 : 0;
	case JV_INT:
		snprintf(num, sizeof(num), "%lld", (long long)v->num);
		r = pal_jinja_val_append(out, num, strlen(num));
		return r < 0 ? r : 0;
	case JV_BOOL:
		r = pal_jinja_val_append(out, v->num ? "True" : "False",
		    v->num ? 4 : 5);
		return r < 0 ? r : 0;
	case JV_NONE:
		r = pal_jinja_val_append(out, "None", 4);
		return r < 0 ? r : 0;
	default:
		/* Consecutive holes say no more than one. */
		if (out->b.len > 0 && out->b.p[out->b.len - 1] == JJ_HOLE)
			return 1;
		r = pal_jinja_val_append(out, "\x01", 1);
		return r < 0 ? r : 1;
	}
}

/* Item i of a list value, as a pointer into its (own) buffer. */
int
pal_jinja_val_item(const struct jval *v, size_t i, const uint8_t **p, size_t *n)
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

int
pal_jinja_val_items(const struct jval *v, struct jitems *out)
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

/* Makes v an empty list. */
int
pal_jinja_list_begin(struct jval *v)
{
	jv_free(v);
	v->kind = JV_LIST;
	return pal_jinja_val_append(v, "", 0) < 0 ? PAL_ERR_NOMEM : 0;
}

/*
 * Adds item p[0..n) to list v.  A list past JJ_MAX_ITEMS, or an item
 * holding the separator, makes v unknown.
 */
int
pal_jinja_list_add(struct jval *v, const void *p, size_t n)
{
	int r;

	if (v->kind != JV_LIST)
		return 0;
	if (v->nitems >= JJ_MAX_ITEMS || memchr(p, JJ_SEP, n) != NULL) {
		jv_unknown(v, v->flags);
		return 0;
	}
	if (v->nitems > 0 && (r = pal_jinja_val_append(v, "\x02", 1)) != 0)
		return r < 0 ? r : 0;
	if ((r = pal_jinja_val_append(v, p, n)) < 0)
		return r;
	if (v->kind == JV_LIST)
		v->nitems++;
	return 0;
}

/* Appends code point cp to v in UTF-8. */
int
pal_jinja_put_utf8(struct jval *v, uint32_t cp)
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
	return pal_jinja_val_append(v, b, n) < 0 ? PAL_ERR_NOMEM : 0;
}

/* Python's truth of a constant; -1 when unknown. */
int
pal_jinja_truth(const struct jval *v)
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

/* The variable the template bound to name, or NULL. */
struct jvar *
pal_jinja_var_find(struct jctx *J, const uint8_t *name, size_t n)
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
int
pal_jinja_var_set(struct jctx *J, size_t off, const uint8_t *name, size_t n,
    const struct jval *v, int is_macro)
{
	struct jvar *var = pal_jinja_var_find(J, name, n);

	if (var == NULL) {
		if (n >= JJ_MAX_VARNAME)
			return 0;
		if (J->nvars >= JJ_MAX_VARS) {
			if (J->vars_full++)
				return 0;
			return pal_jinja_find(J, "jinja.unusual", off, NULL, 0,
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
	return pal_jinja_val_copy(&var->v, v);
}

/* Binds name to an unknown value (a macro parameter, a filtered block). */
int
pal_jinja_var_unknown(struct jctx *J, size_t off, const uint8_t *name, size_t n)
{
	struct jval u;

	jv_init(&u);
	return pal_jinja_var_set(J, off, name, n, &u, 0);
}
