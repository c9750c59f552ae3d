/*
 * fuzz_request.c - two-person control requests from raw bytes (a request
 * file is written by the requester, read by every approver).  What parses
 * must obey the value rules, and its canonical bytes must parse back to
 * the same request and the same bytes: one request, one digest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/approval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
canonical(const struct pal_tpc_request *r, struct pal_buf *b)
{
	pal_buf_init(b, 8192);
	if (pal_tpc_request_canonical(r, b, NULL) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_tpc_request r, again;
	struct pal_err err;
	struct pal_buf b1, b2;
	uint8_t d[PAL_TPC_DIGEST_LEN];

	pal_err_clear(&err);
	if (pal_tpc_request_parse(data, size, &r, &err) != 0) {
		if (err.code == 0 || err.msg[0] == '\0')
			abort();	/* every refusal says why */
		return 0;
	}
	if (pal_tpc_check_name(r.requester, "requester", NULL) != 0 ||
	    pal_tpc_check_name(r.vault, "vault", NULL) != 0 ||
	    pal_tpc_check_release(r.release, "release", NULL) != 0 ||
	    strlen(r.nonce) != PAL_TPC_NONCE_HEX ||
	    strlen(r.expires) != PAL_TPC_TIME_LEN)
		abort();
	canonical(&r, &b1);
	if (pal_tpc_request_parse(b1.p, b1.len, &again, NULL) != 0 ||
	    memcmp(&r, &again, sizeof(r)) != 0)
		abort();
	canonical(&again, &b2);
	if (b1.len != b2.len || memcmp(b1.p, b2.p, b1.len) != 0)
		abort();
	if (pal_tpc_request_digest(&r, d, NULL) != 0)
		abort();
	pal_buf_free(&b1);
	pal_buf_free(&b2);
	return 0;
}
