/*
 * test_protobuf.c - the bounded protobuf reader: known-answer decoding of
 * each wire type, then every way a hostile encoding must fail (with the
 * offset and field in the detail), groups in strict and lenient mode, the
 * depth cap, and the model-relative path checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "protobuf.h"

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

static struct pal_pb_str
S(const char *s)
{
	struct pal_pb_str r = { (const uint8_t *)s, strlen(s) };

	return r;
}

/* Reads fields until the end or an error; returns the last result. */
static int
drain(const uint8_t *p, size_t n, unsigned flags, struct pal_err *err,
    unsigned *count)
{
	struct pal_pb_field f;
	struct pal_pb_msg m;
	int r;

	*count = 0;
	pal_err_clear(err);
	pal_pb_init(&m, p, n, 0, flags);
	while ((r = pal_pb_next(&m, &f, err)) == 1)
		(*count)++;
	return r;
}

static void
decodes_each_wire_type(void **state)
{
	/* 150 as a varint, "abc", a fixed64, a fixed32, a negative int. */
	static const uint8_t msg[] = {
		0x08, 0x96, 0x01,
		0x12, 0x03, 'a', 'b', 'c',
		0x19, 1, 2, 3, 4, 5, 6, 7, 8,
		0x25, 0x78, 0x56, 0x34, 0x12,
		0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x01,
	};
	struct pal_pb_field f;
	struct pal_pb_msg m;
	struct pal_err err;

	(void)state;
	pal_pb_init(&m, msg, sizeof(msg), 100, 0);
	assert_int_equal(pal_pb_next(&m, &f, &err), 1);
	assert_int_equal(f.num, 1);
	assert_int_equal(f.wire, PAL_PB_VARINT);
	assert_int_equal(f.v, 150);
	assert_int_equal(f.off, 100);

	assert_int_equal(pal_pb_next(&m, &f, &err), 1);
	assert_int_equal(f.num, 2);
	assert_int_equal(f.wire, PAL_PB_LEN);
	assert_int_equal(f.v, 3);
	assert_int_equal(f.off, 103);
	assert_int_equal(f.val_off, 105);
	assert_true(pal_pb_str_eq(pal_pb_str_of(&f), "abc"));

	assert_int_equal(pal_pb_next(&m, &f, &err), 1);
	assert_int_equal(f.num, 3);
	assert_int_equal(f.wire, PAL_PB_I64);
	assert_true(f.v == 0x0807060504030201ull);

	assert_int_equal(pal_pb_next(&m, &f, &err), 1);
	assert_int_equal(f.num, 4);
	assert_int_equal(f.wire, PAL_PB_I32);
	assert_int_equal(f.v, 0x12345678);

	assert_int_equal(pal_pb_next(&m, &f, &err), 1);
	assert_int_equal(f.num, 5);
	assert_true(f.v == UINT64_MAX);

	assert_int_equal(pal_pb_next(&m, &f, &err), 0);
	assert_int_equal(pal_pb_next(&m, &f, &err), 0);
}

static void
large_field_numbers(void **state)
{
	struct pal_pb_field f;
	struct pal_pb_msg m;
	struct pal_err err;

	(void)state;
	/* Field 2^29-1, varint 0: the largest number protobuf allows. */
	pal_pb_init(&m, LIT("\xf8\xff\xff\xff\x0f\x00"), 0, 0);
	assert_int_equal(pal_pb_next(&m, &f, &err), 1);
	assert_int_equal(f.num, PAL_PB_MAX_FIELD);
	/* 2^29 is one too many. */
	pal_pb_init(&m, LIT("\x80\x80\x80\x80\x10\x00"), 0, 0);
	assert_int_equal(pal_pb_next(&m, &f, &err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "offset 0"));
}

/* Each malformed encoding, the error it must give, and detail words. */
struct bad {
	const char *what;
	const char *bytes;
	size_t len;
	int code;
	const char *detail;
};

#define BAD(w, s, c, d) { w, s, sizeof(s) - 1, c, d }

static const struct bad bads[] = {
	BAD("truncated varint value", "\x08\x96", PAL_ERR_TRUNCATED,
	    "offset 1: field 1: varint cut off"),
	BAD("truncated tag", "\x08\x01\x88", PAL_ERR_TRUNCATED,
	    "offset 2: tag cut off"),
	BAD("length past the end", "\x12\x05" "ab", PAL_ERR_TRUNCATED,
	    "offset 0: field 2: length 5 runs past"),
	BAD("huge length", "\x12\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
	    PAL_ERR_TRUNCATED, "field 2: length"),
	BAD("wire type 6", "\x08\x01\x0e", PAL_ERR_FORMAT,
	    "offset 2: field 1: wire type 6"),
	BAD("wire type 7", "\x0f", PAL_ERR_FORMAT, "wire type 7"),
	BAD("field number 0", "\x00\x01", PAL_ERR_FORMAT,
	    "offset 0: field number 0"),
	BAD("over-long tag", "\x88\x00\x01", PAL_ERR_FORMAT,
	    "offset 0: tag encoded with 2 bytes"),
	BAD("six-byte tag", "\x88\x80\x80\x80\x80\x00", PAL_ERR_FORMAT,
	    "longer than 5"),
	BAD("eleven-byte varint",
	    "\x08\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", PAL_ERR_FORMAT,
	    "offset 1: field 1: varint longer"),
	BAD("ten-byte varint above 2^64",
	    "\x08\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02", PAL_ERR_FORMAT,
	    "field 1"),
	BAD("truncated fixed64", "\x09\x01\x02\x03", PAL_ERR_TRUNCATED,
	    "offset 1: field 1: 8-byte value"),
	BAD("truncated fixed32", "\x15\x01\x02", PAL_ERR_TRUNCATED,
	    "field 2: 4-byte value"),
	BAD("group start in strict mode", "\x0b\x0c", PAL_ERR_FORMAT,
	    "offset 0: field 1: groups"),
	BAD("stray group end", "\x0c", PAL_ERR_FORMAT,
	    "end of a group that was never started"),
};

static void
rejects_malformed_encodings(void **state)
{
	struct pal_err err;
	unsigned n, i;

	(void)state;
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		int r = drain((const uint8_t *)bads[i].bytes, bads[i].len, 0,
		    &err, &n);

		if (r != bads[i].code || strstr(err.msg, bads[i].detail) == NULL)
			fail_msg("%s: got %d '%s', want %d '%s'", bads[i].what,
			    r, err.msg, bads[i].code, bads[i].detail);
	}
}

static void
padded_lengths_are_accepted(void **state)
{
	struct pal_pb_field f;
	struct pal_pb_msg m;
	struct pal_err err;

	(void)state;
	/* Length 2 written in three bytes, as streaming writers patch it. */
	pal_pb_init(&m, LIT("\x12\x82\x80\x00hi"), 0, 0);
	assert_int_equal(pal_pb_next(&m, &f, &err), 1);
	assert_true(pal_pb_str_eq(pal_pb_str_of(&f), "hi"));
	assert_int_equal(f.val_off, 4);
}

static void
groups_are_skipped_when_lenient(void **state)
{
	struct pal_pb_field f;
	struct pal_pb_msg m;
	struct pal_err err;
	unsigned n;

	(void)state;
	/* Group 1 { field 1 = 1, group 3 { } }, then field 2 = 2. */
	pal_pb_init(&m, LIT("\x0b\x08\x01\x1b\x1c\x0c\x10\x02"), 0,
	    PAL_PB_LENIENT);
	assert_int_equal(pal_pb_next(&m, &f, &err), 1);
	assert_int_equal(f.wire, PAL_PB_SGROUP);
	assert_int_equal(f.num, 1);
	assert_int_equal(pal_pb_next(&m, &f, &err), 1);
	assert_int_equal(f.num, 2);
	assert_int_equal(f.v, 2);
	assert_int_equal(pal_pb_next(&m, &f, &err), 0);

	/* A group closed by the wrong number, or never closed. */
	assert_int_equal(drain(LIT("\x0b\x14"), PAL_PB_LENIENT, &err, &n),
	    PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "end of group 2 closes group 1"));
	assert_int_equal(drain(LIT("\x0b\x08\x01"), PAL_PB_LENIENT, &err, &n),
	    PAL_ERR_TRUNCATED);
}

static void
nested_groups_are_capped(void **state)
{
	uint8_t buf[2 * (PAL_PB_MAX_DEPTH + 2)];
	struct pal_err err;
	unsigned n, i, depth;

	(void)state;
	for (depth = PAL_PB_MAX_DEPTH; depth <= PAL_PB_MAX_DEPTH + 1; depth++) {
		for (i = 0; i < depth; i++)
			buf[i] = 0x0b;
		for (i = 0; i < depth; i++)
			buf[depth + i] = 0x0c;
		if (depth == PAL_PB_MAX_DEPTH) {
			assert_int_equal(drain(buf, 2 * depth, PAL_PB_LENIENT,
			    &err, &n), 0);
			assert_int_equal(n, 1);
		} else {
			assert_int_equal(drain(buf, 2 * depth, PAL_PB_LENIENT,
			    &err, &n), PAL_ERR_LIMIT);
			assert_non_null(strstr(err.msg, "groups nested deeper"));
		}
	}
}

static void
lengths_are_bounded_by_the_enclosing_message(void **state)
{
	/* Field 1 is 3 bytes; inside, field 2 claims 5, which the buffer
	 * has but the enclosing message does not. */
	static const uint8_t msg[] = { 0x0a, 0x03, 0x12, 0x05, 'a',
	    'b', 'c', 'd', 'e', 'f' };
	struct pal_pb_field f, g;
	struct pal_pb_msg m, sub;
	struct pal_err err;

	(void)state;
	pal_pb_init(&m, msg, sizeof(msg), 0, 0);
	assert_int_equal(pal_pb_next(&m, &f, &err), 1);
	assert_int_equal(pal_pb_enter(&m, &f, &sub, &err), 0);
	assert_int_equal(sub.base, 2);
	assert_int_equal(pal_pb_next(&sub, &g, &err), PAL_ERR_TRUNCATED);
	assert_non_null(strstr(err.msg, "offset 2: field 2: length 5"));
	assert_non_null(strstr(err.msg, "(1 bytes left)"));
}

static void
nesting_is_capped(void **state)
{
	uint8_t buf[4 * (PAL_PB_MAX_DEPTH + 2)];
	struct pal_pb_msg m[PAL_PB_MAX_DEPTH + 2];
	struct pal_pb_field f;
	struct pal_err err;
	size_t start = sizeof(buf), len, i;
	unsigned d;

	(void)state;
	/* field 1 { field 1 { ... } } with PAL_PB_MAX_DEPTH + 1 levels,
	 * built from the inside out. */
	for (i = 0; i < PAL_PB_MAX_DEPTH + 1; i++) {
		len = sizeof(buf) - start;
		if (len >= 128) {
			buf[--start] = (uint8_t)(len >> 7);
			buf[--start] = (uint8_t)(0x80 | (len & 0x7f));
		} else {
			buf[--start] = (uint8_t)len;
		}
		buf[--start] = 0x0a;
	}
	pal_pb_init(&m[0], buf + start, sizeof(buf) - start, 0, 0);
	for (d = 0; d < PAL_PB_MAX_DEPTH; d++) {
		assert_int_equal(pal_pb_next(&m[d], &f, &err), 1);
		assert_int_equal(pal_pb_enter(&m[d], &f, &m[d + 1], &err), 0);
		assert_int_equal(m[d + 1].depth, d + 1);
	}
	assert_int_equal(pal_pb_next(&m[d], &f, &err), 1);
	assert_int_equal(pal_pb_enter(&m[d], &f, &m[d + 1], &err),
	    PAL_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "nested deeper than 64"));

	/* A varint cannot be entered as a message. */
	pal_pb_init(&m[0], LIT("\x08\x01"), 0, 0);
	assert_int_equal(pal_pb_next(&m[0], &f, &err), 1);
	assert_int_equal(pal_pb_enter(&m[0], &f, &m[1], &err), PAL_ERR_FORMAT);
}

static void
wire_type_expectations(void **state)
{
	struct pal_pb_field f;
	struct pal_pb_msg m;
	struct pal_err err;

	(void)state;
	pal_pb_init(&m, LIT("\x38\x01"), 40, 0);
	assert_int_equal(pal_pb_next(&m, &f, &err), 1);
	assert_int_equal(pal_pb_want(&f, PAL_PB_W(PAL_PB_VARINT), "x", &err),
	    0);
	assert_int_equal(pal_pb_want(&f, PAL_PB_W(PAL_PB_LEN),
	    "ModelProto.graph", &err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg,
	    "offset 40: field 7 (ModelProto.graph): varint value"));
}

static void
strings_and_quoting(void **state)
{
	char out[PAL_PB_QUOTE_MAX], small[12];
	char big[300];

	(void)state;
	assert_true(pal_pb_str_eq(S("abc"), "abc"));
	assert_false(pal_pb_str_eq(S("abc"), "ab"));
	assert_true(pal_pb_str_prefix(S("_tf_keras_layer"), "_tf_keras"));
	assert_false(pal_pb_str_prefix(S("_tf"), "_tf_keras"));
	assert_true(pal_pb_str_same(S("x"), S("x")));

	pal_pb_quote(out, sizeof(out), S("a'b\\c\n\x7f"));
	assert_string_equal(out, "a\\x27b\\x5cc\\x0a\\x7f");
	pal_pb_quote(small, sizeof(small), S("abcdefghijklmnop"));
	assert_string_equal(small, "abcdefgh...");
	pal_pb_quote(small, 3, S("abc"));
	assert_string_equal(small, "");
	pal_pb_quote(small, 4, S("abc"));
	assert_string_equal(small, "...");
	memset(big, 0xff, sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pal_pb_quote(out, sizeof(out), S(big));
	assert_true(strlen(out) < sizeof(out));
	assert_non_null(strstr(out, "..."));
}

static void
paths_inside_the_model_directory(void **state)
{
	static const char *const ok[] = {
		"weights.bin", "data/w.bin", "./w.bin", "a//b.bin",
		"model.onnx_data", "...x", "a. b",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (pal_pb_path_problem(S(ok[i])) != NULL)
			fail_msg("'%s' refused: %s", ok[i],
			    pal_pb_path_problem(S(ok[i])));
}

static void
paths_that_leave_it(void **state)
{
	static const struct {
		const char *path;
		size_t len;
		const char *why;
	} bad[] = {
		{ "", 0, "empty" },
		{ "/etc/shadow", 11, "absolute" },
		{ "\\\\server\\share\\w", 16, "absolute" },
		{ "C:\\Windows\\win.ini", 18, "Windows drive" },
		{ "c:w.bin", 7, "Windows drive" },
		{ "../../etc/passwd", 16, "climbs out" },
		{ "./../w", 6, "climbs out" },
		{ "a/../../w", 9, "climbs out" },
		{ "..\\..\\Windows\\win.ini", 20, "climbs out" },
		{ "a/.. /../w", 10, "climbs out" },
		{ "a/../w.bin", 10, "'..' component" },
		{ "a/.../b", 7, "'..' component" },
		{ "sub\\w.bin", 9, "backslashes" },
		{ "w.bin:stream", 12, "':'" },
		{ "file://etc/passwd", 17, "':'" },
		{ "w.bin\0/../../x", 14, "NUL" },
	};
	struct pal_pb_str p;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.p = (const uint8_t *)bad[i].path;
		p.n = bad[i].len;
		why = pal_pb_path_problem(p);
		if (why == NULL || strstr(why, bad[i].why) == NULL)
			fail_msg("'%s': got '%s', want '%s'", bad[i].path,
			    why ? why : "(accepted)", bad[i].why);
	}
}

static void
symlinks_on_the_way_are_seen(void **state)
{
	const char *base = getenv("PAL_TEST_TMP");
	char dir[512], path[600];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/pb_links.%d", base ? base : "/tmp",
	    (int)getpid());
	(void)mkdir(base ? base : "/tmp", 0700);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/real", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/real/w.bin", dir);
	fclose(fopen(path, "w"));
	snprintf(path, sizeof(path), "%s/link.bin", dir);
	assert_int_equal(symlink("/etc/hostname", path), 0);
	snprintf(path, sizeof(path), "%s/linkdir", dir);
	assert_int_equal(symlink("real", path), 0);

	assert_int_equal(pal_pb_path_symlink(dir, NULL, S("real/w.bin")), 0);
	assert_int_equal(pal_pb_path_symlink(dir, NULL, S("missing")), 0);
	assert_int_equal(pal_pb_path_symlink(dir, NULL, S("link.bin")), 1);
	assert_int_equal(pal_pb_path_symlink(dir, NULL, S("linkdir/w.bin")),
	    1);
	assert_int_equal(pal_pb_path_symlink(dir, "real", S("w.bin")), 0);
	assert_int_equal(pal_pb_path_symlink(dir, "linkdir", S("w.bin")), 1);

	snprintf(path, sizeof(path), "%s/linkdir", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/link.bin", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/real/w.bin", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/real", dir);
	rmdir(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decodes_each_wire_type),
		cmocka_unit_test(large_field_numbers),
		cmocka_unit_test(rejects_malformed_encodings),
		cmocka_unit_test(padded_lengths_are_accepted),
		cmocka_unit_test(groups_are_skipped_when_lenient),
		cmocka_unit_test(nested_groups_are_capped),
		cmocka_unit_test(lengths_are_bounded_by_the_enclosing_message),
		cmocka_unit_test(nesting_is_capped),
		cmocka_unit_test(wire_type_expectations),
		cmocka_unit_test(strings_and_quoting),
		cmocka_unit_test(paths_inside_the_model_directory),
		cmocka_unit_test(paths_that_leave_it),
		cmocka_unit_test(symlinks_on_the_way_are_seen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
