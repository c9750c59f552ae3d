/*
 * fuzz_kek_label.c - KEK labels from raw bytes.  Labels come back from the
 * token, which anyone with the PIN may write to, and from sealed files'
 * headers.  A label that parses must be exactly the label made again from
 * its release and generation (one label, one key), and its release must
 * pass the release-name check; the bytes as a release name, when they
 * pass that check, must make a label that parses back to them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/keystore.h"
#include "../../src/vault/keystore_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bytes as a release name, made into a label and parsed back. */
static void
as_release(const uint8_t *data, size_t size)
{
	char name[PAL_KEYSTORE_RELEASE_MAX + 1];
	char back[PAL_KEYSTORE_RELEASE_MAX + 1];
	char label[PAL_KEYSTORE_LABEL_MAX + 1];
	unsigned int gen = 0;

	if (size > PAL_KEYSTORE_RELEASE_MAX)
		return;
	memcpy(name, data, size);
	name[size] = '\0';
	if (pal_keystore_release_check(name, NULL) != 0)
		return;
	pal_keystore_label_make(name, 7, label);
	if (pal_keystore_label_parse((const uint8_t *)label, strlen(label),
				     back, &gen) != 1 ||
	    strcmp(back, name) != 0 || gen != 7)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char release[PAL_KEYSTORE_RELEASE_MAX + 1];
	char label[PAL_KEYSTORE_LABEL_MAX + 1];
	unsigned int gen = 0;
	int r = pal_keystore_label_parse(data, size, release, &gen);

	if (r == 1) {
		if (gen < 1 || gen > PAL_KEYSTORE_GENERATION_MAX ||
		    pal_keystore_release_check(release, NULL) != 0)
			abort();
		pal_keystore_label_make(release, gen, label);
		if (strlen(label) != size || memcmp(label, data, size) != 0)
			abort();
	} else if (r != 0 && r != -1) {
		abort();
	}
	as_release(data, size);
	return 0;
}
