/*
 * fuzz_trust_policy.c - the trust policy reader.  Relative paths resolve
 * under a directory that does not exist, so every key, certificate and
 * trusted root a relative path names fails to load, cleanly.  Whatever the
 * bytes: a parse either fails with err set to its code and, unless memory
 * ran out, a message naming the file, and no policy; or it yields a policy
 * that keeps every promise of trust_policy.h (counts within limits, globs
 * and identities non-empty strings without control characters, no rule
 * after a catch-all, no repeated glob, a trusted root only with
 * identities), and the rule it selects for a source is the first whose
 * glob matches it.  The bytes are also used as that source.
 */
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/trust_policy.h"

#define NAME "fuzz.yaml"
#define NOWHERE "/nonexistent/palisade-fuzz-trust-policy"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_string(const char *s, size_t max)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > max)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

static void
check_rule(const struct pal_trust_policy *p, size_t k)
{
	const struct pal_trust_rule *r = pal_trust_policy_rule(p, k);

	if (r == NULL || r->n_keys > PAL_TRUST_MAX_KEYS ||
	    r->n_cas > PAL_TRUST_MAX_CAS || r->n_ids > PAL_TRUST_MAX_IDS ||
	    (r->trusted_root != NULL) != (r->n_ids > 0))
		abort();
	check_string(r->match, PAL_TRUST_MATCH_MAX);
	for (size_t i = 0; i < r->n_keys; i++)
		if (r->keys[i] == NULL)
			abort();
	for (size_t i = 0; i < r->n_cas; i++)
		if (r->cas[i].roots == NULL ||
		    sk_X509_num(r->cas[i].roots) < 1 ||
		    (r->cas[i].intermediates != NULL &&
		     sk_X509_num(r->cas[i].intermediates) < 1))
			abort();
	for (size_t i = 0; i < r->n_ids; i++) {
		check_string(r->ids[i].identity, PAL_TRUST_ID_MAX);
		check_string(r->ids[i].issuer, PAL_TRUST_ID_MAX);
	}
	for (size_t i = 0; i < k; i++) {
		const struct pal_trust_rule *e = pal_trust_policy_rule(p, i);

		if (e->line > r->line || strcmp(e->match, r->match) == 0 ||
		    e->match[strspn(e->match, "*")] == '\0')
			abort();
	}
}

/* Selection agrees with a plain first-match over the rules. */
static void
check_select(const struct pal_trust_policy *p, const char *source)
{
	const struct pal_trust_rule *want = NULL, *got = NULL;
	struct pal_err err;
	size_t n = pal_trust_policy_count(p);
	int rc;

	for (size_t i = 0; i < n && want == NULL; i++)
		if (fnmatch(pal_trust_policy_rule(p, i)->match, source, 0) == 0)
			want = pal_trust_policy_rule(p, i);
	if (pal_trust_policy_match(p, source) != want)
		abort();
	rc = pal_trust_policy_select(p, source, &got, &err);
	if (source[0] == '\0') {
		if (rc != PAL_ERR_INVALID || got != NULL)
			abort();
		return;
	}
	if (want == NULL || want->n_keys + want->n_cas + want->n_ids == 0) {
		if (rc != PAL_ERR_VERIFY || got != NULL ||
		    err.code != rc || strncmp(err.msg, NAME, 9) != 0)
			abort();
		return;
	}
	if (rc != 0 || got != want)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_trust_policy *p = (struct pal_trust_policy *)&size;
	struct pal_err err;
	char *source;
	size_t n;
	int rc;

	pal_err_clear(&err);
	rc = pal_trust_policy_parse(data, size, NAME, NOWHERE, &p, &err);
	if (rc != 0) {
		if (p != NULL || err.code != rc ||
		    (rc != PAL_ERR_NOMEM && strncmp(err.msg, NAME ":", 10) != 0))
			abort();
		return 0;
	}
	if (p == NULL || pal_trust_policy_count(p) < 1 ||
	    pal_trust_policy_count(p) > PAL_TRUST_MAX_RULES ||
	    strcmp(pal_trust_policy_name(p), NAME) != 0)
		abort();
	for (size_t k = 0; k < pal_trust_policy_count(p); k++)
		check_rule(p, k);
	/* The input as a source name, up to its first NUL or 4 KiB. */
	n = size < 4096 ? size : 4096;
	if ((source = malloc(n + 1)) == NULL)
		abort();
	memcpy(source, data, n);
	source[n] = '\0';
	check_select(p, source);
	check_select(p, "huggingface.co/acme/model");
	free(source);
	pal_trust_policy_free(p);
	return 0;
}
