/*
 * seal.c - sealing a model as a release: a new key-encryption key in the
 * token, a new data key wrapped by it, every file encrypted into a staging
 * directory, the release's file list sealed beside them, all made durable
 * and renamed into place as one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/openat2.h>

#include "palisade/chunked.h"
#include "palisade/file.h"
#include "palisade/sealed.h"
#include "palisade/secmem.h"
#include "vault_int.h"

/* What every file of the release shares. */
struct sealing {
	struct pal_vault *v;
	const char *root;		/* the model path */
	int root_is_dir;
	int rootfd;			/* the model directory, when it is one */
	int stagefd;			/* releases/.staging-X */
	struct pal_secmem *dek;
	struct pal_wrapped_dek wrapped;
	struct pal_kek kek;
	const char *model, *release;
	unsigned threads;
	struct pal_err *err;
};

/* The header every file of the release gets, for one path and length. */
static struct pal_sealed_header
header_for(const struct sealing *s, const char *path, uint64_t len)
{
	struct pal_sealed_header h = {
		.suite = PAL_SEALED_SUITE_COBBLESTONE_256,
		.plain_len = len,
		.key_label = (const uint8_t *)s->kek.label,
		.key_label_len = strlen(s->kek.label),
		.key_id = s->kek.id, .key_id_len = sizeof(s->kek.id),
		.wrapped = s->wrapped.bytes, .wrapped_len = s->wrapped.len,
		.model = s->model, .model_len = strlen(s->model),
		.release = s->release, .release_len = strlen(s->release),
		.path = path, .path_len = strlen(path),
	};
	vault_wrap_to_header(s->wrapped.mech, &h.wrap);
	return h;
}

/* Encodes h and derives the file's keys (fresh salt) from its context. */
static int
prepare(const struct sealing *s, struct pal_sealed_header *h,
	struct pal_buf *hdr, struct pal_chunked_keys **keys)
{
	struct pal_buf ctx;
	pal_buf_init(&ctx, PAL_CHUNKED_CONTEXT_MAX);
	int rc = pal_sealed_encode(h, hdr, s->err);
	if (rc == 0 && pal_sealed_context(h, &ctx) < 0)
		rc = pal_err_set(s->err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = pal_chunked_derive_random(PAL_COBBLESTONE_256,
					       pal_secmem_cdata(s->dek),
					       pal_secmem_len(s->dek), ctx.p,
					       ctx.len, keys, s->err);
	pal_buf_free(&ctx);
	return rc;
}

/* Creates staging/<rel> (parents too) for writing; refuses to replace. */
static int
create_out(const struct sealing *s, const char *rel, int *fd)
{
	int rc = pal_mkdir_parents(s->stagefd, rel, 0700, s->err);
	if (rc < 0)
		return rc;
	*fd = openat(s->stagefd, rel, O_WRONLY | O_CREAT | O_EXCL |
		     O_CLOEXEC, 0600);
	if (*fd < 0)
		return pal_err_set(s->err, PAL_ERR_IO, "%s: %s", rel,
				   strerror(errno));
	return 0;
}

/* rel under rootfd, never through a symbolic link or out of it. */
static int
open_beneath(int rootfd, const char *rel)
{
	struct open_how how = {
		/* O_NONBLOCK: a FIFO swapped in must not hang the seal. */
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
}

static int
open_in(const struct sealing *s, const struct vfile *f, int *fd,
	struct stat *st)
{
	*fd = s->root_is_dir ? open_beneath(s->rootfd, f->path) :
		open(s->root, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0)
		return pal_err_set(s->err, PAL_ERR_IO, "%s: %s", f->path,
				   strerror(errno));
	if (fstat(*fd, st) != 0 || !S_ISREG(st->st_mode) ||
	    (uint64_t)st->st_size != f->size)
		return pal_err_set(s->err, PAL_ERR_IO, "%s: changed while it "
				   "was being sealed", f->path);
	return 0;
}

static int
seal_file(struct sealing *s, const struct vfile *f)
{
	struct pal_sealed_header h = header_for(s, f->path, f->size);
	struct pal_buf hdr;
	struct pal_chunked_keys *keys = NULL;
	struct stat before, after;
	char rel[PAL_SEALED_PATH_MAX + 32];
	int in = -1, out = -1;
	pal_buf_init(&hdr, PAL_SEALED_HEADER_MAX);
	snprintf(rel, sizeof(rel), "files/%s" VAULT_SUFFIX, f->path);
	int rc = prepare(s, &h, &hdr, &keys);
	if (rc == 0)
		rc = open_in(s, f, &in, &before);
	if (rc == 0)
		rc = create_out(s, rel, &out);
	if (rc == 0 && pal_pwrite_full(out, hdr.p, hdr.len, 0) != 0)
		rc = pal_err_set(s->err, PAL_ERR_IO, "%s: %s", rel,
				 strerror(errno));
	if (rc == 0)
		rc = pal_chunked_seal_fd(keys, in, 0, f->size, out, hdr.len,
					 s->threads, s->err);
	if (rc == 0 && (fstat(in, &after) != 0 ||
			after.st_size != before.st_size ||
			after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
			after.st_mtim.tv_nsec != before.st_mtim.tv_nsec))
		rc = pal_err_set(s->err, PAL_ERR_IO, "%s: changed while it "
				 "was being sealed", f->path);
	if (rc < 0)
		rc = pal_err_wrap(s->err, rc, "%s: ", f->path);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	pal_chunked_keys_free(keys);
	pal_buf_free(&hdr);
	return rc;
}

/* The release's file list, as JSON (caller frees). */
static char *
manifest_json(const struct sealing *s, const struct vfiles *files)
{
	char now[PAL_TPC_TIME_LEN + 1];
	pal_tpc_time_format((int64_t)time(NULL), now);
	json_t *list = json_array();
	for (size_t i = 0; list != NULL && i < files->n; i++)
		if (json_array_append_new(list, json_pack("{s:s, s:I}",
		    "path", files->v[i].path, "size",
		    (json_int_t)files->v[i].size)) != 0) {
			json_decref(list);
			list = NULL;
		}
	json_t *o = json_pack("{s:o*, s:s, s:s, s:s, s:i}", "files", list,
			      "model", s->model, "release", s->release,
			      "sealed", now, "version", 1);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return text;
}

static int
seal_manifest(struct sealing *s, const struct vfiles *files)
{
	char *text = manifest_json(s, files);
	if (text == NULL)
		return pal_err_set(s->err, PAL_ERR_NOMEM, "out of memory");
	size_t len = strlen(text);
	struct pal_sealed_header h = header_for(s, VAULT_MANIFEST_PATH, len);
	struct pal_buf hdr;
	struct pal_chunked_keys *keys = NULL;
	uint64_t ct_len = 0;
	uint8_t *ct = NULL;
	int out = -1;
	pal_buf_init(&hdr, PAL_SEALED_HEADER_MAX);
	int rc = prepare(s, &h, &hdr, &keys);
	if (rc == 0)
		rc = pal_chunked_ct_len(len, &ct_len, s->err);
	if (rc == 0 && (ct = malloc(ct_len)) == NULL)
		rc = pal_err_set(s->err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = pal_chunked_seal_buf(keys, (const uint8_t *)text, len, ct,
					  ct_len, 1, s->err);
	if (rc == 0)
		rc = create_out(s, VAULT_MANIFEST, &out);
	if (rc == 0 && (pal_pwrite_full(out, hdr.p, hdr.len, 0) != 0 ||
			pal_pwrite_full(out, ct, ct_len, hdr.len) != 0))
		rc = pal_err_set(s->err, PAL_ERR_IO, VAULT_MANIFEST ": %s",
				 strerror(errno));
	if (out >= 0)
		close(out);
	free(ct);
	free(text);
	pal_chunked_keys_free(keys);
	pal_buf_free(&hdr);
	return rc;
}

/* Makes the staging directory durable and renames it into place. */
static int
publish(struct sealing *s, const char *stage, const char *final)
{
	int relfd = openat(s->v->dirfd, VAULT_RELEASES, O_RDONLY |
			   O_DIRECTORY | O_CLOEXEC);
	int rc = 0;
	if (relfd < 0 || syncfs(s->stagefd) != 0)
		rc = pal_err_set(s->err, PAL_ERR_IO, "sync: %s",
				 strerror(errno));
	if (rc == 0 && renameat2(s->v->dirfd, stage, s->v->dirfd, final,
				 RENAME_NOREPLACE) != 0)
		rc = pal_err_set(s->err, PAL_ERR_IO, "%s: %s", final,
				 errno == EEXIST ? "the release appeared "
				 "meanwhile" : strerror(errno));
	if (rc == 0 && fsync(relfd) != 0)
		rc = pal_err_set(s->err, PAL_ERR_IO, VAULT_RELEASES ": %s",
				 strerror(errno));
	if (relfd >= 0)
		close(relfd);
	return rc;
}

static int
seal_all(struct sealing *s, const struct vfiles *files,
	 struct pal_keystore *ks)
{
	int rc = pal_keystore_kek_create(ks, s->release, &s->kek, s->err);
	if (rc < 0)
		return rc;
	rc = pal_keystore_dek_generate(&s->dek, s->err);
	if (rc == 0)
		rc = pal_keystore_wrap(ks, &s->kek, s->dek, &s->wrapped,
				       s->err);
	for (size_t i = 0; rc == 0 && i < files->n; i++)
		rc = seal_file(s, &files->v[i]);
	if (rc == 0)
		rc = seal_manifest(s, files);
	pal_secmem_free(s->dek);
	s->dek = NULL;
	return rc;
}

static int
audit_seal(struct pal_vault *v, const struct sealing *s,
	   struct pal_vault_sealed *out, struct pal_err *err)
{
	json_t *d = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "release",
			      s->release, "model", s->model, "files",
			      (json_int_t)out->files, "bytes",
			      (json_int_t)out->bytes, "key", s->kek.label,
			      "key_id", s->kek.id_hex);
	return vault_audit_json(v, "vault.seal", d, &out->log_index,
				&out->logged, err);
}

static const char *
base_name(const char *path, char *buf, size_t n)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	size_t start = len;
	while (start > 0 && path[start - 1] != '/')
		start--;
	snprintf(buf, n, "%.*s", (int)(len - start), path + start);
	return buf;
}

int
pal_vault_seal(struct pal_vault *v, const char *path, const char *release,
	       const char *model_name, unsigned threads,
	       struct pal_vault_sealed *out, struct pal_err *err)
{
	char name[PAL_SEALED_MODEL_MAX + 2], final[PATH_MAX];
	char stage[PATH_MAX];
	struct sealing s = {
		.v = v, .root = path, .release = release, .err = err,
		.threads = threads, .stagefd = -1, .rootfd = -1,
		.model = model_name ? model_name :
			base_name(path, name, sizeof(name)),
	};
	struct vfiles files = { 0 };
	struct pal_keystore *ks = NULL;
	struct stat st;
	memset(out, 0, sizeof(*out));
	int rc = pal_keystore_release_check(release, err);
	if (rc == 0)
		snprintf(final, sizeof(final), VAULT_RELEASES "/%s", release);
	if (rc == 0 && fstatat(v->dirfd, final, &st, AT_SYMLINK_NOFOLLOW) == 0)
		rc = pal_err_set(err, PAL_ERR_INVALID, "release %s exists in "
				 "the vault already", release);
	if (rc == 0 && stat(path, &st) != 0)
		rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				 strerror(errno));
	s.root_is_dir = rc == 0 && S_ISDIR(st.st_mode);
	if (s.root_is_dir && (s.rootfd = open(path, O_RDONLY | O_DIRECTORY |
					      O_CLOEXEC)) < 0)
		rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				 strerror(errno));
	if (rc == 0)
		rc = vault_walk(path, PAL_VAULT_FILES_MAX, &files, err);
	if (rc == 0)
		rc = vault_keystore(v, &ks, err);
	if (rc == 0)
		rc = vault_make_stage(v, stage, sizeof(stage), &s.stagefd, err);
	int kek_made = 0;
	if (rc == 0) {
		rc = seal_all(&s, &files, ks);
		kek_made = s.kek.label[0] != '\0';
	}
	for (size_t i = 0; rc == 0 && i < files.n; i++)
		out->bytes += files.v[i].size;
	out->files = files.n;
	if (rc == 0)
		rc = publish(&s, stage, final);
	if (rc == 0) {
		snprintf(out->kek_label, sizeof(out->kek_label), "%s",
			 s.kek.label);
		rc = audit_seal(v, &s, out, err);
	}
	if (rc < 0 && s.stagefd >= 0)
		vault_remove_tree(v->dirfd, stage);
	if (rc < 0 && kek_made) {
		struct pal_err e2 = { 0 };
		if (pal_keystore_kek_destroy(ks, &s.kek, &e2) < 0)
			pal_err_wrap(err, rc, "(and its key stays in the "
				     "token: %s) ", e2.msg);
	}
	if (s.stagefd >= 0)
		close(s.stagefd);
	if (s.rootfd >= 0)
		close(s.rootfd);
	vfiles_free(&files);
	return rc;
}
