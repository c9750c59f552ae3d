/*
 * abuse_sketch.c - what the abuse signals remember of a prompt
 * (abuse_int.h): a 64-bit SimHash for near-duplicates, and a hash of the
 * words per position class for systematic variation.
 *
 * SimHash (Charikar): every feature (a pair of adjacent words) is hashed
 * to 64 bits; bit b of the sketch is set when more than half of the
 * features have bit b set.  Texts that share most features get sketches
 * that differ in few bits, and the Hamming distance is the measure of how
 * near two prompts are.  The per-bit tallies are kept as eight byte-wide
 * counters in each of eight 64-bit words, one table lookup and add per
 * byte of a feature's hash, and spilled into 32-bit counters before they
 * can overflow: a 2 KiB prompt takes under 3 microseconds, most of it
 * finding the words, instead of the 64 branches per feature of the
 * textbook loop.
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

/*
 * The per-bit tallies of the SimHash: eight 64-bit words of eight byte
 * counters each (byte j of word k counts bit 8k + j), spilled into 32-bit
 * counters before a byte can overflow.  The eight words are named locals
 * of abuse_sketch, which the compiler keeps in registers; as an array
 * behind a pointer the same adds cost twice as much.
 */
#define TALLY(a, f) \
	do { \
		(a)[0] += spread[(f) & 0xff]; \
		(a)[1] += spread[((f) >> 8) & 0xff]; \
		(a)[2] += spread[((f) >> 16) & 0xff]; \
		(a)[3] += spread[((f) >> 24) & 0xff]; \
		(a)[4] += spread[((f) >> 32) & 0xff]; \
		(a)[5] += spread[((f) >> 40) & 0xff]; \
		(a)[6] += spread[((f) >> 48) & 0xff]; \
		(a)[7] += spread[(f) >> 56]; \
	} while (0)

static void
spill(uint32_t count[64], uint64_t a[8])
{
	for (unsigned k = 0; k < 8; k++) {
		for (unsigned j = 0; j < 8; j++)
			count[8 * k + j] += (uint32_t)((a[k] >> (8 * j)) & 0xff);
		a[k] = 0;
	}
}

static uint64_t
simhash_of(const uint32_t count[64], uint32_t features)
{
	uint64_t s = 0;

	for (unsigned b = 0; b < 64; b++)
		if ((uint64_t)count[b] * 2 > features)
			s |= UINT64_C(1) << b;
	return s;
}

/*
 * word[c]: the byte as it counts in a word (ASCII letters in lower case,
 * digits and non-ASCII bytes as they are), or 0 for a byte that separates
 * words.  A table built by the compiler, like spread.
 */
#define WB(c) \
	((c) >= 'A' && (c) <= 'Z' ? (uint8_t)((c) + ('a' - 'A')) : \
	 ((c) >= 'a' && (c) <= 'z') || ((c) >= '0' && (c) <= '9') || \
	 (c) >= 0x80 ? (uint8_t)(c) : 0)
#define WB4(c) WB(c), WB((c) + 1), WB((c) + 2), WB((c) + 3)
#define WB16(c) WB4(c), WB4((c) + 4), WB4((c) + 8), WB4((c) + 12)
#define WB64(c) WB16(c), WB16((c) + 16), WB16((c) + 32), WB16((c) + 48)

static const uint8_t word_byte[256] = {
	WB64(0), WB64(64), WB64(128), WB64(192),
};

static uint64_t
rotl(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

/*
 * Reads the word that starts at p[*i] (a word byte) and returns its hash:
 * its bytes folded eight at a time, then the length, then a full mix.
 */
static uint64_t
next_word(const unsigned char *p, size_t len, size_t *i)
{
	uint64_t h = FNV_OFFSET, chunk = 0;
	size_t start = *i;
	unsigned k = 0;
	uint8_t c;

	while (*i < len && (c = word_byte[p[*i]]) != 0) {
		chunk |= (uint64_t)c << (8 * k);
		if (++k == 8) {
			h = (h ^ chunk) * FNV_PRIME;
			h ^= h >> 29;
			chunk = 0;
			k = 0;
		}
		(*i)++;
	}
	return mix(h ^ chunk ^ ((uint64_t)(*i - start) << 56));
}

/*
 * The SimHash features are the pairs of adjacent words (2-word
 * shingles), or the only word of a one-word prompt.  The exact and class
 * hashes are polynomial in the words' hashes, mixed once at the end, so
 * that a word costs one full mix (its own hash).
 */
void
abuse_sketch(const char *text, size_t len, struct abuse_sketch *out)
{
	const unsigned char *p = (const unsigned char *)text;
	uint64_t a[8] = { 0 }, exact = 0, prev = 0, w = 0, f;
	uint64_t group[ABUSE_GROUPS] = { 0 };
	uint32_t count[64] = { 0 };
	unsigned pending = 0;
	uint32_t n = 0;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (len > PAL_ABUSE_SKETCH_MAX)
		len = PAL_ABUSE_SKETCH_MAX;
	while (i < len) {
		if (word_byte[p[i]] == 0) {
			i++;
			continue;
		}
		w = next_word(p, len, &i);
		if (n > 0) {
			f = w ^ rotl(prev, 23);
			TALLY(a, f);
			if (++pending == 255) {
				spill(count, a);
				pending = 0;
			}
		}
		exact = exact * FNV_PRIME + w;
		group[n % ABUSE_GROUPS] = group[n % ABUSE_GROUPS] * FNV_PRIME + w;
		prev = w;
		n++;
	}
	if (n == 0)
		return;
	if (n == 1)
		TALLY(a, w);
	spill(count, a);
	out->words = n;
	out->simhash = simhash_of(count, n > 1 ? n - 1 : 1);
	out->exact = mix(exact + n);
	for (unsigned g = 0; g < ABUSE_GROUPS; g++)
		out->groups[g] = (uint16_t)(mix(group[g] + g) >> 48);
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
