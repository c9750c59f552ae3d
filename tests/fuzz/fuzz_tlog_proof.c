/*
 * fuzz_tlog_proof.c - c2sp.org/tlog-proof text from raw bytes.  A proof
 * that parses must format back to exactly the input (the parse admits one
 * spelling per proof), and its checkpoint goes through the note and
 * checkpoint parsers and the inclusion check as a verifier would take it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/note.h"
#include "palisade/tlog_proof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_checkpoint(const struct pal_tlog_proof *p)
{
	static const uint8_t leaf[PAL_MERKLE_HASH_LEN];
	struct pal_note *n = NULL;
	struct pal_checkpoint *c = NULL;

	if (pal_note_parse(p->checkpoint, p->checkpoint_len, &n, NULL) != 0)
		return;
	if (pal_checkpoint_parse(n->text, n->text_len, &c, NULL) == 0) {
		int rc = pal_tlog_proof_verify_inclusion(p, c, leaf, NULL);
		if (rc != 0 && rc != PAL_ERR_VERIFY)
			abort();
		pal_checkpoint_free(c);
	}
	pal_note_free(n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_tlog_proof *p = NULL;
	struct pal_buf b;

	if (pal_tlog_proof_parse(data, size, &p, NULL) != 0) {
		if (p != NULL)
			abort();
		return 0;
	}
	if (p->n_hashes > PAL_MERKLE_MAX_PROOF ||
	    (p->extra == NULL) != (p->extra_len == 0) ||
	    p->checkpoint_len == 0 || p->checkpoint[p->checkpoint_len] != 0)
		abort();
	pal_buf_init(&b, PAL_TLOG_PROOF_MAX_LEN);
	if (pal_tlog_proof_format(p, &b, NULL) != 0 || b.len != size ||
	    memcmp(b.p, data, size) != 0)
		abort();
	pal_buf_free(&b);
	check_checkpoint(p);
	pal_tlog_proof_free(p);
	return 0;
}
