/*
 * fuzz_approval.c - approval files from raw bytes (written by approvers,
 * passed along by whoever collects them).  What parses must serialize and
 * parse back to the same approval.  Then the check judges it, twice over,
 * against a set {bob, carol} for vault "v" made from the fixed keys of
 * tpc_fuzz_keys.h (the seeds carry real signatures by bob and carol): it
 * must refuse, since one approver is never two, and say why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "palisade/approval.h"
#include "tpc_fuzz_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pal_tpc_approvers *set;
static struct pal_tpc_replay *store;
static char db[64];

/* The store is the harness's: it goes when the run ends. */
static void
cleanup(void)
{
	char side[80];

	pal_tpc_replay_close(store);
	unlink(db);
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
}

static void
init(void)
{
	EVP_PKEY *admin = tpc_fuzz_key(TPC_FUZZ_ADMIN);
	EVP_PKEY *k[2] = { tpc_fuzz_key(TPC_FUZZ_BOB),
			   tpc_fuzz_key(TPC_FUZZ_CAROL) };
	const char *names[2] = { "bob", "carol" };
	struct pal_signer s = tpc_fuzz_signer(admin);
	struct pal_buf payload, env;

	pal_buf_init(&payload, 1 << 16);
	pal_buf_init(&env, 1 << 16);
	if (pal_tpc_approvers_payload("v", 2, names, k, 2, &payload,
				      NULL) != 0 ||
	    pal_tpc_approvers_sign(payload.p, payload.len, &s, &env,
				   NULL) != 0 ||
	    pal_tpc_approvers_parse(env.p, env.len, admin, &set, NULL) != 0)
		abort();
	snprintf(db, sizeof(db), "/tmp/fuzz_approval.%ld.db", (long)getpid());
	unlink(db);
	if (pal_tpc_replay_open(db, &store, NULL) != 0)
		abort();
	atexit(cleanup);
	pal_buf_free(&payload);
	pal_buf_free(&env);
	EVP_PKEY_free(k[0]);
	EVP_PKEY_free(k[1]);
	EVP_PKEY_free(admin);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_tpc_approval a, again;
	struct pal_err err;
	struct pal_buf b;

	if (set == NULL)
		init();
	pal_err_clear(&err);
	if (pal_tpc_approval_parse(data, size, &a, &err) != 0) {
		if (err.code == 0 || err.msg[0] == '\0')
			abort();	/* every refusal says why */
		return 0;
	}
	if (a.sig_len == 0 || a.sig_len > PAL_TPC_SIG_MAX)
		abort();
	pal_buf_init(&b, 1 << 16);
	if (pal_tpc_approval_serialize(&a, &b, NULL) != 0 ||
	    pal_tpc_approval_parse(b.p, b.len, &again, NULL) != 0 ||
	    memcmp(&a, &again, sizeof(a)) != 0)
		abort();
	pal_buf_free(&b);

	struct pal_tpc_approval two[2] = { a, a };
	struct pal_tpc_want w = { a.req.op, a.req.release, "v", NULL };
	struct pal_tpc_report rep;
	int rc = pal_tpc_check(&w, NULL, two, 2, set, a.req.expires_at - 1,
			       store, &rep, &err);
	if (rc == 0 || err.msg[0] == '\0' || rep.n_valid > 1)
		abort();
	return 0;
}
