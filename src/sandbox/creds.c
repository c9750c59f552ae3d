/*
 * creds.c - who the server is in the sandbox, and what it may not become.
 *
 * The sandbox's user namespace maps exactly one user and one group.  For
 * an unprivileged caller that is the caller itself (the kernel allows
 * nothing else); for root it is nobody (65534), so that the server owns
 * no file on the host and root's supplementary groups are dropped.  The
 * namespace grants its creator every capability inside it: they are used
 * to build the mounts and then all dropped, from the bounding, ambient,
 * effective, permitted and inheritable sets, with the securebits locked
 * so that no uid change or exec can give any back.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox_int.h"

#define SECBIT_NOROOT (1 << 0)
#define SECBIT_NOROOT_LOCKED (1 << 1)
#define SECBIT_NO_SETUID_FIXUP (1 << 2)
#define SECBIT_NO_SETUID_FIXUP_LOCKED (1 << 3)
#define SECBIT_KEEP_CAPS_LOCKED (1 << 5)
#define SECBIT_NO_CAP_AMBIENT_RAISE (1 << 6)
#define SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED (1 << 7)

#define MAX_CAPS 64

static int
sys_fail(struct pal_err *err, const char *what)
{
	return pal_err_set(err, PAL_ERR_SYSTEM, "%s: %s", what,
			   strerror(errno));
}

int
sbx_ids_enter(const struct sbx_ctx *c, struct pal_err *err)
{
	/* Keep the namespace's capabilities across the change of uid. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		return sys_fail(err, "PR_SET_KEEPCAPS");
	if (c->outer_root && setgroups(0, NULL) != 0)
		return sys_fail(err, "setgroups");
	if (setresgid(c->gid, c->gid, c->gid) != 0)
		return sys_fail(err, "setresgid");
	if (setresuid(c->uid, c->uid, c->uid) != 0)
		return sys_fail(err, "setresuid");
	return 0;
}

int
sbx_caps_drop(struct pal_err *err)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	int bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		   SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
		   SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
		   SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;

	/* The bounding set first: dropping from it needs CAP_SETPCAP. */
	for (int cap = 0; cap < MAX_CAPS; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL)
			break;
		return sys_fail(err, "PR_CAPBSET_DROP");
	}
	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0)
		return sys_fail(err, "PR_SET_SECUREBITS");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		return sys_fail(err, "PR_CAP_AMBIENT_CLEAR_ALL");
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) != 0)
		return sys_fail(err, "capset");
	return 0;
}

static int
limit(int resource, uint64_t v, const char *what, struct pal_err *err)
{
	struct rlimit r;

	/* Never raised: a hard limit above the current one would fail. */
	if (getrlimit(resource, &r) == 0 && r.rlim_max != RLIM_INFINITY &&
	    v > (uint64_t)r.rlim_max)
		v = (uint64_t)r.rlim_max;
	r.rlim_cur = (rlim_t)v;
	r.rlim_max = (rlim_t)v;
	if (setrlimit(resource, &r) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM, "setrlimit %s %llu: %s",
				   what, (unsigned long long)v,
				   strerror(errno));
	return 0;
}

int
sbx_rlimits(const struct sbx_ctx *c, struct pal_err *err)
{
	const struct pal_sandbox_profile *p = c->profile;
	int rc = limit(RLIMIT_CORE, 0, "core", err);

	if (rc == 0 && p->memory_mib > 0)
		rc = limit(RLIMIT_AS, p->memory_mib << 20, "memory", err);
	if (rc == 0 && p->open_files > 0)
		rc = limit(RLIMIT_NOFILE, p->open_files, "open_files", err);
	if (rc == 0 && p->processes > 0)
		rc = limit(RLIMIT_NPROC, p->processes, "processes", err);
	return rc;
}
