/*
 * test_base.c - the bounded reader, buffers, error context and escaping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "palisade/buf.h"
#include "palisade/cursor.h"
#include "palisade/error.h"
#include "palisade/text.h"

static void
cursor_reads_little_and_big_endian(void **state)
{
	static const uint8_t b[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct pal_cur c;
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;

	(void)state;
	pal_cur_init(&c, b, sizeof(b));
	assert_int_equal(pal_cur_u16le(&c, &v16), 0);
	assert_int_equal(v16, 0x0201);
	assert_int_equal(pal_cur_u16be(&c, &v16), 0);
	assert_int_equal(v16, 0x0304);
	assert_int_equal(pal_cur_u32le(&c, &v32), 0);
	assert_int_equal(v32, 0x08070605);
	assert_int_equal(pal_cur_left(&c), 0);
	pal_cur_init(&c, b, sizeof(b));
	assert_int_equal(pal_cur_u64be(&c, &v64), 0);
	assert_true(v64 == 0x0102030405060708ULL);
}

static void
cursor_refuses_to_read_past_the_end(void **state)
{
	static const uint8_t b[] = { 1, 2, 3 };
	const uint8_t *p;
	struct pal_cur c;
	uint32_t v32;

	(void)state;
	pal_cur_init(&c, b, sizeof(b));
	assert_int_equal(pal_cur_u32le(&c, &v32), PAL_ERR_TRUNCATED);
	assert_int_equal(c.off, 0);
	assert_int_equal(pal_cur_bytes(&c, 4, &p), PAL_ERR_TRUNCATED);
	assert_int_equal(pal_cur_skip(&c, SIZE_MAX), PAL_ERR_TRUNCATED);
	assert_int_equal(pal_cur_skip(&c, 3), 0);
	assert_int_equal(pal_cur_skip(&c, 1), PAL_ERR_TRUNCATED);
	assert_int_equal(pal_cur_seek(&c, 4), PAL_ERR_TRUNCATED);
	assert_int_equal(pal_cur_seek(&c, 0), 0);
}

static void
cursor_lines_and_subviews(void **state)
{
	static const char text[] = "os\nsystem\nno newline";
	const uint8_t *p;
	struct pal_cur c, sub;
	size_t n;
	uint8_t u;

	(void)state;
	pal_cur_init(&c, text, strlen(text));
	assert_int_equal(pal_cur_line(&c, 100, &p, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(p, "os", 2);
	assert_int_equal(pal_cur_line(&c, 3, &p, &n), PAL_ERR_TRUNCATED);
	assert_int_equal(pal_cur_line(&c, 100, &p, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(pal_cur_line(&c, 100, &p, &n), PAL_ERR_TRUNCATED);
	assert_int_equal(pal_cur_sub(&c, 2, &sub), 0);
	assert_int_equal(pal_cur_left(&sub), 2);
	assert_int_equal(pal_cur_u8(&sub, &u), 0);
	assert_int_equal(u, 'n');
	assert_int_equal(pal_cur_sub(&c, 100, &sub), PAL_ERR_TRUNCATED);
}

static void
cursor_varints(void **state)
{
	static const uint8_t ok[] = { 0xac, 0x02 };
	static const uint8_t max[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0x01 };
	static const uint8_t over[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0x02 };
	static const uint8_t cut[] = { 0x80, 0x80 };
	struct pal_cur c;
	uint64_t v;

	(void)state;
	pal_cur_init(&c, ok, sizeof(ok));
	assert_int_equal(pal_cur_varint(&c, &v), 0);
	assert_int_equal(v, 300);
	pal_cur_init(&c, max, sizeof(max));
	assert_int_equal(pal_cur_varint(&c, &v), 0);
	assert_true(v == UINT64_MAX);
	pal_cur_init(&c, over, sizeof(over));
	assert_int_equal(pal_cur_varint(&c, &v), PAL_ERR_FORMAT);
	assert_int_equal(c.off, 0);
	pal_cur_init(&c, cut, sizeof(cut));
	assert_int_equal(pal_cur_varint(&c, &v), PAL_ERR_TRUNCATED);
}

static void
buffer_respects_its_ceiling(void **state)
{
	struct pal_buf b;
	uint8_t *p;
	size_t n;

	(void)state;
	pal_buf_init(&b, 8);
	assert_int_equal(pal_buf_puts(&b, "abcd"), 0);
	assert_int_equal(pal_buf_printf(&b, "%d", 123), 0);
	assert_string_equal((char *)b.p, "abcd123");
	assert_int_equal(pal_buf_puts(&b, "xy"), PAL_ERR_LIMIT);
	assert_string_equal((char *)b.p, "abcd123");
	assert_int_equal(pal_buf_printf(&b, "%s", "toolong"), PAL_ERR_LIMIT);
	assert_int_equal(pal_buf_putc(&b, 'z'), 0);
	assert_int_equal(b.len, 8);
	p = pal_buf_steal(&b, &n);
	assert_int_equal(n, 8);
	assert_null(b.p);
	free(p);
	pal_buf_free(&b);
	pal_buf_free(&b);
}

static void
error_context_keeps_and_wraps_detail(void **state)
{
	struct pal_err e;
	char big[1000];

	(void)state;
	pal_err_clear(&e);
	assert_int_equal(pal_err_set(&e, PAL_ERR_FORMAT, "bad byte %#x", 0x41),
	    PAL_ERR_FORMAT);
	assert_string_equal(e.msg, "bad byte 0x41");
	assert_int_equal(pal_err_wrap(&e, PAL_ERR_IO, "member '%s': ", "a"),
	    PAL_ERR_FORMAT);
	assert_string_equal(e.msg, "member 'a': bad byte 0x41");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pal_err_set(&e, PAL_ERR_IO, "%s", big);
	assert_int_equal(strlen(e.msg), PAL_ERR_MSG_MAX - 1);
	assert_string_equal(e.msg + PAL_ERR_MSG_MAX - 4, "...");
	assert_int_equal(pal_err_set(NULL, PAL_ERR_IO, "x"), PAL_ERR_IO);
	assert_string_equal(pal_strerror(PAL_ERR_TRUNCATED), "truncated input");
}

static void
escape_makes_hostile_names_printable(void **state)
{
	static const char hostile[] = "a\x1b[2Jb\\c\xff\xc3\xa9\n\xc0\xaf";
	struct pal_buf b;

	(void)state;
	pal_buf_init(&b, 1024);
	assert_int_equal(pal_text_escape(&b, hostile, sizeof(hostile) - 1), 0);
	assert_string_equal((char *)b.p,
	    "a\\x1b[2Jb\\\\c\\xff\xc3\xa9\\x0a\\xc0\\xaf");
	assert_true(pal_utf8_valid((char *)b.p, b.len));
	pal_buf_free(&b);
}

static void
utf8_validation_rejects_overlongs_and_surrogates(void **state)
{
	(void)state;
	assert_true(pal_utf8_valid("h\xc3\xa9llo \xf0\x9f\x98\x80", 11));
	assert_false(pal_utf8_valid("\xc0\x80", 2));
	assert_false(pal_utf8_valid("\xe0\x80\xaf", 3));
	assert_false(pal_utf8_valid("\xed\xa0\x80", 3));
	assert_false(pal_utf8_valid("\xf4\x90\x80\x80", 4));
	assert_false(pal_utf8_valid("\xe2\x82", 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cursor_reads_little_and_big_endian),
		cmocka_unit_test(cursor_refuses_to_read_past_the_end),
		cmocka_unit_test(cursor_lines_and_subviews),
		cmocka_unit_test(cursor_varints),
		cmocka_unit_test(buffer_respects_its_ceiling),
		cmocka_unit_test(error_context_keeps_and_wraps_detail),
		cmocka_unit_test(escape_makes_hostile_names_printable),
		cmocka_unit_test(utf8_validation_rejects_overlongs_and_surrogates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
