/*
 * manifest.h - the OMS manifest of a model: every regular file (or every
 * fixed-size shard of every file) under the model root, with its digest.
 *
 * Computing a manifest walks the model without following symbolic links
 * (unless asked, and then never out of the model), rejects names that are
 * not UTF-8, refuses special files, and hashes files in parallel with large
 * reads, checking that no file changed while it was read.  Resources are
 * kept sorted by name in byte order (Unicode code point order for UTF-8),
 * as the OMS specification requires.
 */
#ifndef PALISADE_MANIFEST_H
#define PALISADE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"

enum pal_hash_alg {
	PAL_HASH_SHA256,
	PAL_HASH_BLAKE2B,
};

#define PAL_DIGEST_MAX 64
#define PAL_SHARD_DEFAULT 1000000000ULL

/* "sha256" or "blake2b". */
const char *pal_hash_name(enum pal_hash_alg alg);
/* Parses "sha256" / "blake2b"; -1 when unknown. */
int pal_hash_parse(const char *name, enum pal_hash_alg *alg);
size_t pal_hash_size(enum pal_hash_alg alg);

struct pal_resource {
	char *name;	/* relative '/'-separated path; "path:start:end" */
	uint8_t digest[PAL_DIGEST_MAX];
	size_t digest_len;
};

struct pal_manifest {
	char *model_name;		/* basename of the model path */
	int single_file;		/* the model is one regular file */
	enum pal_hash_alg hash;
	uint64_t shard_size;		/* 0: "files" method; else "shards" */
	int allow_symlinks;
	char **ignore;			/* ignore paths, relative, sorted */
	size_t n_ignore;
	struct pal_resource *res;	/* sorted by name (strcmp) */
	size_t n_res;
	uint64_t total_bytes;		/* bytes hashed */
};

struct pal_manifest_opts {
	enum pal_hash_alg hash;
	uint64_t shard_size;		/* 0 for the "files" method */
	int allow_symlinks;		/* follow links that stay inside */
	const char *const *ignore;	/* extra relative paths to leave out */
	size_t n_ignore;
	const char *signature;		/* the bundle's path: never hashed */
	int threads;			/* 0: one per online CPU */
};

/* Default ignore paths of OMS, matched at the model root only. */
extern const char *const pal_manifest_default_ignores[];
extern const size_t pal_manifest_n_default_ignores;

/*
 * Computes the manifest of the model at path (a directory or one regular
 * file).  The ignore list recorded in the result is the defaults, the
 * caller's extra paths and the signature's path when it lies inside the
 * model.  *out is owned by the caller (pal_manifest_free).
 */
int pal_manifest_compute(const char *path, const struct pal_manifest_opts *o,
			 struct pal_manifest **out, struct pal_err *err);

/* One file of a model that is held open rather than found by a walk. */
struct pal_manifest_file {
	const char *name;	/* its name in the model, as a walk gives it */
	int fd;			/* a regular file open for reading (borrowed) */
};

/*
 * Computes the manifest of a model given as open files (a release
 * unsealed into memfds) instead of a path: the digests are those
 * pal_manifest_compute gives a directory that holds the same bytes under
 * the same names.  Names must be canonical (pal_manifest_check_name) and
 * each given once; "." alone is a single-file model.  A file an ignore
 * path covers (OMS's defaults, o->ignore) is left out, as a walk leaves
 * it out; o->allow_symlinks and o->signature do not apply.  The
 * descriptors are read with pread, never moved or closed; a file that
 * changes while it is hashed is an error.  model_name (NULL: "model")
 * names the model in the manifest.  *out: caller frees.
 */
int pal_manifest_compute_files(const char *model_name,
			       const struct pal_manifest_file *files,
			       size_t n, const struct pal_manifest_opts *o,
			       struct pal_manifest **out, struct pal_err *err);

void pal_manifest_free(struct pal_manifest *m);

/* Sorts resources by name in byte order. */
void pal_manifest_sort(struct pal_manifest *m);

/* SHA-256 over the resources' raw digests in their current order. */
int pal_manifest_root_digest(const struct pal_manifest *m, uint8_t out[32]);

/*
 * Checks that a resource name is canonical: relative, '/'-separated, no
 * empty, "." or ".." component, valid UTF-8, no NUL.  "." alone is allowed
 * when allow_dot (the single-file name written by model_signing).
 */
int pal_manifest_check_name(const char *name, int allow_dot,
			    struct pal_err *err);

/* One difference between a signed manifest and the model on disk. */
enum pal_diff_kind {
	PAL_DIFF_MISSING,	/* signed, but not found in the model */
	PAL_DIFF_MISMATCH,	/* found, but its digest differs */
	PAL_DIFF_UNSIGNED,	/* in the model, but not signed */
};

struct pal_diff {
	enum pal_diff_kind kind;
	const char *name;		/* borrowed from the manifests */
	const struct pal_resource *want;	/* NULL for UNSIGNED */
	const struct pal_resource *got;		/* NULL for MISSING */
};

/*
 * Compares the signed manifest with the computed one.  Both must be sorted.
 * Writes up to max differences into diffs and returns how many there are in
 * all (0: the model matches), or a negative error.
 */
long pal_manifest_compare(const struct pal_manifest *want,
			  const struct pal_manifest *got,
			  struct pal_diff *diffs, size_t max);

#endif
