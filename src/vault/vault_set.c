/*
 * vault_set.c - a vault's approver set over its life: the first one at
 * creation, replacements by the admin (`keys approvers`), and the check
 * before each use that it is not older than the newest the vault accepted.
 *
 * What is trusted: admin.pub.pem (written at creation; whoever can
 * replace it owns the vault, as whoever can replace its token), the admin
 * key the caller opens, and state.db.  approvers.dsse is read as a file
 * anyone with write access to the directory could have replaced with an
 * older one the admin once signed: its serial is judged against state.db
 * (sets.c).  Creation and replacement share one path to a signed set
 * (pal_tpc_approvers_build), so a replacement obeys exactly the rules of
 * creation.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>

#include "palisade/file.h"
#include "palisade/signer.h"
#include "vault_int.h"

/* ---- the admin key ---- */

static int
write_admin_pub(const char *dir, struct pal_signer *s, struct pal_err *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *pem = NULL, path[PATH_MAX];
	long n = 0;
	int rc = 0;

	if (b == NULL || !PEM_write_bio_PUBKEY(b, s->pub) ||
	    (n = BIO_get_mem_data(b, &pem)) <= 0)
		rc = pal_err_set(err, PAL_ERR_CRYPTO, "admin key: cannot "
				 "encode its public key");
	snprintf(path, sizeof(path), "%s/" VAULT_ADMIN_PUB, dir);
	if (rc == 0)
		rc = pal_file_write_atomic(path, pem, (size_t)n, 0644, err);
	BIO_free(b);
	return rc;
}

/* The admin key as the vault knows it, and its fingerprint. */
static int
load_admin_pub(const struct pal_vault *v, EVP_PKEY **out, char hint[65],
	       struct pal_err *err)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" VAULT_ADMIN_PUB, v->dir);
	int rc = pal_pubkey_load(path, out, err);
	if (rc == 0 && hint != NULL)
		rc = pal_pubkey_hint(*out, hint, err);
	return rc;
}

/*
 * The key that is to sign must be the vault's admin key: a set signed by
 * any other key would be refused by every reader, after the old one was
 * overwritten.  Named by fingerprints, never by the key argument, which
 * may be a PKCS#11 URI holding a PIN.
 */
static int
admin_matches(const struct pal_vault *v, struct pal_signer *s,
	      struct pal_err *err)
{
	EVP_PKEY *pub = NULL;
	char want[65], got[65];
	int rc = load_admin_pub(v, &pub, want, err);

	if (rc == 0)
		rc = pal_pubkey_hint(s->pub, got, err);
	if (rc == 0 && EVP_PKEY_eq(pub, s->pub) != 1)
		rc = pal_err_set(err, PAL_ERR_VERIFY, "the admin key given "
				 "(fingerprint %.16s) is not the vault's admin "
				 "key (%s/" VAULT_ADMIN_PUB ", fingerprint "
				 "%.16s): the approver set is left as it is",
				 got, v->dir, want);
	EVP_PKEY_free(pub);
	return rc;
}

/* ---- the audit ---- */

/* {"serial": S, "threshold": M, "approvers": [names]} */
static json_t *
set_json(const struct pal_tpc_approvers *set)
{
	json_t *names = json_array();

	for (size_t i = 0; names != NULL && i < set->n; i++)
		json_array_append_new(names, json_string(set->a[i].name));
	return json_pack("{s:I, s:I, s:o*}", "serial",
			 (json_int_t)set->serial, "threshold",
			 (json_int_t)set->threshold, "approvers", names);
}

/* {name: fingerprint} of the set's members, to tell a new key apart. */
static json_t *
fingerprints(const struct pal_tpc_approvers *set)
{
	json_t *o = json_object();
	char hint[65];

	for (size_t i = 0; o != NULL && i < set->n; i++)
		if (pal_pubkey_hint(set->a[i].key, hint, NULL) == 0)
			json_object_set_new(o, set->a[i].name,
					    json_string(hint));
	return o;
}

/* Members of a not in b (by name), or in both with another key (rekey). */
static json_t *
difference(const struct pal_tpc_approvers *a,
	   const struct pal_tpc_approvers *b, int rekeyed)
{
	json_t *out = json_array();

	for (size_t i = 0; out != NULL && i < a->n; i++) {
		const struct pal_tpc_approver *m =
			pal_tpc_approvers_find(b, a->a[i].name);
		if (rekeyed ? m != NULL && EVP_PKEY_eq(m->key, a->a[i].key) !=
		    1 : m == NULL)
			json_array_append_new(out, json_string(a->a[i].name));
	}
	return out;
}

/*
 * The details of a "vault.approvers" entry for a set the vault now uses:
 * event "created", "changed" or "adopted" (a set found in the directory,
 * newer than any the vault had accepted: installed by hand, or by a
 * replacement interrupted before it was recorded).
 */
static json_t *
set_entry(const char *event, const struct pal_tpc_approvers *set)
{
	json_t *d = set_json(set);

	if (d != NULL) {
		json_object_set_new(d, "event", json_string(event));
		json_object_set_new(d, "fingerprints", fingerprints(set));
	}
	return d;
}

/* The entry for a replacement: the set before, or why it was refused. */
static int
audit_change(struct pal_vault *v, const struct pal_tpc_approvers *set,
	     struct pal_vault_approvers_changed *o, struct pal_err *err)
{
	json_t *d = set_entry("changed", set);
	const struct pal_tpc_approvers *before = o->before;

	if (d != NULL && before != NULL) {
		json_object_set_new(d, "previous", set_json(before));
		json_object_set_new(d, "added", difference(set, before, 0));
		json_object_set_new(d, "removed", difference(before, set, 0));
		json_object_set_new(d, "rekeyed", difference(set, before, 1));
	} else if (d != NULL) {
		json_object_set_new(d, "previous_refused",
				    json_string(o->before_refused));
	}
	return vault_audit_json(v, "vault.approvers", d, &o->log_index,
				&o->logged, err);
}

/* The hook pal_tpc_sets_accept calls for a set seen for the first time. */
struct adopt {
	struct pal_vault *v;
	const char *event;
};

static int
on_new_set(void *arg, const struct pal_tpc_set_record *prev,
	   const struct pal_tpc_approvers *set, struct pal_err *err)
{
	struct adopt *a = arg;
	uint64_t idx;
	int logged;
	json_t *d = set_entry(a->event, set);

	if (d != NULL && prev->any)
		json_object_set_new(d, "previous_serial",
				    json_integer((json_int_t)prev->serial));
	return vault_audit_json(a->v, "vault.approvers", d, &idx, &logged,
				err);
}

/* ---- loading ---- */

static int
open_store(struct pal_vault *v, struct pal_err *err)
{
	char path[PATH_MAX];

	if (v->replay != NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/" VAULT_STATE, v->dir);
	return pal_tpc_replay_open(path, &v->replay, err);
}

int
vault_load_set(struct pal_vault *v, struct pal_err *err)
{
	struct pal_tpc_approvers *set = NULL;
	struct adopt a = { .v = v, .event = "adopted" };

	pal_tpc_approvers_free(v->approvers);
	v->approvers = NULL;
	int rc = pal_vault_approvers(v->dir, &set, err);
	if (rc == 0)
		rc = open_store(v, err);
	if (rc == 0 && (rc = pal_tpc_sets_accept(v->replay, set,
						 (int64_t)time(NULL),
						 on_new_set, &a, NULL,
						 err)) < 0)
		pal_err_wrap(err, rc, "%s/" VAULT_APPROVERS ": ", v->dir);
	if (rc < 0) {
		pal_tpc_approvers_free(set);
		return rc;
	}
	v->approvers = set;
	return 0;
}

int
pal_vault_current_approvers(struct pal_vault *v,
			    struct pal_tpc_approvers **out,
			    char admin_hint[65],
			    struct pal_tpc_set_record *accepted,
			    struct pal_err *err)
{
	struct pal_tpc_approvers *set = NULL;
	struct pal_tpc_set_record latest;
	EVP_PKEY *admin = NULL;

	*out = NULL;
	int rc = load_admin_pub(v, &admin, admin_hint, err);
	EVP_PKEY_free(admin);
	if (rc == 0)
		rc = pal_vault_approvers(v->dir, &set, err);
	if (rc == 0)
		rc = open_store(v, err);
	if (rc == 0)
		rc = pal_tpc_sets_latest(v->replay, &latest, err);
	if (rc == 0 && accepted != NULL)
		*accepted = latest;
	if (rc == 0 && (rc = pal_tpc_sets_judge(&latest, set, err)) < 0)
		pal_err_wrap(err, rc, "%s/" VAULT_APPROVERS ": ", v->dir);
	if (rc < 0) {
		pal_tpc_approvers_free(set);
		return rc;
	}
	*out = set;
	return 0;
}

/* ---- creating ---- */

int
vault_first_set(struct pal_vault *v, const struct pal_vault_init *in,
		struct pal_err *err)
{
	struct pal_signer *admin = NULL;
	struct pal_tpc_approvers *set = NULL;
	struct pal_buf env;
	struct adopt a = { .v = v, .event = "created" };
	char path[PATH_MAX];

	pal_buf_init(&env, PAL_TPC_APPROVERS_FILE_MAX);
	int rc = pal_signer_open(in->admin_key, &admin, err);
	if (rc < 0)
		rc = pal_err_wrap(err, rc, "admin key: ");
	if (rc == 0)
		rc = write_admin_pub(v->dir, admin, err);
	if (rc == 0 && (rc = pal_tpc_approvers_build(v->id, 1, in->threshold,
			in->approver_names, in->approver_keys,
			in->n_approvers, admin, &env, &set, err)) < 0)
		pal_err_wrap(err, rc, "approver set: ");
	snprintf(path, sizeof(path), "%s/" VAULT_APPROVERS, v->dir);
	if (rc == 0)
		rc = pal_file_write_atomic(path, env.p, env.len, 0644, err);
	if (rc == 0)
		rc = open_store(v, err);
	if (rc == 0)
		rc = pal_tpc_sets_accept(v->replay, set, (int64_t)time(NULL),
					 on_new_set, &a, NULL, err);
	pal_tpc_approvers_free(set);
	pal_signer_free(admin);
	pal_buf_free(&env);
	return rc;
}

/* ---- replacing ---- */

struct change {
	struct pal_vault *v;
	const struct pal_vault_approvers_change *c;
	struct pal_signer *admin;
	struct pal_vault_approvers_changed *out;
	uint8_t *old;		/* the file replaced, to put back */
	size_t old_len;
	int installed;		/* written and logged */
};

/* After a failure to log: the file as it was (or no file, as it was). */
static void
put_back(const struct change *ch, const char *path, struct pal_err *err)
{
	struct pal_err e2 = { 0 };
	int rc = ch->old != NULL ?
		pal_file_write_atomic(path, ch->old, ch->old_len, 0644, &e2) :
		(unlink(path) == 0 ? 0 : pal_err_set(&e2, PAL_ERR_IO, "%s: %s",
						     path, strerror(errno)));

	if (rc < 0)
		pal_err_wrap(err, err->code, "(and the new set stays in "
			     "place: %s) ", e2.msg);
	else
		pal_err_wrap(err, err->code, "(the set is left as it was) ");
}

/*
 * The set in place, as the vault would judge it now; when it is refused,
 * why goes into out->before_refused and the replacement goes on.
 */
static int
set_in_place(struct pal_vault *v, struct pal_vault_approvers_changed *out,
	     struct pal_err *err)
{
	struct pal_tpc_set_record latest;
	struct pal_err why = { 0 };
	struct pal_tpc_approvers *set = NULL;
	int rc = pal_tpc_sets_latest(v->replay, &latest, err);

	if (rc < 0)
		return rc;
	if (pal_vault_approvers(v->dir, &set, &why) == 0 &&
	    pal_tpc_sets_judge(&latest, set, &why) == 0) {
		out->before = set;
		return 0;
	}
	pal_tpc_approvers_free(set);
	snprintf(out->before_refused, sizeof(out->before_refused), "%s",
		 why.msg);
	return 0;
}

/*
 * What is replaced, read under state.db's write lock, so that the entry
 * names the set that was in place and a failure puts back the file that
 * was there: the set (or why it was refused) and the file's bytes.
 */
static int
read_in_place(struct change *ch, uint64_t serial, const char *path,
	      struct pal_err *err)
{
	struct pal_vault_approvers_changed *o = ch->out;

	pal_tpc_approvers_free(o->before);
	o->before = NULL;
	o->before_refused[0] = '\0';
	int rc = set_in_place(ch->v, o, err);
	/* A set written by hand meanwhile, at or past the serial chosen. */
	if (rc == 0 && o->before != NULL && o->before->serial >= serial)
		return pal_err_set(err, PAL_ERR_VERIFY, "the set in place "
				   "changed meanwhile (serial %llu): run "
				   "again", (unsigned long long)
				   o->before->serial);
	if (rc == 0 && pal_file_read(path, PAL_TPC_APPROVERS_FILE_MAX,
				     &ch->old, &ch->old_len, NULL) < 0)
		ch->old = NULL;
	return rc;
}

/* pal_tpc_sets_replace's install: sign, write, log, with serial. */
static int
install(void *arg, uint64_t serial, struct pal_tpc_approvers **set,
	struct pal_err *err)
{
	struct change *ch = arg;
	const struct pal_vault_approvers_change *c = ch->c;
	struct pal_vault_approvers_changed *o = ch->out;
	struct pal_buf env;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" VAULT_APPROVERS, ch->v->dir);
	int rc = read_in_place(ch, serial, path, err);
	if (rc < 0)
		return rc;
	pal_buf_init(&env, PAL_TPC_APPROVERS_FILE_MAX);
	rc = pal_tpc_approvers_build(ch->v->id, serial, c->threshold,
				     c->approver_names, c->approver_keys,
				     c->n_approvers, ch->admin, &env, set,
				     err);
	if (rc < 0)
		pal_err_wrap(err, rc, "new approver set: ");
	if (rc == 0)
		rc = pal_file_write_atomic(path, env.p, env.len, 0644, err);
	if (rc == 0 && (rc = audit_change(ch->v, *set, o, err)) < 0)
		put_back(ch, path, err);
	ch->installed = rc == 0;
	pal_buf_free(&env);
	return rc;
}

void
pal_vault_approvers_changed_free(struct pal_vault_approvers_changed *c)
{
	if (c == NULL)
		return;
	pal_tpc_approvers_free(c->before);
	pal_tpc_approvers_free(c->after);
	c->before = c->after = NULL;
}

int
pal_vault_set_approvers(struct pal_vault *v,
			const struct pal_vault_approvers_change *c,
			struct pal_vault_approvers_changed *out,
			struct pal_err *err)
{
	struct change ch = { .v = v, .c = c, .out = out };

	memset(out, 0, sizeof(*out));
	if (c->admin_key == NULL || c->n_approvers == 0)
		return pal_err_set(err, PAL_ERR_INVALID, "a new approver set "
				   "needs the admin key and approvers");
	int rc = pal_signer_open(c->admin_key, &ch.admin, err);
	if (rc < 0)
		rc = pal_err_wrap(err, rc, "admin key: ");
	if (rc == 0)
		rc = admin_matches(v, ch.admin, err);
	if (rc == 0)
		rc = open_store(v, err);
	/* A first look for the serial to follow: a valid set not recorded. */
	if (rc == 0)
		rc = set_in_place(v, out, err);
	uint64_t floor = out->before != NULL ? out->before->serial : 0;
	if (rc == 0)
		rc = pal_tpc_sets_replace(v->replay, floor, (int64_t)time(NULL),
					  install, &ch, &out->after, err);
	if (rc < 0 && ch.installed)
		pal_err_wrap(err, rc, "the new set is in place and logged, "
			     "but not recorded in " VAULT_STATE " (it will be "
			     "at its first use): ");
	/* The vault reads its set again before its next authorization. */
	pal_tpc_approvers_free(v->approvers);
	v->approvers = NULL;
	pal_signer_free(ch.admin);
	free(ch.old);
	if (rc < 0)
		pal_vault_approvers_changed_free(out);
	return rc;
}
