/*
 * test_json_writer.c - the JSON writer of hot-path records
 * (src/base/json_writer.c) writes the bytes Jansson writes for the same
 * members (JSON_COMPACT | JSON_ENSURE_ASCII), for every kind of string a
 * client can put in a record; and a log entry written with it is the
 * entry pal_log_entry_build_obj makes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "palisade/error.h"
#include "palisade/json_writer.h"
#include "palisade/tlog.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII)

/* Strings Jansson accepts, each written both ways. */
static const char *const strings[] = {
	"",
	"plain ascii",
	"quote \" and backslash \\ and slash /",
	"controls \b\f\n\r\t \x01\x1f end",
	"del \x7f stays",
	"caf\xc3\xa9 na\xc3\xafve \xe2\x82\xac",
	"astral \xf0\x9f\x98\x80 and \xf4\x8f\xbf\xbf",
	"\xe0\xa0\x80 lowest three-byte, \xef\xbf\xbf highest",
	"embedded \xc2\x80 C1 control",
};

static char *
written(void (*fill)(struct pal_jw *, const void *), const void *arg)
{
	struct pal_buf b;
	struct pal_jw w;
	size_t len;

	pal_buf_init(&b, 1 << 20);
	pal_jw_init(&w, &b);
	fill(&w, arg);
	assert_int_equal(pal_jw_error(&w), 0);
	return (char *)pal_buf_steal(&b, &len);
}

static void
fill_one_string(struct pal_jw *w, const void *arg)
{
	pal_jw_object(w, NULL);
	pal_jw_string(w, "s", arg);
	pal_jw_close(w);
}

static void
test_strings_as_jansson(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		json_t *o = json_pack("{s:s}", "s", strings[i]);
		char *want, *got;

		assert_non_null(o);
		want = json_dumps(o, DUMP_FLAGS);
		got = written(fill_one_string, strings[i]);
		if (strcmp(want, got) != 0)
			fail_msg("string %zu: jansson %s, writer %s", i, want,
				 got);
		free(want);
		free(got);
		json_decref(o);
	}
}

/* Every byte value and every two-byte prefix, against Jansson. */
static void
test_all_short_strings(void **state)
{
	char s[3];

	(void)state;
	for (unsigned a = 1; a < 256; a++) {
		for (unsigned b = 0; b < 256; b++) {
			json_t *o;
			char *want, *got;

			s[0] = (char)a;
			s[1] = (char)b;
			s[2] = '\0';
			if ((o = json_pack("{s:s}", "s", s)) == NULL)
				continue;	/* not UTF-8: tested below */
			want = json_dumps(o, DUMP_FLAGS);
			got = written(fill_one_string, s);
			if (strcmp(want, got) != 0)
				fail_msg("bytes %02x %02x: jansson %s, writer "
					 "%s", a, b, want, got);
			free(want);
			free(got);
			json_decref(o);
		}
	}
}

static void
test_invalid_utf8_replaced(void **state)
{
	char *got;

	(void)state;
	got = written(fill_one_string, "a\xff" "b\xc3(c\xed\xa0\x80");
	assert_string_equal(got, "{\"s\":\"a\\uFFFDb\\uFFFD(c\\uFFFD\\uFFFD"
			    "\\uFFFD\"}");
	free(got);
}

static void
fill_mixed(struct pal_jw *w, const void *arg)
{
	(void)arg;
	pal_jw_object(w, NULL);
	pal_jw_int(w, "zero", 0);
	pal_jw_int(w, "min", INT64_MIN);
	pal_jw_int(w, "max", INT64_MAX);
	pal_jw_bool(w, "t", 1);
	pal_jw_bool(w, "f", 0);
	pal_jw_null(w, "n");
	pal_jw_array(w, "empty");
	pal_jw_close(w);
	pal_jw_array(w, "list");
	pal_jw_string(w, NULL, "a");
	pal_jw_int(w, NULL, -7);
	pal_jw_object(w, NULL);
	pal_jw_object(w, "deep");
	pal_jw_close(w);
	pal_jw_close(w);
	pal_jw_close(w);
	pal_jw_object(w, "obj");
	pal_jw_raw(w, "raw", "[1,2]", 5);
	pal_jw_close(w);
	pal_jw_close(w);
}

static void
test_structure_as_jansson(void **state)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:b, s:b, s:n, s:[], "
			      "s:[s, I, {s:{}}], s:{s:[I, I]}}",
			      "zero", (json_int_t)0, "min",
			      (json_int_t)INT64_MIN, "max",
			      (json_int_t)INT64_MAX, "t", 1, "f", 0, "n",
			      "empty", "list", "a", (json_int_t)-7, "deep",
			      "obj", "raw", (json_int_t)1, (json_int_t)2);
	char *want, *got;

	(void)state;
	assert_non_null(o);
	want = json_dumps(o, DUMP_FLAGS | JSON_PRESERVE_ORDER);
	got = written(fill_mixed, NULL);
	assert_string_equal(got, want);
	free(want);
	free(got);
	json_decref(o);
}

static void
test_errors_are_sticky(void **state)
{
	struct pal_buf b;
	struct pal_jw w;

	(void)state;
	/* Too deep. */
	pal_buf_init(&b, 1024);
	pal_jw_init(&w, &b);
	for (int i = 0; i <= PAL_JW_DEPTH; i++)
		pal_jw_array(&w, NULL);
	assert_int_equal(pal_jw_error(&w), PAL_ERR_LIMIT);
	pal_jw_string(&w, NULL, "more");
	assert_int_equal(pal_jw_error(&w), PAL_ERR_LIMIT);
	pal_buf_free(&b);

	/* Out of room: nothing more is written after the failure. */
	pal_buf_init(&b, 16);
	pal_jw_init(&w, &b);
	pal_jw_object(&w, NULL);
	pal_jw_string(&w, "key", "a value longer than the room");
	assert_int_equal(pal_jw_error(&w), PAL_ERR_LIMIT);
	size_t len = b.len;
	pal_jw_int(&w, "n", 1);
	assert_int_equal(b.len, len);
	pal_buf_free(&b);

	/* A close with nothing open. */
	pal_buf_init(&b, 16);
	pal_jw_init(&w, &b);
	pal_jw_close(&w);
	assert_int_equal(pal_jw_error(&w), PAL_ERR_INVALID);
	pal_buf_free(&b);
}

static void
test_log_entry_as_tree(void **state)
{
	const char *subject = "sha256:0123456789abcdef0123456789abcdef"
			      "0123456789abcdef0123456789abcdef";
	struct pal_err err = { 0 };
	struct pal_buf b;
	struct pal_jw w;
	char *want = NULL;

	(void)state;
	for (int with_subject = 0; with_subject < 2; with_subject++) {
		const char *subj = with_subject ? subject : NULL;
		json_t *d = json_pack("{s:s, s:i, s:[s]}", "model",
				      "t\xc3\xafny \"x\"", "status", 200,
				      "rules", "a.b");

		assert_int_equal(pal_log_entry_build_obj("serve.request",
							 "serve", subj, d,
							 1795675589, &want,
							 &err), 0);
		json_decref(d);
		pal_buf_init(&b, 65536);
		pal_jw_init(&w, &b);
		assert_int_equal(pal_log_entry_open(&w, "serve.request",
						    "serve", subj, 1795675589,
						    &err), 0);
		pal_jw_string(&w, "model", "t\xc3\xafny \"x\"");
		pal_jw_int(&w, "status", 200);
		pal_jw_array(&w, "rules");
		pal_jw_string(&w, NULL, "a.b");
		pal_jw_close(&w);
		assert_int_equal(pal_log_entry_finish(&w, &err), 0);
		assert_string_equal((const char *)b.p, want);
		pal_buf_free(&b);
		free(want);
	}

	/* The same checks as the tree builder: a bad type is refused. */
	pal_buf_init(&b, 65536);
	pal_jw_init(&w, &b);
	assert_int_equal(pal_log_entry_open(&w, "Bad Type", "serve", NULL, 0,
					    &err), PAL_ERR_INVALID);
	pal_buf_free(&b);

	/* An entry over 65535 bytes is refused by its size. */
	pal_buf_init(&b, 1 << 20);
	pal_jw_init(&w, &b);
	assert_int_equal(pal_log_entry_open(&w, "serve.request", "serve",
					    NULL, 0, &err), 0);
	char *big = malloc(70000);
	assert_non_null(big);
	memset(big, 'x', 69999);
	big[69999] = '\0';
	pal_jw_string(&w, "big", big);
	free(big);
	assert_int_equal(pal_log_entry_finish(&w, &err), PAL_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "65535"));
	pal_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings_as_jansson),
		cmocka_unit_test(test_all_short_strings),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_structure_as_jansson),
		cmocka_unit_test(test_errors_are_sticky),
		cmocka_unit_test(test_log_entry_as_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
