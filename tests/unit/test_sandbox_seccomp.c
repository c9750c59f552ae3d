/*
 * test_sandbox_seccomp.c - the seccomp programs of palisade run
 * (src/sandbox/seccomp_run.c, seccomp_rules.c).
 *
 * The programs for a profile without 'syscalls' are made when Palisade is
 * built (tools/seccomp_bpf.c); these tests check that they are, byte for
 * byte, what the rules make now with the libseccomp this runs with, that
 * a profile's extra calls change the allowlist and nothing else, and,
 * each in a child process of its own, that the built-in programs once
 * loaded allow a harmless call, kill the forbidden ones and refuse clone3
 * with ENOSYS.  tests/e2e/run.sh attacks the whole sandbox.
 */
#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "sandbox_int.h"

static void
assert_same(const struct sock_fprog *a, const struct sock_fprog *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->filter, b->filter,
			    a->len * sizeof(struct sock_filter));
}

static int
same(const struct sock_fprog *a, const struct sock_fprog *b)
{
	return a->len == b->len &&
	       memcmp(a->filter, b->filter,
		      a->len * sizeof(struct sock_filter)) == 0;
}

static void
built_in_is_what_the_rules_make(void **state)
{
	struct sock_fprog bm, ba, m, a;
	struct pal_err err;

	(void)state;
	pal_err_clear(&err);
	sbx_seccomp_builtin(&bm, &ba);
	assert_true(bm.len > 100);	/* the allowlist, as a binary tree */
	assert_true(ba.len > 5);
	if (sbx_seccomp_compile(NULL, 0, &m, &a, &err) != 0)
		fail_msg("%s", err.msg);
	assert_same(&m, &bm);
	assert_same(&a, &ba);
	free(m.filter);
	free(a.filter);
}

static void
extra_calls_change_the_allowlist_only(void **state)
{
	char *extra[] = { "sysfs" };
	struct sock_fprog bm, ba, m, a;
	struct pal_err err;

	(void)state;
	pal_err_clear(&err);
	sbx_seccomp_builtin(&bm, &ba);
	if (sbx_seccomp_compile(extra, 1, &m, &a, &err) != 0)
		fail_msg("%s", err.msg);
	assert_false(same(&m, &bm));
	assert_same(&a, &ba);
	free(m.filter);
	free(a.filter);
}

static void
unknown_call_refused(void **state)
{
	char *extra[] = { "no_such_call" };
	struct sock_fprog m, a;
	struct pal_err err;

	(void)state;
	pal_err_clear(&err);
	assert_int_equal(sbx_seccomp_compile(extra, 1, &m, &a, &err),
			 PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "'no_such_call'"));
	assert_null(m.filter);
	assert_null(a.filter);
}

/* The profile decides: built in without 'syscalls', made with them. */
static void
build_chooses(void **state)
{
	char *extra[] = { "sysfs" };
	struct pal_sandbox_profile p;
	struct sock_fprog bm, ba;
	struct sbx_ctx c;
	struct pal_err err;

	(void)state;
	pal_err_clear(&err);
	sbx_seccomp_builtin(&bm, &ba);
	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	c.profile = &p;
	assert_int_equal(sbx_seccomp_build(&c, &err), 0);
	assert_int_equal(c.bpf_owned, 0);
	assert_ptr_equal(c.bpf_main.filter, bm.filter);
	assert_ptr_equal(c.bpf_args.filter, ba.filter);
	sbx_seccomp_free(&c);
	p.syscalls = extra;
	p.n_syscalls = 1;
	assert_int_equal(sbx_seccomp_build(&c, &err), 0);
	assert_int_equal(c.bpf_owned, 1);
	assert_false(same(&c.bpf_main, &bm));
	sbx_seccomp_free(&c);
	assert_null(c.bpf_main.filter);
}

enum attempt { GETPID, KEYCTL, UNSHARE_USER, TIOCSTI_IOCTL, CLONE3 };

/* In a child: loads the built-in programs, makes one call, exits 0. */
static void __attribute__((noreturn))
confined(enum attempt what)
{
	struct sock_fprog m, a;
	char ch = 'x';

	sbx_seccomp_builtin(&m, &a);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &a) != 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &m) != 0)
		_exit(90);
	switch (what) {
	case GETPID:
		_exit(syscall(SYS_getpid) > 0 ? 0 : 91);
	case KEYCTL:
		syscall(SYS_keyctl, 0, 0, 0, 0, 0);
		break;
	case UNSHARE_USER:
		syscall(SYS_unshare, CLONE_NEWUSER);
		break;
	case TIOCSTI_IOCTL:
		/* The upper bits set: the filter looks at the low 32 only. */
		syscall(SYS_ioctl, 0, (1UL << 32) | TIOCSTI, &ch);
		break;
	case CLONE3:
		_exit(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS ?
		      0 : 92);
	}
	_exit(0);
}

/* The child's wait status for one attempt. */
static int
attempt(enum attempt what)
{
	pid_t pid = fork();
	int st = 0;

	assert_true(pid >= 0);
	if (pid == 0)
		confined(what);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void
loaded_programs_enforce(void **state)
{
	int st;

	(void)state;
	st = attempt(GETPID);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = attempt(CLONE3);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = attempt(KEYCTL);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	st = attempt(UNSHARE_USER);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	st = attempt(TIOCSTI_IOCTL);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(built_in_is_what_the_rules_make),
		cmocka_unit_test(extra_calls_change_the_allowlist_only),
		cmocka_unit_test(unknown_call_refused),
		cmocka_unit_test(build_chooses),
		cmocka_unit_test(loaded_programs_enforce),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
