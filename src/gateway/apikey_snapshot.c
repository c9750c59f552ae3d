/*
 * apikey_snapshot.c - the keys as the gateway checks them: an immutable
 * hash table from id to record, loaded from the store, compared against
 * it with one PRAGMA to see whether a reload is due, and handed to event
 * loops through a generation counter so that the request path neither
 * locks nor touches SQLite.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "apikey_int.h"

struct pal_apikey_snapshot {
	atomic_size_t refs;
	uint64_t store;			/* the serial of the store handle */
	int64_t data_version;		/* the store's stamp when loaded */
	int64_t total_changes;
	struct pal_apikey_record *rec;
	size_t n;
	uint32_t *slots;		/* index + 1 into rec; 0 empty */
	size_t mask;			/* slots - 1, a power of two less 1 */
};

struct pal_apikey_current {
	pthread_mutex_t mu;
	struct pal_apikey_snapshot *snap;
	_Atomic uint64_t gen;
};

static const char *const status_names[] = {
	[PAL_APIKEY_OK] = "ok",
	[PAL_APIKEY_MALFORMED] = "malformed",
	[PAL_APIKEY_UNKNOWN] = "unknown-key",
	[PAL_APIKEY_WRONG_SECRET] = "wrong-secret",
	[PAL_APIKEY_REVOKED] = "revoked",
	[PAL_APIKEY_EXPIRED] = "expired",
};

const char *
pal_apikey_status_name(enum pal_apikey_status st)
{
	if ((unsigned)st >= sizeof(status_names) / sizeof(status_names[0]))
		return "?";
	return status_names[st];
}

/*
 * The slot of an id: its 48 bits mixed (the splitmix64 finalizer), so
 * that ids written into the file by hand still spread.
 */
static uint64_t
id_hash(const char *id)
{
	uint64_t h = 0;

	for (size_t i = 0; i < PAL_APIKEY_ID_LEN; i++) {
		unsigned c = (unsigned char)id[i];
		h = h << 4 | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

const struct pal_apikey_record *
pal_apikey_snapshot_find(const struct pal_apikey_snapshot *snap,
			 const char *id)
{
	if (snap == NULL || snap->n == 0 || !apikey_id_valid(id))
		return NULL;
	for (size_t i = id_hash(id) & snap->mask;; i = (i + 1) & snap->mask) {
		uint32_t k = snap->slots[i];

		if (k == 0)
			return NULL;
		if (memcmp(snap->rec[k - 1].id, id, PAL_APIKEY_ID_LEN) == 0)
			return &snap->rec[k - 1];
	}
}

size_t
pal_apikey_snapshot_count(const struct pal_apikey_snapshot *snap)
{
	return snap != NULL ? snap->n : 0;
}

struct pal_apikey_snapshot *
pal_apikey_snapshot_ref(struct pal_apikey_snapshot *snap)
{
	if (snap != NULL)
		atomic_fetch_add_explicit(&snap->refs, 1,
					  memory_order_relaxed);
	return snap;
}

void
pal_apikey_snapshot_unref(struct pal_apikey_snapshot *snap)
{
	if (snap == NULL ||
	    atomic_fetch_sub_explicit(&snap->refs, 1,
				      memory_order_acq_rel) != 1)
		return;
	if (snap->rec != NULL)
		OPENSSL_cleanse(snap->rec, snap->n * sizeof(*snap->rec));
	free(snap->rec);
	free(snap->slots);
	free(snap);
}

/* ---- loading ---- */

/* The store's change stamp: commits by others, writes by this handle. */
static int
stamp(struct pal_apikey_store *s, int64_t *version, int64_t *changes,
      struct pal_err *err)
{
	sqlite3_stmt *st = NULL;
	int ok = sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st,
				    NULL) == SQLITE_OK &&
		sqlite3_step(st) == SQLITE_ROW;

	*version = ok ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	*changes = sqlite3_total_changes64(s->db);
	return ok ? 0 : apikey_db_fail(s, PAL_ERR_IO, "PRAGMA data_version",
				       err);
}

struct load_ctx {
	struct pal_apikey_snapshot *snap;
	size_t cap;
	struct pal_err *err;
};

static int
load_one(void *arg, const struct pal_apikey_record *r)
{
	struct load_ctx *l = arg;
	struct pal_apikey_snapshot *snap = l->snap;

	if (snap->n == PAL_APIKEY_MAX_KEYS)
		return pal_err_set(l->err, PAL_ERR_LIMIT, "more than %u keys",
				   PAL_APIKEY_MAX_KEYS);
	if (snap->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct pal_apikey_record *p = calloc(cap, sizeof(*p));

		if (p == NULL)
			return pal_err_set(l->err, PAL_ERR_NOMEM,
					   "out of memory");
		/* Copied rather than realloc'd: the old block is wiped. */
		if (snap->rec != NULL) {
			memcpy(p, snap->rec, snap->n * sizeof(*p));
			OPENSSL_cleanse(snap->rec, snap->n * sizeof(*p));
			free(snap->rec);
		}
		snap->rec = p;
		l->cap = cap;
	}
	snap->rec[snap->n++] = *r;
	return 0;
}

static int
build_index(struct pal_apikey_snapshot *snap, struct pal_err *err)
{
	size_t cap = 16;

	while (cap < 2 * snap->n)
		cap *= 2;
	if ((snap->slots = calloc(cap, sizeof(*snap->slots))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	snap->mask = cap - 1;
	for (size_t k = 0; k < snap->n; k++) {
		const char *id = snap->rec[k].id;
		size_t i = id_hash(id) & snap->mask;

		for (; snap->slots[i] != 0; i = (i + 1) & snap->mask)
			if (memcmp(snap->rec[snap->slots[i] - 1].id, id,
				   PAL_APIKEY_ID_LEN) == 0)
				return pal_err_set(err, PAL_ERR_FORMAT,
						   "key %s: twice", id);
		snap->slots[i] = (uint32_t)(k + 1);
	}
	return 0;
}

int
pal_apikey_snapshot_load(struct pal_apikey_store *s,
			 struct pal_apikey_snapshot **out,
			 struct pal_err *err)
{
	struct pal_apikey_snapshot *snap = calloc(1, sizeof(*snap));
	struct load_ctx l = { snap, 0, err };
	int rc;

	*out = NULL;
	if (snap == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	atomic_init(&snap->refs, 1);
	snap->store = s->serial;
	/*
	 * The stamp is read before the rows: a commit in between makes the
	 * next check report a change that is already loaded (a harmless
	 * reload), never the reverse.
	 */
	rc = stamp(s, &snap->data_version, &snap->total_changes, err);
	if (rc == 0)
		rc = apikey_select(s, NULL, 1, load_one, &l, err);
	if (rc == 0)
		rc = build_index(snap, err);
	if (rc < 0) {
		pal_apikey_snapshot_unref(snap);
		return rc;
	}
	*out = snap;
	return 0;
}

int
pal_apikey_store_changed(struct pal_apikey_store *s,
			 const struct pal_apikey_snapshot *snap,
			 int *changed, struct pal_err *err)
{
	int64_t version, changes;

	*changed = 1;
	if (snap == NULL || snap->store != s->serial)
		return 0;
	int rc = stamp(s, &version, &changes, err);
	if (rc < 0)
		return rc;
	*changed = version != snap->data_version ||
		changes != snap->total_changes;
	return 0;
}

/* ---- checking a token ---- */

static int
refuse(struct pal_apikey_result *res, enum pal_apikey_status st,
       struct pal_err *err)
{
	res->status = st;
	res->record = NULL;
	return pal_err_set(err, PAL_ERR_VERIFY, "API key %s: %s",
			   res->id[0] ? res->id : "(none)",
			   pal_apikey_status_name(st));
}

int
pal_apikey_verify(const struct pal_apikey_snapshot *snap,
		  const struct pal_apikey_token *t, int64_t now,
		  struct pal_apikey_result *res, struct pal_err *err)
{
	/* An unknown id is checked against this salt and no hash. */
	static const uint8_t no_salt[PAL_APIKEY_SALT_LEN];
	uint8_t mac[PAL_APIKEY_HASH_LEN];
	const struct pal_apikey_record *r;

	memset(res, 0, sizeof(*res));
	res->status = PAL_APIKEY_MALFORMED;
	if (!apikey_id_valid(t->id))
		return refuse(res, PAL_APIKEY_MALFORMED, err);
	memcpy(res->id, t->id, sizeof(res->id));
	r = pal_apikey_snapshot_find(snap, t->id);
	int rc = apikey_mac(r ? r->salt : no_salt, t->id, t->secret, mac,
			    err);
	if (rc < 0)
		return rc;
	int same = r != NULL && CRYPTO_memcmp(mac, r->hash, sizeof(mac)) == 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	if (r == NULL)
		return refuse(res, PAL_APIKEY_UNKNOWN, err);
	if (!same)
		return refuse(res, PAL_APIKEY_WRONG_SECRET, err);
	if (r->revoked != 0)
		return refuse(res, PAL_APIKEY_REVOKED, err);
	if (r->expires != 0 && now >= r->expires)
		return refuse(res, PAL_APIKEY_EXPIRED, err);
	res->status = PAL_APIKEY_OK;
	res->record = r;
	return 0;
}

int
pal_apikey_authenticate(const struct pal_apikey_snapshot *snap,
			const char *value, size_t len, int64_t now,
			struct pal_apikey_result *res, struct pal_err *err)
{
	struct pal_apikey_token t;
	int rc;

	memset(res, 0, sizeof(*res));
	res->status = PAL_APIKEY_MALFORMED;
	if (value == NULL)
		return pal_err_set(err, PAL_ERR_VERIFY, "no Authorization");
	if (pal_apikey_bearer_parse(value, len, &t, err) < 0) {
		if (err != NULL)
			err->code = PAL_ERR_VERIFY;
		return PAL_ERR_VERIFY;
	}
	rc = pal_apikey_verify(snap, &t, now, res, err);
	pal_apikey_token_wipe(&t);
	return rc;
}

/* ---- handing snapshots to event loops ---- */

int
pal_apikey_current_new(struct pal_apikey_current **out, struct pal_err *err)
{
	struct pal_apikey_current *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return pal_err_set(err, PAL_ERR_SYSTEM, "pthread_mutex_init");
	}
	atomic_init(&c->gen, 0);
	*out = c;
	return 0;
}

void
pal_apikey_current_free(struct pal_apikey_current *c)
{
	if (c == NULL)
		return;
	pal_apikey_snapshot_unref(c->snap);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void
pal_apikey_current_set(struct pal_apikey_current *c,
		       struct pal_apikey_snapshot *snap)
{
	struct pal_apikey_snapshot *old;

	pthread_mutex_lock(&c->mu);
	old = c->snap;
	c->snap = snap;
	atomic_fetch_add_explicit(&c->gen, 1, memory_order_release);
	pthread_mutex_unlock(&c->mu);
	pal_apikey_snapshot_unref(old);
}

const struct pal_apikey_snapshot *
pal_apikey_view_refresh(struct pal_apikey_view *v,
			struct pal_apikey_current *c)
{
	uint64_t gen = atomic_load_explicit(&c->gen, memory_order_acquire);
	struct pal_apikey_snapshot *old = v->snap;

	if (v->snap != NULL && gen == v->gen)
		return v->snap;
	pthread_mutex_lock(&c->mu);
	v->snap = pal_apikey_snapshot_ref(c->snap);
	v->gen = atomic_load_explicit(&c->gen, memory_order_relaxed);
	pthread_mutex_unlock(&c->mu);
	pal_apikey_snapshot_unref(old);
	return v->snap;
}

void
pal_apikey_view_release(struct pal_apikey_view *v)
{
	pal_apikey_snapshot_unref(v->snap);
	v->snap = NULL;
	v->gen = 0;
}
