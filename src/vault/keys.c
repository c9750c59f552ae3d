/*
 * keys.c - a release's keys over its life: listing, rotation (a new
 * key-encryption key, the same data key rewrapped, every header
 * rewritten) and shredding (the keys destroyed in the token).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "palisade/sealed.h"
#include "palisade/file.h"
#include "vault_int.h"

/* ---- shred ---- */

int
pal_vault_shred(struct pal_vault *v, const char *release,
		const struct pal_vault_authz *a, size_t *destroyed,
		struct pal_err *err)
{
	struct pal_keystore *ks = NULL;
	*destroyed = 0;
	int rc = pal_keystore_release_check(release, err);
	if (rc == 0)
		rc = vault_authorize(v, PAL_TPC_SHRED, release, a, err);
	if (rc == 0)
		rc = vault_keystore(v, &ks, err);
	if (rc == 0)
		rc = pal_keystore_shred(ks, release, destroyed, err);
	if (rc == 0 && *destroyed == 0)
		rc = pal_err_set(err, PAL_ERR_INVALID, "release %s has no key "
				 "in the token", release);
	if (rc < 0)
		return rc;
	uint64_t idx;
	int logged;
	json_t *d = json_pack("{s:s, s:I}", "release", release, "destroyed",
			      (json_int_t)*destroyed);
	if (d != NULL && a->report != NULL && a->report->have_request)
		json_object_set_new(d, "requester",
				    json_string(a->report->req.requester));
	return vault_audit_json(v, "vault.shred", d, &idx, &logged, err);
}

/* ---- rotate ---- */

struct rotation {
	struct pal_vault *v;
	const char *release;
	int srcfd, dstfd;		/* releases/R and its staging copy */
	struct pal_kek old, now;
	struct pal_wrapped_dek was, wrapped;
	struct pal_err *err;
};

static int
read_header(int fd, const char *rel, uint8_t **buf, size_t *n,
	    struct pal_sealed_header *h, struct pal_err *err)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", rel,
				   strerror(errno));
	*n = (uint64_t)st.st_size < PAL_SEALED_HEADER_MAX ?
		(size_t)st.st_size : PAL_SEALED_HEADER_MAX;
	if ((*buf = malloc(*n ? *n : 1)) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (pread(fd, *buf, *n, 0) != (ssize_t)*n)
		return pal_err_set(err, PAL_ERR_IO, "%s: short read", rel);
	int rc = pal_sealed_parse(*buf, *n, h, err);
	return rc < 0 ? pal_err_wrap(err, rc, "%s: ", rel) : 0;
}

/* Copies rel with its header's key fields replaced by the new key's. */
static int
rewrite(struct rotation *r, const char *rel)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	struct pal_sealed_header h;
	struct pal_buf out;
	struct stat st;
	pal_buf_init(&out, PAL_SEALED_HEADER_MAX);
	int in = openat(r->srcfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int dst = -1;
	int rc = in >= 0 ? 0 : pal_err_set(r->err, PAL_ERR_IO, "%s: %s", rel,
					   strerror(errno));
	if (rc == 0)
		rc = read_header(in, rel, &buf, &n, &h, r->err);
	if (rc == 0 && (h.wrapped_len != r->was.len ||
			memcmp(h.wrapped, r->was.bytes, r->was.len) != 0))
		rc = pal_err_set(r->err, PAL_ERR_VERIFY, "%s: wrapped under "
				 "another key than the release's list", rel);
	uint32_t old_len = h.header_len;
	if (rc == 0) {
		h.key_label = (const uint8_t *)r->now.label;
		h.key_label_len = strlen(r->now.label);
		h.key_id = r->now.id;
		h.key_id_len = sizeof(r->now.id);
		h.wrapped = r->wrapped.bytes;
		h.wrapped_len = r->wrapped.len;
		vault_wrap_to_header(r->wrapped.mech, &h.wrap);
		rc = pal_sealed_encode(&h, &out, r->err);
	}
	if (rc == 0)
		rc = pal_mkdir_parents(r->dstfd, rel, 0700, r->err);
	if (rc == 0 && (dst = openat(r->dstfd, rel, O_WRONLY | O_CREAT |
				     O_EXCL | O_CLOEXEC, 0600)) < 0)
		rc = pal_err_set(r->err, PAL_ERR_IO, "%s: %s", rel,
				 strerror(errno));
	if (rc == 0 && (pwrite(dst, out.p, out.len, 0) != (ssize_t)out.len ||
			fstat(in, &st) != 0))
		rc = pal_err_set(r->err, PAL_ERR_IO, "%s: %s", rel,
				 strerror(errno));
	/* The ciphertext is copied as it is: it never needs the key. */
	loff_t ioff = old_len, ooff = (loff_t)out.len;
	while (rc == 0 && ioff < st.st_size) {
		ssize_t c = copy_file_range(in, &ioff, dst, &ooff,
					    (size_t)(st.st_size - ioff), 0);
		if (c <= 0)
			rc = pal_err_set(r->err, PAL_ERR_IO, "%s: %s", rel,
					 c < 0 ? strerror(errno) :
					 "short copy");
	}
	if (in >= 0)
		close(in);
	if (dst >= 0)
		close(dst);
	free(buf);
	pal_buf_free(&out);
	return rc;
}

/* Every sealed file of the release, the list first. */
static int
rewrite_all(struct rotation *r)
{
	char dir[PATH_MAX];
	struct vfiles files = { 0 };
	int rc = rewrite(r, VAULT_MANIFEST);
	snprintf(dir, sizeof(dir), "%s/" VAULT_RELEASES "/%s/files",
		 r->v->dir, r->release);
	if (rc == 0)
		rc = vault_walk(dir, PAL_VAULT_FILES_MAX + 1, &files, r->err);
	for (size_t i = 0; rc == 0 && i < files.n; i++) {
		char rel[PAL_SEALED_PATH_MAX + 8];
		snprintf(rel, sizeof(rel), "files/%s", files.v[i].path);
		rc = rewrite(r, rel);
	}
	vfiles_free(&files);
	return rc;
}

/* The wrapped key in the release's file list: what every file holds. */
static int
current_wrap(struct rotation *r, struct pal_keystore *ks)
{
	struct pal_kek named;
	int rc = vault_release_key(r->v, r->release, ks, &named, &r->was,
				   r->err);
	if (rc == 0 && memcmp(named.id, r->old.id, sizeof(r->old.id)) != 0)
		rc = pal_err_set(r->err, PAL_ERR_VERIFY, "the release's file "
				 "list is not wrapped under its current key %s",
				 r->old.label);
	return rc;
}

/* Swaps the staging copy with the release, then removes the old one. */
static int
swap_in(struct rotation *r, const char *stage, const char *final)
{
	int relfd = openat(r->v->dirfd, VAULT_RELEASES, O_RDONLY |
			   O_DIRECTORY | O_CLOEXEC);
	int rc = relfd >= 0 && syncfs(r->dstfd) == 0 ? 0 :
		pal_err_set(r->err, PAL_ERR_IO, "sync: %s", strerror(errno));
	if (rc == 0 && renameat2(r->v->dirfd, stage, r->v->dirfd, final,
				 RENAME_EXCHANGE) != 0)
		rc = pal_err_set(r->err, PAL_ERR_IO, "%s: %s", final,
				 strerror(errno));
	if (rc == 0 && fsync(relfd) != 0)
		rc = pal_err_set(r->err, PAL_ERR_IO, VAULT_RELEASES ": %s",
				 strerror(errno));
	if (relfd >= 0)
		close(relfd);
	return rc;
}

static int
open_dirs(struct rotation *r, const char *final, char *stage, size_t n)
{
	r->srcfd = openat(r->v->dirfd, final, O_RDONLY | O_DIRECTORY |
			  O_NOFOLLOW | O_CLOEXEC);
	if (r->srcfd < 0)
		return pal_err_set(r->err, PAL_ERR_INVALID, "release %s: %s",
				   r->release, errno == ENOENT ?
				   "not in the vault" : strerror(errno));
	return vault_make_stage(r->v, stage, n, &r->dstfd, r->err);
}

int
pal_vault_rotate(struct pal_vault *v, const char *release,
		 struct pal_kek *now, struct pal_err *err)
{
	struct rotation r = {
		.v = v, .release = release, .srcfd = -1, .dstfd = -1,
		.err = err,
	};
	struct pal_keystore *ks = NULL;
	char final[PATH_MAX], stage[PATH_MAX] = "";
	int made = 0, swapped = 0;
	snprintf(final, sizeof(final), VAULT_RELEASES "/%s", release);
	int rc = pal_keystore_release_check(release, err);
	if (rc == 0)
		rc = vault_keystore(v, &ks, err);
	if (rc == 0)
		rc = pal_keystore_kek_find(ks, release, &r.old, err);
	if (rc == 0)
		rc = open_dirs(&r, final, stage, sizeof(stage));
	if (rc == 0)
		rc = current_wrap(&r, ks);
	if (rc == 0 && (rc = pal_keystore_kek_next(ks, release, &r.now,
						   err)) == 0)
		made = 1;
	if (rc == 0)
		rc = pal_keystore_rewrap(ks, &r.old, &r.was, &r.now,
					 &r.wrapped, err);
	if (rc == 0)
		rc = rewrite_all(&r);
	if (rc == 0 && (rc = swap_in(&r, stage, final)) == 0)
		swapped = 1;
	/* Now the old copy sits at the staging name. */
	if (stage[0] != '\0' && r.dstfd >= 0)
		vault_remove_tree(v->dirfd, stage);
	if (rc == 0)
		rc = pal_keystore_kek_destroy(ks, &r.old, err);
	if (rc < 0 && made && !swapped) {
		struct pal_err e2 = { 0 };
		pal_keystore_kek_destroy(ks, &r.now, &e2);
	}
	if (r.srcfd >= 0)
		close(r.srcfd);
	if (r.dstfd >= 0)
		close(r.dstfd);
	if (rc < 0)
		return pal_err_wrap(err, rc, "rotating release %s: ", release);
	*now = r.now;
	uint64_t idx;
	int logged;
	json_t *d = json_pack("{s:s, s:s, s:s}", "release", release,
			      "old_key", r.old.label, "key", r.now.label);
	return vault_audit_json(v, "vault.rotate", d, &idx, &logged, err);
}

/* ---- list ---- */

static int
add_release(struct pal_vault_release **v, size_t *n, size_t *cap,
	    const char *name, struct pal_err *err)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i].name, name) == 0)
			return (int)i;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct pal_vault_release *x = realloc(*v, c * sizeof(*x));
		if (x == NULL)
			return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		*v = x;
		*cap = c;
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	snprintf((*v)[*n].name, sizeof((*v)[*n].name), "%s", name);
	return (int)(*n)++;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct pal_vault_release *)a)->name,
		      ((const struct pal_vault_release *)b)->name);
}

int
pal_vault_list(struct pal_vault *v, struct pal_vault_release **out,
	       size_t *n, struct pal_err *err)
{
	struct pal_vault_release *r = NULL;
	size_t cap = 0;
	struct pal_keystore *ks = NULL;
	struct pal_kek *keks = NULL;
	size_t nk = 0;
	*n = 0;
	int rc = vault_keystore(v, &ks, err);
	if (rc == 0)
		rc = pal_keystore_kek_list(ks, &keks, &nk, err);
	for (size_t i = 0; rc == 0 && i < nk; i++) {
		int k = add_release(&r, n, &cap, keks[i].release, err);
		if (k < 0)
			rc = k;
		else if (!r[k].has_key ||
			 keks[i].generation > r[k].kek.generation) {
			r[k].has_key = 1;
			r[k].kek = keks[i];
		}
	}
	int fd = rc == 0 ? openat(v->dirfd, VAULT_RELEASES, O_RDONLY |
				  O_DIRECTORY | O_CLOEXEC) : -1;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	while (rc == 0 && d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;	/* ., .., staging */
		int k = add_release(&r, n, &cap, e->d_name, err);
		if (k < 0)
			rc = k;
		else
			r[k].has_files = 1;
	}
	if (d != NULL)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	free(keks);
	if (rc < 0) {
		free(r);
		*n = 0;
		return rc;
	}
	if (*n > 0)
		qsort(r, *n, sizeof(*r), by_name);
	*out = r;
	return 0;
}
