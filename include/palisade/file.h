/*
 * file.h - writing a file so that readers see the old or the new contents,
 * never a half-written one.
 */
#ifndef PALISADE_FILE_H
#define PALISADE_FILE_H

#include <stddef.h>

#include "palisade/error.h"

/*
 * Writes data to a temporary file beside path, fsyncs it, renames it over
 * path and fsyncs the directory.  On failure path is untouched and the
 * temporary file removed.  mode is the new file's permission bits.
 */
int pal_file_write_atomic(const char *path, const void *data, size_t len,
			  unsigned mode, struct pal_err *err);

#endif
