/*
 * note_sign.h - signing C2SP signed notes (c2sp.org/signed-note) with
 * Ed25519 keys, such as a transparency log's checkpoints.
 *
 * A signer is a key name, its key ID and a sign callback, so that the key
 * may be a file key or stay on a PKCS#11 token:
 *  - file keys use the text of Go's golang.org/x/mod/sumdb/note,
 *    "PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || 32-byte seed)>",
 *    with the verifier key "<name>+<hex key ID>+<base64(0x01 || public
 *    key)>" (pal_note_verifier_parse reads it);
 *  - token keys are Ed25519 key pairs (CKK_EC_EDWARDS) signed with
 *    CKM_EDDSA (pal_p11_eddsa_open in pkcs11.h).
 * The key ID is SHA-256(name || "\n" || 0x01 || public key)[:4].
 *
 * Secrets: private key text is wiped by pal_note_skey_free and by every
 * function here that reads it; seeds never pass through a growable
 * buffer; a signer's key is freed (and wiped by OpenSSL) with the signer.
 * Nothing here logs or puts key material into an error message.
 */
#ifndef PALISADE_NOTE_SIGN_H
#define PALISADE_NOTE_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/buf.h"
#include "palisade/error.h"
#include "palisade/note.h"

#define PAL_NOTE_ED25519_PUB_LEN 32
#define PAL_NOTE_ED25519_SIG_LEN 64

/* The longest private key text read from a file, in bytes. */
#define PAL_NOTE_SKEY_MAX 1024

struct pal_note_signer {
	char name[PAL_NOTE_NAME_MAX + 1];	/* a valid key name */
	uint32_t key_id;			/* type 0x01 key ID */
	uint8_t pub[PAL_NOTE_ED25519_PUB_LEN];	/* the Ed25519 public key */
	/*
	 * Signs msg with the private key: a pure Ed25519 (RFC 8032)
	 * signature of the whole message into sig.
	 */
	int (*sign)(struct pal_note_signer *s, const uint8_t *msg,
		    size_t len, uint8_t sig[PAL_NOTE_ED25519_SIG_LEN],
		    struct pal_err *err);
	void (*destroy)(struct pal_note_signer *s);	/* frees ctx */
	void *ctx;
};

/*
 * A signer around a caller's sign callback (for keys held elsewhere):
 * checks the name, computes the key ID of pub.  On success the signer
 * owns ctx (destroy frees it, and may be NULL); on failure ctx is the
 * caller's still.  *out is the caller's (pal_note_signer_free).
 */
int pal_note_signer_new(const char *name,
			const uint8_t pub[PAL_NOTE_ED25519_PUB_LEN],
			int (*sign)(struct pal_note_signer *, const uint8_t *,
				    size_t, uint8_t *, struct pal_err *),
			void (*destroy)(struct pal_note_signer *), void *ctx,
			struct pal_note_signer **out, struct pal_err *err);

/* Frees the signer and its key; NULL is a no-op. */
void pal_note_signer_free(struct pal_note_signer *s);

/*
 * Generates an Ed25519 key named name: *skey is the private key text,
 * *vkey the verifier key, both NUL-terminated.  Caller frees *skey with
 * pal_note_skey_free (which wipes it) and *vkey with free().
 */
int pal_note_key_generate(const char *name, char **skey, char **vkey,
			  struct pal_err *err);

/* Wipes and frees private key text; NULL is a no-op. */
void pal_note_skey_free(char *skey);

/*
 * A signer from private key text of len bytes (no NUL, no newline).
 * Refused: a prefix other than "PRIVATE+KEY+", an invalid name, a key ID
 * that is not 8 lowercase hex digits or is not the key's, a key that is
 * not 44 characters of base64 of 0x01 and a 32-byte seed.  The caller
 * still owns and wipes skey.
 */
int pal_note_signer_from_skey(const char *skey, size_t len,
			      struct pal_note_signer **out,
			      struct pal_err *err);

/*
 * As pal_note_signer_from_skey with the text of a file (at most
 * PAL_NOTE_SKEY_MAX bytes, one trailing newline allowed); the bytes read
 * are wiped.
 */
int pal_note_signer_load(const char *path, struct pal_note_signer **out,
			 struct pal_err *err);

/*
 * A signer with the Ed25519 key on the PKCS#11 token that uri names (see
 * pkcs11.h for the URI, the PIN and how the key is found), under the key
 * name name.  Every signature the token returns is verified with the
 * key's public half before it is used.
 */
int pal_note_signer_from_pkcs11(const char *uri, const char *name,
				struct pal_note_signer **out,
				struct pal_err *err);

/* The signer's verifier key text; *vkey is the caller's (free()). */
int pal_note_signer_vkey(const struct pal_note_signer *s, char **vkey,
			 struct pal_err *err);

/*
 * Signs text (len bytes: UTF-8 without control characters but newline,
 * ending in a newline) with the n signers and appends the signed note to
 * out: text, a blank line, then "— <name> base64(key ID || signature)"
 * and a newline for each signer, in order.  Two signers may not share a
 * name and key ID.  Each signature is verified with its signer's public
 * key, and the whole note parsed back, before anything is appended; on
 * failure out is unchanged.  out's ceiling is the caller's.
 */
int pal_note_sign(const uint8_t *text, size_t len,
		  struct pal_note_signer *const *signers, size_t n,
		  struct pal_buf *out, struct pal_err *err);

#endif
