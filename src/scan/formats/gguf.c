/*
 * gguf.c - GGUF files (the llama.cpp model format), versions 1, 2 and 3,
 * in either byte order.
 *
 * A GGUF file is a header (magic, version, tensor count, key/value
 * count), typed metadata key/values (scalars, strings, arrays, arrays of
 * arrays), tensor infos (name, dimensions, ggml type, offset), padding to
 * the alignment, and the tensor data.  Weights cannot run, but one
 * metadata value is code: tokenizer.chat_template (and its named
 * variants, tokenizer.chat_template.NAME) is a Jinja template that
 * llama.cpp's server, llama-cpp-python and transformers-style stacks
 * render; a template that escapes Jinja's sandbox runs Python on the
 * serving host.  So every template is handed to the Jinja check, and the
 * rest of the file is held to the rules llama.cpp's gguf reader enforces,
 * with findings where bytes belong to nothing (where a payload hides) or
 * where readers disagree (duplicate keys).
 *
 * Counts in the file are never trusted: each is checked against the bytes
 * left before anything is read, arrays of names grow only as names are
 * actually parsed, and strings are viewed in place, never copied.
 * docs/formats/gguf.md has the rules and the reasons.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/buf.h"
#include "palisade/cursor.h"
#include "palisade/text.h"
#include "scan_int.h"

#define GGUF_MAGIC		"GGUF"
#define GGUF_DEFAULT_ALIGNMENT	32
/* Nesting of arrays of arrays; the spec allows it, writers use one level. */
#define GGUF_MAX_NEST		8
/* llama.cpp's GGUF_MAX_STRING_LENGTH. */
#define GGUF_MAX_STRING		((uint64_t)1 << 30)
/* The spec: keys are at most 65535 bytes. */
#define GGUF_MAX_KEY		65535
#define GGUF_MAX_KV		((uint64_t)1 << 20)
#define GGUF_MAX_TENSORS	((uint64_t)1 << 20)
/* ggml's GGML_MAX_DIMS and GGML_MAX_NAME (names are < 64 bytes). */
#define GGML_MAX_DIMS		4
#define GGML_MAX_NAME		64
/* Characters of a name quoted in a message. */
#define GGUF_QUOTE_MAX		80
#define QUOTE_SZ		(GGUF_QUOTE_MAX * 4 + 8)

const struct pal_rule pal_rules_gguf[] = {
	{ "gguf.unreferenced-data", PAL_SEV_MEDIUM,
	  "Non-zero bytes in padding or between tensors belong to no tensor; "
	  "loaders never read them, which makes them a place to hide a "
	  "payload." },
	{ "gguf.trailing-data", PAL_SEV_MEDIUM,
	  "Non-zero bytes follow the last tensor's data; a second file "
	  "appended to a model makes a polyglot." },
	{ "gguf.duplicate-key", PAL_SEV_MEDIUM,
	  "A metadata key appears twice; llama.cpp refuses the file while "
	  "gguf-py keeps the first value, so readers see different models." },
	{ NULL, 0, NULL },
};

enum {
	T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR,
	T_U64, T_I64, T_F64, T_COUNT
};

/* Bytes of each scalar value type; 0 for strings and arrays. */
static const uint8_t value_size[T_COUNT] = {
	1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8,
};

/* ggml tensor types: elements per block and bytes per block. */
struct ggml_type {
	const char *name;
	uint32_t blck;
	uint32_t size;
};

/*
 * ggml.h's enum ggml_type with ggml's block sizes.  Ids 4 and 5 (Q4_2,
 * Q4_3), 31-33 and 36-38 (repacked types) were removed from GGUF files and
 * stay unknown here, as they do in llama.cpp.  Q8_1 is ggml's 36-byte
 * block (gguf-py's table still says 40).
 */
static const struct ggml_type ggml_types[] = {
	[0] = { "F32", 1, 4 },		[1] = { "F16", 1, 2 },
	[2] = { "Q4_0", 32, 18 },	[3] = { "Q4_1", 32, 20 },
	[6] = { "Q5_0", 32, 22 },	[7] = { "Q5_1", 32, 24 },
	[8] = { "Q8_0", 32, 34 },	[9] = { "Q8_1", 32, 36 },
	[10] = { "Q2_K", 256, 84 },	[11] = { "Q3_K", 256, 110 },
	[12] = { "Q4_K", 256, 144 },	[13] = { "Q5_K", 256, 176 },
	[14] = { "Q6_K", 256, 210 },	[15] = { "Q8_K", 256, 292 },
	[16] = { "IQ2_XXS", 256, 66 },	[17] = { "IQ2_XS", 256, 74 },
	[18] = { "IQ3_XXS", 256, 98 },	[19] = { "IQ1_S", 256, 50 },
	[20] = { "IQ4_NL", 32, 18 },	[21] = { "IQ3_S", 256, 110 },
	[22] = { "IQ2_S", 256, 82 },	[23] = { "IQ4_XS", 256, 136 },
	[24] = { "I8", 1, 1 },		[25] = { "I16", 1, 2 },
	[26] = { "I32", 1, 4 },		[27] = { "I64", 1, 8 },
	[28] = { "F64", 1, 8 },		[29] = { "IQ1_M", 256, 56 },
	[30] = { "BF16", 1, 2 },	[34] = { "TQ1_0", 256, 54 },
	[35] = { "TQ2_0", 256, 66 },	[39] = { "MXFP4", 32, 17 },
	[40] = { "NVFP4", 64, 36 },	[41] = { "Q1_0", 128, 18 },
};

#define NGGML_TYPES (sizeof(ggml_types) / sizeof(ggml_types[0]))

/* A name viewed in place in the file. */
struct span {
	const uint8_t *p;
	size_t n;
	size_t off;		/* file offset of its length field */
};

struct tensor {
	struct span name;
	uint64_t offset;	/* from the start of the data section */
	uint64_t size;
};

struct gguf {
	struct pal_scan *s;
	const struct pal_scan_item *it;
	struct pal_cur c;
	int be;			/* big-endian file */
	uint32_t version;
	uint64_t alignment;
	struct span *keys;
	size_t nkeys, capkeys;
	struct tensor *t;
	size_t nt, capt;
	struct pal_err deferred;	/* a template check that failed */
};

/* An escaped, shortened copy of a name, for messages. */
static void
quote(const struct span *sp, char *out, size_t outsz)
{
	size_t n = sp->n < GGUF_QUOTE_MAX ? sp->n : GGUF_QUOTE_MAX;
	struct pal_buf b;

	pal_buf_init(&b, outsz > 4 ? outsz - 4 : 0);
	if (pal_text_escape(&b, (const char *)sp->p, n) == 0)
		snprintf(out, outsz, "%s%s", b.p != NULL ?
		    (const char *)b.p : "", sp->n > n ? "..." : "");
	else
		snprintf(out, outsz, "...");
	pal_buf_free(&b);
}

static int
truncated(struct gguf *g, const char *what)
{
	return pal_err_set(&g->s->err, PAL_ERR_TRUNCATED,
	    "gguf: file ends in %s at offset %zu", what, g->c.off);
}

static int
rd_u32(struct gguf *g, uint32_t *v)
{
	return g->be ? pal_cur_u32be(&g->c, v) : pal_cur_u32le(&g->c, v);
}

static int
rd_u64(struct gguf *g, uint64_t *v)
{
	return g->be ? pal_cur_u64be(&g->c, v) : pal_cur_u64le(&g->c, v);
}

/* Counts and lengths: 32 bits in version 1, 64 bits since. */
static int
rd_size(struct gguf *g, uint64_t *v)
{
	uint32_t x;
	int r;

	if (g->version >= 2)
		return rd_u64(g, v);
	if ((r = rd_u32(g, &x)) == 0)
		*v = x;
	return r;
}

static size_t
size_width(const struct gguf *g)
{
	return g->version >= 2 ? 8 : 4;
}

/* A length-prefixed string: in bounds, capped, UTF-8 as the spec says. */
static int
rd_str(struct gguf *g, const char *what, struct span *sp)
{
	uint64_t n;

	sp->off = g->c.off;
	if (rd_size(g, &n) != 0)
		return truncated(g, what);
	if (n > GGUF_MAX_STRING)
		return pal_err_set(&g->s->err, PAL_ERR_LIMIT,
		    "gguf: %s at offset %zu is %llu bytes, more than %llu",
		    what, sp->off, (unsigned long long)n,
		    (unsigned long long)GGUF_MAX_STRING);
	if (n > pal_cur_left(&g->c))
		return pal_err_set(&g->s->err, PAL_ERR_TRUNCATED,
		    "gguf: %s at offset %zu is %llu bytes; only %zu remain",
		    what, sp->off, (unsigned long long)n, pal_cur_left(&g->c));
	sp->n = (size_t)n;
	(void)pal_cur_bytes(&g->c, sp->n, &sp->p);
	if (!pal_utf8_valid((const char *)sp->p, sp->n))
		return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
		    "gguf: %s at offset %zu is not valid UTF-8", what, sp->off);
	return 0;
}

/* Appends to an array that grows only as items are parsed, under a cap. */
static int
grow(void **arr, size_t *cap, size_t n, size_t elem, uint64_t max)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	if (n >= max)
		return PAL_ERR_LIMIT;
	ncap = *cap ? *cap * 2 : 64;
	if (ncap > max)
		ncap = (size_t)max;
	if ((p = realloc(*arr, ncap * elem)) == NULL)
		return PAL_ERR_NOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int read_value(struct gguf *g, uint32_t type, unsigned depth,
    const char *kq);

/*
 * An array: element type, count, elements.  The count is checked against
 * the bytes left (every element takes at least some) before the first
 * element is read, so a count of 2^60 fails at once.
 */
static int
read_array(struct gguf *g, unsigned depth, const char *kq)
{
	uint64_t n, min, i;
	uint32_t et;
	size_t off = g->c.off;
	int r;

	if (rd_u32(g, &et) != 0 || rd_size(g, &n) != 0)
		return truncated(g, "an array header");
	if (et >= T_COUNT)
		return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
		    "gguf: key '%s': array at offset %zu has unknown element "
		    "type %u", kq, off, et);
	if (et == T_ARR && depth + 1 >= GGUF_MAX_NEST)
		return pal_err_set(&g->s->err, PAL_ERR_LIMIT,
		    "gguf: key '%s': arrays nested deeper than %d at offset "
		    "%zu", kq, GGUF_MAX_NEST, off);
	min = et == T_ARR ? 4 + size_width(g) : et == T_STR ? size_width(g) :
	    value_size[et];
	if (n > pal_cur_left(&g->c) / min)
		return pal_err_set(&g->s->err, PAL_ERR_TRUNCATED,
		    "gguf: key '%s': array of %llu elements at offset %zu "
		    "needs at least %llu bytes; only %zu remain", kq,
		    (unsigned long long)n, off,
		    (unsigned long long)(n > UINT64_MAX / min ? UINT64_MAX :
		    n * min), pal_cur_left(&g->c));
	/* Numbers are skipped whole; booleans and strings are checked. */
	if (et != T_ARR && et != T_STR && et != T_BOOL)
		return pal_cur_skip(&g->c, (size_t)(n * min)) == 0 ? 0 :
		    truncated(g, "an array");
	for (i = 0; i < n; i++)
		if ((r = read_value(g, et, depth + 1, kq)) != 0)
			return r;
	return 0;
}

static int
read_value(struct gguf *g, uint32_t type, unsigned depth, const char *kq)
{
	struct span sp;
	size_t off = g->c.off;
	uint8_t b;

	switch (type) {
	case T_STR:
		return rd_str(g, "a string value", &sp);
	case T_ARR:
		return read_array(g, depth, kq);
	case T_BOOL:
		if (pal_cur_u8(&g->c, &b) != 0)
			return truncated(g, "a bool value");
		if (b > 1)
			return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
			    "gguf: key '%s': bool at offset %zu is %u, not 0 "
			    "or 1", kq, off, b);
		return 0;
	default:
		if (type >= T_COUNT)
			return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
			    "gguf: key '%s' at offset %zu has unknown type %u",
			    kq, off, type);
		if (pal_cur_skip(&g->c, value_size[type]) != 0)
			return truncated(g, "a value");
		return 0;
	}
}

static int
span_is(const struct span *sp, const char *s)
{
	return sp->n == strlen(s) && memcmp(sp->p, s, sp->n) == 0;
}

/* tokenizer.chat_template and tokenizer.chat_template.NAME. */
static int
is_template_key(const struct span *k)
{
	static const char base[] = "tokenizer.chat_template";
	size_t n = sizeof(base) - 1;

	return span_is(k, base) || (k->n > n + 1 &&
	    memcmp(k->p, base, n) == 0 && k->p[n] == '.');
}

/*
 * Hands a template to the Jinja check, whose findings are the file's.  A
 * template the check could not finish (a syntax error, a limit) means the
 * file cannot be vouched for: that error is kept and returned once the
 * rest of the file has been scanned, so that nothing after the template
 * goes unchecked.
 */
static int
check_template(struct gguf *g, const char *kq, const struct span *tmpl)
{
	int r;

	r = pal_jinja_check(g->s, g->it, kq, (const char *)tmpl->p, tmpl->n);
	if (r == 0 || r == PAL_ERR_NOMEM)
		return r;
	if (g->deferred.code == 0) {
		if (g->s->err.code != 0)
			g->deferred = g->s->err;
		else
			(void)pal_err_set(&g->deferred, r, "%s",
			    pal_strerror(r));
		(void)pal_err_wrap(&g->deferred, r, "gguf: key '%s': ", kq);
		g->deferred.code = r;
	}
	pal_err_clear(&g->s->err);
	return 0;
}

/* general.alignment: a u32, a power of two, as llama.cpp requires. */
static int
read_alignment(struct gguf *g, uint32_t type)
{
	size_t off = g->c.off;
	uint32_t a;

	if (type != T_U32)
		return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
		    "gguf: general.alignment at offset %zu is of type %u, not "
		    "u32", off, type);
	if (rd_u32(g, &a) != 0)
		return truncated(g, "general.alignment");
	if (a == 0 || (a & (a - 1)) != 0)
		return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
		    "gguf: general.alignment at offset %zu is %u, not a power "
		    "of two", off, a);
	g->alignment = a;
	return 0;
}

/* One metadata key/value pair. */
static int
read_kv(struct gguf *g, uint64_t i)
{
	char kq[QUOTE_SZ];
	struct span key, tmpl;
	uint32_t type;
	int r;

	if ((r = rd_str(g, "a metadata key", &key)) != 0)
		return r;
	quote(&key, kq, sizeof(kq));
	if (key.n == 0 || key.n > GGUF_MAX_KEY ||
	    memchr(key.p, '\0', key.n) != NULL)
		return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
		    "gguf: key %llu at offset %zu is empty, longer than %d "
		    "bytes or holds a NUL ('%s')", (unsigned long long)i,
		    key.off, GGUF_MAX_KEY, kq);
	if ((r = grow((void **)&g->keys, &g->capkeys, g->nkeys,
	    sizeof(*g->keys), GGUF_MAX_KV)) != 0)
		return r;
	g->keys[g->nkeys++] = key;
	if (rd_u32(g, &type) != 0)
		return truncated(g, "a value type");
	if (span_is(&key, "general.alignment"))
		return read_alignment(g, type);
	if (!is_template_key(&key))
		return read_value(g, type, 0, kq);
	if (type != T_STR)
		return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
		    "gguf: key '%s' at offset %zu is of type %u, not a string",
		    kq, key.off, type);
	if ((r = rd_str(g, "a chat template", &tmpl)) != 0)
		return r;
	return check_template(g, kq, &tmpl);
}

/*
 * Bytes of a tensor as ggml_nbytes counts them: the dimensions must be
 * non-negative int64s whose product fits (llama.cpp's checks), the first
 * a whole number of blocks.
 */
static int
tensor_size(struct gguf *g, const char *nq, const uint64_t *ne, uint32_t nd,
    const struct ggml_type *gt, uint64_t *size)
{
	uint64_t n = 1;
	uint32_t j;

	for (j = 0; j < nd; j++) {
		if (ne[j] > INT64_MAX)
			return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
			    "gguf: tensor '%s': dimension %u is %llu", nq, j,
			    (unsigned long long)ne[j]);
		if (__builtin_mul_overflow(n, ne[j], &n) || n > INT64_MAX)
			return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
			    "gguf: tensor '%s': element count overflows int64",
			    nq);
	}
	if (nd > 0 && ne[0] % gt->blck != 0)
		return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
		    "gguf: tensor '%s': %llu elements per row is not a "
		    "multiple of %s's block of %u", nq,
		    (unsigned long long)ne[0], gt->name, gt->blck);
	if (nd == 0 && gt->blck != 1)
		return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
		    "gguf: tensor '%s': a scalar cannot be %s", nq, gt->name);
	if (__builtin_mul_overflow(n / gt->blck, (uint64_t)gt->size, size))
		return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
		    "gguf: tensor '%s': size in bytes overflows", nq);
	return 0;
}

/* One tensor info: name, dimensions, type, offset. */
static int
read_tensor(struct gguf *g)
{
	uint64_t ne[GGML_MAX_DIMS];
	const struct ggml_type *gt;
	struct tensor t;
	char nq[QUOTE_SZ];
	uint32_t nd, type, j;
	int r;

	memset(&t, 0, sizeof(t));
	if ((r = rd_str(g, "a tensor name", &t.name)) != 0)
		return r;
	quote(&t.name, nq, sizeof(nq));
	if (t.name.n >= GGML_MAX_NAME || memchr(t.name.p, '\0', t.name.n))
		return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
		    "gguf: tensor name '%s' at offset %zu is %zu bytes or "
		    "holds a NUL (ggml's limit is %d)", nq, t.name.off,
		    t.name.n, GGML_MAX_NAME - 1);
	if (rd_u32(g, &nd) != 0)
		return truncated(g, "a tensor's dimension count");
	if (nd > GGML_MAX_DIMS)
		return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
		    "gguf: tensor '%s' has %u dimensions; ggml allows %d", nq,
		    nd, GGML_MAX_DIMS);
	for (j = 0; j < nd; j++)
		if (rd_size(g, &ne[j]) != 0)
			return truncated(g, "a tensor's dimensions");
	if (rd_u32(g, &type) != 0 || rd_u64(g, &t.offset) != 0)
		return truncated(g, "a tensor's type and offset");
	if (type >= NGGML_TYPES || ggml_types[type].blck == 0)
		return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
		    "gguf: tensor '%s' has unknown ggml type %u", nq, type);
	gt = &ggml_types[type];
	if ((r = tensor_size(g, nq, ne, nd, gt, &t.size)) != 0)
		return r;
	if ((r = grow((void **)&g->t, &g->capt, g->nt, sizeof(*g->t),
	    GGUF_MAX_TENSORS)) != 0)
		return r;
	g->t[g->nt++] = t;
	return 0;
}

/* Magic, version (and so byte order), and the two counts. */
static int
read_header(struct gguf *g, uint64_t *ntensors, uint64_t *nkv)
{
	const uint8_t *magic;
	uint32_t v;

	if (pal_cur_bytes(&g->c, 4, &magic) != 0 ||
	    pal_cur_u32le(&g->c, &v) != 0)
		return truncated(g, "the header");
	if (memcmp(magic, GGUF_MAGIC, 4) != 0)
		return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
		    "gguf: bad magic at offset 0");
	/* A big-endian file's version reads as 0x0N000000 here. */
	if (v > 3 && __builtin_bswap32(v) >= 1 && __builtin_bswap32(v) <= 3) {
		g->be = 1;
		v = __builtin_bswap32(v);
	}
	if (v < 1 || v > 3)
		return pal_err_set(&g->s->err, PAL_ERR_UNSUPPORTED,
		    "gguf: version %u at offset 4 (versions 1 to 3 exist)", v);
	g->version = v;
	if (rd_size(g, ntensors) != 0 || rd_size(g, nkv) != 0)
		return truncated(g, "the header");
	return 0;
}

/*
 * A count against the bytes left: each item takes at least min bytes, so
 * a count the file cannot hold fails before the first item is read.
 */
static int
check_count(struct gguf *g, uint64_t n, uint64_t min, uint64_t max,
    const char *what)
{
	if (n > pal_cur_left(&g->c) / min)
		return pal_err_set(&g->s->err, PAL_ERR_TRUNCATED,
		    "gguf: %llu %s need at least %llu bytes; only %zu remain "
		    "at offset %zu", (unsigned long long)n, what,
		    (unsigned long long)(n > UINT64_MAX / min ? UINT64_MAX :
		    n * min), pal_cur_left(&g->c), g->c.off);
	if (n > max)
		return pal_err_set(&g->s->err, PAL_ERR_LIMIT,
		    "gguf: %llu %s, more than %llu", (unsigned long long)n,
		    what, (unsigned long long)max);
	return 0;
}

static int
cmp_span(const struct span *a, const struct span *b)
{
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	return memcmp(a->p, b->p, a->n);
}

static int
cmp_key(const void *a, const void *b)
{
	return cmp_span(a, b);
}

static int
cmp_tensor_name(const void *a, const void *b)
{
	const struct tensor *x = a, *y = b;

	return cmp_span(&x->name, &y->name);
}

static int
cmp_tensor_offset(const void *a, const void *b)
{
	const struct tensor *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return 0;
}

/* Every key that appears more than once is a finding. */
static int
check_duplicate_keys(struct gguf *g)
{
	char kq[QUOTE_SZ];
	size_t i;
	int r;

	if (g->nkeys < 2)
		return 0;
	qsort(g->keys, g->nkeys, sizeof(*g->keys), cmp_key);
	for (i = 1; i < g->nkeys; i++) {
		if (cmp_span(&g->keys[i - 1], &g->keys[i]) != 0)
			continue;
		quote(&g->keys[i], kq, sizeof(kq));
		if ((r = pal_scan_find_at(g->s, g->it, "gguf.duplicate-key",
		    g->keys[i].off, "key '%s' appears again (also at offset "
		    "%zu)", kq, g->keys[i - 1].off)) != 0)
			return r;
	}
	return 0;
}

/* llama.cpp refuses two tensors of one name. */
static int
check_duplicate_tensors(struct gguf *g)
{
	char nq[QUOTE_SZ];
	size_t i;

	if (g->nt < 2)
		return 0;
	qsort(g->t, g->nt, sizeof(*g->t), cmp_tensor_name);
	for (i = 1; i < g->nt; i++) {
		if (cmp_span(&g->t[i - 1].name, &g->t[i].name) != 0)
			continue;
		quote(&g->t[i].name, nq, sizeof(nq));
		return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
		    "gguf: two tensors are named '%s' (offsets %zu and %zu)",
		    nq, g->t[i - 1].name.off, g->t[i].name.off);
	}
	return 0;
}

/*
 * Offset of the first non-zero byte in the file range [from, to), or to.
 * Padding is written as zeros; anything else there is data no tensor
 * owns.
 */
static size_t
first_nonzero(struct gguf *g, size_t from, size_t to)
{
	const uint8_t *p;
	size_t i;

	if (from >= to || pal_cur_seek(&g->c, from) != 0 ||
	    pal_cur_bytes(&g->c, to - from, &p) != 0)
		return to;
	for (i = 0; i < to - from; i++)
		if (p[i] != 0)
			return from + i;
	return to;
}

/* Reports non-zero bytes in [from, to) of the file, if there are any. */
static int
check_padding(struct gguf *g, size_t from, size_t to, const char *where)
{
	size_t nz = first_nonzero(g, from, to);

	if (nz == to)
		return 0;
	return pal_scan_find_at(g->s, g->it, "gguf.unreferenced-data", nz,
	    "%zu bytes %s hold non-zero data at offset %zu", to - from, where,
	    nz);
}

/* Non-zero bytes after the last tensor: reported, then scanned. */
static int
check_trailing(struct gguf *g, size_t from)
{
	size_t nz = first_nonzero(g, from, g->c.len);
	const uint8_t *p;
	int r;

	if (nz == g->c.len)
		return 0;
	if ((r = pal_scan_find_at(g->s, g->it, "gguf.trailing-data", nz,
	    "%zu bytes follow the last tensor's data", g->c.len - nz)) != 0)
		return r;
	(void)pal_cur_seek(&g->c, nz);
	(void)pal_cur_bytes(&g->c, g->c.len - nz, &p);
	return pal_scan_child(g->s, g->it, "<trailing data>", p,
	    g->c.len - nz, PAL_HINT_NONE);
}

/*
 * The data section starts at the first aligned offset after the tensor
 * infos.  Each tensor must be aligned, within the file and apart from the
 * others; the bytes between them must be zero padding.
 */
static int
check_layout(struct gguf *g)
{
	char qa[QUOTE_SZ], qb[QUOTE_SZ];
	uint64_t start, pos = 0, end, dlen;
	size_t i, infos_end = g->c.off;
	int r;

	if (g->nt == 0)
		return check_trailing(g, infos_end);
	start = ((uint64_t)infos_end + g->alignment - 1) / g->alignment *
	    g->alignment;
	if (start > g->c.len)
		return pal_err_set(&g->s->err, PAL_ERR_TRUNCATED,
		    "gguf: the data section would start at offset %llu, past "
		    "the end of the %zu-byte file", (unsigned long long)start,
		    g->c.len);
	if ((r = check_padding(g, infos_end, (size_t)start,
	    "of padding before the data section")) != 0)
		return r;
	dlen = g->c.len - start;
	qsort(g->t, g->nt, sizeof(*g->t), cmp_tensor_offset);
	for (i = 0; i < g->nt; i++) {
		const struct tensor *t = &g->t[i];

		quote(&t->name, qb, sizeof(qb));
		if (t->offset % g->alignment != 0)
			return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
			    "gguf: tensor '%s' offset %llu is not a multiple "
			    "of the alignment %llu", qb,
			    (unsigned long long)t->offset,
			    (unsigned long long)g->alignment);
		if (__builtin_add_overflow(t->offset, t->size, &end) ||
		    end > dlen)
			return pal_err_set(&g->s->err, PAL_ERR_TRUNCATED,
			    "gguf: tensor '%s' data [%llu, +%llu) runs past the "
			    "%llu-byte data section at offset %llu", qb,
			    (unsigned long long)t->offset,
			    (unsigned long long)t->size,
			    (unsigned long long)dlen,
			    (unsigned long long)start);
		if (t->offset < pos) {
			quote(&g->t[i - 1].name, qa, sizeof(qa));
			return pal_err_set(&g->s->err, PAL_ERR_FORMAT,
			    "gguf: tensor '%s' [%llu, %llu) overlaps tensor "
			    "'%s' [%llu, %llu)", qb,
			    (unsigned long long)t->offset,
			    (unsigned long long)end, qa,
			    (unsigned long long)g->t[i - 1].offset,
			    (unsigned long long)pos);
		}
		if ((r = check_padding(g, (size_t)(start + pos),
		    (size_t)(start + t->offset), "between tensors")) != 0)
			return r;
		pos = end;
	}
	return check_trailing(g, (size_t)(start + pos));
}

/* Everything after the header: metadata, tensor infos, layout. */
static int
read_body(struct gguf *g, uint64_t ntensors, uint64_t nkv)
{
	uint64_t i;
	size_t w = size_width(g);
	int r;

	/* A key/value takes a key length, one key byte, a type, a byte. */
	if ((r = check_count(g, nkv, w + 6, GGUF_MAX_KV,
	    "key/value pairs")) != 0)
		return r;
	for (i = 0; i < nkv; i++)
		if ((r = read_kv(g, i)) != 0)
			return r;
	/* A tensor info takes a name length, a dim count, type, offset. */
	if ((r = check_count(g, ntensors, w + 16, GGUF_MAX_TENSORS,
	    "tensor infos")) != 0)
		return r;
	for (i = 0; i < ntensors; i++)
		if ((r = read_tensor(g)) != 0)
			return r;
	if ((r = check_duplicate_keys(g)) != 0 ||
	    (r = check_layout(g)) != 0 ||
	    (r = check_duplicate_tensors(g)) != 0)
		return r;
	if (g->deferred.code != 0) {
		g->s->err = g->deferred;
		return g->deferred.code;
	}
	return 0;
}

int
pal_fmt_gguf(struct pal_scan *s, const struct pal_scan_item *it)
{
	uint64_t ntensors, nkv;
	struct gguf g;
	int r;

	memset(&g, 0, sizeof(g));
	g.s = s;
	g.it = it;
	g.alignment = GGUF_DEFAULT_ALIGNMENT;
	pal_cur_init(&g.c, it->data, it->len);
	if ((r = read_header(&g, &ntensors, &nkv)) == 0)
		r = read_body(&g, ntensors, nkv);
	if (r == PAL_ERR_LIMIT && s->err.code == 0)
		r = pal_err_set(&s->err, r, "gguf: more than %llu keys or "
		    "tensors", (unsigned long long)GGUF_MAX_KV);
	free(g.keys);
	free(g.t);
	return r;
}
