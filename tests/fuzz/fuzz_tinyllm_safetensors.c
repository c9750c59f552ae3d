/*
 * fuzz_tinyllm_safetensors.c - tiny-llm-server's weights file parser
 * (examples/tiny-llm/safetensors.c) from raw bytes.
 *
 * Invariants (any break aborts):
 *   - a refusal leaves a message and nothing allocated;
 *   - a parsed file has hyperparameters in their ranges, every tensor of
 *     the model they describe, each inside the data and of its shape's
 *     size, and together they tile the data exactly: no overlap, no gap,
 *     nothing after.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (1u << 20)

static void
check(int cond)
{
	if (!cond)
		abort();
}

static int
by_address(const void *a, const void *b)
{
	const struct tl_st_view *x = a, *y = b;

	return x->data < y->data ? -1 : x->data > y->data;
}

static void
check_config(const struct tl_config *c)
{
	check(c->vocab_size == 256);
	check(c->dim >= 2 && c->dim <= 1024 && c->n_heads >= 1 &&
	      c->dim % c->n_heads == 0 && (c->dim / c->n_heads) % 2 == 0);
	check(c->n_layers >= 1 && c->n_layers <= 64);
	check(c->hidden_dim >= 1 && c->hidden_dim <= 8192);
	check(c->context >= 2 && c->context <= 4096);
	check(c->norm_eps > 0 && c->rope_theta >= 1);
}

static void
check_model(const uint8_t *data, size_t size, const struct tl_st_model *m)
{
	const struct tl_config *c = &m->cfg;
	size_t d = c->dim, h = c->hidden_dim, hl = 0;
	struct tl_st_view *v;
	const uint8_t *at;

	check_config(c);
	check(m->n_tensors == 2 + (size_t)c->n_layers * TL_LAYER_TENSORS);
	check(m->tensors[TL_ST_EMBED].count == c->vocab_size * d);
	check(m->tensors[tl_st_norm_index(c)].count == d);
	for (uint32_t l = 0; l < c->n_layers; l++) {
		check(m->tensors[tl_st_index(l, TL_ATTN_NORM)].count == d);
		check(m->tensors[tl_st_index(l, TL_WQ)].count == d * d);
		check(m->tensors[tl_st_index(l, TL_W1)].count == h * d);
		check(m->tensors[tl_st_index(l, TL_W2)].count == d * h);
	}
	for (int i = 7; i >= 0; i--)
		hl = hl << 8 | data[i];
	v = malloc(m->n_tensors * sizeof(*v));
	check(v != NULL);
	memcpy(v, m->tensors, m->n_tensors * sizeof(*v));
	qsort(v, m->n_tensors, sizeof(*v), by_address);
	at = data + 8 + hl;
	for (size_t i = 0; i < m->n_tensors; i++) {
		check(v[i].data == at);
		at += v[i].count * 4;
	}
	check(at == data + size);
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tl_st_model m;
	struct tl_err err;

	if (size > MAX_INPUT)
		return 0;
	err.msg[0] = '\0';
	if (tl_st_parse(data, size, &m, &err) != 0) {
		check(err.msg[0] != '\0');
		check(m.tensors == NULL && m.n_tensors == 0);
		return 0;
	}
	check_model(data, size, &m);
	tl_st_model_clear(&m);
	return 0;
}
