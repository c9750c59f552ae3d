/*
 * log_keeper.c - the log's key in another process (tlog.h).
 *
 * A daemon that parses network input must not hold the log's signing
 * key (ARCHITECTURE.md, privilege separation).  It appends and publishes
 * as usual, but its signer sends each checkpoint text over a socket to a
 * keeper process that holds the key.  The keeper trusts nothing it is
 * sent: it signs only a checkpoint of its own log's origin, without
 * extension lines, whose root is what the tiles on disk hash to at that
 * size, and whose tree extends the last one it signed (the tiles also
 * hash to that root at that size).  So a compromised daemon can add
 * entries, as it could anyway, but cannot get a fork or a rewrite of the
 * log signed.
 *
 * The messages travel over a SOCK_SEQPACKET socket pair, one datagram
 * each way: the request is the checkpoint text (at most
 * PAL_KEEPER_MSG_MAX bytes); the answer is a status byte, 0 followed by
 * the 64-byte Ed25519 signature, or 1 followed by the reason.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "palisade/file.h"
#include "palisade/note.h"
#include "palisade/note_sign.h"
#include "palisade/tile.h"
#include "palisade/tlog.h"
#include "tlog_int.h"

#define PAL_KEEPER_MSG_MAX 4096
#define VKEY_MAX 1024
#define CHECKPOINT_FILE_MAX (64 * 1024)

struct keeper {
	const char *dir;
	char *origin;
	struct pal_note_signer *signer;
	uint64_t size;				/* last signed */
	uint8_t root[PAL_MERKLE_HASH_LEN];
};

/* ---- the keeper's side ---- */

/* The tiles of dir hash to root at size. */
static int
tiles_agree(const char *dir, uint64_t size, const uint8_t *root,
	    struct pal_tile_dir *td, struct pal_err *err)
{
	struct pal_hash_reader r = pal_tile_dir_reader(td);
	uint8_t got[PAL_MERKLE_HASH_LEN];
	int rc;

	(void)dir;
	pal_tile_dir_set_size(td, size);
	rc = pal_tile_root(&r, size, got, err);
	if (rc < 0)
		return pal_err_wrap(err, rc, "tree of size %llu: ",
				    (unsigned long long)size);
	if (CRYPTO_memcmp(got, root, sizeof(got)) != 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "the tiles do not hash to the root of the "
				   "tree of size %llu",
				   (unsigned long long)size);
	return 0;
}

/* Whether the checkpoint text may be signed; the reason in err if not. */
static int
check_request(struct keeper *k, const uint8_t *text, size_t len,
	      struct pal_checkpoint **out, struct pal_err *err)
{
	struct pal_checkpoint *c = NULL;
	struct pal_tile_dir *td = NULL;
	int rc = pal_checkpoint_parse(text, len, &c, err);

	if (rc < 0)
		return rc;
	if (strcmp(c->origin, k->origin) != 0)
		rc = pal_err_set(err, PAL_ERR_VERIFY, "origin is not the log's");
	else if (c->n_ext != 0)
		rc = pal_err_set(err, PAL_ERR_VERIFY, "extension lines");
	else if (c->size < k->size)
		rc = pal_err_set(err, PAL_ERR_VERIFY,
				 "size %llu is below the %llu signed before",
				 (unsigned long long)c->size,
				 (unsigned long long)k->size);
	if (rc == 0 && c->size > 0) {
		rc = pal_tile_dir_open(k->dir, c->size, &td, err);
		if (rc == 0)
			rc = tiles_agree(k->dir, c->size, c->root, td, err);
		if (rc == 0 && k->size > 0)
			rc = tiles_agree(k->dir, k->size, k->root, td, err);
		pal_tile_dir_close(td);
	}
	if (rc < 0) {
		pal_checkpoint_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static int
answer(int fd, const uint8_t *msg, size_t len)
{
	ssize_t n;

	do {
		n = send(fd, msg, len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

static int
serve_one(struct keeper *k, int fd, const uint8_t *text, size_t len)
{
	uint8_t out[1 + PAL_ERR_MSG_MAX];
	struct pal_checkpoint *c = NULL;
	struct pal_err err = { 0 };
	int rc = check_request(k, text, len, &c, &err);

	if (rc == 0)
		rc = k->signer->sign(k->signer, text, len, out + 1, &err);
	if (rc < 0) {
		size_t n = strnlen(err.msg, sizeof(err.msg));
		out[0] = 1;
		memcpy(out + 1, err.msg, n);
		pal_checkpoint_free(c);
		return answer(fd, out, 1 + n);
	}
	k->size = c->size;
	memcpy(k->root, c->root, sizeof(k->root));
	pal_checkpoint_free(c);
	out[0] = 0;
	return answer(fd, out, 1 + PAL_NOTE_ED25519_SIG_LEN);
}

/* The verifier of the log's own key, from the signer's public key. */
static int
own_verifier(struct keeper *k, struct pal_note_verifier **out,
	     struct pal_err *err)
{
	EVP_PKEY *pub = EVP_PKEY_new_raw_public_key(
		EVP_PKEY_ED25519, NULL, k->signer->pub, sizeof(k->signer->pub));
	int rc;

	if (pub == NULL)
		return pal_err_set(err, PAL_ERR_CRYPTO, "log public key");
	rc = pal_note_verifier_from_key(k->signer->name, pub, out, err);
	EVP_PKEY_free(pub);
	return rc;
}

/* The last signed tree: the log's checkpoint, checked with our key. */
static int
load_last(struct keeper *k, struct pal_err *err)
{
	char path[4096];
	uint8_t *data = NULL;
	size_t len = 0;
	struct pal_note *n = NULL;
	struct pal_note_verifier *v = NULL;
	struct pal_checkpoint *c = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/checkpoint", k->dir);
	rc = pal_file_read(path, CHECKPOINT_FILE_MAX, &data, &len, err);
	if (rc == 0)
		rc = pal_note_parse(data, len, &n, err);
	if (rc == 0)
		rc = own_verifier(k, &v, err);
	if (rc == 0)
		rc = pal_note_verify(n, &v, 1, NULL, err);
	if (rc == 0)
		rc = pal_checkpoint_parse(n->text, n->text_len, &c, err);
	if (rc == 0) {
		k->size = c->size;
		memcpy(k->root, c->root, sizeof(k->root));
	} else {
		pal_err_wrap(err, rc, "%s: ", path);
	}
	pal_checkpoint_free(c);
	pal_note_verifier_free(v);
	pal_note_free(n);
	free(data);
	return rc;
}

int
pal_log_keeper_serve(const char *dir, int fd, struct pal_err *err)
{
	struct keeper k = { .dir = dir };
	uint8_t msg[PAL_KEEPER_MSG_MAX + 1];
	int rc = pal_log_origin(dir, &k.origin, err);

	if (rc == 0)
		rc = pal_log_key_load(dir, &k.signer, err);
	if (rc == 0)
		rc = load_last(&k, err);
	while (rc == 0) {
		ssize_t n = recv(fd, msg, sizeof(msg), MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			break;		/* the daemon is gone */
		if (n < 0)
			rc = pal_err_set(err, PAL_ERR_IO, "keeper socket: %s",
					 strerror(errno));
		else if ((size_t)n > PAL_KEEPER_MSG_MAX)
			rc = pal_err_set(err, PAL_ERR_LIMIT, "keeper request "
					 "of %zd bytes", n);
		else if (serve_one(&k, fd, msg, (size_t)n) < 0)
			rc = pal_err_set(err, PAL_ERR_IO, "keeper socket: %s",
					 strerror(errno));
	}
	pal_note_signer_free(k.signer);
	free(k.origin);
	return rc;
}

/* ---- the daemon's side ---- */

struct remote {
	int fd;
	pthread_mutex_t mu;
};

static int
remote_sign(struct pal_note_signer *s, const uint8_t *msg, size_t len,
	    uint8_t *sig, struct pal_err *err)
{
	struct remote *r = s->ctx;
	uint8_t in[1 + PAL_ERR_MSG_MAX];
	ssize_t n;

	if (len > PAL_KEEPER_MSG_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "checkpoint text of "
				   "%zu bytes for the keeper", len);
	pthread_mutex_lock(&r->mu);
	n = answer(r->fd, msg, len) == 0 ? 0 : -1;
	if (n == 0) {
		do {
			n = recv(r->fd, in, sizeof(in), 0);
		} while (n < 0 && errno == EINTR);
	}
	pthread_mutex_unlock(&r->mu);
	if (n <= 0)
		return pal_err_set(err, PAL_ERR_IO, "the log's key keeper is "
				   "gone");
	if (in[0] == 0 && n == 1 + PAL_NOTE_ED25519_SIG_LEN) {
		memcpy(sig, in + 1, PAL_NOTE_ED25519_SIG_LEN);
		return 0;
	}
	if (in[0] == 1)
		return pal_err_set(err, PAL_ERR_VERIFY, "the key keeper refused "
				   "to sign: %.*s", (int)(n - 1),
				   (const char *)in + 1);
	return pal_err_set(err, PAL_ERR_FORMAT, "bad answer from the key "
			   "keeper");
}

static void
remote_destroy(struct pal_note_signer *s)
{
	struct remote *r = s->ctx;

	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* The name and Ed25519 public key of dir/log.vkey. */
static int
read_vkey(const char *dir, char *name, uint8_t *pub, struct pal_err *err)
{
	char path[4096];
	uint8_t *data = NULL;
	size_t len = 0, publen = PAL_NOTE_ED25519_PUB_LEN;
	struct pal_note_verifier *v = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/log.vkey", dir);
	rc = pal_file_read(path, VKEY_MAX, &data, &len, err);
	while (rc == 0 && len > 0 && (data[len - 1] == '\n'))
		len--;
	if (rc == 0)
		rc = pal_note_verifier_parse((const char *)data, len, &v, err);
	if (rc == 0 && (v->type != PAL_NOTE_ED25519 ||
			EVP_PKEY_get_raw_public_key(v->key, pub, &publen) != 1))
		rc = pal_err_set(err, PAL_ERR_FORMAT, "not an Ed25519 key");
	if (rc == 0)
		memcpy(name, v->name, sizeof(v->name));
	else
		pal_err_wrap(err, rc, "%s: ", path);
	pal_note_verifier_free(v);
	free(data);
	return rc;
}

int
pal_log_keeper_signer(const char *dir, int fd, struct pal_note_signer **out,
		      struct pal_err *err)
{
	char name[PAL_NOTE_NAME_MAX + 1];
	uint8_t pub[PAL_NOTE_ED25519_PUB_LEN];
	struct remote *r;
	int rc;

	*out = NULL;
	rc = read_vkey(dir, name, pub, err);
	if (rc < 0)
		return rc;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	r->fd = fd;
	pthread_mutex_init(&r->mu, NULL);
	rc = pal_note_signer_new(name, pub, remote_sign, remote_destroy, r,
				 out, err);
	if (rc < 0)
		remote_destroy(&(struct pal_note_signer){ .ctx = r });
	return rc;
}

int
pal_log_open_keeper(const char *dir, int fd, struct pal_log **out,
		    struct pal_err *err)
{
	struct pal_note_signer *s = NULL;
	int rc = pal_log_keeper_signer(dir, fd, &s, err);

	if (rc < 0)
		return rc;
	struct pal_log_signer ls = pal_log_note_signer(s);
	rc = pal_log_open(dir, &ls, out, err);
	if (rc < 0) {
		pal_note_signer_free(s);
		return rc;
	}
	pal_log_own_signer(*out, s);
	return 0;
}
