/*
 * test_secmem.c - memory for secrets: the kernel's own view of the pages
 * (/proc/self/smaps VmFlags: dd no-dump, wf wipe-on-fork, lo locked) must
 * match what secmem.h promises; a forked child sees zeros; the guard pages
 * fault; a refused mlock degrades to unlocked memory that says so.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "palisade/secmem.h"

static struct pal_secmem *
alloc_ok(size_t len)
{
	struct pal_secmem *m = NULL;
	struct pal_err err;

	pal_err_clear(&err);
	if (pal_secmem_alloc(len, &m, &err) != 0)
		fail_msg("pal_secmem_alloc(%zu): %s", len, err.msg);
	assert_non_null(m);
	return m;
}

/*
 * The VmFlags line of the mapping that holds addr, copied into flags;
 * 0 when found.
 */
static int
vm_flags(const void *addr, char *flags, size_t cap)
{
	uintptr_t a = (uintptr_t)addr;
	unsigned long lo, hi;
	char line[512];
	int in = 0, found = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *end;

		lo = strtoul(line, &end, 16);
		if (end != line && *end == '-') {
			hi = strtoul(end + 1, NULL, 16);
			in = a >= lo && a < hi;
		} else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(flags, cap, "%s", line + 8);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

static int
has_flag(const char *flags, const char *want)
{
	char pad[520];

	snprintf(pad, sizeof(pad), " %s ", want);
	return strstr(flags, pad) != NULL;
}

static void
allocates_aligned_zeroed_memory(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	struct pal_secmem *m;
	uint8_t *p;
	size_t i;

	(void)state;
	m = alloc_ok(32);
	p = pal_secmem_data(m);
	assert_int_equal((uintptr_t)p % (uintptr_t)page, 0);
	assert_ptr_equal(pal_secmem_cdata(m), p);
	assert_int_equal(pal_secmem_len(m), 32);
	for (i = 0; i < 32; i++)
		assert_int_equal(p[i], 0);
	/* The whole page is usable (the length is rounded up, not cut). */
	memset(p, 0xa5, (size_t)page);
	assert_int_equal(p[page - 1], 0xa5);
	pal_secmem_free(m);

	m = alloc_ok((size_t)page + 1);
	p = pal_secmem_data(m);
	memset(p, 0x5a, (size_t)page + 1);
	assert_int_equal(p[page], 0x5a);
	pal_secmem_free(m);
	pal_secmem_free(NULL);
}

static void
refuses_bad_lengths(void **state)
{
	struct pal_secmem *m = (struct pal_secmem *)&m;
	struct pal_err err;

	(void)state;
	assert_int_equal(pal_secmem_alloc(0, &m, &err), PAL_ERR_INVALID);
	assert_null(m);
	assert_int_equal(pal_secmem_alloc((size_t)PAL_SECMEM_MAX + 1, &m,
					  &err), PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "secret memory"));
	assert_null(m);
}

static void
pages_are_no_dump_wipe_on_fork_and_locked(void **state)
{
	struct pal_secmem *m;
	char flags[512];

	(void)state;
	m = alloc_ok(64);
	assert_int_equal(vm_flags(pal_secmem_data(m), flags, sizeof(flags)),
			 0);
	if (!has_flag(flags, "dd"))
		fail_msg("no MADV_DONTDUMP: VmFlags%s", flags);
	if (!has_flag(flags, "wf"))
		fail_msg("no MADV_WIPEONFORK: VmFlags%s", flags);
	/* Locked exactly when pal_secmem_locked says so. */
	assert_int_equal(has_flag(flags, "lo"), pal_secmem_locked(m));
	/* Under the default limit (8 MiB) one page is locked. */
	assert_int_equal(pal_secmem_locked(m), 1);
	assert_int_equal(pal_secmem_lock_errno(m), 0);
	pal_secmem_free(m);
}

static void
child_after_fork_sees_zeros(void **state)
{
	struct pal_secmem *m;
	int status = 0;
	pid_t pid;

	(void)state;
	m = alloc_ok(32);
	memset(pal_secmem_data(m), 0x42, 32);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const uint8_t *p = pal_secmem_cdata(m);
		size_t i;

		for (i = 0; i < 32; i++)
			if (p[i] != 0)
				_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The parent keeps its copy. */
	assert_int_equal(pal_secmem_cdata(m)[31], 0x42);
	pal_secmem_free(m);
}

/* Touches p in a child, quietly; returns the child's wait status. */
static int
touch_in_child(volatile const uint8_t *p)
{
	int status = 0, fd;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/*
		 * cmocka catches SIGSEGV to report a failed test and would
		 * carry on running the suite in the child; ASan reports the
		 * fault on stderr before it exits.
		 */
		signal(SIGSEGV, SIG_DFL);
		if ((fd = open("/dev/null", O_WRONLY)) >= 0)
			(void)dup2(fd, 2);
		(void)*p;
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
guard_pages_fault(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	struct pal_secmem *m;
	const uint8_t *p;
	int st;

	(void)state;
	m = alloc_ok(100);
	p = pal_secmem_cdata(m);
	/* In bounds: the child exits cleanly. */
	st = touch_in_child(p + page - 1);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* Before the data and after its last page: killed, or ASan's exit. */
	st = touch_in_child(p - 1);
	assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = touch_in_child(p + page);
	assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	pal_secmem_free(m);
}

/*
 * With RLIMIT_MEMLOCK at 0 (and, when running as root, without
 * CAP_IPC_LOCK, which ignores the limit) the allocation works unlocked and
 * says so.  Runs in a child, which may give up its privileges.
 */
static int
unlocked_child(void)
{
	struct rlimit rl = { 0, 0 };
	struct pal_secmem *m = NULL;
	struct pal_err err;
	char flags[512];

	if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		return 1;
	if (geteuid() == 0 && (setresgid(65534, 65534, 65534) != 0 ||
			       setresuid(65534, 65534, 65534) != 0))
		return 2;
	if (pal_secmem_alloc(32, &m, &err) != 0)
		return 3;
	if (pal_secmem_locked(m) != 0)
		return 4;
	if (pal_secmem_lock_errno(m) != EPERM &&
	    pal_secmem_lock_errno(m) != ENOMEM &&
	    pal_secmem_lock_errno(m) != EAGAIN)
		return 5;
	if (vm_flags(pal_secmem_data(m), flags, sizeof(flags)) != 0 ||
	    !has_flag(flags, "dd") || !has_flag(flags, "wf") ||
	    has_flag(flags, "lo"))
		return 6;
	memset(pal_secmem_data(m), 7, 32);
	pal_secmem_free(m);
	return 0;
}

static void
refused_lock_degrades_and_says_so(void **state)
{
	int status = 0;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(unlocked_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("unlocked child failed at step %d",
			 WEXITSTATUS(status));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allocates_aligned_zeroed_memory),
		cmocka_unit_test(refuses_bad_lengths),
		cmocka_unit_test(pages_are_no_dump_wipe_on_fork_and_locked),
		cmocka_unit_test(child_after_fork_sees_zeros),
		cmocka_unit_test(guard_pages_fault),
		cmocka_unit_test(refused_lock_degrades_and_says_so),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
