/*
 * sigstore_tlog.c - one Rekor entry of a bundle, checked offline: its
 * body binds the envelope being verified, its log is one the trusted root
 * names, its promise (SET) is the log's signature, its inclusion proof
 * leads to a root that a checkpoint signed by the log carries.
 *
 * The entry's body is what the log committed to; the fields beside it
 * (integratedTime, logIndex, logId) are only trusted once the SET over
 * them verified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "palisade/buf.h"
#include "palisade/encoding.h"
#include "palisade/note.h"
#include "palisade/signer.h"
#include "sigstore_int.h"

static const char *const body_keys[] = {
	"apiVersion", "kind", "spec", NULL,
};
static const char *const dsse_spec_keys[] = {
	"envelopeHash", "payloadHash", "signatures", NULL,
};
static const char *const hash_keys[] = { "algorithm", "value", NULL };
static const char *const sig_keys[] = { "signature", "verifier", NULL };

static const struct ss_log *
find_log(const struct pal_sigstore_root *root, const uint8_t id[32])
{
	for (size_t i = 0; i < root->n_tlogs; i++)
		if (root->tlogs[i].key != NULL &&
		    memcmp(root->tlogs[i].id, id, 32) == 0)
			return &root->tlogs[i];
	return NULL;
}

static int
check_payload_hash(json_t *spec, const struct ss_envelope *env,
		   struct pal_err *err)
{
	static const char *const path = "canonicalizedBody.spec.payloadHash";
	json_t *h;
	const char *alg, *value;
	uint8_t d[32];
	char hex[65];
	int rc;

	if ((rc = ss_json_obj(spec, "payloadHash", 1, &h,
			      "canonicalizedBody.spec", err)) < 0 ||
	    (rc = ss_json_keys(h, hash_keys, path, err)) < 0 ||
	    (rc = ss_json_str(h, "algorithm", 16, &alg, path, err)) < 0 ||
	    (rc = ss_json_str(h, "value", 128, &value, path, err)) < 0)
		return rc;
	if (strcmp(alg, "sha256") != 0)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s.algorithm: %s, not sha256", path, alg);
	SHA256(env->payload, env->payload_len, d);
	pal_hex_encode(d, 32, hex);
	if (strcmp(value, hex) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "the logged payload hash %.64s "
				   "is not the envelope payload's %s", value,
				   hex);
	return 0;
}

/* The logged verifier: base64 of the PEM of the signing certificate. */
static int
check_verifier(json_t *s, X509 *leaf, const char *path, struct pal_err *err)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	int rc = ss_json_b64_field(s, "verifier", SS_MAX_CERT, &pem, &len,
				   path, err);

	if (rc < 0)
		return rc;
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	free(pem);
	ERR_clear_error();
	if (x == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "%s.verifier: not a PEM certificate", path);
	rc = X509_cmp(x, leaf) == 0 ? 0 :
		pal_err_set(err, PAL_ERR_VERIFY,
			    "the logged certificate is not the "
			    "bundle's");
	X509_free(x);
	return rc;
}

static int
check_signatures(json_t *spec, X509 *leaf, const struct ss_envelope *env,
		 struct pal_err *err)
{
	static const char *const path = "canonicalizedBody.spec.signatures[0]";
	json_t *a, *s;
	uint8_t *sig = NULL;
	size_t len = 0;
	int rc = ss_json_array(spec, "signatures", 16, &a,
			       "canonicalizedBody.spec", err);

	if (rc < 0)
		return rc;
	if (a == NULL || json_array_size(a) != 1)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "canonicalizedBody.spec.signatures: must "
				   "hold the one signature of the envelope");
	s = json_array_get(a, 0);
	if (!json_is_object(s))
		return pal_err_set(err, PAL_ERR_FORMAT, "%s: not an object",
				   path);
	if ((rc = ss_json_keys(s, sig_keys, path, err)) < 0 ||
	    (rc = ss_json_b64_field(s, "signature", 1024, &sig, &len, path,
				    err)) < 0)
		return rc;
	int same = len == env->sig_len && memcmp(sig, env->sig, len) == 0;
	free(sig);
	if (!same)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "the logged signature is not "
				   "the envelope's");
	return check_verifier(s, leaf, path, err);
}

/* A dsse 0.0.1 body: payload hash, signature and certificate. */
static int
check_body(const struct ss_entry *e, X509 *leaf,
	   const struct ss_envelope *env, struct pal_err *err)
{
	json_error_t jerr;
	json_t *spec;
	const char *api, *kind;
	int rc;

	json_t *b = json_loadb((const char *)e->body, e->body_len,
			       JSON_REJECT_DUPLICATES, &jerr);
	if (b == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "canonicalizedBody: %s", jerr.text);
	if (!json_is_object(b)) {
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "canonicalizedBody: not an object");
		goto out;
	}
	if ((rc = ss_json_keys(b, body_keys, "canonicalizedBody", err)) < 0 ||
	    (rc = ss_json_str(b, "apiVersion", 16, &api, "canonicalizedBody",
			      err)) < 0 ||
	    (rc = ss_json_str(b, "kind", 16, &kind, "canonicalizedBody",
			      err)) < 0)
		goto out;
	if (strcmp(api, e->version) != 0 || strcmp(kind, e->kind) != 0) {
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "canonicalizedBody: kind %s %s, the entry "
				 "says %s %s", kind, api, e->kind, e->version);
		goto out;
	}
	if ((rc = ss_json_obj(b, "spec", 1, &spec, "canonicalizedBody",
			      err)) < 0 ||
	    (rc = ss_json_keys(spec, dsse_spec_keys, "canonicalizedBody.spec",
			       err)) < 0 ||
	    (rc = check_payload_hash(spec, env, err)) < 0)
		goto out;
	rc = check_signatures(spec, leaf, env, err);
out:
	json_decref(b);
	return rc;
}

/*
 * The SET: the log's signature over the canonical JSON (sorted keys, no
 * spaces) of body, integratedTime, logID (hex) and logIndex.
 */
static int
check_set(const struct ss_log *log, const struct ss_entry *e,
	  struct pal_err *err)
{
	struct pal_buf b;
	char id[65];
	int rc;

	pal_hex_encode(e->log_id, 32, id);
	pal_buf_init(&b, SS_MAX_BODY * 2);
	if ((rc = pal_buf_puts(&b, "{\"body\":\"")) < 0 ||
	    (rc = pal_base64_encode(e->body, e->body_len, &b)) < 0 ||
	    (rc = pal_buf_printf(&b, "\",\"integratedTime\":%lld,\"logID\":"
				 "\"%s\",\"logIndex\":%llu}",
				 (long long)e->integrated_time, id,
				 (unsigned long long)e->log_index)) < 0) {
		pal_buf_free(&b);
		return pal_err_set(err, rc, "cannot build the SET payload");
	}
	rc = pal_sig_verify(log->key, b.p, b.len, e->set, e->set_len, err);
	pal_buf_free(&b);
	if (rc < 0)
		pal_err_wrap(err, rc, "signed entry timestamp "
			     "(inclusion promise): ");
	return rc;
}

/* The checkpoint's origin is the key name, alone or with " - <tree>". */
static int
origin_matches(const char *origin, const char *name)
{
	size_t n = strlen(name);

	return strncmp(origin, name, n) == 0 &&
		(origin[n] == '\0' || strncmp(origin + n, " - ", 3) == 0);
}

static int
check_checkpoint(const struct ss_log *log, const struct ss_entry *e,
		 struct pal_err *err)
{
	struct pal_note *n = NULL;
	struct pal_note_verifier *v = NULL;
	struct pal_checkpoint *c = NULL;
	int rc;

	if ((rc = pal_note_parse((const uint8_t *)e->checkpoint,
				 e->checkpoint_len, &n, err)) < 0 ||
	    (rc = pal_note_verifier_from_key(log->name, log->key, &v,
					     err)) < 0 ||
	    (rc = pal_note_verify(n, &v, 1, NULL, err)) < 0 ||
	    (rc = pal_checkpoint_parse(n->text, n->text_len, &c, err)) < 0)
		goto out;
	if (!origin_matches(c->origin, log->name))
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "checkpoint origin \"%.100s\" is not log %s",
				 c->origin, log->name);
	else if (c->size != e->tree_size)
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "checkpoint is of tree size %llu, the proof "
				 "of %llu", (unsigned long long)c->size,
				 (unsigned long long)e->tree_size);
	else if (memcmp(c->root, e->root, 32) != 0)
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "checkpoint root hash is not the proof's");
out:
	if (rc < 0)
		pal_err_wrap(err, rc, "checkpoint: ");
	pal_checkpoint_free(c);
	pal_note_verifier_free(v);
	pal_note_free(n);
	return rc;
}

static int
check_inclusion(const struct ss_entry *e, struct pal_err *err)
{
	uint8_t leaf[PAL_MERKLE_HASH_LEN];

	pal_merkle_leaf_hash(e->body, e->body_len, leaf);
	/* The Merkle errors say "inclusion proof" themselves. */
	return pal_merkle_verify_inclusion(e->proof_index, e->tree_size,
		leaf, (const uint8_t (*)[PAL_MERKLE_HASH_LEN])e->hashes,
		e->n_hashes, e->root, err);
}

int
ss_tlog_verify(const struct pal_sigstore_root *root, const struct ss_entry *e,
	       X509 *leaf, const struct ss_envelope *env, int *promised,
	       struct pal_err *err)
{
	char t[32], id[65];
	int rc;

	*promised = 0;
	if (strcmp(e->kind, "dsse") != 0 || strcmp(e->version, "0.0.1") != 0)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "tlog entry of kind %s %s; only dsse 0.0.1 "
				   "is verified", e->kind, e->version);
	const struct ss_log *log = find_log(root, e->log_id);
	if (log == NULL) {
		pal_hex_encode(e->log_id, 32, id);
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "log %s is not a Rekor log of "
				   "the trusted root", id);
	}
	if (e->integrated_time < log->start || e->integrated_time > log->end) {
		ss_format_time(e->integrated_time, t);
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "the key of log %s is not valid "
				   "at the integrated time %s", log->name, t);
	}
	if ((rc = check_body(e, leaf, env, err)) < 0)
		return rc;
	if (e->set != NULL && (rc = check_set(log, e, err)) < 0)
		return rc;
	if ((rc = check_inclusion(e, err)) < 0 ||
	    (rc = check_checkpoint(log, e, err)) < 0)
		return rc;
	*promised = e->set != NULL;
	return 0;
}
