/*
 * tile_cache.c - the tiles a tile directory keeps in memory (tile_int.h):
 * an open-addressed index with linear probing, and recency lists threaded
 * through the slots, so that a hit, a miss and an eviction cost the same
 * however large the cache is.
 */
#include <stdlib.h>
#include <string.h>

#include "tile_int.h"

#define NIL UINT32_MAX

static size_t
home(const struct tile_cache *c, int level, uint64_t n, unsigned w)
{
	uint64_t x = n * 0x9e3779b97f4a7c15ull;

	x ^= ((uint64_t)(unsigned)level << 9 | w) * 0xc2b2ae3d27d4eb4full;
	x ^= x >> 29;
	return (size_t)x & c->index_mask;
}

static size_t
slot_home(const struct tile_cache *c, uint32_t id)
{
	const struct tile_slot *s = &c->slots[id];

	return home(c, s->level, s->n, s->w);
}

static struct tile_lru *
lru_of(struct tile_cache *c, int level)
{
	return &c->lru[level == 0 ? 0 : 1];
}

static void
lru_unlink(struct tile_cache *c, struct tile_lru *l, uint32_t id)
{
	struct tile_slot *s = &c->slots[id];

	if (s->prev != NIL)
		c->slots[s->prev].next = s->next;
	else
		l->head = s->next;
	if (s->next != NIL)
		c->slots[s->next].prev = s->prev;
	else
		l->tail = s->prev;
	l->count--;
}

static void
lru_push(struct tile_cache *c, struct tile_lru *l, uint32_t id)
{
	struct tile_slot *s = &c->slots[id];

	s->prev = NIL;
	s->next = l->head;
	if (l->head != NIL)
		c->slots[l->head].prev = id;
	else
		l->tail = id;
	l->head = id;
	l->count++;
	s->used = ++c->clock;
}

int
tile_cache_init(struct tile_cache *c, size_t n, struct pal_err *err)
{
	size_t cap = 2;

	memset(c, 0, sizeof(*c));
	/* At most half full, so that probe runs stay short. */
	while (cap < 2 * n)
		cap *= 2;
	c->slots = calloc(n, sizeof(*c->slots));
	c->index = calloc(cap, sizeof(*c->index));
	if (c->slots == NULL || c->index == NULL) {
		tile_cache_free(c);
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory for "
				   "%zu cached tiles", n);
	}
	c->n_slots = n;
	c->index_mask = cap - 1;
	for (int i = 0; i < 2; i++)
		c->lru[i] = (struct tile_lru){ NIL, NIL, 0 };
	return 0;
}

void
tile_cache_free(struct tile_cache *c)
{
	free(c->slots);
	free(c->index);
	memset(c, 0, sizeof(*c));
}

struct tile_slot *
tile_cache_get(struct tile_cache *c, int level, uint64_t n, unsigned w)
{
	for (size_t i = home(c, level, n, w); c->index[i] != 0;
	     i = (i + 1) & c->index_mask) {
		uint32_t id = c->index[i] - 1;
		struct tile_slot *s = &c->slots[id];
		if (s->level == level && s->n == n && s->w == w) {
			struct tile_lru *l = lru_of(c, level);
			lru_unlink(c, l, id);
			lru_push(c, l, id);
			return s;
		}
	}
	return NULL;
}

/*
 * Removes slot id from the index, moving later entries of its probe run
 * back into the hole unless their home lies cyclically in (hole, them].
 */
static void
index_remove(struct tile_cache *c, uint32_t id)
{
	size_t i = slot_home(c, id), j;

	while (c->index[i] != id + 1)
		i = (i + 1) & c->index_mask;
	for (j = (i + 1) & c->index_mask; c->index[j] != 0;
	     j = (j + 1) & c->index_mask) {
		size_t k = slot_home(c, c->index[j] - 1);
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		c->index[i] = c->index[j];
		i = j;
	}
	c->index[i] = 0;
}

/* The least recently used tile that may go to make room for level. */
static uint32_t
victim(struct tile_cache *c, int level)
{
	const struct tile_lru *l0 = &c->lru[0], *up = &c->lru[1];

	if (level == 0 && l0->count >= (c->n_slots + 1) / 2)
		return l0->tail;
	if (l0->count == 0)
		return up->tail;
	if (up->count == 0)
		return l0->tail;
	return c->slots[l0->tail].used < c->slots[up->tail].used ?
		l0->tail : up->tail;
}

struct tile_slot *
tile_cache_take(struct tile_cache *c, int level)
{
	struct tile_slot *s;

	if (c->spare != NULL) {
		s = c->spare;
		c->spare = NULL;
	} else if (c->n_given < c->n_slots) {
		s = &c->slots[c->n_given++];
	} else {
		uint32_t id = victim(c, level);
		s = &c->slots[id];
		index_remove(c, id);
		lru_unlink(c, lru_of(c, s->level), id);
	}
	s->level = -1;
	memset(s->done, 0, sizeof(s->done));
	return s;
}

void
tile_cache_put(struct tile_cache *c, struct tile_slot *s, int level,
	       uint64_t n, unsigned w)
{
	uint32_t id = (uint32_t)(s - c->slots);
	size_t i;

	s->level = level;
	s->n = n;
	s->w = w;
	for (i = home(c, level, n, w); c->index[i] != 0;
	     i = (i + 1) & c->index_mask)
		;
	c->index[i] = id + 1;
	lru_push(c, lru_of(c, level), id);
}

void
tile_cache_drop(struct tile_cache *c, struct tile_slot *s)
{
	s->level = -1;
	c->spare = s;
}
