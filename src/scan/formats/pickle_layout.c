/*
 * pickle_layout.c - raw data that loaders read from the middle or the end
 * of a pickle stream, skipped exactly as they read it.
 *
 * joblib (joblib/numpy_pickle.py): NumpyPickler writes each array as a
 * NumpyArrayWrapper object and then, right after the wrapper's BUILD, the
 * array's bytes; NumpyUnpickler.load_build reads them back at that point.
 * The byte count comes from the wrapper's state: the product of 'shape'
 * times the item size of 'dtype' (a numpy.dtype call plus its BUILD
 * state).  joblib 1.2 and later (a 'numpy_array_alignment_bytes' entry
 * that is not None) first write one byte giving a padding length and that
 * many padding bytes.  Arrays of Python objects are written instead as a
 * complete nested pickle (pickle.dump, protocol 2), which is scanned here
 * as one: a plain pickle.load reads it, so no wrapper inside it is
 * special.
 *
 * PyTorch's legacy format (torch/serialization.py, _legacy_load): five
 * pickles (magic number, protocol version, system info, the object whose
 * persistent ids name storages, the list of storage keys), then for each
 * key in that list an int64 element count and count * element size bytes.
 * The element size is that of the storage class in the key's persistent
 * id ('storage', torch.FloatStorage, key, location, numel).
 */
#include <stdlib.h>
#include <string.h>

#include "pickle_int.h"

/* 0x1950a86a20f9469cfc6c, little-endian: torch's MAGIC_NUMBER. */
static const uint8_t torch_magic[10] = {
	0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19,
};

int
pal_pickle_int_value(struct pk_ctx *cx, const struct pk_val *v, int64_t *out)
{
	(void)cx;
	if (v->tag != PK_INT && v->tag != PK_BOOL)
		return -1;
	*out = v->u.i;
	return 0;
}

/* Magnitude of a text int literal as 16 little-endian bytes, if it fits. */
static int
text_magnitude(const uint8_t *p, size_t n, uint8_t mag[16], int *neg)
{
	unsigned base = 10, d, carry, k;
	size_t i = 0;

	memset(mag, 0, 16);
	*neg = 0;
	while (i < n && (p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r')))
		i++;
	if (i < n && (p[i] == '+' || p[i] == '-'))
		*neg = p[i++] == '-';
	if (n - i >= 2 && p[i] == '0') {
		uint8_t x = p[i + 1] | 0x20;

		base = x == 'x' ? 16 : x == 'o' ? 8 : x == 'b' ? 2 : 10;
		if (base != 10)
			i += 2;
	}
	for (; i < n; i++) {
		if (p[i] == '_')
			continue;
		if (p[i] >= '0' && p[i] <= '9')
			d = (unsigned)(p[i] - '0');
		else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f')
			d = (unsigned)((p[i] | 0x20) - 'a' + 10);
		else
			break;
		if (d >= base)
			break;
		for (carry = d, k = 0; k < 16; k++) {
			carry += mag[k] * base;
			mag[k] = (uint8_t)carry;
			carry >>= 8;
		}
		if (carry != 0)
			return -1;
	}
	return 0;
}

int
pal_pickle_is_torch_magic(struct pk_ctx *cx, const struct pk_val *v)
{
	const uint8_t *p;
	size_t n = (size_t)pk_span_len(v), i;
	uint8_t mag[16];
	int neg;

	if (v->tag != PK_BIGINT)
		return 0;
	p = cx->data + v->u.off;
	if (v->form == PK_F_LONGBIN) {
		/* Any length whose extra high bytes are zero is the same
		 * number to Python. */
		if (n < sizeof(torch_magic))
			return 0;
		for (i = sizeof(torch_magic); i < n; i++)
			if (p[i] != 0)
				return 0;
		return memcmp(p, torch_magic, sizeof(torch_magic)) == 0;
	}
	if (text_magnitude(p, n, mag, &neg) != 0 || neg)
		return 0;
	for (i = sizeof(torch_magic); i < 16; i++)
		if (mag[i] != 0)
			return 0;
	return memcmp(mag, torch_magic, sizeof(torch_magic)) == 0;
}

int
pal_pickle_dict_get(struct pk_vm *vm, const struct pk_val *dict,
    const char *key, struct pk_val *out)
{
	const struct pk_val *items;
	size_t n, i;
	int found = 0;

	if (dict->tag != PK_NODE || pal_pickle_node(vm, dict)->kind !=
	    PK_N_DICT)
		return -1;
	items = pal_pickle_items(vm, (uint32_t)dict->u.ref, &n);
	/* The dicts read here (joblib's wrapper state) have a few keys;
	 * a big one is refused rather than searched at every BUILD. */
	if (n > 64)
		return -1;
	/* The last of duplicate keys wins, as in a dict. */
	for (i = 0; i + 1 < n; i += 2)
		if (pal_pickle_str_eq(vm->cx, &items[i], key)) {
			*out = items[i + 1];
			found = 1;
		}
	if (!found && (pal_pickle_node(vm, dict)->flags & PK_NF_PARTIAL))
		return -1;
	return found;
}

static const struct pk_val *
seq_items(struct pk_vm *vm, const struct pk_val *v, size_t *n)
{
	struct pk_node *nd;

	if (v->tag != PK_NODE)
		return NULL;
	nd = pal_pickle_node(vm, v);
	if ((nd->kind != PK_N_TUPLE && nd->kind != PK_N_LIST) ||
	    (nd->flags & PK_NF_PARTIAL))
		return NULL;
	return pal_pickle_items(vm, v->u.ref, n);
}

/* numpy: multiply.reduce over int64 shape entries (overflow refused). */
static int
element_count(struct pk_vm *vm, const struct pk_val *shape, uint64_t *count)
{
	const struct pk_val *dims;
	size_t n, i;
	int64_t d;

	if ((dims = seq_items(vm, shape, &n)) == NULL)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "joblib array shape is not a tuple of ints");
	*count = 1;
	for (i = 0; i < n; i++) {
		if (pal_pickle_int_value(vm->cx, &dims[i], &d) != 0 || d < 0)
			return pal_pickle_fail(vm, PAL_ERR_FORMAT,
			    "joblib array dimension %zu is not a size", i);
		if (d != 0 && *count > (uint64_t)INT64_MAX / (uint64_t)d)
			return pal_pickle_fail(vm, PAL_ERR_FORMAT,
			    "joblib array shape overflows");
		*count *= (uint64_t)d;
	}
	return 0;
}

/* Item size and object-ness of a numpy.dtype object the pickle made. */
static int
dtype_info(struct pk_vm *vm, const struct pk_val *dt, uint64_t *itemsize,
    int *hasobject)
{
	const struct pk_val *args, *st;
	struct pk_node *nd;
	const char *p;
	size_t n, ns, i;
	int64_t x;

	if (dt->tag != PK_NODE || (nd = pal_pickle_node(vm, dt))->kind !=
	    PK_N_OBJECT || nd->cls == PK_NOREF || pal_pickle_gl(vm->cx,
	    nd->cls)->special != PK_S_DTYPE ||
	    (args = seq_items(vm, &nd->in[PK_OBJ_ARGS], &n)) == NULL ||
	    n < 1 || args[0].tag != PK_STR || pk_span_len(&args[0]) > 64 ||
	    pal_pickle_str(vm->cx, &args[0], 0, &p, &n) != 0 || n < 2)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "joblib array dtype is not a numpy.dtype of a type code");
	/* "f8", "i4", "b1", "O8", "U10" (characters), "S5", "V16" ... */
	for (*itemsize = 0, i = 1; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' || *itemsize > UINT32_MAX)
			return pal_pickle_fail(vm, PAL_ERR_FORMAT,
			    "joblib array dtype code is not a kind and size");
		*itemsize = *itemsize * 10 + (uint64_t)(p[i] - '0');
	}
	if (p[0] == 'U')
		*itemsize *= 4;
	*hasobject = p[0] == 'O';
	/* The state (version, order, subarray, names, fields, elsize,
	 * alignment, flags[, metadata]) sizes flexible types and says
	 * whether a structured type holds objects. */
	nd = pal_pickle_node(vm, dt);
	if ((st = seq_items(vm, &nd->in[PK_OBJ_STATE], &ns)) != NULL) {
		if (ns > 5 && pal_pickle_int_value(vm->cx, &st[5], &x) == 0 &&
		    x > 0)
			*itemsize = (uint64_t)x;
		if (ns > 7 && pal_pickle_int_value(vm->cx, &st[7], &x) == 0)
			*hasobject = (x & 1) != 0;
	}
	return 0;
}

/* The object array's nested pickle: run by a second machine. */
static int
nested_pickle(struct pk_vm *vm)
{
	struct pk_ctx *cx = vm->cx;
	int r;

	if (cx->nested == NULL) {
		if ((cx->nested = malloc(sizeof(*cx->nested))) == NULL)
			return pal_pickle_fail(vm, PAL_ERR_NOMEM,
			    "out of memory");
		pal_pickle_vm_init(cx->nested, cx, vm->cur.off, 0);
	} else {
		pal_pickle_vm_reset(cx->nested, vm->cur.off, 0);
	}
	if ((r = pal_pickle_run(cx->nested)) != 0)
		return r;
	return pal_cur_seek(&vm->cur, cx->nested->cur.off);
}

static int
skip(struct pk_vm *vm, uint64_t n, const char *what)
{
	if (n > pal_cur_left(&vm->cur))
		return pal_pickle_fail(vm, PAL_ERR_TRUNCATED,
		    "%s of %llu bytes, %zu left", what,
		    (unsigned long long)n, pal_cur_left(&vm->cur));
	return pal_cur_skip(&vm->cur, (size_t)n);
}

/* The bytes of one array, after the padding joblib >= 1.2 writes. */
static int
array_bytes(struct pk_vm *vm, const struct pk_val *state, uint64_t count,
    uint64_t itemsize)
{
	struct pk_val align;
	uint8_t pad;
	int r;

	if ((r = pal_pickle_dict_get(vm, state, "numpy_array_alignment_bytes",
	    &align)) < 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "joblib wrapper state cannot be read");
	if (r == 1 && align.tag != PK_NONE) {
		if (pal_cur_u8(&vm->cur, &pad) != 0)
			return pal_pickle_fail(vm, PAL_ERR_TRUNCATED,
			    "joblib array padding byte missing");
		if ((r = skip(vm, pad, "joblib array padding")) != 0)
			return r;
	}
	if (itemsize != 0 && count > UINT64_MAX / itemsize)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "joblib array size overflows");
	return skip(vm, count * itemsize, "joblib array data");
}

/* The wrapper on the stack becomes the array joblib reads. */
static int
replace_top(struct pk_vm *vm)
{
	struct pk_val arr;
	int r;

	if ((r = pal_pickle_node_new(vm, PK_N_OBJECT, &arr)) != 0)
		return r;
	pal_pickle_node(vm, &arr)->flags |= PK_NF_ARRAY;
	pal_pickle_node(vm, &arr)->how = OP_BUILD;
	pal_pickle_unref(vm, &vm->stack[vm->nstack - 1]);
	vm->stack[vm->nstack - 1] = arr;
	return 0;
}

int
pal_pickle_joblib_array(struct pk_vm *vm, uint32_t ref)
{
	struct pk_val state = vm->nodes[ref].in[PK_OBJ_STATE], shape, dtype;
	uint64_t count = 0, itemsize = 0;
	int hasobject = 0, r;

	if (pal_pickle_dict_get(vm, &state, "shape", &shape) != 1 ||
	    pal_pickle_dict_get(vm, &state, "dtype", &dtype) != 1)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "joblib array wrapper without shape and dtype");
	if ((r = element_count(vm, &shape, &count)) != 0 ||
	    (r = dtype_info(vm, &dtype, &itemsize, &hasobject)) != 0)
		return r;
	/* joblib ends the frame before the data; data inside a frame is
	 * read from elsewhere by the pure-Python unpickler joblib uses. */
	if (vm->frame_end > vm->cur.off)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "joblib array data inside a FRAME");
	vm->frame_end = 0;
	if (hasobject)
		r = nested_pickle(vm);
	else
		r = array_bytes(vm, &state, count, itemsize);
	if (r != 0)
		return r;
	return replace_top(vm);
}

/* PyTorch legacy. */

/* Records ('storage', type, key, location, numel) for the data after. */
static int
record_storage(struct pk_vm *vm, const struct pk_val *t, int64_t numel)
{
	struct pk_ctx *cx = vm->cx;
	struct pk_storage *st;
	const char *key;
	size_t klen;
	void *p;

	if (pk_span_len(&t[2]) > 1024)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "storage key longer than 1024 bytes");
	if (cx->nstor == cx->cap_stor) {
		size_t ncap = cx->cap_stor ? cx->cap_stor * 2 : 64;

		if (cx->nstor >= cx->max_memo)
			return pal_pickle_fail(vm, PAL_ERR_LIMIT,
			    "more than %u storages", cx->max_memo);
		if ((p = realloc(cx->stor, ncap * sizeof(*cx->stor))) == NULL)
			return pal_pickle_fail(vm, PAL_ERR_NOMEM,
			    "out of memory");
		cx->stor = p;
		cx->cap_stor = ncap;
	}
	if (pal_pickle_str(cx, &t[2], 0, &key, &klen) != 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "storage key cannot be decoded");
	st = &cx->stor[cx->nstor];
	st->key_len = (uint32_t)klen;
	st->numel = (uint64_t)numel;
	st->elsize = t[1].tag == PK_GLOBAL ?
	    pal_pickle_gl(cx, (uint32_t)t[1].u.ref)->elsize : 0;
	if (pal_pickle_keep_text(cx, key, klen, &st->key) != 0)
		return pal_pickle_fail(vm, PAL_ERR_LIMIT,
		    "decoded storage keys exceed %zu bytes", cx->names.max);
	cx->nstor++;
	return 0;
}

/*
 * persistent_load of _legacy_load: ('module', cls, ...) returns cls
 * itself; ('storage', ...) a storage whose data follows the pickles.
 */
int
pal_pickle_torch_persid(struct pk_vm *vm, const struct pk_val *pid,
    struct pk_val *out)
{
	struct pk_ctx *cx = vm->cx;
	const struct pk_val *t;
	size_t n;
	int64_t numel;
	int r;

	if (pid->tag != PK_NODE || pal_pickle_node(vm, pid)->kind !=
	    PK_N_TUPLE || (t = seq_items(vm, pid, &n)) == NULL || n < 2)
		return pal_pickle_node_new(vm, PK_N_PERSID, out);
	if (pal_pickle_str_eq(cx, &t[0], "module")) {
		pk_val_copy(out, &t[1]);
		pal_pickle_ref(vm, out);
		return 0;
	}
	if (n >= 5 && pal_pickle_str_eq(cx, &t[0], "storage") &&
	    t[2].tag == PK_STR &&
	    pal_pickle_int_value(cx, &t[4], &numel) == 0 && numel >= 0 &&
	    (r = record_storage(vm, t, numel)) != 0)
		return r;
	return pal_pickle_node_new(vm, PK_N_PERSID, out);
}

/* Storages resolved for lookup: sorted by key, then by first use. */
struct stor_ref {
	const char *key;
	size_t len;
	size_t idx;
};

static int
stor_cmp(const void *a, const void *b)
{
	const struct stor_ref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The first storage recorded under key, as torch keeps the first. */
static const struct pk_storage *
stor_find(struct pk_ctx *cx, const struct stor_ref *sorted, const char *key,
    size_t len)
{
	struct stor_ref want = { key, len, 0 };
	size_t lo = 0, hi = cx->nstor, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (stor_cmp(&sorted[mid], &want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == cx->nstor || sorted[lo].len != len ||
	    memcmp(sorted[lo].key, key, len) != 0)
		return NULL;
	return &cx->stor[sorted[lo].idx];
}

/* One storage's data: its int64 element count, then the elements. */
static int
one_storage(struct pk_vm *vm, const struct pk_storage *st, size_t i)
{
	const uint8_t *p;
	uint64_t numel = 0;
	int k;

	if (pal_cur_bytes(&vm->cur, 8, &p) != 0)
		return pal_pickle_fail(vm, PAL_ERR_TRUNCATED,
		    "PyTorch legacy storage %zu: size missing", i);
	for (k = 7; k >= 0; k--)
		numel = numel << 8 | p[k];
	if (numel != st->numel)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "PyTorch legacy storage %zu: %llu elements, its persistent "
		    "id says %llu", i, (unsigned long long)numel,
		    (unsigned long long)st->numel);
	if (st->elsize == 0)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "PyTorch legacy storage %zu: unknown storage type", i);
	if (numel > UINT64_MAX / st->elsize)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "PyTorch legacy storage %zu: size overflows", i);
	return skip(vm, numel * st->elsize, "PyTorch legacy storage");
}

int
pal_pickle_torch_storages(struct pk_vm *vm, const struct pk_val *keys)
{
	struct pk_ctx *cx = vm->cx;
	const struct pk_val *k;
	const struct pk_storage *st;
	struct stor_ref *sorted;
	const char *p;
	size_t n, i, len;
	int r = 0;

	if ((k = seq_items(vm, keys, &n)) == NULL || pal_pickle_node(vm,
	    keys)->kind != PK_N_LIST)
		return pal_pickle_fail(vm, PAL_ERR_FORMAT,
		    "PyTorch legacy storage keys are not a list");
	if ((sorted = calloc(cx->nstor + 1, sizeof(*sorted))) == NULL)
		return pal_pickle_fail(vm, PAL_ERR_NOMEM, "out of memory");
	for (i = 0; i < cx->nstor; i++) {
		sorted[i].key = pal_pickle_gl_text(cx, cx->stor[i].key);
		sorted[i].len = cx->stor[i].key_len;
		sorted[i].idx = i;
	}
	qsort(sorted, cx->nstor, sizeof(*sorted), stor_cmp);
	for (i = 0; i < n && r == 0; i++) {
		if (k[i].tag != PK_STR ||
		    pal_pickle_str(cx, &k[i], 0, &p, &len) != 0)
			r = pal_pickle_fail(vm, PAL_ERR_FORMAT,
			    "PyTorch legacy storage key %zu is not a str", i);
		else if ((st = stor_find(cx, sorted, p, len)) == NULL)
			r = pal_pickle_fail(vm, PAL_ERR_FORMAT,
			    "PyTorch legacy storage key %zu names no storage "
			    "of the object", i);
		else
			r = one_storage(vm, st, i);
	}
	free(sorted);
	return r;
}
