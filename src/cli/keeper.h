/*
 * keeper.h - the process that holds a Palisade log's key for a command
 * whose own process reads the network (palisade serve, palisade up):
 * privilege separation in the style of OpenBSD's daemons (tlog.h,
 * pal_log_keeper_serve).
 */
#ifndef PALISADE_CLI_KEEPER_H
#define PALISADE_CLI_KEEPER_H

#include <sys/types.h>

#include "palisade/error.h"

/*
 * Forks the keeper of the log in log_dir, before any network input is
 * read; *fd receives the command's end of their socket (close-on-exec).
 * The keeper ignores SIGINT, SIGTERM and SIGHUP (a Ctrl-C reaches the
 * whole process group, and the command's last publication still needs
 * it), ends when *fd is closed, and dies with the command.  cmd names
 * the command in the keeper's messages.  Returns its PID, or -1 with e
 * set.
 */
pid_t cli_keeper_start(const char *log_dir, const char *cmd, int *fd,
		       struct pal_err *e);

#endif
