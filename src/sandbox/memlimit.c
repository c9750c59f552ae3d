/*
 * memlimit.c - a ceiling on the scanner's address space.
 *
 * Every parser caps what it allocates, but the scanner also runs library
 * code (libarchive's 7z reader, for one) that sizes tables from counts a
 * file declares.  An address-space limit turns such an allocation into a
 * failed malloc, which the library reports as an error, instead of
 * gigabytes of memory.  Sanitizer builds reserve terabytes of shadow
 * memory up front and cannot run under any such limit, so there it is a
 * no-op.
 */
#include <stdint.h>
#include <sys/resource.h>

#include "palisade/sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define PAL_ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PAL_ASAN_BUILD 1
#endif
#endif

int
pal_sandbox_limit_memory(uint64_t bytes, struct pal_err *err)
{
#ifdef PAL_ASAN_BUILD
	(void)bytes;
	(void)err;
	return 0;
#else
	struct rlimit rl;

	if (getrlimit(RLIMIT_AS, &rl) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM,
		    "cannot read the address-space limit");
	if (rl.rlim_max != RLIM_INFINITY && bytes > rl.rlim_max)
		bytes = rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && bytes > rl.rlim_cur)
		return 0;	/* a tighter limit is already in force */
	rl.rlim_cur = (rlim_t)bytes;
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM,
		    "cannot set the address-space limit");
	return 0;
#endif
}
