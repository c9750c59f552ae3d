/*
 * statement.c - the in-toto statement carrying an OMS manifest, both ways.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/encoding.h"
#include "palisade/oms.h"
#include "palisade/text.h"

#define MAX_RESOURCES 1000000

/*
 * The per-resource algorithm name.  For shards model_signing names the
 * digest "sha256-sharded-N" and its verifier compares that name, so that
 * is what is written (serialization.hash_type stays the registry name).
 */
static int
algorithm_name(const struct pal_manifest *m, char *out, size_t n)
{
	if (m->shard_size == 0)
		return snprintf(out, n, "%s", pal_hash_name(m->hash));
	return snprintf(out, n, "%s-sharded-%" PRIu64, pal_hash_name(m->hash),
			m->shard_size);
}

static json_t *
build_serialization(const struct pal_manifest *m)
{
	json_t *s = json_object();
	json_t *ign = json_array();
	if (s == NULL || ign == NULL)
		goto fail;
	for (size_t i = 0; i < m->n_ignore; i++)
		if (json_array_append_new(ign, json_string(m->ignore[i])))
			goto fail;
	if (json_object_set_new(s, "method", json_string(m->shard_size ?
			"shards" : "files")) ||
	    json_object_set_new(s, "hash_type",
				json_string(pal_hash_name(m->hash))) ||
	    (m->shard_size && json_object_set_new(s, "shard_size",
			json_integer((json_int_t)m->shard_size))) ||
	    json_object_set_new(s, "allow_symlinks",
				json_boolean(m->allow_symlinks)) ||
	    json_object_set_new(s, "ignore_paths", ign))
		goto fail_s;
	return s;
fail:
	json_decref(ign);
fail_s:
	json_decref(s);
	return NULL;
}

static json_t *
build_resources(const struct pal_manifest *m)
{
	char alg[64], hex[2 * PAL_DIGEST_MAX + 1];
	json_t *a = json_array();
	algorithm_name(m, alg, sizeof(alg));
	for (size_t i = 0; a != NULL && i < m->n_res; i++) {
		pal_hex_encode(m->res[i].digest, m->res[i].digest_len, hex);
		json_t *r = json_pack("{s:s, s:s, s:s}", "name",
				      m->res[i].name, "algorithm", alg,
				      "digest", hex);
		if (r == NULL || json_array_append_new(a, r)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int
pal_statement_build(const struct pal_manifest *m, struct pal_buf *out,
		    struct pal_err *err)
{
	uint8_t root[32];
	char hex[65];
	if (pal_manifest_root_digest(m, root) < 0)
		return pal_err_set(err, PAL_ERR_CRYPTO, "root digest");
	pal_hex_encode(root, sizeof(root), hex);
	json_t *ser = build_serialization(m);
	json_t *res = build_resources(m);
	json_t *st = NULL;
	if (ser != NULL && res != NULL)
		st = json_pack("{s:s, s:[{s:s, s:{s:s}}], s:s, s:{s:o, s:o}}",
			       "_type", PAL_INTOTO_STATEMENT,
			       "subject", "name", m->model_name,
			       "digest", "sha256", hex,
			       "predicateType", PAL_OMS_PREDICATE,
			       "predicate", "serialization", ser,
			       "resources", res);
	else {
		json_decref(ser);
		json_decref(res);
	}
	char *s = st ? json_dumps(st, JSON_COMPACT | JSON_ENSURE_ASCII) :
		NULL;
	json_decref(st);
	if (s == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM,
				   "cannot build the statement");
	int rc = pal_buf_puts(out, s);
	free(s);
	return rc < 0 ? pal_err_set(err, rc, "statement too large") : 0;
}

/* ---- parsing ---- */

static const char *
get_str(json_t *o, const char *key, const char *where, struct pal_err *err)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v)) {
		pal_err_set(err, PAL_ERR_FORMAT, "%s: '%s' is %s", where,
			    key, v ? "not a string" : "missing");
		return NULL;
	}
	return json_string_value(v);
}

/* "path:start:end" with canonical decimals, start < end. */
static int
check_shard_name(const char *name, uint64_t shard, struct pal_err *err)
{
	const char *c2 = strrchr(name, ':');
	const char *c1 = NULL;
	for (const char *p = name; c2 != NULL && p < c2; p++)
		if (*p == ':')
			c1 = p;
	if (c1 == NULL || c1 == name)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "shard resource '%s' is not "
				   "'path:start:end'", name);
	uint64_t v[2];
	const char *s[2] = { c1 + 1, c2 + 1 };
	const char *e[2] = { c2, name + strlen(name) };
	for (int k = 0; k < 2; k++) {
		size_t len = (size_t)(e[k] - s[k]);
		if (len == 0 || len > 20 || (s[k][0] == '0' && len > 1) ||
		    strspn(s[k], "0123456789") < len)
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "shard resource '%s': bad offset",
					   name);
		char num[21];
		memcpy(num, s[k], len);
		num[len] = '\0';
		errno = 0;
		v[k] = strtoull(num, NULL, 10);
		if (errno != 0)
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "shard resource '%s': offset out "
					   "of range", name);
	}
	if (v[0] >= v[1] || v[1] - v[0] > shard || v[0] % shard != 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "shard resource '%s' does not fit shard "
				   "size %" PRIu64, name, shard);
	char *path = strndup(name, (size_t)(c1 - name));
	if (path == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	int rc = pal_manifest_check_name(path, 1, err);
	free(path);
	return rc;
}

static int
check_algorithm(const struct pal_manifest *m, const char *alg,
		const char *name, struct pal_err *err)
{
	char sharded[64];
	if (strcmp(alg, pal_hash_name(m->hash)) == 0)
		return 0;
	if (m->shard_size != 0) {
		algorithm_name(m, sharded, sizeof(sharded));
		if (strcmp(alg, sharded) == 0)
			return 0;
	}
	return pal_err_set(err, PAL_ERR_FORMAT,
			   "resource '%s': algorithm '%s' does not match "
			   "hash_type '%s'", name, alg, pal_hash_name(m->hash));
}

static int
add_resource(struct pal_manifest *m, const char *name, const char *hex,
	     struct pal_err *err)
{
	struct pal_resource *r = &m->res[m->n_res];
	uint8_t *d = NULL;
	size_t n = 0;
	int rc = pal_hex_decode(hex, strlen(hex), &d, &n, err);
	if (rc < 0)
		return pal_err_wrap(err, rc, "resource '%s' digest: ", name);
	if (n != pal_hash_size(m->hash)) {
		free(d);
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "resource '%s': digest of %zu bytes, %s "
				   "has %zu", name, n, pal_hash_name(m->hash),
				   pal_hash_size(m->hash));
	}
	memcpy(r->digest, d, n);
	r->digest_len = n;
	free(d);
	if ((r->name = strdup(name)) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	m->n_res++;
	return 0;
}

/*
 * An ignore path is relative, never climbs out, and has no glob
 * characters (OMS 6.2.1); "./" and doubled slashes are tolerated, as the
 * walk canonicalizes them.
 */
static int
check_ignore_path(const char *p, struct pal_err *err)
{
	size_t n = strlen(p);
	if (n == 0 || n > 4096 || p[0] == '/' || strpbrk(p, "*?[") != NULL ||
	    !pal_utf8_valid(p, n))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "not a relative path without glob "
				   "characters");
	for (const char *c = p; *c != '\0';) {
		size_t len = strcspn(c, "/");
		if (len == 2 && c[0] == '.' && c[1] == '.')
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "climbs out of the model");
		c += len + (c[len] == '/');
	}
	return 0;
}

static int
parse_serialization(json_t *s, struct pal_manifest *m, struct pal_err *err)
{
	const char *w = "predicate.serialization";
	if (!json_is_object(s))
		return pal_err_set(err, PAL_ERR_FORMAT, "%s: missing", w);
	const char *method = get_str(s, "method", w, err);
	const char *hash = method ? get_str(s, "hash_type", w, err) : NULL;
	if (hash == NULL)
		return err ? err->code : PAL_ERR_FORMAT;
	if (pal_hash_parse(hash, &m->hash) < 0)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s: hash_type '%s' is not supported "
				   "(sha256, blake2b)", w, hash);
	json_t *sym = json_object_get(s, "allow_symlinks");
	if (!json_is_boolean(sym))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s: allow_symlinks is not a boolean", w);
	m->allow_symlinks = json_is_true(sym);
	json_t *shard = json_object_get(s, "shard_size");
	if (strcmp(method, "shards") == 0) {
		if (!json_is_integer(shard) || json_integer_value(shard) <= 0)
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "%s: shards need a positive "
					   "shard_size", w);
		m->shard_size = (uint64_t)json_integer_value(shard);
	} else if (strcmp(method, "files") != 0 || shard != NULL) {
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s: method '%s'%s", w, method,
				   shard ? " with shard_size" :
				   " is not files or shards");
	}
	json_t *ign = json_object_get(s, "ignore_paths");
	if (ign == NULL)
		return 0;
	if (!json_is_array(ign) || json_array_size(ign) > 4096)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s: ignore_paths is not a list of paths",
				   w);
	m->ignore = calloc(json_array_size(ign) + 1, sizeof(*m->ignore));
	if (m->ignore == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	size_t i;
	json_t *v;
	json_array_foreach(ign, i, v) {
		if (!json_is_string(v))
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "%s: ignore_paths[%zu] is not a "
					   "string", w, i);
		int rc = check_ignore_path(json_string_value(v), err);
		if (rc < 0)
			return pal_err_wrap(err, rc, "%s: ignore_paths[%zu]: ",
					    w, i);
		if ((m->ignore[m->n_ignore] = strdup(json_string_value(v))) ==
		    NULL)
			return pal_err_set(err, PAL_ERR_NOMEM,
					   "out of memory");
		m->n_ignore++;
	}
	return 0;
}

static int
parse_resources(json_t *arr, struct pal_manifest *m, struct pal_err *err)
{
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > MAX_RESOURCES)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "predicate.resources: not a list of 1 to "
				   "%d resources", MAX_RESOURCES);
	m->res = calloc(json_array_size(arr), sizeof(*m->res));
	if (m->res == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	size_t i;
	json_t *r;
	json_array_foreach(arr, i, r) {
		char where[64];
		snprintf(where, sizeof(where), "predicate.resources[%zu]", i);
		if (!json_is_object(r))
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "%s: not an object", where);
		const char *name = get_str(r, "name", where, err);
		const char *alg = name ? get_str(r, "algorithm", where, err) :
			NULL;
		const char *dig = alg ? get_str(r, "digest", where, err) :
			NULL;
		if (dig == NULL)
			return err ? err->code : PAL_ERR_FORMAT;
		int rc = m->shard_size ? check_shard_name(name, m->shard_size,
							  err) :
			pal_manifest_check_name(name, 1, err);
		if (rc == 0)
			rc = check_algorithm(m, alg, name, err);
		if (rc == 0)
			rc = add_resource(m, name, dig, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
check_root(json_t *subject, const struct pal_manifest *m, struct pal_err *err)
{
	if (!json_is_array(subject) || json_array_size(subject) != 1)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "statement: subject must hold exactly one "
				   "entry");
	json_t *s = json_array_get(subject, 0);
	const char *name = get_str(s, "name", "subject[0]", err);
	json_t *dig = json_object_get(s, "digest");
	const char *want = name ? get_str(dig, "sha256", "subject[0].digest",
					  err) : NULL;
	if (want == NULL)
		return err ? err->code : PAL_ERR_FORMAT;
	if (name[0] == '\0')
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "subject[0]: empty name");
	uint8_t root[32];
	char hex[65];
	if (pal_manifest_root_digest(m, root) < 0)
		return pal_err_set(err, PAL_ERR_CRYPTO, "root digest");
	pal_hex_encode(root, sizeof(root), hex);
	if (strcmp(hex, want) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "statement: the subject's root digest %s "
				   "is not the digest of the resources (%s)",
				   want, hex);
	return 0;
}

static int
cmp_res(const void *a, const void *b)
{
	return strcmp(((const struct pal_resource *)a)->name,
		      ((const struct pal_resource *)b)->name);
}

static int
sort_unique(struct pal_manifest *m, struct pal_err *err)
{
	qsort(m->res, m->n_res, sizeof(*m->res), cmp_res);
	for (size_t i = 1; i < m->n_res; i++)
		if (strcmp(m->res[i - 1].name, m->res[i].name) == 0)
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "resource '%s' is listed twice",
					   m->res[i].name);
	return 0;
}

/* v0.1: one subject per file, sha256 only, no serialization. */
static int
parse_v01(json_t *subject, struct pal_manifest *m, struct pal_err *err)
{
	m->hash = PAL_HASH_SHA256;
	if (!json_is_array(subject) || json_array_size(subject) == 0 ||
	    json_array_size(subject) > MAX_RESOURCES)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "v0.1 statement: no subjects");
	m->res = calloc(json_array_size(subject), sizeof(*m->res));
	if (m->res == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	size_t i;
	json_t *s;
	json_array_foreach(subject, i, s) {
		char where[48];
		snprintf(where, sizeof(where), "subject[%zu]", i);
		const char *name = get_str(s, "name", where, err);
		const char *dig = name ? get_str(json_object_get(s, "digest"),
						 "sha256", where, err) : NULL;
		if (dig == NULL)
			return err ? err->code : PAL_ERR_FORMAT;
		int rc = pal_manifest_check_name(name, 1, err);
		if (rc == 0)
			rc = add_resource(m, name, dig, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
parse_statement(json_t *st, struct pal_manifest *m, int *v01,
		struct pal_err *err)
{
	const char *type = get_str(st, "_type", "statement", err);
	const char *pred = type ? get_str(st, "predicateType", "statement",
					  err) : NULL;
	if (pred == NULL)
		return err ? err->code : PAL_ERR_FORMAT;
	if (strcmp(type, PAL_INTOTO_STATEMENT) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "statement: _type '%s' is not %s", type,
				   PAL_INTOTO_STATEMENT);
	json_t *subject = json_object_get(st, "subject");
	if (strcmp(pred, PAL_OMS_PREDICATE_V01) == 0) {
		*v01 = 1;
		return parse_v01(subject, m, err);
	}
	if (strcmp(pred, PAL_OMS_PREDICATE) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "statement: predicateType '%s' is not %s",
				   pred, PAL_OMS_PREDICATE);
	json_t *p = json_object_get(st, "predicate");
	if (!json_is_object(p))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "statement: predicate missing");
	int rc = parse_serialization(json_object_get(p, "serialization"), m,
				     err);
	if (rc == 0)
		rc = parse_resources(json_object_get(p, "resources"), m, err);
	/* The root digest covers the resources in the order listed. */
	if (rc == 0)
		rc = check_root(subject, m, err);
	if (rc == 0) {
		const char *n = json_string_value(json_object_get(
			json_array_get(subject, 0), "name"));
		if ((m->model_name = strdup(n)) == NULL)
			rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	return rc;
}

int
pal_statement_parse(const uint8_t *payload, size_t len,
		    struct pal_manifest **out, int *v01, struct pal_err *err)
{
	json_error_t je;
	*v01 = 0;
	json_t *st = json_loadb((const char *)payload, len,
				JSON_REJECT_DUPLICATES, &je);
	if (st == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "statement: %s at line %d column %d",
				   je.text, je.line, je.column);
	struct pal_manifest *m = calloc(1, sizeof(*m));
	int rc = m ? 0 : pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0 && !json_is_object(st))
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "statement is not a JSON object");
	if (rc == 0)
		rc = parse_statement(st, m, v01, err);
	if (rc == 0)
		rc = sort_unique(m, err);
	if (rc == 0) {
		m->single_file = m->n_res == 1 &&
			strcmp(m->res[0].name, ".") == 0;
		for (size_t i = 0; i < m->n_res && !m->single_file; i++)
			if (strcmp(m->res[i].name, ".") == 0)
				rc = pal_err_set(err, PAL_ERR_FORMAT,
						 "resource '.' next to others");
	}
	json_decref(st);
	if (rc < 0) {
		pal_manifest_free(m);
		return rc;
	}
	*out = m;
	return 0;
}
