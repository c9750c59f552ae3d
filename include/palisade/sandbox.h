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

#endif
