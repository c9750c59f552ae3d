/*
 * vault.c - creating and opening a vault: its configuration (vault.json),
 * its token, its approver set and replay store, and its audit log.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "palisade/encoding.h"
#include "palisade/file.h"
#include "palisade/sealed.h"
#include "palisade/signer.h"
#include "palisade/tlog.h"
#include "vault_int.h"

#define CONFIG "vault.json"
#define CONFIG_MAX (64 * 1024)

/* ---- small helpers shared by the vault's files ---- */

int
vault_wrap_to_header(unsigned long mech, uint8_t *out)
{
	if (mech == PAL_KEYSTORE_MECH_AES_KEY_WRAP_PAD)
		*out = PAL_SEALED_WRAP_KWP;
	else if (mech == PAL_KEYSTORE_MECH_AES_KEY_WRAP)
		*out = PAL_SEALED_WRAP_KW;
	else
		return PAL_ERR_UNSUPPORTED;
	return 0;
}

int
vault_wrap_from_header(uint8_t wrap, unsigned long *mech)
{
	if (wrap == PAL_SEALED_WRAP_KWP)
		*mech = PAL_KEYSTORE_MECH_AES_KEY_WRAP_PAD;
	else if (wrap == PAL_SEALED_WRAP_KW)
		*mech = PAL_KEYSTORE_MECH_AES_KEY_WRAP;
	else
		return PAL_ERR_UNSUPPORTED;
	return 0;
}

/* Removes everything under the open directory fd (then closes it). */
static void
remove_contents(int fd, int depth)
{
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, e->d_name, 0) == 0 || errno != EISDIR ||
		    depth > 64)
			continue;
		int sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY |
				 O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			remove_contents(sub, depth + 1);
		unlinkat(fd, e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

void
vault_remove_tree(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			O_CLOEXEC);
	if (fd >= 0)
		remove_contents(fd, 0);
	unlinkat(dirfd, path, AT_REMOVEDIR);
}

int
vault_header_key(struct pal_keystore *ks, const char *release,
		 const struct pal_sealed_header *h, struct pal_kek *kek,
		 struct pal_wrapped_dek *w, struct pal_err *err)
{
	char label[PAL_SEALED_LABEL_MAX + 1];
	if (vault_wrap_from_header(h->wrap, &w->mech) < 0)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED, "key wrap %u",
				   h->wrap);
	if (h->wrapped_len != sizeof(w->bytes))
		return pal_err_set(err, PAL_ERR_VERIFY, "the wrapped key is "
				   "%zu bytes, not %zu", h->wrapped_len,
				   sizeof(w->bytes));
	w->len = h->wrapped_len;
	memcpy(w->bytes, h->wrapped, w->len);
	snprintf(label, sizeof(label), "%.*s", (int)h->key_label_len,
		 (const char *)h->key_label);
	int rc = pal_keystore_kek_lookup(ks, label, h->key_id, h->key_id_len,
					 kek, err);
	if (rc == 0 && strcmp(kek->release, release) != 0)
		rc = pal_err_set(err, PAL_ERR_VERIFY, "the key it names "
				 "belongs to release %s", kek->release);
	return rc;
}

int
vault_release_key(struct pal_vault *v, const char *release,
		  struct pal_keystore *ks, struct pal_kek *kek,
		  struct pal_wrapped_dek *w, struct pal_err *err)
{
	char rel[PATH_MAX];
	uint8_t buf[PAL_SEALED_HEADER_MAX];
	struct pal_sealed_header h;
	snprintf(rel, sizeof(rel), VAULT_RELEASES "/%s/" VAULT_MANIFEST,
		 release);
	int fd = openat(v->dirfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pal_err_set(err, errno == ENOENT ? PAL_ERR_INVALID :
				   PAL_ERR_IO, "release %s: %s", release,
				   errno == ENOENT ? "not in the vault" :
				   strerror(errno));
	int64_t n = pal_pread_full(fd, buf, sizeof(buf), 0);
	close(fd);
	int rc = n > 0 ? pal_sealed_parse(buf, (size_t)n, &h, err) :
		pal_err_set(err, PAL_ERR_IO, "%s: cannot read it", rel);
	if (rc == 0)
		rc = vault_header_key(ks, release, &h, kek, w, err);
	return rc < 0 ? pal_err_wrap(err, rc, "%s: ", rel) : 0;
}

int
vault_make_stage(struct pal_vault *v, char *stage, size_t n, int *fd,
		 struct pal_err *err)
{
	uint8_t r[8];
	if (RAND_bytes(r, sizeof(r)) != 1)
		return pal_err_set(err, PAL_ERR_CRYPTO, "no random bytes");
	snprintf(stage, n, VAULT_RELEASES "/.staging-%02x%02x%02x%02x%02x"
		 "%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6],
		 r[7]);
	if ((mkdirat(v->dirfd, VAULT_RELEASES, 0700) != 0 &&
	     errno != EEXIST) || mkdirat(v->dirfd, stage, 0700) != 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", stage,
				   strerror(errno));
	*fd = openat(v->dirfd, stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", stage,
				   strerror(errno));
	return 0;
}

/* ---- the configuration ---- */

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* An absolute form of path (which may not exist yet). */
static char *
absolute(const char *path)
{
	if (path[0] == '/')
		return strdup(path);
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	char *out;
	return asprintf(&out, "%s/%s", cwd, path) < 0 ? NULL : out;
}

static int
write_config(const char *dir, const struct pal_vault *v,
	     struct pal_err *err)
{
	char now[PAL_TPC_TIME_LEN + 1];
	pal_tpc_time_format((int64_t)time(NULL), now);
	json_t *o = json_pack("{s:i, s:s, s:s?, s:s, s:s?, s:s?, s:s?, s:s}",
			      "version", PAL_VAULT_VERSION, "id", v->id,
			      "module", v->module, "token", v->token,
			      "serial", v->serial, "softhsm_dir",
			      v->softhsm_dir, "log", v->log_dir,
			      "created", now);
	char *text = o ? json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2)) :
		NULL;
	json_decref(o);
	if (text == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/" CONFIG, dir);
	int rc = pal_file_write_atomic(path, text, strlen(text), 0600, err);
	free(text);
	return rc;
}

/* A string member that must be there (or may be null when optional). */
static int
config_str(json_t *o, const char *key, int optional, char **out,
	   struct pal_err *err)
{
	json_t *s = json_object_get(o, key);
	*out = NULL;
	if ((s == NULL || json_is_null(s)) && optional)
		return 0;
	if (!json_is_string(s) || json_string_length(s) == 0 ||
	    strlen(json_string_value(s)) != json_string_length(s))
		return pal_err_set(err, PAL_ERR_FORMAT, CONFIG ": \"%s\" must "
				   "be a non-empty string", key);
	if ((*out = strdup(json_string_value(s))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	return 0;
}

static int
read_config(struct pal_vault *v, struct pal_err *err)
{
	char path[PATH_MAX];
	uint8_t *text = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/" CONFIG, v->dir);
	int rc = pal_file_read(path, CONFIG_MAX, &text, &len, err);
	if (rc < 0)
		return rc;
	json_error_t je;
	json_t *o = json_loadb((const char *)text, len,
			       JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!json_is_object(o)) {
		json_decref(o);
		return pal_err_set(err, PAL_ERR_FORMAT, "%s: not a JSON "
				   "object (line %d: %s)", path, je.line,
				   je.text);
	}
	json_t *ver = json_object_get(o, "version");
	char *id = NULL, *created = NULL;
	if (!json_is_integer(ver) ||
	    json_integer_value(ver) != PAL_VAULT_VERSION)
		rc = pal_err_set(err, PAL_ERR_UNSUPPORTED, "%s: version must "
				 "be %d", path, PAL_VAULT_VERSION);
	if (rc == 0)
		rc = config_str(o, "id", 0, &id, err);
	if (rc == 0 && (strlen(id) != PAL_VAULT_ID_HEX ||
			strspn(id, "0123456789abcdef") != PAL_VAULT_ID_HEX))
		rc = pal_err_set(err, PAL_ERR_FORMAT, CONFIG ": \"id\" must "
				 "be %d lowercase hex digits",
				 PAL_VAULT_ID_HEX);
	if (rc == 0)
		memcpy(v->id, id, PAL_VAULT_ID_HEX + 1);
	if (rc == 0)
		rc = config_str(o, "module", 1, &v->module, err);
	if (rc == 0)
		rc = config_str(o, "token", 0, &v->token, err);
	if (rc == 0)
		rc = config_str(o, "serial", 1, &v->serial, err);
	if (rc == 0)
		rc = config_str(o, "softhsm_dir", 1, &v->softhsm_dir, err);
	if (rc == 0)
		rc = config_str(o, "log", 1, &v->log_dir, err);
	if (rc == 0)
		rc = config_str(o, "created", 1, &created, err);
	const char *key;
	json_t *val;
	json_object_foreach(o, key, val) {
		static const char *const known[] = {
			"version", "id", "module", "token", "serial",
			"softhsm_dir", "log", "created",
		};
		size_t k = 0;
		while (k < sizeof(known) / sizeof(*known) &&
		       strcmp(known[k], key) != 0)
			k++;
		if (rc == 0 && k == sizeof(known) / sizeof(*known))
			rc = pal_err_set(err, PAL_ERR_FORMAT, CONFIG ": "
					 "unknown member \"%s\"", key);
	}
	free(id);
	free(created);
	json_decref(o);
	return rc < 0 ? pal_err_wrap(err, rc, "%s: ", v->dir) : 0;
}

static void
vault_free(struct pal_vault *v)
{
	if (v == NULL)
		return;
	pal_keystore_close(v->ks);
	pal_tpc_approvers_free(v->approvers);
	pal_tpc_replay_close(v->replay);
	if (v->dirfd >= 0)
		close(v->dirfd);
	free(v->dir);
	free(v->module);
	free(v->token);
	free(v->serial);
	free(v->softhsm_dir);
	free(v->log_dir);
	free(v);
}

void
pal_vault_close(struct pal_vault *v)
{
	vault_free(v);
}

const char *
pal_vault_id(const struct pal_vault *v)
{
	return v->id;
}

static struct pal_keystore_config
ks_config(const struct pal_vault *v)
{
	struct pal_keystore_config c = {
		.module = v->module, .token = v->token, .serial = v->serial,
		.softhsm_dir = v->softhsm_dir, .pin = v->pin,
	};
	return c;
}

int
vault_keystore(struct pal_vault *v, struct pal_keystore **ks,
	       struct pal_err *err)
{
	if (v->ks == NULL) {
		struct pal_keystore_config c = ks_config(v);
		int rc = pal_keystore_open(&c, &v->ks, err);
		if (rc < 0)
			return pal_err_wrap(err, rc, "vault token: ");
	}
	*ks = v->ks;
	return 0;
}

/* ---- creating ---- */

static int
create_token(struct pal_vault *v, const struct pal_vault_init *in,
	     struct pal_err *err)
{
	struct pal_keystore_config c = ks_config(v);
	char serial[PAL_KEYSTORE_SERIAL_MAX + 1];
	int rc = pal_keystore_softhsm_create(&c, &in->so_pin, serial, err);
	if (rc < 0)
		return pal_err_wrap(err, rc, "vault token: ");
	if ((v->serial = strdup(serial)) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	return 0;
}

static int
new_id(char out[PAL_VAULT_ID_HEX + 1], struct pal_err *err)
{
	uint8_t raw[PAL_VAULT_ID_HEX / 2];
	static const char hex[] = "0123456789abcdef";
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return pal_err_set(err, PAL_ERR_CRYPTO, "no random bytes");
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[PAL_VAULT_ID_HEX] = '\0';
	return 0;
}

static int
create_files(const char *dir, struct pal_vault *v,
	     const struct pal_vault_init *in, struct pal_err *err)
{
	int rc = 0;
	if (in->module == NULL)
		rc = create_token(v, in, err);
	if (rc == 0) {
		/* The token must open and offer key wrapping. */
		struct pal_keystore *ks = NULL;
		rc = vault_keystore(v, &ks, err);
	}
	if (rc == 0)
		rc = vault_first_set(v, in, err);
	if (rc == 0)
		rc = write_config(dir, v, err);
	return rc;
}

int
pal_vault_create(const char *dir, const struct pal_vault_init *in,
		 struct pal_err *err)
{
	if (in->admin_key == NULL || in->n_approvers == 0)
		return pal_err_set(err, PAL_ERR_INVALID, "a vault needs an "
				   "admin key and approvers");
	struct pal_vault *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	v->dirfd = -1;
	v->pin = in->pin;
	int rc = new_id(v->id, err);
	char *hsm = NULL;
	if (rc == 0 && in->module == NULL && in->hsm_dir == NULL &&
	    asprintf(&hsm, "%s.hsm", dir) < 0)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0) {
		v->dir = absolute(dir);
		v->module = dup_or_null(in->module);
		v->token = strdup(in->token ? in->token :
				  PAL_KEYSTORE_TOKEN_LABEL);
		if (in->module == NULL)
			v->softhsm_dir = absolute(in->hsm_dir ? in->hsm_dir :
						  hsm);
		if (in->log_dir != NULL)
			v->log_dir = absolute(in->log_dir);
		if (v->dir == NULL || v->token == NULL ||
		    (in->module == NULL && v->softhsm_dir == NULL) ||
		    (in->log_dir != NULL && v->log_dir == NULL))
			rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	free(hsm);
	if (rc == 0 && mkdir(dir, 0700) != 0)
		rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", dir,
				 errno == EEXIST ? "exists already: a vault "
				 "is created in a new directory" :
				 strerror(errno));
	struct stat st;
	int new_hsm = rc == 0 && v->softhsm_dir != NULL &&
		stat(v->softhsm_dir, &st) != 0 && errno == ENOENT;
	if (rc == 0) {
		rc = create_files(dir, v, in, err);
		if (rc < 0) {	/* our own new directories: nothing half-made */
			pal_keystore_close(v->ks);
			v->ks = NULL;
			vault_remove_tree(AT_FDCWD, v->dir);
			if (new_hsm)
				vault_remove_tree(AT_FDCWD, v->softhsm_dir);
		}
	}
	vault_free(v);
	return rc;
}

/* ---- opening ---- */

int
pal_vault_open(const char *dir, const struct pal_keystore_pin *pin,
	       const char *log_dir, struct pal_vault **out,
	       struct pal_err *err)
{
	struct pal_vault *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	v->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pin != NULL)
		v->pin = *pin;
	int rc = v->dirfd >= 0 ? 0 :
		pal_err_set(err, PAL_ERR_IO, "%s: %s", dir, strerror(errno));
	if (rc == 0 && (v->dir = strdup(dir)) == NULL)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = read_config(v, err);
	if (rc == 0 && log_dir != NULL) {
		free(v->log_dir);
		if ((v->log_dir = strdup(log_dir)) == NULL)
			rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	if (rc < 0) {
		vault_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

/* ---- authorization and audit ---- */

int
pal_vault_approvers(const char *dir, struct pal_tpc_approvers **out,
		    struct pal_err *err)
{
	char path[PATH_MAX];
	EVP_PKEY *admin = NULL;
	snprintf(path, sizeof(path), "%s/" VAULT_ADMIN_PUB, dir);
	int rc = pal_pubkey_load(path, &admin, err);
	snprintf(path, sizeof(path), "%s/" VAULT_APPROVERS, dir);
	if (rc == 0)
		rc = pal_tpc_approvers_load(path, admin, out, err);
	EVP_PKEY_free(admin);
	return rc < 0 ? pal_err_wrap(err, rc, "approver set: ") : 0;
}

int
vault_authorize(struct pal_vault *v, enum pal_tpc_op op,
		const char *release, const struct pal_vault_authz *a,
		struct pal_err *err)
{
	struct pal_tpc_want want = {
		.op = op, .release = release, .vault = v->id,
		.requester = a->requester,
	};
	struct pal_tpc_report local, *rep = a->report ? a->report : &local;
	memset(rep, 0, sizeof(*rep));
	/*
	 * Read each time: the set may have been replaced since the last.  A
	 * set refused (an old one put back) is a refusal to log like others.
	 */
	int rc = vault_load_set(v, err);
	if (rc < 0 && rc != PAL_ERR_VERIFY)
		return rc;
	if (rc == 0)
		rc = pal_tpc_authorize(&want, a->request, a->approvals,
				       a->n_approvals, v->approvers,
				       (int64_t)time(NULL), v->replay, rep,
				       err);
	if (rc == 0)
		return 0;
	/* The refusal goes into the log, then is returned as it was. */
	struct pal_err lerr = { 0 };
	json_t *refused = json_array();
	for (size_t i = 0; refused && i < rep->n_refused; i++)
		json_array_append_new(refused, json_pack("{s:s, s:s}", "who",
			rep->refused[i].who, "why", rep->refused[i].why));
	json_t *d = json_pack("{s:s, s:s, s:s, s:o*}", "operation",
			      pal_tpc_op_name(op), "release", release,
			      "reason", err->msg, "approvals", refused);
	if (rep->have_request && d != NULL)
		json_object_set_new(d, "requester",
				    json_string(rep->req.requester));
	uint64_t idx;
	int logged;
	if (vault_audit_json(v, "vault.refused", d, &idx, &logged, &lerr) < 0)
		return pal_err_wrap(err, rc, "(not logged: %s) ", lerr.msg);
	return rc;
}

int
vault_audit(struct pal_vault *v, const char *type, const char *details_json,
	    uint64_t *index, int *logged, struct pal_err *err)
{
	*logged = 0;
	*index = 0;
	if (v->log_dir == NULL)
		return 0;
	int rc = pal_log_record(v->log_dir, type, "vault", NULL, details_json,
				index, err);
	if (rc < 0)
		return pal_err_wrap(err, rc, "audit log %s: ", v->log_dir);
	*logged = 1;
	return 0;
}

int
vault_audit_json(struct pal_vault *v, const char *type, json_t *details,
		 uint64_t *index, int *logged, struct pal_err *err)
{
	if (details == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	json_object_set_new(details, "vault", json_string(v->id));
	char *text = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(details);
	if (text == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	int rc = vault_audit(v, type, text, index, logged, err);
	free(text);
	return rc;
}
