/*
 * pickle_int.h - what the files of the pickle scanner share.
 *
 * The scanner is a symbolic unpickler: it runs the stack, the mark stack
 * and the memo of CPython's unpickler (Modules/_pickle.c) over every
 * opcode, but where the real one would import and call, it records what
 * would have been imported and called, and judges that.  Values are small
 * tagged records that point into the input; containers and call results
 * live in a reference-counted node pool so that what a pickle drops is
 * given back.
 *
 *   pickle.c         rules, the stream (several pickles, trailing bytes),
 *                    the probe
 *   pickle_vm.c      opcode dispatch: the stack machine
 *   pickle_call.c    calls, BUILD and mutation: what runs code
 *   pickle_global.c  globals: the table, the judge, the findings
 *   pickle_heap.c    nodes, reference counts, memo
 *   pickle_text.c    the text forms of protocol 0 (INT, LONG, FLOAT,
 *                    STRING, UNICODE, GET/PUT) parsed as CPython parses them
 *   pickle_layout.c  what follows a pickle in the same file: joblib's
 *                    array data and PyTorch's legacy storages
 *
 * Everything read comes from one struct pal_cur over the item's bytes.
 */
#ifndef PAL_PICKLE_INT_H
#define PAL_PICKLE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "palisade/buf.h"
#include "palisade/cursor.h"
#include "scan_int.h"

/* Opcodes of protocols 0 to 5 (pickletools' names). */
enum {
	OP_MARK = '(', OP_STOP = '.', OP_POP = '0', OP_POP_MARK = '1',
	OP_DUP = '2', OP_FLOAT = 'F', OP_INT = 'I', OP_BININT = 'J',
	OP_BININT1 = 'K', OP_LONG = 'L', OP_BININT2 = 'M', OP_NONE = 'N',
	OP_PERSID = 'P', OP_BINPERSID = 'Q', OP_REDUCE = 'R',
	OP_STRING = 'S', OP_BINSTRING = 'T', OP_SHORT_BINSTRING = 'U',
	OP_UNICODE = 'V', OP_BINUNICODE = 'X', OP_APPEND = 'a',
	OP_BUILD = 'b', OP_GLOBAL = 'c', OP_DICT = 'd', OP_EMPTY_DICT = '}',
	OP_APPENDS = 'e', OP_GET = 'g', OP_BINGET = 'h', OP_INST = 'i',
	OP_LONG_BINGET = 'j', OP_LIST = 'l', OP_EMPTY_LIST = ']',
	OP_OBJ = 'o', OP_PUT = 'p', OP_BINPUT = 'q', OP_LONG_BINPUT = 'r',
	OP_SETITEM = 's', OP_TUPLE = 't', OP_EMPTY_TUPLE = ')',
	OP_SETITEMS = 'u', OP_BINFLOAT = 'G',
	OP_PROTO = 0x80, OP_NEWOBJ = 0x81, OP_EXT1 = 0x82, OP_EXT2 = 0x83,
	OP_EXT4 = 0x84, OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86, OP_TUPLE3 = 0x87,
	OP_NEWTRUE = 0x88, OP_NEWFALSE = 0x89, OP_LONG1 = 0x8a,
	OP_LONG4 = 0x8b,
	OP_BINBYTES = 'B', OP_SHORT_BINBYTES = 'C',
	OP_SHORT_BINUNICODE = 0x8c, OP_BINUNICODE8 = 0x8d,
	OP_BINBYTES8 = 0x8e, OP_EMPTY_SET = 0x8f, OP_ADDITEMS = 0x90,
	OP_FROZENSET = 0x91, OP_NEWOBJ_EX = 0x92, OP_STACK_GLOBAL = 0x93,
	OP_MEMOIZE = 0x94, OP_FRAME = 0x95,
	OP_BYTEARRAY8 = 0x96, OP_NEXT_BUFFER = 0x97, OP_READONLY_BUFFER = 0x98,
};

#define PK_HIGHEST_PROTOCOL 5

/* Nested payloads (pickle.loads of embedded bytes) scanned per item. */
#define PK_MAX_PAYLOADS 32

/* Longest module or global name judged as given (longer: unknown). */
#define PK_NAME_MAX 4096

/*
 * Value tags.  PK_EMPTY marks an unused memo slot.  The four tags of spans
 * are 4 to 7, so that a memo entry holds one in two bits (pk_memo_pack).
 */
enum pk_tag {
	PK_EMPTY = 0,
	PK_NONE,
	PK_BOOL,
	PK_INT,		/* u.i */
	PK_STR = 4,	/* a span of the input, see form */
	PK_BYTES,	/* a span of the input */
	PK_BYTEARRAY,
	PK_BIGINT = 7,	/* an int beyond 64 bits: a span, see form */
	PK_FLOAT,
	PK_BUFFER,	/* an out-of-band buffer (NEXT_BUFFER) */
	PK_GLOBAL,	/* u.ref: index into the global table */
	PK_NODE,	/* u.ref: index into the node pool */
};

/* How the bytes of a PK_STR or PK_BIGINT span are to be read. */
enum pk_form {
	PK_F_UTF8 = 0,	/* text as UTF-8 (BINUNICODE, or plain ASCII) */
	PK_F_LATIN1,	/* one code point per byte (BINSTRING, UNICODE) */
	PK_F_STRESC,	/* STRING with backslash escapes, then Latin-1 */
	PK_F_RAWESC,	/* UNICODE with \u and \U escapes */
	PK_F_LONGBIN,	/* little-endian two's complement (LONG1, LONG4) */
	PK_F_LONGTEXT,	/* a Python int literal (INT, LONG) */
};

/*
 * A value: 16 bytes, passed by value.  Spans (strings, bytes, big ints)
 * are an offset into the item and a 48-bit length; nothing is copied.
 * The tag, form and length share one word, head, so that a value is
 * written and copied with two stores (pk_set, pk_val_copy).
 */
struct pk_val {
	union {
		struct {
			uint8_t tag;
			uint8_t form;
			uint16_t hi;	/* length bits 32..47 */
			uint32_t lo;	/* length bits 0..31 */
		};
		uint64_t head;	/* the four above, as one word */
	};
	union {
		int64_t i;
		double f;
		uint64_t off;
		uint64_t ref;	/* 64 bits wide, so one store writes it */
	} u;
};

/*
 * The head word of a value with these fields, built in registers: spelled
 * out where the byte order is known, through the union elsewhere.
 */
static inline uint64_t
pk_head(uint8_t tag, uint8_t form, uint64_t len)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint64_t)tag | (uint64_t)form << 8 |
	    (len >> 32 & 0xffff) << 16 | (len & 0xffffffff) << 32;
#else
	struct pk_val v;

	v.tag = tag;
	v.form = form;
	v.hi = (uint16_t)(len >> 32);
	v.lo = (uint32_t)len;
	return v.head;
#endif
}

/*
 * Sets a value with two stores.  A value is read soon after it is
 * written (the next opcode pops it, a copy moves it): a load that must
 * gather several smaller stores still in flight waits for them to reach
 * the cache, one that matches a single store is forwarded from it.  So
 * values are written, and copied, a word at a time.
 */
static inline void
pk_set(struct pk_val *v, uint8_t tag, uint8_t form, uint64_t len,
    uint64_t u)
{
	v->head = pk_head(tag, form, len);
	v->u.off = u;
}

/* As pk_set, for a scalar whose payload is a signed int. */
static inline void
pk_set_int(struct pk_val *v, uint8_t tag, int64_t i)
{
	v->head = pk_head(tag, 0, 0);
	v->u.i = i;
}

/* Copies a value a word at a time (see pk_set). */
static inline void
pk_val_copy(struct pk_val *dst, const struct pk_val *src)
{
	dst->head = src->head;
	dst->u = src->u;
}

/*
 * Copies n values.  Most copies are a few values just built (a dict's
 * pairs, a tuple's items), for which a loop of pk_val_copy costs less
 * than a call of memcpy; long runs are left to memcpy.
 */
static inline void
pk_vals_copy(struct pk_val *dst, const struct pk_val *src, size_t n)
{
	size_t i;

	if (n > 16) {
		memcpy(dst, src, n * sizeof(*dst));
		return;
	}
	for (i = 0; i < n; i++)
		pk_val_copy(&dst[i], &src[i]);
}

static inline uint64_t
pk_span_len(const struct pk_val *v)
{
	return (uint64_t)v->hi << 32 | v->lo;
}

/* Node kinds: what a PK_NODE is. */
enum pk_kind {
	PK_N_FREE = 0,
	PK_N_TUPLE,
	PK_N_LIST,
	PK_N_DICT,	/* items are key, value, key, value ... */
	PK_N_SET,
	PK_N_FROZENSET,
	PK_N_OBJECT,	/* what a call returned */
	PK_N_PERSID,	/* what persistent_load returned */
};

/* Node flags. */
enum {
	PK_NF_PARTIAL = 1 << 0,		/* items past a cap dropped */
	PK_NF_KEY_DUNDER = 1 << 1,	/* a str key "__...__" was stored */
	PK_NF_KEY_SETSTATE = 1 << 2,	/* the key "__setstate__" stored */
	PK_NF_UNTRUSTED = 1 << 3,	/* object: its class is not allowed */
	PK_NF_SETSTATE = 1 << 4,	/* object: __setstate__ was replaced */
	PK_NF_ARRAY = 1 << 5,		/* object: an array joblib read */
};

#define PK_INLINE 3
#define PK_NOREF UINT32_MAX

/*
 * A container or an object.  Containers keep their items (inline up to
 * three, then in an array of their own); objects keep, in the inline
 * slots, what is needed to follow them later: the arguments and the
 * state of the few callables whose results the scanner must understand
 * (numpy.dtype, joblib's array wrapper, io.BytesIO), and a replaced
 * __setstate__.
 */
struct pk_node {
	uint32_t refs;
	uint8_t kind;
	uint8_t flags;
	uint8_t how;		/* object: the opcode that made it */
	uint8_t pad;
	uint32_t n;		/* items in use */
	uint32_t cap;		/* items allocated in items, 0 if inline */
	uint32_t cls;		/* object: its class; dict: note_keys */
	struct pk_val *items;	/* NULL while inline */
	struct pk_val in[PK_INLINE];
};

/* Slots of an object's inline items. */
enum { PK_OBJ_ARGS = 0, PK_OBJ_STATE = 1, PK_OBJ_SETSTATE = 2 };

/* Globals: what kind of name a table entry is. */
enum pk_gkind {
	PK_G_NAMED = 0,	/* GLOBAL, STACK_GLOBAL of strings, INST */
	PK_G_EXT,	/* EXT1/2/4: the registry decides */
	PK_G_DYNAMIC,	/* STACK_GLOBAL of computed values */
};

/* Globals the scanner must understand to keep following the stream. */
enum pk_special {
	PK_S_NONE = 0,
	PK_S_RECONSTRUCTOR,	/* copyreg._reconstructor(cls, base, st) */
	PK_S_DTYPE,		/* numpy.dtype */
	PK_S_JOBLIB_WRAPPER,	/* joblib.numpy_pickle.NumpyArrayWrapper */
	PK_S_LOADS,		/* pickle.loads and kin: bytes in */
	PK_S_LOAD,		/* pickle.load, torch.load: file in */
	PK_S_BYTESIO,		/* io.BytesIO */
	PK_S_ENCODE,		/* _codecs.encode: bytes in protocols 0-2 */
	PK_S_TORCH_STORAGE,	/* torch.FloatStorage ...: elsize set */
};

/* A reference to text: in the input, or in the context's name arena. */
#define PK_TEXT_ARENA ((uint64_t)1 << 63)

struct pk_global {
	uint64_t mod;		/* PK_TEXT_ARENA | offset, or an offset */
	uint64_t name;
	uint32_t mod_len;
	uint32_t name_len;
	uint8_t kind;		/* enum pk_gkind */
	uint8_t verdict;	/* enum pal_global_verdict */
	uint8_t special;	/* enum pk_special */
	uint8_t elsize;		/* PK_S_TORCH_STORAGE: element bytes */
	uint8_t op;		/* opcode that first named it */
	uint8_t named;		/* the naming finding was reported */
	uint16_t calls;		/* call kinds reported, a bit each */
	uint16_t methods;	/* method kinds reported on instances */
	uint32_t code;		/* PK_G_EXT: the extension code */
	const char *why;
	size_t off;		/* offset of the opcode first naming it */
};

/* One PyTorch legacy storage, from a persistent id ('storage', ...). */
struct pk_storage {
	uint64_t key;		/* text reference, as in pk_global */
	uint32_t key_len;
	uint32_t elsize;
	uint64_t numel;
};

/*
 * Per item: what outlives a single pickle of the stream.  s is NULL when
 * probing; then nothing is judged or reported.
 */
struct pk_ctx {
	struct pal_scan *s;
	const struct pal_scan_item *it;
	const uint8_t *data;
	size_t len;
	struct pal_err *err;
	struct pal_err own_err;	/* where err points when probing */
	uint64_t max_opcodes;
	uint64_t nops;
	uint32_t max_stack;
	uint32_t max_memo;
	uint32_t max_nodes;
	uint32_t max_items;
	int probe;
	int named_global;	/* probe: a plausible global was named */
	int frame_reported;
	int oob_reported;
	int memo_reported;
	struct pk_global *globals;
	uint32_t nglobals, cap_globals;
	uint32_t *ghash;	/* open addressing: global index + 1, 0 empty */
	uint32_t ghash_cap;
	struct pal_buf names;	/* decoded names that outlive one use */
	struct pal_buf tmp[4];	/* scratch decodes; [3] is intermediate */
	struct pal_buf msg;	/* escaped text for messages */
	struct pk_storage *stor;
	size_t nstor, cap_stor;
	struct pk_vm *nested;	/* joblib object arrays: a 2nd machine */
	uint64_t payloads[PK_MAX_PAYLOADS];	/* nested payloads scanned */
	unsigned npayloads;
};

/*
 * Memo: ids below dense_cap in an array, sparse ids in a hash table.
 * Entries of the array are 8 bytes, half a value: a kind in the low three
 * bits and the value packed above (a node or global index, a scalar, or a
 * span of up to 16 KiB below 1 TiB), or an index into big for a value
 * that does not pack.  Millions of memoized strings are common.
 *
 *   node, global, scalar  kind | tag << 3 | (index or int) << 8
 *   span                  kind | (tag - 4) << 3 | form << 5 | len << 8 |
 *                         offset << 22
 *   big                   kind | index into big << 3
 */
enum {
	PK_ME_EMPTY = 0,
	PK_ME_NODE,
	PK_ME_GLOBAL,
	PK_ME_SCALAR,
	PK_ME_SPAN,
	PK_ME_BIG,
};

struct pk_memo {
	uint64_t *dense;
	struct pk_val *big;	/* values that do not pack */
	size_t nbig, cap_big;
	void *map;		/* the mapping dense lies in, or NULL */
	size_t maplen;
	size_t dense_cap;
	size_t dense_init;	/* slots from here on are empty, unwritten */
	uint64_t *hkeys;
	struct pk_val *hvals;
	size_t hcap, hused;
	size_t count;		/* ids stored: MEMOIZE's next id */
};

/* Item arrays of pickle_heap.c: chunks and a free list per size. */
struct pk_slab {
	struct pk_val *free[6];
	void **chunks;
	size_t nchunks, cap_chunks;
	uint8_t *next;
	size_t left;
};

/* Machine flags. */
enum {
	PK_VM_JOBLIB = 1 << 0,	/* arrays follow NumpyArrayWrapper */
	PK_VM_TORCH = 1 << 1,	/* PyTorch legacy object: persistent ids */
};

/* Per pickle: one run of the unpickler from PROTO (or not) to STOP. */
struct pk_vm {
	struct pk_ctx *cx;
	struct pal_cur cur;
	unsigned flags;
	int proto;
	uint8_t op;		/* opcode being run */
	size_t at;		/* its offset */
	const char *what;	/* names a step that is not an opcode */
	size_t frame_end;	/* end of the current FRAME, 0 outside one */
	struct pk_val *stack;
	size_t nstack, cap_stack;
	size_t *marks;
	size_t nmarks, cap_marks;
	size_t fence;		/* items below this are behind a mark */
	struct pk_memo memo;
	struct pk_node *nodes;
	void *nodes_map;	/* the mapping nodes lies in, or NULL */
	size_t nodes_maplen;
	uint32_t nnodes, cap_nodes;
	uint32_t free_node;	/* head of the free list, or PK_NOREF */
	uint32_t live_nodes;
	uint64_t items;		/* items kept across all containers */
	uint32_t big_arrays;	/* item arrays malloc'ed one by one */
	struct pk_slab slab;
	uint32_t *dead;		/* worklist for releasing nodes */
	size_t ndead, cap_dead;
	struct pk_val result;	/* what STOP returned */
};

/* Rule ids (see pal_rules_pickle in pickle.c). */
#define PK_R_DANGEROUS		"pickle.dangerous-global"
#define PK_R_UNKNOWN		"pickle.unknown-global"
#define PK_R_DYNAMIC		"pickle.dynamic-global"
#define PK_R_EXT		"pickle.extension-code"
#define PK_R_INDIRECT		"pickle.indirect-call"
#define PK_R_BUILD_GLOBAL	"pickle.build-on-global"
#define PK_R_MUTATE_GLOBAL	"pickle.mutate-global"
#define PK_R_METHOD		"pickle.untrusted-method"
#define PK_R_STATE		"pickle.state-override"
#define PK_R_NESTED		"pickle.nested-pickle"
#define PK_R_TRAILING		"pickle.trailing-data"
#define PK_R_FRAME		"pickle.frame-straddle"
#define PK_R_STOP		"pickle.malformed-stop"
#define PK_R_OOB		"pickle.out-of-band"
#define PK_R_MEMO		"pickle.memo-overwrite"

/* pickle.c */
const char *pal_pickle_opname(uint8_t op);
int pal_pickle_fail(struct pk_vm *vm, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int pal_pickle_find(struct pk_ctx *cx, const char *rule, size_t off,
    const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int pal_pickle_ctx_init(struct pk_ctx *cx, struct pal_scan *s,
    const struct pal_scan_item *it, const uint8_t *data, size_t len);
void pal_pickle_ctx_free(struct pk_ctx *cx);

/* pickle_vm.c */
void pal_pickle_vm_init(struct pk_vm *vm, struct pk_ctx *cx, size_t off,
    unsigned flags);
void pal_pickle_vm_reset(struct pk_vm *vm, size_t off, unsigned flags);
void pal_pickle_vm_free(struct pk_vm *vm);
int pal_pickle_run(struct pk_vm *vm);

/* pickle_heap.c */
int pal_pickle_node_new(struct pk_vm *vm, uint8_t kind, struct pk_val *out);
void pal_pickle_release(struct pk_vm *vm, uint32_t id);
void pal_pickle_unref_n(struct pk_vm *vm, const struct pk_val *v, size_t n);
int pal_pickle_node_add(struct pk_vm *vm, uint32_t ref,
    const struct pk_val *v, size_t n);
const struct pk_val *pal_pickle_items(struct pk_vm *vm, uint32_t ref,
    size_t *n);
void pal_pickle_heap_reset(struct pk_vm *vm);
void pal_pickle_heap_free(struct pk_vm *vm);
int pal_pickle_memo_put(struct pk_vm *vm, uint64_t key,
    const struct pk_val *v);
int pal_pickle_memo_get(struct pk_vm *vm, uint64_t key, struct pk_val *out);
void pal_pickle_memo_reset(struct pk_vm *vm);
void pal_pickle_memo_free(struct pk_vm *vm);

/* Packs v into a memo entry; 0 if it does not fit. */
static inline int
pk_memo_pack(const struct pk_val *v, uint64_t *e)
{
	uint64_t len;

	switch (v->tag) {
	case PK_NODE:
	case PK_GLOBAL:
		*e = (v->tag == PK_NODE ? PK_ME_NODE : PK_ME_GLOBAL) |
		    (uint64_t)v->tag << 3 | v->u.ref << 8;
		return 1;
	case PK_STR:
	case PK_BYTES:
	case PK_BYTEARRAY:
	case PK_BIGINT:
		len = pk_span_len(v);
		if (len >= (1u << 14) || v->u.off >= (uint64_t)1 << 40)
			return 0;
		*e = PK_ME_SPAN | (uint64_t)(v->tag - PK_STR) << 3 |
		    (uint64_t)v->form << 5 | len << 8 | v->u.off << 22;
		return 1;
	default:
		/* Scalars: the tag, and an int of up to 56 bits. */
		if (v->u.i < -((int64_t)1 << 55) || v->u.i >= (int64_t)1 << 55)
			return 0;
		*e = PK_ME_SCALAR | (uint64_t)v->tag << 3 |
		    (uint64_t)v->u.i << 8;
		return 1;
	}
}

/*
 * Unpacks a memo entry that is not PK_ME_EMPTY or PK_ME_BIG.  Without a
 * branch on the kind: a fetch from the memo is one of the commonest steps
 * of a pickle, and which kind comes next is not predictable.
 */
static inline void
pk_memo_unpack(uint64_t e, struct pk_val *v)
{
	uint8_t b = (uint8_t)(e >> 3);
	int span = (e & 7) == PK_ME_SPAN;

	v->head = pk_head(span ? (uint8_t)(PK_STR + (b & 3)) :
	    (uint8_t)(b & 31), span ? (uint8_t)((b >> 2) & 7) : 0,
	    span ? (e >> 8) & 0x3fff : 0);
	/* Sign-extends the 56-bit int of a scalar from the top bits. */
	v->u.i = span ? (int64_t)(e >> 22) :
	    (int64_t)(e & ~(uint64_t)0xff) / 256;
}

/*
 * Takes a node from the free list or the pool's unused tail, set up as an
 * empty node of the given kind with one reference; PK_NOREF when the pool
 * must grow first (pal_pickle_node_new does that).
 */
static inline uint32_t
pk_node_take(struct pk_vm *vm, uint8_t kind)
{
	struct pk_node *nd;
	uint32_t id;

	if (vm->free_node != PK_NOREF) {
		id = vm->free_node;
		vm->free_node = vm->nodes[id].cls;
	} else if (vm->nnodes < vm->cap_nodes) {
		id = vm->nnodes++;
	} else {
		return PK_NOREF;
	}
	nd = &vm->nodes[id];
	memset(nd, 0, sizeof(*nd));
	nd->refs = 1;
	nd->kind = kind;
	nd->cls = PK_NOREF;
	vm->live_nodes++;
	return id;
}

/* Values are counted references only when they are nodes. */
static inline struct pk_node *
pal_pickle_node(struct pk_vm *vm, const struct pk_val *v)
{
	return &vm->nodes[v->u.ref];
}

static inline void
pal_pickle_ref(struct pk_vm *vm, const struct pk_val *v)
{
	if (v->tag == PK_NODE)
		vm->nodes[v->u.ref].refs++;
}

static inline void
pal_pickle_unref(struct pk_vm *vm, const struct pk_val *v)
{
	if (v->tag == PK_NODE && --vm->nodes[v->u.ref].refs == 0)
		pal_pickle_release(vm, (uint32_t)v->u.ref);
}

/* pickle_text.c */
enum pk_int_kind { PK_INT_SMALL, PK_INT_BIG, PK_INT_BOOL };
int pal_pickle_text_int(const uint8_t *p, size_t n, int64_t *v, int *kind);
int pal_pickle_text_long(const uint8_t *p, size_t n, int64_t *v, int *big);
int pal_pickle_text_pylong(const uint8_t *p, size_t n, int base,
    int64_t *v, int *big);
int pal_pickle_text_float(const uint8_t *p, size_t n, double *v);
int pal_pickle_text_escape(const uint8_t *p, size_t n, struct pal_buf *out,
    size_t *bad);
int pal_pickle_text_rawesc(const uint8_t *p, size_t n, struct pal_buf *out,
    size_t *bad);
int pal_pickle_utf8_ok(const uint8_t *p, size_t n, int surrogates);
int pal_pickle_latin1_utf8(const uint8_t *p, size_t n, struct pal_buf *out);
int pal_pickle_is_ascii(const uint8_t *p, size_t n);
int pal_pickle_dotted_ident(const char *p, size_t n);

/* pickle_global.c */
int pal_pickle_str(struct pk_ctx *cx, const struct pk_val *v, int slot,
    const char **p, size_t *n);
int pal_pickle_str_eq(struct pk_ctx *cx, const struct pk_val *v,
    const char *s);
int pal_pickle_keep_text(struct pk_ctx *cx, const char *p, size_t n,
    uint64_t *ref);
int pal_pickle_global(struct pk_vm *vm, const char *mod, size_t mod_len,
    const char *name, size_t name_len, struct pk_val *out);
int pal_pickle_global_ext(struct pk_vm *vm, uint32_t code,
    struct pk_val *out);
int pal_pickle_global_dynamic(struct pk_vm *vm, const char *why,
    struct pk_val *out);
struct pk_global *pal_pickle_gl(struct pk_ctx *cx, uint32_t ref);
int pal_pickle_gl_trusted(const struct pk_global *g);
const char *pal_pickle_gl_text(struct pk_ctx *cx, uint64_t ref);
const char *pal_pickle_gl_display(struct pk_ctx *cx,
    const struct pk_global *g);
int pal_pickle_report_call(struct pk_vm *vm, uint32_t gref,
    const char *verb);
const char *pal_pickle_describe(struct pk_vm *vm, const struct pk_val *v);
void pal_pickle_globals_free(struct pk_ctx *cx);

/* pickle_call.c */
int pal_pickle_call(struct pk_vm *vm, struct pk_val callable,
    struct pk_val args, struct pk_val *kwargs, struct pk_val *out);
int pal_pickle_build(struct pk_vm *vm);
int pal_pickle_mutate(struct pk_vm *vm, size_t x);
int pal_pickle_setitems_dict(struct pk_vm *vm);

/* pickle_layout.c */
int pal_pickle_joblib_array(struct pk_vm *vm, uint32_t ref);
int pal_pickle_torch_persid(struct pk_vm *vm, const struct pk_val *pid,
    struct pk_val *out);
int pal_pickle_torch_storages(struct pk_vm *vm, const struct pk_val *keys);
int pal_pickle_is_torch_magic(struct pk_ctx *cx, const struct pk_val *v);
int pal_pickle_int_value(struct pk_ctx *cx, const struct pk_val *v,
    int64_t *out);
int pal_pickle_dict_get(struct pk_vm *vm, const struct pk_val *dict,
    const char *key, struct pk_val *out);

#endif
