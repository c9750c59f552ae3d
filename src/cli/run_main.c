/*
 * run_main.c - palisade-run: `palisade run` as a program of its own.
 *
 * The same options, behaviour and code (cmd_run.c) as `palisade run`,
 * linked against the sandbox alone.  The whole palisade binary loads 27
 * shared libraries and resolves some ten thousand symbols before main,
 * which costs as much as a whole bubblewrap start; a supervisor that
 * starts model servers often uses this one (docs/sandbox.md).
 */
#include "cli.h"

int
main(int argc, char **argv)
{
	return cmd_run(argc, argv);
}
