/*
 * jinja_fold.c - constant folding: what string, list and integer
 * operations compute when their inputs are constants, so that a name
 * built with ~, +, *, %, |format, .format(), |join, |replace, |reverse,
 * slices or item lookups is judged by what it evaluates to.
 *
 * Results obey the value limits (JJ_MAX_STR, JJ_MAX_ITEMS): what outgrows
 * them becomes unknown.  A repetition over JJ_REPEAT_MAX bytes and a huge
 * power are findings (jinja.resource) rather than work.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/text.h"
#include "jinja_int.h"

/* str.lower() and str.upper() on the ASCII letters of v. */
void
pal_jinja_ascii_case(struct jval *v, int upper)
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
int
pal_jinja_reverse(struct jval *v)
{
	struct jval out;
	size_t end = v->b.len, i, k;
	int r = 0;

	jv_init(&out);
	if ((r = pal_jinja_val_set_str(&out, "", 0, v->flags)) != 0)
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
		if ((r = pal_jinja_val_append(&out, v->b.p + i, k)) < 0)
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

/* str.strip(chars) on either side; whitespace when chars is NULL. */
int
pal_jinja_strip(struct jval *v, int left, int right, const struct jval *chars)
{
	size_t a = 0, b = v->b.len;
	struct jval out;
	int r;

	while (left && a < b && is_strip_char(v->b.p[a], chars))
		a++;
	while (right && b > a && is_strip_char(v->b.p[b - 1], chars))
		b--;
	jv_init(&out);
	if ((r = pal_jinja_val_set_str(&out, v->b.p + a, b - a, v->flags)) == 0)
		jv_move(v, &out);
	jv_free(&out);
	return r;
}

/* s.replace(old, new[, count]) on constants. */
int
pal_jinja_replace(struct jval *v, const struct jval *from,
    const struct jval *to, int64_t count)
{
	struct jval out;
	size_t i = 0, fl = from->b.len;
	int r = 0;

	jv_init(&out);
	if ((r = pal_jinja_val_set_str(&out, "", 0,
	    v->flags | JF_OBF | JF_BUILT)) != 0)
		return r;
	while (i <= v->b.len && out.kind == JV_STR) {
		if (count != 0 && (fl == 0 || (i + fl <= v->b.len &&
		    memcmp(v->b.p + i, jv_bytes(from), fl) == 0))) {
			if ((r = pal_jinja_val_append(&out, jv_bytes(to),
			    to->b.len)) < 0)
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
		if ((r = pal_jinja_val_append(&out, v->b.p + i, 1)) < 0)
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
int
pal_jinja_join(struct jval *v, const struct jval *list, const struct jval *sep)
{
	struct jitems *items;
	struct jval out;
	size_t i;
	int r = 0;

	if ((items = malloc(sizeof(*items))) == NULL)
		return PAL_ERR_NOMEM;
	jv_init(&out);
	if ((r = pal_jinja_val_set_str(&out, "", 0,
	    JF_OBF | JF_BUILT | list->flags)) != 0) {
		free(items);
		return r;
	}
	if (pal_jinja_val_items(list, items) != 0)
		jv_unknown(&out, out.flags);
	for (i = 0; i < items->count && out.kind == JV_STR; i++) {
		if (i > 0 && sep != NULL &&
		    (r = pal_jinja_val_append(&out, jv_bytes(sep),
		    sep->b.len)) < 0)
			break;
		if ((r = pal_jinja_val_append(&out, items->p[i],
		    items->n[i])) < 0)
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
int
pal_jinja_chars(struct jval *v)
{
	struct jval out;
	size_t i = 0, k;
	int r = 0;

	jv_init(&out);
	if ((r = pal_jinja_list_begin(&out)) != 0)
		return r;
	out.flags = v->flags;
	while (i < v->b.len && out.kind == JV_LIST) {
		if ((k = pal_utf8_seq(v->b.p + i, v->b.len - i)) == 0)
			k = 1;
		if ((r = pal_jinja_list_add(&out, v->b.p + i, k)) != 0)
			break;
		i += k;
	}
	if (r == 0)
		jv_move(v, &out);
	jv_free(&out);
	return r;
}

/* str.split(sep) with a constant, non-empty separator. */
int
pal_jinja_split(struct jval *v, const struct jval *sep)
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
	if ((r = pal_jinja_list_begin(&out)) != 0)
		return r;
	out.flags = v->flags | JF_BUILT;
	while (i + sl <= v->b.len && out.kind == JV_LIST) {
		if (memcmp(v->b.p + i, jv_bytes(sep), sl) == 0) {
			if ((r = pal_jinja_list_add(&out, v->b.p + start,
			    i - start)) != 0)
				break;
			i += sl;
			start = i;
		} else {
			i++;
		}
	}
	if (r == 0 && out.kind == JV_LIST)
		r = pal_jinja_list_add(&out, v->b.p + start, v->b.len - start);
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
int
pal_jinja_printf(struct jval *v, const struct jval *args, size_t nargs)
{
	struct jval out;
	size_t i, a = 0;
	char num[32];
	int r = 0;

	jv_init(&out);
	if ((r = pal_jinja_val_set_str(&out, "", 0, JF_OBF | JF_BUILT)) != 0)
		return r;
	for (i = 0; i < v->b.len && out.kind == JV_STR; i++) {
		uint8_t c = v->b.p[i], f;
		const struct jval *x;

		if (c != '%') {
			if ((r = pal_jinja_val_append(&out, &c, 1)) < 0)
				break;
			continue;
		}
		if (++i >= v->b.len)
			goto unknown;
		f = v->b.p[i];
		if (f == '%') {
			if ((r = pal_jinja_val_append(&out, "%", 1)) < 0)
				break;
			continue;
		}
		if (a >= nargs || a >= JJ_MAX_ARGS)
			goto unknown;
		x = &args[a++];
		if (f == 's' || f == 'r') {
			if ((r = pal_jinja_val_text(&out, x)) < 0)
				break;
			if (r == 1)
				out.flags |= JF_PARTIAL;
		} else if ((f == 'd' || f == 'i') && x->kind == JV_INT) {
			snprintf(num, sizeof(num), "%lld", (long long)x->num);
			if ((r = pal_jinja_val_append(&out, num,
			    strlen(num))) < 0)
				break;
		} else if (f == 'x' && x->kind == JV_INT && x->num >= 0) {
			snprintf(num, sizeof(num), "%llx",
			    (unsigned long long)x->num);
			if ((r = pal_jinja_val_append(&out, num,
			    strlen(num))) < 0)
				break;
		} else if (f == 'c' && x->kind == JV_INT && x->num >= 0 &&
		    x->num <= 0x10ffff) {
			if ((r = pal_jinja_put_utf8(&out,
			    (uint32_t)x->num)) < 0)
				break;
		} else if (f == 'c' && x->kind == JV_STR && x->b.len >= 2 &&
		    digits_value(x) >= 0) {
			/* A number that went through a constant tuple. */
			if ((r = pal_jinja_put_utf8(&out,
			    (uint32_t)digits_value(x))) < 0)
				break;
		} else if (f == 'c' && x->kind == JV_STR && x->b.len >= 1 &&
		    x->b.len <= 4) {
			if ((r = pal_jinja_val_append(&out, x->b.p,
			    x->b.len)) < 0)
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

/* '{}{}'.format('__', 'globals__') with positional fields only. */
int
pal_jinja_format(struct jval *v, const struct jargs *a)
{
	struct jval out;
	size_t i, next = 0, idx;
	int r = 0, rr;

	jv_init(&out);
	if ((r = pal_jinja_val_set_str(&out, "", 0, JF_OBF | JF_BUILT)) != 0)
		return r;
	for (i = 0; i < v->b.len && out.kind == JV_STR; i++) {
		uint8_t c = v->b.p[i];

		if ((c == '{' || c == '}') && i + 1 < v->b.len &&
		    v->b.p[i + 1] == c) {
			r = pal_jinja_val_append(&out, &c, 1);
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
			if ((rr = pal_jinja_val_text(&out, &a->pos[idx])) < 0) {
				r = rr;
				break;
			}
			if (rr == 1)
				out.flags |= JF_PARTIAL;
		} else {
			r = pal_jinja_val_append(&out, &c, 1);
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

/* The item of a constant string or list at index ix. */
int
pal_jinja_index(struct jval *v, int64_t ix)
{
	const uint8_t *item;
	struct jval out;
	size_t n;
	int r = 0;

	if (v->kind == JV_STR && (r = pal_jinja_chars(v)) != 0)
		return r;
	if (v->kind == JV_LIST && ix < 0)
		ix += (int64_t)v->nitems;
	if (v->kind != JV_LIST || ix < 0 || (uint64_t)ix >= v->nitems ||
	    pal_jinja_val_item(v, (size_t)ix, &item, &n) != 0) {
		jv_unknown(v, 0);
		return 0;
	}
	jv_init(&out);
	if ((r = pal_jinja_val_set_str(&out, item, n, v->flags | JF_OBF)) == 0)
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
		return step > 0 ? (is_stop ? len : 0) :
		    (is_stop ? -1 : len - 1);
	x = b->num < 0 ? b->num + len : b->num;
	if (x < 0)
		return step > 0 ? 0 : -1;
	if (x >= len)
		return step > 0 ? len : len - 1;
	return x;
}

/* '__slabolg__'[::-1] and other slices of constant strings. */
int
pal_jinja_slice(struct jval *v, const struct jval parts[3], const int given[3])
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
	if ((r = pal_jinja_chars(v)) != 0)
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
	if ((r = pal_jinja_val_set_str(&out, "", 0,
	    v->flags | JF_OBF | JF_BUILT)) == 0 &&
	    pal_jinja_val_items(v, items) != 0)
		jv_unknown(&out, out.flags);
	for (j = start; r == 0 && out.kind == JV_STR &&
	    (step > 0 ? j < stop : j > stop); j += step) {
		if (j < 0 || j >= len || (size_t)j >= items->count)
			break;
		if ((r = pal_jinja_val_append(&out, items->p[j],
		    items->n[j])) > 0)
			r = 0;
	}
	free(items);
	if (r == 0)
		jv_move(v, &out);
	jv_free(&out);
	return r;
}

/* Concatenation with ~ (and + on strings). */
int
pal_jinja_concat(struct jval *a, const struct jval *b)
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
	if ((r = pal_jinja_val_set_str(&out, "", 0, JF_OBF | JF_BUILT)) != 0)
		return r;
	if ((r = pal_jinja_val_text(&out, a)) < 0)
		goto out;
	holes |= r;
	if ((r = pal_jinja_val_text(&out, b)) < 0)
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

/* fmt % (x, y, ...) with a constant tuple: its items are strings. */
static int
printf_list(struct jval *a, const struct jval *b)
{
	struct jval items[JJ_MAX_ARGS];
	const uint8_t *s;
	size_t i, k;
	int r = 0;

	for (i = 0; i < JJ_MAX_ARGS; i++)
		jv_init(&items[i]);
	for (i = 0; i < b->nitems && i < JJ_MAX_ARGS && r == 0; i++)
		if (pal_jinja_val_item(b, i, &s, &k) == 0)
			r = pal_jinja_val_set_str(&items[i], s, k, 0);
	if (r == 0)
		r = pal_jinja_printf(a, items, b->nitems);
	for (i = 0; i < JJ_MAX_ARGS; i++)
		jv_free(&items[i]);
	return r;
}

/* str * n or n * str, into a; a huge repetition is a finding. */
static int
repeat_str(struct jp *p, size_t off, struct jval *a, const struct jval *b)
{
	const struct jval *str = a->kind == JV_STR ? a : b;
	int64_t times = a->kind == JV_INT ? a->num : b->num;
	struct jval out;
	int64_t i;
	int r = 0;

	if (times > 0 && (uint64_t)times > (uint64_t)JJ_REPEAT_MAX /
	    (str->b.len + 1) && str->b.len > 0)
		return pal_jinja_find(p->J, "jinja.resource", off, NULL, 0,
		    "repeats a string %lld times", (long long)times);
	jv_init(&out);
	if ((r = pal_jinja_val_set_str(&out, "", 0,
	    str->flags | JF_BUILT)) != 0)
		return r;
	/* An empty string repeated is empty, however often. */
	if (str->b.len == 0)
		times = 0;
	for (i = 0; i < times && out.kind == JV_STR && r == 0; i++)
		if ((r = pal_jinja_val_append(&out, jv_bytes(str),
		    str->b.len)) > 0)
			r = 0;
	if (r == 0)
		jv_move(a, &out);
	jv_free(&out);
	return r;
}

/* Arithmetic on constants, string repetition and %-formatting. */
int
pal_jinja_binop(struct jp *p, size_t off, int op, struct jval *a,
    struct jval *b)
{
	int64_t n;

	if (op == OP_ADD && (a->kind == JV_STR || b->kind == JV_STR))
		return pal_jinja_concat(a, b);
	if (op == OP_MOD && a->kind == JV_STR && !(a->flags & JF_PARTIAL))
		return b->kind == JV_LIST ? printf_list(a, b) :
		    pal_jinja_printf(a, b, 1);
	if (op == OP_MUL && ((a->kind == JV_STR && b->kind == JV_INT) ||
	    (a->kind == JV_INT && b->kind == JV_STR)))
		return repeat_str(p, off, a, b);
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
				return pal_jinja_find(p->J, "jinja.resource",
				    off, NULL, 0,
				    "raises %lld to the power %lld: Jinja "
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
