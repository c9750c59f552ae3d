/*
 * sqlite_file.c - the file checks and journal mode Palisade's SQLite
 * stores share (sqlite_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "palisade/sqlite_file.h"

int
pal_sqlite_file_check(const char *path, int create, struct pal_err *err)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
	struct stat st;
	int fd, regular;

	if (create)
		flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
	fd = open(path, flags, 0600);
	if (fd < 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: cannot open: %s",
				   path, strerror(errno));
	regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	close(fd);
	if (!regular)
		return pal_err_set(err, PAL_ERR_IO, "%s: not a regular file",
				   path);
	return 0;
}

int
pal_sqlite_wal(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int ok = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st,
				    NULL) == SQLITE_OK &&
		 sqlite3_step(st) == SQLITE_ROW &&
		 sqlite3_column_text(st, 0) != NULL &&
		 strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;

	sqlite3_finalize(st);
	return ok;
}
