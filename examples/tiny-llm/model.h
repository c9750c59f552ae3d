/*
 * model.h - the transformer of tiny-llm-server: weights loaded from a
 * safetensors file (safetensors.h), and the forward pass of one token in
 * plain C float32, with a key/value cache per sequence.
 *
 * It computes what train.py's TinyLM computes: embedding; per layer
 * RMSNorm, causal multi-head attention with rotary embeddings on adjacent
 * pairs, residual, RMSNorm, SwiGLU, residual; a final RMSNorm and logits
 * from the embedding (the tied output head).  Dot products are summed in
 * double, so the C result is at least as close to the exact one as the
 * reference's.
 */
#ifndef TL_MODEL_H
#define TL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "safetensors.h"

/* The largest weights file read. */
#define TL_MODEL_MAX_FILE (1ull << 30)

/* A layer's weights, indexed by enum tl_layer_tensor. */
struct tl_layer {
	const float *w[TL_LAYER_TENSORS];
};

struct tl_model {
	struct tl_config cfg;
	const float *embed;		/* [vocab][dim], also the output head */
	const float *norm;		/* [dim] */
	struct tl_layer *layers;	/* [n_layers] */
	const float *rope_cos;		/* [context][head_dim / 2] */
	const float *rope_sin;
	size_t n_params;
	uint64_t digest;		/* FNV-1a of the file */
	float *block;			/* owns all of the above */
};

/*
 * Reads the safetensors file at path (a regular file; /proc/self/fd/N
 * names an inherited one) whole, checks it and copies the weights out.
 * Nothing is kept open.  On success *out is the model (caller frees with
 * tl_model_free); on failure -1 with err naming the problem.
 */
int tl_model_load(const char *path, struct tl_model **out,
		  struct tl_err *err);

/* The same from bytes in memory, which are not kept. */
int tl_model_from_bytes(const uint8_t *buf, size_t len,
			struct tl_model **out, struct tl_err *err);

void tl_model_free(struct tl_model *m);

/* Activations and the key/value cache of one sequence (one request). */
struct tl_state;

/* Allocates a state for up to cfg.context positions; NULL if no memory. */
struct tl_state *tl_state_new(const struct tl_model *m);
void tl_state_free(struct tl_state *s);

/*
 * Runs token (below vocab_size) at position pos (below context), after
 * positions 0..pos-1 of the same sequence were run in s, and returns the
 * next token's logits: vocab_size floats, valid until the next call.
 */
const float *tl_forward(const struct tl_model *m, struct tl_state *s,
			unsigned token, unsigned pos);

#endif
