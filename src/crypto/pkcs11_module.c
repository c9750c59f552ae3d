/*
 * pkcs11_module.c - PKCS#11 modules loaded with dlopen, once per library.
 *
 * A module is a process-wide thing: C_Initialize and C_Finalize apply to
 * every session of every caller.  So modules are kept in a list keyed by
 * their dlopen handle (the loader hands the same handle for the same
 * library under any path) and counted: the first user initializes, the
 * last one finalizes and unloads.  A module that someone else in the
 * process initialized first (CKR_CRYPTOKI_ALREADY_INITIALIZED) is used but
 * never finalized here.
 *
 * C_Initialize asks for CKF_OS_LOCKING_OK: the module may be used from
 * several threads and should use the system's locks.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11_int.h"

struct pal_p11_module {
	void *dl;
	CK_FUNCTION_LIST *f;
	int finalize;		/* we initialized it */
	unsigned int refs;
	struct pal_p11_module *next;
};

static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pal_p11_module *modules;

static struct pal_p11_module *
find_loaded(void *dl)
{
	struct pal_p11_module *m;

	for (m = modules; m != NULL; m = m->next)
		if (m->dl == dl)
			return m;
	return NULL;
}

static int
initialize(struct pal_p11_module *m, const char *path, struct pal_err *err)
{
	void *sym = dlsym(m->dl, "C_GetFunctionList");
	CK_C_GetFunctionList get;
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	/* POSIX guarantees that a function pointer survives this trip. */
	memcpy(&get, &sym, sizeof(get));
	if (sym == NULL)
		return pal_err_set(err, PAL_ERR_SYSTEM,
				   "PKCS#11 module %s has no "
				   "C_GetFunctionList", path);
	rv = get(&m->f);
	if (rv != CKR_OK || m->f == NULL)
		return pal_p11_fail(err, rv != CKR_OK ? rv : CKR_GENERAL_ERROR,
				    "C_GetFunctionList");
	if (m->f->version.major != 2 && m->f->version.major != 3)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "PKCS#11 module %s speaks version %u.%u",
				   path, m->f->version.major,
				   m->f->version.minor);
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = m->f->C_Initialize(&args);
	if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
		return 0;
	if (rv != CKR_OK)
		return pal_p11_fail(err, rv, "C_Initialize");
	m->finalize = 1;
	return 0;
}

/* Loads and initializes a module not yet in the list. */
static int
load(void *dl, const char *path, struct pal_p11_module **out,
     struct pal_err *err)
{
	struct pal_p11_module *m = calloc(1, sizeof(*m));
	int rc;

	if (m == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	m->dl = dl;
	if ((rc = initialize(m, path, err)) < 0) {
		free(m);
		return rc;
	}
	m->refs = 1;
	m->next = modules;
	modules = m;
	*out = m;
	return 0;
}

int
pal_p11_module_get(const char *path, struct pal_p11_module **out,
		   struct pal_err *err)
{
	struct pal_p11_module *m;
	const char *why;
	void *dl;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&modules_lock);
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		why = dlerror();
		rc = pal_err_set(err, PAL_ERR_SYSTEM,
				 "cannot load PKCS#11 module %s: %s", path,
				 why != NULL ? why : "dlopen failed");
	} else if ((m = find_loaded(dl)) != NULL) {
		/* dlopen counted one more reference; the list holds one. */
		dlclose(dl);
		m->refs++;
		*out = m;
	} else if ((rc = load(dl, path, out, err)) < 0) {
		dlclose(dl);
	}
	pthread_mutex_unlock(&modules_lock);
	return rc;
}

CK_FUNCTION_LIST *
pal_p11_module_fn(const struct pal_p11_module *m)
{
	return m->f;
}

static void
unlink_module(struct pal_p11_module *m)
{
	struct pal_p11_module **pp;

	for (pp = &modules; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			return;
		}
	}
}

void
pal_p11_module_put(struct pal_p11_module *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&modules_lock);
	if (--m->refs == 0) {
		unlink_module(m);
		if (m->finalize)
			(void)m->f->C_Finalize(NULL);
		dlclose(m->dl);
		free(m);
	}
	pthread_mutex_unlock(&modules_lock);
}
