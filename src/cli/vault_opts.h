/*
 * vault_opts.h - what the vault's commands (keys, seal, unseal, shred,
 * request, approve) share: the token PIN, approvals, errors and JSON.
 */
#ifndef PALISADE_CLI_VAULT_OPTS_H
#define PALISADE_CLI_VAULT_OPTS_H

#include <getopt.h>

#include <jansson.h>

#include "palisade/vault.h"

#define VAULT_APPROVALS_MAX PAL_TPC_APPROVALS_MAX

struct vault_opts {
	const char *cmd;		/* "unseal", for messages */
	struct pal_keystore_pin pin;	/* --pin-file; else the environment */
	const char *release;		/* --release */
	const char *request;		/* --request FILE */
	const char *requester;		/* --requester NAME */
	const char *approvals[VAULT_APPROVALS_MAX];
	size_t n_approvals;
	const char *log;		/* --log DIR: instead of vault.json's */
	int json;
};

enum {
	VOPT_PIN_FILE = 0x300, VOPT_RELEASE, VOPT_REQUEST, VOPT_REQUESTER,
	VOPT_APPROVALS, VOPT_LOG, VOPT_JSON,
};

#define VAULT_LONG_OPTIONS \
	{ "pin-file", required_argument, NULL, VOPT_PIN_FILE }, \
	{ "release", required_argument, NULL, VOPT_RELEASE }, \
	{ "request", required_argument, NULL, VOPT_REQUEST }, \
	{ "requester", required_argument, NULL, VOPT_REQUESTER }, \
	{ "approvals", required_argument, NULL, VOPT_APPROVALS }, \
	{ "log", required_argument, NULL, VOPT_LOG }, \
	{ "json", no_argument, NULL, VOPT_JSON }

#define VAULT_PIN_HELP \
	"  --pin-file FILE     the token's user PIN (default: the " \
	"PALISADE_PKCS11_PIN\n" \
	"                      environment variable)\n"

#define VAULT_APPROVALS_HELP \
	"  --approvals A...    approval files (palisade approve); as many " \
	"as the vault's\n" \
	"                      threshold, from approvers other than the " \
	"requester\n" \
	"  --request FILE      the request, when the approvals do not " \
	"settle which\n" \
	"  --requester NAME    refuse a request made by anyone else\n"

/*
 * Handles one shared option (argv and optind for --approvals, which takes
 * every following argument up to the next one starting with "-"): 0 when
 * used, -1 after a message, 1 when not a shared option.
 */
int vault_opt(struct vault_opts *o, int c, const char *arg, int argc,
	      char **argv);

/* Prints "palisade CMD: MSG" (escaped) to stderr; returns CLI_ERROR or
 * CLI_FINDING by the error: a refusal or a failed check is 1. */
int vault_fail(const struct vault_opts *o, int rc, const struct pal_err *err);

/* Opens the vault at dir with o's PIN and log. */
int vault_open(const struct vault_opts *o, const char *dir,
	       struct pal_vault **v);

/* The approvals as the library takes them. */
struct pal_vault_authz vault_authz(const struct vault_opts *o,
				   struct pal_tpc_report *report);

/* Prints j (taken) as JSON on stdout. */
void vault_print_json(json_t *j);

/* Prints the refused approvals of a report to stderr. */
void vault_print_refusals(const struct pal_tpc_report *r);

#endif
