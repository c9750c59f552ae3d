/*
 * vault.h - a Palisade vault: model releases encrypted at rest, their keys
 * in a PKCS#11 token, two people needed to open them (docs/vault.md).
 *
 *	VAULT/vault.json		configuration (pal_vault_create)
 *	VAULT/admin.pub.pem		the key that signs the approver set
 *	VAULT/approvers.dsse		the approver set (approval.h)
 *	VAULT/state.db			requests already used, approver sets
 *					accepted (approval.h)
 *	VAULT/releases/R/release.sealed	the release's file list, sealed
 *	VAULT/releases/R/files/P.sealed	file P of release R (sealed.h)
 *
 * Each release has its own key-encryption key in the token (keystore.h)
 * and a data key that exists outside the token only wrapped, in the
 * headers of the release's files, or in locked memory while a file is
 * sealed or unsealed.  The embedded default token is a SoftHSM2 token of
 * the vault's own, kept beside the vault (VAULT.hsm/ unless told
 * otherwise) so that a copy of the vault directory carries no keys.
 *
 * Sealing needs the token's PIN.  Unsealing and shredding also need a
 * request approved by as many distinct approvers of the vault's approver
 * set as its threshold, none of them the requester (approval.h); the
 * request is used up by the attempt.  Key rotation needs the PIN only: it
 * reveals nothing.
 *
 * The approver set is signed by the admin key (admin.pub.pem) and has a
 * serial; the vault records in state.db the newest set it accepted and
 * refuses an older one, so that an old signed set put back in the
 * directory does not bring back the approvers it listed.  Only the admin
 * key replaces the set (pal_vault_set_approvers).
 *
 * Every seal, unseal, refusal, rotation, shred and approver set is
 * appended to the vault's Palisade log, when it has one (tlog.h,
 * pal_log_record); a vault operation whose log entry cannot be written
 * fails.
 *
 * Errors: PAL_ERR_VERIFY for anything found altered, swapped or missing
 * in the vault and for a refused authorization; PAL_ERR_INVALID for bad
 * arguments (an existing release, an unknown one); PAL_ERR_IO; the
 * keystore's errors for the token.  Nothing half-written is left behind:
 * a release appears whole or not at all, unsealed files appear whole or
 * not at all.
 */
#ifndef PALISADE_VAULT_H
#define PALISADE_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/approval.h"
#include "palisade/error.h"
#include "palisade/keystore.h"

#define PAL_VAULT_VERSION 1
#define PAL_VAULT_FILES_MAX 100000	/* files in one release */
#define PAL_VAULT_ID_HEX 32		/* 16 random bytes */

struct pal_vault;

struct pal_vault_init {
	const char *module;	/* PKCS#11 module; NULL: embedded SoftHSM2 */
	const char *token;	/* token label; NULL: "palisade-vault" */
	const char *hsm_dir;	/* embedded token's home; NULL: VAULT.hsm */
	struct pal_keystore_pin pin;	/* user PIN; both NULL: environment */
	struct pal_keystore_pin so_pin;	/* SO PIN, for an embedded token */
	const char *admin_key;	/* PEM file or PKCS#11 URI: signs approvers */
	const char *const *approver_names;
	const char *const *approver_keys;	/* PEM public key files */
	size_t n_approvers;
	unsigned threshold;	/* 0: 2 */
	const char *log_dir;	/* the audit log (a Palisade log), or NULL */
};

/*
 * Creates a vault at dir (which must not exist): for the embedded
 * default, a new SoftHSM2 token; the configuration; the approver set,
 * serial 1, signed with admin_key (threshold PAL_TPC_THRESHOLD_MIN ..
 * n_approvers, approval.h), recorded in state.db and logged
 * ("vault.approvers", event "created").  The token is opened once to
 * check that it offers AES key wrapping.
 */
int pal_vault_create(const char *dir, const struct pal_vault_init *in,
		     struct pal_err *err);

/*
 * Opens the vault at dir.  The token is opened (with pin) on first need.
 * log_dir, when not NULL, replaces the configured audit log.
 */
int pal_vault_open(const char *dir, const struct pal_keystore_pin *pin,
		   const char *log_dir, struct pal_vault **out,
		   struct pal_err *err);
void pal_vault_close(struct pal_vault *v);

const char *pal_vault_id(const struct pal_vault *v);

/*
 * The verified approver set of the vault at dir (its admin key's
 * signature checked), without opening the token: for approvers, who
 * check a request against it before they sign.  Its serial is not
 * compared with the vault's state.db (an approver may hold a copy of the
 * vault without it); the operations and pal_vault_current_approvers do
 * that.  Caller frees.
 */
int pal_vault_approvers(const char *dir, struct pal_tpc_approvers **out,
			struct pal_err *err);

/*
 * The set the vault's operations would use now, as `keys approvers
 * --show` reports it: verified with admin.pub.pem and judged against the
 * newest set recorded in state.db (PAL_ERR_VERIFY for an older set put
 * back), without recording anything and without the token.  admin_hint
 * receives the admin key's fingerprint (pal_pubkey_hint), accepted (may
 * be NULL) the newest set the vault has accepted.  *out: caller frees.
 */
int pal_vault_current_approvers(struct pal_vault *v,
				struct pal_tpc_approvers **out,
				char admin_hint[65],
				struct pal_tpc_set_record *accepted,
				struct pal_err *err);

/* A new approver set: the members and rules of pal_vault_init's. */
struct pal_vault_approvers_change {
	const char *admin_key;	/* PEM file or PKCS#11 URI */
	const char *const *approver_names;
	const char *const *approver_keys;	/* PEM public key files */
	size_t n_approvers;
	unsigned threshold;	/* 0: PAL_TPC_THRESHOLD_DEFAULT */
};

/* What pal_vault_set_approvers did; free with _changed_free. */
struct pal_vault_approvers_changed {
	struct pal_tpc_approvers *before;	/* NULL when it was refused */
	char before_refused[PAL_ERR_MSG_MAX];	/* why, when before is NULL */
	struct pal_tpc_approvers *after;	/* the set now in force */
	uint64_t log_index;
	int logged;
};

void pal_vault_approvers_changed_free(struct pal_vault_approvers_changed *c);

/*
 * Replaces the vault's approver set (two-person control, docs/vault.md):
 * the admin key must be the vault's (admin.pub.pem; PAL_ERR_VERIFY
 * otherwise, with both keys' fingerprints); the new set is checked as at
 * creation (pal_tpc_approvers_build), gets the serial after both the set
 * in place and the newest the vault accepted, is written atomically over
 * approvers.dsse, logged ("vault.approvers", event "changed", with the
 * old and new names and thresholds) and recorded in state.db, all under
 * state.db's write lock.  The set in place may have been refused (an old
 * set put back, a bad signature): it is then replaced all the same, and
 * before_refused says why.  A log entry that cannot be written undoes
 * the change.  The token is not needed.
 */
int pal_vault_set_approvers(struct pal_vault *v,
			    const struct pal_vault_approvers_change *c,
			    struct pal_vault_approvers_changed *out,
			    struct pal_err *err);

struct pal_vault_sealed {
	size_t files;
	uint64_t bytes;			/* plaintext bytes sealed */
	char kek_label[PAL_KEYSTORE_LABEL_MAX + 1];
	uint64_t log_index;		/* the audit entry; 0 without a log */
	int logged;
};

/*
 * Seals the model at path (a directory or one file) as release, under
 * model_name (NULL: the path's base name), with threads workers (0: one
 * per online CPU).  The release must be new, in the vault and the token.
 */
int pal_vault_seal(struct pal_vault *v, const char *path,
		   const char *release, const char *model_name,
		   unsigned threads, struct pal_vault_sealed *out,
		   struct pal_err *err);

/* The approvals an operation is run with. */
struct pal_vault_authz {
	const char *requester;		/* NULL: any */
	const char *request;		/* request file, or NULL */
	const char *const *approvals;	/* approval files */
	size_t n_approvals;
	struct pal_tpc_report *report;	/* filled in when not NULL */
};

enum pal_unseal_kind {
	PAL_UNSEAL_DIR,		/* into a new directory */
	PAL_UNSEAL_MEMFD,	/* into sealed memfds, one per file */
	PAL_UNSEAL_FD,		/* one file, into a file descriptor */
};

struct pal_unseal_target {
	enum pal_unseal_kind kind;
	const char *dir;	/* DIR: must not exist; appears when done */
	int fd;			/* FD: written once the file authenticated */
	const char *path;	/* FD: which file (NULL: the release's only) */
};

/* A file unsealed into a memfd (sealed against writes and resizing). */
struct pal_unsealed_file {
	char *path;
	int fd;
	uint64_t size;
};

struct pal_unsealed {
	struct pal_unsealed_file *f;	/* PAL_UNSEAL_MEMFD only */
	size_t n;
	uint64_t bytes;
	uint64_t log_index;
	int logged;
};

/* Closes the memfds and frees out's contents. */
void pal_unsealed_free(struct pal_unsealed *u);

/*
 * Unseals release into t after authorizing the request (operation
 * "unseal", this release and vault).  Every file is authenticated before
 * any of its plaintext is visible: into a directory through a temporary
 * one renamed into place; to a file descriptor after the whole file has
 * been opened in a memfd.
 */
int pal_vault_unseal(struct pal_vault *v, const char *release,
		     const struct pal_vault_authz *a,
		     const struct pal_unseal_target *t,
		     struct pal_unsealed *out, struct pal_err *err);

/*
 * Destroys the release's keys in the token after authorizing the request
 * (operation "shred"); the sealed files stay, and no one can open them
 * with this vault again.  docs/vault.md says what this guarantees with
 * SoftHSM2 and with a hardware token.
 */
int pal_vault_shred(struct pal_vault *v, const char *release,
		    const struct pal_vault_authz *a, size_t *destroyed,
		    struct pal_err *err);

/*
 * Exports the release's data key after authorizing the request
 * (operation "export"): encrypted with RSA-OAEP (SHA-256) to the RSA
 * public key (at least 2048 bits) in the PEM file recipient, written as
 * JSON to out (which must not exist; mode 0600).  A PKCS#11 token can
 * unwrap it directly (CKM_RSA_PKCS_OAEP); the key is never plaintext
 * outside this process's locked memory.  docs/vault.md.
 */
int pal_vault_export(struct pal_vault *v, const char *release,
		     const struct pal_vault_authz *a, const char *recipient,
		     const char *out, struct pal_err *err);

/*
 * Gives the release a new key-encryption key: the data key is rewrapped
 * in the token, every file's header is rewritten (through a temporary
 * copy and a rename), and the old key is destroyed.
 */
int pal_vault_rotate(struct pal_vault *v, const char *release,
		     struct pal_kek *now, struct pal_err *err);

/* One release, as pal_vault_list reports it. */
struct pal_vault_release {
	char name[PAL_KEYSTORE_RELEASE_MAX + 1];
	int has_files;		/* releases/R exists */
	int has_key;		/* its key is in the token */
	struct pal_kek kek;	/* when has_key */
};

/* Every release in the vault or the token; *out: caller frees. */
int pal_vault_list(struct pal_vault *v, struct pal_vault_release **out,
		   size_t *n, struct pal_err *err);

#endif
