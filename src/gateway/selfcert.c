/*
 * selfcert.c - the certificates of the embedded defaults (gw_int.h).
 *
 * `palisade serve` without a configuration listens on 127.0.0.1 with a
 * certificate of its own: an ECDSA P-256 key and a self-signed
 * certificate for 127.0.0.1, ::1 and localhost, made once into the state
 * directory and reused.  Clients pin it (curl --cacert); an operator who
 * serves anything beyond loopback configures a certificate of their CA.
 *
 * The admin listener needs mutual TLS: a small CA is made, which issues
 * the admin listener's certificate and one client certificate for the
 * operator; the CA's key is then thrown away, so that nobody who reads
 * the state directory later can mint more admin clients.
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

/* What a certificate made here is for. */
struct cert_spec {
	const char *cn;
	const char *san;		/* NULL: none */
	int is_ca;
	const char *eku;		/* "serverAuth", "clientAuth", NULL */
	unsigned days;
};

/*
 * A certificate for key: self-signed when issuer is NULL, else signed by
 * issuer_key under issuer.
 */
static X509 *
make_cert(EVP_PKEY *key, const struct cert_spec *sp, X509 *issuer,
	  EVP_PKEY *issuer_key)
{
	X509 *cert = X509_new();
	X509_NAME *name;
	int ok;

	if (cert == NULL)
		return NULL;
	name = X509_get_subject_name(cert);
	ok = X509_set_version(cert, 2) == 1 && random_serial(cert) == 0 &&
	     X509_gmtime_adj(X509_getm_notBefore(cert), -300) != NULL &&
	     X509_time_adj_ex(X509_getm_notAfter(cert), (int)sp->days, 0,
			      NULL) != NULL &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)sp->cn, -1, -1,
					0) == 1 &&
	     X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer)
					       : name) == 1 &&
	     X509_set_pubkey(cert, key) == 1;
	if (ok && sp->san != NULL)
		ok = add_ext(cert, NID_subject_alt_name, sp->san) == 0;
	if (ok)
		ok = add_ext(cert, NID_basic_constraints,
			     sp->is_ca ? "critical,CA:TRUE,pathlen:0"
				       : "critical,CA:FALSE") == 0 &&
		     add_ext(cert, NID_key_usage,
			     sp->is_ca ? "critical,keyCertSign,cRLSign"
				       : "critical,digitalSignature") == 0;
	if (ok && sp->eku != NULL)
		ok = add_ext(cert, NID_ext_key_usage, sp->eku) == 0;
	if (ok)
		ok = X509_sign(cert, issuer_key ? issuer_key : key,
			       EVP_sha256()) != 0;
	if (!ok) {
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

static int
write_pair(const char *cert_path, const char *key_path, X509 *cert,
	   EVP_PKEY *key, struct pal_err *e)
{
	int rc = write_pem(key_path, 1, key, e);

	if (rc == 0)
		rc = write_pem(cert_path, 0, cert, e);
	return rc;
}

static int
cert_fail(struct pal_err *e, const char *what)
{
	ERR_clear_error();
	return pal_err_set(e, PAL_ERR_CRYPTO, "cannot make %s", what);
}

int
gw_selfcert_ensure(const char *cert_path, const char *key_path,
		   unsigned days, struct pal_err *e)
{
	static const struct cert_spec server = {
		"palisade serve", "IP:127.0.0.1,IP:::1,DNS:localhost", 0,
		"serverAuth", 0 };
	struct cert_spec sp = server;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int rc;

	if (access(cert_path, R_OK) == 0 && access(key_path, R_OK) == 0)
		return 0;
	sp.days = days;
	key = EVP_EC_gen("P-256");
	if (key != NULL)
		cert = make_cert(key, &sp, NULL, NULL);
	rc = cert == NULL ? cert_fail(e, "a self-signed certificate")
			  : write_pair(cert_path, key_path, cert, key, e);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

int
gw_admin_pki_ensure(const struct gw_admin_pki *p, unsigned days,
		    struct pal_err *e)
{
	struct cert_spec ca = { "palisade serve admin CA", NULL, 1, NULL,
				days };
	struct cert_spec srv = { "palisade serve admin",
				 "IP:127.0.0.1,IP:::1,DNS:localhost", 0,
				 "serverAuth", days };
	struct cert_spec cli = { "operator", NULL, 0, "clientAuth", days };
	EVP_PKEY *ca_key = NULL, *srv_key = NULL, *cli_key = NULL;
	X509 *ca_cert = NULL, *srv_cert = NULL, *cli_cert = NULL;
	int rc;

	if (access(p->ca, R_OK) == 0 && access(p->server_cert, R_OK) == 0 &&
	    access(p->server_key, R_OK) == 0)
		return 0;
	ca_key = EVP_EC_gen("P-256");
	srv_key = EVP_EC_gen("P-256");
	cli_key = EVP_EC_gen("P-256");
	if (ca_key != NULL && srv_key != NULL && cli_key != NULL)
		ca_cert = make_cert(ca_key, &ca, NULL, NULL);
	if (ca_cert != NULL) {
		srv_cert = make_cert(srv_key, &srv, ca_cert, ca_key);
		cli_cert = make_cert(cli_key, &cli, ca_cert, ca_key);
	}
	if (srv_cert == NULL || cli_cert == NULL)
		rc = cert_fail(e, "the admin certificates");
	else
		rc = write_pair(p->client_cert, p->client_key, cli_cert,
				cli_key, e);
	if (rc == 0)
		rc = write_pair(p->server_cert, p->server_key, srv_cert,
				srv_key, e);
	/* The CA's key is not kept: no more client certificates from it. */
	if (rc == 0)
		rc = write_pem(p->ca, 0, ca_cert, e);
	X509_free(ca_cert);
	X509_free(srv_cert);
	X509_free(cli_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(cli_key);
	return rc;
}
