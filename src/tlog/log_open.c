/*
 * log_open.c - creating a log, opening it for appends (with recovery from
 * a crash), closing it, and reading published entries.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "palisade/file.h"
#include "palisade/note.h"
#include "palisade/note_sign.h"
#include "tlog_int.h"

#define CHECKPOINT_MAX (64 * 1024)

/* The published checkpoint of dir: parsed, signatures not checked. */
static int
read_checkpoint(int dirfd, const char *dir, struct pal_checkpoint **out,
		struct pal_err *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	uint8_t *data = NULL;
	size_t len = 0;
	(void)dirfd;
	int rc = pal_file_read(path, CHECKPOINT_MAX, &data, &len, err);
	struct pal_note *n = NULL;
	if (rc == 0)
		rc = pal_note_parse(data, len, &n, err);
	if (rc == 0)
		rc = pal_checkpoint_parse(n->text, n->text_len, out, err);
	if (rc < 0)
		pal_err_wrap(err, rc, "%s: ", path);
	pal_note_free(n);
	free(data);
	return rc;
}

static int
lock_dir(int dirfd, const char *dir, int *out, struct pal_err *err)
{
	int fd = openat(dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return pal_err_set(err, PAL_ERR_IO, "%s/lock: %s", dir,
				   strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		return pal_err_set(err, PAL_ERR_SYSTEM, "%s: %s", dir,
				   e == EWOULDBLOCK ? "another process is "
				   "appending to this log" : strerror(e));
	}
	*out = fd;
	return 0;
}

int
pal_log_create(const char *dir, const char *origin,
	       const struct pal_log_signer *signer, struct pal_err *err)
{
	if (origin == NULL || origin[0] == '\0' || strchr(origin, '\n'))
		return pal_err_set(err, PAL_ERR_INVALID,
				   "a log origin is one non-empty line");
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", dir,
				   strerror(errno));
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", dir,
				   strerror(errno));
	struct stat st;
	int rc = 0, lockfd = -1;
	if (fstatat(dirfd, "checkpoint", &st, 0) == 0)
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "%s already holds a log", dir);
	if (rc == 0)
		rc = lock_dir(dirfd, dir, &lockfd, err);
	struct edge *e = calloc(1, sizeof(*e));
	if (rc == 0 && e == NULL)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = log_write_checkpoint(dirfd, origin, e, signer, err);
	free(e);
	if (lockfd >= 0)
		close(lockfd);
	close(dirfd);
	return rc;
}

/* Reads a journal's records, keeping those at or after *next. */
static int
recover_journal(struct pal_log *l, const char *name, uint64_t *next,
		struct journal *j, struct pal_err *err)
{
	struct jentry *v = NULL;
	size_t n = 0;
	int rc = journal_open(l->dirfd, name, *next, j, &v, &n, err);
	if (rc < 0)
		return pal_err_wrap(err, rc, "%s: ", name);
	if (j->base > *next)
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "%s starts at entry %llu but the log holds "
				 "%llu: entries are missing", name,
				 (unsigned long long)j->base,
				 (unsigned long long)*next);
	for (size_t i = 0; i < n; i++) {
		uint64_t index = j->base + i;
		if (rc == 0 && index == *next) {
			rc = pending_take(l, &v[i], err);
			(*next)++;
			continue;
		}
		free(v[i].rec);
	}
	free(v);
	return rc;
}

static int
load_bundle(struct pal_log *l, uint64_t size, struct pal_err *err)
{
	unsigned w = (unsigned)(size % PAL_TILE_WIDTH);
	pal_buf_init(&l->bundle, (size_t)PAL_TILE_WIDTH * (PAL_ENTRY_MAX + 2));
	if (w == 0)
		return 0;
	char path[PAL_TILE_PATH_MAX];
	int rc = pal_tile_path(PAL_TILE_ENTRIES, size / PAL_TILE_WIDTH, w, path,
			       sizeof(path));
	int fd = rc == 0 ? openat(l->dirfd, path, O_RDONLY | O_CLOEXEC |
				 O_NOFOLLOW) : -1;
	if (fd < 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				   strerror(errno));
	uint8_t chunk[65536];
	ssize_t n;
	while (rc == 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
		if (pal_buf_append(&l->bundle, chunk, (size_t)n) < 0)
			rc = pal_err_set(err, PAL_ERR_FORMAT, "%s: too large",
					 path);
	close(fd);
	const uint8_t *ents[PAL_TILE_WIDTH];
	size_t lens[PAL_TILE_WIDTH], count = 0;
	if (rc == 0)
		rc = pal_tile_bundle_parse(l->bundle.p, l->bundle.len, ents,
					   lens, &count, err);
	if (rc == 0 && count != w)
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "%s holds %zu entries, not %u", path, count,
				 w);
	return rc;
}

static int
open_locked(struct pal_log *l, const char *dir, struct pal_err *err)
{
	struct pal_checkpoint *cp = NULL;
	int rc = read_checkpoint(l->dirfd, dir, &cp, err);
	if (rc == 0 && (l->origin = strdup(cp->origin)) == NULL)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = edge_load(&l->edge, l->dirfd, cp->size, err);
	if (rc == 0) {
		uint8_t root[PAL_MERKLE_HASH_LEN];
		edge_root(&l->edge, root);
		if (memcmp(root, cp->root, sizeof(root)) != 0)
			rc = pal_err_set(err, PAL_ERR_VERIFY,
					 "%s: the tiles do not hash to the "
					 "checkpoint's root", dir);
	}
	if (rc == 0)
		rc = load_bundle(l, cp->size, err);
	uint64_t next = cp ? cp->size : 0;
	struct stat st;
	if (rc == 0 && fstatat(l->dirfd, "journal.prev", &st, 0) == 0) {
		struct journal prev = { .fd = -1 };
		rc = recover_journal(l, "journal.prev", &next, &prev, err);
		journal_close(&prev);
	}
	if (rc == 0)
		rc = recover_journal(l, "journal", &next, &l->j, err);
	l->durable = next;
	pal_checkpoint_free(cp);
	return rc;
}

int
pal_log_open(const char *dir, const struct pal_log_signer *signer,
	     struct pal_log **out, struct pal_err *err)
{
	struct pal_log *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	l->lockfd = -1;
	l->j.fd = -1;
	l->signer = *signer;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	pthread_mutex_init(&l->pub_mu, NULL);
	l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = l->dirfd >= 0 ? 0 :
		pal_err_set(err, PAL_ERR_IO, "%s: %s", dir, strerror(errno));
	if (rc == 0)
		rc = lock_dir(l->dirfd, dir, &l->lockfd, err);
	if (rc == 0)
		rc = publish_clean_tmp(l->dirfd, err);
	if (rc == 0)
		rc = open_locked(l, dir, err);
	/* Whatever a crash left journaled is published now. */
	if (rc == 0)
		rc = pal_log_publish(l, err);
	if (rc < 0) {
		pal_log_close(l, NULL);
		return rc;
	}
	*out = l;
	return 0;
}

int
pal_log_close(struct pal_log *l, struct pal_err *err)
{
	if (l == NULL)
		return 0;
	int rc = 0;
	if (l->lockfd >= 0 && !l->broken && l->n_pending > 0)
		rc = pal_log_publish(l, err);
	for (size_t i = 0; i < l->n_pending; i++)
		free(l->pending[i].rec);
	free(l->pending);
	journal_close(&l->j);
	pal_buf_free(&l->bundle);
	free(l->origin);
	pal_note_signer_free(l->owned);
	if (l->lockfd >= 0)
		close(l->lockfd);
	if (l->dirfd >= 0)
		close(l->dirfd);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->pub_mu);
	free(l);
	return rc;
}

void
pal_log_own_signer(struct pal_log *l, struct pal_note_signer *s)
{
	l->owned = s;
}

int
pal_log_origin(const char *dir, char **origin, struct pal_err *err)
{
	struct pal_checkpoint *cp = NULL;
	int rc = read_checkpoint(-1, dir, &cp, err);
	if (rc == 0 && (*origin = strdup(cp->origin)) == NULL)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	pal_checkpoint_free(cp);
	return rc;
}

int
pal_log_get(const char *dir, uint64_t index, uint8_t **out, size_t *len,
	    struct pal_err *err)
{
	struct pal_checkpoint *cp = NULL;
	int rc = read_checkpoint(-1, dir, &cp, err);
	uint64_t size = cp ? cp->size : 0;
	pal_checkpoint_free(cp);
	if (rc < 0)
		return rc;
	if (index >= size)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "entry %llu is not in the log (%llu "
				   "entries published)",
				   (unsigned long long)index,
				   (unsigned long long)size);
	uint64_t b = index / PAL_TILE_WIDTH;
	unsigned w = (b + 1) * PAL_TILE_WIDTH <= size ? PAL_TILE_WIDTH :
		(unsigned)(size % PAL_TILE_WIDTH);
	char rel[PAL_TILE_PATH_MAX], path[4096 + PAL_TILE_PATH_MAX];
	rc = pal_tile_path(PAL_TILE_ENTRIES, b, w, rel, sizeof(rel));
	if (rc < 0)
		return pal_err_set(err, rc, "tile path");
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	uint8_t *data = NULL;
	size_t n = 0;
	rc = pal_file_read(path, (size_t)PAL_TILE_WIDTH * (PAL_ENTRY_MAX + 2),
			   &data, &n, err);
	const uint8_t *ents[PAL_TILE_WIDTH];
	size_t lens[PAL_TILE_WIDTH], count = 0;
	if (rc == 0)
		rc = pal_tile_bundle_parse(data, n, ents, lens, &count, err);
	size_t k = (size_t)(index % PAL_TILE_WIDTH);
	if (rc == 0 && count != w)
		rc = pal_err_set(err, PAL_ERR_FORMAT,
				 "%s holds %zu entries, not %u", rel, count, w);
	if (rc == 0 && (*out = malloc(lens[k] ? lens[k] : 1)) == NULL)
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0) {
		memcpy(*out, ents[k], lens[k]);
		*len = lens[k];
	}
	free(data);
	return rc;
}
