/*
 * sandbox_int.h - what the files of palisade run's sandbox share.
 *
 * pal_sandbox_run (run.c) prepares everything it can in the parent, on
 * the host, before the sandbox exists: the profile's paths resolved
 * (paths.c), the listening socket bound (listen.c), the descriptors to
 * keep and the environment (fds.c), the seccomp programs chosen or made
 * (seccomp_run.c), the Landlock ABI probed (landlock.c).  The child,
 * PID 1 of the new namespaces, then only applies them: the new root
 * (rootfs.c), the identities, capabilities and limits (creds.c),
 * Landlock and seccomp, and execs the server from a forked child while it
 * waits as the namespace's init.  Nothing in the child reads a file it
 * does not have to, so that start-up stays fast.
 */
#ifndef PAL_SANDBOX_INT_H
#define PAL_SANDBOX_INT_H

#include <linux/filter.h>
#include <stddef.h>
#include <sys/types.h>

#include "palisade/error.h"
#include "palisade/sandbox.h"

/* A host path shown read-only in the sandbox at the same place. */
struct sbx_bind {
	char *path;		/* real: no symbolic link in it */
	int is_dir;
	int fd;			/* the cloned mount (child), or -1 */
};

/* The devices of the sandbox's /dev, bound from the host's. */
#define SBX_N_DEVICES 4
extern const char *const sbx_devices[SBX_N_DEVICES];

/* A symbolic link met on the way to a bind, recreated in the root. */
struct sbx_link {
	char *path;		/* where it is (real parent directory) */
	char *target;		/* what it says */
};

struct sbx_ctx {
	const struct pal_sandbox_profile *profile;
	char **extra;		/* paths added for the built-in profile */
	size_t n_extra;

	struct sbx_bind *binds;
	size_t n_binds;
	int dev_fd[SBX_N_DEVICES];	/* the devices' mounts (child), or -1 */
	struct sbx_link *links;
	size_t n_links;

	/* The identity inside, the same numbers outside. */
	uid_t uid;
	gid_t gid;
	int outer_root;		/* palisade run is root: run as nobody */

	/* Descriptors. */
	int listen_fd;		/* bound in the parent, or -1 */
	int listen_target;	/* its number in the sandbox */
	int listen_port;	/* TCP port, or 0 for a Unix socket */
	char *listen_unix;	/* the socket file to remove at the end */
	int *keep;		/* numbers kept, sorted, >= 3 */
	size_t n_keep;

	/* What is executed. */
	char *exe;		/* absolute, found on the sandbox's PATH */
	char *const *argv;
	char **envp;		/* NULL-terminated, owned */
	size_t listen_pid_at;	/* index of LISTEN_PID in envp, or SIZE_MAX */

	int landlock_abi;	/* 0: none */
	struct sock_fprog bpf_main;	/* seccomp: the allowlist */
	struct sock_fprog bpf_args;	/* seccomp: fatal arguments */
	int bpf_owned;		/* made at start (free them), not built in */

	/* Pipes between the parent and the child. */
	int sync_r, sync_w;	/* go, then the parent's lifeline */
	int err_r, err_w;	/* a failure before exec, CLOEXEC */
};

/* Checks used by the profile reader and by the command line. */
int pal_sandbox_path_check(const char *path, struct pal_err *err);
int pal_sandbox_syscall_check(const char *name, struct pal_err *err);

/* paths.c: resolves every path of the profile on the host. */
int sbx_paths_resolve(struct sbx_ctx *c, struct pal_err *err);
/* The absolute path of name on the sandbox's PATH, host-side. */
int sbx_find_exe(const char *name, const char *path_env, char **out,
		 struct pal_err *err);
/* What the built-in profile adds for exe: it, its #! interpreter, libs. */
int sbx_builtin_paths(struct sbx_ctx *c, const char *exe,
		      struct pal_err *err);

/* listen.c: binds addr in the host's network namespace. */
int sbx_listen_open(struct sbx_ctx *c, const char *addr,
		    struct pal_err *err);

/* fds.c: descriptors and environment. */
int sbx_fds_collect(struct sbx_ctx *c, const struct pal_sandbox_spec *s,
		    struct pal_err *err);
/* After the listening socket is open: its number in the sandbox. */
int sbx_fds_listen_target(struct sbx_ctx *c, struct pal_err *err);
int sbx_fds_is_kept(const struct sbx_ctx *c, int fd);
int sbx_env_build(struct sbx_ctx *c, const struct pal_sandbox_spec *s,
		  struct pal_err *err);
/* Child: moves the listening socket, closes everything not kept. */
int sbx_fds_layout(struct sbx_ctx *c, struct pal_err *err);

/*
 * rootfs.c (child): the new root, then pivot_root into it.  The mounts'
 * descriptors (binds[].fd, dev_fd[]) stay open for Landlock's rules, on
 * the very files mounted; sbx_rootfs_close closes them.
 */
int sbx_rootfs(struct sbx_ctx *c, struct pal_err *err);
void sbx_rootfs_close(struct sbx_ctx *c);

/* creds.c (child). */
int sbx_ids_enter(const struct sbx_ctx *c, struct pal_err *err);
int sbx_caps_drop(struct pal_err *err);
int sbx_rlimits(const struct sbx_ctx *c, struct pal_err *err);

/* landlock.c. */
int sbx_landlock_abi(void);
void sbx_landlock_report(const struct sbx_ctx *c,
			 const struct pal_sandbox_spec *s);
int sbx_landlock_apply(const struct sbx_ctx *c, struct pal_err *err);

/*
 * seccomp_rules.c: the BPF programs libseccomp makes of the rules, with
 * the profile's extra calls; caller frees each filter.
 */
int sbx_seccomp_compile(char *const *syscalls, size_t n_syscalls,
			struct sock_fprog *prog_main,
			struct sock_fprog *prog_args, struct pal_err *err);

/* seccomp_run.c. */
/* The programs made at build time for a profile without 'syscalls'. */
void sbx_seccomp_builtin(struct sock_fprog *prog_main,
			 struct sock_fprog *prog_args);
int sbx_seccomp_build(struct sbx_ctx *c, struct pal_err *err);
int sbx_seccomp_load(const struct sbx_ctx *c, struct pal_err *err);
void sbx_seccomp_free(struct sbx_ctx *c);

#endif
