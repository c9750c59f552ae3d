/*
 * trust_policy_yaml.c - reads a trust policy file (docs/trust-policy.md):
 *
 *	version: 1
 *	sources:
 *	  - match: "huggingface.co/acme/model-*"
 *	    keys: [keys/acme-release.pub]
 *	    cas:
 *	      - root: pki/acme-root.pem
 *	        intermediates: [pki/acme-int.pem]
 *	    sigstore:
 *	      trusted_root: sigstore/trusted_root.json
 *	      identities:
 *	        - identity: release@acme.example
 *	          issuer: https://accounts.google.com
 *
 * The file decides whom verification trusts, so it is parsed strictly
 * with libyaml's event parser: one document, a mapping at the top, only
 * the keys above, each at most once and of its type (a string is never
 * a plain scalar YAML would read as null, a boolean or a number); no
 * anchors, aliases, tags or tag directives.  'version' comes first so
 * that nothing is read under the wrong meaning.  The files a rule names
 * are loaded as they are met (trust_policy_material.c).  Every error
 * names file:line:column.  The strict reading itself is yaml_strict.c's,
 * shared with the gateway's configuration; this file holds the policy's
 * keys and what each means.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "palisade/yaml_strict.h"
#include "trust_policy_int.h"

/* The policy being read, for the callbacks (struct pal_yaml's ctx). */
struct loader {
	int have_version;
	struct pal_trust_policy *p;
	const char *base_dir;
};

#define LOADER(y) ((struct loader *)(y)->ctx)
#define NF(f) PAL_YAML_NFIELDS(f)

/* ---------------------------------------------------------------------
 * Keys.
 */

static int
key_item(struct pal_yaml *y, void *obj)
{
	struct pal_trust_rule *r = obj;
	yaml_mark_t at = y->ev.start_mark;
	EVP_PKEY *k = NULL;
	void *v = r->keys;
	char *path;
	int rc;

	rc = pal_yaml_string(y, "a key path", PAL_TRUST_PATH_MAX, &path);
	if (rc != 0)
		return rc;
	rc = pal_trust_load_key(LOADER(y)->base_dir, path, &k, y->err);
	if (rc != 0) {
		rc = pal_yaml_fail_wrap(y, rc, &at, "key '%s': ",
					pal_yaml_shown(y));
		goto out;
	}
	for (size_t i = 0; i < r->n_keys; i++) {
		if (EVP_PKEY_eq(r->keys[i], k) == 1) {
			rc = pal_yaml_fail(y, &at, "key '%s' is the same key "
					   "as entry %zu of this rule's keys",
					   pal_yaml_shown(y), i + 1);
			goto out;
		}
	}
	ERR_clear_error();
	if ((rc = pal_yaml_grow(y, &v, r->n_keys, sizeof(*r->keys))) != 0)
		goto out;
	r->keys = v;
	r->keys[r->n_keys++] = k;
	k = NULL;
out:
	ERR_clear_error();
	EVP_PKEY_free(k);
	free(path);
	return rc;
}

static int
parse_keys(struct pal_yaml *y, void *obj)
{
	size_t n;

	return pal_yaml_list(y, "keys", PAL_TRUST_MAX_KEYS, key_item, obj, &n);
}

/* ---------------------------------------------------------------------
 * Certificate authorities.
 */

/* Loads the certificate file named by the current scalar into into. */
static int
certs_item(struct pal_yaml *y, const char *what, int root,
	   STACK_OF(X509) *into)
{
	yaml_mark_t at = y->ev.start_mark;
	char *path;
	int rc;

	if ((rc = pal_yaml_string(y, what, PAL_TRUST_PATH_MAX, &path)) != 0)
		return rc;
	rc = pal_trust_load_certs(LOADER(y)->base_dir, path, root, into,
				  y->err);
	if (rc != 0)
		rc = pal_yaml_fail_wrap(y, rc, &at, "%s '%s': ",
					root ? "root" : "intermediate",
					pal_yaml_shown(y));
	free(path);
	return rc;
}

static int
parse_ca_root(struct pal_yaml *y, void *obj)
{
	struct pal_trust_ca *ca = obj;

	return certs_item(y, "'root'", 1, ca->roots);
}

static int
inter_item(struct pal_yaml *y, void *obj)
{
	struct pal_trust_ca *ca = obj;

	if (ca->intermediates == NULL &&
	    (ca->intermediates = sk_X509_new_null()) == NULL)
		return pal_yaml_nomem(y);
	return certs_item(y, "an intermediate path", 0, ca->intermediates);
}

static int
parse_ca_intermediates(struct pal_yaml *y, void *obj)
{
	size_t n;

	return pal_yaml_list(y, "intermediates", PAL_TRUST_MAX_INTERMEDIATES,
			     inter_item, obj, &n);
}

static int
ca_item(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "root", parse_ca_root, "cas entry has no 'root'" },
		{ "intermediates", parse_ca_intermediates, NULL },
	};
	struct pal_trust_rule *r = obj;
	struct pal_trust_ca *ca;
	void *v = r->cas;
	int rc;

	if ((rc = pal_yaml_grow(y, &v, r->n_cas, sizeof(*r->cas))) != 0)
		return rc;
	r->cas = v;
	ca = &r->cas[r->n_cas++];
	if ((ca->roots = sk_X509_new_null()) == NULL)
		return pal_yaml_nomem(y);
	rc = pal_yaml_mapping(y, fields, NF(fields), "a cas entry", ca);
	if (rc != 0)
		return rc;
	if (ca->intermediates != NULL && sk_X509_num(ca->intermediates) == 0) {
		sk_X509_free(ca->intermediates);
		ca->intermediates = NULL;
	}
	return 0;
}

static int
parse_cas(struct pal_yaml *y, void *obj)
{
	size_t n;

	return pal_yaml_list(y, "cas", PAL_TRUST_MAX_CAS, ca_item, obj, &n);
}

/* ---------------------------------------------------------------------
 * Sigstore.
 */

static int
parse_identity(struct pal_yaml *y, void *obj)
{
	struct pal_trust_identity *id = obj;

	return pal_yaml_string(y, "'identity'", PAL_TRUST_ID_MAX,
			       &id->identity);
}

static int
parse_issuer(struct pal_yaml *y, void *obj)
{
	struct pal_trust_identity *id = obj;

	return pal_yaml_string(y, "'issuer'", PAL_TRUST_ID_MAX, &id->issuer);
}

static int
id_item(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "identity", parse_identity,
		  "identities entry has no 'identity'" },
		{ "issuer", parse_issuer, "identities entry has no 'issuer'" },
	};
	struct pal_trust_rule *r = obj;
	struct pal_trust_identity *id;
	yaml_mark_t at = y->ev.start_mark;
	void *v = r->ids;
	int rc;

	if ((rc = pal_yaml_grow(y, &v, r->n_ids, sizeof(*r->ids))) != 0)
		return rc;
	r->ids = v;
	id = &r->ids[r->n_ids++];
	rc = pal_yaml_mapping(y, fields, NF(fields), "an identities entry",
			      id);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i + 1 < r->n_ids; i++)
		if (strcmp(r->ids[i].identity, id->identity) == 0 &&
		    strcmp(r->ids[i].issuer, id->issuer) == 0)
			return pal_yaml_fail(y, &at, "identity '%s' with "
					     "issuer '%s' is listed twice",
					     id->identity, id->issuer);
	return 0;
}

static int
parse_identities(struct pal_yaml *y, void *obj)
{
	yaml_mark_t at = y->ev.start_mark;
	size_t n;
	int rc;

	rc = pal_yaml_list(y, "identities", PAL_TRUST_MAX_IDS, id_item, obj,
			   &n);
	if (rc == 0 && n == 0)
		rc = pal_yaml_fail(y, &at, "'identities' is empty (to trust "
				   "no Sigstore signer, leave out "
				   "'sigstore')");
	return rc;
}

static int
parse_trusted_root(struct pal_yaml *y, void *obj)
{
	struct pal_trust_rule *r = obj;
	yaml_mark_t at = y->ev.start_mark;
	char *path;
	int rc;

	rc = pal_yaml_string(y, "'trusted_root'", PAL_TRUST_PATH_MAX, &path);
	if (rc != 0)
		return rc;
	rc = pal_trust_load_root(LOADER(y)->p, LOADER(y)->base_dir, path,
				 &r->trusted_root, y->err);
	if (rc != 0)
		rc = pal_yaml_fail_wrap(y, rc, &at, "trusted_root '%s': ",
					pal_yaml_shown(y));
	free(path);
	return rc;
}

static int
parse_sigstore(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "trusted_root", parse_trusted_root,
		  "sigstore has no 'trusted_root'" },
		{ "identities", parse_identities,
		  "sigstore has no 'identities'" },
	};

	return pal_yaml_mapping(y, fields, NF(fields), "sigstore", obj);
}

/* ---------------------------------------------------------------------
 * Rules.
 */

/* A glob of stars only matches every source. */
static int
matches_all(const char *glob)
{
	return glob[strspn(glob, "*")] == '\0';
}

static int
parse_match(struct pal_yaml *y, void *obj)
{
	struct pal_trust_rule *r = obj;
	const struct pal_trust_policy *p = LOADER(y)->p;
	int rc;

	rc = pal_yaml_string(y, "'match'", PAL_TRUST_MATCH_MAX, &r->match);
	if (rc != 0)
		return rc;
	/* The rule being read is the last one. */
	for (size_t i = 0; i + 1 < p->n_rules; i++)
		if (strcmp(p->rules[i].match, r->match) == 0)
			return pal_yaml_fail(y, &y->ev.start_mark, "duplicate "
					     "match '%s' (the rule at line "
					     "%zu has it already)",
					     pal_yaml_shown(y),
					     p->rules[i].line);
	return 0;
}

/* A rule after one that matches everything would never be used. */
static int
check_reachable(struct pal_yaml *y)
{
	const struct pal_trust_policy *p = LOADER(y)->p;

	for (size_t i = 0; i < p->n_rules; i++)
		if (matches_all(p->rules[i].match))
			return pal_yaml_fail(y, &y->ev.start_mark, "this rule "
					     "is never used: the rule at line "
					     "%zu ('%s') matches every source "
					     "before it", p->rules[i].line,
					     p->rules[i].match);
	return 0;
}

static int
rule_item(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "match", parse_match, "rule has no 'match'" },
		{ "keys", parse_keys, NULL },
		{ "cas", parse_cas, NULL },
		{ "sigstore", parse_sigstore, NULL },
	};
	struct pal_trust_policy *p = LOADER(y)->p;
	void *v = p->rules;
	int rc;

	(void)obj;
	if (y->ev.type != YAML_MAPPING_START_EVENT)
		return pal_yaml_fail(y, &y->ev.start_mark, "a rule must be a "
				     "mapping with 'match'");
	if ((rc = check_reachable(y)) != 0 ||
	    (rc = pal_yaml_grow(y, &v, p->n_rules, sizeof(*p->rules))) != 0)
		return rc;
	p->rules = v;
	p->rules[p->n_rules].line = y->ev.start_mark.line + 1;
	p->n_rules++;
	return pal_yaml_mapping(y, fields, NF(fields), "a rule",
				&p->rules[p->n_rules - 1]);
}

/* ---------------------------------------------------------------------
 * The document.
 */

static int
parse_version(struct pal_yaml *y, void *obj)
{
	int rc;

	(void)obj;
	if ((rc = pal_yaml_version(y, 1)) == 0)
		LOADER(y)->have_version = 1;
	return rc;
}

static int
parse_sources(struct pal_yaml *y, void *obj)
{
	yaml_mark_t at = y->ev.start_mark;
	size_t n;
	int rc;

	(void)obj;
	if (!LOADER(y)->have_version)
		return pal_yaml_fail(y, &at, "'version: 1' must come before "
				     "'sources'");
	rc = pal_yaml_list(y, "sources", PAL_TRUST_MAX_RULES, rule_item, NULL,
			   &n);
	if (rc == 0 && n == 0)
		rc = pal_yaml_fail(y, &at, "'sources' lists no rule");
	return rc;
}

int
pal_trust_policy_read_yaml(struct pal_trust_policy *p, const uint8_t *yaml,
			   size_t len, const char *base_dir,
			   struct pal_err *err)
{
	static const struct pal_yaml_field fields[] = {
		{ "version", parse_version, "missing 'version: 1'" },
		{ "sources", parse_sources, "missing 'sources' (the list of "
		  "rules)" },
	};
	struct loader L = { .p = p, .base_dir = base_dir };
	struct pal_yaml y;
	int rc;

	if ((rc = pal_yaml_begin(&y, yaml, len, p->name, &L, err)) == 0)
		rc = pal_yaml_document(&y, fields, NF(fields), "the policy",
				       "empty trust policy", 0, NULL);
	pal_yaml_end(&y);
	return rc;
}
