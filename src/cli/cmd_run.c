/*
 * cmd_run.c - palisade run: starts a model server in the sandbox
 * (docs/sandbox.md) and exits as it did.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "palisade/sandbox.h"

/*
 * palisade run's own failures: like docker run and env, 125 so that they
 * cannot be taken for the server's exit codes; 126 and 127 come from the
 * library when the command cannot be executed or is not found.
 */
#define RUN_FAILED 125

enum { OPT_PROFILE = 0x400, OPT_LISTEN, OPT_ENV, OPT_KEEP_FD };

struct run_opts {
	const char *profile;
	const char *listen;
	const char **env;
	size_t n_env;
	int *fds;
	size_t n_fds;
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: palisade run [--profile FILE] [--listen ADDR] "
		"[--env NAME[=VALUE]]...\n"
		"                    [--keep-fd N]... -- COMMAND [ARGS...]\n\n"
		"Runs COMMAND confined: new user, mount, PID, IPC, UTS and "
		"network namespaces,\na read-only root with only the profile's "
		"paths, a private /tmp, no\ncapabilities, no_new_privs, "
		"limits, a seccomp allowlist and Landlock.\nExits with "
		"COMMAND's status (128+S when a signal S ended it); 125 when "
		"the\nsandbox could not be set up, 126/127 when COMMAND could "
		"not be executed or\nfound.\n\n"
		"  --profile FILE     the sandbox profile (docs/sandbox.md); "
		"without it, the\n"
		"                     built-in strict profile plus COMMAND's "
		"binary and the\n"
		"                     system's library directories\n"
		"  --listen ADDR      unix:/PATH, 127.0.0.1:PORT or [::1]:PORT, "
		"bound here and\n"
		"                     handed in listening (PALISADE_LISTEN_FD; "
		"LISTEN_FDS=1\n"
		"                     when it is descriptor 3)\n"
		"  --env NAME[=VALUE] pass NAME through, or set it\n"
		"  --keep-fd N        keep descriptor N open in the sandbox\n\n"
		"The sealed memfds of 'palisade unseal --memfd -- palisade run "
		"...' are kept\nat their numbers, and PALISADE_UNSEALED passed "
		"through.\n\n"
		"palisade-run, installed beside palisade, is this command on "
		"its own: the same\noptions, a faster start "
		"(docs/sandbox.md).\n");
}

static void
warn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "palisade run: warning: %s\n", msg);
}

static int
parse_fd(const char *s, int *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v > PAL_SANDBOX_FD_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

static int
add_option(struct run_opts *o, int c, const char *arg)
{
	void *v;

	switch (c) {
	case OPT_PROFILE:
		o->profile = arg;
		return 0;
	case OPT_LISTEN:
		o->listen = arg;
		return 0;
	case OPT_ENV:
		if ((v = reallocarray(o->env, o->n_env + 1,
				      sizeof(*o->env))) == NULL)
			return -1;
		o->env = v;
		o->env[o->n_env++] = arg;
		return 0;
	case OPT_KEEP_FD:
		if ((v = reallocarray(o->fds, o->n_fds + 1,
				      sizeof(*o->fds))) == NULL)
			return -1;
		o->fds = v;
		if (parse_fd(arg, &o->fds[o->n_fds]) != 0) {
			fprintf(stderr, "palisade run: --keep-fd '%s' is not a "
				"descriptor number\n", arg);
			return -1;
		}
		o->n_fds++;
		return 0;
	default:
		return -1;
	}
}

/* Checks the command line's entries as the profile's are checked. */
static int
check_options(const struct run_opts *o, struct pal_err *err)
{
	int rc;

	for (size_t i = 0; i < o->n_env; i++)
		if ((rc = pal_sandbox_env_check(o->env[i], err)) != 0)
			return pal_err_wrap(err, rc, "--env: ");
	if (o->listen != NULL)
		return pal_sandbox_listen_check(o->listen, err);
	return 0;
}

static int
run(const struct run_opts *o, char **command)
{
	struct pal_sandbox_profile *p = NULL;
	struct pal_sandbox_spec s;
	struct pal_err err;
	int rc, status = RUN_FAILED;

	pal_err_clear(&err);
	rc = check_options(o, &err);
	if (rc == 0)
		rc = o->profile != NULL ?
		     pal_sandbox_profile_load(o->profile, &p, &err) :
		     pal_sandbox_profile_builtin(&p, &err);
	if (rc != 0) {
		fprintf(stderr, "palisade run: %s\n", err.msg);
		return RUN_FAILED;
	}
	memset(&s, 0, sizeof(s));
	s.profile = p;
	s.argv = command;
	s.listen = o->listen;
	s.env = o->env;
	s.n_env = o->n_env;
	s.fds = o->fds;
	s.n_fds = o->n_fds;
	s.builtin = o->profile == NULL;
	s.warn = warn;
	fflush(NULL);
	if (pal_sandbox_run(&s, &status, &err) != 0)
		fprintf(stderr, "palisade run: %s\n", err.msg);
	pal_sandbox_profile_free(p);
	return status;
}

int
cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "env", required_argument, NULL, OPT_ENV },
		{ "keep-fd", required_argument, NULL, OPT_KEEP_FD },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts o;
	int c, rc;

	memset(&o, 0, sizeof(o));
	optind = 1;
	/* Options are not permuted: the command's own options are its. */
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			rc = CLI_OK;
			goto out;
		}
		if (c == '?' || add_option(&o, c, optarg) != 0) {
			usage(stderr);
			rc = RUN_FAILED;
			goto out;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "palisade run: no command (palisade run "
			"[OPTIONS] -- COMMAND [ARGS...])\n");
		rc = RUN_FAILED;
		goto out;
	}
	rc = run(&o, argv + optind);
out:
	free(o.env);
	free(o.fds);
	return rc;
}
