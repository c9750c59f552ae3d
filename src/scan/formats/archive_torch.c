/*
 * archive_torch.c - the legacy PyTorch tar layout (torch.save before the
 * zip format; torch.load still reads it).
 *
 * The tar holds "sys_info", "pickle", "storages" and "tensors".  "pickle"
 * and "sys_info" are plain pickles, scanned like any member.  The other
 * two are what torch's legacy_load reads with repeated pickle.load calls
 * and raw reads in between, so every pickle in them is unpickled by the
 * loader and must be scanned:
 *
 *   storages: pickle(count), then count times: pickle((key, location,
 *             storage_type)), u64le numel, numel * element_size(type)
 *             raw bytes; then pickle(storage_views).
 *   tensors:  pickle(count), then count times: pickle((key, storage_id,
 *             tensor_type)), i32le ndim, 4 unused bytes, ndim i64le
 *             sizes, ndim i64le strides, i64le storage offset.
 *
 * Delimiting depends on the element size, which torch takes from the
 * storage type the pickle evaluates to.  We only trust a name read
 * statically: a storage pickle must name exactly one global, a known
 * torch storage type, and call nothing.  Anything else, and anything
 * malformed, stops delimiting with an error naming the offset; the bytes
 * after it are not scanned and the file is not reported clean.
 *
 * pal_arc_pickle_span walks opcodes only to find where a pickle ends; the
 * pickle scanner judges what it means.
 */
#include <stdio.h>
#include <string.h>

#include "archive_int.h"

enum arg {
	A_NONE = 0,
	A_U1, A_U2, A_U4, A_U8,		/* fixed-size argument */
	A_LEN1, A_LEN4, A_SLEN4, A_LEN8,	/* length, then that many bytes */
	A_LINE, A_LINE2,		/* one or two newline-ended lines */
	A_BAD,				/* not an opcode */
};

enum kind {
	K_OTHER = 0,	/* changes the stack in some other way */
	K_META,		/* PROTO, FRAME, memo writes: no stack effect */
	K_INT,		/* pushes a small int */
	K_STR,		/* pushes a str */
	K_VALUE,	/* pushes some other value */
	K_GLOBAL,	/* GLOBAL: module and name inline */
	K_SGLOBAL,	/* STACK_GLOBAL: module and name from the stack */
	K_EXT,		/* extension registry: a global by code */
	K_CALL,		/* calls something */
	K_INST,		/* INST: a global and a call */
	K_STOP,
};

struct opdef {
	uint8_t arg;
	uint8_t kind;
};

#define OP(c, a, k) [(uint8_t)(c)] = { (a) + 1, (k) }

/* Arguments are stored plus one so that a zero entry means "unknown". */
static const struct opdef ops[256] = {
	OP('(', A_NONE, K_OTHER),	/* MARK */
	OP('.', A_NONE, K_STOP),
	OP('0', A_NONE, K_OTHER), OP('1', A_NONE, K_OTHER),
	OP('2', A_NONE, K_OTHER),	/* POP, POP_MARK, DUP */
	OP('F', A_LINE, K_VALUE), OP('I', A_LINE, K_INT),
	OP('J', A_U4, K_INT), OP('K', A_U1, K_INT), OP('L', A_LINE, K_VALUE),
	OP('M', A_U2, K_INT), OP('N', A_NONE, K_VALUE),
	OP('P', A_LINE, K_CALL), OP('Q', A_NONE, K_CALL),	/* PERSID */
	OP('R', A_NONE, K_CALL), OP('S', A_LINE, K_VALUE),
	OP('T', A_SLEN4, K_VALUE), OP('U', A_LEN1, K_VALUE),
	OP('V', A_LINE, K_STR), OP('X', A_LEN4, K_STR),
	OP('a', A_NONE, K_OTHER), OP('b', A_NONE, K_CALL),
	OP('c', A_LINE2, K_GLOBAL), OP('d', A_NONE, K_OTHER),
	OP('}', A_NONE, K_VALUE), OP('e', A_NONE, K_OTHER),
	OP('g', A_LINE, K_VALUE), OP('h', A_U1, K_VALUE),
	OP('i', A_LINE2, K_INST), OP('j', A_U4, K_VALUE),
	OP('l', A_NONE, K_OTHER), OP(']', A_NONE, K_VALUE),
	OP('o', A_NONE, K_CALL), OP('p', A_LINE, K_META),
	OP('q', A_U1, K_META), OP('r', A_U4, K_META),
	OP('s', A_NONE, K_OTHER), OP('t', A_NONE, K_OTHER),
	OP(')', A_NONE, K_VALUE), OP('u', A_NONE, K_OTHER),
	OP('G', A_U8, K_VALUE),
	OP('B', A_LEN4, K_VALUE), OP('C', A_LEN1, K_VALUE),
	OP(0x80, A_U1, K_META), OP(0x81, A_NONE, K_CALL),
	OP(0x82, A_U1, K_EXT), OP(0x83, A_U2, K_EXT), OP(0x84, A_U4, K_EXT),
	OP(0x85, A_NONE, K_OTHER), OP(0x86, A_NONE, K_OTHER),
	OP(0x87, A_NONE, K_OTHER), OP(0x88, A_NONE, K_VALUE),
	OP(0x89, A_NONE, K_VALUE), OP(0x8a, A_LEN1, K_VALUE),
	OP(0x8b, A_SLEN4, K_VALUE), OP(0x8c, A_LEN1, K_STR),
	OP(0x8d, A_LEN8, K_STR), OP(0x8e, A_LEN8, K_VALUE),
	OP(0x8f, A_NONE, K_VALUE), OP(0x90, A_NONE, K_OTHER),
	OP(0x91, A_NONE, K_OTHER), OP(0x92, A_NONE, K_CALL),
	OP(0x93, A_NONE, K_SGLOBAL), OP(0x94, A_NONE, K_META),
	OP(0x95, A_U8, K_META), OP(0x96, A_LEN8, K_VALUE),
	OP(0x97, A_NONE, K_VALUE), OP(0x98, A_NONE, K_OTHER),
};

/* What one opcode's argument turned out to be. */
struct oparg {
	const uint8_t *p;	/* bytes of a string or line */
	size_t n;
	const uint8_t *p2;	/* second line of GLOBAL and INST */
	size_t n2;
	int64_t ival;		/* value of a small int */
	int has_int;
};

/* A decimal line of INT ("I42\n"), as pickle writes it. */
static int
parse_int_line(const uint8_t *p, size_t n, int64_t *v)
{
	size_t i = 0;
	int neg = 0;
	int64_t x = 0;

	if (n > 0 && p[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n || n - i > 18)
		return -1;
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		x = x * 10 + (p[i] - '0');
	}
	*v = neg ? -x : x;
	return 0;
}

static int
read_len(struct pal_cur *c, enum arg a, uint64_t *len)
{
	uint8_t u8;
	uint32_t u32;
	int r;

	switch (a) {
	case A_LEN1:
		r = pal_cur_u8(c, &u8);
		*len = u8;
		return r;
	case A_LEN4:
	case A_SLEN4:
		if ((r = pal_cur_u32le(c, &u32)) != 0)
			return r;
		if (a == A_SLEN4 && u32 > INT32_MAX)
			return PAL_ERR_FORMAT;
		*len = u32;
		return 0;
	default:
		return pal_cur_u64le(c, len);
	}
}

static int
read_fixed(struct pal_cur *c, enum arg a, struct oparg *oa)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	int r;

	switch (a) {
	case A_U1:
		r = pal_cur_u8(c, &u8);
		oa->ival = u8;
		break;
	case A_U2:
		r = pal_cur_u16le(c, &u16);
		oa->ival = u16;
		break;
	case A_U4:
		r = pal_cur_u32le(c, &u32);
		oa->ival = (int32_t)u32;
		break;
	default:
		r = pal_cur_u64le(c, &u64);
		break;
	}
	oa->has_int = (a != A_U8);
	return r;
}

static int
read_arg(struct pal_cur *c, enum arg a, struct oparg *oa)
{
	uint64_t len;
	int r;

	memset(oa, 0, sizeof(*oa));
	switch (a) {
	case A_NONE:
		return 0;
	case A_U1:
	case A_U2:
	case A_U4:
	case A_U8:
		return read_fixed(c, a, oa);
	case A_LINE:
		return pal_cur_line(c, pal_cur_left(c), &oa->p, &oa->n);
	case A_LINE2:
		if ((r = pal_cur_line(c, pal_cur_left(c), &oa->p, &oa->n)) != 0)
			return r;
		return pal_cur_line(c, pal_cur_left(c), &oa->p2, &oa->n2);
	case A_LEN1:
	case A_LEN4:
	case A_SLEN4:
	case A_LEN8:
		if ((r = read_len(c, a, &len)) != 0)
			return r;
		if (len > pal_cur_left(c))
			return PAL_ERR_TRUNCATED;
		oa->n = (size_t)len;
		return pal_cur_bytes(c, oa->n, &oa->p);
	default:
		return PAL_ERR_FORMAT;
	}
}

/* The last two things pushed, for STACK_GLOBAL's module and name. */
struct recent {
	int kind[2];
	struct oparg arg[2];
};

static void
note_push(struct recent *rc, int kind, const struct oparg *oa)
{
	rc->kind[0] = rc->kind[1];
	rc->arg[0] = rc->arg[1];
	rc->kind[1] = kind;
	rc->arg[1] = *oa;
}

static void
account(struct pal_arc_pickle_info *in, struct recent *rc, int kind,
    uint8_t code, const struct oparg *oa)
{
	switch (kind) {
	case K_META:
		return;
	case K_INT:
		in->ints++;
		in->last_int = oa->ival;
		if (code == 'I' && parse_int_line(oa->p, oa->n,
		    &in->last_int) != 0)
			in->others++;
		break;
	case K_GLOBAL:
	case K_INST:
		in->globals++;
		in->others++;
		in->mod = oa->p;
		in->mod_len = oa->n;
		in->name = oa->p2;
		in->name_len = oa->n2;
		if (kind == K_INST)
			in->calls++;
		break;
	case K_SGLOBAL:
		in->globals++;
		in->others++;
		in->mod = in->name = NULL;
		in->mod_len = in->name_len = 0;
		if (rc->kind[0] == K_STR && rc->kind[1] == K_STR) {
			in->mod = rc->arg[0].p;
			in->mod_len = rc->arg[0].n;
			in->name = rc->arg[1].p;
			in->name_len = rc->arg[1].n;
		}
		break;
	case K_EXT:
		in->globals++;
		in->others++;
		in->mod = in->name = NULL;
		break;
	case K_CALL:
		in->calls++;
		in->others++;
		break;
	default:
		in->others++;
		break;
	}
	note_push(rc, kind, oa);
}

int
pal_arc_pickle_span(const uint8_t *d, size_t n, size_t *len,
    struct pal_arc_pickle_info *info, struct pal_err *err)
{
	struct recent rc;
	struct oparg oa;
	struct pal_cur c;
	uint8_t code;
	size_t at;
	int r;

	*len = 0;
	memset(info, 0, sizeof(*info));
	memset(&rc, 0, sizeof(rc));
	pal_cur_init(&c, d, n);
	for (;;) {
		at = c.off;
		if (pal_cur_u8(&c, &code) != 0)
			return pal_err_set(err, PAL_ERR_TRUNCATED,
			    "pickle has no STOP opcode (offset %zu)", at);
		if (ops[code].arg == 0)
			return pal_err_set(err, PAL_ERR_FORMAT,
			    "unknown pickle opcode 0x%02x at offset %zu", code,
			    at);
		if ((r = read_arg(&c, (enum arg)(ops[code].arg - 1), &oa)) != 0)
			return pal_err_set(err, r, "pickle opcode 0x%02x at "
			    "offset %zu: argument %s", code, at,
			    r == PAL_ERR_TRUNCATED ? "truncated" : "invalid");
		if (ops[code].kind == K_STOP) {
			*len = c.off;
			return 0;
		}
		account(info, &rc, ops[code].kind, code, &oa);
	}
}

struct elsize {
	const char *name;
	uint8_t size;
};

/* Storage types of the legacy format and their element sizes. */
static const struct elsize elsizes[] = {
	{ "DoubleStorage", 8 }, { "FloatStorage", 4 }, { "HalfStorage", 2 },
	{ "LongStorage", 8 }, { "IntStorage", 4 }, { "ShortStorage", 2 },
	{ "CharStorage", 1 }, { "ByteStorage", 1 }, { "BoolStorage", 1 },
	{ "BFloat16Storage", 2 }, { "ComplexDoubleStorage", 16 },
	{ "ComplexFloatStorage", 8 }, { "QUInt8Storage", 1 },
	{ "QInt8Storage", 1 }, { "QInt32Storage", 4 },
	{ "QUInt4x2Storage", 1 }, { "QUInt2x4Storage", 1 },
};

static int
bytes_eq(const uint8_t *p, size_t n, const char *s)
{
	return p != NULL && n == strlen(s) && memcmp(p, s, n) == 0;
}

/* Element size of the storage type a pickle names, or 0. */
static size_t
storage_elsize(const struct pal_arc_pickle_info *in)
{
	size_t i;

	if (in->globals != 1 || in->calls != 0 || in->mod == NULL)
		return 0;
	if (!bytes_eq(in->mod, in->mod_len, "torch") &&
	    !bytes_eq(in->mod, in->mod_len, "torch.cuda"))
		return 0;
	for (i = 0; i < sizeof(elsizes) / sizeof(elsizes[0]); i++)
		if (bytes_eq(in->name, in->name_len, elsizes[i].name))
			return elsizes[i].size;
	return 0;
}

/* Walking one member: where we are and what it is called. */
struct torch_walk {
	struct pal_scan *s;
	const struct pal_scan_item *parent;
	const char *member;
	struct pal_cur c;
};

static int
tw_fail(struct torch_walk *tw, int code, size_t at, const char *why)
{
	return pal_err_set(&tw->s->err, code, "legacy PyTorch '%s' at offset "
	    "%zu: %s; the rest of it was not scanned", tw->member, at, why);
}

/* Delimits and scans the next pickle. */
static int
tw_pickle(struct torch_walk *tw, struct pal_arc_pickle_info *info)
{
	struct pal_cur peek = tw->c;
	struct pal_err perr;
	const uint8_t *p;
	char name[64];
	size_t at = tw->c.off, len;
	int r;

	/* The rest of the member, to find where this pickle ends. */
	if (pal_cur_bytes(&peek, pal_cur_left(&peek), &p) != 0)
		return tw_fail(tw, PAL_ERR_TRUNCATED, at, "no pickle");
	if (pal_arc_pickle_span(p, pal_cur_left(&tw->c), &len, info,
	    &perr) != 0)
		return tw_fail(tw, perr.code, at, perr.msg);
	if (pal_cur_bytes(&tw->c, len, &p) != 0)
		return tw_fail(tw, PAL_ERR_TRUNCATED, at, "pickle truncated");
	snprintf(name, sizeof(name), "%s@%zu", tw->member, at);
	if ((r = pal_scan_child_as(tw->s, tw->parent, name, p, len, 0,
	    PAL_FMT_PICKLE)) != 0)
		return r;
	return 0;
}

/* The leading pickle that says how many records follow. */
static int
tw_count(struct torch_walk *tw, size_t min_record, uint64_t *count)
{
	struct pal_arc_pickle_info info;
	size_t at = tw->c.off;
	uint32_t max = pal_scan_limits(tw->s)->max_members;
	int r;

	if ((r = tw_pickle(tw, &info)) != 0)
		return r;
	if (info.ints != 1 || info.others != 0 || info.last_int < 0)
		return tw_fail(tw, PAL_ERR_FORMAT, at,
		    "the record count is not a pickled non-negative int");
	if ((uint64_t)info.last_int > pal_cur_left(&tw->c) / min_record)
		return tw_fail(tw, PAL_ERR_FORMAT, at,
		    "more records counted than bytes could hold");
	if ((uint64_t)info.last_int > max) {
		if (pal_scan_find(tw->s, tw->parent, "scan.limit", tw->member,
		    "%lld records (limit %u); not scanned",
		    (long long)info.last_int, max) != 0)
			return PAL_ERR_NOMEM;
		return tw_fail(tw, PAL_ERR_LIMIT, at, "too many records");
	}
	*count = (uint64_t)info.last_int;
	return 0;
}

static int
tw_skip(struct torch_walk *tw, uint64_t n, size_t at, const char *what)
{
	if (n > pal_cur_left(&tw->c) || pal_cur_skip(&tw->c, (size_t)n) != 0)
		return tw_fail(tw, PAL_ERR_TRUNCATED, at, what);
	return 0;
}

static int
tw_trailing(struct torch_walk *tw)
{
	size_t left = pal_cur_left(&tw->c);
	char loc[64];

	if (left == 0)
		return 0;
	snprintf(loc, sizeof(loc), "%s, offset %zu", tw->member, tw->c.off);
	return pal_scan_find(tw->s, tw->parent, "archive.trailing-data", loc,
	    "%zu bytes follow the last record of '%s'; torch.load does not "
	    "read them", left, tw->member);
}

/* One storage record: (key, location, type), numel, the raw elements. */
static int
storage_record(struct torch_walk *tw)
{
	struct pal_arc_pickle_info info;
	size_t at = tw->c.off, esz;
	uint64_t numel;
	int r;

	if ((r = tw_pickle(tw, &info)) != 0)
		return r;
	if ((esz = storage_elsize(&info)) == 0)
		return tw_fail(tw, PAL_ERR_UNSUPPORTED, at,
		    "the storage pickle does not name exactly one known torch "
		    "storage type without calls, so its data cannot be "
		    "delimited");
	at = tw->c.off;
	if (pal_cur_u64le(&tw->c, &numel) != 0)
		return tw_fail(tw, PAL_ERR_TRUNCATED, at, "element count");
	if (numel > UINT64_MAX / esz)
		return tw_fail(tw, PAL_ERR_FORMAT, at, "element count overflows");
	return tw_skip(tw, numel * esz, at, "storage data truncated");
}

int
pal_arc_torch_storages(struct pal_scan *s, const struct pal_scan_item *parent,
    const uint8_t *d, size_t n)
{
	struct torch_walk tw = { s, parent, "storages", { 0 } };
	struct pal_arc_pickle_info info;
	uint64_t count, i;
	int r;

	pal_cur_init(&tw.c, d, n);
	/* A record is at least a 4-byte pickle and an 8-byte count. */
	if ((r = tw_count(&tw, 12, &count)) != 0)
		return r;
	for (i = 0; i < count; i++)
		if ((r = storage_record(&tw)) != 0)
			return r;
	if ((r = tw_pickle(&tw, &info)) != 0)	/* storage views */
		return r;
	return tw_trailing(&tw);
}

/* One tensor record: (key, storage id, type), then its geometry. */
static int
tensor_record(struct torch_walk *tw)
{
	struct pal_arc_pickle_info info;
	uint32_t ndim;
	size_t at;
	int r;

	if ((r = tw_pickle(tw, &info)) != 0)
		return r;
	at = tw->c.off;
	if (pal_cur_u32le(&tw->c, &ndim) != 0)
		return tw_fail(tw, PAL_ERR_TRUNCATED, at, "ndim");
	if (ndim > INT32_MAX)
		return tw_fail(tw, PAL_ERR_FORMAT, at, "negative ndim");
	/* 4 unused bytes, sizes and strides, the storage offset. */
	return tw_skip(tw, 4 + (uint64_t)ndim * 16 + 8, at,
	    "tensor geometry truncated");
}

int
pal_arc_torch_tensors(struct pal_scan *s, const struct pal_scan_item *parent,
    const uint8_t *d, size_t n)
{
	struct torch_walk tw = { s, parent, "tensors", { 0 } };
	uint64_t count, i;
	int r;

	pal_cur_init(&tw.c, d, n);
	/* A record is at least a 4-byte pickle and 16 bytes of geometry. */
	if ((r = tw_count(&tw, 20, &count)) != 0)
		return r;
	for (i = 0; i < count; i++)
		if ((r = tensor_record(&tw)) != 0)
			return r;
	return tw_trailing(&tw);
}
