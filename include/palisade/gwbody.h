/*
 * gwbody.h - what goes into the model server and what comes out of it
 * (docs/gateway-bodies.md).
 *
 * Request side: a client's JSON body for one route kind is parsed once
 * (strictly, into Jansson values: what json_loadb accepts with duplicate
 * keys refused at any depth, and no NUL), walked once against the
 * OpenAI API's known fields (type and range of each), and handed back as
 * facts the rest of the gateway needs (model, stream, max_tokens, the
 * prompt texts as spans) plus, only when the gateway changed something
 * (a field stripped by policy, include_usage added to a stream), a
 * rewritten body.  Otherwise the original bytes are forwarded unchanged.
 *
 * Response side: the upstream's answer is untrusted too.  A JSON body is
 * parsed, the fields the output policy names are stripped and the token
 * usage is read; an SSE stream is filtered event by event as it arrives,
 * holding at most one event.
 *
 * Nothing here does I/O.  A struct pal_gw_body and a struct pal_gw_sse
 * belong to one thread at a time (one per connection or per event loop);
 * the functions keep no global state, so different objects may be used
 * from different threads at once.  The policies are read, never written,
 * and must outlive the calls that take them.
 */
#ifndef PALISADE_GWBODY_H
#define PALISADE_GWBODY_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"
#include "palisade/gwpolicy.h"

/* Built-in caps where a policy field is 0 (docs/gateway-bodies.md). */
#define PAL_GW_BODY_DEPTH_DEFAULT 32	/* body_policy.max_depth == 0 */
#define PAL_GW_BODY_N_MAX	128	/* n and best_of when max_n == 0 */
#define PAL_GW_BODY_NAME_MAX	256	/* model, name, user, ids (bytes) */
#define PAL_GW_BODY_STOP_MAX	1024	/* one stop sequence (bytes) */

/* Who wrote a piece of prompt text. */
enum pal_gw_text_role {
	PAL_GW_TEXT_SYSTEM = 0,
	PAL_GW_TEXT_DEVELOPER,
	PAL_GW_TEXT_USER,
	PAL_GW_TEXT_ASSISTANT,
	PAL_GW_TEXT_TOOL,	/* a tool message's result */
	PAL_GW_TEXT_PROMPT,	/* /v1/completions "prompt" */
	PAL_GW_TEXT_SUFFIX,	/* /v1/completions "suffix" */
	PAL_GW_TEXT_INPUT,	/* /v1/embeddings "input" */
};

/*
 * The roles whose text the injection scanner reads (the issue: "applied
 * to user and tool messages"), as a mask of 1u << role.
 */
#define PAL_GW_TEXT_SCANNED						\
	((1u << PAL_GW_TEXT_USER) | (1u << PAL_GW_TEXT_TOOL) |		\
	 (1u << PAL_GW_TEXT_PROMPT) | (1u << PAL_GW_TEXT_SUFFIX) |	\
	 (1u << PAL_GW_TEXT_INPUT))

/*
 * One piece of prompt text, decoded (JSON escapes resolved), valid UTF-8,
 * without NUL or control characters other than tab, LF and CR.  p points
 * into the parsed request and is valid until the next check, reset or
 * free of the struct pal_gw_body that produced it.  Not NUL-terminated
 * for the caller's purposes (use len).
 */
struct pal_gw_span {
	const char *p;
	size_t len;
	uint32_t index;		/* entry of "messages", "prompt" or "input" */
	uint8_t role;		/* enum pal_gw_text_role */
};

/* Fields the gateway stripped from a request (pal_gw_body_info.stripped). */
#define PAL_GW_STRIPPED_LOGPROBS	0x01u	/* logprobs, prompt_logprobs,
						   n_probs */
#define PAL_GW_STRIPPED_TOP_LOGPROBS	0x02u
#define PAL_GW_STRIPPED_LOGIT_BIAS	0x04u
#define PAL_GW_STRIPPED_ECHO		0x08u
#define PAL_GW_STRIPPED_N		0x10u	/* n or best_of above 1 */
#define PAL_GW_STRIPPED_UNKNOWN		0x20u	/* at least one unknown field */

/* What the rest of the gateway learns from an accepted request body. */
struct pal_gw_body_info {
	const char *model;	/* NUL-terminated, in the parsed request;
				   NULL for PAL_GW_MODELS */
	size_t model_len;
	int stream;		/* "stream": true */
	int include_usage;	/* the client asked for usage in the stream */
	int usage_added;	/* the gateway added include_usage: the
				   response filter must drop the usage
				   chunk (PAL_GW_SSE_DROP_USAGE) */
	uint32_t max_tokens;	/* max_tokens or max_completion_tokens;
				   0 when the request names neither */
	uint32_t n;		/* choices asked for, after stripping */
	const struct pal_gw_span *spans;	/* every piece of prompt text */
	size_t n_spans;
	size_t prompt_bytes;	/* sum of the spans' lengths */
	unsigned stripped;	/* PAL_GW_STRIPPED_* */
	int rewritten;		/* the body forwarded differs from the
				   client's (pal_gw_body_output) */
};

/* Flags of pal_gw_body_check. */
/*
 * A streamed chat or completion request gets
 * "stream_options": {"include_usage": true} when it does not already ask
 * for usage, so that the gateway can count the tokens of the stream;
 * info.usage_added then says that the client did not ask for it.
 */
#define PAL_GW_BODY_FORCE_USAGE	0x1u

struct pal_gw_body;

/* A reusable checker (one per connection or event loop); caller frees. */
int pal_gw_body_new(struct pal_gw_body **out, struct pal_err *err);

/* Releases everything, including the spans and model of the last check. */
void pal_gw_body_free(struct pal_gw_body *b);

/*
 * Drops the parsed request of the last check (its spans and model
 * pointers die with it); keeps the memory for the next check.
 * pal_gw_body_check resets by itself.
 */
void pal_gw_body_reset(struct pal_gw_body *b);

/*
 * Checks a request body for a route kind against pol.  On success (0)
 * pal_gw_body_info(b) describes it.  On refusal returns a negative
 * PAL_ERR_* and sets *status to the answer the client gets: 413 when the
 * body or its prompt text is larger than pol allows, 400 for everything
 * else the client did wrong (err->msg then names the field and what is
 * wrong with it, "messages[3].content: control character U+0007 at byte
 * 17", and is safe to show the client: no internals; the client's own
 * key names are escaped and cut to 64 bytes); 500 when memory ran out.
 * body is only read during the call and may be freed afterwards.
 * PAL_GW_MODELS takes no body (len must be 0).
 */
int pal_gw_body_check(struct pal_gw_body *b, enum pal_gw_route_kind kind,
		      const uint8_t *body, size_t len,
		      const struct pal_gw_body_policy *pol, unsigned flags,
		      int *status, struct pal_err *err);

/* The facts of the last successful check (zeroed otherwise). */
const struct pal_gw_body_info *pal_gw_body_info(const struct pal_gw_body *b);

/*
 * Bounds the output of a request that names no max_tokens (nor
 * max_completion_tokens) by adding "max_tokens": ceiling, for a role or
 * policy ceiling that a missing field would escape.  No-op when ceiling
 * is 0, the request already names a bound (the check refused one above
 * pol->max_tokens; a role's own ceiling is authz's to enforce), or the
 * route is not chat or completion.  0, or PAL_ERR_NOMEM.
 */
int pal_gw_body_default_max_tokens(struct pal_gw_body *b, uint32_t ceiling,
				   struct pal_err *err);

/*
 * The body to forward upstream: when info.rewritten, the compact
 * re-serialization of the checked request (*out, *out_len, valid until
 * the next check, reset or free), else *out = NULL and the caller
 * forwards the client's original bytes.  0, or PAL_ERR_NOMEM.
 */
int pal_gw_body_output(struct pal_gw_body *b, const uint8_t **out,
		       size_t *out_len, struct pal_err *err);

/* ---- responses ---- */

/* Token usage as the upstream reported it. */
struct pal_gw_usage {
	int present;		/* a "usage" object was seen */
	uint64_t prompt_tokens;
	uint64_t completion_tokens;	/* 0 for embeddings */
	uint64_t total_tokens;	/* as reported, or the sum when absent */
};

/* Bounds on what the upstream may send; a field of 0 takes the default. */
struct pal_gw_resp_limits {
	size_t max_body;	/* a JSON body; default 16 MiB */
	size_t max_event;	/* one SSE event, raw; default 1 MiB */
	uint32_t max_depth;	/* JSON nesting; default 64 */
};

/*
 * Filters a non-streamed JSON response: top-level fields named in
 * pol->strip are removed, choices[].logprobs (and the top-level
 * prompt_logprobs vLLM adds) when pol->strip_choice_logprobs, and the
 * usage is read into *usage.  When something was removed, *out holds the
 * compact re-serialization (caller frees with free()); else *out is NULL
 * and the original bytes are forwarded.  Refuses (PAL_ERR_FORMAT or
 * PAL_ERR_LIMIT, which the gateway answers with 502) a body that is not a
 * JSON object, has duplicate keys, is deeper or larger than lim allows, or
 * whose usage is not an object of non-negative integers.  lim may be NULL
 * for the defaults.
 */
int pal_gw_resp_filter_json(const uint8_t *body, size_t len,
			    const struct pal_gw_output_policy *pol,
			    const struct pal_gw_resp_limits *lim,
			    struct pal_gw_usage *usage, char **out,
			    size_t *out_len, struct pal_err *err);

/*
 * Where the SSE filter sends its output: called with filtered bytes (one
 * or more whole events) in order; returns 0, or non-zero to stop the
 * stream (pal_gw_sse_feed then returns PAL_ERR_IO).
 */
typedef int (*pal_gw_sse_emit_fn)(void *arg, const void *p, size_t n);

/* Flags of pal_gw_sse_new. */
/*
 * The gateway added include_usage (pal_gw_body_info.usage_added): the
 * usage-only final chunk (empty "choices") is dropped and "usage" is
 * removed from the other chunks, after the usage is read.
 */
#define PAL_GW_SSE_DROP_USAGE	0x1u

struct pal_gw_sse;

/*
 * An incremental filter of one text/event-stream body (after HTTP
 * de-chunking).  pol and lim (NULL: defaults) must outlive it; caller
 * frees.  What it passes, rewrites and drops: docs/gateway-bodies.md.
 */
int pal_gw_sse_new(struct pal_gw_sse **out,
		   const struct pal_gw_output_policy *pol,
		   const struct pal_gw_resp_limits *lim, unsigned flags,
		   pal_gw_sse_emit_fn emit, void *arg, struct pal_err *err);

/*
 * Feeds the next n bytes of the stream, cut anywhere.  Each event is
 * emitted, rewritten or dropped as soon as its terminating blank line
 * arrives; output is the same however the input is sliced.  Errors
 * (PAL_ERR_FORMAT: an event's data is neither JSON object nor [DONE], a
 * NUL byte, an event after [DONE]; PAL_ERR_LIMIT: an event larger than
 * lim->max_event; PAL_ERR_IO: emit refused) are final: the gateway cuts
 * the stream.
 */
int pal_gw_sse_feed(struct pal_gw_sse *s, const void *p, size_t n,
		    struct pal_err *err);

/*
 * The end of the stream: PAL_ERR_TRUNCATED when it stopped inside an
 * event (which is dropped, as an SSE client would), else 0.
 */
int pal_gw_sse_finish(struct pal_gw_sse *s, struct pal_err *err);

/* The last usage the stream reported (present = 0 when none). */
void pal_gw_sse_usage(const struct pal_gw_sse *s, struct pal_gw_usage *u);

/* 1 once "data: [DONE]" went through. */
int pal_gw_sse_done(const struct pal_gw_sse *s);

void pal_gw_sse_free(struct pal_gw_sse *s);

#endif
