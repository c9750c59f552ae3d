/*
 * prepare.c - the state directory of the built-in configuration
 * (gateway.h): what `palisade serve` without --config needs, made on
 * first use and kept after.
 *
 *	STATE/tls/server.pem, server.key	the listener's self-signed pair
 *	STATE/tls/admin.pem, admin.key		the admin listener's pair
 *	STATE/tls/admin-ca.pem			the CA admin clients need
 *	STATE/tls/admin-client.pem, .key	the operator's admin client
 *	STATE/keys.db				the API key store
 *	STATE/log/				the Palisade log and its key
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "palisade/apikey.h"
#include "palisade/gateway.h"
#include "palisade/tlog.h"
#include "gw_int.h"

/* 825 days in all (the CA/Browser limit), counting the 5 minutes of
   backdating selfcert.c gives every certificate. */
#define CERT_DAYS 824

static int
make_dir(const char *path, struct pal_err *e)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return pal_err_set(e, PAL_ERR_IO, "cannot create %s: %s", path,
			   strerror(errno));
}

static int
join(char *out, size_t cap, const char *dir, const char *name,
     struct pal_err *e)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= cap)
		return pal_err_set(e, PAL_ERR_LIMIT, "path too long: %s/%s",
				   dir, name);
	return 0;
}

static int
prepare_tls(const char *dir, struct pal_err *e)
{
	char tls[4096], cert[4200], key[4200], ca[4200], acert[4200],
		akey[4200], ccert[4200], ckey[4200];
	struct gw_admin_pki pki = { ca, acert, akey, ccert, ckey };
	int rc = join(tls, sizeof(tls), dir, "tls", e);

	if (rc == 0)
		rc = make_dir(tls, e);
	if (rc == 0)
		rc = join(cert, sizeof(cert), tls, "server.pem", e) ||
		     join(key, sizeof(key), tls, "server.key", e) ||
		     join(ca, sizeof(ca), tls, "admin-ca.pem", e) ||
		     join(acert, sizeof(acert), tls, "admin.pem", e) ||
		     join(akey, sizeof(akey), tls, "admin.key", e) ||
		     join(ccert, sizeof(ccert), tls, "admin-client.pem", e) ||
		     join(ckey, sizeof(ckey), tls, "admin-client.key", e)
			     ? PAL_ERR_LIMIT : 0;
	if (rc == 0)
		rc = gw_selfcert_ensure(cert, key, CERT_DAYS, e);
	if (rc == 0)
		rc = gw_admin_pki_ensure(&pki, CERT_DAYS, e);
	return rc;
}

static int
prepare_keys(const char *dir, struct pal_err *e)
{
	char path[4200];
	struct pal_apikey_store *s = NULL;
	int rc = join(path, sizeof(path), dir, "keys.db", e);

	if (rc == 0)
		rc = pal_apikey_store_open(path, PAL_APIKEY_OPEN_CREATE, &s, e);
	pal_apikey_store_close(s);
	return rc;
}

static int
prepare_log(const char *dir, struct pal_err *e)
{
	char path[4200], ckpt[4300];
	int rc = join(path, sizeof(path), dir, "log", e);

	if (rc == 0)
		rc = join(ckpt, sizeof(ckpt), path, "checkpoint", e);
	if (rc == 0 && access(ckpt, F_OK) != 0)
		rc = pal_log_init(path, "palisade.serve/log", NULL, e);
	return rc;
}

int
pal_gw_prepare_state(const char *dir, struct pal_err *e)
{
	int rc = make_dir(dir, e);

	if (rc == 0)
		rc = prepare_tls(dir, e);
	if (rc == 0)
		rc = prepare_keys(dir, e);
	if (rc == 0)
		rc = prepare_log(dir, e);
	if (rc < 0)
		pal_err_wrap(e, rc, "state directory %s: ", dir);
	return rc;
}
