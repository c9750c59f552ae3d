/*
 * seccomp_run.c - the sandbox's seccomp programs: chosen in the parent,
 * loaded in the sandbox.
 *
 * The rules are in seccomp_rules.c.  A profile that allows no more calls
 * (the built-in one, and most) gets the BPF programs made from those
 * rules when Palisade was built (tools/seccomp_bpf.c writes
 * seccomp_bpf.h in the build directory; tests/unit/test_sandbox_seccomp.c
 * checks that they are what the rules make now), so that starting the
 * sandbox costs no compilation.  A profile with 'syscalls' has its
 * programs made by libseccomp at start, in the parent.  The sandbox
 * loads both with seccomp(2), the arguments program first, with no flag:
 * what libseccomp's seccomp_load would do with the same programs.
 */
#include <errno.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox_int.h"
#include "seccomp_bpf.h"	/* sbx_bpf_main[], sbx_bpf_args[] */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void
sbx_seccomp_builtin(struct sock_fprog *prog_main, struct sock_fprog *prog_args)
{
	/* The kernel only reads the programs: they stay in read-only data. */
	prog_main->len = (unsigned short)COUNT(sbx_bpf_main);
	prog_main->filter = (struct sock_filter *)(uintptr_t)sbx_bpf_main;
	prog_args->len = (unsigned short)COUNT(sbx_bpf_args);
	prog_args->filter = (struct sock_filter *)(uintptr_t)sbx_bpf_args;
}

int
sbx_seccomp_build(struct sbx_ctx *c, struct pal_err *err)
{
	const struct pal_sandbox_profile *p = c->profile;

	if (p->n_syscalls == 0) {
		sbx_seccomp_builtin(&c->bpf_main, &c->bpf_args);
		return 0;
	}
	c->bpf_owned = 1;
	return sbx_seccomp_compile(p->syscalls, p->n_syscalls, &c->bpf_main,
				   &c->bpf_args, err);
}

static int
load(const struct sock_fprog *prog, const char *what, struct pal_err *err)
{
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM, "seccomp: load %s: %s",
				   what, strerror(errno));
	return 0;
}

int
sbx_seccomp_load(const struct sbx_ctx *c, struct pal_err *err)
{
	int rc;

	if ((rc = load(&c->bpf_args, "the arguments filter", err)) != 0)
		return rc;
	return load(&c->bpf_main, "the allowlist", err);
}

void
sbx_seccomp_free(struct sbx_ctx *c)
{
	if (c->bpf_owned) {
		free(c->bpf_main.filter);
		free(c->bpf_args.filter);
	}
	memset(&c->bpf_main, 0, sizeof(c->bpf_main));
	memset(&c->bpf_args, 0, sizeof(c->bpf_args));
	c->bpf_owned = 0;
}
