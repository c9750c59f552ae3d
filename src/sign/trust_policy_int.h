/*
 * trust_policy_int.h - what the trust policy's files share: the policy
 * object, the YAML reader (trust_policy_yaml.c) and the loading of the
 * keys, certificates and trusted roots a policy names
 * (trust_policy_material.c).
 */
#ifndef PAL_TRUST_POLICY_INT_H
#define PAL_TRUST_POLICY_INT_H

#include "palisade/trust_policy.h"

#define PAL_TRUST_PATH_MAX 4096	/* bytes of a path, resolved */

/* A trusted root loaded once and shared by every rule that names it. */
struct pal_trust_root_file {
	char *path;		/* as resolved against the base directory */
	struct pal_sigstore_root *root;
};

struct pal_trust_policy {
	char *name;
	struct pal_trust_rule *rules;
	size_t n_rules;
	struct pal_trust_root_file *roots;
	size_t n_roots;
};

/*
 * Reads the YAML into p (empty, name set).  On failure p holds whatever
 * was read so far, which pal_trust_policy_free releases.
 */
int pal_trust_policy_read_yaml(struct pal_trust_policy *p, const uint8_t *yaml,
			       size_t len, const char *base_dir,
			       struct pal_err *err);

/*
 * Loaders for the files a policy names.  path is as written in the
 * policy: absolute, or relative to base_dir (NULL: the current
 * directory).  Each refuses what is not a regular file, and its message
 * names the resolved path.
 */

/* One ECDSA P-256, P-384 or P-521 PEM public key; caller frees *out. */
int pal_trust_load_key(const char *base_dir, const char *path,
		       EVP_PKEY **out, struct pal_err *err);

/*
 * Appends the certificates of a PEM (or one DER) file to into; each must
 * be a CA certificate and, when root is set, self-signed.
 */
int pal_trust_load_certs(const char *base_dir, const char *path, int root,
			 STACK_OF(X509) *into, struct pal_err *err);

/*
 * A Sigstore trusted_root.json, loaded once per resolved path and owned
 * by p: *out is borrowed.
 */
int pal_trust_load_root(struct pal_trust_policy *p, const char *base_dir,
			const char *path, struct pal_sigstore_root **out,
			struct pal_err *err);

/* Frees the trusted roots p loaded. */
void pal_trust_roots_free(struct pal_trust_policy *p);

#endif
