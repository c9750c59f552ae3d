/*
 * fuzz_note.c - signed notes and checkpoints from raw bytes: the note
 * parse, verification with an Ed25519 and an ECDSA (Rekor) verifier, and
 * the checkpoint parse of the note text and of the raw input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const vkeys[] = {
	"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	/* The public-good Rekor key as a type 0x02 vkey. */
	"rekor.sigstore.dev+c0d23d6a+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNh"
	"tmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//"
	"QP22Ni4Qt9DPfkWLc=",
};

static struct pal_note_verifier *vs[2];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_note *n = NULL;
	struct pal_checkpoint *c = NULL;
	uint8_t ok[2];

	for (size_t i = 0; i < 2; i++)
		if (vs[i] == NULL && pal_note_verifier_parse(vkeys[i],
		    strlen(vkeys[i]), &vs[i], NULL) != 0)
			abort();
	if (pal_note_parse(data, size, &n, NULL) == 0) {
		pal_note_verify(n, vs, 2, ok, NULL);
		if (pal_checkpoint_parse(n->text, n->text_len, &c, NULL) == 0)
			pal_checkpoint_free(c);
		pal_note_free(n);
	}
	if (pal_checkpoint_parse(data, size, &c, NULL) == 0)
		pal_checkpoint_free(c);
	return 0;
}
