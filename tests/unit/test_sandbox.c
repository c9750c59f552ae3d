/*
 * test_sandbox.c - the scanner's seccomp confinement: each forbidden act
 * is tried in a child after pal_sandbox_scanner(), and must be fatal
 * (SIGSYS) or refused (EPERM), while reading and printing still work.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "palisade/sandbox.h"

enum act { ACT_READ, ACT_EXEC, ACT_SOCKET, ACT_OPEN, ACT_WRITE_FILE,
	ACT_MMAP_EXEC, ACT_FORK };

/* Runs one act in a confined child; returns its wait status. */
static int
confined(enum act act)
{
	int status = 0, fd = open("/proc/self/stat", O_RDONLY);
	int wfd = open("/dev/null", O_WRONLY);
	pid_t pid;

	assert_true(fd >= 0 && wfd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[64];
		char *const argv[] = { "/bin/true", NULL };
		void *p;

		if (pal_sandbox_scanner(NULL) != 0)
			_exit(90);
		switch (act) {
		case ACT_READ:
			_exit(read(fd, buf, sizeof(buf)) > 0 ? 0 : 91);
		case ACT_EXEC:
			execv(argv[0], argv);
			_exit(92);
		case ACT_SOCKET:
			(void)socket(AF_INET, SOCK_STREAM, 0);
			_exit(93);
		case ACT_OPEN:
			_exit(open("/etc/hostname", O_RDONLY) < 0 &&
			    errno == EPERM ? 0 : 94);
		case ACT_WRITE_FILE:
			_exit(write(wfd, "x", 1) < 0 && errno == EPERM ? 0 : 95);
		case ACT_MMAP_EXEC:
			p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			_exit(p == MAP_FAILED && errno == EPERM ? 0 : 96);
		case ACT_FORK:
			(void)fork();
			_exit(97);
		}
		_exit(98);
	}
	close(fd);
	close(wfd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
reading_still_works(void **state)
{
	int st;

	(void)state;
	st = confined(ACT_READ);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
exec_socket_and_fork_are_fatal(void **state)
{
	static const enum act fatal[] = { ACT_EXEC, ACT_SOCKET, ACT_FORK };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		int st = confined(fatal[i]);

		assert_true(WIFSIGNALED(st));
		assert_int_equal(WTERMSIG(st), SIGSYS);
	}
}

static void
opening_writing_and_exec_memory_are_refused(void **state)
{
	static const enum act refused[] = { ACT_OPEN, ACT_WRITE_FILE,
		ACT_MMAP_EXEC };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		int st = confined(refused[i]);

		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reading_still_works),
		cmocka_unit_test(exec_socket_and_fork_are_fatal),
		cmocka_unit_test(opening_writing_and_exec_memory_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
