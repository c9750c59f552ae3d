/*
 * safetensors.h - reads the weights file of tiny-llm-server: safetensors
 * (an 8-byte little-endian header length, a JSON header, then the raw
 * tensor data) holding exactly the tensors of the model its __metadata__
 * describes, each F32 with the shape the hyperparameters give it.
 *
 * The file is untrusted.  The parser checks the header length against its
 * cap and the file, the JSON (no duplicate keys), every hyperparameter's
 * range, each tensor's dtype, shape and offsets, and that the tensors
 * cover the data exactly once, with no overlap, gap or trailing byte.  An
 * error names the tensor or field and what was wrong.
 */
#ifndef TL_SAFETENSORS_H
#define TL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The largest header accepted; the real one is a few kilobytes. */
#define TL_ST_MAX_HEADER (1u << 20)

/* Hyperparameters, from __metadata__. */
struct tl_config {
	uint32_t vocab_size;	/* 256: one token per byte */
	uint32_t dim;		/* width of the residual stream */
	uint32_t n_layers;
	uint32_t n_heads;	/* dim / n_heads is even (rotary pairs) */
	uint32_t hidden_dim;	/* width of the SwiGLU MLP */
	uint32_t context;	/* positions, prompt and output together */
	float norm_eps;		/* RMSNorm's epsilon */
	float rope_theta;	/* base of the rotary frequencies */
};

/* The tensors of one layer, in the order of the index. */
enum tl_layer_tensor {
	TL_ATTN_NORM, TL_WQ, TL_WK, TL_WV, TL_WO,
	TL_FFN_NORM, TL_W1, TL_W2, TL_W3,
	TL_LAYER_TENSORS
};

/* Where one tensor's little-endian floats are, inside the parsed buffer. */
struct tl_st_view {
	const uint8_t *data;
	size_t count;		/* floats, the product of the shape */
};

/*
 * A parsed file: tensors[] is indexed by tl_st_index() and points into the
 * buffer given to tl_st_parse(), which must outlive it.
 */
struct tl_st_model {
	struct tl_config cfg;
	size_t n_tensors;
	struct tl_st_view *tensors;	/* freed by tl_st_model_clear() */
};

/* Index of the embedding, of a layer's tensor, of the final norm. */
#define TL_ST_EMBED 0
size_t tl_st_index(uint32_t layer, enum tl_layer_tensor which);
size_t tl_st_norm_index(const struct tl_config *cfg);

/* The name of tensor i of a model of that shape, for messages. */
void tl_st_name(const struct tl_config *cfg, size_t i, char *out,
		size_t cap);

/*
 * Parses and checks buf[0..len).  On success fills *out (caller clears it
 * with tl_st_model_clear) and returns 0; otherwise returns -1 with err
 * saying why and *out left empty.
 */
int tl_st_parse(const uint8_t *buf, size_t len, struct tl_st_model *out,
		struct tl_err *err);

/* Frees what tl_st_parse allocated; the struct may be parsed into again. */
void tl_st_model_clear(struct tl_st_model *m);

#endif
