/*
 * fuzz_apikey_token.c - the Authorization header's Bearer token, from raw
 * bytes.  What parses must be exactly "bearer " (any case) and a token
 * that the key's own encoder writes back byte for byte (one canonical
 * form per key), and must check as an unknown key against an empty
 * snapshot; what does not parse must leave the token wiped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/apikey.h"
#include "../../src/gateway/apikey_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_parsed(const uint8_t *data, size_t size,
	     const struct pal_apikey_token *t)
{
	char again[PAL_APIKEY_TOKEN_LEN + 1];
	struct pal_apikey_result res;

	if (size != PAL_APIKEY_HEADER_MAX || !apikey_id_valid(t->id))
		abort();
	for (size_t i = 0; i < 6; i++)
		if ((data[i] | 0x20) != (uint8_t)"bearer"[i])
			abort();
	if (data[6] != ' ')
		abort();
	apikey_token_format(t->id, t->secret, again);
	if (memcmp(again, data + 7, PAL_APIKEY_TOKEN_LEN) != 0)
		abort();
	if (pal_apikey_verify(NULL, t, 0, &res, NULL) != PAL_ERR_VERIFY ||
	    res.status != PAL_APIKEY_UNKNOWN || res.record != NULL ||
	    strcmp(res.id, t->id) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pal_apikey_token zero;
	struct pal_apikey_token t;
	struct pal_err err;
	int rc;

	memset(&t, 0xa5, sizeof(t));
	rc = pal_apikey_bearer_parse((const char *)data, size, &t, &err);
	if (rc == 0)
		check_parsed(data, size, &t);
	else if (err.code != rc || memcmp(&t, &zero, sizeof(t)) != 0)
		abort();
	pal_apikey_token_wipe(&t);
	return 0;
}
