/*
 * trust_policy_material.c - the keys, certificates and Sigstore trusted
 * roots a trust policy names, loaded when the policy is.
 *
 * The policy is configuration its owner wrote, but a path in it may still
 * be wrong.  Each file must be a regular file that is not empty (a FIFO,
 * a device or a file of /proc would hang or feed the loaders forever),
 * and what it holds is checked for what the policy uses it as, so that a
 * mistake shows when the policy is loaded rather than as a verification
 * that can never succeed: a key must be an ECDSA public key of a curve
 * OMS signs with, every certificate of a CA entry a CA certificate, every
 * root self-signed (the chain verifier accepts no other anchor).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "palisade/signer.h"
#include "palisade/sigstore.h"
#include "palisade/x509.h"
#include "trust_policy_int.h"

/* base_dir/path, or path itself when it is absolute; caller frees *out. */
static int
resolve(const char *base_dir, const char *path, char **out,
	struct pal_err *err)
{
	size_t nb, np = strlen(path);
	char *s;

	*out = NULL;
	if (path[0] == '/' || base_dir == NULL || base_dir[0] == '\0')
		nb = 0;
	else
		nb = strlen(base_dir);
	if (np + nb + 2 > PAL_TRUST_PATH_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "path longer than %d "
				   "bytes", PAL_TRUST_PATH_MAX);
	if ((s = malloc(nb + 1 + np + 1)) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (nb > 0) {
		memcpy(s, base_dir, nb);
		s[nb++] = '/';
	}
	memcpy(s + nb, path, np + 1);
	*out = s;
	return 0;
}

static int
check_regular(const char *path, struct pal_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				   strerror(errno));
	if (!S_ISREG(st.st_mode))
		return pal_err_set(err, PAL_ERR_IO, "%s: not a regular file",
				   path);
	/*
	 * No key, certificate or root is empty; files of /proc and /sys say
	 * they are, and some of them block when read.
	 */
	if (st.st_size == 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "%s: empty file", path);
	return 0;
}

/* The resolved path of a file that exists and is regular. */
static int
open_path(const char *base_dir, const char *path, char **out,
	  struct pal_err *err)
{
	int rc = resolve(base_dir, path, out, err);

	if (rc == 0 && (rc = check_regular(*out, err)) != 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int
pal_trust_load_key(const char *base_dir, const char *path, EVP_PKEY **out,
		   struct pal_err *err)
{
	char *full;
	int rc;

	*out = NULL;
	if ((rc = open_path(base_dir, path, &full, err)) != 0)
		return rc;
	rc = pal_pubkey_load(full, out, err);
	free(full);
	return rc;
}

/* Every certificate of a CA entry must be able to issue certificates. */
static int
check_cert(X509 *x, const char *path, int root, struct pal_err *err)
{
	char subj[256];
	int ca = X509_check_ca(x);
	int self = X509_self_signed(x, 1);

	ERR_clear_error();
	if (ca != 0 && (!root || self == 1))
		return 0;
	pal_x509_subject(x, subj, sizeof(subj));
	if (ca == 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "%s: certificate '%s' "
				   "is not a CA certificate", path, subj);
	return pal_err_set(err, PAL_ERR_FORMAT, "%s: root certificate '%s' "
			   "is not self-signed (list it under "
			   "intermediates and name its root)", path, subj);
}

int
pal_trust_load_certs(const char *base_dir, const char *path, int root,
		     STACK_OF(X509) *into, struct pal_err *err)
{
	STACK_OF(X509) *st = NULL;
	char *full;
	int rc;

	if ((rc = open_path(base_dir, path, &full, err)) != 0)
		return rc;
	if ((rc = pal_x509_load_file(full, &st, err)) != 0)
		goto out;
	for (int i = 0; i < sk_X509_num(st); i++)
		if ((rc = check_cert(sk_X509_value(st, i), full, root,
				     err)) != 0)
			goto out;
	while (sk_X509_num(st) > 0) {
		X509 *x = sk_X509_shift(st);

		if (!sk_X509_push(into, x)) {
			X509_free(x);
			rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
out:
	if (st != NULL)
		sk_X509_pop_free(st, X509_free);
	free(full);
	return rc;
}

/* A root already loaded from the same resolved path, or NULL. */
static struct pal_sigstore_root *
root_cached(const struct pal_trust_policy *p, const char *full)
{
	for (size_t i = 0; i < p->n_roots; i++)
		if (strcmp(p->roots[i].path, full) == 0)
			return p->roots[i].root;
	return NULL;
}

int
pal_trust_load_root(struct pal_trust_policy *p, const char *base_dir,
		    const char *path, struct pal_sigstore_root **out,
		    struct pal_err *err)
{
	struct pal_trust_root_file *v;
	struct pal_sigstore_root *root = NULL;
	char *full;
	int rc;

	*out = NULL;
	if ((rc = open_path(base_dir, path, &full, err)) != 0)
		return rc;
	if ((*out = root_cached(p, full)) != NULL)
		goto out;
	v = reallocarray(p->roots, p->n_roots + 1, sizeof(*v));
	if (v == NULL) {
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		goto out;
	}
	p->roots = v;
	if ((rc = pal_sigstore_root_load(full, &root, err)) != 0)
		goto out;
	v[p->n_roots].path = full;
	v[p->n_roots].root = root;
	p->n_roots++;
	*out = root;
	full = NULL;
out:
	free(full);
	return rc;
}

void
pal_trust_roots_free(struct pal_trust_policy *p)
{
	for (size_t i = 0; i < p->n_roots; i++) {
		pal_sigstore_root_free(p->roots[i].root);
		free(p->roots[i].path);
	}
	free(p->roots);
	p->roots = NULL;
	p->n_roots = 0;
}
