/*
 * fuzz_sandbox_profile.c - the sandbox profile reader (profile.c).
 * Whatever the bytes: a parse either fails with err set to its code and,
 * unless memory ran out, a message naming the file, and no profile; or it
 * yields a profile that keeps every promise of sandbox.h: counts within
 * limits, paths absolute and normalized and never "/", environment
 * entries that pass the command line's check, descriptors from 3 up,
 * known system calls, a listening address that checks, and 'listen' only
 * with 'network: listen'.
 */
#include <seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/sandbox.h"

#define NAME "fuzz.yaml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_path(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n < 2 || n > PAL_SANDBOX_PATH_MAX || s[0] != '/' ||
	    s[n - 1] == '/' || strstr(s, "//") != NULL ||
	    strstr(s, "/./") != NULL || strstr(s, "/../") != NULL ||
	    strcmp(s + n - 2, "/.") == 0 ||
	    (n >= 3 && strcmp(s + n - 3, "/..") == 0))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

static void
check(const struct pal_sandbox_profile *p)
{
	struct pal_err err;

	if (p->n_paths > PAL_SANDBOX_MAX_PATHS ||
	    p->n_env > PAL_SANDBOX_MAX_ENV || p->n_fds > PAL_SANDBOX_MAX_FDS ||
	    p->n_syscalls > PAL_SANDBOX_MAX_SYSCALLS ||
	    strcmp(p->name, NAME) != 0 || p->tmp_mib < 1 ||
	    (p->network != PAL_SANDBOX_NET_LISTEN &&
	     p->network != PAL_SANDBOX_NET_NONE) ||
	    (p->listen != NULL && (p->network != PAL_SANDBOX_NET_LISTEN ||
				   pal_sandbox_listen_check(p->listen,
							    &err) != 0)))
		abort();
	for (size_t i = 0; i < p->n_paths; i++) {
		check_path(p->paths[i]);
		for (size_t k = 0; k < i; k++)
			if (strcmp(p->paths[i], p->paths[k]) == 0)
				abort();
	}
	for (size_t i = 0; i < p->n_env; i++)
		if (pal_sandbox_env_check(p->env[i], &err) != 0)
			abort();
	for (size_t i = 0; i < p->n_fds; i++)
		if (p->fds[i] < 3 || p->fds[i] > PAL_SANDBOX_FD_MAX)
			abort();
	for (size_t i = 0; i < p->n_syscalls; i++)
		if (seccomp_syscall_resolve_name(p->syscalls[i]) ==
		    __NR_SCMP_ERROR)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_sandbox_profile *p = (struct pal_sandbox_profile *)&size;
	struct pal_err err;
	int rc;

	pal_err_clear(&err);
	rc = pal_sandbox_profile_parse(data, size, NAME, &p, &err);
	if (rc != 0) {
		if (p != NULL || err.code != rc ||
		    (rc != PAL_ERR_NOMEM && strncmp(err.msg, NAME ":", 10) != 0))
			abort();
		return 0;
	}
	if (p == NULL)
		abort();
	check(p);
	pal_sandbox_profile_free(p);
	return 0;
}
