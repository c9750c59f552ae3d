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

int cmd_scan(int argc, char **argv);
int cmd_hash(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
