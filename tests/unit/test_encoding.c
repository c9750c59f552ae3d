/*
 * test_encoding.c - strict hex and base64 (RFC 4648 section 4) and the
 * constant-time comparison: the RFC test vectors, round trips checked
 * against OpenSSL's own encoder, and every non-canonical form that a
 * signature bundle must not be able to use (odd length, bad characters,
 * whitespace, '=' anywhere but the end, non-zero padding bits).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "palisade/buf.h"
#include "palisade/encoding.h"

/* Decodes s (len bytes) and expects exactly want (wlen bytes). */
static void
b64_ok(const char *s, size_t len, const char *want, size_t wlen)
{
	struct pal_err err = { 0 };
	uint8_t *out = NULL;
	size_t n = 99;

	if (pal_base64_decode(s, len, &out, &n, &err) != 0)
		fail_msg("'%.*s' refused: %s", (int)len, s, err.msg);
	assert_int_equal(n, wlen);
	assert_memory_equal(out, want, wlen);
	free(out);
}

/* Expects s to be refused with PAL_ERR_FORMAT and a message with what. */
static void
b64_bad(const char *s, size_t len, const char *what)
{
	struct pal_err err = { 0 };
	uint8_t *out = NULL;
	size_t n = 0;

	int rc = pal_base64_decode(s, len, &out, &n, &err);
	if (rc != PAL_ERR_FORMAT)
		fail_msg("'%.*s' gave %d, want PAL_ERR_FORMAT", (int)len, s,
			 rc);
	assert_null(out);
	if (strstr(err.msg, what) == NULL)
		fail_msg("'%.*s': message '%s' does not say '%s'", (int)len,
			 s, err.msg, what);
}

static void
hex_ok(const char *s, const uint8_t *want, size_t wlen)
{
	struct pal_err err = { 0 };
	uint8_t *out = NULL;
	size_t n = 99;

	if (pal_hex_decode(s, strlen(s), &out, &n, &err) != 0)
		fail_msg("'%s' refused: %s", s, err.msg);
	assert_int_equal(n, wlen);
	assert_memory_equal(out, want, wlen);
	free(out);
}

static void
hex_bad(const char *s, size_t len, const char *what)
{
	struct pal_err err = { 0 };
	uint8_t *out = NULL;
	size_t n = 0;

	int rc = pal_hex_decode(s, len, &out, &n, &err);
	if (rc != PAL_ERR_FORMAT)
		fail_msg("'%.*s' gave %d, want PAL_ERR_FORMAT", (int)len, s,
			 rc);
	assert_null(out);
	if (strstr(err.msg, what) == NULL)
		fail_msg("'%.*s': message '%s' does not say '%s'", (int)len,
			 s, err.msg, what);
}

#define B64_OK(s, w) b64_ok(s, sizeof(s) - 1, w, sizeof(w) - 1)
#define B64_BAD(s, what) b64_bad(s, sizeof(s) - 1, what)
#define HEX_BAD(s, what) hex_bad(s, sizeof(s) - 1, what)

static void
base64_rfc4648_vectors(void **state)
{
	static const char *const plain[] = {
		"", "f", "fo", "foo", "foob", "fooba", "foobar",
	};
	static const char *const enc[] = {
		"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
		"Zm9vYmFy",
	};
	(void)state;
	for (size_t i = 0; i < 7; i++) {
		struct pal_buf b;

		pal_buf_init(&b, 1024);
		assert_int_equal(pal_base64_encode((const uint8_t *)plain[i],
						   strlen(plain[i]), &b), 0);
		assert_int_equal(b.len, strlen(enc[i]));
		if (b.len > 0)
			assert_memory_equal(b.p, enc[i], b.len);
		pal_buf_free(&b);
		b64_ok(enc[i], strlen(enc[i]), plain[i], strlen(plain[i]));
	}
	/* Every alphabet character, including '+' and '/'. */
	B64_OK("+/+/", "\xfb\xff\xbf");
	B64_OK("AAAA", "\0\0\0");
	B64_OK("////", "\xff\xff\xff");
}

static void
base64_round_trips_match_openssl(void **state)
{
	uint8_t in[200];
	unsigned char ref[300];

	(void)state;
	for (size_t n = 0; n <= sizeof(in); n++) {
		struct pal_buf b;
		uint8_t *out = NULL;
		size_t m = 0;

		assert_int_equal(RAND_bytes(in, (int)sizeof(in)), 1);
		pal_buf_init(&b, 4096);
		assert_int_equal(pal_base64_encode(in, n, &b), 0);
		int rn = EVP_EncodeBlock(ref, in, (int)n);
		assert_int_equal(b.len, (size_t)rn);
		if (rn > 0)
			assert_memory_equal(b.p, ref, (size_t)rn);
		assert_int_equal(pal_base64_decode(b.p ? (char *)b.p : "",
						   b.len, &out, &m, NULL), 0);
		assert_int_equal(m, n);
		if (n > 0)
			assert_memory_equal(out, in, n);
		free(out);
		pal_buf_free(&b);
	}
}

static void
base64_rejects_bad_length(void **state)
{
	(void)state;
	B64_BAD("Z", "not a multiple of 4");
	B64_BAD("Zg", "not a multiple of 4");
	B64_BAD("Zg=", "not a multiple of 4");
	B64_BAD("Zm9vY", "not a multiple of 4");
	/* Unpadded forms of valid base64 are not accepted either. */
	B64_BAD("Zm8", "not a multiple of 4");
	B64_BAD("Zm9vYmE", "not a multiple of 4");
}

static void
base64_rejects_bad_characters(void **state)
{
	(void)state;
	/* URL-safe alphabet. */
	B64_BAD("Zm9-", "invalid base64 character at offset 3");
	B64_BAD("_m9v", "invalid base64 character at offset 0");
	B64_BAD("Zm9.", "invalid base64 character at offset 3");
	B64_BAD("Zm9v\x80xyz", "invalid base64 character at offset 4");
	B64_BAD("Zm9v\xffxyz", "invalid base64 character at offset 4");
	/* An embedded NUL inside the stated length. */
	b64_bad("Zm\0v", 4, "invalid base64 character at offset 2");
}

static void
base64_rejects_whitespace(void **state)
{
	(void)state;
	B64_BAD("Zm9v\nYmFy", "not a multiple of 4");
	B64_BAD("Zm9vYmF\n", "invalid base64 character at offset 7");
	B64_BAD("Zm9v\r\nYmFy  ", "invalid base64 character at offset 4");
	B64_BAD(" Zm9vYmF", "invalid base64 character at offset 0");
	B64_BAD("Zm 9", "invalid base64 character at offset 2");
	B64_BAD("Zm9\t", "invalid base64 character at offset 3");
	B64_BAD("    ", "invalid base64 character at offset 0");
}

static void
base64_rejects_misplaced_padding(void **state)
{
	(void)state;
	/* '=' in the middle of the string: a concatenation of two codes. */
	B64_BAD("Zg==Zm9v", "invalid base64 character at offset 2");
	B64_BAD("Zm8=Zm9v", "invalid base64 character at offset 3");
	/* '=' in the middle of the last quantum. */
	B64_BAD("Zg=A", "invalid base64 character at offset 2");
	B64_BAD("Z=g=", "invalid base64 character at offset 1");
	/* More than two '=', or a quantum of padding only. */
	B64_BAD("Z===", "invalid base64 character at offset 1");
	B64_BAD("====", "invalid base64 character at offset 0");
	B64_BAD("Zm9v====", "invalid base64 character at offset 4");
	B64_BAD("=Zm9", "invalid base64 character at offset 0");
}

static void
base64_rejects_noncanonical_padding_bits(void **state)
{
	(void)state;
	/*
	 * "Zg==" is 'f'; "Zh==" .. "Zv==" carry the same byte with non-zero
	 * bits in the 4 bits that padding drops.
	 */
	B64_BAD("Zh==", "non-canonical");
	B64_BAD("Zv==", "non-canonical");
	B64_BAD("Z/==", "non-canonical");
	/* "Zm8=" is "fo"; "Zm9=" sets one of the 2 dropped bits. */
	B64_BAD("Zm9=", "non-canonical");
	B64_BAD("Zm/=", "non-canonical");
	B64_BAD("Zm9vYh==", "non-canonical");
	/* The canonical neighbours are accepted. */
	B64_OK("Zg==", "f");
	B64_OK("Zm8=", "fo");
	B64_OK("Zw==", "g");
	B64_OK("Zm4=", "fn");
}

static void
hex_round_trips(void **state)
{
	uint8_t in[64];
	char s[129];

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(in); n++) {
		uint8_t *out = NULL;
		size_t m = 99;

		pal_hex_encode(in, n, s);
		assert_int_equal(strlen(s), 2 * n);
		assert_int_equal(strspn(s, "0123456789abcdef"), 2 * n);
		assert_int_equal(pal_hex_decode(s, 2 * n, &out, &m, NULL), 0);
		assert_int_equal(m, n);
		if (n > 0)
			assert_memory_equal(out, in, n);
		free(out);
	}
	pal_hex_encode((const uint8_t *)"\x00\x01\xab\xff", 4, s);
	assert_string_equal(s, "0001abff");
	hex_ok("", NULL, 0);
	hex_ok("00ff", (const uint8_t *)"\x00\xff", 2);
	hex_ok("DEADbeef", (const uint8_t *)"\xde\xad\xbe\xef", 4);
	hex_ok("0123456789abcdefABCDEF",
	       (const uint8_t *)"\x01\x23\x45\x67\x89\xab\xcd\xef\xab\xcd\xef",
	       11);
}

static void
hex_rejects(void **state)
{
	(void)state;
	HEX_BAD("a", "odd length 1");
	HEX_BAD("abc", "odd length 3");
	HEX_BAD("0g", "not a hex digit at offset 1");
	HEX_BAD("g0", "not a hex digit at offset 0");
	HEX_BAD("00 0", "not a hex digit at offset 2");
	HEX_BAD(" 000", "not a hex digit at offset 0");
	HEX_BAD("0x00", "not a hex digit at offset 1");
	HEX_BAD("00\n0", "not a hex digit at offset 2");
	HEX_BAD("-1", "not a hex digit at offset 0");
	HEX_BAD("\xff\xff", "not a hex digit at offset 0");
	hex_bad("00\0" "0", 4, "not a hex digit at offset 2");
	/* The characters just outside each range. */
	HEX_BAD("/0", "offset 0");
	HEX_BAD(":0", "offset 0");
	HEX_BAD("@0", "offset 0");
	HEX_BAD("G0", "offset 0");
	HEX_BAD("`0", "offset 0");
}

static void
ct_equal(void **state)
{
	uint8_t a[48], b[48];

	(void)state;
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)i;
	assert_int_equal(pal_ct_equal(a, b, sizeof(a)), 1);
	assert_int_equal(pal_ct_equal(a, b, 0), 1);
	b[0] ^= 1;
	assert_int_equal(pal_ct_equal(a, b, sizeof(a)), 0);
	assert_int_equal(pal_ct_equal(a + 1, b + 1, sizeof(a) - 1), 1);
	b[0] ^= 1;
	b[47] ^= 0x80;
	assert_int_equal(pal_ct_equal(a, b, sizeof(a)), 0);
	assert_int_equal(pal_ct_equal(a, b, sizeof(a) - 1), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base64_rfc4648_vectors),
		cmocka_unit_test(base64_round_trips_match_openssl),
		cmocka_unit_test(base64_rejects_bad_length),
		cmocka_unit_test(base64_rejects_bad_characters),
		cmocka_unit_test(base64_rejects_whitespace),
		cmocka_unit_test(base64_rejects_misplaced_padding),
		cmocka_unit_test(base64_rejects_noncanonical_padding_bits),
		cmocka_unit_test(hex_round_trips),
		cmocka_unit_test(hex_rejects),
		cmocka_unit_test(ct_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
