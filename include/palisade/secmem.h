/*
 * secmem.h - memory for secrets: data keys, unwrapped key bytes, PINs
 * held for longer than one call.
 *
 * Each allocation is its own anonymous private mapping: whole pages, the
 * data starting on a page boundary, between two inaccessible guard pages
 * (PROT_NONE), so that a linear overrun or underrun faults instead of
 * reading or writing a neighbour.  The data pages are
 *
 *   - locked into RAM with mlock(), so they are never written to swap.
 *     When the kernel refuses (RLIMIT_MEMLOCK, "ulimit -l", is exhausted:
 *     EPERM, ENOMEM or EAGAIN) the allocation still succeeds, unlocked;
 *     pal_secmem_locked() says which, so that a caller may warn or refuse;
 *   - excluded from core dumps (madvise MADV_DONTDUMP);
 *   - zeroed in a child after fork() (madvise MADV_WIPEONFORK, Linux 4.14),
 *     so that a process forked to run something else does not inherit the
 *     key.  The child sees zeros, not the key.
 *
 * A failure of either madvise() is an error, not a degradation: a secret
 * that may land in a core dump or in a child is worse than no secret.
 *
 * pal_secmem_free() wipes every data page with OPENSSL_cleanse(), unlocks
 * and unmaps; NULL is a no-op.  The bytes are never copied by this module.
 *
 * What it does not do: it cannot stop a process with the same uid (or
 * ptrace rights) from reading the memory while it is mapped, nor the
 * kernel from keeping the pages in a hibernation image.  Secrets should
 * stay here for as short a time as the work allows.
 *
 * Not thread-safe per object: one thread owns an allocation at a time.
 * Allocations are page-granular (at least three pages of address space and
 * one page of RAM each), so this is for a few small keys, not for bulk
 * data.
 */
#ifndef PALISADE_SECMEM_H
#define PALISADE_SECMEM_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"

/* The largest secret allocated here, in bytes. */
#define PAL_SECMEM_MAX (16u * 1024 * 1024)

struct pal_secmem;

/*
 * Allocates len bytes (1 <= len <= PAL_SECMEM_MAX), zeroed.  Errors:
 * PAL_ERR_INVALID for a length out of range, PAL_ERR_NOMEM when mmap
 * fails, PAL_ERR_SYSTEM when mprotect or madvise fails.  *out is set on
 * success; caller frees with pal_secmem_free.
 */
int pal_secmem_alloc(size_t len, struct pal_secmem **out,
		     struct pal_err *err);

/* The secret's bytes: len writable bytes, page-aligned. */
uint8_t *pal_secmem_data(struct pal_secmem *m);
const uint8_t *pal_secmem_cdata(const struct pal_secmem *m);

/* The length given to pal_secmem_alloc. */
size_t pal_secmem_len(const struct pal_secmem *m);

/*
 * 1 when the pages are locked into RAM, 0 when mlock() was refused (then
 * pal_secmem_lock_errno() gives its errno).
 */
int pal_secmem_locked(const struct pal_secmem *m);
int pal_secmem_lock_errno(const struct pal_secmem *m);

/* Wipes, unlocks and unmaps.  NULL is a no-op. */
void pal_secmem_free(struct pal_secmem *m);

#endif
