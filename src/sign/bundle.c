/*
 * bundle.c - Sigstore bundle v0.3 with a DSSE envelope, as OMS uses it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "palisade/dsse.h"
#include "palisade/encoding.h"
#include "palisade/file.h"
#include "palisade/oms.h"
#include "palisade/signer.h"
#include "palisade/x509.h"

#define MAX_CHAIN 16

const char *
pal_oms_method_name(enum pal_oms_method m)
{
	switch (m) {
	case PAL_OMS_KEY:
		return "key";
	case PAL_OMS_CERTIFICATE:
		return "certificate";
	case PAL_OMS_SIGSTORE:
		return "sigstore";
	}
	return "unknown";
}

void
pal_bundle_free(struct pal_bundle *b)
{
	if (b == NULL)
		return;
	json_decref(b->doc);
	free(b->payload_type);
	free(b->payload);
	free(b->sig);
	free(b->key_hint);
	EVP_PKEY_free(b->key_raw);
	if (b->chain != NULL)
		sk_X509_pop_free(b->chain, X509_free);
	free(b);
}

/* Decodes the base64 string at o[key]. */
static int
get_b64(json_t *o, const char *key, const char *where, uint8_t **out,
	size_t *len, struct pal_err *err)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v))
		return pal_err_set(err, PAL_ERR_FORMAT, "%s.%s: %s", where,
				   key, v ? "not a string" : "missing");
	int rc = pal_base64_decode(json_string_value(v), json_string_length(v),
				   out, len, err);
	if (rc < 0)
		pal_err_wrap(err, rc, "%s.%s: ", where, key);
	return rc;
}

static int
parse_envelope(json_t *env, struct pal_bundle *b, struct pal_err *err)
{
	const char *w = "dsseEnvelope";
	if (!json_is_object(env))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "bundle has no dsseEnvelope (message "
				   "signatures are not OMS)");
	json_t *t = json_object_get(env, "payloadType");
	if (!json_is_string(t))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.payloadType: missing", w);
	if ((b->payload_type = strdup(json_string_value(t))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	int rc = get_b64(env, "payload", w, &b->payload, &b->payload_len,
			 err);
	if (rc < 0)
		return rc;
	json_t *sigs = json_object_get(env, "signatures");
	if (!json_is_array(sigs) || json_array_size(sigs) != 1)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.signatures: exactly one signature "
				   "expected", w);
	json_t *s = json_array_get(sigs, 0);
	json_t *kid = json_object_get(s, "keyid");
	if (kid != NULL && !json_is_null(kid) && !json_is_string(kid))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.signatures[0].keyid: not a string", w);
	rc = get_b64(s, "sig", "dsseEnvelope.signatures[0]", &b->sig,
		     &b->sig_len, err);
	if (rc == 0 && b->sig_len == 0)
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "%s.signatures[0].sig: empty", w);
	return rc;
}

static int
parse_public_key(json_t *pk, struct pal_bundle *b, struct pal_err *err)
{
	b->method = PAL_OMS_KEY;
	json_t *hint = json_object_get(pk, "hint");
	if (json_is_string(hint)) {
		b->key_hint = strdup(json_string_value(hint));
		return b->key_hint ? 0 :
			pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	uint8_t *der = NULL;
	size_t len = 0;
	int rc = get_b64(pk, "rawBytes", "verificationMaterial.publicKey",
			 &der, &len, err);
	if (rc < 0)
		return hint == NULL && json_object_get(pk, "rawBytes") == NULL ?
			pal_err_set(err, PAL_ERR_FORMAT,
				    "verificationMaterial.publicKey: neither "
				    "hint nor rawBytes") : rc;
	/* model_signing wrote the PEM text here; the protobuf means DER. */
	const unsigned char *p = der;
	int whole = 0;
	if (len > 10 && memcmp(der, "-----BEGIN", 10) == 0) {
		BIO *bio = BIO_new_mem_buf(der, (int)len);
		b->key_raw = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) :
			NULL;
		BIO_free(bio);
		whole = b->key_raw != NULL;
	} else {
		b->key_raw = d2i_PUBKEY(NULL, &p, (long)len);
		whole = b->key_raw != NULL && (size_t)(p - der) == len;
	}
	free(der);
	ERR_clear_error();
	if (!whole)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "verificationMaterial.publicKey.rawBytes: "
				   "not a PEM or DER public key");
	return 0;
}

static int
parse_chain(json_t *chain, struct pal_bundle *b, struct pal_err *err)
{
	b->method = PAL_OMS_CERTIFICATE;
	json_t *certs = json_object_get(chain, "certificates");
	if (!json_is_array(certs) || json_array_size(certs) == 0 ||
	    json_array_size(certs) > MAX_CHAIN)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "x509CertificateChain.certificates: 1 to "
				   "%d certificates expected", MAX_CHAIN);
	if ((b->chain = sk_X509_new_null()) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	size_t i;
	json_t *c;
	json_array_foreach(certs, i, c) {
		char where[64];
		snprintf(where, sizeof(where),
			 "x509CertificateChain.certificates[%zu]", i);
		uint8_t *der = NULL;
		size_t len = 0;
		X509 *x = NULL;
		int rc = get_b64(c, "rawBytes", where, &der, &len, err);
		if (rc == 0) {
			rc = pal_x509_from_der(der, len, &x, err);
			if (rc < 0)
				pal_err_wrap(err, rc, "%s: ", where);
		}
		free(der);
		if (rc < 0)
			return rc;
		if (!sk_X509_push(b->chain, x)) {
			X509_free(x);
			return pal_err_set(err, PAL_ERR_NOMEM,
					   "out of memory");
		}
	}
	return 0;
}

static int
parse_material(json_t *vm, struct pal_bundle *b, struct pal_err *err)
{
	if (!json_is_object(vm))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "bundle has no verificationMaterial");
	b->material = vm;
	json_t *pk = json_object_get(vm, "publicKey");
	json_t *chain = json_object_get(vm, "x509CertificateChain");
	json_t *cert = json_object_get(vm, "certificate");
	if ((pk != NULL) + (chain != NULL) + (cert != NULL) != 1)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "verificationMaterial must hold exactly one "
				   "of publicKey, x509CertificateChain, "
				   "certificate");
	json_t *tlog = json_object_get(vm, "tlogEntries");
	if (tlog != NULL && !json_is_array(tlog))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "verificationMaterial.tlogEntries: not a "
				   "list");
	if (pk != NULL)
		return json_is_object(pk) ? parse_public_key(pk, b, err) :
			pal_err_set(err, PAL_ERR_FORMAT,
				    "verificationMaterial.publicKey: not an "
				    "object");
	if (chain != NULL)
		return parse_chain(chain, b, err);
	b->method = PAL_OMS_SIGSTORE;
	if (!json_is_object(cert) || json_array_size(tlog) == 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "verificationMaterial: a sigstore "
				   "certificate needs tlogEntries");
	return 0;
}

int
pal_bundle_parse(const uint8_t *data, size_t len, struct pal_bundle **out,
		 struct pal_err *err)
{
	if (len > PAL_OMS_BUNDLE_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "bundle larger than %u bytes",
				   PAL_OMS_BUNDLE_MAX);
	struct pal_bundle *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	json_error_t je;
	int rc = 0;
	b->doc = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES,
			    &je);
	if (b->doc == NULL)
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "bundle is not JSON: %s (line %d, column %d)",
				 je.text, je.line, je.column);
	else if (!json_is_object(b->doc))
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "bundle is not a JSON object");
	if (rc == 0) {
		json_t *mt = json_object_get(b->doc, "mediaType");
		const char *s = json_string_value(mt);
		if (s == NULL || strncmp(s, "application/vnd.dev.sigstore."
					 "bundle", 35) != 0)
			rc = pal_err_set(err, PAL_ERR_FORMAT,
					 "bundle mediaType %s%s%s is not a "
					 "Sigstore bundle", s ? "'" : "",
					 s ? s : "missing", s ? "'" : "");
	}
	if (rc == 0)
		rc = parse_material(json_object_get(b->doc,
				    "verificationMaterial"), b, err);
	if (rc == 0)
		rc = parse_envelope(json_object_get(b->doc, "dsseEnvelope"),
				    b, err);
	if (rc < 0) {
		pal_bundle_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

int
pal_bundle_load(const char *path, struct pal_bundle **out,
		struct pal_err *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = pal_file_read(path, PAL_OMS_BUNDLE_MAX, &data, &len, err);
	if (rc < 0)
		return rc;
	rc = pal_bundle_parse(data, len, out, err);
	if (rc < 0)
		pal_err_wrap(err, rc, "%s: ", path);
	free(data);
	return rc;
}

/* ---- writing ---- */

static json_t *
b64_string(const uint8_t *p, size_t n)
{
	struct pal_buf b;
	pal_buf_init(&b, PAL_OMS_BUNDLE_MAX);
	json_t *s = NULL;
	if (pal_base64_encode(p, n, &b) == 0)
		s = json_stringn(b.p ? (const char *)b.p : "", b.len);
	pal_buf_free(&b);
	return s;
}

static json_t *
material_json(EVP_PKEY *pub, STACK_OF(X509) *chain, struct pal_err *err)
{
	if (chain == NULL) {
		char hint[65];
		if (pal_pubkey_hint(pub, hint, err) < 0)
			return NULL;
		return json_pack("{s:{s:s}, s:[]}", "publicKey", "hint", hint,
				 "tlogEntries");
	}
	json_t *certs = json_array();
	for (int i = 0; certs != NULL && i < sk_X509_num(chain); i++) {
		unsigned char *der = NULL;
		int n = i2d_X509(sk_X509_value(chain, i), &der);
		json_t *c = n > 0 ? b64_string(der, (size_t)n) : NULL;
		OPENSSL_free(der);
		if (c == NULL || json_array_append_new(
			    certs, json_pack("{s:o}", "rawBytes", c))) {
			json_decref(certs);
			certs = NULL;
		}
	}
	if (certs == NULL) {
		pal_err_set(err, PAL_ERR_NOMEM, "cannot encode certificates");
		return NULL;
	}
	return json_pack("{s:{s:o}, s:[]}", "x509CertificateChain",
			 "certificates", certs, "tlogEntries");
}

int
pal_bundle_write(const uint8_t *payload, size_t len, const uint8_t *sig,
		 size_t sig_len, EVP_PKEY *pub, STACK_OF(X509) *chain,
		 struct pal_buf *out, struct pal_err *err)
{
	json_t *vm = material_json(pub, chain, err);
	if (vm == NULL)
		return err ? err->code : PAL_ERR_NOMEM;
	json_t *p = b64_string(payload, len);
	json_t *s = b64_string(sig, sig_len);
	json_t *doc = NULL;
	if (p != NULL && s != NULL)
		doc = json_pack("{s:s, s:o, s:{s:o, s:s, s:[{s:o, s:s}]}}",
				"mediaType", PAL_OMS_MEDIA_TYPE,
				"verificationMaterial", vm,
				"dsseEnvelope", "payload", p,
				"payloadType", PAL_DSSE_INTOTO_TYPE,
				"signatures", "sig", s, "keyid", "");
	else {
		json_decref(vm);
		json_decref(p);
		json_decref(s);
	}
	char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	if (text == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "cannot build bundle");
	int rc = pal_buf_puts(out, text);
	if (rc == 0)
		rc = pal_buf_putc(out, '\n');
	free(text);
	return rc < 0 ? pal_err_set(err, rc, "bundle too large") : 0;
}
