/*
 * payload_record.c - sealed payloads in the gateway's serve.request log
 * records (payload.h; docs/formats/payload.md, "In the log"): the AAD
 * that binds a payload to its record, and opening a record's payload
 * with the checks of its parts against the record's digests.
 *
 * The entry is untrusted (read back from a log, or from a file an
 * operator was handed): Jansson with duplicate keys refused, every field
 * type-checked, the digests exactly 64 lowercase hex digits (after the
 * "sha256:" prefix the gateway writes).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "palisade/encoding.h"
#include "palisade/payload.h"
#include "palisade/tile.h"

#define RECORD_TYPE "serve.request"

/*
 * The hex of a record digest: the gateway writes "sha256:<64 hex>", the
 * prefix the log uses for digests; 64 bare hex digits are read too.
 */
static const char *
digest_hex(const char *s)
{
	if (s != NULL && strncmp(s, "sha256:", 7) == 0)
		return s + 7;
	return s;
}

static int
digest_ok(const char *s)
{
	size_t n = 0;

	s = digest_hex(s);
	for (; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') ||
		      (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n == 64;
}

int
pal_payload_record_aad(const char *request_sha256,
		       const char *response_sha256, struct pal_buf *aad)
{
	if ((request_sha256 != NULL && !digest_ok(request_sha256)) ||
	    (response_sha256 != NULL && !digest_ok(response_sha256)))
		return PAL_ERR_INVALID;
	return pal_buf_printf(aad, RECORD_TYPE "\nrequest_sha256=%s\n"
			      "response_sha256=%s\n",
			      request_sha256 ? digest_hex(request_sha256) : "",
			      response_sha256 ? digest_hex(response_sha256)
					      : "");
}

/*
 * The base64 characters a payload may take in an entry built from
 * details (tlog.h's entry format, compact and ASCII-only, as the log
 * writes it): what the rest leaves of PAL_ENTRY_MAX, less the entry's
 * own fields (type, time, actor, subject) and the payload's key.
 */
#define ENTRY_FRAME 256

static size_t
room(json_t *details)
{
	size_t used = json_dumpb(details, NULL, 0,
				 JSON_COMPACT | JSON_ENSURE_ASCII);

	return used != 0 && used + ENTRY_FRAME < PAL_ENTRY_MAX
		       ? PAL_ENTRY_MAX - used - ENTRY_FRAME
		       : 0;
}

/* details.name as a string, or NULL. */
static const char *
string_of(json_t *details, const char *name)
{
	return json_string_value(json_object_get(details, name));
}

int
pal_payload_record_seal(const struct pal_payload_recipient *r,
			json_t *details, const struct pal_payload_part *parts,
			size_t n, struct pal_err *err)
{
	struct pal_payload_part fitted[PAL_PAYLOAD_PARTS_MAX];
	struct pal_buf aad, b64;
	size_t max = room(details);
	json_t *v;
	int rc;

	if (n > PAL_PAYLOAD_PARTS_MAX)
		return pal_err_set(err, PAL_ERR_INVALID, "%zu parts: at most "
				   "%d", n, PAL_PAYLOAD_PARTS_MAX);
	if (n > 0)
		memcpy(fitted, parts, n * sizeof(*parts));
	pal_buf_init(&aad, 256);
	pal_buf_init(&b64, max);
	rc = pal_payload_record_aad(string_of(details, "request_sha256"),
				    string_of(details, "response_sha256"),
				    &aad);
	if (rc < 0)
		pal_err_set(err, rc, "a record digest is not 64 lowercase "
			    "hex digits");
	else if ((rc = pal_payload_fit(r, fitted, n, max)) < 0)
		pal_err_set(err, rc, "no room for a payload: the record's "
			    "other details take the whole entry");
	else if ((rc = pal_payload_seal(r, aad.p, aad.len, fitted, n, &b64,
					err)) == 0) {
		v = json_stringn((const char *)b64.p, b64.len);
		if (v == NULL || json_object_set_new(details,
						     PAL_PAYLOAD_RECORD_FIELD,
						     v) < 0)
			rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	pal_buf_free(&aad);
	pal_buf_free(&b64);
	return rc;
}

/* details.name: absent (NULL), or a string (else an error). */
static int
opt_string(json_t *details, const char *name, int digest, const char **out,
	   struct pal_err *err)
{
	json_t *v = json_object_get(details, name);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || (digest && !digest_ok(json_string_value(v))))
		return pal_err_set(err, PAL_ERR_FORMAT, "details.%s is not %s",
				   name, digest ? "64 lowercase hex digits"
						: "a string");
	*out = digest ? digest_hex(json_string_value(v))
		      : json_string_value(v);
	return 0;
}

/* The entry's details, with its digests and sealed payload. */
static int
read_entry(json_t *e, const char **req, const char **resp,
	   const char **payload, size_t *payload_len, struct pal_err *err)
{
	json_t *type = json_object_get(e, "type");
	json_t *d = json_object_get(e, "details");
	int rc;

	if (!json_is_object(e) || !json_is_string(type))
		return pal_err_set(err, PAL_ERR_FORMAT, "not a log entry (no "
				   "\"type\")");
	if (strcmp(json_string_value(type), RECORD_TYPE) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "a %.64s entry, not "
				   RECORD_TYPE, json_string_value(type));
	if (!json_is_object(d))
		return pal_err_set(err, PAL_ERR_FORMAT, "the entry has no "
				   "details object");
	if ((rc = opt_string(d, "request_sha256", 1, req, err)) < 0 ||
	    (rc = opt_string(d, "response_sha256", 1, resp, err)) < 0 ||
	    (rc = opt_string(d, PAL_PAYLOAD_RECORD_FIELD, 0, payload,
			     err)) < 0)
		return rc;
	if (*payload == NULL)
		return pal_err_set(err, PAL_ERR_INVALID, "no payload: this "
				   "record holds digests only (log.payloads "
				   "was none)");
	*payload_len = json_string_length(
		json_object_get(d, PAL_PAYLOAD_RECORD_FIELD));
	return 0;
}

/* One part against the record's digest for it (NULL: none recorded). */
static int
check_part(const struct pal_payload_view *v, const char *digest,
	   enum pal_payload_check *out, struct pal_err *err)
{
	uint8_t md[32];
	char hex[65];

	if (v->len < v->total) {
		*out = PAL_PAYLOAD_TRUNCATED;
		return 0;
	}
	if (digest == NULL) {
		*out = PAL_PAYLOAD_MATCHES;
		return v->len == 0 ? 0 : pal_err_set(err, PAL_ERR_VERIFY,
			"the %s part holds %zu bytes but the record has no "
			"%s_sha256", v->name, v->len, v->name);
	}
	EVP_Digest(v->data != NULL ? v->data : (const uint8_t *)"", v->len,
		   md, NULL, EVP_sha256(), NULL);
	pal_hex_encode(md, sizeof(md), hex);
	if (strcmp(hex, digest) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY, "the %s part (SHA-256 "
				   "%s) is not the body the record's "
				   "%s_sha256 names (%s)", v->name, hex,
				   v->name, digest);
	*out = PAL_PAYLOAD_MATCHES;
	return 0;
}

static int
check_parts(struct pal_payload_record *rec, const char *req,
	    const char *resp, struct pal_err *err)
{
	const struct pal_payload_opened *o = rec->opened;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < o->n; i++) {
		const struct pal_payload_view *v = &o->part[i];
		rec->check[i] = PAL_PAYLOAD_UNCHECKED;
		if (strcmp(v->name, "request") == 0)
			rc = check_part(v, req, &rec->check[i], err);
		else if (strcmp(v->name, "response") == 0)
			rc = check_part(v, resp, &rec->check[i], err);
	}
	return rc;
}

static int
open_record(EVP_PKEY *priv, struct pal_payload_record *rec,
	    struct pal_err *err)
{
	const char *req, *resp, *payload;
	size_t payload_len = 0;
	struct pal_buf aad;
	int rc = read_entry(rec->entry, &req, &resp, &payload, &payload_len,
			    err);

	if (rc < 0)
		return rc;
	pal_buf_init(&aad, 256);
	if (pal_payload_record_aad(req, resp, &aad) < 0)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = pal_payload_open(priv, aad.p, aad.len, payload,
				      payload_len, &rec->opened, err);
	pal_buf_free(&aad);
	return rc < 0 ? rc : check_parts(rec, req, resp, err);
}

int
pal_payload_record_open(EVP_PKEY *priv, const uint8_t *entry, size_t len,
			struct pal_payload_record **out, struct pal_err *err)
{
	struct pal_payload_record *rec;
	json_error_t jerr;
	int rc;

	*out = NULL;
	if (len > PAL_ENTRY_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "an entry of %zu bytes: "
				   "log entries are at most %d", len,
				   PAL_ENTRY_MAX);
	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	rec->entry = json_loadb((const char *)entry, len,
				JSON_REJECT_DUPLICATES, &jerr);
	rc = rec->entry != NULL ? open_record(priv, rec, err)
		: pal_err_set(err, PAL_ERR_FORMAT, "the entry is not JSON: "
			      "line %d column %d: %s", jerr.line, jerr.column,
			      jerr.text);
	if (rc < 0) {
		pal_payload_record_free(rec);
		return rc;
	}
	*out = rec;
	return 0;
}

void
pal_payload_record_free(struct pal_payload_record *rec)
{
	if (rec == NULL)
		return;
	pal_payload_opened_free(rec->opened);
	json_decref(rec->entry);
	free(rec);
}
