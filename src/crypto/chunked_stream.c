/*
 * chunked_stream.c - whole chunked-encryption messages, sealed or opened
 * on several threads, between memory buffers and file descriptors.
 *
 * The chunks are grouped into batches of PAL_CHUNKED_BATCH (1 MiB of
 * plaintext).  Each thread has its own chunk context and, where a side is
 * a file descriptor, its own input and output buffers; it claims the next
 * batch from an atomic counter, reads it, seals or opens every chunk of
 * it, and writes it.  A side in memory is worked on in place, with no
 * copy.  A side that can seek is read or written with pread/pwrite at the
 * batch's own offset, so threads never wait for each other; a pipe is read
 * or written in batch order, each thread waiting for its turn under a
 * mutex while the others keep computing.  Batches are claimed in order,
 * so the thread that holds the lowest unfinished batch never waits for a
 * later one.
 *
 * Opening checks the header against the keys, the length, and the final
 * chunk before anything else, and writes a batch only when all its chunks
 * authenticated.  The first failure stops every thread at its next batch
 * and is the one reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "palisade/file.h"
#include "chunked_int.h"

#define BATCH PAL_CHUNKED_BATCH
#define PT_CHUNK ((uint64_t)PAL_CHUNKED_CHUNK_LEN)
#define CT_CHUNK ((uint64_t)PAL_CHUNKED_CT_CHUNK_LEN)
#define HDR ((uint64_t)PAL_CHUNKED_HEADER_LEN)
/* run_batch: stopped because another thread failed (not an error code). */
#define STOPPED 1

/* Stands for the caller's NULL when an empty message has no bytes. */
static uint8_t empty[1];

/* One side of a job: memory, or a descriptor read/written at an offset. */
struct side {
	bool is_mem;
	uint8_t *mem;		/* the whole side, in memory */
	int fd;
	uint64_t off;		/* where the side's data starts in fd */
	bool stream;		/* fd cannot seek: in order, from where it is */
	bool writeback;		/* a regular file: start write-back per batch */
	uint64_t turn;		/* stream: the batch whose turn it is */
};

struct job {
	bool seal;
	const struct pal_chunked_keys *k;
	uint64_t pt_len;
	uint64_t nchunks;
	uint64_t nbatches;
	struct side in, out;	/* in/out data start at chunk 0 */
	atomic_uint_fast64_t next;
	atomic_bool failed;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int rc;			/* first failure, under lock */
	struct pal_err err;
};

struct worker {
	struct job *j;
	struct pal_chunked_ctx *ctx;
	/* BATCH chunks each, for a side that is a descriptor. */
	struct pal_secmem *imem, *omem;
	uint8_t *ibuf, *obuf;
	struct pal_err err;
	pthread_t tid;
	bool started;
};

/* A batch: chunks [c0, c0 + count), plaintext bytes [pt_lo, pt_hi). */
struct batch {
	uint64_t index, c0, count, pt_lo, pt_hi;
};

static void
batch_of(const struct job *j, uint64_t s, struct batch *b)
{
	b->index = s;
	b->c0 = s * BATCH;
	b->count = j->nchunks - b->c0 < BATCH ? j->nchunks - b->c0 : BATCH;
	b->pt_lo = b->c0 * PT_CHUNK;
	b->pt_hi = (b->c0 + b->count) * PT_CHUNK;
	if (b->pt_hi > j->pt_len)
		b->pt_hi = j->pt_len;
}

/* Bytes of the batch on the plaintext and on the ciphertext side. */
static uint64_t
pt_bytes(const struct batch *b)
{
	return b->pt_hi - b->pt_lo;
}

static uint64_t
ct_bytes(const struct batch *b)
{
	return pt_bytes(b) + b->count * PAL_CHUNKED_TAG_LEN;
}

static void
job_fail(struct job *j, int rc, const struct pal_err *e)
{
	pthread_mutex_lock(&j->lock);
	if (!atomic_load(&j->failed)) {
		j->rc = rc;
		j->err = *e;
		atomic_store(&j->failed, true);
	}
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
}

/* Waits until it is batch s's turn on a stream side; false on failure. */
static bool
wait_turn(struct job *j, struct side *sd, uint64_t s)
{
	bool ok;

	pthread_mutex_lock(&j->lock);
	while (sd->turn != s && !atomic_load(&j->failed))
		pthread_cond_wait(&j->cond, &j->lock);
	ok = !atomic_load(&j->failed);
	pthread_mutex_unlock(&j->lock);
	return ok;
}

static void
pass_turn(struct job *j, struct side *sd)
{
	pthread_mutex_lock(&j->lock);
	sd->turn++;
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
}

/* read(2) until len bytes or end of input: bytes read, or -1. */
static int64_t
read_full(int fd, uint8_t *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = read(fd, p + done, len - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (int64_t)done;
}

/*
 * Reads the batch's input (at byte pos of the input side, len bytes) into
 * buf.  total is the whole input's length, for the message.
 */
static int
read_input(struct worker *w, const struct batch *b, uint64_t pos,
	   size_t len, uint64_t total)
{
	struct job *j = w->j;
	struct side *sd = &j->in;
	int64_t r;

	if (sd->stream) {
		if (!wait_turn(j, sd, b->index))
			return STOPPED;
		r = read_full(sd->fd, w->ibuf, len);
		pass_turn(j, sd);
	} else {
		r = pal_pread_full(sd->fd, w->ibuf, len, sd->off + pos);
	}
	if (r < 0)
		return pal_err_set(&w->err, PAL_ERR_IO,
				   "reading %s at offset %llu: %s",
				   j->seal ? "plaintext" : "ciphertext",
				   (unsigned long long)(sd->off + pos),
				   strerror(errno));
	if ((size_t)r < len)
		return pal_err_set(&w->err, PAL_ERR_TRUNCATED,
				   j->seal ? "input ended at byte %llu of "
					     "%llu: file changed while sealed?"
					   : "ciphertext ended at byte %llu of "
					     "the message's %llu: truncated",
				   (unsigned long long)(pos + (uint64_t)r),
				   (unsigned long long)total);
	return 0;
}

static int
write_output(struct worker *w, const struct batch *b, uint64_t pos,
	     size_t len)
{
	struct job *j = w->j;
	struct side *sd = &j->out;
	int r;

	if (sd->stream) {
		if (!wait_turn(j, sd, b->index))
			return STOPPED;
		r = pal_write_full(sd->fd, w->obuf, len);
		pass_turn(j, sd);
	} else {
		r = pal_pwrite_full(sd->fd, w->obuf, len,
					    sd->off + pos);
		/*
		 * Start this batch's write-back now, so that the disk works
		 * while the next batches are encrypted and the caller's fsync
		 * finds little left to do (without it, a 2 GiB seal stayed
		 * dirty until the final sync, under the kernel's background
		 * threshold).  Advice only: an I/O error shows at the sync.
		 * On tmpfs and memfds it does nothing.
		 */
		if (r == 0 && sd->writeback)
			(void)sync_file_range(sd->fd, (off64_t)(sd->off + pos),
					      (off64_t)len,
					      SYNC_FILE_RANGE_WRITE);
	}
	if (r != 0)
		return pal_err_set(&w->err, PAL_ERR_IO,
				   "writing %s at offset %llu: %s",
				   j->seal ? "ciphertext" : "plaintext",
				   (unsigned long long)(sd->off + pos),
				   strerror(errno));
	return 0;
}

static int
seal_chunks(struct worker *w, const struct batch *b, const uint8_t *in,
	    uint8_t *out)
{
	for (uint64_t i = 0; i < b->count; i++) {
		uint64_t lo = (b->c0 + i) * PT_CHUNK;
		size_t n = (size_t)(b->pt_hi - lo < PT_CHUNK ? b->pt_hi - lo
							     : PT_CHUNK);
		int r = pal_chunked_seal_chunk(w->ctx, b->c0 + i,
					       in + i * PT_CHUNK, n,
					       out + i * CT_CHUNK, &w->err);
		if (r != 0)
			return r;
	}
	return 0;
}

static int
open_chunks(struct worker *w, const struct batch *b, const uint8_t *in,
	    uint8_t *out)
{
	uint64_t last = w->j->nchunks - 1;

	for (uint64_t i = 0; i < b->count; i++) {
		uint64_t c = b->c0 + i;
		size_t n = c == last ? (size_t)(b->pt_hi - c * PT_CHUNK) +
				       PAL_CHUNKED_TAG_LEN
				     : (size_t)CT_CHUNK;
		int r = pal_chunked_open_chunk(w->ctx, c, c == last,
					       in + i * CT_CHUNK, n,
					       out + i * PT_CHUNK, &w->err);
		if (r != 0)
			return r;
	}
	return 0;
}

static int
run_batch(struct worker *w, const struct batch *b)
{
	struct job *j = w->j;
	uint64_t ipos, opos, ilen, olen;
	const uint8_t *in;
	uint8_t *out;
	int r;

	/* Positions relative to each side's chunk 0. */
	ipos = j->seal ? b->pt_lo : b->c0 * CT_CHUNK;
	opos = j->seal ? b->c0 * CT_CHUNK : b->pt_lo;
	ilen = j->seal ? pt_bytes(b) : ct_bytes(b);
	olen = j->seal ? ct_bytes(b) : pt_bytes(b);
	if (j->in.is_mem) {
		in = j->in.mem + ipos;
	} else {
		uint64_t total = j->seal ? j->pt_len
					 : HDR + j->nchunks * PAL_CHUNKED_TAG_LEN
					   + j->pt_len;
		if ((r = read_input(w, b, ipos, (size_t)ilen, total)) != 0)
			return r;
		in = w->ibuf;
	}
	out = j->out.is_mem ? j->out.mem + opos : w->obuf;
	r = j->seal ? seal_chunks(w, b, in, out) : open_chunks(w, b, in, out);
	if (r != 0)
		return r;
	if (!j->out.is_mem)
		return write_output(w, b, opos, (size_t)olen);
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct job *j = w->j;

	while (!atomic_load(&j->failed)) {
		uint64_t s = atomic_fetch_add(&j->next, 1);
		struct batch b;
		if (s >= j->nbatches)
			break;
		batch_of(j, s, &b);
		int r = run_batch(w, &b);
		if (r < 0)
			job_fail(j, r, &w->err);
		if (r != 0)
			break;
	}
	return NULL;
}

static unsigned
thread_count(unsigned asked, uint64_t nbatches)
{
	uint64_t n = asked;

	if (n == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? (uint64_t)cpus : 1;
	}
	if (n > PAL_CHUNKED_THREADS_MAX)
		n = PAL_CHUNKED_THREADS_MAX;
	if (n > nbatches)
		n = nbatches;
	return n == 0 ? 1 : (unsigned)n;
}

static int
worker_init(struct worker *w, struct job *j, struct pal_err *err)
{
	int r;

	memset(w, 0, sizeof(*w));
	w->j = j;
	if ((r = pal_chunked_ctx_new(j->k, &w->ctx, err)) != 0)
		return r;
	if (!j->in.is_mem) {
		if ((r = pal_secmem_alloc(BATCH * CT_CHUNK, &w->imem,
					  err)) != 0)
			return r;
		w->ibuf = pal_secmem_data(w->imem);
	}
	if (!j->out.is_mem) {
		if ((r = pal_secmem_alloc(BATCH * CT_CHUNK, &w->omem,
					  err)) != 0)
			return r;
		w->obuf = pal_secmem_data(w->omem);
	}
	return 0;
}

static void
worker_fini(struct worker *w)
{
	pal_chunked_ctx_free(w->ctx);
	pal_secmem_free(w->imem);
	pal_secmem_free(w->omem);
}

/* Runs job j on n threads, the calling thread being one of them. */
static int
run_job(struct job *j, unsigned nthreads, struct pal_err *err)
{
	unsigned n = thread_count(nthreads, j->nbatches);
	struct worker *ws = calloc(n, sizeof(*ws));
	int r = 0;

	if (ws == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	atomic_init(&j->next, 0);
	atomic_init(&j->failed, false);
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	for (unsigned i = 0; i < n && r == 0; i++)
		r = worker_init(&ws[i], j, err);
	for (unsigned i = 1; i < n && r == 0; i++) {
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0)
			break;	/* the threads started do the work */
		ws[i].started = true;
	}
	if (r == 0)
		worker_main(&ws[0]);
	for (unsigned i = 1; i < n; i++)
		if (ws[i].started)
			pthread_join(ws[i].tid, NULL);
	if (r == 0 && atomic_load(&j->failed))
		r = pal_err_set(err, j->rc, "%s", j->err.msg);
	for (unsigned i = 0; i < n; i++)
		worker_fini(&ws[i]);
	free(ws);
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->lock);
	return r;
}

/* ---- Sides ------------------------------------------------------------ */

static void
side_mem(struct side *sd, uint8_t *p)
{
	memset(sd, 0, sizeof(*sd));
	sd->is_mem = true;
	sd->mem = p;
	sd->fd = -1;
}

/*
 * A descriptor side: a descriptor that cannot seek, or an output that
 * appends whatever the offset (O_APPEND), is used in order.
 */
static void
side_fd(struct side *sd, int fd, uint64_t off, bool output)
{
	int fl = output ? fcntl(fd, F_GETFL) : 0;

	memset(sd, 0, sizeof(*sd));
	sd->fd = fd;
	sd->off = off;
	sd->stream = (lseek(fd, 0, SEEK_CUR) < 0 && errno == ESPIPE) ||
		     (fl > 0 && (fl & O_APPEND) != 0);
	struct stat st;
	sd->writeback = output && !sd->stream && fstat(fd, &st) == 0 &&
		S_ISREG(st.st_mode);
}

static int
check_keys(const struct pal_chunked_keys *k, struct pal_err *err)
{
	if (k->raw)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "raw-mode keys have no message header");
	return 0;
}

static void
job_init(struct job *j, bool seal, const struct pal_chunked_keys *k,
	 uint64_t pt_len)
{
	memset(j, 0, sizeof(*j));
	j->seal = seal;
	j->k = k;
	j->pt_len = pt_len;
	j->nchunks = pal_chunked_nchunks(pt_len);
	j->nbatches = (j->nchunks + BATCH - 1) / BATCH;
}

/* ---- Sealing ---------------------------------------------------------- */

int
pal_chunked_seal_buf(const struct pal_chunked_keys *k, const uint8_t *pt,
		     size_t pt_len, uint8_t *msg, size_t msg_len,
		     unsigned nthreads, struct pal_err *err)
{
	struct job j;
	uint64_t want;
	int r;

	if ((r = check_keys(k, err)) != 0 ||
	    (r = pal_chunked_ct_len(pt_len, &want, err)) != 0)
		return r;
	if (msg_len != want)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "output of %zu bytes for a message of "
				   "%llu", msg_len, (unsigned long long)want);
	job_init(&j, true, k, pt_len);
	side_mem(&j.in, pt != NULL ? (uint8_t *)(uintptr_t)pt : empty);
	side_mem(&j.out, msg + HDR);
	pal_chunked_header(k, msg);
	return run_job(&j, nthreads, err);
}

int
pal_chunked_seal_fd(const struct pal_chunked_keys *k, int in_fd,
		    uint64_t in_off, uint64_t pt_len, int out_fd,
		    uint64_t out_off, unsigned nthreads, struct pal_err *err)
{
	uint8_t hdr[PAL_CHUNKED_HEADER_LEN];
	uint64_t ct_len;
	struct job j;
	int r;

	if ((r = check_keys(k, err)) != 0 ||
	    (r = pal_chunked_ct_len(pt_len, &ct_len, err)) != 0)
		return r;
	job_init(&j, true, k, pt_len);
	side_fd(&j.in, in_fd, in_off, false);
	side_fd(&j.out, out_fd, out_off, true);
	pal_chunked_header(k, hdr);
	r = j.out.stream ? pal_write_full(out_fd, hdr, sizeof(hdr))
			 : pal_pwrite_full(out_fd, hdr, sizeof(hdr),
						   out_off);
	if (r != 0)
		return pal_err_set(err, PAL_ERR_IO,
				   "writing the message header at offset "
				   "%llu: %s", (unsigned long long)out_off,
				   strerror(errno));
	j.out.off += HDR;
	return run_job(&j, nthreads, err);
}

/* ---- Opening ---------------------------------------------------------- */

/*
 * Opens the final chunk, ct (ct_len bytes), into pt, before any other:
 * a truncated or extended message fails before a byte is output.
 */
static int
open_final(const struct pal_chunked_keys *k, const struct job *j,
	   const uint8_t *ct, size_t ct_len, uint8_t *pt, struct pal_err *err)
{
	struct pal_chunked_ctx *c = NULL;
	int r;

	if ((r = pal_chunked_ctx_new(k, &c, err)) != 0)
		return r;
	r = pal_chunked_open_chunk(c, j->nchunks - 1, 1, ct, ct_len, pt, err);
	pal_chunked_ctx_free(c);
	return r;
}

int
pal_chunked_open_buf(const struct pal_chunked_keys *k, const uint8_t *msg,
		     size_t msg_len, uint8_t *pt, size_t pt_cap,
		     size_t *pt_len, unsigned nthreads, struct pal_err *err)
{
	uint64_t n = 0;
	struct job j;
	int r;

	*pt_len = 0;
	if ((r = check_keys(k, err)) != 0 ||
	    (r = pal_chunked_pt_len(msg_len, &n, err)) != 0)
		return r;
	if (n > pt_cap) {
		r = pal_err_set(err, PAL_ERR_INVALID,
				"output of %zu bytes for a message of %llu",
				pt_cap, (unsigned long long)n);
		n = pt_cap;
		goto out;
	}
	if (pt == NULL)
		pt = empty;
	if ((r = pal_chunked_check_header(k->salt, k->commitment, msg,
					  err)) != 0)
		goto out;
	job_init(&j, false, k, n);
	uint64_t last = j.nchunks - 1;
	r = open_final(k, &j, msg + HDR + last * CT_CHUNK,
		       (size_t)(msg_len - HDR - last * CT_CHUNK),
		       pt + last * PT_CHUNK, err);
	if (r != 0)
		goto out;
	side_mem(&j.in, (uint8_t *)(uintptr_t)(msg + HDR));
	side_mem(&j.out, pt);
	r = run_job(&j, nthreads, err);
out:
	if (r != 0) {
		if (n > 0)
			OPENSSL_cleanse(pt, (size_t)n);
		return r;
	}
	*pt_len = (size_t)n;
	return 0;
}

/*
 * Reads the final chunk of the message at base in fd into a bounce buffer
 * and opens it there, before any output.
 */
static int
open_final_fd(const struct pal_chunked_keys *k, const struct job *j, int fd,
	      uint64_t base, uint64_t msg_len, struct pal_err *err)
{
	uint64_t pos = HDR + (j->nchunks - 1) * CT_CHUNK;
	size_t clen = (size_t)(msg_len - pos);
	struct pal_secmem *mem = NULL;
	int r;

	if ((r = pal_secmem_alloc(CT_CHUNK, &mem, err)) != 0)
		return r;
	uint8_t *buf = pal_secmem_data(mem);
	int64_t got = pal_pread_full(fd, buf, clen, base + pos);
	if (got < 0)
		r = pal_err_set(err, PAL_ERR_IO,
				"reading the final chunk at offset %llu: %s",
				(unsigned long long)(base + pos),
				strerror(errno));
	else if ((size_t)got < clen)
		r = pal_err_set(err, PAL_ERR_TRUNCATED,
				"ciphertext ended at byte %llu of the "
				"message's %llu: truncated",
				(unsigned long long)(pos + (uint64_t)got),
				(unsigned long long)msg_len);
	else
		r = open_final(k, j, buf, clen, buf, err);
	pal_secmem_free(mem);
	return r;
}

int
pal_chunked_open_fd(const struct pal_chunked_keys *k, int in_fd,
		    uint64_t base, uint64_t msg_len, int out_fd,
		    uint64_t out_off, unsigned nthreads, struct pal_err *err)
{
	uint8_t hdr[PAL_CHUNKED_HEADER_LEN];
	struct side probe;
	uint64_t n = 0;
	struct job j;
	int r;

	side_fd(&probe, in_fd, base, false);
	if (probe.stream)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "the ciphertext must be in a file that "
				   "can seek, not a pipe");
	if ((r = check_keys(k, err)) != 0 ||
	    (r = pal_chunked_pt_len(msg_len, &n, err)) != 0 ||
	    (r = pal_chunked_read_header(in_fd, base, hdr, err)) != 0 ||
	    (r = pal_chunked_check_header(k->salt, k->commitment, hdr,
					  err)) != 0)
		return r;
	job_init(&j, false, k, n);
	if ((r = open_final_fd(k, &j, in_fd, base, msg_len, err)) != 0)
		return r;
	side_fd(&j.in, in_fd, base + HDR, false);
	side_fd(&j.out, out_fd, out_off, true);
	return run_job(&j, nthreads, err);
}
