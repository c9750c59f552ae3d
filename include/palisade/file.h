/*
 * file.h - reading and writing files: whole transfers, and writing a file so
 * that readers see the old or the new contents, never a half-written one.
 */
#ifndef PALISADE_FILE_H
#define PALISADE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"

/*
 * Reads a whole regular file of at most max bytes into *out (malloc'd, a
 * NUL after the last byte, caller frees; wipe it first if it may hold a
 * secret).  The open does not block, so a FIFO is refused rather than
 * waited on, and a file that grows while it is read is an error.
 */
int pal_file_read(const char *path, size_t max, uint8_t **out, size_t *len,
		  struct pal_err *err);

/*
 * Writes data to a temporary file beside path, fsyncs it, renames it over
 * path and fsyncs the directory.  On failure path is untouched and the
 * temporary file removed.  mode is the new file's permission bits.
 */
int pal_file_write_atomic(const char *path, const void *data, size_t len,
			  unsigned mode, struct pal_err *err);

/*
 * mkdir -p of the parent directories of path (relative to dirfd, or to
 * the working directory with AT_FDCWD), each made with mode; existing ones
 * are kept.  The error names the directory that could not be made.
 */
int pal_mkdir_parents(int dirfd, const char *path, unsigned mode,
		      struct pal_err *err);

/*
 * Whole transfers, retrying short ones and EINTR.  pal_write_full and
 * pal_pwrite_full return 0, or -1 with errno set (EIO when the kernel
 * writes nothing); pal_pread_full returns the number of bytes read, fewer
 * than len only at the end of the file, or -1 with errno set.  An offset
 * past INT64_MAX is EOVERFLOW.
 */
int pal_write_full(int fd, const void *buf, size_t len);
int pal_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
int64_t pal_pread_full(int fd, void *buf, size_t len, uint64_t off);

#endif
