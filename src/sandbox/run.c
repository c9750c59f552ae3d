/*
 * run.c - palisade run: a command started in new user, mount, PID, IPC,
 * UTS and network namespaces, confined, and waited for.
 *
 * Three processes.  The parent, palisade run itself on the host, prepares
 * everything (sandbox_int.h), clones the child into the new namespaces
 * (the network namespace the child makes itself, below), writes its uid
 * and gid maps, lets it go, forwards SIGINT, SIGTERM,
 * SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to it and exits as the command
 * did.  The child is PID 1 of the new PID namespace: it builds the root,
 * takes the sandbox's identity, drops every capability, sets
 * no_new_privs, applies Landlock and seccomp to itself, then forks the
 * server, which sets its limits and executes the command.  PID 1 stays as
 * the namespace's init: it forwards the same signals to the server, reaps
 * orphans, and when the server ends exits with its status (128+S for a
 * signal S), which ends every process left in the namespace.
 *
 * The child dies with the parent: its parent-death signal is SIGKILL,
 * set again after its change of uid (which clears it), and a pipe whose
 * write end only the parent holds tells it whether the parent died before
 * that.  Killing PID 1 kills the whole namespace.
 *
 * A failure in the child before the command runs comes back to the
 * parent through a close-on-exec pipe, with 125 (the sandbox), 126 (the
 * command could not be executed) or 127 (not found), as docker run and
 * env report theirs.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox_int.h"

#define STATUS_SANDBOX 125
#define STATUS_NOEXEC 126
#define STATUS_NOTFOUND 127
#define HOSTNAME "palisade"
#define NOBODY 65534
#define KILL_AFTER 3		/* interrupts forwarded before SIGKILL */

/*
 * The network namespace is not among them: it is by far the slowest to
 * make (a loopback device, its sysctls, each protocol's tables: about
 * 0.4 ms of the start), so the child makes it with unshare while the
 * parent writes the uid and gid maps.  It belongs to the new user
 * namespace all the same.
 */
#define NS_FLAGS (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | \
		  CLONE_NEWUTS)

/* What the child sends back when it cannot start the command. */
struct failure {
	int status;
	int code;
	char msg[PAL_ERR_MSG_MAX];
};

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
				 SIGUSR2 };

static void
signal_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(set, forwarded[i]);
	sigaddset(set, SIGCHLD);
}

static int
shell_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return STATUS_SANDBOX;
}

/* ---------------------------------------------------------------------
 * The child: PID 1, then the server.
 */

static void __attribute__((noreturn))
child_fail(const struct sbx_ctx *c, int status, const struct pal_err *e)
{
	struct failure f;

	memset(&f, 0, sizeof(f));
	f.status = status;
	f.code = e->code != 0 ? e->code : PAL_ERR_SYSTEM;
	memcpy(f.msg, e->msg, sizeof(f.msg));
	f.msg[sizeof(f.msg) - 1] = '\0';
	/* One write below PIPE_BUF: whole or not at all. */
	if (write(c->err_w, &f, sizeof(f)) < 0)
		_exit(status);
	_exit(status);
}

static void __attribute__((noreturn))
server_exec(struct sbx_ctx *c, const sigset_t *old)
{
	struct pal_err e;
	char *slot;

	pal_err_clear(&e);
	if (sigprocmask(SIG_SETMASK, old, NULL) != 0 || sbx_rlimits(c, &e) != 0)
		child_fail(c, STATUS_SANDBOX, &e);
	if (c->listen_pid_at != SIZE_MAX) {
		slot = c->envp[c->listen_pid_at] + strlen("LISTEN_PID=");
		snprintf(slot, 11, "%d", (int)getpid());
	}
	close(c->sync_r);
	execve(c->exe, c->argv, c->envp);
	pal_err_set(&e, PAL_ERR_IO, "%s: %s", c->exe, strerror(errno));
	child_fail(c, errno == ENOENT ? STATUS_NOTFOUND : STATUS_NOEXEC, &e);
}

/* PID 1's life once the server runs: forward, reap, end with it. */
static void __attribute__((noreturn))
init_wait(pid_t server)
{
	sigset_t set;
	siginfo_t si;
	int st;

	signal_set(&set);
	for (;;) {
		int sig = sigwaitinfo(&set, &si);
		pid_t w;

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(server, sig);
			continue;
		}
		while ((w = waitpid(-1, &st, WNOHANG)) > 0)
			if (w == server)
				_exit(shell_status(st));
	}
}

/* 1 when the parent is gone (its end of the lifeline is closed). */
static int
parent_gone(const struct sbx_ctx *c)
{
	struct pollfd p = { .fd = c->sync_r, .events = POLLIN };

	return poll(&p, 1, 0) != 0;
}

static int
confine(struct sbx_ctx *c, struct pal_err *e)
{
	int rc;

	if ((rc = sbx_ids_enter(c, e)) != 0)
		return rc;
	/* A change of uid clears the parent-death signal: set it again. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || parent_gone(c))
		_exit(STATUS_SANDBOX);
	if ((rc = sbx_fds_layout(c, e)) != 0 || (rc = sbx_rootfs(c, e)) != 0)
		return rc;
	if (sethostname(HOSTNAME, strlen(HOSTNAME)) != 0 ||
	    setdomainname(HOSTNAME, strlen(HOSTNAME)) != 0)
		return pal_err_set(e, PAL_ERR_SYSTEM, "sethostname: %s",
				   strerror(errno));
	/* No controlling terminal: the server cannot reach the user's. */
	if (setsid() < 0)
		return pal_err_set(e, PAL_ERR_SYSTEM, "setsid: %s",
				   strerror(errno));
	if ((rc = sbx_caps_drop(e)) != 0)
		return rc;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return pal_err_set(e, PAL_ERR_SYSTEM, "no_new_privs: %s",
				   strerror(errno));
	rc = sbx_landlock_apply(c, e);
	sbx_rootfs_close(c);
	if (rc != 0 || (rc = sbx_seccomp_load(c, e)) != 0)
		return rc;
	/*
	 * The server cannot read PID 1's memory through /proc; its own
	 * exec makes it dumpable again.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return pal_err_set(e, PAL_ERR_SYSTEM, "PR_SET_DUMPABLE: %s",
				   strerror(errno));
	return 0;
}

static void __attribute__((noreturn))
child_main(struct sbx_ctx *c, const sigset_t *old)
{
	struct pal_err e;
	pid_t server;
	int net;
	char go;

	pal_err_clear(&e);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		_exit(STATUS_SANDBOX);
	close(c->sync_w);
	close(c->err_r);
	/*
	 * A failure is told only after the go: the parent must not find the
	 * pipe it writes the go to already closed.
	 */
	net = unshare(CLONE_NEWNET) == 0 ? 0 : errno;
	/* The parent writes the maps, then one byte; EOF: it died. */
	if (read(c->sync_r, &go, 1) != 1)
		_exit(STATUS_SANDBOX);
	if (net != 0) {
		pal_err_set(&e, PAL_ERR_SYSTEM, "unshare(CLONE_NEWNET): %s",
			    strerror(net));
		child_fail(c, STATUS_SANDBOX, &e);
	}
	if (confine(c, &e) != 0)
		child_fail(c, STATUS_SANDBOX, &e);
	/*
	 * vfork: the server only sets its limits and executes, and copying
	 * this process's page tables for it would be a good part of the
	 * start-up.
	 */
	if ((server = vfork()) < 0) {
		pal_err_set(&e, PAL_ERR_SYSTEM, "vfork: %s", strerror(errno));
		child_fail(c, STATUS_SANDBOX, &e);
	}
	if (server == 0)
		server_exec(c, old);
	close(c->err_w);
	init_wait(server);
}

/* ---------------------------------------------------------------------
 * The parent.
 */

static int
write_proc(pid_t pid, const char *name, const char *text, struct pal_err *err)
{
	char path[64];
	size_t n = strlen(text);
	int fd, rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return pal_err_set(err, PAL_ERR_SYSTEM, "%s: %s", path,
				   strerror(errno));
	if (write(fd, text, n) != (ssize_t)n)
		rc = pal_err_set(err, PAL_ERR_SYSTEM, "%s: %s", path,
				 strerror(errno));
	close(fd);
	return rc;
}

static int
write_maps(const struct sbx_ctx *c, pid_t pid, struct pal_err *err)
{
	char map[64];
	int rc;

	/* Without privilege, setgroups must be denied before gid_map. */
	if (!c->outer_root &&
	    (rc = write_proc(pid, "setgroups", "deny", err)) != 0)
		return rc;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)c->uid,
		 (unsigned)c->uid);
	if ((rc = write_proc(pid, "uid_map", map, err)) != 0)
		return rc;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)c->gid,
		 (unsigned)c->gid);
	return write_proc(pid, "gid_map", map, err);
}

/* Moves a pipe end off the numbers the sandbox keeps. */
static int
move_off(const struct sbx_ctx *c, int *fd)
{
	int hi = c->n_keep > 0 ? c->keep[c->n_keep - 1] + 1 : 3, nfd;

	if (!sbx_fds_is_kept(c, *fd) && *fd != c->listen_target)
		return 0;
	if ((nfd = fcntl(*fd, F_DUPFD_CLOEXEC, hi)) < 0)
		return -1;
	close(*fd);
	*fd = nfd;
	return 0;
}

static int
make_pipes(struct sbx_ctx *c, struct pal_err *err)
{
	int s[2], e[2];

	if (pipe2(s, O_CLOEXEC) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM, "pipe: %s",
				   strerror(errno));
	c->sync_r = s[0];
	c->sync_w = s[1];
	if (pipe2(e, O_CLOEXEC) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM, "pipe: %s",
				   strerror(errno));
	c->err_r = e[0];
	c->err_w = e[1];
	if (move_off(c, &c->sync_r) != 0 || move_off(c, &c->sync_w) != 0 ||
	    move_off(c, &c->err_r) != 0 || move_off(c, &c->err_w) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM, "fcntl: %s",
				   strerror(errno));
	return 0;
}

static int
prepare(struct sbx_ctx *c, const struct pal_sandbox_spec *s,
	struct pal_err *err)
{
	const struct pal_sandbox_profile *p = s->profile;
	const char *listen = s->listen != NULL ? s->listen : p->listen;
	const char *path_env = NULL;
	int rc;

	if (s->argv == NULL || s->argv[0] == NULL)
		return pal_err_set(err, PAL_ERR_INVALID, "no command");
	if (listen != NULL && p->network == PAL_SANDBOX_NET_NONE)
		return pal_err_set(err, PAL_ERR_INVALID, "%s says 'network: "
				   "none': no listening socket", p->name);
	c->argv = s->argv;
	if ((rc = sbx_fds_collect(c, s, err)) != 0 ||
	    (listen != NULL && (rc = sbx_listen_open(c, listen, err)) != 0) ||
	    (rc = sbx_fds_listen_target(c, err)) != 0 ||
	    (rc = sbx_env_build(c, s, err)) != 0)
		return rc;
	for (size_t i = 0; c->envp[i] != NULL; i++)
		if (strncmp(c->envp[i], "PATH=", 5) == 0)
			path_env = c->envp[i] + 5;
	if ((rc = sbx_find_exe(s->argv[0], path_env, &c->exe, err)) != 0)
		return rc;
	if (s->builtin && (rc = sbx_builtin_paths(c, c->exe, err)) != 0)
		return rc;
	if ((rc = sbx_paths_resolve(c, err)) != 0)
		return rc;
	c->landlock_abi = sbx_landlock_abi();
	sbx_landlock_report(c, s);
	if ((rc = sbx_seccomp_build(c, err)) != 0)
		return rc;
	c->outer_root = geteuid() == 0;
	c->uid = c->outer_root ? NOBODY : geteuid();
	c->gid = c->outer_root ? NOBODY : getegid();
	return make_pipes(c, err);
}

/* Reads the child's failure, if it sent one; 1 when the pipe is done. */
static int
read_failure(struct sbx_ctx *c, struct failure *f, int *have)
{
	ssize_t n = read(c->err_r, f, sizeof(*f));

	if (n < 0 && errno == EINTR)
		return 0;
	if (n == (ssize_t)sizeof(*f))
		*have = 1;
	close(c->err_r);
	c->err_r = -1;
	return 1;
}

/* Forwards signals to the child until it ends; its status. */
static int
supervise(struct sbx_ctx *c, pid_t child, const sigset_t *set,
	  struct failure *f, int *have)
{
	int sfd = signalfd(-1, set, SFD_CLOEXEC), st, interrupts = 0;
	struct signalfd_siginfo si;

	for (;;) {
		struct pollfd pf[2] = { { .fd = sfd, .events = POLLIN },
					{ .fd = c->err_r, .events = POLLIN } };

		if (waitpid(child, &st, WNOHANG) == child)
			break;
		if (poll(pf, c->err_r >= 0 ? 2 : 1, sfd < 0 ? 50 : -1) < 0)
			continue;
		if (c->err_r >= 0 && (pf[1].revents & (POLLIN | POLLHUP)))
			read_failure(c, f, have);
		if (sfd < 0 || !(pf[0].revents & POLLIN) ||
		    read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si) ||
		    si.ssi_signo == SIGCHLD)
			continue;
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
			interrupts++;
		kill(child, interrupts >= KILL_AFTER ? SIGKILL :
		     (int)si.ssi_signo);
	}
	if (sfd >= 0)
		close(sfd);
	if (c->err_r >= 0)
		read_failure(c, f, have);
	return shell_status(st);
}

static void
cleanup(struct sbx_ctx *c)
{
	int fds[] = { c->listen_fd, c->sync_r, c->sync_w, c->err_r, c->err_w };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (c->listen_unix != NULL)
		unlink(c->listen_unix);
	free(c->listen_unix);
	for (size_t i = 0; i < c->n_binds; i++)
		free(c->binds[i].path);
	free(c->binds);
	for (size_t i = 0; i < c->n_links; i++) {
		free(c->links[i].path);
		free(c->links[i].target);
	}
	free(c->links);
	for (size_t i = 0; i < c->n_extra; i++)
		free(c->extra[i]);
	free(c->extra);
	for (size_t i = 0; c->envp != NULL && c->envp[i] != NULL; i++)
		free(c->envp[i]);
	free(c->envp);
	free(c->keep);
	free(c->exe);
	sbx_seccomp_free(c);
}

static int
start(struct sbx_ctx *c, int *status, struct pal_err *err)
{
	struct failure f;
	sigset_t set, old;
	pid_t child;
	int have = 0, rc;

	signal_set(&set);
	if (sigprocmask(SIG_BLOCK, &set, &old) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM, "sigprocmask: %s",
				   strerror(errno));
	/* fork() with namespaces: the child runs on a copy of this stack. */
	child = (pid_t)syscall(SYS_clone, NS_FLAGS | SIGCHLD, NULL, NULL, NULL,
			       NULL);
	if (child == 0)
		child_main(c, &old);
	if (child < 0) {
		rc = pal_err_set(err, PAL_ERR_SYSTEM, "clone: %s (are "
				 "unprivileged user namespaces allowed?)",
				 strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return rc;
	}
	close(c->sync_r);
	close(c->err_w);
	c->sync_r = c->err_w = -1;
	rc = write_maps(c, child, err);
	/* The lifeline (sync_w) stays open until the child is reaped. */
	if (rc == 0 && write(c->sync_w, "g", 1) != 1)
		rc = pal_err_set(err, PAL_ERR_SYSTEM, "pipe: %s",
				 strerror(errno));
	if (rc != 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return rc;
	}
	*status = supervise(c, child, &set, &f, &have);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (have) {
		*status = f.status;
		return pal_err_set(err, f.code < 0 ? f.code : PAL_ERR_SYSTEM,
				   "%s", f.msg);
	}
	return 0;
}

int
pal_sandbox_run(const struct pal_sandbox_spec *spec, int *status,
		struct pal_err *err)
{
	struct sbx_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.profile = spec->profile;
	c.listen_fd = c.listen_target = -1;
	for (size_t i = 0; i < SBX_N_DEVICES; i++)
		c.dev_fd[i] = -1;
	c.sync_r = c.sync_w = c.err_r = c.err_w = -1;
	*status = STATUS_SANDBOX;
	rc = prepare(&c, spec, err);
	if (rc == 0)
		rc = start(&c, status, err);
	else if (rc == PAL_ERR_IO && c.exe == NULL && c.envp != NULL)
		*status = STATUS_NOTFOUND;
	cleanup(&c);
	return rc;
}
