/*
 * trust_policy.h - which signers `palisade verify --policy FILE` trusts
 * for which model (docs/trust-policy.md).
 *
 * A trust policy is an ordered list of rules.  Each rule names, by an
 * fnmatch(3) glob over the model's source name ("huggingface.co/acme/
 * *"), the public keys, certificate authorities and Sigstore identities
 * allowed to sign models from that source.  The first rule whose glob
 * matches a source is the only one that applies to it.
 *
 * Everything fails closed: a source that no rule matches, or whose rule
 * lists no signer, has nothing it can be verified against
 * (pal_trust_policy_select says which).  The file is parsed strictly and
 * every key, certificate and trusted root it names is loaded and checked
 * when the policy is loaded, so that a policy that loads is one that can
 * be used; any error names file:line:column.
 */
#ifndef PALISADE_TRUST_POLICY_H
#define PALISADE_TRUST_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "palisade/error.h"

#define PAL_TRUST_POLICY_MAX (1 << 20)	/* bytes of a policy file */
#define PAL_TRUST_MAX_RULES 256		/* rules in a policy */
#define PAL_TRUST_MAX_KEYS 64		/* keys in a rule */
#define PAL_TRUST_MAX_CAS 64		/* cas entries in a rule */
#define PAL_TRUST_MAX_IDS 64		/* sigstore identities in a rule */
#define PAL_TRUST_MAX_INTERMEDIATES 16	/* intermediate files of a CA */
#define PAL_TRUST_MATCH_MAX 1024	/* bytes of a match glob */
#define PAL_TRUST_ID_MAX 255		/* bytes of an identity or issuer */

struct pal_sigstore_root;

/*
 * A certificate authority: a leaf must chain to one of roots (every one
 * a self-signed CA certificate), helped by intermediates (CA
 * certificates; NULL when the entry lists none).
 */
struct pal_trust_ca {
	STACK_OF(X509) *roots;
	STACK_OF(X509) *intermediates;
};

/* A Sigstore signer: the certificate's SAN and OIDC issuer, both exact. */
struct pal_trust_identity {
	char *identity;
	char *issuer;
};

/*
 * One rule.  Everything it points to is owned by the policy and lives as
 * long as it does.  A rule may allow nothing (n_keys, n_cas and n_ids all
 * 0): it then says that nothing may be trusted for its sources.
 */
struct pal_trust_rule {
	char *match;		/* the glob */
	size_t line;		/* 1-based line where the rule starts */
	EVP_PKEY **keys;	/* ECDSA P-256, P-384 or P-521 */
	size_t n_keys;
	struct pal_trust_ca *cas;
	size_t n_cas;
	/* NULL when the rule has no sigstore section, else n_ids >= 1. */
	struct pal_sigstore_root *trusted_root;
	struct pal_trust_identity *ids;
	size_t n_ids;
};

struct pal_trust_policy;

/*
 * Reads and parses a policy file (a regular file of at most
 * PAL_TRUST_POLICY_MAX bytes).  Relative paths in it are taken from the
 * directory of path.  *out is the caller's (pal_trust_policy_free).
 */
int pal_trust_policy_load(const char *path, struct pal_trust_policy **out,
			  struct pal_err *err);

/*
 * Parses a policy from memory.  name is the file name used in messages;
 * relative paths in the policy are taken from base_dir (NULL: the current
 * directory).  Every key, certificate and trusted root the policy names
 * is loaded now.  Returns 0, PAL_ERR_POLICY for a malformed policy, or
 * the error of a referenced file that could not be used (PAL_ERR_IO,
 * PAL_ERR_FORMAT, ...); err then starts with "name:line:column: ".
 * *out is set only on success.
 */
int pal_trust_policy_parse(const uint8_t *yaml, size_t len, const char *name,
			   const char *base_dir,
			   struct pal_trust_policy **out, struct pal_err *err);

/* Frees the policy and everything its rules point to; NULL is a no-op. */
void pal_trust_policy_free(struct pal_trust_policy *p);

/* The file name the policy was loaded under. */
const char *pal_trust_policy_name(const struct pal_trust_policy *p);

/* The rules in file order: i < pal_trust_policy_count(p). */
size_t pal_trust_policy_count(const struct pal_trust_policy *p);
const struct pal_trust_rule *pal_trust_policy_rule(
	const struct pal_trust_policy *p, size_t i);

/*
 * The first rule whose glob matches source (fnmatch(3), no flags: '*'
 * also matches '/', comparison is case-sensitive), or NULL.
 */
const struct pal_trust_rule *pal_trust_policy_match(
	const struct pal_trust_policy *p, const char *source);

/*
 * The rule that applies to source, failing closed: PAL_ERR_VERIFY naming
 * the source when no rule matches it, or naming the rule (file:line and
 * glob) when it matches a rule that allows no signer; PAL_ERR_INVALID for
 * a NULL or empty source.  *rule is set only on success.
 */
int pal_trust_policy_select(const struct pal_trust_policy *p,
			    const char *source,
			    const struct pal_trust_rule **rule,
			    struct pal_err *err);

#endif
