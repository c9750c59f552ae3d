/*
 * cmd_log.c - palisade log: the deployment's transparency log.
 *
 *	palisade log init DIR --origin NAME [--pkcs11 URI]
 *	palisade log append DIR [FILE|-]
 *	palisade log checkpoint DIR
 *	palisade log get DIR --index N
 *	palisade log verify DIR [--vkey FILE]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "palisade/file.h"
#include "palisade/tile.h"
#include "palisade/tlog.h"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: palisade log COMMAND DIR [OPTIONS]\n\n"
		"  init DIR --origin NAME [--pkcs11 URI]  create a log and its "
		"Ed25519 key\n"
		"  append DIR [FILE|-]                    append one entry, "
		"print its index\n"
		"  checkpoint DIR                         print the signed "
		"checkpoint\n"
		"  get DIR --index N                      print entry N\n"
		"  verify DIR [--vkey FILE]               recompute and check "
		"the whole log\n\n"
		"Every command takes --json.\n");
}

static void
fail(const char *cmd, const struct pal_err *err)
{
	fprintf(stderr, "palisade log %s: ", cmd);
	cli_put_safe(stderr, err->msg);
	fputc('\n', stderr);
}

static int
parse_index(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

struct opts {
	const char *origin, *pkcs11, *vkey, *index;
	int json;
};

static int
parse(int argc, char **argv, struct opts *o)
{
	enum { O_ORIGIN = 0x100, O_PKCS11, O_VKEY, O_INDEX, O_JSON };
	static const struct option longopts[] = {
		{ "origin", required_argument, NULL, O_ORIGIN },
		{ "pkcs11", required_argument, NULL, O_PKCS11 },
		{ "vkey", required_argument, NULL, O_VKEY },
		{ "index", required_argument, NULL, O_INDEX },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_ORIGIN: o->origin = optarg; break;
		case O_PKCS11: o->pkcs11 = optarg; break;
		case O_VKEY: o->vkey = optarg; break;
		case O_INDEX: o->index = optarg; break;
		case O_JSON: o->json = 1; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	return 0;
}

static int
do_init(const char *dir, const struct opts *o)
{
	struct pal_err err = { 0 };
	if (o->origin == NULL) {
		fprintf(stderr, "palisade log init: --origin is required\n");
		return CLI_ERROR;
	}
	if (pal_log_init(dir, o->origin, o->pkcs11, &err) < 0) {
		fail("init", &err);
		return CLI_ERROR;
	}
	if (o->json)
		printf("{\"created\": true}\n");
	else
		printf("created log %s in %s\n", o->origin, dir);
	return CLI_OK;
}

/* The entry: a file, or standard input. */
static int
read_entry(const char *src, uint8_t **data, size_t *len, struct pal_err *err)
{
	if (src != NULL && strcmp(src, "-") != 0)
		return pal_file_read(src, PAL_ENTRY_MAX, data, len, err);
	struct pal_buf b;
	pal_buf_init(&b, PAL_ENTRY_MAX);
	uint8_t chunk[4096];
	size_t n;
	int rc = 0;
	while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		rc = pal_buf_append(&b, chunk, n);
	if (rc < 0 || ferror(stdin)) {
		pal_buf_free(&b);
		return pal_err_set(err, rc < 0 ? PAL_ERR_LIMIT : PAL_ERR_IO,
				   "standard input: %s", rc < 0 ?
				   "entry larger than 65535 bytes" :
				   "read error");
	}
	*data = pal_buf_steal(&b, len);
	return 0;
}

static int
do_append(const char *dir, const char *src, const struct opts *o)
{
	struct pal_err err = { 0 };
	uint8_t *data = NULL;
	size_t len = 0;
	uint64_t index = 0;
	struct pal_log *l = NULL;
	int rc = read_entry(src, &data, &len, &err);
	if (rc == 0)
		rc = pal_log_open_dir(dir, &l, &err);
	if (rc == 0)
		rc = pal_log_append(l, data, len, &index, &err);
	if (rc == 0)
		rc = pal_log_publish(l, &err);
	if (l != NULL && pal_log_close(l, rc == 0 ? &err : NULL) < 0 &&
	    rc == 0)
		rc = -1;
	free(data);
	if (rc < 0) {
		fail("append", &err);
		return CLI_ERROR;
	}
	if (o->json)
		printf("{\"index\": %" PRIu64 "}\n", index);
	else
		printf("%" PRIu64 "\n", index);
	return CLI_OK;
}

static int
do_checkpoint(const char *dir, const struct opts *o)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	struct pal_err err = { 0 };
	uint8_t *data = NULL;
	size_t len = 0;
	if (pal_file_read(path, 65536, &data, &len, &err) < 0) {
		fail("checkpoint", &err);
		return CLI_ERROR;
	}
	if (o->json) {
		json_t *j = json_pack("{s:s%}", "checkpoint", (char *)data,
				      len);
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else {
		fwrite(data, 1, len, stdout);
	}
	free(data);
	return CLI_OK;
}

static int
do_get(const char *dir, const struct opts *o)
{
	uint64_t index;
	if (o->index == NULL || parse_index(o->index, &index) < 0) {
		fprintf(stderr, "palisade log get: --index N is required\n");
		return CLI_ERROR;
	}
	struct pal_err err = { 0 };
	uint8_t *data = NULL;
	size_t len = 0;
	if (pal_log_get(dir, index, &data, &len, &err) < 0) {
		fail("get", &err);
		return CLI_ERROR;
	}
	if (o->json) {
		json_t *j = json_pack("{s:I, s:s%}", "index",
				      (json_int_t)index, "entry",
				      (char *)data, len);
		if (j == NULL)	/* not UTF-8: give it as base64 later */
			j = json_pack("{s:I, s:n}", "index",
				      (json_int_t)index, "entry");
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else {
		fwrite(data, 1, len, stdout);
		if (len > 0 && data[len - 1] != '\n')
			putchar('\n');
	}
	free(data);
	return CLI_OK;
}

static int
do_verify(const char *dir, const struct opts *o)
{
	struct pal_err err = { 0 };
	struct pal_log_verify_report r;
	uint8_t *vk = NULL;
	size_t len = 0;
	int rc = 0;
	if (o->vkey != NULL) {
		rc = pal_file_read(o->vkey, 4096, &vk, &len, &err);
		while (rc == 0 && len > 0 && vk[len - 1] == '\n')
			vk[--len] = '\0';
	}
	if (rc == 0)
		rc = pal_log_verify(dir, (const char *)vk, &r, &err);
	free(vk);
	if (o->json) {
		json_t *j = json_pack("{s:b, s:I, s:I, s:s?}", "verified",
				      rc == 0, "size", (json_int_t)r.size,
				      "checkpoints", (json_int_t)r.checkpoints,
				      "error", rc == 0 ? NULL : err.msg);
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else if (rc == 0) {
		printf("verified %s: %" PRIu64 " entries, %" PRIu64
		       " checkpoints consistent, every tile recomputed\n",
		       r.origin, r.size, r.checkpoints);
	} else {
		fputs("FAILED ", stdout);
		cli_put_safe(stdout, err.msg);
		putchar('\n');
	}
	if (rc == 0)
		return CLI_OK;
	return rc == PAL_ERR_VERIFY || rc == PAL_ERR_FORMAT ? CLI_FINDING :
		CLI_ERROR;
}

int
cmd_log(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_ERROR : CLI_OK;
	}
	const char *cmd = argv[1];
	struct opts o = { 0 };
	int rc = parse(argc - 1, argv + 1, &o);
	if (rc != 0)
		return rc > 0 ? CLI_OK : CLI_ERROR;
	int rest = argc - 1 - optind;
	char **args = argv + 1 + optind;
	if (rest < 1) {
		fprintf(stderr, "palisade log %s: DIR expected\n", cmd);
		return CLI_ERROR;
	}
	if (strcmp(cmd, "init") == 0 && rest == 1)
		return do_init(args[0], &o);
	if (strcmp(cmd, "append") == 0 && rest <= 2)
		return do_append(args[0], rest == 2 ? args[1] : NULL, &o);
	if (strcmp(cmd, "checkpoint") == 0 && rest == 1)
		return do_checkpoint(args[0], &o);
	if (strcmp(cmd, "get") == 0 && rest == 1)
		return do_get(args[0], &o);
	if (strcmp(cmd, "verify") == 0 && rest == 1)
		return do_verify(args[0], &o);
	fprintf(stderr, "palisade log: unknown command or arguments: %s\n",
		cmd);
	usage(stderr);
	return CLI_ERROR;
}
