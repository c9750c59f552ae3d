/*
 * keeper.c - the log key's keeper process (keeper.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "keeper.h"
#include "palisade/tlog.h"

pid_t
cli_keeper_start(const char *log_dir, const char *cmd, int *fd,
		 struct pal_err *e)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		pal_err_set(e, PAL_ERR_SYSTEM, "socketpair: %s",
			    strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		pal_err_set(e, PAL_ERR_SYSTEM, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		struct pal_err ke = { 0 };
		close(sv[0]);
		/*
		 * It ends when the command closes its end (after its last
		 * publication), or with it if it dies; signals meant for the
		 * command (a Ctrl-C reaches the whole group) do not stop it
		 * before that last publication.
		 */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_DUMPABLE, 0);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		if (pal_log_keeper_serve(log_dir, sv[1], &ke) < 0) {
			fprintf(stderr, "palisade %s (log key keeper): ", cmd);
			cli_put_safe(stderr, ke.msg);
			fputc('\n', stderr);
			_exit(CLI_ERROR);
		}
		_exit(CLI_OK);
	}
	close(sv[1]);
	*fd = sv[0];
	return pid;
}
