/*
 * fuzz_journal.c - the log's journal as it may be found on disk after a
 * crash or in the hands of someone with write access to the directory:
 * the bytes become DIR/journal and the log's own reader opens it.  It
 * must return records or an error, never read past the file, and the
 * records it returns must be exactly what a re-read of the repaired file
 * returns.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/tlog/tlog_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int dirfd_ = -1;

static void
free_entries(struct jentry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].rec);
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dirfd_ < 0) {
		char dir[64];
		snprintf(dir, sizeof(dir), "/tmp/fuzz_journal.%ld",
			 (long)getpid());
		mkdir(dir, 0700);
		dirfd_ = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd_ < 0)
			abort();
	}
	if (size > (1u << 20))
		return 0;
	int fd = openat(dirfd_, "journal", O_WRONLY | O_CREAT | O_TRUNC |
			O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	struct journal j = { .fd = -1 };
	struct jentry *v = NULL, *w = NULL;
	size_t n = 0, m = 0;
	struct pal_err err = { 0 };
	if (journal_open(dirfd_, "journal", 0, &j, &v, &n, &err) < 0) {
		if (err.msg[0] == '\0')
			abort();	/* every failure says why */
		return 0;
	}
	journal_close(&j);
	/* Opening again finds exactly the same records. */
	if (journal_open(dirfd_, "journal", 0, &j, &w, &m, &err) < 0 || m != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (v[i].len != w[i].len ||
		    memcmp(jentry_data(&v[i]), jentry_data(&w[i]), v[i].len) != 0)
			abort();
	journal_close(&j);
	free_entries(v, n);
	free_entries(w, m);
	return 0;
}
