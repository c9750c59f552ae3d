/*
 * keystore.h - the vault's keys on a PKCS#11 token: one AES-256
 * key-encryption key (KEK) per release, inside the token, that wraps the
 * release's data key (DEK).
 *
 * The token is chosen by module path and token label (and optionally its
 * serial number), never by slot number.  The embedded default is a
 * SoftHSM2 token of the vault's own, in a directory of the vault's own
 * (pal_keystore_softhsm_create); any other PKCS#11 module is a path and a
 * label away.
 *
 * What the token protects, and what it does not:
 *
 *   - A KEK is generated inside the token (C_GenerateKey) as a token
 *     object that is private (needs the user PIN), sensitive and never
 *     extractable, usable only to wrap and unwrap keys (CKA_ENCRYPT,
 *     CKA_DECRYPT, CKA_SIGN, CKA_VERIFY, CKA_DERIVE false), and not
 *     modifiable or copyable, so that nobody can later turn decryption on
 *     or copy it into an extractable object.  Its value never leaves the
 *     token through this interface, nor through any other PKCS#11 call a
 *     conforming token accepts.  With a hardware token that means it never
 *     leaves the device.  SoftHSM2, the embedded default, is a library
 *     loaded into this process: its token is a directory of files, a
 *     private object is stored encrypted under a key derived from the
 *     user PIN, and a KEK in use is decrypted into this process's memory.
 *     There "never extractable" means "not through PKCS#11"; anyone who can
 *     read this process's memory, or who has the token directory and the
 *     user PIN, has the KEKs.
 *   - A DEK is 32 random bytes made on the host.  It does reach host
 *     memory: at seal and at unseal, because AES-256-GCM at gigabytes per
 *     second runs in OpenSSL on the host, not in the token.  It is held
 *     only in secmem.h memory (locked, excluded from core dumps, wiped in
 *     forked children, wiped on free), and it passes through the token's
 *     memory as a short-lived session object while it is wrapped or
 *     unwrapped.  With SoftHSM2 that memory is this process's heap:
 *     SoftHSM2 wipes key bytes when it frees them (its SecureAllocator),
 *     but whether it locks them depends on how it was built; do not count
 *     on it.  Only the wrapped DEK (RFC 5649 or RFC 3394 AES key wrap
 *     under the KEK) is ever written anywhere.
 *   - Whoever holds the user PIN and can reach the token can unwrap every
 *     DEK: the PIN is the token's only access control.  Two-person control
 *     (approval.h) decides whether Palisade asks the token at all; it
 *     cannot stop someone who has the PIN and the token from asking
 *     directly.  Keep the PIN away from the people whose approvals are
 *     required.
 *
 * What shredding (destroying a release's KEK) guarantees:
 *
 *   - With a hardware token (an HSM, a smart card) the key is destroyed
 *     inside the device; once it is gone, every wrapped DEK under it, and
 *     so every file sealed under that release, can no longer be decrypted
 *     by anyone, including from backups of the sealed files.  (Unless the
 *     HSM itself was backed up or cloned: that is the HSM's key backup
 *     policy, outside Palisade.)
 *   - With SoftHSM2, token objects are files in the token directory
 *     (tokendir/<token uuid>/<object uuid>.object; private objects are
 *     encrypted under a key derived from the user PIN).  C_DestroyObject
 *     unlinks the file.  The bytes may survive on the disk or SSD (unlinked
 *     blocks, wear levelling), in backups, in filesystem or volume
 *     snapshots, and in copies of the vault directory.  Shredding with
 *     SoftHSM2 is therefore a logical deletion, not a physical one: it
 *     stops Palisade and anyone without an old copy of the token
 *     directory, but someone with such a copy and the user PIN can still
 *     recover the KEK.  For physical guarantees, keep the KEKs in a
 *     hardware token.
 *
 * Labels: a release R's KEK has CKA_LABEL "palisade:release:R"; after a
 * rotation its successors are "palisade:release:R#2", "#3", ...  The
 * current KEK of R is the one of highest generation.  CKA_ID is 16 random
 * bytes.  A sealed file names the KEK it needs by label and id
 * (pal_keystore_kek_lookup).
 *
 * Errors: PAL_ERR_INVALID for a bad argument, a missing, duplicated or
 * foreign key, a token that is not found or a wrong PIN; PAL_ERR_VERIFY
 * when a wrapped DEK does not unwrap (wrong KEK, damaged bytes);
 * PAL_ERR_UNSUPPORTED for a token without the mechanisms needed;
 * PAL_ERR_CRYPTO for other token failures; PAL_ERR_IO and PAL_ERR_SYSTEM
 * for files and the module.  Messages name the token, the release and the
 * PKCS#11 return value (CKR_...); they never contain a PIN or key bytes.
 *
 * Threads: a keystore is one PKCS#11 session; use it from one thread at a
 * time.
 */
#ifndef PALISADE_KEYSTORE_H
#define PALISADE_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"
#include "palisade/secmem.h"

/* The label of the token pal_keystore_softhsm_create makes by default. */
#define PAL_KEYSTORE_TOKEN_LABEL "palisade-vault"

/* The environment variable read for the SO PIN when none is given. */
#define PAL_KEYSTORE_SO_PIN_ENV "PALISADE_PKCS11_SO_PIN"

/* The environment variable SoftHSM2 reads its configuration path from. */
#define PAL_KEYSTORE_SOFTHSM_ENV "SOFTHSM2_CONF"

/* CKA_LABEL of a KEK: this prefix and the release name. */
#define PAL_KEYSTORE_LABEL_PREFIX "palisade:release:"

/* Longest release name, in bytes. */
#define PAL_KEYSTORE_RELEASE_MAX 128

/* Highest KEK generation (rotations of one release). */
#define PAL_KEYSTORE_GENERATION_MAX 1000000u

/* Longest KEK label: prefix, release, '#', generation. */
#define PAL_KEYSTORE_LABEL_MAX (17 + PAL_KEYSTORE_RELEASE_MAX + 1 + 7)

#define PAL_KEYSTORE_ID_LEN 16		/* CKA_ID of a KEK */
#define PAL_KEYSTORE_DEK_LEN 32		/* an AES-256 data key */
#define PAL_KEYSTORE_WRAPPED_LEN 40	/* a wrapped DEK, either mechanism */
#define PAL_KEYSTORE_SERIAL_MAX 16	/* CK_TOKEN_INFO serialNumber */

/*
 * The wrapping mechanisms, as their CKM_* numbers (so that callers need no
 * PKCS#11 header).  A sealed file records which one wrapped its DEK.
 */
#define PAL_KEYSTORE_MECH_AES_KEY_WRAP 0x2109UL	/* RFC 3394 */
#define PAL_KEYSTORE_MECH_AES_KEY_WRAP_PAD 0x210aUL	/* RFC 5649 */

/*
 * Where a PIN comes from: value (a secret the caller owns and wipes), or
 * the file named by file ("file:/path", "file:///path" or a path; one
 * trailing newline dropped), as for pkcs11 URIs (pkcs11.h).  Both NULL:
 * the environment (PAL_P11_PIN_ENV for the user PIN,
 * PAL_KEYSTORE_SO_PIN_ENV for the SO PIN).  Both set: an error.
 */
struct pal_keystore_pin {
	const char *value;
	const char *file;
};

/* Which token, and how to log in. */
struct pal_keystore_config {
	const char *module;	/* module path; NULL: PAL_P11_DEFAULT_MODULE */
	/* The token's label; NULL: PAL_KEYSTORE_TOKEN_LABEL. */
	const char *token;
	const char *serial;	/* when not NULL, the token's serial too */
	/*
	 * The vault's embedded SoftHSM2 directory, or NULL for any other
	 * token.  It holds softhsm2.conf and tokens/; see
	 * pal_keystore_softhsm_use.
	 */
	const char *softhsm_dir;
	struct pal_keystore_pin pin;	/* the user PIN */
};

/*
 * Creates the vault's SoftHSM2 token in c->softhsm_dir (created 0700 if
 * missing, with tokens/ inside it): writes DIR/softhsm2.conf
 * (directories.tokendir = DIR/tokens, objectstore.backend = file,
 * log.level = ERROR; an existing one must say exactly that), points
 * SOFTHSM2_CONF at it (pal_keystore_softhsm_use), initializes a free slot
 * with C_InitToken under the SO PIN and the label c->token (default
 * PAL_KEYSTORE_TOKEN_LABEL; 1 to 32 printable ASCII characters, no
 * leading or trailing space), logs in as SO and sets the user PIN
 * (c->pin) with C_InitPIN.  Both PINs are required.  Refused when a token
 * with that label already exists in DIR, or when c->softhsm_dir is NULL.
 * c->serial is ignored.  When serial is not NULL it receives the new
 * token's serial number (NUL-terminated), by which the caller may pin the
 * token in later configurations.  A failure after C_InitToken leaves a
 * token without a user PIN, which the refusal of a second attempt names.
 */
int pal_keystore_softhsm_create(const struct pal_keystore_config *c,
				const struct pal_keystore_pin *so_pin,
				char serial[PAL_KEYSTORE_SERIAL_MAX + 1],
				struct pal_err *err);

/*
 * Sets SOFTHSM2_CONF to DIR/softhsm2.conf (which must exist and name
 * DIR/tokens) for this process.  SoftHSM2 reads SOFTHSM2_CONF once, in
 * C_Initialize, which runs when the first user in the process loads the
 * module (modules are shared and counted: pkcs11_module.c); the setting
 * therefore applies only if no one in this process holds SoftHSM2 open.
 * When SoftHSM2 is already initialized here with another SOFTHSM2_CONF
 * the call is refused rather than pointing at another vault's tokens.
 * pal_keystore_open and pal_keystore_softhsm_create call it themselves
 * when c->softhsm_dir is set.  setenv() is not thread-safe: call it before
 * other threads read the environment.
 */
int pal_keystore_softhsm_use(const char *dir, const char *module,
			     struct pal_err *err);

struct pal_keystore;

/*
 * Opens the vault's token: loads the module (for an embedded vault, after
 * pal_keystore_softhsm_use), finds the one initialized token with the
 * label (and serial), opens a read-write session and logs in with the
 * user PIN, which is wiped at once.  Then probes the token's mechanisms
 * (C_GetMechanismList, C_GetMechanismInfo): CKM_AES_KEY_GEN must be
 * there, able to generate 32-byte keys, and the wrapping mechanism is
 * CKM_AES_KEY_WRAP_PAD, else CKM_AES_KEY_WRAP, each needing both the
 * CKF_WRAP and CKF_UNWRAP flags.  A token with neither is refused
 * (PAL_ERR_UNSUPPORTED) with the list of the wrapping mechanisms it has.
 * *out is set on success; caller closes with pal_keystore_close.
 */
int pal_keystore_open(const struct pal_keystore_config *c,
		      struct pal_keystore **out, struct pal_err *err);

/* Logs out (by closing the session) and unloads; NULL is a no-op. */
void pal_keystore_close(struct pal_keystore *ks);

/* The wrapping mechanism new wraps use: one of PAL_KEYSTORE_MECH_*. */
unsigned long pal_keystore_wrap_mech(const struct pal_keystore *ks);

/* 1 when the token can wrap and unwrap with mech (PAL_KEYSTORE_MECH_*). */
int pal_keystore_mech_supported(const struct pal_keystore *ks,
				unsigned long mech);

/* "CKM_AES_KEY_WRAP_PAD" and so on, or NULL for a number not known. */
const char *pal_keystore_mech_name(unsigned long mech);

/* The token's label and serial number, unpadded, escaped for printing. */
const char *pal_keystore_token_label(const struct pal_keystore *ks);
const char *pal_keystore_token_serial(const struct pal_keystore *ks);

/*
 * A release name: 1 to PAL_KEYSTORE_RELEASE_MAX bytes of ASCII letters,
 * digits and . _ - + = @ : , not starting with '.' or '-'.  ('#' separates
 * the generation in a KEK label; '/' and spaces are kept out of names
 * that may end up in paths and command lines.)  0 or PAL_ERR_INVALID.
 */
int pal_keystore_release_check(const char *release, struct pal_err *err);

/* A release's KEK on the token. */
struct pal_kek {
	char release[PAL_KEYSTORE_RELEASE_MAX + 1];
	unsigned int generation;	/* 1, then 2, 3 after rotations */
	char label[PAL_KEYSTORE_LABEL_MAX + 1];	/* CKA_LABEL */
	uint8_t id[PAL_KEYSTORE_ID_LEN];	/* CKA_ID */
	char id_hex[2 * PAL_KEYSTORE_ID_LEN + 1];
	/*
	 * The object's handle when it was found, in the keystore that found
	 * it.  For information only: every operation finds the key again by
	 * label and id (and checks it), so a stale handle is never used.
	 */
	unsigned long handle;
};

/*
 * Generates the first KEK of a release (generation 1, label
 * "palisade:release:R", a fresh random CKA_ID) with the attributes listed
 * at the top of this file.  Refused when the release has a KEK of any
 * generation.  *out describes the new key.
 */
int pal_keystore_kek_create(struct pal_keystore *ks, const char *release,
			    struct pal_kek *out, struct pal_err *err);

/*
 * Finds the current KEK of a release: the highest generation, which must
 * be a single object.  Every object labelled as a KEK of this release is
 * checked to be one (an AES key of 32 bytes, token, private, sensitive,
 * not extractable, wrap and unwrap, no encrypt or decrypt, a 16-byte id);
 * a foreign one is an error naming what is wrong with it.
 * PAL_ERR_INVALID "... has no key-encryption key ... (never created, or
 * shredded)" when there is none.
 */
int pal_keystore_kek_find(struct pal_keystore *ks, const char *release,
			  struct pal_kek *out, struct pal_err *err);

/*
 * Finds the one KEK with this label and id (as a sealed file names it),
 * checked as by pal_keystore_kek_find.  The label must be a KEK label.
 */
int pal_keystore_kek_lookup(struct pal_keystore *ks, const char *label,
			    const uint8_t *id, size_t id_len,
			    struct pal_kek *out, struct pal_err *err);

/*
 * Every KEK on the token, sorted by release and generation.  Objects with
 * other labels are ignored; an object with a KEK label that is not a
 * proper KEK is an error.  At most 65536 secret keys are looked at.
 * *out (NULL when *n is 0) is freed by the caller with free().
 */
int pal_keystore_kek_list(struct pal_keystore *ks, struct pal_kek **out,
			  size_t *n, struct pal_err *err);

/*
 * Rotation, step 1: generates the next generation's KEK for a release
 * that has one (the current generation g gives "palisade:release:R#g+1").
 * Step 2 is pal_keystore_rewrap of every wrapped DEK of the release from
 * the old KEK to the new; step 3, once the new wraps are durably stored,
 * pal_keystore_kek_destroy of the old KEK.  Until step 3 both keys exist
 * and both open their own wraps, so an interrupted rotation loses nothing;
 * pal_keystore_kek_find returns the new key from step 1 on.
 */
int pal_keystore_kek_next(struct pal_keystore *ks, const char *release,
			  struct pal_kek *out, struct pal_err *err);

/*
 * Destroys one KEK (C_DestroyObject) and checks that the token no longer
 * has an object with its label and id.  See the top of this file for what
 * that guarantees.
 */
int pal_keystore_kek_destroy(struct pal_keystore *ks,
			     const struct pal_kek *kek, struct pal_err *err);

/*
 * Shreds a release: destroys every generation of its KEK, so that no
 * wrap of its DEK opens again.  *destroyed (when not NULL) receives how
 * many keys went.  PAL_ERR_INVALID when the release has no KEK.
 */
int pal_keystore_shred(struct pal_keystore *ks, const char *release,
		       size_t *destroyed, struct pal_err *err);

/* A wrapped DEK and the mechanism that wrapped it. */
struct pal_wrapped_dek {
	unsigned long mech;		/* PAL_KEYSTORE_MECH_* */
	size_t len;			/* PAL_KEYSTORE_WRAPPED_LEN */
	uint8_t bytes[PAL_KEYSTORE_WRAPPED_LEN];
};

/*
 * A new DEK: PAL_KEYSTORE_DEK_LEN bytes from OpenSSL's private DRBG
 * (RAND_priv_bytes) in secret memory.  Caller frees with pal_secmem_free.
 */
int pal_keystore_dek_generate(struct pal_secmem **out, struct pal_err *err);

/*
 * Wraps a DEK (PAL_KEYSTORE_DEK_LEN bytes) with the KEK, using
 * pal_keystore_wrap_mech: the DEK becomes a session object (CKA_TOKEN
 * false, CKK_AES, extractable, usable for nothing else), is wrapped with
 * C_WrapKey, and the object is destroyed.  The token's answer must be
 * exactly PAL_KEYSTORE_WRAPPED_LEN bytes.  dek is not changed (it is not
 * const because PKCS#11 templates point at mutable bytes).
 */
int pal_keystore_wrap(struct pal_keystore *ks, const struct pal_kek *kek,
		      struct pal_secmem *dek, struct pal_wrapped_dek *out,
		      struct pal_err *err);

/*
 * Unwraps a DEK with the KEK: C_UnwrapKey into a session object
 * (CKA_TOKEN false, CKK_AES, not sensitive, extractable), its CKA_VALUE
 * read straight into secret memory (it must be exactly
 * PAL_KEYSTORE_DEK_LEN bytes), and the object destroyed.  w->len must be
 * PAL_KEYSTORE_WRAPPED_LEN and w->mech one the token supports.  A wrong
 * KEK or damaged bytes: PAL_ERR_VERIFY.  *dek is set on success; caller
 * frees with pal_secmem_free.
 */
int pal_keystore_unwrap(struct pal_keystore *ks, const struct pal_kek *kek,
			const struct pal_wrapped_dek *w,
			struct pal_secmem **dek, struct pal_err *err);

/*
 * Unwraps with from and wraps the same DEK with to (rotation, step 2);
 * the DEK stays in secret memory and is wiped before returning.
 */
int pal_keystore_rewrap(struct pal_keystore *ks, const struct pal_kek *from,
			const struct pal_wrapped_dek *w,
			const struct pal_kek *to, struct pal_wrapped_dek *out,
			struct pal_err *err);

#endif
