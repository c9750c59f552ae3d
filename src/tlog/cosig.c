/*
 * cosig.c - Ed25519 witness cosignatures (c2sp.org/tlog-cosignature,
 * "cosignature/v1", signature type 0x04): making them and checking them.
 *
 * A cosignature line arrives with the checkpoint, from the log or from
 * whoever relays it; it counts only when its name and key ID are those of
 * a configured witness and its signature verifies over the message the
 * specification fixes.  The timestamp is read from the signature bytes
 * and put into the message, so a line whose timestamp was changed does not
 * verify.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "palisade/cosig.h"
#include "palisade/encoding.h"
#include "note_int.h"

#define SIG_PREFIX "\xe2\x80\x94 "
#define HEADER "cosignature/v1\n"
#define VKEY_MAX 1024

int
pal_cosig_verifier_new(const char *name,
		       const uint8_t pub[PAL_NOTE_ED25519_PUB_LEN],
		       struct pal_cosig_verifier **out, struct pal_err *err)
{
	size_t n = strnlen(name, PAL_NOTE_NAME_MAX + 1);
	struct pal_cosig_verifier *w;
	int rc;

	*out = NULL;
	if ((rc = pal_note_check_name((const uint8_t *)name, n, err)) < 0)
		return pal_err_wrap(err, rc, "witness key: ");
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	memcpy(w->name, name, n + 1);
	memcpy(w->pub, pub, PAL_NOTE_ED25519_PUB_LEN);
	w->key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
					     PAL_NOTE_ED25519_PUB_LEN);
	ERR_clear_error();
	if (w->key == NULL ||
	    pal_note_key_id(name, PAL_COSIG_ED25519, pub,
			    PAL_NOTE_ED25519_PUB_LEN, &w->key_id) < 0) {
		pal_cosig_verifier_free(w);
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "witness key '%s': not an Ed25519 key",
				   name);
	}
	*out = w;
	return 0;
}

void
pal_cosig_verifier_free(struct pal_cosig_verifier *w)
{
	if (w == NULL)
		return;
	EVP_PKEY_free(w->key);
	free(w);
}

/* Splits "name+hex8+base64" into its parts; 0 on success. */
static int
split_vkey(const char *s, size_t len, size_t *name_len, uint32_t *id)
{
	const char *plus = memchr(s, '+', len);

	if (plus == NULL || plus == s)
		return -1;
	*name_len = (size_t)(plus - s);
	if (len - *name_len < 10 || s[*name_len + 9] != '+' ||
	    *name_len > PAL_NOTE_NAME_MAX)
		return -1;
	return pal_note_parse_key_id(s + *name_len + 1, id);
}

int
pal_cosig_verifier_parse(const char *vkey, size_t len,
			 struct pal_cosig_verifier **out, struct pal_err *err)
{
	char name[PAL_NOTE_NAME_MAX + 1];
	uint8_t *raw = NULL;
	size_t name_len = 0, raw_len = 0;
	uint32_t id = 0;
	int rc;

	*out = NULL;
	if (len > VKEY_MAX || memchr(vkey, '\0', len) != NULL ||
	    split_vkey(vkey, len, &name_len, &id) < 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "witness vkey is not name+hex(key ID)+"
				   "base64(key)");
	memcpy(name, vkey, name_len);
	name[name_len] = '\0';
	rc = pal_base64_decode(vkey + name_len + 10, len - name_len - 10,
			       &raw, &raw_len, err);
	if (rc == 0 && (raw_len != 1 + PAL_NOTE_ED25519_PUB_LEN ||
			raw[0] != PAL_COSIG_ED25519))
		rc = pal_err_set(err, PAL_ERR_UNSUPPORTED,
				 "not a type 0x04 (Ed25519 cosignature) key "
				 "of 32 bytes");
	if (rc == 0)
		rc = pal_cosig_verifier_new(name, raw + 1, out, err);
	free(raw);
	if (rc == 0 && (*out)->key_id != id) {
		pal_cosig_verifier_free(*out);
		*out = NULL;
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "key ID %08x does not match the key", id);
	}
	if (rc < 0)
		return pal_err_wrap(err, rc, "witness vkey '%.*s': ",
				    (int)name_len, name);
	return 0;
}

int
pal_cosig_verifier_vkey(const struct pal_cosig_verifier *w, char **vkey,
			struct pal_err *err)
{
	uint8_t raw[1 + PAL_NOTE_ED25519_PUB_LEN];
	struct pal_buf b;
	int rc;

	*vkey = NULL;
	raw[0] = PAL_COSIG_ED25519;
	memcpy(raw + 1, w->pub, PAL_NOTE_ED25519_PUB_LEN);
	pal_buf_init(&b, VKEY_MAX);
	if ((rc = pal_buf_printf(&b, "%s+%08x+", w->name, w->key_id)) < 0 ||
	    (rc = pal_base64_encode(raw, sizeof(raw), &b)) < 0) {
		pal_buf_free(&b);
		return pal_err_set(err, rc, "witness vkey: out of memory");
	}
	*vkey = (char *)pal_buf_steal(&b, NULL);
	return 0;
}

int
pal_cosig_message(uint64_t timestamp, const uint8_t *text, size_t len,
		  struct pal_buf *out, struct pal_err *err)
{
	size_t before = out->len;
	int rc;

	if ((rc = pal_buf_printf(out, HEADER "time %" PRIu64 "\n",
				 timestamp)) < 0 ||
	    (rc = pal_buf_append(out, text, len)) < 0) {
		out->len = before;
		if (out->p != NULL)
			out->p[before] = '\0';
		return pal_err_set(err, rc, "cosignature message too large");
	}
	return 0;
}

static int
ed25519_verify(EVP_PKEY *key, const uint8_t *sig, const uint8_t *msg,
	       size_t len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md != NULL &&
		EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
		EVP_DigestVerify(md, sig, 64, msg, len) == 1;

	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

static void
put_u64be(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get_u64be(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Appends "— name base64(id || ts || sig)\n" to out. */
static int
put_line(struct pal_buf *out, const char *name, uint32_t id,
	 const uint8_t sig[PAL_COSIG_SIG_LEN])
{
	uint8_t raw[4 + PAL_COSIG_SIG_LEN];
	int rc;

	raw[0] = (uint8_t)(id >> 24);
	raw[1] = (uint8_t)(id >> 16);
	raw[2] = (uint8_t)(id >> 8);
	raw[3] = (uint8_t)id;
	memcpy(raw + 4, sig, PAL_COSIG_SIG_LEN);
	if ((rc = pal_buf_puts(out, SIG_PREFIX)) < 0 ||
	    (rc = pal_buf_puts(out, name)) < 0 ||
	    (rc = pal_buf_putc(out, ' ')) < 0 ||
	    (rc = pal_base64_encode(raw, sizeof(raw), out)) < 0)
		return rc;
	return pal_buf_putc(out, '\n');
}

/* Signs the message with s; sig receives timestamp || signature. */
static int
sign_message(struct pal_note_signer *s, const struct pal_cosig_verifier *w,
	     uint64_t timestamp, const uint8_t *text, size_t len,
	     uint8_t sig[PAL_COSIG_SIG_LEN], struct pal_err *err)
{
	struct pal_buf msg;
	int rc;

	pal_buf_init(&msg, PAL_NOTE_MAX_LEN + 64);
	put_u64be(sig, timestamp);
	if ((rc = pal_cosig_message(timestamp, text, len, &msg, err)) == 0 &&
	    (rc = s->sign(s, msg.p, msg.len, sig + 8, err)) < 0)
		rc = pal_err_wrap(err, rc, "cosigner '%s': ", s->name);
	if (rc == 0 && !ed25519_verify(w->key, sig + 8, msg.p, msg.len))
		rc = pal_err_set(err, PAL_ERR_CRYPTO,
				 "cosigner '%s' returned a signature that "
				 "does not verify with its public key",
				 s->name);
	pal_buf_free(&msg);
	return rc;
}

int
pal_cosign(struct pal_note_signer *s, const uint8_t *text, size_t len,
	   uint64_t timestamp, struct pal_buf *out, struct pal_err *err)
{
	struct pal_cosig_verifier *w = NULL;
	struct pal_checkpoint *c = NULL;
	uint8_t sig[PAL_COSIG_SIG_LEN];
	struct pal_buf line;
	int rc;

	if (timestamp > PAL_COSIG_TIME_MAX)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "cosignature timestamp %" PRIu64 " is above "
				   "2^63 - 1", timestamp);
	if ((rc = pal_checkpoint_parse(text, len, &c, err)) < 0)
		return pal_err_wrap(err, rc, "cannot cosign: ");
	pal_checkpoint_free(c);
	if ((rc = pal_cosig_verifier_new(s->name, s->pub, &w, err)) < 0)
		return rc;
	pal_buf_init(&line, 4 * PAL_NOTE_NAME_MAX);
	if ((rc = sign_message(s, w, timestamp, text, len, sig, err)) == 0 &&
	    ((rc = put_line(&line, w->name, w->key_id, sig)) < 0 ||
	     (rc = pal_buf_append(out, line.p, line.len)) < 0))
		rc = pal_err_set(err, rc, "cosignature line does not fit "
				 "the output");
	pal_buf_free(&line);
	pal_cosig_verifier_free(w);
	return rc;
}

static int
verify_sig(const struct pal_note *n, const struct pal_cosig_verifier *w,
	   const struct pal_note_sig *s, uint64_t *timestamp,
	   struct pal_err *err)
{
	struct pal_buf msg;
	uint64_t ts;
	int ok;

	if (s->sig_len != PAL_COSIG_SIG_LEN)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "cosignature by '%s' has %zu bytes, not %d",
				   w->name, s->sig_len, PAL_COSIG_SIG_LEN);
	ts = get_u64be(s->sig);
	if (ts > PAL_COSIG_TIME_MAX)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "cosignature by '%s' has a timestamp above "
				   "2^63 - 1", w->name);
	pal_buf_init(&msg, PAL_NOTE_MAX_LEN + 64);
	ok = pal_cosig_message(ts, n->text, n->text_len, &msg, NULL) == 0 &&
		ed25519_verify(w->key, s->sig + 8, msg.p, msg.len);
	pal_buf_free(&msg);
	if (!ok)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "cosignature by '%s' %08x does not verify",
				   w->name, w->key_id);
	*timestamp = ts;
	return 0;
}

int
pal_cosig_verify(const struct pal_note *n,
		 const struct pal_cosig_verifier *w, int *found,
		 uint64_t *timestamp, struct pal_err *err)
{
	*found = 0;
	*timestamp = 0;
	/* pal_note_parse refuses two lines with one name and key ID. */
	for (size_t i = 0; i < n->n_sigs; i++) {
		const struct pal_note_sig *s = &n->sigs[i];
		if (s->key_id != w->key_id || strcmp(s->name, w->name) != 0)
			continue;
		int rc = verify_sig(n, w, s, timestamp, err);
		if (rc < 0)
			return rc;
		*found = 1;
		return 0;
	}
	return 0;
}
