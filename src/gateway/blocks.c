/*
 * blocks.c - keys and networks an operator blocked (gw_int.h).
 *
 * The admin listener (or the abuse detector) adds and removes entries
 * while every worker reads them for each request: a read-write lock, and
 * small arrays, since blocks are few and a request looks them up once.
 * Blocks live in memory: a restart forgets them, and revoking a key in
 * the key store is what lasts (docs/gateway.md).
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "palisade/gwconfig.h"
#include "gw_int.h"

#define MAX_BLOCKS 4096

struct gw_blocks {
	pthread_rwlock_t lock;
	char (*keys)[24];
	size_t n_keys;
	struct pal_gw_cidr *nets;
	size_t n_nets;
};

int
gw_blocks_new(struct gw_blocks **out)
{
	struct gw_blocks *b = calloc(1, sizeof(*b));

	*out = NULL;
	if (b == NULL)
		return -1;
	b->keys = calloc(MAX_BLOCKS, sizeof(*b->keys));
	b->nets = calloc(MAX_BLOCKS, sizeof(*b->nets));
	if (b->keys == NULL || b->nets == NULL) {
		gw_blocks_free(b);
		return -1;
	}
	pthread_rwlock_init(&b->lock, NULL);
	*out = b;
	return 0;
}

void
gw_blocks_free(struct gw_blocks *b)
{
	if (b == NULL)
		return;
	if (b->keys != NULL && b->nets != NULL)
		pthread_rwlock_destroy(&b->lock);
	free(b->keys);
	free(b->nets);
	free(b);
}

static ssize_t
find_key(const struct gw_blocks *b, const char *id)
{
	for (size_t i = 0; i < b->n_keys; i++)
		if (strcmp(b->keys[i], id) == 0)
			return (ssize_t)i;
	return -1;
}

static ssize_t
find_net(const struct gw_blocks *b, const struct pal_gw_cidr *c)
{
	for (size_t i = 0; i < b->n_nets; i++)
		if (b->nets[i].prefix == c->prefix &&
		    memcmp(b->nets[i].addr, c->addr, 16) == 0)
			return (ssize_t)i;
	return -1;
}

int
gw_blocks_key(struct gw_blocks *b, const char *id, int block)
{
	int rc = 0;
	ssize_t i;

	if (strlen(id) >= sizeof(b->keys[0]))
		return -1;
	pthread_rwlock_wrlock(&b->lock);
	i = find_key(b, id);
	if (block && i < 0) {
		if (b->n_keys < MAX_BLOCKS)
			memcpy(b->keys[b->n_keys++], id, strlen(id) + 1);
		else
			rc = -1;
	} else if (!block && i >= 0) {
		memcpy(b->keys[i], b->keys[--b->n_keys], sizeof(b->keys[0]));
	} else {
		rc = 1;			/* nothing changed */
	}
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

int
gw_blocks_net(struct gw_blocks *b, const struct pal_gw_cidr *c, int block)
{
	int rc = 0;
	ssize_t i;

	pthread_rwlock_wrlock(&b->lock);
	i = find_net(b, c);
	if (block && i < 0) {
		if (b->n_nets < MAX_BLOCKS)
			b->nets[b->n_nets++] = *c;
		else
			rc = -1;
	} else if (!block && i >= 0) {
		b->nets[i] = b->nets[--b->n_nets];
	} else {
		rc = 1;
	}
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

int
gw_blocks_check(struct gw_blocks *b, const char *key_id,
		const uint8_t addr[16])
{
	int blocked = 0;

	pthread_rwlock_rdlock(&b->lock);
	if (key_id != NULL && key_id[0] != '\0' && find_key(b, key_id) >= 0)
		blocked = 1;
	for (size_t i = 0; !blocked && addr != NULL && i < b->n_nets; i++)
		blocked = pal_gw_cidr_contains(&b->nets[i], addr);
	pthread_rwlock_unlock(&b->lock);
	return blocked;
}

/* "10.0.0.0/8" for IPv4-mapped networks, "2001:db8::/32" otherwise. */
static void
format_cidr(const struct pal_gw_cidr *c, char *out, size_t cap)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					    0xff, 0xff };
	char a[INET6_ADDRSTRLEN] = "?";

	if (c->prefix >= 96 && memcmp(c->addr, mapped, 12) == 0) {
		inet_ntop(AF_INET, c->addr + 12, a, sizeof(a));
		snprintf(out, cap, "%s/%u", a, c->prefix - 96u);
	} else {
		inet_ntop(AF_INET6, c->addr, a, sizeof(a));
		snprintf(out, cap, "%s/%u", a, c->prefix);
	}
}

json_t *
gw_blocks_json(struct gw_blocks *b)
{
	json_t *keys = json_array(), *nets = json_array();

	pthread_rwlock_rdlock(&b->lock);
	for (size_t i = 0; i < b->n_keys; i++)
		json_array_append_new(keys, json_string(b->keys[i]));
	for (size_t i = 0; i < b->n_nets; i++) {
		char text[64];
		format_cidr(&b->nets[i], text, sizeof(text));
		json_array_append_new(nets, json_string(text));
	}
	pthread_rwlock_unlock(&b->lock);
	return json_pack("{s:o, s:o}", "keys", keys, "networks", nets);
}
