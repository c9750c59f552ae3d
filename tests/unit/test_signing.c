/*
 * test_signing.c - pal_oms_sign and pal_oms_verify end to end on models
 * made under $PAL_TEST_TMP, with keys and certificates generated here
 * (P-256, P-384, P-521; a CA and a code-signing leaf), then every tamper
 * that must fail: the model's files changed, added, removed or renamed,
 * another key, a flipped signature, a payload from another bundle, and
 * certificates that are expired, from another CA or not for code signing.
 * Last, the model_signing 0.2.0 to 1.1.0 bundles verify as they were
 * published, and fail once their model is touched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "oms_fixture.h"
#include "palisade/encoding.h"
#include "palisade/signing.h"
#include "palisade/x509.h"

#define MT "oms/model-transparency/tests/"
#define DAY (24L * 3600)

/* ---- keys and certificates ---- */

static void
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (e == NULL)
		fail_msg("extension %d = %s", nid, value);
	assert_int_equal(X509_add_ext(cert, e, -1), 1);
	X509_EXTENSION_free(e);
}

struct cert_spec {
	const char *cn;
	int ca;
	const char *ku;		/* keyUsage, NULL for none */
	const char *eku;	/* extendedKeyUsage, NULL for none */
	long from, to;		/* validity, seconds from now */
};

/* A certificate for key, issued by issuer (NULL: self-signed). */
static X509 *
make_cert(EVP_PKEY *key, const struct cert_spec *c, X509 *issuer,
	  EVP_PKEY *issuer_key)
{
	static long serial = 1000;
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	assert_non_null(x);
	assert_non_null(name);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)c->cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
				   (const unsigned char *)"Palisade tests",
				   -1, -1, 0);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer ?
			 X509_get_subject_name(issuer) : name), 1);
	X509_NAME_free(name);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), c->from));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), c->to));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	add_ext(x, issuer ? issuer : x, NID_basic_constraints,
		c->ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
	add_ext(x, issuer ? issuer : x, NID_authority_key_identifier,
		"keyid:always");
	if (c->ku != NULL)
		add_ext(x, issuer ? issuer : x, NID_key_usage, c->ku);
	if (c->eku != NULL)
		add_ext(x, issuer ? issuer : x, NID_ext_key_usage, c->eku);
	assert_true(X509_sign(x, issuer_key ? issuer_key : key,
			      EVP_sha256()) > 0);
	return x;
}

static const struct cert_spec ca_spec = {
	"Palisade test CA", 1, "critical,keyCertSign,cRLSign", NULL,
	-DAY, 30 * DAY,
};
static const struct cert_spec leaf_spec = {
	"model signer", 0, "critical,digitalSignature", "codeSigning",
	-DAY, 10 * DAY,
};

static STACK_OF(X509) *
stack_of(X509 *x)
{
	STACK_OF(X509) *st = sk_X509_new_null();

	assert_non_null(st);
	assert_true(X509_up_ref(x));
	assert_true(sk_X509_push(st, x) > 0);
	return st;
}

/* ---- models ---- */

struct model {
	char *dir;		/* the temp dir holding both */
	char *path;		/* the model directory */
	char *sig;		/* the bundle, beside the model */
};

static void
model_new(struct model *m, const char *tag)
{
	m->dir = oms_tmpdir(tag);
	m->path = oms_path(m->dir, "model");
	m->sig = oms_path(m->dir, "model.sig");
	oms_puts(m->dir, "model/config.json", "{\"layers\": 2}\n");
	oms_puts(m->dir, "model/weights/part-0", "0000000000000000");
	oms_puts(m->dir, "model/weights/part-1", "1111111111111111");
	oms_put(m->dir, "model/empty", "", 0);
}

static void
model_free(struct model *m)
{
	oms_rmtree(m->dir);
	free(m->dir);
	free(m->path);
	free(m->sig);
}

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Signs m into m->sig; chain NULL for the key method. */
static void
sign(const struct model *m, struct pal_signer *s, STACK_OF(X509) *chain,
     const struct pal_manifest_opts *opts)
{
	struct pal_manifest_opts o = { .signature = m->sig, .threads = 2 };
	struct pal_manifest *man = NULL;
	struct pal_err err = { 0 };
	struct pal_buf b;

	if (opts != NULL) {
		o = *opts;
		o.signature = m->sig;
	}
	pal_buf_init(&b, PAL_OMS_BUNDLE_MAX);
	if (pal_oms_sign(m->path, &o, s, chain, &b, &man, &err) != 0)
		fail_msg("sign %s: %s", m->path, err.msg);
	assert_non_null(man);
	assert_true(man->n_res > 0);
	write_file(m->sig, b.p, b.len);
	pal_manifest_free(man);
	pal_buf_free(&b);
}

struct trust {
	EVP_PKEY *key;
	STACK_OF(X509) *roots;
	STACK_OF(X509) *inter;
	const char *const *ignore;
	size_t n_ignore;
};

static int
verify(const char *model, const char *sig, const struct trust *t,
       struct pal_verify_report *r, struct pal_err *err)
{
	struct pal_verify_opts o = {
		.model = model, .signature = sig, .key = t->key,
		.roots = t->roots, .intermediates = t->inter,
		.ignore = t->ignore, .n_ignore = t->n_ignore, .threads = 2,
	};

	memset(err, 0, sizeof(*err));
	return pal_oms_verify(&o, r, err);
}

static void
verify_ok(const struct model *m, const struct trust *t,
	  enum pal_oms_method method, const char *signer)
{
	struct pal_verify_report r;
	struct pal_err err;

	if (verify(m->path, m->sig, t, &r, &err) != 0)
		fail_msg("verify %s: %s", m->path, err.msg);
	assert_int_equal(r.method, method);
	assert_int_equal(r.n_diffs, 0);
	assert_int_equal(r.v01, 0);
	assert_non_null(r.want);
	assert_non_null(r.got);
	if (strstr(r.signer, signer) == NULL)
		fail_msg("signer '%s' does not say '%s'", r.signer, signer);
	pal_verify_report_free(&r);
}

/* Expects PAL_ERR_VERIFY with what in the message; returns the report. */
static void
verify_fails(const char *model, const char *sig, const struct trust *t,
	     const char *what, struct pal_verify_report *r)
{
	struct pal_err err;
	int rc = verify(model, sig, t, r, &err);

	if (rc != PAL_ERR_VERIFY)
		fail_msg("verify %s: got %d (%s), want PAL_ERR_VERIFY", model,
			 rc, err.msg);
	if (strstr(err.msg, what) == NULL)
		fail_msg("'%s' does not say '%s'", err.msg, what);
}

static void
expect_diff(const struct pal_verify_report *r, long i,
	    enum pal_diff_kind kind, const char *name)
{
	assert_true(i < r->n_diffs);
	assert_int_equal(r->diffs[i].kind, kind);
	assert_string_equal(r->diffs[i].name, name);
}

/* ---- round trips ---- */

static void
key_method_on_every_curve(void **state)
{
	static const char *const curves[] = { "P-256", "P-384", "P-521" };

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct model m;
		EVP_PKEY *key = EVP_EC_gen(curves[i]);
		struct pal_signer *s;
		struct trust t = { .key = key };
		char hint[65], want[80];

		assert_non_null(key);
		model_new(&m, "sg-key");
		s = oms_signer_for(key, m.dir);
		sign(&m, s, NULL, NULL);
		assert_int_equal(pal_pubkey_hint(key, hint, NULL), 0);
		snprintf(want, sizeof(want), "key %s", hint);
		verify_ok(&m, &t, PAL_OMS_KEY, want);
		/* A certificate-method verifier cannot take a key bundle. */
		struct trust none = { 0 };
		struct pal_verify_report r;
		struct pal_err err;
		assert_int_equal(verify(m.path, m.sig, &none, &r, &err),
				 PAL_ERR_INVALID);
		pal_verify_report_free(&r);
		pal_signer_free(s);
		EVP_PKEY_free(key);
		model_free(&m);
	}
}

static void
certificate_method_on_every_curve(void **state)
{
	static const char *const curves[] = { "P-256", "P-384", "P-521" };
	EVP_PKEY *cakey = EVP_EC_gen("P-384");
	X509 *ca;

	(void)state;
	assert_non_null(cakey);
	ca = make_cert(cakey, &ca_spec, NULL, NULL);
	for (int i = 0; i < 3; i++) {
		struct model m;
		EVP_PKEY *key = EVP_EC_gen(curves[i]);
		X509 *leaf = make_cert(key, &leaf_spec, ca, cakey);
		STACK_OF(X509) *chain = stack_of(leaf);
		struct trust t = { .roots = stack_of(ca) };
		struct pal_signer *s;

		model_new(&m, "sg-cert");
		s = oms_signer_for(key, m.dir);
		sign(&m, s, chain, NULL);
		verify_ok(&m, &t, PAL_OMS_CERTIFICATE, "CN=model signer");
		/* The chain may also end in the CA itself. */
		sk_X509_push(chain, ca);
		X509_up_ref(ca);
		sign(&m, s, chain, NULL);
		verify_ok(&m, &t, PAL_OMS_CERTIFICATE, "CN=model signer");
		/* A key-method verifier cannot take a certificate bundle. */
		struct trust k = { .key = key };
		struct pal_verify_report r;
		struct pal_err err;
		assert_int_equal(verify(m.path, m.sig, &k, &r, &err),
				 PAL_ERR_INVALID);
		pal_verify_report_free(&r);
		pal_signer_free(s);
		sk_X509_pop_free(chain, X509_free);
		sk_X509_pop_free(t.roots, X509_free);
		X509_free(leaf);
		EVP_PKEY_free(key);
		model_free(&m);
	}
	X509_free(ca);
	EVP_PKEY_free(cakey);
}

static void
signing_refuses_a_chain_for_another_key(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
	X509 *leaf = make_cert(other, &leaf_spec, NULL, NULL);
	STACK_OF(X509) *chain = stack_of(leaf);
	struct pal_manifest_opts o = { 0 };
	struct pal_err err = { 0 };
	struct pal_signer *s;
	struct pal_buf b;
	struct model m;

	(void)state;
	model_new(&m, "sg-mismatch");
	s = oms_signer_for(key, m.dir);
	pal_buf_init(&b, PAL_OMS_BUNDLE_MAX);
	assert_int_equal(pal_oms_sign(m.path, &o, s, chain, &b, NULL, &err),
			 PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "not for the signing key"));
	assert_int_equal(b.len, 0);
	pal_buf_free(&b);
	pal_signer_free(s);
	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	model_free(&m);
}

/* Options recorded in the statement are what the verifier hashes with. */
static void
shards_blake2b_and_ignores_round_trip(void **state)
{
	const char *ign[] = { "weights/part-1" };
	struct pal_manifest_opts o = {
		.hash = PAL_HASH_BLAKE2B, .shard_size = 5, .ignore = ign,
		.n_ignore = 1,
	};
	EVP_PKEY *key = EVP_EC_gen("P-384");
	struct trust t = { .key = key };
	struct pal_verify_report r;
	struct pal_signer *s;
	struct model m;

	(void)state;
	model_new(&m, "sg-opts");
	s = oms_signer_for(key, m.dir);
	sign(&m, s, NULL, &o);
	verify_ok(&m, &t, PAL_OMS_KEY, "key ");
	/* The ignored file may change; the others may not. */
	oms_puts(m.dir, "model/weights/part-1", "changed");
	verify_ok(&m, &t, PAL_OMS_KEY, "key ");
	oms_puts(m.dir, "model/weights/part-0", "0000000000000001");
	verify_fails(m.path, m.sig, &t, "does not match", &r);
	/* 16 bytes in shards of 5: only the last shard differs. */
	assert_int_equal(r.n_diffs, 1);
	expect_diff(&r, 0, PAL_DIFF_MISMATCH, "weights/part-0:15:16");
	assert_int_equal(r.want->hash, PAL_HASH_BLAKE2B);
	pal_verify_report_free(&r);
	pal_signer_free(s);
	EVP_PKEY_free(key);
	model_free(&m);
}

/* A single-file model, and its bundle beside it. */
static void
single_file_model_round_trip(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	struct trust t = { .key = key };
	struct pal_verify_report r;
	struct pal_signer *s;
	struct model m;
	char *file;

	(void)state;
	model_new(&m, "sg-single");
	file = oms_path(m.path, "config.json");
	s = oms_signer_for(key, m.dir);
	free(m.path);
	m.path = file;
	sign(&m, s, NULL, NULL);
	verify_ok(&m, &t, PAL_OMS_KEY, "key ");
	oms_puts(m.dir, "model/config.json", "{\"layers\": 3}\n");
	verify_fails(m.path, m.sig, &t, "does not match", &r);
	expect_diff(&r, 0, PAL_DIFF_MISMATCH, ".");
	pal_verify_report_free(&r);
	pal_signer_free(s);
	EVP_PKEY_free(key);
	model_free(&m);
}

/* ---- tampering with the model ---- */

struct signed_model {
	struct model m;
	EVP_PKEY *key;
	struct pal_signer *s;
	struct trust t;
};

static int
signed_setup(void **state)
{
	struct signed_model *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	model_new(&f->m, "sg-tamper");
	f->key = EVP_EC_gen("P-256");
	assert_non_null(f->key);
	f->s = oms_signer_for(f->key, f->m.dir);
	f->t.key = f->key;
	sign(&f->m, f->s, NULL, NULL);
	verify_ok(&f->m, &f->t, PAL_OMS_KEY, "key ");
	*state = f;
	return 0;
}

static int
signed_teardown(void **state)
{
	struct signed_model *f = *state;

	pal_signer_free(f->s);
	EVP_PKEY_free(f->key);
	model_free(&f->m);
	free(f);
	return 0;
}

static void
tamper_flipped_byte(void **state)
{
	struct signed_model *f = *state;
	struct pal_verify_report r;

	oms_puts(f->m.dir, "model/weights/part-1", "1111111111111110");
	verify_fails(f->m.path, f->m.sig, &f->t,
		     "1 difference, first 'weights/part-1' (digest differs)",
		     &r);
	assert_int_equal(r.n_diffs, 1);
	expect_diff(&r, 0, PAL_DIFF_MISMATCH, "weights/part-1");
	assert_non_null(r.diffs[0].want);
	assert_non_null(r.diffs[0].got);
	pal_verify_report_free(&r);
}

static void
tamper_added_file(void **state)
{
	struct signed_model *f = *state;
	struct pal_verify_report r;

	oms_puts(f->m.dir, "model/weights/part-2", "extra");
	verify_fails(f->m.path, f->m.sig, &f->t, "present but not signed",
		     &r);
	assert_int_equal(r.n_diffs, 1);
	expect_diff(&r, 0, PAL_DIFF_UNSIGNED, "weights/part-2");
	pal_verify_report_free(&r);
	/* Even an empty file, and even in a new directory. */
	oms_put(f->m.dir, "model/z/.keep", "", 0);
	verify_fails(f->m.path, f->m.sig, &f->t, "2 differences", &r);
	expect_diff(&r, 1, PAL_DIFF_UNSIGNED, "z/.keep");
	pal_verify_report_free(&r);
	/* Only the caller's ignore paths make them acceptable. */
	const char *ign[] = { "weights/part-2", "z" };
	struct trust t = f->t;
	t.ignore = ign;
	t.n_ignore = 2;
	verify_ok(&f->m, &t, PAL_OMS_KEY, "key ");
}

static void
tamper_removed_file(void **state)
{
	struct signed_model *f = *state;
	struct pal_verify_report r;
	char *p = oms_path(f->m.dir, "model/empty");

	assert_int_equal(unlink(p), 0);
	verify_fails(f->m.path, f->m.sig, &f->t,
		     "first 'empty' (signed but missing)", &r);
	assert_int_equal(r.n_diffs, 1);
	expect_diff(&r, 0, PAL_DIFF_MISSING, "empty");
	assert_null(r.diffs[0].got);
	pal_verify_report_free(&r);
	free(p);
}

static void
tamper_renamed_file(void **state)
{
	struct signed_model *f = *state;
	struct pal_verify_report r;
	char *from = oms_path(f->m.dir, "model/config.json");
	char *to = oms_path(f->m.dir, "model/config.json.bak");

	assert_int_equal(rename(from, to), 0);
	verify_fails(f->m.path, f->m.sig, &f->t, "2 differences", &r);
	assert_int_equal(r.n_diffs, 2);
	expect_diff(&r, 0, PAL_DIFF_MISSING, "config.json");
	expect_diff(&r, 1, PAL_DIFF_UNSIGNED, "config.json.bak");
	pal_verify_report_free(&r);
	free(from);
	free(to);
}

static void
tamper_other_key(void **state)
{
	struct signed_model *f = *state;
	EVP_PKEY *other = EVP_EC_gen("P-256");
	struct trust t = { .key = other };
	struct pal_verify_report r;

	verify_fails(f->m.path, f->m.sig, &t, "the bundle names key", &r);
	assert_int_equal(r.n_diffs, 0);
	assert_null(r.want);
	pal_verify_report_free(&r);
	EVP_PKEY_free(other);
}

/* Rewrites one base64 field of the bundle at m->sig. */
static void
edit_bundle(const char *sig, void (*fn)(json_t *doc, void *arg), void *arg)
{
	json_error_t je;
	json_t *doc = json_load_file(sig, 0, &je);

	assert_non_null(doc);
	fn(doc, arg);
	assert_int_equal(json_dump_file(doc, sig, JSON_INDENT(2)), 0);
	json_decref(doc);
}

static void
flip_sig(json_t *doc, void *arg)
{
	json_t *s = json_array_get(json_object_get(json_object_get(doc,
				   "dsseEnvelope"), "signatures"), 0);
	const char *b64 = json_string_value(json_object_get(s, "sig"));
	size_t at = *(size_t *)arg, n = 0;
	uint8_t *raw = NULL;
	struct pal_buf b;

	assert_int_equal(pal_base64_decode(b64, strlen(b64), &raw, &n, NULL),
			 0);
	raw[at < n ? at : n - 1] ^= 0x01;
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_base64_encode(raw, n, &b), 0);
	json_object_set_new(s, "sig", json_stringn((char *)b.p, b.len));
	pal_buf_free(&b);
	free(raw);
}

static void
tamper_signature_bytes(void **state)
{
	struct signed_model *f = *state;
	uint8_t *orig;
	size_t n;

	orig = oms_slurp(f->m.sig, &n);
	/* In r, in s, and the last byte. */
	static const size_t where[] = { 6, 45, (size_t)-1 };
	for (size_t i = 0; i < 3; i++) {
		struct pal_verify_report r;
		size_t at = where[i];

		edit_bundle(f->m.sig, flip_sig, &at);
		verify_fails(f->m.path, f->m.sig, &f->t,
			     "signature does not verify", &r);
		assert_null(r.want);
		pal_verify_report_free(&r);
		write_file(f->m.sig, orig, n);
	}
	free(orig);
}

static void
take_payload(json_t *doc, void *arg)
{
	json_t *e = json_object_get(doc, "dsseEnvelope");

	json_object_set(e, "payload", (json_t *)arg);
}

/*
 * The same key signs another model; its statement put in this bundle
 * would pass the file checks of that model, but not the signature.
 */
static void
tamper_payload_swapped(void **state)
{
	struct signed_model *f = *state;
	struct pal_verify_report r;
	struct model other;
	json_t *doc, *payload;

	model_new(&other, "sg-other");
	oms_puts(other.dir, "model/evil.py", "import os\n");
	sign(&other, f->s, NULL, NULL);
	doc = json_load_file(other.sig, 0, NULL);
	assert_non_null(doc);
	payload = json_object_get(json_object_get(doc, "dsseEnvelope"),
				  "payload");
	edit_bundle(f->m.sig, take_payload, payload);
	json_decref(doc);
	/* Checked against the other model, which the statement describes. */
	verify_fails(other.path, f->m.sig, &f->t,
		     "signature does not verify", &r);
	pal_verify_report_free(&r);
	verify_fails(f->m.path, f->m.sig, &f->t,
		     "signature does not verify", &r);
	pal_verify_report_free(&r);
	model_free(&other);
}

static void
add_config_key(json_t *doc, void *arg)
{
	(void)arg;
	json_object_set_new(doc, "chat_template",
			    json_string("{{ payload_from_attacker }}"));
}

/*
 * Regression: the bundle is left out of the manifest by its path only.  A
 * hard link to it under another name (here tokenizer_config.json, with a
 * chat template added to the bundle's ignored top-level keys) is a file
 * like any other, and since it is not signed, verification fails.
 */
static void
tamper_hard_link_to_the_bundle(void **state)
{
	struct signed_model *f = *state;
	struct pal_verify_report r;
	char *alias = oms_path(f->m.path, "tokenizer_config.json");

	edit_bundle(f->m.sig, add_config_key, NULL);
	verify_ok(&f->m, &f->t, PAL_OMS_KEY, "key ");
	assert_int_equal(link(f->m.sig, alias), 0);
	verify_fails(f->m.path, f->m.sig, &f->t, "present but not signed",
		     &r);
	expect_diff(&r, 0, PAL_DIFF_UNSIGNED, "tokenizer_config.json");
	pal_verify_report_free(&r);
	free(alias);
}

/* ---- certificates that must not be trusted ---- */

struct pki {
	EVP_PKEY *cakey, *key;
	X509 *ca;
	STACK_OF(X509) *roots;
};

static void
pki_new(struct pki *p)
{
	p->cakey = EVP_EC_gen("P-256");
	p->key = EVP_EC_gen("P-256");
	assert_non_null(p->cakey);
	assert_non_null(p->key);
	p->ca = make_cert(p->cakey, &ca_spec, NULL, NULL);
	p->roots = stack_of(p->ca);
}

static void
pki_free(struct pki *p)
{
	sk_X509_pop_free(p->roots, X509_free);
	X509_free(p->ca);
	EVP_PKEY_free(p->cakey);
	EVP_PKEY_free(p->key);
}

/* Signs a fresh model with a leaf made from spec (issued by issuer). */
static void
cert_must_fail(const struct cert_spec *spec, int other_ca, const char *what)
{
	struct pki p, q;
	struct model m;
	X509 *leaf;
	STACK_OF(X509) *chain;
	struct pal_signer *s;
	struct trust t;
	struct pal_verify_report r;

	pki_new(&p);
	pki_new(&q);
	leaf = make_cert(p.key, spec, other_ca ? q.ca : p.ca,
			 other_ca ? q.cakey : p.cakey);
	chain = stack_of(leaf);
	model_new(&m, "sg-badcert");
	s = oms_signer_for(p.key, m.dir);
	sign(&m, s, chain, NULL);
	memset(&t, 0, sizeof(t));
	t.roots = p.roots;
	verify_fails(m.path, m.sig, &t, what, &r);
	assert_null(r.want);
	pal_verify_report_free(&r);
	pal_signer_free(s);
	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	pki_free(&p);
	pki_free(&q);
	model_free(&m);
}

static void
cert_expired(void **state)
{
	struct cert_spec c = leaf_spec;

	(void)state;
	c.from = -10 * DAY;
	c.to = -DAY;
	cert_must_fail(&c, 0, "certificate has expired");
}

static void
cert_not_yet_valid(void **state)
{
	struct cert_spec c = leaf_spec;

	(void)state;
	c.from = DAY;
	c.to = 10 * DAY;
	cert_must_fail(&c, 0, "certificate is not yet valid");
}

static void
cert_untrusted_ca(void **state)
{
	(void)state;
	cert_must_fail(&leaf_spec, 1, "certificate chain: ");
}

static void
cert_without_codesigning(void **state)
{
	struct cert_spec c = leaf_spec;

	(void)state;
	c.eku = "serverAuth,clientAuth";
	cert_must_fail(&c, 0, "does not include codeSigning");
	c.eku = "codeSigning";
	c.ku = "critical,keyEncipherment";
	cert_must_fail(&c, 0, "digitalSignature");
}

/* A CA certificate used directly as the root and the leaf. */
static void
cert_leaf_is_not_signed_by_root_key(void **state)
{
	struct pki p;
	struct model m;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	/* Issued in the CA's name but signed by another key. */
	X509 *forged;
	STACK_OF(X509) *chain;
	struct pal_signer *s;
	struct trust t = { 0 };
	struct pal_verify_report r;

	(void)state;
	pki_new(&p);
	forged = make_cert(key, &leaf_spec, p.ca, key);
	chain = stack_of(forged);
	model_new(&m, "sg-forged");
	s = oms_signer_for(key, m.dir);
	sign(&m, s, chain, NULL);
	t.roots = p.roots;
	verify_fails(m.path, m.sig, &t, "certificate chain: ", &r);
	pal_verify_report_free(&r);
	pal_signer_free(s);
	sk_X509_pop_free(chain, X509_free);
	X509_free(forged);
	EVP_PKEY_free(key);
	pki_free(&p);
	model_free(&m);
}

/*
 * Regression: keys are judged by their curve's name, not its size, so
 * secp256k1, brainpoolP256r1 and brainpoolP384r1 keys are refused
 * (OMS uses the NIST curves only).
 */
static void
only_nist_curves(void **state)
{
	static const char *const bad[] = {
		"secp256k1", "brainpoolP256r1", "brainpoolP384r1",
		"brainpoolP512r1", "secp224r1",
	};
	char *dir = oms_tmpdir("sg-curve");
	char *pub = oms_path(dir, "pub.pem");

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EVP_PKEY *k = EVP_EC_gen(bad[i]), *loaded = NULL;
		struct pal_signer *s = NULL;
		struct pal_err err = { 0 };
		char *path = oms_path(dir, "key.pem");
		FILE *f;

		assert_non_null(k);
		if (pal_signer_md(k) != NULL)
			fail_msg("%s taken for a NIST curve", bad[i]);
		f = fopen(pub, "wb");
		assert_non_null(f);
		assert_int_equal(PEM_write_PUBKEY(f, k), 1);
		fclose(f);
		assert_int_equal(pal_pubkey_load(pub, &loaded, &err),
				 PAL_ERR_UNSUPPORTED);
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0,
						      NULL, NULL), 1);
		fclose(f);
		assert_int_equal(pal_signer_from_pem(path, &s, &err),
				 PAL_ERR_UNSUPPORTED);
		unlink(path);
		free(path);
		EVP_PKEY_free(k);
	}
	oms_rmtree(dir);
	free(dir);
	free(pub);
}

/* ---- the published model_signing bundles ---- */

struct mt_vector {
	const char *dir;
	const char *model;	/* relative to dir; "" for dir itself */
	int cert;		/* certificate, else key */
	int ignore_me;		/* 1: needs --ignore-paths ignore-me; 2: the
				   statement's ignore_paths name it */
	int v01;
};

static const struct mt_vector mt_vectors[] = {
	{ "v0.2.0-certificate", "", 1, 0, 1 },
	{ "v0.3.1-certificate", "", 1, 0, 0 },
	{ "v0.3.1-elliptic-key", "signme-1", 0, 0, 0 },
	{ "v1.0.0-certificate", "", 1, 0, 0 },
	{ "v1.0.0-elliptic-key", "signme-1", 0, 0, 0 },
	{ "v1.0.1-certificate", "", 1, 1, 0 },
	{ "v1.0.1-elliptic-key", "", 0, 1, 0 },
	{ "v1.1.0-certificate", "", 1, 2, 0 },
	{ "v1.1.0-elliptic-key", "", 0, 2, 0 },
};

static void
mt_trust(struct trust *t)
{
	char *pub = oms_data(MT "keys/certificate/signing-key-pub.pem");
	char *ca = oms_data(MT "keys/certificate/ca-cert.pem");

	memset(t, 0, sizeof(*t));
	assert_int_equal(pal_pubkey_load(pub, &t->key, NULL), 0);
	assert_int_equal(pal_x509_load_file(ca, &t->roots, NULL), 0);
	free(pub);
	free(ca);
}

static void
mt_trust_free(struct trust *t)
{
	EVP_PKEY_free(t->key);
	sk_X509_pop_free(t->roots, X509_free);
}

/* Copies the vector's files to a temp dir, to be tampered with. */
static char *
mt_copy(const char *vdir)
{
	static const char *const files[] = {
		"model.sig", "signme-1", "signme-2", "ignore-me",
	};
	char *dst = oms_tmpdir("sg-mt");

	for (int i = 0; i < 4; i++) {
		char rel[256];
		char *src;
		uint8_t *data;
		size_t n;

		snprintf(rel, sizeof(rel), MT "%s/%s", vdir, files[i]);
		src = oms_data(rel);
		if (access(src, F_OK) == 0) {
			data = oms_slurp(src, &n);
			oms_put(dst, files[i], data, n);
			free(data);
		}
		free(src);
	}
	return dst;
}

static void
model_signing_bundles_verify(void **state)
{
	const char *ign[] = { "ignore-me" };
	struct trust t;

	(void)state;
	mt_trust(&t);
	for (size_t i = 0; i < sizeof(mt_vectors) / sizeof(mt_vectors[0]);
	     i++) {
		const struct mt_vector *v = &mt_vectors[i];
		struct trust vt = t;
		struct pal_verify_report r;
		struct pal_err err;
		char rel[256];
		char *dir, *model, *sig;

		snprintf(rel, sizeof(rel), MT "%s", v->dir);
		dir = oms_data(rel);
		model = v->model[0] ? oms_path(dir, v->model) : strdup(dir);
		sig = oms_path(dir, "model.sig");
		if (v->cert)
			vt.key = NULL;
		else
			vt.roots = NULL;
		vt.ignore = ign;
		vt.n_ignore = v->ignore_me == 1;
		if (verify(model, sig, &vt, &r, &err) != 0)
			fail_msg("%s: %s", v->dir, err.msg);
		assert_int_equal(r.method, v->cert ? PAL_OMS_CERTIFICATE :
				 PAL_OMS_KEY);
		assert_int_equal(r.v01, v->v01);
		assert_int_equal(r.n_diffs, 0);
		if (v->cert)
			assert_non_null(strstr(r.signer,
					       "CN=intermediate-ca"));
		else
			assert_non_null(strstr(r.signer, "key e8450dec"));
		pal_verify_report_free(&r);
		/* Without --ignore-paths the extra file is unsigned. */
		if (v->ignore_me == 1) {
			vt.n_ignore = 0;
			assert_int_equal(verify(model, sig, &vt, &r, &err),
					 PAL_ERR_VERIFY);
			expect_diff(&r, 0, PAL_DIFF_UNSIGNED, "ignore-me");
			pal_verify_report_free(&r);
		}
		free(dir);
		free(model);
		free(sig);
	}
	mt_trust_free(&t);
}

static void
model_signing_bundles_detect_tampering(void **state)
{
	const char *ign[] = { "ignore-me" };
	struct trust t;

	(void)state;
	mt_trust(&t);
	for (size_t i = 0; i < sizeof(mt_vectors) / sizeof(mt_vectors[0]);
	     i++) {
		const struct mt_vector *v = &mt_vectors[i];
		struct trust vt = t;
		struct pal_verify_report r;
		char *dir = mt_copy(v->dir);
		char *model = v->model[0] ? oms_path(dir, v->model) :
			strdup(dir);
		char *sig = oms_path(dir, "model.sig");

		if (v->cert)
			vt.key = NULL;
		else
			vt.roots = NULL;
		vt.ignore = ign;
		vt.n_ignore = v->ignore_me == 1;
		oms_puts(dir, "signme-1", "tampered\n");
		verify_fails(model, sig, &vt, "digest differs", &r);
		expect_diff(&r, 0, PAL_DIFF_MISMATCH,
			    v->model[0] ? "." : "signme-1");
		pal_verify_report_free(&r);
		oms_rmtree(dir);
		free(dir);
		free(model);
		free(sig);
	}
	mt_trust_free(&t);
}

/* The other published signer's bundle: the key does not match. */
static void
model_signing_bundle_with_wrong_trust(void **state)
{
	struct trust t;
	struct pal_verify_report r;
	char *dir = oms_data(MT "v1.1.0-certificate");
	char *sig = oms_path(dir, "model.sig");
	const char *ign[] = { "ignore-me" };
	EVP_PKEY *cakey = EVP_EC_gen("P-256");
	X509 *ca = make_cert(cakey, &ca_spec, NULL, NULL);

	(void)state;
	memset(&t, 0, sizeof(t));
	t.roots = stack_of(ca);
	t.ignore = ign;
	t.n_ignore = 1;
	verify_fails(dir, sig, &t, "certificate chain: ", &r);
	pal_verify_report_free(&r);
	sk_X509_pop_free(t.roots, X509_free);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	free(sig);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key_method_on_every_curve),
		cmocka_unit_test(certificate_method_on_every_curve),
		cmocka_unit_test(signing_refuses_a_chain_for_another_key),
		cmocka_unit_test(shards_blake2b_and_ignores_round_trip),
		cmocka_unit_test(single_file_model_round_trip),
		cmocka_unit_test_setup_teardown(tamper_flipped_byte,
						signed_setup, signed_teardown),
		cmocka_unit_test_setup_teardown(tamper_added_file,
						signed_setup, signed_teardown),
		cmocka_unit_test_setup_teardown(tamper_removed_file,
						signed_setup, signed_teardown),
		cmocka_unit_test_setup_teardown(tamper_renamed_file,
						signed_setup, signed_teardown),
		cmocka_unit_test_setup_teardown(tamper_other_key,
						signed_setup, signed_teardown),
		cmocka_unit_test_setup_teardown(tamper_signature_bytes,
						signed_setup, signed_teardown),
		cmocka_unit_test_setup_teardown(tamper_payload_swapped,
						signed_setup, signed_teardown),
		cmocka_unit_test_setup_teardown(tamper_hard_link_to_the_bundle,
						signed_setup, signed_teardown),
		cmocka_unit_test(cert_expired),
		cmocka_unit_test(cert_not_yet_valid),
		cmocka_unit_test(cert_untrusted_ca),
		cmocka_unit_test(cert_without_codesigning),
		cmocka_unit_test(cert_leaf_is_not_signed_by_root_key),
		cmocka_unit_test(only_nist_curves),
		cmocka_unit_test(model_signing_bundles_verify),
		cmocka_unit_test(model_signing_bundles_detect_tampering),
		cmocka_unit_test(model_signing_bundle_with_wrong_trust),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
