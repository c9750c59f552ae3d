/*
 * test_vault_walk.c - the files a vault seals (src/vault/walk.c): every
 * regular file, sorted, with its size; symbolic links, FIFOs, reserved
 * and unusable names refused with the path named.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/vault/vault_int.h"

static char root[4096];

static void
put(const char *rel, size_t size)
{
	char p[8192];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')) != NULL;
	     s++) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static int
setup(void **state)
{
	(void)state;
	const char *tmp = getenv("PAL_TEST_TMP");
	snprintf(root, sizeof(root), "%s/walk.%ld", tmp ? tmp : "/tmp",
		 (long)getpid());
	mkdir(tmp ? tmp : "/tmp", 0755);
	return mkdir(root, 0700);
}

static int
teardown(void **state)
{
	(void)state;
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void
expect_refusal(const char *want)
{
	struct vfiles f;
	struct pal_err err = { 0 };
	assert_int_not_equal(vault_walk(root, 1000, &f, &err), 0);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, want);
}

static void
lists_sorted_files(void **state)
{
	(void)state;
	put("config.json", 10);
	put("b/z.bin", 3);
	put("b/a.bin", 70000);
	put("a.txt", 0);
	struct vfiles f;
	struct pal_err err = { 0 };
	if (vault_walk(root, 1000, &f, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(f.n, 4);
	assert_string_equal(f.v[0].path, "a.txt");
	assert_string_equal(f.v[1].path, "b/a.bin");
	assert_int_equal(f.v[1].size, 70000);
	assert_string_equal(f.v[2].path, "b/z.bin");
	assert_string_equal(f.v[3].path, "config.json");
	vfiles_free(&f);

	/* A limit on the count. */
	assert_int_not_equal(vault_walk(root, 3, &f, &err), 0);
	assert_non_null(strstr(err.msg, "more than 3 files"));

	/* One regular file is listed under its base name. */
	char one[8192];
	snprintf(one, sizeof(one), "%s/config.json", root);
	assert_int_equal(vault_walk(one, 10, &f, &err), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.v[0].path, "config.json");
	vfiles_free(&f);
}

static void
refuses_links_and_specials(void **state)
{
	(void)state;
	char p[8192];
	put("ok.bin", 1);
	snprintf(p, sizeof(p), "%s/link", root);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	expect_refusal("link: not a regular file or directory (a symbolic "
		       "link)");
	unlink(p);
	snprintf(p, sizeof(p), "%s/sub/fifo", root);
	put("sub/x", 1);
	assert_int_equal(mkfifo(p, 0600), 0);
	expect_refusal("sub/fifo: not a regular file or directory (a device");
	unlink(p);
	put(".palisade/release.json", 1);
	expect_refusal(".palisade/release.json: paths under .palisade/ are "
		       "reserved");
}

static void
refuses_bad_names(void **state)
{
	(void)state;
	put("bad\nname", 1);
	expect_refusal("control characters");
}

static void
refuses_empty_dir(void **state)
{
	(void)state;
	expect_refusal("no files to seal");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(lists_sorted_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(refuses_links_and_specials,
						setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_bad_names, setup,
						teardown),
		cmocka_unit_test_setup_teardown(refuses_empty_dir, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
