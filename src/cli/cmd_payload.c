/*
 * cmd_payload.c - palisade payload: read the request and response bodies
 * the gateway sealed to the operator's key (docs/formats/payload.md).
 *
 *	palisade payload LOGDIR --index N --key PRIVATE.pem [--json]
 *	palisade payload --entry FILE|- --key PRIVATE.pem [--json]
 *	    [--part NAME]	write that part's bytes, unescaped, to stdout
 *
 * Exit: 0 opened, and every whole part matches the record's digest;
 * 1 the payload does not open or does not match (wrong key, altered,
 * malformed); 2 could not run (usage, I/O, no such entry, no payload).
 *
 * The bodies are the clients' and the model's text: printed escaped
 * (control bytes, invalid UTF-8) unless --part asks for the raw bytes,
 * and every copy this process makes is wiped when done, including
 * Jansson's (its allocator is replaced for the command).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "palisade/encoding.h"
#include "palisade/file.h"
#include "palisade/payload.h"
#include "palisade/text.h"
#include "palisade/tile.h"
#include "palisade/tlog.h"

struct opts {
	const char *dir, *index, *entry, *key, *part;
	int json;
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: palisade payload LOGDIR --index N --key "
		"PRIVATE.pem [--json] [--part NAME]\n"
		"       palisade payload --entry FILE|- --key PRIVATE.pem "
		"[--json] [--part NAME]\n\n"
		"Opens the request and response bodies a serve.request record "
		"holds, sealed to\nthe operator's key (log.payloads: "
		"encrypted), and checks them against the\nrecord's digests.  "
		"--part NAME writes one part's bytes as they are.\n"
		"Exit 0: opened and matching; 1: wrong key, altered or "
		"malformed; 2: could not run.\n");
}

static int
parse(int argc, char **argv, struct opts *o)
{
	enum { O_INDEX = 0x100, O_ENTRY, O_KEY, O_PART, O_JSON };
	static const struct option longopts[] = {
		{ "index", required_argument, NULL, O_INDEX },
		{ "entry", required_argument, NULL, O_ENTRY },
		{ "key", required_argument, NULL, O_KEY },
		{ "part", required_argument, NULL, O_PART },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_INDEX: o->index = optarg; break;
		case O_ENTRY: o->entry = optarg; break;
		case O_KEY: o->key = optarg; break;
		case O_PART: o->part = optarg; break;
		case O_JSON: o->json = 1; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc)
		o->dir = argv[optind++];
	if (optind != argc || o->key == NULL ||
	    (o->dir == NULL) == (o->entry == NULL) ||
	    (o->dir != NULL) != (o->index != NULL) ||
	    (o->part != NULL && o->json)) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* ---- Jansson's copies of the bodies are wiped too ---- */

static void *
wiping_malloc(size_t n)
{
	size_t *p = n < SIZE_MAX - sizeof(size_t) ? malloc(sizeof(size_t) + n)
						  : NULL;

	if (p == NULL)
		return NULL;
	*p = n;
	return p + 1;
}

static void
wiping_free(void *q)
{
	size_t *p = q;

	if (p == NULL)
		return;
	p--;
	OPENSSL_cleanse(p + 1, *p);
	free(p);
}

/* ---- the entry ---- */

static int
read_stdin(uint8_t **data, size_t *len, struct pal_err *err)
{
	struct pal_buf b;
	uint8_t chunk[4096];
	size_t n;
	int rc = 0;

	pal_buf_init(&b, PAL_ENTRY_MAX);
	while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		rc = pal_buf_append(&b, chunk, n);
	if (rc < 0 || ferror(stdin)) {
		pal_buf_free(&b);
		return pal_err_set(err, rc < 0 ? PAL_ERR_LIMIT : PAL_ERR_IO,
				   "standard input: %s", rc < 0 ?
				   "larger than a log entry (65535 bytes)" :
				   "read error");
	}
	*data = pal_buf_steal(&b, len);
	return 0;
}

static int
read_entry(const struct opts *o, uint8_t **data, size_t *len,
	   struct pal_err *err)
{
	char *end;
	unsigned long long index;

	if (o->entry != NULL)
		return strcmp(o->entry, "-") == 0
			       ? read_stdin(data, len, err)
			       : pal_file_read(o->entry, PAL_ENTRY_MAX, data,
					       len, err);
	errno = 0;
	index = strtoull(o->index, &end, 10);
	if (errno != 0 || end == o->index || *end != '\0' ||
	    o->index[0] == '-')
		return pal_err_set(err, PAL_ERR_INVALID, "--index: '%s' is "
				   "not an entry number", o->index);
	return pal_log_get(o->dir, index, data, len, err);
}

/* ---- output ---- */

static const char *
alg_name(enum pal_payload_alg alg)
{
	return alg == PAL_PAYLOAD_X25519 ? "X25519"
	       : alg == PAL_PAYLOAD_P256 ? "P-256"
					 : "RSA-OAEP";
}

static const char *
check_name(enum pal_payload_check c)
{
	return c == PAL_PAYLOAD_MATCHES	    ? "matches"
	       : c == PAL_PAYLOAD_TRUNCATED ? "truncated"
					    : "unchecked";
}

/* A record detail for the summary line, or "-". */
static const char *
detail(json_t *entry, const char *name)
{
	json_t *v = json_object_get(json_object_get(entry, "details"), name);

	return json_is_string(v) ? json_string_value(v) : "-";
}

/* The body escaped line by line, so that SSE events stay readable. */
static void
put_body(const struct pal_payload_view *v)
{
	struct pal_buf b;
	size_t start = 0;

	pal_buf_init(&b, 4 * v->len + 16);
	for (size_t i = 0; i <= v->len; i++) {
		if (i < v->len && v->data[i] != '\n')
			continue;
		/* A body ending with a newline ends there. */
		if (i == v->len && start == v->len && i > 0)
			break;
		if (pal_text_escape(&b, (const char *)v->data + start,
				    i - start) < 0 ||
		    pal_buf_putc(&b, '\n') < 0)
			break;
		start = i + 1;
	}
	if (b.p != NULL)
		fwrite(b.p, 1, b.len, stdout);
	pal_buf_free_secret(&b);
}

static void
print_text(const struct pal_payload_record *rec, const struct opts *o)
{
	const struct pal_payload_opened *op = rec->opened;
	json_t *st = json_object_get(json_object_get(rec->entry, "details"),
				     "status");
	char id[65];

	if (o->dir != NULL)
		printf("entry %s: ", o->index);
	cli_put_safe(stdout, detail(rec->entry, "method"));
	putchar(' ');
	cli_put_safe(stdout, detail(rec->entry, "path"));
	printf(", key ");
	cli_put_safe(stdout, detail(rec->entry, "key"));
	printf(", status %" JSON_INTEGER_FORMAT "\n",
	       json_is_integer(st) ? json_integer_value(st) : 0);
	pal_hex_encode(op->key_id, sizeof(op->key_id), id);
	printf("sealed to %s key %s\n", alg_name(op->alg), id);
	for (size_t i = 0; i < op->n; i++) {
		const struct pal_payload_view *v = &op->part[i];
		printf("\n%s: %zu", v->name, v->len);
		if (v->len < v->total)
			printf(" of %" PRIu64 " bytes (truncated)\n",
			       v->total);
		else
			printf(" bytes%s\n", rec->check[i] ==
					     PAL_PAYLOAD_MATCHES ?
			       ", matches the record's digest" : "");
		put_body(v);
	}
}

static json_t *
part_json(const struct pal_payload_view *v, enum pal_payload_check c)
{
	json_t *j = json_pack("{s:s, s:I, s:I, s:b, s:s}", "name", v->name,
			      "bytes", (json_int_t)v->len, "total",
			      (json_int_t)v->total, "truncated",
			      v->len < v->total, "check", check_name(c));
	struct pal_buf b;

	if (j == NULL)
		return NULL;
	if (pal_utf8_valid((const char *)v->data, v->len)) {
		json_object_set_new(j, "text",
				    json_stringn((const char *)v->data,
						 v->len));
		return j;
	}
	pal_buf_init(&b, (v->len + 2) / 3 * 4 + 1);
	if (pal_base64_encode(v->data, v->len, &b) == 0)
		json_object_set_new(j, "base64",
				    json_stringn(b.p ? (char *)b.p : "",
						 b.len));
	pal_buf_free_secret(&b);
	return j;
}

static int
print_json(const struct pal_payload_record *rec, const struct opts *o)
{
	const struct pal_payload_opened *op = rec->opened;
	char id[65];
	json_t *parts = json_array(), *out;
	char *s;

	pal_hex_encode(op->key_id, sizeof(op->key_id), id);
	for (size_t i = 0; parts != NULL && i < op->n; i++)
		json_array_append_new(parts, part_json(&op->part[i],
						       rec->check[i]));
	out = json_pack("{s:s, s:s, s:o}", "alg", alg_name(op->alg),
			"key_id", id, "parts", parts);
	if (out != NULL && o->dir != NULL)
		json_object_set_new(out, "index",
				    json_integer((json_int_t)strtoull(
					    o->index, NULL, 10)));
	s = out != NULL ? json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS)
			: NULL;
	json_decref(out);
	if (s == NULL)
		return -1;
	puts(s);
	wiping_free(s);
	return 0;
}

static int
write_part(const struct pal_payload_record *rec, const char *name)
{
	const struct pal_payload_opened *op = rec->opened;

	for (size_t i = 0; i < op->n; i++) {
		const struct pal_payload_view *v = &op->part[i];
		if (strcmp(v->name, name) != 0)
			continue;
		if (v->len < v->total)
			fprintf(stderr, "palisade payload: %s: truncated to "
				"%zu of %" PRIu64 " bytes\n", name, v->len,
				v->total);
		return v->len == 0 || fwrite(v->data, 1, v->len, stdout) ==
				      v->len ? CLI_OK : CLI_ERROR;
	}
	fprintf(stderr, "palisade payload: the record has no part '");
	cli_put_safe(stderr, name);
	fprintf(stderr, "'\n");
	return CLI_ERROR;
}

/* ---- the command ---- */

static void
fail(const struct pal_err *err)
{
	fprintf(stderr, "palisade payload: ");
	cli_put_safe(stderr, err->msg);
	fputc('\n', stderr);
}

/* Altered or malformed input is a failed check (1); the rest is 2. */
static int
exit_for(int rc)
{
	return rc == PAL_ERR_VERIFY || rc == PAL_ERR_FORMAT ||
			       rc == PAL_ERR_TRUNCATED ||
			       rc == PAL_ERR_UNSUPPORTED
		       ? CLI_FINDING
		       : CLI_ERROR;
}

static int
run(const struct opts *o)
{
	struct pal_err err = { 0 };
	EVP_PKEY *priv = NULL;
	uint8_t *entry = NULL;
	size_t len = 0;
	struct pal_payload_record *rec = NULL;
	int rc, status = CLI_ERROR;

	if ((rc = pal_payload_privkey_load(o->key, &priv, &err)) < 0 ||
	    (rc = read_entry(o, &entry, &len, &err)) < 0) {
		fail(&err);
		goto out;
	}
	if ((rc = pal_payload_record_open(priv, entry, len, &rec, &err)) < 0) {
		fail(&err);
		status = exit_for(rc);
		goto out;
	}
	if (o->part != NULL)
		status = write_part(rec, o->part);
	else if (o->json)
		status = print_json(rec, o) == 0 ? CLI_OK : CLI_ERROR;
	else {
		print_text(rec, o);
		status = CLI_OK;
	}
	if (fflush(stdout) != 0)
		status = CLI_ERROR;
out:
	pal_payload_record_free(rec);
	free(entry);
	EVP_PKEY_free(priv);
	return status;
}

int
cmd_payload(int argc, char **argv)
{
	struct opts o = { 0 };
	int rc = parse(argc, argv, &o);

	if (rc != 0)
		return rc > 0 ? CLI_OK : CLI_ERROR;
	json_set_alloc_funcs(wiping_malloc, wiping_free);
	return run(&o);
}
