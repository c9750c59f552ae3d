/*
 * oms_fixture.h - what the signing tests share: fresh model trees under
 * $PAL_TEST_TMP, files written and read whole, trees removed, digests
 * computed with OpenSSL's one-shot API to check the library against.
 */
#ifndef PAL_OMS_FIXTURE_H
#define PAL_OMS_FIXTURE_H

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "palisade/signer.h"

/*
 * a/b as a new string (caller frees).  Built with malloc and snprintf:
 * gcc -O2 sees asprintf(&p) inside an assert macro as p's own address
 * escaping, and then warns of dangling pointers into p.
 */
static inline char *
oms_path(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	assert_non_null(p);
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

/*
 * A signer for key, through a PEM file in dir as a user would give it
 * (the file is removed again); caller frees.
 */
static inline struct pal_signer *
oms_signer_for(EVP_PKEY *key, const char *dir)
{
	char *path = oms_path(dir, "key.pem");
	struct pal_signer *s = NULL;
	struct pal_err err = { 0 };
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
					      NULL), 1);
	fclose(f);
	if (pal_signer_from_pem(path, &s, &err) != 0)
		fail_msg("%s", err.msg);
	unlink(path);
	free(path);
	return s;
}

/* A new empty directory $PAL_TEST_TMP/<tag>.XXXXXX; caller frees. */
static inline char *
oms_tmpdir(const char *tag)
{
	const char *base = getenv("PAL_TEST_TMP");
	char templ[256];
	char *dir;

	if (base == NULL)
		base = "/tmp";
	(void)mkdir(base, 0700);
	snprintf(templ, sizeof(templ), "%s.XXXXXX", tag);
	dir = oms_path(base, templ);
	assert_non_null(mkdtemp(dir));
	return dir;
}

/* Writes n bytes to dir/rel, making the directories on the way. */
static inline void
oms_put(const char *dir, const char *rel, const void *data, size_t n)
{
	char *p = oms_path(dir, rel);
	FILE *f;

	for (char *s = strchr(p + strlen(dir) + 1, '/'); s != NULL;
	     s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
	f = fopen(p, "wb");
	if (f == NULL)
		fail_msg("%s: %s", p, strerror(errno));
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	free(p);
}

static inline void
oms_puts(const char *dir, const char *rel, const char *text)
{
	oms_put(dir, rel, text, strlen(text));
}

/* Reads a whole file into a NUL-terminated buffer; caller frees. */
static inline uint8_t *
oms_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap * 2 + 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		size_t r = fread(buf + n, 1, 4096, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The shipped test data file $PAL_TEST_DATA/<rel>; caller frees. */
static inline char *
oms_data(const char *rel)
{
	const char *base = getenv("PAL_TEST_DATA");

	return oms_path(base ? base : "tests/data", rel);
}

static inline int
oms_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

/* Removes a tree made by a test (symlinks are removed, not followed). */
static inline void
oms_rmtree(const char *dir)
{
	if (dir != NULL)
		(void)nftw(dir, oms_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* One-shot SHA-256 or BLAKE2b-512 of n bytes; returns the length. */
static inline size_t
oms_digest(int blake2b, const void *data, size_t n, uint8_t out[64])
{
	unsigned int len = 0;

	assert_int_equal(EVP_Digest(data, n, out, &len, blake2b ?
				    EVP_blake2b512() : EVP_sha256(), NULL), 1);
	return len;
}

#endif
