/*
 * test_pkcs11.c - signing with keys on a SoftHSM2 token.
 *
 * The group setup makes two fresh tokens under $PAL_TEST_TMP with
 * softhsm2-util and points SOFTHSM2_CONF at them before any module is
 * loaded.  Keys are made with pal_p11_keygen on P-256, P-384 and P-521;
 * their signatures must verify with pal_sig_verify, with the key
 * pal_p11_keygen returned and with the public key written to PEM and read
 * back by OpenSSL.  Then the failures: wrong or missing PIN, missing key,
 * token or module, a key of the wrong type or curve or not allowed to
 * sign, and a public key object that belongs to another key, whose
 * signature must not be released.  A few checks reach past the public API
 * (pkcs11_int.h) to read attributes off the token.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/pem.h>

#include "palisade/pkcs11.h"
#include "palisade/signer.h"
#include "../../src/crypto/pkcs11_int.h"

#define PIN "1234"
#define SO_PIN "5678"
#define MOD "module-path=" PAL_P11_DEFAULT_MODULE

static char dir[4096];

static const uint8_t msg[] = "a model manifest to be signed";

static int
init_token(const char *label)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free "
		 "--label %s --pin " PIN " --so-pin " SO_PIN " >/dev/null",
		 label);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes a file under dir; path receives its name. */
static int
write_file(const char *name, const char *text, char *path, size_t cap)
{
	FILE *f;

	snprintf(path, cap, "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

static int
setup(void **state)
{
	const char *tmp = getenv("PAL_TEST_TMP");
	char conf[4096 + 32], text[4096 + 128];

	(void)state;
	if (tmp == NULL)
		tmp = "/tmp";
	mkdir(tmp, 0700);
	snprintf(dir, sizeof(dir), "%s/pkcs11-%d", tmp, (int)getpid());
	snprintf(text, sizeof(text), "%s/tokens", dir);
	if (mkdir(dir, 0700) != 0 || mkdir(text, 0700) != 0)
		return -1;
	snprintf(text, sizeof(text), "directories.tokendir = %s/tokens\n"
		 "objectstore.backend = file\nlog.level = ERROR\n", dir);
	if (write_file("softhsm2.conf", text, conf, sizeof(conf)) != 0)
		return -1;
	setenv("SOFTHSM2_CONF", conf, 1);
	unsetenv(PAL_P11_PIN_ENV);
	return init_token("palisade") == 0 && init_token("other") == 0 ?
		0 : -1;
}

static int
teardown(void **state)
{
	char cmd[4096 + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
keygen_ok(const char *uri, const char *curve, EVP_PKEY **pub)
{
	struct pal_err err;

	pal_err_clear(&err);
	if (pal_p11_keygen(uri, curve, pub, &err) != 0)
		fail_msg("keygen %s: %s", uri, err.msg);
}

static struct pal_signer *
open_ok(const char *uri)
{
	struct pal_signer *s = NULL;
	struct pal_err err;

	pal_err_clear(&err);
	if (pal_signer_from_pkcs11(uri, &s, &err) != 0)
		fail_msg("open %s: %s", uri, err.msg);
	assert_non_null(s);
	return s;
}

/* Opening uri fails with code and a message containing want. */
static void
open_fails(const char *uri, int code, const char *want)
{
	struct pal_signer *s = (struct pal_signer *)&s;
	struct pal_err err;
	int rc;

	pal_err_clear(&err);
	rc = pal_signer_from_pkcs11(uri, &s, &err);
	if (rc != code || strstr(err.msg, want) == NULL)
		fail_msg("%s: rc %d '%s', want %d '%s'", uri, rc, err.msg,
			 code, want);
	assert_null(s);
}

/* The public key goes out as PEM and comes back through OpenSSL. */
static EVP_PKEY *
pem_round_trip(EVP_PKEY *pub, const char *name)
{
	char path[4096 + 64];
	struct pal_err err;
	EVP_PKEY *k = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.pub.pem", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, pub), 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(pal_pubkey_load(path, &k, &err), 0);
	assert_int_equal(EVP_PKEY_eq(k, pub), 1);
	return k;
}

/* Signs with s and checks the signature every way there is. */
static void
sign_and_check(struct pal_signer *s, EVP_PKEY *gen_pub, int bits,
	       const char *name)
{
	uint8_t *sig = NULL, *bad;
	const unsigned char *p;
	size_t n = 0, field = ((size_t)bits + 7) / 8;
	struct pal_err err;
	ECDSA_SIG *es;
	EVP_PKEY *pem;

	assert_int_equal(EVP_PKEY_get_bits(s->pub), bits);
	assert_int_equal(EVP_PKEY_eq(s->pub, gen_pub), 1);
	assert_int_equal(s->sign(s, msg, sizeof(msg), &sig, &n, &err), 0);
	/* DER ECDSA-Sig-Value, r and s no wider than the field. */
	p = sig;
	es = d2i_ECDSA_SIG(NULL, &p, (long)n);
	assert_non_null(es);
	assert_true((size_t)(p - sig) == n);
	assert_true((size_t)BN_num_bytes(ECDSA_SIG_get0_r(es)) <= field);
	assert_true((size_t)BN_num_bytes(ECDSA_SIG_get0_s(es)) <= field);
	ECDSA_SIG_free(es);
	assert_int_equal(pal_sig_verify(s->pub, msg, sizeof(msg), sig, n,
					&err), 0);
	assert_int_equal(pal_sig_verify(gen_pub, msg, sizeof(msg), sig, n,
					&err), 0);
	pem = pem_round_trip(s->pub, name);
	assert_int_equal(pal_sig_verify(pem, msg, sizeof(msg), sig, n, &err),
			 0);
	/* Another message, or a flipped bit of the signature, must fail. */
	assert_int_equal(pal_sig_verify(pem, msg, sizeof(msg) - 1, sig, n,
					&err), PAL_ERR_VERIFY);
	bad = malloc(n);
	assert_non_null(bad);
	memcpy(bad, sig, n);
	bad[n - 1] ^= 0x01;
	assert_int_equal(pal_sig_verify(pem, msg, sizeof(msg), bad, n, &err),
			 PAL_ERR_VERIFY);
	free(bad);
	EVP_PKEY_free(pem);
	free(sig);
}

static void
each_curve_signs_and_verifies(void **state)
{
	static const struct {
		const char *curve;
		int bits;
		const char *label;
		const EVP_MD *(*md)(void);
	} c[] = {
		{ "P-256", 256, "k256", EVP_sha256 },
		{ "P-384", 384, "k384", EVP_sha384 },
		{ "P-521", 521, "k521", EVP_sha512 },
	};
	char uri[512];
	struct pal_signer *s;
	EVP_PKEY *pub;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(uri, sizeof(uri), "pkcs11:token=palisade;object=%s"
			 "?pin-value=" PIN, c[i].label);
		keygen_ok(uri, c[i].curve, &pub);
		assert_int_equal(EVP_PKEY_get_bits(pub), c[i].bits);
		snprintf(uri, sizeof(uri), "pkcs11:token=palisade;object=%s;"
			 "type=private?" MOD "&pin-value=" PIN, c[i].label);
		s = open_ok(uri);
		assert_ptr_equal(pal_signer_md(s->pub), c[i].md());
		sign_and_check(s, pub, c[i].bits, c[i].label);
		pal_signer_free(s);
		EVP_PKEY_free(pub);
	}
}

/* Reads a boolean attribute of the private key the URI names. */
static int
private_bool(const char *uri, CK_ATTRIBUTE_TYPE type)
{
	struct pal_p11_session ses;
	struct pal_p11_uri *u;
	CK_OBJECT_HANDLE key;
	struct pal_err err;
	int v = -1;

	assert_int_equal(pal_p11_uri_parse(uri, strlen(uri), &u, &err), 0);
	assert_int_equal(pal_p11_session_open(u, 0, PAL_P11_LOGIN_NEEDED,
					      &ses, &err), 0);
	assert_int_equal(pal_p11_find_key(&ses, u, CKO_PRIVATE_KEY, &key,
					  &err), 0);
	assert_int_equal(pal_p11_attr_bool(&ses, key, type, &v, &err), 0);
	pal_p11_session_close(&ses);
	pal_p11_uri_free(u);
	return v;
}

static void
generated_keys_cannot_leave_the_token(void **state)
{
	const char *uri = "pkcs11:token=palisade;object=locked?pin-value=" PIN;
	struct pal_p11_session ses;
	struct pal_p11_uri *u;
	CK_OBJECT_HANDLE key;
	struct pal_err err;
	uint8_t *v = NULL;
	size_t n = 0;

	(void)state;
	keygen_ok(uri, "P-256", NULL);
	assert_int_equal(private_bool(uri, CKA_TOKEN), 1);
	assert_int_equal(private_bool(uri, CKA_PRIVATE), 1);
	assert_int_equal(private_bool(uri, CKA_SENSITIVE), 1);
	assert_int_equal(private_bool(uri, CKA_EXTRACTABLE), 0);
	assert_int_equal(private_bool(uri, CKA_ALWAYS_SENSITIVE), 1);
	assert_int_equal(private_bool(uri, CKA_NEVER_EXTRACTABLE), 1);
	assert_int_equal(private_bool(uri, CKA_SIGN), 1);
	assert_int_equal(private_bool(uri, CKA_DERIVE), 0);
	/* The private value cannot be read. */
	assert_int_equal(pal_p11_uri_parse(uri, strlen(uri), &u, &err), 0);
	assert_int_equal(pal_p11_session_open(u, 0, PAL_P11_LOGIN_NEEDED,
					      &ses, &err), 0);
	assert_int_equal(pal_p11_find_key(&ses, u, CKO_PRIVATE_KEY, &key,
					  &err), 0);
	assert_int_equal(pal_p11_attr(&ses, key, CKA_VALUE, &v, &n, &err),
			 PAL_ERR_CRYPTO);
	assert_non_null(strstr(err.msg, "CKR_ATTRIBUTE_SENSITIVE"));
	assert_null(v);
	pal_p11_session_close(&ses);
	pal_p11_uri_free(u);
}

static void
keys_are_found_by_id_and_label(void **state)
{
	EVP_PKEY *pub = NULL, *read = NULL;
	struct pal_signer *s;
	struct pal_err err;

	(void)state;
	keygen_ok("pkcs11:token=palisade;object=byid;id=%a1%b2"
		  "?pin-value=" PIN, "P-384", &pub);
	s = open_ok("pkcs11:token=palisade;id=%A1%B2?pin-value=" PIN);
	sign_and_check(s, pub, 384, "byid");
	pal_signer_free(s);
	s = open_ok("pkcs11:token=palisade;object=byid;id=%a1%b2"
		    "?pin-value=" PIN);
	pal_signer_free(s);
	open_fails("pkcs11:token=palisade;object=byid;id=%a1%b3"
		   "?pin-value=" PIN, PAL_ERR_INVALID,
		   "key not found: no private key with object 'byid' and id "
		   "a1b3 on token 'palisade'");
	/* The public key is readable without a PIN, by label or id. */
	assert_int_equal(pal_p11_pubkey("pkcs11:token=palisade;object=byid",
					&read, &err), 0);
	assert_int_equal(EVP_PKEY_eq(read, pub), 1);
	EVP_PKEY_free(read);
	assert_int_equal(pal_p11_pubkey("pkcs11:token=palisade;id=%a1%b2;"
					"type=public", &read, &err), 0);
	assert_int_equal(EVP_PKEY_eq(read, pub), 1);
	EVP_PKEY_free(read);
	assert_int_equal(pal_p11_pubkey("pkcs11:token=palisade;object=nokey",
					&read, &err), PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "no public key with object 'nokey'"));
	assert_null(read);
	EVP_PKEY_free(pub);
}

static void
pin_comes_from_file_or_environment(void **state)
{
	static const char *const schemes[] = { "file:", "file://", "" };
	char path[4096 + 64], uri[8192 + 128];
	size_t i;

	(void)state;
	keygen_ok("pkcs11:token=palisade;object=pin?pin-value=" PIN, "P-256",
		  NULL);
	assert_int_equal(write_file("pin", PIN "\n", path, sizeof(path)), 0);
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		snprintf(uri, sizeof(uri), "pkcs11:token=palisade;object=pin"
			 "?pin-source=%s%s", schemes[i], path);
		pal_signer_free(open_ok(uri));
	}
	assert_int_equal(write_file("badpin", "4321", path, sizeof(path)), 0);
	snprintf(uri, sizeof(uri), "pkcs11:token=palisade;object=pin"
		 "?pin-source=%s", path);
	open_fails(uri, PAL_ERR_INVALID, "PIN incorrect");
	open_fails("pkcs11:token=palisade;object=pin?pin-source=/nonexistent",
		   PAL_ERR_IO, "PIN file /nonexistent: No such file");
	open_fails("pkcs11:token=palisade;object=pin?pin-source=%7Cecho%201",
		   PAL_ERR_UNSUPPORTED, "pin-source programs");
	open_fails("pkcs11:token=palisade;object=pin"
		   "?pin-source=https://example.com/pin", PAL_ERR_UNSUPPORTED,
		   "must be a file: URI or a path");
	open_fails("pkcs11:token=palisade;object=pin"
		   "?pin-source=file://host/pin", PAL_ERR_UNSUPPORTED,
		   "names a host");
	setenv(PAL_P11_PIN_ENV, PIN, 1);
	pal_signer_free(open_ok("pkcs11:token=palisade;object=pin"));
	/* A PIN in the URI wins over the environment. */
	setenv(PAL_P11_PIN_ENV, "0000", 1);
	pal_signer_free(open_ok("pkcs11:token=palisade;object=pin"
				"?pin-value=" PIN));
	unsetenv(PAL_P11_PIN_ENV);
}

static void
wrong_or_missing_pin_fails_clearly(void **state)
{
	struct pal_signer *s = NULL;
	struct pal_err err;

	(void)state;
	keygen_ok("pkcs11:token=palisade;object=wp?pin-value=" PIN, "P-256",
		  NULL);
	pal_err_clear(&err);
	assert_int_equal(pal_signer_from_pkcs11("pkcs11:token=palisade;"
						"object=wp?pin-value=98765",
						&s, &err), PAL_ERR_INVALID);
	assert_null(s);
	assert_string_equal(err.msg, "login to token 'palisade': PIN "
			    "incorrect (CKR_PIN_INCORRECT)");
	assert_null(strstr(err.msg, "98765"));
	open_fails("pkcs11:token=palisade;object=wp", PAL_ERR_INVALID,
		   "token 'palisade' needs a PIN: give pin-source or "
		   "pin-value in the URI, or set " PAL_P11_PIN_ENV);
	/* Key generation needs the PIN too. */
	assert_int_equal(pal_p11_keygen("pkcs11:token=palisade;object=wp2"
					"?pin-value=0000", "P-256", NULL,
					&err), PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "PIN incorrect"));
}

static void
missing_token_key_or_module_fails_clearly(void **state)
{
	(void)state;
	open_fails("pkcs11:token=palisade;object=absent?pin-value=" PIN,
		   PAL_ERR_INVALID, "key not found: no private key with "
		   "object 'absent' on token 'palisade'");
	open_fails("pkcs11:token=nosuch;object=k256?pin-value=" PIN,
		   PAL_ERR_INVALID, "token not found: no token of PKCS#11 "
		   "module " PAL_P11_DEFAULT_MODULE " matches the URI "
		   "(tokens present: ");
	open_fails("pkcs11:token=nosuch;object=k256?pin-value=" PIN,
		   PAL_ERR_INVALID, "'palisade'");
	open_fails("pkcs11:token=nosuch;object=k256?pin-value=" PIN,
		   PAL_ERR_INVALID, "'other'");
	open_fails("pkcs11:object=k256?pin-value=" PIN, PAL_ERR_INVALID,
		   "2 tokens match the URI");
	open_fails("pkcs11:token=palisade;model=nosuch;object=k256"
		   "?pin-value=" PIN, PAL_ERR_INVALID, "token not found");
	open_fails("pkcs11:token=palisade;library-version=99.0;object=k256"
		   "?pin-value=" PIN, PAL_ERR_INVALID,
		   "does not match the URI's library attributes");
	open_fails("pkcs11:token=palisade?pin-value=" PIN, PAL_ERR_INVALID,
		   "names no key: give object= or id=");
	open_fails("pkcs11:token=palisade;object=k256?module-path="
		   "/nonexistent/libnone.so&pin-value=" PIN, PAL_ERR_SYSTEM,
		   "cannot load PKCS#11 module /nonexistent/libnone.so");
	open_fails("pkcs11:token=palisade;object=k256?module-path="
		   "libsofthsm2.so&pin-value=" PIN, PAL_ERR_INVALID,
		   "module-path libsofthsm2.so is not a path");
	open_fails("pkcs11:token=palisade;object=k256?module-name=softhsm2"
		   "&pin-value=" PIN, PAL_ERR_UNSUPPORTED,
		   "module-name is not supported");
	open_fails("pkcs11:token=palisade;object=k256;type=public"
		   "?pin-value=" PIN, PAL_ERR_INVALID, "needs type=private");
	open_fails("pkcs11:token=palisade;object=k256?pin-value=" PIN
		   "&bogus=1", PAL_ERR_UNSUPPORTED,
		   "unknown query attribute 'bogus'");
	open_fails("pkcs11:token=palisade;object=k 256", PAL_ERR_FORMAT,
		   "must be percent-encoded");
	open_fails("/no/such/key.pem", PAL_ERR_FORMAT, "must start with");
}

static void
keygen_refuses_reuse_and_bad_curves(void **state)
{
	struct pal_err err;

	(void)state;
	keygen_ok("pkcs11:token=other;object=dup;id=%42?pin-value=" PIN,
		  "P-256", NULL);
	assert_int_equal(pal_p11_keygen("pkcs11:token=other;object=dup"
					"?pin-value=" PIN, "P-256", NULL,
					&err), PAL_ERR_INVALID);
	assert_string_equal(err.msg, "token 'other' already has an object "
			    "with this label");
	assert_int_equal(pal_p11_keygen("pkcs11:token=other;id=%42"
					"?pin-value=" PIN, "P-256", NULL,
					&err), PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "with this id"));
	assert_int_equal(pal_p11_keygen("pkcs11:token=other;object=c"
					"?pin-value=" PIN, "secp256k1", NULL,
					&err), PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "P-256, P-384 or P-521"));
	assert_int_equal(pal_p11_keygen("pkcs11:token=other?pin-value=" PIN,
					"P-256", NULL, &err),
			 PAL_ERR_INVALID);
	assert_non_null(strstr(err.msg, "names no key"));
}

/* A read-write session on the palisade token, logged in. */
static struct pal_p11_uri *
admin_open(struct pal_p11_session *ses)
{
	const char *uri = "pkcs11:token=palisade;object=x?pin-value=" PIN;
	struct pal_p11_uri *u;
	struct pal_err err;

	assert_int_equal(pal_p11_uri_parse(uri, strlen(uri), &u, &err), 0);
	assert_int_equal(pal_p11_session_open(u, 1, PAL_P11_LOGIN_NEEDED,
					      ses, &err), 0);
	return u;
}

static void
admin_close(struct pal_p11_session *ses, struct pal_p11_uri *u)
{
	pal_p11_session_close(ses);
	pal_p11_uri_free(u);
}

/*
 * Makes a key pair directly through the module, for the kinds of key
 * pal_p11_keygen will not make: label and id are both label.
 */
static CK_OBJECT_HANDLE
raw_pair(struct pal_p11_session *ses, const char *label,
	 CK_MECHANISM_TYPE mt, CK_ATTRIBUTE *extra, CK_BBOOL sign)
{
	CK_MECHANISM mech = { mt, NULL, 0 };
	CK_BBOOL yes = CK_TRUE;
	void *l = (void *)(uintptr_t)label;
	CK_ATTRIBUTE pubt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_LABEL, l, strlen(label) },
		{ CKA_ID, l, strlen(label) },
		*extra,
	};
	CK_ATTRIBUTE privt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SIGN, &sign, sizeof(sign) },
		{ CKA_LABEL, l, strlen(label) },
		{ CKA_ID, l, strlen(label) },
	};
	CK_OBJECT_HANDLE hp, hq;

	assert_int_equal(ses->f->C_GenerateKeyPair(ses->h, &mech, pubt, 4,
						   privt, 5, &hp, &hq),
			 CKR_OK);
	return hp;
}

/* secp256k1 (1.3.132.0.10) and P-256 as CKA_EC_PARAMS. */
static const uint8_t k1_oid[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a };
static const uint8_t p256_oid[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
				    0x3d, 0x03, 0x01, 0x07 };

static void
wrong_kind_of_key_is_refused(void **state)
{
	CK_ULONG bits = 2048;
	CK_ATTRIBUTE rsa = { CKA_MODULUS_BITS, &bits, sizeof(bits) };
	CK_ATTRIBUTE k1 = { CKA_EC_PARAMS, (void *)(uintptr_t)k1_oid,
			    sizeof(k1_oid) };
	CK_ATTRIBUTE p256 = { CKA_EC_PARAMS, (void *)(uintptr_t)p256_oid,
			      sizeof(p256_oid) };
	struct pal_p11_session ses;
	struct pal_p11_uri *u;

	(void)state;
	u = admin_open(&ses);
	raw_pair(&ses, "rsa", CKM_RSA_PKCS_KEY_PAIR_GEN, &rsa, CK_TRUE);
	raw_pair(&ses, "k1", CKM_EC_KEY_PAIR_GEN, &k1, CK_TRUE);
	raw_pair(&ses, "nosign", CKM_EC_KEY_PAIR_GEN, &p256, CK_FALSE);
	admin_close(&ses, u);
	open_fails("pkcs11:token=palisade;object=rsa?pin-value=" PIN,
		   PAL_ERR_UNSUPPORTED, "wrong key type: the key is not an "
		   "EC key (CKA_KEY_TYPE 0x0)");
	open_fails("pkcs11:token=palisade;object=k1?pin-value=" PIN,
		   PAL_ERR_UNSUPPORTED, "wrong curve: the key is on "
		   "secp256k1, not P-256, P-384 or P-521");
	open_fails("pkcs11:token=palisade;object=nosign?pin-value=" PIN,
		   PAL_ERR_UNSUPPORTED, "may not sign (CKA_SIGN is false)");
}

static void
set_id(struct pal_p11_session *ses, CK_OBJECT_HANDLE obj, const char *id)
{
	CK_ATTRIBUTE a = { CKA_ID, (void *)(uintptr_t)id, strlen(id) };

	assert_int_equal(ses->f->C_SetAttributeValue(ses->h, obj, &a, 1),
			 CKR_OK);
}

/*
 * A private key whose CKA_ID points at another key's public object opens,
 * but its signatures do not verify with that key and are not released.
 */
static void
mismatched_public_object_is_caught(void **state)
{
	CK_ATTRIBUTE p256 = { CKA_EC_PARAMS, (void *)(uintptr_t)p256_oid,
			      sizeof(p256_oid) };
	struct pal_p11_session ses;
	struct pal_p11_uri *u;
	struct pal_signer *s;
	struct pal_err err;
	CK_OBJECT_HANDLE pa, pb;
	uint8_t *sig = (uint8_t *)&sig;
	size_t n = 0;

	(void)state;
	u = admin_open(&ses);
	pa = raw_pair(&ses, "mis-a", CKM_EC_KEY_PAIR_GEN, &p256, CK_TRUE);
	pb = raw_pair(&ses, "mis-b", CKM_EC_KEY_PAIR_GEN, &p256, CK_TRUE);
	/* Swap the ids of the two public objects. */
	set_id(&ses, pa, "tmp");
	set_id(&ses, pb, "mis-a");
	set_id(&ses, pa, "mis-b");
	admin_close(&ses, u);
	s = open_ok("pkcs11:token=palisade;object=mis-a?pin-value=" PIN);
	assert_int_equal(s->sign(s, msg, sizeof(msg), &sig, &n, &err),
			 PAL_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "does not verify with the key's "
			       "public half"));
	assert_ptr_equal(sig, (uint8_t *)&sig);
	pal_signer_free(s);
}

/* Signers share a module: freeing one leaves the other working. */
static void
signers_share_the_module(void **state)
{
	struct pal_signer *a, *b, *c;
	uint8_t *sig = NULL;
	struct pal_err err;
	size_t n = 0;

	(void)state;
	keygen_ok("pkcs11:token=palisade;object=sh1?pin-value=" PIN, "P-256",
		  NULL);
	keygen_ok("pkcs11:token=other;object=sh2?pin-value=" PIN, "P-521",
		  NULL);
	keygen_ok("pkcs11:token=palisade;object=sh3?pin-value=" PIN, "P-384",
		  NULL);
	a = open_ok("pkcs11:token=palisade;object=sh1?pin-value=" PIN);
	assert_int_equal(pal_signer_open("pkcs11:token=other;object=sh2"
					 "?pin-value=" PIN, &b, &err), 0);
	c = open_ok("pkcs11:token=palisade;object=sh3?pin-value=" PIN);
	pal_signer_free(a);
	assert_int_equal(b->sign(b, msg, sizeof(msg), &sig, &n, &err), 0);
	assert_int_equal(pal_sig_verify(b->pub, msg, sizeof(msg), sig, n,
					&err), 0);
	free(sig);
	pal_signer_free(b);
	assert_int_equal(c->sign(c, msg, sizeof(msg), &sig, &n, &err), 0);
	assert_int_equal(pal_sig_verify(c->pub, msg, sizeof(msg), sig, n,
					&err), 0);
	free(sig);
	pal_signer_free(c);
	pal_signer_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_curve_signs_and_verifies),
		cmocka_unit_test(generated_keys_cannot_leave_the_token),
		cmocka_unit_test(keys_are_found_by_id_and_label),
		cmocka_unit_test(pin_comes_from_file_or_environment),
		cmocka_unit_test(wrong_or_missing_pin_fails_clearly),
		cmocka_unit_test(missing_token_key_or_module_fails_clearly),
		cmocka_unit_test(keygen_refuses_reuse_and_bad_curves),
		cmocka_unit_test(wrong_kind_of_key_is_refused),
		cmocka_unit_test(mismatched_public_object_is_caught),
		cmocka_unit_test(signers_share_the_module),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
