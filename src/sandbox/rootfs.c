/*
 * rootfs.c - the sandbox's file system, built in its own mount namespace.
 *
 * Every path of the profile is cloned from the host (open_tree) and made
 * read-only, nosuid and nodev on the clone, recursively, before anything
 * is mounted: a submount of a named directory is read-only too, which a
 * bind mount followed by a read-only remount would not give.  Then a
 * small tmpfs becomes the new root, holding only the mount points, the
 * symbolic links met on the way to the paths, /proc (of the sandbox's
 * PID namespace), a /dev with null, zero, random and urandom, and a
 * private /tmp with the profile's size; pivot_root moves into it, the
 * host's tree is detached, and the root itself is remounted read-only.
 *
 * The staging point is the host's /tmp, hidden only in this namespace;
 * the clones are taken first, so a profile path under the host's /tmp is
 * still reachable, and its mount point is made in the private /tmp.  The clones' descriptors stay open after pivot_root:
 * Landlock's rules are made on them, then sbx_rootfs_close closes them.
 * Requires Linux 5.12 (mount_setattr).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox_int.h"

#define STAGE "/tmp"
#define ROOT_OPTS "size=1m,nr_inodes=4096,mode=0755"

const char *const sbx_devices[SBX_N_DEVICES] = { "null", "zero", "random",
						 "urandom" };

static const char *const dev_links[][2] = {
	{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	{ "shm", "/tmp" },
};

static int
sys_fail(struct pal_err *err, const char *what, const char *path)
{
	return pal_err_set(err, PAL_ERR_SYSTEM, "%s %s: %s", what, path,
			   strerror(errno));
}

static int
set_attr(int fd, unsigned recursive, uint64_t set, const char *path,
	 struct pal_err *err)
{
	struct mount_attr a = { .attr_set = set };

	if (mount_setattr(fd, "", AT_EMPTY_PATH | recursive, &a,
			  sizeof(a)) != 0)
		return sys_fail(err, "mount_setattr", path);
	return 0;
}

/* A detached copy of the host's tree at path, restricted by attr. */
static int
clone_tree(const char *path, uint64_t attr, int *out, struct pal_err *err)
{
	int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
			   AT_RECURSIVE);
	int rc;

	*out = -1;
	if (fd < 0)
		return sys_fail(err, "open_tree", path);
	if ((rc = set_attr(fd, AT_RECURSIVE, attr, path, err)) != 0) {
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

/* Creates the directories of rel (relative to root) up to its last '/'. */
static int
make_parents(int root, const char *rel, struct pal_err *err)
{
	char buf[4096];
	size_t n = strlen(rel);

	if (n >= sizeof(buf))
		return pal_err_set(err, PAL_ERR_LIMIT, "%s: too long", rel);
	memcpy(buf, rel, n + 1);
	for (char *s = strchr(buf, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdirat(root, buf, 0755) != 0 && errno != EEXIST)
			return sys_fail(err, "mkdir", buf);
		*s = '/';
	}
	return 0;
}

/* An empty mount point for a directory or a file at rel. */
static int
make_point(int root, const char *rel, int is_dir, struct pal_err *err)
{
	struct stat st;
	int rc;

	if ((rc = make_parents(root, rel, err)) != 0)
		return rc;
	if (is_dir) {
		if (mkdirat(root, rel, 0755) != 0 && errno != EEXIST)
			return sys_fail(err, "mkdir", rel);
		return 0;
	}
	/*
	 * One call where open and close would be two.  A file there already
	 * (the same file named twice) will do; anything else will not.
	 */
	if (mknodat(root, rel, S_IFREG | 0644, 0) == 0)
		return 0;
	if (errno == EEXIST &&
	    fstatat(root, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		return 0;
	return sys_fail(err, "create", rel);
}

static int
attach(int fd, int root, const char *rel, struct pal_err *err)
{
	if (move_mount(fd, "", root, rel, MOVE_MOUNT_F_EMPTY_PATH) != 0)
		return sys_fail(err, "move_mount", rel);
	return 0;
}

static int
build_dev(int root, const int dev_fd[], struct pal_err *err)
{
	char rel[32];
	int rc;

	if (mkdirat(root, "dev", 0755) != 0)
		return sys_fail(err, "mkdir", "dev");
	for (size_t i = 0; i < SBX_N_DEVICES; i++) {
		snprintf(rel, sizeof(rel), "dev/%s", sbx_devices[i]);
		if (mknodat(root, rel, S_IFREG | 0644, 0) != 0)
			return sys_fail(err, "create", rel);
		if ((rc = attach(dev_fd[i], root, rel, err)) != 0)
			return rc;
	}
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
		snprintf(rel, sizeof(rel), "dev/%s", dev_links[i][0]);
		if (symlinkat(dev_links[i][1], root, rel) != 0)
			return sys_fail(err, "symlink", rel);
	}
	return 0;
}

static int
build_mounts(const struct sbx_ctx *c, int root, struct pal_err *err)
{
	char opts[64];
	int rc;

	/*
	 * /proc and the private /tmp first: a profile path under the host's
	 * /tmp (a build tree there, say) gets its mount point inside the
	 * private /tmp, read-only like any other, instead of being hidden by
	 * it.
	 */
	if (mkdirat(root, "proc", 0555) != 0 || mkdirat(root, "tmp", 01777) != 0)
		return sys_fail(err, "mkdir", "proc, tmp");
	if (mount("proc", STAGE "/proc", "proc",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) != 0)
		return sys_fail(err, "mount", "/proc");
	snprintf(opts, sizeof(opts), "size=%llum,mode=1777",
		 (unsigned long long)c->profile->tmp_mib);
	if (mount("tmpfs", STAGE "/tmp", "tmpfs", MS_NOSUID | MS_NODEV |
		  MS_NOEXEC, opts) != 0)
		return sys_fail(err, "mount", "/tmp");
	for (size_t i = 0; i < c->n_binds; i++) {
		const char *rel = c->binds[i].path + 1;

		if ((rc = make_point(root, rel, c->binds[i].is_dir, err)) != 0 ||
		    (rc = attach(c->binds[i].fd, root, rel, err)) != 0)
			return rc;
	}
	for (size_t i = 0; i < c->n_links; i++) {
		const char *rel = c->links[i].path + 1;

		if ((rc = make_parents(root, rel, err)) != 0)
			return rc;
		if (symlinkat(c->links[i].target, root, rel) != 0 &&
		    errno != EEXIST)
			return sys_fail(err, "symlink", rel);
	}
	return 0;
}

static int
pivot(struct pal_err *err)
{
	if (chdir(STAGE) != 0)
		return sys_fail(err, "chdir", STAGE);
	if (syscall(SYS_pivot_root, ".", ".") != 0)
		return sys_fail(err, "pivot_root", STAGE);
	if (umount2(".", MNT_DETACH) != 0)
		return sys_fail(err, "umount", "the host's root");
	if (chdir("/") != 0)
		return sys_fail(err, "chdir", "/");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
		  MS_NOSUID | MS_NODEV, NULL) != 0)
		return sys_fail(err, "remount read-only", "/");
	return 0;
}

int
sbx_rootfs(struct sbx_ctx *c, struct pal_err *err)
{
	char path[32];
	int root = -1, rc;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return sys_fail(err, "mount --make-rprivate", "/");
	for (size_t i = 0; i < c->n_binds; i++)
		if ((rc = clone_tree(c->binds[i].path, MOUNT_ATTR_RDONLY |
				     MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				     &c->binds[i].fd, err)) != 0)
			return rc;
	for (size_t i = 0; i < SBX_N_DEVICES; i++) {
		snprintf(path, sizeof(path), "/dev/%s", sbx_devices[i]);
		rc = clone_tree(path, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
				&c->dev_fd[i], err);
		if (rc != 0)
			return rc;
	}
	if (mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, ROOT_OPTS) != 0)
		return sys_fail(err, "mount", "the new root");
	if ((root = open(STAGE, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sys_fail(err, "open", "the new root");
	if ((rc = build_dev(root, c->dev_fd, err)) == 0 &&
	    (rc = build_mounts(c, root, err)) == 0)
		rc = pivot(err);
	close(root);
	return rc;
}

void
sbx_rootfs_close(struct sbx_ctx *c)
{
	for (size_t i = 0; i < SBX_N_DEVICES; i++) {
		if (c->dev_fd[i] >= 0)
			close(c->dev_fd[i]);
		c->dev_fd[i] = -1;
	}
	for (size_t i = 0; i < c->n_binds; i++) {
		if (c->binds[i].fd >= 0)
			close(c->binds[i].fd);
		c->binds[i].fd = -1;
	}
}
