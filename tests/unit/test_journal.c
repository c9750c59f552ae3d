/*
 * test_journal.c - the log's write-ahead journal (src/tlog/journal.c):
 * batches larger than one pwritev or one sync window read back whole;
 * a write torn by a crash (garbage within JBATCH_MAX of the last good
 * record, zeros beyond) is dropped and zeroed, and the journal appends
 * again; a bad record with data beyond that window is damage and the
 * journal does not open.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "palisade/merkle.h"
#include "../../src/tlog/tlog_int.h"

#define HEADER 14		/* "PALJ1\n" and the base index */
#define WINDOW (4u << 20)	/* JBATCH_MAX in journal.c */

static char dir[4096];
static int dirfd_ = -1;

static int
setup(void **state)
{
	(void)state;
	const char *tmp = getenv("PAL_TEST_TMP");
	snprintf(dir, sizeof(dir), "%s/journal.%ld", tmp ? tmp : "/tmp",
		 (long)getpid());
	mkdir(tmp ? tmp : "/tmp", 0755);
	if (mkdir(dir, 0700) != 0)
		return -1;
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return dirfd_ < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlinkat(dirfd_, "journal", 0);
	close(dirfd_);
	rmdir(dir);
	return 0;
}

/* Entry i: len bytes derived from i, so that each is recognisable. */
static void
fill(uint8_t *p, size_t len, size_t i)
{
	for (size_t k = 0; k < len; k++)
		p[k] = (uint8_t)(i * 31 + k * 7 + 1);
}

static void
free_entries(struct jentry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].rec);
	free(v);
}

/* A fresh journal holding n entries of len bytes, in one batch. */
static void
write_journal(size_t n, size_t len)
{
	unlinkat(dirfd_, "journal", 0);
	struct journal j = { .fd = -1 };
	struct jentry *v = NULL, *e = calloc(n, sizeof(*e));
	size_t got = 0;
	struct pal_err err = { 0 };
	uint8_t *buf = malloc(len);
	assert_non_null(e);
	assert_non_null(buf);
	assert_int_equal(journal_open(dirfd_, "journal", 0, &j, &v, &got,
				      &err), 0);
	assert_int_equal(got, 0);
	for (size_t i = 0; i < n; i++) {
		fill(buf, len, i);
		assert_int_equal(jentry_make(&e[i], buf, len, &err), 0);
	}
	if (journal_append(&j, e, n, &err) < 0)
		fail_msg("append: %s", err.msg);
	journal_close(&j);
	free_entries(e, n);
	free(v);
	free(buf);
}

/* Opens the journal; expects n entries of len bytes, as written. */
static void
expect_entries(size_t n, size_t len)
{
	struct journal j = { .fd = -1 };
	struct jentry *v = NULL;
	size_t got = 0;
	struct pal_err err = { 0 };
	uint8_t *want = malloc(len);
	assert_non_null(want);
	if (journal_open(dirfd_, "journal", 0, &j, &v, &got, &err) < 0)
		fail_msg("open: %s", err.msg);
	assert_int_equal(got, n);
	assert_int_equal(j.count, n);
	for (size_t i = 0; i < n; i++) {
		fill(want, len, i);
		assert_int_equal(v[i].len, len);
		assert_memory_equal(jentry_data(&v[i]), want, len);
	}
	journal_close(&j);
	free_entries(v, got);
	free(want);
}

static void
poke(off_t off, const void *bytes, size_t n)
{
	int fd = openat(dirfd_, "journal", O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
	close(fd);
}

static off_t
journal_size(void)
{
	struct stat st;
	assert_int_equal(fstatat(dirfd_, "journal", &st, 0), 0);
	return st.st_size;
}

/* More records than one pwritev takes (IOV_MAX), all read back. */
static void
batch_beyond_iov_max(void **state)
{
	(void)state;
	write_journal(3000, 40);
	expect_entries(3000, 40);
}

/* A batch of more bytes than one sync window: written in steps. */
static void
batch_beyond_sync_window(void **state)
{
	(void)state;
	write_journal(100, 65535);	/* 6.5 MB */
	expect_entries(100, 65535);
}

/*
 * A torn write: the first records of the last write made it, a later
 * page of it too, the pages between did not.  The journal (larger than
 * one sync window, so that the window is what decides) opens with the
 * records before the tear, zeroes the rest, and appends after them.
 */
static void
torn_tail_is_dropped(void **state)
{
	(void)state;
	size_t n = WINDOW / 1032 + 200;		/* records of 8 + 1024 */
	write_journal(n, 1024);
	/* More than a window from the end of the (8 MiB) file. */
	off_t cut = HEADER + (off_t)(n - 300) * 1032;
	static const uint8_t zeros[1032], junk[64] = { 0x5a, 0x5a, 0x5a };
	poke(cut + 500, zeros, 532);
	poke(cut + 8192, junk, sizeof(junk));
	expect_entries(n - 300, 1024);

	/* Zeroed on open: appending and reading back gives n - 299. */
	struct journal j = { .fd = -1 };
	struct jentry *v = NULL, e;
	size_t got = 0;
	struct pal_err err = { 0 };
	uint8_t buf[1024];
	assert_int_equal(journal_open(dirfd_, "journal", 0, &j, &v, &got,
				      &err), 0);
	free_entries(v, got);
	fill(buf, sizeof(buf), n - 300);
	assert_int_equal(jentry_make(&e, buf, sizeof(buf), &err), 0);
	assert_int_equal(journal_append(&j, &e, 1, &err), 0);
	free(e.rec);
	journal_close(&j);
	expect_entries(n - 299, 1024);
}

/*
 * A bad record followed by data further than one sync window away was
 * not the last write: the journal was damaged, and opening it fails
 * with the byte offset of the bad record.
 */
static void
damage_is_an_error(void **state)
{
	(void)state;
	size_t n = WINDOW / 1032 + 200;		/* records of 8 + 1024 */
	write_journal(n, 1024);
	off_t rec3 = HEADER + 3 * 1032;
	uint8_t flip = 0xff;
	poke(rec3 + 500, &flip, 1);

	struct journal j = { .fd = -1 };
	struct jentry *v = NULL;
	size_t got = 0;
	struct pal_err err = { 0 };
	char want[64];
	assert_int_not_equal(journal_open(dirfd_, "journal", 0, &j, &v, &got,
					  &err), 0);
	snprintf(want, sizeof(want), "damaged at byte %lld",
		 (long long)rec3);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" does not name byte %lld", err.msg,
			 (long long)rec3);
	assert_int_equal(got, 0);
	assert_null(v);
	/* Nothing was cut: the damaged file is left as found. */
	assert_true(journal_size() >= (off_t)(HEADER + n * 1032));
}

/* A record's bytes: length, the first 4 bytes of the leaf hash, data. */
static void
record_layout(void **state)
{
	(void)state;
	struct jentry e;
	struct pal_err err = { 0 };
	const uint8_t data[] = "abc";
	assert_int_equal(jentry_make(&e, data, 3, &err), 0);
	assert_int_equal(e.len, 3);
	static const uint8_t len[4] = { 0, 0, 0, 3 };
	uint8_t leaf[PAL_MERKLE_HASH_LEN];
	pal_merkle_leaf_hash(data, 3, leaf);
	assert_memory_equal(e.rec, len, 4);
	assert_memory_equal(e.rec + 4, leaf, 4);
	assert_memory_equal(e.leaf, leaf, sizeof(leaf));
	assert_memory_equal(jentry_data(&e), "abc", 3);
	free(e.rec);
	assert_int_not_equal(jentry_make(&e, data, 0, &err), 0);
	assert_non_null(strstr(err.msg, "1 to 65535 bytes"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_layout),
		cmocka_unit_test(batch_beyond_iov_max),
		cmocka_unit_test(batch_beyond_sync_window),
		cmocka_unit_test(torn_tail_is_dropped),
		cmocka_unit_test(damage_is_an_error),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
