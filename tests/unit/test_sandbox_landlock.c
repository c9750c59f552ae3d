/*
 * test_sandbox_landlock.c - Landlock at ABIs below the running kernel's
 * (src/sandbox/landlock.c).
 *
 * The kernel here has the newest ABI, so the warnings palisade run gives
 * on an older one would never be seen.  Every ABI from 1 up to the
 * kernel's is applied for real in a child, with the rules palisade run
 * makes, and what each leaves unrestricted must be exactly what
 * sbx_landlock_report warned of: truncating a read-only file below ABI 3,
 * TCP connect below ABI 4.  What every ABI refuses is checked too:
 * reading a file the rules do not name, writing one they name read-only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "sandbox_int.h"

#define KNOWN_ABI 7	/* the newest ABI landlock.c knows of */

/* --------------------------------------------------------------------
 * The warnings.
 */

struct warnings {
	int n;
	char all[2048];
};

static void
collect(void *ctx, const char *msg)
{
	struct warnings *w = ctx;
	size_t used = strlen(w->all);

	w->n++;
	snprintf(w->all + used, sizeof(w->all) - used, "%s\n", msg);
}

static struct warnings
report_at(int abi)
{
	struct pal_sandbox_spec s;
	struct sbx_ctx c;
	struct warnings w;

	memset(&s, 0, sizeof(s));
	memset(&c, 0, sizeof(c));
	memset(&w, 0, sizeof(w));
	s.warn = collect;
	s.warn_ctx = &w;
	c.landlock_abi = abi;
	sbx_landlock_report(&c, &s);
	return w;
}

static void
each_missing_right_is_reported(void **state)
{
	struct warnings w;

	(void)state;
	w = report_at(0);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.all, "Landlock is not available"));

	for (int abi = 1; abi <= KNOWN_ABI; abi++) {
		w = report_at(abi);
		assert_int_equal(strstr(w.all, "truncating") != NULL, abi < 3);
		assert_int_equal(strstr(w.all, "TCP bind and connect") != NULL,
				 abi < 4);
		assert_int_equal(strstr(w.all, "ioctl") != NULL, abi < 5);
		assert_int_equal(strstr(w.all, "abstract Unix sockets") != NULL,
				 abi < 6);
		assert_int_equal(w.n, (abi < 3) + (abi < 4) + (abi < 5) +
				 (abi < 6));
	}
}

/* --------------------------------------------------------------------
 * The rules, applied.
 */

/* What the child found; 0 when everything was as expected. */
enum finding {
	F_APPLY = 10,		/* sbx_landlock_apply failed */
	F_READ_NAMED,		/* reading the named file failed */
	F_READ_OTHER,		/* a file not named could be read */
	F_WRITE_NAMED,		/* the read-only file could be written */
	F_TRUNCATE,		/* truncation not as the ABI says */
	F_CONNECT,		/* TCP connect not as the ABI says */
};

struct fixture {
	char dir[64];		/* named read-only; not under /tmp */
	char file[96];
	char other[96];		/* beside dir, not named */
	int port;		/* a listener on 127.0.0.1 */
	int listener;
};

/*
 * The named directory may not be under /tmp, to which the rules give
 * write access: /var/tmp, else /dev/shm (the rules give /dev listing
 * only).
 */
static int
make_dir(struct fixture *f)
{
	static const char *const bases[] = { "/var/tmp", "/dev/shm" };

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		snprintf(f->dir, sizeof(f->dir), "%s/pal-ll-XXXXXX", bases[i]);
		if (mkdtemp(f->dir) != NULL)
			return 0;
	}
	return -1;
}

static void
write_file(const char *path)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_true(fputs("contents\n", fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	if (f == NULL || make_dir(f) != 0)
		return -1;
	snprintf(f->file, sizeof(f->file), "%s/named", f->dir);
	snprintf(f->other, sizeof(f->other), "%s-other", f->dir);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->listener < 0 ||
	    bind(f->listener, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(f->listener, 64) != 0 ||
	    getsockname(f->listener, (struct sockaddr *)&a, &len) != 0)
		return -1;
	f->port = ntohs(a.sin_port);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->file);
	unlink(f->other);
	rmdir(f->dir);
	close(f->listener);
	free(f);
	return 0;
}

/* The rules palisade run makes, with f->dir as the profile's one path. */
static int
apply(struct fixture *f, int abi)
{
	struct sbx_bind bind = { .path = f->dir, .is_dir = 1 };
	struct sbx_ctx c;
	struct pal_err err;
	char dev[32];

	memset(&c, 0, sizeof(c));
	c.landlock_abi = abi;
	c.binds = &bind;
	c.n_binds = 1;
	bind.fd = open(f->dir, O_PATH | O_CLOEXEC);
	for (size_t i = 0; i < SBX_N_DEVICES; i++) {
		snprintf(dev, sizeof(dev), "/dev/%s", sbx_devices[i]);
		c.dev_fd[i] = open(dev, O_PATH | O_CLOEXEC);
	}
	pal_err_clear(&err);
	if (bind.fd < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    sbx_landlock_apply(&c, &err) != 0) {
		fprintf(stderr, "ABI %d: %s\n", abi, err.msg);
		return -1;
	}
	return 0;
}

static int
can_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (s >= 0)
		close(s);
	return ok;
}

static void __attribute__((noreturn))
child(struct fixture *f, int abi)
{
	int fd;

	if (apply(f, abi) != 0)
		_exit(F_APPLY);
	if ((fd = open(f->file, O_RDONLY)) < 0)
		_exit(F_READ_NAMED);
	close(fd);
	if ((fd = open(f->other, O_RDONLY)) >= 0 || errno != EACCES)
		_exit(F_READ_OTHER);
	if ((fd = open(f->file, O_WRONLY)) >= 0 || errno != EACCES)
		_exit(F_WRITE_NAMED);
	/* truncate(2) is refused by Landlock from ABI 3 only. */
	if ((truncate(f->file, 0) == 0) != (abi < 3))
		_exit(F_TRUNCATE);
	/* TCP connect is refused from ABI 4 only. */
	if (can_connect(f->port) != (abi < 4))
		_exit(F_CONNECT);
	_exit(0);
}

static void
each_abi_degrades_as_reported(void **state)
{
	struct fixture *f = *state;
	int kernel = sbx_landlock_abi(), top;

	if (kernel == 0)
		skip();
	top = kernel < KNOWN_ABI ? kernel : KNOWN_ABI;
	for (int abi = 1; abi <= top; abi++) {
		int st;
		pid_t pid;

		write_file(f->file);
		write_file(f->other);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			child(f, abi);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("ABI %d: status %d (see enum finding)", abi,
				 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_missing_right_is_reported),
		cmocka_unit_test_setup_teardown(each_abi_degrades_as_reported,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
