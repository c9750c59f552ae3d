/*
 * fuzz_approvers.c - approver sets from raw bytes.  The first byte picks
 * the layer.  0: the rest is an envelope, verified with the fixed admin
 * key of tpc_fuzz_keys.h (seeds signed with it reach the payload parser
 * through the envelope).  Otherwise the rest is a payload, which the
 * harness signs (the signer refuses what the parser refuses) and reads
 * back through the envelope, so that the payload parser is fuzzed behind a
 * valid signature.  A set that is accepted must be one the rules allow,
 * and rebuilt, signed and read again it must be the same set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "palisade/approval.h"
#include "tpc_fuzz_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *admin;

/* A set that was accepted is one the rules allow. */
static void
check_set(const struct pal_tpc_approvers *set)
{
	if (set->n == 0 || set->n > PAL_TPC_APPROVERS_MAX ||
	    set->threshold < PAL_TPC_THRESHOLD_MIN ||
	    set->threshold > set->n ||
	    pal_tpc_check_name(set->vault, "vault", NULL) != 0)
		abort();
	for (size_t i = 0; i < set->n; i++)
		if (pal_tpc_approvers_find(set, set->a[i].name) != &set->a[i] ||
		    pal_tpc_approvers_find_key(set, set->a[i].key) !=
		    &set->a[i])
			abort();
}

/* Rebuilt, signed and read back, the set is the same set. */
static void
round_trip(const struct pal_tpc_approvers *set, struct pal_signer *s)
{
	const char *names[PAL_TPC_APPROVERS_MAX];
	EVP_PKEY *keys[PAL_TPC_APPROVERS_MAX];
	struct pal_tpc_approvers *again = NULL;
	struct pal_buf b, env;

	for (size_t i = 0; i < set->n; i++) {
		names[i] = set->a[i].name;
		keys[i] = set->a[i].key;
	}
	pal_buf_init(&b, 1 << 20);
	pal_buf_init(&env, 1 << 20);
	/* A version 1 set (serial 0) is rewritten as the first serial. */
	uint64_t serial = set->serial ? set->serial : 1;

	if (pal_tpc_approvers_payload_serial(set->vault, serial,
					     set->threshold, names, keys,
					     set->n, &b, NULL) != 0 ||
	    pal_tpc_approvers_sign(b.p, b.len, s, &env, NULL) != 0 ||
	    pal_tpc_approvers_parse(env.p, env.len, admin, &again, NULL) != 0)
		abort();
	if (again->n != set->n || again->threshold != set->threshold ||
	    again->serial != serial || strcmp(again->vault, set->vault) != 0)
		abort();
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(again->a[i].name, set->a[i].name) != 0 ||
		    EVP_PKEY_eq(again->a[i].key, set->a[i].key) != 1)
			abort();
	pal_tpc_approvers_free(again);
	pal_buf_free(&b);
	pal_buf_free(&env);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_tpc_approvers *set = NULL;
	struct pal_signer s = { 0 };
	struct pal_err err;
	struct pal_buf env;

	if (admin == NULL)
		admin = tpc_fuzz_key(TPC_FUZZ_ADMIN);
	if (size == 0)
		return 0;
	pal_err_clear(&err);
	if (data[0] == 0) {
		if (pal_tpc_approvers_parse(data + 1, size - 1, admin, &set,
					    &err) == 0) {
			check_set(set);
			pal_tpc_approvers_free(set);
		} else if (err.msg[0] == '\0') {
			abort();
		}
		return 0;
	}
	s = tpc_fuzz_signer(admin);
	pal_buf_init(&env, 1 << 20);
	if (pal_tpc_approvers_sign(data + 1, size - 1, &s, &env, &err) == 0) {
		if (pal_tpc_approvers_parse(env.p, env.len, admin, &set,
					    NULL) != 0)
			abort();
		check_set(set);
		round_trip(set, &s);
		pal_tpc_approvers_free(set);
	} else if (err.msg[0] == '\0') {
		abort();
	}
	pal_buf_free(&env);
	return 0;
}
