/*
 * pickle_global.c - every global a pickle can reach, judged once.
 *
 * A global is what find_class() would import: named by GLOBAL, INST or
 * STACK_GLOBAL, or by an extension code (EXT1/2/4) whose meaning lives in
 * the loading process's copyreg registry, or computed (STACK_GLOBAL fed
 * with something other than literal strings).  Each distinct one gets an
 * entry in a per-item table with the policy's verdict, so that a stream
 * naming the same global a million times costs one judgement and one
 * finding; values on the stack refer to entries by index.
 *
 * Names are read where they lie in the input; only text that had to be
 * decoded (escapes of protocol 0 STRING and UNICODE, Latin-1) is copied,
 * into an arena owned by the item.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/text.h"
#include "pickle_int.h"

#define PK_MAX_GLOBALS (1u << 16)
#define PK_SHOW_MAX 200		/* bytes of a name shown in a message */

/* Text decoded for one use lives in tmp[slot]; tmp[3] is intermediate. */
static int
decode_str(struct pk_ctx *cx, const struct pk_val *v, int slot,
    const uint8_t *p, size_t n)
{
	struct pal_buf *out = &cx->tmp[slot], *mid = &cx->tmp[3];
	size_t bad;

	pal_buf_reset(out);
	switch (v->form) {
	case PK_F_LATIN1:
		return pal_pickle_latin1_utf8(p, n, out);
	case PK_F_RAWESC:
		return pal_pickle_text_rawesc(p, n, out, &bad);
	case PK_F_STRESC:
		pal_buf_reset(mid);
		if (pal_pickle_text_escape(p, n, mid, &bad) != 0)
			return PAL_ERR_FORMAT;
		return pal_pickle_latin1_utf8(mid->p, mid->len, out);
	default:
		return PAL_ERR_FORMAT;
	}
}

int
pal_pickle_str(struct pk_ctx *cx, const struct pk_val *v, int slot,
    const char **p, size_t *n)
{
	const uint8_t *s = cx->data + v->u.off;
	size_t len = (size_t)pk_span_len(v);
	int r;

	if (v->form == PK_F_UTF8 || (v->form == PK_F_LATIN1 &&
	    pal_pickle_is_ascii(s, len))) {
		*p = (const char *)s;
		*n = len;
		return 0;
	}
	if ((r = decode_str(cx, v, slot, s, len)) != 0)
		return r;
	*p = cx->tmp[slot].p != NULL ? (const char *)cx->tmp[slot].p : "";
	*n = cx->tmp[slot].len;
	return 0;
}

int
pal_pickle_str_eq(struct pk_ctx *cx, const struct pk_val *v, const char *s)
{
	const char *p;
	size_t n, want = strlen(s);

	if (v->tag != PK_STR)
		return 0;
	/* Decoding shrinks an escape ten bytes to one at most (\U...):
	 * text outside that range cannot match, and is not decoded. */
	if (pk_span_len(v) < want || pk_span_len(v) > 10 * (uint64_t)want)
		return 0;
	if (pal_pickle_str(cx, v, 2, &p, &n) != 0)
		return 0;
	return n == want && memcmp(p, s, n) == 0;
}

/* Keeps text for the item's lifetime: in place if it is in the input. */
int
pal_pickle_keep_text(struct pk_ctx *cx, const char *p, size_t n, uint64_t *ref)
{
	const uint8_t *u = (const uint8_t *)p;
	int r;

	if (cx->data != NULL && u >= cx->data && n <= cx->len &&
	    (size_t)(u - cx->data) <= cx->len - n) {
		*ref = (uint64_t)(u - cx->data);
		return 0;
	}
	*ref = PK_TEXT_ARENA | cx->names.len;
	if ((r = pal_buf_append(&cx->names, p, n)) != 0)
		return r;
	return 0;
}

const char *
pal_pickle_gl_text(struct pk_ctx *cx, uint64_t ref)
{
	if (ref & PK_TEXT_ARENA)
		return (const char *)cx->names.p + (ref & ~PK_TEXT_ARENA);
	return (const char *)cx->data + ref;
}

struct pk_global *
pal_pickle_gl(struct pk_ctx *cx, uint32_t ref)
{
	return &cx->globals[ref];
}

int
pal_pickle_gl_trusted(const struct pk_global *g)
{
	return g->kind == PK_G_NAMED && g->verdict == PAL_GLOBAL_ALLOWED;
}

/* Escaped, shortened text appended to the message buffer. */
static void
show(struct pk_ctx *cx, const char *p, size_t n)
{
	if (n > PK_SHOW_MAX) {
		(void)pal_text_escape(&cx->msg, p, PK_SHOW_MAX);
		(void)pal_buf_puts(&cx->msg, "...");
		return;
	}
	(void)pal_text_escape(&cx->msg, p, n);
}

static void
show_global(struct pk_ctx *cx, const struct pk_global *g)
{
	if (g->kind == PK_G_EXT) {
		(void)pal_buf_printf(&cx->msg, "extension code %u", g->code);
		return;
	}
	if (g->kind == PK_G_DYNAMIC) {
		(void)pal_buf_puts(&cx->msg, "a global named at load time");
		return;
	}
	show(cx, pal_pickle_gl_text(cx, g->mod), g->mod_len);
	(void)pal_buf_putc(&cx->msg, '.');
	show(cx, pal_pickle_gl_text(cx, g->name), g->name_len);
}

const char *
pal_pickle_gl_display(struct pk_ctx *cx, const struct pk_global *g)
{
	pal_buf_reset(&cx->msg);
	show_global(cx, g);
	return cx->msg.p != NULL ? (const char *)cx->msg.p : "?";
}

static const char *
kind_name(uint8_t kind)
{
	switch (kind) {
	case PK_N_TUPLE:	return "tuple";
	case PK_N_LIST:		return "list";
	case PK_N_DICT:		return "dict";
	case PK_N_SET:		return "set";
	case PK_N_FROZENSET:	return "frozenset";
	case PK_N_PERSID:	return "persistent-load result";
	default:		return "object";
	}
}

static const char *
tag_name(uint8_t tag)
{
	switch (tag) {
	case PK_NONE:		return "None";
	case PK_BOOL:		return "bool";
	case PK_INT:
	case PK_BIGINT:		return "int";
	case PK_FLOAT:		return "float";
	case PK_STR:		return "str";
	case PK_BYTES:		return "bytes";
	case PK_BYTEARRAY:	return "bytearray";
	case PK_BUFFER:		return "out-of-band buffer";
	default:		return "value";
	}
}

/* What a value is, in words, for a message (in the message buffer). */
const char *
pal_pickle_describe(struct pk_vm *vm, const struct pk_val *v)
{
	struct pk_ctx *cx = vm->cx;
	struct pk_node *nd;

	pal_buf_reset(&cx->msg);
	if (v->tag == PK_GLOBAL) {
		show_global(cx, pal_pickle_gl(cx, v->u.ref));
	} else if (v->tag != PK_NODE) {
		(void)pal_buf_puts(&cx->msg, tag_name(v->tag));
	} else if ((nd = pal_pickle_node(vm, v))->kind != PK_N_OBJECT) {
		(void)pal_buf_puts(&cx->msg, kind_name(nd->kind));
	} else if (nd->cls != PK_NOREF) {
		(void)pal_buf_printf(&cx->msg, "an object made by %s (",
		    pal_pickle_opname(nd->how));
		show_global(cx, pal_pickle_gl(cx, nd->cls));
		(void)pal_buf_putc(&cx->msg, ')');
	} else {
		(void)pal_buf_printf(&cx->msg, "a value made by %s",
		    pal_pickle_opname(nd->how));
	}
	return cx->msg.p != NULL ? (const char *)cx->msg.p : "?";
}

/* The table. */

static uint32_t
name_hash(uint8_t kind, const char *m, size_t ml, const char *n, size_t nl,
    uint32_t code)
{
	uint32_t h = 2166136261u ^ kind ^ code * 16777619u;
	size_t i;

	for (i = 0; i < ml; i++)
		h = (h ^ (uint8_t)m[i]) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (i = 0; i < nl; i++)
		h = (h ^ (uint8_t)n[i]) * 16777619u;
	return h;
}

static int
same(struct pk_ctx *cx, const struct pk_global *g, uint8_t kind,
    const char *m, size_t ml, const char *n, size_t nl, uint32_t code)
{
	if (g->kind != kind)
		return 0;
	if (kind == PK_G_EXT)
		return g->code == code;
	return g->mod_len == ml && g->name_len == nl &&
	    memcmp(pal_pickle_gl_text(cx, g->mod), m, ml) == 0 &&
	    memcmp(pal_pickle_gl_text(cx, g->name), n, nl) == 0;
}

static int
rehash(struct pk_ctx *cx)
{
	uint32_t ncap = cx->ghash_cap ? cx->ghash_cap * 2 : 256, i, j;
	uint32_t *h = calloc(ncap, sizeof(*h));

	if (h == NULL)
		return PAL_ERR_NOMEM;
	for (i = 0; i < cx->nglobals; i++) {
		const struct pk_global *g = &cx->globals[i];

		if (g->kind == PK_G_DYNAMIC)
			continue;
		j = name_hash(g->kind, pal_pickle_gl_text(cx, g->mod),
		    g->mod_len, pal_pickle_gl_text(cx, g->name), g->name_len,
		    g->code) & (ncap - 1);
		while (h[j] != 0)
			j = (j + 1) & (ncap - 1);
		h[j] = i + 1;
	}
	free(cx->ghash);
	cx->ghash = h;
	cx->ghash_cap = ncap;
	return 0;
}

/* A new zeroed entry; its index in *idx. */
static int
entry_new(struct pk_vm *vm, uint32_t *idx)
{
	struct pk_ctx *cx = vm->cx;
	void *p;

	if (cx->nglobals >= PK_MAX_GLOBALS)
		return pal_pickle_fail(vm, PAL_ERR_LIMIT,
		    "more than %u distinct globals", PK_MAX_GLOBALS);
	if (cx->nglobals == cx->cap_globals) {
		uint32_t ncap = cx->cap_globals ? cx->cap_globals * 2 : 64;

		if ((p = realloc(cx->globals, ncap * sizeof(*cx->globals))) ==
		    NULL)
			return pal_pickle_fail(vm, PAL_ERR_NOMEM,
			    "out of memory");
		cx->globals = p;
		cx->cap_globals = ncap;
	}
	*idx = cx->nglobals++;
	memset(&cx->globals[*idx], 0, sizeof(cx->globals[*idx]));
	cx->globals[*idx].op = vm->op;
	cx->globals[*idx].off = vm->at;
	return 0;
}

/* Finds or adds the entry for a named global or an extension code. */
static int
lookup(struct pk_vm *vm, uint8_t kind, const char *m, size_t ml,
    const char *n, size_t nl, uint32_t code, uint32_t *idx, int *fresh)
{
	struct pk_ctx *cx = vm->cx;
	uint32_t h = name_hash(kind, m, ml, n, nl, code), j;
	int r;

	*fresh = 0;
	if (cx->ghash_cap == 0 && rehash(cx) != 0)
		return pal_pickle_fail(vm, PAL_ERR_NOMEM, "out of memory");
	for (j = h & (cx->ghash_cap - 1); cx->ghash[j] != 0;
	    j = (j + 1) & (cx->ghash_cap - 1)) {
		if (same(cx, &cx->globals[cx->ghash[j] - 1], kind, m, ml, n,
		    nl, code)) {
			*idx = cx->ghash[j] - 1;
			return 0;
		}
	}
	if (ml > UINT32_MAX || nl > UINT32_MAX)
		return pal_pickle_fail(vm, PAL_ERR_LIMIT,
		    "a global's name is longer than 4 GiB");
	if ((r = entry_new(vm, idx)) != 0)
		return r;
	cx->globals[*idx].kind = kind;
	cx->globals[*idx].code = code;
	cx->globals[*idx].mod_len = (uint32_t)ml;
	cx->globals[*idx].name_len = (uint32_t)nl;
	if (pal_pickle_keep_text(cx, m, ml, &cx->globals[*idx].mod) != 0 ||
	    pal_pickle_keep_text(cx, n, nl, &cx->globals[*idx].name) != 0) {
		cx->nglobals--;
		return pal_pickle_fail(vm, PAL_ERR_LIMIT,
		    "decoded global names exceed %zu bytes", cx->names.max);
	}
	cx->ghash[j] = *idx + 1;
	*fresh = 1;
	if ((cx->nglobals + 1) * 2 > cx->ghash_cap && rehash(cx) != 0)
		return pal_pickle_fail(vm, PAL_ERR_NOMEM, "out of memory");
	return 0;
}

static int
name_is(const char *p, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(p, want, n) == 0;
}

static int
name_in(const char *p, size_t n, const char *const *list)
{
	for (; *list != NULL; list++)
		if (name_is(p, n, *list))
			return 1;
	return 0;
}

/* PyTorch storage classes and their element sizes. */
static const struct {
	const char *name;
	uint8_t elsize;
} torch_storages[] = {
	{ "DoubleStorage", 8 }, { "FloatStorage", 4 }, { "HalfStorage", 2 },
	{ "LongStorage", 8 }, { "IntStorage", 4 }, { "ShortStorage", 2 },
	{ "CharStorage", 1 }, { "ByteStorage", 1 }, { "BoolStorage", 1 },
	{ "BFloat16Storage", 2 }, { "ComplexDoubleStorage", 16 },
	{ "ComplexFloatStorage", 8 }, { "QUInt8Storage", 1 },
	{ "QInt8Storage", 1 }, { "QInt32Storage", 4 },
	{ "QUInt4x2Storage", 1 }, { "QUInt2x4Storage", 1 },
	{ "UntypedStorage", 1 },
};

/* Recognizes the globals whose effects the scanner models. */
static void
classify(struct pk_global *g, const char *m, size_t ml, const char *n,
    size_t nl)
{
	static const char *const rec_mods[] = { "copyreg", "copy_reg", NULL };
	static const char *const np_mods[] = { "numpy",
	    "numpy.core.multiarray", "numpy._core.multiarray", NULL };
	static const char *const jl_mods[] = { "joblib.numpy_pickle",
	    "sklearn.externals.joblib.numpy_pickle", NULL };
	static const char *const loads_mods[] = { "pickle", "_pickle",
	    "cPickle", "dill", "dill._dill", "cloudpickle",
	    "cloudpickle.cloudpickle", "numpy", "numpy.core.numeric", NULL };
	static const char *const load_mods[] = { "pickle", "_pickle",
	    "cPickle", "dill", "dill._dill", "cloudpickle", "torch",
	    "torch.serialization", "joblib", "joblib.numpy_pickle", "numpy",
	    NULL };
	static const char *const loads_names[] = { "loads", "_loads", NULL };
	static const char *const load_names[] = { "load", "_load", NULL };
	static const char *const io_mods[] = { "io", "_io", NULL };
	static const char *const torch_mods[] = { "torch", "torch.cuda",
	    NULL };
	size_t i;

	if (name_in(m, ml, rec_mods) && name_is(n, nl, "_reconstructor"))
		g->special = PK_S_RECONSTRUCTOR;
	else if (name_in(m, ml, np_mods) && name_is(n, nl, "dtype"))
		g->special = PK_S_DTYPE;
	else if (name_in(m, ml, jl_mods) && name_is(n, nl, "NumpyArrayWrapper"))
		g->special = PK_S_JOBLIB_WRAPPER;
	else if (name_in(m, ml, loads_mods) && name_in(n, nl, loads_names))
		g->special = PK_S_LOADS;
	else if (name_in(m, ml, load_mods) && name_in(n, nl, load_names))
		g->special = PK_S_LOAD;
	else if (name_in(m, ml, io_mods) && name_is(n, nl, "BytesIO"))
		g->special = PK_S_BYTESIO;
	else if (name_is(m, ml, "_codecs") && name_is(n, nl, "encode"))
		g->special = PK_S_ENCODE;
	else if (name_in(m, ml, torch_mods))
		for (i = 0; i < sizeof(torch_storages) /
		    sizeof(torch_storages[0]); i++)
			if (name_is(n, nl, torch_storages[i].name)) {
				g->special = PK_S_TORCH_STORAGE;
				g->elsize = torch_storages[i].elsize;
			}
}

static const char *
rule_of(const struct pk_global *g)
{
	if (g->kind == PK_G_EXT)
		return PK_R_EXT;
	if (g->kind == PK_G_DYNAMIC)
		return PK_R_DYNAMIC;
	return g->verdict == PAL_GLOBAL_DANGEROUS ? PK_R_DANGEROUS :
	    PK_R_UNKNOWN;
}

/* The finding for naming a global that is not allowed, once per entry. */
static int
report_named(struct pk_vm *vm, uint32_t idx)
{
	struct pk_ctx *cx = vm->cx;
	struct pk_global *g = &cx->globals[idx];

	if (pal_pickle_gl_trusted(g) || g->named)
		return 0;
	g->named = 1;
	return pal_pickle_find(cx, rule_of(g), g->off, "%s names %s: %s",
	    pal_pickle_opname(g->op), pal_pickle_gl_display(cx, g),
	    g->why != NULL ? g->why : "not on the allowlist");
}

/* Call sites are reported once per global and kind of opcode. */
static uint16_t
call_bit(uint8_t op)
{
	switch (op) {
	case OP_REDUCE:		return 1 << 0;
	case OP_INST:		return 1 << 1;
	case OP_OBJ:		return 1 << 2;
	case OP_NEWOBJ:		return 1 << 3;
	case OP_NEWOBJ_EX:	return 1 << 4;
	case OP_BUILD:		return 1 << 5;
	case OP_APPEND:
	case OP_APPENDS:	return 1 << 6;
	case OP_SETITEM:
	case OP_SETITEMS:	return 1 << 7;
	case OP_ADDITEMS:	return 1 << 8;
	default:		return 1 << 9;
	}
}

int
pal_pickle_report_call(struct pk_vm *vm, uint32_t gref, const char *verb)
{
	struct pk_ctx *cx = vm->cx;
	struct pk_global *g = &cx->globals[gref];
	uint16_t bit = call_bit(vm->op);
	char first[48];

	if (pal_pickle_gl_trusted(g) || (g->calls & bit))
		return 0;
	g->calls |= bit;
	snprintf(first, sizeof(first), "%s at offset %zu",
	    pal_pickle_opname(g->op), g->off);
	return pal_pickle_find(cx, rule_of(g), vm->at,
	    "%s %s %s (named by %s): %s", pal_pickle_opname(vm->op), verb,
	    pal_pickle_gl_display(cx, g), first,
	    g->why != NULL ? g->why : "not on the allowlist");
}

/*
 * Names that only TorchScript's C++ unpickler resolves, in a pickle of a
 * TorchScript archive (torch/csrc/jit/serialization/unpickler.cpp,
 * readGlobal): classes compiled from the archive's code/ (module
 * "__torch__" or "__torch__.*", whose source the zip scanner checks), and
 * the list and tensor builders of torch.jit._pickle.  That unpickler
 * refuses every other name it does not know, so nothing here reaches
 * Python's import machinery.
 */
static int
torchscript_global(const struct pk_ctx *cx, const char *mod, size_t mod_len,
    const char *name, size_t name_len)
{
	static const char jit[] = "torch.jit._pickle";

	if (cx->it == NULL || !(cx->it->hints & PAL_HINT_TORCHSCRIPT) ||
	    !pal_pickle_dotted_ident(name, name_len) ||
	    !pal_pickle_dotted_ident(mod, mod_len))
		return 0;
	if (mod_len == sizeof(jit) - 1 && memcmp(mod, jit, mod_len) == 0)
		return memchr(name, '.', name_len) == NULL;
	return mod_len >= 9 && memcmp(mod, "__torch__", 9) == 0 &&
	    (mod_len == 9 || mod[9] == '.');
}

static void
push_global(struct pk_val *out, uint32_t idx)
{
	out->head = pk_head(PK_GLOBAL, 0, 0);
	out->u.ref = idx;
}

int
pal_pickle_global(struct pk_vm *vm, const char *mod, size_t mod_len,
    const char *name, size_t name_len, struct pk_val *out)
{
	struct pk_ctx *cx = vm->cx;
	struct pk_global *g;
	uint32_t idx = 0;
	int fresh, over, r;

	if (cx->probe && pal_pickle_dotted_ident(mod, mod_len))
		cx->named_global = 1;
	/* No importable name is this long; one kept whole would make each
	 * use cost its length (a name in the memo can be used again and
	 * again).  Such names are judged unknown on their first bytes. */
	if ((over = mod_len > PK_NAME_MAX || name_len > PK_NAME_MAX)) {
		mod_len = mod_len > PK_NAME_MAX ? PK_NAME_MAX : mod_len;
		name_len = name_len > PK_NAME_MAX ? PK_NAME_MAX : name_len;
	}
	if ((r = lookup(vm, PK_G_NAMED, mod, mod_len, name, name_len, 0, &idx,
	    &fresh)) != 0)
		return r;
	g = &cx->globals[idx];
	if (fresh) {
		classify(g, mod, mod_len, name, name_len);
		g->verdict = PAL_GLOBAL_UNKNOWN;
		g->why = "module or name longer than any importable one";
		if (!cx->probe && !over && torchscript_global(cx, mod,
		    mod_len, name, name_len))
			g->verdict = PAL_GLOBAL_ALLOWED;
		else if (!cx->probe && !over)
			g->verdict = (uint8_t)pal_policy_judge(
			    pal_scan_policy(cx->s), mod, mod_len, name,
			    name_len, &g->why);
	}
	push_global(out, idx);
	return report_named(vm, idx);
}

int
pal_pickle_global_ext(struct pk_vm *vm, uint32_t code, struct pk_val *out)
{
	uint32_t idx = 0;
	int fresh, r;

	vm->cx->named_global = 1;
	if ((r = lookup(vm, PK_G_EXT, "", 0, "", 0, code, &idx, &fresh)) != 0)
		return r;
	if (fresh)
		vm->cx->globals[idx].why = "the copyreg extension registry of "
		    "the loading process decides what is imported";
	push_global(out, idx);
	return report_named(vm, idx);
}

int
pal_pickle_global_dynamic(struct pk_vm *vm, const char *why,
    struct pk_val *out)
{
	struct pk_ctx *cx = vm->cx;
	uint32_t idx = 0;
	int r;

	cx->named_global = 1;
	if ((r = entry_new(vm, &idx)) != 0)
		return r;
	cx->globals[idx].kind = PK_G_DYNAMIC;
	cx->globals[idx].why = why;
	push_global(out, idx);
	return report_named(vm, idx);
}

void
pal_pickle_globals_free(struct pk_ctx *cx)
{
	free(cx->globals);
	free(cx->ghash);
	cx->globals = NULL;
	cx->ghash = NULL;
	cx->nglobals = cx->cap_globals = cx->ghash_cap = 0;
}
