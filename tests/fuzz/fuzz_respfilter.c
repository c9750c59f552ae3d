/*
 * fuzz_respfilter.c - upstream responses from raw bytes through the
 * response filter.  The first byte chooses a JSON body or an SSE stream,
 * the usage flag and how the stream is sliced; the rest is the response.
 *
 * Beyond not crashing: a JSON body the filter rewrote passes a second
 * time unchanged with the same usage; an SSE stream gives the same output
 * and the same result fed whole and fed in slices, and its output, fed
 * again, comes out byte for byte (the canonical form is a fixed point).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/buf.h"
#include "palisade/gwbody.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *strip_names[] = { "system_fingerprint", "id" };
static const struct pal_gw_output_policy pol = {
	.strip = strip_names, .n_strip = 2, .strip_choice_logprobs = 1,
};
static const struct pal_gw_resp_limits lim = {
	.max_body = 1u << 16, .max_event = 4096, .max_depth = 16,
};
/* For the second pass: a rewrite may write reals longer than it read. */
static const struct pal_gw_resp_limits big = {
	.max_body = 1u << 20, .max_event = 1u << 20, .max_depth = 16,
};

static void
json_body(const uint8_t *p, size_t n)
{
	struct pal_gw_usage u1, u2;
	size_t len, len2;
	char *out, *out2;

	if (pal_gw_resp_filter_json(p, n, &pol, &lim, &u1, &out, &len,
				    NULL) != 0 || out == NULL)
		return;
	if (pal_gw_resp_filter_json((const uint8_t *)out, len, &pol, &big,
				    &u2, &out2, &len2, NULL) != 0 ||
	    out2 != NULL || memcmp(&u1, &u2, sizeof(u1)) != 0)
		abort();
	free(out);
}

static int
sink(void *arg, const void *p, size_t n)
{
	return pal_buf_append(arg, p, n);
}

/* Runs the stream in slices (step 0: whole); the output in *out. */
static int
run(const uint8_t *p, size_t n, const struct pal_gw_resp_limits *l,
    unsigned flags, uint8_t step, struct pal_buf *out, struct pal_gw_usage *u)
{
	struct pal_gw_sse *s;
	size_t i = 0, k;
	int r = 0;

	pal_buf_init(out, 1u << 24);
	if (pal_gw_sse_new(&s, &pol, l, flags, sink, out, NULL) != 0)
		abort();
	while (i < n && r == 0) {
		k = step ? (size_t)(step + i % 5) : n - i;
		if (k > n - i)
			k = n - i;
		r = pal_gw_sse_feed(s, p + i, k, NULL);
		i += k;
	}
	if (r == 0)
		r = pal_gw_sse_finish(s, NULL);
	pal_gw_sse_usage(s, u);
	pal_gw_sse_free(s);
	return r;
}

static void
sse(const uint8_t *p, size_t n, unsigned flags, uint8_t step)
{
	struct pal_buf a, b, c;
	struct pal_gw_usage ua, ub, uc;
	int ra = run(p, n, &lim, flags, 0, &a, &ua);
	int rb = run(p, n, &lim, flags, step, &b, &ub);

	if (ra != rb || a.len != b.len ||
	    (a.len && memcmp(a.p, b.p, a.len) != 0) ||
	    memcmp(&ua, &ub, sizeof(ua)) != 0)
		abort();
	/* The canonical form of a stream that went through whole. */
	if (ra == 0 && run(a.p, a.len, &big, flags, 0, &c, &uc) == 0) {
		if (c.len != a.len || (a.len && memcmp(a.p, c.p, a.len) != 0))
			abort();
		pal_buf_free(&c);
	} else if (ra == 0) {
		abort();
	}
	pal_buf_free(&a);
	pal_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sel;

	if (size == 0)
		return 0;
	sel = data[0];
	if ((sel & 1) == 0)
		json_body(data + 1, size - 1);
	else
		sse(data + 1, size - 1, (sel & 2) ? PAL_GW_SSE_DROP_USAGE : 0,
		    (uint8_t)(sel >> 2));
	return 0;
}
