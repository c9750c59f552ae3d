/*
 * seccomp_rules.c - the system calls a sandboxed model server may make.
 *
 * An allowlist, broad enough for CPython with PyTorch and for a C server
 * (files, memory, threads, processes, signals, time, polling, sockets,
 * System V and POSIX IPC inside the sandbox's own IPC namespace), and
 * nothing more: every call not on it kills the whole process
 * (SCMP_ACT_KILL_PROCESS, the server sees SIGSYS), and so does a call
 * from any other architecture's table (i386 through int 0x80, x32).
 * What it leaves out is what escapes and kernel attacks reach for first:
 * namespaces and mounts, ptrace and process_vm_*, bpf, keyctl,
 * perf_event_open, io_uring (whose operations seccomp cannot see), module
 * and kexec loading, userfaultfd, handles to files by number.
 *
 * Arguments are checked where a call is only partly harmless: clone may
 * not create namespaces, socket only opens Unix, IPv4, IPv6 and netlink
 * sockets, personality only sets the usual values.  clone3 passes its
 * flags in memory seccomp cannot read, so it fails with ENOSYS and the C
 * library falls back to clone.  ioctl is allowed except TIOCSTI and
 * TIOCLINUX, which would let the server type into the terminal of the
 * user who started it: those are killed by a second filter (libseccomp
 * cannot make one filter allow a call by default and kill it for some
 * arguments when killing is also its default), the kernel taking the
 * stricter answer of the two.
 *
 * libseccomp turns these rules into BPF programs.  That takes about a
 * millisecond, as long as the rest of the sandbox's start, so the
 * programs for a profile without 'syscalls' are made once, when Palisade
 * is built (tools/seccomp_bpf.c, with these very functions), and
 * seccomp_run.c loads them as they are; only a profile that allows more
 * calls has its programs made at start.
 */
#include <errno.h>
#include <linux/sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox_int.h"

static const int allowed[] = {
	/* Files and descriptors. */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv),
	SCMP_SYS(pwritev), SCMP_SYS(preadv2), SCMP_SYS(pwritev2),
	SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(creat),
	SCMP_SYS(close), SCMP_SYS(close_range), SCMP_SYS(lseek),
	SCMP_SYS(stat), SCMP_SYS(fstat), SCMP_SYS(lstat),
	SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(statfs),
	SCMP_SYS(fstatfs), SCMP_SYS(access), SCMP_SYS(faccessat),
	SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	SCMP_SYS(getdents), SCMP_SYS(getdents64), SCMP_SYS(getcwd),
	SCMP_SYS(chdir), SCMP_SYS(fchdir), SCMP_SYS(mkdir), SCMP_SYS(mkdirat),
	SCMP_SYS(rmdir), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
	SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2),
	SCMP_SYS(link), SCMP_SYS(linkat), SCMP_SYS(symlink),
	SCMP_SYS(symlinkat), SCMP_SYS(chmod), SCMP_SYS(fchmod),
	SCMP_SYS(fchmodat), SCMP_SYS(chown), SCMP_SYS(fchown),
	SCMP_SYS(lchown), SCMP_SYS(fchownat), SCMP_SYS(truncate),
	SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync), SCMP_SYS(sync_file_range), SCMP_SYS(flock),
	SCMP_SYS(fcntl), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3),
	SCMP_SYS(pipe), SCMP_SYS(pipe2), SCMP_SYS(sendfile),
	SCMP_SYS(splice), SCMP_SYS(tee), SCMP_SYS(vmsplice),
	SCMP_SYS(copy_file_range), SCMP_SYS(utime), SCMP_SYS(utimes),
	SCMP_SYS(utimensat), SCMP_SYS(futimesat), SCMP_SYS(umask),
	SCMP_SYS(mknod), SCMP_SYS(mknodat), SCMP_SYS(readahead),
	SCMP_SYS(fadvise64), SCMP_SYS(getxattr), SCMP_SYS(lgetxattr),
	SCMP_SYS(fgetxattr), SCMP_SYS(listxattr), SCMP_SYS(llistxattr),
	SCMP_SYS(flistxattr), SCMP_SYS(setxattr), SCMP_SYS(lsetxattr),
	SCMP_SYS(fsetxattr), SCMP_SYS(removexattr), SCMP_SYS(lremovexattr),
	SCMP_SYS(fremovexattr), SCMP_SYS(inotify_init),
	SCMP_SYS(inotify_init1), SCMP_SYS(inotify_add_watch),
	SCMP_SYS(inotify_rm_watch), SCMP_SYS(ioctl),
	/* Memory. */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(mlock),
	SCMP_SYS(mlock2), SCMP_SYS(munlock), SCMP_SYS(mlockall),
	SCMP_SYS(munlockall), SCMP_SYS(mincore), SCMP_SYS(msync),
	SCMP_SYS(membarrier), SCMP_SYS(memfd_create), SCMP_SYS(mbind),
	SCMP_SYS(get_mempolicy), SCMP_SYS(set_mempolicy),
	SCMP_SYS(pkey_alloc), SCMP_SYS(pkey_free), SCMP_SYS(pkey_mprotect),
	SCMP_SYS(remap_file_pages),
	/* Processes and threads. */
	SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(execve),
	SCMP_SYS(execveat), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(wait4), SCMP_SYS(waitid), SCMP_SYS(kill), SCMP_SYS(tkill),
	SCMP_SYS(tgkill), SCMP_SYS(getpid), SCMP_SYS(getppid),
	SCMP_SYS(gettid), SCMP_SYS(getpgid), SCMP_SYS(getpgrp),
	SCMP_SYS(setpgid), SCMP_SYS(getsid), SCMP_SYS(setsid),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(getresuid), SCMP_SYS(getresgid),
	SCMP_SYS(getgroups), SCMP_SYS(setuid), SCMP_SYS(setgid),
	SCMP_SYS(setreuid), SCMP_SYS(setregid), SCMP_SYS(setresuid),
	SCMP_SYS(setresgid), SCMP_SYS(setfsuid), SCMP_SYS(setfsgid),
	SCMP_SYS(setgroups), SCMP_SYS(capget), SCMP_SYS(capset),
	SCMP_SYS(prctl), SCMP_SYS(arch_prctl), SCMP_SYS(set_tid_address),
	SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list),
	SCMP_SYS(rseq), SCMP_SYS(futex), SCMP_SYS(futex_waitv),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(sched_setaffinity), SCMP_SYS(sched_getparam),
	SCMP_SYS(sched_setparam), SCMP_SYS(sched_getscheduler),
	SCMP_SYS(sched_setscheduler), SCMP_SYS(sched_get_priority_max),
	SCMP_SYS(sched_get_priority_min), SCMP_SYS(sched_rr_get_interval),
	SCMP_SYS(sched_getattr), SCMP_SYS(sched_setattr),
	SCMP_SYS(getpriority), SCMP_SYS(setpriority), SCMP_SYS(getrlimit),
	SCMP_SYS(setrlimit), SCMP_SYS(prlimit64), SCMP_SYS(getrusage),
	SCMP_SYS(times), SCMP_SYS(sysinfo), SCMP_SYS(uname),
	SCMP_SYS(getcpu), SCMP_SYS(ioprio_get), SCMP_SYS(ioprio_set),
	SCMP_SYS(restart_syscall), SCMP_SYS(pidfd_open),
	SCMP_SYS(pidfd_send_signal), SCMP_SYS(seccomp),
	SCMP_SYS(landlock_create_ruleset), SCMP_SYS(landlock_add_rule),
	SCMP_SYS(landlock_restrict_self),
	/* Signals. */
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigsuspend),
	SCMP_SYS(rt_sigpending), SCMP_SYS(rt_sigtimedwait),
	SCMP_SYS(rt_sigqueueinfo), SCMP_SYS(rt_tgsigqueueinfo),
	SCMP_SYS(sigaltstack), SCMP_SYS(signalfd), SCMP_SYS(signalfd4),
	SCMP_SYS(pause), SCMP_SYS(alarm),
	/* Time. */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(timer_create),
	SCMP_SYS(timer_settime), SCMP_SYS(timer_gettime),
	SCMP_SYS(timer_getoverrun), SCMP_SYS(timer_delete),
	SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
	SCMP_SYS(timerfd_gettime), SCMP_SYS(getitimer), SCMP_SYS(setitimer),
	/* Waiting for events. */
	SCMP_SYS(epoll_create), SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select),
	SCMP_SYS(pselect6), SCMP_SYS(eventfd), SCMP_SYS(eventfd2),
	/* Sockets (which families: below). */
	SCMP_SYS(socketpair), SCMP_SYS(bind), SCMP_SYS(listen),
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(connect),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(sendto),
	SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg), SCMP_SYS(shutdown),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	/* IPC, inside the sandbox's own IPC namespace. */
	SCMP_SYS(shmget), SCMP_SYS(shmat), SCMP_SYS(shmdt), SCMP_SYS(shmctl),
	SCMP_SYS(semget), SCMP_SYS(semop), SCMP_SYS(semtimedop),
	SCMP_SYS(semctl), SCMP_SYS(msgget), SCMP_SYS(msgsnd),
	SCMP_SYS(msgrcv), SCMP_SYS(msgctl), SCMP_SYS(mq_open),
	SCMP_SYS(mq_unlink), SCMP_SYS(mq_timedsend),
	SCMP_SYS(mq_timedreceive), SCMP_SYS(mq_notify),
	SCMP_SYS(mq_getsetattr),
	/* Asynchronous I/O of the classic kind (seccomp sees io_submit). */
	SCMP_SYS(io_setup), SCMP_SYS(io_destroy), SCMP_SYS(io_submit),
	SCMP_SYS(io_cancel), SCMP_SYS(io_getevents), SCMP_SYS(io_pgetevents),
	/* Odds and ends. */
	SCMP_SYS(getrandom), SCMP_SYS(sync), SCMP_SYS(syncfs),
};

/* Socket families the server may open. */
static const int families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };

/* personality(2) values glibc and runtimes use, and the query. */
static const unsigned personas[] = { 0x0, 0x8, 0x20000, 0x20008,
				     0xffffffff };

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
		  CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)

/* An argument comparison with every field set (see seccomp_scan.c). */
static struct scmp_arg_cmp
arg_cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp c = { .arg = arg, .op = op, .datum_a = a,
		.datum_b = b };

	return c;
}

static int
fail(struct pal_err *err, const char *what, int rc)
{
	return pal_err_set(err, PAL_ERR_SYSTEM, "seccomp: %s: %s", what,
			   rc < 0 ? strerror(-rc) : "failed");
}

static int
main_rules(scmp_filter_ctx f, char *const *syscalls, size_t n_syscalls,
	   struct pal_err *err)
{
	int rc;

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		/* A call this architecture does not have is left out. */
		if (allowed[i] < 0)
			continue;
		if ((rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, allowed[i], 0)))
			return fail(err, "rule", rc);
	}
	for (size_t i = 0; i < n_syscalls; i++) {
		int nr = seccomp_syscall_resolve_name(syscalls[i]);

		if (nr == __NR_SCMP_ERROR)
			return pal_err_set(err, PAL_ERR_INVALID, "unknown system "
					   "call '%s'", syscalls[i]);
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
		if (rc != 0 && rc != -EEXIST)
			return fail(err, syscalls[i], rc);
	}
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if ((rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket),
					   1, arg_cmp(0, SCMP_CMP_EQ,
						      (scmp_datum_t)families[i],
						      0))))
			return fail(err, "socket", rc);
	for (size_t i = 0; i < sizeof(personas) / sizeof(personas[0]); i++)
		if ((rc = seccomp_rule_add(f, SCMP_ACT_ALLOW,
					   SCMP_SYS(personality), 1,
					   arg_cmp(0, SCMP_CMP_MASKED_EQ,
						   0xffffffff, personas[i]))))
			return fail(err, "personality", rc);
	if ((rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				   arg_cmp(0, SCMP_CMP_MASKED_EQ, NS_FLAGS,
					   0))))
		return fail(err, "clone", rc);
	if ((rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
				   0)))
		return fail(err, "clone3", rc);
	return 0;
}

static int
args_rules(scmp_filter_ctx f, struct pal_err *err)
{
	static const unsigned long fatal_ioctls[] = { TIOCSTI, TIOCLINUX };
	int rc;

	for (size_t i = 0; i < 2; i++)
		if ((rc = seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS,
					   SCMP_SYS(ioctl), 1,
					   arg_cmp(1, SCMP_CMP_MASKED_EQ,
						   0xffffffff,
						   fatal_ioctls[i]))))
			return fail(err, "ioctl", rc);
	return 0;
}

static int
new_filter(uint32_t def, scmp_filter_ctx *out, struct pal_err *err)
{
	scmp_filter_ctx f = seccomp_init(def);
	int rc;

	*out = NULL;
	if (f == NULL)
		return pal_err_set(err, PAL_ERR_SYSTEM, "seccomp_init failed");
	/* Another architecture's calls: kill the process, not the thread. */
	if ((rc = seccomp_attr_set(f, SCMP_FLTATR_ACT_BADARCH,
				   SCMP_ACT_KILL_PROCESS)) != 0) {
		seccomp_release(f);
		return fail(err, "bad-architecture action", rc);
	}
	/*
	 * A binary search on the call's number rather than a list: longer
	 * to make, but the kernel runs the program for every call number
	 * when it loads it (to cache the calls it allows whatever the
	 * arguments), and for every call the cache does not answer.
	 */
	if ((rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_OPTIMIZE, 2)) != 0) {
		seccomp_release(f);
		return fail(err, "binary tree", rc);
	}
	/* no_new_privs is set by the sandbox itself, before loading. */
	(void)seccomp_attr_set(f, SCMP_FLTATR_CTL_NNP, 0);
	*out = f;
	return 0;
}

/* The BPF program libseccomp makes of f; caller frees out->filter. */
static int
export(scmp_filter_ctx f, struct sock_fprog *out, struct pal_err *err)
{
	int fd = memfd_create("seccomp", MFD_CLOEXEC), rc = 0;
	off_t n;

	out->filter = NULL;
	out->len = 0;
	if (fd < 0)
		return pal_err_set(err, PAL_ERR_SYSTEM, "seccomp: memfd: %s",
				   strerror(errno));
	if ((rc = seccomp_export_bpf(f, fd)) != 0) {
		rc = fail(err, "export", rc);
		goto out;
	}
	n = lseek(fd, 0, SEEK_CUR);
	if (n <= 0 || n % (off_t)sizeof(struct sock_filter) != 0 ||
	    n / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		rc = pal_err_set(err, PAL_ERR_SYSTEM, "seccomp: a program of "
				 "%lld bytes", (long long)n);
		goto out;
	}
	if ((out->filter = malloc((size_t)n)) == NULL) {
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (pread(fd, out->filter, (size_t)n, 0) != (ssize_t)n) {
		rc = pal_err_set(err, PAL_ERR_SYSTEM, "seccomp: reading the "
				 "program back: %s", strerror(errno));
		free(out->filter);
		out->filter = NULL;
		goto out;
	}
	out->len = (unsigned short)(n / (off_t)sizeof(struct sock_filter));
out:
	close(fd);
	return rc;
}

int
sbx_seccomp_compile(char *const *syscalls, size_t n_syscalls,
		    struct sock_fprog *prog_main, struct sock_fprog *prog_args,
		    struct pal_err *err)
{
	scmp_filter_ctx m = NULL, a = NULL;
	int rc;

	memset(prog_main, 0, sizeof(*prog_main));
	memset(prog_args, 0, sizeof(*prog_args));
	if ((rc = new_filter(SCMP_ACT_KILL_PROCESS, &m, err)) != 0 ||
	    (rc = main_rules(m, syscalls, n_syscalls, err)) != 0 ||
	    (rc = new_filter(SCMP_ACT_ALLOW, &a, err)) != 0 ||
	    (rc = args_rules(a, err)) != 0 ||
	    (rc = export(m, prog_main, err)) != 0)
		goto out;
	if ((rc = export(a, prog_args, err)) != 0) {
		free(prog_main->filter);
		memset(prog_main, 0, sizeof(*prog_main));
	}
out:
	if (m != NULL)
		seccomp_release(m);
	if (a != NULL)
		seccomp_release(a);
	return rc;
}
