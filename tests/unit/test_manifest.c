/*
 * test_manifest.c - OMS manifests of real trees made under $PAL_TEST_TMP:
 * names, order, ignores, the signature file, symlinks and special files,
 * shards, and every digest checked against OpenSSL's one-shot SHA-256 or
 * BLAKE2b-512 of the same bytes; then the comparison of two manifests and
 * the canonical-name check that signed manifests go through.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oms_fixture.h"
#include "palisade/manifest.h"

static struct pal_manifest *
compute(const char *path, const struct pal_manifest_opts *o)
{
	struct pal_manifest *m = NULL;
	struct pal_err err = { 0 };

	if (pal_manifest_compute(path, o, &m, &err) != 0)
		fail_msg("%s: %s", path, err.msg);
	assert_non_null(m);
	return m;
}

/* Expects compute to fail with code and a message containing what. */
static void
compute_fails(const char *path, const struct pal_manifest_opts *o, int code,
	      const char *what)
{
	struct pal_manifest *m = NULL;
	struct pal_err err = { 0 };
	int rc = pal_manifest_compute(path, o, &m, &err);

	if (rc != code)
		fail_msg("%s: got %d (%s), want %d", path, rc, err.msg, code);
	assert_null(m);
	if (strstr(err.msg, what) == NULL)
		fail_msg("%s: message '%s' does not say '%s'", path, err.msg,
			 what);
}

static const struct pal_resource *
find(const struct pal_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n_res; i++)
		if (strcmp(m->res[i].name, name) == 0)
			return &m->res[i];
	return NULL;
}

/* The resource exists and its digest is the one-shot digest of data. */
static void
expect_res(const struct pal_manifest *m, const char *name, const void *data,
	   size_t n)
{
	const struct pal_resource *r = find(m, name);
	uint8_t want[64];
	size_t len;

	if (r == NULL)
		fail_msg("no resource '%s'", name);
	len = oms_digest(m->hash == PAL_HASH_BLAKE2B, data, n, want);
	assert_int_equal(r->digest_len, len);
	assert_memory_equal(r->digest, want, len);
}

static void
expect_names(const struct pal_manifest *m, const char *const *names,
	     size_t n)
{
	if (m->n_res != n) {
		for (size_t i = 0; i < m->n_res; i++)
			print_message("  have '%s'\n", m->res[i].name);
		fail_msg("%zu resources, want %zu", m->n_res, n);
	}
	for (size_t i = 0; i < n; i++)
		assert_string_equal(m->res[i].name, names[i]);
}

static void
single_file_is_named_dot(void **state)
{
	char *dir = oms_tmpdir("mf-single");
	char *file = oms_path(dir, "weights.bin");
	struct pal_manifest_opts o = { 0 };
	struct pal_manifest *m;

	(void)state;
	oms_puts(dir, "weights.bin", "some weights\n");
	oms_puts(dir, "other", "not part of the model");
	m = compute(file, &o);
	assert_true(m->single_file);
	assert_string_equal(m->model_name, "weights.bin");
	assert_int_equal(m->shard_size, 0);
	assert_int_equal(m->total_bytes, 13);
	expect_names(m, (const char *const[]){ "." }, 1);
	expect_res(m, ".", "some weights\n", 13);
	pal_manifest_free(m);

	o.hash = PAL_HASH_BLAKE2B;
	m = compute(file, &o);
	assert_int_equal(m->res[0].digest_len, 64);
	expect_res(m, ".", "some weights\n", 13);
	pal_manifest_free(m);
	free(file);
	oms_rmtree(dir);
	free(dir);
}

static void
directory_tree_sorted_in_byte_order(void **state)
{
	char *dir = oms_tmpdir("mf-tree");
	char *slash = NULL;
	struct pal_manifest_opts o = { 0 };
	struct pal_manifest *m;
	/* '-' 0x2d < '.' 0x2e < '/' 0x2f < 'B' < '_' < 'a' < 0xc3. */
	static const char *const names[] = {
		"B", "_x", "a-b", "a.b", "a/b", "a/c/d/e", "a/c/f", "z",
		"\xc3\xa9t\xc3\xa9",
	};

	(void)state;
	for (size_t i = 0; i < 9; i++)
		oms_puts(dir, names[i], names[i]);
	m = compute(dir, &o);
	assert_false(m->single_file);
	assert_string_equal(m->model_name, strrchr(dir, '/') + 1);
	expect_names(m, names, 9);
	for (size_t i = 0; i < 9; i++)
		expect_res(m, names[i], names[i], strlen(names[i]));
	pal_manifest_free(m);

	/* The model's name does not depend on a trailing slash or "/.". */
	slash = oms_path(dir, "");
	m = compute(slash, &o);
	assert_string_equal(m->model_name, strrchr(dir, '/') + 1);
	pal_manifest_free(m);
	free(slash);
	slash = oms_path(dir, ".");
	m = compute(slash, &o);
	assert_string_equal(m->model_name, strrchr(dir, '/') + 1);
	pal_manifest_free(m);
	free(slash);
	oms_rmtree(dir);
	free(dir);
}

static void
empty_files_are_listed(void **state)
{
	char *dir = oms_tmpdir("mf-empty");
	struct pal_manifest_opts o = { 0 };
	struct pal_manifest *m;

	(void)state;
	oms_put(dir, "empty", "", 0);
	oms_put(dir, "sub/also-empty", "", 0);
	oms_puts(dir, "full", "x");
	m = compute(dir, &o);
	expect_names(m, (const char *const[]){ "empty", "full",
		     "sub/also-empty" }, 3);
	expect_res(m, "empty", "", 0);
	expect_res(m, "sub/also-empty", "", 0);
	expect_res(m, "full", "x", 1);
	assert_int_equal(m->total_bytes, 1);
	pal_manifest_free(m);
	oms_rmtree(dir);
	free(dir);
}

static void
empty_model_is_refused(void **state)
{
	char *dir = oms_tmpdir("mf-none");
	char *sub = oms_path(dir, "sub");
	struct pal_manifest_opts o = { 0 };

	(void)state;
	compute_fails(dir, &o, PAL_ERR_INVALID, "no files to sign");
	/* Only directories and default-ignored files: still nothing. */
	assert_int_equal(mkdir(sub, 0700), 0);
	oms_puts(dir, ".gitignore", "*.o\n");
	compute_fails(dir, &o, PAL_ERR_INVALID, "no files to sign");
	free(sub);
	oms_rmtree(dir);
	free(dir);
}

static void
default_ignores_only_at_the_root(void **state)
{
	char *dir = oms_tmpdir("mf-git");
	struct pal_manifest_opts o = { 0 };
	struct pal_manifest *m;

	(void)state;
	oms_puts(dir, ".git/config", "[core]\n");
	oms_puts(dir, ".git/objects/ab/cdef", "blob");
	oms_puts(dir, ".gitattributes", "*.bin filter=lfs\n");
	oms_puts(dir, ".github/workflows/ci.yml", "on: push\n");
	oms_puts(dir, ".gitignore", "*.o\n");
	oms_puts(dir, ".gitmodules", "not a default ignore");
	oms_puts(dir, ".git-blame", "neither");
	oms_puts(dir, "sub/.git/config", "a nested repository is data");
	oms_puts(dir, "sub/.gitignore", "so is this");
	oms_puts(dir, "model.bin", "w");
	m = compute(dir, &o);
	expect_names(m, (const char *const[]){ ".git-blame", ".gitmodules",
		     "model.bin", "sub/.git/config", "sub/.gitignore" }, 5);
	expect_res(m, "sub/.git/config", "a nested repository is data", 27);
	/* The ignore list recorded is the defaults, sorted. */
	assert_int_equal(m->n_ignore, pal_manifest_n_default_ignores);
	assert_string_equal(m->ignore[0], ".git");
	assert_string_equal(m->ignore[1], ".gitattributes");
	assert_string_equal(m->ignore[2], ".github");
	assert_string_equal(m->ignore[3], ".gitignore");
	pal_manifest_free(m);
	oms_rmtree(dir);
	free(dir);
}

static void
user_ignores_cover_subtrees(void **state)
{
	char *dir = oms_tmpdir("mf-ign");
	const char *ign[] = { "./cache//", "logs/today.txt", "sub/deep" };
	struct pal_manifest_opts o = { .ignore = ign, .n_ignore = 3 };
	struct pal_manifest *m;

	(void)state;
	oms_puts(dir, "cache/a", "1");
	oms_puts(dir, "cache/b/c", "2");
	oms_puts(dir, "cachet", "a sibling whose name starts the same");
	oms_puts(dir, "cache.txt", "another");
	oms_puts(dir, "logs/today.txt", "3");
	oms_puts(dir, "logs/today.txt.bak", "4");
	oms_puts(dir, "sub/deep/x", "5");
	oms_puts(dir, "sub/deeper", "6");
	oms_puts(dir, "deep/x", "7");
	m = compute(dir, &o);
	expect_names(m, (const char *const[]){ "cache.txt", "cachet",
		     "deep/x", "logs/today.txt.bak", "sub/deeper" }, 5);
	/* Recorded canonical, with the defaults, sorted. */
	assert_int_equal(m->n_ignore, 7);
	assert_string_equal(m->ignore[0], ".git");
	assert_string_equal(m->ignore[4], "cache");
	assert_string_equal(m->ignore[5], "logs/today.txt");
	assert_string_equal(m->ignore[6], "sub/deep");
	pal_manifest_free(m);

	/* Ignore paths must stay inside the model. */
	ign[0] = "../elsewhere";
	compute_fails(dir, &o, PAL_ERR_INVALID, "climbs out");
	ign[0] = "a/../../b";
	compute_fails(dir, &o, PAL_ERR_INVALID, "climbs out");
	ign[0] = "/etc";
	compute_fails(dir, &o, PAL_ERR_INVALID, "not a relative path");
	ign[0] = "./";
	compute_fails(dir, &o, PAL_ERR_INVALID, "not a relative path");
	ign[0] = "";
	compute_fails(dir, &o, PAL_ERR_INVALID, "not a relative path");
	oms_rmtree(dir);
	free(dir);
}

static void
signature_file_is_never_hashed(void **state)
{
	char *dir = oms_tmpdir("mf-sig");
	char *sig = oms_path(dir, "model.sig");
	char *subsig = oms_path(dir, "sub/x.sig");
	struct pal_manifest_opts o = { .signature = sig };
	struct pal_manifest *m;

	(void)state;
	oms_puts(dir, "model.bin", "w");
	oms_puts(dir, "model.sig", "{}");
	oms_puts(dir, "sub/x.sig", "{}");
	m = compute(dir, &o);
	expect_names(m, (const char *const[]){ "model.bin", "sub/x.sig" },
		     2);
	assert_int_equal(m->n_ignore, 5);
	assert_string_equal(m->ignore[4], "model.sig");
	pal_manifest_free(m);

	/* Inside a subdirectory: recorded with its relative path. */
	o.signature = subsig;
	m = compute(dir, &o);
	expect_names(m, (const char *const[]){ "model.bin", "model.sig" }, 2);
	assert_int_equal(m->n_ignore, 5);
	assert_string_equal(m->ignore[4], "sub/x.sig");
	pal_manifest_free(m);

	/* A signature that does not exist yet (signing) is still left out. */
	unlink(sig);
	o.signature = sig;
	m = compute(dir, &o);
	assert_string_equal(m->ignore[4], "model.sig");
	pal_manifest_free(m);
	free(sig);
	free(subsig);
	oms_rmtree(dir);
	free(dir);
}

static void
signature_outside_is_not_recorded(void **state)
{
	char *dir = oms_tmpdir("mf-sigout");
	char *model = oms_path(dir, "model");
	char *sig = oms_path(dir, "model.sig");
	struct pal_manifest_opts o = { .signature = sig };
	struct pal_manifest *m;

	(void)state;
	oms_puts(dir, "model/a", "a");
	oms_puts(dir, "model.sig", "{}");
	m = compute(model, &o);
	expect_names(m, (const char *const[]){ "a" }, 1);
	assert_int_equal(m->n_ignore, pal_manifest_n_default_ignores);
	pal_manifest_free(m);
	free(model);
	free(sig);
	oms_rmtree(dir);
	free(dir);
}

static void
symlinks_refused_by_default(void **state)
{
	char *dir = oms_tmpdir("mf-link");
	char *link = oms_path(dir, "model/l");
	char *model = oms_path(dir, "model");
	char *mlink = oms_path(dir, "mlink");
	struct pal_manifest_opts o = { 0 };

	(void)state;
	oms_puts(dir, "model/a", "a");
	assert_int_equal(symlink("a", link), 0);
	compute_fails(model, &o, PAL_ERR_VERIFY, "l: is a symbolic link");
	/* A model path that is itself a link. */
	unlink(link);
	assert_int_equal(symlink("model", mlink), 0);
	compute_fails(mlink, &o, PAL_ERR_VERIFY, "is a symbolic link");
	free(link);
	free(model);
	free(mlink);
	oms_rmtree(dir);
	free(dir);
}

static void
symlinks_inside_followed_when_allowed(void **state)
{
	char *dir = oms_tmpdir("mf-linkok");
	char *model = oms_path(dir, "model");
	char *l1 = oms_path(dir, "model/l");
	char *l2 = oms_path(dir, "model/sub/up");
	struct pal_manifest_opts o = { .allow_symlinks = 1 };
	struct pal_manifest *m;

	(void)state;
	oms_puts(dir, "model/a", "target bytes");
	oms_puts(dir, "model/sub/b", "b");
	assert_int_equal(symlink("a", l1), 0);
	assert_int_equal(symlink("../a", l2), 0);
	m = compute(model, &o);
	assert_true(m->allow_symlinks);
	expect_names(m, (const char *const[]){ "a", "l", "sub/b", "sub/up" },
		     4);
	expect_res(m, "l", "target bytes", 12);
	expect_res(m, "sub/up", "target bytes", 12);
	pal_manifest_free(m);
	free(model);
	free(l1);
	free(l2);
	oms_rmtree(dir);
	free(dir);
}

static void
symlinks_leaving_the_model_refused(void **state)
{
	char *dir = oms_tmpdir("mf-linkout");
	char *model = oms_path(dir, "model");
	char *l = oms_path(dir, "model/sub/l");
	char *outside = oms_path(dir, "secret");
	struct pal_manifest_opts o = { .allow_symlinks = 1 };

	(void)state;
	oms_puts(dir, "model/a", "a");
	oms_puts(dir, "model/sub/b", "b");
	oms_puts(dir, "secret", "outside the model");
	assert_int_equal(symlink("../../secret", l), 0);
	compute_fails(model, &o, PAL_ERR_VERIFY, "leads out of the model");
	/* An absolute link, even to a file of the model. */
	unlink(l);
	assert_int_equal(symlink(outside, l), 0);
	compute_fails(model, &o, PAL_ERR_VERIFY, "leads out of the model");
	unlink(l);
	assert_int_equal(symlink("/etc/passwd", l), 0);
	compute_fails(model, &o, PAL_ERR_VERIFY, "leads out of the model");
	/* A link to a directory is not a file. */
	unlink(l);
	assert_int_equal(symlink("..", l), 0);
	compute_fails(model, &o, PAL_ERR_UNSUPPORTED, "other than a regular");
	free(model);
	free(l);
	free(outside);
	oms_rmtree(dir);
	free(dir);
}

static void
special_files_refused(void **state)
{
	char *dir = oms_tmpdir("mf-fifo");
	char *fifo = oms_path(dir, "sub/pipe");
	struct pal_manifest_opts o = { 0 };

	(void)state;
	oms_puts(dir, "sub/a", "a");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	compute_fails(dir, &o, PAL_ERR_UNSUPPORTED,
		      "sub/pipe: not a regular file or directory");
	o.allow_symlinks = 1;
	compute_fails(dir, &o, PAL_ERR_UNSUPPORTED, "not a regular file");
	/* A FIFO given as the model itself. */
	compute_fails(fifo, &o, PAL_ERR_UNSUPPORTED, "not a regular file");
	free(fifo);
	oms_rmtree(dir);
	free(dir);
}

/*
 * Runs fn in a child with a time limit: a hang or a sanitizer abort in
 * the code under test fails this test alone, not the whole program.
 */
static void
in_child(void (*fn)(const char *), const char *arg, unsigned seconds)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(seconds);
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d%s", WTERMSIG(status),
			 WTERMSIG(status) == SIGALRM ? " (hung)" : "");
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
link_to_fifo_child(const char *model)
{
	const char *ign[] = { "pipe" };
	struct pal_manifest_opts o = {
		.allow_symlinks = 1, .ignore = ign, .n_ignore = 1,
	};
	struct pal_manifest *m = NULL;

	if (pal_manifest_compute(model, &o, &m, NULL) != PAL_ERR_UNSUPPORTED)
		_exit(1);
}

/*
 * Regression: an allowed symlink to a FIFO inside the model was opened
 * O_RDONLY without O_NONBLOCK, and open(2) on a FIFO waits for a writer,
 * so the walk hung for ever.  Here the FIFO itself is ignored so that the
 * walk reaches the link whatever the readdir order.
 */
static void
symlink_to_fifo_does_not_hang(void **state)
{
	char *dir = oms_tmpdir("mf-linkfifo");
	char *fifo = oms_path(dir, "pipe");
	char *link = oms_path(dir, "l");

	(void)state;
	oms_puts(dir, "a", "a");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(symlink("pipe", link), 0);
	in_child(link_to_fifo_child, dir, 5);
	free(fifo);
	free(link);
	oms_rmtree(dir);
	free(dir);
}

static void
non_utf8_names_refused(void **state)
{
	char *dir = oms_tmpdir("mf-utf8");
	struct pal_manifest_opts o = { 0 };

	(void)state;
	oms_puts(dir, "ok", "a");
	oms_puts(dir, "sub/bad\xff.bin", "b");
	compute_fails(dir, &o, PAL_ERR_FORMAT, "under 'sub' is not valid UTF-8");
	oms_rmtree(dir);
	free(dir);
	/* An overlong encoding of '/' is not UTF-8 either. */
	dir = oms_tmpdir("mf-utf8");
	oms_puts(dir, "\xc0\xaf", "c");
	compute_fails(dir, &o, PAL_ERR_FORMAT, "not valid UTF-8");
	oms_rmtree(dir);
	free(dir);
}

static void
shards_name_ranges_and_skip_empty_files(void **state)
{
	char *dir = oms_tmpdir("mf-shards");
	struct pal_manifest_opts o = { .shard_size = 4 };
	struct pal_manifest *m;

	(void)state;
	oms_puts(dir, "f", "0123456789");
	oms_puts(dir, "g", "abcdefgh");
	oms_put(dir, "empty", "", 0);
	oms_puts(dir, "d/one", "1");
	m = compute(dir, &o);
	assert_int_equal(m->shard_size, 4);
	expect_names(m, (const char *const[]){ "d/one:0:1", "f:0:4", "f:4:8",
		     "f:8:10", "g:0:4", "g:4:8" }, 6);
	expect_res(m, "d/one:0:1", "1", 1);
	expect_res(m, "f:0:4", "0123", 4);
	expect_res(m, "f:4:8", "4567", 4);
	expect_res(m, "f:8:10", "89", 2);
	expect_res(m, "g:0:4", "abcd", 4);
	expect_res(m, "g:4:8", "efgh", 4);
	assert_int_equal(m->total_bytes, 19);
	pal_manifest_free(m);

	/* A shard size larger than every file: one shard each. */
	o.shard_size = 1000;
	o.hash = PAL_HASH_BLAKE2B;
	m = compute(dir, &o);
	expect_names(m, (const char *const[]){ "d/one:0:1", "f:0:10",
		     "g:0:8" }, 3);
	expect_res(m, "f:0:10", "0123456789", 10);
	pal_manifest_free(m);
	oms_rmtree(dir);
	free(dir);
}

static void
shards_of_a_single_file(void **state)
{
	char *dir = oms_tmpdir("mf-shard1");
	char *file = oms_path(dir, "w");
	struct pal_manifest_opts o = { .shard_size = 3 };
	struct pal_manifest *m;

	(void)state;
	oms_puts(dir, "w", "abcdefg");
	m = compute(file, &o);
	assert_true(m->single_file);
	expect_names(m, (const char *const[]){ ".:0:3", ".:3:6", ".:6:7" },
		     3);
	expect_res(m, ".:3:6", "def", 3);
	expect_res(m, ".:6:7", "g", 1);
	pal_manifest_free(m);
	free(file);
	oms_rmtree(dir);
	free(dir);
}

static void
huge_shard_size_child(const char *dir)
{
	struct pal_manifest_opts o = { .shard_size = UINT64_MAX };
	struct pal_manifest *m = NULL;
	int rc = pal_manifest_compute(dir, &o, &m, NULL);

	/* Either one shard per file, or a clean refusal. */
	if (rc == 0 && (m->n_res != 2 || strcmp(m->res[0].name, "a:0:5") ||
			strcmp(m->res[1].name, "b:0:3")))
		_exit(1);
	if (rc != 0 && rc != PAL_ERR_LIMIT && rc != PAL_ERR_INVALID)
		_exit(2);
	pal_manifest_free(m);
}

/*
 * Regression: the shard count (sz + step - 1) / step wrapped around for
 * step > 2^64 - sz, so one item was allocated and one per file written: a
 * heap overflow with shard_size = UINT64_MAX and two non-empty files.
 * The CLI caps --shard-size at 2^62 and statements carry int64, so only
 * the library API could reach it.
 */
static void
huge_shard_size_is_safe(void **state)
{
	char *dir = oms_tmpdir("mf-hugeshard");

	(void)state;
	oms_puts(dir, "a", "12345");
	oms_puts(dir, "b", "123");
	in_child(huge_shard_size_child, dir, 20);
	oms_rmtree(dir);
	free(dir);
}

/* Files larger than the 1 MiB read block, in shards not aligned to it. */
static void
large_files_across_blocks_and_threads(void **state)
{
	char *dir = oms_tmpdir("mf-large");
	size_t n = (4u << 20) + 7;
	uint8_t *big = malloc(n);
	struct pal_manifest_opts o = { .threads = 1 };
	struct pal_manifest *m1, *m4;

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (uint8_t)(i * 2654435761u >> 13);
	oms_put(dir, "big", big, n);
	oms_put(dir, "mid", big, (1u << 20) + 1);
	oms_put(dir, "small", big, 100);
	m1 = compute(dir, &o);
	o.threads = 4;
	m4 = compute(dir, &o);
	expect_res(m1, "big", big, n);
	expect_res(m1, "mid", big, (1u << 20) + 1);
	expect_res(m1, "small", big, 100);
	assert_int_equal(m1->n_res, m4->n_res);
	for (size_t i = 0; i < m1->n_res; i++)
		assert_memory_equal(m1->res[i].digest, m4->res[i].digest, 32);
	assert_int_equal(m1->total_bytes, n + (1u << 20) + 1 + 100);
	pal_manifest_free(m1);
	pal_manifest_free(m4);

	o.shard_size = 1572864 + 3;	/* 1.5 MiB and a bit */
	o.hash = PAL_HASH_BLAKE2B;
	m1 = compute(dir, &o);
	assert_int_equal(m1->n_res, 3 + 1 + 1);
	for (uint64_t s = 0; s < n; s += o.shard_size) {
		uint64_t e = s + o.shard_size < n ? s + o.shard_size : n;
		char name[64];

		snprintf(name, sizeof(name), "big:%llu:%llu",
			 (unsigned long long)s, (unsigned long long)e);
		expect_res(m1, name, big + s, (size_t)(e - s));
	}
	expect_res(m1, "mid:0:1048577", big, (1u << 20) + 1);
	pal_manifest_free(m1);
	free(big);
	oms_rmtree(dir);
	free(dir);
}

static void
root_digest_covers_raw_digests_in_order(void **state)
{
	char *dir = oms_tmpdir("mf-root");
	struct pal_manifest_opts o = { 0 };
	struct pal_manifest *m;
	uint8_t cat[3 * 64], want[64], got[32];

	(void)state;
	oms_puts(dir, "a", "A");
	oms_puts(dir, "b/c", "BC");
	oms_puts(dir, "d", "D");
	for (int blake = 0; blake < 2; blake++) {
		size_t k = 0;

		o.hash = blake ? PAL_HASH_BLAKE2B : PAL_HASH_SHA256;
		m = compute(dir, &o);
		assert_int_equal(m->n_res, 3);
		for (size_t i = 0; i < 3; i++) {
			memcpy(cat + k, m->res[i].digest, m->res[i].digest_len);
			k += m->res[i].digest_len;
		}
		assert_int_equal(k, blake ? 192 : 96);
		oms_digest(0, cat, k, want);
		assert_int_equal(pal_manifest_root_digest(m, got), 0);
		assert_memory_equal(got, want, 32);
		/* The order matters. */
		struct pal_resource t = m->res[0];
		m->res[0] = m->res[2];
		m->res[2] = t;
		assert_int_equal(pal_manifest_root_digest(m, got), 0);
		assert_memory_not_equal(got, want, 32);
		pal_manifest_sort(m);
		assert_string_equal(m->res[0].name, "a");
		assert_int_equal(pal_manifest_root_digest(m, got), 0);
		assert_memory_equal(got, want, 32);
		pal_manifest_free(m);
	}
	oms_rmtree(dir);
	free(dir);
}

static void
compare_lists_every_difference(void **state)
{
	char *a = oms_tmpdir("mf-cmpa");
	char *b = oms_tmpdir("mf-cmpb");
	struct pal_manifest_opts o = { 0 };
	struct pal_manifest *want, *got;
	struct pal_diff d[8];

	(void)state;
	oms_puts(a, "same", "s");
	oms_puts(a, "changed", "old");
	oms_puts(a, "gone", "g");
	oms_puts(a, "z/same", "zs");
	oms_puts(b, "same", "s");
	oms_puts(b, "changed", "new");
	oms_puts(b, "added", "n");
	oms_puts(b, "z/same", "zs");
	oms_puts(b, "z/zz", "more");
	want = compute(a, &o);
	got = compute(b, &o);
	assert_int_equal(pal_manifest_compare(want, want, d, 8), 0);
	assert_int_equal(pal_manifest_compare(want, got, d, 8), 4);
	assert_int_equal(d[0].kind, PAL_DIFF_UNSIGNED);
	assert_string_equal(d[0].name, "added");
	assert_null(d[0].want);
	assert_ptr_equal(d[0].got, find(got, "added"));
	assert_int_equal(d[1].kind, PAL_DIFF_MISMATCH);
	assert_string_equal(d[1].name, "changed");
	assert_ptr_equal(d[1].want, find(want, "changed"));
	assert_ptr_equal(d[1].got, find(got, "changed"));
	assert_int_equal(d[2].kind, PAL_DIFF_MISSING);
	assert_string_equal(d[2].name, "gone");
	assert_null(d[2].got);
	assert_int_equal(d[3].kind, PAL_DIFF_UNSIGNED);
	assert_string_equal(d[3].name, "z/zz");
	/* The count is of all differences; only max are written. */
	memset(d, 0xa5, sizeof(d));
	assert_int_equal(pal_manifest_compare(want, got, d, 1), 4);
	assert_string_equal(d[0].name, "added");
	assert_int_equal(((const uint8_t *)&d[1])[0], 0xa5);
	assert_int_equal(pal_manifest_compare(got, want, NULL, 0), 4);
	/* The same names under another hash differ in every digest. */
	o.hash = PAL_HASH_BLAKE2B;
	pal_manifest_free(got);
	got = compute(a, &o);
	assert_int_equal(pal_manifest_compare(want, got, d, 8), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(d[i].kind, PAL_DIFF_MISMATCH);
	pal_manifest_free(want);
	pal_manifest_free(got);
	oms_rmtree(a);
	oms_rmtree(b);
	free(a);
	free(b);
}

static void
check_name_canonical_only(void **state)
{
	static const char *const good[] = {
		"a", "a/b", "a.b", ".hidden", "..a", "a..", "a/.b/c", "...",
		"a b/c d", "\xc3\xa9", "f:0:10",
	};
	static const char *const bad[] = {
		"", "/a", "a/../b", "..", "../a", "a/..", "a//b", "a/", ".",
		"./a", "a/./b", "a/.", "//", "/", "\xff", "a/\xc0\xaf",
		"\xed\xa0\x80",
	};
	struct pal_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (pal_manifest_check_name(good[i], 0, &err) != 0)
			fail_msg("'%s' refused: %s", good[i], err.msg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (pal_manifest_check_name(bad[i], 0, &err) !=
		    PAL_ERR_FORMAT)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(err.code, PAL_ERR_FORMAT);
		assert_true(err.msg[0] != '\0');
	}
	/* "." only where the single-file name is allowed. */
	assert_int_equal(pal_manifest_check_name(".", 1, NULL), 0);
	assert_int_equal(pal_manifest_check_name("./a", 1, NULL),
			 PAL_ERR_FORMAT);
	assert_int_equal(pal_manifest_check_name("", 1, NULL),
			 PAL_ERR_FORMAT);
}

static void
hash_names(void **state)
{
	enum pal_hash_alg a;

	(void)state;
	assert_string_equal(pal_hash_name(PAL_HASH_SHA256), "sha256");
	assert_string_equal(pal_hash_name(PAL_HASH_BLAKE2B), "blake2b");
	assert_int_equal(pal_hash_size(PAL_HASH_SHA256), 32);
	assert_int_equal(pal_hash_size(PAL_HASH_BLAKE2B), 64);
	assert_int_equal(pal_hash_parse("blake2b", &a), 0);
	assert_int_equal(a, PAL_HASH_BLAKE2B);
	assert_int_equal(pal_hash_parse("sha256", &a), 0);
	assert_int_equal(a, PAL_HASH_SHA256);
	assert_int_equal(pal_hash_parse("SHA256", &a), -1);
	assert_int_equal(pal_hash_parse("sha384", &a), -1);
	assert_int_equal(pal_hash_parse("", &a), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(single_file_is_named_dot),
		cmocka_unit_test(directory_tree_sorted_in_byte_order),
		cmocka_unit_test(empty_files_are_listed),
		cmocka_unit_test(empty_model_is_refused),
		cmocka_unit_test(default_ignores_only_at_the_root),
		cmocka_unit_test(user_ignores_cover_subtrees),
		cmocka_unit_test(signature_file_is_never_hashed),
		cmocka_unit_test(signature_outside_is_not_recorded),
		cmocka_unit_test(symlinks_refused_by_default),
		cmocka_unit_test(symlinks_inside_followed_when_allowed),
		cmocka_unit_test(symlinks_leaving_the_model_refused),
		cmocka_unit_test(special_files_refused),
		cmocka_unit_test(symlink_to_fifo_does_not_hang),
		cmocka_unit_test(non_utf8_names_refused),
		cmocka_unit_test(shards_name_ranges_and_skip_empty_files),
		cmocka_unit_test(shards_of_a_single_file),
		cmocka_unit_test(huge_shard_size_is_safe),
		cmocka_unit_test(large_files_across_blocks_and_threads),
		cmocka_unit_test(root_digest_covers_raw_digests_in_order),
		cmocka_unit_test(compare_lists_every_difference),
		cmocka_unit_test(check_name_canonical_only),
		cmocka_unit_test(hash_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
