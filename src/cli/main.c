/*
 * main.c - the palisade command: dispatches to one file per subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef PALISADE_VERSION
#define PALISADE_VERSION "0.1.0"
#endif

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "scan", cmd_scan, "scan model files for malicious code" },
	{ "hash", cmd_hash, "print the signing manifest of a model" },
	{ "sign", cmd_sign, "sign a model (OpenSSF model signing)" },
	{ "verify", cmd_verify, "verify a model against its signature" },
	{ "log", cmd_log, "the tamper-evident transparency log" },
	{ "keys", cmd_keys, "create a vault; list and rotate its keys" },
	{ "seal", cmd_seal, "encrypt a model into a vault as a release" },
	{ "unseal", cmd_unseal, "decrypt a release (two approvals needed)" },
	{ "shred", cmd_shred, "destroy a release's keys (two approvals)" },
	{ "request", cmd_request, "ask for an unseal or shred" },
	{ "approve", cmd_approve, "approve a request with your key" },
	{ "serve", cmd_serve, "the hardened TLS gateway to a model server" },
	{ "payload", cmd_payload, "read the bodies a gateway record sealed" },
	{ "run", cmd_run, "run a model server in the sandbox" },
	{ "up", cmd_up, "the whole path: unseal, verify, scan, run, serve" },
};

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: palisade COMMAND [ARGS...]\n\ncommands:\n");
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(fp, "  %-10s %s\n", subcommands[i].name,
		    subcommands[i].summary);
	fprintf(fp, "\n'palisade COMMAND --help' describes a command.\n");
}

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return CLI_ERROR;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("palisade %s\n", PALISADE_VERSION);
		return CLI_OK;
	}
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "palisade: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CLI_ERROR;
}
