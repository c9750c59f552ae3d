/*
 * fuzz_payload.c - opening sealed payloads (payload.h), which the
 * operator does on bytes anyone who can write the log could have made.
 * The first byte says what the rest is:
 *
 *	0, 1, 2	a sealed payload's bytes, opened with the X25519, P-256 or
 *		RSA-3072 key of payload_fuzz_keys.h, with the AAD "fuzz"
 *	3	a plaintext of parts
 *	4	a serve.request log entry, opened with the X25519 key
 *
 * Every refusal must say why.  What opens must hold together: the parts
 * lie in the plaintext, fill it, and frame back to exactly its bytes; a
 * record's whole request and response parts hash to its digests.  The
 * seeds are sealed to these keys by python-cryptography from
 * docs/formats/payload.md, so that the fuzzer starts past the tag.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "palisade/payload.h"
#include "payload_fuzz_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *keys[3];

static EVP_PKEY *
load(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (k == NULL)
		abort();
	return k;
}

/* The views must tile the plaintext and frame back to it. */
static void
check_parts(const uint8_t *plain, size_t len,
	    const struct pal_payload_view *v, size_t n)
{
	struct pal_payload_part p[PAL_PAYLOAD_PARTS_MAX];
	struct pal_buf b;

	if (n > PAL_PAYLOAD_PARTS_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (v[i].len > v[i].total || (v[i].len > 0 &&
		    (v[i].data < plain || v[i].data + v[i].len > plain + len)))
			abort();
		p[i] = (struct pal_payload_part){ v[i].name, v[i].data,
						  v[i].len, v[i].total };
	}
	pal_buf_init(&b, len + 1);
	if (pal_payload_parts_encode(p, n, &b, NULL) != 0 || b.len != len ||
	    (len > 0 && memcmp(b.p, plain, len) != 0))
		abort();
	pal_buf_free(&b);
}

static void
sealed(EVP_PKEY *key, const uint8_t *data, size_t size)
{
	struct pal_payload_opened *o = NULL;
	struct pal_err err = { 0 };

	if (pal_payload_open_bin(key, (const uint8_t *)"fuzz", 4, data, size,
				 &o, &err) != 0) {
		if (o != NULL || err.msg[0] == '\0')
			abort();
		return;
	}
	check_parts(o->plain, o->plain_len, o->part, o->n);
	pal_payload_opened_free(o);
}

static void
parts(const uint8_t *data, size_t size)
{
	struct pal_payload_view v[PAL_PAYLOAD_PARTS_MAX];
	struct pal_err err = { 0 };
	size_t n = 0;

	if (pal_payload_parts_parse(data, size, v, PAL_PAYLOAD_PARTS_MAX, &n,
				    &err) != 0) {
		if (n != 0 || err.msg[0] == '\0')
			abort();
		return;
	}
	check_parts(data, size, v, n);
}

static void
record(const uint8_t *data, size_t size)
{
	struct pal_payload_record *rec = NULL;
	struct pal_err err = { 0 };

	if (pal_payload_record_open(keys[0], data, size, &rec, &err) != 0) {
		if (rec != NULL || err.msg[0] == '\0')
			abort();
		return;
	}
	for (size_t i = 0; i < rec->opened->n; i++) {
		const struct pal_payload_view *v = &rec->opened->part[i];
		int named = strcmp(v->name, "request") == 0 ||
			    strcmp(v->name, "response") == 0;
		if (named != (rec->check[i] != PAL_PAYLOAD_UNCHECKED) ||
		    (rec->check[i] == PAL_PAYLOAD_TRUNCATED) !=
			    (named && v->len < v->total))
			abort();
	}
	pal_payload_record_free(rec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (keys[0] == NULL) {
		keys[0] = load(fuzz_x25519_pem);
		keys[1] = load(fuzz_p256_pem);
		keys[2] = load(fuzz_rsa_pem);
	}
	if (size == 0)
		return 0;
	switch (data[0]) {
	case 0:
	case 1:
	case 2:
		sealed(keys[data[0]], data + 1, size - 1);
		break;
	case 3:
		parts(data + 1, size - 1);
		break;
	case 4:
		record(data + 1, size - 1);
		break;
	}
	return 0;
}
