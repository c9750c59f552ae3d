/*
 * merkle.h - RFC 6962 / RFC 9162 Merkle tree hashing and proof checks.
 *
 * The tree is the one Certificate Transparency, Rekor, the Go checksum
 * database and every C2SP transparency log use: SHA-256, a leaf hashed as
 * SHA-256(0x00 || data), an interior node as SHA-256(0x01 || left || right),
 * the empty tree as SHA-256("").  Hashes are always 32 bytes; a caller that
 * decodes hashes from input rejects any other length before calling here.
 *
 * The proof checks follow the algorithms of RFC 9162 sections 2.1.3.2 and
 * 2.1.4.2.  They trust nothing they are given: a proof with one hash too
 * many or too few, an index outside the tree, or sizes out of order fail
 * with PAL_ERR_VERIFY and a reason that says which.
 */
#ifndef PALISADE_MERKLE_H
#define PALISADE_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"

#define PAL_MERKLE_HASH_LEN 32
/* A tree of at most 2^64 - 1 leaves needs at most 64 proof hashes. */
#define PAL_MERKLE_MAX_PROOF 64

/* SHA-256(0x00 || data): the hash of one log entry. */
void pal_merkle_leaf_hash(const uint8_t *data, size_t len,
			  uint8_t out[PAL_MERKLE_HASH_LEN]);

/* SHA-256(0x01 || left || right); out may alias left or right. */
void pal_merkle_node_hash(const uint8_t left[PAL_MERKLE_HASH_LEN],
			  const uint8_t right[PAL_MERKLE_HASH_LEN],
			  uint8_t out[PAL_MERKLE_HASH_LEN]);

/* SHA-256 of nothing: the root of the tree of size 0. */
void pal_merkle_empty_root(uint8_t out[PAL_MERKLE_HASH_LEN]);

/*
 * The root of the tree whose leaves have the n given leaf hashes (RFC 9162
 * section 2.1.1); for building test trees and small logs.  Uses a stack of
 * at most 64 hashes, never n.
 */
void pal_merkle_root(const uint8_t (*leaves)[PAL_MERKLE_HASH_LEN], uint64_t n,
		     uint8_t out[PAL_MERKLE_HASH_LEN]);

/*
 * The root implied by an inclusion proof of the leaf with hash leaf at
 * index in a tree of size leaves.  Fails when index >= size or when the
 * proof does not have exactly the number of hashes that path needs.
 */
int pal_merkle_root_from_inclusion(uint64_t index, uint64_t size,
				   const uint8_t leaf[PAL_MERKLE_HASH_LEN],
				   const uint8_t (*proof)[PAL_MERKLE_HASH_LEN],
				   size_t n_proof,
				   uint8_t out[PAL_MERKLE_HASH_LEN],
				   struct pal_err *err);

/*
 * Verifies that leaf is at index in the tree of size leaves whose root is
 * root.  0, or PAL_ERR_VERIFY saying whether the proof was malformed for
 * that index and size or led to another root.
 */
int pal_merkle_verify_inclusion(uint64_t index, uint64_t size,
				const uint8_t leaf[PAL_MERKLE_HASH_LEN],
				const uint8_t (*proof)[PAL_MERKLE_HASH_LEN],
				size_t n_proof,
				const uint8_t root[PAL_MERKLE_HASH_LEN],
				struct pal_err *err);

/*
 * Verifies that the tree of size1 leaves with root1 is a prefix of the tree
 * of size2 leaves with root2.  Requires 0 < size1 <= size2: a proof from the
 * empty tree proves nothing, and a caller that trusts no earlier tree has
 * nothing to check.  When size1 == size2 the proof must be empty and the
 * roots equal.
 */
int pal_merkle_verify_consistency(uint64_t size1, uint64_t size2,
				  const uint8_t root1[PAL_MERKLE_HASH_LEN],
				  const uint8_t root2[PAL_MERKLE_HASH_LEN],
				  const uint8_t (*proof)[PAL_MERKLE_HASH_LEN],
				  size_t n_proof, struct pal_err *err);

#endif
