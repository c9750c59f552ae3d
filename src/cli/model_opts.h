/*
 * model_opts.h - the options hash, sign and verify share: how a model is
 * enumerated and hashed.
 */
#ifndef PALISADE_CLI_MODEL_OPTS_H
#define PALISADE_CLI_MODEL_OPTS_H

#include <getopt.h>

#include "palisade/manifest.h"

#define MODEL_OPTS_MAX_IGNORE 256

struct model_opts {
	struct pal_manifest_opts m;
	const char *ignore[MODEL_OPTS_MAX_IGNORE];
	int json;
	const char *log;		/* --log DIR: record the outcome */
};

/* getopt_long values of the shared options (above any short option). */
enum {
	OPT_HASH = 0x100, OPT_SHARD, OPT_SYMLINKS, OPT_IGNORE, OPT_THREADS,
	OPT_JSON, OPT_LOG,
};

#define MODEL_LONG_OPTIONS \
	{ "hash", required_argument, NULL, OPT_HASH }, \
	{ "shard-size", required_argument, NULL, OPT_SHARD }, \
	{ "allow-symlinks", no_argument, NULL, OPT_SYMLINKS }, \
	{ "ignore-path", required_argument, NULL, OPT_IGNORE }, \
	{ "threads", required_argument, NULL, OPT_THREADS }, \
	{ "json", no_argument, NULL, OPT_JSON }, \
	{ "log", required_argument, NULL, OPT_LOG }

/*
 * Records an outcome in the log at o->log (when set): type, the model's
 * root digest as subject (may be NULL), details as a JSON object.
 * Prints the entry's index to stderr; returns 0 or -1 after a message.
 */
int model_log(const struct model_opts *o, const char *cmd, const char *type,
	      const char *root_hex, const char *details_json);

/* Handles one shared option; 0 when used, -1 on a bad value, 1 if not ours. */
int model_opt(struct model_opts *o, int c, const char *arg, const char *cmd);

#define MODEL_OPTS_HELP \
	"  --hash ALG          sha256 (default) or blake2b\n" \
	"  --shard-size N      hash N-byte shards instead of whole files\n" \
	"  --allow-symlinks    follow symlinks that stay inside the model\n" \
	"  --ignore-path P     leave P (relative to the model) out; repeatable\n" \
	"  --threads N         hashing threads (default: one per CPU)\n" \
	"  --json              machine-readable output\n" \
	"  --log DIR           record the outcome in the transparency log DIR\n"

#endif
