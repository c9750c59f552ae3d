/*
 * cli.h - what the subcommands of the palisade command share.
 */
#ifndef PALISADE_CLI_H
#define PALISADE_CLI_H

/* Exit statuses common to every subcommand (ARCHITECTURE.md). */
enum {
	CLI_OK = 0,
	CLI_FINDING = 1,	/* a finding, or a failed verification */
	CLI_ERROR = 2,		/* could not run: usage, I/O */
};

#include <stdio.h>

/*
 * Prints s with control bytes, backslashes and invalid UTF-8 escaped
 * (pal_text_escape): for anything that may come from untrusted input.
 */
void cli_put_safe(FILE *fp, const char *s);

int cmd_scan(int argc, char **argv);
int cmd_hash(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_seal(int argc, char **argv);
int cmd_unseal(int argc, char **argv);
int cmd_shred(int argc, char **argv);
int cmd_request(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_payload(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_up(int argc, char **argv);

#endif
