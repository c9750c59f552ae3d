/*
 * test_gwbody.c - request body checks (gwbody.h): each route kind's valid
 * bodies and the facts read from them, each refusal with its status and
 * the field it names, output minimization refused, stripped and allowed,
 * the unknown-field policies at every level, the encodings a gateway and
 * a backend could read differently, include_usage added to streams, and
 * the time one check of a 2 KiB chat body takes (printed, not judged).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <jansson.h>

#include "palisade/gwbody.h"

static struct pal_gw_body_policy
policy(void)
{
	struct pal_gw_body_policy p = {
		.max_body = 1u << 20,
		.max_prompt = 64u << 10,
		.max_messages = 64,
		.max_tokens = 4096,
		.max_n = 4,
		.temperature_max = 2.0,
		.max_stop = 4,
		.max_tools = 8,
		.max_depth = 32,
		.unknown_fields = PAL_GW_REFUSE,
		.logprobs = PAL_GW_REFUSE,
		.top_logprobs = PAL_GW_REFUSE,
		.logit_bias = PAL_GW_REFUSE,
		.echo = PAL_GW_REFUSE,
		.n_many = PAL_GW_REFUSE,
	};
	return p;
}

static struct pal_gw_body *
body_new(void)
{
	struct pal_gw_body *b = NULL;

	assert_int_equal(pal_gw_body_new(&b, NULL), 0);
	return b;
}

static int
check_n(struct pal_gw_body *b, enum pal_gw_route_kind kind, const char *json,
	size_t len, const struct pal_gw_body_policy *pol, unsigned flags,
	int *status, struct pal_err *err)
{
	pal_err_clear(err);
	return pal_gw_body_check(b, kind, (const uint8_t *)json, len, pol,
				 flags, status, err);
}

static const struct pal_gw_body_info *
accept_as(struct pal_gw_body *b, enum pal_gw_route_kind kind, const char *json,
	  const struct pal_gw_body_policy *pol, unsigned flags)
{
	struct pal_err err;
	int status = -1;

	if (check_n(b, kind, json, strlen(json), pol, flags, &status,
		    &err) != 0)
		fail_msg("refused (%d) %s\n  body: %s", status, err.msg, json);
	assert_int_equal(status, 0);
	return pal_gw_body_info(b);
}

/* Refused with status; the message contains want. */
static void
refuse_n(enum pal_gw_route_kind kind, const char *json, size_t len,
	 const struct pal_gw_body_policy *pol, int want_status,
	 const char *want)
{
	struct pal_gw_body *b = body_new();
	struct pal_err err;
	size_t i;
	int status = -1, rc;

	rc = check_n(b, kind, json, len, pol, 0, &status, &err);
	if (rc == 0)
		fail_msg("accepted: %.*s", (int)len, json);
	if (status != want_status || strstr(err.msg, want) == NULL)
		fail_msg("refused %d '%s', wanted %d '%s'\n  body: %.*s",
			 status, err.msg, want_status, want, (int)len, json);
	/* The message is for the client: printable ASCII or UTF-8 only. */
	for (i = 0; err.msg[i] != '\0'; i++)
		assert_true((unsigned char)err.msg[i] >= 0x20 &&
			    (unsigned char)err.msg[i] != 0x7f);
	/* A refused check leaves nothing behind. */
	assert_null(pal_gw_body_info(b)->model);
	pal_gw_body_free(b);
}

static void
refuse(enum pal_gw_route_kind kind, const char *json,
       const struct pal_gw_body_policy *pol, int want_status, const char *want)
{
	refuse_n(kind, json, strlen(json), pol, want_status, want);
}

/* The body as forwarded, parsed (the original when not rewritten). */
static json_t *
forwarded(struct pal_gw_body *b, const char *orig)
{
	const uint8_t *out;
	size_t len;
	json_t *j;

	assert_int_equal(pal_gw_body_output(b, &out, &len, NULL), 0);
	if (out == NULL) {
		assert_false(pal_gw_body_info(b)->rewritten);
		j = json_loads(orig, 0, NULL);
	} else {
		assert_true(pal_gw_body_info(b)->rewritten);
		j = json_loadb((const char *)out, len, JSON_REJECT_DUPLICATES,
			       NULL);
	}
	assert_non_null(j);
	return j;
}

#define CHAT_BASIC							\
	"{\"model\":\"llama-3.1-8b\",\"messages\":["			\
	"{\"role\":\"system\",\"content\":\"You are terse.\"},"		\
	"{\"role\":\"user\",\"content\":\"Say hi\\n\\tplease\"}],"	\
	"\"max_tokens\":64,\"temperature\":0.7,\"top_p\":1,"		\
	"\"stop\":[\"\\n\\n\",\"###\"],\"seed\":42,\"user\":\"u-1\"}"

static void
chat_valid(void **state)
{
	struct pal_gw_body_policy pol = policy();
	struct pal_gw_body *b = body_new();
	const struct pal_gw_body_info *in;
	const uint8_t *out;
	size_t len;

	(void)state;
	in = accept_as(b, PAL_GW_CHAT, CHAT_BASIC, &pol, 0);
	assert_string_equal(in->model, "llama-3.1-8b");
	assert_int_equal(in->model_len, 12);
	assert_int_equal(in->stream, 0);
	assert_int_equal(in->max_tokens, 64);
	assert_int_equal(in->n, 1);
	assert_int_equal(in->n_spans, 2);
	assert_int_equal(in->spans[0].role, PAL_GW_TEXT_SYSTEM);
	assert_int_equal(in->spans[1].role, PAL_GW_TEXT_USER);
	assert_int_equal(in->spans[1].index, 1);
	assert_int_equal(in->spans[1].len, 14);
	assert_memory_equal(in->spans[1].p, "Say hi\n\tplease", 14);
	assert_int_equal(in->prompt_bytes, 14 + 14);
	assert_int_equal(in->stripped, 0);
	assert_false(in->rewritten);
	assert_int_equal(pal_gw_body_output(b, &out, &len, NULL), 0);
	assert_null(out);
	pal_gw_body_free(b);
}

static void
chat_valid_tools(void **state)
{
	static const char json[] =
	    "{\"model\":\"m\",\"stream\":true,"
	    "\"stream_options\":{\"include_usage\":true},"
	    "\"max_completion_tokens\":100,\"max_tokens\":100,"
	    "\"messages\":["
	    "{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"Use tools.\"}]},"
	    "{\"role\":\"user\",\"name\":\"ann\",\"content\":["
	    "{\"type\":\"text\",\"text\":\"Weather in \"},"
	    "{\"type\":\"text\",\"text\":\"Oslo?\"}]},"
	    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
	    "{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
	    "{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":"
	    "\\\"Oslo\\\"}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"name\":null,"
	    "\"content\":\"-3 C, snow\"},"
	    "{\"role\":\"assistant\",\"content\":[{\"type\":\"refusal\","
	    "\"refusal\":\"no\"}],\"refusal\":null}],"
	    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_weather\",\"description\":\"Weather now\",\"parameters\":"
	    "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
	    "\"string\"}},\"required\":[\"city\"]},\"strict\":true}},"
	    "{\"type\":\"function\",\"function\":{\"name\":\"noop\","
	    "\"description\":null,\"parameters\":null,\"strict\":null}}],"
	    "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_weather\"}},\"parallel_tool_calls\":false,"
	    "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
	    "{\"name\":\"w\",\"schema\":{\"type\":\"object\"}}},"
	    "\"presence_penalty\":-2,\"frequency_penalty\":2.0,"
	    "\"logprobs\":false,\"top_logprobs\":0,\"logit_bias\":{},"
	    "\"n\":1,\"echo\":false,\"stop\":null}";
	struct pal_gw_body_policy pol = policy();
	struct pal_gw_body *b = body_new();
	const struct pal_gw_body_info *in;

	(void)state;
	in = accept_as(b, PAL_GW_CHAT, json, &pol, PAL_GW_BODY_FORCE_USAGE);
	assert_int_equal(in->stream, 1);
	assert_int_equal(in->include_usage, 1);
	assert_int_equal(in->usage_added, 0);
	assert_int_equal(in->max_tokens, 100);
	assert_false(in->rewritten);
	assert_int_equal(in->n_spans, 5);
	assert_int_equal(in->spans[0].role, PAL_GW_TEXT_DEVELOPER);
	assert_int_equal(in->spans[2].index, 1);
	assert_memory_equal(in->spans[2].p, "Oslo?", 5);
	assert_int_equal(in->spans[3].role, PAL_GW_TEXT_TOOL);
	assert_int_equal(in->spans[3].index, 3);
	assert_int_equal(in->spans[4].role, PAL_GW_TEXT_ASSISTANT);
	pal_gw_body_free(b);
}

static void
completion_and_embedding_valid(void **state)
{
	struct pal_gw_body_policy pol = policy();
	struct pal_gw_body *b = body_new();
	const struct pal_gw_body_info *in;

	(void)state;
	in = accept_as(b, PAL_GW_COMPLETION,
		       "{\"model\":\"m\",\"prompt\":\"def f(\",\"suffix\":"
		       "\"return x\",\"max_tokens\":16,\"logprobs\":null,"
		       "\"best_of\":1,\"echo\":false}", &pol, 0);
	assert_int_equal(in->n_spans, 2);
	assert_int_equal(in->spans[0].role, PAL_GW_TEXT_PROMPT);
	assert_int_equal(in->spans[1].role, PAL_GW_TEXT_SUFFIX);
	assert_int_equal(in->max_tokens, 16);
	in = accept_as(b, PAL_GW_COMPLETION,
		       "{\"model\":\"m\",\"prompt\":[\"a\",\"bc\",\"\"]}", &pol,
		       0);
	assert_int_equal(in->n_spans, 2);	/* empty text is no span */
	assert_int_equal(in->spans[1].index, 1);
	assert_int_equal(in->prompt_bytes, 3);
	in = accept_as(b, PAL_GW_EMBEDDING,
		       "{\"model\":\"e5\",\"input\":\"hello\","
		       "\"encoding_format\":\"base64\",\"dimensions\":256,"
		       "\"user\":\"x\"}", &pol, 0);
	assert_int_equal(in->n_spans, 1);
	assert_int_equal(in->spans[0].role, PAL_GW_TEXT_INPUT);
	in = accept_as(b, PAL_GW_EMBEDDING,
		       "{\"input\":[\"a\",\"b\"],\"model\":\"e5\"}", &pol, 0);
	assert_int_equal(in->n_spans, 2);
	assert_string_equal(in->model, "e5");
	in = accept_as(b, PAL_GW_MODELS, "", &pol, 0);
	assert_null(in->model);
	pal_gw_body_free(b);
}

static void
fields_are_refused_by_kind_type_and_range(void **state)
{
	struct pal_gw_body_policy pol = policy();
	char many[4096];
	size_t at, i;

	(void)state;
	refuse(PAL_GW_CHAT, "{}", &pol, 400, "model: is required");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\"}", &pol, 400,
	       "messages: is required");
	refuse(PAL_GW_CHAT, "{\"model\":\"\",\"messages\":[]}", &pol, 400,
	       "model: must not be empty");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[]}", &pol, 400,
	       "messages: must not be empty");
	refuse(PAL_GW_CHAT, "{\"model\":7,\"messages\":[]}", &pol, 400,
	       "model: must be a string");
	refuse(PAL_GW_COMPLETION, "{\"model\":\"m\",\"prompt\":null}", &pol,
	       400, "prompt: is required");
	refuse(PAL_GW_EMBEDDING, "{\"model\":\"m\"}", &pol, 400,
	       "input: is required");
#define MSG "\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]"
	refuse(PAL_GW_CHAT, "{" MSG ",\"max_tokens\":0}", &pol, 400,
	       "max_tokens: must be between 1 and 4096");
	refuse(PAL_GW_CHAT, "{" MSG ",\"max_tokens\":5000}", &pol, 400,
	       "max_tokens: above this gateway's ceiling of 4096");
	refuse(PAL_GW_CHAT, "{" MSG ",\"max_completion_tokens\":4097}", &pol,
	       400, "max_completion_tokens: above");
	refuse(PAL_GW_CHAT, "{" MSG ",\"max_tokens\":1e3}", &pol, 400,
	       "max_tokens: must be an integer");
	refuse(PAL_GW_CHAT, "{" MSG ",\"max_tokens\":100.0}", &pol, 400,
	       "max_tokens: must be an integer");
	refuse(PAL_GW_CHAT, "{" MSG ",\"max_tokens\":\"100\"}", &pol, 400,
	       "max_tokens: must be an integer");
	refuse(PAL_GW_CHAT, "{" MSG ",\"max_tokens\":10,"
	       "\"max_completion_tokens\":20}", &pol, 400,
	       "max_completion_tokens: differs from max_tokens");
	refuse(PAL_GW_CHAT, "{" MSG ",\"temperature\":2.5}", &pol, 400,
	       "temperature: must be between 0 and 2");
	refuse(PAL_GW_CHAT, "{" MSG ",\"temperature\":-0.1}", &pol, 400,
	       "temperature:");
	refuse(PAL_GW_CHAT, "{" MSG ",\"temperature\":\"1\"}", &pol, 400,
	       "temperature: must be a number");
	refuse(PAL_GW_CHAT, "{" MSG ",\"top_p\":1.5}", &pol, 400, "top_p:");
	refuse(PAL_GW_CHAT, "{" MSG ",\"presence_penalty\":3}", &pol, 400,
	       "presence_penalty: must be between -2 and 2");
	refuse(PAL_GW_CHAT, "{" MSG ",\"frequency_penalty\":-2.01}", &pol,
	       400, "frequency_penalty:");
	refuse(PAL_GW_CHAT, "{" MSG ",\"seed\":1.5}", &pol, 400, "seed:");
	refuse(PAL_GW_CHAT, "{" MSG ",\"stream\":1}", &pol, 400,
	       "stream: must be true or false");
	refuse(PAL_GW_CHAT, "{" MSG ",\"stream_options\":{\"include_usage\":"
	       "true}}", &pol, 400, "stream_options: only with");
	refuse(PAL_GW_CHAT, "{" MSG ",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",
	       &pol, 400, "stop: more than 4 entries");
	refuse(PAL_GW_CHAT, "{" MSG ",\"stop\":[\"a\",1]}", &pol, 400,
	       "stop[1]: must be a string");
	refuse(PAL_GW_CHAT, "{" MSG ",\"stop\":7}", &pol, 400, "stop:");
	refuse(PAL_GW_CHAT, "{" MSG ",\"user\":[]}", &pol, 400, "user:");
	refuse(PAL_GW_CHAT, "{" MSG ",\"tool_choice\":\"sometimes\"}", &pol,
	       400, "tool_choice: unknown value");
	refuse(PAL_GW_CHAT, "{" MSG ",\"tools\":[{\"type\":\"function\","
	       "\"function\":{\"name\":\"a b\"}}]}", &pol, 400,
	       "tools[0].function.name: must be 1 to 64");
	refuse(PAL_GW_CHAT, "{" MSG ",\"tools\":[{\"type\":\"retrieval\","
	       "\"function\":{\"name\":\"ab\"}}]}", &pol, 400,
	       "tools[0].type: must be \"function\"");
	refuse(PAL_GW_CHAT, "{" MSG ",\"response_format\":{\"type\":\"yaml\"}}",
	       &pol, 400, "response_format.type: unknown value");
	refuse(PAL_GW_EMBEDDING, "{\"model\":\"m\",\"input\":\"a\","
	       "\"encoding_format\":\"hex\"}", &pol, 400, "encoding_format:");
	refuse(PAL_GW_EMBEDDING, "{\"model\":\"m\",\"input\":\"a\","
	       "\"dimensions\":0}", &pol, 400, "dimensions:");
	/* A field of another kind is unknown here. */
	refuse(PAL_GW_EMBEDDING, "{\"model\":\"m\",\"input\":\"a\","
	       "\"max_tokens\":5}", &pol, 400, "max_tokens: unknown field");
	refuse(PAL_GW_CHAT, "{" MSG ",\"prompt\":\"x\"}", &pol, 400,
	       "prompt: unknown field");
	/* Messages. */
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":"
	       "\"function\",\"content\":\"x\"}]}", &pol, 400,
	       "messages[0].role: must be system");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"content\":"
	       "\"x\"}]}", &pol, 400, "messages[0]: \"role\" is required");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":"
	       "\"user\"}]}", &pol, 400, "messages[0]: \"content\" is required");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[\"hi\"]}", &pol,
	       400, "messages[0]: must be an object");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	       "\"content\":[{\"type\":\"text\",\"text\":\"x\"},{\"type\":"
	       "\"image_url\",\"image_url\":{\"url\":\"http://x/y.png\"}}]}]}",
	       &pol, 400, "messages[0].content[1]: only text parts");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	       "\"content\":[{\"type\":\"refusal\",\"refusal\":\"x\"}]}]}",
	       &pol, 400, "messages[0].content[0]: only text parts");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	       "\"content\":[{\"type\":\"text\"}]}]}", &pol, 400,
	       "messages[0].content[0]: \"text\" is required");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	       "\"content\":null}]}", &pol, 400, "messages[0].content: must be");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\","
	       "\"content\":\"r\"}]}", &pol, 400,
	       "messages[0]: \"tool_call_id\" is required");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	       "\"content\":\"x\",\"tool_calls\":[]}]}", &pol, 400,
	       "messages[0].tool_calls: unknown field");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":"
	       "\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":"
	       "\"function\",\"function\":{\"name\":\"f\"}}]}]}", &pol, 400,
	       "messages[0].tool_calls[0].function: \"name\" and \"arguments\"");
	refuse(PAL_GW_COMPLETION, "{\"model\":\"m\",\"prompt\":[1,2,3]}", &pol,
	       400, "prompt[0]: must be a string (token ids");
	refuse(PAL_GW_COMPLETION, "{\"model\":\"m\",\"prompt\":[[1,2]]}", &pol,
	       400, "prompt[0]: must be a string");
	refuse(PAL_GW_EMBEDDING, "{\"model\":\"m\",\"input\":[]}", &pol, 400,
	       "input: must not be empty");
	refuse(PAL_GW_COMPLETION, "{\"model\":\"m\",\"prompt\":\"a\","
	       "\"suffix\":[\"b\"]}", &pol, 400, "suffix: must be a string");
	/* Counts: messages and tools over the policy. */
	at = (size_t)snprintf(many, sizeof(many),
			      "{\"model\":\"m\",\"messages\":[");
	for (i = 0; i < 65; i++)
		at += (size_t)snprintf(many + at, sizeof(many) - at,
				       "%s{\"role\":\"user\",\"content\":\"x\"}",
				       i ? "," : "");
	snprintf(many + at, sizeof(many) - at, "]}");
	refuse(PAL_GW_CHAT, many, &pol, 400, "messages: more than 64 entries");
	at = (size_t)snprintf(many, sizeof(many), "{" MSG ",\"tools\":[");
	for (i = 0; i < 9; i++)
		at += (size_t)snprintf(many + at, sizeof(many) - at,
				       "%s{\"type\":\"function\",\"function\":"
				       "{\"name\":\"f%zu\"}}", i ? "," : "", i);
	snprintf(many + at, sizeof(many) - at, "]}");
	refuse(PAL_GW_CHAT, many, &pol, 400, "tools: more than 8 entries");
	/* The models route takes no body. */
	refuse(PAL_GW_MODELS, "{}", &pol, 400, "takes no body");
}

static void
sizes_are_refused_with_413(void **state)
{
	struct pal_gw_body_policy pol = policy();
	char body[600];

	(void)state;
	pol.max_body = 40;
	refuse(PAL_GW_CHAT, "{" MSG ",\"max_tokens\":64}", &pol, 413,
	       "body: larger than this gateway's 40 bytes");
	pol = policy();
	pol.max_prompt = 10;
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	       "\"content\":\"123456\"},{\"role\":\"user\",\"content\":"
	       "\"12345\"}]}", &pol, 413,
	       "messages[1].content: prompt text over this gateway's 10 bytes");
	refuse(PAL_GW_EMBEDDING, "{\"model\":\"m\",\"input\":[\"12345\","
	       "\"678901\"]}", &pol, 413, "input[1]: prompt text over");
	/* Exactly at the limit passes. */
	snprintf(body, sizeof(body), "{\"model\":\"m\",\"input\":\"1234567890\"}");
	pal_gw_body_free(NULL);
	{
		struct pal_gw_body *b = body_new();

		assert_int_equal(accept_as(b, PAL_GW_EMBEDDING, body, &pol, 0)->
				 prompt_bytes, 10);
		pal_gw_body_free(b);
	}
	pol = policy();
	refuse(PAL_GW_CHAT, "", &pol, 400, "body: empty");
}

static void
encodings_backends_read_differently_are_refused(void **state)
{
	struct pal_gw_body_policy pol = policy();
	char deep[200];
	size_t i;

	(void)state;
	/* Duplicate keys, at the top and deep inside. */
	refuse(PAL_GW_CHAT, "{\"model\":\"a\",\"model\":\"b\",\"messages\":[]}",
	       &pol, 400, "duplicate object key");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	       "\"content\":\"a\",\"content\":\"b\"}]}", &pol, 400,
	       "duplicate object key");
	refuse(PAL_GW_CHAT, "{" MSG ",\"tools\":[{\"type\":\"function\","
	       "\"function\":{\"name\":\"f\",\"parameters\":{\"a\":{\"b\":1,"
	       "\"b\":2}}}}]}", &pol, 400, "duplicate object key");
	/* The same key spelled with an escape is the same key. */
	refuse(PAL_GW_CHAT, "{\"model\":\"a\",\"m\\u006fdel\":\"b\"}", &pol,
	       400, "duplicate object key");
	/* Invalid UTF-8: overlong, surrogate encoded, truncated. */
	refuse(PAL_GW_CHAT, "{\"model\":\"\xc0\xaf\"}", &pol, 400,
	       "invalid JSON at byte");
	refuse(PAL_GW_CHAT, "{\"model\":\"\xed\xa0\x80\"}", &pol, 400,
	       "invalid JSON");
	refuse(PAL_GW_CHAT, "{\"model\":\"\xe2\x82\"}", &pol, 400,
	       "invalid JSON");
	/* Lone surrogates and NUL in escapes. */
	refuse(PAL_GW_CHAT, "{\"model\":\"\\ud800\"}", &pol, 400,
	       "lone surrogate");
	refuse(PAL_GW_CHAT, "{\"model\":\"\\udc00\"}", &pol, 400,
	       "lone surrogate");
	refuse(PAL_GW_CHAT, "{\"model\":\"\\ud800\\u0041\"}", &pol, 400,
	       "lone surrogate");
	refuse(PAL_GW_CHAT, "{\"model\":\"a\\u0000b\"}", &pol, 400, "\\u0000");
	refuse_n(PAL_GW_CHAT, "{\"model\":\"a\0b\"}", 15, &pol, 400,
		 "invalid JSON");
	/* Control characters in text: C0, DEL, C1; tab, LF and CR pass. */
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	       "\"content\":\"abc\\u0007\"}]}", &pol, 400,
	       "messages[0].content: control character U+0007 at byte 3");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	       "\"content\":[{\"type\":\"text\",\"text\":\"\\u001b[2J\"}]}]}",
	       &pol, 400,
	       "messages[0].content[0].text: control character U+001B at "
	       "byte 0");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	       "\"content\":\"\\u00e9\\u007f\"}]}", &pol, 400,
	       "control character U+007F at byte 2");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	       "\"content\":\"x\\u0085\"}]}", &pol, 400,
	       "control character U+0085 at byte 1");
	refuse(PAL_GW_CHAT, "{\"model\":\"m\\u000b\",\"messages\":[]}", &pol,
	       400, "model: control character U+000B");
	refuse(PAL_GW_CHAT, "{" MSG ",\"stop\":\"\\u0000\"}", &pol, 400,
	       "\\u0000");
	refuse(PAL_GW_COMPLETION, "{\"model\":\"m\",\"prompt\":[\"ok\","
	       "\"\\u0008\"]}", &pol, 400, "prompt[1]: control character U+0008");
	/* Raw control bytes are not JSON at all. */
	refuse(PAL_GW_CHAT, "{\"model\":\"m\x01\"}", &pol, 400, "invalid JSON");
	/* Byte order mark, trailing bytes, other top levels, non-finite. */
	refuse(PAL_GW_CHAT, "\xef\xbb\xbf{" MSG "}", &pol, 400,
	       "body: starts with a byte order mark");
	refuse(PAL_GW_CHAT, "{" MSG "} {}", &pol, 400, "invalid JSON");
	refuse(PAL_GW_CHAT, "[{" MSG "}]", &pol, 400, "body: must be a JSON "
	       "object");
	refuse(PAL_GW_CHAT, "\"x\"", &pol, 400, "invalid JSON");
	refuse(PAL_GW_CHAT, "{" MSG ",\"temperature\":NaN}", &pol, 400,
	       "invalid JSON");
	refuse(PAL_GW_CHAT, "{" MSG ",\"temperature\":1e400}", &pol, 400,
	       "invalid JSON");
	refuse(PAL_GW_CHAT, "{" MSG ",\"seed\":99999999999999999999}", &pol,
	       400, "invalid JSON");
	/* Nesting beyond the policy, refused before parsing. */
	pol.max_depth = 8;
	for (i = 0; i < 9; i++)
		deep[i] = '[';
	snprintf(deep + 9, sizeof(deep) - 9, "]]]]]]]]]");
	{
		char body[300];

		snprintf(body, sizeof(body), "{" MSG ",\"x\":%s}", deep);
		refuse(PAL_GW_CHAT, body, &pol, 400, "body: nested deeper than 8 "
		       "at byte");
	}
	/* Brackets inside strings do not count. */
	{
		struct pal_gw_body *b = body_new();

		accept_as(b, PAL_GW_CHAT, "{\"model\":\"m\",\"messages\":[{"
			  "\"role\":\"user\",\"content\":\"[[[[[[[[[[{{{{{{{{"
			  "\\\"[[[[\"}]}", &pol, 0);
		pal_gw_body_free(b);
	}
}

/* One output-minimization field under each action (slot: its offset). */
static void
minimize_case(enum pal_gw_route_kind kind, const char *json, const char *field,
	      size_t slot, unsigned bit)
{
	struct pal_gw_body_policy pol = policy();
	struct pal_gw_body *b = body_new();
	const struct pal_gw_body_info *in;
	enum pal_gw_action *act = (enum pal_gw_action *)((char *)&pol + slot);
	char want[80];
	json_t *j;

	snprintf(want, sizeof(want), "%s: not accepted", field);
	*act = PAL_GW_REFUSE;
	refuse(kind, json, &pol, 400, want);
	*act = PAL_GW_STRIP;
	in = accept_as(b, kind, json, &pol, 0);
	assert_true(in->rewritten);
	assert_true(in->stripped & bit);
	j = forwarded(b, json);
	assert_null(json_object_get(j, field));
	assert_non_null(json_object_get(j, "model"));
	json_decref(j);
	*act = PAL_GW_ALLOW;
	in = accept_as(b, kind, json, &pol, 0);
	assert_false(in->rewritten);
	assert_int_equal(in->stripped, 0);
	pal_gw_body_free(b);
}

#define SLOT(f) offsetof(struct pal_gw_body_policy, f)

static void
output_minimization_refuse_strip_allow(void **state)
{
	(void)state;
	minimize_case(PAL_GW_CHAT, "{" MSG ",\"logprobs\":true}", "logprobs",
		      SLOT(logprobs), PAL_GW_STRIPPED_LOGPROBS);
	minimize_case(PAL_GW_COMPLETION, "{\"model\":\"m\",\"prompt\":\"p\","
		      "\"logprobs\":0}", "logprobs", SLOT(logprobs),
		      PAL_GW_STRIPPED_LOGPROBS);
	minimize_case(PAL_GW_CHAT, "{" MSG ",\"prompt_logprobs\":1}",
		      "prompt_logprobs", SLOT(logprobs),
		      PAL_GW_STRIPPED_LOGPROBS);
	minimize_case(PAL_GW_COMPLETION, "{\"model\":\"m\",\"prompt\":\"p\","
		      "\"n_probs\":3}", "n_probs", SLOT(logprobs),
		      PAL_GW_STRIPPED_LOGPROBS);
	minimize_case(PAL_GW_CHAT, "{" MSG ",\"top_logprobs\":5}",
		      "top_logprobs", SLOT(top_logprobs),
		      PAL_GW_STRIPPED_TOP_LOGPROBS);
	minimize_case(PAL_GW_CHAT, "{" MSG ",\"logit_bias\":{\"50256\":-100,"
		      "\"11\":5.5}}", "logit_bias", SLOT(logit_bias),
		      PAL_GW_STRIPPED_LOGIT_BIAS);
	minimize_case(PAL_GW_COMPLETION, "{\"model\":\"m\",\"prompt\":\"p\","
		      "\"echo\":true}", "echo", SLOT(echo), PAL_GW_STRIPPED_ECHO);
	minimize_case(PAL_GW_CHAT, "{" MSG ",\"n\":3}", "n", SLOT(n_many),
		      PAL_GW_STRIPPED_N);
	minimize_case(PAL_GW_COMPLETION, "{\"model\":\"m\",\"prompt\":\"p\","
		      "\"best_of\":2}", "best_of", SLOT(n_many),
		      PAL_GW_STRIPPED_N);
}

static void
output_minimization_details(void **state)
{
	struct pal_gw_body_policy pol = policy();
	struct pal_gw_body *b = body_new();
	const struct pal_gw_body_info *in;
	json_t *j;
	static const char both[] = "{" MSG ",\"logprobs\":true,"
	    "\"top_logprobs\":3,\"temperature\":0.7}";

	(void)state;
	/* Stripping logprobs takes top_logprobs with it, whatever its own
	 * policy, and leaves every other value as it was. */
	pol.logprobs = PAL_GW_STRIP;
	pol.top_logprobs = PAL_GW_ALLOW;
	in = accept_as(b, PAL_GW_CHAT, both, &pol, 0);
	assert_int_equal(in->stripped, PAL_GW_STRIPPED_LOGPROBS |
			 PAL_GW_STRIPPED_TOP_LOGPROBS);
	j = forwarded(b, both);
	assert_null(json_object_get(j, "logprobs"));
	assert_null(json_object_get(j, "top_logprobs"));
	assert_true(json_real_value(json_object_get(j, "temperature")) == 0.7);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(json_object_get(j, "messages"), 0), "content")), "x");
	json_decref(j);
	/* n: stripped means one choice; allowed up to max_n. */
	pol = policy();
	pol.n_many = PAL_GW_STRIP;
	in = accept_as(b, PAL_GW_CHAT, "{" MSG ",\"n\":4}", &pol, 0);
	assert_int_equal(in->n, 1);
	pol.n_many = PAL_GW_ALLOW;
	in = accept_as(b, PAL_GW_CHAT, "{" MSG ",\"n\":4}", &pol, 0);
	assert_int_equal(in->n, 4);
	refuse(PAL_GW_CHAT, "{" MSG ",\"n\":5}", &pol, 400,
	       "n: above this gateway's ceiling of 4");
	refuse(PAL_GW_CHAT, "{" MSG ",\"n\":0}", &pol, 400, "n: must be");
	/* Allowed fields are still checked. */
	pol.logit_bias = PAL_GW_ALLOW;
	refuse(PAL_GW_CHAT, "{" MSG ",\"logit_bias\":{\"x1\":1}}", &pol, 400,
	       "logit_bias.x1: key must be a token id");
	refuse(PAL_GW_CHAT, "{" MSG ",\"logit_bias\":{\"01\":1}}", &pol, 400,
	       "logit_bias.01: key must be a token id");
	refuse(PAL_GW_CHAT, "{" MSG ",\"logit_bias\":{\"1\":101}}", &pol, 400,
	       "logit_bias.1: must be between -100 and 100");
	pol.logprobs = PAL_GW_ALLOW;
	refuse(PAL_GW_CHAT, "{" MSG ",\"logprobs\":1}", &pol, 400,
	       "logprobs: must be true or false");
	refuse(PAL_GW_COMPLETION, "{\"model\":\"m\",\"prompt\":\"p\","
	       "\"logprobs\":true}", &pol, 400, "logprobs: must be an integer");
	/* Values that do not widen the output pass under refuse. */
	pol = policy();
	in = accept_as(b, PAL_GW_CHAT, "{" MSG ",\"logprobs\":false,"
		       "\"top_logprobs\":null,\"echo\":false,\"n\":1,"
		       "\"logit_bias\":{},\"n_probs\":0}", &pol, 0);
	assert_false(in->rewritten);
	pal_gw_body_free(b);
}

static void
unknown_fields_refuse_strip_allow(void **state)
{
	static const char *const bodies[] = {
		"{" MSG ",\"top_k\":40}",
		"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
		"\"x\",\"reasoning_content\":\"y\"}]}",
		"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
		"[{\"type\":\"text\",\"text\":\"x\",\"cache_control\":{}}]}]}",
		"{" MSG ",\"stream\":true,\"stream_options\":{\"include_usage\":"
		"false,\"continuous_usage_stats\":true}}",
		"{" MSG ",\"tools\":[{\"type\":\"function\",\"function\":{"
		"\"name\":\"f\",\"zq\":1}}]}",
		"{" MSG ",\"tools\":[{\"type\":\"function\",\"zq\":1,"
		"\"function\":{\"name\":\"f\"}}]}",
		"{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\","
		"\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"index\":0,"
		"\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}]}",
		"{" MSG ",\"response_format\":{\"type\":\"text\",\"zq\":1}}",
		"{\"model\":\"m\",\"input\":\"a\",\"truncate\":true}",
	};
	static const char *const named[] = {
		"top_k: unknown field",
		"messages[0].reasoning_content: unknown field",
		"messages[0].content[0].cache_control: unknown field",
		"stream_options.continuous_usage_stats: unknown field",
		"tools[0].function.zq: unknown field",
		"tools[0].zq: unknown field",
		"messages[0].tool_calls[0].index: unknown field",
		"response_format.zq: unknown field",
		"truncate: unknown field",
	};
	struct pal_gw_body_policy pol = policy();
	struct pal_gw_body *b = body_new();
	const struct pal_gw_body_info *in;
	const uint8_t *out;
	size_t i, len;
	enum pal_gw_route_kind kind;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		kind = strstr(bodies[i], "\"input\"") ? PAL_GW_EMBEDDING :
		    PAL_GW_CHAT;
		pol.unknown_fields = PAL_GW_REFUSE;
		refuse(kind, bodies[i], &pol, 400, named[i]);
		pol.unknown_fields = PAL_GW_STRIP;
		in = accept_as(b, kind, bodies[i], &pol, 0);
		assert_int_equal(in->stripped, PAL_GW_STRIPPED_UNKNOWN);
		assert_int_equal(pal_gw_body_output(b, &out, &len, NULL), 0);
		assert_non_null(out);
		/* What was stripped is gone; the rest is as it was. */
		assert_null(memmem(out, len, "top_k", 5));
		assert_null(memmem(out, len, "reasoning", 9));
		assert_null(memmem(out, len, "cache_control", 13));
		assert_null(memmem(out, len, "continuous", 10));
		assert_null(memmem(out, len, "zq", 2));
		assert_null(memmem(out, len, "index", 5));
		assert_null(memmem(out, len, "truncate", 8));
		assert_non_null(memmem(out, len, "\"model\":\"m\"", 11));
		pol.unknown_fields = PAL_GW_ALLOW;
		in = accept_as(b, kind, bodies[i], &pol, 0);
		assert_false(in->rewritten);
	}
	pal_gw_body_free(b);
}

static void
client_key_names_are_escaped_in_messages(void **state)
{
	struct pal_gw_body_policy pol = policy();
	char body[400];

	(void)state;
	refuse(PAL_GW_CHAT, "{" MSG ",\"\\u001b[31mred\\\"q\":1}", &pol, 400,
	       "\\x1b[31mred\\x22q: unknown field");
	snprintf(body, sizeof(body), "{" MSG ",\"%0100d\":1}", 7);
	refuse(PAL_GW_CHAT, body, &pol, 400, "0000...: unknown field");
}

static void
streams_get_include_usage(void **state)
{
	struct pal_gw_body_policy pol = policy();
	struct pal_gw_body *b = body_new();
	const struct pal_gw_body_info *in;
	static const char plain[] = "{" MSG ",\"stream\":true}";
	static const char off[] = "{" MSG ",\"stream\":true,\"stream_options\":"
	    "{\"include_usage\":false}}";
	static const char on[] = "{" MSG ",\"stream\":true,\"stream_options\":"
	    "{\"include_usage\":true}}";
	json_t *j;

	(void)state;
	in = accept_as(b, PAL_GW_CHAT, plain, &pol, PAL_GW_BODY_FORCE_USAGE);
	assert_true(in->usage_added && in->rewritten && in->stream);
	assert_false(in->include_usage);
	j = forwarded(b, plain);
	assert_true(json_is_true(json_object_get(json_object_get(j,
	    "stream_options"), "include_usage")));
	json_decref(j);
	in = accept_as(b, PAL_GW_COMPLETION, "{\"model\":\"m\",\"prompt\":\"p\","
		       "\"stream\":true,\"stream_options\":{\"include_usage\":"
		       "false}}", &pol, PAL_GW_BODY_FORCE_USAGE);
	assert_true(in->usage_added && in->rewritten);
	j = forwarded(b, off);
	assert_true(json_is_true(json_object_get(json_object_get(j,
	    "stream_options"), "include_usage")));
	json_decref(j);
	in = accept_as(b, PAL_GW_CHAT, on, &pol, PAL_GW_BODY_FORCE_USAGE);
	assert_true(in->include_usage);
	assert_false(in->usage_added || in->rewritten);
	/* Without the flag, or without a stream, nothing is added. */
	in = accept_as(b, PAL_GW_CHAT, plain, &pol, 0);
	assert_false(in->usage_added || in->rewritten);
	in = accept_as(b, PAL_GW_CHAT, "{" MSG ",\"stream\":false}", &pol,
		       PAL_GW_BODY_FORCE_USAGE);
	assert_false(in->usage_added || in->rewritten);
	pal_gw_body_free(b);
}

static void
default_max_tokens_bounds_open_requests(void **state)
{
	struct pal_gw_body_policy pol = policy();
	struct pal_gw_body *b = body_new();
	const struct pal_gw_body_info *in;
	static const char open[] = "{" MSG "}";
	json_t *j;

	(void)state;
	accept_as(b, PAL_GW_CHAT, open, &pol, 0);
	assert_int_equal(pal_gw_body_default_max_tokens(b, 512, NULL), 0);
	in = pal_gw_body_info(b);
	assert_int_equal(in->max_tokens, 512);
	j = forwarded(b, open);
	assert_int_equal(json_integer_value(json_object_get(j, "max_tokens")),
			 512);
	json_decref(j);
	accept_as(b, PAL_GW_CHAT, "{" MSG ",\"max_tokens\":9}", &pol, 0);
	assert_int_equal(pal_gw_body_default_max_tokens(b, 512, NULL), 0);
	assert_int_equal(pal_gw_body_info(b)->max_tokens, 9);
	assert_false(pal_gw_body_info(b)->rewritten);
	accept_as(b, PAL_GW_EMBEDDING, "{\"model\":\"m\",\"input\":\"a\"}", &pol,
		  0);
	assert_int_equal(pal_gw_body_default_max_tokens(b, 512, NULL), 0);
	assert_false(pal_gw_body_info(b)->rewritten);
	pal_gw_body_free(b);
}

/* A chat body of about 2 KiB as the benchmark sends it. */
static size_t
bench_body(char *out, size_t cap)
{
	size_t at;

	at = (size_t)snprintf(out, cap,
			      "{\"model\":\"llama-3.1-8b-instruct\",\"messages\":"
			      "[{\"role\":\"system\",\"content\":\"You are a "
			      "helpful assistant that answers briefly.\"},"
			      "{\"role\":\"user\",\"content\":\"");
	while (at < 1900) {
		at += (size_t)snprintf(out + at, cap - at,
				       "Summarize the quarterly report, "
				       "section by section. ");
	}
	at += (size_t)snprintf(out + at, cap - at,
			       "\"}],\"max_tokens\":128,\"temperature\":0.2,"
			       "\"top_p\":0.95,\"stream\":false,\"user\":"
			       "\"bench\"}");
	return at;
}

static void
time_per_check(void **state)
{
	struct pal_gw_body_policy pol = policy();
	struct pal_gw_body *b = body_new();
	struct timespec t0, t1;
	char body[2400];
	size_t len = bench_body(body, sizeof(body));
	struct pal_err err;
	int i, status, rounds = 20000;
	double ns;

	(void)state;
	assert_true(len >= 2000 && len <= 2200);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < rounds; i++)
		assert_int_equal(pal_gw_body_check(b, PAL_GW_CHAT,
		    (const uint8_t *)body, len, &pol, PAL_GW_BODY_FORCE_USAGE,
		    &status, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	      (double)(t1.tv_nsec - t0.tv_nsec)) / rounds;
	printf("# pal_gw_body_check: %zu-byte chat body: %.1f us per check\n",
	       len, ns / 1000.0);
	pal_gw_body_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(chat_valid),
		cmocka_unit_test(chat_valid_tools),
		cmocka_unit_test(completion_and_embedding_valid),
		cmocka_unit_test(fields_are_refused_by_kind_type_and_range),
		cmocka_unit_test(sizes_are_refused_with_413),
		cmocka_unit_test(encodings_backends_read_differently_are_refused),
		cmocka_unit_test(output_minimization_refuse_strip_allow),
		cmocka_unit_test(output_minimization_details),
		cmocka_unit_test(unknown_fields_refuse_strip_allow),
		cmocka_unit_test(client_key_names_are_escaped_in_messages),
		cmocka_unit_test(streams_get_include_usage),
		cmocka_unit_test(default_max_tokens_bounds_open_requests),
		cmocka_unit_test(time_per_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
