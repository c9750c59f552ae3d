/*
 * test_npy.c - the NumPy .npy scanner: real files written by numpy scan
 * clean; object arrays reach the pickle scanner; every malformed or
 * hostile header, truncation and trailing payload ends in the expected
 * error or finding.
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

/* Scans data as an npy file in a fresh session. */
static struct pal_scan *
scan(struct fixture *f, const void *data, size_t len)
{
	return scan_fixture_scan_as(f, "t.npy", data, len, PAL_FMT_NPY);
}

static void
assert_clean(const struct pal_scan *s, const char *what)
{
	assert_clean_as(s, what, "npy");
}

/* An npy file from a header text and n bytes of 0x11 data. */
static uint8_t *
make(unsigned major, const char *header, size_t hlen, size_t n,
    size_t *len)
{
	size_t pre = major == 1 ? 10 : 12;
	uint8_t *p = malloc(pre + hlen + n + 1);

	assert_non_null(p);
	memcpy(p, "\x93NUMPY", 6);
	p[6] = (uint8_t)major;
	p[7] = 0;
	if (major == 1) {
		p[8] = (uint8_t)hlen;
		p[9] = (uint8_t)(hlen >> 8);
	} else {
		p[8] = (uint8_t)hlen;
		p[9] = (uint8_t)(hlen >> 8);
		p[10] = (uint8_t)(hlen >> 16);
		p[11] = (uint8_t)(hlen >> 24);
	}
	memcpy(p + pre, header, hlen);
	memset(p + pre + hlen, 0x11, n);
	*len = pre + hlen + n;
	return p;
}

/* Scans a version-major file with the header h and n data bytes. */
static struct pal_scan *
scan_hdr(struct fixture *f, unsigned major, const char *h, size_t n)
{
	struct pal_scan *s;
	uint8_t *p;
	size_t len;

	p = make(major, h, strlen(h), n, &len);
	s = scan(f, p, len);
	free(p);
	return s;
}

#define GOOD "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }"

static const char *const benign_files[] = {
	"tensors/npy_f4.npy", "tensors/npy_i8_be.npy", "tensors/npy_bool.npy",
	"tensors/npy_c16.npy", "tensors/npy_bytes.npy",
	"tensors/npy_unicode.npy", "tensors/npy_datetime.npy",
	"tensors/npy_timedelta.npy", "tensors/npy_fortran.npy",
	"tensors/npy_scalar.npy", "tensors/npy_empty.npy",
	"tensors/npy_f16.npy", "tensors/npy_struct.npy",
	"tensors/npy_struct_aligned.npy", "tensors/npy_v2.npy",
	"tensors/npy_v3.npy", "picklescan/data2/int_array.npy",
};

static void
real_files_scan_clean(void **state)
{
	size_t i, len;
	uint8_t *p;

	for (i = 0; i < sizeof(benign_files) / sizeof(benign_files[0]); i++) {
		p = load(benign_files[i], &len);
		assert_clean(scan(*state, p, len), benign_files[i]);
		free(p);
	}
}

/*
 * The child must be the pickle after the header, scanned as a pickle:
 * the benign arrays' pickles are clean, the exfiltrating one is not.
 */
static void
check_object_array(struct fixture *f, const char *rel, int malicious)
{
	const struct pal_scan_result *top, *child;
	struct pal_scan *s;
	size_t len;
	uint8_t *p;

	p = load(rel, &len);
	s = scan(f, p, len);
	free(p);
	assert_int_equal(pal_scan_nresults(s), 2);
	top = pal_scan_result(s, 0);
	child = pal_scan_result(s, 1);
	assert_int_equal(top->status, PAL_ITEM_CLEAN);
	assert_string_equal(child->name, "t.npy!<object array pickle>");
	assert_string_equal(child->format, "pickle");
	assert_int_equal(child->depth, 1);
	if (malicious)
		assert_int_equal(child->status, PAL_ITEM_FINDINGS);
	else
		assert_int_equal(child->status, PAL_ITEM_CLEAN);
}

static void
object_arrays_reach_the_pickle_scanner(void **state)
{
	check_object_array(*state, "picklescan/data2/object_array.npy", 0);
	check_object_array(*state, "picklescan/data2/dns_exfiltration.npy", 1);
	check_object_array(*state, "tensors/npy_object.npy", 0);
	check_object_array(*state, "tensors/npy_struct_object.npy", 0);
}

static void
object_dtypes_in_any_form(void **state)
{
	static const char *const hdrs[] = {
		"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
		"{'descr': '|O8', 'fortran_order': False, 'shape': (1,), }",
		"{'descr': 'O', 'fortran_order': False, 'shape': (), }",
		"{'descr': [('a', [('b', '|O')])], 'fortran_order': False, "
		    "'shape': (1,), }",
		"{'descr': [('a', '<i4'), ('b', '|O', (2,))], "
		    "'fortran_order': False, 'shape': (0,), }",
		"{'descr': ('|O', (2,)), 'fortran_order': False, "
		    "'shape': (1,), }",
	};
	const struct pal_scan_result *child;
	struct pal_scan *s;
	size_t i;

	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		s = scan_hdr(*state, 1, hdrs[i], 4);
		assert_int_equal(pal_scan_nresults(s), 2);
		child = pal_scan_result(s, 1);
		assert_string_equal(child->format, "pickle");
	}
}

static void
accepted_header_spellings(void **state)
{
	static const char *const hdrs[] = {
		GOOD,
		"{'shape': (3,), 'fortran_order': False, 'descr': '<i4'}",
		"{\"descr\": \"<i4\", \"fortran_order\": True, \"shape\": (3,)}",
		"{u'descr': u'<i4', 'fortran_order': False, 'shape': (3, )}",
		"  {'descr':'<i4','fortran_order':False,'shape':(3,)}\n",
		"{'descr': '<i4',\n 'fortran_order': False,\n"
		    " 'shape': (3,),\n}        \n",
		"{'\\x64escr': '\\u003ci4', 'fortran_order': False, "
		    "'sha\\160e': (3,)}",
		"{'descr': [('a', '<i2'), ('b', '<i2')], 'fortran_order': "
		    "False, 'shape': (3,)}",
		"{'descr': [('a', '|u1', 2), ('', '|V2')], 'fortran_order': "
		    "False, 'shape': (3,)}",
		"{'descr': [(('t', 'a'), '<i4',)], 'fortran_order': False, "
		    "'shape': (3,)}",
		"{'descr': ('<i2', (2,)), 'fortran_order': False, "
		    "'shape': (3,)}",
		"{'descr': '<i4', 'fortran_order': False, 'shape': (1, 3, 1)}",
		"{'descr': '<U1', 'fortran_order': False, 'shape': (3,)}",
		"{'descr': '|S12', 'fortran_order': False, 'shape': (1,)}",
		"{'descr': '<M8[D]', 'fortran_order': False, 'shape': (1,)}"
		    "    ",
	};
	size_t i;

	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		size_t n = strstr(hdrs[i], "M8") ? 8 : 12;

		assert_clean(scan_hdr(*state, 1, hdrs[i], n), hdrs[i]);
	}
	/* A Python 2 long in a version 1.0 header, as numpy still reads. */
	assert_clean(scan_hdr(*state, 1, "{'descr': '<i4', 'fortran_order': "
	    "False, 'shape': (3L,), }", 12), "3L");
	assert_clean(scan_hdr(*state, 2, GOOD, 12), "v2");
	assert_clean(scan_hdr(*state, 3, GOOD, 12), "v3");
	/* A zero dimension makes an empty array of any other size... */
	assert_clean(scan_hdr(*state, 1, "{'descr': '<i4', 'fortran_order': "
	    "False, 'shape': (9223372036854775807, 0), }", 0), "zero");
	/* ...but, as in numpy, not of an impossible one. */
	assert_error(scan_hdr(*state, 1, "{'descr': '<i4', 'fortran_order': "
	    "False, 'shape': (4294967296, 4294967296, 0), }", 0),
	    "product of the shape overflows");
}

static const struct {
	unsigned major;
	const char *hdr;
	const char *err;
} bad_headers[] = {
	{ 1, "{'descr': '<i4', 'fortran_order': False}", "missing key 'shape'" },
	{ 1, "{}", "missing key 'descr'" },
	{ 1, "{'descr': '<i4', 'shape': (3,)}", "missing key 'fortran_order'" },
	{ 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), "
	    "'evil': 1}", "unexpected key 'evil'" },
	{ 1, "{'descr': '<i4', 'descr': '|O', 'fortran_order': False, "
	    "'shape': (3,)}", "duplicate key 'descr' at offset 27" },
	{ 1, "{'descr': 'float32', 'fortran_order': False, 'shape': (3,)}",
	    "descr 'float32' is not a dtype numpy writes" },
	{ 1, "{'descr': '<i3', 'fortran_order': False, 'shape': (3,)}",
	    "descr '<i3'" },
	{ 1, "{'descr': '<M8[parsec]', 'fortran_order': False, "
	    "'shape': (3,)}", "descr '<M8[parsec]'" },
	{ 1, "{'descr': 'object', 'fortran_order': False, 'shape': (3,)}",
	    "descr 'object'" },
	{ 1, "{'descr': '', 'fortran_order': False, 'shape': (3,)}",
	    "descr ''" },
	{ 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3)}",
	    "parenthesized integer" },
	{ 1, "{'descr': '<i4', 'fortran_order': False, 'shape': 3}",
	    "expected '(' opening a shape tuple" },
	{ 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (-1,)}",
	    "negative dimension -1" },
	{ 1, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (4294967296, 4294967296)}", "overflows 64 bits" },
	{ 1, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (99999999999999999999999,)}", "does not fit in 64 bits" },
	{ 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (True,)}",
	    "expected an integer" },
	{ 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (0x3,)}",
	    "unsupported number syntax" },
	{ 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (03,)}",
	    "leading zeros" },
	{ 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3.0,)}",
	    "unsupported number syntax" },
	{ 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3 4)}",
	    "expected ',' or ')' in a shape" },
	{ 1, "{'descr': '<i4', 'fortran_order': 0, 'shape': (3,)}",
	    "fortran_order is not True or False" },
	{ 1, "{'descr': '<i4', 'fortran_order': Falsey, 'shape': (3,)}",
	    "fortran_order is not True or False" },
	{ 1, "[('descr', '<i4')]", "expected '{' opening the header dict" },
	{ 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,)} x",
	    "characters after the header dict" },
	{ 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,)} # c",
	    "characters after the header dict" },
	{ 1, "{'descr': b'<i4', 'fortran_order': False, 'shape': (3,)}",
	    "expected a string" },
	{ 1, "{'descr': r'<i4', 'fortran_order': False, 'shape': (3,)}",
	    "expected a string" },
	{ 1, "{'''descr''': '<i4', 'fortran_order': False, 'shape': (3,)}",
	    "triple-quoted" },
	{ 1, "{'de' 'scr': '<i4', 'fortran_order': False, 'shape': (3,)}",
	    "adjacent strings" },
	{ 1, "{'descr': '<i4\\q', 'fortran_order': False, 'shape': (3,)}",
	    "unsupported escape" },
	{ 1, "{'descr': '\\N{LESS-THAN SIGN}i4', 'fortran_order': False, "
	    "'shape': (3,)}", "unsupported escape" },
	{ 1, "{'descr': '<i4\n', 'fortran_order': False, 'shape': (3,)}",
	    "line break inside a string" },
	{ 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,)",
	    "header ends; expected ',' or '}'" },
	{ 1, "{'descr': '<i4", "header ends inside a string" },
	{ 1, "{'descr': '<i4\\", "header ends inside a string" },
	{ 1, "{'descr': [('a', '<i4') ('b', '<i4')], 'fortran_order': "
	    "False, 'shape': (3,)}", "expected ',' between fields" },
	{ 1, "{'descr': [['a', '<i4']], 'fortran_order': False, "
	    "'shape': (3,)}", "expected '(' opening a field" },
	{ 1, "{'descr': [('a', '<i4', -2)], 'fortran_order': False, "
	    "'shape': (3,)}", "negative dimension -2" },
	{ 1, "{'descr': '|S9223372036854775807', 'fortran_order': False, "
	    "'shape': (3,)}", "3 items of 9223372036854775807 bytes overflow" },
	{ 1, "{'descr': '|S99999999999999999999', 'fortran_order': False, "
	    "'shape': (3,)}", "descr '|S99999999999999999999'" },
	{ 1, "{'descr': [('a', '|S4611686018427387904'), ('b', "
	    "'|S4611686018427387904'), ('c', '|S4611686018427387904'), "
	    "('d', '|S4611686018427387904')], 'fortran_order': False, "
	    "'shape': (3,)}", "structured dtype size overflows" },
	{ 3, "{'descr': '<i4', 'fortran_order': False, 'shape': (3L,)}",
	    "unsupported number syntax" },
	{ 1, "{'descr': '<i4', 'fortran_order': None, 'shape': (3,)}",
	    "fortran_order is not True or False" },
};

static void
malformed_headers_are_errors(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
		print_message("header %zu\n", i);
		assert_error(scan_hdr(*state, bad_headers[i].major,
		    bad_headers[i].hdr, 12), bad_headers[i].err);
	}
}

static void
nesting_is_bounded(void **state)
{
	char h[512], *p = h;
	size_t i;

	p += snprintf(p, 64, "{'descr': ");
	for (i = 0; i < 20; i++)
		p += snprintf(p, 16, "[('a', ");
	p += snprintf(p, 16, "'<i4'");
	for (i = 0; i < 20; i++)
		p += snprintf(p, 16, ")]");
	snprintf(p, 64, ", 'fortran_order': False, 'shape': (3,)}");
	assert_error(scan_hdr(*state, 1, h, 12), "nested deeper than 16");
}

static void
preamble_errors(void **state)
{
	static const char latin[] = "{'descr': [('\xe9', '<i4')], "
	    "'fortran_order': False, 'shape': (3,)}";
	struct fixture *f = *state;
	uint8_t *p;
	size_t len;

	assert_error(scan(f, "\x93NUMPY\x01", 7), "ends in the magic");
	assert_error(scan(f, "\x93NUMPX\x01\x00\x00\x00", 10), "bad magic");
	assert_error(scan(f, "\x93NUMPY\x02\x01\x00\x00\x00\x00", 12),
	    "format version 2.1");
	assert_error(scan(f, "\x93NUMPY\x04\x00\x00\x00\x00\x00", 12),
	    "format version 4.0");
	assert_error(scan(f, "\x93NUMPY\x01\x00\x05", 9),
	    "ends in the header length");
	assert_error(scan(f, "\x93NUMPY\x01\x00\x40\x00{}", 12),
	    "header length 64 at offset 8, but only 2 bytes follow");
	assert_error(scan(f, "\x93NUMPY\x02\x00\x00\x00\x20\x00", 12),
	    "header length 2097152 at offset 8 exceeds");
	/* Version 3.0 headers must be UTF-8; latin-1 ones may hold any. */
	p = make(3, latin, strlen(latin), 12, &len);
	assert_error(scan(f, p, len), "not valid UTF-8");
	p[6] = 1;
	memmove(p + 10, p + 12, len - 12);
	p[8] = (uint8_t)strlen(latin);
	p[9] = 0;
	assert_clean(scan(f, p, len - 2), "latin-1 field name");
	free(p);
}

static void
data_length_must_match(void **state)
{
	const struct pal_scan_result *r;
	struct pal_scan *s;

	assert_error(scan_hdr(*state, 1, GOOD, 8),
	    "is 8 bytes; the header describes 3 items of 4 bytes (12 bytes)");
	assert_error(scan_hdr(*state, 1, GOOD, 0), "is 0 bytes");
	s = scan_hdr(*state, 1, GOOD, 12 + 5);
	assert_int_equal(count_rule(s, "npy.trailing-data"), 1);
	assert_string_equal(pal_scan_finding(s, 0)->location,
	    "offset 79");
	assert_non_null(strstr(pal_scan_finding(s, 0)->reason,
	    "5 bytes follow the 12 bytes"));
	r = pal_scan_result(s, 0);
	assert_int_equal(r->status, PAL_ITEM_FINDINGS);
	/* The trailing bytes are scanned for what they are. */
	assert_int_equal(pal_scan_nresults(s), 2);
	assert_string_equal(pal_scan_result(s, 1)->name,
	    "t.npy!<trailing data>");
}

/* A pickle hidden after a real array is found and handed on. */
static void
trailing_pickle_is_scanned(void **state)
{
	static const uint8_t pk[] = "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00"
	    "\x00\x8c\x02os\x8c\x06system\x93.";
	struct pal_scan *s;
	uint8_t *p;
	size_t len;

	p = load("tensors/npy_f4.npy", &len);
	p = realloc(p, len + sizeof(pk));
	assert_non_null(p);
	memcpy(p + len, pk, sizeof(pk) - 1);
	s = scan(*state, p, len + sizeof(pk) - 1);
	free(p);
	assert_int_equal(count_rule(s, "npy.trailing-data"), 1);
	assert_int_equal(pal_scan_nresults(s), 2);
	assert_string_equal(pal_scan_result(s, 1)->format, "pickle");
}

/* Every proper prefix of a real file is an error, never clean. */
static void
truncations_are_errors(void **state)
{
	static const char *const files[] = {
		"tensors/npy_struct.npy", "tensors/npy_empty.npy",
		"tensors/npy_v3.npy", "tensors/npy_v2.npy",
	};
	const struct pal_scan_result *r;
	size_t i, n, len;
	uint8_t *p;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		p = load(files[i], &len);
		for (n = 0; n < len; n++) {
			uint8_t *cut = malloc(n + 1);

			assert_non_null(cut);
			memcpy(cut, p, n);
			r = pal_scan_result(scan(*state, cut, n), 0);
			free(cut);
			if (r->status != PAL_ITEM_ERROR)
				fail_msg("%s cut at %zu: status %d", files[i], n,
				    r->status);
		}
		free(p);
	}
}

/* Any byte of a header changed: a defined outcome, never a crash. */
static void
bit_flips_do_not_crash(void **state)
{
	const struct pal_scan_result *r;
	size_t i, len;
	uint8_t *p;
	int bit;

	p = load("tensors/npy_struct.npy", &len);
	for (i = 0; i < 128 && i < len; i++) {
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
	const struct pal_rule *r = pal_scan_rule("npy.trailing-data");

	(void)state;
	assert_non_null(r);
	assert_int_equal(r->severity, PAL_SEV_MEDIUM);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(real_files_scan_clean, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    object_arrays_reach_the_pickle_scanner, setup, teardown),
		cmocka_unit_test_setup_teardown(object_dtypes_in_any_form,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(accepted_header_spellings,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_headers_are_errors,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(nesting_is_bounded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(preamble_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(data_length_must_match, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(trailing_pickle_is_scanned,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(truncations_are_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(bit_flips_do_not_crash, setup,
		    teardown),
		cmocka_unit_test(rules_are_registered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
