/*
 * cmd_sign.c - palisade sign: an OMS bundle for a model.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "cli.h"
#include "model_opts.h"
#include "palisade/encoding.h"
#include "palisade/file.h"
#include "palisade/signing.h"
#include "palisade/x509.h"

enum { OPT_KEY = 0x200, OPT_CERT, OPT_CHAIN };

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: palisade sign [OPTIONS] PATH --key KEY "
		"[--cert LEAF [--chain CERT]...] [-o FILE]\n\n"
		"Signs a model file or directory as an OpenSSF model-signing "
		"bundle.\n\n"
		"  --key KEY           PEM private key (ECDSA P-256/384/521) or "
		"a PKCS#11 URI\n"
		"                      (pkcs11:token=...;object=...?pin-source="
		"...)\n"
		"  --cert LEAF         signing certificate (PEM): writes a "
		"certificate bundle\n"
		"  --chain CERT        intermediate certificates (PEM), "
		"repeatable\n"
		"  -o, --output FILE   where to write the bundle (default "
		"model.sig)\n"
		MODEL_OPTS_HELP);
}

/* Leaf then intermediates, as the bundle lists them. */
static int
load_chain(const char *leaf, const char **chain, int n,
	   STACK_OF(X509) **out, struct pal_err *err)
{
	int rc = pal_x509_load_file(leaf, out, err);
	for (int i = 0; rc == 0 && i < n; i++) {
		STACK_OF(X509) *more = NULL;
		rc = pal_x509_load_file(chain[i], &more, err);
		while (rc == 0 && sk_X509_num(more) > 0)
			sk_X509_push(*out, sk_X509_shift(more));
		if (more != NULL)
			sk_X509_pop_free(more, X509_free);
	}
	return rc;
}

static int
sign_model(const char *model, struct model_opts *o, const char *key,
	   STACK_OF(X509) *chain, const char *out)
{
	struct pal_err err = { 0 };
	struct pal_signer *signer = NULL;
	struct pal_manifest *m = NULL;
	struct pal_buf bundle;
	pal_buf_init(&bundle, PAL_OMS_BUNDLE_MAX);
	o->m.signature = out;
	int rc = pal_signer_open(key, &signer, &err);
	if (rc == 0)
		rc = pal_oms_sign(model, &o->m, signer, chain, &bundle, &m,
				  &err);
	if (rc == 0)
		rc = pal_file_write_atomic(out, bundle.p, bundle.len, 0644,
					   &err);
	if (rc < 0) {
		fputs("palisade sign: ", stderr);
		cli_put_safe(stderr, err.msg);
		fputc('\n', stderr);
	} else {
		uint8_t root[32];
		char hex[65] = "";
		if (pal_manifest_root_digest(m, root) == 0)
			pal_hex_encode(root, sizeof(root), hex);
		fprintf(o->json ? stderr : stdout,
			"signed %s: %zu resource%s, %llu bytes, root "
			"sha256:%s, %s bundle written to %s\n", model,
			m->n_res, m->n_res == 1 ? "" : "s",
			(unsigned long long)m->total_bytes, hex,
			chain ? "certificate" : "key", out);
		json_t *j = o->json ? json_pack("{s:b, s:s, s:s, s:s, s:I}",
			"signed", 1, "model", model, "bundle", out,
			"root_digest", hex, "resources", (json_int_t)m->n_res) :
			NULL;
		if (j != NULL) {
			json_dumpf(j, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(j);
		}
	}
	if (rc == 0) {
		uint8_t root[32];
		char hex[65] = "";
		json_t *d = NULL;
		char *dj = NULL;
		if (pal_manifest_root_digest(m, root) == 0)
			pal_hex_encode(root, sizeof(root), hex);
		d = json_pack("{s:s, s:s, s:I}", "model", model, "bundle",
			      out, "resources", (json_int_t)m->n_res);
		dj = d ? json_dumps(d, JSON_COMPACT) : NULL;
		if (model_log(o, "sign", "model.sign", hex, dj) < 0)
			rc = -1;
		free(dj);
		json_decref(d);
	}
	pal_manifest_free(m);
	pal_signer_free(signer);
	pal_buf_free(&bundle);
	return rc < 0 ? CLI_ERROR : CLI_OK;
}

int
cmd_sign(int argc, char **argv)
{
	static const struct option longopts[] = {
		MODEL_LONG_OPTIONS,
		{ "key", required_argument, NULL, OPT_KEY },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "chain", required_argument, NULL, OPT_CHAIN },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct model_opts o;
	memset(&o, 0, sizeof(o));
	const char *key = NULL, *cert = NULL, *out = "model.sig";
	const char *chain[16];
	int n_chain = 0, c;
	while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return CLI_OK;
		case 'o':
			out = optarg;
			continue;
		case OPT_KEY:
			key = optarg;
			continue;
		case OPT_CERT:
			cert = optarg;
			continue;
		case OPT_CHAIN:
			if (n_chain == 16) {
				fprintf(stderr, "palisade sign: more than 16 "
					"--chain\n");
				return CLI_ERROR;
			}
			chain[n_chain++] = optarg;
			continue;
		}
		if (model_opt(&o, c, optarg, "sign") != 0) {
			if (c == '?')
				usage(stderr);
			return CLI_ERROR;
		}
	}
	if (optind != argc - 1 || key == NULL || (n_chain && !cert)) {
		fprintf(stderr, "palisade sign: %s\n", optind != argc - 1 ?
			"one model PATH expected" : key == NULL ?
			"--key is required" : "--chain needs --cert");
		usage(stderr);
		return CLI_ERROR;
	}
	STACK_OF(X509) *certs = NULL;
	struct pal_err err = { 0 };
	if (cert != NULL && load_chain(cert, chain, n_chain, &certs,
				       &err) < 0) {
		fputs("palisade sign: ", stderr);
		cli_put_safe(stderr, err.msg);
		fputc('\n', stderr);
		return CLI_ERROR;
	}
	int rc = sign_model(argv[optind], &o, key, certs, out);
	if (certs != NULL)
		sk_X509_pop_free(certs, X509_free);
	return rc;
}
