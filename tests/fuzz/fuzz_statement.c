/*
 * fuzz_statement.c - in-toto statements carrying OMS manifests from raw
 * bytes.  What parses must be a manifest the verifier can rely on: at
 * least one resource, names sorted and unique and canonical, digests of
 * the hash's size; and a v1.0 manifest written back and read again must
 * be the same manifest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/oms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_manifest(const struct pal_manifest *m)
{
	if (m->n_res == 0 || m->res == NULL)
		abort();
	for (size_t i = 0; i < m->n_res; i++) {
		const struct pal_resource *r = &m->res[i];

		if (r->digest_len != pal_hash_size(m->hash))
			abort();
		if (i > 0 && strcmp(m->res[i - 1].name, r->name) >= 0)
			abort();
		/* Shard names carry ":start:end" after a canonical path. */
		if (m->shard_size == 0 &&
		    pal_manifest_check_name(r->name, 1, NULL) != 0)
			abort();
		if (strcmp(r->name, ".") == 0 && m->n_res != 1)
			abort();
	}
}

/* build(parse(x)) parses to the same manifest. */
static void
round_trip(const struct pal_manifest *m)
{
	struct pal_manifest *again = NULL;
	struct pal_buf b;
	int v01 = 0;

	pal_buf_init(&b, PAL_OMS_BUNDLE_MAX);
	if (pal_statement_build(m, &b, NULL) != 0)
		abort();
	if (pal_statement_parse(b.p, b.len, &again, &v01, NULL) != 0)
		abort();
	if (v01 || again->n_res != m->n_res || again->hash != m->hash ||
	    again->shard_size != m->shard_size ||
	    again->allow_symlinks != m->allow_symlinks ||
	    again->n_ignore != m->n_ignore ||
	    strcmp(again->model_name, m->model_name) != 0 ||
	    pal_manifest_compare(m, again, NULL, 0) != 0)
		abort();
	for (size_t i = 0; i < m->n_ignore; i++)
		if (strcmp(again->ignore[i], m->ignore[i]) != 0)
			abort();
	pal_manifest_free(again);
	pal_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_manifest *m = NULL;
	struct pal_err err;
	int v01 = 0;

	if (pal_statement_parse(data, size, &m, &v01, &err) != 0)
		return 0;
	check_manifest(m);
	if (!v01)
		round_trip(m);
	pal_manifest_free(m);
	return 0;
}
