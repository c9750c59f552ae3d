/*
 * test_note.c - C2SP signed notes and checkpoints: the golden Ed25519
 * notes of golang.org/x/mod/sumdb/note and the C2SP specification
 * (tests/data/tlog-note/signed-note-vectors.md), the Rekor checkpoints
 * embedded in the Sigstore bundles under tests/data/oms verified with the
 * Rekor key of the public-good trusted root, and the forms that must fail.
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
#include <openssl/x509.h>

#include "palisade/buf.h"
#include "palisade/encoding.h"
#include "palisade/note.h"

#define PETER_VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/" \
	"LDE4izWy10TW"
#define PETER_SKEY_B64 "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
#define ENOCH_VKEY "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrA" \
	"SKGLWdop"
#define TEXT "If you think cryptography is the answer to your problem,\n" \
	"then you don't know what your problem is.\n"
#define PETER_SIG "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiF" \
	"upLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
#define ENOCH_SIG "\xe2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX" \
	"+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

static struct pal_note_verifier *
vkey(const char *s)
{
	struct pal_note_verifier *v = NULL;
	struct pal_err err;

	if (pal_note_verifier_parse(s, strlen(s), &v, &err) != 0)
		fail_msg("%s: %s", s, err.msg);
	return v;
}

static int
verify_str(const char *msg, struct pal_note_verifier *const *vs, size_t nv,
	   uint8_t *verified, struct pal_err *err)
{
	struct pal_note *n = NULL;
	int rc = pal_note_parse((const uint8_t *)msg, strlen(msg), &n, err);

	if (rc == 0)
		rc = pal_note_verify(n, vs, nv, verified, err);
	pal_note_free(n);
	return rc;
}

static void
golden_notes_verify(void **state)
{
	struct pal_note_verifier *vs[2] = { vkey(PETER_VKEY), vkey(ENOCH_VKEY) };
	uint8_t ok[2];
	struct pal_err err;

	(void)state;
	assert_int_equal(vs[0]->key_id, 0xc74f20a3);
	assert_int_equal(vs[0]->type, PAL_NOTE_ED25519);
	assert_int_equal(verify_str(TEXT "\n" PETER_SIG, vs, 1, ok, &err), 0);
	assert_int_equal(ok[0], 1);
	assert_int_equal(verify_str(TEXT "\n" ENOCH_SIG, vs + 1, 1, ok, &err),
			 0);
	/* Both signatures, both keys: each verifier reports its own. */
	assert_int_equal(verify_str(TEXT "\n" PETER_SIG ENOCH_SIG, vs, 2, ok,
				    &err), 0);
	assert_true(ok[0] == 1 && ok[1] == 1);
	/* An unknown signer's line is ignored. */
	assert_int_equal(verify_str(TEXT "\n" ENOCH_SIG PETER_SIG, vs, 1, ok,
				    &err), 0);
	/* Only an unknown signer: nothing vouches for the text. */
	assert_int_equal(verify_str(TEXT "\n" ENOCH_SIG, vs, 1, ok, &err),
			 PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "no signature by a known key"));
	/* The text changed by one byte: the known key's signature fails. */
	assert_int_equal(verify_str("If you think cryptography is the answer "
				    "to your problem,\nthen you don't know "
				    "what your problem is!\n\n" PETER_SIG,
				    vs, 1, ok, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "does not verify"));
	pal_note_verifier_free(vs[0]);
	pal_note_verifier_free(vs[1]);
}

static void
specification_example_verifies(void **state)
{
	struct pal_note_verifier *v = vkey("example.com/foo+530d903a+AekyeRr"
					   "m56hApGFkyQR4ZCbV54Id2LKaANYcrnKv"
					   "3U2k");
	struct pal_err err;

	(void)state;
	assert_int_equal(verify_str("This is an example message.\n\n"
				    "\xe2\x80\x94 example.com/foo Uw2QOkn8srV"
				    "1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK"
				    "7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72Ineya"
				    "QM=\n", &v, 1, NULL, &err), 0);
	pal_note_verifier_free(v);
}

/* Ed25519 is deterministic: the private key reproduces the signature. */
static void
signing_reproduces_the_golden_signature(void **state)
{
	uint8_t *skey = NULL, sig[64];
	size_t n = 0, sl = sizeof(sig);
	struct pal_buf b;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	(void)state;
	assert_int_equal(pal_base64_decode(PETER_SKEY_B64,
		strlen(PETER_SKEY_B64), &skey, &n, NULL), 0);
	assert_int_equal(n, 33);
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
						   skey + 1, 32);
	assert_non_null(k);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &sl, (const uint8_t *)TEXT,
					strlen(TEXT)), 1);
	uint8_t line[68] = { 0xc7, 0x4f, 0x20, 0xa3 };
	memcpy(line + 4, sig, 64);
	pal_buf_init(&b, 1024);
	assert_int_equal(pal_buf_puts(&b, "\xe2\x80\x94 PeterNeumann "), 0);
	assert_int_equal(pal_base64_encode(line, sizeof(line), &b), 0);
	assert_int_equal(pal_buf_putc(&b, '\n'), 0);
	assert_string_equal((const char *)b.p, PETER_SIG);
	pal_buf_free(&b);
	EVP_PKEY_free(k);
	EVP_MD_CTX_free(md);
	free(skey);
}

static void
bad_vkeys_are_refused(void **state)
{
	static const char *const bad[] = {
		"PeterNeumann+cc469956+AQBADKEY==",
		"PeterNeumann+c74f20a3+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy"
		"10TW",
		"PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy"
		"10TW",
		"Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izW"
		"y10TW",
		"+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
		"",
	};
	const char *good = PETER_VKEY;
	size_t len = strlen(good);
	struct pal_note_verifier *v = NULL;
	char buf[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(pal_note_verifier_parse(bad[i],
			strlen(bad[i]), &v, NULL), 0);
		assert_null(v);
	}
	/* Every proper substring, and every key with one byte incremented. */
	for (size_t i = 0; i < len; i++)
		for (size_t j = i + 1; j <= len; j++) {
			if (i == 0 && j == len)
				continue;
			assert_int_not_equal(pal_note_verifier_parse(good + i,
				j - i, &v, NULL), 0);
		}
	for (size_t i = 0; i < len; i++) {
		memcpy(buf, good, len);
		buf[i]++;
		assert_int_not_equal(pal_note_verifier_parse(buf, len, &v,
							     NULL), 0);
	}
}

static void
malformed_notes_are_refused(void **state)
{
	static const char *const bad[] = {
		TEXT PETER_SIG,				/* no blank line */
		TEXT "\n" PETER_SIG PETER_SIG,		/* duplicate */
		TEXT "\n",				/* no signature */
		TEXT "\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/Sff",
		TEXT "\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pA"
		"cElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
		TEXT "\n\xe2\x80\x94 Peter+Neumann x08go/ZJkuBS9UG/SffcvIAQxV"
		"BtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6Ryy"
		"BwJnAM=\n",
		TEXT "\n\xe2\x80\x94 PeterNeumann x08go/ZJ kuBS9UG/SffcvIAQxV"
		"BtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6Ryy"
		"BwJnAM=\n",
		TEXT "\n\xe2\x80\x94 PeterNeumann AAAA\n",	/* 3 bytes */
		"tab\there\n\n" PETER_SIG,		/* control character */
		"bad \xc0\xaf utf-8\n\n" PETER_SIG,	/* overlong */
		"",
	};
	struct pal_note *n = NULL;
	struct pal_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = pal_note_parse((const uint8_t *)bad[i],
					strlen(bad[i]), &n, &err);
		if (rc == 0)
			fail_msg("bad note %zu parsed", i);
		assert_null(n);
	}
}

/* 100 signatures parse, the 101st is one too many. */
static void
signature_count_is_capped(void **state)
{
	struct pal_buf b;
	struct pal_note *n = NULL;

	(void)state;
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_buf_puts(&b, TEXT "\n"), 0);
	for (int i = 0; i < 101; i++) {
		struct pal_err err;
		assert_int_equal(pal_buf_printf(&b, "\xe2\x80\x94 k%d "
				 "AAAAAAAA\n", i), 0);
		int rc = pal_note_parse(b.p, b.len, &n, &err);
		assert_int_equal(rc, i < 100 ? 0 : PAL_ERR_LIMIT);
		if (rc == 0)
			assert_int_equal(n->n_sigs, (size_t)i + 1);
		pal_note_free(n);
		n = NULL;
	}
	pal_buf_free(&b);
}

static void
checkpoints_parse_strictly(void **state)
{
	static const char tree[] = "go.sum database tree\n123456789012\n"
		"TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
	static const char *const bad[] = {
		"origin\n0123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
		("origin\n18446744073709551616\nTszzRgjTG6xce+z2AG31kAXYKBgQVtC"
		 "SCE40HmuwBb0=\n"),
		"origin\n-1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
		"origin\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0\n",
		"origin\n1\nAAAA\n",
		"origin\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n\n",
		"origin\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\next",
		"\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
		"origin\n1\n",
	};
	struct pal_checkpoint *c = NULL;
	uint8_t leaf[PAL_MERKLE_HASH_LEN];

	(void)state;
	assert_int_equal(pal_checkpoint_parse((const uint8_t *)tree,
		strlen(tree), &c, NULL), 0);
	assert_string_equal(c->origin, "go.sum database tree");
	assert_true(c->size == 123456789012ULL);
	pal_merkle_leaf_hash((const uint8_t *)"hello world", 11, leaf);
	assert_memory_equal(c->root, leaf, PAL_MERKLE_HASH_LEN);
	assert_int_equal(c->n_ext, 0);
	pal_checkpoint_free(c);
	static const char ext[] = "o\n18446744073709551615\n"
		"TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\na b\nTimestamp: 1\n";
	assert_int_equal(pal_checkpoint_parse((const uint8_t *)ext,
		strlen(ext), &c, NULL), 0);
	assert_true(c->size == UINT64_MAX);
	assert_int_equal(c->n_ext, 2);
	assert_string_equal(c->ext[1], "Timestamp: 1");
	pal_checkpoint_free(c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = NULL;
		if (pal_checkpoint_parse((const uint8_t *)bad[i],
					 strlen(bad[i]), &c, NULL) == 0)
			fail_msg("bad checkpoint %zu parsed", i);
		assert_null(c);
	}
}

/* The Rekor key of the public-good trusted root under tests/data/oms. */
static EVP_PKEY *
rekor_key(void)
{
	char path[512];
	json_error_t jerr;
	uint8_t *der = NULL;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/oms/sigstore-public-good-trusted_"
		 "root.json", getenv("PAL_TEST_DATA"));
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(root);
	const char *b64 = json_string_value(json_object_get(json_object_get(
		json_array_get(json_object_get(root, "tlogs"), 0),
		"publicKey"), "rawBytes"));
	assert_non_null(b64);
	assert_int_equal(pal_base64_decode(b64, strlen(b64), &der, &n, NULL),
			 0);
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)n);
	assert_non_null(k);
	free(der);
	json_decref(root);
	return k;
}

static char *
bundle_checkpoint(const char *version)
{
	char path[512];
	json_error_t jerr;

	snprintf(path, sizeof(path), "%s/oms/model-transparency/tests/%s-"
		 "sigstore/model.sig", getenv("PAL_TEST_DATA"), version);
	json_t *b = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(b);
	json_t *e = json_array_get(json_object_get(json_object_get(b,
		"verificationMaterial"), "tlogEntries"), 0);
	const char *s = json_string_value(json_object_get(json_object_get(
		json_object_get(e, "inclusionProof"), "checkpoint"),
		"envelope"));
	assert_non_null(s);
	char *copy = strdup(s);
	json_decref(b);
	return copy;
}

static void
rekor_checkpoints_verify(void **state)
{
	static const char *const versions[] = {
		"v0.3.1", "v1.0.0", "v1.0.1", "v1.1.0",
	};
	EVP_PKEY *k = rekor_key();
	struct pal_note_verifier *v = NULL, *other = NULL;
	struct pal_err err;

	(void)state;
	assert_int_equal(pal_note_verifier_from_key("rekor.sigstore.dev", k,
						    &v, &err), 0);
	assert_int_equal(v->type, PAL_NOTE_ECDSA);
	assert_int_equal(v->key_id, 0xc0d23d6a);
	/* The same key as a type 0x02 vkey. */
	uint8_t *der = NULL;
	int dl = i2d_PUBKEY(k, &der);
	uint8_t raw[256] = { PAL_NOTE_ECDSA };
	assert_true(dl > 0 && dl < 255);
	memcpy(raw + 1, der, (size_t)dl);
	OPENSSL_free(der);
	struct pal_buf vk;
	pal_buf_init(&vk, 1024);
	assert_int_equal(pal_buf_puts(&vk, "rekor.sigstore.dev+c0d23d6a+"), 0);
	assert_int_equal(pal_base64_encode(raw, (size_t)dl + 1, &vk), 0);
	other = vkey((const char *)vk.p);
	pal_buf_free(&vk);

	for (size_t i = 0; i < 4; i++) {
		char *msg = bundle_checkpoint(versions[i]);
		struct pal_note *n = NULL;
		struct pal_checkpoint *c = NULL;

		assert_int_equal(pal_note_parse((const uint8_t *)msg,
			strlen(msg), &n, &err), 0);
		assert_int_equal(pal_note_verify(n, &v, 1, NULL, &err), 0);
		assert_int_equal(pal_note_verify(n, &other, 1, NULL, &err), 0);
		assert_int_equal(pal_checkpoint_parse(n->text, n->text_len,
						      &c, &err), 0);
		assert_string_equal(c->origin, "rekor.sigstore.dev - "
				    "1193050959916656506");
		assert_true(c->size > 84000000);
		pal_checkpoint_free(c);
		/* One bit of the size changed: the signature fails. */
		n->text[n->text_len - 47] ^= 1;
		assert_int_equal(pal_note_verify(n, &v, 1, NULL, &err),
				 PAL_ERR_VERIFY);
		pal_note_free(n);
		free(msg);
	}
	pal_note_verifier_free(v);
	pal_note_verifier_free(other);
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(golden_notes_verify),
		cmocka_unit_test(specification_example_verifies),
		cmocka_unit_test(signing_reproduces_the_golden_signature),
		cmocka_unit_test(bad_vkeys_are_refused),
		cmocka_unit_test(malformed_notes_are_refused),
		cmocka_unit_test(signature_count_is_capped),
		cmocka_unit_test(checkpoints_parse_strictly),
		cmocka_unit_test(rekor_checkpoints_verify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
