/*
 * gen.h - one generation: the prompt run through the model, tokens
 * sampled until max_tokens, the end of the context or a stop sequence, and
 * the text handed out piece by piece as it becomes final.
 *
 * Text is held back while it could still be the start of a stop sequence
 * (which is not part of the output) or of an unfinished UTF-8 sequence,
 * so a streamed answer is the same text as the whole one.
 */
#ifndef TL_GEN_H
#define TL_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define TL_MAX_STOPS 4
#define TL_MAX_STOP_LEN 64

struct tl_gen_params {
	const uint8_t *prompt;	/* 1 to context - 1 bytes */
	size_t prompt_len;
	unsigned max_tokens;	/* cut to what the context leaves */
	double temperature;
	double top_p;
	uint64_t seed;
	unsigned n_stops;
	const uint8_t *stops[TL_MAX_STOPS];	/* 1 to TL_MAX_STOP_LEN bytes */
	size_t stop_lens[TL_MAX_STOPS];
};

enum tl_finish {
	TL_FINISH_LENGTH,	/* max_tokens or the context reached */
	TL_FINISH_STOP,		/* a stop sequence was generated */
	TL_FINISH_ABORTED,	/* the emitter asked to stop */
};

struct tl_gen_result {
	unsigned prompt_tokens;
	unsigned completion_tokens;	/* the stop sequence's included */
	enum tl_finish finish;
};

/*
 * Called after every generated token with the text that became final (len
 * may be 0), and once more at the end.  Returns 0 to go on or -1 to stop
 * (the client left, the server is stopping).
 */
typedef int (*tl_emit_fn)(void *arg, const char *text, size_t len);

/*
 * Generates from p in state s (its cache is overwritten).  The text, all
 * pieces together, is at most 3 * context bytes.  Returns 0, or -1 when p
 * is out of range (the caller checks the request first).
 */
int tl_generate(const struct tl_model *m, struct tl_state *s,
		const struct tl_gen_params *p, tl_emit_fn emit, void *arg,
		struct tl_gen_result *res);

#endif
