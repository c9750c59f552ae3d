/*
 * body_check.c - the request body checker: the cheap refusals before
 * parsing (size, byte order mark, nesting), one strict parse, one walk
 * over the known fields (body_fields.c, body_text.c), the checks across
 * fields, and the rewritten body when the gateway changed something.
 *
 * The body is the client's, untrusted.  The reader (body_json.c, what
 * json_loadb accepts with JSON_REJECT_DUPLICATES) refuses invalid UTF-8,
 * lone surrogates, NUL in strings, numbers out of range, trailing bytes
 * and nesting beyond the policy, and a key given twice at any depth,
 * which backends would resolve differently (the last one wins in Python
 * and pydantic).
 */
#include <stdlib.h>
#include <string.h>

#include "body_int.h"

struct pal_gw_body {
	json_t *doc;			/* the parsed request, or NULL */
	enum pal_gw_route_kind kind;
	struct pal_gw_body_info info;
	struct pal_gw_span *spans;	/* kept across checks */
	size_t spans_cap;
	char *out;			/* the rewritten body, kept across */
	size_t out_cap, out_len;
	int out_valid;			/* out matches doc */
};

int
pal_gw_body_new(struct pal_gw_body **out, struct pal_err *err)
{
	struct pal_gw_body *b;

	*out = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	*out = b;
	return 0;
}

void
pal_gw_body_reset(struct pal_gw_body *b)
{
	if (b == NULL)
		return;
	json_decref(b->doc);
	b->doc = NULL;
	memset(&b->info, 0, sizeof(b->info));
	b->out_valid = 0;
	b->out_len = 0;
}

void
pal_gw_body_free(struct pal_gw_body *b)
{
	if (b == NULL)
		return;
	pal_gw_body_reset(b);
	free(b->spans);
	free(b->out);
	free(b);
}

const struct pal_gw_body_info *
pal_gw_body_info(const struct pal_gw_body *b)
{
	return &b->info;
}

static int
refuse_body(int *status, int st, struct pal_err *err, int code,
	    const char *msg)
{
	*status = st;
	return pal_err_set(err, code, "body: %s", msg);
}

/* What can be refused before the parser spends anything on the body. */
static int
precheck(const uint8_t *body, size_t len, const struct pal_gw_body_policy *pol,
	 int *status, struct pal_err *err)
{
	if (len == 0)
		return refuse_body(status, 400, err, PAL_ERR_FORMAT,
				   "empty; a JSON object is required");
	if (pol->max_body != 0 && len > pol->max_body) {
		*status = 413;
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "body: larger than this gateway's %zu bytes",
				   pol->max_body);
	}
	if (len >= 3 && body[0] == 0xef && body[1] == 0xbb && body[2] == 0xbf)
		return refuse_body(status, 400, err, PAL_ERR_FORMAT,
				   "starts with a byte order mark");
	return 0;
}

static int
parse(struct pal_gw_body *b, const uint8_t *body, size_t len,
      const struct pal_gw_body_policy *pol, int *status, struct pal_err *err)
{
	uint32_t depth = pol->max_depth ? pol->max_depth :
	    PAL_GW_BODY_DEPTH_DEFAULT;
	int r;

	if ((r = gw_json_load(body, len, depth, 0, &b->doc, err)) != 0) {
		*status = r == PAL_ERR_NOMEM ? 500 : 400;
		return pal_err_wrap(err, r, "body: ");
	}
	if (!json_is_object(b->doc)) {
		*status = 400;
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "body: must be a JSON object");
	}
	return 0;
}

static int
walk_top(struct gw_walk *w, json_t *doc)
{
	const char *key;
	json_t *v;
	void *tmp;
	int r;

	json_object_foreach_safe(doc, tmp, key, v) {
		struct gw_path kp = { NULL, key, 0 };

		if ((r = gw_field(w, key, v, &kp)) < 0)
			return r;
		if (r == GW_DROP) {
			json_object_del(doc, key);
			w->modified = 1;
		}
	}
	return 0;
}

static int
required(struct gw_walk *w, json_t *doc)
{
	static const char *const need[] = {
		[PAL_GW_CHAT] = "messages",
		[PAL_GW_COMPLETION] = "prompt",
		[PAL_GW_EMBEDDING] = "input",
	};
	const char *names[2] = { "model", need[w->kind] };
	json_t *v;
	size_t i;

	for (i = 0; i < 2; i++) {
		struct gw_path p = { NULL, names[i], 0 };

		v = json_object_get(doc, names[i]);
		if (v == NULL || json_is_null(v))
			return gw_bad(w, &p, "is required");
	}
	return 0;
}

/* The gateway counts streamed tokens from the usage chunk it asks for. */
static int
force_usage(struct gw_walk *w, json_t *doc)
{
	json_t *so = w->stream_options;

	if (so == NULL) {
		if ((so = json_object()) == NULL ||
		    json_object_set_new(doc, "stream_options", so) != 0)
			return gw_nomem(w);
	}
	if (json_object_set_new(so, "include_usage", json_true()) != 0)
		return gw_nomem(w);
	w->info->usage_added = 1;
	w->modified = 1;
	return 0;
}

static int
across(struct gw_walk *w, json_t *doc, unsigned flags)
{
	struct gw_path mct = { NULL, "max_completion_tokens", 0 };
	struct gw_path so = { NULL, "stream_options", 0 };
	int r;

	if ((r = required(w, doc)) < 0)
		return r;
	if (w->have_mt && w->have_mct && w->mt != w->mct)
		return gw_bad(w, &mct,
			      "differs from max_tokens; send one of them");
	w->info->max_tokens = (uint32_t)(w->have_mct ? w->mct :
					 w->have_mt ? w->mt : 0);
	if (w->stream_options != NULL && !w->info->stream)
		return gw_bad(w, &so, "only with \"stream\": true");
	/* top_logprobs without logprobs would only make the upstream fail. */
	if (w->logprobs_stripped && json_object_get(doc, "top_logprobs")) {
		json_object_del(doc, "top_logprobs");
		w->info->stripped |= PAL_GW_STRIPPED_TOP_LOGPROBS;
		w->modified = 1;
	}
	if ((flags & PAL_GW_BODY_FORCE_USAGE) && w->info->stream &&
	    !w->info->include_usage && w->kind != PAL_GW_EMBEDDING)
		return force_usage(w, doc);
	return 0;
}

int
pal_gw_body_check(struct pal_gw_body *b, enum pal_gw_route_kind kind,
		  const uint8_t *body, size_t len,
		  const struct pal_gw_body_policy *pol, unsigned flags,
		  int *status, struct pal_err *err)
{
	struct gw_walk w;
	int r;

	pal_gw_body_reset(b);
	*status = 0;
	if ((unsigned)kind >= PAL_GW_ROUTE_KINDS) {
		*status = 500;
		return pal_err_set(err, PAL_ERR_INVALID, "unknown route kind");
	}
	b->kind = kind;
	if (kind == PAL_GW_MODELS)
		return len == 0 ? 0 : refuse_body(status, 400, err,
		    PAL_ERR_FORMAT, "this route takes no body");
	if ((r = precheck(body, len, pol, status, err)) < 0 ||
	    (r = parse(b, body, len, pol, status, err)) < 0)
		goto fail;
	memset(&w, 0, sizeof(w));
	w.pol = pol;
	w.kind = kind;
	w.info = &b->info;
	w.spans = &b->spans;
	w.spans_cap = &b->spans_cap;
	w.status = status;
	w.err = err;
	b->info.n = 1;
	if ((r = walk_top(&w, b->doc)) < 0 ||
	    (r = across(&w, b->doc, flags)) < 0)
		goto fail;
	b->info.spans = b->spans;
	b->info.rewritten = w.modified;
	return 0;
fail:
	pal_gw_body_reset(b);
	return r;
}

int
pal_gw_body_default_max_tokens(struct pal_gw_body *b, uint32_t ceiling,
			       struct pal_err *err)
{
	if (b->doc == NULL || ceiling == 0 || b->info.max_tokens != 0 ||
	    (b->kind != PAL_GW_CHAT && b->kind != PAL_GW_COMPLETION))
		return 0;
	if (json_object_set_new(b->doc, "max_tokens",
				json_integer((json_int_t)ceiling)) != 0)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	b->info.max_tokens = ceiling;
	b->info.rewritten = 1;
	b->out_valid = 0;
	return 0;
}

int
pal_gw_body_output(struct pal_gw_body *b, const uint8_t **out,
		   size_t *out_len, struct pal_err *err)
{
	size_t need;
	char *p;

	*out = NULL;
	*out_len = 0;
	if (b->doc == NULL || !b->info.rewritten)
		return 0;
	if (!b->out_valid) {
		need = json_dumpb(b->doc, b->out, b->out_cap, JSON_COMPACT);
		if (need > b->out_cap) {
			if ((p = realloc(b->out, need)) == NULL)
				return pal_err_set(err, PAL_ERR_NOMEM,
						   "out of memory");
			b->out = p;
			b->out_cap = need;
			need = json_dumpb(b->doc, b->out, b->out_cap,
					  JSON_COMPACT);
		}
		if (need == 0 || need > b->out_cap)
			return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		b->out_len = need;
		b->out_valid = 1;
	}
	*out = (const uint8_t *)b->out;
	*out_len = b->out_len;
	return 0;
}
