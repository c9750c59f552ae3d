/*
 * profile.c - reads a sandbox profile (docs/sandbox.md):
 *
 *	version: 1
 *	read_only: [/usr/bin/python3, /usr/lib/python3]
 *	tmp_mib: 64
 *	env: [OMP_NUM_THREADS, HF_HUB_OFFLINE=1]
 *	keep_fds: [5]
 *	limits: {memory_mib: 8192, open_files: 1024, processes: 512}
 *	syscalls: [sched_setaffinity]
 *	network: listen
 *	listen: unix:/run/palisade/model.sock
 *
 * The profile decides what a model server from elsewhere may touch, so it
 * is read with the strict YAML reader (yaml_strict.c): one document, only
 * these keys, each once, typed strictly, every error with file:line.
 * Values are checked here, before anything is started: paths absolute and
 * normalized, environment names well formed and not the ones palisade
 * run sets itself, descriptors above 2, system calls known to libseccomp
 * and none that would undo the sandbox.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <seccomp.h>

#include "palisade/file.h"
#include "palisade/sandbox.h"
#include "palisade/yaml_strict.h"
#include "sandbox_int.h"

#define PROFILE_FILE_MAX (64 * 1024)

#define DEFAULT_TMP_MIB 64
#define DEFAULT_MEMORY_MIB 4096
#define DEFAULT_OPEN_FILES 1024
#define DEFAULT_PROCESSES 256

#define PROFILE(y) ((struct pal_sandbox_profile *)(y)->ctx)
#define NF(f) PAL_YAML_NFIELDS(f)

/*
 * System calls a profile may never add: each would let the server leave
 * the sandbox or reach the kernel's least-hardened interfaces.
 */
static const char *const never_syscalls[] = {
	"unshare", "setns", "mount", "umount", "umount2", "pivot_root",
	"chroot", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount",
	"fspick", "mount_setattr", "bpf", "ptrace", "process_vm_readv",
	"process_vm_writev", "process_madvise", "pidfd_getfd", "kcmp",
	"keyctl", "add_key", "request_key", "perf_event_open",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"kexec_load", "kexec_file_load", "init_module", "finit_module",
	"delete_module", "open_by_handle_at", "name_to_handle_at",
	"userfaultfd", "clone3", "iopl", "ioperm", "modify_ldt", "reboot",
	"swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog",
	"fanotify_init", "lookup_dcookie", "uselib", "vhangup",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"sethostname", "setdomainname", "personality",
};

/* ---------------------------------------------------------------------
 * Values.
 */

int
pal_sandbox_path_check(const char *path, struct pal_err *err)
{
	size_t n = strlen(path);

	if (n == 0 || path[0] != '/')
		return pal_err_set(err, PAL_ERR_INVALID, "'%s' is not an "
				   "absolute path", path);
	if (n == 1)
		return pal_err_set(err, PAL_ERR_INVALID, "'/' would expose the "
				   "whole file system; name the directories "
				   "the server needs");
	if (n > PAL_SANDBOX_PATH_MAX)
		return pal_err_set(err, PAL_ERR_INVALID, "path longer than %d "
				   "bytes", PAL_SANDBOX_PATH_MAX);
	if (path[n - 1] == '/' || strstr(path, "//") != NULL ||
	    strstr(path, "/./") != NULL || strstr(path, "/../") != NULL ||
	    (n >= 2 && strcmp(path + n - 2, "/.") == 0) ||
	    (n >= 3 && strcmp(path + n - 3, "/..") == 0))
		return pal_err_set(err, PAL_ERR_INVALID, "'%s' is not a "
				   "normalized path (no '.', '..', repeated or "
				   "trailing '/')", path);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			return pal_err_set(err, PAL_ERR_INVALID, "path with a "
					   "control character");
	return 0;
}

/* The names palisade run sets itself; a profile cannot. */
static int
reserved_env(const char *name, size_t n)
{
	static const char *const reserved[] = {
		"PALISADE_UNSEALED", "PALISADE_LISTEN_FD", "LISTEN_FDS",
		"LISTEN_PID", "LISTEN_FDNAMES",
	};

	for (size_t i = 0; i < NF(reserved); i++)
		if (strlen(reserved[i]) == n && memcmp(reserved[i], name, n) == 0)
			return 1;
	return 0;
}

int
pal_sandbox_env_check(const char *entry, struct pal_err *err)
{
	size_t n = strcspn(entry, "=");

	if (n == 0)
		return pal_err_set(err, PAL_ERR_INVALID, "'%s' has no name",
				   entry);
	if (!((entry[0] >= 'A' && entry[0] <= 'Z') ||
	      (entry[0] >= 'a' && entry[0] <= 'z') || entry[0] == '_'))
		return pal_err_set(err, PAL_ERR_INVALID, "'%.*s' is not a "
				   "variable name", (int)n, entry);
	for (size_t i = 1; i < n; i++) {
		char c = entry[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return pal_err_set(err, PAL_ERR_INVALID, "'%.*s' is not "
					   "a variable name", (int)n, entry);
	}
	if (reserved_env(entry, n))
		return pal_err_set(err, PAL_ERR_INVALID, "'%.*s' is set by "
				   "palisade run itself", (int)n, entry);
	return 0;
}

int
pal_sandbox_syscall_check(const char *name, struct pal_err *err)
{
	for (size_t i = 0; i < NF(never_syscalls); i++)
		if (strcmp(name, never_syscalls[i]) == 0)
			return pal_err_set(err, PAL_ERR_INVALID, "'%s' can "
					   "never be allowed in the sandbox",
					   name);
	if (seccomp_syscall_resolve_name(name) == __NR_SCMP_ERROR)
		return pal_err_set(err, PAL_ERR_INVALID, "unknown system call "
				   "'%s'", name);
	return 0;
}

/* ---------------------------------------------------------------------
 * Keys.
 */

/* Runs check on the string just read; reports its place on failure. */
static int
checked(struct pal_yaml *y, const yaml_mark_t *at, const char *s,
	int (*check)(const char *, struct pal_err *))
{
	struct pal_err e;

	pal_err_clear(&e);
	if (check(s, &e) == 0)
		return 0;
	return pal_yaml_fail_path(y, at, "%s", e.msg);
}

static int
string_item(struct pal_yaml *y, size_t max,
	    int (*check)(const char *, struct pal_err *), char ***v,
	    size_t *n)
{
	yaml_mark_t at = y->ev.start_mark;
	char *s;
	int rc;

	if ((rc = pal_yaml_string(y, NULL, max, &s)) != 0)
		return rc;
	if ((rc = checked(y, &at, s, check)) != 0) {
		free(s);
		return rc;
	}
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*v)[i], s) == 0) {
			free(s);
			return pal_yaml_fail_path(y, &at, "repeated entry");
		}
	}
	return pal_yaml_push_string(y, v, n, s);
}

static int
path_item(struct pal_yaml *y, void *obj)
{
	struct pal_sandbox_profile *p = obj;

	return string_item(y, PAL_SANDBOX_PATH_MAX, pal_sandbox_path_check,
			   &p->paths, &p->n_paths);
}

static int
parse_read_only(struct pal_yaml *y, void *obj)
{
	size_t n;

	return pal_yaml_list(y, NULL, PAL_SANDBOX_MAX_PATHS, path_item, obj,
			     &n);
}

static int
env_item(struct pal_yaml *y, void *obj)
{
	struct pal_sandbox_profile *p = obj;

	return string_item(y, PAL_SANDBOX_ENV_MAX, pal_sandbox_env_check,
			   &p->env, &p->n_env);
}

static int
parse_env(struct pal_yaml *y, void *obj)
{
	size_t n;

	return pal_yaml_list(y, NULL, PAL_SANDBOX_MAX_ENV, env_item, obj, &n);
}

static int
syscall_item(struct pal_yaml *y, void *obj)
{
	struct pal_sandbox_profile *p = obj;

	return string_item(y, 64, pal_sandbox_syscall_check, &p->syscalls,
			   &p->n_syscalls);
}

static int
parse_syscalls(struct pal_yaml *y, void *obj)
{
	size_t n;

	return pal_yaml_list(y, NULL, PAL_SANDBOX_MAX_SYSCALLS, syscall_item,
			     obj, &n);
}

static int
fd_item(struct pal_yaml *y, void *obj)
{
	struct pal_sandbox_profile *p = obj;
	yaml_mark_t at = y->ev.start_mark;
	uint64_t v;
	void *nv = p->fds;
	int rc;

	if ((rc = pal_yaml_uint(y, NULL, 3, PAL_SANDBOX_FD_MAX, &v)) != 0)
		return rc;
	for (size_t i = 0; i < p->n_fds; i++)
		if (p->fds[i] == (int)v)
			return pal_yaml_fail_path(y, &at, "repeated entry");
	if ((rc = pal_yaml_grow(y, &nv, p->n_fds, sizeof(*p->fds))) != 0)
		return rc;
	p->fds = nv;
	p->fds[p->n_fds++] = (int)v;
	return 0;
}

static int
parse_keep_fds(struct pal_yaml *y, void *obj)
{
	size_t n;

	return pal_yaml_list(y, NULL, PAL_SANDBOX_MAX_FDS, fd_item, obj, &n);
}

static int
parse_tmp_mib(struct pal_yaml *y, void *obj)
{
	struct pal_sandbox_profile *p = obj;

	return pal_yaml_uint(y, NULL, 1, 1u << 20, &p->tmp_mib);
}

static int
parse_memory(struct pal_yaml *y, void *obj)
{
	struct pal_sandbox_profile *p = obj;

	return pal_yaml_uint(y, NULL, 16, UINT64_C(1) << 30, &p->memory_mib);
}

static int
parse_open_files(struct pal_yaml *y, void *obj)
{
	struct pal_sandbox_profile *p = obj;

	return pal_yaml_uint(y, NULL, 16, 1u << 20, &p->open_files);
}

static int
parse_processes(struct pal_yaml *y, void *obj)
{
	struct pal_sandbox_profile *p = obj;

	return pal_yaml_uint(y, NULL, 1, 1u << 22, &p->processes);
}

static int
parse_limits(struct pal_yaml *y, void *obj)
{
	static const struct pal_yaml_field fields[] = {
		{ "memory_mib", parse_memory, NULL },
		{ "open_files", parse_open_files, NULL },
		{ "processes", parse_processes, NULL },
	};

	return pal_yaml_mapping(y, fields, NF(fields), NULL, obj);
}

static int
parse_network(struct pal_yaml *y, void *obj)
{
	static const char *const names[] = { "listen", "none" };
	struct pal_sandbox_profile *p = obj;
	int v, rc;

	if ((rc = pal_yaml_enum(y, NULL, names, NF(names), &v)) != 0)
		return rc;
	p->network = v == 1 ? PAL_SANDBOX_NET_NONE : PAL_SANDBOX_NET_LISTEN;
	return 0;
}

static int
parse_listen(struct pal_yaml *y, void *obj)
{
	struct pal_sandbox_profile *p = obj;
	yaml_mark_t at = y->ev.start_mark;
	int rc;

	if ((rc = pal_yaml_string(y, NULL, PAL_SANDBOX_PATH_MAX,
				  &p->listen)) != 0)
		return rc;
	return checked(y, &at, p->listen, pal_sandbox_listen_check);
}

static int
parse_version(struct pal_yaml *y, void *obj)
{
	(void)obj;
	return pal_yaml_version(y, 1);
}

/* ---------------------------------------------------------------------
 * The profile.
 */

static int
profile_new(const char *name, struct pal_sandbox_profile **out,
	    struct pal_err *err)
{
	struct pal_sandbox_profile *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL || (p->name = strdup(name)) == NULL) {
		free(p);
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	p->tmp_mib = DEFAULT_TMP_MIB;
	p->memory_mib = DEFAULT_MEMORY_MIB;
	p->open_files = DEFAULT_OPEN_FILES;
	p->processes = DEFAULT_PROCESSES;
	p->network = PAL_SANDBOX_NET_LISTEN;
	*out = p;
	return 0;
}

int
pal_sandbox_profile_parse(const uint8_t *yaml, size_t len, const char *name,
			  struct pal_sandbox_profile **out,
			  struct pal_err *err)
{
	static const struct pal_yaml_field fields[] = {
		{ "version", parse_version, "the profile has no 'version'" },
		{ "read_only", parse_read_only, NULL },
		{ "tmp_mib", parse_tmp_mib, NULL },
		{ "env", parse_env, NULL },
		{ "keep_fds", parse_keep_fds, NULL },
		{ "limits", parse_limits, NULL },
		{ "syscalls", parse_syscalls, NULL },
		{ "network", parse_network, NULL },
		{ "listen", parse_listen, NULL },
	};
	struct pal_sandbox_profile *p;
	struct pal_yaml y;
	int rc;

	*out = NULL;
	if ((rc = profile_new(name, &p, err)) != 0)
		return rc;
	rc = pal_yaml_begin(&y, yaml, len, name, p, err);
	if (rc == 0)
		rc = pal_yaml_document(&y, fields, NF(fields), NULL,
				       "empty profile", 1, p);
	if (rc == 0 && p->network == PAL_SANDBOX_NET_NONE && p->listen != NULL)
		rc = pal_err_set(err, PAL_ERR_POLICY, "%s: 'listen' with "
				 "'network: none'", name);
	pal_yaml_end(&y);
	if (rc != 0) {
		pal_sandbox_profile_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int
pal_sandbox_profile_load(const char *path, struct pal_sandbox_profile **out,
			 struct pal_err *err)
{
	uint8_t *text = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = pal_file_read(path, PROFILE_FILE_MAX, &text, &len, err)) != 0)
		return pal_err_wrap(err, rc, "profile %s: ", path);
	rc = pal_sandbox_profile_parse(text, len, path, out, err);
	free(text);
	return rc;
}

int
pal_sandbox_profile_builtin(struct pal_sandbox_profile **out,
			    struct pal_err *err)
{
	return profile_new("built-in", out, err);
}

int
pal_sandbox_profile_add_path(struct pal_sandbox_profile *p, const char *path,
			     struct pal_err *err)
{
	char *s;
	void *nv;
	int rc;

	if ((rc = pal_sandbox_path_check(path, err)) != 0)
		return rc;
	for (size_t i = 0; i < p->n_paths; i++)
		if (strcmp(p->paths[i], path) == 0)
			return 0;
	if (p->n_paths >= PAL_SANDBOX_MAX_PATHS * 2)
		return pal_err_set(err, PAL_ERR_LIMIT, "too many paths");
	nv = reallocarray(p->paths, p->n_paths + 1, sizeof(*p->paths));
	if (nv == NULL || (s = strdup(path)) == NULL) {
		if (nv != NULL)
			p->paths = nv;
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	p->paths = nv;
	p->paths[p->n_paths++] = s;
	return 0;
}

static void
free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
pal_sandbox_profile_free(struct pal_sandbox_profile *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free_strings(p->paths, p->n_paths);
	free_strings(p->env, p->n_env);
	free_strings(p->syscalls, p->n_syscalls);
	free(p->fds);
	free(p->listen);
	free(p);
}
