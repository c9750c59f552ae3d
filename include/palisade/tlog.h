/*
 * tlog.h - Palisade's append-only transparency log (docs/tlog.md).
 *
 * A log lives in a directory:
 *
 *	checkpoint		the latest signed checkpoint (C2SP)
 *	checkpoints/<size>	every checkpoint ever published, write-once
 *	tile/...		hash tiles and entry bundles (C2SP tlog-tiles)
 *	journal			entries made durable but not yet in tiles
 *	lock			held (flock) by the one writer
 *
 * An append is acknowledged once its entry is in the journal and the
 * journal is fdatasync'd; appends from many threads share one fdatasync
 * (group commit).  Publishing moves journaled entries into write-once
 * tiles and bundles and signs a new checkpoint; only then are they
 * visible to readers.  Opening a log for writing finishes any publication
 * a crash interrupted, so a crash at any instant loses no acknowledged
 * entry and leaves a log that verifies.
 */
#ifndef PALISADE_TLOG_H
#define PALISADE_TLOG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "palisade/buf.h"
#include "palisade/error.h"
#include "palisade/merkle.h"

/*
 * Turns checkpoint text into a signed note (text, blank line, signature
 * lines) appended to note.
 */
struct pal_log_signer {
	int (*sign)(void *ctx, const uint8_t *text, size_t len,
		    struct pal_buf *note, struct pal_err *err);
	void *ctx;
};

struct pal_log;

/*
 * Creates an empty log in dir (created if missing, must be empty) for
 * origin, and publishes its first checkpoint (size 0).
 */
int pal_log_create(const char *dir, const char *origin,
		   const struct pal_log_signer *signer, struct pal_err *err);

/*
 * Opens a log to append to it: takes the writer's lock (PAL_ERR_BUSY-like
 * PAL_ERR_SYSTEM naming the lock when another process holds it), checks
 * the tiles' right edge against the checkpoint, and publishes whatever a
 * crash left in the journal.
 */
int pal_log_open(const char *dir, const struct pal_log_signer *signer,
		 struct pal_log **out, struct pal_err *err);

/*
 * Appends one entry (1..PAL_ENTRY_MAX bytes); returns once it is durable,
 * with its index.  Safe to call from many threads at once.
 */
int pal_log_append(struct pal_log *l, const uint8_t *entry, size_t len,
		   uint64_t *index, struct pal_err *err);

/*
 * Appends n entries at once (each as pal_log_append takes it); they are
 * made durable together and get contiguous indices, the first in *first.
 * All or none: on failure no entry of the call is acknowledged.
 */
int pal_log_append_many(struct pal_log *l, const uint8_t *const *entries,
			const size_t *lens, size_t n, uint64_t *first,
			struct pal_err *err);

/* Moves every durable entry into tiles and signs a checkpoint. */
int pal_log_publish(struct pal_log *l, struct pal_err *err);

/* Entries durable so far, and entries published so far. */
uint64_t pal_log_durable_size(struct pal_log *l);
uint64_t pal_log_published_size(struct pal_log *l);

/* Publishes what is pending, releases the lock and frees l. */
int pal_log_close(struct pal_log *l, struct pal_err *err);

/* The origin line of the published checkpoint in dir (caller frees). */
int pal_log_origin(const char *dir, char **origin, struct pal_err *err);

/* Reads entry index of the published log into *out (caller frees). */
int pal_log_get(const char *dir, uint64_t index, uint8_t **out, size_t *len,
		struct pal_err *err);

/* ---- the log's key (log_key.c) ---- */

struct pal_note_signer;

/*
 * Creates a log in dir with a new Ed25519 key named origin: in a 0600
 * file dir/log.key, or, when pkcs11_uri is not NULL, generated on the
 * token as the object the URI names (dir/log.key-uri records the URI,
 * which must not hold a pin-value: the PIN comes from pin-source or
 * PALISADE_PKCS11_PIN).  Writes the verifier key to dir/log.vkey and
 * publishes the empty checkpoint.
 */
int pal_log_init(const char *dir, const char *origin, const char *pkcs11_uri,
		 struct pal_err *err);

/* Loads the signer of the log in dir (caller frees). */
int pal_log_key_load(const char *dir, struct pal_note_signer **out,
		     struct pal_err *err);

/* A pal_log_signer that signs with s (borrowed). */
struct pal_log_signer pal_log_note_signer(struct pal_note_signer *s);

/* Opens the log in dir for appends with its own key. */
int pal_log_open_dir(const char *dir, struct pal_log **out,
		     struct pal_err *err);

/* ---- the key in another process (log_keeper.c) ---- */

/*
 * Privilege separation for daemons that append: the daemon's signer asks
 * a keeper process, over fd (one end of a SOCK_SEQPACKET socket pair), to
 * sign each checkpoint.  The keeper holds the log's key and signs only a
 * checkpoint of the log's origin, without extension lines, whose root the
 * tiles of dir hash to at its size, and which extends the last tree it
 * signed (the log's checkpoint when it started, checked against its key).
 */

/* Serves signing requests on fd until the peer closes it. */
int pal_log_keeper_serve(const char *dir, int fd, struct pal_err *err);

/*
 * A signer that asks the keeper on fd (borrowed, to be kept open while
 * the signer lives) for each signature; its name and public key come
 * from dir/log.vkey.  Safe to use from several threads.
 */
int pal_log_keeper_signer(const char *dir, int fd,
			  struct pal_note_signer **out, struct pal_err *err);

/* pal_log_open_dir with the keeper on fd signing instead of the key. */
int pal_log_open_keeper(const char *dir, int fd, struct pal_log **out,
			struct pal_err *err);

/* ---- verification (log_verify.c) ---- */

struct pal_log_verify_report {
	uint64_t size;			/* entries in the latest checkpoint */
	uint64_t checkpoints;		/* historical checkpoints checked */
	char origin[256];
};

/*
 * Recomputes the whole tree of the log in dir from its entry bundles and
 * checks: every stored tile is what the entries hash to; the latest
 * checkpoint and every checkpoint in checkpoints/ carry a valid signature
 * by vkey (the text of a verifier key; NULL: dir/log.vkey) and the root
 * of the tree at their size.  Any difference is PAL_ERR_VERIFY naming it.
 */
int pal_log_verify(const char *dir, const char *vkey,
		   struct pal_log_verify_report *r, struct pal_err *err);

/* ---- mirrors (log_export.c) ---- */

/*
 * Copies the published log in dir to dest (created if missing): every
 * tile, bundle and checkpoint dest lacks, then the latest checkpoint, and
 * the verifier key; never the signing key or the journal.  Files dest
 * already has must be identical (they are write-once), else the mirror
 * has diverged and the copy stops.  *copied counts new files.
 */
int pal_log_export(const char *dir, const char *dest, uint64_t *copied,
		   struct pal_err *err);

/*
 * Catches a split view: both logs verify (pal_log_verify, with the key of
 * dir) and the smaller one's latest checkpoint is the root of the larger
 * one's tree at that size.
 */
int pal_log_compare(const char *dir, const char *mirror,
		    struct pal_log_verify_report *a,
		    struct pal_log_verify_report *b, struct pal_err *err);

/* ---- witnesses (log_cosign.c) ---- */

struct pal_witness_policy;

/*
 * Acts as a local witness: checks the latest checkpoint of dir against
 * the log's key (dir/log.vkey) and against the checkpoint this witness
 * cosigned last (kept in state, a file the witness owns: the new tree
 * must be consistent with the old one), then adds the witness's
 * cosignature (c2sp.org/tlog-cosignature) to dir/checkpoint and records
 * the new size and root in state.
 */
int pal_log_cosign(const char *dir, struct pal_note_signer *witness,
		   const char *state, struct pal_err *err);

/*
 * The latest checkpoint of dir satisfies a witness policy (which may also
 * name the log's key): 0, or PAL_ERR_VERIFY naming what is missing.
 */
int pal_log_check_witnesses(const char *dir,
			    const struct pal_witness_policy *policy,
			    struct pal_err *err);

/* ---- proofs (log_prove.c) ---- */

/*
 * A c2sp.org/tlog-proof of entry index in the published log of dir at
 * size (0: the latest checkpoint; else a checkpoint in checkpoints/),
 * appended to out.  The entry itself travels as the proof's extra data,
 * so that the proof alone can be checked offline.
 */
int pal_log_prove(const char *dir, uint64_t index, uint64_t size,
		  struct pal_buf *out, struct pal_err *err);

/*
 * The consistency proof between the published checkpoints of sizes from
 * and to (0: the latest) of the log in dir: *n hashes into proof (room
 * for PAL_MERKLE_MAX_PROOF), and both roots.
 */
int pal_log_consistency(const char *dir, uint64_t from, uint64_t *to,
			uint8_t proof[][PAL_MERKLE_HASH_LEN], size_t *n,
			uint8_t root_from[PAL_MERKLE_HASH_LEN],
			uint8_t root_to[PAL_MERKLE_HASH_LEN],
			struct pal_err *err);

/*
 * Checks a tlog proof offline: the checkpoint is signed by vkey (a
 * verifier key's text) and the entry (entry, or when NULL the proof's
 * extra data) is included at the proof's index.  *index and *entry_out
 * (caller frees; NULL to skip) tell what was proven.
 */
int pal_log_verify_proof(const uint8_t *proof, size_t len, const char *vkey,
			 const uint8_t *entry, size_t entry_len,
			 uint64_t *index, uint8_t **entry_out,
			 size_t *entry_out_len, struct pal_err *err);

/* As pal_log_verify_proof, and the checkpoint satisfies policy. */
int pal_log_verify_proof_witnessed(const uint8_t *proof, size_t len,
				   const char *vkey,
				   const struct pal_witness_policy *policy,
				   const uint8_t *entry, size_t entry_len,
				   uint64_t *index, uint8_t **entry_out,
				   size_t *entry_out_len,
				   struct pal_err *err);

/* ---- entries (entry.c) ---- */

/*
 * The entry format every component writes: one JSON object
 *	{"type": ..., "time": RFC 3339 UTC, "actor": ...,
 *	 "subject": "sha256:<hex>" or omitted, "details": {...}}
 * type and actor are short identifiers; details_json is a JSON object
 * (NULL for {}).  Appends it to the log in dir, publishes, and returns
 * its index.
 */
int pal_log_record(const char *dir, const char *type, const char *actor,
		   const char *subject, const char *details_json,
		   uint64_t *index, struct pal_err *err);

/* Builds such an entry without appending it (out: caller frees). */
int pal_log_entry_build(const char *type, const char *actor,
			const char *subject, const char *details_json,
			int64_t unix_time, char **out, struct pal_err *err);

/* As pal_log_entry_build, with the details as a JSON object (borrowed). */
int pal_log_entry_build_obj(const char *type, const char *actor,
			    const char *subject, json_t *details,
			    int64_t unix_time, char **out,
			    struct pal_err *err);

/*
 * The same entry written without a JSON tree, for records made on hot
 * paths: pal_log_entry_open writes everything before the details into w
 * and opens the details object; the caller writes its members with the
 * pal_jw calls (json_writer.h); pal_log_entry_finish closes the entry and
 * checks its size.  The bytes are those pal_log_entry_build_obj writes
 * for the same members.
 */
struct pal_jw;
int pal_log_entry_open(struct pal_jw *w, const char *type, const char *actor,
		       const char *subject, int64_t unix_time,
		       struct pal_err *err);
int pal_log_entry_finish(struct pal_jw *w, struct pal_err *err);

#endif
