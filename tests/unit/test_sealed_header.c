/*
 * test_sealed_header.c - the sealed-file header (sealed.h): what is
 * written reads back field for field; every field's limits, the exact
 * header length and the path and release rules are enforced with an error
 * naming the field; the context changes with each field it binds and
 * with none of those it does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "palisade/sealed.h"

static const uint8_t wrapped[40] = { 0xa6, 1, 2, 3 };
static const uint8_t key_id[16] = { 9, 8, 7 };

static struct pal_sealed_header
sample(void)
{
	struct pal_sealed_header h = {
		.suite = PAL_SEALED_SUITE_COBBLESTONE_256,
		.wrap = PAL_SEALED_WRAP_KWP,
		.plain_len = 1234567,
		.key_label = (const uint8_t *)"palisade:release:v1#1",
		.key_label_len = 21,
		.key_id = key_id, .key_id_len = sizeof(key_id),
		.wrapped = wrapped, .wrapped_len = sizeof(wrapped),
		.model = "acme/llm", .model_len = 8,
		.release = "v1", .release_len = 2,
		.path = "weights/model.safetensors", .path_len = 25,
	};
	return h;
}

static void
encode(struct pal_sealed_header *h, struct pal_buf *b)
{
	struct pal_err err = { 0 };
	pal_buf_init(b, 1 << 20);
	if (pal_sealed_encode(h, b, &err) < 0)
		fail_msg("encode: %s", err.msg);
}

static void
round_trip(void **state)
{
	(void)state;
	struct pal_sealed_header h = sample(), back;
	struct pal_buf b;
	struct pal_err err = { 0 };
	encode(&h, &b);
	assert_int_equal(h.header_len, b.len);
	assert_int_equal(b.len, 22 + 12 + 21 + 16 + 40 + 8 + 2 + 25);
	/* Trailing message bytes are not the header's business. */
	assert_int_equal(pal_buf_append(&b, "message", 7), 0);
	assert_int_equal(pal_sealed_parse(b.p, b.len, &back, &err), 0);
	assert_int_equal(back.header_len, h.header_len);
	assert_int_equal(back.plain_len, 1234567);
	assert_int_equal(back.wrap, PAL_SEALED_WRAP_KWP);
	assert_int_equal(back.wrapped_len, 40);
	assert_memory_equal(back.wrapped, wrapped, 40);
	assert_memory_equal(back.key_id, key_id, 16);
	assert_int_equal(back.path_len, 25);
	assert_memory_equal(back.path, "weights/model.safetensors", 25);
	assert_memory_equal(back.release, "v1", 2);
	pal_buf_free(&b);
}

/* Parses bytes and expects an error whose message holds want. */
static void
refused(const uint8_t *p, size_t len, const char *want)
{
	struct pal_sealed_header h;
	struct pal_err err = { 0 };
	assert_int_not_equal(pal_sealed_parse(p, len, &h, &err), 0);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, want);
}

static void
damaged_headers(void **state)
{
	(void)state;
	struct pal_sealed_header h = sample();
	struct pal_buf b;
	encode(&h, &b);
	uint8_t *p = b.p;
	size_t n = b.len;

	refused(p, 5, "shorter than its magic");
	refused(p, 20, "shorter than its fixed fields");
	refused(p, n - 1, "the file holds");
	p[0] = 'X';
	refused(p, n, "no PALSEAL magic");
	p[0] = 'P';
	p[7] = 2;
	refused(p, n, "format version 2");
	p[7] = 1;
	p[12] = 9;
	refused(p, n, "suite 9");
	p[12] = 1;
	p[13] = 3;
	refused(p, n, "key wrap 3");
	p[13] = 1;
	/* Header length one short: the path runs past it. */
	p[11]--;
	refused(p, n, "path at byte");
	p[11] += 2;	/* one long: a byte after the last field */
	refused(p, n + 1, "1 bytes after the last field");
	p[11]--;
	/* The key label's length made 0. */
	p[22] = 0;
	p[23] = 0;
	refused(p, n, "key label at byte 22 is 0 bytes");
	pal_buf_free(&b);
}

static void
bad_names(void **state)
{
	(void)state;
	struct pal_err err = { 0 };
	static const char *bad_paths[] = {
		"/abs", "a//b", "a/", "./a", "a/../b", "..", "a\nb", "",
	};
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(*bad_paths); i++)
		assert_int_not_equal(pal_sealed_check_path(bad_paths[i],
		    strlen(bad_paths[i]), &err), 0);
	assert_int_equal(pal_sealed_check_path("a/b.c/..d", 9, &err), 0);
	assert_int_not_equal(pal_sealed_check_release("a/b", 3, &err), 0);
	assert_int_not_equal(pal_sealed_check_release("..", 2, &err), 0);
	assert_int_not_equal(pal_sealed_check_release("\xff", 1, &err), 0);
	assert_int_equal(pal_sealed_check_release("v1.2-rc1", 8, &err), 0);

	/* The writer refuses what the reader would. */
	struct pal_sealed_header h = sample();
	struct pal_buf b;
	pal_buf_init(&b, 1 << 20);
	h.path = "../etc/passwd";
	h.path_len = 13;
	assert_int_not_equal(pal_sealed_encode(&h, &b, &err), 0);
	assert_non_null(strstr(err.msg, "\".\" or \"..\""));
	assert_int_equal(b.len, 0);
	pal_buf_free(&b);
}

static void
context(struct pal_sealed_header *h, struct pal_buf *b)
{
	pal_buf_init(b, 1 << 20);
	assert_int_equal(pal_sealed_context(h, b), 0);
}

static int
same_context(struct pal_sealed_header *a, struct pal_sealed_header *b)
{
	struct pal_buf x, y;
	context(a, &x);
	context(b, &y);
	int same = x.len == y.len && memcmp(x.p, y.p, x.len) == 0;
	pal_buf_free(&x);
	pal_buf_free(&y);
	return same;
}

static void
context_binding(void **state)
{
	(void)state;
	struct pal_sealed_header a = sample(), b = sample();
	assert_true(same_context(&a, &b));
	b.path = "weights/model.safetensorz";
	assert_false(same_context(&a, &b));
	b = sample();
	b.release = "v2";
	assert_false(same_context(&a, &b));
	b = sample();
	b.model = "acme/llx";
	assert_false(same_context(&a, &b));
	b = sample();
	b.plain_len++;
	assert_false(same_context(&a, &b));
	/* Key fields stay outside: a rotation rewrites only them. */
	b = sample();
	b.wrapped = key_id;
	b.wrapped_len = 16;
	b.key_label = (const uint8_t *)"palisade:release:v1#2";
	assert_true(same_context(&a, &b));
	/* Lengths are prefixed: "ab"+"c" differs from "a"+"bc". */
	a.model = "ab"; a.model_len = 2; a.release = "c"; a.release_len = 1;
	b = sample();
	b.model = "a"; b.model_len = 1; b.release = "bc"; b.release_len = 2;
	assert_false(same_context(&a, &b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(damaged_headers),
		cmocka_unit_test(bad_names),
		cmocka_unit_test(context_binding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
