/*
 * keystore_label.c - release names, KEK labels and token labels.
 *
 * A KEK label is "palisade:release:" R for generation 1 and
 * "palisade:release:" R "#" G for generation G >= 2, G a canonical
 * decimal.  Release names cannot contain '#', so a label parses one way
 * only.  Labels come back from the token, which may hold objects written
 * by anyone with the PIN: they are parsed with explicit bounds, and one
 * that starts with the prefix but is not a label Palisade would write is
 * reported, not ignored.
 */
#include <stdio.h>
#include <string.h>

#include "palisade/encoding.h"
#include "keystore_int.h"

#define PREFIX_LEN (sizeof(PAL_KEYSTORE_LABEL_PREFIX) - 1)

static int
release_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || strchr("._-+=@:", c) != NULL;
}

/* 1 when r[0..n) is a release name (see keystore.h). */
static int
release_ok(const uint8_t *r, size_t n)
{
	size_t i;

	if (n == 0 || n > PAL_KEYSTORE_RELEASE_MAX || r[0] == '.' ||
	    r[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (r[i] == '\0' || !release_char(r[i]))
			return 0;
	return 1;
}

int
pal_keystore_release_check(const char *release, struct pal_err *err)
{
	size_t n = release != NULL ?
		strnlen(release, PAL_KEYSTORE_RELEASE_MAX + 1) : 0;

	if (release == NULL || n == 0)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "release name is empty");
	if (n > PAL_KEYSTORE_RELEASE_MAX)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "release name is longer than %d bytes",
				   PAL_KEYSTORE_RELEASE_MAX);
	if (!release_ok((const uint8_t *)release, n))
		return pal_err_set(err, PAL_ERR_INVALID,
				   "release name may only hold ASCII letters, "
				   "digits and . _ - + = @ : and may not start "
				   "with '.' or '-'");
	return 0;
}

void
pal_keystore_label_make(const char *release, unsigned int gen, char *out)
{
	if (gen <= 1)
		snprintf(out, PAL_KEYSTORE_LABEL_MAX + 1, "%s%s",
			 PAL_KEYSTORE_LABEL_PREFIX, release);
	else
		snprintf(out, PAL_KEYSTORE_LABEL_MAX + 1, "%s%s#%u",
			 PAL_KEYSTORE_LABEL_PREFIX, release, gen);
}

int
pal_keystore_label_parse(const uint8_t *label, size_t n,
			 char release[PAL_KEYSTORE_RELEASE_MAX + 1],
			 unsigned int *gen)
{
	const uint8_t *r, *hash;
	size_t rlen;
	uint64_t g = 1;

	if (n < PREFIX_LEN ||
	    memcmp(label, PAL_KEYSTORE_LABEL_PREFIX, PREFIX_LEN) != 0)
		return 0;
	r = label + PREFIX_LEN;
	rlen = n - PREFIX_LEN;
	if ((hash = memchr(r, '#', rlen)) != NULL) {
		size_t glen = rlen - (size_t)(hash - r) - 1;

		/* Generation 1 never has a suffix: "#1" is not canonical. */
		if (pal_decimal_parse((const char *)hash + 1, glen, &g) != 0 ||
		    g < 2 || g > PAL_KEYSTORE_GENERATION_MAX)
			return -1;
		rlen = (size_t)(hash - r);
	}
	if (!release_ok(r, rlen))
		return -1;
	memcpy(release, r, rlen);
	release[rlen] = '\0';
	*gen = (unsigned int)g;
	return 1;
}

int
pal_keystore_token_label_check(const char *label, struct pal_err *err)
{
	size_t n = strnlen(label, 33), i;

	if (n == 0 || n > 32)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "token label must be 1 to 32 bytes");
	for (i = 0; i < n; i++)
		if (label[i] < 0x20 || label[i] > 0x7e)
			return pal_err_set(err, PAL_ERR_INVALID,
					   "token label must be printable "
					   "ASCII");
	/* CK_TOKEN_INFO pads labels with blanks: they would be lost. */
	if (label[0] == ' ' || label[n - 1] == ' ')
		return pal_err_set(err, PAL_ERR_INVALID,
				   "token label may not start or end with a "
				   "space");
	return 0;
}

void
pal_keystore_label_pad(const char *label, CK_UTF8CHAR out[32])
{
	size_t n = strnlen(label, 32);

	memset(out, ' ', 32);
	memcpy(out, label, n);
}
