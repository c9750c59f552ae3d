/*
 * up_model.c - palisade up's model steps: the release is unsealed into
 * sealed memfds, and those bytes, with no copy of them anywhere, are
 * verified against the signature and scanned.  What is verified and
 * scanned is then exactly what the server is handed (docs/up.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli.h"
#include "palisade/encoding.h"
#include "palisade/scan.h"
#include "palisade/signer.h"
#include "palisade/signing.h"
#include "palisade/trust_policy.h"
#include "up.h"

/* ---- unseal ---- */

static void
print_refusals(const struct pal_tpc_report *r)
{
	for (size_t i = 0; i < r->n_refused; i++) {
		fputs("palisade up: unseal: refused ", stderr);
		cli_put_safe(stderr, r->refused[i].who);
		fputs(": ", stderr);
		cli_put_safe(stderr, r->refused[i].why);
		fputc('\n', stderr);
	}
}

static json_t *
unseal_details(const struct up *u, const struct pal_tpc_report *r)
{
	json_t *files = json_array(), *who = json_array();

	for (size_t i = 0; files != NULL && i < u->model.n; i++)
		json_array_append_new(files, json_pack("{s:s, s:I}", "path",
			u->model.f[i].path, "bytes",
			(json_int_t)u->model.f[i].size));
	for (size_t i = 0; who != NULL && i < r->n_valid; i++)
		json_array_append_new(who, json_string(r->valid[i]));
	return json_pack("{s:b, s:s, s:s, s:o*, s:I, s:o*, s:I}", "ok", 1,
			 "vault", u->cfg->model.vault, "release",
			 u->cfg->model.release, "files", files, "bytes",
			 (json_int_t)u->model.bytes, "approvers", who,
			 "vault_log_index", u->model.logged ?
			 (json_int_t)u->model.log_index : (json_int_t)-1);
}

int
up_unseal(struct up *u, struct pal_err *err)
{
	const struct up_config *c = u->cfg;
	struct pal_keystore_pin pin = { NULL, c->model.pin_file };
	struct pal_tpc_report rep;
	struct pal_vault_authz a = {
		.approvals = (const char *const *)c->model.approvals,
		.n_approvals = c->model.n_approvals, .report = &rep,
	};
	struct pal_unseal_target t = { .kind = PAL_UNSEAL_MEMFD, .fd = -1 };
	struct pal_vault *v = NULL;
	size_t off = 0;
	int rc;

	memset(&rep, 0, sizeof(rep));
	rc = pal_vault_open(c->model.vault, &pin, NULL, &v, err);
	if (rc == 0)
		rc = pal_vault_unseal(v, c->model.release, &a, &t, &u->model,
				      err);
	pal_vault_close(v);
	if (rc < 0) {
		print_refusals(&rep);
		return rc;
	}
	for (size_t i = 0; i < rep.n_valid; i++) {
		int n = snprintf(u->approvers + off, sizeof(u->approvers) - off,
				 "%s%s", i ? ", " : "", rep.valid[i]);
		if (n < 0 || (size_t)n >= sizeof(u->approvers) - off)
			break;
		off += (size_t)n;
	}
	fprintf(stderr, "palisade up: unsealed release %s (%zu file%s, %llu "
		"bytes) into sealed memfds, approved by %s\n",
		c->model.release, u->model.n, u->model.n == 1 ? "" : "s",
		(unsigned long long)u->model.bytes, u->approvers);
	return up_log(u, "up.unseal", NULL, unseal_details(u, &rep), err);
}

/* ---- verify ---- */

struct trust {
	EVP_PKEY *key;
	struct pal_trust_policy *policy;
};

static int
load_trust(const struct up_config *c, struct trust *t,
	   struct pal_verify_opts *o, struct pal_err *err)
{
	int rc;

	if (c->model.key != NULL)
		return pal_pubkey_load(c->model.key, &o->key, err);
	rc = pal_trust_policy_load(c->model.trust_policy, &t->policy, err);
	if (rc == 0)
		rc = pal_trust_policy_select(t->policy, c->model.source ?
					     c->model.source :
					     c->model.release, &o->rule, err);
	return rc;
}

/* Names the first differences, as palisade verify does. */
static void
print_diffs(const struct pal_verify_report *r)
{
	static const char *const kind[] = {
		"signed but missing", "digest differs",
		"present but not signed",
	};
	long n = r->n_diffs < PAL_VERIFY_DIFFS ? r->n_diffs : PAL_VERIFY_DIFFS;

	for (long i = 0; i < n; i++) {
		fputs("palisade up: verify: ", stderr);
		cli_put_safe(stderr, r->diffs[i].name);
		fprintf(stderr, ": %s\n", kind[r->diffs[i].kind]);
	}
}

int
up_verify(struct up *u, struct pal_err *err)
{
	const struct up_config *c = u->cfg;
	struct pal_manifest_file *files = calloc(u->model.n, sizeof(*files));
	struct pal_verify_opts o = {
		.model = c->model.release, .signature = c->model.signature,
		.n_files = u->model.n,
	};
	struct pal_verify_report r;
	struct trust t = { 0 };
	uint8_t root[32];
	char hex[65];
	int rc;

	memset(&r, 0, sizeof(r));
	if (files == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < u->model.n; i++)
		files[i] = (struct pal_manifest_file){ u->model.f[i].path,
						       u->model.f[i].fd };
	o.files = files;
	rc = load_trust(c, &t, &o, err);
	if (rc == 0)
		rc = pal_oms_verify(&o, &r, err);
	if (rc == PAL_ERR_VERIFY)
		print_diffs(&r);
	if (rc == 0)
		rc = pal_manifest_root_digest(r.got, root);
	if (rc == 0) {
		pal_hex_encode(root, sizeof(root), hex);
		snprintf(u->manifest, sizeof(u->manifest), "sha256:%s", hex);
		fprintf(stderr, "palisade up: verified %zu resource%s against "
			"%s, signed by %s\n", r.got->n_res,
			r.got->n_res == 1 ? "" : "s", c->model.signature,
			r.signer);
		rc = up_log(u, "up.verify", u->manifest,
			    json_pack("{s:b, s:s, s:s, s:s, s:s, s:I}", "ok", 1,
				      "signer", r.signer, "method",
				      pal_oms_method_name(r.method),
				      "manifest", u->manifest, "signature",
				      c->model.signature, "resources",
				      (json_int_t)r.got->n_res), err);
	}
	pal_verify_report_free(&r);
	pal_trust_policy_free(t.policy);
	EVP_PKEY_free(o.key);
	free(files);
	return rc;
}

/* ---- scan ---- */

static int
scan_all(struct up *u, struct pal_scan *s, struct pal_err *err)
{
	for (size_t i = 0; i < u->model.n; i++)
		if (pal_scan_add_fd(s, u->model.f[i].path,
				    u->model.f[i].fd) < 0)
			return pal_err_set(err, PAL_ERR_NOMEM,
					   "out of memory");
	/* Not PAL_SCAN_SANDBOX: this process goes on to start others. */
	return pal_scan_run(s, err);
}

static json_t *
scan_details(const struct up *u, const struct pal_scan *s)
{
	size_t skipped = 0;

	for (size_t i = 0; i < pal_scan_nresults(s); i++)
		skipped += pal_scan_result(s, i)->status == PAL_ITEM_SKIPPED;
	return json_pack("{s:b, s:I, s:I, s:I, s:I}", "ok", 1, "files",
			 (json_int_t)u->model.n, "items",
			 (json_int_t)pal_scan_nresults(s), "skipped",
			 (json_int_t)skipped, "findings",
			 (json_int_t)pal_scan_nfindings(s));
}

int
up_scan(struct up *u, struct pal_err *err)
{
	struct pal_policy *policy = NULL;
	struct pal_scan_opts opts = { .flags = 0 };
	struct pal_scan *s = NULL;
	int rc, code;

	pal_scan_limits_default(&opts.limits);
	rc = pal_policy_new_default(&policy, err);
	opts.policy = policy;
	if (rc == 0)
		rc = pal_scan_new(&opts, &s, err);
	if (rc == 0)
		rc = scan_all(u, s, err);
	if (rc == 0 && (code = pal_scan_exit_code(s)) != 0) {
		/* Every finding and error, as palisade scan prints them. */
		pal_scan_write_text(s, stderr);
		rc = code == 1 ?
			pal_err_set(err, PAL_ERR_VERIFY, "%zu finding%s in "
				    "the release: it is not served",
				    pal_scan_nfindings(s),
				    pal_scan_nfindings(s) == 1 ? "" : "s") :
			pal_err_set(err, PAL_ERR_INVALID, "a file of the "
				    "release could not be scanned: it is not "
				    "served");
	}
	if (rc == 0) {
		fprintf(stderr, "palisade up: scanned %zu file%s: no "
			"findings\n", u->model.n, u->model.n == 1 ? "" : "s");
		rc = up_log(u, "up.scan", u->manifest, scan_details(u, s),
			    err);
	}
	pal_scan_free(s);
	pal_policy_free(policy);
	return rc;
}
