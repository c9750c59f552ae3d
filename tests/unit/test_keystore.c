/*
 * test_keystore.c - the vault's keys on fresh SoftHSM2 tokens.
 *
 * The group setup creates the vault's token with
 * pal_keystore_softhsm_create in a new directory under $PAL_TEST_TMP, so
 * that the library itself writes softhsm2.conf and sets SOFTHSM2_CONF;
 * the machine's tokens are never touched.  Then: refusing a second token
 * with the label and a second configuration while one is in use; the
 * mechanism probe (on SoftHSM2, and on a SoftHSM2 whose mechanism list is
 * filtered to look like a poorer token); KEKs made, found, listed, refused
 * twice, and unreadable; wrap and unwrap; a wrong KEK and every tampered
 * byte refused; shredding; rotation; planted objects with KEK labels.
 * A few checks reach past the public API (keystore_int.h) to talk to the
 * token directly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "palisade/encoding.h"
#include "palisade/file.h"
#include "palisade/keystore.h"
#include "../../src/vault/keystore_int.h"

#define PIN "1234"
#define SO_PIN "5678"

static char base[4096];
static char vault[4096 + 16];

static struct pal_keystore_config
config(const char *dir)
{
	struct pal_keystore_config c;

	memset(&c, 0, sizeof(c));
	c.softhsm_dir = dir;
	c.pin.value = PIN;
	return c;
}

static const struct pal_keystore_pin so_pin = { SO_PIN, NULL };

static int
setup(void **state)
{
	const char *tmp = getenv("PAL_TEST_TMP");
	struct pal_keystore_config c = config(vault);
	char serial[PAL_KEYSTORE_SERIAL_MAX + 1];
	struct pal_err err;

	(void)state;
	if (tmp == NULL)
		tmp = "/tmp";
	mkdir(tmp, 0700);
	snprintf(base, sizeof(base), "%s/keystore-%d", tmp, (int)getpid());
	snprintf(vault, sizeof(vault), "%s/vault", base);
	if (mkdir(base, 0700) != 0)
		return -1;
	unsetenv(PAL_P11_PIN_ENV);
	unsetenv(PAL_KEYSTORE_SO_PIN_ENV);
	unsetenv(PAL_KEYSTORE_SOFTHSM_ENV);
	pal_err_clear(&err);
	if (pal_keystore_softhsm_create(&c, &so_pin, serial, &err) != 0) {
		fprintf(stderr, "creating the vault token: %s\n", err.msg);
		return -1;
	}
	return strlen(serial) == 16 ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[4096 + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static struct pal_keystore *
open_ok(const struct pal_keystore_config *c)
{
	struct pal_keystore *ks = NULL;
	struct pal_err err;

	pal_err_clear(&err);
	if (pal_keystore_open(c, &ks, &err) != 0)
		fail_msg("pal_keystore_open: %s", err.msg);
	assert_non_null(ks);
	return ks;
}

static struct pal_keystore *
open_vault(void)
{
	struct pal_keystore_config c = config(vault);

	return open_ok(&c);
}

/* rc is code and the message holds want. */
static void
expect_err(int rc, const struct pal_err *err, int code, const char *want)
{
	if (rc != code || strstr(err->msg, want) == NULL)
		fail_msg("rc %d '%s', want %d '%s'", rc, err->msg, code, want);
}

static void
kek_create_ok(struct pal_keystore *ks, const char *r, struct pal_kek *k)
{
	struct pal_err err;

	pal_err_clear(&err);
	if (pal_keystore_kek_create(ks, r, k, &err) != 0)
		fail_msg("kek_create %s: %s", r, err.msg);
}

static void
kek_find_ok(struct pal_keystore *ks, const char *r, struct pal_kek *k)
{
	struct pal_err err;

	pal_err_clear(&err);
	if (pal_keystore_kek_find(ks, r, k, &err) != 0)
		fail_msg("kek_find %s: %s", r, err.msg);
}

static void
wrap_ok(struct pal_keystore *ks, const struct pal_kek *k,
	struct pal_secmem *dek, struct pal_wrapped_dek *w)
{
	struct pal_err err;

	pal_err_clear(&err);
	if (pal_keystore_wrap(ks, k, dek, w, &err) != 0)
		fail_msg("wrap with %s: %s", k->label, err.msg);
	assert_int_equal(w->len, PAL_KEYSTORE_WRAPPED_LEN);
}

/* Unwraps w with k; the DEK must be want's bytes. */
static void
unwrap_same(struct pal_keystore *ks, const struct pal_kek *k,
	    const struct pal_wrapped_dek *w, struct pal_secmem *want)
{
	struct pal_secmem *got = NULL;
	struct pal_err err;

	pal_err_clear(&err);
	if (pal_keystore_unwrap(ks, k, w, &got, &err) != 0)
		fail_msg("unwrap with %s: %s", k->label, err.msg);
	assert_non_null(got);
	assert_int_equal(pal_secmem_len(got), PAL_KEYSTORE_DEK_LEN);
	assert_true(pal_secmem_locked(got));
	assert_memory_equal(pal_secmem_cdata(got), pal_secmem_cdata(want),
			    PAL_KEYSTORE_DEK_LEN);
	pal_secmem_free(got);
}

static struct pal_secmem *
dek_new(void)
{
	struct pal_secmem *d = NULL;
	struct pal_err err;

	assert_int_equal(pal_keystore_dek_generate(&d, &err), 0);
	return d;
}

/* Number of entries in dir whose name ends in suffix (in subdirs too). */
static int
count_files(const char *dir, const char *suffix)
{
	char sub[8192];
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(dir);

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name), s = strlen(suffix);

		if (e->d_name[0] == '.')
			continue;
		if (e->d_type == DT_DIR) {
			snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
			n += count_files(sub, suffix);
		} else if (l >= s && strcmp(e->d_name + l - s, suffix) == 0) {
			n++;
		}
	}
	closedir(d);
	return n;
}

/* ---- the token ---- */

static void
token_is_created_once(void **state)
{
	struct pal_keystore_config c = config(vault);
	char path[8192], tokens[8192], want[8192 + 32];
	uint8_t *text = NULL;
	struct pal_keystore *ks;
	struct pal_err err;
	size_t len = 0;

	(void)state;
	/* The library wrote the configuration and pointed SoftHSM2 at it. */
	snprintf(path, sizeof(path), "%s/softhsm2.conf", vault);
	assert_int_equal(pal_file_read(path, 4096, &text, &len, &err), 0);
	assert_non_null(realpath(vault, tokens));
	snprintf(want, sizeof(want), "directories.tokendir = %s/tokens\n",
		 tokens);
	assert_non_null(strstr((char *)text, want));
	assert_non_null(strstr((char *)text, "objectstore.backend = file\n"));
	assert_non_null(strstr((char *)text, "log.level = ERROR\n"));
	free(text);
	assert_non_null(realpath(path, tokens));
	assert_string_equal(getenv(PAL_KEYSTORE_SOFTHSM_ENV), tokens);
	snprintf(path, sizeof(path), "%s/tokens", vault);
	assert_int_equal(count_files(path, "token.object"), 1);

	/* A second token with the label is refused; nothing is added. */
	pal_err_clear(&err);
	expect_err(pal_keystore_softhsm_create(&c, &so_pin, NULL, &err), &err,
		   PAL_ERR_INVALID, "a token labelled 'palisade-vault' "
		   "already exists");
	assert_int_equal(count_files(path, "token.object"), 1);

	/* The token opens, by label and by its serial. */
	ks = open_vault();
	assert_string_equal(pal_keystore_token_label(ks), "palisade-vault");
	assert_int_equal(strlen(pal_keystore_token_serial(ks)), 16);
	c.serial = pal_keystore_token_serial(ks);
	pal_keystore_close(open_ok(&c));
	pal_keystore_close(ks);
}

static void
token_refusals(void **state)
{
	struct pal_keystore_config c = config(vault);
	struct pal_keystore *ks = (struct pal_keystore *)&ks;
	struct pal_keystore_pin none = { NULL, NULL };
	char dir[8192], path[8192 + 16];
	struct pal_err err;
	FILE *f;

	(void)state;
	c.pin.value = "0000";
	expect_err(pal_keystore_open(&c, &ks, &err), &err, PAL_ERR_INVALID,
		   "PIN incorrect");
	assert_null(ks);
	assert_null(strstr(err.msg, "0000"));
	c = config(vault);
	c.token = "no-such-token";
	expect_err(pal_keystore_open(&c, &ks, &err), &err, PAL_ERR_INVALID,
		   "token not found");
	c = config(vault);
	c.serial = "0000000000000000";
	expect_err(pal_keystore_open(&c, &ks, &err), &err, PAL_ERR_INVALID,
		   "token not found");
	c = config(vault);
	c.pin.value = NULL;
	expect_err(pal_keystore_open(&c, &ks, &err), &err, PAL_ERR_INVALID,
		   "needs a PIN");
	c.pin.value = PIN;
	c.pin.file = "/nonexistent";
	expect_err(pal_keystore_open(&c, &ks, &err), &err, PAL_ERR_INVALID,
		   "not both");

	/* Creating needs both PINs and a directory. */
	snprintf(dir, sizeof(dir), "%s/nopin", base);
	c = config(dir);
	expect_err(pal_keystore_softhsm_create(&c, &none, NULL, &err), &err,
		   PAL_ERR_INVALID, PAL_KEYSTORE_SO_PIN_ENV);
	c.pin.value = NULL;
	expect_err(pal_keystore_softhsm_create(&c, &so_pin, NULL, &err), &err,
		   PAL_ERR_INVALID, PAL_P11_PIN_ENV);
	c = config(NULL);
	expect_err(pal_keystore_softhsm_create(&c, &so_pin, NULL, &err), &err,
		   PAL_ERR_INVALID, "directory");
	c = config(dir);
	c.token = " padded";
	expect_err(pal_keystore_softhsm_create(&c, &so_pin, NULL, &err), &err,
		   PAL_ERR_INVALID, "space");

	/* A directory whose softhsm2.conf palisade did not write. */
	snprintf(dir, sizeof(dir), "%s/foreign", base);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("directories.tokendir = /var/lib/softhsm/tokens\n", f);
	assert_int_equal(fclose(f), 0);
	c = config(dir);
	expect_err(pal_keystore_softhsm_create(&c, &so_pin, NULL, &err), &err,
		   PAL_ERR_INVALID, "is not the configuration");
	expect_err(pal_keystore_open(&c, &ks, &err), &err, PAL_ERR_INVALID,
		   "is not the configuration");
	/* A directory that is not a vault. */
	snprintf(dir, sizeof(dir), "%s/nothing", base);
	c = config(dir);
	expect_err(pal_keystore_open(&c, &ks, &err), &err, PAL_ERR_IO, dir);
}

/*
 * A second vault in another directory: created while nothing holds
 * SoftHSM2 open, refused while the first vault is open (SoftHSM2 would
 * still serve the first directory's tokens), opened once it is closed.
 */
static void
one_configuration_at_a_time(void **state)
{
	char dir[8192];
	struct pal_keystore_config c2;
	struct pal_keystore *ks, *ks2 = NULL;
	struct pal_err err;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/second", base);
	c2 = config(dir);
	assert_int_equal(pal_keystore_softhsm_create(&c2, &so_pin, NULL, &err),
			 0);
	ks = open_vault();
	expect_err(pal_keystore_open(&c2, &ks2, &err), &err, PAL_ERR_INVALID,
		   "already in use in this process");
	expect_err(pal_keystore_softhsm_create(&c2, &so_pin, NULL, &err),
		   &err, PAL_ERR_INVALID, "already in use in this process");
	assert_null(ks2);
	/*
	 * If SOFTHSM2_CONF is changed behind the library's back while
	 * SoftHSM2 runs, the token lands in the other directory: that is
	 * noticed and reported.
	 */
	{
		char path[8192 + 16], conf[PATH_MAX];
		const char *was = getenv(PAL_KEYSTORE_SOFTHSM_ENV);
		char saved[8192];

		snprintf(saved, sizeof(saved), "%s", was);
		snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
		assert_non_null(realpath(path, conf));
		setenv(PAL_KEYSTORE_SOFTHSM_ENV, conf, 1);
		c2.token = "stray";
		expect_err(pal_keystore_softhsm_create(&c2, &so_pin, NULL,
						       &err), &err,
			   PAL_ERR_SYSTEM, "SoftHSM2 did not create the token");
		c2.token = NULL;
		setenv(PAL_KEYSTORE_SOFTHSM_ENV, saved, 1);
	}
	pal_keystore_close(ks);
	ks2 = open_ok(&c2);
	pal_keystore_close(ks2);

	/* A token of another label in the same directory, PIN from files. */
	{
		char so[8192 + 8], pin[8192 + 8];
		struct pal_keystore_pin sop = { NULL, so };
		FILE *f;

		snprintf(so, sizeof(so), "%s/so.pin", base);
		snprintf(pin, sizeof(pin), "%s/user.pin", base);
		f = fopen(so, "w");
		fputs(SO_PIN "\n", f);
		fclose(f);
		f = fopen(pin, "w");
		fputs("24681357\n", f);
		fclose(f);
		c2.token = "another";
		c2.pin.value = NULL;
		c2.pin.file = pin;
		assert_int_equal(pal_keystore_softhsm_create(&c2, &sop, NULL,
							     &err), 0);
		pal_keystore_close(open_ok(&c2));
		/* And the user PIN from the environment. */
		c2.pin.file = NULL;
		setenv(PAL_P11_PIN_ENV, "24681357", 1);
		pal_keystore_close(open_ok(&c2));
		unsetenv(PAL_P11_PIN_ENV);
	}
}

/* ---- mechanisms ---- */

/* SoftHSM2's function list with a mechanism list filtered. */
static CK_FUNCTION_LIST *real_f;
static CK_FUNCTION_LIST fake_f;
static CK_MECHANISM_TYPE hidden[4];
static size_t nhidden;

static CK_RV
fake_mech_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE *list, CK_ULONG *n)
{
	CK_MECHANISM_TYPE all[512];
	CK_ULONG got = 512, i, k = 0;
	size_t j;
	CK_RV rv = real_f->C_GetMechanismList(slot, all, &got);

	if (rv != CKR_OK)
		return rv;
	for (i = 0; i < got; i++) {
		for (j = 0; j < nhidden && hidden[j] != all[i]; j++)
			;
		if (j < nhidden)
			continue;
		if (list != NULL && k < *n)
			list[k] = all[i];
		k++;
	}
	if (list != NULL && k > *n)
		return CKR_BUFFER_TOO_SMALL;
	*n = k;
	return CKR_OK;
}

/* Probes ks again as if its token lacked the mechanisms given. */
static int
probe_without(struct pal_keystore *ks, struct pal_err *err, size_t n, ...)
{
	va_list ap;
	size_t i;
	int rc;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		hidden[i] = va_arg(ap, CK_MECHANISM_TYPE);
	va_end(ap);
	nhidden = n;
	real_f = ks->s.f;
	fake_f = *real_f;
	fake_f.C_GetMechanismList = fake_mech_list;
	ks->s.f = &fake_f;
	rc = pal_keystore_probe(ks, err);
	ks->s.f = real_f;
	return rc;
}

static void
probe_picks_wrap_pad(void **state)
{
	struct pal_keystore *ks;
	struct pal_err err;

	(void)state;
	ks = open_vault();
	assert_int_equal(pal_keystore_wrap_mech(ks),
			 PAL_KEYSTORE_MECH_AES_KEY_WRAP_PAD);
	assert_true(pal_keystore_mech_supported(ks,
		PAL_KEYSTORE_MECH_AES_KEY_WRAP_PAD));
	assert_true(pal_keystore_mech_supported(ks,
		PAL_KEYSTORE_MECH_AES_KEY_WRAP));
	assert_false(pal_keystore_mech_supported(ks, CKM_AES_GCM));
	assert_string_equal(pal_keystore_mech_name(
		PAL_KEYSTORE_MECH_AES_KEY_WRAP_PAD), "CKM_AES_KEY_WRAP_PAD");
	assert_null(pal_keystore_mech_name(0x7fffffffUL));

	/* Without RFC 5649, RFC 3394. */
	assert_int_equal(probe_without(ks, &err, 1, CKM_AES_KEY_WRAP_PAD), 0);
	assert_int_equal(pal_keystore_wrap_mech(ks),
			 PAL_KEYSTORE_MECH_AES_KEY_WRAP);
	assert_false(pal_keystore_mech_supported(ks,
		PAL_KEYSTORE_MECH_AES_KEY_WRAP_PAD));
	/* Without either: refused, naming what the token has. */
	expect_err(probe_without(ks, &err, 2, CKM_AES_KEY_WRAP_PAD,
				 CKM_AES_KEY_WRAP), &err, PAL_ERR_UNSUPPORTED,
		   "its wrapping mechanisms: ");
	assert_non_null(strstr(err.msg, "CKM_AES_CBC, "));
	assert_non_null(strstr(err.msg, "CKM_RSA_PKCS_OAEP"));
	assert_null(strstr(err.msg, "CKM_AES_KEY_WRAP,"));
	/* Without key generation. */
	expect_err(probe_without(ks, &err, 1, CKM_AES_KEY_GEN), &err,
		   PAL_ERR_UNSUPPORTED, "CKM_AES_KEY_GEN");
	/* Back to the real list. */
	assert_int_equal(probe_without(ks, &err, 0), 0);
	assert_int_equal(pal_keystore_wrap_mech(ks),
			 PAL_KEYSTORE_MECH_AES_KEY_WRAP_PAD);
	pal_keystore_close(ks);
}

/* ---- names and labels ---- */

static void
release_names_and_labels(void **state)
{
	static const char *const good[] = {
		"r1", "v1.2.3", "llama-3_8b+q4@2024=x:y", "A", "0",
	};
	static const char *const bad[] = {
		"", ".hidden", "-flag", "a/b", "a b", "a#2", "caf\xc3\xa9",
		"tab\t", "a\\b",
	};
	static const struct {
		const char *label;
		int r;
		const char *release;
		unsigned int gen;
	} labels[] = {
		{ "palisade:release:r", 1, "r", 1 },
		{ "palisade:release:r#2", 1, "r", 2 },
		{ "palisade:release:r#1000000", 1, "r", 1000000 },
		{ "palisade:release:r#1", -1, NULL, 0 },
		{ "palisade:release:r#02", -1, NULL, 0 },
		{ "palisade:release:r#", -1, NULL, 0 },
		{ "palisade:release:r#2#3", -1, NULL, 0 },
		{ "palisade:release:r#1000001", -1, NULL, 0 },
		{ "palisade:release:", -1, NULL, 0 },
		{ "palisade:release:a b", -1, NULL, 0 },
		{ "palisade:releas", 0, NULL, 0 },
		{ "log-key", 0, NULL, 0 },
	};
	char long_name[PAL_KEYSTORE_RELEASE_MAX + 2];
	char rel[PAL_KEYSTORE_RELEASE_MAX + 1];
	char label[PAL_KEYSTORE_LABEL_MAX + 1];
	struct pal_err err;
	unsigned int gen;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(pal_keystore_release_check(good[i], &err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pal_keystore_release_check(bad[i], &err) != PAL_ERR_INVALID)
			fail_msg("release name '%s' accepted", bad[i]);
	assert_int_equal(pal_keystore_release_check(NULL, &err),
			 PAL_ERR_INVALID);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[PAL_KEYSTORE_RELEASE_MAX] = '\0';
	assert_int_equal(pal_keystore_release_check(long_name, &err), 0);
	long_name[PAL_KEYSTORE_RELEASE_MAX] = 'x';
	long_name[PAL_KEYSTORE_RELEASE_MAX + 1] = '\0';
	assert_int_equal(pal_keystore_release_check(long_name, &err),
			 PAL_ERR_INVALID);

	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		int r = pal_keystore_label_parse(
			(const uint8_t *)labels[i].label,
			strlen(labels[i].label), rel, &gen);

		if (r != labels[i].r)
			fail_msg("label '%s': %d, want %d", labels[i].label, r,
				 labels[i].r);
		if (r != 1)
			continue;
		assert_string_equal(rel, labels[i].release);
		assert_int_equal(gen, labels[i].gen);
		/* Making the label again gives the same bytes. */
		pal_keystore_label_make(rel, gen, label);
		assert_string_equal(label, labels[i].label);
	}
	/* The longest label fits. */
	long_name[PAL_KEYSTORE_RELEASE_MAX] = '\0';
	pal_keystore_label_make(long_name, PAL_KEYSTORE_GENERATION_MAX, label);
	assert_int_equal(strlen(label), PAL_KEYSTORE_LABEL_MAX);
	assert_int_equal(pal_keystore_label_parse((const uint8_t *)label,
						  strlen(label), rel, &gen), 1);
	assert_int_equal(gen, PAL_KEYSTORE_GENERATION_MAX);
}

/* ---- KEKs ---- */

static void
kek_create_find_list(void **state)
{
	struct pal_kek k1, k2, f, *v = NULL;
	struct pal_keystore *ks;
	struct pal_err err;
	size_t n = 0, i;
	int seen = 0;

	(void)state;
	ks = open_vault();
	kek_create_ok(ks, "r1", &k1);
	assert_string_equal(k1.label, "palisade:release:r1");
	assert_string_equal(k1.release, "r1");
	assert_int_equal(k1.generation, 1);
	assert_int_equal(strlen(k1.id_hex), 32);
	kek_find_ok(ks, "r1", &f);
	assert_string_equal(f.label, k1.label);
	assert_memory_equal(f.id, k1.id, PAL_KEYSTORE_ID_LEN);
	assert_string_equal(f.id_hex, k1.id_hex);

	/* A second KEK for the release is refused. */
	expect_err(pal_keystore_kek_create(ks, "r1", &f, &err), &err,
		   PAL_ERR_INVALID, "release 'r1' already has");
	assert_non_null(strstr(err.msg, k1.id_hex));
	expect_err(pal_keystore_kek_create(ks, "a/b", &f, &err), &err,
		   PAL_ERR_INVALID, "release name");

	kek_create_ok(ks, "r2", &k2);
	assert_memory_not_equal(k1.id, k2.id, PAL_KEYSTORE_ID_LEN);
	expect_err(pal_keystore_kek_find(ks, "r3", &f, &err), &err,
		   PAL_ERR_INVALID, "release 'r3' has no key-encryption key");

	/* Listed, sorted; other objects on the token are not KEKs. */
	assert_int_equal(pal_keystore_kek_list(ks, &v, &n, &err), 0);
	for (i = 0; i < n; i++) {
		if (i > 0)
			assert_true(strcmp(v[i - 1].release, v[i].release) <=
				    0);
		if (strcmp(v[i].label, k1.label) == 0 &&
		    strcmp(v[i].id_hex, k1.id_hex) == 0)
			seen |= 1;
		if (strcmp(v[i].label, k2.label) == 0 &&
		    strcmp(v[i].id_hex, k2.id_hex) == 0)
			seen |= 2;
	}
	assert_int_equal(seen, 3);
	free(v);

	/* Found by label and id, as a sealed file names it. */
	assert_int_equal(pal_keystore_kek_lookup(ks, k2.label, k2.id,
						 sizeof(k2.id), &f, &err), 0);
	assert_string_equal(f.id_hex, k2.id_hex);
	expect_err(pal_keystore_kek_lookup(ks, k2.label, k1.id, sizeof(k1.id),
					   &f, &err), &err, PAL_ERR_INVALID,
		   "key not found");
	expect_err(pal_keystore_kek_lookup(ks, "log-key", k1.id, sizeof(k1.id),
					   &f, &err), &err, PAL_ERR_INVALID,
		   "not a vault KEK");
	expect_err(pal_keystore_kek_lookup(ks, k1.label, k1.id, 8, &f, &err),
		   &err, PAL_ERR_INVALID, "not a vault KEK");
	pal_keystore_close(ks);
}

static void
kek_cannot_leave_the_token(void **state)
{
	static const struct {
		CK_ATTRIBUTE_TYPE t;
		int want;
	} attrs[] = {
		{ CKA_TOKEN, 1 }, { CKA_PRIVATE, 1 }, { CKA_SENSITIVE, 1 },
		{ CKA_ALWAYS_SENSITIVE, 1 }, { CKA_EXTRACTABLE, 0 },
		{ CKA_NEVER_EXTRACTABLE, 1 }, { CKA_WRAP, 1 },
		{ CKA_UNWRAP, 1 }, { CKA_ENCRYPT, 0 }, { CKA_DECRYPT, 0 },
		{ CKA_SIGN, 0 }, { CKA_VERIFY, 0 }, { CKA_DERIVE, 0 },
		{ CKA_MODIFIABLE, 0 },
	};
	uint8_t value[64], out[64];
	CK_ATTRIBUTE a = { CKA_VALUE, value, sizeof(value) };
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE set = { CKA_DECRYPT, &yes, 1 };
	CK_MECHANISM mech = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	CK_ULONG outlen = sizeof(out);
	struct pal_keystore *ks;
	struct pal_kek k, other;
	struct pal_err err;
	size_t i;
	int v;
	CK_RV rv;

	(void)state;
	ks = open_vault();
	kek_create_ok(ks, "sensitive", &k);
	kek_create_ok(ks, "sensitive2", &other);
	rv = ks->s.f->C_GetAttributeValue(ks->s.h, k.handle, &a, 1);
	assert_int_equal(rv, CKR_ATTRIBUTE_SENSITIVE);
	assert_true(a.ulValueLen == CK_UNAVAILABLE_INFORMATION);
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		assert_int_equal(pal_p11_attr_bool(&ks->s, k.handle,
						   attrs[i].t, &v, &err), 0);
		if (v != attrs[i].want)
			fail_msg("attribute 0x%lx is %d", attrs[i].t, v);
	}
	/* Nobody can turn decryption on, or wrap the KEK out. */
	assert_int_not_equal(ks->s.f->C_SetAttributeValue(ks->s.h, k.handle,
							  &set, 1), CKR_OK);
	rv = ks->s.f->C_WrapKey(ks->s.h, &mech, other.handle, k.handle, out,
				&outlen);
	assert_int_equal(rv, CKR_KEY_UNEXTRACTABLE);
	pal_keystore_close(ks);
}

/* Objects with KEK labels that are not KEKs are named, not used. */
static void
planted_keys_are_refused(void **state)
{
	CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG len = 32;
	CK_BBOOL yes = CK_TRUE;
	uint8_t id[16] = { 1 };
	char label[64] = "palisade:release:planted";
	CK_ATTRIBUTE t[8] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 },
		{ CKA_EXTRACTABLE, &yes, 1 },
		{ CKA_LABEL, label, 0 }, { CKA_ID, id, sizeof(id) },
	};
	struct pal_kek f, *v = NULL;
	struct pal_keystore *ks;
	CK_OBJECT_HANDLE obj;
	struct pal_err err;
	size_t n = 0;

	(void)state;
	ks = open_vault();
	t[6].ulValueLen = strlen(label);
	assert_int_equal(ks->s.f->C_GenerateKey(ks->s.h, &mech, t, 8, &obj),
			 CKR_OK);
	expect_err(pal_keystore_kek_find(ks, "planted", &f, &err), &err,
		   PAL_ERR_INVALID, "'palisade:release:planted' on token "
		   "'palisade-vault' is not a vault KEK: it is not sensitive");
	expect_err(pal_keystore_kek_list(ks, &v, &n, &err), &err,
		   PAL_ERR_INVALID, "is not a vault KEK");
	expect_err(pal_keystore_kek_create(ks, "planted", &f, &err), &err,
		   PAL_ERR_INVALID, "is not a vault KEK");
	assert_int_equal(ks->s.f->C_DestroyObject(ks->s.h, obj), CKR_OK);

	/* A label that only looks like a KEK label. */
	snprintf(label, sizeof(label), "palisade:release:x#01");
	t[6].ulValueLen = strlen(label);
	assert_int_equal(ks->s.f->C_GenerateKey(ks->s.h, &mech, t, 8, &obj),
			 CKR_OK);
	expect_err(pal_keystore_kek_list(ks, &v, &n, &err), &err,
		   PAL_ERR_INVALID, "'palisade:release:x#01' on token "
		   "'palisade-vault' has a vault KEK's label prefix");
	/* ... which does not stop release x's own KEK from being used. */
	kek_create_ok(ks, "x", &f);
	kek_find_ok(ks, "x", &f);
	assert_int_equal(ks->s.f->C_DestroyObject(ks->s.h, obj), CKR_OK);
	assert_int_equal(pal_keystore_kek_list(ks, &v, &n, &err), 0);
	free(v);
	pal_keystore_close(ks);
}

/* ---- wrapping ---- */

static void
wrap_unwrap_round_trip(void **state)
{
	struct pal_wrapped_dek w, w2;
	struct pal_secmem *dek;
	struct pal_keystore *ks;
	struct pal_kek k;

	(void)state;
	ks = open_vault();
	kek_create_ok(ks, "round", &k);
	dek = dek_new();
	assert_true(pal_secmem_locked(dek));
	wrap_ok(ks, &k, dek, &w);
	assert_int_equal(w.mech, PAL_KEYSTORE_MECH_AES_KEY_WRAP_PAD);
	/* The wrap is not the key. */
	assert_memory_not_equal(w.bytes, pal_secmem_cdata(dek),
				PAL_KEYSTORE_DEK_LEN);
	unwrap_same(ks, &k, &w, dek);

	/* RFC 3394 too, on a token that has only that. */
	ks->wrap_mech = CKM_AES_KEY_WRAP;
	wrap_ok(ks, &k, dek, &w2);
	assert_int_equal(w2.mech, PAL_KEYSTORE_MECH_AES_KEY_WRAP);
	assert_memory_not_equal(w.bytes, w2.bytes, PAL_KEYSTORE_WRAPPED_LEN);
	ks->wrap_mech = CKM_AES_KEY_WRAP_PAD;
	unwrap_same(ks, &k, &w2, dek);
	pal_secmem_free(dek);

	/* No session objects are left behind. */
	{
		CK_BBOOL no = CK_FALSE;
		CK_ATTRIBUTE t = { CKA_TOKEN, &no, 1 };
		CK_OBJECT_HANDLE obj;
		struct pal_err err;
		int count;

		assert_int_equal(pal_p11_find(&ks->s, &t, 1, &obj, &count,
					      &err), 0);
		assert_int_equal(count, 0);
	}
	pal_keystore_close(ks);
}

static void
wrong_kek_and_tampering_fail(void **state)
{
	char hex[2 * PAL_KEYSTORE_DEK_LEN + 1];
	struct pal_wrapped_dek w, bad;
	struct pal_secmem *dek, *got;
	struct pal_keystore *ks;
	struct pal_kek a, b;
	struct pal_err err;
	size_t i;
	int bit;

	(void)state;
	ks = open_vault();
	kek_create_ok(ks, "alpha", &a);
	kek_create_ok(ks, "beta", &b);
	dek = dek_new();
	pal_hex_encode(pal_secmem_cdata(dek), PAL_KEYSTORE_DEK_LEN, hex);
	wrap_ok(ks, &a, dek, &w);

	/* Another release's KEK. */
	got = (struct pal_secmem *)&got;
	expect_err(pal_keystore_unwrap(ks, &b, &w, &got, &err), &err,
		   PAL_ERR_VERIFY, "unwrapping the data key with KEK "
		   "'palisade:release:beta': it does not open with this key");
	assert_null(got);
	assert_null(strstr(err.msg, hex));

	/* Every byte, two bits each. */
	for (i = 0; i < PAL_KEYSTORE_WRAPPED_LEN; i++) {
		for (bit = 0; bit < 8; bit += 7) {
			bad = w;
			bad.bytes[i] ^= (uint8_t)(1u << bit);
			if (pal_keystore_unwrap(ks, &a, &bad, &got, &err) !=
			    PAL_ERR_VERIFY)
				fail_msg("byte %zu bit %d: '%s'", i, bit,
					 err.msg);
			assert_null(got);
		}
	}
	/* Truncated, and a mechanism the token cannot unwrap with. */
	bad = w;
	bad.len = PAL_KEYSTORE_WRAPPED_LEN - 8;
	expect_err(pal_keystore_unwrap(ks, &a, &bad, &got, &err), &err,
		   PAL_ERR_VERIFY, "wrapped data key is 40 bytes");
	bad = w;
	bad.mech = CKM_AES_GCM;
	expect_err(pal_keystore_unwrap(ks, &a, &bad, &got, &err), &err,
		   PAL_ERR_UNSUPPORTED, "CKM_AES_GCM");
	/* The right mechanism number matters too. */
	bad = w;
	bad.mech = PAL_KEYSTORE_MECH_AES_KEY_WRAP;
	expect_err(pal_keystore_unwrap(ks, &a, &bad, &got, &err), &err,
		   PAL_ERR_VERIFY, "does not open");
	/* And the original still opens, whatever handle the caller kept. */
	unwrap_same(ks, &a, &w, dek);
	{
		struct pal_kek stale = a;

		stale.handle = b.handle;
		unwrap_same(ks, &stale, &w, dek);
	}
	pal_secmem_free(dek);
	pal_keystore_close(ks);
}

/* ---- shredding and rotation ---- */

static void
shred_destroys_the_key(void **state)
{
	char tokens[8192];
	struct pal_wrapped_dek w;
	struct pal_secmem *dek, *got = NULL;
	struct pal_keystore *ks;
	struct pal_kek k, f;
	struct pal_err err;
	size_t n = 9;
	int before;

	(void)state;
	snprintf(tokens, sizeof(tokens), "%s/tokens", vault);
	ks = open_vault();
	kek_create_ok(ks, "doomed", &k);
	dek = dek_new();
	wrap_ok(ks, &k, dek, &w);
	before = count_files(tokens, ".object");
	assert_int_equal(pal_keystore_shred(ks, "doomed", &n, &err), 0);
	assert_int_equal(n, 1);
	/* SoftHSM2 unlinked the object's file (see keystore.h). */
	assert_int_equal(count_files(tokens, ".object"), before - 1);

	expect_err(pal_keystore_unwrap(ks, &k, &w, &got, &err), &err,
		   PAL_ERR_INVALID, "key not found");
	assert_null(got);
	expect_err(pal_keystore_kek_find(ks, "doomed", &f, &err), &err,
		   PAL_ERR_INVALID, "release 'doomed' has no key-encryption "
		   "key on token 'palisade-vault' (never created, or "
		   "shredded)");
	expect_err(pal_keystore_shred(ks, "doomed", &n, &err), &err,
		   PAL_ERR_INVALID, "has no key-encryption key");
	assert_int_equal(n, 0);
	expect_err(pal_keystore_kek_destroy(ks, &k, &err), &err,
		   PAL_ERR_INVALID, "key not found");
	pal_keystore_close(ks);

	/* Gone for a new session too. */
	ks = open_vault();
	expect_err(pal_keystore_kek_find(ks, "doomed", &f, &err), &err,
		   PAL_ERR_INVALID, "has no key-encryption key");
	expect_err(pal_keystore_unwrap(ks, &k, &w, &got, &err), &err,
		   PAL_ERR_INVALID, "key not found");
	/* The release may have a new KEK, which does not open old wraps. */
	kek_create_ok(ks, "doomed", &f);
	assert_memory_not_equal(f.id, k.id, PAL_KEYSTORE_ID_LEN);
	expect_err(pal_keystore_unwrap(ks, &k, &w, &got, &err), &err,
		   PAL_ERR_INVALID, "key not found");
	{
		struct pal_kek same_label = f;

		memcpy(same_label.id, k.id, sizeof(k.id));
		expect_err(pal_keystore_unwrap(ks, &same_label, &w, &got,
					       &err), &err, PAL_ERR_INVALID,
			   "key not found");
	}
	expect_err(pal_keystore_unwrap(ks, &f, &w, &got, &err), &err,
		   PAL_ERR_VERIFY, "does not open");
	pal_secmem_free(dek);
	pal_keystore_close(ks);
}

static void
rotation_keeps_the_dek(void **state)
{
	struct pal_wrapped_dek w1, w2, w3;
	struct pal_kek k1, k2, k3, f, *v = NULL;
	struct pal_secmem *dek, *got = NULL;
	struct pal_keystore *ks;
	struct pal_err err;
	size_t n = 0, i, mine = 0;

	(void)state;
	ks = open_vault();
	kek_create_ok(ks, "rot", &k1);
	dek = dek_new();
	wrap_ok(ks, &k1, dek, &w1);

	/* Step 1: the next generation; both exist, the new one is current. */
	assert_int_equal(pal_keystore_kek_next(ks, "rot", &k2, &err), 0);
	assert_string_equal(k2.label, "palisade:release:rot#2");
	assert_int_equal(k2.generation, 2);
	kek_find_ok(ks, "rot", &f);
	assert_string_equal(f.id_hex, k2.id_hex);
	/* A second first KEK is still refused. */
	expect_err(pal_keystore_kek_create(ks, "rot", &f, &err), &err,
		   PAL_ERR_INVALID, "already has");

	/* Step 2: rewrap; step 3: destroy the old key. */
	assert_int_equal(pal_keystore_rewrap(ks, &k1, &w1, &k2, &w2, &err), 0);
	assert_memory_not_equal(w1.bytes, w2.bytes, PAL_KEYSTORE_WRAPPED_LEN);
	unwrap_same(ks, &k2, &w2, dek);
	assert_int_equal(pal_keystore_kek_destroy(ks, &k1, &err), 0);

	unwrap_same(ks, &k2, &w2, dek);
	expect_err(pal_keystore_unwrap(ks, &k1, &w1, &got, &err), &err,
		   PAL_ERR_INVALID, "key not found");
	expect_err(pal_keystore_unwrap(ks, &k2, &w1, &got, &err), &err,
		   PAL_ERR_VERIFY, "does not open");
	assert_int_equal(pal_keystore_kek_list(ks, &v, &n, &err), 0);
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].release, "rot") != 0)
			continue;
		mine++;
		assert_string_equal(v[i].label, "palisade:release:rot#2");
	}
	assert_int_equal(mine, 1);
	free(v);

	/* Again, and an interrupted rotation is shredded whole. */
	assert_int_equal(pal_keystore_kek_next(ks, "rot", &k3, &err), 0);
	assert_string_equal(k3.label, "palisade:release:rot#3");
	assert_int_equal(pal_keystore_rewrap(ks, &k2, &w2, &k3, &w3, &err), 0);
	unwrap_same(ks, &k3, &w3, dek);
	assert_int_equal(pal_keystore_shred(ks, "rot", &n, &err), 0);
	assert_int_equal(n, 2);
	expect_err(pal_keystore_unwrap(ks, &k2, &w2, &got, &err), &err,
		   PAL_ERR_INVALID, "key not found");
	expect_err(pal_keystore_unwrap(ks, &k3, &w3, &got, &err), &err,
		   PAL_ERR_INVALID, "key not found");
	expect_err(pal_keystore_kek_next(ks, "rot", &f, &err), &err,
		   PAL_ERR_INVALID, "has no key-encryption key");
	pal_secmem_free(dek);
	pal_keystore_close(ks);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_is_created_once),
		cmocka_unit_test(token_refusals),
		cmocka_unit_test(one_configuration_at_a_time),
		cmocka_unit_test(probe_picks_wrap_pad),
		cmocka_unit_test(release_names_and_labels),
		cmocka_unit_test(kek_create_find_list),
		cmocka_unit_test(kek_cannot_leave_the_token),
		cmocka_unit_test(planted_keys_are_refused),
		cmocka_unit_test(wrap_unwrap_round_trip),
		cmocka_unit_test(wrong_kek_and_tampering_fail),
		cmocka_unit_test(shred_destroys_the_key),
		cmocka_unit_test(rotation_keeps_the_dek),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
