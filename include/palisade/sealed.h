/*
 * sealed.h - the header of a sealed file: what a Palisade vault stores in
 * place of each file of a model release (docs/formats/sealed.md).
 *
 * A sealed file is this header followed by a C2SP chunked-encryption
 * message (Cobblestone-256: salt, commitment, 16 KiB AES-256-GCM chunks)
 * of the file's bytes:
 *
 *	offset	size	field
 *	0	8	magic "PALSEAL" and the format version, 0x01
 *	8	4	header length H, big-endian: where the message starts
 *	12	1	suite: 1 = Cobblestone-256
 *	13	1	wrap: how the data key was wrapped, 1 = CKM_AES_KEY_WRAP_PAD
 *			(RFC 5649), 2 = CKM_AES_KEY_WRAP (RFC 3394)
 *	14	8	plaintext length, big-endian
 *	22	...	six fields, each a 2-byte big-endian length and its bytes:
 *			key label (the release key's CKA_LABEL), key id (its
 *			CKA_ID), the wrapped data key, model name, release, path
 *
 * H must be exactly where the last field ends.  The chunked encryption's
 * context binds the format, suite, plaintext length, model, release and
 * path (pal_sealed_context), so a file moved to another path or release,
 * or a header edited to say so, fails its key commitment before any byte
 * is decrypted; the key label, id and wrapped key are outside it, so that
 * a key rotation rewrites only the header, and a changed one yields no key
 * or a wrong one, which the commitment catches as well.
 *
 * Limits (bytes): key label 1..255, key id 1..64, wrapped key 8..512,
 * model 1..255, release 1..128, path 1..4096, the header 64 KiB.  Names
 * are UTF-8 without control characters; a release has no '/'; a path is
 * relative, '/'-separated, without empty, "." or ".." segments.
 */
#ifndef PALISADE_SEALED_H
#define PALISADE_SEALED_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/buf.h"
#include "palisade/error.h"

#define PAL_SEALED_MAGIC "PALSEAL\x01"
#define PAL_SEALED_MAGIC_LEN 8
#define PAL_SEALED_FIXED 22		/* bytes before the first field */
#define PAL_SEALED_HEADER_MAX 65536

#define PAL_SEALED_SUITE_COBBLESTONE_256 1
#define PAL_SEALED_WRAP_KWP 1		/* CKM_AES_KEY_WRAP_PAD */
#define PAL_SEALED_WRAP_KW 2		/* CKM_AES_KEY_WRAP */

#define PAL_SEALED_LABEL_MAX 255
#define PAL_SEALED_KEY_ID_MAX 64
#define PAL_SEALED_WRAPPED_MIN 8
#define PAL_SEALED_WRAPPED_MAX 512
#define PAL_SEALED_MODEL_MAX 255
#define PAL_SEALED_RELEASE_MAX 128
#define PAL_SEALED_PATH_MAX 4096

/*
 * A parsed or to-be-written header.  The byte fields point into the buffer
 * the header was parsed from (or into memory the writer owns); the text
 * fields are not NUL-terminated.
 */
struct pal_sealed_header {
	uint32_t header_len;		/* H: set by parse and encode */
	uint8_t suite;
	uint8_t wrap;
	uint64_t plain_len;
	const uint8_t *key_label;	size_t key_label_len;
	const uint8_t *key_id;		size_t key_id_len;
	const uint8_t *wrapped;		size_t wrapped_len;
	const char *model;		size_t model_len;
	const char *release;		size_t release_len;
	const char *path;		size_t path_len;
};

/*
 * Parses the header at the start of len bytes of p (which may run on into
 * the message; len may be just the header).  Every limit above is checked;
 * errors name the field and its offset.  PAL_ERR_TRUNCATED when p ends
 * before the header does (a reader may then read H bytes and try again).
 */
int pal_sealed_parse(const uint8_t *p, size_t len,
		     struct pal_sealed_header *h, struct pal_err *err);

/* Appends the header h describes to out, setting h->header_len. */
int pal_sealed_encode(struct pal_sealed_header *h, struct pal_buf *out,
		      struct pal_err *err);

/*
 * The chunked-encryption context of h: "palisade-sealed/v1", a zero byte,
 * the suite, the plaintext length (8 bytes, big-endian), then model,
 * release and path each with a 2-byte big-endian length.  Appended to out.
 */
int pal_sealed_context(const struct pal_sealed_header *h,
		       struct pal_buf *out);

/*
 * 0 when path is a path a release may hold (relative, '/'-separated, no
 * empty, "." or ".." segment, no control character, at most
 * PAL_SEALED_PATH_MAX bytes), else PAL_ERR_FORMAT naming the problem.
 */
int pal_sealed_check_path(const char *path, size_t len, struct pal_err *err);

/* The same for a release name (1..128 bytes, no '/', no control char). */
int pal_sealed_check_release(const char *release, size_t len,
			     struct pal_err *err);

#endif
