/*
 * hdf5_ohdr.c - iterates over the messages of an HDF5 object header,
 * version 1 (8-byte aligned messages after a 16-byte prefix) or version 2
 * ("OHDR", checksummed), following continuation messages into further
 * chunks.
 *
 * Continuations are addresses in the file, so a hostile header can point
 * back at a chunk already read: every chunk is remembered and a repeat is
 * an error, and the number of chunks is capped.
 */
#include <stdlib.h>
#include <string.h>

#include "hdf5_int.h"

struct chunk {
	uint64_t addr, len;
};

struct ohdr {
	uint64_t addr;
	unsigned version;
	uint8_t flags;		/* version 2 header flags */
	struct chunk *chunks;
	unsigned nchunks;
	h5_msg_fn fn;
	void *arg;
};

static int
add_chunk(struct h5file *f, struct ohdr *o, uint64_t addr, uint64_t len)
{
	unsigned i;

	for (i = 0; i < o->nchunks; i++)
		if (o->chunks[i].addr == addr)
			return h5_err(f, PAL_ERR_FORMAT, "object header at "
			    "address %llu: continuation loops back to the chunk "
			    "at address %llu", (unsigned long long)o->addr,
			    (unsigned long long)addr);
	if (o->nchunks == H5_MAX_CHUNKS)
		return h5_err(f, PAL_ERR_LIMIT, "object header at address %llu "
		    "has more than %d continuation chunks",
		    (unsigned long long)o->addr, H5_MAX_CHUNKS);
	o->chunks[o->nchunks].addr = addr;
	o->chunks[o->nchunks].len = len;
	o->nchunks++;
	return 0;
}

static int
continuation(struct h5file *f, struct ohdr *o, struct pal_cur *body,
    uint64_t at)
{
	uint64_t addr, len;

	if (h5_addr(f, body, &addr) != 0 || h5_len(f, body, &len) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "continuation message at "
		    "address %llu is truncated", (unsigned long long)at);
	return add_chunk(f, o, addr, len);
}

/* Runs over the messages in c, the message area of one chunk. */
static int
messages(struct h5file *f, struct ohdr *o, struct pal_cur *c,
    uint64_t chunk_addr)
{
	size_t hdr = o->version == 1 ? 8 : (o->flags & 0x04) ? 6 : 4;
	struct pal_cur body;
	uint64_t at;
	uint16_t type16, size;
	uint8_t type8, mflags;
	int r;

	/* A version 2 chunk may end in a gap smaller than a message. */
	while (pal_cur_left(c) >= hdr) {
		if ((r = h5_step(f)) != 0)
			return r;
		if (o->version == 1) {
			pal_cur_u16le(c, &type16);
			pal_cur_u16le(c, &size);
			pal_cur_u8(c, &mflags);
			pal_cur_skip(c, 3);
		} else {
			pal_cur_u8(c, &type8);
			type16 = type8;
			pal_cur_u16le(c, &size);
			pal_cur_u8(c, &mflags);
			if (o->flags & 0x04)
				pal_cur_skip(c, 2);
		}
		at = chunk_addr + c->off;
		if (pal_cur_sub(c, size, &body) != 0)
			return h5_err(f, PAL_ERR_TRUNCATED, "object header at "
			    "address %llu: message of type %u at address %llu "
			    "declares %u bytes, more than its chunk holds",
			    (unsigned long long)o->addr, type16,
			    (unsigned long long)at, size);
		if (type16 == H5M_CONT)
			r = continuation(f, o, &body, at);
		else
			r = o->fn(f, o->arg, type16, mflags, &body, at);
		if (r != 0)
			return r;
	}
	if (o->version == 1 && pal_cur_left(c) != 0)
		return h5_err(f, PAL_ERR_FORMAT, "object header at address "
		    "%llu: %zu stray bytes end the chunk at address %llu",
		    (unsigned long long)o->addr, pal_cur_left(c),
		    (unsigned long long)chunk_addr);
	return 0;
}

static int
v1_prefix(struct h5file *f, struct ohdr *o, struct pal_cur *c)
{
	uint16_t nmsg;
	uint32_t refs, size;

	/* Version byte already read; reserved, counts, then 4 pad bytes. */
	if (pal_cur_skip(c, 1) != 0 || pal_cur_u16le(c, &nmsg) != 0 ||
	    pal_cur_u32le(c, &refs) != 0 || pal_cur_u32le(c, &size) != 0 ||
	    pal_cur_skip(c, 4) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "object header at address "
		    "%llu is truncated", (unsigned long long)o->addr);
	return add_chunk(f, o, o->addr + 16, size);
}

static int
v2_prefix(struct h5file *f, struct ohdr *o, struct pal_cur *c)
{
	struct pal_cur body;
	uint64_t size;
	size_t body_off;
	int r;

	if (pal_cur_u8(c, &o->flags) != 0 ||
	    pal_cur_skip(c, (o->flags & 0x20) ? 16 : 0) != 0 ||
	    pal_cur_skip(c, (o->flags & 0x10) ? 4 : 0) != 0 ||
	    h5_uint(c, 1u << (o->flags & 3), &size) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "object header at address "
		    "%llu is truncated", (unsigned long long)o->addr);
	if (o->flags & 0xc0)
		return h5_err(f, PAL_ERR_FORMAT, "object header at address %llu "
		    "sets reserved flags 0x%02x", (unsigned long long)o->addr,
		    o->flags);
	body_off = c->off;
	if (pal_cur_sub(c, size > pal_cur_left(c) ? pal_cur_left(c) + 1 :
	    (size_t)size, &body) != 0)
		return h5_err(f, PAL_ERR_TRUNCATED, "object header at address "
		    "%llu declares a first chunk of %llu bytes, past the end "
		    "of the file", (unsigned long long)o->addr,
		    (unsigned long long)size);
	if ((r = h5_checksum(f, c, 0, "object header", o->addr)) != 0)
		return r;
	/* Chunk 0 is parsed from here; later chunks come from the queue. */
	o->chunks[0].addr = o->addr;
	o->chunks[0].len = 0;
	o->nchunks = 1;
	return messages(f, o, &body, o->addr + body_off);
}

/* A continuation chunk: raw messages (v1) or "OCHK" ... checksum (v2). */
static int
later_chunk(struct h5file *f, struct ohdr *o, const struct chunk *ch)
{
	struct pal_cur c, body;
	const uint8_t *sig;
	int r;

	if ((r = h5_view(f, ch->addr, ch->len, &c, "object header "
	    "continuation chunk")) != 0)
		return r;
	if (o->version == 1)
		return messages(f, o, &c, ch->addr);
	if (ch->len < 8 || pal_cur_bytes(&c, 4, &sig) != 0 ||
	    memcmp(sig, "OCHK", 4) != 0)
		return h5_err(f, PAL_ERR_FORMAT, "object header continuation "
		    "chunk at address %llu lacks its signature \"OCHK\"",
		    (unsigned long long)ch->addr);
	pal_cur_sub(&c, (size_t)ch->len - 8, &body);
	if ((r = h5_checksum(f, &c, 0, "object header continuation chunk",
	    ch->addr)) != 0)
		return r;
	return messages(f, o, &body, ch->addr + 4);
}

int
h5_ohdr(struct h5file *f, uint64_t addr, h5_msg_fn fn, void *arg)
{
	struct pal_cur c;
	struct ohdr o;
	const uint8_t *p;
	unsigned i;
	int r;

	memset(&o, 0, sizeof(o));
	o.addr = addr;
	o.fn = fn;
	o.arg = arg;
	if ((r = h5_view_open(f, addr, &c, "object header")) != 0)
		return r;
	/* Chunks are kept on the heap: groups recurse through here. */
	if ((o.chunks = calloc(H5_MAX_CHUNKS, sizeof(*o.chunks))) == NULL)
		return PAL_ERR_NOMEM;
	if (pal_cur_left(&c) >= 4 && memcmp(c.base, "OHDR", 4) == 0) {
		if ((r = h5_sig(f, &c, "OHDR", 2, "object header", addr)) != 0)
			goto out;
		o.version = 2;
		r = v2_prefix(f, &o, &c);
	} else if (pal_cur_bytes(&c, 1, &p) == 0 && p[0] == 1) {
		o.version = 1;
		r = v1_prefix(f, &o, &c);
	} else {
		r = h5_err(f, PAL_ERR_FORMAT, "object header at address %llu "
		    "is neither version 1 nor version 2",
		    (unsigned long long)addr);
	}
	/* Chunk 0 of a v1 header is queued like any continuation. */
	for (i = o.version == 2 ? 1 : 0; r == 0 && i < o.nchunks; i++)
		r = later_chunk(f, &o, &o.chunks[i]);
out:
	free(o.chunks);
	return r;
}
