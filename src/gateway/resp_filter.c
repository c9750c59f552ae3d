/*
 * resp_filter.c - the output policy applied to what the upstream answers:
 * one JSON object at a time (a whole body here, an SSE event's data in
 * resp_sse.c), with the token usage read on the way.
 *
 * The upstream is untrusted: its JSON is parsed with the same strictness
 * as a request (duplicate keys refused, nesting and size bounded), except
 * that NUL is allowed in strings, because a model may generate it and the
 * client, not the gateway, decides what to do with it.
 */
#include <stdlib.h>
#include <string.h>

#include "body_int.h"

void
gw_resp_limits(const struct pal_gw_resp_limits *lim,
	       struct pal_gw_resp_limits *out)
{
	out->max_body = lim && lim->max_body ? lim->max_body : GW_RESP_MAX_BODY;
	out->max_event = lim && lim->max_event ? lim->max_event :
	    GW_RESP_MAX_EVENT;
	out->max_depth = lim && lim->max_depth ? lim->max_depth :
	    GW_RESP_MAX_DEPTH;
}

int
gw_resp_parse(const uint8_t *p, size_t n, const struct pal_gw_resp_limits *lim,
	      json_t **doc, struct pal_err *err)
{
	json_t *d;
	int r;

	*doc = NULL;
	if ((r = gw_json_load(p, n, lim->max_depth, 1, &d, err)) != 0)
		return pal_err_wrap(err, r, "upstream JSON: ");
	if (!json_is_object(d)) {
		json_decref(d);
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "upstream JSON is not an object");
	}
	*doc = d;
	return 0;
}

static int
usage_field(json_t *u, const char *name, uint64_t *out, struct pal_err *err)
{
	json_t *v = json_object_get(u, name);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "upstream usage.%s is not a non-negative "
				   "integer", name);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
read_usage(json_t *u, struct pal_gw_usage *usage, struct pal_err *err)
{
	struct pal_gw_usage x = { .present = 1 };
	json_t *total;
	int r;

	if (!json_is_object(u))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "upstream usage is not an object");
	if ((r = usage_field(u, "prompt_tokens", &x.prompt_tokens, err)) < 0 ||
	    (r = usage_field(u, "completion_tokens", &x.completion_tokens,
			     err)) < 0 ||
	    (r = usage_field(u, "total_tokens", &x.total_tokens, err)) < 0)
		return r;
	total = json_object_get(u, "total_tokens");
	if (total == NULL || json_is_null(total))
		x.total_tokens = x.prompt_tokens + x.completion_tokens;
	*usage = x;
	return 0;
}

static void
strip_logprobs(json_t *doc, int *changed)
{
	json_t *choices = json_object_get(doc, "choices"), *c, *lp;
	size_t i;

	json_array_foreach(choices, i, c) {
		lp = json_object_get(c, "logprobs");
		if (lp != NULL && !json_is_null(lp)) {
			json_object_del(c, "logprobs");
			*changed = 1;
		}
	}
	lp = json_object_get(doc, "prompt_logprobs");
	if (lp != NULL && !json_is_null(lp)) {
		json_object_del(doc, "prompt_logprobs");
		*changed = 1;
	}
}

int
gw_resp_apply(json_t *doc, const struct pal_gw_output_policy *pol,
	      int drop_usage, struct pal_gw_usage *usage, int *changed,
	      int *drop, struct pal_err *err)
{
	json_t *u, *choices;
	size_t i;
	int r;

	*changed = 0;
	*drop = 0;
	for (i = 0; pol != NULL && i < pol->n_strip; i++)
		if (json_object_del(doc, pol->strip[i]) == 0)
			*changed = 1;
	if (pol != NULL && pol->strip_choice_logprobs)
		strip_logprobs(doc, changed);
	if ((u = json_object_get(doc, "usage")) == NULL)
		return 0;
	if (!json_is_null(u) && (r = read_usage(u, usage, err)) < 0)
		return r;
	if (drop_usage) {
		choices = json_object_get(doc, "choices");
		if (!json_is_null(u) && json_is_array(choices) &&
		    json_array_size(choices) == 0)
			*drop = 1;
		json_object_del(doc, "usage");
		*changed = 1;
	}
	return 0;
}

int
pal_gw_resp_filter_json(const uint8_t *body, size_t len,
			const struct pal_gw_output_policy *pol,
			const struct pal_gw_resp_limits *lim,
			struct pal_gw_usage *usage, char **out,
			size_t *out_len, struct pal_err *err)
{
	struct pal_gw_resp_limits l;
	int changed, drop, r;
	json_t *doc = NULL;

	*out = NULL;
	*out_len = 0;
	memset(usage, 0, sizeof(*usage));
	gw_resp_limits(lim, &l);
	if (len > l.max_body)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "upstream body larger than %zu bytes",
				   l.max_body);
	if ((r = gw_resp_parse(body, len, &l, &doc, err)) < 0)
		return r;
	if ((r = gw_resp_apply(doc, pol, 0, usage, &changed, &drop, err)) < 0)
		goto out;
	if (changed) {
		if ((*out = json_dumps(doc, JSON_COMPACT)) == NULL) {
			r = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
			goto out;
		}
		*out_len = strlen(*out);
	}
out:
	json_decref(doc);
	if (r < 0)
		memset(usage, 0, sizeof(*usage));
	return r;
}
