/*
 * body_fields.c - the top-level fields of OpenAI-style request bodies:
 * which route kinds know each one, its type and range, and the output
 * minimization fields (logprobs, top_logprobs, logit_bias, echo, n > 1)
 * refused, stripped or allowed per policy.
 *
 * Integer fields must be JSON integers: 1.0 and 1e3 are refused, because
 * backends disagree on them (Python reads a float that pydantic may or may
 * not coerce, serde refuses it), and the gateway must read every value as
 * the backend does or refuse it.  The text-bearing fields (messages,
 * prompt, suffix, input) are in body_text.c.
 */
#include <string.h>

#include "palisade/encoding.h"

#include "body_int.h"

#define CHAT	PAL_GW_ROUTE_BIT(PAL_GW_CHAT)
#define COMPL	PAL_GW_ROUTE_BIT(PAL_GW_COMPLETION)
#define EMBED	PAL_GW_ROUTE_BIT(PAL_GW_EMBEDDING)

/* Hard caps that no policy field names. */
#define LOGPROBS_MAX	20		/* top alternatives per token */
#define LOGIT_BIAS_MAX	1024		/* entries of logit_bias */
#define DIMENSIONS_MAX	65536
#define TOKENS_HARD_MAX	0x7fffffff

typedef int (*field_fn)(struct gw_walk *w, json_t *v, const struct gw_path *p);

struct field {
	const char *name;
	unsigned kinds;
	field_fn check;
};

static int
get_int(struct gw_walk *w, json_t *v, const struct gw_path *p, json_int_t lo,
	json_int_t hi, json_int_t *out)
{
	json_int_t x = 0;

	if (!json_is_integer(v))
		return gw_bad(w, p,
			      "must be an integer (no fraction, no exponent)");
	x = json_integer_value(v);
	if (x < lo || x > hi)
		return gw_refuse(w, 400, PAL_ERR_FORMAT, p,
				 "must be between %lld and %lld",
				 (long long)lo, (long long)hi);
	*out = x;
	return 0;
}

static int
get_num(struct gw_walk *w, json_t *v, const struct gw_path *p, double lo,
	double hi)
{
	double x;

	if (!json_is_number(v))
		return gw_bad(w, p, "must be a number");
	x = json_number_value(v);
	if (!(x >= lo && x <= hi))
		return gw_refuse(w, 400, PAL_ERR_FORMAT, p,
				 "must be between %g and %g", lo, hi);
	return GW_KEEP;
}

static int
get_bool(struct gw_walk *w, json_t *v, const struct gw_path *p, int *out)
{
	if (!json_is_boolean(v))
		return gw_bad(w, p, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

static int
get_enum(struct gw_walk *w, json_t *v, const struct gw_path *p,
	 const char *const *names)
{
	const char *s;
	size_t i;

	if (!json_is_string(v))
		return gw_bad(w, p, "must be a string");
	s = json_string_value(v);
	for (i = 0; names[i] != NULL; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return gw_bad(w, p, "unknown value");
}

/* Output minimization: what the policy says about a widening field. */
static int
minimize(struct gw_walk *w, enum pal_gw_action a, unsigned bit,
	 const struct gw_path *p)
{
	if (a == PAL_GW_ALLOW)
		return GW_KEEP;
	if (a == PAL_GW_STRIP) {
		w->info->stripped |= bit;
		if (bit == PAL_GW_STRIPPED_LOGPROBS)
			w->logprobs_stripped = 1;
		return GW_DROP;
	}
	return gw_bad(w, p,
		      "not accepted by this gateway (output minimization)");
}

int
gw_unknown(struct gw_walk *w, const struct gw_path *p)
{
	if (w->pol->unknown_fields == PAL_GW_ALLOW)
		return GW_KEEP;
	if (w->pol->unknown_fields == PAL_GW_STRIP) {
		w->info->stripped |= PAL_GW_STRIPPED_UNKNOWN;
		return GW_DROP;
	}
	return gw_bad(w, p, "unknown field");
}

static int
f_model(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	int r;

	if ((r = gw_string(w, v, p, PAL_GW_BODY_NAME_MAX, &w->info->model,
			   &w->info->model_len)) < 0)
		return r;
	if (w->info->model_len == 0)
		return gw_bad(w, p, "must not be empty");
	return GW_KEEP;
}

static int
f_messages(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	return gw_messages(w, v, p);
}

static int
f_prompt(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	return json_is_null(v) ? GW_KEEP :
	    gw_prompt(w, v, p, PAL_GW_TEXT_PROMPT);
}

static int
f_suffix(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	return json_is_null(v) ? GW_KEEP :
	    gw_prompt(w, v, p, PAL_GW_TEXT_SUFFIX);
}

static int
f_input(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	return json_is_null(v) ? GW_KEEP :
	    gw_prompt(w, v, p, PAL_GW_TEXT_INPUT);
}

static int
tokens(struct gw_walk *w, json_t *v, const struct gw_path *p, json_int_t *out)
{
	json_int_t hi = w->pol->max_tokens ? w->pol->max_tokens :
	    TOKENS_HARD_MAX;

	if (json_is_integer(v) && json_integer_value(v) > hi)
		return gw_refuse(w, 400, PAL_ERR_FORMAT, p,
				 "above this gateway's ceiling of %lld",
				 (long long)hi);
	return get_int(w, v, p, 1, hi, out);
}

static int
f_max_tokens(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	int r;

	if (json_is_null(v))
		return GW_KEEP;
	if ((r = tokens(w, v, p, &w->mt)) < 0)
		return r;
	w->have_mt = 1;
	return GW_KEEP;
}

static int
f_max_completion_tokens(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	int r;

	if (json_is_null(v))
		return GW_KEEP;
	if ((r = tokens(w, v, p, &w->mct)) < 0)
		return r;
	w->have_mct = 1;
	return GW_KEEP;
}

static int
f_temperature(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	return json_is_null(v) ? GW_KEEP :
	    get_num(w, v, p, 0.0, w->pol->temperature_max);
}

static int
f_top_p(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	return json_is_null(v) ? GW_KEEP : get_num(w, v, p, 0.0, 1.0);
}

static int
f_penalty(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	return json_is_null(v) ? GW_KEEP : get_num(w, v, p, -2.0, 2.0);
}

static int
f_seed(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	if (json_is_null(v) || json_is_integer(v))
		return GW_KEEP;
	return gw_bad(w, p, "must be an integer (no fraction, no exponent)");
}

static int
f_user(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	if (json_is_null(v))
		return GW_KEEP;
	return gw_string(w, v, p, PAL_GW_BODY_NAME_MAX, NULL, NULL);
}

static int
f_stop(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	size_t i;
	json_t *e;
	int r;

	if (json_is_null(v))
		return GW_KEEP;
	if (json_is_string(v))
		return gw_string(w, v, p, PAL_GW_BODY_STOP_MAX, NULL, NULL);
	if (!json_is_array(v))
		return gw_bad(w, p, "must be a string or an array of strings");
	if (w->pol->max_stop != 0 && json_array_size(v) > w->pol->max_stop)
		return gw_refuse(w, 400, PAL_ERR_LIMIT, p,
				 "more than %u entries", w->pol->max_stop);
	json_array_foreach(v, i, e) {
		struct gw_path ep = { p, NULL, i };

		if ((r = gw_string(w, e, &ep, PAL_GW_BODY_STOP_MAX, NULL,
				   NULL)) < 0)
			return r;
	}
	return GW_KEEP;
}

static int
f_stream(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	if (json_is_null(v))
		return GW_KEEP;
	return get_bool(w, v, p, &w->info->stream);
}

static int
f_stream_options(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	const char *key;
	json_t *e;
	void *tmp;
	int r;

	if (json_is_null(v))
		return GW_KEEP;
	if (!json_is_object(v))
		return gw_bad(w, p, "must be an object");
	json_object_foreach_safe(v, tmp, key, e) {
		struct gw_path kp = { p, key, 0 };

		if (strcmp(key, "include_usage") == 0)
			r = json_is_null(e) ? 0 :
			    get_bool(w, e, &kp, &w->info->include_usage);
		else
			r = gw_unknown(w, &kp);
		if (r < 0)
			return r;
		if (r == GW_DROP) {
			json_object_del(v, key);
			w->modified = 1;
		}
	}
	w->stream_options = v;
	return GW_KEEP;
}

/* logprobs: a boolean in chat, a count in completions. */
static int
f_logprobs(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	json_int_t x = 0;
	int on = 0, r;

	if (json_is_null(v))
		return GW_KEEP;
	if (w->kind == PAL_GW_CHAT) {
		if ((r = get_bool(w, v, p, &on)) < 0)
			return r;
		if (!on)
			return GW_KEEP;
	} else if ((r = get_int(w, v, p, 0, LOGPROBS_MAX, &x)) < 0) {
		return r;
	}
	return minimize(w, w->pol->logprobs, PAL_GW_STRIPPED_LOGPROBS, p);
}

/* vLLM's prompt_logprobs and llama.cpp's n_probs widen like logprobs. */
static int
f_prompt_logprobs(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	json_int_t x = 0;
	int r;

	if (json_is_null(v))
		return GW_KEEP;
	if ((r = get_int(w, v, p, 0, LOGPROBS_MAX, &x)) < 0)
		return r;
	return minimize(w, w->pol->logprobs, PAL_GW_STRIPPED_LOGPROBS, p);
}

static int
f_n_probs(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	json_int_t x = 0;
	int r;

	if (json_is_null(v))
		return GW_KEEP;
	if ((r = get_int(w, v, p, 0, LOGPROBS_MAX, &x)) < 0)
		return r;
	if (x == 0)
		return GW_KEEP;
	return minimize(w, w->pol->logprobs, PAL_GW_STRIPPED_LOGPROBS, p);
}

static int
f_top_logprobs(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	json_int_t x = 0;
	int r;

	if (json_is_null(v))
		return GW_KEEP;
	if ((r = get_int(w, v, p, 0, LOGPROBS_MAX, &x)) < 0)
		return r;
	if (x == 0)
		return GW_KEEP;
	return minimize(w, w->pol->top_logprobs, PAL_GW_STRIPPED_TOP_LOGPROBS,
			p);
}

static int
logit_bias_entries(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	const char *key;
	uint64_t id;
	json_t *e;
	int r;

	if (json_object_size(v) > LOGIT_BIAS_MAX)
		return gw_refuse(w, 400, PAL_ERR_LIMIT, p,
				 "more than %u entries", LOGIT_BIAS_MAX);
	json_object_foreach(v, key, e) {
		struct gw_path kp = { p, key, 0 };

		if (pal_decimal_parse(key, strlen(key), &id) != 0 ||
		    id > TOKENS_HARD_MAX)
			return gw_bad(w, &kp, "key must be a token id");
		if ((r = get_num(w, e, &kp, -100.0, 100.0)) < 0)
			return r;
	}
	return GW_KEEP;
}

static int
f_logit_bias(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	int r;

	if (json_is_null(v))
		return GW_KEEP;
	if (!json_is_object(v))
		return gw_bad(w, p, "must be an object");
	if (json_object_size(v) == 0)
		return GW_KEEP;
	r = minimize(w, w->pol->logit_bias, PAL_GW_STRIPPED_LOGIT_BIAS, p);
	if (r != GW_KEEP)
		return r;
	return logit_bias_entries(w, v, p);
}

static int
f_echo(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	int on = 0, r;

	if (json_is_null(v))
		return GW_KEEP;
	if ((r = get_bool(w, v, p, &on)) < 0)
		return r;
	if (!on)
		return GW_KEEP;
	return minimize(w, w->pol->echo, PAL_GW_STRIPPED_ECHO, p);
}

/* n and best_of: above 1 per the n_many policy, then under max_n. */
static int
choices(struct gw_walk *w, json_t *v, const struct gw_path *p, json_int_t *out)
{
	json_int_t hi = w->pol->max_n ? w->pol->max_n : PAL_GW_BODY_N_MAX;
	int r;

	if ((r = get_int(w, v, p, 1, TOKENS_HARD_MAX, out)) < 0)
		return r;
	if (*out == 1)
		return GW_KEEP;
	if ((r = minimize(w, w->pol->n_many, PAL_GW_STRIPPED_N, p)) != GW_KEEP)
		return r;
	if (*out > hi)
		return gw_refuse(w, 400, PAL_ERR_FORMAT, p,
				 "above this gateway's ceiling of %lld",
				 (long long)hi);
	return GW_KEEP;
}

static int
f_n(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	json_int_t x = 0;
	int r;

	if (json_is_null(v))
		return GW_KEEP;
	if ((r = choices(w, v, p, &x)) == GW_KEEP)
		w->info->n = (uint32_t)x;
	return r;
}

static int
f_best_of(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	json_int_t x = 0;

	return json_is_null(v) ? GW_KEEP : choices(w, v, p, &x);
}

/* A function name as OpenAI defines it: [A-Za-z0-9_-]{1,64}. */
static int
fn_name(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	const char *s;
	size_t n, i;
	int r;

	if ((r = gw_string(w, v, p, 64, &s, &n)) < 0)
		return r;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			break;
	if (n == 0 || i != n)
		return gw_bad(w, p, "must be 1 to 64 of A-Z a-z 0-9 _ -");
	return 0;
}

/* Walks an object's keys with one checker; drops what it says to drop. */
typedef int (*key_fn)(struct gw_walk *w, const char *key, json_t *v,
		      const struct gw_path *p);

static int
walk_object(struct gw_walk *w, json_t *obj, const struct gw_path *p,
	    key_fn fn)
{
	const char *key;
	json_t *v;
	void *tmp;
	int r;

	if (!json_is_object(obj))
		return gw_bad(w, p, "must be an object");
	json_object_foreach_safe(obj, tmp, key, v) {
		struct gw_path kp = { p, key, 0 };

		if ((r = fn(w, key, v, &kp)) < 0)
			return r;
		if (r == GW_DROP) {
			json_object_del(obj, key);
			w->modified = 1;
		}
	}
	return 0;
}

static int
require_type_function(struct gw_walk *w, json_t *obj, const struct gw_path *p)
{
	json_t *t = json_object_get(obj, "type");
	struct gw_path tp = { p, "type", 0 };

	if (t == NULL || !json_is_string(t) ||
	    strcmp(json_string_value(t), "function") != 0)
		return gw_bad(w, &tp, "must be \"function\"");
	if (json_object_get(obj, "function") == NULL)
		return gw_bad(w, p, "\"function\" is required");
	return 0;
}

static int
tool_function_key(struct gw_walk *w, const char *key, json_t *v,
		  const struct gw_path *p)
{
	int on = 0;

	if (strcmp(key, "name") == 0)
		return fn_name(w, v, p);
	if (strcmp(key, "description") == 0)
		return json_is_null(v) ? GW_KEEP :
		    gw_string(w, v, p, 0, NULL, NULL);
	if (strcmp(key, "parameters") == 0)
		return json_is_null(v) || json_is_object(v) ? GW_KEEP :
		    gw_bad(w, p, "must be an object");
	if (strcmp(key, "strict") == 0)
		return json_is_null(v) ? GW_KEEP : get_bool(w, v, p, &on);
	return gw_unknown(w, p);
}

static int
tool_key(struct gw_walk *w, const char *key, json_t *v, const struct gw_path *p)
{
	int r;

	if (strcmp(key, "type") == 0)
		return GW_KEEP;
	if (strcmp(key, "function") == 0) {
		if ((r = walk_object(w, v, p, tool_function_key)) < 0)
			return r;
		if (json_object_get(v, "name") == NULL)
			return gw_bad(w, p, "\"name\" is required");
		return GW_KEEP;
	}
	return gw_unknown(w, p);
}

static int
tool_item(struct gw_walk *w, json_t *e, const struct gw_path *p)
{
	int r = walk_object(w, e, p, tool_key);

	return r < 0 ? r : require_type_function(w, e, p);
}

static int
f_tools(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	if (json_is_null(v))
		return GW_KEEP;
	return gw_array(w, v, p, w->pol->max_tools, tool_item);
}

static int
named_function_key(struct gw_walk *w, const char *key, json_t *v,
		   const struct gw_path *p)
{
	return strcmp(key, "name") == 0 ? fn_name(w, v, p) : gw_unknown(w, p);
}

static int
tool_choice_key(struct gw_walk *w, const char *key, json_t *v,
		const struct gw_path *p)
{
	int r;

	if (strcmp(key, "type") == 0)
		return GW_KEEP;
	if (strcmp(key, "function") == 0) {
		if ((r = walk_object(w, v, p, named_function_key)) < 0)
			return r;
		if (json_object_get(v, "name") == NULL)
			return gw_bad(w, p, "\"name\" is required");
		return GW_KEEP;
	}
	return gw_unknown(w, p);
}

static int
f_tool_choice(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	static const char *const modes[] = { "none", "auto", "required", NULL };
	int r;

	if (json_is_null(v))
		return GW_KEEP;
	if (json_is_string(v))
		return (r = get_enum(w, v, p, modes)) < 0 ? r : GW_KEEP;
	if ((r = walk_object(w, v, p, tool_choice_key)) < 0)
		return r;
	return require_type_function(w, v, p);
}

static int
f_parallel_tool_calls(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	int on = 0;

	return json_is_null(v) ? GW_KEEP : get_bool(w, v, p, &on);
}

static int
response_format_key(struct gw_walk *w, const char *key, json_t *v,
		    const struct gw_path *p)
{
	static const char *const types[] = { "text", "json_object",
					     "json_schema", NULL };
	int r;

	if (strcmp(key, "type") == 0)
		return (r = get_enum(w, v, p, types)) < 0 ? r : GW_KEEP;
	if (strcmp(key, "json_schema") == 0)
		return json_is_object(v) ? GW_KEEP :
		    gw_bad(w, p, "must be an object");
	return gw_unknown(w, p);
}

static int
f_response_format(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	int r;

	if (json_is_null(v))
		return GW_KEEP;
	if ((r = walk_object(w, v, p, response_format_key)) < 0)
		return r;
	if (json_object_get(v, "type") == NULL)
		return gw_bad(w, p, "\"type\" is required");
	return GW_KEEP;
}

static int
f_encoding_format(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	static const char *const formats[] = { "float", "base64", NULL };
	int r;

	if (json_is_null(v))
		return GW_KEEP;
	return (r = get_enum(w, v, p, formats)) < 0 ? r : GW_KEEP;
}

static int
f_dimensions(struct gw_walk *w, json_t *v, const struct gw_path *p)
{
	json_int_t x = 0;
	int r;

	if (json_is_null(v))
		return GW_KEEP;
	return (r = get_int(w, v, p, 1, DIMENSIONS_MAX, &x)) < 0 ? r : GW_KEEP;
}

/* Roughly in the order clients send them, so lookups end early. */
static const struct field fields[] = {
	{ "model", CHAT | COMPL | EMBED, f_model },
	{ "messages", CHAT, f_messages },
	{ "prompt", COMPL, f_prompt },
	{ "input", EMBED, f_input },
	{ "stream", CHAT | COMPL, f_stream },
	{ "max_tokens", CHAT | COMPL, f_max_tokens },
	{ "max_completion_tokens", CHAT, f_max_completion_tokens },
	{ "temperature", CHAT | COMPL, f_temperature },
	{ "top_p", CHAT | COMPL, f_top_p },
	{ "stream_options", CHAT | COMPL, f_stream_options },
	{ "stop", CHAT | COMPL, f_stop },
	{ "n", CHAT | COMPL, f_n },
	{ "presence_penalty", CHAT | COMPL, f_penalty },
	{ "frequency_penalty", CHAT | COMPL, f_penalty },
	{ "seed", CHAT | COMPL, f_seed },
	{ "user", CHAT | COMPL | EMBED, f_user },
	{ "tools", CHAT, f_tools },
	{ "tool_choice", CHAT, f_tool_choice },
	{ "parallel_tool_calls", CHAT, f_parallel_tool_calls },
	{ "response_format", CHAT | COMPL, f_response_format },
	{ "logprobs", CHAT | COMPL, f_logprobs },
	{ "top_logprobs", CHAT, f_top_logprobs },
	{ "logit_bias", CHAT | COMPL, f_logit_bias },
	{ "echo", CHAT | COMPL, f_echo },
	{ "best_of", COMPL, f_best_of },
	{ "suffix", COMPL, f_suffix },
	{ "prompt_logprobs", CHAT | COMPL, f_prompt_logprobs },
	{ "n_probs", CHAT | COMPL, f_n_probs },
	{ "encoding_format", EMBED, f_encoding_format },
	{ "dimensions", EMBED, f_dimensions },
};

int
gw_field(struct gw_walk *w, const char *key, json_t *v, const struct gw_path *p)
{
	unsigned bit = PAL_GW_ROUTE_BIT(w->kind);
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if ((fields[i].kinds & bit) && strcmp(key, fields[i].name) == 0)
			return fields[i].check(w, v, p);
	return gw_unknown(w, p);
}
