/*
 * test_keras.c - the Keras configuration checker: configurations written
 * as Keras 2 and Keras 3 write them (tests/data/keras/gen.py), benign ones
 * clean, each hostile one with the rule it must raise; malformed JSON,
 * duplicate keys and deep nesting as errors; the marshal decoder on real
 * CPython 3.11 bytecode and on hand-built older layouts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/buf.h"
#include "palisade/scan.h"
#include "keras.h"
#include "scan_fixture.h"

static struct pal_policy *policy;

struct run {
	struct pal_scan *s;
	int rc;
};

static char *
load_keras(const char *name, size_t *len)
{
	const char *dir = getenv("PAL_TEST_DATA");
	char path[1024];
	char *buf;
	FILE *fp;
	long n;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/keras/%s", dir, name);
	fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* Runs the checker on text as an item of its own. */
static struct run
check_text(const char *text, size_t len)
{
	struct pal_scan_opts opts;
	struct pal_scan_item it;
	struct run run;

	memset(&opts, 0, sizeof(opts));
	pal_scan_limits_default(&opts.limits);
	opts.policy = policy;
	assert_int_equal(pal_scan_new(&opts, &run.s, NULL), 0);
	memset(&it, 0, sizeof(it));
	it.data = (const uint8_t *)text;
	it.len = len;
	it.name = "config.json";
	it.format = PAL_FMT_JSON;
	assert_int_equal(pal_scan_result_new(run.s, it.name, 0, &it.result), 0);
	run.rc = pal_keras_check_config(run.s, &it, text, len);
	return run;
}

static struct run
check_file(const char *name)
{
	struct run run;
	size_t len;
	char *text = load_keras(name, &len);

	run = check_text(text, len);
	free(text);
	return run;
}

static const struct pal_finding *
first_of(const struct pal_scan *s, const char *rule)
{
	size_t i;

	for (i = 0; i < pal_scan_nfindings(s); i++)
		if (strcmp(pal_scan_finding(s, i)->rule, rule) == 0)
			return pal_scan_finding(s, i);
	fail_msg("no %s finding", rule);
	return NULL;
}

static void
expect_clean(const char *name)
{
	struct run run = check_file(name);

	assert_int_equal(run.rc, 0);
	if (pal_scan_nfindings(run.s) != 0)
		fail_msg("%s: unexpected %s: %s", name,
		    pal_scan_finding(run.s, 0)->rule,
		    pal_scan_finding(run.s, 0)->reason);
	pal_scan_free(run.s);
}

/* Exactly the given rules, each with its count, and nothing else. */
static void
expect_rules(const char *name, ...)
{
	struct run run = check_file(name);
	size_t total = 0, want;
	const char *rule;
	va_list ap;

	assert_int_equal(run.rc, 0);
	va_start(ap, name);
	while ((rule = va_arg(ap, const char *)) != NULL) {
		want = va_arg(ap, size_t);
		if (count_rule(run.s, rule) != want)
			fail_msg("%s: %zu %s findings, expected %zu", name,
			    count_rule(run.s, rule), rule, want);
		total += want;
	}
	va_end(ap);
	assert_int_equal(pal_scan_nfindings(run.s), total);
	pal_scan_free(run.s);
}

static void
test_benign(void **state)
{
	(void)state;
	expect_clean("k2_benign.json");
	expect_clean("k3_benign.json");
	expect_clean("k2_tfop_benign.json");
}

static void
test_keras2_lambda(void **state)
{
	struct run run = check_file("k2_lambda.json");
	const struct pal_finding *f;

	(void)state;
	assert_int_equal(run.rc, 0);
	assert_int_equal(pal_scan_nfindings(run.s), 1);
	f = first_of(run.s, "keras.lambda");
	assert_int_equal(f->severity, PAL_SEV_CRITICAL);
	assert_string_equal(f->location, "config.layers[2]");
	assert_non_null(strstr(f->reason, "'lambda'"));
	assert_non_null(strstr(f->reason, "CPython 3.11 or later"));
	assert_non_null(strstr(f->reason, "names used: __import__, system"));
	assert_non_null(strstr(f->reason, "string constants: 'os', 'id'"));
	pal_scan_free(run.s);
}

static void
test_keras3_lambda(void **state)
{
	struct run run = check_file("k3_lambda.json");
	const struct pal_finding *f;

	(void)state;
	assert_int_equal(run.rc, 0);
	/* The Lambda layer is reported once, not again for its __lambda__. */
	assert_int_equal(pal_scan_nfindings(run.s), 1);
	f = first_of(run.s, "keras.lambda");
	assert_non_null(strstr(f->reason, "__import__, system"));
	pal_scan_free(run.s);
	expect_rules("k3_lambda_activation.json", "keras.lambda", (size_t)1,
	    NULL);
}

static void
test_references(void **state)
{
	(void)state;
	expect_rules("k3_os_system.json", "keras.lambda", (size_t)1,
	    "keras.dangerous-reference", (size_t)1, NULL);
	expect_rules("k3_builtins_eval.json", "keras.dangerous-reference",
	    (size_t)1, NULL);
	expect_rules("k3_get_file.json", "keras.lambda", (size_t)1,
	    "keras.dangerous-reference", (size_t)1, NULL);
	expect_rules("k2_function_lambda.json", "keras.lambda", (size_t)1,
	    "keras.dangerous-reference", (size_t)1, NULL);
	expect_rules("k2_fn_string.json", "keras.dangerous-reference",
	    (size_t)1, NULL);
}

static void
test_custom_objects(void **state)
{
	struct run run;

	(void)state;
	expect_rules("k3_custom_module.json", "keras.custom-module", (size_t)1,
	    NULL);
	expect_rules("k3_unknown_marker.json", "keras.unknown-marker",
	    (size_t)1, NULL);
	expect_rules("k2_unknown_class.json", "keras.unknown-class", (size_t)1,
	    NULL);
	run = check_file("k3_custom_module.json");
	assert_non_null(strstr(first_of(run.s, "keras.custom-module")->reason,
	    "'my_company.layers'"));
	pal_scan_free(run.s);
}

static void
test_tf_ops(void **state)
{
	struct run run;

	(void)state;
	expect_rules("k2_tfop_write_file.json", "keras.tf-op", (size_t)1, NULL);
	expect_rules("k2_raw_op.json", "keras.tf-op", (size_t)1, NULL);
	run = check_file("k2_tfop_write_file.json");
	assert_non_null(strstr(first_of(run.s, "keras.tf-op")->reason,
	    "'io.write_file'"));
	pal_scan_free(run.s);
}

static void
test_nested(void **state)
{
	struct run run = check_file("k2_nested_wrapper.json");

	(void)state;
	assert_int_equal(run.rc, 0);
	assert_int_equal(pal_scan_nfindings(run.s), 1);
	assert_string_equal(first_of(run.s, "keras.lambda")->location,
	    "config.layers[1].config.layers[0].config.layer");
	assert_non_null(strstr(first_of(run.s, "keras.lambda")->reason,
	    "'deep_lambda'"));
	pal_scan_free(run.s);
}

static void
expect_error(const char *text, int code, const char *detail)
{
	struct run run = check_text(text, strlen(text));

	assert_int_equal(run.rc, code);
	if (strstr(run.s->err.msg, detail) == NULL)
		fail_msg("detail '%s' lacks '%s'", run.s->err.msg, detail);
	assert_int_equal(pal_scan_nfindings(run.s), 0);
	pal_scan_free(run.s);
}

static void
test_malformed(void **state)
{
	struct pal_buf b;
	int i;

	(void)state;
	expect_error("{\"class_name\": \"Sequential\",", PAL_ERR_FORMAT,
	    "not valid JSON");
	expect_error("{\"class_name\": \"A\", \"class_name\": \"Lambda\"}",
	    PAL_ERR_FORMAT, "duplicate");
	expect_error("[1, 2]", PAL_ERR_FORMAT, "not a JSON object");
	expect_error("{\"a\": 1} trailing", PAL_ERR_FORMAT, "not valid JSON");
	/* Nesting past the walker's bound is an error, not a clean pass. */
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_buf_puts(&b, "{\"a\": "), 0);
	for (i = 0; i < 500; i++)
		assert_int_equal(pal_buf_putc(&b, '['), 0);
	for (i = 0; i < 500; i++)
		assert_int_equal(pal_buf_putc(&b, ']'), 0);
	assert_int_equal(pal_buf_putc(&b, '}'), 0);
	expect_error((const char *)b.p, PAL_ERR_LIMIT, "nests deeper");
	pal_buf_free(&b);
}

/* A Keras 2 Lambda layer whose function field is the given text. */
static struct run
lambda_with_code(const char *b64)
{
	char text[4096];
	int n;

	n = snprintf(text, sizeof(text), "{\"class_name\": \"Lambda\", "
	    "\"config\": {\"name\": \"l\", \"function\": [\"%s\", null, null], "
	    "\"function_type\": \"lambda\"}}", b64);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	return check_text(text, (size_t)n);
}

static void
test_bad_bytecode(void **state)
{
	struct run run;

	(void)state;
	/* Code that cannot be decoded is still reported as code. */
	run = lambda_with_code("not base64 at all!");
	assert_int_equal(run.rc, 0);
	assert_non_null(strstr(first_of(run.s, "keras.lambda")->reason,
	    "does not decode"));
	pal_scan_free(run.s);
	run = lambda_with_code("AAECAwQFBgc=");
	assert_int_equal(run.rc, 0);
	assert_non_null(strstr(first_of(run.s, "keras.lambda")->reason,
	    "not a marshalled code object"));
	pal_scan_free(run.s);
}

static void
put_u32(struct pal_buf *b, uint32_t v)
{
	uint8_t le[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 24) };

	assert_int_equal(pal_buf_append(b, le, 4), 0);
}

static void
put_short_str(struct pal_buf *b, char type, const char *s)
{
	assert_int_equal(pal_buf_putc(b, type), 0);
	assert_int_equal(pal_buf_putc(b, (char)strlen(s)), 0);
	assert_int_equal(pal_buf_puts(b, s), 0);
}

/*
 * A code object in an older layout: nints 32-bit fields, then code,
 * consts, names, five more objects, firstlineno and the line table.
 */
static void
build_code(struct pal_buf *b, unsigned nints)
{
	unsigned i;

	assert_int_equal(pal_buf_putc(b, 'c'), 0);
	for (i = 0; i < nints; i++)
		put_u32(b, 0);
	assert_int_equal(pal_buf_putc(b, 's'), 0);	/* co_code */
	put_u32(b, 2);
	assert_int_equal(pal_buf_append(b, "\x64\x00", 2), 0);
	assert_int_equal(pal_buf_putc(b, ')'), 0);	/* co_consts */
	assert_int_equal(pal_buf_putc(b, 2), 0);
	assert_int_equal(pal_buf_putc(b, 'N'), 0);
	put_short_str(b, 'z', "rm -rf /");
	assert_int_equal(pal_buf_putc(b, ')'), 0);	/* co_names */
	assert_int_equal(pal_buf_putc(b, 2), 0);
	put_short_str(b, 'Z', "os");
	put_short_str(b, 'Z', "system");
	for (i = 0; i < 3; i++) {			/* vars, free, cell */
		assert_int_equal(pal_buf_putc(b, ')'), 0);
		assert_int_equal(pal_buf_putc(b, 0), 0);
	}
	put_short_str(b, 'z', "<stdin>");		/* co_filename */
	put_short_str(b, 'Z', "<lambda>");		/* co_name */
	put_u32(b, 1);					/* co_firstlineno */
	assert_int_equal(pal_buf_putc(b, 's'), 0);	/* co_lnotab */
	put_u32(b, 0);
}

static void
expect_layout(unsigned nints, const char *layout)
{
	struct pal_buf code, out;

	pal_buf_init(&code, 4096);
	pal_buf_init(&out, 4096);
	build_code(&code, nints);
	assert_int_equal(pal_keras_describe_marshal(code.p, code.len, &out),
	    0);
	if (strstr((char *)out.p, layout) == NULL)
		fail_msg("'%s' lacks '%s'", (char *)out.p, layout);
	assert_non_null(strstr((char *)out.p, "names used: os, system"));
	assert_non_null(strstr((char *)out.p, "string constants: 'rm -rf /'"));
	/* The same object cut short is not a code object. */
	assert_int_not_equal(pal_keras_describe_marshal(code.p, code.len - 1,
	    &out), 0);
	pal_buf_free(&code);
	pal_buf_free(&out);
}

static void
test_marshal_layouts(void **state)
{
	(void)state;
	expect_layout(6, "CPython 3.8 to 3.10");
	expect_layout(5, "CPython 3.0 to 3.7");
	expect_layout(4, "CPython 2");
}

static void
test_marshal_refs(void **state)
{
	struct pal_buf code, out;
	static const uint8_t bad_ref[] = { 'c' | 0x80, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'r', 9, 0, 0, 0 };

	(void)state;
	pal_buf_init(&code, 64);
	pal_buf_init(&out, 4096);
	/* A back-reference to an object never stored is malformed. */
	assert_int_not_equal(pal_keras_describe_marshal(bad_ref,
	    sizeof(bad_ref), &out), 0);
	/* A tuple claiming more elements than bytes remain fails fast. */
	assert_int_equal(pal_buf_append(&code, "c\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	    "\0\0\0\0\0\0(\xff\xff\xff\x7f", 26), 0);
	assert_int_not_equal(pal_keras_describe_marshal(code.p, code.len,
	    &out), 0);
	pal_buf_free(&code);
	pal_buf_free(&out);
}

static int
group_setup(void **state)
{
	(void)state;
	return pal_policy_new_default(&policy, NULL);
}

static int
group_teardown(void **state)
{
	(void)state;
	pal_policy_free(policy);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_benign),
		cmocka_unit_test(test_keras2_lambda),
		cmocka_unit_test(test_keras3_lambda),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_custom_objects),
		cmocka_unit_test(test_tf_ops),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bad_bytecode),
		cmocka_unit_test(test_marshal_layouts),
		cmocka_unit_test(test_marshal_refs),
	};

	return cmocka_run_group_tests(tests, group_setup,
	    group_teardown);
}
