/*
 * test_payload.c - sealed payloads (payload.h, docs/formats/payload.md):
 * round trips for X25519, P-256 and RSA-3072; a known answer sealed by
 * an independent implementation (python-cryptography); the wrong key
 * named; every single-bit flip and every truncation refused; the AAD
 * bound; empty and 1 MiB payloads; the parts' framing; the size
 * arithmetic the gateway fits log entries with; sealing from several
 * threads on one recipient; the keys accepted and refused; the
 * serve.request record (AAD, digests, truncation).
 *
 * It also writes fixtures for tests/e2e/payload.sh into
 * $PAL_TEST_TMP/payload: keys, a log with serve.request records sealed
 * the way the gateway seals them, and the bodies they hold, so that the
 * palisade command and the independent reader open what this code wrote.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "palisade/encoding.h"
#include "palisade/file.h"
#include "palisade/payload.h"
#include "palisade/tile.h"
#include "palisade/tlog.h"

static EVP_PKEY *rsa3072;	/* generated once: slow */

static EVP_PKEY *
keygen(const char *kind)
{
	EVP_PKEY *k = NULL;

	if (strcmp(kind, "X25519") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	else if (strcmp(kind, "P-256") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(kind, "P-384") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (strcmp(kind, "ED25519") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (strcmp(kind, "RSA2048") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (strcmp(kind, "RSA3072") == 0) {
		if (rsa3072 == NULL)
			rsa3072 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
						    (size_t)3072);
		if (rsa3072 != NULL && EVP_PKEY_up_ref(rsa3072) == 1)
			k = rsa3072;
	}
	assert_non_null(k);
	return k;
}

/* The public half alone, as the gateway has it. */
static EVP_PKEY *
public_of(EVP_PKEY *priv)
{
	BIO *b = BIO_new(BIO_s_mem());
	EVP_PKEY *pub;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_PUBKEY(b, priv), 1);
	pub = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(pub);
	return pub;
}

static struct pal_payload_recipient *
recipient(EVP_PKEY *priv)
{
	struct pal_payload_recipient *r = NULL;
	struct pal_err err = { 0 };
	EVP_PKEY *pub = public_of(priv);

	if (pal_payload_recipient_new(pub, &r, &err) < 0)
		fail_msg("recipient: %s", err.msg);
	EVP_PKEY_free(pub);
	return r;
}

static const char request[] = "{\"model\": \"m\", \"messages\": [{\"role\": "
			      "\"user\", \"content\": \"hello\"}]}";
static const char response[] = "data: {\"choices\": [{\"delta\": "
			       "{\"content\": \"hi\"}}]}\n\ndata: [DONE]\n\n";

static void
two_parts(struct pal_payload_part p[2])
{
	p[0] = (struct pal_payload_part){ "request", (const uint8_t *)request,
					  sizeof(request) - 1,
					  sizeof(request) - 1 };
	p[1] = (struct pal_payload_part){ "response",
					  (const uint8_t *)response,
					  sizeof(response) - 1,
					  sizeof(response) - 1 };
}

static void
seal(struct pal_payload_recipient *r, const char *aad,
     const struct pal_payload_part *p, size_t n, struct pal_buf *out)
{
	struct pal_err err = { 0 };

	pal_buf_init(out, 1u << 26);
	if (pal_payload_seal(r, (const uint8_t *)aad, aad ? strlen(aad) : 0,
			     p, n, out, &err) < 0)
		fail_msg("seal: %s", err.msg);
}

/* Opens and expects the parts back exactly. */
static void
open_ok(EVP_PKEY *priv, const char *aad, const struct pal_buf *b,
	const struct pal_payload_part *p, size_t n)
{
	struct pal_payload_opened *o = NULL;
	struct pal_err err = { 0 };

	if (pal_payload_open(priv, (const uint8_t *)aad, aad ? strlen(aad) : 0,
			     (const char *)b->p, b->len, &o, &err) < 0)
		fail_msg("open: %s", err.msg);
	assert_int_equal(o->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(o->part[i].name, p[i].name);
		assert_int_equal(o->part[i].len, p[i].len);
		assert_int_equal(o->part[i].total, p[i].total);
		if (p[i].len > 0)
			assert_memory_equal(o->part[i].data, p[i].data,
					    p[i].len);
	}
	pal_payload_opened_free(o);
}

/* Opening fails with code, and a message holding want. */
static void
open_fails(EVP_PKEY *priv, const char *aad, const char *b64, size_t len,
	   int code, const char *want)
{
	struct pal_payload_opened *o = NULL;
	struct pal_err err = { 0 };
	int rc = pal_payload_open(priv, (const uint8_t *)aad,
				  aad ? strlen(aad) : 0, b64, len, &o, &err);

	assert_null(o);
	if (rc != code || strstr(err.msg, want) == NULL)
		fail_msg("want %d '%s', got %d '%s'", code, want, rc, err.msg);
}

static void
round_trip(const char *kind, enum pal_payload_alg alg)
{
	EVP_PKEY *priv = keygen(kind);
	struct pal_payload_recipient *r = recipient(priv);
	struct pal_payload_part p[2];
	struct pal_buf b, again;
	uint8_t id[PAL_PAYLOAD_ID_LEN];

	two_parts(p);
	assert_int_equal(pal_payload_recipient_alg(r), alg);
	assert_int_equal(pal_payload_key_id(priv, id, NULL), 0);
	assert_memory_equal(pal_payload_recipient_id(r), id, sizeof(id));
	seal(r, "aad", p, 2, &b);
	assert_int_equal(b.len, pal_payload_sealed_len(r, p, 2));
	open_ok(priv, "aad", &b, p, 2);
	/* A fresh ephemeral key (or secret) each time. */
	seal(r, "aad", p, 2, &again);
	assert_int_equal(again.len, b.len);
	assert_memory_not_equal(again.p, b.p, b.len);
	open_fails(priv, "aae", (const char *)b.p, b.len, PAL_ERR_VERIFY,
		   "authentication failed");
	open_fails(priv, NULL, (const char *)b.p, b.len, PAL_ERR_VERIFY,
		   "authentication failed");
	pal_buf_free(&b);
	pal_buf_free(&again);
	pal_payload_recipient_free(r);
	EVP_PKEY_free(priv);
}

static void
round_trip_x25519(void **state)
{
	(void)state;
	round_trip("X25519", PAL_PAYLOAD_X25519);
}

static void
round_trip_p256(void **state)
{
	(void)state;
	round_trip("P-256", PAL_PAYLOAD_P256);
}

static void
round_trip_rsa(void **state)
{
	(void)state;
	round_trip("RSA3072", PAL_PAYLOAD_RSA_OAEP);
}

/*
 * Sealed by python-cryptography, following docs/formats/payload.md, with
 * the recipient key SHA-256("recipient") and the ephemeral key
 * SHA-256("ephemeral") as X25519 private keys, the AAD "kat aad", and
 * the parts request '{"a":1}' (7 of 7) and response "ok" (2 of 10).
 */
static const char kat_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VuBCIEIGZdBpjbyPuVr8JcOk2c8oDYelhbeZkkPKYAj9AyWJdf\n"
	"-----END PRIVATE KEY-----\n";
static const char kat_sealed[] =
	"UEFMUAEBCsH/EmeyDhww+9lTfkkn/gYPL+123DSaLrNhbxRDt8kAIOKddSGRFJi4N+1p"
	"LRKoFYeJjgrD9iCOrBBpvKgvtrYzekvXHd0mSOvL/nKMeW5pjBXffI3/TEYXf+z/fG8W"
	"6/YYlrDTgeMV1Z+/1nWNTm+RIJapkjxH7QFrIR+g/vCVHnOB";
static const char kat_id[] =
	"0ac1ff1267b20e1c30fbd9537e4927fe060f2fed76dc349a2eb3616f1443b7c9";

static EVP_PKEY *
kat_priv(void)
{
	BIO *b = BIO_new_mem_buf(kat_key, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(k);
	return k;
}

static void
known_answer(void **state)
{
	(void)state;
	EVP_PKEY *priv = kat_priv();
	struct pal_payload_opened *o = NULL;
	struct pal_err err = { 0 };
	uint8_t id[PAL_PAYLOAD_ID_LEN];
	char hex[65];

	assert_int_equal(pal_payload_key_id(priv, id, NULL), 0);
	pal_hex_encode(id, sizeof(id), hex);
	assert_string_equal(hex, kat_id);
	if (pal_payload_open(priv, (const uint8_t *)"kat aad", 7, kat_sealed,
			     strlen(kat_sealed), &o, &err) < 0)
		fail_msg("open: %s", err.msg);
	assert_int_equal(o->alg, PAL_PAYLOAD_X25519);
	assert_int_equal(o->n, 2);
	assert_string_equal(o->part[0].name, "request");
	assert_int_equal(o->part[0].len, 7);
	assert_int_equal(o->part[0].total, 7);
	assert_memory_equal(o->part[0].data, "{\"a\":1}", 7);
	assert_string_equal(o->part[1].name, "response");
	assert_int_equal(o->part[1].len, 2);
	assert_int_equal(o->part[1].total, 10);
	assert_memory_equal(o->part[1].data, "ok", 2);
	pal_payload_opened_free(o);
	open_fails(priv, "kat aae", kat_sealed, strlen(kat_sealed),
		   PAL_ERR_VERIFY, "authentication failed");
	EVP_PKEY_free(priv);
}

static void
wrong_key(void **state)
{
	(void)state;
	EVP_PKEY *priv = keygen("X25519"), *other = keygen("X25519");
	EVP_PKEY *p256 = keygen("P-256");
	struct pal_payload_recipient *r = recipient(priv);
	struct pal_payload_part p[2];
	struct pal_buf b;
	uint8_t id[PAL_PAYLOAD_ID_LEN];
	char want[65], have[65], msg[200];

	two_parts(p);
	seal(r, "a", p, 2, &b);
	pal_hex_encode(pal_payload_recipient_id(r), PAL_PAYLOAD_ID_LEN, want);
	assert_int_equal(pal_payload_key_id(other, id, NULL), 0);
	pal_hex_encode(id, sizeof(id), have);
	snprintf(msg, sizeof(msg), "sealed to key %s, this key is %s", want,
		 have);
	open_fails(other, "a", (const char *)b.p, b.len, PAL_ERR_VERIFY, msg);
	open_fails(p256, "a", (const char *)b.p, b.len, PAL_ERR_VERIFY,
		   "sealed to a key of kind X25519, this key is P-256");
	pal_buf_free(&b);
	pal_payload_recipient_free(r);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(other);
	EVP_PKEY_free(p256);
}

/* The sealed bytes of a base64 payload. */
static uint8_t *
bytes_of(const struct pal_buf *b, size_t *len)
{
	uint8_t *bin = NULL;

	assert_int_equal(pal_base64_decode((const char *)b->p, b->len, &bin,
					   len, NULL), 0);
	return bin;
}

static int
open_bin(EVP_PKEY *priv, const uint8_t *bin, size_t len,
	 struct pal_err *err)
{
	struct pal_payload_opened *o = NULL;
	int rc = pal_payload_open_bin(priv, (const uint8_t *)"a", 1, bin, len,
				      &o, err);

	pal_payload_opened_free(o);
	return rc;
}

/*
 * Every single-bit flip anywhere is refused, each with a reason; the
 * field it hit decides which.
 */
static void
flips(const char *kind)
{
	EVP_PKEY *priv = keygen(kind);
	struct pal_payload_recipient *r = recipient(priv);
	struct pal_payload_part p[1] = { { "request", (const uint8_t *)"hi",
					   2, 2 } };
	struct pal_buf b;
	size_t len, enc_end;
	uint8_t *bin;

	seal(r, "a", p, 1, &b);
	bin = bytes_of(&b, &len);
	enc_end = 40 + ((size_t)bin[38] << 8 | bin[39]);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += (i < 40 ? 1 : 3)) {
			struct pal_err err = { 0 };
			int rc;
			bin[i] ^= (uint8_t)(1u << bit);
			rc = open_bin(priv, bin, len, &err);
			bin[i] ^= (uint8_t)(1u << bit);
			if (rc >= 0)
				fail_msg("%s: flip of bit %d of byte %zu "
					 "opened", kind, bit, i);
			assert_true(err.msg[0] != '\0');
			if (i >= 6 && i < 38)
				assert_non_null(strstr(err.msg, "wrong key"));
			if (i >= enc_end)
				assert_non_null(strstr(err.msg,
					"authentication failed"));
		}
	}
	assert_int_equal(open_bin(priv, bin, len, NULL), 0);
	free(bin);
	pal_buf_free(&b);
	pal_payload_recipient_free(r);
	EVP_PKEY_free(priv);
}

static void
tampered_x25519(void **state)
{
	(void)state;
	flips("X25519");
}

static void
tampered_p256(void **state)
{
	(void)state;
	flips("P-256");
}

/* Named fields: what each change is called. */
static void
tampered_fields(void **state)
{
	(void)state;
	EVP_PKEY *priv = keygen("P-256");
	struct pal_payload_recipient *r = recipient(priv);
	struct pal_payload_part p[2];
	struct pal_buf b;
	size_t len;
	uint8_t *bin;
	struct pal_err err = { 0 };

	two_parts(p);
	seal(r, "a", p, 2, &b);
	bin = bytes_of(&b, &len);
	bin[0] = 'X';
	assert_int_equal(open_bin(priv, bin, len, &err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "not a sealed payload"));
	bin[0] = 'P';
	bin[4] = 2;
	assert_int_equal(open_bin(priv, bin, len, &err), PAL_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "version 2"));
	bin[4] = 1;
	bin[5] = 9;
	assert_int_equal(open_bin(priv, bin, len, &err), PAL_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "algorithm 9"));
	bin[5] = 1;
	assert_int_equal(open_bin(priv, bin, len, &err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "65 bytes is not valid for X25519"));
	bin[5] = 2;
	bin[40] = 0x06;		/* a hybrid point: refused */
	assert_int_equal(open_bin(priv, bin, len, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "ephemeral public key is not valid"));
	bin[40] = 0x04;
	bin[41] ^= 1;		/* off the curve */
	assert_int_equal(open_bin(priv, bin, len, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "ephemeral public key is not valid"));
	bin[41] ^= 1;
	bin[len - 1] ^= 0x80;	/* the tag */
	assert_int_equal(open_bin(priv, bin, len, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "authentication failed"));
	bin[len - 1] ^= 0x80;
	assert_int_equal(open_bin(priv, bin, len, &err), 0);
	/* Not base64, non-canonical base64, too long to be a payload. */
	open_fails(priv, "a", "UEFM UA==", 9, PAL_ERR_FORMAT, "sealed payload: ");
	open_fails(priv, "a", "UEFMUB==", 8, PAL_ERR_FORMAT, "non-canonical");
	open_fails(priv, "a", (const char *)b.p, 30u << 20, PAL_ERR_LIMIT,
		   "base64 characters");
	free(bin);
	pal_buf_free(&b);
	pal_payload_recipient_free(r);
	EVP_PKEY_free(priv);
}

static void
tampered_rsa(void **state)
{
	(void)state;
	EVP_PKEY *priv = keygen("RSA3072");
	struct pal_payload_recipient *r = recipient(priv);
	struct pal_payload_part p[2];
	struct pal_buf b;
	size_t len;
	uint8_t *bin;
	struct pal_err err = { 0 };

	two_parts(p);
	seal(r, "a", p, 2, &b);
	bin = bytes_of(&b, &len);
	assert_int_equal(bin[38] << 8 | bin[39], 384);
	bin[100] ^= 4;		/* inside the OAEP block */
	assert_int_equal(open_bin(priv, bin, len, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "wrapped key does not decrypt"));
	bin[100] ^= 4;
	bin[39] = 0x7f;		/* 383 bytes: not this key's */
	assert_int_not_equal(open_bin(priv, bin, len, &err), 0);
	bin[39] = 0x80;
	bin[40 + 384 + 3] ^= 1;	/* the ciphertext */
	assert_int_equal(open_bin(priv, bin, len, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "authentication failed"));
	bin[40 + 384 + 3] ^= 1;
	assert_int_equal(open_bin(priv, bin, len, &err), 0);
	free(bin);
	pal_buf_free(&b);
	pal_payload_recipient_free(r);
	EVP_PKEY_free(priv);
}

static void
truncated(void **state)
{
	(void)state;
	EVP_PKEY *priv = keygen("X25519");
	struct pal_payload_recipient *r = recipient(priv);
	struct pal_payload_part p[2];
	struct pal_buf b;
	size_t len;
	uint8_t *bin;

	two_parts(p);
	seal(r, "a", p, 2, &b);
	bin = bytes_of(&b, &len);
	for (size_t n = 0; n < len; n++) {
		struct pal_err err = { 0 };
		/* A copy of exactly n bytes, so that ASan sees any overread. */
		uint8_t *c = malloc(n + 1);
		memcpy(c, bin, n);
		int rc = open_bin(priv, c, n, &err);
		free(c);
		if (rc >= 0)
			fail_msg("a prefix of %zu bytes opened", n);
		if (n < 4 + 2 + 32 + 2 + 32 + 16)
			assert_int_equal(rc, PAL_ERR_TRUNCATED);
	}
	free(bin);
	pal_buf_free(&b);
	pal_payload_recipient_free(r);
	EVP_PKEY_free(priv);
}

static void
empty_payloads(void **state)
{
	(void)state;
	EVP_PKEY *priv = keygen("X25519");
	struct pal_payload_recipient *r = recipient(priv);
	struct pal_payload_part p[1] = { { "request", NULL, 0, 0 } };
	struct pal_buf b;

	seal(r, NULL, NULL, 0, &b);
	assert_int_equal(b.len, (40 + 32 + 16 + 2) / 3 * 4);
	open_ok(priv, NULL, &b, NULL, 0);
	pal_buf_free(&b);
	seal(r, "", p, 1, &b);
	open_ok(priv, NULL, &b, p, 1);
	pal_buf_free(&b);
	pal_payload_recipient_free(r);
	EVP_PKEY_free(priv);
}

static void
large_payload(void **state)
{
	(void)state;
	EVP_PKEY *priv = keygen("P-256");
	struct pal_payload_recipient *r = recipient(priv);
	size_t n = 1u << 20;
	uint8_t *big = malloc(n);
	struct pal_payload_part p[2];
	struct pal_buf b, small;
	struct pal_err err = { 0 };

	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (uint8_t)(i * 131 + (i >> 9));
	two_parts(p);
	p[1].data = big;
	p[1].len = p[1].total = n;
	seal(r, "a", p, 2, &b);
	open_ok(priv, "a", &b, p, 2);
	/* The caller's ceiling holds, and a refusal leaves the buffer. */
	pal_buf_init(&small, 1000);
	assert_int_equal(pal_buf_puts(&small, "x"), 0);
	assert_int_equal(pal_payload_seal(r, NULL, 0, p, 2, &small, &err),
			 PAL_ERR_LIMIT);
	assert_int_equal(small.len, 1);
	assert_string_equal((char *)small.p, "x");
	pal_buf_free(&small);
	free(big);
	pal_buf_free(&b);
	pal_payload_recipient_free(r);
	EVP_PKEY_free(priv);
}

static void
parts_rules(void **state)
{
	(void)state;
	EVP_PKEY *priv = keygen("X25519");
	struct pal_payload_recipient *r = recipient(priv);
	struct pal_payload_part p[PAL_PAYLOAD_PARTS_MAX + 1];
	struct pal_buf b;
	struct pal_err err = { 0 };
	static const char *const names[] = { "a", "b", "c", "d", "e", "f",
					     "g", "h", "i" };

	pal_buf_init(&b, 1 << 20);
	for (size_t i = 0; i <= PAL_PAYLOAD_PARTS_MAX; i++)
		p[i] = (struct pal_payload_part){ names[i],
						  (const uint8_t *)"x", 1, 1 };
	assert_int_equal(pal_payload_seal(r, NULL, 0, p,
					  PAL_PAYLOAD_PARTS_MAX + 1, &b, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_payload_sealed_len(r, p,
						PAL_PAYLOAD_PARTS_MAX + 1), 0);
	assert_int_equal(pal_payload_seal(r, NULL, 0, p, PAL_PAYLOAD_PARTS_MAX,
					  &b, &err), 0);
	p[1].name = "a";
	assert_int_equal(pal_payload_seal(r, NULL, 0, p, 2, &b, &err),
			 PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "'a' twice"));
	p[1].name = "Upper";
	assert_int_equal(pal_payload_seal(r, NULL, 0, p, 2, &b, &err),
			 PAL_ERR_INVALID);
	p[1].name = "";
	assert_int_equal(pal_payload_seal(r, NULL, 0, p, 2, &b, &err),
			 PAL_ERR_INVALID);
	p[1].name = "0123456789abcdef0123456789abcdef_";	/* 33 */
	assert_int_equal(pal_payload_seal(r, NULL, 0, p, 2, &b, &err),
			 PAL_ERR_INVALID);
	p[1].name = "0123456789abcdef0123456789abcdef";
	assert_int_equal(pal_payload_seal(r, NULL, 0, p, 2, &b, &err), 0);
	p[1].total = 0;		/* len > total */
	assert_int_equal(pal_payload_seal(r, NULL, 0, p, 2, &b, &err),
			 PAL_ERR_INVALID);
	p[1].total = 1;
	p[1].data = NULL;
	assert_int_equal(pal_payload_seal(r, NULL, 0, p, 2, &b, &err),
			 PAL_ERR_INVALID);
	pal_buf_free(&b);
	pal_payload_recipient_free(r);
	EVP_PKEY_free(priv);
}

static void
parse_fails(const void *p, size_t len, const char *want)
{
	struct pal_payload_view v[PAL_PAYLOAD_PARTS_MAX];
	struct pal_err err = { 0 };
	size_t n = 99;

	assert_true(pal_payload_parts_parse(p, len, v, PAL_PAYLOAD_PARTS_MAX,
					    &n, &err) < 0);
	assert_int_equal(n, 0);
	if (strstr(err.msg, want) == NULL)
		fail_msg("want '%s', got '%s'", want, err.msg);
}

static void
parts_parse(void **state)
{
	(void)state;
	struct pal_payload_part p[2];
	struct pal_payload_view v[PAL_PAYLOAD_PARTS_MAX];
	struct pal_buf b;
	size_t n;
	uint8_t nine[9 * 14];

	two_parts(p);
	p[1].total = 1000;
	pal_buf_init(&b, 4096);
	assert_int_equal(pal_payload_parts_encode(p, 2, &b, NULL), 0);
	assert_int_equal(b.len, 1 + 7 + 12 + p[0].len + 1 + 8 + 12 +
			 p[1].len);
	assert_int_equal(pal_payload_parts_parse(b.p, b.len, v, 8, &n, NULL),
			 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[1].name, "response");
	assert_int_equal(v[1].total, 1000);
	assert_int_equal(v[1].len, p[1].len);
	/* Every prefix but the two whole ones is refused. */
	for (size_t cut = 1; cut < b.len; cut++)
		if (cut != 1 + 7 + 12 + p[0].len)
			parse_fails(b.p, cut, "");
	parse_fails("\x01" "a" "\0\0\0\0\0\0\0\x01" "\0\0\0\x01", 14,
		    "1 bytes announced, 0 left");
	parse_fails("\x01" "a" "\0\0\0\0\0\0\0\0" "\0\0\0\x01" "x", 15,
		    "1 bytes of a body of 0");
	parse_fails("\x01" "a" "\0\0\0\0\0\0\0\x01" "\0\0\0\x02" "xy", 16,
		    "2 bytes of a body of 1");
	parse_fails("\x01" "A" "\0\0\0\0\0\0\0\0" "\0\0\0\0", 14, "the name");
	parse_fails("\x00" "\0\0\0\0\0\0\0\0" "\0\0\0\0", 13, "the name");
	parse_fails("\x01" "a" "\0\0\0\0\0\0\0\0" "\0\0\0\0"
		    "\x01" "a" "\0\0\0\0\0\0\0\0" "\0\0\0\0", 28, "twice");
	parse_fails("\x01" "a" "\0\0\0\0\0\0\0\0" "\0\0\0\0" "\x01", 15,
		    "ends inside");
	for (size_t i = 0; i < 9; i++) {
		memcpy(nine + 14 * i, "\x01" "a" "\0\0\0\0\0\0\0\0" "\0\0\0\0",
		       14);
		nine[14 * i + 1] = (uint8_t)('a' + i);
	}
	assert_int_equal(pal_payload_parts_parse(nine, sizeof(nine) - 14, v,
						 8, &n, NULL), 0);
	assert_int_equal(n, 8);
	parse_fails(nine, sizeof(nine), "more than 8 parts");
	pal_buf_free(&b);
}

/* pal_payload_fit cuts the last part first, then the one before. */
static void
fit(void **state)
{
	(void)state;
	EVP_PKEY *priv = keygen("X25519");
	struct pal_payload_recipient *r = recipient(priv);
	static uint8_t body[60000];
	struct pal_payload_part p[2] = {
		{ "request", body, 3000, 3000 },
		{ "response", body, sizeof(body), sizeof(body) },
	};
	size_t budget = 40000;

	assert_true(pal_payload_sealed_len(r, p, 2) > budget);
	assert_int_equal(pal_payload_fit(r, p, 2, budget), 0);
	assert_int_equal(p[0].len, 3000);
	assert_true(p[1].len < sizeof(body));
	assert_int_equal(p[1].total, sizeof(body));
	assert_true(pal_payload_sealed_len(r, p, 2) <= budget);
	assert_true(pal_payload_sealed_len(r, p, 2) > budget - 4);
	/* Smaller: the response goes, then the request is cut. */
	assert_int_equal(pal_payload_fit(r, p, 2, 1000), 0);
	assert_int_equal(p[1].len, 0);
	assert_true(p[0].len > 0 && p[0].len < 3000);
	assert_true(pal_payload_sealed_len(r, p, 2) <= 1000);
	/* Room for nothing but the framing. */
	assert_int_equal(pal_payload_fit(r, p, 2, 100), PAL_ERR_LIMIT);
	/* Fitting what fits changes nothing. */
	p[0].len = 10;
	p[1].len = 10;
	assert_int_equal(pal_payload_fit(r, p, 2, 1000), 0);
	assert_int_equal(p[0].len + p[1].len, 20);
	pal_payload_recipient_free(r);
	EVP_PKEY_free(priv);
}

struct worker {
	struct pal_payload_recipient *r;
	EVP_PKEY *priv;
	int failures;
};

static void *
sealer(void *arg)
{
	struct worker *w = arg;
	struct pal_payload_part p[2];

	two_parts(p);
	for (int i = 0; i < 40; i++) {
		struct pal_buf b;
		struct pal_payload_opened *o = NULL;
		pal_buf_init(&b, 1 << 16);
		if (pal_payload_seal(w->r, (const uint8_t *)"t", 1, p, 2, &b,
				     NULL) < 0 ||
		    pal_payload_open(w->priv, (const uint8_t *)"t", 1,
				     (const char *)b.p, b.len, &o, NULL) < 0 ||
		    o->n != 2 || o->part[1].len != p[1].len)
			w->failures++;
		pal_payload_opened_free(o);
		pal_buf_free(&b);
	}
	return NULL;
}

static void
threads(void **state)
{
	(void)state;
	const char *kinds[] = { "X25519", "P-256" };

	for (size_t k = 0; k < 2; k++) {
		EVP_PKEY *priv = keygen(kinds[k]);
		struct worker w[4];
		pthread_t t[4];
		struct pal_payload_recipient *r = recipient(priv);
		for (int i = 0; i < 4; i++) {
			w[i] = (struct worker){ r, priv, 0 };
			assert_int_equal(pthread_create(&t[i], NULL, sealer,
							&w[i]), 0);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(t[i], NULL);
			assert_int_equal(w[i].failures, 0);
		}
		pal_payload_recipient_free(r);
		EVP_PKEY_free(priv);
	}
}

/* ---- keys from files ---- */

static char tmpdir[1024];

static const char *
tmp_path(const char *name)
{
	static char path[2048];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static void
write_pem(const char *name, EVP_PKEY *k, int private, const char *pass)
{
	FILE *f = fopen(tmp_path(name), "w");

	assert_non_null(f);
	if (private)
		assert_int_equal(PEM_write_PKCS8PrivateKey(
					 f, k, pass ? EVP_aes_256_cbc() : NULL,
					 (char *)(uintptr_t)pass,
					 pass ? (int)strlen(pass) : 0, NULL,
					 NULL), 1);
	else
		assert_int_equal(PEM_write_PUBKEY(f, k), 1);
	fclose(f);
}

static void
load_fails(const char *name, int code, const char *want)
{
	struct pal_payload_recipient *r = NULL;
	struct pal_err err = { 0 };
	int rc = pal_payload_recipient_load(tmp_path(name), &r, &err);

	assert_null(r);
	if (rc != code || strstr(err.msg, want) == NULL)
		fail_msg("%s: want %d '%s', got %d '%s'", name, code, want, rc,
			 err.msg);
}

static int
make_tmpdir(void **state)
{
	(void)state;
	const char *base = getenv("PAL_TEST_TMP");

	snprintf(tmpdir, sizeof(tmpdir), "%s/payload-unit.%d",
		 base ? base : "/tmp", (int)getpid());
	mkdir(base ? base : "/tmp", 0700);
	return mkdir(tmpdir, 0700) == 0 ? 0 : -1;
}

static void
keys_from_files(void **state)
{
	(void)state;
	const char *kinds[] = { "X25519", "P-256", "RSA3072" };
	struct pal_payload_recipient *r = NULL;
	struct pal_err err = { 0 };
	EVP_PKEY *k, *priv = NULL;

	for (size_t i = 0; i < 3; i++) {
		k = keygen(kinds[i]);
		write_pem("ok.pub", k, 0, NULL);
		write_pem("ok.key", k, 1, NULL);
		if (pal_payload_recipient_load(tmp_path("ok.pub"), &r, &err) <
			    0 ||
		    pal_payload_privkey_load(tmp_path("ok.key"), &priv, &err) <
			    0)
			fail_msg("%s: %s", kinds[i], err.msg);
		assert_int_equal(EVP_PKEY_eq(priv, k), 1);
		pal_payload_recipient_free(r);
		EVP_PKEY_free(priv);
		/* The private key is not a public key file. */
		load_fails("ok.key", PAL_ERR_FORMAT, "not a PEM public key");
		EVP_PKEY_free(k);
	}
	k = keygen("RSA2048");
	write_pem("rsa2048.pub", k, 0, NULL);
	write_pem("rsa2048.key", k, 1, NULL);
	load_fails("rsa2048.pub", PAL_ERR_UNSUPPORTED, "RSA key of 2048 bits");
	assert_int_equal(pal_payload_privkey_load(tmp_path("rsa2048.key"),
						  &priv, &err),
			 PAL_ERR_UNSUPPORTED);
	EVP_PKEY_free(k);
	k = keygen("P-384");
	write_pem("p384.pub", k, 0, NULL);
	load_fails("p384.pub", PAL_ERR_UNSUPPORTED, "EC curve secp384r1");
	EVP_PKEY_free(k);
	k = keygen("ED25519");
	write_pem("ed.pub", k, 0, NULL);
	load_fails("ed.pub", PAL_ERR_UNSUPPORTED, "ED25519 key cannot");
	/* An encrypted private key: refused without a prompt. */
	write_pem("enc.key", k, 1, "secret");
	assert_int_equal(pal_payload_privkey_load(tmp_path("enc.key"), &priv,
						  &err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "encrypted"));
	EVP_PKEY_free(k);
	load_fails("missing.pub", PAL_ERR_IO, "missing.pub");
}

/* ---- serve.request records ---- */

static char *
hex_sha256(const void *p, size_t n)
{
	uint8_t md[32];
	char *hex = malloc(65);

	EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL);
	pal_hex_encode(md, sizeof(md), hex);
	return hex;
}

/*
 * A serve.request entry as the gateway writes one: the digests of the
 * whole bodies, and the payload sealed with the record AAD.  parts may
 * differ from the bodies (to test the checks); req/resp NULL: no digest.
 */
static char *
record_entry(struct pal_payload_recipient *r, const char *req,
	     const char *resp, const struct pal_payload_part *p, size_t n)
{
	char *rq = req ? hex_sha256(req, strlen(req)) : NULL;
	char *rs = resp ? hex_sha256(resp, strlen(resp)) : NULL;
	json_t *d = json_pack("{s:s, s:s, s:s, s:i}", "method", "POST",
			      "path", "/v1/chat/completions", "key", "k1",
			      "status", 200);
	char *entry = NULL;
	struct pal_err err = { 0 };

	if (rq)
		json_object_set_new(d, "request_sha256", json_string(rq));
	if (rs)
		json_object_set_new(d, "response_sha256", json_string(rs));
	if (pal_payload_record_seal(r, d, p, n, &err) < 0)
		fail_msg("record seal: %s", err.msg);
	assert_int_equal(pal_log_entry_build_obj("serve.request", "serve",
						 NULL, d, 1700000000, &entry,
						 NULL), 0);
	json_decref(d);
	free(rq);
	free(rs);
	return entry;
}

static int
record_open(EVP_PKEY *priv, const char *entry,
	    struct pal_payload_record **rec, struct pal_err *err)
{
	return pal_payload_record_open(priv, (const uint8_t *)entry,
				       strlen(entry), rec, err);
}

static void
record_aad(void **state)
{
	(void)state;
	struct pal_buf b;
	char d[65];

	memset(d, 'a', 64);
	d[64] = '\0';
	pal_buf_init(&b, 1024);
	assert_int_equal(pal_payload_record_aad(d, NULL, &b), 0);
	assert_string_equal((char *)b.p, "serve.request\nrequest_sha256="
			    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			    "\nresponse_sha256=\n");
	d[3] = 'A';
	assert_int_equal(pal_payload_record_aad(d, NULL, &b), PAL_ERR_INVALID);
	assert_int_equal(pal_payload_record_aad(NULL, "abc", &b),
			 PAL_ERR_INVALID);
	pal_buf_free(&b);
}

static void
record_fails(EVP_PKEY *priv, const char *entry, int code, const char *want)
{
	struct pal_payload_record *rec = NULL;
	struct pal_err err = { 0 };
	int rc = record_open(priv, entry, &rec, &err);

	assert_null(rec);
	if (rc != code || strstr(err.msg, want) == NULL)
		fail_msg("want %d '%s', got %d '%s'", code, want, rc, err.msg);
}

/* Replaces the first occurrence of from in s by to (same length). */
static void
patch(char *s, const char *from, const char *to)
{
	char *at = strstr(s, from);

	assert_non_null(at);
	assert_int_equal(strlen(from), strlen(to));
	memcpy(at, to, strlen(to));
}

static void
records(void **state)
{
	(void)state;
	EVP_PKEY *priv = keygen("X25519");
	struct pal_payload_recipient *r = recipient(priv);
	struct pal_payload_part p[2];
	struct pal_payload_record *rec = NULL;
	struct pal_err err = { 0 };
	char *e, *other, *hex;

	two_parts(p);
	e = record_entry(r, request, response, p, 2);
	if (record_open(priv, e, &rec, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(rec->opened->n, 2);
	assert_int_equal(rec->check[0], PAL_PAYLOAD_MATCHES);
	assert_int_equal(rec->check[1], PAL_PAYLOAD_MATCHES);
	pal_payload_record_free(rec);

	/* A digest changed: the AAD no longer matches. */
	hex = hex_sha256(request, strlen(request));
	patch(e, hex, "0000000000000000000000000000000000000000000000000000"
		      "000000000000");
	record_fails(priv, e, PAL_ERR_VERIFY, "authentication failed");
	free(hex);
	free(e);

	/* A payload moved to a record about other bodies. */
	e = record_entry(r, request, response, p, 2);
	other = record_entry(r, "{}", response, p, 2);
	{
		json_t *a = json_loads(e, 0, NULL), *b = json_loads(other, 0,
								    NULL);
		char *moved;
		json_object_set(json_object_get(b, "details"), "payload",
				json_object_get(json_object_get(a, "details"),
						"payload"));
		moved = json_dumps(b, 0);
		record_fails(priv, moved, PAL_ERR_VERIFY,
			     "authentication failed");
		free(moved);
		json_decref(a);
		json_decref(b);
	}
	free(other);
	free(e);

	/* Sealed with the right AAD, but not the bodies digested. */
	e = record_entry(r, "{\"other\": 1}", response, p, 2);
	record_fails(priv, e, PAL_ERR_VERIFY, "the request part (SHA-256 ");
	free(e);
	e = record_entry(r, request, NULL, p, 2);
	record_fails(priv, e, PAL_ERR_VERIFY, "the response part holds");
	free(e);

	/* A truncated response is reported, not checked. */
	p[1].total += 100;
	e = record_entry(r, request, "whatever the whole body was", p, 2);
	assert_int_equal(record_open(priv, e, &rec, &err), 0);
	assert_int_equal(rec->check[0], PAL_PAYLOAD_MATCHES);
	assert_int_equal(rec->check[1], PAL_PAYLOAD_TRUNCATED);
	pal_payload_record_free(rec);
	free(e);

	/* No request body (GET), no payload, not a request record. */
	e = record_entry(r, NULL, response, &p[1], 1);
	assert_int_equal(record_open(priv, e, &rec, &err), 0);
	assert_int_equal(rec->opened->n, 1);
	pal_payload_record_free(rec);
	free(e);
	record_fails(priv, "{\"type\": \"serve.request\", \"details\": "
		     "{\"status\": 200}}", PAL_ERR_INVALID, "no payload");
	record_fails(priv, "{\"type\": \"serve.alert\", \"details\": {}}",
		     PAL_ERR_FORMAT, "a serve.alert entry");
	record_fails(priv, "{\"type\": \"serve.request\", \"type\": 1}",
		     PAL_ERR_FORMAT, "not JSON");
	record_fails(priv, "{\"type\": \"serve.request\", \"details\": "
		     "{\"payload\": \"UEFM\", \"request_sha256\": \"ab\"}}",
		     PAL_ERR_FORMAT, "details.request_sha256");
	record_fails(priv, "{\"type\": \"serve.request\", \"details\": "
		     "{\"payload\": 5}}", PAL_ERR_FORMAT, "details.payload");
	pal_payload_recipient_free(r);
	EVP_PKEY_free(priv);
}

/*
 * The entry built from the sealed details stays within a log entry
 * whatever the other details take; with no room left the details are
 * unchanged and the error says why.
 */
static void
record_room(void **state)
{
	(void)state;
	EVP_PKEY *priv = keygen("X25519");
	struct pal_payload_recipient *r = recipient(priv);
	static uint8_t body[200000];
	static char reason[70000];
	struct pal_payload_part p[2] = {
		{ "request", body, 5000, 5000 },
		{ "response", body, sizeof(body), sizeof(body) },
	};
	struct pal_payload_record *rec = NULL;
	struct pal_err err = { 0 };
	size_t sizes[] = { 1, 1000, 30000, 60000, 64900, 65300 };

	memset(body, 'b', sizeof(body));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *hex = hex_sha256(body, 5000);
		json_t *d = json_pack("{s:s, s:s}", "request_sha256", hex,
				      "reason", "");
		char *entry = NULL;
		memset(reason, 'r', sizes[i]);
		reason[sizes[i]] = '\0';
		json_object_set_new(d, "reason", json_string(reason));
		int rc = pal_payload_record_seal(r, d, p, 2, &err);
		if (sizes[i] >= 65300) {
			assert_int_equal(rc, PAL_ERR_LIMIT);
			assert_non_null(strstr(err.msg, "no room"));
			assert_null(json_object_get(d, "payload"));
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(pal_log_entry_build_obj(
				"serve.request", "serve", "sha256:0000000000000000"
				"000000000000000000000000000000000000000000000000",
				d, 1700000000, &entry, NULL), 0);
			assert_true(strlen(entry) <= PAL_ENTRY_MAX);
			assert_true(strlen(entry) > PAL_ENTRY_MAX - 400);
			assert_int_equal(record_open(priv, entry, &rec, &err),
					 0);
			assert_int_equal(rec->check[1], PAL_PAYLOAD_TRUNCATED);
			pal_payload_record_free(rec);
			free(entry);
		}
		json_decref(d);
		free(hex);
	}
	pal_payload_recipient_free(r);
	EVP_PKEY_free(priv);
}

/* ---- fixtures for tests/e2e/payload.sh ---- */

static char fixdir[1024];

static void
fix_write(const char *name, const void *p, size_t n)
{
	char path[2048];
	struct pal_err err = { 0 };

	snprintf(path, sizeof(path), "%s/%s", fixdir, name);
	if (pal_file_write_atomic(path, p, n, 0600, &err) < 0)
		fail_msg("%s", err.msg);
}

static void
fix_key(const char *name, EVP_PKEY *k)
{
	char path[2048];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.key", fixdir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL),
			 1);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.pub", fixdir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(PEM_write_PUBKEY(f, k), 1);
	fclose(f);
}

/*
 * Appends a record sealed to the recipient loaded from <key>.pub, as the
 * gateway does (the bodies fitted to the entry), and writes the whole
 * bodies beside it as <index>.request and <index>.response.
 */
static void
fix_record(const char *log, const char *key, uint64_t want_index,
	   const uint8_t *req, size_t req_len, const uint8_t *resp,
	   size_t resp_len, int sealed)
{
	char path[2048], name[64], *rq = NULL, *rs = NULL, *details;
	struct pal_payload_recipient *r = NULL;
	struct pal_payload_part p[2];
	struct pal_err err = { 0 };
	size_t n = 0;
	uint64_t index;
	json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:i}", "src", "127.0.0.1",
			      "method", req ? "POST" : "GET", "path",
			      req ? "/v1/chat/completions" : "/v1/models",
			      "key", "k1", "status", 200);

	snprintf(path, sizeof(path), "%s/%s.pub", fixdir, key);
	if (pal_payload_recipient_load(path, &r, &err) < 0)
		fail_msg("%s", err.msg);
	if (req != NULL) {
		rq = hex_sha256(req, req_len);
		json_object_set_new(d, "request_sha256", json_string(rq));
		p[n++] = (struct pal_payload_part){ "request", req, req_len,
						    req_len };
	}
	rs = hex_sha256(resp, resp_len);
	json_object_set_new(d, "response_sha256", json_string(rs));
	p[n++] = (struct pal_payload_part){ "response", resp, resp_len,
					    resp_len };
	if (sealed && pal_payload_record_seal(r, d, p, n, &err) < 0)
		fail_msg("%s", err.msg);
	details = json_dumps(d, JSON_COMPACT);
	if (pal_log_record(log, "serve.request", "serve", NULL, details,
			   &index, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(index, want_index);
	snprintf(name, sizeof(name), "%llu.response",
		 (unsigned long long)index);
	fix_write(name, resp, resp_len);
	if (req != NULL) {
		snprintf(name, sizeof(name), "%llu.request",
			 (unsigned long long)index);
		fix_write(name, req, req_len);
	}
	free(details);
	json_decref(d);
	free(rq);
	free(rs);
	pal_payload_recipient_free(r);
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* Removes the log that fixdir/log points to, and the link. */
static void
remove_previous_log(void)
{
	char link[1200], target[256], path[1500];
	ssize_t n;

	snprintf(link, sizeof(link), "%s/log", fixdir);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	if (strncmp(target, "log.", 4) == 0 && strchr(target, '/') == NULL) {
		snprintf(path, sizeof(path), "%s/%s", fixdir, target);
		nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	unlink(link);
}

static void
e2e_fixtures(void **state)
{
	(void)state;
	const char *base = getenv("PAL_TEST_TMP");
	char log[1200];
	struct pal_err err = { 0 };
	EVP_PKEY *x = keygen("X25519"), *p = keygen("P-256");
	EVP_PKEY *rsa = keygen("RSA3072"), *other = keygen("X25519");
	size_t big_len = 100000;
	uint8_t *big = malloc(big_len), bin[300];

	snprintf(fixdir, sizeof(fixdir), "%s/payload",
		 base ? base : "/tmp");
	snprintf(log, sizeof(log), "%s/x", fixdir);
	assert_int_equal(pal_mkdir_parents(AT_FDCWD, log, 0700, NULL), 0);
	/*
	 * A fresh log each run, since the e2e script expects these indices;
	 * the previous run's goes.
	 */
	remove_previous_log();
	snprintf(log, sizeof(log), "%s/log.%d", fixdir, (int)getpid());
	if (pal_log_init(log, "palisade.test/payload", NULL, &err) < 0)
		fail_msg("%s", err.msg);
	fix_key("x25519", x);
	fix_key("p256", p);
	fix_key("rsa", rsa);
	fix_key("other", other);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)('a' + i % 26);
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i * 7);
	/* 0, 1, 2: each kind of key, an SSE response with escapes. */
	fix_record(log, "x25519", 0, (const uint8_t *)request,
		   sizeof(request) - 1, (const uint8_t *)response,
		   sizeof(response) - 1, 1);
	fix_record(log, "p256", 1, (const uint8_t *)request,
		   sizeof(request) - 1, bin, sizeof(bin), 1);
	fix_record(log, "rsa", 2, (const uint8_t *)request,
		   sizeof(request) - 1, (const uint8_t *)"\x1b[31mred\n", 9,
		   1);
	/* 3: a GET (no request body); 4: too big for an entry; 5: none. */
	fix_record(log, "x25519", 3, NULL, 0, (const uint8_t *)"{}", 2, 1);
	fix_record(log, "x25519", 4, (const uint8_t *)request,
		   sizeof(request) - 1, big, big_len, 1);
	fix_record(log, "x25519", 5, (const uint8_t *)request,
		   sizeof(request) - 1, (const uint8_t *)"{}", 2, 0);
	/* The log the script reads: the latest run's. */
	{
		char link[1200];
		snprintf(link, sizeof(link), "%s/log", fixdir);
		assert_int_equal(symlink(strrchr(log, '/') + 1, link), 0);
	}
	free(big);
	EVP_PKEY_free(x);
	EVP_PKEY_free(p);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_x25519),
		cmocka_unit_test(round_trip_p256),
		cmocka_unit_test(round_trip_rsa),
		cmocka_unit_test(known_answer),
		cmocka_unit_test(wrong_key),
		cmocka_unit_test(tampered_x25519),
		cmocka_unit_test(tampered_p256),
		cmocka_unit_test(tampered_fields),
		cmocka_unit_test(tampered_rsa),
		cmocka_unit_test(truncated),
		cmocka_unit_test(empty_payloads),
		cmocka_unit_test(large_payload),
		cmocka_unit_test(parts_rules),
		cmocka_unit_test(parts_parse),
		cmocka_unit_test(fit),
		cmocka_unit_test(threads),
		cmocka_unit_test(keys_from_files),
		cmocka_unit_test(record_aad),
		cmocka_unit_test(records),
		cmocka_unit_test(record_room),
		cmocka_unit_test(e2e_fixtures),
	};
	int rc;

	if (make_tmpdir(NULL) < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	EVP_PKEY_free(rsa3072);
	return rc;
}
