/*
 * abuse_sketch.c - what the abuse signals remember of a prompt
 * (abuse_int.h): a 64-bit SimHash for near-duplicates, and a hash of the
 * words per position class for systematic variation.
 *
 * SimHash (Charikar): every feature (a word, and every pair of adjacent
 * words) is hashed to 64 bits; bit b of the sketch is set when more than
 * half of the features have bit b set.  Texts that share most features
 * get sketches that differ in few bits, and the Hamming distance is the
 * measure of how near two prompts are.  The per-bit tallies are kept as
 * eight byte-wide counters in each of eight 64-bit words, one table
 * lookup and add per byte of a feature's hash, and spilled into 32-bit
 * counters every 255 features: a 2 KiB prompt takes a few microseconds
 * instead of the 64 branches per feature of the textbook loop.
 *
 * The text is untrusted but only read byte by byte within its length;
 * hashing is not keyed, since what a client could gain by colliding its
 * own prompts is to hide its own repetition, which it could do as well by
 * rewording them.
 */
#include <string.h>

#include "palisade/abuse.h"
#include "abuse_int.h"

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

/* The finalizer of splitmix64: every input bit moves every output bit. */
static uint64_t
mix(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* spread[v] has byte j equal to bit j of v (a table built by the compiler). */
#define SP(v) \
	(((uint64_t)((v) & 1)) | ((uint64_t)(((v) >> 1) & 1) << 8) | \
	 ((uint64_t)(((v) >> 2) & 1) << 16) | \
	 ((uint64_t)(((v) >> 3) & 1) << 24) | \
	 ((uint64_t)(((v) >> 4) & 1) << 32) | \
	 ((uint64_t)(((v) >> 5) & 1) << 40) | \
	 ((uint64_t)(((v) >> 6) & 1) << 48) | \
	 ((uint64_t)(((v) >> 7) & 1) << 56))
#define SP4(v) SP(v), SP((v) + 1), SP((v) + 2), SP((v) + 3)
#define SP16(v) SP4(v), SP4((v) + 4), SP4((v) + 8), SP4((v) + 12)
#define SP64(v) SP16(v), SP16((v) + 16), SP16((v) + 32), SP16((v) + 48)

static const uint64_t spread[256] = {
	SP64(0), SP64(64), SP64(128), SP64(192),
};

struct tally {
	uint64_t bytes[8];	/* byte j of bytes[k]: bit 8k + j */
	uint32_t count[64];
	unsigned pending;	/* features in bytes[] */
	uint32_t features;
};

static void
tally_spill(struct tally *t)
{
	for (unsigned k = 0; k < 8; k++) {
		for (unsigned j = 0; j < 8; j++)
			t->count[8 * k + j] +=
				(uint32_t)((t->bytes[k] >> (8 * j)) & 0xff);
		t->bytes[k] = 0;
	}
	t->pending = 0;
}

static void
tally_add(struct tally *t, uint64_t h)
{
	for (unsigned k = 0; k < 8; k++)
		t->bytes[k] += spread[(h >> (8 * k)) & 0xff];
	t->features++;
	if (++t->pending == 255)
		tally_spill(t);
}

static uint64_t
tally_sketch(struct tally *t)
{
	uint64_t s = 0;

	tally_spill(t);
	for (unsigned b = 0; b < 64; b++)
		if ((uint64_t)t->count[b] * 2 > t->features)
			s |= UINT64_C(1) << b;
	return s;
}

static int
word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c >= 0x80;
}

/* Hashes the word at p[0..n), ASCII letters folded to lower case. */
static uint64_t
word_hash(const unsigned char *p, size_t n)
{
	uint64_t h = FNV_OFFSET;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + ('a' - 'A'));
		h = (h ^ c) * FNV_PRIME;
	}
	return mix(h);
}

/* Takes word number out->words, of hash w, into the sketch. */
static void
add_word(struct abuse_sketch *out, struct tally *t, uint64_t *group_h,
	 uint64_t w, uint64_t prev)
{
	unsigned g = out->words % ABUSE_GROUPS;

	tally_add(t, w);
	if (out->words > 0)
		tally_add(t, mix(prev * FNV_PRIME + w + 1));
	out->exact = mix(out->exact ^ w) + out->words;
	group_h[g] = mix(group_h[g] ^ w) + g;
	out->words++;
}

void
abuse_sketch(const char *text, size_t len, struct abuse_sketch *out)
{
	const unsigned char *p = (const unsigned char *)text;
	uint64_t group_h[ABUSE_GROUPS] = { 0 };
	uint64_t prev = 0, w;
	struct tally t;
	size_t i = 0, start;

	memset(out, 0, sizeof(*out));
	memset(&t, 0, sizeof(t));
	if (len > PAL_ABUSE_SKETCH_MAX)
		len = PAL_ABUSE_SKETCH_MAX;
	while (i < len) {
		while (i < len && !word_byte(p[i]))
			i++;
		start = i;
		while (i < len && word_byte(p[i]))
			i++;
		if (i == start)
			break;
		w = word_hash(p + start, i - start);
		add_word(out, &t, group_h, w, prev);
		prev = w;
	}
	if (out->words == 0)
		return;
	out->simhash = tally_sketch(&t);
	for (unsigned g = 0; g < ABUSE_GROUPS; g++)
		out->groups[g] = (uint16_t)(mix(group_h[g]) >> 48);
}

unsigned
abuse_near_bits(double similarity)
{
	double d = (1.0 - similarity) * 64.0 + 0.5;

	if (!(d >= 0))
		return 0;
	return d >= 64 ? 64 : (unsigned)d;
}

int
abuse_is_near(const struct abuse_sketch *a, const struct abuse_sketch *b,
	      unsigned near_bits)
{
	return (unsigned)__builtin_popcountll(a->simhash ^ b->simhash) <=
	       near_bits;
}

int
abuse_is_variation(const struct abuse_sketch *a, const struct abuse_sketch *b)
{
	unsigned diff = 0, allowed;

	if (a->words != b->words || a->words < PAL_ABUSE_VAR_MIN_WORDS ||
	    a->exact == b->exact)
		return 0;
	allowed = a->words >= 2 * ABUSE_GROUPS ? 2 : 1;
	for (unsigned g = 0; g < ABUSE_GROUPS; g++)
		diff += a->groups[g] != b->groups[g];
	return diff <= allowed;
}
