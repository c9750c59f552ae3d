/*
 * pkcs11_token.c - from a URI to a logged-in session on one token.
 *
 * The module is the URI's module-path or PAL_P11_DEFAULT_MODULE; it must
 * be a path (a bare name would send dlopen searching the library path).
 * The token is the one initialized token, in a slot with a token present,
 * that every token, slot and library attribute of the URI matches: none or
 * several are errors, never a guess.  CK_INFO, CK_SLOT_INFO and
 * CK_TOKEN_INFO fields are blank-padded; they are compared with the URI's
 * values after their padding is dropped.  Token labels are escaped before
 * they go into a message, since the token chose them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/text.h"
#include "pkcs11_int.h"

/* More slots than any module has; bounds an allocation the module sizes. */
#define SLOTS_MAX 1024

/* The token a URI matched. */
struct match {
	int count;
	CK_SLOT_ID slot;
	CK_TOKEN_INFO info;
	struct pal_buf seen;	/* labels of the tokens present, for errors */
};

/* Length of a blank- (or NUL-) padded field without its padding. */
static size_t
unpadded(const CK_UTF8CHAR *f, size_t size)
{
	while (size > 0 && (f[size - 1] == ' ' || f[size - 1] == '\0'))
		size--;
	return size;
}

/* 1 when want is absent or equals the padded field f. */
static int
field_is(const CK_UTF8CHAR *f, size_t size, const char *want)
{
	size_t n = unpadded(f, size);

	return want == NULL || (strlen(want) == n && memcmp(f, want, n) == 0);
}

/* The escaped, unpadded text of a field, for messages. */
static void
field_text(const CK_UTF8CHAR *f, size_t size, char *out, size_t cap)
{
	struct pal_buf b;

	pal_buf_init(&b, cap - 1);
	out[0] = '\0';
	if (pal_text_escape(&b, (const char *)f, unpadded(f, size)) == 0 &&
	    b.p != NULL)
		memcpy(out, b.p, b.len + 1);
	pal_buf_free(&b);
}

static int
module_path(const struct pal_p11_uri *u, const char **path,
	    struct pal_err *err)
{
	if (u->module_path == NULL && u->module_name != NULL)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "pkcs11 URI: module-name is not supported; "
				   "give module-path");
	*path = u->module_path != NULL ? u->module_path :
		PAL_P11_DEFAULT_MODULE;
	if (strchr(*path, '/') == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "pkcs11 URI: module-path %s is not a path",
				   *path);
	return 0;
}

static int
check_library(CK_FUNCTION_LIST *f, const struct pal_p11_uri *u,
	      const char *path, struct pal_err *err)
{
	CK_INFO info;
	CK_RV rv;

	if (u->lib_manufacturer == NULL && u->lib_description == NULL &&
	    !u->has_lib_version)
		return 0;
	if ((rv = f->C_GetInfo(&info)) != CKR_OK)
		return pal_p11_fail(err, rv, "C_GetInfo");
	if (!field_is(info.manufacturerID, sizeof(info.manufacturerID),
		      u->lib_manufacturer) ||
	    !field_is(info.libraryDescription,
		      sizeof(info.libraryDescription), u->lib_description) ||
	    (u->has_lib_version &&
	     (info.libraryVersion.major != u->lib_major ||
	      info.libraryVersion.minor != u->lib_minor)))
		return pal_err_set(err, PAL_ERR_INVALID,
				   "PKCS#11 module %s does not match the "
				   "URI's library attributes", path);
	return 0;
}

static int
slot_matches(CK_FUNCTION_LIST *f, CK_SLOT_ID slot,
	     const struct pal_p11_uri *u)
{
	CK_SLOT_INFO si;

	if (u->has_slot_id && slot != u->slot_id)
		return 0;
	if (u->slot_description == NULL && u->slot_manufacturer == NULL)
		return 1;
	if (f->C_GetSlotInfo(slot, &si) != CKR_OK)
		return 0;
	return field_is(si.slotDescription, sizeof(si.slotDescription),
			u->slot_description) &&
		field_is(si.manufacturerID, sizeof(si.manufacturerID),
			 u->slot_manufacturer);
}

static int
token_matches(const CK_TOKEN_INFO *ti, const struct pal_p11_uri *u)
{
	return field_is(ti->label, sizeof(ti->label), u->token) &&
		field_is(ti->manufacturerID, sizeof(ti->manufacturerID),
			 u->manufacturer) &&
		field_is(ti->serialNumber, sizeof(ti->serialNumber),
			 u->serial) &&
		field_is(ti->model, sizeof(ti->model), u->model);
}

/* Looks at one slot's token, noting its label and whether it matches. */
static void
consider(CK_FUNCTION_LIST *f, CK_SLOT_ID slot, const struct pal_p11_uri *u,
	 struct match *m)
{
	CK_TOKEN_INFO ti;
	char label[sizeof(ti.label) * 4 + 1];

	if (f->C_GetTokenInfo(slot, &ti) != CKR_OK ||
	    !(ti.flags & CKF_TOKEN_INITIALIZED))
		return;
	field_text(ti.label, sizeof(ti.label), label, sizeof(label));
	(void)pal_buf_printf(&m->seen, "%s'%s'", m->seen.len ? ", " : "",
			     label);
	if (!slot_matches(f, slot, u) || !token_matches(&ti, u))
		return;
	if (m->count++ == 0) {
		m->slot = slot;
		m->info = ti;
	}
}

static int
find_token(CK_FUNCTION_LIST *f, const struct pal_p11_uri *u,
	   const char *path, struct match *m, struct pal_err *err)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0, i;
	CK_RV rv;
	int rc = 0;

	if ((rv = f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK)
		return pal_p11_fail(err, rv, "C_GetSlotList");
	if (n > SLOTS_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "PKCS#11 module %s has %lu slots", path,
				   (unsigned long)n);
	if (n > 0 && (slots = calloc(n, sizeof(*slots))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (n > 0 && (rv = f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		rc = pal_p11_fail(err, rv, "C_GetSlotList");
	for (i = 0; rc == 0 && i < n; i++)
		consider(f, slots[i], u, m);
	free(slots);
	if (rc == 0 && m->count == 0)
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "token not found: no token of PKCS#11 module "
				 "%s matches the URI (tokens present: %s)",
				 path, m->seen.len ? (char *)m->seen.p :
				 "none");
	else if (rc == 0 && m->count > 1)
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "%d tokens match the URI (%s); name one with "
				 "token= or serial=", m->count,
				 (char *)m->seen.p);
	return rc;
}

/*
 * Logs in with the PIN the URI gives, wiping it at once.  Without one,
 * a token that needs a login is refused unless it has a PIN pad.
 */
static int
login(struct pal_p11_session *s, const struct pal_p11_uri *u,
      const CK_TOKEN_INFO *ti, enum pal_p11_login mode,
      struct pal_err *err)
{
	char what[200];
	struct pal_buf pin;
	int have, rc;
	CK_RV rv;

	if ((rc = pal_p11_pin_get(u, &pin, &have, err)) < 0) {
		pal_buf_free_secret(&pin);
		return rc;
	}
	if (have) {
		rv = s->f->C_Login(s->h, CKU_USER, pin.p, (CK_ULONG)pin.len);
	} else if (mode == PAL_P11_LOGIN_IF_PIN ||
		   !(ti->flags & CKF_LOGIN_REQUIRED)) {
		return 0;
	} else if (ti->flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
		rv = s->f->C_Login(s->h, CKU_USER, NULL, 0);
	} else {
		return pal_err_set(err, PAL_ERR_INVALID,
				   "token '%s' needs a PIN: give pin-source "
				   "or pin-value in the URI, or set %s",
				   s->label, PAL_P11_PIN_ENV);
	}
	pal_buf_free_secret(&pin);
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
		return 0;
	snprintf(what, sizeof(what), "login to token '%s'", s->label);
	return pal_p11_fail(err, rv, what);
}

int
pal_p11_session_open(const struct pal_p11_uri *u, int rw,
		     enum pal_p11_login mode, struct pal_p11_session *s,
		     struct pal_err *err)
{
	struct match m;
	const char *path = NULL;
	CK_RV rv;
	int rc;

	memset(s, 0, sizeof(*s));
	memset(&m, 0, sizeof(m));
	pal_buf_init(&m.seen, PAL_ERR_MSG_MAX / 2);
	if ((rc = module_path(u, &path, err)) < 0 ||
	    (rc = pal_p11_module_get(path, &s->mod, err)) < 0)
		goto out;
	s->f = pal_p11_module_fn(s->mod);
	if ((rc = check_library(s->f, u, path, err)) < 0 ||
	    (rc = find_token(s->f, u, path, &m, err)) < 0)
		goto out;
	field_text(m.info.label, sizeof(m.info.label), s->label,
		   sizeof(s->label));
	rv = s->f->C_OpenSession(m.slot, CKF_SERIAL_SESSION |
				 (rw ? CKF_RW_SESSION : 0), NULL, NULL,
				 &s->h);
	if (rv != CKR_OK) {
		rc = pal_p11_fail(err, rv, "C_OpenSession");
		goto out;
	}
	rc = login(s, u, &m.info, mode, err);
out:
	pal_buf_free(&m.seen);
	if (rc < 0)
		pal_p11_session_close(s);
	return rc;
}

void
pal_p11_session_close(struct pal_p11_session *s)
{
	/* Closing the last session logs the user out (PKCS#11 5.6). */
	if (s->f != NULL && s->h != CK_INVALID_HANDLE)
		(void)s->f->C_CloseSession(s->h);
	pal_p11_module_put(s->mod);
	memset(s, 0, sizeof(*s));
}
