/*
 * abuse.c - the per-key table of extraction and probing signals
 * (abuse.h).
 *
 * Keys are spread over shards by a seeded hash of their id; a shard is a
 * chained hash table, an LRU list and a mutex.  A key's entry holds its
 * window counts in PAL_ABUSE_SLOTS slots (each tagged with the slot
 * number it counts, so stale slots are recognised without a timer) and a
 * ring of the sketches of its last prompts.  When a shard is full the
 * least recently seen key's entry is reused for the new key, so that the
 * table never holds more than max_keys entries and, once full, allocates
 * nothing.  Each shard holds a copy of the policy's numbers, so that an
 * observation reads them under the lock it already holds.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "palisade/abuse.h"
#include "palisade/text.h"
#include "abuse_int.h"

#define DEFAULT_MAX_KEYS 10000
#define DEFAULT_HISTORY 32
#define DEFAULT_SHARDS 16
#define MAX_SHARDS 1024

/* The policy's numbers, as a shard uses them. */
struct limits {
	uint32_t window_s;
	uint32_t slot_s;		/* ceil(window_s / PAL_ABUSE_SLOTS) */
	uint32_t slots;			/* slots that cover the window */
	uint32_t threshold[PAL_ABUSE_SIGNALS];
	unsigned near_bits;
	int block;
};

struct slot {
	int64_t number;			/* now / slot_s when it counted */
	uint32_t count[PAL_ABUSE_SIGNALS];
};

struct seen {
	struct abuse_sketch sketch;
	int64_t at;
};

struct key {
	struct key *hnext;		/* hash chain */
	struct key *prev, *next;	/* LRU list, most recent first */
	uint64_t hash;
	int64_t last_s;
	uint32_t slot_s;		/* the slot width its slots count */
	uint32_t latched;		/* signals fired and not yet re-armed */
	uint32_t ring_next, ring_len;
	struct slot slots[PAL_ABUSE_SLOTS];
	char id[PAL_ABUSE_KEY_MAX + 1];
	struct seen ring[];		/* history entries */
};

struct shard {
	pthread_mutex_t lock;
	struct key **buckets;
	size_t mask;			/* buckets - 1 */
	size_t n, max;
	struct key *head, *tail;
	struct limits lim;
};

struct pal_abuse_table {
	struct shard *shards;
	uint32_t n_shards;
	uint32_t history;
	uint64_t seed;
};

/* ---------------------------------------------------------------------
 * The policy.
 */

static int
check_policy(const struct pal_gw_abuse_policy *p, struct limits *lim,
	     struct pal_err *err)
{
	if (p->window_s == 0 || p->window_s > PAL_ABUSE_WINDOW_MAX)
		return pal_err_set(err, PAL_ERR_INVALID, "abuse policy: "
				   "window_s is %u, not between 1 and %u",
				   p->window_s, PAL_ABUSE_WINDOW_MAX);
	if (!(p->near_dup_similarity >= 0 && p->near_dup_similarity <= 1))
		return pal_err_set(err, PAL_ERR_INVALID, "abuse policy: "
				   "near_dup_similarity is %g, not between 0 "
				   "and 1", p->near_dup_similarity);
	memset(lim, 0, sizeof(*lim));
	lim->window_s = p->window_s;
	lim->slot_s = (p->window_s + PAL_ABUSE_SLOTS - 1) / PAL_ABUSE_SLOTS;
	lim->slots = (p->window_s + lim->slot_s - 1) / lim->slot_s;
	lim->threshold[PAL_ABUSE_RATE] = p->max_rate;
	lim->threshold[PAL_ABUSE_NEAR_DUP] = p->near_dup_count;
	lim->threshold[PAL_ABUSE_VARIATION] = p->variation_count;
	lim->near_bits = abuse_near_bits(p->near_dup_similarity);
	lim->block = p->block != 0;
	return 0;
}

int
pal_abuse_set_policy(struct pal_abuse_table *t,
		     const struct pal_gw_abuse_policy *policy,
		     struct pal_err *err)
{
	struct limits lim;
	int rc;

	if ((rc = check_policy(policy, &lim, err)) != 0)
		return rc;
	for (uint32_t i = 0; i < t->n_shards; i++) {
		pthread_mutex_lock(&t->shards[i].lock);
		t->shards[i].lim = lim;
		pthread_mutex_unlock(&t->shards[i].lock);
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * The table.
 */

static uint32_t
pow2_at_least(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static int
check_opts(const struct pal_abuse_opts *o, size_t *max_keys,
	   uint32_t *history, uint32_t *shards, struct pal_err *err)
{
	*max_keys = o != NULL && o->max_keys ? o->max_keys : DEFAULT_MAX_KEYS;
	*history = o != NULL && o->history ? o->history : DEFAULT_HISTORY;
	*shards = o != NULL && o->shards ? o->shards : DEFAULT_SHARDS;
	if (*shards > MAX_SHARDS)
		return pal_err_set(err, PAL_ERR_INVALID, "abuse table: %u "
				   "shards, more than %u", *shards,
				   MAX_SHARDS);
	*shards = pow2_at_least(*shards);
	if (*history > PAL_ABUSE_HISTORY_MAX)
		return pal_err_set(err, PAL_ERR_INVALID, "abuse table: "
				   "history of %u prompts, more than %u",
				   *history, PAL_ABUSE_HISTORY_MAX);
	if (*max_keys < *shards || *max_keys > (size_t)1 << 30)
		return pal_err_set(err, PAL_ERR_INVALID, "abuse table: "
				   "max_keys %zu is not between the %u shards "
				   "and 2^30", *max_keys, *shards);
	return 0;
}

static int
shard_init(struct shard *s, size_t max, const struct limits *lim)
{
	size_t nb = pow2_at_least((uint32_t)max);

	if ((s->buckets = calloc(nb, sizeof(*s->buckets))) == NULL)
		return -1;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s->buckets);
		s->buckets = NULL;
		return -1;
	}
	s->mask = nb - 1;
	s->max = max;
	s->lim = *lim;
	return 0;
}

int
pal_abuse_table_new(const struct pal_gw_abuse_policy *policy,
		    const struct pal_abuse_opts *opts,
		    struct pal_abuse_table **out, struct pal_err *err)
{
	struct pal_abuse_table *t;
	struct limits lim;
	size_t max_keys;
	uint32_t history, shards;
	int rc;

	*out = NULL;
	if ((rc = check_policy(policy, &lim, err)) != 0 ||
	    (rc = check_opts(opts, &max_keys, &history, &shards, err)) != 0)
		return rc;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->shards = calloc(shards, sizeof(*t->shards))) == NULL) {
		free(t);
		return pal_err_set(err, PAL_ERR_NOMEM, "abuse table: out of "
				   "memory");
	}
	t->history = history;
	if (RAND_bytes((unsigned char *)&t->seed, sizeof(t->seed)) != 1)
		t->seed = (uint64_t)(uintptr_t)t;
	for (; t->n_shards < shards; t->n_shards++) {
		if (shard_init(&t->shards[t->n_shards],
			       (max_keys + shards - 1) / shards, &lim) != 0) {
			pal_abuse_table_free(t);
			return pal_err_set(err, PAL_ERR_NOMEM, "abuse table: "
					   "out of memory");
		}
	}
	*out = t;
	return 0;
}

void
pal_abuse_table_free(struct pal_abuse_table *t)
{
	if (t == NULL)
		return;
	for (uint32_t i = 0; i < t->n_shards; i++) {
		struct shard *s = &t->shards[i];
		struct key *k = s->head, *next;

		for (; k != NULL; k = next) {
			next = k->next;
			free(k);
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(t->shards);
	free(t);
}

/* ---------------------------------------------------------------------
 * Keys in a shard.
 */

static uint64_t
key_hash(const struct pal_abuse_table *t, const char *id, size_t n)
{
	uint64_t h = t->seed ^ UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)id[i]) * UINT64_C(0x100000001b3);
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h;
}

static struct shard *
shard_of(struct pal_abuse_table *t, uint64_t hash)
{
	return &t->shards[hash & (t->n_shards - 1)];
}

/* Bucket of a hash within a shard: the bits the shard choice left. */
static struct key **
bucket(struct shard *s, uint64_t hash)
{
	return &s->buckets[(hash >> 10) & s->mask];
}

static struct key *
find(struct shard *s, uint64_t hash, const char *id)
{
	struct key *k = *bucket(s, hash);

	for (; k != NULL; k = k->hnext)
		if (k->hash == hash && strcmp(k->id, id) == 0)
			return k;
	return NULL;
}

static void
lru_unlink(struct shard *s, struct key *k)
{
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		s->head = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	else
		s->tail = k->prev;
	k->prev = k->next = NULL;
}

static void
lru_push(struct shard *s, struct key *k)
{
	k->next = s->head;
	k->prev = NULL;
	if (s->head != NULL)
		s->head->prev = k;
	s->head = k;
	if (s->tail == NULL)
		s->tail = k;
}

/* Takes k out of the shard (hash chain and LRU list); does not free. */
static void
detach(struct shard *s, struct key *k)
{
	struct key **pp = bucket(s, k->hash);

	while (*pp != k)
		pp = &(*pp)->hnext;
	*pp = k->hnext;
	k->hnext = NULL;
	lru_unlink(s, k);
	s->n--;
}

/*
 * The entry of a key not in the shard: a new one, or the least recently
 * seen key's when the shard is full.  NULL when memory ran out.
 */
static struct key *
admit(struct shard *s, size_t history, uint64_t hash, const char *id,
      size_t id_len)
{
	size_t size = sizeof(struct key) + history * sizeof(struct seen);
	struct key *k;

	if (s->n >= s->max && s->tail != NULL) {
		k = s->tail;
		detach(s, k);
		memset(k, 0, size);
	} else if ((k = calloc(1, size)) == NULL) {
		return NULL;
	}
	k->hash = hash;
	memcpy(k->id, id, id_len + 1);
	k->hnext = *bucket(s, hash);
	*bucket(s, hash) = k;
	lru_push(s, k);
	s->n++;
	return k;
}

/* ---------------------------------------------------------------------
 * Observing a request.
 */

/* The slot of now, emptied when it last counted an older slot number. */
static struct slot *
slot_now(struct key *k, const struct limits *lim, int64_t now)
{
	int64_t number = now / lim->slot_s;
	struct slot *sl = &k->slots[number % PAL_ABUSE_SLOTS];

	if (k->slot_s != lim->slot_s) {
		/* The window changed with a reload: the counts restart. */
		memset(k->slots, 0, sizeof(k->slots));
		for (unsigned i = 0; i < PAL_ABUSE_SLOTS; i++)
			k->slots[i].number = -1;
		k->slot_s = lim->slot_s;
	}
	if (sl->number != number) {
		memset(sl, 0, sizeof(*sl));
		sl->number = number;
	}
	return sl;
}

static void
window_counts(const struct key *k, const struct limits *lim, int64_t now,
	      uint32_t count[PAL_ABUSE_SIGNALS])
{
	int64_t number = now / lim->slot_s;

	memset(count, 0, PAL_ABUSE_SIGNALS * sizeof(count[0]));
	for (unsigned i = 0; i < PAL_ABUSE_SLOTS; i++) {
		const struct slot *sl = &k->slots[i];

		if (sl->number < 0 || sl->number > number ||
		    number - sl->number >= lim->slots)
			continue;
		for (unsigned s = 0; s < PAL_ABUSE_SIGNALS; s++)
			count[s] += sl->count[s];
	}
}

/* Compares the prompt with the key's recent ones, then remembers it. */
static void
compare_and_keep(struct key *k, size_t history, const struct limits *lim,
		 const struct abuse_sketch *sk, int64_t now, int *near,
		 int *variation)
{
	*near = *variation = 0;
	if (sk->words == 0 || history == 0)
		return;
	for (uint32_t i = 0; i < k->ring_len && !(*near && *variation); i++) {
		const struct seen *e = &k->ring[i];

		if (now - e->at >= lim->window_s)
			continue;
		if (!*near && abuse_is_near(&e->sketch, sk, lim->near_bits))
			*near = 1;
		if (!*variation && abuse_is_variation(&e->sketch, sk))
			*variation = 1;
	}
	k->ring[k->ring_next].sketch = *sk;
	k->ring[k->ring_next].at = now;
	k->ring_next = (uint32_t)((k->ring_next + 1) % history);
	if (k->ring_len < history)
		k->ring_len++;
}

/* Fires each signal that reached its threshold and re-arms the others. */
static void
judge(struct key *k, const struct limits *lim, struct pal_abuse_verdict *v)
{
	for (unsigned s = 0; s < PAL_ABUSE_SIGNALS; s++) {
		uint32_t thr = lim->threshold[s], bit = PAL_ABUSE_BIT(s);

		v->threshold[s] = thr;
		if (thr == 0) {
			k->latched &= ~bit;
			continue;
		}
		if ((k->latched & bit) && v->count[s] <= thr / 2)
			k->latched &= ~bit;
		if (v->count[s] >= thr) {
			v->active |= bit;
			if (!(k->latched & bit)) {
				k->latched |= bit;
				v->fired |= bit;
			}
		}
	}
	v->block = v->fired != 0 && lim->block;
	v->window_s = lim->window_s;
}

static void
record(struct key *k, size_t history, const struct limits *lim,
       const struct abuse_sketch *sk, int64_t now,
       struct pal_abuse_verdict *v)
{
	struct slot *sl;
	int near, variation;

	if (now < k->last_s)
		now = k->last_s;
	k->last_s = now;
	compare_and_keep(k, history, lim, sk, now, &near, &variation);
	sl = slot_now(k, lim, now);
	sl->count[PAL_ABUSE_RATE]++;
	sl->count[PAL_ABUSE_NEAR_DUP] += (uint32_t)near;
	sl->count[PAL_ABUSE_VARIATION] += (uint32_t)variation;
	window_counts(k, lim, now, v->count);
	v->now_s = now;
	judge(k, lim, v);
}

/* The text of the request's last user message, or NULL. */
static const struct pal_inject_span *
prompt_of(const struct pal_inject_span *spans, size_t n)
{
	for (size_t i = n; i > 0; i--)
		if (spans[i - 1].role == PAL_INJECT_USER)
			return &spans[i - 1];
	return NULL;
}

static int
check_id(const char *id, size_t *len, struct pal_err *err)
{
	size_t n = id != NULL ? strnlen(id, PAL_ABUSE_KEY_MAX + 1) : 0;

	*len = n;
	if (n == 0 || n > PAL_ABUSE_KEY_MAX)
		return pal_err_set(err, PAL_ERR_INVALID, "abuse: a key id must "
				   "be 1 to %d bytes", PAL_ABUSE_KEY_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
			return pal_err_set(err, PAL_ERR_INVALID, "abuse: a key "
					   "id holds a control character");
	if (!pal_utf8_valid(id, n))
		return pal_err_set(err, PAL_ERR_INVALID, "abuse: a key id is "
				   "not valid UTF-8");
	return 0;
}

int
pal_abuse_observe(struct pal_abuse_table *t, const char *key_id,
		  int64_t now_s, const struct pal_inject_span *spans,
		  size_t n, struct pal_abuse_verdict *v, struct pal_err *err)
{
	const struct pal_inject_span *prompt = prompt_of(spans, n);
	struct abuse_sketch sk;
	struct shard *s;
	struct key *k;
	uint64_t hash;
	size_t len;
	int rc;

	memset(v, 0, sizeof(*v));
	if ((rc = check_id(key_id, &len, err)) != 0)
		return rc;
	if (prompt != NULL)
		abuse_sketch(prompt->text, prompt->len, &sk);
	else
		memset(&sk, 0, sizeof(sk));
	if (now_s < 0)
		now_s = 0;
	hash = key_hash(t, key_id, len);
	s = shard_of(t, hash);
	pthread_mutex_lock(&s->lock);
	if ((k = find(s, hash, key_id)) != NULL) {
		lru_unlink(s, k);
		lru_push(s, k);
	} else if ((k = admit(s, t->history, hash, key_id, len)) == NULL) {
		pthread_mutex_unlock(&s->lock);
		return pal_err_set(err, PAL_ERR_NOMEM, "abuse: out of memory");
	}
	record(k, t->history, &s->lim, &sk, now_s, v);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void
pal_abuse_forget(struct pal_abuse_table *t, const char *key_id)
{
	struct shard *s;
	struct key *k;
	uint64_t hash;
	size_t len;

	if (check_id(key_id, &len, NULL) != 0)
		return;
	hash = key_hash(t, key_id, len);
	s = shard_of(t, hash);
	pthread_mutex_lock(&s->lock);
	if ((k = find(s, hash, key_id)) != NULL)
		detach(s, k);
	pthread_mutex_unlock(&s->lock);
	free(k);
}

size_t
pal_abuse_count(struct pal_abuse_table *t)
{
	size_t n = 0;

	for (uint32_t i = 0; i < t->n_shards; i++) {
		pthread_mutex_lock(&t->shards[i].lock);
		n += t->shards[i].n;
		pthread_mutex_unlock(&t->shards[i].lock);
	}
	return n;
}

const char *
pal_abuse_signal_name(enum pal_abuse_signal s)
{
	switch (s) {
	case PAL_ABUSE_RATE:
		return "rate";
	case PAL_ABUSE_NEAR_DUP:
		return "near_duplicate";
	case PAL_ABUSE_VARIATION:
		return "variation";
	default:
		return "unknown";
	}
}
