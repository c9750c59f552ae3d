/*
 * test_sigstore.c - offline Sigstore keyless verification on the real
 * bundles of tests/data/oms (sigstore/model-transparency releases v0.3.1
 * to v1.1.0 and the OMS spec's valid vector) against the public-good
 * trusted root, then one tampering per check, each of which must fail for
 * its own reason.
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

#include "palisade/buf.h"
#include "palisade/encoding.h"
#include "palisade/sigstore.h"

#define IDENTITY "stefanb@us.ibm.com"
#define ISSUER "https://sigstore.verify.ibm.com/oauth2"

static const struct pal_sigstore_want want = { IDENTITY, ISSUER };

struct bundle {
	json_t *json;		/* the whole bundle */
	json_t *vm;		/* its verificationMaterial (borrowed) */
	char *type;
	uint8_t *payload, *sig;
	size_t payload_len, sig_len;
};

static json_t *
load_json(const char *rel)
{
	char path[512];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/oms/%s", getenv("PAL_TEST_DATA"), rel);
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		fail_msg("%s: %s", path, jerr.text);
	return j;
}

static void
b64_field(json_t *o, const char *key, uint8_t **out, size_t *len)
{
	const char *s = json_string_value(json_object_get(o, key));

	assert_non_null(s);
	assert_int_equal(pal_base64_decode(s, strlen(s), out, len, NULL), 0);
}

static void
bundle_load(struct bundle *b, const char *rel)
{
	memset(b, 0, sizeof(*b));
	b->json = load_json(rel);
	b->vm = json_object_get(b->json, "verificationMaterial");
	json_t *env = json_object_get(b->json, "dsseEnvelope");
	assert_non_null(b->vm);
	assert_non_null(env);
	b->type = strdup(json_string_value(json_object_get(env,
							   "payloadType")));
	b64_field(env, "payload", &b->payload, &b->payload_len);
	b64_field(json_array_get(json_object_get(env, "signatures"), 0), "sig",
		  &b->sig, &b->sig_len);
}

static void
bundle_free(struct bundle *b)
{
	json_decref(b->json);
	free(b->type);
	free(b->payload);
	free(b->sig);
}

static struct pal_sigstore_root *
root_from(json_t *j)
{
	struct pal_sigstore_root *r = NULL;
	struct pal_err err;
	char *text = json_dumps(j, JSON_COMPACT);

	assert_non_null(text);
	if (pal_sigstore_root_parse((const uint8_t *)text, strlen(text), &r,
				    &err) != 0)
		fail_msg("trusted root: %s", err.msg);
	free(text);
	return r;
}

static struct pal_sigstore_root *
public_good(void)
{
	json_t *j = load_json("sigstore-public-good-trusted_root.json");
	struct pal_sigstore_root *r = root_from(j);

	json_decref(j);
	return r;
}

static int
verify(const struct pal_sigstore_root *r, struct bundle *b,
       const struct pal_sigstore_want *w, struct pal_sigstore_result *res,
       struct pal_err *err)
{
	pal_err_clear(err);
	return pal_sigstore_verify(r, b->vm, b->type, b->payload,
				   b->payload_len, b->sig, b->sig_len, w, res,
				   err);
}

/* Verification fails with code and a message naming the check. */
static void
expect_fail(const struct pal_sigstore_root *r, struct bundle *b,
	    const struct pal_sigstore_want *w, int code, const char *reason)
{
	struct pal_sigstore_result res;
	struct pal_err err;
	int rc = verify(r, b, w, &res, &err);

	if (getenv("PAL_TEST_VERBOSE") != NULL)
		print_message("%s\n", err.msg);
	if (rc != code || strstr(err.msg, reason) == NULL)
		fail_msg("want %d \"%s\", got %d \"%s\"", code, reason, rc,
			 err.msg);
	assert_int_equal(res.signed_at, 0);
	assert_string_equal(res.identity, "");
}

static const struct {
	const char *path;
	uint64_t log_index;
	int64_t signed_at;
} vectors[] = {
	{ "model-transparency/tests/v0.3.1-sigstore/model.sig", 206342049,
	  1746234602 },
	{ "model-transparency/tests/v1.0.0-sigstore/model.sig", 206344181,
	  1746236086 },
	{ "model-transparency/tests/v1.0.1-sigstore/model.sig", 588939812,
	  1759851228 },
	{ "model-transparency/tests/v1.1.0-sigstore/model.sig", 598151086,
	  1760062340 },
	{ "spec/test-vectors/v1.0/valid/sigstore.bundle.json", 598151086,
	  1760062340 },
};

static void
every_vector_verifies(void **state)
{
	struct pal_sigstore_root *r = public_good();

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct bundle b;
		struct pal_sigstore_result res;
		struct pal_err err;

		bundle_load(&b, vectors[i].path);
		if (verify(r, &b, &want, &res, &err) != 0)
			fail_msg("%s: %s", vectors[i].path, err.msg);
		assert_string_equal(res.identity, IDENTITY);
		assert_string_equal(res.issuer, ISSUER);
		assert_true(res.log_index == vectors[i].log_index);
		assert_true(res.signed_at == vectors[i].signed_at);
		bundle_free(&b);
	}
	pal_sigstore_root_free(r);
}

/* Flips one bit of the decoded base64 string o[key], in place. */
static void
flip_b64(json_t *o, const char *key, size_t byte)
{
	uint8_t *p = NULL;
	size_t n = 0;
	struct pal_buf b;

	b64_field(o, key, &p, &n);
	assert_true(byte < n);
	p[byte] ^= 0x01;
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_base64_encode(p, n, &b), 0);
	assert_int_equal(json_object_set_new(o, key,
		json_string((const char *)b.p)), 0);
	pal_buf_free(&b);
	free(p);
}

static json_t *
entry0(struct bundle *b)
{
	return json_array_get(json_object_get(b->vm, "tlogEntries"), 0);
}

struct fix {
	struct pal_sigstore_root *root;
	struct bundle b;
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->root = public_good();
	/* The newest release: tlog entry, promise, proof and a timestamp. */
	bundle_load(&f->b, "model-transparency/tests/v1.1.0-sigstore/"
		    "model.sig");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	bundle_free(&f->b);
	pal_sigstore_root_free(f->root);
	free(f);
	return 0;
}

static void
wrong_identity_or_issuer(void **state)
{
	struct fix *f = *state;
	const struct pal_sigstore_want w1 = { "stefanb@us.ibm.co", ISSUER };
	const struct pal_sigstore_want w2 = { IDENTITY,
		"https://sigstore.verify.ibm.com/oauth" };
	const struct pal_sigstore_want w3 = { IDENTITY,
		"https://accounts.google.com" };

	expect_fail(f->root, &f->b, &w1, PAL_ERR_VERIFY, "identity: the "
		    "certificate is for \"stefanb@us.ibm.com\"");
	expect_fail(f->root, &f->b, &w2, PAL_ERR_VERIFY, "issuer");
	expect_fail(f->root, &f->b, &w3, PAL_ERR_VERIFY, "issuer");
}

static void
tampered_envelope(void **state)
{
	struct fix *f = *state;

	f->b.sig[10] ^= 0x01;
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY, "DSSE");
	f->b.sig[10] ^= 0x01;
	f->b.payload[f->b.payload_len / 2] ^= 0x01;
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY, "DSSE");
	f->b.payload[f->b.payload_len / 2] ^= 0x01;
	/* Another release's envelope under this certificate. */
	struct bundle other;
	bundle_load(&other, "model-transparency/tests/v1.0.1-sigstore/"
		    "model.sig");
	json_t *vm = other.vm;
	other.vm = f->b.vm;
	expect_fail(f->root, &other, &want, PAL_ERR_VERIFY, "DSSE");
	other.vm = vm;
	bundle_free(&other);
}

static void
tampered_inclusion_proof(void **state)
{
	struct fix *f = *state;
	json_t *proof = json_object_get(entry0(&f->b), "inclusionProof");
	json_t *hashes = json_object_get(proof, "hashes");
	json_t *h3 = json_deep_copy(json_array_get(hashes, 3));
	json_t *holder = json_object();

	json_object_set(holder, "h", h3);
	flip_b64(holder, "h", 31);
	json_array_set(hashes, 3, json_object_get(holder, "h"));
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY,
		    "inclusion proof of leaf 476246824 leads to another root");
	/* One hash missing. */
	json_array_set(hashes, 3, h3);
	json_t *last = json_deep_copy(json_array_get(hashes, 13));
	json_array_remove(hashes, 13);
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY,
		    "inclusion proof has 13 hashes");
	json_array_append_new(hashes, last);
	/* The proof's root is not the checkpoint's. */
	flip_b64(proof, "rootHash", 0);
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY, "inclusion proof");
	json_decref(h3);
	json_decref(holder);
}

/* Replaces the checkpoint's text by a variant; returns the original. */
static char *
set_checkpoint(struct bundle *b, const char *text)
{
	json_t *cp = json_object_get(json_object_get(entry0(b),
		"inclusionProof"), "checkpoint");
	char *old = strdup(json_string_value(json_object_get(cp,
		"envelope")));

	json_object_set_new(cp, "envelope", json_string(text));
	return old;
}

static void
tampered_checkpoint(void **state)
{
	struct fix *f = *state;
	char *orig = set_checkpoint(&f->b, "x");
	char *bad = strdup(orig);
	char *sig = strstr(bad, "wNI9aj");

	/* One character of the signature, well inside the base64. */
	assert_non_null(sig);
	sig[20] = sig[20] == 'A' ? 'B' : 'A';
	free(set_checkpoint(&f->b, bad));
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY, "checkpoint: "
		    "signed note: signature by 'rekor.sigstore.dev' c0d23d6a "
		    "does not verify");
	/* Signed by an unknown name: nothing vouches for it. */
	memcpy(bad, orig, strlen(orig) + 1);
	char *name = strstr(bad, "\xe2\x80\x94 rekor") + 4;
	name[0] = 'R';
	free(set_checkpoint(&f->b, bad));
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY,
		    "no signature by a known key");
	free(set_checkpoint(&f->b, orig));
	free(bad);
	free(orig);
}

static void
tampered_promise(void **state)
{
	struct fix *f = *state;
	json_t *e = entry0(&f->b);
	json_t *pr = json_object_get(e, "inclusionPromise");

	flip_b64(pr, "signedEntryTimestamp", 40);
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY,
		    "signed entry timestamp");
	flip_b64(pr, "signedEntryTimestamp", 40);
	/* The integrated time the promise signs. */
	json_object_set_new(e, "integratedTime", json_string("1760062341"));
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY,
		    "signed entry timestamp");
	json_object_set_new(e, "logIndex", json_string("598151087"));
	json_object_set_new(e, "integratedTime", json_string("1760062340"));
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY,
		    "signed entry timestamp");
}

/* Replaces needle by repl (same length) in entry 0's decoded body. */
static void
edit_body(struct bundle *b, const char *needle, const char *repl)
{
	json_t *e = entry0(b);
	uint8_t *p = NULL;
	size_t n = 0;
	struct pal_buf out;

	b64_field(e, "canonicalizedBody", &p, &n);
	p = realloc(p, n + 1);
	p[n] = '\0';
	char *at = strstr((char *)p, needle);
	assert_non_null(at);
	memcpy(at, repl, strlen(repl));
	pal_buf_init(&out, 1 << 20);
	assert_int_equal(pal_base64_encode(p, n, &out), 0);
	json_object_set_new(e, "canonicalizedBody",
			    json_string((const char *)out.p));
	pal_buf_free(&out);
	free(p);
}

static void
tampered_body(void **state)
{
	struct fix *f = *state;
	json_t *e = entry0(&f->b);
	json_t *orig = json_deep_copy(json_object_get(e, "canonicalizedBody"));

	/* A byte the binding does not read: the SET catches it. */
	edit_body(&f->b, "\"value\":\"3af1", "\"value\":\"3af2");
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY,
		    "signed entry timestamp");
	/* Without the promise the inclusion proof does. */
	json_t *pr = json_deep_copy(json_object_get(e, "inclusionPromise"));
	json_object_del(e, "inclusionPromise");
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY, "inclusion proof");
	json_object_set_new(e, "inclusionPromise", pr);
	/* The logged payload hash is another payload's. */
	json_object_set(e, "canonicalizedBody", orig);
	edit_body(&f->b, "\"value\":\"1dc6", "\"value\":\"1dc7");
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY,
		    "logged payload hash");
	/* Not the kind the entry claims. */
	json_object_set(e, "canonicalizedBody", orig);
	edit_body(&f->b, "\"kind\":\"dsse\"", "\"kind\":\"dssf\"");
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY,
		    "canonicalizedBody: kind dssf");
	json_object_set(e, "canonicalizedBody", orig);
	json_decref(orig);
}

static void
promise_alone_does_not_replace_a_time(void **state)
{
	struct fix *f = *state;
	json_t *e = entry0(&f->b);
	struct pal_sigstore_result res;
	struct pal_err err;

	/* Without the promise, the timestamp still gives a signing time. */
	json_t *pr = json_deep_copy(json_object_get(e, "inclusionPromise"));
	json_object_del(e, "inclusionPromise");
	assert_int_equal(verify(f->root, &f->b, &want, &res, &err), 0);
	/* Without both, there is no signed time at all. */
	json_t *tvd = json_deep_copy(json_object_get(f->b.vm,
		"timestampVerificationData"));
	json_object_del(f->b.vm, "timestampVerificationData");
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY,
		    "no verified signing time");
	json_object_set_new(f->b.vm, "timestampVerificationData", tvd);
	json_object_set_new(e, "inclusionPromise", pr);
}

static void
tampered_timestamp(void **state)
{
	struct fix *f = *state;
	json_t *ts = json_array_get(json_object_get(json_object_get(f->b.vm,
		"timestampVerificationData"), "rfc3161Timestamps"), 0);

	/* A byte of the TSA's signature, at the end of the token. */
	uint8_t *p = NULL;
	size_t n = 0;
	b64_field(ts, "signedTimestamp", &p, &n);
	free(p);
	flip_b64(ts, "signedTimestamp", n - 5);
	expect_fail(f->root, &f->b, &want, PAL_ERR_VERIFY, "RFC 3161");
	flip_b64(ts, "signedTimestamp", n - 5);
	/* A timestamp over another signature. */
	f->b.sig[f->b.sig_len - 1] ^= 1;
	struct pal_sigstore_result res;
	struct pal_err err;
	assert_int_not_equal(verify(f->root, &f->b, &want, &res, &err), 0);
	f->b.sig[f->b.sig_len - 1] ^= 1;
}

/* The public-good root with one edit by callback. */
static struct pal_sigstore_root *
edited_root(void (*edit)(json_t *))
{
	json_t *j = load_json("sigstore-public-good-trusted_root.json");

	edit(j);
	struct pal_sigstore_root *r = root_from(j);
	json_decref(j);
	return r;
}

static void
drop_current_fulcio(json_t *j)
{
	json_array_remove(json_object_get(j, "certificateAuthorities"), 1);
}

static void
end_fulcio_window(json_t *j)
{
	json_t *ca = json_array_get(json_object_get(j,
		"certificateAuthorities"), 1);
	json_object_set_new(json_object_get(ca, "validFor"), "end",
			    json_string("2025-10-10T02:12:19Z"));
}

/* The current Fulcio chain presented as if it were the 2021 CA's. */
static void
swap_fulcio_chains(json_t *j)
{
	json_t *cas = json_object_get(j, "certificateAuthorities");
	json_t *c0 = json_object_get(json_array_get(cas, 0), "certChain");
	json_t *c1 = json_object_get(json_array_get(cas, 1), "certChain");

	json_incref(c0);
	json_object_set(json_array_get(cas, 0), "certChain", c1);
	json_object_set_new(json_array_get(cas, 1), "certChain", c0);
}

static void
drop_rekor(json_t *j)
{
	json_array_clear(json_object_get(j, "tlogs"));
}

static void
start_rekor_late(json_t *j)
{
	json_t *pk = json_object_get(json_array_get(json_object_get(j,
		"tlogs"), 0), "publicKey");
	json_object_set_new(json_object_get(pk, "validFor"), "start",
			    json_string("2025-10-10T02:12:21.5Z"));
}

static void
drop_ctlogs(json_t *j)
{
	json_array_clear(json_object_get(j, "ctlogs"));
}

/* The 2022 CT log's ID with another key: its SCT cannot verify. */
static void
wrong_ctlog_key(json_t *j)
{
	json_t *logs = json_object_get(j, "ctlogs");
	json_t *old = json_object_get(json_object_get(json_array_get(logs, 0),
		"publicKey"), "rawBytes");
	json_object_set(json_object_get(json_array_get(logs, 1), "publicKey"),
			"rawBytes", old);
}

static void
end_ctlog_window(json_t *j)
{
	json_t *pk = json_object_get(json_array_get(json_object_get(j,
		"ctlogs"), 1), "publicKey");
	json_object_set_new(json_object_get(pk, "validFor"), "end",
			    json_string("2025-01-01T00:00:00Z"));
}

static void
drop_tsas(json_t *j)
{
	json_array_clear(json_object_get(j, "timestampAuthorities"));
}

static void
trusted_root_decides(void **state)
{
	static const struct {
		void (*edit)(json_t *);
		const char *reason;
	} cases[] = {
		{ drop_current_fulcio, "no Fulcio CA of the trusted root is "
		  "valid at the signing time 2025-10-10T02:12:20Z" },
		{ end_fulcio_window, "no Fulcio CA of the trusted root is "
		  "valid at the signing time" },
		{ swap_fulcio_chains, "no Fulcio CA of the trusted root "
		  "issued it" },
		{ drop_rekor, "is not a Rekor log of the trusted root" },
		{ start_rekor_late, "not valid at the integrated time" },
		{ drop_ctlogs, "SCT: none from a CT log" },
		{ wrong_ctlog_key, "SCT: the signature of CT log "
		  "ctfe.sigstore.dev does not verify" },
		{ end_ctlog_window, "SCT: the key of CT log ctfe.sigstore.dev "
		  "is not valid at the SCT's time" },
		{ drop_tsas, "RFC 3161 timestamp: no TSA" },
	};
	struct fix *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pal_sigstore_root *r = edited_root(cases[i].edit);
		expect_fail(r, &f->b, &want, PAL_ERR_VERIFY, cases[i].reason);
		pal_sigstore_root_free(r);
	}
}

static void
malformed_material(void **state)
{
	struct fix *f = *state;
	json_t *vm = f->b.vm;
	json_t *e = entry0(&f->b);

	json_t *entries = json_deep_copy(json_object_get(vm, "tlogEntries"));
	json_object_del(vm, "tlogEntries");
	expect_fail(f->root, &f->b, &want, PAL_ERR_FORMAT,
		    "verificationMaterial.tlogEntries: the sigstore method "
		    "needs a transparency log entry");
	json_object_set_new(vm, "tlogEntries", entries);
	e = entry0(&f->b);

	json_object_set_new(vm, "extra", json_true());
	expect_fail(f->root, &f->b, &want, PAL_ERR_FORMAT,
		    "verificationMaterial: unknown field \"extra\"");
	json_object_del(vm, "extra");

	json_object_set_new(e, "logIndex", json_string("0598151086"));
	expect_fail(f->root, &f->b, &want, PAL_ERR_FORMAT,
		    "tlogEntries[0].logIndex: not an integer");
	json_object_set_new(e, "logIndex", json_string("598151086"));

	json_t *hashes = json_object_get(json_object_get(e, "inclusionProof"),
					 "hashes");
	json_t *h0 = json_deep_copy(json_array_get(hashes, 0));
	json_array_set_new(hashes, 0, json_string("AAAA"));
	expect_fail(f->root, &f->b, &want, PAL_ERR_FORMAT,
		    "inclusionProof.hashes[0]: a SHA-256 hash has 32 bytes");
	json_array_set_new(hashes, 0, h0);
	for (int i = 0; i < 60; i++)
		json_array_append(hashes, h0);
	expect_fail(f->root, &f->b, &want, PAL_ERR_LIMIT,
		    "inclusionProof.hashes: 74 items, at most 64");
	for (int i = 0; i < 60; i++)
		json_array_remove(hashes, 14);

	/* The same entry twice. */
	json_array_append(json_object_get(vm, "tlogEntries"), e);
	expect_fail(f->root, &f->b, &want, PAL_ERR_FORMAT,
		    "the same entry as tlogEntries[0]");
	json_array_remove(json_object_get(vm, "tlogEntries"), 1);

	json_t *kv = json_object_get(e, "kindVersion");
	json_object_set_new(kv, "kind", json_string("intoto"));
	expect_fail(f->root, &f->b, &want, PAL_ERR_UNSUPPORTED,
		    "only dsse 0.0.1");
	json_object_set_new(kv, "kind", json_string("dsse"));

	struct pal_sigstore_result res;
	struct pal_err err;
	assert_int_equal(verify(f->root, &f->b, &want, &res, &err), 0);
}

/* Older bundles carry the certificate in x509CertificateChain. */
static void
certificate_chain_form(void **state)
{
	struct fix *f = *state;
	json_t *vm = f->b.vm;
	json_t *cert = json_deep_copy(json_object_get(vm, "certificate"));
	struct pal_sigstore_result res;
	struct pal_err err;

	json_object_del(vm, "certificate");
	json_object_set_new(vm, "x509CertificateChain",
		json_pack("{s:[O]}", "certificates", cert));
	assert_int_equal(verify(f->root, &f->b, &want, &res, &err), 0);
	json_object_set(vm, "certificate", cert);
	expect_fail(f->root, &f->b, &want, PAL_ERR_FORMAT, "exactly one");
	json_object_del(vm, "x509CertificateChain");
	json_decref(cert);
}

static void
bad_roots_are_refused(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{\"mediaType\":\"application/json\"}",
		"{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;"
		"version=0.1\",\"x\":1}",
		"{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;"
		"version=0.1\",\"tlogs\":[{\"baseUrl\":\"https://a\","
		"\"hashAlgorithm\":\"SHA2_256\",\"logId\":{\"keyId\":\"AA==\"},"
		"\"publicKey\":{}}]}",
		"{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;"
		"version=0.1\",\"certificateAuthorities\":[{\"certChain\":"
		"{\"certificates\":[]},\"validFor\":{\"start\":"
		"\"2021-01-01T00:00:00Z\"}}]}",
		"{\"mediaType\":\"a\",\"mediaType\":\"b\"}",
	};
	struct pal_sigstore_root *r = NULL;
	struct pal_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(pal_sigstore_root_parse(
			(const uint8_t *)bad[i], strlen(bad[i]), &r, &err), 0);
		assert_null(r);
	}
	/* Windows: malformed, 31 February, ending before they start. */
	static const char *const times[] = {
		"2021-02-31T00:00:00Z", "2021-01-01 00:00:00Z",
		"2021-01-01T00:00:00", "2021-01-01T00:00:00.Z",
		"2021-01-01T25:00:00Z", "2020-01-01T00:00:00Z",
	};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		json_t *j = load_json("sigstore-public-good-trusted_root.json");
		json_t *ca = json_array_get(json_object_get(j,
			"certificateAuthorities"), 1);
		json_object_set_new(json_object_get(ca, "validFor"), "end",
				    json_string(times[i]));
		char *text = json_dumps(j, 0);
		if (pal_sigstore_root_parse((const uint8_t *)text,
					    strlen(text), &r, &err) == 0)
			fail_msg("end %s accepted", times[i]);
		assert_non_null(strstr(err.msg, "validFor"));
		free(text);
		json_decref(j);
	}
	char path[512];
	snprintf(path, sizeof(path), "%s/oms/sigstore-public-good-trusted_"
		 "root.json", getenv("PAL_TEST_DATA"));
	assert_int_equal(pal_sigstore_root_load(path, &r, &err), 0);
	pal_sigstore_root_free(r);
	assert_int_equal(pal_sigstore_root_load("/nonexistent", &r, &err),
			 PAL_ERR_IO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_vector_verifies),
		cmocka_unit_test_setup_teardown(wrong_identity_or_issuer,
						setup, teardown),
		cmocka_unit_test_setup_teardown(tampered_envelope, setup,
						teardown),
		cmocka_unit_test_setup_teardown(tampered_inclusion_proof,
						setup, teardown),
		cmocka_unit_test_setup_teardown(tampered_checkpoint, setup,
						teardown),
		cmocka_unit_test_setup_teardown(tampered_promise, setup,
						teardown),
		cmocka_unit_test_setup_teardown(tampered_body, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			promise_alone_does_not_replace_a_time, setup,
			teardown),
		cmocka_unit_test_setup_teardown(tampered_timestamp, setup,
						teardown),
		cmocka_unit_test_setup_teardown(trusted_root_decides, setup,
						teardown),
		cmocka_unit_test_setup_teardown(malformed_material, setup,
						teardown),
		cmocka_unit_test_setup_teardown(certificate_chain_form, setup,
						teardown),
		cmocka_unit_test(bad_roots_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
