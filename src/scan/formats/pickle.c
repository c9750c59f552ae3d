/*
 * pickle.c - the pickle scanner: a stream of pickles, judged as it would
 * be loaded.
 *
 * Python's pickle is a program for a stack machine whose GLOBAL and
 * REDUCE instructions import and call anything.  Blocklist scanners that
 * walk the opcodes looking for names have been bypassed many times: a
 * name assembled on the stack, fetched from the memo, or reached through
 * an object the pickle built itself is not where they look.  This
 * scanner runs the machine instead (pickle_vm.c), symbolically: it never
 * imports or calls, but it knows at each call which value is called, and
 * every global any opcode resolves is judged by the session's allowlist
 * (pal_policy_judge).  See docs/formats/pickle.md.
 *
 * A file may hold several pickles: PyTorch's legacy format is five in a
 * row followed by raw storage data, joblib writes array bytes between
 * opcodes, and anything after a STOP may be read by a second load().
 * Everything in the item is accounted for: parsed as a pickle, skipped as
 * the data a loader reads, or reported as trailing bytes.
 *
 * Trusted: nothing in the input.  The item's bytes are read through one
 * cursor; values point into them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pickle_int.h"

const struct pal_rule pal_rules_pickle[] = {
	{ PK_R_DANGEROUS, PAL_SEV_CRITICAL,
	  "The pickle imports or calls a global known to run commands, "
	  "evaluate code, or reach files, processes or the network when it "
	  "is loaded." },
	{ PK_R_UNKNOWN, PAL_SEV_HIGH,
	  "The pickle imports or calls a global that is not on the "
	  "allowlist: loading it runs code nobody vetted." },
	{ PK_R_DYNAMIC, PAL_SEV_CRITICAL,
	  "STACK_GLOBAL takes its module or name from a value computed while "
	  "loading, so what it imports cannot be known in advance." },
	{ PK_R_EXT, PAL_SEV_CRITICAL,
	  "EXT1/EXT2/EXT4 import whatever the loading process's copyreg "
	  "extension registry maps a code to; the file does not say what." },
	{ PK_R_INDIRECT, PAL_SEV_CRITICAL,
	  "The pickle calls a value that is not a named global (a call "
	  "result, a getattr result, a persistent object), which no "
	  "allowlist can vouch for." },
	{ PK_R_BUILD_GLOBAL, PAL_SEV_CRITICAL,
	  "BUILD sets attributes of a class, function or module, rewriting "
	  "code the loader trusts." },
	{ PK_R_MUTATE_GLOBAL, PAL_SEV_CRITICAL,
	  "APPEND, SETITEM or ADDITEMS is applied to a global, changing a "
	  "module-level object such as os.environ or sys.path." },
	{ PK_R_METHOD, PAL_SEV_HIGH,
	  "An opcode runs __setstate__, append, __setitem__ or add of an "
	  "object whose class is not on the allowlist." },
	{ PK_R_STATE, PAL_SEV_CRITICAL,
	  "A BUILD state plants __setstate__ or other special attributes on "
	  "an object, so that a later BUILD calls what the pickle chose." },
	{ PK_R_NESTED, PAL_SEV_HIGH,
	  "The pickle passes embedded bytes to a deserializer (pickle.loads, "
	  "torch.load); the payload is scanned as a nested item." },
	{ PK_R_TRAILING, PAL_SEV_MEDIUM,
	  "Bytes after the last STOP are not a pickle; a loader reading the "
	  "file differently could see data the scan did not." },
	{ PK_R_FRAME, PAL_SEV_MEDIUM,
	  "An opcode crosses the end of its FRAME, or a frame starts inside "
	  "another: Python's C and pure-Python unpicklers disagree on such "
	  "streams." },
	{ PK_R_STOP, PAL_SEV_LOW,
	  "STOP leaves values or marks on the stack: the stream was not "
	  "written by a pickler." },
	{ PK_R_OOB, PAL_SEV_LOW,
	  "The pickle refers to out-of-band buffers supplied at load time; "
	  "their contents are not in the file and were not scanned." },
	{ PK_R_MEMO, PAL_SEV_LOW,
	  "A memo entry is overwritten, which picklers never do; hand-made "
	  "streams use it to confuse scanners that track the memo loosely." },
	{ NULL, 0, NULL },
};

static const char *const opnames[256] = {
	[OP_MARK] = "MARK", [OP_STOP] = "STOP", [OP_POP] = "POP",
	[OP_POP_MARK] = "POP_MARK", [OP_DUP] = "DUP", [OP_FLOAT] = "FLOAT",
	[OP_INT] = "INT", [OP_BININT] = "BININT", [OP_BININT1] = "BININT1",
	[OP_LONG] = "LONG", [OP_BININT2] = "BININT2", [OP_NONE] = "NONE",
	[OP_PERSID] = "PERSID", [OP_BINPERSID] = "BINPERSID",
	[OP_REDUCE] = "REDUCE", [OP_STRING] = "STRING",
	[OP_BINSTRING] = "BINSTRING", [OP_SHORT_BINSTRING] = "SHORT_BINSTRING",
	[OP_UNICODE] = "UNICODE", [OP_BINUNICODE] = "BINUNICODE",
	[OP_APPEND] = "APPEND", [OP_BUILD] = "BUILD", [OP_GLOBAL] = "GLOBAL",
	[OP_DICT] = "DICT", [OP_EMPTY_DICT] = "EMPTY_DICT",
	[OP_APPENDS] = "APPENDS", [OP_GET] = "GET", [OP_BINGET] = "BINGET",
	[OP_INST] = "INST", [OP_LONG_BINGET] = "LONG_BINGET",
	[OP_LIST] = "LIST", [OP_EMPTY_LIST] = "EMPTY_LIST", [OP_OBJ] = "OBJ",
	[OP_PUT] = "PUT", [OP_BINPUT] = "BINPUT",
	[OP_LONG_BINPUT] = "LONG_BINPUT", [OP_SETITEM] = "SETITEM",
	[OP_TUPLE] = "TUPLE", [OP_EMPTY_TUPLE] = "EMPTY_TUPLE",
	[OP_SETITEMS] = "SETITEMS", [OP_BINFLOAT] = "BINFLOAT",
	[OP_PROTO] = "PROTO", [OP_NEWOBJ] = "NEWOBJ", [OP_EXT1] = "EXT1",
	[OP_EXT2] = "EXT2", [OP_EXT4] = "EXT4", [OP_TUPLE1] = "TUPLE1",
	[OP_TUPLE2] = "TUPLE2", [OP_TUPLE3] = "TUPLE3",
	[OP_NEWTRUE] = "NEWTRUE", [OP_NEWFALSE] = "NEWFALSE",
	[OP_LONG1] = "LONG1", [OP_LONG4] = "LONG4",
	[OP_BINBYTES] = "BINBYTES", [OP_SHORT_BINBYTES] = "SHORT_BINBYTES",
	[OP_SHORT_BINUNICODE] = "SHORT_BINUNICODE",
	[OP_BINUNICODE8] = "BINUNICODE8", [OP_BINBYTES8] = "BINBYTES8",
	[OP_EMPTY_SET] = "EMPTY_SET", [OP_ADDITEMS] = "ADDITEMS",
	[OP_FROZENSET] = "FROZENSET", [OP_NEWOBJ_EX] = "NEWOBJ_EX",
	[OP_STACK_GLOBAL] = "STACK_GLOBAL", [OP_MEMOIZE] = "MEMOIZE",
	[OP_FRAME] = "FRAME", [OP_BYTEARRAY8] = "BYTEARRAY8",
	[OP_NEXT_BUFFER] = "NEXT_BUFFER",
	[OP_READONLY_BUFFER] = "READONLY_BUFFER",
};

const char *
pal_pickle_opname(uint8_t op)
{
	return opnames[op] != NULL ? opnames[op] : "invalid opcode";
}

int
pal_pickle_fail(struct pk_vm *vm, int code, const char *fmt, ...)
{
	char msg[PAL_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	/* A long detail is cut short; the offset comes first regardless. */
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pal_err_set(vm->cx->err, code, "pickle: %s at offset %zu: %s",
	    vm->what != NULL ? vm->what : pal_pickle_opname(vm->op), vm->at,
	    msg);
}

int
pal_pickle_find(struct pk_ctx *cx, const char *rule, size_t off,
    const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (cx->s == NULL)
		return 0;
	/* Past the cap a finding is only counted: no need to word it. */
	if (cx->s->results[cx->it->result].nfindings >=
	    pal_scan_limits(cx->s)->max_findings)
		return pal_scan_find_at(cx->s, cx->it, rule, off, "%s", "");
	va_start(ap, fmt);
	/* Names in msg are escaped and shortened before they get here. */
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pal_scan_find_at(cx->s, cx->it, rule, off, "%s", msg);
}

static uint32_t
clamp32(uint64_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : (uint32_t)v;
}

int
pal_pickle_ctx_init(struct pk_ctx *cx, struct pal_scan *s,
    const struct pal_scan_item *it, const uint8_t *data, size_t len)
{
	const struct pal_scan_limits *l;
	size_t i;

	memset(cx, 0, sizeof(*cx));
	cx->s = s;
	cx->it = it;
	cx->data = data;
	cx->len = data == NULL ? 0 : len;
	if (s != NULL) {
		l = pal_scan_limits(s);
		cx->err = &s->err;
		cx->max_opcodes = l->max_opcodes;
		cx->max_stack = l->max_stack;
		cx->max_memo = l->max_memo;
	} else {
		/* Probing: a few thousand opcodes decide. */
		cx->probe = 1;
		cx->err = &cx->own_err;
		cx->max_opcodes = 4096;
		cx->max_stack = 4096;
		cx->max_memo = 4096;
	}
	/* Values kept in containers and live objects: enough for what the
	 * scanner reads back (argument tuples, states, key lists), bounded
	 * so that a hostile stream cannot make memory grow without end. */
	cx->max_items = clamp32((uint64_t)cx->max_memo * 4, 1024, 1u << 21);
	cx->max_nodes = clamp32(((uint64_t)cx->max_stack + cx->max_memo) * 2 +
	    cx->max_items, 4096, 1u << 22);
	pal_buf_init(&cx->names, 16u << 20);
	for (i = 0; i < sizeof(cx->tmp) / sizeof(cx->tmp[0]); i++)
		pal_buf_init(&cx->tmp[i], 1u << 20);
	pal_buf_init(&cx->msg, 4096);
	return 0;
}

void
pal_pickle_ctx_free(struct pk_ctx *cx)
{
	size_t i;

	if (cx->nested != NULL) {
		pal_pickle_vm_free(cx->nested);
		free(cx->nested);
		cx->nested = NULL;
	}
	pal_pickle_globals_free(cx);
	free(cx->stor);
	cx->stor = NULL;
	pal_buf_free(&cx->names);
	for (i = 0; i < sizeof(cx->tmp) / sizeof(cx->tmp[0]); i++)
		pal_buf_free(&cx->tmp[i]);
	pal_buf_free(&cx->msg);
}

/* Does what follows a STOP start like another pickle? */
static int
looks_like_pickle(const uint8_t *d, size_t n)
{
	if (n >= 2 && d[0] == OP_PROTO && d[1] <= PK_HIGHEST_PROTOCOL)
		return 1;
	return pal_pickle_probe(d, n);
}

/*
 * What the values of the first pickles say about the file: PyTorch's
 * legacy layout starts with its magic number, then the protocol version
 * (an int), the system info, the object, and the storage keys, after
 * which the storages' data follows.
 */
static int
after_stop(struct pk_vm *vm, unsigned n, int *torch)
{
	if (n == 1)
		*torch = pal_pickle_is_torch_magic(vm->cx, &vm->result);
	if (!*torch)
		return 0;
	if (n == 2 && vm->result.tag != PK_INT)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "PyTorch legacy file: the protocol version is not an int");
	if (n != 5)
		return 0;
	vm->what = "PyTorch legacy storage data";
	vm->at = vm->cur.off;
	return pal_pickle_torch_storages(vm, &vm->result);
}

/* Runs the pickles of the item one after the other. */
static int
scan_stream(struct pk_ctx *cx, struct pk_vm *vm)
{
	size_t off = 0;
	unsigned n = 0;
	int torch = 0, r;

	for (;;) {
		if (n > 0)
			pal_pickle_vm_reset(vm, off, PK_VM_JOBLIB |
			    (torch && n == 3 ? PK_VM_TORCH : 0));
		if ((r = pal_pickle_run(vm)) != 0 ||
		    (r = after_stop(vm, ++n, &torch)) != 0)
			return r;
		off = vm->cur.off;
		if (off == cx->len) {
			if (torch && n < 5)
				return pal_err_set(cx->err, PAL_ERR_TRUNCATED,
				    "pickle: PyTorch legacy file ends after "
				    "pickle %u of 5", n);
			return 0;
		}
		if ((torch && n < 5) || looks_like_pickle(cx->data + off,
		    cx->len - off))
			continue;
		return pal_pickle_find(cx, PK_R_TRAILING, off,
		    "%zu bytes after the STOP of pickle %u are not a pickle",
		    cx->len - off, n);
	}
}

int
pal_fmt_pickle(struct pal_scan *s, const struct pal_scan_item *it)
{
	struct pk_ctx cx;
	struct pk_vm vm;
	int r;

	if ((r = pal_pickle_ctx_init(&cx, s, it, it->data, it->len)) != 0)
		return r;
	pal_pickle_vm_init(&vm, &cx, 0, PK_VM_JOBLIB);
	r = scan_stream(&cx, &vm);
	pal_pickle_vm_free(&vm);
	pal_pickle_ctx_free(&cx);
	return r;
}

int
pal_pickle_probe(const uint8_t *data, size_t len)
{
	struct pk_ctx cx;
	struct pk_vm vm;
	int r, yes;

	if (len >= 2 && data[0] == OP_PROTO && data[1] <= PK_HIGHEST_PROTOCOL)
		return 1;
	if (len == 0 || pal_pickle_ctx_init(&cx, NULL, NULL, data, len) != 0)
		return 0;
	pal_pickle_vm_init(&vm, &cx, 0, 0);
	r = pal_pickle_run(&vm);
	/* A clean STOP, a long run of valid opcodes (text is not), or a
	 * global with a module name a loader could import. */
	yes = r == 0 || r == PAL_ERR_LIMIT || cx.named_global;
	pal_pickle_vm_free(&vm);
	pal_pickle_ctx_free(&cx);
	return yes;
}
