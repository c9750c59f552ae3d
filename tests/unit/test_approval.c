/*
 * test_approval.c - two-person control (src/vault/request.c, approval.c,
 * approvers.c, check.c, replay.c).
 *
 * The group setup makes P-256 keys with OpenSSL for an admin, a requester
 * (alice), three approvers (bob, carol, dave), an outsider (mallory), and
 * a P-384 key, writes them as PEM files under $PAL_TEST_TMP, and signs an
 * approver set {bob, carol, dave}, threshold 2, for vault "vault-1".
 * Then: the happy path (2 of 3, from files); the canonical form (a
 * known answer, the same digest for a reordered and re-spaced file, a new
 * one for any changed value); strict parsing of requests, approvals and
 * approver sets; and every refusal with its own reason: another request,
 * unknown approver, forged signature, self-approval, the same approver
 * twice, expired, too far ahead, another operation, release, vault or
 * requester, replayed (also from a second connection and from racing
 * processes), and too few approvals with every reason listed.  Last, an
 * approver whose key lives on a SoftHSM2 token.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "palisade/approval.h"
#include "palisade/dsse.h"
#include "palisade/encoding.h"
#include "palisade/pkcs11.h"

#define NOW INT64_C(1750000000)	/* 2025-06-15T15:06:40Z */
#define HOUR 3600
#define VAULT "vault-1"
#define RELEASE "llama-3-70b@2024-06"

enum { ADMIN, ALICE, BOB, CAROL, DAVE, MALLORY, N_KEYS };
static const char *const key_names[N_KEYS] = {
	"admin", "alice", "bob", "carol", "dave", "mallory",
};

static char dir[4096];
static EVP_PKEY *keys[N_KEYS];
static EVP_PKEY *p384;
static struct pal_tpc_approvers *set;
static struct pal_tpc_replay *store;
static int db_serial;

/* ---- fixture ---- */

static char *
path_of(const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	assert_non_null(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static void
put_file(const char *name, const void *data, size_t n)
{
	char *p = path_of(name);
	FILE *f = fopen(p, "wb");

	if (f == NULL)
		fail_msg("%s: %s", p, strerror(errno));
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	free(p);
}

static int
write_pem(EVP_PKEY *k, const char *name, int priv)
{
	char file[64];

	snprintf(file, sizeof(file), "%s.%s", name, priv ? "key" : "pub");
	char *p = path_of(file);
	FILE *f = fopen(p, "wb");
	int ok = f != NULL &&
		(priv ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) :
		 PEM_write_PUBKEY(f, k)) == 1;
	if (f != NULL)
		ok &= fclose(f) == 0;
	free(p);
	return ok ? 0 : -1;
}

/* dir/<name>.key (caller frees). */
static char *
key_path(int who)
{
	char file[64];

	snprintf(file, sizeof(file), "%s.key", key_names[who]);
	return path_of(file);
}

static char *
pub_path(int who)
{
	char file[64];

	snprintf(file, sizeof(file), "%s.pub", key_names[who]);
	return path_of(file);
}

static int
make_set(void)
{
	const char *names[] = { "bob", "carol", "dave" };
	char *pubs[3] = { pub_path(BOB), pub_path(CAROL), pub_path(DAVE) };
	char *admin = key_path(ADMIN), *out = path_of("approvers.json");
	struct pal_err err = { 0 };
	int rc = pal_tpc_approvers_write(out, VAULT, 2, names,
					 (const char *const *)pubs, 3, admin,
					 &err);
	if (rc == 0)
		rc = pal_tpc_approvers_load(out, keys[ADMIN], &set, &err);
	if (rc != 0)
		fprintf(stderr, "approver set: %s\n", err.msg);
	for (int i = 0; i < 3; i++)
		free(pubs[i]);
	free(admin);
	free(out);
	return rc;
}

static int
setup(void **state)
{
	const char *tmp = getenv("PAL_TEST_TMP");
	struct pal_err err = { 0 };

	(void)state;
	if (tmp == NULL)
		tmp = "/tmp";
	mkdir(tmp, 0700);
	snprintf(dir, sizeof(dir), "%s/approval.%ld", tmp, (long)getpid());
	if (mkdir(dir, 0700) != 0)
		return -1;
	for (int i = 0; i < N_KEYS; i++) {
		keys[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (keys[i] == NULL || write_pem(keys[i], key_names[i], 1) ||
		    write_pem(keys[i], key_names[i], 0))
			return -1;
	}
	p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (p384 == NULL || write_pem(p384, "p384", 1) ||
	    write_pem(p384, "p384", 0) || make_set() != 0)
		return -1;
	char *db = path_of("state.db");
	int rc = pal_tpc_replay_open(db, &store, &err);
	if (rc != 0)
		fprintf(stderr, "replay store: %s\n", err.msg);
	free(db);
	return rc;
}

static int
teardown(void **state)
{
	char cmd[4096 + 16];

	(void)state;
	pal_tpc_replay_close(store);
	pal_tpc_approvers_free(set);
	for (int i = 0; i < N_KEYS; i++)
		EVP_PKEY_free(keys[i]);
	EVP_PKEY_free(p384);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static struct pal_signer *
signer_of(int who)
{
	char *p = key_path(who);
	struct pal_signer *s = NULL;
	struct pal_err err = { 0 };

	if (pal_signer_from_pem(p, &s, &err) != 0)
		fail_msg("%s: %s", p, err.msg);
	free(p);
	return s;
}

static struct pal_tpc_request
request_for(enum pal_tpc_op op, const char *release, const char *requester,
	    const char *vault, long ttl)
{
	struct pal_tpc_request r;
	struct pal_err err = { 0 };

	if (pal_tpc_request_new(op, release, requester, vault, NOW, ttl, &r,
				&err) != 0)
		fail_msg("request: %s", err.msg);
	return r;
}

static struct pal_tpc_request
unseal_request(void)
{
	return request_for(PAL_TPC_UNSEAL, RELEASE, "alice", VAULT, HOUR);
}

/* who approves r through the library (which refuses what it should). */
static struct pal_tpc_approval
approve(const struct pal_tpc_request *r, int who)
{
	struct pal_signer *s = signer_of(who);
	struct pal_tpc_approval a;
	struct pal_err err = { 0 };

	if (pal_tpc_approve(r, key_names[who], s, NOW, &a, &err) != 0)
		fail_msg("approve: %s", err.msg);
	pal_signer_free(s);
	return a;
}

/*
 * An approval named name signed with signer's key, made by hand: what an
 * attacker (or a careless tool) can write without pal_tpc_approve.
 */
static struct pal_tpc_approval
raw_approval(const struct pal_tpc_request *r, const char *name, int signer)
{
	struct pal_signer *s = signer_of(signer);
	struct pal_tpc_approval a;
	struct pal_buf canon;
	struct pal_err err = { 0 };
	uint8_t *sig = NULL;
	size_t sig_len = 0;

	memset(&a, 0, sizeof(a));
	snprintf(a.approver, sizeof(a.approver), "%s", name);
	a.req = *r;
	pal_buf_init(&canon, 4096);
	assert_int_equal(pal_tpc_request_canonical(r, &canon, &err), 0);
	assert_int_equal(s->sign(s, canon.p, canon.len, &sig, &sig_len,
				 &err), 0);
	assert_true(sig_len <= sizeof(a.sig));
	memcpy(a.sig, sig, sig_len);
	a.sig_len = sig_len;
	free(sig);
	pal_buf_free(&canon);
	pal_signer_free(s);
	return a;
}

static const struct pal_tpc_want want_unseal = {
	PAL_TPC_UNSEAL, RELEASE, VAULT, NULL,
};

/* The check of n approvals at now, against the shared store. */
static int
check_at(const struct pal_tpc_want *w, const struct pal_tpc_request *r,
	 const struct pal_tpc_approval *a, size_t n, int64_t now,
	 struct pal_tpc_report *rep, struct pal_err *err)
{
	pal_err_clear(err);
	return pal_tpc_check(w, r, a, n, set, now, store, rep, err);
}

/* The check is refused with a message containing each of want[]. */
static void
refused(int rc, const struct pal_err *err, const char *const want[])
{
	if (rc != PAL_ERR_VERIFY)
		fail_msg("rc %d (%s), want a refusal", rc, err->msg);
	for (size_t i = 0; want[i] != NULL; i++)
		if (strstr(err->msg, want[i]) == NULL)
			fail_msg("'%s' does not say '%s'", err->msg, want[i]);
}

#define REFUSED(rc, err, ...) \
	refused(rc, err, (const char *const[]){ __VA_ARGS__, NULL })

/* The request is not recorded as used. */
static void
not_used(const struct pal_tpc_request *r)
{
	uint8_t d[PAL_TPC_DIGEST_LEN];
	struct pal_err err = { 0 };
	int seen = -1;

	assert_int_equal(pal_tpc_request_digest(r, d, &err), 0);
	assert_int_equal(pal_tpc_replay_seen(store, d, &seen, NULL, &err), 0);
	assert_int_equal(seen, 0);
}

/* ---- the happy path ---- */

static void
two_of_three_approve_from_files(void **state)
{
	struct pal_tpc_request r = unseal_request();
	struct pal_tpc_report rep;
	struct pal_err err = { 0 };
	char *rp = path_of("happy.request");
	char *bob_key = key_path(BOB), *carol_key = key_path(CAROL);
	char *ap[2] = { path_of("happy.bob"), path_of("happy.carol") };
	struct pal_buf desc;

	(void)state;
	assert_int_equal(pal_tpc_request_write(&r, rp, &err), 0);
	/* bob names himself; carol is found in the set by her key. */
	pal_buf_init(&desc, 1024);
	if (pal_tpc_approve_file(rp, bob_key, "bob", set, NOW + 60, ap[0],
				 &desc, &err) != 0)
		fail_msg("bob: %s", err.msg);
	assert_non_null(strstr((char *)desc.p, "unseal of release '"
			       RELEASE "' in vault " VAULT ", requested by "
			       "alice, expires 2025-06-15T16:06:40Z"));
	if (pal_tpc_approve_file(rp, carol_key, NULL, set, NOW + 60, ap[1],
				 NULL, &err) != 0)
		fail_msg("carol: %s", err.msg);
	pal_buf_free(&desc);

	/* Without the request file: it comes from the approvals. */
	pal_err_clear(&err);
	if (pal_tpc_authorize(&want_unseal, NULL, (const char *const *)ap, 2,
			      set, NOW + 120, store, &rep, &err) != 0)
		fail_msg("authorize: %s", err.msg);
	assert_int_equal(rep.n_valid, 2);
	assert_int_equal(rep.n_refused, 0);
	assert_string_equal(rep.valid[0], "bob");
	assert_string_equal(rep.valid[1], "carol");
	assert_true(rep.have_request);
	assert_string_equal(rep.req.nonce, r.nonce);

	/* Used once: the same approvals, with or without the request. */
	pal_err_clear(&err);
	int rc = pal_tpc_authorize(&want_unseal, rp, (const char *const *)ap,
				   2, set, NOW + 180, store, &rep, &err);
	REFUSED(rc, &err, "already used at 2025-06-15T15:08:40Z");
	free(rp);
	free(bob_key);
	free(carol_key);
	free(ap[0]);
	free(ap[1]);
}

static void
all_three_approve(void **state)
{
	struct pal_tpc_request r = request_for(PAL_TPC_SHRED, RELEASE,
					       "alice", VAULT, HOUR);
	struct pal_tpc_approval a[3] = {
		approve(&r, DAVE), approve(&r, BOB), approve(&r, CAROL),
	};
	struct pal_tpc_want w = { PAL_TPC_SHRED, RELEASE, VAULT, "alice" };
	struct pal_tpc_report rep;
	struct pal_err err;

	(void)state;
	if (check_at(&w, &r, a, 3, NOW, &rep, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(rep.n_valid, 3);
}

/* ---- canonical form ---- */

static void
canonical_form_is_a_known_answer(void **state)
{
	struct pal_tpc_request r;
	struct pal_buf b;
	struct pal_err err = { 0 };
	uint8_t d[32], want[32];
	unsigned int n = 0;
	const char *canon =
		"{\"expires\":\"2025-06-15T16:06:40Z\",\"nonce\":"
		"\"00112233445566778899aabbccddeeff\",\"operation\":\"rotate\","
		"\"release\":\"r \\\"q\\\" \\\\ x\",\"requester\":\"alice\","
		"\"vault\":\"vault-1\",\"version\":1}";

	(void)state;
	r = request_for(PAL_TPC_ROTATE, "r \"q\" \\ x", "alice", VAULT,
			HOUR);
	memcpy(r.nonce, "00112233445566778899aabbccddeeff", 33);
	pal_buf_init(&b, 4096);
	assert_int_equal(pal_tpc_request_canonical(&r, &b, &err), 0);
	assert_string_equal((char *)b.p, canon);
	assert_int_equal(pal_tpc_request_digest(&r, d, &err), 0);
	assert_int_equal(EVP_Digest(canon, strlen(canon), want, &n,
				    EVP_sha256(), NULL), 1);
	assert_memory_equal(d, want, 32);

	/* Parsing the canonical bytes gives the request back. */
	struct pal_tpc_request back;
	assert_int_equal(pal_tpc_request_parse(b.p, b.len, &back, &err), 0);
	assert_int_equal(memcmp(&back, &r, sizeof(r)), 0);
	pal_buf_free(&b);
}

static void
layout_does_not_change_the_digest(void **state)
{
	struct pal_tpc_request r = unseal_request(), back;
	struct pal_err err = { 0 };
	uint8_t d1[32], d2[32];
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text),
		 "\n  { \"version\" : 1,\r\n\t\"vault\":\"%s\" ,"
		 "\"requester\": \"alice\", \"release\": \"%s\",\n"
		 "  \"operation\": \"unseal\", \"nonce\": \"%s\", "
		 "\"expires\": \"%s\" }\n\n", r.vault, r.release, r.nonce,
		 r.expires);
	put_file("layout.request", text, strlen(text));
	char *p = path_of("layout.request");
	if (pal_tpc_request_load(p, &back, &err) != 0)
		fail_msg("%s", err.msg);
	free(p);
	assert_int_equal(pal_tpc_request_digest(&r, d1, &err), 0);
	assert_int_equal(pal_tpc_request_digest(&back, d2, &err), 0);
	assert_memory_equal(d1, d2, 32);

	/* Escapes that decode to the same string do not matter either. */
	snprintf(text, sizeof(text),
		 "{\"expires\":\"%s\",\"nonce\":\"%s\",\"operation\":"
		 "\"\\u0075nseal\",\"release\":\"%s\",\"requester\":"
		 "\"\\u0061lice\",\"vault\":\"%s\",\"version\":1}",
		 r.expires, r.nonce, r.release, r.vault);
	assert_int_equal(pal_tpc_request_parse((uint8_t *)text, strlen(text),
					       &back, &err), 0);
	assert_int_equal(pal_tpc_request_digest(&back, d2, &err), 0);
	assert_memory_equal(d1, d2, 32);
}

static void
any_changed_value_changes_the_digest(void **state)
{
	struct pal_tpc_request r = unseal_request();
	uint8_t d0[32], d[32];
	struct pal_err err = { 0 };

	(void)state;
	assert_int_equal(pal_tpc_request_digest(&r, d0, &err), 0);
	for (int field = 0; field < 6; field++) {
		struct pal_tpc_request c = r;

		switch (field) {
		case 0: c.op = PAL_TPC_EXPORT; break;
		case 1: c.release[0] ^= 1; break;
		case 2: c.requester[0] = 'b'; break;
		case 3: c.vault[6] = '2'; break;
		case 4: c.nonce[31] = c.nonce[31] == '0' ? '1' : '0'; break;
		default: c.expires[18] = c.expires[18] == '0' ? '1' : '0';
		}
		assert_int_equal(pal_tpc_request_digest(&c, d, &err), 0);
		if (memcmp(d, d0, 32) == 0)
			fail_msg("field %d changed, digest did not", field);
	}
	/* Two new requests differ by their nonce. */
	struct pal_tpc_request r2 = unseal_request();
	assert_string_not_equal(r.nonce, r2.nonce);
}

/* ---- strict parsing ---- */

struct bad_doc {
	const char *json;
	int code;
	const char *why;
};

#define NONCE "\"nonce\":\"00112233445566778899aabbccddeeff\""
#define EXP "\"expires\":\"2025-06-15T16:06:40Z\""
#define REQ_TAIL "\"operation\":\"unseal\",\"release\":\"r1\"," \
	"\"requester\":\"alice\",\"vault\":\"v\",\"version\":1}"
#define REQ_OK "{" EXP "," NONCE "," REQ_TAIL

static const struct bad_doc bad_requests[] = {
	{ REQ_OK, 0, NULL },
	{ "[" REQ_OK "]", PAL_ERR_FORMAT, "not a JSON object" },
	{ REQ_OK "x", PAL_ERR_FORMAT, "not valid JSON" },
	{ "{" EXP "," EXP "," NONCE "," REQ_TAIL, PAL_ERR_FORMAT,
	  "duplicate" },
	{ "{" NONCE "," REQ_TAIL, PAL_ERR_FORMAT,
	  "member \"expires\" is missing" },
	{ "{\"extra\":1," EXP "," NONCE "," REQ_TAIL, PAL_ERR_FORMAT,
	  "unknown member \"extra\"" },
	{ "{\"\\u00e9\\n\":1," EXP "," NONCE "," REQ_TAIL, PAL_ERR_FORMAT,
	  "unknown member \"\xc3\xa9\\x0a\"" },
	{ "{" EXP "," NONCE ",\"operation\":\"unseal\",\"release\":\"r1\","
	  "\"requester\":\"alice\",\"vault\":\"v\",\"version\":2}",
	  PAL_ERR_UNSUPPORTED, "version: 2 is not supported" },
	{ "{" EXP "," NONCE ",\"operation\":\"unseal\",\"release\":\"r1\","
	  "\"requester\":\"alice\",\"vault\":\"v\",\"version\":1.0}",
	  PAL_ERR_FORMAT, "version: not an integer" },
	{ "{" EXP "," NONCE ",\"operation\":\"unseal\",\"release\":\"r1\","
	  "\"requester\":\"alice\",\"vault\":\"v\",\"version\":\"1\"}",
	  PAL_ERR_FORMAT, "version: not an integer" },
	{ "{" EXP "," NONCE ",\"operation\":\"delete\",\"release\":\"r1\","
	  "\"requester\":\"alice\",\"vault\":\"v\",\"version\":1}",
	  PAL_ERR_FORMAT, "operation must be" },
	{ "{" EXP "," NONCE ",\"operation\":\"unseal\",\"release\":\"a/b\","
	  "\"requester\":\"alice\",\"vault\":\"v\",\"version\":1}",
	  PAL_ERR_FORMAT, "release: byte 1 (0x2f)" },
	{ "{" EXP "," NONCE ",\"operation\":\"unseal\",\"release\":"
	  "\"a\\u0001\",\"requester\":\"alice\",\"vault\":\"v\","
	  "\"version\":1}", PAL_ERR_FORMAT, "release: byte 1 (0x01)" },
	{ "{" EXP "," NONCE ",\"operation\":\"unseal\",\"release\":"
	  "\"caf\\u00e9\",\"requester\":\"alice\",\"vault\":\"v\","
	  "\"version\":1}", PAL_ERR_FORMAT, "release: byte 3 (0xc3)" },
	{ "{" EXP "," NONCE ",\"operation\":\"unseal\",\"release\":"
	  "\"a\\u0000b\",\"requester\":\"alice\",\"vault\":\"v\","
	  "\"version\":1}", PAL_ERR_FORMAT, "not valid JSON" },
	{ "{" EXP "," NONCE ",\"operation\":\"unseal\",\"release\":\"..\","
	  "\"requester\":\"alice\",\"vault\":\"v\",\"version\":1}",
	  PAL_ERR_FORMAT, "cannot be \".\" or \"..\"" },
	{ "{" EXP "," NONCE ",\"operation\":\"unseal\",\"release\":\" r\","
	  "\"requester\":\"alice\",\"vault\":\"v\",\"version\":1}",
	  PAL_ERR_FORMAT, "starts or ends with a space" },
	{ "{" EXP "," NONCE ",\"operation\":\"unseal\",\"release\":\"\","
	  "\"requester\":\"alice\",\"vault\":\"v\",\"version\":1}",
	  PAL_ERR_FORMAT, "release: empty" },
	{ "{" EXP "," NONCE ",\"operation\":\"unseal\",\"release\":\"r\","
	  "\"requester\":\"al ice\",\"vault\":\"v\",\"version\":1}",
	  PAL_ERR_FORMAT, "requester: byte 2 (0x20)" },
	{ "{" EXP "," NONCE ",\"operation\":\"unseal\",\"release\":\"r\","
	  "\"requester\":\"-alice\",\"vault\":\"v\",\"version\":1}",
	  PAL_ERR_FORMAT, "requester must start with a letter or digit" },
	{ "{" EXP "," NONCE ",\"operation\":\"unseal\",\"release\":\"r\","
	  "\"requester\":\"alice\",\"vault\":\"v/1\",\"version\":1}",
	  PAL_ERR_FORMAT, "vault: byte 1 (0x2f)" },
	{ "{" EXP ",\"nonce\":\"00112233445566778899AABBCCDDEEFF\","
	  REQ_TAIL, PAL_ERR_FORMAT, "not a lowercase hex digit" },
	{ "{" EXP ",\"nonce\":\"00112233445566778899aabbccddeef\","
	  REQ_TAIL, PAL_ERR_FORMAT, "nonce must be 32 hex digits" },
	{ "{" EXP ",\"nonce\":7," REQ_TAIL, PAL_ERR_FORMAT,
	  "nonce: not a string" },
	{ "{\"expires\":\"2025-02-29T00:00:00Z\"," NONCE "," REQ_TAIL,
	  PAL_ERR_FORMAT, "expires: not a UTC time" },
	{ "{\"expires\":\"2025-06-15T16:06:60Z\"," NONCE "," REQ_TAIL,
	  PAL_ERR_FORMAT, "expires: not a UTC time" },
	{ "{\"expires\":\"2025-06-15T16:06:40+00:00\"," NONCE "," REQ_TAIL,
	  PAL_ERR_LIMIT, "expires: 25 bytes, more than 20" },
	{ "{\"expires\":\"2025-06-15 16:06:40Z\"," NONCE "," REQ_TAIL,
	  PAL_ERR_FORMAT, "expires: not a UTC time" },
	{ "{\"expires\":\"2025-06-15t16:06:40z\"," NONCE "," REQ_TAIL,
	  PAL_ERR_FORMAT, "expires: not a UTC time" },
	{ "{\"expires\":1750003600," NONCE "," REQ_TAIL, PAL_ERR_FORMAT,
	  "expires: not a string" },
};

static void
requests_are_parsed_strictly(void **state)
{
	struct pal_tpc_request r;
	struct pal_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_requests) / sizeof(*bad_requests);
	     i++) {
		const struct bad_doc *b = &bad_requests[i];
		pal_err_clear(&err);
		int rc = pal_tpc_request_parse((const uint8_t *)b->json,
					       strlen(b->json), &r, &err);
		if (rc != b->code || (b->why && !strstr(err.msg, b->why)))
			fail_msg("case %zu: rc %d '%s', want %d '%s'", i, rc,
				 err.msg, b->code, b->why ? b->why : "");
	}
	/* A release of 128 bytes is taken, 129 is not; a huge file neither. */
	char big[PAL_TPC_REQUEST_FILE_MAX + 2];
	char rel[PAL_TPC_RELEASE_MAX + 2];
	memset(rel, 'r', sizeof(rel));
	for (int extra = 0; extra < 2; extra++) {
		rel[PAL_TPC_RELEASE_MAX + extra] = '\0';
		snprintf(big, sizeof(big), "{" EXP "," NONCE ",\"operation\":"
			 "\"unseal\",\"release\":\"%s\",\"requester\":"
			 "\"alice\",\"vault\":\"v\",\"version\":1}", rel);
		pal_err_clear(&err);
		int rc = pal_tpc_request_parse((uint8_t *)big, strlen(big),
					       &r, &err);
		assert_int_equal(rc, extra ? PAL_ERR_LIMIT : 0);
		rel[PAL_TPC_RELEASE_MAX + extra] = 'r';
	}
	memset(big, ' ', sizeof(big));
	memcpy(big, REQ_OK, strlen(REQ_OK));
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_request_parse((uint8_t *)big, sizeof(big),
					       &r, &err), PAL_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "over the 4096-byte limit"));
}

static void
new_requests_check_their_values(void **state)
{
	struct pal_tpc_request r;
	struct pal_err err;

	(void)state;
	struct {
		const char *rel, *who, *vault;
		long ttl;
		const char *why;
	} c[] = {
		{ "a/b", "alice", VAULT, HOUR, "release: byte 1 (0x2f)" },
		{ "r", "alice smith", VAULT, HOUR, "requester: byte 5" },
		{ "r", "alice", "", HOUR, "vault must be 1 to 64 bytes" },
		{ "r", "alice", VAULT, 0, "1 to 604800 seconds, not 0" },
		{ "r", "alice", VAULT, PAL_TPC_TTL_MAX + 1, "not 604801" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(*c); i++) {
		pal_err_clear(&err);
		int rc = pal_tpc_request_new(PAL_TPC_UNSEAL, c[i].rel,
					     c[i].who, c[i].vault, NOW,
					     c[i].ttl, &r, &err);
		if (rc != PAL_ERR_INVALID || !strstr(err.msg, c[i].why))
			fail_msg("case %zu: rc %d '%s'", i, rc, err.msg);
	}
	enum pal_tpc_op op;
	assert_int_equal(pal_tpc_op_parse("export", &op, NULL), 0);
	assert_int_equal(op, PAL_TPC_EXPORT);
	assert_int_equal(pal_tpc_op_parse("Export", &op, NULL),
			 PAL_ERR_INVALID);
	assert_string_equal(pal_tpc_op_name(PAL_TPC_SHRED), "shred");
}

static void
times_round_trip(void **state)
{
	static const struct { int64_t t; const char *s; } v[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ 951782400, "2000-02-29T00:00:00Z" },
		{ 1750000000, "2025-06-15T15:06:40Z" },
		{ 4107542399, "2100-02-28T23:59:59Z" },
		{ INT64_C(253402300799), "9999-12-31T23:59:59Z" },
	};
	char out[PAL_TPC_TIME_LEN + 1];
	int64_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
		assert_int_equal(pal_tpc_time_format(v[i].t, out), 0);
		assert_string_equal(out, v[i].s);
		assert_int_equal(pal_tpc_time_parse(v[i].s, 20, &t), 0);
		assert_int_equal(t, v[i].t);
	}
	assert_int_not_equal(pal_tpc_time_parse("2100-02-29T00:00:00Z", 20,
						&t), 0);
	assert_int_not_equal(pal_tpc_time_parse("1969-12-31T23:59:59Z", 20,
						&t), 0);
	assert_int_not_equal(pal_tpc_time_parse("2025-13-01T00:00:00Z", 20,
						&t), 0);
	assert_int_not_equal(pal_tpc_time_parse("2025-06-15T24:00:00Z", 20,
						&t), 0);
	assert_int_not_equal(pal_tpc_time_parse("+025-06-15T00:00:00Z", 20,
						&t), 0);
	assert_int_not_equal(pal_tpc_time_format(-1, out), 0);
}

static void
approvals_are_parsed_strictly(void **state)
{
	struct pal_tpc_request r = unseal_request();
	struct pal_tpc_approval a = approve(&r, BOB), back;
	struct pal_buf b;
	struct pal_err err = { 0 };

	(void)state;
	pal_buf_init(&b, 8192);
	assert_int_equal(pal_tpc_approval_serialize(&a, &b, &err), 0);
	assert_int_equal(pal_tpc_approval_parse(b.p, b.len, &back, &err), 0);
	assert_int_equal(memcmp(&a, &back, sizeof(a)), 0);
	assert_non_null(strstr((char *)b.p, "{\"approver\":\"bob\","
			       "\"request\":{\"expires\":"));

	char text[4096];
	const char *sig = strstr((char *)b.p, "\"signature\":\"") + 13;
	int siglen = (int)(strchr(sig, '"') - sig);
	/* Each case: text before the request, between it and the
	 * signature, after the signature. */
	struct { const char *pre, *mid, *post, *why; } c[] = {
		{ "{\"approver\":\"bob\",\"request\":", ",\"signature\":\"",
		  "\",\"x\":0}", "unknown member \"x\"" },
		{ "{\"approver\":\"bob\",\"request\":", ",\"signature\":\"",
		  "=\"}", "signature" },
		{ "{\"approver\":\"b o\",\"request\":", ",\"signature\":\"",
		  "\"}", "approval.approver: byte 1 (0x20)" },
		{ "{\"approver\":\"bob\",\"request\":[", "],\"signature\":\"",
		  "\"}", "approval.request: not an object" },
		{ "{\"approver\":\"bob\",\"request\":", ",\"signature\":\"",
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
		  "bytes, more than 96" },
		{ "{\"approver\":\"bob\",\"request\":", ",\"signature\":\"",
		  "\"} {}", "not valid JSON" },
	};
	struct pal_buf canon;
	pal_buf_init(&canon, 4096);
	assert_int_equal(pal_tpc_request_canonical(&r, &canon, &err), 0);
	for (size_t i = 0; i < sizeof(c) / sizeof(*c); i++) {
		snprintf(text, sizeof(text), "%s%s%s%.*s%s", c[i].pre,
			 (char *)canon.p, c[i].mid, siglen, sig, c[i].post);
		pal_err_clear(&err);
		int rc = pal_tpc_approval_parse((uint8_t *)text, strlen(text),
						&back, &err);
		if (rc == 0 || !strstr(err.msg, c[i].why))
			fail_msg("case %zu: rc %d '%s'", i, rc, err.msg);
	}
	pal_buf_free(&canon);
	pal_buf_free(&b);
}

/* ---- refusals ---- */

static void
approval_for_another_request_is_refused(void **state)
{
	struct pal_tpc_request r1 = unseal_request(), r2 = unseal_request();
	struct pal_tpc_approval a[2] = { approve(&r1, BOB),
					 approve(&r2, CAROL) };
	struct pal_tpc_report rep;
	struct pal_err err;
	char d2[17];
	uint8_t d[32];
	char hex[65];

	(void)state;
	assert_int_equal(pal_tpc_request_digest(&r2, d, &err), 0);
	pal_hex_encode(d, 32, hex);
	snprintf(d2, sizeof(d2), "%.16s", hex);
	int rc = check_at(&want_unseal, &r1, a, 2, NOW, &rep, &err);
	REFUSED(rc, &err, "1 of 2 approvals: carol's was refused: it "
		"approves another request (digest ", d2);
	assert_int_equal(rep.n_refused, 1);
	assert_string_equal(rep.refused[0].who, "carol");
	not_used(&r1);
	not_used(&r2);
}

static void
unknown_approver_is_refused(void **state)
{
	struct pal_tpc_request r = unseal_request();
	struct pal_tpc_approval a[2] = {
		approve(&r, BOB), raw_approval(&r, "mallory", MALLORY),
	};
	struct pal_err err;

	(void)state;
	int rc = check_at(&want_unseal, &r, a, 2, NOW, NULL, &err);
	REFUSED(rc, &err, "1 of 2 approvals: mallory's was refused: unknown "
		"approver (not in vault vault-1's approver set, serial 1)");
	not_used(&r);
}

static void
forged_signature_is_refused(void **state)
{
	struct pal_tpc_request r = unseal_request();
	/* mallory signs as carol; then a bit of dave's signature flips. */
	struct pal_tpc_approval a[3] = {
		approve(&r, BOB), raw_approval(&r, "carol", MALLORY),
		approve(&r, DAVE),
	};
	struct pal_tpc_report rep;
	struct pal_err err;

	(void)state;
	a[2].sig[a[2].sig_len - 1] ^= 1;
	int rc = check_at(&want_unseal, &r, a, 3, NOW, &rep, &err);
	REFUSED(rc, &err, "1 of 2 approvals: carol's was refused: the "
		"signature does not verify with carol's key (forged or "
		"altered); dave's was refused: the signature does not verify "
		"with dave's key");
	assert_int_equal(rep.n_valid, 1);
	assert_int_equal(rep.n_refused, 2);

	/* An approval whose request was edited after signing. */
	struct pal_tpc_approval b[2] = { approve(&r, BOB), approve(&r, CAROL) };
	b[1].req.expires[3] = '6';	/* 2026 */
	b[1].req.expires_at += 365 * 86400;
	rc = check_at(&want_unseal, &r, b, 2, NOW, &rep, &err);
	REFUSED(rc, &err, "carol's was refused: it approves another request");
	/* And that edited request, run as the request, fails its check. */
	rc = check_at(&want_unseal, &b[1].req, b, 2, NOW, &rep, &err);
	REFUSED(rc, &err, "more than 7 days after now");
	not_used(&r);
}

static void
self_approval_is_refused(void **state)
{
	struct pal_tpc_request r = request_for(PAL_TPC_UNSEAL, RELEASE, "bob",
					       VAULT, HOUR);
	struct pal_tpc_approval a[2] = {
		raw_approval(&r, "bob", BOB), approve(&r, CAROL),
	};
	struct pal_signer *s = signer_of(BOB);
	struct pal_tpc_approval mine;
	struct pal_err err;

	(void)state;
	int rc = check_at(&want_unseal, &r, a, 2, NOW, NULL, &err);
	REFUSED(rc, &err, "1 of 2 approvals: bob's was refused: bob is the "
		"requester and cannot approve their own request");
	not_used(&r);
	/* pal_tpc_approve will not even sign it. */
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_approve(&r, "bob", s, NOW, &mine, &err),
			 PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "bob is the requester"));
	pal_signer_free(s);
}

static void
same_approver_twice_is_refused(void **state)
{
	struct pal_tpc_request r = unseal_request();
	struct pal_tpc_approval a[2] = { approve(&r, BOB), approve(&r, BOB) };
	struct pal_err err;

	(void)state;
	/* Two signatures by bob (ECDSA is randomized): still one person. */
	assert_memory_not_equal(a[0].sig, a[1].sig, a[0].sig_len);
	int rc = check_at(&want_unseal, &r, a, 2, NOW, NULL, &err);
	REFUSED(rc, &err, "1 of 2 approvals: bob's was refused: bob has "
		"already approved this request");
	not_used(&r);
}

static void
expired_request_is_refused(void **state)
{
	struct pal_tpc_request r = request_for(PAL_TPC_UNSEAL, RELEASE,
					       "alice", VAULT, 60);
	struct pal_tpc_approval a[2] = { approve(&r, BOB), approve(&r, CAROL) };
	struct pal_err err;

	(void)state;
	int rc = check_at(&want_unseal, &r, a, 2, NOW + 60, NULL, &err);
	REFUSED(rc, &err, "expired at 2025-06-15T15:07:40Z (now "
		"2025-06-15T15:07:40Z)");
	rc = check_at(&want_unseal, NULL, a, 2, NOW + 3600, NULL, &err);
	REFUSED(rc, &err, "expired at 2025-06-15T15:07:40Z");
	not_used(&r);
	/* One second earlier it would have run. */
	if (check_at(&want_unseal, NULL, a, 2, NOW + 59, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	/* Approving an expired request is refused before signing. */
	struct pal_signer *s = signer_of(DAVE);
	struct pal_tpc_approval late;
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_approve(&r, "dave", s, NOW + 61, &late, &err),
			 PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "expired at"));
	pal_signer_free(s);
}

static void
request_for_another_target_is_refused(void **state)
{
	struct pal_tpc_request r = unseal_request();
	struct pal_tpc_approval a[2] = { approve(&r, BOB), approve(&r, CAROL) };
	struct pal_tpc_want w;
	struct pal_err err;
	int rc;

	(void)state;
	w = (struct pal_tpc_want){ PAL_TPC_SHRED, RELEASE, VAULT, NULL };
	rc = check_at(&w, &r, a, 2, NOW, NULL, &err);
	REFUSED(rc, &err, "for unseal, not shred");
	rc = check_at(&w, NULL, a, 2, NOW, NULL, &err);
	REFUSED(rc, &err, "for unseal, not shred");
	w = (struct pal_tpc_want){ PAL_TPC_UNSEAL, "other", VAULT, NULL };
	rc = check_at(&w, &r, a, 2, NOW, NULL, &err);
	REFUSED(rc, &err, "for release '" RELEASE "', not 'other'");
	w = (struct pal_tpc_want){ PAL_TPC_UNSEAL, RELEASE, VAULT, "eve" };
	rc = check_at(&w, &r, a, 2, NOW, NULL, &err);
	REFUSED(rc, &err, "made by alice, not eve");
	/* The set is for vault-1; so must the operation be. */
	w = (struct pal_tpc_want){ PAL_TPC_UNSEAL, RELEASE, "vault-2", NULL };
	rc = check_at(&w, &r, a, 2, NOW, NULL, &err);
	REFUSED(rc, &err, "the approver set is for vault vault-1, not "
		"vault-2");
	/* A request for vault-2 approved by vault-1's approvers. */
	struct pal_tpc_request r2 = request_for(PAL_TPC_UNSEAL, RELEASE,
						"alice", "vault-2", HOUR);
	struct pal_tpc_approval a2[2] = { approve(&r2, BOB),
					  approve(&r2, CAROL) };
	rc = check_at(&want_unseal, &r2, a2, 2, NOW, NULL, &err);
	REFUSED(rc, &err, "for vault vault-2, not vault-1");
	not_used(&r);
	not_used(&r2);
}

static void
too_few_approvals_are_refused(void **state)
{
	struct pal_tpc_request r = unseal_request();
	struct pal_tpc_approval a[1] = { approve(&r, BOB) };
	struct pal_err err;

	(void)state;
	int rc = check_at(&want_unseal, &r, a, 1, NOW, NULL, &err);
	REFUSED(rc, &err, "1 of 2 approvals: 1 more needed from the approver "
		"set");
	rc = check_at(&want_unseal, &r, a, 0, NOW, NULL, &err);
	REFUSED(rc, &err, "no approvals (2 needed)");
	not_used(&r);
}

static void
every_refusal_is_reported(void **state)
{
	struct pal_tpc_request r = unseal_request();
	struct pal_tpc_approval a[3] = {
		approve(&r, BOB), raw_approval(&r, "carol", MALLORY),
		raw_approval(&r, "mallory", MALLORY),
	};
	char *paths[4] = {
		path_of("all.bob"), path_of("all.carol"),
		path_of("all.mallory"), path_of("all.broken"),
	};
	struct pal_tpc_report rep;
	struct pal_err err = { 0 };

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pal_tpc_approval_write(&a[i], paths[i], &err),
				 0);
	}
	put_file("all.broken", "{\"approver\":\"dave\"}", 19);
	int rc = pal_tpc_authorize(&want_unseal, NULL,
				   (const char *const *)paths, 4, set, NOW,
				   store, &rep, &err);
	REFUSED(rc, &err, "1 of 2 approvals: carol's was refused: the "
		"signature does not verify", "; mallory's was refused: "
		"unknown approver", "all.broken's was refused: approval: "
		"member \"request\" is missing");
	assert_int_equal(rep.n_refused, 3);
	assert_string_equal(rep.refused[2].who, paths[3]);
	assert_int_equal(rep.n_valid, 1);
	not_used(&r);
	/* A missing file is one more refusal, not an error of the check. */
	free(paths[3]);
	paths[3] = path_of("all.absent");
	rc = pal_tpc_authorize(&want_unseal, NULL, (const char *const *)paths,
			       4, set, NOW, store, &rep, &err);
	REFUSED(rc, &err, "all.absent's was refused: ");
	for (int i = 0; i < 4; i++)
		free(paths[i]);
}

/* After every refusal above, the request still runs with good approvals. */
static void
refusals_do_not_consume(void **state)
{
	struct pal_tpc_request r = unseal_request();
	struct pal_tpc_approval bad[2] = { approve(&r, BOB),
					   raw_approval(&r, "carol", DAVE) };
	struct pal_tpc_approval good[2] = { approve(&r, BOB),
					    approve(&r, CAROL) };
	struct pal_err err;

	(void)state;
	REFUSED(check_at(&want_unseal, &r, bad, 2, NOW, NULL, &err), &err,
		"carol's was refused");
	not_used(&r);
	if (check_at(&want_unseal, &r, good, 2, NOW, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	REFUSED(check_at(&want_unseal, &r, good, 2, NOW + 1, NULL, &err),
		&err, "already used at 2025-06-15T15:06:40Z");
	/* A used request is refused as used, whatever else is wrong. */
	REFUSED(check_at(&want_unseal, &r, good, 1, NOW + 1, NULL, &err),
		&err, "already used at 2025-06-15T15:06:40Z");
}

/* ---- replay ---- */

static char *
fresh_db(struct pal_tpc_replay **s)
{
	char name[64];
	struct pal_err err = { 0 };

	snprintf(name, sizeof(name), "replay-%d.db", db_serial++);
	char *p = path_of(name);
	if (pal_tpc_replay_open(p, s, &err) != 0)
		fail_msg("%s", err.msg);
	return p;
}

static void
replay_is_refused_from_a_second_connection(void **state)
{
	struct pal_tpc_replay *s1 = NULL, *s2 = NULL;
	struct pal_tpc_request r = unseal_request();
	struct pal_tpc_approval a[2] = { approve(&r, BOB), approve(&r, DAVE) };
	struct pal_err err = { 0 };
	struct stat st;

	(void)state;
	char *p = fresh_db(&s1);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	if (pal_tpc_replay_open(p, &s2, &err) != 0)
		fail_msg("%s", err.msg);
	if (pal_tpc_check(&want_unseal, &r, a, 2, set, NOW, s1, NULL,
			  &err) != 0)
		fail_msg("%s", err.msg);
	pal_err_clear(&err);
	int rc = pal_tpc_check(&want_unseal, &r, a, 2, set, NOW + 5, s2, NULL,
			       &err);
	REFUSED(rc, &err, "already used at 2025-06-15T15:06:40Z");
	/* Consuming directly is refused the same way. */
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_replay_consume(s2, &r, NOW + 6, &err),
			 PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "already used"));
	/* And after reopening the file. */
	pal_tpc_replay_close(s1);
	pal_tpc_replay_close(s2);
	s1 = NULL;
	if (pal_tpc_replay_open(p, &s1, &err) != 0)
		fail_msg("%s", err.msg);
	pal_err_clear(&err);
	rc = pal_tpc_check(&want_unseal, &r, a, 2, set, NOW + 7, s1, NULL,
			   &err);
	REFUSED(rc, &err, "already used");
	pal_tpc_replay_close(s1);
	free(p);
}

/* Racing processes consume one request: exactly one wins. */
static void
racing_consumers_run_once(void **state)
{
	enum { RACERS = 8 };
	struct pal_tpc_replay *s = NULL;
	struct pal_tpc_request r = unseal_request();
	struct pal_tpc_approval a[2] = { approve(&r, CAROL),
					 approve(&r, DAVE) };
	int go[2], wins = 0, losses = 0;
	pid_t pid[RACERS];

	(void)state;
	char *p = fresh_db(&s);
	pal_tpc_replay_close(s);
	assert_int_equal(pipe(go), 0);
	for (int i = 0; i < RACERS; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] > 0)
			continue;
		/* Each child opens its own connection, then waits to start. */
		struct pal_tpc_replay *mine = NULL;
		struct pal_err err = { 0 };
		char c;
		close(go[1]);
		if (pal_tpc_replay_open(p, &mine, &err) != 0)
			_exit(3);
		if (read(go[0], &c, 1) < 0)
			_exit(3);
		int rc = pal_tpc_check(&want_unseal, &r, a, 2, set, NOW, mine,
				       NULL, &err);
		pal_tpc_replay_close(mine);
		_exit(rc == 0 ? 0 : rc == PAL_ERR_VERIFY &&
		      strstr(err.msg, "already used") ? 1 : 2);
	}
	close(go[0]);
	close(go[1]);	/* EOF releases every child at once */
	for (int i = 0; i < RACERS; i++) {
		int st = 0;
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) == 0)
			wins++;
		else if (WEXITSTATUS(st) == 1)
			losses++;
		else
			fail_msg("racer %d exited %d", i, WEXITSTATUS(st));
	}
	assert_int_equal(wins, 1);
	assert_int_equal(losses, RACERS - 1);
	free(p);
}

static void
replay_store_refuses_a_symlink(void **state)
{
	struct pal_tpc_replay *s = NULL;
	struct pal_err err = { 0 };
	char *target = path_of("elsewhere.db"), *link = path_of("link.db");

	(void)state;
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(pal_tpc_replay_open(link, &s, &err), PAL_ERR_IO);
	assert_null(s);
	assert_int_equal(access(target, F_OK), -1);
	free(target);
	free(link);
}

/* ---- approver sets ---- */

/* A DSSE envelope around payload, signed by signer (no checks). */
static char *
envelope(const char *payload, EVP_PKEY *signer, const char *type)
{
	struct pal_buf pae, out;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sig[256];
	size_t sig_len = sizeof(sig);

	pal_buf_init(&pae, 1 << 20);
	pal_buf_init(&out, 1 << 20);
	assert_int_equal(pal_dsse_pae(type, (const uint8_t *)payload,
				      strlen(payload), &pae), 0);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
					    signer), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &sig_len, pae.p, pae.len), 1);
	EVP_MD_CTX_free(md);
	pal_buf_printf(&out, "{\"payload\":\"");
	pal_base64_encode((const uint8_t *)payload, strlen(payload), &out);
	pal_buf_printf(&out, "\",\"payloadType\":\"%s\",\"signatures\":"
		       "[{\"sig\":\"", type);
	pal_base64_encode(sig, sig_len, &out);
	assert_int_equal(pal_buf_puts(&out, "\"}]}"), 0);
	pal_buf_free(&pae);
	return (char *)pal_buf_steal(&out, &sig_len);
}

/* The canonical PEM of key as a JSON string body ("\n" escaped). */
static void
pem_json(EVP_PKEY *key, char *out, size_t cap)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL;
	size_t k = 0;

	assert_int_equal(PEM_write_bio_PUBKEY(bio, key), 1);
	long n = BIO_get_mem_data(bio, &p);
	for (long i = 0; i < n && k + 3 < cap; i++) {
		if (p[i] == '\n') {
			out[k++] = '\\';
			out[k++] = 'n';
		} else {
			out[k++] = p[i];
		}
	}
	out[k] = '\0';
	BIO_free(bio);
}

static int
parse_set(const char *env, EVP_PKEY *admin, struct pal_err *err)
{
	struct pal_tpc_approvers *s = NULL;

	pal_err_clear(err);
	int rc = pal_tpc_approvers_parse((const uint8_t *)env, strlen(env),
					 admin, &s, err);
	pal_tpc_approvers_free(s);
	return rc;
}

static void
approver_set_verifies_and_finds(void **state)
{
	struct pal_err err;

	(void)state;
	assert_int_equal(set->n, 3);
	assert_int_equal(set->threshold, 2);
	assert_string_equal(set->vault, VAULT);
	assert_string_equal(set->a[1].name, "carol");
	assert_ptr_equal(pal_tpc_approvers_find(set, "dave"), &set->a[2]);
	assert_null(pal_tpc_approvers_find(set, "alice"));
	assert_ptr_equal(pal_tpc_approvers_find_key(set, keys[CAROL]),
			 &set->a[1]);
	assert_null(pal_tpc_approvers_find_key(set, keys[MALLORY]));

	/* The file as written, then with the wrong admin key. */
	char *p = path_of("approvers.json");
	struct pal_tpc_approvers *s = NULL;
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_approvers_load(p, keys[MALLORY], &s, &err),
			 PAL_ERR_VERIFY);
	assert_null(s);
	assert_non_null(strstr(err.msg, "the signature does not verify with "
			       "the vault's admin key"));
	free(p);
}

static void
approver_set_tampering_is_refused(void **state)
{
	char bob[512], carol[512], payload[2048];
	struct pal_err err;

	(void)state;
	pem_json(keys[BOB], bob, sizeof(bob));
	pem_json(keys[CAROL], carol, sizeof(carol));
	snprintf(payload, sizeof(payload), "{\"approvers\":[{\"key\":\"%s\","
		 "\"name\":\"bob\"},{\"key\":\"%s\",\"name\":\"carol\"}],"
		 "\"threshold\":2,\"vault\":\"v\",\"version\":1}", bob, carol);
	char *good = envelope(payload, keys[ADMIN], PAL_TPC_APPROVERS_TYPE);
	if (parse_set(good, keys[ADMIN], &err) != 0)
		fail_msg("%s", err.msg);

	/* The payload changed after signing: threshold 2 becomes 1. */
	char *evil = envelope(payload, keys[ADMIN], PAL_TPC_APPROVERS_TYPE);
	char *start = strstr(evil, "\"payload\":\"") + 11;
	struct pal_buf b64;
	pal_buf_init(&b64, 1 << 20);
	char *t = strstr(payload, "\"threshold\":2");
	t[12] = '1';
	pal_base64_encode((uint8_t *)payload, strlen(payload), &b64);
	memcpy(start, b64.p, b64.len);	/* same length: same layout */
	t[12] = '2';
	assert_int_equal(parse_set(evil, keys[ADMIN], &err), PAL_ERR_VERIFY);
	pal_buf_free(&b64);

	/* Signed by someone else, or for another payload type. */
	char *other = envelope(payload, keys[MALLORY], PAL_TPC_APPROVERS_TYPE);
	assert_int_equal(parse_set(other, keys[ADMIN], &err), PAL_ERR_VERIFY);
	char *intoto = envelope(payload, keys[ADMIN], PAL_DSSE_INTOTO_TYPE);
	assert_int_equal(parse_set(intoto, keys[ADMIN], &err),
			 PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "payloadType"));

	/* Two signatures, or extra members in the envelope. */
	char two[8192];
	char *sigs = strstr(good, "[{");
	snprintf(two, sizeof(two), "%.*s[%.*s,%s", (int)(sigs - good), good,
		 (int)(strlen(sigs + 1) - 2), sigs + 1, sigs + 1);
	assert_int_equal(parse_set(two, keys[ADMIN], &err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "exactly one signature"));
	snprintf(two, sizeof(two), "{\"extra\":0,%s", good + 1);
	assert_int_equal(parse_set(two, keys[ADMIN], &err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "unknown member \"extra\""));
	/* keyid is a hint: empty is fine, a number is not. */
	snprintf(two, sizeof(two), "%.*s[{\"keyid\":\"\",%s",
		 (int)(sigs - good), good, sigs + 2);
	if (parse_set(two, keys[ADMIN], &err) != 0)
		fail_msg("%s", err.msg);
	snprintf(two, sizeof(two), "%.*s[{\"keyid\":7,%s",
		 (int)(sigs - good), good, sigs + 2);
	assert_int_equal(parse_set(two, keys[ADMIN], &err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "keyid: not a string"));
	free(good);
	free(evil);
	free(other);
	free(intoto);
}

/* Payloads the admin signed that still must be refused. */
static void
odd_signed_sets_are_refused(void **state)
{
	char bob[512], carol[512], p384pem[512], payload[4096];
	struct pal_err err;

	(void)state;
	pem_json(keys[BOB], bob, sizeof(bob));
	pem_json(keys[CAROL], carol, sizeof(carol));
	pem_json(p384, p384pem, sizeof(p384pem));
	struct {
		const char *k1, *n1, *k2, *n2, *extra;
		int threshold;
		const char *why;
	} c[] = {
		{ bob, "bob", carol, "carol", "", 1,
		  "threshold 1: at least 2" },
		{ bob, "bob", carol, "carol", "", 3, "threshold 3 is more than "
		  "the 2 approvers" },
		{ bob, "bob", carol, "bob", "", 2, "bob is listed twice" },
		{ bob, "bob", bob, "carol", "", 2, "carol has the same key as "
		  "bob" },
		{ bob, "bob", p384pem, "carol", "", 2, "approvers[1].key is "
		  "not an ECDSA P-256 key" },
		{ bob, "bob", carol, "carol", ",\"admin\":\"x\"", 2,
		  "unknown member \"admin\"" },
		{ bob, "bob", carol, "c a", "", 2,
		  "approvers[1].name: byte 1" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(*c); i++) {
		snprintf(payload, sizeof(payload), "{\"approvers\":[{\"key\":"
			 "\"%s\",\"name\":\"%s\"},{\"key\":\"%s\",\"name\":"
			 "\"%s\"}],\"threshold\":%d,\"vault\":\"v\","
			 "\"version\":1%s}", c[i].k1, c[i].n1, c[i].k2,
			 c[i].n2, c[i].threshold, c[i].extra);
		char *env = envelope(payload, keys[ADMIN],
				     PAL_TPC_APPROVERS_TYPE);
		int rc = parse_set(env, keys[ADMIN], &err);
		if (rc == 0 || !strstr(err.msg, c[i].why))
			fail_msg("case %zu: rc %d '%s'", i, rc, err.msg);
		free(env);
	}
	/* A PEM key with text around it, or another layout, is refused. */
	const char *around[][2] = { { "junk\\n", "" }, { "", "\\n" },
				    { "", " " } };
	for (size_t i = 0; i < 3; i++) {
		char key[600];
		snprintf(key, sizeof(key), "%s%s%s", around[i][0], bob,
			 around[i][1]);
		snprintf(payload, sizeof(payload), "{\"approvers\":[{\"key\":"
			 "\"%s\",\"name\":\"bob\"},{\"key\":\"%s\",\"name\":"
			 "\"carol\"}],\"threshold\":2,\"vault\":\"v\","
			 "\"version\":1}", key, carol);
		char *env = envelope(payload, keys[ADMIN],
				     PAL_TPC_APPROVERS_TYPE);
		int rc = parse_set(env, keys[ADMIN], &err);
		if (rc != PAL_ERR_FORMAT || !strstr(err.msg, "canonical PEM"))
			fail_msg("layout %zu: rc %d '%s'", i, rc, err.msg);
		free(env);
	}
}

static void
new_sets_are_checked_before_signing(void **state)
{
	struct pal_buf b;
	struct pal_err err;
	const char *two[] = { "bob", "carol" };
	EVP_PKEY *k2[] = { keys[BOB], keys[CAROL] };
	EVP_PKEY *same[] = { keys[BOB], keys[BOB] };
	EVP_PKEY *curve[] = { keys[BOB], p384 };
	const char *dup[] = { "bob", "bob" };
	struct {
		const char *const *names;
		EVP_PKEY *const *k;
		unsigned m;
		const char *vault, *why;
	} c[] = {
		{ two, k2, 1, "v", "at least 2 approvals must be required" },
		{ two, k2, 0, "v", "threshold 0" },
		{ two, k2, 3, "v", "more than the 2 approvers" },
		{ dup, k2, 2, "v", "bob is listed twice" },
		{ two, same, 2, "v", "carol has the same key as bob" },
		{ two, curve, 2, "v", "not an ECDSA P-256 key" },
		{ two, k2, 2, "v 1", "vault: byte 1" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(*c); i++) {
		pal_buf_init(&b, 1 << 20);
		pal_err_clear(&err);
		int rc = pal_tpc_approvers_payload(c[i].vault, c[i].m,
						   c[i].names, c[i].k, 2, &b,
						   &err);
		if (rc == 0 || !strstr(err.msg, c[i].why))
			fail_msg("case %zu: rc %d '%s'", i, rc, err.msg);
		pal_buf_free(&b);
	}
	/* And a good payload signs, verifies and reads back. */
	struct pal_buf env;
	struct pal_signer *admin = signer_of(ADMIN);
	struct pal_tpc_approvers *s = NULL;
	pal_buf_init(&b, 1 << 20);
	pal_buf_init(&env, 1 << 20);
	assert_int_equal(pal_tpc_approvers_payload("v", 2, two, k2, 2, &b,
						   &err), 0);
	assert_int_equal(pal_tpc_approvers_sign(b.p, b.len, admin, &env,
						&err), 0);
	assert_int_equal(pal_tpc_approvers_parse(env.p, env.len, keys[ADMIN],
						 &s, &err), 0);
	assert_int_equal(s->n, 2);
	pal_tpc_approvers_free(s);
	/* A malformed payload is not signed. */
	pal_buf_reset(&env);
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_approvers_sign((const uint8_t *)"{}", 2,
						admin, &env, &err),
			 PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "refusing to sign: "));
	pal_signer_free(admin);
	pal_buf_free(&b);
	pal_buf_free(&env);
}

/* ---- serials ---- */

/* {bob, carol, dave} with serial and threshold m, signed by the admin. */
static struct pal_tpc_approvers *
signed_set(uint64_t serial, unsigned m)
{
	const char *names[] = { "bob", "carol", "dave" };
	EVP_PKEY *k[] = { keys[BOB], keys[CAROL], keys[DAVE] };
	struct pal_signer *admin = signer_of(ADMIN);
	struct pal_tpc_approvers *s = NULL;
	struct pal_buf b, env;
	struct pal_err err = { 0 };

	pal_buf_init(&b, 1 << 20);
	pal_buf_init(&env, 1 << 20);
	if (pal_tpc_approvers_payload_serial(VAULT, serial, m, names, k, 3,
					     &b, &err) != 0 ||
	    pal_tpc_approvers_sign(b.p, b.len, admin, &env, &err) != 0 ||
	    pal_tpc_approvers_parse(env.p, env.len, keys[ADMIN], &s,
				    &err) != 0)
		fail_msg("set %llu: %s", (unsigned long long)serial, err.msg);
	pal_signer_free(admin);
	pal_buf_free(&b);
	pal_buf_free(&env);
	return s;
}

static void
sets_carry_a_serial(void **state)
{
	char bob[512], carol[512], payload[4096];
	struct pal_err err;
	struct pal_buf b;
	const char *two[] = { "bob", "carol" };
	EVP_PKEY *k2[] = { keys[BOB], keys[CAROL] };

	(void)state;
	/* What pal_tpc_approvers_write wrote: version 2, serial 1. */
	assert_int_equal(set->serial, 1);
	struct pal_tpc_approvers *s7 = signed_set(7, 2);
	assert_int_equal(s7->serial, 7);
	pal_tpc_approvers_free(s7);
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_tpc_approvers_payload_serial("v", 9, 2, two, k2,
							  2, &b, &err), 0);
	assert_non_null(strstr((char *)b.p, "],\"serial\":9,\"threshold\":2,"
			       "\"vault\":\"v\",\"version\":2}"));
	/* The digest is SHA-256 of the signed payload. */
	uint8_t d[32];
	unsigned dn = 0;
	struct pal_signer *admin = signer_of(ADMIN);
	struct pal_buf env;
	struct pal_tpc_approvers *s = NULL;
	pal_buf_init(&env, 1 << 20);
	assert_int_equal(pal_tpc_approvers_sign(b.p, b.len, admin, &env, &err),
			 0);
	assert_int_equal(pal_tpc_approvers_parse(env.p, env.len, keys[ADMIN],
						 &s, &err), 0);
	assert_int_equal(EVP_Digest(b.p, b.len, d, &dn, EVP_sha256(), NULL), 1);
	assert_memory_equal(s->digest, d, 32);
	pal_tpc_approvers_free(s);
	pal_buf_free(&env);
	for (uint64_t bad = 0; bad < 2; bad++) {
		pal_buf_reset(&b);
		pal_err_clear(&err);
		uint64_t v = bad ? (uint64_t)PAL_TPC_SERIAL_MAX + 1 : 0;
		assert_int_equal(pal_tpc_approvers_payload_serial("v", v, 2,
			two, k2, 2, &b, &err), PAL_ERR_INVALID);
		assert_non_null(strstr(err.msg, "serial"));
	}
	pal_buf_free(&b);

	/* Version 1, from before serials: read as serial 0, never signed. */
	pem_json(keys[BOB], bob, sizeof(bob));
	pem_json(keys[CAROL], carol, sizeof(carol));
	snprintf(payload, sizeof(payload), "{\"approvers\":[{\"key\":\"%s\","
		 "\"name\":\"bob\"},{\"key\":\"%s\",\"name\":\"carol\"}],"
		 "\"threshold\":2,\"vault\":\"v\",\"version\":1}", bob, carol);
	char *v1 = envelope(payload, keys[ADMIN], PAL_TPC_APPROVERS_TYPE);
	s = NULL;
	if (pal_tpc_approvers_parse((uint8_t *)v1, strlen(v1), keys[ADMIN],
				    &s, &err) != 0)
		fail_msg("version 1: %s", err.msg);
	assert_int_equal(s->serial, 0);
	assert_int_equal(s->n, 2);
	pal_tpc_approvers_free(s);
	free(v1);
	pal_buf_init(&env, 1 << 20);
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_approvers_sign((uint8_t *)payload,
						strlen(payload), admin, &env,
						&err), PAL_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "1 has no serial"));
	pal_buf_free(&env);
	pal_signer_free(admin);

	/* Signed payloads whose serial or version is wrong. */
	static const struct {
		const char *tail, *why;
	} c[] = {
		{ "\"threshold\":2,\"vault\":\"v\",\"version\":2}",
		  "member \"serial\" is missing" },
		{ "\"serial\":0,\"threshold\":2,\"vault\":\"v\",\"version\":2}",
		  "serial: 0 is outside 1..9007199254740991" },
		{ "\"serial\":9007199254740992,\"threshold\":2,\"vault\":\"v\","
		  "\"version\":2}", "serial: 9007199254740992 is outside" },
		{ "\"serial\":\"3\",\"threshold\":2,\"vault\":\"v\","
		  "\"version\":2}", "serial: not an integer" },
		{ "\"serial\":3,\"threshold\":2,\"vault\":\"v\",\"version\":1}",
		  "unknown member \"serial\"" },
		{ "\"serial\":3,\"threshold\":2,\"vault\":\"v\",\"version\":3}",
		  "version: 3 is not supported" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(*c); i++) {
		snprintf(payload, sizeof(payload), "{\"approvers\":[{\"key\":"
			 "\"%s\",\"name\":\"bob\"},{\"key\":\"%s\",\"name\":"
			 "\"carol\"}],%s", bob, carol, c[i].tail);
		char *env2 = envelope(payload, keys[ADMIN],
				      PAL_TPC_APPROVERS_TYPE);
		int rc = parse_set(env2, keys[ADMIN], &err);
		if (rc == 0 || !strstr(err.msg, c[i].why))
			fail_msg("case %zu: rc %d '%s'", i, rc, err.msg);
		free(env2);
	}
}

/* A hook that counts its calls, and fails when told to. */
struct hook_count {
	int calls, fail;
	uint64_t prev;
};

static int
count_hook(void *arg, const struct pal_tpc_set_record *prev,
	   const struct pal_tpc_approvers *s, struct pal_err *err)
{
	struct hook_count *h = arg;

	(void)s;
	h->calls++;
	h->prev = prev->any ? prev->serial : UINT64_MAX;
	return h->fail ? pal_err_set(err, PAL_ERR_IO, "hook failed") : 0;
}

static void
older_sets_are_refused(void **state)
{
	struct pal_tpc_replay *s = NULL;
	struct pal_tpc_set_record latest;
	struct hook_count h = { 0 };
	struct pal_err err = { 0 };
	int fresh = -1;
	struct pal_tpc_approvers *s1 = signed_set(1, 2), *s2 = signed_set(2, 2),
		*s2b = signed_set(2, 3), *s3 = signed_set(3, 2);

	(void)state;
	char *p = fresh_db(&s);
	assert_int_equal(pal_tpc_sets_latest(s, &latest, &err), 0);
	assert_int_equal(latest.any, 0);
	/* The first set, then the same again: recorded once. */
	assert_int_equal(pal_tpc_sets_accept(s, s2, NOW, count_hook, &h,
					     &fresh, &err), 0);
	assert_int_equal(fresh, 1);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.prev, UINT64_MAX);
	assert_int_equal(pal_tpc_sets_accept(s, s2, NOW + 1, count_hook, &h,
					     &fresh, &err), 0);
	assert_int_equal(fresh, 0);
	assert_int_equal(h.calls, 1);
	/* An older one, and another one under the same serial. */
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_sets_accept(s, s1, NOW, count_hook, &h,
					     &fresh, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "approver set serial 1 is older than "
			       "serial 2, which the vault accepted at "
			       "2025-06-15T15:06:40Z"));
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_sets_accept(s, s2b, NOW, count_hook, &h,
					     &fresh, &err), PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "serial 2 is not the set the vault "
			       "accepted under that serial"));
	assert_int_equal(h.calls, 1);
	/* A newer one whose hook fails is not recorded. */
	h.fail = 1;
	assert_int_equal(pal_tpc_sets_accept(s, s3, NOW, count_hook, &h,
					     &fresh, &err), PAL_ERR_IO);
	assert_int_equal(pal_tpc_sets_latest(s, &latest, &err), 0);
	assert_int_equal(latest.serial, 2);
	h.fail = 0;
	assert_int_equal(pal_tpc_sets_accept(s, s3, NOW + 2, count_hook, &h,
					     &fresh, &err), 0);
	assert_int_equal(h.prev, 2);
	/* Another connection sees it; judging alone records nothing. */
	pal_tpc_replay_close(s);
	s = NULL;
	if (pal_tpc_replay_open(p, &s, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(pal_tpc_sets_latest(s, &latest, &err), 0);
	assert_int_equal(latest.any, 1);
	assert_int_equal(latest.serial, 3);
	assert_int_equal(latest.threshold, 2);
	assert_int_equal(latest.n, 3);
	assert_memory_equal(latest.digest, s3->digest, PAL_TPC_DIGEST_LEN);
	assert_string_equal(latest.accepted_at, "2025-06-15T15:06:42Z");
	assert_int_equal(pal_tpc_sets_judge(&latest, s3, &err), 0);
	assert_int_equal(pal_tpc_sets_judge(&latest, s2, &err),
			 PAL_ERR_VERIFY);
	pal_tpc_replay_close(s);
	pal_tpc_approvers_free(s1);
	pal_tpc_approvers_free(s2);
	pal_tpc_approvers_free(s2b);
	pal_tpc_approvers_free(s3);
	free(p);
}

/* install for pal_tpc_sets_replace: a set with the serial it is given. */
struct installer {
	uint64_t got;
	int fail, wrong;
};

static int
install_set(void *arg, uint64_t serial, struct pal_tpc_approvers **out,
	    struct pal_err *err)
{
	struct installer *in = arg;

	in->got = serial;
	*out = signed_set(in->wrong ? serial + 1 : serial, 2);
	return in->fail ? pal_err_set(err, PAL_ERR_IO, "disk full") : 0;
}

static void
replacing_takes_the_next_serial(void **state)
{
	struct pal_tpc_replay *s = NULL;
	struct pal_tpc_set_record latest;
	struct installer in = { 0 };
	struct pal_tpc_approvers *got = NULL;
	struct pal_err err = { 0 };

	(void)state;
	char *p = fresh_db(&s);
	/* Nothing recorded, a set 1 on disk: 2. */
	assert_int_equal(pal_tpc_sets_replace(s, 1, NOW, install_set, &in,
					      &got, &err), 0);
	assert_int_equal(in.got, 2);
	assert_int_equal(got->serial, 2);
	pal_tpc_approvers_free(got);
	/* 2 recorded, an older set on disk: 3. */
	assert_int_equal(pal_tpc_sets_replace(s, 0, NOW, install_set, &in,
					      NULL, &err), 0);
	assert_int_equal(in.got, 3);
	/* A newer set on disk than recorded (installed by hand): after it. */
	assert_int_equal(pal_tpc_sets_replace(s, 5, NOW, install_set, &in,
					      NULL, &err), 0);
	assert_int_equal(in.got, 6);
	/* A failed install, or one with another serial: nothing recorded. */
	in.fail = 1;
	assert_int_equal(pal_tpc_sets_replace(s, 0, NOW, install_set, &in,
					      &got, &err), PAL_ERR_IO);
	assert_null(got);
	in.fail = 0;
	in.wrong = 1;
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_sets_replace(s, 0, NOW, install_set, &in,
					      &got, &err), PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "does not have serial 7"));
	assert_int_equal(pal_tpc_sets_latest(s, &latest, &err), 0);
	assert_int_equal(latest.serial, 6);
	/* No serial after the last. */
	in.wrong = 0;
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_sets_replace(s, PAL_TPC_SERIAL_MAX, NOW,
					      install_set, &in, NULL, &err),
			 PAL_ERR_LIMIT);
	pal_tpc_replay_close(s);
	free(p);
}

/* An approver removed while a check ran does not count: not consumed. */
static void
a_set_replaced_during_the_check_refuses(void **state)
{
	struct pal_tpc_replay *s = NULL;
	struct pal_tpc_request r = unseal_request();
	struct pal_tpc_approval a[2] = { approve(&r, BOB), approve(&r, DAVE) };
	struct pal_tpc_approvers *s2 = signed_set(2, 2);
	struct pal_err err = { 0 };
	uint8_t d[PAL_TPC_DIGEST_LEN];
	int seen = -1;

	(void)state;
	char *p = fresh_db(&s);
	assert_int_equal(pal_tpc_sets_accept(s, s2, NOW, NULL, NULL, NULL,
					     &err), 0);
	int rc = pal_tpc_check(&want_unseal, &r, a, 2, set, NOW, s, NULL,
			       &err);
	REFUSED(rc, &err, "the approver set was replaced while the request "
		"was checked (serial 1, now 2)");
	assert_int_equal(pal_tpc_request_digest(&r, d, &err), 0);
	assert_int_equal(pal_tpc_replay_seen(s, d, &seen, NULL, &err), 0);
	assert_int_equal(seen, 0);
	/* Against the newer set it runs. */
	if (pal_tpc_check(&want_unseal, &r, a, 2, s2, NOW, s, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	pal_tpc_replay_close(s);
	pal_tpc_approvers_free(s2);
	free(p);
}

/* ---- approving ---- */

static void
approve_checks_who_signs(void **state)
{
	struct pal_tpc_request r = unseal_request();
	struct pal_err err;
	char *rp = path_of("who.request"), *out = path_of("who.approval");
	char *mallory = key_path(MALLORY), *carol = key_path(CAROL);
	char *p384_key = path_of("p384.key");

	(void)state;
	assert_int_equal(pal_tpc_request_write(&r, rp, NULL), 0);
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_approve_file(rp, mallory, NULL, set, NOW,
					      out, NULL, &err),
			 PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "this key is not in the vault's "
			       "approver set"));
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_approve_file(rp, carol, "bob", set, NOW, out,
					      NULL, &err), PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "this key is not bob's key"));
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_approve_file(rp, mallory, "mallory", set,
					      NOW, out, NULL, &err),
			 PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "mallory is not in the vault's "
			       "approver set"));
	pal_err_clear(&err);
	assert_int_equal(pal_tpc_approve_file(rp, p384_key, "bob", NULL, NOW,
					      out, NULL, &err),
			 PAL_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "not an ECDSA P-256 key"));
	assert_int_equal(access(out, F_OK), -1);
	/* Without a set the name is taken as given. */
	pal_err_clear(&err);
	if (pal_tpc_approve_file(rp, carol, "carol", NULL, NOW, out, NULL,
				 &err) != 0)
		fail_msg("%s", err.msg);
	struct pal_tpc_approval a;
	assert_int_equal(pal_tpc_approval_load(out, &a, &err), 0);
	assert_string_equal(a.approver, "carol");
	free(rp);
	free(out);
	free(mallory);
	free(carol);
	free(p384_key);
}

/* ---- an approver on a token ---- */

static void
token_approver_is_counted(void **state)
{
	char tokdir[4096 + 16], conf[4096 + 32], text[8192], cmd[8300];
	const char *uri = "pkcs11:token=tpc;object=erin?pin-value=1234";
	struct pal_err err = { 0 };
	EVP_PKEY *pub = NULL;

	(void)state;
	if (system("command -v softhsm2-util >/dev/null 2>&1") != 0)
		skip();
	snprintf(tokdir, sizeof(tokdir), "%s/tokens", dir);
	assert_int_equal(mkdir(tokdir, 0700), 0);
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
	snprintf(text, sizeof(text), "directories.tokendir = %s\n"
		 "objectstore.backend = file\nlog.level = ERROR\n", tokdir);
	put_file("softhsm2.conf", text, strlen(text));
	setenv("SOFTHSM2_CONF", conf, 1);
	snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free "
		 "--label tpc --pin 1234 --so-pin 5678 >/dev/null");
	assert_int_equal(system(cmd), 0);
	if (pal_p11_keygen(uri, "P-256", &pub, &err) != 0)
		fail_msg("keygen: %s", err.msg);

	/* A set of bob and erin (on the token); erin approves by URI. */
	const char *names[] = { "bob", "erin" };
	EVP_PKEY *k[] = { keys[BOB], pub };
	struct pal_buf payload, env;
	struct pal_signer *admin = signer_of(ADMIN), *erin = NULL;
	struct pal_tpc_approvers *s = NULL;
	pal_buf_init(&payload, 1 << 20);
	pal_buf_init(&env, 1 << 20);
	assert_int_equal(pal_tpc_approvers_payload(VAULT, 2, names, k, 2,
						   &payload, &err), 0);
	assert_int_equal(pal_tpc_approvers_sign(payload.p, payload.len, admin,
						&env, &err), 0);
	assert_int_equal(pal_tpc_approvers_parse(env.p, env.len, keys[ADMIN],
						 &s, &err), 0);
	struct pal_tpc_request r = unseal_request();
	struct pal_tpc_approval a[2];
	a[0] = approve(&r, BOB);
	if (pal_signer_open(uri, &erin, &err) != 0)
		fail_msg("%s", err.msg);
	if (pal_tpc_approve(&r, "erin", erin, NOW, &a[1], &err) != 0)
		fail_msg("%s", err.msg);
	pal_err_clear(&err);
	if (pal_tpc_check(&want_unseal, &r, a, 2, s, NOW, store, NULL,
			  &err) != 0)
		fail_msg("%s", err.msg);
	pal_signer_free(erin);
	pal_signer_free(admin);
	pal_tpc_approvers_free(s);
	EVP_PKEY_free(pub);
	pal_buf_free(&payload);
	pal_buf_free(&env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_of_three_approve_from_files),
		cmocka_unit_test(all_three_approve),
		cmocka_unit_test(canonical_form_is_a_known_answer),
		cmocka_unit_test(layout_does_not_change_the_digest),
		cmocka_unit_test(any_changed_value_changes_the_digest),
		cmocka_unit_test(requests_are_parsed_strictly),
		cmocka_unit_test(new_requests_check_their_values),
		cmocka_unit_test(times_round_trip),
		cmocka_unit_test(approvals_are_parsed_strictly),
		cmocka_unit_test(approval_for_another_request_is_refused),
		cmocka_unit_test(unknown_approver_is_refused),
		cmocka_unit_test(forged_signature_is_refused),
		cmocka_unit_test(self_approval_is_refused),
		cmocka_unit_test(same_approver_twice_is_refused),
		cmocka_unit_test(expired_request_is_refused),
		cmocka_unit_test(request_for_another_target_is_refused),
		cmocka_unit_test(too_few_approvals_are_refused),
		cmocka_unit_test(every_refusal_is_reported),
		cmocka_unit_test(refusals_do_not_consume),
		cmocka_unit_test(replay_is_refused_from_a_second_connection),
		cmocka_unit_test(racing_consumers_run_once),
		cmocka_unit_test(replay_store_refuses_a_symlink),
		cmocka_unit_test(approver_set_verifies_and_finds),
		cmocka_unit_test(approver_set_tampering_is_refused),
		cmocka_unit_test(odd_signed_sets_are_refused),
		cmocka_unit_test(new_sets_are_checked_before_signing),
		cmocka_unit_test(sets_carry_a_serial),
		cmocka_unit_test(older_sets_are_refused),
		cmocka_unit_test(replacing_takes_the_next_serial),
		cmocka_unit_test(a_set_replaced_during_the_check_refuses),
		cmocka_unit_test(approve_checks_who_signs),
		cmocka_unit_test(token_approver_is_counted),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
