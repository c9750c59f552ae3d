/*
 * keystore.c - opening the vault's token.
 *
 * The configuration becomes a parsed pkcs11 URI (token, serial,
 * module-path, pin-value or pin-source) built in memory, so that the
 * token is found, and the PIN read and wiped, exactly as for a signing
 * key (pkcs11_token.c, pkcs11_pin.c).  The URI is never printed; the PIN
 * in it is wiped by pal_p11_uri_free.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/text.h"
#include "keystore_int.h"

/* Copies s into *dst (NULL stays NULL); 0 or PAL_ERR_NOMEM. */
static int
dup_field(char **dst, const char *s, struct pal_err *err)
{
	if (s != NULL && (*dst = strdup(s)) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	return 0;
}

static int
check_pin(const struct pal_keystore_pin *p, const char *what,
	  struct pal_err *err)
{
	if (p->value != NULL && p->file != NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "%s: give a PIN or a PIN file, not both",
				   what);
	if ((p->value != NULL && p->value[0] == '\0') ||
	    (p->file != NULL && p->file[0] == '\0'))
		return pal_err_set(err, PAL_ERR_INVALID, "%s: empty %s",
				   what, p->value != NULL ? "PIN" :
				   "PIN file name");
	return 0;
}

/* A URI with only the PIN fields of p; caller frees. */
static int
pin_uri(const struct pal_keystore_pin *p, struct pal_p11_uri **out,
	struct pal_err *err)
{
	struct pal_p11_uri *u = calloc(1, sizeof(*u));
	int rc;

	*out = NULL;
	if (u == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if ((rc = dup_field(&u->pin_value, p->value, err)) < 0 ||
	    (rc = dup_field(&u->pin_source, p->file, err)) < 0) {
		pal_p11_uri_free(u);
		return rc;
	}
	*out = u;
	return 0;
}

int
pal_keystore_pin_get(const struct pal_keystore_pin *p, const char *env,
		     struct pal_buf *pin, int *have, struct pal_err *err)
{
	struct pal_p11_uri *u = NULL;
	const char *e;
	int rc;

	pal_buf_init(pin, 256);
	*have = 0;
	if ((rc = check_pin(p, "PIN", err)) < 0)
		return rc;
	if (p->value == NULL && p->file == NULL) {
		/* pkcs11_pin.c knows PAL_P11_PIN_ENV only. */
		if ((e = getenv(env)) == NULL || *e == '\0')
			return 0;
		if (pal_buf_puts(pin, e) < 0)
			return pal_err_set(err, PAL_ERR_LIMIT,
					   "PIN in %s is too long", env);
		*have = 1;
		return 0;
	}
	if ((rc = pin_uri(p, &u, err)) == 0)
		rc = pal_p11_pin_get(u, pin, have, err);
	pal_p11_uri_free(u);
	return rc;
}

/* The URI the configuration amounts to; caller frees. */
static int
config_uri(const struct pal_keystore_config *c, struct pal_p11_uri **out,
	   struct pal_err *err)
{
	struct pal_p11_uri *u = NULL;
	const char *token = c->token != NULL ? c->token :
		PAL_KEYSTORE_TOKEN_LABEL;
	int rc;

	if ((rc = check_pin(&c->pin, "user PIN", err)) < 0 ||
	    (rc = pin_uri(&c->pin, &u, err)) < 0)
		return rc;
	if ((rc = dup_field(&u->token, token, err)) < 0 ||
	    (rc = dup_field(&u->serial, c->serial, err)) < 0 ||
	    (rc = dup_field(&u->module_path, c->module != NULL ? c->module :
			    PAL_P11_DEFAULT_MODULE, err)) < 0) {
		pal_p11_uri_free(u);
		return rc;
	}
	*out = u;
	return 0;
}

/* The slot of the session, and the token's serial for messages. */
static int
session_token(struct pal_keystore *ks, struct pal_err *err)
{
	CK_SESSION_INFO si;
	CK_TOKEN_INFO ti;
	struct pal_buf b;
	size_t n = sizeof(ti.serialNumber);
	CK_RV rv;

	if ((rv = ks->s.f->C_GetSessionInfo(ks->s.h, &si)) != CKR_OK)
		return pal_p11_fail(err, rv, "C_GetSessionInfo");
	ks->slot = si.slotID;
	if ((rv = ks->s.f->C_GetTokenInfo(ks->slot, &ti)) != CKR_OK)
		return pal_p11_fail(err, rv, "C_GetTokenInfo");
	while (n > 0 && (ti.serialNumber[n - 1] == ' ' ||
			 ti.serialNumber[n - 1] == '\0'))
		n--;
	pal_buf_init(&b, sizeof(ks->serial) - 1);
	if (pal_text_escape(&b, (const char *)ti.serialNumber, n) == 0 &&
	    b.p != NULL)
		memcpy(ks->serial, b.p, b.len + 1);
	pal_buf_free(&b);
	return 0;
}

int
pal_keystore_open(const struct pal_keystore_config *c,
		  struct pal_keystore **out, struct pal_err *err)
{
	struct pal_p11_uri *u = NULL;
	struct pal_keystore *ks;
	int rc;

	*out = NULL;
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if ((c->softhsm_dir != NULL &&
	     (rc = pal_keystore_softhsm_use(c->softhsm_dir, c->module,
					    err)) < 0) ||
	    (rc = config_uri(c, &u, err)) < 0)
		goto out;
	rc = pal_p11_session_open(u, 1, PAL_P11_LOGIN_NEEDED, &ks->s, err);
	pal_p11_uri_free(u);
	if (rc < 0) {
		rc = pal_err_wrap(err, rc, "vault token: ");
		goto out;
	}
	if ((rc = session_token(ks, err)) < 0 ||
	    (rc = pal_keystore_probe(ks, err)) < 0)
		goto out;
	*out = ks;
	ks = NULL;
out:
	pal_keystore_close(ks);
	return rc;
}

void
pal_keystore_close(struct pal_keystore *ks)
{
	if (ks == NULL)
		return;
	if (ks->s.f != NULL)
		pal_p11_session_close(&ks->s);
	free(ks);
}

unsigned long
pal_keystore_wrap_mech(const struct pal_keystore *ks)
{
	return ks->wrap_mech;
}

int
pal_keystore_mech_supported(const struct pal_keystore *ks,
			    unsigned long mech)
{
	return (mech == CKM_AES_KEY_WRAP_PAD && ks->has_wrap_pad) ||
		(mech == CKM_AES_KEY_WRAP && ks->has_wrap);
}

const char *
pal_keystore_token_label(const struct pal_keystore *ks)
{
	return ks->s.label;
}

const char *
pal_keystore_token_serial(const struct pal_keystore *ks)
{
	return ks->serial;
}
