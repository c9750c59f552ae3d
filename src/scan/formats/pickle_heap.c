/*
 * pickle_heap.c - the symbolic unpickler's objects and memo.
 *
 * Containers and call results are nodes in one pool per pickle, indexed
 * by 32-bit references and counted: the stack, the memo and other
 * containers hold references, and a node whose count drops to zero is put
 * back on a free list (children released iteratively, so a deeply nested
 * value cannot exhaust the C stack).  Cycles, which a pickle can build
 * through the memo, are not collected; the pool is capped and freed
 * wholesale when the pickle ends.  Container items are kept up to a cap
 * per pickle: beyond it a container is marked partial and what it would
 * have held is released, so that memory follows what the scanner needs,
 * not what the file declares.
 *
 * The memo maps the ids of PUT/BINPUT/LONG_BINPUT/MEMOIZE to values.
 * Picklers number them 0, 1, 2 ...; a hostile stream may use any 32-bit
 * (or, for PUT, 63-bit) id.  Ids that keep the table at least half full
 * go into a dense array, others into a hash table, so the memo's memory
 * is proportional to the number of entries, which the session caps.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pickle_int.h"

/*
 * Items one container keeps; past this it is partial.  What the scanner
 * reads back is small (argument tuples, BUILD states, joblib's array
 * metadata) except PyTorch's list of storage keys; a vocabulary of a
 * million words must not use up what the rest of the file needs.
 */
#define PK_KEEP_LIST (1u << 16)
#define PK_KEEP_DICT 4096u
#define PK_KEEP_OTHER (1u << 20)

/*
 * The node pool and the memo's dense array are each one mapping reserved
 * for the most the pickle may use, faulted in as they are used and never
 * moved, and asking for huge pages: a pickle of millions of small objects
 * then takes a few page faults rather than one per 4 KiB, which would
 * cost more than the parse.  Where no such mapping can be made (a small
 * address-space limit), the arrays grow by realloc.
 */
static void *
map_reserve(size_t want, void **map, size_t *maplen)
{
	size_t align = (size_t)2 << 20, len = want + align;
	uintptr_t a;
	void *p;

	if (want > SIZE_MAX - align)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	(void)madvise((void *)a, want, MADV_HUGEPAGE);
	*map = p;
	*maplen = len;
	return (void *)a;
}

/* Below this many entries, realloc is as good. */
#define PK_MAP_MIN 4096

static int
grow_nodes(struct pk_vm *vm)
{
	uint32_t ncap;
	void *p;

	if (vm->cap_nodes >= vm->cx->max_nodes)
		return pal_pickle_fail(vm, PAL_ERR_LIMIT,
		    "more than %u live objects", vm->cx->max_nodes);
	/* Small pickles stay in malloc'ed memory; large ones move once. */
	if (vm->nodes_map == NULL && vm->cap_nodes >= PK_MAP_MIN &&
	    (p = map_reserve((size_t)vm->cx->max_nodes * sizeof(*vm->nodes),
	    &vm->nodes_map, &vm->nodes_maplen)) != NULL) {
		memcpy(p, vm->nodes, vm->nnodes * sizeof(*vm->nodes));
		free(vm->nodes);
		vm->nodes = p;
		ncap = vm->cx->max_nodes;
	} else {
		ncap = vm->cap_nodes ? vm->cap_nodes * 2 : 256;
		if (ncap > vm->cx->max_nodes)
			ncap = vm->cx->max_nodes;
		if (vm->nodes_map != NULL)
			return pal_pickle_fail(vm, PAL_ERR_LIMIT,
			    "more than %u live objects", vm->cx->max_nodes);
		if ((p = realloc(vm->nodes, ncap * sizeof(*vm->nodes))) == NULL)
			return pal_pickle_fail(vm, PAL_ERR_NOMEM,
			    "out of memory");
		vm->nodes = p;
	}
	/* Releasing never allocates: the worklist can hold every node. */
	if ((p = realloc(vm->dead, ncap * sizeof(*vm->dead))) == NULL)
		return pal_pickle_fail(vm, PAL_ERR_NOMEM, "out of memory");
	vm->dead = p;
	vm->cap_dead = ncap;
	vm->cap_nodes = ncap;
	return 0;
}

int
pal_pickle_node_new(struct pk_vm *vm, uint8_t kind, struct pk_val *out)
{
	uint32_t id;
	int r;

	if ((id = pk_node_take(vm, kind)) == PK_NOREF) {
		if ((r = grow_nodes(vm)) != 0)
			return r;
		id = pk_node_take(vm, kind);
	}
	out->head = pk_head(PK_NODE, 0, 0);
	out->u.ref = id;
	return 0;
}

static int
counts_items(const struct pk_node *nd)
{
	return nd->kind != PK_N_OBJECT && nd->kind != PK_N_PERSID;
}

/*
 * Item arrays of 8 to 256 values come from slabs owned by the pickle and
 * are recycled through free lists, one per power-of-two size: a stream of
 * small dicts then costs no malloc per dict, and the pickle's end frees
 * them all at once.
 */
#define PK_SLAB_CLASSES 6	/* 8, 16, 32, 64, 128, 256 items */
#define PK_SLAB_LARGEST (8u << (PK_SLAB_CLASSES - 1))
#define PK_SLAB_BYTES (64u << 10)

/* Capacities are powers of two from 8 up (reserve): 8 << class. */
static int
slab_class(size_t cap)
{
	if (cap < 8 || cap > PK_SLAB_LARGEST || (cap & (cap - 1)) != 0)
		return -1;
	return __builtin_ctzll((unsigned long long)cap) - 3;
}

static struct pk_val *
slab_carve(struct pk_vm *vm, size_t bytes)
{
	struct pk_slab *sl = &vm->slab;
	struct pk_val *p;
	void *q;

	if (sl->left < bytes) {
		if (sl->nchunks == sl->cap_chunks) {
			size_t ncap = sl->cap_chunks ? sl->cap_chunks * 2 : 16;

			q = realloc(sl->chunks, ncap * sizeof(*sl->chunks));
			if (q == NULL)
				return NULL;
			sl->chunks = q;
			sl->cap_chunks = ncap;
		}
		if ((q = malloc(PK_SLAB_BYTES)) == NULL)
			return NULL;
		sl->chunks[sl->nchunks++] = q;
		sl->next = q;
		sl->left = PK_SLAB_BYTES;
	}
	p = (struct pk_val *)(void *)sl->next;
	sl->next += bytes;
	sl->left -= bytes;
	return p;
}

static inline struct pk_val *
items_alloc(struct pk_vm *vm, size_t cap)
{
	int c = slab_class(cap);
	struct pk_val *p;

	if (c < 0) {
		if ((p = malloc(cap * sizeof(struct pk_val))) != NULL)
			vm->big_arrays++;
		return p;
	}
	if ((p = vm->slab.free[c]) != NULL) {
		/* The next free array's address is kept in this one's bytes. */
		memcpy(&vm->slab.free[c], (const void *)p, sizeof(struct pk_val *));
		return p;
	}
	return slab_carve(vm, cap * sizeof(struct pk_val));
}

static inline void
items_free(struct pk_vm *vm, struct pk_val *p, size_t cap)
{
	int c = slab_class(cap);

	if (p == NULL)
		return;
	if (c < 0) {
		free(p);
		vm->big_arrays--;
		return;
	}
	/* The free list is linked through the array's first bytes. */
	memcpy((void *)p, &vm->slab.free[c], sizeof(struct pk_val *));
	vm->slab.free[c] = p;
}

static void
slab_reset(struct pk_vm *vm)
{
	struct pk_slab *sl = &vm->slab;
	size_t i;

	for (i = 0; i < sl->nchunks; i++)
		free(sl->chunks[i]);
	sl->nchunks = 0;
	sl->next = NULL;
	sl->left = 0;
	memset(sl->free, 0, sizeof(sl->free));
}

/* Frees the node at the top of the worklist, queueing its children. */
static void
release_one(struct pk_vm *vm, uint32_t id)
{
	struct pk_node *nd = &vm->nodes[id];
	const struct pk_val *it = nd->items != NULL ? nd->items : nd->in;
	size_t i, n = counts_items(nd) ? nd->n : PK_INLINE;

	for (i = 0; i < n; i++) {
		if (it[i].tag != PK_NODE)
			continue;
		if (--vm->nodes[it[i].u.ref].refs == 0)
			vm->dead[vm->ndead++] = (uint32_t)it[i].u.ref;
	}
	if (counts_items(nd))
		vm->items -= nd->n;
	items_free(vm, nd->items, nd->cap);
	nd->items = NULL;
	nd->kind = PK_N_FREE;
	nd->cls = vm->free_node;
	vm->free_node = id;
	vm->live_nodes--;
}

void
pal_pickle_release(struct pk_vm *vm, uint32_t id)
{
	vm->dead[vm->ndead++] = id;
	while (vm->ndead > 0) {
		uint32_t d = vm->dead[--vm->ndead];

		release_one(vm, d);
	}
}

void
pal_pickle_unref_n(struct pk_vm *vm, const struct pk_val *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		pal_pickle_unref(vm, &v[i]);
}

const struct pk_val *
pal_pickle_items(struct pk_vm *vm, uint32_t ref, size_t *n)
{
	struct pk_node *nd = &vm->nodes[ref];

	*n = nd->n;
	return nd->items != NULL ? nd->items : nd->in;
}

/* Makes room for want items in a node, growing its array; see reserve. */
static int
grow_items(struct pk_vm *vm, struct pk_node *nd, size_t want)
{
	struct pk_val *p;
	size_t ncap;

	for (ncap = nd->cap ? (size_t)nd->cap * 2 : 8; ncap < want; ncap *= 2)
		;
	/* A large array grows in place where it can: no copy, and no
	 * fresh pages to fault in for what it already held. */
	if (nd->items != NULL && slab_class(nd->cap) < 0) {
		if ((p = realloc(nd->items, ncap * sizeof(*p))) == NULL)
			return PAL_ERR_NOMEM;
		nd->items = p;
		nd->cap = (uint32_t)ncap;
		return 0;
	}
	if ((p = items_alloc(vm, ncap)) == NULL)
		return PAL_ERR_NOMEM;
	if (nd->n > 0)
		pk_vals_copy(p, nd->items != NULL ? nd->items : nd->in, nd->n);
	if (nd->items != NULL)
		items_free(vm, nd->items, nd->cap);
	nd->items = p;
	nd->cap = (uint32_t)ncap;
	return 0;
}

/*
 * Makes room for want items in a node; 0, or PAL_ERR_NOMEM.  A node's
 * first array, of eight items, is the commonest case (a small dict): it
 * comes from its free list here, inline.
 */
static inline int
reserve(struct pk_vm *vm, struct pk_node *nd, size_t want)
{
	struct pk_val *p;

	if (nd->items == NULL ? want <= PK_INLINE : want <= nd->cap)
		return 0;
	if (nd->items != NULL || want > 8 || vm->slab.free[0] == NULL)
		return grow_items(vm, nd, want);
	p = vm->slab.free[0];
	memcpy(&vm->slab.free[0], (const void *)p, sizeof(struct pk_val *));
	pk_vals_copy(p, nd->in, nd->n);
	nd->items = p;
	nd->cap = 8;
	return 0;
}

static int
is_container(uint8_t kind)
{
	return kind >= PK_N_TUPLE && kind <= PK_N_FROZENSET;
}

static uint32_t
keep_cap(uint8_t kind)
{
	switch (kind) {
	case PK_N_LIST:		return PK_KEEP_LIST;
	case PK_N_TUPLE:	return PK_KEEP_OTHER;
	default:		return PK_KEEP_DICT;
	}
}

/*
 * A container that went into a list or set gives up its items.  Nothing
 * the scanner reads back sits in a container inside a list or set; a
 * model's bulk (rows, records, nested data) often does, and releasing it
 * keeps the item budget for what follows.  What is dropped is marked
 * partial: a later read of it ends in an error, never in a guess.
 */
static inline void
shed(struct pk_vm *vm, uint32_t id)
{
	struct pk_node *nd = &vm->nodes[id];
	const struct pk_val *it = nd->items != NULL ? nd->items : nd->in;
	size_t i, n = nd->n;

	nd->flags |= PK_NF_PARTIAL;
	nd->n = 0;
	vm->items -= n;
	for (i = 0; i < n; i++)
		if (it[i].tag == PK_NODE && --vm->nodes[it[i].u.ref].refs == 0)
			vm->dead[vm->ndead++] = (uint32_t)it[i].u.ref;
	if (nd->items != NULL)
		items_free(vm, nd->items, nd->cap);
	nd->items = NULL;
	nd->cap = 0;
	while (vm->ndead > 0) {
		uint32_t d = vm->dead[--vm->ndead];

		release_one(vm, d);
	}
}

static void
shed_items(struct pk_vm *vm, uint32_t ref, const struct pk_val *v, size_t n)
{
	const struct pk_node *nd;
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i].tag != PK_NODE || v[i].u.ref == ref)
			continue;
		nd = &vm->nodes[v[i].u.ref];
		if (nd->n > 0 && is_container(nd->kind))
			shed(vm, (uint32_t)v[i].u.ref);
	}
}

/*
 * Moves n values (and the references they carry) into container ref.
 * What does not fit under the caps is released and the container marked
 * partial; dictionaries keep whole key/value pairs.
 */
int
pal_pickle_node_add(struct pk_vm *vm, uint32_t ref, const struct pk_val *v,
    size_t n)
{
	struct pk_node *nd = &vm->nodes[ref];
	size_t keep = n, room, cap = keep_cap(nd->kind);

	/* Dicts and tuples shed nothing; with room under both caps, what
	 * follows keeps every value, and this is all it does. */
	if ((nd->kind == PK_N_DICT || nd->kind == PK_N_TUPLE) &&
	    nd->n + n <= cap && vm->items + n <= vm->cx->max_items) {
		if (reserve(vm, nd, nd->n + n) != 0)
			return pal_pickle_fail(vm, PAL_ERR_NOMEM,
			    "out of memory");
		pk_vals_copy((nd->items != NULL ? nd->items : nd->in) + nd->n,
		    v, n);
		nd->n += (uint32_t)n;
		vm->items += n;
		return 0;
	}
	if (nd->kind == PK_N_LIST || nd->kind == PK_N_SET ||
	    nd->kind == PK_N_FROZENSET)
		shed_items(vm, ref, v, n);
	nd = &vm->nodes[ref];
	room = nd->n < cap ? cap - nd->n : 0;
	if (vm->items >= vm->cx->max_items)
		room = 0;
	else if (room > vm->cx->max_items - vm->items)
		room = (size_t)(vm->cx->max_items - vm->items);
	if (keep > room) {
		keep = nd->kind == PK_N_DICT ? room & ~(size_t)1 : room;
		nd->flags |= PK_NF_PARTIAL;
	}
	if (keep > 0) {
		if (reserve(vm, nd, nd->n + keep) != 0)
			return pal_pickle_fail(vm, PAL_ERR_NOMEM,
			    "out of memory");
		pk_vals_copy((nd->items != NULL ? nd->items : nd->in) + nd->n,
		    v, keep);
		nd->n += (uint32_t)keep;
		vm->items += keep;
	}
	if (keep < n)
		pal_pickle_unref_n(vm, v + keep, n - keep);
	return 0;
}

void
pal_pickle_heap_reset(struct pk_vm *vm)
{
	uint32_t i;

	/* Arrays beyond the largest slab size were malloc'ed one by one;
	 * most pickles have none, and then the pool need not be walked. */
	for (i = 0; i < vm->nnodes && vm->big_arrays > 0; i++) {
		if (vm->nodes[i].kind != PK_N_FREE &&
		    vm->nodes[i].cap > PK_SLAB_LARGEST) {
			free(vm->nodes[i].items);
			vm->big_arrays--;
		}
	}
	slab_reset(vm);
	vm->nnodes = 0;
	vm->free_node = PK_NOREF;
	vm->live_nodes = 0;
	vm->items = 0;
	vm->big_arrays = 0;
	vm->ndead = 0;
}

void
pal_pickle_heap_free(struct pk_vm *vm)
{
	pal_pickle_heap_reset(vm);
	free(vm->slab.chunks);
	vm->slab.chunks = NULL;
	vm->slab.cap_chunks = 0;
	if (vm->nodes_map != NULL)
		munmap(vm->nodes_map, vm->nodes_maplen);
	else
		free(vm->nodes);
	vm->nodes_map = NULL;
	free(vm->dead);
	vm->nodes = NULL;
	vm->dead = NULL;
	vm->cap_nodes = 0;
	vm->cap_dead = 0;
}

/* Memo. */

static size_t
hash_slot(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

/* The hashed value of key, or NULL when key is not there. */
static struct pk_val *
hash_find(struct pk_memo *m, uint64_t key)
{
	size_t i;

	if (m->hcap == 0)
		return NULL;
	for (i = hash_slot(key, m->hcap); m->hvals[i].tag != PK_EMPTY;
	    i = (i + 1) & (m->hcap - 1))
		if (m->hkeys[i] == key)
			return &m->hvals[i];
	return NULL;
}

static int
hash_insert(struct pk_memo *m, uint64_t key, const struct pk_val *v)
{
	size_t i;

	if ((m->hused + 1) * 2 > m->hcap) {
		size_t ncap = m->hcap ? m->hcap * 2 : 64, j;
		uint64_t *nk = calloc(ncap, sizeof(*nk));
		struct pk_val *nv = calloc(ncap, sizeof(*nv));

		if (nk == NULL || nv == NULL) {
			free(nk);
			free(nv);
			return PAL_ERR_NOMEM;
		}
		for (j = 0; j < m->hcap; j++) {
			if (m->hvals[j].tag == PK_EMPTY)
				continue;
			for (i = hash_slot(m->hkeys[j], ncap);
			    nv[i].tag != PK_EMPTY; i = (i + 1) & (ncap - 1))
				;
			nk[i] = m->hkeys[j];
			nv[i] = m->hvals[j];
		}
		free(m->hkeys);
		free(m->hvals);
		m->hkeys = nk;
		m->hvals = nv;
		m->hcap = ncap;
	}
	for (i = hash_slot(key, m->hcap); m->hvals[i].tag != PK_EMPTY;
	    i = (i + 1) & (m->hcap - 1))
		;
	m->hkeys[i] = key;
	m->hvals[i] = *v;
	m->hused++;
	return 0;
}

/*
 * Stores v in dense slot key, packed, or in big when it does not pack
 * (reusing the big entry the slot had, so that overwrites do not grow it).
 */
static int
dense_store(struct pk_memo *m, uint64_t key, const struct pk_val *v)
{
	uint64_t e, old = m->dense[key];
	size_t i;
	void *p;

	if (pk_memo_pack(v, &e)) {
		m->dense[key] = e;
		return 0;
	}
	if ((old & 7) == PK_ME_BIG) {
		i = (size_t)(old >> 3);
	} else {
		if (m->nbig == m->cap_big) {
			size_t ncap = m->cap_big ? m->cap_big * 2 : 64;

			if ((p = realloc(m->big, ncap * sizeof(*m->big))) ==
			    NULL)
				return PAL_ERR_NOMEM;
			m->big = p;
			m->cap_big = ncap;
		}
		i = m->nbig++;
	}
	pk_val_copy(&m->big[i], v);
	m->dense[key] = (uint64_t)i << 3 | PK_ME_BIG;
	return 0;
}

/*
 * Makes dense slot key usable.  Slots past dense_init are empty without
 * being written, so that memory is touched only as ids are used.
 */
static void
dense_touch(struct pk_memo *m, uint64_t key)
{
	if (key < m->dense_init)
		return;
	memset(m->dense + m->dense_init, 0,
	    ((size_t)key + 1 - m->dense_init) * sizeof(*m->dense));
	m->dense_init = (size_t)key + 1;
}

/* Moves the hashed ids the dense array now covers into it. */
static int
rehash_into_dense(struct pk_memo *m)
{
	uint64_t *ok = m->hkeys;
	struct pk_val *ov = m->hvals;
	size_t j, oldcap = m->hcap;
	int r = 0;

	m->hkeys = NULL;
	m->hvals = NULL;
	m->hcap = m->hused = 0;
	for (j = 0; j < oldcap && r == 0; j++) {
		if (ov[j].tag == PK_EMPTY)
			continue;
		if (ok[j] < m->dense_cap) {
			dense_touch(m, ok[j]);
			r = dense_store(m, ok[j], &ov[j]);
		} else {
			r = hash_insert(m, ok[j], &ov[j]);
		}
	}
	free(ok);
	free(ov);
	return r;
}

/* Grows the dense array to cover key. */
static int
dense_grow(struct pk_vm *vm, uint64_t key)
{
	struct pk_memo *m = &vm->memo;
	size_t ncap = m->dense_cap ? m->dense_cap * 2 : 64;
	size_t most = 2 * (size_t)vm->cx->max_memo + 1024;
	uint64_t *p;

	while (ncap <= key)
		ncap *= 2;
	/* Ids above twice the entries never come here, so most bounds it.
	 * Small memos stay in malloc'ed memory; large ones move once. */
	if (m->map == NULL && m->dense_cap >= PK_MAP_MIN && most > ncap &&
	    (p = map_reserve(most * sizeof(*p), &m->map, &m->maplen)) !=
	    NULL) {
		memcpy(p, m->dense, m->dense_init * sizeof(*p));
		free(m->dense);
		m->dense = p;
	}
	if (m->map != NULL)
		ncap = ncap > most ? most : ncap;
	else if ((p = realloc(m->dense, ncap * sizeof(*p))) == NULL)
		return PAL_ERR_NOMEM;
	else
		m->dense = p;
	m->dense_cap = ncap;
	return m->hused == 0 ? 0 : rehash_into_dense(m);
}

int
pal_pickle_memo_get(struct pk_vm *vm, uint64_t key, struct pk_val *out)
{
	struct pk_memo *m = &vm->memo;
	const struct pk_val *h;
	uint64_t e;

	if (key < m->dense_cap) {
		if (key >= m->dense_init || (e = m->dense[key]) == 0)
			return 0;
		if ((e & 7) == PK_ME_BIG)
			pk_val_copy(out, &m->big[e >> 3]);
		else
			pk_memo_unpack(e, out);
		return 1;
	}
	if ((h = hash_find(m, key)) == NULL)
		return 0;
	pk_val_copy(out, h);
	return 1;
}

/*
 * Picklers never reuse a memo id; a stream that does was made by hand,
 * often to confuse scanners that track the memo less exactly than the
 * unpickler.  The new value replaces the old, as in CPython.
 */
static int
memo_overwrite(struct pk_vm *vm, uint64_t key, const struct pk_val *old,
    const struct pk_val *v)
{
	struct pk_memo *m = &vm->memo;
	struct pk_val *h;
	int r = 0;

	if (!vm->cx->memo_reported) {
		vm->cx->memo_reported = 1;
		r = pal_pickle_find(vm->cx, PK_R_MEMO, vm->at,
		    "%s overwrites memo entry %llu", pal_pickle_opname(vm->op),
		    (unsigned long long)key);
	}
	/* v is referenced before the old value goes: they may be one. */
	pal_pickle_ref(vm, v);
	pal_pickle_unref(vm, old);
	if (key < m->dense_cap) {
		if (dense_store(m, key, v) != 0)
			return pal_pickle_fail(vm, PAL_ERR_NOMEM,
			    "out of memory");
	} else if ((h = hash_find(m, key)) != NULL) {
		pk_val_copy(h, v);
	}
	return r;
}

int
pal_pickle_memo_put(struct pk_vm *vm, uint64_t key, const struct pk_val *v)
{
	struct pk_memo *m = &vm->memo;
	struct pk_val old;
	int r = 0;

	if (pal_pickle_memo_get(vm, key, &old))
		return memo_overwrite(vm, key, &old, v);
	if (m->count >= vm->cx->max_memo)
		return pal_pickle_fail(vm, PAL_ERR_LIMIT,
		    "more than %u memo entries", vm->cx->max_memo);
	if (key >= m->dense_cap && key < 2 * (uint64_t)m->count + 1024)
		r = dense_grow(vm, key);
	if (r == 0 && key < m->dense_cap) {
		dense_touch(m, key);
		r = dense_store(m, key, v);
	} else if (r == 0) {
		r = hash_insert(m, key, v);
	}
	if (r != 0)
		return pal_pickle_fail(vm, PAL_ERR_NOMEM, "out of memory");
	pal_pickle_ref(vm, v);
	m->count++;
	return 0;
}

void
pal_pickle_memo_reset(struct pk_vm *vm)
{
	struct pk_memo *m = &vm->memo;

	m->dense_init = 0;
	m->nbig = 0;
	if (m->hvals != NULL)
		memset(m->hvals, 0, m->hcap * sizeof(*m->hvals));
	m->hused = 0;
	m->count = 0;
}

void
pal_pickle_memo_free(struct pk_vm *vm)
{
	struct pk_memo *m = &vm->memo;

	if (m->map != NULL)
		munmap(m->map, m->maplen);
	else
		free(m->dense);
	free(m->big);
	free(m->hkeys);
	free(m->hvals);
	memset(m, 0, sizeof(*m));
}
