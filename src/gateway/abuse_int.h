/*
 * abuse_int.h - what the files of the abuse signals share (abuse.h): the
 * sketch of a prompt and the comparisons the signals are defined by.
 */
#ifndef PALISADE_ABUSE_INT_H
#define PALISADE_ABUSE_INT_H

#include <stddef.h>
#include <stdint.h>

#define ABUSE_GROUPS 8		/* word position classes (i mod 8) */

/*
 * A prompt reduced to what the signals compare.  words 0 means the
 * prompt had no words (nothing is compared or kept).
 */
struct abuse_sketch {
	uint64_t simhash;		/* over words and word pairs */
	uint64_t exact;			/* the normalized word sequence */
	uint16_t groups[ABUSE_GROUPS];	/* the words of each class */
	uint32_t words;
};

/* Sketches text[0..len) (at most PAL_ABUSE_SKETCH_MAX bytes of it). */
void abuse_sketch(const char *text, size_t len, struct abuse_sketch *out);

/* The most SimHash bits two near-duplicates may differ in. */
unsigned abuse_near_bits(double similarity);

/* 1 if b is a near-duplicate of a (exact repeats included). */
int abuse_is_near(const struct abuse_sketch *a, const struct abuse_sketch *b,
		  unsigned near_bits);

/* 1 if b is a systematic variation of a (abuse.h has the definition). */
int abuse_is_variation(const struct abuse_sketch *a,
		       const struct abuse_sketch *b);

#endif
