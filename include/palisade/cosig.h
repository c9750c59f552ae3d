/*
 * cosig.h - witness cosignatures on transparency log checkpoints
 * (c2sp.org/tlog-cosignature) and k-of-n witness policies.
 *
 * A cosignature is a signed-note signature line by a witness (a
 * "cosigner") that says: as of this time, this is the largest tree of the
 * log I have seen, and it is consistent with every earlier one I saw.
 * Only the Ed25519 kind is supported (signature type 0x04):
 *  - key ID = SHA-256(name || "\n" || 0x04 || 32-byte public key)[:4];
 *  - signature = u64 big-endian timestamp || Ed25519 signature, the
 *    timestamp at most 2^63 - 1 (POSIX seconds);
 *  - signed message = "cosignature/v1\n" "time <timestamp>\n" and the
 *    whole checkpoint text (extension lines included).
 * The message does not commit to the witness's name, so a witness key
 * must not be shared between two witness names.  The ML-DSA-44 kind (type
 * 0x06) is not supported: its lines are unknown keys, and are ignored.
 *
 * A witness policy says which log keys may sign a checkpoint and which
 * sets of witnesses must cosign it.  Its text is the Sigsum policy syntax
 * (sigsum-go doc/policy.md, with its Appendix A for C2SP checkpoints):
 *
 *   # comment (to the end of the line)
 *   log <key> [<url>]
 *   witness <name> <key> [<url>]
 *   group <name> <k>|any|all <member>...
 *   quorum <name>|none
 *
 * Items are separated by spaces and tabs; blank lines and comments are
 * ignored.  Keys are 64 hex digits of an Ed25519 public key, as in Sigsum;
 * as an extension a key may also be a vkey (it contains '+').
 *  - log: the checkpoint must carry a verifying signature by one of the
 *    logs.  A hex key signs as type 0x01 under the checkpoint's origin as
 *    key name (the C2SP checkpoint convention); a vkey (type 0x01 or 0x02)
 *    under its own name.  With no log line the log signature is not
 *    checked here: verify the note with pal_note_verify first.
 *  - witness: the name is the witness's key name in its cosignature lines
 *    (so it must be a valid key name); a vkey must be of type 0x04 and
 *    bear the same name.
 *  - group: satisfied when at least k of its n distinct members (earlier
 *    witnesses or groups) are; any = 1, all = n, 1 <= k <= n.
 *  - quorum: exactly one, naming an earlier witness or group, or the
 *    predefined none (no cosignature required).
 * Witness and group names share one namespace, "none" included, and a
 * name is defined once; logs and witnesses may not repeat a key.  The
 * file must be UTF-8 with no control character but tab and newline.
 * Errors name the line ("line 3: threshold 4 of 3 members").
 */
#ifndef PALISADE_COSIG_H
#define PALISADE_COSIG_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "palisade/buf.h"
#include "palisade/error.h"
#include "palisade/note.h"
#include "palisade/note_sign.h"

#define PAL_COSIG_ED25519 0x04
#define PAL_COSIG_SIG_LEN (8 + 64)	/* timestamp || Ed25519 signature */
#define PAL_COSIG_TIME_MAX ((uint64_t)INT64_MAX)

/* A witness's cosigning key. */
struct pal_cosig_verifier {
	char name[PAL_NOTE_NAME_MAX + 1];
	uint32_t key_id;		/* type 0x04 key ID */
	uint8_t pub[PAL_NOTE_ED25519_PUB_LEN];
	EVP_PKEY *key;			/* owned */
};

/* A verifier for the witness name with Ed25519 key pub. */
int pal_cosig_verifier_new(const char *name,
			   const uint8_t pub[PAL_NOTE_ED25519_PUB_LEN],
			   struct pal_cosig_verifier **out,
			   struct pal_err *err);

/*
 * Parses a type 0x04 vkey "name+hex(key ID)+base64(0x04 || key)" of len
 * bytes; the key ID must be the key's.
 */
int pal_cosig_verifier_parse(const char *vkey, size_t len,
			     struct pal_cosig_verifier **out,
			     struct pal_err *err);
void pal_cosig_verifier_free(struct pal_cosig_verifier *w);

/* The verifier's vkey text; *vkey is the caller's (free()). */
int pal_cosig_verifier_vkey(const struct pal_cosig_verifier *w, char **vkey,
			    struct pal_err *err);

/*
 * Appends the message a cosignature signs to out: "cosignature/v1\n",
 * "time <timestamp>\n", then text.
 */
int pal_cosig_message(uint64_t timestamp, const uint8_t *text, size_t len,
		      struct pal_buf *out, struct pal_err *err);

/*
 * Cosigns a checkpoint's text (len bytes, which must parse as a
 * checkpoint) at timestamp (<= PAL_COSIG_TIME_MAX) with s's key, under
 * s's name and the type 0x04 key ID of s's public key, and appends the
 * signature line "— <name> base64(key ID || timestamp || signature)\n" to
 * out.  Appending the line to the signed checkpoint adds the cosignature.
 * The signature is verified before the line is written; on failure out
 * is unchanged.  A witness must have checked the checkpoint (its log's
 * signature, consistency with what it cosigned before) first.
 */
int pal_cosign(struct pal_note_signer *s, const uint8_t *text, size_t len,
	       uint64_t timestamp, struct pal_buf *out, struct pal_err *err);

/*
 * Looks for w's cosignature on n: a signature line with w's name and key
 * ID.  None: 0 with *found 0.  One that verifies: 0 with *found 1 and
 * *timestamp set.  One that does not (wrong length, timestamp above
 * PAL_COSIG_TIME_MAX, bad signature): PAL_ERR_VERIFY, and the note should
 * be refused as a whole.  Future timestamps are not refused here.
 */
int pal_cosig_verify(const struct pal_note *n,
		     const struct pal_cosig_verifier *w, int *found,
		     uint64_t *timestamp, struct pal_err *err);

/* ---- witness policies ---- */

#define PAL_WITNESS_POLICY_MAX (64 * 1024)	/* bytes of policy text */
#define PAL_WITNESS_POLICY_MAX_LOGS 32
#define PAL_WITNESS_POLICY_MAX_WITNESSES 64
#define PAL_WITNESS_POLICY_MAX_GROUPS 64

struct pal_witness_policy;

/* Parses policy text of len bytes; *out: pal_witness_policy_free. */
int pal_witness_policy_parse(const char *text, size_t len,
			     struct pal_witness_policy **out,
			     struct pal_err *err);

/* As pal_witness_policy_parse with a file's text; errors name the file. */
int pal_witness_policy_load(const char *path,
			    struct pal_witness_policy **out,
			    struct pal_err *err);
void pal_witness_policy_free(struct pal_witness_policy *p);

/* Witnesses in the order of their lines. */
size_t pal_witness_policy_count(const struct pal_witness_policy *p);
const struct pal_cosig_verifier *
pal_witness_policy_witness(const struct pal_witness_policy *p, size_t i);

/* What a check found; verified[i] is for pal_witness_policy_witness(i). */
struct pal_witness_result {
	int log_checked;	/* the policy named logs and one verified */
	int satisfied;		/* the quorum holds */
	size_t n_witnesses;
	size_t n_verified;
	uint8_t verified[PAL_WITNESS_POLICY_MAX_WITNESSES];
	uint64_t timestamp[PAL_WITNESS_POLICY_MAX_WITNESSES];
};

/*
 * Checks a signed checkpoint against the policy: c must be the parse of
 * n's text (PAL_ERR_INVALID otherwise); a policy with log lines needs a
 * verifying log signature; every cosignature by a policy witness must
 * verify; then the quorum must hold.  Returns 0 when it does, else
 * PAL_ERR_VERIFY naming what failed.  res, when not NULL, is filled in
 * either case (a log or cosignature that does not verify leaves it
 * partly filled and satisfied 0).
 */
int pal_witness_policy_check(const struct pal_witness_policy *p,
			     const struct pal_note *n,
			     const struct pal_checkpoint *c,
			     struct pal_witness_result *res,
			     struct pal_err *err);

#endif
