/*
 * api.c - routes and answers (api.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "request.h"

/* One completion in progress: what its chunks and answer repeat. */
struct run {
	struct tl_api *api;
	struct tl_out *o;
	const struct tl_request *r;
	char id[48];
	long long created;
	char *text;		/* the whole text, when not streamed */
	size_t len;
};

static long long
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec;
}

static uint64_t
mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void
tl_api_init(struct tl_api *api, const struct tl_model *m, const char *name,
	    const atomic_int *stopping)
{
	api->model = m;
	api->name = name;
	(void)snprintf(api->fingerprint, sizeof(api->fingerprint),
		       "fp_%010" PRIx64, m->digest >> 24);
	api->started = now();
	atomic_init(&api->counter, 0);
	api->stopping = stopping;
}

/* A number for ids and unseeded requests: the clock and a count, mixed. */
static uint64_t
fresh(struct tl_api *api)
{
	struct timespec ts;
	uint64_t k = atomic_fetch_add(&api->counter, 1);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
		   mix(k + 0x9e3779b97f4a7c15ull));
}

static int
send_json(struct tl_out *o, int status, json_t *j)
{
	char *body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	int rc;

	json_decref(j);
	if (body == NULL)
		return tl_out_error(o, 500, NULL, NULL, "out of memory");
	rc = tl_out_send(o, status, "application/json", body, strlen(body));
	free(body);
	return rc;
}

static void
models(struct tl_api *api, struct tl_out *o)
{
	send_json(o, 200, json_pack("{s:s, s:[{s:s, s:s, s:I, s:s, s:i}]}",
				    "object", "list", "data", "id", api->name,
				    "object", "model", "created",
				    (json_int_t)api->started, "owned_by",
				    "tiny-llm", "max_model_len",
				    (int)api->model->cfg.context));
}

/* --- answers and chunks ----------------------------------------------- */

static const char *
finish_reason(enum tl_finish f)
{
	return f == TL_FINISH_STOP ? "stop" : "length";
}

static json_t *
usage(const struct tl_gen_result *g)
{
	return json_pack("{s:i, s:i, s:i}", "prompt_tokens",
			 (int)g->prompt_tokens, "completion_tokens",
			 (int)g->completion_tokens, "total_tokens",
			 (int)(g->prompt_tokens + g->completion_tokens));
}

/* The fields every answer and chunk begins with. */
static json_t *
envelope(const struct run *run, const char *object)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:s}", "id", run->id, "object",
			 object, "created", (json_int_t)run->created, "model",
			 run->api->name, "system_fingerprint",
			 run->api->fingerprint);
}

/*
 * One choice: text (or a chat message / delta) and finish_reason (NULL:
 * not finished).  In a chat chunk, role adds the assistant's role.
 */
static json_t *
choice(const struct run *run, const char *text, size_t len,
       const char *finish, int chunk, int role)
{
	json_t *c;

	if (!run->r->chat)
		return json_pack("{s:i, s:s%, s:n, s:s?}", "index", 0, "text",
				 text, len, "logprobs", "finish_reason",
				 finish);
	if (!chunk)
		c = json_pack("{s:s, s:s%}", "role", "assistant", "content",
			      text, len);
	else if (role)
		c = json_pack("{s:s, s:s}", "role", "assistant", "content", "");
	else if (finish != NULL)
		c = json_object();
	else
		c = json_pack("{s:s%}", "content", text, len);
	return json_pack("{s:i, s:o, s:n, s:s?}", "index", 0,
			 chunk ? "delta" : "message", c, "logprobs",
			 "finish_reason", finish);
}

static const char *
object(const struct run *run, int chunk)
{
	if (run->r->chat)
		return chunk ? "chat.completion.chunk" : "chat.completion";
	return "text_completion";
}

/*
 * An event of the stream: choices [c], or none and the usage u.  Both are
 * taken over (json_object_set_new takes its value even when it fails).
 */
static int
event(struct run *run, json_t *c, json_t *u)
{
	json_t *j = envelope(run, object(run, 1));
	char *s = NULL;
	int ok, rc = -1;

	ok = json_object_set_new(j, "choices", c != NULL ?
				 json_pack("[o]", c) : json_array()) == 0;
	if (u != NULL)
		ok = json_object_set_new(j, "usage", u) == 0 && ok;
	if (ok && (s = json_dumps(j, JSON_COMPACT)) != NULL)
		rc = tl_out_stream_event(run->o, s, strlen(s));
	else
		run->o->failed = 1;
	free(s);
	json_decref(j);
	return rc;
}

/* --- generation ---------------------------------------------------------- */

static int
emit_stream(void *arg, const char *text, size_t len)
{
	struct run *run = arg;

	if (atomic_load(run->api->stopping) || run->o->failed)
		return -1;
	if (len == 0)
		return 0;
	return event(run, choice(run, text, len, NULL, 1, 0), NULL);
}

static int
emit_whole(void *arg, const char *text, size_t len)
{
	struct run *run = arg;

	if (atomic_load(run->api->stopping))
		return -1;
	/* The text is at most 3 * context bytes (gen.h): run->text holds
	 * that much. */
	memcpy(run->text + run->len, text, len);
	run->len += len;
	return 0;
}

static void
stream(struct run *run, struct tl_state *s, struct tl_gen_result *g)
{
	if (tl_out_stream_begin(run->o) != 0 ||
	    (run->r->chat && event(run, choice(run, NULL, 0, NULL, 1, 1),
				   NULL) != 0))
		return;
	tl_generate(run->api->model, s, &run->r->gen, emit_stream, run, g);
	if (g->finish == TL_FINISH_ABORTED) {
		/* Cut short: the unended stream tells the client so. */
		run->o->keep_alive = 0;
		return;
	}
	if (event(run, choice(run, "", 0, finish_reason(g->finish), 1, 0),
		  NULL) != 0 ||
	    (run->r->include_usage && event(run, NULL, usage(g)) != 0))
		return;
	if (tl_out_stream_event(run->o, "[DONE]", 6) == 0)
		tl_out_stream_end(run->o);
}

static void
whole(struct run *run, struct tl_state *s, struct tl_gen_result *g)
{
	json_t *j;
	int ok;

	if ((run->text = malloc(3 * (size_t)run->api->model->cfg.context)) ==
	    NULL) {
		tl_out_error(run->o, 500, NULL, NULL, "out of memory");
		return;
	}
	tl_generate(run->api->model, s, &run->r->gen, emit_whole, run, g);
	if (g->finish == TL_FINISH_ABORTED) {
		run->o->keep_alive = 0;
		tl_out_error(run->o, 503, NULL, NULL, "the server is stopping");
		return;
	}
	j = envelope(run, object(run, 0));
	ok = json_object_set_new(j, "choices", json_pack("[o]", choice(run,
	    run->text, run->len, finish_reason(g->finish), 0, 0))) == 0;
	ok = json_object_set_new(j, "usage", usage(g)) == 0 && ok;
	if (!ok) {
		json_decref(j);
		j = NULL;	/* send_json answers 500 */
	}
	send_json(run->o, 200, j);
}

static void
complete(struct tl_api *api, struct tl_state *s, const char *body,
	 size_t len, int chat, struct tl_out *o, struct tl_api_log *log)
{
	struct tl_request r;
	struct tl_request_error e;
	struct tl_gen_result g = { 0 };
	struct run run = { .api = api, .o = o, .r = &r };
	uint64_t id = fresh(api);

	if (tl_request_parse(body, len, chat, api->name, api->model->cfg.context,
			     fresh(api), &r, &e) != 0) {
		tl_out_error(o, e.status, e.param, e.code, "%s", e.msg);
		return;
	}
	(void)snprintf(run.id, sizeof(run.id), "%s-%016" PRIx64,
		       chat ? "chatcmpl" : "cmpl", id);
	run.created = now();
	if (r.stream)
		stream(&run, s, &g);
	else
		whole(&run, s, &g);
	log->prompt_tokens = g.prompt_tokens;
	log->completion_tokens = g.completion_tokens;
	free(run.text);
	tl_request_clear(&r);
}

/* --- routes ------------------------------------------------------------- */

static int
path_is(const struct tl_http_req *req, const char *path)
{
	return req->path_len == strlen(path) &&
	    memcmp(req->path, path, req->path_len) == 0;
}

static void
wrong_method(const struct tl_http_req *req, struct tl_out *o,
	     const char *allow)
{
	char hdr[64];

	(void)snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
	o->extra_headers = hdr;
	tl_out_error(o, 405, NULL, "method_not_allowed", "%.*s is not "
		     "allowed on %.*s (only %s)", (int)req->method_len,
		     req->method_name, (int)req->path_len, req->path, allow);
	o->extra_headers = NULL;
}

void
tl_api_handle(struct tl_api *api, struct tl_state *s,
	      const struct tl_http_req *req, const char *body,
	      struct tl_out *o, struct tl_api_log *log)
{
	int get = req->method == TL_HTTP_GET, post = req->method == TL_HTTP_POST;

	memset(log, 0, sizeof(*log));
	if (path_is(req, "/v1/models") || path_is(req, "/health")) {
		if (!get)
			wrong_method(req, o, "GET");
		else if (path_is(req, "/health"))
			tl_out_send(o, 200, "text/plain", "", 0);
		else
			models(api, o);
	} else if (path_is(req, "/v1/completions") ||
		   path_is(req, "/v1/chat/completions")) {
		if (!post)
			wrong_method(req, o, "POST");
		else
			complete(api, s, body, req->content_length,
				 path_is(req, "/v1/chat/completions"), o, log);
	} else {
		tl_out_error(o, 404, NULL, "unknown_url", "Invalid URL (%.*s "
			     "%.*s)", (int)req->method_len, req->method_name,
			     (int)(req->path_len > 200 ? 200 : req->path_len),
			     req->path);
	}
}
