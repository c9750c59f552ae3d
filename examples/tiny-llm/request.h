/*
 * request.h - the JSON body of a completion request, checked and turned
 * into generation parameters.
 *
 * The body comes from any client.  It is parsed by Jansson with duplicate
 * keys refused; the fields this server uses are checked for type and
 * range (a wrong one is a 400 naming it), fields it does not use are
 * ignored, as vLLM ignores them.
 *
 * POST /v1/completions takes "prompt", a string: its bytes are the
 * prompt.  POST /v1/chat/completions takes "messages" and joins them into
 * one prompt, one line each and a last line for the answer:
 *
 *     <role>: <content>\n   ...for each message, then
 *     assistant:
 *
 * (with a space after the final colon).  Content is a string or an array
 * of {"type": "text", "text": ...} parts, joined with no separator.
 */
#ifndef TL_REQUEST_H
#define TL_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "gen.h"

/* The most messages in a chat request. */
#define TL_MAX_MESSAGES 64
/* Tokens generated when the request does not say. */
#define TL_DEFAULT_MAX_TOKENS 128

struct tl_request {
	int chat;
	int stream;
	int include_usage;	/* stream_options.include_usage */
	uint8_t *prompt;	/* caller frees with tl_request_clear */
	struct tl_gen_params gen;	/* points into this struct */
	uint8_t stop_bytes[TL_MAX_STOPS][TL_MAX_STOP_LEN];
};

/* Why a request was refused: an HTTP status and an OpenAI-style error. */
struct tl_request_error {
	int status;
	const char *param;	/* the field at fault, or NULL */
	const char *code;	/* or NULL */
	char msg[256];
};

/*
 * Parses body[0..len) for the model named name, whose context holds
 * context tokens.  seed is used when the request gives none.  Returns 0
 * with *r filled, or -1 with *e saying why.
 */
int tl_request_parse(const char *body, size_t len, int chat,
		     const char *name, unsigned context, uint64_t seed,
		     struct tl_request *r, struct tl_request_error *e);

void tl_request_clear(struct tl_request *r);

#endif
