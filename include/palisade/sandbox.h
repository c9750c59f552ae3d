/*
 * sandbox.h - confinement of Palisade's own processes.
 */
#ifndef PALISADE_SANDBOX_H
#define PALISADE_SANDBOX_H

#include <stdint.h>

#include "palisade/error.h"

/*
 * Confines the calling process, for good, to what a scanner that already
 * holds its inputs open needs: reading, mapping memory without execute
 * permission, writing to standard output and error, and exiting.  Sets
 * no_new_privs, then loads a seccomp allowlist.  Executing programs,
 * creating processes or threads, opening sockets and tracing are fatal
 * (SIGSYS); any other unlisted call fails with EPERM.
 */
int pal_sandbox_scanner(struct pal_err *err);

/*
 * Caps the process's address space at bytes (RLIMIT_AS), so that an
 * allocation sized from a hostile count fails instead of succeeding.
 * Never raises an existing limit.  A no-op in sanitizer builds.
 */
int pal_sandbox_limit_memory(uint64_t bytes, struct pal_err *err);

/* ---------------------------------------------------------------------
 * palisade run: a model server confined (docs/sandbox.md).
 */

#define PAL_SANDBOX_MAX_PATHS 128	/* read_only entries */
#define PAL_SANDBOX_MAX_ENV 64		/* env entries */
#define PAL_SANDBOX_MAX_FDS 64		/* keep_fds entries */
#define PAL_SANDBOX_MAX_SYSCALLS 64	/* syscalls entries */
#define PAL_SANDBOX_PATH_MAX 1024	/* bytes of a path */
#define PAL_SANDBOX_ENV_MAX 4096	/* bytes of an env entry */
#define PAL_SANDBOX_FD_MAX 65535	/* highest descriptor a profile keeps */

enum pal_sandbox_net {
	PAL_SANDBOX_NET_LISTEN = 0,	/* the listening socket, if one is given */
	PAL_SANDBOX_NET_NONE = 1,	/* nothing, not even a listening socket */
};

/*
 * A profile: what the sandbox exposes.  Every string is owned by the
 * profile.  paths are absolute, normalized (no "." or ".." component, no
 * repeated or trailing '/'), never "/"; env entries are NAME or
 * NAME=VALUE; syscalls are names libseccomp knows for this architecture.
 * A limit of 0 leaves the one palisade run inherited.
 */
struct pal_sandbox_profile {
	char *name;			/* the file, or "built-in" */
	char **paths;			/* read-only (and executable) */
	size_t n_paths;
	char **env;
	size_t n_env;
	int *fds;			/* kept at their numbers, all >= 3 */
	size_t n_fds;
	char **syscalls;		/* allowed beyond the built-in list */
	size_t n_syscalls;
	uint64_t tmp_mib;		/* size of the private /tmp */
	uint64_t memory_mib;		/* RLIMIT_AS */
	uint64_t open_files;		/* RLIMIT_NOFILE */
	uint64_t processes;		/* RLIMIT_NPROC, in the sandbox */
	enum pal_sandbox_net network;
	char *listen;			/* address, or NULL */
};

/*
 * Reads a profile from yaml[0..len), a file called name (for messages:
 * "name:line:column: ..."); *out is the profile, caller frees.  Errors
 * are PAL_ERR_POLICY with the place, or PAL_ERR_NOMEM.
 */
int pal_sandbox_profile_parse(const uint8_t *yaml, size_t len,
			      const char *name,
			      struct pal_sandbox_profile **out,
			      struct pal_err *err);

/* Reads the profile file at path (at most 64 KiB). */
int pal_sandbox_profile_load(const char *path,
			     struct pal_sandbox_profile **out,
			     struct pal_err *err);

/*
 * The built-in profile for a command without --profile: the strict
 * defaults (no paths, a 64 MiB /tmp, the default limits), to which
 * palisade run adds the command's binary, its interpreter and the
 * system's library directories.  Caller frees.
 */
int pal_sandbox_profile_builtin(struct pal_sandbox_profile **out,
				struct pal_err *err);

/* Adds an absolute path (checked as the profile's are) to p. */
int pal_sandbox_profile_add_path(struct pal_sandbox_profile *p,
				 const char *path, struct pal_err *err);

void pal_sandbox_profile_free(struct pal_sandbox_profile *p);

/*
 * Checks a listening address: "unix:/absolute/path" or a loopback
 * "127.x.y.z:PORT" or "[::1]:PORT".
 */
int pal_sandbox_listen_check(const char *addr, struct pal_err *err);

/*
 * An environment entry, NAME or NAME=VALUE: a well-formed name that is
 * not one palisade run sets itself (PALISADE_UNSEALED, PALISADE_LISTEN_FD,
 * LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES).
 */
int pal_sandbox_env_check(const char *entry, struct pal_err *err);

/* What palisade run is asked to start. */
struct pal_sandbox_spec {
	const struct pal_sandbox_profile *profile;
	char *const *argv;		/* the command; argv[0] found on PATH */
	const char *listen;		/* overrides the profile's; NULL: its */
	const char *const *env;		/* more NAME or NAME=VALUE entries */
	size_t n_env;
	const int *fds;			/* more descriptors to keep */
	size_t n_fds;
	int builtin;			/* add the command's binary and libraries */
	/* Told each way the confinement is weaker than asked, once. */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
};

/*
 * Runs spec's command in the sandbox and waits for it.  On return 0,
 * *status is what a shell would say: the command's exit code, or 128+S
 * when a signal S ended it.  A negative return means the sandbox could
 * not be set up or the command not started, err says why, and *status is
 * 125 (palisade run failed), 126 (the command could not be executed) or
 * 127 (not found).  The process must be single-threaded.
 */
int pal_sandbox_run(const struct pal_sandbox_spec *spec, int *status,
		    struct pal_err *err);

#endif
