/*
 * tlog_proof.h - C2SP transparency log proofs (c2sp.org/tlog-proof): an
 * entry's index, its inclusion proof and the log's checkpoint, as one
 * self-contained text that can be verified offline.
 *
 *	c2sp.org/tlog-proof@v1
 *	extra <base64>			(optional, unauthenticated)
 *	index <decimal>
 *	<base64 hash>			(zero or more)
 *
 *	<the signed checkpoint note, verbatim>
 *
 * The parse is strict, so that a proof has one spelling: canonical
 * base64, a decimal index without leading zeros, hashes of exactly 32
 * bytes, no empty extra line, at most PAL_MERKLE_MAX_PROOF hashes, and a
 * checkpoint that is non-empty, free of NULs and ends in a newline.  The
 * checkpoint is not parsed here: a verifier parses and verifies it as a
 * signed note (note.h) before trusting anything in it, and the extra data
 * is never trusted.
 */
#ifndef PALISADE_TLOG_PROOF_H
#define PALISADE_TLOG_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/buf.h"
#include "palisade/error.h"
#include "palisade/merkle.h"
#include "palisade/note.h"

#define PAL_TLOG_PROOF_HEADER "c2sp.org/tlog-proof@v1"
#define PAL_TLOG_PROOF_EXTRA_MAX 49152	/* bytes, 64 KiB of base64 */
/* A whole proof: the header lines and hashes, then a note. */
#define PAL_TLOG_PROOF_MAX_LEN (PAL_NOTE_MAX_LEN + (1 << 17))

struct pal_tlog_proof {
	uint8_t *extra;		/* decoded extra data, NULL when absent */
	size_t extra_len;	/* > 0 when extra is set */
	uint64_t index;
	uint8_t hashes[PAL_MERKLE_MAX_PROOF][PAL_MERKLE_HASH_LEN];
	size_t n_hashes;
	uint8_t *checkpoint;	/* the note, NUL-terminated (not counted) */
	size_t checkpoint_len;
};

/* Parses a proof; *out is the caller's (pal_tlog_proof_free). */
int pal_tlog_proof_parse(const uint8_t *text, size_t len,
			 struct pal_tlog_proof **out, struct pal_err *err);
void pal_tlog_proof_free(struct pal_tlog_proof *p);

/*
 * Appends the text of p to out.  Fields are read, not taken: a caller may
 * fill a struct on the stack with pointers it owns.  extra is written
 * only when extra_len > 0.  The same checks as the parse apply, so what
 * this writes parses back to p.
 */
int pal_tlog_proof_format(const struct pal_tlog_proof *p,
			  struct pal_buf *out, struct pal_err *err);

/*
 * Checks that leaf (the entry's leaf hash) is at p->index in the tree of
 * c, using p's hashes.  c must come from p->checkpoint after the note's
 * signatures verified and its origin was found acceptable; this checks the
 * Merkle path only.  0 or PAL_ERR_VERIFY.
 */
int pal_tlog_proof_verify_inclusion(const struct pal_tlog_proof *p,
				    const struct pal_checkpoint *c,
				    const uint8_t leaf[PAL_MERKLE_HASH_LEN],
				    struct pal_err *err);

#endif
