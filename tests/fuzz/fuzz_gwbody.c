/*
 * fuzz_gwbody.c - request bodies from raw bytes through the gateway's
 * body check.  The first byte chooses the route kind, the policy's
 * actions and the flags; the rest is the body.
 *
 * Beyond not crashing: every span of an accepted body is valid UTF-8
 * without control characters and the spans add up to prompt_bytes; a
 * refusal has a 400 or 413 status and a printable message; and the body
 * the gateway forwards is a fixed point: checked again under the same
 * policy it is accepted unchanged, with the same facts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/gwbody.h"
#include "palisade/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pal_gw_body *b1, *b2;

static void
policy(uint8_t sel, struct pal_gw_body_policy *p)
{
	static const enum pal_gw_action acts[4] = {
		PAL_GW_REFUSE, PAL_GW_STRIP, PAL_GW_ALLOW, PAL_GW_STRIP };
	enum pal_gw_action out = acts[(sel >> 2) & 3];

	memset(p, 0, sizeof(*p));
	p->max_body = 1u << 16;
	p->max_prompt = 1u << 15;
	p->max_messages = 32;
	p->max_tokens = 4096;
	p->max_n = 4;
	p->temperature_max = 2.0;
	p->max_stop = 4;
	p->max_tools = 8;
	p->max_depth = 16;
	p->unknown_fields = acts[(sel >> 4) & 3];
	p->logprobs = p->top_logprobs = p->logit_bias = p->echo =
	    p->n_many = out;
}

static void
check_spans(const struct pal_gw_body_info *in)
{
	size_t i, sum = 0;
	uint32_t cp;

	for (i = 0; i < in->n_spans; i++) {
		const struct pal_gw_span *s = &in->spans[i];

		if (s->len == 0 || !pal_utf8_valid(s->p, s->len) ||
		    memchr(s->p, 0, s->len) != NULL)
			abort();
		for (size_t k = 0; k < s->len; k++) {
			cp = (unsigned char)s->p[k];
			if ((cp < 0x20 && cp != '\t' && cp != '\n' &&
			     cp != '\r') || cp == 0x7f)
				abort();
		}
		sum += s->len;
	}
	if (sum != in->prompt_bytes)
		abort();
}

static void
check_refusal(int status, const struct pal_err *err)
{
	size_t i;

	if (status != 400 && status != 413 && status != 500)
		abort();
	for (i = 0; err->msg[i] != '\0'; i++)
		if ((unsigned char)err->msg[i] < 0x20)
			abort();
}

static void
fixed_point(enum pal_gw_route_kind kind, const struct pal_gw_body_policy *pol,
	    unsigned flags)
{
	const struct pal_gw_body_info *a = pal_gw_body_info(b1), *c;
	struct pal_gw_body_policy big = *pol;
	const uint8_t *out;
	struct pal_err err;
	size_t len;
	int status;

	if (pal_gw_body_output(b1, &out, &len, &err) != 0 || out == NULL)
		return;
	/* The rewrite may add stream_options or max_tokens. */
	big.max_body = 0;
	if (pal_gw_body_check(b2, kind, out, len, &big, flags, &status,
			      &err) != 0)
		abort();
	c = pal_gw_body_info(b2);
	if (c->rewritten || c->stripped || c->usage_added ||
	    c->model_len != a->model_len ||
	    memcmp(c->model, a->model, a->model_len) != 0 ||
	    c->stream != a->stream || c->n != a->n ||
	    c->max_tokens != a->max_tokens ||
	    c->n_spans != a->n_spans || c->prompt_bytes != a->prompt_bytes)
		abort();
	for (size_t i = 0; i < a->n_spans; i++)
		if (a->spans[i].len != c->spans[i].len ||
		    a->spans[i].role != c->spans[i].role ||
		    memcmp(a->spans[i].p, c->spans[i].p, a->spans[i].len) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_gw_body_policy pol;
	enum pal_gw_route_kind kind;
	struct pal_err err;
	unsigned flags;
	int status, rc;
	uint8_t sel;

	if ((b1 == NULL && pal_gw_body_new(&b1, NULL) != 0) ||
	    (b2 == NULL && pal_gw_body_new(&b2, NULL) != 0))
		abort();
	if (size == 0)
		return 0;
	sel = data[0];
	kind = (enum pal_gw_route_kind)(sel & 3);
	flags = (sel & 0x40) ? PAL_GW_BODY_FORCE_USAGE : 0;
	policy(sel, &pol);
	pal_err_clear(&err);
	rc = pal_gw_body_check(b1, kind, data + 1, size - 1, &pol, flags,
			       &status, &err);
	if (rc != 0) {
		check_refusal(status, &err);
		return 0;
	}
	if (status != 0)
		abort();
	check_spans(pal_gw_body_info(b1));
	if ((sel & 0x80) && pal_gw_body_default_max_tokens(b1, 256, NULL) != 0)
		abort();
	fixed_point(kind, &pol, flags);
	pal_gw_body_reset(b1);
	pal_gw_body_reset(b2);
	return 0;
}
