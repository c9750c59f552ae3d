/*
 * trust_policy.c - the trust policy object: loading it from a file,
 * freeing it, and finding the rule for a model's source, failing closed
 * when there is none or when it trusts nobody (docs/trust-policy.md).
 *
 * The policy file is trusted to say what its owner meant but not to be
 * well-formed: trust_policy_yaml.c parses it strictly.  The source name
 * comes from the caller and is only ever matched and quoted (escaped).
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "palisade/buf.h"
#include "palisade/file.h"
#include "palisade/text.h"
#include "trust_policy_int.h"

static void
rule_free(struct pal_trust_rule *r)
{
	size_t i;

	free(r->match);
	for (i = 0; i < r->n_keys; i++)
		EVP_PKEY_free(r->keys[i]);
	free(r->keys);
	for (i = 0; i < r->n_cas; i++) {
		if (r->cas[i].roots != NULL)
			sk_X509_pop_free(r->cas[i].roots, X509_free);
		if (r->cas[i].intermediates != NULL)
			sk_X509_pop_free(r->cas[i].intermediates, X509_free);
	}
	free(r->cas);
	for (i = 0; i < r->n_ids; i++) {
		free(r->ids[i].identity);
		free(r->ids[i].issuer);
	}
	free(r->ids);
	/* trusted_root is borrowed from the policy's list of roots. */
}

void
pal_trust_policy_free(struct pal_trust_policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_rules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	pal_trust_roots_free(p);
	free(p->name);
	free(p);
}

int
pal_trust_policy_parse(const uint8_t *yaml, size_t len, const char *name,
		       const char *base_dir, struct pal_trust_policy **out,
		       struct pal_err *err)
{
	struct pal_trust_policy *p;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || name == NULL || (yaml == NULL && len > 0))
		return pal_err_set(err, PAL_ERR_INVALID,
				   "trust policy: invalid argument");
	if (len > PAL_TRUST_POLICY_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "%s: trust policy "
				   "larger than %d bytes", name,
				   PAL_TRUST_POLICY_MAX);
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->name = strdup(name)) == NULL) {
		free(p);
		return pal_err_set(err, PAL_ERR_NOMEM, "%s: out of memory",
				   name);
	}
	rc = pal_trust_policy_read_yaml(p, yaml != NULL ? yaml :
					(const uint8_t *)"", len, base_dir,
					err);
	if (rc != 0) {
		pal_trust_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* The directory part of path: "." for a bare name; caller frees. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int
pal_trust_policy_load(const char *path, struct pal_trust_policy **out,
		      struct pal_err *err)
{
	uint8_t *data = NULL;
	char *dir = NULL;
	size_t len;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "trust policy: invalid argument");
	if ((rc = pal_file_read(path, PAL_TRUST_POLICY_MAX, &data, &len,
				err)) != 0)
		return rc;
	if ((dir = dir_of(path)) == NULL)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "%s: out of memory",
				 path);
	else
		rc = pal_trust_policy_parse(data, len, path, dir, out, err);
	free(dir);
	free(data);
	return rc;
}

const char *
pal_trust_policy_name(const struct pal_trust_policy *p)
{
	return p->name;
}

size_t
pal_trust_policy_count(const struct pal_trust_policy *p)
{
	return p->n_rules;
}

const struct pal_trust_rule *
pal_trust_policy_rule(const struct pal_trust_policy *p, size_t i)
{
	return i < p->n_rules ? &p->rules[i] : NULL;
}

const struct pal_trust_rule *
pal_trust_policy_match(const struct pal_trust_policy *p, const char *source)
{
	if (p == NULL || source == NULL)
		return NULL;
	for (size_t i = 0; i < p->n_rules; i++)
		if (fnmatch(p->rules[i].match, source, 0) == 0)
			return &p->rules[i];
	return NULL;
}

static int
allows_nothing(const struct pal_trust_rule *r)
{
	return r->n_keys == 0 && r->n_cas == 0 && r->n_ids == 0;
}

int
pal_trust_policy_select(const struct pal_trust_policy *p, const char *source,
			const struct pal_trust_rule **rule,
			struct pal_err *err)
{
	const struct pal_trust_rule *r;
	struct pal_buf src, glob;
	int rc;

	if (rule != NULL)
		*rule = NULL;
	if (p == NULL || rule == NULL || source == NULL || source[0] == '\0')
		return pal_err_set(err, PAL_ERR_INVALID, "trust policy: no "
				   "source name to look up");
	r = pal_trust_policy_match(p, source);
	if (r != NULL && !allows_nothing(r)) {
		*rule = r;
		return 0;
	}
	/* The source is the caller's and may hold anything: quote it safely. */
	pal_buf_init(&src, 1024);
	pal_buf_init(&glob, 4 * PAL_TRUST_MATCH_MAX + 1);
	if (pal_text_escape(&src, source, strnlen(source, 256)) != 0 ||
	    (strlen(source) > 256 && pal_buf_puts(&src, "...") != 0) ||
	    (r != NULL && pal_text_escape(&glob, r->match,
					  strlen(r->match)) != 0))
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	else if (r == NULL)
		rc = pal_err_set(err, PAL_ERR_VERIFY, "%s: no rule matches "
				 "source '%s': nothing is trusted for it",
				 p->name, src.p != NULL ? (char *)src.p : "");
	else
		rc = pal_err_set(err, PAL_ERR_VERIFY, "%s:%zu: rule '%s' "
				 "trusts no signer for source '%s'", p->name,
				 r->line, glob.p != NULL ? (char *)glob.p : "",
				 src.p != NULL ? (char *)src.p : "");
	pal_buf_free(&src);
	pal_buf_free(&glob);
	return rc;
}
