/*
 * sigstore_material.c - a bundle's verificationMaterial for the keyless
 * method, parsed strictly into struct ss_material: the Fulcio certificate,
 * the Rekor entries with their proofs and promises, the RFC 3161
 * timestamps.  Nothing here is trusted yet; sigstore.c checks it all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/x509.h"
#include "sigstore_int.h"

#define P_MAX 128

static const char *const vm_keys[] = {
	"certificate", "x509CertificateChain", "tlogEntries",
	"timestampVerificationData", "publicKey", NULL,
};
static const char *const entry_keys[] = {
	"logIndex", "logId", "kindVersion", "integratedTime",
	"inclusionPromise", "inclusionProof", "canonicalizedBody", NULL,
};
static const char *const proof_keys[] = {
	"logIndex", "rootHash", "treeSize", "hashes", "checkpoint", NULL,
};
static const char *const raw_keys[] = { "rawBytes", NULL };
static const char *const chain_keys[] = { "certificates", NULL };
static const char *const id_keys[] = { "keyId", NULL };
static const char *const kv_keys[] = { "kind", "version", NULL };
static const char *const promise_keys[] = { "signedEntryTimestamp", NULL };
static const char *const cp_keys[] = { "envelope", NULL };
static const char *const tvd_keys[] = { "rfc3161Timestamps", NULL };
static const char *const ts_keys[] = { "signedTimestamp", NULL };

static int
parse_cert_obj(json_t *o, X509 **out, const char *path, struct pal_err *err)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;

	if (!json_is_object(o))
		return pal_err_set(err, PAL_ERR_FORMAT, "%s: not an object",
				   path);
	if ((rc = ss_json_keys(o, raw_keys, path, err)) < 0 ||
	    (rc = ss_json_b64_field(o, "rawBytes", SS_MAX_CERT, &der, &len,
				    path, err)) < 0)
		return rc;
	rc = pal_x509_from_der(der, len, out, err);
	free(der);
	if (rc < 0)
		pal_err_wrap(err, rc, "%s.rawBytes: ", path);
	return rc;
}

/* certificate, or the leaf of x509CertificateChain (older bundles). */
static int
parse_leaf(json_t *vm, struct ss_material *m, struct pal_err *err)
{
	json_t *cert = json_object_get(vm, "certificate");
	json_t *chain = json_object_get(vm, "x509CertificateChain");
	json_t *certs;
	int rc;

	if (json_object_get(vm, "publicKey") != NULL)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "verificationMaterial.publicKey: a key, "
				   "not a Sigstore certificate");
	if ((cert == NULL) == (chain == NULL))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "verificationMaterial: needs exactly one of "
				   "certificate and x509CertificateChain");
	if (cert != NULL)
		return parse_cert_obj(cert, &m->leaf,
				      "verificationMaterial.certificate", err);
	if (!json_is_object(chain))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "verificationMaterial.x509CertificateChain:"
				   " not an object");
	if ((rc = ss_json_keys(chain, chain_keys,
			       "verificationMaterial.x509CertificateChain",
			       err)) < 0 ||
	    (rc = ss_json_array(chain, "certificates", SS_MAX_CHAIN, &certs,
				"verificationMaterial.x509CertificateChain",
				err)) < 0)
		return rc;
	if (json_array_size(certs) == 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "verificationMaterial.x509CertificateChain"
				   ".certificates: none");
	/* The rest of the chain is not needed: the trusted root has it. */
	return parse_cert_obj(json_array_get(certs, 0), &m->leaf,
			      "verificationMaterial.x509CertificateChain"
			      ".certificates[0]", err);
}

static int
parse_kind(json_t *e, struct ss_entry *x, const char *path,
	   struct pal_err *err)
{
	json_t *kv;
	const char *kind, *version;
	char p[P_MAX];
	int rc = ss_json_obj(e, "kindVersion", 1, &kv, path, err);

	if (rc < 0)
		return rc;
	ss_pathf(p, sizeof(p), "%s.kindVersion", path);
	if ((rc = ss_json_keys(kv, kv_keys, p, err)) < 0 ||
	    (rc = ss_json_str(kv, "kind", sizeof(x->kind) - 1, &kind, p,
			      err)) < 0 ||
	    (rc = ss_json_str(kv, "version", sizeof(x->version) - 1,
			      &version, p, err)) < 0)
		return rc;
	memcpy(x->kind, kind, strlen(kind) + 1);
	memcpy(x->version, version, strlen(version) + 1);
	return 0;
}

static int
parse_hashes(json_t *proof, struct ss_entry *x, const char *path,
	     struct pal_err *err)
{
	json_t *a, *h;
	size_t i;
	int rc = ss_json_array(proof, "hashes", PAL_MERKLE_MAX_PROOF, &a,
			       path, err);

	if (rc < 0)
		return rc;
	if (a == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT, "%s.hashes: missing",
				   path);
	x->hashes = calloc(json_array_size(a) + 1, PAL_MERKLE_HASH_LEN);
	if (x->hashes == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	json_array_foreach(a, i, h) {
		char p[P_MAX];
		ss_pathf(p, sizeof(p), "%s.hashes[%zu]", path, i);
		if ((rc = ss_json_hash(h, x->hashes[i], p, err)) < 0)
			return rc;
		x->n_hashes = i + 1;
	}
	return 0;
}

static int
parse_proof(json_t *e, struct ss_entry *x, const char *path,
	    struct pal_err *err)
{
	json_t *proof, *cp;
	const char *note;
	char p[P_MAX], q[P_MAX];
	int rc = ss_json_obj(e, "inclusionProof", 1, &proof, path, err);

	if (rc < 0)
		return rc;
	ss_pathf(p, sizeof(p), "%s.inclusionProof", path);
	ss_pathf(q, sizeof(q), "%s.rootHash", p);
	if ((rc = ss_json_keys(proof, proof_keys, p, err)) < 0 ||
	    (rc = ss_json_u64(proof, "logIndex", INT64_MAX, &x->proof_index,
			      p, err)) < 0 ||
	    (rc = ss_json_u64(proof, "treeSize", INT64_MAX, &x->tree_size, p,
			      err)) < 0 ||
	    (rc = ss_json_hash(json_object_get(proof, "rootHash"), x->root,
			       q, err)) < 0 ||
	    (rc = parse_hashes(proof, x, p, err)) < 0 ||
	    (rc = ss_json_obj(proof, "checkpoint", 1, &cp, p, err)) < 0)
		return rc;
	ss_pathf(q, sizeof(q), "%s.checkpoint", p);
	if ((rc = ss_json_keys(cp, cp_keys, q, err)) < 0 ||
	    (rc = ss_json_str(cp, "envelope", SS_MAX_CHECKPOINT, &note, q,
			      err)) < 0)
		return rc;
	x->checkpoint_len = strlen(note);
	if ((x->checkpoint = strdup(note)) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	return 0;
}

static int
parse_promise(json_t *e, struct ss_entry *x, const char *path,
	      struct pal_err *err)
{
	json_t *pr;
	char p[P_MAX];
	int rc = ss_json_obj(e, "inclusionPromise", 0, &pr, path, err);

	if (rc < 0 || pr == NULL)
		return rc;
	ss_pathf(p, sizeof(p), "%s.inclusionPromise", path);
	if ((rc = ss_json_keys(pr, promise_keys, p, err)) < 0)
		return rc;
	return ss_json_b64_field(pr, "signedEntryTimestamp", 1024, &x->set,
				 &x->set_len, p, err);
}

static int
parse_entry(json_t *e, struct ss_entry *x, const char *path,
	    struct pal_err *err)
{
	json_t *id;
	uint64_t t;
	char p[P_MAX];
	int rc;

	if (!json_is_object(e))
		return pal_err_set(err, PAL_ERR_FORMAT, "%s: not an object",
				   path);
	ss_pathf(p, sizeof(p), "%s.logId", path);
	if ((rc = ss_json_keys(e, entry_keys, path, err)) < 0 ||
	    (rc = ss_json_u64(e, "logIndex", INT64_MAX, &x->log_index, path,
			      err)) < 0 ||
	    (rc = ss_json_u64(e, "integratedTime", INT64_MAX, &t, path,
			      err)) < 0 ||
	    (rc = ss_json_obj(e, "logId", 1, &id, path, err)) < 0 ||
	    (rc = ss_json_keys(id, id_keys, p, err)) < 0)
		return rc;
	x->integrated_time = (int64_t)t;
	ss_pathf(p, sizeof(p), "%s.logId.keyId", path);
	if ((rc = ss_json_hash(json_object_get(id, "keyId"), x->log_id, p,
			       err)) < 0 ||
	    (rc = parse_kind(e, x, path, err)) < 0 ||
	    (rc = ss_json_b64_field(e, "canonicalizedBody", SS_MAX_BODY,
				    &x->body, &x->body_len, path, err)) < 0 ||
	    (rc = parse_promise(e, x, path, err)) < 0)
		return rc;
	return parse_proof(e, x, path, err);
}

static int
parse_entries(json_t *vm, struct ss_material *m, struct pal_err *err)
{
	json_t *a, *e;
	size_t i;
	int rc = ss_json_array(vm, "tlogEntries", PAL_SIGSTORE_MAX_ENTRIES,
			       &a, "verificationMaterial", err);

	if (rc < 0)
		return rc;
	if (a == NULL || json_array_size(a) == 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "verificationMaterial.tlogEntries: the "
				   "sigstore method needs a transparency log "
				   "entry");
	json_array_foreach(a, i, e) {
		char p[P_MAX];
		ss_pathf(p, sizeof(p), "verificationMaterial.tlogEntries[%zu]",
			 i);
		m->n_entries = i + 1;
		if ((rc = parse_entry(e, &m->entries[i], p, err)) < 0)
			return rc;
		for (size_t k = 0; k < i; k++)
			if (m->entries[k].log_index == m->entries[i].log_index &&
			    memcmp(m->entries[k].log_id, m->entries[i].log_id,
				   32) == 0)
				return pal_err_set(err, PAL_ERR_FORMAT,
						   "%s: the same entry as "
						   "tlogEntries[%zu]", p, k);
	}
	return 0;
}

static int
parse_timestamps(json_t *vm, struct ss_material *m, struct pal_err *err)
{
	static const char *const path =
		"verificationMaterial.timestampVerificationData";
	json_t *tvd, *a, *t;
	size_t i;
	int rc = ss_json_obj(vm, "timestampVerificationData", 0, &tvd,
			     "verificationMaterial", err);

	if (rc < 0 || tvd == NULL)
		return rc;
	if ((rc = ss_json_keys(tvd, tvd_keys, path, err)) < 0 ||
	    (rc = ss_json_array(tvd, "rfc3161Timestamps",
				PAL_SIGSTORE_MAX_TIMESTAMPS, &a, path,
				err)) < 0 || a == NULL)
		return rc;
	json_array_foreach(a, i, t) {
		char p[P_MAX];
		ss_pathf(p, sizeof(p), "%s.rfc3161Timestamps[%zu]", path, i);
		if (!json_is_object(t))
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "%s: not an object", p);
		m->n_tsts = i + 1;
		if ((rc = ss_json_keys(t, ts_keys, p, err)) < 0 ||
		    (rc = ss_json_b64_field(t, "signedTimestamp",
					    SS_MAX_TIMESTAMP, &m->tsts[i].p,
					    &m->tsts[i].len, p, err)) < 0)
			return rc;
	}
	return 0;
}

int
ss_material_parse(json_t *vm, struct ss_material *m, struct pal_err *err)
{
	int rc;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(vm))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "verificationMaterial: not an object");
	if ((rc = ss_json_keys(vm, vm_keys, "verificationMaterial",
			       err)) < 0 ||
	    (rc = parse_leaf(vm, m, err)) < 0 ||
	    (rc = parse_entries(vm, m, err)) < 0 ||
	    (rc = parse_timestamps(vm, m, err)) < 0)
		return rc;
	return 0;
}

void
ss_material_clear(struct ss_material *m)
{
	X509_free(m->leaf);
	for (size_t i = 0; i < m->n_entries; i++) {
		struct ss_entry *e = &m->entries[i];
		free(e->body);
		free(e->set);
		free(e->hashes);
		free(e->checkpoint);
	}
	for (size_t i = 0; i < m->n_tsts; i++)
		free(m->tsts[i].p);
	memset(m, 0, sizeof(*m));
}
