/*
 * test_chunked.c - C2SP chunked encryption (src/crypto/chunked*.c).
 *
 * Known answers first: every vector of Wycheproof's Cobblestone-256 and
 * Cobblestone-128 files, through whole-message opens (memory and file
 * descriptors, one and two threads), random access (whole range and the
 * length check alone), raw mode through the chunk API, and re-encryption
 * with the vector's salt, which must give the vector's ciphertext byte for
 * byte; then Wycheproof's AES-GCM vectors through the single AES-GCM
 * operation every chunk uses.  Then round trips at the chunk edges, random
 * access at the chunk edges, and one failure per kind of tampering, each
 * of which must name what failed and leave no plaintext behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "palisade/chunked.h"
#include "palisade/encoding.h"

#define CHUNK PAL_CHUNKED_CHUNK_LEN
#define CTCHUNK PAL_CHUNKED_CT_CHUNK_LEN
#define HDR PAL_CHUNKED_HEADER_LEN
#define BATCH_BYTES ((size_t)PAL_CHUNKED_BATCH * CHUNK)

/* Vectors in each Wycheproof file (numberOfTests), checked to the last. */
#define C2SP_VECTORS 35
#define C2SP_VALID 10
#define GCM_VECTORS 316
#define GCM_RUN 133		/* 96-bit IV, 128- or 256-bit key */
#define GCM_SKIP_IV 119		/* other IV sizes */
#define GCM_SKIP_KEY 64		/* 192-bit keys with a 96-bit IV */

static const uint8_t key32[32] = "palisade test key, 32 bytes....";
static const uint8_t ctx_a[] = "model=m;release=r1;path=w.bin";
static const uint8_t ctx_b[] = "model=m;release=r2;path=w.bin";
static const uint8_t salt_fixed[PAL_CHUNKED_SALT_LEN] =
	"fixed salt for tests...";

/* ---- Helpers ---------------------------------------------------------- */

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static void
sha512(const uint8_t *p, size_t n, uint8_t md[64])
{
	assert_int_equal(EVP_Digest(p, n, md, NULL, EVP_sha512(), NULL), 1);
}

static void
expect_msg(const struct pal_err *e, const char *what)
{
	if (strstr(e->msg, what) == NULL)
		fail_msg("message '%s' does not say '%s'", e->msg, what);
}

static struct pal_chunked_keys *
keys_for(const uint8_t *ctx, size_t ctx_len)
{
	struct pal_chunked_keys *k = NULL;
	struct pal_err err = { 0 };

	if (pal_chunked_derive(PAL_COBBLESTONE_256, key32, sizeof(key32),
			       salt_fixed, ctx, ctx_len, &k, &err) != 0)
		fail_msg("derive: %s", err.msg);
	return k;
}

/* Seals n bytes of pt in memory; *ct_len set. Caller frees. */
static uint8_t *
seal_mem(const struct pal_chunked_keys *k, const uint8_t *pt, size_t n,
	 unsigned threads, size_t *ct_len)
{
	struct pal_err err = { 0 };
	uint64_t len;

	assert_int_equal(pal_chunked_ct_len(n, &len, &err), 0);
	uint8_t *ct = malloc(len);
	assert_non_null(ct);
	if (pal_chunked_seal_buf(k, pt, n, ct, len, threads, &err) != 0)
		fail_msg("seal of %zu bytes: %s", n, err.msg);
	*ct_len = len;
	return ct;
}

static const char *
tmpdir(void)
{
	const char *t = getenv("PAL_TEST_TMP");

	if (t == NULL)
		t = "/tmp";
	mkdir(t, 0755);
	return t;
}

/* An unlinked temporary file. */
static int
tmpfile_fd(void)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/chunked.XXXXXX", tmpdir());
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static void
put(int fd, const uint8_t *p, size_t n, off_t off)
{
	assert_int_equal(pwrite(fd, p, n, off), (ssize_t)n);
}

static uint8_t *
slurp(int fd, size_t *n)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	uint8_t *p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	assert_int_equal(pread(fd, p, (size_t)st.st_size, 0),
			 (ssize_t)st.st_size);
	*n = (size_t)st.st_size;
	return p;
}

/* The reading end of a pipe, drained by a thread. */
struct drain {
	int fd;
	uint8_t *buf;
	size_t len, cap;
	pthread_t tid;
};

static void *
drain_main(void *arg)
{
	struct drain *d = arg;
	ssize_t r;

	for (;;) {
		if (d->len == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 65536;
			d->buf = realloc(d->buf, d->cap);
			if (d->buf == NULL)
				abort();
		}
		r = read(d->fd, d->buf + d->len, d->cap - d->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		d->len += (size_t)r;
	}
	return NULL;
}

/* Opens a pipe whose reader drains into d; returns the writing end. */
static int
pipe_start(struct drain *d)
{
	int p[2];

	memset(d, 0, sizeof(*d));
	assert_int_equal(pipe(p), 0);
	d->fd = p[0];
	assert_int_equal(pthread_create(&d->tid, NULL, drain_main, d), 0);
	return p[1];
}

static void
pipe_finish(struct drain *d, int wfd)
{
	close(wfd);
	pthread_join(d->tid, NULL);
	close(d->fd);
}

/* ---- Wycheproof: Cobblestone ----------------------------------------- */

static json_t *
load_json(const char *name)
{
	const char *dir = getenv("PAL_TEST_DATA");
	char path[4096];
	json_error_t jerr;

	snprintf(path, sizeof(path), "%s/wycheproof/%s",
		 dir ? dir : "tests/data", name);
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		fail_msg("%s: %s", path, jerr.text);
	return j;
}

/* The hex field key of t, decoded; NULL (and *n 0) when absent. */
static uint8_t *
hexfield(json_t *t, const char *key, size_t *n)
{
	const char *s = json_string_value(json_object_get(t, key));
	struct pal_err err = { 0 };
	uint8_t *p = NULL;

	*n = 0;
	if (s == NULL)
		return NULL;
	if (pal_hex_decode(s, strlen(s), &p, n, &err) != 0)
		fail_msg("field %s: %s", key, err.msg);
	return p;
}

/* zlib-decompresses z (the vectors' ct); caller frees. */
static uint8_t *
inflate_all(const uint8_t *z, size_t zlen, size_t *n)
{
	size_t cap = 1 << 16;
	uint8_t *out = malloc(cap);
	z_stream s;
	int r;

	memset(&s, 0, sizeof(s));
	assert_int_equal(inflateInit(&s), Z_OK);
	s.next_in = (Bytef *)(uintptr_t)z;
	s.avail_in = (uInt)zlen;
	do {
		if (s.total_out == cap) {
			cap *= 2;
			assert_true(cap <= (64u << 20));
			out = realloc(out, cap);
		}
		assert_non_null(out);
		s.next_out = out + s.total_out;
		s.avail_out = (uInt)(cap - s.total_out);
		r = inflate(&s, Z_NO_FLUSH);
		assert_true(r == Z_OK || r == Z_STREAM_END);
	} while (r != Z_STREAM_END);
	*n = s.total_out;
	inflateEnd(&s);
	return out;
}

struct vec {
	json_int_t id;
	const char *comment;
	enum pal_chunked_suite suite;
	uint8_t *key, *ctx, *ct, *akey, *nonce;
	size_t key_len, ctx_len, ct_len, akey_len, nonce_len;
	bool valid, has_msg, header_failure, valid_final, partial;
	uint64_t msg_len;
	uint8_t sha[64];
};

static bool
has_flag(json_t *t, const char *flag)
{
	size_t i;
	json_t *f;

	json_array_foreach(json_object_get(t, "flags"), i, f)
		if (strcmp(json_string_value(f), flag) == 0)
			return true;
	return false;
}

static void
vec_load(struct vec *v, json_t *t, enum pal_chunked_suite suite)
{
	size_t zlen, n;

	memset(v, 0, sizeof(*v));
	v->id = json_integer_value(json_object_get(t, "tcId"));
	v->comment = json_string_value(json_object_get(t, "comment"));
	v->suite = suite;
	v->key = hexfield(t, "key", &v->key_len);
	v->ctx = hexfield(t, "ctx", &v->ctx_len);
	uint8_t *z = hexfield(t, "ct", &zlen);
	v->ct = inflate_all(z, zlen, &v->ct_len);
	free(z);
	v->akey = hexfield(t, "aeadKey", &v->akey_len);
	v->nonce = hexfield(t, "baseNonce", &v->nonce_len);
	v->valid = strcmp(json_string_value(json_object_get(t, "result")),
			  "valid") == 0;
	v->header_failure = has_flag(t, "HeaderFailure");
	v->valid_final = has_flag(t, "ValidFinalChunk");
	v->partial = has_flag(t, "PartialPlaintext");
	json_t *ml = json_object_get(t, "msgLength");
	if (ml != NULL) {
		v->has_msg = true;
		v->msg_len = (uint64_t)json_integer_value(ml);
		uint8_t *sha = hexfield(t, "msgSha512", &n);
		assert_int_equal(n, 64);
		memcpy(v->sha, sha, 64);
		free(sha);
	}
}

static void
vec_free(struct vec *v)
{
	free(v->key);
	free(v->ctx);
	free(v->ct);
	free(v->akey);
	free(v->nonce);
}

static void
check_plain(const struct vec *v, const uint8_t *pt, uint64_t n,
	    const char *path)
{
	uint8_t md[64];

	if (!v->has_msg || n != v->msg_len)
		fail_msg("tc %lld (%s): %s gave %llu bytes", (long long)v->id,
			 v->comment, path, (unsigned long long)n);
	sha512(pt, (size_t)n, md);
	if (memcmp(md, v->sha, 64) != 0)
		fail_msg("tc %lld (%s): %s: wrong plaintext", (long long)v->id,
			 v->comment, path);
}

static void
outcome(const struct vec *v, int rc, const struct pal_err *e,
	const char *path)
{
	if (v->valid && rc != 0)
		fail_msg("tc %lld (%s): %s refused a valid vector: %s",
			 (long long)v->id, v->comment, path, e->msg);
	if (!v->valid && rc == 0)
		fail_msg("tc %lld (%s): %s accepted an invalid vector",
			 (long long)v->id, v->comment, path);
	if (rc != 0 && e->msg[0] == '\0')
		fail_msg("tc %lld: %s failed without a message",
			 (long long)v->id, path);
}

/* The keys of the vector's message, or NULL where the header fails. */
static struct pal_chunked_keys *
vec_keys(const struct vec *v)
{
	struct pal_chunked_keys *k = NULL;
	struct pal_err err = { 0 };
	uint64_t n;
	int rc;

	/* A message too short for a header fails on its length. */
	if (v->ct_len < HDR) {
		rc = pal_chunked_pt_len(v->ct_len, &n, &err);
		assert_int_equal(rc, PAL_ERR_TRUNCATED);
		expect_msg(&err, "header");
	} else {
		rc = pal_chunked_derive_header(v->suite, v->key, v->key_len,
					       v->ct, v->ctx, v->ctx_len, &k,
					       &err);
	}
	if (rc == 0)
		return k;
	assert_null(k);
	if (v->valid)
		fail_msg("tc %lld (%s): header refused: %s", (long long)v->id,
			 v->comment, err.msg);
	if (!v->header_failure)
		fail_msg("tc %lld (%s): header refused, flags say it is "
			 "sound: %s", (long long)v->id, v->comment, err.msg);
	return NULL;
}

/* Whole-message opens from memory, with one and two threads. */
static void
vec_open_buf(const struct vec *v, const struct pal_chunked_keys *k)
{
	size_t cap = v->ct_len, n;
	uint8_t *pt = malloc(cap + 1);

	for (unsigned threads = 1; threads <= 2; threads++) {
		struct pal_err err = { 0 };
		memset(pt, 0xa5, cap);
		int rc = pal_chunked_open_buf(k, v->ct, v->ct_len, pt, cap,
					      &n, threads, &err);
		outcome(v, rc, &err, "open_buf");
		if (rc == 0)
			check_plain(v, pt, n, "open_buf");
		if (rc != 0) {
			uint64_t want;
			if (pal_chunked_pt_len(v->ct_len, &want, NULL) == 0 &&
			    !all_zero(pt, (size_t)want))
				fail_msg("tc %lld: plaintext left after a "
					 "failed open", (long long)v->id);
		}
	}
	free(pt);
}

/* Whole-message opens from a file, the message behind 123 other bytes. */
static void
vec_open_fd(const struct vec *v, const struct pal_chunked_keys *k)
{
	uint8_t junk[123];
	int in = tmpfile_fd();

	memset(junk, 'J', sizeof(junk));
	put(in, junk, sizeof(junk), 0);
	put(in, v->ct, v->ct_len, sizeof(junk));
	for (unsigned threads = 1; threads <= 2; threads++) {
		struct pal_err err = { 0 };
		int out = memfd_create("chunked-test", MFD_CLOEXEC);
		assert_true(out >= 0);
		int rc = pal_chunked_open_fd(k, in, sizeof(junk), v->ct_len,
					     out, 0, threads, &err);
		outcome(v, rc, &err, "open_fd");
		size_t n;
		uint8_t *pt = slurp(out, &n);
		if (rc == 0)
			check_plain(v, pt, n, "open_fd");
		else if (n > (v->has_msg ? v->msg_len : 0))
			fail_msg("tc %lld: %zu bytes written by a failed open",
				 (long long)v->id, n);
		free(pt);
		close(out);
	}
	close(in);
}

/* Random access: the whole range, then the length check alone. */
static void
vec_read(const struct vec *v, const struct pal_chunked_keys *k)
{
	struct pal_chunked_ctx *c = NULL;
	struct pal_err err = { 0 };
	uint64_t n;

	assert_int_equal(pal_chunked_ctx_new(k, &c, &err), 0);
	int rc = pal_chunked_pt_len(v->ct_len, &n, &err);
	if (rc != 0) {
		outcome(v, rc, &err, "pt_len");
		rc = pal_chunked_read_buf(c, v->ct, v->ct_len, 0, 0, NULL,
					  PAL_CHUNKED_AUTH_LENGTH, &err);
		assert_int_equal(rc, PAL_ERR_TRUNCATED);
		pal_chunked_ctx_free(c);
		return;
	}
	uint8_t *pt = malloc(n + 1);
	rc = pal_chunked_read_buf(c, v->ct, v->ct_len, 0, n, pt,
				  PAL_CHUNKED_AUTH_LENGTH, &err);
	outcome(v, rc, &err, "read_buf");
	if (rc == 0)
		check_plain(v, pt, n, "read_buf");
	else if (!all_zero(pt, n))
		fail_msg("tc %lld: read_buf left plaintext", (long long)v->id);
	rc = pal_chunked_read_buf(c, v->ct, v->ct_len, 0, 0, NULL,
				  PAL_CHUNKED_AUTH_LENGTH, &err);
	if (v->valid && rc != 0)
		fail_msg("tc %lld: length check failed: %s", (long long)v->id,
			 err.msg);
	if (!v->valid && !v->valid_final && rc == 0)
		fail_msg("tc %lld (%s): length check passed",
			 (long long)v->id, v->comment);
	free(pt);
	pal_chunked_ctx_free(c);
}

/*
 * Raw mode through the chunk API: the body after the header, opened
 * chunk by chunk with aeadKey and baseNonce; 0 or the first failure.
 */
static int
raw_open(const struct vec *v, uint8_t *pt, uint64_t *pt_len,
	 struct pal_err *err)
{
	struct pal_chunked_keys *k = NULL;
	struct pal_chunked_ctx *c = NULL;
	uint64_t n;
	int rc;

	assert_int_equal(pal_chunked_keys_raw(v->suite, v->akey, v->akey_len,
					      v->nonce, &k, err), 0);
	assert_int_equal(pal_chunked_ctx_new(k, &c, err), 0);
	pal_chunked_keys_free(k);
	if ((rc = pal_chunked_pt_len(v->ct_len, &n, err)) == 0) {
		uint64_t chunks = pal_chunked_nchunks(n);
		const uint8_t *body = v->ct + HDR;
		size_t left = v->ct_len - HDR;
		for (uint64_t i = 0; i < chunks && rc == 0; i++) {
			size_t cl = left < CTCHUNK ? left : CTCHUNK;
			rc = pal_chunked_open_chunk(c, i, i == chunks - 1,
						    body, cl, pt + i * CHUNK,
						    err);
			body += cl;
			left -= cl;
		}
		*pt_len = n;
	}
	pal_chunked_ctx_free(c);
	return rc;
}

static void
vec_raw(const struct vec *v)
{
	uint8_t *pt = malloc(v->ct_len + 1);
	uint64_t n = 0;
	struct pal_err err = { 0 };

	if (v->header_failure || v->akey == NULL)
		goto out;
	int rc = raw_open(v, pt, &n, &err);
	outcome(v, rc, &err, "raw chunks");
	if (rc == 0)
		check_plain(v, pt, n, "raw chunks");
out:
	free(pt);
}

/*
 * Encryption: the vector's message sealed again with its salt gives its
 * ciphertext (method 2 of Wycheproof's notes), with one and two threads,
 * in memory and through descriptors.
 */
static void
vec_reseal(const struct vec *v)
{
	struct pal_chunked_keys *k = NULL;
	struct pal_err err = { 0 };
	uint64_t n = 0;
	size_t len;

	if (!v->valid)
		return;
	uint8_t *pt = malloc(v->ct_len);
	assert_int_equal(raw_open(v, pt, &n, &err), 0);
	assert_int_equal(pal_chunked_derive(v->suite, v->key, v->key_len,
					    v->ct, v->ctx, v->ctx_len, &k,
					    &err), 0);
	for (unsigned threads = 1; threads <= 2; threads++) {
		uint8_t *ct = seal_mem(k, pt, n, threads, &len);
		assert_int_equal(len, v->ct_len);
		assert_memory_equal(ct, v->ct, len);
		free(ct);
		int in = tmpfile_fd(), out = tmpfile_fd();
		put(in, pt, n, 7);
		assert_int_equal(pal_chunked_seal_fd(k, in, 7, n, out, 3,
						     threads, &err), 0);
		ct = slurp(out, &len);
		assert_int_equal(len, v->ct_len + 3);
		assert_memory_equal(ct + 3, v->ct, v->ct_len);
		free(ct);
		close(in);
		close(out);
	}
	pal_chunked_keys_free(k);
	free(pt);
}

static void
run_c2sp_file(const char *name, const char *aead,
	      enum pal_chunked_suite suite)
{
	json_t *root = load_json(name);
	json_t *group, *t;
	size_t gi, ti, run = 0, valid = 0;

	assert_int_equal(json_integer_value(json_object_get(root,
				"numberOfTests")), C2SP_VECTORS);
	json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
		assert_string_equal(json_string_value(json_object_get(group,
					"aead")), aead);
		assert_string_equal(json_string_value(json_object_get(group,
					"sha")), "SHA-512");
		json_array_foreach(json_object_get(group, "tests"), ti, t) {
			struct vec v;
			vec_load(&v, t, suite);
			struct pal_chunked_keys *k = vec_keys(&v);
			if (k != NULL) {
				vec_open_buf(&v, k);
				vec_open_fd(&v, k);
				vec_read(&v, k);
			}
			vec_raw(&v);
			vec_reseal(&v);
			pal_chunked_keys_free(k);
			valid += v.valid;
			run++;
			vec_free(&v);
		}
	}
	print_message("%s: %zu vectors run, %zu valid\n", name, run, valid);
	assert_int_equal(run, C2SP_VECTORS);
	assert_int_equal(valid, C2SP_VALID);
	json_decref(root);
}

static void
wycheproof_cobblestone_256(void **state)
{
	(void)state;
	run_c2sp_file("c2sp_chunked_encryption_aes_256_gcm_test.json",
		      "AEAD_AES_256_GCM", PAL_COBBLESTONE_256);
}

static void
wycheproof_cobblestone_128(void **state)
{
	(void)state;
	run_c2sp_file("c2sp_chunked_encryption_aes_128_gcm_test.json",
		      "AEAD_AES_128_GCM", PAL_COBBLESTONE_128);
}

/* ---- Wycheproof: AES-GCM ---------------------------------------------- */

static void
gcm_vector(json_t *t, enum pal_chunked_suite suite, size_t *run)
{
	size_t key_len, iv_len, aad_len, msg_len, ct_len, tag_len;
	uint8_t *key = hexfield(t, "key", &key_len);
	uint8_t *iv = hexfield(t, "iv", &iv_len);
	uint8_t *aad = hexfield(t, "aad", &aad_len);
	uint8_t *msg = hexfield(t, "msg", &msg_len);
	uint8_t *ct = hexfield(t, "ct", &ct_len);
	uint8_t *tag = hexfield(t, "tag", &tag_len);
	json_int_t id = json_integer_value(json_object_get(t, "tcId"));
	bool valid = strcmp(json_string_value(json_object_get(t, "result")),
			    "valid") == 0;
	struct pal_chunked_keys *k = NULL;
	struct pal_chunked_ctx *c = NULL;
	struct pal_err err = { 0 };
	uint8_t zero[PAL_CHUNKED_NONCE_LEN] = { 0 }, mytag[16];
	uint8_t *out = malloc(ct_len + 1);

	assert_int_equal(iv_len, PAL_CHUNKED_NONCE_LEN);
	assert_int_equal(tag_len, PAL_CHUNKED_TAG_LEN);
	assert_int_equal(ct_len, msg_len);
	assert_int_equal(pal_chunked_keys_raw(suite, key, key_len, zero, &k,
					      &err), 0);
	assert_int_equal(pal_chunked_ctx_new(k, &c, &err), 0);
	memset(out, 0xa5, ct_len);
	int rc = pal_chunked_aead_open(c, iv, aad, aad_len, ct, ct_len, tag,
				       out, &err);
	if (valid && rc != 0)
		fail_msg("aes-gcm tc %lld: refused: %s", (long long)id,
			 err.msg);
	if (!valid && rc != PAL_ERR_VERIFY)
		fail_msg("aes-gcm tc %lld: invalid vector gave %d",
			 (long long)id, rc);
	if (valid)
		assert_memory_equal(out, msg, msg_len);
	else
		assert_true(all_zero(out, ct_len));
	if (valid) {
		assert_int_equal(pal_chunked_aead_seal(c, iv, aad, aad_len,
						       msg, msg_len, out,
						       mytag, &err), 0);
		assert_memory_equal(out, ct, ct_len);
		assert_memory_equal(mytag, tag, 16);
	}
	(*run)++;
	pal_chunked_ctx_free(c);
	pal_chunked_keys_free(k);
	free(key);
	free(iv);
	free(aad);
	free(msg);
	free(ct);
	free(tag);
	free(out);
}

static void
wycheproof_aes_gcm(void **state)
{
	json_t *root = load_json("aes_gcm_test.json");
	size_t gi, ti, run = 0, skip_iv = 0, skip_key = 0, total = 0;
	json_t *group, *t;

	(void)state;
	assert_int_equal(json_integer_value(json_object_get(root,
				"numberOfTests")), GCM_VECTORS);
	json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
		json_int_t ks = json_integer_value(json_object_get(group,
							"keySize"));
		json_int_t ivs = json_integer_value(json_object_get(group,
							"ivSize"));
		json_int_t tags = json_integer_value(json_object_get(group,
							"tagSize"));
		size_t n = json_array_size(json_object_get(group, "tests"));
		total += n;
		assert_int_equal(tags, 128);
		if (ivs != 96) {
			skip_iv += n;
			continue;
		}
		if (ks != 128 && ks != 256) {
			skip_key += n;
			continue;
		}
		enum pal_chunked_suite suite = ks == 128 ? PAL_COBBLESTONE_128
							 : PAL_COBBLESTONE_256;
		json_array_foreach(json_object_get(group, "tests"), ti, t)
			gcm_vector(t, suite, &run);
	}
	print_message("aes_gcm_test.json: %zu of %zu run; skipped %zu with an "
		      "IV other than 12 bytes, %zu with a 192-bit key\n", run,
		      total, skip_iv, skip_key);
	assert_int_equal(total, GCM_VECTORS);
	assert_int_equal(run, GCM_RUN);
	assert_int_equal(skip_iv, GCM_SKIP_IV);
	assert_int_equal(skip_key, GCM_SKIP_KEY);
	json_decref(root);
}

/* ---- Keys and sizes --------------------------------------------------- */

static void
derive_refusals(void **state)
{
	struct pal_chunked_keys *k = (struct pal_chunked_keys *)1;
	struct pal_err err = { 0 };
	uint8_t big[PAL_CHUNKED_CONTEXT_MAX + 1];

	(void)state;
	memset(big, 'c', sizeof(big));
	assert_int_equal(pal_chunked_derive(PAL_COBBLESTONE_256, key32, 16,
					    salt_fixed, NULL, 0, &k, &err),
			 PAL_ERR_INVALID);
	assert_null(k);
	expect_msg(&err, "input key is 16 bytes");
	assert_int_equal(pal_chunked_derive(PAL_COBBLESTONE_128, key32, 32,
					    salt_fixed, NULL, 0, &k, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_chunked_derive((enum pal_chunked_suite)9, key32,
					    32, salt_fixed, NULL, 0, &k,
					    &err), PAL_ERR_INVALID);
	expect_msg(&err, "suite");
	assert_int_equal(pal_chunked_derive(PAL_COBBLESTONE_256, key32, 32,
					    salt_fixed, big, sizeof(big), &k,
					    &err), PAL_ERR_INVALID);
	expect_msg(&err, "context");
	/* The longest context works, and differs from a shorter one. */
	struct pal_chunked_keys *k1 = NULL, *k2 = NULL;
	assert_int_equal(pal_chunked_derive(PAL_COBBLESTONE_256, key32, 32,
					    salt_fixed, big, sizeof(big) - 1,
					    &k1, &err), 0);
	assert_int_equal(pal_chunked_derive(PAL_COBBLESTONE_256, key32, 32,
					    salt_fixed, big, sizeof(big) - 2,
					    &k2, &err), 0);
	uint8_t h1[HDR], h2[HDR];
	pal_chunked_header(k1, h1);
	pal_chunked_header(k2, h2);
	assert_memory_equal(h1, salt_fixed, PAL_CHUNKED_SALT_LEN);
	assert_memory_not_equal(h1 + 24, h2 + 24, 32);
	assert_int_equal(pal_chunked_check_commitment(k1, h1 + 24, &err), 0);
	assert_int_equal(pal_chunked_check_commitment(k1, h2 + 24, &err),
			 PAL_ERR_VERIFY);
	expect_msg(&err, "commitment mismatch");
	assert_int_equal(pal_chunked_keys_suite(k1), PAL_COBBLESTONE_256);
	pal_chunked_keys_free(k1);
	pal_chunked_keys_free(k2);
	/* Two random salts differ. */
	assert_int_equal(pal_chunked_derive_random(PAL_COBBLESTONE_256, key32,
						   32, NULL, 0, &k1, &err), 0);
	assert_int_equal(pal_chunked_derive_random(PAL_COBBLESTONE_256, key32,
						   32, NULL, 0, &k2, &err), 0);
	pal_chunked_header(k1, h1);
	pal_chunked_header(k2, h2);
	assert_memory_not_equal(h1, h2, PAL_CHUNKED_SALT_LEN);
	pal_chunked_keys_free(k1);
	pal_chunked_keys_free(k2);
	pal_chunked_keys_free(NULL);
	pal_chunked_ctx_free(NULL);
}

static void
bad_ct_len(uint64_t len, int code, const char *what)
{
	struct pal_err err = { 0 };
	uint64_t n = 12345;

	int rc = pal_chunked_pt_len(len, &n, &err);
	if (rc != code)
		fail_msg("ciphertext length %llu gave %d, want %d",
			 (unsigned long long)len, rc, code);
	assert_int_equal(n, 12345);
	expect_msg(&err, what);
}

static void
size_arithmetic(void **state)
{
	struct pal_err err = { 0 };
	uint64_t ct, pt;

	(void)state;
	assert_int_equal(pal_chunked_nchunks(0), 1);
	assert_int_equal(pal_chunked_nchunks(16383), 1);
	assert_int_equal(pal_chunked_nchunks(16384), 2);
	assert_int_equal(pal_chunked_ct_len(0, &ct, &err), 0);
	assert_int_equal(ct, 72);
	assert_int_equal(pal_chunked_ct_len(16384, &ct, &err), 0);
	assert_int_equal(ct, 56 + 16384 + 32);
	/* Every length round-trips, around each chunk edge. */
	for (uint64_t k = 0; k < 5; k++)
		for (uint64_t d = 0; d < 40; d++) {
			uint64_t len = k * CHUNK + d;
			if (len >= 20)
				len -= 20;
			assert_int_equal(pal_chunked_ct_len(len, &ct, &err), 0);
			assert_int_equal(pal_chunked_pt_len(ct, &pt, &err), 0);
			assert_int_equal(pt, len);
		}
	/* Every invalid length the spec lists. */
	for (uint64_t len = 0; len < HDR; len++)
		bad_ct_len(len, PAL_ERR_TRUNCATED, "shorter than the 56-byte "
			   "header");
	bad_ct_len(HDR, PAL_ERR_TRUNCATED, "no chunk");
	for (uint64_t k = 0; k < 4; k++) {
		uint64_t at = HDR + k * CTCHUNK;
		if (k > 0)
			bad_ct_len(at, PAL_ERR_TRUNCATED,
				   "without the short final chunk");
		for (uint64_t d = 1; d < 16; d++)
			bad_ct_len(at + d, PAL_ERR_TRUNCATED,
				   "shorter than its 16-byte tag");
		assert_int_equal(pal_chunked_pt_len(at + 16, &pt, &err), 0);
		assert_int_equal(pt, k * CHUNK);
	}
	/* The 2^38-chunk cap, both ways. */
	assert_int_equal(pal_chunked_ct_len(PAL_CHUNKED_MAX_PLAIN, &ct, &err),
			 0);
	assert_int_equal(pal_chunked_pt_len(ct, &pt, &err), 0);
	assert_int_equal(pt, PAL_CHUNKED_MAX_PLAIN);
	assert_int_equal(pal_chunked_ct_len(PAL_CHUNKED_MAX_PLAIN + 1, &ct,
					    &err), PAL_ERR_LIMIT);
	expect_msg(&err, "2^38");
	bad_ct_len(HDR + PAL_CHUNKED_MAX_CHUNKS * CTCHUNK + 16, PAL_ERR_LIMIT,
		   "2^38");
	bad_ct_len(UINT64_MAX, PAL_ERR_LIMIT, "2^38");
}

/* ---- Chunk contexts --------------------------------------------------- */

static void
chunk_rules(void **state)
{
	struct pal_chunked_keys *k = keys_for(ctx_a, sizeof(ctx_a));
	struct pal_chunked_ctx *c = NULL;
	struct pal_err err = { 0 };
	static uint8_t pt[CHUNK + 1], ct[CTCHUNK + 1], back[CHUNK];

	(void)state;
	assert_int_equal(pal_chunked_ctx_new(k, &c, &err), 0);
	fill(pt, sizeof(pt), 1);
	assert_int_equal(pal_chunked_seal_chunk(c, 0, pt, CHUNK + 1, ct,
						&err), PAL_ERR_INVALID);
	assert_int_equal(pal_chunked_seal_chunk(c, PAL_CHUNKED_MAX_CHUNKS, pt,
						1, ct, &err), PAL_ERR_LIMIT);
	expect_msg(&err, "chunk 274877906944");
	/* A full chunk opens as a middle chunk, never as the last. */
	assert_int_equal(pal_chunked_seal_chunk(c, 5, pt, CHUNK, ct, &err), 0);
	assert_int_equal(pal_chunked_open_chunk(c, 5, 0, ct, CTCHUNK, back,
						&err), 0);
	assert_memory_equal(back, pt, CHUNK);
	assert_int_equal(pal_chunked_open_chunk(c, 5, 1, ct, CTCHUNK, back,
						&err), PAL_ERR_TRUNCATED);
	expect_msg(&err, "chunk 5: the last chunk is full-size");
	/* The index is bound: chunk 5 is not chunk 6 (nor 5 + 2^32). */
	assert_int_equal(pal_chunked_open_chunk(c, 6, 0, ct, CTCHUNK, back,
						&err), PAL_ERR_VERIFY);
	expect_msg(&err, "chunk 6: authentication failed");
	assert_true(all_zero(back, CHUNK));
	assert_int_equal(pal_chunked_open_chunk(c, 5 + (UINT64_C(1) << 32), 0,
						ct, CTCHUNK, back, &err),
			 PAL_ERR_VERIFY);
	/* A short chunk is a last chunk, never a middle one. */
	assert_int_equal(pal_chunked_seal_chunk(c, 2, pt, 100, ct, &err), 0);
	assert_int_equal(pal_chunked_open_chunk(c, 2, 0, ct, 116, back, &err),
			 PAL_ERR_TRUNCATED);
	expect_msg(&err, "chunk 2: 116 bytes where a full chunk has 16400");
	assert_int_equal(pal_chunked_open_chunk(c, 2, 1, ct, 15, back, &err),
			 PAL_ERR_TRUNCATED);
	/* In place, at the highest index, empty. */
	uint64_t top = PAL_CHUNKED_MAX_CHUNKS - 1;
	memcpy(ct, pt, 1000);
	assert_int_equal(pal_chunked_seal_chunk(c, top, ct, 1000, ct, &err),
			 0);
	assert_int_equal(pal_chunked_open_chunk(c, top, 1, ct, 1016, ct,
						&err), 0);
	assert_memory_equal(ct, pt, 1000);
	assert_int_equal(pal_chunked_seal_chunk(c, 0, NULL, 0, ct, &err), 0);
	assert_int_equal(pal_chunked_open_chunk(c, 0, 1, ct, 16, NULL, &err),
			 0);
	pal_chunked_ctx_free(c);
	pal_chunked_keys_free(k);
}

static void
raw_keys_refused(void **state)
{
	struct pal_chunked_keys *k = NULL;
	struct pal_chunked_ctx *c = NULL;
	struct pal_err err = { 0 };
	uint8_t nonce[12] = { 0 }, msg[72] = { 0 }, out[1];
	size_t n;

	(void)state;
	assert_int_equal(pal_chunked_keys_raw(PAL_COBBLESTONE_256, key32, 32,
					      nonce, &k, &err), 0);
	assert_int_equal(pal_chunked_seal_buf(k, NULL, 0, msg, 72, 1, &err),
			 PAL_ERR_INVALID);
	expect_msg(&err, "raw");
	assert_int_equal(pal_chunked_open_buf(k, msg, 72, out, 1, &n, 1,
					      &err), PAL_ERR_INVALID);
	assert_int_equal(pal_chunked_check_commitment(k, msg, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_chunked_ctx_new(k, &c, &err), 0);
	assert_int_equal(pal_chunked_read_buf(c, msg, 72, 0, 0, out, 0, &err),
			 PAL_ERR_INVALID);
	pal_chunked_ctx_free(c);
	pal_chunked_keys_free(k);
}

/* ---- Round trips ------------------------------------------------------ */

static const size_t sizes[] = {
	0, 1, 16383, 16384, 16385, 32768, BATCH_BYTES - 1, BATCH_BYTES,
	5 * BATCH_BYTES + 12345,
};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* Reads [off, off + len) both ways and compares with pt. */
static void
read_check(struct pal_chunked_ctx *c, const uint8_t *msg, size_t msg_len,
	   int fd, const uint8_t *pt, uint64_t off, size_t len)
{
	struct pal_err err = { 0 };
	uint8_t *out = malloc(len + 1);

	for (unsigned flags = 0; flags <= PAL_CHUNKED_AUTH_LENGTH; flags++) {
		memset(out, 0xa5, len);
		if (pal_chunked_read_buf(c, msg, msg_len, off, len, out, flags,
					 &err) != 0)
			fail_msg("read_buf [%llu, +%zu): %s",
				 (unsigned long long)off, len, err.msg);
		assert_memory_equal(out, pt + off, len);
		memset(out, 0xa5, len);
		if (pal_chunked_read_fd(c, fd, 11, msg_len, off, len, out,
					flags, &err) != 0)
			fail_msg("read_fd [%llu, +%zu): %s",
				 (unsigned long long)off, len, err.msg);
		assert_memory_equal(out, pt + off, len);
	}
	free(out);
}

static void
random_access(struct pal_chunked_keys *k, const uint8_t *msg,
	      size_t msg_len, const uint8_t *pt, size_t n)
{
	struct pal_chunked_ctx *c = NULL;
	struct pal_err err = { 0 };
	static const uint64_t offs[] = { 0, 1, 16383, 16384, 16385, 32767,
					 32768, BATCH_BYTES - 1, BATCH_BYTES,
					 BATCH_BYTES + 1 };
	static const size_t lens[] = { 0, 1, 2, 100, 16384, 16385,
				       BATCH_BYTES + 3 };
	uint8_t one;
	int fd = tmpfile_fd();

	put(fd, (const uint8_t *)"eleven byte", 11, 0);
	put(fd, msg, msg_len, 11);
	assert_int_equal(pal_chunked_ctx_new(k, &c, &err), 0);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++)
			if (offs[i] <= n && lens[j] <= n - offs[i])
				read_check(c, msg, msg_len, fd, pt, offs[i],
					   lens[j]);
	/* The last byte, an empty range at the end, the whole message. */
	if (n > 0)
		read_check(c, msg, msg_len, fd, pt, n - 1, 1);
	read_check(c, msg, msg_len, fd, pt, n, 0);
	read_check(c, msg, msg_len, fd, pt, 0, n);
	/* Beyond the end. */
	assert_int_equal(pal_chunked_read_buf(c, msg, msg_len, n, 1, &one, 0,
					      &err), PAL_ERR_INVALID);
	expect_msg(&err, "beyond");
	assert_int_equal(pal_chunked_read_buf(c, msg, msg_len, UINT64_MAX, 0,
					      &one, 0, &err),
			 PAL_ERR_INVALID);
	pal_chunked_ctx_free(c);
	close(fd);
}

static void
round_trip_one(size_t n)
{
	struct pal_chunked_keys *k = keys_for(ctx_a, sizeof(ctx_a));
	struct pal_err err = { 0 };
	uint8_t *pt = malloc(n + 1);
	size_t len1, len2, got;

	fill(pt, n, (uint32_t)n);
	uint8_t *ct1 = seal_mem(k, pt, n, 1, &len1);
	uint8_t *ct2 = seal_mem(k, pt, n, 2, &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(ct1, ct2, len1);
	uint8_t *back = malloc(n + 1);
	for (unsigned threads = 0; threads <= 3; threads++) {
		memset(back, 0, n);
		if (pal_chunked_open_buf(k, ct1, len1, back, n, &got, threads,
					 &err) != 0)
			fail_msg("open of %zu bytes: %s", n, err.msg);
		assert_int_equal(got, n);
		assert_memory_equal(back, pt, n);
	}
	/* Too small an output is refused before anything is decrypted. */
	if (n > 0)
		assert_int_equal(pal_chunked_open_buf(k, ct1, len1, back,
						      n - 1, &got, 1, &err),
				 PAL_ERR_INVALID);
	random_access(k, ct1, len1, pt, n);

	/* File to file, at offsets, one and two threads. */
	for (unsigned threads = 1; threads <= 2; threads++) {
		int in = tmpfile_fd(), out = tmpfile_fd();
		put(in, pt, n, 5);
		assert_int_equal(pal_chunked_seal_fd(k, in, 5, n, out, 9,
						     threads, &err), 0);
		size_t flen;
		uint8_t *f = slurp(out, &flen);
		assert_int_equal(flen, len1 + 9);
		assert_memory_equal(f + 9, ct1, len1);
		free(f);
		int plain = memfd_create("plain", MFD_CLOEXEC);
		if (pal_chunked_open_fd(k, out, 9, len1, plain, 0, threads,
					&err) != 0)
			fail_msg("open_fd of %zu bytes: %s", n, err.msg);
		f = slurp(plain, &flen);
		assert_int_equal(flen, n);
		assert_memory_equal(f, pt, n);
		free(f);
		close(plain);
		close(in);
		close(out);
	}
	free(ct2);
	free(back);
	free(ct1);
	free(pt);
	pal_chunked_keys_free(k);
}

static void
round_trips(void **state)
{
	(void)state;
	for (size_t i = 0; i < NSIZES; i++)
		round_trip_one(sizes[i]);
}

/* Pipes both ways: sealed from a pipe to a pipe, opened into a pipe. */
static void
pipes(void **state)
{
	struct pal_chunked_keys *k = keys_for(ctx_a, sizeof(ctx_a));
	struct pal_err err = { 0 };
	size_t n = 3 * BATCH_BYTES + 777, len;
	uint8_t *pt = malloc(n);

	(void)state;
	fill(pt, n, 77);
	uint8_t *ct = seal_mem(k, pt, n, 1, &len);
	for (unsigned threads = 1; threads <= 2; threads++) {
		/* Plaintext fed through a pipe by a child process. */
		int p[2];
		assert_int_equal(pipe(p), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			for (size_t o = 0; o < n;) {
				ssize_t w = write(p[1], pt + o, n - o);
				if (w <= 0)
					_exit(1);
				o += (size_t)w;
			}
			_exit(0);
		}
		close(p[1]);
		struct drain d;
		int wfd = pipe_start(&d);
		int rc = pal_chunked_seal_fd(k, p[0], 0, n, wfd, 0, threads,
					     &err);
		pipe_finish(&d, wfd);
		close(p[0]);
		waitpid(pid, NULL, 0);
		if (rc != 0)
			fail_msg("seal pipe to pipe: %s", err.msg);
		assert_int_equal(d.len, len);
		assert_memory_equal(d.buf, ct, len);
		free(d.buf);

		/* Opened into a pipe. */
		int in = tmpfile_fd();
		put(in, ct, len, 0);
		wfd = pipe_start(&d);
		rc = pal_chunked_open_fd(k, in, 0, len, wfd, 0, threads, &err);
		pipe_finish(&d, wfd);
		if (rc != 0)
			fail_msg("open into a pipe: %s", err.msg);
		assert_int_equal(d.len, n);
		assert_memory_equal(d.buf, pt, n);
		free(d.buf);

		/* A pipe cannot be the ciphertext. */
		assert_int_equal(pipe(p), 0);
		assert_int_equal(pal_chunked_open_fd(k, p[0], 0, len, in, 0,
						     threads, &err),
				 PAL_ERR_INVALID);
		expect_msg(&err, "seek");
		close(p[0]);
		close(p[1]);
		close(in);
	}
	/* An input shorter than announced. */
	int in = tmpfile_fd(), out = tmpfile_fd();
	put(in, pt, n - 1, 0);
	assert_int_equal(pal_chunked_seal_fd(k, in, 0, n, out, 0, 2, &err),
			 PAL_ERR_TRUNCATED);
	expect_msg(&err, "input ended at byte");
	close(in);
	close(out);
	free(ct);
	free(pt);
	pal_chunked_keys_free(k);
}

/* ---- Tampering -------------------------------------------------------- */

/*
 * What a failed open may leave in a file written at offsets: whole
 * batches, each the authentic plaintext or never written (a hole of
 * zeros, where a later batch was written by another thread).
 */
static void
check_batches(const uint8_t *f, size_t flen, const uint8_t *pt, size_t n)
{
	assert_true(flen <= n && (flen % BATCH_BYTES == 0 || flen == n));
	for (size_t o = 0; o < flen; o += BATCH_BYTES) {
		size_t b = flen - o < BATCH_BYTES ? flen - o : BATCH_BYTES;
		if (!all_zero(f + o, b) && memcmp(f + o, pt + o, b) != 0)
			fail_msg("batch at %zu is neither written whole nor "
				 "absent", o);
	}
}

/*
 * Opens msg (len bytes) every way and expects code with what in the
 * message, and no plaintext of a chunk that did not authenticate: the
 * memory output wiped; in a file or a pipe only whole batches of
 * authentic chunks (none when the failure is in the header, the length,
 * the final chunk or the first batch).
 */
static void
expect_refused(const struct pal_chunked_keys *k, const uint8_t *msg,
	       size_t len, const uint8_t *pt, size_t n, int code,
	       const char *what)
{
	struct pal_err err = { 0 };
	uint8_t *out = malloc(n + CHUNK);
	size_t got = 7;

	for (unsigned threads = 1; threads <= 2; threads++) {
		memset(out, 0xa5, n + CHUNK);
		int rc = pal_chunked_open_buf(k, msg, len, out, n + CHUNK,
					      &got, threads, &err);
		if (rc != code)
			fail_msg("open_buf gave %d (%s), want %d", rc, err.msg,
				 code);
		expect_msg(&err, what);
		assert_int_equal(got, 0);
		uint64_t m;
		if (pal_chunked_pt_len(len, &m, NULL) == 0)
			assert_true(all_zero(out, (size_t)m));

		int in = tmpfile_fd(), dst = tmpfile_fd();
		put(in, msg, len, 0);
		rc = pal_chunked_open_fd(k, in, 0, len, dst, 0, threads, &err);
		assert_int_equal(rc, code);
		expect_msg(&err, what);
		size_t flen;
		uint8_t *f = slurp(dst, &flen);
		check_batches(f, flen, pt, n);
		free(f);
		close(dst);

		/* In order, into a pipe: a prefix of whole batches. */
		struct drain d;
		int wfd = pipe_start(&d);
		rc = pal_chunked_open_fd(k, in, 0, len, wfd, 0, threads, &err);
		pipe_finish(&d, wfd);
		assert_int_equal(rc, code);
		assert_true(d.len % BATCH_BYTES == 0 && d.len <= n);
		if (d.len > 0)
			assert_memory_equal(d.buf, pt, d.len);
		free(d.buf);

		/* Random access of everything, with the length. */
		struct pal_chunked_ctx *c = NULL;
		assert_int_equal(pal_chunked_ctx_new(k, &c, &err), 0);
		if (pal_chunked_pt_len(len, &m, NULL) == 0 && m <= n) {
			memset(out, 0xa5, (size_t)m);
			rc = pal_chunked_read_fd(c, in, 0, len, 0, (size_t)m,
						 out, PAL_CHUNKED_AUTH_LENGTH,
						 &err);
			assert_int_equal(rc, code);
			assert_true(all_zero(out, (size_t)m));
		}
		pal_chunked_ctx_free(c);
		close(in);
	}
	free(out);
}

static void
tampering(void **state)
{
	struct pal_chunked_keys *k = keys_for(ctx_a, sizeof(ctx_a));
	struct pal_chunked_keys *k2 = NULL;
	struct pal_err err = { 0 };
	size_t n = 3 * CHUNK + 1000, len;
	uint8_t *pt = malloc(n);

	(void)state;
	fill(pt, n, 3);
	uint8_t *ct = seal_mem(k, pt, n, 1, &len);
	uint8_t *bad = malloc(len + CTCHUNK);

	/* A flipped bit in the salt and in the commitment. */
	memcpy(bad, ct, len);
	bad[3] ^= 0x10;
	expect_refused(k, bad, len, pt, n, PAL_ERR_VERIFY, "salt differs");
	assert_int_equal(pal_chunked_derive_header(PAL_COBBLESTONE_256, key32,
						   32, bad, ctx_a,
						   sizeof(ctx_a), &k2, &err),
			 PAL_ERR_VERIFY);
	assert_null(k2);
	expect_msg(&err, "commitment mismatch");
	memcpy(bad, ct, len);
	bad[24 + 31] ^= 0x01;
	expect_refused(k, bad, len, pt, n, PAL_ERR_VERIFY,
		       "commitment mismatch");

	/* A flipped bit in a chunk's ciphertext, in a tag. */
	memcpy(bad, ct, len);
	bad[HDR + CTCHUNK + 5] ^= 0x80;
	expect_refused(k, bad, len, pt, n, PAL_ERR_VERIFY,
		       "chunk 1: authentication failed");
	memcpy(bad, ct, len);
	bad[HDR + 2 * CTCHUNK + CHUNK + 3] ^= 0x04;
	expect_refused(k, bad, len, pt, n, PAL_ERR_VERIFY,
		       "chunk 2: authentication failed");
	memcpy(bad, ct, len);
	bad[len - 1] ^= 0x01;
	expect_refused(k, bad, len, pt, n, PAL_ERR_VERIFY,
		       "chunk 3: authentication failed");

	/* Truncation at every chunk boundary, mid-chunk and mid-tag. */
	for (size_t c = 0; c <= 3; c++) {
		size_t at = HDR + c * CTCHUNK;
		expect_refused(k, ct, at, pt, n, PAL_ERR_TRUNCATED,
			       "truncated");
		expect_refused(k, ct, at + 7, pt, n, PAL_ERR_TRUNCATED,
			       "shorter than its 16-byte tag");
		if (c < 3) {
			char what[64];
			snprintf(what, sizeof(what),
				 "chunk %zu: authentication failed", c);
			expect_refused(k, ct, at + 500, pt, n, PAL_ERR_VERIFY,
				       what);
		}
	}
	expect_refused(k, ct, 10, pt, n, PAL_ERR_TRUNCATED, "header");
	/*
	 * Trailing bytes make the final chunk longer; a whole extra chunk
	 * makes a new final chunk.  Either fails, before any other.
	 */
	memcpy(bad, ct, len);
	memcpy(bad + len, ct + HDR, CTCHUNK);
	expect_refused(k, bad, len + 40, pt, n, PAL_ERR_VERIFY,
		       "chunk 3: authentication failed");
	expect_refused(k, bad, len + CTCHUNK, pt, n, PAL_ERR_VERIFY,
		       "chunk 4: authentication failed");

	/* Two chunks swapped. */
	memcpy(bad, ct, len);
	memcpy(bad + HDR, ct + HDR + CTCHUNK, CTCHUNK);
	memcpy(bad + HDR + CTCHUNK, ct + HDR, CTCHUNK);
	expect_refused(k, bad, len, pt, n, PAL_ERR_VERIFY,
		       "chunk 0: authentication failed");

	/* A wrong key, a wrong context: the commitment says so. */
	uint8_t other[32];
	memcpy(other, key32, 32);
	other[0] ^= 1;
	assert_int_equal(pal_chunked_derive_header(PAL_COBBLESTONE_256, other,
						   32, ct, ctx_a,
						   sizeof(ctx_a), &k2, &err),
			 PAL_ERR_VERIFY);
	expect_msg(&err, "commitment mismatch");
	assert_int_equal(pal_chunked_derive_header(PAL_COBBLESTONE_256, key32,
						   32, ct, ctx_b,
						   sizeof(ctx_b), &k2, &err),
			 PAL_ERR_VERIFY);
	expect_msg(&err, "commitment mismatch");
	/* Keys derived with that salt but the wrong context refuse too. */
	assert_int_equal(pal_chunked_derive(PAL_COBBLESTONE_256, key32, 32,
					    ct, ctx_b, sizeof(ctx_b), &k2,
					    &err), 0);
	expect_refused(k2, ct, len, pt, n, PAL_ERR_VERIFY,
		       "commitment mismatch");
	pal_chunked_keys_free(k2);
	/* The right ones open it. */
	assert_int_equal(pal_chunked_derive_header(PAL_COBBLESTONE_256, key32,
						   32, ct, ctx_a,
						   sizeof(ctx_a), &k2, &err),
			 0);
	pal_chunked_keys_free(k2);
	free(bad);
	free(ct);
	free(pt);
	pal_chunked_keys_free(k);
}

/*
 * A bad chunk in a later batch of a message of several: batches before it
 * may reach a file (whole and authentic), the failing one never.
 */
static void
tampering_late_batch(void **state)
{
	struct pal_chunked_keys *k = keys_for(ctx_a, sizeof(ctx_a));
	size_t n = 4 * BATCH_BYTES + 5, len;
	uint8_t *pt = malloc(n);

	(void)state;
	fill(pt, n, 9);
	uint8_t *ct = seal_mem(k, pt, n, 2, &len);
	size_t bad_chunk = 2 * PAL_CHUNKED_BATCH + 3;
	ct[HDR + bad_chunk * CTCHUNK + 1] ^= 1;
	char what[64];
	snprintf(what, sizeof(what), "chunk %zu: authentication failed",
		 bad_chunk);
	expect_refused(k, ct, len, pt, n, PAL_ERR_VERIFY, what);

	/* The failing batch itself never reaches the file. */
	struct pal_err err = { 0 };
	int in = tmpfile_fd(), dst = tmpfile_fd();
	put(in, ct, len, 0);
	assert_int_equal(pal_chunked_open_fd(k, in, 0, len, dst, 0, 2, &err),
			 PAL_ERR_VERIFY);
	size_t flen;
	uint8_t *f = slurp(dst, &flen);
	check_batches(f, flen, pt, n);
	if (flen > 2 * BATCH_BYTES)
		assert_true(all_zero(f + 2 * BATCH_BYTES, BATCH_BYTES));
	free(f);
	close(in);
	close(dst);
	free(ct);
	free(pt);
	pal_chunked_keys_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wycheproof_cobblestone_256),
		cmocka_unit_test(wycheproof_cobblestone_128),
		cmocka_unit_test(wycheproof_aes_gcm),
		cmocka_unit_test(derive_refusals),
		cmocka_unit_test(size_arithmetic),
		cmocka_unit_test(chunk_rules),
		cmocka_unit_test(raw_keys_refused),
		cmocka_unit_test(round_trips),
		cmocka_unit_test(pipes),
		cmocka_unit_test(tampering),
		cmocka_unit_test(tampering_late_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
