/*
 * cmd_log.c - palisade log: the deployment's transparency log.
 *
 *	palisade log init DIR --origin NAME [--pkcs11 URI]
 *	palisade log append DIR [FILE|-]
 *	palisade log checkpoint DIR
 *	palisade log get DIR --index N
 *	palisade log verify DIR [--vkey FILE]
 *	palisade log prove DIR --index N [--size M]
 *	palisade log consistency DIR --from M [--to N]
 *	palisade log verify-proof PROOF --vkey FILE [--entry FILE]
 *	palisade log export DIR DEST
 *	palisade log verify DIR --mirror DEST
 *	palisade log witness-key NAME --key FILE
 *	palisade log cosign DIR --key FILE --state FILE
 *	(verify and verify-proof take --witnesses POLICY)
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
#include "palisade/cosig.h"
#include "palisade/encoding.h"
#include "palisade/note_sign.h"
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
		"the whole log\n"
		"  verify DIR --mirror M                  ... and that mirror M "
		"agrees with it\n"
		"  export DIR DEST                        copy new tiles and "
		"checkpoints to DEST\n"
		"  witness-key NAME --key FILE            a new witness key "
		"(prints its vkey)\n"
		"  cosign DIR --key FILE --state FILE     cosign the latest "
		"checkpoint as a witness\n"
		"  (verify and verify-proof take --witnesses POLICY: a Sigsum "
		"witness policy)\n"
		"  prove DIR --index N [--size M]         inclusion proof "
		"(c2sp.org/tlog-proof)\n"
		"  consistency DIR --from M [--to N]      consistency proof "
		"between checkpoints\n"
		"  verify-proof PROOF --vkey FILE [--entry FILE]\n"
		"                                         check a proof "
		"offline\n\n"
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
	const char *origin, *pkcs11, *vkey, *index, *size, *from, *to, *entry;
	const char *mirror, *key, *state, *witnesses;
	int json;
};

static int
parse(int argc, char **argv, struct opts *o)
{
	enum { O_ORIGIN = 0x100, O_PKCS11, O_VKEY, O_INDEX, O_JSON, O_SIZE,
	       O_FROM, O_TO, O_ENTRY, O_MIRROR, O_KEY, O_STATE, O_WITNESSES };
	static const struct option longopts[] = {
		{ "origin", required_argument, NULL, O_ORIGIN },
		{ "pkcs11", required_argument, NULL, O_PKCS11 },
		{ "vkey", required_argument, NULL, O_VKEY },
		{ "index", required_argument, NULL, O_INDEX },
		{ "json", no_argument, NULL, O_JSON },
		{ "size", required_argument, NULL, O_SIZE },
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ "entry", required_argument, NULL, O_ENTRY },
		{ "mirror", required_argument, NULL, O_MIRROR },
		{ "key", required_argument, NULL, O_KEY },
		{ "state", required_argument, NULL, O_STATE },
		{ "witnesses", required_argument, NULL, O_WITNESSES },
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
		case O_SIZE: o->size = optarg; break;
		case O_FROM: o->from = optarg; break;
		case O_TO: o->to = optarg; break;
		case O_ENTRY: o->entry = optarg; break;
		case O_MIRROR: o->mirror = optarg; break;
		case O_KEY: o->key = optarg; break;
		case O_STATE: o->state = optarg; break;
		case O_WITNESSES: o->witnesses = optarg; break;
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
	struct pal_log_verify_report m = { 0 };
	if (rc == 0 && o->mirror != NULL)
		rc = pal_log_compare(dir, o->mirror, &r, &m, &err);
	else if (rc == 0)
		rc = pal_log_verify(dir, (const char *)vk, &r, &err);
	free(vk);
	struct pal_witness_policy *wp = NULL;
	if (rc == 0 && o->witnesses != NULL) {
		rc = pal_witness_policy_load(o->witnesses, &wp, &err);
		if (rc == 0)
			rc = pal_log_check_witnesses(dir, wp, &err);
		pal_witness_policy_free(wp);
	}
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
		if (o->mirror != NULL)
			printf("mirror %s: %" PRIu64 " entries, verified, and "
			       "the same tree\n", o->mirror, m.size);
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

/* An optional decimal option: 0 when absent. */
static int
opt_u64(const char *cmd, const char *name, const char *s, uint64_t *out)
{
	*out = 0;
	if (s != NULL && parse_index(s, out) < 0) {
		fprintf(stderr, "palisade log %s: --%s: '%s' is not a "
			"number\n", cmd, name, s);
		return -1;
	}
	return 0;
}

static int
do_prove(const char *dir, const struct opts *o)
{
	uint64_t index, size;
	if (o->index == NULL || parse_index(o->index, &index) < 0) {
		fprintf(stderr, "palisade log prove: --index N is required\n");
		return CLI_ERROR;
	}
	if (opt_u64("prove", "size", o->size, &size) < 0)
		return CLI_ERROR;
	struct pal_err err = { 0 };
	struct pal_buf b;
	pal_buf_init(&b, 1 << 20);
	int rc = pal_log_prove(dir, index, size, &b, &err);
	if (rc < 0) {
		fail("prove", &err);
	} else if (o->json) {
		json_t *j = json_pack("{s:I, s:s%}", "index", (json_int_t)index,
				      "proof", (char *)b.p, b.len);
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else {
		fwrite(b.p, 1, b.len, stdout);
	}
	pal_buf_free(&b);
	return rc < 0 ? CLI_ERROR : CLI_OK;
}

static void
print_b64(const uint8_t *h, struct pal_buf *b)
{
	pal_buf_reset(b);
	if (pal_base64_encode(h, PAL_MERKLE_HASH_LEN, b) == 0 &&
	    pal_buf_putc(b, '\0') == 0)
		fputs((const char *)b->p, stdout);
}

static int
do_consistency(const char *dir, const struct opts *o)
{
	uint64_t from, to;
	if (o->from == NULL || opt_u64("consistency", "from", o->from,
				       &from) < 0 ||
	    opt_u64("consistency", "to", o->to, &to) < 0) {
		if (o->from == NULL)
			fprintf(stderr, "palisade log consistency: --from M "
				"is required\n");
		return CLI_ERROR;
	}
	uint8_t proof[PAL_MERKLE_MAX_PROOF][PAL_MERKLE_HASH_LEN];
	uint8_t r1[PAL_MERKLE_HASH_LEN], r2[PAL_MERKLE_HASH_LEN];
	size_t n = 0;
	struct pal_err err = { 0 };
	int rc = pal_log_consistency(dir, from, &to, proof, &n, r1, r2, &err);
	if (rc < 0) {
		fail("consistency", &err);
		return rc == PAL_ERR_VERIFY ? CLI_FINDING : CLI_ERROR;
	}
	struct pal_buf b;
	pal_buf_init(&b, 256);
	if (o->json) {
		printf("{\"from\": %" PRIu64 ", \"to\": %" PRIu64
		       ", \"proof\": [", from, to);
		for (size_t i = 0; i < n; i++) {
			printf("%s\"", i ? ", " : "");
			print_b64(proof[i], &b);
			putchar('"');
		}
		printf("]}\n");
	} else {
		/* The sizes and roots, then one proof hash per line. */
		printf("consistency %" PRIu64 " %" PRIu64 "\nroot %" PRIu64
		       " ", from, to, from);
		print_b64(r1, &b);
		printf("\nroot %" PRIu64 " ", to);
		print_b64(r2, &b);
		putchar('\n');
		for (size_t i = 0; i < n; i++) {
			print_b64(proof[i], &b);
			putchar('\n');
		}
	}
	pal_buf_free(&b);
	return CLI_OK;
}

static int
do_verify_proof(const char *file, const struct opts *o)
{
	struct pal_err err = { 0 };
	uint8_t *proof = NULL, *vkey = NULL, *entry = NULL, *got = NULL;
	size_t plen = 0, vlen = 0, elen = 0, glen = 0;
	uint64_t index = 0;
	if (o->vkey == NULL) {
		fprintf(stderr, "palisade log verify-proof: --vkey FILE is "
			"required\n");
		return CLI_ERROR;
	}
	int rc = pal_file_read(file, 1 << 21, &proof, &plen, &err);
	if (rc == 0)
		rc = pal_file_read(o->vkey, 4096, &vkey, &vlen, &err);
	while (rc == 0 && vlen > 0 && vkey[vlen - 1] == '\n')
		vkey[--vlen] = '\0';
	if (rc == 0 && o->entry != NULL)
		rc = read_entry(o->entry, &entry, &elen, &err);
	int ran = rc == 0;
	struct pal_witness_policy *wp = NULL;
	if (rc == 0 && o->witnesses != NULL)
		rc = pal_witness_policy_load(o->witnesses, &wp, &err);
	ran = rc == 0;
	if (rc == 0)
		rc = pal_log_verify_proof_witnessed(proof, plen,
						    (const char *)vkey, wp,
						    entry, elen, &index, &got,
						    &glen, &err);
	pal_witness_policy_free(wp);
	if (rc == 0 && o->json) {
		json_t *j = json_pack("{s:b, s:I}", "verified", 1, "index",
				      (json_int_t)index);
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else if (rc == 0) {
		printf("verified: entry %" PRIu64 " is in the log: ", index);
		char *s = malloc(glen + 1);
		if (s != NULL) {
			memcpy(s, got, glen);
			s[glen] = '\0';
			cli_put_safe(stdout, s);
			free(s);
		}
		putchar('\n');
	} else if (ran) {
		fputs("FAILED ", stdout);
		cli_put_safe(stdout, err.msg);
		putchar('\n');
	} else {
		fail("verify-proof", &err);
	}
	free(proof);
	free(vkey);
	free(entry);
	free(got);
	if (rc == 0)
		return CLI_OK;
	return ran ? CLI_FINDING : CLI_ERROR;
}

static int
do_export(const char *dir, const char *dest, const struct opts *o)
{
	struct pal_err err = { 0 };
	uint64_t copied = 0;
	int rc = pal_log_export(dir, dest, &copied, &err);
	if (rc < 0) {
		fail("export", &err);
		return rc == PAL_ERR_VERIFY ? CLI_FINDING : CLI_ERROR;
	}
	if (o->json)
		printf("{\"copied\": %" PRIu64 "}\n", copied);
	else
		printf("exported %s to %s: %" PRIu64 " new files\n", dir, dest,
		       copied);
	return CLI_OK;
}

static int
do_witness_key(const char *name, const struct opts *o)
{
	struct pal_err err = { 0 };
	char *skey = NULL, *vkey = NULL, *wkey = NULL;
	struct pal_note_signer *s = NULL;
	struct pal_cosig_verifier *w = NULL;
	if (o->key == NULL) {
		fprintf(stderr, "palisade log witness-key: --key FILE is "
			"required\n");
		return CLI_ERROR;
	}
	int rc = pal_note_key_generate(name, &skey, &vkey, &err);
	if (rc == 0)
		rc = pal_note_signer_from_skey(skey, strlen(skey), &s, &err);
	if (rc == 0)
		rc = pal_cosig_verifier_new(name, s->pub, &w, &err);
	if (rc == 0)
		rc = pal_cosig_verifier_vkey(w, &wkey, &err);
	if (rc == 0) {
		struct pal_buf b;
		pal_buf_init(&b, 4096);
		rc = pal_buf_printf(&b, "%s\n", skey) == 0 ?
			pal_file_write_atomic(o->key, b.p, b.len, 0600, &err) :
			pal_err_set(&err, PAL_ERR_NOMEM, "out of memory");
		pal_buf_free_secret(&b);
	}
	if (rc == 0)
		printf("%s\n", wkey);
	else
		fail("witness-key", &err);
	pal_note_skey_free(skey);
	free(vkey);
	free(wkey);
	pal_cosig_verifier_free(w);
	pal_note_signer_free(s);
	return rc == 0 ? CLI_OK : CLI_ERROR;
}

static int
do_cosign(const char *dir, const struct opts *o)
{
	struct pal_err err = { 0 };
	struct pal_note_signer *s = NULL;
	if (o->key == NULL || o->state == NULL) {
		fprintf(stderr, "palisade log cosign: --key FILE and --state "
			"FILE are required\n");
		return CLI_ERROR;
	}
	int rc = pal_note_signer_load(o->key, &s, &err);
	if (rc == 0)
		rc = pal_log_cosign(dir, s, o->state, &err);
	pal_note_signer_free(s);
	if (rc < 0) {
		fail("cosign", &err);
		return rc == PAL_ERR_VERIFY ? CLI_FINDING : CLI_ERROR;
	}
	if (!o->json)
		printf("cosigned the checkpoint of %s\n", dir);
	return CLI_OK;
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
	if (strcmp(cmd, "witness-key") == 0 && rest == 1)
		return do_witness_key(args[0], &o);
	if (strcmp(cmd, "cosign") == 0 && rest == 1)
		return do_cosign(args[0], &o);
	if (strcmp(cmd, "export") == 0 && rest == 2)
		return do_export(args[0], args[1], &o);
	if (strcmp(cmd, "prove") == 0 && rest == 1)
		return do_prove(args[0], &o);
	if (strcmp(cmd, "consistency") == 0 && rest == 1)
		return do_consistency(args[0], &o);
	if (strcmp(cmd, "verify-proof") == 0 && rest == 1)
		return do_verify_proof(args[0], &o);
	fprintf(stderr, "palisade log: unknown command or arguments: %s\n",
		cmd);
	usage(stderr);
	return CLI_ERROR;
}
