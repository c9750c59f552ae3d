/*
 * unseal.c - opening a sealed release: its file list first (sealed like a
 * file, so only the data key's holder could have written it), then every
 * file it names, each checked against the list and authenticated whole
 * before any of its plaintext becomes visible.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "palisade/chunked.h"
#include "palisade/file.h"
#include "palisade/sealed.h"
#include "palisade/secmem.h"
#include "vault_int.h"

#define MANIFEST_MAX (64u << 20)	/* a list of 100,000 files fits */

/* A sealed file, opened: its header parsed from hbuf. */
struct sfile {
	int fd;
	uint8_t *hbuf;
	struct pal_sealed_header h;
	uint64_t msg_len;		/* bytes after the header */
};

/* The release being opened. */
struct opening {
	struct pal_vault *v;
	const char *release;
	int reldirfd;			/* releases/R */
	struct pal_keystore *ks;
	struct pal_secmem *dek;
	struct sfile man;		/* release.sealed */
	char *model;
	struct vfiles files;		/* from the file list */
	unsigned threads;
	struct pal_err *err;
};

static void
sfile_close(struct sfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->hbuf);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

/* Opens rel under the release directory and parses its header. */
static int
sfile_open(struct opening *o, const char *rel, struct sfile *f)
{
	struct stat st;
	f->fd = openat(o->reldirfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f->fd < 0 || fstat(f->fd, &st) != 0)
		return pal_err_set(o->err, PAL_ERR_VERIFY, "%s: %s", rel,
				   strerror(errno));
	if (!S_ISREG(st.st_mode))
		return pal_err_set(o->err, PAL_ERR_VERIFY, "%s: not a regular "
				   "file", rel);
	size_t n = (uint64_t)st.st_size < PAL_SEALED_HEADER_MAX ?
		(size_t)st.st_size : PAL_SEALED_HEADER_MAX;
	if ((f->hbuf = malloc(n ? n : 1)) == NULL)
		return pal_err_set(o->err, PAL_ERR_NOMEM, "out of memory");
	if (pal_pread_full(f->fd, f->hbuf, n, 0) != (int64_t)n)
		return pal_err_set(o->err, PAL_ERR_IO, "%s: %s", rel,
				   strerror(errno));
	int rc = pal_sealed_parse(f->hbuf, n, &f->h, o->err);
	if (rc < 0)
		return pal_err_wrap(o->err, rc == PAL_ERR_TRUNCATED ?
				    PAL_ERR_VERIFY : rc, "%s: ", rel);
	f->msg_len = (uint64_t)st.st_size - f->h.header_len;
	return 0;
}

static int
same(const void *a, size_t an, const void *b, size_t bn)
{
	return an == bn && memcmp(a, b, an) == 0;
}

/* The header must say what the release's file list says it is. */
static int
check_header(struct opening *o, const char *rel, const struct sfile *f,
	     const char *path, uint64_t size)
{
	const struct pal_sealed_header *h = &f->h, *m = &o->man.h;
	const char *what = NULL;
	if (!same(h->release, h->release_len, o->release,
		  strlen(o->release)))
		what = "another release";
	else if (!same(h->path, h->path_len, path, strlen(path)))
		what = "another path";
	else if (!same(h->model, h->model_len, m->model, m->model_len))
		what = "another model";
	else if (h->plain_len != size)
		what = "another length than the release's file list";
	else if (h->wrap != m->wrap ||
		 !same(h->key_label, h->key_label_len, m->key_label,
		       m->key_label_len) ||
		 !same(h->key_id, h->key_id_len, m->key_id, m->key_id_len) ||
		 !same(h->wrapped, h->wrapped_len, m->wrapped,
		       m->wrapped_len))
		what = "another data key than the release's";
	if (what != NULL)
		return pal_err_set(o->err, PAL_ERR_VERIFY, "%s: its header "
				   "names %s: moved or swapped", rel, what);
	return 0;
}

/* Derives f's keys from its context and checks the key commitment. */
static int
file_keys(struct opening *o, const char *rel, const struct sfile *f,
	  struct pal_chunked_keys **keys)
{
	uint8_t head[PAL_CHUNKED_HEADER_LEN];
	struct pal_buf ctx;
	pal_buf_init(&ctx, PAL_CHUNKED_CONTEXT_MAX);
	int rc = pal_sealed_context(&f->h, &ctx) < 0 ?
		pal_err_set(o->err, PAL_ERR_NOMEM, "out of memory") : 0;
	if (rc == 0)
		rc = pal_chunked_read_header(f->fd, f->h.header_len, head,
					     o->err);
	if (rc == 0)
		rc = pal_chunked_derive_header(PAL_COBBLESTONE_256,
					       pal_secmem_cdata(o->dek),
					       pal_secmem_len(o->dek), head,
					       ctx.p, ctx.len, keys, o->err);
	pal_buf_free(&ctx);
	return rc < 0 ? pal_err_wrap(o->err, rc, "%s: ", rel) : 0;
}

/* The release's key, from the file list's header, into o->dek. */
static int
unwrap_dek(struct opening *o)
{
	struct pal_kek kek;
	struct pal_wrapped_dek w;
	int rc = vault_header_key(o->ks, o->release, &o->man.h, &kek, &w,
				  o->err);
	if (rc == 0)
		rc = pal_keystore_unwrap(o->ks, &kek, &w, &o->dek, o->err);
	return rc < 0 ? pal_err_wrap(o->err, rc, "release %s: ",
				     o->release) : 0;
}

/* A member of the file list: {"path": P, "size": N}, exactly. */
static int
list_entry(struct opening *o, json_t *e, size_t i)
{
	json_t *p = json_object_get(e, "path"), *n = json_object_get(e, "size");
	if (!json_is_object(e) || json_object_size(e) != 2 ||
	    !json_is_string(p) || !json_is_integer(n) ||
	    json_integer_value(n) < 0)
		return pal_err_set(o->err, PAL_ERR_VERIFY, "file list entry "
				   "%zu is not {\"path\", \"size\"}", i);
	const char *path = json_string_value(p);
	int rc = pal_sealed_check_path(path, json_string_length(p), o->err);
	if (rc == 0 && strlen(path) != json_string_length(p))
		rc = pal_err_set(o->err, PAL_ERR_FORMAT, "NUL in a path");
	if (rc == 0 && i > 0 && strcmp(o->files.v[i - 1].path, path) >= 0)
		rc = pal_err_set(o->err, PAL_ERR_FORMAT, "paths not sorted "
				 "or repeated");
	if (rc < 0)
		return pal_err_wrap(o->err, PAL_ERR_VERIFY, "file list entry "
				    "%zu: ", i);
	if ((o->files.v[i].path = strdup(path)) == NULL)
		return pal_err_set(o->err, PAL_ERR_NOMEM, "out of memory");
	o->files.v[i].size = (uint64_t)json_integer_value(n);
	o->files.n = i + 1;
	return 0;
}

static int
parse_list(struct opening *o, const uint8_t *text, size_t len)
{
	json_error_t je;
	json_t *doc = json_loadb((const char *)text, len,
				 JSON_REJECT_DUPLICATES, &je);
	json_t *files = json_object_get(doc, "files");
	json_t *model = json_object_get(doc, "model");
	json_t *rel = json_object_get(doc, "release");
	json_t *ver = json_object_get(doc, "version");
	int rc = 0;
	if (!json_is_array(files) || !json_is_string(model) ||
	    !json_is_string(rel) || !json_is_integer(ver) ||
	    json_integer_value(ver) != 1 ||
	    !json_is_string(json_object_get(doc, "sealed")) ||
	    json_object_size(doc) != 5)
		rc = pal_err_set(o->err, PAL_ERR_VERIFY, "the file list is "
				 "not a version 1 list");
	else if (strcmp(json_string_value(rel), o->release) != 0)
		rc = pal_err_set(o->err, PAL_ERR_VERIFY, "the file list is "
				 "release %s's", json_string_value(rel));
	size_t n = rc == 0 ? json_array_size(files) : 0;
	if (rc == 0 && (n == 0 || n > PAL_VAULT_FILES_MAX))
		rc = pal_err_set(o->err, PAL_ERR_VERIFY, "the file list holds "
				 "%zu files", n);
	if (rc == 0 && ((o->files.v = calloc(n, sizeof(*o->files.v))) ==
			NULL || (o->model = strdup(json_string_value(model)))
			== NULL))
		rc = pal_err_set(o->err, PAL_ERR_NOMEM, "out of memory");
	o->files.cap = n;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = list_entry(o, json_array_get(files, i), i);
	json_decref(doc);
	return rc;
}

/* Opens release.sealed: the key, then the list of the release's files. */
static int
open_list(struct opening *o)
{
	struct pal_chunked_keys *keys = NULL;
	uint8_t *msg = NULL, *text = NULL;
	size_t len = 0;
	int rc = sfile_open(o, VAULT_MANIFEST, &o->man);
	const struct pal_sealed_header *h = &o->man.h;
	if (rc == 0 && (!same(h->path, h->path_len, VAULT_MANIFEST_PATH,
			      strlen(VAULT_MANIFEST_PATH)) ||
			!same(h->release, h->release_len, o->release,
			      strlen(o->release))))
		rc = pal_err_set(o->err, PAL_ERR_VERIFY, VAULT_MANIFEST ": "
				 "not the file list of release %s",
				 o->release);
	if (rc == 0 && (h->plain_len > MANIFEST_MAX ||
			o->man.msg_len > MANIFEST_MAX + MANIFEST_MAX / 8))
		rc = pal_err_set(o->err, PAL_ERR_VERIFY, VAULT_MANIFEST ": "
				 "larger than %u bytes", MANIFEST_MAX);
	if (rc == 0)
		rc = unwrap_dek(o);
	if (rc == 0)
		rc = file_keys(o, VAULT_MANIFEST, &o->man, &keys);
	if (rc == 0 && ((msg = malloc(o->man.msg_len)) == NULL ||
			(text = malloc(h->plain_len + 1)) == NULL))
		rc = pal_err_set(o->err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0 && pal_pread_full(o->man.fd, msg, o->man.msg_len,
				      h->header_len) != (int64_t)o->man.msg_len)
		rc = pal_err_set(o->err, PAL_ERR_IO, VAULT_MANIFEST ": %s",
				 strerror(errno));
	if (rc == 0)
		rc = pal_chunked_open_buf(keys, msg, o->man.msg_len, text,
					  h->plain_len, &len, 1, o->err);
	if (rc == 0 && len != h->plain_len)
		rc = pal_err_set(o->err, PAL_ERR_VERIFY, "length mismatch");
	if (rc < 0)
		rc = pal_err_wrap(o->err, rc, VAULT_MANIFEST ": ");
	if (rc == 0)
		rc = parse_list(o, text, len);
	free(msg);
	free(text);
	pal_chunked_keys_free(keys);
	return rc;
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct vfile *)a)->path,
		      ((const struct vfile *)b)->path);
}

/* Every listed file is in files/, and nothing else is. */
static int
check_present(struct opening *o)
{
	struct vfiles have = { 0 };
	struct pal_err e2 = { 0 };
	char dir[PATH_MAX];
	size_t sl = strlen(VAULT_SUFFIX);
	snprintf(dir, sizeof(dir), "%s/" VAULT_RELEASES "/%s/files",
		 o->v->dir, o->release);
	int rc = vault_walk(dir, PAL_VAULT_FILES_MAX + 1, &have, &e2);
	if (rc < 0)
		return pal_err_set(o->err, PAL_ERR_VERIFY, "release %s: its "
				   "files: %s", o->release, e2.msg);
	for (size_t j = 0; rc == 0 && j < have.n; j++) {
		size_t gl = strlen(have.v[j].path);
		if (gl <= sl || strcmp(have.v[j].path + gl - sl,
				       VAULT_SUFFIX) != 0)
			rc = pal_err_set(o->err, PAL_ERR_VERIFY, "release %s: "
					 "files/%s is not a sealed file",
					 o->release, have.v[j].path);
		else
			have.v[j].path[gl - sl] = '\0';
	}
	if (rc == 0)
		qsort(have.v, have.n, sizeof(*have.v), by_path);
	size_t i = 0, j = 0;
	while (rc == 0 && (i < o->files.n || j < have.n)) {
		const char *want = i < o->files.n ? o->files.v[i].path : NULL;
		const char *got = j < have.n ? have.v[j].path : NULL;
		int cmp = !got ? -1 : !want ? 1 : strcmp(want, got);
		if (cmp < 0)
			rc = pal_err_set(o->err, PAL_ERR_VERIFY, "release %s: "
					 "%s is missing", o->release, want);
		else if (cmp > 0)
			rc = pal_err_set(o->err, PAL_ERR_VERIFY, "release %s: "
					 "files/%s" VAULT_SUFFIX " is not in "
					 "its file list", o->release, got);
		i += cmp <= 0;
		j += cmp >= 0;
	}
	vfiles_free(&have);
	return rc;
}

/* Decrypts listed file i into out_fd (from offset 0). */
static int
open_file(struct opening *o, size_t i, int out_fd)
{
	const struct vfile *f = &o->files.v[i];
	char rel[PAL_SEALED_PATH_MAX + 32];
	struct sfile sf = { .fd = -1 };
	struct pal_chunked_keys *keys = NULL;
	snprintf(rel, sizeof(rel), "files/%s" VAULT_SUFFIX, f->path);
	int rc = sfile_open(o, rel, &sf);
	uint64_t want = 0;
	if (rc == 0)
		rc = check_header(o, rel, &sf, f->path, f->size);
	if (rc == 0 && (pal_chunked_ct_len(f->size, &want, o->err) < 0 ||
			want != sf.msg_len))
		rc = pal_err_set(o->err, PAL_ERR_VERIFY, "%s: %llu bytes of "
				 "ciphertext where %llu bytes of plaintext "
				 "need %llu: truncated or extended", rel,
				 (unsigned long long)sf.msg_len,
				 (unsigned long long)f->size,
				 (unsigned long long)want);
	if (rc == 0)
		rc = file_keys(o, rel, &sf, &keys);
	if (rc == 0) {
		rc = pal_chunked_open_fd(keys, sf.fd, sf.h.header_len,
					 sf.msg_len, out_fd, 0, o->threads,
					 o->err);
		if (rc < 0)
			rc = pal_err_wrap(o->err, rc, "%s: ", rel);
	}
	pal_chunked_keys_free(keys);
	sfile_close(&sf);
	return rc;
}

/* A memfd holding listed file i, sealed against change. */
static int
to_memfd(struct opening *o, size_t i, int *out)
{
	const struct vfile *f = &o->files.v[i];
	const char *base = strrchr(f->path, '/');
	int fd = memfd_create(base ? base + 1 : f->path,
			      MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return pal_err_set(o->err, PAL_ERR_SYSTEM, "memfd_create: %s",
				   strerror(errno));
	int rc = 0;
	if (ftruncate(fd, (off_t)f->size) != 0)
		rc = pal_err_set(o->err, PAL_ERR_NOMEM, "%s: a memfd of %llu "
				 "bytes: %s", f->path,
				 (unsigned long long)f->size, strerror(errno));
	if (rc == 0)
		rc = open_file(o, i, fd);
	if (rc == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
			     F_SEAL_WRITE | F_SEAL_SEAL) != 0)
		rc = pal_err_set(o->err, PAL_ERR_SYSTEM, "%s: sealing the "
				 "memfd: %s", f->path, strerror(errno));
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

static int
copy_fd(int from, uint64_t n, int to, struct pal_err *err)
{
	off_t off = 0;
	while ((uint64_t)off < n) {
		ssize_t w = sendfile(to, from, &off, n - (uint64_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return pal_err_set(err, PAL_ERR_IO, "writing the "
					   "output: %s", w < 0 ?
					   strerror(errno) : "short write");
	}
	return 0;
}

static int
unseal_memfds(struct opening *o, struct pal_unsealed *out)
{
	if ((out->f = calloc(o->files.n, sizeof(*out->f))) == NULL)
		return pal_err_set(o->err, PAL_ERR_NOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < o->files.n; i++) {
		out->f[i].fd = -1;
		rc = to_memfd(o, i, &out->f[i].fd);
		if (rc == 0 && (out->f[i].path = strdup(o->files.v[i].path))
		    == NULL)
			rc = pal_err_set(o->err, PAL_ERR_NOMEM,
					 "out of memory");
		out->f[i].size = o->files.v[i].size;
		out->n = i + 1;
	}
	return rc;
}

static int
unseal_to_fd(struct opening *o, const struct pal_unseal_target *t)
{
	size_t i = 0;
	if (t->path == NULL && o->files.n != 1)
		return pal_err_set(o->err, PAL_ERR_INVALID, "release %s holds "
				   "%zu files: name the one to write",
				   o->release, o->files.n);
	while (t->path != NULL && i < o->files.n &&
	       strcmp(o->files.v[i].path, t->path) != 0)
		i++;
	if (i == o->files.n)
		return pal_err_set(o->err, PAL_ERR_INVALID, "release %s has "
				   "no file %s", o->release, t->path);
	int fd = -1;
	int rc = to_memfd(o, i, &fd);	/* authenticated whole first */
	if (rc == 0)
		rc = copy_fd(fd, o->files.v[i].size, t->fd, o->err);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Into a new directory: written beside it, renamed into place whole. */
static int
unseal_to_dir(struct opening *o, const char *dir)
{
	char tmp[PATH_MAX];
	struct stat st;
	if (lstat(dir, &st) == 0 || errno != ENOENT)
		return pal_err_set(o->err, PAL_ERR_INVALID, "%s: exists "
				   "already (unseal makes a new directory)",
				   dir);
	snprintf(tmp, sizeof(tmp), "%s.unsealing-%ld", dir, (long)getpid());
	if (mkdir(tmp, 0700) != 0)
		return pal_err_set(o->err, PAL_ERR_IO, "%s: %s", tmp,
				   strerror(errno));
	int tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = tfd >= 0 ? 0 :
		pal_err_set(o->err, PAL_ERR_IO, "%s: %s", tmp, strerror(errno));
	for (size_t i = 0; rc == 0 && i < o->files.n; i++) {
		const char *path = o->files.v[i].path;
		int fd = -1;
		rc = pal_mkdir_parents(tfd, path, 0700, o->err);
		if (rc == 0 && (fd = openat(tfd, path, O_WRONLY | O_CREAT |
					    O_EXCL | O_CLOEXEC, 0600)) < 0)
			rc = pal_err_set(o->err, PAL_ERR_IO, "%s/%s: %s", tmp,
					 path, strerror(errno));
		if (rc == 0)
			rc = open_file(o, i, fd);
		if (fd >= 0)
			close(fd);
	}
	if (rc == 0 && (syncfs(tfd) != 0 ||
			renameat2(AT_FDCWD, tmp, AT_FDCWD, dir,
				  RENAME_NOREPLACE) != 0))
		rc = pal_err_set(o->err, PAL_ERR_IO, "%s: %s", dir,
				 strerror(errno));
	if (rc < 0)	/* no plaintext is left behind */
		vault_remove_tree(AT_FDCWD, tmp);
	if (tfd >= 0)
		close(tfd);
	return rc;
}

static int
audit_unseal(struct opening *o, const struct pal_vault_authz *a,
	     struct pal_unsealed *out)
{
	json_t *who = json_array();
	const struct pal_tpc_report *r = a->report;
	for (size_t i = 0; r != NULL && who != NULL && i < r->n_valid; i++)
		json_array_append_new(who, json_string(r->valid[i]));
	json_t *d = json_pack("{s:s, s:s, s:I, s:I, s:o*}", "release",
			      o->release, "model", o->model ? o->model : "",
			      "files", (json_int_t)o->files.n, "bytes",
			      (json_int_t)out->bytes, "approvers", who);
	if (d != NULL && r != NULL && r->have_request)
		json_object_set_new(d, "requester",
				    json_string(r->req.requester));
	return vault_audit_json(o->v, "vault.unseal", d, &out->log_index,
				&out->logged, o->err);
}

void
pal_unsealed_free(struct pal_unsealed *u)
{
	for (size_t i = 0; u->f != NULL && i < u->n; i++) {
		if (u->f[i].fd >= 0)
			close(u->f[i].fd);
		free(u->f[i].path);
	}
	free(u->f);
	memset(u, 0, sizeof(*u));
}

int
pal_vault_unseal(struct pal_vault *v, const char *release,
		 const struct pal_vault_authz *a,
		 const struct pal_unseal_target *t, struct pal_unsealed *out,
		 struct pal_err *err)
{
	struct pal_tpc_report rep;
	struct pal_vault_authz az = *a;
	struct opening o = {
		.v = v, .release = release, .reldirfd = -1, .err = err,
		.man = { .fd = -1 },
	};
	char rel[PATH_MAX];
	memset(out, 0, sizeof(*out));
	if (az.report == NULL)
		az.report = &rep;
	int rc = pal_keystore_release_check(release, err);
	if (rc == 0)
		rc = vault_authorize(v, PAL_TPC_UNSEAL, release, &az, err);
	snprintf(rel, sizeof(rel), VAULT_RELEASES "/%s", release);
	if (rc == 0 && (o.reldirfd = openat(v->dirfd, rel, O_RDONLY |
					    O_DIRECTORY | O_NOFOLLOW |
					    O_CLOEXEC)) < 0)
		rc = pal_err_set(err, errno == ENOENT ? PAL_ERR_INVALID :
				 PAL_ERR_IO, "release %s: %s", release,
				 errno == ENOENT ? "not in the vault" :
				 strerror(errno));
	if (rc == 0)
		rc = vault_keystore(v, &o.ks, err);
	if (rc == 0)
		rc = open_list(&o);
	if (rc == 0)
		rc = check_present(&o);
	for (size_t i = 0; rc == 0 && i < o.files.n; i++)
		out->bytes += o.files.v[i].size;
	if (rc == 0 && t->kind == PAL_UNSEAL_DIR)
		rc = unseal_to_dir(&o, t->dir);
	else if (rc == 0 && t->kind == PAL_UNSEAL_MEMFD)
		rc = unseal_memfds(&o, out);
	else if (rc == 0)
		rc = unseal_to_fd(&o, t);
	if (rc == 0)
		rc = audit_unseal(&o, &az, out);
	if (rc < 0)
		pal_unsealed_free(out);
	pal_secmem_free(o.dek);
	sfile_close(&o.man);
	if (o.reldirfd >= 0)
		close(o.reldirfd);
	vfiles_free(&o.files);
	free(o.model);
	return rc;
}
