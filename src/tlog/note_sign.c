/*
 * note_sign.c - signing a note's text with one or more signers.
 *
 * What a signer's callback returns is not trusted: each signature is
 * verified with the signer's public key before it goes into the note, and
 * the finished note is parsed back and must give the same text and the
 * same signatures, so that nothing is handed out that a verifier would
 * read differently from what was meant (a text that is not valid note
 * text, a name that would split a signature line, two signers with one
 * name and key ID).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "palisade/encoding.h"
#include "palisade/note_sign.h"

/* The em dash (U+2014) and space that open every signature line. */
#define SIG_PREFIX "\xe2\x80\x94 "

static int
check_sig(const struct pal_note_signer *s, const uint8_t *msg, size_t len,
	  const uint8_t *sig, struct pal_err *err)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
						  s->pub, sizeof(s->pub));
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = k != NULL && md != NULL &&
		EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) == 1 &&
		EVP_DigestVerify(md, sig, PAL_NOTE_ED25519_SIG_LEN, msg,
				 len) == 1;

	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	ERR_clear_error();
	if (!ok)
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "signer '%s' returned a signature that "
				   "does not verify with its public key",
				   s->name);
	return 0;
}

/* Appends "— name base64(key ID || sig)\n" to b. */
static int
put_sig_line(struct pal_buf *b, const char *name, uint32_t id,
	     const uint8_t *sig, size_t sig_len)
{
	uint8_t raw[4 + PAL_NOTE_ED25519_SIG_LEN + 8];
	int rc;

	if (sig_len > sizeof(raw) - 4)
		return PAL_ERR_INVALID;
	raw[0] = (uint8_t)(id >> 24);
	raw[1] = (uint8_t)(id >> 16);
	raw[2] = (uint8_t)(id >> 8);
	raw[3] = (uint8_t)id;
	memcpy(raw + 4, sig, sig_len);
	if ((rc = pal_buf_puts(b, SIG_PREFIX)) < 0 ||
	    (rc = pal_buf_puts(b, name)) < 0 ||
	    (rc = pal_buf_putc(b, ' ')) < 0 ||
	    (rc = pal_base64_encode(raw, 4 + sig_len, b)) < 0)
		return rc;
	return pal_buf_putc(b, '\n');
}

/* The note in b must parse back into text and the signers' lines. */
static int
check_note(const struct pal_buf *b, const uint8_t *text, size_t len,
	   struct pal_note_signer *const *signers, size_t n,
	   struct pal_err *err)
{
	struct pal_note *note = NULL;
	int rc = pal_note_parse(b->p, b->len, &note, err);

	if (rc < 0)
		return pal_err_wrap(err, rc, "cannot sign: ");
	if (note->text_len != len || memcmp(note->text, text, len) != 0 ||
	    note->n_sigs != n)
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "cannot sign: the note does not parse back "
				 "into its text and %zu signatures", n);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (strcmp(note->sigs[i].name, signers[i]->name) != 0 ||
		    note->sigs[i].key_id != signers[i]->key_id)
			rc = pal_err_set(err, PAL_ERR_INVALID,
					 "cannot sign: signature %zu does "
					 "not parse back", i + 1);
	pal_note_free(note);
	return rc;
}

static int
sign_all(const uint8_t *text, size_t len,
	 struct pal_note_signer *const *signers, size_t n, struct pal_buf *b,
	 struct pal_err *err)
{
	uint8_t sig[PAL_NOTE_ED25519_SIG_LEN];
	int rc;

	if ((rc = pal_buf_append(b, text, len)) < 0 ||
	    (rc = pal_buf_putc(b, '\n')) < 0)
		return pal_err_set(err, rc, "signed note too large");
	for (size_t i = 0; i < n; i++) {
		struct pal_note_signer *s = signers[i];
		if ((rc = s->sign(s, text, len, sig, err)) < 0)
			return pal_err_wrap(err, rc, "signer '%s': ", s->name);
		if ((rc = check_sig(s, text, len, sig, err)) < 0)
			return rc;
		if ((rc = put_sig_line(b, s->name, s->key_id, sig,
				       sizeof(sig))) < 0)
			return pal_err_set(err, rc, "signed note too large");
	}
	return 0;
}

int
pal_note_sign(const uint8_t *text, size_t len,
	      struct pal_note_signer *const *signers, size_t n,
	      struct pal_buf *out, struct pal_err *err)
{
	struct pal_buf b;
	int rc;

	if (len == 0 || text[len - 1] != '\n')
		return pal_err_set(err, PAL_ERR_INVALID,
				   "cannot sign: the text does not end in a "
				   "newline");
	if (n == 0 || n > PAL_NOTE_MAX_SIGS)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "cannot sign: %zu signers (1 to %d)", n,
				   PAL_NOTE_MAX_SIGS);
	pal_buf_init(&b, PAL_NOTE_MAX_LEN);
	if ((rc = sign_all(text, len, signers, n, &b, err)) == 0 &&
	    (rc = check_note(&b, text, len, signers, n, err)) == 0 &&
	    (rc = pal_buf_append(out, b.p, b.len)) < 0)
		rc = pal_err_set(err, rc, "signed note of %zu bytes does not "
				 "fit the output", b.len);
	pal_buf_free(&b);
	return rc;
}
