/*
 * test_verify_files.c - a model verified from open files (the sealed
 * memfds a release is unsealed into) instead of a path: the manifest of
 * the files is the directory's, digest for digest, by both OMS methods;
 * a model signed from a directory verifies from memfds of the same
 * bytes; and a changed byte, a missing file, an extra file, another key,
 * a repeated or bad name each fail, with the difference named.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "oms_fixture.h"
#include "palisade/signing.h"

#define SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

/* The files of the test model: name and contents. */
static const struct {
	const char *name;
	const char *data;
} files[] = {
	{ "config.json", "{\"layers\": 2}\n" },
	{ "empty", "" },
	{ "weights/part-0", "0000000000000000" },
	{ "weights/part-1", "1111111111111111" },
};
#define NFILES (sizeof(files) / sizeof(files[0]))

struct model {
	char *dir;			/* the temp dir */
	char *path;			/* dir/model */
	char *sig;			/* dir/model.sig */
	EVP_PKEY *key;
	struct pal_manifest_file f[NFILES + 1];
	size_t n;
};

/* A sealed memfd holding data, as the vault unseals a file into. */
static int
memfd_of(const char *data, size_t n)
{
	int fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, SEALS), 0);
	return fd;
}

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Signs what lies at path into m->sig with m->key. */
static void
sign_path(struct model *m, const char *path, uint64_t shard_size)
{
	struct pal_manifest_opts o = {
		.shard_size = shard_size, .signature = m->sig, .threads = 2,
	};
	struct pal_signer *s = oms_signer_for(m->key, m->dir);
	struct pal_err err = { 0 };
	struct pal_buf b;

	pal_buf_init(&b, PAL_OMS_BUNDLE_MAX);
	if (pal_oms_sign(path, &o, s, NULL, &b, NULL, &err) != 0)
		fail_msg("sign %s: %s", path, err.msg);
	write_file(m->sig, b.p, b.len);
	pal_buf_free(&b);
	pal_signer_free(s);
}

/* The model on disk, signed (shards of shard_size; 0: files), and as memfds. */
static void
model_new(struct model *m, const char *tag, uint64_t shard_size)
{
	memset(m, 0, sizeof(*m));
	m->dir = oms_tmpdir(tag);
	m->path = oms_path(m->dir, "model");
	m->sig = oms_path(m->dir, "model.sig");
	for (size_t i = 0; i < NFILES; i++) {
		char *rel = oms_path("model", files[i].name);

		oms_puts(m->dir, rel, files[i].data);
		free(rel);
		m->f[i].name = files[i].name;
		m->f[i].fd = memfd_of(files[i].data, strlen(files[i].data));
	}
	m->n = NFILES;
	m->key = EVP_EC_gen("P-256");
	assert_non_null(m->key);
	sign_path(m, m->path, shard_size);
}

static void
model_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++)
		close(m->f[i].fd);
	EVP_PKEY_free(m->key);
	oms_rmtree(m->dir);
	free(m->dir);
	free(m->path);
	free(m->sig);
}

static int
verify_files(const struct model *m, EVP_PKEY *key,
	     struct pal_verify_report *r, struct pal_err *err)
{
	struct pal_verify_opts o = {
		.model = "model", .signature = m->sig, .key = key,
		.files = m->f, .n_files = m->n, .threads = 2,
	};

	memset(err, 0, sizeof(*err));
	return pal_oms_verify(&o, r, err);
}

static void
verify_ok(const struct model *m)
{
	struct pal_verify_report r;
	struct pal_err err;

	if (verify_files(m, m->key, &r, &err) != 0)
		fail_msg("verify from memfds: %s", err.msg);
	assert_int_equal(r.n_diffs, 0);
	assert_non_null(strstr(r.signer, "key "));
	pal_verify_report_free(&r);
}

/* Fails with PAL_ERR_VERIFY, and its first difference is kind on name. */
static void
verify_diff(const struct model *m, enum pal_diff_kind kind, const char *name)
{
	struct pal_verify_report r;
	struct pal_err err;
	int rc = verify_files(m, m->key, &r, &err);

	if (rc != PAL_ERR_VERIFY)
		fail_msg("got %d (%s), want PAL_ERR_VERIFY", rc, err.msg);
	assert_non_null(strstr(err.msg, "does not match its signature"));
	assert_non_null(strstr(err.msg, name));
	assert_int_equal(r.n_diffs, 1);
	assert_int_equal(r.diffs[0].kind, kind);
	assert_string_equal(r.diffs[0].name, name);
	pal_verify_report_free(&r);
}

/* ---- the manifest ---- */

static void
same_manifest(const struct pal_manifest *a, const struct pal_manifest *b)
{
	uint8_t ra[32], rb[32];

	assert_int_equal(a->n_res, b->n_res);
	for (size_t i = 0; i < a->n_res; i++) {
		assert_string_equal(a->res[i].name, b->res[i].name);
		assert_int_equal(a->res[i].digest_len, b->res[i].digest_len);
		assert_memory_equal(a->res[i].digest, b->res[i].digest,
				    a->res[i].digest_len);
	}
	assert_int_equal(a->total_bytes, b->total_bytes);
	assert_int_equal(pal_manifest_root_digest(a, ra), 0);
	assert_int_equal(pal_manifest_root_digest(b, rb), 0);
	assert_memory_equal(ra, rb, 32);
}

static void
manifest_of_files_is_the_directorys(void **state)
{
	static const uint64_t shards[] = { 0, 5, 16 };
	struct model m;

	(void)state;
	model_new(&m, "vf-manifest", 0);
	for (size_t i = 0; i < sizeof(shards) / sizeof(shards[0]); i++) {
		for (int blake = 0; blake < 2; blake++) {
			struct pal_manifest_opts o = {
				.hash = blake ? PAL_HASH_BLAKE2B :
					PAL_HASH_SHA256,
				.shard_size = shards[i], .threads = 2,
			};
			struct pal_manifest *d = NULL, *f = NULL;
			struct pal_err err = { 0 };

			if (pal_manifest_compute(m.path, &o, &d, &err) != 0)
				fail_msg("directory: %s", err.msg);
			if (pal_manifest_compute_files("model", m.f, m.n, &o,
						       &f, &err) != 0)
				fail_msg("files: %s", err.msg);
			same_manifest(d, f);
			assert_string_equal(f->model_name, "model");
			pal_manifest_free(d);
			pal_manifest_free(f);
		}
	}
	model_free(&m);
}

/* Ignore paths leave a file out as a walk would; names are checked. */
static void
manifest_of_files_names(void **state)
{
	struct pal_manifest_opts o = { .threads = 1 };
	struct pal_manifest *man = NULL;
	struct pal_err err = { 0 };
	struct model m;
	int fd;

	(void)state;
	model_new(&m, "vf-names", 0);
	fd = memfd_of("x", 1);
	m.f[m.n].name = ".git/HEAD";
	m.f[m.n++].fd = fd;
	assert_int_equal(pal_manifest_compute_files("model", m.f, m.n, &o,
						    &man, &err), 0);
	assert_int_equal(man->n_res, NFILES);
	pal_manifest_free(man);
	verify_ok(&m);

	m.f[m.n - 1].name = "weights/part-0";
	assert_int_equal(pal_manifest_compute_files("model", m.f, m.n, &o,
						    &man, &err),
			 PAL_ERR_INVALID);
	assert_null(man);
	assert_non_null(strstr(err.msg, "'weights/part-0' is given twice"));
	m.f[m.n - 1].name = "../escape";
	assert_int_equal(pal_manifest_compute_files("model", m.f, m.n, &o,
						    &man, &err),
			 PAL_ERR_FORMAT);
	m.f[m.n - 1].name = ".";
	assert_int_equal(pal_manifest_compute_files("model", m.f, m.n, &o,
						    &man, &err),
			 PAL_ERR_FORMAT);
	assert_int_equal(pal_manifest_compute_files("model", m.f, 0, &o,
						    &man, &err),
			 PAL_ERR_INVALID);
	model_free(&m);
}

/* ---- verification ---- */

static void
signed_directory_verifies_from_memfds(void **state)
{
	struct model m;

	(void)state;
	model_new(&m, "vf-ok", 0);
	verify_ok(&m);
	model_free(&m);
	model_new(&m, "vf-ok-shards", 5);
	verify_ok(&m);
	model_free(&m);
}

static void
changed_byte_is_named(void **state)
{
	struct model m;
	int fd;

	(void)state;
	model_new(&m, "vf-byte", 0);
	fd = m.f[3].fd;
	m.f[3].fd = memfd_of("1111111111111112", 16);
	verify_diff(&m, PAL_DIFF_MISMATCH, "weights/part-1");
	close(m.f[3].fd);
	m.f[3].fd = fd;
	verify_ok(&m);
	model_free(&m);

	model_new(&m, "vf-byte-shards", 5);
	fd = m.f[3].fd;
	m.f[3].fd = memfd_of("1111111X11111111", 16);
	verify_diff(&m, PAL_DIFF_MISMATCH, "weights/part-1:5:10");
	close(m.f[3].fd);
	m.f[3].fd = fd;
	model_free(&m);
}

static void
missing_file_is_named(void **state)
{
	struct model m;
	struct pal_manifest_file last;

	(void)state;
	model_new(&m, "vf-missing", 0);
	last = m.f[--m.n];
	verify_diff(&m, PAL_DIFF_MISSING, "weights/part-1");
	m.f[m.n++] = last;
	model_free(&m);
}

static void
extra_file_is_named(void **state)
{
	struct model m;

	(void)state;
	model_new(&m, "vf-extra", 0);
	m.f[m.n].name = "weights/part-2";
	m.f[m.n++].fd = memfd_of("2222", 4);
	verify_diff(&m, PAL_DIFF_UNSIGNED, "weights/part-2");
	model_free(&m);
}

static void
another_key_fails(void **state)
{
	EVP_PKEY *other = EVP_EC_gen("P-256");
	struct pal_verify_report r;
	struct pal_err err;
	struct model m;

	(void)state;
	model_new(&m, "vf-key", 0);
	assert_int_equal(verify_files(&m, other, &r, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "key"));
	assert_null(r.got);	/* nothing is hashed for a bad signature */
	pal_verify_report_free(&r);
	EVP_PKEY_free(other);
	model_free(&m);
}

/*
 * A single-file model: signed as "." (model_signing's way), it verifies
 * from one memfd under the file's name, as the vault unseals it.
 */
static void
single_file_from_one_memfd(void **state)
{
	struct model m;
	char *file;
	int fd;

	(void)state;
	model_new(&m, "vf-single", 0);
	file = oms_path(m.path, "config.json");
	sign_path(&m, file, 0);
	for (size_t i = 1; i < m.n; i++)
		close(m.f[i].fd);
	m.n = 1;
	verify_ok(&m);
	fd = m.f[0].fd;
	m.f[0].fd = memfd_of("{\"layers\": 3}\n", 14);
	verify_diff(&m, PAL_DIFF_MISMATCH, ".");
	close(m.f[0].fd);
	m.f[0].fd = fd;
	model_free(&m);
	free(file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(manifest_of_files_is_the_directorys),
		cmocka_unit_test(manifest_of_files_names),
		cmocka_unit_test(signed_directory_verifies_from_memfds),
		cmocka_unit_test(changed_byte_is_named),
		cmocka_unit_test(missing_file_is_named),
		cmocka_unit_test(extra_file_is_named),
		cmocka_unit_test(another_key_fails),
		cmocka_unit_test(single_file_from_one_memfd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
