/*
 * test_onnx.c - the ONNX scanner: detection by structure, benign models
 * written by the onnx package come out clean, each hostile model yields
 * its rule, and malformed protobufs end in errors that name the offset
 * and the field.  The model files are made by tests/data/onnx/gen_onnx.py;
 * the malformed ones are built here.
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

#include "palisade/buf.h"
#include "protobuf.h"
#include "scan_fixture.h"

#define DATA_DIR "onnx"

/* Reads a test model under $PAL_TEST_DATA/onnx (caller frees). */
static uint8_t *
load_model(const char *name, size_t *len)
{
	return load_in(DATA_DIR, name, len);
}

/* Scans bytes as ONNX (or detected) and returns the item's result. */
static const struct pal_scan_result *
scan_bytes(struct pal_scan *s, const void *p, size_t n, enum pal_format fmt)
{
	return scan_fixture_append(s, "m.onnx", p, n, fmt);
}

static const char *const onnx_files[] = {
	"benign_ops.onnx", "external/model.onnx", "ext_traversal.onnx",
	"ext_absolute.onnx", "ext_backslash.onnx", "ext_memaddr.onnx",
	"ext_subgraph.onnx", "ext_sparse.onnx", "custom_op.onnx",
	"contrib_op.onnx", "function_custom.onnx", "pyop.onnx",
	"ms_pythonop.onnx", "ort_config.onnx", "polyglot.onnx",
};

static void
detects_onnx_by_structure(void **state)
{
	size_t i, n;
	uint8_t *p;

	(void)state;
	for (i = 0; i < sizeof(onnx_files) / sizeof(onnx_files[0]); i++) {
		p = load_model(onnx_files[i], &n);
		if (pal_detect(p, n) != PAL_FMT_ONNX)
			fail_msg("%s detected as %s", onnx_files[i],
			    pal_format_name(pal_detect(p, n)));
		/* Only the polyglot is also a SavedModel. */
		assert_int_equal(pal_savedmodel_probe(p, n),
		    strcmp(onnx_files[i], "polyglot.onnx") == 0);
		free(p);
	}
}

static void
probe_refuses_what_is_not_onnx(void **state)
{
	static const uint8_t tf[] = {
		0x08, 0x01, 0x12, 0x08, 0x12, 0x06, 0x0a, 0x04, 0x0a, 0x02,
		'x', 'y',
	};
	uint8_t rnd[4096];
	size_t i, n;
	uint8_t *p;
	unsigned x = 12345;

	(void)state;
	assert_false(pal_onnx_probe(NULL, 0));
	assert_false(pal_onnx_probe((const uint8_t *)"\x08\x08", 2));
	/* ir_version and a graph that is not a message. */
	assert_false(pal_onnx_probe((const uint8_t *)"\x08\x08\x3a\x02\xff\xff",
	    6));
	/* A SavedModel: field 1 varint, field 2 a meta graph, no field 7. */
	assert_false(pal_onnx_probe(tf, sizeof(tf)));
	assert_true(pal_savedmodel_probe(tf, sizeof(tf)));
	/* Random bytes do not frame as a model. */
	for (i = 0; i < sizeof(rnd); i++) {
		x = x * 1103515245u + 12345u;
		rnd[i] = (uint8_t)(x >> 16);
	}
	assert_false(pal_onnx_probe(rnd, sizeof(rnd)));
	/* A model cut short no longer frames. */
	p = load_model("benign_ops.onnx", &n);
	assert_true(pal_onnx_probe(p, n));
	assert_false(pal_onnx_probe(p, n - 3));
	free(p);
}

static void
benign_model_is_clean(void **state)
{
	struct fixture *f = *state;
	const struct pal_scan_result *r;
	size_t n;
	uint8_t *p = load_model("benign_ops.onnx", &n);

	r = scan_bytes(f->scan, p, n, PAL_FMT_UNKNOWN);
	assert_string_equal(r->format, "onnx");
	if (r->status != PAL_ITEM_CLEAN)
		fail_msg("benign model: status %d, %zu findings, %s",
		    r->status, pal_scan_nfindings(f->scan),
		    pal_scan_nfindings(f->scan) ?
		    pal_scan_finding(f->scan, 0)->reason : r->detail);
	assert_int_equal(pal_scan_exit_code(f->scan), 0);
	free(p);
}

static void
external_data_inside_the_directory_is_clean(void **state)
{
	struct fixture *f = *state;
	char dir[1024];
	size_t i;

	data_path(dir, sizeof(dir), DATA_DIR, "external");
	assert_int_equal(pal_scan_add(f->scan, dir), 0);
	assert_int_equal(pal_scan_run(f->scan, NULL), 0);
	for (i = 0; i < pal_scan_nresults(f->scan); i++) {
		const struct pal_scan_result *r = pal_scan_result(f->scan, i);

		if (strstr(r->name, "model.onnx") != NULL) {
			assert_string_equal(r->format, "onnx");
			assert_int_equal(r->status, PAL_ITEM_CLEAN);
		}
	}
	assert_int_equal(pal_scan_nfindings(f->scan), 0);
	assert_int_equal(pal_scan_exit_code(f->scan), 0);
}

/* Each hostile model and the rules it must produce (and no others). */
static const struct {
	const char *file;
	const char *rules[4];
	const char *words;	/* in some finding's reason or location */
} hostile[] = {
	{ "ext_traversal.onnx", { "onnx.external-data-path" },
	  "'../../etc/passwd': the path climbs out" },
	{ "ext_absolute.onnx", { "onnx.external-data-path" },
	  "'/etc/shadow': the path is absolute" },
	{ "ext_backslash.onnx", { "onnx.external-data-path" },
	  "..\\x5c..\\x5cWindows" },
	{ "ext_memaddr.onnx", { "onnx.external-data-memory" },
	  "memory address" },
	{ "ext_subgraph.onnx", { "onnx.external-data-path" },
	  "tensor 'K' in graph 'then_body'" },
	{ "ext_sparse.onnx", { "onnx.external-data-path" },
	  "/proc/self/environ" },
	{ "custom_op.onnx", { "onnx.custom-op", "onnx.custom-domain" },
	  "operator 'Backdoor' of domain 'evil.ops'" },
	{ "contrib_op.onnx", { "onnx.custom-op", "onnx.custom-domain" },
	  "onnxruntime-extensions" },
	{ "function_custom.onnx", { "onnx.custom-op", "onnx.custom-domain" },
	  "in function 'Wrap'" },
	{ "pyop.onnx", { "onnx.python-op", "onnx.custom-op",
	  "onnx.custom-domain" }, "Python module 'os' and calls 'system'" },
	{ "ms_pythonop.onnx", { "onnx.python-op" }, "'evil.Function'" },
	{ "ort_config.onnx", { "onnx.runtime-config" }, "inter_op_num_threads" },
	{ "polyglot.onnx", { "onnx.polyglot", "tf.python-op" }, "PyFunc" },
};

static int
expected(const char *const *rules, const char *rule)
{
	size_t i;

	for (i = 0; i < 4 && rules[i] != NULL; i++)
		if (strcmp(rules[i], rule) == 0)
			return 1;
	return 0;
}

static void
hostile_models_yield_their_rules(void **state)
{
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct fixture *f;
		const struct pal_scan_result *r;
		uint8_t *p = load_model(hostile[i].file, &n);
		int words = 0;
		void *st;

		setup_session(&st);
		f = st;
		r = scan_bytes(f->scan, p, n, PAL_FMT_UNKNOWN);
		if (r->status != PAL_ITEM_FINDINGS)
			fail_msg("%s: status %d (%s)", hostile[i].file,
			    r->status, r->detail ? r->detail : "");
		for (j = 0; j < 4 && hostile[i].rules[j] != NULL; j++)
			if (!has_rule(f->scan, hostile[i].rules[j]))
				fail_msg("%s: no %s", hostile[i].file,
				    hostile[i].rules[j]);
		for (j = 0; j < pal_scan_nfindings(f->scan); j++) {
			const struct pal_finding *fd =
			    pal_scan_finding(f->scan, j);

			if (!expected(hostile[i].rules, fd->rule))
				fail_msg("%s: unexpected %s: %s",
				    hostile[i].file, fd->rule, fd->reason);
			if (strstr(fd->reason, hostile[i].words) != NULL ||
			    strstr(fd->location, hostile[i].words) != NULL)
				words = 1;
		}
		if (!words)
			fail_msg("%s: no finding mentions \"%s\"",
			    hostile[i].file, hostile[i].words);
		assert_int_equal(pal_scan_exit_code(f->scan), 1);
		teardown(&st);
		free(p);
	}
}

static void
copy_file(const char *from, const char *to)
{
	char buf[4096];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
}

static void
external_data_through_a_symlink(void **state)
{
	struct fixture *f = *state;
	const char *base = getenv("PAL_TEST_TMP");
	char dir[512], src[1024], model[600], weights[600];

	snprintf(dir, sizeof(dir), "%s/onnx_link.%d", base ? base : "/tmp",
	    (int)getpid());
	(void)mkdir(base ? base : "/tmp", 0700);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(model, sizeof(model), "%s/model.onnx", dir);
	snprintf(weights, sizeof(weights), "%s/weights.bin", dir);
	data_path(src, sizeof(src), DATA_DIR, "external/model.onnx");
	copy_file(src, model);

	/* A regular file: clean.  A link to a host file: a finding. */
	data_path(src, sizeof(src), DATA_DIR, "external/weights.bin");
	copy_file(src, weights);
	assert_int_equal(pal_scan_add(f->scan, model), 0);
	assert_int_equal(pal_scan_run(f->scan, NULL), 0);
	assert_int_equal(pal_scan_nfindings(f->scan), 0);

	unlink(weights);
	assert_int_equal(symlink("/etc/hostname", weights), 0);
	assert_int_equal(pal_scan_add(f->scan, model), 0);
	assert_int_equal(pal_scan_run(f->scan, NULL), 0);
	assert_true(has_rule(f->scan, "onnx.external-data-symlink"));
	assert_int_equal(pal_scan_exit_code(f->scan), 1);

	unlink(weights);
	unlink(model);
	rmdir(dir);
}

/* Building protobufs by hand for the malformed cases. */
static void
put_varint(struct pal_buf *b, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;

		v >>= 7;
		assert_int_equal(pal_buf_putc(b, (char)(c | (v ? 0x80 : 0))),
		    0);
	} while (v);
}

static void
put_tag(struct pal_buf *b, uint32_t num, unsigned wire)
{
	put_varint(b, (uint64_t)num << 3 | wire);
}

static void
put_vi(struct pal_buf *b, uint32_t num, uint64_t v)
{
	put_tag(b, num, 0);
	put_varint(b, v);
}

static void
put_ld(struct pal_buf *b, uint32_t num, const void *p, size_t n)
{
	put_tag(b, num, 2);
	put_varint(b, n);
	assert_int_equal(pal_buf_append(b, p, n), 0);
}

static void
put_str(struct pal_buf *b, uint32_t num, const char *s)
{
	put_ld(b, num, s, strlen(s));
}

static void
put_msg(struct pal_buf *b, uint32_t num, struct pal_buf *m)
{
	put_ld(b, num, m->p, m->len);
	pal_buf_free(m);
}

static void
node(struct pal_buf *g, const char *op, const char *domain)
{
	struct pal_buf n;

	pal_buf_init(&n, 1 << 20);
	put_str(&n, 1, "X");
	put_str(&n, 2, "Y");
	put_str(&n, 4, op);
	if (domain != NULL)
		put_str(&n, 7, domain);
	put_msg(g, 1, &n);
}

/* ModelProto { ir_version 8, graph, opset_import "" 13 }. */
static void
model(struct pal_buf *m, struct pal_buf *graph)
{
	struct pal_buf o;

	pal_buf_init(m, 64 << 20);
	put_vi(m, 1, 8);
	put_msg(m, 7, graph);
	pal_buf_init(&o, 64);
	put_str(&o, 1, "");
	put_vi(&o, 2, 13);
	put_msg(m, 8, &o);
}

/* Scans a hand-built model (forced to ONNX) and expects an error. */
static void
expect_error(const uint8_t *p, size_t n, int code, const char *words)
{
	const struct pal_scan_result *r;
	struct fixture *f;
	void *st;

	setup_session(&st);
	f = st;
	r = scan_bytes(f->scan, p, n, PAL_FMT_ONNX);
	if (r->status != PAL_ITEM_ERROR || r->detail == NULL ||
	    strstr(r->detail, words) == NULL)
		fail_msg("status %d detail '%s', want error with '%s'",
		    r->status, r->detail ? r->detail : "", words);
	assert_int_equal(f->scan->err.code, code);
	assert_int_equal(pal_scan_exit_code(f->scan), 2);
	teardown(&st);
}

static void
truncated_models_are_errors(void **state)
{
	struct pal_pb_field f;
	struct pal_pb_msg m;
	char want[64];
	size_t n, cut, graph_end = 0, graph_tag = 0;
	uint8_t *p = load_model("benign_ops.onnx", &n);

	(void)state;
	/* Where the graph (field 7) is. */
	pal_pb_init(&m, p, n, 0, 0);
	while (pal_pb_next(&m, &f, NULL) == 1)
		if (f.num == 7) {
			graph_tag = f.off;
			graph_end = f.val_off + (size_t)f.v;
		}
	assert_true(graph_end > 0 && graph_end < n);
	snprintf(want, sizeof(want), "offset %zu: field 7: length",
	    graph_tag);
	/* Every cut inside the graph leaves its length past the end. */
	for (cut = graph_tag + 3; cut < graph_end; cut += 7)
		expect_error(p, cut, PAL_ERR_TRUNCATED, want);
	/* A cut inside a varint. */
	expect_error(p, 1, PAL_ERR_TRUNCATED, "offset 1: field 1: varint");
	free(p);
}

static void
malformed_fields_are_errors(void **state)
{
	struct pal_buf g, m, n, a;

	(void)state;
	/* Bad wire type inside a node: field 4 (op_type) as a varint. */
	pal_buf_init(&g, 1 << 20);
	pal_buf_init(&n, 1 << 20);
	put_vi(&n, 4, 1);
	put_msg(&g, 1, &n);
	model(&m, &g);
	expect_error(m.p, m.len, PAL_ERR_FORMAT,
	    "field 4 (NodeProto.op_type): varint value");
	pal_buf_free(&m);

	/* Wire type 6 inside a node. */
	pal_buf_init(&g, 1 << 20);
	pal_buf_init(&n, 1 << 20);
	put_str(&n, 4, "Relu");
	put_tag(&n, 9, 6);
	put_msg(&g, 1, &n);
	model(&m, &g);
	expect_error(m.p, m.len, PAL_ERR_FORMAT, "field 9: wire type 6");
	pal_buf_free(&m);

	/* A group in an attribute. */
	pal_buf_init(&g, 1 << 20);
	pal_buf_init(&n, 1 << 20);
	pal_buf_init(&a, 1 << 20);
	put_str(&a, 1, "x");
	put_tag(&a, 30, 3);
	put_tag(&a, 30, 4);
	put_str(&n, 4, "Relu");
	put_msg(&n, 5, &a);
	put_msg(&g, 1, &n);
	model(&m, &g);
	expect_error(m.p, m.len, PAL_ERR_FORMAT, "field 30: groups");
	pal_buf_free(&m);

	/* op_type twice: runtimes keep the second, "PyOp". */
	pal_buf_init(&g, 1 << 20);
	pal_buf_init(&n, 1 << 20);
	put_str(&n, 4, "Relu");
	put_str(&n, 4, "PyOp");
	put_msg(&g, 1, &n);
	model(&m, &g);
	expect_error(m.p, m.len, PAL_ERR_FORMAT,
	    "(NodeProto.op_type) appears twice");
	pal_buf_free(&m);

	/* The graph as a varint. */
	pal_buf_init(&m, 64);
	put_vi(&m, 1, 8);
	put_vi(&m, 7, 1);
	expect_error(m.p, m.len, PAL_ERR_FORMAT,
	    "offset 2: field 7 (ModelProto.graph)");
	pal_buf_free(&m);

	/* No ir_version. */
	pal_buf_init(&g, 1 << 20);
	node(&g, "Relu", NULL);
	pal_buf_init(&m, 1 << 20);
	put_msg(&m, 7, &g);
	expect_error(m.p, m.len, PAL_ERR_FORMAT, "no ir_version");
	pal_buf_free(&m);

	/* A length past the end of its node, inside a valid graph. */
	pal_buf_init(&g, 1 << 20);
	pal_buf_init(&n, 1 << 20);
	put_tag(&n, 4, 2);
	put_varint(&n, 50);
	assert_int_equal(pal_buf_append(&n, "Relu", 4), 0);
	put_msg(&g, 1, &n);
	model(&m, &g);
	expect_error(m.p, m.len, PAL_ERR_TRUNCATED,
	    "offset 6: field 4: length 50 runs past");
	pal_buf_free(&m);
}

/* Graph nested depth times through If attributes, a custom op at the
 * bottom. */
static void
nested_graph(struct pal_buf *out, unsigned depth)
{
	struct pal_buf g, n, a;
	unsigned i;

	pal_buf_init(&g, 1 << 20);
	node(&g, "Deep", "evil.ops");
	for (i = 0; i < depth; i++) {
		pal_buf_init(&a, 1 << 20);
		put_str(&a, 1, "then_branch");
		put_vi(&a, 20, 5);
		put_msg(&a, 6, &g);
		pal_buf_init(&n, 1 << 20);
		put_str(&n, 4, "If");
		put_msg(&n, 5, &a);
		pal_buf_init(&g, 1 << 20);
		put_msg(&g, 1, &n);
	}
	*out = g;
}

static void
deep_subgraphs_hit_the_limit(void **state)
{
	struct fixture *f = *state;
	const struct pal_scan_result *r;
	struct pal_buf g, m;

	/* Twenty levels of If bodies are fine, and the custom op at the
	 * bottom is found through all of them. */
	nested_graph(&g, 20);
	model(&m, &g);
	r = scan_bytes(f->scan, m.p, m.len, PAL_FMT_UNKNOWN);
	assert_int_equal(r->status, PAL_ITEM_FINDINGS);
	assert_true(has_rule(f->scan, "onnx.custom-op"));
	pal_buf_free(&m);

	/* Thirty levels pass the message depth cap. */
	nested_graph(&g, 30);
	model(&m, &g);
	expect_error(m.p, m.len, PAL_ERR_LIMIT, "nested deeper than 64");
	pal_buf_free(&m);
}

static void
custom_ops_are_reported_once_each(void **state)
{
	struct fixture *f = *state;
	const struct pal_scan_result *r;
	struct pal_buf g, m;
	char op[32];
	int i;

	/* 3000 nodes of one custom operator: one finding. */
	pal_buf_init(&g, 1 << 22);
	for (i = 0; i < 3000; i++)
		node(&g, "Steal", "evil.ops");
	model(&m, &g);
	r = scan_bytes(f->scan, m.p, m.len, PAL_FMT_UNKNOWN);
	assert_int_equal(r->status, PAL_ITEM_FINDINGS);
	assert_int_equal(r->nfindings, 1);
	pal_buf_free(&m);

	/* 3000 distinct ones: capped by the session's finding limit. */
	pal_buf_init(&g, 1 << 22);
	for (i = 0; i < 3000; i++) {
		snprintf(op, sizeof(op), "Op%d", i);
		node(&g, op, "evil.ops");
	}
	model(&m, &g);
	r = scan_bytes(f->scan, m.p, m.len, PAL_FMT_UNKNOWN);
	assert_int_equal(r->status, PAL_ITEM_FINDINGS);
	assert_int_equal(r->nfindings, 50);
	assert_int_equal(r->dropped, 2950);
	pal_buf_free(&m);
}

static void
ai_onnx_alias_and_local_functions_are_standard(void **state)
{
	struct fixture *f = *state;
	const struct pal_scan_result *r;
	struct pal_buf g, m, fn, fnode;

	pal_buf_init(&g, 1 << 20);
	node(&g, "Relu", "ai.onnx");
	node(&g, "LinearRegressor", "ai.onnx.ml");
	node(&g, "QAttention", "com.microsoft");
	node(&g, "Helper", "my.local");
	model(&m, &g);
	/* FunctionProto { name 1, node 7, domain 10 }, stored last. */
	pal_buf_init(&fn, 1 << 20);
	put_str(&fn, 1, "Helper");
	pal_buf_init(&fnode, 1 << 20);
	put_str(&fnode, 4, "Relu");
	put_msg(&fn, 7, &fnode);
	put_str(&fn, 10, "my.local");
	put_msg(&m, 25, &fn);
	r = scan_bytes(f->scan, m.p, m.len, PAL_FMT_UNKNOWN);
	assert_int_equal(r->status, PAL_ITEM_CLEAN);
	pal_buf_free(&m);
}

/* A model calling local function (my.local, Helper) with an overload. */
static void
overload_model(struct pal_buf *m, const char *fn_overload,
    const char *node_overload)
{
	struct pal_buf g, n, fn, fnode;

	pal_buf_init(&g, 1 << 20);
	pal_buf_init(&n, 1 << 20);
	put_str(&n, 4, "Helper");
	put_str(&n, 7, "my.local");
	put_str(&n, 8, node_overload);
	put_msg(&g, 1, &n);
	model(m, &g);
	pal_buf_init(&fn, 1 << 20);
	put_str(&fn, 1, "Helper");
	pal_buf_init(&fnode, 1 << 20);
	put_str(&fnode, 4, "Relu");
	put_msg(&fn, 7, &fnode);
	put_str(&fn, 10, "my.local");
	put_str(&fn, 13, fn_overload);
	put_msg(m, 25, &fn);
}

static void
local_functions_match_by_overload(void **state)
{
	struct fixture *f = *state;
	const struct pal_scan_result *r;
	struct pal_buf m;

	overload_model(&m, "v2", "v2");
	r = scan_bytes(f->scan, m.p, m.len, PAL_FMT_UNKNOWN);
	assert_int_equal(r->status, PAL_ITEM_CLEAN);
	pal_buf_free(&m);

	/* Another overload than the model defines: a custom operator. */
	overload_model(&m, "v2", "v3");
	r = scan_bytes(f->scan, m.p, m.len, PAL_FMT_UNKNOWN);
	assert_int_equal(r->status, PAL_ITEM_FINDINGS);
	assert_true(has_rule(f->scan, "onnx.custom-op"));
	pal_buf_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(detects_onnx_by_structure),
		cmocka_unit_test(probe_refuses_what_is_not_onnx),
		cmocka_unit_test_setup_teardown(benign_model_is_clean,
		    setup_session, teardown),
		cmocka_unit_test_setup_teardown(
		    external_data_inside_the_directory_is_clean,
		    setup_session, teardown),
		cmocka_unit_test(hostile_models_yield_their_rules),
		cmocka_unit_test_setup_teardown(external_data_through_a_symlink,
		    setup_session, teardown),
		cmocka_unit_test(truncated_models_are_errors),
		cmocka_unit_test(malformed_fields_are_errors),
		cmocka_unit_test_setup_teardown(deep_subgraphs_hit_the_limit,
		    setup_session, teardown),
		cmocka_unit_test_setup_teardown(
		    custom_ops_are_reported_once_each, setup_session, teardown),
		cmocka_unit_test_setup_teardown(
		    ai_onnx_alias_and_local_functions_are_standard,
		    setup_session, teardown),
		cmocka_unit_test_setup_teardown(
		    local_functions_match_by_overload, setup_session, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
