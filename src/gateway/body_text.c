/*
 * body_text.c - the fields of a request that carry prompt text: chat
 * "messages" (roles, content strings and text parts, tool calls and tool
 * results), completion "prompt" and "suffix", embedding "input".
 *
 * Every piece of text is recorded as a span into the parsed request (no
 * copy) for the injection scanner and the abuse signals, and counted
 * against the policy's prompt size.  Only text goes through: image, audio
 * and file parts, and prompts given as token ids, are refused, because no
 * check of this gateway could read what they say.
 */
#include <stdlib.h>
#include <string.h>

#include "body_int.h"

/* Tool calls in one assistant message, and ids' lengths. */
#define TOOL_CALLS_MAX	128

static const char *const role_names[] = {
	[PAL_GW_TEXT_SYSTEM] = "system",
	[PAL_GW_TEXT_DEVELOPER] = "developer",
	[PAL_GW_TEXT_USER] = "user",
	[PAL_GW_TEXT_ASSISTANT] = "assistant",
	[PAL_GW_TEXT_TOOL] = "tool",
};

/* The state of one message while its keys are walked. */
struct msg {
	int role;
	size_t index;
};

static int
add_span(struct gw_walk *w, const struct gw_path *p, json_t *v, int role,
	 size_t index)
{
	struct pal_gw_body_info *in = w->info;
	size_t len = json_string_length(v), cap;
	struct pal_gw_span *ns;

	if (w->pol->max_prompt != 0 &&
	    (len > w->pol->max_prompt ||
	     in->prompt_bytes > w->pol->max_prompt - len))
		return gw_refuse(w, 413, PAL_ERR_LIMIT, p,
				 "prompt text over this gateway's %zu bytes",
				 w->pol->max_prompt);
	in->prompt_bytes += len;
	if (len == 0)
		return 0;
	if (in->n_spans == *w->spans_cap) {
		cap = *w->spans_cap ? *w->spans_cap * 2 : 16;
		if ((ns = realloc(*w->spans, cap * sizeof(*ns))) == NULL)
			return gw_nomem(w);
		*w->spans = ns;
		*w->spans_cap = cap;
	}
	(*w->spans)[in->n_spans++] = (struct pal_gw_span){
		.p = json_string_value(v), .len = len,
		.index = (uint32_t)index, .role = (uint8_t)role };
	return 0;
}

/* A string of prompt text: checked, then recorded. */
static int
text(struct gw_walk *w, json_t *v, const struct gw_path *p, int role,
     size_t index)
{
	int r;

	if ((r = gw_string(w, v, p, 0, NULL, NULL)) < 0)
		return r;
	return add_span(w, p, v, role, index);
}

static int
get_type(struct gw_walk *w, json_t *part, const struct gw_path *p,
	 const char **type)
{
	json_t *t = json_object_get(part, "type");
	struct gw_path tp = { p, "type", 0 };

	if (t == NULL)
		return gw_bad(w, p, "\"type\" is required");
	if (!json_is_string(t))
		return gw_bad(w, &tp, "must be a string");
	*type = json_string_value(t);
	return 0;
}

/* One entry of a content array: {"type":"text","text":...} and, from
 * the assistant, {"type":"refusal","refusal":...}. */
static int
part(struct gw_walk *w, json_t *v, const struct gw_path *p,
     const struct msg *m)
{
	const char *type = NULL, *key, *want;
	json_t *e;
	void *tmp;
	int r;

	if (!json_is_object(v))
		return gw_bad(w, p, "must be an object");
	if ((r = get_type(w, v, p, &type)) < 0)
		return r;
	if (strcmp(type, "text") == 0)
		want = "text";
	else if (strcmp(type, "refusal") == 0 &&
		 m->role == PAL_GW_TEXT_ASSISTANT)
		want = "refusal";
	else
		return gw_bad(w, p, "only text parts are accepted");
	if (json_object_get(v, want) == NULL)
		return gw_refuse(w, 400, PAL_ERR_FORMAT, p,
				 "\"%s\" is required", want);
	json_object_foreach_safe(v, tmp, key, e) {
		struct gw_path kp = { p, key, 0 };

		if (strcmp(key, "type") == 0)
			r = GW_KEEP;
		else if (strcmp(key, want) == 0)
			r = text(w, e, &kp, m->role, m->index);
		else
			r = gw_unknown(w, &kp);
		if (r < 0)
			return r;
		if (r == GW_DROP) {
			json_object_del(v, key);
			w->modified = 1;
		}
	}
	return GW_KEEP;
}

static int
content(struct gw_walk *w, json_t *v, const struct gw_path *p,
	const struct msg *m)
{
	size_t i;
	json_t *e;
	int r;

	if (json_is_null(v) && m->role == PAL_GW_TEXT_ASSISTANT)
		return GW_KEEP;
	if (json_is_string(v))
		return text(w, v, p, m->role, m->index);
	if (!json_is_array(v))
		return gw_bad(w, p,
			      "must be a string or an array of text parts");
	json_array_foreach(v, i, e) {
		struct gw_path ep = { p, NULL, i };

		if ((r = part(w, e, &ep, m)) < 0)
			return r;
	}
	return GW_KEEP;
}

static int
tool_call_function(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	const char *key;
	json_t *e;
	void *tmp;
	int r;

	if (!json_is_object(v))
		return gw_bad(w, p, "must be an object");
	json_object_foreach_safe(v, tmp, key, e) {
		struct gw_path kp = { p, key, 0 };

		if (strcmp(key, "name") == 0)
			r = gw_string(w, e, &kp, PAL_GW_BODY_NAME_MAX, NULL,
				      NULL);
		else if (strcmp(key, "arguments") == 0)
			r = gw_string(w, e, &kp, 0, NULL, NULL);
		else
			r = gw_unknown(w, &kp);
		if (r < 0)
			return r;
		if (r == GW_DROP) {
			json_object_del(v, key);
			w->modified = 1;
		}
	}
	if (json_object_get(v, "name") == NULL ||
	    json_object_get(v, "arguments") == NULL)
		return gw_bad(w, p, "\"name\" and \"arguments\" are required");
	return GW_KEEP;
}

static int
tool_call(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	const char *key;
	json_t *e;
	void *tmp;
	int r;

	if (!json_is_object(v))
		return gw_bad(w, p, "must be an object");
	json_object_foreach_safe(v, tmp, key, e) {
		struct gw_path kp = { p, key, 0 };

		if (strcmp(key, "id") == 0)
			r = gw_string(w, e, &kp, PAL_GW_BODY_NAME_MAX, NULL,
				      NULL);
		else if (strcmp(key, "type") == 0)
			r = (json_is_string(e) &&
			     strcmp(json_string_value(e), "function") == 0) ?
			    GW_KEEP : gw_bad(w, &kp, "must be \"function\"");
		else if (strcmp(key, "function") == 0)
			r = tool_call_function(w, e, &kp);
		else
			r = gw_unknown(w, &kp);
		if (r < 0)
			return r;
		if (r == GW_DROP) {
			json_object_del(v, key);
			w->modified = 1;
		}
	}
	if (json_object_get(v, "function") == NULL)
		return gw_bad(w, p, "\"function\" is required");
	return GW_KEEP;
}

static int
tool_calls(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	if (json_is_null(v))
		return GW_KEEP;
	return gw_array(w, v, p, TOOL_CALLS_MAX, tool_call);
}

static int
message_key(struct gw_walk *w, const char *key, json_t *v,
	    const struct gw_path *p, const struct msg *m)
{
	int assistant = m->role == PAL_GW_TEXT_ASSISTANT;

	if (strcmp(key, "role") == 0)
		return GW_KEEP;
	if (strcmp(key, "content") == 0)
		return content(w, v, p, m);
	if (strcmp(key, "name") == 0)
		return json_is_null(v) ? GW_KEEP :
		    gw_string(w, v, p, PAL_GW_BODY_NAME_MAX, NULL, NULL);
	if (strcmp(key, "tool_calls") == 0 && assistant)
		return tool_calls(w, v, p);
	if (strcmp(key, "refusal") == 0 && assistant)
		return json_is_null(v) ? GW_KEEP : text(w, v, p, m->role,
							 m->index);
	if (strcmp(key, "tool_call_id") == 0 && m->role == PAL_GW_TEXT_TOOL)
		return gw_string(w, v, p, PAL_GW_BODY_NAME_MAX, NULL, NULL);
	return gw_unknown(w, p);
}

static int
message_role(struct gw_walk *w, json_t *v, const struct gw_path *p, int *role)
{
	json_t *r = json_object_get(v, "role");
	struct gw_path rp = { p, "role", 0 };
	size_t i;

	if (r == NULL)
		return gw_bad(w, p, "\"role\" is required");
	if (json_is_string(r))
		for (i = 0; i <= PAL_GW_TEXT_TOOL; i++)
			if (strcmp(json_string_value(r), role_names[i]) == 0) {
				*role = (int)i;
				return 0;
			}
	return gw_bad(w, &rp,
		      "must be system, developer, user, assistant or tool");
}

static int
message(struct gw_walk *w, json_t *v, const struct gw_path *p, size_t index)
{
	struct msg m = { .index = index };
	const char *key;
	json_t *e;
	void *tmp;
	int r;

	if (!json_is_object(v))
		return gw_bad(w, p, "must be an object");
	if ((r = message_role(w, v, p, &m.role)) < 0)
		return r;
	json_object_foreach_safe(v, tmp, key, e) {
		struct gw_path kp = { p, key, 0 };

		if ((r = message_key(w, key, e, &kp, &m)) < 0)
			return r;
		if (r == GW_DROP) {
			json_object_del(v, key);
			w->modified = 1;
		}
	}
	if (m.role != PAL_GW_TEXT_ASSISTANT &&
	    json_object_get(v, "content") == NULL)
		return gw_bad(w, p, "\"content\" is required");
	if (m.role == PAL_GW_TEXT_TOOL &&
	    json_object_get(v, "tool_call_id") == NULL)
		return gw_bad(w, p, "\"tool_call_id\" is required");
	return GW_KEEP;
}

static int
message_item(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	return message(w, v, p, p->idx);
}

int
gw_messages(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	if (json_is_array(v) && json_array_size(v) == 0)
		return gw_bad(w, p, "must not be empty");
	return gw_array(w, v, p, w->pol->max_messages, message_item);
}

int
gw_prompt(struct gw_walk *w, json_t *v, const struct gw_path *p,
	  enum pal_gw_text_role role)
{
	size_t i, n;
	json_t *e;
	int r;

	if (json_is_string(v))
		return text(w, v, p, (int)role, 0);
	if (role == PAL_GW_TEXT_SUFFIX || !json_is_array(v))
		return gw_bad(w, p, role == PAL_GW_TEXT_SUFFIX ?
			      "must be a string" :
			      "must be a string or an array of strings");
	n = json_array_size(v);
	if (n == 0)
		return gw_bad(w, p, "must not be empty");
	if (w->pol->max_messages != 0 && n > w->pol->max_messages)
		return gw_refuse(w, 400, PAL_ERR_LIMIT, p,
				 "more than %u entries", w->pol->max_messages);
	json_array_foreach(v, i, e) {
		struct gw_path ep = { p, NULL, i };

		if (!json_is_string(e))
			return gw_refuse(w, 400, PAL_ERR_FORMAT, &ep,
					 "must be a string (token ids are not "
					 "accepted)");
		if ((r = text(w, e, &ep, (int)role, i)) < 0)
			return r;
	}
	return GW_KEEP;
}
