/*
 * note_int.h - what the signed-note files share: key name rules and key
 * IDs computed from a name, a signature type and a public key.
 *
 * note.c            parses notes and checks key names
 * note_key.c        verifier keys and their key IDs
 * note_signer.c     signers: Go's private key text, generation, tokens
 * note_sign.c       signing notes
 * checkpoint.c      parses and formats checkpoints
 * cosig.c           witness cosignatures
 * witness_policy.c  k-of-n witness policies
 */
#ifndef PAL_TLOG_NOTE_INT_H
#define PAL_TLOG_NOTE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"

/*
 * Checks a key name of n bytes: 1 to PAL_NOTE_NAME_MAX bytes of UTF-8
 * without Unicode spaces, '+' or control characters.
 */
int pal_note_check_name(const uint8_t *p, size_t n, struct pal_err *err);

/* SHA-256(name || "\n" || type || key)[:4], big-endian. */
int pal_note_key_id(const char *name, uint8_t type, const uint8_t *key,
		    size_t key_len, uint32_t *id);

/* Eight lowercase hex digits (a key ID as Go writes it); 0 or -1. */
int pal_note_parse_key_id(const char *hex, uint32_t *id);

#endif
