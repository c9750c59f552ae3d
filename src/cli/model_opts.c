/*
 * model_opts.c - parsing the options shared by hash, sign and verify.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "model_opts.h"
#include "palisade/tlog.h"

static int
parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' ||
	    v == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

int
model_opt(struct model_opts *o, int c, const char *arg, const char *cmd)
{
	unsigned long long v;
	switch (c) {
	case OPT_HASH:
		if (pal_hash_parse(arg, &o->m.hash) == 0)
			return 0;
		fprintf(stderr, "palisade %s: --hash: '%s' is not sha256 or "
			"blake2b\n", cmd, arg);
		return -1;
	case OPT_SHARD:
		if (parse_u64(arg, 1ULL << 62, &v) == 0) {
			o->m.shard_size = v;
			return 0;
		}
		fprintf(stderr, "palisade %s: --shard-size: '%s' is not a "
			"positive byte count\n", cmd, arg);
		return -1;
	case OPT_SYMLINKS:
		o->m.allow_symlinks = 1;
		return 0;
	case OPT_IGNORE:
		if (o->m.n_ignore == MODEL_OPTS_MAX_IGNORE) {
			fprintf(stderr, "palisade %s: more than %d "
				"--ignore-path\n", cmd, MODEL_OPTS_MAX_IGNORE);
			return -1;
		}
		o->ignore[o->m.n_ignore++] = arg;
		o->m.ignore = o->ignore;
		return 0;
	case OPT_THREADS:
		if (parse_u64(arg, 64, &v) == 0) {
			o->m.threads = (int)v;
			return 0;
		}
		fprintf(stderr, "palisade %s: --threads: '%s' is not 1 to "
			"64\n", cmd, arg);
		return -1;
	case OPT_JSON:
		o->json = 1;
		return 0;
	case OPT_LOG:
		o->log = arg;
		return 0;
	}
	return 1;
}

int
model_log(const struct model_opts *o, const char *cmd, const char *type,
	  const char *root_hex, const char *details_json)
{
	if (o->log == NULL)
		return 0;
	char subject[80];
	if (root_hex != NULL)
		snprintf(subject, sizeof(subject), "sha256:%s", root_hex);
	struct pal_err err = { 0 };
	uint64_t index;
	if (pal_log_record(o->log, type, "cli", root_hex ? subject : NULL,
			   details_json, &index, &err) < 0) {
		fprintf(stderr, "palisade %s: log: ", cmd);
		cli_put_safe(stderr, err.msg);
		fputc('\n', stderr);
		return -1;
	}
	fprintf(stderr, "palisade %s: logged as entry %llu of %s\n", cmd,
		(unsigned long long)index, o->log);
	return 0;
}
