/*
 * test_pkcs11_uri.c - RFC 7512 URI parsing: every attribute decoded into
 * its field, the limits at their edges, and each malformed URI refused
 * with its own message, which never quotes the PIN.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "palisade/pkcs11.h"

static struct pal_p11_uri *
parse_ok(const char *s)
{
	struct pal_p11_uri *u = NULL;
	struct pal_err err;

	pal_err_clear(&err);
	if (pal_p11_uri_parse(s, strlen(s), &u, &err) != 0)
		fail_msg("%s: %s", s, err.msg);
	assert_non_null(u);
	return u;
}

/* Parses s, expecting code and a message containing want. */
static void
parse_bad(const char *s, size_t len, int code, const char *want)
{
	struct pal_p11_uri *u = (struct pal_p11_uri *)&u;
	struct pal_err err;
	int rc;

	pal_err_clear(&err);
	rc = pal_p11_uri_parse(s, len, &u, &err);
	if (rc != code || strstr(err.msg, want) == NULL)
		fail_msg("'%.*s': rc %d msg '%s', want %d '%s'",
			 (int)(len > 200 ? 200 : len), s, rc, err.msg, code,
			 want);
	assert_null(u);
	assert_int_equal(err.code, code);
}

static void
every_attribute_lands_in_its_field(void **state)
{
	static const uint8_t id[] = { 0x01, 0x02, 0xff, 'A' };
	struct pal_p11_uri *u;

	(void)state;
	u = parse_ok("pkcs11:token=pal%20isade;manufacturer=SoftHSM%20project;"
		     "serial=0123abcd;model=SoftHSM%20v2;"
		     "slot-description=SoftHSM%20slot%20ID%200x1;"
		     "slot-manufacturer=SoftHSM;slot-id=4294967296;"
		     "library-manufacturer=SoftHSM;"
		     "library-description=Implementation%20of%20PKCS11;"
		     "library-version=2.6;object=signing&key;id=%01%02%fFA;"
		     "type=private"
		     "?module-path=/usr/lib/softhsm/libsofthsm2.so"
		     "&pin-value=12%2634?|");
	assert_string_equal(u->token, "pal isade");
	assert_string_equal(u->manufacturer, "SoftHSM project");
	assert_string_equal(u->serial, "0123abcd");
	assert_string_equal(u->model, "SoftHSM v2");
	assert_string_equal(u->slot_description, "SoftHSM slot ID 0x1");
	assert_string_equal(u->slot_manufacturer, "SoftHSM");
	assert_true(u->has_slot_id);
	assert_true(u->slot_id == 4294967296UL);
	assert_string_equal(u->lib_manufacturer, "SoftHSM");
	assert_string_equal(u->lib_description, "Implementation of PKCS11");
	assert_true(u->has_lib_version);
	assert_int_equal(u->lib_major, 2);
	assert_int_equal(u->lib_minor, 6);
	assert_string_equal(u->object, "signing&key");
	assert_int_equal(u->id_len, sizeof(id));
	assert_memory_equal(u->id, id, sizeof(id));
	assert_int_equal(u->type, PAL_P11_TYPE_PRIVATE);
	assert_string_equal(u->module_path, "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(u->pin_value, "12&34?|");
	assert_null(u->pin_source);
	assert_null(u->module_name);
	pal_p11_uri_free(u);
}

static void
absent_attributes_stay_absent(void **state)
{
	struct pal_p11_uri *u;

	(void)state;
	u = parse_ok("pkcs11:");
	assert_null(u->token);
	assert_null(u->object);
	assert_null(u->id);
	assert_int_equal(u->id_len, 0);
	assert_false(u->has_slot_id);
	assert_false(u->has_lib_version);
	assert_int_equal(u->type, PAL_P11_TYPE_ANY);
	assert_null(u->module_path);
	assert_null(u->pin_value);
	pal_p11_uri_free(u);
	/* The grammar allows an empty query. */
	u = parse_ok("pkcs11:object=k?");
	assert_string_equal(u->object, "k");
	pal_p11_uri_free(u);
	u = parse_ok("pkcs11:?pin-source=file:/run/pin&module-name=softhsm2");
	assert_null(u->object);
	assert_string_equal(u->pin_source, "file:/run/pin");
	assert_string_equal(u->module_name, "softhsm2");
	pal_p11_uri_free(u);
}

static void
types_and_versions(void **state)
{
	static const struct {
		const char *s;
		enum pal_p11_type t;
	} types[] = {
		{ "pkcs11:type=public", PAL_P11_TYPE_PUBLIC },
		{ "pkcs11:type=private", PAL_P11_TYPE_PRIVATE },
		{ "pkcs11:type=cert", PAL_P11_TYPE_CERT },
		{ "pkcs11:type=secret-key", PAL_P11_TYPE_SECRET_KEY },
		{ "pkcs11:type=data", PAL_P11_TYPE_DATA },
	};
	struct pal_p11_uri *u;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		u = parse_ok(types[i].s);
		assert_int_equal(u->type, types[i].t);
		pal_p11_uri_free(u);
	}
	u = parse_ok("pkcs11:library-version=3");
	assert_int_equal(u->lib_major, 3);
	assert_int_equal(u->lib_minor, 0);
	pal_p11_uri_free(u);
	u = parse_ok("pkcs11:library-version=255.255;slot-id=0");
	assert_int_equal(u->lib_major, 255);
	assert_int_equal(u->lib_minor, 255);
	assert_true(u->has_slot_id);
	assert_true(u->slot_id == 0);
	pal_p11_uri_free(u);
}

/* Each field takes exactly its limit and refuses one byte more. */
static void
limits_at_their_edges(void **state)
{
	static const struct {
		const char *name;
		size_t max;
	} lim[] = {
		{ "token", 32 }, { "manufacturer", 32 }, { "serial", 16 },
		{ "model", 16 }, { "slot-description", 64 },
		{ "slot-manufacturer", 32 }, { "library-manufacturer", 32 },
		{ "library-description", 32 }, { "object", 255 },
		{ "id", 255 },
	};
	char s[1024];
	struct pal_p11_uri *u;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		n = (size_t)snprintf(s, sizeof(s), "pkcs11:%s=", lim[i].name);
		memset(s + n, 'a', lim[i].max);
		s[n + lim[i].max] = '\0';
		u = parse_ok(s);
		pal_p11_uri_free(u);
		/* Percent escapes count once, as the byte they stand for. */
		memcpy(s + n, "%61", 3);
		memset(s + n + 3, 'a', lim[i].max - 1);
		s[n + 3 + lim[i].max - 1] = '\0';
		u = parse_ok(s);
		pal_p11_uri_free(u);
		memset(s + n, 'a', lim[i].max + 1);
		s[n + lim[i].max + 1] = '\0';
		parse_bad(s, strlen(s), PAL_ERR_LIMIT, "is longer than");
	}
	memcpy(s, "pkcs11:?pin-value=", 18);
	memset(s + 18, '1', 256);
	s[18 + 256] = '\0';
	parse_bad(s, strlen(s), PAL_ERR_LIMIT, "pin-value is longer than 255");
}

static void
malformed_uris_are_refused(void **state)
{
	static const struct {
		const char *s;
		int code;
		const char *msg;
	} bad[] = {
		{ "", PAL_ERR_FORMAT, "must start with \"pkcs11:\"" },
		{ "pkcs11", PAL_ERR_FORMAT, "must start with" },
		{ "PKCS11:token=a", PAL_ERR_FORMAT, "must start with" },
		{ "file:/etc/key.pem", PAL_ERR_FORMAT, "must start with" },
		{ "pkcs11:token=a;token=b", PAL_ERR_FORMAT,
		  "offset 15: token given twice" },
		{ "pkcs11:object=a?pin-value=1&pin-value=2", PAL_ERR_FORMAT,
		  "pin-value given twice" },
		{ "pkcs11:token=a;;object=b", PAL_ERR_FORMAT,
		  "offset 15: empty path attribute" },
		{ "pkcs11:token=a;", PAL_ERR_FORMAT, "empty path attribute" },
		{ "pkcs11:;", PAL_ERR_FORMAT, "empty path attribute" },
		{ "pkcs11:?&", PAL_ERR_FORMAT, "empty query attribute" },
		{ "pkcs11:object=a?pin-value=1&", PAL_ERR_FORMAT,
		  "empty query attribute" },
		{ "pkcs11:token", PAL_ERR_FORMAT, "without '='" },
		{ "pkcs11:object=a?module-path", PAL_ERR_FORMAT,
		  "query attribute without '='" },
		{ "pkcs11:=a", PAL_ERR_FORMAT, "malformed path attribute name" },
		{ "pkcs11:to%6ben=a", PAL_ERR_FORMAT, "malformed path" },
		{ "pkcs11:token=", PAL_ERR_FORMAT, "empty token value" },
		{ "pkcs11:token=a b", PAL_ERR_FORMAT,
		  "offset 14: character 0x20 must be percent-encoded in token" },
		{ "pkcs11:object=a/b", PAL_ERR_FORMAT, "0x2f must be" },
		{ "pkcs11:object=a?b", PAL_ERR_FORMAT,
		  "query attribute without '='" },
		{ "pkcs11:object=a\"b", PAL_ERR_FORMAT, "0x22 must be" },
		{ "pkcs11:object=a#b", PAL_ERR_FORMAT, "0x23 must be" },
		{ "pkcs11:object=\xc3\xa9", PAL_ERR_FORMAT, "0xc3 must be" },
		{ "pkcs11:object=a?module-path=/x;y", PAL_ERR_FORMAT,
		  "0x3b must be percent-encoded in module-path" },
		{ "pkcs11:object=a?module-path=/x&y", PAL_ERR_FORMAT,
		  "query attribute without '='" },
		{ "pkcs11:token=%4", PAL_ERR_FORMAT,
		  "offset 13: bad percent escape in token" },
		{ "pkcs11:token=a%", PAL_ERR_FORMAT, "bad percent escape" },
		{ "pkcs11:token=%zz", PAL_ERR_FORMAT, "bad percent escape" },
		{ "pkcs11:token=%+1", PAL_ERR_FORMAT, "bad percent escape" },
		{ "pkcs11:token=a%00b", PAL_ERR_FORMAT, "invalid token value" },
		{ "pkcs11:object=%00", PAL_ERR_FORMAT, "invalid object value" },
		{ "pkcs11:foo=bar", PAL_ERR_UNSUPPORTED,
		  "unknown path attribute 'foo'" },
		{ "pkcs11:x-vendor=1", PAL_ERR_UNSUPPORTED,
		  "unknown path attribute 'x-vendor'" },
		{ "pkcs11:object=a?x-pin-prompt=1", PAL_ERR_UNSUPPORTED,
		  "unknown query attribute 'x-pin-prompt'" },
		{ "pkcs11:module-path=/x", PAL_ERR_UNSUPPORTED,
		  "unknown path attribute 'module-path'" },
		{ "pkcs11:?object=a", PAL_ERR_UNSUPPORTED,
		  "unknown query attribute 'object'" },
		{ "pkcs11:object=a?pin-value=1&pin-source=/p", PAL_ERR_FORMAT,
		  "both pin-source and pin-value" },
		{ "pkcs11:type=key", PAL_ERR_FORMAT, "invalid type value" },
		{ "pkcs11:type=Private", PAL_ERR_FORMAT, "invalid type value" },
		{ "pkcs11:type=%70rivate", PAL_ERR_FORMAT,
		  "type must not be percent-encoded" },
		{ "pkcs11:library-version=1.2.3", PAL_ERR_FORMAT,
		  "invalid library-version" },
		{ "pkcs11:library-version=256", PAL_ERR_FORMAT,
		  "invalid library-version" },
		{ "pkcs11:library-version=1.", PAL_ERR_FORMAT,
		  "invalid library-version" },
		{ "pkcs11:library-version=.1", PAL_ERR_FORMAT,
		  "invalid library-version" },
		{ "pkcs11:library-version=%31", PAL_ERR_FORMAT,
		  "must not be percent-encoded" },
		{ "pkcs11:slot-id=18446744073709551616", PAL_ERR_FORMAT,
		  "invalid slot-id" },
		{ "pkcs11:slot-id=-1", PAL_ERR_FORMAT, "invalid slot-id" },
		{ "pkcs11:slot-id=0x10", PAL_ERR_FORMAT, "invalid slot-id" },
		{ "pkcs11:slot-id=+1", PAL_ERR_FORMAT, "invalid slot-id" },
		{ "pkcs11:slot-id=123456789012345678901", PAL_ERR_LIMIT,
		  "slot-id is longer than 20" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i].s, strlen(bad[i].s), bad[i].code,
			  bad[i].msg);
}

static void
nul_bytes_and_length_are_refused(void **state)
{
	static const char nul[] = "pkcs11:token=a\0b";
	char *big;

	(void)state;
	parse_bad(nul, sizeof(nul) - 1, PAL_ERR_FORMAT, "NUL byte");
	big = malloc(PAL_P11_URI_MAX + 2);
	assert_non_null(big);
	memcpy(big, "pkcs11:?module-path=/", 21);
	memset(big + 21, 'a', PAL_P11_URI_MAX + 1 - 21);
	big[PAL_P11_URI_MAX + 1] = '\0';
	parse_bad(big, PAL_P11_URI_MAX + 1, PAL_ERR_LIMIT,
		  "longer than 8192 bytes");
	/* Long enough for the URI cap, too long for a path. */
	parse_bad(big, 5000, PAL_ERR_LIMIT, "module-path is longer than");
	free(big);
}

/* No error message, whatever the mistake, repeats the PIN. */
static void
messages_never_quote_the_pin(void **state)
{
	static const char *const uris[] = {
		"pkcs11:object=a?pin-value=S3CRETPIN&bogus=1",
		"pkcs11:object=a?pin-value=S3CRETPIN%zz",
		"pkcs11:object=a?pin-value=S3CRETPIN;x",
		"pkcs11:object=a?pin-value=S3CRETPIN&pin-value=S3CRETPIN",
		"pkcs11:object=a?pin-value=S3CRETPIN%00",
		"pkcs11:object=a?pin-value=S3CRETPIN&pin-source=/p",
		"pkcs11:object=a?pin-value=S3CRETPIN&=S3CRETPIN",
		"pkcs11:object=a?pin-value=S3CRETPIN&S3CRETPIN",
	};
	struct pal_p11_uri *u;
	struct pal_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		pal_err_clear(&err);
		assert_true(pal_p11_uri_parse(uris[i], strlen(uris[i]), &u,
					      &err) < 0);
		assert_true(err.msg[0] != '\0');
		if (strstr(err.msg, "S3CRET") != NULL)
			fail_msg("%s: %s", uris[i], err.msg);
	}
}

static void
percent_escapes_decode_in_either_case(void **state)
{
	struct pal_p11_uri *u;

	(void)state;
	u = parse_ok("pkcs11:object=%2f%2F%7e~?module-path=%2Fa%20b");
	assert_string_equal(u->object, "//~~");
	assert_string_equal(u->module_path, "/a b");
	pal_p11_uri_free(u);
	/* '=' may appear in a value: only the first one splits. */
	u = parse_ok("pkcs11:object=a=b?pin-source=/run/p=1");
	assert_string_equal(u->object, "a=b");
	assert_string_equal(u->pin_source, "/run/p=1");
	pal_p11_uri_free(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_attribute_lands_in_its_field),
		cmocka_unit_test(absent_attributes_stay_absent),
		cmocka_unit_test(types_and_versions),
		cmocka_unit_test(limits_at_their_edges),
		cmocka_unit_test(malformed_uris_are_refused),
		cmocka_unit_test(nul_bytes_and_length_are_refused),
		cmocka_unit_test(messages_never_quote_the_pin),
		cmocka_unit_test(percent_escapes_decode_in_either_case),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
