/*
 * signing.h - signing a model into an OMS bundle, and verifying a model
 * against one.
 *
 * Verification fails closed: the bundle's signature must hold for the
 * trust material the caller names (a public key, a CA, or a Sigstore
 * trusted root with an identity), the statement must be consistent, every
 * signed file must be present with its digest, and no file may be present
 * that was not signed, save the ignore paths the bundle records.
 */
#ifndef PALISADE_SIGNING_H
#define PALISADE_SIGNING_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "palisade/buf.h"
#include "palisade/error.h"
#include "palisade/manifest.h"
#include "palisade/oms.h"
#include "palisade/signer.h"

struct pal_sigstore_root;
struct pal_trust_rule;

/*
 * Hashes the model and signs its statement.  With chain (leaf first, the
 * leaf's key must be the signer's) a certificate bundle is written,
 * otherwise a key bundle.  *m receives the manifest (caller frees) when
 * m is not NULL.
 */
int pal_oms_sign(const char *model, const struct pal_manifest_opts *o,
		 struct pal_signer *signer, STACK_OF(X509) *chain,
		 struct pal_buf *bundle, struct pal_manifest **m,
		 struct pal_err *err);

struct pal_verify_opts {
	const char *model;		/* with files: only a name */
	const char *signature;		/* the bundle's path */
	/*
	 * The model as open files instead of a path (a release unsealed
	 * into memfds: what is verified is then exactly what will be
	 * read), hashed as pal_manifest_compute_files hashes them.  A
	 * single file is taken for the bundle's single-file model when
	 * the bundle names it "." (model_signing's way) or by its name.
	 */
	const struct pal_manifest_file *files;
	size_t n_files;
	EVP_PKEY *key;			/* key method */
	STACK_OF(X509) *roots;		/* certificate method */
	STACK_OF(X509) *intermediates;
	const struct pal_sigstore_root *trusted_root;	/* sigstore */
	const char *identity;
	const char *issuer;
	/*
	 * A trust policy's rule for the model's source: when set, the bundle
	 * must verify with one of the signers it allows, and key, roots and
	 * trusted_root above are not used.
	 */
	const struct pal_trust_rule *rule;
	const char *const *ignore;	/* more paths to leave out */
	size_t n_ignore;
	int threads;
};

#define PAL_VERIFY_DIFFS 64

struct pal_verify_report {
	enum pal_oms_method method;
	char signer[512];		/* who signed, as established */
	int v01;			/* deprecated v0.1 predicate */
	struct pal_manifest *want;	/* the signed manifest */
	struct pal_manifest *got;	/* the model as found */
	struct pal_diff diffs[PAL_VERIFY_DIFFS];
	long n_diffs;			/* all differences found */
};

/*
 * Verifies.  Returns 0 when the model is what was signed, PAL_ERR_VERIFY
 * when it is not (err says which check failed first; r->diffs lists file
 * differences), or another error when verification could not run.
 */
int pal_oms_verify(const struct pal_verify_opts *o,
		   struct pal_verify_report *r, struct pal_err *err);

void pal_verify_report_free(struct pal_verify_report *r);

#endif
