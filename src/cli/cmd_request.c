/*
 * cmd_request.c - palisade request and palisade approve: asking for an
 * operation that needs two people, and agreeing to it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "palisade/approval.h"
#include "palisade/tlog.h"
#include "vault_opts.h"

enum { OPT_TTL = 0x400, OPT_KEY, OPT_AS, OPT_VAULT };

static void
request_usage(FILE *fp)
{
	fprintf(fp, "usage: palisade request OPERATION VAULT --release R "
		"--requester NAME -o FILE\n"
		"                        [--ttl SECONDS] [--json]\n\n"
		"Writes a request for OPERATION (unseal, shred or export) on "
		"release R of the\nvault, for approvers to approve with "
		"palisade approve.  It expires after\n--ttl seconds (default "
		"3600, at most a week) and can be used once.\n");
}

static int
parse_ttl(const char *s, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*end != '\0' || v < 60 || v > PAL_TPC_TTL_MAX) {
		fprintf(stderr, "palisade request: --ttl %s: 60 to %ld "
			"seconds\n", s, (long)PAL_TPC_TTL_MAX);
		return -1;
	}
	*out = v;
	return 0;
}

int
cmd_request(int argc, char **argv)
{
	static const struct option longopts[] = {
		VAULT_LONG_OPTIONS,
		{ "ttl", required_argument, NULL, OPT_TTL },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vault_opts o = { .cmd = "request" };
	const char *out = NULL;
	long ttl = 3600;
	int c;
	while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		int r = vault_opt(&o, c, optarg, argc, argv);
		if (r < 0)
			return CLI_ERROR;
		if (r == 0)
			continue;
		switch (c) {
		case OPT_TTL:
			if (parse_ttl(optarg, &ttl) < 0)
				return CLI_ERROR;
			break;
		case 'o': out = optarg; break;
		case 'h': request_usage(stdout); return CLI_OK;
		default: request_usage(stderr); return CLI_ERROR;
		}
	}
	if (optind != argc - 2 || o.release == NULL || o.requester == NULL ||
	    out == NULL) {
		request_usage(stderr);
		return CLI_ERROR;
	}
	struct pal_err err = { 0 };
	struct pal_tpc_request req;
	struct pal_vault *v = NULL;
	struct pal_buf desc;
	enum pal_tpc_op op;
	int rc = pal_tpc_op_parse(argv[optind], &op, &err);
	if (rc == 0 && (rc = vault_open(&o, argv[optind + 1], &v)) != 0)
		return rc;
	if (rc == 0)
		rc = pal_tpc_request_new(op, o.release, o.requester,
					 pal_vault_id(v), (int64_t)time(NULL),
					 ttl, &req, &err);
	pal_vault_close(v);
	if (rc == 0)
		rc = pal_tpc_request_write(&req, out, &err);
	if (rc < 0)
		return vault_fail(&o, rc, &err);
	pal_buf_init(&desc, 4096);
	pal_tpc_request_describe(&req, &desc, &err);
	if (o.json)
		vault_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s}",
			"request", out, "operation", pal_tpc_op_name(op),
			"release", req.release, "nonce", req.nonce,
			"expires", req.expires));
	else
		printf("%s: %s\n", out, desc.p ? (char *)desc.p : "");
	pal_buf_free(&desc);
	return CLI_OK;
}

static void
approve_usage(FILE *fp)
{
	fprintf(fp, "usage: palisade approve REQUEST --key KEY [--as NAME] "
		"[--vault VAULT] -o FILE\n"
		"                        [--json]\n\n"
		"Signs a request (palisade request) as one of the vault's "
		"approvers.  Read the\nline it prints: it says what you "
		"approve.\n\n"
		"  --key KEY           your P-256 private key: a PEM file or a "
		"PKCS#11 URI\n"
		"  --as NAME           your name in the approver set (default: "
		"found from the\n"
		"                      key in --vault's approver set)\n"
		"  --vault VAULT       check the request against this vault's "
		"approver set\n"
		"  -o FILE             where to write the approval\n"
		"  --log DIR           record the approval in this Palisade "
		"log\n");
}

/* "vault.approve" in the log at dir: which request, and where. */
static int
log_approval(const char *dir, const char *out, const char *desc,
	     struct pal_err *err)
{
	uint64_t index;
	json_t *d = json_pack("{s:s, s:s}", "approval", out, "request", desc);
	char *text = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(d);
	if (text == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	int rc = pal_log_record(dir, "vault.approve", "cli", NULL, text,
				&index, err);
	free(text);
	return rc;
}

int
cmd_approve(int argc, char **argv)
{
	static const struct option longopts[] = {
		VAULT_LONG_OPTIONS,
		{ "key", required_argument, NULL, OPT_KEY },
		{ "as", required_argument, NULL, OPT_AS },
		{ "vault", required_argument, NULL, OPT_VAULT },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vault_opts o = { .cmd = "approve" };
	const char *key = NULL, *as = NULL, *vdir = NULL, *out = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		int r = vault_opt(&o, c, optarg, argc, argv);
		if (r < 0)
			return CLI_ERROR;
		if (r == 0)
			continue;
		switch (c) {
		case OPT_KEY: key = optarg; break;
		case OPT_AS: as = optarg; break;
		case OPT_VAULT: vdir = optarg; break;
		case 'o': out = optarg; break;
		case 'h': approve_usage(stdout); return CLI_OK;
		default: approve_usage(stderr); return CLI_ERROR;
		}
	}
	if (optind != argc - 1 || key == NULL || out == NULL ||
	    (as == NULL && vdir == NULL)) {
		approve_usage(stderr);
		return CLI_ERROR;
	}
	struct pal_err err = { 0 };
	struct pal_tpc_approvers *set = NULL;
	struct pal_buf desc;
	int rc = 0;
	if (vdir != NULL)
		rc = pal_vault_approvers(vdir, &set, &err);
	pal_buf_init(&desc, 4096);
	if (rc == 0)
		rc = pal_tpc_approve_file(argv[optind], key, as, set,
					  (int64_t)time(NULL), out, &desc,
					  &err);
	pal_tpc_approvers_free(set);
	if (rc == 0 && o.log != NULL)
		rc = log_approval(o.log, out, desc.p ? (char *)desc.p : "",
				  &err);
	if (rc < 0) {
		pal_buf_free(&desc);
		return vault_fail(&o, rc, &err);
	}
	if (o.json)
		vault_print_json(json_pack("{s:s, s:s}", "approval", out,
					   "request", desc.p ? (char *)desc.p :
					   ""));
	else
		printf("approved: %s\n  -> %s\n", desc.p ? (char *)desc.p : "",
		       out);
	pal_buf_free(&desc);
	return CLI_OK;
}
