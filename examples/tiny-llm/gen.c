/*
 * gen.c - the generation loop (gen.h).
 */
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "sample.h"
#include "utf8.h"

/* Where the first stop sequence ending at raw[n - 1] begins, or n. */
static size_t
stop_at(const struct tl_gen_params *p, const uint8_t *raw, size_t n)
{
	size_t cut = n;

	for (unsigned i = 0; i < p->n_stops; i++) {
		size_t k = p->stop_lens[i];

		if (k <= n && memcmp(raw + n - k, p->stops[i], k) == 0 &&
		    n - k < cut)
			cut = n - k;
	}
	return cut;
}

/* How many final bytes of raw[0..n) could begin a stop sequence. */
static size_t
hold_back(const struct tl_gen_params *p, const uint8_t *raw, size_t n)
{
	size_t hold = 0;

	for (unsigned i = 0; i < p->n_stops; i++) {
		size_t k = p->stop_lens[i] - 1;

		for (k = k < n ? k : n; k > hold; k--) {
			if (memcmp(raw + n - k, p->stops[i], k) == 0) {
				hold = k;
				break;
			}
		}
	}
	return hold;
}

static int
check(const struct tl_model *m, const struct tl_gen_params *p)
{
	if (p->prompt_len == 0 || p->prompt_len >= m->cfg.context ||
	    p->n_stops > TL_MAX_STOPS)
		return -1;
	for (size_t i = 0; i < p->prompt_len; i++)
		if (p->prompt[i] >= m->cfg.vocab_size)
			return -1;
	for (unsigned i = 0; i < p->n_stops; i++)
		if (p->stop_lens[i] == 0 || p->stop_lens[i] > TL_MAX_STOP_LEN)
			return -1;
	return 0;
}

int
tl_generate(const struct tl_model *m, struct tl_state *s,
	    const struct tl_gen_params *p, tl_emit_fn emit, void *arg,
	    struct tl_gen_result *res)
{
	unsigned ctx = m->cfg.context, room, g = 0;
	struct tl_sampler smp;
	const float *logits = NULL;
	uint8_t *raw = NULL;
	char *piece = NULL;
	size_t done = 0, cut = 0, n;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (check(m, p) != 0)
		return -1;
	room = ctx - (unsigned)p->prompt_len;
	if (p->max_tokens < room)
		room = p->max_tokens;
	if ((raw = malloc(ctx)) == NULL || (piece = malloc(3 * ctx)) == NULL)
		goto out;
	tl_sampler_init(&smp, p->temperature, p->top_p, p->seed);
	for (size_t i = 0; i < p->prompt_len; i++)
		logits = tl_forward(m, s, p->prompt[i], (unsigned)i);
	res->prompt_tokens = (unsigned)p->prompt_len;
	res->finish = TL_FINISH_LENGTH;
	while (g < room) {
		raw[g] = (uint8_t)tl_sample(&smp, logits, m->cfg.vocab_size);
		g++;
		if ((cut = stop_at(p, raw, g)) < g) {
			res->finish = TL_FINISH_STOP;
			break;
		}
		n = tl_utf8_take(raw, &done, g - hold_back(p, raw, g), 0,
				 piece);
		if (emit(arg, piece, n) != 0) {
			res->finish = TL_FINISH_ABORTED;
			break;
		}
		if (g < room)
			logits = tl_forward(m, s, raw[g - 1],
					    (unsigned)p->prompt_len + g - 1);
	}
	res->completion_tokens = g;
	if (res->finish != TL_FINISH_ABORTED) {
		/* The rest: what was held back, up to a stop sequence. */
		n = tl_utf8_take(raw, &done, res->finish == TL_FINISH_STOP ?
				 cut : g, 1, piece);
		if (emit(arg, piece, n) != 0)
			res->finish = TL_FINISH_ABORTED;
	}
	rc = 0;
out:
	free(raw);
	free(piece);
	return rc;
}
