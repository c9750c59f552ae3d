/*
 * seccomp_scan.c - the scanner's seccomp allowlist.
 *
 * The scanner reads files that attackers wrote.  Once its inputs are open
 * it needs no new files, no network, no processes and no executable
 * memory, so it keeps only what reading, mapping and printing need.  The
 * default action is EPERM rather than death so that a libc that reaches
 * for a harmless call we did not list (a locale catalogue for strerror)
 * degrades instead of crashing; the calls an exploit needs to do harm are
 * listed explicitly as fatal.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <seccomp.h>

#include "palisade/sandbox.h"

/*
 * LeakSanitizer checks for leaks at exit from a tracer thread that it
 * clones and that ptrace-attaches to the process: the filter forbids both.
 * Sanitizer builds therefore run the leak check just before confinement
 * (which also turns off the check at exit); the unconfined test runs and
 * fuzz replays check the scanning code for leaks.  The filter is the same
 * in every build.
 */
#if defined(__SANITIZE_ADDRESS__)
#define PAL_LSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PAL_LSAN_BUILD 1
#endif
#endif
#ifdef PAL_LSAN_BUILD
#include <sanitizer/lsan_interface.h>
#endif

static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(readv), SCMP_SYS(preadv),
	SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(lseek), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk),
	SCMP_SYS(madvise), SCMP_SYS(futex), SCMP_SYS(exit),
	SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(sigaltstack),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(getrandom),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(tgkill),
	SCMP_SYS(sched_yield), SCMP_SYS(fcntl), SCMP_SYS(getdents64),
	SCMP_SYS(restart_syscall),
};

/* What code execution would reach for first: fatal, not just refused. */
static const int fatal[] = {
	SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork),
	SCMP_SYS(clone3), SCMP_SYS(socket),
	SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(bind),
	SCMP_SYS(clone), SCMP_SYS(ptrace),
	SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev), SCMP_SYS(memfd_create), SCMP_SYS(mount),
	SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(bpf),
	SCMP_SYS(kexec_load), SCMP_SYS(init_module), SCMP_SYS(finit_module),
};

/*
 * An argument comparison with every field set (libseccomp's SCMP_An
 * macros leave datum_b to the compiler, which clang warns about).
 */
static struct scmp_arg_cmp
arg_cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp c = { .arg = arg, .op = op, .datum_a = a,
		.datum_b = b };

	return c;
}

static int
add_rules(scmp_filter_ctx ctx)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	for (i = 0; rc == 0 && i < sizeof(fatal) / sizeof(fatal[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, fatal[i], 0);

	/* Output goes to standard output and standard error only. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
		    arg_cmp(0, SCMP_CMP_LE, 2, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(writev), 1,
		    arg_cmp(0, SCMP_CMP_LE, 2, 0));
	/* Memory may be mapped and protected, but never made executable. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
		    arg_cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
		    arg_cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* isatty() on the output streams. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    arg_cmp(0, SCMP_CMP_LE, 2, 0));
	return rc;
}

int
pal_sandbox_scanner(struct pal_err *err)
{
	scmp_filter_ctx ctx;
	int rc;

#ifdef PAL_LSAN_BUILD
	__lsan_do_leak_check();
#endif
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM,
		    "cannot set no_new_privs");
	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL)
		return pal_err_set(err, PAL_ERR_SYSTEM,
		    "cannot initialise seccomp");
	rc = add_rules(ctx);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM,
		    "cannot load the seccomp filter: %s", rc < 0 ?
		    "libseccomp error" : "unknown");
	return 0;
}
