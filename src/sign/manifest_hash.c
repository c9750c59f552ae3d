/*
 * manifest_hash.c - hashing a model's files and shards in parallel.
 *
 * Work items (a whole file, or one shard) are handed out to one thread per
 * core from an atomic counter, largest first so that the last item does not
 * leave a core idle.  The file is checked before and after: same inode as
 * listed, same size, same modification and change times.  A file that
 * changes while it is hashed is an error, never a digest.
 *
 * Items of MAP_MIN bytes or more are hashed straight from the page cache,
 * through read-only mappings of WINDOW bytes that start on huge-page
 * boundaries: the page cache holds a file that was read in 2 MiB folios,
 * and such a window maps each with one page-table entry, so that hashing
 * costs almost nothing besides SHA-256.  Reading into a buffer instead costs a
 * copy, a fifth to a third of the time of SHA-256 itself (bench/README.md).
 * The windows are not populated when mapped but marked sequential: on a
 * cold cache the faults read ahead as read(2) would, while the thread
 * hashes what is already there.  Smaller items, and files that cannot be
 * mapped, are read with pread in BLOCK-sized blocks.  Nothing is buffered
 * beyond one block or one window per thread.
 *
 * A file truncated under a mapping raises SIGBUS when the lost pages are
 * touched.  While mf_hash runs, a handler sends a bus error inside a
 * worker's window back to that worker (siglongjmp), which reports the file
 * as changed; any other SIGBUS goes to the handler installed before, or
 * kills the process as it would have.  If the handler cannot be installed,
 * every file is read with pread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "manifest_int.h"

#define BLOCK (1u << 20)		/* pread block */
#define WINDOW (16u << 20)		/* mapping window */
#define MAP_ALIGN (2u << 20)		/* huge page: windows start on one */
#define MAP_MIN (4u << 20)		/* smaller items are read */
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
	int map;		/* large items may be mapped */
	atomic_size_t next;
	atomic_int failed;
	pthread_mutex_t lock;
	struct pal_err *err;	/* first failure, under lock */
	int rc;
};

/* The window a worker is hashing, and its way back from a bus error. */
struct guard {
	sigjmp_buf *back;	/* NULL outside a window */
	void *p;
	size_t len;
};

static _Thread_local volatile struct guard guard;
static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int guard_users;
static struct sigaction guard_prev;

/* Hands a SIGBUS that is not a worker's to whoever had it before. */
static void
guard_chain(int sig, siginfo_t *si, void *uc)
{
	if (guard_prev.sa_flags & SA_SIGINFO) {
		guard_prev.sa_sigaction(sig, si, uc);
	} else if (guard_prev.sa_handler != SIG_DFL &&
		   guard_prev.sa_handler != SIG_IGN) {
		guard_prev.sa_handler(sig);
	} else if (guard_prev.sa_handler == SIG_DFL || si->si_code > 0) {
		/*
		 * The default action, once this handler returns: a fault
		 * recurs on the same access, a sent signal is pending.  An
		 * ignored fault would recur forever, so it gets it too, as
		 * the kernel would have done.
		 */
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigemptyset(&dfl.sa_mask);
		sigaction(SIGBUS, &dfl, NULL);
		if (si->si_code <= 0)
			raise(SIGBUS);
	}
}

static void
on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t addr = (uintptr_t)si->si_addr, lo = (uintptr_t)guard.p;
	/* Only a fault of the kernel's (si_code > 0) in the window. */
	if (guard.back != NULL && si->si_code > 0 && addr - lo < guard.len)
		siglongjmp(*guard.back, 1);
	guard_chain(sig, si, uc);
}

/* Installs the handler for the first of concurrent mf_hash calls. */
static int
guard_enter(void)
{
	int rc = 0;
	pthread_mutex_lock(&guard_lock);
	if (guard_users == 0) {
		struct sigaction sa = {
			.sa_sigaction = on_sigbus,
			.sa_flags = SA_SIGINFO | SA_ONSTACK,
		};
		sigemptyset(&sa.sa_mask);
		rc = sigaction(SIGBUS, &sa, &guard_prev);
	}
	if (rc == 0)
		guard_users++;
	pthread_mutex_unlock(&guard_lock);
	return rc;
}

/* Puts the previous handler back when the last mf_hash call is done. */
static void
guard_leave(void)
{
	pthread_mutex_lock(&guard_lock);
	if (--guard_users == 0)
		sigaction(SIGBUS, &guard_prev, NULL);
	pthread_mutex_unlock(&guard_lock);
}

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

/* The file as messages name it. */
static const char *
item_name(const struct job *j, const struct mf_file *f)
{
	return j->w->rootfd < 0 && !j->w->by_fd ? j->single_path : f->rel;
}

static int
open_item(struct job *j, const struct mf_file *f, struct stat *st,
	  struct pal_err *err)
{
	int fd;
	if (j->w->by_fd) {
		/* A descriptor of its own, closed like an opened file's. */
		fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return pal_err_set(err, PAL_ERR_IO, "%s: %s", f->rel,
					   strerror(errno));
	} else if (j->w->rootfd < 0) {
		fd = open(j->single_path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
			  O_NONBLOCK | (j->w->allow_symlinks ? 0 : O_NOFOLLOW));
		if (fd < 0)
			return pal_err_set(err, PAL_ERR_IO, "%s: %s",
					   j->single_path, strerror(errno));
	} else if ((fd = mf_open(j->w, f, err)) < 0) {
		return fd;
	}
	const char *name = item_name(j, f);
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

/* Hashes [*off, end) with pread, advancing *off. */
static int
read_range(struct job *j, int fd, const char *name, uint64_t *off,
	   uint64_t end, uint8_t *buf, EVP_MD_CTX *ctx, struct pal_err *err)
{
	while (*off < end && !atomic_load(&j->failed)) {
		size_t want = end - *off < BLOCK ? (size_t)(end - *off) :
			BLOCK;
		ssize_t n = pread(fd, buf, want, (off_t)*off);
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
		*off += (uint64_t)n;
	}
	return 0;
}

/*
 * Hashes [*off, end) through mappings, advancing *off; stops early, with
 * 0, when a window cannot be mapped, for read_range to go on.
 */
static int
map_range(struct job *j, int fd, uint64_t *off, uint64_t end,
	  EVP_MD_CTX *ctx, sigjmp_buf *back)
{
	while (*off < end && !atomic_load(&j->failed)) {
		uint64_t base = *off - *off % MAP_ALIGN;
		uint64_t stop = end - base > WINDOW ? base + WINDOW : end;
		size_t len = (size_t)(stop - base);
		void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd,
			       (off_t)base);
		if (p == MAP_FAILED)
			return 0;
		(void)madvise(p, len, MADV_SEQUENTIAL);
		guard.p = p;
		guard.len = len;
		guard.back = back;
		int ok = EVP_DigestUpdate(ctx, (const uint8_t *)p +
					  (*off - base), (size_t)(stop - *off));
		guard.back = NULL;
		munmap(p, len);
		if (ok != 1)
			return PAL_ERR_CRYPTO;
		*off = stop;
	}
	return 0;
}

/* map_range, with the way back from a bus error set up around it. */
static int
hash_mapped(struct job *j, int fd, const char *name, uint64_t *off,
	    uint64_t end, EVP_MD_CTX *ctx, struct pal_err *err)
{
	sigjmp_buf back;
	if (sigsetjmp(back, 1) != 0) {
		guard.back = NULL;
		munmap(guard.p, guard.len);
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "%s: shrank while it was hashed", name);
	}
	int rc = map_range(j, fd, off, end, ctx, &back);
	if (rc < 0)
		return pal_err_set(err, rc, "digest update");
	return 0;
}

static int
hash_range(struct job *j, int fd, const char *name, const struct item *it,
	   uint8_t *buf, EVP_MD_CTX *ctx, uint8_t *out, struct pal_err *err)
{
	if (EVP_DigestInit_ex(ctx, j->md, NULL) != 1)
		return pal_err_set(err, PAL_ERR_CRYPTO, "digest init");
	uint64_t off = it->start;
	int rc = 0;
	if (j->map && it->end - it->start >= MAP_MIN)
		rc = hash_mapped(j, fd, name, &off, it->end, ctx, err);
	if (rc == 0)
		rc = read_range(j, fd, name, &off, it->end, buf, ctx, err);
	if (rc < 0)
		return rc;
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
	const char *name = item_name(j, f);
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
	j.map = guard_enter() == 0;
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
	if (j.map)
		guard_leave();
	EVP_MD_free(md);
	free(j.items);
	return j.rc;
}
