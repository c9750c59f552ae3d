/*
 * test_savedmodel.c - the TensorFlow SavedModel scanner: detection by
 * structure (against ONNX), TF1 and TF2 SavedModels with their savers come
 * out clean, each dangerous op and asset path yields its rule, checkpoint
 * ops are allowed only in the saver's machinery, Keras metadata reaches
 * the Keras check, and malformed protobufs end in errors naming offset
 * and field.  The files are made by tests/data/savedmodel/gen_savedmodel.py;
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
#include "scan_fixture.h"

#define DATA_DIR "savedmodel"

/* Reads a test model under $PAL_TEST_DATA/savedmodel (caller frees). */
static uint8_t *
load_model(const char *name, size_t *len)
{
	return load_in(DATA_DIR, name, len);
}

/* Scans bytes as a top-level item; returns its result. */
static const struct pal_scan_result *
scan_bytes(struct pal_scan *s, const void *p, size_t n, enum pal_format fmt)
{
	return scan_fixture_append(s, "saved_model.pb", p, n, fmt);
}

static const char *const tf_files[] = {
	"tf2/saved_model.pb", "tf1/saved_model.pb",
	"keras_benign/keras_metadata.pb", "keras_lambda/keras_metadata.pb",
	"pyfunc/saved_model.pb", "pyfunc_restore/saved_model.pb",
	"readfile/saved_model.pb", "save_serving/saved_model.pb",
	"save_scope/saved_model.pb", "asset/saved_model.pb",
	"asset_tf1/saved_model.pb",
	"print/saved_model.pb", "decodeproto/saved_model.pb",
	"network/saved_model.pb",
};

static void
detects_savedmodels_by_structure(void **state)
{
	size_t i, n;
	uint8_t *p;

	(void)state;
	for (i = 0; i < sizeof(tf_files) / sizeof(tf_files[0]); i++) {
		p = load_model(tf_files[i], &n);
		if (pal_detect(p, n) != PAL_FMT_TF_SAVEDMODEL)
			fail_msg("%s detected as %s", tf_files[i],
			    pal_format_name(pal_detect(p, n)));
		assert_false(pal_onnx_probe(p, n));
		free(p);
	}
}

static void
probe_refuses_onnx_and_noise(void **state)
{
	uint8_t rnd[4096];
	unsigned x = 777;
	size_t i, n;
	uint8_t *p;

	(void)state;
	assert_false(pal_savedmodel_probe(NULL, 0));
	/* An ONNX ModelProto: field 2 is producer_name, not a meta graph. */
	assert_false(pal_savedmodel_probe(
	    (const uint8_t *)"\x08\x08\x12\x07pytorch\x3a\x00", 13));
	/* A meta graph that is only a string. */
	assert_false(pal_savedmodel_probe((const uint8_t *)"\x12\x02hi", 4));
	for (i = 0; i < sizeof(rnd); i++) {
		x = x * 1103515245u + 12345u;
		rnd[i] = (uint8_t)(x >> 16);
	}
	assert_false(pal_savedmodel_probe(rnd, sizeof(rnd)));
	p = load_model("tf2/saved_model.pb", &n);
	assert_true(pal_savedmodel_probe(p, n));
	assert_false(pal_savedmodel_probe(p, n - 1));
	free(p);
}

static void
expect_clean_file(struct fixture *f, const char *name)
{
	const struct pal_scan_result *r;
	char path[1024];

	data_path(path, sizeof(path), DATA_DIR, name);
	assert_int_equal(pal_scan_add(f->scan, path), 0);
	assert_int_equal(pal_scan_run(f->scan, NULL), 0);
	r = pal_scan_result(f->scan, pal_scan_nresults(f->scan) - 1);
	assert_string_equal(r->format, "tf-savedmodel");
	if (r->status != PAL_ITEM_CLEAN)
		fail_msg("%s: status %d: %s", name, r->status,
		    pal_scan_nfindings(f->scan) ?
		    pal_scan_finding(f->scan, 0)->reason : r->detail);
	assert_int_equal(pal_scan_exit_code(f->scan), 0);
}

static void
tf2_savedmodel_is_clean(void **state)
{
	expect_clean_file(*state, "tf2/saved_model.pb");
}

static void
tf1_savedmodel_is_clean(void **state)
{
	expect_clean_file(*state, "tf1/saved_model.pb");
}

static const struct {
	const char *file;
	const char *rules[3];
	const char *words;
} hostile[] = {
	{ "pyfunc/saved_model.pb", { "tf.python-op" },
	  "op EagerPyFunc calls the Python function" },
	{ "pyfunc_restore/saved_model.pb", { "tf.python-op" },
	  "function '__inference__traced_restore_88'" },
	{ "readfile/saved_model.pb", { "tf.file-read", "tf.file-write" },
	  "node 'leak/ReadFile' in graph" },
	{ "save_serving/saved_model.pb", { "tf.checkpoint-io" },
	  "node 'SaveV2' in function '__inference_call_33'" },
	{ "save_scope/saved_model.pb", { "tf.checkpoint-io" },
	  "node 'evil/SaveV2' in graph" },
	{ "asset/saved_model.pb", { "tf.asset-path" },
	  "'../../../../etc/passwd': the path climbs out" },
	{ "asset_tf1/saved_model.pb", { "tf.asset-path" },
	  "'/etc/passwd': the path is absolute" },
	{ "print/saved_model.pb", { "tf.file-write", "tf.print" },
	  "appends its input to the file named by output_stream" },
	{ "decodeproto/saved_model.pb", { "tf.file-read" },
	  "descriptor_source" },
	{ "network/saved_model.pb", { "tf.network" },
	  "RpcServerRegister" },
};

static int
expected(const char *const *rules, const char *rule)
{
	size_t i;

	for (i = 0; i < 3 && rules[i] != NULL; i++)
		if (strcmp(rules[i], rule) == 0)
			return 1;
	return 0;
}

static void
hostile_savedmodels_yield_their_rules(void **state)
{
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		const struct pal_scan_result *r;
		struct fixture *f;
		uint8_t *p = load_model(hostile[i].file, &n);
		int words = 0;
		void *st;

		setup_session(&st);
		f = st;
		r = scan_bytes(f->scan, p, n, PAL_FMT_UNKNOWN);
		if (r->status != PAL_ITEM_FINDINGS)
			fail_msg("%s: status %d (%s)", hostile[i].file,
			    r->status, r->detail ? r->detail : "");
		for (j = 0; j < 3 && hostile[i].rules[j] != NULL; j++)
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
		teardown(&st);
		free(p);
	}
}

static void
decodeproto_with_inline_descriptors_is_quiet(void **state)
{
	struct fixture *f = *state;
	size_t n, i, reads = 0;
	uint8_t *p = load_model("decodeproto/saved_model.pb", &n);

	/* The file has one DecodeProtoV2 reading /etc/passwd and one with
	 * local:// descriptors: only the first is reported. */
	scan_bytes(f->scan, p, n, PAL_FMT_UNKNOWN);
	for (i = 0; i < pal_scan_nfindings(f->scan); i++)
		if (strcmp(pal_scan_finding(f->scan, i)->rule,
		    "tf.file-read") == 0) {
			reads++;
			assert_non_null(strstr(pal_scan_finding(f->scan,
			    i)->location, "'DecodeProtoV2'"));
		}
	assert_int_equal(reads, 1);
	free(p);
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
asset_through_a_symlink(void **state)
{
	struct fixture *f = *state;
	const char *base = getenv("PAL_TEST_TMP");
	char dir[512], src[1024], pb[600], assets[600], vocab[700];

	snprintf(dir, sizeof(dir), "%s/tf_link.%d", base ? base : "/tmp",
	    (int)getpid());
	(void)mkdir(base ? base : "/tmp", 0700);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(pb, sizeof(pb), "%s/saved_model.pb", dir);
	snprintf(assets, sizeof(assets), "%s/assets", dir);
	snprintf(vocab, sizeof(vocab), "%s/vocab.txt", assets);
	data_path(src, sizeof(src), DATA_DIR, "tf2/saved_model.pb");
	copy_file(src, pb);
	assert_int_equal(mkdir(assets, 0700), 0);

	/* The asset is a link to a host file. */
	assert_int_equal(symlink("/etc/hostname", vocab), 0);
	assert_int_equal(pal_scan_add(f->scan, pb), 0);
	assert_int_equal(pal_scan_run(f->scan, NULL), 0);
	assert_true(has_rule(f->scan, "tf.asset-symlink"));
	unlink(vocab);
	rmdir(assets);

	/* The assets directory is a link. */
	assert_int_equal(symlink("/etc", assets), 0);
	pal_scan_free(f->scan);
	{
		struct pal_scan_opts opts;

		memset(&opts, 0, sizeof(opts));
		pal_scan_limits_default(&opts.limits);
		opts.policy = f->policy;
		assert_int_equal(pal_scan_new(&opts, &f->scan, NULL), 0);
	}
	assert_int_equal(pal_scan_add(f->scan, pb), 0);
	assert_int_equal(pal_scan_run(f->scan, NULL), 0);
	assert_true(has_rule(f->scan, "tf.asset-symlink"));
	unlink(assets);
	unlink(pb);
	rmdir(dir);
}

/*
 * 1 while the shared Keras check is not wired in yet (it then fails with
 * "not built yet"); the scan must still not come out clean.
 */
static int
keras_check_pending(const struct pal_scan_result *r)
{
	return r->status == PAL_ITEM_ERROR && r->detail != NULL &&
	    strstr(r->detail, "not built yet") != NULL;
}

static void
keras_metadata_reaches_the_keras_check(void **state)
{
	const struct pal_scan_result *r;
	struct fixture *f = *state;
	size_t n;
	uint8_t *p;

	p = load_model("keras_lambda/keras_metadata.pb", &n);
	r = scan_bytes(f->scan, p, n, PAL_FMT_UNKNOWN);
	assert_string_equal(r->format, "tf-savedmodel");
	if (keras_check_pending(r)) {
		assert_non_null(strstr(r->detail, "Keras metadata at offset"));
	} else {
		if (r->status != PAL_ITEM_FINDINGS)
			fail_msg("Lambda in keras_metadata.pb: status %d (%s)",
			    r->status, r->detail ? r->detail : "");
		assert_true(has_rule(f->scan, "keras.lambda"));
	}
	free(p);

	p = load_model("keras_benign/keras_metadata.pb", &n);
	r = scan_bytes(f->scan, p, n, PAL_FMT_UNKNOWN);
	if (!keras_check_pending(r) && r->status != PAL_ITEM_CLEAN)
		fail_msg("benign keras metadata: status %d: %s", r->status,
		    r->detail ? r->detail : "finding");
	free(p);
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

/* NodeDef { name, op, attr { key "f", value { func { name } } } }. */
static void
node(struct pal_buf *out, uint32_t field, const char *name, const char *op,
    const char *func)
{
	struct pal_buf n, e, v, fn;

	pal_buf_init(&n, 1 << 20);
	put_str(&n, 1, name);
	put_str(&n, 2, op);
	if (func != NULL) {
		pal_buf_init(&fn, 1 << 20);
		put_str(&fn, 1, func);
		pal_buf_init(&v, 1 << 20);
		put_msg(&v, 10, &fn);
		pal_buf_init(&e, 1 << 20);
		put_str(&e, 1, "f");
		put_msg(&e, 2, &v);
		put_msg(&n, 5, &e);
	}
	put_msg(out, field, &n);
}

/* FunctionDef { signature { name }, node_def { ... } } into a library. */
static void
function(struct pal_buf *lib, const char *name, const char *node_name,
    const char *op)
{
	struct pal_buf fd, sig;

	pal_buf_init(&fd, 1 << 20);
	pal_buf_init(&sig, 1 << 20);
	put_str(&sig, 1, name);
	put_msg(&fd, 1, &sig);
	node(&fd, 3, node_name, op, NULL);
	put_msg(lib, 1, &fd);
}

/* SavedModel { 1: 1, 2: MetaGraphDef { graph_def, saver_def } }. */
static void
savedmodel(struct pal_buf *out, struct pal_buf *graph, const char *restore)
{
	struct pal_buf meta, saver;

	pal_buf_init(&meta, 1 << 22);
	put_msg(&meta, 2, graph);
	if (restore != NULL) {
		pal_buf_init(&saver, 1 << 20);
		put_str(&saver, 1, "saver_filename:0");
		put_str(&saver, 3, restore);
		put_msg(&meta, 3, &saver);
	}
	pal_buf_init(out, 1 << 22);
	put_tag(out, 1, 0);
	put_varint(out, 1);
	put_msg(out, 2, &meta);
}

static void
saver_reach_follows_calls(void **state)
{
	struct fixture *f = *state;
	const struct pal_scan_result *r;
	struct pal_buf g, lib, m;
	size_t i;

	/* restore node -> "outer" (by attribute) -> "inner" (called by op
	 * name) -> RestoreV2: allowed.  "stray" has RestoreV2 too, but
	 * nothing in the saver calls it. */
	pal_buf_init(&g, 1 << 22);
	node(&g, 1, "restore", "StatefulPartitionedCall", "outer");
	pal_buf_init(&lib, 1 << 22);
	function(&lib, "outer", "call", "inner");
	function(&lib, "inner", "RestoreV2", "RestoreV2");
	function(&lib, "stray", "RestoreV2", "RestoreV2");
	put_msg(&g, 2, &lib);
	savedmodel(&m, &g, "restore");
	r = scan_bytes(f->scan, m.p, m.len, PAL_FMT_UNKNOWN);
	assert_string_equal(r->format, "tf-savedmodel");
	assert_int_equal(r->status, PAL_ITEM_FINDINGS);
	assert_int_equal(r->nfindings, 1);
	for (i = 0; i < pal_scan_nfindings(f->scan); i++)
		assert_non_null(strstr(pal_scan_finding(f->scan, i)->location,
		    "function 'stray'"));
	pal_buf_free(&m);
}

static void
expect_error(const uint8_t *p, size_t n, int code, const char *words)
{
	const struct pal_scan_result *r;
	struct fixture *f;
	void *st;

	setup_session(&st);
	f = st;
	r = scan_bytes(f->scan, p, n, PAL_FMT_TF_SAVEDMODEL);
	if (r->status != PAL_ITEM_ERROR || r->detail == NULL ||
	    strstr(r->detail, words) == NULL)
		fail_msg("status %d detail '%s', want error with '%s'",
		    r->status, r->detail ? r->detail : "", words);
	assert_int_equal(f->scan->err.code, code);
	teardown(&st);
}

static void
malformed_savedmodels_are_errors(void **state)
{
	struct pal_buf g, m, n;
	size_t len, cut;
	uint8_t *p;

	(void)state;
	/* Truncated anywhere inside the meta graph. */
	p = load_model("tf2/saved_model.pb", &len);
	for (cut = 5; cut < len; cut += 97)
		expect_error(p, cut, PAL_ERR_TRUNCATED,
		    "offset 2: field 2: length");
	free(p);

	/* op twice: TensorFlow keeps the second, PyFunc. */
	pal_buf_init(&g, 1 << 20);
	pal_buf_init(&n, 1 << 20);
	put_str(&n, 1, "x");
	put_str(&n, 2, "Identity");
	put_str(&n, 2, "PyFunc");
	put_msg(&g, 1, &n);
	savedmodel(&m, &g, NULL);
	expect_error(m.p, m.len, PAL_ERR_FORMAT, "(NodeDef.op) appears twice");
	pal_buf_free(&m);

	/* A group inside a node. */
	pal_buf_init(&g, 1 << 20);
	pal_buf_init(&n, 1 << 20);
	put_str(&n, 2, "Identity");
	put_tag(&n, 40, 3);
	put_tag(&n, 40, 4);
	put_msg(&g, 1, &n);
	savedmodel(&m, &g, NULL);
	expect_error(m.p, m.len, PAL_ERR_FORMAT, "field 40: groups");
	pal_buf_free(&m);

	/* The op as a varint. */
	pal_buf_init(&g, 1 << 20);
	pal_buf_init(&n, 1 << 20);
	put_tag(&n, 2, 0);
	put_varint(&n, 7);
	put_msg(&g, 1, &n);
	savedmodel(&m, &g, NULL);
	expect_error(m.p, m.len, PAL_ERR_FORMAT, "field 2 (NodeDef.op)");
	pal_buf_free(&m);

	/* No meta graph at all. */
	expect_error((const uint8_t *)"\x08\x01", 2, PAL_ERR_FORMAT,
	    "no meta graph");
}

static void
deep_function_attributes_hit_the_limit(void **state)
{
	struct pal_buf v, fn, e, n, g, m;
	unsigned i;

	(void)state;
	/* AttrValue { func { name, attr { "f": AttrValue { func ... } } } }
	 * nested 40 times on the restore node: the walk that follows the
	 * saver's calls stops at the depth cap. */
	pal_buf_init(&v, 1 << 20);
	put_str(&v, 2, "leaf");
	for (i = 0; i < 40; i++) {
		pal_buf_init(&e, 1 << 20);
		put_str(&e, 1, "f");
		put_msg(&e, 2, &v);
		pal_buf_init(&fn, 1 << 20);
		put_str(&fn, 1, "fn");
		put_msg(&fn, 2, &e);
		pal_buf_init(&v, 1 << 20);
		put_msg(&v, 10, &fn);
	}
	pal_buf_init(&e, 1 << 20);
	put_str(&e, 1, "f");
	put_msg(&e, 2, &v);
	pal_buf_init(&n, 1 << 20);
	put_str(&n, 1, "restore");
	put_str(&n, 2, "StatefulPartitionedCall");
	put_msg(&n, 5, &e);
	pal_buf_init(&g, 1 << 20);
	put_msg(&g, 1, &n);
	{
		struct pal_buf lib;

		pal_buf_init(&lib, 1 << 20);
		function(&lib, "fn", "x", "Identity");
		put_msg(&g, 2, &lib);
	}
	savedmodel(&m, &g, "restore");
	expect_error(m.p, m.len, PAL_ERR_LIMIT, "nested deeper than 64");
	pal_buf_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(detects_savedmodels_by_structure),
		cmocka_unit_test(probe_refuses_onnx_and_noise),
		cmocka_unit_test_setup_teardown(tf2_savedmodel_is_clean,
		    setup_session, teardown),
		cmocka_unit_test_setup_teardown(tf1_savedmodel_is_clean,
		    setup_session, teardown),
		cmocka_unit_test(hostile_savedmodels_yield_their_rules),
		cmocka_unit_test_setup_teardown(
		    decodeproto_with_inline_descriptors_is_quiet,
		    setup_session, teardown),
		cmocka_unit_test_setup_teardown(asset_through_a_symlink,
		    setup_session, teardown),
		cmocka_unit_test_setup_teardown(
		    keras_metadata_reaches_the_keras_check,
		    setup_session, teardown),
		cmocka_unit_test_setup_teardown(saver_reach_follows_calls,
		    setup_session, teardown),
		cmocka_unit_test(malformed_savedmodels_are_errors),
		cmocka_unit_test(deep_function_attributes_hit_the_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
