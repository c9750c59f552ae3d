/*
 * cmd_hash.c - palisade hash: the OMS manifest of a model.
 *
 * Text output is one "DIGEST  NAME" line per resource, the format
 * sha256sum -c reads, after a comment line with the root digest.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "model_opts.h"
#include "palisade/encoding.h"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: palisade hash [OPTIONS] PATH\n\n"
		"Prints the OpenSSF model-signing manifest of a model file or "
		"directory:\nevery file's digest and the root digest.\n\n"
		MODEL_OPTS_HELP);
}

static int
print_json(const struct pal_manifest *m, const char *root)
{
	json_t *res = json_array();
	char hex[2 * PAL_DIGEST_MAX + 1];
	for (size_t i = 0; res != NULL && i < m->n_res; i++) {
		pal_hex_encode(m->res[i].digest, m->res[i].digest_len, hex);
		json_array_append_new(res, json_pack("{s:s, s:s}", "name",
				      m->res[i].name, "digest", hex));
	}
	json_t *ign = json_array();
	for (size_t i = 0; ign != NULL && i < m->n_ignore; i++)
		json_array_append_new(ign, json_string(m->ignore[i]));
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:I, s:b, s:o, s:I, "
				"s:o}",
				"model", m->model_name, "root_digest", root,
				"method", m->shard_size ? "shards" : "files",
				"hash_type", pal_hash_name(m->hash),
				"shard_size", (json_int_t)m->shard_size,
				"allow_symlinks", m->allow_symlinks,
				"ignore_paths", ign,
				"bytes", (json_int_t)m->total_bytes,
				"resources", res);
	if (doc == NULL)
		return -1;
	int rc = json_dumpf(doc, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(doc);
	return rc;
}

static void
print_text(const struct pal_manifest *m, const char *root)
{
	char hex[2 * PAL_DIGEST_MAX + 1];
	fputs("# ", stdout);
	cli_put_safe(stdout, m->model_name);
	printf(": %s, %s, %zu resource%s, %llu bytes, root sha256:%s\n",
	       m->shard_size ? "shards" : "files",
	       pal_hash_name(m->hash), m->n_res, m->n_res == 1 ? "" : "s",
	       (unsigned long long)m->total_bytes, root);
	for (size_t i = 0; i < m->n_res; i++) {
		pal_hex_encode(m->res[i].digest, m->res[i].digest_len, hex);
		printf("%s  ", hex);
		cli_put_safe(stdout, m->res[i].name);
		putchar('\n');
	}
}

int
cmd_hash(int argc, char **argv)
{
	static const struct option longopts[] = {
		MODEL_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct model_opts o;
	memset(&o, 0, sizeof(o));
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return CLI_OK;
		}
		if (model_opt(&o, c, optarg, "hash") != 0) {
			if (c == '?')
				usage(stderr);
			return CLI_ERROR;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return CLI_ERROR;
	}
	struct pal_manifest *m = NULL;
	struct pal_err err = { 0 };
	if (pal_manifest_compute(argv[optind], &o.m, &m, &err) < 0) {
		fputs("palisade hash: ", stderr);
		cli_put_safe(stderr, err.msg);
		fputc('\n', stderr);
		return CLI_ERROR;
	}
	uint8_t root[32];
	char hex[65];
	int rc = pal_manifest_root_digest(m, root);
	pal_hex_encode(root, sizeof(root), hex);
	if (rc == 0 && o.json)
		rc = print_json(m, hex);
	else if (rc == 0)
		print_text(m, hex);
	if (rc == 0 && o.log != NULL) {
		json_t *d = json_pack("{s:s, s:I}", "model", argv[optind],
				      "resources", (json_int_t)m->n_res);
		char *dj = d ? json_dumps(d, JSON_COMPACT) : NULL;
		if (model_log(&o, "hash", "model.hash", hex, dj) < 0)
			rc = -2;
		free(dj);
		json_decref(d);
	}
	pal_manifest_free(m);
	if (rc == -2)
		return CLI_ERROR;
	if (rc != 0 || fflush(stdout) != 0) {
		fprintf(stderr, "palisade hash: cannot write the manifest\n");
		return CLI_ERROR;
	}
	return CLI_OK;
}
