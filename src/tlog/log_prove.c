/*
 * log_prove.c - inclusion and consistency proofs from a published log,
 * and offline verification of an inclusion proof.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/file.h"
#include "palisade/cosig.h"
#include "palisade/note.h"
#include "palisade/tlog_proof.h"
#include "tlog_int.h"

#define NOTE_FILE_MAX (64 * 1024)

/* The note text and parsed checkpoint of dir's checkpoint at size. */
static int
checkpoint_at(const char *dir, uint64_t size, uint8_t **note, size_t *len,
	      struct pal_checkpoint **cp, struct pal_err *err)
{
	char path[4200];
	if (size == 0)
		snprintf(path, sizeof(path), "%s/checkpoint", dir);
	else
		snprintf(path, sizeof(path), "%s/checkpoints/%" PRIu64, dir,
			 size);
	struct pal_note *n = NULL;
	int rc = pal_file_read(path, NOTE_FILE_MAX, note, len, err);
	if (rc == 0)
		rc = pal_note_parse(*note, *len, &n, err);
	if (rc == 0)
		rc = pal_checkpoint_parse(n->text, n->text_len, cp, err);
	if (rc < 0) {
		pal_err_wrap(err, rc, "%s: ", path);
		free(*note);
		*note = NULL;
	}
	pal_note_free(n);
	return rc;
}

int
pal_log_prove(const char *dir, uint64_t index, uint64_t size,
	      struct pal_buf *out, struct pal_err *err)
{
	uint8_t *note = NULL, *entry = NULL;
	size_t note_len = 0, entry_len = 0;
	struct pal_checkpoint *cp = NULL;
	struct pal_tile_dir *td = NULL;
	struct pal_tlog_proof p = { 0 };
	int rc = checkpoint_at(dir, size, &note, &note_len, &cp, err);
	if (rc == 0 && index >= cp->size)
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "entry %" PRIu64 " is not in the tree of "
				 "size %" PRIu64, index, cp->size);
	if (rc == 0)
		rc = pal_log_get(dir, index, &entry, &entry_len, err);
	if (rc == 0)
		rc = pal_tile_dir_open(dir, cp->size, &td, err);
	if (rc == 0) {
		struct pal_hash_reader r = pal_tile_dir_reader(td);
		rc = pal_tile_prove_inclusion(&r, index, cp->size, p.hashes,
					      &p.n_hashes, err);
	}
	if (rc == 0) {
		p.index = index;
		p.extra = entry;
		p.extra_len = entry_len;
		p.checkpoint = note;
		p.checkpoint_len = note_len;
		rc = pal_tlog_proof_format(&p, out, err);
	}
	pal_tile_dir_close(td);
	pal_checkpoint_free(cp);
	free(note);
	free(entry);
	return rc;
}

int
pal_log_consistency(const char *dir, uint64_t from, uint64_t *to,
		    uint8_t proof[][PAL_MERKLE_HASH_LEN], size_t *n,
		    uint8_t root_from[PAL_MERKLE_HASH_LEN],
		    uint8_t root_to[PAL_MERKLE_HASH_LEN], struct pal_err *err)
{
	uint8_t *n1 = NULL, *n2 = NULL;
	size_t l1 = 0, l2 = 0;
	struct pal_checkpoint *c1 = NULL, *c2 = NULL;
	struct pal_tile_dir *td = NULL;
	int rc = checkpoint_at(dir, *to, &n2, &l2, &c2, err);
	if (rc == 0 && from > c2->size)
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "--from %" PRIu64 " is beyond size %" PRIu64,
				 from, c2->size);
	/* The older checkpoint must exist: it is what a client holds. */
	if (rc == 0 && from > 0)
		rc = checkpoint_at(dir, from, &n1, &l1, &c1, err);
	if (rc == 0)
		rc = pal_tile_dir_open(dir, c2->size, &td, err);
	if (rc == 0) {
		struct pal_hash_reader r = pal_tile_dir_reader(td);
		rc = pal_tile_prove_consistency(&r, from, c2->size, proof, n,
						err);
		if (rc == 0)
			rc = pal_tile_root(&r, from, root_from, err);
	}
	if (rc == 0 && c1 != NULL &&
	    memcmp(c1->root, root_from, PAL_MERKLE_HASH_LEN) != 0)
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "the checkpoint of size %" PRIu64 " is not "
				 "the root of the log's first %" PRIu64
				 " entries", from, from);
	if (rc == 0) {
		memcpy(root_to, c2->root, PAL_MERKLE_HASH_LEN);
		*to = c2->size;
		if (from > 0)
			rc = pal_merkle_verify_consistency(from, c2->size,
							   root_from, root_to,
							   (const uint8_t (*)
							   [PAL_MERKLE_HASH_LEN])
							   proof, *n, err);
	}
	pal_tile_dir_close(td);
	pal_checkpoint_free(c1);
	pal_checkpoint_free(c2);
	free(n1);
	free(n2);
	return rc;
}

int
pal_log_verify_proof(const uint8_t *text, size_t len, const char *vkey,
		     const uint8_t *entry, size_t entry_len, uint64_t *index,
		     uint8_t **entry_out, size_t *entry_out_len,
		     struct pal_err *err)
{
	return pal_log_verify_proof_witnessed(text, len, vkey, NULL, entry,
					      entry_len, index, entry_out,
					      entry_out_len, err);
}

int
pal_log_verify_proof_witnessed(const uint8_t *text, size_t len,
			       const char *vkey,
			       const struct pal_witness_policy *policy,
			       const uint8_t *entry, size_t entry_len,
			       uint64_t *index, uint8_t **entry_out,
			       size_t *entry_out_len, struct pal_err *err)
{
	struct pal_tlog_proof *p = NULL;
	struct pal_note *n = NULL;
	struct pal_note_verifier *v = NULL;
	struct pal_checkpoint *cp = NULL;
	int rc = pal_tlog_proof_parse(text, len, &p, err);
	if (rc == 0)
		rc = pal_note_verifier_parse(vkey, strlen(vkey), &v, err);
	if (rc == 0)
		rc = pal_note_parse(p->checkpoint, p->checkpoint_len, &n, err);
	if (rc == 0)
		rc = pal_note_verify(n, &v, 1, NULL, err);
	if (rc == 0)
		rc = pal_checkpoint_parse(n->text, n->text_len, &cp, err);
	if (rc == 0 && strcmp(cp->origin, v->name) != 0)
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "the checkpoint's origin is not the key's "
				 "log");
	if (rc == 0 && policy != NULL)
		rc = pal_witness_policy_check(policy, n, cp, NULL, err);
	if (rc == 0 && entry == NULL && p->extra == NULL)
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "the proof carries no entry: give it");
	const uint8_t *e = entry ? entry : p ? p->extra : NULL;
	size_t el = entry ? entry_len : p ? p->extra_len : 0;
	uint8_t leaf[PAL_MERKLE_HASH_LEN];
	if (rc == 0) {
		pal_merkle_leaf_hash(e, el, leaf);
		rc = pal_tlog_proof_verify_inclusion(p, cp, leaf, err);
	}
	if (rc == 0) {
		*index = p->index;
		if (entry_out != NULL) {
			*entry_out = malloc(el ? el : 1);
			if (*entry_out == NULL)
				rc = pal_err_set(err, PAL_ERR_NOMEM,
						 "out of memory");
			else {
				memcpy(*entry_out, e, el);
				*entry_out_len = el;
			}
		}
	}
	pal_checkpoint_free(cp);
	pal_note_verifier_free(v);
	pal_note_free(n);
	pal_tlog_proof_free(p);
	return rc;
}
