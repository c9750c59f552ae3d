/*
 * test_oms.c - the OMS formats without a signing key in the loop: the
 * in-toto statement both ways and each way it must be refused (with the
 * field named), the Sigstore bundles of model_signing 0.2.0 to 1.1.0 and
 * of the specification's vectors, bundle writing read back, the DSSE PAE
 * bytes and the model_signing 0.2.0 encoding (Python's repr of bytes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "oms_fixture.h"
#include "palisade/dsse.h"
#include "palisade/encoding.h"
#include "palisade/oms.h"
#include "palisade/signer.h"
#include "palisade/x509.h"

#define MT "oms/model-transparency/tests/"
#define SPEC "oms/spec/test-vectors/v1.0/"
#define HEX32A "1111111111111111111111111111111111111111111111111111111111111111"
#define HEX32B "2222222222222222222222222222222222222222222222222222222222222222"

/* ---- statements ---- */

static int
parse_text(const char *text, struct pal_manifest **m, int *v01,
	   struct pal_err *err)
{
	return pal_statement_parse((const uint8_t *)text, strlen(text), m,
				   v01, err);
}

static int
parse_json(json_t *st, struct pal_manifest **m, int *v01,
	   struct pal_err *err)
{
	char *text = json_dumps(st, JSON_COMPACT);
	int rc;

	assert_non_null(text);
	rc = parse_text(text, m, v01, err);
	free(text);
	return rc;
}

/*
 * Sets subject[0].digest.sha256 to the root digest of the resources as
 * listed, so that a mutation fails on what it mutates, not on the root.
 */
static void
fix_root(json_t *st)
{
	json_t *res = json_object_get(json_object_get(st, "predicate"),
				      "resources");
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t root[32];
	char hex[65];
	size_t i;
	json_t *r;

	assert_non_null(c);
	assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
	json_array_foreach(res, i, r) {
		const char *d = json_string_value(json_object_get(r,
							"digest"));
		uint8_t *raw = NULL;
		size_t n = 0;

		if (d != NULL && pal_hex_decode(d, strlen(d), &raw, &n,
						NULL) == 0)
			EVP_DigestUpdate(c, raw, n);
		free(raw);
	}
	assert_int_equal(EVP_DigestFinal_ex(c, root, NULL), 1);
	EVP_MD_CTX_free(c);
	pal_hex_encode(root, 32, hex);
	json_t *s0 = json_array_get(json_object_get(st, "subject"), 0);
	json_object_set_new(json_object_get(s0, "digest"), "sha256",
			    json_string(hex));
}

/* A valid v1.0 statement: files "a" and "b/c", or two shards of "f". */
static json_t *
base_statement(int shards)
{
	json_t *st = json_pack(
		"{s:s, s:[{s:s, s:{s:s}}], s:s, s:{"
		"s:{s:s, s:s, s:b, s:[s, s]},"
		"s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}}",
		"_type", PAL_INTOTO_STATEMENT,
		"subject", "name", "model", "digest", "sha256", "",
		"predicateType", PAL_OMS_PREDICATE,
		"predicate", "serialization", "method",
		shards ? "shards" : "files", "hash_type", "sha256",
		"allow_symlinks", 0, "ignore_paths", ".git", "model.sig",
		"resources",
		"name", shards ? "f:0:4" : "a", "algorithm",
		shards ? "sha256-sharded-4" : "sha256", "digest", HEX32A,
		"name", shards ? "f:4:6" : "b/c", "algorithm",
		shards ? "sha256-sharded-4" : "sha256", "digest", HEX32B);

	assert_non_null(st);
	if (shards)
		json_object_set_new(json_object_get(json_object_get(st,
				    "predicate"), "serialization"),
				    "shard_size", json_integer(4));
	fix_root(st);
	return st;
}

static json_t *
ser(json_t *st)
{
	return json_object_get(json_object_get(st, "predicate"),
			       "serialization");
}

static json_t *
res(json_t *st, size_t i)
{
	return json_array_get(json_object_get(json_object_get(st,
					      "predicate"), "resources"), i);
}

/* Expects st (consumed) to be refused with code, the message naming what. */
static void
reject(json_t *st, int code, const char *what)
{
	struct pal_manifest *m = NULL;
	struct pal_err err = { 0 };
	int v01 = 0;
	int rc = parse_json(st, &m, &v01, &err);

	if (rc != code) {
		char *t = json_dumps(st, JSON_COMPACT);

		print_message("statement: %s\n", t);
		free(t);
		fail_msg("got %d (%s), want %d naming '%s'", rc, err.msg,
			 code, what);
	}
	assert_null(m);
	if (strstr(err.msg, what) == NULL)
		fail_msg("message '%s' does not name '%s'", err.msg, what);
	json_decref(st);
}

static void
statement_round_trip_files(void **state)
{
	char *dir = oms_tmpdir("oms-stmt");
	const char *ign[] = { "skip" };
	struct pal_manifest_opts o = { .ignore = ign, .n_ignore = 1 };
	struct pal_manifest *m = NULL, *p = NULL;
	struct pal_err err = { 0 };
	struct pal_buf b;
	int v01 = 7;

	(void)state;
	oms_puts(dir, "a", "A");
	oms_puts(dir, "d/e", "E");
	oms_puts(dir, "skip", "S");
	oms_puts(dir, "\xc3\xa9", "unicode name");
	for (int blake = 0; blake < 2; blake++) {
		o.hash = blake ? PAL_HASH_BLAKE2B : PAL_HASH_SHA256;
		assert_int_equal(pal_manifest_compute(dir, &o, &m, &err), 0);
		pal_buf_init(&b, 1 << 20);
		assert_int_equal(pal_statement_build(m, &b, &err), 0);
		/* Compact ASCII JSON: the é is escaped. */
		assert_non_null(strstr((char *)b.p, "\"name\":\"\\u00E9\""));
		assert_non_null(strstr((char *)b.p, blake ?
				       "\"algorithm\":\"blake2b\"" :
				       "\"algorithm\":\"sha256\""));
		assert_null(strstr((char *)b.p, "shard_size"));
		if (pal_statement_parse(b.p, b.len, &p, &v01, &err) != 0)
			fail_msg("%s: %s", (char *)b.p, err.msg);
		assert_int_equal(v01, 0);
		assert_string_equal(p->model_name, m->model_name);
		assert_int_equal(p->hash, o.hash);
		assert_int_equal(p->shard_size, 0);
		assert_int_equal(p->allow_symlinks, 0);
		assert_false(p->single_file);
		assert_int_equal(p->n_ignore, m->n_ignore);
		for (size_t i = 0; i < m->n_ignore; i++)
			assert_string_equal(p->ignore[i], m->ignore[i]);
		assert_int_equal(p->n_res, 3);
		assert_int_equal(pal_manifest_compare(m, p, NULL, 0), 0);
		for (size_t i = 0; i < 3; i++) {
			assert_string_equal(p->res[i].name, m->res[i].name);
			assert_int_equal(p->res[i].digest_len,
					 blake ? 64 : 32);
			assert_memory_equal(p->res[i].digest, m->res[i].digest,
					    m->res[i].digest_len);
		}
		pal_buf_free(&b);
		pal_manifest_free(m);
		pal_manifest_free(p);
	}
	oms_rmtree(dir);
	free(dir);
}

static void
statement_round_trip_shards(void **state)
{
	char *dir = oms_tmpdir("oms-shard");
	struct pal_manifest_opts o = { .shard_size = 4, .allow_symlinks = 1 };
	struct pal_manifest *m = NULL, *p = NULL;
	struct pal_err err = { 0 };
	struct pal_buf b;
	json_t *st;
	int v01;

	(void)state;
	oms_puts(dir, "w", "0123456789");
	oms_puts(dir, "x", "xy");
	assert_int_equal(pal_manifest_compute(dir, &o, &m, &err), 0);
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_statement_build(m, &b, &err), 0);
	assert_non_null(strstr((char *)b.p, "\"method\":\"shards\""));
	assert_non_null(strstr((char *)b.p, "\"shard_size\":4"));
	assert_non_null(strstr((char *)b.p, "\"hash_type\":\"sha256\""));
	assert_non_null(strstr((char *)b.p,
			       "\"algorithm\":\"sha256-sharded-4\""));
	assert_non_null(strstr((char *)b.p, "\"allow_symlinks\":true"));
	if (pal_statement_parse(b.p, b.len, &p, &v01, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(p->shard_size, 4);
	assert_int_equal(p->allow_symlinks, 1);
	assert_int_equal(p->n_res, 4);
	assert_string_equal(p->res[2].name, "w:8:10");
	assert_int_equal(pal_manifest_compare(m, p, NULL, 0), 0);
	pal_manifest_free(p);

	/* The plain hash name is accepted for shards as well. */
	st = json_loadb((const char *)b.p, b.len, 0, NULL);
	assert_non_null(st);
	for (size_t i = 0; i < 4; i++)
		json_object_set_new(res(st, i), "algorithm",
				    json_string("sha256"));
	assert_int_equal(parse_json(st, &p, &v01, &err), 0);
	assert_int_equal(pal_manifest_compare(m, p, NULL, 0), 0);
	pal_manifest_free(p);
	/* A different shard size in the name is not. */
	json_object_set_new(res(st, 1), "algorithm",
			    json_string("sha256-sharded-5"));
	reject(st, PAL_ERR_FORMAT, "algorithm 'sha256-sharded-5'");
	pal_buf_free(&b);
	pal_manifest_free(m);
	oms_rmtree(dir);
	free(dir);
}

static void
statement_single_file_names(void **state)
{
	struct pal_manifest *m = NULL;
	json_t *st = base_statement(0);
	int v01;

	(void)state;
	json_array_remove(json_object_get(json_object_get(st, "predicate"),
					  "resources"), 1);
	json_object_set_new(res(st, 0), "name", json_string("."));
	fix_root(st);
	assert_int_equal(parse_json(st, &m, &v01, NULL), 0);
	assert_true(m->single_file);
	pal_manifest_free(m);
	/* "." is the whole model: it cannot stand next to other files. */
	json_array_append_new(json_object_get(json_object_get(st,
			      "predicate"), "resources"),
			      json_pack("{s:s, s:s, s:s}", "name", "z",
					"algorithm", "sha256", "digest",
					HEX32B));
	fix_root(st);
	reject(st, PAL_ERR_FORMAT, "resource '.' next to others");
}

static void
statement_resources_in_any_order(void **state)
{
	struct pal_manifest *m = NULL;
	json_t *st = base_statement(0);
	json_t *arr = json_object_get(json_object_get(st, "predicate"),
				      "resources");
	json_t *first = json_incref(json_array_get(arr, 0));
	int v01;

	(void)state;
	/* Listed b/c, a: the root covers that order; the result is sorted. */
	json_array_remove(arr, 0);
	json_array_append_new(arr, first);
	fix_root(st);
	assert_int_equal(parse_json(st, &m, &v01, NULL), 0);
	assert_string_equal(m->res[0].name, "a");
	assert_string_equal(m->res[1].name, "b/c");
	pal_manifest_free(m);
	json_decref(st);
}

static void
statement_rejections_name_the_field(void **state)
{
	json_t *st;

	(void)state;
	st = base_statement(0);
	json_object_set_new(st, "_type", json_string(
				    "https://in-toto.io/Statement/v0.1"));
	reject(st, PAL_ERR_FORMAT, "_type");
	st = base_statement(0);
	json_object_del(st, "_type");
	reject(st, PAL_ERR_FORMAT, "'_type' is missing");
	st = base_statement(0);
	json_object_set_new(st, "predicateType",
			    json_string("https://slsa.dev/provenance/v1"));
	reject(st, PAL_ERR_FORMAT, "predicateType");
	st = base_statement(0);
	json_object_set_new(st, "predicateType", json_integer(1));
	reject(st, PAL_ERR_FORMAT, "'predicateType' is not a string");
	st = base_statement(0);
	json_object_del(st, "predicate");
	reject(st, PAL_ERR_FORMAT, "predicate missing");
	st = base_statement(0);
	json_object_del(json_object_get(st, "predicate"), "serialization");
	reject(st, PAL_ERR_FORMAT, "predicate.serialization: missing");
	st = base_statement(0);
	json_object_set_new(ser(st), "method", json_string("tree"));
	reject(st, PAL_ERR_UNSUPPORTED, "method 'tree'");
	st = base_statement(0);
	json_object_del(ser(st), "method");
	reject(st, PAL_ERR_FORMAT, "'method' is missing");
	st = base_statement(0);
	json_object_set_new(ser(st), "hash_type", json_string("md5"));
	reject(st, PAL_ERR_UNSUPPORTED, "hash_type 'md5'");
	st = base_statement(0);
	json_object_del(ser(st), "allow_symlinks");
	reject(st, PAL_ERR_FORMAT, "allow_symlinks");
	st = base_statement(0);
	json_object_set_new(ser(st), "allow_symlinks", json_string("false"));
	reject(st, PAL_ERR_FORMAT, "allow_symlinks");
	st = base_statement(0);
	json_object_set_new(ser(st), "ignore_paths", json_string(".git"));
	reject(st, PAL_ERR_FORMAT, "ignore_paths");
	st = base_statement(0);
	json_array_append_new(json_object_get(ser(st), "ignore_paths"),
			      json_integer(3));
	reject(st, PAL_ERR_FORMAT, "ignore_paths[2]");
	{
		/* OMS 6.2.1: relative, not climbing out, no globs. */
		static const char *const bad[] = {
			"/etc", "../up", "a/../../b", "*.bin", "w?", "[ab]",
			"",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			st = base_statement(0);
			json_array_append_new(json_object_get(ser(st),
					      "ignore_paths"),
					      json_string(bad[i]));
			reject(st, PAL_ERR_FORMAT, "ignore_paths[2]: ");
		}
	}
	st = base_statement(0);
	json_object_set_new(ser(st), "shard_size", json_integer(4));
	reject(st, PAL_ERR_UNSUPPORTED, "with shard_size");
	st = base_statement(0);
	json_object_set_new(json_object_get(st, "predicate"), "resources",
			    json_array());
	reject(st, PAL_ERR_FORMAT, "predicate.resources");
	st = base_statement(0);
	json_object_del(json_object_get(st, "predicate"), "resources");
	reject(st, PAL_ERR_FORMAT, "predicate.resources");
	st = base_statement(0);
	json_array_set_new(json_object_get(json_object_get(st, "predicate"),
					   "resources"), 1, json_string("x"));
	reject(st, PAL_ERR_FORMAT, "predicate.resources[1]: not an object");
	st = base_statement(0);
	json_object_del(res(st, 1), "digest");
	reject(st, PAL_ERR_FORMAT, "predicate.resources[1]: 'digest'");
	st = base_statement(0);
	json_object_del(res(st, 0), "algorithm");
	reject(st, PAL_ERR_FORMAT, "predicate.resources[0]: 'algorithm'");
}

static void
statement_rejects_bad_resources(void **state)
{
	static const char *const bad_names[] = {
		"../a", "a/../b", "/etc/passwd", "a//b", "a/", "./a", "",
	};
	json_t *st;

	(void)state;
	/* The same name twice (the root covering both). */
	st = base_statement(0);
	json_object_set_new(res(st, 1), "name", json_string("a"));
	fix_root(st);
	reject(st, PAL_ERR_FORMAT, "resource 'a' is listed twice");
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]);
	     i++) {
		st = base_statement(0);
		json_object_set_new(res(st, 1), "name",
				    json_string(bad_names[i]));
		reject(st, PAL_ERR_FORMAT, "resource");
	}
	st = base_statement(0);
	json_object_set_new(res(st, 1), "name", json_string("x/../../etc"));
	reject(st, PAL_ERR_FORMAT, "'x/../../etc' is not a canonical");
	/* 31 and 33 bytes of digest for sha256; 32 for blake2b. */
	st = base_statement(0);
	json_object_set_new(res(st, 0), "digest", json_string(&HEX32A[2]));
	fix_root(st);
	reject(st, PAL_ERR_FORMAT, "resource 'a': digest of 31 bytes");
	st = base_statement(0);
	json_object_set_new(res(st, 0), "digest", json_string(HEX32A "11"));
	fix_root(st);
	reject(st, PAL_ERR_FORMAT, "resource 'a': digest of 33 bytes");
	st = base_statement(0);
	json_object_set_new(ser(st), "hash_type", json_string("blake2b"));
	json_object_set_new(res(st, 0), "algorithm", json_string("blake2b"));
	json_object_set_new(res(st, 1), "algorithm", json_string("blake2b"));
	reject(st, PAL_ERR_FORMAT, "digest of 32 bytes, blake2b has 64");
	/* Not hex: a 'g', an odd length, a space. */
	st = base_statement(0);
	json_object_set_new(res(st, 1), "digest", json_string(
		"g222222222222222222222222222222222222222222222222222222222222222"));
	reject(st, PAL_ERR_FORMAT, "resource 'b/c' digest: not a hex digit");
	st = base_statement(0);
	json_object_set_new(res(st, 1), "digest", json_string(&HEX32B[1]));
	reject(st, PAL_ERR_FORMAT, "resource 'b/c' digest: hex string has odd");
	st = base_statement(0);
	json_object_set_new(res(st, 1), "digest", json_string(
		" 22222222222222222222222222222222222222222222222222222222222222"));
	reject(st, PAL_ERR_FORMAT, "resource 'b/c' digest");
	/* The algorithm must be the serialization's hash. */
	st = base_statement(0);
	json_object_set_new(res(st, 1), "algorithm", json_string("blake2b"));
	reject(st, PAL_ERR_FORMAT,
	       "resource 'b/c': algorithm 'blake2b' does not match hash_type");
	st = base_statement(0);
	json_object_set_new(res(st, 1), "algorithm",
			    json_string("sha256-sharded-4"));
	reject(st, PAL_ERR_FORMAT, "algorithm 'sha256-sharded-4'");
	st = base_statement(0);
	json_object_set_new(res(st, 1), "algorithm", json_string("SHA256"));
	reject(st, PAL_ERR_FORMAT, "algorithm 'SHA256'");
}

static void
statement_rejects_bad_shards(void **state)
{
	static const char *const bad[] = {
		"f", "f:0", ":0:4", "f:00:4", "f:0:04", "f:4:0", "f:4:4",
		"f:0:5", "f:1:4", "f:-0:4", "f:+0:4", "f:0:4 ", "f:0x0:4",
		"f: 0:4", "f:0:", "f::4", "../f:0:4", "f/:0:4",
		"f:0:99999999999999999999", "f:0:184467440737095516160",
	};
	json_t *st;
	struct pal_manifest *m = NULL;
	int v01;

	(void)state;
	st = base_statement(1);
	assert_int_equal(parse_json(st, &m, &v01, NULL), 0);
	assert_int_equal(m->shard_size, 4);
	pal_manifest_free(m);
	json_decref(st);
	/* A colon in the file's own name is fine: the last two split. */
	st = base_statement(1);
	json_object_set_new(res(st, 0), "name", json_string("a:b:0:4"));
	assert_int_equal(parse_json(st, &m, &v01, NULL), 0);
	pal_manifest_free(m);
	json_decref(st);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = base_statement(1);
		json_object_set_new(res(st, 0), "name", json_string(bad[i]));
		reject(st, PAL_ERR_FORMAT, "resource");
	}
	st = base_statement(1);
	json_object_del(ser(st), "shard_size");
	reject(st, PAL_ERR_FORMAT, "shards need a positive shard_size");
	st = base_statement(1);
	json_object_set_new(ser(st), "shard_size", json_integer(0));
	reject(st, PAL_ERR_FORMAT, "shard_size");
	st = base_statement(1);
	json_object_set_new(ser(st), "shard_size", json_integer(-4));
	reject(st, PAL_ERR_FORMAT, "shard_size");
	st = base_statement(1);
	json_object_set_new(ser(st), "shard_size", json_string("4"));
	reject(st, PAL_ERR_FORMAT, "shard_size");
	st = base_statement(1);
	json_object_set_new(ser(st), "shard_size", json_real(4.0));
	reject(st, PAL_ERR_FORMAT, "shard_size");
}

static void
statement_rejects_bad_subject(void **state)
{
	json_t *st;

	(void)state;
	st = base_statement(0);
	json_object_set_new(json_object_get(json_array_get(json_object_get(
		st, "subject"), 0), "digest"), "sha256", json_string(HEX32A));
	reject(st, PAL_ERR_VERIFY, "root digest");
	st = base_statement(0);
	json_object_set_new(res(st, 0), "digest", json_string(HEX32B));
	reject(st, PAL_ERR_VERIFY, "root digest");
	st = base_statement(0);
	json_array_append(json_object_get(st, "subject"),
			  json_array_get(json_object_get(st, "subject"), 0));
	reject(st, PAL_ERR_FORMAT, "subject must hold exactly one");
	st = base_statement(0);
	json_object_set_new(st, "subject", json_array());
	reject(st, PAL_ERR_FORMAT, "subject must hold exactly one");
	st = base_statement(0);
	json_object_del(st, "subject");
	reject(st, PAL_ERR_FORMAT, "subject");
	st = base_statement(0);
	json_object_del(json_array_get(json_object_get(st, "subject"), 0),
			"name");
	reject(st, PAL_ERR_FORMAT, "subject[0]: 'name'");
	st = base_statement(0);
	json_object_set_new(json_array_get(json_object_get(st, "subject"), 0),
			    "name", json_string(""));
	reject(st, PAL_ERR_FORMAT, "subject[0]: empty name");
	st = base_statement(0);
	json_object_del(json_object_get(json_array_get(json_object_get(st,
			"subject"), 0), "digest"), "sha256");
	reject(st, PAL_ERR_FORMAT, "subject[0].digest: 'sha256'");
}

#define DUP_TYPE "{\"_type\":\"https://in-toto.io/Statement/v1\"," \
	"\"_type\":\"https://in-toto.io/Statement/v1\"}"

static void
statement_rejects_bad_json(void **state)
{
	static const char *const texts[] = {
		"", "[]", "\"statement\"", "{", "{}x", "null",
		/* A duplicate key, which a lenient reader would resolve. */
		DUP_TYPE,
		/* A NUL escaped inside a string. */
		"{\"_type\":\"https://in-toto.io/Statement/v1\\u0000\"}",
	};
	struct pal_manifest *m = NULL;
	struct pal_err err;
	int v01;

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (parse_text(texts[i], &m, &v01, &err) != PAL_ERR_FORMAT)
			fail_msg("'%s' not refused as FORMAT", texts[i]);
		assert_null(m);
		assert_non_null(strstr(err.msg, "statement"));
	}
	/* A valid statement with anything after it. */
	json_t *st = base_statement(0);
	char *t = json_dumps(st, JSON_COMPACT);
	size_t n = strlen(t);

	assert_int_equal(pal_statement_parse((const uint8_t *)t, n, &m, &v01,
					     NULL), 0);
	pal_manifest_free(m);
	m = NULL;
	t[n - 1] = ' ';
	assert_int_equal(pal_statement_parse((const uint8_t *)t, n, &m, &v01,
					     NULL), PAL_ERR_FORMAT);
	t[n - 1] = '}';
	t = realloc(t, n + 3);
	assert_non_null(t);
	memcpy(t + n, "{}", 3);
	assert_int_equal(pal_statement_parse((const uint8_t *)t, n + 2, &m,
					     &v01, NULL), PAL_ERR_FORMAT);
	assert_int_equal(pal_statement_parse((const uint8_t *)t, n + 1, &m,
					     &v01, NULL), PAL_ERR_FORMAT);
	free(t);
	json_decref(st);
}

static void
statement_v01_predicate(void **state)
{
	struct pal_manifest *m = NULL;
	struct pal_err err = { 0 };
	int v01 = 0;
	json_t *st = json_pack(
		"{s:s, s:[{s:s, s:{s:s}}, {s:s, s:{s:s}}], s:s, s:{s:s}}",
		"_type", PAL_INTOTO_STATEMENT, "subject",
		"name", "w/2", "digest", "sha256", HEX32B,
		"name", "w/1", "digest", "sha256", HEX32A,
		"predicateType", PAL_OMS_PREDICATE_V01,
		"predicate", "unused", "Unused");

	(void)state;
	assert_int_equal(parse_json(st, &m, &v01, &err), 0);
	assert_int_equal(v01, 1);
	assert_int_equal(m->hash, PAL_HASH_SHA256);
	assert_int_equal(m->n_res, 2);
	assert_string_equal(m->res[0].name, "w/1");
	assert_int_equal(m->res[0].digest[0], 0x11);
	pal_manifest_free(m);
	json_object_set_new(json_object_get(json_array_get(json_object_get(
		st, "subject"), 0), "digest"), "sha256", json_string("22"));
	assert_int_equal(parse_json(st, &m, &v01, &err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "digest of 1 bytes"));
	json_object_set_new(json_array_get(json_object_get(st, "subject"), 0),
			    "name", json_string("../x"));
	assert_int_equal(parse_json(st, &m, &v01, &err), PAL_ERR_FORMAT);
	json_object_set_new(st, "subject", json_array());
	assert_int_equal(parse_json(st, &m, &v01, &err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "no subjects"));
	json_decref(st);
}

/* ---- bundles ---- */

static struct pal_bundle *
load(const char *rel)
{
	char *path = oms_data(rel);
	struct pal_bundle *b = NULL;
	struct pal_err err = { 0 };

	if (pal_bundle_load(path, &b, &err) != 0)
		fail_msg("%s: %s", path, err.msg);
	free(path);
	return b;
}

struct vector {
	const char *dir;
	enum pal_oms_method method;
	int single;		/* the model is the file signme-1 */
};

static const struct vector vectors[] = {
	{ "v0.2.0-certificate", PAL_OMS_CERTIFICATE, 0 },
	{ "v0.3.1-certificate", PAL_OMS_CERTIFICATE, 0 },
	{ "v0.3.1-elliptic-key", PAL_OMS_KEY, 1 },
	{ "v0.3.1-sigstore", PAL_OMS_SIGSTORE, 0 },
	{ "v1.0.0-certificate", PAL_OMS_CERTIFICATE, 0 },
	{ "v1.0.0-elliptic-key", PAL_OMS_KEY, 1 },
	{ "v1.0.0-sigstore", PAL_OMS_SIGSTORE, 0 },
	{ "v1.0.1-certificate", PAL_OMS_CERTIFICATE, 0 },
	{ "v1.0.1-elliptic-key", PAL_OMS_KEY, 0 },
	{ "v1.0.1-sigstore", PAL_OMS_SIGSTORE, 0 },
	{ "v1.1.0-certificate", PAL_OMS_CERTIFICATE, 0 },
	{ "v1.1.0-elliptic-key", PAL_OMS_KEY, 0 },
	{ "v1.1.0-sigstore", PAL_OMS_SIGSTORE, 0 },
};

/* The resource's digest is SHA-256 of the vector's file on disk. */
static void
expect_file_digest(const char *dir, const struct pal_resource *r,
		   const char *file)
{
	char rel[256];
	char *path;
	uint8_t *data, want[64];
	size_t n;

	snprintf(rel, sizeof(rel), MT "%s/%s", dir, file);
	path = oms_data(rel);
	data = oms_slurp(path, &n);
	oms_digest(0, data, n, want);
	assert_int_equal(r->digest_len, 32);
	assert_memory_equal(r->digest, want, 32);
	free(data);
	free(path);
}

static void
bundles_of_every_model_signing_release(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		struct pal_manifest *m = NULL;
		struct pal_err err = { 0 };
		char rel[256];
		int v01 = -1;

		snprintf(rel, sizeof(rel), MT "%s/model.sig", v->dir);
		struct pal_bundle *b = load(rel);
		if (b->method != v->method)
			fail_msg("%s: method %s", v->dir,
				 pal_oms_method_name(b->method));
		assert_string_equal(b->payload_type, PAL_DSSE_INTOTO_TYPE);
		assert_true(b->sig_len > 8 && b->sig[0] == 0x30);
		assert_non_null(b->material);
		if (v->method == PAL_OMS_KEY)
			assert_true((b->key_hint != NULL) !=
				    (b->key_raw != NULL));
		else
			assert_null(b->key_hint);
		if (v->method == PAL_OMS_CERTIFICATE)
			assert_int_equal(sk_X509_num(b->chain), 2);
		else
			assert_null(b->chain);
		if (pal_statement_parse(b->payload, b->payload_len, &m, &v01,
					&err) != 0)
			fail_msg("%s: %s", v->dir, err.msg);
		assert_int_equal(v01, strncmp(v->dir, "v0.2.0", 6) == 0);
		if (v->single) {
			assert_true(m->single_file);
			assert_int_equal(m->n_res, 1);
			expect_file_digest(v->dir, &m->res[0], "signme-1");
		} else {
			assert_int_equal(m->n_res, 2);
			assert_string_equal(m->res[0].name, "signme-1");
			assert_string_equal(m->res[1].name, "signme-2");
			expect_file_digest(v->dir, &m->res[0], "signme-1");
			expect_file_digest(v->dir, &m->res[1], "signme-2");
		}
		pal_manifest_free(m);
		pal_bundle_free(b);
	}
}

static void
spec_valid_vectors(void **state)
{
	static const struct {
		const char *file;
		enum pal_oms_method method;
	} v[] = {
		{ "certificate.bundle.json", PAL_OMS_CERTIFICATE },
		{ "key.bundle.json", PAL_OMS_KEY },
		{ "sigstore.bundle.json", PAL_OMS_SIGSTORE },
	};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		char rel[256];
		struct pal_manifest *m = NULL;
		struct pal_err err = { 0 };
		int v01 = -1;

		snprintf(rel, sizeof(rel), SPEC "valid/%s", v[i].file);
		struct pal_bundle *b = load(rel);
		assert_int_equal(b->method, v[i].method);
		if (pal_statement_parse(b->payload, b->payload_len, &m, &v01,
					&err) != 0)
			fail_msg("%s: %s", v[i].file, err.msg);
		assert_int_equal(v01, 0);
		assert_int_equal(m->n_res, 2);
		assert_true(m->n_ignore >= 5);
		pal_manifest_free(m);
		pal_bundle_free(b);
	}
}

static void
spec_invalid_vectors(void **state)
{
	static const struct {
		const char *file;
		const char *what;
	} v[] = {
		{ "empty.bundle.json", "not JSON" },
		{ "missing-envelope.bundle.json", "dsseEnvelope" },
		{ "missing-tlog-entries.bundle.json", "tlogEntries" },
		{ "missing-verification-material.bundle.json",
		  "verificationMaterial" },
	};
	struct pal_bundle *b = NULL;
	struct pal_manifest *m = NULL;
	struct pal_err err;
	int v01;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		char rel[256];
		char *path;

		snprintf(rel, sizeof(rel), SPEC "invalid/%s", v[i].file);
		path = oms_data(rel);
		memset(&err, 0, sizeof(err));
		if (pal_bundle_load(path, &b, &err) != PAL_ERR_FORMAT)
			fail_msg("%s: not refused (%s)", v[i].file, err.msg);
		assert_null(b);
		if (strstr(err.msg, v[i].what) == NULL)
			fail_msg("%s: '%s' does not name %s", v[i].file,
				 err.msg, v[i].what);
		free(path);
	}
	/* The bundle is well formed; its statement is not OMS. */
	b = load(SPEC "invalid-payload/wrong-predicate.bundle.json");
	memset(&err, 0, sizeof(err));
	assert_int_equal(pal_statement_parse(b->payload, b->payload_len, &m,
					     &v01, &err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "predicateType "
			       "'https://example.com/wrong-predicate/v1.0'"));
	assert_null(m);
	pal_bundle_free(b);
}

static STACK_OF(X509) *
load_chain(void)
{
	static const char *const files[] = {
		MT "keys/certificate/signing-key-cert.pem",
		MT "keys/certificate/int-ca-cert.pem",
	};
	STACK_OF(X509) *chain = sk_X509_new_null();

	assert_non_null(chain);
	for (int i = 0; i < 2; i++) {
		STACK_OF(X509) *one = NULL;
		char *p = oms_data(files[i]);

		assert_int_equal(pal_x509_load_file(p, &one, NULL), 0);
		assert_int_equal(sk_X509_num(one), 1);
		sk_X509_push(chain, sk_X509_shift(one));
		sk_X509_free(one);
		free(p);
	}
	return chain;
}

static void
bundle_write_reads_back(void **state)
{
	const char *payload = "{\"_type\":\"x\"}";
	uint8_t sig[72];
	EVP_PKEY *key = EVP_EC_gen("P-256");
	STACK_OF(X509) *chain = load_chain();
	struct pal_err err = { 0 };
	struct pal_bundle *b = NULL;
	struct pal_buf out;
	char hint[65];

	(void)state;
	assert_non_null(key);
	assert_int_equal(RAND_bytes(sig, sizeof(sig)), 1);
	sig[0] = 0x30;
	/* Key method. */
	pal_buf_init(&out, PAL_OMS_BUNDLE_MAX);
	assert_int_equal(pal_bundle_write((const uint8_t *)payload,
					  strlen(payload), sig, sizeof(sig),
					  key, NULL, &out, &err), 0);
	assert_non_null(strstr((char *)out.p, PAL_OMS_MEDIA_TYPE));
	if (pal_bundle_parse(out.p, out.len, &b, &err) != 0)
		fail_msg("%s\n%s", (char *)out.p, err.msg);
	assert_int_equal(b->method, PAL_OMS_KEY);
	assert_string_equal(b->payload_type, PAL_DSSE_INTOTO_TYPE);
	assert_int_equal(b->payload_len, strlen(payload));
	assert_memory_equal(b->payload, payload, strlen(payload));
	assert_int_equal(b->sig_len, sizeof(sig));
	assert_memory_equal(b->sig, sig, sizeof(sig));
	assert_int_equal(pal_pubkey_hint(key, hint, NULL), 0);
	assert_non_null(b->key_hint);
	assert_string_equal(b->key_hint, hint);
	assert_null(b->chain);
	pal_bundle_free(b);
	pal_buf_free(&out);

	/* Certificate method: the chain comes back in order. */
	pal_buf_init(&out, PAL_OMS_BUNDLE_MAX);
	assert_int_equal(pal_bundle_write((const uint8_t *)payload,
					  strlen(payload), sig, sizeof(sig),
					  key, chain, &out, &err), 0);
	assert_int_equal(pal_bundle_parse(out.p, out.len, &b, &err), 0);
	assert_int_equal(b->method, PAL_OMS_CERTIFICATE);
	assert_int_equal(sk_X509_num(b->chain), 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(X509_cmp(sk_X509_value(b->chain, i),
					  sk_X509_value(chain, i)), 0);
	assert_null(b->key_hint);
	assert_null(b->key_raw);
	pal_bundle_free(b);
	pal_buf_free(&out);

	/* An empty payload is still a bundle. */
	pal_buf_init(&out, PAL_OMS_BUNDLE_MAX);
	assert_int_equal(pal_bundle_write((const uint8_t *)"", 0, sig,
					  sizeof(sig), key, NULL, &out, &err),
			 0);
	assert_int_equal(pal_bundle_parse(out.p, out.len, &b, &err), 0);
	assert_int_equal(b->payload_len, 0);
	pal_bundle_free(b);
	pal_buf_free(&out);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
}

/* A written key bundle as JSON, to be mutated. */
static json_t *
base_bundle(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	uint8_t sig[8] = { 0x30, 6, 2, 1, 1, 2, 1, 1 };
	struct pal_buf out;
	json_t *doc;

	assert_non_null(key);
	pal_buf_init(&out, PAL_OMS_BUNDLE_MAX);
	assert_int_equal(pal_bundle_write((const uint8_t *)"{}", 2, sig,
					  sizeof(sig), key, NULL, &out, NULL),
			 0);
	doc = json_loadb((const char *)out.p, out.len, 0, NULL);
	assert_non_null(doc);
	pal_buf_free(&out);
	EVP_PKEY_free(key);
	return doc;
}

static void
bundle_reject(json_t *doc, const char *what)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	struct pal_bundle *b = NULL;
	struct pal_err err = { 0 };
	int rc;

	assert_non_null(text);
	rc = pal_bundle_parse((const uint8_t *)text, strlen(text), &b, &err);
	if (rc != PAL_ERR_FORMAT)
		fail_msg("%s: got %d (%s), want FORMAT naming '%s'", text, rc,
			 err.msg, what);
	assert_null(b);
	if (strstr(err.msg, what) == NULL)
		fail_msg("'%s' does not name '%s'", err.msg, what);
	free(text);
	json_decref(doc);
}

static json_t *
env(json_t *doc)
{
	return json_object_get(doc, "dsseEnvelope");
}

static json_t *
sig0(json_t *doc)
{
	return json_array_get(json_object_get(env(doc), "signatures"), 0);
}

static json_t *
vm(json_t *doc)
{
	return json_object_get(doc, "verificationMaterial");
}

static void
bundle_rejections(void **state)
{
	json_t *d;
	STACK_OF(X509) *chain = load_chain();
	unsigned char *der = NULL;
	int n;
	struct pal_buf b64;

	(void)state;
	d = base_bundle();
	json_object_set_new(d, "mediaType", json_string("application/json"));
	bundle_reject(d, "mediaType 'application/json'");
	d = base_bundle();
	json_object_del(d, "mediaType");
	bundle_reject(d, "mediaType missing");
	d = base_bundle();
	json_object_del(d, "dsseEnvelope");
	json_object_set_new(d, "messageSignature", json_object());
	bundle_reject(d, "no dsseEnvelope");
	d = base_bundle();
	json_object_del(env(d), "payloadType");
	bundle_reject(d, "dsseEnvelope.payloadType");
	d = base_bundle();
	json_object_set_new(env(d), "payload", json_string("e30"));
	bundle_reject(d, "dsseEnvelope.payload: base64 length");
	d = base_bundle();
	json_object_set_new(env(d), "payload", json_string("e31="));
	bundle_reject(d, "dsseEnvelope.payload: non-canonical");
	d = base_bundle();
	json_object_set_new(env(d), "payload", json_string("e3\n0="));
	bundle_reject(d, "dsseEnvelope.payload");
	d = base_bundle();
	json_object_set_new(env(d), "payload", json_integer(0));
	bundle_reject(d, "dsseEnvelope.payload: not a string");
	d = base_bundle();
	json_array_append(json_object_get(env(d), "signatures"), sig0(d));
	bundle_reject(d, "exactly one signature");
	d = base_bundle();
	json_array_clear(json_object_get(env(d), "signatures"));
	bundle_reject(d, "exactly one signature");
	d = base_bundle();
	json_object_set_new(sig0(d), "sig", json_string(""));
	bundle_reject(d, "sig: empty");
	d = base_bundle();
	json_object_del(sig0(d), "sig");
	bundle_reject(d, "signatures[0].sig: missing");
	d = base_bundle();
	json_object_set_new(sig0(d), "keyid", json_integer(1));
	bundle_reject(d, "keyid: not a string");
	d = base_bundle();
	json_object_set_new(vm(d), "x509CertificateChain", json_object());
	bundle_reject(d, "exactly one of");
	d = base_bundle();
	json_object_del(vm(d), "publicKey");
	bundle_reject(d, "exactly one of");
	d = base_bundle();
	json_object_set_new(vm(d), "publicKey", json_object());
	bundle_reject(d, "neither hint nor rawBytes");
	d = base_bundle();
	json_object_set_new(vm(d), "publicKey", json_string("x"));
	bundle_reject(d, "publicKey: not an object");
	d = base_bundle();
	json_object_set_new(vm(d), "publicKey",
			    json_pack("{s:s}", "rawBytes", "AAAA"));
	bundle_reject(d, "not a PEM or DER public key");
	d = base_bundle();
	json_object_set_new(vm(d), "tlogEntries", json_object());
	bundle_reject(d, "tlogEntries: not a list");
	d = base_bundle();
	json_object_del(d, "verificationMaterial");
	bundle_reject(d, "verificationMaterial");
	/* Sigstore's certificate needs a log entry. */
	d = base_bundle();
	json_object_del(vm(d), "publicKey");
	json_object_set_new(vm(d), "certificate",
			    json_pack("{s:s}", "rawBytes", "AAAA"));
	bundle_reject(d, "needs tlogEntries");
	/* Certificates: none, too many, not DER, DER with trailing bytes. */
	d = base_bundle();
	json_object_del(vm(d), "publicKey");
	json_object_set_new(vm(d), "x509CertificateChain",
			    json_pack("{s:[]}", "certificates"));
	bundle_reject(d, "1 to 16 certificates");
	n = i2d_X509(sk_X509_value(chain, 0), &der);
	assert_true(n > 0);
	d = base_bundle();
	json_object_del(vm(d), "publicKey");
	json_t *certs = json_array();
	for (int i = 0; i < 17; i++) {
		pal_buf_init(&b64, 1 << 20);
		assert_int_equal(pal_base64_encode(der, (size_t)n, &b64), 0);
		json_array_append_new(certs, json_pack("{s:s%}", "rawBytes",
				      (char *)b64.p, b64.len));
		pal_buf_free(&b64);
	}
	json_object_set_new(vm(d), "x509CertificateChain",
			    json_pack("{s:o}", "certificates", certs));
	bundle_reject(d, "1 to 16 certificates");
	d = base_bundle();
	json_object_del(vm(d), "publicKey");
	json_object_set_new(vm(d), "x509CertificateChain",
			    json_pack("{s:[{s:s}]}", "certificates",
				      "rawBytes", "MAA="));
	bundle_reject(d, "certificates[0]: not a DER X.509");
	der = OPENSSL_realloc(der, (size_t)n + 1);
	der[n] = 0;
	pal_buf_init(&b64, 1 << 20);
	assert_int_equal(pal_base64_encode(der, (size_t)n + 1, &b64), 0);
	d = base_bundle();
	json_object_del(vm(d), "publicKey");
	json_object_set_new(vm(d), "x509CertificateChain",
			    json_pack("{s:[{s:s%}]}", "certificates",
				      "rawBytes", (char *)b64.p, b64.len));
	bundle_reject(d, "1 bytes after the DER certificate");
	pal_buf_free(&b64);
	OPENSSL_free(der);
	sk_X509_pop_free(chain, X509_free);
}

static void
bundle_rejects_bad_json(void **state)
{
	static const char *const texts[] = {
		"", "[]", "{", "null", "{\"mediaType\":1}",
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3"
		"+json\",\"mediaType\":\"application/vnd.dev.sigstore.bundle"
		".v0.3+json\"}",
	};
	struct pal_bundle *b = NULL;
	uint8_t *big;

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (pal_bundle_parse((const uint8_t *)texts[i],
				     strlen(texts[i]), &b, NULL) !=
		    PAL_ERR_FORMAT)
			fail_msg("'%s' not refused", texts[i]);
		assert_null(b);
	}
	/* Over the size cap: refused before it is read. */
	big = calloc(1, (size_t)PAL_OMS_BUNDLE_MAX + 1);
	assert_non_null(big);
	assert_int_equal(pal_bundle_parse(big, (size_t)PAL_OMS_BUNDLE_MAX + 1,
					  &b, NULL), PAL_ERR_LIMIT);
	free(big);
}

/* model_signing 0.3 to 1.0.1 wrote the PEM text as publicKey.rawBytes. */
static void
bundle_public_key_raw_bytes(void **state)
{
	struct pal_bundle *b = load(MT "v1.0.0-elliptic-key/model.sig");
	char *p = oms_data(MT "keys/certificate/signing-key-pub.pem");
	EVP_PKEY *want = NULL;

	(void)state;
	assert_int_equal(pal_pubkey_load(p, &want, NULL), 0);
	assert_non_null(b->key_raw);
	assert_int_equal(EVP_PKEY_eq(b->key_raw, want), 1);
	pal_bundle_free(b);
	b = load(MT "v1.1.0-elliptic-key/model.sig");
	char hint[65];
	assert_int_equal(pal_pubkey_hint(want, hint, NULL), 0);
	assert_string_equal(hint, "e8450dec4eb99dae995da9af1bc2cc9f"
			    "76ed669ee2e744f57abba763df3e3f8e");
	assert_string_equal(b->key_hint, hint);
	pal_bundle_free(b);
	EVP_PKEY_free(want);
	free(p);
}

/* ---- DSSE ---- */

static void
pae_bytes(void **state)
{
	static const char want[] =
		"DSSEv1 28 application/vnd.in-toto+json 5 hello";
	static const char want0[] = "DSSEv1 28 application/vnd.in-toto+json 0 ";
	static const char wantb[] = "DSSEv1 1 t 3 \0\n\xff";
	struct pal_buf b;

	(void)state;
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_dsse_pae(PAL_DSSE_INTOTO_TYPE,
				      (const uint8_t *)"hello", 5, &b), 0);
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(b.p, want, b.len);
	pal_buf_free(&b);
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_dsse_pae(PAL_DSSE_INTOTO_TYPE, NULL, 0, &b), 0);
	assert_int_equal(b.len, sizeof(want0) - 1);
	assert_memory_equal(b.p, want0, b.len);
	pal_buf_free(&b);
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_dsse_pae("t", (const uint8_t *)"\0\n\xff", 3, &b),
			 0);
	assert_int_equal(b.len, sizeof(wantb) - 1);
	assert_memory_equal(b.p, wantb, b.len);
	pal_buf_free(&b);
}

static void
v020(const void *payload, size_t len, const char *repr)
{
	struct pal_buf b, w;

	pal_buf_init(&b, 1 << 20);
	pal_buf_init(&w, 1 << 20);
	assert_int_equal(pal_dsse_pae_v020(PAL_DSSE_INTOTO_TYPE, payload,
					   len, &b), 0);
	assert_int_equal(pal_buf_printf(&w, "DSSEV1 28 %s %zu %s",
					PAL_DSSE_INTOTO_TYPE, len, repr), 0);
	if (b.len != w.len || memcmp(b.p, w.p, b.len) != 0)
		fail_msg("got  [%s]\nwant [%s]", (char *)b.p, (char *)w.p);
	pal_buf_free(&b);
	pal_buf_free(&w);
}

/*
 * Expected strings written from Python's rules for repr(bytes): single
 * quotes unless the bytes hold ' and no ", then double quotes; only the
 * chosen quote and the backslash are escaped; \t \n \r by name; other
 * bytes outside 0x20-0x7e as \xNN in lowercase.
 */
static void
pae_v020_is_python_bytes_repr(void **state)
{
	(void)state;
	v020("hello", 5, "b'hello'");
	v020("", 0, "b''");
	v020("a'b", 3, "b\"a'b\"");
	v020("a\"b", 3, "b'a\"b'");
	v020("a'b\"c", 5, "b'a\\'b\"c'");
	v020("\\", 1, "b'\\\\'");
	v020("\\'", 2, "b\"\\\\'\"");
	v020("x\ny\tz\r", 6, "b'x\\ny\\tz\\r'");
	v020("\0", 1, "b'\\x00'");
	v020("\xff\x80\x7f", 3, "b'\\xff\\x80\\x7f'");
	v020("\x01\x1f ~\x0b\x0c", 6, "b'\\x01\\x1f ~\\x0b\\x0c'");
	v020("{\"k\": \"v\"}\n", 11, "b'{\"k\": \"v\"}\\n'");
}

static EVP_PKEY *
leaf_key(const char *bundle)
{
	struct pal_bundle *b = load(bundle);
	EVP_PKEY *k = X509_get_pubkey(sk_X509_value(b->chain, 0));

	assert_non_null(k);
	pal_bundle_free(b);
	return k;
}

static void
dsse_verify_real_envelopes(void **state)
{
	struct pal_bundle *b = load(MT "v1.0.0-certificate/model.sig");
	EVP_PKEY *k = leaf_key(MT "v1.0.0-certificate/model.sig");
	struct pal_err err = { 0 };

	(void)state;
	assert_int_equal(pal_dsse_verify(k, b->payload_type, b->payload,
					 b->payload_len, b->sig, b->sig_len,
					 &err), 0);
	b->payload[b->payload_len / 2] ^= 1;
	assert_int_equal(pal_dsse_verify(k, b->payload_type, b->payload,
					 b->payload_len, b->sig, b->sig_len,
					 &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "DSSE envelope: "));
	assert_int_equal(pal_dsse_verify_compat(k, b->payload_type,
						b->payload, b->payload_len,
						b->sig, b->sig_len, NULL),
			 PAL_ERR_VERIFY);
	b->payload[b->payload_len / 2] ^= 1;
	/* The type is covered too. */
	assert_int_equal(pal_dsse_verify(k, "application/json", b->payload,
					 b->payload_len, b->sig, b->sig_len,
					 NULL), PAL_ERR_VERIFY);
	pal_bundle_free(b);
	EVP_PKEY_free(k);

	/* 0.2.0 signed repr(payload): only the compat path accepts it. */
	b = load(MT "v0.2.0-certificate/model.sig");
	k = leaf_key(MT "v0.2.0-certificate/model.sig");
	assert_int_equal(pal_dsse_verify(k, b->payload_type, b->payload,
					 b->payload_len, b->sig, b->sig_len,
					 NULL), PAL_ERR_VERIFY);
	memset(&err, 0, sizeof(err));
	if (pal_dsse_verify_compat(k, b->payload_type, b->payload,
				   b->payload_len, b->sig, b->sig_len,
				   &err) != 0)
		fail_msg("v0.2.0: %s", err.msg);
	b->payload[3] ^= 1;
	assert_int_equal(pal_dsse_verify_compat(k, b->payload_type,
						b->payload, b->payload_len,
						b->sig, b->sig_len, NULL),
			 PAL_ERR_VERIFY);
	pal_bundle_free(b);
	EVP_PKEY_free(k);
}

/* Fresh keys on each curve sign the PAE with the curve's own hash. */
static void
dsse_verify_fresh_keys(void **state)
{
	static const char *const curves[] = { "P-256", "P-384", "P-521" };
	static const char payload[] = "{\"a\":1}";

	(void)state;
	for (int i = 0; i < 3; i++) {
		EVP_PKEY *k = EVP_EC_gen(curves[i]);
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		uint8_t sig[256];
		size_t n = sizeof(sig);
		struct pal_buf pae;

		assert_non_null(k);
		pal_buf_init(&pae, 1 << 20);
		assert_int_equal(pal_dsse_pae(PAL_DSSE_INTOTO_TYPE,
					      (const uint8_t *)payload,
					      sizeof(payload) - 1, &pae), 0);
		assert_int_equal(EVP_DigestSignInit(c, NULL, pal_signer_md(k),
						    NULL, k), 1);
		assert_int_equal(EVP_DigestSign(c, sig, &n, pae.p, pae.len),
				 1);
		assert_int_equal(pal_dsse_verify(k, PAL_DSSE_INTOTO_TYPE,
						 (const uint8_t *)payload,
						 sizeof(payload) - 1, sig, n,
						 NULL), 0);
		/* Signing the bare payload is not a DSSE signature. */
		EVP_MD_CTX_reset(c);
		n = sizeof(sig);
		assert_int_equal(EVP_DigestSignInit(c, NULL, pal_signer_md(k),
						    NULL, k), 1);
		assert_int_equal(EVP_DigestSign(c, sig, &n,
						(const uint8_t *)payload,
						sizeof(payload) - 1), 1);
		assert_int_equal(pal_dsse_verify_compat(k, PAL_DSSE_INTOTO_TYPE,
						 (const uint8_t *)payload,
						 sizeof(payload) - 1, sig, n,
						 NULL), PAL_ERR_VERIFY);
		pal_buf_free(&pae);
		EVP_MD_CTX_free(c);
		EVP_PKEY_free(k);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(statement_round_trip_files),
		cmocka_unit_test(statement_round_trip_shards),
		cmocka_unit_test(statement_single_file_names),
		cmocka_unit_test(statement_resources_in_any_order),
		cmocka_unit_test(statement_rejections_name_the_field),
		cmocka_unit_test(statement_rejects_bad_resources),
		cmocka_unit_test(statement_rejects_bad_shards),
		cmocka_unit_test(statement_rejects_bad_subject),
		cmocka_unit_test(statement_rejects_bad_json),
		cmocka_unit_test(statement_v01_predicate),
		cmocka_unit_test(bundles_of_every_model_signing_release),
		cmocka_unit_test(spec_valid_vectors),
		cmocka_unit_test(spec_invalid_vectors),
		cmocka_unit_test(bundle_write_reads_back),
		cmocka_unit_test(bundle_rejections),
		cmocka_unit_test(bundle_rejects_bad_json),
		cmocka_unit_test(bundle_public_key_raw_bytes),
		cmocka_unit_test(pae_bytes),
		cmocka_unit_test(pae_v020_is_python_bytes_repr),
		cmocka_unit_test(dsse_verify_real_envelopes),
		cmocka_unit_test(dsse_verify_fresh_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
