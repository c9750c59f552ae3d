/*
 * test_savedmodel_text.c - the SavedModel text-format reader
 * (saved_model.pbtxt): every binary test model printed in text format is
 * judged exactly as its binary form (same rules, severities, reasons and
 * nodes), benign text models in every corner of the grammar are clean,
 * escapes are decoded before ops are judged, the saver's allowance holds
 * in text as in binary, and malformed text ends in an error naming its
 * line and column.  The text files are printed from the binary ones by
 * tests/data/savedmodel/gen_savedmodel.py (pbtext.py); the malformed
 * inputs are written here.
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

/* Reads a test file under $PAL_TEST_DATA/savedmodel (caller frees). */
static uint8_t *
load_model(const char *name, size_t *len)
{
	return load_in(DATA_DIR, name, len);
}

/* The findings with this rule, as the int the messages here print. */
static int
nrule(const struct pal_scan *s, const char *rule)
{
	return (int)count_rule(s, rule);
}

/* Scans bytes as a top-level item; returns its result. */
static const struct pal_scan_result *
scan_as(struct pal_scan *s, const void *p, size_t n, enum pal_format fmt)
{
	return scan_fixture_append(s, "saved_model.pbtxt", p, n, fmt);
}

static const struct pal_scan_result *
scan_text(struct pal_scan *s, const char *text)
{
	return scan_as(s, text, strlen(text), PAL_FMT_TF_SAVEDMODEL_TEXT);
}

/* The binary test models; each has a text twin under text/. */
static const char *const models[] = {
	"tf2", "tf1", "pyfunc", "pyfunc_restore", "readfile",
	"save_serving", "save_scope", "asset", "asset_tf1", "print",
	"decodeproto", "network", "keras_object",
};

static const char *const text_only[] = {
	"tf2_styled", "pyfunc_styled", "pyfunc_escaped", "asset_tf1_expanded",
};

static void
text_models_are_detected(void **state)
{
	char name[256];
	size_t i, n;
	uint8_t *p;

	(void)state;
	for (i = 0; i < sizeof(models) / sizeof(models[0]) +
	    sizeof(text_only) / sizeof(text_only[0]); i++) {
		snprintf(name, sizeof(name), "text/%s/saved_model.pbtxt",
		    i < sizeof(models) / sizeof(models[0]) ? models[i] :
		    text_only[i - sizeof(models) / sizeof(models[0])]);
		p = load_model(name, &n);
		if (pal_detect(p, n) != PAL_FMT_TF_SAVEDMODEL_TEXT)
			fail_msg("%s detected as %s", name,
			    pal_format_name(pal_detect(p, n)));
		free(p);
	}
}

/*
 * A finding as text, with its position left out: binary findings say
 * "offset N", text ones "line L, column C", about the same node.
 */
static void
describe(const struct pal_finding *fd, char *out, size_t n)
{
	const char *loc = fd->location, *paren = strstr(loc, " (");
	int keep = paren != NULL ? (int)(paren - loc) : (int)strlen(loc);

	if (strncmp(loc, "offset ", 7) == 0 || strncmp(loc, "line ", 5) == 0)
		keep = 0;
	assert_true((size_t)snprintf(out, n, "%s|%s|%.*s|%s", fd->rule,
	    pal_severity_name(fd->severity), keep, loc, fd->reason) < n);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The findings of a fresh scan of one file, described and sorted. */
static size_t
findings_of(struct fixture *f, const char *name, char ***out,
    enum pal_item_status *status)
{
	const struct pal_scan_result *r;
	char path[1024], **v;
	size_t i, n;

	data_path(path, sizeof(path), DATA_DIR, name);
	assert_int_equal(pal_scan_add(f->scan, path), 0);
	assert_int_equal(pal_scan_run(f->scan, NULL), 0);
	r = pal_scan_result(f->scan, 0);
	*status = r->status;
	if (r->status == PAL_ITEM_ERROR)
		fail_msg("%s: error: %s", name, r->detail);
	n = pal_scan_nfindings(f->scan);
	v = calloc(n + 1, sizeof(*v));
	assert_non_null(v);
	for (i = 0; i < n; i++) {
		v[i] = malloc(4096);
		assert_non_null(v[i]);
		describe(pal_scan_finding(f->scan, i), v[i], 4096);
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

static void
free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
text_and_binary_forms_are_judged_alike(void **state)
{
	enum pal_item_status sb, st;
	char bin[256], txt[256], **fb, **ft;
	size_t i, j, nb, nt, total = 0;
	void *s1, *s2;

	(void)state;
	for (i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		snprintf(bin, sizeof(bin), "%s/saved_model.pb", models[i]);
		snprintf(txt, sizeof(txt), "text/%s/saved_model.pbtxt",
		    models[i]);
		setup_session(&s1);
		setup_session(&s2);
		nb = findings_of(s1, bin, &fb, &sb);
		nt = findings_of(s2, txt, &ft, &st);
		assert_string_equal(pal_scan_result(((struct fixture *)s2)->
		    scan, 0)->format, "tf-savedmodel-text");
		if (sb != st || nb != nt)
			fail_msg("%s: binary status %d with %zu findings, text "
			    "status %d with %zu", models[i], sb, nb, st, nt);
		for (j = 0; j < nb; j++)
			if (strcmp(fb[j], ft[j]) != 0)
				fail_msg("%s: binary '%s', text '%s'",
				    models[i], fb[j], ft[j]);
		total += nb;
		free_list(fb, nb);
		free_list(ft, nt);
		teardown(&s1);
		teardown(&s2);
	}
	/* The comparison is about something: the hostile models report. */
	assert_true(total >= 14);
}

static void
expect_clean(struct fixture *f, const char *name)
{
	const struct pal_scan_result *r;
	char path[1024];

	data_path(path, sizeof(path), DATA_DIR, name);
	assert_int_equal(pal_scan_add(f->scan, path), 0);
	assert_int_equal(pal_scan_run(f->scan, NULL), 0);
	r = pal_scan_result(f->scan, pal_scan_nresults(f->scan) - 1);
	assert_string_equal(r->format, "tf-savedmodel-text");
	if (r->status != PAL_ITEM_CLEAN)
		fail_msg("%s: status %d: %s", name, r->status,
		    pal_scan_nfindings(f->scan) ?
		    pal_scan_finding(f->scan, 0)->reason : r->detail);
	assert_int_equal(pal_scan_exit_code(f->scan), 0);
}

static void
benign_text_models_are_clean(void **state)
{
	static const char *const benign[] = {
		"text/tf2/saved_model.pbtxt", "text/tf1/saved_model.pbtxt",
		"text/tf2_styled/saved_model.pbtxt",
	};
	size_t i;
	void *st;

	(void)state;
	for (i = 0; i < sizeof(benign) / sizeof(benign[0]); i++) {
		setup_session(&st);
		expect_clean(st, benign[i]);
		teardown(&st);
	}
}

/* Line and column (from 1) of the first occurrence of needle in text. */
static void
pos_of(const char *text, const char *needle, char *out, size_t n)
{
	const char *hit = strstr(text, needle), *p, *lstart = text;
	size_t line = 1;

	assert_non_null(hit);
	for (p = text; p < hit; p++)
		if (*p == '\n') {
			line++;
			lstart = p + 1;
		}
	snprintf(out, n, "line %zu, column %zu", line,
	    (size_t)(hit - lstart) + 1);
}

static void
findings_name_the_line_and_column(void **state)
{
	static const struct {
		const char *file, *rule, *at, *words;
	} want[] = {
		{ "pyfunc_escaped", "tf.python-op",
		  "node_def {\n          name: \"py\"",
		  "op EagerPyFunc calls the Python function" },
		{ "pyfunc_styled", "tf.python-op",
		  "<\n              name: 'py'",
		  "op EagerPyFunc calls the Python function" },
		{ "asset_tf1_expanded", "tf.asset-path", "\"/etc/passwd\"",
		  "asset file '/etc/passwd': the path is absolute" },
		{ "asset_tf1", "tf.asset-path",
		  "\"\\n\\016\\n\\014asset_path:0\\022\\013/etc/passwd\"",
		  "asset file '/etc/passwd': the path is absolute" },
		{ "readfile", "tf.file-read",
		  "node {\n      name: \"leak/ReadFile\"",
		  "op ReadFile returns the contents" },
	};
	char name[256], at[64];
	size_t i, j, n;
	uint8_t *p;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct fixture *f;
		const struct pal_finding *fd;
		void *st;

		setup_session(&st);
		f = st;
		snprintf(name, sizeof(name), "text/%s/saved_model.pbtxt",
		    want[i].file);
		p = load_model(name, &n);
		pos_of((const char *)p, want[i].at, at, sizeof(at));
		scan_as(f->scan, p, n, PAL_FMT_UNKNOWN);
		if (nrule(f->scan, want[i].rule) != 1)
			fail_msg("%s: %d %s findings", name, nrule(f->scan,
			    want[i].rule), want[i].rule);
		for (j = 0; strcmp(pal_scan_finding(f->scan, j)->rule,
		    want[i].rule) != 0; j++)
			;
		fd = pal_scan_finding(f->scan, j);
		if (strstr(fd->location, at) == NULL)
			fail_msg("%s: location '%s', want '%s'", name,
			    fd->location, at);
		if (strstr(fd->reason, want[i].words) == NULL)
			fail_msg("%s: reason '%s'", name, fd->reason);
		free(p);
		teardown(&st);
	}
	(void)state;
}

/* A graph of one node with the op written as op (text, quoted). */
static void
expect_op(const char *op, int pyfunc)
{
	const struct pal_scan_result *r;
	struct fixture *f;
	char text[512];
	void *st;

	setup_session(&st);
	f = st;
	snprintf(text, sizeof(text), "meta_graphs {\n  graph_def {\n"
	    "    node { name: \"n\" op: %s }\n  }\n}\n", op);
	r = scan_text(f->scan, text);
	if (pyfunc) {
		if (r->status != PAL_ITEM_FINDINGS ||
		    nrule(f->scan, "tf.python-op") != 1)
			fail_msg("op %s: status %d (%s), want tf.python-op",
			    op, r->status, r->detail ? r->detail : "");
		assert_non_null(strstr(pal_scan_finding(f->scan, 0)->reason,
		    "op PyFunc calls"));
		assert_non_null(strstr(pal_scan_finding(f->scan, 0)->location,
		    "(line 3, column 5)"));
	} else if (r->status != PAL_ITEM_CLEAN)
		fail_msg("op %s: status %d (%s), want clean", op, r->status,
		    r->detail ? r->detail : pal_scan_finding(f->scan,
		    0)->reason);
	teardown(&st);
}

static void
escapes_are_decoded_before_judging(void **state)
{
	(void)state;
	expect_op("\"PyFunc\"", 1);
	expect_op("\"Py\\x46unc\"", 1);
	expect_op("\"Py\\x46\\x75nc\"", 1);
	expect_op("\"\\120yFunc\"", 1);
	expect_op("\"\\u0050yFunc\"", 1);
	expect_op("\"\\U00000050yFunc\"", 1);
	expect_op("'PyFunc'", 1);
	expect_op("'Py' \"Func\"", 1);
	expect_op("\"P\" # a comment between the parts\n 'y\\106' \"unc\"",
	    1);
	expect_op("\"\\x50\\x79\\x46\\x75\\x6e\\x63\"", 1);
	/* Near misses decode to other names: not PyFunc. */
	expect_op("\"Py\\\\x46unc\"", 0);
	expect_op("\"PyFunc\\000\"", 0);
	expect_op("\"PyFunc\\x20\"", 0);
	expect_op("\"pyfunc\"", 0);
	expect_op("\"Py\\u0046unc\\u0000\"", 0);
}

/* Text, the rule expected (or NULL: clean) and how many findings. */
static void
expect_text(const char *text, const char *rule, int count, const char *words)
{
	const struct pal_scan_result *r;
	struct fixture *f;
	size_t i;
	void *st;

	setup_session(&st);
	f = st;
	r = scan_text(f->scan, text);
	if (r->status == PAL_ITEM_ERROR)
		fail_msg("error: %s\n%s", r->detail, text);
	if (rule == NULL) {
		if (r->status != PAL_ITEM_CLEAN)
			fail_msg("want clean, got %s: %s\n%s",
			    pal_scan_finding(f->scan, 0)->rule,
			    pal_scan_finding(f->scan, 0)->reason, text);
	} else {
		if (nrule(f->scan, rule) != count ||
		    (int)pal_scan_nfindings(f->scan) != count)
			fail_msg("want %d %s, got %zu findings\n%s", count,
			    rule, pal_scan_nfindings(f->scan), text);
		for (i = 0; words != NULL && i < pal_scan_nfindings(f->scan);
		    i++)
			if (strstr(pal_scan_finding(f->scan, i)->location,
			    words) == NULL && strstr(pal_scan_finding(f->scan,
			    i)->reason, words) == NULL)
				fail_msg("finding '%s' at '%s' lacks '%s'",
				    pal_scan_finding(f->scan, i)->reason,
				    pal_scan_finding(f->scan, i)->location,
				    words);
	}
	teardown(&st);
}

static void
saver_allowance_holds_in_text(void **state)
{
	(void)state;
	/* TF1: checkpoint ops in the restore op's scope are the saver. */
	expect_text("meta_graphs {\n"
	    "  graph_def {\n"
	    "    node { name: \"save/SaveV2\" op: \"SaveV2\" }\n"
	    "    node { name: \"save/RestoreV2\" op: \"RestoreV2\" }\n"
	    "    node { name: \"save/restore_all\" op: \"NoOp\" }\n"
	    "  }\n"
	    "  saver_def { restore_op_name: \"save/restore_all\" }\n"
	    "}\n", NULL, 0, NULL);
	expect_text("meta_graphs {\n"
	    "  graph_def {\n"
	    "    node { name: \"save/SaveV2\" op: \"SaveV2\" }\n"
	    "    node { name: \"evil/SaveV2\" op: \"SaveV2\" }\n"
	    "  }\n"
	    "  saver_def { restore_op_name: \"save/restore_all\" }\n"
	    "}\n", "tf.checkpoint-io", 1, "node 'evil/SaveV2' in graph");
	/* TF2: restore node -> "outer" (attribute, value before key) ->
	 * "inner" (by op name) -> RestoreV2, allowed; "stray" is not
	 * called by the saver.  The saver_def comes last, as printed. */
	expect_text("meta_graphs {\n"
	    "  graph_def {\n"
	    "    node {\n"
	    "      name: \"restore\" op: \"StatefulPartitionedCall\"\n"
	    "      attr { value { func { name: \"outer\" } } key: \"f\" }\n"
	    "    }\n"
	    "    library {\n"
	    "      function { signature { name: \"outer\" }\n"
	    "        node_def { name: \"call\" op: \"inner\" } }\n"
	    "      function { node_def { name: \"r\" op: \"RestoreV2\" }\n"
	    "        signature { name: \"inner\" } }\n"
	    "      function { signature { name: \"stray\" }\n"
	    "        node_def { name: \"r\" op: \"RestoreV2\" } }\n"
	    "    }\n"
	    "  }\n"
	    "  saver_def { save_tensor_name: \"save:0\"\n"
	    "    restore_op_name: \"restore\" }\n"
	    "}\n", "tf.checkpoint-io", 1, "function 'stray'");
	/* Functions reached through a list of funcs and nested attrs. */
	expect_text("meta_graphs {\n"
	    "  graph_def {\n"
	    "    node { name: \"restore\" op: \"X\"\n"
	    "      attr { key: \"branches\" value { list {\n"
	    "        func [{ name: \"a\" }, { name: \"b\" attr { key: \"g\"\n"
	    "          value { func { name: \"c\" } } } }] } } } }\n"
	    "    library {\n"
	    "      function { signature { name: \"a\" } }\n"
	    "      function { signature { name: \"b\" } }\n"
	    "      function { signature { name: \"c\" }\n"
	    "        node_def { name: \"m\" op: \"MergeV2Checkpoints\" } }\n"
	    "      function { signature { name: \"d\" }\n"
	    "        node_def { name: \"m\" op: \"MergeV2Checkpoints\" } }\n"
	    "    }\n"
	    "  }\n"
	    "  saver_def { restore_op_name: \"^restore\" }\n"
	    "}\n", "tf.checkpoint-io", 1, "function 'd'");
	/* Other ops are reported inside the saver too. */
	expect_text("meta_graphs {\n"
	    "  graph_def {\n"
	    "    node { name: \"save/py\" op: \"PyFunc\" }\n"
	    "  }\n"
	    "  saver_def { restore_op_name: \"save/restore_all\" }\n"
	    "}\n", "tf.python-op", 1, "node 'save/py' in graph");
}

static void
op_attributes_are_read_in_any_order(void **state)
{
	(void)state;
	expect_text("meta_graphs { graph_def { node { name: \"p\"\n"
	    "  attr { value { s: \"file:///home/u/.bashrc\" }\n"
	    "         key: \"output_stream\" }\n"
	    "  op: \"PrintV2\" } } }\n", "tf.file-write", 1,
	    "appends its input to the file named by output_stream");
	expect_text("meta_graphs { graph_def { node { op: \"PrintV2\"\n"
	    "  attr { key: \"output_stream\" value { s: \"stderr\" } } } } }\n",
	    "tf.print", 1, "prints a string");
	/* The last value of the attribute is the one TensorFlow keeps. */
	expect_text("meta_graphs { graph_def { node { op: \"PrintV2\"\n"
	    "  attr { key: \"output_stream\" value { s: \"stderr\" } }\n"
	    "  attr { key: \"output_stream\" value { s: \"file:///x\" } }\n"
	    "} } }\n", "tf.file-write", 1, NULL);
	expect_text("meta_graphs { graph_def { node { op: \"DecodeProtoV2\"\n"
	    "  attr < key: 'descriptor_source' value < s: 'local://' > >\n"
	    "} } }\n", NULL, 0, NULL);
	expect_text("meta_graphs { graph_def { node { op: \"DecodeProtoV2\"\n"
	    "  attr < key: 'descriptor_source' value < s: '/etc/passwd' > >\n"
	    "} } }\n", "tf.file-read", 1, "descriptor_source");
	expect_text("meta_graphs { graph_def { node { op: \"DecodeProtoV2\" }"
	    " } }\n", NULL, 0, NULL);
}

static void
unknown_fields_are_skipped(void **state)
{
	(void)state;
	expect_text("# header comment\n"
	    "saved_model_schema_version: 1;\n"
	    "meta_graphs: {\n"
	    "  unknown_field { x: [1, -2, 0x1F, 017, 1.5e3f, -inf, .5, "
	    "NAN] }\n"
	    "  [some.extension]: 5\n"
	    "  [type.googleapis.com/pkg.Other] < a: 'b' >\n"
	    "  other: [ { a: 1 }, < b: \"c\" > ]\n"
	    "  empty: []\n"
	    "  empty_msgs []\n"
	    "  signature_def { key: 'x' value { method_name: 'PyFunc' } }\n"
	    "  graph_def {\n"
	    "    versions { producer: 1 }\n"
	    "    node { name: 'n' op: 'PyFunc' device: '' input: ['a','b'] "
	    "experimental_type {} }\n"
	    "  }\n"
	    "}\n", "tf.python-op", 1, "(line 13, column 5)");
	/* Several meta graphs: each is checked. */
	expect_text("meta_graphs { graph_def { node { op: 'Identity' } } }\n"
	    "meta_graphs { graph_def { node { op: 'ReadFile' } } }\n",
	    "tf.file-read", 1, "(line 2, column 27)");
}

static void
keras_objects_reach_the_keras_check(void **state)
{
	const struct pal_scan_result *r;
	struct fixture *f = *state;
	size_t n;
	uint8_t *p;

	p = load_model("text/keras_object/saved_model.pbtxt", &n);
	r = scan_as(f->scan, p, n, PAL_FMT_UNKNOWN);
	assert_string_equal(r->format, "tf-savedmodel-text");
	if (r->status == PAL_ITEM_ERROR && r->detail != NULL &&
	    strstr(r->detail, "not built yet") != NULL)
		assert_non_null(strstr(r->detail, "Keras metadata at line"));
	else {
		assert_int_equal(r->status, PAL_ITEM_FINDINGS);
		assert_int_equal(nrule(f->scan, "keras.lambda"), 1);
	}
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

	snprintf(dir, sizeof(dir), "%s/tf_text_link.%d", base ? base : "/tmp",
	    (int)getpid());
	(void)mkdir(base ? base : "/tmp", 0700);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(pb, sizeof(pb), "%s/saved_model.pbtxt", dir);
	snprintf(assets, sizeof(assets), "%s/assets", dir);
	snprintf(vocab, sizeof(vocab), "%s/vocab.txt", assets);
	data_path(src, sizeof(src), DATA_DIR, "text/tf2/saved_model.pbtxt");
	copy_file(src, pb);
	assert_int_equal(mkdir(assets, 0700), 0);
	assert_int_equal(symlink("/etc/hostname", vocab), 0);
	assert_int_equal(pal_scan_add(f->scan, pb), 0);
	assert_int_equal(pal_scan_run(f->scan, NULL), 0);
	assert_int_equal(nrule(f->scan, "tf.asset-symlink"), 1);
	unlink(vocab);
	rmdir(assets);
	unlink(pb);
	rmdir(dir);
}

/* Scans text; it must be an error with code and words in its detail. */
static void
expect_error(const void *text, size_t n, int code, const char *words)
{
	const struct pal_scan_result *r;
	struct fixture *f;
	void *st;

	setup_session(&st);
	f = st;
	r = scan_as(f->scan, text, n, PAL_FMT_TF_SAVEDMODEL_TEXT);
	if (r->status != PAL_ITEM_ERROR || r->detail == NULL ||
	    strstr(r->detail, words) == NULL)
		fail_msg("status %d detail '%s', want error with '%s'\n%.*s",
		    r->status, r->detail ? r->detail : "", words, (int)n,
		    (const char *)text);
	if (f->scan->err.code != code)
		fail_msg("code %d (%s), want %d", f->scan->err.code,
		    r->detail, code);
	teardown(&st);
}

static void
experr(const char *text, int code, const char *words)
{
	expect_error(text, strlen(text), code, words);
}

static void
malformed_text_is_an_error_with_line_and_column(void **state)
{
	(void)state;
	experr("meta_graphs {", PAL_ERR_TRUNCATED, "line 1, column 14: input "
	    "ends inside the message opened at line 1, column 13");
	experr("meta_graphs {\n  graph_def { node { op: \"PyFunc } } }\n",
	    PAL_ERR_FORMAT, "line 2, column 26: string not closed before the "
	    "end of its line");
	experr("meta_graphs { graph_def { node { op: 'PyFunc", PAL_ERR_TRUNCATED,
	    "line 1, column 38: string not closed before the end of the "
	    "input");
	experr("meta_graphs {\n graph_def {\n  node { op \"PyFunc\" } } }\n",
	    PAL_ERR_FORMAT, "line 3, column 13: expected ':' after the field "
	    "name");
	experr("meta_graphs { graph_def { node { op: \"Py\\qFunc\" } } }",
	    PAL_ERR_FORMAT, "line 1, column 41: invalid escape sequence");
	experr("meta_graphs { graph_def { node { op: \"\\x\" } } }",
	    PAL_ERR_FORMAT, "line 1, column 39: \\x needs a hex digit");
	experr("meta_graphs { a: \"\\u12\" }", PAL_ERR_FORMAT,
	    "line 1, column 19: \\u needs four hex digits");
	experr("meta_graphs { a: \"\\U00200000\" }", PAL_ERR_FORMAT,
	    "\\U needs eight hex digits");
	experr("meta_graphs { graph_def { > }", PAL_ERR_FORMAT,
	    "line 1, column 27: '>' does not close the message opened at "
	    "line 1, column 25");
	experr("meta_graphs { }\n}", PAL_ERR_FORMAT,
	    "line 2, column 1: '}' closes no message");
	experr("meta_graphs { graph_def { node { name: \"a\" op: \"X\"\n"
	    "  op: \"PyFunc\" } } }", PAL_ERR_FORMAT,
	    "line 2, column 3: NodeDef.op appears twice");
	experr("meta_graphs { graph_def { node { op: 5 } } }", PAL_ERR_FORMAT,
	    "line 1, column 38: NodeDef.op: expected a string, found a number");
	experr("meta_graphs { graph_def: 5 }", PAL_ERR_FORMAT,
	    "MetaGraphDef.graph_def: expected a message, found a number");
	experr("meta_graphs { saver_def {} saver_def {} }", PAL_ERR_FORMAT,
	    "line 1, column 28: MetaGraphDef.saver_def appears twice");
	experr("saved_model_schema_version: 1\n", PAL_ERR_FORMAT,
	    "SavedModel has no meta_graphs");
	experr("meta_graphs { a: 1.2.3 }", PAL_ERR_FORMAT,
	    "line 1, column 21: a number must be followed by a space");
	experr("meta_graphs { a: 12abc }", PAL_ERR_FORMAT,
	    "line 1, column 20: a number must be followed by a space");
	experr("meta_graphs { a: 09 }", PAL_ERR_FORMAT,
	    "line 1, column 18: a number starting with 0 must be octal");
	experr("meta_graphs { a: 1e }", PAL_ERR_FORMAT,
	    "line 1, column 18: exponent without digits");
	experr("meta_graphs { a: -foo }", PAL_ERR_FORMAT,
	    "line 1, column 18: '-' before a name other than inf or nan");
	experr("meta_graphs { a: [1, 2 }", PAL_ERR_FORMAT,
	    "line 1, column 24: expected ',' or ']' in a list, found '}'");
	experr("meta_graphs { a: [1, 2, ] }", PAL_ERR_FORMAT,
	    "line 1, column 25: expected a value in a list, found ']'");
	experr("meta_graphs { a [1] }", PAL_ERR_FORMAT,
	    "line 1, column 15: expected ':' after field name before a list");
	experr("meta_graphs { [a b] {} }", PAL_ERR_FORMAT,
	    "line 1, column 17: expected '.', '/' or ']' in a bracketed name");
	experr("meta_graphs { a: }", PAL_ERR_FORMAT,
	    "line 1, column 18: expected a value, found '}'");
	experr("meta_graphs { a: 1,, b: 2 }", PAL_ERR_FORMAT,
	    "line 1, column 20: expected a field name, found ','");
	experr("meta_graphs { 5: 1 }", PAL_ERR_FORMAT,
	    "line 1, column 15: expected a field name, found '5'");
	experr("meta_graphs {\n  a: 'x\n' }", PAL_ERR_FORMAT,
	    "line 2, column 6: string not closed before the end of its line");
	experr("meta_graphs { a: 1 }\n\xc3\xa9", PAL_ERR_FORMAT,
	    "line 2, column 1: expected a field name, found byte 0xc3");
	expect_error("meta_graphs { a: 1 \0 }", 22, PAL_ERR_FORMAT,
	    "line 1, column 20: expected a field name, found byte 0x00");
	expect_error("meta_graphs { a: 'x\0' }", 23, PAL_ERR_FORMAT,
	    "line 1, column 20: NUL byte in a string");
	/* A serialized AssetFileDef that does not parse. */
	experr("meta_graphs { collection_def { key: 'saved_model_assets'\n"
	    "  value { any_list { value {\n"
	    "    type_url: 'type.googleapis.com/tensorflow.AssetFileDef'\n"
	    "    value: '\\022\\377' } } } } }", PAL_ERR_TRUNCATED,
	    "line 4, column 12: serialized AssetFileDef: offset 1: field 2");
}

static void
truncated_text_is_never_clean(void **state)
{
	size_t len, cut, n = 0;
	uint8_t *p;

	(void)state;
	p = load_model("text/tf2/saved_model.pbtxt", &len);
	/* Any cut inside the meta graph leaves something open. */
	for (cut = 31; cut + 1 < len; cut += 53, n++) {
		struct fixture *f;
		const struct pal_scan_result *r;
		void *st;

		setup_session(&st);
		f = st;
		r = scan_as(f->scan, p, cut, PAL_FMT_TF_SAVEDMODEL_TEXT);
		if (r->status != PAL_ITEM_ERROR ||
		    strstr(r->detail, "line ") != r->detail)
			fail_msg("cut at %zu: status %d (%s)", cut, r->status,
			    r->detail ? r->detail : "");
		teardown(&st);
	}
	assert_true(n > 100);
	free(p);
}

static void
limits_hold(void **state)
{
	struct pal_buf b;
	size_t i;

	(void)state;
	/* Nesting past the cap. */
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_buf_puts(&b, "meta_graphs "), 0);
	for (i = 0; i < 70; i++)
		assert_int_equal(pal_buf_puts(&b, "{ a "), 0);
	for (i = 0; i < 70; i++)
		assert_int_equal(pal_buf_puts(&b, "} "), 0);
	expect_error(b.p, b.len, PAL_ERR_LIMIT,
	    "line 1, column 269: messages nested deeper than 64 levels");
	pal_buf_free(&b);

	/* The same through function attributes, on the saver's walk. */
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_buf_puts(&b, "meta_graphs { saver_def { "
	    "restore_op_name: 'r' } graph_def { library { function { "
	    "signature { name: 'f' } } } node { name: 'r' op: 'X' "), 0);
	for (i = 0; i < 40; i++)
		assert_int_equal(pal_buf_puts(&b, "attr { key: 'f' value { "
		    "func { name: 'f' "), 0);
	for (i = 0; i < 40; i++)
		assert_int_equal(pal_buf_puts(&b, "} } } "), 0);
	assert_int_equal(pal_buf_puts(&b, "} } }"), 0);
	expect_error(b.p, b.len, PAL_ERR_LIMIT, "nested deeper than 64");
	pal_buf_free(&b);

	/* More library functions than the cap. */
	pal_buf_init(&b, 1 << 23);
	assert_int_equal(pal_buf_puts(&b, "meta_graphs { graph_def { "
	    "library {\n"), 0);
	for (i = 0; i <= (1u << 18); i++)
		assert_int_equal(pal_buf_puts(&b, "function {}\n"), 0);
	assert_int_equal(pal_buf_puts(&b, "} } }\n"), 0);
	expect_error(b.p, b.len, PAL_ERR_LIMIT,
	    "line 262146, column 1: more than 262144 library functions");
	pal_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_models_are_detected),
		cmocka_unit_test(text_and_binary_forms_are_judged_alike),
		cmocka_unit_test(benign_text_models_are_clean),
		cmocka_unit_test(findings_name_the_line_and_column),
		cmocka_unit_test(escapes_are_decoded_before_judging),
		cmocka_unit_test(saver_allowance_holds_in_text),
		cmocka_unit_test(op_attributes_are_read_in_any_order),
		cmocka_unit_test(unknown_fields_are_skipped),
		cmocka_unit_test_setup_teardown(
		    keras_objects_reach_the_keras_check,
		    setup_session, teardown),
		cmocka_unit_test_setup_teardown(asset_through_a_symlink,
		    setup_session, teardown),
		cmocka_unit_test(malformed_text_is_an_error_with_line_and_column),
		cmocka_unit_test(truncated_text_is_never_clean),
		cmocka_unit_test(limits_hold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
