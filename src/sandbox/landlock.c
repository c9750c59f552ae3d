/*
 * landlock.c - Landlock rules, as far as the running kernel offers them.
 *
 * The mount namespace already hides everything the profile does not name;
 * Landlock restates it on the inodes themselves, so that a mistake in the
 * mounts or a descriptor that leads out of them (an O_PATH left open, a
 * /proc link) still finds no access: read and execute on the profile's
 * paths, read on /proc, read and write on the four devices, everything
 * but execute and device nodes on /tmp.  From ABI 4 TCP bind and connect
 * are refused except binding the listening port; from ABI 6 abstract
 * Unix sockets and signals are scoped to the sandbox.
 *
 * The ABI is probed once, in the parent; every right a lower ABI lacks is
 * reported through the caller's warning callback, never left out in
 * silence.  The constants of ABI 3 and later are defined here because the
 * build's kernel headers may be older than the kernel it runs on.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox_int.h"

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif

#define LL_FS_TRUNCATE (1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15)	/* ABI 5 */
#define LL_NET_BIND_TCP (1ULL << 0)	/* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2

/* The ruleset attribute of ABI 6; the kernel reads what it knows. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port {
	uint64_t allowed_access;
	uint64_t port;
};

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_FILE_ONLY (LANDLOCK_ACCESS_FS_EXECUTE | \
		      LANDLOCK_ACCESS_FS_WRITE_FILE | \
		      LANDLOCK_ACCESS_FS_READ_FILE | LL_FS_TRUNCATE | \
		      LL_FS_IOCTL_DEV)

int
sbx_landlock_abi(void)
{
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

/* Every file-system right the ABI knows. */
static uint64_t
fs_handled(int abi)
{
	uint64_t a = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* ABI 1 */

	if (abi >= 2)
		a |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		a |= LL_FS_TRUNCATE;
	if (abi >= 5)
		a |= LL_FS_IOCTL_DEV;
	return a;
}

static void
warn(const struct pal_sandbox_spec *s, const char *msg)
{
	if (s->warn != NULL)
		s->warn(s->warn_ctx, msg);
}

void
sbx_landlock_report(const struct sbx_ctx *c, const struct pal_sandbox_spec *s)
{
	char msg[256];
	int abi = c->landlock_abi;

	if (abi == 0) {
		warn(s, "Landlock is not available in this kernel: file access "
		     "is confined by the mount namespace alone, TCP by the "
		     "network namespace alone, signals and abstract sockets by "
		     "the PID and network namespaces alone");
		return;
	}
	if (abi < 3) {
		snprintf(msg, sizeof(msg), "Landlock ABI %d: truncating files "
			 "outside /tmp is not refused by Landlock (the read-only "
			 "mounts still refuse it)", abi);
		warn(s, msg);
	}
	if (abi < 4) {
		snprintf(msg, sizeof(msg), "Landlock ABI %d: TCP bind and "
			 "connect are not restricted by Landlock (the network "
			 "namespace still has no way out)", abi);
		warn(s, msg);
	}
	if (abi < 5) {
		snprintf(msg, sizeof(msg), "Landlock ABI %d: ioctl on the "
			 "sandbox's devices is not restricted by Landlock", abi);
		warn(s, msg);
	}
	if (abi < 6) {
		snprintf(msg, sizeof(msg), "Landlock ABI %d: abstract Unix "
			 "sockets and signals are not scoped by Landlock (the "
			 "network and PID namespaces still separate them)", abi);
		warn(s, msg);
	}
}

/* A rule on the file or directory fd refers to (what names it). */
static int
allow_fd(int ruleset, int fd, int is_dir, const char *what, uint64_t access,
	 uint64_t handled, struct pal_err *err)
{
	struct ll_path_beneath pb;

	/* Rights on directories only are refused for files. */
	if (!is_dir)
		access &= FS_FILE_ONLY;
	pb.allowed_access = access & handled;
	pb.parent_fd = fd;
	if (syscall(__NR_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb,
		    0) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM, "landlock: rule for "
				   "%s: %s", what, strerror(errno));
	return 0;
}

static int
allow_path(int ruleset, const char *path, int is_dir, uint64_t access,
	   uint64_t handled, struct pal_err *err)
{
	int fd = open(path, O_PATH | O_CLOEXEC), rc;

	if (fd < 0)
		return pal_err_set(err, PAL_ERR_SYSTEM, "landlock: open %s: %s",
				   path, strerror(errno));
	rc = allow_fd(ruleset, fd, is_dir, path, access, handled, err);
	close(fd);
	return rc;
}

/*
 * The profile's paths and the devices get their rules through the
 * descriptors of the mounts rootfs.c made (the same files, without
 * looking their paths up again); the sandbox's own directories by path.
 */
static int
add_rules(const struct sbx_ctx *c, int ruleset, uint64_t handled,
	  struct pal_err *err)
{
	uint64_t ro = FS_READ | LANDLOCK_ACCESS_FS_EXECUTE;
	uint64_t dev = LANDLOCK_ACCESS_FS_READ_FILE |
		       LANDLOCK_ACCESS_FS_WRITE_FILE | LL_FS_TRUNCATE;
	uint64_t tmp = handled & ~(LANDLOCK_ACCESS_FS_EXECUTE |
				   LANDLOCK_ACCESS_FS_MAKE_CHAR |
				   LANDLOCK_ACCESS_FS_MAKE_BLOCK |
				   LL_FS_IOCTL_DEV);
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < c->n_binds; i++)
		rc = allow_fd(ruleset, c->binds[i].fd, c->binds[i].is_dir,
			      c->binds[i].path, ro, handled, err);
	/* The root holds only mount points: listing it shows nothing more. */
	if (rc == 0)
		rc = allow_path(ruleset, "/", 1, LANDLOCK_ACCESS_FS_READ_DIR,
				handled, err);
	if (rc == 0)
		rc = allow_path(ruleset, "/proc", 1, FS_READ, handled, err);
	if (rc == 0)
		rc = allow_path(ruleset, "/dev", 1, LANDLOCK_ACCESS_FS_READ_DIR,
				handled, err);
	for (size_t i = 0; rc == 0 && i < SBX_N_DEVICES; i++) {
		char what[32];

		snprintf(what, sizeof(what), "/dev/%s", sbx_devices[i]);
		rc = allow_fd(ruleset, c->dev_fd[i], 0, what, dev, handled,
			      err);
	}
	if (rc == 0)
		rc = allow_path(ruleset, "/tmp", 1, tmp, handled, err);
	if (rc == 0 && c->landlock_abi >= 4 && c->listen_port > 0) {
		struct ll_net_port np = { .allowed_access = LL_NET_BIND_TCP,
			.port = (uint64_t)c->listen_port };

		if (syscall(__NR_landlock_add_rule, ruleset, LL_RULE_NET_PORT,
			    &np, 0) != 0)
			rc = pal_err_set(err, PAL_ERR_SYSTEM, "landlock: port "
					 "rule: %s", strerror(errno));
	}
	return rc;
}

int
sbx_landlock_apply(const struct sbx_ctx *c, struct pal_err *err)
{
	struct ll_ruleset_attr attr = { 0 };
	size_t size = sizeof(attr.handled_access_fs);
	int abi = c->landlock_abi, ruleset, rc;

	if (abi == 0)
		return 0;
	attr.handled_access_fs = fs_handled(abi);
	if (abi >= 4) {
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
	if (ruleset < 0)
		return pal_err_set(err, PAL_ERR_SYSTEM, "landlock: ruleset: %s",
				   strerror(errno));
	rc = add_rules(c, ruleset, attr.handled_access_fs, err);
	if (rc == 0 && syscall(__NR_landlock_restrict_self, ruleset, 0) != 0)
		rc = pal_err_set(err, PAL_ERR_SYSTEM, "landlock: restrict: %s",
				 strerror(errno));
	close(ruleset);
	return rc;
}
