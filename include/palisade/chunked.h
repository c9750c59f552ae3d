/*
 * chunked.h - C2SP chunked encryption (c2sp.org/chunked-encryption), the
 * cipher of Palisade's sealed files.
 *
 * Two instantiations: Cobblestone-256 (HKDF-SHA-512, AES-256-GCM), which
 * Palisade seals with, and Cobblestone-128 (HKDF-SHA-512, AES-128-GCM).
 *
 * A message is
 *
 *	salt (24 bytes) || commitment (32 bytes) || chunk 0 || ... || chunk n-1
 *
 * where key || base nonce || commitment = HKDF-Expand-SHA-512(input key,
 * "c2sp.org/chunked-encryption@v1+" || AEAD name || 0x00 || salt ||
 * context), and chunk k is the AES-GCM encryption, without AAD, of
 * plaintext bytes [16384 k, 16384 (k + 1)) under the nonce base nonce XOR
 * k (k big-endian in the nonce's last 5 bytes), its 16-byte tag appended.
 * The final chunk holds fewer than 16384 plaintext bytes and may be empty,
 * so a message of L bytes has L / 16384 + 1 chunks and every ciphertext
 * length means at most one message length: a ciphertext that ends after a
 * full chunk has lost its end.  At most 2^38 chunks (4 PiB - 1 bytes).
 *
 * What it trusts: the input key and the context come from the caller;
 * every byte of a message (salt, commitment, chunks, the length) is
 * untrusted.  Every open checks the message's commitment against the keys
 * before it decrypts a chunk, and no function hands out plaintext of a
 * chunk that did not authenticate: chunks are decrypted into memory the
 * library owns or into the caller's output buffer, which is wiped when the
 * open fails.  (Output already written to a file descriptor is the
 * exception spelled out at pal_chunked_open_fd.)
 *
 * The layers, each usable on its own:
 *   - keys: derivation of the per-message key, base nonce and commitment;
 *   - size arithmetic between plaintext and ciphertext lengths;
 *   - chunk contexts: one AES-GCM context each, sealing or opening chunk k;
 *   - whole messages in memory or between file descriptors, on N threads;
 *   - random access to a plaintext byte range.
 *
 * Errors: every function returns 0 or a negative PAL_ERR_* and, when err
 * is not NULL, a one-line detail naming what failed: the chunk index
 * ("chunk 7: authentication failed"), the length and why it is invalid,
 * the offset of a failed read.  PAL_ERR_VERIFY means the message is not
 * authentic (a wrong key or context, a modified byte, reordered chunks);
 * PAL_ERR_TRUNCATED an invalid ciphertext length; PAL_ERR_INVALID misuse
 * by the caller.  No detail contains key material.
 *
 * Secrets: key objects, the threads' buffers and the random-access
 * scratch buffer are secmem allocations (secmem.h: locked into RAM where
 * RLIMIT_MEMLOCK allows, excluded from core dumps, zeroed in forked
 * children, wiped when freed).  OpenSSL keeps its own copy of the AES key
 * schedule inside each chunk context, in memory it allocates (neither
 * locked nor excluded from dumps, wiped when the context is freed); free
 * contexts as soon as the work is done.
 */
#ifndef PALISADE_CHUNKED_H
#define PALISADE_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"

#define PAL_CHUNKED_SALT_LEN 24
#define PAL_CHUNKED_COMMIT_LEN 32
#define PAL_CHUNKED_HEADER_LEN 56	/* salt || commitment */
#define PAL_CHUNKED_NONCE_LEN 12
#define PAL_CHUNKED_TAG_LEN 16
#define PAL_CHUNKED_KEY_MAX 32
#define PAL_CHUNKED_CHUNK_LEN 16384	/* plaintext bytes of a full chunk */
#define PAL_CHUNKED_CT_CHUNK_LEN (PAL_CHUNKED_CHUNK_LEN + PAL_CHUNKED_TAG_LEN)
#define PAL_CHUNKED_MAX_CHUNKS (UINT64_C(1) << 38)
/* The longest message: 2^38 chunks, the last one short (4 PiB - 1). */
#define PAL_CHUNKED_MAX_PLAIN \
	(PAL_CHUNKED_MAX_CHUNKS * PAL_CHUNKED_CHUNK_LEN - 1)
/*
 * The longest context accepted.  The HKDF info is 72 bytes longer; the
 * OpenSSL 3.0.19 of Debian 12 takes info of up to 32 KiB.  A sealed file's
 * context (model, release, path) is at most about 4.5 KiB.
 */
#define PAL_CHUNKED_CONTEXT_MAX 16384
/* Most threads a whole-message call starts, whatever it is asked for. */
#define PAL_CHUNKED_THREADS_MAX 64

enum pal_chunked_suite {
	PAL_COBBLESTONE_128 = 1,	/* AEAD_AES_128_GCM, 16-byte input key */
	PAL_COBBLESTONE_256 = 2,	/* AEAD_AES_256_GCM, 32-byte input key */
};

/* Per-message key, base nonce, salt and commitment. Opaque. */
struct pal_chunked_keys;
/* One AES-GCM context for one thread. Opaque. */
struct pal_chunked_ctx;

/* The input key length of suite (16 or 32), or 0 for an unknown suite. */
size_t pal_chunked_key_len(enum pal_chunked_suite suite);

/* The AEAD's IANA name ("AEAD_AES_256_GCM"), or NULL. */
const char *pal_chunked_aead_name(enum pal_chunked_suite suite);

/* ---- Keys ------------------------------------------------------------ */

/*
 * Derives the key, base nonce and commitment of the message with this
 * salt from the input key (exactly pal_chunked_key_len(suite) bytes; any
 * other length is PAL_ERR_INVALID, never truncated or padded) and the
 * context (0..PAL_CHUNKED_CONTEXT_MAX bytes, may be NULL when empty).
 * *out is set on success; the caller frees it with pal_chunked_keys_free.
 * The salt must never repeat under one input key: sealing callers use
 * pal_chunked_derive_random.  Errors: PAL_ERR_INVALID (suite, key or
 * context length), PAL_ERR_CRYPTO (HKDF failed), PAL_ERR_NOMEM,
 * PAL_ERR_SYSTEM.
 */
int pal_chunked_derive(enum pal_chunked_suite suite, const uint8_t *ikm,
		       size_t ikm_len,
		       const uint8_t salt[PAL_CHUNKED_SALT_LEN],
		       const uint8_t *context, size_t context_len,
		       struct pal_chunked_keys **out, struct pal_err *err);

/* As pal_chunked_derive with a fresh salt from the CSPRNG (for sealing). */
int pal_chunked_derive_random(enum pal_chunked_suite suite,
			      const uint8_t *ikm, size_t ikm_len,
			      const uint8_t *context, size_t context_len,
			      struct pal_chunked_keys **out,
			      struct pal_err *err);

/*
 * For opening: derives from the salt in a message's 56-byte header and
 * checks the header's commitment (constant time).  *out is set only when
 * the commitment matches; otherwise PAL_ERR_VERIFY ("commitment mismatch:
 * wrong key or context, or a modified salt or commitment").  The other
 * errors are pal_chunked_derive's.
 */
int pal_chunked_derive_header(enum pal_chunked_suite suite,
			      const uint8_t *ikm, size_t ikm_len,
			      const uint8_t header[PAL_CHUNKED_HEADER_LEN],
			      const uint8_t *context, size_t context_len,
			      struct pal_chunked_keys **out,
			      struct pal_err *err);

/*
 * 0 when commitment equals the derived one, else PAL_ERR_VERIFY.  The
 * comparison takes the same time wherever the bytes differ.
 */
int pal_chunked_check_commitment(const struct pal_chunked_keys *k,
				 const uint8_t commitment[PAL_CHUNKED_COMMIT_LEN],
				 struct pal_err *err);

/* Writes the message header, salt || commitment, into out. */
void pal_chunked_header(const struct pal_chunked_keys *k,
			uint8_t out[PAL_CHUNKED_HEADER_LEN]);

/* The suite k was derived for. */
enum pal_chunked_suite pal_chunked_keys_suite(const struct pal_chunked_keys *k);

/*
 * Hazmat, the spec's "raw mode": keys made from an AEAD key and base nonce
 * given directly, with no salt and no commitment.  Only for known-answer
 * tests (the Wycheproof vectors give aeadKey and baseNonce); the chunk
 * functions accept such keys, the whole-message and random-access
 * functions refuse them (PAL_ERR_INVALID), since raw messages have no
 * header.  key_len must be pal_chunked_key_len(suite).
 */
int pal_chunked_keys_raw(enum pal_chunked_suite suite, const uint8_t *key,
			 size_t key_len,
			 const uint8_t base_nonce[PAL_CHUNKED_NONCE_LEN],
			 struct pal_chunked_keys **out, struct pal_err *err);

/* Wipes and frees. NULL is a no-op. */
void pal_chunked_keys_free(struct pal_chunked_keys *k);

/* ---- Size arithmetic ------------------------------------------------- */

/* Chunks of a plaintext of pt_len bytes: pt_len / 16384 + 1. */
uint64_t pal_chunked_nchunks(uint64_t pt_len);

/*
 * The ciphertext length of a plaintext of pt_len bytes: 56 + pt_len +
 * 16 * nchunks.  PAL_ERR_LIMIT when pt_len > PAL_CHUNKED_MAX_PLAIN (more
 * than 2^38 chunks).
 */
int pal_chunked_ct_len(uint64_t pt_len, uint64_t *ct_len,
		       struct pal_err *err);

/*
 * The plaintext length of a ciphertext of ct_len bytes (header included),
 * refusing every length the spec calls invalid, with PAL_ERR_TRUNCATED and
 * a message saying which: shorter than the 56-byte header; a header and no
 * chunk; a body that ends after a full chunk (56 + k * 16400: the short
 * final chunk is missing, so the message was truncated); a final chunk
 * shorter than its 16-byte tag.  PAL_ERR_LIMIT when it would have more
 * than 2^38 chunks.  *pt_len is set only on success.
 */
int pal_chunked_pt_len(uint64_t ct_len, uint64_t *pt_len,
		       struct pal_err *err);

/* ---- Chunk contexts -------------------------------------------------- */

/*
 * A context for one thread: an AES-GCM context whose key is set once;
 * each chunk only sets its nonce.  It copies what it needs from k (k may
 * be freed afterwards).  A context may seal and open, but is not
 * thread-safe: give each thread its own.  Caller frees with
 * pal_chunked_ctx_free.  Errors: PAL_ERR_NOMEM, PAL_ERR_CRYPTO.
 */
int pal_chunked_ctx_new(const struct pal_chunked_keys *k,
			struct pal_chunked_ctx **out, struct pal_err *err);

/* Wipes and frees. NULL is a no-op. */
void pal_chunked_ctx_free(struct pal_chunked_ctx *c);

/*
 * Seals chunk index of pt_len plaintext bytes (at most 16384; a chunk of
 * 16384 is a full chunk, anything shorter is the message's final chunk)
 * into ct, pt_len + 16 bytes: the ciphertext then the tag.  ct may equal
 * pt (in place) but must not otherwise overlap it.  Errors:
 * PAL_ERR_INVALID for pt_len > 16384, PAL_ERR_LIMIT for index >= 2^38,
 * PAL_ERR_CRYPTO.
 */
int pal_chunked_seal_chunk(struct pal_chunked_ctx *c, uint64_t index,
			   const uint8_t *pt, size_t pt_len, uint8_t *ct,
			   struct pal_err *err);

/*
 * Opens chunk index from ct_len bytes (ciphertext and tag) into pt,
 * ct_len - 16 bytes (pt may equal ct).  final says whether the chunk is
 * the message's last: a final chunk must hold 16..16399 bytes (a full-size
 * last chunk means the message was truncated), any other exactly 16400;
 * otherwise PAL_ERR_TRUNCATED naming the chunk.  A chunk that does not
 * authenticate is PAL_ERR_VERIFY, "chunk <index>: authentication failed",
 * and pt is wiped.  PAL_ERR_LIMIT for index >= 2^38.
 */
int pal_chunked_open_chunk(struct pal_chunked_ctx *c, uint64_t index,
			   int final, const uint8_t *ct, size_t ct_len,
			   uint8_t *pt, struct pal_err *err);

/*
 * Hazmat: the single AES-GCM operation every chunk goes through, with an
 * explicit 12-byte nonce and optional AAD (a chunk is this with nonce =
 * base nonce XOR index and no AAD).  For known-answer tests only: a nonce
 * must never be used twice under one key.  len and aad_len are at most
 * 1 MiB.  Seal writes len bytes to out and the 16-byte tag to tag; open
 * reads the tag, writes len bytes to out, and on PAL_ERR_VERIFY wipes
 * them.  out may equal in.
 */
int pal_chunked_aead_seal(struct pal_chunked_ctx *c,
			  const uint8_t nonce[PAL_CHUNKED_NONCE_LEN],
			  const uint8_t *aad, size_t aad_len,
			  const uint8_t *in, size_t len, uint8_t *out,
			  uint8_t tag[PAL_CHUNKED_TAG_LEN],
			  struct pal_err *err);
int pal_chunked_aead_open(struct pal_chunked_ctx *c,
			  const uint8_t nonce[PAL_CHUNKED_NONCE_LEN],
			  const uint8_t *aad, size_t aad_len,
			  const uint8_t *in, size_t len,
			  const uint8_t tag[PAL_CHUNKED_TAG_LEN],
			  uint8_t *out, struct pal_err *err);

/* ---- Whole messages -------------------------------------------------- */

/*
 * The whole-message functions split the chunks into batches of
 * PAL_CHUNKED_BATCH chunks (1 MiB of plaintext) that nthreads threads
 * take in turn, each with its own chunk context and buffers.  nthreads 0
 * means one per online CPU; at most PAL_CHUNKED_THREADS_MAX, and never
 * more than there are batches (a message of one batch runs in the calling
 * thread).  The ciphertext is the same for any number of threads.
 */
#define PAL_CHUNKED_BATCH 64

/*
 * Seals pt_len bytes of pt into msg, which must be exactly
 * pal_chunked_ct_len(pt_len) bytes (msg_len): header, then the chunks.
 * Errors: PAL_ERR_INVALID (raw keys, wrong msg_len), PAL_ERR_LIMIT,
 * PAL_ERR_CRYPTO, PAL_ERR_NOMEM, PAL_ERR_SYSTEM (thread creation).
 */
int pal_chunked_seal_buf(const struct pal_chunked_keys *k, const uint8_t *pt,
			 size_t pt_len, uint8_t *msg, size_t msg_len,
			 unsigned nthreads, struct pal_err *err);

/*
 * Opens the message msg (msg_len bytes, header included) into pt, which
 * has room for pt_cap bytes; *pt_len is set to the plaintext length on
 * success.  The message's salt must be the one k was derived with and its
 * commitment must match (PAL_ERR_VERIFY otherwise), its length must be
 * valid (pal_chunked_pt_len), and the final chunk is opened before any
 * other.  On failure the first pal_chunked_pt_len(msg_len) bytes of pt
 * (or pt_cap, if fewer) are wiped.  Errors: PAL_ERR_VERIFY (commitment or
 * a chunk, which the message names), PAL_ERR_TRUNCATED, PAL_ERR_INVALID
 * (raw keys, pt_cap too small), PAL_ERR_LIMIT, PAL_ERR_NOMEM,
 * PAL_ERR_SYSTEM.
 */
int pal_chunked_open_buf(const struct pal_chunked_keys *k,
			 const uint8_t *msg, size_t msg_len, uint8_t *pt,
			 size_t pt_cap, size_t *pt_len, unsigned nthreads,
			 struct pal_err *err);

/*
 * Seals exactly pt_len bytes read from in_fd, starting at in_off, into a
 * message of pal_chunked_ct_len(pt_len) bytes written to out_fd at
 * out_off.  A descriptor that can seek (a regular file, a memfd, a block
 * device, /dev/null) is read or written with pread/pwrite at explicit
 * offsets, so threads never share a file position and the descriptor's
 * own position does not move; one that cannot (a pipe, a socket, a
 * terminal) is read or written in order with read/write from where it
 * stands, its offset argument ignored.  An input that ends before pt_len
 * bytes is PAL_ERR_TRUNCATED ("input ended at byte N of M"); bytes after
 * pt_len are not read.  On failure the output holds a partial ciphertext
 * the caller removes.  Errors: as pal_chunked_seal_buf, and PAL_ERR_IO
 * naming the failed read or write and its offset.
 */
int pal_chunked_seal_fd(const struct pal_chunked_keys *k, int in_fd,
			uint64_t in_off, uint64_t pt_len, int out_fd,
			uint64_t out_off, unsigned nthreads,
			struct pal_err *err);

/*
 * Opens the message of msg_len bytes that starts at byte base of in_fd
 * (after whatever header the file has of its own) and writes its
 * plaintext to out_fd at out_off, or in order where out_fd cannot seek
 * (see pal_chunked_seal_fd).  in_fd must be seekable (PAL_ERR_INVALID
 * otherwise).  Before anything is written, the header is checked against
 * k, the length is checked and the final chunk is opened; then batches
 * are opened whole and written only when every chunk in them
 * authenticated.  So the output never holds plaintext of a chunk that did
 * not authenticate; but when a later chunk fails, batches before it may
 * already have been written (with several threads and a seekable output,
 * batches after it too), and the caller must discard the output: remove
 * the file, close the memfd, fail the pipe's reader.  Errors: as
 * pal_chunked_open_buf, PAL_ERR_TRUNCATED when the file ends before
 * base + msg_len, and PAL_ERR_IO.
 */
int pal_chunked_open_fd(const struct pal_chunked_keys *k, int in_fd,
			uint64_t base, uint64_t msg_len, int out_fd,
			uint64_t out_off, unsigned nthreads,
			struct pal_err *err);

/*
 * Reads the 56-byte header of the message at byte base of fd (pread), for
 * pal_chunked_derive_header.  PAL_ERR_TRUNCATED when the file ends first,
 * PAL_ERR_IO when the read fails.
 */
int pal_chunked_read_header(int fd, uint64_t base,
			    uint8_t header[PAL_CHUNKED_HEADER_LEN],
			    struct pal_err *err);

/* ---- Random access ---------------------------------------------------- */

/* Also open the final chunk, authenticating the message's length. */
#define PAL_CHUNKED_AUTH_LENGTH 1u

/*
 * Decrypts plaintext bytes [off, off + len) of the message msg (msg_len
 * bytes, header included) into out (len bytes), opening only the chunks
 * that cover the range (none when len is 0), each checked against its
 * index and, for the last chunk of the message, the final-chunk rule.
 * The header is checked against the context's salt and commitment on
 * every call.  With PAL_CHUNKED_AUTH_LENGTH the final chunk is opened as
 * well, so that a truncated or extended message fails even when the range
 * does not reach its end (the spec requires this before seeking relative
 * to the end).  Without it, a range of authentic chunks reads successfully
 * from a message damaged elsewhere.  A range beyond the plaintext length
 * is PAL_ERR_INVALID.  On failure out is wiped.  c must come from keys
 * that are not raw; it holds a scratch buffer between calls.  Errors: as
 * pal_chunked_open_buf.
 */
int pal_chunked_read_buf(struct pal_chunked_ctx *c, const uint8_t *msg,
			 size_t msg_len, uint64_t off, size_t len,
			 uint8_t *out, unsigned flags, struct pal_err *err);

/* The same for the message of msg_len bytes at byte base of fd (pread). */
int pal_chunked_read_fd(struct pal_chunked_ctx *c, int fd, uint64_t base,
			uint64_t msg_len, uint64_t off, size_t len,
			uint8_t *out, unsigned flags, struct pal_err *err);

#endif
