/*
 * test_note_sign.c - signing notes and checkpoints: Go's private key text
 * must reproduce the published signatures of golang.org/x/mod/sumdb/note
 * (tests/data/tlog-note/signed-note-vectors.md) byte for byte, new keys
 * must round-trip through pal_note_verify, malformed key text and note
 * text must be refused, and formatted checkpoints must parse back.
 * Cosignatures (c2sp.org/tlog-cosignature) must match a construction made
 * here with OpenSSL alone and fail when the key, the time or the
 * checkpoint changes; witness policies (Sigsum syntax) must count k of n
 * and refuse malformed lines by number.  On a SoftHSM2 token made under
 * $PAL_TEST_TMP, Ed25519 keys (CKM_EDDSA) sign notes and cosignatures,
 * the imported published key reproduces the published note, and keys of
 * the wrong kind, or with another key's public object, are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "palisade/buf.h"
#include "palisade/cosig.h"
#include "palisade/encoding.h"
#include "palisade/merkle.h"
#include "palisade/note.h"
#include "palisade/note_sign.h"
#include "palisade/pkcs11.h"
#include "palisade/signer.h"
#include "../../src/crypto/pkcs11_int.h"

#define PETER_VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/" \
	"LDE4izWy10TW"
#define PETER_SKEY "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1" \
	"QIDr+Y7hfZx09iUvxdXHKDFz"
#define TEXT "If you think cryptography is the answer to your problem,\n" \
	"then you don't know what your problem is.\n"
#define PETER_SIG "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiF" \
	"upLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
#define TREE_ROOT_B64 "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0="

static struct pal_note_signer *
skey_ok(const char *skey)
{
	struct pal_note_signer *s = NULL;
	struct pal_err err;

	pal_err_clear(&err);
	if (pal_note_signer_from_skey(skey, strlen(skey), &s, &err) != 0)
		fail_msg("%s", err.msg);
	return s;
}

static struct pal_note_verifier *
vkey_ok(const char *s)
{
	struct pal_note_verifier *v = NULL;
	struct pal_err err;

	if (pal_note_verifier_parse(s, strlen(s), &v, &err) != 0)
		fail_msg("%s: %s", s, err.msg);
	return v;
}

/* Signs text with the n signers into a fresh buffer. */
static int
sign_str(const char *text, struct pal_note_signer *const *ss, size_t n,
	 struct pal_buf *b, struct pal_err *err)
{
	pal_buf_init(b, PAL_NOTE_MAX_LEN);
	return pal_note_sign((const uint8_t *)text, strlen(text), ss, n, b,
			     err);
}

static int
verify_buf(const struct pal_buf *b, struct pal_note_verifier *const *vs,
	   size_t nv, uint8_t *ok, struct pal_err *err)
{
	struct pal_note *n = NULL;
	int rc = pal_note_parse(b->p, b->len, &n, err);

	if (rc == 0)
		rc = pal_note_verify(n, vs, nv, ok, err);
	pal_note_free(n);
	return rc;
}

static void
golden_key_reproduces_the_published_note(void **state)
{
	struct pal_note_signer *s = skey_ok(PETER_SKEY);
	struct pal_buf b;
	struct pal_err err;
	char *vkey = NULL;

	(void)state;
	assert_string_equal(s->name, "PeterNeumann");
	assert_int_equal(s->key_id, 0xc74f20a3);
	assert_int_equal(pal_note_signer_vkey(s, &vkey, &err), 0);
	assert_string_equal(vkey, PETER_VKEY);
	free(vkey);
	assert_int_equal(sign_str(TEXT, &s, 1, &b, &err), 0);
	assert_int_equal(b.len, strlen(TEXT "\n" PETER_SIG));
	assert_memory_equal(b.p, TEXT "\n" PETER_SIG, b.len);
	/* Appending: what the buffer held stays in front. */
	assert_int_equal(pal_note_sign((const uint8_t *)TEXT, strlen(TEXT),
				       &s, 1, &b, &err), 0);
	assert_string_equal((const char *)b.p,
			    TEXT "\n" PETER_SIG TEXT "\n" PETER_SIG);
	pal_buf_free(&b);
	pal_note_signer_free(s);
}

static void
generated_keys_round_trip(void **state)
{
	char *skey[2] = { NULL, NULL }, *vkey[2] = { NULL, NULL };
	struct pal_note_signer *ss[2];
	struct pal_note_verifier *vs[2];
	struct pal_buf b;
	struct pal_err err;
	uint8_t ok[2];
	const char *names[2] = { "example.com/log", "witness.example/w1" };

	(void)state;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pal_note_key_generate(names[i], &skey[i],
						       &vkey[i], &err), 0);
		assert_int_equal(strncmp(skey[i], "PRIVATE+KEY+", 12), 0);
		assert_int_equal(strncmp(skey[i] + 12, names[i],
					 strlen(names[i])), 0);
		/* name + 8 hex + 44 base64, as Go writes them. */
		assert_int_equal(strlen(vkey[i]), strlen(names[i]) + 54);
		assert_memory_equal(skey[i] + 12, vkey[i],
				    strlen(names[i]) + 10);
		ss[i] = skey_ok(skey[i]);
		vs[i] = vkey_ok(vkey[i]);
		assert_int_equal(ss[i]->key_id, vs[i]->key_id);
	}
	assert_string_not_equal(skey[0] + 12 + strlen(names[0]) + 10,
				skey[1] + 12 + strlen(names[1]) + 10);
	assert_int_equal(sign_str("hello\n\nworld\n", ss, 2, &b, &err), 0);
	assert_int_equal(verify_buf(&b, vs, 2, ok, &err), 0);
	assert_true(ok[0] == 1 && ok[1] == 1);
	/* A flipped byte in the text fails under both keys. */
	b.p[0] ^= 1;
	assert_int_equal(verify_buf(&b, vs, 2, ok, &err), PAL_ERR_VERIFY);
	pal_buf_free(&b);
	for (int i = 0; i < 2; i++) {
		pal_note_skey_free(skey[i]);
		free(vkey[i]);
		pal_note_signer_free(ss[i]);
		pal_note_verifier_free(vs[i]);
	}
	assert_int_equal(pal_note_key_generate("bad name", &skey[0], &vkey[0],
					       &err), PAL_ERR_FORMAT);
	assert_null(skey[0]);
	assert_null(vkey[0]);
}

static void
bad_private_keys_are_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"PRIVATE+KEY+",
		"private+key+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7h"
		"fZx09iUvxdXHKDFz",
		"PRIVATE+KEY++c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXH"
		"KDFz",
		/* Key ID in upper case, of the wrong length, or not the key's. */
		"PRIVATE+KEY+PeterNeumann+C74F20A3+AYEKFALVFGyNhPJEMzD1QIDr+Y7h"
		"fZx09iUvxdXHKDFz",
		"PRIVATE+KEY+PeterNeumann+c74f20a+AYEKFALVFGyNhPJEMzD1QIDr+Y7hf"
		"Zx09iUvxdXHKDFz",
		"PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7h"
		"fZx09iUvxdXHKDFz",
		/* Another name gives another key ID. */
		"PRIVATE+KEY+PeterNeumanm+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7h"
		"fZx09iUvxdXHKDFz",
		"PRIVATE+KEY+Peter Neumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7"
		"hfZx09iUvxdXHKDFz",
		/* Key cut, padded, with a bad character, or another algorithm. */
		"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7h"
		"fZx09iUvxdXHKDF",
		"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7h"
		"fZx09iUvxdXHKDFz=",
		"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7h"
		"fZx09iUvxdXHKDF-",
		"PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7h"
		"fZx09iUvxdXHKDFz",
		"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7h"
		"fZx09iUvxdXHKDFz\n",
		PETER_VKEY,
	};
	struct pal_note_signer *s = NULL;
	struct pal_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (pal_note_signer_from_skey(bad[i], strlen(bad[i]), &s,
					      &err) == 0)
			fail_msg("bad key %zu accepted", i);
		assert_null(s);
		/* No part of the key is ever quoted back. */
		assert_null(strstr(err.msg, "AYEKF"));
	}
	/* Every proper prefix, and a NUL inside. */
	for (size_t n = 0; n < strlen(PETER_SKEY); n++)
		assert_int_not_equal(pal_note_signer_from_skey(PETER_SKEY, n,
							       &s, NULL), 0);
	char withnul[] = PETER_SKEY;
	withnul[20] = '\0';
	assert_int_not_equal(pal_note_signer_from_skey(withnul,
		sizeof(withnul) - 1, &s, NULL), 0);
	assert_int_equal(pal_note_signer_from_skey(PETER_SKEY "+x",
		strlen(PETER_SKEY "+x"), &s, &err), PAL_ERR_FORMAT);
}

/* A sign callback that returns a signature of other bytes. */
static int
lying_sign(struct pal_note_signer *s, const uint8_t *msg, size_t len,
	   uint8_t *sig, struct pal_err *err)
{
	struct pal_note_signer *real = s->ctx;

	(void)len;
	return real->sign(real, msg, 1, sig, err);
}

static void
bad_texts_and_signers_are_refused(void **state)
{
	struct pal_note_signer *s = skey_ok(PETER_SKEY), *liar = NULL;
	struct pal_note_signer *two[2] = { s, s };
	static const char *const bad[] = {
		"", "no newline", "tab\there\n", "bad utf-8 \xff\n",
		"cr\r\n", "\xed\xa0\x80 surrogate\n",
	};
	struct pal_buf b;
	struct pal_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sign_str(bad[i], &s, 1, &b, &err) == 0)
			fail_msg("bad text %zu signed", i);
		assert_int_equal(b.len, 0);
		pal_buf_free(&b);
	}
	assert_int_equal(sign_str(TEXT, two, 2, &b, &err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "two signatures"));
	assert_int_equal(b.len, 0);
	assert_int_equal(sign_str(TEXT, two, 0, &b, &err), PAL_ERR_INVALID);
	/* A ceiling too low leaves the output as it was. */
	pal_buf_init(&b, 64);
	assert_int_equal(pal_buf_puts(&b, "kept"), 0);
	assert_int_equal(pal_note_sign((const uint8_t *)TEXT, strlen(TEXT),
				       &s, 1, &b, &err), PAL_ERR_LIMIT);
	assert_string_equal((const char *)b.p, "kept");
	pal_buf_free(&b);
	/* A callback's signature is checked before it is used. */
	assert_int_equal(pal_note_signer_new("PeterNeumann", s->pub,
					     lying_sign, NULL, s, &liar,
					     &err), 0);
	assert_int_equal(liar->key_id, s->key_id);
	assert_int_equal(sign_str(TEXT, &liar, 1, &b, &err), PAL_ERR_CRYPTO);
	assert_non_null(strstr(err.msg, "does not verify"));
	assert_int_equal(b.len, 0);
	pal_buf_free(&b);
	pal_note_signer_free(liar);
	/* The last has an ideographic space (U+3000) inside. */
	static const char *const names[] = { "", "a b", "a+b", "a\tb",
		"\xff", "a\xe3\x80\x80z" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		liar = NULL;
		assert_int_equal(pal_note_signer_new(names[i], s->pub,
						     lying_sign, NULL, s,
						     &liar, &err),
				 PAL_ERR_FORMAT);
		assert_null(liar);
	}
	pal_note_signer_free(s);
}

static void
key_files_load(void **state)
{
	const char *tmp = getenv("PAL_TEST_TMP");
	struct pal_note_signer *s = NULL;
	struct pal_err err;
	char path[4096];
	FILE *f;

	(void)state;
	if (tmp == NULL)
		tmp = "/tmp";
	mkdir(tmp, 0700);
	snprintf(path, sizeof(path), "%s/note-skey-%d", tmp, (int)getpid());
	assert_non_null(f = fopen(path, "w"));
	fputs(PETER_SKEY "\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(pal_note_signer_load(path, &s, &err), 0);
	assert_int_equal(s->key_id, 0xc74f20a3);
	pal_note_signer_free(s);
	assert_non_null(f = fopen(path, "w"));
	fputs(PETER_SKEY "\n\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(pal_note_signer_load(path, &s, &err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, path));
	unlink(path);
	assert_int_equal(pal_note_signer_load(path, &s, &err), PAL_ERR_IO);
	assert_null(s);
}

/* The tree note of golang.org/x/mod/sumdb/tlog, and round trips. */
static void
checkpoints_format_and_parse_back(void **state)
{
	static const char *const ext[] = { "a b", "Timestamp: 1",
					   "\xc3\xa9t\xc3\xa9" };
	struct pal_checkpoint *c = NULL;
	uint8_t root[PAL_MERKLE_HASH_LEN];
	struct pal_buf b;
	struct pal_err err;

	(void)state;
	pal_merkle_leaf_hash((const uint8_t *)"hello world", 11, root);
	pal_buf_init(&b, 4096);
	assert_int_equal(pal_checkpoint_format("go.sum database tree",
		123456789012ULL, root, NULL, 0, &b, &err), 0);
	assert_string_equal((const char *)b.p, "go.sum database tree\n"
			    "123456789012\n" TREE_ROOT_B64 "\n");
	pal_buf_reset(&b);
	assert_int_equal(pal_checkpoint_format("example.com/log", UINT64_MAX,
		root, ext, 3, &b, &err), 0);
	assert_int_equal(pal_checkpoint_parse(b.p, b.len, &c, &err), 0);
	assert_string_equal(c->origin, "example.com/log");
	assert_true(c->size == UINT64_MAX);
	assert_memory_equal(c->root, root, sizeof(root));
	assert_int_equal(c->n_ext, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(c->ext[i], ext[i]);
	pal_checkpoint_free(c);
	pal_buf_reset(&b);
	assert_int_equal(pal_checkpoint_format("o", 0, root, NULL, 0, &b,
					       &err), 0);
	assert_int_equal(strncmp((const char *)b.p, "o\n0\n", 4), 0);

	/* Each bad origin or extension line leaves the buffer alone. */
	static const char *const bad[] = { "", "two\nlines", "tab\t",
					   "\xc0\xaf", "cr\r" };
	const char *one[1];
	pal_buf_reset(&b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		one[0] = bad[i];
		assert_int_equal(pal_checkpoint_format(bad[i], 1, root, NULL,
						       0, &b, &err),
				 PAL_ERR_INVALID);
		assert_int_equal(pal_checkpoint_format("o", 1, root, one, 1,
						       &b, &err),
				 PAL_ERR_INVALID);
		assert_int_equal(b.len, 0);
	}
	const char *many[PAL_CHECKPOINT_MAX_EXT + 1];
	for (size_t i = 0; i <= PAL_CHECKPOINT_MAX_EXT; i++)
		many[i] = "x";
	assert_int_equal(pal_checkpoint_format("o", 1, root, many,
		PAL_CHECKPOINT_MAX_EXT + 1, &b, &err), PAL_ERR_LIMIT);
	assert_int_equal(pal_checkpoint_format("o", 1, root, many,
		PAL_CHECKPOINT_MAX_EXT, &b, &err), 0);
	pal_buf_free(&b);
}

/* A signed checkpoint verifies with the log's vkey and parses back. */
static void
signed_checkpoints_verify(void **state)
{
	char *skey = NULL, *vkey = NULL;
	struct pal_note_signer *s;
	struct pal_note_verifier *v;
	struct pal_checkpoint *c = NULL;
	struct pal_note *n = NULL;
	uint8_t root[PAL_MERKLE_HASH_LEN] = { 1, 2, 3 };
	struct pal_buf text, note;
	struct pal_err err;

	(void)state;
	assert_int_equal(pal_note_key_generate("example.com/log", &skey,
					       &vkey, &err), 0);
	s = skey_ok(skey);
	v = vkey_ok(vkey);
	pal_buf_init(&text, 4096);
	pal_buf_init(&note, PAL_NOTE_MAX_LEN);
	assert_int_equal(pal_checkpoint_format("example.com/log", 42, root,
					       NULL, 0, &text, &err), 0);
	assert_int_equal(pal_note_sign(text.p, text.len, &s, 1, &note, &err),
			 0);
	assert_int_equal(pal_note_parse(note.p, note.len, &n, &err), 0);
	assert_int_equal(pal_note_verify(n, &v, 1, NULL, &err), 0);
	assert_int_equal(pal_checkpoint_parse(n->text, n->text_len, &c, &err),
			 0);
	assert_true(c->size == 42);
	assert_memory_equal(c->root, root, sizeof(root));
	pal_checkpoint_free(c);
	pal_note_free(n);
	pal_buf_free(&text);
	pal_buf_free(&note);
	pal_note_signer_free(s);
	pal_note_verifier_free(v);
	pal_note_skey_free(skey);
	free(vkey);
}

/* ---- cosignatures ---- */

#define SOFA "example.com/behind-the-sofa\n20852163\n" \
	"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

/* The vkey of a public witness and its key in a Sigsum policy file. */
#define REMORA_VKEY "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZ" \
	"pXh34x7onlmtw2"
#define REMORA_HEX "ebcdeb78e7fdb2ef9227b2c1ef11e94600b55b4d6d9a57877e31ee8" \
	"9e59adc36"

/*
 * The published PeterNeumann key as a witness: the cosignature line must
 * be key ID || timestamp || Ed25519 over "cosignature/v1\ntime T\n" and
 * the text, each part computed here with OpenSSL alone.
 */
static void
cosignature_matches_an_independent_build(void **state)
{
	static const char msg[] = "cosignature/v1\ntime 1679315147\n" SOFA;
	struct pal_note_signer *s = skey_ok(PETER_SKEY);
	uint8_t seed_b64_raw[33], *raw = NULL, d[32], want[4 + 8 + 64];
	size_t n = 0, sl = 64;
	struct pal_buf b;
	struct pal_err err;
	const char *b64 = &PETER_SKEY[strlen("PRIVATE+KEY+PeterNeumann+"
					     "c74f20a3+")];

	(void)state;
	/* The key ID of type 0x04. */
	uint8_t idmsg[14 + 32];
	memcpy(idmsg, "PeterNeumann\n\x04", 14);
	memcpy(idmsg + 14, s->pub, 32);
	SHA256(idmsg, sizeof(idmsg), d);
	memcpy(want, d, 4);
	/* The timestamp, big-endian. */
	static const uint8_t ts[8] = { 0, 0, 0, 0, 0x64, 0x18, 0x50, 0xcb };
	memcpy(want + 4, ts, 8);
	/* The signature over the message. */
	assert_int_equal(pal_base64_decode(b64, strlen(b64), &raw, &n, NULL),
			 0);
	assert_int_equal(n, 33);
	memcpy(seed_b64_raw, raw, 33);
	free(raw);
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
						   seed_b64_raw + 1, 32);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(md, want + 12, &sl,
		(const uint8_t *)msg, strlen(msg)), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);

	pal_buf_init(&b, 4096);
	assert_int_equal(pal_buf_puts(&b, "\xe2\x80\x94 PeterNeumann "), 0);
	assert_int_equal(pal_base64_encode(want, sizeof(want), &b), 0);
	assert_int_equal(pal_buf_putc(&b, '\n'), 0);
	char *line = (char *)pal_buf_steal(&b, NULL);
	pal_buf_init(&b, 4096);
	assert_int_equal(pal_cosign(s, (const uint8_t *)SOFA, strlen(SOFA),
				    1679315147, &b, &err), 0);
	assert_string_equal((const char *)b.p, line);
	pal_buf_reset(&b);
	assert_int_equal(pal_cosig_message(1679315147, (const uint8_t *)SOFA,
					   strlen(SOFA), &b, &err), 0);
	assert_string_equal((const char *)b.p, msg);
	free(line);
	pal_buf_free(&b);
	pal_note_signer_free(s);
}

static void
published_witness_keys_parse(void **state)
{
	struct pal_cosig_verifier *w = NULL;
	struct pal_note_verifier *v = NULL;
	struct pal_witness_policy *p = NULL;
	struct pal_err err;
	char hex[65], *vk = NULL;
	static const char type1[] = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKx"
		"xPjigCXlVtGe6RIr6";

	(void)state;
	assert_int_equal(pal_cosig_verifier_parse(REMORA_VKEY,
		strlen(REMORA_VKEY), &w, &err), 0);
	assert_string_equal(w->name, "remora.n621.de");
	assert_int_equal(w->key_id, 0xda77ade7);
	pal_hex_encode(w->pub, 32, hex);
	assert_string_equal(hex, REMORA_HEX);
	assert_int_equal(pal_cosig_verifier_vkey(w, &vk, &err), 0);
	assert_string_equal(vk, REMORA_VKEY);
	free(vk);
	pal_cosig_verifier_free(w);
	/* The same witness by its hex key, as Sigsum policies list it. */
	static const char pol[] = "witness remora.n621.de " REMORA_HEX "\n"
		"quorum remora.n621.de\n";
	assert_int_equal(pal_witness_policy_parse(pol, strlen(pol), &p, &err),
			 0);
	assert_int_equal(pal_witness_policy_count(p), 1);
	assert_int_equal(pal_witness_policy_witness(p, 0)->key_id, 0xda77ade7);
	assert_null(pal_witness_policy_witness(p, 1));
	pal_witness_policy_free(p);
	/* A type 0x01 vkey is a note key, not a cosigner's. */
	assert_int_equal(pal_note_verifier_parse(type1, strlen(type1), &v,
						 &err), 0);
	pal_note_verifier_free(v);
	assert_int_equal(pal_cosig_verifier_parse(type1, strlen(type1), &w,
						  &err), PAL_ERR_UNSUPPORTED);
	assert_null(w);
	/* A key ID one off, and the vkey's proper prefixes. */
	static const char off[] = "remora.n621.de+da77ade8+BOvN63jn/bLvkieywe8R"
		"6UYAtVtNbZpXh34x7onlmtw2";
	assert_int_equal(pal_cosig_verifier_parse(off, strlen(off), &w, &err),
			 PAL_ERR_FORMAT);
	for (size_t i = 0; i < strlen(REMORA_VKEY); i++)
		assert_int_not_equal(pal_cosig_verifier_parse(REMORA_VKEY, i,
							      &w, NULL), 0);
}

/* A log key, a checkpoint it signed, and three witness keys. */
struct cosig_fixture {
	struct pal_note_signer *log;
	struct pal_note_signer *w[3];
	struct pal_cosig_verifier *wv[3];
	char log_hex[65];
	char w_hex[3][65];
	struct pal_buf text;	/* checkpoint text */
	struct pal_buf note;	/* signed by the log */
};

static struct pal_note_signer *
new_signer(const char *name)
{
	char *skey = NULL, *vkey = NULL;
	struct pal_note_signer *s;
	struct pal_err err;

	if (pal_note_key_generate(name, &skey, &vkey, &err) != 0)
		fail_msg("%s", err.msg);
	s = skey_ok(skey);
	pal_note_skey_free(skey);
	free(vkey);
	return s;
}

static void
fixture_init(struct cosig_fixture *f, const char *ext)
{
	static const char *const names[3] = { "w1.example", "w2.example",
					      "w3.example" };
	uint8_t root[PAL_MERKLE_HASH_LEN];
	struct pal_err err;

	memset(f, 0, sizeof(*f));
	f->log = new_signer("example.com/log");
	pal_hex_encode(f->log->pub, 32, f->log_hex);
	for (int i = 0; i < 3; i++) {
		f->w[i] = new_signer(names[i]);
		pal_hex_encode(f->w[i]->pub, 32, f->w_hex[i]);
		assert_int_equal(pal_cosig_verifier_new(names[i], f->w[i]->pub,
							&f->wv[i], &err), 0);
	}
	pal_merkle_leaf_hash((const uint8_t *)"leaf", 4, root);
	pal_buf_init(&f->text, 4096);
	pal_buf_init(&f->note, PAL_NOTE_MAX_LEN);
	assert_int_equal(pal_checkpoint_format("example.com/log", 7, root,
		ext ? &ext : NULL, ext ? 1 : 0, &f->text, &err), 0);
	assert_int_equal(pal_note_sign(f->text.p, f->text.len, &f->log, 1,
				       &f->note, &err), 0);
}

static void
fixture_free(struct cosig_fixture *f)
{
	pal_note_signer_free(f->log);
	for (int i = 0; i < 3; i++) {
		pal_note_signer_free(f->w[i]);
		pal_cosig_verifier_free(f->wv[i]);
	}
	pal_buf_free(&f->text);
	pal_buf_free(&f->note);
}

/* Witness i cosigns the fixture's checkpoint at ts: a line on the note. */
static void
cosign_ok(struct cosig_fixture *f, int i, uint64_t ts)
{
	struct pal_err err;

	if (pal_cosign(f->w[i], f->text.p, f->text.len, ts, &f->note,
		       &err) != 0)
		fail_msg("cosign: %s", err.msg);
}

static struct pal_note *
parse_ok(const uint8_t *p, size_t n)
{
	struct pal_note *note = NULL;
	struct pal_err err;

	if (pal_note_parse(p, n, &note, &err) != 0)
		fail_msg("%s", err.msg);
	return note;
}

/* Verifies witness w's line in the note text s; returns the result. */
static int
cosig_check(const char *s, const struct pal_cosig_verifier *w, int *found,
	    uint64_t *ts, struct pal_err *err)
{
	struct pal_note *n = NULL;
	int rc = pal_note_parse((const uint8_t *)s, strlen(s), &n, err);

	if (rc == 0)
		rc = pal_cosig_verify(n, w, found, ts, err);
	pal_note_free(n);
	return rc;
}

/* Rewrites the timestamp inside the last signature line of s. */
static char *
retime_last_line(const char *s, uint64_t ts)
{
	const char *last = strrchr(s, ' ') + 1;
	uint8_t *raw = NULL;
	size_t n = 0;
	struct pal_buf b;

	assert_int_equal(pal_base64_decode(last, strlen(last) - 1, &raw, &n,
					   NULL), 0);
	for (int i = 7; i >= 0; i--, ts >>= 8)
		raw[4 + i] = (uint8_t)ts;
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_buf_append(&b, s, (size_t)(last - s)), 0);
	assert_int_equal(pal_base64_encode(raw, n, &b), 0);
	assert_int_equal(pal_buf_putc(&b, '\n'), 0);
	free(raw);
	return (char *)pal_buf_steal(&b, NULL);
}

static void
cosignatures_fail_when_anything_changes(void **state)
{
	struct cosig_fixture f;
	struct pal_cosig_verifier forged;
	struct pal_err err;
	uint64_t ts = 0;
	int found = -1;
	char *s;

	(void)state;
	fixture_init(&f, "extension line");
	cosign_ok(&f, 0, 1700000000);
	s = (char *)f.note.p;
	assert_int_equal(cosig_check(s, f.wv[0], &found, &ts, &err), 0);
	assert_int_equal(found, 1);
	assert_true(ts == 1700000000);
	/* Witness 2 has no line; its absence is no error. */
	assert_int_equal(cosig_check(s, f.wv[1], &found, &ts, &err), 0);
	assert_int_equal(found, 0);
	/* A key with w1's name and key ID but another key fails. */
	forged = *f.wv[0];
	forged.key = f.wv[1]->key;
	assert_int_equal(cosig_check(s, &forged, &found, &ts, &err),
			 PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "does not verify"));
	/* Another time in the line: the message changes with it. */
	char *t = retime_last_line(s, 1700000001);
	assert_int_equal(cosig_check(t, f.wv[0], &found, &ts, &err),
			 PAL_ERR_VERIFY);
	free(t);
	t = retime_last_line(s, (uint64_t)1 << 63);
	assert_int_equal(cosig_check(t, f.wv[0], &found, &ts, &err),
			 PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "2^63"));
	free(t);
	/* Another size, root or extension line in the checkpoint. */
	static const char *const from[] = { "\n7\n", "extension line" };
	static const char *const to[] = { "\n8\n", "extension linE" };
	for (int i = 0; i < 2; i++) {
		t = strdup(s);
		memcpy(strstr(t, from[i]), to[i], strlen(to[i]));
		assert_int_equal(cosig_check(t, f.wv[0], &found, &ts, &err),
				 PAL_ERR_VERIFY);
		free(t);
	}
	/* The log's own type 0x01 line is no cosignature by the log key. */
	struct pal_cosig_verifier *lw = NULL;
	assert_int_equal(pal_cosig_verifier_new("example.com/log",
		f.log->pub, &lw, &err), 0);
	assert_int_equal(cosig_check(s, lw, &found, &ts, &err), 0);
	assert_int_equal(found, 0);
	/* A line with w1's name and ID but a plain signature's length. */
	forged = *f.wv[0];
	forged.key_id = f.log->key_id;
	memcpy(forged.name, "example.com/log", 16);
	assert_int_equal(cosig_check(s, &forged, &found, &ts, &err),
			 PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "has 64 bytes, not 72"));
	pal_cosig_verifier_free(lw);
	/* What cannot be cosigned. */
	size_t before = f.note.len;
	assert_int_equal(pal_cosign(f.w[0], (const uint8_t *)"x\n", 2, 1,
				    &f.note, &err), PAL_ERR_FORMAT);
	assert_int_equal(pal_cosign(f.w[0], f.text.p, f.text.len,
				    (uint64_t)1 << 63, &f.note, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(f.note.len, before);
	fixture_free(&f);
}

static struct pal_witness_policy *
policy_ok(const char *text)
{
	struct pal_witness_policy *p = NULL;
	struct pal_err err;

	if (pal_witness_policy_parse(text, strlen(text), &p, &err) != 0)
		fail_msg("%s\n---\n%s", err.msg, text);
	return p;
}

/* Checks the fixture's note (with its cosignatures) against text. */
static int
policy_check(struct cosig_fixture *f, const char *text,
	     struct pal_witness_result *res, struct pal_err *err)
{
	struct pal_witness_policy *p = policy_ok(text);
	struct pal_note *n = parse_ok(f->note.p, f->note.len);
	struct pal_checkpoint *c = NULL;

	assert_int_equal(pal_checkpoint_parse(n->text, n->text_len, &c, err),
			 0);
	int rc = pal_witness_policy_check(p, n, c, res, err);
	pal_checkpoint_free(c);
	pal_note_free(n);
	pal_witness_policy_free(p);
	return rc;
}

static char *
policy_text(const struct cosig_fixture *f, const char *quorum_lines)
{
	char *s = malloc(4096);

	snprintf(s, 4096, "log %s\nwitness w1.example %s\n"
		 "witness w2.example %s\nwitness w3.example %s\n%s",
		 f->log_hex, f->w_hex[0], f->w_hex[1], f->w_hex[2],
		 quorum_lines);
	return s;
}

static void
policy_counts_k_of_n(void **state)
{
	struct cosig_fixture f;
	struct pal_witness_result res;
	struct pal_err err;
	char *two = NULL, *nested = NULL, *all = NULL, *none = NULL;

	(void)state;
	fixture_init(&f, NULL);
	two = policy_text(&f, "group g 2 w1.example w2.example w3.example\n"
			  "quorum g\n");
	nested = policy_text(&f, "group x any w1.example w2.example\n"
			     "group both all x w3.example\nquorum both\n");
	all = policy_text(&f, "group g all w1.example w2.example "
			  "w3.example\nquorum g\n");
	none = policy_text(&f, "quorum none\n");
	/* No cosignature yet. */
	assert_int_equal(policy_check(&f, none, &res, &err), 0);
	assert_true(res.satisfied && res.log_checked);
	assert_int_equal(policy_check(&f, two, &res, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "quorum 'g' not met (0 of 3"));
	/* One of two needed. */
	cosign_ok(&f, 0, 100);
	assert_int_equal(policy_check(&f, two, &res, &err), PAL_ERR_VERIFY);
	assert_int_equal(res.n_witnesses, 3);
	assert_int_equal(res.n_verified, 1);
	assert_true(res.verified[0] == 1 && res.verified[1] == 0 &&
		    res.verified[2] == 0);
	assert_true(res.timestamp[0] == 100);
	assert_false(res.satisfied);
	assert_int_equal(policy_check(&f, nested, &res, &err),
			 PAL_ERR_VERIFY);
	/* w1 and w3: two of three, and x and w3 both. */
	cosign_ok(&f, 2, 300);
	assert_int_equal(policy_check(&f, two, &res, &err), 0);
	assert_true(res.satisfied);
	assert_true(res.verified[0] == 1 && res.verified[1] == 0 &&
		    res.verified[2] == 1);
	assert_true(res.timestamp[2] == 300);
	assert_int_equal(policy_check(&f, nested, &res, &err), 0);
	assert_int_equal(policy_check(&f, all, &res, &err), PAL_ERR_VERIFY);
	cosign_ok(&f, 1, 200);
	assert_int_equal(policy_check(&f, all, &res, &err), 0);
	assert_int_equal(res.n_verified, 3);
	/* One bad cosignature by a policy witness refuses the note. */
	char *bad = retime_last_line((const char *)f.note.p, 201);
	pal_buf_reset(&f.note);
	assert_int_equal(pal_buf_puts(&f.note, bad), 0);
	free(bad);
	assert_int_equal(policy_check(&f, two, &res, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "w2.example"));
	assert_false(res.satisfied);
	free(two);
	free(nested);
	free(all);
	free(none);
	fixture_free(&f);
}

static void
policy_checks_the_log_signature(void **state)
{
	struct cosig_fixture f;
	struct pal_witness_result res;
	struct pal_err err;
	char text[4096], *vkey = NULL;
	struct pal_note_signer *other = new_signer("example.com/log");
	char other_hex[65];

	(void)state;
	fixture_init(&f, NULL);
	cosign_ok(&f, 0, 1);
	pal_hex_encode(other->pub, 32, other_hex);
	/* The log's key by vkey, with the witness's by vkey too. */
	char *wvk = NULL;
	assert_int_equal(pal_note_signer_vkey(f.log, &vkey, &err), 0);
	assert_int_equal(pal_cosig_verifier_vkey(f.wv[0], &wvk, &err), 0);
	snprintf(text, sizeof(text), "log %s\nwitness w1.example %s\n"
		 "quorum w1.example\n", vkey, wvk);
	assert_int_equal(policy_check(&f, text, &res, &err), 0);
	assert_true(res.log_checked && res.satisfied);
	/* Another log key: the checkpoint is not this log's. */
	snprintf(text, sizeof(text), "log %s\nwitness w1.example %s\n"
		 "quorum w1.example\n", other_hex, f.w_hex[0]);
	assert_int_equal(policy_check(&f, text, &res, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "log signature"));
	assert_false(res.satisfied);
	/* Both listed: either may sign. */
	snprintf(text, sizeof(text), "log %s\nlog %s https://log.example\n"
		 "witness w1.example %s\nquorum w1.example\n", other_hex,
		 f.log_hex, f.w_hex[0]);
	assert_int_equal(policy_check(&f, text, &res, &err), 0);
	/* No log line: only the witnesses are checked. */
	snprintf(text, sizeof(text), "witness w1.example %s\n"
		 "quorum w1.example\n", f.w_hex[0]);
	assert_int_equal(policy_check(&f, text, &res, &err), 0);
	assert_false(res.log_checked);
	assert_true(res.satisfied);
	/* The checkpoint handed in must be the note's. */
	struct pal_witness_policy *p = policy_ok(text);
	struct pal_note *n = parse_ok(f.note.p, f.note.len);
	struct pal_checkpoint *c = NULL;
	assert_int_equal(pal_checkpoint_parse(n->text, n->text_len, &c, &err),
			 0);
	c->size++;
	assert_int_equal(pal_witness_policy_check(p, n, c, NULL, &err),
			 PAL_ERR_INVALID);
	c->size--;
	assert_int_equal(pal_witness_policy_check(p, n, c, NULL, &err), 0);
	pal_checkpoint_free(c);
	pal_note_free(n);
	pal_witness_policy_free(p);
	free(vkey);
	free(wvk);
	pal_note_signer_free(other);
	fixture_free(&f);
}

/* Comments, tabs, URLs, either case of hex: what Sigsum accepts. */
static void
policy_syntax_is_sigsums(void **state)
{
	struct pal_witness_policy *p;
	char text[4096], upper[65];
	const char *h = REMORA_HEX;

	(void)state;
	for (int i = 0; i < 64; i++)
		upper[i] = (char)(h[i] >= 'a' ? h[i] - 32 : h[i]);
	upper[64] = '\0';
	snprintf(text, sizeof(text),
		 "# A policy with every kind of line.\n"
		 "\tlog  %s https://log.example/ # a log\n"
		 "\n"
		 "witness remora.n621.de\t%s https://remora.n621.de/\n"
		 "witness w\xc3\xa9.example %s\n"
		 "group \xc3\xa9quipe any remora.n621.de w\xc3\xa9.example\n"
		 "group top 1 \xc3\xa9quipe\n"
		 "quorum top   # trailing comment\n"
		 "# no newline at the end", upper, h,
		 "0000000000000000000000000000000000000000000000000000000000"
		 "000001");
	p = policy_ok(text);
	assert_int_equal(pal_witness_policy_count(p), 2);
	assert_string_equal(pal_witness_policy_witness(p, 1)->name,
			    "w\xc3\xa9.example");
	pal_witness_policy_free(p);
}

static void
malformed_policies_name_their_line(void **state)
{
#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"
	static const struct {
		const char *text;
		const char *msg;
	} bad[] = {
		{ "quorum none\nfoo\n", "line 2: unknown keyword 'foo'" },
		{ "witness a " K1 "\nwitness a " K2 "\n",
		  "line 2: 'a' is already defined" },
		{ "witness none " K1 "\n", "line 1: 'none' is already defined" },
		{ "witness a+b " K1 "\n", "line 1: witness name 'a+b'" },
		{ "witness a 11\n", "line 1: witness key is neither" },
		{ "witness a " K1 "1\n", "line 1: witness key is neither" },
		{ "witness a " K1 " https://a extra\n", "line 1: witness takes" },
		{ "witness a\n", "line 1: witness takes" },
		{ "witness a " K1 "\nwitness b " K1 "\n",
		  "line 2: witness 'b' has the key of witness 'a'" },
		{ "witness a " K1 "\n# c\ngroup g 2 a\n",
		  "line 3: threshold 2 of 1 members" },
		{ "witness a " K1 "\ngroup g 0 a\n", "line 2: threshold is not" },
		{ "witness a " K1 "\nwitness b " K2 "\ngroup g 01 a b\n",
		  "line 3: threshold is not" },
		{ "witness a " K1 "\ngroup g -1 a\n", "line 2: threshold is not" },
		{ "witness a " K1 "\ngroup g any a a\n",
		  "line 2: 'a' is listed twice" },
		{ "group g any nope\n", "line 1: 'nope' is not defined" },
		{ "group g any\n", "line 1: group takes" },
		{ "quorum g\nwitness g " K1 "\n", "line 1: quorum 'g' is not" },
		{ "quorum none\nquorum none\n", "line 2: a second quorum line" },
		{ "quorum\n", "line 1: quorum takes one name" },
		{ "quorum none x\n", "line 1: quorum takes one name" },
		{ "", "no quorum line" },
		{ "# only a comment\n", "no quorum line" },
		{ "log\nquorum none\n", "line 1: log takes" },
		{ "log abc\n", "line 1: log key is neither" },
		{ "log " K1 "\nlog " K1 "\n", "line 2: the key of an earlier" },
		{ "log x+00000000+AQ==\n", "line 1: log key: " },
		{ "quorum none\r\n", "line 1: control character 0x0d" },
		{ "quorum none\n\nx\x01\n", "line 3: control character 0x01" },
		{ "# \xff\nquorum none\n", "line 1: not UTF-8" },
		{ "witness a " REMORA_VKEY "\n",
		  "line 1: witness 'a' has a vkey named 'remora.n621.de'" },
		{ "witness TEST TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCX"
		  "lVtGe6RIr6\n", "line 1: witness vkey 'TEST': not a type 0x04" },
	};
	struct pal_witness_policy *p = NULL;
	struct pal_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = pal_witness_policy_parse(bad[i].text,
						  strlen(bad[i].text), &p,
						  &err);
		if (rc != PAL_ERR_POLICY || strstr(err.msg, bad[i].msg) == NULL)
			fail_msg("policy %zu: %d '%s', want '%s'", i, rc,
				 err.msg, bad[i].msg);
		assert_null(p);
	}
	/* A NUL inside is a control character too. */
	assert_int_equal(pal_witness_policy_parse("quorum none\n\0", 13, &p,
						  &err), PAL_ERR_POLICY);
	assert_non_null(strstr(err.msg, "line 2: control character 0x00"));

	/* Limits: text size and the number of witnesses. */
	struct pal_buf b;
	pal_buf_init(&b, 1 << 20);
	for (int i = 0; i <= PAL_WITNESS_POLICY_MAX_WITNESSES; i++)
		assert_int_equal(pal_buf_printf(&b, "witness w%d %064x\n", i,
						i + 1), 0);
	assert_int_equal(pal_buf_puts(&b, "quorum none\n"), 0);
	assert_int_equal(pal_witness_policy_parse((const char *)b.p, b.len,
						  &p, &err), PAL_ERR_POLICY);
	assert_non_null(strstr(err.msg, "line 65: more than 64 witnesses"));
	pal_buf_reset(&b);
	while (b.len <= PAL_WITNESS_POLICY_MAX)
		assert_int_equal(pal_buf_puts(&b, "# padding padding\n"), 0);
	assert_int_equal(pal_witness_policy_parse((const char *)b.p, b.len,
						  &p, &err), PAL_ERR_LIMIT);
	pal_buf_free(&b);

	/* A file: errors name it. */
	const char *tmp = getenv("PAL_TEST_TMP");
	char path[4096];
	FILE *fp;
	snprintf(path, sizeof(path), "%s/witness-policy-%d", tmp ? tmp : "/tmp",
		 (int)getpid());
	assert_non_null(fp = fopen(path, "w"));
	fputs("quorum none\nbogus\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(pal_witness_policy_load(path, &p, &err),
			 PAL_ERR_POLICY);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "line 2: unknown keyword"));
	assert_non_null(fp = fopen(path, "w"));
	fputs("quorum none\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(pal_witness_policy_load(path, &p, &err), 0);
	assert_int_equal(pal_witness_policy_count(p), 0);
	pal_witness_policy_free(p);
	unlink(path);
#undef K1
#undef K2
}

/* ---- Ed25519 keys on a SoftHSM2 token ---- */

#define PIN "1234"
#define TOKEN_URI(obj) "pkcs11:token=notes;object=" obj "?pin-value=" PIN

static char token_dir[4096];

/*
 * SoftHSM 2.6.1 leaks the ASN.1 object it decodes from an EdDSA key's
 * CKA_EC_PARAMS on every C_SignInit (OSSL::byteString2oid; fixed upstream
 * in SoftHSMv2 pull requests 858 and 863).  The module is kept loaded to
 * the end of the run, and allocations are traced through libcrypto (which
 * has no frame pointers), so that LeakSanitizer reports that leak against
 * the module, by name, and only there is it suppressed.
 */
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libsofthsm2.so\n";
}

const char *
__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

static struct pal_p11_module *keep_loaded;

static int
token_setup(void **state)
{
	const char *tmp = getenv("PAL_TEST_TMP");
	char conf[4096 + 32], text[4096 + 128], cmd[256];
	FILE *f;

	(void)state;
	if (tmp == NULL)
		tmp = "/tmp";
	mkdir(tmp, 0700);
	snprintf(token_dir, sizeof(token_dir), "%s/note-token-%d", tmp,
		 (int)getpid());
	snprintf(text, sizeof(text), "%s/tokens", token_dir);
	if (mkdir(token_dir, 0700) != 0 || mkdir(text, 0700) != 0)
		return -1;
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", token_dir);
	if ((f = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = "
		"file\nlog.level = ERROR\n", token_dir);
	if (fclose(f) != 0)
		return -1;
	setenv("SOFTHSM2_CONF", conf, 1);
	unsetenv(PAL_P11_PIN_ENV);
	snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free --label "
		 "notes --pin " PIN " --so-pin 5678 >/dev/null");
	if (system(cmd) != 0)
		return -1;
	return pal_p11_module_get(PAL_P11_DEFAULT_MODULE, &keep_loaded,
				  NULL) == 0 ? 0 : -1;
}

static int
token_teardown(void **state)
{
	char cmd[4096 + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", token_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct pal_note_signer *
token_signer_ok(const char *uri, const char *name)
{
	struct pal_note_signer *s = NULL;
	struct pal_err err;

	pal_err_clear(&err);
	if (pal_note_signer_from_pkcs11(uri, name, &s, &err) != 0)
		fail_msg("%s: %s", uri, err.msg);
	return s;
}

/* A key made on the token signs checkpoints that verify by its vkey. */
static void
token_keys_sign_notes(void **state)
{
	struct pal_note_signer *s;
	struct pal_note_verifier *v;
	struct pal_cosig_verifier *w = NULL;
	EVP_PKEY *pub = NULL, *again = NULL;
	uint8_t raw[32], ok = 0;
	size_t n = sizeof(raw);
	struct pal_buf b;
	struct pal_err err;
	char *vkey = NULL;

	(void)state;
	assert_int_equal(pal_p11_keygen(TOKEN_URI("log"), "Ed25519", &pub,
					&err), 0);
	assert_int_equal(EVP_PKEY_get_base_id(pub), EVP_PKEY_ED25519);
	s = token_signer_ok(TOKEN_URI("log"), "example.com/log");
	assert_int_equal(EVP_PKEY_get_raw_public_key(pub, raw, &n), 1);
	assert_memory_equal(raw, s->pub, 32);
	/* The public half is readable without the PIN. */
	assert_int_equal(pal_p11_pubkey("pkcs11:token=notes;object=log",
					&again, &err), 0);
	assert_int_equal(EVP_PKEY_eq(again, pub), 1);
	assert_int_equal(pal_note_signer_vkey(s, &vkey, &err), 0);
	v = vkey_ok(vkey);
	assert_int_equal(sign_str(SOFA, &s, 1, &b, &err), 0);
	assert_int_equal(verify_buf(&b, &v, 1, &ok, &err), 0);
	assert_int_equal(ok, 1);
	/* A token key cosigns too. */
	assert_int_equal(pal_cosign(s, (const uint8_t *)SOFA, strlen(SOFA),
				    1679315147, &b, &err), 0);
	assert_int_equal(pal_cosig_verifier_new("example.com/log", s->pub, &w,
						&err), 0);
	int found = 0;
	uint64_t ts = 0;
	assert_int_equal(cosig_check((const char *)b.p, w, &found, &ts, &err),
			 0);
	assert_true(found == 1 && ts == 1679315147);
	/* The same key again: keygen refuses to reuse a label. */
	assert_int_equal(pal_p11_keygen(TOKEN_URI("log"), "Ed25519", NULL,
					&err), PAL_ERR_INVALID);
	pal_cosig_verifier_free(w);
	pal_buf_free(&b);
	free(vkey);
	pal_note_verifier_free(v);
	pal_note_signer_free(s);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(again);
}

/* Attributes of the private key the token made. */
static void
token_keys_stay_on_the_token(void **state)
{
	struct pal_p11_session ses;
	struct pal_p11_uri *u = NULL;
	CK_OBJECT_HANDLE key;
	struct pal_err err;
	int v = -1;

	(void)state;
	assert_int_equal(pal_p11_keygen(TOKEN_URI("kept"), "Ed25519", NULL,
					&err), 0);
	assert_int_equal(pal_p11_uri_parse(TOKEN_URI("kept"),
		strlen(TOKEN_URI("kept")), &u, &err), 0);
	assert_int_equal(pal_p11_session_open(u, 0, PAL_P11_LOGIN_NEEDED,
					      &ses, &err), 0);
	assert_int_equal(pal_p11_find_key(&ses, u, CKO_PRIVATE_KEY, &key,
					  &err), 0);
	assert_int_equal(pal_p11_attr_bool(&ses, key, CKA_EXTRACTABLE, &v,
					   &err), 0);
	assert_int_equal(v, 0);
	assert_int_equal(pal_p11_attr_bool(&ses, key, CKA_SENSITIVE, &v,
					   &err), 0);
	assert_int_equal(v, 1);
	assert_int_equal(pal_p11_attr_bool(&ses, key, CKA_DERIVE, &v, &err),
			 0);
	assert_int_equal(v, 0);
	pal_p11_session_close(&ses);
	pal_p11_uri_free(u);
}

/* Creates an object on the token from a template. */
static CK_OBJECT_HANDLE
create_object(CK_ATTRIBUTE *t, CK_ULONG n)
{
	const char *uri = TOKEN_URI("admin");
	struct pal_p11_session ses;
	struct pal_p11_uri *u = NULL;
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	struct pal_err err;

	assert_int_equal(pal_p11_uri_parse(uri, strlen(uri), &u, &err), 0);
	assert_int_equal(pal_p11_session_open(u, 1, PAL_P11_LOGIN_NEEDED,
					      &ses, &err), 0);
	assert_int_equal(ses.f->C_CreateObject(ses.h, t, n, &h), CKR_OK);
	pal_p11_session_close(&ses);
	pal_p11_uri_free(u);
	return h;
}

/* The curve as the PrintableString "edwards25519", as pkcs11-tool does. */
static const uint8_t edwards25519[] = {
	0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'
};

/*
 * Imports the published PeterNeumann key, labelled label, with a public
 * key object holding pub (the key's own public key, or another).
 */
static void
import_peter(const char *label, const uint8_t *pub)
{
	struct pal_note_signer *soft = skey_ok(PETER_SKEY);
	const char *b64 = &PETER_SKEY[strlen("PRIVATE+KEY+PeterNeumann+"
					     "c74f20a3+")];
	uint8_t *raw = NULL, point[34] = { 0x04, 0x20 };
	size_t n = 0;
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY, pubc = CKO_PUBLIC_KEY;
	CK_KEY_TYPE kt = CKK_EC_EDWARDS;
	CK_BBOOL yes = CK_TRUE;
	void *l = (void *)(uintptr_t)label;
	void *params = (void *)(uintptr_t)edwards25519;

	assert_int_equal(pal_base64_decode(b64, strlen(b64), &raw, &n, NULL),
			 0);
	memcpy(point + 2, pub != NULL ? pub : soft->pub, 32);
	CK_ATTRIBUTE privt[] = {
		{ CKA_CLASS, &priv, sizeof(priv) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_LABEL, l, strlen(label) },
		{ CKA_ID, l, strlen(label) },
		{ CKA_EC_PARAMS, params, sizeof(edwards25519) },
		{ CKA_VALUE, raw + 1, 32 },
	};
	CK_ATTRIBUTE pubt[] = {
		{ CKA_CLASS, &pubc, sizeof(pubc) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_LABEL, l, strlen(label) },
		{ CKA_ID, l, strlen(label) },
		{ CKA_EC_PARAMS, params, sizeof(edwards25519) },
		{ CKA_EC_POINT, point, sizeof(point) },
	};
	create_object(privt, sizeof(privt) / sizeof(privt[0]));
	create_object(pubt, sizeof(pubt) / sizeof(pubt[0]));
	OPENSSL_cleanse(raw, n);
	free(raw);
	pal_note_signer_free(soft);
}

/* The published key, imported: the token reproduces the published note. */
static void
token_reproduces_the_published_note(void **state)
{
	struct pal_note_signer *s;
	struct pal_buf b;
	struct pal_err err;

	(void)state;
	import_peter("peter", NULL);
	s = token_signer_ok(TOKEN_URI("peter"), "PeterNeumann");
	assert_int_equal(s->key_id, 0xc74f20a3);
	assert_int_equal(sign_str(TEXT, &s, 1, &b, &err), 0);
	assert_string_equal((const char *)b.p, TEXT "\n" PETER_SIG);
	pal_buf_free(&b);
	pal_note_signer_free(s);
}

/* An Ed448 key pair (OID 1.3.101.113) made through the module. */
static void
ed448_pair(const char *label)
{
	static const uint8_t oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x71 };
	const char *uri = TOKEN_URI("admin");
	CK_MECHANISM mech = { CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0 };
	CK_BBOOL yes = CK_TRUE;
	void *l = (void *)(uintptr_t)label;
	CK_ATTRIBUTE pubt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_LABEL, l, strlen(label) },
		{ CKA_ID, l, strlen(label) },
		{ CKA_EC_PARAMS, (void *)(uintptr_t)oid, sizeof(oid) },
	};
	CK_ATTRIBUTE privt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_LABEL, l, strlen(label) },
		{ CKA_ID, l, strlen(label) },
	};
	struct pal_p11_session ses;
	struct pal_p11_uri *u = NULL;
	CK_OBJECT_HANDLE hp, hq;
	struct pal_err err;

	assert_int_equal(pal_p11_uri_parse(uri, strlen(uri), &u, &err), 0);
	assert_int_equal(pal_p11_session_open(u, 1, PAL_P11_LOGIN_NEEDED,
					      &ses, &err), 0);
	assert_int_equal(ses.f->C_GenerateKeyPair(ses.h, &mech, pubt, 4,
						  privt, 5, &hp, &hq), CKR_OK);
	pal_p11_session_close(&ses);
	pal_p11_uri_free(u);
}

static void
token_signer_fails(const char *uri, const char *name, int code,
		   const char *want)
{
	struct pal_note_signer *s = (struct pal_note_signer *)&s;
	struct pal_err err;
	int rc;

	pal_err_clear(&err);
	rc = pal_note_signer_from_pkcs11(uri, name, &s, &err);
	if (rc != code || strstr(err.msg, want) == NULL)
		fail_msg("%s: rc %d '%s', want %d '%s'", uri, rc, err.msg,
			 code, want);
	assert_null(s);
}

static void
token_refuses_the_wrong_keys(void **state)
{
	struct pal_note_signer *s;
	struct pal_signer *ec = NULL;
	uint8_t sig[64];
	struct pal_err err;

	(void)state;
	/* An ECDSA key is no Ed25519 key, and the reverse. */
	assert_int_equal(pal_p11_keygen(TOKEN_URI("p256"), "P-256", NULL,
					&err), 0);
	token_signer_fails(TOKEN_URI("p256"), "n", PAL_ERR_UNSUPPORTED,
			   "not an EdDSA key");
	assert_int_equal(pal_p11_keygen(TOKEN_URI("ed"), "Ed25519", NULL,
					&err), 0);
	assert_int_equal(pal_signer_from_pkcs11(TOKEN_URI("ed"), &ec, &err),
			 PAL_ERR_UNSUPPORTED);
	assert_null(ec);
	/* Missing key, wrong PIN, a name that cannot sign notes. */
	token_signer_fails(TOKEN_URI("nope"), "n", PAL_ERR_INVALID,
			   "key not found");
	token_signer_fails("pkcs11:token=notes;object=ed?pin-value=0000", "n",
			   PAL_ERR_INVALID, "PIN");
	token_signer_fails(TOKEN_URI("ed"), "a b", PAL_ERR_FORMAT, "space");
	assert_int_equal(pal_p11_keygen(TOKEN_URI("c"), "Ed448", NULL, &err),
			 PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "Ed25519"));
	ed448_pair("ed448");
	token_signer_fails(TOKEN_URI("ed448"), "n", PAL_ERR_UNSUPPORTED,
			   "not on edwards25519");
	/*
	 * The published key whose public object is another key's: it opens,
	 * but no signature is released.
	 */
	static const uint8_t other[32] = {
		0x8a, 0x88, 0xe3, 0xdd, 0x74, 0x09, 0xf1, 0x95, 0xfd, 0x52,
		0xdb, 0x2d, 0x3c, 0xba, 0x5d, 0x72, 0xca, 0x67, 0x09, 0xbf,
		0x1d, 0x94, 0x12, 0x1b, 0xf3, 0x74, 0x88, 0x01, 0xb4, 0x0f,
		0x6f, 0x5c,
	};
	import_peter("mixed", other);
	s = token_signer_ok("pkcs11:token=notes;object=mixed;type=private"
			    "?pin-value=" PIN, "PeterNeumann");
	assert_int_equal(s->sign(s, (const uint8_t *)TEXT, strlen(TEXT), sig,
				 &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "does not verify"));
	pal_note_signer_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(golden_key_reproduces_the_published_note),
		cmocka_unit_test(generated_keys_round_trip),
		cmocka_unit_test(bad_private_keys_are_refused),
		cmocka_unit_test(bad_texts_and_signers_are_refused),
		cmocka_unit_test(key_files_load),
		cmocka_unit_test(checkpoints_format_and_parse_back),
		cmocka_unit_test(signed_checkpoints_verify),
		cmocka_unit_test(cosignature_matches_an_independent_build),
		cmocka_unit_test(published_witness_keys_parse),
		cmocka_unit_test(cosignatures_fail_when_anything_changes),
		cmocka_unit_test(policy_counts_k_of_n),
		cmocka_unit_test(policy_checks_the_log_signature),
		cmocka_unit_test(policy_syntax_is_sigsums),
		cmocka_unit_test(malformed_policies_name_their_line),
	};

	const struct CMUnitTest token_tests[] = {
		cmocka_unit_test(token_keys_sign_notes),
		cmocka_unit_test(token_keys_stay_on_the_token),
		cmocka_unit_test(token_reproduces_the_published_note),
		cmocka_unit_test(token_refuses_the_wrong_keys),
	};

	return cmocka_run_group_tests_name("notes", tests, NULL, NULL) +
		cmocka_run_group_tests_name("token", token_tests, token_setup,
					    token_teardown);
}
