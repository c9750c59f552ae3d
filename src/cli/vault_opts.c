/*
 * vault_opts.c - the options and output the vault's commands share.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "cli.h"
#include "vault_opts.h"

int
vault_opt(struct vault_opts *o, int c, const char *arg, int argc,
	  char **argv)
{
	switch (c) {
	case VOPT_PIN_FILE:
		o->pin.file = arg;
		return 0;
	case VOPT_RELEASE:
		o->release = arg;
		return 0;
	case VOPT_REQUEST:
		o->request = arg;
		return 0;
	case VOPT_REQUESTER:
		o->requester = arg;
		return 0;
	case VOPT_LOG:
		o->log = arg;
		return 0;
	case VOPT_JSON:
		o->json = 1;
		return 0;
	case VOPT_APPROVALS:
		break;
	default:
		return 1;
	}
	/* --approvals A [B ...]: arg, then the arguments after it. */
	for (;;) {
		if (o->n_approvals == VAULT_APPROVALS_MAX) {
			fprintf(stderr, "palisade %s: more than %d approvals\n",
				o->cmd, VAULT_APPROVALS_MAX);
			return -1;
		}
		o->approvals[o->n_approvals++] = arg;
		if (optind >= argc || argv[optind][0] == '-')
			return 0;
		arg = argv[optind++];
	}
}

int
vault_fail(const struct vault_opts *o, int rc, const struct pal_err *err)
{
	fprintf(stderr, "palisade %s: ", o->cmd);
	cli_put_safe(stderr, err->msg[0] ? err->msg : pal_strerror(rc));
	fputc('\n', stderr);
	return rc == PAL_ERR_VERIFY ? CLI_FINDING : CLI_ERROR;
}

int
vault_open(const struct vault_opts *o, const char *dir, struct pal_vault **v)
{
	struct pal_err err = { 0 };
	/*
	 * This process will hold data keys and plaintext: no core dumps, and
	 * no ptrace by other processes of the same user (as ssh-agent does).
	 * Locked memory (secmem.h) covers the keys; this covers the rest,
	 * such as OpenSSL's copies of the AES key schedule.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		fprintf(stderr, "palisade %s: cannot disable core dumps: %s\n",
			o->cmd, strerror(errno));
		return CLI_ERROR;
	}
	int rc = pal_vault_open(dir, &o->pin, o->log, v, &err);
	return rc < 0 ? vault_fail(o, rc, &err) : 0;
}

struct pal_vault_authz
vault_authz(const struct vault_opts *o, struct pal_tpc_report *report)
{
	struct pal_vault_authz a = {
		.requester = o->requester, .request = o->request,
		.approvals = o->approvals, .n_approvals = o->n_approvals,
		.report = report,
	};
	return a;
}

void
vault_print_json(json_t *j)
{
	if (j == NULL)
		return;
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(j);
}

void
vault_print_refusals(const struct pal_tpc_report *r)
{
	for (size_t i = 0; i < r->n_refused; i++) {
		fputs("  refused: ", stderr);
		cli_put_safe(stderr, r->refused[i].who);
		fputs(": ", stderr);
		cli_put_safe(stderr, r->refused[i].why);
		fputc('\n', stderr);
	}
}
