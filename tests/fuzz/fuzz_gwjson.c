/*
 * fuzz_gwjson.c - the gateway's JSON reader (src/gateway/body_json.c)
 * against Jansson's json_loadb on the same bytes: both accept or both
 * refuse, and what they read is the same (json_equal, and the same
 * compact serialization, so key order and reals agree too).  The first
 * byte chooses whether NUL is allowed in string values (as for upstream
 * responses) or not (as for requests).  Two differences are known and
 * meant: the gateway's reader refuses nesting beyond its limit where
 * Jansson goes on to 2048 (those inputs are not compared), and it refuses
 * a raw NUL byte right after a number or a literal, which Jansson's
 * stream skips after pushing the byte back ("[1\0]" is accepted by
 * json_loadb, refused by Python and by this reader); with a raw NUL in the
 * input only "accepted here implies accepted by Jansson, equal" is held.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../src/gateway/body_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same(json_t *a, json_t *b)
{
	char *da, *db;

	if (!json_equal(a, b))
		abort();
	da = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
	db = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
	if (da == NULL || db == NULL || strcmp(da, db) != 0)
		abort();
	free(da);
	free(db);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *mine = NULL, *theirs;
	struct pal_err err;
	json_error_t je;
	int allow_nul, r;

	if (size == 0)
		return 0;
	allow_nul = data[0] & 1;
	data++;
	size--;
	r = gw_json_load(data, size, 64, allow_nul, &mine, &err);
	if (r == PAL_ERR_LIMIT || r == PAL_ERR_NOMEM)
		return 0;
	theirs = json_loadb((const char *)data, size,
			    JSON_REJECT_DUPLICATES |
			    (allow_nul ? JSON_ALLOW_NUL : 0), &je);
	if ((r == 0) != (theirs != NULL) &&
	    (r == 0 || memchr(data, 0, size) == NULL))
		abort();
	if (r == 0)
		same(mine, theirs);
	json_decref(mine);
	json_decref(theirs);
	return 0;
}
