/*
 * ratelimit_table.c - a sharded, bounded LRU map (ratelimit_int.h).
 *
 * Per shard: entries live in one array; a bucket array heads singly
 * linked hash chains (index + 1, 0 ends), and a doubly linked list orders
 * entries from most to least recently used.  A full shard reuses its
 * least recently used entry for a new key.  Everything is sized at
 * creation, so that an attacker who makes up keys (source addresses) can
 * only push old entries out, never grow the process.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "ratelimit_int.h"

#define NIL UINT32_MAX

/* gw_table_with picks a shard by the hash's top 6 bits. */
_Static_assert(GW_TABLE_SHARDS == 64, "shards are the top 6 hash bits");

struct entry {
	uint64_t hash;
	uint32_t chain;			/* next in the bucket, or NIL */
	uint32_t newer, older;		/* LRU neighbours, or NIL */
	uint8_t klen;
	uint8_t key[GW_TABLE_KEY_MAX];
};

struct shard {
	pthread_mutex_t mu;
	struct entry *e;
	unsigned char *values;		/* cap * value_size */
	uint32_t *bucket;		/* nbuckets heads, NIL empty */
	uint32_t nbuckets;		/* a power of two */
	uint32_t used, cap;
	uint32_t newest, oldest;	/* LRU ends, NIL when empty */
	int live;			/* the mutex is initialized */
};

struct gw_table {
	size_t value_size;
	uint64_t seed[2];
	struct shard shard[GW_TABLE_SHARDS];
};

/*
 * A keyed mix of the key's bytes (not a MAC, but with a secret seed the
 * chains a key lands in cannot be predicted from outside).
 */
static uint64_t
key_hash(const struct gw_table *t, const uint8_t *key, size_t klen)
{
	uint64_t h = t->seed[0] ^ (klen * 0x9e3779b97f4a7c15ULL);

	for (size_t i = 0; i < klen; i++) {
		h ^= key[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	h ^= t->seed[1];
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static int
shard_init(struct shard *s, uint32_t cap, size_t value_size)
{
	uint32_t nb = 4;

	while (nb < cap)
		nb *= 2;
	s->cap = cap;
	s->nbuckets = nb;
	s->newest = s->oldest = NIL;
	s->e = calloc(cap, sizeof(*s->e));
	s->values = calloc(cap, value_size);
	s->bucket = malloc(nb * sizeof(*s->bucket));
	if (s->e == NULL || s->values == NULL || s->bucket == NULL)
		return PAL_ERR_NOMEM;
	memset(s->bucket, 0xff, nb * sizeof(*s->bucket));
	if (pthread_mutex_init(&s->mu, NULL) != 0)
		return PAL_ERR_SYSTEM;
	s->live = 1;
	return 0;
}

void
gw_table_free(struct gw_table *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < GW_TABLE_SHARDS; i++) {
		struct shard *s = &t->shard[i];

		if (s->live)
			pthread_mutex_destroy(&s->mu);
		free(s->e);
		free(s->values);
		free(s->bucket);
	}
	free(t);
}

int
gw_table_new(size_t max_entries, size_t value_size, struct gw_table **out,
	     struct pal_err *err)
{
	*out = NULL;
	if (max_entries == 0 || max_entries > (1u << 28) || value_size == 0 ||
	    value_size > 256)
		return pal_err_set(err, PAL_ERR_INVALID, "table of %zu "
				   "entries of %zu bytes", max_entries,
				   value_size);
	struct gw_table *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	t->value_size = value_size;
	if (RAND_bytes((unsigned char *)t->seed, sizeof(t->seed)) != 1) {
		free(t);
		return pal_err_set(err, PAL_ERR_CRYPTO, "no random bytes");
	}
	size_t per = (max_entries + GW_TABLE_SHARDS - 1) / GW_TABLE_SHARDS;
	if (per < 4)
		per = 4;
	for (int i = 0; i < GW_TABLE_SHARDS; i++) {
		int rc = shard_init(&t->shard[i], (uint32_t)per, value_size);

		if (rc < 0) {
			gw_table_free(t);
			return pal_err_set(err, rc, rc == PAL_ERR_NOMEM ?
					   "out of memory" :
					   "pthread_mutex_init");
		}
	}
	*out = t;
	return 0;
}

static void
lru_unlink(struct shard *s, uint32_t i)
{
	struct entry *e = &s->e[i];

	if (e->newer != NIL)
		s->e[e->newer].older = e->older;
	else
		s->newest = e->older;
	if (e->older != NIL)
		s->e[e->older].newer = e->newer;
	else
		s->oldest = e->newer;
}

static void
lru_push(struct shard *s, uint32_t i)
{
	struct entry *e = &s->e[i];

	e->newer = NIL;
	e->older = s->newest;
	if (s->newest != NIL)
		s->e[s->newest].newer = i;
	s->newest = i;
	if (s->oldest == NIL)
		s->oldest = i;
}

static void
chain_unlink(struct shard *s, uint32_t i)
{
	uint32_t *p = &s->bucket[s->e[i].hash & (s->nbuckets - 1)];

	while (*p != i)
		p = &s->e[*p].chain;
	*p = s->e[i].chain;
}

static uint32_t
find(const struct shard *s, uint64_t h, const uint8_t *key, size_t klen)
{
	for (uint32_t i = s->bucket[h & (s->nbuckets - 1)]; i != NIL;
	     i = s->e[i].chain) {
		const struct entry *e = &s->e[i];

		if (e->hash == h && e->klen == klen &&
		    memcmp(e->key, key, klen) == 0)
			return i;
	}
	return NIL;
}

/* A slot for a new key: unused, or the least recently used one. */
static uint32_t
take_slot(struct shard *s)
{
	uint32_t i;

	if (s->used < s->cap)
		return s->used++;
	i = s->oldest;
	lru_unlink(s, i);
	chain_unlink(s, i);
	return i;
}

static uint32_t
insert(struct gw_table *t, struct shard *s, uint64_t h, const uint8_t *key,
       size_t klen)
{
	uint32_t i = take_slot(s);
	struct entry *e = &s->e[i];
	uint32_t *head = &s->bucket[h & (s->nbuckets - 1)];

	e->hash = h;
	e->klen = (uint8_t)klen;
	memset(e->key, 0, sizeof(e->key));
	memcpy(e->key, key, klen);
	e->chain = *head;
	*head = i;
	memset(s->values + (size_t)i * t->value_size, 0, t->value_size);
	lru_push(s, i);
	return i;
}

int
gw_table_with(struct gw_table *t, const void *key, size_t klen, int create,
	      void (*fn)(void *value, int fresh, void *arg), void *arg)
{
	if (klen == 0 || klen > GW_TABLE_KEY_MAX)
		return 0;
	uint64_t h = key_hash(t, key, klen);
	struct shard *s = &t->shard[h >> 58];	/* top 6 bits: 64 shards */
	int fresh = 0;

	pthread_mutex_lock(&s->mu);
	uint32_t i = find(s, h, key, klen);
	if (i == NIL && create) {
		i = insert(t, s, h, key, klen);
		fresh = 1;
	} else if (i != NIL && s->newest != i) {
		lru_unlink(s, i);
		lru_push(s, i);
	}
	if (i != NIL)
		fn(s->values + (size_t)i * t->value_size, fresh, arg);
	pthread_mutex_unlock(&s->mu);
	return i != NIL;
}

size_t
gw_table_count(struct gw_table *t)
{
	size_t n = 0;

	for (int i = 0; i < GW_TABLE_SHARDS; i++) {
		pthread_mutex_lock(&t->shard[i].mu);
		n += t->shard[i].used;
		pthread_mutex_unlock(&t->shard[i].mu);
	}
	return n;
}
