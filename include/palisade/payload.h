/*
 * payload.h - request and response bodies sealed to the operator's
 * public key, and opened with its private key (docs/formats/payload.md).
 *
 * A sealed payload is 0 to PAL_PAYLOAD_PARTS_MAX named parts (the
 * gateway's "request" and "response"), encrypted together ECIES-style:
 * a fresh X25519 or P-256 key agreement (or a fresh secret wrapped with
 * RSA-OAEP-SHA256) with the recipient key, HKDF-SHA256, AES-256-GCM, with
 * a caller's AAD bound in.  It carries the recipient key's id (SHA-256 of
 * its DER SubjectPublicKeyInfo) so that the wrong private key is named
 * before anything is decrypted.
 *
 * Trust: the recipient's PEM file is the operator's; a sealed payload,
 * and a log entry holding one, are untrusted bytes (anyone who can write
 * the log, or who has the public key, can make one).  Opening releases
 * nothing before the GCM tag verifies.
 *
 * Thread safety: a recipient is immutable once loaded; pal_payload_seal
 * may be called on one recipient from any number of threads at once.
 * Everything else is per call.
 */
#ifndef PALISADE_PAYLOAD_H
#define PALISADE_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "palisade/buf.h"
#include "palisade/error.h"

#define PAL_PAYLOAD_CONTEXT "palisade payload v1"
#define PAL_PAYLOAD_ID_LEN 32		/* SHA-256 of the DER SPKI */
#define PAL_PAYLOAD_PARTS_MAX 8
#define PAL_PAYLOAD_NAME_MAX 32
/* The most plaintext (framed parts) sealed or opened. */
#define PAL_PAYLOAD_PLAIN_MAX (16u * 1024 * 1024)

enum pal_payload_alg {
	PAL_PAYLOAD_X25519 = 1,
	PAL_PAYLOAD_P256 = 2,
	PAL_PAYLOAD_RSA_OAEP = 3,	/* RSA 3072..4096 bits */
};

/* ---- the sealing side (the gateway) ---- */

struct pal_payload_recipient;

/*
 * Loads the operator's PEM public key from path (at most 64 KiB),
 * checks it (X25519, P-256, or RSA of 3072 to 4096 bits; the point or
 * modulus valid), computes its key id and fetches the algorithms sealing
 * uses.  *out is set on success; caller frees.  Errors: PAL_ERR_IO (the
 * file), PAL_ERR_FORMAT (not a PEM public key), PAL_ERR_UNSUPPORTED
 * (another key kind, curve or size: named), PAL_ERR_CRYPTO.  Messages
 * name the path.
 */
int pal_payload_recipient_load(const char *path,
			       struct pal_payload_recipient **out,
			       struct pal_err *err);

/* As pal_payload_recipient_load, from a public key (borrowed; up-ref'd). */
int pal_payload_recipient_new(EVP_PKEY *pub,
			      struct pal_payload_recipient **out,
			      struct pal_err *err);

/* NULL is a no-op. */
void pal_payload_recipient_free(struct pal_payload_recipient *r);

enum pal_payload_alg
pal_payload_recipient_alg(const struct pal_payload_recipient *r);

/* The recipient's key id (PAL_PAYLOAD_ID_LEN bytes, owned by r). */
const uint8_t *pal_payload_recipient_id(const struct pal_payload_recipient *r);

/*
 * One part to seal: a name of 1..PAL_PAYLOAD_NAME_MAX bytes of
 * [a-z0-9_-], and the first len bytes (data, borrowed) of a body whose
 * whole length is total (len <= total; len < total says it was cut).
 */
struct pal_payload_part {
	const char *name;
	const uint8_t *data;
	size_t len;
	uint64_t total;
};

/*
 * The number of base64 characters pal_payload_seal would append for
 * these parts, or 0 when they are invalid (see pal_payload_seal).
 */
size_t pal_payload_sealed_len(const struct pal_payload_recipient *r,
			      const struct pal_payload_part *parts, size_t n);

/*
 * Shortens the parts' len (never total), the last part first, so that
 * the sealed payload takes at most b64_max base64 characters: the way
 * to fit bodies into a log entry.  Returns 0, or PAL_ERR_LIMIT when even
 * empty parts do not fit, PAL_ERR_INVALID for invalid parts.
 */
int pal_payload_fit(const struct pal_payload_recipient *r,
		    struct pal_payload_part *parts, size_t n, size_t b64_max);

/*
 * Seals n parts (0..PAL_PAYLOAD_PARTS_MAX, names unique, framed at most
 * PAL_PAYLOAD_PLAIN_MAX bytes) to r with aad (aad_len bytes, NULL when
 * 0) bound in, and appends the base64 to out_b64 (NUL-terminated there;
 * out_b64's own ceiling applies).  One key agreement, one HKDF, one
 * AES-GCM pass.  The plaintext copy made on the way is wiped.  On
 * failure out_b64 is as it was.  Errors: PAL_ERR_INVALID (parts),
 * PAL_ERR_LIMIT (size, or out_b64's ceiling), PAL_ERR_NOMEM,
 * PAL_ERR_CRYPTO.  Thread-safe on a shared r.
 */
int pal_payload_seal(const struct pal_payload_recipient *r,
		     const uint8_t *aad, size_t aad_len,
		     const struct pal_payload_part *parts, size_t n,
		     struct pal_buf *out_b64, struct pal_err *err);

/* ---- the opening side (the operator) ---- */

/*
 * Loads an unencrypted PEM private key (PKCS#8, or traditional EC or
 * RSA) of a kind a payload can be sealed to (as above); the file's bytes
 * are wiped once parsed.  *out: caller frees with EVP_PKEY_free.
 */
int pal_payload_privkey_load(const char *path, EVP_PKEY **out,
			     struct pal_err *err);

/* An opened part: views into the opened plaintext. */
struct pal_payload_view {
	char name[PAL_PAYLOAD_NAME_MAX + 1];
	const uint8_t *data;		/* len bytes; NULL when len is 0 */
	size_t len;
	uint64_t total;			/* len < total: truncated */
};

struct pal_payload_opened {
	enum pal_payload_alg alg;
	uint8_t key_id[PAL_PAYLOAD_ID_LEN];
	size_t n;
	struct pal_payload_view part[PAL_PAYLOAD_PARTS_MAX];
	uint8_t *plain;			/* owned; wiped when freed */
	size_t plain_len;
};

/*
 * Opens a sealed payload given in base64 (b64, b64_len characters) or as
 * its bytes (bin, len) with priv and the aad it was sealed with.  *out is
 * set only when the tag verified and the parts parsed; caller frees with
 * pal_payload_opened_free.  Errors, each message saying which:
 *   PAL_ERR_FORMAT, PAL_ERR_TRUNCATED: not a sealed payload, bad base64,
 *     a field running past the end, malformed parts;
 *   PAL_ERR_UNSUPPORTED: another version or algorithm;
 *   PAL_ERR_LIMIT: larger than PAL_PAYLOAD_PLAIN_MAX allows;
 *   PAL_ERR_VERIFY: sealed to another key (both key ids named), another
 *     kind of key, an invalid ephemeral key or RSA block, or
 *     "authentication failed" (the payload, or the aad, was altered);
 *   PAL_ERR_NOMEM, PAL_ERR_CRYPTO.
 */
int pal_payload_open(EVP_PKEY *priv, const uint8_t *aad, size_t aad_len,
		     const char *b64, size_t b64_len,
		     struct pal_payload_opened **out, struct pal_err *err);
int pal_payload_open_bin(EVP_PKEY *priv, const uint8_t *aad, size_t aad_len,
			 const uint8_t *bin, size_t len,
			 struct pal_payload_opened **out,
			 struct pal_err *err);

/* Wipes the plaintext and frees; NULL is a no-op. */
void pal_payload_opened_free(struct pal_payload_opened *o);

/*
 * The key id of a public or private key (its DER SubjectPublicKeyInfo's
 * SHA-256) into id.
 */
int pal_payload_key_id(EVP_PKEY *key, uint8_t id[PAL_PAYLOAD_ID_LEN],
		       struct pal_err *err);

/*
 * Frames n parts as the plaintext (appended to out), and reads a
 * plaintext back into at most max views pointing into p (the opener's
 * own use; exposed for tests and fuzzing).  The parse is strict: every
 * rule of docs/formats/payload.md, nothing after the last part.
 */
int pal_payload_parts_encode(const struct pal_payload_part *parts, size_t n,
			     struct pal_buf *out, struct pal_err *err);
int pal_payload_parts_parse(const uint8_t *p, size_t len,
			    struct pal_payload_view *v, size_t max,
			    size_t *n, struct pal_err *err);

/* ---- the gateway's serve.request records (src/gateway/payload_record.c) */

/* The details field that holds a record's sealed payload. */
#define PAL_PAYLOAD_RECORD_FIELD "payload"

/*
 * The AAD that binds a payload to its serve.request record: the record's
 * request_sha256 and response_sha256 values (64 lowercase hex digits
 * each, or NULL when the record has no such field), appended to aad.
 * PAL_ERR_INVALID when a digest is not 64 lowercase hex digits.
 */
int pal_payload_record_aad(const char *request_sha256,
			   const char *response_sha256, struct pal_buf *aad);

/*
 * Seals parts into details (a serve.request record's details object,
 * complete but for the payload) as details.payload: the AAD from its
 * request_sha256 and response_sha256, the parts fitted (a copy cut with
 * pal_payload_fit, response first) so that the entry the log builds from
 * details stays within PAL_ENTRY_MAX.  parts are the whole bodies (len ==
 * total), or already cut ones.  Errors: as pal_payload_seal, PAL_ERR_LIMIT
 * when the other details leave no room (details is then unchanged: log
 * the record without its payload), PAL_ERR_INVALID for a digest that is
 * not 64 lowercase hex digits.  Thread-safe on a shared r.
 */
int pal_payload_record_seal(const struct pal_payload_recipient *r,
			    json_t *details,
			    const struct pal_payload_part *parts, size_t n,
			    struct pal_err *err);

/* How a part compares with the record's digest for it. */
enum pal_payload_check {
	PAL_PAYLOAD_UNCHECKED = 0,	/* a part the record has no digest for */
	PAL_PAYLOAD_MATCHES,		/* whole, and the digest matches */
	PAL_PAYLOAD_TRUNCATED,		/* cut: not checkable */
};

struct pal_payload_record {
	struct pal_payload_opened *opened;	/* owned */
	enum pal_payload_check check[PAL_PAYLOAD_PARTS_MAX];
	json_t *entry;				/* the parsed entry, owned */
};

/*
 * Opens the payload of a serve.request log entry (entry: its JSON bytes,
 * at most 64 KiB): builds the record AAD from its digests, opens, and
 * checks the "request" and "response" parts against the digests.
 * Errors: as pal_payload_open, plus PAL_ERR_FORMAT for an entry that is
 * not a JSON serve.request record, PAL_ERR_INVALID for a record without
 * a payload ("no payload: ..."), PAL_ERR_VERIFY when a whole part does
 * not match the record's digest.  *out: caller frees.
 */
int pal_payload_record_open(EVP_PKEY *priv, const uint8_t *entry, size_t len,
			    struct pal_payload_record **out,
			    struct pal_err *err);

/* NULL is a no-op. */
void pal_payload_record_free(struct pal_payload_record *rec);

#endif
