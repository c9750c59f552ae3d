/*
 * sqlite_file.h - what Palisade's SQLite stores (the vault's replay store,
 * the gateway's API keys) do alike before and after opening their file.
 */
#ifndef PALISADE_SQLITE_FILE_H
#define PALISADE_SQLITE_FILE_H

#include <sqlite3.h>

#include "palisade/error.h"

/*
 * Creates path 0600 before SQLite does when create is set (SQLite would
 * use 0644 less the umask, and its journal, WAL and shared-memory files
 * copy the database's mode), and refuses a symbolic link or anything but
 * a regular file.  PAL_ERR_IO naming path.
 */
int pal_sqlite_file_check(const char *path, int create, struct pal_err *err);

/* Turns on WAL journaling: 1 when db is now in WAL mode, else 0. */
int pal_sqlite_wal(sqlite3 *db);

#endif
