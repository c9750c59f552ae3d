/*
 * fuzz_witness_policy.c - witness policies and cosignature lines from raw
 * bytes.
 *
 * The bytes are read as a policy: a parse either fails with no policy, or
 * yields one that keeps the promises of cosig.h (at most the maximum of
 * witnesses, each a valid key name whose key ID is that of its key), and
 * checking a fixed cosigned checkpoint against it returns 0 exactly when
 * the result says the quorum holds, never counting more witnesses than
 * the policy has.  The bytes are also read as a signed note: the fixed
 * witnesses' cosignatures on it are verified, and, when its text is a
 * checkpoint, it is checked against a fixed 2-of-2 policy.
 *
 * The fixed keys are Ed25519 keys of seeds 0x01.. (log) 0x02, 0x03
 * (witnesses w1.example and w2.example); the fixed note is that log's
 * checkpoint of example.com/log cosigned by both at time 1000.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "palisade/cosig.h"
#include "palisade/encoding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pal_note *fixed_note;
static struct pal_checkpoint *fixed_cp;
static struct pal_witness_policy *fixed_policy;
static struct pal_cosig_verifier *fixed_w[2];

static int
seed_sign(struct pal_note_signer *s, const uint8_t *msg, size_t len,
	  uint8_t *sig, struct pal_err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = 64;
	int ok = md != NULL &&
		EVP_DigestSignInit(md, NULL, NULL, NULL, s->ctx) == 1 &&
		EVP_DigestSign(md, sig, &n, msg, len) == 1;

	EVP_MD_CTX_free(md);
	return ok ? 0 : pal_err_set(err, PAL_ERR_CRYPTO, "sign");
}

static void
seed_destroy(struct pal_note_signer *s)
{
	EVP_PKEY_free(s->ctx);
}

static struct pal_note_signer *
seed_signer(const char *name, uint8_t b)
{
	uint8_t seed[32], pub[32];
	size_t n = sizeof(pub);
	struct pal_note_signer *s = NULL;
	EVP_PKEY *k;

	memset(seed, b, sizeof(seed));
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	if (k == NULL || EVP_PKEY_get_raw_public_key(k, pub, &n) != 1 ||
	    pal_note_signer_new(name, pub, seed_sign, seed_destroy, k, &s,
				NULL) != 0)
		abort();
	return s;
}

static void
init(void)
{
	struct pal_note_signer *log = seed_signer("example.com/log", 1);
	struct pal_note_signer *w[2] = { seed_signer("w1.example", 2),
					 seed_signer("w2.example", 3) };
	uint8_t root[PAL_MERKLE_HASH_LEN] = { 0 };
	struct pal_buf text, note;
	char hex[3][65], policy[512];

	pal_buf_init(&text, 4096);
	pal_buf_init(&note, 4096);
	if (pal_checkpoint_format("example.com/log", 7, root, NULL, 0, &text,
				  NULL) != 0 ||
	    pal_note_sign(text.p, text.len, &log, 1, &note, NULL) != 0)
		abort();
	for (int i = 0; i < 2; i++) {
		if (pal_cosign(w[i], text.p, text.len, 1000, &note, NULL) != 0 ||
		    pal_cosig_verifier_new(w[i]->name, w[i]->pub, &fixed_w[i],
					   NULL) != 0)
			abort();
		pal_hex_encode(w[i]->pub, 32, hex[i]);
	}
	pal_hex_encode(log->pub, 32, hex[2]);
	snprintf(policy, sizeof(policy), "log %s\nwitness w1.example %s\n"
		 "witness w2.example %s\ngroup g all w1.example w2.example\n"
		 "quorum g\n", hex[2], hex[0], hex[1]);
	if (pal_witness_policy_parse(policy, strlen(policy), &fixed_policy,
				     NULL) != 0 ||
	    pal_note_parse(note.p, note.len, &fixed_note, NULL) != 0 ||
	    pal_checkpoint_parse(fixed_note->text, fixed_note->text_len,
				 &fixed_cp, NULL) != 0 ||
	    pal_witness_policy_check(fixed_policy, fixed_note, fixed_cp, NULL,
				     NULL) != 0)
		abort();
	pal_buf_free(&text);
	pal_buf_free(&note);
	pal_note_signer_free(log);
	pal_note_signer_free(w[0]);
	pal_note_signer_free(w[1]);
}

/* What a policy promises, and that its check agrees with its result. */
static void
check_policy(const struct pal_witness_policy *p, const struct pal_note *n,
	     const struct pal_checkpoint *c)
{
	struct pal_witness_result res;
	size_t count = pal_witness_policy_count(p);

	if (count > PAL_WITNESS_POLICY_MAX_WITNESSES)
		abort();
	for (size_t i = 0; i < count; i++) {
		const struct pal_cosig_verifier *w;
		struct pal_cosig_verifier *again = NULL;
		w = pal_witness_policy_witness(p, i);
		if (w == NULL || pal_cosig_verifier_new(w->name, w->pub, &again,
							NULL) != 0 ||
		    again->key_id != w->key_id)
			abort();
		pal_cosig_verifier_free(again);
	}
	if (pal_witness_policy_witness(p, count) != NULL)
		abort();
	int rc = pal_witness_policy_check(p, n, c, &res, NULL);
	if ((rc == 0) != (res.satisfied == 1) ||
	    res.n_witnesses != count || res.n_verified > count)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_witness_policy *p = NULL;
	struct pal_note *n = NULL;
	struct pal_checkpoint *c = NULL;

	if (fixed_note == NULL)
		init();
	if (pal_witness_policy_parse((const char *)data, size, &p, NULL) == 0) {
		check_policy(p, fixed_note, fixed_cp);
		pal_witness_policy_free(p);
	} else if (p != NULL) {
		abort();
	}
	if (pal_note_parse(data, size, &n, NULL) != 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		int found = 0;
		uint64_t ts = 0;
		if (pal_cosig_verify(n, fixed_w[i], &found, &ts, NULL) == 0 &&
		    found && ts > PAL_COSIG_TIME_MAX)
			abort();
	}
	if (pal_checkpoint_parse(n->text, n->text_len, &c, NULL) == 0) {
		check_policy(fixed_policy, n, c);
		pal_checkpoint_free(c);
	}
	pal_note_free(n);
	return 0;
}
