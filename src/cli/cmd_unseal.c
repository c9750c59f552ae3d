/*
 * cmd_unseal.c - palisade unseal and palisade shred: the operations on a
 * release that need two people.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "vault_opts.h"

#define UNSEALED_ENV "PALISADE_UNSEALED"

enum { OPT_TO = 0x400, OPT_MEMFD, OPT_STDOUT, OPT_FILE };

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: palisade unseal VAULT --release R --approvals "
		"A... (--to DIR | --stdout [--file P]\n"
		"                      | --memfd -- COMMAND [ARGS...])\n\n"
		"Decrypts release R after checking a request approved by the "
		"vault's approvers\n(the request is used up).  Every file is "
		"authenticated before any of its\nplaintext is visible.\n\n"
		"  --to DIR            into DIR, a new directory that appears "
		"when every file is in\n"
		"  --stdout            one file (--file P, unless the release "
		"has only one) to\n"
		"                      standard output\n"
		"  --memfd -- COMMAND  into sealed memfds that COMMAND "
		"inherits, never on disk;\n"
		"                      " UNSEALED_ENV " holds {\"path\": "
		"\"/proc/self/fd/N\", ...}\n"
		VAULT_APPROVALS_HELP
		"  --log DIR           record in this log instead of the "
		"vault's\n"
		"  --json              machine-readable output\n"
		VAULT_PIN_HELP);
}

/* Hands the memfds to command: inherited, named in the environment. */
static int
exec_with(struct pal_unsealed *u, char **command)
{
	json_t *map = json_object();
	for (size_t i = 0; map != NULL && i < u->n; i++) {
		char p[64];
		int fl = fcntl(u->f[i].fd, F_GETFD);
		if (fl < 0 || fcntl(u->f[i].fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
			return CLI_ERROR;
		snprintf(p, sizeof(p), "/proc/self/fd/%d", u->f[i].fd);
		json_object_set_new(map, u->f[i].path, json_string(p));
	}
	char *text = map ? json_dumps(map, JSON_COMPACT | JSON_SORT_KEYS) :
		NULL;
	json_decref(map);
	if (text == NULL || setenv(UNSEALED_ENV, text, 1) != 0)
		return CLI_ERROR;
	free(text);
	fflush(NULL);
	execvp(command[0], command);
	fprintf(stderr, "palisade unseal: %s: %s\n", command[0],
		strerror(errno));
	return CLI_ERROR;
}

static void
report(const struct vault_opts *o, const struct pal_tpc_report *r,
       const struct pal_unsealed *u, const char *where)
{
	if (o->json) {
		json_t *who = json_array();
		for (size_t i = 0; who && i < r->n_valid; i++)
			json_array_append_new(who, json_string(r->valid[i]));
		vault_print_json(json_pack("{s:s, s:s, s:I, s:o*, s:I}",
			"release", o->release, "to", where, "bytes",
			(json_int_t)u->bytes, "approvers", who, "log_index",
			u->logged ? (json_int_t)u->log_index :
			(json_int_t)-1));
		return;
	}
	/* The plaintext may be on standard output: the report is not. */
	FILE *fp = strcmp(where, "stdout") == 0 ? stderr : stdout;
	fprintf(fp, "unsealed release %s (%llu bytes) to %s, approved by",
		o->release, (unsigned long long)u->bytes, where);
	for (size_t i = 0; i < r->n_valid; i++)
		fprintf(fp, "%s %s", i ? "," : "", r->valid[i]);
	fputc('\n', fp);
}

int
cmd_unseal(int argc, char **argv)
{
	static const struct option longopts[] = {
		VAULT_LONG_OPTIONS,
		{ "to", required_argument, NULL, OPT_TO },
		{ "memfd", no_argument, NULL, OPT_MEMFD },
		{ "stdout", no_argument, NULL, OPT_STDOUT },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vault_opts o = { .cmd = "unseal" };
	struct pal_unseal_target t = { .kind = PAL_UNSEAL_DIR, .fd = -1 };
	int kinds = 0, c;
	/*
	 * VAULT comes first; options are not permuted, so that what follows
	 * "--" (or the first argument that is not an option) is the command.
	 */
	if (argc < 2 || argv[1][0] == '-') {
		int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
					 strcmp(argv[1], "-h") == 0);
		usage(help ? stdout : stderr);
		return help ? CLI_OK : CLI_ERROR;
	}
	const char *vault = argv[1];
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		int r = vault_opt(&o, c, optarg, argc, argv);
		if (r < 0)
			return CLI_ERROR;
		if (r == 0)
			continue;
		switch (c) {
		case OPT_TO: t.kind = PAL_UNSEAL_DIR; t.dir = optarg; kinds++;
			break;
		case OPT_MEMFD: t.kind = PAL_UNSEAL_MEMFD; kinds++; break;
		case OPT_STDOUT: t.kind = PAL_UNSEAL_FD; t.fd = 1; kinds++;
			break;
		case OPT_FILE: t.path = optarg; break;
		case 'h': usage(stdout); return CLI_OK;
		default: usage(stderr); return CLI_ERROR;
		}
	}
	char **command = optind < argc ? argv + optind : NULL;
	if (kinds != 1 || o.release == NULL || o.n_approvals == 0 ||
	    (t.kind == PAL_UNSEAL_MEMFD) != (command != NULL) ||
	    (t.path != NULL && t.kind != PAL_UNSEAL_FD)) {
		fprintf(stderr, "palisade unseal: give --release, --approvals "
			"and one of --to, --stdout, --memfd -- COMMAND\n");
		return CLI_ERROR;
	}
	struct pal_vault *v = NULL;
	struct pal_tpc_report rep;
	struct pal_unsealed u;
	struct pal_err err = { 0 };
	int rc = vault_open(&o, vault, &v);
	if (rc != 0)
		return rc;
	struct pal_vault_authz a = vault_authz(&o, &rep);
	rc = pal_vault_unseal(v, o.release, &a, &t, &u, &err);
	pal_vault_close(v);
	if (rc < 0) {
		int code = vault_fail(&o, rc, &err);
		vault_print_refusals(&rep);
		return code;
	}
	report(&o, &rep, &u, t.kind == PAL_UNSEAL_DIR ? t.dir :
	       t.kind == PAL_UNSEAL_FD ? "stdout" : "memfd");
	if (t.kind == PAL_UNSEAL_MEMFD)
		rc = exec_with(&u, command);
	pal_unsealed_free(&u);
	return rc < 0 ? CLI_ERROR : rc;
}

static void
shred_usage(FILE *fp)
{
	fprintf(fp, "usage: palisade shred VAULT --release R --approvals "
		"A... [OPTIONS]\n\n"
		"Destroys release R's keys in the vault's token, after checking"
		" a request\napproved by the vault's approvers.  The sealed "
		"files stay; nobody can open\nthem with this vault again.  With"
		" SoftHSM2 the key objects are files whose\nbytes may survive "
		"on disk and in backups: docs/vault.md says what shredding\n"
		"guarantees there and with a hardware token.\n\n"
		VAULT_APPROVALS_HELP
		"  --log DIR           record in this log instead of the "
		"vault's\n"
		"  --json              machine-readable output\n"
		VAULT_PIN_HELP);
}

int
cmd_shred(int argc, char **argv)
{
	static const struct option longopts[] = {
		VAULT_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vault_opts o = { .cmd = "shred" };
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int r = vault_opt(&o, c, optarg, argc, argv);
		if (r < 0)
			return CLI_ERROR;
		if (r == 0)
			continue;
		if (c == 'h') {
			shred_usage(stdout);
			return CLI_OK;
		}
		shred_usage(stderr);
		return CLI_ERROR;
	}
	if (optind != argc - 1 || o.release == NULL || o.n_approvals == 0) {
		shred_usage(stderr);
		return CLI_ERROR;
	}
	struct pal_vault *v = NULL;
	struct pal_tpc_report rep;
	struct pal_err err = { 0 };
	size_t destroyed = 0;
	int rc = vault_open(&o, argv[optind], &v);
	if (rc != 0)
		return rc;
	struct pal_vault_authz a = vault_authz(&o, &rep);
	rc = pal_vault_shred(v, o.release, &a, &destroyed, &err);
	pal_vault_close(v);
	if (rc < 0) {
		int code = vault_fail(&o, rc, &err);
		vault_print_refusals(&rep);
		return code;
	}
	if (o.json)
		vault_print_json(json_pack("{s:s, s:I}", "release", o.release,
					   "keys_destroyed",
					   (json_int_t)destroyed));
	else
		printf("release %s shredded: %zu key%s destroyed in the "
		       "token\n", o.release, destroyed, destroyed == 1 ? "" :
		       "s");
	return CLI_OK;
}
