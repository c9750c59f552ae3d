/*
 * cmd_verify.c - palisade verify: a model against its OMS bundle.
 *
 * Exit 0: verified.  Exit 1: the signature, the signer or the model does
 * not hold (every difference is listed).  Exit 2: verification could not
 * run (usage, unreadable trust material).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "model_opts.h"
#include "palisade/encoding.h"
#include "palisade/signing.h"
#include "palisade/trust_policy.h"
#include "palisade/x509.h"
#include "palisade/sigstore.h"

enum {
	OPT_SIG = 0x200, OPT_KEY, OPT_CA, OPT_INTER, OPT_ROOT, OPT_IDENTITY,
	OPT_ISSUER, OPT_POLICY, OPT_SOURCE,
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: palisade verify [OPTIONS] PATH --signature FILE "
		"TRUST\n\n"
		"Verifies a model against its OpenSSF model-signing bundle.  "
		"TRUST is one of:\n"
		"  --key PUB                       the signer's PEM public key\n"
		"  --ca ROOT [--intermediate C]... CA certificates (PEM)\n"
		"  --trusted-root FILE --identity ID --issuer URL\n"
		"                                  Sigstore keyless, verified "
		"offline\n"
		"  --policy FILE [--source NAME]   the signers a trust policy "
		"allows for the\n"
		"                                  model's source (default: "
		"PATH as given)\n\n"
		"  --signature FILE    the bundle (default model.sig)\n"
		"  --ignore-path P     leave P out besides the bundle's ignore "
		"paths\n"
		"  --threads N         hashing threads (default: one per CPU)\n"
		"  --json              machine-readable output\n");
}

struct trust {
	const char *key, *ca, *root, *identity, *issuer, *policy, *source;
	struct pal_trust_policy *loaded;
	const char *inter[16];
	int n_inter;
};

static int
load_stack(const char *const *paths, int n, STACK_OF(X509) **out,
	   struct pal_err *err)
{
	if ((*out = sk_X509_new_null()) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
		STACK_OF(X509) *more = NULL;
		int rc = pal_x509_load_file(paths[i], &more, err);
		if (rc < 0)
			return rc;
		while (sk_X509_num(more) > 0)
			sk_X509_push(*out, sk_X509_shift(more));
		sk_X509_pop_free(more, X509_free);
	}
	return 0;
}

static int
load_policy(struct trust *t, struct pal_verify_opts *v, struct pal_err *err)
{
	int rc = pal_trust_policy_load(t->policy, &t->loaded, err);
	if (rc == 0)
		rc = pal_trust_policy_select(t->loaded, t->source ? t->source :
					     v->model, &v->rule, err);
	return rc;
}

static int
load_trust(struct trust *t, struct pal_verify_opts *v, struct pal_err *err)
{
	int n = (t->key != NULL) + (t->ca != NULL) + (t->root != NULL) +
		(t->policy != NULL);
	if (n != 1)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "give exactly one of --key, --ca, "
				   "--trusted-root, --policy");
	if (t->source != NULL && t->policy == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "--source needs --policy");
	if (t->policy != NULL)
		return load_policy(t, v, err);
	if (t->key != NULL)
		return pal_pubkey_load(t->key, &v->key, err);
	if (t->ca != NULL) {
		int rc = load_stack(&t->ca, 1, &v->roots, err);
		if (rc == 0)
			rc = load_stack(t->inter, t->n_inter,
					&v->intermediates, err);
		return rc;
	}
	if (t->identity == NULL || t->issuer == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "--trusted-root needs --identity and "
				   "--issuer");
	v->identity = t->identity;
	v->issuer = t->issuer;
	struct pal_sigstore_root *r = NULL;
	int rc = pal_sigstore_root_load(t->root, &r, err);
	v->trusted_root = r;
	return rc;
}

static void
free_trust(struct trust *t, struct pal_verify_opts *v)
{
	pal_trust_policy_free(t->loaded);
	EVP_PKEY_free(v->key);
	if (v->roots != NULL)
		sk_X509_pop_free(v->roots, X509_free);
	if (v->intermediates != NULL)
		sk_X509_pop_free(v->intermediates, X509_free);
	if (t->policy == NULL)	/* else the policy's */
		pal_sigstore_root_free((struct pal_sigstore_root *)
				       (uintptr_t)v->trusted_root);
}

static const char *
kind_name(enum pal_diff_kind k)
{
	return k == PAL_DIFF_MISSING ? "missing" :
		k == PAL_DIFF_MISMATCH ? "modified" : "unsigned";
}

static void
hexof(const struct pal_resource *r, char *out)
{
	if (r == NULL)
		out[0] = '\0';
	else
		pal_hex_encode(r->digest, r->digest_len, out);
}

static void
print_text(const struct pal_verify_opts *v, const struct pal_verify_report *r,
	   int rc, const struct pal_err *err)
{
	if (rc == 0) {
		fputs("verified ", stdout);
		cli_put_safe(stdout, v->model);
		printf(": %zu resource%s as signed by ", r->got->n_res,
		       r->got->n_res == 1 ? "" : "s");
		cli_put_safe(stdout, r->signer);
		printf(" (%s bundle%s)\n", pal_oms_method_name(r->method),
		       r->v01 ? ", deprecated v0.1 format" : "");
		return;
	}
	fputs("FAILED ", stdout);
	cli_put_safe(stdout, v->model);
	fputs(": ", stdout);
	cli_put_safe(stdout, err->msg);
	putchar('\n');
	char want[2 * PAL_DIGEST_MAX + 1], got[2 * PAL_DIGEST_MAX + 1];
	long shown = r->n_diffs < PAL_VERIFY_DIFFS ? r->n_diffs :
		PAL_VERIFY_DIFFS;
	for (long i = 0; i < shown; i++) {
		const struct pal_diff *d = &r->diffs[i];
		hexof(d->want, want);
		hexof(d->got, got);
		printf("  %-8s ", kind_name(d->kind));
		cli_put_safe(stdout, d->name);
		if (d->kind == PAL_DIFF_MISMATCH)
			printf("\n           expected %s\n           found    "
			       "%s", want, got);
		putchar('\n');
	}
	if (r->n_diffs > shown)
		printf("  ... and %ld more\n", r->n_diffs - shown);
}

static void
print_json(const struct pal_verify_opts *v,
	   const struct pal_verify_report *r, int rc, const struct pal_err *e)
{
	json_t *diffs = json_array();
	char want[2 * PAL_DIGEST_MAX + 1], got[2 * PAL_DIGEST_MAX + 1];
	for (long i = 0; i < r->n_diffs && i < PAL_VERIFY_DIFFS; i++) {
		const struct pal_diff *d = &r->diffs[i];
		hexof(d->want, want);
		hexof(d->got, got);
		json_array_append_new(diffs, json_pack("{s:s, s:s, s:s, s:s}",
			"kind", kind_name(d->kind), "name", d->name,
			"expected", want, "found", got));
	}
	json_t *doc = json_pack("{s:b, s:s, s:s, s:s, s:s?, s:I, s:o}",
		"verified", rc == 0, "model", v->model,
		"method", pal_oms_method_name(r->method),
		"signer", r->signer, "error", rc == 0 ? NULL : e->msg,
		"differences_total", (json_int_t)r->n_diffs,
		"differences", diffs);
	if (doc != NULL) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(doc);
	}
}

/* What the bundle or the model got wrong is a failed verification. */
static int
exit_code(int rc)
{
	if (rc == 0)
		return CLI_OK;
	return rc == PAL_ERR_VERIFY || rc == PAL_ERR_FORMAT ||
		rc == PAL_ERR_TRUNCATED || rc == PAL_ERR_UNSUPPORTED ||
		rc == PAL_ERR_LIMIT ? CLI_FINDING : CLI_ERROR;
}

/* With --log: what was verified, by whom it was signed, and the verdict. */
static int
log_outcome(const struct model_opts *o, const struct pal_verify_opts *v,
	    const struct pal_verify_report *r, int rc,
	    const struct pal_err *err)
{
	if (o->log == NULL)
		return 0;
	uint8_t root[32];
	char hex[65] = "";
	const struct pal_manifest *m = r->want ? r->want : NULL;
	if (m != NULL && pal_manifest_root_digest(m, root) == 0)
		pal_hex_encode(root, sizeof(root), hex);
	json_t *d = json_pack("{s:s, s:s, s:b, s:s, s:s, s:s?, s:I}",
			      "model", v->model, "bundle", v->signature,
			      "verified", rc == 0,
			      "method", pal_oms_method_name(r->method),
			      "signer", r->signer,
			      "error", rc == 0 ? NULL : err->msg,
			      "differences", (json_int_t)r->n_diffs);
	char *dj = d ? json_dumps(d, JSON_COMPACT) : NULL;
	int lrc = model_log(o, "verify", rc == 0 ? "model.verify" :
			    "model.verify-failed", hex[0] ? hex : NULL, dj);
	free(dj);
	json_decref(d);
	return lrc;
}

static int
parse_args(int argc, char **argv, struct model_opts *o, struct trust *t,
	   struct pal_verify_opts *v)
{
	static const struct option longopts[] = {
		MODEL_LONG_OPTIONS,
		{ "signature", required_argument, NULL, OPT_SIG },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "intermediate", required_argument, NULL, OPT_INTER },
		{ "trusted-root", required_argument, NULL, OPT_ROOT },
		{ "identity", required_argument, NULL, OPT_IDENTITY },
		{ "issuer", required_argument, NULL, OPT_ISSUER },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 1;
		case OPT_SIG: v->signature = optarg; continue;
		case OPT_KEY: t->key = optarg; continue;
		case OPT_CA: t->ca = optarg; continue;
		case OPT_ROOT: t->root = optarg; continue;
		case OPT_IDENTITY: t->identity = optarg; continue;
		case OPT_ISSUER: t->issuer = optarg; continue;
		case OPT_POLICY: t->policy = optarg; continue;
		case OPT_SOURCE: t->source = optarg; continue;
		case OPT_INTER:
			if (t->n_inter == 16) {
				fprintf(stderr, "palisade verify: more than "
					"16 --intermediate\n");
				return -1;
			}
			t->inter[t->n_inter++] = optarg;
			continue;
		case OPT_HASH:
		case OPT_SHARD:
		case OPT_SYMLINKS:
			fprintf(stderr, "palisade verify: hashing settings "
				"come from the bundle\n");
			return -1;
		}
		if (model_opt(o, c, optarg, "verify") != 0) {
			if (c == '?')
				usage(stderr);
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "palisade verify: one model PATH expected\n");
		usage(stderr);
		return -1;
	}
	v->model = argv[optind];
	v->ignore = o->m.ignore;
	v->n_ignore = o->m.n_ignore;
	v->threads = o->m.threads;
	return 0;
}

int
cmd_verify(int argc, char **argv)
{
	struct model_opts o;
	struct trust t;
	struct pal_verify_opts v;
	memset(&o, 0, sizeof(o));
	memset(&t, 0, sizeof(t));
	memset(&v, 0, sizeof(v));
	v.signature = "model.sig";
	int rc = parse_args(argc, argv, &o, &t, &v);
	if (rc != 0)
		return rc > 0 ? CLI_OK : CLI_ERROR;
	struct pal_err err = { 0 };
	rc = load_trust(&t, &v, &err);
	if (rc < 0) {
		/* No rule, or a rule allowing nothing, is a refusal. */
		FILE *fp = rc == PAL_ERR_VERIFY ? stdout : stderr;
		if (rc == PAL_ERR_VERIFY) {
			fputs("FAILED ", fp);
			cli_put_safe(fp, v.model);
			fputs(": ", fp);
		} else {
			fputs("palisade verify: ", fp);
		}
		cli_put_safe(fp, err.msg);
		fputc('\n', fp);
		free_trust(&t, &v);
		return rc == PAL_ERR_VERIFY ? CLI_FINDING : CLI_ERROR;
	}
	struct pal_verify_report r;
	rc = pal_oms_verify(&v, &r, &err);
	if (rc < 0 && exit_code(rc) == CLI_ERROR) {
		fputs("palisade verify: ", stderr);
		cli_put_safe(stderr, err.msg);
		fputc('\n', stderr);
	}
	else if (o.json)
		print_json(&v, &r, rc, &err);
	else
		print_text(&v, &r, rc, &err);
	if (log_outcome(&o, &v, &r, rc, &err) < 0 && rc == 0)
		rc = PAL_ERR_IO;
	pal_verify_report_free(&r);
	free_trust(&t, &v);
	return exit_code(rc);
}
