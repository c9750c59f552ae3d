/*
 * export.c - a release's data key handed to someone else, with two
 * approvals: encrypted to the recipient's RSA public key with RSA-OAEP
 * (SHA-256, MGF1 SHA-256), the standard key transport a PKCS#11 token can
 * unwrap itself (CKM_RSA_PKCS_OAEP), so that the key can travel into
 * another HSM without ever being plaintext outside one process's locked
 * memory.  For escrow, or to move a release to another vault.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "palisade/encoding.h"
#include "palisade/file.h"
#include "palisade/sealed.h"
#include "palisade/secmem.h"
#include "palisade/signer.h"
#include "vault_int.h"

#define RSA_BITS_MIN 2048

/* The recipient's public key: any PEM SubjectPublicKeyInfo (checked
 * to be RSA by encrypt_to). */
static int
load_recipient(const char *path, EVP_PKEY **out, struct pal_err *err)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	int rc = pal_file_read(path, 1 << 20, &pem, &len, err);
	if (rc < 0)
		return rc;
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	*out = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	free(pem);
	return *out != NULL ? 0 : pal_err_set(err, PAL_ERR_FORMAT, "%s: not "
					      "a PEM public key", path);
}

/* RSA-OAEP(SHA-256) of the key to pub into *out (base64). */
static int
encrypt_to(EVP_PKEY *pub, const struct pal_secmem *dek, struct pal_buf *out,
	   struct pal_err *err)
{
	if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(pub) < RSA_BITS_MIN)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED, "the recipient's "
				   "key must be RSA of at least %d bits",
				   RSA_BITS_MIN);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
	uint8_t ct[1024];
	size_t n = sizeof(ct);
	int ok = c != NULL && EVP_PKEY_encrypt_init(c) == 1 &&
		EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
		EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) == 1 &&
		EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) == 1 &&
		EVP_PKEY_encrypt(c, NULL, &n, pal_secmem_cdata(dek),
				 pal_secmem_len(dek)) == 1 && n <= sizeof(ct) &&
		EVP_PKEY_encrypt(c, ct, &n, pal_secmem_cdata(dek),
				 pal_secmem_len(dek)) == 1;
	EVP_PKEY_CTX_free(c);
	if (!ok)
		return pal_err_set(err, PAL_ERR_CRYPTO, "RSA-OAEP encryption "
				   "to the recipient failed");
	return pal_base64_encode(ct, n, out) < 0 ?
		pal_err_set(err, PAL_ERR_NOMEM, "out of memory") : 0;
}

static int
write_export(struct pal_vault *v, const char *release,
	     const struct pal_kek *kek, EVP_PKEY *pub, const char *wrapped,
	     const char *out, struct pal_err *err)
{
	char hint[65];
	struct stat st;
	int rc = pal_pubkey_hint(pub, hint, err);
	if (rc < 0)
		return rc;
	if (lstat(out, &st) == 0)
		return pal_err_set(err, PAL_ERR_INVALID, "%s: exists already",
				   out);
	json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			      "version", 1, "vault", v->id, "release", release,
			      "key_label", kek->label, "key_id", kek->id_hex,
			      "alg", "RSA-OAEP-256", "recipient", hint,
			      "wrapped_key", wrapped);
	char *text = o ? json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2)) :
		NULL;
	json_decref(o);
	if (text == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	rc = pal_file_write_atomic(out, text, strlen(text), 0600, err);
	free(text);
	return rc;
}

int
pal_vault_export(struct pal_vault *v, const char *release,
		 const struct pal_vault_authz *a, const char *recipient,
		 const char *out, struct pal_err *err)
{
	struct pal_keystore *ks = NULL;
	struct pal_kek kek;
	struct pal_wrapped_dek w;
	struct pal_secmem *dek = NULL;
	struct pal_buf wrapped;
	EVP_PKEY *pub = NULL;
	pal_buf_init(&wrapped, 4096);
	int rc = pal_keystore_release_check(release, err);
	if (rc == 0)
		rc = load_recipient(recipient, &pub, err);
	if (rc == 0)
		rc = vault_authorize(v, PAL_TPC_EXPORT, release, a, err);
	if (rc == 0)
		rc = vault_keystore(v, &ks, err);
	if (rc == 0)
		rc = vault_release_key(v, release, ks, &kek, &w, err);
	if (rc == 0)
		rc = pal_keystore_unwrap(ks, &kek, &w, &dek, err);
	if (rc == 0)
		rc = encrypt_to(pub, dek, &wrapped, err);
	pal_secmem_free(dek);
	if (rc == 0)
		rc = write_export(v, release, &kek, pub, (const char *)wrapped.p,
				  out, err);
	char hint[65] = "";
	if (rc == 0)
		rc = pal_pubkey_hint(pub, hint, err);
	EVP_PKEY_free(pub);
	pal_buf_free(&wrapped);
	if (rc < 0)
		return rc;
	uint64_t idx;
	int logged;
	json_t *d = json_pack("{s:s, s:s, s:s}", "release", release,
			      "recipient", hint, "alg", "RSA-OAEP-256");
	if (d != NULL && a->report != NULL && a->report->have_request)
		json_object_set_new(d, "requester",
				    json_string(a->report->req.requester));
	return vault_audit_json(v, "vault.export", d, &idx, &logged, err);
}
