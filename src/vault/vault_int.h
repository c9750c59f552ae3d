/*
 * vault_int.h - the vault's private parts shared between its files.
 */
#ifndef PALISADE_VAULT_INT_H
#define PALISADE_VAULT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "palisade/approval.h"
#include "palisade/buf.h"
#include "palisade/error.h"
#include "palisade/keystore.h"
#include "palisade/vault.h"

/* Paths under this prefix are the vault's own, never a model's. */
#define VAULT_RESERVED ".palisade/"

/* One regular file of a model directory. */
struct vfile {
	char *path;		/* relative, '/'-separated; owned */
	uint64_t size;
};

struct vfiles {
	struct vfile *v;	/* sorted by path (strcmp) */
	size_t n, cap;
};

/*
 * Lists every regular file under root (a directory, or one regular file,
 * which is listed under its base name), without following symbolic links.
 * Refused, naming the path: a symbolic link, a device, FIFO or socket,
 * a name that is not a valid sealed path (sealed.h), a path under
 * VAULT_RESERVED, more than max_files files.
 */
int vault_walk(const char *root, size_t max_files, struct vfiles *out,
	       struct pal_err *err);

void vfiles_free(struct vfiles *f);

/* ---- vault.c: an open vault ---- */

struct pal_vault {
	char *dir;
	int dirfd;
	char id[PAL_VAULT_ID_HEX + 1];
	char *module, *token, *serial, *softhsm_dir, *log_dir;
	struct pal_keystore_pin pin;	/* borrowed from the opener */
	struct pal_keystore *ks;	/* opened on first need */
	struct pal_tpc_approvers *approvers;
	struct pal_tpc_replay *replay;
};

/* The vault's own files, relative to its directory. */
#define VAULT_ADMIN_PUB "admin.pub.pem"
#define VAULT_APPROVERS "approvers.dsse"
#define VAULT_STATE "state.db"

/* ---- vault_set.c: the approver set ---- */

/*
 * At creation: admin.pub.pem from in->admin_key, the first approver set
 * (serial 1) signed with it, recorded in state.db and logged.
 */
int vault_first_set(struct pal_vault *v, const struct pal_vault_init *in,
		    struct pal_err *err);

/*
 * (Re)loads v->approvers, verified with admin.pub.pem and accepted in
 * state.db (opening v->replay): a set older than the newest accepted is
 * refused; a newer one is logged ("vault.approvers", event "adopted")
 * and recorded.  Run before every authorization, so that a replaced set
 * takes effect in a vault that stays open.
 */
int vault_load_set(struct pal_vault *v, struct pal_err *err);

/* The vault's token, opened (and logged into) on first use. */
int vault_keystore(struct pal_vault *v, struct pal_keystore **ks,
		   struct pal_err *err);

/*
 * Authorizes op on release with a's request and approvals (approval.h),
 * using up the request.  A refusal is recorded in the audit log
 * ("vault.refused") and returned as PAL_ERR_VERIFY.
 */
int vault_authorize(struct pal_vault *v, enum pal_tpc_op op,
		    const char *release, const struct pal_vault_authz *a,
		    struct pal_err *err);

/*
 * Appends {"type": type, ..., "details": details_json} to the vault's
 * log; without a log, *logged is 0 and nothing happens.
 */
int vault_audit(struct pal_vault *v, const char *type,
		const char *details_json, uint64_t *index, int *logged,
		struct pal_err *err);

/* The same with details as a jansson object (taken, even on failure). */
struct json_t;
int vault_audit_json(struct pal_vault *v, const char *type,
		     struct json_t *details, uint64_t *index, int *logged,
		     struct pal_err *err);

/* "releases/<release>" and its files/ directory, relative to the vault. */
#define VAULT_RELEASES "releases"
#define VAULT_MANIFEST "release.sealed"
#define VAULT_MANIFEST_PATH ".palisade/release.json"
#define VAULT_SUFFIX ".sealed"

/*
 * The key a sealed header names, for release: its wrapped data key (the
 * wrap number mapped to the keystore's mechanism, the length checked) and
 * the KEK its label and id find in the token, which must be release's.
 * PAL_ERR_VERIFY for a header that names another release's key.
 */
struct pal_sealed_header;
int vault_header_key(struct pal_keystore *ks, const char *release,
		     const struct pal_sealed_header *h, struct pal_kek *kek,
		     struct pal_wrapped_dek *w, struct pal_err *err);

/* The same for the header of release's file list, read from the vault. */
int vault_release_key(struct pal_vault *v, const char *release,
		      struct pal_keystore *ks, struct pal_kek *kek,
		      struct pal_wrapped_dek *w, struct pal_err *err);

/*
 * Makes a staging directory under releases/ (".staging-" and 16 random
 * hex digits; no release name starts with '.'), its name in stage and an
 * open descriptor of it in *fd.
 */
int vault_make_stage(struct pal_vault *v, char *stage, size_t n, int *fd,
		     struct pal_err *err);

/* The header's wrap number for a keystore mechanism, and back. */
int vault_wrap_to_header(unsigned long mech, uint8_t *out);
int vault_wrap_from_header(uint8_t wrap, unsigned long *mech);

/* rm -rf of path relative to dirfd (best effort, for cleanup). */
void vault_remove_tree(int dirfd, const char *path);

#endif
