/*
 * chunked_read.c - random access to a chunked-encryption message: the
 * plaintext bytes [off, off + len), from the chunks that cover them only.
 *
 * Plaintext byte i is byte i % 16384 of chunk i / 16384, and chunk k
 * starts at ciphertext offset 56 + 16400 k, so the chunks of a range are
 * found by arithmetic on the (validated) message length.  Each call checks
 * the header against the context's salt and commitment before it opens a
 * chunk.  Chunks wholly inside the range are decrypted straight into the
 * caller's buffer; the one or two at its edges through the context's
 * scratch buffer.  From a descriptor, up to PAL_CHUNKED_BATCH chunks are
 * read with one pread.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "palisade/file.h"
#include "chunked_int.h"

#define PT_CHUNK ((uint64_t)PAL_CHUNKED_CHUNK_LEN)
#define CT_CHUNK ((uint64_t)PAL_CHUNKED_CT_CHUNK_LEN)
#define HDR ((uint64_t)PAL_CHUNKED_HEADER_LEN)
/* Scratch: a batch of ciphertext, then one chunk of plaintext. */
#define SCRATCH_CT (PAL_CHUNKED_BATCH * CT_CHUNK)
#define SCRATCH_LEN (SCRATCH_CT + PT_CHUNK)

/* Where the message is: in memory, or at base in fd. */
struct src {
	const uint8_t *mem;
	int fd;
	uint64_t base;
	uint64_t msg_len;
	uint64_t pt_len;
	uint64_t nchunks;
};

static int
scratch(struct pal_chunked_ctx *c, struct pal_err *err)
{
	int r;

	if (c->scratch != NULL)
		return 0;
	if ((r = pal_secmem_alloc(SCRATCH_LEN, &c->scratch_mem, err)) != 0)
		return r;
	c->scratch = pal_secmem_data(c->scratch_mem);
	return 0;
}

/* Ciphertext bytes of chunks [c0, c0 + n) (the last may be short). */
static uint64_t
ct_span(const struct src *s, uint64_t c0, uint64_t n)
{
	uint64_t end = HDR + (c0 + n) * CT_CHUNK;

	if (end > s->msg_len)
		end = s->msg_len;
	return end - (HDR + c0 * CT_CHUNK);
}

/*
 * Points *ct at the ciphertext of chunks [c0, c0 + n): into the message
 * in memory, or read into the scratch buffer.
 */
static int
load(struct pal_chunked_ctx *c, const struct src *s, uint64_t c0,
     uint64_t n, const uint8_t **ct, struct pal_err *err)
{
	uint64_t pos = HDR + c0 * CT_CHUNK, len = ct_span(s, c0, n);

	if (s->mem != NULL) {
		*ct = s->mem + pos;
		return 0;
	}
	int64_t r = pal_pread_full(s->fd, c->scratch, (size_t)len,
					   s->base + pos);
	if (r < 0)
		return pal_err_set(err, PAL_ERR_IO,
				   "reading chunk %llu at offset %llu: %s",
				   (unsigned long long)c0,
				   (unsigned long long)(s->base + pos),
				   strerror(errno));
	if ((uint64_t)r < len)
		return pal_err_set(err, PAL_ERR_TRUNCATED,
				   "ciphertext ended at byte %llu of the "
				   "message's %llu: truncated",
				   (unsigned long long)(pos + (uint64_t)r),
				   (unsigned long long)s->msg_len);
	*ct = c->scratch;
	return 0;
}

/* Opens chunk k from ct (its ciphertext) into pt. */
static int
open_one(struct pal_chunked_ctx *c, const struct src *s, uint64_t k,
	 const uint8_t *ct, uint8_t *pt, struct pal_err *err)
{
	size_t n = (size_t)ct_span(s, k, 1);

	return pal_chunked_open_chunk(c, k, k == s->nchunks - 1, ct, n, pt,
				      err);
}

/*
 * Opens chunks [c0, c0 + n) and copies their part of [off, off + len)
 * into out (which holds plaintext byte off at out[0]).
 */
static int
read_span(struct pal_chunked_ctx *c, const struct src *s, uint64_t c0,
	  uint64_t n, uint64_t off, uint64_t len, uint8_t *out,
	  struct pal_err *err)
{
	uint8_t *tmp = c->scratch + SCRATCH_CT;
	const uint8_t *ct;
	int r;

	if ((r = load(c, s, c0, n, &ct, err)) != 0)
		return r;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t k = c0 + i;
		uint64_t lo = k * PT_CHUNK, hi = lo + PT_CHUNK;
		if (hi > s->pt_len)
			hi = s->pt_len;
		uint64_t a = lo > off ? lo : off;
		uint64_t b = hi < off + len ? hi : off + len;
		if (a == lo && b == hi) {
			/* Wholly inside the range: no copy. */
			r = open_one(c, s, k, ct + i * CT_CHUNK,
				     out + (lo - off), err);
		} else {
			r = open_one(c, s, k, ct + i * CT_CHUNK, tmp, err);
			if (r == 0)
				memcpy(out + (a - off), tmp + (a - lo),
				       (size_t)(b - a));
		}
		if (r != 0)
			return r;
	}
	return 0;
}

static int
read_range(struct pal_chunked_ctx *c, const struct src *s, uint64_t off,
	   uint64_t len, uint8_t *out, struct pal_err *err)
{
	uint64_t first = off / PT_CHUNK, last = (off + len - 1) / PT_CHUNK;

	for (uint64_t k = first; k <= last; k += PAL_CHUNKED_BATCH) {
		uint64_t n = last - k + 1;
		if (n > PAL_CHUNKED_BATCH)
			n = PAL_CHUNKED_BATCH;
		int r = read_span(c, s, k, n, off, len, out, err);
		if (r != 0)
			return r;
	}
	return 0;
}

/* Opens the final chunk into the scratch buffer, for its authenticity. */
static int
auth_length(struct pal_chunked_ctx *c, const struct src *s,
	    struct pal_err *err)
{
	const uint8_t *ct;
	uint64_t k = s->nchunks - 1;
	int r;

	if ((r = load(c, s, k, 1, &ct, err)) != 0)
		return r;
	r = open_one(c, s, k, ct, c->scratch + SCRATCH_CT, err);
	OPENSSL_cleanse(c->scratch + SCRATCH_CT, PT_CHUNK);
	return r;
}

static int
prelude(struct pal_chunked_ctx *c, struct src *s, uint64_t off, size_t len,
	const uint8_t hdr_mem[PAL_CHUNKED_HEADER_LEN], struct pal_err *err)
{
	uint8_t hdr[PAL_CHUNKED_HEADER_LEN];
	int r;

	if (c->raw)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "raw-mode keys have no message header");
	if ((r = pal_chunked_pt_len(s->msg_len, &s->pt_len, err)) != 0)
		return r;
	s->nchunks = pal_chunked_nchunks(s->pt_len);
	if (off > s->pt_len || len > s->pt_len - off)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "range of %zu bytes at %llu is beyond the "
				   "message's %llu bytes", len,
				   (unsigned long long)off,
				   (unsigned long long)s->pt_len);
	if (hdr_mem == NULL &&
	    (r = pal_chunked_read_header(s->fd, s->base, hdr, err)) != 0)
		return r;
	if ((r = pal_chunked_check_header(c->salt, c->commitment,
					  hdr_mem != NULL ? hdr_mem : hdr,
					  err)) != 0)
		return r;
	return scratch(c, err);
}

static int
read_any(struct pal_chunked_ctx *c, struct src *s, uint64_t off, size_t len,
	 uint8_t *out, unsigned flags, struct pal_err *err)
{
	int r = prelude(c, s, off, len, s->mem, err);

	if (r == 0 && (flags & PAL_CHUNKED_AUTH_LENGTH) != 0)
		r = auth_length(c, s, err);
	if (r == 0 && len > 0)
		r = read_range(c, s, off, len, out, err);
	if (r != 0 && len > 0)
		OPENSSL_cleanse(out, len);
	return r;
}

int
pal_chunked_read_buf(struct pal_chunked_ctx *c, const uint8_t *msg,
		     size_t msg_len, uint64_t off, size_t len, uint8_t *out,
		     unsigned flags, struct pal_err *err)
{
	struct src s = { .mem = msg, .fd = -1, .msg_len = msg_len };

	if (msg_len < HDR)	/* before msg is read as a header */
		return pal_chunked_pt_len(msg_len, &s.pt_len, err);
	return read_any(c, &s, off, len, out, flags, err);
}

int
pal_chunked_read_fd(struct pal_chunked_ctx *c, int fd, uint64_t base,
		    uint64_t msg_len, uint64_t off, size_t len, uint8_t *out,
		    unsigned flags, struct pal_err *err)
{
	struct src s = { .fd = fd, .base = base, .msg_len = msg_len };

	return read_any(c, &s, off, len, out, flags, err);
}
