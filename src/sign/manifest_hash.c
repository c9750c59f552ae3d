/*
 * manifest_hash.c - hashing a model's files and shards in parallel.
 *
 * Work items (a whole file, or one shard) are handed out to one thread per
 * core from an atomic counter, largest first so that the last item does not
 * leave a core idle.  Each item is read with pread in 1 MiB blocks (the
 * block stays in cache between the read and the hash) and the file is
 * checked before and after: same inode as listed, same size, same
 * modification and change times.  A file that changes while it is hashed
 * is an error, never a digest.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "manifest_int.h"

#define BLOCK (1u << 20)
#define MAX_THREADS 64

struct item {
	size_t file;		/* index into the file list */
	uint64_t start, end;
	size_t res;		/* index of the resource it fills */
};

struct job {
	const struct mf_walk *w;
	const char *single_path;
	const struct mf_list *files;
	struct item *items;
	size_t n_items;
	struct pal_manifest *m;
	const EVP_MD *md;
	atomic_size_t next;
	atomic_int failed;
	pthread_mutex_t lock;
	struct pal_err *err;	/* first failure, under lock */
	int rc;
};

static void
fail(struct job *j, int rc, const struct pal_err *e)
{
	pthread_mutex_lock(&j->lock);
	if (j->rc == 0) {
		j->rc = rc;
		if (j->err != NULL)
			*j->err = *e;
	}
	pthread_mutex_unlock(&j->lock);
	atomic_store(&j->failed, 1);
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
		a->st_size == b->st_size &&
		a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
		a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
		a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
		a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int
open_item(struct job *j, const struct mf_file *f, struct stat *st,
	  struct pal_err *err)
{
	int fd;
	if (j->w->rootfd < 0) {
		fd = open(j->single_path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
			  O_NONBLOCK | (j->w->allow_symlinks ? 0 : O_NOFOLLOW));
		if (fd < 0)
			return pal_err_set(err, PAL_ERR_IO, "%s: %s",
					   j->single_path, strerror(errno));
	} else if ((fd = mf_open(j->w, f, err)) < 0) {
		return fd;
	}
	const char *name = j->w->rootfd < 0 ? j->single_path : f->rel;
	if (fstat(fd, st) != 0) {
		close(fd);
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", name,
				   strerror(errno));
	}
	if (st->st_dev != f->dev || st->st_ino != f->ino ||
	    (uint64_t)st->st_size != f->size) {
		close(fd);
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "%s: changed while the model was hashed",
				   name);
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return fd;
}

static int
hash_range(struct job *j, int fd, const char *name, const struct item *it,
	   uint8_t *buf, EVP_MD_CTX *ctx, uint8_t *out, struct pal_err *err)
{
	if (EVP_DigestInit_ex(ctx, j->md, NULL) != 1)
		return pal_err_set(err, PAL_ERR_CRYPTO, "digest init");
	uint64_t off = it->start;
	while (off < it->end && !atomic_load(&j->failed)) {
		size_t want = it->end - off < BLOCK ? (size_t)(it->end - off) :
			BLOCK;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pal_err_set(err, PAL_ERR_IO, "%s: %s", name,
					   strerror(errno));
		if (n == 0)
			return pal_err_set(err, PAL_ERR_VERIFY,
					   "%s: shrank while it was hashed",
					   name);
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			return pal_err_set(err, PAL_ERR_CRYPTO,
					   "digest update");
		off += (uint64_t)n;
	}
	unsigned int len = 0;
	if (EVP_DigestFinal_ex(ctx, out, &len) != 1)
		return pal_err_set(err, PAL_ERR_CRYPTO, "digest final");
	return 0;
}

static int
hash_item(struct job *j, const struct item *it, uint8_t *buf,
	  EVP_MD_CTX *ctx, struct pal_err *err)
{
	const struct mf_file *f = &j->files->v[it->file];
	const char *name = j->w->rootfd < 0 ? j->single_path : f->rel;
	struct stat before, after;
	int fd = open_item(j, f, &before, err);
	if (fd < 0)
		return fd;
	struct pal_resource *r = &j->m->res[it->res];
	int rc = hash_range(j, fd, name, it, buf, ctx, r->digest, err);
	if (rc == 0 && fstat(fd, &after) != 0)
		rc = pal_err_set(err, PAL_ERR_IO, "%s: %s", name,
				 strerror(errno));
	else if (rc == 0 && !same_file(&before, &after))
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "%s: changed while it was hashed", name);
	close(fd);
	return rc;
}

static void *
worker(void *arg)
{
	struct job *j = arg;
	struct pal_err e = { 0 };
	uint8_t *buf = malloc(BLOCK);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (buf == NULL || ctx == NULL) {
		fail(j, pal_err_set(&e, PAL_ERR_NOMEM, "out of memory"), &e);
		goto out;
	}
	for (;;) {
		if (atomic_load(&j->failed))
			break;
		size_t i = atomic_fetch_add(&j->next, 1);
		if (i >= j->n_items)
			break;
		int rc = hash_item(j, &j->items[i], buf, ctx, &e);
		if (rc < 0) {
			fail(j, rc, &e);
			break;
		}
	}
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return NULL;
}

static int
cmp_item_size(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	uint64_t lx = x->end - x->start, ly = y->end - y->start;
	return lx < ly ? 1 : lx > ly ? -1 : 0;
}

/* Lays out the items and names the resources they fill. */
static int
plan(const struct mf_list *files, struct pal_manifest *m, struct item **out,
     size_t *n_out, struct pal_err *err)
{
	uint64_t step = m->shard_size;
	size_t n = 0;
	for (size_t i = 0; i < files->n; i++) {
		uint64_t sz = files->v[i].size;
		if (step == 0)
			n++;
		else if (sz / step + 1 > MF_MAX_FILES - n)
			return pal_err_set(err, PAL_ERR_LIMIT,
					   "more than %d shards", MF_MAX_FILES);
		else
			n += (size_t)(sz / step + (sz % step != 0));
	}
	struct item *items = calloc(n ? n : 1, sizeof(*items));
	m->res = calloc(n ? n : 1, sizeof(*m->res));
	if (items == NULL || m->res == NULL) {
		free(items);
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	size_t k = 0;
	for (size_t i = 0; i < files->n; i++) {
		const struct mf_file *f = &files->v[i];
		uint64_t end = step ? 0 : f->size;
		do {
			uint64_t start = end;
			if (step != 0) {
				if (start >= f->size)
					break;
				end = f->size - start > step ? start + step :
					f->size;
			} else {
				start = 0;
			}
			items[k] = (struct item){ i, start, end, k };
			struct pal_resource *r = &m->res[k];
			r->digest_len = pal_hash_size(m->hash);
			if (step == 0)
				r->name = strdup(f->rel);
			else if (asprintf(&r->name, "%s:%llu:%llu", f->rel,
					  (unsigned long long)start,
					  (unsigned long long)end) < 0)
				r->name = NULL;
			if (r->name == NULL) {
				m->n_res = k;
				free(items);
				return pal_err_set(err, PAL_ERR_NOMEM,
						   "out of memory");
			}
			k++;
			m->total_bytes += end - start;
		} while (step != 0);
	}
	m->n_res = k;
	qsort(items, k, sizeof(*items), cmp_item_size);
	*out = items;
	*n_out = k;
	return 0;
}

int
mf_hash(const struct mf_walk *w, const char *single_path,
	const struct mf_list *files, int threads, struct pal_manifest *m,
	struct pal_err *err)
{
	struct job j = {
		.w = w, .single_path = single_path, .files = files, .m = m,
		.err = err,
	};
	int rc = plan(files, m, &j.items, &j.n_items, err);
	if (rc < 0)
		return rc;
	EVP_MD *md = EVP_MD_fetch(NULL, m->hash == PAL_HASH_SHA256 ?
				  "SHA256" : "BLAKE2B-512", NULL);
	if (md == NULL) {
		free(j.items);
		return pal_err_set(err, PAL_ERR_CRYPTO, "no %s digest",
				   pal_hash_name(m->hash));
	}
	j.md = md;
	if (threads <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cpus > 0 ? (int)cpus : 1;
	}
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	if ((size_t)threads > j.n_items)
		threads = j.n_items ? (int)j.n_items : 1;
	pthread_mutex_init(&j.lock, NULL);
	pthread_t tid[MAX_THREADS];
	int started = 0;
	for (int i = 1; i < threads; i++) {
		if (pthread_create(&tid[started], NULL, worker, &j) != 0)
			break;	/* fewer threads still finish the job */
		started++;
	}
	worker(&j);
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&j.lock);
	EVP_MD_free(md);
	free(j.items);
	return j.rc;
}
