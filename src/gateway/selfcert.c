/*
 * selfcert.c - the certificate of the embedded defaults (gw_int.h).
 *
 * `palisade serve` without a configuration listens on 127.0.0.1 with a
 * certificate of its own: an ECDSA P-256 key and a self-signed
 * certificate for 127.0.0.1, ::1 and localhost, made once into the state
 * directory and reused.  Clients pin it (curl --cacert); an operator who
 * serves anything beyond loopback configures a certificate of their CA.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "palisade/file.h"
#include "gw_int.h"

static int
add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

static int
random_serial(X509 *cert)
{
	unsigned char raw[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	raw[0] &= 0x7f;
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	if (bn == NULL)
		return -1;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static X509 *
make_cert(EVP_PKEY *key, unsigned days)
{
	X509 *cert = X509_new();
	X509_NAME *name;

	if (cert == NULL)
		return NULL;
	name = X509_get_subject_name(cert);
	if (X509_set_version(cert, 2) != 1 || random_serial(cert) != 0 ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -300) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0,
			     NULL) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				       (const unsigned char *)"palisade serve",
				       -1, -1, 0) != 1 ||
	    X509_set_issuer_name(cert, name) != 1 ||
	    X509_set_pubkey(cert, key) != 1 ||
	    add_ext(cert, NID_subject_alt_name,
		    "IP:127.0.0.1,IP:::1,DNS:localhost") != 0 ||
	    add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    add_ext(cert, NID_key_usage, "critical,digitalSignature") != 0 ||
	    add_ext(cert, NID_ext_key_usage, "serverAuth") != 0 ||
	    X509_sign(cert, key, EVP_sha256()) == 0) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}

/* Writes a PEM object through a new 0600 file, then renames it in place. */
static int
write_pem(const char *path, int is_key, void *obj, struct pal_err *e)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int ok, rc;

	if (mem == NULL)
		return pal_err_set(e, PAL_ERR_NOMEM, "out of memory");
	ok = is_key ? PEM_write_bio_PrivateKey(mem, obj, NULL, NULL, 0, NULL,
					       NULL)
		    : PEM_write_bio_X509(mem, obj);
	if (ok != 1) {
		BIO_free(mem);
		return pal_err_set(e, PAL_ERR_CRYPTO, "cannot encode '%s'",
				   path);
	}
	len = BIO_get_mem_data(mem, &data);
	rc = pal_file_write_atomic(path, data, (size_t)len, 0600, e);
	if (is_key)
		OPENSSL_cleanse(data, (size_t)len);
	BIO_free_all(mem);
	return rc;
}

int
gw_selfcert_ensure(const char *cert_path, const char *key_path,
		   unsigned days, struct pal_err *e)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int rc;

	if (access(cert_path, R_OK) == 0 && access(key_path, R_OK) == 0)
		return 0;
	key = EVP_EC_gen("P-256");
	if (key != NULL)
		cert = make_cert(key, days);
	if (cert == NULL) {
		ERR_clear_error();
		EVP_PKEY_free(key);
		return pal_err_set(e, PAL_ERR_CRYPTO,
				   "cannot make a self-signed certificate");
	}
	rc = write_pem(key_path, 1, key, e);
	if (rc == 0)
		rc = write_pem(cert_path, 0, cert, e);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}
