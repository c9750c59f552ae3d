/*
 * test_hdf5.c - the HDF5 scanner on files libhdf5 wrote (through h5py,
 * tests/data/keras/gen.py) in the oldest and newest file formats: Keras
 * models clean or with their Lambda found wherever the configuration is
 * stored, links and storage outside the file reported, big groups walked
 * to their last member; corrupt and hand-patched files end in an error
 * naming the structure; truncations and random bit flips never crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "palisade/scan.h"
#include "hdf5_int.h"
#include "scan_fixture.h"

static struct pal_policy *policy;

struct file {
	uint8_t *data;
	size_t len;
};

/* Reads tests/data/keras/name; a name ending in .gz is inflated. */
static struct file
load_keras(const char *name)
{
	const char *dir = getenv("PAL_TEST_DATA");
	struct file f = { NULL, 0 };
	char path[1024];
	size_t cap = 1 << 16;
	gzFile gz;
	int n;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/keras/%s", dir, name);
	if ((gz = gzopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	f.data = malloc(cap);
	assert_non_null(f.data);
	while ((n = gzread(gz, f.data + f.len, (unsigned)(cap - f.len))) > 0) {
		f.len += (size_t)n;
		if (f.len == cap) {
			cap *= 2;
			f.data = realloc(f.data, cap);
			assert_non_null(f.data);
		}
	}
	assert_int_equal(n, 0);
	gzclose(gz);
	return f;
}

static struct pal_scan *
scan_as(const void *data, size_t len, enum pal_format fmt)
{
	struct pal_scan_opts opts;
	struct pal_scan *s;

	memset(&opts, 0, sizeof(opts));
	pal_scan_limits_default(&opts.limits);
	opts.policy = policy;
	assert_int_equal(pal_scan_new(&opts, &s, NULL), 0);
	assert_int_equal(pal_scan_memory_as(s, "t.h5", data, len, fmt), 0);
	return s;
}

static struct pal_scan *
scan_file(const char *name)
{
	struct file f = load_keras(name);
	struct pal_scan *s = scan_as(f.data, f.len, PAL_FMT_HDF5);

	free(f.data);
	return s;
}

static const struct pal_finding *
find_at(const struct pal_scan *s, const char *rule, const char *loc)
{
	size_t i;

	for (i = 0; i < pal_scan_nfindings(s); i++) {
		const struct pal_finding *f = pal_scan_finding(s, i);

		if (strcmp(f->rule, rule) == 0 &&
		    (loc == NULL || strcmp(f->location, loc) == 0))
			return f;
	}
	fail_msg("no %s finding at %s", rule, loc ? loc : "any location");
	return NULL;
}

static void
test_clean(void **state)
{
	static const char *const files[] = { "k2_benign_v0.h5.gz",
	    "k2_benign_v3.h5", "k3_model.weights.h5", "cont_v0.h5",
	    "cont_v3.h5" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct pal_scan *s = scan_file(files[i]);
		const struct pal_scan_result *res = pal_scan_result(s, 0);

		if (res->status != PAL_ITEM_CLEAN)
			fail_msg("%s: status %d (%s)", files[i], res->status,
			    res->detail ? res->detail : "");
		assert_string_equal(res->format, "hdf5");
		assert_int_equal(pal_scan_nfindings(s), 0);
		assert_int_equal(pal_scan_exit_code(s), 0);
		pal_scan_free(s);
	}
}

/*
 * The same Lambda layer, its configuration stored as a fixed-length
 * string (v0), a variable-length one in the global heap (v3), in dense
 * attribute storage, as a huge fractal-heap object, after a user block,
 * and as Keras 3 writes it.
 */
static void
test_lambda(void **state)
{
	static const char *const files[] = { "k2_lambda_v0.h5.gz",
	    "k2_lambda_v3.h5", "k2_lambda_dense_attrs.h5",
	    "k2_lambda_huge_attr.h5.gz", "k2_lambda_userblock.h5",
	    "k3_lambda_v0.h5" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct pal_scan *s = scan_file(files[i]);
		const struct pal_finding *f;

		if (count_rule(s, "keras.lambda") != 1 ||
		    pal_scan_nfindings(s) != 1)
			fail_msg("%s: %zu findings, %zu keras.lambda (%s)",
			    files[i], pal_scan_nfindings(s),
			    count_rule(s, "keras.lambda"),
			    pal_scan_result(s, 0)->detail ?
			    pal_scan_result(s, 0)->detail : "");
		f = find_at(s, "keras.lambda", NULL);
		assert_true(strncmp(f->location, "attribute 'model_config', "
		    "config.layers[", 40) == 0);
		assert_non_null(strstr(f->reason, "__import__, system"));
		assert_int_equal(pal_scan_result(s, 0)->status,
		    PAL_ITEM_FINDINGS);
		assert_int_equal(pal_scan_exit_code(s), 1);
		pal_scan_free(s);
	}
}

static void
test_outside_references(void **state)
{
	struct pal_scan *s;
	const char *tags[] = { "external_link_v0.h5", "external_link_v3.h5" };
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		s = scan_file(tags[i]);
		assert_int_equal(pal_scan_nfindings(s), 2);
		assert_non_null(strstr(find_at(s, "hdf5.external-link",
		    "/many")->reason, "in file '/etc/passwd'"));
		assert_non_null(strstr(find_at(s, "hdf5.external-storage",
		    "/many/zz_ext")->reason, "'/etc/shadow'"));
		pal_scan_free(s);
	}
	s = scan_file("external_storage.h5");
	assert_int_equal(pal_scan_nfindings(s), 1);
	assert_non_null(strstr(find_at(s, "hdf5.external-storage", "/w")->reason,
	    "1 external file: '/etc/shadow'"));
	pal_scan_free(s);
	s = scan_file("virtual_dataset.h5");
	assert_int_equal(pal_scan_nfindings(s), 1);
	assert_non_null(strstr(find_at(s, "hdf5.virtual-dataset", "/v")->reason,
	    "from file '/tmp/elsewhere.h5'"));
	pal_scan_free(s);
}

/*
 * 300 members and a hard link back to the root: a two-level v1 B-tree
 * (v0) and dense links in a fractal heap under a two-level v2 B-tree (v3).
 * The dataset sorted last must be reached.
 */
static void
test_big_groups(void **state)
{
	struct pal_scan *s;

	(void)state;
	s = scan_file("big_group_v0.h5.gz");
	assert_int_equal(pal_scan_nfindings(s), 1);
	find_at(s, "hdf5.external-storage", "/many/zz_ext");
	pal_scan_free(s);
	s = scan_file("big_group_v3.h5.gz");
	assert_int_equal(pal_scan_nfindings(s), 2);
	find_at(s, "hdf5.external-storage", "/many/zz_ext");
	find_at(s, "hdf5.external-link", "/many");
	pal_scan_free(s);
}

static void
expect_error_in(struct pal_scan *s, const char *what, const char *detail)
{
	const struct pal_scan_result *res = pal_scan_result(s, 0);

	if (res->status != PAL_ITEM_ERROR)
		fail_msg("%s: status %d, expected an error", what, res->status);
	assert_non_null(res->detail);
	if (strstr(res->detail, detail) == NULL)
		fail_msg("%s: detail '%s' lacks '%s'", what, res->detail,
		    detail);
	assert_int_equal(pal_scan_exit_code(s), 2);
}

static void
expect_file_error(const char *name, const char *detail)
{
	struct pal_scan *s = scan_file(name);

	expect_error_in(s, name, detail);
	pal_scan_free(s);
}

static void
test_corrupt_files(void **state)
{
	(void)state;
	expect_file_error("corrupt_truncated.h5", "superblock says the file "
	    "ends at byte 9824");
	expect_file_error("corrupt_bad_root.h5", "object header at address "
	    "2147418112");
	expect_file_error("corrupt_cont_loop_v1.h5", "continuation loops "
	    "back");
	expect_file_error("corrupt_cont_loop_v2.h5", "continuation loops "
	    "back");
	expect_file_error("config_not_string.h5", "attribute 'model_config' "
	    "at address");
	expect_file_error("config_not_string.h5", "is not a string");
	expect_file_error("config_bad_json.h5", "is not valid JSON");
}

/* A configuration that fails its check still lets the walk go on. */
static void
test_deferred_error(void **state)
{
	struct pal_scan *s = scan_file("config_bad_json_extlink.h5");
	const struct pal_scan_result *res = pal_scan_result(s, 0);

	(void)state;
	assert_int_equal(count_rule(s, "hdf5.external-link"), 1);
	assert_int_equal(res->status, PAL_ITEM_FINDINGS);
	assert_non_null(res->detail);
	assert_non_null(strstr(res->detail, "is not valid JSON"));
	assert_int_equal(pal_scan_exit_code(s), 1);
	pal_scan_free(s);
}

/* Scans a patched copy of a file and expects an error naming detail. */
static void
expect_patched(const char *name, size_t off, const void *bytes, size_t n,
    const char *detail)
{
	struct file f = load_keras(name);
	struct pal_scan *s;

	assert_true(off + n <= f.len);
	memcpy(f.data + off, bytes, n);
	s = scan_as(f.data, f.len, PAL_FMT_HDF5);
	expect_error_in(s, name, detail);
	pal_scan_free(s);
	free(f.data);
}

/*
 * The local heap holding the big group's member names, with every NUL in
 * its data segment overwritten: no name ends.
 */
static void
test_unterminated_names(void **state)
{
	struct file f = load_keras("big_group_v0.h5.gz");
	struct pal_scan *s;
	uint64_t size = 0, addr = 0;
	size_t i, k;

	(void)state;
	for (i = 0; i + 40 <= f.len; i++) {
		if (memcmp(f.data + i, "HEAP", 4) != 0)
			continue;
		size = addr = 0;
		for (k = 0; k < 8; k++) {
			size |= (uint64_t)f.data[i + 8 + k] << (8 * k);
			addr |= (uint64_t)f.data[i + 24 + k] << (8 * k);
		}
		if (size > 1000)
			break;
	}
	assert_true(size > 1000 && addr + size <= f.len);
	for (k = 0; k < size; k++)
		if (f.data[addr + k] == 0)
			f.data[addr + k] = 'A';
	s = scan_as(f.data, f.len, PAL_FMT_HDF5);
	expect_error_in(s, "big_group_v0.h5", "is not terminated");
	pal_scan_free(s);
	free(f.data);
}

/* Offset of the first sig in name whose level byte is level, or -1. */
static long
find_tree(const char *name, int level)
{
	struct file f = load_keras(name);
	size_t i;
	long at = -1;

	for (i = 0; i + 8 <= f.len; i++)
		if (memcmp(f.data + i, "TREE", 4) == 0 && f.data[i + 4] == 0 &&
		    f.data[i + 5] == level) {
			at = (long)i;
			break;
		}
	free(f.data);
	return at;
}

static void
test_patched(void **state)
{
	uint8_t le[8];
	long tree;

	(void)state;
	expect_patched("cont_v0.h5", 8, "\x09", 1, "superblock version 9");
	expect_patched("cont_v0.h5", 13, "\x10", 1, "sizes of offsets 16");
	expect_patched("cont_v0.h5", 0, "\x89HDF\r\n\x1a\x0b", 8,
	    "no signature");
	/* Superblock 3 and v2 object headers are checksummed. */
	expect_patched("cont_v3.h5", 20, "\x01", 1, "superblock at address 0 "
	    "has a bad checksum");
	expect_patched("cont_v3.h5", 60, "\xff", 1, "object header at address "
	    "48 has a bad checksum");
	/* A v1 B-tree node that names itself as its own child. */
	tree = find_tree("big_group_v0.h5.gz", 1);
	assert_true(tree > 0);
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)((unsigned long)tree >> (8 * i));
	expect_patched("big_group_v0.h5.gz", (size_t)tree + 32, le, 8,
	    "has level 1 where 0 was expected");
	/* More children than the node can hold. */
	expect_patched("big_group_v0.h5.gz", (size_t)tree + 6, "\xc8\x00", 2,
	    "more than 2K = 32");
}

/* Detection finds the signature after a user block; that is scanned. */
static void
test_detect_userblock(void **state)
{
	struct file f = load_keras("k2_lambda_userblock.h5");
	struct pal_scan *s = scan_as(f.data, f.len, PAL_FMT_UNKNOWN);
	size_t i;
	int saw_userblock = 0;

	(void)state;
	assert_string_equal(pal_scan_result(s, 0)->format, "hdf5");
	assert_int_equal(count_rule(s, "keras.lambda"), 1);
	for (i = 0; i < pal_scan_nresults(s); i++)
		if (strcmp(pal_scan_result(s, i)->name, "t.h5!userblock") == 0)
			saw_userblock = 1;
	assert_true(saw_userblock);
	pal_scan_free(s);
	free(f.data);
}

/* Every proper prefix of a file is an error, never clean. */
static void
test_truncations(void **state)
{
	static const char *const files[] = { "cont_v3.h5",
	    "k2_lambda_dense_attrs.h5" };
	size_t i, n;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct file f = load_keras(files[i]);

		for (n = 0; n < f.len; n += 13) {
			struct pal_scan *s = scan_as(f.data, n, PAL_FMT_HDF5);

			if (pal_scan_result(s, 0)->status != PAL_ITEM_ERROR)
				fail_msg("%s cut at %zu: status %d", files[i], n,
				    pal_scan_result(s, 0)->status);
			pal_scan_free(s);
		}
		free(f.data);
	}
}

static uint64_t
xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * Random byte changes, with and without checksum verification (without,
 * the changes reach the structures behind the checksums).  Under the
 * sanitizers, a crash or leak fails the test; every outcome must be a
 * defined status.
 */
static void
test_mutations(void **state)
{
	static const char *const files[] = { "cont_v0.h5", "cont_v3.h5",
	    "k2_lambda_dense_attrs.h5", "big_group_v3.h5.gz",
	    "k2_lambda_huge_attr.h5.gz", "virtual_dataset.h5",
	    "external_link_v0.h5" };
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	size_t i, k, round;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct file f = load_keras(files[i]);
		uint8_t *copy = malloc(f.len);

		assert_non_null(copy);
		for (round = 0; round < 200; round++) {
			struct pal_scan *s;
			int code;

			memcpy(copy, f.data, f.len);
			for (k = 0; k < 1 + xorshift(&rng) % 4; k++)
				copy[xorshift(&rng) % f.len] ^=
				    (uint8_t)(1u << (xorshift(&rng) % 8));
			pal_hdf5_set_verify_checksums((int)(round & 1));
			s = scan_as(copy, f.len, PAL_FMT_HDF5);
			code = pal_scan_exit_code(s);
			assert_true(code >= 0 && code <= 2);
			assert_true(pal_scan_result(s, 0)->status <=
			    PAL_ITEM_SKIPPED);
			pal_scan_free(s);
		}
		pal_hdf5_set_verify_checksums(1);
		free(copy);
		free(f.data);
	}
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
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_lambda),
		cmocka_unit_test(test_outside_references),
		cmocka_unit_test(test_big_groups),
		cmocka_unit_test(test_corrupt_files),
		cmocka_unit_test(test_patched),
		cmocka_unit_test(test_deferred_error),
		cmocka_unit_test(test_unterminated_names),
		cmocka_unit_test(test_detect_userblock),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, group_setup,
	    group_teardown);
}
