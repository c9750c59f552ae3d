/*
 * test_note_sign.c - signing notes and checkpoints: Go's private key text
 * must reproduce the published signatures of golang.org/x/mod/sumdb/note
 * (tests/data/tlog-note/signed-note-vectors.md) byte for byte, new keys
 * must round-trip through pal_note_verify, malformed key text and note
 * text must be refused, and formatted checkpoints must parse back.
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

#include "palisade/buf.h"
#include "palisade/encoding.h"
#include "palisade/merkle.h"
#include "palisade/note.h"
#include "palisade/note_sign.h"

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
	static const char *const names[] = { "", "a b", "a+b", "a\tb",
		"a\xe3\x80\x80" "b", "\xff" };
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
