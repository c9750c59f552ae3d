/*
 * test_safetensors.c - the safetensors scanner: files laid out as the
 * reference writer lays them out scan clean; each violation of the Rust
 * crate's rules ends in the expected error, and each way of hiding data
 * (gaps, trailing bytes, duplicate and ignored keys) in the expected
 * finding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scan_fixture.h"

/* Scans data as a safetensors file in a fresh session. */
static struct pal_scan *
scan(struct fixture *f, const void *data, size_t len)
{
	return scan_fixture_scan_as(f, "m.safetensors", data, len,
	    PAL_FMT_SAFETENSORS);
}

static void
assert_clean(const struct pal_scan *s, const char *what)
{
	assert_clean_as(s, what, "safetensors");
}


/* A file from h bytes of header text and n data bytes. */
static uint8_t *
make(const char *json, size_t h, size_t n, size_t *len)
{
	size_t i;
	uint8_t *p = malloc(8 + h + n + 1);

	assert_non_null(p);
	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)((uint64_t)h >> (8 * i));
	memcpy(p + 8, json, h);
	memset(p + 8 + h, 0x22, n);
	*len = 8 + h + n;
	return p;
}

static struct pal_scan *
scan_json(struct fixture *f, const char *json, size_t n)
{
	struct pal_scan *s;
	size_t len;
	uint8_t *p;

	p = make(json, strlen(json), n, &len);
	s = scan(f, p, len);
	free(p);
	return s;
}

#define T(name, dtype, shape, b, e) \
	"\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape \
	",\"data_offsets\":[" #b "," #e "]}"

static void
real_files_scan_clean(void **state)
{
	static const char *const files[] = {
		"tensors/st_basic.safetensors", "tensors/st_empty.safetensors",
		"tensors/st_fp4.safetensors",
	};
	size_t i, len;
	uint8_t *p;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		p = load(files[i], &len);
		assert_clean(scan(*state, p, len), files[i]);
		free(p);
	}
}

static void
accepted_layouts(void **state)
{
	struct fixture *f = *state;

	/* Any key order; offsets need not follow it; padding spaces. */
	assert_clean(scan_json(f, "{" T("b", "F32", "[2]", 8, 16) ","
	    T("a", "U8", "[8]", 0, 8) "}        ", 16), "out of order");
	assert_clean(scan_json(f, "{\"__metadata__\":null,"
	    T("a", "I16", "[2,2]", 0, 8) "}", 8), "null metadata");
	assert_clean(scan_json(f, "{\"__metadata__\":{\"format\":\"pt\","
	    "\"note\":\"\"}}", 0), "only metadata");
	assert_clean(scan_json(f, "{" T("z", "F64", "[0,5]", 0, 0) ","
	    T("s", "C64", "[]", 0, 8) "}", 8), "empty and scalar");
	assert_clean(scan_json(f, "{" T("x", "F6_E2M3", "[4]", 0, 3) ","
	    T("y", "F8_E4M3", "[1]", 3, 4) "}\n\t ", 4), "6-bit");
}

static void
header_errors(void **state)
{
	struct fixture *f = *state;
	uint8_t *p;
	size_t len;

	assert_error(scan(f, "\x02\x00\x00", 3), "ends in the header length");
	assert_error(scan(f, "\x00\xe2\xf5\x05\x00\x00\x00\x00{}", 10),
	    "header length 100000256 at offset 0 exceeds 100000000");
	assert_error(scan(f, "\x00\x00\x00\x00\x00\x00\x00\x80{}", 10),
	    "exceeds");
	assert_error(scan(f, "\x08\x00\x00\x00\x00\x00\x00\x00{}", 10),
	    "header length 8 at offset 0, but only 2 bytes follow");
	assert_error(scan(f, "\x00\x00\x00\x00\x00\x00\x00\x00", 8),
	    "does not start with '{'");
	assert_error(scan_json(f, " {}", 0), "does not start with '{'");
	assert_error(scan_json(f, "{\"\xff\":1}", 0), "not valid UTF-8");
	assert_error(scan_json(f, "{\"a\":", 0), "header JSON near offset");
	p = make("{}\0\0", 4, 0, &len);
	assert_error(scan(f, p, len), "header JSON");
	free(p);
	assert_error(scan_json(f, "{} x", 0), "header JSON");
	assert_error(scan_json(f, "{\"a\\u0000b\":{}}", 0), "header JSON");
}

static const struct {
	const char *json;
	size_t n;
	const char *err;
} bad[] = {
	{ "{" T("w", "F128", "[2]", 0, 8) "}", 8, "tensor 'w': unknown dtype "
	    "'F128'" },
	{ "{" T("w", "f32", "[2]", 0, 8) "}", 8, "unknown dtype 'f32'" },
	{ "{" T("w", "F32", "[-2]", 0, 8) "}", 8, "shape[0] is not a "
	    "non-negative integer" },
	{ "{" T("w", "F32", "[2.0]", 0, 8) "}", 8, "shape[0]" },
	{ "{" T("w", "F32", "[2,\"3\"]", 0, 8) "}", 8, "shape[1]" },
	{ "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":"
	    "[0,8,8]}}", 8, "data_offsets is not a pair" },
	{ "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":"
	    "[0,1e30]}}", 8, "data_offsets is not a pair" },
	{ "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":"
	    "[0,99999999999999999999]}}", 8, "header JSON" },
	{ "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "lacks a string "
	    "dtype, a shape array or a data_offsets array" },
	{ "{\"w\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
	    "tensor 'w' lacks" },
	{ "{\"format\":\"pt\"}", 0, "'format' is not a tensor entry" },
	{ "{" T("w", "F32", "[2]", 8, 0) "}", 8, "data_offsets [8, 0] end "
	    "before they begin" },
	{ "{" T("w", "F32", "[4]", 0, 16) "}", 12, "tensor 'w': data_offsets "
	    "[0, 16] beyond the 12-byte data buffer" },
	{ "{" T("w", "F32", "[4]", 0, 12) "}", 12, "dtype F32 and shape make "
	    "16 bytes, but data_offsets [0, 12] span 12" },
	{ "{" T("a", "U8", "[16]", 0, 16) "," T("b", "U8", "[16]", 8, 24)
	    "}", 24, "tensor 'b' [8, 24] overlaps tensor 'a' [0, 16]" },
	{ "{" T("a", "U8", "[16]", 0, 16) "," T("b", "U8", "[0]", 8, 8)
	    "}", 16, "tensor 'b' [8, 8] overlaps" },
	{ "{" T("w", "U8", "[4294967296,4294967296,2]", 0, 8) "}", 8,
	    "element count overflows 64 bits" },
	{ "{" T("w", "F64", "[2305843009213693952]", 0, 8) "}", 8,
	    "size in bits overflows 64 bits" },
	{ "{" T("w", "F4", "[3]", 0, 2) "}", 2, "3 elements of 4 bits do not "
	    "fill whole bytes" },
	{ "{\"__metadata__\":{\"n\":1}}", 0, "__metadata__ value of 'n' is "
	    "not a string" },
	{ "{\"__metadata__\":[\"a\"]}", 0, "__metadata__ is not a map" },
	{ "{" T("\\u001b[2J", "F128", "[2]", 0, 8) "}", 8, "tensor "
	    "'\\x1b[2J'" },
};

static void
violations_are_errors(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("case %zu\n", i);
		assert_error(scan_json(*state, bad[i].json, bad[i].n),
		    bad[i].err);
	}
}

static void
duplicate_keys_are_findings(void **state)
{
	struct pal_scan *s;

	s = scan_json(*state, "{" T("w", "U8", "[4]", 0, 4) ","
	    T("w", "U8", "[8]", 0, 8) "}", 8);
	assert_int_equal(count_rule(s, "safetensors.duplicate-key"), 1);
	assert_int_equal(pal_scan_result(s, 0)->status, PAL_ITEM_FINDINGS);
	assert_non_null(strstr(pal_scan_result(s, 0)->detail,
	    "duplicate object key"));
	s = scan_json(*state, "{\"w\":{\"dtype\":\"U8\",\"dtype\":\"F32\","
	    "\"shape\":[4],\"data_offsets\":[0,4]}}", 4);
	assert_int_equal(count_rule(s, "safetensors.duplicate-key"), 1);
}

static void
unreferenced_bytes_are_findings(void **state)
{
	const struct pal_finding *fd;
	struct pal_scan *s;
	size_t hl;
	const char *json = "{" T("a", "U8", "[8]", 0, 8) ","
	    T("b", "U8", "[8]", 16, 24) "}";

	hl = strlen(json);
	s = scan_json(*state, json, 24);
	fd = finding(s, "safetensors.unreferenced-data");
	assert_non_null(strstr(fd->reason, "8 bytes of the data buffer "
	    "[8, 16) before tensor 'b' belong to no tensor"));
	{
		char want[32];

		snprintf(want, sizeof(want), "offset %zu", 8 + hl + 8);
		assert_string_equal(fd->location, want);
	}
	assert_int_equal(pal_scan_nfindings(s), 1);
	assert_int_equal(pal_scan_result(s, 0)->status, PAL_ITEM_FINDINGS);

	/* Data and no tensors at all is all trailing. */
	s = scan_json(*state, "{}", 5);
	assert_int_equal(count_rule(s, "safetensors.trailing-data"), 1);
}

static void
trailing_bytes_are_found_and_scanned(void **state)
{
	static const uint8_t eocd[22] = "PK\x05\x06";
	const struct pal_scan_result *child;
	struct pal_scan *s;
	uint8_t *p;
	size_t len;

	s = scan_json(*state, "{" T("a", "U8", "[8]", 0, 8) "}", 12);
	assert_non_null(strstr(finding(s, "safetensors.trailing-data")->reason,
	    "4 bytes follow the last tensor's data"));
	assert_int_equal(pal_scan_nresults(s), 2);
	assert_string_equal(pal_scan_result(s, 1)->name,
	    "m.safetensors!<trailing data>");

	/* A zip appended to real weights: found, then scanned as a zip. */
	p = load("tensors/st_basic.safetensors", &len);
	p = realloc(p, len + sizeof(eocd));
	assert_non_null(p);
	memcpy(p + len, eocd, sizeof(eocd));
	s = scan(*state, p, len + sizeof(eocd));
	free(p);
	assert_int_equal(count_rule(s, "safetensors.trailing-data"), 1);
	child = pal_scan_result(s, 1);
	assert_non_null(child);
	assert_string_equal(child->format, "zip");
}

static void
ignored_keys_are_findings(void **state)
{
	struct pal_scan *s;

	s = scan_json(*state, "{\"w\":{\"dtype\":\"U8\",\"shape\":[4],"
	    "\"data_offsets\":[0,4],\"payload\":\"aW1wb3J0IG9z\"}}", 4);
	assert_int_equal(count_rule(s, "safetensors.unexpected-key"), 1);
	assert_non_null(strstr(finding(s, "safetensors.unexpected-key")->reason,
	    "tensor 'w' has the key 'payload'"));
	assert_int_equal(pal_scan_result(s, 0)->status, PAL_ITEM_FINDINGS);
}

/* The number of JSON values is capped before Jansson builds them. */
static void
value_count_is_bounded(void **state)
{
	static const char head[] = "{\"w\":{\"dtype\":\"U8\",\"data_offsets\":"
	    "[0,0],\"shape\":[";
	size_t n = 2200000, len, i;
	char *json = malloc(sizeof(head) + 2 * n + 8);
	char *q;

	assert_non_null(json);
	memcpy(json, head, sizeof(head) - 1);
	q = json + sizeof(head) - 1;
	for (i = 0; i < n; i++) {
		*q++ = '0';
		*q++ = ',';
	}
	memcpy(q, "0]}}", 5);
	len = strlen(json);
	assert_true(len > 4000000);
	assert_error(scan_json(*state, json, 0), "more than 2097152 JSON "
	    "values");
	free(json);
}

/* Every proper prefix of a real file is an error, never clean. */
static void
truncations_are_errors(void **state)
{
	const struct pal_scan_result *r;
	size_t n, len;
	uint8_t *p;

	p = load("tensors/st_basic.safetensors", &len);
	for (n = 0; n < len; n++) {
		uint8_t *cut = malloc(n + 1);

		assert_non_null(cut);
		memcpy(cut, p, n);
		r = pal_scan_result(scan(*state, cut, n), 0);
		free(cut);
		if (r->status != PAL_ITEM_ERROR)
			fail_msg("cut at %zu: status %d", n, r->status);
	}
	free(p);
}

static void
bit_flips_do_not_crash(void **state)
{
	const struct pal_scan_result *r;
	size_t i, len;
	uint8_t *p;
	int bit;

	p = load("tensors/st_basic.safetensors", &len);
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			p[i] ^= (uint8_t)(1u << bit);
			r = pal_scan_result(scan(*state, p, len), 0);
			assert_true(r->status == PAL_ITEM_CLEAN ||
			    r->status == PAL_ITEM_ERROR ||
			    r->status == PAL_ITEM_FINDINGS);
			p[i] ^= (uint8_t)(1u << bit);
		}
	}
	free(p);
}

static void
rules_are_registered(void **state)
{
	static const char *const ids[] = {
		"safetensors.unreferenced-data", "safetensors.trailing-data",
		"safetensors.duplicate-key", "safetensors.unexpected-key",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		assert_non_null(pal_scan_rule(ids[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(real_files_scan_clean, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(accepted_layouts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(header_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(violations_are_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(duplicate_keys_are_findings,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    unreferenced_bytes_are_findings, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    trailing_bytes_are_found_and_scanned, setup, teardown),
		cmocka_unit_test_setup_teardown(ignored_keys_are_findings,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(value_count_is_bounded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(truncations_are_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(bit_flips_do_not_crash, setup,
		    teardown),
		cmocka_unit_test(rules_are_registered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
