/*
 * test_sandbox_profile.c - palisade run's profiles (sandbox.h): the two
 * shipped profiles read with every value checked, the built-in
 * defaults, then every kind of mistake, each with the file:line:column
 * and key path it must be reported at; the listening addresses and the
 * environment entries the command line takes.  The sandbox itself is
 * tested end to end (tests/e2e/run.sh), where it can be attacked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "palisade/sandbox.h"

#define NAME "p.yaml"

static struct pal_sandbox_profile *
parse_ok(const char *text)
{
	struct pal_sandbox_profile *p = NULL;
	struct pal_err err;
	int rc;

	pal_err_clear(&err);
	rc = pal_sandbox_profile_parse((const uint8_t *)text, strlen(text),
				       NAME, &p, &err);
	if (rc != 0)
		fail_msg("%s", err.msg);
	assert_non_null(p);
	return p;
}

/* The text is refused with exactly this message. */
static void
refused(const char *text, const char *want)
{
	struct pal_sandbox_profile *p = (struct pal_sandbox_profile *)&p;
	struct pal_err err;
	int rc;

	pal_err_clear(&err);
	rc = pal_sandbox_profile_parse((const uint8_t *)text, strlen(text),
				       NAME, &p, &err);
	assert_int_equal(rc, PAL_ERR_POLICY);
	assert_null(p);
	if (strcmp(err.msg, want) != 0)
		fail_msg("got  '%s'\nwant '%s'", err.msg, want);
}

static void
shipped_profiles(void **state)
{
	const char *src = getenv("PAL_TEST_DATA");
	struct pal_sandbox_profile *p = NULL;
	struct pal_err err;
	char path[4096];

	(void)state;
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/../../profiles/python-cpu.yaml", src);
	assert_int_equal(pal_sandbox_profile_load(path, &p, &err), 0);
	assert_int_equal(p->n_paths, 7);
	assert_string_equal(p->paths[0], "/usr/bin/python3");
	assert_int_equal(p->tmp_mib, 512);
	assert_int_equal(p->memory_mib, 32768);
	assert_int_equal(p->open_files, 4096);
	assert_int_equal(p->processes, 1024);
	assert_int_equal(p->network, PAL_SANDBOX_NET_LISTEN);
	assert_string_equal(p->env[1], "PYTHONDONTWRITEBYTECODE=1");
	pal_sandbox_profile_free(p);
	snprintf(path, sizeof(path), "%s/../../profiles/strict-c.yaml", src);
	assert_int_equal(pal_sandbox_profile_load(path, &p, &err), 0);
	assert_int_equal(p->n_paths, 3);
	assert_int_equal(p->processes, 16);
	pal_sandbox_profile_free(p);
}

static void
every_key(void **state)
{
	struct pal_sandbox_profile *p = parse_ok(
		"version: 1\n"
		"read_only: [/usr/bin/python3, /opt/model]\n"
		"tmp_mib: 8\n"
		"env: [OMP_NUM_THREADS, MODEL=tiny]\n"
		"keep_fds: [5, 9]\n"
		"limits: {memory_mib: 1024, open_files: 64, processes: 8}\n"
		"syscalls: [sched_setaffinity]\n"
		"network: listen\n"
		"listen: \"unix:/run/palisade/m.sock\"\n");

	(void)state;
	assert_string_equal(p->name, NAME);
	assert_int_equal(p->n_paths, 2);
	assert_string_equal(p->paths[1], "/opt/model");
	assert_int_equal(p->tmp_mib, 8);
	assert_int_equal(p->n_env, 2);
	assert_string_equal(p->env[1], "MODEL=tiny");
	assert_int_equal(p->n_fds, 2);
	assert_int_equal(p->fds[1], 9);
	assert_int_equal(p->memory_mib, 1024);
	assert_int_equal(p->open_files, 64);
	assert_int_equal(p->processes, 8);
	assert_int_equal(p->n_syscalls, 1);
	assert_string_equal(p->listen, "unix:/run/palisade/m.sock");
	pal_sandbox_profile_free(p);
}

static void
defaults(void **state)
{
	struct pal_sandbox_profile *p = parse_ok("version: 1\n"), *b = NULL;
	struct pal_err err;

	(void)state;
	assert_int_equal(pal_sandbox_profile_builtin(&b, &err), 0);
	assert_string_equal(b->name, "built-in");
	assert_int_equal(p->n_paths + b->n_paths, 0);
	assert_int_equal(p->tmp_mib, 64);
	assert_int_equal(p->memory_mib, 4096);
	assert_int_equal(p->open_files, 1024);
	assert_int_equal(p->processes, 256);
	assert_int_equal(b->tmp_mib, p->tmp_mib);
	assert_int_equal(p->network, PAL_SANDBOX_NET_LISTEN);
	assert_null(p->listen);
	assert_int_equal(pal_sandbox_profile_add_path(b, "/usr/bin", &err), 0);
	assert_int_equal(pal_sandbox_profile_add_path(b, "/usr/bin", &err), 0);
	assert_int_equal(b->n_paths, 1);
	assert_int_equal(pal_sandbox_profile_add_path(b, "usr", &err),
			 PAL_ERR_INVALID);
	pal_sandbox_profile_free(p);
	pal_sandbox_profile_free(b);
	pal_sandbox_profile_free(NULL);
}

static void
mistakes(void **state)
{
	(void)state;
	refused("version: 1\nread_only: [/usr]\nbogus: 1\n",
		NAME ":3:1: unknown key 'bogus' (known: version, read_only, "
		"tmp_mib, env, keep_fds, limits, syscalls, network, listen)");
	refused("read_only: [/usr]\n", NAME ":1:1: 'version' must come "
		"first");
	refused("version: 2\n", NAME ":1:10: unsupported version '2' (this "
		"palisade reads version 1)");
	refused("", NAME ":1:1: empty profile (expected a mapping with "
		"'version: 1')");
	refused("version: 1\nread_only:\n  - /usr\n  - usr/lib\n",
		NAME ":4:5: read_only[1]: 'usr/lib' is not an absolute path");
	refused("version: 1\nread_only: [/]\n", NAME ":2:13: read_only[0]: "
		"'/' would expose the whole file system; name the directories "
		"the server needs");
	refused("version: 1\nread_only: [/usr/../etc]\n", NAME ":2:13: "
		"read_only[0]: '/usr/../etc' is not a normalized path (no '.', "
		"'..', repeated or trailing '/')");
	refused("version: 1\nread_only: [/usr/]\n", NAME ":2:13: "
		"read_only[0]: '/usr/' is not a normalized path (no '.', '..', "
		"repeated or trailing '/')");
	refused("version: 1\nread_only: [/usr, /usr]\n", NAME ":2:19: "
		"read_only[1]: repeated entry");
	refused("version: 1\nenv: [PALISADE_UNSEALED]\n", NAME ":2:7: env[0]: "
		"'PALISADE_UNSEALED' is set by palisade run itself");
	refused("version: 1\nenv: [\"9LIVES=1\"]\n", NAME ":2:7: env[0]: "
		"'9LIVES' is not a variable name");
	refused("version: 1\nkeep_fds: [2]\n", NAME ":2:12: keep_fds[0]: "
		"must be between 3 and 65535");
	refused("version: 1\nsyscalls: [bpf]\n", NAME ":2:12: syscalls[0]: "
		"'bpf' can never be allowed in the sandbox");
	refused("version: 1\nsyscalls: [no_such_call]\n", NAME ":2:12: "
		"syscalls[0]: unknown system call 'no_such_call'");
	refused("version: 1\nlisten: \"10.1.2.3:80\"\n", NAME ":2:9: listen: "
		"listen '10.1.2.3:80': only a loopback address (127.0.0.0/8, "
		"[::1]) or a Unix socket");
	refused("version: 1\nnetwork: none\nlisten: \"127.0.0.1:8080\"\n",
		NAME ": 'listen' with 'network: none'");
	refused("version: 1\nnetwork: some\n", NAME ":2:10: network: must be "
		"one of listen, none");
	refused("version: 1\nlimits: {memory_mib: 1k}\n", NAME ":2:22: "
		"limits.memory_mib: must be a whole number, not '1k'");
	refused("version: 1\ntmp_mib: 0\n", NAME ":2:10: tmp_mib: must be "
		"between 1 and 1048576");
	refused("version: 1\nread_only: &x [/usr]\n", NAME ":2:12: anchors "
		"and tags are not allowed");
}

static void
addresses(void **state)
{
	static const char *const good[] = {
		"unix:/run/m.sock", "127.0.0.1:8080", "127.5.6.7:1",
		"[::1]:65535",
	};
	static const char *const bad[] = {
		"unix:relative", "0.0.0.0:80", "10.0.0.1:80", "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:08080", "[::]:80", "localhost:80",
		"127.0.0.1", "", "unix:",
	};
	struct pal_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (pal_sandbox_listen_check(good[i], &err) != 0)
			fail_msg("%s: %s", good[i], err.msg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pal_sandbox_listen_check(bad[i], &err) != PAL_ERR_INVALID)
			fail_msg("%s accepted", bad[i]);
}

static void
env_entries(void **state)
{
	struct pal_err err;

	(void)state;
	assert_int_equal(pal_sandbox_env_check("A", &err), 0);
	assert_int_equal(pal_sandbox_env_check("_a1=x=y", &err), 0);
	assert_int_equal(pal_sandbox_env_check("=x", &err), PAL_ERR_INVALID);
	assert_int_equal(pal_sandbox_env_check("A-B=1", &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_sandbox_env_check("LISTEN_FDS=3", &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_sandbox_env_check("LISTEN_FDSX=3", &err), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shipped_profiles),
		cmocka_unit_test(every_key),
		cmocka_unit_test(defaults),
		cmocka_unit_test(mistakes),
		cmocka_unit_test(addresses),
		cmocka_unit_test(env_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
