/*
 * test_scan.c - the scan driver: content-based detection, item status,
 * findings bookkeeping, exit codes, directory walks and the three report
 * formats.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "scan_fixture.h"

/* Room for three findings only, so that the cap is reached. */
static int
setup_capped(void **state)
{
	return scan_fixture_setup_max(state, 3);
}

#define DETECT(lit) pal_detect((const uint8_t *)(lit), sizeof(lit) - 1)

static void
detects_formats_by_magic(void **state)
{
	uint8_t tar[512];
	size_t i;
	unsigned sum = 0;

	(void)state;
	assert_int_equal(DETECT("PK\x03\x04rest"), PAL_FMT_ZIP);
	assert_int_equal(DETECT("7z\xbc\xaf\x27\x1c\x00\x04"), PAL_FMT_7Z);
	assert_int_equal(DETECT("\x1f\x8b\x08\x00"), PAL_FMT_GZIP);
	assert_int_equal(DETECT("BZh91AY"), PAL_FMT_BZIP2);
	assert_int_equal(DETECT("\xfd" "7zXZ\x00\x00"), PAL_FMT_XZ);
	assert_int_equal(DETECT("\x28\xb5\x2f\xfd\x00"), PAL_FMT_ZSTD);
	assert_int_equal(DETECT("\x04\x22\x4d\x18\x00"), PAL_FMT_LZ4);
	assert_int_equal(DETECT("\x78\x9c\x01\x02"), PAL_FMT_ZLIB);
	assert_int_equal(DETECT("\x93NUMPY\x01\x00"), PAL_FMT_NPY);
	assert_int_equal(DETECT("GGUF\x03\x00\x00\x00"), PAL_FMT_GGUF);
	assert_int_equal(DETECT("\x89HDF\r\n\x1a\n\x00"), PAL_FMT_HDF5);
	assert_int_equal(DETECT("\x80\x04\x95\x00"), PAL_FMT_PICKLE);
	assert_int_equal(DETECT("\x02\x00\x00\x00\x00\x00\x00\x00{}"),
	    PAL_FMT_SAFETENSORS);
	assert_int_equal(DETECT("  {\"model_type\": \"llama\"}"), PAL_FMT_JSON);
	assert_int_equal(DETECT("# README\nplain words\n"), PAL_FMT_TEXT);
	assert_int_equal(DETECT("\x00\x01\x02\xff"), PAL_FMT_UNKNOWN);
	assert_int_equal(pal_detect(NULL, 0), PAL_FMT_UNKNOWN);

	/* A v7 tar header is recognized by its checksum alone. */
	memset(tar, 0, sizeof(tar));
	memcpy(tar, "data.pkl", 8);
	for (i = 0; i < sizeof(tar); i++)
		sum += (i >= 148 && i < 156) ? ' ' : tar[i];
	snprintf((char *)tar + 148, 8, "%06o", sum);
	assert_int_equal(pal_detect(tar, sizeof(tar)), PAL_FMT_TAR);
	tar[0] = 'X';
	assert_int_not_equal(pal_detect(tar, sizeof(tar)), PAL_FMT_TAR);
}

static void
detection_ignores_protocol0_lookalikes_of_zlib(void **state)
{
	(void)state;
	/* "(S" passes zlib's header check but is a protocol 0 pickle start. */
	assert_int_not_equal(DETECT("(S'x'\np0\nt."), PAL_FMT_ZLIB);
}

static void
zip_found_behind_prepended_data(void **state)
{
	uint8_t buf[64];

	(void)state;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "\x01\x02junk", 6);
	memcpy(buf + sizeof(buf) - 22, "PK\x05\x06", 4);
	assert_int_equal(pal_detect(buf, sizeof(buf)), PAL_FMT_ZIP);
}

static void
text_is_skipped_and_binary_named_by_user_is_an_error(void **state)
{
	struct fixture *f = *state;
	const struct pal_scan_result *r;

	assert_int_equal(pal_scan_memory(f->scan, "README", "hello\n", 6), 0);
	r = pal_scan_result(f->scan, 0);
	assert_int_equal(r->status, PAL_ITEM_SKIPPED);
	assert_string_equal(r->format, "text");
	assert_int_equal(pal_scan_exit_code(f->scan), 0);
	assert_int_equal(pal_scan_memory(f->scan, "blob", "\x00\x01\x02", 3), 0);
	r = pal_scan_result(f->scan, 1);
	assert_int_equal(r->status, PAL_ITEM_ERROR);
	assert_string_equal(r->detail, "unrecognized format");
	assert_int_equal(pal_scan_exit_code(f->scan), 2);
}

/* An item with a result entry, as a format module would receive it. */
static void
make_item(struct pal_scan *s, struct pal_scan_item *it, const char *name)
{
	memset(it, 0, sizeof(*it));
	it->name = name;
	assert_int_equal(pal_scan_result_new(s, name, 0, &it->result), 0);
}

static void
findings_are_capped_and_outrank_errors(void **state)
{
	struct fixture *f = *state;
	struct pal_scan_item it;
	const struct pal_finding *fd;
	int i;

	assert_int_equal(pal_scan_memory(f->scan, "blob", "\x00\x01", 2), 0);
	assert_int_equal(pal_scan_exit_code(f->scan), 2);
	make_item(f->scan, &it, "model.pkl");
	for (i = 0; i < 5; i++)
		assert_int_equal(pal_scan_find_at(f->scan, &it, "scan.limit",
		    (uint64_t)i * 10, "finding %d", i), 0);
	assert_int_equal(pal_scan_nfindings(f->scan), 3);
	assert_int_equal(pal_scan_result(f->scan, it.result)->dropped, 2);
	assert_int_equal(pal_scan_result(f->scan, it.result)->status,
	    PAL_ITEM_FINDINGS);
	fd = pal_scan_finding(f->scan, 2);
	assert_string_equal(fd->location, "offset 20");
	assert_string_equal(fd->reason, "finding 2");
	assert_string_equal(fd->rule, "scan.limit");
	assert_int_equal(fd->severity, PAL_SEV_MEDIUM);
	assert_int_equal(pal_scan_exit_code(f->scan), 1);
}

static void
nesting_beyond_the_limit_is_a_finding(void **state)
{
	struct fixture *f = *state;
	struct pal_scan_item it;
	const struct pal_scan_result *r;

	make_item(f->scan, &it, "outer");
	it.depth = f->scan->opts.limits.max_depth;
	assert_int_equal(pal_scan_child(f->scan, &it, "inner", (const uint8_t *)"x", 1, 0), 0);
	r = pal_scan_result(f->scan, 1);
	assert_string_equal(r->name, "outer!inner");
	assert_int_equal(r->status, PAL_ITEM_FINDINGS);
	assert_int_equal(pal_scan_exit_code(f->scan), 1);
}

static void
expansion_budget_is_enforced(void **state)
{
	struct fixture *f = *state;

	f->scan->opts.limits.max_expanded = 100;
	assert_int_equal(pal_scan_expand(f->scan, 60), 0);
	assert_int_equal(pal_scan_expand(f->scan, 40), 0);
	assert_int_equal(pal_scan_expand(f->scan, 1), PAL_ERR_LIMIT);
	assert_non_null(strstr(f->scan->err.msg, "100 bytes"));
	assert_int_equal(pal_scan_expand(f->scan, UINT64_MAX), PAL_ERR_LIMIT);
}

/* Renders a report into memory. */
static char *
render(struct pal_scan *s, int (*writer)(const struct pal_scan *, FILE *))
{
	char *text = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&text, &n);

	assert_non_null(fp);
	assert_int_equal(writer(s, fp), 0);
	fclose(fp);
	return text;
}

static void
reports_escape_hostile_names(void **state)
{
	struct fixture *f = *state;
	struct pal_scan_item it;
	json_t *root, *arr;
	json_error_t jerr;
	char *text;

	make_item(f->scan, &it, "evil\x1b[31m\xff.pkl");
	assert_int_equal(pal_scan_find(f->scan, &it, "scan.limit", "opcode 3",
	    "calls %s", "os.system\n"), 0);

	text = render(f->scan, pal_scan_write_text);
	assert_non_null(strstr(text, "evil\\x1b[31m\\xff.pkl: opcode 3: "
	    "scan.limit [medium] calls os.system\\x0a\n"));
	assert_null(strchr(text, '\x1b'));
	free(text);

	text = render(f->scan, pal_scan_write_json);
	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(root);
	assert_int_equal(json_integer_value(json_object_get(root, "exit_code")), 1);
	arr = json_object_get(root, "findings");
	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(arr, 0), "file")), "evil\\x1b[31m\\xff.pkl");
	json_decref(root);
	free(text);
}

static void
sarif_report_has_rules_and_results(void **state)
{
	struct fixture *f = *state;
	struct pal_scan_item it;
	json_t *root, *run, *res;
	json_error_t jerr;
	char *text;

	make_item(f->scan, &it, "dir/model.zip!archive/data.pkl");
	assert_int_equal(pal_scan_find_at(f->scan, &it, "scan.limit", 7,
	    "too deep"), 0);
	text = render(f->scan, pal_scan_write_sarif);
	root = json_loads(text, 0, &jerr);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "version")),
	    "2.1.0");
	run = json_array_get(json_object_get(root, "runs"), 0);
	assert_true(json_array_size(json_object_get(json_object_get(
	    json_object_get(run, "tool"), "driver"), "rules")) ==
	    pal_scan_nrules());
	res = json_array_get(json_object_get(run, "results"), 0);
	assert_string_equal(json_string_value(json_object_get(res, "ruleId")),
	    "scan.limit");
	assert_string_equal(json_string_value(json_object_get(res, "level")),
	    "warning");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(json_array_get(json_object_get(res, "locations"), 0),
	    "physicalLocation"), "artifactLocation"), "uri")), "dir/model.zip");
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(res, "message"), "text")),
	    "too deep (at offset 7 in archive/data.pkl)"));
	json_decref(root);
	free(text);
}

static void
every_rule_id_is_unique_and_described(void **state)
{
	size_t i, j, n = pal_scan_nrules();

	(void)state;
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		const struct pal_rule *a = pal_scan_rule_at(i);

		assert_non_null(a->summary);
		assert_true(strlen(a->summary) > 10);
		assert_true(pal_scan_rule(a->id) == a);
		for (j = i + 1; j < n; j++)
			assert_string_not_equal(a->id, pal_scan_rule_at(j)->id);
	}
	assert_null(pal_scan_rule_at(n));
	assert_null(pal_scan_rule("no.such-rule"));
}

/* A scratch directory under the build tree. */
static char *
scratch_dir(const char *leaf)
{
	const char *base = getenv("PAL_TEST_TMP");
	char *path;
	size_t n;

	if (base == NULL)
		base = "/tmp";
	mkdir(base, 0700);
	n = strlen(base) + strlen(leaf) + 32;
	path = malloc(n);
	assert_non_null(path);
	snprintf(path, n, "%s/%s.%ld", base, leaf, (long)getpid());
	assert_int_equal(mkdir(path, 0700), 0);
	return path;
}

static void
write_file(const char *dir, const char *name, const char *data, size_t n)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, n, fp), n);
	fclose(fp);
}

static void
walk_skips_symlinks_and_recurses(void **state)
{
	struct fixture *f = *state;
	char sub[2048], link[4096];
	char *dir = scratch_dir("walk");
	size_t i, skipped = 0, text = 0;

	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file(dir, "README.md", "# hi\n", 5);
	write_file(sub, "notes.txt", "notes\n", 6);
	write_file(sub, "empty", "", 0);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	assert_int_equal(pal_scan_add(f->scan, dir), 0);
	assert_int_equal(pal_scan_run(f->scan, NULL), 0);
	assert_int_equal(pal_scan_nresults(f->scan), 4);
	for (i = 0; i < pal_scan_nresults(f->scan); i++) {
		const struct pal_scan_result *r = pal_scan_result(f->scan, i);

		assert_int_equal(r->status, PAL_ITEM_SKIPPED);
		skipped++;
		if (strcmp(r->format, "text") == 0)
			text++;
		if (strstr(r->name, "/link") != NULL)
			assert_non_null(strstr(r->detail, "symbolic link"));
	}
	assert_int_equal(skipped, 4);
	assert_int_equal(text, 2);
	assert_int_equal(pal_scan_exit_code(f->scan), 0);
	unlink(link);
	snprintf(link, sizeof(link), "%s/README.md", dir);
	unlink(link);
	snprintf(link, sizeof(link), "%s/notes.txt", sub);
	unlink(link);
	snprintf(link, sizeof(link), "%s/empty", sub);
	unlink(link);
	rmdir(sub);
	rmdir(dir);
	free(dir);
}

static void
missing_path_is_an_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pal_scan_add(f->scan, "/nonexistent/model.pkl"), 0);
	assert_int_equal(pal_scan_run(f->scan, NULL), 0);
	assert_int_equal(pal_scan_result(f->scan, 0)->status, PAL_ITEM_ERROR);
	assert_non_null(strstr(pal_scan_result(f->scan, 0)->detail,
	    "No such file"));
	assert_int_equal(pal_scan_exit_code(f->scan), 2);
}

/* A memfd holding n bytes of data. */
static int
memfd_with(const char *data, size_t n)
{
	int fd = memfd_create("scan", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	return fd;
}

/*
 * Open files (a release's memfds) are scanned under the names given, as
 * a walk finds files: what is not a model is skipped, a pickle that
 * calls os.system is a finding.
 */
static void
open_files_are_scanned_under_their_names(void **state)
{
	static const char pickle[] = "\x80\x02" "cposix\nsystem\nq\x00X\x02"
	    "\x00\x00\x00idq\x01\x85q\x02Rq\x03.";
	struct fixture *f = *state;
	struct pal_err err = { 0 };
	int blob = memfd_with("\x00\x01\x02", 3);
	int bad = memfd_with(pickle, sizeof(pickle) - 1);

	assert_int_equal(pal_scan_add_fd(f->scan, "tokenizer.model", blob), 0);
	assert_int_equal(pal_scan_add_fd(f->scan, "weights/model.pkl", bad), 0);
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(pal_scan_add_fd(f->scan, "a pipe", p[0]), 0);
	close(p[0]);
	close(p[1]);
	close(blob);
	close(bad);
	assert_int_equal(pal_scan_result(f->scan, 0)->status, PAL_ITEM_ERROR);
	assert_string_equal(pal_scan_result(f->scan, 0)->detail,
	    "not a regular file");
	assert_int_equal(pal_scan_run(f->scan, &err), 0);
	assert_string_equal(pal_scan_result(f->scan, 1)->name,
	    "tokenizer.model");
	assert_int_equal(pal_scan_result(f->scan, 1)->status,
	    PAL_ITEM_SKIPPED);
	assert_string_equal(pal_scan_result(f->scan, 2)->name,
	    "weights/model.pkl");
	assert_int_equal(pal_scan_result(f->scan, 2)->status,
	    PAL_ITEM_FINDINGS);
	assert_true(pal_scan_nfindings(f->scan) > 0);
	assert_string_equal(pal_scan_finding(f->scan, 0)->name,
	    "weights/model.pkl");
	/* A finding outranks the pipe's error. */
	assert_int_equal(pal_scan_exit_code(f->scan), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(detects_formats_by_magic),
		cmocka_unit_test(detection_ignores_protocol0_lookalikes_of_zlib),
		cmocka_unit_test(zip_found_behind_prepended_data),
		cmocka_unit_test_setup_teardown(
		    text_is_skipped_and_binary_named_by_user_is_an_error,
		    setup_capped, teardown),
		cmocka_unit_test_setup_teardown(
		    findings_are_capped_and_outrank_errors,
		    setup_capped, teardown),
		cmocka_unit_test_setup_teardown(
		    nesting_beyond_the_limit_is_a_finding,
		    setup_capped, teardown),
		cmocka_unit_test_setup_teardown(expansion_budget_is_enforced,
		    setup_capped, teardown),
		cmocka_unit_test_setup_teardown(reports_escape_hostile_names,
		    setup_capped, teardown),
		cmocka_unit_test_setup_teardown(
		    sarif_report_has_rules_and_results, setup_capped, teardown),
		cmocka_unit_test(every_rule_id_is_unique_and_described),
		cmocka_unit_test_setup_teardown(
		    walk_skips_symlinks_and_recurses, setup_capped, teardown),
		cmocka_unit_test_setup_teardown(missing_path_is_an_error,
		    setup_capped, teardown),
		cmocka_unit_test_setup_teardown(
		    open_files_are_scanned_under_their_names, setup_capped,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
