/*
 * escape.c - attempts to leave palisade run's sandbox, one per run.
 *
 *	sandbox_escape ATTEMPT [ARGS...]
 *
 * Each attempt is made for real and reports on standard output one line,
 * "ATTEMPT: succeeded ..." (exit 0) or "ATTEMPT: failed: ERRNO (message)"
 * (exit 1); an attempt the seccomp filter forbids never returns, the
 * kernel kills the process with SIGSYS.  tests/e2e/run.sh makes each
 * attempt inside the sandbox, where it must fail or be killed, and where
 * possible outside too, where it must succeed, so that a test that could
 * not fail proves nothing.  A few more modes serve the tests: exit and
 * signal statuses, sleeping, leaving a process behind, serving the
 * listening socket, reading the unsealed weights, and handing a sealed
 * memfd to a command the way palisade unseal --memfd does.
 *
 * Built without sanitizers: they need ptrace and huge mappings that the
 * sandbox refuses, and this program must show the sandbox, not them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static const char *attempt = "?";

static int
failed(const char *what)
{
	int e = errno;

	printf("%s: failed: %s (%s%s%s)\n", attempt, strerrorname_np(e) ?
	       strerrorname_np(e) : "?", what, *what ? ": " : "",
	       strerror(e));
	return 1;
}

static int
succeeded(const char *detail)
{
	printf("%s: succeeded%s%s\n", attempt, *detail ? ": " : "", detail);
	return 0;
}

/* A decimal argument (the banned atoi, checked). */
static int
num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0 || v > 0x7fffffff) {
		fprintf(stderr, "bad number '%s'\n", s);
		exit(2);
	}
	return (int)v;
}

static int
port_of(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end != '\0' || v < 1 || v > 65535) {
		fprintf(stderr, "bad port '%s'\n", s);
		exit(2);
	}
	return (int)v;
}

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* tcp PORT: a connection to the host's loopback. */
static int
do_tcp(int port)
{
	struct sockaddr_in a = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return failed("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return failed("connect");
	if (write(fd, "escaped-tcp\n", 12) != 12)
		return failed("write");
	close(fd);
	return succeeded("connected and wrote");
}

/* udp PORT TOKEN: one datagram to the host's loopback. */
static int
do_udp(int port, const char *token)
{
	struct sockaddr_in a = loopback(port);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		return failed("socket");
	if (sendto(fd, token, strlen(token), 0, (struct sockaddr *)&a,
		   sizeof(a)) < 0)
		return failed("sendto");
	close(fd);
	return succeeded("sent");
}

/* read PATH: a file's first bytes. */
static int
do_read(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return failed("open");
	if ((n = read(fd, buf, sizeof(buf))) < 0)
		return failed("read");
	close(fd);
	return succeeded("read bytes");
}

/* write PATH: creates or appends to a file. */
static int
do_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);

	if (fd < 0)
		return failed("open");
	if (write(fd, "escaped\n", 8) != 8)
		return failed("write");
	close(fd);
	return succeeded("wrote");
}

/* ptrace PID: attaches to a process, then lets it go. */
static int
do_ptrace(pid_t pid)
{
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) != 0)
		return failed("PTRACE_ATTACH");
	waitpid(pid, NULL, __WALL);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return succeeded("attached");
}

/* mount DIR: a tmpfs over DIR. */
static int
do_mount(const char *dir)
{
	if (mount("escape", dir, "tmpfs", 0, "size=1m") != 0)
		return failed("mount");
	umount2(dir, MNT_DETACH);
	return succeeded("mounted");
}

static int
do_userns(void)
{
	if (unshare(CLONE_NEWUSER) != 0)
		return failed("unshare(CLONE_NEWUSER)");
	return succeeded("new user namespace");
}

static int
do_keyctl(void)
{
	long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID,
			  KEY_SPEC_SESSION_KEYRING, 1);

	if (id < 0)
		return failed("keyctl");
	return succeeded("session keyring");
}

static int
do_bpf(void)
{
	union bpf_attr a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	if ((fd = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a))) < 0)
		return failed("bpf(BPF_MAP_CREATE)");
	close((int)fd);
	return succeeded("map created");
}

static int
do_perf(void)
{
	struct perf_event_attr a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_SOFTWARE;
	a.size = sizeof(a);
	a.config = PERF_COUNT_SW_TASK_CLOCK;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	if ((fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0)) < 0)
		return failed("perf_event_open");
	close((int)fd);
	return succeeded("event opened");
}

static int
do_io_uring(void)
{
	struct io_uring_params p;
	long fd;

	memset(&p, 0, sizeof(p));
	if ((fd = syscall(SYS_io_uring_setup, 4, &p)) < 0)
		return failed("io_uring_setup");
	close((int)fd);
	return succeeded("ring set up");
}

/*
 * tiocsti: pushes a byte into a terminal's input.  Outside, on a new
 * pseudo-terminal made this process's controlling terminal, so that
 * success is possible; inside (no /dev/ptmx), on standard input.
 */
static int
do_tiocsti(void)
{
	char c = 'x', got = 0;
	int fd = 0, m = posix_openpt(O_RDWR | O_NOCTTY);

	if (m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0 && setsid() >= 0) {
		const char *name = ptsname(m);

		if (name == NULL || (fd = open(name, O_RDWR)) < 0)
			return failed("open the pseudo-terminal");
	}
	if (ioctl(fd, TIOCSTI, &c) != 0)
		return failed("TIOCSTI");
	/* A whole line, for the terminal's canonical mode to hand it over. */
	c = '\n';
	if (fd != 0 && ioctl(fd, TIOCSTI, &c) == 0 && read(fd, &got, 1) == 1 &&
	    got == 'x')
		return succeeded("injected and read back");
	return succeeded("injected");
}

/* procmem PID: another process's memory through /proc. */
static int
do_procmem(const char *pid)
{
	char path[64], buf[16];
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/mem", pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return failed(path);
	/*
	 * Opening is the escape; the read may fail (nothing mapped there).
	 * Its result is looked at so that _FORTIFY_SOURCE builds compile.
	 */
	if (pread(fd, buf, sizeof(buf), 0x400000) < 0)
		errno = 0;
	close(fd);
	return succeeded("opened");
}

/* fd N: uses a descriptor. */
static int
do_fd(int fd)
{
	struct stat st;
	char c;

	if (fstat(fd, &st) != 0)
		return failed("fstat");
	if (read(fd, &c, 1) < 0)
		return failed("read");
	return succeeded("read through it");
}

/* x32: getpid through the x32 table (killed, or ENOSYS outside). */
static int
do_x32(void)
{
#if defined(__x86_64__)
	if (syscall(0x40000000 | SYS_getpid) < 0)
		return failed("x32 getpid");
	return succeeded("x32 getpid");
#else
	errno = ENOSYS;
	return failed("not x86_64");
#endif
}

/* i386: getpid through int 0x80 (the i386 table). */
static int
do_i386(void)
{
#if defined(__x86_64__)
	long r = 20;	/* __NR_getpid on i386 */

	__asm__ volatile("int $0x80" : "+a"(r) : : "memory");
	if (r < 0) {
		errno = (int)-r;
		return failed("i386 getpid");
	}
	return succeeded("i386 getpid");
#else
	errno = ENOSYS;
	return failed("not x86_64");
#endif
}

/* serve: one connection on the handed-in socket, greeted. */
static int
do_serve(void)
{
	const char *s = getenv("PALISADE_LISTEN_FD");
	const char *n = getenv("LISTEN_FDS");
	char line[128];
	int lfd, c;

	if (s == NULL) {
		errno = EBADF;
		return failed("PALISADE_LISTEN_FD is not set");
	}
	lfd = num(s);
	if ((c = accept(lfd, NULL, NULL)) < 0)
		return failed("accept");
	snprintf(line, sizeof(line), "hello from the sandbox, fd %d, "
		 "LISTEN_FDS=%s, LISTEN_PID=%s, pid %d\n", lfd, n ? n : "-",
		 getenv("LISTEN_PID") ? getenv("LISTEN_PID") : "-",
		 (int)getpid());
	if (write(c, line, strlen(line)) < 0)
		return failed("write");
	close(c);
	return succeeded("served one connection");
}

/*
 * unsealed: every file of PALISADE_UNSEALED opened through its
 * /proc/self/fd path and printed (small files only).
 */
static int
do_unsealed(void)
{
	const char *m = getenv("PALISADE_UNSEALED"), *p;
	char path[64], buf[4096];

	if (m == NULL) {
		errno = ENOENT;
		return failed("PALISADE_UNSEALED is not set");
	}
	for (p = strstr(m, "/proc/self/fd/"); p != NULL;
	     p = strstr(p + 1, "/proc/self/fd/")) {
		size_t n = strspn(p + 14, "0123456789");
		ssize_t got;
		int fd;

		snprintf(path, sizeof(path), "%.*s", (int)(14 + n), p);
		if ((fd = open(path, O_RDONLY)) < 0)
			return failed(path);
		got = read(fd, buf, sizeof(buf));
		if (got < 0)
			return failed("read");
		printf("%s: ", path);
		fwrite(buf, 1, (size_t)got, stdout);
		printf("\n");
		close(fd);
	}
	return succeeded("read the unsealed files");
}

/*
 * seal FILE [--unsealed-only] -- COMMAND...: FILE into a memfd sealed as
 * palisade unseal seals it (write, grow, shrink; with --unsealed-only
 * left unsealed), named in PALISADE_UNSEALED, and COMMAND run with it.
 */
static int
do_seal(int argc, char **argv)
{
	int i = 1, sealed = 1, mfd, in;
	char buf[65536], env[128];
	ssize_t n;

	if (i < argc && strcmp(argv[i], "--unsealed-only") == 0) {
		sealed = 0;
		i++;
	}
	if (i + 2 >= argc || strcmp(argv[i + 1], "--") != 0) {
		fprintf(stderr, "usage: seal FILE [--unsealed-only] -- CMD\n");
		return 2;
	}
	if ((in = open(argv[i], O_RDONLY)) < 0)
		return failed(argv[i]);
	if ((mfd = memfd_create("weights", MFD_ALLOW_SEALING)) < 0)
		return failed("memfd_create");
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(mfd, buf, (size_t)n) != n)
			return failed("write");
	close(in);
	if (sealed && fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW |
			    F_SEAL_SHRINK | F_SEAL_SEAL) != 0)
		return failed("F_ADD_SEALS");
	snprintf(env, sizeof(env), "{\"model.bin\": \"/proc/self/fd/%d\"}",
		 mfd);
	setenv("PALISADE_UNSEALED", env, 1);
	execvp(argv[i + 2], argv + i + 2);
	return failed(argv[i + 2]);
}

/*
 * Leaves behind a child named NAME that ignores the signals a server's
 * children usually get at its end, and exits before it: the sandbox
 * must not let it outlive the server.  The child holds 256 MiB it has
 * written, so that its death takes long enough to be seen: a sandbox
 * that reported the server's end before its other processes were gone
 * would return while this one is still dying.
 */
#define ORPHAN_MIB 256

static int
do_orphan(const char *name)
{
	size_t len = (size_t)ORPHAN_MIB << 20;
	char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ready[2];
	pid_t pid;
	char c;

	if (mem == MAP_FAILED)
		return failed("mmap");
	if (pipe(ready) != 0)
		return failed("pipe");
	if ((pid = fork()) < 0)
		return failed("fork");
	if (pid == 0) {
		memset(mem, 1, len);
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		prctl(PR_SET_NAME, name, 0, 0, 0);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	/* Gone once the child is named and holds its memory. */
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		return failed("the orphan");
	printf("orphan: left %s (pid %d) behind\n", name, (int)pid);
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: sandbox_escape ATTEMPT [ARGS]\n"
		"attempts: tcp PORT, udp PORT TOKEN, read PATH, write PATH,\n"
		"  ptrace PID, mount DIR, userns, keyctl, bpf, perf, io_uring,\n"
		"  tiocsti, procmem PID, fd N, x32, i386\n"
		"helpers: exit N, signal S, sleep SECONDS, orphan NAME, serve,\n"
		"  unsealed, seal FILE [--unsealed-only] -- COMMAND...\n");
	return 2;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	attempt = argv[1];
	setvbuf(stdout, NULL, _IONBF, 0);
#define IS(name, n) (strcmp(attempt, name) == 0 && argc == 2 + (n))
	if (IS("tcp", 1))
		return do_tcp(port_of(argv[2]));
	if (IS("udp", 2))
		return do_udp(port_of(argv[2]), argv[3]);
	if (IS("read", 1))
		return do_read(argv[2]);
	if (IS("write", 1))
		return do_write(argv[2]);
	if (IS("ptrace", 1))
		return do_ptrace((pid_t)num(argv[2]));
	if (IS("mount", 1))
		return do_mount(argv[2]);
	if (IS("userns", 0))
		return do_userns();
	if (IS("keyctl", 0))
		return do_keyctl();
	if (IS("bpf", 0))
		return do_bpf();
	if (IS("perf", 0))
		return do_perf();
	if (IS("io_uring", 0))
		return do_io_uring();
	if (IS("tiocsti", 0))
		return do_tiocsti();
	if (IS("procmem", 1))
		return do_procmem(argv[2]);
	if (IS("fd", 1))
		return do_fd(num(argv[2]));
	if (IS("x32", 0))
		return do_x32();
	if (IS("i386", 0))
		return do_i386();
	if (IS("exit", 1))
		return num(argv[2]);
	if (IS("signal", 1)) {
		signal(num(argv[2]), SIG_DFL);
		raise(num(argv[2]));
		return 99;
	}
	if (IS("sleep", 1)) {
		/* A background shell ignores SIGINT for its jobs; a server
		 * started from a terminal would not. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		printf("sleep: %d s\n", num(argv[2]));
		sleep((unsigned)num(argv[2]));
		return 0;
	}
	if (IS("orphan", 1))
		return do_orphan(argv[2]);
	if (IS("serve", 0))
		return do_serve();
	if (IS("unsealed", 0))
		return do_unsealed();
	if (strcmp(attempt, "seal") == 0)
		return do_seal(argc - 1, argv + 1);
	return usage();
}
