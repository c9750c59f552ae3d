/*
 * pickle_vm.c - the symbolic unpickler: one switch over the opcodes of
 * protocols 0 to 5, with the stack, mark stack and memo semantics of
 * CPython's C unpickler (Modules/_pickle.c, load() and its load_*
 * functions).
 *
 * Every check the real unpickler makes that can stop a load (underflow
 * below the current mark, a missing MARK, a missing memo id, an odd
 * SETITEMS, an unquoted STRING) is made here too, so that the scanner
 * follows exactly the opcodes a loader would run and no more.  FRAME is
 * transparent, as in the C unpickler: it only promises that its bytes are
 * present, and opcodes may cross its end (that is reported, because the
 * pure-Python unpickler refuses such streams).
 */
#include <stdlib.h>
#include <string.h>

#include "pickle_int.h"

/*
 * The fast path (below) is inlined whole into the loop, and the full
 * dispatch kept out of it: a compiler left to its own counting does
 * neither, and the loop's locals then go through memory.
 */
#define FAST_INLINE inline __attribute__((always_inline))

/* Reading. */

static int
rd(struct pk_vm *vm, size_t n, const uint8_t **p)
{
	if (pal_cur_take(&vm->cur, n, p) != 0)
		return pal_pickle_fail(vm, PAL_ERR_TRUNCATED,
		    "needs %zu bytes, %zu left (pickle data was truncated)",
		    n, pal_cur_left(&vm->cur));
	return 0;
}

/*
 * An unsigned little-endian integer of n <= 8 bytes.  The sizes opcodes
 * use are spelled out, so that each folds into one load where n is known.
 */
static FAST_INLINE uint64_t
le(const uint8_t *p, size_t n)
{
	uint64_t x = 0;

	switch (n) {
	case 1:
		return p[0];
	case 2:
		return (uint64_t)p[0] | (uint64_t)p[1] << 8;
	case 4:
		return (uint64_t)p[0] | (uint64_t)p[1] << 8 |
		    (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
	case 8:
		return (uint64_t)p[0] | (uint64_t)p[1] << 8 |
		    (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
		    (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
		    (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
	default:
		while (n-- > 0)
			x = x << 8 | p[n];
		return x;
	}
}

/* An unsigned little-endian size of n bytes (calc_binsize). */
static int
rd_size(struct pk_vm *vm, size_t n, size_t *size)
{
	const uint8_t *p;
	uint64_t x;
	int r;

	*size = 0;
	if ((r = rd(vm, n, &p)) != 0)
		return r;
	x = le(p, n);
	/* Nothing longer than the input can follow; 2^48 bounds spans. */
	if (x > (uint64_t)INT64_MAX || x >= (uint64_t)1 << 48)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "size %llu exceeds the maximum", (unsigned long long)x);
	*size = (size_t)x;
	return 0;
}

/* A line without its newline, which must be there (_Unpickler_Readline). */
static int
rdline(struct pk_vm *vm, const uint8_t **p, size_t *n)
{
	if (pal_cur_line(&vm->cur, SIZE_MAX, p, n) != 0)
		return pal_pickle_fail(vm, PAL_ERR_TRUNCATED,
		    "line not terminated by a newline (pickle data was "
		    "truncated)");
	return 0;
}

/* As rdline, for opcodes that refuse an empty line (len < 2 in C). */
static int
rdline2(struct pk_vm *vm, const uint8_t **p, size_t *n)
{
	int r;

	if ((r = rdline(vm, p, n)) != 0)
		return r;
	if (*n == 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "empty line (pickle data was truncated)");
	return 0;
}

/* Stack. */

static int
underflow(struct pk_vm *vm)
{
	return pal_pickle_fail(vm, PAL_ERR_FORMAT, "%s",
	    vm->nmarks > 0 ? "unexpected MARK found" :
	    "unpickling stack underflow");
}

/* Makes room for one more value; the cold path of every push. */
static int
grow_stack(struct pk_vm *vm)
{
	size_t ncap = vm->cap_stack ? vm->cap_stack * 2 : 64;
	void *p;

	if (vm->nstack >= vm->cx->max_stack)
		return pal_pickle_fail(vm, PAL_ERR_LIMIT,
		    "stack deeper than %u", vm->cx->max_stack);
	if (ncap > vm->cx->max_stack)
		ncap = vm->cx->max_stack;
	if ((p = realloc(vm->stack, ncap * sizeof(*vm->stack))) == NULL)
		return pal_pickle_fail(vm, PAL_ERR_NOMEM, "out of memory");
	vm->stack = p;
	vm->cap_stack = ncap;
	return 0;
}

/* Pushes v, whose reference the stack takes over (or releases). */
static int
push(struct pk_vm *vm, const struct pk_val *v)
{
	int r;

	if (vm->nstack == vm->cap_stack && (r = grow_stack(vm)) != 0) {
		pal_pickle_unref(vm, v);
		return r;
	}
	pk_val_copy(&vm->stack[vm->nstack++], v);
	return 0;
}

static int
push_scalar(struct pk_vm *vm, uint8_t tag, int64_t i)
{
	struct pk_val *p;
	int r;

	if (vm->nstack == vm->cap_stack && (r = grow_stack(vm)) != 0)
		return r;
	p = &vm->stack[vm->nstack++];
	pk_set_int(p, tag, i);
	return 0;
}

/* A string, bytes or big int: where it lies in the input. */
static int
push_span(struct pk_vm *vm, uint8_t tag, uint8_t form, size_t off,
    size_t len)
{
	struct pk_val *p;
	int r;

	if (vm->nstack == vm->cap_stack && (r = grow_stack(vm)) != 0)
		return r;
	p = &vm->stack[vm->nstack++];
	pk_set(p, tag, form, len, off);
	return 0;
}

/* PDATA_POP: nothing at or below the fence may be taken. */
static int
pop(struct pk_vm *vm, struct pk_val *v)
{
	if (vm->nstack <= vm->fence)
		return underflow(vm);
	*v = vm->stack[--vm->nstack];
	return 0;
}

/* Drops stack items from index i up, releasing them (Pdata_clear). */
static void
clear_to(struct pk_vm *vm, size_t i)
{
	if (i < vm->nstack)
		pal_pickle_unref_n(vm, vm->stack + i, vm->nstack - i);
	vm->nstack = i;
}

static int
marker(struct pk_vm *vm, size_t *mark)
{
	if (vm->nmarks < 1)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "could not find MARK");
	*mark = vm->marks[--vm->nmarks];
	vm->fence = vm->nmarks ? vm->marks[vm->nmarks - 1] : 0;
	return 0;
}

static int
op_mark(struct pk_vm *vm)
{
	if (vm->nmarks == vm->cap_marks) {
		size_t ncap = vm->cap_marks ? vm->cap_marks * 2 : 32;
		void *p;

		if (vm->nmarks >= vm->cx->max_stack)
			return pal_pickle_fail(vm, PAL_ERR_LIMIT,
			    "more than %u marks", vm->cx->max_stack);
		if (ncap > vm->cx->max_stack)
			ncap = vm->cx->max_stack;
		if ((p = realloc(vm->marks, ncap * sizeof(*vm->marks))) ==
		    NULL)
			return pal_pickle_fail(vm, PAL_ERR_NOMEM,
			    "out of memory");
		vm->marks = p;
		vm->cap_marks = ncap;
	}
	vm->marks[vm->nmarks++] = vm->fence = vm->nstack;
	return 0;
}

/* load_pop: a POP right at a mark removes the mark instead. */
static int
op_pop(struct pk_vm *vm)
{
	if (vm->nmarks > 0 && vm->marks[vm->nmarks - 1] == vm->nstack) {
		vm->nmarks--;
		vm->fence = vm->nmarks ? vm->marks[vm->nmarks - 1] : 0;
		return 0;
	}
	if (vm->nstack <= vm->fence)
		return underflow(vm);
	clear_to(vm, vm->nstack - 1);
	return 0;
}

static int
op_pop_mark(struct pk_vm *vm)
{
	size_t mark = 0;
	int r;

	if ((r = marker(vm, &mark)) != 0)
		return r;
	clear_to(vm, mark);
	return 0;
}

static int
op_dup(struct pk_vm *vm)
{
	struct pk_val v;

	if (vm->nstack <= vm->fence)
		return underflow(vm);
	v = vm->stack[vm->nstack - 1];
	pal_pickle_ref(vm, &v);
	return push(vm, &v);
}

/* Containers. */

/* A new container of kind holding stack[start..], which is popped. */
static int
collect(struct pk_vm *vm, uint8_t kind, size_t start)
{
	struct pk_val v;
	int r;

	if ((r = pal_pickle_node_new(vm, kind, &v)) != 0)
		return r;
	r = start == vm->nstack ? 0 : pal_pickle_node_add(vm, v.u.ref,
	    vm->stack + start, vm->nstack - start);
	vm->nstack = start;
	if (r != 0) {
		pal_pickle_unref(vm, &v);
		return r;
	}
	return push(vm, &v);
}

/* Pdata_poptuple: the tuple may not reach below the fence. */
static int
poptuple(struct pk_vm *vm, size_t start, uint8_t kind)
{
	if (start < vm->fence)
		return underflow(vm);
	return collect(vm, kind, start);
}

static int
op_counted_tuple(struct pk_vm *vm, size_t k)
{
	if (vm->nstack < k)
		return underflow(vm);
	return poptuple(vm, vm->nstack - k, PK_N_TUPLE);
}

static int
op_marked(struct pk_vm *vm, uint8_t kind)
{
	size_t mark = 0;
	int r;

	if ((r = marker(vm, &mark)) != 0)
		return r;
	if (kind == PK_N_TUPLE || kind == PK_N_FROZENSET)
		return poptuple(vm, mark, kind);
	return collect(vm, kind, mark);
}

static int
op_dict(struct pk_vm *vm)
{
	struct pk_val d;
	size_t mark = 0;
	int r;

	if ((r = marker(vm, &mark)) != 0)
		return r;
	if ((vm->nstack - mark) % 2 != 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "odd number of items for DICT");
	if ((r = pal_pickle_node_new(vm, PK_N_DICT, &d)) != 0)
		return r;
	if ((r = push(vm, &d)) != 0)
		return r;
	/* The new dict sits above its items: SETITEMS' layout. */
	memmove(vm->stack + mark + 1, vm->stack + mark,
	    (vm->nstack - 1 - mark) * sizeof(*vm->stack));
	vm->stack[mark] = d;
	return pal_pickle_mutate(vm, mark + 1);
}

static int
op_empty(struct pk_vm *vm, uint8_t kind)
{
	struct pk_val v;
	int r;

	if ((r = pal_pickle_node_new(vm, kind, &v)) != 0)
		return r;
	return push(vm, &v);
}

/* do_append, do_setitems, load_additems: target at x - 1, items above. */
static int
do_mutate(struct pk_vm *vm, size_t x, int pairs)
{
	if (x > vm->nstack || x <= vm->fence)
		return underflow(vm);
	if (x == vm->nstack)
		return 0;
	if (pairs && (vm->nstack - x) % 2 != 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "odd number of items for SETITEMS");
	return pal_pickle_mutate(vm, x);
}

static int
op_append(struct pk_vm *vm)
{
	if (vm->nstack <= vm->fence + 1)
		return underflow(vm);
	return do_mutate(vm, vm->nstack - 1, 0);
}

static int
op_setitem(struct pk_vm *vm)
{
	if (vm->nstack < 2)
		return underflow(vm);
	return do_mutate(vm, vm->nstack - 2, 1);
}

static int
op_marked_mutate(struct pk_vm *vm, int pairs)
{
	size_t mark = 0;
	int r;

	if ((r = marker(vm, &mark)) != 0)
		return r;
	return do_mutate(vm, mark, pairs);
}

/* Scalars. */

static int
op_int_text(struct pk_vm *vm)
{
	const uint8_t *p;
	size_t n, off;
	int64_t v;
	int kind, r;

	off = vm->cur.off;
	if ((r = rdline2(vm, &p, &n)) != 0)
		return r;
	if (pal_pickle_text_int(p, n, &v, &kind) != 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "could not convert string to int");
	if (kind == PK_INT_BIG)
		return push_span(vm, PK_BIGINT, PK_F_LONGTEXT,
		    off, n);
	return push_scalar(vm, kind == PK_INT_BOOL ? PK_BOOL :
	    PK_INT, v);
}

static int
op_long_text(struct pk_vm *vm)
{
	const uint8_t *p;
	size_t n, off;
	int64_t v;
	int big, r;

	off = vm->cur.off;
	if ((r = rdline2(vm, &p, &n)) != 0)
		return r;
	if (pal_pickle_text_long(p, n, &v, &big) != 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "invalid literal for int()");
	if (big)
		return push_span(vm, PK_BIGINT, PK_F_LONGTEXT,
		    off, p[n - 1] == 'L' ? n - 1 : n);
	return push_scalar(vm, PK_INT, v);
}

static int
op_binint(struct pk_vm *vm, size_t n)
{
	const uint8_t *p;
	uint64_t x;
	int r;

	if ((r = rd(vm, n, &p)) != 0)
		return r;
	x = le(p, n);
	/* BININT is signed; BININT1 and BININT2 are not (calc_binint). */
	if (n == 4)
		return push_scalar(vm, PK_INT, (int64_t)(int32_t)(uint32_t)x);
	return push_scalar(vm, PK_INT, (int64_t)x);
}

static int
op_counted_long(struct pk_vm *vm, size_t nb)
{
	const uint8_t *p;
	size_t off;
	int64_t size;
	uint64_t x;
	int r;

	if ((r = rd(vm, nb, &p)) != 0)
		return r;
	size = nb == 1 ? (int64_t)p[0] : (int64_t)(int32_t)(uint32_t)le(p, 4);
	if (size < 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "LONG pickle has negative byte count");
	off = vm->cur.off;
	if ((r = rd(vm, (size_t)size, &p)) != 0)
		return r;
	if (size > 8)
		return push_span(vm, PK_BIGINT, PK_F_LONGBIN,
		    off, (size_t)size);
	x = le(p, (size_t)size);
	/* Sign-extend from the top byte read. */
	if (size > 0 && size < 8 && (p[size - 1] & 0x80))
		x |= ~(uint64_t)0 << (8 * size);
	return push_scalar(vm, PK_INT, (int64_t)x);
}

static int
op_float_text(struct pk_vm *vm)
{
	const uint8_t *p;
	size_t n;
	double d;
	int r;

	if ((r = rdline2(vm, &p, &n)) != 0)
		return r;
	if (pal_pickle_text_float(p, n, &d) != 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "could not convert string to float");
	/* The value is not needed, only that CPython would accept it. */
	return push_scalar(vm, PK_FLOAT, 0);
}

static int
op_binfloat(struct pk_vm *vm)
{
	const uint8_t *p;
	int r;

	if ((r = rd(vm, 8, &p)) != 0)
		return r;
	return push_scalar(vm, PK_FLOAT, 0);
}

/* Strings and bytes. */

static int
op_string(struct pk_vm *vm)
{
	const uint8_t *p;
	size_t n, off, bad = 0;
	uint8_t form;
	int r;

	off = vm->cur.off;
	if ((r = rdline(vm, &p, &n)) != 0)
		return r;
	if (n < 2 || p[0] != p[n - 1] || (p[0] != '\'' && p[0] != '"'))
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "the STRING opcode argument must be quoted");
	if (pal_pickle_text_escape(p + 1, n - 2, NULL, &bad) != 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "invalid \\ escape at position %zu", bad);
	form = memchr(p + 1, '\\', n - 2) != NULL ? PK_F_STRESC :
	    pal_pickle_is_ascii(p + 1, n - 2) ? PK_F_UTF8 : PK_F_LATIN1;
	return push_span(vm, PK_STR, form, off + 1, n - 2);
}

static int
op_unicode(struct pk_vm *vm)
{
	const uint8_t *p;
	size_t n, off, bad = 0;
	uint8_t form;
	int r;

	off = vm->cur.off;
	if ((r = rdline(vm, &p, &n)) != 0)
		return r;
	if (pal_pickle_text_rawesc(p, n, NULL, &bad) != 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "truncated or out-of-range \\u escape at position %zu",
		    bad);
	form = memchr(p, '\\', n) != NULL ? PK_F_RAWESC :
	    pal_pickle_is_ascii(p, n) ? PK_F_UTF8 : PK_F_LATIN1;
	return push_span(vm, PK_STR, form, off, n);
}

/*
 * Short ASCII text, most names and keys, needs no further check.  Two
 * loads that overlap in the middle cover any length from 8 to 16 (from 4
 * to 8, 2 to 4): the bytes of p[0..n) and none other are read, without a
 * loop.
 */
static FAST_INLINE int
short_ascii(const uint8_t *p, size_t n)
{
	uint64_t a, b;
	uint32_t c, d;

	if (n >= 8) {
		if (n > 16)
			return 0;
		memcpy(&a, p, 8);
		memcpy(&b, p + n - 8, 8);
		return ((a | b) & 0x8080808080808080ull) == 0;
	}
	if (n >= 4) {
		memcpy(&c, p, 4);
		memcpy(&d, p + n - 4, 4);
		return ((c | d) & 0x80808080u) == 0;
	}
	if (n == 0)
		return 1;
	return ((p[0] | p[n / 2] | p[n - 1]) & 0x80) == 0;
}

/* Counted strings, bytes, bytearrays: nb bytes of length, then data. */
static int
op_counted(struct pk_vm *vm, size_t nb, uint8_t tag, uint8_t form)
{
	const uint8_t *p;
	size_t size = 0, off;
	int r;

	if ((r = rd_size(vm, nb, &size)) != 0)
		return r;
	off = vm->cur.off;
	if ((r = rd(vm, size, &p)) != 0)
		return r;
	if (tag == PK_STR && form == PK_F_UTF8 && !short_ascii(p, size) &&
	    !pal_pickle_utf8_ok(p, size, 1))
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "'utf-8' codec can't decode the string");
	return push_span(vm, tag, form, off, size);
}

/* Globals. */

static int
op_global(struct pk_vm *vm)
{
	const uint8_t *m, *n;
	size_t ml, nl;
	struct pk_val v;
	int r;

	if ((r = rdline2(vm, &m, &ml)) != 0 || (r = rdline2(vm, &n, &nl)) != 0)
		return r;
	if (!pal_pickle_utf8_ok(m, ml, 0) || !pal_pickle_utf8_ok(n, nl, 0))
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "'utf-8' codec can't decode the global's name");
	if ((r = pal_pickle_global(vm, (const char *)m, ml, (const char *)n,
	    nl, &v)) != 0)
		return r;
	return push(vm, &v);
}

/* A span's length, clipped just past the longest name judged as given. */
static size_t
short_span(const struct pk_val *v)
{
	uint64_t n = pk_span_len(v);

	return n > PK_NAME_MAX + 1 ? PK_NAME_MAX + 1 : (size_t)n;
}

/* What STACK_GLOBAL makes of an operand that is not a str. */
static int
stack_global_operand(struct pk_vm *vm, const struct pk_val *v)
{
	if (v->tag == PK_STR)
		return 0;
	if (v->tag == PK_GLOBAL || (v->tag == PK_NODE &&
	    (pal_pickle_node(vm, v)->kind == PK_N_OBJECT ||
	    pal_pickle_node(vm, v)->kind == PK_N_PERSID)))
		return 1;
	return -1;
}

static int
op_stack_global(struct pk_vm *vm)
{
	struct pk_val name, mod, out;
	const char *m, *n;
	size_t ml, nl;
	int km, kn, r;

	if ((r = pop(vm, &name)) != 0)
		return r;
	if ((r = pop(vm, &mod)) != 0) {
		pal_pickle_unref(vm, &name);
		return r;
	}
	km = stack_global_operand(vm, &mod);
	kn = stack_global_operand(vm, &name);
	pal_pickle_unref(vm, &name);
	pal_pickle_unref(vm, &mod);
	if (km < 0 || kn < 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "STACK_GLOBAL requires str");
	if (km > 0 || kn > 0) {
		/* A value made at load time may well be a str; which
		 * global it names cannot be known without running it. */
		r = pal_pickle_global_dynamic(vm, km > 0 ?
		    "its module name is computed when the pickle is loaded" :
		    "its name is computed when the pickle is loaded", &out);
	} else if (pk_span_len(&mod) > 10 * PK_NAME_MAX ||
	    pk_span_len(&name) > 10 * PK_NAME_MAX) {
		/* Too long to be a name even with escapes: not decoded. */
		r = pal_pickle_global(vm,
		    (const char *)vm->cx->data + mod.u.off, short_span(&mod),
		    (const char *)vm->cx->data + name.u.off, short_span(&name),
		    &out);
	} else {
		if ((r = pal_pickle_str(vm->cx, &mod, 0, &m, &ml)) != 0 ||
		    (r = pal_pickle_str(vm->cx, &name, 1, &n, &nl)) != 0)
			return pal_pickle_fail(vm, PAL_ERR_LIMIT,
			    "global name too long to decode");
		r = pal_pickle_global(vm, m, ml, n, nl, &out);
	}
	if (r != 0)
		return r;
	return push(vm, &out);
}

static int
op_ext(struct pk_vm *vm, size_t nb)
{
	const uint8_t *p;
	struct pk_val v;
	int64_t code;
	int r;

	if ((r = rd(vm, nb, &p)) != 0)
		return r;
	code = nb == 4 ? (int64_t)(int32_t)(uint32_t)le(p, 4) :
	    (int64_t)le(p, nb);
	if (code <= 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "EXT specifies code <= 0");
	if ((r = pal_pickle_global_ext(vm, (uint32_t)code, &v)) != 0)
		return r;
	return push(vm, &v);
}

/* Calls. */

static int
op_reduce(struct pk_vm *vm)
{
	struct pk_val callable, args, out;
	int r;

	if ((r = pop(vm, &args)) != 0)
		return r;
	if ((r = pop(vm, &callable)) != 0) {
		pal_pickle_unref(vm, &args);
		return r;
	}
	if ((r = pal_pickle_call(vm, callable, args, NULL, &out)) != 0)
		return r;
	return push(vm, &out);
}

static int
op_newobj(struct pk_vm *vm, int ex)
{
	struct pk_val cls, args, kwargs, out;
	int r;

	memset(&kwargs, 0, sizeof(kwargs));
	if (ex && (r = pop(vm, &kwargs)) != 0)
		return r;
	if ((r = pop(vm, &args)) != 0) {
		pal_pickle_unref(vm, &kwargs);
		return r;
	}
	if ((r = pop(vm, &cls)) != 0) {
		pal_pickle_unref(vm, &kwargs);
		pal_pickle_unref(vm, &args);
		return r;
	}
	if ((r = pal_pickle_call(vm, cls, args, ex ? &kwargs : NULL,
	    &out)) != 0)
		return r;
	return push(vm, &out);
}

/* Pops a tuple from mark on, to be the arguments of INST or OBJ. */
static int
args_from(struct pk_vm *vm, size_t start, struct pk_val *args)
{
	int r;

	if ((r = poptuple(vm, start, PK_N_TUPLE)) != 0)
		return r;
	*args = vm->stack[--vm->nstack];
	return 0;
}

static int
op_inst(struct pk_vm *vm)
{
	const uint8_t *m, *n;
	struct pk_val cls, args, out;
	size_t mark = 0, ml, nl;
	int r;

	if ((r = marker(vm, &mark)) != 0)
		return r;
	if ((r = rdline2(vm, &m, &ml)) != 0 || (r = rdline2(vm, &n, &nl)) != 0)
		return r;
	if (!pal_pickle_is_ascii(m, ml) || !pal_pickle_is_ascii(n, nl))
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "'ascii' codec can't decode the class name");
	if ((r = pal_pickle_global(vm, (const char *)m, ml, (const char *)n,
	    nl, &cls)) != 0)
		return r;
	if ((r = args_from(vm, mark, &args)) != 0)
		return r;
	if ((r = pal_pickle_call(vm, cls, args, NULL, &out)) != 0)
		return r;
	return push(vm, &out);
}

static int
op_obj(struct pk_vm *vm)
{
	struct pk_val cls, args, out;
	size_t mark = 0;
	int r;

	if ((r = marker(vm, &mark)) != 0)
		return r;
	if (vm->nstack < mark + 1)
		return underflow(vm);
	if ((r = args_from(vm, mark + 1, &args)) != 0)
		return r;
	if ((r = pop(vm, &cls)) != 0) {
		pal_pickle_unref(vm, &args);
		return r;
	}
	if ((r = pal_pickle_call(vm, cls, args, NULL, &out)) != 0)
		return r;
	return push(vm, &out);
}

/* Persistent ids: what the loader's persistent_load returns. */

static int
persid_value(struct pk_vm *vm, struct pk_val *out)
{
	return pal_pickle_node_new(vm, PK_N_PERSID, out);
}

static int
op_persid(struct pk_vm *vm)
{
	const uint8_t *p;
	struct pk_val v;
	size_t n;
	int r;

	if ((r = rdline(vm, &p, &n)) != 0)
		return r;
	if (!pal_pickle_is_ascii(p, n))
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "persistent IDs in protocol 0 must be ASCII strings");
	if ((r = persid_value(vm, &v)) != 0)
		return r;
	return push(vm, &v);
}

static int
op_binpersid(struct pk_vm *vm)
{
	struct pk_val pid, v;
	int r;

	if ((r = pop(vm, &pid)) != 0)
		return r;
	if (vm->flags & PK_VM_TORCH)
		r = pal_pickle_torch_persid(vm, &pid, &v);
	else
		r = persid_value(vm, &v);
	pal_pickle_unref(vm, &pid);
	if (r != 0)
		return r;
	return push(vm, &v);
}

/* Memo. */

static int
memo_push(struct pk_vm *vm, uint64_t key)
{
	struct pk_memo *m = &vm->memo;
	struct pk_val *p, v;
	uint64_t e;
	int r;

	/* Picklers number the memo densely: unpack straight onto the stack. */
	if (key < m->dense_init && ((e = m->dense[key]) & 7) != PK_ME_EMPTY &&
	    (e & 7) != PK_ME_BIG) {
		if (vm->nstack == vm->cap_stack && (r = grow_stack(vm)) != 0)
			return r;
		p = &vm->stack[vm->nstack++];
		pk_memo_unpack(e, p);
		pal_pickle_ref(vm, p);
		return 0;
	}
	if (!pal_pickle_memo_get(vm, key, &v))
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "memo value not found at index %llu",
		    (unsigned long long)key);
	pal_pickle_ref(vm, &v);
	return push(vm, &v);
}

static int
memo_store(struct pk_vm *vm, uint64_t key)
{
	struct pk_memo *m = &vm->memo;
	const struct pk_val *v;

	if (vm->nstack <= vm->fence)
		return underflow(vm);
	v = &vm->stack[vm->nstack - 1];
	/* The next id of a dense memo, the usual case: slots from
	 * dense_init on are empty, so nothing is overwritten. */
	if (key == m->dense_init && key < m->dense_cap &&
	    m->count < vm->cx->max_memo && pk_memo_pack(v, &m->dense[key])) {
		pal_pickle_ref(vm, v);
		m->dense_init++;
		m->count++;
		return 0;
	}
	return pal_pickle_memo_put(vm, key, v);
}

/* The decimal id of GET and PUT (PyLong_FromString base 10). */
static int
text_id(struct pk_vm *vm, const uint8_t *p, size_t n, int64_t *id)
{
	int big;

	if (pal_pickle_text_pylong(p, n, 10, id, &big) != 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "invalid literal for int() with base 10");
	if (big)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "memo id too large to convert");
	return 0;
}

static int
op_get(struct pk_vm *vm)
{
	const uint8_t *p;
	size_t n;
	int64_t id;
	int r;

	if ((r = rdline2(vm, &p, &n)) != 0 || (r = text_id(vm, p, n, &id)) != 0)
		return r;
	if (id < 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "memo value not found at index %lld", (long long)id);
	return memo_push(vm, (uint64_t)id);
}

static int
op_put(struct pk_vm *vm)
{
	const uint8_t *p;
	size_t n;
	int64_t id;
	int r;

	if ((r = rdline2(vm, &p, &n)) != 0)
		return r;
	if (vm->nstack <= vm->fence)
		return underflow(vm);
	if ((r = text_id(vm, p, n, &id)) != 0)
		return r;
	if (id < 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "negative PUT argument");
	return memo_store(vm, (uint64_t)id);
}

static int
op_binget(struct pk_vm *vm, size_t nb)
{
	const uint8_t *p;
	int r;

	if ((r = rd(vm, nb, &p)) != 0)
		return r;
	return memo_push(vm, le(p, nb));
}

static int
op_binput(struct pk_vm *vm, size_t nb)
{
	const uint8_t *p;
	int r;

	if ((r = rd(vm, nb, &p)) != 0)
		return r;
	return memo_store(vm, le(p, nb));
}

/* Protocol 4 and 5 framing and buffers. */

static int
op_proto(struct pk_vm *vm)
{
	const uint8_t *p;
	int r;

	if ((r = rd(vm, 1, &p)) != 0)
		return r;
	if (p[0] > PK_HIGHEST_PROTOCOL)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "unsupported pickle protocol: %u", p[0]);
	vm->proto = p[0];
	return 0;
}

static int
op_frame(struct pk_vm *vm)
{
	size_t len = 0;
	int r;

	if ((r = rd_size(vm, 8, &len)) != 0)
		return r;
	if (len > pal_cur_left(&vm->cur))
		return pal_pickle_fail(vm, PAL_ERR_TRUNCATED,
		    "frame of %zu bytes, %zu left (pickle data was truncated)",
		    len, pal_cur_left(&vm->cur));
	if (vm->at < vm->frame_end && !vm->cx->frame_reported) {
		vm->cx->frame_reported = 1;
		if ((r = pal_pickle_find(vm->cx, PK_R_FRAME, vm->at,
		    "FRAME starts before the frame ending at offset %zu "
		    "ends", vm->frame_end)) != 0)
			return r;
	}
	vm->frame_end = vm->cur.off + len;
	return 0;
}

static int
op_next_buffer(struct pk_vm *vm)
{
	struct pal_scan *s = vm->cx->s;
	int r;

	if (s != NULL && !vm->cx->oob_reported) {
		vm->cx->oob_reported = 1;
		if ((r = pal_pickle_find(vm->cx, PK_R_OOB, vm->at,
		    "NEXT_BUFFER takes a buffer supplied at load time, not "
		    "in the file")) != 0)
			return r;
	}
	return push_scalar(vm, PK_BUFFER, 0);
}

static int
op_readonly_buffer(struct pk_vm *vm)
{
	const struct pk_val *v;

	if (vm->nstack <= vm->fence)
		return underflow(vm);
	/* memoryview() of it: a literal must be bytes-like. */
	v = &vm->stack[vm->nstack - 1];
	if (v->tag == PK_BYTES || v->tag == PK_BYTEARRAY ||
	    v->tag == PK_BUFFER || v->tag == PK_GLOBAL || (v->tag == PK_NODE &&
	    (pal_pickle_node(vm, v)->kind == PK_N_OBJECT ||
	    pal_pickle_node(vm, v)->kind == PK_N_PERSID)))
		return 0;
	return pal_pickle_fail(vm, PAL_ERR_FORMAT,
	    "memoryview: a bytes-like object is required");
}

static int
op_stop(struct pk_vm *vm)
{
	int r;

	if ((r = pop(vm, &vm->result)) != 0)
		return r;
	if (vm->nstack > 0 || vm->nmarks > 0)
		return pal_pickle_find(vm->cx, PK_R_STOP, vm->at,
		    "STOP leaves %zu values and %zu marks behind",
		    vm->nstack, vm->nmarks);
	return 0;
}

static int
bad_opcode(struct pk_vm *vm, uint8_t op)
{
	return pal_pickle_fail(vm, PAL_ERR_FORMAT, "invalid load key 0x%02x",
	    op);
}

/* Dispatch: one case per opcode, as in load(). */
static __attribute__((noinline)) int
dispatch(struct pk_vm *vm, uint8_t op)
{
	switch (op) {
	case OP_MARK:		return op_mark(vm);
	case OP_POP:		return op_pop(vm);
	case OP_POP_MARK:	return op_pop_mark(vm);
	case OP_DUP:		return op_dup(vm);
	case OP_FLOAT:		return op_float_text(vm);
	case OP_BINFLOAT:	return op_binfloat(vm);
	case OP_INT:		return op_int_text(vm);
	case OP_BININT:		return op_binint(vm, 4);
	case OP_BININT1:	return op_binint(vm, 1);
	case OP_BININT2:	return op_binint(vm, 2);
	case OP_LONG:		return op_long_text(vm);
	case OP_LONG1:		return op_counted_long(vm, 1);
	case OP_LONG4:		return op_counted_long(vm, 4);
	case OP_NONE:		return push_scalar(vm, PK_NONE, 0);
	case OP_NEWTRUE:	return push_scalar(vm, PK_BOOL, 1);
	case OP_NEWFALSE:	return push_scalar(vm, PK_BOOL, 0);
	case OP_PERSID:		return op_persid(vm);
	case OP_BINPERSID:	return op_binpersid(vm);
	case OP_REDUCE:		return op_reduce(vm);
	case OP_STRING:		return op_string(vm);
	case OP_BINSTRING:	return op_counted(vm, 4, PK_STR, PK_F_LATIN1);
	case OP_SHORT_BINSTRING: return op_counted(vm, 1, PK_STR, PK_F_LATIN1);
	case OP_UNICODE:	return op_unicode(vm);
	case OP_BINUNICODE:	return op_counted(vm, 4, PK_STR, PK_F_UTF8);
	case OP_SHORT_BINUNICODE: return op_counted(vm, 1, PK_STR, PK_F_UTF8);
	case OP_BINUNICODE8:	return op_counted(vm, 8, PK_STR, PK_F_UTF8);
	case OP_BINBYTES:	return op_counted(vm, 4, PK_BYTES, 0);
	case OP_SHORT_BINBYTES:	return op_counted(vm, 1, PK_BYTES, 0);
	case OP_BINBYTES8:	return op_counted(vm, 8, PK_BYTES, 0);
	case OP_BYTEARRAY8:	return op_counted(vm, 8, PK_BYTEARRAY, 0);
	case OP_APPEND:		return op_append(vm);
	case OP_APPENDS:	return op_marked_mutate(vm, 0);
	case OP_SETITEM:	return op_setitem(vm);
	case OP_SETITEMS:	return op_marked_mutate(vm, 1);
	case OP_ADDITEMS:	return op_marked_mutate(vm, 0);
	case OP_BUILD:		return pal_pickle_build(vm);
	case OP_GLOBAL:		return op_global(vm);
	case OP_STACK_GLOBAL:	return op_stack_global(vm);
	case OP_INST:		return op_inst(vm);
	case OP_OBJ:		return op_obj(vm);
	case OP_NEWOBJ:		return op_newobj(vm, 0);
	case OP_NEWOBJ_EX:	return op_newobj(vm, 1);
	case OP_EXT1:		return op_ext(vm, 1);
	case OP_EXT2:		return op_ext(vm, 2);
	case OP_EXT4:		return op_ext(vm, 4);
	case OP_DICT:		return op_dict(vm);
	case OP_EMPTY_DICT:	return op_empty(vm, PK_N_DICT);
	case OP_LIST:		return op_marked(vm, PK_N_LIST);
	case OP_EMPTY_LIST:	return op_empty(vm, PK_N_LIST);
	case OP_TUPLE:		return op_marked(vm, PK_N_TUPLE);
	case OP_EMPTY_TUPLE:	return op_counted_tuple(vm, 0);
	case OP_TUPLE1:		return op_counted_tuple(vm, 1);
	case OP_TUPLE2:		return op_counted_tuple(vm, 2);
	case OP_TUPLE3:		return op_counted_tuple(vm, 3);
	case OP_EMPTY_SET:	return op_empty(vm, PK_N_SET);
	case OP_FROZENSET:	return op_marked(vm, PK_N_FROZENSET);
	case OP_GET:		return op_get(vm);
	case OP_BINGET:		return op_binget(vm, 1);
	case OP_LONG_BINGET:	return op_binget(vm, 4);
	case OP_PUT:		return op_put(vm);
	case OP_BINPUT:		return op_binput(vm, 1);
	case OP_LONG_BINPUT:	return op_binput(vm, 4);
	case OP_MEMOIZE:	return memo_store(vm, vm->memo.count);
	case OP_PROTO:		return op_proto(vm);
	case OP_FRAME:		return op_frame(vm);
	case OP_NEXT_BUFFER:	return op_next_buffer(vm);
	case OP_READONLY_BUFFER: return op_readonly_buffer(vm);
	default:		return bad_opcode(vm, op);
	}
}

/* An opcode that began inside a frame and ended past it. */
static int
frame_check(struct pk_vm *vm)
{
	int r;

	if (vm->at < vm->frame_end && vm->cur.off > vm->frame_end &&
	    !vm->cx->frame_reported) {
		vm->cx->frame_reported = 1;
		if ((r = pal_pickle_find(vm->cx, PK_R_FRAME, vm->at,
		    "%s crosses the end of its FRAME at offset %zu",
		    pal_pickle_opname(vm->op), vm->frame_end)) != 0)
			return r;
	}
	if (vm->cur.off >= vm->frame_end)
		vm->frame_end = 0;
	return 0;
}

/*
 * The fast path.  Nearly every opcode of a real pickle is a string, an
 * int, a float, a memo store or fetch, a mark or an empty container;
 * these run here, inline, on their ordinary path only: enough bytes, room
 * on the stack and in the node pool, text that needs no further check,
 * the next dense memo id.  A fast case that meets anything else returns 0
 * before it has changed anything but the read position, and the loop
 * hands the opcode to dispatch(), which runs it in full with every check
 * and message.  So the fast path never decides anything the full one
 * would decide differently; it only skips the work of finding out that
 * nothing unusual happened.
 *
 * The read position and the stack's length live in locals (struct
 * pk_regs) while the fast path runs: kept in the machine, every opcode
 * would wait for the store of the previous one to reach memory.  They are
 * written back before anything else looks at them.
 */
struct pk_regs {
	size_t at;		/* vm->at: the opcode's offset */
	uint8_t op;		/* vm->op */
	struct pal_cur cur;	/* vm->cur */
	struct pk_val *stack;	/* vm->stack */
	struct pk_val *top;	/* vm->stack + vm->nstack: the next slot */
	struct pk_val *end;	/* vm->stack + vm->cap_stack */
	uint64_t nops;		/* cx->nops */
	uint64_t max_ops;	/* cx->max_opcodes */
	size_t fend;		/* frame_limit() */
};

static FAST_INLINE void
regs_load(struct pk_regs *R, const struct pk_vm *vm)
{
	R->cur = vm->cur;
	R->stack = vm->stack;
	R->top = vm->stack + vm->nstack;
	R->end = vm->stack + vm->cap_stack;
}

static FAST_INLINE void
regs_store(const struct pk_regs *R, struct pk_vm *vm)
{
	vm->cur.off = R->cur.off;
	vm->nstack = (size_t)(R->top - R->stack);
}

/* Whether the stack has room for one more value without growing. */
static FAST_INLINE int
fast_room(const struct pk_regs *R)
{
	return R->top != R->end;
}

static FAST_INLINE int
fast_scalar(struct pk_regs *R, uint8_t tag, int64_t i)
{
	if (!fast_room(R))
		return 0;
	pk_set_int(R->top++, tag, i);
	return 1;
}

/* BININT, BININT1, BININT2 (op_binint). */
static FAST_INLINE int
fast_binint(struct pk_regs *R, size_t n)
{
	const uint8_t *p;
	uint64_t x;

	if (pal_cur_take(&R->cur, n, &p) != 0)
		return 0;
	x = le(p, n);
	return fast_scalar(R, PK_INT, n == 4 ?
	    (int64_t)(int32_t)(uint32_t)x : (int64_t)x);
}

/* Counted strings, bytes and bytearrays (op_counted). */
static FAST_INLINE int
fast_counted(struct pk_regs *R, size_t nb, uint8_t tag, uint8_t form)
{
	const uint8_t *p;
	size_t size, off;

	if (!fast_room(R) || pal_cur_take(&R->cur, nb, &p) != 0)
		return 0;
	size = (size_t)le(p, nb);
	off = R->cur.off;
	if ((nb == 8 && (uint64_t)size >= (uint64_t)1 << 48) ||
	    pal_cur_take(&R->cur, size, &p) != 0)
		return 0;
	if (tag == PK_STR && form == PK_F_UTF8 && !short_ascii(p, size) &&
	    !pal_pickle_utf8_ok(p, size, 1))
		return 0;
	pk_set(R->top++, tag, form, size, off);
	return 1;
}

/* A fetch from the dense memo (memo_push). */
static FAST_INLINE int
fast_get(struct pk_vm *vm, struct pk_regs *R, uint64_t key)
{
	struct pk_memo *m = &vm->memo;
	struct pk_val *p;
	uint64_t e;

	if (key >= m->dense_init)
		return 0;
	e = m->dense[key];
	if ((e & 7) == PK_ME_EMPTY || (e & 7) == PK_ME_BIG || !fast_room(R))
		return 0;
	p = R->top++;
	pk_memo_unpack(e, p);
	/* The entry's kind says whether it is a node: no need to wait for
	 * the tag just written. */
	if ((e & 7) == PK_ME_NODE)
		vm->nodes[e >> 8].refs++;
	return 1;
}

/* A store at the next dense memo id (memo_store's first case). */
static FAST_INLINE int
fast_put(struct pk_vm *vm, struct pk_regs *R, uint64_t key)
{
	struct pk_memo *m = &vm->memo;
	const struct pk_val *v;

	if (R->top <= R->stack + vm->fence || key != m->dense_init ||
	    key >= m->dense_cap || m->count >= vm->cx->max_memo)
		return 0;
	v = R->top - 1;
	if (!pk_memo_pack(v, &m->dense[key]))
		return 0;
	if (v->tag == PK_NODE)
		vm->nodes[v->u.ref].refs++;
	m->dense_init++;
	m->count++;
	return 1;
}

/* EMPTY_DICT, EMPTY_LIST, EMPTY_SET, EMPTY_TUPLE (op_empty, collect). */
static FAST_INLINE int
fast_empty(struct pk_vm *vm, struct pk_regs *R, uint8_t kind)
{
	struct pk_val *p;
	uint32_t id;

	if (!fast_room(R) || R->top < R->stack + vm->fence ||
	    (id = pk_node_take(vm, kind)) == PK_NOREF)
		return 0;
	p = R->top++;
	pk_set(p, PK_NODE, 0, 0, id);
	return 1;
}

static FAST_INLINE int
fast_mark(struct pk_vm *vm, struct pk_regs *R)
{
	if (vm->nmarks == vm->cap_marks)
		return 0;
	vm->marks[vm->nmarks++] = vm->fence = (size_t)(R->top - R->stack);
	return 1;
}

/*
 * A pickler memoizes most strings and containers right after making them:
 * MEMOIZE is then run at once, as the loop would run it next, without a
 * turn of the loop.  Only where the loop would have nothing to do in
 * between: the value's opcode ended inside its frame (or outside any), and
 * the opcode count has room.  If fast_put declines, nothing was taken and
 * the loop finds MEMOIZE as usual.
 */
static FAST_INLINE int
fuse_memoize(struct pk_vm *vm, struct pk_regs *R)
{
	struct pal_cur c = R->cur;
	uint8_t b;

	if (R->cur.off >= R->fend || R->nops >= R->max_ops ||
	    pal_cur_byte(&c, &b) != 0 || b != OP_MEMOIZE ||
	    !fast_put(vm, R, vm->memo.count))
		return 1;
	R->at = R->cur.off;
	R->op = OP_MEMOIZE;
	R->cur = c;
	R->nops++;
	return 1;
}

/*
 * A str key that note_keys would pass over (key_kind's first test): raw
 * text shorter than four bytes, or not starting with '_'.
 */
static FAST_INLINE int
fast_plain_key(const struct pk_regs *R, const struct pk_val *k)
{
	return (k->form == PK_F_UTF8 || k->form == PK_F_LATIN1) &&
	    (pk_span_len(k) < 4 || R->cur.base[k->u.off] != '_');
}

/*
 * The SETITEMS of a small dict just made, the commonest: at most eight
 * values into an empty dict, with plain keys (str keys that need no note,
 * ints, floats ...) and room under the item budget.  What
 * pal_pickle_setitems_dict and pal_pickle_node_add do in that case: the
 * mark goes, the values move into the dict (inline, or into an array of
 * eight from its free list).  Anything else, 0, and nothing has changed.
 */
static FAST_INLINE int
fast_dict_fill(struct pk_vm *vm, struct pk_regs *R)
{
	struct pk_val *v, *items;
	struct pk_node *nd;
	size_t x, below, n, i;

	if (vm->nmarks == 0)
		return 0;
	x = vm->marks[vm->nmarks - 1];
	below = vm->nmarks > 1 ? vm->marks[vm->nmarks - 2] : 0;
	v = R->stack + x;
	n = (size_t)(R->top - v);
	if (x <= below || R->top <= v || n > 8 || n % 2 != 0 ||
	    v[-1].tag != PK_NODE)
		return 0;
	nd = &vm->nodes[v[-1].u.ref];
	if (nd->kind != PK_N_DICT || nd->n != 0 || nd->items != NULL ||
	    vm->items + n > vm->cx->max_items ||
	    (n > PK_INLINE && vm->slab.free[0] == NULL))
		return 0;
	for (i = 0; i < n; i += 2)
		if (v[i].tag == PK_NODE ||
		    (v[i].tag == PK_STR && !fast_plain_key(R, &v[i])))
			return 0;
	items = nd->in;
	if (n > PK_INLINE) {
		/* The free list is linked through the arrays' first bytes. */
		items = vm->slab.free[0];
		memcpy(&vm->slab.free[0], (const void *)items,
		    sizeof(struct pk_val *));
		nd->items = items;
		nd->cap = 8;
	}
	for (i = 0; i < n; i++)
		pk_val_copy(&items[i], &v[i]);
	nd->n = (uint32_t)n;
	vm->items += n;
	vm->nmarks--;
	vm->fence = below;
	R->top = v;
	return 1;
}

/*
 * SETITEMS on a dict: a small new dict inline, others out of line
 * (pickle_call.c) with the machine written back first, as the work is
 * that of a container, not an opcode.
 */
static FAST_INLINE int
fast_setitems(struct pk_vm *vm, struct pk_regs *R)
{
	int r;

	if (fast_dict_fill(vm, R))
		return 1;
	regs_store(R, vm);
	vm->at = R->at;
	vm->op = R->op;
	r = pal_pickle_setitems_dict(vm);
	R->top = R->stack + vm->nstack;
	return r;
}

/*
 * Runs op on its ordinary path: 1 if done, 0 if dispatch() must run it,
 * or the negative PAL_ERR_* of a fast case that failed as the full path
 * would have.
 */
static FAST_INLINE int
fast(struct pk_vm *vm, struct pk_regs *R, uint8_t op)
{
	const uint8_t *p;
	uint64_t key;
	uint8_t b;

	switch (op) {
	case OP_SHORT_BINUNICODE:
		return fast_counted(R, 1, PK_STR, PK_F_UTF8) &&
		    fuse_memoize(vm, R);
	case OP_BINUNICODE:
		return fast_counted(R, 4, PK_STR, PK_F_UTF8) &&
		    fuse_memoize(vm, R);
	case OP_BINUNICODE8:	return fast_counted(R, 8, PK_STR, PK_F_UTF8);
	case OP_SHORT_BINSTRING: return fast_counted(R, 1, PK_STR,
				     PK_F_LATIN1);
	case OP_BINSTRING:	return fast_counted(R, 4, PK_STR, PK_F_LATIN1);
	case OP_SHORT_BINBYTES:	return fast_counted(R, 1, PK_BYTES, 0);
	case OP_BINBYTES:	return fast_counted(R, 4, PK_BYTES, 0);
	case OP_BINBYTES8:	return fast_counted(R, 8, PK_BYTES, 0);
	case OP_BYTEARRAY8:	return fast_counted(R, 8, PK_BYTEARRAY, 0);
	case OP_BININT:		return fast_binint(R, 4);
	case OP_BININT1:	return fast_binint(R, 1);
	case OP_BININT2:	return fast_binint(R, 2);
	case OP_BINFLOAT:
		/* The value is not needed (op_binfloat). */
		return pal_cur_take(&R->cur, 8, &p) == 0 &&
		    fast_scalar(R, PK_FLOAT, 0);
	case OP_NONE:		return fast_scalar(R, PK_NONE, 0);
	case OP_NEWTRUE:	return fast_scalar(R, PK_BOOL, 1);
	case OP_NEWFALSE:	return fast_scalar(R, PK_BOOL, 0);
	case OP_MARK:		return fast_mark(vm, R);
	case OP_EMPTY_DICT:
		return fast_empty(vm, R, PK_N_DICT) && fuse_memoize(vm, R);
	case OP_EMPTY_LIST:
		return fast_empty(vm, R, PK_N_LIST) && fuse_memoize(vm, R);
	case OP_EMPTY_SET:	return fast_empty(vm, R, PK_N_SET);
	case OP_EMPTY_TUPLE:	return fast_empty(vm, R, PK_N_TUPLE);
	case OP_SETITEMS:	return fast_setitems(vm, R);
	case OP_MEMOIZE:
		key = vm->memo.count;
		goto put;
	case OP_BINPUT:
		if (pal_cur_byte(&R->cur, &b) != 0)
			return 0;
		key = b;
		goto put;
	case OP_LONG_BINPUT:
		if (pal_cur_take(&R->cur, 4, &p) != 0)
			return 0;
		key = le(p, 4);
		goto put;
	case OP_BINGET:
		if (pal_cur_byte(&R->cur, &b) != 0)
			return 0;
		key = b;
		goto get;
	case OP_LONG_BINGET:
		if (pal_cur_take(&R->cur, 4, &p) != 0)
			return 0;
		key = le(p, 4);
		goto get;
	default:
		return 0;
	}
	/* One copy of each memo path, however many opcodes lead to it. */
put:
	return fast_put(vm, R, key);
get:
	return fast_get(vm, R, key);
}

/* The end of the current FRAME, or SIZE_MAX outside one. */
static size_t
frame_limit(const struct pk_vm *vm)
{
	return vm->frame_end != 0 ? vm->frame_end : SIZE_MAX;
}

/*
 * Runs one opcode the fast path declined, from its first argument byte.
 * Kept out of line, with dispatch(), so that the loop's locals stay in
 * registers.
 */
static __attribute__((noinline)) int
slow(struct pk_vm *vm, size_t at, uint8_t op)
{
	(void)pal_cur_seek(&vm->cur, at + 1);
	if (op == OP_STOP)
		return op_stop(vm);
	return dispatch(vm, op);
}

/*
 * The loop keeps the opcode count, and the opcode being run, in R too,
 * and writes them back before dispatch() (whose opcodes may run a nested
 * machine over the same count) and before every return.
 */
static void
regs_sync(const struct pk_regs *R, struct pk_vm *vm)
{
	regs_store(R, vm);
	vm->at = R->at;
	vm->op = R->op;
	vm->cx->nops = R->nops;
}

/*
 * The fast path works with pointers into the stack, so the stack exists
 * before the first push: its first allocation, as grow_stack would make
 * it (a capacity of zero where the limit is zero: every push then goes to
 * grow_stack, which refuses it as before).
 */
static int
stack_first(struct pk_vm *vm)
{
	size_t ncap = vm->cx->max_stack < 64 ? vm->cx->max_stack : 64;

	if (vm->stack != NULL)
		return 0;
	if ((vm->stack = malloc((ncap > 0 ? ncap : 1) *
	    sizeof(*vm->stack))) == NULL)
		return pal_pickle_fail(vm, PAL_ERR_NOMEM, "out of memory");
	vm->cap_stack = ncap;
	return 0;
}

int
pal_pickle_run(struct pk_vm *vm)
{
	struct pk_ctx *cx = vm->cx;
	struct pk_regs R;
	size_t start;
	int r;

	if ((r = stack_first(vm)) != 0)
		return r;
	regs_load(&R, vm);
	R.nops = cx->nops;
	R.max_ops = cx->max_opcodes;
	R.fend = frame_limit(vm);
	start = R.cur.off;
	for (;;) {
		R.at = R.cur.off;
		if (pal_cur_byte(&R.cur, &R.op) != 0) {
			regs_sync(&R, vm);
			vm->what = "end of data";
			return pal_pickle_fail(vm, PAL_ERR_TRUNCATED, "%s",
			    R.at == start ? "no pickle data (ran out of "
			    "input)" : "pickle data ends without STOP");
		}
		if (++R.nops > R.max_ops) {
			regs_sync(&R, vm);
			return pal_pickle_fail(vm, PAL_ERR_LIMIT,
			    "more than %llu opcodes",
			    (unsigned long long)R.max_ops);
		}
		if ((r = fast(vm, &R, R.op)) != 1) {
			regs_sync(&R, vm);
			if (r < 0 || (r = slow(vm, R.at, R.op)) != 0 ||
			    R.op == OP_STOP)
				return r;
			regs_load(&R, vm);
			R.nops = cx->nops;
			R.fend = frame_limit(vm);
		}
		if (R.cur.off >= R.fend) {
			regs_sync(&R, vm);
			if ((r = frame_check(vm)) != 0)
				return r;
			R.fend = frame_limit(vm);
		}
	}
}

void
pal_pickle_vm_init(struct pk_vm *vm, struct pk_ctx *cx, size_t off,
    unsigned flags)
{
	memset(vm, 0, sizeof(*vm));
	vm->cx = cx;
	vm->free_node = PK_NOREF;
	pal_cur_init(&vm->cur, cx->data, cx->len);
	(void)pal_cur_seek(&vm->cur, off);
	vm->flags = flags;
}

void
pal_pickle_vm_reset(struct pk_vm *vm, size_t off, unsigned flags)
{
	vm->nstack = 0;
	vm->nmarks = 0;
	vm->fence = 0;
	vm->proto = 0;
	vm->frame_end = 0;
	vm->flags = flags;
	vm->what = NULL;
	memset(&vm->result, 0, sizeof(vm->result));
	pal_pickle_memo_reset(vm);
	pal_pickle_heap_reset(vm);
	(void)pal_cur_seek(&vm->cur, off);
}

void
pal_pickle_vm_free(struct pk_vm *vm)
{
	pal_pickle_heap_free(vm);
	pal_pickle_memo_free(vm);
	free(vm->stack);
	free(vm->marks);
	vm->stack = NULL;
	vm->marks = NULL;
	vm->cap_stack = vm->cap_marks = 0;
	vm->nstack = vm->nmarks = 0;
}
