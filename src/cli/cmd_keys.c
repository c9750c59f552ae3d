/*
 * cmd_keys.c - palisade keys: a vault's token and its release keys.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vault_opts.h"

#define APPROVERS_MAX PAL_TPC_APPROVERS_MAX

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: palisade keys init VAULT --admin-key KEY "
		"--approver NAME=PUBKEY... [OPTIONS]\n"
		"       palisade keys approvers VAULT --admin-key KEY "
		"--approver NAME=PUBKEY...\n"
		"                            [--threshold M] [--log DIR] "
		"[--json]\n"
		"       palisade keys approvers VAULT --show [--json]\n"
		"       palisade keys list VAULT [--pin-file FILE] [--json]\n"
		"       palisade keys rotate VAULT --release R [--pin-file FILE]"
		" [--json]\n"
		"       palisade keys export VAULT --release R --approvals A... "
		"--recipient RSA.pub\n"
		"                            -o FILE\n\n"
		"init creates a vault: by default a SoftHSM2 token of its own "
		"in VAULT.hsm/\n"
		"(kept apart from the vault, so that a copy of the vault carries"
		" no keys),\n"
		"and the approver set that two-person control checks, signed "
		"with the admin key.\n\n"
		"  --admin-key KEY     PEM private key or PKCS#11 URI that signs"
		" the approver set\n"
		"  --approver NAME=PUB an approver and the PEM file of their "
		"P-256 public key\n"
		"                      (repeatable)\n"
		"  --threshold M       approvals needed (default 2)\n"
		"  --hsm-dir DIR       where the embedded token lives (default "
		"VAULT.hsm)\n"
		"  --module PATH       use this PKCS#11 module's token instead "
		"(a real HSM)\n"
		"  --token LABEL       the token's label (default "
		"palisade-vault)\n"
		"  --so-pin-file FILE  the new token's SO PIN (default: "
		"PALISADE_PKCS11_SO_PIN)\n"
		"  --log DIR           the Palisade log every vault operation "
		"is recorded in\n"
		VAULT_PIN_HELP
		"\napprovers replaces the approver set with the one given, "
		"under the rules of\ninit, signed with the admin key (which "
		"must be the one in VAULT/admin.pub.pem)\nand with the next "
		"serial: the vault refuses any older set put back.  With\n"
		"--show it prints the set in force: names, key fingerprints "
		"(SHA-256 of each\nkey's PEM file), threshold and serial.  "
		"Neither needs the token.\n"
		"\nlist shows each release's key; rotate gives a release a new "
		"key-encryption\nkey and rewrites its files' headers (the "
		"ciphertext stays as it is).\nexport hands a release's data key"
		" to the holder of an RSA key (RSA-OAEP,\nwhich a PKCS#11 token"
		" can unwrap itself), after two approvals:\n\n"
		VAULT_APPROVALS_HELP
		"  --recipient PUB     the recipient's RSA public key (PEM, at "
		"least 2048 bits)\n"
		"  -o FILE             where to write the exported key\n");
}

enum { OPT_ADMIN = 0x400, OPT_APPROVER, OPT_THRESHOLD, OPT_HSM,
	OPT_MODULE, OPT_TOKEN, OPT_SO_PIN, OPT_RECIPIENT, OPT_SHOW };

struct init_args {
	struct pal_vault_init in;
	const char *names[APPROVERS_MAX], *keys[APPROVERS_MAX];
	char *owned[APPROVERS_MAX];
};

static int
add_approver(struct init_args *a, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t n = a->in.n_approvers;
	if (eq == NULL || eq == arg || eq[1] == '\0') {
		fprintf(stderr, "palisade keys: --approver takes NAME=PUBKEY, "
			"not '%s'\n", arg);
		return -1;
	}
	if (n == APPROVERS_MAX) {
		fprintf(stderr, "palisade keys: more than %d approvers\n",
			APPROVERS_MAX);
		return -1;
	}
	if ((a->owned[n] = strndup(arg, (size_t)(eq - arg))) == NULL)
		return -1;
	a->names[n] = a->owned[n];
	a->keys[n] = eq + 1;
	a->in.n_approvers = n + 1;
	return 0;
}

static int
parse_threshold(const char *s, unsigned *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > APPROVERS_MAX) {
		fprintf(stderr, "palisade keys: --threshold %s: 1 to %d\n", s,
			APPROVERS_MAX);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static int
keys_init(const struct vault_opts *o, struct init_args *a, const char *dir)
{
	struct pal_err err = { 0 };
	a->in.pin = o->pin;
	a->in.log_dir = o->log;
	a->in.approver_names = a->names;
	a->in.approver_keys = a->keys;
	if (a->in.admin_key == NULL || a->in.n_approvers == 0) {
		fprintf(stderr, "palisade keys: init needs --admin-key and at "
			"least one --approver\n");
		return CLI_ERROR;
	}
	int rc = pal_vault_create(dir, &a->in, &err);
	if (rc < 0)
		return vault_fail(o, rc, &err);
	struct pal_vault *v = NULL;
	if ((rc = vault_open(o, dir, &v)) != 0)
		return rc;
	if (o->json)
		vault_print_json(json_pack("{s:s, s:s, s:I, s:I}", "vault",
			dir, "id", pal_vault_id(v), "approvers",
			(json_int_t)a->in.n_approvers, "threshold",
			(json_int_t)(a->in.threshold ? a->in.threshold :
				     PAL_TPC_THRESHOLD_DEFAULT)));
	else
		printf("vault %s created (id %s): %zu approvers, %u needed\n",
		       dir, pal_vault_id(v), a->in.n_approvers,
		       a->in.threshold ? a->in.threshold :
		       PAL_TPC_THRESHOLD_DEFAULT);
	pal_vault_close(v);
	return CLI_OK;
}

/* "alice, bob, carol" */
static void
print_names(const struct pal_tpc_approvers *set)
{
	for (size_t i = 0; i < set->n; i++)
		printf("%s%s", i ? ", " : "", set->a[i].name);
}

/* [{"name": N, "fingerprint": F}, ...] */
static json_t *
members_json(const struct pal_tpc_approvers *set)
{
	json_t *a = json_array();
	char hint[65];
	for (size_t i = 0; a != NULL && i < set->n; i++) {
		if (pal_pubkey_hint(set->a[i].key, hint, NULL) < 0)
			hint[0] = '\0';
		json_array_append_new(a, json_pack("{s:s, s:s}", "name",
			set->a[i].name, "fingerprint", hint));
	}
	return a;
}

static int
approvers_show(const struct vault_opts *o, struct pal_vault *v,
	       const char *dir)
{
	struct pal_tpc_approvers *set = NULL;
	struct pal_err err = { 0 };
	char admin[65], hint[65];
	int rc = pal_vault_current_approvers(v, &set, admin, NULL, &err);
	if (rc < 0)
		return vault_fail(o, rc, &err);
	if (o->json) {
		vault_print_json(json_pack("{s:s, s:I, s:I, s:o, s:s}",
			"vault", pal_vault_id(v), "serial",
			(json_int_t)set->serial, "threshold",
			(json_int_t)set->threshold, "approvers",
			members_json(set), "admin_fingerprint", admin));
		pal_tpc_approvers_free(set);
		return CLI_OK;
	}
	printf("vault %s (id %s): approver set serial %llu, %u of %zu "
	       "approvals needed\n", dir, pal_vault_id(v),
	       (unsigned long long)set->serial, set->threshold, set->n);
	for (size_t i = 0; i < set->n; i++) {
		if (pal_pubkey_hint(set->a[i].key, hint, NULL) < 0)
			hint[0] = '\0';
		printf("  %-16s %s\n", set->a[i].name, hint);
	}
	printf("signed by the admin key %s (%s/admin.pub.pem)\n", admin, dir);
	pal_tpc_approvers_free(set);
	return CLI_OK;
}

static void
print_change(const char *dir, struct pal_vault *v,
	     const struct pal_vault_approvers_changed *c)
{
	const struct pal_tpc_approvers *b = c->before, *a = c->after;
	printf("vault %s (id %s): approver set replaced, serial %llu\n", dir,
	       pal_vault_id(v), (unsigned long long)a->serial);
	if (b != NULL) {
		printf("  before: serial %llu, ", (unsigned long long)b->serial);
		print_names(b);
		printf("; %u needed\n", b->threshold);
	} else {
		printf("  before: refused (");
		cli_put_safe(stdout, c->before_refused);
		printf(")\n");
	}
	printf("  now:    serial %llu, ", (unsigned long long)a->serial);
	print_names(a);
	printf("; %u needed\n", a->threshold);
	if (c->logged)
		printf("  logged as entry %llu\n",
		       (unsigned long long)c->log_index);
}

static int
keys_approvers(const struct vault_opts *o, struct init_args *a, int show,
	       const char *dir)
{
	struct pal_vault *v = NULL;
	struct pal_err err = { 0 };
	struct pal_vault_approvers_changed c;
	struct pal_vault_approvers_change ch = {
		.admin_key = a->in.admin_key, .approver_names = a->names,
		.approver_keys = a->keys, .n_approvers = a->in.n_approvers,
		.threshold = a->in.threshold,
	};
	int change = ch.admin_key != NULL || ch.n_approvers > 0 ||
		ch.threshold != 0;
	if (show == change) {
		fprintf(stderr, "palisade keys: approvers needs --show, or "
			"--admin-key and at least one --approver\n");
		return CLI_ERROR;
	}
	if (change && (ch.admin_key == NULL || ch.n_approvers == 0)) {
		fprintf(stderr, "palisade keys: approvers needs --admin-key and "
			"at least one --approver\n");
		return CLI_ERROR;
	}
	int rc = vault_open(o, dir, &v);
	if (rc != 0)
		return rc;
	if (show) {
		rc = approvers_show(o, v, dir);
		pal_vault_close(v);
		return rc;
	}
	if ((rc = pal_vault_set_approvers(v, &ch, &c, &err)) < 0) {
		pal_vault_close(v);
		return vault_fail(o, rc, &err);
	}
	if (o->json) {
		json_t *j = json_pack("{s:s, s:I, s:I, s:o}", "vault",
			pal_vault_id(v), "serial", (json_int_t)c.after->serial,
			"threshold", (json_int_t)c.after->threshold,
			"approvers", members_json(c.after));
		if (j != NULL && c.before != NULL)
			json_object_set_new(j, "previous", json_pack("{s:I, "
				"s:I, s:o}", "serial",
				(json_int_t)c.before->serial, "threshold",
				(json_int_t)c.before->threshold, "approvers",
				members_json(c.before)));
		else if (j != NULL)
			json_object_set_new(j, "previous_refused",
					    json_string(c.before_refused));
		if (j != NULL && c.logged)
			json_object_set_new(j, "log_index",
					    json_integer((json_int_t)
							 c.log_index));
		vault_print_json(j);
	} else {
		print_change(dir, v, &c);
	}
	pal_vault_approvers_changed_free(&c);
	pal_vault_close(v);
	return CLI_OK;
}

static int
keys_list(const struct vault_opts *o, const char *dir)
{
	struct pal_vault *v = NULL;
	struct pal_vault_release *r = NULL;
	struct pal_err err = { 0 };
	size_t n = 0;
	int rc = vault_open(o, dir, &v);
	if (rc != 0)
		return rc;
	if ((rc = pal_vault_list(v, &r, &n, &err)) < 0) {
		rc = vault_fail(o, rc, &err);
		pal_vault_close(v);
		return rc;
	}
	json_t *list = o->json ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		const char *state = r[i].has_key && r[i].has_files ? "sealed" :
			r[i].has_key ? "key only (no files)" :
			"shredded (files, no key)";
		if (list != NULL)
			json_array_append_new(list, json_pack("{s:s, s:b, s:b,"
				" s:s?, s:s?, s:i}", "release", r[i].name,
				"files", r[i].has_files, "key", r[i].has_key,
				"key_label", r[i].has_key ? r[i].kek.label :
				NULL, "key_id", r[i].has_key ? r[i].kek.id_hex
				: NULL, "generation", r[i].has_key ?
				(int)r[i].kek.generation : 0));
		else if (r[i].has_key)
			printf("%-24s %s  key %s (generation %u, id %s)\n",
			       r[i].name, state, r[i].kek.label,
			       r[i].kek.generation, r[i].kek.id_hex);
		else
			printf("%-24s %s\n", r[i].name, state);
	}
	if (list != NULL)
		vault_print_json(json_pack("{s:s, s:o}", "vault",
					   pal_vault_id(v), "releases", list));
	free(r);
	pal_vault_close(v);
	return CLI_OK;
}

static int
keys_rotate(const struct vault_opts *o, const char *dir)
{
	struct pal_vault *v = NULL;
	struct pal_err err = { 0 };
	struct pal_kek now;
	if (o->release == NULL) {
		fprintf(stderr, "palisade keys: rotate needs --release\n");
		return CLI_ERROR;
	}
	int rc = vault_open(o, dir, &v);
	if (rc != 0)
		return rc;
	rc = pal_vault_rotate(v, o->release, &now, &err);
	pal_vault_close(v);
	if (rc < 0)
		return vault_fail(o, rc, &err);
	if (o->json)
		vault_print_json(json_pack("{s:s, s:s, s:s, s:i}", "release",
			o->release, "key_label", now.label, "key_id",
			now.id_hex, "generation", (int)now.generation));
	else
		printf("release %s: new key %s (id %s)\n", o->release,
		       now.label, now.id_hex);
	return CLI_OK;
}

static int
keys_export(const struct vault_opts *o, const char *dir,
	    const char *recipient, const char *out)
{
	struct pal_vault *v = NULL;
	struct pal_tpc_report rep;
	struct pal_err err = { 0 };
	if (o->release == NULL || o->n_approvals == 0 || recipient == NULL ||
	    out == NULL) {
		fprintf(stderr, "palisade keys: export needs --release, "
			"--approvals, --recipient and -o\n");
		return CLI_ERROR;
	}
	int rc = vault_open(o, dir, &v);
	if (rc != 0)
		return rc;
	struct pal_vault_authz a = vault_authz(o, &rep);
	rc = pal_vault_export(v, o->release, &a, recipient, out, &err);
	pal_vault_close(v);
	if (rc < 0) {
		int code = vault_fail(o, rc, &err);
		vault_print_refusals(&rep);
		return code;
	}
	if (o->json)
		vault_print_json(json_pack("{s:s, s:s}", "release", o->release,
					   "export", out));
	else
		printf("release %s: data key exported to %s\n", o->release,
		       out);
	return CLI_OK;
}

int
cmd_keys(int argc, char **argv)
{
	static const struct option longopts[] = {
		VAULT_LONG_OPTIONS,
		{ "admin-key", required_argument, NULL, OPT_ADMIN },
		{ "approver", required_argument, NULL, OPT_APPROVER },
		{ "threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "hsm-dir", required_argument, NULL, OPT_HSM },
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "so-pin-file", required_argument, NULL, OPT_SO_PIN },
		{ "recipient", required_argument, NULL, OPT_RECIPIENT },
		{ "show", no_argument, NULL, OPT_SHOW },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vault_opts o = { .cmd = "keys" };
	struct init_args a;
	const char *recipient = NULL, *out = NULL;
	int c, rc = CLI_OK, show = 0;
	memset(&a, 0, sizeof(a));
	if (argc < 2 || argv[1][0] == '-') {
		int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
					 strcmp(argv[1], "-h") == 0);
		usage(help ? stdout : stderr);
		return help ? CLI_OK : CLI_ERROR;
	}
	const char *verb = argv[1];
	argc--;
	argv++;
	optind = 1;
	while (rc == CLI_OK &&
	       (c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		int r = vault_opt(&o, c, optarg, argc, argv);
		if (r < 0)
			rc = CLI_ERROR;
		if (r <= 0)
			continue;
		switch (c) {
		case OPT_ADMIN: a.in.admin_key = optarg; break;
		case OPT_APPROVER:
			if (add_approver(&a, optarg) < 0)
				rc = CLI_ERROR;
			break;
		case OPT_THRESHOLD:
			if (parse_threshold(optarg, &a.in.threshold) < 0)
				rc = CLI_ERROR;
			break;
		case OPT_HSM: a.in.hsm_dir = optarg; break;
		case OPT_MODULE: a.in.module = optarg; break;
		case OPT_TOKEN: a.in.token = optarg; break;
		case OPT_SO_PIN: a.in.so_pin.file = optarg; break;
		case OPT_RECIPIENT: recipient = optarg; break;
		case OPT_SHOW: show = 1; break;
		case 'o': out = optarg; break;
		case 'h': usage(stdout); return CLI_OK;
		default: usage(stderr); rc = CLI_ERROR; break;
		}
	}
	if (rc == CLI_OK && optind != argc - 1) {
		usage(stderr);
		rc = CLI_ERROR;
	}
	if (rc == CLI_OK) {
		const char *dir = argv[optind];
		if (strcmp(verb, "init") == 0)
			rc = keys_init(&o, &a, dir);
		else if (strcmp(verb, "approvers") == 0)
			rc = keys_approvers(&o, &a, show, dir);
		else if (strcmp(verb, "list") == 0)
			rc = keys_list(&o, dir);
		else if (strcmp(verb, "rotate") == 0)
			rc = keys_rotate(&o, dir);
		else if (strcmp(verb, "export") == 0)
			rc = keys_export(&o, dir, recipient, out);
		else {
			fprintf(stderr, "palisade keys: unknown command '%s'\n",
				verb);
			rc = CLI_ERROR;
		}
	}
	for (size_t i = 0; i < a.in.n_approvers; i++)
		free(a.owned[i]);
	return rc;
}
