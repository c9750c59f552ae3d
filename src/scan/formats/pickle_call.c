/*
 * pickle_call.c - every way a pickle makes the loader run code.
 *
 * Direct calls: REDUCE calls callable(*args); INST and OBJ instantiate a
 * class; NEWOBJ and NEWOBJ_EX call cls.__new__.  Method calls the opcodes
 * make implicitly: BUILD calls the object's __setstate__ (or sets its
 * attributes, which runs __setattr__), APPEND(S) calls append/extend,
 * SETITEM(S) calls __setitem__ and ADDITEMS calls add on anything that is
 * not the plain container.  The rules:
 *
 *   - calling a global that is not allowed is a finding of the global's
 *     rule (dangerous, unknown, extension code, computed name);
 *   - calling anything that is not a global (a call result, a value from
 *     getattr, a persistent object) is pickle.indirect-call: no allowlist
 *     can vouch for it;
 *   - BUILD, APPEND, SETITEM or ADDITEMS on a global mutates a class,
 *     function or module the loader trusts;
 *   - the implicit methods of an object whose class is not allowed are
 *     pickle.untrusted-method;
 *   - a BUILD state that plants __setstate__ (or sets dunder attributes
 *     through slot state) turns the next BUILD into a call of the
 *     attacker's choice: pickle.state-override, and that next BUILD is
 *     followed as a call.
 *
 * Checks CPython makes before it calls (argument tuple, class is a type)
 * are made here too: a call the loader would refuse does not happen.
 */
#include <stdio.h>
#include <string.h>

#include "pickle_int.h"

static const char *
verb_of(uint8_t op)
{
	switch (op) {
	case OP_REDUCE:		return "calls";
	case OP_NEWOBJ:
	case OP_NEWOBJ_EX:
		return "creates (through __new__) an instance of";
	case OP_BUILD:
		return "calls, as the object's __setstate__,";
	default:		return "instantiates";
	}
}

static const char *
what_of(struct pk_vm *vm, const struct pk_val *v)
{
	if (v->tag == PK_NODE)
		switch (pal_pickle_node(vm, v)->kind) {
		case PK_N_TUPLE:	return "a tuple";
		case PK_N_LIST:		return "a list";
		case PK_N_DICT:		return "a dict";
		case PK_N_SET:		return "a set";
		case PK_N_FROZENSET:	return "a frozenset";
		default:		return "an object";
		}
	switch (v->tag) {
	case PK_GLOBAL:		return "a global";
	case PK_STR:		return "a str";
	case PK_BYTES:		return "a bytes";
	case PK_BYTEARRAY:	return "a bytearray";
	case PK_BUFFER:		return "a buffer";
	case PK_NONE:		return "None";
	case PK_FLOAT:		return "a float";
	default:		return "an int";
	}
}

/* Values a symbolic run cannot type: they may turn out to be anything. */
static int
is_opaque(struct pk_vm *vm, const struct pk_val *v)
{
	uint8_t k;

	if (v->tag == PK_GLOBAL)
		return 1;
	if (v->tag != PK_NODE)
		return 0;
	k = pal_pickle_node(vm, v)->kind;
	return k == PK_N_OBJECT || k == PK_N_PERSID;
}

static int
is_kind(struct pk_vm *vm, const struct pk_val *v, uint8_t kind)
{
	return v->tag == PK_NODE && pal_pickle_node(vm, v)->kind == kind;
}

/* The type checks load_reduce and load_newobj make before calling. */
static int
check_call(struct pk_vm *vm, const struct pk_val *callable,
    const struct pk_val *args, const struct pk_val *kwargs)
{
	const char *op = pal_pickle_opname(vm->op);

	if (vm->op == OP_NEWOBJ || vm->op == OP_NEWOBJ_EX) {
		if (!is_opaque(vm, callable))
			return pal_pickle_fail(vm, PAL_ERR_FORMAT,
			    "%s class argument must be a type, not %s", op,
			    what_of(vm, callable));
		if (kwargs != NULL && !is_opaque(vm, kwargs) &&
		    !is_kind(vm, kwargs, PK_N_DICT))
			return pal_pickle_fail(vm, PAL_ERR_FORMAT,
			    "%s kwargs argument must be a dict, not %s", op,
			    what_of(vm, kwargs));
	}
	if (!is_opaque(vm, args) && !is_kind(vm, args, PK_N_TUPLE))
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "%s arguments must be a tuple, not %s", op,
		    what_of(vm, args));
	if (!is_opaque(vm, callable))
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "%s: %s is not callable", op, what_of(vm, callable));
	return 0;
}

/* The i-th item of a tuple value, or NULL. */
static const struct pk_val *
tuple_item(struct pk_vm *vm, const struct pk_val *t, size_t i)
{
	const struct pk_val *items;
	size_t n;

	if (!is_kind(vm, t, PK_N_TUPLE))
		return NULL;
	items = pal_pickle_items(vm, t->u.ref, &n);
	return i < n ? &items[i] : NULL;
}

/* A call of something that is not a named global; what says who calls. */
static int
indirect(struct pk_vm *vm, const struct pk_val *callee, const char *what)
{
	return pal_pickle_find(vm->cx, PK_R_INDIRECT, vm->at,
	    "%s %s, a value that is not a named global", what,
	    pal_pickle_describe(vm, callee));
}

/*
 * Something called by the call being followed (the class or base of
 * copyreg._reconstructor): a global is judged, anything else is an
 * indirect call.  *trusted is cleared unless it is an allowed global.
 */
static int
call_inner(struct pk_vm *vm, const struct pk_val *callee, const char *verb,
    int *trusted)
{
	if (callee == NULL || callee->tag == PK_NONE)
		return 0;
	if (callee->tag == PK_GLOBAL) {
		if (!pal_pickle_gl_trusted(pal_pickle_gl(vm->cx,
		    callee->u.ref)))
			*trusted = 0;
		return pal_pickle_report_call(vm, callee->u.ref, verb);
	}
	*trusted = 0;
	if (!is_opaque(vm, callee))
		return 0;
	return indirect(vm, callee, "copyreg._reconstructor calls");
}

/*
 * _codecs.encode(text, "latin1"): how protocols 0 to 2 write a bytes
 * object.  The text's code points are the bytes.
 */
static int
encoded_bytes(struct pk_vm *vm, const struct pk_val *args, const uint8_t **p,
    size_t *len, uint64_t *key)
{
	const struct pk_val *t = tuple_item(vm, args, 0);
	const struct pk_val *enc = tuple_item(vm, args, 1);
	struct pal_buf *out = &vm->cx->tmp[1];
	const uint8_t *u;
	const char *s;
	size_t n, i;

	if (t == NULL || t->tag != PK_STR || enc == NULL ||
	    (!pal_pickle_str_eq(vm->cx, enc, "latin1") &&
	    !pal_pickle_str_eq(vm->cx, enc, "latin-1")) ||
	    pal_pickle_str(vm->cx, t, 0, &s, &n) != 0)
		return 0;
	*key = t->u.off;
	u = (const uint8_t *)s;
	pal_buf_reset(out);
	for (i = 0; i < n; i++) {
		uint8_t b = u[i];

		/* Valid UTF-8 here: U+0080..U+00FF are C2/C3 and one byte. */
		if (b >= 0x80) {
			if ((b != 0xc2 && b != 0xc3) || i + 1 == n)
				return 0;
			b = (uint8_t)((b & 0x03) << 6 | (u[++i] & 0x3f));
		}
		if (pal_buf_putc(out, (char)b) != 0)
			return 0;
	}
	*p = out->p != NULL ? out->p : u;
	*len = out->len;
	return 1;
}

/*
 * Bytes a nested deserializer would read, from its first argument: bytes,
 * or a Python 2 str (STRING, BINSTRING), whose escapes are decoded.
 */
static int
nested_bytes(struct pk_vm *vm, const struct pk_global *g,
    const struct pk_val *args, const uint8_t **p, size_t *len, uint64_t *key)
{
	const struct pk_val *a0 = tuple_item(vm, args, 0);
	struct pal_buf *dec = &vm->cx->tmp[2];
	struct pk_node *nd;
	size_t bad;

	if (a0 != NULL && g->special == PK_S_LOAD && a0->tag == PK_NODE &&
	    (nd = pal_pickle_node(vm, a0))->kind == PK_N_OBJECT &&
	    nd->cls != PK_NOREF &&
	    pal_pickle_gl(vm->cx, nd->cls)->special == PK_S_BYTESIO)
		a0 = tuple_item(vm, &nd->in[PK_OBJ_ARGS], 0);
	/* io.BytesIO(_codecs.encode(...)) and _codecs.encode(...) alike. */
	if (a0 != NULL && a0->tag == PK_NODE &&
	    (nd = pal_pickle_node(vm, a0))->kind == PK_N_OBJECT &&
	    nd->cls != PK_NOREF &&
	    pal_pickle_gl(vm->cx, nd->cls)->special == PK_S_ENCODE)
		return encoded_bytes(vm, &nd->in[PK_OBJ_ARGS], p, len, key);
	if (a0 == NULL || (a0->tag != PK_BYTES && a0->tag != PK_BYTEARRAY &&
	    (a0->tag != PK_STR || a0->form == PK_F_RAWESC)))
		return 0;
	*p = vm->cx->data + a0->u.off;
	*len = (size_t)pk_span_len(a0);
	*key = a0->u.off;
	if (a0->tag != PK_STR || a0->form != PK_F_STRESC)
		return 1;
	pal_buf_reset(dec);
	if (pal_pickle_text_escape(*p, *len, dec, &bad) != 0)
		return 0;
	*p = dec->p != NULL ? dec->p : *p;
	*len = dec->len;
	return 1;
}

/*
 * pickle.loads(b"...") and pickle.load(io.BytesIO(b"...")): the embedded
 * payload is what would run next, so it is scanned as a nested item.
 */
static int
nested(struct pk_vm *vm, uint32_t gref, const struct pk_val *args)
{
	struct pk_ctx *cx = vm->cx;
	const struct pk_global *g = pal_pickle_gl(cx, gref);
	const uint8_t *p;
	char member[64];
	uint64_t key = 0;
	size_t len, i;
	int r;

	if (cx->s == NULL || (g->special != PK_S_LOADS &&
	    g->special != PK_S_LOAD) || !nested_bytes(vm, g, args, &p, &len,
	    &key))
		return 0;
	/* A payload reached again through the memo is scanned once; past
	 * a few dozen, payloads are reported, not scanned, so that nested
	 * payloads cannot multiply the work at every level. */
	for (i = 0; i < cx->npayloads; i++)
		if (cx->payloads[i] == key)
			return 0;
	if (cx->npayloads == PK_MAX_PAYLOADS)
		return pal_pickle_find(cx, PK_R_NESTED, vm->at, "%s passes "
		    "%zu embedded bytes to %s; more than %d payloads, not "
		    "scanned", pal_pickle_opname(vm->op), len,
		    pal_pickle_gl_display(cx, g), PK_MAX_PAYLOADS);
	cx->payloads[cx->npayloads++] = key;
	if ((r = pal_pickle_find(cx, PK_R_NESTED, vm->at,
	    "%s passes %zu embedded bytes to %s; they are scanned as a nested "
	    "item", pal_pickle_opname(vm->op), len,
	    pal_pickle_gl_display(cx, g))) != 0)
		return r;
	/* Scanning a payload again counts against the file's budget. */
	if ((r = pal_scan_expand(cx->s, len)) != 0)
		return r;
	snprintf(member, sizeof(member), "<payload of %s at offset %zu>",
	    pal_pickle_opname(vm->op), vm->at);
	return pal_scan_child(cx->s, cx->it, member, p, len, PAL_HINT_NONE);
}

/* A call of a global: judged, and its result an object of that class. */
static int
call_global(struct pk_vm *vm, uint32_t gref, const struct pk_val *args,
    struct pk_val *out)
{
	struct pk_ctx *cx = vm->cx;
	uint32_t cls = gref;
	struct pk_node *nd;
	int trusted, r;

	trusted = pal_pickle_gl_trusted(pal_pickle_gl(cx, gref));
	if ((r = pal_pickle_report_call(vm, gref, verb_of(vm->op))) != 0)
		return r;
	if (pal_pickle_gl(cx, gref)->special == PK_S_RECONSTRUCTOR) {
		const struct pk_val *c = tuple_item(vm, args, 0);

		/* What it instantiates must be known; a pickler writes the
		 * argument tuple just before, never one it gave up. */
		if (args->tag == PK_NODE && (pal_pickle_node(vm, args)->flags &
		    PK_NF_PARTIAL) && (r = pal_pickle_find(cx, PK_R_INDIRECT,
		    vm->at, "%s calls copyreg._reconstructor with arguments "
		    "that went into a list: what it instantiates is unknown",
		    pal_pickle_opname(vm->op))) != 0)
			return r;
		if ((r = call_inner(vm, c, "instantiates, through "
		    "copyreg._reconstructor,", &trusted)) != 0 ||
		    (r = call_inner(vm, tuple_item(vm, args, 1), "calls, "
		    "through copyreg._reconstructor, the base class",
		    &trusted)) != 0)
			return r;
		cls = c != NULL && c->tag == PK_GLOBAL ? c->u.ref : PK_NOREF;
	}
	if ((r = nested(vm, gref, args)) != 0)
		return r;
	if ((r = pal_pickle_node_new(vm, PK_N_OBJECT, out)) != 0)
		return r;
	nd = pal_pickle_node(vm, out);
	nd->cls = cls;
	nd->how = vm->op;
	if (!trusted)
		nd->flags |= PK_NF_UNTRUSTED;
	/* Keep what later steps read: a dtype's string, a BytesIO's bytes. */
	if (cls != PK_NOREF && (pal_pickle_gl(cx, cls)->special ==
	    PK_S_DTYPE || pal_pickle_gl(cx, cls)->special == PK_S_BYTESIO ||
	    pal_pickle_gl(cx, cls)->special == PK_S_ENCODE)) {
		nd->in[PK_OBJ_ARGS] = *args;
		pal_pickle_ref(vm, args);
	}
	return 0;
}

int
pal_pickle_call(struct pk_vm *vm, struct pk_val callable, struct pk_val args,
    struct pk_val *kwargs, struct pk_val *out)
{
	struct pk_node *nd;
	char what[64];
	int r;

	if ((r = check_call(vm, &callable, &args, kwargs)) != 0)
		goto out;
	if (callable.tag == PK_GLOBAL) {
		r = call_global(vm, callable.u.ref, &args, out);
		goto out;
	}
	snprintf(what, sizeof(what), "%s %s", pal_pickle_opname(vm->op),
	    verb_of(vm->op));
	if ((r = indirect(vm, &callable, what)) != 0)
		goto out;
	if ((r = pal_pickle_node_new(vm, PK_N_OBJECT, out)) != 0)
		goto out;
	nd = pal_pickle_node(vm, out);
	nd->how = vm->op;
	nd->flags |= PK_NF_UNTRUSTED;
out:
	pal_pickle_unref(vm, &callable);
	pal_pickle_unref(vm, &args);
	if (kwargs != NULL)
		pal_pickle_unref(vm, kwargs);
	return r;
}

/* Methods of objects whose class is not allowed, a bit per opcode kind. */
static uint16_t
method_bit(uint8_t op)
{
	switch (op) {
	case OP_BUILD:		return 1 << 0;
	case OP_APPEND:
	case OP_APPENDS:	return 1 << 1;
	case OP_ADDITEMS:	return 1 << 2;
	default:		return 1 << 3;
	}
}

static int
untrusted_method(struct pk_vm *vm, const struct pk_val *obj,
    const char *method)
{
	struct pk_node *nd = pal_pickle_node(vm, obj);
	struct pk_global *g;

	if (nd->kind == PK_N_OBJECT && !(nd->flags & PK_NF_UNTRUSTED))
		return 0;
	if (nd->kind == PK_N_OBJECT && nd->cls != PK_NOREF) {
		/* Once per class and opcode: the class itself is reported. */
		g = pal_pickle_gl(vm->cx, nd->cls);
		if (g->methods & method_bit(vm->op))
			return 0;
		g->methods |= method_bit(vm->op);
	}
	return pal_pickle_find(vm->cx, PK_R_METHOD, vm->at,
	    "%s runs %s of %s, whose class is not on the allowlist",
	    pal_pickle_opname(vm->op), method, pal_pickle_describe(vm, obj));
}

/*
 * Is the str key "__...__" (1), or "__setstate__" (2)?  Raw text is
 * checked where it lies; escaped text is decoded only when it is short,
 * and a long escaped key is taken for a dunder name (no pickler writes
 * one), so that a key used again and again through the memo costs little.
 */
static int
key_kind(struct pk_vm *vm, const struct pk_val *k)
{
	const uint8_t *p = vm->cx->data + k->u.off;
	size_t n = (size_t)pk_span_len(k);
	const char *d;

	if (n < 4)
		return 0;
	if (k->form != PK_F_UTF8 && k->form != PK_F_LATIN1) {
		if (n > 256)
			return 1;
		if (pal_pickle_str(vm->cx, k, 2, &d, &n) != 0 || n < 4)
			return 0;
		p = (const uint8_t *)d;
	}
	if (p[0] != '_' || p[1] != '_' || p[n - 2] != '_' || p[n - 1] != '_')
		return 0;
	return n == 12 && memcmp(p, "__setstate__", 12) == 0 ? 2 : 1;
}

/*
 * A str key that key_kind would find plain on its first byte: raw text
 * shorter than four bytes or not starting with '_'.  Most keys are.
 */
static inline int
plain_key(struct pk_vm *vm, const struct pk_val *k)
{
	return (k->form == PK_F_UTF8 || k->form == PK_F_LATIN1) &&
	    (pk_span_len(k) < 4 || vm->cx->data[k->u.off] != '_');
}

/*
 * Dict keys: note the special attribute names a BUILD state can set, and
 * where the value of the last "__setstate__" goes (the dict's cls field
 * holds that item index).  Called before the items are added.
 */
static void
note_keys(struct pk_vm *vm, uint32_t ref, const struct pk_val *v, size_t n)
{
	struct pk_node *nd = &vm->nodes[ref];
	size_t i;
	int k;

	for (i = 0; i + 1 < n; i += 2) {
		if (v[i].tag != PK_STR || plain_key(vm, &v[i]) ||
		    (k = key_kind(vm, &v[i])) == 0)
			continue;
		nd->flags |= PK_NF_KEY_DUNDER;
		if (k == 2) {
			nd->flags |= PK_NF_KEY_SETSTATE;
			nd->cls = (uint32_t)(nd->n + i + 1);
		}
	}
}

/* Which opcodes each plain container accepts as a mutation. */
static int
accepts(uint8_t kind_or_tag, int is_node, uint8_t op)
{
	int items = op == OP_SETITEM || op == OP_SETITEMS || op == OP_DICT;
	int append = op == OP_APPEND || op == OP_APPENDS;

	if (!is_node)
		return (kind_or_tag == PK_BYTEARRAY && (items || append)) ||
		    (kind_or_tag == PK_BUFFER && items);
	switch (kind_or_tag) {
	case PK_N_LIST:	return append || items;
	case PK_N_DICT:	return items;
	case PK_N_SET:	return op == OP_ADDITEMS;
	default:	return 0;
	}
}

static const char *
method_of(uint8_t op)
{
	switch (op) {
	case OP_APPEND:
	case OP_APPENDS:	return "append/extend";
	case OP_ADDITEMS:	return "add";
	default:		return "__setitem__";
	}
}

/* The index of the first list, dict or set among v[0, step, ...], or n. */
static size_t
first_unhashable(struct pk_vm *vm, const struct pk_val *v, size_t n,
    size_t step)
{
	size_t i;
	uint8_t k;

	for (i = 0; i < n; i += step) {
		if (v[i].tag != PK_NODE)
			continue;
		k = pal_pickle_node(vm, &v[i])->kind;
		if (k == PK_N_LIST || k == PK_N_DICT || k == PK_N_SET)
			return i;
	}
	return n;
}

/* A list, dict or set as a dict key or set member: the load fails. */
static int
unhashable(struct pk_vm *vm, const struct pk_val *v, size_t n, size_t step)
{
	size_t i = first_unhashable(vm, v, n, step);

	if (i < n)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "unhashable type: %s", what_of(vm, &v[i]));
	return 0;
}

/* SETITEM(S) and DICT on a plain dict: keys checked, then the pairs. */
static int
dict_add(struct pk_vm *vm, uint32_t ref, size_t x, size_t n)
{
	int r;

	if ((r = unhashable(vm, vm->stack + x, n, 2)) != 0)
		return r;
	note_keys(vm, ref, vm->stack + x, n);
	return pal_pickle_node_add(vm, ref, vm->stack + x, n);
}

/*
 * SETITEMS on a plain dict, for the loop's fast path: what the full path
 * (op_marked_mutate, do_mutate, pal_pickle_mutate) does in that case, in
 * one function.  Returns 0, having changed nothing, when the case is any
 * other (no mark, no dict below it, an odd count, a key that fails the
 * load): dispatch() then runs the opcode in full.  Otherwise 1 when done,
 * or the negative PAL_ERR_* of pal_pickle_node_add.
 */
int
pal_pickle_setitems_dict(struct pk_vm *vm)
{
	const struct pk_val *t, *v;
	size_t x, below, n, i;
	uint32_t ref;
	int note, r;
	uint8_t k;

	if (vm->nmarks == 0)
		return 0;
	x = vm->marks[vm->nmarks - 1];
	below = vm->nmarks > 1 ? vm->marks[vm->nmarks - 2] : 0;
	if (x >= vm->nstack || x <= below || (vm->nstack - x) % 2 != 0)
		return 0;
	t = &vm->stack[x - 1];
	if (t->tag != PK_NODE || vm->nodes[t->u.ref].kind != PK_N_DICT)
		return 0;
	ref = (uint32_t)t->u.ref;
	v = vm->stack + x;
	n = vm->nstack - x;
	/* One pass: keys that fail the load, and keys note_keys must see. */
	for (i = 0, note = 0; i < n; i += 2) {
		if (v[i].tag == PK_NODE) {
			k = vm->nodes[v[i].u.ref].kind;
			if (k == PK_N_LIST || k == PK_N_DICT || k == PK_N_SET)
				return 0;
		} else if (v[i].tag == PK_STR) {
			note |= !plain_key(vm, &v[i]);
		}
	}
	vm->nmarks--;
	vm->fence = below;
	if (note)
		note_keys(vm, ref, v, n);
	r = pal_pickle_node_add(vm, ref, v, n);
	vm->nstack = x;
	return r == 0 ? 1 : r;
}

int
pal_pickle_mutate(struct pk_vm *vm, size_t x)
{
	struct pk_val t;
	struct pk_node *nd;
	size_t n = vm->nstack - x;
	int r = 0;

	/* Field by field: the target was often pushed just before. */
	pk_val_copy(&t, &vm->stack[x - 1]);
	if (t.tag == PK_NODE && vm->nodes[t.u.ref].kind == PK_N_DICT &&
	    (vm->op == OP_SETITEMS || vm->op == OP_SETITEM ||
	    vm->op == OP_DICT)) {
		r = dict_add(vm, (uint32_t)t.u.ref, x, n);
		vm->nstack = x;
		return r;
	}
	if (t.tag == PK_GLOBAL) {
		r = pal_pickle_find(vm->cx, PK_R_MUTATE_GLOBAL, vm->at,
		    "%s calls %s of %s, changing a class, function or module "
		    "the loader trusts", pal_pickle_opname(vm->op),
		    method_of(vm->op), pal_pickle_describe(vm, &t));
	} else if (t.tag == PK_NODE && is_opaque(vm, &t)) {
		r = untrusted_method(vm, &t, method_of(vm->op));
	} else if (t.tag == PK_NODE && accepts(pal_pickle_node(vm, &t)->kind,
	    1, vm->op)) {
		nd = pal_pickle_node(vm, &t);
		if ((nd->kind == PK_N_DICT || nd->kind == PK_N_SET) &&
		    (r = unhashable(vm, vm->stack + x, n,
		    nd->kind == PK_N_DICT ? 2 : 1)) != 0)
			return r;
		if (nd->kind == PK_N_DICT)
			note_keys(vm, (uint32_t)t.u.ref, vm->stack + x, n);
		if (nd->kind != PK_N_LIST || vm->op == OP_APPEND ||
		    vm->op == OP_APPENDS) {
			r = pal_pickle_node_add(vm, t.u.ref, vm->stack + x, n);
			vm->nstack = x;
			return r;
		}
	} else if (!accepts(t.tag, 0, vm->op)) {
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "%s on %s, which has no %s", pal_pickle_opname(vm->op),
		    what_of(vm, &t), method_of(vm->op));
	}
	pal_pickle_unref_n(vm, vm->stack + x, n);
	vm->nstack = x;
	return r;
}

/* BUILD. */

/* The value stored under "__setstate__" in a dict, or NULL if not kept. */
static const struct pk_val *
setstate_value(struct pk_vm *vm, const struct pk_val *dict)
{
	struct pk_node *nd = pal_pickle_node(vm, dict);
	const struct pk_val *items;
	size_t n;

	items = pal_pickle_items(vm, (uint32_t)dict->u.ref, &n);
	if (nd->cls == PK_NOREF || nd->cls >= n)
		return NULL;
	return &items[nd->cls];
}

/*
 * A state dict (inst.__dict__ update) or slot state dict (setattr) that
 * plants special attributes.  A planted __setstate__ is remembered: the
 * next BUILD on the object calls it.
 */
static int
check_state_dict(struct pk_vm *vm, uint32_t obj, const struct pk_val *d,
    int slots)
{
	struct pk_node *nd;
	const struct pk_val *f;
	uint8_t fl;
	int r;

	if (!is_kind(vm, d, PK_N_DICT))
		return 0;
	fl = pal_pickle_node(vm, d)->flags;
	if (!(fl & PK_NF_KEY_SETSTATE) && !(slots && (fl & PK_NF_KEY_DUNDER)))
		return 0;
	if ((r = pal_pickle_find(vm->cx, PK_R_STATE, vm->at, "BUILD %s "
	    "special attributes of the object (%s)", slots ? "sets, through "
	    "slot state," : "stores, in its __dict__,",
	    (fl & PK_NF_KEY_SETSTATE) ? "__setstate__" : "a __dunder__ "
	    "name")) != 0)
		return r;
	if ((f = setstate_value(vm, d)) == NULL || obj == PK_NOREF)
		return 0;
	nd = &vm->nodes[obj];
	pal_pickle_ref(vm, f);
	pal_pickle_unref(vm, &nd->in[PK_OBJ_SETSTATE]);
	nd = &vm->nodes[obj];
	nd->in[PK_OBJ_SETSTATE] = *f;
	nd->flags |= PK_NF_SETSTATE;
	return 0;
}

static int
check_state(struct pk_vm *vm, uint32_t obj, const struct pk_val *state)
{
	const struct pk_val *d = tuple_item(vm, state, 0);
	size_t n = 0;
	int r;

	if (is_kind(vm, state, PK_N_TUPLE))
		(void)pal_pickle_items(vm, state->u.ref, &n);
	if (d == NULL || n != 2)
		return check_state_dict(vm, obj, state, 0);
	if ((r = check_state_dict(vm, obj, d, 0)) != 0)
		return r;
	return check_state_dict(vm, obj, tuple_item(vm, state, 1), 1);
}

/* The object's replaced __setstate__ is what BUILD calls. */
static int
call_planted(struct pk_vm *vm, const struct pk_val *obj)
{
	const struct pk_val *f = &pal_pickle_node(vm, obj)->in[PK_OBJ_SETSTATE];

	if (f->tag == PK_GLOBAL) {
		struct pk_global *g = pal_pickle_gl(vm->cx, f->u.ref);

		if (pal_pickle_gl_trusted(g))
			return pal_pickle_find(vm->cx, PK_R_STATE, vm->at,
			    "BUILD calls %s, planted as the object's "
			    "__setstate__", pal_pickle_gl_display(vm->cx, g));
		return pal_pickle_report_call(vm, f->u.ref, verb_of(OP_BUILD));
	}
	return indirect(vm, f, "BUILD calls, as the object's planted "
	    "__setstate__,");
}

static int
build_object(struct pk_vm *vm, const struct pk_val *inst,
    const struct pk_val *state)
{
	struct pk_node *nd = pal_pickle_node(vm, inst);
	uint8_t sp = PK_S_NONE;
	int r;

	if (nd->flags & PK_NF_SETSTATE)
		return call_planted(vm, inst);
	if ((r = untrusted_method(vm, inst, "__setstate__")) != 0 ||
	    (r = check_state(vm, inst->u.ref, state)) != 0)
		return r;
	nd = pal_pickle_node(vm, inst);
	if (nd->kind == PK_N_OBJECT && nd->cls != PK_NOREF)
		sp = pal_pickle_gl(vm->cx, nd->cls)->special;
	if (sp != PK_S_DTYPE && sp != PK_S_JOBLIB_WRAPPER)
		return 0;
	/* dtype and joblib's wrapper: their state says how long data is. */
	pal_pickle_ref(vm, state);
	pal_pickle_unref(vm, &nd->in[PK_OBJ_STATE]);
	nd = pal_pickle_node(vm, inst);
	nd->in[PK_OBJ_STATE] = *state;
	if (sp == PK_S_JOBLIB_WRAPPER && (vm->flags & PK_VM_JOBLIB))
		return pal_pickle_joblib_array(vm, inst->u.ref);
	return 0;
}

int
pal_pickle_build(struct pk_vm *vm)
{
	struct pk_val state, inst;
	int r;

	if (vm->nstack < vm->fence + 2)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT, "%s",
		    vm->nmarks > 0 ? "unexpected MARK found" :
		    "unpickling stack underflow");
	state = vm->stack[--vm->nstack];
	inst = vm->stack[vm->nstack - 1];
	if (inst.tag == PK_GLOBAL)
		r = pal_pickle_find(vm->cx, PK_R_BUILD_GLOBAL, vm->at,
		    "BUILD sets the state of %s, a class, function or module "
		    "the loader trusts", pal_pickle_describe(vm, &inst));
	else if (is_opaque(vm, &inst))
		r = build_object(vm, &inst, &state);
	else if (state.tag == PK_NONE)
		r = 0;
	else
		r = pal_pickle_fail(vm, PAL_ERR_FORMAT, "BUILD on %s, which "
		    "has no __setstate__ and no __dict__", what_of(vm, &inst));
	pal_pickle_unref(vm, &state);
	return r;
}
