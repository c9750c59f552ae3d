/*
 * verify.c - a model against an OMS bundle.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "palisade/dsse.h"
#include "palisade/encoding.h"
#include "palisade/sigstore.h"
#include "palisade/signing.h"
#include "palisade/trust_policy.h"
#include "palisade/x509.h"

void
pal_verify_report_free(struct pal_verify_report *r)
{
	pal_manifest_free(r->want);
	pal_manifest_free(r->got);
	r->want = r->got = NULL;
}

static int
verify_key(const struct pal_verify_opts *o, const struct pal_bundle *b,
	   struct pal_verify_report *r, struct pal_err *err)
{
	if (o->key == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "the bundle is signed with a key: verify "
				   "with --key");
	char hint[65];
	int rc = pal_pubkey_hint(o->key, hint, err);
	if (rc < 0)
		return rc;
	if (b->key_hint != NULL && strcmp(b->key_hint, hint) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "the bundle names key %s, the given key is "
				   "%s", b->key_hint, hint);
	if (b->key_raw != NULL && EVP_PKEY_eq(b->key_raw, o->key) != 1) {
		ERR_clear_error();
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "the bundle's public key is not the given "
				   "key %s", hint);
	}
	snprintf(r->signer, sizeof(r->signer), "key %s", hint);
	return pal_dsse_verify_compat(o->key, b->payload_type, b->payload,
			       b->payload_len, b->sig, b->sig_len, err);
}

static int
verify_certificate(const struct pal_verify_opts *o,
		   const struct pal_bundle *b, struct pal_verify_report *r,
		   struct pal_err *err)
{
	if (o->roots == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "the bundle is signed with a certificate: "
				   "verify with --ca");
	X509 *leaf = sk_X509_value(b->chain, 0);
	STACK_OF(X509) *inter = sk_X509_new_null();
	if (inter == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	for (int i = 1; i < sk_X509_num(b->chain); i++)
		sk_X509_push(inter, sk_X509_value(b->chain, i));
	for (int i = 0; o->intermediates &&
	     i < sk_X509_num(o->intermediates); i++)
		sk_X509_push(inter, sk_X509_value(o->intermediates, i));
	int rc = pal_x509_verify_chain(leaf, inter, o->roots, 0, err);
	sk_X509_free(inter);
	if (rc == 0)
		rc = pal_x509_check_codesign(leaf, err);
	if (rc < 0)
		return rc;
	char subj[400];
	pal_x509_subject(leaf, subj, sizeof(subj));
	snprintf(r->signer, sizeof(r->signer), "certificate %s", subj);
	return pal_dsse_verify_compat(X509_get0_pubkey(leaf), b->payload_type,
			       b->payload, b->payload_len, b->sig, b->sig_len,
			       err);
}

static int
verify_sigstore(const struct pal_verify_opts *o, const struct pal_bundle *b,
		struct pal_verify_report *r, struct pal_err *err)
{
	if (o->trusted_root == NULL || o->identity == NULL ||
	    o->issuer == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "the bundle is a Sigstore keyless "
				   "signature: verify with --trusted-root, "
				   "--identity and --issuer");
	struct pal_sigstore_want want = {
		.identity = o->identity, .issuer = o->issuer,
	};
	struct pal_sigstore_result res;
	memset(&res, 0, sizeof(res));
	int rc = pal_sigstore_verify(o->trusted_root, b->material,
				     b->payload_type, b->payload,
				     b->payload_len, b->sig, b->sig_len,
				     &want, &res, err);
	if (rc == 0)
		snprintf(r->signer, sizeof(r->signer),
			 "%.200s (issuer %.200s), Rekor entry %llu", res.identity,
			 res.issuer, (unsigned long long)res.log_index);
	return rc;
}

static int
verify_method(const struct pal_verify_opts *o, const struct pal_bundle *b,
	      struct pal_verify_report *r, struct pal_err *err)
{
	switch (b->method) {
	case PAL_OMS_KEY:
		return verify_key(o, b, r, err);
	case PAL_OMS_CERTIFICATE:
		return verify_certificate(o, b, r, err);
	case PAL_OMS_SIGSTORE:
		return verify_sigstore(o, b, r, err);
	}
	return pal_err_set(err, PAL_ERR_FORMAT, "unknown signing method");
}

/* How many signers of the bundle's method the rule allows. */
static size_t
rule_signers(const struct pal_trust_rule *rule, enum pal_oms_method m)
{
	return m == PAL_OMS_KEY ? rule->n_keys :
		m == PAL_OMS_CERTIFICATE ? rule->n_cas :
		rule->trusted_root != NULL ? rule->n_ids : 0;
}

/* The i-th signer the rule allows for the bundle's method, as options. */
static void
rule_signer(const struct pal_trust_rule *rule, enum pal_oms_method m,
	    size_t i, struct pal_verify_opts *v)
{
	v->key = NULL;
	v->roots = v->intermediates = NULL;
	v->trusted_root = NULL;
	v->identity = v->issuer = NULL;
	if (m == PAL_OMS_KEY) {
		v->key = rule->keys[i];
	} else if (m == PAL_OMS_CERTIFICATE) {
		v->roots = rule->cas[i].roots;
		v->intermediates = rule->cas[i].intermediates;
	} else {
		v->trusted_root = rule->trusted_root;
		v->identity = rule->ids[i].identity;
		v->issuer = rule->ids[i].issuer;
	}
}

/*
 * The bundle must verify with one of the signers the rule allows; the
 * failure names the rule and, when there was one signer, why it failed.
 */
static int
verify_by_rule(const struct pal_verify_opts *o, const struct pal_bundle *b,
	       struct pal_verify_report *r, struct pal_err *err)
{
	const struct pal_trust_rule *rule = o->rule;
	size_t n = rule_signers(rule, b->method);
	if (n == 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "trust policy rule '%s' (line %zu) allows "
				   "no %s signer", rule->match, rule->line,
				   pal_oms_method_name(b->method));
	struct pal_err last = { 0 };
	for (size_t i = 0; i < n; i++) {
		struct pal_verify_opts v = *o;
		rule_signer(rule, b->method, i, &v);
		v.rule = NULL;
		int rc = verify_method(&v, b, r, &last);
		if (rc == 0)
			return 0;
		if (rc != PAL_ERR_VERIFY)
			return pal_err_set(err, rc, "%s", last.msg);
	}
	return pal_err_set(err, PAL_ERR_VERIFY,
			   "no %s signer allowed by trust policy rule '%s' "
			   "(line %zu) signed this bundle%s%s",
			   pal_oms_method_name(b->method), rule->match,
			   rule->line, n == 1 ? ": " : "",
			   n == 1 ? last.msg : "");
}

static int
verify_signature(const struct pal_verify_opts *o, const struct pal_bundle *b,
		 struct pal_verify_report *r, struct pal_err *err)
{
	if (strcmp(b->payload_type, PAL_DSSE_INTOTO_TYPE) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "DSSE payloadType '%s' is not %s",
				   b->payload_type, PAL_DSSE_INTOTO_TYPE);
	if (o->rule != NULL)
		return verify_by_rule(o, b, r, err);
	return verify_method(o, b, r, err);
}

/*
 * A single-file model's resource is "." as model_signing writes it, or the
 * file's name as the specification says; the computed manifest uses ".",
 * renamed here when the bundle used the name.
 */
static int
name_single_file(const char *model, const struct pal_manifest *want,
		 struct pal_manifest *got, struct pal_err *err)
{
	if (!got->single_file || want->n_res == 0)
		return 0;
	char *copy = strdup(model);
	if (copy == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	const char *base = basename(copy);
	size_t n = strlen(base);
	const char *w = want->res[0].name;
	int by_name = strncmp(w, base, n) == 0 &&
		(w[n] == '\0' || w[n] == ':');
	for (size_t i = 0; by_name && i < got->n_res; i++) {
		char *s = NULL;
		if (asprintf(&s, "%s%s", base, got->res[i].name + 1) < 0) {
			free(copy);
			return pal_err_set(err, PAL_ERR_NOMEM,
					   "out of memory");
		}
		free(got->res[i].name);
		got->res[i].name = s;
	}
	free(copy);
	pal_manifest_sort(got);
	return 0;
}

/* 1 when every resource of a signed manifest is "." or ".:start:end". */
static int
dot_named(const struct pal_manifest *want)
{
	for (size_t i = 0; i < want->n_res; i++) {
		const char *n = want->res[i].name;
		if (n[0] != '.' || (n[1] != '\0' && n[1] != ':'))
			return 0;
	}
	return want->n_res > 0;
}

/*
 * The model as open files; one file stands for a single-file model that
 * the bundle names "." (model_signing's way).
 */
static int
hash_files(const struct pal_verify_opts *o, const struct pal_manifest *w,
	   const struct pal_manifest_opts *mo, struct pal_manifest **got,
	   struct pal_err *err)
{
	struct pal_manifest_file one;
	const struct pal_manifest_file *files = o->files;
	if (o->n_files == 1 && dot_named(w)) {
		one = (struct pal_manifest_file){ ".", o->files[0].fd };
		files = &one;
	}
	struct pal_manifest_opts fo = *mo;
	fo.signature = NULL;
	return pal_manifest_compute_files(o->model, files, o->n_files, &fo,
					  got, err);
}

static int
hash_model(const struct pal_verify_opts *o, struct pal_verify_report *r,
	   struct pal_err *err)
{
	const struct pal_manifest *w = r->want;
	size_t n = w->n_ignore + o->n_ignore;
	const char **ign = calloc(n + 1, sizeof(*ign));
	if (ign == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < w->n_ignore; i++)
		ign[i] = w->ignore[i];
	for (size_t i = 0; i < o->n_ignore; i++)
		ign[w->n_ignore + i] = o->ignore[i];
	struct pal_manifest_opts mo = {
		.hash = w->hash, .shard_size = w->shard_size,
		.allow_symlinks = w->allow_symlinks, .ignore = ign,
		.n_ignore = n, .signature = o->signature,
		.threads = o->threads,
	};
	int rc;
	if (o->files != NULL) {
		rc = hash_files(o, w, &mo, &r->got, err);
	} else {
		rc = pal_manifest_compute(o->model, &mo, &r->got, err);
		if (rc == 0)
			rc = name_single_file(o->model, w, r->got, err);
	}
	free(ign);
	return rc;
}

static const char *
diff_word(enum pal_diff_kind k)
{
	return k == PAL_DIFF_MISSING ? "signed but missing" :
		k == PAL_DIFF_MISMATCH ? "digest differs" :
		"present but not signed";
}

int
pal_oms_verify(const struct pal_verify_opts *o, struct pal_verify_report *r,
	       struct pal_err *err)
{
	memset(r, 0, sizeof(*r));
	struct pal_bundle *b = NULL;
	int rc = pal_bundle_load(o->signature, &b, err);
	if (rc < 0)
		return rc;
	r->method = b->method;
	rc = verify_signature(o, b, r, err);
	if (rc == 0)
		rc = pal_statement_parse(b->payload, b->payload_len, &r->want,
					 &r->v01, err);
	pal_bundle_free(b);
	if (rc == 0)
		rc = hash_model(o, r, err);
	if (rc < 0)
		return rc;
	r->n_diffs = pal_manifest_compare(r->want, r->got, r->diffs,
					  PAL_VERIFY_DIFFS);
	if (r->n_diffs > 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "the model does not match its signature: "
				   "%ld difference%s, first '%s' (%s)",
				   r->n_diffs, r->n_diffs == 1 ? "" : "s",
				   r->diffs[0].name,
				   diff_word(r->diffs[0].kind));
	return 0;
}
