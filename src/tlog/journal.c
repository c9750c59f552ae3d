/*
 * journal.c - the log's write-ahead journal.
 *
 * "PALJ2\n", the index of the first record (8 bytes, big-endian), then
 * records: length (4 bytes, big-endian), check (the first 4 bytes of the
 * entry's RFC 6962 leaf hash, which the appender computes anyway and the
 * publication then reuses), data.
 * A record is acknowledged only after the fdatasync that follows its
 * write, and at most JBATCH_MAX bytes are written between two syncs.  So
 * a record cut short or with a bad checksum, with nothing but zeros from
 * JBATCH_MAX bytes after it on, is the last write torn by a crash and
 * was never acknowledged: it and what follows are dropped (and zeroed).
 * A bad record anywhere else means the file was damaged, and opening
 * fails rather than guess.  Zeros are written ahead of the records in
 * 4 MiB steps so that appends do not allocate blocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "palisade/file.h"
#include "palisade/merkle.h"
#include "tlog_int.h"

#define MAGIC "PALJ2\n"
#define MAGIC_NAME "PALJ2"
#define HEADER (6 + 8)
#define JOURNAL_MAX (1ULL << 34)	/* 16 GiB of unpublished entries */
#define PREALLOC (4u << 20)		/* zeros written ahead */
/*
 * Bytes written between two fdatasyncs at most.  After a power loss the
 * unsynced bytes of the last write may be on disk in any mix of pages,
 * so a bad record followed by non-zero bytes within JBATCH_MAX of it is
 * that write torn, and non-zero bytes beyond are damage.
 */
#define JBATCH_MAX (4u << 20)

static void
put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Writes zeros over [from, to) of fd. */
static int
write_zeros(int fd, uint64_t from, uint64_t to)
{
	static const uint8_t zeros[65536];
	while (from < to) {
		size_t n = to - from < sizeof(zeros) ? (size_t)(to - from) :
			sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, (off_t)from);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		from += (uint64_t)w;
	}
	return 0;
}

/* A record's check: the first 4 bytes of the entry's leaf hash. */
static int
check_ok(const uint8_t check[4], const uint8_t leaf[PAL_MERKLE_HASH_LEN])
{
	return memcmp(check, leaf, 4) == 0;
}

static int
create(int dirfd, const char *name, uint64_t base, struct pal_err *err)
{
	uint8_t h[HEADER];
	memcpy(h, MAGIC, 6);
	put_be(h + 6, base, 8);
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0600);
	if (fd < 0)
		return pal_err_set(err, PAL_ERR_IO, "%s",
				   strerror(errno));
	int rc = pal_write_full(fd, h, sizeof(h)) == 0 && fsync(fd) == 0 ? 0 :
		pal_err_set(err, PAL_ERR_IO, "%s", strerror(errno));
	close(fd);
	return rc;
}

/* Reads the whole file; journals are bounded by JOURNAL_MAX. */
static int
slurp(int fd, uint8_t **out, size_t *len, struct pal_err *err)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return pal_err_set(err, PAL_ERR_IO, "%s",
				   strerror(errno));
	if ((uint64_t)st.st_size > JOURNAL_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "larger than %llu bytes: publish "
				   "more often", (unsigned long long)JOURNAL_MAX);
	uint8_t *p = malloc((size_t)st.st_size + 1);
	size_t have = 0;
	if (p == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	while (have < (size_t)st.st_size) {
		ssize_t n = pread(fd, p + have, (size_t)st.st_size - have,
				  (off_t)have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(p);
			return pal_err_set(err, PAL_ERR_IO, "short "
					   "read");
		}
		have += (size_t)n;
	}
	*out = p;
	*len = have;
	return 0;
}

static int
push(struct jentry **v, size_t *n, size_t *cap, const uint8_t *p,
     size_t len, const uint8_t leaf[PAL_MERKLE_HASH_LEN],
     struct pal_err *err)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct jentry *nv = realloc(*v, c * sizeof(*nv));
		if (nv == NULL)
			return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		*v = nv;
		*cap = c;
	}
	struct jentry *e = &(*v)[*n];
	if ((e->rec = malloc(JREC_HEAD + len)) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	memcpy(e->rec, p, JREC_HEAD + len);
	memcpy(e->leaf, leaf, PAL_MERKLE_HASH_LEN);
	e->len = len;
	(*n)++;
	return 0;
}

int
jentry_make(struct jentry *e, const uint8_t *data, size_t len,
	    struct pal_err *err)
{
	if (len == 0 || len > PAL_ENTRY_MAX)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "a log entry is 1 to %d bytes, not %zu",
				   PAL_ENTRY_MAX, len);
	if ((e->rec = malloc(JREC_HEAD + len)) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	pal_merkle_leaf_hash(data, len, e->leaf);
	put_be(e->rec, len, 4);
	memcpy(e->rec + 4, e->leaf, 4);
	memcpy(e->rec + JREC_HEAD, data, len);
	e->len = len;
	return 0;
}

static int
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/*
 * Parses records; *good is the offset after the last whole one.  The
 * file is preallocated with zeros ahead of the records, so a record that
 * does not check out is the end when nothing but zeros follows from
 * JBATCH_MAX bytes after it on (the end of the records, or the last write
 * torn by a crash and never acknowledged), and damage otherwise.
 */
static int
parse(const uint8_t *p, size_t len, struct jentry **v, size_t *n,
      size_t *good, struct pal_err *err)
{
	size_t cap = 0, off = HEADER;
	*good = HEADER;
	while (off < len) {
		uint8_t leaf[PAL_MERKLE_HASH_LEN];
		uint64_t rl = len - off >= 4 ? get_be(p + off, 4) : 0;
		int ok = len - off >= JREC_HEAD && rl != 0 &&
			rl <= PAL_ENTRY_MAX && len - off - JREC_HEAD >= rl;
		if (ok) {
			pal_merkle_leaf_hash(p + off + JREC_HEAD, rl, leaf);
			ok = check_ok(p + off + 4, leaf);
		}
		if (!ok) {
			size_t after = len - off > JBATCH_MAX ?
				off + JBATCH_MAX : len;
			if (all_zero(p + after, len - after))
				break;		/* the end, or a torn write */
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "damaged at byte %zu: %s",
					   off, rl == 0 || rl > PAL_ENTRY_MAX ?
					   "bad record length" :
					   "check mismatch");
		}
		int rc = push(v, n, &cap, p + off, rl, leaf, err);
		if (rc < 0)
			return rc;
		off += JREC_HEAD + rl;
		*good = off;
	}
	return 0;
}

int
journal_open(int dirfd, const char *name, uint64_t base, struct journal *j,
	     struct jentry **entries, size_t *n, struct pal_err *err)
{
	*entries = NULL;
	*n = 0;
	j->fd = openat(dirfd, name, O_RDWR | O_CLOEXEC);
	if (j->fd < 0 && errno == ENOENT) {
		int rc = create(dirfd, name, base, err);
		if (rc < 0)
			return rc;
		j->fd = openat(dirfd, name, O_RDWR | O_CLOEXEC);
	}
	if (j->fd < 0)
		return pal_err_set(err, PAL_ERR_IO, "%s", strerror(errno));
	uint8_t *p = NULL;
	size_t len = 0, good = 0;
	int rc = slurp(j->fd, &p, &len, err);
	if (rc == 0 && len >= HEADER && memcmp(p, MAGIC, 4) == 0 &&
	    memcmp(p, MAGIC, 6) != 0)
		rc = pal_err_set(err, PAL_ERR_FORMAT, "format %.5s: this "
				 "version reads " MAGIC_NAME, (const char *)p);
	else if (rc == 0 && (len < HEADER || memcmp(p, MAGIC, 6) != 0))
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "not a Palisade journal");
	if (rc == 0)
		rc = parse(p, len, entries, n, &good, err);
	/*
	 * After the records there are only zeros, save what a torn write
	 * left, which is zeroed so that the next append starts clean.
	 */
	if (rc == 0 && good < len && !all_zero(p + good, len - good) &&
	    (write_zeros(j->fd, good, len) != 0 || fdatasync(j->fd) != 0))
		rc = pal_err_set(err, PAL_ERR_IO, "%s",
				 strerror(errno));
	if (rc == 0) {
		j->base = get_be(p + 6, 8);
		j->count = *n;
		j->end = good;
		j->alloc = len;
	}
	free(p);
	if (rc < 0) {
		for (size_t i = 0; i < *n; i++)
			free((*entries)[i].rec);
		free(*entries);
		*entries = NULL;
		*n = 0;
		close(j->fd);
		j->fd = -1;
	}
	return rc;
}

/*
 * Writes zeros ahead of the records, PREALLOC bytes at a time, so that an
 * append overwrites blocks the file already has and its fdatasync flushes
 * data only, not block allocation and file size.
 */
static int
preallocate(struct journal *j, uint64_t need, struct pal_err *err)
{
	if (need <= j->alloc)
		return 0;
	uint64_t to = need + PREALLOC - need % PREALLOC;
	if (write_zeros(j->fd, j->alloc, to) != 0)
		return pal_err_set(err, PAL_ERR_IO, "journal: %s",
				   strerror(errno));
	j->alloc = to;
	return 0;
}

/* pwritev until every byte of iov[0..n) is written at off. */
static int
pwritev_all(int fd, struct iovec *iov, size_t n, off_t off)
{
	while (n > 0) {
		int cnt = n < IOV_MAX ? (int)n : IOV_MAX;
		ssize_t w = pwritev(fd, iov, cnt, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		off += w;
		size_t done = (size_t)w;
		while (n > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {		/* cut short inside *iov */
			iov->iov_base = (uint8_t *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

/* Writes and fdatasyncs e[0..n), at most JBATCH_MAX bytes. */
static int
append_chunk(struct journal *j, const struct jentry *e, size_t n,
	     size_t bytes, struct iovec *iov, struct pal_err *err)
{
	for (size_t i = 0; i < n; i++)
		iov[i] = (struct iovec){ e[i].rec, JREC_HEAD + e[i].len };
	int rc = preallocate(j, j->end + bytes, err);
	if (rc == 0 && pwritev_all(j->fd, iov, n, (off_t)j->end) != 0)
		rc = pal_err_set(err, PAL_ERR_IO, "journal: %s",
				 strerror(errno));
	if (rc == 0 && fdatasync(j->fd) != 0)
		rc = pal_err_set(err, PAL_ERR_IO, "journal: fdatasync: %s",
				 strerror(errno));
	if (rc < 0)
		return rc;
	j->end += bytes;
	j->count += n;
	return 0;
}

int
journal_append(struct journal *j, const struct jentry *e, size_t n,
	       struct pal_err *err)
{
	struct iovec *iov = malloc((n ? n : 1) * sizeof(*iov));
	if (iov == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	int rc = 0;
	size_t first = 0, bytes = 0;
	for (size_t i = 0; rc == 0 && i <= n; i++) {
		size_t rec = i < n ? JREC_HEAD + e[i].len : 0;
		if (i > first && (i == n || bytes + rec > JBATCH_MAX)) {
			rc = append_chunk(j, e + first, i - first, bytes, iov,
					  err);
			first = i;
			bytes = 0;
		}
		bytes += rec;
	}
	free(iov);
	return rc;
}

int
journal_reset(int dirfd, struct journal *j, uint64_t base,
	      struct pal_err *err)
{
	int rc = create(dirfd, "journal.new", base, err);
	if (rc < 0)
		return pal_err_wrap(err, rc, "journal.new: ");
	if (renameat(dirfd, "journal.new", dirfd, "journal") != 0)
		rc = pal_err_set(err, PAL_ERR_IO, "journal: %s",
				 strerror(errno));
	if (rc == 0 && fsync(dirfd) != 0)
		rc = pal_err_set(err, PAL_ERR_IO, "journal: %s",
				 strerror(errno));
	if (rc < 0)
		return rc;
	int fd = openat(dirfd, "journal", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return pal_err_set(err, PAL_ERR_IO, "journal: %s",
				   strerror(errno));
	close(j->fd);
	j->fd = fd;
	j->base = base;
	j->count = 0;
	j->end = HEADER;
	return 0;
}

void
journal_close(struct journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}
