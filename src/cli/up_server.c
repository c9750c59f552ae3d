/*
 * up_server.c - palisade up's model server: started confined by the
 * sandbox's launcher (palisade-run beside this binary, else palisade
 * run), listening on STATE/model.sock, which the launcher binds on the
 * host and hands in, with the release's memfds inherited as palisade
 * unseal --memfd hands them over; then waited for until it answers
 * GET /v1/models.
 *
 * The launcher is a child in a process group of its own, so that a
 * Ctrl-C at the terminal reaches palisade up alone, which stops the
 * gateway first and then the server; if palisade up dies, the launcher
 * gets SIGTERM (its parent-death signal) and the sandbox ends with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "palisade/encoding.h"
#include "palisade/file.h"
#include "palisade/sandbox.h"
#include "up.h"

#define UNSEALED_ENV "PALISADE_UNSEALED"
#define PIN_ENV_PREFIX "PALISADE_PKCS11_"
#define PROFILE_MAX (64 * 1024)
#define TAIL_BYTES 2048
/*
 * How long one readiness probe waits for an answer: a server that has
 * not started accepting leaves the connection in the backlog, and the
 * probe is repeated until UP_READY_SECONDS; short, so that a signal is
 * not kept waiting.
 */
#define ANSWER_MS 1000

extern char **environ;

/* What the launcher is started with; every string owned. */
struct launch {
	char *path;		/* the launcher's program */
	char **argv;		/* launcher, options, "--", command */
	char **envp;		/* environ and PALISADE_UNSEALED */
	char **command;		/* the server's words, expanded */
	char profile[80];	/* "built-in" or "sha256:<hex>" */
	int listen_fd;
};

static void
strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
launch_free(struct launch *l)
{
	free(l->path);
	strv_free(l->argv);
	strv_free(l->envp);
	up_argv_free(l->command);
}

/* palisade-run beside this binary when there is one, else palisade run. */
static int
launcher(struct launch *l, int *sub, struct pal_err *err)
{
	char self[4096], *copy, *run = NULL;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return pal_err_set(err, PAL_ERR_SYSTEM, "/proc/self/exe: %s",
				   strerror(errno));
	self[n] = '\0';
	if ((copy = strdup(self)) == NULL ||
	    asprintf(&run, "%s/palisade-run", dirname(copy)) < 0) {
		free(copy);
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	free(copy);
	*sub = access(run, X_OK) != 0;
	if (*sub) {
		free(run);
		run = strdup(self);
	}
	l->path = run;
	return run != NULL ? 0 : pal_err_set(err, PAL_ERR_NOMEM,
					     "out of memory");
}

/*
 * The profile's digest, for the log: the bytes palisade run is about to
 * read, or "built-in".  Its keep_fds are in *p, for the socket's number.
 */
static int
profile_digest(const struct up_config *c, struct launch *l,
	       struct pal_sandbox_profile **p, struct pal_err *err)
{
	uint8_t *text = NULL, md[32];
	char hex[65];
	size_t len;
	int rc;

	*p = NULL;
	if (c->server.profile == NULL) {
		snprintf(l->profile, sizeof(l->profile), "built-in");
		return 0;
	}
	rc = pal_file_read(c->server.profile, PROFILE_MAX, &text, &len, err);
	if (rc != 0)
		return pal_err_wrap(err, rc, "profile %s: ", c->server.profile);
	rc = pal_sandbox_profile_parse(text, len, c->server.profile, p, err);
	if (rc == 0 && EVP_Digest(text, len, md, NULL, EVP_sha256(),
				  NULL) != 1)
		rc = pal_err_set(err, PAL_ERR_CRYPTO, "SHA-256");
	free(text);
	if (rc == 0) {
		pal_hex_encode(md, sizeof(md), hex);
		snprintf(l->profile, sizeof(l->profile), "sha256:%s", hex);
	}
	return rc;
}

static int
kept(const struct up *u, const struct pal_sandbox_profile *p, int fd)
{
	for (size_t i = 0; i < u->model.n; i++)
		if (u->model.f[i].fd == fd)
			return 1;
	for (size_t i = 0; p != NULL && i < p->n_fds; i++)
		if (p->fds[i] == fd)
			return 1;
	return 0;
}

/*
 * The listening socket's number in the sandbox, as palisade run chooses
 * it (docs/sandbox.md): the lowest from 3 up that no kept descriptor
 * uses.  The server may read it from PALISADE_LISTEN_FD as well.
 */
static int
listen_fd(const struct up *u, const struct pal_sandbox_profile *p)
{
	int fd = 3;

	while (kept(u, p, fd))
		fd++;
	return fd;
}

static int
push(char ***v, size_t *n, const char *s)
{
	char **nv = reallocarray(*v, *n + 2, sizeof(**v));

	if (nv == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(s)) == NULL)
		return -1;
	nv[++*n] = NULL;
	return 0;
}

static int
build_argv(const struct up *u, struct launch *l, int sub,
	   struct pal_err *err)
{
	char listen[UP_SOCK_MAX + 8];
	size_t n = 0;
	int bad = push(&l->argv, &n, l->path) != 0 ||
		(sub && push(&l->argv, &n, "run") != 0);

	snprintf(listen, sizeof(listen), "unix:%s", u->sock);
	if (!bad && u->cfg->server.profile != NULL)
		bad = push(&l->argv, &n, "--profile") != 0 ||
		      push(&l->argv, &n, u->cfg->server.profile) != 0;
	bad = bad || push(&l->argv, &n, "--listen") != 0 ||
	      push(&l->argv, &n, listen) != 0 || push(&l->argv, &n, "--") != 0;
	for (size_t i = 0; !bad && l->command[i] != NULL; i++)
		bad = push(&l->argv, &n, l->command[i]) != 0;
	return bad ? pal_err_set(err, PAL_ERR_NOMEM, "out of memory") : 0;
}

/*
 * environ, then the release's map.  Left out: an earlier
 * PALISADE_UNSEALED, and the token's PINs (PALISADE_PKCS11_*), which the
 * server has no use for and a profile could otherwise pass in.
 */
static int
build_env(const struct up *u, struct launch *l, struct pal_err *err)
{
	json_t *map = json_object();
	char *text = NULL, *entry = NULL;
	size_t n = 0;
	int bad = map == NULL;

	for (size_t i = 0; !bad && i < u->model.n; i++) {
		char p[64];

		snprintf(p, sizeof(p), "/proc/self/fd/%d", u->model.f[i].fd);
		bad = json_object_set_new(map, u->model.f[i].path,
					  json_string(p)) != 0;
	}
	if (!bad)
		text = json_dumps(map, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(map);
	bad = bad || text == NULL ||
	      asprintf(&entry, UNSEALED_ENV "=%s", text) < 0;
	free(text);
	for (size_t i = 0; !bad && environ[i] != NULL; i++)
		if (strncmp(environ[i], UNSEALED_ENV "=",
			    sizeof(UNSEALED_ENV)) != 0 &&
		    strncmp(environ[i], PIN_ENV_PREFIX,
			    sizeof(PIN_ENV_PREFIX) - 1) != 0)
			bad = push(&l->envp, &n, environ[i]) != 0;
	bad = bad || push(&l->envp, &n, entry) != 0;
	free(entry);
	return bad ? pal_err_set(err, PAL_ERR_NOMEM, "out of memory") : 0;
}

static int
prepare(struct up *u, struct launch *l, struct pal_err *err)
{
	struct pal_sandbox_profile *p = NULL;
	struct up_file *f = calloc(u->model.n ? u->model.n : 1, sizeof(*f));
	int sub = 0, rc;

	if (f == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < u->model.n; i++)
		f[i] = (struct up_file){ u->model.f[i].path, u->model.f[i].fd };
	rc = launcher(l, &sub, err);
	if (rc == 0)
		rc = profile_digest(u->cfg, l, &p, err);
	l->listen_fd = listen_fd(u, p);
	pal_sandbox_profile_free(p);
	if (rc == 0)
		rc = up_command_expand(u->cfg, f, u->model.n, l->listen_fd,
				       &l->command, err);
	free(f);
	if (rc == 0)
		rc = build_argv(u, l, sub, err);
	if (rc == 0)
		rc = build_env(u, l, err);
	return rc;
}

/*
 * The child, between fork and exec: only async-signal-safe calls, since
 * this process has other threads.
 */
static void
child(const struct up *u, const struct launch *l, pid_t parent, int out)
{
	sigset_t none;
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(125);
	for (size_t i = 0; i < u->model.n; i++)
		fcntl(u->model.f[i].fd, F_SETFD, 0);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(out, 2) < 0)
		_exit(125);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(l->path, l->argv, l->envp);
	_exit(127);
}

static json_t *
run_details(const struct up *u, const struct launch *l)
{
	json_t *cmd = json_array();

	for (size_t i = 0; cmd != NULL && l->command[i] != NULL; i++)
		json_array_append_new(cmd, json_string(l->command[i]));
	return json_pack("{s:b, s:s, s:o*, s:s, s:s, s:s, s:i, s:I}", "ok", 1,
			 "launcher", l->path, "command", cmd, "profile",
			 u->cfg->server.profile ? u->cfg->server.profile :
			 "built-in", "profile_digest", l->profile, "listen",
			 u->upstream, "listen_fd", l->listen_fd, "pid",
			 (json_int_t)u->server);
}

int
up_server_start(struct up *u, struct pal_err *err)
{
	struct launch l;
	pid_t parent = getpid();
	int out, rc;

	memset(&l, 0, sizeof(l));
	rc = prepare(u, &l, err);
	out = rc == 0 ? open(u->server_out, O_WRONLY | O_CREAT | O_TRUNC |
			     O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
	if (rc == 0 && out < 0)
		rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", u->server_out,
				 strerror(errno));
	if (rc == 0) {
		fflush(NULL);
		u->server = fork();
		if (u->server == 0)
			child(u, &l, parent, out);
		if (u->server < 0)
			rc = pal_err_set(err, PAL_ERR_SYSTEM, "fork: %s",
					 strerror(errno));
	}
	if (out >= 0)
		close(out);
	if (rc == 0) {
		fprintf(stderr, "palisade up: started the model server (%s, "
			"profile %s), its output in %s\n", l.path,
			u->cfg->server.profile ? u->cfg->server.profile :
			"built-in", u->server_out);
		rc = up_server_ready(u, err);
	}
	if (rc == 0)
		rc = up_log(u, "up.run", NULL, run_details(u, &l), err);
	launch_free(&l);
	return rc;
}

/* ---- waiting for it ---- */

/* One GET /v1/models on the socket: 1 for a 200, 0 for anything else. */
static int
answers(const struct up *u)
{
	static const char req[] = "GET /v1/models HTTP/1.1\r\nHost: "
		"localhost\r\nConnection: close\r\n\r\n";
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	char buf[16];
	size_t got = 0;
	int fd, ok = 0;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", u->sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(req) - 1)
		goto out;
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (got < 12 && poll(&pfd, 1, ANSWER_MS) == 1) {
		ssize_t n = recv(fd, buf + got, 12 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	ok = got == 12 && (memcmp(buf, "HTTP/1.1 200", 12) == 0 ||
			   memcmp(buf, "HTTP/1.0 200", 12) == 0);
out:
	if (fd >= 0)
		close(fd);
	return ok;
}

int
up_server_ended(const struct up *u)
{
	siginfo_t si;

	if (u->server <= 0)
		return 0;
	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)u->server, &si,
		      WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0;
}

int
up_server_ready(struct up *u, struct pal_err *err)
{
	struct timespec step = { 0, 100 * 1000 * 1000 };
	time_t end = time(NULL) + UP_READY_SECONDS;

	while (!answers(u)) {
		if (atomic_load(&u->stop_signal) != 0)
			return pal_err_set(err, PAL_ERR_INVALID, "interrupted "
					   "while the model server started");
		if (up_server_ended(u)) {
			int st = up_server_stop(u);

			return pal_err_set(err, PAL_ERR_INVALID, "the model "
					   "server exited with status %d "
					   "before it answered", st);
		}
		if (time(NULL) >= end)
			return pal_err_set(err, PAL_ERR_INVALID, "the model "
					   "server did not answer GET "
					   "/v1/models on %s within %d s",
					   u->upstream, UP_READY_SECONDS);
		nanosleep(&step, NULL);
	}
	fprintf(stderr, "palisade up: the model server answers on %s\n",
		u->upstream);
	return 0;
}

/* ---- stopping it ---- */

static int
shell_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) :
		WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 125;
}

int
up_server_stop(struct up *u)
{
	struct timespec step = { 0, 50 * 1000 * 1000 };
	int st = 0, waited = 0;
	pid_t r;

	if (u->server <= 0)
		return -1;
	if (!up_server_ended(u))
		kill(u->server, SIGTERM);
	while ((r = waitpid(u->server, &st, WNOHANG)) == 0 &&
	       waited < UP_STOP_SECONDS * 20) {
		nanosleep(&step, NULL);
		waited++;
	}
	if (r == 0) {
		/* The sandbox dies with its launcher (docs/sandbox.md). */
		kill(u->server, SIGKILL);
		r = waitpid(u->server, &st, 0);
	}
	u->server = -1;
	return r > 0 ? shell_status(st) : -1;
}

const char *
up_server_tail(const struct up *u)
{
	static char tail[TAIL_BYTES + 1];
	int fd = open(u->server_out, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	off_t from;
	ssize_t n = 0;

	tail[0] = '\0';
	if (fd < 0)
		return tail;
	if (fstat(fd, &st) == 0) {
		from = st.st_size > TAIL_BYTES ? st.st_size - TAIL_BYTES : 0;
		n = pread(fd, tail, TAIL_BYTES, from);
	}
	close(fd);
	tail[n > 0 ? n : 0] = '\0';
	return tail;
}
