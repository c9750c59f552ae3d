/*
 * model.c - loading the weights and the forward pass (model.h).
 *
 * The file is read whole into memory, parsed and checked by
 * safetensors.c, and its tensors copied into one block of floats (so
 * nothing depends on the file's alignment and nothing of it stays open
 * or mapped).  A weight that is not finite is refused with its tensor's
 * name: it would turn every answer into NaNs.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"

struct tl_state {
	float *x;		/* [dim] the residual stream */
	float *xb, *xb2;	/* [dim] */
	float *hb, *hb2;	/* [hidden_dim] */
	float *q;		/* [dim] */
	float *att;		/* [context] one head's scores */
	float *logits;		/* [vocab] */
	float *keys;		/* [n_layers][context][dim] */
	float *values;		/* [n_layers][context][dim] */
	float *block;		/* owns all of the above */
};

/* --- loading ------------------------------------------------------------ */

static int
read_whole(const char *path, uint8_t **out, size_t *len, struct tl_err *err)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return tl_fail(err, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		tl_fail(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (unsigned long long)st.st_size > TL_MODEL_MAX_FILE) {
		tl_fail(err, "%s: not a regular file of at most %llu bytes",
			path, TL_MODEL_MAX_FILE);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		tl_fail(err, "%s: no memory for %lld bytes", path,
			(long long)st.st_size);
		goto out;
	}
	/* One byte more than fstat said, to see a file that grew. */
	while (got <= (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tl_fail(err, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got != (size_t)st.st_size) {
		tl_fail(err, "%s: changed size while being read", path);
		goto out;
	}
	*out = buf;
	*len = got;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

static uint64_t
fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* The rotary tables, from double precision rounded once (as train.py). */
static void
fill_rope(const struct tl_config *c, float *cos_t, float *sin_t)
{
	unsigned half = c->dim / c->n_heads / 2;

	for (unsigned p = 0; p < c->context; p++) {
		for (unsigned i = 0; i < half; i++) {
			double freq = pow(c->rope_theta, -(2.0 * i) /
					  (2.0 * half));
			double a = (double)p * freq;

			cos_t[p * half + i] = (float)cos(a);
			sin_t[p * half + i] = (float)sin(a);
		}
	}
}

/* Copies every tensor into m->block and points the model at it. */
static int
copy_tensors(struct tl_model *m, const struct tl_st_model *st,
	     struct tl_err *err)
{
	float *at = m->block;

	for (size_t i = 0; i < st->n_tensors; i++) {
		memcpy(at, st->tensors[i].data, st->tensors[i].count * 4);
		for (size_t k = 0; k < st->tensors[i].count; k++) {
			if (!isfinite(at[k])) {
				char name[64];

				tl_st_name(&m->cfg, i, name, sizeof(name));
				return tl_fail(err, "tensor '%s': element %zu "
					       "is not a finite number", name,
					       k);
			}
		}
		if (i == TL_ST_EMBED)
			m->embed = at;
		else if (i == tl_st_norm_index(&m->cfg))
			m->norm = at;
		else
			m->layers[(i - 1) / TL_LAYER_TENSORS].w[(i - 1) %
			    TL_LAYER_TENSORS] = at;
		at += st->tensors[i].count;
	}
	return 0;
}

int
tl_model_from_bytes(const uint8_t *buf, size_t len, struct tl_model **out,
		    struct tl_err *err)
{
	struct tl_st_model st;
	struct tl_model *m = NULL;
	size_t n = 0, rope;
	int rc = -1;

	*out = NULL;
	if (tl_st_parse(buf, len, &st, err) != 0)
		return -1;
	for (size_t i = 0; i < st.n_tensors; i++)
		n += st.tensors[i].count;
	rope = (size_t)st.cfg.context * (st.cfg.dim / st.cfg.n_heads / 2);
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->layers = calloc(st.cfg.n_layers, sizeof(*m->layers))) ==
	    NULL || (m->block = malloc((n + 2 * rope) * sizeof(float))) ==
	    NULL) {
		tl_fail(err, "no memory for %zu parameters", n);
		goto out;
	}
	m->cfg = st.cfg;
	m->n_params = n;
	m->digest = fnv1a(buf, len);
	if (copy_tensors(m, &st, err) != 0)
		goto out;
	fill_rope(&m->cfg, m->block + n, m->block + n + rope);
	m->rope_cos = m->block + n;
	m->rope_sin = m->block + n + rope;
	*out = m;
	m = NULL;
	rc = 0;
out:
	tl_model_free(m);
	tl_st_model_clear(&st);
	return rc;
}

int
tl_model_load(const char *path, struct tl_model **out, struct tl_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (read_whole(path, &buf, &len, err) != 0)
		return -1;
	rc = tl_model_from_bytes(buf, len, out, err);
	free(buf);
	if (rc != 0 && err != NULL) {
		/* Says which file, before what was wrong with it. */
		char detail[TL_ERR_MAX];

		memcpy(detail, err->msg, sizeof(detail));
		tl_fail(err, "%s: %s", path, detail);
	}
	return rc;
}

void
tl_model_free(struct tl_model *m)
{
	if (m == NULL)
		return;
	free(m->block);
	free(m->layers);
	free(m);
}

/* --- the forward pass --------------------------------------------------- */

struct tl_state *
tl_state_new(const struct tl_model *m)
{
	const struct tl_config *c = &m->cfg;
	size_t cache = (size_t)c->n_layers * c->context * c->dim;
	size_t n = 4 * (size_t)c->dim + 2 * (size_t)c->hidden_dim +
	    c->context + c->vocab_size + 2 * cache;
	struct tl_state *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->block = calloc(n, sizeof(float))) == NULL) {
		free(s);
		return NULL;
	}
	s->x = s->block;
	s->xb = s->x + c->dim;
	s->xb2 = s->xb + c->dim;
	s->q = s->xb2 + c->dim;
	s->hb = s->q + c->dim;
	s->hb2 = s->hb + c->hidden_dim;
	s->att = s->hb2 + c->hidden_dim;
	s->logits = s->att + c->context;
	s->keys = s->logits + c->vocab_size;
	s->values = s->keys + cache;
	return s;
}

void
tl_state_free(struct tl_state *s)
{
	if (s == NULL)
		return;
	free(s->block);
	free(s);
}

static float
dot(const float *a, const float *b, size_t n)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += (double)a[i] * b[i];
	return (float)sum;
}

/* out[rows] = w[rows][cols] x[cols], as torch's x @ w.T. */
static void
matvec(float *out, const float *x, const float *w, size_t rows, size_t cols)
{
	for (size_t r = 0; r < rows; r++)
		out[r] = dot(w + r * cols, x, cols);
}

static void
rmsnorm(float *out, const float *x, const float *w, size_t n, float eps)
{
	float ms = dot(x, x, n) / (float)n;
	float r = 1.0f / sqrtf(ms + eps);

	for (size_t i = 0; i < n; i++)
		out[i] = x[i] * r * w[i];
}

/* Rotates each adjacent pair of each head of v by position pos. */
static void
rope(const struct tl_model *m, float *v, unsigned pos)
{
	unsigned hd = m->cfg.dim / m->cfg.n_heads, half = hd / 2;
	const float *c = m->rope_cos + (size_t)pos * half;
	const float *s = m->rope_sin + (size_t)pos * half;

	for (unsigned h = 0; h < m->cfg.n_heads; h++) {
		float *p = v + h * hd;

		for (unsigned i = 0; i < half; i++) {
			float a = p[2 * i], b = p[2 * i + 1];

			p[2 * i] = a * c[i] - b * s[i];
			p[2 * i + 1] = a * s[i] + b * c[i];
		}
	}
}

static void
softmax(float *x, size_t n)
{
	float max = x[0];
	double sum = 0;

	for (size_t i = 1; i < n; i++)
		if (x[i] > max)
			max = x[i];
	for (size_t i = 0; i < n; i++) {
		x[i] = expf(x[i] - max);
		sum += x[i];
	}
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(x[i] / sum);
}

/* Causal attention of position pos over 0..pos, every head, into s->xb. */
static void
attend(const struct tl_model *m, struct tl_state *s, unsigned layer,
       unsigned pos)
{
	const struct tl_config *c = &m->cfg;
	unsigned hd = c->dim / c->n_heads;
	size_t base = (size_t)layer * c->context * c->dim;
	float scale = (float)sqrt((double)hd);

	for (unsigned h = 0; h < c->n_heads; h++) {
		const float *q = s->q + h * hd;

		for (unsigned t = 0; t <= pos; t++)
			s->att[t] = dot(q, s->keys + base + (size_t)t * c->dim +
					h * hd, hd) / scale;
		softmax(s->att, pos + 1);
		for (unsigned i = 0; i < hd; i++) {
			double sum = 0;

			for (unsigned t = 0; t <= pos; t++)
				sum += (double)s->att[t] * s->values[base +
				    (size_t)t * c->dim + h * hd + i];
			s->xb[h * hd + i] = (float)sum;
		}
	}
}

static void
layer_forward(const struct tl_model *m, struct tl_state *s, unsigned l,
	      unsigned pos)
{
	const struct tl_config *c = &m->cfg;
	const struct tl_layer *w = &m->layers[l];
	size_t at = ((size_t)l * c->context + pos) * c->dim;

	rmsnorm(s->xb, s->x, w->w[TL_ATTN_NORM], c->dim, c->norm_eps);
	matvec(s->q, s->xb, w->w[TL_WQ], c->dim, c->dim);
	matvec(s->keys + at, s->xb, w->w[TL_WK], c->dim, c->dim);
	matvec(s->values + at, s->xb, w->w[TL_WV], c->dim, c->dim);
	rope(m, s->q, pos);
	rope(m, s->keys + at, pos);
	attend(m, s, l, pos);
	matvec(s->xb2, s->xb, w->w[TL_WO], c->dim, c->dim);
	for (unsigned i = 0; i < c->dim; i++)
		s->x[i] += s->xb2[i];

	rmsnorm(s->xb, s->x, w->w[TL_FFN_NORM], c->dim, c->norm_eps);
	matvec(s->hb, s->xb, w->w[TL_W1], c->hidden_dim, c->dim);
	matvec(s->hb2, s->xb, w->w[TL_W3], c->hidden_dim, c->dim);
	for (unsigned i = 0; i < c->hidden_dim; i++) {
		float a = s->hb[i];

		s->hb[i] = a / (1.0f + expf(-a)) * s->hb2[i];
	}
	matvec(s->xb2, s->hb, w->w[TL_W2], c->dim, c->hidden_dim);
	for (unsigned i = 0; i < c->dim; i++)
		s->x[i] += s->xb2[i];
}

const float *
tl_forward(const struct tl_model *m, struct tl_state *s, unsigned token,
	   unsigned pos)
{
	const struct tl_config *c = &m->cfg;

	memcpy(s->x, m->embed + (size_t)token * c->dim, c->dim * sizeof(float));
	for (unsigned l = 0; l < c->n_layers; l++)
		layer_forward(m, s, l, pos);
	rmsnorm(s->xb, s->x, m->norm, c->dim, c->norm_eps);
	matvec(s->logits, s->xb, m->embed, c->vocab_size, c->dim);
	return s->logits;
}
