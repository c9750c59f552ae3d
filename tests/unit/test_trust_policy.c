/*
 * test_trust_policy.c - trust policies for `palisade verify --policy`:
 * good policies whose keys, CAs and Sigstore trusted roots come from
 * files made here under $PAL_TEST_TMP (generated keys, the
 * model-transparency test CA, the Sigstore public-good trusted root),
 * checked down to the loaded keys and certificates; rule order and
 * fail-closed selection; then every malformed or unusable policy, each
 * with the file:line:column message it must produce.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "palisade/buf.h"
#include "palisade/trust_policy.h"
#include "palisade/x509.h"

#define CERTS "oms/model-transparency/tests/keys/certificate"
#define NAME "policy.yaml"

static char tmpdir[2048];	/* base directory of the parsed policies */
static char datadir[2048];
static EVP_PKEY *k256, *k384;

static void
path_in(char *out, size_t n, const char *dir, const char *rel)
{
	int w = snprintf(out, n, "%s/%s", dir, rel);

	assert_true(w > 0 && (size_t)w < n);
}

static void
write_file(const char *rel, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	path_in(path, sizeof(path), tmpdir, rel);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Copies a file of tests/data into the policy directory. */
static void
copy_data(const char *data_rel, const char *rel)
{
	char path[4096];
	char *buf;
	long n;
	FILE *f;

	path_in(path, sizeof(path), datadir, data_rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	write_file(rel, buf, (size_t)n);
	free(buf);
}

static EVP_PKEY *
gen_ec(const char *curve)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

	assert_non_null(k);
	return k;
}

static void
write_pub(const char *rel, EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *pem;
	long n;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
	n = BIO_get_mem_data(b, &pem);
	assert_true(n > 0);
	write_file(rel, pem, (size_t)n);
	BIO_free(b);
}

/* A self-signed certificate with the given basicConstraints. */
static void
write_cert(const char *rel, const char *cn, const char *bc)
{
	EVP_PKEY *k = gen_ec("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext;
	BIO *b = BIO_new(BIO_s_mem());
	char *pem;
	long n;

	assert_non_null(x);
	assert_non_null(b);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_int_equal(X509_set_pubkey(x, k), 1);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, bc);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509(b, x), 1);
	n = BIO_get_mem_data(b, &pem);
	assert_true(n > 0);
	write_file(rel, pem, (size_t)n);
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
make_dir(const char *rel)
{
	char path[4096];

	path_in(path, sizeof(path), tmpdir, rel);
	assert_true(mkdir(path, 0700) == 0 || access(path, F_OK) == 0);
}

/*
 * The policy directory: keys/ (P-256, P-384 and Ed25519 public keys, an
 * empty file, a FIFO),
 * pki/ (the model-transparency root and intermediate, a non-CA
 * certificate), sigstore/ (the public-good trusted root).
 */
static int
group_setup(void **state)
{
	const char *tmp = getenv("PAL_TEST_TMP");
	const char *data = getenv("PAL_TEST_DATA");
	char fifo[4096];
	EVP_PKEY *ed;

	(void)state;
	if (tmp == NULL)
		tmp = "/tmp";
	if (data == NULL)
		data = "tests/data";
	mkdir(tmp, 0700);
	snprintf(tmpdir, sizeof(tmpdir), "%s/trust_policy.%d", tmp,
		 (int)getpid());
	snprintf(datadir, sizeof(datadir), "%s", data);
	make_dir("");
	make_dir("keys");
	make_dir("pki");
	make_dir("sigstore");
	make_dir("sub");
	k256 = gen_ec("P-256");
	k384 = gen_ec("P-384");
	write_pub("keys/p256.pub", k256);
	write_pub("keys/p384.pub", k384);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(ed);
	write_pub("keys/ed25519.pub", ed);
	EVP_PKEY_free(ed);
	write_file("keys/empty.pub", "", 0);
	path_in(fifo, sizeof(fifo), tmpdir, "keys/fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	copy_data(CERTS "/ca-cert.pem", "pki/root.pem");
	copy_data(CERTS "/int-ca-cert.pem", "pki/int.pem");
	write_cert("pki/leaf.pem", "leaf", "critical,CA:FALSE");
	copy_data("oms/sigstore-public-good-trusted_root.json",
		  "sigstore/trusted_root.json");
	return 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(k256);
	EVP_PKEY_free(k384);
	return nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
parse(const char *yaml, struct pal_trust_policy **p, struct pal_err *err)
{
	pal_err_clear(err);
	return pal_trust_policy_parse((const uint8_t *)yaml, strlen(yaml),
				      NAME, tmpdir, p, err);
}

static struct pal_trust_policy *
parse_ok(const char *yaml)
{
	struct pal_trust_policy *p = NULL;
	struct pal_err err;
	int rc = parse(yaml, &p, &err);

	if (rc != 0) {
		print_error("unexpected error %d: %s\n", rc, err.msg);
		fail();
	}
	assert_non_null(p);
	return p;
}

/* The policy is refused with code and a message containing want. */
static void
expect_refused(const char *yaml, int code, const char *want)
{
	struct pal_trust_policy *p = (struct pal_trust_policy *)1;
	struct pal_err err;
	int rc = parse(yaml, &p, &err);

	if (rc != code || strstr(err.msg, want) == NULL) {
		print_error("got %d '%s'\nwant %d '%s'\npolicy:\n%.400s\n",
			    rc, err.msg, code, want, yaml);
		fail();
	}
	assert_null(p);
	assert_int_equal(err.code, rc);
	assert_int_equal(strncmp(err.msg, NAME ":", strlen(NAME) + 1), 0);
}

static void
assert_subject(X509 *x, const char *want)
{
	char subj[256];

	pal_x509_subject(x, subj, sizeof(subj));
	assert_string_equal(subj, want);
}

static X509 *
load_one(const char *rel)
{
	char path[4096];
	STACK_OF(X509) *st = NULL;
	X509 *x;

	path_in(path, sizeof(path), datadir, rel);
	assert_int_equal(pal_x509_load_file(path, &st, NULL), 0);
	assert_int_equal(sk_X509_num(st), 1);
	x = sk_X509_shift(st);
	sk_X509_free(st);
	return x;
}

/* ---------------------------------------------------------------------
 * Good policies.
 */

static const char full_policy[] =
	"# Acme's models, and nothing else.\n"
	"version: 1\n"
	"sources:\n"
	"  - match: \"huggingface.co/acme/*\"\n"
	"    keys: [keys/p256.pub, keys/p384.pub, %s/" CERTS
	"/signing-key-pub.pem]\n"
	"    cas:\n"
	"      - root: pki/root.pem\n"
	"        intermediates: [pki/int.pem]\n"
	"      - root: %s/" CERTS "/ca-cert.pem\n"
	"    sigstore:\n"
	"      trusted_root: sigstore/trusted_root.json\n"
	"      identities:\n"
	"        - identity: release@acme.example\n"
	"          issuer: https://accounts.google.com\n"
	"        - identity: \"https://github.com/acme/models/.github/"
	"workflows/release.yml@refs/heads/main\"\n"
	"          issuer: https://token.actions.githubusercontent.com\n"
	"  - match: \"*\"\n"
	"    keys: []\n";

static struct pal_trust_policy *
load_full(void)
{
	char yaml[8192];
	int n = snprintf(yaml, sizeof(yaml), full_policy, datadir, datadir);

	assert_true(n > 0 && (size_t)n < sizeof(yaml));
	return parse_ok(yaml);
}

static void
full_policy_loads_everything(void **state)
{
	struct pal_trust_policy *p = load_full();
	const struct pal_trust_rule *r, *any;
	X509 *leaf, *cert;

	(void)state;
	assert_string_equal(pal_trust_policy_name(p), NAME);
	assert_int_equal(pal_trust_policy_count(p), 2);
	assert_null(pal_trust_policy_rule(p, 2));
	r = pal_trust_policy_rule(p, 0);
	assert_string_equal(r->match, "huggingface.co/acme/*");
	assert_int_equal(r->line, 4);
	/* The keys are the very keys written, in order. */
	assert_int_equal(r->n_keys, 3);
	assert_int_equal(EVP_PKEY_eq(r->keys[0], k256), 1);
	assert_int_equal(EVP_PKEY_eq(r->keys[1], k384), 1);
	cert = load_one(CERTS "/signing-key-cert.pem");
	assert_int_equal(EVP_PKEY_eq(r->keys[2], X509_get0_pubkey(cert)), 1);
	assert_int_equal(EVP_PKEY_get_bits(r->keys[2]), 384);
	/* The CA: the test CA's root and intermediate. */
	assert_int_equal(r->n_cas, 2);
	assert_int_equal(sk_X509_num(r->cas[0].roots), 1);
	assert_subject(sk_X509_value(r->cas[0].roots, 0), "CN=root-ca");
	assert_non_null(r->cas[0].intermediates);
	assert_int_equal(sk_X509_num(r->cas[0].intermediates), 1);
	assert_subject(sk_X509_value(r->cas[0].intermediates, 0),
		       "CN=intermediate-ca");
	assert_int_equal(sk_X509_num(r->cas[1].roots), 1);
	assert_null(r->cas[1].intermediates);
	/* ... and they do what they are for: the signing cert chains. */
	leaf = cert;
	assert_int_equal(pal_x509_verify_chain(leaf, r->cas[0].intermediates,
					       r->cas[0].roots, 0, NULL), 0);
	assert_int_equal(pal_x509_verify_chain(leaf, NULL, r->cas[1].roots,
					       0, NULL), PAL_ERR_VERIFY);
	X509_free(cert);
	/* Sigstore. */
	assert_non_null(r->trusted_root);
	assert_int_equal(r->n_ids, 2);
	assert_string_equal(r->ids[0].identity, "release@acme.example");
	assert_string_equal(r->ids[0].issuer, "https://accounts.google.com");
	assert_string_equal(r->ids[1].identity, "https://github.com/acme/"
			    "models/.github/workflows/release.yml@refs/heads/"
			    "main");
	assert_string_equal(r->ids[1].issuer,
			    "https://token.actions.githubusercontent.com");
	/* The catch-all trusts nothing. */
	any = pal_trust_policy_rule(p, 1);
	assert_string_equal(any->match, "*");
	assert_int_equal(any->line, 17);
	assert_int_equal(any->n_keys + any->n_cas + any->n_ids, 0);
	assert_null(any->trusted_root);
	pal_trust_policy_free(p);
}

static void
matching_and_fail_closed(void **state)
{
	struct pal_trust_policy *p = load_full();
	const struct pal_trust_rule *acme = pal_trust_policy_rule(p, 0);
	const struct pal_trust_rule *any = pal_trust_policy_rule(p, 1);
	const struct pal_trust_rule *r;
	struct pal_err err;

	(void)state;
	assert_ptr_equal(pal_trust_policy_match(p, "huggingface.co/acme/bert"),
			 acme);
	/* FNM_PATHNAME is off: '*' crosses '/'. */
	assert_ptr_equal(pal_trust_policy_match(p,
			 "huggingface.co/acme/team/bert"), acme);
	/* Exact and case-sensitive. */
	assert_ptr_equal(pal_trust_policy_match(p, "HuggingFace.co/acme/x"),
			 any);
	assert_ptr_equal(pal_trust_policy_match(p, "huggingface.co/acme"),
			 any);
	assert_ptr_equal(pal_trust_policy_match(p, "huggingface.co/evil/x"),
			 any);
	assert_null(pal_trust_policy_match(p, NULL));

	r = NULL;
	assert_int_equal(pal_trust_policy_select(p, "huggingface.co/acme/bert",
						 &r, &err), 0);
	assert_ptr_equal(r, acme);
	/* The catch-all matches but allows nothing: refused, naming it. */
	r = acme;
	assert_int_equal(pal_trust_policy_select(p, "huggingface.co/evil/x",
						 &r, &err), PAL_ERR_VERIFY);
	assert_null(r);
	assert_int_equal(err.code, PAL_ERR_VERIFY);
	assert_string_equal(err.msg, "policy.yaml:17: rule '*' trusts no "
			    "signer for source 'huggingface.co/evil/x'");
	/* A source is quoted safely. */
	assert_int_equal(pal_trust_policy_select(p, "evil\n\x1b[2J", &r, &err),
			 PAL_ERR_VERIFY);
	assert_string_equal(err.msg, "policy.yaml:17: rule '*' trusts no "
			    "signer for source 'evil\\x0a\\x1b[2J'");
	assert_int_equal(pal_trust_policy_select(p, "", &r, &err),
			 PAL_ERR_INVALID);
	assert_int_equal(pal_trust_policy_select(p, NULL, &r, &err),
			 PAL_ERR_INVALID);
	pal_trust_policy_free(p);
}

static const char ordered[] =
	"version: 1\n"
	"sources:\n"
	"  - match: \"hf.co/acme/special\"\n"
	"    keys: [keys/p384.pub]\n"
	"  - match: \"hf.co/acme/*\"\n"
	"    keys: [keys/p256.pub]\n";

static const char reversed[] =
	"version: 1\n"
	"sources:\n"
	"  - match: \"hf.co/acme/*\"\n"
	"    keys: [keys/p256.pub]\n"
	"  - match: \"hf.co/acme/special\"\n"
	"    keys: [keys/p384.pub]\n";

static void
first_matching_rule_wins(void **state)
{
	struct pal_trust_policy *p = parse_ok(ordered);
	const struct pal_trust_rule *r;
	struct pal_err err;

	(void)state;
	r = pal_trust_policy_match(p, "hf.co/acme/special");
	assert_non_null(r);
	assert_int_equal(r->line, 3);
	assert_int_equal(EVP_PKEY_eq(r->keys[0], k384), 1);
	r = pal_trust_policy_match(p, "hf.co/acme/other");
	assert_non_null(r);
	assert_int_equal(r->line, 5);
	assert_int_equal(EVP_PKEY_eq(r->keys[0], k256), 1);
	/* No catch-all: a source no rule names fails closed. */
	assert_null(pal_trust_policy_match(p, "hf.co/other/x"));
	r = (const struct pal_trust_rule *)1;
	assert_int_equal(pal_trust_policy_select(p, "hf.co/other/x", &r, &err),
			 PAL_ERR_VERIFY);
	assert_null(r);
	assert_string_equal(err.msg, "policy.yaml: no rule matches source "
			    "'hf.co/other/x': nothing is trusted for it");
	pal_trust_policy_free(p);

	/* The other way round the glob comes first and takes both. */
	p = parse_ok(reversed);
	r = pal_trust_policy_match(p, "hf.co/acme/special");
	assert_non_null(r);
	assert_int_equal(r->line, 3);
	assert_int_equal(EVP_PKEY_eq(r->keys[0], k256), 1);
	pal_trust_policy_free(p);
}

static void
rules_that_allow_nothing(void **state)
{
	struct pal_trust_policy *p = parse_ok(
		"version: 1\n"
		"sources:\n"
		"  - match: \"hf.co/banned/*\"\n"
		"  - match: \"hf.co/*\"\n"
		"    keys: []\n"
		"    cas: []\n"
		"  - match: \"other/?\"\n"
		"    keys: [keys/p256.pub]\n");
	const struct pal_trust_rule *r;
	struct pal_err err;

	(void)state;
	assert_int_equal(pal_trust_policy_count(p), 3);
	assert_int_equal(pal_trust_policy_select(p, "hf.co/banned/m", &r,
						 &err), PAL_ERR_VERIFY);
	assert_string_equal(err.msg, "policy.yaml:3: rule 'hf.co/banned/*' "
			    "trusts no signer for source 'hf.co/banned/m'");
	assert_int_equal(pal_trust_policy_select(p, "hf.co/m", &r, &err),
			 PAL_ERR_VERIFY);
	assert_string_equal(err.msg, "policy.yaml:4: rule 'hf.co/*' trusts no "
			    "signer for source 'hf.co/m'");
	assert_int_equal(pal_trust_policy_select(p, "other/x", &r, &err), 0);
	assert_int_equal(r->line, 7);
	assert_int_equal(pal_trust_policy_select(p, "other/xy", &r, &err),
			 PAL_ERR_VERIFY);
	pal_trust_policy_free(p);
}

static void
trusted_root_is_loaded_once(void **state)
{
	struct pal_trust_policy *p = parse_ok(
		"version: 1\n"
		"sources:\n"
		"  - match: a\n"
		"    sigstore:\n"
		"      identities:\n"
		"        - {identity: a@example.com, issuer: \"https://x\"}\n"
		"      trusted_root: sigstore/trusted_root.json\n"
		"  - match: b\n"
		"    sigstore:\n"
		"      trusted_root: sigstore/trusted_root.json\n"
		"      identities:\n"
		"        - {identity: b@example.com, issuer: \"https://x\"}\n");
	const struct pal_trust_rule *a = pal_trust_policy_rule(p, 0);
	const struct pal_trust_rule *b = pal_trust_policy_rule(p, 1);

	(void)state;
	assert_non_null(a->trusted_root);
	assert_ptr_equal(a->trusted_root, b->trusted_root);
	assert_string_equal(b->ids[0].identity, "b@example.com");
	pal_trust_policy_free(p);
}

/* Relative paths are the policy file's, not the current directory's. */
static void
load_resolves_against_the_file(void **state)
{
	static const char yaml[] =
		"version: 1\n"
		"sources:\n"
		"  - match: \"*\"\n"
		"    keys: [../keys/p256.pub]\n"
		"    cas: [{root: ../pki/root.pem}]\n";
	struct pal_trust_policy *p = NULL;
	struct pal_err err;
	char path[4096];

	(void)state;
	write_file("sub/policy.yaml", yaml, sizeof(yaml) - 1);
	path_in(path, sizeof(path), tmpdir, "sub/policy.yaml");
	assert_int_equal(pal_trust_policy_load(path, &p, &err), 0);
	assert_string_equal(pal_trust_policy_name(p), path);
	assert_int_equal(EVP_PKEY_eq(pal_trust_policy_rule(p, 0)->keys[0],
				     k256), 1);
	pal_trust_policy_free(p);

	p = (struct pal_trust_policy *)1;
	path_in(path, sizeof(path), tmpdir, "sub/missing.yaml");
	assert_int_equal(pal_trust_policy_load(path, &p, &err), PAL_ERR_IO);
	assert_null(p);
	assert_non_null(strstr(err.msg, "missing.yaml: No such file"));
	path_in(path, sizeof(path), tmpdir, "sub");
	assert_int_equal(pal_trust_policy_load(path, &p, &err), PAL_ERR_IO);
	assert_non_null(strstr(err.msg, "not a regular file"));
	pal_trust_policy_free(NULL);
}

/* ---------------------------------------------------------------------
 * Refusals.
 */

#define V "version: 1\nsources:\n"
#define ROOT "      trusted_root: sigstore/trusted_root.json\n"

static const struct {
	const char *yaml;
	int code;
	const char *msg;
} refused[] = {
	/* Unknown keys, at every level. */
	{ V "  - match: '*'\nextra: 1\n", PAL_ERR_POLICY,
	  NAME ":4:1: unknown key 'extra' in the policy (known: version, "
	  "sources)" },
	{ V "  - match: a\n    key: [x]\n", PAL_ERR_POLICY,
	  NAME ":4:5: unknown key 'key' in a rule (known: match, keys, cas, "
	  "sigstore)" },
	{ V "  - match: a\n    cas:\n      - root: pki/root.pem\n"
	  "        intermediate: []\n", PAL_ERR_POLICY,
	  NAME ":6:9: unknown key 'intermediate' in a cas entry (known: "
	  "root, intermediates)" },
	{ V "  - match: a\n    sigstore:\n" ROOT "      identity: x\n",
	  PAL_ERR_POLICY, NAME ":6:7: unknown key 'identity' in sigstore "
	  "(known: trusted_root, identities)" },
	{ V "  - match: a\n    sigstore:\n      identities:\n"
	  "        - identity: a@b\n          issuer: https://x\n"
	  "          subject: y\n", PAL_ERR_POLICY,
	  NAME ":8:11: unknown key 'subject' in an identities entry (known: "
	  "identity, issuer)" },
	{ V "  - match: a\n    [k]: 1\n", PAL_ERR_POLICY,
	  NAME ":4:5: keys of a rule must be strings" },
	/* Wrong types. */
	{ V "  - match: a\n    keys: keys/p256.pub\n", PAL_ERR_POLICY,
	  NAME ":4:11: 'keys' must be a list" },
	{ V "  - match: a\n    keys:\n", PAL_ERR_POLICY,
	  NAME ":4:10: 'keys' must be a list" },
	{ V "  - match: [a]\n", PAL_ERR_POLICY,
	  NAME ":3:12: 'match' must be a string" },
	{ V "  - match: 42\n", PAL_ERR_POLICY,
	  NAME ":3:12: 'match' must be a string (quote it)" },
	{ V "  - match: 0x1F\n", PAL_ERR_POLICY,
	  NAME ":3:12: 'match' must be a string (quote it)" },
	{ V "  - match: null\n", PAL_ERR_POLICY,
	  NAME ":3:12: 'match' must be a string (quote it)" },
	{ "version: 1\nsources: {}\n", PAL_ERR_POLICY,
	  NAME ":2:10: 'sources' must be a list" },
	{ V "  - match: a\n    cas: [pki/root.pem]\n", PAL_ERR_POLICY,
	  NAME ":4:11: a cas entry must be a mapping" },
	{ V "  - match: a\n    sigstore: [x]\n", PAL_ERR_POLICY,
	  NAME ":4:15: sigstore must be a mapping" },
	{ V "  - match: a\n    sigstore:\n" ROOT "      identities:\n"
	  "        - identity: a@b\n          issuer: true\n", PAL_ERR_POLICY,
	  NAME ":8:19: 'issuer' must be a string (quote it)" },
	{ V "  - match: a\n    keys: [~]\n", PAL_ERR_POLICY,
	  NAME ":4:12: a key path must be a string (quote it)" },
	{ "version: \"1\"\nsources: []\n", PAL_ERR_POLICY,
	  NAME ":1:10: 'version' must be the number 1" },
	{ "version: one\n", PAL_ERR_POLICY,
	  NAME ":1:10: 'version' must be the number 1" },
	{ V "  - match\n", PAL_ERR_POLICY,
	  NAME ":3:5: a rule must be a mapping with 'match'" },
	/* Duplicate keys, patterns, keys and identities. */
	{ "version: 1\nversion: 1\n", PAL_ERR_POLICY,
	  NAME ":2:1: duplicate key 'version' in the policy" },
	{ V "  - match: a\n    match: b\n", PAL_ERR_POLICY,
	  NAME ":4:5: duplicate key 'match' in a rule" },
	{ V "  - match: a\n    keys: []\n    keys: []\n", PAL_ERR_POLICY,
	  NAME ":5:5: duplicate key 'keys' in a rule" },
	{ V "  - match: a\n  - match: a\n", PAL_ERR_POLICY,
	  NAME ":4:12: duplicate match 'a' (the rule at line 3 has it "
	  "already)" },
	{ V "  - match: a\n    keys: [keys/p256.pub, ./keys/p256.pub]\n",
	  PAL_ERR_POLICY, NAME ":4:27: key './keys/p256.pub' is the same key "
	  "as entry 1 of this rule's keys" },
	{ V "  - match: a\n    sigstore:\n" ROOT "      identities:\n"
	  "        - {identity: a@b, issuer: \"https://x\"}\n"
	  "        - {identity: a@b, issuer: \"https://x\"}\n", PAL_ERR_POLICY,
	  NAME ":8:11: identity 'a@b' with issuer 'https://x' is listed "
	  "twice" },
	{ V "  - match: \"*\"\n  - match: a\n", PAL_ERR_POLICY,
	  NAME ":4:5: this rule is never used: the rule at line 3 ('*') "
	  "matches every source before it" },
	/* Missing and wrong versions, missing required keys. */
	{ "sources:\n  - match: a\n", PAL_ERR_POLICY,
	  NAME ":2:3: 'version: 1' must come before 'sources'" },
	{ "{}\n", PAL_ERR_POLICY, NAME ":1:1: missing 'version: 1'" },
	{ "version: 1\n", PAL_ERR_POLICY,
	  NAME ":1:1: missing 'sources' (the list of rules)" },
	{ "version: 2\nsources: []\n", PAL_ERR_POLICY,
	  NAME ":1:10: unsupported version '2' (this palisade reads version "
	  "1)" },
	{ "version: 1\nsources: []\n", PAL_ERR_POLICY,
	  NAME ":2:10: 'sources' lists no rule" },
	{ V "  - keys: []\n", PAL_ERR_POLICY,
	  NAME ":3:5: rule has no 'match'" },
	{ V "  - match: a\n    cas:\n      - intermediates: [pki/int.pem]\n",
	  PAL_ERR_POLICY, NAME ":5:9: cas entry has no 'root'" },
	{ V "  - match: a\n    sigstore:\n      identities:\n"
	  "        - identity: a@b\n          issuer: x\n", PAL_ERR_POLICY,
	  NAME ":5:7: sigstore has no 'trusted_root'" },
	{ V "  - match: a\n    sigstore:\n" ROOT, PAL_ERR_POLICY,
	  NAME ":5:7: sigstore has no 'identities'" },
	{ V "  - match: a\n    sigstore:\n" ROOT "      identities: []\n",
	  PAL_ERR_POLICY, NAME ":6:19: 'identities' is empty (to trust no "
	  "Sigstore signer, leave out 'sigstore')" },
	{ V "  - match: a\n    sigstore:\n" ROOT "      identities:\n"
	  "        - identity: a@b\n", PAL_ERR_POLICY,
	  NAME ":7:11: identities entry has no 'issuer'" },
	/* Anchors, aliases, tags, directives, documents, syntax. */
	{ V "  - &r\n    match: a\n", PAL_ERR_POLICY,
	  NAME ":3:5: anchors and tags are not allowed" },
	{ V "  - match: *m\n", PAL_ERR_POLICY,
	  NAME ":3:12: aliases are not allowed" },
	{ V "  - match: &m a\n  - match: *m\n", PAL_ERR_POLICY,
	  NAME ":3:12: anchors and tags are not allowed" },
	{ "version: !!int 1\n", PAL_ERR_POLICY,
	  NAME ":1:10: anchors and tags are not allowed" },
	{ "%TAG !e! tag:example.com,2000:\n---\nversion: 1\n",
	  PAL_ERR_POLICY, "tag directives are not allowed" },
	{ V "  - match: a\n---\nversion: 1\n", PAL_ERR_POLICY,
	  NAME ":4:1: only one document is allowed" },
	{ "version: 1\nsources: \"abc\n", PAL_ERR_POLICY, "YAML syntax" },
	{ "", PAL_ERR_POLICY, NAME ":1:1: empty trust policy" },
	{ "# nothing\n", PAL_ERR_POLICY, NAME ":2:1: empty trust policy" },
	{ "- version: 1\n", PAL_ERR_POLICY,
	  NAME ":1:1: expected a mapping with 'version: 1' at the top" },
	/* Strings. */
	{ V "  - match: ''\n", PAL_ERR_POLICY, NAME ":3:12: 'match' is empty" },
	{ V "  - match: \"a\\tb\"\n", PAL_ERR_POLICY,
	  NAME ":3:12: 'match' 'a\\x09b' holds a control character" },
	{ V "  - match: \"a\\0b\"\n", PAL_ERR_POLICY,
	  NAME ":3:12: 'match' 'a\\x00b' holds a control character" },
	{ V "  - match: a\n    keys: [\"keys/p256.pub\\0.x\"]\n",
	  PAL_ERR_POLICY, "holds a control character" },
	/* Files that are missing or are not what the policy says. */
	{ V "  - match: a\n    keys: [keys/missing.pub]\n", PAL_ERR_IO,
	  NAME ":4:12: key 'keys/missing.pub': " },
	{ V "  - match: a\n    keys: [keys/missing.pub]\n", PAL_ERR_IO,
	  "/keys/missing.pub: No such file or directory" },
	{ V "  - match: a\n    keys: [keys]\n", PAL_ERR_IO,
	  "/keys: not a regular file" },
	{ V "  - match: a\n    keys: [keys/fifo]\n", PAL_ERR_IO,
	  "/keys/fifo: not a regular file" },
	{ V "  - match: a\n    keys: [/dev/null]\n", PAL_ERR_IO,
	  NAME ":4:12: key '/dev/null': /dev/null: not a regular file" },
	{ V "  - match: a\n    keys: [keys/empty.pub]\n", PAL_ERR_FORMAT,
	  "/keys/empty.pub: empty file" },
	{ V "  - match: a\n    keys: [pki/root.pem]\n", PAL_ERR_FORMAT,
	  NAME ":4:12: key 'pki/root.pem': " },
	{ V "  - match: a\n    keys: [pki/root.pem]\n", PAL_ERR_FORMAT,
	  "/pki/root.pem: not a PEM public key" },
	{ V "  - match: a\n    keys: [keys/ed25519.pub]\n", PAL_ERR_UNSUPPORTED,
	  "is not an ECDSA P-256, P-384 or P-521 key" },
	{ V "  - match: a\n    cas:\n      - root: pki/int.pem\n",
	  PAL_ERR_FORMAT, NAME ":5:15: root 'pki/int.pem': " },
	{ V "  - match: a\n    cas:\n      - root: pki/int.pem\n",
	  PAL_ERR_FORMAT, "/pki/int.pem: root certificate 'CN=intermediate-ca'"
	  " is not self-signed" },
	{ V "  - match: a\n    cas:\n      - root: pki/leaf.pem\n",
	  PAL_ERR_FORMAT, "certificate 'CN=leaf' is not a CA certificate" },
	{ V "  - match: a\n    cas:\n      - root: pki/root.pem\n"
	  "        intermediates: [pki/int.pem, pki/leaf.pem]\n",
	  PAL_ERR_FORMAT, NAME ":6:38: intermediate 'pki/leaf.pem': " },
	{ V "  - match: a\n    cas:\n      - root: keys/p256.pub\n",
	  PAL_ERR_FORMAT, "/keys/p256.pub: no PEM certificate" },
	{ V "  - match: a\n    cas:\n      - root: pki/missing.pem\n",
	  PAL_ERR_IO, "/pki/missing.pem: No such file or directory" },
	{ V "  - match: a\n    sigstore:\n"
	  "      trusted_root: sigstore/missing.json\n", PAL_ERR_IO,
	  NAME ":5:21: trusted_root 'sigstore/missing.json': " },
	{ V "  - match: a\n    sigstore:\n"
	  "      trusted_root: keys/p256.pub\n", PAL_ERR_FORMAT,
	  NAME ":5:21: trusted_root 'keys/p256.pub': " },
};

static void
bad_policies_are_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		expect_refused(refused[i].yaml, refused[i].code,
			       refused[i].msg);
}

/* Long strings: exactly at the limit is fine, one more is not. */
static void
string_limits(void **state)
{
	struct pal_buf b;
	char want[128];

	(void)state;
	pal_buf_init(&b, 1 << 20);
	assert_int_equal(pal_buf_puts(&b, V "  - match: \""), 0);
	for (int i = 0; i < PAL_TRUST_MATCH_MAX; i++)
		assert_int_equal(pal_buf_putc(&b, 'a'), 0);
	assert_int_equal(pal_buf_puts(&b, "\"\n"), 0);
	pal_trust_policy_free(parse_ok((char *)b.p));
	pal_buf_reset(&b);
	assert_int_equal(pal_buf_puts(&b, V "  - match: \""), 0);
	for (int i = 0; i <= PAL_TRUST_MATCH_MAX; i++)
		assert_int_equal(pal_buf_putc(&b, 'a'), 0);
	assert_int_equal(pal_buf_puts(&b, "\"\n"), 0);
	snprintf(want, sizeof(want), "is longer than %d bytes",
		 PAL_TRUST_MATCH_MAX);
	expect_refused((char *)b.p, PAL_ERR_POLICY, want);

	pal_buf_reset(&b);
	assert_int_equal(pal_buf_puts(&b, V "  - match: a\n    sigstore:\n"
				      ROOT "      identities:\n"
				      "        - issuer: x\n"
				      "          identity: "), 0);
	for (int i = 0; i <= PAL_TRUST_ID_MAX; i++)
		assert_int_equal(pal_buf_putc(&b, 'i'), 0);
	assert_int_equal(pal_buf_puts(&b, "\n"), 0);
	snprintf(want, sizeof(want), NAME ":8:21: 'identity' 'iii");
	expect_refused((char *)b.p, PAL_ERR_POLICY, want);
	pal_buf_free(&b);
}

/* n rules, or one rule with n entries of a kind; each line is one entry. */
static char *
policy_with(const char *kind, int n)
{
	struct pal_buf b;
	int r = 0;

	pal_buf_init(&b, 1 << 20);
	r |= pal_buf_puts(&b, V);
	if (strcmp(kind, "sources") == 0) {
		for (int i = 0; i < n; i++)
			r |= pal_buf_printf(&b, "  - match: r%d\n", i);
	} else if (strcmp(kind, "keys") == 0) {
		r |= pal_buf_puts(&b, "  - match: a\n    keys:\n");
		for (int i = 0; i < n; i++)
			r |= pal_buf_printf(&b, "      - keys/many-%d.pub\n", i);
	} else if (strcmp(kind, "cas") == 0) {
		r |= pal_buf_puts(&b, "  - match: a\n    cas:\n");
		for (int i = 0; i < n; i++)
			r |= pal_buf_puts(&b, "      - root: pki/root.pem\n");
	} else if (strcmp(kind, "intermediates") == 0) {
		r |= pal_buf_puts(&b, "  - match: a\n    cas:\n"
				  "      - root: pki/root.pem\n"
				  "        intermediates:\n");
		for (int i = 0; i < n; i++)
			r |= pal_buf_puts(&b, "          - pki/int.pem\n");
	} else {
		r |= pal_buf_puts(&b, "  - match: a\n    sigstore:\n" ROOT
				  "      identities:\n");
		for (int i = 0; i < n; i++)
			r |= pal_buf_printf(&b, "        - {identity: "
					    "u%d@x, issuer: y}\n", i);
	}
	assert_int_equal(r, 0);
	return (char *)pal_buf_steal(&b, NULL);
}

/* At the limit it loads; one more is refused where the extra one is. */
static void
expect_limit(const char *kind, int max, int lines_before, int col)
{
	struct pal_trust_policy *p;
	char want[160];
	char *yaml;

	yaml = policy_with(kind, max);
	p = parse_ok(yaml);
	pal_trust_policy_free(p);
	free(yaml);
	yaml = policy_with(kind, max + 1);
	snprintf(want, sizeof(want), NAME ":%d:%d: too many entries in '%s' "
		 "(at most %d)", lines_before + max + 1, col, kind, max);
	expect_refused(yaml, PAL_ERR_POLICY, want);
	free(yaml);
}

static void
count_limits(void **state)
{
	(void)state;
	for (int i = 0; i <= PAL_TRUST_MAX_KEYS; i++) {
		char rel[64];
		EVP_PKEY *k = gen_ec("P-256");

		snprintf(rel, sizeof(rel), "keys/many-%d.pub", i);
		write_pub(rel, k);
		EVP_PKEY_free(k);
	}
	expect_limit("sources", PAL_TRUST_MAX_RULES, 2, 5);
	expect_limit("keys", PAL_TRUST_MAX_KEYS, 4, 9);
	expect_limit("cas", PAL_TRUST_MAX_CAS, 4, 9);
	expect_limit("intermediates", PAL_TRUST_MAX_INTERMEDIATES, 6, 13);
	expect_limit("identities", PAL_TRUST_MAX_IDS, 6, 11);
}

static void
size_limit(void **state)
{
	struct pal_trust_policy *p = (struct pal_trust_policy *)1;
	struct pal_err err;
	size_t n = PAL_TRUST_POLICY_MAX + 1;
	uint8_t *big = malloc(n);

	(void)state;
	assert_non_null(big);
	memset(big, '#', n);
	assert_int_equal(pal_trust_policy_parse(big, n, NAME, tmpdir, &p,
						&err), PAL_ERR_LIMIT);
	assert_null(p);
	assert_string_equal(err.msg, NAME ": trust policy larger than "
			    "1048576 bytes");
	free(big);
	assert_int_equal(pal_trust_policy_parse(NULL, 0, NULL, tmpdir, &p,
						&err), PAL_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_policy_loads_everything),
		cmocka_unit_test(matching_and_fail_closed),
		cmocka_unit_test(first_matching_rule_wins),
		cmocka_unit_test(rules_that_allow_nothing),
		cmocka_unit_test(trusted_root_is_loaded_once),
		cmocka_unit_test(load_resolves_against_the_file),
		cmocka_unit_test(bad_policies_are_refused),
		cmocka_unit_test(string_limits),
		cmocka_unit_test(count_limits),
		cmocka_unit_test(size_limit),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
