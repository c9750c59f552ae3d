/*
 * cmd_seal.c - palisade seal: a model into a vault, as a release.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vault_opts.h"

enum { OPT_NAME = 0x400, OPT_THREADS };

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: palisade seal MODEL --release R -o VAULT "
		"[--name NAME] [OPTIONS]\n\n"
		"Encrypts a model file or directory into the vault as release R"
		" (C2SP chunked\nencryption, AES-256-GCM), under a new data "
		"key wrapped by a new key in the\nvault's token.  The release "
		"appears whole or not at all.\n\n"
		"  -o, --vault VAULT   the vault (palisade keys init)\n"
		"  --release R         the release's name (letters, digits, "
		". _ - + = @ :)\n"
		"  --name NAME         the model's name (default: the path's "
		"last component)\n"
		"  --threads N         encryption threads (default: one per "
		"CPU)\n"
		"  --log DIR           record in this log instead of the "
		"vault's\n"
		"  --json              machine-readable output\n"
		VAULT_PIN_HELP);
}

int
cmd_seal(int argc, char **argv)
{
	static const struct option longopts[] = {
		VAULT_LONG_OPTIONS,
		{ "vault", required_argument, NULL, 'o' },
		{ "output", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vault_opts o = { .cmd = "seal" };
	const char *vault = NULL, *name = NULL;
	unsigned threads = 0;
	int c;
	while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		int r = vault_opt(&o, c, optarg, argc, argv);
		if (r < 0)
			return CLI_ERROR;
		if (r == 0)
			continue;
		char *end;
		long t;
		switch (c) {
		case 'o': vault = optarg; break;
		case OPT_NAME: name = optarg; break;
		case OPT_THREADS:
			t = strtol(optarg, &end, 10);
			if (*end != '\0' || t < 1 || t > 64) {
				fprintf(stderr, "palisade seal: --threads 1 to "
					"64\n");
				return CLI_ERROR;
			}
			threads = (unsigned)t;
			break;
		case 'h': usage(stdout); return CLI_OK;
		default: usage(stderr); return CLI_ERROR;
		}
	}
	if (optind != argc - 1 || vault == NULL || o.release == NULL) {
		usage(stderr);
		return CLI_ERROR;
	}
	struct pal_vault *v = NULL;
	struct pal_vault_sealed s;
	struct pal_err err = { 0 };
	int rc = vault_open(&o, vault, &v);
	if (rc != 0)
		return rc;
	rc = pal_vault_seal(v, argv[optind], o.release, name, threads, &s,
			    &err);
	pal_vault_close(v);
	if (rc < 0)
		return vault_fail(&o, rc, &err);
	if (o.json)
		vault_print_json(json_pack("{s:s, s:I, s:I, s:s, s:I}",
			"release", o.release, "files", (json_int_t)s.files,
			"bytes", (json_int_t)s.bytes, "key_label",
			s.kek_label, "log_index", s.logged ?
			(json_int_t)s.log_index : (json_int_t)-1));
	else
		printf("sealed %zu files (%llu bytes) as release %s under key "
		       "%s\n", s.files, (unsigned long long)s.bytes, o.release,
		       s.kek_label);
	return CLI_OK;
}
