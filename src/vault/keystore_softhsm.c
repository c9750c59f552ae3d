/*
 * keystore_softhsm.c - the embedded default token's home: a directory of
 * the vault's own holding softhsm2.conf and tokens/.
 *
 *   DIR/softhsm2.conf   directories.tokendir = DIR/tokens (absolute)
 *                       objectstore.backend = file
 *                       log.level = ERROR
 *   DIR/tokens/         SoftHSM2's token directory: one subdirectory per
 *                       token, one file per object
 *
 * SoftHSM2 finds its configuration through the environment variable
 * SOFTHSM2_CONF, read in C_Initialize (SimpleConfigLoader), that is when
 * the first user in this process loads the module.  Setting it later, while
 * the module is initialized, changes nothing: SoftHSM2 would go on serving
 * the tokens of the first configuration, possibly another vault's token
 * with the same label.  So before setting it, the module (if loaded) is
 * asked whether it is initialized (C_GetInfo answers
 * CKR_CRYPTOKI_NOT_INITIALIZED when not), and an initialized module under
 * another SOFTHSM2_CONF is refused.
 *
 * The directory path goes into the configuration file, one line per key,
 * so control characters in it are refused.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "palisade/file.h"
#include "keystore_int.h"

#define CONF_NAME "softhsm2.conf"
#define CONF_MAX 8192

/* DIR made absolute, with no control characters. */
static int
abs_dir(const char *dir, char out[PATH_MAX], struct pal_err *err)
{
	size_t i;

	if (realpath(dir, out) == NULL)
		return pal_err_set(err, PAL_ERR_IO, "vault token directory "
				   "%s: %s", dir, strerror(errno));
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			return pal_err_set(err, PAL_ERR_INVALID,
					   "vault token directory %s: control "
					   "characters in the path", dir);
	return 0;
}

/* The configuration text for the absolute directory dir. */
static int
conf_text(const char *dir, struct pal_buf *b, struct pal_err *err)
{
	pal_buf_init(b, CONF_MAX);
	if (pal_buf_printf(b, "# The vault's own SoftHSM2 token, written by "
			   "palisade.\ndirectories.tokendir = %s/tokens\n"
			   "objectstore.backend = file\nlog.level = ERROR\n",
			   dir) < 0)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "vault token directory name too long");
	return 0;
}

/* Path of a file in the directory. */
static int
in_dir(const char *dir, const char *name, char out[PATH_MAX],
       struct pal_err *err)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "path too long: %s/%s",
				   dir, name);
	return 0;
}

/* 0 when the file at path holds exactly want. */
static int
conf_matches(const char *path, const struct pal_buf *want,
	     struct pal_err *err)
{
	uint8_t *have = NULL;
	size_t len = 0;
	int rc = pal_file_read(path, CONF_MAX, &have, &len, err);

	if (rc == 0 && (len != want->len || memcmp(have, want->p, len) != 0))
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "%s exists and is not the configuration "
				 "palisade writes for this directory", path);
	free(have);
	return rc;
}

/* Whether SoftHSM2 is loaded here and initialized (by anyone). */
static int
module_initialized(const char *module)
{
	CK_C_GetFunctionList get;
	CK_FUNCTION_LIST *f = NULL;
	CK_INFO info;
	void *dl = dlopen(module, RTLD_NOW | RTLD_NOLOAD), *sym;
	int yes = 0;

	if (dl == NULL)
		return 0;
	if ((sym = dlsym(dl, "C_GetFunctionList")) != NULL) {
		memcpy(&get, &sym, sizeof(get));
		yes = get(&f) == CKR_OK && f != NULL &&
			f->C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	dlclose(dl);
	return yes;
}

/* Sets SOFTHSM2_CONF to conf unless SoftHSM2 runs under another one. */
static int
set_conf(const char *conf, const char *module, struct pal_err *err)
{
	const char *cur = getenv(PAL_KEYSTORE_SOFTHSM_ENV);

	if (cur != NULL && strcmp(cur, conf) == 0)
		return 0;
	if (module_initialized(module))
		return pal_err_set(err, PAL_ERR_INVALID,
				   "SoftHSM2 is already in use in this process "
				   "with %s=%s; close what uses it before "
				   "opening the vault token in %s",
				   PAL_KEYSTORE_SOFTHSM_ENV,
				   cur != NULL ? cur : "(unset)", conf);
	if (setenv(PAL_KEYSTORE_SOFTHSM_ENV, conf, 1) != 0)
		return pal_err_set(err, PAL_ERR_SYSTEM, "setenv %s: %s",
				   PAL_KEYSTORE_SOFTHSM_ENV, strerror(errno));
	return 0;
}

/*
 * Checks DIR's configuration (writing it first when create is set and it
 * is missing) and points SOFTHSM2_CONF at it.  tokens receives the
 * absolute path of DIR/tokens.
 */
static int
use(const char *dir, const char *module, int create, char tokens[PATH_MAX],
    struct pal_err *err)
{
	char abs[PATH_MAX], conf[PATH_MAX];
	struct pal_buf want;
	struct stat st;
	int rc;

	if (module == NULL)
		module = PAL_P11_DEFAULT_MODULE;
	if ((rc = abs_dir(dir, abs, err)) < 0 ||
	    (rc = in_dir(abs, "tokens", tokens, err)) < 0 ||
	    (rc = in_dir(abs, CONF_NAME, conf, err)) < 0 ||
	    (rc = conf_text(abs, &want, err)) < 0)
		return rc;
	if (create && lstat(conf, &st) != 0 && errno == ENOENT)
		rc = pal_file_write_atomic(conf, want.p, want.len, 0600, err);
	else
		rc = conf_matches(conf, &want, err);
	pal_buf_free(&want);
	if (rc == 0 && (stat(tokens, &st) != 0 || !S_ISDIR(st.st_mode)))
		rc = pal_err_set(err, PAL_ERR_IO, "vault token directory "
				 "%s: no tokens/ directory in it", abs);
	if (rc == 0)
		rc = set_conf(conf, module, err);
	return rc;
}

int
pal_keystore_softhsm_use(const char *dir, const char *module,
			 struct pal_err *err)
{
	char tokens[PATH_MAX];

	return use(dir, module, 0, tokens, err);
}

/* mkdir that accepts an existing directory. */
static int
make_dir(const char *path, struct pal_err *err)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return pal_err_set(err, PAL_ERR_IO, "cannot make directory %s: %s",
			   path, strerror(errno));
}

int
pal_keystore_softhsm_prepare(const char *dir, const char *module,
			     char tokens[PATH_MAX], struct pal_err *err)
{
	char sub[PATH_MAX];
	int rc;

	if ((rc = make_dir(dir, err)) < 0 ||
	    (rc = in_dir(dir, "tokens", sub, err)) < 0 ||
	    (rc = make_dir(sub, err)) < 0)
		return rc;
	return use(dir, module, 1, tokens, err);
}
