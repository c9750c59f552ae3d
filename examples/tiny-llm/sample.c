/*
 * sample.c - temperature and nucleus sampling (sample.h).
 */
#include <assert.h>
#include <math.h>

#include "sample.h"

void
tl_sampler_init(struct tl_sampler *s, double temperature, double top_p,
		uint64_t seed)
{
	s->temperature = temperature;
	s->top_p = top_p;
	s->state = seed;
}

static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 bits. */
static double
unit(struct tl_sampler *s)
{
	return (double)(splitmix64(&s->state) >> 11) * 0x1.0p-53;
}

static unsigned
argmax(const float *x, unsigned n)
{
	unsigned best = 0;

	for (unsigned i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}

struct cand {
	double p;
	unsigned token;
};

/*
 * Sorts likeliest first, equal ones by token (a total order).  An
 * insertion sort, not qsort: glibc's qsort asks the kernel for the
 * machine's memory (sysinfo) before sorting this much, one system call
 * more for the server's seccomp allowlist; 256 candidates sort in well
 * under the time of one forward pass.
 */
static void
sort_cands(struct cand *c, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct cand x = c[i];
		unsigned j = i;

		for (; j > 0 && (c[j - 1].p < x.p ||
				 (c[j - 1].p == x.p && c[j - 1].token > x.token));
		     j--)
			c[j] = c[j - 1];
		c[j] = x;
	}
}

unsigned
tl_sample(struct tl_sampler *s, const float *logits, unsigned n)
{
	struct cand c[TL_SAMPLE_MAX];
	double sum = 0, keep = 0, r;
	float max;
	unsigned k;

	assert(n > 0 && n <= TL_SAMPLE_MAX);
	if (s->temperature <= 0)
		return argmax(logits, n);
	max = logits[argmax(logits, n)];
	for (unsigned i = 0; i < n; i++) {
		c[i].p = exp(((double)logits[i] - max) / s->temperature);
		c[i].token = i;
		sum += c[i].p;
	}
	/* The nucleus: the fewest likeliest tokens reaching top_p of it
	 * (all of them at 1, in any order). */
	if (s->top_p < 1)
		sort_cands(c, n);
	for (k = 0; k < n; k++) {
		keep += c[k].p;
		if (keep >= s->top_p * sum) {
			k++;
			break;
		}
	}
	r = unit(s) * keep;
	for (unsigned i = 0; i < k; i++) {
		if (r < c[i].p)
			return c[i].token;
		r -= c[i].p;
	}
	return c[k - 1].token;
}
