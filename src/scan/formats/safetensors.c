/*
 * safetensors.c - Hugging Face safetensors files.
 *
 * A safetensors file is an 8-byte little-endian header length N, N bytes
 * of JSON (an object mapping tensor names to {dtype, shape, data_offsets},
 * plus an optional "__metadata__" map of strings), and a data buffer.  It
 * cannot carry code, so the scanner's job is to hold the file to the rules
 * the reference reader (the safetensors Rust crate, which the Python
 * package wraps) enforces, and to report what those rules exist to stop:
 * bytes that belong to no tensor, where a second payload (a zip, a
 * pickle) is smuggled into a file that looks like weights; duplicate keys,
 * which different JSON readers resolve differently; and keys a loader
 * ignores.  Structural violations that make the file unloadable (bad
 * JSON, unknown dtype, offsets out of bounds or overlapping, a size that
 * does not match the shape) are errors.
 *
 * The header is parsed with Jansson after its length, UTF-8 and number of
 * JSON values are bounded; the data buffer is never read, except to hand
 * trailing bytes back to the scanner.  docs/formats/safetensors.md has the
 * rules and the reasons.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "palisade/buf.h"
#include "palisade/cursor.h"
#include "palisade/text.h"
#include "scan_int.h"

/* The Rust crate's MAX_HEADER_SIZE: a longer header is refused there. */
#define ST_HEADER_MAX	((uint64_t)100000000)
/*
 * JSON values in a header.  Jansson spends tens of bytes per value, so
 * the count, not the byte length, bounds memory; real headers hold about
 * ten values per tensor, and shards hold thousands of tensors, not
 * hundreds of thousands.
 */
#define ST_VALUES_MAX	((size_t)2 << 20)
/* Characters of a tensor name quoted in a message. */
#define ST_QUOTE_MAX	80

const struct pal_rule pal_rules_safetensors[] = {
	{ "safetensors.unreferenced-data", PAL_SEV_MEDIUM,
	  "Bytes between tensors belong to no tensor; readers that seek to "
	  "each tensor never see them, which makes them a place to smuggle "
	  "a payload." },
	{ "safetensors.trailing-data", PAL_SEV_MEDIUM,
	  "Bytes follow the last tensor's data; a second file (a zip, a "
	  "pickle) appended to weights makes a polyglot." },
	{ "safetensors.duplicate-key", PAL_SEV_MEDIUM,
	  "The header names a key twice; JSON readers disagree on which one "
	  "wins, so two loaders can see two different models." },
	{ "safetensors.unexpected-key", PAL_SEV_LOW,
	  "A tensor entry has keys besides dtype, shape and data_offsets; "
	  "loaders ignore them, which makes them a place to hide data." },
	{ NULL, 0, NULL },
};

/* The crate's dtypes and the bits one element takes. */
static const struct {
	const char *name;
	unsigned bits;
} dtypes[] = {
	{ "BOOL", 8 }, { "F4", 4 }, { "F6_E2M3", 6 }, { "F6_E3M2", 6 },
	{ "U8", 8 }, { "I8", 8 }, { "F8_E5M2", 8 }, { "F8_E4M3", 8 },
	{ "F8_E8M0", 8 }, { "I16", 16 }, { "U16", 16 }, { "F16", 16 },
	{ "BF16", 16 }, { "I32", 32 }, { "U32", 32 }, { "F32", 32 },
	{ "C64", 64 }, { "F64", 64 }, { "I64", 64 }, { "U64", 64 },
};

struct tensor {
	const char *name;	/* owned by the JSON document */
	uint64_t begin, end;	/* offsets in the data buffer */
};

/* The file being scanned. */
struct st {
	struct pal_scan *s;
	const struct pal_scan_item *it;
	uint64_t hlen;		/* header length N */
	uint64_t data_off;	/* file offset of the data buffer: 8 + N */
	uint64_t data_len;
	struct pal_cur data;	/* the data buffer */
	struct tensor *t;
	size_t nt;
};

/* An escaped, shortened copy of a name from the file, for messages. */
static void
quote(const char *name, char *out, size_t outsz)
{
	size_t n = strlen(name);
	struct pal_buf b;

	if (n > ST_QUOTE_MAX)
		n = ST_QUOTE_MAX;
	pal_buf_init(&b, outsz > 4 ? outsz - 4 : 0);
	if (pal_text_escape(&b, name, n) == 0)
		snprintf(out, outsz, "%s%s", b.p != NULL ?
		    (const char *)b.p : "", strlen(name) > n ? "..." : "");
	else
		snprintf(out, outsz, "...");
	pal_buf_free(&b);
}

#define QUOTE_SZ (ST_QUOTE_MAX * 4 + 8)

/*
 * Counts the JSON values in the header without building anything: one
 * more than the commas, plus the brackets, outside strings.  Stops
 * counting at the cap.
 */
static size_t
count_values(const uint8_t *p, size_t n)
{
	size_t i, count = 1;
	int in_str = 0;

	for (i = 0; i < n && count <= ST_VALUES_MAX; i++) {
		if (in_str) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				in_str = 0;
		} else if (p[i] == '"') {
			in_str = 1;
		} else if (p[i] == ',' || p[i] == '[' || p[i] == '{') {
			count++;
		}
	}
	return count;
}

/* Reads a JSON integer that must be a non-negative usize. */
static int
get_uint(json_t *v, uint64_t *out)
{
	json_int_t x;

	if (!json_is_integer(v) || (x = json_integer_value(v)) < 0)
		return -1;
	*out = (uint64_t)x;
	return 0;
}

/* "__metadata__": null, or an object whose values are all strings. */
static int
check_metadata(struct st *st, json_t *meta)
{
	const char *key;
	char q[QUOTE_SZ];
	json_t *v;

	if (json_is_null(meta))
		return 0;
	if (!json_is_object(meta))
		return pal_err_set(&st->s->err, PAL_ERR_FORMAT,
		    "safetensors: __metadata__ is not a map of strings");
	json_object_foreach(meta, key, v) {
		if (!json_is_string(v)) {
			quote(key, q, sizeof(q));
			return pal_err_set(&st->s->err, PAL_ERR_FORMAT,
			    "safetensors: __metadata__ value of '%s' is not a "
			    "string", q);
		}
	}
	return 0;
}

static int
dtype_bits(const char *name, unsigned *bits)
{
	size_t i;

	for (i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++) {
		if (strcmp(dtypes[i].name, name) == 0) {
			*bits = dtypes[i].bits;
			return 0;
		}
	}
	return -1;
}

/*
 * Bytes a tensor of this shape and dtype takes, as the crate's validate()
 * computes it: the element count and the bit count must not overflow, and
 * the bits must fill whole bytes.
 */
static int
tensor_bytes(struct st *st, const char *q, json_t *shape, unsigned bits,
    uint64_t *bytes)
{
	uint64_t n = 1, d, nbits;
	size_t i;
	json_t *v;

	json_array_foreach(shape, i, v) {
		if (get_uint(v, &d) != 0)
			return pal_err_set(&st->s->err, PAL_ERR_FORMAT,
			    "safetensors: tensor '%s': shape[%zu] is not a "
			    "non-negative integer", q, i);
		if (__builtin_mul_overflow(n, d, &n))
			return pal_err_set(&st->s->err, PAL_ERR_FORMAT,
			    "safetensors: tensor '%s': element count "
			    "overflows 64 bits", q);
	}
	if (__builtin_mul_overflow(n, (uint64_t)bits, &nbits))
		return pal_err_set(&st->s->err, PAL_ERR_FORMAT,
		    "safetensors: tensor '%s': size in bits overflows 64 bits",
		    q);
	if (nbits % 8 != 0)
		return pal_err_set(&st->s->err, PAL_ERR_FORMAT,
		    "safetensors: tensor '%s': %llu elements of %u bits do not "
		    "fill whole bytes", q, (unsigned long long)n, bits);
	*bytes = nbits / 8;
	return 0;
}

/* Reports each key of a tensor entry that is not one of the three. */
static int
check_keys(struct st *st, const char *q, json_t *info)
{
	char kq[QUOTE_SZ];
	const char *key;
	json_t *v;
	int r;

	json_object_foreach(info, key, v) {
		if (strcmp(key, "dtype") == 0 || strcmp(key, "shape") == 0 ||
		    strcmp(key, "data_offsets") == 0)
			continue;
		quote(key, kq, sizeof(kq));
		if ((r = pal_scan_find(st->s, st->it,
		    "safetensors.unexpected-key", NULL,
		    "tensor '%s' has the key '%s', which loaders ignore", q,
		    kq)) != 0)
			return r;
	}
	return 0;
}

/*
 * One tensor entry: its dtype known, its shape and offsets integers, its
 * offsets within the data buffer, and its size what dtype and shape say.
 */
static int
check_tensor(struct st *st, const char *name, json_t *info,
    struct tensor *t)
{
	json_t *dtype, *shape, *offs;
	uint64_t bytes = 0;
	char q[QUOTE_SZ], dq[QUOTE_SZ];
	unsigned bits;
	int r;

	quote(name, q, sizeof(q));
	if (!json_is_object(info))
		return pal_err_set(&st->s->err, PAL_ERR_FORMAT,
		    "safetensors: '%s' is not a tensor entry", q);
	dtype = json_object_get(info, "dtype");
	shape = json_object_get(info, "shape");
	offs = json_object_get(info, "data_offsets");
	if (!json_is_string(dtype) || !json_is_array(shape) ||
	    !json_is_array(offs))
		return pal_err_set(&st->s->err, PAL_ERR_FORMAT,
		    "safetensors: tensor '%s' lacks a string dtype, a shape "
		    "array or a data_offsets array", q);
	if (dtype_bits(json_string_value(dtype), &bits) != 0) {
		quote(json_string_value(dtype), dq, sizeof(dq));
		return pal_err_set(&st->s->err, PAL_ERR_FORMAT,
		    "safetensors: tensor '%s': unknown dtype '%s'", q, dq);
	}
	if (json_array_size(offs) != 2 ||
	    get_uint(json_array_get(offs, 0), &t->begin) != 0 ||
	    get_uint(json_array_get(offs, 1), &t->end) != 0)
		return pal_err_set(&st->s->err, PAL_ERR_FORMAT,
		    "safetensors: tensor '%s': data_offsets is not a pair of "
		    "non-negative integers", q);
	if ((r = tensor_bytes(st, q, shape, bits, &bytes)) != 0)
		return r;
	if (t->begin > t->end)
		return pal_err_set(&st->s->err, PAL_ERR_FORMAT,
		    "safetensors: tensor '%s': data_offsets [%llu, %llu] end "
		    "before they begin", q, (unsigned long long)t->begin,
		    (unsigned long long)t->end);
	if (t->end > st->data_len)
		return pal_err_set(&st->s->err, PAL_ERR_TRUNCATED,
		    "safetensors: tensor '%s': data_offsets [%llu, %llu] "
		    "beyond the %llu-byte data buffer", q,
		    (unsigned long long)t->begin, (unsigned long long)t->end,
		    (unsigned long long)st->data_len);
	if (t->end - t->begin != bytes)
		return pal_err_set(&st->s->err, PAL_ERR_FORMAT,
		    "safetensors: tensor '%s': dtype %s and shape make %llu "
		    "bytes, but data_offsets [%llu, %llu] span %llu", q,
		    json_string_value(dtype), (unsigned long long)bytes,
		    (unsigned long long)t->begin, (unsigned long long)t->end,
		    (unsigned long long)(t->end - t->begin));
	t->name = name;
	return check_keys(st, q, info);
}

static int
cmp_tensor(const void *a, const void *b)
{
	const struct tensor *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

/*
 * In offset order the tensors must tile the data buffer: no overlap (an
 * error, as the crate refuses it) and no gap (a finding: bytes no tensor
 * owns).  Bytes after the last tensor are reported and scanned.
 */
static int
check_layout(struct st *st)
{
	char qa[QUOTE_SZ], qb[QUOTE_SZ];
	const uint8_t *rest;
	uint64_t pos = 0;
	size_t i;
	int r;

	qsort(st->t, st->nt, sizeof(*st->t), cmp_tensor);
	for (i = 0; i < st->nt; i++) {
		const struct tensor *t = &st->t[i];

		if (t->begin < pos) {
			quote(st->t[i - 1].name, qa, sizeof(qa));
			quote(t->name, qb, sizeof(qb));
			return pal_err_set(&st->s->err, PAL_ERR_FORMAT,
			    "safetensors: tensor '%s' [%llu, %llu] overlaps "
			    "tensor '%s' [%llu, %llu]", qb,
			    (unsigned long long)t->begin,
			    (unsigned long long)t->end, qa,
			    (unsigned long long)st->t[i - 1].begin,
			    (unsigned long long)st->t[i - 1].end);
		}
		if (t->begin > pos) {
			quote(t->name, qb, sizeof(qb));
			if ((r = pal_scan_find_at(st->s, st->it,
			    "safetensors.unreferenced-data",
			    st->data_off + pos, "%llu bytes of the data buffer "
			    "[%llu, %llu) before tensor '%s' belong to no tensor",
			    (unsigned long long)(t->begin - pos),
			    (unsigned long long)pos,
			    (unsigned long long)t->begin, qb)) != 0)
				return r;
		}
		pos = t->end;
	}
	if (pos == st->data_len)
		return 0;
	if ((r = pal_scan_find_at(st->s, st->it, "safetensors.trailing-data",
	    st->data_off + pos, "%llu bytes follow the last tensor's data",
	    (unsigned long long)(st->data_len - pos))) != 0)
		return r;
	if (pal_cur_seek(&st->data, (size_t)pos) != 0 ||
	    pal_cur_bytes(&st->data, (size_t)(st->data_len - pos), &rest) != 0)
		return pal_err_set(&st->s->err, PAL_ERR_INVALID,
		    "safetensors: internal error seeking the data buffer");
	return pal_scan_child(st->s, st->it, "<trailing data>", rest,
	    (size_t)(st->data_len - pos), PAL_HINT_NONE);
}

/* Every key of the header: __metadata__ once, the rest tensors. */
static int
check_entries(struct st *st, json_t *root)
{
	const char *key;
	json_t *v;
	int r;

	if ((st->t = calloc(json_object_size(root) + 1,
	    sizeof(*st->t))) == NULL)
		return PAL_ERR_NOMEM;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "__metadata__") == 0) {
			if ((r = check_metadata(st, v)) != 0)
				return r;
			continue;
		}
		if ((r = check_tensor(st, key, v, &st->t[st->nt])) != 0)
			return r;
		st->nt++;
	}
	return check_layout(st);
}

/*
 * Jansson could not parse the header.  A duplicate key is a finding as
 * well as an error: the file means different things to different readers.
 */
static int
json_failed(struct st *st, const json_error_t *je)
{
	uint64_t off = 8 + (uint64_t)(je->position > 0 ? je->position : 0);
	int r;

	if (json_error_code(je) == json_error_duplicate_key &&
	    (r = pal_scan_find_at(st->s, st->it, "safetensors.duplicate-key",
	    off, "the header repeats a key (%s)", je->text)) != 0)
		return r;
	return pal_err_set(&st->s->err, PAL_ERR_FORMAT,
	    "safetensors: header JSON near offset %llu: %s",
	    (unsigned long long)off, je->text);
}

/* Length, UTF-8, shape and size of the header before Jansson sees it. */
static int
read_header(struct st *st, struct pal_cur *c, const uint8_t **hdr)
{
	struct pal_scan *s = st->s;

	if (pal_cur_u64le(c, &st->hlen) != 0)
		return pal_err_set(&s->err, PAL_ERR_TRUNCATED,
		    "safetensors: file of %zu bytes ends in the header length",
		    c->len);
	if (st->hlen > ST_HEADER_MAX)
		return pal_err_set(&s->err, PAL_ERR_LIMIT,
		    "safetensors: header length %llu at offset 0 exceeds %llu",
		    (unsigned long long)st->hlen,
		    (unsigned long long)ST_HEADER_MAX);
	if (pal_cur_bytes(c, (size_t)st->hlen, hdr) != 0)
		return pal_err_set(&s->err, PAL_ERR_TRUNCATED,
		    "safetensors: header length %llu at offset 0, but only "
		    "%zu bytes follow", (unsigned long long)st->hlen,
		    pal_cur_left(c));
	if (st->hlen == 0 || (*hdr)[0] != '{')
		return pal_err_set(&s->err, PAL_ERR_FORMAT,
		    "safetensors: header at offset 8 does not start with '{'");
	if (!pal_utf8_valid((const char *)*hdr, (size_t)st->hlen))
		return pal_err_set(&s->err, PAL_ERR_FORMAT,
		    "safetensors: header at offset 8 is not valid UTF-8");
	if (count_values(*hdr, (size_t)st->hlen) > ST_VALUES_MAX)
		return pal_err_set(&s->err, PAL_ERR_LIMIT,
		    "safetensors: header holds more than %zu JSON values",
		    ST_VALUES_MAX);
	st->data_off = 8 + st->hlen;
	st->data_len = pal_cur_left(c);
	return pal_cur_sub(c, pal_cur_left(c), &st->data);
}

int
pal_fmt_safetensors(struct pal_scan *s, const struct pal_scan_item *it)
{
	const uint8_t *hdr;
	json_error_t je;
	json_t *root = NULL;
	struct pal_cur c;
	struct st st;
	int r;

	memset(&st, 0, sizeof(st));
	st.s = s;
	st.it = it;
	pal_cur_init(&c, it->data, it->len);
	if ((r = read_header(&st, &c, &hdr)) != 0)
		goto out;
	/* Trailing whitespace is the spec's padding; Jansson allows it. */
	root = json_loadb((const char *)hdr, (size_t)st.hlen,
	    JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		r = json_failed(&st, &je);
		goto out;
	}
	if (!json_is_object(root)) {
		r = pal_err_set(&s->err, PAL_ERR_FORMAT,
		    "safetensors: header is not a JSON object");
		goto out;
	}
	r = check_entries(&st, root);
out:
	free(st.t);
	json_decref(root);
	return r;
}
