/*
 * request.c - completion request bodies (request.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "request.h"

static int
bad(struct tl_request_error *e, int status, const char *param,
    const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int
bad(struct tl_request_error *e, int status, const char *param,
    const char *code, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->param = param;
	e->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* A field that is absent or null takes its default. */
static json_t *
field(json_t *root, const char *key)
{
	json_t *v = json_object_get(root, key);

	return json_is_null(v) ? NULL : v;
}

static int
number(json_t *root, const char *key, double min, double max, double *out,
       struct tl_request_error *e)
{
	json_t *v = field(root, key);

	if (v == NULL)
		return 0;
	if (!json_is_number(v) || json_number_value(v) < min ||
	    json_number_value(v) > max)
		return bad(e, 400, key, NULL, "%s must be a number from %g to "
			   "%g", key, min, max);
	*out = json_number_value(v);
	return 0;
}

static int
max_tokens(json_t *root, const char *key, unsigned *out,
	   struct tl_request_error *e)
{
	json_t *v = field(root, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return bad(e, 400, key, NULL, "%s must be a positive integer",
			   key);
	/* More than the context can hold is cut to it later. */
	*out = json_integer_value(v) > 1000000 ? 1000000 :
	    (unsigned)json_integer_value(v);
	return 0;
}

static int
one_stop(struct tl_request *r, json_t *v, struct tl_request_error *e)
{
	size_t n = json_is_string(v) ? json_string_length(v) : 0;
	unsigned i = r->gen.n_stops;

	if (!json_is_string(v) || n == 0 || n > TL_MAX_STOP_LEN)
		return bad(e, 400, "stop", NULL, "stop must be a string of 1 "
			   "to %d bytes or an array of up to %d of them",
			   TL_MAX_STOP_LEN, TL_MAX_STOPS);
	memcpy(r->stop_bytes[i], json_string_value(v), n);
	r->gen.stops[i] = r->stop_bytes[i];
	r->gen.stop_lens[i] = n;
	r->gen.n_stops++;
	return 0;
}

static int
stops(json_t *root, struct tl_request *r, struct tl_request_error *e)
{
	json_t *v = field(root, "stop"), *s;
	size_t i;

	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return one_stop(r, v, e);
	if (json_array_size(v) > TL_MAX_STOPS)
		return bad(e, 400, "stop", NULL, "at most %d stop sequences",
			   TL_MAX_STOPS);
	json_array_foreach(v, i, s)
		if (one_stop(r, s, e) != 0)
			return -1;
	return 0;
}

static int
streaming(json_t *root, struct tl_request *r, struct tl_request_error *e)
{
	json_t *v = field(root, "stream"), *opts = field(root, "stream_options");
	json_t *usage;

	if (v != NULL && !json_is_boolean(v))
		return bad(e, 400, "stream", NULL, "stream must be a boolean");
	r->stream = json_is_true(v);
	if (opts == NULL)
		return 0;
	if (!r->stream)
		return bad(e, 400, "stream_options", NULL, "stream_options "
			   "is only allowed with stream: true");
	if (!json_is_object(opts))
		return bad(e, 400, "stream_options", NULL, "stream_options "
			   "must be an object");
	usage = field(opts, "include_usage");
	if (usage != NULL && !json_is_boolean(usage))
		return bad(e, 400, "stream_options", NULL, "stream_options."
			   "include_usage must be a boolean");
	r->include_usage = json_is_true(usage);
	return 0;
}

/* The sampling fields common to both routes. */
static int
sampling(json_t *root, struct tl_request *r, uint64_t seed,
	 struct tl_request_error *e)
{
	json_t *n = field(root, "n"), *s = field(root, "seed");

	r->gen.temperature = 1.0;
	r->gen.top_p = 1.0;
	r->gen.max_tokens = TL_DEFAULT_MAX_TOKENS;
	r->gen.seed = seed;
	if (number(root, "temperature", 0, 2, &r->gen.temperature, e) ||
	    number(root, "top_p", 0, 1, &r->gen.top_p, e))
		return -1;
	if (r->gen.top_p <= 0)
		return bad(e, 400, "top_p", NULL, "top_p must be above 0");
	if (n != NULL && (!json_is_integer(n) || json_integer_value(n) != 1))
		return bad(e, 400, "n", NULL, "only n = 1 is served");
	if (s != NULL && !json_is_integer(s))
		return bad(e, 400, "seed", NULL, "seed must be an integer");
	if (s != NULL)
		r->gen.seed = (uint64_t)json_integer_value(s);
	if (r->chat && max_tokens(root, "max_completion_tokens",
				  &r->gen.max_tokens, e) != 0)
		return -1;
	if ((!r->chat || field(root, "max_completion_tokens") == NULL) &&
	    max_tokens(root, "max_tokens", &r->gen.max_tokens, e) != 0)
		return -1;
	return stops(root, r, e) || streaming(root, r, e);
}

/* --- prompts -------------------------------------------------------------- */

static int
completion_prompt(json_t *root, struct tl_request *r,
		  struct tl_request_error *e)
{
	json_t *p = json_object_get(root, "prompt");
	size_t n;

	if (p == NULL)
		return bad(e, 400, "prompt", NULL, "prompt is required");
	if (!json_is_string(p))
		return bad(e, 400, "prompt", NULL, "prompt must be a string");
	n = json_string_length(p);
	if ((r->prompt = malloc(n + 1)) == NULL)
		return bad(e, 500, NULL, NULL, "out of memory");
	memcpy(r->prompt, json_string_value(p), n);
	r->gen.prompt_len = n;
	return 0;
}

static const char *const roles[] = {
	"system", "developer", "user", "assistant", "tool",
};

/*
 * Appends a message's content, a string or an array of text parts, to
 * buf at *n, up to cap (counting past it, so the caller sees the size).
 */
static int
content(json_t *c, uint8_t *buf, size_t cap, size_t *n,
	struct tl_request_error *e)
{
	json_t *part;
	size_t i;

	if (json_is_string(c)) {
		size_t k = json_string_length(c);

		if (*n < cap)
			memcpy(buf + *n, json_string_value(c),
			       k < cap - *n ? k : cap - *n);
		*n += k;
		return 0;
	}
	if (!json_is_array(c))
		return bad(e, 400, "messages", NULL, "a message's content must "
			   "be a string or an array of text parts");
	json_array_foreach(c, i, part) {
		json_t *type = json_object_get(part, "type");
		json_t *text = json_object_get(part, "text");

		if (!json_is_string(type) ||
		    strcmp(json_string_value(type), "text") != 0 ||
		    !json_is_string(text))
			return bad(e, 400, "messages", NULL, "only text parts "
				   "({\"type\": \"text\", \"text\": ...}) are "
				   "served");
		if (content(text, buf, cap, n, e) != 0)
			return -1;
	}
	return 0;
}

static void
put(uint8_t *buf, size_t cap, size_t *n, const char *s)
{
	size_t k = strlen(s);

	if (*n < cap)
		memcpy(buf + *n, s, k < cap - *n ? k : cap - *n);
	*n += k;
}

static int
message(json_t *m, uint8_t *buf, size_t cap, size_t *n,
	struct tl_request_error *e)
{
	json_t *role = json_object_get(m, "role"), *c = json_object_get(m,
									"content");
	size_t k;

	if (!json_is_object(m))
		return bad(e, 400, "messages", NULL, "each message must be an "
			   "object");
	for (k = 0; k < sizeof(roles) / sizeof(roles[0]); k++)
		if (json_is_string(role) &&
		    strcmp(json_string_value(role), roles[k]) == 0)
			break;
	if (k == sizeof(roles) / sizeof(roles[0]))
		return bad(e, 400, "messages", NULL, "a message's role must be "
			   "system, developer, user, assistant or tool");
	put(buf, cap, n, roles[k]);
	put(buf, cap, n, ": ");
	/* An assistant's turn that only called tools has no content. */
	if (!(json_is_null(c) && k == 3) &&
	    content(c, buf, cap, n, e) != 0)
		return -1;
	put(buf, cap, n, "\n");
	return 0;
}

static int
chat_prompt(json_t *root, struct tl_request *r, unsigned context,
	    struct tl_request_error *e)
{
	json_t *msgs = json_object_get(root, "messages"), *m;
	size_t i, n = 0;

	if (msgs == NULL)
		return bad(e, 400, "messages", NULL, "messages is required");
	if (!json_is_array(msgs) || json_array_size(msgs) == 0 ||
	    json_array_size(msgs) > TL_MAX_MESSAGES)
		return bad(e, 400, "messages", NULL, "messages must be an array "
			   "of 1 to %d messages", TL_MAX_MESSAGES);
	/* Built into a buffer of the context's size: a longer prompt is
	 * refused by its size alone, which is still counted. */
	if ((r->prompt = malloc(context)) == NULL)
		return bad(e, 500, NULL, NULL, "out of memory");
	json_array_foreach(msgs, i, m)
		if (message(m, r->prompt, context, &n, e) != 0)
			return -1;
	put(r->prompt, context, &n, "assistant: ");
	r->gen.prompt_len = n;
	return 0;
}

int
tl_request_parse(const char *body, size_t len, int chat, const char *name,
		 unsigned context, uint64_t seed, struct tl_request *r,
		 struct tl_request_error *e)
{
	json_error_t jerr;
	json_t *root, *model;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->chat = chat;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return bad(e, 400, NULL, NULL, "the body is not JSON (byte %d: "
			   "%s)", jerr.position, jerr.text);
	if (!json_is_object(root)) {
		bad(e, 400, NULL, NULL, "the body is not a JSON object");
		goto out;
	}
	model = json_object_get(root, "model");
	if (!json_is_string(model)) {
		bad(e, 400, "model", NULL, "model must be a string");
		goto out;
	}
	if (strcmp(json_string_value(model), name) != 0) {
		bad(e, 404, "model", "model_not_found", "the model '%.64s%s' "
		    "does not exist; this server has '%s'",
		    json_string_value(model),
		    json_string_length(model) > 64 ? "..." : "", name);
		goto out;
	}
	if ((chat ? chat_prompt(root, r, context, e) :
	     completion_prompt(root, r, e)) != 0 ||
	    sampling(root, r, seed, e) != 0)
		goto out;
	if (r->gen.prompt_len == 0 || r->gen.prompt_len >= context) {
		bad(e, 400, chat ? "messages" : "prompt",
		    "context_length_exceeded", "the prompt is %zu tokens "
		    "(bytes); this model's context holds %u, with at least one "
		    "left for the answer, and the prompt may not be empty",
		    r->gen.prompt_len, context);
		goto out;
	}
	r->gen.prompt = r->prompt;
	rc = 0;
out:
	json_decref(root);
	if (rc != 0)
		tl_request_clear(r);
	return rc;
}

void
tl_request_clear(struct tl_request *r)
{
	free(r->prompt);
	memset(r, 0, sizeof(*r));
}
