/*
 * sigstore.c - offline verification of a Sigstore keyless signature over
 * a DSSE envelope: the checks of sigstore.h, in this order, so that the
 * first failure reported is the most specific one:
 *  1. the material parses (sigstore_material.c);
 *  2. the DSSE signature verifies with the certificate's key;
 *  3. each tlog entry binds the envelope and is proven in its log
 *     (sigstore_tlog.c); entries with a verified promise give signing
 *     times;
 *  4. each RFC 3161 timestamp verifies (sigstore_tsa.c) and gives one;
 *  5. at every signing time the certificate chains to a Fulcio CA valid
 *     then (sigstore_cert.c), and it may sign code;
 *  6. an embedded SCT verifies (sigstore_sct.c);
 *  7. identity and issuer are the wanted ones.
 * Trusts: the trusted root.  Everything in the material is input.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "palisade/dsse.h"
#include "sigstore_int.h"

#define MAX_TIMES (PAL_SIGSTORE_MAX_ENTRIES + PAL_SIGSTORE_MAX_TIMESTAMPS)

struct times {
	int64_t t[MAX_TIMES];
	size_t n;
};

static int
check_dsse(X509 *leaf, const struct ss_envelope *env, struct pal_err *err)
{
	EVP_PKEY *key = X509_get0_pubkey(leaf);

	ERR_clear_error();
	if (key == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "certificate: unusable public key");
	return pal_dsse_verify(key, env->payload_type, env->payload,
			       env->payload_len, env->sig, env->sig_len, err);
}

static int
check_tlog(const struct pal_sigstore_root *root, const struct ss_material *m,
	   const struct ss_envelope *env, struct times *ts,
	   struct pal_err *err)
{
	for (size_t i = 0; i < m->n_entries; i++) {
		int promised = 0;
		int rc = ss_tlog_verify(root, &m->entries[i], m->leaf, env,
					&promised, err);
		if (rc < 0)
			return pal_err_wrap(err, rc, "tlogEntries[%zu]: ", i);
		/* Without a verified promise the time is not signed. */
		if (promised)
			ts->t[ts->n++] = m->entries[i].integrated_time;
	}
	return 0;
}

static int
check_timestamps(const struct pal_sigstore_root *root,
		 const struct ss_material *m, const struct ss_envelope *env,
		 struct times *ts, struct pal_err *err)
{
	for (size_t i = 0; i < m->n_tsts; i++) {
		int64_t at;
		int rc = ss_tsa_verify(root, &m->tsts[i], env->sig,
				       env->sig_len, &at, err);
		if (rc < 0)
			return pal_err_wrap(err, rc, "rfc3161Timestamps[%zu]: ",
					    i);
		ts->t[ts->n++] = at;
	}
	if (ts->n == 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "no verified signing time: no tlog entry "
				   "with an inclusion promise and no RFC 3161 "
				   "timestamp");
	return 0;
}

/* The chain at every signing time; the SCT with the issuer found. */
static int
check_cert(const struct pal_sigstore_root *root, X509 *leaf,
	   const struct times *ts, struct pal_err *err)
{
	X509 *issuer = NULL;

	for (size_t i = 0; i < ts->n; i++) {
		int rc = ss_cert_chain(root, leaf, ts->t[i], &issuer, err);
		if (rc < 0)
			return rc;
	}
	return ss_sct_verify(root, leaf, issuer, err);
}

static int64_t
earliest(const struct times *ts)
{
	int64_t m = ts->t[0];

	for (size_t i = 1; i < ts->n; i++)
		if (ts->t[i] < m)
			m = ts->t[i];
	return m;
}

static int
verify(const struct pal_sigstore_root *root, const struct ss_material *m,
       const struct ss_envelope *env, const struct pal_sigstore_want *want,
       struct pal_sigstore_result *res, struct pal_err *err)
{
	struct times ts;
	int rc;

	ts.n = 0;
	if ((rc = check_dsse(m->leaf, env, err)) < 0 ||
	    (rc = check_tlog(root, m, env, &ts, err)) < 0 ||
	    (rc = check_timestamps(root, m, env, &ts, err)) < 0 ||
	    (rc = check_cert(root, m->leaf, &ts, err)) < 0 ||
	    (rc = ss_cert_identity(m->leaf, want, res, err)) < 0)
		return rc;
	res->signed_at = earliest(&ts);
	res->log_index = m->entries[0].log_index;
	return 0;
}

int
pal_sigstore_verify(const struct pal_sigstore_root *root,
		    json_t *verification_material, const char *payload_type,
		    const uint8_t *payload, size_t payload_len,
		    const uint8_t *sig, size_t sig_len,
		    const struct pal_sigstore_want *want,
		    struct pal_sigstore_result *res, struct pal_err *err)
{
	struct ss_envelope env = {
		payload_type, payload, payload_len, sig, sig_len,
	};
	struct pal_sigstore_result r;
	int rc;

	memset(res, 0, sizeof(*res));
	if (root == NULL || want == NULL || want->identity == NULL ||
	    want->issuer == NULL || payload_type == NULL ||
	    (payload == NULL && payload_len > 0) || sig == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "sigstore: a trusted root, an identity, an "
				   "issuer and a signature are required");
	struct ss_material *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	memset(&r, 0, sizeof(r));
	rc = ss_material_parse(verification_material, m, err);
	if (rc == 0)
		rc = verify(root, m, &env, want, &r, err);
	ss_material_clear(m);
	free(m);
	if (rc < 0)
		return rc;
	*res = r;
	return 0;
}
