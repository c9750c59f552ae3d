/*
 * approvers.c - the vault's approver set: who may approve and how many
 * must, in a DSSE envelope signed by the vault's admin key.
 *
 * The envelope is read from disk, where anyone with write access to the
 * vault could change it: its signature is verified with the admin key
 * (given by the caller, never taken from the file) before a byte of the
 * payload is parsed.  The payload is then parsed as strictly as a request:
 * a signed set that is odd (a key twice, a threshold of one) is refused,
 * not interpreted.
 *
 * Every set written now carries a serial (version 2), so that the vault
 * can tell a newer set from an older one (sets.c); sets written before
 * serials existed (version 1) are still read, as serial 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "palisade/dsse.h"
#include "palisade/encoding.h"
#include "palisade/file.h"
#include "tpc_int.h"

#define KEY_PEM_MAX 1024	/* a P-256 SPKI in PEM is 178 bytes */
#define KEYID_MAX 256
#define ENVELOPE_SIG_MAX 139	/* DER ECDSA P-521, the largest admin key */
#define WHERE "approver set"

int
pal_tpc_key_p256(const EVP_PKEY *key, const char *what, struct pal_err *err)
{
	char group[32];
	size_t n = 0;

	if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
	    EVP_PKEY_get_group_name(key, group, sizeof(group), &n) != 1 ||
	    strcmp(group, "prime256v1") != 0) {
		ERR_clear_error();
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s is not an ECDSA P-256 key", what);
	}
	return 0;
}

/* The key's SubjectPublicKeyInfo as PEM, appended to out. */
static int
key_pem(const EVP_PKEY *key, struct pal_buf *out, struct pal_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	int rc = PAL_ERR_CRYPTO;

	if (bio != NULL && PEM_write_bio_PUBKEY(bio, key) == 1 &&
	    (n = BIO_get_mem_data(bio, &p)) > 0)
		rc = pal_buf_append(out, p, (size_t)n);
	BIO_free(bio);
	ERR_clear_error();
	return rc < 0 ? pal_err_set(err, rc, "cannot encode a public key") :
		0;
}

void
pal_tpc_approvers_free(struct pal_tpc_approvers *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		EVP_PKEY_free(set->a[i].key);
	free(set->a);
	free(set);
}

const struct pal_tpc_approver *
pal_tpc_approvers_find(const struct pal_tpc_approvers *set, const char *name)
{
	for (size_t i = 0; set != NULL && i < set->n; i++)
		if (strcmp(set->a[i].name, name) == 0)
			return &set->a[i];
	return NULL;
}

const struct pal_tpc_approver *
pal_tpc_approvers_find_key(const struct pal_tpc_approvers *set,
			   const EVP_PKEY *key)
{
	for (size_t i = 0; set != NULL && key != NULL && i < set->n; i++) {
		if (EVP_PKEY_eq(set->a[i].key, key) == 1)
			return &set->a[i];
	}
	ERR_clear_error();
	return NULL;
}

/* ---- the payload ---- */

/*
 * Member i (name, key) may join the i members before it: the rules for
 * names and keys, and neither name nor key already there.
 */
static int
check_member(const struct pal_tpc_approver *a, size_t i,
	     const struct pal_tpc_approver *before, struct pal_err *err)
{
	char what[48];

	snprintf(what, sizeof(what), "approvers[%zu].name", i);
	int rc = pal_tpc_check_name(a->name, what, err);
	if (rc < 0)
		return rc;
	snprintf(what, sizeof(what), "approvers[%zu].key", i);
	if ((rc = pal_tpc_key_p256(a->key, what, err)) < 0)
		return rc;
	for (size_t j = 0; j < i; j++) {
		if (strcmp(before[j].name, a->name) == 0)
			return pal_err_set(err, PAL_ERR_INVALID,
					   "approvers[%zu]: %s is listed "
					   "twice", i, a->name);
		if (EVP_PKEY_eq(before[j].key, a->key) == 1)
			return pal_err_set(err, PAL_ERR_INVALID,
					   "approvers[%zu]: %s has the same "
					   "key as %s", i, a->name,
					   before[j].name);
	}
	ERR_clear_error();
	return 0;
}

static int
check_threshold(long long m, size_t n, struct pal_err *err)
{
	if (m < PAL_TPC_THRESHOLD_MIN)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "threshold %lld: at least %d approvals "
				   "must be required (one key alone is not "
				   "two-person control)", m,
				   PAL_TPC_THRESHOLD_MIN);
	if ((unsigned long long)m > n)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "threshold %lld is more than the %zu "
				   "approvers", m, n);
	return 0;
}

static int
check_set(const char *vault, long long threshold,
	  const struct pal_tpc_approver *a, size_t n, struct pal_err *err)
{
	int rc = pal_tpc_check_name(vault, "vault", err);

	if (rc == 0 && (n == 0 || n > PAL_TPC_APPROVERS_MAX))
		rc = pal_err_set(err, PAL_ERR_LIMIT,
				 "an approver set has 1 to %d members, not "
				 "%zu", PAL_TPC_APPROVERS_MAX, n);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = check_member(&a[i], i, a, err);
	return rc == 0 ? check_threshold(threshold, n, err) : rc;
}

static int
put_members(struct pal_buf *out, const struct pal_tpc_approver *a, size_t n,
	    struct pal_err *err)
{
	struct pal_buf pem;
	int rc = 0;

	pal_buf_init(&pem, KEY_PEM_MAX);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		pal_buf_reset(&pem);
		if ((rc = key_pem(a[i].key, &pem, err)) < 0)
			break;
		rc = pal_buf_puts(out, i ? ",{" : "{");
		if (rc == 0)
			rc = pal_tpc_canon_member(out, "key", 1);
		if (rc == 0)
			rc = pal_tpc_canon_string(out, (char *)pem.p, pem.len);
		if (rc == 0)
			rc = pal_tpc_canon_member_str(out, "name", a[i].name,
						      0);
		if (rc == 0)
			rc = pal_buf_putc(out, '}');
		if (rc < 0)
			pal_err_set(err, rc, "approver set too large");
	}
	pal_buf_free(&pem);
	return rc;
}

/* After the members: serial, threshold, vault and version, in order. */
static int
put_tail(struct pal_buf *out, const char *vault, uint64_t serial,
	 unsigned threshold)
{
	int rc = pal_buf_printf(out, "],\"serial\":%llu,\"threshold\":%u,",
				(unsigned long long)serial, threshold);

	if (rc == 0)
		rc = pal_tpc_canon_member_str(out, "vault", vault, 1);
	return rc == 0 ? pal_buf_printf(out, ",\"version\":%d}",
					PAL_TPC_APPROVERS_VERSION) : rc;
}

static int
check_serial(uint64_t serial, struct pal_err *err)
{
	if (serial < 1 || serial > (uint64_t)PAL_TPC_SERIAL_MAX)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "serial %llu: 1 to %lld",
				   (unsigned long long)serial,
				   (long long)PAL_TPC_SERIAL_MAX);
	return 0;
}

int
pal_tpc_approvers_payload(const char *vault, unsigned threshold,
			  const char *const names[], EVP_PKEY *const keys[],
			  size_t n, struct pal_buf *out, struct pal_err *err)
{
	return pal_tpc_approvers_payload_serial(vault, 1, threshold, names,
						keys, n, out, err);
}

int
pal_tpc_approvers_payload_serial(const char *vault, uint64_t serial,
				 unsigned threshold,
				 const char *const names[],
				 EVP_PKEY *const keys[], size_t n,
				 struct pal_buf *out, struct pal_err *err)
{
	struct pal_tpc_approver *a = NULL;
	int rc = 0;

	if ((rc = check_serial(serial, err)) < 0)
		return rc;
	if (n > PAL_TPC_APPROVERS_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "more than %d approvers",
				   PAL_TPC_APPROVERS_MAX);
	if (n > 0 && (a = calloc(n, sizeof(*a))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (strnlen(names[i], PAL_TPC_NAME_MAX + 1) > PAL_TPC_NAME_MAX)
			rc = pal_err_set(err, PAL_ERR_INVALID,
					 "approvers[%zu].name: longer than %d "
					 "bytes", i, PAL_TPC_NAME_MAX);
		else
			memcpy(a[i].name, names[i], strlen(names[i]) + 1);
		a[i].key = keys[i];
	}
	if (rc == 0)
		rc = check_set(vault, threshold, a, n, err);
	if (rc == 0 && pal_buf_puts(out, "{\"approvers\":[") < 0)
		rc = pal_err_set(err, PAL_ERR_LIMIT, "approver set too large");
	if (rc == 0)
		rc = put_members(out, a, n, err);
	if (rc == 0 && put_tail(out, vault, serial, threshold) < 0)
		rc = pal_err_set(err, PAL_ERR_LIMIT, "approver set too large");
	free(a);
	return rc;
}

/* The PEM text s[0..n) as a key; it must be exactly what we would write. */
static int
parse_key(const char *s, size_t n, const char *what, EVP_PKEY **out,
	  struct pal_err *err)
{
	BIO *bio = BIO_new_mem_buf(s, (int)n);
	EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) :
		NULL;
	struct pal_buf again;
	int rc = 0;

	BIO_free(bio);
	ERR_clear_error();
	if (key == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s: not a PEM public key", what);
	pal_buf_init(&again, KEY_PEM_MAX);
	rc = pal_tpc_key_p256(key, what, err);
	if (rc == 0)
		rc = key_pem(key, &again, err);
	/*
	 * PEM readers skip text around the block and accept other layouts;
	 * only the bytes PEM_write_bio_PUBKEY writes are taken, so that a
	 * signed set has one reading.
	 */
	if (rc == 0 && (again.len != n || memcmp(again.p, s, n) != 0))
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "%s: not in canonical PEM form (one "
				 "SubjectPublicKeyInfo block, nothing "
				 "around it)", what);
	pal_buf_free(&again);
	if (rc < 0) {
		EVP_PKEY_free(key);
		return rc;
	}
	*out = key;
	return 0;
}

static const char *const member_names[] = { "key", "name" };

static int
parse_member(json_t *o, size_t i, struct pal_tpc_approver *a,
	     struct pal_err *err)
{
	char where[48];
	const char *s;
	size_t n;

	snprintf(where, sizeof(where), WHERE ".approvers[%zu]", i);
	int rc = pal_tpc_json_members(o, where, member_names, 2, NULL, 0,
				      err);
	if (rc == 0)
		rc = pal_tpc_json_str(o, where, "name", PAL_TPC_NAME_MAX, &s,
				      &n, err);
	if (rc == 0)
		memcpy(a->name, s, n + 1);
	if (rc == 0)
		rc = pal_tpc_json_str(o, where, "key", KEY_PEM_MAX, &s, &n,
				      err);
	if (rc == 0) {
		char what[64];

		snprintf(what, sizeof(what), "%s.key", where);
		rc = parse_key(s, n, what, &a->key, err);
	}
	return rc;
}

/* Version 1 has no serial; version 2 has one.  Sorted, as written. */
static const char *const set_names[] = {
	"approvers", "serial", "threshold", "vault", "version",
};
static const char *const set_names_v1[] = {
	"approvers", "threshold", "vault", "version",
};

/* The version and the members it has; set->serial (0 for version 1). */
static int
parse_version(json_t *j, struct pal_tpc_approvers *set, struct pal_err *err)
{
	long long version, serial = 0;
	int rc = pal_tpc_json_int(j, WHERE, "version", 0, 1000000, &version,
				  err);

	if (rc == 0 && version != 1 && version != PAL_TPC_APPROVERS_VERSION)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   WHERE ".version: %lld is not supported "
				   "(1 and %d are)", version,
				   PAL_TPC_APPROVERS_VERSION);
	if (rc == 0 && version == 1)
		rc = pal_tpc_json_members(j, WHERE, set_names_v1, 4, NULL, 0,
					  err);
	if (rc == 0 && version != 1)
		rc = pal_tpc_json_members(j, WHERE, set_names, 5, NULL, 0,
					  err);
	if (rc == 0 && version != 1)
		rc = pal_tpc_json_int(j, WHERE, "serial", 1,
				      PAL_TPC_SERIAL_MAX, &serial, err);
	if (rc == 0)
		set->serial = (uint64_t)serial;
	return rc;
}

static int
parse_payload_json(json_t *j, struct pal_tpc_approvers *set,
		   struct pal_err *err)
{
	long long threshold;
	const char *vault;
	size_t nv;
	int rc = parse_version(j, set, err);

	if (rc == 0)
		rc = pal_tpc_json_str(j, WHERE, "vault", PAL_TPC_NAME_MAX,
				      &vault, &nv, err);
	if (rc == 0)
		memcpy(set->vault, vault, nv + 1);
	if (rc == 0)
		rc = pal_tpc_json_int(j, WHERE, "threshold", 0,
				      PAL_TPC_APPROVERS_MAX, &threshold, err);
	json_t *arr = json_object_get(j, "approvers");
	if (rc == 0 && (!json_is_array(arr) || json_array_size(arr) == 0 ||
			json_array_size(arr) > PAL_TPC_APPROVERS_MAX))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   WHERE ".approvers: an array of 1 to %d "
				   "members expected", PAL_TPC_APPROVERS_MAX);
	if (rc < 0)
		return rc;
	size_t n = json_array_size(arr);
	if ((set->a = calloc(n, sizeof(*set->a))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < n; i++, set->n++)
		rc = parse_member(json_array_get(arr, i), i, &set->a[i], err);
	if (rc == 0 && (rc = check_set(set->vault, threshold, set->a, set->n,
				       err)) < 0)
		pal_err_wrap(err, rc, WHERE ": ");
	if (rc == 0)
		set->threshold = (unsigned)threshold;
	/* The rules speak of arguments; here they judge a document. */
	if (rc == PAL_ERR_INVALID) {
		rc = PAL_ERR_FORMAT;
		if (err != NULL)
			err->code = rc;
	}
	return rc;
}

/* Parses a payload the admin signed (or is about to sign). */
static int
parse_payload(const uint8_t *p, size_t len, struct pal_tpc_approvers **out,
	      struct pal_err *err)
{
	json_t *j = NULL;
	struct pal_tpc_approvers *set = NULL;
	unsigned int dn = 0;
	int rc = pal_tpc_json_load(p, len, PAL_TPC_APPROVERS_FILE_MAX, WHERE,
				   &j, err);

	if (rc == 0 && (set = calloc(1, sizeof(*set))) == NULL)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = parse_payload_json(j, set, err);
	/* The digest tells two sets under one serial apart (sets.c). */
	if (rc == 0 && (EVP_Digest(p, len, set->digest, &dn, EVP_sha256(),
				   NULL) != 1 || dn != PAL_TPC_DIGEST_LEN))
		rc = pal_err_set(err, PAL_ERR_CRYPTO, "SHA-256 failed");
	json_decref(j);
	if (rc < 0) {
		pal_tpc_approvers_free(set);
		return rc;
	}
	*out = set;
	return 0;
}

/* ---- the envelope ---- */

static int
put_envelope(const uint8_t *payload, size_t len, const uint8_t *sig,
	     size_t sig_len, const char *keyid, struct pal_buf *out)
{
	int rc = pal_buf_puts(out, "{\"payload\":\"");

	if (rc == 0)
		rc = pal_base64_encode(payload, len, out);
	if (rc == 0)
		rc = pal_buf_puts(out, "\",");
	if (rc == 0)
		rc = pal_tpc_canon_member_str(out, "payloadType",
					      PAL_TPC_APPROVERS_TYPE, 1);
	if (rc == 0)
		rc = pal_buf_puts(out, ",\"signatures\":[{");
	if (rc == 0)
		rc = pal_tpc_canon_member_str(out, "keyid", keyid, 1);
	if (rc == 0)
		rc = pal_buf_puts(out, ",\"sig\":\"");
	if (rc == 0)
		rc = pal_base64_encode(sig, sig_len, out);
	if (rc == 0)
		rc = pal_buf_puts(out, "\"}]}\n");
	return rc;
}

int
pal_tpc_approvers_sign(const uint8_t *payload, size_t len,
		       struct pal_signer *admin, struct pal_buf *out,
		       struct pal_err *err)
{
	struct pal_tpc_approvers *set = NULL;
	struct pal_buf pae;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	char hint[65];

	int rc = parse_payload(payload, len, &set, err);
	/* Version 1 is read for the vaults that have one, never written. */
	if (rc == 0 && set->serial == 0)
		rc = pal_err_set(err, PAL_ERR_FORMAT, WHERE ".version: 1 has "
				 "no serial; sets are written as version %d",
				 PAL_TPC_APPROVERS_VERSION);
	pal_tpc_approvers_free(set);
	if (rc < 0)
		return pal_err_wrap(err, rc, "refusing to sign: ");
	pal_buf_init(&pae, len + 256);
	rc = pal_dsse_pae(PAL_TPC_APPROVERS_TYPE, payload, len, &pae);
	if (rc < 0)
		rc = pal_err_set(err, rc, "cannot build the DSSE PAE");
	if (rc == 0)
		rc = pal_pubkey_hint(admin->pub, hint, err);
	if (rc == 0)
		rc = admin->sign(admin, pae.p, pae.len, &sig, &sig_len, err);
	/* A token that signs wrongly is caught here, not by every reader. */
	if (rc == 0)
		rc = pal_dsse_verify(admin->pub, PAL_TPC_APPROVERS_TYPE,
				     payload, len, sig, sig_len, err);
	if (rc == 0 && put_envelope(payload, len, sig, sig_len, hint, out) < 0)
		rc = pal_err_set(err, PAL_ERR_LIMIT, "envelope too large");
	free(sig);
	pal_buf_free(&pae);
	return rc;
}

static const char *const env_names[] = {
	"payload", "payloadType", "signatures",
};
static const char *const sig_names[] = { "sig" };
static const char *const sig_opt[] = { "keyid" };

/* The one signature of the envelope j. */
static int
envelope_sig(json_t *j, uint8_t **sig, size_t *sig_len, struct pal_err *err)
{
	const char *w = "envelope.signatures[0]";
	json_t *sigs = json_object_get(j, "signatures");

	if (!json_is_array(sigs) || json_array_size(sigs) != 1)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "envelope.signatures: exactly one "
				   "signature expected");
	json_t *o = json_array_get(sigs, 0);
	int rc = pal_tpc_json_members(o, w, sig_names, 1, sig_opt, 1, err);
	/* A hint only (DSSE allows it empty); the admin key is the caller's. */
	json_t *kid = json_object_get(o, "keyid");
	if (rc == 0 && kid != NULL &&
	    (!json_is_string(kid) || json_string_length(kid) > KEYID_MAX))
		rc = pal_err_set(err, PAL_ERR_FORMAT, "%s.keyid: not a string "
				 "of at most %d bytes", w, KEYID_MAX);
	return rc == 0 ? pal_tpc_json_b64(o, w, "sig", ENVELOPE_SIG_MAX, sig,
					  sig_len, err) : rc;
}

int
pal_tpc_approvers_parse(const uint8_t *data, size_t len, EVP_PKEY *admin,
			struct pal_tpc_approvers **out, struct pal_err *err)
{
	json_t *j = NULL;
	uint8_t *payload = NULL, *sig = NULL;
	size_t plen = 0, sig_len = 0;
	const char *type;

	*out = NULL;
	int rc = pal_tpc_json_load(data, len, PAL_TPC_APPROVERS_FILE_MAX,
				   "approver set envelope", &j, err);
	if (rc == 0)
		rc = pal_tpc_json_members(j, "envelope", env_names, 3, NULL, 0,
					  err);
	if (rc == 0)
		rc = pal_tpc_json_str(j, "envelope", "payloadType", 256, &type,
				      NULL, err);
	if (rc == 0 && strcmp(type, PAL_TPC_APPROVERS_TYPE) != 0)
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "envelope.payloadType: not "
				 PAL_TPC_APPROVERS_TYPE);
	if (rc == 0)
		rc = pal_tpc_json_b64(j, "envelope", "payload",
				      PAL_TPC_APPROVERS_FILE_MAX, &payload,
				      &plen, err);
	if (rc == 0)
		rc = envelope_sig(j, &sig, &sig_len, err);
	if (rc == 0 && admin == NULL)
		rc = pal_err_set(err, PAL_ERR_INVALID, "no admin key");
	if (rc == 0 && pal_dsse_verify(admin, PAL_TPC_APPROVERS_TYPE, payload,
				       plen, sig, sig_len, err) < 0)
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "approver set: the signature does not verify "
				 "with the vault's admin key");
	if (rc == 0)
		rc = parse_payload(payload, plen, out, err);
	json_decref(j);
	free(payload);
	free(sig);
	return rc;
}

int
pal_tpc_approvers_load(const char *path, EVP_PKEY *admin,
		       struct pal_tpc_approvers **out, struct pal_err *err)
{
	uint8_t *buf = NULL;
	size_t n = 0;

	*out = NULL;
	int rc = pal_file_read(path, PAL_TPC_APPROVERS_FILE_MAX, &buf, &n,
			       err);
	/* pal_file_read's messages name the file already. */
	if (rc == 0 && (rc = pal_tpc_approvers_parse(buf, n, admin, out,
						     err)) < 0)
		pal_err_wrap(err, rc, "%s: ", path);
	free(buf);
	return rc;
}

/* Loads the n public keys of pub_paths into keys (freed by the caller). */
static int
load_keys(const char *const pub_paths[], size_t n, EVP_PKEY **keys,
	  struct pal_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int rc = pal_pubkey_load(pub_paths[i], &keys[i], err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
pal_tpc_approvers_build(const char *vault, uint64_t serial,
			unsigned threshold, const char *const names[],
			const char *const pub_paths[], size_t n,
			struct pal_signer *admin, struct pal_buf *out,
			struct pal_tpc_approvers **set, struct pal_err *err)
{
	struct pal_buf payload;
	EVP_PKEY **keys = NULL;
	size_t start = out->len;

	if (set != NULL)
		*set = NULL;
	if (n > PAL_TPC_APPROVERS_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "more than %d approvers",
				   PAL_TPC_APPROVERS_MAX);
	if (n > 0 && (keys = calloc(n, sizeof(*keys))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	pal_buf_init(&payload, PAL_TPC_APPROVERS_FILE_MAX);
	int rc = load_keys(pub_paths, n, keys, err);
	if (rc == 0)
		rc = pal_tpc_approvers_payload_serial(vault, serial, threshold ?
			threshold : PAL_TPC_THRESHOLD_DEFAULT, names, keys, n,
			&payload, err);
	if (rc == 0)
		rc = pal_tpc_approvers_sign(payload.p, payload.len, admin, out,
					    err);
	/* Read back as every reader will: what is written is what holds. */
	if (rc == 0 && set != NULL)
		rc = pal_tpc_approvers_parse(out->p + start, out->len - start,
					     admin->pub, set, err);
	for (size_t i = 0; i < n; i++)
		EVP_PKEY_free(keys ? keys[i] : NULL);
	free(keys);
	pal_buf_free(&payload);
	return rc;
}

int
pal_tpc_approvers_write(const char *out_path, const char *vault,
			unsigned threshold, const char *const names[],
			const char *const pub_paths[], size_t n,
			const char *admin_key, struct pal_err *err)
{
	struct pal_signer *admin = NULL;
	struct pal_buf env;

	pal_buf_init(&env, PAL_TPC_APPROVERS_FILE_MAX);
	int rc = pal_signer_open(admin_key, &admin, err);
	if (rc == 0)
		rc = pal_tpc_approvers_build(vault, 1, threshold, names,
					     pub_paths, n, admin, &env, NULL,
					     err);
	if (rc == 0)
		rc = pal_file_write_atomic(out_path, env.p, env.len, 0644,
					   err);
	pal_signer_free(admin);
	pal_buf_free(&env);
	return rc;
}
