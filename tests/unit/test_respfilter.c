/*
 * test_respfilter.c - the response filter (gwbody.h): upstream JSON
 * bodies stripped per the output policy with their usage read, the SSE
 * filter fed whole, byte by byte and in random slices with the same
 * output, line endings, comments and fields normalized, the usage chunk
 * dropped when the gateway asked for it, and each malformed upstream
 * refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "palisade/buf.h"
#include "palisade/gwbody.h"

static char *strip_names[] = { "system_fingerprint", "service_tier" };

static const struct pal_gw_output_policy out_pol = {
	.strip = strip_names,
	.n_strip = 2,
	.strip_choice_logprobs = 1,
};

static const struct pal_gw_output_policy no_pol = { 0 };

/* ---- JSON bodies ---- */

#define CHAT_RESPONSE							\
	"{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\","		\
	"\"object\":\"chat.completion\",\"created\":1741569952,"	\
	"\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"	\
	"\"message\":{\"role\":\"assistant\",\"content\":\"Hello! How "	\
	"can I assist you today?\",\"refusal\":null,\"annotations\":[]},"	\
	"\"logprobs\":{\"content\":[{\"token\":\"Hello\",\"logprob\":"	\
	"-0.31725305,\"bytes\":[72,101,108,108,111],\"top_logprobs\":[]}]},"	\
	"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":19,"	\
	"\"completion_tokens\":10,\"total_tokens\":29,"			\
	"\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0}},"	\
	"\"service_tier\":\"default\",\"system_fingerprint\":"		\
	"\"fp_fc9f1d7035\"}"

#define CHAT_STRIPPED							\
	"{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\","		\
	"\"object\":\"chat.completion\",\"created\":1741569952,"	\
	"\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"	\
	"\"message\":{\"role\":\"assistant\",\"content\":\"Hello! How "	\
	"can I assist you today?\",\"refusal\":null,\"annotations\":[]},"	\
	"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":19,"	\
	"\"completion_tokens\":10,\"total_tokens\":29,"			\
	"\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0}}}"

static int
filter(const char *body, const struct pal_gw_output_policy *pol,
       const struct pal_gw_resp_limits *lim, struct pal_gw_usage *u,
       char **out, size_t *out_len, struct pal_err *err)
{
	pal_err_clear(err);
	return pal_gw_resp_filter_json((const uint8_t *)body, strlen(body),
				       pol, lim, u, out, out_len, err);
}

static void
json_bodies_are_stripped_and_counted(void **state)
{
	struct pal_gw_usage u;
	struct pal_err err;
	size_t len;
	char *out;

	(void)state;
	assert_int_equal(filter(CHAT_RESPONSE, &out_pol, NULL, &u, &out, &len,
				&err), 0);
	assert_non_null(out);
	assert_string_equal(out, CHAT_STRIPPED);
	assert_int_equal(len, strlen(CHAT_STRIPPED));
	assert_true(u.present);
	assert_int_equal(u.prompt_tokens, 19);
	assert_int_equal(u.completion_tokens, 10);
	assert_int_equal(u.total_tokens, 29);
	free(out);
	/* Nothing to strip: the original goes through, usage still read. */
	assert_int_equal(filter(CHAT_STRIPPED, &out_pol, NULL, &u, &out, &len,
				&err), 0);
	assert_null(out);
	assert_int_equal(u.total_tokens, 29);
	assert_int_equal(filter(CHAT_RESPONSE, &no_pol, NULL, &u, &out, &len,
				&err), 0);
	assert_null(out);
	assert_int_equal(filter(CHAT_RESPONSE, NULL, NULL, &u, &out, &len,
				&err), 0);
	assert_null(out);
	/* vLLM's prompt_logprobs goes with choice logprobs; null stays. */
	assert_int_equal(filter("{\"choices\":[{\"logprobs\":null}],"
				"\"prompt_logprobs\":[null,{\"1\":{}}]}",
				&out_pol, NULL, &u, &out, &len, &err), 0);
	assert_string_equal(out, "{\"choices\":[{\"logprobs\":null}]}");
	assert_false(u.present);
	free(out);
}

static void
json_usage_shapes(void **state)
{
	struct pal_gw_usage u;
	struct pal_err err;
	size_t len;
	char *out;

	(void)state;
	/* Embeddings: no completion tokens. */
	assert_int_equal(filter("{\"object\":\"list\",\"data\":[{\"object\":"
				"\"embedding\",\"index\":0,\"embedding\":"
				"[0.0023064255,-0.009327292]}],\"model\":"
				"\"text-embedding-3-small\",\"usage\":"
				"{\"prompt_tokens\":8,\"total_tokens\":8}}",
				&out_pol, NULL, &u, &out, &len, &err), 0);
	assert_null(out);
	assert_true(u.present);
	assert_int_equal(u.prompt_tokens, 8);
	assert_int_equal(u.completion_tokens, 0);
	assert_int_equal(u.total_tokens, 8);
	/* No total: the sum. */
	assert_int_equal(filter("{\"usage\":{\"prompt_tokens\":5,"
				"\"completion_tokens\":7}}", &out_pol, NULL,
				&u, &out, &len, &err), 0);
	assert_int_equal(u.total_tokens, 12);
	/* An upstream error has no usage. */
	assert_int_equal(filter("{\"error\":{\"message\":\"bad\",\"type\":"
				"\"invalid_request_error\",\"code\":400}}",
				&out_pol, NULL, &u, &out, &len, &err), 0);
	assert_null(out);
	assert_false(u.present);
	assert_int_equal(filter("{\"usage\":null}", &out_pol, NULL, &u, &out,
				&len, &err), 0);
	assert_false(u.present);
	/* NUL in generated text is the client's business. */
	assert_int_equal(filter("{\"choices\":[{\"text\":\"a\\u0000b\"}]}",
				&out_pol, NULL, &u, &out, &len, &err), 0);
}

static void
malformed_upstream_json_is_refused(void **state)
{
	static const struct {
		const char *body;
		int code;
		const char *msg;
	} bad[] = {
		{ "", PAL_ERR_FORMAT, "invalid JSON" },
		{ "<html>502</html>", PAL_ERR_FORMAT, "invalid JSON" },
		{ "[{\"a\":1}]", PAL_ERR_FORMAT, "not an object" },
		{ "{\"a\":1} x", PAL_ERR_FORMAT, "invalid JSON" },
		{ "{\"usage\":{},\"usage\":{}}", PAL_ERR_FORMAT, "duplicate" },
		{ "{\"c\":[{\"a\":1,\"a\":2}]}", PAL_ERR_FORMAT, "duplicate" },
		{ "{\"usage\":{\"prompt_tokens\":-1}}", PAL_ERR_FORMAT,
		  "usage.prompt_tokens" },
		{ "{\"usage\":{\"completion_tokens\":1.5}}", PAL_ERR_FORMAT,
		  "usage.completion_tokens" },
		{ "{\"usage\":{\"total_tokens\":\"9\"}}", PAL_ERR_FORMAT,
		  "usage.total_tokens" },
		{ "{\"usage\":[1]}", PAL_ERR_FORMAT, "usage is not an object" },
		{ "{\"a\":\"\xff\"}", PAL_ERR_FORMAT, "invalid JSON" },
		{ "{\"a\":\"\\udc00\"}", PAL_ERR_FORMAT, "invalid JSON" },
		{ "{\"a\":[[[[{}]]]]}", PAL_ERR_LIMIT, "deeper than 4" },
		{ "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1}",
		  PAL_ERR_LIMIT, "larger than 48" },
	};
	struct pal_gw_resp_limits lim = { .max_body = 48, .max_depth = 4 };
	struct pal_gw_usage u;
	struct pal_err err;
	size_t i, len;
	char *out;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = (char *)1;
		rc = filter(bad[i].body, &out_pol, &lim, &u, &out, &len, &err);
		if (rc != bad[i].code || strstr(err.msg, bad[i].msg) == NULL)
			fail_msg("%s: got %d '%s'", bad[i].body, rc, err.msg);
		assert_null(out);
		assert_false(u.present);
	}
}

/* ---- SSE ---- */

struct sink {
	struct pal_buf b;
	int refuse_after;	/* emits accepted before refusing; -1 never */
	int calls;
};

static int
sink_emit(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	if (s->refuse_after >= 0 && s->calls >= s->refuse_after)
		return -1;
	s->calls++;
	return pal_buf_append(&s->b, p, n);
}

static struct pal_gw_sse *
sse_new(struct sink *k, unsigned flags, const struct pal_gw_resp_limits *lim)
{
	struct pal_gw_sse *s = NULL;

	pal_buf_init(&k->b, 1u << 20);
	k->refuse_after = -1;
	k->calls = 0;
	assert_int_equal(pal_gw_sse_new(&s, &out_pol, lim, flags, sink_emit, k,
					NULL), 0);
	return s;
}

/* Feeds in slices of step bytes (0: random 1..17); returns the first
 * error, 0 after a clean finish. */
static int
feed_all(struct pal_gw_sse *s, const char *in, size_t n, size_t step,
	 struct pal_err *err)
{
	uint32_t rnd = 12345;
	size_t i = 0, k;
	int r;

	while (i < n) {
		rnd = rnd * 1103515245u + 12345u;
		k = step ? step : 1 + (rnd >> 16) % 17;
		if (k > n - i)
			k = n - i;
		if ((r = pal_gw_sse_feed(s, in + i, k, err)) != 0)
			return r;
		i += k;
	}
	return pal_gw_sse_finish(s, err);
}

/* Runs a stream whole, byte by byte and in random slices; all three
 * outputs must be want. */
static void
expect_stream(const char *in, unsigned flags, const char *want,
	      struct pal_gw_usage *u)
{
	static const size_t steps[] = { 1u << 30, 1, 0, 2, 3 };
	struct pal_err err;
	struct sink k;
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct pal_gw_sse *s = sse_new(&k, flags, NULL);
		int r = feed_all(s, in, strlen(in), steps[i], &err);

		if (r != 0)
			fail_msg("step %zu: %d %s", steps[i], r, err.msg);
		if (k.b.len != strlen(want) ||
		    memcmp(k.b.p ? (char *)k.b.p : "", want, k.b.len) != 0)
			fail_msg("step %zu:\n got: %.*s\nwant: %s", steps[i],
				 (int)k.b.len, k.b.p ? (char *)k.b.p : "", want);
		if (u != NULL)
			pal_gw_sse_usage(s, u);
		pal_gw_sse_free(s);
		pal_buf_free(&k.b);
	}
}

#define CHUNK(choices, usage)						\
	"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","	\
	"\"created\":1741569952,\"model\":\"m\",\"system_fingerprint\":"	\
	"\"fp_44709d6fcb\",\"choices\":[" choices "]" usage "}\n\n"
#define OUT(choices, usage)						\
	"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","	\
	"\"created\":1741569952,\"model\":\"m\",\"choices\":[" choices "]"	\
	usage "}\n\n"
#define C_ROLE "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":"	\
	"\"\"},\"logprobs\":null,\"finish_reason\":null}"
#define C_HI "{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"logprobs\":"	\
	"{\"content\":[{\"token\":\"Hi\",\"logprob\":-0.5,\"bytes\":[72,105],"	\
	"\"top_logprobs\":[]}]},\"finish_reason\":null}"
#define C_HI_OUT "{\"index\":0,\"delta\":{\"content\":\"Hi\"},"		\
	"\"finish_reason\":null}"
#define C_STOP "{\"index\":0,\"delta\":{},\"logprobs\":null,"		\
	"\"finish_reason\":\"stop\"}"
#define U_NULL ",\"usage\":null"
#define U_FULL ",\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,"	\
	"\"total_tokens\":11}"

static const char stream_in[] =
	CHUNK(C_ROLE, U_NULL) CHUNK(C_HI, U_NULL) CHUNK(C_STOP, U_NULL)
	CHUNK("", U_FULL) "data: [DONE]\n\n";

static void
sse_strips_and_counts_however_sliced(void **state)
{
	static const char want[] =
	    OUT(C_ROLE, U_NULL) OUT(C_HI_OUT, U_NULL) OUT(C_STOP, U_NULL)
	    OUT("", U_FULL) "data: [DONE]\n\n";
	struct pal_gw_usage u;

	(void)state;
	expect_stream(stream_in, 0, want, &u);
	assert_true(u.present);
	assert_int_equal(u.prompt_tokens, 9);
	assert_int_equal(u.completion_tokens, 2);
	assert_int_equal(u.total_tokens, 11);
}

static void
sse_drops_the_usage_the_gateway_added(void **state)
{
	static const char want[] =
	    OUT(C_ROLE, "") OUT(C_HI_OUT, "") OUT(C_STOP, "")
	    "data: [DONE]\n\n";
	struct pal_gw_usage u;

	(void)state;
	expect_stream(stream_in, PAL_GW_SSE_DROP_USAGE, want, &u);
	assert_true(u.present);
	assert_int_equal(u.total_tokens, 11);
	/* Usage in a chunk with choices (vLLM's continuous stats) is read,
	 * then removed, and the chunk kept. */
	expect_stream("data: {\"choices\":[{\"x\":1}],\"usage\":"
		      "{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n",
		      PAL_GW_SSE_DROP_USAGE, "data: {\"choices\":[{\"x\":1}]}\n\n",
		      &u);
	assert_int_equal(u.total_tokens, 4);
}

/* s with every "\n" replaced by nl. */
static char *
renewline(const char *s, const char *nl)
{
	size_t n = 0, i, at = 0, k = strlen(nl);
	char *o;

	for (i = 0; s[i]; i++)
		n += s[i] == '\n' ? k : 1;
	o = malloc(n + 1);
	assert_non_null(o);
	for (i = 0; s[i]; i++) {
		if (s[i] == '\n') {
			memcpy(o + at, nl, k);
			at += k;
		} else {
			o[at++] = s[i];
		}
	}
	o[at] = '\0';
	return o;
}

static void
sse_line_endings_are_normalized(void **state)
{
	static const char want[] =
	    OUT(C_ROLE, U_NULL) OUT(C_HI_OUT, U_NULL) OUT(C_STOP, U_NULL)
	    OUT("", U_FULL) "data: [DONE]\n\n";
	char *crlf = renewline(stream_in, "\r\n");
	char *cr = renewline(stream_in, "\r");

	(void)state;
	expect_stream(crlf, 0, want, NULL);
	expect_stream(cr, 0, want, NULL);
	free(crlf);
	free(cr);
	/* Events of several lines: a CRLF is one line end, not two. */
	crlf = renewline("event: message\ndata: {\"a\":\ndata: 1}\n\n", "\r\n");
	expect_stream(crlf, 0, "event: message\ndata: {\"a\":1}\n\n", NULL);
	free(crlf);
	/* Mixed, with a CR at the end of one slice and LF at the next. */
	expect_stream("data: {\"a\":1}\r\n\r\ndata: {\"b\":2}\r\r"
		      "data: [DONE]\n\r\n", 0,
		      "data: {\"a\":1}\n\ndata: {\"b\":2}\n\n"
		      "data: [DONE]\n\n", NULL);
}

static void
sse_fields_and_comments(void **state)
{
	(void)state;
	/* Comments become a bare keep-alive; id and retry are dropped;
	 * event names pass; no space after the colon is fine. */
	expect_stream(": ping from vllm 0.6.3\n\n"
		      "id: 7\nretry: 10000\nevent: message\n"
		      "data:{\"a\":1}\n\n"
		      ": x\n: y\n\n"
		      "foo: bar\ndata: {\"b\": 2}\n\n", 0,
		      ":\n\nevent: message\ndata: {\"a\":1}\n\n:\n\n"
		      "data: {\"b\": 2}\n\n", NULL);
	/* Multi-line data is joined with LF, then re-serialized on one. */
	expect_stream("data: {\"a\":\ndata:   [1,\ndata: 2]}\n\n", 0,
		      "data: {\"a\":[1,2]}\n\n", NULL);
	/* An event with no data dispatches nothing; a comment in an event
	 * with data is dropped; "data" alone is an empty line of data. */
	expect_stream("event: x\n\n: c\ndata: [DONE]\n\n", 0,
		      "data: [DONE]\n\n", NULL);
	expect_stream("data\ndata: {}\n\n", 0, "data: {}\n\n", NULL);
	/* A byte order mark at the start is dropped. */
	expect_stream("\xef\xbb\xbf" "data: [DONE]\n\n", 0, "data: [DONE]\n\n",
		      NULL);
	/* An empty stream is a clean one. */
	expect_stream("", 0, "", NULL);
}

/* n: the length of in, or ALL for strlen(in). */
#define ALL ((size_t)-1)

static void
expect_sse_error(const char *in, size_t n, const struct pal_gw_resp_limits *lim,
		 int want, const char *msg)
{
	static const size_t steps[] = { 1u << 30, 1, 0 };
	struct pal_err err;
	struct sink k;
	size_t i;

	if (n == ALL)
		n = strlen(in);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct pal_gw_sse *s = sse_new(&k, 0, lim);
		int r = feed_all(s, in, n, steps[i], &err);

		if (r != want || strstr(err.msg, msg) == NULL)
			fail_msg("step %zu: %s: got %d '%s'", steps[i], in, r,
				 err.msg);
		/* Errors are final. */
		assert_int_equal(pal_gw_sse_feed(s, "\n", 1, &err),
				 PAL_ERR_INVALID);
		pal_gw_sse_free(s);
		pal_buf_free(&k.b);
	}
}

static void
sse_malformed_upstream_is_refused(void **state)
{
	struct pal_gw_resp_limits lim = { .max_event = 64 };
	char big[200];

	(void)state;
	expect_sse_error("data: not json\n\n", ALL, NULL, PAL_ERR_FORMAT,
			 "invalid JSON");
	expect_sse_error("data: [1]\n\n", ALL, NULL, PAL_ERR_FORMAT,
			 "not an object");
	expect_sse_error("data: {\"a\":1,\"a\":2}\n\n", ALL, NULL,
			 PAL_ERR_FORMAT, "duplicate");
	expect_sse_error("data: {\"a\"\0:1}\n\n", 17, NULL, PAL_ERR_FORMAT,
			 "NUL byte");
	expect_sse_error("data: [DONE]\n\ndata: {}\n\n", ALL, NULL,
			 PAL_ERR_FORMAT, "after [DONE]");
	expect_sse_error("event: a b\ndata: {}\n\n", ALL, NULL, PAL_ERR_FORMAT,
			 "event name");
	expect_sse_error("data: {\"usage\":{\"prompt_tokens\":-3}}\n\n", ALL,
			 NULL, PAL_ERR_FORMAT, "usage.prompt_tokens");
	expect_sse_error("data: {\"a\":1}\n", ALL, NULL, PAL_ERR_TRUNCATED,
			 "inside an event");
	expect_sse_error("data: {\"a\":1}", ALL, NULL, PAL_ERR_TRUNCATED,
			 "inside an event");
	/* One event over the limit, in one line or in many. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "data: \"", 7);
	expect_sse_error(big, sizeof(big), &lim, PAL_ERR_LIMIT,
			 "event too large");
	{
		char many[300];
		size_t i;

		for (i = 0; i + 10 <= sizeof(many); i += 10)
			memcpy(many + i, "data: 123\n", 10);
		expect_sse_error(many, sizeof(many), &lim, PAL_ERR_LIMIT,
				 "event too large");
	}
	/* Many small events within the limit are fine. */
	{
		char many[3000];
		struct pal_err err;
		struct sink k;
		struct pal_gw_sse *s = sse_new(&k, 0, &lim);
		size_t i;

		for (i = 0; i + 30 <= sizeof(many); i += 30)
			memcpy(many + i, "data: {\"content\":\"01234567\"}\n\n",
			       30);
		assert_int_equal(feed_all(s, many, sizeof(many), 7, &err), 0);
		assert_int_equal(k.b.len, sizeof(many));
		pal_gw_sse_free(s);
		pal_buf_free(&k.b);
	}
}

static void
sse_emit_refusal_stops_the_stream(void **state)
{
	struct pal_err err;
	struct sink k;
	struct pal_gw_sse *s = sse_new(&k, 0, NULL);

	(void)state;
	k.refuse_after = 1;
	assert_int_equal(pal_gw_sse_feed(s, "data: {}\n\n", 10, &err), 0);
	assert_int_equal(pal_gw_sse_feed(s, "data: {}\n\n", 10, &err),
			 PAL_ERR_IO);
	assert_int_equal(pal_gw_sse_done(s), 0);
	pal_gw_sse_free(s);
	pal_buf_free(&k.b);
	s = sse_new(&k, 0, NULL);
	assert_int_equal(pal_gw_sse_feed(s, "data: [DONE]\n\n", 14, &err), 0);
	assert_int_equal(pal_gw_sse_done(s), 1);
	assert_int_equal(pal_gw_sse_finish(s, &err), 0);
	pal_gw_sse_free(s);
	pal_buf_free(&k.b);
	pal_gw_sse_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_bodies_are_stripped_and_counted),
		cmocka_unit_test(json_usage_shapes),
		cmocka_unit_test(malformed_upstream_json_is_refused),
		cmocka_unit_test(sse_strips_and_counts_however_sliced),
		cmocka_unit_test(sse_drops_the_usage_the_gateway_added),
		cmocka_unit_test(sse_line_endings_are_normalized),
		cmocka_unit_test(sse_fields_and_comments),
		cmocka_unit_test(sse_malformed_upstream_is_refused),
		cmocka_unit_test(sse_emit_refusal_stops_the_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
