/*
 * sample.h - choosing the next token from the logits: greedy at
 * temperature 0, otherwise a draw from the softmax at that temperature,
 * cut to the nucleus top_p, from a seeded generator (the same seed gives
 * the same text).
 */
#ifndef TL_SAMPLE_H
#define TL_SAMPLE_H

#include <stdint.h>

/* The most logits sampled from: the byte vocabulary. */
#define TL_SAMPLE_MAX 256

struct tl_sampler {
	double temperature;	/* 0: greedy; up to 2 */
	double top_p;		/* (0, 1]; 1 keeps every token */
	uint64_t state;		/* splitmix64 */
};

void tl_sampler_init(struct tl_sampler *s, double temperature, double top_p,
		     uint64_t seed);

/*
 * The next token of n (at most TL_SAMPLE_MAX): the first of the largest
 * logits when greedy, as torch.argmax picks it.
 */
unsigned tl_sample(struct tl_sampler *s, const float *logits, unsigned n);

#endif
