/*
 * fuzz_tinyllm_request.c - tiny-llm-server's completion request bodies
 * (examples/tiny-llm/request.c) from raw bytes.  The first byte picks
 * the route (odd: chat) and the rest is the body.
 *
 * Invariants (any break aborts):
 *   - a refusal has a 4xx status (or 500 for memory) and a message;
 *   - a request taken has a prompt of 1 to context - 1 bytes, sampling
 *     values in their ranges and at most four stop sequences of 1 to 64
 *     bytes, no NUL in the prompt, and clearing it frees everything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (64u << 10)
#define CONTEXT 256

static void
check(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tl_request r;
	struct tl_request_error e;
	const struct tl_gen_params *g = &r.gen;

	if (size == 0 || size > MAX_INPUT)
		return 0;
	memset(&e, 0, sizeof(e));
	if (tl_request_parse((const char *)data + 1, size - 1, data[0] & 1,
			     "tiny", CONTEXT, 7, &r, &e) != 0) {
		check((e.status >= 400 && e.status < 500) || e.status == 500);
		check(e.msg[0] != '\0' && r.prompt == NULL);
		return 0;
	}
	check(r.chat == (data[0] & 1));
	check(g->prompt == r.prompt && g->prompt_len >= 1 &&
	      g->prompt_len < CONTEXT);
	check(g->temperature >= 0 && g->temperature <= 2);
	check(g->top_p > 0 && g->top_p <= 1 && g->max_tokens >= 1);
	check(g->n_stops <= TL_MAX_STOPS);
	for (unsigned i = 0; i < g->n_stops; i++)
		check(g->stop_lens[i] >= 1 &&
		      g->stop_lens[i] <= TL_MAX_STOP_LEN &&
		      g->stops[i] == r.stop_bytes[i]);
	check(r.stream || !r.include_usage);
	/* Jansson refuses \u0000 (no JSON_ALLOW_NUL): no NUL in a prompt,
	 * which is read to its end here (ASan checks the bounds). */
	check(memchr(g->prompt, 0, g->prompt_len) == NULL);
	tl_request_clear(&r);
	return 0;
}
