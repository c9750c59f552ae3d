/*
 * note.h - C2SP signed notes (c2sp.org/signed-note) and transparency log
 * checkpoints (c2sp.org/tlog-checkpoint).
 *
 * A signed note is UTF-8 text ending in a newline, a blank line, then one
 * or more lines "— <name> base64(key ID || signature)".  The parser is
 * strict: no control characters but newline, no duplicate signatures, at
 * most PAL_NOTE_MAX_SIGS of them, canonical base64, key names without
 * spaces or '+'.  The text must be ignored until pal_note_verify accepted
 * it.
 *
 * Verifiers are keys with a name and a 32-bit key ID:
 *  - Ed25519 (type 0x01), from a vkey "name+hex(id)+base64(0x01 || key)",
 *    key ID = SHA-256(name || "\n" || 0x01 || key)[:4];
 *  - ECDSA P-256/P-384/P-521 (type 0x02, as transparency-dev witnesses and
 *    Rekor sign checkpoints), from a vkey "name+hex(id)+base64(0x02 ||
 *    SPKI DER)" or from a key, key ID = SHA-256(SPKI DER)[:4]; the
 *    signature is a DER ECDSA-Sig-Value over SHA-256 of the text.
 * A signature counts only when both its name and key ID match a verifier;
 * others are ignored, as the specification requires.
 *
 * Signing notes and the keys that do it: note_sign.h.  Witness
 * cosignatures and witness policies: cosig.h.
 */
#ifndef PALISADE_NOTE_H
#define PALISADE_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "palisade/buf.h"
#include "palisade/error.h"
#include "palisade/merkle.h"

#define PAL_NOTE_MAX_LEN (1 << 20)	/* a whole note, signatures included */
#define PAL_NOTE_MAX_SIGS 100		/* the specification asks for >= 16 */
#define PAL_NOTE_NAME_MAX 255		/* bytes of a key name */

enum {
	PAL_NOTE_ED25519 = 0x01,
	PAL_NOTE_ECDSA = 0x02,
};

struct pal_note_sig {
	char *name;		/* NUL-terminated key name */
	uint32_t key_id;
	uint8_t *sig;		/* the signature after the key ID */
	size_t sig_len;
};

/* A parsed, not yet verified, note; everything owned by the note. */
struct pal_note {
	uint8_t *text;		/* the signed text, final newline included, */
	size_t text_len;	/* NUL-terminated (not counted) */
	struct pal_note_sig *sigs;
	size_t n_sigs;
};

/* Parses a signed note; *out is the caller's (pal_note_free). */
int pal_note_parse(const uint8_t *msg, size_t len, struct pal_note **out,
		   struct pal_err *err);
void pal_note_free(struct pal_note *n);

struct pal_note_verifier {
	char name[PAL_NOTE_NAME_MAX + 1];
	uint32_t key_id;
	uint8_t type;		/* PAL_NOTE_ED25519 or PAL_NOTE_ECDSA */
	EVP_PKEY *key;		/* owned */
};

/* Parses a vkey of type 0x01 or 0x02; the key ID must match the key. */
int pal_note_verifier_parse(const char *vkey, size_t len,
			    struct pal_note_verifier **out,
			    struct pal_err *err);

/*
 * A verifier for key under name: Ed25519 keys give type 0x01, EC keys type
 * 0x02 (the Rekor checkpoint key ID); the key is up-referenced, not taken.
 */
int pal_note_verifier_from_key(const char *name, EVP_PKEY *key,
			       struct pal_note_verifier **out,
			       struct pal_err *err);
void pal_note_verifier_free(struct pal_note_verifier *v);

/*
 * Verifies n against the nv verifiers in vs.  Every signature whose name
 * and key ID match a verifier must verify (one that does not rejects the
 * note), and at least one must.  verified, when not NULL, has nv entries,
 * set to 1 for each verifier whose signature verified and 0 otherwise.
 */
int pal_note_verify(const struct pal_note *n,
		    struct pal_note_verifier *const *vs, size_t nv,
		    uint8_t *verified, struct pal_err *err);

/* A checkpoint: the text of a log's signed note, parsed. */
struct pal_checkpoint {
	char *origin;		/* first line, NUL-terminated */
	uint64_t size;		/* leaves in the tree */
	uint8_t root[PAL_MERKLE_HASH_LEN];
	char **ext;		/* extension lines, NUL-terminated */
	size_t n_ext;
};

#define PAL_CHECKPOINT_MAX_EXT 64

/*
 * Parses a checkpoint from note text (pal_note.text): origin, decimal size
 * without leading zeros, base64 root of 32 bytes, then non-empty extension
 * lines; every line ends in a newline.  *out is the caller's.
 */
int pal_checkpoint_parse(const uint8_t *text, size_t len,
			 struct pal_checkpoint **out, struct pal_err *err);
void pal_checkpoint_free(struct pal_checkpoint *c);

/*
 * Appends the text of a checkpoint to out: origin, size in decimal, the
 * base64 root, then the n_ext extension lines, each line ending in a
 * newline.  The origin and extension lines must be non-empty UTF-8
 * without control characters, and there may be at most
 * PAL_CHECKPOINT_MAX_EXT extension lines, so that pal_checkpoint_parse
 * reads the text back into the same values.  On failure out is
 * unchanged.  Sign the text with pal_note_sign (note_sign.h).
 */
int pal_checkpoint_format(const char *origin, uint64_t size,
			  const uint8_t root[PAL_MERKLE_HASH_LEN],
			  const char *const *ext, size_t n_ext,
			  struct pal_buf *out, struct pal_err *err);

#endif
