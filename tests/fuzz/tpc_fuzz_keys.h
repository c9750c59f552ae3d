/*
 * tpc_fuzz_keys.h - fixed P-256 keys for the two-person control fuzz
 * targets, so that seeds signed with them (tests/fuzz/corpus/fuzz_approval,
 * fuzz_approvers) verify and lead the fuzzer past the signature checks.
 * Test keys, published here: they protect nothing.
 */
#ifndef PAL_TPC_FUZZ_KEYS_H
#define PAL_TPC_FUZZ_KEYS_H

#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "palisade/signer.h"

enum { TPC_FUZZ_ADMIN, TPC_FUZZ_BOB, TPC_FUZZ_CAROL, TPC_FUZZ_KEYS };

static const char *const tpc_fuzz_pem[TPC_FUZZ_KEYS] = {
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg2q1PGRFLgJ/oTVuw\n"
	"tf1TViZqAdSITgOWbwWAKbcn1A2hRANCAARWDtFQWaqBNkAeKrHT7DawLfFZiUst\n"
	"sHAGte5s1lyC2WfpcyIZeBdyFPtOuNFHj7sJUIhVSsuYiXXndz/7aSh5\n"
	"-----END PRIVATE KEY-----\n",
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgb6cnh4S6dS6Wsoof\n"
	"LjAmRrtQIrJBQKemzDYuYskXs+OhRANCAAQaZLVOgultrmK/L2948grREpnneEkl\n"
	"qgmQ2BviH5kIMvZl6CZH06UHZmjgJR0W70TWJqczyNoPEiiLo31d+QUE\n"
	"-----END PRIVATE KEY-----\n",
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgnsDcHbn/UfXgueat\n"
	"MC2tRWk150NA6tAzbIWPy3N1Y+OhRANCAAQSg5VwesNhyS84dNiuH6M2u7Jujq6Z\n"
	"VvBx5J9jNssveYSNFe+KIM5M9DovRW6xO2LZDNpE15A3K2YUIC4t/8oe\n"
	"-----END PRIVATE KEY-----\n",
};

/* Key i (a private key; its public half is what sets list). */
static inline EVP_PKEY *
tpc_fuzz_key(int i)
{
	BIO *bio = BIO_new_mem_buf(tpc_fuzz_pem[i], -1);
	EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) :
		NULL;

	BIO_free(bio);
	if (k == NULL)
		abort();
	return k;
}

static inline int
tpc_fuzz_sign(struct pal_signer *s, const uint8_t *msg, size_t len,
	      uint8_t **sig, size_t *sig_len, struct pal_err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = 256;

	(void)err;
	*sig = malloc(n);
	if (md == NULL || *sig == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, s->ctx) != 1 ||
	    EVP_DigestSign(md, *sig, &n, msg, len) != 1)
		abort();
	EVP_MD_CTX_free(md);
	*sig_len = n;
	return 0;
}

/* A signer for key (borrowed: the caller keeps and frees key). */
static inline struct pal_signer
tpc_fuzz_signer(EVP_PKEY *key)
{
	struct pal_signer s = { .pub = key, .sign = tpc_fuzz_sign,
				.ctx = key };
	return s;
}

#endif
