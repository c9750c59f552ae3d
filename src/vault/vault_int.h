/*
 * vault_int.h - the vault's private parts shared between its files.
 */
#ifndef PALISADE_VAULT_INT_H
#define PALISADE_VAULT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"

/* Paths under this prefix are the vault's own, never a model's. */
#define VAULT_RESERVED ".palisade/"

/* One regular file of a model directory. */
struct vfile {
	char *path;		/* relative, '/'-separated; owned */
	uint64_t size;
};

struct vfiles {
	struct vfile *v;	/* sorted by path (strcmp) */
	size_t n, cap;
};

/*
 * Lists every regular file under root (a directory, or one regular file,
 * which is listed under its base name), without following symbolic links.
 * Refused, naming the path: a symbolic link, a device, FIFO or socket,
 * a name that is not a valid sealed path (sealed.h), a path under
 * VAULT_RESERVED, more than max_files files.
 */
int vault_walk(const char *root, size_t max_files, struct vfiles *out,
	       struct pal_err *err);

void vfiles_free(struct vfiles *f);

#endif
