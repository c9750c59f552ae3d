/*
 * api.h - the OpenAI-compatible routes of tiny-llm-server:
 *
 *   GET  /v1/models             the one model served
 *   POST /v1/completions        text completion, streamed or whole
 *   POST /v1/chat/completions   chat completion (request.h: the template)
 *   GET  /health                200 once serving (as vLLM's)
 *
 * Answers are shaped as OpenAI's and vLLM's: an id, "created", the model,
 * a system_fingerprint, the choice and its finish_reason ("stop" for a
 * stop sequence, "length" otherwise), and usage in tokens, which are
 * bytes.  A stream is server-sent events, one per generated token that
 * completes text, then a chunk with the finish_reason, a usage chunk when
 * stream_options.include_usage is set, and "data: [DONE]".
 */
#ifndef TL_API_H
#define TL_API_H

#include <stdatomic.h>
#include <stdint.h>

#include "http.h"
#include "model.h"
#include "respond.h"

struct tl_api {
	const struct tl_model *model;
	const char *name;		/* the model's id in the API */
	char fingerprint[32];		/* from the weights' digest */
	long long started;		/* Unix time, the model's "created" */
	atomic_uint_fast64_t counter;	/* requests, for ids and seeds */
	const atomic_int *stopping;	/* set when the server shuts down */
};

/* What one request did, for the server's log line. */
struct tl_api_log {
	unsigned prompt_tokens;
	unsigned completion_tokens;
};

void tl_api_init(struct tl_api *api, const struct tl_model *m,
		 const char *name, const atomic_int *stopping);

/*
 * Answers req, whose body is body[0..req->content_length), on o, running
 * any generation in s.
 */
void tl_api_handle(struct tl_api *api, struct tl_state *s,
		   const struct tl_http_req *req, const char *body,
		   struct tl_out *o, struct tl_api_log *log);

#endif
