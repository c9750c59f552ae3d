/*
 * keystore_int.h - what the keystore files share.
 *
 * keystore.c          opening the vault's token, logging in, accessors
 * keystore_mech.c     probing the token's mechanisms; mechanism names
 * keystore_softhsm.c  the embedded SoftHSM2 token: its directory, its
 *                     softhsm2.conf, SOFTHSM2_CONF
 * keystore_init.c     creating that token (C_InitToken, C_InitPIN)
 * keystore_label.c    release names and KEK labels
 * keystore_find.c     finding KEKs and checking that they are KEKs
 * keystore_kek.c      generating, rotating and destroying KEKs
 * keystore_wrap.c     wrapping and unwrapping DEKs
 *
 * Built on the PKCS#11 code in src/crypto/ (pkcs11_int.h): modules,
 * sessions, PINs and the names of return values are theirs.
 */
#ifndef PAL_VAULT_KEYSTORE_INT_H
#define PAL_VAULT_KEYSTORE_INT_H

#include <limits.h>

#include "palisade/buf.h"
#include "palisade/keystore.h"
#include "../crypto/pkcs11_int.h"

struct pal_keystore {
	struct pal_p11_session s;
	CK_SLOT_ID slot;
	int has_wrap_pad;		/* CKM_AES_KEY_WRAP_PAD, both ways */
	int has_wrap;			/* CKM_AES_KEY_WRAP, both ways */
	CK_MECHANISM_TYPE wrap_mech;	/* the better of the two */
	char serial[PAL_KEYSTORE_SERIAL_MAX * 4 + 1];	/* escaped */
};

/* Probes the session's token and sets the mechanism fields of ks. */
int pal_keystore_probe(struct pal_keystore *ks, struct pal_err *err);

/*
 * The PIN p names, read as pkcs11 URIs read theirs; env is the variable
 * used when p gives none.  *have is 0 when there is none.  The caller
 * wipes pin with pal_buf_free_secret.
 */
int pal_keystore_pin_get(const struct pal_keystore_pin *p, const char *env,
			 struct pal_buf *pin, int *have, struct pal_err *err);

/*
 * Makes DIR and DIR/tokens (0700) when missing, writes DIR/softhsm2.conf
 * when missing (else checks it) and points SOFTHSM2_CONF at it, as
 * pal_keystore_softhsm_use.  tokens receives the absolute DIR/tokens.
 */
int pal_keystore_softhsm_prepare(const char *dir, const char *module,
				 char tokens[PATH_MAX], struct pal_err *err);

/* A token label as pal_keystore_softhsm_create accepts it. */
int pal_keystore_token_label_check(const char *label, struct pal_err *err);

/* Sets the blank-padded CK_TOKEN_INFO form of label. */
void pal_keystore_label_pad(const char *label, CK_UTF8CHAR out[32]);

/*
 * The label of release's KEK of generation gen into out (at least
 * PAL_KEYSTORE_LABEL_MAX + 1 bytes).  The release must have been checked.
 */
void pal_keystore_label_make(const char *release, unsigned int gen,
			     char *out);

/*
 * Parses a label of n bytes (not NUL-terminated) as a KEK label.
 * Returns 1 with release and *gen set when it is one, 0 when it does not
 * start with PAL_KEYSTORE_LABEL_PREFIX (not ours), -1 when it does but is
 * malformed.
 */
int pal_keystore_label_parse(const uint8_t *label, size_t n,
			     char release[PAL_KEYSTORE_RELEASE_MAX + 1],
			     unsigned int *gen);

/*
 * Every KEK of release (all of the token's when release is NULL), checked,
 * into *out (malloc'd, caller frees), sorted by release and generation.
 */
int pal_keystore_keks(struct pal_keystore *ks, const char *release,
		      struct pal_kek **out, size_t *n, struct pal_err *err);

/* Checks that obj is a KEK and fills k from it (label already parsed). */
int pal_keystore_kek_check(struct pal_keystore *ks, CK_OBJECT_HANDLE obj,
			   struct pal_kek *k, struct pal_err *err);

#endif
