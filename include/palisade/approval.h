/*
 * approval.h - two-person control for the vault: requests, approvals,
 * the signed set of approvers, the check that decides, and the replay
 * store that lets a request run once.
 *
 * The flow.  A requester writes a request (pal_tpc_request_new,
 * pal_tpc_request_write): an operation on one release of one vault, with
 * a random nonce and an expiry.  Each approver signs the request's
 * canonical bytes with their own ECDSA P-256 key (pal_tpc_approve) and
 * hands back an approval file.  The operator runs the operation with the
 * approvals (pal_tpc_authorize): the approvals are checked against the
 * vault's approver set, a DSSE envelope signed by the vault's admin key
 * (pal_tpc_approvers_load), and when M distinct approvers other than the
 * requester signed this very request, the request is recorded as used in
 * the vault's state.db in the same transaction that checked it was not.
 *
 * Formats (docs and tests rely on them; do not change without a version):
 *
 *   request   {"expires":"2025-06-01T12:00:00Z","nonce":"<32 hex>",
 *              "operation":"unseal","release":"R","requester":"alice",
 *              "vault":"V","version":1}
 *   approval  {"approver":"bob","request":{...the request...},
 *              "signature":"<base64 DER ECDSA-Sig-Value>"}
 *   approvers DSSE envelope {"payload":"<base64>","payloadType":
 *              "application/vnd.palisade.approvers+json","signatures":
 *              [{"keyid":"<hint>","sig":"<base64>"}]} whose payload is
 *              {"approvers":[{"key":"<PEM SPKI>","name":"bob"},...],
 *               "serial":3,"threshold":2,"vault":"V","version":2}
 *              (version 1, written before sets had serials, has no
 *              "serial" and is read as serial 0)
 *
 * Canonical form (what is signed and hashed): RFC 8785 (JCS) restricted
 * to objects, arrays, strings and non-negative integers: members sorted by
 * name, no whitespace, strings escaped minimally (\" \\ \b \f \n \r \t,
 * other control characters as \u00xx, everything else as its UTF-8
 * bytes).  The request digest is SHA-256 of the request's canonical bytes;
 * how a request file was laid out (order, whitespace) does not matter.
 * Files are written in canonical form followed by one newline.
 *
 * Parsing is strict: JSON with duplicate names, a member missing or
 * unknown, a value of the wrong type, a number that is not an integer, a
 * string over its limit or outside its character set, or a file over its
 * size cap is refused with the member named.
 *
 * Limits and character sets (decisions):
 *   names     (requester, approver) 1..PAL_TPC_NAME_MAX bytes of
 *             [A-Za-z0-9._@+-], the first an ASCII letter or digit.  One
 *             namespace: a requester is the approver of the same name.
 *   vault id  the same rule as names.
 *   release   1..PAL_TPC_RELEASE_MAX bytes of printable ASCII (0x20 to
 *             0x7e) without '/', without a leading or trailing space, and
 *             neither "." nor "..".  ASCII only, so that the name an
 *             approver reads is the name that is checked (no look-alike
 *             letters from other scripts).
 *   expires   "YYYY-MM-DDTHH:MM:SSZ", UTC, a real date (no leap second);
 *             at most PAL_TPC_TTL_MAX seconds ahead of the clock of the
 *             one who creates, approves or checks the request.
 *   nonce     16 random bytes as 32 lowercase hex digits.
 *   threshold PAL_TPC_THRESHOLD_MIN (2) .. number of approvers.  One is
 *             refused: a single key would then open the vault, which is
 *             not two-person control.
 *   approvers 1..PAL_TPC_APPROVERS_MAX, names and keys distinct, keys
 *             ECDSA P-256 only.
 *   serial    1..PAL_TPC_SERIAL_MAX; a vault's first set is 1, each
 *             replacement one more than any serial the vault accepted.
 *             A vault refuses a set older than the newest it accepted
 *             (pal_tpc_sets_accept), so that an old signed set put back
 *             in the vault's directory does not bring back its approvers.
 *
 * What the check trusts.  The approver set is trusted once its envelope
 * verifies with the admin key.  Requests and approvals are untrusted.
 * The requester's name is declared, not authenticated: the two-person
 * guarantee rests on M distinct approver keys; the self-approval rule
 * stops a requester from counting as one of them under their own name,
 * and pal_tpc_want.requester lets a caller tie the request to an identity
 * it knows (the operator's account).
 *
 * Errors: 0 or a negative PAL_ERR_* with a one-line message in err.
 * A refusal by the check is PAL_ERR_VERIFY; malformed input is
 * PAL_ERR_FORMAT (or PAL_ERR_LIMIT for caps), unreadable files
 * PAL_ERR_IO.  Messages name the file, member and approver; they never
 * hold key material.
 */
#ifndef PALISADE_APPROVAL_H
#define PALISADE_APPROVAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "palisade/buf.h"
#include "palisade/error.h"
#include "palisade/signer.h"

#define PAL_TPC_VERSION		1
#define PAL_TPC_NAME_MAX	64	/* requester, approver, vault id */
#define PAL_TPC_RELEASE_MAX	128
#define PAL_TPC_NONCE_HEX	32	/* 16 bytes */
#define PAL_TPC_TIME_LEN	20	/* "YYYY-MM-DDTHH:MM:SSZ" */
#define PAL_TPC_DIGEST_LEN	32	/* SHA-256 */
#define PAL_TPC_SIG_MAX		72	/* DER ECDSA P-256, at most */
#define PAL_TPC_TTL_MAX		(7L * 24 * 3600)	/* one week */
#define PAL_TPC_THRESHOLD_MIN	2
#define PAL_TPC_THRESHOLD_DEFAULT	2	/* when none is given */
#define PAL_TPC_APPROVERS_VERSION	2	/* version 1: no serial */
#define PAL_TPC_SERIAL_MAX	INT64_C(9007199254740991)	/* 2^53 - 1 */
#define PAL_TPC_APPROVERS_MAX	64	/* members of an approver set */
#define PAL_TPC_APPROVALS_MAX	64	/* approvals in one check */
#define PAL_TPC_REQUEST_FILE_MAX	(4 * 1024)
#define PAL_TPC_APPROVAL_FILE_MAX	(8 * 1024)
#define PAL_TPC_APPROVERS_FILE_MAX	(256 * 1024)
#define PAL_TPC_APPROVERS_TYPE	"application/vnd.palisade.approvers+json"

enum pal_tpc_op {
	PAL_TPC_UNSEAL,
	PAL_TPC_EXPORT,
	PAL_TPC_SHRED,
	PAL_TPC_ROTATE,
};

/* "unseal", "export", "shred", "rotate"; "?" for a value out of range. */
const char *pal_tpc_op_name(enum pal_tpc_op op);

/* The operation named s; PAL_ERR_INVALID naming s otherwise. */
int pal_tpc_op_parse(const char *s, enum pal_tpc_op *out,
		     struct pal_err *err);

/*
 * The rules above, for callers that take these values from a user (the
 * CLI, the sealed-file code for release names).  what names the value in
 * the message ("requester", "--release").  PAL_ERR_INVALID otherwise.
 */
int pal_tpc_check_name(const char *s, const char *what, struct pal_err *err);
int pal_tpc_check_release(const char *s, const char *what,
			  struct pal_err *err);

/* t as "YYYY-MM-DDTHH:MM:SSZ" (UTC) and back; parse is strict. */
int pal_tpc_time_format(int64_t t, char out[PAL_TPC_TIME_LEN + 1]);
int pal_tpc_time_parse(const char *s, size_t len, int64_t *out);

/* ---- requests ---- */

/* A request; plain data, no pointers: copy it, keep it on the stack. */
struct pal_tpc_request {
	enum pal_tpc_op op;
	char release[PAL_TPC_RELEASE_MAX + 1];
	char requester[PAL_TPC_NAME_MAX + 1];
	char vault[PAL_TPC_NAME_MAX + 1];
	char nonce[PAL_TPC_NONCE_HEX + 1];
	char expires[PAL_TPC_TIME_LEN + 1];
	int64_t expires_at;	/* expires, in seconds since the epoch */
};

/*
 * A new request expiring ttl seconds after now (1 <= ttl <=
 * PAL_TPC_TTL_MAX), with a fresh random nonce.  Every value is checked
 * against the rules above.  *out is written only on success.
 */
int pal_tpc_request_new(enum pal_tpc_op op, const char *release,
			const char *requester, const char *vault, int64_t now,
			long ttl, struct pal_tpc_request *out,
			struct pal_err *err);

/* Appends the canonical bytes (no newline) to out. */
int pal_tpc_request_canonical(const struct pal_tpc_request *r,
			      struct pal_buf *out, struct pal_err *err);

/* SHA-256 of the canonical bytes. */
int pal_tpc_request_digest(const struct pal_tpc_request *r,
			   uint8_t out[PAL_TPC_DIGEST_LEN],
			   struct pal_err *err);

/*
 * Parses a request document (at most PAL_TPC_REQUEST_FILE_MAX bytes),
 * strictly.  Whether it has expired is the check's business, not the
 * parser's.  *out is written only on success.
 */
int pal_tpc_request_parse(const uint8_t *data, size_t len,
			  struct pal_tpc_request *out, struct pal_err *err);

/* Reads and parses a file; the message starts with the path. */
int pal_tpc_request_load(const char *path, struct pal_tpc_request *out,
			 struct pal_err *err);

/* Writes the canonical form and a newline atomically (mode 0644). */
int pal_tpc_request_write(const struct pal_tpc_request *r, const char *path,
			  struct pal_err *err);

/*
 * One line for a person deciding whether to approve: "unseal of release
 * 'R' in vault V, requested by alice, expires 2025-06-01T12:00:00Z,
 * digest <64 hex>".  Appended to out.
 */
int pal_tpc_request_describe(const struct pal_tpc_request *r,
			     struct pal_buf *out, struct pal_err *err);

/* ---- approver sets ---- */

struct pal_tpc_approver {
	char name[PAL_TPC_NAME_MAX + 1];
	EVP_PKEY *key;		/* P-256 public key, owned by the set */
};

struct pal_tpc_approvers {
	char vault[PAL_TPC_NAME_MAX + 1];
	uint64_t serial;	/* 0 for a version 1 set */
	uint8_t digest[PAL_TPC_DIGEST_LEN];	/* SHA-256 of the payload */
	unsigned threshold;
	size_t n;
	struct pal_tpc_approver *a;	/* n members, in the file's order */
};

/*
 * The payload of a new approver set: n members (names[i] with keys[i],
 * public ECDSA P-256 keys; only the public half is written), threshold M,
 * vault id and serial (1..PAL_TPC_SERIAL_MAX), in canonical form, version
 * PAL_TPC_APPROVERS_VERSION.  Refuses what the parser refuses.
 */
int pal_tpc_approvers_payload_serial(const char *vault, uint64_t serial,
				     unsigned threshold,
				     const char *const names[],
				     EVP_PKEY *const keys[], size_t n,
				     struct pal_buf *out,
				     struct pal_err *err);

/* The same with serial 1, a vault's first set. */
int pal_tpc_approvers_payload(const char *vault, unsigned threshold,
			      const char *const names[],
			      EVP_PKEY *const keys[], size_t n,
			      struct pal_buf *out, struct pal_err *err);

/*
 * Wraps a payload in a DSSE envelope signed by admin (any key signer.h
 * takes) and appends the envelope's canonical JSON (and a newline) to out.
 * The payload is parsed first, so that a malformed set is never signed.
 */
int pal_tpc_approvers_sign(const uint8_t *payload, size_t len,
			   struct pal_signer *admin, struct pal_buf *out,
			   struct pal_err *err);

/*
 * A new set as a command line gives it, for `keys init` and `keys
 * approvers` alike: names[i] with the PEM public key file pub_paths[i],
 * threshold (0: PAL_TPC_THRESHOLD_DEFAULT), serial, signed with admin.
 * The envelope (and a newline) is appended to out; *set (may be NULL) is
 * the envelope read back with admin's public key, the caller's to free.
 */
int pal_tpc_approvers_build(const char *vault, uint64_t serial,
			    unsigned threshold, const char *const names[],
			    const char *const pub_paths[], size_t n,
			    struct pal_signer *admin, struct pal_buf *out,
			    struct pal_tpc_approvers **set,
			    struct pal_err *err);

/*
 * pal_tpc_approvers_build with serial 1 and the admin key opened from
 * admin_key (PEM path or PKCS#11 URI, as pal_signer_open), written
 * atomically to out_path (mode 0644).
 */
int pal_tpc_approvers_write(const char *out_path, const char *vault,
			    unsigned threshold, const char *const names[],
			    const char *const pub_paths[], size_t n,
			    const char *admin_key, struct pal_err *err);

/*
 * Verifies an envelope (exactly one signature, which must hold with
 * admin over the DSSE PAE of PAL_TPC_APPROVERS_TYPE and the payload),
 * then parses the payload strictly.  Nothing in the payload is read
 * before the signature holds.  Versions 1 (serial 0) and 2 are read;
 * others are PAL_ERR_UNSUPPORTED.  Whether the set is older than one the
 * vault accepted is pal_tpc_sets_accept's business.  *out is the
 * caller's to free.
 */
int pal_tpc_approvers_parse(const uint8_t *data, size_t len, EVP_PKEY *admin,
			    struct pal_tpc_approvers **out,
			    struct pal_err *err);

/* Reads path (at most PAL_TPC_APPROVERS_FILE_MAX bytes) and parses it. */
int pal_tpc_approvers_load(const char *path, EVP_PKEY *admin,
			   struct pal_tpc_approvers **out,
			   struct pal_err *err);

/* The member named name, or NULL. */
const struct pal_tpc_approver *
pal_tpc_approvers_find(const struct pal_tpc_approvers *set,
		       const char *name);

/* The member whose key is key (so `approve` can name its user), or NULL. */
const struct pal_tpc_approver *
pal_tpc_approvers_find_key(const struct pal_tpc_approvers *set,
			   const EVP_PKEY *key);

/* NULL is a no-op. */
void pal_tpc_approvers_free(struct pal_tpc_approvers *set);

/* ---- approvals ---- */

/* An approval; plain data like a request. */
struct pal_tpc_approval {
	char approver[PAL_TPC_NAME_MAX + 1];
	struct pal_tpc_request req;
	uint8_t sig[PAL_TPC_SIG_MAX];
	size_t sig_len;
};

/*
 * approver signs req with signer, which must hold an ECDSA P-256 key
 * (PAL_ERR_UNSUPPORTED otherwise).  Refused before signing: an approver
 * who is the requester, a request that has expired at now or expires more
 * than PAL_TPC_TTL_MAX after it.  The signature is verified with the
 * signer's public key before it is returned.
 */
int pal_tpc_approve(const struct pal_tpc_request *req, const char *approver,
		    struct pal_signer *signer, int64_t now,
		    struct pal_tpc_approval *out, struct pal_err *err);

/* Appends the approval's canonical JSON (no newline) to out. */
int pal_tpc_approval_serialize(const struct pal_tpc_approval *a,
			       struct pal_buf *out, struct pal_err *err);

/* Parses an approval document strictly (the signature is not checked). */
int pal_tpc_approval_parse(const uint8_t *data, size_t len,
			   struct pal_tpc_approval *out, struct pal_err *err);

/* Reads and parses a file; the message starts with the path. */
int pal_tpc_approval_load(const char *path, struct pal_tpc_approval *out,
			  struct pal_err *err);

/* Writes the canonical form and a newline atomically (mode 0644). */
int pal_tpc_approval_write(const struct pal_tpc_approval *a,
			   const char *path, struct pal_err *err);

/*
 * `palisade approve REQUEST --key KEY [--as NAME] -o OUT` in one call:
 * loads the request, opens the key (PEM path or PKCS#11 URI), signs as
 * approver and writes out_path.  When approver is NULL the name is the
 * member of set (required then) whose key the signer holds.  When desc is
 * not NULL, the request's description (pal_tpc_request_describe) is
 * appended to it, for the command to print.
 */
int pal_tpc_approve_file(const char *request_path, const char *key,
			 const char *approver,
			 const struct pal_tpc_approvers *set, int64_t now,
			 const char *out_path, struct pal_buf *desc,
			 struct pal_err *err);

/* ---- the replay store ---- */

/*
 * The table tpc_used_requests in the vault's state.db: one row per
 * request that has run (digest, operation, release, requester, vault,
 * expires, used_at).  The database is opened with journal_mode=WAL
 * (readers never wait for the writer), synchronous=FULL (a request is
 * recorded durably before the operation starts), a 5 s busy timeout,
 * defensive mode and no trusted schema; the file is created 0600 and a
 * symbolic link is refused.  Rows are never deleted: a request is tiny
 * and a deleted row would let the request run again were the clock set
 * back.
 */
struct pal_tpc_replay;

/* Opens (creating if need be) the store at path.  Caller closes. */
int pal_tpc_replay_open(const char *path, struct pal_tpc_replay **out,
			struct pal_err *err);

/* NULL is a no-op. */
void pal_tpc_replay_close(struct pal_tpc_replay *s);

/*
 * Whether digest is recorded; when it is and used_at is not NULL, the
 * time it was used is written there.  Read only.
 */
int pal_tpc_replay_seen(struct pal_tpc_replay *s,
			const uint8_t digest[PAL_TPC_DIGEST_LEN], int *seen,
			char used_at[PAL_TPC_TIME_LEN + 1],
			struct pal_err *err);

/*
 * Records req as used at now, in one BEGIN IMMEDIATE transaction that
 * first checks it is not recorded: of two processes consuming the same
 * request at once, exactly one succeeds.  PAL_ERR_VERIFY "already used"
 * when it was recorded; PAL_ERR_IO when the database fails (busy beyond
 * the timeout, disk full).  A request consumed by an operation that then
 * fails stays used: the operation needs a new request (fail closed).
 */
int pal_tpc_replay_consume(struct pal_tpc_replay *s,
			   const struct pal_tpc_request *req, int64_t now,
			   struct pal_err *err);

/* ---- the approver sets a vault has accepted ---- */

/*
 * The table tpc_approver_sets in the same state.db: one row per approver
 * set the vault has accepted (serial, SHA-256 of its payload, vault,
 * threshold, number of members, when).  Rows are never deleted.  It is
 * what makes an older signed set, put back in the vault's directory by
 * someone who can write there, a refusal rather than a rollback of the
 * approvers: the vault takes no set older than the newest it accepted.
 * It is as strong as state.db itself: someone who can also put back an
 * old state.db is caught by the audit log, not by this table.
 */
struct pal_tpc_set_record {
	int any;		/* 0: no set accepted yet; the rest is unset */
	uint64_t serial;
	uint8_t digest[PAL_TPC_DIGEST_LEN];
	unsigned threshold;
	size_t n;			/* members */
	char accepted_at[PAL_TPC_TIME_LEN + 1];
};

/* The newest accepted set (by serial), read only. */
int pal_tpc_sets_latest(struct pal_tpc_replay *s,
			struct pal_tpc_set_record *out, struct pal_err *err);

/*
 * Whether set may be used after latest (pure; latest->any 0 takes any
 * set): PAL_ERR_VERIFY for a serial below latest's ("approver set serial
 * 1 is older than serial 2, which the vault accepted at ...") and for
 * another set under latest's serial (the digests differ).
 */
int pal_tpc_sets_judge(const struct pal_tpc_set_record *latest,
		       const struct pal_tpc_approvers *set,
		       struct pal_err *err);

/*
 * Called inside the transaction when a set is accepted for the first
 * time, before it is recorded; prev is the newest set accepted before
 * (prev->any 0: none).  A failure aborts: nothing is recorded.
 */
typedef int (*pal_tpc_set_hook)(void *arg,
				const struct pal_tpc_set_record *prev,
				const struct pal_tpc_approvers *set,
				struct pal_err *err);

/*
 * Judges set against the newest accepted one and records it when it is
 * new, all in one BEGIN IMMEDIATE transaction; on_new (may be NULL) is
 * called before a new set is recorded (the vault logs it there).  *fresh
 * (may be NULL) says whether it was new.  A set not newer than what the
 * vault accepted is refused as pal_tpc_sets_judge says.
 */
int pal_tpc_sets_accept(struct pal_tpc_replay *s,
			const struct pal_tpc_approvers *set, int64_t now,
			pal_tpc_set_hook on_new, void *arg, int *fresh,
			struct pal_err *err);

/*
 * Installs the next set, in one BEGIN IMMEDIATE transaction, so that two
 * replacements at once take turns: the serial is one more than both floor
 * (the serial of the set on disk) and the newest accepted serial;
 * install(arg, serial, &set, err) signs and writes the set with that
 * serial and hands it back (taken, even on failure); it is then recorded.
 * PAL_ERR_LIMIT past PAL_TPC_SERIAL_MAX.  When install fails nothing is
 * recorded; what it wrote is its own to undo.  *installed (may be NULL)
 * receives the set, the caller's to free.
 */
int pal_tpc_sets_replace(struct pal_tpc_replay *s, uint64_t floor,
			 int64_t now,
			 int (*install)(void *arg, uint64_t serial,
					struct pal_tpc_approvers **set,
					struct pal_err *err),
			 void *arg, struct pal_tpc_approvers **installed,
			 struct pal_err *err);

/* ---- the check ---- */

/* What the operator is about to do; strings are borrowed. */
struct pal_tpc_want {
	enum pal_tpc_op op;
	const char *release;
	const char *vault;
	const char *requester;	/* NULL: any requester */
};

struct pal_tpc_refusal {
	char who[PAL_TPC_NAME_MAX + 32];	/* "bob" or "approval 2" */
	char why[256];
};

/* What a check found; for the audit log and a detailed report. */
struct pal_tpc_report {
	int have_request;		/* req and digest below are set */
	struct pal_tpc_request req;	/* the request checked */
	uint8_t digest[PAL_TPC_DIGEST_LEN];
	unsigned threshold;
	size_t n_valid;			/* distinct approvers accepted */
	char valid[PAL_TPC_APPROVALS_MAX][PAL_TPC_NAME_MAX + 1];
	size_t n_refused;
	struct pal_tpc_refusal refused[PAL_TPC_APPROVALS_MAX];
};

/*
 * Decides whether want may run.  req is the request to run, or NULL to
 * take it from the approvals: the first approval whose request is for
 * want's operation, release and vault, else the first approval.  set must
 * have been verified (pal_tpc_approvers_load).  store is required.
 *
 * Refused as a whole (PAL_ERR_VERIFY, one reason): no approvals, more than
 * PAL_TPC_APPROVALS_MAX, an approver set for another vault, a request for
 * another vault, operation, release or requester, an expired request, one
 * that expires more than PAL_TPC_TTL_MAX after now, one already used.
 * Each approval is then accepted or refused with its own reason: for
 * another request (digest mismatch), unknown approver, approver is the
 * requester, signature does not verify (forged), same approver twice.
 * Fewer than threshold accepted: PAL_ERR_VERIFY with every refusal, e.g.
 * "1 of 2 approvals: bob's was refused: signature does not verify with
 * bob's key (forged or altered)".  Otherwise the request is consumed in
 * store (pal_tpc_replay_consume) and 0 is returned; in the same
 * transaction, a store that has accepted a set newer than set (it was
 * replaced during the check) refuses, and the request stays unused.
 *
 * report (may be NULL) is filled in every case.
 */
int pal_tpc_check(const struct pal_tpc_want *want,
		  const struct pal_tpc_request *req,
		  const struct pal_tpc_approval *approvals, size_t n,
		  const struct pal_tpc_approvers *set, int64_t now,
		  struct pal_tpc_replay *store, struct pal_tpc_report *report,
		  struct pal_err *err);

/*
 * pal_tpc_check from files, for `unseal`/`shred --approvals A...`:
 * request_path may be NULL (the request is taken from the approvals).
 * An approval file that cannot be read or parsed is refused with its
 * reason, named by its path, like any other refused approval; the check
 * goes on with the rest.  A request file that cannot be read is an error
 * of its own (PAL_ERR_IO or PAL_ERR_FORMAT).
 */
int pal_tpc_authorize(const struct pal_tpc_want *want,
		      const char *request_path,
		      const char *const approval_paths[], size_t n,
		      const struct pal_tpc_approvers *set, int64_t now,
		      struct pal_tpc_replay *store,
		      struct pal_tpc_report *report, struct pal_err *err);

#endif
