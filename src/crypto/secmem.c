/*
 * secmem.c - locked, no-dump, wipe-on-fork pages for secrets.
 *
 * Layout of one allocation (p = page size):
 *
 *   base            base + p                    base + p + data_len
 *   | guard (none)  | data pages (rw, locked)   | guard (none) |
 *
 * The bookkeeping (struct pal_secmem) is ordinary heap memory: it holds
 * addresses and sizes, never secret bytes.  In the style of libsodium's
 * sodium_malloc (sodium/utils.c), without its canary: the data starts on a
 * page boundary, as secmem.h promises.
 *
 * mlock and munlock are made as raw system calls: AddressSanitizer
 * intercepts the libc functions and turns them into no-ops that report
 * success, which would make the sanitizer builds claim locked memory they
 * do not have (and the tests, which read the kernel's view, fail).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "palisade/secmem.h"

struct pal_secmem {
	uint8_t *base;		/* the whole mapping */
	size_t map_len;
	uint8_t *data;		/* base + one page */
	size_t data_len;	/* whole pages */
	size_t len;		/* as asked */
	int writable;		/* the data pages are PROT_READ|PROT_WRITE */
	int locked;
	int lock_errno;
};

static size_t
page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (size_t)p : 4096;
}

/* Marks the data pages no-dump and wipe-on-fork. */
static int
advise(struct pal_secmem *m, struct pal_err *err)
{
	if (madvise(m->data, m->data_len, MADV_DONTDUMP) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM,
				   "secret memory: madvise(MADV_DONTDUMP): %s",
				   strerror(errno));
#ifdef MADV_WIPEONFORK
	if (madvise(m->data, m->data_len, MADV_WIPEONFORK) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM,
				   "secret memory: madvise(MADV_WIPEONFORK): "
				   "%s", strerror(errno));
#else
#error "MADV_WIPEONFORK is needed (Linux 4.14, glibc 2.27)"
#endif
	return 0;
}

/* Maps guard + data + guard and opens the data pages. */
static int
map(struct pal_secmem *m, size_t len, struct pal_err *err)
{
	size_t p = page_size();
	void *base;

	m->data_len = (len + p - 1) / p * p;
	m->map_len = m->data_len + 2 * p;
	base = mmap(NULL, m->map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (base == MAP_FAILED)
		return pal_err_set(err, PAL_ERR_NOMEM,
				   "secret memory: mmap of %zu bytes: %s",
				   m->map_len, strerror(errno));
	m->base = base;
	m->data = m->base + p;
	if (mprotect(m->data, m->data_len, PROT_READ | PROT_WRITE) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM,
				   "secret memory: mprotect: %s",
				   strerror(errno));
	m->writable = 1;
	return 0;
}

int
pal_secmem_alloc(size_t len, struct pal_secmem **out, struct pal_err *err)
{
	struct pal_secmem *m;
	int rc;

	*out = NULL;
	if (len == 0 || len > PAL_SECMEM_MAX)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "secret memory: %zu bytes asked, 1 to %u "
				   "allowed", len, PAL_SECMEM_MAX);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	m->len = len;
	if ((rc = map(m, len, err)) < 0 || (rc = advise(m, err)) < 0) {
		pal_secmem_free(m);
		return rc;
	}
	/* A refused lock degrades to unlocked memory; the caller can ask. */
	if (syscall(SYS_mlock, m->data, m->data_len) == 0)
		m->locked = 1;
	else
		m->lock_errno = errno;
	*out = m;
	return 0;
}

uint8_t *
pal_secmem_data(struct pal_secmem *m)
{
	return m->data;
}

const uint8_t *
pal_secmem_cdata(const struct pal_secmem *m)
{
	return m->data;
}

size_t
pal_secmem_len(const struct pal_secmem *m)
{
	return m->len;
}

int
pal_secmem_locked(const struct pal_secmem *m)
{
	return m->locked;
}

int
pal_secmem_lock_errno(const struct pal_secmem *m)
{
	return m->lock_errno;
}

void
pal_secmem_free(struct pal_secmem *m)
{
	if (m == NULL)
		return;
	if (m->base != NULL) {
		if (m->writable)
			OPENSSL_cleanse(m->data, m->data_len);
		if (m->locked)
			(void)syscall(SYS_munlock, m->data, m->data_len);
		(void)munmap(m->base, m->map_len);
	}
	free(m);
}
