/*
 * inject_scan.c - scanning a request's messages with the compiled rules
 * (inject.h), and the per-thread scratch space that takes.
 *
 * A scan costs one Vectorscan block scan per message whose role some rule
 * applies to, plus a second one for a message that holds disguising
 * characters (inject_fold.c).  Matches are filtered by role in the
 * callback and counted once per rule per request with a bitmap on the
 * stack, so a scan allocates nothing unless a folded copy needs a larger
 * buffer than the scratch already has.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/text.h"
#include "inject_int.h"

struct pal_inject_scratch {
	hs_scratch_t *hs;
	uint64_t fitted;	/* serial of the rules last fitted to */
	char *fold;		/* the folded copy of a span */
	size_t fold_cap;
};

/* What the match callback needs; one per scan. */
struct scan_ctx {
	const struct pal_inject_rules *rules;
	uint32_t role_bit;
	uint64_t seen[PAL_INJECT_MAX_RULES / 64];
	struct pal_inject_result *res;
};

int
pal_inject_scratch_new(const struct pal_inject_rules *rules,
		       struct pal_inject_scratch **out, struct pal_err *err)
{
	struct pal_inject_scratch *s;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "injection scratch: "
				   "out of memory");
	if ((rc = pal_inject_scratch_fit(s, rules, err)) != 0) {
		pal_inject_scratch_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

/*
 * Fitting again to the rules a scratch was last fitted to returns at
 * once, so that a caller may fit before every scan.  Rules fitted before
 * those still fit: Vectorscan's scratch only grows.
 */
int
pal_inject_scratch_fit(struct pal_inject_scratch *s,
		       const struct pal_inject_rules *rules,
		       struct pal_err *err)
{
	hs_error_t e;

	if (s->fitted == rules->serial)
		return 0;
	if ((e = hs_alloc_scratch(rules->db, &s->hs)) == HS_SUCCESS) {
		s->fitted = rules->serial;
		return 0;
	}
	if (e == HS_NOMEM)
		return pal_err_set(err, PAL_ERR_NOMEM, "injection scratch: "
				   "out of memory");
	return pal_err_set(err, PAL_ERR_SYSTEM, "injection scratch: "
			   "Vectorscan error %d", (int)e);
}

void
pal_inject_scratch_free(struct pal_inject_scratch *s)
{
	if (s == NULL)
		return;
	hs_free_scratch(s->hs);
	free(s->fold);
	free(s);
}

static int
on_match(unsigned int id, unsigned long long from, unsigned long long to,
	 unsigned int flags, void *arg)
{
	struct scan_ctx *c = arg;
	const struct pal_inject_rule *rule = &c->rules->rules[id].pub;
	struct pal_inject_result *res = c->res;

	(void)from;
	(void)to;
	(void)flags;
	if (!(rule->roles & c->role_bit) ||
	    (c->seen[id / 64] & (UINT64_C(1) << (id % 64))))
		return 0;
	c->seen[id / 64] |= UINT64_C(1) << (id % 64);
	res->score += rule->score;
	if (res->n_matches < PAL_INJECT_MAX_MATCHES)
		res->matches[res->n_matches++] = rule;
	res->n_matched++;
	return 0;
}

/*
 * Offset of the first byte >= 0x80 in s[0..n), or n; eight bytes at a
 * time, since most prompts are ASCII.
 */
static size_t
ascii_prefix(const char *s, size_t n)
{
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		if (w & UINT64_C(0x8080808080808080))
			break;
	}
	for (; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return i;
	return n;
}

static int
scan_one(struct pal_inject_scratch *s, struct scan_ctx *c, const char *text,
	 size_t len, size_t span, struct pal_err *err)
{
	hs_error_t e;

	/* Vectorscan takes an unsigned int length (checked by the caller). */
	e = hs_scan(c->rules->db, text, (unsigned)len, 0, s->hs, on_match, c);
	if (e == HS_SUCCESS)
		return 0;
	if (e == HS_NOMEM)
		return pal_err_set(err, PAL_ERR_NOMEM, "injection scan: out "
				   "of memory");
	return pal_err_set(err, PAL_ERR_INVALID, "injection scan of span %zu: "
			   "Vectorscan error %d (a scratch not fitted to these "
			   "rules, or used by two threads?)", span, (int)e);
}

/*
 * Scans the folded copy of a span that holds non-ASCII text, the whole
 * span, so that a phrase can start before its first disguise.
 */
static int
scan_folded(struct pal_inject_scratch *s, struct scan_ctx *c,
	    const char *text, size_t len, size_t span, struct pal_err *err)
{
	size_t n;
	int changed;

	if (len > s->fold_cap) {
		char *p = realloc(s->fold, len);

		if (p == NULL)
			return pal_err_set(err, PAL_ERR_NOMEM, "injection "
					   "scan: out of memory");
		s->fold = p;
		s->fold_cap = len;
	}
	n = inject_fold(text, len, s->fold, &changed);
	if (!changed)
		return 0;
	return scan_one(s, c, s->fold, n, span, err);
}

static int
scan_span(struct pal_inject_scratch *s, struct scan_ctx *c,
	  const struct pal_inject_span *sp, size_t i, struct pal_err *err)
{
	size_t a;
	int rc;

	if ((unsigned)sp->role >= PAL_INJECT_ROLES)
		return pal_err_set(err, PAL_ERR_INVALID, "injection scan: "
				   "span %zu has no known role", i);
	if (!(c->rules->roles & PAL_INJECT_ROLE_BIT(sp->role)) ||
	    sp->len == 0)
		return 0;
	if (sp->len > PAL_INJECT_TEXT_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "injection scan: span "
				   "%zu is %zu bytes, more than %u", i,
				   sp->len, PAL_INJECT_TEXT_MAX);
	a = ascii_prefix(sp->text, sp->len);
	if (a < sp->len && !pal_utf8_valid(sp->text + a, sp->len - a))
		return pal_err_set(err, PAL_ERR_FORMAT, "injection scan: span "
				   "%zu is not valid UTF-8", i);
	c->role_bit = PAL_INJECT_ROLE_BIT(sp->role);
	if ((rc = scan_one(s, c, sp->text, sp->len, i, err)) != 0)
		return rc;
	if (a < sp->len)
		return scan_folded(s, c, sp->text, sp->len, i, err);
	return 0;
}

int
pal_inject_scan(const struct pal_inject_rules *rules,
		struct pal_inject_scratch *s,
		const struct pal_inject_span *spans, size_t n,
		uint64_t threshold, struct pal_inject_result *res,
		struct pal_err *err)
{
	struct scan_ctx c;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	c.rules = rules;
	c.res = res;
	for (size_t i = 0; i < n; i++)
		if ((rc = scan_span(s, &c, &spans[i], i, err)) != 0)
			return rc;
	res->reached = threshold > 0 && res->score >= threshold;
	return 0;
}
