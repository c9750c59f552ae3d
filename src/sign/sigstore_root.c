/*
 * sigstore_root.c - the Sigstore trusted root (trusted_root.json, media
 * type application/vnd.dev.sigstore.trustedroot+json): Rekor logs, CT
 * logs, Fulcio CAs and timestamp authorities, each with its validity
 * window.
 *
 * The root is the trust anchor, so it is parsed as strictly as a bundle:
 * unknown fields, duplicate keys, malformed keys or certificates and
 * windows that end before they start are errors.  A log whose key type
 * this verifier does not implement (keyDetails) is kept without a key and
 * can verify nothing, so that a newer root still loads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "palisade/file.h"
#include "palisade/x509.h"
#include "sigstore_int.h"

#define PATH_MAX_LEN 96

static const char *const root_keys[] = {
	"mediaType", "tlogs", "certificateAuthorities", "ctlogs",
	"timestampAuthorities", NULL,
};
static const char *const log_keys[] = {
	"baseUrl", "hashAlgorithm", "publicKey", "logId", "checkpointKeyId",
	"operator", NULL,
};
static const char *const pubkey_keys[] = {
	"rawBytes", "keyDetails", "validFor", NULL,
};
static const char *const ca_keys[] = {
	"subject", "uri", "certChain", "validFor", "operator", NULL,
};
static const char *const range_keys[] = { "start", "end", NULL };

static int
parse_range(json_t *parent, int64_t *start, int64_t *end, const char *path,
	    struct pal_err *err)
{
	json_t *r;
	char p[PATH_MAX_LEN];
	int rc = ss_json_obj(parent, "validFor", 1, &r, path, err);

	if (rc < 0)
		return rc;
	ss_pathf(p, sizeof(p), "%s.validFor", path);
	if ((rc = ss_json_keys(r, range_keys, p, err)) < 0 ||
	    (rc = ss_json_time(r, "start", start, p, err)) < 0)
		return rc;
	*end = SS_TIME_OPEN;
	if (json_object_get(r, "end") != NULL &&
	    (rc = ss_json_time(r, "end", end, p, err)) < 0)
		return rc;
	if (*end < *start)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s: ends before it starts", p);
	return 0;
}

/* The host of baseUrl, which Rekor uses as its checkpoint key name. */
static int
host_of(const char *url, char out[SS_NAME_MAX], const char *path,
	struct pal_err *err)
{
	const char *h = strstr(url, "://");
	h = h != NULL ? h + 3 : url;
	size_t n = strcspn(h, "/:?#");

	if (n == 0 || n >= SS_NAME_MAX || memchr(h, ' ', n) ||
	    memchr(h, '+', n))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.baseUrl: no host name", path);
	memcpy(out, h, n);
	out[n] = '\0';
	return 0;
}

/* keyDetails this verifier implements, with the curve size each needs. */
static int
key_bits(const char *details)
{
	if (strcmp(details, "PKIX_ECDSA_P256_SHA_256") == 0)
		return 256;
	if (strcmp(details, "PKIX_ECDSA_P384_SHA_384") == 0)
		return 384;
	if (strcmp(details, "PKIX_ECDSA_P521_SHA_512") == 0)
		return 521;
	return 0;
}

static int
parse_pubkey(json_t *log, struct ss_log *l, const char *path,
	     struct pal_err *err)
{
	json_t *pk;
	const char *details;
	uint8_t *der = NULL;
	size_t len = 0;
	char p[PATH_MAX_LEN];
	int rc = ss_json_obj(log, "publicKey", 1, &pk, path, err);

	if (rc < 0)
		return rc;
	ss_pathf(p, sizeof(p), "%s.publicKey", path);
	if ((rc = ss_json_keys(pk, pubkey_keys, p, err)) < 0 ||
	    (rc = ss_json_str(pk, "keyDetails", 64, &details, p, err)) < 0 ||
	    (rc = parse_range(pk, &l->start, &l->end, p, err)) < 0 ||
	    (rc = ss_json_b64_field(pk, "rawBytes", 4096, &der, &len, p,
				    err)) < 0)
		return rc;
	int bits = key_bits(details);
	const unsigned char *q = der;
	if (bits != 0) {
		l->key = d2i_PUBKEY(NULL, &q, (long)len);
		if (l->key == NULL || q != der + len ||
		    EVP_PKEY_get_base_id(l->key) != EVP_PKEY_EC ||
		    EVP_PKEY_get_bits(l->key) != bits)
			rc = pal_err_set(err, PAL_ERR_FORMAT,
					 "%s.rawBytes: not a %s key", p,
					 details);
	}
	ERR_clear_error();
	free(der);
	return rc;
}

static int
parse_log(json_t *log, struct ss_log *l, const char *path,
	  struct pal_err *err)
{
	const char *url, *alg;
	json_t *id;
	char p[PATH_MAX_LEN];
	int rc;

	if (!json_is_object(log))
		return pal_err_set(err, PAL_ERR_FORMAT, "%s: not an object",
				   path);
	if ((rc = ss_json_keys(log, log_keys, path, err)) < 0 ||
	    (rc = ss_json_str(log, "baseUrl", 1024, &url, path, err)) < 0 ||
	    (rc = host_of(url, l->name, path, err)) < 0 ||
	    (rc = ss_json_str(log, "hashAlgorithm", 32, &alg, path,
			      err)) < 0 ||
	    (rc = ss_json_obj(log, "logId", 1, &id, path, err)) < 0)
		return rc;
	if (strcmp(alg, "SHA2_256") != 0)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s.hashAlgorithm: %s, not SHA2_256", path,
				   alg);
	ss_pathf(p, sizeof(p), "%s.logId.keyId", path);
	if ((rc = ss_json_hash(json_object_get(id, "keyId"), l->id, p,
			       err)) < 0)
		return rc;
	return parse_pubkey(log, l, path, err);
}

static int
parse_logs(json_t *root, const char *key, struct ss_log *logs, size_t *n,
	   struct pal_err *err)
{
	json_t *a, *v;
	size_t i;
	int rc = ss_json_array(root, key, SS_MAX_LOGS, &a, "trustedRoot",
			       err);

	if (rc < 0 || a == NULL)
		return rc;
	json_array_foreach(a, i, v) {
		char p[PATH_MAX_LEN];
		ss_pathf(p, sizeof(p), "%s[%zu]", key, i);
		(*n)++;
		if ((rc = parse_log(v, &logs[i], p, err)) < 0)
			return rc;
	}
	return 0;
}

static int
parse_chain(json_t *ca, struct ss_ca *c, const char *path,
	    struct pal_err *err)
{
	json_t *chain, *certs, *v;
	size_t i;
	char p[PATH_MAX_LEN];
	int rc = ss_json_obj(ca, "certChain", 1, &chain, path, err);

	if (rc < 0)
		return rc;
	ss_pathf(p, sizeof(p), "%s.certChain", path);
	if ((rc = ss_json_array(chain, "certificates", SS_MAX_CHAIN, &certs,
				p, err)) < 0)
		return rc;
	if (certs == NULL || json_array_size(certs) == 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.certificates: none", p);
	if ((c->certs = sk_X509_new_null()) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	json_array_foreach(certs, i, v) {
		uint8_t *der = NULL;
		size_t len = 0;
		X509 *x = NULL;
		char q[PATH_MAX_LEN];
		ss_pathf(q, sizeof(q), "%s.certificates[%zu]", p, i);
		if (!json_is_object(v))
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "%s: not an object", q);
		rc = ss_json_b64_field(v, "rawBytes", SS_MAX_CERT, &der, &len,
				       q, err);
		if (rc == 0 && (rc = pal_x509_from_der(der, len, &x, err)) < 0)
			pal_err_wrap(err, rc, "%s: ", q);
		free(der);
		if (rc == 0 && !sk_X509_push(c->certs, x)) {
			X509_free(x);
			rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
parse_cas(json_t *root, const char *key, struct ss_ca *cas, size_t *n,
	  struct pal_err *err)
{
	json_t *a, *v;
	size_t i;
	int rc = ss_json_array(root, key, SS_MAX_LOGS, &a, "trustedRoot",
			       err);

	if (rc < 0 || a == NULL)
		return rc;
	json_array_foreach(a, i, v) {
		char p[PATH_MAX_LEN];
		ss_pathf(p, sizeof(p), "%s[%zu]", key, i);
		(*n)++;
		if (!json_is_object(v))
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "%s: not an object", p);
		if ((rc = ss_json_keys(v, ca_keys, p, err)) < 0 ||
		    (rc = parse_chain(v, &cas[i], p, err)) < 0 ||
		    (rc = parse_range(v, &cas[i].start, &cas[i].end, p,
				      err)) < 0)
			return rc;
	}
	return 0;
}

static int
parse_root(json_t *j, struct pal_sigstore_root *r, struct pal_err *err)
{
	const char *mt;
	int rc;

	if (!json_is_object(j))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "trusted root is not a JSON object");
	if ((rc = ss_json_keys(j, root_keys, "trustedRoot", err)) < 0 ||
	    (rc = ss_json_str(j, "mediaType", 128, &mt, "trustedRoot",
			      err)) < 0)
		return rc;
	if (strncmp(mt, "application/vnd.dev.sigstore.trustedroot", 40) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "trustedRoot.mediaType: \"%s\" is not a "
				   "Sigstore trusted root", mt);
	if ((rc = parse_logs(j, "tlogs", r->tlogs, &r->n_tlogs, err)) < 0 ||
	    (rc = parse_logs(j, "ctlogs", r->ctlogs, &r->n_ctlogs, err)) < 0 ||
	    (rc = parse_cas(j, "certificateAuthorities", r->cas, &r->n_cas,
			    err)) < 0 ||
	    (rc = parse_cas(j, "timestampAuthorities", r->tsas, &r->n_tsas,
			    err)) < 0)
		return rc;
	return 0;
}

int
pal_sigstore_root_parse(const uint8_t *json, size_t len,
			struct pal_sigstore_root **out, struct pal_err *err)
{
	json_error_t jerr;

	*out = NULL;
	if (len > PAL_SIGSTORE_ROOT_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "trusted root of %zu bytes is too large",
				   len);
	json_t *j = json_loadb((const char *)json, len,
			       JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "trusted root: %s at line %d", jerr.text,
				   jerr.line);
	struct pal_sigstore_root *r = calloc(1, sizeof(*r));
	int rc = r != NULL ? parse_root(j, r, err) :
		pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	json_decref(j);
	if (rc < 0) {
		pal_sigstore_root_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int
pal_sigstore_root_load(const char *path, struct pal_sigstore_root **out,
		       struct pal_err *err)
{
	*out = NULL;
	uint8_t *buf = NULL;
	size_t n = 0;
	int rc = pal_file_read(path, PAL_SIGSTORE_ROOT_MAX, &buf, &n, err);
	if (rc < 0)
		return rc;
	rc = pal_sigstore_root_parse(buf, n, out, err);
	if (rc < 0)
		pal_err_wrap(err, rc, "%s: ", path);
	free(buf);
	return rc;
}

void
pal_sigstore_root_free(struct pal_sigstore_root *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_tlogs; i++)
		EVP_PKEY_free(r->tlogs[i].key);
	for (size_t i = 0; i < r->n_ctlogs; i++)
		EVP_PKEY_free(r->ctlogs[i].key);
	for (size_t i = 0; i < r->n_cas; i++)
		sk_X509_pop_free(r->cas[i].certs, X509_free);
	for (size_t i = 0; i < r->n_tsas; i++)
		sk_X509_pop_free(r->tsas[i].certs, X509_free);
	free(r);
}
