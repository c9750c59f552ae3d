/*
 * safetensors.c - the weights file's parser (safetensors.h).
 *
 * The header is JSON read by Jansson with duplicate keys refused.  The
 * hyperparameters come first, from __metadata__; they fix the set of
 * tensor names and every tensor's shape, and each header entry is checked
 * against that, never the other way round, so nothing is allocated or
 * indexed from a size the file declares without the file holding it.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "safetensors.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the weights are little-endian floats, copied as they are"
#endif

#define NAME_MAX_LEN 64

static const char *const layer_names[TL_LAYER_TENSORS] = {
	"attention_norm", "attention.wq", "attention.wk", "attention.wv",
	"attention.wo", "ffn_norm", "feed_forward.w1", "feed_forward.w2",
	"feed_forward.w3",
};

size_t
tl_st_index(uint32_t layer, enum tl_layer_tensor which)
{
	return 1 + (size_t)layer * TL_LAYER_TENSORS + (size_t)which;
}

size_t
tl_st_norm_index(const struct tl_config *cfg)
{
	return tl_st_index(cfg->n_layers, 0);
}

static size_t
tensor_count(const struct tl_config *cfg)
{
	return tl_st_norm_index(cfg) + 1;
}

/* Copies s for a message: at most 48 bytes, anything unprintable as '?'. */
static const char *
printable(const char *s, char out[NAME_MAX_LEN])
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < 48; i++)
		out[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (s[i] != '\0' && i + 3 < NAME_MAX_LEN) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/* --- hyperparameters ------------------------------------------------- */

static int
meta_string(json_t *meta, const char *key, const char **out,
	    struct tl_err *err)
{
	json_t *v = json_object_get(meta, key);

	if (v == NULL)
		return tl_fail(err, "__metadata__ has no \"%s\"", key);
	if (!json_is_string(v))
		return tl_fail(err, "__metadata__ \"%s\" is not a string", key);
	*out = json_string_value(v);
	return 0;
}

/* A whole number in canonical decimal (no sign, no leading zero). */
static int
meta_uint(json_t *meta, const char *key, uint32_t min, uint32_t max,
	  uint32_t *out, struct tl_err *err)
{
	char show[NAME_MAX_LEN];
	const char *s;
	uint64_t v = 0;
	size_t n;

	if (meta_string(meta, key, &s, err) != 0)
		return -1;
	n = strlen(s);
	if (n == 0 || n > 9 || (s[0] == '0' && n > 1))
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < min || v > max)
		goto bad;
	*out = (uint32_t)v;
	return 0;
bad:
	return tl_fail(err, "__metadata__ \"%s\" is \"%s\", want a whole "
		       "number from %u to %u", key, printable(s, show), min,
		       max);
}

/* A decimal number (digits, one point, an exponent) in [min, max]. */
static int
meta_float(json_t *meta, const char *key, double min, double max,
	   float *out, struct tl_err *err)
{
	char show[NAME_MAX_LEN];
	const char *s;
	char *end;
	double v;
	size_t n;

	if (meta_string(meta, key, &s, err) != 0)
		return -1;
	n = strlen(s);
	/* strtod would also take spaces, hex, "inf" and "nan". */
	if (n == 0 || n > 32 || strspn(s, "0123456789.eE+-") != n ||
	    !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		goto bad;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
		goto bad;
	*out = (float)v;
	return 0;
bad:
	return tl_fail(err, "__metadata__ \"%s\" is \"%s\", want a number "
		       "from %g to %g", key, printable(s, show), min, max);
}

static int
parse_config(json_t *root, struct tl_config *cfg, struct tl_err *err)
{
	json_t *meta = json_object_get(root, "__metadata__");

	if (meta == NULL)
		return tl_fail(err, "the header has no __metadata__ (the "
			       "hyperparameters)");
	if (!json_is_object(meta))
		return tl_fail(err, "__metadata__ is not an object");
	if (meta_uint(meta, "vocab_size", 256, 256, &cfg->vocab_size, err) ||
	    meta_uint(meta, "dim", 2, 1024, &cfg->dim, err) ||
	    meta_uint(meta, "n_layers", 1, 64, &cfg->n_layers, err) ||
	    meta_uint(meta, "n_heads", 1, 256, &cfg->n_heads, err) ||
	    meta_uint(meta, "hidden_dim", 1, 8192, &cfg->hidden_dim, err) ||
	    meta_uint(meta, "context", 2, 4096, &cfg->context, err) ||
	    meta_float(meta, "norm_eps", 1e-12, 0.1, &cfg->norm_eps, err) ||
	    meta_float(meta, "rope_theta", 1.0, 1e9, &cfg->rope_theta, err))
		return -1;
	if (cfg->dim % cfg->n_heads != 0 || (cfg->dim / cfg->n_heads) % 2)
		return tl_fail(err, "__metadata__: dim %u is not n_heads %u "
			       "times an even head size", cfg->dim,
			       cfg->n_heads);
	return 0;
}

/* --- tensor names and shapes --------------------------------------- */

struct expect {
	char name[NAME_MAX_LEN];
	unsigned rank;
	uint64_t shape[2];
};

static void
expected(const struct tl_config *cfg, size_t i, struct expect *e)
{
	uint64_t d = cfg->dim, h = cfg->hidden_dim;
	enum tl_layer_tensor t;

	if (i == TL_ST_EMBED || i == tl_st_norm_index(cfg)) {
		(void)snprintf(e->name, sizeof(e->name), "%s",
			       i == 0 ? "tok_embeddings.weight" : "norm.weight");
		e->rank = i == 0 ? 2 : 1;
		e->shape[0] = i == 0 ? cfg->vocab_size : d;
		e->shape[1] = d;
		return;
	}
	t = (enum tl_layer_tensor)((i - 1) % TL_LAYER_TENSORS);
	(void)snprintf(e->name, sizeof(e->name), "layers.%zu.%s.weight",
		       (i - 1) / TL_LAYER_TENSORS, layer_names[t]);
	e->rank = (t == TL_ATTN_NORM || t == TL_FFN_NORM) ? 1 : 2;
	e->shape[0] = (t == TL_W1 || t == TL_W3) ? h : d;
	e->shape[1] = t == TL_W2 ? h : d;
}

void
tl_st_name(const struct tl_config *cfg, size_t i, char *out, size_t cap)
{
	struct expect e;

	expected(cfg, i, &e);
	(void)snprintf(out, cap, "%s", e.name);
}

/*
 * The index of a tensor name, or SIZE_MAX: "tok_embeddings.weight",
 * "norm.weight" or "layers.<n>.<name>.weight" with n in canonical decimal.
 */
static size_t
name_index(const struct tl_config *cfg, const char *name)
{
	const char *p = name + 7, *dot;
	size_t layer = 0;

	if (strcmp(name, "tok_embeddings.weight") == 0)
		return TL_ST_EMBED;
	if (strcmp(name, "norm.weight") == 0)
		return tl_st_norm_index(cfg);
	if (strncmp(name, "layers.", 7) != 0 || !isdigit((unsigned char)*p) ||
	    (p[0] == '0' && p[1] != '.'))
		return SIZE_MAX;
	for (; isdigit((unsigned char)*p); p++) {
		layer = layer * 10 + (size_t)(*p - '0');
		if (layer >= cfg->n_layers)
			return SIZE_MAX;
	}
	if (*p++ != '.' || (dot = strrchr(p, '.')) == NULL ||
	    strcmp(dot, ".weight") != 0)
		return SIZE_MAX;
	for (size_t t = 0; t < TL_LAYER_TENSORS; t++)
		if (strlen(layer_names[t]) == (size_t)(dot - p) &&
		    strncmp(p, layer_names[t], (size_t)(dot - p)) == 0)
			return tl_st_index((uint32_t)layer,
					   (enum tl_layer_tensor)t);
	return SIZE_MAX;
}

/* "[a, b]" of a JSON shape for a message, whatever it holds. */
static const char *
shape_text(json_t *shape, char *out, size_t cap)
{
	size_t n = 0, i;
	json_t *v;

	if (!json_is_array(shape))
		return "(not an array)";
	out[n++] = '[';
	json_array_foreach(shape, i, v) {
		int k;

		if (i == 4) {
			k = snprintf(out + n, cap - n, ", ...");
		} else if (json_is_integer(v)) {
			k = snprintf(out + n, cap - n, "%s%lld", i ? ", " : "",
				     (long long)json_integer_value(v));
		} else {
			k = snprintf(out + n, cap - n, "%s?", i ? ", " : "");
		}
		if (k < 0 || (size_t)k >= cap - n - 1)
			break;
		n += (size_t)k;
		if (i == 4)
			break;
	}
	out[n++] = ']';
	out[n] = '\0';
	return out;
}

static int
check_shape(const struct expect *e, json_t *shape, struct tl_err *err)
{
	char have[96];
	int ok = json_is_array(shape) && json_array_size(shape) == e->rank;

	for (unsigned k = 0; ok && k < e->rank; k++) {
		json_t *v = json_array_get(shape, k);

		ok = json_is_integer(v) &&
		    json_integer_value(v) >= 0 &&
		    (uint64_t)json_integer_value(v) == e->shape[k];
	}
	if (ok)
		return 0;
	if (e->rank == 1)
		return tl_fail(err, "tensor '%s': shape %s, want [%llu]",
			       e->name, shape_text(shape, have, sizeof(have)),
			       (unsigned long long)e->shape[0]);
	return tl_fail(err, "tensor '%s': shape %s, want [%llu, %llu]",
		       e->name, shape_text(shape, have, sizeof(have)),
		       (unsigned long long)e->shape[0],
		       (unsigned long long)e->shape[1]);
}

/* One span of the data, for the overlap and coverage check. */
struct span {
	uint64_t begin, end;
	size_t index;
};

static int
check_offsets(const struct expect *e, json_t *offs, uint64_t data_len,
	      struct span *sp, struct tl_err *err)
{
	json_t *b = json_array_get(offs, 0), *x = json_array_get(offs, 1);
	uint64_t want = e->shape[0] * (e->rank == 2 ? e->shape[1] : 1) * 4;

	if (!json_is_array(offs) || json_array_size(offs) != 2 ||
	    !json_is_integer(b) || !json_is_integer(x) ||
	    json_integer_value(b) < 0 || json_integer_value(x) < 0)
		return tl_fail(err, "tensor '%s': data_offsets is not two "
			       "non-negative integers", e->name);
	sp->begin = (uint64_t)json_integer_value(b);
	sp->end = (uint64_t)json_integer_value(x);
	if (sp->begin > sp->end || sp->end > data_len)
		return tl_fail(err, "tensor '%s': data_offsets [%llu, %llu] "
			       "are not inside the %llu bytes of data",
			       e->name, (unsigned long long)sp->begin,
			       (unsigned long long)sp->end,
			       (unsigned long long)data_len);
	if (sp->end - sp->begin != want)
		return tl_fail(err, "tensor '%s': data_offsets [%llu, %llu] "
			       "hold %llu bytes, want %llu (F32, its shape)",
			       e->name, (unsigned long long)sp->begin,
			       (unsigned long long)sp->end,
			       (unsigned long long)(sp->end - sp->begin),
			       (unsigned long long)want);
	return 0;
}

static int
check_entry(const struct expect *e, json_t *entry, uint64_t data_len,
	    struct span *sp, struct tl_err *err)
{
	json_t *dtype = json_object_get(entry, "dtype");

	if (!json_is_object(entry))
		return tl_fail(err, "tensor '%s': not an object", e->name);
	if (json_object_size(entry) != 3 ||
	    json_object_get(entry, "shape") == NULL ||
	    json_object_get(entry, "data_offsets") == NULL || dtype == NULL)
		return tl_fail(err, "tensor '%s': want exactly dtype, shape "
			       "and data_offsets", e->name);
	if (!json_is_string(dtype) ||
	    strcmp(json_string_value(dtype), "F32") != 0) {
		char show[NAME_MAX_LEN];

		return tl_fail(err, "tensor '%s': dtype %s, want F32", e->name,
			       json_is_string(dtype) ?
			       printable(json_string_value(dtype), show) :
			       "(not a string)");
	}
	if (check_shape(e, json_object_get(entry, "shape"), err) != 0)
		return -1;
	return check_offsets(e, json_object_get(entry, "data_offsets"),
			     data_len, sp, err);
}

/* --- the whole header ------------------------------------------------- */

static int
span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The tensors, in order of offset, must tile [0, data_len) exactly. */
static int
check_tiling(const struct tl_config *cfg, struct span *sp, size_t n,
	     uint64_t data_len, struct tl_err *err)
{
	struct expect a, b;
	uint64_t at = 0;

	qsort(sp, n, sizeof(*sp), span_cmp);
	for (size_t i = 0; i < n; i++) {
		if (sp[i].begin < at) {
			expected(cfg, sp[i - 1].index, &a);
			expected(cfg, sp[i].index, &b);
			return tl_fail(err, "tensors '%s' and '%s' overlap at "
				       "byte %llu of the data", a.name,
				       b.name,
				       (unsigned long long)sp[i].begin);
		}
		if (sp[i].begin > at)
			return tl_fail(err, "bytes %llu to %llu of the data "
				       "belong to no tensor",
				       (unsigned long long)at,
				       (unsigned long long)sp[i].begin);
		at = sp[i].end;
	}
	if (at != data_len)
		return tl_fail(err, "%llu bytes after the last tensor's data",
			       (unsigned long long)(data_len - at));
	return 0;
}

/* Every header key is __metadata__ or a tensor of the model, once. */
static int
check_names(const struct tl_config *cfg, json_t *root, struct tl_err *err)
{
	char show[NAME_MAX_LEN];
	const char *key;
	json_t *v;

	json_object_foreach(root, key, v) {
		if (strcmp(key, "__metadata__") != 0 &&
		    name_index(cfg, key) == SIZE_MAX)
			return tl_fail(err, "unexpected tensor '%s' (not one "
				       "of a %u-layer model's, whose output "
				       "head is the embedding)",
				       printable(key, show), cfg->n_layers);
	}
	return 0;
}

static int
parse_header(json_t *root, const uint8_t *data, uint64_t data_len,
	     struct tl_st_model *m, struct tl_err *err)
{
	struct span *sp = NULL;
	struct expect e;
	size_t n;
	int rc = -1;

	if (parse_config(root, &m->cfg, err) != 0 ||
	    check_names(&m->cfg, root, err) != 0)
		return -1;
	n = tensor_count(&m->cfg);
	sp = calloc(n, sizeof(*sp));
	m->tensors = calloc(n, sizeof(*m->tensors));
	if (sp == NULL || m->tensors == NULL) {
		tl_fail(err, "out of memory for %zu tensors", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *entry;

		expected(&m->cfg, i, &e);
		if ((entry = json_object_get(root, e.name)) == NULL) {
			tl_fail(err, "tensor '%s' is missing", e.name);
			goto out;
		}
		if (check_entry(&e, entry, data_len, &sp[i], err) != 0)
			goto out;
		sp[i].index = i;
		m->tensors[i].data = data + sp[i].begin;
		m->tensors[i].count = (size_t)(sp[i].end - sp[i].begin) / 4;
	}
	if (check_tiling(&m->cfg, sp, n, data_len, err) != 0)
		goto out;
	m->n_tensors = n;
	rc = 0;
out:
	free(sp);
	return rc;
}

int
tl_st_parse(const uint8_t *buf, size_t len, struct tl_st_model *out,
	    struct tl_err *err)
{
	json_error_t jerr;
	uint64_t hlen = 0;
	json_t *root;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len < 8)
		return tl_fail(err, "%zu bytes: too short for a safetensors "
			       "header length", len);
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | buf[i];
	if (hlen < 2 || hlen > TL_ST_MAX_HEADER || hlen > len - 8)
		return tl_fail(err, "header length %llu: want 2 to %u bytes "
			       "within the file's %zu", (unsigned long long)hlen,
			       TL_ST_MAX_HEADER, len - 8);
	if (buf[8] != '{')
		return tl_fail(err, "the header does not begin with '{'");
	root = json_loadb((const char *)buf + 8, (size_t)hlen,
			  JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return tl_fail(err, "header JSON, byte %d: %s", jerr.position,
			       jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return tl_fail(err, "the header is not a JSON object");
	}
	rc = parse_header(root, buf + 8 + hlen, len - 8 - hlen, out, err);
	json_decref(root);
	if (rc != 0)
		tl_st_model_clear(out);
	return rc;
}

void
tl_st_model_clear(struct tl_st_model *m)
{
	free(m->tensors);
	memset(m, 0, sizeof(*m));
}
