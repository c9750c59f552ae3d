/*
 * keystore_init.c - creating the vault's SoftHSM2 token.
 *
 * The steps of softhsm2-util --init-token --free, through PKCS#11 so that
 * no program is run: C_InitToken on a slot whose token is not
 * initialized, under the SO PIN and the vault's label; then, logged in as
 * SO, C_InitPIN for the user PIN.  A label that a token in the directory
 * already has is refused before anything is written to a token: tokens are
 * chosen by label, and two with one label would make every later open
 * fail.
 *
 * SoftHSM2 2.6 offers one free slot per C_Initialize: a second token made
 * in the same directory needs the module to be finalized first (every
 * keystore on it closed).  After C_InitToken, the token directory must
 * hold one more token than before: if it does not, SoftHSM2 was reading
 * another configuration, and the caller is told so rather than handed a
 * token somewhere else.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "keystore_int.h"

/* More slots than SoftHSM2 has; bounds the list. */
#define SLOTS_MAX 1024

struct pins {
	struct pal_buf so;
	struct pal_buf user;
};

/* Number of subdirectories (tokens) of the token directory, or -1. */
static long
count_tokens(const char *tokens)
{
	struct dirent *e;
	long n = 0;
	DIR *d = opendir(tokens);

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_type == DT_DIR && strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int
get_pins(const struct pal_keystore_config *c,
	 const struct pal_keystore_pin *so, struct pins *p,
	 struct pal_err *err)
{
	int have = 0, rc;

	pal_buf_init(&p->so, 0);
	pal_buf_init(&p->user, 0);
	if ((rc = pal_keystore_pin_get(so, PAL_KEYSTORE_SO_PIN_ENV, &p->so,
				       &have, err)) < 0)
		return pal_err_wrap(err, rc, "SO PIN: ");
	if (!have)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "creating the vault token needs an SO PIN: "
				   "give one, or set %s",
				   PAL_KEYSTORE_SO_PIN_ENV);
	if ((rc = pal_keystore_pin_get(&c->pin, PAL_P11_PIN_ENV, &p->user,
				       &have, err)) < 0)
		return pal_err_wrap(err, rc, "user PIN: ");
	if (!have)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "creating the vault token needs a user "
				   "PIN: give one, or set %s", PAL_P11_PIN_ENV);
	return 0;
}

static int
same_label(const CK_TOKEN_INFO *ti, const CK_UTF8CHAR want[32])
{
	return memcmp(ti->label, want, 32) == 0;
}

/* Refuses a second token with the label; finds a free slot. */
static int
choose_slot(CK_FUNCTION_LIST *f, const char *label, const char *dir,
	    CK_SLOT_ID *slot, struct pal_err *err)
{
	CK_SLOT_ID slots[SLOTS_MAX];
	CK_UTF8CHAR want[32];
	CK_TOKEN_INFO ti;
	CK_ULONG n = SLOTS_MAX, i;
	int found = 0;
	CK_RV rv;

	pal_keystore_label_pad(label, want);
	if ((rv = f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		return pal_p11_fail(err, rv, "C_GetSlotList");
	for (i = 0; i < n && i < SLOTS_MAX; i++) {
		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if ((ti.flags & CKF_TOKEN_INITIALIZED) &&
		    same_label(&ti, want))
			return pal_err_set(err, PAL_ERR_INVALID,
					   "a token labelled '%s' already "
					   "exists in %s%s", label, dir,
					   ti.flags & CKF_USER_PIN_INITIALIZED ?
					   "" : " (without a user PIN: an "
					   "interrupted init? remove its "
					   "directory under tokens/ and try "
					   "again)");
		if (!(ti.flags & CKF_TOKEN_INITIALIZED) && !found) {
			*slot = slots[i];
			found = 1;
		}
	}
	if (!found)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "SoftHSM2 has no free slot for a new token "
				   "in %s (it adds one when it is next "
				   "loaded: close the other tokens first)",
				   dir);
	return 0;
}

/* Logs in as SO and sets the user PIN. */
static int
set_user_pin(CK_FUNCTION_LIST *f, CK_SLOT_ID slot, const struct pins *p,
	     struct pal_err *err)
{
	CK_SESSION_HANDLE h;
	CK_RV rv;
	int rc = 0;

	rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
			      NULL, NULL, &h);
	if (rv != CKR_OK)
		return pal_p11_fail(err, rv, "C_OpenSession");
	rv = f->C_Login(h, CKU_SO, p->so.p, (CK_ULONG)p->so.len);
	if (rv != CKR_OK) {
		rc = pal_p11_fail(err, rv, "logging in as SO");
	} else {
		rv = f->C_InitPIN(h, p->user.p, (CK_ULONG)p->user.len);
		if (rv != CKR_OK)
			rc = pal_p11_fail(err, rv, "C_InitPIN");
		(void)f->C_Logout(h);
	}
	(void)f->C_CloseSession(h);
	return rc;
}

/* The new token must carry the label and a user PIN; reads its serial. */
static int
check_new(CK_FUNCTION_LIST *f, CK_SLOT_ID slot, const char *label,
	  char serial[PAL_KEYSTORE_SERIAL_MAX + 1], struct pal_err *err)
{
	CK_UTF8CHAR want[32];
	CK_TOKEN_INFO ti;
	size_t n = sizeof(ti.serialNumber), i;
	CK_RV rv;

	pal_keystore_label_pad(label, want);
	if ((rv = f->C_GetTokenInfo(slot, &ti)) != CKR_OK)
		return pal_p11_fail(err, rv, "C_GetTokenInfo");
	if (!same_label(&ti, want) || !(ti.flags & CKF_TOKEN_INITIALIZED) ||
	    !(ti.flags & CKF_USER_PIN_INITIALIZED))
		return pal_err_set(err, PAL_ERR_CRYPTO,
				   "the new token does not report label '%s' "
				   "and a user PIN", label);
	while (n > 0 && (ti.serialNumber[n - 1] == ' ' ||
			 ti.serialNumber[n - 1] == '\0'))
		n--;
	for (i = 0; i < n; i++)
		if (ti.serialNumber[i] < 0x21 || ti.serialNumber[i] > 0x7e)
			return pal_err_set(err, PAL_ERR_CRYPTO,
					   "the new token's serial number is "
					   "not printable");
	if (serial != NULL) {
		memcpy(serial, ti.serialNumber, n);
		serial[n] = '\0';
	}
	return 0;
}

static int
create(CK_FUNCTION_LIST *f, const char *label, const char *dir,
       const struct pins *p, char serial[PAL_KEYSTORE_SERIAL_MAX + 1],
       struct pal_err *err)
{
	CK_UTF8CHAR padded[32];
	CK_SLOT_ID slot = 0;
	CK_RV rv;
	int rc;

	if ((rc = choose_slot(f, label, dir, &slot, err)) < 0)
		return rc;
	pal_keystore_label_pad(label, padded);
	rv = f->C_InitToken(slot, p->so.p, (CK_ULONG)p->so.len, padded);
	if (rv != CKR_OK)
		return pal_p11_fail(err, rv, "C_InitToken");
	if ((rc = set_user_pin(f, slot, p, err)) < 0)
		return rc;
	return check_new(f, slot, label, serial, err);
}

int
pal_keystore_softhsm_create(const struct pal_keystore_config *c,
			    const struct pal_keystore_pin *so_pin,
			    char serial[PAL_KEYSTORE_SERIAL_MAX + 1],
			    struct pal_err *err)
{
	const char *label = c->token != NULL ? c->token :
		PAL_KEYSTORE_TOKEN_LABEL;
	const char *module = c->module != NULL ? c->module :
		PAL_P11_DEFAULT_MODULE;
	struct pal_p11_module *mod = NULL;
	char tokens[PATH_MAX];
	struct pins p;
	long before;
	int rc;

	if (serial != NULL)
		serial[0] = '\0';
	memset(&p, 0, sizeof(p));
	if (c->softhsm_dir == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "creating a vault token needs its "
				   "directory");
	if ((rc = pal_keystore_token_label_check(label, err)) < 0 ||
	    (rc = get_pins(c, so_pin, &p, err)) < 0 ||
	    (rc = pal_keystore_softhsm_prepare(c->softhsm_dir, module, tokens,
					       err)) < 0 ||
	    (rc = pal_p11_module_get(module, &mod, err)) < 0)
		goto out;
	before = count_tokens(tokens);
	if ((rc = create(pal_p11_module_fn(mod), label, c->softhsm_dir, &p,
			 serial, err)) == 0 &&
	    (before < 0 || count_tokens(tokens) != before + 1))
		rc = pal_err_set(err, PAL_ERR_SYSTEM,
				 "SoftHSM2 did not create the token in %s: it "
				 "reads another configuration (%s is read "
				 "once per process)", tokens,
				 PAL_KEYSTORE_SOFTHSM_ENV);
out:
	pal_p11_module_put(mod);
	pal_buf_free_secret(&p.so);
	pal_buf_free_secret(&p.user);
	return rc;
}
