/*
 * test_vault.c - a vault end to end through the library (vault.h), on a
 * fresh SoftHSM2 token: seal, unseal with two approvals into a directory
 * and into memfds, refusals (one approval, a replayed request), every
 * tampering with the sealed release (a flipped bit, a truncation, files
 * swapped between paths or releases, a file missing or added), rotation,
 * shredding, and replacing the approver set (a wrong admin key, a log
 * that cannot be written, a removed approver, an older set put back); the
 * audit log records each of them.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "palisade/approval.h"
#include "palisade/file.h"
#include "palisade/signer.h"
#include "palisade/tlog.h"
#include "palisade/vault.h"

static char tmp[4096], vdir[4200], model[4200], logdir[4200];
static char keyfile[4][4300], pubfile[4][4300];
static const char *const names[3] = { "alice", "bob", "carol" };
static struct pal_vault *v;
static const struct pal_keystore_pin pin = { .value = "1234" };

static const size_t sizes[] = { 0, 1, 16383, 16384, 16385, 200000 };
#define NFILES (sizeof(sizes) / sizeof(*sizes))

static void
path_of(char *out, size_t n, size_t i)
{
	if (i == NFILES - 1)
		snprintf(out, n, "sub/dir/f%zu.bin", i);
	else
		snprintf(out, n, "f%zu.bin", i);
}

static uint8_t
byte_of(size_t file, size_t k)
{
	return (uint8_t)(file * 131 + k * 7 + (k >> 9));
}

static void
write_file(const char *path, size_t i, size_t size)
{
	char p[8192];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + strlen(tmp) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	for (size_t k = 0; k < size; k++)
		fputc(byte_of(i, k), f);
	fclose(f);
}

static void
write_key(EVP_PKEY *k, const char *priv, const char *pub)
{
	FILE *f = fopen(priv, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL,
					      NULL), 1);
	fclose(f);
	f = fopen(pub, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, k), 1);
	fclose(f);
}

static int
setup(void **state)
{
	(void)state;
	const char *t = getenv("PAL_TEST_TMP");
	struct pal_err err = { 0 };
	snprintf(tmp, sizeof(tmp), "%s/vault.%ld", t ? t : "/tmp",
		 (long)getpid());
	mkdir(t ? t : "/tmp", 0755);
	if (mkdir(tmp, 0700) != 0)
		return -1;
	snprintf(vdir, sizeof(vdir), "%s/vault", tmp);
	snprintf(model, sizeof(model), "%s/model", tmp);
	snprintf(logdir, sizeof(logdir), "%s/log", tmp);
	for (size_t i = 0; i < 4; i++) {
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		snprintf(keyfile[i], sizeof(keyfile[i]), "%s/key%zu.pem", tmp,
			 i);
		snprintf(pubfile[i], sizeof(pubfile[i]), "%s/key%zu.pub", tmp,
			 i);
		write_key(k, keyfile[i], pubfile[i]);
		EVP_PKEY_free(k);
	}
	for (size_t i = 0; i < NFILES; i++) {
		char rel[64], p[8192];
		path_of(rel, sizeof(rel), i);
		snprintf(p, sizeof(p), "%s/%s", model, rel);
		write_file(p, i, sizes[i]);
	}
	if (pal_log_init(logdir, "palisade.test/vault", NULL, &err) < 0)
		return -1;
	const char *pubs[3] = { pubfile[0], pubfile[1], pubfile[2] };
	struct pal_vault_init in = {
		.pin = { .value = "1234" }, .so_pin = { .value = "5678" },
		.admin_key = keyfile[3], .approver_names = names,
		.approver_keys = pubs, .n_approvers = 3, .threshold = 2,
		.log_dir = logdir,
	};
	if (pal_vault_create(vdir, &in, &err) < 0) {
		fprintf(stderr, "create: %s\n", err.msg);
		return -1;
	}
	if (pal_vault_open(vdir, &pin, NULL, &v, &err) < 0) {
		fprintf(stderr, "open: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pal_vault_close(v);
	char cmd[8400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s.hsm'", tmp, vdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A request for op on release by dave, approved by the given approvers;
 * the approval files' paths go to out (caller frees each). */
static size_t
approvals(enum pal_tpc_op op, const char *release, const int *who,
	  size_t n, char **out)
{
	struct pal_tpc_request req;
	struct pal_err err = { 0 };
	int64_t now = (int64_t)time(NULL);
	static int serial;
	assert_int_equal(pal_tpc_request_new(op, release, "dave",
					     pal_vault_id(v), now, 600, &req,
					     &err), 0);
	for (size_t i = 0; i < n; i++) {
		struct pal_signer *s = NULL;
		struct pal_tpc_approval a;
		assert_int_equal(pal_signer_from_pem(keyfile[who[i]], &s,
						     &err), 0);
		assert_int_equal(pal_tpc_approve(&req, names[who[i]], s, now,
						 &a, &err), 0);
		pal_signer_free(s);
		assert_true(asprintf(&out[i], "%s/approval.%d", tmp,
				     serial++) > 0);
		assert_int_equal(pal_tpc_approval_write(&a, out[i], &err), 0);
	}
	return n;
}

static void
free_paths(char **p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i]);
}

/* Unseals release into a new directory with alice and bob's approval. */
static int
unseal_dir(const char *release, const char *dir, struct pal_err *err)
{
	char *ap[2];
	static const int ab[2] = { 0, 1 };
	approvals(PAL_TPC_UNSEAL, release, ab, 2, ap);
	struct pal_vault_authz a = {
		.approvals = (const char *const *)ap, .n_approvals = 2,
	};
	struct pal_unseal_target t = { .kind = PAL_UNSEAL_DIR, .dir = dir };
	struct pal_unsealed u;
	int rc = pal_vault_unseal(v, release, &a, &t, &u, err);
	pal_unsealed_free(&u);
	free_paths(ap, 2);
	return rc;
}

static void
expect_same_files(const char *dir)
{
	for (size_t i = 0; i < NFILES; i++) {
		char rel[64], p[8192];
		path_of(rel, sizeof(rel), i);
		snprintf(p, sizeof(p), "%s/%s", dir, rel);
		FILE *f = fopen(p, "rb");
		assert_non_null(f);
		size_t k = 0;
		int c;
		while ((c = fgetc(f)) != EOF) {
			if ((uint8_t)c != byte_of(i, k))
				fail_msg("%s: byte %zu differs", rel, k);
			k++;
		}
		fclose(f);
		assert_int_equal(k, sizes[i]);
	}
}

static void
seal_release(const char *release)
{
	struct pal_vault_sealed s;
	struct pal_err err = { 0 };
	if (pal_vault_seal(v, model, release, "acme/test", 2, &s, &err) < 0)
		fail_msg("seal %s: %s", release, err.msg);
	assert_int_equal(s.files, NFILES);
	assert_true(s.logged);
}

static void
expect_refused(int rc, const struct pal_err *err, const char *want)
{
	assert_int_not_equal(rc, 0);
	if (getenv("PAL_TEST_VERBOSE") != NULL)
		fprintf(stderr, "refused as expected: %s\n", err->msg);
	if (strstr(err->msg, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err->msg, want);
}

static void
seal_and_unseal(void **state)
{
	(void)state;
	struct pal_err err = { 0 };
	char out[8192];
	seal_release("r1");
	/* A second seal of the same release is refused. */
	struct pal_vault_sealed s;
	expect_refused(pal_vault_seal(v, model, "r1", NULL, 0, &s, &err),
		       &err, "exists");
	snprintf(out, sizeof(out), "%s/out1", tmp);
	if (unseal_dir("r1", out, &err) < 0)
		fail_msg("unseal: %s", err.msg);
	expect_same_files(out);
	/* Into an existing directory: refused. */
	expect_refused(unseal_dir("r1", out, &err), &err, "exists already");
}

static void
unseal_into_memfds(void **state)
{
	(void)state;
	char *ap[2];
	static const int bc[2] = { 1, 2 };
	struct pal_err err = { 0 };
	approvals(PAL_TPC_UNSEAL, "r1", bc, 2, ap);
	struct pal_vault_authz a = {
		.approvals = (const char *const *)ap, .n_approvals = 2,
	};
	struct pal_unseal_target t = { .kind = PAL_UNSEAL_MEMFD };
	struct pal_unsealed u;
	if (pal_vault_unseal(v, "r1", &a, &t, &u, &err) < 0)
		fail_msg("unseal: %s", err.msg);
	assert_int_equal(u.n, NFILES);
	for (size_t i = 0; i < u.n; i++) {
		char rel[64];
		path_of(rel, sizeof(rel), i);
		size_t j = 0;
		while (j < NFILES && strcmp(u.f[j].path, rel) != 0)
			j++;
		assert_true(j < NFILES);
		assert_int_equal(u.f[j].size, sizes[i]);
		uint8_t b;
		if (sizes[i] > 0) {
			assert_int_equal(pread(u.f[j].fd, &b, 1,
					       (off_t)sizes[i] - 1), 1);
			assert_int_equal(b, byte_of(i, sizes[i] - 1));
			/* Sealed: no writes. */
			assert_int_equal(pwrite(u.f[j].fd, &b, 1, 0), -1);
		}
	}
	pal_unsealed_free(&u);
	/* The same approvals again: the request is used up. */
	struct pal_unseal_target t2 = { .kind = PAL_UNSEAL_MEMFD };
	expect_refused(pal_vault_unseal(v, "r1", &a, &t2, &u, &err), &err,
		       "used");
	free_paths(ap, 2);
}

static void
one_approval_is_refused(void **state)
{
	(void)state;
	char *ap[1];
	static const int a0[1] = { 0 };
	struct pal_err err = { 0 };
	char out[8192];
	approvals(PAL_TPC_UNSEAL, "r1", a0, 1, ap);
	struct pal_vault_authz a = {
		.approvals = (const char *const *)ap, .n_approvals = 1,
	};
	snprintf(out, sizeof(out), "%s/out-one", tmp);
	struct pal_unseal_target t = { .kind = PAL_UNSEAL_DIR, .dir = out };
	struct pal_unsealed u;
	expect_refused(pal_vault_unseal(v, "r1", &a, &t, &u, &err), &err,
		       "1 of 2");
	struct stat st;
	assert_int_not_equal(stat(out, &st), 0);
	free_paths(ap, 1);
}

/* Runs f on a copy of the sealed release r1 as release "t"; restores. */
static void
tampered(const char *shell, const char *want)
{
	char cmd[16384], out[8192];
	struct pal_err err = { 0 };
	/* flip FILE OFFSET: xors one byte with 1. */
	snprintf(cmd, sizeof(cmd), "flip() { b=$(od -An -tu1 -j $2 -N1 $1 | "
		 "tr -d ' '); printf \"$(printf '\\\\%%03o' $((b ^ 1)))\" | "
		 "dd of=$1 bs=1 seek=$2 conv=notrunc 2>/dev/null; }; "
		 "hlen() { od -An -tu4 --endian=big -j8 -N4 $1 | tr -d ' '; }; "
		 "cd '%s/releases' && cp -a r1 r1.orig && cd r1 && %s", vdir,
		 shell);
	assert_int_equal(system(cmd), 0);
	snprintf(out, sizeof(out), "%s/out-tampered", tmp);
	expect_refused(unseal_dir("r1", out, &err), &err, want);
	struct stat st;
	assert_int_not_equal(stat(out, &st), 0);	/* nothing written */
	snprintf(cmd, sizeof(cmd), "cd '%s/releases' && rm -rf r1 && "
		 "mv r1.orig r1", vdir);
	assert_int_equal(system(cmd), 0);
}

static void
tampering_is_refused(void **state)
{
	(void)state;
	/* A bit flipped in the last chunk of a file, and in a salt. */
	tampered("f=files/sub/dir/f5.bin.sealed; flip $f $(( $(stat -c %s $f)"
		 " - 3 ))", "authentication failed");
	tampered("f=files/f1.bin.sealed; flip $f $(hlen $f)", "commitment");
	/* A bit flipped in a header's path (now not a file of the list). */
	tampered("f=files/f1.bin.sealed; flip $f $(( $(hlen $f) - 6 ))",
		 "another path");
	/* Cut at a chunk boundary (the 16385-byte file: one full chunk). */
	tampered("f=files/f4.bin.sealed; h=$(( $(stat -c %s $f) - 56 - "
		 "16400 - 17 )); truncate -s $((h + 56 + 16400)) $f",
		 "f4.bin");
	/* Two files swapped. */
	tampered("mv files/f1.bin.sealed x && mv files/f2.bin.sealed "
		 "files/f1.bin.sealed && mv x files/f2.bin.sealed",
		 "another path");
	/* A file missing, a file added. */
	tampered("rm files/f3.bin.sealed", "f3.bin is missing");
	tampered("cp files/f3.bin.sealed files/extra.bin.sealed",
		 "extra.bin.sealed is not in its file list");
}

static void
files_do_not_move_between_releases(void **state)
{
	(void)state;
	char cmd[16384];
	seal_release("r2");
	snprintf(cmd, sizeof(cmd), "cp '%s/releases/r2/files/f1.bin.sealed' "
		 "/dev/null", vdir);
	assert_int_equal(system(cmd), 0);
	tampered("cp ../r2/files/f1.bin.sealed files/f1.bin.sealed",
		 "another release");
}

static void
rotate_then_unseal(void **state)
{
	(void)state;
	struct pal_err err = { 0 };
	struct pal_kek now;
	char out[8192];
	if (pal_vault_rotate(v, "r1", &now, &err) < 0)
		fail_msg("rotate: %s", err.msg);
	assert_int_equal(now.generation, 2);
	snprintf(out, sizeof(out), "%s/out-rotated", tmp);
	if (unseal_dir("r1", out, &err) < 0)
		fail_msg("unseal after rotation: %s", err.msg);
	expect_same_files(out);
	struct pal_vault_release *r = NULL;
	size_t n = 0;
	assert_int_equal(pal_vault_list(v, &r, &n, &err), 0);
	assert_true(n >= 2);
	assert_string_equal(r[0].name, "r1");
	assert_true(r[0].has_key && r[0].has_files);
	assert_int_equal(r[0].kek.generation, 2);
	free(r);
}

static void
shred_needs_approvals_and_is_final(void **state)
{
	(void)state;
	struct pal_err err = { 0 };
	char *ap[2], out[8192];
	static const int ac[2] = { 0, 2 };
	size_t destroyed = 0;
	/* Approvals for an unseal do not shred. */
	approvals(PAL_TPC_UNSEAL, "r2", ac, 2, ap);
	struct pal_vault_authz a = {
		.approvals = (const char *const *)ap, .n_approvals = 2,
	};
	expect_refused(pal_vault_shred(v, "r2", &a, &destroyed, &err), &err,
		       "");
	free_paths(ap, 2);
	approvals(PAL_TPC_SHRED, "r2", ac, 2, ap);
	if (pal_vault_shred(v, "r2", &a, &destroyed, &err) < 0)
		fail_msg("shred: %s", err.msg);
	assert_int_equal(destroyed, 1);
	free_paths(ap, 2);
	snprintf(out, sizeof(out), "%s/out-shredded", tmp);
	expect_refused(unseal_dir("r2", out, &err), &err, "r2");
}

/* The vault's approvers.dsse (caller frees). */
static uint8_t *
set_bytes(size_t *n)
{
	char p[8300];
	uint8_t *b = NULL;
	struct pal_err err = { 0 };
	snprintf(p, sizeof(p), "%s/approvers.dsse", vdir);
	if (pal_file_read(p, 1 << 20, &b, n, &err) < 0)
		fail_msg("%s", err.msg);
	return b;
}

static void
put_set_bytes(const uint8_t *b, size_t n)
{
	char p[8300];
	struct pal_err err = { 0 };
	snprintf(p, sizeof(p), "%s/approvers.dsse", vdir);
	if (pal_file_write_atomic(p, b, n, 0644, &err) < 0)
		fail_msg("%s", err.msg);
}

/* Replaces the set with names[who[i]] (threshold m), the admin key given. */
static int
change_set(struct pal_vault *in, const char *admin, const int *who, size_t n,
	   unsigned m, struct pal_vault_approvers_changed *c,
	   struct pal_err *err)
{
	const char *nm[3], *pub[3];
	for (size_t i = 0; i < n; i++) {
		nm[i] = names[who[i]];
		pub[i] = pubfile[who[i]];
	}
	struct pal_vault_approvers_change ch = {
		.admin_key = admin, .approver_names = nm, .approver_keys = pub,
		.n_approvers = n, .threshold = m,
	};
	pal_err_clear(err);
	return pal_vault_set_approvers(in, &ch, c, err);
}

static void
approver_set_is_replaced(void **state)
{
	(void)state;
	struct pal_err err = { 0 };
	struct pal_vault_approvers_changed c;
	struct pal_tpc_approvers *now = NULL;
	struct pal_tpc_set_record acc;
	char admin[65], want[65], out[8192];
	static const int ac[2] = { 0, 2 }, abc[3] = { 0, 1, 2 };
	size_t n1 = 0, n = 0;
	uint8_t *first = set_bytes(&n1), *b;

	/* The set in force: serial 1, signed by key 3. */
	assert_int_equal(pal_vault_current_approvers(v, &now, admin, &acc,
						     &err), 0);
	assert_int_equal(now->serial, 1);
	assert_int_equal(acc.serial, 1);
	pal_tpc_approvers_free(now);
	EVP_PKEY *k = NULL;
	assert_int_equal(pal_pubkey_load(pubfile[3], &k, &err), 0);
	assert_int_equal(pal_pubkey_hint(k, want, &err), 0);
	EVP_PKEY_free(k);
	assert_string_equal(admin, want);

	/* alice's key is not the admin's; threshold 1 is not allowed. */
	expect_refused(change_set(v, keyfile[0], ac, 2, 0, &c, &err), &err,
		       "is not the vault's admin key");
	assert_int_equal(err.code, PAL_ERR_VERIFY);
	expect_refused(change_set(v, keyfile[3], ac, 2, 1, &c, &err), &err,
		       "threshold 1: at least 2");
	/* A log that cannot be written: the change is undone. */
	struct pal_vault *nolog = NULL;
	snprintf(out, sizeof(out), "%s/no-such-log", tmp);
	assert_int_equal(pal_vault_open(vdir, &pin, out, &nolog, &err), 0);
	expect_refused(change_set(nolog, keyfile[3], ac, 2, 0, &c, &err), &err,
		       "the set is left as it was");
	pal_vault_close(nolog);
	b = set_bytes(&n);
	assert_true(n == n1 && memcmp(b, first, n) == 0);
	free(b);

	/* bob leaves: alice and carol, both needed. */
	if (change_set(v, keyfile[3], ac, 2, 0, &c, &err) < 0)
		fail_msg("change: %s", err.msg);
	assert_non_null(c.before);
	assert_int_equal(c.before->serial, 1);
	assert_int_equal(c.before->n, 3);
	assert_int_equal(c.after->serial, 2);
	assert_int_equal(c.after->n, 2);
	assert_int_equal(c.after->threshold, 2);
	assert_true(c.logged);
	pal_vault_approvers_changed_free(&c);
	snprintf(out, sizeof(out), "%s/out-no-bob", tmp);
	expect_refused(unseal_dir("r1", out, &err), &err,
		       "bob's was refused: unknown approver");
	char *ap[2];
	approvals(PAL_TPC_UNSEAL, "r1", ac, 2, ap);
	struct pal_vault_authz a = {
		.approvals = (const char *const *)ap, .n_approvals = 2,
	};
	struct pal_unseal_target t = { .kind = PAL_UNSEAL_DIR, .dir = out };
	struct pal_unsealed u;
	if (pal_vault_unseal(v, "r1", &a, &t, &u, &err) < 0)
		fail_msg("unseal by alice and carol: %s", err.msg);
	pal_unsealed_free(&u);
	free_paths(ap, 2);
	expect_same_files(out);

	/* The first set put back: refused, until the admin installs one. */
	put_set_bytes(first, n1);
	snprintf(out, sizeof(out), "%s/out-replayed", tmp);
	expect_refused(unseal_dir("r1", out, &err), &err,
		       "serial 1 is older than serial 2");
	expect_refused(pal_vault_current_approvers(v, &now, admin, NULL,
						   &err), &err,
		       "serial 1 is older than serial 2");
	assert_null(now);
	if (change_set(v, keyfile[3], abc, 3, 0, &c, &err) < 0)
		fail_msg("change: %s", err.msg);
	assert_null(c.before);
	assert_non_null(strstr(c.before_refused, "older than serial 2"));
	assert_int_equal(c.after->serial, 3);
	pal_vault_approvers_changed_free(&c);
	if (unseal_dir("r1", out, &err) < 0)
		fail_msg("unseal after the set was installed again: %s",
			 err.msg);
	free(first);
}

static void
the_log_holds_every_step(void **state)
{
	(void)state;
	char cmd[8400];
	/* Every type of vault entry is in the published bundles. */
	static const char *const types[] = {
		"vault.seal", "vault.unseal", "vault.refused", "vault.rotate",
		"vault.shred", "vault.approvers",
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++) {
		snprintf(cmd, sizeof(cmd), "grep -rqa '\"type\":\"%s\"' "
			 "'%s/tile/entries'", types[i], logdir);
		if (system(cmd) != 0)
			fail_msg("no %s entry in the log", types[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seal_and_unseal),
		cmocka_unit_test(unseal_into_memfds),
		cmocka_unit_test(one_approval_is_refused),
		cmocka_unit_test(tampering_is_refused),
		cmocka_unit_test(files_do_not_move_between_releases),
		cmocka_unit_test(rotate_then_unseal),
		cmocka_unit_test(shred_needs_approvals_and_is_final),
		cmocka_unit_test(approver_set_is_replaced),
		cmocka_unit_test(the_log_holds_every_step),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
